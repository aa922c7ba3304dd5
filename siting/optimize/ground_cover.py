r"""Mandatory points served only through terrestrial backhaul (``backhaul.mandatory_feed:
terrestrial``): a site fed by satellite still covers people, but no mandatory point.

The terrestrial rows :math:`T` (those that carry the mandatory points' needs,
:attr:`siting.cover_rows.PlanRows.terrestrial`) count an option :math:`o` of site :math:`s`
only when :math:`s` is fed by fiber or by microwave hops ending on fiber (or needs no feed).
For each option that covers a row of :math:`T` at a site with a satellite column
:math:`\psi_s` (:mod:`siting.optimize.feed_model`), a column :math:`w_o \in [0, 1]` takes
the place of :math:`x_o` in the rows of :math:`T`:

.. math::

    w_o \le x_o, \qquad w_o + \psi_s \le 1.

The feed rows give a site on air exactly one feed, so :math:`w_o` can be 1 exactly when
:math:`o` is on air and its site is fed otherwise than by satellite. :math:`w_o` appears only
with positive coefficients in rows bounded below (must-cover :math:`\sum_{N_i} \ge k_i`) and
on the right of the coverage indicators (:math:`y_i \le \sum_{N_i}`), so it may be continuous:
at fixed :math:`x, \psi` raising it to its upper bound :math:`\min(x_o, 1 - \psi_s) \in
\{0, 1\}` keeps a plan feasible. Options at sites without a satellite column (no satellite on
offer, or fiber no dearer: :func:`~siting.optimize.feed_model.feed_columns` drops it) keep
:math:`x_o` in those rows, and a model without such options is the model of
:mod:`siting.optimize.model` unchanged. The must-cover, count and coverage-indicator rows are
that module's, built over the substituted columns, so backup coverage (:math:`k_i > 1`) and the
lexicographic count row carry over.

What a row of :math:`T` may ask for is capped by the options at sites fiber or a microwave
chain can feed (:func:`~siting.optimize.feed_model.feed_scope`), and the rows that cap lowers
are reported as the rows only a satellite-fed site reaches. The pruning of the feed columns
stays exact: each exchange it rests on puts fiber or a hop where satellite or a dearer link
was, which keeps a site fed on the ground. :math:`w_o = x_o (1 - \psi_s)` is the product of
two binaries, linearised by its upper bounds alone since it only ever needs to be large
(Glover & Woolsey 1974). The single-period model (:mod:`siting.optimize.joint_model`) puts
the :math:`w_o` after its joint columns; the phased model
(:mod:`siting.optimize.phased_backhaul`), which covers rows by options only, takes them as
options of cost 0 in every period.

References
----------
Glover, F., Woolsey, E. (1974). Converting the 0-1 polynomial programming problem to a 0-1
linear program. Operations Research 22(1), 180-182.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from siting.optimize.feed_model import SATELLITE_KIND, FeedColumns
from siting.optimize.model import Problem, covered_by


@dataclass(frozen=True)
class GroundCover:
    """The :math:`w_o` columns of the module docstring: per column its option column and
    the feed column of its site's satellite feed; ``rows``: bool per row, the rows of
    :math:`T`."""

    rows: np.ndarray
    option: np.ndarray
    satellite: np.ndarray

    @property
    def size(self) -> int:
        return self.option.size


def ground_cover(A: sp.csr_matrix, terrestrial: np.ndarray | None, option_site: np.ndarray,
                 feed: FeedColumns, n_sites: int) -> GroundCover | None:
    """The :class:`GroundCover` of the option columns of ``A`` (rows x options, each at the
    site ``option_site``) for the rows ``terrestrial`` (bool per row, or None: none), over
    the feed columns ``feed``; None where no option covering such a row is at a site with a
    satellite column (the model is then unchanged)."""
    if terrestrial is None or not terrestrial.any():
        return None
    satellite = np.full(n_sites, -1, np.int64)
    column = np.flatnonzero(feed.kind == SATELLITE_KIND)
    satellite[feed.site[column]] = column
    reaching = np.diff(A[np.flatnonzero(terrestrial)].tocsc().indptr) > 0
    option = np.flatnonzero(reaching & (satellite[option_site] >= 0))
    if not option.size:
        return None
    return GroundCover(rows=terrestrial, option=option, satellite=satellite[option_site[option]])


def split_cover(A: sp.csr_matrix, rows: np.ndarray,
                option: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(``A`` without the entries of the columns ``option`` on the rows ``rows`` (bool per
    row); those entries, one column per ``option``: of their :math:`w_o`)."""
    entries = A.tocoo()
    moved = np.full(A.shape[1], -1, np.int64)
    moved[option] = np.arange(option.size)
    move = rows[entries.row] & (moved[entries.col] >= 0)
    kept = sp.csr_matrix((entries.data[~move], (entries.row[~move], entries.col[~move])),
                         shape=A.shape)
    w = sp.csr_matrix((entries.data[move], (entries.row[move], moved[entries.col[move]])),
                      shape=(A.shape[0], option.size))
    kept.sort_indices()
    w.sort_indices()
    return kept, w


def with_ground_columns(p: Problem, cover: GroundCover) -> Problem:
    """``p`` with the :math:`w_o` columns of ``cover`` after its own (cost 0, in no quota
    or group): on the rows ``cover.rows`` the entries of the options ``cover.option`` move
    to their :math:`w_o` (:func:`split_cover`)."""
    A = sp.hstack(split_cover(p.A, cover.rows, cover.option), format="csr")
    A.sort_indices()
    return replace(p, A=A, cost=np.concatenate([p.cost, np.zeros(cover.size)]),
                   counted=np.concatenate([p.counted, np.zeros(cover.size, bool)]),
                   groups=np.concatenate([p.groups, -np.ones(cover.size, np.int64)]),
                   start=None if p.start is None else np.concatenate(
                       [p.start, np.zeros(cover.size, bool)]))


def ground_rows(cover: GroundCover, *, w_first: int, feed_first: int,
                n_cols: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    r""":math:`w_o - x_o \le 0` and :math:`w_o + \psi_s \le 1` over ``n_cols`` columns, the
    option columns first, the :math:`w_o` from ``w_first`` on and the feed columns from
    ``feed_first`` on: (matrix, lower bounds, upper bounds)."""
    k = np.arange(cover.size)
    w = w_first + k
    rows = np.concatenate([k, k, cover.size + k, cover.size + k])
    cols = np.concatenate([w, cover.option, w, feed_first + cover.satellite])
    vals = np.concatenate([np.ones(cover.size), -np.ones(cover.size), np.ones(2 * cover.size)])
    matrix = sp.csr_matrix((vals, (rows, cols)), shape=(2 * cover.size, n_cols))
    return (matrix, np.full(2 * cover.size, -np.inf),
            np.concatenate([np.zeros(cover.size), np.ones(cover.size)]))


def satellite_fed(feed: FeedColumns, chosen: np.ndarray, n_sites: int) -> np.ndarray:
    """Bool per site: one of the feed columns ``chosen`` feeds it by satellite."""
    fed = np.zeros(n_sites, bool)
    fed[feed.site[chosen[feed.kind[chosen] == SATELLITE_KIND]]] = True
    return fed


def ground_covered(A: sp.csr_matrix, terrestrial: np.ndarray | None, selected: np.ndarray,
                   ground_options: np.ndarray) -> np.ndarray:
    """Bool per row of ``A``: covered by the columns ``selected``, on the rows
    ``terrestrial`` (bool per row, or None: none) only by ``ground_options`` (those of
    ``selected`` at sites not fed by satellite)."""
    covered = covered_by(A, selected)
    if terrestrial is not None and terrestrial.any():
        rows = np.flatnonzero(terrestrial)
        covered[rows] = covered_by(A[rows], ground_options)
    return covered

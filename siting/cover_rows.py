"""The rows a plan covers: each demand point with the servers it needs, and the rows of the
generations a mandatory point must get.

- :func:`site_cover`: the coverage matrix as the plan counts servers, each site once on the
  rows that need backup coverage (k-coverage counts facilities: Hogan & ReVelle 1986);
- :func:`reachable_need`: the servers each mandatory row must have, capped by how many reach it;
- :class:`PlanRows` (:func:`plan_rows`): those rows, then one row per generation that
  ``demand.mandatory.generations`` lists for each mandatory point, covered by the options of
  that generation only; :func:`missing_generations`, :func:`covered_as_ruled`,
  :func:`mandatory_met`, :func:`wanted_coverage` and :func:`with_missing_generations` read a
  plan (or any network on air, as the year-end evaluation's) against them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from siting.coverage import CoverageMatrix
from siting.demand import Demand
from siting.io.layers import GENERATIONS
from siting.labels import REASON_NO_GENERATION

if TYPE_CHECKING:
    from siting.plan import OptionCosts


def covered_by(cover: sp.csr_matrix, selected: np.ndarray) -> np.ndarray:
    """Bool per row of ``cover``: some option of ``selected`` covers it."""
    mask = np.zeros(cover.shape[1], bool)
    mask[selected] = True
    return np.asarray(cover[:, mask].sum(axis=1)).ravel() > 0


def site_cover(coverage: CoverageMatrix, demand: Demand, costs: OptionCosts) -> sp.csr_matrix:
    """The coverage matrix as the plan counts servers: on the rows that need backup coverage
    (k > 1 servers, ``demand.backup``) each site counts once, as one site's outage takes all
    its carriers off the air (k-coverage counts facilities: Hogan & ReVelle 1986).

    A new site's options are alternatives (one per group), so each counts once already. At an
    existing site several may be on air together (two 5G carriers kept, or kept and
    upgraded), so on those rows only one of its entries is kept: a fixed one (on air in
    every plan), else its cheapest upgrade. The others add no server there; a site two of
    whose upgrades reach a row counts through its cheapest one only (a conservative model of
    "either")."""
    cover = coverage.covers.tocoo()
    backup_rows = demand.required_servers() > 1
    if not backup_rows.any():
        return coverage.covers
    site = coverage.options["candidate"].to_numpy(np.int64)[cover.col]
    order = np.lexsort((costs.total_cny[cover.col], ~costs.fixed[cover.col], site, cover.row))
    row, col, site = cover.row[order], cover.col[order], site[order]
    first_of_site = np.r_[True, (row[1:] != row[:-1]) | (site[1:] != site[:-1])]
    keep = first_of_site | ~backup_rows[row] | (costs.group[col] >= 0)
    return sp.csr_matrix((cover.data[order][keep], (row[keep], col[keep])), shape=cover.shape)


def servers_on_air(coverage: CoverageMatrix, demand: Demand, costs: OptionCosts,
                   selected: np.ndarray) -> np.ndarray:
    """Servers of each demand row among the options ``selected``, counted as the plan counts
    them (:func:`site_cover`: distinct sites on the rows that need backup coverage)."""
    return np.diff(site_cover(coverage, demand, costs)[:, selected].tocsr().indptr)


def reachable_need(cover: sp.csr_matrix, demand: Demand) -> np.ndarray:
    """Options each mandatory row must be covered by, capped by how many options reach it
    (0: optional or unreachable). Backup zone check points need k, other mandatory rows 1."""
    return np.minimum(demand.required_servers(), np.diff(cover.indptr))


def generation_ruled(demand: Demand) -> np.ndarray:
    """Bool per demand row: a mandatory point that ``demand.mandatory.generations`` asks an
    option of each listed generation of (mandatory rows other than 5G zones' check points,
    which need 5G; none under ``[any]``)."""
    if "any" in demand.mandatory_generations:
        return np.zeros(len(demand), bool)
    return demand.mandatory & ~demand.require_5g


def _generation_blocks(cover: sp.csr_matrix, points: np.ndarray, option_generation: np.ndarray,
                       generations: tuple[str, ...]) -> list[sp.csr_matrix]:
    """Per generation of ``generations``: the rows ``points`` of ``cover`` with only the
    options of that generation (``option_generation``: one per column)."""
    rows = cover[points].tocoo()
    blocks = []
    for generation in generations:
        keep = option_generation[rows.col] == generation
        blocks.append(sp.csr_matrix((rows.data[keep], (rows.row[keep], rows.col[keep])),
                                    shape=rows.shape))
    return blocks


@dataclass(frozen=True)
class PlanRows:
    """The rows a plan's solver calls cover (:func:`plan_rows`): every demand row, then, for
    each generation ``demand.mandatory.generations`` lists, one row per mandatory point it
    rules (:func:`generation_ruled`), covered by the options of that generation only; under
    ``backhaul.mandatory_feed: terrestrial``, also one row per other mandatory point, which
    carries its need (its own row keeps its people only)."""

    cover: sp.csr_matrix  # rows x options
    need: np.ndarray  # int per row: options it must be covered by (0: optional or unreachable)
    point: np.ndarray  # int per row: the demand row it stands for
    n_demand: int  # the first rows, one per demand row
    # bool per row: covered only by options at sites fed by fiber or microwave, not satellite
    # (the rows after the demand rows under ``backhaul.mandatory_feed: terrestrial``)
    terrestrial: np.ndarray | None = None

    @property
    def mandatory(self) -> np.ndarray:
        """Bool per row: the plan must cover it (a mandatory row some option reaches)."""
        return self.need > 0

    def reachable_points(self) -> np.ndarray:
        """Bool per demand row: a mandatory point some option reaches, of each generation
        it needs (on its own row, or on every row of a generation it has)."""
        reached = np.bincount(self.point[self.mandatory], minlength=self.n_demand)
        rows = np.bincount(self.point[self.n_demand:], minlength=self.n_demand)
        return (reached > 0) & (reached == np.maximum(rows, 1))

    def weight(self, per_demand: np.ndarray) -> np.ndarray:
        """``per_demand`` (one value per demand row, e.g. people) on its rows, 0 on the rows
        after them (a generation's, or a mandatory point's own under ``terrestrial``)."""
        return np.concatenate([np.asarray(per_demand, float),
                               np.zeros(len(self.point) - self.n_demand)])


def plan_rows(cover: sp.csr_matrix, demand: Demand, options: pd.DataFrame, *,
              terrestrial: bool = False) -> PlanRows:
    """The :class:`PlanRows` of ``cover`` (demand x options, :func:`site_cover`): a point
    ruled by ``demand.mandatory.generations`` needs nothing on its own row (its people still
    count there) and an option on its row of each generation some option of it reaches.
    ``terrestrial`` (``backhaul.mandatory_feed: terrestrial``): every other mandatory point
    some option reaches gets a row of its own as well, a copy of its demand row with its
    need, so that a satellite-fed site still covers its people; the rows after the demand
    rows are :attr:`PlanRows.terrestrial`."""
    need = reachable_need(cover, demand)
    ruled = generation_ruled(demand)
    points = np.flatnonzero(ruled)
    blocks = _generation_blocks(cover, points, options["generation"].to_numpy(dtype=object),
                                demand.mandatory_generations if points.size else ())
    extra = [np.minimum(1, np.diff(block.indptr)) for block in blocks]
    extra_points = [points] * len(blocks)
    own = np.flatnonzero((need > 0) & ~ruled) if terrestrial else np.zeros(0, np.int64)
    if own.size:
        blocks.append(cover[own])
        extra.append(need[own])
        extra_points.append(own)
    need = np.where(ruled, 0, need)
    need[own] = 0
    n_rows = len(demand) + sum(block.shape[0] for block in blocks)
    return PlanRows(cover=sp.vstack([cover, *blocks], format="csr") if blocks else cover,
                    need=np.concatenate([need, *extra]).astype(np.int64),
                    point=np.concatenate([np.arange(len(demand)), *extra_points]),
                    n_demand=len(demand),
                    terrestrial=(np.arange(n_rows) >= len(demand)) if terrestrial else None)


def missing_generations(coverage: CoverageMatrix, demand: Demand,
                        selected: np.ndarray) -> np.ndarray:
    """Bool per demand row and generation of :data:`GENERATIONS`: a point ruled by
    ``demand.mandatory.generations`` that no option ``selected`` of that listed generation
    covers (False elsewhere)."""
    missing = np.zeros((len(demand), len(GENERATIONS)), bool)
    ruled = np.flatnonzero(generation_ruled(demand))
    if not ruled.size:
        return missing
    option_generation = coverage.options["generation"].to_numpy(dtype=object)
    for generation in demand.mandatory_generations:
        block = _generation_blocks(coverage.covers, ruled, option_generation, (generation,))[0]
        missing[ruled, GENERATIONS.index(generation)] = ~covered_by(block, selected)
    return missing


def covered_as_ruled(coverage: CoverageMatrix, demand: Demand,
                     selected: np.ndarray) -> np.ndarray:
    """Bool per demand row: covered by the options ``selected`` as its rule asks: a point
    ruled by ``demand.mandatory.generations`` by an option of each generation it lists,
    any other by any option."""
    return (covered_by(coverage.covers, selected)
            & ~missing_generations(coverage, demand, selected).any(axis=1))


def mandatory_met(coverage: CoverageMatrix, demand: Demand, selected: np.ndarray) -> np.ndarray:
    """Bool per demand row: a mandatory row the options ``selected`` cover as its rule asks
    (:func:`covered_as_ruled`); False for rows that are not mandatory."""
    return demand.mandatory & covered_as_ruled(coverage, demand, selected)


def wanted_coverage(coverage: CoverageMatrix, demand: Demand, selected: np.ndarray) -> CoverageMatrix:
    """``coverage`` with, on each point missing generations (:func:`missing_generations`),
    only the options of those: the options that would give it what it lacks, which the
    reasons it is left uncovered are about."""
    missing = missing_generations(coverage, demand, selected)
    lacking = missing.any(axis=1)
    if not lacking.any():
        return coverage
    levels = coverage.level_dbm.tocoo()
    option_generation = coverage.options["generation"].to_numpy(dtype=object)[levels.col]
    wanted = np.zeros(levels.nnz, bool)
    for index, generation in enumerate(GENERATIONS):
        wanted |= missing[levels.row, index] & (option_generation == generation)
    keep = ~lacking[levels.row] | wanted
    matrix = sp.csr_matrix((levels.data[keep], (levels.row[keep], levels.col[keep])),
                           shape=levels.shape)
    matrix.sort_indices()
    return replace(coverage, level_dbm=matrix)


def with_missing_generations(reason: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """``reason`` (one text per demand row, "" for none) with each row that has a reason and
    lacks a listed generation (``missing``: :func:`missing_generations`) prefixed with the
    generations it lacks (:data:`REASON_NO_GENERATION`: ``no 5G coverage: ...``)."""
    reason = np.asarray(reason, dtype=object).copy()
    for row in np.flatnonzero(missing.any(axis=1) & (reason != "")):
        lacking = " or ".join(np.asarray(GENERATIONS)[missing[row]])
        reason[row] = REASON_NO_GENERATION.format(generation=lacking, reason=reason[row])
    return reason

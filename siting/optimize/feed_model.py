r"""The feed variables and rows of a model with backhaul: hop-indexed, projected, pruned.

Model (the coverage model of :mod:`siting.optimize.model`, :math:`x_j`, :math:`y_i`, plus):
:math:`\varphi_s \in \{0,1\}` site :math:`s` fed by fiber (hop level 0),
:math:`\mu^k_{s,c} \in \{0,1\}` fed at hop level :math:`k = 1..H` by a link of cost
:math:`c`, :math:`\psi_s \in \{0,1\}` fed by satellite. :math:`O_s` are the options of
:math:`s`, :math:`N_c(s)` the sites a link of cost :math:`c` joins to :math:`s`,
:math:`L^0_t = \varphi_t` and :math:`L^k_t = \sum_c \mu^k_{t,c}` the level of :math:`t`:

.. math::

    F_s = \varphi_s + \psi_s + \sum_{k,c} \mu^k_{s,c}, \qquad
    F_s \ge x_j \;(j \in O_s), \qquad F_s \le \sum_{j \in O_s} x_j, \qquad F_s \le 1,

    \mu^k_{s,c} \le \sum_{t \in N_c(s)} L^{k-1}_t \quad (k = 1..H),

and every cost term :math:`\sum_j c_j x_j` of the coverage model (objective, budget row,
tie-break row) gains :math:`\sum_s (f_s \varphi_s + \sigma_s \psi_s) + \sum_{s,k,c}
c\, \mu^k_{s,c}`. A site fed at level :math:`k` needs an on-air neighbour fed at level
:math:`k - 1` (:math:`F_t \le \sum_{O_t} x_j`), so the links in use form a forest rooted at
fiber-fed sites with depth at most :math:`H`; no cycle can feed itself.

Why this formulation. It is the hop-indexed model of hop-constrained spanning and Steiner
trees (Gouveia 1998; Voß 1999), whose LP bound is much stronger than Miller-Tucker-Zemlin
style level labels and close to the multicommodity flow model's (Gouveia 1996) at a fraction
of its size (no commodity per site). Here each site has at most one incoming link and pays
for it, so links of equal cost into a site are interchangeable: the arc variables
:math:`z^k_{s \leftarrow t}` of the hop-indexed model are projected out per (site, level,
link cost). The projection is exact and loses no LP strength (the projection of
:math:`\{\sum_{t} z_t = \mu,\ 0 \le z_t \le L_t\}` is :math:`\mu \le \sum_t L_t`), and with
one flat price per microwave band a site has at most one variable per band and level
instead of one per neighbour and level. Where a site has two or more microwave columns at a
level :math:`k < H` and can feed a hop, :math:`L^k_t` is a variable of its own (a feed
column of cost 0, ``LEVEL_KIND``) with the row :math:`L^k_t = \sum_c \mu^k_{t,c}`, so that
each hop's row names each parent once instead of once per cost class of the parent (on the
100 km region: 6.0 million of those rows' nonzeros become 3.8 million). This is variable
redefinition again (Gouveia 1998): the same polytope in more variables, as strong.

Pruning, before the model is built: sites that cannot be on air (no option left once fixed
options' groups and the budget exclude some) carry no variables and relay nothing; hop level
:math:`k` exists for a site only when a chain of :math:`k` links through such sites reaches
a fiber-capable site (breadth-first layers); a link into a site whose fiber costs no more
than the link, and satellite where fiber is no dearer, are dropped (fiber feeds the site at
level 0, which serves any child at least as well); sites that need no backhaul get a
variable only where they can feed a hop. A root, an existing site whose fiber costs 0 (on
air and fed at level 0 in every plan), prunes the links into a site it links to for
:math:`c_r`: at level 1 those dearer than :math:`c_r`, at levels 2 and up those costing
:math:`c_r` or more, and satellite costing :math:`c_r` or more. Exchange argument: feeding
the site from the root instead costs no more and lifts its subtree to lower levels, whose
columns exist; repeated, this ends (each step lowers the cost, or the sum of levels at the
same cost), with a plan as good using no pruned column. Options at sites nothing can feed
(no fiber, no satellite, no chain within :math:`H` hops) leave the model.

Must-cover rows that only such options could cover (or give the backup coverage
:math:`k_i` they ask for) are reported (:attr:`FeedScope.blocked`, then
:attr:`~siting.optimize.backhaul.BackhaulSolution.backhaul_blocked`) and their requirement
is lowered to what the feedable options can give: backhaul, not the budget, is what leaves
them uncovered. The check is structural (graph reachability over the sites that can be on
air), done before the solve (:func:`feed_scope`); rows the budget or quota leave uncovered
raise :class:`~siting.errors.InfeasibleError` as in :func:`~siting.optimize.solve_coverage_model`.

Link capacity (options that carry traffic, :attr:`SiteInputs.option_traffic_mbps
<siting.optimize.feed_network.SiteInputs>`): the projection is not made (a hop's load
lands on its parent's own hop, so parents of one price are no longer interchangeable), the
microwave columns are one per arc and level, and :func:`flow_rows` adds a flow per arc
within the link's capacity (:class:`FlowRows`); root pruning is off, as moving a subtree
to a root's link may overload it.

The network these are built over (inputs, hop levels, useful arcs) is
:mod:`siting.optimize.feed_network`'s. :func:`feed_scope`, :func:`feed_columns` and
:func:`feed_rows` build the backhaul block of the single-period model of
:mod:`siting.optimize.backhaul` and the one-period block the phased model of
:mod:`siting.optimize.phased_backhaul` repeats (and :func:`flow_rows`' link flows, which
it adds in its last period); :func:`feed_lookup` finds a plan's feeds
among the columns of another model over the same network.

References
----------
Gouveia, L. (1996). Multicommodity flow models for spanning trees with hop constraints.
European Journal of Operational Research 95(1), 178-190.
Gouveia, L. (1998). Using variable redefinition for computing lower bounds for minimum
spanning and Steiner trees with hop constraints. INFORMS Journal on Computing 10(2), 180-188.
Magnanti, T. L. and Wong, R. T. (1984). Network design and transportation planning: models
and algorithms. Transportation Science 18(1), 1-55.
Voß, S. (1999). The Steiner tree problem with hop constraints. Annals of Operations Research
86, 321-345.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from siting.errors import InfeasibleError
from siting.labels import FIBER, MICROWAVE, SATELLITE
from siting.optimize.feed_network import (
    Arcs,
    SiteInputs,
    carried_traffic_mbps,
    feedable_sites,
    hop_levels,
    root_link_cny,
    useful_arcs,
)
from siting.optimize.inputs import first_indices
from siting.optimize.model import coverage_count

#: Feed kinds, as reported per site ("" for a site off air), in the order of their codes.
KINDS = (FIBER, MICROWAVE, SATELLITE)
#: Reported for a site on air whose backhaul is in place
#: (:attr:`~siting.optimize.feed_network.SiteInputs.in_place`): it has no feed column.
IN_PLACE = "in_place"
#: Codes of the kinds in :attr:`FeedColumns.kind` (indices into ``KINDS``) ...
FIBER_KIND, MICROWAVE_KIND, SATELLITE_KIND = (KINDS.index(k) for k in KINDS)
#: ... and of the level columns :math:`L^k_t` of :func:`feed_columns`: no feed of their
#: own, cost 0.
LEVEL_KIND = len(KINDS)


@dataclass(frozen=True)
class FeedColumns:
    """The backhaul variables: per column its site, kind (index into ``KINDS``, or
    ``LEVEL_KIND`` for a level column :math:`L^k_t` of cost 0), hop level (-1 for
    satellite), cost [CNY], and for microwave columns the arcs of its cost class (CSR-like:
    ``arcs_of[arc_ptr[v]:arc_ptr[v + 1]]``, empty for the other kinds)."""

    site: np.ndarray
    kind: np.ndarray
    level: np.ndarray
    cost_cny: np.ndarray
    arc_ptr: np.ndarray
    arcs_of: np.ndarray
    # per column: the feeding site of a microwave column of one arc (link capacity planned:
    # ``per_arc``), else -1
    parent: np.ndarray
    per_arc: bool = False

    @property
    def size(self) -> int:
        return self.site.size


def _microwave_columns(arcs: Arcs, levels: np.ndarray, useful: np.ndarray, k: int,
                       per_arc: bool):
    """Columns of hop level ``k``: one per (child, link cost) over the useful arcs whose
    parent can be at level ``k - 1`` (``per_arc``: one per such arc, not projected, for the
    link flows of :func:`flow_rows`). Returns (site, cost, arc_ptr, arcs_of)."""
    idx = np.flatnonzero(useful & levels[k - 1][arcs.parent])  # sorted by child, cost
    child, cost = arcs.child[idx], arcs.cost_cny[idx]
    new = np.ones(idx.size, bool)
    if not per_arc:
        new[1:] = (child[1:] != child[:-1]) | (cost[1:] != cost[:-1])
    starts = np.flatnonzero(new)
    return child[starts], cost[starts], np.append(starts, idx.size), idx


def feed_columns(sites: SiteInputs, arcs: Arcs, possible: np.ndarray, *,
                 roots: np.ndarray | None = None) -> FeedColumns:
    """The pruned backhaul variables of the module docstring for the sites that can be on
    air (``possible``); ``roots`` as in :func:`~siting.optimize.feed_network.root_link_cny`
    (None: no root pruning; ignored where link capacity is planned, as moving a subtree
    to a root's link may overload it). Where link capacity is planned, microwave columns
    are one per arc and level (not projected)."""
    per_arc = sites.plans_capacity
    roots = None if per_arc else roots
    levels = hop_levels(sites, arcs, possible, roots=roots)
    parents = np.zeros(sites.n_sites, bool)
    parents[arcs.parent[useful_arcs(sites, arcs, possible, roots=roots)]] = True
    fiber = np.flatnonzero(levels[0] & (sites.needs_backhaul | parents))
    sat = np.flatnonzero(possible & sites.needs_backhaul
                         & (sites.satellite_cost_cny < sites.fiber_cost_cny)
                         & (sites.satellite_cost_cny < root_link_cny(sites, arcs, roots)))
    site = [fiber, sat]
    kind = [np.full(fiber.size, FIBER_KIND, np.int8), np.full(sat.size, SATELLITE_KIND, np.int8)]
    level = [np.zeros(fiber.size, np.int64), np.full(sat.size, -1, np.int64)]
    cost = [sites.fiber_cost_cny[fiber], sites.satellite_cost_cny[sat]]
    ptr, members = [np.zeros(fiber.size + sat.size + 1, np.int64)], []
    for k in range(1, sites.max_hops + 1):
        useful = useful_arcs(sites, arcs, possible, level=k, roots=roots)
        s, c, arc_ptr, arcs_of = _microwave_columns(arcs, levels, useful, k, per_arc)
        site.append(s)
        kind.append(np.full(s.size, MICROWAVE_KIND, np.int8))
        level.append(np.full(s.size, k, np.int64))
        cost.append(c)
        ptr.append(arc_ptr[1:] + sum(m.size for m in members))
        members.append(arcs_of)
    level_site, level_k = _level_columns(np.concatenate(site), np.concatenate(level),
                                         parents, sites.n_sites, sites.max_hops)
    n_members = sum(m.size for m in members)
    arc_ptr = np.concatenate(ptr + [np.full(level_site.size, n_members)])
    arcs_of = np.concatenate(members) if members else np.zeros(0, np.int64)
    kind = np.concatenate(kind + [np.full(level_site.size, LEVEL_KIND, np.int8)])
    parent = np.full(kind.size, -1, np.int64)
    if per_arc:
        mw = np.flatnonzero(kind == MICROWAVE_KIND)
        parent[mw] = arcs.parent[arcs_of[arc_ptr[mw]]]
    return FeedColumns(site=np.concatenate(site + [level_site]), kind=kind,
                       level=np.concatenate(level + [level_k]),
                       cost_cny=np.concatenate(cost + [np.zeros(level_site.size)]),
                       arc_ptr=arc_ptr, arcs_of=arcs_of, parent=parent, per_arc=per_arc)


def _level_columns(site: np.ndarray, level: np.ndarray, parents: np.ndarray, n_sites: int,
                   max_hops: int) -> tuple[np.ndarray, np.ndarray]:
    r"""(site, level) of the level columns :math:`L^k_t = \sum_c \mu^k_{t,c}`: one for each
    site ``t`` with two or more microwave columns at a level ``k < max_hops`` that can
    feed a hop (``parents``), so that a hop's row names its parent once, not once per cost
    class. ``site``, ``level``: of the feed columns (fiber level 0, satellite -1)."""
    out_site, out_level = [], []
    for k in range(1, max_hops):
        count = np.bincount(site[level == k], minlength=n_sites)
        t = np.flatnonzero((count > 1) & parents)
        out_site.append(t)
        out_level.append(np.full(t.size, k, np.int64))
    if not out_site:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(out_site), np.concatenate(out_level)


def _site_matrix(site: np.ndarray, n_sites: int, mask: np.ndarray | None = None) -> sp.csr_matrix:
    """(n_sites x len(site)) 0/1 matrix: entry (s, v) when column ``v`` is at site ``s``
    (and ``mask[v]``)."""
    cols = np.arange(site.size) if mask is None else np.flatnonzero(mask)
    return sp.csr_matrix((np.ones(cols.size), (site[cols], cols)), shape=(n_sites, site.size))


def _represents_level(feed: FeedColumns, k: int, n_sites: int) -> np.ndarray:
    r"""Bool per feed column: a term of :math:`L^k_t` in a hop's row, its site's level
    column where it has one (:func:`_level_columns`), else its feed columns at level
    ``k``."""
    at = feed.level == k
    has_level = np.zeros(n_sites, bool)
    has_level[feed.site[at & (feed.kind == LEVEL_KIND)]] = True
    return at & ((feed.kind == LEVEL_KIND) | ~has_level[feed.site])


def _parent_rows(feed: FeedColumns, arcs: Arcs, n_sites: int) -> sp.csr_matrix:
    r""":math:`\mu^k_{s,c} - \sum_{t \in N_c(s)} L^{k-1}_t \le 0`, one row per microwave
    column, over the feed columns."""
    mw = np.flatnonzero(feed.kind == MICROWAVE_KIND)
    counts = np.diff(feed.arc_ptr)[mw]
    member = sp.csr_matrix((np.ones(counts.sum()),
                            (np.repeat(np.arange(mw.size), counts), feed.arcs_of)),
                           shape=(mw.size, arcs.child.size))
    to_parent = sp.csr_matrix((np.ones(arcs.parent.size),
                               (np.arange(arcs.parent.size), arcs.parent)),
                              shape=(arcs.parent.size, n_sites))
    blocks = []
    for k in np.unique(feed.level[mw]):
        rows = np.flatnonzero(feed.level[mw] == k)
        at_level = _site_matrix(feed.site, n_sites, _represents_level(feed, k - 1, n_sites))
        own = sp.csr_matrix((np.ones(rows.size), (np.arange(rows.size), mw[rows])),
                            shape=(rows.size, feed.size))
        blocks.append(own - member[rows] @ to_parent @ at_level)
    return sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, feed.size))


def _site_level_key(feed: FeedColumns) -> np.ndarray:
    """Per feed column, its (site, level) as one integer >= 0."""
    return feed.site * (int(feed.level.max(initial=0)) + 2) + feed.level + 1


def with_level_columns(feed: FeedColumns, chosen: np.ndarray) -> np.ndarray:
    """The feed columns ``chosen`` (level columns among them dropped) and the level columns
    they set to 1: those at the site and level of a chosen microwave column (sorted)."""
    chosen = chosen[feed.kind[chosen] != LEVEL_KIND]
    levels = np.flatnonzero(feed.kind == LEVEL_KIND)
    key = _site_level_key(feed)
    used = np.isin(key[levels], key[chosen[feed.kind[chosen] == 1]])
    return np.union1d(chosen, levels[used])


def _level_rows(feed: FeedColumns) -> sp.csr_matrix:
    r""":math:`L^k_t - \sum_c \mu^k_{t,c} = 0`, one row per level column, over the feed
    columns."""
    levels = np.flatnonzero(feed.kind == LEVEL_KIND)
    key = _site_level_key(feed)
    row_of = np.full(key.max(initial=0) + 1, -1)
    row_of[key[levels]] = np.arange(levels.size)
    mw = np.flatnonzero(feed.kind == MICROWAVE_KIND)
    row = row_of[key[mw]]
    terms = mw[row >= 0]
    return sp.csr_matrix((np.concatenate([np.ones(levels.size), -np.ones(terms.size)]),
                          (np.concatenate([np.arange(levels.size), row[row >= 0]]),
                           np.concatenate([levels, terms]))),
                         shape=(levels.size, feed.size))


def feed_rows(feed: FeedColumns, arcs: Arcs, site_of_option: np.ndarray,
              n_sites: int, *, optional: np.ndarray | None = None
              ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """The rows of the module docstring over ``[options, feed columns]``: each site with
    feed columns fed when on air (but the sites ``optional``, bool per site: backhaul in
    place, fed only to relay), only then, at most once; each hop's parent fed one level
    lower; each level column the sum of its site's microwave columns at its level. Returns
    (matrix, lower bounds, upper bounds)."""
    n = site_of_option.size
    fed = _site_matrix(feed.site, n_sites, feed.kind != LEVEL_KIND)  # F_s
    served = np.flatnonzero(np.diff(fed.indptr) > 0)
    is_served = np.zeros(n_sites, bool)
    is_served[served] = True
    must = is_served if optional is None else is_served & ~optional
    opts = np.flatnonzero(must[site_of_option])
    per_option = sp.hstack([-sp.csr_matrix((np.ones(opts.size), (np.arange(opts.size), opts)),
                                           shape=(opts.size, n)),
                            fed[site_of_option[opts]]])
    on_air = _site_matrix(site_of_option, n_sites)[served]
    at_most = sp.hstack([-on_air, fed[served]])
    once = sp.hstack([sp.csr_matrix((served.size, n)), fed[served]])
    hops = sp.vstack([_parent_rows(feed, arcs, n_sites), _level_rows(feed)])
    parents = sp.hstack([sp.csr_matrix((hops.shape[0], n)), hops])
    A = sp.vstack([per_option, at_most, once, parents], format="csr")
    n_levels = int(np.sum(feed.kind == LEVEL_KIND))
    lo = np.concatenate([np.zeros(opts.size), np.full(2 * served.size, -np.inf),
                         np.full(parents.shape[0] - n_levels, -np.inf), np.zeros(n_levels)])
    hi = np.concatenate([np.full(opts.size, np.inf), np.zeros(served.size),
                         np.ones(served.size), np.zeros(parents.shape[0])])
    return A, lo, hi


@dataclass(frozen=True)
class FlowRows:
    r"""The link flows of a model that plans link capacity (:attr:`FeedColumns.per_arc`):
    one continuous column :math:`g_a` [Mbit/s] per arc with microwave columns, the traffic
    its hop carries towards fiber, and the rows binding them to the options and feeds,

    .. math::

        g_a \le \kappa_a \sum_k \mu^k_a, \qquad
        \sum_{a:\,\mathrm{child}(a) = s} g_a - \sum_{a:\,\mathrm{parent}(a) = s} g_a
        - \sum_{j \in O_s} t_j x_j \ge -M_s \Bigl(1 - \sum_{k,a} \mu^k_{s,a}\Bigr),

    with :math:`\kappa_a` the link's capacity, :math:`t_j` an option's traffic (0 at a
    site whose backhaul is in place: its own traffic keeps that feed) and :math:`M_s =
    \sum_{O_s} t_j + \sum_{\mathrm{parent}(a) = s} \kappa_a`. A site fed by a hop sends
    its own traffic and all it relays up that one hop (one arc column at most is set per
    site); fiber takes any traffic, so the row is void at a site fed otherwise. This is the
    single-commodity flow of capacitated network design (Magnanti and Wong 1984) over the
    hop-indexed arcs, which keep the hop limit. ``rows`` is over ``[option columns, feed
    columns, flow columns]``."""

    arc: np.ndarray  # the arc of each flow column
    upper_mbps: np.ndarray  # each flow column's upper bound [Mbit/s]
    rows: sp.csr_matrix
    lo: np.ndarray
    hi: np.ndarray

    @property
    def size(self) -> int:
        return self.arc.size


def flow_rows(feed: FeedColumns, arcs: Arcs, option_site: np.ndarray,
              option_traffic_mbps: np.ndarray, in_place: np.ndarray) -> FlowRows:
    """The :class:`FlowRows` of ``feed`` (per-arc microwave columns) for option columns at
    the sites ``option_site``, each putting ``option_traffic_mbps`` on its site's feed
    (none at the sites ``in_place``, bool per site)."""
    n_opt, n_sites = option_site.size, in_place.size
    mw = np.flatnonzero(feed.kind == MICROWAVE_KIND)
    col_arc = feed.arcs_of[feed.arc_ptr[mw]]
    arc, flow_of_col = np.unique(col_arc, return_inverse=True)
    traffic = np.where(in_place[option_site], 0.0, option_traffic_mbps)
    upper = np.minimum(arcs.capacity_mbps[arc], max(float(traffic.sum()), 1.0))
    n_x, n_f = n_opt + feed.size, arc.size
    use = sp.csr_matrix((-upper[flow_of_col], (flow_of_col, n_opt + mw)), shape=(n_f, n_x))
    capacity = sp.hstack([use, sp.identity(n_f, format="csr")])
    relay_mbps = np.bincount(arcs.parent[arc], weights=upper, minlength=n_sites)
    own_mbps = np.bincount(option_site, weights=traffic, minlength=n_sites)
    site = np.unique(feed.site[mw])
    row_of = np.full(n_sites, -1)
    row_of[site] = np.arange(site.size)
    big_m = own_mbps[site] + relay_mbps[site]
    child, parent = arcs.child[arc], arcs.parent[arc]
    to_parent = row_of[parent] >= 0
    opts = np.flatnonzero((row_of[option_site] >= 0) & (traffic > 0))  # no zero entries
    rows = np.concatenate([row_of[child], row_of[parent[to_parent]], row_of[option_site[opts]],
                           row_of[feed.site[mw]]])
    cols = np.concatenate([n_x + np.arange(n_f), n_x + np.flatnonzero(to_parent), opts,
                           n_opt + mw])
    vals = np.concatenate([np.ones(n_f), -np.ones(int(to_parent.sum())), -traffic[opts],
                           -big_m[row_of[feed.site[mw]]]])
    balance = sp.csr_matrix((vals, (rows, cols)), shape=(site.size, n_x + n_f))
    relay = _relay_rows(feed, arcs, arc, row_of, (mw, opts), (option_site, traffic), big_m)
    return FlowRows(arc=arc, upper_mbps=upper,
                    rows=sp.vstack([capacity, balance, relay], format="csr"),
                    lo=np.concatenate([np.full(n_f, -np.inf), -big_m,
                                       np.full(site.size, -np.inf)]),
                    hi=np.concatenate([np.zeros(n_f), np.full(site.size, np.inf),
                                       np.zeros(site.size)]))


def _relay_rows(feed: FeedColumns, arcs: Arcs, arc: np.ndarray, row_of: np.ndarray,
                columns: tuple[np.ndarray, np.ndarray], options: tuple[np.ndarray, np.ndarray],
                big_m: np.ndarray) -> sp.csr_matrix:
    r"""A valid inequality that tightens :class:`FlowRows`' LP bound: what a site relays
    and sends of its own fits its hop, unless fiber or satellite feeds it,
    :math:`\sum_{\mathrm{parent}(a) = s} g_a + \sum_{O_s} t_j x_j \le \sum_{k,a} \kappa_a
    \mu^k_{s,a} + M_s (\varphi_s + \psi_s)`, one row per site with microwave columns
    (``row_of``), over ``[options, feed columns, flows of the arcs arc]``. ``columns``:
    (the microwave feed columns, the options with traffic at those sites) of
    :func:`flow_rows`; ``options``: (each option's site, its traffic [Mbit/s])."""
    mw, opts = columns
    option_site, traffic = options
    n_opt = option_site.size
    n_x, n_rows = n_opt + feed.size, int(np.count_nonzero(row_of >= 0))
    other = np.flatnonzero(np.isin(feed.kind, (FIBER_KIND, SATELLITE_KIND))
                           & (row_of[feed.site] >= 0))
    to_parent = np.flatnonzero(row_of[arcs.parent[arc]] >= 0)
    hop_capacity = np.minimum(arcs.capacity_mbps[feed.arcs_of[feed.arc_ptr[mw]]],
                              big_m[row_of[feed.site[mw]]])
    rows = np.concatenate([row_of[arcs.parent[arc[to_parent]]], row_of[option_site[opts]],
                           row_of[feed.site[mw]], row_of[feed.site[other]]])
    cols = np.concatenate([n_x + to_parent, opts, n_opt + mw, n_opt + other])
    vals = np.concatenate([np.ones(to_parent.size), traffic[opts], -hop_capacity,
                           -big_m[row_of[feed.site[other]]]])
    return sp.csr_matrix((vals, (rows, cols)), shape=(n_rows, n_x + arc.size))


def flow_values(flows: FlowRows, feed: FeedColumns, arcs: Arcs, chosen: np.ndarray,
                site_mbps: np.ndarray) -> np.ndarray:
    """The flow columns' values [Mbit/s] of a plan: its feed columns ``chosen`` (indices
    into ``feed``) and each site's own traffic (``site_mbps``), carried up its hops
    (:func:`~siting.optimize.feed_network.carried_traffic_mbps`)."""
    hops = chosen[feed.kind[chosen] == MICROWAVE_KIND]
    hop_arc = feed.arcs_of[feed.arc_ptr[hops]]
    feeder = np.full(site_mbps.size, -1)
    level = np.zeros(site_mbps.size, np.int64)
    feeder[feed.site[hops]] = arcs.parent[hop_arc]
    level[feed.site[hops]] = feed.level[hops]
    carried = carried_traffic_mbps(site_mbps, feeder, level)
    values = np.zeros(flows.size)
    values[np.searchsorted(flows.arc, hop_arc)] = carried[feed.site[hops]]
    return values


@dataclass(frozen=True)
class FeedScope:
    """What a model with backhaul chooses from: the options in it, the sites that can be on
    air and be fed, and the rows' requirements once backhaul is accounted for."""

    cols: np.ndarray  # option index of each option column
    possible: np.ndarray  # bool per site: can be on air
    feedable: np.ndarray  # bool per site: can be fed if on air
    required: np.ndarray  # options each row must be covered by, within the feedable ones
    blocked: np.ndarray  # bool per row: backhaul lowers its requirement
    # bool per site: fiber or a microwave chain can feed it if on air (or it needs no feed);
    # the sites that count on the terrestrial rows
    ground_feedable: np.ndarray | None = None
    # bool per row: a terrestrial row whose requirement only satellite-fed sites could meet
    # (lowered to what the others give; not in ``blocked``)
    satellite_only: np.ndarray | None = None


def feed_scope(A: sp.csr_matrix, required: np.ndarray, open_options: np.ndarray,
               fixed: np.ndarray, sites: SiteInputs, arcs: Arcs,
               terrestrial: np.ndarray | None = None) -> FeedScope:
    """The :class:`FeedScope` of the options ``open_options`` (bool per option: fixed or
    choosable; ``fixed``: bool per option) covering the rows of ``A``, each needing
    ``required`` options; :class:`InfeasibleError` for a must-cover row the open options
    leave short, or a fixed site nothing can feed. The rows ``terrestrial`` (bool per row,
    None: none) ask for no more than the options at sites fiber or a microwave chain can
    feed give (:mod:`siting.optimize.ground_cover`)."""
    short = np.flatnonzero(coverage_count(A, np.flatnonzero(open_options)) < required)
    if short.size:
        raise InfeasibleError(
            f"{short.size} must-cover row(s) can only be covered by options excluded by fixed "
            f"options' groups or the budget: rows {first_indices(short)}")
    possible = np.bincount(sites.site_of_option[open_options], minlength=sites.n_sites) > 0
    feedable = feedable_sites(sites, arcs, possible)
    stranded = np.unique(sites.site_of_option[fixed & ~feedable[sites.site_of_option]])
    if stranded.size:
        raise InfeasibleError(f"{stranded.size} existing site(s) can be fed by no fiber, "
                              f"satellite or microwave chain within the hop limit: sites "
                              f"{first_indices(stranded)}")
    cols = np.flatnonzero(open_options & feedable[sites.site_of_option])
    reach = coverage_count(A, cols)
    blocked = reach < required
    scope = FeedScope(cols=cols, possible=possible, feedable=feedable,
                      required=np.minimum(required, reach), blocked=blocked)
    if terrestrial is None or not terrestrial.any():
        return scope
    ground = feedable_sites(replace(sites, satellite_cost_cny=np.full(sites.n_sites, np.inf)),
                            arcs, possible)
    ground_reach = coverage_count(A, cols[ground[sites.site_of_option[cols]]])
    short = terrestrial & ~blocked & (ground_reach < required)
    return replace(scope, required=np.where(terrestrial, np.minimum(scope.required, ground_reach),
                                            scope.required),
                   ground_feedable=ground, satellite_only=short)


def _feed_keys(site, kind, level, cost_cny, parent):
    """(site, kind, level, cost, parent) of each feed column given by the five arrays."""
    return zip(np.asarray(site).tolist(), np.asarray(kind).tolist(),
               np.asarray(level).tolist(), np.asarray(cost_cny).tolist(),
               np.asarray(parent).tolist())


def feed_lookup(feed: FeedColumns, site, kind, level, cost_cny, parent) -> np.ndarray:
    """The column of ``feed`` of each (site, kind, level, cost, feeding site) given by the
    five arrays (the feeding site counts only for microwave columns of one arc,
    :attr:`FeedColumns.per_arc`); -1 where it has none."""
    where = {key: i for i, key in enumerate(_feed_keys(feed.site, feed.kind, feed.level,
                                                       feed.cost_cny, feed.parent))}
    kind = np.asarray(kind)
    parent = np.where((kind == MICROWAVE_KIND) & feed.per_arc, parent, -1)
    return np.array([where.get(key, -1)
                     for key in _feed_keys(site, kind, level, cost_cny, parent)], np.int64)

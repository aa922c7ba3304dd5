r"""Sites and their backhaul planned together: every site on air reaches the network.

Options (columns of the coverage matrix) belong to sites; a site is on air when one of its
options is selected (fixed options: existing sites, always on air). Every on-air site that
needs backhaul is fed by exactly one of: fiber (its route cost :math:`f_s`, :math:`\infty` =
none), a microwave hop from an on-air site that is itself fed within ``max_hops`` hops
:math:`H` of a fiber-fed site, or satellite (:math:`\sigma_s`). Sites that need no backhaul
(fiber on site) are fiber-fed at no cost. Backhaul costs count like option costs: in the
``min_cost`` objective, in the budget, and in the lexicographic tie-break.

The entry point is :func:`solve_with_backhaul`, its result a :class:`BackhaulSolution`
(each site's feed, read off the chosen columns by :func:`site_feeds`). The parts it is built
from each have a module of their own:

- :mod:`siting.optimize.feed_network`: the checked site and link inputs, and which sites can
  be fed, at which hop levels, through which relays;
- :mod:`siting.optimize.feed_model`: the feed variables and rows (a hop-indexed formulation,
  projected and pruned exactly; its derivation and references are there) and the scope of a
  model with backhaul: options at sites nothing can feed leave it, and must-cover rows only
  they could cover are reported in :attr:`BackhaulSolution.backhaul_blocked`, asked for
  what the feedable options can give;
- :mod:`siting.optimize.joint_model`: the coverage model of :mod:`siting.optimize.model`
  with those columns and rows, and its restrictions to some of its options;
- :mod:`siting.optimize.joint_solve`: its solve, a first stage warm-started by the
  sites-first plan (chosen as if backhaul were free, then fed through the relays of its
  cheapest hop chains) and by a plan of an earlier call (``start``), then the tie-break;
- :mod:`siting.optimize.kernel_search`: the first stage of a MIP too large for HiGHS in the
  time, by kernel search guided by an LP relaxation, its gap proven against the LP bound.
- :mod:`siting.optimize.ground_cover`: rows (the mandatory points' under
  ``backhaul.mandatory_feed: terrestrial``) that only options at sites not fed by satellite
  cover (``terrestrial``).

Whatever stops a MIP before it has a plan of its own, the warm start is the plan, reported
as not proven. Link capacity is planned when the options carry traffic
(``option_traffic_mbps``): each hop then carries no more than its link's capacity
(:class:`~siting.optimize.feed_model.FlowRows`); without, a site may relay any number of
others. Phased plans with backhaul are :mod:`siting.optimize.phased_backhaul`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from siting.errors import InfeasibleError, SolverError
from siting.optimize.core import SolveLog, tie_break_node_limit, validated_problem
from siting.optimize.feed_greedy import existing_feeds_cny
from siting.optimize.feed_model import (
    FIBER,
    IN_PLACE,
    KINDS,
    LEVEL_KIND,
    SATELLITE_KIND,
    FeedColumns,
    FeedScope,
    feed_lookup,
    with_level_columns,
)
from siting.optimize.feed_network import (
    CAPACITY_PARENTS,
    Arcs,
    SiteInputs,
    best_parent_arcs,
    carried_traffic_mbps,
    checked_arcs,
    checked_sites,
)
from siting.optimize.inputs import as_bool
from siting.optimize.joint_model import (
    JointModel,
    Stage,
    joint_model,
)
from siting.optimize.joint_solve import first_stage, start_plan, tie_break_stage
from siting.optimize.model import CoverCount
from siting.optimize.solution import Solution, relative_gap


def _plan_columns(model: JointModel, plan: BackhaulSolution) -> np.ndarray | None:
    """The joint columns of ``plan`` (options and per-site feeds of another call over the
    same options and network), or None when this model lacks one of them."""
    options = plan.solution.selected
    at = np.minimum(np.searchsorted(model.scope.cols, options), max(model.n_options - 1, 0))
    if np.any(model.scope.cols[at] != options):
        return None
    fed = np.flatnonzero(plan.on_air & (plan.backhaul != IN_PLACE))
    kind = np.array([KINDS.index(k) for k in plan.backhaul[fed]], np.int64)
    level = np.where(kind == SATELLITE_KIND, -1, plan.hop_level[fed])
    feeds = feed_lookup(model.feed, fed, kind, level, plan.backhaul_cost_cny[fed],
                        plan.feeder_site[fed])
    # a site with fiber on site has a (free) column only where it can feed a hop
    if np.any((feeds < 0) & model.sites.needs_backhaul[fed]):
        return None
    return np.concatenate([at, model.n_options
                           + with_level_columns(model.feed, feeds[feeds >= 0])])


# ---------------------------------------------------------------------------------------
# the result


@dataclass(frozen=True)
class BackhaulSolution:
    """A plan of sites with their backhaul.

    Attributes
    ----------
    solution : Solution
        The selected options (fixed ones included); ``objective`` is the total cost, options
        plus backhaul, for ``min_cost`` and the covered weight for ``max_coverage``; bound,
        gap and status as in :func:`~siting.optimize.solve_coverage_model`.
    on_air : numpy.ndarray
        Bool per site: one of its options is selected.
    backhaul : numpy.ndarray
        Str per site: ``"fiber"`` (a new route, or fiber on site when the site needs no
        backhaul), ``"microwave"``, ``"satellite"``, ``"in_place"``
        (:data:`~siting.optimize.feed_model.IN_PLACE`: its backhaul was built before the
        plan); ``""`` off air.
    hop_level : numpy.ndarray
        Int per site: 0 fiber-fed, k fed by a chain of k microwave hops from a fiber-fed
        site, -1 satellite or off air.
    feeder_site : numpy.ndarray
        Int per site: the site feeding it by microwave, -1 otherwise.
    feeder_link : numpy.ndarray
        Int per site: that hop's row in ``links``, -1 otherwise.
    backhaul_cost_cny : numpy.ndarray
        Float per site: its fiber route, hop or satellite cost [CNY] (0 off air or with fiber
        on site).
    site_cost_cny : float
        Cost of the selected options [CNY].
    backhaul_blocked : numpy.ndarray
        Bool per demand row: a must-cover row some option covers (or gives the backup
        coverage it asks for) but not enough options at sites backhaul can feed: it was
        asked for no more than those give, and backhaul is what leaves it short.
    feedable : numpy.ndarray
        Bool per site: some backhaul can feed it if it goes on air (budget aside).
    feed_period : numpy.ndarray or None
        Phased plans: int per site, the 0-based period its feed is built in (-1 off air or
        with fiber on site); None for a single-period plan.
    carried_mbps : numpy.ndarray or None
        Where link capacity is planned (options carry traffic): float per site, the traffic
        its feed carries [Mbit/s], its own and all it relays; None otherwise.
    ground_feedable : numpy.ndarray or None
        With terrestrial rows: bool per site, fiber or a microwave chain can feed it if it
        goes on air (or it needs no feed), the sites that count on those rows; None
        without.
    """

    solution: Solution
    on_air: np.ndarray
    backhaul: np.ndarray
    hop_level: np.ndarray
    feeder_site: np.ndarray
    feeder_link: np.ndarray
    backhaul_cost_cny: np.ndarray
    site_cost_cny: float
    backhaul_blocked: np.ndarray
    feedable: np.ndarray
    feed_period: np.ndarray | None = None
    carried_mbps: np.ndarray | None = None
    ground_feedable: np.ndarray | None = None

    @property
    def total_backhaul_cny(self) -> float:
        return float(self.backhaul_cost_cny.sum())

    @property
    def total_cost_cny(self) -> float:
        return self.site_cost_cny + self.total_backhaul_cny


def _feeder(feed: FeedColumns, arcs: Arcs, column: int, level: np.ndarray) -> int:
    """The arc feeding microwave column ``column``: the first of its class whose parent is
    fed (by fiber or microwave) one level lower."""
    members = feed.arcs_of[feed.arc_ptr[column]:feed.arc_ptr[column + 1]]
    return int(members[np.argmax(level[arcs.parent[members]] == feed.level[column] - 1)])


def site_feeds(feed: FeedColumns, sites: SiteInputs, arcs: Arcs, chosen: np.ndarray,
               solution: Solution, site_cost_cny: float, scope: FeedScope,
               feed_period: np.ndarray | None = None) -> BackhaulSolution:
    """Per-site backhaul of a plan: its options ``solution.selected`` fed by the columns
    ``chosen`` of ``feed`` (``feed_period``: the period each of those is built in, phased
    plans only)."""
    n_sites = sites.n_sites
    on_air = np.zeros(n_sites, bool)
    on_air[sites.site_of_option[solution.selected]] = True
    kind = np.select([on_air & sites.fiber_on_site, on_air & sites.in_place], [FIBER, IN_PLACE],
                     "").astype(object)
    level = np.where(on_air & sites.fiber_on_site, 0, -1)
    cost = np.zeros(n_sites)
    keep = feed.kind[chosen] != LEVEL_KIND  # a level column feeds nothing of its own
    order = np.argsort(feed.level[chosen[keep]], kind="stable")
    chosen = chosen[keep][order]
    site = feed.site[chosen]
    kind[site] = np.asarray(KINDS, dtype=object)[feed.kind[chosen]]
    level[site] = feed.level[chosen]
    cost[site] = feed.cost_cny[chosen]
    feeder_site, feeder_link = np.full(n_sites, -1), np.full(n_sites, -1)
    for column in chosen[feed.kind[chosen] == 1]:
        arc = _feeder(feed, arcs, column, level)
        feeder_site[feed.site[column]] = arcs.parent[arc]
        feeder_link[feed.site[column]] = arcs.link[arc]
    period = None
    if feed_period is not None:
        period = np.full(n_sites, -1)
        period[site] = np.asarray(feed_period)[keep][order]
    carried = None
    if sites.plans_capacity:
        carried = carried_traffic_mbps(sites.site_traffic_mbps(solution.selected),
                                       feeder_site, level)
    return BackhaulSolution(solution=solution, on_air=on_air, backhaul=kind, hop_level=level,
                            feeder_site=feeder_site, feeder_link=feeder_link,
                            backhaul_cost_cny=cost, site_cost_cny=site_cost_cny,
                            backhaul_blocked=scope.blocked, feedable=scope.feedable,
                            feed_period=period, carried_mbps=carried,
                            ground_feedable=scope.ground_feedable)


# ---------------------------------------------------------------------------------------
# public entry point


def model_arcs(links, sites: SiteInputs) -> Arcs:
    """The arcs of ``links`` the model chooses from: the cheapest link per ordered pair of
    sites; where link capacity is planned, also dearer links of more capacity, and only
    those from each site's ``CAPACITY_PARENTS`` most promising parents."""
    arcs = checked_arcs(links, sites.n_sites, by_capacity=sites.plans_capacity)
    return best_parent_arcs(sites, arcs, CAPACITY_PARENTS) if sites.plans_capacity else arcs


def _solved(model: JointModel, start: BackhaulSolution | None, *, tie_break: bool, deadline,
            record: SolveLog, **settings) -> tuple[Stage, np.ndarray]:
    """(the first stage, the joint columns of the plan): the first stage warm-started by the
    sites-first plan and ``start``, then with ``tie_break`` the tie-break stage, in as many
    nodes as the first stage's MIPs searched (:func:`~siting.optimize.core.tie_break_node_limit`;
    skipped when the first stopped on its time limit)."""
    nodes_before = record.nodes
    starts = (start_plan(model, deadline=deadline, record=record, **settings),
              None if start is None else _plan_columns(model, start))
    first = first_stage(model, deadline=deadline, starts=starts, record=record, **settings)
    if not tie_break:
        return first, first.selected
    if first.status == "time_limit":
        record.note("tie-break stage skipped: the first stage stopped on its time limit")
        return first, first.selected
    return first, tie_break_stage(model, first, deadline=deadline,
                                  node_limit=tie_break_node_limit(record.nodes - nodes_before),
                                  record=record, **settings)


def least_fixed_feeds_cny(coverage, cost, *, fixed, budget_cny: float,
                          time_limit_s: float | None = None, mip_gap: float = 0.0,
                          solver: str = "highs", seed: int = 0, **backhaul) -> float | None:
    """A proven lower bound of what feeding the sites of the ``fixed`` options (bool per
    option; existing sites) costs [CNY], new options as relays included (their cost
    counted), when feeding them greedily (an upper bound,
    :func:`~siting.optimize.feed_greedy.existing_feeds_cny`) passes ``budget_cny``: the
    bound of the least-cost plan covering nothing (:func:`solve_with_backhaul`). None when
    the greedy stays within it, or some site cannot be fed at all, or the solver proves
    nothing in its time. ``backhaul``: the network's keywords of
    :func:`solve_with_backhaul`."""
    fixed = np.asarray(fixed, bool)
    sites = checked_sites(backhaul["site_of_option"], fixed.size, backhaul["fiber_cost_cny"],
                          backhaul.get("satellite_cost_cny"), backhaul.get("site_needs_backhaul"),
                          backhaul["max_hops"], backhaul.get("site_in_place"),
                          backhaul.get("option_traffic_mbps"))
    greedy_cny = existing_feeds_cny(sites, model_arcs(backhaul.get("links"), sites), fixed)
    if greedy_cny is not None and greedy_cny <= budget_cny * (1 + 1e-9):
        return None
    try:
        least = solve_with_backhaul(coverage, cost, objective="min_cost",
                                    must_cover=np.zeros(np.shape(coverage)[0], np.int64),
                                    fixed=fixed, tie_break=False, time_limit_s=time_limit_s,
                                    mip_gap=mip_gap, solver=solver, seed=seed, **backhaul)
    except (InfeasibleError, SolverError):
        return None
    bound_cny = least.solution.bound - float(np.asarray(cost, float)[fixed].sum())
    return bound_cny if np.isfinite(bound_cny) else None


def solve_with_backhaul(coverage, cost, *, site_of_option, fiber_cost_cny, links=None,
                        satellite_cost_cny=None, max_hops: int, objective: str = "min_cost",
                        weight=None, must_cover=None, cover_count: CoverCount | None = None,
                        budget: float | None = None,
                        max_options: int | None = None, counted=None, fixed=None, groups=None,
                        site_needs_backhaul=None, site_in_place=None,
                        option_traffic_mbps=None, terrestrial=None, tie_break: bool = True,
                        time_limit_s: float | None = None, mip_gap: float = 0.0,
                        solver: str = "highs", seed: int = 0,
                        start: BackhaulSolution | None = None) -> BackhaulSolution:
    """Choose options and the backhaul of their sites together (model in the module
    docstring).

    Parameters
    ----------
    coverage, cost, objective, weight, must_cover, cover_count, budget, max_options, counted,
    fixed, groups
        As in :func:`siting.optimize.solve_coverage_model` (``cost`` [CNY]); ``budget``
        covers options and backhaul; ``cover_count`` counts the rows options at sites
        backhaul can feed cover.
    site_of_option : int array, shape (n_options,)
        The site of each option, in ``[0, n_sites)``.
    fiber_cost_cny : array, shape (n_sites,)
        Cheapest fiber route from each site to the fiber network [CNY], >= 0; inf where no
        route can be built. Its length is the number of sites.
    links : mapping or DataFrame, optional
        Feasible microwave links, one per row: ``site_a``, ``site_b`` (site indices),
        ``cost_cny`` [CNY], optional ``capacity_mbps`` [Mbit/s] (NaN: not limited); usable
        in either direction. Between two sites the cheapest link is used (of those, the one
        of most capacity; where capacity is planned, also any dearer one of more capacity);
        ``feeder_link`` of the result is its row.
    satellite_cost_cny : float or array (n_sites,), optional
        Satellite backhaul cost [CNY] (None or inf: unavailable).
    max_hops : int
        Most microwave hops from a site to a fiber-fed site (0: no microwave).
    site_needs_backhaul : bool array, shape (n_sites,), optional
        False for sites with fiber on site (fed at no cost). Default: every site needs it.
    site_in_place : bool array, shape (n_sites,), optional
        True for sites whose backhaul was built before the plan (an as-built site of a
        re-plan): fed at no cost, but, without fiber on site, relaying hops only through a
        feed the plan buys them (its hop count from fiber is not known). Default: none.
    option_traffic_mbps : array, shape (n_options,), optional
        The traffic each option puts on its site's feed [Mbit/s]. Given, link capacity is
        planned: each hop carries the traffic of the site it feeds and of every site that
        site relays, within the link's ``capacity_mbps``
        (:class:`~siting.optimize.feed_model.FlowRows`). None (default): hops carry any
        traffic.
    terrestrial : bool array, shape (n_demand,), optional
        Rows only options at sites not fed by satellite cover, asking for no more than the
        options at sites fiber or a microwave chain can feed give
        (:mod:`siting.optimize.ground_cover`). None (default): none.
    tie_break, time_limit_s, mip_gap, solver, seed
        As in :func:`siting.optimize.solve_coverage_model`; the tie-break stage is skipped
        when the first stage stopped on its time limit (with a note).
    start : BackhaulSolution, optional
        A plan of an earlier call with the same options and network (a previous stage's),
        tried as a warm start besides the sites-first one; dropped if it breaks a
        constraint of this call.

    Returns
    -------
    BackhaulSolution

    Raises
    ------
    InputError
        Bad shapes or values.
    InfeasibleError
        A must-cover row no option covers; an existing site nothing can feed; no plan meets
        the must-cover rows (as far as backhaul allows, see ``backhaul_blocked``) within the
        budget, quota and groups.
    SolverError
        No solver could run, or the time limit passed before any plan was found.
    """
    t0 = time.perf_counter()
    p, options = validated_problem(coverage, cost, objective=objective, weight=weight,
                                   must_cover=must_cover, budget=budget,
                                   max_options=max_options, counted=counted, fixed=fixed,
                                   groups=groups, solver=solver, time_limit_s=time_limit_s,
                                   mip_gap=mip_gap, cover_count=cover_count)
    sites = checked_sites(site_of_option, p.n_cols, fiber_cost_cny, satellite_cost_cny,
                          site_needs_backhaul, max_hops, site_in_place, option_traffic_mbps)
    arcs = model_arcs(links, sites)
    deadline = None if time_limit_s is None else t0 + float(time_limit_s)
    record = SolveLog()
    ground_rows = (None if terrestrial is None
                   else as_bool(terrestrial, p.n_rows, "terrestrial", default=False))
    model = joint_model(p, options, sites, arcs, record, ground_rows)
    settings = {"solver": solver, "mip_gap": float(mip_gap), "seed": seed, "record": record}
    first, selected = _solved(model, start, tie_break=tie_break, deadline=deadline, **settings)
    value = model.value(selected)
    solution = Solution(selected=model.scope.cols[selected[selected < model.n_options]],
                        objective=value, bound=first.bound,
                        gap=relative_gap(value, first.bound), status=first.status,
                        solver="+".join(dict.fromkeys(record.solvers)) or solver,
                        solve_time_s=time.perf_counter() - t0, notes=tuple(record.notes))
    chosen = selected[selected >= model.n_options] - model.n_options
    site_cost = float(model.p.cost[selected[selected < model.n_options]].sum())
    return site_feeds(model.feed, sites, arcs, chosen, solution, site_cost, model.scope)

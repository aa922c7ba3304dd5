r"""Phased plans with backhaul: which sites to build in which year, and how each is fed.

The multi-period model of :mod:`siting.optimize.phased` with the feed variables of
:mod:`siting.optimize.feed_model` as its side columns
(:class:`~siting.optimize.phased.SideColumns`): :math:`\varphi_{st}`,
:math:`\mu^k_{s,c,t}` and :math:`\psi_{st}` say that site :math:`s` is fed by fiber, by a hop
at level :math:`k` of cost :math:`c`, or by satellite by the end of period :math:`t`. Built
feeds stay built (non-decreasing in :math:`t`), and the backhaul rows hold in every period
over the options built by then:

.. math::

    F_{st} \ge X_{jt} \;(j \in O_s), \quad F_{st} \le \sum_{j \in O_s} X_{jt}, \quad
    F_{st} \le 1, \quad
    \mu^k_{s,c,t} \le \sum_{u \in N_c(s)} L^{k-1}_{ut} \;(k = 1..H).

A site on air in period :math:`t` is fed in period :math:`t`, through relays on air and fed
in that period; an existing site that needs backhaul is fed from the first period. Each
feed's cost is charged to the period it is built in: to that period's budget, the whole
plan's budget and the cost tie-break, like an option's. A site keeps the feed it was first
given: the model does not re-feed it later by a route a later relay would make cheaper.

The options, feed columns and rows are pruned as for a single period
(:func:`~siting.optimize.feed_model.feed_scope`, :func:`~siting.optimize.feed_model.feed_columns`
with the existing sites that have fiber as roots: on air and fed from the first period, they
can take over any hop the pruning drops in every period), over the options some period can
afford: options at sites nothing can feed leave the model, and must-cover rows only they
could cover are asked for what the feedable options give and reported in
``backhaul_blocked``.

Link capacity (``option_traffic_mbps``): as for a single period, the microwave columns are
one per arc, the root pruning is off, and the link flows of
:class:`~siting.optimize.feed_model.FlowRows` bound each hop's load by its link's capacity;
here they hold in the last period :math:`T` only
(:class:`~siting.optimize.phased.LastPeriodColumns`), which holds them in every period. A
site keeps its feed (:math:`F_{st} \le 1`, built feeds stay built) and options stay built,
so the hops in use in period :math:`t` are among those in use in :math:`T`, with the same
parents, and a site's own traffic in :math:`t` (of its options on air then: an upgrade
adds its generation's) is at most its traffic in :math:`T`: a hop's load in :math:`t`, the
traffic of the sites it carries then, is at most its load in :math:`T`. The loads a plan
reports (``carried_mbps``) are the last period's, each hop's largest.

Terrestrial rows (``terrestrial``: ``backhaul.mandatory_feed: terrestrial``) are covered only
by options at sites not fed by satellite, through the :math:`w_o` columns of
:mod:`siting.optimize.ground_cover` with their rows :math:`w_{ot} \le X_{ot}`,
:math:`w_{ot} + \psi_{st} \le 1` in every period. They enter the phased model as options
of cost 0 in no quota or group (it covers rows by options only), built by the end of a
period like one: a site keeps its feed, so a site fed by satellite from the period it goes
on air never has one of its :math:`w_o` built, and one fed otherwise may have it built
with its option.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from siting.optimize.backhaul import BackhaulSolution, model_arcs, site_feeds
from siting.optimize.feed_greedy import greedy_schedule
from siting.optimize.feed_model import (
    MICROWAVE_KIND,
    FeedColumns,
    FeedScope,
    feed_columns,
    feed_rows,
    feed_scope,
    flow_rows,
    flow_values,
)
from siting.optimize.feed_network import (
    Arcs,
    SiteInputs,
    checked_sites,
    fiber_roots,
)
from siting.optimize.ground_cover import GroundCover, ground_cover, ground_rows, split_cover
from siting.optimize.inputs import (
    OptionInputs,
    as_bool,
    as_float,
    as_need,
    take_out_fixed,
    validate_options,
)
from siting.optimize.joint_model import check_fixed_feeds
from siting.optimize.phased import (
    LastPeriodColumns,
    PhasedSolution,
    SideColumns,
    solve_phased_coverage,
    validated_periods,
)


@dataclass(frozen=True)
class PhasedBackhaulSolution:
    """A phased plan (``phased``: when each option is built, over every option) and the
    backhaul of its sites at its end (``feeds``, with ``feed_period``: when each feed is
    built)."""

    phased: PhasedSolution
    feeds: BackhaulSolution


def solve_phased_with_backhaul(coverage, cost, weight, *, period_budgets, site_of_option,
                               fiber_cost_cny, max_hops: int, links=None,
                               satellite_cost_cny=None, site_needs_backhaul=None,
                               site_in_place=None, option_traffic_mbps=None,
                               terrestrial=None, budget: float | None = None,
                               must_cover=None, counted=None, fixed=None, groups=None,
                               start: PhasedBackhaulSolution | None = None,
                               **phased) -> PhasedBackhaulSolution:
    """Solve the phased model with backhaul of the module docstring.

    Parameters
    ----------
    coverage, cost, weight, period_budgets, budget, must_cover, counted, fixed, groups
        As in :func:`~siting.optimize.phased.solve_phased_coverage`; budgets cover options
        and backhaul.
    site_of_option, fiber_cost_cny, max_hops, links, satellite_cost_cny, site_needs_backhaul,
    site_in_place
        As in :func:`~siting.optimize.backhaul.solve_with_backhaul`.
    option_traffic_mbps : array, shape (n_options,), optional
        The traffic each option puts on its site's feed [Mbit/s]. Given, link capacity is
        planned: in every period, each hop built by then carries the traffic of the site it
        feeds and of every site that site relays, of the options on air in that period,
        within the link's ``capacity_mbps`` (module docstring). None (default): hops carry
        any traffic.
    terrestrial : bool array, shape (n_demand,), optional
        As in :func:`~siting.optimize.backhaul.solve_with_backhaul`: rows only options at
        sites not fed by satellite cover (module docstring).
    start : PhasedBackhaulSolution, optional
        A plan of an earlier call over the same options and network (a previous stage's),
        the warm start instead of the greedy one
        (:func:`~siting.optimize.feed_greedy.greedy_schedule`).
    **phased
        ``period_quotas``, ``period_weights``, ``max_options``, ``must_cover_by``,
        ``cover_count``, ``time_limit_s``, ``mip_gap``, ``solver``, ``seed`` of
        :func:`~siting.optimize.phased.solve_phased_coverage`.

    Raises
    ------
    InputError, InfeasibleError, SolverError
        As :func:`~siting.optimize.phased.solve_phased_coverage` and
        :func:`~siting.optimize.backhaul.solve_with_backhaul` do.
    """
    options = validate_options(coverage, cost, counted=counted, fixed=fixed, groups=groups)
    sites = checked_sites(site_of_option, options.cost.size, fiber_cost_cny,
                          satellite_cost_cny, site_needs_backhaul, max_hops, site_in_place,
                          option_traffic_mbps)
    arcs = model_arcs(links, sites)
    must, need = as_need(must_cover, options.n_rows, default=False)
    need = must.astype(np.int64) if need is None else need
    limits = validated_periods(period_budgets, phased.get("period_quotas"),
                               phased.get("period_weights"), budget, phased.get("max_options"),
                               phased.get("must_cover_by"))
    check_fixed_feeds(limits.budgets[0], options, sites, arcs, fixed_paid=False,
                      budget_text="the first phase's budget of {budget} CNY, from which they "
                                  "are fed",
                      setting="the first phase's budget_cny in objective.phases")
    check_fixed_feeds(limits.total_budget, options, sites, arcs, fixed_paid=False)
    open_ = options.fixed | take_out_fixed(options).choosable(options, limits.largest_budget())
    terrestrial_rows = (None if terrestrial is None else
                        as_bool(terrestrial, options.n_rows, "terrestrial", default=False))
    scope = feed_scope(options.A, need, open_, options.fixed, sites, arcs, terrestrial_rows)
    cols = scope.cols
    # moving a subtree to a root's link may overload it: no root pruning with capacity
    roots = None if sites.plans_capacity else fiber_roots(sites, cols[options.fixed[cols]])
    feed = feed_columns(sites, arcs, scope.possible, roots=roots)
    scoped = OptionInputs(A=options.A[:, cols], cost=options.cost[cols],
                          counted=options.counted[cols], fixed=options.fixed[cols],
                          groups=options.groups[cols])
    scoped_sites = replace(sites, site_of_option=sites.site_of_option[cols],
                           option_traffic_mbps=None if not sites.plans_capacity
                           else sites.option_traffic_mbps[cols])
    if start is not None and start.phased.side_period.size == feed.size:
        schedule = (start.phased.build_period[cols], start.phased.side_period)
    else:
        schedule = greedy_schedule(scoped, as_float(weight, options.n_rows, "weight"),
                                   scope.required, limits, scoped_sites, arcs, feed, roots,
                                   terrestrial_rows)
    ground = ground_cover(scoped.A, terrestrial_rows, scoped_sites.site_of_option, feed,
                          sites.n_sites)
    if ground is not None:
        scoped, scoped_sites, schedule = _with_ground(scoped, scoped_sites, schedule, ground)
    rows, row_lo, row_hi = _side_rows(feed, arcs, scoped_sites, ground)
    result = solve_phased_coverage(
        scoped.A, scoped.cost, weight, period_budgets=period_budgets, budget=budget,
        must_cover=scope.required, counted=scoped.counted, fixed=scoped.fixed,
        groups=scoped.groups,
        side=SideColumns(cost=feed.cost_cny, rows=rows, row_lo=row_lo, row_hi=row_hi,
                         start=schedule,
                         last=_link_flows(feed, arcs, scoped_sites, scoped.fixed, schedule)),
        **phased)
    return _solution(_options_only(result, cols.size), options, cols, feed, sites, arcs, scope)


def _with_ground(options: OptionInputs, sites: SiteInputs, schedule: tuple | None,
                 ground: GroundCover) -> tuple[OptionInputs, SiteInputs, tuple | None]:
    r"""The :math:`w_o` columns of :mod:`~siting.optimize.ground_cover` as options of the
    phased model after ``options`` (cost 0, in no quota or group, no traffic, at their
    option's site; the entries they take over moved from their options,
    :func:`~siting.optimize.ground_cover.split_cover`), built by the end of a period like
    an option (its rows hold in every period, and a site keeps its feed); the warm start
    ``schedule`` (period per option, per feed column; None: none) with each :math:`w_o`
    built with its option unless the schedule feeds its site by satellite."""
    kept, w = split_cover(options.A, ground.rows, ground.option)
    none = np.zeros(ground.size, bool)
    wide = OptionInputs(A=sp.hstack([kept, w], format="csr"),
                        cost=np.concatenate([options.cost, np.zeros(ground.size)]),
                        counted=np.concatenate([options.counted, none]),
                        fixed=np.concatenate([options.fixed, none]),
                        groups=np.concatenate([options.groups, -np.ones(ground.size, np.int64)]))
    traffic = (None if sites.option_traffic_mbps is None else
               np.concatenate([sites.option_traffic_mbps, np.zeros(ground.size)]))
    wide_sites = replace(sites, option_traffic_mbps=traffic, site_of_option=np.concatenate(
        [sites.site_of_option, sites.site_of_option[ground.option]]))
    if schedule is None:
        return wide, wide_sites, None
    period, side_period = (np.asarray(v) for v in schedule)
    by_satellite = side_period[ground.satellite] >= 0
    # a fixed option is on air from the first period, its schedule's period -1 all the same
    on_air = np.where(options.fixed[ground.option], 0, period[ground.option])
    w_period = np.where(by_satellite, -1, on_air)
    return wide, wide_sites, (np.concatenate([period, w_period]), side_period)


def _side_rows(feed: FeedColumns, arcs: Arcs, sites: SiteInputs,
               ground: GroundCover | None) -> tuple:
    """The feed rows over the options ``sites.site_of_option`` (the :math:`w_o` of
    ``ground`` last among them, where given) and ``feed``, and the rows of the
    :math:`w_o`: (matrix, lower, upper)."""
    rows = feed_rows(feed, arcs, sites.site_of_option, sites.n_sites, optional=sites.in_place)
    if ground is None:
        return rows
    n = sites.site_of_option.size
    w_rows = ground_rows(ground, w_first=n - ground.size, feed_first=n, n_cols=n + feed.size)
    return (sp.vstack([rows[0], w_rows[0]], format="csr"), np.concatenate([rows[1], w_rows[1]]),
            np.concatenate([rows[2], w_rows[2]]))


def _options_only(result: PhasedSolution, n_options: int) -> PhasedSolution:
    """``result`` over its first ``n_options`` options: the :math:`w_o` of
    :func:`_with_ground` left out."""
    selected = result.solution.selected
    return replace(result, build_period=result.build_period[:n_options],
                   solution=replace(result.solution, selected=selected[selected < n_options]))


def _link_flows(feed: FeedColumns, arcs: Arcs, sites: SiteInputs, fixed: np.ndarray,
                schedule: tuple | None) -> LastPeriodColumns | None:
    """The link flows of the last period (:class:`~siting.optimize.feed_model.FlowRows` over
    the options ``sites.site_of_option`` (``fixed``: bool per option) and ``feed``), with
    the flows of the warm start ``schedule`` (period per option, per feed column; -1:
    never); None where link capacity is not planned or no hop can be built."""
    if not sites.plans_capacity or not np.any(feed.kind == MICROWAVE_KIND):
        return None
    flows = flow_rows(feed, arcs, sites.site_of_option, sites.option_traffic_mbps,
                      sites.in_place)
    start = None
    if schedule is not None:
        on_air = np.flatnonzero(fixed | (np.asarray(schedule[0]) >= 0))
        start = flow_values(flows, feed, arcs, np.flatnonzero(np.asarray(schedule[1]) >= 0),
                            sites.site_traffic_mbps(on_air))
    return LastPeriodColumns(upper=flows.upper_mbps, rows=flows.rows, row_lo=flows.lo,
                             row_hi=flows.hi, start=start)


def _solution(result: PhasedSolution, options: OptionInputs, cols: np.ndarray,
              feed: FeedColumns, sites: SiteInputs, arcs: Arcs,
              scope: FeedScope) -> PhasedBackhaulSolution:
    """The phased solution over the scoped options ``cols``, over every option, and the
    feeds of its sites."""
    build_period = np.full(options.cost.size, -1)
    build_period[cols] = result.build_period
    solution = replace(result.solution, selected=cols[result.solution.selected])
    chosen = np.flatnonzero(result.side_period >= 0)
    built = cols[result.build_period >= 0]
    feeds = site_feeds(feed, sites, arcs, chosen, solution, float(options.cost[built].sum()),
                       scope, feed_period=result.side_period[chosen])
    return PhasedBackhaulSolution(
        phased=replace(result, solution=solution, build_period=build_period), feeds=feeds)

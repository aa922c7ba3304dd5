"""The joint model of sites and their backhaul, and the plans that move between its restrictions.

:class:`JointModel` is the coverage model of :mod:`siting.optimize.model` over
``[option columns, feed columns]``: the options the budget and the fixed options' groups
leave open at sites backhaul can feed (:func:`~siting.optimize.feed_model.feed_scope`), then
the feed columns of :mod:`siting.optimize.feed_model`, which cover nothing and count against
nothing but cost, bound to the options by the feed rows. :func:`joint_model` builds it.

The warm start and kernel search solve smaller joint models: :func:`restricted` is the joint
model over some of a model's options (same sites and network), :func:`translate` carries a
plan's columns from one such model to another, and :func:`proposed_relays` names the sites
off air that would relay the cheapest hop chains to a plan's sites
(:func:`~siting.optimize.feed_network.relay_chains`), priced at their cheapest option.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from siting.errors import InfeasibleError
from siting.optimize.core import SolveLog
from siting.optimize.feed_model import (
    FIBER_KIND,
    LEVEL_KIND,
    MICROWAVE_KIND,
    SATELLITE_KIND,
    FeedColumns,
    FeedScope,
    FlowRows,
    feed_columns,
    feed_lookup,
    feed_rows,
    feed_scope,
    flow_rows,
    flow_values,
    with_level_columns,
)
from siting.optimize.feed_network import Arcs, SiteInputs, fiber_roots, relay_chains
from siting.optimize.ground_cover import (
    GroundCover,
    ground_cover,
    ground_covered,
    ground_rows,
    satellite_fed,
    split_cover,
    with_ground_columns,
)
from siting.optimize.inputs import (
    OptionInputs,
    check_count_reachable,
    first_indices,
    take_out_fixed,
)
from siting.optimize.model import (
    BuiltModel,
    Problem,
    build_model,
    covered_by,
    rewarded_rows,
)


def _open_options(p: Problem, options: OptionInputs) -> np.ndarray:
    """Bool per option: fixed, or choosable once the fixed options take their groups and
    budget (:class:`InfeasibleError` when they alone break the budget or share a group)."""
    fixed = take_out_fixed(options)
    ids, counts = np.unique(fixed.groups, return_counts=True)
    if np.any(counts > 1):
        raise InfeasibleError(f"two fixed options share a group (groups "
                              f"{first_indices(ids[counts > 1])})")
    spent = float(p.cost[fixed.index].sum())
    cap = math.inf if p.budget is None else p.budget - spent
    if cap < -1e-9 * max(1.0, spent):
        raise InfeasibleError(f"the fixed options cost {spent:g}, over the budget {p.budget:g}")
    return options.fixed | fixed.choosable(options, cap + 1e-9 * max(1.0, abs(cap)))


def cheapest_feed_cny(sites: SiteInputs, arcs: Arcs) -> np.ndarray:
    """Per site, the least any feed of it costs [CNY]: the cheapest of its fiber route,
    satellite and the hops into it (inf: none; 0 where it needs no feed)."""
    hop_cny = np.full(sites.n_sites, np.inf)
    np.minimum.at(hop_cny, arcs.child, arcs.cost_cny)
    cheapest = np.minimum(np.minimum(sites.fiber_cost_cny, sites.satellite_cost_cny), hop_cny)
    return np.where(sites.needs_backhaul, cheapest, 0.0)


def check_fixed_feeds(budget_cny: float | None, options: OptionInputs, sites: SiteInputs,
                      arcs: Arcs, *, budget_text: str = "the budget of {budget} CNY",
                      setting: str = "objective.budget_cny", fixed_paid: bool = True) -> None:
    """:class:`InfeasibleError` when the fixed options (existing sites) and the feeds of
    their sites, each at its cheapest (:func:`cheapest_feed_cny`, a lower bound of what
    feeding them costs), pass ``budget_cny`` (None: no limit; ``budget_text`` names it in
    the message, ``{budget}`` its amount): what to mark in the inputs, or to raise
    (``setting``). ``fixed_paid``: the budget pays for the fixed options themselves too
    (not in a phased plan, which charges only what is built)."""
    if budget_cny is None:
        return
    feed_cny = cheapest_feed_cny(sites, arcs)[np.unique(sites.site_of_option[options.fixed])]
    feed_cny = feed_cny[np.isfinite(feed_cny)]  # sites nothing feeds: feed_scope says so
    spent = float(options.cost[options.fixed].sum()) if fixed_paid else 0.0
    least = float(feed_cny.sum())
    if spent + least > budget_cny + 1e-9 * max(1.0, budget_cny):
        raise InfeasibleError(
            f"the {int(np.count_nonzero(feed_cny > 0))} existing site(s) without fiber on site "
            f"or backhaul in place must be fed, at least {least:,.0f} CNY (each by its "
            f"cheapest fiber route, microwave hop or satellite), which passes "
            f"{budget_text.format(budget=f'{budget_cny:,.0f}')}{_spent_text(spent)}; mark the "
            f"existing sites that have fiber (has_fiber) or a feed already built "
            f"(backhaul_in_place) in inputs.candidates, or raise {setting}")


def _spent_text(spent_cny: float) -> str:
    """What the existing sites themselves cost, in words ("" for nothing)."""
    return f" (with {spent_cny:,.0f} CNY for the existing sites themselves)" if spent_cny > 0 else ""


def _scope(p: Problem, options: OptionInputs, sites: SiteInputs, arcs: Arcs,
           terrestrial: np.ndarray | None) -> FeedScope:
    """The options and rows of the model: :func:`~siting.optimize.feed_model.feed_scope` of
    the options the budget and the fixed options' groups leave open (the fixed sites' feeds
    checked against the budget first), ``terrestrial`` as it takes them."""
    open_options = _open_options(p, options)
    check_fixed_feeds(p.budget, options, sites, arcs)
    return feed_scope(p.A, p.required, open_options, options.fixed, sites, arcs, terrestrial)


@dataclass(frozen=True)
class JointModel:
    """The coverage model over ``[option columns, feed columns]`` (feed columns cover
    nothing and count against nothing but cost) and the feed rows that bind them; with
    terrestrial rows (``terrestrial``, bool per row), the :math:`w_o` columns of
    :mod:`siting.optimize.ground_cover` (``ground``) after them in its MIP."""

    p: Problem
    scope: FeedScope
    feed: FeedColumns
    rows: tuple  # (matrix over the columns of p, lower, upper)
    fixed_cols: np.ndarray  # columns of fixed options (lower bound 1)
    sites: SiteInputs
    arcs: Arcs
    flows: FlowRows | None = None  # link capacity planned: the link flows
    terrestrial: np.ndarray | None = None  # bool per row: counts no satellite-fed site
    ground: GroundCover | None = None  # their w columns, where satellite can feed a site

    @property
    def n_options(self) -> int:
        return self.scope.cols.size

    def built(self, stage: str, target: float | None = None) -> BuiltModel:
        """:func:`~siting.optimize.model.build_model` of ``stage`` (over the :math:`w_o`
        columns too, with their rows, where the model has them) with the feed rows added and
        the fixed options fixed to 1; the link flows, where capacity is planned, after its
        variables. Its warm starts set the :math:`w_o` and the flows
        (:class:`JointBuiltModel`)."""
        p = self.p if self.ground is None else with_ground_columns(self.p, self.ground)
        built = build_model(p, stage, target)
        A, lo, hi = self._side_rows()
        ny = built.mip.n_vars - A.shape[1]
        blocks = [built.mip.A, sp.hstack([A, sp.csr_matrix((A.shape[0], ny))])]
        row_lo, row_hi = [built.mip.row_lo, lo], [built.mip.row_hi, hi]
        col_lo = built.mip.col_lo.copy()
        col_lo[self.fixed_cols] = 1.0
        integer = built.mip.integer.copy()
        integer[self.p.n_cols:p.n_cols] = False  # w: module docstring of ground_cover
        mip = replace(built.mip, integer=integer)
        if self.flows is not None:
            n_f, n_x = self.flows.size, self.p.n_cols
            blocks = [sp.hstack([b, sp.csr_matrix((b.shape[0], n_f))]) for b in blocks]
            flow = self.flows.rows
            blocks.append(sp.hstack([flow[:, :n_x], sp.csr_matrix((flow.shape[0],
                                                                    p.n_cols - n_x + ny)),
                                     flow[:, n_x:]]))
            row_lo.append(self.flows.lo)
            row_hi.append(self.flows.hi)
            col_lo = np.concatenate([col_lo, np.zeros(n_f)])
            mip = replace(mip, c=np.concatenate([mip.c, np.zeros(n_f)]),
                          col_hi=np.concatenate([mip.col_hi, self.flows.upper_mbps]),
                          integer=np.concatenate([mip.integer, np.zeros(n_f, bool)]))
        full = sp.vstack(blocks, format="csc")
        full.sort_indices()
        mip = replace(mip, A=full, row_lo=np.concatenate(row_lo),
                      row_hi=np.concatenate(row_hi), col_lo=col_lo)
        if self.flows is None and self.ground is None:
            return replace(built, mip=mip)
        return JointBuiltModel(mip=mip, n_x=built.n_x, y_rows=built.y_rows, model=self,
                               cover_problem=p)

    def _side_rows(self) -> tuple:
        """The feed rows, and the rows of the :math:`w_o` columns where the model has them,
        over the columns of ``p`` and the :math:`w_o`: (matrix, lower, upper)."""
        if self.ground is None:
            return self.rows
        A, lo, hi = self.rows
        W, w_lo, w_hi = ground_rows(self.ground, w_first=self.p.n_cols,
                                    feed_first=self.n_options,
                                    n_cols=self.p.n_cols + self.ground.size)
        return (sp.vstack([sp.hstack([A, sp.csr_matrix((A.shape[0], self.ground.size))]), W],
                          format="csr"),
                np.concatenate([lo, w_lo]), np.concatenate([hi, w_hi]))

    def ground_options(self, selected: np.ndarray) -> np.ndarray:
        """The option columns among the joint columns ``selected`` at sites none of them
        feeds by satellite: those that count on the terrestrial rows."""
        options = selected[selected < self.n_options]
        by_satellite = satellite_fed(self.feed, selected[selected >= self.n_options]
                                     - self.n_options, self.sites.n_sites)
        return options[~by_satellite[self.sites.site_of_option[self.scope.cols[options]]]]

    def with_ground(self, selected: np.ndarray) -> np.ndarray:
        """The joint columns ``selected`` and the :math:`w_o` columns they set to 1 (those of
        :meth:`ground_options`), as columns of the MIP."""
        if self.ground is None:
            return selected
        used = np.flatnonzero(np.isin(self.ground.option, self.ground_options(selected)))
        return np.concatenate([selected, self.p.n_cols + used])

    def ground_reach(self) -> sp.csr_matrix:
        """The option columns' coverage, on the terrestrial rows by the options at sites
        fiber or a microwave chain can feed only (the model's own where it has no
        terrestrial rows)."""
        A = self.p.A[:, :self.n_options]
        if self.scope.ground_feedable is None:
            return A
        site = self.sites.site_of_option[self.scope.cols]
        return split_cover(A, self.terrestrial,
                           np.flatnonzero(~self.scope.ground_feedable[site]))[0]

    def covered(self, selected: np.ndarray) -> np.ndarray:
        """Bool per row: covered by the joint columns ``selected``, a terrestrial row only
        by the :meth:`ground_options`."""
        return ground_covered(self.p.A, self.terrestrial, selected,
                              self.ground_options(selected))

    def flow_values(self, selected: np.ndarray) -> np.ndarray:
        """The link flows [Mbit/s] of a plan, its joint columns ``selected``."""
        options = selected[selected < self.n_options]
        own = self.sites.site_traffic_mbps(self.scope.cols[options])
        return flow_values(self.flows, self.feed, self.arcs,
                           selected[selected >= self.n_options] - self.n_options, own)

    def value(self, selected: np.ndarray) -> float:
        """First-stage objective of a selection of columns: cost with backhaul
        (``min_cost``) or covered weight (``max_coverage``)."""
        if self.p.objective == "min_cost":
            return float(self.p.cost[selected].sum())
        return float(self.p.weight[self.covered(selected)].sum())

    def rewarded_value(self, selected: np.ndarray) -> float:
        """Weight of the rewarded rows (the ``y`` of the model) a selection covers."""
        rows = rewarded_rows(self.p)
        return float(self.p.weight[rows][self.covered(selected)[rows]].sum())

    def trivial_bound(self) -> float:
        """The first-stage objective's bound known without a solve: no cost (``min_cost``),
        every row's weight (``max_coverage``)."""
        return 0.0 if self.p.objective == "min_cost" else float(self.p.weight.sum())

    def objective_bound(self, mip_bound: float) -> float:
        """The first-stage objective's bound from the bound of its MIP (``max_coverage``: the
        must-cover rows' weight added, as the MIP rewards only the other rows); the
        :meth:`trivial_bound` when ``mip_bound`` is not finite."""
        p = self.p
        must_weight = float(p.weight[p.must].sum()) if p.objective == "max_coverage" else 0.0
        bound = mip_bound + must_weight
        return bound if math.isfinite(bound) else self.trivial_bound()


@dataclass(frozen=True)
class JointBuiltModel(BuiltModel):
    """A joint model's MIP with :math:`w_o` columns (after its joint columns) or link flows
    (its last columns): a warm start sets the :math:`w_o` of its options at sites not fed
    by satellite (:meth:`JointModel.with_ground`) and the flows its hops carry
    (:meth:`JointModel.flow_values`). ``cover_problem``: the coverage model it was built
    from, over the joint columns and the :math:`w_o`."""

    model: JointModel | None = None
    cover_problem: Problem | None = None

    def start_vector(self, p: Problem, selected: np.ndarray) -> np.ndarray:
        v = super().start_vector(self.cover_problem, self.model.with_ground(selected))
        if self.model.flows is not None:
            v[v.size - self.model.flows.size:] = self.model.flow_values(selected)
        return v


@dataclass(frozen=True)
class Stage:
    """A first-stage plan of a joint model (its joint columns), its status and bound (as in
    :func:`~siting.optimize.solve_coverage_model`)."""

    selected: np.ndarray
    status: str
    bound: float


def joint_model(p: Problem, options: OptionInputs, sites: SiteInputs, arcs: Arcs,
                record: SolveLog, terrestrial: np.ndarray | None = None) -> JointModel:
    """Scope, feed columns and rows of the joint model of ``p``; ``terrestrial`` (bool per
    row, None: none): the rows only options at sites not fed by satellite cover
    (:mod:`siting.optimize.ground_cover`)."""
    scope = _scope(p, options, sites, arcs, terrestrial)
    cols, m = scope.cols, p.n_rows
    feed = feed_columns(sites, arcs, scope.possible,
                        roots=fiber_roots(sites, cols[options.fixed[cols]]))
    hops = feed.kind == MICROWAVE_KIND
    flows = (flow_rows(feed, arcs, sites.site_of_option[cols],
                       sites.option_traffic_mbps[cols], sites.in_place)
             if sites.plans_capacity and hops.any() else None)
    A = sp.hstack([p.A[:, cols], sp.csr_matrix((m, feed.size))], format="csr")
    A.sort_indices()
    need = scope.required
    joint = Problem(A=A, cost=np.concatenate([p.cost[cols], feed.cost_cny]), weight=p.weight,
                    must=need > 0, objective=p.objective, budget=p.budget,
                    max_options=p.max_options,
                    counted=np.concatenate([p.counted[cols], np.zeros(feed.size, bool)]),
                    groups=np.concatenate([p.groups[cols], -np.ones(feed.size, np.int64)]),
                    need=need if np.any(need > 1) else None, cover_count=p.cover_count)
    check_count_reachable(p.cover_count, covered_by(p.A, cols))
    rows = feed_rows(feed, arcs, sites.site_of_option[cols], sites.n_sites,
                     optional=sites.in_place)
    record.note(f"backhaul: {feed.size} feed variables "
                f"({int(np.sum(feed.kind == FIBER_KIND))} fiber, "
                f"{int(np.sum(feed.kind == MICROWAVE_KIND))} microwave, "
                f"{int(np.sum(feed.kind == SATELLITE_KIND))} "
                f"satellite, {int(np.sum(feed.kind == LEVEL_KIND))} level) and "
                f"{rows[0].shape[0]} rows for {int(scope.possible.sum())} sites")
    if scope.blocked.any():
        record.note(f"{int(scope.blocked.sum())} must-cover row(s) lack options at sites "
                    f"backhaul can feed: rows {first_indices(np.flatnonzero(scope.blocked))}")
    if flows is not None:
        record.note(f"link capacity: {flows.size} link flows and {flows.rows.shape[0]} rows")
    ground = ground_cover(p.A[:, cols], terrestrial, sites.site_of_option[cols], feed,
                          sites.n_sites)
    _note_ground(scope, ground, record)
    return JointModel(p=joint, scope=scope, feed=feed, rows=rows,
                      fixed_cols=np.flatnonzero(options.fixed[cols]), sites=sites, arcs=arcs,
                      flows=flows, terrestrial=terrestrial, ground=ground)


def _note_ground(scope: FeedScope, ground: GroundCover | None, record: SolveLog) -> None:
    """Notes on the terrestrial rows: those only a satellite-fed site could serve, and the
    :math:`w_o` columns of the options whose site satellite can feed."""
    if scope.satellite_only is not None and scope.satellite_only.any():
        rows = np.flatnonzero(scope.satellite_only)
        record.note(f"{rows.size} mandatory row(s) reach only sites no fiber or microwave "
                    f"chain can feed: rows {first_indices(rows)}")
    if ground is not None:
        record.note(f"terrestrial backhaul for mandatory rows: {ground.size} cover variables "
                    f"for options at sites satellite can feed")


def restricted(model: JointModel, columns: np.ndarray, p: Problem,
               fixed: np.ndarray, terrestrial: np.ndarray | None = None) -> JointModel:
    """The joint model of ``p``, whose options are the option columns ``columns`` of
    ``model`` (``fixed``: bool per column), over the same sites and arcs; ``terrestrial``
    as :func:`joint_model` takes it (the rows of ``p``)."""
    options = OptionInputs(A=p.A, cost=p.cost, counted=p.counted, fixed=fixed, groups=p.groups)
    sites = model.sites
    traffic = (None if sites.option_traffic_mbps is None
               else sites.option_traffic_mbps[model.scope.cols][columns])
    return joint_model(p, options, replace(sites, option_traffic_mbps=traffic,
                                           site_of_option=sites.site_of_option[
                                               model.scope.cols][columns]),
                       model.arcs, SolveLog(), terrestrial)


def translate(source: JointModel, source_ids: np.ndarray, chosen: np.ndarray,
              target: JointModel, target_ids: np.ndarray) -> np.ndarray | None:
    """The joint columns of ``target`` for the joint columns ``chosen`` of ``source``:
    option columns by their ids (``*_ids``: an id per option column, ascending in the
    target), feed columns by site, kind, level and cost; None when ``target`` lacks one."""
    options = source_ids[chosen[chosen < source.n_options]]
    at = np.minimum(np.searchsorted(target_ids, options), max(target_ids.size - 1, 0))
    own = chosen[chosen >= source.n_options] - source.n_options
    feeds = _feed_index(source.feed, own[source.feed.kind[own] != LEVEL_KIND], target.feed)
    if np.any(target_ids[at] != options) or np.any(feeds < 0):
        return None
    return np.concatenate([at, target.n_options + with_level_columns(target.feed, feeds)])


def _cheapest_column_per_site(site: np.ndarray, cost: np.ndarray, columns: np.ndarray,
                              n_sites: int) -> tuple[np.ndarray, np.ndarray]:
    """(cost [CNY] per site, inf where none; the cheapest of ``columns`` at each site that
    has one, as an array of column indices)."""
    cheapest = np.full(n_sites, np.inf)
    np.minimum.at(cheapest, site[columns], cost[columns])
    order = columns[np.lexsort((cost[columns], site[columns]))]
    lead = order[np.flatnonzero(np.diff(site[order], prepend=-1) != 0)]
    return cheapest, lead


def _feed_index(source: FeedColumns, chosen: np.ndarray, target: FeedColumns) -> np.ndarray:
    """The columns of ``target`` with the site, kind, level and cost of the columns
    ``chosen`` of ``source``; -1 where ``target`` has none."""
    return feed_lookup(target, source.site[chosen], source.kind[chosen],
                       source.level[chosen], source.cost_cny[chosen], source.parent[chosen])


def sites_on_air(model: JointModel, plan: np.ndarray | None) -> np.ndarray:
    """Bool per site: one of the options among the joint columns ``plan`` is at it."""
    on_air = np.zeros(model.sites.n_sites, bool)
    if plan is not None:
        options = plan[plan < model.n_options]
        on_air[model.sites.site_of_option[model.scope.cols[options]]] = True
    return on_air


def proposed_relays(model: JointModel, on_air: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bool per site: the relays :func:`~siting.optimize.feed_network.relay_chains`
    proposes to feed the sites ``on_air``, each priced at its cheapest option that is not
    fixed; those option columns, one per site that has one)."""
    sites = model.sites
    site = sites.site_of_option[model.scope.cols]
    free = np.setdiff1d(np.arange(model.n_options), model.fixed_cols)
    relay_cost, cheapest = _cheapest_column_per_site(site, model.p.cost, free, sites.n_sites)
    relays = relay_chains(sites, model.arcs, model.scope.possible, on_air,
                          np.where(on_air, 0.0, relay_cost))
    return relays, cheapest

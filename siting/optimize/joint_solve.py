"""How a joint model of sites and backhaul is solved: warm start, first stage, tie-break.

The first stage (:func:`first_stage`) optimises the primary objective, warm-started by the
better of the plans it is given that meet every row; the tie-break (:func:`tie_break_stage`) is
the lexicographic second stage of :func:`~siting.optimize.solve_coverage_model`
(``min_cost``: most weight at no more cost; ``max_coverage``: least cost, backhaul
included, at no less weight). Whatever stops a MIP before it has a plan of its own, the warm
start is the plan, reported as not proven.

The warm start (:func:`start_plan`) is the plan of the same constraints as if backhaul were
free, fed as cheaply as a small joint model over its sites and the relays of their cheapest
hop chains (:func:`~siting.optimize.joint_model.proposed_relays`) allows: without relays
the sites' own fiber routes would often cost many times their masts.

A first stage whose MIP is too large for HiGHS in the time goes to kernel search
(:mod:`siting.optimize.kernel_search`), which solves its restricted MIPs by
:func:`first_stage` without kernel search.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from siting.errors import InfeasibleError, SolverError, TimeLimitError
from siting.optimize.core import (
    SolveLog,
    run_mip,
    solve_coverage_model,
    time_left_s,
    warm_start_kept,
)
from siting.optimize.joint_model import (
    JointModel,
    Stage,
    cheapest_feed_cny,
    proposed_relays,
    restricted,
    sites_on_air,
    translate,
)
from siting.optimize.kernel_search import kernel_search_fits, kernel_stage
from siting.optimize.model import BuiltModel, Problem, rewarded_rows, selected_columns
from siting.optimize.solution import relative_gap


def _sites_first(model: JointModel, *, solver, deadline, mip_gap, seed) -> np.ndarray | None:
    """Option columns of the least-cost plan meeting the model's must-cover rows, count row,
    budget, quota and groups as if backhaul were free
    (:func:`~siting.optimize.solve_coverage_model`), the terrestrial rows by options at
    sites fiber or a microwave chain can feed (:meth:`JointModel.ground_reach`); None when
    there is none."""
    n, p = model.n_options, model.p
    fixed = np.zeros(n, bool)
    fixed[model.fixed_cols] = True
    try:
        plan = solve_coverage_model(
            model.ground_reach(), p.cost[:n], objective="min_cost", must_cover=p.required,
            cover_count=p.cover_count, budget=p.budget, max_options=p.max_options,
            counted=p.counted[:n], fixed=fixed,
            groups=p.groups[:n], tie_break=False, time_limit_s=time_left_s(deadline),
            mip_gap=mip_gap, solver=solver, seed=seed)
    except (InfeasibleError, SolverError):
        return None
    return plan.selected


def start_plan(model: JointModel, *, solver, deadline, mip_gap, seed,
               record: SolveLog) -> np.ndarray | None:
    """Joint columns of a plan to warm-start the MIP with, or None when this finds none.

    The options of :func:`_sites_first` (must-cover rows at least cost, backhaul ignored),
    fed as cheaply as a small joint model allows: its options are those, fixed, and the
    cheapest option at each relay :func:`~siting.optimize.feed_network.relay_chains`
    proposes; it keeps the budget, quota and groups, so its plan is one of the full model's.
    Without relays the sites' own fiber routes would often cost many times their masts.
    """
    if model.n_options == 0:
        return None
    selected = _sites_first(model, solver=solver, deadline=deadline, mip_gap=mip_gap,
                            seed=seed)
    if selected is None:
        return None
    site = model.sites.site_of_option[model.scope.cols]
    relays, cheapest = proposed_relays(model, sites_on_air(model, selected))
    columns = np.union1d(selected, cheapest[relays[site[cheapest]]])
    settings = {"solver": solver, "deadline": deadline, "mip_gap": mip_gap, "seed": seed}
    try:
        small, stage = _fed(model, columns, selected, model.p.budget, settings)
    except (InfeasibleError, SolverError) as exc:
        record.note(f"no warm start: the sites-first plan cannot be fed ({exc})")
        record.no_plan_hint = _over_budget_hint(model, columns, selected, settings)
        return None
    record.note(f"warm start: the sites-first plan, {int(relays.sum())} relays proposed, "
                f"total {small.value(stage.selected):,.0f}")
    # the small model's columns are the full one's: the translation cannot fail
    return translate(small, columns[small.scope.cols], stage.selected, model,
                     np.arange(model.n_options))


def _fed(model: JointModel, columns: np.ndarray, selected: np.ndarray, budget: float | None,
         settings: dict) -> tuple[JointModel, Stage]:
    """The least-cost feeds of the options ``selected`` (option columns, fixed) within
    ``budget``: the joint model over ``columns`` (those and optional relay options), covering
    only the must-cover terrestrial rows (:mod:`siting.optimize.ground_cover`: their sites
    fed by fiber or microwave), and its first stage."""
    p = model.p
    rows = np.flatnonzero(p.must & (False if model.terrestrial is None else model.terrestrial))
    kernel = Problem(A=p.A[rows][:, columns], cost=p.cost[columns],
                     weight=np.zeros(rows.size), must=np.ones(rows.size, bool),
                     objective="min_cost", budget=budget, max_options=p.max_options,
                     counted=p.counted[columns], groups=p.groups[columns],
                     need=None if p.need is None else p.need[rows])
    small = restricted(model, columns, kernel, np.isin(columns, selected),
                       np.ones(rows.size, bool) if rows.size else None)
    return small, first_stage(small, record=SolveLog(), **settings)


def _over_budget_hint(model: JointModel, columns: np.ndarray, selected: np.ndarray,
                      settings: dict) -> str:
    """Why the sites-first plan (option columns ``selected``) found no feeds within the
    budget, for a message when no plan is found: what feeding it costs at least (within the
    MIP gap) through the relay options of ``columns``, and, when its sites are only the
    fixed (existing) ones, what to mark in the inputs; "" without a budget, or unless that
    cost is proven within the gap and over the budget."""
    budget = model.p.budget
    if budget is None:
        return ""
    try:
        small, stage = _fed(model, columns, selected, None, settings)
    except (InfeasibleError, SolverError):
        return ""
    cost = small.value(stage.selected)
    if stage.status not in ("optimal", "feasible") or cost <= budget:
        return ""
    if not np.all(np.isin(selected, model.fixed_cols)):
        return (f"the least-cost plan of the must-cover points costs {cost:,.0f} CNY once fed "
                f"through the relays tried, over the budget of {budget:,.0f} CNY")
    paying = cheapest_feed_cny(model.sites, model.arcs) > 0
    existing = int(np.sum(sites_on_air(model, selected) & paying))
    return (f"feeding the {existing} existing site(s) without fiber or backhaul in place "
            f"costs {cost:,.0f} CNY through the relays tried, over the budget of "
            f"{budget:,.0f} CNY: mark the existing sites that have fiber (has_fiber) or a feed "
            f"already built (backhaul_in_place) in inputs.candidates, or raise "
            f"objective.budget_cny")


def _best_start(built: BuiltModel, model: JointModel, starts: list[np.ndarray],
                record: SolveLog) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The best of the warm starts ``starts`` (joint columns) that meet every row of the
    MIP: (its columns, its variable vector), or (None, None); a note for each dropped."""
    best, best_vector = None, None
    sign = 1.0 if built.mip.sense == "min" else -1.0
    for columns in (s for s in starts if s is not None):
        vector = built.start_vector(model.p, columns)
        if not built.mip.is_feasible(vector):
            record.note("warm start dropped: it breaks a row of the backhaul MIP")
        elif best is None or sign * (built.mip.c @ vector) < sign * (built.mip.c @ best_vector):
            best, best_vector = columns, vector
    return best, best_vector


def first_stage(model: JointModel, *, solver, deadline, mip_gap, seed, record: SolveLog,
                starts: tuple = (), kernel: bool = True,
                heuristic_effort: float | None = None) -> Stage:
    """The primary objective's MIP, warm-started by the best of ``starts`` (joint columns
    of plans); bound and status as in :func:`~siting.optimize.solve_coverage_model`. A model
    without columns (no option at a site that can be fed) has one plan, the empty one.
    With ``kernel``, a model :func:`~siting.optimize.kernel_search.kernel_search_fits` goes
    to :func:`~siting.optimize.kernel_search.kernel_stage`, whose restricted MIPs this solves
    without ``kernel``; ``heuristic_effort`` as :func:`~siting.optimize.core.run_mip` takes
    it."""
    if model.p.n_cols == 0:
        nothing = np.zeros(0, np.int64)
        return Stage(nothing, "optimal", model.value(nothing))
    built = model.built("primary")
    record.note(f"backhaul MIP: {built.mip.n_vars} variables, {built.mip.A.shape[0]} rows, "
                f"{built.mip.A.nnz} nonzeros")
    start, vector = _best_start(built, model, list(starts), record)
    if kernel and kernel_search_fits(built.mip, solver, flows=model.flows is not None):
        return kernel_stage(model, built, start, solve_mip=partial(first_stage, kernel=False),
                            solver=solver, deadline=deadline, mip_gap=mip_gap, seed=seed,
                            record=record)
    res = run_mip(built.mip, solver=solver, time_limit_s=time_left_s(deadline),
                  mip_gap=mip_gap, seed=seed, start=vector, record=record,
                  heuristic_effort=heuristic_effort)
    if res.status == "infeasible":
        raise InfeasibleError(record.hinted(
            "no plan covers every must-cover row and feeds every site on air within the "
            "budget, the option quota and the groups"))
    res = warm_start_kept(res, built.mip, vector, record)
    if res.x is None:
        raise TimeLimitError(record.hinted(
            "the time limit was reached before any plan with backhaul was found"))
    p = model.p
    selected = selected_columns(res.x, p.n_cols)  # w columns aside
    value = model.value(selected)
    bound = model.objective_bound(res.bound)
    if res.status == "optimal" and mip_gap == 0:
        bound = (min if p.objective == "min_cost" else max)(bound, value)
    status = res.status
    if status == "optimal" and mip_gap > 0 and relative_gap(value, bound) > 1e-9:
        status = "feasible"
    return Stage(selected, status, bound)


def tie_break_stage(model: JointModel, first: Stage, *, solver, deadline, node_limit: int,
                    mip_gap, seed, record: SolveLog) -> np.ndarray:
    """The lexicographic second stage (``min_cost``: most weight at no more cost;
    ``max_coverage``: least cost, backhaul included, at no less weight), its MIP searching at
    most ``node_limit`` nodes; the first plan when it finds nothing better."""
    p = model.p
    if p.n_cols == 0 or (p.objective == "min_cost" and rewarded_rows(p).size == 0):
        return first.selected
    if p.objective == "max_coverage" and not np.any(p.cost[first.selected] > 0):
        return first.selected
    value = model.value(first.selected)
    if p.objective == "min_cost":
        target = value + 1e-7 * max(1.0, value)
    else:
        rewarded = model.rewarded_value(first.selected)
        target = rewarded - 1e-7 * max(1.0, rewarded)
    built = model.built("tie_break", target)
    res = run_mip(built.mip, solver=solver, time_limit_s=time_left_s(deadline),
                  mip_gap=mip_gap, seed=seed, start=built.start_vector(p, first.selected),
                  record=record, node_limit=node_limit)
    if res.x is None:
        record.note(f"tie-break stage found no plan ({res.status}); first-stage plan kept")
        return first.selected
    selected = selected_columns(res.x, p.n_cols)  # w columns aside
    tol = 1e-7 * max(1.0, abs(value))
    worse = (model.value(selected) < value - tol if p.objective == "max_coverage"
             else model.value(selected) > value + tol)
    return first.selected if worse else selected

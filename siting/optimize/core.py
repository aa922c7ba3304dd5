r"""The coverage model solver: validation, reductions, decomposition, MIP, tie-break.

:func:`solve_coverage_model` solves the general model stated in :mod:`siting.optimize.model`
(LSCP, Toregas et al. 1971; MCLP, Church & ReVelle 1974, with budget, quota, groups, fixed
options and must-cover rows). Steps:

1. validate inputs (:mod:`~siting.optimize.inputs`, shared with the phased model:
   :class:`~siting.errors.InputError`), report must-cover rows no option covers
   (:class:`~siting.errors.InfeasibleError`);
2. take fixed options out (their rows are covered, their cost and quota use are spent, other
   options of their group are excluded; :func:`~siting.optimize.inputs.take_out_fixed`);
3. when nothing couples the options (no binding budget or quota), split the row-column
   graph into connected components and solve them separately (small ones bundled together);
4. per part: pure set covering (``min_cost`` without budget, quota or groups) is presolved
   (:mod:`~siting.optimize.presolve`); a large part then gets the Lagrangian heuristic and
   bound (Beasley 1990; Caprara, Fischetti & Toth 1999, :mod:`~siting.optimize.heuristics`),
   which may prove its cover optimal outright, and reduced-cost fixing; the MIP solves what
   is left, warm-started by the best cover known (Chvátal's greedy for small parts). A part
   too large for the MIP gets the Lagrangian heuristic only. Everything else goes to the MIP
   with a greedy warm start when the greedy plan is feasible. With HiGHS, a MIP that is a
   small binary covering model (at most a quota row besides the covering rows) is solved by
   the LP-based branch and bound of :mod:`~siting.optimize.branch_bound` on HiGHS's simplex,
   HiGHS's MIP solver taking over if that search hits its node limit;
5. optional lexicographic tie-break stage (see :mod:`~siting.optimize.model`);
6. merge: objective and bound summed, status the worst, notes joined.

:func:`run_mip` and :class:`SolveLog` (solver choice with fallback, and the notes a solve
reports) serve the phased and backhaul models too, as does :func:`validated_problem`
(step 1).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from siting.errors import InfeasibleError, InputError, SolverError, TimeLimitError
from siting.optimize import (
    branch_bound,
    heuristics,
    highs_backend,
    highs_process,
    pulp_backend,
)
from siting.optimize.inputs import (
    SOLVERS,
    FixedOptions,
    OptionInputs,
    as_budget,
    as_cover_count,
    as_float,
    as_need,
    as_quota,
    check_count_reachable,
    check_solver_settings,
    first_indices,
    take_out_fixed,
    validate_options,
)
from siting.optimize.model import (
    BuiltModel,
    CoverCount,
    MipModel,
    MipResult,
    Problem,
    build_model,
    coverage_count,
    covered_by,
    rewarded_rows,
    selected_columns,
)
from siting.optimize.presolve import (
    dominated_columns,
    merge_identical_rows,
    presolve_set_cover,
    reduced_cost_fixing,
)
from siting.optimize.solution import Solution, relative_gap, worst_status

log = logging.getLogger(__name__)

OBJECTIVES = ("min_cost", "max_coverage")
_BACKENDS = {"highs": highs_backend, "cbc": pulp_backend}

#: Components are bundled into one MIP until a bundle holds this many nonzeros.
BUNDLE_NNZ = 20_000
#: A pure set covering part with more nonzeros than this skips the MIP (Lagrangian only).
MAX_MIP_NNZ = 20_000_000
#: Set covering parts with this many nonzeros or more (after presolve) get the Lagrangian
#: heuristic and bound, and reduced-cost fixing, before the MIP; smaller ones go straight to
#: the MIP, which solves them in less time than loading the heuristic's numba kernels takes.
LAGRANGIAN_MIN_NNZ = 20_000
#: The Lagrangian heuristic gets at most this share of the time left [-] ...
LAGRANGIAN_SHARE = 0.25
#: ... and at most this long [s].
LAGRANGIAN_MAX_S = 30.0
#: The branch and bound may spend this share of a MIP's time limit before HiGHS's MIP solver
#: takes over [-]: where its nodes are slow the cuts of HiGHS are left time to tighten the
#: bound.
BRANCH_BOUND_SHARE = 0.25
#: The tie-break stage may search this many times the first stage's branch-and-bound nodes
#: [-] ...
TIE_BREAK_NODE_FACTOR = 1.0
#: ... but at least this many [-] (within the call's time limit). Nodes, not seconds: a limit
#: on the search's work stops it at the same plan however loaded the machine is, where one on
#: its time made the backhaul demo's plan 44.90 M CNY on an idle machine and 45.00 M on a
#: busy one (both within its 0.1 % gap).
TIE_BREAK_MIN_NODES = 1_000


# ---------------------------------------------------------------------------------------
# solver dispatch


@dataclass
class SolveLog:
    """What a solve reports besides its plan: notes for :attr:`Solution.notes` (each once,
    in order), the solvers that ran, what to tell the user should no plan be found
    (``no_plan_hint``: why a warm start failed, what to change; "" when nothing is known) and
    the nodes its MIPs searched (:func:`run_mip` adds them up; what sizes a tie-break stage,
    :func:`tie_break_node_limit`)."""

    notes: list[str] = field(default_factory=list)
    solvers: list[str] = field(default_factory=list)
    no_plan_hint: str = ""
    nodes: int = 0  # branch-and-bound nodes of the MIPs solved so far (their work, not time)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
            log.info(text)

    def hinted(self, message: str) -> str:
        """``message`` (no plan found) with the ``no_plan_hint`` after it, if any."""
        return f"{message}; {self.no_plan_hint}" if self.no_plan_hint else message


def _search_limits(time_limit_s: float | None,
                   node_limit: int | None) -> tuple[float | None, int]:
    """Time [s] and node limits of the branch and bound of a MIP given ``time_limit_s`` and
    ``node_limit``: ``BRANCH_BOUND_SHARE`` of the time and ``branch_bound.NODE_LIMIT``
    nodes; under a node limit, all of the time and at most that many nodes, so that when
    HiGHS takes over does not depend on the machine's load either."""
    if node_limit is None:
        return (None if time_limit_s is None else BRANCH_BOUND_SHARE * time_limit_s,
                branch_bound.NODE_LIMIT)
    return time_limit_s, min(branch_bound.NODE_LIMIT, node_limit)


def _solve_highs(mip: MipModel, *, time_limit_s, mip_gap, seed, start, record: SolveLog,
                 heuristic_effort: float | None = None,
                 node_limit: int | None = None) -> MipResult:
    """HiGHS: a small binary covering model by the LP-based branch and bound of
    :mod:`~siting.optimize.branch_bound` on HiGHS's simplex, HiGHS's MIP solver taking over
    from its best plan with the nodes left if the search hits its limits
    (:func:`_search_limits`); any other model by HiGHS's MIP solver (``heuristic_effort``
    and ``node_limit`` as :func:`~siting.optimize.highs_backend.solve_mip` takes them), a
    long solve of a model that is not small in a process of its own, stopped if HiGHS
    overruns its time limit (:mod:`~siting.optimize.highs_process`). The result's ``nodes``
    are both searches'."""
    search = None
    if branch_bound.suits(mip):
        t0 = time.perf_counter()
        search_s, search_nodes = _search_limits(time_limit_s, node_limit)
        search = branch_bound.branch_and_bound(mip, start=start, mip_gap=mip_gap,
                                               node_limit=search_nodes, time_limit_s=search_s)
        record.solvers.append("branch_and_bound")
        if search.completed or (node_limit is not None and search.nodes >= node_limit):
            return search.result
        record.note(f"branch and bound stopped ({search.ended.replace('_', ' ')}, "
                    f"{search.nodes} nodes): HiGHS's MIP solver takes over")
        if search.result.x is not None:
            start = search.result.x
        if time_limit_s is not None:
            time_limit_s = max(time_limit_s - (time.perf_counter() - t0), 0.01)
        if node_limit is not None:
            node_limit -= search.nodes
    backend = highs_process if highs_process.applies(mip, time_limit_s) else highs_backend
    res = backend.solve_mip(mip, time_limit_s=time_limit_s, mip_gap=mip_gap, seed=seed,
                            start=start, heuristic_effort=heuristic_effort,
                            node_limit=node_limit)
    record.solvers.append("highs")
    return res if search is None else _after_search(res, search, mip)


def _after_search(res: MipResult, search: branch_bound.SearchResult,
                  mip: MipModel) -> MipResult:
    """HiGHS's result ``res`` after the branch and bound ``search`` of the same model: the
    nodes of both, and the tighter of their bounds."""
    res = replace(res, nodes=res.nodes + search.nodes)
    if res.status != "infeasible":
        bounds = [b for b in (res.bound, search.result.bound) if math.isfinite(b)]
        if bounds:
            res = replace(res, bound=(max if mip.sense == "min" else min)(bounds))
    return res


def _solve_cbc(mip: MipModel, *, time_limit_s, mip_gap, seed, start, record: SolveLog,
               heuristic_effort: float | None = None,
               node_limit: int | None = None) -> MipResult:
    """CBC through PuLP (``heuristic_effort`` is HiGHS's: CBC ignores it; ``node_limit`` is
    CBC's ``maxNodes``)."""
    res = pulp_backend.solve_mip(mip, time_limit_s=time_limit_s, mip_gap=mip_gap, seed=seed,
                                 start=start, node_limit=node_limit)
    record.solvers.append("cbc")
    return res


_SOLVE = {"highs": _solve_highs, "cbc": _solve_cbc}


def run_mip(mip: MipModel, *, solver: str, time_limit_s, mip_gap, seed, start,
            record: SolveLog, heuristic_effort: float | None = None,
            node_limit: int | None = None) -> MipResult:
    """Solve ``mip`` with the chosen solver, the other one if it is unavailable or fails
    (noted in ``record``, which adds up the nodes searched); ``start`` is a warm-start vector
    or None; ``heuristic_effort`` as :func:`~siting.optimize.highs_backend.solve_mip` takes
    it (HiGHS only); ``node_limit``: the most branch-and-bound nodes to search (None: no
    limit but the time). A model without variables is settled here (HiGHS calls it empty
    and fails): optimal when every row admits 0, else infeasible."""
    if mip.n_vars == 0:
        feasible = bool(np.all(mip.row_lo <= 0.0) and np.all(mip.row_hi >= 0.0))
        return MipResult(x=np.zeros(0) if feasible else None,
                         status="optimal" if feasible else "infeasible",
                         objective=mip.offset, bound=mip.offset)
    order = [solver] + [s for s in SOLVERS if s != solver]
    errors = []
    for name in order:
        if not _BACKENDS[name].available():
            errors.append(f"{name} unavailable")
            record.note(f"solver {name} is unavailable; trying the next one")
            continue
        try:
            res = _SOLVE[name](mip, time_limit_s=time_limit_s, mip_gap=mip_gap, seed=seed,
                               start=start, record=record, heuristic_effort=heuristic_effort,
                               node_limit=node_limit)
        except Exception as exc:  # noqa: BLE001 - a crashing solver falls back to the other
            errors.append(f"{name}: {exc}")
            record.note(f"solver {name} failed ({exc}); trying the next one")
            log.warning("solver %s failed: %s", name, exc)
            continue
        record.nodes += res.nodes
        return res
    raise SolverError("no MIP solver could solve the model: " + "; ".join(errors))


def warm_start_kept(res: MipResult, mip: MipModel, start: np.ndarray | None,
                    record: SolveLog) -> MipResult:
    """``res``, or, when the MIP stopped without a plan of its own (a time limit before
    its first incumbent) and ``start`` is a plan of ``mip``, the warm start as the plan,
    status ``time_limit``, with its objective value (noted in ``record``)."""
    if res.x is not None or start is None or res.status == "infeasible" \
            or not mip.is_feasible(start):
        return res
    record.note("the MIP stopped without a plan of its own: the warm start is the plan")
    return replace(res, x=start, status="time_limit",
                   objective=float(mip.c @ start) + mip.offset)


def tie_break_node_limit(first_stage_nodes: int) -> int:
    """The most nodes a tie-break stage may search after a first stage that searched
    ``first_stage_nodes``: ``TIE_BREAK_NODE_FACTOR`` times as many, at least
    ``TIE_BREAK_MIN_NODES``. The first stage's nodes, not its time: both are the same on any
    machine, however loaded (one thread, same seed)."""
    return max(math.ceil(TIE_BREAK_NODE_FACTOR * first_stage_nodes), TIE_BREAK_MIN_NODES)


def time_left_s(deadline: float | None) -> float | None:
    """Seconds left until ``deadline`` (a :func:`time.perf_counter` time), at least 0;
    None without a deadline."""
    if deadline is None:
        return None
    return max(deadline - time.perf_counter(), 0.0)


# ---------------------------------------------------------------------------------------
# parts


@dataclass
class _PartResult:
    selected: np.ndarray  # local column indices
    status: str
    bound: float  # bound on the part's first-stage objective (part-local terms only)


def _part_value(p: Problem, selected: np.ndarray) -> float:
    """First-stage objective of a part (rewarded + must weight for max_coverage)."""
    if p.objective == "min_cost":
        return float(p.cost[selected].sum())
    return float(p.weight[covered_by(p.A, selected)].sum())


def _lagrangian_budget(deadline: float | None) -> float:
    """Time for the Lagrangian heuristic: a share of what is left, at most ``LAGRANGIAN_MAX_S``."""
    left = time_left_s(deadline)
    return LAGRANGIAN_MAX_S if left is None else min(LAGRANGIAN_MAX_S, LAGRANGIAN_SHARE * left)


def _solve_set_cover_part(p: Problem, *, solver, deadline, mip_gap, seed, presolve,
                          record: SolveLog) -> _PartResult:
    """Pure set covering on the must rows of ``p``: presolve, greedy, Lagrangian heuristic
    and bound (parts of ``LAGRANGIAN_MIN_NNZ`` nonzeros or more), reduced-cost fixing, MIP."""
    must_rows = np.flatnonzero(p.must)
    A = p.A[must_rows]
    if presolve:
        pre = presolve_set_cover(A, p.cost)
        st = pre.stats
        record.note(f"presolve: rows {st['rows_in']}->{st['rows_out']}, "
                    f"columns {st['cols_in']}->{st['cols_out']}, {st['forced']} forced")
        Ar, cr = pre.A, pre.cost
    else:
        pre = None
        Ar, cr = sp.csr_matrix(A), p.cost

    def restore(sel):
        return pre.restore(sel) if pre is not None else np.asarray(sel, np.int64)

    forced_cost = float(p.cost[pre.forced].sum()) if pre is not None else 0.0
    if Ar.shape[0] == 0:
        return _PartResult(restore(np.zeros(0, np.int64)), "optimal", forced_cost)
    greedy = heuristics.greedy_set_cover(Ar, cr)
    if greedy is None:  # cannot happen: every row has a column
        raise InfeasibleError("a must-cover row has no covering option")
    integral = bool(np.all(cr == np.round(cr)))
    lag, too_large = None, Ar.nnz > MAX_MIP_NNZ
    if too_large:
        record.note(f"set cover part with {Ar.nnz} nonzeros is too large for the MIP: "
                    "Lagrangian heuristic only")
    if Ar.nnz >= LAGRANGIAN_MIN_NNZ or too_large:
        lag = heuristics.lagrangian_set_cover(Ar, cr, incumbent=greedy,
                                              upper_bound=float(cr[greedy].sum()),
                                              time_limit_s=_lagrangian_budget(deadline),
                                              seed=seed)
        if lag.upper_bound <= lag.lower_bound + 1e-9 * max(1.0, abs(lag.upper_bound)):
            record.note("the Lagrangian bound proves the heuristic cover optimal")
            record.solvers.append("lagrangian")
            return _PartResult(restore(lag.selected), "optimal", lag.lower_bound + forced_cost)
    if too_large:
        record.solvers.append("lagrangian")
        return _PartResult(restore(lag.selected), "feasible", lag.lower_bound + forced_cost)
    sel, status, bound = _set_cover_mip(Ar, cr, greedy, lag, integral, solver=solver,
                                        deadline=deadline, mip_gap=mip_gap, seed=seed,
                                        record=record)
    return _PartResult(restore(sel), status, bound + forced_cost)


def _set_cover_mip(A: sp.csr_matrix, cost: np.ndarray, greedy: np.ndarray, lag, integral: bool,
                   *, solver, deadline, mip_gap, seed, record: SolveLog):
    """MIP on what reduced-cost fixing leaves (everything without a Lagrangian result),
    warm-started by the best cover known. Returns (selection, status, bound)."""
    n = A.shape[1]
    if lag is None:
        inc, ub, lb = greedy, float(cost[greedy].sum()), 0.0
        zero = one = np.zeros(n, bool)
    else:
        inc, ub, lb = lag.selected, lag.upper_bound, lag.lower_bound
        red = heuristics.reduced_costs(A, cost, lag.multipliers)
        zero, one = reduced_cost_fixing(red, lag.raw_bound, ub, inc, integral)
        record.note(f"reduced-cost fixing: {int(zero.sum())} columns fixed to 0, "
                    f"{int(one.sum())} to 1")
    rows = np.flatnonzero(~covered_by(A, np.flatnonzero(one)))
    free = np.flatnonzero(~zero & ~one)
    R = A[rows][:, free].tocsr()
    used = np.diff(R.tocsc().indptr) > 0
    free, R = free[used], R[:, used].tocsr()
    if rows.size == 0:  # the fixed columns cover everything: no cheaper cover exists
        return inc, "optimal", ub
    built = build_model(Problem(A=R, cost=cost[free], weight=np.zeros(rows.size),
                                must=np.ones(rows.size, bool), objective="min_cost",
                                budget=None, max_options=None,
                                counted=np.zeros(free.size, bool),
                                groups=-np.ones(free.size, np.int64)))
    mip = replace(built.mip, offset=float(cost[one].sum()))
    start = np.isin(free, inc).astype(float)
    res = run_mip(mip, solver=solver, time_limit_s=time_left_s(deadline), mip_gap=mip_gap,
                   seed=seed, start=start, record=record)
    if res.status == "infeasible":
        raise InfeasibleError("set cover infeasible")  # pragma: no cover - holds the incumbent
    if res.x is not None and float(res.objective) <= ub + 1e-9 * max(1.0, abs(ub)):
        sel = np.union1d(free[selected_columns(res.x, free.size)], np.flatnonzero(one))
        ub = float(cost[sel].sum())
    else:
        sel = inc
    # every cover cheaper than the incumbent is in the reduced MIP: min(its bound, ub) bounds
    bound = res.bound if math.isfinite(res.bound) else 0.0  # costs >= 0: 0 is a bound
    if integral:
        bound = math.ceil(bound - 1e-6)
    bound = max(min(bound, ub), lb)
    tol = 1e-9 * max(1.0, abs(ub))
    if res.status == "optimal":
        closed = mip_gap == 0 or relative_gap(ub, bound) <= 1e-9
        return sel, "optimal" if closed else "feasible", bound
    return sel, "optimal" if ub <= bound + tol else "time_limit", bound


def _greedy_plan(p: Problem) -> np.ndarray | None:
    """The greedy plan of ``p`` (:func:`~siting.optimize.heuristics.greedy_general`), or
    None when it misses a must-cover row or the count row. With a count row the greedy
    maximises coverage, each count row worth more than all weight together (and, for
    ``min_cost``, the others nothing), so that it meets the count where it can."""
    weight, objective = p.weight, p.objective
    if p.cover_count is not None:
        others = np.zeros_like(weight) if objective == "min_cost" else weight
        weight = np.where(p.cover_count.rows, float(weight.sum()) + 1.0, others)
        objective = "max_coverage"
    greedy = heuristics.greedy_general(p.A, p.cost, weight, p.must, objective=objective,
                                       budget=p.budget, max_options=p.max_options,
                                       counted=p.counted, groups=p.groups, need=p.need)
    if greedy is None or (p.cover_count is not None
                          and not p.cover_count.met_by(covered_by(p.A, greedy))):
        return None
    return greedy


def _warm_start(p: Problem, built: BuiltModel) -> tuple[np.ndarray | None, str]:
    """The better of the greedy plan (:func:`_greedy_plan`) and the caller's (``p.start``)
    among those that meet every row of ``built``, and its name ("greedy" or "start");
    (None, "") when neither does."""
    best, name = None, ""
    sign = 1.0 if built.mip.sense == "min" else -1.0
    given = None if p.start is None else np.flatnonzero(p.start)
    for label, plan in (("greedy", _greedy_plan(p)), ("start", given)):
        if plan is None or not built.mip.is_feasible(built.start_vector(p, plan)):
            continue
        if best is None or sign * _part_value(p, plan) < sign * _part_value(p, best):
            best, name = plan, label
    return best, name


def _solve_general_part(p: Problem, *, solver, deadline, mip_gap, seed,
                        record: SolveLog) -> tuple[_PartResult, BuiltModel]:
    """The MIP of a part, warm-started by :func:`_warm_start`, which is the plan when the
    MIP stops without one."""
    built = build_model(p, "primary")
    warm, name = _warm_start(p, built)
    start = built.start_vector(p, warm) if warm is not None else None
    res = run_mip(built.mip, solver=solver, time_limit_s=time_left_s(deadline), mip_gap=mip_gap,
                   seed=seed, start=start, record=record)
    if res.status == "infeasible":
        raise InfeasibleError(
            "no plan covers every must-cover row within the budget, the option quota and the "
            "one-option-per-group rule (given the fixed options)")
    must_weight = float(p.weight[p.must].sum()) if p.objective == "max_coverage" else 0.0
    if not math.isfinite(res.bound):  # stopped before any dual bound: use a trivial one
        trivial = float(p.weight[~p.must].sum()) if p.objective == "max_coverage" else 0.0
        res = MipResult(x=res.x, status=res.status, objective=res.objective, bound=trivial)
    if res.x is None:
        if warm is None:
            raise TimeLimitError("the time limit was reached before any feasible plan was found")
        record.note(f"MIP found no plan within the time limit: {name} plan returned")
        record.solvers.append(name)
        bound = res.bound + must_weight
        return _PartResult(warm, "time_limit", bound), built
    sel = selected_columns(res.x, p.n_cols)
    value = _part_value(p, sel)
    bound = res.bound + must_weight
    if p.objective == "min_cost":
        bound = min(bound, value) if res.status == "optimal" and mip_gap == 0 else bound
    else:
        bound = max(bound, value) if res.status == "optimal" and mip_gap == 0 else bound
    status = res.status
    if status == "optimal" and mip_gap > 0 and relative_gap(value, bound) > 1e-9:
        status = "feasible"
    return _PartResult(sel, status, bound), built


def _tie_break(p: Problem, first: _PartResult, *, solver, deadline, node_limit: int, mip_gap,
               seed, record: SolveLog) -> np.ndarray:
    """Second lexicographic stage, its MIP searching at most ``node_limit`` nodes; returns
    the (possibly) better selection."""
    if rewarded_rows(p).size == 0 and p.objective == "min_cost":
        return first.selected
    if p.objective == "max_coverage" and not np.any(p.cost[first.selected] > 0):
        return first.selected
    if deadline is not None and time_left_s(deadline) <= 0:
        record.note("tie-break stage skipped: no time left")
        return first.selected
    value = _part_value(p, first.selected)
    tol = 1e-7 * max(1.0, abs(value))
    if p.objective == "max_coverage":
        rewarded = value - float(p.weight[p.must].sum())
        target = rewarded - tol
    else:
        target = value + tol
    built = build_model(p, "tie_break", target=target)
    start = built.start_vector(p, first.selected)
    res = run_mip(built.mip, solver=solver, time_limit_s=time_left_s(deadline), mip_gap=mip_gap,
                   seed=seed, start=start, record=record, node_limit=node_limit)
    if res.x is None:
        record.note(f"tie-break stage found no plan ({res.status}); first-stage plan kept")
        return first.selected
    if res.status != "optimal":
        record.note(f"tie-break stage not proven optimal ({res.status})")
    sel = selected_columns(res.x, p.n_cols)
    # guard against numerical drift: keep the first-stage plan unless the new one is no worse
    new_value = _part_value(p, sel)
    if p.objective == "max_coverage" and new_value < value - tol:
        return first.selected
    if p.objective == "min_cost" and (new_value > value + tol
                                      or np.any(coverage_count(p.A, sel) < p.required)):
        return first.selected
    return sel


def _merge_identical_rows(p: Problem, record: SolveLog) -> Problem:
    """One row, with the summed weight, for rewarded rows covered by the same options: they
    are covered together or not at all, so values and bounds are unchanged (exact)."""
    in_count = np.zeros(p.n_rows, bool) if p.cover_count is None else p.cover_count.rows
    rewarded = np.flatnonzero(~p.must & ~in_count)  # a count row counts on its own
    if rewarded.size < 2:
        return p
    first, class_weight = merge_identical_rows(p.A[rewarded], p.weight[rewarded])
    if first.size == rewarded.size:
        return p
    merged = rewarded.size - first.size
    record.note(f"{merged} demand row(s) merged into rows with the same options")
    weight = p.weight.copy()
    weight[rewarded[first]] = class_weight
    keep = np.union1d(np.flatnonzero(p.must | in_count), rewarded[first])
    return replace(p, weight=weight).subproblem(keep, np.arange(p.n_cols))


def _reduce_general(p: Problem, presolve: bool, record: SolveLog) -> tuple[Problem, np.ndarray]:
    """Drop rows that matter to no objective, merge identical rewarded rows and drop
    columns dominated by another column."""
    in_count = np.zeros(p.n_rows, bool) if p.cover_count is None else p.cover_count.rows
    rows = np.flatnonzero(p.must | (p.weight > 0) | in_count)
    sub = p.subproblem(rows, np.arange(p.n_cols)) if rows.size < p.n_rows else p
    if presolve:
        sub = _merge_identical_rows(sub, record)
    cols = np.flatnonzero(np.diff(sub.A.tocsc().indptr) > 0)
    if presolve and cols.size > 1:
        A = sub.A[:, cols]
        g = sub.groups[cols]
        _, inv, cnt = np.unique(g, return_inverse=True, return_counts=True)
        g = np.where(cnt[inv] > 1, g, -1)  # a group of one constrains nothing
        eligible = None
        if sub.need is not None:  # a row needing k options may need a dominated one too
            eligible = np.asarray(A[sub.need > 1].sum(axis=0)).ravel() == 0
        if sub.start is not None:  # the warm start keeps its options
            eligible = ~sub.start[cols] & (True if eligible is None else eligible)
        dom = dominated_columns(A, sub.cost[cols], eligible=eligible, groups=g,
                                counted=sub.counted[cols] if sub.max_options is not None else None)
        if dom is not None and dom.any():
            record.note(f"{int(dom.sum())} dominated options removed")
            cols = cols[~dom]
    if cols.size < sub.n_cols:
        sub = sub.subproblem(np.arange(sub.n_rows), cols)
    return sub, cols


def _solve_part(p: Problem, *, solver, deadline, mip_gap, seed, tie_break, presolve,
                record: SolveLog) -> _PartResult:
    """Solve one independent part (both stages); selection in ``p``'s column indices."""
    red, cols = _reduce_general(p, presolve, record)
    res = _solve_reduced_part(red, solver=solver, deadline=deadline, mip_gap=mip_gap, seed=seed,
                              tie_break=tie_break, presolve=presolve, record=record)
    return _PartResult(cols[res.selected], res.status, res.bound)


def _solve_reduced_part(p: Problem, *, solver, deadline, mip_gap, seed, tie_break, presolve,
                        record: SolveLog) -> _PartResult:
    pure = (p.objective == "min_cost" and p.budget is None and p.max_options is None
            and not p.has_groups() and p.need is None and p.cover_count is None)
    nodes_before = record.nodes
    if pure:
        first = _solve_set_cover_part(p, solver=solver, deadline=deadline, mip_gap=mip_gap,
                                      seed=seed, presolve=presolve, record=record)
    else:
        first, _ = _solve_general_part(p, solver=solver, deadline=deadline, mip_gap=mip_gap,
                                       seed=seed, record=record)
    if tie_break:
        # a secondary goal must not cost more than the primary one did: the tie-break
        # keeps its best plan found when its node limit (or the call's time limit) stops it
        sel = _tie_break(p, first, solver=solver, deadline=deadline,
                         node_limit=tie_break_node_limit(record.nodes - nodes_before),
                         mip_gap=mip_gap, seed=seed, record=record)
        first = _PartResult(sel, first.status, first.bound)
    return first


# ---------------------------------------------------------------------------------------
# decomposition


def components(A: sp.csr_matrix, groups: np.ndarray | None = None) -> tuple[int, np.ndarray, np.ndarray]:
    """Connected components of the bipartite row-column graph (plus group links).

    Returns ``(k, row_label, col_label)``; rows and columns that share a label must be solved
    together, different labels are independent.
    """
    m, n = A.shape
    coo = A.tocoo()
    src = [coo.row]
    dst = [m + coo.col]
    extra = 0
    if groups is not None:
        member = np.flatnonzero(groups >= 0)
        if member.size:
            _, gid = np.unique(groups[member], return_inverse=True)
            extra = int(gid.max()) + 1
            src.append(m + member)
            dst.append(m + n + gid)
    src, dst = np.concatenate(src), np.concatenate(dst)
    size = m + n + extra
    G = sp.csr_matrix((np.ones(src.size, np.int8), (src, dst)), shape=(size, size))
    k, labels = connected_components(G, directed=False)
    return k, labels[:m], labels[m:m + n]


def _parts(p: Problem, bundle_nnz: int) -> list[tuple[np.ndarray, np.ndarray]]:
    k, rl, cl = components(p.A, p.groups if p.has_groups() else None)
    if k <= 1:
        return [(np.arange(p.n_rows), np.arange(p.n_cols))]
    row_order = np.argsort(rl, kind="stable")
    col_order = np.argsort(cl, kind="stable")
    r_bounds = np.searchsorted(rl[row_order], np.arange(k + 1))
    c_bounds = np.searchsorted(cl[col_order], np.arange(k + 1))
    nnz_row = np.diff(p.A.indptr)
    comp_nnz = np.bincount(rl, weights=nnz_row, minlength=k)
    parts, cur_r, cur_c, cur_nnz = [], [], [], 0.0
    for c in np.argsort(comp_nnz, kind="stable"):
        rows = row_order[r_bounds[c]:r_bounds[c + 1]]
        cols = col_order[c_bounds[c]:c_bounds[c + 1]]
        if rows.size == 0:
            continue  # columns covering nothing: never needed
        cur_r.append(rows)
        cur_c.append(cols)
        cur_nnz += comp_nnz[c]
        if cur_nnz >= bundle_nnz:
            parts.append((np.sort(np.concatenate(cur_r)), np.sort(np.concatenate(cur_c))))
            cur_r, cur_c, cur_nnz = [], [], 0.0
    if cur_r:
        parts.append((np.sort(np.concatenate(cur_r)), np.sort(np.concatenate(cur_c))))
    return parts


# ---------------------------------------------------------------------------------------
# the steps of solve_coverage_model


def validated_problem(coverage, cost, *, objective, weight, must_cover, budget, max_options,
                      counted, fixed, groups, solver, time_limit_s, mip_gap,
                      cover_count: CoverCount | None = None) -> tuple[Problem, OptionInputs]:
    """Step 1 of a solve: the model as a :class:`Problem` (fixed options still in it) and the
    checked option arrays; raises :class:`InputError` for bad shapes or values (solver
    settings included) and :class:`InfeasibleError` for must-cover rows too few options
    cover, or a count more rows than options reach (:func:`_check_coverable`)."""
    if objective not in OBJECTIVES:
        raise InputError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    check_solver_settings(solver, time_limit_s, mip_gap)
    options = validate_options(coverage, cost, counted=counted, fixed=fixed, groups=groups)
    m = options.n_rows
    if weight is None:
        if objective == "max_coverage":
            raise InputError("max_coverage needs a weight per demand row")
        weight = np.zeros(m)
    weight = as_float(weight, m, "weight")
    must, need = as_need(must_cover, m, default=objective == "min_cost")
    p = Problem(A=options.A, cost=options.cost, weight=weight, must=must, objective=objective,
                budget=as_budget(budget), max_options=as_quota(max_options),
                counted=options.counted, groups=options.groups, need=need,
                cover_count=as_cover_count(cover_count, m))
    _check_coverable(p)
    return p, options


def _start_columns(start, n: int) -> np.ndarray | None:
    """``start`` (option indices, or None) as a bool per option; :class:`InputError` for an
    index out of range."""
    if start is None:
        return None
    index = np.asarray(start, dtype=np.int64).ravel()
    if np.any((index < 0) | (index >= n)):
        raise InputError(f"start must hold option indices in [0, {n})")
    mask = np.zeros(n, bool)
    mask[index] = True
    return mask


def _check_coverable(p: Problem) -> None:
    """Raise :class:`InfeasibleError` for must-cover rows that no option covers, or that fewer
    options cover than they need, or a count row asking for more rows than options reach:
    no plan can satisfy them, and the message names them."""
    per_row = np.diff(p.A.indptr)
    check_count_reachable(p.cover_count, per_row > 0)
    dead = np.flatnonzero(p.must & (per_row == 0))
    if dead.size:
        raise InfeasibleError(f"{dead.size} must-cover row(s) are covered by no option: rows "
                              f"{first_indices(dead)}")
    if p.need is not None and np.any(per_row < p.need):
        short = np.flatnonzero(per_row < p.need)
        raise InfeasibleError(f"{short.size} row(s) need more options than cover them: rows "
                              f"{first_indices(short)}")


def _limits_left(p: Problem, fixed: FixedOptions) -> tuple[float | None, int | None]:
    """Budget and quota left for the options to choose once the fixed ones are paid for;
    :class:`InfeasibleError` when two fixed options share a group or they alone exceed the
    budget or the quota."""
    ids, counts = np.unique(fixed.groups, return_counts=True)
    if np.any(counts > 1):
        raise InfeasibleError(f"two fixed options share a group (groups "
                              f"{first_indices(ids[counts > 1])})")
    spent = float(p.cost[fixed.index].sum())
    budget_left = None if p.budget is None else p.budget - spent
    if budget_left is not None and budget_left < -1e-9 * max(1.0, p.budget):
        raise InfeasibleError(f"the fixed options cost {spent:g}, over the budget {p.budget:g}")
    used = int(p.counted[fixed.index].sum())
    quota_left = None if p.max_options is None else p.max_options - used
    if quota_left is not None and quota_left < 0:
        raise InfeasibleError(f"{used} fixed options already exceed max_options={p.max_options}")
    return (None if budget_left is None else max(budget_left, 0.0)), quota_left


def _open_problem(p: Problem, options: OptionInputs,
                  fixed: FixedOptions) -> tuple[Problem, np.ndarray]:
    """What is left to decide once the fixed options are in the plan: the rows they leave
    open (or short of backup) x the options still choosable within the budget left, without
    rows and options that cover nothing and without non-binding limits. Returns the
    subproblem and the index in ``p`` of each of its options."""
    budget_left, quota_left = _limits_left(p, fixed)
    need, must, open_rows, weight = p.need, p.must, ~fixed.covered, p.weight
    if need is not None:  # a row needing k options still needs k - (fixed ones covering it)
        need = fixed.need_left(need)
        must = need > 0
        open_rows |= must
        weight = np.where(fixed.covered, 0.0, p.weight)  # weight already earned
    cap = math.inf if budget_left is None else budget_left + 1e-9 * max(1.0, budget_left)
    rows = np.flatnonzero(open_rows)
    cols = np.flatnonzero(fixed.choosable(options, cap))
    sub = replace(p, weight=weight, must=must, budget=budget_left, max_options=quota_left,
                  need=need, cover_count=fixed.count_left(p.cover_count)).subproblem(rows, cols)
    per_row = np.diff(sub.A.indptr)
    check_count_reachable(sub.cover_count, per_row > 0)
    lost = np.flatnonzero(sub.must & (per_row < sub.required))
    if lost.size:
        raise InfeasibleError(
            f"{lost.size} must-cover row(s) can only be covered by options excluded by fixed "
            f"options' groups or the budget: rows {first_indices(rows[lost])}")
    keep_c = np.flatnonzero(np.diff(sub.A.tocsc().indptr) > 0)
    sub = sub.subproblem(np.flatnonzero(per_row > 0), keep_c)
    return _without_slack_limits(sub), cols[keep_c]


def _without_slack_limits(p: Problem) -> Problem:
    """``p`` without a budget or quota that every selection meets: they constrain nothing,
    and without them independent parts can be solved separately."""
    if p.budget is not None and float(p.cost.sum()) <= p.budget:
        p = replace(p, budget=None)
    if p.max_options is not None and int(p.counted.sum()) <= p.max_options:
        p = replace(p, max_options=None)
    return p


def _independent_parts(p: Problem, decompose: bool,
                       record: SolveLog) -> list[tuple[np.ndarray, np.ndarray]]:
    """(rows, columns) of each part to solve on its own: the bundled components of ``p``
    when ``decompose`` and no budget, quota or count row couples them, else all of ``p``."""
    if decompose and p.budget is None and p.max_options is None and p.cover_count is None \
            and p.n_rows:
        parts = _parts(p, BUNDLE_NNZ)
    else:
        parts = [(np.arange(p.n_rows), np.arange(p.n_cols))]
    if len(parts) > 1:
        record.note(f"{len(parts)} independent parts solved separately")
    return parts


def _solve_parts(p: Problem, parts, *, solver, deadline, mip_gap, seed, tie_break, presolve,
                 record: SolveLog) -> _PartResult:
    """Solve each part; their selections together (``p``'s column indices), the worst
    status and the sum of the bounds."""
    chosen, statuses, bound = [np.zeros(0, np.int64)], [], 0.0
    for prows, pcols in parts:
        if prows.size == 0:
            continue
        part = p.subproblem(prows, pcols) if len(parts) > 1 else p
        res = _solve_part(part, solver=solver, deadline=deadline, mip_gap=mip_gap, seed=seed,
                          tie_break=tie_break, presolve=presolve, record=record)
        chosen.append(pcols[res.selected])
        statuses.append(res.status)
        bound += res.bound
    return _PartResult(np.concatenate(chosen), worst_status(statuses), bound)


def _merged_solution(p: Problem, fixed: FixedOptions, selected: np.ndarray, found: _PartResult,
                     *, solvers: list[str], notes: list[str], solve_time_s: float) -> Solution:
    """The whole plan's :class:`Solution`: objective of ``selected`` (fixed options included),
    the parts' bound plus what the fixed options contribute, and the parts' worst status."""
    if p.objective == "min_cost":
        value = float(p.cost[selected].sum())
        bound = min(float(p.cost[fixed.index].sum()) + found.bound, value)
    else:
        value = float(p.weight[covered_by(p.A, selected)].sum())
        bound = max(float(p.weight[fixed.covered].sum()) + found.bound, value)
    if found.status == "optimal" and abs(bound - value) <= 1e-6 * max(1.0, abs(value)):
        bound = value
    return Solution(selected=selected, objective=value, bound=bound,
                    gap=relative_gap(value, bound), status=found.status, solver="+".join(solvers),
                    solve_time_s=solve_time_s, notes=tuple(notes))


# ---------------------------------------------------------------------------------------
# public entry point


def solve_coverage_model(coverage, cost, *, objective: str = "min_cost", weight=None,
                         must_cover=None, cover_count: CoverCount | None = None,
                         budget: float | None = None,
                         max_options: int | None = None, counted=None, fixed=None, groups=None,
                         tie_break: bool = True, time_limit_s: float | None = None,
                         mip_gap: float = 0.0, solver: str = "highs", seed: int = 0,
                         decompose: bool = True, presolve: bool = True,
                         start=None) -> Solution:
    r"""Solve the general coverage model (LSCP / MCLP with the planner's side constraints).

    Parameters
    ----------
    coverage : scipy.sparse matrix or array, shape (n_demand, n_options)
        Nonzero where the option covers the demand row (values are ignored).
    cost : array, shape (n_options,)
        Cost of each option [any currency], finite, >= 0.
    objective : {"min_cost", "max_coverage"}
        ``min_cost``: cover the must-cover rows at least cost. ``max_coverage``: maximise the
        covered weight (must-cover rows included) within the budget / quota.
    weight : array, shape (n_demand,), optional
        Weight of each row [e.g. people], >= 0. Required for ``max_coverage``; for
        ``min_cost`` it only matters to the tie-break.
    must_cover : bool or int array, shape (n_demand,), optional
        Rows that must be covered. Default: all rows for ``min_cost``, none for
        ``max_coverage``. Integers ask for k-coverage: row i must be covered by at least
        ``must_cover[i]`` distinct options (0: need not be covered).
    cover_count : CoverCount, optional
        At least ``cover_count.count`` of the rows ``cover_count.rows`` covered, any of them
        (the count row of :mod:`~siting.optimize.model`): a later lexicographic stage keeps
        how many mandatory rows an earlier one covered, not which.
    budget : float, optional
        :math:`\sum_j c_j x_j \le` budget (fixed options' cost included).
    max_options : int, optional
        At most this many ``counted`` options selected (fixed ones included).
    counted : bool array, shape (n_options,), optional
        Options that count against ``max_options`` (default: all).
    fixed : bool array, shape (n_options,), optional
        Options forced into the plan (existing sites).
    groups : int array, shape (n_options,), optional
        Group id per option, -1 for none; at most one option per group.
    tie_break : bool
        Lexicographic second stage: ``max_coverage`` then least cost; ``min_cost`` then most
        weight covered. The reported objective, bound and gap are the first stage's. It is
        solved to the same ``mip_gap``, searches at most ``TIE_BREAK_NODE_FACTOR`` times the
        first stage's branch-and-bound nodes (at least ``TIE_BREAK_MIN_NODES``): a limit on
        its work, not its time, so that the same inputs give the same plan however loaded
        the machine is (``time_limit_s`` still bounds it, as a safety net). It keeps the
        best plan it found when stopped.
    time_limit_s : float, optional
        Wall-time limit for the whole call [s] (a large set covering part spends up to a
        quarter of what is left, at most ``LAGRANGIAN_MAX_S``, in the Lagrangian heuristic).
    mip_gap : float
        Relative optimality gap at which the MIP may stop [-].
    solver : {"highs", "cbc"}
        Preferred MIP solver; if it is unavailable or fails, the other is used and a note
        is recorded in :attr:`Solution.notes`.
    seed : int
        Random seed passed to the solver.
    decompose : bool
        Solve independent components separately (only when no budget / quota couples them).
    presolve : bool
        Apply the set covering reductions of :mod:`siting.optimize.presolve`.
    start : int array, optional
        The options of a plan to warm-start from (an earlier stage's), tried besides the
        greedy plan by the MIP of a part that is not pure set covering, and its plan when
        that MIP stops without one; dropped where it breaks a constraint. Dominated-option
        removal keeps its options.

    Returns
    -------
    Solution

    Raises
    ------
    InputError
        Bad shapes or values.
    InfeasibleError
        A must-cover row no option covers (the message lists the first rows), or no plan
        satisfies the must-cover rows together with budget / quota / groups / fixed options.
    SolverError
        No solver could run, or the time limit passed before any plan was found.
    """
    t0 = time.perf_counter()
    deadline = None if time_limit_s is None else t0 + float(time_limit_s)
    p, options = validated_problem(coverage, cost, objective=objective, weight=weight,
                                   must_cover=must_cover, budget=budget,
                                   max_options=max_options, counted=counted, fixed=fixed,
                                   groups=groups, solver=solver, time_limit_s=time_limit_s,
                                   mip_gap=mip_gap, cover_count=cover_count)
    p = replace(p, start=_start_columns(start, p.n_cols))
    record = SolveLog()
    fixed_options = take_out_fixed(options)
    sub, cols = _open_problem(p, options, fixed_options)
    parts = _independent_parts(sub, decompose, record)
    found = _solve_parts(sub, parts, solver=solver, deadline=deadline, mip_gap=float(mip_gap),
                         seed=seed, tie_break=tie_break, presolve=presolve, record=record)
    selected = np.unique(np.concatenate([fixed_options.index, cols[found.selected]]))
    return _merged_solution(p, fixed_options, selected.astype(np.int64), found,
                            solvers=list(dict.fromkeys(record.solvers)) or [solver],
                            notes=record.notes, solve_time_s=time.perf_counter() - t0)


def solve_set_cover(coverage, cost, *, time_limit_s: float | None = None, mip_gap: float = 0.0,
                    solver: str = "highs") -> Solution:
    r"""Location set covering problem (Toregas et al. 1971): cover every row at least cost.

    .. math::

        \min \sum_j c_j x_j \quad \text{s.t.} \quad \sum_{j \in N_i} x_j \ge 1 \;\forall i,
        \quad x_j \in \{0, 1\}.

    Parameters
    ----------
    coverage : scipy.sparse matrix, (n_demand, n_options); nonzero = option covers demand
    cost : array (n_options,), >= 0
    time_limit_s : float, optional [s]
    mip_gap : float, relative [-]
    solver : {"highs", "cbc"}

    Raises
    ------
    InfeasibleError
        Some row is covered by no option (the message names the first rows).
    """
    return solve_coverage_model(coverage, cost, objective="min_cost", tie_break=False,
                                time_limit_s=time_limit_s, mip_gap=mip_gap, solver=solver)


def solve_max_coverage(coverage, weight, cost, *, budget: float | None = None,
                       max_options: int | None = None, time_limit_s: float | None = None,
                       mip_gap: float = 0.0, solver: str = "highs") -> Solution:
    r"""Maximal covering location problem (Church & ReVelle 1974) with a budget and/or quota.

    .. math::

        \max \sum_i w_i y_i \quad \text{s.t.} \quad y_i \le \sum_{j \in N_i} x_j,\;
        \sum_j c_j x_j \le B,\; \sum_j x_j \le P,\; x_j \in \{0,1\},\; 0 \le y_i \le 1.

    Among plans with the largest covered weight the cheapest is returned (tie-break stage).
    ``objective`` is the covered weight.
    """
    return solve_coverage_model(coverage, cost, objective="max_coverage", weight=weight,
                                budget=budget, max_options=max_options, tie_break=True,
                                time_limit_s=time_limit_s, mip_gap=mip_gap, solver=solver)

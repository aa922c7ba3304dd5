"""Solve a :class:`~siting.optimize.model.MipModel` with HiGHS (via highspy).

The constraint matrix is passed column-wise (CSC arrays) in one ``passModel`` call; no
constraint is built row by row in Python.

References
----------
Huangfu, Q., Hall, J.A.J. (2018). Parallelizing the dual revised simplex method.
Mathematical Programming Computation 10, 119-142. (HiGHS)
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading

import numpy as np

from siting.errors import SolverError
from siting.optimize.model import MipModel, MipResult

log = logging.getLogger(__name__)

NAME = "highs"


_BANNER_DONE = False
_LOCK = threading.Lock()


def _new_highs(highspy):
    """A Highs instance; the first one in a process prints a copyright banner on the C-level
    stdout before options can silence it, so that one is created with fd 1 on /dev/null."""
    global _BANNER_DONE
    with _LOCK:
        if _BANNER_DONE:
            return highspy.Highs()
        try:
            sys.stdout.flush()
            saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        except (OSError, ValueError):  # no usable fd 1 (embedded interpreters)
            _BANNER_DONE = True
            return highspy.Highs()
        try:
            os.dup2(devnull, 1)
            h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
            _BANNER_DONE = True
        return h


def _quiet_highs(highspy):
    """A Highs instance that logs nothing and runs on one thread: one thread keeps plans
    independent of the machine (see :func:`on_own_thread` for why that value cannot clash
    with another HiGHS user's)."""
    h = _new_highs(highspy)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("threads", 1)
    return h


def on_own_thread(fn, /, *args, **kwargs):
    """``fn(*args, **kwargs)`` called on a new thread; its result returned, its exception
    raised here.

    HiGHS keeps one task scheduler per thread, sized by the first ``run()`` on that thread;
    an instance whose ``threads`` option differs from it fails ("HiGHS failed: Not Set").
    So one HiGHS user on a thread fixes the thread count of every later one: PuLP's
    ``HiGHS(msg=False)`` (HiGHS's default count) broke siting's single-threaded solves,
    and siting's broke a later ``HiGHS(threads=2)``. Every siting solve runs HiGHS on
    threads siting starts, whose schedulers no one else touches and which die with them.
    ``Highs.resetThreadScheduler`` would instead pull the scheduler from under the caller's
    other instances, and ``resetGlobalScheduler`` is not thread-safe (HiGHS PR 3141)."""
    box = {}

    def call():
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - raised again on the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=call, name="siting-highs", daemon=True)
    worker.start()
    worker.join()
    if "error" in box:
        raise box.pop("error")
    return box["value"]


def run(h):
    """``h.run()``, once more with ``threads`` 0 (use the scheduler there is) if HiGHS
    refused to start. :func:`on_own_thread` makes that refusal impossible while HiGHS keeps
    a scheduler per thread; this keeps siting solving (rather than falling back to CBC) on
    one that shares a scheduler across threads, or when a caller runs :func:`lp_relaxation`
    on a thread of its own."""
    import highspy
    status = h.run()
    if (status == highspy.HighsStatus.kError
            and h.getModelStatus() == highspy.HighsModelStatus.kNotset):
        log.info("HiGHS refused threads=1 (its scheduler here has another thread count); "
                 "running on that scheduler")
        h.setOptionValue("threads", 0)
        status = h.run()
    return status


def _consistent(model: MipModel, x: np.ndarray, objective: float, tol: float = 1e-6) -> bool:
    """Whether ``x`` is feasible for ``model`` and has objective ``objective``."""
    if not model.is_feasible(x, tol):
        return False
    value = float(model.c @ x + model.offset)
    return abs(value - objective) <= tol * max(1.0, abs(objective))


def _highs_lp(highspy, model: MipModel, *, integrality: bool, minimise_cost=None):
    """``model`` as a HighsLp, the matrix passed column-wise in one piece. ``integrality``
    False gives the LP relaxation; ``minimise_cost`` replaces the objective by
    ``min minimise_cost @ v`` (without the offset)."""
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    n, m = model.n_vars, model.A.shape[0]
    lp.num_col_ = n
    lp.num_row_ = m
    lp.col_lower_ = model.col_lo
    lp.col_upper_ = model.col_hi
    lp.row_lower_ = np.where(np.isfinite(model.row_lo), model.row_lo, -inf)
    lp.row_upper_ = np.where(np.isfinite(model.row_hi), model.row_hi, inf)
    if minimise_cost is None:
        lp.col_cost_ = model.c
        lp.offset_ = float(model.offset)
        lp.sense_ = (highspy.ObjSense.kMaximize if model.sense == "max"
                     else highspy.ObjSense.kMinimize)
    else:
        lp.col_cost_ = np.asarray(minimise_cost, dtype=float)
        lp.sense_ = highspy.ObjSense.kMinimize
    A = model.A
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = m
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(np.float64)
    if integrality:
        kint, kcont = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
        lp.integrality_ = [kint if flag else kcont for flag in model.integer]
    return lp


def lp_relaxation(model: MipModel, minimise_cost: np.ndarray):
    """A quiet, single-threaded Highs instance holding the LP relaxation of ``model`` with the
    objective ``min minimise_cost @ v``, presolve off so that every re-solve after a bound
    change starts from the last basis (the dual simplex's warm start). Solve it with
    :func:`run`, on a thread of :func:`on_own_thread`."""
    import highspy
    h = _quiet_highs(highspy)
    h.setOptionValue("presolve", "off")
    if h.passModel(_highs_lp(highspy, model, integrality=False,
                             minimise_cost=minimise_cost)) == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the LP relaxation")
    return h


def solve_lp(model: MipModel, *, time_limit_s: float | None = None):
    """The LP relaxation of ``model`` solved by HiGHS (presolve on, one thread, on a thread
    of its own): (values of the variables, objective with the offset, reduced costs of the
    variables), or None when HiGHS stops before the optimum."""
    return on_own_thread(_solve_lp, model, time_limit_s=time_limit_s)


def _solve_lp(model: MipModel, *, time_limit_s: float | None):
    import highspy
    h = _quiet_highs(highspy)
    if time_limit_s is not None:
        h.setOptionValue("time_limit", max(float(time_limit_s), 0.01))
    if h.passModel(_highs_lp(highspy, model, integrality=False)) == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the LP relaxation")
    run(h)
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    solution = h.getSolution()
    return (np.asarray(solution.col_value, dtype=float),
            float(h.getInfo().objective_function_value),
            np.asarray(solution.col_dual, dtype=float))


def available() -> bool:
    try:
        import highspy  # noqa: F401
    except ImportError:
        return False
    return True


def solve_mip(model: MipModel, *, time_limit_s: float | None = None, mip_gap: float = 0.0,
              seed: int = 0, start: np.ndarray | None = None,
              heuristic_effort: float | None = None, node_limit: int | None = None) -> MipResult:
    """Solve ``model``; raise :class:`SolverError` if HiGHS fails. HiGHS runs on a thread
    of its own (:func:`on_own_thread`), whatever HiGHS did before on the caller's.
    ``heuristic_effort``: HiGHS's ``mip_heuristic_effort`` (the share of its work spent on
    primal heuristics, [0, 1]; None: HiGHS's default, 0.05). ``node_limit``: HiGHS's
    ``mip_max_nodes`` (None: no limit), a limit on the search's work where the time limit
    is one on its wall time: on one thread HiGHS then stops at the same plan whatever the
    machine's load."""
    return on_own_thread(solve_mip_here, model, time_limit_s=time_limit_s, mip_gap=mip_gap,
                         seed=seed, start=start, heuristic_effort=heuristic_effort,
                         node_limit=node_limit)


def _report_progress(h, on_plan, on_bound) -> None:
    """Subscribe ``on_plan`` (if given) to ``h``'s new plans and ``on_bound`` to its bound
    at every interrupt check (HiGHS's callbacks)."""
    if on_plan is not None:
        h.cbMipImprovingSolution.subscribe(
            lambda event: on_plan(np.array(event.data_out.mip_solution, dtype=float)))
    if on_bound is not None:
        h.cbMipInterrupt.subscribe(lambda event: on_bound(float(event.data_out.mip_dual_bound)))


def _bound_or_trivial(model: MipModel, bound: float) -> float:
    """``bound``, or where it is not finite the trivial one (-inf minimising, inf
    maximising)."""
    if math.isfinite(bound):
        return bound
    return -math.inf if model.sense == "min" else math.inf


def stopped_result(model: MipModel, x: np.ndarray | None, bound: float,
                   nodes: int = 0) -> MipResult:
    """The result of a solve stopped before its proof, after ``nodes`` nodes: its best plan
    ``x`` (None: none), status ``time_limit``, if it meets ``model`` (else no plan), and its
    ``bound``."""
    bound = _bound_or_trivial(model, bound)
    if x is not None:
        if model.is_feasible(x):
            return MipResult(x=x, status="time_limit", objective=float(model.c @ x + model.offset),
                             bound=bound, nodes=nodes)
        log.info("HiGHS incumbent violates the model; reported as no solution")
    return MipResult(x=None, status="no_solution", objective=math.nan, bound=bound, nodes=nodes)


def solve_mip_here(model: MipModel, *, time_limit_s: float | None, mip_gap: float, seed: int,
                   start: np.ndarray | None, heuristic_effort: float | None = None,
                   node_limit: int | None = None, on_plan=None, on_bound=None) -> MipResult:
    """:func:`solve_mip` on the calling thread (a thread HiGHS has not run on with another
    ``threads`` count, see :func:`on_own_thread`). ``on_plan(x)``, if given, is called
    with the variables of each plan HiGHS finds, ``on_bound(bound)`` with HiGHS's bound
    each time HiGHS polls for an interrupt (often: keep it cheap)."""
    try:
        import highspy
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SolverError("highspy is not installed (pip install highspy)") from exc
    h = _quiet_highs(highspy)
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    h.setOptionValue("mip_abs_gap", 1e-6)
    if time_limit_s is not None:
        h.setOptionValue("time_limit", max(float(time_limit_s), 0.01))
    if heuristic_effort is not None:
        h.setOptionValue("mip_heuristic_effort", float(heuristic_effort))
    if node_limit is not None:
        h.setOptionValue("mip_max_nodes", int(node_limit))
    _report_progress(h, on_plan, on_bound)
    lp = _highs_lp(highspy, model, integrality=True)
    status = h.passModel(lp)
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model")
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(start, dtype=float)
        sol.value_valid = True
        h.setSolution(sol)
    run_status = run(h)
    if run_status == highspy.HighsStatus.kError:
        raise SolverError(f"HiGHS failed: {h.modelStatusToString(h.getModelStatus())}")
    ms = h.getModelStatus()
    info = h.getInfo()
    nodes = int(info.mip_node_count)
    has_incumbent = info.primal_solution_status == 2  # kSolutionStatusFeasible
    S = highspy.HighsModelStatus
    bound = _bound_or_trivial(model, float(info.mip_dual_bound))
    if ms == S.kOptimal:
        x = np.asarray(h.getSolution().col_value, dtype=float)
        obj = float(info.objective_function_value)
        if not _consistent(model, x, obj):
            if start is not None:
                # Seen with HiGHS 1.16: when presolve solves the model outright after
                # setSolution, col_value can be the warm start, not the optimum reported.
                log.info("HiGHS returned a solution inconsistent with its objective; "
                         "re-solving without the warm start")
                return solve_mip_here(model, time_limit_s=time_limit_s, mip_gap=mip_gap,
                                      seed=seed, start=None, heuristic_effort=heuristic_effort,
                                      node_limit=node_limit, on_plan=on_plan,
                                      on_bound=on_bound)
            raise SolverError("HiGHS returned a solution inconsistent with its objective")
        return MipResult(x=x, status="optimal", objective=obj, bound=bound, nodes=nodes)
    if ms in (S.kInfeasible, S.kUnboundedOrInfeasible):
        return MipResult(x=None, status="infeasible", objective=math.nan, bound=bound,
                         nodes=nodes)
    if ms in (S.kTimeLimit, S.kIterationLimit, S.kSolutionLimit, S.kInterrupt, S.kHighsInterrupt,
              S.kObjectiveBound, S.kObjectiveTarget, S.kUnknown, S.kMemoryLimit):
        log.info("HiGHS stopped: %s", h.modelStatusToString(ms))
        x = np.asarray(h.getSolution().col_value, dtype=float) if has_incumbent else None
        return stopped_result(model, x, bound, nodes)
    raise SolverError(f"HiGHS ended with status {h.modelStatusToString(ms)}")

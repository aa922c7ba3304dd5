"""siting's HiGHS solves work whatever HiGHS did before in the process (issue 19).

HiGHS sizes a thread's task scheduler at the first ``run()`` on that thread and refuses
instances asking for another thread count. Each scenario runs on a fresh thread (one whose
scheduler nothing has sized yet, like a new notebook kernel's), and the CBC fallback is made
to fail, so a solve that did not use HiGHS fails the test.
"""

from __future__ import annotations

import threading

import highspy
import numpy as np
import pulp
import pytest
import scipy.sparse as sp
from test_optimize import random_instance

from siting.optimize import (
    highs_backend,
    pulp_backend,
    solve_max_coverage,
    solve_set_cover,
)
from siting.optimize.model import MipModel


def _on_fresh_thread(fn):
    """``fn()`` on a new thread (its HiGHS scheduler unset); its result or exception."""
    box = {}

    def call():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - raised again in the test
            box["error"] = exc

    worker = threading.Thread(target=call)
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.fixture(autouse=True)
def _no_cbc(monkeypatch):
    """A fallback to CBC raises instead of solving."""
    def refuse(*args, **kwargs):
        raise AssertionError("siting fell back to CBC")
    monkeypatch.setattr(pulp_backend, "solve_mip", refuse)


def _pulp_highs_solve(**options) -> None:
    """What a notebook comparing with spopt does: a PuLP model solved by PuLP's HiGHS."""
    prob = pulp.LpProblem("pulp_first", pulp.LpMinimize)
    # PuLP >= 3.3 deprecates LpVariable(...) in favour of prob.add_variable
    new_var = prob.add_variable if hasattr(prob, "add_variable") else pulp.LpVariable
    x = new_var("x", 0, 3, cat="Integer")
    y = new_var("y", 0, 3, cat="Integer")
    prob += x + 2 * y
    prob += x + y >= 2.5
    prob.solve(pulp.HiGHS(msg=False, **options))
    assert pulp.LpStatus[prob.status] == "Optimal"
    assert pulp.value(prob.objective) == pytest.approx(3.0)


def _scheduler_refuses_one_thread() -> bool:
    """Whether a threads=1 instance fails on this thread (the fault's precondition)."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.addVar(0.0, 1.0)
    return h.run() == highspy.HighsStatus.kError


def _siting_solves():
    """A set cover (solved by siting's branch and bound on HiGHS's simplex) and a budgeted
    maximal cover (solved by HiGHS's MIP solver), seeded."""
    rng = np.random.default_rng(19)
    A = random_instance(rng, 120, 30, 0.12)
    A = A[np.diff(A.indptr) > 0]
    lscp = solve_set_cover(A, np.ones(A.shape[1]))
    cost = rng.integers(1, 10, A.shape[1]).astype(float)
    weight = rng.integers(1, 50, A.shape[0]).astype(float)
    mclp = solve_max_coverage(A, weight, cost, budget=12.0)
    return lscp, mclp


def _assert_on_highs(sols) -> None:
    lscp, mclp = sols
    assert lscp.solver == "branch_and_bound"
    assert mclp.solver == "highs"
    for sol in sols:
        assert sol.status == "optimal"
        assert not any("failed" in note for note in sol.notes)


def _assert_same_plans(sols, reference) -> None:
    for sol, ref in zip(sols, reference):
        np.testing.assert_array_equal(sol.selected, ref.selected)
        assert sol.objective == ref.objective


@pytest.fixture(scope="module")
def reference():
    """The plans solved on a thread no other HiGHS user has touched."""
    return _on_fresh_thread(_siting_solves)


@pytest.mark.parametrize("options", [{}, {"threads": 2}], ids=["default", "threads2"])
def test_siting_after_pulps_highs(reference, options):
    def scenario():
        _pulp_highs_solve(**options)
        if options:
            assert _scheduler_refuses_one_thread()  # the fault is set up
        return _siting_solves()

    sols = _on_fresh_thread(scenario)
    _assert_on_highs(sols)
    _assert_same_plans(sols, reference)


def test_siting_then_pulp_then_siting(reference):
    def scenario():
        first = _siting_solves()
        _pulp_highs_solve(threads=2)  # siting left this thread's scheduler unsized
        _pulp_highs_solve()
        return first, _siting_solves()

    first, second = _on_fresh_thread(scenario)
    for sols in (first, second):
        _assert_on_highs(sols)
        _assert_same_plans(sols, reference)


def test_run_uses_a_scheduler_of_another_size():
    """On a thread whose scheduler has two threads, :func:`highs_backend.run` solves a
    single-threaded instance anyway (where HiGHS alone refuses it)."""
    model = MipModel(c=np.array([1.0, 1.0]), A=sp.csc_matrix(np.array([[1.0, 1.0]])),
                     row_lo=np.array([1.0]), row_hi=np.array([np.inf]), col_lo=np.zeros(2),
                     col_hi=np.ones(2), integer=np.ones(2, bool), sense="min")

    def scenario():
        _pulp_highs_solve(threads=2)
        assert _scheduler_refuses_one_thread()
        h = highs_backend.lp_relaxation(model, model.c)
        return highs_backend.run(h), h.getModelStatus(), h.getInfo().objective_function_value

    status, model_status, value = _on_fresh_thread(scenario)
    assert status == highspy.HighsStatus.kOk
    assert model_status == highspy.HighsModelStatus.kOptimal
    assert value == pytest.approx(1.0)

"""HiGHS in a child process, stopped when it overruns its time limit."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from siting.errors import SolverError
from siting.optimize import highs_backend, highs_process, pulp_backend, solve_set_cover
from siting.optimize.model import MipModel
from siting.optimize.orlib import generate_beasley_instance


def multi_knapsack(n_items: int, n_rows: int, seed: int) -> MipModel:
    """Most value from ``n_items`` 0/1 items under ``n_rows`` capacity rows: with 300 items
    and 200 rows HiGHS needs minutes to prove its optimum, and has plans within 0.1 s."""
    rng = np.random.default_rng(seed)
    weight = (rng.random((n_rows, n_items)) < 0.05) * rng.integers(1, 50, (n_rows, n_items))
    return MipModel(c=rng.integers(1, 100, n_items).astype(float),
                    A=sp.csc_matrix(weight.astype(float)), row_lo=np.full(n_rows, -np.inf),
                    row_hi=np.full(n_rows, 60.0), col_lo=np.zeros(n_items),
                    col_hi=np.ones(n_items), integer=np.ones(n_items, bool), sense="max",
                    offset=1000.0)


def children_left() -> list[str]:
    """Command lines of this process's children that run the solver's child."""
    left = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes().decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and "highs_process" in cmdline:
            left.append(cmdline)
    return left


def test_a_child_solves_as_highs_does_here():
    mip = multi_knapsack(30, 5, seed=1)
    here = highs_backend.solve_mip(mip, time_limit_s=60)
    child = highs_process.solve_mip(mip, time_limit_s=60)
    assert here.status == child.status == "optimal"
    assert child.objective == here.objective and mip.is_feasible(child.x)
    assert not children_left()


def test_a_child_past_its_time_limit_is_stopped_with_its_last_plan():
    """HiGHS is given 100 s; the child is killed after 8 s (the stand-in for HiGHS
    overrunning its limit; 3 s were too few for a first plan on a loaded 2-core machine): the
    result is the last plan it sent, not proven, with the bound HiGHS had then, and no child
    is left running."""
    mip = multi_knapsack(300, 200, seed=0)
    t0 = time.perf_counter()
    res = highs_process.solve_mip(mip, time_limit_s=100, hard_limit_s=8.0)
    assert time.perf_counter() - t0 < 60
    assert res.status == "time_limit" and mip.is_feasible(res.x)
    assert res.objective == pytest.approx(mip.c @ res.x + mip.offset)
    assert math.isfinite(res.bound) and res.bound >= res.objective
    assert not children_left()


def test_the_childs_log_is_logged_here(caplog):
    """HiGHS's stop on its own time limit, logged in the child, is logged by the parent."""
    caplog.set_level("INFO", logger="siting.optimize.highs_backend")
    # 3 s: time for a first plan even on a loaded machine (1 s was not, under load)
    res = highs_process.solve_mip(multi_knapsack(300, 200, seed=0), time_limit_s=3.0)
    assert res.status == "time_limit"
    assert ("siting.optimize.highs_backend", 20, "HiGHS stopped: Time limit reached") \
        in caplog.record_tuples


def test_a_child_stopped_before_its_first_plan_has_none():
    mip = multi_knapsack(300, 200, seed=0)
    res = highs_process.solve_mip(mip, time_limit_s=100, hard_limit_s=0.01)
    assert res.status == "no_solution" and res.x is None and res.bound == math.inf
    assert not children_left()


def test_highs_failing_in_the_child_is_a_solver_error():
    mip = multi_knapsack(30, 5, seed=1)
    broken = MipModel(c=mip.c[:-1], A=mip.A, row_lo=mip.row_lo, row_hi=mip.row_hi,
                      col_lo=mip.col_lo[:-1], col_hi=mip.col_hi[:-1], integer=mip.integer[:-1],
                      sense="max")
    with pytest.raises(SolverError, match="HiGHS"):
        highs_process.solve_mip(broken, time_limit_s=60)
    assert not children_left()


def test_a_node_limit_stops_highs_in_its_process_and_cbc_at_the_same_plan_each_time():
    # a node limit is the tie-break stage's stopping rule (siting.optimize.core): it must reach
    # HiGHS in the child process and CBC through PuLP (its maxNodes), and stop each at one plan
    mip = multi_knapsack(160, 100, seed=0)
    in_child = highs_process.solve_mip(mip, time_limit_s=60, node_limit=2)
    here = highs_backend.solve_mip(mip, node_limit=2)
    assert in_child.status == here.status == "time_limit" and in_child.nodes == here.nodes == 2
    assert np.array_equal(in_child.x, here.x)
    cbc = [pulp_backend.solve_mip(mip, node_limit=2) for _ in range(2)]
    assert cbc[0].status == "time_limit" and np.array_equal(cbc[0].x, cbc[1].x)


def test_without_a_child_highs_solves_here(monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise PermissionError("no new processes here")

    monkeypatch.setattr(highs_process.subprocess, "Popen", refuse)
    mip = multi_knapsack(30, 5, seed=1)
    res = highs_process.solve_mip(mip, time_limit_s=60)
    assert res.status == "optimal"
    assert res.objective == highs_backend.solve_mip(mip, time_limit_s=60).objective
    assert "no process could be started for it (no new processes here)" in caplog.text


def test_only_long_solves_of_models_that_are_not_small_take_a_child():
    small, large = multi_knapsack(30, 5, seed=1), multi_knapsack(3000, 200, seed=1)
    assert large.A.nnz >= highs_process.MIN_NNZ > small.A.nnz
    assert highs_process.applies(large, highs_process.MIN_TIME_LIMIT_S)
    assert not highs_process.applies(large, highs_process.MIN_TIME_LIMIT_S / 2)
    assert not highs_process.applies(large, None)
    assert not highs_process.applies(small, 600)


def test_the_solver_uses_the_child_for_long_solves(monkeypatch):
    """With the thresholds at 0, every HiGHS MIP of a set cover runs in a child: the same
    optimum as in this process."""
    A, cost = generate_beasley_instance(60, 200, 0.05, seed=4)
    here = solve_set_cover(A, cost, time_limit_s=60)
    calls = []
    solve_in_child = highs_process.solve_mip

    def counted(*args, **kwargs):
        calls.append(1)
        return solve_in_child(*args, **kwargs)

    monkeypatch.setattr(highs_process, "MIN_NNZ", 0)
    monkeypatch.setattr(highs_process, "MIN_TIME_LIMIT_S", 0.0)
    monkeypatch.setattr(highs_process, "solve_mip", counted)
    monkeypatch.setattr("siting.optimize.branch_bound.suits", lambda mip: False)
    child = solve_set_cover(A, cost, time_limit_s=60)
    assert calls and child.status == here.status == "optimal"
    assert child.objective == here.objective

"""Tests of siting.optimize.branch_bound: exact against brute force, honest when stopped."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from siting.optimize import branch_bound, core, solve_coverage_model, solve_set_cover
from siting.optimize.model import Problem, build_model
from siting.optimize.orlib import generate_beasley_instance
from test_optimize import brute_force, random_instance


def _problem(A, cost, *, objective="min_cost", weight=None, must=None, max_options=None):
    m, n = A.shape
    return Problem(A=sp.csr_matrix(A), cost=np.asarray(cost, float),
                   weight=np.zeros(m) if weight is None else np.asarray(weight, float),
                   must=np.ones(m, bool) if must is None else np.asarray(must, bool),
                   objective=objective, budget=None, max_options=max_options,
                   counted=np.ones(n, bool), groups=-np.ones(n, np.int64))


def _random_case(seed):
    """A random LSCP (integral or fractional costs) or MCLP with a quota, <= 10 options."""
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(4, 14)), int(rng.integers(3, 11))
    A = random_instance(rng, m, n, rng.uniform(0.2, 0.5))
    reach = np.diff(A.indptr) > 0
    A, m = A[reach], int(reach.sum())
    if seed % 2 == 0:
        cost = rng.integers(1, 10, n).astype(float) + (0.5 * rng.random(n) if seed % 4 else 0.0)
        return A, cost, dict(objective="min_cost")
    weight = rng.integers(1, 20, m).astype(float)
    return A, np.ones(n), dict(objective="max_coverage", weight=weight,
                               must=np.zeros(m, bool), max_options=int(rng.integers(1, 4)))


@pytest.mark.parametrize("seed", range(40))
def test_search_matches_brute_force(seed):
    A, cost, kw = _random_case(seed)
    p = _problem(A, cost, **kw)
    mip = build_model(p).mip
    assert branch_bound.suits(mip)
    search = branch_bound.branch_and_bound(mip)
    ref = brute_force(A, cost, objective=kw["objective"], weight=kw.get("weight"),
                      must=kw.get("must"), max_options=kw.get("max_options"))
    assert search.completed and search.result.status == "optimal"
    assert mip.is_feasible(search.result.x)
    assert search.result.objective == pytest.approx(ref[0])
    assert search.result.bound == pytest.approx(ref[0])


def test_integral_objective_closes_the_odd_cycle_at_the_root():
    # vertex cover of a 5-cycle: LP optimum 2.5 (every x = 1/2), integer optimum 3; with
    # integral costs a bound of 2.5 already proves a 3-cover optimal
    A = sp.csr_matrix(np.array([[1, 1, 0, 0, 0], [0, 1, 1, 0, 0], [0, 0, 1, 1, 0],
                                [0, 0, 0, 1, 1], [1, 0, 0, 0, 1]]))
    mip = build_model(_problem(A, np.ones(5))).mip
    assert mip.integral_objective
    start = np.array([1.0, 0, 1, 1, 0])
    search = branch_bound.branch_and_bound(mip, start=start)
    assert search.completed and search.nodes == 1
    assert search.result.objective == 3.0 and search.result.bound == 3.0
    # the same costs scaled off the integers need the tree
    fractional = build_model(_problem(A, np.full(5, 1.1))).mip
    assert not fractional.integral_objective
    search = branch_bound.branch_and_bound(fractional, start=start)
    assert search.completed and search.nodes > 1
    assert search.result.objective == pytest.approx(3.3)


def _hard_cover():
    """A unit-cost cover whose tree has 35 nodes."""
    A, _ = generate_beasley_instance(60, 400, 0.05, seed=1)
    return build_model(_problem(A, np.ones(400))).mip


def test_node_limit_returns_a_plan_and_a_valid_bound():
    mip = _hard_cover()
    full = branch_bound.branch_and_bound(mip)
    assert full.completed and full.nodes > 8
    stopped = branch_bound.branch_and_bound(mip, node_limit=5)
    assert stopped.ended == "node_limit" and not stopped.completed
    res = stopped.result
    assert res.bound <= full.result.objective + 1e-9
    if res.x is not None:
        assert mip.is_feasible(res.x) and res.objective >= full.result.objective - 1e-9


def test_time_limit_returns_a_plan_and_a_valid_bound():
    mip = _hard_cover()
    optimum = branch_bound.branch_and_bound(mip).result.objective
    start = np.ones(mip.n_vars)
    stopped = branch_bound.branch_and_bound(mip, start=start, time_limit_s=1e-9)
    assert stopped.ended == "time_limit" and stopped.result.status == "time_limit"
    assert stopped.result.objective >= optimum and stopped.result.bound <= optimum + 1e-9


def test_mip_gap_plan_is_within_the_gap():
    mip = _hard_cover()
    optimum = branch_bound.branch_and_bound(mip).result.objective
    res = branch_bound.branch_and_bound(mip, mip_gap=0.05).result
    assert res.bound <= optimum + 1e-9
    assert res.objective <= optimum * 1.05 + 1e-9


def test_search_is_deterministic():
    mip = _hard_cover()
    a, b = branch_bound.branch_and_bound(mip), branch_bound.branch_and_bound(mip)
    assert a.nodes == b.nodes and np.array_equal(a.result.x, b.result.x)


def test_suits_only_binary_covering_models_with_at_most_a_quota_row():
    A = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1]]))
    base = _problem(A, [1.0, 2.0, 3.0])
    assert branch_bound.suits(build_model(base).mip)
    mclp = _problem(A, [1.0, 2.0, 3.0], objective="max_coverage", weight=[1.0, 1.0],
                    must=[False, False], max_options=1)
    assert branch_bound.suits(build_model(mclp).mip)
    assert branch_bound.suits(build_model(mclp, "tie_break", target=1.0).mip)
    budget = Problem(**{**base.__dict__, "budget": 3.0})
    assert not branch_bound.suits(build_model(budget).mip)  # a knapsack row
    A4 = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 1]]))
    grouped = Problem(**{**_problem(A4, np.ones(4)).__dict__, "groups": np.array([0, 0, 1, 1])})
    assert not branch_bound.suits(build_model(grouped).mip)  # two one-option-per-group rows
    general = build_model(base).mip
    assert not branch_bound.suits(general.__class__(**{**general.__dict__,
                                                       "col_hi": np.full(3, 2.0)}))


def test_node_limit_hands_over_to_highs(monkeypatch):
    A, _ = generate_beasley_instance(60, 400, 0.05, seed=1)
    cost = np.ones(400)
    reference = solve_set_cover(A, cost)
    assert reference.solver == "branch_and_bound" and reference.status == "optimal"
    monkeypatch.setattr(branch_bound, "NODE_LIMIT", 1)
    monkeypatch.setattr(core, "LAGRANGIAN_MIN_NNZ", math.inf)  # the MIP sees the whole cover
    sol = solve_set_cover(A, cost)
    assert sol.solver == "branch_and_bound+highs"
    assert any("HiGHS's MIP solver takes over" in note for note in sol.notes)
    assert sol.status == "optimal" and sol.objective == reference.objective


def test_max_coverage_with_tie_break_through_the_search():
    # rows of weight 5, 3, 3; option 0 (cost 4) covers rows 0 and 1, option 1 (cost 1) rows 0
    # and 2, option 2 (free) rows 1 and 2: with one option, 8 people at the cost of 1
    A = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1]]))
    sol = solve_coverage_model(A, [4.0, 1.0, 0.0], objective="max_coverage",
                               weight=[5.0, 3.0, 3.0], max_options=1, presolve=False)
    assert sol.objective == 8.0 and sol.selected.tolist() == [1]
    assert sol.solver == "branch_and_bound"

"""Tests of siting.optimize: hand-computed optima, brute force, properties, OR-Library I/O."""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siting.errors import InfeasibleError, InputError, SolverError
from siting.optimize import Solution, solve_coverage_model, solve_max_coverage, solve_set_cover
from siting.optimize import core, heuristics, highs_backend
from siting.optimize.orlib import generate_beasley_instance, read_orlib_scp
from siting.optimize.presolve import dominated_columns, presolve_set_cover, reduced_cost_fixing

DATA = Path(__file__).parent / "data"
SPOPT_REF = Path("/work/shared/data/real/spopt_reference")
HYP = settings(max_examples=60, deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------
# brute force reference


def brute_force(A, cost, *, objective="min_cost", weight=None, must=None, budget=None,
                max_options=None, counted=None, fixed=None, groups=None):
    """Lexicographic optimum by enumeration: (objective value, tie-break value) or None."""
    A = np.asarray(sp.csr_matrix(A).toarray() != 0, dtype=float)
    m, n = A.shape
    cost = np.asarray(cost, float)
    weight = np.zeros(m) if weight is None else np.asarray(weight, float)
    if must is None:
        must = np.ones(m, bool) if objective == "min_cost" else np.zeros(m, bool)
    X = np.array(list(itertools.product([0, 1], repeat=n)), dtype=float).reshape(-1, n)
    cov = (X @ A.T) > 0
    ok = np.all(cov[:, must], axis=1)
    c = X @ cost
    if budget is not None:
        ok &= c <= budget + 1e-9
    if max_options is not None:
        cnt = np.ones(n, bool) if counted is None else np.asarray(counted, bool)
        ok &= X[:, cnt].sum(axis=1) <= max_options
    if fixed is not None:
        ok &= np.all(X[:, np.asarray(fixed, bool)] == 1, axis=1)
    if groups is not None:
        g = np.asarray(groups)
        for gid in np.unique(g[g >= 0]):
            ok &= X[:, g == gid].sum(axis=1) <= 1
    if not ok.any():
        return None
    w = cov @ weight
    if objective == "min_cost":
        best = c[ok].min()
        tie = w[ok & (np.abs(c - best) < 1e-9)].max()
    else:
        best = w[ok].max()
        tie = c[ok & (np.abs(w - best) < 1e-9)].min()
    return best, tie


def covered_rows(A, selected):
    x = np.zeros(A.shape[1])
    x[np.asarray(selected, dtype=np.int64)] = 1
    return (sp.csr_matrix(A) @ x) > 0


def random_instance(rng, m, n, density):
    A = (rng.random((m, n)) < density).astype(np.int8)
    return sp.csr_matrix(A)


def check_solution(sol, A, cost, *, objective, weight=None, must=None, budget=None,
                   max_options=None, counted=None, fixed=None, groups=None):
    """Feasibility and objective consistency of a returned plan."""
    assert isinstance(sol, Solution)
    sel = sol.selected
    assert sel.dtype == np.int64 and np.all(np.diff(sel) > 0)
    cov = covered_rows(A, sel)
    if must is None and objective == "min_cost":
        must = np.ones(A.shape[0], bool)
    if must is not None:
        assert np.all(cov[np.asarray(must, bool)])
    if budget is not None:
        assert cost[sel].sum() <= budget + 1e-7
    if max_options is not None:
        cnt = np.ones(A.shape[1], bool) if counted is None else np.asarray(counted, bool)
        assert cnt[sel].sum() <= max_options
    if fixed is not None:
        assert set(np.flatnonzero(fixed)) <= set(sel.tolist())
    if groups is not None:
        g = np.asarray(groups)[sel]
        g = g[g >= 0]
        assert g.size == np.unique(g).size
    if objective == "min_cost":
        assert sol.objective == pytest.approx(cost[sel].sum())
        assert sol.bound <= sol.objective + 1e-6
    else:
        assert sol.objective == pytest.approx(np.asarray(weight)[cov].sum())
        assert sol.bound >= sol.objective - 1e-6
    assert sol.gap >= 0


# ---------------------------------------------------------------------------------------
# hand-computed


def test_set_cover_cycle_hand_computed():
    # 4 rows on a cycle, option j covers rows j and j+1: two opposite options suffice.
    A = sp.csr_matrix(np.array([[1, 0, 0, 1], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]))
    sol = solve_set_cover(A, [1.0, 1.0, 1.0, 1.0])
    assert sol.status == "optimal" and sol.objective == 2.0 and sol.bound == 2.0 and sol.gap == 0
    assert sol.selected.tolist() in ([0, 2], [1, 3])
    # make option 1 and 3 cheap: {1, 3} is the unique optimum, cost 1.0
    sol = solve_set_cover(A, [1.0, 0.5, 1.0, 0.5])
    assert sol.selected.tolist() == [1, 3] and sol.objective == 1.0


def test_max_coverage_hand_computed():
    # rows weights 10, 1, 1, 5; option 0 covers rows 0,1; option 1 rows 1,2,3; option 2 row 3
    A = sp.csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1]]))
    w = np.array([10.0, 1.0, 1.0, 5.0])
    sol = solve_max_coverage(A, w, [1.0, 1.0, 1.0], max_options=1)
    assert sol.selected.tolist() == [0] and sol.objective == 11.0 and sol.status == "optimal"
    sol = solve_max_coverage(A, w, [1.0, 1.0, 1.0], max_options=2)
    assert sol.selected.tolist() == [0, 1] and sol.objective == 17.0
    # budget 1.5 with option 0 costing 2: only one of options 1/2 fits; 1 covers 7 > 5
    sol = solve_max_coverage(A, w, [2.0, 1.5, 1.0], budget=1.5)
    assert sol.selected.tolist() == [1] and sol.objective == 7.0
    # tie-break: options 1 and 2 both add row 3 (weight 5) with option 0; 2 is cheaper
    A2 = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 1]]))
    sol = solve_max_coverage(A2, [1.0, 5.0], [1.0, 3.0, 2.0], max_options=2)
    assert sol.selected.tolist() == [0, 2] and sol.objective == 6.0


def test_min_cost_tie_break_covers_most_weight():
    # must row 0; options 0 and 1 both cover it at cost 1; option 1 also covers row 1 (weight 7)
    A = sp.csr_matrix(np.array([[1, 1], [0, 1]]))
    sol = solve_coverage_model(A, [1.0, 1.0], weight=[0.0, 7.0], must_cover=[True, False])
    assert sol.selected.tolist() == [1] and sol.objective == 1.0
    sol = solve_coverage_model(A, [1.0, 1.0], weight=[0.0, 7.0], must_cover=[True, False],
                               tie_break=False)
    assert sol.objective == 1.0


def test_fixed_and_groups_hand_computed():
    # option 0 fixed (cost 0) covers row 0; options 1, 2 share group 5; 1 covers row 1, 2 row 2
    A = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]]))
    sol = solve_coverage_model(A, [0.0, 1.0, 1.0], objective="max_coverage",
                               weight=[1.0, 2.0, 3.0], fixed=[True, False, False],
                               groups=[-1, 5, 5])
    assert sol.selected.tolist() == [0, 2] and sol.objective == 4.0
    with pytest.raises(InfeasibleError):
        solve_coverage_model(A, [0.0, 1.0, 1.0], fixed=[True, False, False], groups=[-1, 5, 5])


def test_a_grouped_option_is_dominated_only_by_its_group_or_a_free_option():
    # rows 0-2; options 0, 1 share group 7; 2 is alone in group 8; 3, 4 share group 9
    A = sp.csr_matrix(np.array([[1, 1, 0, 1, 0],
                                [0, 1, 0, 0, 1],
                                [0, 0, 1, 1, 0]]))
    cost = np.array([5.0, 3.0, 5.0, 1.0, 1.0])
    groups = np.array([7, 7, -1, 9, 9])  # a group of one is passed as -1
    # 0 is inside 1 (same group, cheaper); 2 is inside 3, but 3's group may hold 4 already
    assert dominated_columns(A, cost, groups=groups).tolist() == [True, False, False, False,
                                                                  False]
    # an option in no group can always stand in
    A_free = sp.hstack([A, sp.csr_matrix(np.array([[0], [0], [1]]))]).tocsr()
    dom = dominated_columns(A_free, np.append(cost, 4.0), groups=np.append(groups, -1))
    assert dom.tolist() == [True, False, True, False, False, False]
    # and the plan is the same with the reduction as without it
    for weight in ([1.0, 1.0, 1.0], [5.0, 1.0, 2.0]):
        kw = dict(objective="max_coverage", weight=weight, budget=4.0, groups=[7, 7, 8, 9, 9])
        with_pre = solve_coverage_model(A, cost, presolve=True, **kw)
        without = solve_coverage_model(A, cost, presolve=False, **kw)
        assert with_pre.objective == pytest.approx(without.objective)


def test_solution_is_frozen():
    sol = solve_set_cover(sp.identity(2, format="csr"), [1.0, 2.0])
    with pytest.raises(AttributeError):
        sol.objective = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        sol.selected[0] = 5
    assert sol.solver == "highs" and sol.solve_time_s >= 0 and isinstance(sol.notes, tuple)


# ---------------------------------------------------------------------------------------
# errors


def test_infeasible_names_rows():
    A = sp.csr_matrix(np.array([[1, 0], [0, 0], [0, 1], [0, 0]]))
    with pytest.raises(InfeasibleError, match=r"rows 1, 3"):
        solve_set_cover(A, [1.0, 1.0])
    # optional rows nobody covers are fine
    sol = solve_coverage_model(A, [1.0, 1.0], must_cover=[True, False, True, False])
    assert sol.selected.tolist() == [0, 1]


def test_infeasible_by_quota_and_budget():
    A = sp.identity(3, format="csr")
    with pytest.raises(InfeasibleError):
        solve_coverage_model(A, [1.0, 1.0, 1.0], max_options=2)
    with pytest.raises(InfeasibleError):
        solve_coverage_model(A, [1.0, 1.0, 1.0], budget=2.5)
    with pytest.raises(InfeasibleError):
        solve_coverage_model(A, [1.0, 1.0, 1.0], objective="max_coverage", weight=[1, 1, 1],
                             fixed=[True, True, False], max_options=1)


@pytest.mark.parametrize("kwargs", [
    dict(objective="cheapest"), dict(solver="gurobi"), dict(time_limit_s=0),
    dict(mip_gap=-0.1), dict(budget=-1.0), dict(max_options=1.5),
    dict(must_cover=[True]), dict(groups=[0.5, 1.0]), dict(objective="max_coverage"),
])
def test_bad_inputs(kwargs):
    A = sp.identity(2, format="csr")
    with pytest.raises(InputError):
        solve_coverage_model(A, [1.0, 1.0], **kwargs)
    with pytest.raises(InputError):
        solve_set_cover(A, [1.0, -1.0])
    with pytest.raises(InputError):
        solve_set_cover(A, [1.0])


def test_solver_fallback_recorded(monkeypatch):
    def broken(*args, **kwargs):
        raise SolverError("boom")

    # both ways siting uses HiGHS fail: its MIP solver and the LPs of the branch and bound
    monkeypatch.setattr(highs_backend, "solve_mip", broken)
    monkeypatch.setattr(highs_backend, "lp_relaxation", broken)
    A = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]]))
    sol = solve_set_cover(A, [1.0, 1.0, 1.0], solver="highs")
    assert sol.solver == "cbc" and sol.objective == 2.0
    assert any("highs failed" in n for n in sol.notes)


# ---------------------------------------------------------------------------------------
# brute force on random small instances (<= 10 options)


def _random_general(seed):
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(3, 13)), int(rng.integers(2, 11))
    A = random_instance(rng, m, n, rng.uniform(0.15, 0.5))
    cost = rng.integers(0, 10, n).astype(float)
    weight = rng.integers(0, 10, m).astype(float)
    kw = {}
    objective = "min_cost" if rng.random() < 0.5 else "max_coverage"
    reach = np.diff(A.indptr) > 0
    must = reach & (rng.random(m) < (0.6 if objective == "min_cost" else 0.25))
    kw["must_cover"] = must
    if rng.random() < 0.5:
        kw["budget"] = float(rng.integers(0, 25))
    if rng.random() < 0.5:
        kw["max_options"] = int(rng.integers(0, n + 1))
        kw["counted"] = rng.random(n) < 0.8
    if rng.random() < 0.5:
        kw["groups"] = np.where(rng.random(n) < 0.6, rng.integers(0, 3, n), -1)
    if rng.random() < 0.4:
        kw["fixed"] = rng.random(n) < 0.2
    return A, cost, weight, objective, kw


@pytest.mark.parametrize("seed", range(60))
def test_general_model_matches_brute_force(seed):
    A, cost, weight, objective, kw = _random_general(seed)
    ref = brute_force(A, cost, objective=objective, weight=weight, must=kw.get("must_cover"),
                      budget=kw.get("budget"), max_options=kw.get("max_options"),
                      counted=kw.get("counted"), fixed=kw.get("fixed"), groups=kw.get("groups"))
    if ref is None:
        with pytest.raises(InfeasibleError):
            solve_coverage_model(A, cost, objective=objective, weight=weight, **kw)
        return
    sol = solve_coverage_model(A, cost, objective=objective, weight=weight, **kw)
    check_solution(sol, A, cost, objective=objective, weight=weight,
                   must=kw.get("must_cover"), budget=kw.get("budget"),
                   max_options=kw.get("max_options"), counted=kw.get("counted"),
                   fixed=kw.get("fixed"), groups=kw.get("groups"))
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(ref[0])
    assert sol.bound == pytest.approx(ref[0])
    cov = covered_rows(A, sol.selected)
    if objective == "min_cost":
        assert weight[cov].sum() == pytest.approx(ref[1])  # tie-break: most weight
    else:
        assert cost[sol.selected].sum() == pytest.approx(ref[1])  # tie-break: least cost


@pytest.mark.parametrize("seed", range(20))
def test_rows_with_the_same_options_merge_without_changing_the_plan(seed):
    A, cost, weight, objective, kw = _random_general(500 + seed)
    rng = np.random.default_rng(seed)
    copies = rng.integers(0, A.shape[0], A.shape[0])  # every row's options, again
    A = sp.vstack([A, A[copies]]).tocsr()
    weight = np.concatenate([weight, rng.integers(1, 10, copies.size)])
    kw["must_cover"] = np.concatenate([kw["must_cover"], np.zeros(copies.size, bool)])
    ref = brute_force(A, cost, objective=objective, weight=weight, must=kw["must_cover"],
                      budget=kw.get("budget"), max_options=kw.get("max_options"),
                      counted=kw.get("counted"), fixed=kw.get("fixed"), groups=kw.get("groups"))
    if ref is None:
        return
    sol = solve_coverage_model(A, cost, objective=objective, weight=weight, **kw)
    assert sol.objective == pytest.approx(ref[0]) and sol.bound == pytest.approx(ref[0])
    cov = covered_rows(A, sol.selected)
    tie = weight[cov].sum() if objective == "min_cost" else cost[sol.selected].sum()
    assert tie == pytest.approx(ref[1])


def test_identical_rewarded_rows_become_one_row_with_their_summed_weight():
    # rows 0 and 2 have the same options: one of them is merged into the other
    A = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 1, 0]]))
    sol = solve_coverage_model(A, [1.0, 1.0, 1.0], objective="max_coverage",
                               weight=[2.0, 3.0, 2.5], max_options=1)
    assert sol.objective == 7.5 and sol.selected.tolist() == [1]
    assert "1 demand row(s) merged into rows with the same options" in sol.notes


@pytest.mark.parametrize("seed", range(6))
def test_cbc_matches_brute_force(seed):
    A, cost, weight, objective, kw = _random_general(1000 + seed)
    ref = brute_force(A, cost, objective=objective, weight=weight, must=kw.get("must_cover"),
                      budget=kw.get("budget"), max_options=kw.get("max_options"),
                      counted=kw.get("counted"), fixed=kw.get("fixed"), groups=kw.get("groups"))
    if ref is None:
        with pytest.raises(InfeasibleError):
            solve_coverage_model(A, cost, objective=objective, weight=weight, solver="cbc", **kw)
        return
    sol = solve_coverage_model(A, cost, objective=objective, weight=weight, solver="cbc", **kw)
    assert sol.solver == "cbc"
    assert sol.objective == pytest.approx(ref[0])


# ---------------------------------------------------------------------------------------
# property tests (hypothesis)


@HYP
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 12), n=st.integers(1, 9),
       density=st.floats(0.1, 0.7))
def test_property_set_cover(seed, m, n, density):
    rng = np.random.default_rng(seed)
    A = random_instance(rng, m, n, density)
    cost = rng.integers(0, 20, n).astype(float)
    dead = np.flatnonzero(np.diff(A.indptr) == 0)
    if dead.size:
        with pytest.raises(InfeasibleError) as info:
            solve_set_cover(A, cost)
        assert str(int(dead[0])) in str(info.value)
        return
    sol = solve_set_cover(A, cost)
    assert np.all(covered_rows(A, sol.selected))  # covers every row
    assert sol.objective == pytest.approx(cost[sol.selected].sum())
    opt = brute_force(A, cost)[0]
    assert sol.objective == pytest.approx(opt)
    assert sol.bound <= opt + 1e-6


@HYP
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 12), n=st.integers(1, 9),
       budget=st.one_of(st.none(), st.integers(0, 30)),
       quota=st.one_of(st.none(), st.integers(0, 5)), use_groups=st.booleans())
def test_property_max_coverage(seed, m, n, budget, quota, use_groups):
    rng = np.random.default_rng(seed)
    A = random_instance(rng, m, n, 0.35)
    cost = rng.integers(1, 12, n).astype(float)
    weight = rng.random(m) * 100
    groups = rng.integers(-1, 3, n) if use_groups else None
    sol = solve_coverage_model(A, cost, objective="max_coverage", weight=weight, budget=budget,
                               max_options=quota, groups=groups)
    check_solution(sol, A, cost, objective="max_coverage", weight=weight, budget=budget,
                   max_options=quota, groups=groups)
    opt = brute_force(A, cost, objective="max_coverage", weight=weight, budget=budget,
                      max_options=quota, groups=groups)[0]
    assert sol.objective == pytest.approx(opt, rel=1e-6, abs=1e-6)
    assert sol.bound >= opt - 1e-6


@HYP
@given(seed=st.integers(0, 2**32 - 1))
def test_property_highs_and_cbc_agree(seed):
    rng = np.random.default_rng(seed)
    A = random_instance(rng, 25, 18, 0.2)
    A = sp.hstack([A, sp.identity(25, format="csr") * 1]).tocsr()  # always feasible
    cost = np.concatenate([rng.integers(1, 10, 18), np.full(25, 9)]).astype(float)
    h = solve_set_cover(A, cost, solver="highs")
    c = solve_set_cover(A, cost, solver="cbc")
    assert h.objective == pytest.approx(c.objective)
    w = rng.random(25)
    h = solve_max_coverage(A, w, cost, budget=15.0, solver="highs")
    c = solve_max_coverage(A, w, cost, budget=15.0, solver="cbc")
    assert h.objective == pytest.approx(c.objective, rel=1e-7)


@HYP
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(5, 60), n=st.integers(5, 60))
def test_property_presolve_preserves_optimum(seed, m, n):
    rng = np.random.default_rng(seed)
    A = random_instance(rng, m, n, 0.12)
    A = sp.hstack([A, sp.csr_matrix(np.eye(m)[:, rng.permutation(m)])]).tocsr()
    cost = rng.integers(1, 6, A.shape[1]).astype(float)  # small costs: many ties
    pre = presolve_set_cover(A, cost)
    with_pre = solve_coverage_model(A, cost, presolve=True, tie_break=False)
    without = solve_coverage_model(A, cost, presolve=False, tie_break=False)
    assert with_pre.objective == pytest.approx(without.objective)
    # the reduced problem's optimum maps back to a full cover of the same cost
    if pre.A.shape[0]:
        red = solve_coverage_model(pre.A, pre.cost, presolve=False, decompose=False)
        full = pre.restore(red.selected)
    else:
        full = pre.restore(np.zeros(0, np.int64))
    assert np.all(covered_rows(A, full))
    assert cost[full].sum() == pytest.approx(without.objective)


def _block_instance(seed, blocks=4):
    rng = np.random.default_rng(seed)
    mats, costs, weights = [], [], []
    for _ in range(blocks):
        m, n = int(rng.integers(3, 9)), int(rng.integers(3, 7))
        B = (rng.random((m, n)) < 0.4).astype(np.int8)
        B[np.arange(m), rng.integers(0, n, m)] = 1
        mats.append(sp.csr_matrix(B))
        costs.append(rng.integers(1, 9, n).astype(float))
        weights.append(rng.integers(1, 9, m).astype(float))
    A = sp.block_diag(mats, format="csr")
    rp, cp = rng.permutation(A.shape[0]), rng.permutation(A.shape[1])
    return A[rp][:, cp], np.concatenate(costs)[cp], np.concatenate(weights)[rp]


@HYP
@given(seed=st.integers(0, 2**32 - 1))
def test_property_components_match_whole(seed):
    A, cost, weight = _block_instance(seed)
    old = core.BUNDLE_NNZ
    core.BUNDLE_NNZ = 0  # every component on its own
    try:
        split = solve_coverage_model(A, cost, weight=weight, must_cover=weight > 4)
        split_mc = solve_coverage_model(A, cost, objective="max_coverage", weight=weight,
                                        groups=np.arange(A.shape[1]) % 3 - 1)
    finally:
        core.BUNDLE_NNZ = old
    whole = solve_coverage_model(A, cost, weight=weight, must_cover=weight > 4, decompose=False)
    whole_mc = solve_coverage_model(A, cost, objective="max_coverage", weight=weight,
                                    groups=np.arange(A.shape[1]) % 3 - 1, decompose=False)
    assert any("independent parts" in n for n in split.notes)
    assert split.objective == pytest.approx(whole.objective)
    assert split.bound == pytest.approx(whole.bound)
    assert weight[covered_rows(A, split.selected)].sum() == pytest.approx(
        weight[covered_rows(A, whole.selected)].sum())  # same tie-break result
    assert split_mc.objective == pytest.approx(whole_mc.objective)
    assert cost[split_mc.selected].sum() == pytest.approx(cost[whole_mc.selected].sum())


def test_components_labels():
    A = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 0], [0, 1, 0]]))
    k, rl, cl = core.components(A)
    assert k == 3 and rl[1] == rl[2] == cl[1] and rl[0] == cl[0] != rl[1]
    k, rl, cl = core.components(A, groups=np.array([4, 4, -1]))
    assert k == 2 and rl[0] == rl[1]


# ---------------------------------------------------------------------------------------
# heuristics


@pytest.mark.parametrize("seed", range(3))
def test_greedy_and_lagrangian_bracket_the_optimum(seed):
    A, cost = generate_beasley_instance(60, 300, 0.05, seed)
    opt = solve_set_cover(A, cost).objective
    g = heuristics.greedy_set_cover(A, cost)
    assert np.all(covered_rows(A, g)) and cost[g].sum() >= opt
    lag = heuristics.lagrangian_set_cover(A, cost, max_iter=300)
    lb, sel, ub = lag.lower_bound, lag.selected, lag.upper_bound
    assert lb <= opt + 1e-9 and ub >= opt - 1e-9
    assert np.all(covered_rows(A, sel)) and cost[sel].sum() == pytest.approx(ub)
    assert lb >= 0.95 * opt  # the Lagrangian bound is close to the optimum on these
    assert ub <= 1.02 * opt  # and so is the three-phase heuristic's cover
    assert lag.raw_bound <= opt + 1e-9 and lb == math.ceil(lag.raw_bound - 1e-6)
    # L(u) recomputed from the returned multipliers is the raw bound
    red = heuristics.reduced_costs(A, cost, lag.multipliers)
    assert lag.multipliers.sum() + red[red < 0].sum() == pytest.approx(lag.raw_bound)


@HYP
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 10), n=st.integers(1, 12))
def test_property_reduced_cost_fixing_keeps_every_cheaper_cover(seed, m, n):
    rng = np.random.default_rng(seed)
    A = random_instance(rng, m, n, 0.35)
    A = sp.hstack([A, sp.identity(m, format="csr")]).tocsr()  # every row coverable
    integral = bool(rng.random() < 0.5)
    cost = rng.integers(1, 9, A.shape[1]).astype(float) + (0 if integral else rng.random())
    u = rng.random(m) * 3
    red = heuristics.reduced_costs(A, cost, u)
    value = u.sum() + red[red < 0].sum()
    inc = heuristics.greedy_set_cover(A, cost)
    ub = cost[inc].sum()
    zero, one = reduced_cost_fixing(red, value, ub, inc, integral)
    assert not np.any(zero & one)
    x = np.zeros(A.shape[1], bool)
    x[inc] = True
    assert not np.any(x & zero) and np.all(x[one])  # the incumbent survives
    # brute force: every cover cheaper than the incumbent agrees with the fixings
    X = np.array(list(itertools.product([0, 1], repeat=A.shape[1])), dtype=bool)
    covers = np.all((X.astype(float) @ A.T.toarray()) > 0, axis=1)
    c = X @ cost
    cheaper = covers & (c < ub - 1e-9)
    assert value <= c[covers].min() + 1e-9  # L(u) is a lower bound
    assert not np.any(X[cheaper][:, zero]) and np.all(X[cheaper][:, one])


@pytest.mark.parametrize("seed", range(8))
def test_fixing_path_matches_brute_force(monkeypatch, seed):
    """Lagrangian heuristic, reduced-cost fixing and MIP on every part, small instances."""
    monkeypatch.setattr(core, "LAGRANGIAN_MIN_NNZ", 0)
    rng = np.random.default_rng(seed)
    A = random_instance(rng, 14, 11, 0.25)
    A = A[np.diff(A.indptr) > 0]
    cost = rng.integers(1, 30, A.shape[1]).astype(float)
    if seed % 2:
        cost += rng.random(A.shape[1])  # fractional costs: no rounding of bounds
    opt, _ = brute_force(A, cost)
    sol = solve_coverage_model(A, cost, tie_break=False)
    check_solution(sol, A, cost, objective="min_cost")
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(opt) and sol.bound == pytest.approx(opt)


@pytest.mark.parametrize("source", ["tiny", "generated"])
def test_lagrangian_proves_optimality_without_mip(monkeypatch, source):
    """When ceil(L(u)) meets the heuristic cover, no MIP runs; the optimum is the MIP's."""
    if source == "tiny":
        A, cost = read_orlib_scp(DATA / "tiny_scp.txt")
    else:
        A, cost = generate_beasley_instance(60, 300, 0.05, 0)
    exact = solve_set_cover(A, cost)  # small part: MIP only
    monkeypatch.setattr(core, "LAGRANGIAN_MIN_NNZ", 0)
    sol = solve_set_cover(A, cost)
    assert sol.solver == "lagrangian" and "proves the heuristic cover optimal" in sol.notes[-1]
    assert sol.objective == exact.objective == sol.bound and sol.status == "optimal"
    assert np.all(covered_rows(A, sol.selected))


def test_time_limit_returns_incumbent_with_bound():
    A, cost = generate_beasley_instance(400, 4000, 0.05, 7)
    sol = solve_set_cover(A, cost, time_limit_s=1.0)
    assert sol.status in ("time_limit", "optimal")
    assert np.all(covered_rows(A, sol.selected))
    assert sol.bound <= sol.objective + 1e-9
    assert sol.solve_time_s < 10
    if sol.status == "time_limit":
        assert sol.gap > 0 and math.isfinite(sol.bound)


# ---------------------------------------------------------------------------------------
# OR-Library


def test_read_tiny_orlib_and_solve():
    A, cost = read_orlib_scp(DATA / "tiny_scp.txt")
    assert A.shape == (5, 6) and A.nnz == 12
    assert cost.tolist() == [3, 2, 4, 1, 5, 2]
    assert A[0].indices.tolist() == [0, 1, 3]
    opt, _ = brute_force(A, cost)
    # by hand: columns 2 (rows 1, 2) + 6 (rows 3, 5) + 1 (row 4) = 2 + 2 + 3 = 7 (1-based)
    assert opt == 7.0
    for solver in ("highs", "cbc"):
        sol = solve_set_cover(A, cost, solver=solver)
        assert sol.objective == opt and sol.status == "optimal"
        assert sol.selected.tolist() == [0, 1, 5]
        assert np.all(covered_rows(A, sol.selected))


def test_read_orlib_errors(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("2 3\n1 1 1\n1 1\n2 1 7\n")
    with pytest.raises(InputError, match="outside"):
        read_orlib_scp(bad)
    bad.write_text("2 3\n1 1 1\n1 1\n")
    with pytest.raises(InputError, match="ends"):
        read_orlib_scp(bad)
    with pytest.raises(InputError):
        read_orlib_scp(tmp_path / "missing.txt")


def test_generate_beasley_instance():
    A, cost = generate_beasley_instance(50, 200, 0.05, seed=3)
    B, cost2 = generate_beasley_instance(50, 200, 0.05, seed=3)
    assert (A != B).nnz == 0 and np.array_equal(cost, cost2)
    assert np.all(np.diff(A.indptr) >= 2)
    assert np.all(np.diff(A.tocsc().indptr) >= 1)
    assert cost.min() >= 1 and cost.max() <= 100
    assert A.nnz == pytest.approx(0.05 * 50 * 200, rel=0.05)


@pytest.mark.skipif(not Path("/work/shared/data/real/orlib/scp41.txt").exists(),
                    reason="OR-Library data not present")
def test_orlib_scp41_optimum():
    A, cost = read_orlib_scp("/work/shared/data/real/orlib/scp41.txt")
    sol = solve_set_cover(A, cost)
    assert sol.objective == 429 and sol.status == "optimal" and sol.bound == 429


# ---------------------------------------------------------------------------------------
# spopt's real-world reference (San Francisco stores)


def _spopt_case():
    with open(SPOPT_REF / "SF_demand_205_centroid_uniform_weight.csv", newline="") as f:
        demand = sorted((r["NAME"], float(r["POP2000"])) for r in csv.DictReader(f))
    names = [d[0] for d in demand]
    pop = np.array([d[1] for d in demand])
    with open(SPOPT_REF / "SF_network_distance_candidateStore_16_censusTract_205_new.csv",
              newline="") as f:
        rows = list(csv.DictReader(f))
    stores = sorted({r["name"] for r in rows})
    ri = {n: i for i, n in enumerate(names)}
    ci = {n: j for j, n in enumerate(stores)}
    dist = np.full((len(names), len(stores)), np.inf)
    for r in rows:
        dist[ri[r["DestinationName"]], ci[r["name"]]] = float(r["distance"])
    return dist, pop, stores


@pytest.mark.skipif(not SPOPT_REF.exists(), reason="spopt reference data not present")
def test_spopt_reference_results():
    dist, pop, stores = _spopt_case()
    cover = sp.csr_matrix((dist <= 5000).astype(np.int8))
    lscp = solve_set_cover(cover, np.ones(len(stores)))
    assert lscp.objective == 8 and lscp.status == "optimal"
    mclp = solve_max_coverage(cover, pop, np.ones(len(stores)), max_options=4)
    assert mclp.objective == 875247 and mclp.status == "optimal"
    n_cov = int(covered_rows(cover, mclp.selected).sum())
    assert len(pop) - n_cov == 21
    assert 100 * n_cov / len(pop) == pytest.approx(89.75609756097561)


# ---------------------------------------------------------------------------------------
# edge cases, determinism, general time limit


def test_edge_cases():
    sol = solve_set_cover(sp.csr_matrix((0, 3)), [1.0, 2.0, 3.0])
    assert sol.selected.size == 0 and sol.objective == 0 and sol.status == "optimal"
    # dense input, values are signal levels: any nonzero covers
    A = np.array([[-80.0, 0.0, -95.5], [0.0, -70.0, 0.0]])
    assert solve_set_cover(A, [1.0, 2.0, 3.0]).selected.tolist() == [0, 1]
    sol = solve_max_coverage(A, [1.0, 2.0], [1.0, 1.0, 1.0], max_options=0)
    assert sol.selected.size == 0 and sol.objective == 0 and sol.bound == 0
    sol = solve_max_coverage(A, [1.0, 2.0], [0.0, 0.0, 0.0])  # free options: cover all
    assert sol.objective == 3.0
    # explicit zeros stored in the sparse matrix do not cover
    Z = sp.csr_matrix((np.array([0.0, 1.0]), np.array([0, 1]), np.array([0, 2])), shape=(1, 2))
    assert solve_set_cover(Z, [1.0, 5.0]).selected.tolist() == [1]


def test_deterministic():
    A, cost = generate_beasley_instance(100, 600, 0.04, 11)
    w = np.random.default_rng(5).integers(1, 50, 100).astype(float)
    runs = [solve_coverage_model(A, cost, objective="max_coverage", weight=w, budget=60.0, seed=3)
            for _ in range(2)]
    assert runs[0].selected.tolist() == runs[1].selected.tolist()
    assert runs[0].objective == runs[1].objective


def test_general_time_limit_keeps_incumbent():
    A, cost = generate_beasley_instance(400, 4000, 0.05, 7)
    w = np.random.default_rng(1).integers(1, 100, 400).astype(float)
    sol = solve_coverage_model(A, cost, objective="max_coverage", weight=w, budget=30.0,
                               groups=np.arange(4000) // 3, time_limit_s=0.5)
    assert sol.status in ("time_limit", "optimal")
    check_solution(sol, A, cost, objective="max_coverage", weight=w, budget=30.0,
                   groups=np.arange(4000) // 3)
    assert math.isfinite(sol.bound) and math.isfinite(sol.gap)


@HYP
@given(seed=st.integers(0, 2**32 - 1))
def test_property_general_model(seed):
    A, cost, weight, objective, kw = _random_general(seed)
    ref = brute_force(A, cost, objective=objective, weight=weight, must=kw.get("must_cover"),
                      budget=kw.get("budget"), max_options=kw.get("max_options"),
                      counted=kw.get("counted"), fixed=kw.get("fixed"), groups=kw.get("groups"))
    if ref is None:
        with pytest.raises(InfeasibleError):
            solve_coverage_model(A, cost, objective=objective, weight=weight, **kw)
        return
    sol = solve_coverage_model(A, cost, objective=objective, weight=weight, **kw)
    check_solution(sol, A, cost, objective=objective, weight=weight,
                   must=kw.get("must_cover"), budget=kw.get("budget"),
                   max_options=kw.get("max_options"), counted=kw.get("counted"),
                   fixed=kw.get("fixed"), groups=kw.get("groups"))
    if objective == "min_cost":
        assert sol.bound <= ref[0] + 1e-6
    else:
        assert sol.bound >= ref[0] - 1e-6


def test_lagrangian_only_when_too_large(monkeypatch):
    monkeypatch.setattr(core, "MAX_MIP_NNZ", 0)
    A, cost = generate_beasley_instance(80, 400, 0.05, 4)
    sol = solve_set_cover(A, cost)
    monkeypatch.setattr(core, "MAX_MIP_NNZ", 10**9)
    exact = solve_set_cover(A, cost)
    assert "lagrangian" in sol.solver and sol.status in ("optimal", "feasible")
    assert np.all(covered_rows(A, sol.selected))
    assert sol.bound <= exact.objective + 1e-9 <= sol.objective + 1e-9
    assert any("too large" in n for n in sol.notes)


def test_two_fixed_in_one_group_is_infeasible():
    A = sp.identity(3, format="csr")
    with pytest.raises(InfeasibleError, match="groups 7"):
        solve_coverage_model(A, [1.0, 1.0, 1.0], fixed=[True, True, False], groups=[7, 7, -1])

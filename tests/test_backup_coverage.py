"""k-coverage (backup coverage, Hogan & ReVelle 1986): rows that need several distinct options."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from shapely.geometry import box

from regions import TECH_5G, candidate, village, write_region, xy
from siting.config import load_scenario
from siting.errors import InfeasibleError
from siting.optimize import solve_coverage_model
from siting.optimize.heuristics import greedy_general
from siting.pipeline import compute, write_outputs


def _cheapest_k_cover(A, cost, need, budget=None):
    best = None
    n = A.shape[1]
    for pick in itertools.product((0, 1), repeat=n):
        x = np.array(pick)
        if np.any(A @ x < need) or (budget is not None and cost @ x > budget):
            continue
        best = cost @ x if best is None else min(best, cost @ x)
    return best


@pytest.mark.parametrize("seed", range(10))
def test_min_cost_k_cover_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    m, n = 7, 8
    A = (rng.random((m, n)) < 0.5).astype(int)
    A[:, 0] = 1  # every row has at least one option
    need = np.minimum(rng.integers(0, 3, m), A.sum(axis=1))
    cost = rng.integers(1, 20, n).astype(float)
    expected = _cheapest_k_cover(A, cost, need)
    solution = solve_coverage_model(sp.csr_matrix(A), cost, objective="min_cost",
                                    must_cover=need)
    assert solution.objective == pytest.approx(expected)
    x = np.zeros(n)
    x[solution.selected] = 1
    assert np.all(A @ x >= need)


def test_a_row_needing_two_takes_both_options_even_if_one_dominates():
    # Option 0 covers both rows for 1; option 1 covers row 0 only, for 5 (dominated in plain
    # set covering). Row 0 needs two options: both are needed.
    A = sp.csr_matrix(np.array([[1, 1], [1, 0]]))
    solution = solve_coverage_model(A, [1.0, 5.0], must_cover=np.array([2, 1]))
    assert solution.selected.tolist() == [0, 1]
    assert solution.objective == pytest.approx(6.0)
    plain = solve_coverage_model(A, [1.0, 5.0], must_cover=np.array([1, 1]))
    assert plain.selected.tolist() == [0]


def test_a_fixed_option_counts_towards_the_need():
    A = sp.csr_matrix(np.array([[1, 1, 1]]))
    solution = solve_coverage_model(A, [0.0, 3.0, 2.0], must_cover=np.array([2]),
                                    fixed=[True, False, False])
    assert solution.selected.tolist() == [0, 2]


def test_backup_under_a_budget_in_max_coverage():
    # Row 0 (must, needs 2) is covered by options 0 and 1; row 1 (50 people) by option 2 only.
    A = sp.csr_matrix(np.array([[1, 1, 0], [0, 0, 1]]))
    weight = [0.0, 50.0]
    rich = solve_coverage_model(A, [1.0, 1.0, 1.0], objective="max_coverage", weight=weight,
                                must_cover=np.array([2, 0]), budget=3.0)
    assert rich.selected.tolist() == [0, 1, 2] and rich.objective == pytest.approx(50.0)
    poor = solve_coverage_model(A, [1.0, 1.0, 1.0], objective="max_coverage", weight=weight,
                                must_cover=np.array([2, 0]), budget=2.0)
    assert poor.selected.tolist() == [0, 1] and poor.objective == pytest.approx(0.0)


def test_a_row_needing_more_options_than_cover_it_is_infeasible():
    A = sp.csr_matrix(np.array([[1, 0], [1, 1]]))
    with pytest.raises(InfeasibleError, match="need more options than cover them"):
        solve_coverage_model(A, [1.0, 1.0], must_cover=np.array([2, 1]))


def test_greedy_keeps_adding_until_the_need_is_met():
    A = np.array([[1, 1, 1]])
    chosen = greedy_general(A, np.array([1.0, 2.0, 3.0]), np.zeros(1), np.array([True]),
                            objective="min_cost", need=np.array([2]))
    assert chosen.tolist() == [0, 1]


def _zone_region(folder, **demand):
    # A 400 m square city centre between three 5G masts; the cheapest one alone covers it.
    zones = [dict(zone_id="Z1", name="Centre", kind="city_centre", require_5g=True,
                  geometry=box(*xy(2800, 3200), *xy(3200, 2800)))]
    sites = [candidate("CHEAP", 2500, 3000, capex=10000, techs="5G"),
             candidate("MID", 3500, 3000, capex=40000, techs="5G"),
             candidate("DEAR", 3000, 3600, capex=90000, techs="5G")]
    return write_region(folder, np.full((200, 200), 400.0), villages=[village("V1", 3000, 3000,
                                                                              poverty=False)],
                        candidates=sites, zones=zones, technologies=(dict(TECH_5G, max_range_m=1500),),
                        demand={"grid_m": 300, "min_people_per_cell": 1, "zone_sample_m": 200,
                                **demand})


def test_a_backup_zone_gets_two_masts_and_the_report_says_so(tmp_path):
    plain = compute(load_scenario(_zone_region(tmp_path / "plain")))
    assert set(plain.coverage.options.loc[plain.plan.new_options, "site_id"]) == {"CHEAP"}
    backup = compute(load_scenario(_zone_region(
        tmp_path / "backup", backup={"zone_kinds": ["city_centre"], "servers": 2})))
    assert set(backup.coverage.options.loc[backup.plan.new_options, "site_id"]) == {"CHEAP", "MID"}
    summary = write_outputs(backup, tmp_path / "out")
    zone_points = int((backup.demand.kind == "zone").sum())
    assert summary["kpis"]["backup_points_total"] == zone_points > 0
    assert summary["kpis"]["backup_points_met"] == zone_points
    assert "zone check points with backup coverage" in (tmp_path / "out" / "report.md").read_text()

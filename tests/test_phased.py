"""Phased (multi-year) plans: the generic model against brute force and hand-computed optima,
the scenario keys, and a tiny region planned over two years end to end."""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from regions import TECH_4G, candidate, village, write_region
from siting.cli import app
from siting.config import load_scenario
from siting.errors import InfeasibleError, ScenarioError
from siting.optimize.phased import solve_phased_coverage
from siting.pipeline import compute, write_outputs


def _brute_force(A, cost, weight, budgets, quotas, must, must_by, total_budget):
    """Best sum over periods of the weight covered, by enumerating every build schedule."""
    n, periods = A.shape[1], len(budgets)
    best = None
    for schedule in itertools.product(range(-1, periods), repeat=n):
        period = np.array(schedule)
        if any(cost[period == t].sum() > budgets[t] or (period == t).sum() > quotas[t]
               for t in range(periods)):
            continue
        if total_budget is not None and cost[period >= 0].sum() > total_budget:
            continue
        by_deadline = A[:, (period >= 0) & (period <= must_by)].sum(axis=1) > 0
        if np.any(must & ~by_deadline):
            continue
        value = sum(weight[A[:, (period >= 0) & (period <= t)].sum(axis=1) > 0].sum()
                    for t in range(periods))
        best = value if best is None else max(best, value)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_phased_optimum_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    m, n, periods = 8, 5, 3
    A = (rng.random((m, n)) < 0.35).astype(int)
    cost = rng.integers(1, 10, n).astype(float)
    weight = rng.integers(0, 20, m).astype(float)
    budgets = [float(rng.integers(3, 12)) for _ in range(periods)]
    quotas = [int(rng.integers(1, 3)) for _ in range(periods)]
    must = np.zeros(m, bool)
    must[rng.integers(0, m)] = True
    must &= A.any(axis=1)  # a must row no option covers is a different test
    must_by = int(rng.integers(0, periods))
    total_budget = float(rng.integers(8, 25)) if seed % 2 else None
    expected = _brute_force(A, cost, weight, budgets, quotas, must, must_by, total_budget)
    kwargs = dict(period_budgets=budgets, period_quotas=quotas, must_cover=must,
                  must_cover_by=must_by, budget=total_budget)
    if expected is None:
        with pytest.raises(InfeasibleError):
            solve_phased_coverage(sp.csr_matrix(A), cost, weight, **kwargs)
        return
    result = solve_phased_coverage(sp.csr_matrix(A), cost, weight, **kwargs)
    assert result.solution.objective == pytest.approx(expected)
    assert result.solution.status == "optimal"
    assert result.solution.bound >= expected - 1e-9
    # the schedule respects every period's budget and quota
    for t in range(periods):
        built = result.build_period == t
        assert cost[built].sum() <= budgets[t] + 1e-9
        assert built.sum() <= quotas[t]


def test_the_bigger_site_is_built_first():
    # One site a year; A covers 100 people, B 60. A then B: 100 + (100 + 60) = 260 person-years;
    # B then A would give 60 + 160 = 220.
    A = sp.csr_matrix(np.array([[1, 0], [0, 1]]))
    result = solve_phased_coverage(A, [1.0, 1.0], [100.0, 60.0], period_budgets=[1.0, 1.0])
    assert result.build_period.tolist() == [0, 1]
    assert result.solution.objective == pytest.approx(260.0)


def test_a_mandatory_deadline_moves_the_mandatory_site_first():
    # Row 0: a poverty village (no weight of its own, must be covered); row 1: 10 people near
    # it; row 2: 100 people elsewhere. Option M covers rows 0-1, option A row 2; one a year.
    A = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1]]))
    weight = [0.0, 10.0, 100.0]
    must = [True, False, False]
    late = solve_phased_coverage(A, [1.0, 1.0], weight, period_budgets=[1.0, 1.0],
                                 must_cover=must)
    assert late.build_period.tolist() == [1, 0]  # A first: 100 + 110 = 210
    assert late.solution.objective == pytest.approx(210.0)
    early = solve_phased_coverage(A, [1.0, 1.0], weight, period_budgets=[1.0, 1.0],
                                  must_cover=must, must_cover_by=0)
    assert early.build_period.tolist() == [0, 1]  # M first: 10 + 110 = 120
    assert early.solution.objective == pytest.approx(120.0)


def test_discounting_counts_later_years_less():
    A = sp.csr_matrix(np.array([[1, 0], [0, 1]]))
    result = solve_phased_coverage(A, [1.0, 1.0], [100.0, 60.0], period_budgets=[1.0, 1.0],
                                   period_weights=[1.0, 0.5])
    assert result.solution.objective == pytest.approx(100.0 + 0.5 * 160.0)


def test_a_site_dearer_than_every_yearly_budget_cannot_cover_a_mandatory_row():
    A = sp.csr_matrix(np.array([[1, 0], [0, 1]]))
    with pytest.raises(InfeasibleError, match="covered by no option"):
        solve_phased_coverage(A, [5.0, 1.0], [0.0, 10.0], period_budgets=[3.0, 3.0],
                              must_cover=[True, False])


def _phased_objective(**extra):
    return {"type": "max_coverage",
            "phases": [{"year": 2027, "budget_cny": 500000, "max_new_sites": 1},
                       {"year": 2028, "budget_cny": 500000, "max_new_sites": 1}], **extra}


def test_scenario_phases_are_read_and_checked(tmp_path):
    path = write_region(tmp_path, np.full((60, 60), 400.0), villages=[village("V1", 900, 900)],
                        candidates=[candidate("S1", 900, 900)],
                        objective=_phased_objective(mandatory_by=2027, discount_rate=0.05))
    objective = load_scenario(path).objective
    assert [p.label for p in objective.phases] == ["2027", "2028"]
    assert objective.total_budget_cny == 1_000_000 and objective.total_max_new_sites == 2
    assert objective.mandatory_by == "2027" and objective.discount_rate == 0.05
    bad = write_region(tmp_path / "bad", np.full((60, 60), 400.0),
                       villages=[village("V1", 900, 900)], candidates=[candidate("S1", 900, 900)],
                       objective=_phased_objective(mandatory_by=2030, type="min_cost"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(bad)
    message = str(info.value)
    assert "objective.mandatory_by" in message and "2027, 2028" in message
    assert "objective.phases" in message and "max_coverage" in message


def test_a_two_year_plan_builds_the_bigger_cluster_first(tmp_path):
    # Two clusters of people 4 km apart, one mast each; each year pays for one mast.
    population = np.zeros((60, 60), np.float32)
    population[28:32, 8:12] = 20.0   # 320 people around x = 1 km
    population[28:32, 48:52] = 50.0  # 800 people around x = 5 km
    one_site = 50000 + 150000 + 5 * (10000 + 12000)
    path = write_region(tmp_path / "in", np.full((200, 200), 400.0),
                        # V1's 100 listed people leave its cell (120 in the raster): no double count
                        villages=[village("V1", 1000, 3000, population=100, poverty=False)],
                        candidates=[candidate("WEST", 1000, 3000, techs="4G"),
                                    candidate("EAST", 5000, 3000, techs="4G")],
                        population=population, technologies=[dict(TECH_4G, max_range_m=1500)],
                        objective={"type": "max_coverage",
                                   "phases": [{"year": 2027, "budget_cny": one_site + 1},
                                              {"year": 2028, "budget_cny": one_site + 1}]})
    run = compute(load_scenario(path))
    assert run.plan.solution.objective == pytest.approx(800.0 + 1120.0)
    summary = write_outputs(run, tmp_path / "out")
    assert [(p["label"], p["new_sites"], round(p["people_covered"])) for p in summary["phases"]] \
        == [("2027", 1, 800), ("2028", 1, 1120)]
    assert all(p["cost_cny"] <= one_site + 1 for p in summary["phases"])
    built = pd.read_csv(tmp_path / "out" / "selected_sites.csv", dtype={"phase": str})
    built = built[built["action"] == "build"]
    assert dict(zip(built["site_id"], built["phase"])) == {"EAST": "2027", "WEST": "2028"}
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Phased schedule" in report and "| 2027 | 310,001 |" in report


def test_a_missed_mandatory_deadline_is_flagged_by_the_headline_and_a_note(tmp_path):
    """Two poverty villages 4 km apart, one mast each, one new site a year and both due by
    2027: one is covered in 2027, the other only in 2028. The headline must not read as the
    deadline met: summary.json, the report and the solver notes say 1 of 2 by 2027 and name
    the late village with its year."""
    path = write_region(tmp_path / "in", np.full((200, 200), 400.0),
                        villages=[village("V1", 1000, 3000, population=300),
                                  village("V2", 5000, 3000, population=100)],
                        candidates=[candidate("WEST", 1000, 3000, techs="4G"),
                                    candidate("EAST", 5000, 3000, techs="4G")],
                        technologies=[dict(TECH_4G, max_range_m=1500)],
                        objective=_phased_objective(mandatory_by=2027))
    run = compute(load_scenario(path))
    summary = write_outputs(run, tmp_path / "out")
    deadline = summary["mandatory_deadline"]
    assert summary["kpis"]["mandatory_villages_covered"] == 2  # by the last year
    by_2027 = summary["phases"][0]["mandatory_covered"]
    assert (deadline["year"], deadline["points_covered"], deadline["points_total"]) \
        == ("2027", by_2027, 2) and by_2027 == 1
    assert (deadline["villages_covered"], deadline["villages_total"]) == (1, 2)
    late = deadline["late"]
    built = pd.read_csv(tmp_path / "out" / "selected_sites.csv", dtype={"phase": str})
    assert len(late) == 1 and late[0]["year"] == "2028"
    late_site = "EAST" if late[0]["village_id"] == "V2" else "WEST"
    assert built.set_index("site_id").loc[late_site, "phase"] == "2028"
    assert any("misses its deadline" in note and "1 of 2 mandatory points" in note
               for note in summary["solver"]["notes"])
    report = (tmp_path / "out" / "report.md").read_text()
    headline = report[report.index("## Headline"):report.index("## Phased schedule")]
    assert "**By the end of 2027 (the deadline for mandatory demand): 1 of 2 mandatory points " \
           "and 1 of 2 mandatory villages covered.**" in headline
    assert f"| {late[0]['village_id']} | Village {late[0]['village_id']} | A | 2028 |" in headline
    assert "None: every mandatory village is covered." not in report
    assert "None by the end of 2028, but mandatory villages covered only after the deadline " \
           "2027: 1" in report
    told = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "cli")])
    assert told.exit_code == 0, told.output
    assert "siting: notice: mandatory demand misses its deadline: 1 of 2" in told.stderr


def test_a_warm_start_the_phased_model_rejects_is_logged(caplog):
    """Neither start is a plan of the model: the given one (A and B, 2.2 CNY) passes the
    budget of 2, and the greedy one takes A (three must-cover rows for 1.2) and then cannot
    afford C for M4. The MIP starts from nothing and finds B + C, which ``siting run
    --verbose`` should show: a silent fallback hid why a phased solve found no plan."""
    cover = np.array([[1, 1, 0], [1, 1, 0], [1, 0, 1], [0, 0, 1]])  # M1-M4 x A, B, C
    with caplog.at_level(logging.INFO, logger="siting.optimize.phased"):
        result = solve_phased_coverage(cover, np.array([1.2, 1.0, 1.0]), np.ones(4),
                                       period_budgets=[2.0], must_cover=np.ones(4, bool),
                                       start=np.array([0, 0, -1]))
    assert result.build_period.tolist() == [-1, 0, 0]
    assert "no warm start: the 1 plan(s) tried each break a row" in caplog.text

"""End-to-end runs on tiny regions whose answers are known by hand."""

from __future__ import annotations

import dataclasses
import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio

import siting.optimize.phased
import siting.plan
from regions import ONE_4G_SITE_CNY, TECH_4G, candidate, ridge_dem, village, write_region
from siting.config import load_scenario
from siting.pipeline import compute, write_outputs
from siting.export.i18n import term
from siting.labels import REASON_QUOTA
from siting.optimize.model import MipResult
from siting.plan import REASON_BELOW_THRESHOLD, REASON_NO_CANDIDATE, REASON_SOLVER_STOPPED

FOUR_G_ONLY = (TECH_4G,)


def _village_status(run) -> dict:
    rows = np.flatnonzero(run.demand.kind == "village")
    return {run.demand.ref_id[r]: (bool(run.plan.covered_after[r]), run.plan.uncovered_reason[r])
            for r in rows}


def _selected_sites(run) -> set[str]:
    chosen = run.plan.new_options
    return set(run.coverage.options.loc[chosen, "site_id"])


def test_a_ridge_blocks_the_valley_behind_it(tmp_path):
    # 6 km x 6 km valley floor at 400 m, a 300 m wall at x = 3.0-3.12 km; one mast at x = 1.5 km.
    dem = ridge_dem()
    path = write_region(tmp_path, dem,
                        villages=[village("V1", 2500, 3000), village("V2", 4500, 3000)],
                        candidates=[candidate("S1", 1500, 3000, techs="4G")],
                        technologies=FOUR_G_ONLY)
    run = compute(load_scenario(path))
    status = _village_status(run)
    assert status["V1"] == (True, "")
    assert status["V2"] == (False, REASON_BELOW_THRESHOLD)
    # Same geometry without the ridge: V2 is then covered (the ridge is what blocks it).
    flat = write_region(tmp_path / "flat", np.full_like(dem, 400.0),
                        villages=[village("V1", 2500, 3000), village("V2", 4500, 3000)],
                        candidates=[candidate("S1", 1500, 3000, techs="4G")],
                        technologies=FOUR_G_ONLY)
    assert _village_status(compute(load_scenario(flat)))["V2"] == (True, "")


def test_a_village_reachable_by_one_candidate_only_forces_it(tmp_path):
    # West of the ridge two masts compete for V1 (S3 is cheaper); only the dear S2 east of the
    # ridge reaches V2, so the least-cost plan is {S3, S2}, 4G on both (4G equipment is cheaper).
    path = write_region(tmp_path, ridge_dem(),
                        villages=[village("V1", 1000, 3000), village("V2", 4500, 3000)],
                        candidates=[candidate("S1", 1500, 3000, capex=50000),
                                    candidate("S3", 1200, 2600, capex=20000),
                                    candidate("S2", 5000, 3500, capex=400000)])
    run = compute(load_scenario(path))
    assert _selected_sites(run) == {"S2", "S3"}
    assert set(run.coverage.options.loc[run.plan.new_options, "technology"]) == {"4G-1800"}
    assert run.plan.solution.status == "optimal"
    expected = (20000 + 400000) + 2 * 150000 + 5 * 2 * (10000 + 12000)
    assert run.plan.solution.objective == pytest.approx(expected)


def test_an_unreachable_village_is_reported_not_crashed(tmp_path):
    path = write_region(tmp_path, np.full((200, 200), 400.0),
                        villages=[village("NEAR", 1000, 1000), village("FAR", 5900, 5900)],
                        candidates=[candidate("S1", 300, 300, techs="4G")],
                        technologies=[dict(TECH_4G, max_range_m=5000)])
    run = compute(load_scenario(path))
    status = _village_status(run)
    assert status["NEAR"] == (True, "")
    assert status["FAR"] == (False, REASON_NO_CANDIDATE)


def test_budget_limits_the_plan_to_the_most_valuable_site(tmp_path):
    # Two clusters of people 4 km apart, one mast each; the budget pays for one mast only.
    population = np.zeros((60, 60), np.float32)
    population[28:32, 8:12] = 50.0   # 800 people around x = 1 km
    population[28:32, 48:52] = 20.0  # 320 people around x = 5 km
    tech = dict(TECH_4G, max_range_m=1500)
    one_site = 50000 + 150000 + 5 * (10000 + 12000)
    path = write_region(tmp_path, np.full((200, 200), 400.0),
                        villages=[village("V1", 1000, 3000, poverty=False)],
                        candidates=[candidate("WEST", 1000, 3000, techs="4G"),
                                    candidate("EAST", 5000, 3000, techs="4G")],
                        population=population, technologies=[tech],
                        objective={"type": "max_coverage", "budget_cny": one_site + 1})
    run = compute(load_scenario(path))
    assert _selected_sites(run) == {"WEST"}
    assert run.plan.solution.objective == pytest.approx(800.0)


def test_mandatory_village_over_the_quota_gets_the_quota_reason(tmp_path):
    path = write_region(tmp_path, np.full((200, 200), 400.0),
                        villages=[village("V1", 1000, 3000), village("V2", 5000, 3000)],
                        candidates=[candidate("WEST", 1000, 3000, techs="4G"),
                                    candidate("EAST", 5000, 3000, techs="4G")],
                        technologies=[dict(TECH_4G, max_range_m=1500)],
                        objective={"type": "max_coverage", "max_new_sites": 1})
    run = compute(load_scenario(path))
    reasons = sorted(r for _, r in _village_status(run).values())
    assert reasons == ["", REASON_QUOTA.format(quota=1)]


def test_uncovered_complaints_are_listed_with_their_reason(tmp_path):
    """Complaint points are mandatory: the one beside the mast is covered, the one behind the
    ridge is below the threshold and the one 5 km past it has no candidate in range. The two
    uncovered are listed with why, in summary.json and in the report, as villages are."""
    from shapely.geometry import Point

    from regions import xy
    complaints = [{"complaint_id": cid, "people": 1.0, "geometry": Point(*xy(x, 3000))}
                  for cid, x in (("C-near", 2000), ("C-behind", 4500), ("C-far", 5900))]
    path = write_region(tmp_path / "in", ridge_dem(),
                        villages=[village("V1", 2500, 3000)],
                        candidates=[candidate("S1", 1500, 3000, techs="4G")],
                        technologies=[dict(TECH_4G, max_range_m=4000)], complaints=complaints)
    run = compute(load_scenario(path))
    summary = write_outputs(run, tmp_path / "out")
    points = {p["id"]: p for p in summary["uncovered_mandatory_points"]}
    assert {i: (p["kind"], p["reason"]) for i, p in points.items()} == {
        "C-behind": ("complaint", REASON_BELOW_THRESHOLD), "C-far": ("complaint", REASON_NO_CANDIDATE)}
    assert points["C-far"]["best_level_dbm"] is None and points["C-behind"]["best_level_dbm"] < -110
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert f"| complaint | C-far | A | - | {REASON_NO_CANDIDATE} |" in report
    assert summary["kpis"]["mandatory_points_uncovered"]["complaint"] == 2


def test_outputs_agree_with_each_other(tmp_path):
    population = np.zeros((60, 60), np.float32)
    population[10:20, 10:20] = 5.0
    path = write_region(tmp_path / "in", ridge_dem(), population=population,
                        villages=[village("V1", 1000, 3000), village("V2", 4500, 3000),
                                  village("V3", 5900, 100, poverty=False)],
                        candidates=[candidate("S1", 1500, 3000), candidate("S2", 5000, 3500),
                                    candidate("S3", 1500, 1500, free=True, capex=0)])
    run = compute(load_scenario(path))
    out = tmp_path / "out"
    summary = write_outputs(run, out)
    assert json.loads((out / "summary.json").read_text()) == summary
    sites = gpd.read_file(out / "sites.gpkg", layer="candidates")
    built = sites[sites["action"] == "build"]
    assert summary["kpis"]["new_sites"] == len(built)
    assert summary["kpis"]["total_cost_cny"] == pytest.approx(built["total_cost_cny"].sum(), abs=0.01)
    villages = gpd.read_file(out / "sites.gpkg", layer="villages")
    assert summary["kpis"]["villages_covered_after"] == int(villages["covered_after"].sum())
    assert len(gpd.read_file(out / "sites.gpkg", layer="demand")) == len(run.demand)
    with rasterio.open(out / "coverage.tif") as src:
        assert src.crs.to_epsg() == 32649
        level = src.read(1, masked=True)
        assert level.count() > 0 and level.max() <= 0
    report = (out / "report.md").read_text()
    assert all(f"| {site_id} | build |" in report for site_id in built["site_id"])


def three_poverty_villages(folder, **objective):
    """Three poverty villages 4 km apart, a 4G site (1.5 km reach) at each, planned for the
    most people within ``objective`` (a budget or quota)."""
    return write_region(folder, np.full((120, 300), 400.0),
                        villages=[village(v, x, 1800) for v, x in
                                  (("V1", 1000), ("V2", 5000), ("V3", 8000))],
                        candidates=[candidate(f"S{i}", x, 1800, techs="4G")
                                    for i, x in enumerate((1000, 5000, 8000))],
                        technologies=[dict(TECH_4G, max_range_m=1500)],
                        objective={"type": "max_coverage", **objective})


def test_a_village_the_solver_stopped_short_of_is_not_blamed_on_the_budget(tmp_path, monkeypatch):
    """Three poverty villages 4 km apart and a quota of two new sites: the third village is
    unaffordable, but only a proven plan shows that. When the solves stop at their time
    limit short of the gap, the reason says the solver stopped (and how to give it longer),
    in both languages, not the budget."""
    solve = siting.plan.solve_coverage_model

    def stopped(*args, **kwargs):
        return dataclasses.replace(solve(*args, **kwargs), status="time_limit", gap=0.2)

    path = three_poverty_villages(tmp_path / "in", max_new_sites=2)
    proven = compute(load_scenario(path))
    assert sorted(r for _, r in _village_status(proven).values()) == [
        "", "", REASON_QUOTA.format(quota=2)]
    monkeypatch.setattr(siting.plan, "solve_coverage_model", stopped)
    run = compute(load_scenario(path))
    assert sorted(r for _, r in _village_status(run).values()) == ["", "", REASON_SOLVER_STOPPED]
    for language, words in (("en", "solver.time_limit_s"), ("zh", "求解器")):
        run = dataclasses.replace(run, scenario=dataclasses.replace(
            run.scenario, outputs=dataclasses.replace(run.scenario.outputs, language=language)))
        write_outputs(run, tmp_path / language)
        report = (tmp_path / language / "report.md").read_text(encoding="utf-8")
        section = report.index(f"## {term('section.uncovered', language)}")
        uncovered = report[report.index("|", section):]
        assert words in uncovered.split("\n")[2]  # the row of the uncovered village


def test_a_first_stage_stopped_over_the_budget_is_not_said_to_be_over_it(tmp_path, monkeypatch):
    """Three poverty villages, a site each, and a budget of two sites. The stage covering
    every mandatory point at least cost costs three sites, over the budget: proven, the
    report says so. When that stage stops on its time limit with a bound under the budget
    (a plan within it not ruled out), the report said "over the budget or quota" too; it
    now says no such plan was found in its time, in both languages."""
    solve, calls = siting.plan.solve_coverage_model, []

    def first_stopped(*args, **kwargs):
        calls.append(kwargs["objective"])
        plan = solve(*args, **kwargs)
        if len(calls) > 1:
            return plan
        return dataclasses.replace(plan, status="time_limit", bound=ONE_4G_SITE_CNY, gap=0.66)

    path = three_poverty_villages(tmp_path / "in", budget_cny=2 * ONE_4G_SITE_CNY)
    first = "cover every reachable mandatory point at least cost"
    assert compute(load_scenario(path)).plan.stages[0] == first + ": over the budget or quota"
    monkeypatch.setattr(siting.plan, "solve_coverage_model", first_stopped)
    run = compute(load_scenario(path))
    assert calls[0] == "min_cost" and len(_selected_sites(run)) == 2
    assert run.plan.stages[0] == (first + ": no plan within the budget found in its time (not "
                                  "proven over it)")
    run = dataclasses.replace(run, scenario=dataclasses.replace(
        run.scenario, outputs=dataclasses.replace(run.scenario.outputs, language="zh")))
    write_outputs(run, tmp_path / "zh")
    report = (tmp_path / "zh" / "report.md").read_text(encoding="utf-8")
    assert "1. 以最低成本覆盖全部可覆盖的必覆盖点：限时内未找到预算内的方案（未证明超出预算）\n" in report


def test_a_phased_plan_whose_last_solve_finds_nothing_in_time_keeps_the_mandatory_plan(
        tmp_path, monkeypatch):
    """On a loaded machine the phased demo stopped with "the time limit was reached before
    any phased plan was found" (exit 1). Its last solve (the most people, keeping the
    mandatory points the previous solve covered by the deadline) had no warm start: the
    year-by-year greedy plan misses them. Here two sites a year; by 2027 P and Q cover six
    poverty villages, which the greedy cannot find (it takes X, covering four, first, and
    then needs three sites); the seventh, under R, must wait. The previous solve's plan is
    now the warm start, and the plan when the MIP finds none of its own in time (here
    none of the solves after it finds one: the most mandatory villages by the end of the
    plan, the plan of the very points covered by the deadline, and the last solve, which
    keeps their count)."""
    path = write_region(tmp_path / "in", np.full((60, 400), 400.0),
                        villages=[village(f"M{i}", x, 900, population=100) for i, x in
                                  enumerate((1000, 2000, 3000, 5000, 6000, 7000, 10500), 1)],
                        candidates=[candidate(s, x, 900, techs="4G") for s, x in
                                    (("P", 2000), ("X", 4000), ("Q", 6000), ("R", 10500))],
                        technologies=[dict(TECH_4G, max_range_m=2100)],
                        objective={"type": "max_coverage", "mandatory_by": 2027,
                                   "phases": [{"year": 2027, "budget_cny": 700000},
                                              {"year": 2028, "budget_cny": 700000}]})
    solve = siting.optimize.phased.run_mip
    calls = []

    def last_finds_nothing(mip, **settings):  # the third to fifth solves
        calls.append(mip)
        if len(calls) < 3:
            return solve(mip, **settings)
        return MipResult(x=None, status="no_solution", objective=float("nan"),
                         bound=float("nan"))

    monkeypatch.setattr(siting.optimize.phased, "run_mip", last_finds_nothing)
    run = compute(load_scenario(path))
    assert len(calls) == 5
    options = run.coverage.options.set_index("site_id")
    built = {site: run.plan.phase_labels[run.plan.build_period[options.index.get_loc(site)]]
             for site in ("P", "Q")}
    assert built == {"P": "2027", "Q": "2027"}
    assert [v for v, (covered, _) in _village_status(run).items() if covered] == [
        f"M{i}" for i in range(1, 7)]
    assert run.plan.solution.status == "time_limit"
    assert any("the warm start is the plan" in note for note in run.plan.solution.notes)

"""The notebook API as an analyst meets it on the demo region: what a plan shows of itself,
what its KPIs share with its summary, and how predict refuses a radius."""

from __future__ import annotations

import dataclasses
import logging
import math
import re

import pytest
import yaml
from typer.testing import CliRunner

import siting
from siting import pipeline
from siting.cli import app
from siting.config import Basemap, Calibration, OutputSettings

pytestmark = pytest.mark.skipif(not pipeline.DEMO_SCENARIO.exists(),
                                reason=f"demo data not generated: {pipeline.DEMO_SCENARIO}")

#: A study's settings, not a final plan's: each plan solves in seconds.
FAST = {"mip_gap": 0.005, "time_limit_s": 10}
PHASES = [{"year": 2026, "budget_cny": 15e6}, {"year": 2027, "budget_cny": 15e6}]
REPR = re.compile(r"<PlanResult '(?P<name>[^']+)': (?P<status>\w+)( \(gap [0-9.e-]+ %\))?, "
                  r"(?P<sites>\d+) (?P<site_word>new sites?) and (?P<upgrades>\d+) "
                  r"(?P<upgrade_word>upgrades?)"
                  r"( in (?P<phases>\d+) phases \((?P<labels>[^)]*)\))?, "
                  r"(?P<cost>[0-9,.]+) M CNY, (?P<pct>[0-9.]+) % of people covered>")


@pytest.fixture(scope="module")
def study():
    return siting.prepare(pipeline.DEMO_SCENARIO)


@pytest.fixture(scope="module")
def plan(study):
    return study.plan(**FAST)


@pytest.mark.parametrize("overrides", [{}, {"phases": PHASES}, {"max_new_sites": 1}],
                         ids=["single", "phased", "one-site"])
def test_a_plans_repr_shows_its_sites_cost_and_people_covered_as_its_kpis(study, overrides):
    # the repr read "feasible, 118 new options, 45.00 M CNY": upgrades counted with the new
    # sites, nothing of the people covered, nothing of the phases
    plan = study.plan(**overrides, **FAST)
    shown = REPR.fullmatch(repr(plan))
    assert shown, repr(plan)
    kpis = plan.kpis  # from the site and village tables of summary.json
    assert shown["status"] == kpis.solver_status
    assert (int(shown["sites"]), int(shown["upgrades"])) == (kpis.new_sites, kpis.upgrades)
    assert kpis.new_sites > 0
    assert shown["site_word"] == ("new site" if kpis.new_sites == 1 else "new sites")
    assert shown["upgrade_word"] == ("upgrade" if kpis.upgrades == 1 else "upgrades")
    assert shown["cost"] == f"{kpis.total_cost_cny / 1e6:,.2f}"
    assert float(shown["pct"]) == pytest.approx(kpis.people_covered_pct, abs=0.005)
    phases = [p["label"] for p in plan.summary()["phases"]] if "phases" in overrides else None
    assert (shown["labels"].split(", ") if shown["labels"] else None) == phases


def test_changing_a_plans_kpis_leaves_its_summary_and_comparison_alone(study, plan):
    # plan.kpis.mandatory_points_uncovered was the summary's own dict: an analyst adding a
    # total to it changed plan.summary() and what study.compare() reported
    before = plan.summary()["kpis"]["mandatory_points_uncovered"]
    plan.kpis.mandatory_points_uncovered["village"] = 999
    assert plan.summary()["kpis"]["mandatory_points_uncovered"] == before
    kpis = study.compare(plan, plan).kpis.set_index("name")
    assert kpis.loc["mandatory_points_uncovered.village", "a"] == before["village"]


@pytest.mark.parametrize("radius_km", ["5", True, None])
def test_predict_refuses_a_radius_that_is_not_a_number(study, radius_km):
    # "5" was read as 5 km and True as 1 km
    with pytest.raises(siting.InputError, match=r"predict\(\): radius_km must be a number of "
                                                r"kilometres, such as 5, got "):
        study.predict(site="S0040", technology="5G-3500", radius_km=radius_km)


@pytest.mark.parametrize("radius_km", [50.0, math.nan])
def test_a_refused_radius_is_not_also_warned_about(study, caplog, radius_km):
    # a radius past the DEM (or nan) was first warned to be beyond the rma_38901 model's
    # validity, then refused: two messages for one mistake
    with caplog.at_level(logging.WARNING), pytest.raises(siting.InputError, match="radius"):
        study.predict(site="S0040", technology="5G-3500", radius_km=radius_km)
    assert not caplog.records


def test_siting_predict_refuses_a_radius_past_the_dem_in_one_line(tmp_path, caplog):
    result = CliRunner().invoke(app, ["predict", str(pipeline.DEMO_SCENARIO), "--site", "S0040",
                                      "--technology", "5G-3500", "--radius-km", "50", "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "siting: error: site S0040: a radius of 50 km reaches past the DEM: the site is 5.26 km "
        "from the nearest edge of its data; use a smaller radius or a larger DEM"]
    assert not caplog.records and not (tmp_path / "out").exists()


def test_plan_refuses_a_mip_gap_of_one_as_the_scenario_file_does(study, tmp_path):
    # a gap of 1 passed the scenario's check (<= 1), then the solver refused it with a line
    # naming neither the file nor the key: "mip_gap must be in [0, 1), got 1.0"
    with pytest.raises(siting.ScenarioError, match=re.escape(
            "plan() overrides: solver.mip_gap: must be < 1, got 1")):
        study.plan(mip_gap=1)
    scenario = yaml.safe_load(pipeline.DEMO_SCENARIO.read_text(encoding="utf-8"))
    scenario["solver"]["mip_gap"] = 1
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    with pytest.raises(siting.ScenarioError, match=re.escape(
            f"{path}: solver.mip_gap: must be < 1, got 1")):
        siting.load_scenario(path)


@pytest.mark.parametrize("section, change, message", [
    ("outputs", {"language": "cn"}, "prepare(): report.language: must be one of en, zh, got 'cn'"),
    ("coverage", {"antenna": "3sector"},
     "prepare(): coverage.antenna: must be one of omni, three_sector, got '3sector'"),
    ("coverage", {"raster_resolution_m": 0.0},
     "prepare(): coverage.raster_resolution_m: must be >= 10, got 0.0"),
    ("coverage", {"earth_radius_factor": -1.0},
     "prepare(): coverage.earth_radius_factor: must be >= 0, got -1.0"),
])
def test_prepare_checks_coverage_settings_and_language_changed_in_python(section, change,
                                                                         message):
    # language 'cn' planned, then plan.write() failed with a ValueError traceback; antenna
    # '3sector' was computed as omni; a 0 m raster was a ZeroDivisionError in plan.write()
    scenario = siting.load_scenario(pipeline.DEMO_SCENARIO)
    changed = dataclasses.replace(
        scenario, **{section: dataclasses.replace(getattr(scenario, section), **change)})
    with pytest.raises(siting.ScenarioError, match=re.escape(message)):
        siting.prepare(changed)


def test_coverage_settings_and_language_changed_in_python_are_kept(tmp_path):
    # the ITU-R maps folder and the calibration are files the scenario file names: they are
    # kept as read, not read again
    scenario = siting.load_scenario(pipeline.DEMO_SCENARIO.with_name("scenario_p1812.yaml"))
    calibration = Calibration(offsets_db=(("4G-1800", (("forest", -6.5),)),),
                              model_offset_db=(("4G-1800", 1.5),))
    changed = dataclasses.replace(
        scenario,
        coverage=dataclasses.replace(scenario.coverage, antenna="three_sector",
                                     sector_azimuths_deg=(30.0, 150.0, 270.0),
                                     itu_maps_dir=tmp_path, calibration=calibration),
        outputs=OutputSettings(language="zh", basemap=Basemap(
            kind="custom", url="https://tiles.example.cn/{z}/{x}/{y}.png", attribution="天地图")))
    assert siting.study.scenario_checked(changed) == changed


@pytest.fixture(scope="module")
def phased_study():
    return siting.prepare(pipeline.DEMO_SCENARIO.with_name("scenario_phased.yaml"))


def test_clearing_the_phases_plans_one_period_as_the_sweep_does(phased_study):
    # phases=None was refused: "objective.mandatory_by: '2028' is not one of the phases'
    # years (no phases)", a deadline the analyst had not set and that no longer applies
    assert phased_study.scenario.objective.mandatory_by == "2028"
    settings = {"mip_gap": 0.01, "time_limit_s": 120}
    plan = phased_study.plan(phases=None, budget_cny=20e6, **settings)
    assert plan.plan.phase_labels == () and plan.scenario.objective.mandatory_by is None
    point = phased_study.sweep(budgets_cny=[20e6], **settings).iloc[0]
    assert point["status"] == plan.kpis.solver_status
    assert plan.kpis.total_cost_cny == pytest.approx(point["cost_cny"])
    assert plan.kpis.people_covered_pct == pytest.approx(point["people_covered_pct"])
    with pytest.raises(siting.ScenarioError, match="objective.mandatory_by: '2028' is not one "
                                                   "of the phases' years"):
        phased_study.plan(phases=None, mandatory_by="2028")


def test_changing_a_plans_tables_changes_none_of_its_figures(study):
    # plan.sites and plan.villages were the tables the KPIs, summary and comparisons read:
    # after notebook lines like these, plan.kpis failed with KeyError: 'action' (or, with
    # the column kept, counted no mandatory village covered), while plan.write() stayed right
    plan = study.plan(**FAST)
    # the same plan with none of its tables computed yet (solving twice may stop at two
    # plans within the gap: the time each stage gets depends on the machine's load)
    twin = dataclasses.replace(plan)
    sites, villages = plan.sites, plan.villages
    sites["capex_m_cny"] = sites["capex_cny"] / 1e6
    sites.loc[:, "total_cost_cny"] = 0.0
    del sites["action"]
    villages["covered_after"] = False
    del villages["village_id"]
    assert "capex_m_cny" in plan.sites  # the caller's table keeps the caller's changes
    assert plan.kpis == twin.kpis
    assert plan.kpis.mandatory_villages_covered > 0 and plan.kpis.total_cost_cny > 0
    summary, expected = plan.summary(), twin.summary()
    summary.pop("timings_s"), expected.pop("timings_s")
    assert summary == expected
    comparison = study.compare(plan, twin)
    assert comparison.villages.empty and set(comparison.sites["status"]) == {"both"}

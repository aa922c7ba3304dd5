"""The top-level Python API on the demo region: one call of each, as a notebook makes them."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from typer.testing import CliRunner

import siting
from siting import pipeline
from siting.cli import app
from siting.compare import write_comparison

pytestmark = pytest.mark.skipif(not pipeline.DEMO_SCENARIO.exists(),
                                reason=f"demo data not generated: {pipeline.DEMO_SCENARIO}")


@pytest.fixture(scope="module")
def coverage_builds():
    """Each in-process coverage computation, counted for the whole module."""
    calls = []
    build = pipeline.build_coverage_in_steps

    def counted(*args, **kwargs):
        calls.append(args)
        return build(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "build_coverage_in_steps", counted)
        yield calls


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("coverage-cache")


@pytest.fixture(scope="module")
def study(coverage_builds, cache_dir):
    return siting.prepare(siting.load_scenario(pipeline.DEMO_SCENARIO), cache_dir=cache_dir)


@pytest.fixture(scope="module")
def plan(study):
    return study.plan()


@pytest.fixture(scope="module")
def plan2(study):
    return study.plan(budget_cny=30e6, max_new_sites=80)


def test_one_import_gives_the_api():
    assert siting.Scenario is siting.config.Scenario
    assert siting.load_scenario is siting.config.load_scenario
    assert siting.prepare is siting.study.prepare
    assert {"prepare", "Study", "PlanResult", "Kpis", "plot_curve", "ScenarioError"} <= set(dir(siting))
    assert sorted(siting.__all__) == sorted(["__version__", *siting._EXPORTS])
    assert all(getattr(siting, name) is not None for name in siting.__all__)
    with pytest.raises(AttributeError, match="no attribute 'plann'"):
        _ = siting.plann


def test_importing_siting_never_touches_matplotlibs_backend():
    code = ("import sys, matplotlib; matplotlib.use('svg'); import siting; "
            "[getattr(siting, name) for name in siting.__all__]; "
            "assert siting.propagation.free_space_loss(1000.0, 1800.0) > 90; "
            "import siting.cli, siting.study, siting.sweep, siting.export.staticmap; "
            "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend(); "
            "assert 'matplotlib.pyplot' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_prepare_reads_a_scenario_file_too(study, cache_dir):
    again = siting.prepare(pipeline.DEMO_SCENARIO, cache_dir=cache_dir)  # a cache hit
    assert isinstance(again, siting.Study)
    assert again.scenario == study.scenario
    assert (again.coverage.level_dbm != study.coverage.level_dbm).nnz == 0


def test_plan_solves_the_scenarios_objective(study, plan):
    assert isinstance(plan, siting.PlanResult)
    assert plan.scenario == study.scenario
    assert plan.kpis.solver_status in ("optimal", "feasible")
    assert 30e6 < plan.kpis.total_cost_cny <= study.scenario.objective.budget_cny
    assert plan.kpis.new_sites <= study.scenario.objective.max_new_sites


def test_plan2_follows_its_budget_and_quota(study, plan, plan2):
    assert plan2.scenario.objective.budget_cny == 30e6
    assert plan2.scenario.objective.max_new_sites == 80
    assert study.scenario.objective.budget_cny == 45e6  # the study's scenario is unchanged
    assert plan2.kpis.total_cost_cny <= 30e6 < plan.kpis.total_cost_cny
    assert plan2.kpis.new_sites <= 80 < plan.kpis.new_sites
    assert plan2.kpis.people_covered_after < plan.kpis.people_covered_after
    assert plan2.coverage is study.coverage is plan.coverage


def test_coverage_is_computed_once(study, plan, plan2, coverage_builds):
    study.sweep(max_new_sites=[10], mip_gap=0.01)
    assert len(coverage_builds) == 1


def test_tables_and_typed_kpis(plan):
    sites, villages, kpis = plan.sites, plan.villages, plan.kpis
    assert isinstance(sites, gpd.GeoDataFrame) and isinstance(villages, gpd.GeoDataFrame)
    assert sites.crs == villages.crs == plan.region.crs
    assert len(sites) == len(plan.region.candidates)
    assert isinstance(kpis, siting.Kpis)
    assert kpis.new_sites == (sites["action"] == "build").sum()
    assert kpis.upgrades == (sites["action"] == "upgrade").sum()
    assert kpis.villages_total == len(villages)
    assert kpis.villages_covered_after == villages["covered_after"].sum()
    mandatory = villages[villages["mandatory"]]
    assert 0 < kpis.mandatory_villages_covered_before == mandatory["covered_before"].sum() \
        < kpis.mandatory_villages_covered
    assert kpis.zone_points_covered_5g_before <= kpis.zone_points_covered_5g
    assert kpis.people_covered_pct == pytest.approx(
        100 * kpis.people_covered_after / kpis.people_total)
    assert isinstance(kpis.new_sites, int) and isinstance(kpis.total_cost_cny, float)


def test_summary_is_summary_json_as_a_dict(plan):
    summary = plan.summary()
    assert summary["scenario"] == "demo-ankang"
    assert summary["kpis"]["total_cost_cny"] == plan.kpis.total_cost_cny
    assert summary["solver"]["status"] == plan.kpis.solver_status
    summary["kpis"].clear()  # a copy: the plan's own is untouched
    assert plan.summary()["kpis"]["new_sites"] == plan.kpis.new_sites


def test_map_is_a_folium_map(plan):
    fmap = plan.map()
    assert isinstance(fmap, folium.Map)
    assert "demo-ankang" in fmap.get_root().render()


def test_plot_draws_on_the_given_axes(plan):
    figure = Figure()
    ax = figure.add_subplot()
    assert plan.plot(ax=ax) == (figure, ax)
    assert "demo-ankang" in ax.get_title()
    assert len(ax.images) == 2  # hillshade and coverage classes
    assert ax.get_legend() is not None


def test_plot_without_axes_makes_a_figure(plan):
    import matplotlib.pyplot as plt

    fig, ax = plan.plot()
    try:
        assert isinstance(fig, Figure) and ax.figure is fig
        assert ax.get_xlim()[1] > ax.get_xlim()[0]
    finally:
        plt.close(fig)


def test_write_gives_what_siting_run_writes(plan, cache_dir, tmp_path, monkeypatch):
    assert plan.write(tmp_path / "api") == tmp_path / "api"
    monkeypatch.setenv("SITING_CACHE_DIR", str(cache_dir))  # the study's coverage
    result = CliRunner().invoke(app, ["run", str(pipeline.DEMO_SCENARIO), "--out",
                                      str(tmp_path / "cli"), "--quiet"])
    assert result.exit_code == 0, result.output + result.stderr
    for name in pipeline.OUTPUT_FILES:
        assert (tmp_path / "api" / name).stat().st_size > 0, name
    api, cli = (json.loads((tmp_path / d / "summary.json").read_text()) for d in ("api", "cli"))
    api.pop("timings_s"), cli.pop("timings_s")
    assert api == cli
    csv = [(tmp_path / d / "selected_sites.csv").read_bytes() for d in ("api", "cli")]
    assert csv[0] == csv[1]


def test_sweep_gives_the_cost_coverage_curve(study, plan):
    curve = study.sweep(budgets_cny=[45e6, 30e6])
    assert isinstance(curve, pd.DataFrame)
    assert list(curve["budget_cny"]) == [30e6, 45e6]
    assert (curve["cost_cny"] <= curve["budget_cny"]).all()
    at_budget = curve.iloc[-1]  # the scenario's own objective: the plan's figures
    assert at_budget["cost_cny"] == pytest.approx(plan.kpis.total_cost_cny, rel=1e-3)
    assert at_budget["people_covered_pct"] == pytest.approx(plan.kpis.people_covered_pct, rel=1e-3)
    figure = Figure()
    assert siting.plot_curve(curve, ax=figure.add_subplot())[0] is figure
    assert "demo-ankang" in figure.axes[0].get_title()


def test_plan_restricted_to_one_technology(study):
    plan = study.plan(technologies=["4G-1800"], mip_gap=0.01)
    built = plan.sites[plan.sites["action"].isin(["build", "upgrade"])]
    assert len(built) and set(built["technology"]) == {"4G-1800"}
    kept = plan.sites[plan.sites["action"] == "keep"]
    assert (kept["kind"] == "existing_5g").any()  # the 5G network stays on air


@pytest.mark.parametrize("overrides, message", [
    ({"budget": 1e6}, "unknown key 'budget' (did you mean 'budget_cny'?); valid keys: type, "
                      "budget_cny, max_new_sites, opex_years, phases, discount_rate, "
                      "mandatory_by, time_limit_s, mip_gap, technologies"),
    ({"budget_cny": -1}, "objective.budget_cny: must be >= 0"),
    ({"type": "cheapest"}, "objective.type: must be one of min_cost, max_coverage"),
    ({"mip_gap": 2}, "solver.mip_gap: must be < 1, got 2"),
    ({"phases": [{"year": 2027}]}, "objective.phases[0]: needs budget_cny and/or max_new_sites"),
    ({"technologies": ["6G"]}, "technologies: unknown '6G'; the scenario's technologies are "
                               "4G-1800, 5G-3500"),
    ({"technologies": 5}, "technologies: expected a list of technology names such as "
                          "['4G-1800'], got 5"),  # was a TypeError: 'int' object is not iterable
])
def test_plan_refuses_a_bad_override(study, overrides, message):
    with pytest.raises(siting.ScenarioError) as error:
        study.plan(**overrides)
    assert str(error.value).startswith("plan() overrides: ")
    assert message in str(error.value)


def test_sweep_refuses_to_fix_what_it_sweeps(study):
    with pytest.raises(siting.ScenarioError, match="unknown key 'budget_cny'"):
        study.sweep(budgets_cny=[1e6], budget_cny=2e6)


@pytest.mark.parametrize("series, message", [
    ({"budgets_cny": 30e6}, "sweep: budgets_cny: must be a list of values such as [10e6, 20e6], "
                            "got 30000000.0"),
    ({"budgets_cny": "10e6,20e6"}, "sweep: budgets_cny: must be a list of values"),
    ({"budgets_cny": [10e6, float("nan")]}, "sweep: budgets_cny: nan is not allowed; the values "
                                            "must be finite numbers >= 0"),
    ({"budgets_cny": [True]}, "sweep: budgets_cny: True is not allowed"),
    ({"budgets_cny": []}, "sweep: budgets_cny: the list is empty"),
    ({"max_new_sites": [10, 2.5]}, "sweep: max_new_sites: 2.5 is not allowed; the values must "
                                   "be finite whole numbers >= 0, such as [50, 100]"),
    ({"max_new_sites": [-1]}, "sweep: max_new_sites: -1 is not allowed"),
    ({}, "sweep: give exactly one of budgets_cny (a list of budgets [CNY]) and max_new_sites"),
])
def test_sweep_refuses_a_series_that_is_not_a_list_of_limits(study, series, message):
    # a scalar or a string was a TypeError from inside siting.sweep; nan, True and 2.5 were
    # swept (2.5 sites solved as 2)
    with pytest.raises(siting.ScenarioError) as error:
        study.sweep(**series)
    assert message in str(error.value)


def test_sweep_takes_a_numpy_array_of_quotas(study):
    curve = study.sweep(max_new_sites=np.array([0, 5]), mip_gap=0.01)
    assert list(curve["max_new_sites"]) == [0, 5]
    assert curve["people_covered"].iloc[0] < curve["people_covered"].iloc[1]


@pytest.mark.parametrize("change, message", [
    ({"model": "hata"}, "prepare(): technologies[4G-1800].model: must be one of okumura_hata, "
                        "cost231_hata, rma_38901, uma_38901, free_space, p1812, itm, got 'hata'"),
    ({"model": "okumura_hata"}, "prepare(): technologies[4G-1800].frequency_mhz: 1800 MHz is "
                                "outside the okumura_hata model's range 150-1500 MHz"),
    ({"eirp_dbm": "61"}, "prepare(): technologies[4G-1800].eirp_dbm: must be a finite number"),
    ({"generation": "3G"}, "prepare(): technologies[4G-1800].generation: must be one of 4G, 5G"),
    ({"name": "5G-3500"}, "prepare(): technologies[5G-3500]: duplicate technology name"),
])
def test_prepare_checks_technologies_changed_in_python(change, message):
    # an unknown model was a KeyError from config.beyond_validity; a model outside its
    # frequency range, a 3G generation or a duplicate name were planned without a word
    scenario = siting.load_scenario(pipeline.DEMO_SCENARIO)
    first, *others = scenario.technologies
    changed = dataclasses.replace(scenario, technologies=(dataclasses.replace(first, **change),
                                                          *others))
    with pytest.raises(siting.ScenarioError) as error:
        siting.prepare(changed)
    assert message in str(error.value)


@pytest.mark.parametrize("change, message", [
    ({"grid_m": 0}, "prepare(): demand.grid_m: must be >= 30, got 0"),
    ({"ue_height_m": "1.5"}, "prepare(): demand.ue_height_m: must be a finite number, got '1.5'"),
    ({"mandatory_all_villages": "no"}, "prepare(): demand.mandatory.all_villages: "),
    ({"min_people_per_cell": -1}, "prepare(): demand.min_people_per_cell: must be >= 0, got -1"),
])
def test_prepare_checks_demand_rules_changed_in_python(change, message):
    # grid_m 0 was planned on 62,550 demand points; a height as text or a mandatory flag as
    # text was a TypeError from inside config or demand
    scenario = siting.load_scenario(pipeline.DEMO_SCENARIO)
    changed = dataclasses.replace(scenario, demand=dataclasses.replace(scenario.demand, **change))
    with pytest.raises(siting.ScenarioError) as error:
        siting.prepare(changed)
    assert message in str(error.value)


def test_a_technology_changed_to_itm_in_python_gets_the_itm_defaults():
    scenario = siting.load_scenario(pipeline.DEMO_SCENARIO)
    first, *others = scenario.technologies
    changed = dataclasses.replace(scenario, technologies=(dataclasses.replace(first, model="itm"),
                                                          *others))
    checked = siting.study.scenario_checked(changed)
    assert checked.technologies[0].itm == siting.config.ItmSettings()
    assert checked.technologies[1:] == scenario.technologies[1:]
    for path in sorted(pipeline.DEMO_SCENARIO.parent.glob("scenario*.yaml")):
        loaded = siting.load_scenario(path)
        assert siting.study.scenario_checked(loaded) == loaded, path  # as it was


def test_scenario_technology_names_the_scenarios_technologies(study):
    assert study.scenario.technology("5G-3500").frequency_mhz == 3500
    with pytest.raises(siting.ScenarioError, match="no technology '6G'; the scenario's "
                                                   "technologies are 4G-1800, 5G-3500"):
        study.scenario.technology("6G")  # was a bare StopIteration


def test_prediction_shows_a_one_line_summary(study):
    area = study.predict(site="S0100", technology="4G-1800", radius_km=2)
    level = area.level_dbm[np.isfinite(area.level_dbm)]
    assert repr(area) == (f"<PredictionResult S0100 4G-1800 (rma_38901, antenna "
                          f"{area.height_m:g} m): {level.size:,} cells within 2 km, level "
                          f"{level.min():.1f} to {level.max():.1f} dBm>")
    assert area.height_m == study.region.candidates.set_index("site_id").loc[
        "S0100", "antenna_height_m"]
    # the dataclass repr printed every grid and the whole DEM: some 50 lines of numbers
    assert "\n" not in repr(area) and "array" not in repr(area)


def test_prediction_covered_share_counts_the_cells_within_the_radius(study):
    # backhaul_study.ipynb took np.nanmean(level >= threshold) over the whole square window,
    # whose corners (NaN, beyond the radius) counted as not covered: 46 % for 58 %
    area = study.predict(site="S0100", technology="4G-1800", radius_km=2)
    transform = area.transform
    rows, cols = np.indices(area.level_dbm.shape)
    x_m = transform.c + (cols + 0.5) * transform.a + (rows + 0.5) * transform.b
    y_m = transform.f + (cols + 0.5) * transform.d + (rows + 0.5) * transform.e
    inside = np.hypot(x_m - area.site_x_m, y_m - area.site_y_m) <= area.radius_m
    for threshold_dbm in (-110.0, -90.0):
        reached = inside & (np.nan_to_num(area.level_dbm, nan=-np.inf) >= threshold_dbm)
        assert area.covered_pct(threshold_dbm) == pytest.approx(
            100 * reached.sum() / inside.sum(), rel=1e-12)
    assert area.covered_pct(-110.0) > 100 * np.nanmean(area.level_dbm >= -110.0) + 5


def test_compare_tells_two_plans_of_one_study_apart(study, plan, plan2, tmp_path):
    # both were named 'demo-ankang': comparison.html read "demo-ankang vs demo-ankang" and
    # its map had two layers of that one name
    comparison = study.compare(plan, plan2)
    assert (comparison.name_a, comparison.name_b) == ("demo-ankang (A)", "demo-ankang (B)")
    html = (write_comparison(comparison, tmp_path) / "comparison.html").read_text(encoding="utf-8")
    assert "demo-ankang (A) vs demo-ankang (B)" in html
    named = study.compare(plan, plan2, names=("45 M CNY", "30 M CNY"))
    assert (named.name_a, named.name_b) == ("45 M CNY", "30 M CNY")
    pd.testing.assert_frame_equal(named.kpis, comparison.kpis)
    deltas = named.kpis.set_index("name")["delta"]
    assert deltas["total_cost_cny"] == pytest.approx(plan2.kpis.total_cost_cny
                                                     - plan.kpis.total_cost_cny)
    assert deltas["new_sites"] == plan2.kpis.new_sites - plan.kpis.new_sites


@pytest.mark.parametrize("plans, names, message", [
    (("out/a", "out/b"), None, "compare(): plan_a must be a plan of Study.plan(), got str; "
                               "compare two output folders with siting.compare.compare_folders"),
    ((None, None), None, "compare(): plan_a must be a plan of Study.plan(), got NoneType"),
    (("plan", "out/b"), None, "compare(): plan_b must be a plan of Study.plan(), got str"),
    (("plan", "plan"), ("only one",), "compare(): names must be two labels"),
])
def test_compare_refuses_what_is_not_a_plan(study, plan, plans, names, message):
    # a folder or None was an AttributeError: 'str' object has no attribute 'comparison_inputs'
    given = [plan if p == "plan" else p for p in plans]
    with pytest.raises(siting.InputError) as error:
        study.compare(*given, names=names)
    assert message in str(error.value)


@pytest.mark.parametrize("given", [None, {"name": "demo"}, 3])
def test_prepare_refuses_what_is_neither_a_scenario_nor_a_path(given):
    # was a TypeError from pathlib: expected str, bytes or os.PathLike object, not dict
    with pytest.raises(siting.ScenarioError, match=r"prepare\(\): scenario must be a "
                                                   r"siting.Scenario \(siting.load_scenario\) or "
                                                   r"a scenario file's path, got "):
        siting.prepare(given)


def test_a_plan_with_backhaul_shows_what_it_costs_with_its_backhaul(tmp_path):
    # the repr showed the sites' cost alone: 19.45 M CNY for a demo plan costing 42.82 M CNY
    from test_backhaul_plan import write_backhaul_region

    study = siting.prepare(write_backhaul_region(tmp_path / "region"))
    plan = study.plan()
    kpis = plan.kpis
    assert kpis.backhaul_cost_cny > 0
    assert (f", {kpis.total_cost_cny / 1e6:,.2f} M CNY (sites {kpis.site_cost_cny / 1e6:,.2f}, "
            f"backhaul {kpis.backhaul_cost_cny / 1e6:,.2f}), ") in repr(plan)
    without = study.plan(backhaul={"enabled": False})
    assert without.kpis.backhaul_cost_cny == 0
    assert f", {without.kpis.total_cost_cny / 1e6:,.2f} M CNY, " in repr(without)


@pytest.mark.parametrize("arguments, error, message", [
    ({"at": "109.0,32.7", "height_m": 30}, siting.InputError,
     "predict(): at must be (longitude, latitude) in degrees, such as (109.03, 32.68), got "
     "'109.0,32.7'"),
    ({"at": (109.0, 32.7, 30.0), "height_m": 30}, siting.InputError,
     "predict(): at must be (longitude, latitude)"),
    ({"site": "S0100", "height_m": "30"}, siting.InputError,
     "predict(): height_m must be a number of metres, got '30'"),
    ({"site": ["S0100", "S0101"]}, siting.InputError,
     "predict(): site must be one candidate's site_id (a str), got ['S0100', 'S0101']"),
    ({"site": "S0100", "model": "itm", "itm": {"climat": 4}}, siting.ScenarioError,
     "predict(): technologies[4G-1800].itm.climat: unknown key (did you mean 'climate'?)"),
    ({"site": "S0100", "model": "itm", "itm": {"climate": 9}}, siting.ScenarioError,
     "predict(): technologies[4G-1800].itm.climate: must be <= 7, got 9"),
    ({"site": "S0100", "model": "itm", "itm": 5}, siting.ScenarioError,
     "predict(): itm must be a siting.config.ItmSettings or a mapping of itm keys"),
])
def test_predict_refuses_arguments_of_the_wrong_kind(study, arguments, error, message):
    # each was a TypeError or an AttributeError from inside siting.predict
    with pytest.raises(error) as raised:
        study.predict(technology="4G-1800", radius_km=2, **arguments)
    assert message in str(raised.value)


def test_predict_reads_itm_settings_given_as_a_mapping(study):
    from siting.config import ItmSettings

    given = study.predict(site="S0100", technology="4G-1800", radius_km=2, model="itm",
                          itm={"climate": 4, "epsilon": 25})
    same = study.predict(site="S0100", technology="4G-1800", radius_km=2, model="itm",
                         itm=ItmSettings(climate=4, epsilon=25.0))
    default = study.predict(site="S0100", technology="4G-1800", radius_km=2, model="itm")
    np.testing.assert_array_equal(given.path_loss_db, same.path_loss_db)
    assert not np.array_equal(given.path_loss_db, default.path_loss_db, equal_nan=True)


@pytest.mark.parametrize("objective", [{}, {"kind": "min_cost", "budget_cny": None,
                                            "phases": ()}])
def test_a_scenario_shows_as_one_short_line_with_its_content_at_hand(objective):
    """A notebook cell showing a Scenario printed the whole nested dataclass (thousands of
    characters on one line); now one short line, every section still an attribute."""
    scenario = siting.load_scenario(pipeline.DEMO_SCENARIO)
    scenario = dataclasses.replace(
        scenario, objective=dataclasses.replace(scenario.objective, **objective))
    text = repr(scenario)
    assert "\n" not in text and len(text) < 120, text
    budget_cny = scenario.objective.total_budget_cny
    budget = "no budget" if budget_cny is None else f"budget {budget_cny / 1e6:,.2f} M CNY"
    assert text == (f"<Scenario {scenario.name!r}: CRS {scenario.crs}, "
                    f"{len(scenario.technologies)} technologies, {scenario.objective.kind}, "
                    f"{budget}>")
    assert dataclasses.asdict(scenario)["technologies"][0]["name"] == \
        scenario.technologies[0].name

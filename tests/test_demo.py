"""The bundled demo region, end to end: the plan the README's `make demo` shows."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree

import geopandas as gpd
import pandas as pd
import pytest
import rasterio

from regions import GAP_TEST_TIME_LIMIT_S, planned_run
from siting.config import load_scenario
from siting.pipeline import DEMO_SCENARIO, OUTPUT_FILES, compute, write_outputs
from siting.plan import REASON_BELOW_THRESHOLD, REASON_NO_CANDIDATE


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return planned_run(DEMO_SCENARIO, tmp_path_factory.mktemp("demo"),
                       time_limit_s=GAP_TEST_TIME_LIMIT_S)


def test_demo_region_looks_like_the_real_problem(demo):
    run, summary, _ = demo
    assert run.region.crs.to_epsg() == 32649
    assert len(run.region.villages) >= 300
    assert len(run.region.candidates) >= 1000
    relief = run.region.terrain.elevation_m.max() - run.region.terrain.elevation_m.min()
    assert 1000 <= relief <= 2500
    assert summary["kpis"]["people_total"] > 100_000


def test_demo_plan_is_solved_to_a_proven_small_gap(demo):
    _, summary, _ = demo
    assert summary["solver"]["status"] in ("optimal", "feasible", "time_limit")
    assert summary["solver"]["gap"] <= 0.001 + 1e-9


def test_demo_covers_every_reachable_mandatory_village(demo):
    _, summary, _ = demo
    reasons = {u["reason"] for u in summary["uncovered_mandatory_villages"]}
    assert reasons <= {REASON_NO_CANDIDATE, REASON_BELOW_THRESHOLD}
    k = summary["kpis"]
    assert k["mandatory_villages_covered"] == k["mandatory_villages_reachable"]
    assert k["people_covered_after"] > k["people_covered_before"]


def test_demo_summary_agrees_with_the_gis_layers(demo):
    _, summary, out = demo
    assert json.loads((out / "summary.json").read_text()) == summary
    candidates = gpd.read_file(out / "sites.gpkg", layer="candidates")
    built = candidates[candidates["action"] == "build"]
    upgraded = candidates[candidates["action"] == "upgrade"]
    k = summary["kpis"]
    assert k["new_sites"] == len(built)
    assert k["upgrades"] == len(upgraded)
    assert k["total_cost_cny"] == pytest.approx(candidates["total_cost_cny"].sum(), abs=1.0)
    selected = gpd.read_file(out / "sites.gpkg", layer="selected_sites")
    assert len(selected) == int(candidates["selected"].sum())
    villages = gpd.read_file(out / "sites.gpkg", layer="villages")
    assert k["villages_covered_after"] == int(villages["covered_after"].sum())
    assert k["mandatory_villages_covered"] == int((villages["mandatory"] & villages["covered_after"]).sum())
    demand = gpd.read_file(out / "sites.gpkg", layer="demand")
    # People are counted on cells and villages (a village's listed people leave its cell).
    assert k["people_covered_after"] == pytest.approx(demand.loc[demand["covered_after"], "people"].sum(), rel=1e-9)
    with rasterio.open(out / "coverage.tif") as src:
        assert src.crs.to_epsg() == 32649
        assert src.read(1, masked=True).count() > 0


def test_demo_counts_an_upgrade_under_the_technology_it_gets(demo):
    """An existing 4G site upgraded to 5G is built 5G, not 4G: its ``technology_built`` is the
    added technology alone, and the by-technology counts (the report's table, map.png's
    legend) add up to the sites built and upgraded, each once."""
    _, summary, out = demo
    candidates = gpd.read_file(out / "sites.gpkg", layer="candidates")
    upgraded = candidates[candidates["action"] == "upgrade"]
    assert len(upgraded) >= 1
    for _, site in upgraded.iterrows():
        on_air, built = site["technology"].split("+"), site["technology_built"].split("+")
        assert set(built) < set(on_air), site["site_id"]
    built = candidates[candidates["action"] == "build"]
    assert (built["technology_built"] == built["technology"]).all()
    by_technology = summary["by_technology"]
    assert all("+" not in label for label in by_technology), by_technology
    k = summary["kpis"]
    assert sum(v["sites"] for v in by_technology.values()) == k["new_sites"] + k["upgrades"]
    assert sum(v["cost_cny"] for v in by_technology.values()) == pytest.approx(
        k["site_cost_cny"], abs=1.0)


def test_demo_plan_beats_the_simple_rules(demo):
    _, summary, _ = demo
    plans = {b["label"]: b for b in summary["baselines"]}
    optimal = plans["optimal plan (siting)"]
    budget = summary["objective"]["budget_cny"]
    assert optimal["cost_cny"] <= budget + 1
    for label in ("greedy (value per yuan)", "existing sites only"):
        assert (optimal["mandatory_covered"], optimal["people_covered"]) >= (
            plans[label]["mandatory_covered"], plans[label]["people_covered"])


def test_demo_map_and_report_stay_small(demo):
    run, _, out = demo
    assert (out / "map.html").stat().st_size < 15e6
    assert (out / "report.html").stat().st_size < 8e6
    page = (out / "map.html").read_text(encoding="utf-8")
    for tech in run.scenario.technologies:
        assert f"Coverage {tech.name} (RSRP)" in page


def test_demo_writes_every_output_and_the_site_lists_agree(demo):
    _, summary, out = demo
    assert all((out / name).stat().st_size > 0 for name in OUTPUT_FILES)
    built = pd.read_csv(out / "selected_sites.csv")
    built = built[built["action"].isin(["build", "upgrade"])]
    assert len(built) == summary["kpis"]["new_sites"] + summary["kpis"]["upgrades"]
    kml = ElementTree.parse(out / "sites.kml").getroot()
    placemarks = kml.findall(".//{http://www.opengis.net/kml/2.2}Placemark")
    assert len(placemarks) >= len(built)


def test_demo_twice_gives_a_byte_identical_summary(demo, tmp_path):
    _, _, out = demo
    write_outputs(compute(load_scenario(DEMO_SCENARIO)), tmp_path)

    def without_timings(path):
        """The file's bytes with only the timings_s block cut out."""
        raw = path.read_bytes()
        cut = re.sub(rb'\n  "timings_s": \{[^}]*\},?', b"", raw)
        assert cut != raw
        return cut

    assert without_timings(tmp_path / "summary.json") == without_timings(out / "summary.json")

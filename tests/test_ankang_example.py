"""The real Ankang example end to end: counties as a Shapefile, villages as an XLSX sheet with
Chinese headers in GCJ-02, candidates as CSV, the coarse real DEM in geographic tiles, no
population raster, outputs in Chinese (``scripts/make_ankang_example.py``)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from siting.config import load_scenario
from siting.export.tables import site_table, village_table
from siting.pipeline import compute, write_outputs
from test_language import glyph_trouble

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "real"
COUNTIES = ("汉滨区", "汉阴县", "石泉县", "宁陕县", "紫阳县", "岚皋县", "平利县", "镇坪县", "旬阳县", "白河县")

pytestmark = pytest.mark.skipif(not (SHARED / "admin_boundaries").is_dir(),
                                reason=f"the shared real-data folder {SHARED} is not there")


def _example_module():
    spec = importlib.util.spec_from_file_location("make_ankang_example",
                                                  ROOT / "scripts" / "make_ankang_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ankang(tmp_path_factory):
    """The example built, planned and written (the map drawn under the glyph check)."""
    folder = tmp_path_factory.mktemp("ankang")
    scenario = _example_module().make_example(SHARED, folder / "in")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SITING_CACHE_DIR", str(folder / "cache"))
        run = compute(load_scenario(scenario))
        trouble = glyph_trouble(lambda: write_outputs(run, folder / "out"))
    return run, folder / "out", trouble


def test_the_inputs_are_written_the_way_planners_write_them(ankang):
    run, _, _ = ankang
    folder = run.scenario.path.parent
    with pd.ExcelFile(folder / "villages.xlsx") as book:
        assert book.sheet_names == ["说明", "村庄"]
    assert (folder / "counties.shp").exists() and (folder / "sites.csv").read_bytes()[:3] == b"\xef\xbb\xbf"
    assert len(list((folder / "dem_tiles").glob("*.tif"))) == 4
    assert run.scenario.inputs.population is None and run.scenario.outputs.language == "zh"


def test_demand_is_the_real_settlements_at_their_wgs84_places(ankang):
    run, _, _ = ankang
    demand = run.demand
    assert set(demand.kind) == {"village"}  # no population raster: the villages are the demand
    geonames = pd.read_csv(SHARED / "settlements_geonames" /
                           "geonames_cities500_CN_bbox_107.5-110.75E_31.0-34.5N.csv")
    wanted = geonames.set_index(geonames["geonameid"].astype(str))
    villages = run.region.villages.to_crs("EPSG:4326")
    assert float(demand.people.sum()) == float(wanted.loc[villages.index, "population"].sum())
    # The sheet holds GCJ-02 (hundreds of metres off); the run must put them back on GeoNames'.
    geod_m = gpd.GeoSeries(gpd.points_from_xy(wanted.loc[villages.index, "longitude"],
                                              wanted.loc[villages.index, "latitude"]),
                           index=villages.index, crs="EPSG:4326").to_crs(run.region.crs)
    assert geod_m.distance(run.region.villages.geometry).max() < 1.0


def test_every_county_is_reported_with_zeros_where_it_has_nothing(ankang):
    _, out, _ = ankang
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    by_county = summary["by_admin_unit"]
    assert set(COUNTIES) <= set(by_county)
    assert by_county["白河县"]["villages"] == 0 and by_county["镇坪县"]["villages"] == 0
    assert by_county["汉滨区"]["villages"] == 2


def test_outputs_are_in_chinese_and_keep_the_planners_columns(ankang):
    run, out, trouble = ankang
    assert trouble == []  # map.png drew every Chinese glyph
    assert (out / "map.png").stat().st_size > 50_000
    report = (out / "report.html").read_text(encoding="utf-8")
    assert all(county in report for county in COUNTIES)
    assert "安康市示例" in report  # the scenario name
    sites = pd.read_csv(out / "selected_sites.csv")
    assert "站名" in sites.columns and sites["站名"].str.contains("[\u4e00-\u9fff]").all()
    assert "站名" in gpd.read_file(out / "sites.gpkg", layer="selected_sites").columns
    assert len(site_table(run)) == len(run.region.candidates)
    assert "村名" not in village_table(run).columns  # mapped to name, not carried twice


def test_the_committee_map_renders_in_chinese_with_no_network(ankang, tmp_path):
    from siting.export.tables import plan_tables
    from siting.export.webmap import region_bounds_deg
    from test_browser import chromium_binary, page_errors, requested_hosts, visit_page

    run, out, _ = ankang
    south, west, north, east = region_bounds_deg(plan_tables(run))
    visit = visit_page(chromium_binary(), out / "map.html", [[south, west], [north, east]],
                       tmp_path / "chromium")
    state = visit.state
    assert state["lang"] == "zh-CN" and state["tileLayers"] == 0  # basemap: none
    assert state["siteMarkers"] >= 8 and state["imageLayers"] >= 2 and state["regionInView"]
    assert "图例" in state["legend"] and any("区县" in o or "行政" in o for o in state["overlays"])
    assert page_errors(visit, None) == [] and requested_hosts(visit) == set()

"""The GIS and comparison outputs as a planner opens them: sites.gpkg and sites.kml read back
by GDAL's own tools (gdal-bin's ogrinfo/ogr2ogr, often older than the GDAL siting writes with)
and by pyogrio, a Shapefile made from sites.gpkg as the README says, and the comparison's KPI
tables against the report's order.

A tiny phased region (:func:`tests.regions.one_site_a_year_region`: S1 in 2027, S2 in 2028, S3
in 2029), planned, then re-planned from an as-built list that built S1 in 2027."""

from __future__ import annotations

import html
import re
import subprocess
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from siting.compare import compare_folders, render_comparison
from siting.export.gis import write_layers
from siting.export.i18n import TERMS, value_text
from siting.export.kml import KML_NAMESPACE
from siting.export.report import ADMIN_UNIT_COLUMNS
from siting.pipeline import run_scenario
from tests.regions import CRS, candidate, one_site_a_year_region, village
from tests.gdal_tools import gdal_tool, tool_output

KML = {"k": KML_NAMESPACE}


def _plan_and_replan(folder, language: str):
    """(plan folder, re-plan folder) of the tiny region in ``language``; the re-plan's
    as-built list built S1 in 2027."""
    villages = [village("V1", 1000, 3000, population=300), village("V2", 3000, 3000, population=200),
                village("V3", 5000, 3000, population=100)]
    candidates = [candidate(s, x, 3000, techs="4G") for s, x in (("S1", 1000), ("S2", 3000), ("S3", 5000))]
    scenario = one_site_a_year_region(folder / "in", villages, candidates, report={"language": language})
    run_scenario(scenario, folder / "plan")
    built = folder / "built.csv"
    pd.DataFrame([("S1", "4G-1800", 2027, 200000)],
                 columns=["site_id", "technology", "year", "cost_cny"]).to_csv(built, index=False)
    run_scenario(scenario, folder / "replan", as_built=built)
    return folder / "plan", folder / "replan"


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    return _plan_and_replan(tmp_path_factory.mktemp("qa_gisout_zh"), "zh")


@pytest.fixture(scope="module")
def plans_en(tmp_path_factory):
    return _plan_and_replan(tmp_path_factory.mktemp("qa_gisout_en"), "en")


def _field_types(ogrinfo_summary: str) -> dict[str, str]:
    """field name -> type of ``ogrinfo -so`` (``phase: Integer64 (0.0)``)."""
    return dict(re.findall(r"^(\w+): (\w+) \(", ogrinfo_summary, flags=re.M))


def _site_ids(ogrinfo_listing: str) -> list[str]:
    return re.findall(r"site_id \(String\) = (\S+)", ogrinfo_listing)


def test_years_are_integer_fields_a_gis_filters_as_numbers(plans, tmp_path):
    """phase and built_year were text fields: QGIS's ``built_year <= 2027`` compared strings
    and a blank year was "" rather than NULL. Both are integers now, NULL where a site has
    none, in sites.gpkg, in a Shapefile made from it and in sites.kml."""
    _, replan = plans
    csv = pd.read_csv(replan / "selected_sites.csv", dtype=str, keep_default_na=False)
    expected_phase = dict(zip(csv["site_id"], csv["phase"]))  # text, "" where none
    assert expected_phase == {"S1": "", "S2": "2028", "S3": "2029"}
    gpkg = replan / "sites.gpkg"
    ogrinfo = gdal_tool("ogrinfo")
    types = _field_types(tool_output(ogrinfo, "-so", str(gpkg), "selected_sites"))
    assert types["phase"] == types["built_year"] == "Integer64"
    assert _site_ids(tool_output(ogrinfo, str(gpkg), "selected_sites", "-where", "built_year <= 2027")) == ["S1"]
    assert _site_ids(tool_output(ogrinfo, str(gpkg), "selected_sites", "-where", "phase IS NULL")) == ["S1"]
    later = _site_ids(tool_output(ogrinfo, str(gpkg), "selected_sites", "-where", "phase >= 2028"))
    assert later == [s for s, p in expected_phase.items() if p and int(p) >= 2028]
    shapefile = tmp_path / "sites.shp"  # as the README hands a layer on
    tool_output(gdal_tool("ogr2ogr"), "-lco", "ENCODING=UTF-8", str(shapefile), str(gpkg), "selected_sites")
    types = _field_types(tool_output(ogrinfo, "-so", str(shapefile), "sites"))
    assert types["phase"].startswith("Integer") and types["built_year"].startswith("Integer")
    read = pyogrio.read_dataframe(replan / "sites.kml", layer=0)
    info = pyogrio.read_info(replan / "sites.kml", layer=0)
    kml_types = dict(zip(info["fields"], info["ogr_types"]))
    assert kml_types["phase"] == kml_types["built_year"] == "OFTInteger"
    phases = dict(zip(read["Name"], read["phase"]))
    assert {s: "" if np.isnan(p) else str(int(p)) for s, p in phases.items()} == expected_phase


def test_year_labels_that_are_not_whole_numbers_stay_text(tmp_path):
    """A phase may be labelled 2027H1: such a column stays text, a blank label NULL."""
    layer = gpd.GeoDataFrame({"site_id": ["A", "B"], "phase": ["2027H1", ""]},
                             geometry=[shapely.Point(0, 0), shapely.Point(1, 1)], crs=CRS)
    path = tmp_path / "sites.gpkg"
    write_layers(path, {"selected_sites": layer})
    info = pyogrio.read_info(path)
    assert info["ogr_types"][list(info["fields"]).index("phase")] == "OFTString"
    read = pyogrio.read_dataframe(path)
    assert read["phase"].iloc[0] == "2027H1" and pd.isna(read["phase"].iloc[1])
    null = tool_output(gdal_tool("ogrinfo"), str(path), "selected_sites", "-where", "phase IS NULL")
    assert _site_ids(null) == ["B"]


def test_a_plan_and_its_replan_compare_by_year_after_the_years_became_numbers(plans):
    """sites.gpkg's integer years are read back as the plan's year labels: the as-built S1
    counts in 2027 (its built_year), and the sites built in the same year are alike."""
    plan, replan = plans
    sites = compare_folders(plan, replan).sites.set_index("site_id")
    assert sites.loc["S1", "phase_b"] == "2027" and sites.loc["S2", "phase_a"] == "2028"
    assert set(sites["status"]) == {"both"}


def test_kml_flags_read_true_in_gdal_3_6(plans):
    """SimpleData ``true`` of a ``bool`` field read as 0 in GDAL 3.6 (Debian 12's ogrinfo, the
    QGIS of that age): every site of the plan read ``selected = 0``. xsd:boolean's 1/0 reads
    right in both GDALs and Google Earth."""
    _, replan = plans
    listing = subprocess.run([gdal_tool("ogrinfo"), "-al", str(replan / "sites.kml")],
                             capture_output=True, text=True, check=True)
    assert "parsed incompletely" not in listing.stderr, listing.stderr
    gpkg = pyogrio.read_dataframe(replan / "sites.gpkg", layer="selected_sites")
    read = [int(v) for v in re.findall(r"^  existing \(Integer\) = (\d)", listing.stdout, flags=re.M)]
    assert read == [int(v) for v in gpkg["existing"]] and sum(read) == 1  # the as-built S1
    assert re.findall(r"^  selected \(Integer\) = (\d)", listing.stdout, flags=re.M) == ["1"] * 3


def _balloons(path) -> list[dict[str, str]]:
    """Each site placemark's balloon as {label: cell} and its ExtendedData as {name: value}."""
    root = ET.parse(path).getroot()
    folder = root.find("k:Document/k:Folder", KML)
    shown = []
    for placemark in folder.findall("k:Placemark", KML):
        cells = re.findall(r"<th>(.*?)</th><td>(.*?)</td>", placemark.findtext("k:description", namespaces=KML))
        data = {d.get("name"): d.text for d in placemark.iter(f"{{{KML_NAMESPACE}}}SimpleData")}
        shown.append(({html.unescape(k): html.unescape(v) for k, v in cells}, data))
    return shown


MONEY_FIELDS = ("capex_cny", "opex_cny_per_year", "total_cost_cny", "input_capex_cny")


def test_chinese_kml_balloons_give_money_in_wan_yuan(plans):
    """The Chinese balloons gave 310000 under 规划期总成本 [元] where every other Chinese output
    gives 31.00 万元; each amount of ExtendedData (CNY) is shown / 10,000 to 0.01 now."""
    plan, _ = plans
    balloons = _balloons(plan / "sites.kml")
    assert balloons
    for cells, data in balloons:
        for field in MONEY_FIELDS:
            label = value_text("field", field, "zh")
            assert "万元" in label
            assert cells[label] == f"{float(data[field]) / 10_000:,.2f}", (field, cells)
    costs = [float(data["total_cost_cny"]) for _, data in balloons]
    assert max(costs) >= 10_000  # an amount whose 万元 differ from its 元


def test_english_kml_balloons_keep_whole_cny(plans_en):
    plan, _ = plans_en
    for cells, data in _balloons(plan / "sites.kml"):
        for field in MONEY_FIELDS:
            assert cells[value_text("field", field, "en")] == f"{float(data[field]):,.0f}"


def _english_key(group: str, text: str, lang: str) -> str:
    """The key within ``group`` of the term whose text in ``lang`` is ``text``."""
    keys = [k for k, v in TERMS.items() if k.startswith(f"{group}.") and v[lang] == text]
    assert len(keys) == 1, (group, text, keys)
    return keys[0][len(group) + 1:]


def _tables(markdown: str) -> list[list[list[str]]]:
    """The Markdown tables of a page, each a list of rows (the header first) of cells."""
    tables, rows = [], []
    for line in markdown.splitlines() + [""]:
        if line.startswith("|"):
            if not line.startswith("|---"):
                rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            tables.append(rows)
            rows = []
    return tables


#: The amounts of the report's cost sentence, by its placeholders, as summary.json names them.
COST_KPIS = {"new_sites": "new_sites", "upgrades": "upgrades", "capex": "capex_cny",
             "opex": "opex_cny_per_year", "site": "site_cost_cny", "backhaul": "backhaul_cost_cny",
             "total": "total_cost_cny"}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_comparison_kpis_follow_the_reports_order(plans, plans_en, language):
    """comparison.md listed the KPIs in the order of their English keys: backhaul cost first,
    people between opex and the sites' cost, and by county people covered after the plan
    before people covered before it. They follow the report now: the KPIs of each row of its
    headline table, then the amounts of its cost sentence; by county, the columns of its
    table of admin units."""
    plan, replan = plans if language == "zh" else plans_en
    report = _tables((plan / "report.md").read_text(encoding="utf-8"))
    comparison = compare_folders(plan, replan)
    page = _tables(render_comparison(comparison))
    kpi_table = next(t for t in page if t[0][0] == TERMS["header.kpi"][language])
    compared = list(comparison.kpis["name"])
    assert [row[0] for row in kpi_table[1:]] == [value_text("compare_kpi", n, language) for n in compared]
    headline = [_english_key("kpi", row[0], language) for row in report[0][1:]]
    first_of_row = [min(i for i, name in enumerate(compared) if name.startswith(key))
                    for key in headline if any(name.startswith(key) for name in compared)]
    costs = [compared.index(COST_KPIS[p]) for p in
             re.findall(r"\{(\w+)", TERMS["report.costs_with_backhaul"]["en"]) if p in COST_KPIS]
    assert len(first_of_row) >= 5 and len(costs) == 7
    assert first_of_row + costs == sorted(first_of_row + costs), compared
    units = next(t for t in report if t[0][0] == TERMS["header.admin_unit"][language])
    columns = list(ADMIN_UNIT_COLUMNS)  # the report's columns (English names them alike)
    assert units[0][1:] == [TERMS[f"header.{c}"][language] for c in columns]
    by_county = comparison.by_county
    county_table = next(t for t in page if t[0][0] == TERMS["header.admin_unit"][language])
    shown = [row[1] for row in county_table[1:] if row[0] == county_table[1][0]]
    assert list(by_county.loc[by_county["county"] == by_county["county"].iloc[0], "name"]) == columns
    assert shown == [value_text("compare_kpi", c, language) for c in columns]


def test_kml_points_are_the_gpkg_sites_in_wgs84_lon_lat_order(plans):
    """Google Earth reads KML coordinates as longitude,latitude (OGC 07-147r2, 16.9): each
    site of sites.kml is its sites.gpkg point (run CRS) transformed to WGS 84 by PROJ."""
    import pyproj
    plan, _ = plans
    sites = gpd.read_file(plan / "sites.gpkg", layer="selected_sites").set_index("site_id")
    to_wgs84 = pyproj.Transformer.from_crs(sites.crs, "EPSG:4326", always_xy=True)
    root = ET.parse(plan / "sites.kml").getroot()
    placemarks = root.find("k:Document/k:Folder", KML).findall("k:Placemark", KML)
    assert len(placemarks) == len(sites)
    for placemark in placemarks:
        lon, lat = map(float, placemark.findtext("k:Point/k:coordinates", namespaces=KML).split(","))
        site = sites.loc[placemark.findtext("k:name", namespaces=KML)].geometry
        assert (lon, lat) == pytest.approx(to_wgs84.transform(site.x, site.y), abs=1e-6)

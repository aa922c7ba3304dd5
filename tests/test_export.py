"""The committee's outputs: GIS files that open in GDAL, an escaped map, the HTML report."""

from __future__ import annotations

import csv
import html
import json
import re
import subprocess
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
from pyproj import Transformer

from map_popups import with_popups
from regions import candidate, ridge_dem, village, write_region
from siting.config import load_scenario
from siting.export.gis import write_layers, write_site_csv
from siting.export.html_report import write_html_report
from siting.export.kml import write_kml
from siting.export.report import Figure, Steps, Table, build_report, render_markdown
from siting.export.tables import (plan_tables, selected_sites, site_table, uncovered_mandatory,
                                  village_table)
from siting.export.webmap import Page, esc, write_map
from siting.pipeline import compute, write_outputs
from tests.gdal_tools import gdal_tool

XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
KML = {"kml": "http://www.opengis.net/kml/2.2"}


def small_region(folder):
    """West of a ridge: an existing 4G site and two villages; east: a mandatory village only a new
    lamp-pole site reaches, and, out of every site's range, a mandatory village named like an XSS
    probe (so it is listed as uncovered); a population patch."""
    population = np.zeros((60, 120), np.float32)
    population[10:20, 5:25] = 40.0
    villages = [village("v1", 1000, 1000), village("v2", 2000, 4000, poverty=False, name="Back`${tick}\\"),
                village("v4", 4200, 1200), village("v3", 11900, 5900, name=XSS)]
    candidates = [candidate("c1", 1200, 1500), candidate("c2", 800, 3500, kind="existing_4g", capex=0.0),
                  candidate("c3", 4000, 1000, kind="lamp_pole")]
    return write_region(folder, ridge_dem(cols=400, ridge_height_m=600.0), villages, candidates,
                        population=population)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    run = compute(load_scenario(small_region(folder)))
    out = folder / "out"
    summary = write_outputs(run, out)
    write_html_report(out / "report.html", plan_tables(run))
    return run, summary, out


def web_addresses(page: str) -> set[str]:
    """Every http(s) address in a map.html outside its vendored scripts and stylesheets (where
    addresses are only comments, SVG namespaces and Leaflet's credit link), after checking that
    the page loads nothing from an address: no script src, no link tag, no CSS url(http) or @import."""
    assert not re.search(r"<script[^>]*\ssrc=|<link\b|url\(\s*['\"]?https?:|@import", page, re.IGNORECASE)
    outside = re.sub(r'<(script|style) data-vendored="[^"]+">.*?</\1>', "", page, flags=re.DOTALL)
    return set(re.findall(r"https?://[^\s\"'<>\\)]+", outside))


def test_small_run_has_an_uncovered_xss_village(small):
    _, summary, _ = small
    names = [u["name"] for u in summary["uncovered_mandatory_villages"]]
    assert names == [XSS]


def test_sites_gpkg_opens_in_ogrinfo_with_crs_and_counts(small):
    _, _, out = small
    ogrinfo = gdal_tool("ogrinfo")
    listing = subprocess.run([ogrinfo, "-ro", str(out / "sites.gpkg")], capture_output=True,
                             text=True, check=True, timeout=60).stdout
    for layer in ("selected_sites", "candidates", "villages", "demand"):
        assert re.search(rf"^\d+: {layer} \(Point\)", listing, re.M), listing
        info = subprocess.run([ogrinfo, "-ro", "-so", str(out / "sites.gpkg"), layer],
                              capture_output=True, text=True, check=True, timeout=60).stdout
        assert 'ID["EPSG",32649]' in info, info
        expected = len(gpd.read_file(out / "sites.gpkg", layer=layer))
        assert f"Feature Count: {expected}" in info
        if layer == "villages":
            assert expected == 4
        if layer == "candidates":
            assert expected == 3


#: Field types of sites.gpkg as a GIS reads them (pyogrio's dtypes: ``int64`` an Integer64
#: field, ``float64`` a Real one): a village's population counts whole people; the people a
#: site serves or newly covers and a demand point's people hold a population raster cell's
#: fractional share (the small region has a population patch), and costs are Real.
GPKG_FIELD_TYPES = {
    "villages": {"population": "int64"},
    "candidates": {"people_served": "float64", "people_newly_covered": "float64",
                   "capex_cny": "float64", "total_cost_cny": "float64"},
    "selected_sites": {"people_served": "float64", "total_cost_cny": "float64"},
    "demand": {"people": "float64"},
}


def test_sites_gpkg_writes_a_village_population_as_an_integer_field(small):
    """A village's population was a Real field: QGIS showed 200.0 people and a GIS model
    joining it to a register's integer counts had to cast it."""
    _, _, out = small
    for layer, wanted in GPKG_FIELD_TYPES.items():
        info = pyogrio.read_info(out / "sites.gpkg", layer=layer)
        types = dict(zip(info["fields"], info["dtypes"]))
        assert {field: types[field] for field in wanted} == wanted, layer
    villages = pyogrio.read_dataframe(out / "sites.gpkg", layer="villages")
    assert villages["population"].tolist() == [200, 200, 200, 200]
    kml = pyogrio.read_info(out / "sites.kml", layer="Uncovered mandatory villages")
    assert dict(zip(kml["fields"], kml["dtypes"]))["population"] == "int32"  # KML's int


def test_a_village_population_with_fractions_stays_a_real_field(tmp_path):
    """A list giving people in 万 (1.23456万) has fractions: the field stays Real, its values
    as listed, never rounded; an integer field is only written where every count is whole."""
    villages = gpd.GeoDataFrame({"village_id": ["v1", "v2"], "population": [12345.6, 200.0]},
                                geometry=gpd.points_from_xy([0, 1], [0, 1]), crs="EPSG:32649")
    write_layers(tmp_path / "v.gpkg", {"villages": villages})
    info = pyogrio.read_info(tmp_path / "v.gpkg", layer="villages")
    assert dict(zip(info["fields"], info["dtypes"]))["population"] == "float64"
    assert pyogrio.read_dataframe(tmp_path / "v.gpkg")["population"].tolist() == [12345.6, 200.0]


def test_coverage_tif_opens_in_gdalinfo_with_crs(small):
    run, _, out = small
    gdalinfo = gdal_tool("gdalinfo")
    info = json.loads(subprocess.run([gdalinfo, "-json", "-stats", str(out / "coverage.tif")],
                                     capture_output=True, text=True, check=True, timeout=60).stdout)
    assert 'ID["EPSG",32649]' in info["coordinateSystem"]["wkt"]
    assert info["size"] == [run.level_dbm.shape[1], run.level_dbm.shape[0]]
    band = info["bands"][0]
    assert band["noDataValue"] == -999
    assert -140 < band["minimum"] <= band["maximum"] < -20
    assert info["geoTransform"][1] == pytest.approx(150.0)
    (out / "coverage.tif.aux.xml").unlink(missing_ok=True)


def test_coverage_tif_is_a_cloud_optimized_geotiff(small):
    run, _, out = small
    gdalinfo = gdal_tool("gdalinfo")
    info = json.loads(subprocess.run([gdalinfo, "-json", str(out / "coverage.tif")],
                                     capture_output=True, text=True, check=True, timeout=60).stdout)
    assert info["metadata"]["IMAGE_STRUCTURE"]["LAYOUT"] == "COG"
    assert 'ID["EPSG",32649]' in info["coordinateSystem"]["wkt"]
    band = info["bands"][0]
    assert band["block"] == [256, 256]
    assert band["overviews"], "a COG carries overviews"
    assert band["type"] == "Float32" and band["noDataValue"] == -999
    assert band["description"] == "best-server RSRP [dBm]"
    with rasterio.open(out / "coverage.tif") as src:
        assert src.profile["tiled"] and src.overviews(1) and src.crs.to_epsg() == 32649
        level = src.read(1)
    assert np.array_equal(level, np.where(np.isfinite(run.level_dbm), run.level_dbm, -999).astype(np.float32))


def _ogrinfo_layers(path) -> dict[str, str]:
    """``ogrinfo -al`` of a vector file, split into {layer name: its text}."""
    listing = subprocess.run([gdal_tool("ogrinfo"), "-ro", "-al", str(path)], capture_output=True,
                             text=True, check=True, timeout=60).stdout
    parts = re.split(r"^Layer name: (.+)$", listing, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_sites_kml_opens_in_ogrinfo_with_counts_and_wgs84_points(small):
    run, _, out = small
    layers = _ogrinfo_layers(out / "sites.kml")
    selected = gpd.read_file(out / "sites.gpkg", layer="selected_sites")
    counts = {"Sites of the plan": len(selected), "Uncovered mandatory villages": 1}
    assert set(layers) == set(counts)
    to_lonlat = Transformer.from_crs(run.region.crs, "EPSG:4326", always_xy=True)
    lon_min, lat_min, lon_max, lat_max = to_lonlat.transform_bounds(*run.region.terrain.bounds)
    for name, count in counts.items():
        text = layers[name]
        assert f"Feature Count: {count}" in text
        assert 'ID["EPSG",4326]' in text
        points = [tuple(map(float, p)) for p in re.findall(r"POINT \(([-\d.]+) ([-\d.]+)", text)]
        assert len(points) == count
        assert all(lon_min <= lon <= lon_max and lat_min <= lat <= lat_max for lon, lat in points)
    assert "technology (String) = 4G-1800" in layers["Sites of the plan"]
    assert "people_newly_covered (Real) = " in layers["Sites of the plan"]
    assert f"Name (String) = {XSS}" in layers["Uncovered mandatory villages"]  # text, round-tripped
    assert re.search(r"uncovered_reason \(String\) = \S", layers["Uncovered mandatory villages"])


def test_sites_kml_escapes_the_xss_village_as_text(small):
    _, _, out = small
    raw = (out / "sites.kml").read_text(encoding="utf-8")
    assert "<script" not in raw and "CDATA" not in raw
    assert f"<name>{ESCAPED}</name>" in raw
    folders = ET.parse(out / "sites.kml").getroot().findall(".//kml:Folder", KML)
    village = folders[1].find("kml:Placemark", KML)
    assert village.findtext("kml:name", namespaces=KML) == XSS
    # the balloon is HTML: the name is escaped once more, so Google Earth shows it as text
    balloon = village.findtext("kml:description", namespaces=KML)
    assert ESCAPED in balloon and XSS not in balloon


def test_sites_kml_links_no_web_host(small):
    """Plain styles (colour and scale), no icon fetched from a web host: the KML namespace is the
    file's only address."""
    _, _, out = small
    raw = (out / "sites.kml").read_text(encoding="utf-8")
    assert set(re.findall(r"https?://[^\s\"'<>]+", raw)) == {KML["kml"]}
    styles = ET.parse(out / "sites.kml").getroot().findall(".//kml:Style", KML)
    assert styles and all(s.find("kml:IconStyle/kml:color", KML) is not None for s in styles)
    assert not [s for s in styles if s.find(".//kml:Icon", KML) is not None]


def test_selected_sites_csv_round_trips_to_the_gpkg_geometries(small):
    run, _, out = small
    table = pd.read_csv(out / "selected_sites.csv", dtype={"site_id": str})
    layer = gpd.read_file(out / "sites.gpkg", layer="selected_sites").set_index("site_id")
    assert list(table["site_id"]) == list(layer.index)
    assert list(table.columns[:6]) == ["site_id", "lon", "lat", "x_m", "y_m", "crs"]
    assert set(layer.columns) - {"geometry"} <= set(table.columns)
    assert (table["crs"] == "EPSG:32649").all()
    lines = (out / "selected_sites.csv").read_text(encoding="utf-8-sig").splitlines()[1:]
    assert all(re.match(r"[^,]+,-?\d+\.\d{6},-?\d+\.\d{6},", line) for line in lines)
    x_m, y_m = Transformer.from_crs("EPSG:4326", run.region.crs, always_xy=True).transform(
        table["lon"].to_numpy(), table["lat"].to_numpy())
    np.testing.assert_allclose(x_m, layer.geometry.x, atol=0.2)  # 1e-6 degree is about 0.1 m
    np.testing.assert_allclose(y_m, layer.geometry.y, atol=0.2)
    np.testing.assert_allclose(table["x_m"], layer.geometry.x, atol=0.01)
    for column in ("kind", "technology", "action"):
        assert list(table[column]) == list(layer[column])
    np.testing.assert_allclose(table["total_cost_cny"], layer["total_cost_cny"])


def test_selected_sites_csv_has_a_byte_order_mark(small):
    """UTF-8 with a BOM, so Excel reads it as UTF-8; the csv module reads it with utf-8-sig."""
    _, _, out = small
    assert (out / "selected_sites.csv").read_bytes().startswith(b"\xef\xbb\xbfsite_id,lon,lat,")
    with (out / "selected_sites.csv").open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert rows and list(rows[0])[:3] == ["site_id", "lon", "lat"]
    assert [r["site_id"] for r in rows] == list(pd.read_csv(out / "selected_sites.csv", dtype=str)["site_id"])


def test_extra_site_columns_flow_through_to_csv_and_kml(small, tmp_path):
    run, _, _ = small
    sites = selected_sites(site_table(run)).assign(phase=2027)
    write_site_csv(tmp_path / "s.csv", sites)
    write_kml(tmp_path / "s.kml", "t", sites, uncovered_mandatory(village_table(run)))
    assert (pd.read_csv(tmp_path / "s.csv")["phase"] == 2027).all()
    placemarks = ET.parse(tmp_path / "s.kml").getroot().findall(".//kml:Folder", KML)[0]
    phases = placemarks.findall(".//kml:SimpleData[@name='phase']", KML)
    assert [p.text for p in phases] == ["2027"] * len(sites)


def test_a_planners_own_position_columns_are_kept_beside_the_computed_ones(small, tmp_path):
    """A candidate sheet with its own x_m, lon and crs columns (a survey's, in another CRS):
    selected_sites.csv has each column once, the computed first and the planner's as
    input_<name> (pandas read the second x_m as x_m.1, Excel showed two x_m columns)."""
    run, _, _ = small
    sites = selected_sites(site_table(run)).assign(x_m=36500000.0, lon="108°58'", crs="CGCS2000")
    write_site_csv(tmp_path / "s.csv", sites)
    header = (tmp_path / "s.csv").read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert len(header) == len(set(header))
    table = pd.read_csv(tmp_path / "s.csv")
    np.testing.assert_allclose(table["x_m"], sites.geometry.x, atol=0.01)
    assert (table["input_x_m"] == 36500000.0).all() and (table["input_crs"] == "CGCS2000").all()
    assert (table["crs"] == "EPSG:32649").all()


def test_map_html_escapes_every_attribute(small):
    _, _, out = small
    page = (out / "map.html").read_text(encoding="utf-8")
    assert XSS not in page
    assert ESCAPED in page
    assert "Back&#96;&#36;&#123;tick&#125;&#92;" in page  # cannot end or interpolate folium's JS template literal
    assert "${tick}" not in page


@pytest.mark.parametrize("name", ["{{ 7*7 }}村", "村{% if %}", "{# 村"])
def test_map_html_shows_a_village_name_with_braces_as_written(small, tmp_path, name):
    """folium makes a Jinja template of every rendered popup and tooltip: a name with ``{{``
    was evaluated (``{{ 7*7 }}`` showed 49) and one with ``{%`` or ``{#`` stopped the run."""
    run, _, _ = small
    tables = plan_tables(run)
    tables.villages.loc[tables.villages["village_id"] == "v1", "name"] = name
    write_map(tmp_path / "map.html", tables)
    page = with_popups((tmp_path / "map.html").read_text(encoding="utf-8"))
    cells = [html.unescape(cell) for cell in re.findall(r"<td>(.*?)</td>", page)]
    assert name in cells


def test_map_html_says_in_words_whether_a_village_must_be_covered(small):
    """An English village popup read "mandatory: True" (Python's word for a flag)."""
    run, _, out = small
    page = with_popups((out / "map.html").read_text(encoding="utf-8"))
    said = re.findall(r"<th[^>]*>mandatory</th><td>(.*?)</td>", page)
    villages = plan_tables(run).villages
    assert sorted(said) == sorted("yes" if m else "no" for m in villages["mandatory"])


def test_map_html_has_every_layer_and_control(small):
    run, _, out = small
    page = with_popups((out / "map.html").read_text(encoding="utf-8"))
    for name in ("Terrain (hillshade)", "Population (people per cell)",
                 "Coverage after plan (best server RSRP)", "Coverage 4G-1800 (RSRP)",
                 "Selected sites: 4G-1800", "Selected sites: 5G-3500", "Existing sites", "Villages",
                 "Admin units", "siting-legend", "L.control.scale", "L.Control.MiniMap",
                 "L.control.fullscreen", "L.control.layers"):
        assert name in page, name
    assert "leaflet-dvf" not in page  # site icons are self-contained (no marker plug-in)
    built = site_table(run)
    for site in built[built["action"].isin(["build", "upgrade"])]["site_id"]:
        assert f"<td>{esc(site)}</td>" in page


def test_map_html_declares_its_language(small):
    _, _, out = small
    assert (out / "map.html").read_text(encoding="utf-8").startswith('<!DOCTYPE html>\n<html lang="en">\n')


def test_page_is_the_branca_page_with_a_language():
    """Page only adds ``lang`` to the page branca renders (a branca upgrade that changes its page
    fails here, not in a committee's browser)."""
    from branca.element import Element, Figure

    plain, page = Figure(), Page("zh-CN")
    for figure in (plain, page):
        figure.html.add_child(Element("<p>村</p>"), name="body")
    assert page.render() == plain.render().replace("<html>", '<html lang="zh-CN">', 1)


def test_html_report_matches_markdown_and_escapes(small):
    run, _, out = small
    page = (out / "report.html").read_text(encoding="utf-8")
    markdown = (out / "report.md").read_text(encoding="utf-8")
    report = build_report(plan_tables(run))
    assert render_markdown(report) == markdown
    for section in report.sections:
        assert f"## {section.title}" in markdown
        assert f"<h2>{section.title}</h2>" in page
    assert XSS not in page and ESCAPED in page
    assert re.search(r'src="data:image/(png|jpeg);base64,', page)  # map.png embedded: the page stands alone
    assert "<link" not in page and "<script" not in page
    assert "@media print" in page


def test_report_blocks_render_in_both_formats():
    from siting.export.html_report import render_html
    from siting.export.report import Report, Section

    report = Report("T <1>", ["**bold** & plain"], [Section("S", [
        Table(["a", "b"], [[1234.5, "x|y"], [3, True]]), Steps(["one", "two"]),
        Figure("missing.png", "cap")])])
    markdown = render_markdown(report)
    assert "| 1,234 | x\\|y |" in markdown and "1. one\n2. two" in markdown and "![cap](missing.png)" in markdown
    page = render_html(report)
    assert "<h1>T &lt;1&gt;</h1>" in page and "<strong>bold</strong> &amp; plain" in page
    assert '<td class="num">1,234</td>' in page and "<li>two</li>" in page
    assert 'src="missing.png"' in page


def test_whole_numbers_read_without_decimals(small):
    # A county nobody lives in showed "0.00" people and "0.00" CNY; fractions keep 2 decimals.
    from siting.export.report import Report, Section

    report = Report("T", [], [Section("S", [Table(["a", "b", "c", "d"], [[0.0, 45.0, 4.55, -0.0]])])])
    assert "| 0 | 45 | 4.55 | 0 |" in render_markdown(report)
    markdown = (small[2] / "report.md").read_text(encoding="utf-8")
    assert "| 0 |" in markdown and "| 0.00 |" not in markdown


def test_overlay_block_means_skip_empty_blocks_quietly():
    from siting.export.webmap import overlay_block_means

    values = np.full((1400, 1400), np.nan, np.float32)
    values[:2, :2] = [[1.0, 3.0], [np.nan, 5.0]]
    out, _, step = overlay_block_means(values, rasterio.Affine.identity(), max_px=700)
    assert step == 2 and out[0, 0] == pytest.approx(3.0) and np.isnan(out[1:, 1:]).all()


def test_names_in_selected_sites_csv_are_data_never_formulas(tmp_path):
    from shapely.geometry import Point

    from siting.export.gis import write_site_csv

    sites = gpd.GeoDataFrame(
        {"site_id": ["@SUM(1)", "S2"], "name": ['=HYPERLINK("http://x","y")', "-2+3"],
         "note": ["+cmd|' /C calc'!A0", "ordinary"], "capex_cny": [-5.0, 1.0]},
        geometry=[Point(-70.5, -33.4), Point(-70.6, -33.5)], crs="EPSG:4326")
    write_site_csv(tmp_path / "s.csv", sites)
    with open(tmp_path / "s.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["site_id"] for r in rows] == ["'@SUM(1)", "S2"]
    assert rows[0]["name"] == '\'=HYPERLINK("http://x","y")' and rows[1]["name"] == "'-2+3"
    assert rows[0]["note"].startswith("'+") and rows[1]["note"] == "ordinary"
    # numbers, negative ones included, stay numbers
    assert (rows[0]["lon"], rows[0]["x_m"], rows[0]["capex_cny"]) == ("-70.500000", "-70.50", "-5.0")

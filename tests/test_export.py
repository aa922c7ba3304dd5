"""The committee's outputs: GIS files that open in GDAL, an escaped map, the HTML report."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import geopandas as gpd
import numpy as np
import pytest

from regions import candidate, ridge_dem, village, write_region
from siting.config import load_scenario
from siting.export.html_report import write_html_report
from siting.export.report import Figure, Steps, Table, build_report, render_markdown
from siting.export.tables import site_table
from siting.export.webmap import esc
from siting.pipeline import compute, write_outputs

XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


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
    write_html_report(out / "report.html", run, summary, site_table(run))
    return run, summary, out


def _tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (Debian package gdal-bin: apt-get install -y gdal-bin)")
    return path


def test_small_run_has_an_uncovered_xss_village(small):
    _, summary, _ = small
    names = [u["name"] for u in summary["uncovered_mandatory_villages"]]
    assert names == [XSS]


def test_sites_gpkg_opens_in_ogrinfo_with_crs_and_counts(small):
    _, _, out = small
    ogrinfo = _tool("ogrinfo")
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


def test_coverage_tif_opens_in_gdalinfo_with_crs(small):
    run, _, out = small
    gdalinfo = _tool("gdalinfo")
    info = json.loads(subprocess.run([gdalinfo, "-json", "-stats", str(out / "coverage.tif")],
                                     capture_output=True, text=True, check=True, timeout=60).stdout)
    assert 'ID["EPSG",32649]' in info["coordinateSystem"]["wkt"]
    assert info["size"] == [run.level_dbm.shape[1], run.level_dbm.shape[0]]
    band = info["bands"][0]
    assert band["noDataValue"] == -999
    assert -140 < band["minimum"] <= band["maximum"] < -20
    assert info["geoTransform"][1] == pytest.approx(150.0)
    (out / "coverage.tif.aux.xml").unlink(missing_ok=True)


def test_map_html_escapes_every_attribute(small):
    _, _, out = small
    page = (out / "map.html").read_text(encoding="utf-8")
    assert XSS not in page
    assert ESCAPED in page
    assert "Back&#96;&#36;{tick}&#92;" in page  # cannot end or interpolate folium's JS template literal
    assert "${tick}" not in page


def test_map_html_has_every_layer_and_control(small):
    run, _, out = small
    page = (out / "map.html").read_text(encoding="utf-8")
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


def test_html_report_matches_markdown_and_escapes(small):
    run, summary, out = small
    page = (out / "report.html").read_text(encoding="utf-8")
    markdown = (out / "report.md").read_text(encoding="utf-8")
    report = build_report(run, summary, site_table(run))
    assert render_markdown(report) == markdown
    for section in report.sections:
        assert f"## {section.title}" in markdown
        assert f"<h2>{section.title}</h2>" in page
    assert XSS not in page and ESCAPED in page
    assert "data:image/png;base64," in page  # map.png embedded: the page stands alone
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

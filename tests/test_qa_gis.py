"""The GIS outputs as GIS people open them: GDAL's own command-line tools (gdal-bin, often an
older GDAL than the one siting writes with), pyogrio, and the OGC KML 2.2 structure."""

from __future__ import annotations

import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import pytest
import rasterio
import shapely

from regions import candidate, ridge_dem, village, write_region
from siting.config import load_scenario
from siting.export.gis import write_layers
from siting.export.kml import KML_NAMESPACE, STYLE_COLOURS, write_kml
from siting.export.prediction import prediction_kml, write_prediction_raster
from siting.export.style import BACKHAUL_COLOURS
from siting.pipeline import compute, write_outputs
from siting.predict import Prediction
from tests.gdal_tools import gdal_tool

KML = {"kml": KML_NAMESPACE}
UTM_49N = "EPSG:32649"


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """A small region planned and written: two sites west of a ridge, villages on both sides."""
    folder = tmp_path_factory.mktemp("qa_gis")
    villages = [village("v1", 1000, 1000), village("v2", 2000, 4000, poverty=False),
                village("v3", 4200, 1200)]
    candidates = [candidate("c1", 1200, 1500), candidate("c2", 800, 3500, kind="existing_4g", capex=0.0),
                  candidate("c3", 4000, 1000, kind="lamp_pole")]
    scenario = write_region(folder, ridge_dem(cols=300, ridge_height_m=600.0), villages, candidates)
    run = compute(load_scenario(scenario))
    out = folder / "out"
    write_outputs(run, out)
    return run, out


def test_sites_gpkg_declares_a_geopackage_version_older_gdal_reads_without_warning(small_run):
    """GDAL 3.9+ writes GeoPackage 1.4 unless told; GDAL 3.6's ogrinfo (Debian 12, the QGIS
    3.28 era) then warns on every open that the file "may only be partially supported"."""
    _, out = small_run
    path = out / "sites.gpkg"
    with sqlite3.connect(path) as db:  # GeoPackage 1.2.1 clause 1.1.1.1.1: user_version 10200
        assert db.execute("PRAGMA user_version").fetchone()[0] == 10200
    result = subprocess.run([gdal_tool("ogrinfo"), "-so", str(path)], capture_output=True, text=True,
                            check=True)
    assert "partially supported" not in result.stderr, result.stderr
    assert "villages (Point)" in result.stdout


def test_village_best_level_is_a_double_with_its_one_decimal(small_run, tmp_path):
    """best_level_dbm is rounded to 0.1 dB; written as float32 it read -58.599998 in QGIS's
    attribute table and in a Shapefile made by ogr2ogr."""
    run, out = small_run
    demand = run.demand
    rows = np.flatnonzero(demand.kind == "village")
    expected = {str(v): round(float(level), 1) for v, level in
                zip(demand.ref_id[rows], run.coverage.best_level_dbm[rows]) if np.isfinite(level)}
    assert expected
    info = pyogrio.read_info(out / "sites.gpkg", layer="villages")
    field = list(info["fields"]).index("best_level_dbm")
    assert (info["ogr_types"][field], info["ogr_subtypes"][field]) == ("OFTReal", "OFSTNone")
    shapefile = tmp_path / "villages.shp"
    subprocess.run([gdal_tool("ogr2ogr"), "-f", "ESRI Shapefile", str(shapefile), str(out / "sites.gpkg"),
                    "villages"], capture_output=True, check=True)
    read = pyogrio.read_dataframe(shapefile)
    got = {v: level for v, level in zip(read["village_id"], read["best_level"]) if v in expected}
    assert got == expected


def _plan_with_links() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Two sites, an uncovered village and the microwave hop between the sites (UTM 49N)."""
    west, east = shapely.Point(300000, 3600000), shapely.Point(305000, 3602000)
    sites = gpd.GeoDataFrame({"site_id": ["S1", "S2"], "action": ["build", "keep"]},
                             geometry=[west, east], crs=UTM_49N)
    villages = gpd.GeoDataFrame({"name": ["白河村"], "uncovered_reason": ["no_candidate"]},
                                geometry=[shapely.Point(301000, 3601000)], crs=UTM_49N)
    links = gpd.GeoDataFrame({"from_id": ["S1"], "to_id": ["S2"], "kind": ["microwave"],
                              "cost_cny": [80000.0]},
                             geometry=[shapely.LineString([west, east])], crs=UTM_49N)
    return sites, villages, links


def test_kml_document_puts_every_style_before_its_folders(tmp_path):
    """OGC KML 2.2 (OGC 07-147r2, 9.1 and 9.7): a Document's StyleSelectors belong to its
    Feature part, which precedes its child Features; the backhaul line styles were written
    between the villages' folder and the links' one, which a schema-validating reader refuses."""
    sites, villages, links = _plan_with_links()
    path = tmp_path / "sites.kml"
    write_kml(path, "plan", sites, villages, links=links)
    document = ET.parse(path).getroot().find("kml:Document", KML)
    tags = [child.tag.split("}")[1] for child in document]
    # DocumentType: the Feature's name and StyleSelectors, then Schemas, then the Features
    styles = len(STYLE_COLOURS) + len(BACKHAUL_COLOURS)
    assert tags == ["name"] + ["Style"] * styles + ["Schema"] * 3 + ["Folder"] * 3, tags
    styles = {s.get("id") for s in document.findall("kml:Style", KML)}
    used = {u.text.lstrip("#") for u in document.iterfind(".//kml:styleUrl", KML)}
    assert used <= styles and "link_microwave" in used


def test_kml_backhaul_links_read_by_libkml_with_their_line_style(tmp_path):
    """GDAL's LIBKML driver (what QGIS opens a KML with) reads the three folders, the link
    with its style and its line in WGS 84."""
    sites, villages, links = _plan_with_links()
    path = tmp_path / "sites.kml"
    write_kml(path, "plan", sites, villages, links=links)
    result = subprocess.run([gdal_tool("ogrinfo"), "-al", str(path)], capture_output=True, text=True,
                            check=True)
    assert "using driver `LIBKML'" in result.stdout
    assert result.stdout.count("Layer name:") == 3
    assert "Style = @link_microwave" in result.stdout
    read = pyogrio.read_dataframe(path, layer=2)
    expected = links.to_crs(4326).geometry.iloc[0]
    assert read.geometry.iloc[0].equals_exact(expected, tolerance=1e-6)


def test_gpkg_keeps_a_planners_fid_and_case_twin_columns_as_input_columns(tmp_path):
    """A candidate sheet exported from ArcGIS carries ``FID`` (two counties' sheets pasted
    together repeat it) and may have its own ``Technology``: the GeoPackage driver names its
    feature id ``fid`` and SQLite matches column names regardless of case, so the run
    computed the whole plan and then failed writing sites.gpkg ("Error adding field 'FID'",
    exit 1). They are now written as ``input_<name>``, as the tables name a clashing input."""
    sites = gpd.GeoDataFrame(
        {"site_id": ["S1", "S2", "S3"], "technology": ["4G-1800", "", "5G-3500"],
         "FID": [0, 0, 1], "Technology": ["LTE", "LTE", "NR"], "geom": ["roof", "pole", "tower"],
         "站名": ["安康一号", "安康二号", "汉滨三号"]},
        geometry=[shapely.Point(300000 + 1000 * i, 3600000) for i in range(3)], crs=UTM_49N)
    path = tmp_path / "sites.gpkg"
    write_layers(path, {"selected_sites": sites})
    read = pyogrio.read_dataframe(path, layer="selected_sites")
    assert list(read.columns) == ["site_id", "technology", "input_FID", "input_Technology",
                                  "input_geom", "站名", "geometry"]
    for written, column in (("input_FID", "FID"), ("input_Technology", "Technology"),
                            ("input_geom", "geom"), ("站名", "站名"), ("technology", "technology")):
        assert read[written].fillna("").tolist() == sites[column].tolist()  # "" is written NULL
    assert read.geometry.equals(sites.geometry)
    result = subprocess.run([gdal_tool("ogrinfo"), "-so", str(path), "selected_sites"],
                            capture_output=True, text=True, check=True)
    assert "input_FID: Integer64" in result.stdout and "FID Column = fid" in result.stdout


#: GDAL's COG validator and the Python with GDAL's bindings that runs it (Debian's python3-gdal).
COG_VALIDATOR = Path("/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_cloud_optimized_geotiff.py")
SYSTEM_PYTHON = Path("/usr/bin/python3")


def _band_units(gdalinfo_text: str) -> list[str | None]:
    """Each band's ``Unit Type`` as gdalinfo prints it, None for a band without one."""
    bands = gdalinfo_text.split("\nBand ")[1:]
    return [next((line.split(":", 1)[1].strip() for line in band.splitlines()
                  if line.strip().startswith("Unit Type:")), None) for band in bands]


def test_coverage_tif_declares_its_band_unit_and_holds_the_plans_levels(small_run):
    """The level's unit was only a dataset tag (``units=dBm``), which QGIS's layer properties
    and identify tool, and gdalinfo's band report, do not show as the band's unit."""
    run, out = small_run
    path = out / "coverage.tif"
    info = subprocess.run([gdal_tool("gdalinfo"), "-checksum", str(path)], capture_output=True,
                          text=True, check=True).stdout
    assert _band_units(info) == ["dBm"]
    assert "NoData Value=-999" in info and "LAYOUT=COG" in info and "Overviews:" in info
    with rasterio.open(path) as src:
        assert src.crs == run.region.crs and src.transform == run.level_transform
        stored = src.read(1, masked=True)
    level = np.asarray(run.level_dbm, np.float32)
    assert np.array_equal(stored.mask, ~np.isfinite(level))
    assert np.array_equal(stored.compressed(), level[np.isfinite(level)])
    if SYSTEM_PYTHON.exists() and COG_VALIDATOR.exists():
        check = subprocess.run([SYSTEM_PYTHON, COG_VALIDATOR, "--full-check=yes", str(path)],
                               capture_output=True, text=True)
        assert "is a valid cloud optimized GeoTIFF" in check.stdout, check.stdout + check.stderr


def test_prediction_tif_declares_db_and_dbm_per_band(tmp_path):
    """Band 1 (path loss) is in dB and band 2 (RSRP) in dBm; the file said so only in the
    band descriptions' text."""
    loss_db = np.array([[np.nan, 120.5], [98.25, 140.0]], np.float32)
    prediction = Prediction(path_loss_db=loss_db, level_dbm=20.0 - loss_db,
                            transform=rasterio.Affine(30, 0, 300000, 0, -30, 3600000),
                            crs=pyproj.CRS.from_user_input(UTM_49N), terrain=None, site="S1",
                            site_x_m=300030.0, site_y_m=3599970.0, height_m=30.0,
                            technology="4G-1800", model="rma_38901", radius_m=60.0, n_radials=8)
    path = tmp_path / "prediction.tif"
    write_prediction_raster(path, prediction)
    info = subprocess.run([gdal_tool("gdalinfo"), str(path)], capture_output=True, text=True,
                          check=True).stdout
    assert _band_units(info) == ["dB", "dBm"]
    with rasterio.open(path) as src:
        loss, level = src.read(1, masked=True), src.read(2, masked=True)
    assert loss.mask.tolist() == [[True, False], [False, False]]
    assert (level + loss).compressed().tolist() == [20.0, 20.0, 20.0]


def test_kml_with_control_characters_from_pasted_cells_still_opens(tmp_path):
    """A cell pasted from Word or a web page into the candidate sheet carries a vertical tab
    (or another C0 control character); ElementTree wrote it as it was, which XML 1.0 forbids,
    so GDAL and Google Earth refused the whole sites.kml ("not well-formed (invalid token)").
    Each such character is now a space, in the KML of a run and of ``siting predict``."""
    sites, villages, links = _plan_with_links()
    sites["remark"] = ["楼顶\x0b东侧\x01", "tower"]
    villages["name"] = ["白河\x0c村"]
    path = tmp_path / "sites.kml"
    write_kml(path, "plan\x07", sites, villages, links=links)
    document = ET.parse(path).getroot()  # well-formed XML
    remark = document.find(".//kml:SimpleData[@name='remark']", KML).text
    assert remark == "楼顶 东侧 "
    read = pyogrio.read_dataframe(path, layer=0)
    assert read["remark"].tolist() == ["楼顶 东侧", "tower"]  # GDAL trims trailing spaces
    assert pyogrio.read_dataframe(path, layer=1)["Name"].tolist() == ["白河 村"]
    loss_db = np.full((2, 2), 100.0, np.float32)
    prediction = Prediction(path_loss_db=loss_db, level_dbm=loss_db - 200.0,
                            transform=rasterio.Affine(30, 0, 300000, 0, -30, 3600000),
                            crs=pyproj.CRS.from_user_input(UTM_49N), terrain=None,
                            site="S\x0b1", site_x_m=300030.0, site_y_m=3599970.0, height_m=30.0,
                            technology="4G-1800", model="rma_38901", radius_m=60.0, n_radials=8)
    kml = ET.fromstring(prediction_kml(prediction, (108.87, 32.51, 108.88, 32.52), (108.875, 32.515)))
    assert kml.find(".//kml:Placemark/kml:name", KML).text == "S 1"


def test_kml_fields_keep_their_chinese_names_and_their_types_in_gdal(tmp_path):
    """The attributes were untyped ``<Data>``: GDAL (QGIS) read every one as text and laundered
    every non-ASCII name to underscores, one per UTF-8 byte, so a planner's 站名 and 备注 both
    became ``______`` and one's values were lost. A typed ``Schema`` per folder keeps each
    name as written, numbers as numbers and flags as booleans; a missing value reads NULL."""
    sites, villages, links = _plan_with_links()
    sites["站名"] = ["安康一号", "汉滨二号"]
    sites["备注"] = ["楼顶", None]
    sites["村代码"] = [610924201, 610924202]
    sites["total_cost_cny"] = [123456.5, 0.0]
    sites["existing"] = [False, True]
    sites["band_ghz"] = [np.nan, 23.0]
    path = tmp_path / "sites.kml"
    write_kml(path, "plan", sites, villages, links=links)
    info = pyogrio.read_info(path, layer=0)
    types = dict(zip(info["fields"], zip(info["ogr_types"], info["ogr_subtypes"])))
    assert types["站名"] == types["备注"] == ("OFTString", "OFSTNone")
    assert types["村代码"] == ("OFTInteger", "OFSTNone")
    assert types["total_cost_cny"] == types["band_ghz"] == ("OFTReal", "OFSTNone")
    assert types["existing"] == ("OFTInteger", "OFSTBoolean")
    read = pyogrio.read_dataframe(path, layer=0)
    assert read["站名"].tolist() == ["安康一号", "汉滨二号"]
    assert read["备注"].iloc[0] == "楼顶" and read["备注"].isna().iloc[1]
    assert read["村代码"].tolist() == [610924201, 610924202]
    assert read["total_cost_cny"].tolist() == [123456.5, 0.0]
    assert read["existing"].tolist() == [False, True]
    assert np.isnan(read["band_ghz"].iloc[0]) and read["band_ghz"].iloc[1] == 23.0
    listing = subprocess.run([gdal_tool("ogrinfo"), "-al", "-so", str(path)], capture_output=True,
                             text=True, check=True).stdout  # GDAL 3.6's LIBKML too
    assert "站名: String" in listing and "村代码: Integer" in listing and "______" not in listing

"""The GIS outputs as GIS people open them: GDAL's own command-line tools (gdal-bin, often an
older GDAL than the one siting writes with), pyogrio, and the OGC KML 2.2 structure."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess

import numpy as np
import pyogrio
import pytest

from regions import candidate, ridge_dem, village, write_region
from siting.config import load_scenario
from siting.pipeline import compute, write_outputs



def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (Debian package gdal-bin: apt-get install -y gdal-bin)")
    return path


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
    result = subprocess.run([_tool("ogrinfo"), "-so", str(path)], capture_output=True, text=True,
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
    subprocess.run([_tool("ogr2ogr"), "-f", "ESRI Shapefile", str(shapefile), str(out / "sites.gpkg"),
                    "villages"], capture_output=True, check=True)
    read = pyogrio.read_dataframe(shapefile)
    got = {v: level for v, level in zip(read["village_id"], read["best_level"]) if v in expected}
    assert got == expected

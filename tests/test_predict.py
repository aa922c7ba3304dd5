"""Single-site area prediction (siting.predict, siting predict): the radial sweep against the
model's formula and per-cell ITM calls on hand-made terrain, the ridge's shadow, the output
files and the command line's errors."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.warp
from affine import Affine
from typer.testing import CliRunner

from regions import CRS, TECH_4G, X0, Y0, candidate, ridge_dem, village, write_region

import siting
from siting.cli import app
from siting.config import Technology
from siting.coverage import model_loss_db
from siting.errors import InputError
from siting.export.prediction import PREDICTION_FILES, write_prediction
from siting.itm import itm_p2p_loss
from siting.config import ItmSettings
from siting.coverage import ITM_MDVAR, ITM_POLARIZATION
from siting.predict import predict_area, radial_count
from siting.terrain import Terrain

REPO = Path(__file__).resolve().parents[1]

CELL_M = 30.0
TECH = Technology(**TECH_4G)
H_TX_M, H_RX_M = 30.0, 1.5
ITM = ItmSettings()


def _terrain(dem: np.ndarray) -> Terrain:
    return Terrain(dem.astype(np.float32), Affine(CELL_M, 0.0, X0, 0.0, -CELL_M, Y0), CRS)


def _site_cell(terrain: Terrain, row: int, col: int) -> tuple[float, float]:
    return tuple(float(v) for v in terrain.xy(row, col))


def _cell_value(prediction, grid, row, col):
    """The prediction's value at DEM cell (row, col)."""
    first_col = round((prediction.transform.c - prediction.terrain.transform.c) / CELL_M)
    first_row = round((prediction.terrain.transform.f - prediction.transform.f) / CELL_M)
    return float(grid[row - first_row, col - first_col])


def _axis_cells(row0, col0, distances):
    """Cells north, east, south and west of (row0, col0) at ``distances`` [cells]: they lie on
    the radials along the grid's axes, exactly at the radials' samples."""
    return [(row0 + dr * i, col0 + dc * i) for i in distances
            for dr, dc in ((-1, 0), (0, 1), (1, 0), (0, -1))]


def _itm_on_dem(dem, row0, col0, row, col):
    """ITM point-to-point on the DEM's cells from the site's cell to (row, col) (axis cells)."""
    steps = max(abs(row - row0), abs(col - col0))
    rows = np.linspace(row0, row, steps + 1).round().astype(int)
    cols = np.linspace(col0, col, steps + 1).round().astype(int)
    pfl = [steps, CELL_M, *dem[rows, cols].astype(float)]
    return itm_p2p_loss(H_TX_M, H_RX_M, pfl, ITM.climate, ITM.n0, TECH.frequency_mhz,
                        ITM_POLARIZATION[ITM.polarization], ITM.epsilon, ITM.sigma, ITM_MDVAR,
                        ITM.time_pct, ITM.location_pct, ITM.situation_pct)


def test_radials_reach_every_cell_of_the_outer_ring():
    n = radial_count(1200.0, CELL_M)
    assert n % 4 == 0 and n >= 2 * np.pi * 1200.0 / CELL_M


def test_flat_dem_gives_the_model_formula_along_the_radials():
    dem = np.full((101, 101), 500.0)
    terrain = _terrain(dem)
    prediction = predict_area(terrain, *_site_cell(terrain, 50, 50), H_TX_M, TECH, 1200.0,
                              ue_height_m=H_RX_M)
    distances = np.arange(1, 41, 3)
    expected = model_loss_db(TECH, distances * CELL_M, H_TX_M, H_RX_M)
    for row, col in _axis_cells(50, 50, distances):
        i = max(abs(row - 50), abs(col - 50))
        got = _cell_value(prediction, prediction.path_loss_db, row, col)
        assert got == pytest.approx(expected[list(distances).index(i)], abs=1e-3)
        level = _cell_value(prediction, prediction.level_dbm, row, col)
        assert level == pytest.approx(TECH.rs_epre_dbm - got - TECH.clutter_loss_db, abs=1e-3)


@pytest.mark.parametrize("dem", [np.full((101, 101), 500.0), ridge_dem(101, 101, ridge_col=70)],
                         ids=["flat", "ridge"])
def test_itm_cells_equal_point_to_point_calls(dem):
    terrain = _terrain(dem)
    prediction = predict_area(terrain, *_site_cell(terrain, 50, 50), H_TX_M, TECH, 1200.0,
                              model="itm", ue_height_m=H_RX_M)
    cells = _axis_cells(50, 50, np.arange(2, 41, 4))
    for row, col in cells:
        got = _cell_value(prediction, prediction.path_loss_db, row, col)
        assert got == pytest.approx(_itm_on_dem(dem, 50, 50, row, col), abs=0.1), (row, col)


@pytest.mark.parametrize("model", ["rma_38901", "itm"])
def test_cells_behind_the_ridge_lose_more(model):
    dem = ridge_dem(121, 121, ridge_col=75)
    terrain = _terrain(dem)
    prediction = predict_area(terrain, *_site_cell(terrain, 60, 60), H_TX_M, TECH, 1500.0,
                              model=model, ue_height_m=H_RX_M)
    for distance in (25, 35, 45):
        behind = _cell_value(prediction, prediction.path_loss_db, 60, 60 + distance)
        open_side = _cell_value(prediction, prediction.path_loss_db, 60, 60 - distance)
        assert behind > open_side + 10.0, (model, distance)


def test_outputs_open_as_rasters_and_kmz(tmp_path):
    terrain = _terrain(ridge_dem(81, 81, ridge_col=50))
    prediction = predict_area(terrain, *_site_cell(terrain, 40, 40), H_TX_M, TECH, 900.0,
                              site="S1")
    write_prediction(prediction, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(PREDICTION_FILES)
    with rasterio.open(tmp_path / "prediction.tif") as src:
        assert src.count == 2 and src.crs == rasterio.crs.CRS.from_string(CRS)
        loss, level = src.read(1, masked=True), src.read(2, masked=True)
        assert loss.mask[0, 0] and level.mask[0, 0], "nodata outside the radius"
        centre = src.index(*_site_cell(terrain, 40, 45))
        assert 60 < loss[centre] < 200 and -200 < level[centre] < 0
        assert src.transform.a == CELL_M
    with zipfile.ZipFile(tmp_path / "prediction.kmz") as kmz:
        assert kmz.testzip() is None
        root = ET.fromstring(kmz.read("doc.kml"))
        ns = {"k": "http://www.opengis.net/kml/2.2"}
        href = root.find(".//k:GroundOverlay/k:Icon/k:href", ns).text
        assert href in kmz.namelist() and kmz.read(href).startswith(b"\x89PNG")
        assert root.find(".//k:Placemark/k:Point/k:coordinates", ns) is not None
        north = float(root.find(".//k:LatLonBox/k:north", ns).text)
        assert 32 < north < 33.5


def test_bad_inputs_raise_input_error():
    terrain = _terrain(np.full((41, 41), 500.0))
    site = _site_cell(terrain, 20, 20)
    for radius_m, model in ((0.0, None), (-5.0, None), (2000.0, None), (300.0, "p9999")):
        with pytest.raises(InputError):
            predict_area(terrain, *site, H_TX_M, TECH, radius_m, model=model)
    with pytest.raises(InputError):
        predict_area(terrain, X0 - 500.0, Y0, H_TX_M, TECH, 300.0)


runner = CliRunner()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    return write_region(tmp_path_factory.mktemp("predict"), ridge_dem(120, 120, ridge_col=70),
                        villages=[village("V1", 1000, 1800)],
                        candidates=[candidate("S1", 1800, 1800)])


def test_cli_writes_the_prediction(scenario, tmp_path):
    result = runner.invoke(app, ["predict", str(scenario), "--site", "S1", "--technology",
                                 "4G-1800", "--radius-km", "1", "--model", "itm", "--out",
                                 str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert all((tmp_path / name).exists() for name in PREDICTION_FILES)


def test_study_predict_matches_the_command_line(scenario, tmp_path):
    study = siting.prepare(scenario)
    area = study.predict(site="S1", technology="4G-1800", radius_km=1.0, model="itm")
    lon, lat = rasterio.warp.transform(CRS, "EPSG:4326", [area.site_x_m], [area.site_y_m])
    at = study.predict(at=(lon[0], lat[0]), technology="4G-1800", radius_km=1.0, model="itm",
                       height_m=area.height_m)
    assert (at.site_x_m, at.site_y_m) == pytest.approx((area.site_x_m, area.site_y_m), abs=1e-6)
    same = np.isclose(at.path_loss_db, area.path_loss_db, atol=1e-3, equal_nan=True)
    assert same.mean() > 0.99, "a nanometre's shift only flips ties between radials"
    result = runner.invoke(app, ["predict", str(scenario), "--site", "S1", "--technology",
                                 "4G-1800", "--radius-km", "1", "--model", "itm", "--out",
                                 str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    area.write(tmp_path / "api")
    with rasterio.open(tmp_path / "api" / "prediction.tif") as api, \
            rasterio.open(tmp_path / "cli" / "prediction.tif") as cli:
        np.testing.assert_array_equal(api.read(), cli.read())


@pytest.mark.parametrize(("site", "code"), [("S1", 0), ("NOPE", 2)])
def test_console_command_ends_with_the_outputs_and_the_exit_code(scenario, tmp_path, site, code):
    """``python -m siting.cli predict`` ends the process at once after the command (no
    interpreter teardown): its outputs, its stdout line or its error line are all there."""
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "siting.cli", "predict", str(scenario), "--site",
                           site, "--technology", "4G-1800", "--radius-km", "1", "--model", "itm",
                           "--out", str(out)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == code, done.stderr
    if code == 0:
        assert "cells within 1 km of S1" in done.stdout
        assert all((out / name).exists() for name in PREDICTION_FILES)
    else:
        assert done.stderr.strip().splitlines()[-1].startswith("siting: error: unknown site")
        assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("arguments", [
    ["--site", "NOPE", "--technology", "4G-1800", "--radius-km", "1"],
    ["--site", "S1", "--technology", "6G", "--radius-km", "1"],
    ["--site", "S1", "--technology", "4G-1800", "--radius-km", "1", "--model", "p9999"],
    ["--site", "S1", "--technology", "4G-1800", "--radius-km", "0"],
    ["--site", "S1", "--technology", "4G-1800", "--radius-km", "50"],
    ["--at", "10,10", "--height", "30", "--technology", "4G-1800", "--radius-km", "1"],
    ["--at", "east", "--height", "30", "--technology", "4G-1800", "--radius-km", "1"],
], ids=["site", "technology", "model", "radius-0", "radius-past-dem", "outside", "lonlat"])
def test_cli_bad_input_exits_2_with_one_line(scenario, tmp_path, arguments):
    result = runner.invoke(app, ["predict", str(scenario), *arguments, "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("siting: error: "), result.stderr
    assert not any(tmp_path.iterdir())

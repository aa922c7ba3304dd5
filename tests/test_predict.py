"""Single-site area prediction (siting.predict, siting predict): the radial sweep against the
model's formula and per-cell ITM calls on hand-made terrain, the ridge's shadow, the output
files and the command line's errors."""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import matplotlib.axes
import numpy as np
import pyproj
import pytest
import rasterio
import rasterio.warp
from affine import Affine
from typer.testing import CliRunner

from regions import (CRS, TECH_4G, X0, Y0, candidate, lonlat_region, ridge_dem, village,
                     write_region)

import siting
from siting.china_crs import wgs84_to_bd09, wgs84_to_gcj02
from siting.cli import app
from siting.config import (Calibration, CoverageSettings, DistanceSlope, P1812Settings,
                           Technology)
from siting.coverage import Transmitters, model_loss_db, pair_levels
from siting.errors import InputError, OutputError
from siting.export.prediction import PREDICTION_FILES, write_prediction
from siting.export.staticmap import rsrp_class_index
from siting.itm import itm_p2p_loss
from siting.config import ItmSettings
from siting.coverage import ITM_MDVAR, ITM_POLARIZATION
from siting.io.rasters import DemSource, read_terrain
from siting.landcover import NO_CLASS_NAME, WORLDCOVER_CLASSES, LandCover
from siting.predict import (predict_area, radial_count, sample_radials_kernel,
                            sample_radials_on_cells)
from siting.terrain import DemCells, Terrain

REPO = Path(__file__).resolve().parents[1]

CELL_M = 30.0
TECH = Technology(**TECH_4G)
H_TX_M, H_RX_M = 30.0, 1.5
ITM = ItmSettings()
JACKSBORO = (Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "dem"
             / "usgs_jacksboro_fault_tn" / "jacksboro_fault_dem.npz")


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


def _terrain_cell_elevation(terrain: Terrain):
    """(x, y) [m] -> elevation of the terrain cell holding each point."""
    def elevation_at(x, y):
        row, col = terrain.rowcol(x, y)
        return terrain.elevation_m[np.floor(row + 0.5).astype(int), np.floor(col + 0.5).astype(int)]
    return elevation_at


def _itm_along_line(start, end, step_m, elevation_at):
    """ITM point-to-point over the straight line from ``start`` to ``end`` ((x, y) [m]) in
    ceil(length / step_m) equal steps, each point's elevation from ``elevation_at(x, y)`` (the
    DEM cell holding it: SPLAT!'s point-to-point profile)."""
    length = math.hypot(end[0] - start[0], end[1] - start[1])
    steps = math.ceil(length / step_m - 1e-9)
    t = np.linspace(0.0, 1.0, steps + 1)
    elevation = elevation_at(start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1]))
    pfl = [steps, length / steps, *np.asarray(elevation, float)]
    return itm_p2p_loss(H_TX_M, H_RX_M, pfl, ITM.climate, ITM.n0, TECH.frequency_mhz,
                        ITM_POLARIZATION[ITM.polarization], ITM.epsilon, ITM.sigma, ITM_MDVAR,
                        ITM.time_pct, ITM.location_pct, ITM.situation_pct)


def _differences_at_random_cells(prediction, elevation_at, n=300, min_cells=5):
    """The prediction's loss minus :func:`_itm_along_line` from the site to the centre of
    each of ``n`` random cells (seeded) at least ``min_cells`` cells out [dB]."""
    grid, cell_m = prediction.path_loss_db, prediction.terrain.cell_size_m
    site = (prediction.site_x_m, prediction.site_y_m)
    rng = np.random.default_rng(7)
    differences = []
    while len(differences) < n:
        row, col = rng.integers(0, grid.shape[0]), rng.integers(0, grid.shape[1])
        centre = prediction.transform * (col + 0.5, row + 0.5)
        if np.isfinite(grid[row, col]) and math.dist(centre, site) >= min_cells * cell_m:
            differences.append(grid[row, col] - _itm_along_line(site, centre, cell_m, elevation_at))
    return np.array(differences)


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
        expected = _itm_along_line(terrain.xy(50, 50), terrain.xy(row, col), CELL_M,
                                   _terrain_cell_elevation(terrain))
        assert got == pytest.approx(expected, abs=0.1), (row, col)


TECH_P1812 = Technology(**{**TECH_4G, "model": "p1812"},
                        p1812=P1812Settings(delta_n=45.0, n0=325.0))


def _engine_levels(terrain: Terrain, site_cell, cells, tech, settings=CoverageSettings()):
    """The coverage engine's RSRP (:func:`siting.coverage.pair_levels`) from an antenna
    ``H_TX_M`` above the centre of ``site_cell`` to the centres of ``cells`` [dBm]."""
    site = terrain.xy(*site_cell)
    tx = Transmitters(np.array([site[0]]), np.array([site[1]]), np.array([H_TX_M]))
    x, y = terrain.xy(*np.array(cells, float).T)
    level, _ = pair_levels(terrain, tx, x, y, H_RX_M, np.zeros(len(cells), np.int32),
                           np.arange(len(cells), dtype=np.int32), tech, settings)
    return level


@pytest.mark.parametrize("dem", [np.full((101, 101), 500.0), ridge_dem(101, 101, ridge_col=70)],
                         ids=["flat", "ridge"])
def test_p1812_cells_equal_the_coverage_engine(dem):
    """Along the axes the radial samples are the cell centres the engine's profile holds, so
    P.1812 over each prefix is the engine's P.1812 on the pair (the site's neighbours too)."""
    terrain = _terrain(dem)
    prediction = predict_area(terrain, *_site_cell(terrain, 50, 50), H_TX_M, TECH_P1812, 1200.0,
                              ue_height_m=H_RX_M)
    cells = _axis_cells(50, 50, [1, 2, 3, *range(5, 41, 5)])
    got = [_cell_value(prediction, prediction.level_dbm, *cell) for cell in cells]
    np.testing.assert_allclose(got, _engine_levels(terrain, (50, 50), cells, TECH_P1812),
                               atol=1e-3)


def test_p1812_without_the_itu_maps_values_is_an_input_error():
    terrain = _terrain(np.full((101, 101), 500.0))
    with pytest.raises(InputError, match="delta_n and n0"):
        predict_area(terrain, *_site_cell(terrain, 50, 50), H_TX_M, TECH, 600.0, model="p1812")


CALIBRATION = Calibration(offsets_db=(("4G-1800", (("tree_cover", 3.0),
                                                   (NO_CLASS_NAME, -4.0))),),
                          model_offset_db=(("4G-1800", 6.0),),
                          distance_slopes=(("4G-1800", DistanceSlope(
                              db_per_decade=-9.0, reference_km=0.5, min_km=0.15, max_km=1.0)),))


def _land_cover(shape) -> LandCover:
    """Cropland, with a band of trees (15 m) at rows 30-44 and columns 55-62, built-up (10 m)
    around (50, 80) and cells without a class at rows 60-64."""
    codes = np.full(shape, 40)
    codes[30:45] = 10
    codes[:, 55:63] = 10
    codes[45:56, 75:86] = 50
    codes[60:65] = 0
    return LandCover.of_codes(codes, WORLDCOVER_CLASSES, nodata=0)


@pytest.mark.parametrize("land_cover", [False, True], ids=["bare", "land_cover"])
@pytest.mark.parametrize("model", ["rma_38901", "p1812", "itm"])
def test_levels_equal_the_coverage_engine_with_land_cover_and_calibration(model, land_cover):
    """Band 2 is RSRP as the coverage engine computes it: the terminal clutter loss of each
    cell's land-cover class (P.2108), the clutter heights on the profile where the engine
    puts them (Deygout's obstacles, P.1812's g; not ITM), and the calibration's offsets and
    distance slope."""
    dem = ridge_dem(101, 101, ridge_col=70)
    terrain = Terrain(dem.astype(np.float32), _terrain(dem).transform, CRS,
                      _land_cover(dem.shape) if land_cover else None)
    tech = dataclasses.replace(TECH_P1812, model=model)
    settings = CoverageSettings(calibration=CALIBRATION)
    prediction = predict_area(terrain, *_site_cell(terrain, 50, 50), H_TX_M, tech, 1200.0,
                              settings=settings, ue_height_m=H_RX_M)
    cells = _axis_cells(50, 50, [1, 2, 3, *range(5, 41, 3)])
    got = [_cell_value(prediction, prediction.level_dbm, *cell) for cell in cells]
    expected = _engine_levels(terrain, (50, 50), cells, tech, settings)
    np.testing.assert_allclose(got, expected, atol=1e-3)


def test_every_radial_keeps_the_full_height_of_a_ridge_it_crosses():
    """Profiles hold the DEM's own cells: every radial crossing a one-cell-wide ridge carries
    its crest (interpolating between cell centres would lower it wherever no sample lands on
    the ridge's column, i.e. on most oblique radials)."""
    dem = ridge_dem(101, 101, ridge_col=70, ridge_width_cells=1)
    n_radials = radial_count(1200.0, CELL_M)
    profiles = np.empty((n_radials, 41))
    sample_radials_kernel(dem, 50.0, 50.0, profiles)
    off_east_deg = np.abs(360.0 * np.arange(n_radials) / n_radials - 90.0)
    crossing = off_east_deg <= 55.0  # reaches column 70 within 20 / cos(55 deg) < 40 cells
    assert crossing.sum() > n_radials // 4
    np.testing.assert_array_equal(profiles[crossing].max(axis=1), dem.max())
    assert set(np.unique(profiles)) <= set(np.unique(dem))


def _jacksboro_geotiff(folder: Path) -> Path:
    """The real 3" DEM as the GeoTIFF in longitude/latitude it is (the npz keys are the outer
    cell edges, "ymin" the north one: see its SOURCE.md)."""
    data = np.load(JACKSBORO)
    path = folder / "jacksboro.tif"
    transform = rasterio.transform.from_origin(float(data["xmin"]), float(data["ymin"]),
                                               float(data["dx"]), float(data["dy"]))
    z = data["elevation"]
    with rasterio.open(path, "w", driver="GTiff", width=z.shape[1], height=z.shape[0], count=1,
                       dtype=z.dtype, crs="EPSG:4326", transform=transform) as dst:
        dst.write(z, 1)
    return path


needs_jacksboro = pytest.mark.skipif(not JACKSBORO.exists(),
                                     reason=f"the shared real DEM {JACKSBORO} is absent")


@needs_jacksboro
def test_itm_on_real_terrain_matches_point_to_point_on_the_dem_cells():
    """On real relief (the 3" Jacksboro DEM, its cells taken as 90 m squares), the radial sweep's
    ITM loss at 300 random cells within 10 km agrees with ITM point-to-point over the DEM's own
    cells on the straight line to each cell (what SPLAT! computes for a point, independent of
    the radials): median |difference| 0.23 dB, bias 0.04 dB. Profiles interpolated
    bilinearly along the radials were 0.57 dB low, median |difference| 1.24 dB."""
    dem = np.load(JACKSBORO)["elevation"].astype(np.float32)
    terrain = Terrain(dem, Affine(90.0, 0.0, X0, 0.0, -90.0, Y0), CRS)
    prediction = predict_area(terrain, *terrain.xy(172, 200), H_TX_M, TECH, 111 * 90.0,
                              model="itm", ue_height_m=H_RX_M)
    differences = _differences_at_random_cells(prediction, _terrain_cell_elevation(terrain))
    assert abs(np.median(differences)) < 0.25
    assert np.median(np.abs(differences)) < 0.5


@needs_jacksboro
def test_itm_on_a_warped_dem_reads_its_own_cells(tmp_path):
    """The real DEM in longitude/latitude, warped to a UTM terrain: the sweep reads the DEM's
    own 3" cells (DemSource.cells), and its ITM loss at 300 random cells within 8 km agrees
    with ITM point-to-point over those cells on the straight line to each cell: median
    |difference| 0.53 dB, bias -0.09 dB. Profiles read from the warped terrain were 0.75 dB
    low, median |difference| 2.95 dB."""
    tif = _jacksboro_geotiff(tmp_path)
    utm = pyproj.CRS.from_epsg(32616)
    site = pyproj.Transformer.from_crs("EPSG:4326", utm, always_xy=True).transform(-84.30, 36.5896)
    radius_m = 8000.0

    def around(reach_m):
        return site[0] - reach_m, site[1] - reach_m, site[0] + reach_m, site[1] + reach_m

    terrain = read_terrain((tif,), utm, region_bounds=around(radius_m + 1000.0))
    cells = DemSource((tif,), utm).cells(around(radius_m + 200.0))
    assert cells is not None and cells.crs.is_geographic
    clipped = DemSource((tif,), utm).cells(around(10_500.0))  # past the DEM's west edge:
    with rasterio.open(tif) as src:  # its own cells up to that edge
        assert clipped.transform.c == pytest.approx(src.bounds.left)
        assert clipped.transform.a == pytest.approx(src.transform.a)
    prediction = predict_area(terrain, *site, H_TX_M, TECH, radius_m, model="itm",
                              ue_height_m=H_RX_M, dem_cells=cells)
    to_dem = pyproj.Transformer.from_crs(utm, cells.crs, always_xy=True)
    differences = _differences_at_random_cells(
        prediction, lambda x, y: cells.values_at(*to_dem.transform(x, y)))
    assert abs(np.median(differences)) < 0.3
    assert np.median(np.abs(differences)) < 1.0


def test_radials_on_the_dem_own_cells_take_the_cell_holding_each_sample():
    """Radial samples on a DEM in another CRS (3" longitude/latitude cells, a UTM run): every
    sample takes the value of the DEM cell holding its exact position (transformed one by one
    here; the sweep transforms every 16th and interpolates), on 99.9 % of the samples at
    least (a sample within 2 cm of a cell edge may fall either side)."""
    rng = np.random.default_rng(3)
    dem = rng.integers(0, 30_000, (240, 240)).astype(np.float32)
    cells = DemCells(dem, Affine(1 / 1200, 0.0, 109.9, 0.0, -1 / 1200, 30.1),
                     pyproj.CRS.from_epsg(4326))
    site = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(110.0004,
                                                                                  30.0003)
    n_radials, n_samples, spacing_m = radial_count(6000.0, 80.0), 76, 80.0
    profiles = np.empty((n_radials, n_samples))
    sample_radials_on_cells(cells, pyproj.CRS(CRS), *site, spacing_m, profiles)
    bearing = 2 * np.pi * np.arange(n_radials)[:, None] / n_radials
    distance_m = spacing_m * np.arange(n_samples)[None, :]
    lon, lat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(
        site[0] + distance_m * np.sin(bearing), site[1] + distance_m * np.cos(bearing))
    assert np.mean(profiles == cells.values_at(lon, lat)) > 0.999
    assert np.isin(profiles, dem).all()


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


def test_chinese_outputs_label_the_axes_and_the_overlay_in_chinese(tmp_path, monkeypatch):
    terrain = _terrain(ridge_dem(41, 41, ridge_col=30))
    prediction = predict_area(terrain, *_site_cell(terrain, 20, 20), H_TX_M, TECH, 450.0,
                              site="安康S1")  # a missing glyph in the title would warn (an error here)
    labels = []
    for axis in ("set_xlabel", "set_ylabel"):
        original = getattr(matplotlib.axes.Axes, axis)
        monkeypatch.setattr(matplotlib.axes.Axes, axis,
                            lambda ax, text, *a, _f=original, **k: (labels.append(text),
                                                                   _f(ax, text, *a, **k))[1])
    write_prediction(prediction, tmp_path, language="zh")
    assert labels[0].startswith("东坐标 [km]") and labels[1] == "北坐标 [km]"
    with zipfile.ZipFile(tmp_path / "prediction.kmz") as kmz:
        root = ET.fromstring(kmz.read("doc.kml"))
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    assert root.find(".//k:GroundOverlay/k:name", ns).text.startswith("参考信号接收功率")
    # the model by its name, its key in brackets (the title showed the key alone)
    title = root.find("k:Document/k:name", ns).text
    assert f"3GPP TR 38.901 RMa（{prediction.model}）" in title, title


@pytest.mark.parametrize("offset_cells", [(0.0, 0.0), (0.5, 0.5), (0.3, -0.45)],
                         ids=["centre", "corner", "off_centre"])
def test_the_smallest_radius_writes_valid_files(tmp_path, offset_cells):
    """One DEM cell is the smallest radius: the window then holds a few cells, which the COG
    (with its overview) and the maps hold; anything smaller is one error naming it."""
    terrain = _terrain(ridge_dem(41, 41, ridge_col=30))
    x, y = terrain.xy(20 + offset_cells[0], 20 + offset_cells[1])
    with pytest.raises(InputError, match=r"under one DEM cell; use at least 0\.03 km"):
        predict_area(terrain, x, y, H_TX_M, TECH, CELL_M - 0.5)
    prediction = predict_area(terrain, x, y, H_TX_M, TECH, CELL_M, site="S1")
    write_prediction(prediction, tmp_path)
    with rasterio.open(tmp_path / "prediction.tif") as src:
        level = src.read(2, masked=True)
        assert level.count() == prediction.points >= 1
        np.testing.assert_allclose(level.compressed(),
                                   prediction.level_dbm[np.isfinite(prediction.level_dbm)])
    with zipfile.ZipFile(tmp_path / "prediction.kmz") as kmz:
        assert kmz.testzip() is None


def test_every_finite_level_has_a_class_however_weak():
    """Cells far below the weakest class's floor (deep shadow, -200 dBm and under) are drawn in
    the weakest class on prediction.png and .kmz, not left transparent as if outside R."""
    levels = np.array([-350.0, -200.5, -200.0, -106.0, -100.0, -90.0, -80.0, np.nan, -np.inf])
    np.testing.assert_array_equal(rsrp_class_index(levels),
                                  [0, 0, 0, 0, 1, 2, 3, np.nan, np.nan])


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


#: What ``siting predict`` never uses: the planning stages' libraries and the coverage
#: engine's KD-tree (its start-up is part of every prediction's time, benchmarks/vs_splat.py).
NOT_FOR_PREDICT = ("scipy.spatial", "dask", "distributed", "pulp", "highspy", "folium",
                   "matplotlib.pyplot", "siting.optimize", "siting.export.webmap")


def test_the_command_imports_no_module_it_does_not_use(scenario, tmp_path):
    code = ("import sys; from siting.cli import app; "
            f"app(['predict', {str(scenario)!r}, '--site', 'S1', '--technology', '4G-1800', "
            f"'--radius-km', '1', '--model', 'itm', '--out', {str(tmp_path)!r}, '--quiet'], "
            "standalone_mode=False); "
            f"print(sorted(set({NOT_FOR_PREDICT!r}) & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    assert all((tmp_path / name).exists() for name in PREDICTION_FILES)
    assert result.stdout.splitlines()[-1] == "[]"


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


@pytest.mark.parametrize("system", ["GCJ-02", "BD-09"])
def test_a_web_map_position_predicts_the_site_it_names(scenario, tmp_path, system):
    """--at-crs GCJ-02 / BD-09: the position a Chinese web map shows for the candidate's
    WGS 84 position (offset by several hundred metres) predicts from the candidate's own cell,
    as the WGS 84 position does; the China offsets come from siting.china_crs, checked against
    the reference pairs in tests/test_china_crs.py."""
    study = siting.prepare(scenario)
    area = study.predict(site="S1", technology="4G-1800", radius_km=1.0)
    lon, lat = rasterio.warp.transform(CRS, "EPSG:4326", [area.site_x_m], [area.site_y_m])
    to_web = {"GCJ-02": wgs84_to_gcj02, "BD-09": wgs84_to_bd09}[system]
    web_lon, web_lat = to_web(lon[0], lat[0])
    assert math.hypot(web_lon - lon[0], web_lat - lat[0]) > 1e-3, "the offset is not tiny"
    at = study.predict(at=(float(web_lon), float(web_lat)), at_system=system,
                       technology="4G-1800", radius_km=1.0, height_m=area.height_m)
    assert (at.site_x_m, at.site_y_m) == pytest.approx((area.site_x_m, area.site_y_m), abs=0.01)
    result = runner.invoke(app, ["predict", str(scenario), "--at", f"{web_lon},{web_lat}",
                                 "--at-crs", system, "--height", "30", "--technology", "4G-1800",
                                 "--radius-km", "1", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"of {lon[0]:.6f},{lat[0]:.6f}" in result.output.replace("\n", "")


@pytest.mark.parametrize(("at", "system", "message"), [
    ("109.0,32.7", "UTM", "unknown coordinate system 'UTM' for a position; use one of WGS84"),
    ("-75.0,40.0", "GCJ-02", "-75,40 lies outside China, where GCJ-02 is not defined"),
])
def test_a_bad_web_map_position_is_one_error_line(scenario, tmp_path, at, system, message):
    result = runner.invoke(app, ["predict", str(scenario), "--at", at, "--at-crs", system,
                                 "--height", "30", "--technology", "4G-1800", "--radius-km", "1",
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def _site_lonlat(scenario) -> tuple[float, float]:
    area = siting.prepare(scenario).predict(site="S1", technology="4G-1800", radius_km=1.0)
    lon, lat = rasterio.warp.transform(CRS, "EPSG:4326", [area.site_x_m], [area.site_y_m])
    return lon[0], lat[0]


def test_a_position_pasted_with_a_full_width_comma_predicts(scenario, tmp_path):
    lon, lat = _site_lonlat(scenario)
    result = runner.invoke(app, ["predict", str(scenario), "--at", f"{lon:.6f}，{lat:.6f}",
                                 "--height", "30", "--technology", "4G-1800", "--radius-km", "1",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("where", ["swapped", "off_dem"])
def test_a_position_off_the_dem_says_where_the_dem_is(scenario, tmp_path, where):
    """In degrees, as the user typed the position, with a hint when lon and lat look swapped."""
    lon, lat = _site_lonlat(scenario)
    at, message = {
        "swapped": (f"{lat:.6f},{lon:.6f}", "is not a longitude,latitude in degrees; the "
                                            "longitude comes first"),
        "off_dem": (f"{lon + 0.5:.6f},{lat:.6f}", "lies outside the DEM, which spans longitude"),
    }[where]
    result = runner.invoke(app, ["predict", str(scenario), "--at", at, "--height", "30",
                                 "--technology", "4G-1800", "--radius-km", "1",
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


@pytest.fixture(scope="module")
def two_sites(tmp_path_factory):
    return write_region(tmp_path_factory.mktemp("predict2"), ridge_dem(120, 120, ridge_col=70),
                        villages=[village("V1", 1000, 1800)],
                        candidates=[candidate("S1", 1800, 1800), candidate("S2", 2000, 1500)])


def test_several_sites_are_predicted_in_one_process_each_in_its_folder(two_sites, tmp_path):
    """--site S1 --site S2: one sub-folder per site, each the same files a one-site run
    writes."""
    common = ["--technology", "4G-1800", "--radius-km", "1", "--model", "itm"]
    result = runner.invoke(app, ["predict", str(two_sites), "--site", "S1", "--site", "S2",
                                 *common, "--out", str(tmp_path / "both")])
    assert result.exit_code == 0, result.output
    assert "of S1" in result.output and "of S2" in result.output
    for site in ("S1", "S2"):
        one = runner.invoke(app, ["predict", str(two_sites), "--site", site, *common, "--out",
                                  str(tmp_path / site)])
        assert one.exit_code == 0, one.output
        assert sorted(p.name for p in (tmp_path / "both" / site).iterdir()) == sorted(
            PREDICTION_FILES)
        with rasterio.open(tmp_path / "both" / site / "prediction.tif") as both, \
                rasterio.open(tmp_path / site / "prediction.tif") as alone:
            np.testing.assert_array_equal(both.read(), alone.read())
            assert both.transform == alone.transform


def test_an_unknown_site_among_several_writes_nothing(two_sites, tmp_path):
    result = runner.invoke(app, ["predict", str(two_sites), "--site", "S1", "--site", "NOPE",
                                 "--technology", "4G-1800", "--radius-km", "1", "--out",
                                 str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "unknown site 'NOPE'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("radius_km, warned", [(4.0, False), (6.0, True)])
def test_a_radius_beyond_the_models_validity_is_warned(tmp_path, caplog, radius_km, warned):
    """UMa (3GPP TR 38.901) is specified to 5 km: a wider prediction extrapolates it (a
    warning on the log, which the command prints on stderr)."""
    result = runner.invoke(app, ["predict", str(REPO / "data" / "demo" / "scenario.yaml"),
                                 "--site", "S0227", "--technology", "4G-1800", "--model",
                                 "uma_38901", "--radius-km", f"{radius_km}", "--out",
                                 str(tmp_path), "--quiet"])
    assert result.exit_code == 0, result.output
    assert ("beyond the uma_38901 model's validity (10-5000 m)" in caplog.text) == warned


def test_the_demo_p1812_scenario_predicts(tmp_path):
    """A technology whose own model is p1812 predicts with it (it used to be an internal
    error: the profile model was read as a distance formula)."""
    result = runner.invoke(app, ["predict", str(REPO / "data" / "demo" / "scenario_p1812.yaml"),
                                 "--site", "S0227", "--technology", "4G-1800", "--radius-km",
                                 "1", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "(p1812," in result.output
    with rasterio.open(tmp_path / "prediction.tif") as src:
        assert src.tags()["model"] == "p1812"
        assert np.isfinite(src.read(2, masked=True).compressed()).all()


def test_every_unknown_site_is_named_before_any_is_computed(two_sites, tmp_path):
    result = runner.invoke(app, ["predict", str(two_sites), "--site", "S1", "--site", "NOPE",
                                 "--site", "GONE", "--technology", "4G-1800", "--radius-km", "1",
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "unknown sites 'NOPE', 'GONE'" in result.output
    assert not (tmp_path / "out").exists()


def test_a_failure_while_writing_names_the_sites_written_and_not(two_sites, tmp_path):
    """S2's folder cannot be made (a file holds its name): S1 is written, and the one error
    line says so and that S2 is not."""
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "S2").write_text("")
    result = runner.invoke(app, ["predict", str(two_sites), "--site", "S1", "--site", "S2",
                                 "--technology", "4G-1800", "--radius-km", "1", "--out",
                                 str(tmp_path / "out")])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert lines[0].endswith("sites written: S1; not written: S2"), lines[0]
    assert sorted(p.name for p in (tmp_path / "out" / "S1").iterdir()) == sorted(PREDICTION_FILES)


def test_a_bug_while_writing_one_of_several_stays_an_internal_error(two_sites, tmp_path,
                                                                     monkeypatch):
    """Only an output error (the disk, the folder) gets the sites written and not; a bug in
    the writer is reported as the internal error it is, not as the user's disk."""
    import siting.export.prediction as prediction_export

    write = prediction_export.write_prediction

    def write_failing_on_s2(prediction, out_dir, **kwargs):
        if prediction.site == "S2":
            raise ValueError("a bug in the writer")
        return write(prediction, out_dir, **kwargs)

    monkeypatch.setattr(prediction_export, "write_prediction", write_failing_on_s2)
    result = runner.invoke(app, ["predict", str(two_sites), "--site", "S1", "--site", "S2",
                                 "--technology", "4G-1800", "--radius-km", "1", "--out",
                                 str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "internal error: ValueError: a bug in the writer" in result.output, result.output


def test_a_radius_past_a_lonlat_dem_data_is_refused_not_mapped_on_its_warp_margin(tmp_path):
    """A DEM in longitude/latitude warped to UTM has, around its data, grid cells the warp
    filled from their neighbours (here 390 m west of site W, which is 117 m inside the data):
    a circle that reaches past the data is refused as one past the grid's edge is, rather than
    mapped over that invented terrain; the site in the middle predicts."""
    scenario, _ = lonlat_region(tmp_path / "region",
                                {"W": 1.5 / 1200.0, "C": 0.1})  # W about 117 m inside
    common = ["predict", str(scenario), "--technology", TECH_4G["name"], "--radius-km", "0.35"]
    result = runner.invoke(app, [*common, "--site", "W", "--out", str(tmp_path / "w")])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "site W: a radius of 0.35 km reaches past the DEM" in lines[0]
    assert "0.12 km from the nearest edge of its data" in lines[0]
    assert not (tmp_path / "w").exists()
    result = runner.invoke(app, [*common, "--site", "C", "--out", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    with rasterio.open(tmp_path / "c" / "prediction.tif") as src:
        assert src.read(2, masked=True).count() > 40


def test_a_position_on_a_warped_dem_margin_is_off_the_dem_whose_span_is_its_data(tmp_path):
    """190 m west of a lon/lat DEM's data, inside the grid its warp to UTM fills: refused, and
    the DEM's span given is its data's (108.9 E...), which the position lies outside of."""
    scenario, (west, south, east, north) = lonlat_region(tmp_path / "region", {"C": 0.1})
    lat = (south + north) / 2
    result = runner.invoke(app, ["predict", str(scenario), "--at", f"{west - 0.002:.6f},{lat:.6f}",
                                 "--height", "30", "--technology", TECH_4G["name"],
                                 "--radius-km", "0.2", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "lies outside the DEM, which spans longitude " \
        f"{west:.4f} to {east:.4f} and latitude {south:.4f} to {north:.4f}" in lines[0]
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------
# the same fault in a notebook's words and in the command line's


@pytest.mark.parametrize(("call", "python_words", "cli_arguments", "cli_words"), [
    ({}, ["site=", "at="], [], ["--site", "--at"]),
    ({"at": (109.0, 32.7)}, ["(height_m=)"], ["--at", "109.0,32.7"], ["(--height)"]),
    ({"site": "S1", "height_m": -5.0}, ["(height_m=)"], ["--site", "S1", "--height", "-5"],
     ["(--height)"]),
], ids=["neither-site-nor-position", "position-without-height", "negative-height"])
def test_a_bad_argument_is_named_as_each_caller_passes_it(scenario, tmp_path, call,
                                                          python_words, cli_arguments, cli_words):
    """A notebook user has no --height to pass: Study.predict names its parameters, the
    command its options, from the one message of siting.predict."""
    with pytest.raises(InputError) as caught:
        siting.prepare(scenario).predict(technology="4G-1800", radius_km=1.0, **call)
    assert all(word in str(caught.value) for word in python_words), caught.value
    assert "--" not in str(caught.value)
    result = runner.invoke(app, ["predict", str(scenario), "--technology", "4G-1800",
                                 "--radius-km", "1", *cli_arguments, "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    line, = result.stderr.strip().splitlines()
    assert all(word in line for word in cli_words) and "=" not in line, line


def test_the_model_validity_warning_names_the_model_argument_or_option(tmp_path, caplog):
    """The warning of a radius beyond UMa's 5 km suggests model=itm in Python, --model itm on
    the command line."""
    demo = REPO / "data" / "demo" / "scenario.yaml"
    study = siting.prepare(demo)
    with caplog.at_level("WARNING", logger="siting.predict"):
        study.predict(site="S0227", technology="4G-1800", model="uma_38901", radius_km=6.0)
    assert "use model=itm or model=p1812 for it" in caplog.text
    assert "--model" not in caplog.text
    caplog.clear()
    result = runner.invoke(app, ["predict", str(demo), "--site", "S0227", "--technology",
                                 "4G-1800", "--model", "uma_38901", "--radius-km", "6",
                                 "--out", str(tmp_path), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "use --model itm or --model p1812 for it" in caplog.text
    assert "model=" not in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="siting.predict"):  # the library's words again
        study.predict(site="S0227", technology="4G-1800", model="uma_38901", radius_km=6.0)
    assert "use model=itm or model=p1812 for it" in caplog.text


def test_an_unwritable_output_folder_is_named_as_each_caller_chose_it(scenario, tmp_path):
    """A notebook's write(out_dir) asks for another output folder, the command for another
    --out (siting.diskfaults words it once)."""
    blocker = tmp_path / "report.pdf"
    blocker.write_text("a file where a folder should be")
    prediction = siting.prepare(scenario).predict(site="S1", technology="4G-1800", radius_km=1.0)
    with pytest.raises(OutputError) as caught:
        prediction.write(blocker / "out")
    assert str(caught.value).endswith(f"{blocker} is a file, not a folder (while creating the "
                                      f"prediction folder); choose another output folder")
    result = runner.invoke(app, ["predict", str(scenario), "--site", "S1", "--technology",
                                 "4G-1800", "--radius-km", "1", "--out", str(blocker / "out")])
    assert result.exit_code == 1, result.output
    line, = result.stderr.strip().splitlines()
    assert line.endswith("is a file, not a folder (while creating the prediction folder); choose "
                         "another --out"), line


def test_a_path_that_looks_like_an_argument_is_left_as_the_user_wrote_it(tmp_path):
    """Only siting.predict's argument names become options: a folder named site=A (a
    Hive-style partition) stays in the message as it is on disk."""
    missing = tmp_path / "site=A" / "at=B" / "scenario.yaml"
    result = runner.invoke(app, ["predict", str(missing), "--site", "S1", "--technology",
                                 "4G-1800", "--radius-km", "1"])
    assert result.exit_code == 2, result.output
    line, = result.stderr.strip().splitlines()
    assert line == f"siting: error: {missing}: scenario file not found"

"""Nodata in DEMs as planners hand them over, made from the real Jacksboro DEM (3", Tennessee):
the nodata corners of a tile the planner warped to UTM, SRTM voids, a VRT mosaic with a gap,
a masked band, scaled and foot elevations, an ASCII grid's NODATA_value.

Cells without data are filled so that profiles stay defined, but a point may not stand on
them: the Terrain's ``data_mask`` says which cells hold data, and RegionData.on_dem refuses the
others as it refuses the margin of a DEM warped by the run.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
import rasterio.crs
import rasterio.transform
import rasterio.warp
import yaml

from siting.config import load_scenario
from siting.errors import InputError
from siting.io import read_region
from siting.io.rasters import read_terrain, single_dem_in_crs

JACKSBORO = (Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "dem"
             / "usgs_jacksboro_fault_tn" / "jacksboro_fault_dem.asc")
UTM16 = pyproj.CRS.from_epsg(32616)  # the UTM zone of the Jacksboro DEM (84.4-84.1 W)
NODATA = -32768
TECH_4G = dict(name="4G-1800", generation="4G", frequency_mhz=1800, eirp_dbm=61.0,
               resource_blocks=100, rsrp_threshold_dbm=-110, model="rma_38901",
               max_range_m=3000, clutter_loss_db=10, equipment_capex_cny=150000,
               opex_cny_per_year=12000)


def _gdal(*args: str) -> None:
    """Run a GDAL command-line tool, skipping the test when gdal-bin is not installed."""
    if shutil.which(args[0]) is None:
        pytest.skip(f"{args[0]} is not installed (apt-get install gdal-bin)")
    subprocess.run(args, check=True, capture_output=True)


def _write(path: Path, data: np.ndarray, *, crs, transform, nodata=None, **tags) -> Path:
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1],
                       count=1, dtype=data.dtype, crs=crs, transform=transform,
                       nodata=nodata) as dst:
        dst.write(data, 1)
        for name, value in tags.items():
            setattr(dst, name, value)
    return path


@pytest.fixture(scope="module")
def lonlat_dem(tmp_path_factory) -> Path:
    """The Jacksboro DEM (read in place) as a GeoTIFF in WGS 84, nodata -32768."""
    if not JACKSBORO.is_file():
        pytest.skip(f"{JACKSBORO} is absent (the shared real data are not mounted)")
    with rasterio.open(JACKSBORO) as src:
        z, transform = src.read(1), src.transform
    return _write(tmp_path_factory.mktemp("jacksboro") / "lonlat.tif", z.astype(np.int16),
                  crs="EPSG:4326", transform=transform, nodata=NODATA)


@pytest.fixture(scope="module")
def utm_dem(lonlat_dem) -> Path:
    """The DEM as a planner warps it to UTM: gdalwarp -t_srs EPSG:32616 -tr 90 90, the
    corners outside the lon/lat tile stored as nodata."""
    path = lonlat_dem.with_name("utm.tif")
    _gdal("gdalwarp", "-q", "-t_srs", "EPSG:32616", "-tr", "90", "90", "-r", "bilinear",
          "-dstnodata", str(NODATA), "-ot", "Int16", str(lonlat_dem), str(path))
    return path


@pytest.fixture(scope="module")
def utm_inner(utm_dem) -> Path:
    """The UTM DEM cut to 200 x 200 cells well inside its data (no nodata at all)."""
    path = utm_dem.with_name("inner.tif")
    _gdal("gdal_translate", "-q", "-srcwin", "80", "80", "200", "200", str(utm_dem), str(path))
    with rasterio.open(path) as src:
        assert (src.read(1) != NODATA).all()
    return path


def _nodata_cell_centre(path: Path, row: int, col: int) -> tuple[float, float]:
    with rasterio.open(path) as src:
        assert src.read(1)[row, col] == src.nodata
        return src.xy(row, col)


def _lonlat_scenario(folder: Path, dem: Path, sites: dict[str, tuple[float, float]],
                     bbox: tuple[float, float, float, float], **inputs) -> Path:
    """A scenario over ``bbox`` (WGS 84) on ``dem`` with one village at the centre and sites
    at the given UTM 16N positions, the points as lon/lat CSV files."""
    folder.mkdir(parents=True, exist_ok=True)
    to_lonlat = pyproj.Transformer.from_crs(UTM16, "EPSG:4326", always_xy=True)
    pd.DataFrame([dict(village_id="V1", name="V1", population=300, admin_unit="A",
                       poverty_village=True, relocation_site=False,
                       lon=(bbox[0] + bbox[2]) / 2, lat=(bbox[1] + bbox[3]) / 2)]
                 ).to_csv(folder / "villages.csv", index=False)
    rows = []
    for sid, (x, y) in sites.items():
        lon, lat = to_lonlat.transform(x, y)
        rows.append(dict(site_id=sid, kind="greenfield", antenna_height_m=30, capex_cny=1e5,
                         opex_cny_per_year=1e4, free_public=False, difficult=False,
                         extra_cost_cny=0, technologies="4G", lon=lon, lat=lat))
    pd.DataFrame(rows).to_csv(folder / "sites.csv", index=False)
    doc = {"name": "nodata", "crs": "EPSG:32616",
           "inputs": {"dem": str(dem), "villages": "villages.csv", "candidates": "sites.csv",
                      **inputs},
           "region": {"bbox": list(bbox)}, "technologies": [TECH_4G],
           "objective": {"type": "min_cost"}}
    (folder / "scenario.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder / "scenario.yaml"


def _lonlat_bounds(path: Path) -> tuple[float, float, float, float]:
    with rasterio.open(path) as src:
        return tuple(src.bounds)


# ---------------------------------------------------------------------------------------------
# a tile the planner already warped to UTM: its nodata corners are no terrain


def test_a_site_on_the_nodata_corner_of_a_utm_warped_tile_is_refused(lonlat_dem, utm_dem,
                                                                      tmp_path):
    """The corners gdalwarp leaves nodata lie inside the file's rectangle; siting fills them
    so profiles stay defined, but a site there stood on invented terrain and was accepted."""
    corner = _nodata_cell_centre(utm_dem, 2, 2)
    with rasterio.open(utm_dem) as src:
        on_data = src.xy(src.height // 2, src.width // 2)
    scenario = _lonlat_scenario(tmp_path, utm_dem, {"ON": on_data, "CORNER": corner},
                                _lonlat_bounds(lonlat_dem))
    with pytest.raises(InputError, match=r"sites\.csv: 1 point\(s\) lie on DEM cells without "
                                         r"data \(nodata.*\): CORNER; fill the DEM there"):
        read_region(load_scenario(scenario))
    region = read_region(load_scenario(_lonlat_scenario(tmp_path / "ok", utm_dem,
                                                        {"ON": on_data},
                                                        _lonlat_bounds(lonlat_dem))))
    assert region.on_dem(*on_data) and not region.on_dem(*corner)
    assert region.terrain.contains(*corner)  # the filled cells the check sees past
    assert np.isfinite(region.terrain.elevation_m).all()


def test_a_prediction_leaves_the_cells_on_a_warped_tiles_nodata_empty(lonlat_dem, utm_dem,
                                                                       tmp_path, caplog):
    """A site 5.4 km from the top-left corner of a tile warped to UTM, a 5 km radius: the
    cells of the nodata border within it are left empty (they were given levels over the
    filled ground, as if measured), every other cell within the radius has its level."""
    from siting.predict import predict_in_region

    site = rasterio.open(utm_dem).xy(60, 60)
    scenario = load_scenario(_lonlat_scenario(tmp_path, utm_dem, {"S": site},
                                              _lonlat_bounds(lonlat_dem)))
    region = read_region(scenario)
    with caplog.at_level(logging.WARNING, logger="siting"):
        prediction = predict_in_region(region, scenario, technology="4G-1800", radius_km=5.0,
                                       site="S", model="itm")
    height, width = prediction.path_loss_db.shape
    rows, cols = np.mgrid[0:height, 0:width]
    x, y = prediction.transform * (cols + 0.5, rows + 0.5)
    within = np.hypot(x - site[0], y - site[1]) <= 5000.0 - 60.0  # clear of the rim's rounding
    on_data = region.terrain.on_data(x, y)
    assert (within & ~on_data).sum() > 20  # the test reaches the nodata border
    assert not np.isfinite(prediction.path_loss_db[~on_data]).any()
    assert not np.isfinite(prediction.level_dbm[~on_data]).any()
    assert np.isfinite(prediction.level_dbm[within & on_data]).all()
    assert any("lie on the DEM's nodata" in r.getMessage() for r in caplog.records)
    corner = pyproj.Transformer.from_crs(UTM16, "EPSG:4326", always_xy=True).transform(
        *_nodata_cell_centre(utm_dem, 2, 2))
    with pytest.raises(InputError, match=r"lies on a DEM cell without data \(nodata"):
        predict_in_region(region, scenario, technology="4G-1800", radius_km=1.0,
                          at=corner, height_m=30.0)


def test_coverage_tif_claims_no_level_on_a_warped_tiles_nodata(lonlat_dem, utm_dem, tmp_path):
    """A site 1.8 km from the top-left corner of a tile warped to UTM: coverage.tif's cells on
    the nodata border are nodata (they carried levels over the filled ground), its cells on
    data near the site have levels."""
    from siting.pipeline import run_scenario

    with rasterio.open(utm_dem) as src:
        site, village = src.xy(20, 20), src.xy(24, 24)
    scenario = _lonlat_scenario(tmp_path, utm_dem, {"S": site}, _lonlat_bounds(lonlat_dem))
    to_lonlat = pyproj.Transformer.from_crs(UTM16, "EPSG:4326", always_xy=True)
    villages = pd.read_csv(tmp_path / "villages.csv")
    villages[["lon", "lat"]] = to_lonlat.transform(*village)
    villages.to_csv(tmp_path / "villages.csv", index=False)
    run_scenario(scenario, tmp_path / "out")
    region = read_region(load_scenario(scenario))
    with rasterio.open(tmp_path / "out" / "coverage.tif") as src:
        level = src.read(1, masked=True)
        rows, cols = np.mgrid[0:src.height, 0:src.width]
        x, y = src.xy(rows.ravel(), cols.ravel())
    on_data = region.on_dem(np.array(x), np.array(y)).reshape(level.shape)
    near = (np.hypot(np.array(x) - site[0], np.array(y) - site[1]) < 1500).reshape(level.shape)
    assert (near & ~on_data).any() and (near & on_data & ~level.mask).any()
    assert level.mask[~on_data].all()


def test_the_data_mask_is_the_files_nodata(utm_dem):
    """Cell by cell, the Terrain's data mask is where the warped file holds data."""
    terrain = read_terrain(utm_dem, UTM16)
    with rasterio.open(utm_dem) as src:
        has_data = src.read(1) != src.nodata
        assert terrain.transform == src.transform and terrain.shape == has_data.shape
    assert 0.01 < (~has_data).mean() < 0.2  # the four corners
    np.testing.assert_array_equal(terrain.data_mask, has_data)
    rows, cols = np.mgrid[0:terrain.shape[0]:7, 0:terrain.shape[1]:7]
    x, y = terrain.xy(rows.ravel(), cols.ravel())
    np.testing.assert_array_equal(terrain.on_data(x, y), has_data[rows.ravel(), cols.ravel()])


def test_population_on_the_nodata_corners_is_no_demand(lonlat_dem, utm_dem, tmp_path, caplog):
    """Population cells whose centroid lies on the nodata corners are left out with a warning;
    every cell kept lies on a cell of the file that holds data."""
    from siting.demand import build_demand
    with rasterio.open(utm_dem) as src:
        shape, transform = (src.height // 3, src.width // 3), src.transform @ src.transform.scale(3)
        has_data = src.read(1) != src.nodata
        site = src.xy(src.height // 2, src.width // 2)
    scenario = _lonlat_scenario(tmp_path, utm_dem, {"S": site}, _lonlat_bounds(lonlat_dem),
                                population="population.tif")
    _write(tmp_path / "population.tif", np.full(shape, 5.0, np.float32), crs=UTM16,
           transform=transform)
    loaded = load_scenario(scenario)
    region = read_region(loaded)
    with caplog.at_level(logging.WARNING, logger="siting"):
        demand = build_demand(region, loaded.demand)
    cells = np.asarray(demand.kind) == "cell"
    with rasterio.open(utm_dem) as src:
        rows, cols = rasterio.transform.rowcol(src.transform, demand.x_m[cells], demand.y_m[cells])
    assert cells.sum() > 1000
    assert has_data[np.asarray(rows), np.asarray(cols)].all()
    assert any("population cell(s) holding" in r.getMessage() and "without data" in r.getMessage()
               for r in caplog.records)


# ---------------------------------------------------------------------------------------------
# SRTM voids (-32768) inside a tile: small ones interpolated, large ones no data

SMALL_VOID = np.s_[100:102, 100:102]  # 2 x 2 cells of 90 m: every cell beside data
LARGE_VOID = np.s_[50:58, 140:148]  # 8 x 8 cells: its middle lies 4 cells (360 m) from data


@pytest.fixture(scope="module")
def voided(utm_inner) -> Path:
    """The inner UTM DEM with an SRTM-style small and large void (-32768, declared nodata)."""
    with rasterio.open(utm_inner) as src:
        z, profile = src.read(1), src.profile
    z[SMALL_VOID] = NODATA
    z[LARGE_VOID] = NODATA
    path = utm_inner.with_name("voided.tif")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(z, 1)
    return path


def test_small_voids_are_interpolated_as_gdal_fillnodata_does_and_hold_data(voided, utm_inner,
                                                                             caplog):
    from siting.io.rasters import SMALL_VOID_M
    assert 90.0 <= SMALL_VOID_M < 360.0  # the small void is small, the large one is not
    with caplog.at_level(logging.WARNING, logger="siting"):
        terrain = read_terrain(voided, UTM16)
    truth = read_terrain(utm_inner, UTM16)
    assert terrain.transform == truth.transform
    assert any("filled 68 nodata cell(s) of voids" in r.getMessage()
               and "64 of them lie more than 100 m from data" in r.getMessage()
               for r in caplog.records)
    mask = terrain.data_mask
    assert mask[SMALL_VOID].all() and not mask[LARGE_VOID].any() and mask.sum() == 200 * 200 - 64
    # the values GDAL's own gdal_fillnodata.py puts there (Int16, so within half a metre)
    filled = voided.with_name("gdal_filled.tif")
    _gdal("gdal_fillnodata.py", "-q", "-md", "6", str(voided), str(filled))
    with rasterio.open(filled) as src:
        gdal = src.read(1).astype(np.float64)
    for void in (SMALL_VOID, LARGE_VOID):
        np.testing.assert_allclose(terrain.elevation_m[void], gdal[void], atol=0.5)
    # interpolated from its edges, the small void is close to the ground it hid
    relief = np.ptp(truth.elevation_m[99:103, 99:103])
    assert np.abs(terrain.elevation_m[SMALL_VOID] - truth.elevation_m[SMALL_VOID]).max() < relief


def _inner_bbox(path: Path, inset_deg: float = 0.01) -> tuple[float, float, float, float]:
    """A WGS 84 box inside a UTM 16N raster."""
    with rasterio.open(path) as src:
        west, south, east, north = rasterio.warp.transform_bounds(UTM16, "EPSG:4326", *src.bounds)
    return west + inset_deg, south + inset_deg, east - inset_deg, north - inset_deg


def test_a_site_on_a_large_void_is_refused_beside_it_or_on_a_small_one_accepted(voided,
                                                                                 tmp_path):
    with rasterio.open(voided) as src:
        at = {"SMALL": src.xy(100, 101), "LARGE": src.xy(54, 144), "BESIDE": src.xy(54, 138)}
    bbox = _inner_bbox(voided)
    with pytest.raises(InputError, match=r"sites\.csv: 1 point\(s\) lie on DEM cells without "
                                         r"data .*: LARGE;"):
        read_region(load_scenario(_lonlat_scenario(tmp_path, voided, at, bbox)))
    del at["LARGE"]
    region = read_region(load_scenario(_lonlat_scenario(tmp_path / "ok", voided, at, bbox)))
    assert list(region.candidates.index) == ["SMALL", "BESIDE"]


def _levels_beside(terrain, rows, cols, site_rc, radius_m):
    """RSRP [dBm] of the test technology at cells (rows, cols) from a 30 m mast at ``site_rc``
    (coverage engine), and the predict_area map of ``radius_m`` around it with the map's cell
    centres (x, y)."""
    from siting.config import CoverageSettings, Technology
    from siting.coverage import Transmitters, path_levels
    from siting.predict import predict_area
    tech = Technology(**{k: float(v) if isinstance(v, int) else v for k, v in TECH_4G.items()})
    x, y = terrain.xy(*site_rc)
    rx_x, rx_y = terrain.xy(rows, cols)
    levels = path_levels(terrain, Transmitters(np.array([x]), np.array([y]), np.array([30.0])),
                         rx_x, rx_y, 1.5, tech, CoverageSettings())
    assert (np.sort(levels.rx) == np.arange(len(rows))).all()
    prediction = predict_area(terrain, float(x), float(y), 30.0, tech, radius_m)
    map_rows, map_cols = np.mgrid[0:prediction.level_dbm.shape[0], 0:prediction.level_dbm.shape[1]]
    t = prediction.transform
    map_xy = (t.c + (map_cols + 0.5) * t.a, t.f + (map_rows + 0.5) * t.e)
    return levels.level_dbm[np.argsort(levels.rx)], prediction.level_dbm, map_xy


def _nearest_filled(terrain, void_cells):
    """``terrain`` with the void cells copied from their nearest other cell (what siting did)."""
    import dataclasses
    from scipy import ndimage
    missing = np.zeros(terrain.shape, bool)
    for void in void_cells:
        missing[void] = True
    _, (rows, cols) = ndimage.distance_transform_edt(missing, return_indices=True)
    return dataclasses.replace(terrain, elevation_m=terrain.elevation_m[rows, cols])


def test_coverage_and_predict_beside_a_small_void_match_the_unvoided_dem(voided, utm_inner):
    """Masts three cells west, north and south of the small void: levels on paths that keep a
    cell away from it are the unvoided DEM's to the bit, in the coverage engine and in
    predict_area; on paths over it the interpolated ground errs less, summed over the paths,
    than the nearest-cell copy siting used to fill voids with (the ground it hides here varies
    by 47 m across 4 cells, so no fill gets every path right)."""
    import shapely
    terrain, truth = read_terrain(voided, UTM16), read_terrain(utm_inner, UTM16)
    nearest = _nearest_filled(truth, (SMALL_VOID, LARGE_VOID))
    rows, cols = np.mgrid[80:121, 80:121]  # 1.8 km around the void, the void's cells included
    rows, cols = rows.ravel(), cols.ravel()
    # bilinear samples within a cell of the void read its cells
    near_void = shapely.box(98.5, 98.5, 102.5, 102.5)  # (col, row)
    void_x, void_y = terrain.xy(100.5, 100.5)
    error_db = {"interpolated": [], "nearest": []}
    for site in ((100.5, 97.0), (97.0, 100.5), (104.0, 100.5)):
        want, want_map, (map_x, map_y) = _levels_beside(truth, rows, cols, site, 1500.0)
        got, got_map, _ = _levels_beside(terrain, rows, cols, site, 1500.0)
        paths = shapely.linestrings([[[site[1], site[0]], [c, r]] for r, c in zip(rows, cols)])
        away = ~shapely.intersects(paths, near_void)
        assert 0.5 < away.mean() < 0.95
        np.testing.assert_array_equal(got[away], want[away])
        site_x, site_y = terrain.xy(*site)
        behind = (map_x - site_x) * (void_x - site_x) + (map_y - site_y) * (void_y - site_y) < 0
        assert np.isfinite(want_map[behind]).sum() > 200
        np.testing.assert_array_equal(got_map[behind], want_map[behind])
        old, old_map, _ = _levels_beside(nearest, rows, cols, site, 1500.0)
        error_db["interpolated"] += [np.abs(got - want).sum(), np.nansum(np.abs(got_map - want_map))]
        error_db["nearest"] += [np.abs(old - want).sum(), np.nansum(np.abs(old_map - want_map))]
    assert sum(error_db["interpolated"]) < sum(error_db["nearest"])


# ---------------------------------------------------------------------------------------------
# a masked band; scaled elevations, or in feet


@pytest.mark.parametrize("source", ["inner.tif", "lonlat.tif"])
def test_a_masked_band_is_nodata_like_the_nodata_value(utm_inner, tmp_path, source):
    """A GeoTIFF whose band carries a mask (cells under it hold 0) as well as a nodata value
    gives the terrain the same file with all those cells nodata gives: the mosaic's VRT
    ignored the mask and the terrain had 0 m pits there. In the run's CRS and warped into it."""
    with rasterio.open(utm_inner.with_name(source)) as src:
        z, profile = src.read(1), src.profile
    mask = np.full(z.shape, 255, np.uint8)
    mask[LARGE_VOID] = 0
    voided = z.copy()
    for void in (SMALL_VOID, LARGE_VOID):
        voided[void] = profile["nodata"]
    _write(tmp_path / "nodata.tif", voided, crs=profile["crs"], transform=profile["transform"],
           nodata=profile["nodata"])
    z[LARGE_VOID], z[SMALL_VOID] = 0, profile["nodata"]
    with rasterio.open(tmp_path / "masked.tif", "w", **profile) as dst:
        dst.write(z, 1)
        dst.write_mask(mask)
    with rasterio.open(tmp_path / "masked.tif") as src:  # GDAL's validity: the mask alone
        assert not src.read(1, masked=True).mask[SMALL_VOID].any()
    want = read_terrain(tmp_path / "nodata.tif", UTM16)
    got = read_terrain(tmp_path / "masked.tif", UTM16)
    assert got.transform == want.transform and (~want.data_mask).sum() >= 64
    np.testing.assert_array_equal(got.elevation_m, want.elevation_m)
    np.testing.assert_array_equal(got.data_mask, want.data_mask)


def _rewrite(src_path: Path, path: Path, convert, **tags) -> Path:
    """``src_path`` with its values converted and band tags (scales, offsets, units) set."""
    with rasterio.open(src_path) as src:
        z, profile = src.read(1), src.profile
    valid = z != profile["nodata"]
    stored = np.where(valid, np.round(convert(z.astype(np.float64))), profile["nodata"])
    return _write(path, stored.astype(np.int16), crs=profile["crs"],
                  transform=profile["transform"], nodata=profile["nodata"], **tags)


@pytest.mark.parametrize("convert, tags, atol_m", [
    (lambda z: z * 10, dict(scales=(0.1,)), 1e-4),  # decimetres
    (lambda z: z - 1000, dict(offsets=(1000.0,)), 0.0),
    (lambda z: z / 0.3048, dict(units=("ft",)), 0.3048 / 2),  # feet, rounded to whole feet
    (lambda z: z / (1200 / 3937), dict(units=("US survey foot",)), 0.31 / 2),
], ids=["scale", "offset", "feet", "us-survey-feet"])
def test_scaled_or_foot_elevations_are_read_in_metres(utm_inner, lonlat_dem, tmp_path, convert,
                                                      tags, atol_m):
    """The band's scale, offset and unit (as gdalinfo shows them) apply: they were ignored,
    so decimetres were refused as absurd heights and feet read as 3.3 times the relief."""
    want = read_terrain(utm_inner, UTM16)
    got = read_terrain(_rewrite(utm_inner, tmp_path / "inner.tif", convert, **tags), UTM16)
    np.testing.assert_allclose(got.elevation_m, want.elevation_m, atol=atol_m, rtol=1e-6)  # float32 rounding
    # a tile warped into the mosaic's CRS: its values converted too
    lonlat = _rewrite(lonlat_dem, tmp_path / "lonlat.tif", convert, **tags)
    want = read_terrain((utm_inner, lonlat_dem), UTM16)
    got = read_terrain((utm_inner, lonlat), UTM16)
    assert got.transform == want.transform and got.data_mask is not None
    np.testing.assert_allclose(got.elevation_m, want.elevation_m, atol=atol_m, rtol=1e-6)  # float32 rounding


def test_elevations_in_an_unknown_unit_are_refused_naming_the_file(utm_inner, tmp_path):
    path = _rewrite(utm_inner, tmp_path / "odd.tif", lambda z: z, units=("fathom",))
    with pytest.raises(InputError, match=r"odd\.tif: the DEM's elevations are in 'fathom'.*"
                                         r"gdal_edit\.py -units m"):
        read_terrain(path, UTM16)


def test_an_external_mask_file_is_part_of_the_dem(utm_inner, tmp_path):
    """GDAL keeps a mask in a .msk file next to the GeoTIFF when told to: a change to it
    changes the terrain, so the coverage cache must digest it."""
    from siting.io.dem import dem_source_files
    path = shutil.copyfile(utm_inner, tmp_path / "dem.tif")
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=False):
        with rasterio.open(path, "r+") as dst:
            dst.write_mask(np.full((dst.height, dst.width), 255, np.uint8))
    assert (tmp_path / "dem.tif.msk").is_file()
    assert tmp_path / "dem.tif.msk" in dem_source_files(path)


# ---------------------------------------------------------------------------------------------
# a VRT mosaic with a gap between its tiles; an ASCII grid's NODATA_value


def test_a_site_in_the_gap_of_a_vrt_mosaic_is_refused(utm_inner, tmp_path):
    """A VRT (gdalbuildvrt) of two tiles a column apart: the VRT's own rectangle covers the
    gap, which was filled from the nearest cells and taken for terrain."""
    for name, first_col in (("west.tif", 0), ("east.tif", 101)):
        _gdal("gdal_translate", "-q", "-srcwin", str(first_col), "0", "99" if first_col else "100",
              "200", str(utm_inner), str(tmp_path / name))
    vrt = tmp_path / "mosaic.vrt"
    _gdal("gdalbuildvrt", "-q", str(vrt), str(tmp_path / "west.tif"), str(tmp_path / "east.tif"))
    terrain, truth = read_terrain(vrt, UTM16), read_terrain(utm_inner, UTM16)
    assert terrain.transform == truth.transform
    gap = np.zeros(terrain.shape, bool)
    gap[:, 100] = True
    np.testing.assert_array_equal(terrain.data_mask, ~gap)
    np.testing.assert_array_equal(terrain.elevation_m[~gap], truth.elevation_m[~gap])
    with rasterio.open(utm_inner) as src:
        at = {"GAP": src.xy(120, 100), "WEST": src.xy(120, 98)}
    with pytest.raises(InputError, match=r"1 point\(s\) lie on DEM cells without data .*: GAP;"):
        read_region(load_scenario(_lonlat_scenario(tmp_path, vrt, at, _inner_bbox(utm_inner))))


def test_an_ascii_grid_nodata_value_is_no_data(tmp_path):
    """The real Jacksboro ASCII grid (lon/lat, NODATA_value -9999) with an 8 x 8 cell void,
    read into UTM: the cells without data are those GDAL's own warp of it leaves empty."""
    if not JACKSBORO.is_file():
        pytest.skip(f"{JACKSBORO} is absent (the shared real data are not mounted)")
    lines = JACKSBORO.read_text().splitlines()
    header, rows = lines[:6], [line.split() for line in lines[6:]]
    assert header[5].split() == ["NODATA_value", "-9999"]
    for row in rows[150:158]:
        row[200:208] = ["-9999"] * 8
    grid = tmp_path / "voided.asc"
    grid.write_text("\n".join(header + [" ".join(row) for row in rows]) + "\n")
    grid.with_suffix(".prj").write_text(
        pyproj.CRS.from_epsg(4326).to_wkt(pyproj.enums.WktVersion.WKT1_ESRI))
    terrain = read_terrain(grid, UTM16)
    with rasterio.open(grid) as src:
        assert src.nodata == -9999
        warped = np.full(terrain.shape, np.nan, np.float32)
        rasterio.warp.reproject(rasterio.band(src, 1), warped, dst_transform=terrain.transform,
                                dst_crs=UTM16, dst_nodata=np.nan,
                                resampling=rasterio.enums.Resampling.bilinear)
        void_x, void_y = src.xy(153.5, 203.5)
    (x,), (y,) = rasterio.warp.transform("EPSG:4326", UTM16, [void_x], [void_y])
    assert not terrain.on_data(x, y) and np.isfinite(terrain.elevation_at(x, y))
    np.testing.assert_array_equal(terrain.data_mask, np.isfinite(warped))


def test_a_5g_zone_on_the_nodata_corner_keeps_no_check_point_and_says_so(lonlat_dem, utm_dem,
                                                                        tmp_path, caplog):
    import geopandas as gpd
    from shapely.geometry import box

    from siting.demand import build_demand
    with rasterio.open(utm_dem) as src:
        assert (src.read(1)[:6, :6] == src.nodata).all()
        corner = box(*src.xy(5, 1), *src.xy(1, 5))  # cells (1..5, 1..5): nodata
        middle = box(*src.xy(src.height // 2 + 4, src.width // 2 - 4),
                     *src.xy(src.height // 2 - 4, src.width // 2 + 4))
        site = src.xy(src.height // 2, src.width // 2)
    gpd.GeoDataFrame({"zone_id": ["CORNER", "MIDDLE"], "name": ["c", "m"], "kind": ["town"] * 2,
                      "require_5g": [True, True]}, geometry=[corner, middle], crs=UTM16
                     ).to_file(tmp_path / "zones.geojson")
    loaded = load_scenario(_lonlat_scenario(tmp_path, utm_dem, {"S": site},
                                            _lonlat_bounds(lonlat_dem), zones="zones.geojson"))
    with caplog.at_level(logging.WARNING, logger="siting"):
        demand = build_demand(read_region(loaded), loaded.demand)
    zone_rows = np.asarray(demand.ref_id)[np.asarray(demand.kind) == "zone"]
    assert set(zone_rows) == {"MIDDLE"}
    assert any("5G zone(s) CORNER keep no check point on the DEM's data" in r.getMessage()
               for r in caplog.records)


def test_a_dem_in_a_compound_crs_with_feet_is_read_as_its_horizontal_crs_in_metres(utm_inner,
                                                                                   tmp_path,
                                                                                   caplog):
    """UTM 16N + NAVD88 height (ftUS): GDAL reports the vertical unit as the band's; the grid
    is the UTM one, read as it is (it was warped onto itself)."""
    compound = pyproj.CRS("EPSG:32616+6360")
    with rasterio.open(utm_inner) as src:
        z, profile = src.read(1), src.profile
    feet = np.round(z / (1200 / 3937)).astype(np.int16)
    path = _write(tmp_path / "feet.tif", feet, crs=rasterio.crs.CRS.from_wkt(compound.to_wkt()),
                  transform=profile["transform"], nodata=profile["nodata"])
    with rasterio.open(path) as src:
        assert src.units == ("US survey foot",)
    want = read_terrain(utm_inner, UTM16)
    with caplog.at_level(logging.WARNING, logger="siting"):
        got = read_terrain(path, UTM16)
    assert not any("reprojected" in r.getMessage() for r in caplog.records)
    assert got.transform == want.transform
    np.testing.assert_allclose(got.elevation_m, want.elevation_m, atol=0.31 / 2, rtol=1e-6)
    # in metres, it is still no DEM the windowed reader takes as it is (its CRS differs)
    metres = _write(tmp_path / "metres.tif", z, crs=rasterio.crs.CRS.from_wkt(
        pyproj.CRS("EPSG:32616+5773").to_wkt()), transform=profile["transform"],
        nodata=profile["nodata"])
    assert single_dem_in_crs(metres, UTM16) is None and single_dem_in_crs(utm_inner, UTM16)

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
import rasterio.transform
import rasterio.warp
import yaml

from siting.config import load_scenario
from siting.errors import InputError
from siting.io import read_region
from siting.io.rasters import read_terrain

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

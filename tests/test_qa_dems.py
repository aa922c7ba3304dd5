"""DEMs as planners bring them (SRTM-like geographic tiles, UTM rasters of a province, values
nobody declared as nodata), read by the run over its region: what the run reads, and the one
line it says when it cannot."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pyproj
import pytest
import rasterio
from rasterio.transform import Affine, from_origin

from siting.errors import InputError
from siting.io.rasters import read_terrain

UTM49 = pyproj.CRS.from_epsg(32649)


def _smooth_m(lon_deg, lat_deg):
    """A smooth terrain [m] over Ankang (about 15 km between crests)."""
    return 600.0 + 300.0 * np.sin((lon_deg - 108.5) * 40.0) * np.cos((lat_deg - 32.5) * 30.0)


def _write(path: Path, data: np.ndarray, crs, transform, nodata=None) -> Path:
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1],
                       count=1, dtype=data.dtype, crs=crs, transform=transform,
                       nodata=nodata) as dst:
        dst.write(data, 1)
    return path


def _utm_dem(shape=(400, 400), transform=from_origin(480_000, 3_650_000, 30, 30)):
    """(float32 elevations, transform) of the smooth terrain on a 30 m grid of UTM 49N."""
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]] + 0.5
    x, y = transform * (cols, rows)
    lon, lat = pyproj.Transformer.from_crs(UTM49, "EPSG:4326", always_xy=True).transform(x, y)
    return _smooth_m(lon, lat).astype(np.float32), transform


def test_an_undeclared_nodata_value_is_named_at_its_row_and_column_in_the_file(tmp_path):
    """The region is read as a window of a larger DEM: the cell is named in the file, not in
    the window (which put it at row 102, col 102 of a 6 km window, where the file is fine)."""
    dem, transform = _utm_dem()
    dem[300, 250] = -9999.0
    path = _write(tmp_path / "county.tif", dem, UTM49, transform)
    x, y = transform * (250.5, 300.5)
    with pytest.raises(InputError) as caught:
        read_terrain(path, UTM49, region_bounds=(x - 3000, y - 3000, x + 3000, y + 3000))
    message = str(caught.value)
    assert f"-9999 m at row 300, col 250 of {path}" in message
    with rasterio.open(path) as src:  # what the message sends the planner to
        assert next(src.sample([(x, y)]))[0] == -9999.0


def test_an_undeclared_nodata_value_of_a_warped_dem_is_named_as_stored(tmp_path):
    """A geographic tile warped to UTM blends the -9999 with its neighbours (it was reported
    as -2345.29 at a row and column of the warped grid); the message gives the stored value
    and its cell in the file."""
    n = 1201  # a 3" SRTM-like tile, N32E108, cell centres on whole seconds
    transform = Affine(1 / 1200, 0, 108 - 0.5 / 1200, 0, -1 / 1200, 33 + 0.5 / 1200)
    rows, cols = np.mgrid[0:n, 0:n]
    dem = _smooth_m(108 + cols / 1200, 33 - rows / 1200).astype(np.float32)
    dem[700, 800] = -9999.0
    path = _write(tmp_path / "N32E108.tif", dem, "EPSG:4326", transform)
    with pytest.raises(InputError) as caught:
        read_terrain(path, UTM49)
    assert f"-9999 m at row 700, col 800 of {path} (lon 108.666" in str(caught.value)


def test_a_province_dem_with_a_mask_band_is_read_over_the_region_only(tmp_path):
    """A DEM whose band has a mask of its own was read whole before the region was cut from it
    (a 20000 x 20000 one took 8.7 GB and 92 s for a 60 km region, against 0.3 GB and 0.5 s
    for the same DEM with a nodata value). Here: the same cells as the DEM with a nodata value,
    and the memory of the region, not of the DEM."""
    dem, transform = _utm_dem(shape=(3000, 3000))
    valid = np.ones(dem.shape, bool)
    valid[1500:1502, 1500:1502] = False  # a void the mask leaves out, inside the region
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        with rasterio.open(tmp_path / "masked.tif", "w", driver="GTiff", height=3000, width=3000,
                           count=1, dtype="float32", crs=UTM49, transform=transform,
                           tiled=True) as dst:
            dst.write(dem, 1)
            dst.write_mask(valid)
    _write(tmp_path / "nodata.tif", np.where(valid, dem, -32768).astype(np.float32), UTM49,
           transform, nodata=-32768)
    x, y = transform * (1500, 1500)
    region = (x - 3000, y - 3000, x + 3000, y + 3000)
    tracemalloc.start()
    try:
        masked = read_terrain(tmp_path / "masked.tif", UTM49, region_bounds=region)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    want = read_terrain(tmp_path / "nodata.tif", UTM49, region_bounds=region)
    assert masked.transform == want.transform
    np.testing.assert_array_equal(masked.elevation_m, want.elevation_m)
    np.testing.assert_array_equal(masked.data_mask, want.data_mask)
    assert peak_bytes < dem.nbytes / 8, peak_bytes  # the whole band is 36 MB


"""Rasters on the older Chinese datums (Xian 1980, Beijing 1954) are warned about, as layers are.

PROJ has no shift from those datums to WGS 84 inland (only a "ballpark" that treats them as
one), so a DEM, population or land-cover raster delivered in, say, Xian 1980 / 3-degree
Gauss-Kruger lands tens of metres off without a word unless the run says so.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyproj
import pytest
import rasterio
import rasterio.warp
from rasterio.enums import Resampling

from siting.io.layers import reproject
from siting.io.rasters import read_land_cover, read_population, read_terrain
from siting.landcover import WORLDCOVER_CLASSES

ROOT = Path(__file__).resolve().parents[1]
DEMO_DEM = ROOT / "data" / "demo" / "dem.tif"
UTM49 = pyproj.CRS.from_epsg(32649)
XIAN_1980_GK_111E = "EPSG:2382"
BEIJING_1954_GK_111E = "EPSG:2434"
CGCS2000_GK_111E = "EPSG:4546"


def _demo_crop_in(crs: str, path: Path) -> Path:
    """12 x 12 km of the demo DEM warped into ``crs`` (its coordinates taken as that CRS's)."""
    if not DEMO_DEM.is_file():
        pytest.skip(f"demo data not generated: {DEMO_DEM}")
    with rasterio.open(DEMO_DEM) as src:
        window = rasterio.windows.Window(400, 400, 400, 400)
        z = src.read(1, window=window).astype(np.float32)
        transform = src.window_transform(window)
    bounds = rasterio.transform.array_bounds(400, 400, transform)
    dst_transform, width, height = rasterio.warp.calculate_default_transform(
        UTM49, crs, 400, 400, *bounds, resolution=30.0)
    out = np.full((height, width), -9999.0, np.float32)
    rasterio.warp.reproject(z, out, src_transform=transform, src_crs=UTM49, dst_nodata=-9999.0,
                            dst_transform=dst_transform, dst_crs=crs,
                            resampling=Resampling.bilinear)
    with rasterio.open(path, "w", driver="GTiff", height=height, width=width, count=1,
                       dtype="float32", crs=crs, transform=dst_transform, nodata=-9999.0) as dst:
        dst.write(out, 1)
    return path


def _datum_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "knows no shift" in r.getMessage()]


@pytest.mark.parametrize("crs, datum", [(XIAN_1980_GK_111E, "Xian 1980"),
                                        (BEIJING_1954_GK_111E, "Beijing 1954"),
                                        (CGCS2000_GK_111E, None)])
def test_a_dem_on_an_old_datum_is_warned_about(tmp_path, caplog, crs, datum):
    dem = _demo_crop_in(crs, tmp_path / "dem_gk.tif")
    with caplog.at_level(logging.WARNING, logger="siting"):
        terrain = read_terrain(dem, UTM49)
    assert np.isfinite(terrain.elevation_m).any()
    notices = _datum_warnings(caplog)
    if datum is None:
        assert notices == []
    else:
        assert len(notices) == 1 and "dem_gk.tif" in notices[0] and datum in notices[0]
        assert "CGCS2000" in notices[0]


def test_population_and_land_cover_on_an_old_datum_are_warned_about(tmp_path, caplog):
    raster = _demo_crop_in(XIAN_1980_GK_111E, tmp_path / "grid.tif")
    with rasterio.open(raster, "r+") as dst:  # a population (people per cell): no negatives
        values = dst.read(1)
        dst.write(np.where(values == dst.nodata, values, 1.0).astype(np.float32), 1)
    terrain = read_terrain(_demo_crop_in(CGCS2000_GK_111E, tmp_path / "dem.tif"), UTM49)
    classes_path = tmp_path / "classes.tif"
    with rasterio.open(raster) as src, rasterio.open(
            classes_path, "w", driver="GTiff", height=src.height, width=src.width, count=1,
            dtype="int16", crs=src.crs, transform=src.transform, nodata=0) as dst:
        dst.write(np.full((src.height, src.width), WORLDCOVER_CLASSES[0].code, np.int16), 1)
    with caplog.at_level(logging.WARNING, logger="siting"):
        read_population(raster, UTM49)
        read_land_cover(classes_path, terrain, WORLDCOVER_CLASSES)
    notices = _datum_warnings(caplog)
    assert [n.split(":")[0] for n in notices] == [str(raster), str(classes_path)]
    assert all("Xian 1980" in n for n in notices)


def test_points_reprojected_into_a_run_crs_on_an_old_datum_are_warned_about(caplog):
    import geopandas as gpd
    from shapely.geometry import Point

    villages = gpd.GeoDataFrame(geometry=[Point(109.03, 32.68)], crs="EPSG:4326")
    with caplog.at_level(logging.WARNING, logger="siting"):
        reproject(villages, pyproj.CRS(XIAN_1980_GK_111E), "villages.csv")
        reproject(villages, pyproj.CRS(CGCS2000_GK_111E), "villages.csv")
    notices = _datum_warnings(caplog)
    assert len(notices) == 1 and notices[0].startswith("villages.csv") and "Xian 1980" in notices[0]

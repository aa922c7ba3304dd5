"""GIS outputs: ``sites.gpkg`` (vector layers) and ``coverage.tif`` (best-server RSRP)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio

COVERAGE_NODATA_DBM = -999.0


def write_layers(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Write each GeoDataFrame as one layer of a GeoPackage (pyogrio engine)."""
    for name, frame in layers.items():
        out = frame.copy()
        for column in out.columns:
            if out[column].dtype == object and column != "geometry":
                out[column] = out[column].astype(str)
        out.to_file(path, layer=name, driver="GPKG", engine="pyogrio")


def write_level_raster(path: Path, level_dbm: np.ndarray, transform, crs) -> None:
    """Best-server level [dBm] as a tiled, compressed float32 GeoTIFF (nodata where no signal)."""
    data = np.where(np.isfinite(level_dbm), level_dbm, COVERAGE_NODATA_DBM).astype(np.float32)
    profile = dict(driver="GTiff", height=data.shape[0], width=data.shape[1], count=1,
                   dtype="float32", crs=crs, transform=transform, nodata=COVERAGE_NODATA_DBM,
                   tiled=True, blockxsize=256, blockysize=256, compress="deflate", predictor=3)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
        dst.set_band_description(1, "best-server RSRP [dBm]")
        dst.update_tags(units="dBm")

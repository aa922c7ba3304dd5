"""Write the demo region's synthetic land cover, data/demo/landcover.tif (ESA WorldCover codes).

On the DEM's own grid (30 m, UTM 49N), from data/demo/dem.tif and data/demo/region.gpkg:

- built-up (50): the city centre, county towns, industrial parks and government compound (the
  zones), and a 150 m disc around every village;
- tree cover (10): slopes of at least ``FOREST_SLOPE_DEG``;
- shrubland (20): slopes between ``CROP_SLOPE_DEG`` and ``FOREST_SLOPE_DEG``;
- cropland (40): the flatter valley floors below ``CROP_SLOPE_DEG``.

uint8, DEFLATE-compressed, nodata 0. Deterministic (no random numbers).

Usage: python scripts/make_demo_land_cover.py [--demo-dir data/demo]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import rasterio.features

TREE_COVER, SHRUBLAND, CROPLAND, BUILT_UP = 10, 20, 40, 50
FOREST_SLOPE_DEG = 15.0
CROP_SLOPE_DEG = 6.0
VILLAGE_RADIUS_M = 150.0


def slope_deg(elevation_m: np.ndarray, cell_m: float) -> np.ndarray:
    """Terrain slope [deg] from the central differences of the elevation."""
    d_row, d_col = np.gradient(elevation_m.astype(np.float64), cell_m)
    return np.degrees(np.arctan(np.hypot(d_row, d_col)))


def built_up_mask(gpkg: Path, shape, transform, crs) -> np.ndarray:
    """Cells inside the zones or within ``VILLAGE_RADIUS_M`` of a village."""
    zones = gpd.read_file(gpkg, layer="zones").to_crs(crs)
    villages = gpd.read_file(gpkg, layer="villages").to_crs(crs)
    shapes = [*zones.geometry, *villages.geometry.buffer(VILLAGE_RADIUS_M)]
    return rasterio.features.rasterize(shapes, out_shape=shape, transform=transform, fill=0,
                                       default_value=1, dtype="uint8").astype(bool)


def land_cover_codes(elevation_m: np.ndarray, cell_m: float, built_up: np.ndarray) -> np.ndarray:
    """WorldCover codes: cropland on flat ground, shrubland on moderate slopes, forest on
    steep ones, built-up where ``built_up``."""
    slope = slope_deg(elevation_m, cell_m)
    codes = np.full(elevation_m.shape, CROPLAND, np.uint8)
    codes[slope >= CROP_SLOPE_DEG] = SHRUBLAND
    codes[slope >= FOREST_SLOPE_DEG] = TREE_COVER
    codes[built_up] = BUILT_UP
    return codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-dir", type=Path,
                        default=Path(__file__).resolve().parents[1] / "data" / "demo")
    folder = parser.parse_args().demo_dir
    with rasterio.open(folder / "dem.tif") as src:
        elevation = src.read(1)
        profile = src.profile
    built_up = built_up_mask(folder / "region.gpkg", elevation.shape, profile["transform"],
                             profile["crs"])
    codes = land_cover_codes(elevation, profile["transform"].a, built_up)
    profile.update(dtype="uint8", nodata=0, compress="deflate", predictor=1, count=1)
    with rasterio.open(folder / "landcover.tif", "w", **profile) as dst:
        dst.write(codes, 1)
    shares = {code: float((codes == code).mean()) for code in np.unique(codes)}
    print(f"wrote {folder / 'landcover.tif'}: " +
          ", ".join(f"class {code}: {100 * share:.1f} %" for code, share in shares.items()))


if __name__ == "__main__":
    main()

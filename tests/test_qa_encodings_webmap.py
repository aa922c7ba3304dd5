"""Positions from Chinese web maps declared as such land where the open implementations put them.

The reference pairs (20 places in China, WGS 84 -> GCJ-02 -> BD-09, two open implementations
agreeing to about 1 cm) are the shared real data; each layer is read as the planner gives it and
compared with the WGS 84 of the pairs.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from pyproj import Geod

from siting.config import LayerSource
from siting.io.layers import read_layer

PAIRS = Path("/work/shared/data/real/coordinates_gcj02/wgs84_gcj02_bd09_pairs.csv")
FIELDS = {"place": "str"}


@pytest.fixture(scope="module")
def pairs() -> pd.DataFrame:
    if not PAIRS.exists():
        pytest.skip(f"the shared GCJ-02/BD-09 reference pairs are absent ({PAIRS})")
    return pd.read_csv(PAIRS)


def _error_m(got: gpd.GeoDataFrame, pairs: pd.DataFrame) -> float:
    """The largest distance [m] between the layer's points and the pairs' WGS 84 positions."""
    lonlat = got.to_crs("EPSG:4326").geometry
    _, _, distance_m = Geod(ellps="WGS84").inv(lonlat.x.to_numpy(), lonlat.y.to_numpy(),
                                               pairs["wgs84_lon"].to_numpy(),
                                               pairs["wgs84_lat"].to_numpy())
    return float(distance_m.max())


def _read(path: Path, crs: str) -> gpd.GeoDataFrame:
    return read_layer(LayerSource(path=path, crs=crs), None, FIELDS, "place")


def test_a_layer_digitized_over_amap_tiles_in_web_mercator_is_shifted(tmp_path, pairs):
    """QGIS over Amap's XYZ tiles saves GCJ-02 positions in the tiles' Web Mercator
    (EPSG:3857); declared GCJ-02 the layer was refused as 'cannot be degrees, but the CRS
    says EPSG:4326', a label the file does not have."""
    points = gpd.GeoDataFrame(pairs[["place"]], geometry=gpd.points_from_xy(
        pairs["gcj02_lon"], pairs["gcj02_lat"]), crs="EPSG:4326").to_crs("EPSG:3857")
    points.to_file(tmp_path / "amap.gpkg", engine="pyogrio")
    assert _error_m(_read(tmp_path / "amap.gpkg", "GCJ-02"), pairs) < 0.05


@pytest.mark.parametrize("system, x, y", [("GCJ-02", "gcj02_lon", "gcj02_lat"),
                                          ("BD-09", "bd09_lon", "bd09_lat")])
def test_a_sheet_of_web_map_positions_is_shifted(tmp_path, pairs, system, x, y):
    path = tmp_path / "picked.csv"
    pairs[["place", x, y]].rename(columns={x: "经度", y: "纬度"}).to_csv(
        path, index=False, encoding="gb18030")
    got = _read(path, system)
    assert _error_m(got, pairs) < 0.05
    assert _error_m(_read(path, "EPSG:4326"), pairs) > 300  # undeclared: hundreds of metres off

"""Positions from Chinese web maps declared as such land where the open implementations put them.

The reference pairs (20 places in China, WGS 84 -> GCJ-02 -> BD-09, two open implementations
agreeing to about 1 cm) are the shared real data; each layer is read as the planner gives it and
compared with the WGS 84 of the pairs.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from pyproj import Geod

from siting.config import LayerSource
from siting.errors import InputError
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


@pytest.mark.parametrize("x, y, system", [("百度经度", "百度纬度", "BD-09"),
                                          ("高德坐标", "高德坐标", "GCJ-02")])
def test_columns_named_for_a_web_map_without_a_declared_crs_are_warned(tmp_path, caplog, pairs,
                                                                       x, y, system):
    """A sheet whose columns say 百度经度 or 高德坐标 was read as WGS 84 without a word,
    every point some 500 m from where it is."""
    prefix = "bd09" if system == "BD-09" else "gcj02"
    table = pairs[["place"]].copy()
    if x == y:  # one cell of "lng,lat", as the Amap picker copies it
        table[x] = [f"{lon:.8f},{lat:.8f}" for lon, lat in
                    zip(pairs[f"{prefix}_lon"], pairs[f"{prefix}_lat"])]
    else:
        table[x], table[y] = pairs[f"{prefix}_lon"], pairs[f"{prefix}_lat"]
    path = tmp_path / "sites.csv"
    table.to_csv(path, index=False, encoding="utf-8-sig")
    undeclared = LayerSource(path=path, x=x, y=y, key="inputs.candidates")
    with caplog.at_level(logging.WARNING):
        got = read_layer(undeclared, None, FIELDS, "place")
    assert _error_m(got, pairs) > 300
    columns = f"column '{x}'" if x == y else f"columns '{x}'/'{y}'"
    assert (f"{path}: {columns} name {system} coordinates of a web map, but no crs declares "
            f"them, so they are read as WGS 84, 300-700 m from where they are; declare "
            f"inputs.candidates.crs: {system} (or EPSG:4326 if they were converted)") in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        got = read_layer(LayerSource(path=path, x=x, y=y, crs=system), None, FIELDS, "place")
    assert _error_m(got, pairs) < 0.05 and "web map" not in caplog.text


@pytest.mark.parametrize("key, declaration", [("MEASUREMENTS", "--crs BD-09"),
                                              ("--complaints", "--complaints-crs BD-09")])
def test_the_warning_names_the_option_of_a_file_a_command_names(tmp_path, caplog, pairs, key,
                                                                declaration):
    """Drive tests (siting calibrate ... MEASUREMENTS --crs) would have been told to set
    'MEASUREMENTS.crs', a setting no scenario has."""
    path = tmp_path / "drive.csv"
    pairs.rename(columns={"bd09_lon": "百度经度", "bd09_lat": "百度纬度"}).to_csv(path, index=False)
    with caplog.at_level(logging.WARNING):
        read_layer(LayerSource(path=path, x="百度经度", y="百度纬度", key=key), None, FIELDS, "place")
    assert f"declare {declaration} (or EPSG:4326" in caplog.text


def test_a_web_map_point_outside_china_is_named_by_its_id(tmp_path, pairs):
    """A typo (10.89 for 108.9) in one of the sheet's GCJ-02 points was refused as '1 of 20
    points (first at index 3) lie outside China ... probably plain WGS84 coordinates': an
    index no sheet shows, and a wrong guess."""
    table = pairs[["place", "gcj02_lon", "gcj02_lat"]].copy()
    table.loc[3, "gcj02_lon"] = 10.9
    path = tmp_path / "picked.csv"
    table.to_csv(path, index=False)
    source = LayerSource(path=path, x="gcj02_lon", y="gcj02_lat", crs="GCJ-02")
    with pytest.raises(InputError) as refused:
        read_layer(source, None, FIELDS, "place")
    place = pairs["place"][3]
    assert str(refused.value) == (f"{path}: feature(s) {place} lie outside China ({place}: 10.9, "
                                  f"{pairs['gcj02_lat'][3]:.6g}), where the GCJ-02 offset is not "
                                  f"defined; check their coordinates")
    table["gcj02_lon"] -= 180  # every point elsewhere: not a GCJ-02 layer
    table.to_csv(path, index=False)
    with pytest.raises(InputError, match="the layer is probably plain WGS 84, not GCJ-02: "
                                         "remove its crs$"):
        read_layer(source, None, FIELDS, "place")

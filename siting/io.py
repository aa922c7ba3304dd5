"""Read, validate and reproject the inputs of a scenario into one metric CRS.

This is the edge where files become arrays and GeoDataFrames. Every problem is reported as an
:class:`~siting.errors.InputError` naming the file, the layer or record and the field, and
saying what to do; a run never starts on inputs that failed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import rasterio
import rasterio.warp
from rasterio.enums import Resampling
from scipy import ndimage

from siting.config import Scenario
from siting.errors import InputError
from siting.terrain import Terrain

CANDIDATE_KINDS = ("existing_4g", "existing_5g", "public_building", "lamp_pole", "water_tower",
                   "existing_tower", "rooftop", "greenfield")
EXISTING_KINDS = {"existing_4g": "4G", "existing_5g": "5G"}

# Required fields per layer: name -> "str" | "float" | "int" | "bool".
VILLAGE_FIELDS = {"village_id": "str", "name": "str", "population": "float", "admin_unit": "str",
                  "poverty_village": "bool", "relocation_site": "bool"}
CANDIDATE_FIELDS = {"site_id": "str", "kind": "str", "antenna_height_m": "float",
                    "capex_cny": "float", "opex_cny_per_year": "float", "free_public": "bool",
                    "difficult": "bool", "extra_cost_cny": "float", "technologies": "str"}
COMPLAINT_FIELDS = {"complaint_id": "str", "people": "float"}
ZONE_FIELDS = {"zone_id": "str", "name": "str", "kind": "str", "require_5g": "bool"}
ADMIN_FIELDS = {"admin_unit": "str"}


@dataclass(frozen=True)
class RegionData:
    """Everything a run reads, in one projected CRS (metres)."""

    crs: pyproj.CRS
    terrain: Terrain
    population: np.ndarray  # people per cell, float64, 2-D
    population_transform: rasterio.Affine
    villages: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    complaints: gpd.GeoDataFrame | None
    zones: gpd.GeoDataFrame | None
    admin_units: gpd.GeoDataFrame | None


def utm_crs_for(lon_deg: float, lat_deg: float) -> pyproj.CRS:
    """The WGS 84 / UTM zone CRS containing a point."""
    zone = int((lon_deg + 180.0) // 6.0) % 60 + 1
    return pyproj.CRS.from_epsg((32600 if lat_deg >= 0 else 32700) + zone)


def _open_raster(path: Path, what: str):
    if not path.exists():
        raise InputError(f"{path}: {what} raster not found; check inputs.{what} in the scenario")
    try:
        return rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{path}: cannot read the {what} raster ({exc}); "
                         f"is it a valid GeoTIFF?") from None


def resolve_crs(scenario: Scenario) -> pyproj.CRS:
    """The run's projected CRS: the scenario's, or the UTM zone of the DEM's centre."""
    if scenario.crs != "auto":
        try:
            crs = pyproj.CRS.from_user_input(scenario.crs)
        except pyproj.exceptions.CRSError:
            raise InputError(f"{scenario.path}: crs: {scenario.crs!r} is not a known CRS; "
                             f"use 'auto' or e.g. EPSG:32649") from None
        if not crs.is_projected:
            raise InputError(f"{scenario.path}: crs: {scenario.crs!r} is geographic; a projected "
                             f"CRS in metres is required (or 'auto' for UTM)")
        return crs
    with _open_raster(scenario.inputs.dem, "dem") as src:
        if src.crs is None:
            raise InputError(f"{scenario.inputs.dem}: the DEM has no CRS; assign one "
                             f"(gdal_edit.py -a_srs EPSG:...) or set crs in the scenario")
        lon, lat = rasterio.warp.transform(src.crs, "EPSG:4326",
                                           [(src.bounds.left + src.bounds.right) / 2],
                                           [(src.bounds.bottom + src.bounds.top) / 2])
    return utm_crs_for(lon[0], lat[0])


def _fill_small_holes(elevation: np.ndarray, valid: np.ndarray, path: Path) -> np.ndarray:
    """Fill nodata cells from their nearest valid neighbour; refuse when more than 1% is missing."""
    missing = ~valid
    if not missing.any():
        return elevation
    if missing.mean() > 0.01:
        raise InputError(f"{path}: {missing.mean():.1%} of the DEM is nodata (more than 1%); "
                         f"fill the holes or choose a DEM that covers the area")
    _, (rows, cols) = ndimage.distance_transform_edt(missing, return_indices=True)
    return elevation[rows, cols]


def read_terrain(path: Path, crs: pyproj.CRS) -> Terrain:
    """Read the DEM into a :class:`Terrain` in ``crs`` (bilinear warp when it differs)."""
    with _open_raster(path, "dem") as src:
        if src.crs is None:
            raise InputError(f"{path}: the DEM has no CRS; assign one with gdal_edit.py -a_srs")
        if src.count < 1:
            raise InputError(f"{path}: the DEM has no band")
        try:
            if pyproj.CRS.from_user_input(src.crs) == crs and abs(src.transform.a) == abs(src.transform.e):
                data = src.read(1, masked=True)
                transform = src.transform
            else:
                data, transform = _warp(src, crs, Resampling.bilinear)
        except rasterio.errors.RasterioIOError as exc:
            raise InputError(f"{path}: the DEM cannot be read ({exc}); the file may be truncated") from None
    elevation = np.ma.filled(data.astype(np.float32), np.nan)
    valid = np.isfinite(elevation) & ~np.ma.getmaskarray(data)
    elevation = _fill_small_holes(elevation, valid, path)
    return Terrain(elevation_m=np.ascontiguousarray(elevation, dtype=np.float32),
                   transform=transform, crs=crs)


def _warp(src, crs: pyproj.CRS, resampling: Resampling):
    transform, width, height = rasterio.warp.calculate_default_transform(
        src.crs, crs, src.width, src.height, *src.bounds)
    cell = max(abs(transform.a), abs(transform.e))
    transform = rasterio.Affine(cell, 0, transform.c, 0, -cell, transform.f)
    out = np.full((height, width), np.nan, dtype=np.float32)
    rasterio.warp.reproject(rasterio.band(src, 1), out, dst_transform=transform, dst_crs=crs,
                            dst_nodata=np.nan, resampling=resampling)
    return np.ma.masked_invalid(out), transform


def read_population(path: Path, crs: pyproj.CRS) -> tuple[np.ndarray, rasterio.Affine]:
    """Read the population raster (people per cell) in ``crs``; counts are preserved on warp."""
    with _open_raster(path, "population") as src:
        if src.crs is None:
            raise InputError(f"{path}: the population raster has no CRS; assign one")
        try:
            if pyproj.CRS.from_user_input(src.crs) == crs:
                people = src.read(1, masked=True)
                transform = src.transform
            else:
                people, transform = _warp(src, crs, Resampling.sum)
        except rasterio.errors.RasterioIOError as exc:
            raise InputError(f"{path}: the population raster cannot be read ({exc})") from None
    values = np.ma.filled(people.astype(np.float64), 0.0)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise InputError(f"{path}: {int(bad.sum())} population cells are negative or NaN; "
                         f"set them to 0 or to the raster's nodata value")
    return values, transform


def _coerce(frame: pd.DataFrame, field: str, kind: str, where: str) -> pd.Series:
    column = frame[field]
    ids = frame.index
    if kind == "str":
        missing = column.isna() | (column.astype(str).str.strip() == "")
        if missing.any():
            raise InputError(f"{where}: field '{field}' is empty for feature(s) "
                             f"{list(ids[missing][:5])}; fill it in")
        return column.astype(str)
    if kind == "bool":
        if column.dtype == bool:
            return column
        mapped = column.map(lambda v: {1: True, 0: False, "1": True, "0": False, "true": True,
                                       "false": False, "True": True, "False": False}.get(v))
        if mapped.isna().any():
            raise InputError(f"{where}: field '{field}' must be true/false; feature(s) "
                             f"{list(ids[mapped.isna()][:5])} hold {list(column[mapped.isna()][:3])}")
        return mapped.astype(bool)
    numeric = pd.to_numeric(column, errors="coerce")
    bad = numeric.isna() | ~np.isfinite(numeric.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        raise InputError(f"{where}: field '{field}' is missing or not a number for feature(s) "
                         f"{list(ids[bad][:5])}; give a number")
    if (numeric < 0).any():
        raise InputError(f"{where}: field '{field}' is negative for feature(s) "
                         f"{list(ids[numeric < 0][:5])}")
    return numeric.astype(float)


def read_points(path: Path, layer: str, crs: pyproj.CRS, fields: dict[str, str],
                id_field: str, *, geometry: str = "Point") -> gpd.GeoDataFrame:
    """Read one vector layer, check its fields and geometries, and reproject it to ``crs``."""
    where = f"{path} layer '{layer}'"
    if not path.exists():
        raise InputError(f"{path}: vector file not found; check inputs.vectors in the scenario")
    try:
        available = [name for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises DataSourceError and friends from GDAL
        raise InputError(f"{path}: cannot read the vector file ({exc}); is it a valid GeoPackage?") from None
    if layer not in available:
        raise InputError(f"{path}: layer '{layer}' not found (layers: {', '.join(available)}); "
                         f"check inputs.layers in the scenario")
    try:
        frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:
        raise InputError(f"{where}: cannot be read ({exc})") from None
    if frame.crs is None:
        raise InputError(f"{where}: no CRS; assign one (e.g. EPSG:4326) in the file")
    missing = [f for f in [id_field, *fields] if f not in frame.columns]
    if missing:
        raise InputError(f"{where}: missing field(s) {', '.join(dict.fromkeys(missing))}; "
                         f"add them (see the README's input formats)")
    if frame.empty:
        raise InputError(f"{where}: the layer is empty")
    frame.index = frame[id_field].astype(str)
    for name, kind in fields.items():
        frame[name] = _coerce(frame, name, kind, where)
    dup = frame.index[frame.index.duplicated()]
    if len(dup):
        raise InputError(f"{where}: duplicate {id_field} {sorted(set(dup))[:5]}; ids must be unique")
    bad_geom = frame.geometry.isna() | frame.geometry.is_empty | ~frame.geometry.is_valid
    if bad_geom.any():
        raise InputError(f"{where}: invalid or empty geometry for feature(s) {list(frame.index[bad_geom][:5])}")
    wrong = ~frame.geometry.geom_type.isin([geometry, f"Multi{geometry}"])
    if wrong.any():
        raise InputError(f"{where}: expected {geometry} geometries, feature "
                         f"{frame.index[wrong][0]} is a {frame.geometry.geom_type[wrong].iloc[0]}")
    frame = frame.to_crs(crs)
    frame.index.name = None
    return frame


def _check_inside(frame: gpd.GeoDataFrame, terrain: Terrain, where: str) -> None:
    inside = terrain.contains(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy())
    if not inside.all():
        raise InputError(f"{where}: {int((~inside).sum())} point(s) lie outside the DEM, e.g. "
                         f"{list(frame.index[~inside][:5])}; remove them or use a larger DEM")


def _read_optional(path: Path, layer: str | None, crs, fields, id_field, geometry="Point"):
    if layer is None:
        return None
    if layer not in [name for name, _ in pyogrio.list_layers(path)]:
        return None
    return read_points(path, layer, crs, fields, id_field, geometry=geometry)


def read_region(scenario: Scenario) -> RegionData:
    """Read every input of ``scenario`` and bring it into the run's CRS."""
    crs = resolve_crs(scenario)
    inputs = scenario.inputs
    terrain = read_terrain(inputs.dem, crs)
    population, pop_transform = read_population(inputs.population, crs)
    villages = read_points(inputs.vectors, inputs.villages_layer, crs, VILLAGE_FIELDS, "village_id")
    candidates = read_points(inputs.vectors, inputs.candidates_layer, crs, CANDIDATE_FIELDS, "site_id")
    _validate_candidates(candidates, scenario, f"{inputs.vectors} layer '{inputs.candidates_layer}'")
    complaints = _read_optional(inputs.vectors, inputs.complaints_layer, crs, COMPLAINT_FIELDS,
                                "complaint_id")
    zones = _read_optional(inputs.vectors, inputs.zones_layer, crs, ZONE_FIELDS, "zone_id", "Polygon")
    admin = _read_optional(inputs.vectors, inputs.admin_layer, crs, ADMIN_FIELDS, "admin_unit",
                           "Polygon")
    for frame, layer in ((villages, inputs.villages_layer), (candidates, inputs.candidates_layer),
                         (complaints, inputs.complaints_layer)):
        if frame is not None:
            _check_inside(frame, terrain, f"{inputs.vectors} layer '{layer}'")
    return RegionData(crs=crs, terrain=terrain, population=population,
                      population_transform=pop_transform, villages=villages,
                      candidates=candidates, complaints=complaints, zones=zones, admin_units=admin)


def _validate_candidates(candidates: gpd.GeoDataFrame, scenario: Scenario, where: str) -> None:
    unknown = ~candidates["kind"].isin(CANDIDATE_KINDS)
    if unknown.any():
        raise InputError(f"{where}: field 'kind' has unknown value {candidates['kind'][unknown].iloc[0]!r} "
                         f"for feature {candidates.index[unknown][0]}; use one of {', '.join(CANDIDATE_KINDS)}")
    generations = {t.generation for t in scenario.technologies}
    for site_id, listed in candidates["technologies"].items():
        allowed = {g.strip() for g in listed.split(",") if g.strip()}
        if not allowed or not allowed <= {"4G", "5G"}:
            raise InputError(f"{where}: field 'technologies' of feature {site_id} is {listed!r}; "
                             f"use a comma-separated list of 4G and/or 5G")
    if not generations:
        raise InputError(f"{scenario.path}: technologies: none defined")
    height = candidates["antenna_height_m"]
    bad = (height <= 0) | (height > 300)
    if bad.any():
        raise InputError(f"{where}: field 'antenna_height_m' must be in (0, 300] m; feature(s) "
                         f"{list(candidates.index[bad][:5])}")

"""Read, validate and reproject the inputs of a scenario into one metric CRS.

This is the edge where files become arrays and GeoDataFrames. Every problem is reported as an
:class:`~siting.errors.InputError` naming the file, the layer or record and the field, and
saying what to do; a run never starts on inputs that failed here.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import rasterio
import rasterio.errors
import rasterio.warp
import rasterio.windows
import shapely
from rasterio.enums import Resampling
from scipy import ndimage

from siting.config import MODEL_BASE_HEIGHT_RANGE_M, Scenario
from siting.errors import InputError
from siting.terrain import Terrain

logger = logging.getLogger(__name__)

CANDIDATE_KINDS = ("existing_4g", "existing_5g", "public_building", "lamp_pole", "water_tower",
                   "existing_tower", "rooftop", "greenfield")
EXISTING_KINDS = {"existing_4g": "4G", "existing_5g": "5G"}
MAX_ANTENNA_HEIGHT_M = 300.0

# Required fields per layer: name -> "str" | "float" | "int" | "bool".
VILLAGE_FIELDS = {"village_id": "str", "name": "str", "population": "float", "admin_unit": "str",
                  "poverty_village": "bool", "relocation_site": "bool"}
CANDIDATE_FIELDS = {"site_id": "str", "kind": "str", "antenna_height_m": "float",
                    "capex_cny": "float", "opex_cny_per_year": "float", "free_public": "bool",
                    "difficult": "bool", "extra_cost_cny": "float", "technologies": "str"}
COMPLAINT_FIELDS = {"complaint_id": "str", "people": "float"}
ZONE_FIELDS = {"zone_id": "str", "name": "str", "kind": "str", "require_5g": "bool"}
ADMIN_FIELDS = {"admin_unit": "str"}


#: Cells of the population raster held at a time while it is read (a band of whole rows).
POPULATION_BAND_CELLS = 1 << 20
#: Largest side [cells] of the population overview a run keeps for its maps.
POPULATION_OVERVIEW_PX = 2048


def _row_bands(shape: tuple[int, int], rows_per_band: int) -> Iterator[rasterio.windows.Window]:
    """Windows of consecutive bands of ``rows_per_band`` whole rows of a raster, top down."""
    rows, cols = shape
    for row0 in range(0, rows, rows_per_band):
        yield rasterio.windows.Window(0, row0, cols, min(rows_per_band, rows - row0))


def _people(raw) -> np.ndarray:
    """People per cell as float64, nodata (masked) and NaN cells read as 0."""
    values = np.ma.filled(np.ma.asarray(raw).astype(np.float64), 0.0)
    values[~np.isfinite(values)] = 0.0
    return values


@dataclass(frozen=True)
class PopulationRaster:
    """People per cell in the run's CRS, read a band of whole rows at a time.

    Either ``path``, a GeoTIFF already in the run's CRS that is read window by window (never
    whole), or ``values``, an array in memory (a raster warped from another CRS, or given by a
    caller, see :meth:`of_array`).
    """

    transform: rasterio.Affine
    shape: tuple[int, int]  # (rows, cols)
    path: Path | None = None
    values: np.ndarray | None = None

    @classmethod
    def of_array(cls, values, transform) -> PopulationRaster:
        values = np.asarray(values)
        return cls(transform=transform, shape=values.shape, values=values)

    def rows_per_band(self, cells: int = POPULATION_BAND_CELLS, multiple: int = 1) -> int:
        """Rows of a band of about ``cells`` cells, a positive multiple of ``multiple``."""
        return multiple * max(1, cells // (self.shape[1] * multiple))

    def bands(self, rows_per_band: int) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, people per cell as float64) of consecutive bands of ``rows_per_band``
        rows, top to bottom; nodata and NaN cells read as 0."""
        if self.values is not None:
            for window in _row_bands(self.shape, rows_per_band):
                yield window.row_off, _people(self.values[window.toslices()])
            return
        with rasterio.open(self.path) as src:
            for window in _row_bands(self.shape, rows_per_band):
                yield window.row_off, _people(src.read(1, window=window, masked=True))


def _block_mean(values: np.ndarray, step: int) -> np.ndarray:
    """Mean over ``step`` x ``step`` blocks (partial blocks at the end average their cells)."""
    if step == 1:
        return values
    rows, cols = values.shape
    padded = np.pad(values, ((0, (-rows) % step), (0, (-cols) % step)), constant_values=np.nan)
    blocks = padded.reshape(padded.shape[0] // step, step, padded.shape[1] // step, step)
    return np.nanmean(blocks, axis=(1, 3))


def population_overview(raster: PopulationRaster, max_px: int = POPULATION_OVERVIEW_PX):
    """People per cell averaged over square blocks so that the largest side is at most
    ``max_px`` (the raster itself when it fits), read band by band; returns (array, transform)."""
    step = max(1, math.ceil(max(raster.shape) / max_px))
    rows = raster.rows_per_band(multiple=step)
    overview = np.concatenate([_block_mean(band, step) for _, band in raster.bands(rows)])
    return overview, raster.transform @ rasterio.Affine.scale(step)


@dataclass(frozen=True)
class RegionData:
    """Everything a run reads, in one projected CRS (metres)."""

    crs: pyproj.CRS
    terrain: Terrain
    # people per cell, float64, 2-D: the raster itself, or (when its largest side exceeds
    # POPULATION_OVERVIEW_PX) its block means, for maps; demand reads ``population_source``
    population: np.ndarray
    population_transform: rasterio.Affine
    villages: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    complaints: gpd.GeoDataFrame | None
    zones: gpd.GeoDataFrame | None
    admin_units: gpd.GeoDataFrame | None
    population_source: PopulationRaster | None = None  # full resolution, read by band


def utm_crs_for(lon_deg: float, lat_deg: float) -> pyproj.CRS:
    """The WGS 84 / UTM zone CRS containing a point."""
    zone = int((lon_deg + 180.0) // 6.0) % 60 + 1
    return pyproj.CRS.from_epsg((32600 if lat_deg >= 0 else 32700) + zone)


def _open_raster(path: Path, what: str):
    if not path.exists():
        raise InputError(f"{path}: {what} raster not found; check inputs.{what} in the scenario")
    if path.is_dir():
        raise InputError(f"{path}: inputs.{what} is a folder, not a GeoTIFF file")
    try:
        with warnings.catch_warnings():
            # A TIFF without georeferencing is reported below as "no CRS", not as a warning.
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            return rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{path}: cannot read the {what} raster ({_first_line(exc)}); "
                         f"is it a valid GeoTIFF?") from None


def _first_line(exc: BaseException, limit: int = 160) -> str:
    """A short reason for a GDAL/IO failure: the first line of the most specific message."""
    seen = 0
    while (str(exc).startswith("Read failed. See previous exception") and seen < 5
           and (exc.__cause__ or exc.__context__) is not None):
        exc = exc.__cause__ or exc.__context__
        seen += 1
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


class _Problems:
    """Problems found while reading; raised together as one InputError, one line each."""

    def __init__(self):
        self.items: list[str] = []

    def add(self, message: str) -> None:
        for line in str(message).splitlines():
            if line not in self.items:
                self.items.append(line)

    def attempt(self, func, *args, **kwargs):
        """Call ``func``; on InputError record its lines and return None."""
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            self.add(str(exc))
            return None

    def raise_if_any(self) -> None:
        if self.items:
            raise InputError("\n".join(self.items))


def _check_georeferenced(src, path: Path, what: str) -> None:
    """Refuse a raster without a band, without a CRS, or whose CRS label its bounds contradict."""
    if src.crs is None:
        raise InputError(f"{path}: the {what} has no CRS; assign one with "
                         f"gdal_edit.py -a_srs EPSG:...")
    if src.count < 1:
        raise InputError(f"{path}: the {what} has no band")
    if (label := crs_label_problem(src.bounds, src.crs, str(path))) is not None:
        raise InputError(label)


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
        _check_georeferenced(src, scenario.inputs.dem, "DEM")
        try:
            lon, lat = rasterio.warp.transform(src.crs, "EPSG:4326",
                                               [(src.bounds.left + src.bounds.right) / 2],
                                               [(src.bounds.bottom + src.bounds.top) / 2])
        except Exception as exc:  # GDAL/PROJ errors come in several classes
            raise InputError(f"{scenario.inputs.dem}: the DEM's CRS cannot be transformed to "
                             f"longitude/latitude ({_first_line(exc)}); set crs in the scenario") from None
    if not (np.isfinite(lon[0]) and np.isfinite(lat[0]) and -180 <= lon[0] <= 180
            and -84 <= lat[0] <= 84):
        raise InputError(f"{scenario.inputs.dem}: the DEM's centre ({lon[0]:.3f}, {lat[0]:.3f}) "
                         f"is not a place a UTM zone covers; check the DEM's CRS or set crs in "
                         f"the scenario")
    return utm_crs_for(lon[0], lat[0])


# Plausible ground elevations [m]: the Dead Sea shore to above Everest. Values outside are
# almost always an undeclared nodata value (-32768, -9999, 3.4e38).
ELEVATION_RANGE_M = (-500.0, 9000.0)
MAX_NODATA_FRACTION = 0.01


def _fill_small_holes(elevation: np.ndarray, valid: np.ndarray, path: Path) -> np.ndarray:
    """Fill nodata cells from their nearest valid neighbour; refuse when more than 1% is missing."""
    missing = ~valid
    if not missing.any():
        return elevation
    if missing.all():
        raise InputError(f"{path}: the DEM holds no valid elevation (every cell is nodata)")
    if missing.mean() > MAX_NODATA_FRACTION:
        raise InputError(f"{path}: {missing.mean():.1%} of the DEM is nodata (more than "
                         f"{MAX_NODATA_FRACTION:.0%}); fill the holes or choose a DEM that covers "
                         f"the area")
    logger.warning("%s: filled %d nodata cell(s) (%.2f%% of the DEM) from their nearest neighbours",
                   path, int(missing.sum()), 100 * missing.mean())
    _, (rows, cols) = ndimage.distance_transform_edt(missing, return_indices=True)
    return elevation[rows, cols]


def crs_label_problem(bounds, crs, where: str) -> str | None:
    """A message when coordinates contradict their CRS label (the ambiguous cases), else None.

    Two mistakes are common when data passes between offices: projected metres labelled as
    geographic degrees (coordinates beyond +-180 / +-90), and degrees labelled with a
    projected CRS (every coordinate within a few hundred "metres" of the origin). Either way
    reprojecting would silently put the data in the wrong place, so it is an error.
    """
    crs = pyproj.CRS.from_user_input(crs)
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    if crs.is_geographic and (min(xmin, ymin) < -180 or xmax > 360 or max(abs(ymin), abs(ymax)) > 90):
        return (f"{where}: coordinates ({xmin:.0f}, {ymin:.0f})-({xmax:.0f}, {ymax:.0f}) cannot be "
                f"degrees, but the CRS says {crs.to_string()}; fix the CRS label (they look projected)")
    if crs.is_projected and max(abs(xmin), abs(xmax)) <= 180 and max(abs(ymin), abs(ymax)) <= 90:
        return (f"{where}: coordinates ({xmin:g}, {ymin:g})-({xmax:g}, {ymax:g}) look like degrees, "
                f"but the CRS says {crs.to_string()} (metres); fix the CRS label (e.g. EPSG:4326)")
    return None


def read_terrain(path: Path, crs: pyproj.CRS) -> Terrain:
    """Read the DEM into a :class:`Terrain` in ``crs`` (bilinear warp when it differs)."""
    with _open_raster(path, "dem") as src:
        _check_georeferenced(src, path, "DEM")
        if src.width < 2 or src.height < 2:
            raise InputError(f"{path}: the DEM is {src.width} x {src.height} cells; at least 2 x 2 "
                             f"are needed")
        try:
            if pyproj.CRS.from_user_input(src.crs) == crs and abs(src.transform.a) == abs(src.transform.e) \
                    and src.transform.b == 0 and src.transform.d == 0 and src.transform.e < 0:
                data = src.read(1, masked=True)
                transform = src.transform
            else:
                logger.warning("%s: DEM reprojected (bilinear) from %s to the run's CRS %s", path,
                               src.crs.to_string(), crs.to_string())
                data, transform = _warp(src, crs, Resampling.bilinear)
        except (rasterio.errors.RasterioIOError, rasterio.errors.RasterioError) as exc:
            raise InputError(f"{path}: the DEM cannot be read ({_first_line(exc)}); the file may be "
                             f"truncated") from None
        except Exception as exc:  # GDAL/PROJ failures during the warp
            raise InputError(f"{path}: the DEM cannot be reprojected to {crs.to_string()} "
                             f"({_first_line(exc)})") from None
    elevation = np.ma.filled(data.astype(np.float32), np.nan)
    valid = np.isfinite(elevation) & ~np.ma.getmaskarray(data)
    with np.errstate(invalid="ignore"):
        absurd = valid & ((elevation < ELEVATION_RANGE_M[0]) | (elevation > ELEVATION_RANGE_M[1]))
    if absurd.any():
        r, c = np.argwhere(absurd)[0]
        raise InputError(f"{path}: {int(absurd.sum())} DEM cell(s) hold elevations outside "
                         f"{ELEVATION_RANGE_M[0]:g}..{ELEVATION_RANGE_M[1]:g} m (e.g. "
                         f"{float(elevation[r, c]):g} at row {r}, col {c}); declare the nodata "
                         f"value (gdal_edit.py -a_nodata) or fix the cells")
    elevation = _fill_small_holes(elevation, valid, path)
    try:
        return Terrain(elevation_m=np.ascontiguousarray(elevation, dtype=np.float32),
                       transform=transform, crs=crs)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def _warp(src, crs: pyproj.CRS, resampling: Resampling):
    transform, width, height = rasterio.warp.calculate_default_transform(
        src.crs, crs, src.width, src.height, *src.bounds)
    cell = max(abs(transform.a), abs(transform.e))
    transform = rasterio.Affine(cell, 0, transform.c, 0, -cell, transform.f)
    out = np.full((height, width), np.nan, dtype=np.float32)
    rasterio.warp.reproject(rasterio.band(src, 1), out, dst_transform=transform, dst_crs=crs,
                            dst_nodata=np.nan, resampling=resampling)
    return np.ma.masked_invalid(out), transform


def _check_population_cells(src, path: Path) -> None:
    """Refuse negative or NaN population cells, reading the raster band by band."""
    rows_per_band = max(1, POPULATION_BAND_CELLS // src.width)
    n_bad, first = 0, None
    for window in _row_bands((src.height, src.width), rows_per_band):
        values = np.ma.filled(src.read(1, window=window, masked=True).astype(np.float64), 0.0)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any() and first is None:
            r, c = np.argwhere(bad)[0]
            first = (float(values[r, c]), window.row_off + int(r), int(c))
        n_bad += int(bad.sum())
    if n_bad:
        value, r, c = first
        raise InputError(f"{path}: {n_bad} population cell(s) are negative or NaN (e.g. {value:g} "
                         f"at row {r}, col {c}); set them to 0 or to the raster's nodata value")


def read_population(path: Path, crs: pyproj.CRS) -> PopulationRaster:
    """Check the population raster (people per cell) and open it in ``crs``.

    A raster already in ``crs`` is checked and later read band by band, never whole; one in
    another CRS is warped whole into memory (counts preserved).
    """
    with _open_raster(path, "population") as src:
        _check_georeferenced(src, path, "population raster")
        try:
            # Check the source cells before any warp: resampling would hide NaN and negatives.
            _check_population_cells(src, path)
            if pyproj.CRS.from_user_input(src.crs) == crs:
                return PopulationRaster(transform=src.transform, shape=(src.height, src.width),
                                        path=path)
            logger.warning("%s: population reprojected (summing counts) from %s to the run's "
                           "CRS %s", path, src.crs.to_string(), crs.to_string())
            people, transform = _warp(src, crs, Resampling.sum)
        except (rasterio.errors.RasterioIOError, rasterio.errors.RasterioError) as exc:
            raise InputError(f"{path}: the population raster cannot be read ({_first_line(exc)}); "
                             f"the file may be truncated") from None
        except InputError:
            raise
        except Exception as exc:  # GDAL/PROJ failures during the warp
            raise InputError(f"{path}: the population raster cannot be reprojected to "
                             f"{crs.to_string()} ({_first_line(exc)})") from None
    return PopulationRaster.of_array(_people(people), transform)  # NaN: outside the source


def _raster_bounds(shape: tuple[int, int], transform) -> tuple[float, float, float, float]:
    xs = [transform.c, transform.c + shape[1] * transform.a]
    ys = [transform.f, transform.f + shape[0] * transform.e]
    return min(xs), min(ys), max(xs), max(ys)


def _check_overlap(terrain: Terrain, population: PopulationRaster, path: Path) -> None:
    pxmin, pymin, pxmax, pymax = _raster_bounds(population.shape, population.transform)
    dxmin, dymin, dxmax, dymax = terrain.bounds
    overlap_x = min(pxmax, dxmax) - max(pxmin, dxmin)
    overlap_y = min(pymax, dymax) - max(pymin, dymin)
    if overlap_x <= 0 or overlap_y <= 0:
        raise InputError(f"{path}: the population raster (x {pxmin:.0f}..{pxmax:.0f}, y "
                         f"{pymin:.0f}..{pymax:.0f} m) does not overlap the DEM (x "
                         f"{dxmin:.0f}..{dxmax:.0f}, y {dymin:.0f}..{dymax:.0f} m in "
                         f"{terrain.crs.to_string() if terrain.crs else 'the run CRS'}); check "
                         f"both rasters' CRS and extent")


_BOOL_WORDS = {1: True, 0: False, "1": True, "0": False, "true": True, "false": False,
               "True": True, "False": False, "TRUE": True, "FALSE": False, "yes": True, "no": False}


def _ids(labels: pd.Index, mask) -> str:
    chosen = [str(v) for v in labels[np.asarray(mask, dtype=bool)]]
    more = f" and {len(chosen) - 5} more" if len(chosen) > 5 else ""
    return ", ".join(chosen[:5]) + more


def _coerce(frame: pd.DataFrame, field: str, kind: str, where: str) -> pd.Series:
    column = frame[field]
    ids = frame.index
    if kind == "str":
        missing = column.isna() | (column.astype(str).str.strip() == "")
        if missing.any():
            raise InputError(f"{where}: field '{field}' is empty for feature(s) "
                             f"{_ids(ids, missing)}; fill it in")
        return column.astype(str)
    if kind == "bool":
        if column.dtype == bool:
            return column
        mapped = column.map(lambda v: _BOOL_WORDS.get(v) if isinstance(v, (bool, int, str, np.integer))
                            else _BOOL_WORDS.get(int(v)) if isinstance(v, float) and v in (0.0, 1.0)
                            else None)
        bad = mapped.isna()
        if bad.any():
            raise InputError(f"{where}: field '{field}' must be true/false; feature(s) "
                             f"{_ids(ids, bad)} hold {list(column[bad][:3])}")
        return mapped.astype(bool)
    numeric = pd.to_numeric(column, errors="coerce")
    bad = numeric.isna() | ~np.isfinite(numeric.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        shown = [v for v in column[bad][:3]]
        raise InputError(f"{where}: field '{field}' is missing or not a number for feature(s) "
                         f"{_ids(ids, bad)} (values {shown}); give a number")
    if (numeric < 0).any():
        raise InputError(f"{where}: field '{field}' is negative for feature(s) "
                         f"{_ids(ids, numeric < 0)}")
    return numeric.astype(float)


def _layer_names(path: Path) -> list[str]:
    if not path.exists():
        raise InputError(f"{path}: vector file not found; check inputs.vectors in the scenario")
    if path.is_dir():
        raise InputError(f"{path}: inputs.vectors is a folder, not a GeoPackage file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL notices on odd files
            return [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises DataSourceError and friends from GDAL
        raise InputError(f"{path}: cannot read the vector file ({_first_line(exc)}); is it a "
                         f"valid GeoPackage?") from None


def read_points(path: Path, layer: str, crs: pyproj.CRS | None, fields: dict[str, str],
                id_field: str, *, geometry: str = "Point", check=None) -> gpd.GeoDataFrame:
    """Read one vector layer, check its fields and geometries, and reproject it to ``crs``.

    Every problem of the layer is reported at once (one line each) in one InputError.
    With ``crs=None`` the layer is checked but not reprojected. ``check(frame, where)`` is an
    extra layer-specific check (raising InputError), run after the fields are coerced.
    """
    where = f"{path} layer '{layer}'"
    available = _layer_names(path)
    if layer not in available:
        raise InputError(f"{path}: layer '{layer}' not found (layers: {', '.join(available) or 'none'}); "
                         f"check inputs.layers in the scenario")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL notices on odd files
            frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:
        raise InputError(f"{where}: cannot be read ({_first_line(exc)})") from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise InputError(f"{where}: the layer has no geometry column; expected {geometry}s")
    if frame.empty:
        raise InputError(f"{where}: the layer is empty (no features)")
    problems = _Problems()
    if frame.crs is None:
        problems.add(f"{where}: no CRS; assign one (e.g. EPSG:4326) in the file")
    missing = [f for f in dict.fromkeys([id_field, *fields]) if f not in frame.columns]
    if missing:
        problems.add(f"{where}: missing field(s) {', '.join(missing)}; add them (see the README's "
                     f"input formats)")
        problems.raise_if_any()
    raw_ids = frame[id_field]
    no_id = raw_ids.isna() | (raw_ids.astype(str).str.strip() == "")
    labels = raw_ids.map(_id_text)
    labels[no_id] = [f"row {i + 1}" for i in np.flatnonzero(no_id.to_numpy())]
    frame.index = pd.Index(labels.astype(str).to_numpy(), dtype=object)
    if no_id.any():
        problems.add(f"{where}: field '{id_field}' is empty for {_ids(frame.index, no_id)}; "
                     f"every feature needs an id")
    for name, kind in fields.items():
        if name == id_field:
            continue
        try:
            frame[name] = _coerce(frame, name, kind, where).to_numpy()
        except InputError as exc:
            problems.add(str(exc))
    dup = frame.index[frame.index.duplicated() & ~no_id.to_numpy()]
    if len(dup):
        shown = sorted(set(dup))
        problems.add(f"{where}: duplicate {id_field} {', '.join(shown[:5])}"
                     f"{' and more' if len(shown) > 5 else ''}; ids must be unique")
    if check is not None:
        problems.attempt(check, frame, where)
    geoms = frame.geometry
    empty = geoms.isna() | geoms.is_empty
    if empty.any():
        problems.add(f"{where}: missing or empty geometry for feature(s) {_ids(frame.index, empty)}")
    wrong = ~empty & ~geoms.geom_type.isin([geometry, f"Multi{geometry}"])
    if wrong.any():
        kinds = sorted(set(geoms.geom_type[wrong]))
        problems.add(f"{where}: expected {geometry} geometries; feature(s) {_ids(frame.index, wrong)} "
                     f"are {', '.join(kinds)}")
    invalid = ~empty & ~wrong & ~geoms.is_valid
    if invalid.any():
        reasons = shapely.is_valid_reason(geoms[invalid].to_numpy())
        problems.add(f"{where}: invalid geometry for feature(s) {_ids(frame.index, invalid)} "
                     f"({reasons[0]}); repair it (e.g. QGIS 'Fix geometries')")
    if geometry == "Point" and not (empty | wrong).any():
        multi = geoms.geom_type == "MultiPoint"
        several = multi & (shapely.get_num_geometries(geoms.to_numpy()) != 1)
        if several.any():
            problems.add(f"{where}: feature(s) {_ids(frame.index, several)} are multi-points with "
                         f"more than one point; give each its own feature")
        elif multi.any():
            frame = frame.set_geometry(geoms.map(lambda g: g.geoms[0] if g.geom_type == "MultiPoint" else g))
    if frame.crs is not None and not (empty | wrong).all():
        label = crs_label_problem(frame.geometry[~(empty | wrong)].total_bounds, frame.crs, where)
        if label is not None:
            problems.add(label)
    problems.raise_if_any()
    if crs is not None:
        if pyproj.CRS.from_user_input(frame.crs) != crs:
            logger.warning("%s: reprojected from %s to the run's CRS %s", where,
                           frame.crs.to_string(), crs.to_string())
        try:
            frame = frame.to_crs(crs)
        except Exception as exc:
            raise InputError(f"{where}: cannot be reprojected from {frame.crs.to_string()} to "
                             f"{crs.to_string()} ({_first_line(exc)})") from None
        bad = ~np.isfinite(shapely.get_coordinates(frame.geometry.to_numpy())).all()
        if bad:
            raise InputError(f"{where}: reprojection from its CRS to {crs.to_string()} gives "
                             f"invalid coordinates; check the layer's CRS")
    frame.index.name = None
    return frame


def _id_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _check_inside(frame: gpd.GeoDataFrame, terrain: Terrain, where: str) -> None:
    inside = terrain.contains(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy())
    if not inside.all():
        raise InputError(f"{where}: {int((~inside).sum())} point(s) lie outside the DEM: "
                         f"{_ids(frame.index, ~inside)}; remove them or use a larger DEM")


def _check_zones_inside(zones: gpd.GeoDataFrame, terrain: Terrain, where: str) -> None:
    dem = shapely.box(*terrain.bounds)
    outside = ~zones.geometry.intersects(dem)
    if outside.any():
        raise InputError(f"{where}: zone(s) {_ids(zones.index, outside)} lie entirely outside the "
                         f"DEM; remove them or use a larger DEM")


def _read_optional(path: Path, layer: str | None, crs, fields, id_field, geometry="Point"):
    if layer is None:
        return None
    try:
        available = _layer_names(path)
    except InputError:
        return None  # already reported by the required layers
    if layer not in available:
        return None
    return read_points(path, layer, crs, fields, id_field, geometry=geometry)


def read_region(scenario: Scenario) -> RegionData:
    """Read every input of ``scenario`` and bring it into the run's CRS.

    Raises one :class:`InputError` listing every problem found (one line each), so a user can
    fix all inputs in one go.
    """
    problems = _Problems()
    inputs = scenario.inputs
    crs = problems.attempt(resolve_crs, scenario)
    terrain = source = None
    if crs is not None:
        terrain = problems.attempt(read_terrain, inputs.dem, crs)
        source = problems.attempt(read_population, inputs.population, crs)
        if source is not None and terrain is not None:
            problems.attempt(_check_overlap, terrain, source, inputs.population)
    else:
        # Without the run CRS the rasters cannot be warped; still report their own problems.
        problems.attempt(lambda: _open_raster(inputs.population, "population").close())
    villages = problems.attempt(read_points, inputs.vectors, inputs.villages_layer, crs,
                                VILLAGE_FIELDS, "village_id")
    candidates = problems.attempt(read_points, inputs.vectors, inputs.candidates_layer, crs,
                                  CANDIDATE_FIELDS, "site_id",
                                  check=lambda frame, where: _validate_candidates(frame, scenario, where))
    complaints = problems.attempt(_read_optional, inputs.vectors, inputs.complaints_layer, crs,
                                  COMPLAINT_FIELDS, "complaint_id")
    zones = problems.attempt(_read_optional, inputs.vectors, inputs.zones_layer, crs, ZONE_FIELDS,
                             "zone_id", "Polygon")
    admin = problems.attempt(_read_optional, inputs.vectors, inputs.admin_layer, crs, ADMIN_FIELDS,
                             "admin_unit", "Polygon")
    if terrain is not None:
        for frame, layer in ((villages, inputs.villages_layer), (candidates, inputs.candidates_layer),
                             (complaints, inputs.complaints_layer)):
            if frame is not None:
                problems.attempt(_check_inside, frame, terrain, f"{inputs.vectors} layer '{layer}'")
        if zones is not None:
            problems.attempt(_check_zones_inside, zones, terrain,
                             f"{inputs.vectors} layer '{inputs.zones_layer}'")
    problems.raise_if_any()
    population, pop_transform = population_overview(source)
    return RegionData(crs=crs, terrain=terrain, population=population,
                      population_transform=pop_transform, villages=villages,
                      candidates=candidates, complaints=complaints, zones=zones, admin_units=admin,
                      population_source=source)


def _validate_candidates(candidates: gpd.GeoDataFrame, scenario: Scenario, where: str) -> None:
    problems = _Problems()
    kind = candidates["kind"]
    blank = kind.isna() | (kind.astype(str).str.strip() == "")  # reported as an empty field
    unknown = ~kind.astype(str).isin(CANDIDATE_KINDS) & ~blank
    if unknown.any():
        values = sorted(set(candidates["kind"][unknown].astype(str)))
        problems.add(f"{where}: field 'kind' has unknown value(s) {', '.join(map(repr, values[:3]))} "
                     f"for feature(s) {_ids(candidates.index, unknown)}; use one of "
                     f"{', '.join(CANDIDATE_KINDS)}")
    bad_techs = []
    usable = np.zeros(len(candidates), bool)
    generations = {t.generation for t in scenario.technologies}
    for i, listed in enumerate(candidates["technologies"]):
        if listed is None or (isinstance(listed, float) and np.isnan(listed)):
            continue  # reported as an empty field
        allowed = {g.strip() for g in str(listed).split(",") if g.strip()}
        if not allowed or not allowed <= {"4G", "5G"}:
            bad_techs.append(i)
        usable[i] = bool(allowed & generations)
    if bad_techs:
        first = candidates["technologies"].iloc[bad_techs[0]]
        mask = np.zeros(len(candidates), bool)
        mask[bad_techs] = True
        problems.add(f"{where}: field 'technologies' of feature(s) {_ids(candidates.index, mask)} "
                     f"is not a list of generations (e.g. {first!r}); use a comma-separated list of "
                     f"4G and/or 5G")
    if not generations:
        problems.add(f"{scenario.path}: technologies: none defined")
    elif not bad_techs and not usable.any():
        problems.add(f"{where}: field 'technologies': no candidate allows any of the scenario's "
                     f"generations ({', '.join(sorted(generations))}); no site could be planned")
    height = pd.to_numeric(candidates["antenna_height_m"], errors="coerce")
    bad = ((height <= 0) | (height > MAX_ANTENNA_HEIGHT_M)).fillna(False).to_numpy(bool)
    if bad.any():
        problems.add(f"{where}: field 'antenna_height_m' must be in (0, {MAX_ANTENNA_HEIGHT_M:g}] m; "
                     f"feature(s) {_ids(candidates.index, bad)} hold "
                     f"{[float(h) for h in height[bad][:3]]}")
    else:
        _check_model_heights(candidates, height.to_numpy(float), scenario, where, problems)
    problems.raise_if_any()


def _check_model_heights(candidates, height_m: np.ndarray, scenario: Scenario, where: str,
                         problems: _Problems) -> None:
    """Each site's antenna must lie in the height range of every model it could be planned
    with (a path-loss model outside its range is not extrapolated silently)."""
    allows = candidates["technologies"].astype(str)
    for tech in scenario.technologies:
        low, high = MODEL_BASE_HEIGHT_RANGE_M[tech.model]
        uses = allows.str.contains(tech.generation, regex=False).to_numpy(bool)
        outside = uses & ((height_m < low) | (height_m > high))
        if outside.any():
            problems.add(f"{where}: field 'antenna_height_m' of feature(s) "
                         f"{_ids(candidates.index, outside)} ({height_m[outside][0]:g} m, ...) is "
                         f"outside the {low:g}-{high:g} m range of the {tech.model} model of "
                         f"technology {tech.name}; raise the antenna, remove {tech.generation} "
                         f"from the site's 'technologies', or choose another model")

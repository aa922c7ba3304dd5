"""Rasters of a run: the DEM as a :class:`~siting.terrain.Terrain` and the population raster,
checked and brought into the run's projected CRS."""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyproj
import rasterio
import rasterio.errors
import rasterio.warp
import rasterio.windows
from rasterio.enums import Resampling
from scipy import ndimage

from siting.config import Scenario
from siting.errors import InputError
from siting.io.problems import first_line
from siting.terrain import Terrain

logger = logging.getLogger(__name__)


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


def utm_crs_for(lon_deg: float, lat_deg: float) -> pyproj.CRS:
    """The WGS 84 / UTM zone CRS containing a point."""
    zone = int((lon_deg + 180.0) // 6.0) % 60 + 1
    return pyproj.CRS.from_epsg((32600 if lat_deg >= 0 else 32700) + zone)


def open_raster(path: Path, what: str):
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
        raise InputError(f"{path}: cannot read the {what} raster ({first_line(exc)}); "
                         f"is it a valid GeoTIFF?") from None


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
    with open_raster(scenario.inputs.dem, "dem") as src:
        _check_georeferenced(src, scenario.inputs.dem, "DEM")
        try:
            lon, lat = rasterio.warp.transform(src.crs, "EPSG:4326",
                                               [(src.bounds.left + src.bounds.right) / 2],
                                               [(src.bounds.bottom + src.bounds.top) / 2])
        except Exception as exc:  # GDAL/PROJ errors come in several classes
            raise InputError(f"{scenario.inputs.dem}: the DEM's CRS cannot be transformed to "
                             f"longitude/latitude ({first_line(exc)}); set crs in the scenario") from None
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
    with open_raster(path, "dem") as src:
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
            raise InputError(f"{path}: the DEM cannot be read ({first_line(exc)}); the file may be "
                             f"truncated") from None
        except Exception as exc:  # GDAL/PROJ failures during the warp
            raise InputError(f"{path}: the DEM cannot be reprojected to {crs.to_string()} "
                             f"({first_line(exc)})") from None
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
    with open_raster(path, "population") as src:
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
            raise InputError(f"{path}: the population raster cannot be read ({first_line(exc)}); "
                             f"the file may be truncated") from None
        except InputError:
            raise
        except Exception as exc:  # GDAL/PROJ failures during the warp
            raise InputError(f"{path}: the population raster cannot be reprojected to "
                             f"{crs.to_string()} ({first_line(exc)})") from None
    return PopulationRaster.of_array(_people(people), transform)  # NaN: outside the source


def _raster_bounds(shape: tuple[int, int], transform) -> tuple[float, float, float, float]:
    xs = [transform.c, transform.c + shape[1] * transform.a]
    ys = [transform.f, transform.f + shape[0] * transform.e]
    return min(xs), min(ys), max(xs), max(ys)


def check_overlap(terrain: Terrain, population: PopulationRaster, path: Path) -> None:
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

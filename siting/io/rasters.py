"""Rasters of a run: the DEM as a :class:`~siting.terrain.Terrain` and the population raster,
checked and brought into the run's projected CRS.

The DEM may be many tiles (files, folders, glob patterns: :func:`dem_files`); they are mosaicked
by :mod:`siting.io.dem` and read over the region only (:func:`read_terrain`).
"""

from __future__ import annotations

import functools
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
import rasterio.features
import rasterio.fill
import rasterio.warp
import rasterio.windows
import shapely
from rasterio.enums import Resampling
from scipy import ndimage

from siting.config import Scenario
from siting.errors import InputError
from siting.io.datums import warn_unshifted_datum
from siting.io.dem import (DemTile, check_separate_tiles, dem_files, dem_label, describe_tiles,
                           lonlat_bounds, open_mosaic, tile_cells_near, tiles_outline,
                           uncovered_message)
from siting.io.problems import first_line, require_file
from siting.landcover import NO_CLASS_CODE, LandCover
from siting.terrain import DemCells, Terrain

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
    require_file(path, f"inputs.{what}", what=f"{what} raster", kind="GeoTIFF file")
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


def _dem_specs(dem) -> tuple[Path, ...]:
    """``inputs.dem`` as a tuple of paths (one path is accepted too)."""
    return (Path(dem),) if isinstance(dem, (str, Path)) else tuple(Path(d) for d in dem)


def dem_tiles(dem) -> list[DemTile]:
    """Every raster ``dem`` (``inputs.dem``: files, folders, glob patterns) names, opened and
    checked: readable, a band, a CRS, and coordinates that fit that CRS."""
    specs = _dem_specs(dem)
    tiles = describe_tiles(dem_files(specs))
    check_separate_tiles(tiles, named={spec.resolve() for spec in specs if spec.is_file()})
    for tile in tiles:
        if (label := crs_label_problem(tile.bounds, tile.crs, tile.name)) is not None:
            raise InputError(label)
    return tiles


def _lonlat_centre(tiles: list[DemTile], where: str) -> tuple[float, float]:
    """(lon, lat) [degrees] of the centre of the tiles' lon/lat bounding box."""
    try:
        boxes = np.array([rasterio.warp.transform_bounds(tile.crs, "EPSG:4326", *tile.bounds)
                          for tile in tiles])
    except Exception as exc:  # GDAL/PROJ errors come in several classes
        raise InputError(f"{where}: the DEM's CRS cannot be transformed to longitude/latitude "
                         f"({first_line(exc)}); set crs in the scenario") from None
    west, south = boxes[:, 0].min(), boxes[:, 1].min()
    east, north = boxes[:, 2].max(), boxes[:, 3].max()
    return (west + east) / 2, (south + north) / 2


def resolve_crs(scenario: Scenario, region_lonlat_bounds=None) -> pyproj.CRS:
    """The run's projected CRS: the scenario's, or (``crs: auto``) the UTM zone of the centre of
    ``region_lonlat_bounds`` (west, south, east, north [degrees]) when given, else of the DEM
    tiles' mosaic."""
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
    if region_lonlat_bounds is not None:
        west, south, east, north = (float(v) for v in region_lonlat_bounds)
        lon, lat = (west + east) / 2, (south + north) / 2
        where, check = str(scenario.path), "region.bbox or the admin units' CRS"
    else:
        where, check = dem_label(_dem_specs(scenario.inputs.dem)), "the DEM's CRS"
        lon, lat = _lonlat_centre(dem_tiles(scenario.inputs.dem), where)
    if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -84 <= lat <= 84):
        what = "region" if region_lonlat_bounds is not None else "DEM"
        raise InputError(f"{where}: the {what}'s centre ({lon:.3f}, {lat:.3f}) is not a place a "
                         f"UTM zone covers; check {check} or set crs in the scenario")
    return utm_crs_for(lon, lat)


# Plausible ground elevations [m]: the Dead Sea shore to above Everest. Values outside are
# almost always an undeclared nodata value (-32768, -9999, 3.4e38).
ELEVATION_RANGE_M = (-500.0, 9000.0)
MAX_NODATA_FRACTION = 0.01
#: A void (nodata enclosed by data) none of whose cells lies farther than this [m] from a cell
#: with data is small: interpolated from its edges it stands for the ground, and points on it
#: are on the DEM (SRTM's voids in steep terrain are mostly a few cells). Farther from data the
#: interpolation is a guess at a hill or a valley: points there are refused.
SMALL_VOID_M = 100.0
#: DEM cells coarser than this [m] miss the ridges and valleys that decide line of sight.
COARSE_DEM_CELL_M = 100.0
#: A DEM read whole (no ``region.bbox``, no admin units) of more cells than this is told
#: how to read only the planning area: 25 million cells, 100 MB as float32, held about twice
#: while it is read (a province's 30 m DEM is 20 times that).
WHOLE_DEM_NOTICE_CELLS = 25_000_000
#: Cells read beyond the region on each side, so that bilinear sampling at its edge is defined.
REGION_PAD_CELLS = 2


def _check_holes(valid: np.ndarray, holes: np.ndarray, n_counted: int, transform,
                 crs: pyproj.CRS, where: str) -> None:
    """Refuse a DEM without a valid cell, or whose ``holes`` are more than 1% of the
    ``n_counted`` cells the check covers, naming the holes' lon/lat box."""
    if not valid.any():
        raise InputError(f"{where}: the DEM holds no valid elevation (every cell is nodata)")
    fraction = holes.sum() / max(n_counted, 1)
    if fraction > MAX_NODATA_FRACTION:
        rows, cols = np.flatnonzero(holes.any(axis=1)), np.flatnonzero(holes.any(axis=0))
        (x0, x1), (y1, y0) = transform * (np.array([cols[0], cols[-1] + 1]),
                                          np.array([rows[0], rows[-1] + 1]))
        west, south, east, north = lonlat_bounds(shapely.box(x0, y0, x1, y1), crs)
        raise InputError(f"{where}: {fraction:.1%} of the DEM is nodata (more than "
                         f"{MAX_NODATA_FRACTION:.0%}), within lon {west:.4f}..{east:.4f}, lat "
                         f"{south:.4f}..{north:.4f}; fill the holes (gdal_fillnodata.py) or "
                         f"choose a DEM that covers the area")


def _void_windows(valid: np.ndarray, voids: np.ndarray):
    """For each void (a connected set of ``voids`` cells, all enclosed by ``valid`` cells):
    (window, its cells in the window, each window cell's distance [cells] to the nearest valid
    cell). The window is the void's bounding box grown by its larger side and 2 cells, which
    holds the nearest valid cell of every cell of the void (walking along a row or column out
    of the void meets a valid cell within that side) and GDAL's search from it."""
    labels, _ = ndimage.label(voids)
    for label, box in enumerate(ndimage.find_objects(labels), start=1):
        pad = max(s.stop - s.start for s in box) + 2
        window = tuple(slice(max(s.start - pad, 0), s.stop + pad) for s in box)
        yield window, labels[window] == label, ndimage.distance_transform_edt(~valid[window])


def _interpolate_voids(elevation: np.ndarray, valid: np.ndarray, voids: np.ndarray,
                       cell_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(elevation, small voids): ``elevation`` with each void's cells interpolated from the
    data around it by GDAL's fillnodata (inverse distance weighting of the nearest data in each
    direction, no smoothing: what ``gdal_fillnodata.py`` does, searching as far as the void's
    cell farthest from data and 2 cells more), other cells as they are (a void cell the search
    does not reach stays NaN); and the cells of the voids none of whose cells lies farther than
    :data:`SMALL_VOID_M` from data.

    References: GDAL, ``GDALFillNodata`` (alg/rasterfill.cpp).
    """
    source = np.where(valid, elevation, np.float32(np.nan)).astype(np.float32)
    out, small = elevation.copy(), np.zeros_like(voids)
    for window, void, distance_cells in _void_windows(valid, voids):
        widest_cells = float(distance_cells[void].max())
        filled = rasterio.fill.fillnodata(source[window], mask=valid[window].astype(np.uint8),
                                          max_search_distance=widest_cells + 2.0,
                                          smoothing_iterations=0)
        out[window][void] = filled[void]
        small[window] |= void & (widest_cells * cell_m <= SMALL_VOID_M)
    return out, small


def _fill_nearest(elevation: np.ndarray) -> np.ndarray:
    """Every NaN cell set to the value of its nearest finite cell."""
    missing = ~np.isfinite(elevation)
    if not missing.any():
        return elevation
    _, (rows, cols) = ndimage.distance_transform_edt(missing, return_indices=True)
    return elevation[rows, cols]


def _fill_voids(elevation: np.ndarray, valid: np.ndarray, inside: np.ndarray, cell_m: float,
                where: str) -> tuple[np.ndarray, np.ndarray]:
    """(elevation without NaN, data mask) of a grid whose ``valid`` cells hold data.

    Voids (nodata enclosed by data, :func:`_enclosed`) are interpolated from their edges
    (:func:`_interpolate_voids`); the small ones then count as data, the larger ones do not: their interpolation keeps profiles across them defined, but no point
    may stand on them. Every other empty cell (the collar of a reprojected tile, cells beyond
    the tiles) is filled from its nearest valid cell and is no data either.
    """
    voids = _enclosed(~valid, inside)
    small = np.zeros_like(voids)
    if voids.any():
        elevation, small = _interpolate_voids(elevation, valid, voids, cell_m)
        n_large = int(voids.sum() - small.sum())
        logger.warning("%s: filled %d nodata cell(s) of voids in the DEM by interpolation from "
                       "their edges (inverse distance, as gdal_fillnodata.py)%s", where,
                       int(voids.sum()),
                       f"; {n_large} of them lie more than {SMALL_VOID_M:g} m from data: no "
                       f"site, village or demand point may stand there" if n_large else "")
    return _fill_nearest(elevation), valid | small


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


def _cell_estimate_m(tile: DemTile, crs: pyproj.CRS) -> float:
    """About how wide [m of ``crs``] a cell of ``tile`` is."""
    area = tile.outline(crs).area
    return math.sqrt(area / (tile.width * tile.height)) if area > 0 else 1.0


def _area(area) -> shapely.Geometry | None:
    """A geometry, or (xmin, ymin, xmax, ymax) as its box; None stays None."""
    if area is None or isinstance(area, shapely.Geometry):
        return area
    return shapely.box(*(float(v) for v in area))


def _check_covered(outline, crs: pyproj.CRS, region_bounds, required, cell_m: float,
                   where: str) -> None:
    """Refuse a region the tiles leave partly uncovered: any part of the ``required`` area
    outside the tiles, or without it, a gap between the tiles inside the area read (parts of
    the area outside the tiles along its edge, such as the corners a reprojection adds, are
    not gaps)."""
    covered = outline.buffer(0.5 * cell_m)
    if required is not None:
        gap = required.difference(covered)
    else:
        area = shapely.box(*outline.bounds)
        if region_bounds is not None:
            area = area.intersection(shapely.box(*region_bounds))
        inner = [part for part in shapely.get_parts(area.difference(covered))
                 if area.is_empty or part.distance(area.boundary) > cell_m]
        gap = shapely.union_all(inner) if inner else shapely.Polygon()
    if gap.area > cell_m * cell_m:
        raise InputError(uncovered_message(where, gap, crs))
    if region_bounds is not None and not outline.intersects(shapely.box(*region_bounds)):
        west, south, east, north = lonlat_bounds(shapely.box(*region_bounds), crs)
        raise InputError(f"{where}: the DEM tiles do not reach the region (lon {west:.4f}.."
                         f"{east:.4f}, lat {south:.4f}..{north:.4f}); check inputs.dem and the "
                         f"region")


def _source_window(region_bounds, crs: pyproj.CRS, tile: DemTile):
    """``region_bounds`` (in ``crs``) as bounds in ``tile``'s CRS, grown by a few of its cells."""
    left, bottom, right, top = rasterio.warp.transform_bounds(crs, tile.crs, *region_bounds,
                                                              densify_pts=21)
    pad = (REGION_PAD_CELLS + 1) * math.sqrt(abs(tile.transform.determinant))
    return left - pad, bottom - pad, right + pad, top + pad


def _region_window(src, region_bounds, where: str) -> rasterio.windows.Window:
    """The window of ``src`` (north-up, in the run's CRS) over ``region_bounds`` and
    :data:`REGION_PAD_CELLS` more cells on each side, clipped to the raster."""
    if region_bounds is None:
        return rasterio.windows.Window(0, 0, src.width, src.height)
    t = src.transform
    xmin, ymin, xmax, ymax = region_bounds
    col0 = max(0, math.floor((xmin - t.c) / t.a) - REGION_PAD_CELLS)
    col1 = min(src.width, math.ceil((xmax - t.c) / t.a) + REGION_PAD_CELLS)
    row0 = max(0, math.floor((t.f - ymax) / -t.e) - REGION_PAD_CELLS)
    row1 = min(src.height, math.ceil((t.f - ymin) / -t.e) + REGION_PAD_CELLS)
    if col1 - col0 < 2 or row1 - row0 < 2:
        raise InputError(f"{where}: the DEM overlaps the region by less than 2 x 2 cells; check "
                         f"inputs.dem and the region")
    return rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0)


def _native_cell(src, crs: pyproj.CRS, x, y) -> float:
    """The side of the square cell of ``crs`` as large as a cell of ``src`` at ``(x, y)`` (in
    ``src``'s CRS): the geometric mean of its two sides there. It depends on the DEM and the
    place alone; GDAL's default resolution follows the shape of the window warped, so one 3"
    DEM came out in 78 to 92 m cells as the region's box changed."""
    res_x, res_y = src.res
    xs, ys = rasterio.warp.transform(src.crs, crs, [x, x + res_x, x], [y, y, y + res_y])
    return math.sqrt(math.hypot(xs[1] - xs[0], ys[1] - ys[0])
                     * math.hypot(xs[2] - xs[0], ys[2] - ys[0]))


def _warp_region(src, crs: pyproj.CRS, region_bounds):
    """``src`` warped (bilinear) to square north-up cells of ``crs`` over its bounding box in
    ``crs``, limited to ``region_bounds`` (and a few cells) when given; NaN outside ``src``."""
    left, bottom, right, top = src.bounds
    res_x, res_y = src.res
    if region_bounds is not None:
        b = rasterio.warp.transform_bounds(crs, src.crs, *region_bounds, densify_pts=21)
        left = max(left, b[0] - REGION_PAD_CELLS * res_x)
        bottom = max(bottom, b[1] - REGION_PAD_CELLS * res_y)
        right = min(right, b[2] + REGION_PAD_CELLS * res_x)
        top = min(top, b[3] + REGION_PAD_CELLS * res_y)
    cell = _native_cell(src, crs, (left + right) / 2.0, (bottom + top) / 2.0)
    xmin, ymin, xmax, ymax = rasterio.warp.transform_bounds(src.crs, crs, left, bottom, right, top,
                                                            densify_pts=21)
    if region_bounds is not None:
        pad = REGION_PAD_CELLS * cell
        xmin, ymin = max(xmin, region_bounds[0] - pad), max(ymin, region_bounds[1] - pad)
        xmax, ymax = min(xmax, region_bounds[2] + pad), min(ymax, region_bounds[3] + pad)
    cols = max(2, math.ceil((xmax - xmin) / cell - 1e-6))
    rows = max(2, math.ceil((ymax - ymin) / cell - 1e-6))
    transform = rasterio.Affine(cell, 0.0, xmin, 0.0, -cell, ymax)
    out = np.full((rows, cols), np.nan, dtype=np.float32)
    rasterio.warp.reproject(rasterio.band(src, 1), out, dst_transform=transform, dst_crs=crs,
                            dst_nodata=np.nan, resampling=Resampling.bilinear)
    return np.ma.masked_invalid(out), transform


def _read_mosaic(src, crs: pyproj.CRS, region_bounds, where: str):
    """(masked elevations, transform, warped?) of the mosaic over the region in ``crs``: read
    as it is when it is in ``crs`` with square north-up cells, else warped."""
    t = src.transform
    if pyproj.CRS.from_user_input(src.crs) == crs and t.a == -t.e:
        window = _region_window(src, region_bounds, where)
        data = src.read(1, window=window, masked=True)
        # the mosaic's transform shifted by whole cells
        transform = rasterio.Affine(t.a, 0.0, t.c + window.col_off * t.a, 0.0, t.e,
                                    t.f + window.row_off * t.e)
        return data, transform, False
    logger.warning("%s: DEM reprojected (bilinear) from %s to the run's CRS %s", where,
                   src.crs.to_string(), crs.to_string())
    warn_unshifted_datum(where, src.crs, crs)
    data, transform = _warp_region(src, crs, region_bounds)
    return data, transform, True


def _cell_mask(area, transform, shape: tuple[int, int]) -> np.ndarray:
    """Cells whose centre lies inside ``area`` (a geometry in the grid's CRS)."""
    rows, cols = shape
    grid = shapely.box(transform.c, transform.f + rows * transform.e,
                       transform.c + cols * transform.a, transform.f)
    if area.contains(grid):
        return np.ones(shape, dtype=bool)
    if area.is_empty or not area.intersects(grid):
        return np.zeros(shape, dtype=bool)
    return rasterio.features.rasterize([area], out_shape=shape, transform=transform, fill=0,
                                       default_value=1, dtype="uint8").astype(bool)


def _trim_to_data(elevation: np.ndarray, valid: np.ndarray, keep: np.ndarray | None, transform):
    """The grid without its outer rows and columns that hold no valid cell (and no ``keep``
    cell): margin beyond the data, such as the nodata collar of a reprojected tile."""
    keep = valid if keep is None else valid | keep
    rows, cols = np.flatnonzero(keep.any(axis=1)), np.flatnonzero(keep.any(axis=0))
    if len(rows) < 2 or len(cols) < 2:
        return elevation, valid, transform
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    transform = rasterio.Affine(transform.a, 0.0, transform.c + c0 * transform.a, 0.0,
                                transform.e, transform.f + r0 * transform.e)
    return elevation[r0:r1, c0:c1], valid[r0:r1, c0:c1], transform


def _enclosed(missing: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """The ``missing`` cells enclosed by data: inside the tiles and not connected to the
    grid's border or to cells outside the tiles (the collar of a reprojected tile)."""
    seeds = missing & ~inside
    for edge in (np.s_[0, :], np.s_[-1, :], np.s_[:, 0], np.s_[:, -1]):
        seeds[edge] |= missing[edge]
    labels, _ = ndimage.label(missing)
    collar = np.isin(labels, np.unique(labels[seeds]))
    return missing & ~collar & inside


def _holes(valid: np.ndarray, inside: np.ndarray, required: np.ndarray | None):
    """(holes, cells counted): the nodata cells that count as holes in the data.

    Only cells ``inside`` the tiles count (the cells a reprojection adds outside them never do).
    With a ``required`` region, every nodata cell inside it and the tiles is a hole. Without
    one, nodata reaching the edge of the data (the grid's border or the tiles' outline) is the
    collar a reprojected tile carries, outside its data; only enclosed nodata is a hole.
    """
    missing = ~valid
    if not missing.any():
        return missing, int(inside.sum())
    if required is not None:
        counted = inside & required
        return missing & counted, int(counted.sum())
    return _enclosed(missing, inside), int(inside.sum())


def _fill_empty_cells(elevation: np.ndarray, valid: np.ndarray, transform, crs: pyproj.CRS,
                      outline, warped: bool, required_area, where: str):
    """(elevation, data mask, transform) with the outer rows and columns without data cut off
    and every other empty cell filled (:func:`_fill_voids`), after checking the holes among
    them (see :func:`_holes`)."""
    required = None
    if required_area is not None:
        required = _cell_mask(required_area, transform, elevation.shape)
    elevation, valid, transform = _trim_to_data(elevation, valid, required, transform)
    if required is not None:
        required = _cell_mask(required_area, transform, elevation.shape)
    # in a warped grid the outermost cells inside the tiles may be left empty by the warp
    inside = _cell_mask(outline.buffer(-transform.a) if warped else outline, transform,
                        elevation.shape)
    holes, n_counted = _holes(valid, inside, required)
    _check_holes(valid, holes, n_counted, transform, crs, where)
    elevation, data_mask = _fill_voids(elevation, valid, inside, transform.a, where)
    return elevation, data_mask, transform


def _outside_range(elevation_m):
    """Where elevations [m] lie outside :data:`ELEVATION_RANGE_M` (NaN does not)."""
    with np.errstate(invalid="ignore"):
        return (elevation_m < ELEVATION_RANGE_M[0]) | (elevation_m > ELEVATION_RANGE_M[1])


def _implausible_cell(tiles: list[DemTile], crs: pyproj.CRS, x: float, y: float,
                      elevation_m: float) -> str:
    """Where an implausible elevation read at map point ``(x, y)`` of ``crs`` is stored: the
    row and column of the tile's own file (the grid read is a window of the mosaic, or a warp
    of it, whose rows and columns are no file's) and the point in degrees."""
    lon, lat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    place = f"lon {lon:.5f}, lat {lat:.5f}"
    stored = [cell for cell in tile_cells_near(tiles, crs, x, y) if _outside_range(cell[3])]
    if not stored:
        return f"{elevation_m:g} m at {place}"
    tile, row, col, value_m = max(stored, key=lambda cell: abs(cell[3]))
    return f"{value_m:g} m at row {row}, col {col} of {tile.name} ({place})"


def _check_elevations(elevation: np.ndarray, valid: np.ndarray, transform, crs: pyproj.CRS,
                      tiles: list[DemTile], where: str) -> None:
    """Refuse elevations outside :data:`ELEVATION_RANGE_M` among the ``valid`` cells of the
    grid read, naming the first one's cell in its file."""
    absurd = valid & _outside_range(elevation)
    if absurd.any():
        r, c = np.argwhere(absurd)[0]
        x, y = transform * (c + 0.5, r + 0.5)
        example = _implausible_cell(tiles, crs, x, y, float(elevation[r, c]))
        raise InputError(f"{where}: {int(absurd.sum())} DEM cell(s) read hold elevations outside "
                         f"{ELEVATION_RANGE_M[0]:g}..{ELEVATION_RANGE_M[1]:g} m (e.g. "
                         f"{example}); declare the nodata value (gdal_edit.py -a_nodata) or fix "
                         f"the cells")


def _nan_filled(data) -> tuple[np.ndarray, np.ndarray]:
    """(float32 elevations with NaN in the masked cells, where they are finite) of a masked
    array of the mosaic read, filled in place: a copy of a province-size grid is gigabytes."""
    mask = np.ma.getmaskarray(data)
    elevation = np.ma.getdata(data).astype(np.float32, copy=False)
    elevation[mask] = np.nan
    return elevation, np.isfinite(elevation)


def read_terrain(dem, crs, *, region_bounds=None, required_area=None) -> Terrain:
    """Read the DEM tiles over the region into a :class:`Terrain` in ``crs``.

    Parameters
    ----------
    dem : tuple of pathlib.Path, or one path
        ``inputs.dem``: DEM files, folders and glob patterns (see :func:`dem_files`).
    crs : pyproj.CRS
        The run's projected CRS.
    region_bounds : (xmin, ymin, xmax, ymax) [m] in ``crs``, optional
        The area to read: the region grown by the longest technology range. Parts beyond the
        tiles are left out (the Terrain never extends past the tiles). None: all of the tiles.
    required_area : shapely geometry, or (xmin, ymin, xmax, ymax) [m], in ``crs``, optional
        The part the tiles must cover: the region without the range margin (the admin units,
        or the outline of ``region.bbox``, in ``crs``). Any part of it outside the tiles is an
        InputError naming that part as a lon/lat box, and every nodata cell inside it counts
        as a hole. None: the tiles need not cover anything in particular; only nodata enclosed
        by data is a hole, nodata reaching the edge of the data (the collar of a reprojected
        tile) is outside it, and a gap between tiles is refused.

    Returns
    -------
    Terrain
        Square north-up cells of ``crs`` over ``region_bounds``, ending where the data ends.

    Notes
    -----
    The tiles are mosaicked through a VRT (:func:`siting.io.dem.open_mosaic`). A mosaic in
    ``crs`` with square north-up cells is read as it is (only the window over
    ``region_bounds``), anything else is warped bilinearly to square north-up cells of ``crs``.
    Cells outside the tiles' footprint (the corners a reprojection adds) are never holes.
    Holes are refused when more than 1% of the cells checked. Outer rows and columns without
    data are cut off; voids enclosed by data are interpolated from their edges as
    ``gdal_fillnodata.py`` does, every other empty cell is filled from its nearest valid cell.
    The Terrain's ``data_mask`` tells the cells that hold data (read, or in a void within
    :data:`SMALL_VOID_M` of data) from the fills, on which no point may stand
    (:meth:`siting.terrain.Terrain.on_data`). Cells coarser than :data:`COARSE_DEM_CELL_M` log
    a warning.
    """
    specs = _dem_specs(dem)
    where = dem_label(specs)
    crs = pyproj.CRS.from_user_input(crs)
    tiles = dem_tiles(specs)
    outline = tiles_outline(tiles, crs)
    required_area = _area(required_area)
    _check_covered(outline, crs, region_bounds, required_area, _cell_estimate_m(tiles[0], crs),
                   where)
    within = None if region_bounds is None else _source_window(region_bounds, crs, tiles[0])
    try:
        with open_mosaic(tiles, within=within) as src:
            if src.width < 2 or src.height < 2:
                raise InputError(f"{where}: the DEM is {src.width} x {src.height} cells; at least "
                                 f"2 x 2 are needed")
            if region_bounds is None and src.width * src.height > WHOLE_DEM_NOTICE_CELLS:
                logger.warning("%s: no region.bbox nor inputs.admin_units, so the whole DEM is "
                               "read (%d x %d cells, about %.1f GB while it is read); set "
                               "region.bbox: [west, south, east, north] in degrees to read the "
                               "planning area only", where, src.width, src.height,
                               2 * 4 * src.width * src.height / 1e9)
            data, transform, warped = _read_mosaic(src, crs, region_bounds, where)
    except InputError:
        raise
    except (rasterio.errors.RasterioIOError, rasterio.errors.RasterioError) as exc:
        raise InputError(f"{where}: the DEM cannot be read ({first_line(exc)}); a file may be "
                         f"truncated") from None
    except Exception as exc:  # GDAL/PROJ failures during the warp
        raise InputError(f"{where}: the DEM cannot be reprojected to {crs.to_string()} "
                         f"({first_line(exc)})") from None
    elevation, valid = _nan_filled(data)
    _check_elevations(elevation, valid, transform, crs, tiles, where)
    data_mask = None
    if not valid.all():
        elevation, data_mask, transform = _fill_empty_cells(elevation, valid, transform, crs,
                                                            outline, warped, required_area,
                                                            where)
    try:
        terrain = Terrain(elevation_m=np.ascontiguousarray(elevation, dtype=np.float32),
                          transform=transform, crs=crs, data_mask=data_mask)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    if terrain.cell_size_m > COARSE_DEM_CELL_M:
        logger.warning("%s: DEM cells are %.0f m, too coarse for line-of-sight work (ridges and "
                       "valleys narrower than a cell vanish); use SRTM 30 m or Copernicus GLO-30",
                       where, terrain.cell_size_m)
    return terrain


@dataclass(frozen=True)
class DemSource:
    """The scenario's DEM tiles (``inputs.dem``) for a run in ``crs``, read window by window in
    their own grid (:meth:`cells`), where the :class:`Terrain` holds them warped to the run's
    square cells."""

    dem: tuple[Path, ...]
    crs: pyproj.CRS

    @functools.cached_property
    def _outline(self) -> shapely.Geometry:
        """:meth:`outline`, computed once (it opens every tile), prepared for point tests."""
        outline = tiles_outline(dem_tiles(self.dem), self.crs)
        shapely.prepare(outline)
        return outline

    def outline(self) -> shapely.Geometry:
        """The tiles' footprint (outer cell edges) in the run's CRS. A Terrain warped from
        another CRS holds, beyond it, cells its reprojection filled from their neighbours: no
        elevation was ever read there."""
        return self._outline

    def contains(self, x, y) -> np.ndarray:
        """Whether each point (x, y) [m, the run's CRS] lies on the tiles (edges included)."""
        return shapely.intersects_xy(self.outline(), np.asarray(x, np.float64),
                                     np.asarray(y, np.float64))

    def room_m(self, x: float, y: float) -> float:
        """Distance [m] from (x, y) (the run's CRS) to the nearest edge of the tiles' data
        (:meth:`outline`), 0 outside them."""
        outline = self.outline()
        site = shapely.Point(x, y)
        return float(outline.boundary.distance(site)) if outline.contains(site) else 0.0

    def cells(self, bounds) -> DemCells | None:
        """The DEM's own cells over ``bounds`` (xmin, ymin, xmax, ymax [m] in the run's CRS)
        and a few cells around, as far as the mosaic reaches, in the CRS of the mosaic
        (:func:`siting.io.dem.open_mosaic`).

        None when the Terrain already holds them (a mosaic in the run's CRS with square
        north-up cells is read as it is), and when the area holds nodata (the Terrain's
        filled cells are then the DEM there).
        """
        tiles = dem_tiles(self.dem)
        within = _source_window(bounds, self.crs, tiles[0])
        with open_mosaic(tiles, within=within) as src:
            t = src.transform
            crs = pyproj.CRS.from_user_input(src.crs)
            if crs == self.crs and t.a == -t.e:
                return None
            window = _region_window(src, within, dem_label(self.dem))
            data = src.read(1, window=window, masked=True)
            transform = rasterio.windows.transform(window, t)
        elevation = np.ma.filled(data.astype(np.float32), np.nan)
        if not np.isfinite(elevation).all():
            return None
        return DemCells(elevation, transform, crs)


def single_dem_in_crs(dem, crs) -> Path | None:
    """The DEM file when ``dem`` (``inputs.dem``) is one raster file already in ``crs`` with
    square north-up cells and elevations stored in metres (no scale, offset or other unit),
    which :func:`siting.distributed.read_terrain_window` can read window by window as they are;
    else None (tiles, zipped tiles, another CRS, elevations to convert: read the mosaic whole
    instead)."""
    files = dem_files(_dem_specs(dem))
    if len(files) != 1 or files[0].suffix.lower() == ".zip":
        return None
    (tile,) = describe_tiles(files)
    t = tile.transform
    with rasterio.open(tile.name) as src:  # the whole CRS: a vertical part makes it another
        same_crs = pyproj.CRS.from_user_input(src.crs) == pyproj.CRS.from_user_input(crs)
    if same_crs and tile.north_up and t.a == -t.e and tile.to_metres == (1.0, 0.0):
        return files[0]
    return None


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
            warn_unshifted_datum(path, src.crs, crs)
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


def _land_cover_codes(src, terrain: Terrain) -> np.ndarray:
    """The class codes of ``src`` on the terrain's grid (nearest neighbour; int32, -1 where the
    raster has no data or does not reach)."""
    codes = np.full(terrain.shape, NO_CLASS_CODE, np.int32)
    rasterio.warp.reproject(rasterio.band(src, 1), codes, src_nodata=src.nodata,
                            dst_transform=terrain.transform, dst_crs=terrain.crs,
                            dst_nodata=NO_CLASS_CODE, resampling=Resampling.nearest)
    return codes


def read_land_cover(path: Path, terrain: Terrain, classes) -> LandCover:
    """The land-cover class raster ``inputs.land_cover`` on the terrain's grid.

    The raster, in any CRS, is resampled by nearest neighbour onto the DEM's cells (class codes
    are never averaged). Its nodata cells, and the cells it does not reach, have no class (no
    clutter, the technology's flat ``clutter_loss_db`` for a user there). A code that is
    neither nodata nor in ``classes`` (``land_cover_classes``) is an InputError naming it.
    """
    with open_raster(path, "land_cover") as src:
        _check_georeferenced(src, path, "land cover raster")
        if terrain.crs is not None:
            warn_unshifted_datum(path, src.crs, terrain.crs)
        try:
            codes = _land_cover_codes(src, terrain)
        except (rasterio.errors.RasterioIOError, rasterio.errors.RasterioError) as exc:
            raise InputError(f"{path}: the land cover raster cannot be read "
                             f"({first_line(exc)}); the file may be truncated") from None
    if (codes == NO_CLASS_CODE).all():
        raise InputError(f"{path}: the land cover raster does not overlap the DEM (or holds "
                         f"nodata only); check its CRS and extent")
    known = np.array([c.code for c in classes] + [NO_CLASS_CODE])
    unknown = np.unique(codes[~np.isin(codes, known)])
    if len(unknown):
        raise InputError(f"{path}: the land cover raster holds class code(s) "
                         f"{', '.join(map(str, unknown[:8].tolist()))} that land_cover_classes "
                         f"does not list (it lists {', '.join(str(c.code) for c in classes)}); "
                         f"add them to land_cover_classes or declare the nodata value")
    return LandCover.of_codes(codes, tuple(classes))

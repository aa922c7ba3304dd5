"""The terrain grid: a north-up elevation raster, bilinear sampling and path profiles.

A :class:`Terrain` is a north-up float32 elevation grid with square cells in a projected CRS
[m]. Continuous pixel coordinates put the *centre* of cell ``(r, c)`` at ``(r, c)``; the terrain
surface is the bilinear interpolant of the cell-centre elevations, defined on the cell-centre hull
``0 <= row <= nrows - 1, 0 <= col <= ncols - 1``. Points outside raise
:class:`~siting.errors.InputError`: they are never clamped to the edge.

The numba kernels (``*_kernel``) are ``njit(cache=True, nogil=True)`` and allocation free so that
other modules (:mod:`siting.coverage`) can call them inside their own ``numba.prange`` loops.

Visibility on the grid (the exact line of sight between two cell centres and the viewshed)
lives in :mod:`siting.viewshed`; its public functions are re-exported here, where the public
API has always named them (``siting.terrain.viewshed``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numba
import numpy as np
import pyproj
from affine import Affine

from siting.errors import InputError
from siting.landcover import LandCover
from siting.propagation import EARTH_RADIUS_M
from siting.viewshed import (exact_line_of_sight, exact_line_of_sight_kernel,
                             exact_line_of_sight_many, viewshed)

__all__ = [
    "EARTH_RADIUS_M",
    "DemCells",
    "Terrain",
    "bilinear_kernel",
    "sample_profile_kernel",
    "exact_line_of_sight_kernel",
    "exact_line_of_sight",
    "exact_line_of_sight_many",
    "viewshed",
]


# ---------------------------------------------------------------------------------------------
# numba kernels


@numba.njit(cache=True, nogil=True)
def bilinear_kernel(elevation, row_f, col_f):
    """Bilinear elevation [m] at continuous pixel coordinates (cell centres at integers).

    The caller guarantees ``0 <= row_f <= nrows - 1`` and ``0 <= col_f <= ncols - 1``; on the last
    row / column the 2x2 neighbourhood is clamped so no index runs past the array.
    """
    nrows, ncols = elevation.shape
    r = int(math.floor(row_f))
    c = int(math.floor(col_f))
    if r > nrows - 2:
        r = nrows - 2
    if r < 0:
        r = 0
    if c > ncols - 2:
        c = ncols - 2
    if c < 0:
        c = 0
    fr = row_f - r
    fc = col_f - c
    r1 = r + 1 if nrows > 1 else r
    c1 = c + 1 if ncols > 1 else c
    z00 = np.float64(elevation[r, c])
    z01 = np.float64(elevation[r, c1])
    z10 = np.float64(elevation[r1, c])
    z11 = np.float64(elevation[r1, c1])
    top = z00 + (z01 - z00) * fc
    bottom = z10 + (z11 - z10) * fc
    return top + (bottom - top) * fr


@numba.njit(cache=True, nogil=True)
def sample_profile_kernel(elevation, r0, c0, r1, c1, n, out_elevation):
    """Fill ``out_elevation[:n]`` with bilinear samples at n equally spaced points, ends included.

    ``(r0, c0)`` and ``(r1, c1)`` are continuous pixel coordinates inside the grid; ``n >= 1``
    (with ``n == 1`` only the start point is sampled).
    """
    if n == 1:
        out_elevation[0] = bilinear_kernel(elevation, r0, c0)
        return
    dr = (r1 - r0) / (n - 1)
    dc = (c1 - c0) / (n - 1)
    for i in range(n - 1):
        out_elevation[i] = bilinear_kernel(elevation, r0 + i * dr, c0 + i * dc)
    out_elevation[n - 1] = bilinear_kernel(elevation, r1, c1)


@numba.njit(parallel=True, cache=True, nogil=True)
def _bilinear_many_kernel(elevation, row_f, col_f, out):
    """:func:`bilinear_kernel` at every (row_f[i], col_f[i]), in parallel."""
    for i in numba.prange(row_f.shape[0]):
        out[i] = bilinear_kernel(elevation, row_f[i], col_f[i])



# ---------------------------------------------------------------------------------------------
# Terrain


@dataclass(frozen=True, eq=False)
class Terrain:
    """A north-up elevation grid with square cells.

    Parameters
    ----------
    elevation_m : numpy.ndarray
        float32 (rows x cols) elevation [m], row 0 = north, nodata already filled.
    transform : affine.Affine
        Pixel-to-map transform; square cells, no rotation, ``transform.e < 0``.
    crs : pyproj.CRS or None
        Projected CRS of the map coordinates [m].
    land_cover : siting.landcover.LandCover or None
        Land-cover classes on the same grid (``inputs.land_cover``), or None.
    data_mask : numpy.ndarray or None
        bool (rows x cols): True where the cell's elevation comes from the DEM's data (read,
        or interpolated over a small void); False where the DEM had no data there (nodata
        corners of a reprojected tile, a gap between tiles, a large void) and the cell only
        holds a fill so that profiles stay defined. None: every cell holds data.
    """

    elevation_m: np.ndarray
    transform: Affine
    crs: pyproj.CRS | None = None
    land_cover: LandCover | None = None
    data_mask: np.ndarray | None = None

    def __post_init__(self):
        z = self.elevation_m
        if not isinstance(z, np.ndarray) or z.ndim != 2 or z.shape[0] < 2 or z.shape[1] < 2:
            raise InputError("Terrain.elevation_m must be a 2-D array of at least 2 x 2 cells")
        if z.dtype != np.float32 or not z.flags.c_contiguous:
            object.__setattr__(self, "elevation_m", np.ascontiguousarray(z, dtype=np.float32))
        t = self.transform
        if t.b != 0 or t.d != 0 or t.e >= 0 or t.a <= 0:
            raise InputError(f"Terrain.transform must be north-up without rotation, "
                             f"got {tuple(t)[:6]}")
        if not math.isclose(t.a, -t.e, rel_tol=1e-9):
            raise InputError(f"Terrain cells must be square, got {t.a} x {-t.e} m")
        if self.land_cover is not None and self.land_cover.class_index.shape != z.shape:
            raise InputError(f"Terrain.land_cover must have the elevation's shape {z.shape}, "
                             f"got {self.land_cover.class_index.shape}")
        mask = self.data_mask
        if mask is not None:
            if np.shape(mask) != z.shape:
                raise InputError(f"Terrain.data_mask must be a bool array of the elevation's "
                                 f"shape {z.shape}, got {np.shape(mask)}")
            object.__setattr__(self, "data_mask", np.asarray(mask, dtype=bool))

    @cached_property
    def surface_m(self) -> np.ndarray:
        """Terrain plus representative clutter height [m] (float32, C-contiguous): the
        elevation itself without land cover."""
        if self.land_cover is None:
            return self.elevation_m
        return np.ascontiguousarray(self.elevation_m + self.land_cover.clutter_height_m)

    @property
    def cell_size_m(self) -> float:
        """Cell side [m]."""
        return float(self.transform.a)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return self.elevation_m.shape

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Outer cell edges (xmin, ymin, xmax, ymax) [m]."""
        rows, cols = self.shape
        xmin, ymax = self.transform.c, self.transform.f
        return (xmin, ymax - rows * self.cell_size_m, xmin + cols * self.cell_size_m, ymax)

    def rowcol(self, x, y):
        """Continuous pixel coordinates (row_f, col_f) of map points; cell centres are integers."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        cell = self.cell_size_m
        row = (self.transform.f - y) / cell - 0.5
        col = (x - self.transform.c) / cell - 0.5
        return row, col

    def xy(self, row, col):
        """Map coordinates (x, y) [m] of continuous pixel coordinates (inverse of ``rowcol``)."""
        row = np.asarray(row, dtype=np.float64)
        col = np.asarray(col, dtype=np.float64)
        cell = self.cell_size_m
        return self.transform.c + (col + 0.5) * cell, self.transform.f - (row + 0.5) * cell

    def contains(self, x, y) -> np.ndarray:
        """True where (x, y) lies in the cell-centre hull, where bilinear sampling is defined."""
        row, col = self.rowcol(x, y)
        rows, cols = self.shape
        return (row >= 0) & (row <= rows - 1) & (col >= 0) & (col <= cols - 1)

    def on_data(self, x, y) -> np.ndarray:
        """True where (x, y) lies in the cell-centre hull on a cell that holds the DEM's data
        (:attr:`data_mask`), not on a cell filled where the DEM had none."""
        inside = self.contains(x, y)
        if self.data_mask is None or not inside.any():
            return inside
        row, col = self.rowcol(x, y)
        # the cell holding the point: the nearest cell centre (0 for points outside the hull)
        r = np.floor(np.where(inside, row, 0.0) + 0.5).astype(np.int64)
        c = np.floor(np.where(inside, col, 0.0) + 0.5).astype(np.int64)
        return inside & self.data_mask[r, c]

    def elevation_at(self, x, y) -> np.ndarray:
        """Bilinear ground elevation [m] (float64, broadcast shape of x and y).

        Raises InputError when any point lies outside the cell-centre hull (never clamps).
        """
        row, col = self.rowcol(x, y)
        row, col = np.broadcast_arrays(row, col)
        inside = (row >= 0) & (row <= self.shape[0] - 1) & (col >= 0) & (col <= self.shape[1] - 1)
        if not inside.all():
            n_out = int((~inside).sum())
            raise InputError(f"elevation_at: {n_out} of {inside.size} points lie outside the DEM's "
                             f"cell-centre area {self.bounds} (half a cell inside the raster "
                             f"edge); extend the DEM or drop those points")
        out = np.empty(row.size, dtype=np.float64)
        _bilinear_many_kernel(self.elevation_m, np.ascontiguousarray(row.ravel()),
                              np.ascontiguousarray(col.ravel()), out)
        return out.reshape(row.shape)

    def profile(self, x0, y0, x1, y1, *, step_m=None):
        """Ground profile from (x0, y0) to (x1, y1).

        Parameters
        ----------
        x0, y0, x1, y1 : float
            End points [m] in the terrain's CRS; both must lie inside the cell-centre hull.
        step_m : float, optional
            Largest spacing between samples [m]; default the cell size.

        Returns
        -------
        distance_m, elevation_m : numpy.ndarray
            ``ceil(L / step_m) + 1`` equally spaced samples (spacing ``<= step_m``) including both
            end points; distance from (x0, y0) [m] and bilinear elevation [m] (float64).
        """
        step = self.cell_size_m if step_m is None else float(step_m)
        if not (step > 0 and math.isfinite(step)):
            raise InputError(f"profile: step_m must be a positive number of metres, got {step_m!r}")
        ends = self.contains(np.array([x0, x1], float), np.array([y0, y1], float))
        if not ends.all():
            raise InputError(f"profile: {int((~ends).sum())} of 2 end points lie outside the DEM's "
                             f"cell-centre area {self.bounds}")
        length = math.hypot(float(x1) - float(x0), float(y1) - float(y0))
        n = 1 if length == 0 else int(math.ceil(length / step * (1 - 1e-12))) + 1
        (r0, r1), (c0, c1) = self.rowcol(np.array([x0, x1], float), np.array([y0, y1], float))
        elevation = np.empty(n, dtype=np.float64)
        sample_profile_kernel(self.elevation_m, float(r0), float(c0), float(r1), float(c1), n,
                              elevation)
        distance = np.linspace(0.0, length, n) if n > 1 else np.zeros(1)
        return distance, elevation


@dataclass(frozen=True)
class DemCells:
    """A DEM's own cells over an area, in the DEM's own CRS and grid, as its file holds them.

    A :class:`Terrain` is the DEM brought to square cells of the run's projected CRS, which for
    a DEM in another CRS (e.g. 3" SRTM tiles in longitude/latitude) is an interpolation of it;
    sampling these cells instead reads the DEM's own values.

    Parameters
    ----------
    elevation_m : numpy.ndarray
        float32 (rows x cols) elevation [m], row 0 = north, no nodata.
    transform : affine.Affine
        North-up pixel-corner-to-map transform in ``crs`` (cells of any shape, no rotation).
    crs : pyproj.CRS
        The DEM's CRS (geographic or projected).
    """

    elevation_m: np.ndarray
    transform: Affine
    crs: pyproj.CRS

    def __post_init__(self):
        z = self.elevation_m
        if not isinstance(z, np.ndarray) or z.ndim != 2 or not np.isfinite(z).all():
            raise InputError("DemCells.elevation_m must be a 2-D array of finite elevations")
        t = self.transform
        if t.b != 0 or t.d != 0 or t.e >= 0 or t.a <= 0:
            raise InputError(f"DemCells.transform must be north-up without rotation, "
                             f"got {tuple(t)[:6]}")

    def values_at(self, x, y) -> np.ndarray:
        """Elevation [m] of the cell holding each point (x, y) of the DEM's CRS (float32,
        broadcast shape of x and y). Raises InputError for a point outside the cells."""
        col_f, row_f = ~self.transform * (np.asarray(x, np.float64), np.asarray(y, np.float64))
        row, col = np.floor(row_f).astype(np.int64), np.floor(col_f).astype(np.int64)
        rows, cols = self.elevation_m.shape
        inside = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
        if not inside.all():
            raise InputError(f"DemCells.values_at: {int((~inside).sum())} of {inside.size} points "
                             f"lie outside the {rows} x {cols} cells read")
        return self.elevation_m[row, col]

"""Terrain grid, bilinear sampling, path profiles and viewsheds.

A :class:`Terrain` is a north-up float32 elevation grid with square cells in a projected CRS
[m]. Continuous pixel coordinates put the *centre* of cell ``(r, c)`` at ``(r, c)``; the terrain
surface is the bilinear interpolant of the cell-centre elevations, defined on the cell-centre hull
``0 <= row <= nrows - 1, 0 <= col <= ncols - 1``. Points outside raise
:class:`~siting.errors.InputError`: they are never clamped to the edge.

The numba kernels (``*_kernel``) are ``njit(cache=True, nogil=True)`` and allocation free so that
other modules (:mod:`siting.coverage`) can call them inside their own ``numba.prange`` loops.

Line of sight
-------------
Observer and target stand at cell centres, ``observer_height_m`` / ``target_height_m`` above the
ground. The sight line is blocked when a terrain sample *strictly* between the two ends rises
above the straight line from the observer's eye to the target; a sample exactly on the line does
not block. The reference test (:func:`exact_line_of_sight`) samples the bilinear terrain at every
crossing of the segment with a grid line (integer row or column), which is where the piecewise
bilinear surface changes patch. Earth curvature, when asked for with ``earth_radius_factor=k``,
subtracts ``d**2 / (2 k R)`` (R = 6 371 km) from heights relative to the observer; the kernels use
the algebraically identical bulge form: a sample at distance d on a path of length D is raised by
``d (D - d) / (2 k R)`` (k = 4/3 is the usual standard-atmosphere refraction value).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
import pyproj
from affine import Affine

from siting.errors import InputError

__all__ = [
    "EARTH_RADIUS_M",
    "Terrain",
    "bilinear_kernel",
    "sample_profile_kernel",
    "exact_line_of_sight_kernel",
    "exact_line_of_sight",
    "exact_line_of_sight_many",
    "viewshed",
]

EARTH_RADIUS_M = 6_371_000.0

#: Targets this close to the observer (in cells along the major axis) always get the exact test.
_EXACT_NEAR_CELLS = 6
#: Targets whose slope is within ``_MARGIN_FACTOR * mean |cell-to-cell gradient| / radius`` of
#: the two ray horizons take the exact test (see :func:`viewshed`).
_MARGIN_FACTOR = 0.2
#: Consecutive ray intervals handled by one parallel task.
_INTERVALS_PER_TASK = 16


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


@numba.njit(cache=True, nogil=True)
def _lerp_on_column(elevation, row_f, col):
    """Bilinear terrain on the integer column ``col`` (linear between rows), 0 <= row_f <= n-1."""
    nrows = elevation.shape[0]
    i = int(row_f)
    if i >= nrows - 1:
        if nrows == 1:
            return np.float64(elevation[0, col])
        i = nrows - 2
    a = np.float64(elevation[i, col])
    return a + (np.float64(elevation[i + 1, col]) - a) * (row_f - i)


@numba.njit(cache=True, nogil=True)
def _lerp_on_row(elevation, row, col_f):
    """Bilinear terrain on the integer row ``row`` (linear between columns)."""
    ncols = elevation.shape[1]
    i = int(col_f)
    if i >= ncols - 1:
        if ncols == 1:
            return np.float64(elevation[row, 0])
        i = ncols - 2
    a = np.float64(elevation[row, i])
    return a + (np.float64(elevation[row, i + 1]) - a) * (col_f - i)


@numba.njit(cache=True, nogil=True)
def exact_line_of_sight_kernel(elevation, cell_size_m, r0, c0, r1, c1, observer_height_m,
                               target_height_m, curvature_per_m2):
    """Exact LOS between the centres of cells (r0, c0) and (r1, c1) (integer indices).

    Samples the bilinear terrain at every crossing of the segment with an integer column or row
    strictly between the ends; blocked when ``ground + bulge > sight line`` at any of them.
    ``curvature_per_m2 = 1 / (2 k R)`` or 0 for a flat earth. The two ends are put in a canonical
    order first, so the answer is exactly symmetric when the heights are equal.
    """
    if r1 < r0 or (r1 == r0 and c1 < c0):
        r0, c0, r1, c1 = r1, c1, r0, c0
        observer_height_m, target_height_m = target_height_m, observer_height_m
    dr = r1 - r0
    dc = c1 - c0
    if dr == 0 and dc == 0:
        return True
    eye = np.float64(elevation[r0, c0]) + observer_height_m
    tip = np.float64(elevation[r1, c1]) + target_height_m
    bulge = (dr * dr + dc * dc) * cell_size_m * cell_size_m * curvature_per_m2
    rise = tip - eye
    adc = abs(dc)
    sc = 1 if dc > 0 else -1
    # vertical grid lines (integer columns)
    for i in range(1, adc):
        t = i / adc
        z = _lerp_on_column(elevation, r0 + dr * t, c0 + sc * i)
        if z + t * (1.0 - t) * bulge > eye + t * rise:
            return False
    # horizontal grid lines (integer rows); dr >= 0 after the canonical ordering
    for j in range(1, dr):
        t = j / dr
        z = _lerp_on_row(elevation, r0 + j, c0 + dc * t)
        if z + t * (1.0 - t) * bulge > eye + t * rise:
            return False
    return True


@numba.njit(parallel=True, cache=True, nogil=True)
def _exact_many_kernel(elevation, cell_size_m, r0, c0, rows, cols, observer_height_m,
                       target_height_m, curvature_per_m2, out):
    for i in numba.prange(rows.shape[0]):
        out[i] = exact_line_of_sight_kernel(elevation, cell_size_m, r0, c0, rows[i], cols[i],
                                            observer_height_m, target_height_m, curvature_per_m2)


@numba.njit(parallel=True, cache=True, nogil=True)
def _bilinear_many_kernel(elevation, row_f, col_f, out):
    for i in numba.prange(row_f.shape[0]):
        out[i] = bilinear_kernel(elevation, row_f[i], col_f[i])


# Radial sweep. Four sides: 0 east (+col), 1 west (-col), 2 south (+row), 3 north (-row). On a
# side, "major" counts cells away from the observer along the side's axis and "minor" across it.


@numba.njit(cache=True, nogil=True)
def _ray_horizon(elevation, side, r0, c0, p, radius, reach, cell_size_m, eye, curvature_per_m2,
                 inv_int, out_max):
    """Running maximum of the sight-line slope along the ray to perimeter offset ``p``.

    The ray leaves the observer towards ``(major = radius, minor = p)``, ``|p| <= radius``;
    ``out_max[k]`` (k = 1..radius) receives the largest slope ``(ground - d^2/(2kR) - eye) / d``
    over the samples with major coordinate strictly below k: every integer-major and every
    integer-minor crossing, i.e. the samples the exact test takes on a segment of this
    direction. ``inv_int[i] = 1 / i``. Steps whose samples would leave the grid, or that lie
    more than a cell beyond ``reach`` [cells] from the observer, hold +inf (cells that depend
    on them take the exact test).
    """
    nrows, ncols = elevation.shape
    q = p / radius
    scale = math.sqrt(1.0 + q * q)
    step_m = cell_size_m * scale
    # last integer major line whose sample stays inside the grid and the radius (+ a cell)
    if side == 0:
        k_end = ncols - 1 - c0
        low, high = r0, nrows - 1 - r0
    elif side == 1:
        k_end = c0
        low, high = r0, nrows - 1 - r0
    elif side == 2:
        k_end = nrows - 1 - r0
        low, high = c0, ncols - 1 - c0
    else:
        k_end = r0
        low, high = c0, ncols - 1 - c0
    if q > 0.0:
        k_end = min(k_end, int(math.floor(high / q)))
    elif q < 0.0:
        k_end = min(k_end, int(math.floor(low / -q)))
    k_end = min(k_end, radius - 1, int((reach + 1.0) / scale) + 1)
    along_rows = side <= 1
    sign = 1 if (side == 0 or side == 2) else -1
    abs_p = abs(p)
    step_minor = 1 if q > 0.0 else -1
    # next integer-minor crossing: minor m_next at major |m_next| * radius / |p|; a crossing
    # through a grid node (an integer major) is the same point as that major sample
    per_minor = radius / abs_p if abs_p > 0.0 else np.inf
    inv_step = 1.0 / step_m
    inv_cross = abs_p / (radius * step_m) if abs_p > 0.0 else 0.0
    m_next = step_minor
    m_abs = 1
    major_next = per_minor
    best = -np.inf
    out_max[0] = -np.inf
    for k in range(1, k_end + 2):
        # crossings of integer minor lines strictly before major k
        while major_next < k - 1e-9:
            d = major_next * step_m
            if along_rows:
                z = _lerp_on_row(elevation, r0 + m_next, c0 + sign * major_next)
            else:
                z = _lerp_on_column(elevation, r0 + sign * major_next, c0 + m_next)
            s = (z - eye) * inv_cross * inv_int[m_abs] - d * curvature_per_m2
            if s > best:
                best = s
            m_next += step_minor
            m_abs += 1
            major_next = m_abs * per_minor
        out_max[k] = best
        if k > k_end:
            break
        # the integer major line k
        d = k * step_m
        if along_rows:
            z = _lerp_on_column(elevation, r0 + q * k, c0 + sign * k)
        else:
            z = _lerp_on_row(elevation, r0 + sign * k, c0 + q * k)
        s = (z - eye) * inv_step * inv_int[k] - d * curvature_per_m2
        if s > best:
            best = s
    for k in range(k_end + 2, radius + 1):
        out_max[k] = np.inf


@numba.njit(parallel=True, cache=True, nogil=True)
def _viewshed_kernel(elevation, cell_size_m, r0, c0, observer_height_m, target_height_m,
                     radius, max_distance_m, curvature_per_m2, margin, exact_near, out):
    """Fill ``out`` (bool, elevation's shape, all False on entry). See :func:`viewshed`."""
    nrows, ncols = elevation.shape
    eye = np.float64(elevation[r0, c0]) + observer_height_m
    out[r0, c0] = True
    if radius < 1:
        return
    per_task = _INTERVALS_PER_TASK
    tasks_per_side = (2 * radius + per_task - 1) // per_task
    max_d2 = max_distance_m * max_distance_m
    reach = min(max_distance_m / cell_size_m, radius * 1.4143)
    cell2 = cell_size_m * cell_size_m
    inv_int = np.empty(radius + 2)
    inv_int[0] = np.inf
    for i in range(1, radius + 2):
        inv_int[i] = 1.0 / i
    for task in numba.prange(4 * tasks_per_side):
        side = task // tasks_per_side
        first = -radius + (task % tasks_per_side) * per_task
        last = min(first + per_task, radius)  # rays first..last bound intervals first..last-1
        horizon = np.empty((last - first + 1, radius + 1))
        for j in range(last - first + 1):
            _ray_horizon(elevation, side, r0, c0, np.float64(first + j), radius, reach, cell_size_m,
                         eye, curvature_per_m2, inv_int, horizon[j])
        for k in range(1, radius + 1):
            # cells with perimeter offset dr * radius / k in [first, last); the last interval
            # also takes offset == radius (the diagonal); diagonals belong to east / west
            lo = int(math.ceil(first * k / radius))
            if last == radius:
                hi = k - 1 if side >= 2 else k
            else:
                hi = int(math.ceil(last * k / radius)) - 1
            if first == -radius and side >= 2:
                lo = -k + 1
            for dr in range(lo, hi + 1):
                if side <= 1:
                    row = r0 + dr
                    col = c0 + k if side == 0 else c0 - k
                else:
                    row = r0 + k if side == 2 else r0 - k
                    col = c0 + dr
                if row < 0 or row >= nrows or col < 0 or col >= ncols:
                    continue
                d2 = (k * k + dr * dr) * cell2
                if d2 > max_d2:
                    continue
                if k <= exact_near:
                    out[row, col] = exact_line_of_sight_kernel(
                        elevation, cell_size_m, r0, c0, row, col, observer_height_m,
                        target_height_m, curvature_per_m2)
                    continue
                offset = dr * radius / k
                j = int(math.floor(offset)) - first
                if j > last - first - 1:
                    j = last - first - 1
                left = horizon[j, k]
                right = horizon[j + 1, k]
                d = math.sqrt(d2)
                tau = (np.float64(elevation[row, col]) + target_height_m - eye) / d \
                    - d * curvature_per_m2
                if left < right:
                    m_lo = left
                    m_hi = right
                else:
                    m_lo = right
                    m_hi = left
                if tau > m_hi + margin:
                    out[row, col] = True
                elif tau < m_lo - margin:
                    pass
                else:
                    out[row, col] = exact_line_of_sight_kernel(
                        elevation, cell_size_m, r0, c0, row, col, observer_height_m,
                        target_height_m, curvature_per_m2)


@numba.njit(cache=True, nogil=True)
def _window_stats(elevation, row_start, row_stop, col_start, col_stop):
    """(all finite, mean |difference| between horizontal neighbours [m]) over a window."""
    total = 0.0
    count = 0
    finite = True
    for r in range(row_start, row_stop):
        previous = np.float64(elevation[r, col_start])
        if not np.isfinite(previous):
            finite = False
        for c in range(col_start + 1, col_stop):
            z = np.float64(elevation[r, c])
            if not np.isfinite(z):
                finite = False
            total += abs(z - previous)
            count += 1
            previous = z
    return finite, (total / count if count > 0 else 0.0)


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
    """

    elevation_m: np.ndarray
    transform: Affine
    crs: pyproj.CRS | None = None

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


# ---------------------------------------------------------------------------------------------
# viewshed and exact line of sight


def _curvature_per_m2(earth_radius_factor) -> float:
    if earth_radius_factor is None:
        return 0.0
    k = float(earth_radius_factor)
    if not (k > 0 and math.isfinite(k)):
        raise InputError(f"earth_radius_factor must be a positive number (4/3 is the standard "
                         f"atmosphere), got {earth_radius_factor!r}")
    return 1.0 / (2.0 * k * EARTH_RADIUS_M)


def _check_dem(dem, cell_size_m) -> tuple[np.ndarray, float]:
    dem = np.asarray(dem)
    if dem.ndim != 2 or dem.shape[0] < 1 or dem.shape[1] < 1:
        raise InputError(f"dem must be a non-empty 2-D array, got shape {dem.shape}")
    if not np.issubdtype(dem.dtype, np.number):
        raise InputError(f"dem must be numeric, got dtype {dem.dtype}")
    cell = float(cell_size_m)
    if not (cell > 0 and math.isfinite(cell)):
        raise InputError(f"cell_size_m must be a positive number of metres, got {cell_size_m!r}")
    return np.ascontiguousarray(dem, dtype=np.float32), cell


def _check_cell(rc, shape, what: str) -> tuple[int, int]:
    try:
        r, c = rc
        rf, cf = float(r), float(c)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a (row, col) pair of integers, got {rc!r}") from None
    if not (rf.is_integer() and cf.is_integer()):
        raise InputError(f"{what} must be integer cell indices (cell centres), got {rc!r}")
    r, c = int(rf), int(cf)
    if not (0 <= r < shape[0] and 0 <= c < shape[1]):
        raise InputError(f"{what} {rc!r} lies outside the DEM of {shape[0]} x {shape[1]} cells")
    return r, c


def _check_height(value, name: str) -> float:
    h = float(value)
    if not math.isfinite(h):
        raise InputError(f"{name} must be a finite number of metres, got {value!r}")
    return h


def exact_line_of_sight(dem, cell_size_m, observer_rc, target_rc, observer_height_m,
                        target_height_m, earth_radius_factor=None) -> bool:
    """Reference line-of-sight test between two cell centres.

    Walks the straight segment and samples the bilinear terrain at every crossing of an integer
    row or column strictly between the ends (the exact piecewise-bilinear sight line at the grid
    lines); blocked when a sample rises strictly above the line from the observer's eye to the
    target. Symmetric: swapping observer and target (and their heights) gives the same answer.

    Parameters
    ----------
    dem : array_like
        2-D elevation [m].
    cell_size_m : float
        Cell side [m].
    observer_rc, target_rc : (int, int)
        Cell indices (row, col).
    observer_height_m, target_height_m : float
        Heights above ground [m].
    earth_radius_factor : float, optional
        Effective earth-radius factor k (4/3 standard); None for a flat earth.
    """
    dem, cell = _check_dem(dem, cell_size_m)
    r0, c0 = _check_cell(observer_rc, dem.shape, "observer_rc")
    r1, c1 = _check_cell(target_rc, dem.shape, "target_rc")
    return bool(exact_line_of_sight_kernel(
        dem, cell, r0, c0, r1, c1, _check_height(observer_height_m, "observer_height_m"),
        _check_height(target_height_m, "target_height_m"), _curvature_per_m2(earth_radius_factor)))


def exact_line_of_sight_many(dem, cell_size_m, observer_rc, targets_rc, observer_height_m,
                             target_height_m, earth_radius_factor=None) -> np.ndarray:
    """:func:`exact_line_of_sight` from one observer to many targets (``targets_rc``: n x 2 ints),
    in parallel; returns a bool array of length n."""
    dem, cell = _check_dem(dem, cell_size_m)
    r0, c0 = _check_cell(observer_rc, dem.shape, "observer_rc")
    targets = np.asarray(targets_rc)
    if targets.ndim != 2 or targets.shape[1] != 2 or not np.issubdtype(targets.dtype, np.integer):
        raise InputError(f"targets_rc must be an (n, 2) integer array, got {targets.shape} "
                         f"{targets.dtype}")
    rows = np.ascontiguousarray(targets[:, 0], dtype=np.int64)
    cols = np.ascontiguousarray(targets[:, 1], dtype=np.int64)
    outside = (rows < 0) | (rows >= dem.shape[0]) | (cols < 0) | (cols >= dem.shape[1])
    if outside.any():
        raise InputError(f"{int(outside.sum())} of {len(rows)} targets lie outside the DEM of "
                         f"{dem.shape[0]} x {dem.shape[1]} cells")
    out = np.empty(len(rows), dtype=np.bool_)
    _exact_many_kernel(dem, cell, r0, c0, rows, cols,
                       _check_height(observer_height_m, "observer_height_m"),
                       _check_height(target_height_m, "target_height_m"),
                       _curvature_per_m2(earth_radius_factor), out)
    return out


def viewshed(dem, cell_size_m, observer_rc, observer_height_m, target_height_m,
             max_distance_m=None, *, earth_radius_factor=None) -> np.ndarray:
    """Cells visible from an observer, with terrain sampled bilinearly along every sight line.

    Parameters
    ----------
    dem : array_like
        2-D elevation [m] (rows x cols, nodata filled), square cells.
    cell_size_m : float
        Cell side [m].
    observer_rc : (int, int)
        Observer cell (row, col); observer and targets stand at cell centres.
    observer_height_m : float
        Observer's eye above ground [m] (antenna height).
    target_height_m : float
        Target above ground [m] (e.g. 1.5 m for a handset).
    max_distance_m : float, optional
        Cells whose centre is farther than this [m] are False. Default: the whole DEM.
    earth_radius_factor : float, optional
        Effective earth-radius factor k; when given, ``d**2 / (2 k R)`` (R = 6 371 km) is
        subtracted from heights relative to the observer. Default: flat earth.

    Returns
    -------
    numpy.ndarray
        bool, dem's shape: True where the target is visible (the observer's own cell is True).

    Notes
    -----
    Algorithm: a radial sweep in the style of Franklin & Ray's R2 [1]_, made exact where it
    matters. Rays are cast from the observer to every cell of the perimeter of the square of half
    size ``radius = floor(max_distance / cell)`` (8 x radius rays). Each ray samples the bilinear
    terrain at all its grid-line crossings (the samples the exact test takes) and keeps the
    running maximum of the sight-line slope per major-axis step. A target cell at step k lies
    between two adjacent rays, so its own sight line is bracketed by theirs: when its target
    slope is above both ray horizons by more than a margin it is taken as visible, below both by
    more than the margin as hidden. Otherwise (target near the horizon), and for every cell
    within six cells of the observer or next to a ray that leaves the grid, the exact
    grid-line-crossing test (:func:`exact_line_of_sight`) decides. The bracket is not a proof
    (terrain between two rays can differ from both); the margin,
    ``0.2 * mean |cell-to-cell gradient| / radius`` in slope, follows the lateral spacing of
    neighbouring rays (``k / radius`` cells at step k). Measured agreement with the exact test:
    99.98-100 % of all cells on rugged fractal and real DEMs, with about 0.5-5 % of the cells
    taking the exact test. Work: O(radius^2) for the rays plus the exact tests, in parallel
    over blocks of rays; deterministic (each cell is written by exactly one task). For scale:
    about 20-70 ms for a 15 km radius on a 30 m DEM (~700 000 cells) on one busy core, 3x
    slower than GDAL's ``gdal_viewshed`` (Wang et al. 2000 reference planes), which agrees with
    the exact test on only 99.4-99.98 % of the cells.

    References
    ----------
    .. [1] W. R. Franklin and C. Ray, "Higher isn't necessarily better: visibility algorithms
       and experiments", 6th Int. Symp. on Spatial Data Handling, Edinburgh, 1994, pp. 751-770.
    """
    dem, cell = _check_dem(dem, cell_size_m)
    r0, c0 = _check_cell(observer_rc, dem.shape, "observer_rc")
    h_o = _check_height(observer_height_m, "observer_height_m")
    h_t = _check_height(target_height_m, "target_height_m")
    curvature = _curvature_per_m2(earth_radius_factor)
    nrows, ncols = dem.shape
    edge_radius = max(r0, nrows - 1 - r0, c0, ncols - 1 - c0)
    if max_distance_m is None:
        radius = edge_radius
        max_d = math.inf
    else:
        max_d = float(max_distance_m)
        if not (max_d > 0) or math.isnan(max_d):
            raise InputError(f"max_distance_m must be a positive number of metres or None, "
                             f"got {max_distance_m!r}")
        radius = min(edge_radius, int(math.floor(max_d / cell)) if math.isfinite(max_d)
                     else edge_radius)
    finite, mean_gradient = _window_stats(dem, max(r0 - radius, 0), min(r0 + radius + 1, nrows),
                                          max(c0 - radius, 0), min(c0 + radius + 1, ncols))
    if not finite:
        raise InputError("dem holds NaN or infinite elevations within reach of the observer; "
                         "fill nodata before computing a viewshed")
    margin = _MARGIN_FACTOR * mean_gradient / cell / max(radius, 1) + 1e-9
    out = np.zeros(dem.shape, dtype=np.bool_)
    _viewshed_kernel(dem, cell, r0, c0, h_o, h_t, radius, max_d, curvature, margin,
                     _EXACT_NEAR_CELLS, out)
    return out

"""Visibility on a DEM: the exact line of sight between two cell centres, and the viewshed.

The DEM is a 2-D elevation array [m] with square cells; the terrain surface is the bilinear
interpolant of the cell-centre elevations, as in :mod:`siting.terrain` (which re-exports the
public functions of this module). The numba kernels are ``njit(cache=True, nogil=True)``.

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

Viewshed: a radial sweep made exact where it matters
----------------------------------------------------
In the style of Franklin & Ray's R2 [1]_. Rays are cast from the observer to every third cell of
the perimeter of the square of half size ``radius = floor(max_distance / cell)`` (about
8/3 x radius rays, the slope of neighbouring rays differing by ``1 / n`` with
``n = ceil(radius / 3)``). Each ray samples the bilinear terrain at all its grid-line crossings
(the samples the exact test takes) and keeps the running maximum of the sight-line slope per
major-axis step k. A target cell at step k lies between two neighbouring rays, so its own sight
line is bracketed by theirs: when its target slope is above both ray horizons by more than a
margin it is visible, below both by more than the margin hidden (one comparison per cell,
without a square root). The margin, ``0.25 * mean |cell-to-cell gradient| / cell / n`` in
slope, follows the lateral spacing of neighbouring rays (``k / n`` cells at step k). The other
cells (near the horizon: a minority, most on slopes facing the observer and at shadow edges)
walk their own sight line: a galloping search finds the last step i* up to which the target
clears both rays' horizons by the margin, and the cell's exact samples from i* to the target
decide (hidden at the first one above the sight line). Slope ties (within 1e-9) and the cells
within six cells of the observer take the exact grid-line-crossing test. The bracket is a
heuristic, not a proof (terrain between two rays can differ from both), which is why the tests
hold it to the exact test on rugged and real DEMs; ``benchmarks/viewshed_vs_gdal.py`` measures
its agreement and speed against GDAL.

Work is O(radius^2): about one ray sample and one comparison per cell, plus the walks. It is
split into tasks of 16 neighbouring ray intervals of one side that the calling thread and
``numba.get_num_threads() - 1`` helper threads take from a shared atomic counter; each cell is
written by exactly one task, so the result does not depend on the thread count.

References
----------
.. [1] W. R. Franklin and C. Ray, "Higher isn't necessarily better: visibility algorithms
   and experiments", 6th Int. Symp. on Spatial Data Handling, Edinburgh, 1994, pp. 751-770.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time

import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from siting.errors import InputError
from siting.propagation import curvature_per_m

__all__ = [
    "exact_line_of_sight_kernel",
    "exact_line_of_sight",
    "exact_line_of_sight_many",
    "viewshed",
]


#: Cells within this many cells (Chebyshev distance) of the observer take the exact test.
_EXACT_NEAR_CELLS = 6
#: Perimeter cells between neighbouring rays of the radial sweep.
_RAY_SPACING_CELLS = 3
#: Half-width of the undecided band around the two ray horizons, in units of
#: ``mean |cell-to-cell gradient| / cell / rays per half side`` (a slope; see the module doc).
_MARGIN_FACTOR = 0.25
#: Neighbouring ray intervals handled by one parallel task.
_INTERVALS_PER_TASK = 16
#: Slopes [m/m] closer than this to the target's are ties, which the exact test decides.
_SLOPE_TIE = 1e-9


# ---------------------------------------------------------------------------------------------
# exact line of sight


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
    """:func:`exact_line_of_sight_kernel` from one observer to every target, in parallel."""
    for i in numba.prange(rows.shape[0]):
        out[i] = exact_line_of_sight_kernel(elevation, cell_size_m, r0, c0, rows[i], cols[i],
                                            observer_height_m, target_height_m, curvature_per_m2)


# ---------------------------------------------------------------------------------------------
# radial sweep

# Four sides: 0 east (+col), 1 west (-col), 2 south (+row), 3 north (-row). On a
# side, "major" counts cells away from the observer along the side's axis and "minor" across it;
# the kernels address the row-major DEM through flat indices: cell (major k, minor m) of a side is
# ``o + k * major_step + m * minor_step`` with ``o`` the observer's flat index.


@intrinsic
def _fetch_add(typingctx, counters, index, value):
    """Atomically add ``value`` to ``counters[index]`` (int64 array) and return the old value
    (sequentially consistent: a thread that reads a count also sees the writes made before it
    was incremented)."""
    if not (isinstance(counters, types.Array) and counters.dtype == types.int64):
        return None
    signature = types.int64(counters, types.intp, types.int64)

    def codegen(context, builder, sig, args):
        array, position, increment = args
        array_type = sig.args[0]
        pointer = cgutils.get_item_pointer(
            context, builder, array_type, context.make_array(array_type)(context, builder, array),
            [position])
        return builder.atomic_rmw("add", pointer, increment, "seq_cst")

    return signature, codegen


@numba.njit(cache=True, nogil=True)
def _side_axes(side, r0, c0, nrows, ncols):
    """(major step, minor step, major extent, -minor extent, +minor extent) of one side.

    Steps are in flat indices; the extents count cells from the observer to the DEM's edge.
    """
    if side == 0:
        return 1, ncols, ncols - 1 - c0, r0, nrows - 1 - r0
    if side == 1:
        return -1, ncols, c0, r0, nrows - 1 - r0
    if side == 2:
        return ncols, 1, nrows - 1 - r0, c0, ncols - 1 - c0
    return -ncols, 1, r0, c0, ncols - 1 - c0


@numba.njit(cache=True, nogil=True, inline="always")
def _lerp_flat(flat, base, step, pos, top):
    """Terrain [m] at ``pos`` cells along a grid line: ``flat[base + i * step]`` holds the cell
    at i, linear in between; ``top`` is the last valid i (``pos <= top``).

    Flat indices are never negative; indexing with unsigned integers spares numba's
    negative-index wraparound in this innermost step of the sweep.
    """
    a = int(math.floor(pos))
    b = min(a + 1, top)
    za = np.float64(flat[np.uint64(base + a * step)])
    return za + (np.float64(flat[np.uint64(base + b * step)]) - za) * (pos - a)


@numba.njit(cache=True, nogil=True)
def _ray_end(axes, q, radius, reach):
    """Last major step [cells] at which the ray of slope ``q`` (minor per major) is sampled: its
    sample stays on the DEM and within ``reach`` [cells] (+ a cell) of the observer."""
    _, _, major_extent, minus_extent, plus_extent = axes
    k_end = min(major_extent, radius - 1, int((reach + 1.0) / math.sqrt(1.0 + q * q)) + 1)
    if q > 0.0:
        k_end = min(k_end, int(math.floor(plus_extent / q)))
    elif q < 0.0:
        k_end = min(k_end, int(math.floor(minus_extent / -q)))
    return k_end


@numba.njit(cache=True, nogil=True)
def _ray_horizon(flat, o, axes, q, k_end, step_m, eye, curvature_per_m2, inv_int, out_max):
    """Running maximum of the sight-line slope along the ray of slope ``q`` (|q| <= 1).

    The ray leaves the observer (flat index ``o``) with ``q`` minor cells per major cell;
    ``step_m`` = cell * sqrt(1 + q^2) is its length per major step [m]. ``out_max[k]``
    (k = 1 .. len - 1) receives the largest slope ``(ground - eye) / d - d * curvature_per_m2``
    [m/m] over the samples with major coordinate strictly below k: every integer-major and every
    integer-minor crossing up to major ``k_end``, i.e. the samples the exact test takes on a
    segment of this direction (a minor crossing through a grid node is the same point as the
    major sample there). Steps past the ray's end hold +inf (undecided). ``inv_int[i] = 1 / i``.
    """
    major_step, minor_step, major_extent, _, plus_extent = axes
    top = min(k_end + 1, major_extent, out_max.shape[0] - 1)
    aq = abs(q)
    per_cross = 1.0 / aq if aq > 0.0 else np.inf  # major distance between minor crossings
    cross_step = minor_step if q > 0.0 else -minor_step
    inv_cross = aq / step_m
    inv_step = 1.0 / step_m
    bulge_step = step_m * curvature_per_m2
    n = 1  # next minor crossing, at major n * per_cross; at most one per major step
    x = per_cross
    best = -np.inf
    out_max[0] = best
    for k in range(1, top + 1):
        if x < k - 1e-9:
            z = _lerp_flat(flat, o + n * cross_step, major_step, x, major_extent)
            best = max(best, (z - eye) * (inv_cross * inv_int[n]) - x * step_m * curvature_per_m2)
            n += 1
            x = n * per_cross
        out_max[k] = best
        if k <= k_end:
            z = _lerp_flat(flat, o + k * major_step, minor_step, q * k, plus_extent)
            best = max(best, (z - eye) * (inv_step * inv_int[k]) - k * bulge_step)
    out_max[top + 1:] = np.inf


@numba.njit(cache=True, nogil=True)
def _bracket_thresholds(horizon, j, top, margin, clear_sq, shade_sq):
    """Thresholds of the ray bracket of interval j (rays j and j + 1) for the major steps
    k <= top, at flat index ``j * horizon.shape[1] + k``: the signed squares ``s |s|`` of
    ``s = max(horizon[j, k], horizon[j + 1, k]) + margin`` (``clear_sq``) and of
    ``s = min(...) - margin`` (``shade_sq``).

    A target at distance d [m] with ``a = tau d`` (tau its sight-line slope) clears both rays
    by the margin when ``tau > s``, i.e. ``a |a| > clear_sq d^2``, and lies below both by the
    margin when ``a |a| < shade_sq d^2``: signed squares compare slopes without a square root.
    One vectorised pass per interval, right after its second ray (both still in the L1
    cache), so that the per-cell test and the walks' search each load a single threshold.
    """
    base = j * horizon.shape[1]
    for k in range(top + 1):
        left = horizon[j, k]
        right = horizon[j + 1, k]
        clear = max(left, right) + margin
        shade = min(left, right) - margin
        clear_sq[base + k] = clear * abs(clear)
        shade_sq[base + k] = shade * abs(shade)


@numba.njit(cache=True, nogil=True, inline="always")
def _clear_prefix(clear_sq, base, k, a_sq, d2):
    """Largest i < k where the target clears both ray horizons by the margin:
    ``a_sq > clear_sq[base + i] * d2`` (0 if only i = 0 does); see :func:`_bracket_thresholds`.

    The horizons are running maxima (nondecreasing in i), so the i that qualify form a prefix;
    a galloping search from k - 1 down finds its end in O(log(k - i)) probes.
    """
    gap = 1
    high = k
    while True:
        i = k - gap
        if i <= 0:
            i = 0
            break
        if a_sq > clear_sq[np.uint64(base + i)] * d2:
            break
        high = i
        gap *= 2
    while high - i > 1:  # invariant: i qualifies, high does not
        mid = (i + high) // 2
        if a_sq > clear_sq[np.uint64(base + mid)] * d2:
            i = mid
        else:
            high = mid
    return i


@numba.njit(cache=True, nogil=True, inline="always")
def _line_max_rise(flat, o, line_step, along_step, pos_per_i, top, first, stop, eye, scale, bulge,
                   inv_int, blocked):
    """Largest ``(z - eye) * scale / i - i * bulge`` over the samples i = first .. stop - 1 of
    one family of grid lines of a sight line, stopping early once it exceeds ``blocked``.

    Sample i lies on the grid line at flat index ``o + i * line_step``, ``i * pos_per_i`` cells
    along it (flat step ``along_step``, last cell ``top``) and has terrain z [m]. With
    ``scale`` = samples per target distance and ``bulge`` = d^2 curvature / scale this is the
    sample's sight-line slope times the target distance d [m], comparable with ``a = tau d``.
    """
    best = -np.inf
    for i in range(first, stop):
        z = _lerp_flat(flat, o + i * line_step, along_step, i * pos_per_i, top)
        best = max(best, (z - eye) * (scale * inv_int[i]) - i * bulge)
        if best > blocked:
            break
    return best


@numba.njit(cache=True, nogil=True, inline="always")
def _walk_decision(flat, o, axes, k, m, clear_sq, base, eye, a, d2, curvature_per_m2, tie,
                   inv_int):
    """Decide the cell (major k, minor m) from its own sight line: 1 visible, 0 hidden, -1 tie.

    ``clear_sq[base + i]`` are the clearance thresholds of the two rays around the cell (see
    :func:`_bracket_thresholds`); ``a = tau d`` [m] with ``tau`` its target slope and
    ``d = sqrt(d2)`` its distance [m]. The rays' horizons at major i bracket the line's own
    prefix (its samples before major i); i* is the largest i where the target clears both by
    more than the margin. The cell is hidden when one of its own samples from i* on rises above
    the sight line (tested from i* upwards, where a shadowing ridge is expected, with an early
    exit), else visible. These are the exact test's grid-line crossings: integer majors
    i* .. k - 1 and the integer-minor crossings beyond major i*. Differences within ``tie``
    [m] are left to the exact test (-1).
    """
    major_step, minor_step, major_extent, _, plus_extent = axes
    start = max(_clear_prefix(clear_sq, base, k, a * abs(a), d2), 1)
    blocked = a + tie
    own = _line_max_rise(flat, o, major_step, minor_step, m * inv_int[k], plus_extent, start, k,
                         eye, k, d2 * curvature_per_m2 * inv_int[k], inv_int, blocked)
    am = abs(m)
    if am >= 2 and own <= blocked:
        # minor crossing n lies at major n k / am; the first at or after `start` is
        # ceil(start am / k), exact in floating point as for the task bounds
        own = max(own, _line_max_rise(
            flat, o, minor_step if m > 0 else -minor_step, major_step, k * inv_int[am],
            major_extent, int(math.ceil(start * am * inv_int[k] - 1e-9)), am, eye, am,
            d2 * curvature_per_m2 * inv_int[am], inv_int, blocked))
    if own > blocked:
        return 0
    return 1 if own < a - tie else -1


@numba.njit(cache=True, nogil=True, inline="always")
def _resolve_undecided(elevation, flat, o, axes, k, m, clear_sq, base, eye, a, d2,
                       observer_height_m, target_height_m, cell_size_m, curvature_per_m2, inv_int):
    """Visibility of a cell the ray bracket left undecided: :func:`_walk_decision`, and the
    exact test on a tie. ``a = tau d`` [m] and ``d2 = d^2`` [m^2] for the cell's distance d."""
    tie = _SLOPE_TIE * cell_size_m * (k + abs(m))  # >= _SLOPE_TIE * d
    decided = _walk_decision(flat, o, axes, k, m, clear_sq, base, eye, a, d2, curvature_per_m2,
                             tie, inv_int)
    if decided >= 0:
        return decided == 1
    ncols = elevation.shape[1]
    index = o + k * axes[0] + m * axes[1]
    return exact_line_of_sight_kernel(elevation, cell_size_m, o // ncols, o % ncols,
                                      index // ncols, index % ncols, observer_height_m,
                                      target_height_m, curvature_per_m2)


@numba.njit(cache=True, nogil=True)
def _exact_near(elevation, cell_size_m, r0, c0, observer_height_m, target_height_m, near,
                max_d2, curvature_per_m2, out):
    """Exact test for the cells within ``near`` cells (Chebyshev) of the observer."""
    nrows, ncols = elevation.shape
    cell2 = cell_size_m * cell_size_m
    for r in range(max(r0 - near, 0), min(r0 + near + 1, nrows)):
        for c in range(max(c0 - near, 0), min(c0 + near + 1, ncols)):
            if ((r - r0) ** 2 + (c - c0) ** 2) * cell2 <= max_d2:
                out[r, c] = exact_line_of_sight_kernel(
                    elevation, cell_size_m, r0, c0, r, c, observer_height_m, target_height_m,
                    curvature_per_m2)


@numba.njit(cache=True, nogil=True)
def _disc_half_widths(radius, cell_size_m, max_d2):
    """``w[k]`` = largest |m| with ``(k^2 + m^2) cell^2 <= max_d2`` (k = 0 .. radius; -1 if
    none): the half-width [cells] of the maximum-distance disc on ring k."""
    cell2 = cell_size_m * cell_size_m
    widths = np.empty(radius + 1, np.int64)
    for k in range(radius + 1):
        w = radius if max_d2 == np.inf else int(math.sqrt(max(max_d2 / cell2 - k * k, 0.0))) + 1
        while w >= 0 and (k * k + w * w) * cell2 > max_d2:
            w -= 1
        widths[k] = w
    return widths


@numba.njit(cache=True, nogil=True, _nrt=False)
def _sweep_task(elevation, flat, cell_size_m, r0, c0, observer_height_m, target_height_m, side,
                first, last, first_ray_done, n_half, radius, reach, disc, curvature_per_m2,
                margin, inv_int, horizon, clear_sq, shade_sq, out_flat, pending):
    """Decide the cells between rays ``first`` .. ``last`` (perimeter offsets, |p| <= n_half)
    of one side, rings ``_EXACT_NEAR_CELLS < k <= radius``; see :func:`viewshed`.

    ``flat`` / ``out_flat`` are flat views of ``elevation`` / the output. Scratch:
    ``horizon`` (at least (last - first + 1, radius + 1); row 0 already holds ray ``first``
    when ``first_ray_done``), ``clear_sq`` / ``shade_sq`` (see :func:`_bracket_thresholds`) and
    ``pending`` (int64, at least 4 radius + 6). ``disc[k]`` bounds |m| to the cells within the
    maximum distance. Every cell is written by exactly one task: the one whose rays bracket its
    offset ``m * n_half / k`` in [first, last) (the diagonal m = k goes to the last interval of
    the east and west sides).

    Per ring, a branch-free pass decides the cells clearly above or below both ray horizons
    (by more than ``margin``) and lists the others, which :func:`_resolve_undecided` then
    walks: the branch to a walk mispredicts, and a call inside the pass would keep its
    loop-invariant values in memory. Compiled without numba's reference counting
    (``_nrt=False``; numba issue #2350): the inlined walks take arrays, and each of their
    entries and exits otherwise paid atomic increments and decrements of the arrays' counts,
    which the sweep threads share. It allocates nothing.
    """
    nrows, ncols = elevation.shape
    o = r0 * ncols + c0
    eye = np.float64(elevation[r0, c0]) + observer_height_m
    axes = _side_axes(side, r0, c0, nrows, ncols)
    major_step, minor_step, major_extent, minus_extent, plus_extent = axes
    k_top = min(major_extent, radius)
    for j in range(1 if first_ray_done else 0, last - first + 1):
        q = (first + j) / n_half
        _ray_horizon(flat, o, axes, q, _ray_end(axes, q, radius, reach),
                     cell_size_m * math.sqrt(1.0 + q * q), eye, curvature_per_m2, inv_int,
                     horizon[j])
        if j > 0:
            _bracket_thresholds(horizon, j - 1, k_top, margin, clear_sq, shade_sq)
    diagonal = 1 if side <= 1 else 0
    row_length = horizon.shape[1]
    lift = target_height_m - eye
    cell2 = cell_size_m * cell_size_m
    inv_n = 1.0 / n_half
    for k in range(_EXACT_NEAR_CELLS + 1, k_top + 1):
        # ceil(p k / n_half) is exact: a non-integer quotient is >= 1 / n_half from integers
        m_first = max(-minus_extent, -disc[k], -k + 1 - diagonal,
                      int(math.ceil(first * k * inv_n - 1e-9)))
        m_last = k if last == n_half else int(math.ceil(last * k * inv_n - 1e-9)) - 1
        m_last = min(plus_extent, disc[k], k - 1 + diagonal, m_last)
        per_cell = n_half / k
        offset = m_first * per_cell - first + 1e-9  # ray-interval coordinate of the cell
        n_pending = 0  # undecided cells, as (m, j) pairs
        for m in range(m_first, m_last + 1):
            j = min(int(offset), last - first - 1)
            offset += per_cell
            index = np.uint64(o + k * major_step + m * minor_step)
            d2 = (k * k + m * m) * cell2
            a = np.float64(flat[index]) + lift - d2 * curvature_per_m2  # tau * d
            a_sq = a * abs(a)
            visible = a_sq > clear_sq[np.uint64(j * row_length + k)] * d2
            hidden = a_sq < shade_sq[np.uint64(j * row_length + k)] * d2
            out_flat[index] = visible
            pending[n_pending] = m
            pending[n_pending + 1] = j
            n_pending += 0 if visible or hidden else 2
        for p in range(0, n_pending, 2):
            m = pending[p]
            index = np.uint64(o + k * major_step + m * minor_step)
            d2 = (k * k + m * m) * cell2
            a = np.float64(flat[index]) + lift - d2 * curvature_per_m2
            out_flat[index] = _resolve_undecided(
                elevation, flat, o, axes, k, m, clear_sq, pending[p + 1] * row_length, eye, a,
                d2, observer_height_m, target_height_m, cell_size_m, curvature_per_m2, inv_int)


@numba.njit(cache=True, nogil=True)
def _sweep_setup(elevation, cell_size_m, r0, c0, observer_height_m, target_height_m, radius,
                 max_distance_m, curvature_per_m2, out):
    """Exact test near the observer; returns the sweep's tables (``disc`` half-widths of the
    maximum-distance disc per ring, ``inv_int[i] = 1 / i``)."""
    max_d2 = max_distance_m * max_distance_m
    _exact_near(elevation, cell_size_m, r0, c0, observer_height_m, target_height_m,
                _EXACT_NEAR_CELLS, max_d2, curvature_per_m2, out)
    inv_int = np.empty(radius + 2)
    inv_int[0] = np.inf
    for i in range(1, radius + 2):
        inv_int[i] = 1.0 / i
    return _disc_half_widths(radius, cell_size_m, max_d2), inv_int


@numba.njit(cache=True, nogil=True)
def _sweep_worker(elevation, cell_size_m, r0, c0, observer_height_m, target_height_m, radius,
                  n_half, max_distance_m, curvature_per_m2, margin, disc, inv_int, counters, out):
    """Run sweep tasks until none is left; safe to run in several threads at once.

    A task is a side and ``_INTERVALS_PER_TASK`` neighbouring ray intervals (see
    :func:`_sweep_task`); each cell belongs to one task, so the result does not depend on which
    thread ran which. ``counters[0]`` hands out task numbers, ``counters[1]`` counts finished
    tasks (both atomic, int64). A task that follows this thread's previous one on the same
    side reuses its last ray (the two share it) instead of casting it again.
    """
    reach = min(max_distance_m / cell_size_m, radius * 1.4143)
    per_task = _INTERVALS_PER_TASK
    tasks_per_side = (2 * n_half + per_task - 1) // per_task
    horizon = np.empty((per_task + 1, radius + 1))
    clear_sq = np.empty(per_task * (radius + 1))
    shade_sq = np.empty(per_task * (radius + 1))
    flat = elevation.ravel()
    out_flat = out.ravel()
    pending = np.empty(2 * (2 * radius + 3), np.int64)
    previous = -1  # this thread's previous task; its last ray is the next task's first
    task = _fetch_add(counters, 0, 1)
    while task < 4 * tasks_per_side:
        side = task // tasks_per_side
        first = -n_half + (task % tasks_per_side) * per_task
        last = min(first + per_task, n_half)
        first_ray_done = task == previous + 1 and task % tasks_per_side != 0
        if first_ray_done:
            horizon[0] = horizon[per_task]  # the previous task had a full set of intervals
        _sweep_task(elevation, flat, cell_size_m, r0, c0, observer_height_m, target_height_m, side,
                    first, last, first_ray_done, n_half, radius, reach, disc,
                    curvature_per_m2, margin, inv_int, horizon, clear_sq, shade_sq, out_flat,
                    pending)
        _fetch_add(counters, 1, 1)
        previous = task
        task = _fetch_add(counters, 0, 1)


@numba.njit(cache=True, nogil=True)
def _tasks_finished(counters):
    """Atomic read of ``counters[1]`` (finished sweep tasks)."""
    return _fetch_add(counters, 1, 0)


class _SweepHelpers:
    """Daemon threads that join the caller's sweep (:func:`_sweep_worker` releases the GIL),
    used instead of a ``numba.prange``.

    A numba parallel region ends at a barrier that waits for every thread of the pool, and on a
    loaded machine waking a pool thread can take longer than a whole viewshed. Here the calling
    thread runs tasks itself and only waits for the tasks a helper has actually taken; a helper
    that wakes up late finds none left. Threads are started on first use and again in a forked
    child, where the parent's threads do not exist.
    """

    def __init__(self):
        self._reset()

    def _reset(self):
        self._pid = os.getpid()
        self._jobs = queue.SimpleQueue()
        self._threads = 0
        self._lock = threading.Lock()

    def run(self, n_helpers, n_tasks, job):
        """Run ``_sweep_worker(*job)`` in this thread and offer it to ``n_helpers`` helper
        threads; return once its ``n_tasks`` tasks are finished (``job[-2]`` holds the task
        counters)."""
        if self._pid != os.getpid():  # forked: the parent's threads did not come along
            self._reset()
        with self._lock:
            for _ in range(self._threads, n_helpers):
                threading.Thread(target=self._serve, name="siting-viewshed", daemon=True).start()
                self._threads += 1
        for _ in range(n_helpers):
            self._jobs.put(job)
        _sweep_worker(*job)
        while _tasks_finished(job[-2]) < n_tasks:
            time.sleep(1e-5)

    def _serve(self):
        while True:
            _sweep_worker(*self._jobs.get())


_SWEEP_HELPERS = _SweepHelpers()


def _viewshed_sweep(dem, cell, r0, c0, h_o, h_t, radius, n_half, max_d, curvature, margin, out):
    """Fill ``out`` (bool, all False on entry) by the radial sweep of :func:`viewshed` on
    ``numba.get_num_threads()`` threads."""
    disc, inv_int = _sweep_setup(dem, cell, r0, c0, h_o, h_t, radius, max_d, curvature, out)
    if radius <= _EXACT_NEAR_CELLS:
        return
    n_tasks = 4 * -(-2 * n_half // _INTERVALS_PER_TASK)
    counters = np.zeros(2, np.int64)
    _SWEEP_HELPERS.run(min(numba.get_num_threads(), n_tasks) - 1, n_tasks,
                       (dem, cell, r0, c0, h_o, h_t, radius, n_half, max_d, curvature, margin,
                        disc, inv_int, counters, out))


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "nsz"})
def _window_stats(elevation, row_start, row_stop, col_start, col_stop):
    """(all finite, mean |difference| between horizontal neighbours [m]) over a window.

    A NaN or infinity anywhere in a row makes that row's sum of differences non-finite (the
    first cell is also checked on its own, for one-column windows). ``reassoc`` lets the row
    sums vectorise; NaN and infinity semantics are kept.
    """
    total = 0.0
    finite = True
    for r in range(row_start, row_stop):
        row = elevation[r, col_start:col_stop]
        row_total = 0.0
        for c in range(1, row.size):
            row_total += abs(np.float64(row[c]) - np.float64(row[c - 1]))
        finite = finite and math.isfinite(row_total) and math.isfinite(row[0])
        total += row_total
    count = (row_stop - row_start) * (col_stop - col_start - 1)
    return finite, (total / count if count > 0 else 0.0)



# ---------------------------------------------------------------------------------------------
# public functions


def _curvature_per_m2(earth_radius_factor) -> float:
    """The earth-bulge coefficient 1 / (2 k R) [1/m] of a checked ``earth_radius_factor``; 0
    (flat earth) for None."""
    if earth_radius_factor is None:
        return 0.0
    k = float(earth_radius_factor)
    if not (k > 0 and math.isfinite(k)):
        raise InputError(f"earth_radius_factor must be a positive number (4/3 is the standard "
                         f"atmosphere), got {earth_radius_factor!r}")
    return curvature_per_m(k)


def _check_dem(dem, cell_size_m) -> tuple[np.ndarray, float]:
    """(C-contiguous float32 DEM, cell size [m]), or InputError naming what is wrong."""
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
    """``rc`` as (row, col) ints inside a grid of ``shape``; InputError for a non-integer or
    outside cell (positions are cell centres: a fractional index is a caller's mistake)."""
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
    """``value`` as a finite float [m]; InputError otherwise."""
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


def _sweep_radius(max_distance_m, cell_size_m: float, edge_radius: int) -> tuple[int, float]:
    """(radius [cells], maximum distance [m]) of a viewshed: the square the sweep covers, cut
    to the DEM (``edge_radius``: cells from the observer to the farthest edge)."""
    if max_distance_m is None:
        return edge_radius, math.inf
    max_d = float(max_distance_m)
    if not (max_d > 0) or math.isnan(max_d):
        raise InputError(f"max_distance_m must be a positive number of metres or None, "
                         f"got {max_distance_m!r}")
    if not math.isfinite(max_d):
        return edge_radius, max_d
    return min(edge_radius, int(math.floor(max_d / cell_size_m))), max_d


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
    A radial sweep whose ray horizons decide most cells with one comparison each; the cells
    near a horizon walk their own sight line, ties and the cells next to the observer take the
    exact test (:func:`exact_line_of_sight`). The module docstring describes the algorithm;
    it runs on ``numba.get_num_threads()`` threads with a deterministic result.
    """
    dem, cell = _check_dem(dem, cell_size_m)
    r0, c0 = _check_cell(observer_rc, dem.shape, "observer_rc")
    h_o = _check_height(observer_height_m, "observer_height_m")
    h_t = _check_height(target_height_m, "target_height_m")
    curvature = _curvature_per_m2(earth_radius_factor)
    nrows, ncols = dem.shape
    radius, max_d = _sweep_radius(max_distance_m, cell,
                                  max(r0, nrows - 1 - r0, c0, ncols - 1 - c0))
    finite, mean_gradient = _window_stats(dem, max(r0 - radius, 0), min(r0 + radius + 1, nrows),
                                          max(c0 - radius, 0), min(c0 + radius + 1, ncols))
    if not finite:
        raise InputError("dem holds NaN or infinite elevations within reach of the observer; "
                         "fill nodata before computing a viewshed")
    n_half = max(1, -(-radius // _RAY_SPACING_CELLS))  # rays per half side of the square
    margin = _MARGIN_FACTOR * mean_gradient / cell / n_half + _SLOPE_TIE
    out = np.zeros(dem.shape, dtype=np.bool_)
    _viewshed_sweep(dem, cell, r0, c0, h_o, h_t, radius, n_half, max_d, curvature, margin, out)
    return out

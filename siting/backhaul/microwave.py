"""Microwave hops: which pairs of sites a point-to-point radio link can join.

A link between two sites (antennas ``antenna_height_m`` above the ground at each end) is
feasible when the terrain, raised by the earth bulge of an effective earth radius k R
(k = 4/3 by default), stays below the straight line between the antennas by at least 60 % of
the first Fresnel zone's radius all along the path:

    clearance(d) = ray(d) - (terrain(d) + d (D - d) / (2 k R))          [m]
    F1(d) = sqrt(lambda d (D - d) / D)                                  [m]
    min_clearance_f1 = min over the path of clearance(d) / F1(d) >= 0.6

F1 is the radius of the first Fresnel ellipsoid (ITU-R P.526 section 3.1); 0.6 F1 at k = 4/3
is the usual simplification of the path-clearance planning criteria of ITU-R P.530 section
2.2.2 (1.0 F1 at the median k, and 0.0 to 0.6 F1, by climate and kind of obstruction, at the k
exceeded 99.9 % of the time). It is also about where a knife edge stops costing anything:
v = -sqrt(2) clearance / F1 and J(v) = 0 dB for v <= -0.78 (P.526 eq. 31), i.e. clearance
>= 0.55 F1.

:func:`microwave_links` screens every pair of sites within a band's ``max_hop_m`` in one
numba kernel (``prange`` over the pairs) over the bilinear ground
(:func:`siting.terrain.bilinear_kernel`), piece by piece between the path's crossings with
the DEM's grid lines, where the clearance is a quadratic whose minimum is found exactly
(:func:`min_clearance_f1_kernel`): no summit between samples is missed. A pair is left at
the first point found below the threshold (most pairs in the mountains are blocked, and
only the feasible ones are kept): its smallest clearance is sought only with ``exact``.
:func:`min_clearance_f1_reference` computes the same quantity for one link in plain numpy
with dense sampling, as an independent check.

References
----------
.. [1] ITU-R P.526-15, "Propagation by diffraction", 2019, section 3.1 (Fresnel ellipsoids
   and Fresnel zones) and section 4.1 (single knife edge).
.. [2] ITU-R P.530-18, "Propagation data and prediction methods required for the design of
   terrestrial line-of-sight systems", 2021, section 2.2.2 (planning criteria for path
   clearance).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pandas as pd
from scipy.ndimage import map_coordinates
from scipy.spatial import cKDTree

from siting.errors import InputError
from siting.propagation import EARTH_RADIUS_M, SPEED_OF_LIGHT_M_S, curvature_per_m
from siting.terrain import Terrain, bilinear_kernel

__all__ = [
    "MIN_CLEARANCE_F1",
    "first_fresnel_radius_m",
    "microwave_links",
    "min_clearance_f1_kernel",
    "min_clearance_f1_reference",
]

#: Smallest terrain clearance, in first-Fresnel-zone radii, of a feasible link (P.530 2.2.2).
MIN_CLEARANCE_F1 = 0.6
#: Effective earth radius factor of the median atmosphere.
DEFAULT_EARTH_RADIUS_FACTOR = 4.0 / 3.0


def _wavelength_m(frequency_ghz: float) -> float:
    """Wavelength [m] of a frequency [GHz]."""
    return SPEED_OF_LIGHT_M_S / (frequency_ghz * 1e9)


def first_fresnel_radius_m(d1_m, d2_m, frequency_ghz):
    """Radius of the first Fresnel zone ``sqrt(lambda d1 d2 / (d1 + d2))`` [m].

    Parameters
    ----------
    d1_m, d2_m : array_like
        Distances from the point to the two ends of the path, >= 0, not both 0 [m].
    frequency_ghz : array_like
        Frequency, > 0 [GHz].

    Returns
    -------
    numpy.ndarray or float
        Radius [m].

    References
    ----------
    .. [1] ITU-R P.526-15, "Propagation by diffraction", 2019, section 3.1.
    """
    d1 = np.asarray(d1_m, float)
    d2 = np.asarray(d2_m, float)
    wavelength = SPEED_OF_LIGHT_M_S / (np.asarray(frequency_ghz, float) * 1e9)
    return np.sqrt(wavelength * d1 * d2 / (d1 + d2))


# ---------------------------------------------------------------------------------------------
# numba kernels


@numba.njit(cache=True, nogil=True)
def _next_crossing(t, start, step):
    """The smallest fraction t' > t of a path where ``start + t' * step`` is an integer
    (a grid line of the DEM's cell centres), or 1.0 when there is none before the end."""
    if step == 0.0:
        return 1.0
    direction = 1.0 if step > 0 else -1.0
    position = start + t * step
    line = math.floor(position) + 1.0 if step > 0 else math.ceil(position) - 1.0
    after = (line - start) / step
    if after <= t:  # rounding put the position just short of the line it is on
        after = (line + direction - start) / step
    return min(1.0, after)


@numba.njit(cache=True, nogil=True)
def _clearance_m(elevation, r0, c0, dr, dc, tip0, rise, length_m, curvature, t):
    """Clearance [m] of the ray above the bilinear ground plus earth bulge at fraction t."""
    d1 = t * length_m
    ground = bilinear_kernel(elevation, r0 + t * dr, c0 + t * dc) + d1 * (length_m - d1) * curvature
    return tip0 + rise * t - ground


@numba.njit(cache=True, nogil=True)
def min_clearance_f1_kernel(elevation, r0, c0, r1, c1, h0_m, h1_m, length_m, wavelength_m,
                            curvature, stop_below_f1):
    """Smallest clearance / F1 along the path from (r0, c0) to (r1, c1) (continuous pixel
    coordinates inside the grid), over the bilinear ground.

    Between two crossings of the path with the grid lines of the cell centres the ground is
    one bilinear patch, so along the path it is a quadratic in the distance, and so is the
    clearance (ray linear, earth bulge quadratic): the piece's smallest clearance is at an
    end or at the vertex, found from the clearance at the two ends and the middle. The ratio
    is taken at those points (F1 changes little across a piece of one cell); the path's ends
    are excluded (F1 is 0 there). The antennas stand ``h0_m`` / ``h1_m`` above the ground at
    the ends; ``length_m`` is the path's length [m]; ``curvature`` is
    :func:`siting.propagation.curvature_per_m` of the effective earth radius factor. The
    walk stops at the first piece whose clearance / F1 is below ``stop_below_f1`` and returns
    that piece's (-inf: never, the path's smallest). Allocation free, callable inside a
    ``prange`` loop.
    """
    tip0 = bilinear_kernel(elevation, r0, c0) + h0_m
    rise = bilinear_kernel(elevation, r1, c1) + h1_m - tip0
    dr, dc = r1 - r0, c1 - c0
    smallest = np.inf
    t_start = 0.0
    at_start = tip0 - bilinear_kernel(elevation, r0, c0)  # the clearance at the first end
    while t_start < 1.0:
        t_end = min(_next_crossing(t_start, r0, dr), _next_crossing(t_start, c0, dc))
        t_mid = 0.5 * (t_start + t_end)
        at_mid = _clearance_m(elevation, r0, c0, dr, dc, tip0, rise, length_m, curvature, t_mid)
        at_end = _clearance_m(elevation, r0, c0, dr, dc, tip0, rise, length_m, curvature, t_end)
        if t_end < 1.0:  # a crossing; the path's far end is excluded
            smallest = min(smallest, _over_f1(at_end, t_end, length_m, wavelength_m))
        t_low = _vertex(t_start, t_mid, t_end, at_start, at_mid, at_end)
        if t_low > 0.0:
            at_low = _clearance_m(elevation, r0, c0, dr, dc, tip0, rise, length_m, curvature,
                                  t_low)
            smallest = min(smallest, _over_f1(at_low, t_low, length_m, wavelength_m))
        if smallest < stop_below_f1:
            return smallest
        t_start, at_start = t_end, at_end
    return smallest


@numba.njit(cache=True, nogil=True)
def _over_f1(clearance_m, t, length_m, wavelength_m):
    """Clearance [m] at fraction t (0 < t < 1) of the path over the first Fresnel radius."""
    d1 = t * length_m
    return clearance_m / math.sqrt(wavelength_m * d1 * (length_m - d1) / length_m)


@numba.njit(cache=True, nogil=True)
def _vertex(t0, t1, t2, y0, y1, y2):
    """The fraction where the parabola through (t0, y0), (t1, y1), (t2, y2) (t1 the middle of
    t0 and t2) has its minimum, or -1.0 when it opens downwards or the minimum lies outside."""
    curvature = y0 - 2.0 * y1 + y2
    if curvature <= 0.0:
        return -1.0
    half = 0.5 * (t2 - t0)
    t = t1 + half * 0.5 * (y0 - y2) / curvature
    return t if t0 < t < t2 else -1.0


@numba.njit(parallel=True, cache=True, nogil=True)
def _min_clearance_many_kernel(elevation, cell_m, row, col, height_m, pair_i, pair_j,
                               wavelength_m, curvature, stop_below_f1, out):
    """:func:`min_clearance_f1_kernel` on every pair (i, j) of sites, in parallel."""
    for p in numba.prange(pair_i.shape[0]):
        i = pair_i[p]
        j = pair_j[p]
        length_cells = math.hypot(row[j] - row[i], col[j] - col[i])
        out[p] = min_clearance_f1_kernel(elevation, row[i], col[i], row[j], col[j], height_m[i],
                                         height_m[j], length_cells * cell_m, wavelength_m,
                                         curvature, stop_below_f1)


# ---------------------------------------------------------------------------------------------
# public functions


def _check_band(band_ghz: float, max_hop_m: float) -> None:
    """InputError unless both are positive finite numbers."""
    for name, value, unit in (("band_ghz", band_ghz, "GHz"), ("max_hop_m", max_hop_m, "m")):
        if not (np.isfinite(value) and value > 0):
            raise InputError(f"{name} must be a positive number of {unit}, got {value!r}")


def _check_sites(terrain: Terrain, x_m, y_m, antenna_height_m):
    """Sites as float64 arrays (x, y, height); InputError when outside the DEM or a height is
    negative."""
    x = np.atleast_1d(np.asarray(x_m, np.float64))
    y = np.atleast_1d(np.asarray(y_m, np.float64))
    height = np.broadcast_to(np.asarray(antenna_height_m, np.float64), x.shape).copy()
    if not (np.isfinite(height).all() and (height >= 0).all()):
        raise InputError("antenna_height_m must be finite and >= 0 m")
    outside = ~terrain.contains(x, y)
    if outside.any():
        raise InputError(f"microwave_links: {int(outside.sum())} of {len(x)} sites lie outside "
                         f"the DEM's cell-centre area {terrain.bounds}")
    return x, y, height


def _pairs_in_range(x, y, max_hop_m: float):
    """Pairs (i < j) of sites at distinct positions within ``max_hop_m``, sorted by i then j."""
    pairs = cKDTree(np.column_stack([x, y])).query_pairs(max_hop_m, output_type="ndarray")
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))] if len(pairs) else pairs.reshape(0, 2)
    distance_m = np.hypot(x[pairs[:, 1]] - x[pairs[:, 0]], y[pairs[:, 1]] - y[pairs[:, 0]])
    keep = distance_m > 0
    return pairs[keep, 0].astype(np.int64), pairs[keep, 1].astype(np.int64), distance_m[keep]


def microwave_links(terrain: Terrain, x_m, y_m, antenna_height_m, *, band_ghz: float,
                    max_hop_m: float,
                    earth_radius_factor: float = DEFAULT_EARTH_RADIUS_FACTOR,
                    min_clearance_f1: float = MIN_CLEARANCE_F1,
                    exact: bool = False) -> pd.DataFrame:
    """Candidate microwave links: every pair of sites within ``max_hop_m`` and its clearance.

    Parameters
    ----------
    terrain : siting.terrain.Terrain
        The DEM; every site must lie in its cell-centre area.
    x_m, y_m : array_like
        Sites [m], the terrain's CRS.
    antenna_height_m : array_like
        Height of each site's microwave antenna above the ground [m] (scalar or one per site).
    band_ghz : float
        Link frequency [GHz].
    max_hop_m : float
        Longest hop of the band [m].
    earth_radius_factor : float
        Effective earth radius factor k (4/3: median atmosphere; <= 0: flat earth).
    min_clearance_f1 : float
        Clearance, in first-Fresnel radii, a feasible link needs everywhere (0.6, P.530).
    exact : bool
        Also find the smallest clearance of a blocked pair; by default the screening of a
        pair stops at the first point below ``min_clearance_f1``.

    Returns
    -------
    pandas.DataFrame
        One row per pair of sites at distinct positions with ``distance_m <= max_hop_m``,
        sorted by ``site_i`` then ``site_j``: ``site_i``, ``site_j`` (positions in the input,
        ``site_i < site_j``), ``distance_m`` [m], ``min_clearance_f1`` (smallest terrain
        clearance over the first Fresnel radius along the path, negative when the terrain
        cuts the line of sight; of a blocked pair, without ``exact``, the clearance where its
        screening stopped, below the threshold: an upper bound of its smallest) and
        ``feasible`` (``min_clearance_f1 >= min_clearance_f1`` argument).
    """
    _check_band(band_ghz, max_hop_m)
    x, y, height = _check_sites(terrain, x_m, y_m, antenna_height_m)
    site_i, site_j, distance_m = _pairs_in_range(x, y, float(max_hop_m))
    row, col = terrain.rowcol(x, y)
    ratio = np.empty(len(site_i), np.float64)
    _min_clearance_many_kernel(terrain.elevation_m, float(terrain.cell_size_m),
                               np.ascontiguousarray(row, np.float64),
                               np.ascontiguousarray(col, np.float64), height, site_i, site_j,
                               _wavelength_m(float(band_ghz)),
                               curvature_per_m(float(earth_radius_factor)),
                               -np.inf if exact else float(min_clearance_f1), ratio)
    return pd.DataFrame({"site_i": site_i, "site_j": site_j, "distance_m": distance_m,
                         "min_clearance_f1": ratio, "feasible": ratio >= min_clearance_f1})


def min_clearance_f1_reference(terrain: Terrain, x0_m: float, y0_m: float, h0_m: float,
                               x1_m: float, y1_m: float, h1_m: float, *, band_ghz: float,
                               earth_radius_factor: float = DEFAULT_EARTH_RADIUS_FACTOR,
                               step_m: float = 1.0) -> float:
    """Smallest clearance / F1 of one link by dense sampling, in plain numpy (no numba).

    The independent check of :func:`microwave_links`: the profile is sampled every ``step_m``
    or less [m] (ends excluded) with scipy's linear ``map_coordinates`` for the bilinear
    ground; the bulge is ``d1 d2 / (2 k R)`` and F1 is :func:`first_fresnel_radius_m`.
    Antenna heights ``h0_m`` / ``h1_m`` are above the ground [m].
    """
    length_m = math.hypot(x1_m - x0_m, y1_m - y0_m)
    n = max(3, math.ceil(length_m / step_m) + 1)
    fraction = np.linspace(0.0, 1.0, n)
    row, col = terrain.rowcol(x0_m + fraction * (x1_m - x0_m), y0_m + fraction * (y1_m - y0_m))
    ground = map_coordinates(terrain.elevation_m.astype(np.float64), [row, col], order=1,
                             mode="nearest")
    d1 = fraction[1:-1] * length_m
    d2 = length_m - d1
    bulge = d1 * d2 / (2.0 * earth_radius_factor * EARTH_RADIUS_M) if earth_radius_factor > 0 \
        else 0.0
    ray = ground[0] + h0_m + (ground[-1] + h1_m - ground[0] - h0_m) * fraction[1:-1]
    clearance = ray - (ground[1:-1] + bulge)
    return float(np.min(clearance / first_fresnel_radius_m(d1, d2, band_ghz)))

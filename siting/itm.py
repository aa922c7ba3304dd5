"""NTIA Irregular Terrain Model (ITM, Longley-Rice), point-to-point mode.

Implemented from the model's published equations:

* [Algorithm] G. A. Hufford, "The ITS Irregular Terrain Model, version 1.2.2: The Algorithm",
  NTIA/ITS (1995), and its companion "Guide" (Hufford, Longley, Kissick, NTIA Report 82-100).
* [TN101] P. L. Rice, A. G. Longley, K. A. Norton, A. P. Barsis, "Transmission loss predictions
  for tropospheric communication circuits", NBS Technical Note 101 (1967), vols. 1 and 2.
* [ERL 79-ITS 67] A. G. Longley, P. L. Rice, "Prediction of tropospheric radio transmission loss
  over irregular terrain: a computer method", ESSA Technical Report ERL 79-ITS 67 (1968).
* [Vogler 1964] L. E. Vogler, "Calculation of groundwave attenuation in the far diffraction
  region", Radio Science 68D (1964).
* [A&S] Abramowitz & Stegun, Handbook of Mathematical Functions, formula 26.2.23.

The computation follows the structure of NTIA's ITM reference (v1.4): the path's mean height
sets the surface refractivity and effective earth (``InitializePointToPoint``); the profile gives
the horizons, effective heights and terrain irregularity (``QuickPfl``); the Longley-Rice
reference attenuation blends two-ray/line-of-sight, diffraction (knife edge and Vogler's rounded
earth) and troposcatter; the variability adds the time, location and situation quantiles.
Constants are the reference's (e.g. the 1/3-power coefficients 5.0, 10.0 and 1.088 of the
diffraction and transition distances); NTIA's published point-to-point reference cases are
reproduced to within their printed precision (0.005 dB).

Conventions (NTIA's): ``pfl`` is ``[n, spacing_m, z_0, ..., z_n]`` from transmitter to receiver;
``climate`` 1 equatorial, 2 continental subtropical, 3 maritime subtropical, 4 desert,
5 continental temperate, 6 maritime temperate over land, 7 maritime temperate over sea;
``pol`` 0 horizontal, 1 vertical; ``mdvar`` 0 single message, 1 accidental, 2 mobile,
3 broadcast, +10 to drop location variability, +20 to drop direct situation variability.

Design: the whole model is a set of small ``numba.njit`` scalar kernels working on a plain
float64 elevation array; :func:`itm_p2p_kernel` is the entry point for jitted callers (e.g. a
``prange`` over many profiles). The profile is read through its tables
(:func:`itm_profile_tables`: running sums for the least-squares fits and the mean height, block
maxima for the horizon searches), so that a caller predicting every sample of one profile (an
area prediction's radial) builds them once and calls :func:`itm_prefix_kernel` per receiver,
with the same result as :func:`itm_p2p_kernel` on each prefix at a fraction of the cost. The
public Python functions validate the inputs, raising :class:`~siting.errors.InputError` where
NTIA's reference returns an error, call the kernel and wrap its output. Where NTIA only warns,
the value is returned and the warning is reported in :attr:`ItmResult.warnings`.
"""

from __future__ import annotations

import cmath
import enum
import math
from dataclasses import dataclass

import numba
import numpy as np

from siting.broadcast import broadcast_scalars
from siting.errors import InputError

__all__ = [
    "DISTANCE_RANGE_M",
    "FREQUENCY_RANGE_MHZ",
    "ITM_OUT_D_HZN_TX",
    "ITM_OUT_DISTANCE",
    "ITM_OUT_LOSS",
    "ITM_OUT_SIZE",
    "TERMINAL_HEIGHT_RANGE_M",
    "ItmResult",
    "ItmWarning",
    "PropagationMode",
    "itm_p2p",
    "itm_p2p_cr",
    "itm_p2p_kernel",
    "itm_p2p_loss",
    "itm_prefix_kernel",
    "itm_profile_tables",
    "validate_itm_inputs",
]

# IEEE arithmetic (a division by zero gives inf or NaN, which the kernel reports as undefined)
# rather than Python's check of every division, ~7 % of an area prediction's time.
_jit = numba.njit(cache=True, nogil=True, error_model="numpy")

#: ITM's input domain as NTIA's reference checks it (``ValidateInputs``), and its distance
#: range [Algorithm, section 1]: soft, the model warns outside it.
FREQUENCY_RANGE_MHZ = (20.0, 20000.0)
TERMINAL_HEIGHT_RANGE_M = (0.5, 3000.0)
DISTANCE_RANGE_M = (1000.0, 2_000_000.0)

_A_0_M = 6370e3  # earth radius of Vogler's 4/3-earth normalisation [Vogler 1964]
_A_9000_M = 9000e3  # effective radius in the variability's effective distance [Algorithm, 5.3]
_GAMMA_A_PER_M = 157e-9  # actual earth curvature [TN101, Eqn 4.4]
_THIRD = 1.0 / 3.0
_SQRT2 = math.sqrt(2.0)

# Kernel error codes (NTIA's numbering) for conditions only known once the path is analysed.
_OK = 0
_ERR_GROUND_IMPEDANCE = 1013
_ERR_EFFECTIVE_EARTH = 1016
_ERR_NS_SMALL = 1021
_ERR_NS_LARGE = 1022
_ERR_UNDEFINED = 2000  # siting's: the formulas give NaN, which NTIA's reference returns silently

# Slots of the kernel's output array.
_OUT_LOSS, _OUT_FREE_SPACE, _OUT_ATTENUATION, _OUT_A_REF, _OUT_MODE, _OUT_DISTANCE = range(6)
_OUT_THETA_TX, _OUT_THETA_RX, _OUT_D_HZN_TX, _OUT_D_HZN_RX, _OUT_H_E_TX, _OUT_H_E_RX = range(6, 12)
_OUT_N_S, _OUT_DELTA_H, _OUT_WARNINGS = range(12, 15)
#: Length of the ``out`` array :func:`itm_p2p_kernel` fills, and the slots a jitted caller reads:
#: the loss [dB], the path length and the transmitter's horizon distance [m] (equal on a
#: line-of-sight path: each terminal's horizon is then the other terminal).
ITM_OUT_SIZE = 15
ITM_OUT_LOSS = _OUT_LOSS
ITM_OUT_DISTANCE = _OUT_DISTANCE
ITM_OUT_D_HZN_TX = _OUT_D_HZN_TX


class PropagationMode(enum.IntEnum):
    """Mode of propagation at the path distance (NTIA's values)."""

    LINE_OF_SIGHT = 1
    DIFFRACTION = 2
    TROPOSCATTER = 3


class ItmWarning(enum.IntFlag):
    """NTIA's warning flags: the value is returned, but an input or derived quantity is near or
    past the range the model was validated for."""

    NONE = 0
    TX_TERMINAL_HEIGHT = 0x0001  # outside 1..1000 m
    RX_TERMINAL_HEIGHT = 0x0002
    FREQUENCY = 0x0004  # outside 40 MHz..10 GHz
    PATH_DISTANCE_TOO_BIG_1 = 0x0008  # > 1000 km
    PATH_DISTANCE_TOO_BIG_2 = 0x0010  # > 2000 km
    PATH_DISTANCE_TOO_SMALL_1 = 0x0020  # < |h_e_tx - h_e_rx| / 0.2
    PATH_DISTANCE_TOO_SMALL_2 = 0x0040  # < 1 km
    TX_HORIZON_ANGLE = 0x0080  # |theta_hzn| > 200 mrad
    RX_HORIZON_ANGLE = 0x0100
    TX_HORIZON_DISTANCE_1 = 0x0200  # horizon < 0.1 x smooth-earth horizon
    RX_HORIZON_DISTANCE_1 = 0x0400
    TX_HORIZON_DISTANCE_2 = 0x0800  # horizon > 3 x smooth-earth horizon
    RX_HORIZON_DISTANCE_2 = 0x1000
    EXTREME_VARIABILITIES = 0x2000  # a standard normal deviate beyond 3.1
    SURFACE_REFRACTIVITY = 0x4000  # N_s < 250 N-units


# ItmWarning's flags as plain ints, for the jitted kernels.
_W_TX_TERMINAL_HEIGHT = int(ItmWarning.TX_TERMINAL_HEIGHT)
_W_RX_TERMINAL_HEIGHT = int(ItmWarning.RX_TERMINAL_HEIGHT)
_W_FREQUENCY = int(ItmWarning.FREQUENCY)
_W_PATH_DISTANCE_TOO_BIG_1 = int(ItmWarning.PATH_DISTANCE_TOO_BIG_1)
_W_PATH_DISTANCE_TOO_BIG_2 = int(ItmWarning.PATH_DISTANCE_TOO_BIG_2)
_W_PATH_DISTANCE_TOO_SMALL_1 = int(ItmWarning.PATH_DISTANCE_TOO_SMALL_1)
_W_PATH_DISTANCE_TOO_SMALL_2 = int(ItmWarning.PATH_DISTANCE_TOO_SMALL_2)
_W_TX_HORIZON_ANGLE = int(ItmWarning.TX_HORIZON_ANGLE)
_W_RX_HORIZON_ANGLE = int(ItmWarning.RX_HORIZON_ANGLE)
_W_TX_HORIZON_DISTANCE_1 = int(ItmWarning.TX_HORIZON_DISTANCE_1)
_W_RX_HORIZON_DISTANCE_1 = int(ItmWarning.RX_HORIZON_DISTANCE_1)
_W_TX_HORIZON_DISTANCE_2 = int(ItmWarning.TX_HORIZON_DISTANCE_2)
_W_RX_HORIZON_DISTANCE_2 = int(ItmWarning.RX_HORIZON_DISTANCE_2)
_W_EXTREME_VARIABILITIES = int(ItmWarning.EXTREME_VARIABILITIES)
_W_SURFACE_REFRACTIVITY = int(ItmWarning.SURFACE_REFRACTIVITY)


@dataclass(frozen=True)
class ItmResult:
    """Basic transmission loss of one ITM point-to-point prediction and its intermediate values.

    Pairs are (transmitter, receiver). ``loss_db = free_space_loss_db + attenuation_db``, where
    ``attenuation_db`` is the reference attenuation ``a_ref_db`` (median, relative to free space)
    shifted by the time, location and situation variabilities [Algorithm, section 5].
    """

    loss_db: float
    free_space_loss_db: float
    attenuation_db: float
    a_ref_db: float
    mode: PropagationMode
    distance_m: float
    theta_hzn_rad: tuple[float, float]
    d_hzn_m: tuple[float, float]
    h_e_m: tuple[float, float]
    n_s: float  # surface refractivity, N-units
    delta_h_m: float  # terrain irregularity parameter
    warnings: ItmWarning


# --------------------------------------------------------------------------------------------
# Elementary functions


@_jit
def _inverse_ccdf(q):
    """Standard normal deviate exceeded with probability ``q`` (0 < q < 1), [A&S 26.2.23]
    (|error| < 4.5e-4), as ITM uses it."""
    x = q if q <= 0.5 else 1.0 - q
    t = math.sqrt(-2.0 * math.log(x))
    zeta = ((0.010328 * t + 0.802853) * t + 2.515516) / (
        ((0.001308 * t + 0.189269) * t + 1.432788) * t + 1.0)
    return t - zeta if q <= 0.5 else zeta - t


@_jit
def _free_space_loss_db(distance_m, f_mhz):
    """Free-space basic transmission loss with ITM's constant 32.45 dB (d in km, f in MHz)."""
    return 32.45 + 20.0 * math.log10(f_mhz) + 20.0 * math.log10(distance_m / 1000.0)


@_jit
def _terrain_roughness_m(distance_m, delta_h_m):
    """Interdecile height range over a path of length d, [ERL 79-ITS 67, Eqn 3]:
    delta_h(d) = delta_h (1 - 0.8 exp(-d / 50 km))."""
    return delta_h_m * (1.0 - 0.8 * math.exp(-distance_m / 50e3))


@_jit
def _sigma_h_m(delta_h_m):
    """RMS terrain deviation within the first Fresnel zone, [ERL 79-ITS 67, Eqn 3.6a]."""
    return 0.78 * delta_h_m * math.exp(-0.5 * delta_h_m ** 0.25)


# --------------------------------------------------------------------------------------------
# Path parameters from the profile [Algorithm, section 3; TN101 sections 5-6]
#
# The profile's tables (:func:`itm_profile_tables`) hold its running sums and block maxima. They
# are built once per profile and answer the questions ITM asks of any prefix z[0..n] of it (an
# area prediction's receivers along one radial are the prefixes of one profile): the least-squares
# fits and the path's mean height in O(1), the horizon searches over the blocks that can hold the
# horizon. Rows of the tables:
_T_SUM_Z, _T_SUM_Z_LO, _T_SUM_JZ, _T_SUM_JZ_LO = range(4)  # sum_{j<k} z_j, sum_{j<k} j z_j (hi+lo)
_T_BLOCK_MAX = 4  # column b: the highest of samples b * _BLOCK .. b * _BLOCK + _BLOCK - 1
_T_WORK, _T_WORK_COPY = 5, 6  # scratch for the resampled profile of the terrain irregularity
_T_ROWS = 7
_BLOCK = 16  # samples per block of the horizon search
_MIN_RESAMPLED, _MAX_RESAMPLED = 35, 245  # dlthx's resampled points, 10 p10 - 5, 4 <= p10 <= 25
_HORIZON_TOLERANCE = 1e-12  # rad: rounding allowance of a block's horizon-angle bound
_SELECT_BINS = 64  # bins of the order statistics' histograms
_SELECT_SMALL = 16  # values left to the quickselect


@_jit
def _two_sum(a, b):
    """a + b as the float sum and its rounding error (Knuth's TwoSum, exact)."""
    s = a + b
    b_virtual = s - a
    return s, (a - (s - b_virtual)) + (b - b_virtual)


@_jit
def itm_profile_tables(z_m):
    """The tables ITM's profile analysis reads: float64 rows of the running sums of z and j z in
    double-double precision (so a window's sum is exact to rounding of the window, not of the
    whole profile), the maxima of blocks of ``_BLOCK`` samples and scratch space, and int64
    scratch space for the order statistics. Built once per profile; any prefix of the profile
    then reuses them."""
    n_samples = len(z_m)
    resampled = min(max(_MIN_RESAMPLED, n_samples + 8), _MAX_RESAMPLED)  # dlthx's on any prefix
    tables = np.empty((_T_ROWS, max(n_samples + 1, resampled)))
    sum_z = sum_z_lo = sum_jz = sum_jz_lo = 0.0
    for j in range(n_samples):
        tables[_T_SUM_Z, j], tables[_T_SUM_Z_LO, j] = sum_z, sum_z_lo
        tables[_T_SUM_JZ, j], tables[_T_SUM_JZ_LO, j] = sum_jz, sum_jz_lo
        sum_z, error = _two_sum(sum_z, z_m[j])
        sum_z_lo += error
        sum_jz, error = _two_sum(sum_jz, j * z_m[j])
        sum_jz_lo += error
        if j % _BLOCK == 0 or z_m[j] > tables[_T_BLOCK_MAX, j // _BLOCK]:
            tables[_T_BLOCK_MAX, j // _BLOCK] = z_m[j]
    tables[_T_SUM_Z, n_samples], tables[_T_SUM_Z_LO, n_samples] = sum_z, sum_z_lo
    tables[_T_SUM_JZ, n_samples], tables[_T_SUM_JZ_LO, n_samples] = sum_jz, sum_jz_lo
    return tables, np.empty(resampled + _SELECT_BINS, np.int64)


@_jit
def _window_sum(tables, row, start, stop):
    """Sum over samples start .. stop - 1 of the quantity (z or j z) whose running sum is
    ``row``."""
    return ((tables[row, stop] - tables[row, start])
            + (tables[row + 1, stop] - tables[row + 1, start]))


@_jit
def _fitted_line(total, moment, i_start, length, n):
    """ITM's ``zlsq1`` line from the trapezoid-weighted sums of z and of z (i - centre) over
    samples i_start .. i_start + length: its heights at sample 0 and sample n."""
    centre = i_start + 0.5 * length
    mean = total / length
    slope = moment * 12.0 / ((length * length + 2.0) * length)
    return mean - slope * centre, mean + slope * (n - centre)


@_jit
def _least_squares_fit(z_m, tables, n, spacing_m, d_start_m, d_end_m):
    """Straight line fitted to the samples of the profile z[0..n] between two distances
    (trapezoid weights at the ends), as ITM's ``zlsq1``; returns its heights at the first and
    the last sample. The window's sums come from the profile's running sums."""
    i_start = int(max(d_start_m / spacing_m, 0.0))
    i_end = n - int(max(n - d_end_m / spacing_m, 0.0))
    if i_end <= i_start:
        i_start = int(max(i_start - 1.0, 0.0))
        i_end = n - int(max(n - (i_end + 1.0), 0.0))
    length = i_end - i_start
    interior = _window_sum(tables, _T_SUM_Z, i_start + 1, i_end)
    interior_moment = (_window_sum(tables, _T_SUM_JZ, i_start + 1, i_end)
                       - (i_start + 0.5 * length) * interior)
    total = 0.5 * (z_m[i_start] + z_m[i_end]) + interior
    moment = 0.5 * (z_m[i_start] - z_m[i_end]) * (-0.5 * length) + interior_moment
    return _fitted_line(total, moment, i_start, length, n)


@_jit
def _least_squares_fit_all(s, count):
    """``zlsq1`` over all ``count`` points of ``s`` (unit spacing), summed directly: its heights
    at the first and the last point."""
    length = count - 1
    total = 0.5 * (s[0] + s[length])
    moment = 0.5 * (s[0] - s[length]) * (-0.5 * length)
    for k in range(1, length):
        total += s[k]
        moment += s[k] * (k - 0.5 * length)
    return _fitted_line(total, moment, 0, length, length)


@_jit
def _resample(z_m, n, x_start, x_end, count, out):
    """``count`` equally spaced, linearly interpolated samples of the profile z[0..n] between the
    fractional sample positions ``x_start`` and ``x_end`` (extrapolating the last interval),
    into ``out``."""
    step = (x_end - x_start) / (count - 1)
    i = int(x_start)
    x = x_start - (i + 1.0)  # position relative to sample i + 1, in (-1, 0]
    for j in range(count):
        while x > 0.0 and i + 1 < n:
            x -= 1.0
            i += 1
        out[j] = z_m[i + 1] + (z_m[i + 1] - z_m[i]) * x
        x += step


@_jit
def _select_in_place(a, low, high, k):
    """The value at index ``k`` of ``a[low:high + 1]`` sorted ascending (Hoare's quickselect,
    middle pivot), partitioning that slice in place: afterwards ``a[low:k]`` holds values <= it
    and ``a[k + 1:high + 1]`` values >= it. ``low <= k <= high``."""
    while low < high:
        pivot = a[(low + high) // 2]
        i = low
        j = high
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            high = j
        elif k >= i:
            low = i
        else:
            break
    return a[k]


@_jit
def _value_range(a, m):
    """(lowest, highest) of a[0:m]."""
    low = a[0]
    high = a[0]
    for j in range(1, m):  # comparisons: numba's min() and max() also test for NaN, 3x slower
        low = a[j] if a[j] < low else low
        high = a[j] if a[j] > high else high
    return low, high


@_jit
def _histogram(a, m, low, high, bins, counts):
    """Bin the values a[0:m] (within [low, high], high > low) into ``_SELECT_BINS`` equal bins:
    each value's bin into ``bins``, the bins' sizes into ``counts``. The bins are monotone in
    the value (the top value in the last bin), so they keep the values' order."""
    scale = _SELECT_BINS / (high - low)
    counts[:] = 0
    for j in range(m):
        bins[j] = int((a[j] - low) * scale)
        if bins[j] >= _SELECT_BINS:
            bins[j] = _SELECT_BINS - 1
        counts[bins[j]] += 1


@_jit
def _bin_of_rank(counts, k):
    """The bin holding the value at sorted index ``k`` and that value's index within its bin."""
    target = 0
    while counts[target] <= k:
        k -= counts[target]
        target += 1
    return target, k


@_jit
def _keep_bin(a, m, bins, target, out):
    """Copy the values of a[0:m] in bin ``target`` to the front of ``out`` (which may be ``a``);
    returns their number."""
    kept = 0
    for j in range(m):
        if bins[j] == target:
            out[kept] = a[j]
            kept += 1
    return kept


@_jit
def _keep_two_bins(a, m, bins, target_low, target_high, out_high):
    """:func:`_keep_bin` of bins ``target_low`` (into the front of ``a``) and ``target_high``
    (into ``out_high``) in one pass over a[0:m]; returns their numbers of values."""
    kept_low = kept_high = 0
    for j in range(m):
        value = a[j]
        if bins[j] == target_high:
            out_high[kept_high] = value
            kept_high += 1
        if bins[j] == target_low:
            a[kept_low] = value
            kept_low += 1
    return kept_low, kept_high


@_jit
def _kth_smallest(a, m, k, bins, counts):
    """The value at index ``k`` of ``a[0:m]`` sorted ascending (the same value as
    :func:`_select_in_place`), reordering ``a[0:m]``: the range is narrowed by histograms to the
    bin holding it (``bins``, ``counts``: int64 scratch of m and ``_SELECT_BINS``) until few
    values are left. Unlike quickselect's comparisons, a histogram's pass takes no
    data-dependent branch, which on the deviations of rough terrain is several times faster."""
    low, high = _value_range(a, m)
    while m > _SELECT_SMALL and 0.0 < high - low < math.inf:
        _histogram(a, m, low, high, bins, counts)
        target, k = _bin_of_rank(counts, k)
        m = _keep_bin(a, m, bins, target, a)
        low, high = _value_range(a, m)
    if high == low:
        return low
    return _select_in_place(a, 0, m - 1, k)


@_jit
def _two_order_statistics(a, m, low, high, k_low, k_high, bins, counts, spare):
    """The values at indices ``k_low`` and ``k_high`` of ``a[0:m]`` sorted ascending (whose
    lowest and highest are ``low`` and ``high``), as :func:`_kth_smallest` finds each, sharing
    its first histogram (``spare``: float64 scratch of m); reorders ``a[0:m]``."""
    if high == low:
        return low, low
    if not high - low < math.inf:  # no histogram of an infinite range
        high_value = _select_in_place(a, 0, m - 1, k_high)
        return _select_in_place(a, 0, k_high - 1, k_low), high_value
    _histogram(a, m, low, high, bins, counts)
    target_low, k_low = _bin_of_rank(counts, k_low)
    target_high, k_high = _bin_of_rank(counts, k_high)
    m_low, m_high = _keep_two_bins(a, m, bins, target_low, target_high, spare)
    return (_kth_smallest(a, m_low, k_low, bins, counts),
            _kth_smallest(spare, m_high, k_high, bins, counts))


@_jit
def _terrain_irregularity_m(z_m, tables, bin_scratch, n, spacing_m, d_start_m, d_end_m):
    """Terrain irregularity parameter delta_h from the profile z[0..n] between two distances.

    The interdecile range of the terrain's deviations from its least-squares line, over 10 p10 - 5
    resampled points (4 <= p10 <= 25), converted to the asymptotic delta_h by inverting
    [ERL 79-ITS 67, Eqn 3] ([Algorithm, section 3], ITM's ``dlthx``). 0 for under 2 intervals.
    """
    x_start = d_start_m / spacing_m
    x_end = d_end_m / spacing_m
    if x_end - x_start < 2.0:
        return 0.0
    p10 = min(max(4, int(0.1 * (x_end - x_start + 8.0))), 25)
    count = 10 * p10 - 5
    s = tables[_T_WORK]
    _resample(z_m, n, x_start, x_end, count, s)
    fit_first, fit_last = _least_squares_fit_all(s, count)
    slope = (fit_last - fit_first) / (count - 1.0)
    line = fit_first
    low = math.inf
    high = -math.inf
    for j in range(count):  # s becomes the deviations from the line
        s[j] -= line
        line += slope
        low = s[j] if s[j] < low else low  # as in _value_range
        high = s[j] if s[j] > high else high
    # the two order statistics of sorting s, selected (O(count) rather than a sort):
    # the p10-th largest and the (count - p10 + 1)-th largest
    q90, q10 = _two_order_statistics(s, count, low, high, p10 - 1, count - p10,
                                     bin_scratch[:-_SELECT_BINS], bin_scratch[-_SELECT_BINS:],
                                     tables[_T_WORK_COPY])
    return (q10 - q90) / (1.0 - 0.8 * math.exp(-(d_end_m - d_start_m) / 50e3))


@_jit
def _horizon_angle(z_m, z_terminal_m, d_m, a_e_m):
    """Elevation angle (rad) of a point at height z and distance d seen from a terminal at
    height z_terminal over the effective earth, [TN101, Eqn 6.15]: (z - z_t) / d - d / (2 a_e)."""
    return (z_m - z_terminal_m) / d_m - d_m / (2.0 * a_e_m)


@_jit
def _distance_from_m(i, n, spacing_m, from_rx):
    """Distance (m) of sample i of the profile z[0..n] from the transmitter, or from the receiver
    if ``from_rx``."""
    d_tx_m = i * spacing_m
    return n * spacing_m - d_tx_m if from_rx else d_tx_m


@_jit
def _horizon(z_m, tables, n, spacing_m, a_e_m, z_terminal_m, z_other_m, from_rx, hint):
    """One terminal's horizon over the profile z[0..n], [TN101, Eqn 6.15]: the first interior
    sample (from the transmitter) with the largest elevation angle, if above the other terminal's
    angle; else the other terminal (a line-of-sight path). Returns (theta, d_hzn, sample index).

    The same result as scanning every sample: only the blocks whose bound, from the block's
    highest sample at its nearest distance, reaches the angle of sample ``hint`` (a guess, e.g.
    the previous receiver's horizon; any index) or of the sample next to the receiver are
    scanned, in order; the others cannot hold the horizon nor tie it.
    """
    distance_m = n * spacing_m
    theta = _horizon_angle(z_other_m, z_terminal_m, distance_m, a_e_m)
    d_hzn_m = distance_m
    index = 0 if from_rx else n
    threshold = theta
    for guess in (hint, n - 1):
        if 1 <= guess <= n - 1:
            threshold = max(threshold, _horizon_angle(
                z_m[guess], z_terminal_m, _distance_from_m(guess, n, spacing_m, from_rx), a_e_m))
    threshold -= _HORIZON_TOLERANCE
    for b in range((n - 1) // _BLOCK + 1):
        first = max(b * _BLOCK, 1)
        last = min(b * _BLOCK + _BLOCK - 1, n - 1)
        if first > last:
            continue
        d_first_m = _distance_from_m(first, n, spacing_m, from_rx)
        d_last_m = _distance_from_m(last, n, spacing_m, from_rx)
        rise_m = tables[_T_BLOCK_MAX, b] - z_terminal_m
        d_near_m = min(d_first_m, d_last_m)
        bound = rise_m / (d_near_m if rise_m >= 0.0 else max(d_first_m, d_last_m)) - (
            d_near_m / (2.0 * a_e_m))
        if bound < threshold:
            continue
        for i in range(first, last + 1):
            d_m = _distance_from_m(i, n, spacing_m, from_rx)
            t = _horizon_angle(z_m[i], z_terminal_m, d_m, a_e_m)
            if t > theta:
                theta = t
                d_hzn_m = d_m
                index = i
    return theta, d_hzn_m, index


@_jit
def _smooth_earth_horizon_m(h_e_m, a_e_m, delta_h_m):
    """Horizon distance over irregular terrain, [Algorithm, Eqn 3.4 / ERL 79-ITS 67, Eqn 3.2]:
    sqrt(2 h_e a_e) exp(-0.07 sqrt(delta_h / max(h_e, 5 m)))."""
    return math.sqrt(2.0 * h_e_m * a_e_m) * math.exp(-0.07 * math.sqrt(delta_h_m / max(h_e_m, 5.0)))


@_jit
def _line_of_sight_geometry(h_e_tx_m, h_e_rx_m, a_e_m, delta_h_m, distance_m):
    """Horizon distances and angles of a clear line-of-sight path from the effective heights
    ([Algorithm, section 3], ``qlrpfl``): the empirical horizons of irregular terrain, with the
    heights scaled by (d / (d_L1 + d_L2))^2 if those horizons do not reach the other terminal."""
    d_tx_m = _smooth_earth_horizon_m(h_e_tx_m, a_e_m, delta_h_m)
    d_rx_m = _smooth_earth_horizon_m(h_e_rx_m, a_e_m, delta_h_m)
    if d_tx_m + d_rx_m <= distance_m:
        q = (distance_m / (d_tx_m + d_rx_m)) ** 2
        h_e_tx_m *= q
        h_e_rx_m *= q
        d_tx_m = _smooth_earth_horizon_m(h_e_tx_m, a_e_m, delta_h_m)
        d_rx_m = _smooth_earth_horizon_m(h_e_rx_m, a_e_m, delta_h_m)
    q_tx = math.sqrt(2.0 * h_e_tx_m * a_e_m)
    q_rx = math.sqrt(2.0 * h_e_rx_m * a_e_m)
    theta_tx = (0.65 * delta_h_m * (q_tx / d_tx_m - 1.0) - 2.0 * h_e_tx_m) / q_tx
    theta_rx = (0.65 * delta_h_m * (q_rx / d_rx_m - 1.0) - 2.0 * h_e_rx_m) / q_rx
    return theta_tx, theta_rx, d_tx_m, d_rx_m, h_e_tx_m, h_e_rx_m


@_jit
def _quick_pfl(z_m, tables, bin_scratch, n, spacing_m, a_e_m, h_tx_m, h_rx_m, hint_tx, hint_rx):
    """Horizons, effective heights and delta_h of the profile z[0..n] ([Algorithm, section 3],
    ``qlrpfl``), ``tables`` and ``bin_scratch`` being the profile's (:func:`itm_profile_tables`).

    The terrain considered starts min(15 h, 0.1 d_hzn) from each terminal [Hufford 1982, p. 25];
    effective heights are the structural heights above the least-squares terrain line (over the
    whole path if the horizons' sum exceeds 1.5 d, else over each terminal's foreground to
    0.9 d_hzn). ``hint_tx``, ``hint_rx``: guesses of the horizons' sample indices (see
    :func:`_horizon`). Returns (theta_tx, theta_rx, d_hzn_tx, d_hzn_rx, h_e_tx, h_e_rx, delta_h,
    i_hzn_tx, i_hzn_rx), the last two the horizons' sample indices.
    """
    distance_m = n * spacing_m
    z_tx_m = z_m[0] + h_tx_m
    z_rx_m = z_m[n] + h_rx_m
    theta_tx, d_hzn_tx_m, i_hzn_tx = _horizon(z_m, tables, n, spacing_m, a_e_m, z_tx_m, z_rx_m,
                                              False, hint_tx)
    theta_rx, d_hzn_rx_m, i_hzn_rx = _horizon(z_m, tables, n, spacing_m, a_e_m, z_rx_m, z_tx_m,
                                              True, hint_rx)
    d_start_m = min(15.0 * h_tx_m, 0.1 * d_hzn_tx_m)
    d_end_m = distance_m - min(15.0 * h_rx_m, 0.1 * d_hzn_rx_m)
    delta_h_m = _terrain_irregularity_m(z_m, tables, bin_scratch, n, spacing_m, d_start_m, d_end_m)
    if d_hzn_tx_m + d_hzn_rx_m > 1.5 * distance_m:
        fit_tx, fit_rx = _least_squares_fit(z_m, tables, n, spacing_m, d_start_m, d_end_m)
        h_e_tx_m = h_tx_m + max(z_m[0] - fit_tx, 0.0)
        h_e_rx_m = h_rx_m + max(z_m[n] - fit_rx, 0.0)
        theta_tx, theta_rx, d_hzn_tx_m, d_hzn_rx_m, h_e_tx_m, h_e_rx_m = _line_of_sight_geometry(
            h_e_tx_m, h_e_rx_m, a_e_m, delta_h_m, distance_m)
    else:
        fit_tx = _least_squares_fit(z_m, tables, n, spacing_m, d_start_m, 0.9 * d_hzn_tx_m)[0]
        fit_rx = _least_squares_fit(z_m, tables, n, spacing_m, distance_m - 0.9 * d_hzn_rx_m,
                                    d_end_m)[1]
        h_e_tx_m = h_tx_m + max(z_m[0] - fit_tx, 0.0)
        h_e_rx_m = h_rx_m + max(z_m[n] - fit_rx, 0.0)
    return (theta_tx, theta_rx, d_hzn_tx_m, d_hzn_rx_m, h_e_tx_m, h_e_rx_m, delta_h_m, i_hzn_tx,
            i_hzn_rx)


@_jit
def _path_mean_height_m(tables, n):
    """Mean elevation of the profile z[0..n] without its first and last 10 % (sets N_s)."""
    p10 = int(0.1 * n)
    return _window_sum(tables, _T_SUM_Z, p10, n - p10 + 1) / (n - 2 * p10 + 1)


@_jit
def _atmosphere_and_ground(f_mhz, h_sys_m, n0, pol, epsilon, sigma):
    """Surface refractivity N_s = N_0 exp(-h_s / 9.46 km) [TN101, Eqn 4.3], effective earth
    curvature gamma_e = gamma_a (1 - 0.04665 exp(N_s / 179.3)) [TN101, Eqn 4.4] and the ground's
    surface transfer impedance Z_g = sqrt(eps_r - 1) (horizontal), / eps_r (vertical), with
    eps_r = epsilon + j 18000 sigma / f_MHz [Algorithm, section 2]."""
    n_s = n0 if h_sys_m == 0.0 else n0 * math.exp(-h_sys_m / 9460.0)
    gamma_e = _GAMMA_A_PER_M * (1.0 - 0.04665 * math.exp(n_s / 179.3))
    eps_r = complex(epsilon, 18000.0 * sigma / f_mhz)
    z_g = cmath.sqrt(eps_r - 1.0)
    if pol == 1:
        z_g = z_g / eps_r
    return n_s, gamma_e, z_g


# --------------------------------------------------------------------------------------------
# Diffraction [Algorithm, section 4.2]


@_jit
def _fresnel_knife_edge_db(v2):
    """Knife-edge attenuation A(v, 0) from v^2, [TN101 vol. 2, Eqn III.24b/c;
    ERL 79-ITS 67, Eqn 3.27]."""
    if v2 < 5.76:
        return 6.02 + 9.11 * math.sqrt(v2) - 1.27 * v2
    return 12.953 + 10.0 * math.log10(v2)


@_jit
def _knife_edge_db(distance_m, f_mhz, a_e_m, theta_los, d_hzn_tx_m, d_hzn_rx_m):
    """Double knife-edge attenuation at distance d, [TN101, Eqns I.1 and I.7]: one edge per
    horizon, v_j^2 = (k / 4 pi) theta^2 d_Lj (d - d_L) / (d - d_L + d_Lj), k = f / 47.7 MHz."""
    d_nlos_m = distance_m - d_hzn_tx_m - d_hzn_rx_m
    theta_nlos = distance_m / a_e_m - theta_los
    common = 0.0795775 * (f_mhz / 47.7) * theta_nlos ** 2 * d_nlos_m
    v2_tx = common * d_hzn_tx_m / (d_nlos_m + d_hzn_tx_m)
    v2_rx = common * d_hzn_rx_m / (d_nlos_m + d_hzn_rx_m)
    return _fresnel_knife_edge_db(v2_tx) + _fresnel_knife_edge_db(v2_rx)


@_jit
def _height_gain_db(x_km, k):
    """Vogler's height-gain function F(x, K) [Vogler 1964; Algorithm, Eqn 4.20]."""
    if x_km < 200.0:
        w = -math.log(k)
        if k < 1e-5 or x_km * w ** 3 > 5495.0:
            return -117.0 + (17.372 * math.log(x_km) if x_km > 1.0 else 0.0)
        return 2.5e-5 * x_km ** 2 / k - 8.686 * w - 15.0
    result = 0.05751 * x_km - 4.343 * math.log(x_km)
    if x_km < 2000.0:
        w = 0.0134 * x_km * math.exp(-0.005 * x_km)
        result = (1.0 - w) * result + w * (17.372 * math.log(x_km) - 117.0)
    return result


@_jit
def _vogler_terms(radius_m, f_mhz, abs_z_g):
    """C_0 = (4/3 a_0 / a)^(1/3) [Vogler 1964, Eqn 2], K = 0.017778 C_0 f^(-1/3) / |Z_g|
    [Vogler 1964, Eqns 6a/7a] and B_0 = 1.607 - K [Vogler 1964, Fig. 4] for one radius."""
    c_0 = ((4.0 / 3.0) * _A_0_M / radius_m) ** _THIRD
    k = 0.017778 * c_0 * f_mhz ** (-_THIRD) / abs_z_g
    return c_0, k, 1.607 - k


@_jit
def _horizon_terms(f_mhz, d_hzn_tx_m, d_hzn_rx_m, h_e_tx_m, h_e_rx_m, h_tx_m, h_rx_m, z_g,
                   delta_h_m, d_sml_m):
    """The distance-independent terms of the diffraction attenuation (:func:`_diffraction_db`),
    computed once per path: Vogler's x_1, x_2 and height gains F(x_1, K_1), F(x_2, K_2) of the
    terminals' radii a_j = d_Lj^2 / (2 h_ej) [Algorithm, Eqns 4.12-4.20], |Z_g|, f^(1/3), the
    clutter factor A_fo [ERL 79-ITS 67, Eqn 3.38c] and the terminals' root of the weight q."""
    radius_1_m = 0.5 * d_hzn_tx_m ** 2 / h_e_tx_m
    radius_2_m = 0.5 * d_hzn_rx_m ** 2 / h_e_rx_m
    abs_z_g = abs(z_g)
    f_third = f_mhz ** _THIRD
    c_1, k_1, b_1 = _vogler_terms(radius_1_m, f_mhz, abs_z_g)
    c_2, k_2, b_2 = _vogler_terms(radius_2_m, f_mhz, abs_z_g)
    x_1_km = b_1 * c_1 ** 2 * f_third * d_hzn_tx_m / 1000.0
    x_2_km = b_2 * c_2 ** 2 * f_third * d_hzn_rx_m / 1000.0
    sigma_h_m = _sigma_h_m(_terrain_roughness_m(d_sml_m, delta_h_m))
    a_fo_db = min(15.0, 5.0 * math.log10(1.0 + 1e-5 * h_tx_m * h_rx_m * f_mhz * sigma_h_m))
    q_m2 = h_tx_m * h_rx_m + 10.0
    root = math.sqrt(1.0 + (h_e_tx_m * h_e_rx_m - h_tx_m * h_rx_m) / q_m2)
    return (x_1_km, x_2_km, _height_gain_db(x_1_km, k_1), _height_gain_db(x_2_km, k_2), abs_z_g,
            f_third, a_fo_db, root)


@_jit
def _smooth_earth_db(distance_m, f_mhz, a_e_m, theta_los, d_hzn_tx_m, d_hzn_rx_m, terms):
    """Rounded-earth diffraction by Vogler's three-radii method [Algorithm, Eqns 4.12-4.20]:
    G(x_0) - F(x_1, K_1) - F(x_2, K_2) - 20 dB, G(x) = 0.05751 x - 10 log10 x [TN101, Eqn 8.4];
    ``terms`` from :func:`_horizon_terms`."""
    x_1_km, x_2_km, f_1_db, f_2_db, abs_z_g, f_third = terms[:6]
    theta_nlos = distance_m / a_e_m - theta_los
    radius_0_m = (distance_m - d_hzn_tx_m - d_hzn_rx_m) / theta_nlos
    c_0, _, b_0 = _vogler_terms(radius_0_m, f_mhz, abs_z_g)
    x_0_km = b_0 * c_0 ** 2 * f_third * (radius_0_m * theta_nlos) / 1000.0 + x_1_km + x_2_km
    g_db = 0.05751 * x_0_km - 10.0 * math.log10(x_0_km)
    return g_db - f_1_db - f_2_db - 20.0


@_jit
def _diffraction_db(distance_m, f_mhz, a_e_m, theta_los, d_hzn_tx_m, d_hzn_rx_m, delta_h_m, terms):
    """Diffraction attenuation at distance d [Algorithm, section 4.2]: knife edge and rounded earth
    weighted by w = 25.1 / (25.1 + sqrt(q)) [ERL 79-ITS 67, Eqn 3.23], q from the terminals and
    delta_h(d), plus the clutter factor A_fo = min(15, 5 log10(1 + 1e-5 h_1 h_2 f sigma_h))
    [ERL 79-ITS 67, Eqn 3.38c]; point-to-point mode uses C = 10 m^2 (ibid. p. 3-8). ``terms``:
    the distance-independent terms (:func:`_horizon_terms`)."""
    a_fo_db, root = terms[6], terms[7]
    a_k_db = _knife_edge_db(distance_m, f_mhz, a_e_m, theta_los, d_hzn_tx_m, d_hzn_rx_m)
    a_se_db = _smooth_earth_db(distance_m, f_mhz, a_e_m, theta_los, d_hzn_tx_m, d_hzn_rx_m,
                               terms)
    d_ml_m = d_hzn_tx_m + d_hzn_rx_m
    q = (root + (-theta_los * a_e_m + d_ml_m) / distance_m) * min(
        _terrain_roughness_m(distance_m, delta_h_m) * f_mhz / 47.7, 6283.2)
    w = 25.1 / (25.1 + math.sqrt(q))
    return w * a_se_db + (1.0 - w) * a_k_db + a_fo_db


# --------------------------------------------------------------------------------------------
# Line of sight [Algorithm, section 4.3]


@_jit
def _two_ray_db(distance_m, h_e_tx_m, h_e_rx_m, z_g, delta_h_m, f_mhz):
    """Two-ray attenuation over rough ground [Algorithm, Eqns 4.46-4.50]: the plane-earth
    reflection coefficient reduced by exp(-k sigma_h(d) sin psi) (and floored in magnitude), with
    the phase difference 2 k h_1 h_2 / d folded above pi/2."""
    wn = f_mhz / 47.7
    sigma_h_m = _sigma_h_m(_terrain_roughness_m(distance_m, delta_h_m))
    h_sum_m = h_e_tx_m + h_e_rx_m
    sin_psi = h_sum_m / math.sqrt(distance_m ** 2 + h_sum_m ** 2)
    r_e = (sin_psi - z_g) / (sin_psi + z_g) * math.exp(-min(10.0, wn * sigma_h_m * sin_psi))
    q = r_e.real ** 2 + r_e.imag ** 2
    if q < 0.25 or q < sin_psi:
        r_e = r_e * math.sqrt(sin_psi / q)
    delta_phi = wn * 2.0 * h_e_tx_m * h_e_rx_m / distance_m
    if delta_phi > math.pi / 2.0:
        delta_phi = math.pi - (math.pi / 2.0) ** 2 / delta_phi
    rr = complex(math.cos(delta_phi), -math.sin(delta_phi)) + r_e
    return -10.0 * math.log10(rr.real ** 2 + rr.imag ** 2)


@_jit
def _line_of_sight_db(distance_m, h_e_tx_m, h_e_rx_m, z_g, delta_h_m, m_d, a_d0_db, d_sml_m,
                      f_mhz):
    """Line-of-sight attenuation [Algorithm, section 4.3]: two-ray and the extended diffraction
    line M_d d + A_d0, weighted by w = 1 / (1 + f delta_h / max(10 km, d_sML))."""
    a_t_db = _two_ray_db(distance_m, h_e_tx_m, h_e_rx_m, z_g, delta_h_m, f_mhz)
    w = 1.0 / (1.0 + f_mhz * delta_h_m / max(10e3, d_sml_m))
    return w * a_t_db + (1.0 - w) * (m_d * distance_m + a_d0_db)


@_jit
def _line_of_sight_coefficients(d_ml_m, d_sml_m, h_e_tx_m, h_e_rx_m, z_g, delta_h_m, m_d, a_d0_db,
                                f_mhz):
    """Coefficients of A_los(d) = A_o + K_1 d + K_2 ln d through A(d_0), A(d_1) and the diffraction
    line at d_sML [ERL 79-ITS 67, Eqns 3.16-3.21]; returns (A_o, K_1, K_2)."""
    a_sml_db = d_sml_m * m_d + a_d0_db
    d_0_m = 0.04 * f_mhz * h_e_tx_m * h_e_rx_m
    if a_d0_db >= 0.0:
        d_0_m = min(d_0_m, 0.5 * d_ml_m)
        d_1_m = d_0_m + 0.25 * (d_ml_m - d_0_m)
    else:
        d_1_m = max(-a_d0_db / m_d, 0.25 * d_ml_m)
    a_1_db = _line_of_sight_db(d_1_m, h_e_tx_m, h_e_rx_m, z_g, delta_h_m, m_d, a_d0_db, d_sml_m,
                               f_mhz)
    fitted = False
    k_1 = 0.0
    k_2 = 0.0
    if d_0_m < d_1_m:
        a_0_db = _line_of_sight_db(d_0_m, h_e_tx_m, h_e_rx_m, z_g, delta_h_m, m_d, a_d0_db,
                                   d_sml_m, f_mhz)
        q = math.log(d_sml_m / d_0_m)
        numerator = (d_sml_m - d_0_m) * (a_1_db - a_0_db) - (d_1_m - d_0_m) * (a_sml_db - a_0_db)
        k_2 = max(0.0, numerator / ((d_sml_m - d_0_m) * math.log(d_1_m / d_0_m)
                                    - (d_1_m - d_0_m) * q))
        fitted = a_d0_db > 0.0 or k_2 > 0.0
        if fitted:
            k_1 = (a_sml_db - a_0_db - k_2 * q) / (d_sml_m - d_0_m)
            if k_1 < 0.0:
                k_1 = 0.0
                k_2 = max(a_sml_db - a_0_db, 0.0) / q
                if k_2 == 0.0:
                    k_1 = m_d
    if not fitted:
        k_1 = max(a_sml_db - a_1_db, 0.0) / (d_sml_m - d_1_m)
        k_2 = 0.0
        if k_1 == 0.0:
            k_1 = m_d
    return a_sml_db - k_1 * d_sml_m - k_2 * math.log(d_sml_m), k_1, k_2


# --------------------------------------------------------------------------------------------
# Troposcatter [Algorithm, section 4.4]


@_jit
def _f_function_db(theta_d_m):
    """Attenuation function F(theta d) [Algorithm, Eqn 6.9]: a + b (theta d) + c log10(theta d)
    with three sets of coefficients split at 10 km and 70 km."""
    if theta_d_m <= 10e3:
        return 133.4 + 0.332e-3 * theta_d_m - 10.0 * math.log10(theta_d_m)
    if theta_d_m <= 70e3:
        return 104.6 + 0.212e-3 * theta_d_m - 2.5 * math.log10(theta_d_m)
    return 71.8 + 0.157e-3 * theta_d_m + 5.0 * math.log10(theta_d_m)


@_jit
def _h0_curve_db(j, r):
    """One curve of the frequency gain function, 10 log10(1 + a_j / r^4 + b_j / r^2)
    [Algorithm, Eqn 6.13], j = 0..4 for eta_s = 1..5."""
    a = (25.0, 80.0, 177.0, 395.0, 705.0)[j]
    b = (24.0, 45.0, 68.0, 80.0, 105.0)[j]
    return 10.0 * math.log10(1.0 + a * (1.0 / r) ** 4 + b * (1.0 / r) ** 2)


@_jit
def _h0_db(r, eta_s):
    """Frequency gain function H_0(r, eta_s) [TN101 vol. 1, section 9.2]: the curves of
    [Algorithm, Eqn 6.13] interpolated linearly in eta_s, clamped to 1 <= eta_s <= 5."""
    eta_s = min(max(eta_s, 1.0), 5.0)
    i = int(eta_s)
    q = eta_s - i
    result = _h0_curve_db(i - 1, r)
    if q != 0.0:
        result = (1.0 - q) * result + q * _h0_curve_db(i, r)
    return result


@_jit
def _frequency_gain_db(distance_m, theta_tx, theta_rx, d_hzn_tx_m, d_hzn_rx_m, h_e_tx_m, h_e_rx_m,
                       a_e_m, n_s, f_mhz):
    """H_0 of the troposcatter loss [TN101, Eqns 9.3-9.5; Algorithm, Eqns 4.64-4.67]: the mean of
    H_0(r_1), H_0(r_2) plus the asymmetry correction, interpolated towards the eta_s = 0 limit
    for eta_s < 1. NaN when r_1 and r_2 are both below 0.2 (A_scat undefined,
    [Algorithm, p. 11])."""
    wn = f_mhz / 47.7
    ad_m = d_hzn_tx_m - d_hzn_rx_m
    rr = h_e_rx_m / h_e_tx_m
    if ad_m < 0.0:
        ad_m = -ad_m
        rr = 1.0 / rr
    theta = theta_tx + theta_rx + distance_m / a_e_m
    r_1 = 2.0 * wn * theta * h_e_tx_m
    r_2 = 2.0 * wn * theta * h_e_rx_m
    if r_1 < 0.2 and r_2 < 0.2:
        return math.nan
    s = (distance_m - ad_m) / (distance_m + ad_m)
    q = min(max(0.1, rr / s), 10.0)
    s = max(0.1, s)
    h_0_m = (distance_m - ad_m) * (distance_m + ad_m) * theta * 0.25 / distance_m
    eta_s = (h_0_m / 1.7556e3) * (1.0 + (0.031 - n_s * 2.32e-3 + n_s ** 2 * 5.67e-6)
                                  * math.exp(-min(1.7, h_0_m / 8.0e3) ** 6))
    h_00_db = 0.5 * (_h0_db(r_1, eta_s) + _h0_db(r_2, eta_s))
    h0_db = max(h_00_db + min(h_00_db, 6.0 * (0.6 - math.log10(max(eta_s, 1.0)))
                              * math.log10(s) * math.log10(q)), 0.0)
    if eta_s < 1.0:
        limit = ((1.0 + _SQRT2 / r_1) * (1.0 + _SQRT2 / r_2)) ** 2 * (r_1 + r_2) / (
            r_1 + r_2 + 2.0 * _SQRT2)
        h0_db = eta_s * h0_db + (1.0 - eta_s) * 10.0 * math.log10(limit)
    return h0_db


@_jit
def _troposcatter_db(distance_m, theta_tx, theta_rx, d_hzn_tx_m, d_hzn_rx_m, h_e_tx_m, h_e_rx_m,
                     a_e_m, n_s, f_mhz, theta_los, h0_far_db):
    """Troposcatter attenuation at distance d [Algorithm, Eqn 4.63]: F(theta d) + 10 log10(k H
    theta^4) - 0.1 (N_s - 301) exp(-theta d / 40 km) + H_0, H = 47.7 m.

    ``h0_far_db`` is H_0 already found at the farther distance d_6 (negative if none): when it, or
    H_0 here, exceeds 15 dB the d_6 value is used [Algorithm, p. 12]. Returns (A_scat, H_0);
    A_scat = 1001 dB when undefined."""
    if h0_far_db > 15.0:
        h0_db = h0_far_db
    else:
        h0_db = _frequency_gain_db(distance_m, theta_tx, theta_rx, d_hzn_tx_m, d_hzn_rx_m,
                                   h_e_tx_m, h_e_rx_m, a_e_m, n_s, f_mhz)
        if math.isnan(h0_db):
            return 1001.0, h0_far_db
        if h0_db > 15.0 and h0_far_db >= 0.0:
            h0_db = h0_far_db
    th = distance_m / a_e_m - theta_los
    wn = f_mhz / 47.7
    a_db = (_f_function_db(th * distance_m) + 10.0 * math.log10(wn * 47.7 * th ** 4)
            - 0.1 * (n_s - 301.0) * math.exp(-th * distance_m / 40e3) + h0_db)
    return a_db, h0_db


# --------------------------------------------------------------------------------------------
# Reference attenuation [Algorithm, section 4; ERL 79-ITS 67, section 3]


@_jit
def _diffraction_line(f_mhz, a_e_m, theta_los, d_hzn_tx_m, d_hzn_rx_m, h_e_tx_m, h_e_rx_m, h_tx_m,
                      h_rx_m, z_g, delta_h_m, d_sml_m):
    """Slope M_d (dB/m) and intercept A_d0 (dB) of the diffraction line through two distances far
    in the diffraction region, d_3 = max(d_sML, d_L + 5 X_ae) and d_4 = d_3 + 10 X_ae with
    X_ae = (a_e^2 / f)^(1/3) [Algorithm, Eqns 4.8-4.11]."""
    x_ae_m = (a_e_m ** 2 / f_mhz) ** _THIRD
    d_3_m = max(d_sml_m, d_hzn_tx_m + d_hzn_rx_m + 5.0 * x_ae_m)
    d_4_m = d_3_m + 10.0 * x_ae_m
    terms = _horizon_terms(f_mhz, d_hzn_tx_m, d_hzn_rx_m, h_e_tx_m, h_e_rx_m, h_tx_m, h_rx_m, z_g,
                           delta_h_m, d_sml_m)
    a_3_db = _diffraction_db(d_3_m, f_mhz, a_e_m, theta_los, d_hzn_tx_m, d_hzn_rx_m, delta_h_m,
                             terms)
    a_4_db = _diffraction_db(d_4_m, f_mhz, a_e_m, theta_los, d_hzn_tx_m, d_hzn_rx_m, delta_h_m,
                             terms)
    m_d = (a_4_db - a_3_db) / (d_4_m - d_3_m)
    return m_d, a_3_db - m_d * d_3_m


@_jit
def _beyond_horizon_db(distance_m, f_mhz, a_e_m, theta_los, theta_tx, theta_rx, d_hzn_tx_m,
                       d_hzn_rx_m, h_e_tx_m, h_e_rx_m, n_s, m_d, a_d0_db, d_sml_m):
    """Reference attenuation and mode of a trans-horizon path [Algorithm, section 4.4]: the
    troposcatter line through d_5 = d_L + 200 km and d_6 = d_L + 400 km takes over from the
    diffraction line beyond d_x = max(d_sML, d_L + 1.088 X_ae ln f, their intersection)."""
    d_ml_m = d_hzn_tx_m + d_hzn_rx_m
    d_5_m = d_ml_m + 200e3
    a_6_db, h0_db = _troposcatter_db(d_ml_m + 400e3, theta_tx, theta_rx, d_hzn_tx_m, d_hzn_rx_m,
                                     h_e_tx_m, h_e_rx_m, a_e_m, n_s, f_mhz, theta_los, -1.0)
    a_5_db, h0_db = _troposcatter_db(d_5_m, theta_tx, theta_rx, d_hzn_tx_m, d_hzn_rx_m, h_e_tx_m,
                                     h_e_rx_m, a_e_m, n_s, f_mhz, theta_los, h0_db)
    if a_5_db < 1000.0:
        m_s = (a_6_db - a_5_db) / 200e3
        x_ae_m = (a_e_m ** 2 / f_mhz) ** _THIRD
        d_x_m = max(max(d_sml_m, d_ml_m + 1.088 * x_ae_m * math.log(f_mhz)),
                    (a_5_db - a_d0_db - m_s * d_5_m) / (m_d - m_s))
        a_s0_db = (m_d - m_s) * d_x_m + a_d0_db
    else:  # troposcatter undefined: the diffraction line throughout
        m_s, a_s0_db, d_x_m = m_d, a_d0_db, 10e6
    if distance_m > d_x_m:
        return m_s * distance_m + a_s0_db, 3
    return m_d * distance_m + a_d0_db, 2


@_jit
def _geometry_warnings(theta_tx, theta_rx, d_hzn_tx_m, d_hzn_rx_m, d_hzn_s_tx_m, d_hzn_s_rx_m,
                       h_e_tx_m, h_e_rx_m, n_s, distance_m):
    """NTIA's warning flags on the path geometry (small-angle approximation, horizons against
    the smooth-earth horizons, surface refractivity, path length)."""
    flags = 0
    flags |= _W_TX_HORIZON_ANGLE if abs(theta_tx) > 200e-3 else 0
    flags |= _W_RX_HORIZON_ANGLE if abs(theta_rx) > 200e-3 else 0
    flags |= _W_TX_HORIZON_DISTANCE_1 if d_hzn_tx_m < 0.1 * d_hzn_s_tx_m else 0
    flags |= _W_RX_HORIZON_DISTANCE_1 if d_hzn_rx_m < 0.1 * d_hzn_s_rx_m else 0
    flags |= _W_TX_HORIZON_DISTANCE_2 if d_hzn_tx_m > 3.0 * d_hzn_s_tx_m else 0
    flags |= _W_RX_HORIZON_DISTANCE_2 if d_hzn_rx_m > 3.0 * d_hzn_s_rx_m else 0
    flags |= _W_SURFACE_REFRACTIVITY if n_s < 250.0 else 0
    d_min_m = abs(h_e_tx_m - h_e_rx_m) / 200e-3
    flags |= _W_PATH_DISTANCE_TOO_SMALL_1 if distance_m < d_min_m else 0
    flags |= _W_PATH_DISTANCE_TOO_SMALL_2 if distance_m < 1e3 else 0
    flags |= _W_PATH_DISTANCE_TOO_BIG_1 if distance_m > 1000e3 else 0
    flags |= _W_PATH_DISTANCE_TOO_BIG_2 if distance_m > 2000e3 else 0
    return flags


@_jit
def _reference_attenuation(distance_m, f_mhz, a_e_m, z_g, n_s, theta_tx, theta_rx, d_hzn_tx_m,
                           d_hzn_rx_m, h_e_tx_m, h_e_rx_m, h_tx_m, h_rx_m, delta_h_m):
    """Longley-Rice reference attenuation A_ref (dB, >= 0) relative to free space
    [Algorithm, section 4; ERL 79-ITS 67, Eqn 3.19] in point-to-point mode.

    Returns (A_ref, mode, warning flags, error code); the error code (NTIA's numbering) is non-zero
    when N_s, the effective earth radius or the ground impedance are outside the model's domain.
    """
    d_hzn_s_tx_m = math.sqrt(2.0 * h_e_tx_m * a_e_m)
    d_hzn_s_rx_m = math.sqrt(2.0 * h_e_rx_m * a_e_m)
    d_sml_m = d_hzn_s_tx_m + d_hzn_s_rx_m
    d_ml_m = d_hzn_tx_m + d_hzn_rx_m
    theta_los = -max(theta_tx + theta_rx, -d_ml_m / a_e_m)
    flags = _geometry_warnings(theta_tx, theta_rx, d_hzn_tx_m, d_hzn_rx_m, d_hzn_s_tx_m,
                               d_hzn_s_rx_m, h_e_tx_m, h_e_rx_m, n_s, distance_m)
    if n_s < 150.0:
        return 0.0, 0, flags, _ERR_NS_SMALL
    if n_s > 400.0:
        return 0.0, 0, flags, _ERR_NS_LARGE
    if a_e_m < 4000000.0 or a_e_m > 13333333.0:
        return 0.0, 0, flags, _ERR_EFFECTIVE_EARTH
    if z_g.real <= abs(z_g.imag):
        return 0.0, 0, flags, _ERR_GROUND_IMPEDANCE
    m_d, a_d0_db = _diffraction_line(f_mhz, a_e_m, theta_los, d_hzn_tx_m, d_hzn_rx_m, h_e_tx_m,
                                     h_e_rx_m, h_tx_m, h_rx_m, z_g, delta_h_m, d_sml_m)
    if distance_m < d_sml_m:
        a_o_db, k_1, k_2 = _line_of_sight_coefficients(d_ml_m, d_sml_m, h_e_tx_m, h_e_rx_m, z_g,
                                                       delta_h_m, m_d, a_d0_db, f_mhz)
        a_ref_db = a_o_db + k_1 * distance_m + k_2 * math.log(distance_m)
        mode = 1
    else:
        a_ref_db, mode = _beyond_horizon_db(distance_m, f_mhz, a_e_m, theta_los, theta_tx,
                                            theta_rx, d_hzn_tx_m, d_hzn_rx_m, h_e_tx_m, h_e_rx_m,
                                            n_s, m_d, a_d0_db, d_sml_m)
    return max(a_ref_db, 0.0), mode, flags, _OK


# --------------------------------------------------------------------------------------------
# Variability [Algorithm, section 5; TN101 section 10 and vol. 2 Eqns III.69-III.70]

# Per climate (1..7): the all-year median curve V_med (c1, c2, x1, x2, x3), the sigma_T- and
# sigma_T+ curves and their frequency factors g-, g+, and the ducting constants C_D, z_D
# [Algorithm, Table 5.1; TN101, Fig. 10.13].
_V_MED = np.array([
    [-9.67, -0.62, 1.26, -9.21, -0.62, -0.39, 3.15],
    [12.7, 9.19, 15.5, 9.05, 9.19, 2.86, 857.9],
    [144.9e3, 228.9e3, 262.6e3, 84.1e3, 228.9e3, 141.7e3, 2222.e3],
    [190.3e3, 205.2e3, 185.2e3, 101.1e3, 205.2e3, 315.9e3, 164.8e3],
    [133.8e3, 143.6e3, 99.8e3, 98.6e3, 143.6e3, 167.4e3, 116.3e3]])
_SIGMA_T_MINUS = np.array([
    [2.13, 2.66, 6.11, 1.98, 2.68, 6.86, 8.51],
    [159.5, 7.67, 6.65, 13.11, 7.16, 10.38, 169.8],
    [762.2e3, 100.4e3, 138.2e3, 139.1e3, 93.7e3, 187.8e3, 609.8e3],
    [123.6e3, 172.5e3, 242.2e3, 132.7e3, 186.8e3, 169.6e3, 119.9e3],
    [94.5e3, 136.4e3, 178.6e3, 193.5e3, 133.5e3, 108.9e3, 106.6e3]])
_SIGMA_T_PLUS = np.array([
    [2.11, 6.87, 10.08, 3.68, 4.75, 8.58, 8.43],
    [102.3, 15.53, 9.60, 159.3, 8.12, 13.97, 8.19],
    [636.9e3, 138.7e3, 165.3e3, 464.4e3, 93.2e3, 216.0e3, 136.2e3],
    [134.8e3, 143.7e3, 225.7e3, 93.1e3, 135.9e3, 152.0e3, 188.5e3],
    [95.6e3, 98.6e3, 129.7e3, 94.2e3, 113.4e3, 122.7e3, 122.9e3]])
_G_MINUS = np.array([
    [1.0, 1.0, 1.0, 1.0, 0.92, 1.0, 1.0],
    [0.0, 0.0, 0.0, 0.0, 0.25, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0, 1.77, 0.0, 0.0]])
_G_PLUS = np.array([
    [1.0, 0.93, 1.0, 0.93, 0.93, 1.0, 1.0],
    [0.0, 0.31, 0.0, 0.19, 0.31, 0.0, 0.0],
    [0.0, 2.00, 0.0, 1.79, 2.00, 0.0, 0.0]])
_C_D = np.array([1.224, 0.801, 1.380, 1.000, 1.224, 1.518, 1.518])
_Z_D = np.array([1.282, 2.161, 1.282, 20.0, 1.282, 1.282, 1.282])


@_jit
def _climate_curve(table, c, d_e_m):
    """(c1 + c2 / (1 + ((d_e - x2) / x3)^2)) (d_e / x1)^2 / (1 + (d_e / x1)^2)
    [TN101 vol. 2, Eqns III.69-III.70] with climate column ``c`` of ``table``."""
    ratio2 = (d_e_m / table[2, c]) ** 2
    return (table[0, c] + table[1, c] / (1.0 + ((d_e_m - table[3, c]) / table[4, c]) ** 2)) * (
        ratio2 / (1.0 + ratio2))


@_jit
def _sigma_time_db(z_t, c, wn, d_e_m):
    """Time variability's standard deviation, sigma_T- below the median and sigma_T+ above it
    (each times its frequency factor g(f)), bent towards C_D sigma_T+ beyond z_D
    [Algorithm, section 5, Table 5.1]."""
    q = math.log(0.133 * wn)
    g_minus = _G_MINUS[0, c] + _G_MINUS[1, c] / ((_G_MINUS[2, c] * q) ** 2 + 1.0)
    g_plus = _G_PLUS[0, c] + _G_PLUS[1, c] / ((_G_PLUS[2, c] * q) ** 2 + 1.0)
    sigma_minus_db = _climate_curve(_SIGMA_T_MINUS, c, d_e_m) * g_minus
    sigma_plus_db = _climate_curve(_SIGMA_T_PLUS, c, d_e_m) * g_plus
    if z_t < 0.0:
        return sigma_minus_db
    if z_t <= _Z_D[c]:
        return sigma_plus_db
    sigma_d_db = _C_D[c] * sigma_plus_db
    return sigma_d_db + (sigma_plus_db - sigma_d_db) * _Z_D[c] / z_t


@_jit
def _effective_distance_m(distance_m, h_e_tx_m, h_e_rx_m, wn):
    """Effective distance d_e [Algorithm, Eqns 5.3-5.4]: d_ex = sqrt(2 a_9000 h_e1) +
    sqrt(2 a_9000 h_e2) + (575.7e12 / k)^(1/3); d_e = 130 km d / d_ex, or 130 km + d - d_ex."""
    d_ex_m = (math.sqrt(2.0 * _A_9000_M * h_e_tx_m) + math.sqrt(2.0 * _A_9000_M * h_e_rx_m)
              + (575.7e12 / wn) ** _THIRD)
    if distance_m < d_ex_m:
        return 130e3 * distance_m / d_ex_m
    return 130e3 + distance_m - d_ex_m


@_jit
def _variability_db(time_pct, location_pct, situation_pct, h_e_tx_m, h_e_rx_m, delta_h_m, f_mhz,
                    distance_m, a_ref_db, climate, mdvar):
    """Attenuation (dB, relative to free space) at the requested time, location and situation
    quantiles [Algorithm, section 5, Eqns 5.1-5.12].

    A_ref less the all-year median V_med(d_e), less Y_R (time and location deviates, combined as
    the variability mode says) and Y_S (situation), with negative results compressed as
    A (29 - A) / (29 - 10 A). Returns (attenuation, warning flags).
    """
    c = climate - 1
    wn = f_mhz / 47.7
    z_t = _inverse_ccdf(time_pct / 100.0)
    z_l = _inverse_ccdf(location_pct / 100.0)
    z_s = _inverse_ccdf(situation_pct / 100.0)
    d_e_m = _effective_distance_m(distance_m, h_e_tx_m, h_e_rx_m, wn)
    sigma_s_db = 0.0 if mdvar >= 20 else 5.0 + 3.0 * math.exp(-d_e_m / 100e3)  # Eqn 5.10
    mode = mdvar % 10
    if mode == 0:  # single message
        z_t = z_s
        z_l = z_s
    elif mode == 1:  # accidental
        z_l = z_s
    elif mode == 2:  # mobile
        z_l = z_t
    extreme = abs(z_t) > 3.10 or abs(z_l) > 3.10 or abs(z_s) > 3.10
    flags = _W_EXTREME_VARIABILITIES if extreme else 0
    sigma_l_db = 0.0
    if (mdvar % 20) < 10:
        delta_h_d_m = _terrain_roughness_m(distance_m, delta_h_m)
        sigma_l_db = 10.0 * wn * delta_h_d_m / (wn * delta_h_d_m + 13.0)
    y_l_db = sigma_l_db * z_l
    sigma_t_db = _sigma_time_db(z_t, c, wn, d_e_m)
    y_t_db = sigma_t_db * z_t
    s2 = sigma_s_db ** 2 + y_t_db ** 2 / (7.8 + z_s ** 2) + y_l_db ** 2 / (24.0 + z_s ** 2)
    if mode == 0:
        y_r_db = 0.0
        y_s_db = math.sqrt(sigma_t_db ** 2 + sigma_l_db ** 2 + s2) * z_s
    elif mode == 1:
        y_r_db = y_t_db
        y_s_db = math.sqrt(sigma_l_db ** 2 + s2) * z_s
    elif mode == 2:
        y_r_db = math.sqrt(sigma_t_db ** 2 + sigma_l_db ** 2) * z_t
        y_s_db = math.sqrt(s2) * z_s
    else:  # broadcast
        y_r_db = y_t_db + y_l_db
        y_s_db = math.sqrt(s2) * z_s
    result = a_ref_db - _climate_curve(_V_MED, c, d_e_m) - y_r_db - y_s_db
    if result < 0.0:  # [Algorithm, Eqn 5.12]
        result = result * (29.0 - result) / (29.0 - 10.0 * result)
    return result, flags


@_jit
def _input_warnings(h_tx_m, h_rx_m, f_mhz):
    """NTIA's warning flags on the inputs: terminals outside 1-1000 m, frequency outside
    40 MHz-10 GHz."""
    flags = _W_TX_TERMINAL_HEIGHT if h_tx_m < 1.0 or h_tx_m > 1000.0 else 0
    flags |= _W_RX_TERMINAL_HEIGHT if h_rx_m < 1.0 or h_rx_m > 1000.0 else 0
    flags |= _W_FREQUENCY if f_mhz < 40.0 or f_mhz > 10000.0 else 0
    return flags


@_jit
def itm_prefix_kernel(h_tx_m, h_rx_m, elevation_m, n, spacing_m, profile_tables, hint_tx, hint_rx,
                      climate, n0, f_mhz, pol, epsilon, sigma, mdvar, time_pct, location_pct,
                      situation_pct, out):
    """ITM point-to-point prediction over the prefix ``elevation_m[0..n]`` of a profile whose
    tables (:func:`itm_profile_tables`) are ``profile_tables``: the receiver at sample n. The
    same result as :func:`itm_p2p_kernel` on ``elevation_m[:n + 1]``, for a caller that predicts
    every sample of one profile (an area prediction's radial) and builds the tables once.

    ``hint_tx``, ``hint_rx``: guesses of the horizons' sample indices (e.g. the values this
    kernel returned for the previous sample, -1 for none); they only speed up the search.
    Returns (error code as :func:`itm_p2p_kernel`'s, the transmitter's and the receiver's horizon
    sample indices) and fills ``out`` as :func:`itm_p2p_kernel` does.
    """
    tables, bin_scratch = profile_tables
    n_s, gamma_e, z_g = _atmosphere_and_ground(f_mhz, _path_mean_height_m(tables, n), n0, pol,
                                               epsilon, sigma)
    a_e_m = 1.0 / gamma_e
    (theta_tx, theta_rx, d_hzn_tx_m, d_hzn_rx_m, h_e_tx_m, h_e_rx_m, delta_h_m, i_hzn_tx,
     i_hzn_rx) = _quick_pfl(elevation_m, tables, bin_scratch, n, spacing_m, a_e_m, h_tx_m, h_rx_m,
                            hint_tx, hint_rx)
    distance_m = n * spacing_m
    out[_OUT_DISTANCE] = distance_m
    out[_OUT_THETA_TX], out[_OUT_THETA_RX] = theta_tx, theta_rx
    out[_OUT_D_HZN_TX], out[_OUT_D_HZN_RX] = d_hzn_tx_m, d_hzn_rx_m
    out[_OUT_H_E_TX], out[_OUT_H_E_RX] = h_e_tx_m, h_e_rx_m
    out[_OUT_N_S], out[_OUT_DELTA_H] = n_s, delta_h_m
    a_ref_db, mode, flags, error = _reference_attenuation(
        distance_m, f_mhz, a_e_m, z_g, n_s, theta_tx, theta_rx, d_hzn_tx_m, d_hzn_rx_m, h_e_tx_m,
        h_e_rx_m, h_tx_m, h_rx_m, delta_h_m)
    if error != _OK:
        return error, i_hzn_tx, i_hzn_rx
    attenuation_db, variability_flags = _variability_db(
        time_pct, location_pct, situation_pct, h_e_tx_m, h_e_rx_m, delta_h_m, f_mhz, distance_m,
        a_ref_db, climate, mdvar)
    a_fs_db = _free_space_loss_db(distance_m, f_mhz)
    out[_OUT_LOSS] = a_fs_db + attenuation_db
    if not math.isfinite(out[_OUT_LOSS]):
        return _ERR_UNDEFINED, i_hzn_tx, i_hzn_rx
    out[_OUT_FREE_SPACE], out[_OUT_ATTENUATION], out[_OUT_A_REF] = a_fs_db, attenuation_db, a_ref_db
    out[_OUT_MODE] = mode
    out[_OUT_WARNINGS] = _input_warnings(h_tx_m, h_rx_m, f_mhz) | flags | variability_flags
    return _OK, i_hzn_tx, i_hzn_rx


@_jit
def itm_p2p_kernel(h_tx_m, h_rx_m, elevation_m, spacing_m, climate, n0, f_mhz, pol, epsilon, sigma,
                   mdvar, time_pct, location_pct, situation_pct, out):
    """ITM point-to-point prediction for jitted callers; the arguments are those of
    :func:`itm_p2p_loss` with the profile split into ``elevation_m`` (float64, n + 1 samples from
    the transmitter) and ``spacing_m``, and must already be valid (see :func:`itm_p2p`).

    Fills ``out`` (float64, :data:`ITM_OUT_SIZE`) with the loss and the intermediate values in the
    order of :class:`ItmResult`'s fields (pairs flattened, mode and warnings as floats) and returns
    0, or an error code: NTIA's 1013 (ground impedance), 1016 (effective earth), 1021/1022 (N_s
    too small/large), with only the path parameters filled, or 2000 when the loss is NaN (where
    NTIA's reference returns NaN without an error, see :func:`itm_p2p`).
    """
    return itm_prefix_kernel(h_tx_m, h_rx_m, elevation_m, len(elevation_m) - 1, spacing_m,
                             itm_profile_tables(elevation_m), -1, -1, climate, n0, f_mhz, pol,
                             epsilon, sigma, mdvar, time_pct, location_pct, situation_pct, out)[0]


# --------------------------------------------------------------------------------------------
# Public API: validation, the kernel's call and its result


def _check_range(value, name: str, low: float, high: float, unit: str, *, open_interval=False):
    """Raise InputError unless low <= value <= high (low < value < high if ``open_interval``)."""
    ok = low < value < high if open_interval else low <= value <= high
    if not ok:
        brackets = ("(", ")") if open_interval else ("[", "]")
        raise InputError(f"ITM: {name} = {value!r} {unit} is outside ITM's domain "
                         f"{brackets[0]}{low:g}, {high:g}{brackets[1]} {unit}")


def _check_choice(value, name: str, allowed, meaning: str):
    """Raise InputError unless ``value`` is one of ``allowed``; returns it as an int."""
    if value not in allowed:
        raise InputError(f"ITM: {name} = {value!r} is not valid; use {meaning}")
    return int(value)


_MDVAR_VALUES = tuple(base + flags for flags in (0, 10, 20, 30) for base in range(4))


def validate_itm_inputs(h_tx_m, h_rx_m, climate, n0, f_mhz, pol, epsilon, sigma, mdvar, time_pct,
                        location_pct, situation_pct):
    """Raise NTIA's input errors (``ValidateInputs``), in its order; returns climate, pol and
    mdvar as ints."""
    _check_range(h_tx_m, "transmitter height h_tx_m", *TERMINAL_HEIGHT_RANGE_M, "m")
    _check_range(h_rx_m, "receiver height h_rx_m", *TERMINAL_HEIGHT_RANGE_M, "m")
    climate = _check_choice(climate, "climate", range(1, 8), "1 equatorial .. 7 maritime "
                            "temperate over sea (5 continental temperate)")
    _check_range(n0, "surface refractivity n0", 250.0, 400.0, "N-units")
    _check_range(f_mhz, "frequency f_mhz", *FREQUENCY_RANGE_MHZ, "MHz")
    pol = _check_choice(pol, "polarisation pol", (0, 1), "0 horizontal or 1 vertical")
    if not epsilon >= 1.0:
        raise InputError(f"ITM: relative permittivity epsilon = {epsilon!r} must be >= 1")
    if not sigma > 0.0:
        raise InputError(f"ITM: ground conductivity sigma = {sigma!r} S/m must be > 0")
    mdvar = _check_choice(mdvar, "variability mode mdvar", _MDVAR_VALUES,
                          "0 single message, 1 accidental, 2 mobile or 3 broadcast, plus 10 "
                          "(no location variability) and/or 20 (no situation variability)")
    _check_range(situation_pct, "situation percentage", 0.0, 100.0, "%", open_interval=True)
    _check_range(time_pct, "time percentage", 0.0, 100.0, "%", open_interval=True)
    _check_range(location_pct, "location percentage", 0.0, 100.0, "%", open_interval=True)
    return climate, pol, mdvar


def _profile(pfl) -> tuple[np.ndarray, float]:
    """Split an ITM profile [n, spacing_m, z_0 .. z_n] into float64 elevations and the spacing."""
    try:
        values = np.asarray(pfl, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise InputError("ITM: pfl must be a sequence of numbers "
                         "[n, spacing_m, z_0, ..., z_n]") from None
    if values.size < 4 or not np.isfinite(values).all():
        raise InputError("ITM: pfl must be [n intervals, spacing in m, z_0, ..., z_n] of finite "
                         f"numbers with n >= 1; got {values.size} values")
    n = values[0]
    if n < 1 or n != int(n) or values.size != int(n) + 3:
        raise InputError(f"ITM: pfl declares {n:g} intervals, which needs an integer n >= 1 and "
                         f"n + 1 elevations; it holds {values.size - 2}")
    if values[1] <= 0.0:
        raise InputError(f"ITM: pfl spacing is {values[1]:g} m; it must be > 0")
    return np.ascontiguousarray(values[2:]), float(values[1])


_KERNEL_ERRORS = {
    _ERR_NS_SMALL: "the surface refractivity N_s = {n_s:.1f} N-units (n0 scaled to the path's "
                   "mean elevation) is below ITM's minimum of 150",
    _ERR_NS_LARGE: "the surface refractivity N_s = {n_s:.1f} N-units is above ITM's maximum of 400",
    _ERR_EFFECTIVE_EARTH: "the effective earth radius from N_s = {n_s:.1f} N-units is outside "
                          "4000-13333 km",
    _ERR_GROUND_IMPEDANCE: "the ground constants (epsilon, sigma) give a surface transfer "
                           "impedance whose imaginary part is not below its real part; use "
                           "epsilon > 1",
    _ERR_UNDEFINED: "the model is undefined for these inputs (NTIA's reference returns NaN): "
                    "typically Vogler's rounded-earth diffraction, whose K = 0.017778 C_0 "
                    "f^(-1/3) / |Z_g| exceeds 1.607 at a low frequency over very conductive "
                    "ground with vertical polarisation on a rough path",
}


def itm_p2p(h_tx_m, h_rx_m, pfl, climate, n0, f_mhz, pol, epsilon, sigma, mdvar, time_pct,
            location_pct, situation_pct) -> ItmResult:
    """ITM point-to-point prediction with its intermediate values (NTIA's ``ITM_P2P_TLS_Ex``).

    Arguments as :func:`itm_p2p_loss`. Raises :class:`~siting.errors.InputError` for inputs
    where NTIA's reference returns an error, and also where it silently returns NaN (the loss is
    undefined); where it only warns, the result is returned with :attr:`ItmResult.warnings` set.
    """
    climate, pol, mdvar = validate_itm_inputs(h_tx_m, h_rx_m, climate, n0, f_mhz, pol, epsilon,
                                              sigma, mdvar, time_pct, location_pct, situation_pct)
    elevation_m, spacing_m = _profile(pfl)
    out = np.full(ITM_OUT_SIZE, np.nan)
    error = itm_p2p_kernel(float(h_tx_m), float(h_rx_m), elevation_m, spacing_m, climate,
                           float(n0), float(f_mhz), pol, float(epsilon), float(sigma), mdvar,
                           float(time_pct), float(location_pct), float(situation_pct), out)
    if error != _OK:
        raise InputError("ITM: " + _KERNEL_ERRORS[error].format(n_s=out[_OUT_N_S]))
    return ItmResult(
        loss_db=float(out[_OUT_LOSS]), free_space_loss_db=float(out[_OUT_FREE_SPACE]),
        attenuation_db=float(out[_OUT_ATTENUATION]), a_ref_db=float(out[_OUT_A_REF]),
        mode=PropagationMode(int(out[_OUT_MODE])), distance_m=float(out[_OUT_DISTANCE]),
        theta_hzn_rad=(float(out[_OUT_THETA_TX]), float(out[_OUT_THETA_RX])),
        d_hzn_m=(float(out[_OUT_D_HZN_TX]), float(out[_OUT_D_HZN_RX])),
        h_e_m=(float(out[_OUT_H_E_TX]), float(out[_OUT_H_E_RX])),
        n_s=float(out[_OUT_N_S]), delta_h_m=float(out[_OUT_DELTA_H]),
        warnings=ItmWarning(int(out[_OUT_WARNINGS])))


def itm_p2p_loss(h_tx_m, h_rx_m, pfl, climate, n0, f_mhz, pol, epsilon, sigma, mdvar, time_pct,
                 location_pct, situation_pct) -> float | np.ndarray:
    """Basic transmission loss (dB) of ITM's point-to-point mode (NTIA's ``ITM_P2P_TLS``).

    ``h_tx_m``, ``h_rx_m``: structural antenna heights above ground, 0.5-3000 m. ``pfl``: terrain
    profile [n intervals, spacing_m, z_0, ..., z_n] (elevations in m above sea level) from the
    transmitter to the receiver. ``climate``: radio climate 1..7 (see the module docstring).
    ``n0``: surface refractivity at sea level, 250-400 N-units. ``f_mhz``: 20-20000 MHz.
    ``pol``: 0 horizontal, 1 vertical. ``epsilon``: relative permittivity (>= 1); ``sigma``:
    ground conductivity (> 0 S/m). ``mdvar``: variability mode 0 single message, 1 accidental,
    2 mobile, 3 broadcast, +10 without location and/or +20 without direct situation variability.
    ``time_pct``, ``location_pct``, ``situation_pct``: quantiles in (0, 100) %.

    Every argument but ``pfl`` broadcasts with numpy rules
    (:func:`siting.broadcast.broadcast_scalars`): arrays in give an array of their broadcast
    shape out, each element computed on the same profile as a scalar call computes it.
    InputError for an argument out of its range (naming the element of an array), shapes that
    do not broadcast, or a malformed profile.
    """
    def on_the_profile(**scalars) -> float:
        return itm_p2p(pfl=pfl, **scalars).loss_db

    scalars = dict(h_tx_m=h_tx_m, h_rx_m=h_rx_m, climate=climate, n0=n0, f_mhz=f_mhz, pol=pol,
                   epsilon=epsilon, sigma=sigma, mdvar=mdvar, time_pct=time_pct,
                   location_pct=location_pct, situation_pct=situation_pct)
    return broadcast_scalars("itm_p2p_loss", scalars, on_the_profile,
                             check_fixed=lambda: _profile(pfl))


def itm_p2p_cr(h_tx_m, h_rx_m, pfl, climate, n0, f_mhz, pol, epsilon, sigma, mdvar,
               confidence_pct, reliability_pct) -> ItmResult:
    """ITM point-to-point prediction at a confidence and reliability (NTIA's ``ITM_P2P_CR_Ex``):
    the time quantile is the reliability, the location 50 % and the situation the confidence."""
    try:
        return itm_p2p(h_tx_m, h_rx_m, pfl, climate, n0, f_mhz, pol, epsilon, sigma, mdvar,
                       reliability_pct, 50.0, confidence_pct)
    except InputError as error:
        message = str(error).replace("time percentage", "reliability percentage")
        raise InputError(message.replace("situation percentage", "confidence percentage")) from None

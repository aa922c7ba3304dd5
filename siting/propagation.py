"""Path-loss models and terrain diffraction.

Pure, vectorised functions: every argument of the empirical and 3GPP models broadcasts with numpy
rules, scalars in give numpy scalars out. Each model states its validity range; parameters with a
hard range (frequency, antenna heights) raise :class:`~siting.errors.InputError` outside it, while
distance is a soft range: any positive distance is accepted and values outside the stated range are
an extrapolation of the model's formula (documented per function).

:data:`PATH_LOSS_MODELS` is the one registry of the models a technology profile can name: each
entry holds the model's loss in siting's common units and its validity ranges, the very ranges
the functions enforce. The scenario checks (:mod:`siting.config`, :mod:`siting.io`) and the
coverage stage (:mod:`siting.coverage`) read it, so a range is written once. This module imports
nothing of siting but :mod:`siting.errors`, :mod:`siting.itm` and :mod:`siting.p1812` (which import only
:mod:`siting.errors` and :mod:`siting.broadcast`), which is why the scenario layer may read it. ITU-R P.1812
(:func:`p1812_loss`, re-exported from :mod:`siting.p1812`) and NTIA's ITM (:func:`itm_p2p_loss`,
from :mod:`siting.itm`) are *profile* models: each computes the
whole basic loss over the terrain profile, diffraction included, so its registry entry has no
distance-only ``loss_db`` and the coverage stage runs it over the DEM profiles.

Terrain diffraction works on one path profile (distances from the transmitter and ground elevation
above sea level). The numba kernels (``*_kernel``) are the single implementation; the public
profile functions validate their inputs and call them. Clearance over a profile is computed in
one place, :func:`strongest_edge_kernel`: line of sight (no sample above the ray), Deygout's edges
and Bullington's line-of-sight branch all read it. The kernels are ``njit(cache=True,
nogil=True)``, allocation free, and work on the first ``n`` samples of preallocated buffers so
that :mod:`siting.coverage` can call them inside a ``numba.prange`` loop.

Earth curvature on a profile is modelled by adding the bulge ``d (D - d) / (2 k R)`` (R = 6371 km,
k the effective earth-radius factor) to every sample at distance d of a path of length D.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

from siting import itm, p1812
from siting.errors import InputError
from siting.itm import itm_p2p_loss
from siting.p1812 import p1812_loss

__all__ = [
    "free_space_loss",
    "okumura_hata",
    "cost231_hata",
    "rma_38901",
    "uma_38901",
    "p1812_loss",
    "itm_p2p_loss",
    "PathLossModel",
    "PATH_LOSS_MODELS",
    "knife_edge_loss",
    "fresnel_v",
    "deygout_loss",
    "bullington_loss",
    "knife_edge_loss_kernel",
    "curvature_per_m",
    "strongest_edge_kernel",
    "deygout_secondary_edges_kernel",
    "deygout_loss_kernel",
    "bullington_loss_kernel",
    "line_of_sight_clear_kernel",
]

SPEED_OF_LIGHT_M_S = 299_792_458.0
EARTH_RADIUS_M = 6_371_000.0
#: TR 38.901 Table 7.4.1-1 note 1 fixes c = 3.0e8 m/s in the breakpoint distances.
_C_38901_M_S = 3.0e8
#: TR 38.901 UMa effective environment height (h_UT < 13 m, or the deterministic choice above it).
_UMA_H_E_M = 1.0
#: ITU-R P.526 eq. (31) is used for v > -0.78; below, the loss is taken as 0 dB.
_KNIFE_EDGE_V_MIN = -0.78

_HATA_ENVIRONMENTS = ("urban", "suburban", "rural")

# Validity ranges, each written once: the model functions enforce the hard ones (frequency,
# antenna heights) and PATH_LOSS_MODELS hands them all to the scenario checks.
_HATA_FREQUENCY_MHZ = (150.0, 1500.0)  # Hata 1980
_COST231_FREQUENCY_MHZ = (1500.0, 2000.0)  # COST 231 final report, section 4.4.1
_HATA_BASE_HEIGHT_M = (30.0, 200.0)  # both Hata models
_HATA_MOBILE_HEIGHT_M = (1.0, 10.0)
_HATA_DISTANCE_KM = (1.0, 20.0)  # soft
_RMA_FREQUENCY_GHZ = (0.5, 30.0)  # TR 38.901 Table 7.4.1-1 and its notes
_UMA_FREQUENCY_GHZ = (0.5, 100.0)
_TR38901_BASE_HEIGHT_M = (10.0, 150.0)  # RMa and UMa
_RMA_MOBILE_HEIGHT_M = (1.0, 10.0)
_UMA_MOBILE_HEIGHT_M = (1.5, 22.5)
_RMA_DISTANCE_M = (10.0, 10_000.0)  # soft; LOS (NLOS: to 5 km)
_UMA_DISTANCE_M = (10.0, 5_000.0)  # soft


# ---------------------------------------------------------------------------------------------
# validation helpers


def _float_array(value, name: str) -> np.ndarray:
    """``value`` as a float64 array; InputError if it is not numeric or not finite."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric, got {value!r}") from exc
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} must be finite (no NaN or inf)")
    return arr


def _in_range(value, name: str, low: float, high: float, unit: str) -> np.ndarray:
    """Float array of ``value``; InputError unless every element is within [low, high]."""
    arr = _float_array(value, name)
    if np.any((arr < low) | (arr > high)):
        bad = arr[(arr < low) | (arr > high)].flat[0]
        raise InputError(
            f"{name} must be within {low:g}-{high:g} {unit} (model validity range), got {bad:g}")
    return arr


def _positive(value, name: str, unit: str) -> np.ndarray:
    """Float array of ``value``; InputError unless every element is > 0."""
    arr = _float_array(value, name)
    if np.any(arr <= 0.0):
        raise InputError(f"{name} must be > 0 {unit}, got {arr[arr <= 0.0].flat[0]:g}")
    return arr


def _bool_array(value, name: str) -> np.ndarray:
    """``value`` as a bool array; InputError for anything else (0/1 would hide a mistake)."""
    arr = np.asarray(value)
    if arr.dtype.kind != "b":
        raise InputError(f"{name} must be a bool or an array of bools, got dtype {arr.dtype}")
    return arr


def _scalar_or_array(arr: np.ndarray):
    """0-d arrays become numpy scalars; anything else is returned unchanged."""
    return arr[()]


# ---------------------------------------------------------------------------------------------
# free space and empirical models


def free_space_loss(distance_m, frequency_mhz):
    """Free-space basic transmission loss (ITU-R P.525).

    ``L = 32.44 + 20 log10(f) + 20 log10(d)`` with ``f`` in MHz and ``d`` in km (the constant
    32.44 is ``20 log10(4 pi 1e9 / c)`` with c = 3e8 m/s; the exact SI value 32.448 differs by
    less than 0.01 dB).

    Parameters
    ----------
    distance_m : array_like
        Distance between the antennas, > 0 [m].
    frequency_mhz : array_like
        Carrier frequency, > 0 [MHz].

    Returns
    -------
    loss_db : numpy scalar or ndarray
        Basic transmission loss [dB].

    Notes
    -----
    Valid for any positive distance in the far field (d much larger than the wavelength).

    References
    ----------
    .. [1] ITU-R P.525-4, "Calculation of free-space attenuation", 2019.
    """
    d = _positive(distance_m, "distance_m", "m")
    f = _positive(frequency_mhz, "frequency_mhz", "MHz")
    return _scalar_or_array(32.44 + 20.0 * np.log10(f) + 20.0 * np.log10(d / 1000.0))


def _hata_mobile_correction(frequency_mhz, h_mobile_m, large_city):
    """Hata's mobile antenna height correction a(h_m) [dB]."""
    log_f = np.log10(frequency_mhz)
    small = (1.1 * log_f - 0.7) * h_mobile_m - (1.56 * log_f - 0.8)
    if not large_city:
        return small
    low = 8.29 * np.log10(1.54 * h_mobile_m) ** 2 - 1.1  # f <= 200 MHz
    high = 3.2 * np.log10(11.75 * h_mobile_m) ** 2 - 4.97  # f >= 400 MHz
    return np.where(frequency_mhz <= 200.0, low, high)


def okumura_hata(distance_km, frequency_mhz, h_base_m, h_mobile_m, environment="urban",
                 large_city=False):
    """Median path loss of the Okumura-Hata model (Hata 1980).

    Urban: ``L_u = 69.55 + 26.16 log f - 13.82 log h_b - a(h_m) + (44.9 - 6.55 log h_b) log d``
    with the small/medium-city correction ``a(h_m) = (1.1 log f - 0.7) h_m - (1.56 log f - 0.8)``,
    or, when ``large_city``, ``8.29 (log 1.54 h_m)^2 - 1.1`` (f <= 200 MHz) and
    ``3.2 (log 11.75 h_m)^2 - 4.97`` (f >= 400 MHz). Suburban: ``L_u - 2 (log(f/28))^2 - 5.4``.
    Rural is Hata's open-area formula: ``L_u - 4.78 (log f)^2 + 18.33 log f - 40.94``. Suburban
    and rural are built on the small/medium-city ``L_u``, as in Hata's paper.

    Parameters
    ----------
    distance_km : array_like
        Distance between base station and mobile, > 0 [km]. Validity 1-20 km; outside it the
        formula is extrapolated (no error).
    frequency_mhz : array_like
        Carrier frequency, 150-1500 [MHz].
    h_base_m : array_like
        Effective base-station antenna height, 30-200 [m].
    h_mobile_m : array_like
        Mobile antenna height above ground, 1-10 [m].
    environment : {"urban", "suburban", "rural"}
        Land-use category; "rural" is Hata's open area.
    large_city : bool
        Use the large-city mobile correction (only with ``environment="urban"``; the large-city
        correction is undefined by Hata between 200 and 400 MHz, which raises InputError).

    Returns
    -------
    loss_db : numpy scalar or ndarray
        Median basic transmission loss [dB].

    Raises
    ------
    InputError
        Frequency or antenna height outside the validity range, non-positive distance, unknown
        environment, or large_city with a non-urban environment or 200 < f < 400 MHz.

    References
    ----------
    .. [1] M. Hata, "Empirical formula for propagation loss in land mobile radio services",
       IEEE Trans. Veh. Technol., vol. VT-29, no. 3, pp. 317-325, 1980.
    """
    if environment not in _HATA_ENVIRONMENTS:
        raise InputError(
            f"environment must be one of {', '.join(map(repr, _HATA_ENVIRONMENTS))}, "
            f"got {environment!r}")
    d = _positive(distance_km, "distance_km", "km")
    f = _in_range(frequency_mhz, "frequency_mhz", *_HATA_FREQUENCY_MHZ, "MHz")
    h_b = _in_range(h_base_m, "h_base_m", *_HATA_BASE_HEIGHT_M, "m")
    h_m = _in_range(h_mobile_m, "h_mobile_m", *_HATA_MOBILE_HEIGHT_M, "m")
    if large_city:
        if environment != "urban":
            raise InputError("large_city=True applies only to environment='urban' "
                             f"(got environment={environment!r})")
        if np.any((f > 200.0) & (f < 400.0)):
            raise InputError("Hata's large-city correction is defined for frequency_mhz <= 200 "
                             "or >= 400 MHz; use large_city=False between 200 and 400 MHz")
    log_f = np.log10(f)
    log_hb = np.log10(h_b)
    loss = (69.55 + 26.16 * log_f - 13.82 * log_hb - _hata_mobile_correction(f, h_m, large_city)
            + (44.9 - 6.55 * log_hb) * np.log10(d))
    if environment == "suburban":
        loss = loss - 2.0 * np.log10(f / 28.0) ** 2 - 5.4
    elif environment == "rural":
        loss = loss - 4.78 * log_f**2 + 18.33 * log_f - 40.94
    return _scalar_or_array(np.asarray(loss, dtype=np.float64))


def cost231_hata(distance_km, frequency_mhz, h_base_m, h_mobile_m, metropolitan=False):
    """Median path loss of the COST 231 extension of the Hata model (1500-2000 MHz).

    ``L = 46.3 + 33.9 log f - 13.82 log h_b - a(h_m) + (44.9 - 6.55 log h_b) log d + C_m`` with
    Hata's small/medium-city ``a(h_m) = (1.1 log f - 0.7) h_m - (1.56 log f - 0.8)`` and
    ``C_m`` = 0 dB (medium-sized city, suburban centres) or 3 dB (metropolitan centres).

    Parameters
    ----------
    distance_km : array_like
        Distance between base station and mobile, > 0 [km]. Validity 1-20 km; outside it the
        formula is extrapolated (no error).
    frequency_mhz : array_like
        Carrier frequency, 1500-2000 [MHz].
    h_base_m : array_like
        Effective base-station antenna height, 30-200 [m].
    h_mobile_m : array_like
        Mobile antenna height above ground, 1-10 [m].
    metropolitan : bool
        Metropolitan centre: adds C_m = 3 dB. The mobile correction stays the COST 231 a(h_m)
        above; some texts use Hata's large-city a(h_m) instead, which gives 0.12 dB less at
        h_m = 1 m and 2 GHz.

    Returns
    -------
    loss_db : numpy scalar or ndarray
        Median basic transmission loss [dB].

    Raises
    ------
    InputError
        Frequency or antenna height outside the validity range, or non-positive distance.

    References
    ----------
    .. [1] COST Action 231, "Digital mobile radio towards future generation systems", Final
       Report, EUR 18957, European Commission, 1999, section 4.4.1 (COST-Hata model).
    .. [2] M. Hata, IEEE Trans. Veh. Technol., vol. VT-29, no. 3, pp. 317-325, 1980.
    """
    d = _positive(distance_km, "distance_km", "km")
    f = _in_range(frequency_mhz, "frequency_mhz", *_COST231_FREQUENCY_MHZ, "MHz")
    h_b = _in_range(h_base_m, "h_base_m", *_HATA_BASE_HEIGHT_M, "m")
    h_m = _in_range(h_mobile_m, "h_mobile_m", *_HATA_MOBILE_HEIGHT_M, "m")
    log_hb = np.log10(h_b)
    loss = (46.3 + 33.9 * np.log10(f) - 13.82 * log_hb - _hata_mobile_correction(f, h_m, False)
            + (44.9 - 6.55 * log_hb) * np.log10(d) + (3.0 if metropolitan else 0.0))
    return _scalar_or_array(np.asarray(loss, dtype=np.float64))


# ---------------------------------------------------------------------------------------------
# 3GPP TR 38.901


def rma_38901(distance_2d_m, frequency_ghz, h_bs_m, h_ut_m, los=True, building_height_m=5.0,
              street_width_m=20.0):
    """Rural macro (RMa) path loss of 3GPP TR 38.901 V17, Table 7.4.1-1.

    LOS: ``PL1(d) = 20 log10(40 pi d f_c / 3) + min(0.03 h^1.72, 10) log10(d)
    - min(0.044 h^1.72, 14.77) + 0.002 log10(h) d`` up to the breakpoint
    ``d_BP = 2 pi h_BS h_UT f_c / c`` (f_c in Hz, c = 3e8 m/s), then
    ``PL2 = PL1(d_BP) + 40 log10(d_3D / d_BP)``. NLOS: ``max(PL_LOS, PL'_NLOS)`` with
    ``PL'_NLOS = 161.04 - 7.1 log10(W) + 7.5 log10(h) - (24.37 - 3.7 (h/h_BS)^2) log10(h_BS)
    + (43.42 - 3.1 log10(h_BS)) (log10(d_3D) - 3) + 20 log10(f_c) - (3.2 (log10(11.75 h_UT))^2
    - 4.97)``. ``d`` is the 3-D distance; the LOS branch is chosen on the 2-D distance.

    Parameters
    ----------
    distance_2d_m : array_like
        Horizontal distance between BS and UT, > 0 [m]. Validity 10 m-10 km (LOS) and
        10 m-5 km (NLOS); outside it the formulas are extrapolated (no error).
    frequency_ghz : array_like
        Carrier frequency, 0.5-30 [GHz].
    h_bs_m : array_like
        Base-station antenna height, 10-150 [m].
    h_ut_m : array_like
        User-terminal antenna height, 1-10 [m].
    los : bool or array_like of bool
        Line-of-sight condition; broadcasts with the other arguments.
    building_height_m : array_like
        Average building height h, 5-50 [m].
    street_width_m : array_like
        Average street width W, 5-50 [m].

    Returns
    -------
    loss_db : numpy scalar or ndarray
        Median path loss without shadow fading [dB].

    Raises
    ------
    InputError
        A parameter outside its validity range, non-positive distance, or non-bool ``los``.

    References
    ----------
    .. [1] 3GPP TR 38.901 V17.0.0, "Study on channel model for frequencies from 0.5 to 100 GHz",
       2022, section 7.4.1, Table 7.4.1-1 (RMa). Validity ranges as in the table and its notes
       (f_c 0.5-30 GHz for RMa).
    """
    d2 = _positive(distance_2d_m, "distance_2d_m", "m")
    fc = _in_range(frequency_ghz, "frequency_ghz", *_RMA_FREQUENCY_GHZ, "GHz")
    h_bs = _in_range(h_bs_m, "h_bs_m", *_TR38901_BASE_HEIGHT_M, "m")
    h_ut = _in_range(h_ut_m, "h_ut_m", *_RMA_MOBILE_HEIGHT_M, "m")
    h = _in_range(building_height_m, "building_height_m", 5.0, 50.0, "m")
    w = _in_range(street_width_m, "street_width_m", 5.0, 50.0, "m")
    is_los = _bool_array(los, "los")

    d3 = np.hypot(d2, h_bs - h_ut)
    d_bp = 2.0 * np.pi * h_bs * h_ut * fc * 1e9 / _C_38901_M_S

    def pl1(d):
        return (20.0 * np.log10(40.0 * np.pi * d * fc / 3.0)
                + np.minimum(0.03 * h**1.72, 10.0) * np.log10(d)
                - np.minimum(0.044 * h**1.72, 14.77) + 0.002 * np.log10(h) * d)

    pl_los = np.where(d2 <= d_bp, pl1(d3), pl1(d_bp) + 40.0 * np.log10(d3 / d_bp))
    pl_nlos_prime = (161.04 - 7.1 * np.log10(w) + 7.5 * np.log10(h)
                     - (24.37 - 3.7 * (h / h_bs) ** 2) * np.log10(h_bs)
                     + (43.42 - 3.1 * np.log10(h_bs)) * (np.log10(d3) - 3.0)
                     + 20.0 * np.log10(fc) - (3.2 * np.log10(11.75 * h_ut) ** 2 - 4.97))
    loss = np.where(is_los, pl_los, np.maximum(pl_los, pl_nlos_prime))
    return _scalar_or_array(loss)


def uma_38901(distance_2d_m, frequency_ghz, h_bs_m, h_ut_m, los=True):
    """Urban macro (UMa) path loss of 3GPP TR 38.901 V17, Table 7.4.1-1.

    LOS: ``PL1 = 28.0 + 22 log10(d_3D) + 20 log10(f_c)`` up to the breakpoint
    ``d'_BP = 4 h'_BS h'_UT f_c / c`` (effective heights ``h' = h - h_E`` with h_E = 1 m,
    f_c in Hz, c = 3e8 m/s), then ``PL2 = 28.0 + 40 log10(d_3D) + 20 log10(f_c)
    - 9 log10(d'_BP^2 + (h_BS - h_UT)^2)``. NLOS: ``max(PL_LOS, PL'_NLOS)`` with
    ``PL'_NLOS = 13.54 + 39.08 log10(d_3D) + 20 log10(f_c) - 0.6 (h_UT - 1.5)``.

    Parameters
    ----------
    distance_2d_m : array_like
        Horizontal distance between BS and UT, > 0 [m]. Validity 10 m-5 km; outside it the
        formulas are extrapolated (no error).
    frequency_ghz : array_like
        Carrier frequency, 0.5-100 [GHz].
    h_bs_m : array_like
        Base-station antenna height, 10-150 [m]. TR 38.901 calibrates UMa at h_BS = 25 m; other
        heights are an extrapolation through the breakpoint and 3-D distance only.
    h_ut_m : array_like
        User-terminal antenna height, 1.5-22.5 [m]. TR 38.901 draws h_E at random for
        h_UT >= 13 m; this function always uses h_E = 1 m (deterministic median model).
    los : bool or array_like of bool
        Line-of-sight condition; broadcasts with the other arguments.

    Returns
    -------
    loss_db : numpy scalar or ndarray
        Median path loss without shadow fading [dB].

    Raises
    ------
    InputError
        A parameter outside its validity range, non-positive distance, or non-bool ``los``.

    References
    ----------
    .. [1] 3GPP TR 38.901 V17.0.0, "Study on channel model for frequencies from 0.5 to 100 GHz",
       2022, section 7.4.1, Table 7.4.1-1 (UMa).
    """
    d2 = _positive(distance_2d_m, "distance_2d_m", "m")
    fc = _in_range(frequency_ghz, "frequency_ghz", *_UMA_FREQUENCY_GHZ, "GHz")
    h_bs = _in_range(h_bs_m, "h_bs_m", *_TR38901_BASE_HEIGHT_M, "m")
    h_ut = _in_range(h_ut_m, "h_ut_m", *_UMA_MOBILE_HEIGHT_M, "m")
    is_los = _bool_array(los, "los")

    d3 = np.hypot(d2, h_bs - h_ut)
    d_bp = 4.0 * (h_bs - _UMA_H_E_M) * (h_ut - _UMA_H_E_M) * fc * 1e9 / _C_38901_M_S
    log_fc = np.log10(fc)
    pl1 = 28.0 + 22.0 * np.log10(d3) + 20.0 * log_fc
    pl2 = 28.0 + 40.0 * np.log10(d3) + 20.0 * log_fc - 9.0 * np.log10(d_bp**2 + (h_bs - h_ut) ** 2)
    pl_los = np.where(d2 <= d_bp, pl1, pl2)
    pl_nlos_prime = 13.54 + 39.08 * np.log10(d3) + 20.0 * log_fc - 0.6 * (h_ut - 1.5)
    loss = np.where(is_los, pl_los, np.maximum(pl_los, pl_nlos_prime))
    return _scalar_or_array(loss)


# ---------------------------------------------------------------------------------------------
# the registry of path-loss models


@dataclass(frozen=True)
class PathLossModel:
    """A path-loss model as a technology profile names it: its loss and where it holds.

    Attributes
    ----------
    name : str
        The name a scenario's ``technologies[].model`` uses.
    loss_db : callable
        ``loss_db(distance_m, frequency_mhz, h_base_m, h_mobile_m, environment)``: the model's
        median basic loss [dB] in siting's common units (horizontal distance [m], frequency
        [MHz], antenna heights above ground [m]), so that every model is called alike. The 3GPP
        models give their LOS branch: terrain enters through the diffraction term of
        :mod:`siting.coverage`. ``environment`` ("urban" | "suburban" | "rural") is read by
        Okumura-Hata only.
    frequency_range_mhz, base_height_range_m, mobile_height_range_m : (float, float)
        Closed validity ranges [MHz], [m], [m]; the model's function raises
        :class:`~siting.errors.InputError` outside them.
    distance_range_m : (float, float)
        Validity range of the horizontal distance [m]; soft: outside it the formula is
        extrapolated, and a caller may raise shorter distances to the lower end.
    terrain_profile : bool
        True for a model that computes the whole basic loss over the terrain profile between
        the antennas, diffraction included (ITU-R P.1812): ``loss_db`` is None and
        :mod:`siting.coverage` runs the model's profile kernel instead of ``loss_db`` plus
        Deygout's diffraction.
    """

    name: str
    loss_db: Callable[..., np.ndarray] | None
    frequency_range_mhz: tuple[float, float]
    base_height_range_m: tuple[float, float]
    mobile_height_range_m: tuple[float, float]
    distance_range_m: tuple[float, float]
    terrain_profile: bool = False


def _mhz(range_ghz: tuple[float, float]) -> tuple[float, float]:
    """A frequency range [GHz] in MHz, the unit of technology profiles."""
    return (range_ghz[0] * 1000.0, range_ghz[1] * 1000.0)


def _km_to_m(range_km: tuple[float, float]) -> tuple[float, float]:
    """A distance range [km] in metres, the unit of the registry's ``loss_db``."""
    return (range_km[0] * 1000.0, range_km[1] * 1000.0)


#: Every path-loss model a technology may use, by name (in the order error messages list them).
#: Free space holds at any frequency in the far field; 1 MHz-100 GHz bounds what siting accepts.
PATH_LOSS_MODELS: dict[str, PathLossModel] = {model.name: model for model in (
    PathLossModel(
        "okumura_hata",
        lambda d_m, f_mhz, h_b, h_m, environment:
            okumura_hata(d_m / 1000.0, f_mhz, h_b, h_m, environment=environment),
        _HATA_FREQUENCY_MHZ, _HATA_BASE_HEIGHT_M, _HATA_MOBILE_HEIGHT_M,
        _km_to_m(_HATA_DISTANCE_KM)),
    PathLossModel(
        "cost231_hata",
        lambda d_m, f_mhz, h_b, h_m, environment: cost231_hata(d_m / 1000.0, f_mhz, h_b, h_m),
        _COST231_FREQUENCY_MHZ, _HATA_BASE_HEIGHT_M, _HATA_MOBILE_HEIGHT_M,
        _km_to_m(_HATA_DISTANCE_KM)),
    PathLossModel(
        "rma_38901",
        lambda d_m, f_mhz, h_b, h_m, environment:
            rma_38901(d_m, f_mhz / 1000.0, h_b, h_m, los=True),
        _mhz(_RMA_FREQUENCY_GHZ), _TR38901_BASE_HEIGHT_M, _RMA_MOBILE_HEIGHT_M, _RMA_DISTANCE_M),
    PathLossModel(
        "uma_38901",
        lambda d_m, f_mhz, h_b, h_m, environment:
            uma_38901(d_m, f_mhz / 1000.0, h_b, h_m, los=True),
        _mhz(_UMA_FREQUENCY_GHZ), _TR38901_BASE_HEIGHT_M, _UMA_MOBILE_HEIGHT_M, _UMA_DISTANCE_M),
    PathLossModel(
        "free_space",
        lambda d_m, f_mhz, h_b, h_m, environment: free_space_loss(d_m, f_mhz),
        (1.0, 100_000.0), (0.0, math.inf), (0.0, math.inf), (0.0, math.inf)),
    PathLossModel("p1812", None, _mhz(p1812.FREQUENCY_RANGE_GHZ), p1812.ANTENNA_HEIGHT_RANGE_M,
                  p1812.ANTENNA_HEIGHT_RANGE_M, _km_to_m(p1812.DISTANCE_RANGE_KM),
                  terrain_profile=True),
    PathLossModel("itm", None, itm.FREQUENCY_RANGE_MHZ, itm.TERMINAL_HEIGHT_RANGE_M,
                  itm.TERMINAL_HEIGHT_RANGE_M, itm.DISTANCE_RANGE_M, terrain_profile=True),
)}


# ---------------------------------------------------------------------------------------------
# knife-edge diffraction


@numba.njit(cache=True, nogil=True)
def knife_edge_loss_kernel(v):
    """ITU-R P.526 eq. (31) for one ``v``: J(v) [dB], 0 for v <= -0.78 (see knife_edge_loss)."""
    if v <= _KNIFE_EDGE_V_MIN:
        return 0.0
    x = v - 0.1
    return 6.9 + 20.0 * math.log10(math.sqrt(x * x + 1.0) + x)


def _knife_edge_loss_scalar(v):
    """:func:`knife_edge_loss_kernel`, for :func:`_knife_edge_loss_ufunc` to vectorize."""
    return knife_edge_loss_kernel(v)


@functools.cache
def _knife_edge_loss_ufunc():
    """:func:`knife_edge_loss_kernel` as a numpy ufunc (broadcasting, any shape), built at its
    first use: building a ufunc compiles its loop's wrapper even when numba's cache holds the
    loop (about 0.03 s CPU), which every process importing this module paid at import, a
    ``siting predict`` that never asks for J(v) of an array included."""
    return numba.vectorize(["float64(float64)"], cache=True)(_knife_edge_loss_scalar)


def knife_edge_loss(v):
    """Single knife-edge diffraction loss J(v) (ITU-R P.526 eq. 31).

    ``J(v) = 6.9 + 20 log10(sqrt((v - 0.1)^2 + 1) + v - 0.1)`` for v > -0.78, else 0 dB.
    The approximation gives J(0) = 6.03 dB against the exact 6.02 dB (20 log10 2) of the
    Fresnel-integral expression, eq. (26), and stays within 0.13 dB of it for v > -0.78, the
    range P.526 gives it for; below, the exact loss oscillates around 0 dB and 0 is returned.

    Parameters
    ----------
    v : array_like
        Fresnel-Kirchhoff diffraction parameter [dimensionless] (see :func:`fresnel_v`).

    Returns
    -------
    loss_db : numpy scalar or ndarray
        Diffraction loss relative to free space, >= 0 [dB].

    References
    ----------
    .. [1] ITU-R P.526-15, "Propagation by diffraction", 2019, section 4.1, eqs. (26), (31).
    """
    return _scalar_or_array(np.asarray(_knife_edge_loss_ufunc()(_float_array(v, "v"))))


def fresnel_v(h_m, d1_m, d2_m, wavelength_m):
    """Fresnel-Kirchhoff diffraction parameter ``v = h sqrt(2 / lambda (1/d1 + 1/d2))`` (P.526).

    Parameters
    ----------
    h_m : array_like
        Height of the obstacle top above the straight line joining the two ends of the path
        (negative when the top is below it) [m].
    d1_m : array_like
        Distance from the first end to the obstacle, > 0 [m].
    d2_m : array_like
        Distance from the obstacle to the other end, > 0 [m].
    wavelength_m : array_like
        Wavelength, > 0 [m].

    Returns
    -------
    v : numpy scalar or ndarray
        Diffraction parameter [dimensionless].

    References
    ----------
    .. [1] ITU-R P.526-15, "Propagation by diffraction", 2019, section 4.1.
    """
    h = _float_array(h_m, "h_m")
    d1 = _positive(d1_m, "d1_m", "m")
    d2 = _positive(d2_m, "d2_m", "m")
    lam = _positive(wavelength_m, "wavelength_m", "m")
    return _scalar_or_array(h * np.sqrt(2.0 / lam * (1.0 / d1 + 1.0 / d2)))


# ---------------------------------------------------------------------------------------------
# terrain profile kernels


@numba.njit(cache=True, nogil=True)
def curvature_per_m(earth_radius_factor):
    """Earth-bulge coefficient 1 / (2 k R) [1/m], 0 (flat earth) when k <= 0.

    A sample at distance d on a path of length D is raised by ``d (D - d)`` times it [m].
    """
    if earth_radius_factor <= 0.0:
        return 0.0
    return 1.0 / (2.0 * earth_radius_factor * EARTH_RADIUS_M)


@numba.njit(cache=True, nogil=True)
def _ground_with_bulge(distance_m, terrain_m, i, length_m, curvature):
    """Terrain at sample i plus the earth bulge d (D - d) / (2 k R) [m]."""
    d = distance_m[i] - distance_m[0]
    return terrain_m[i] + d * (length_m - d) * curvature


#: J(v) is 0 dB for v <= -0.78 (ITU-R P.526 eq. 31); squared, with a margin for rounding.
_V_MIN_SQUARED_SAFE = 0.78 * 0.78 * (1.0 + 1e-9)


@numba.njit(cache=True, nogil=True)
def strongest_edge_kernel(distance_m, terrain_m, first, last, h_first, h_last, length_m, curvature,
                          wavelength_m):
    """The sample strictly between ``first`` and ``last`` with the largest diffraction parameter
    v relative to the ray from (first, h_first) to (last, h_last) [m a.s.l.]: (index, v).

    The ground of every sample is raised by the earth bulge of the whole path (``length_m``
    [m], ``curvature`` from :func:`curvature_per_m`). Samples whose v is provably below -0.78
    (below the ray by more than they could diffract, J(v) = 0 dB) skip the square root; when
    every sample does, the result is (-1, -inf). Either way ``knife_edge_loss_kernel(v)`` is
    J of the strongest edge, and v > 0 exactly when some sample rises above the ray (the sign
    of v is that of the clearance).
    """
    best_i = -1
    best_v = -np.inf
    x_first = distance_m[first]
    x_last = distance_m[last]
    span = x_last - x_first
    two_over_lambda = 2.0 / wavelength_m
    for i in range(first + 1, last):
        d1 = distance_m[i] - x_first
        d2 = x_last - distance_m[i]
        ray = h_first + (h_last - h_first) * d1 / span
        clearance = _ground_with_bulge(distance_m, terrain_m, i, length_m, curvature) - ray
        factor = two_over_lambda * (1.0 / d1 + 1.0 / d2)
        if clearance < 0.0 and clearance * clearance * factor > _V_MIN_SQUARED_SAFE:
            continue
        v = clearance * math.sqrt(factor)
        if v > best_v:
            best_v = v
            best_i = i
    return best_i, best_v


@numba.njit(cache=True, nogil=True)
def deygout_secondary_edges_kernel(distance_m, terrain_m, last, principal, principal_loss_db,
                                   h_tx, h_rx, length_m, curvature, wavelength_m, max_edges):
    """Deygout's loss [dB] of a path whose principal edge is known: ``principal_loss_db`` plus
    the secondary edges' (numba kernel).

    ``principal`` is the sample index of the principal edge (found by
    :func:`strongest_edge_kernel` over the whole path, or by a caller's own fused pass);
    ``h_tx`` / ``h_rx`` are the antennas [m a.s.l.] at samples 0 and ``last``. The secondary
    edges are the strongest edges of the sub-paths tx-edge and edge-rx, v taken relative to the
    ray from the terminal to the principal edge's top (ground plus bulge). ``max_edges`` <= 1
    adds nothing, 2 adds the larger secondary loss, 3 or more both.
    """
    if max_edges < 2:
        return principal_loss_db
    h_p = _ground_with_bulge(distance_m, terrain_m, principal, length_m, curvature)
    loss_t = 0.0
    if principal > 1:
        _, v_t = strongest_edge_kernel(distance_m, terrain_m, 0, principal, h_tx, h_p, length_m,
                                       curvature, wavelength_m)
        loss_t = knife_edge_loss_kernel(v_t)
    loss_r = 0.0
    if principal < last - 1:
        _, v_r = strongest_edge_kernel(distance_m, terrain_m, principal, last, h_p, h_rx,
                                       length_m, curvature, wavelength_m)
        loss_r = knife_edge_loss_kernel(v_r)
    if max_edges == 2:
        return principal_loss_db + max(loss_t, loss_r)
    return principal_loss_db + loss_t + loss_r


@numba.njit(cache=True, nogil=True)
def deygout_loss_kernel(distance_m, terrain_m, n, h_tx_m, h_rx_m, wavelength_m,
                        earth_radius_factor, max_edges):
    """Deygout diffraction loss [dB] over the first ``n`` samples of a profile (numba kernel).

    Same method as :func:`deygout_loss`, without input validation: ``distance_m`` must be
    strictly ascending over the first ``n`` samples. ``earth_radius_factor <= 0`` means flat
    earth; ``max_edges`` <= 0 gives 0 dB, 1 the principal edge only, 2 the principal edge plus the
    larger secondary edge, 3 or more the principal edge plus one secondary edge on each side.
    """
    if n < 3 or max_edges < 1:
        return 0.0
    last = n - 1
    length_m = distance_m[last] - distance_m[0]
    curvature = curvature_per_m(earth_radius_factor)
    h_tx = terrain_m[0] + h_tx_m
    h_rx = terrain_m[last] + h_rx_m
    p, v_p = strongest_edge_kernel(distance_m, terrain_m, 0, last, h_tx, h_rx, length_m,
                                   curvature, wavelength_m)
    loss = knife_edge_loss_kernel(v_p)
    if loss == 0.0:
        return loss
    return deygout_secondary_edges_kernel(distance_m, terrain_m, last, p, loss, h_tx, h_rx,
                                          length_m, curvature, wavelength_m, max_edges)


@numba.njit(cache=True, nogil=True)
def bullington_loss_kernel(distance_m, terrain_m, n, h_tx_m, h_rx_m, wavelength_m,
                           earth_radius_factor):
    """Bullington diffraction loss [dB] over the first ``n`` samples of a profile (numba kernel).

    Same method as :func:`bullington_loss`, without input validation; ``earth_radius_factor
    <= 0`` means flat earth.
    """
    if n < 3:
        return 0.0
    last = n - 1
    length_m = distance_m[last] - distance_m[0]
    curvature = curvature_per_m(earth_radius_factor)
    h_ts = terrain_m[0] + h_tx_m
    h_rs = terrain_m[last] + h_rx_m
    s_tim = -np.inf  # steepest slope tx -> intermediate sample (P.1812-8 eq. 13)
    s_rim = -np.inf  # steepest slope rx -> intermediate sample (eq. 17)
    for i in range(1, last):
        d_i = distance_m[i] - distance_m[0]
        g_i = _ground_with_bulge(distance_m, terrain_m, i, length_m, curvature)
        s_tim = max(s_tim, (g_i - h_ts) / d_i)
        s_rim = max(s_rim, (g_i - h_rs) / (length_m - d_i))
    s_tr = (h_rs - h_ts) / length_m  # eq. (14)
    if s_tim < s_tr or s_tim + s_rim <= 0.0:  # line of sight: highest v on the profile, eq. (15)
        _, v = strongest_edge_kernel(distance_m, terrain_m, 0, last, h_ts, h_rs, length_m,
                                     curvature, wavelength_m)
    else:  # trans-horizon: the Bullington point, eqs. (18)-(20); it lies between the horizon
        # samples, so clamping to the intermediate samples only absorbs rounding
        d_b = (h_rs - h_ts + s_rim * length_m) / (s_tim + s_rim)
        d_b = min(max(d_b, distance_m[1] - distance_m[0]), distance_m[last - 1] - distance_m[0])
        v = ((h_ts + s_tim * d_b - (h_ts * (length_m - d_b) + h_rs * d_b) / length_m)
             * math.sqrt(2.0 * length_m / (wavelength_m * d_b * (length_m - d_b))))
    loss_uc = knife_edge_loss_kernel(v)
    return loss_uc + (1.0 - math.exp(-loss_uc / 6.0)) * (10.0 + 0.02 * length_m / 1000.0)


@numba.njit(cache=True, nogil=True)
def line_of_sight_clear_kernel(distance_m, terrain_m, n, h_tx_m, h_rx_m, earth_radius_factor):
    """True when no intermediate sample (terrain + earth bulge) is above the straight tx-rx ray.

    Works on the first ``n`` samples; the antennas stand ``h_tx_m`` / ``h_rx_m`` above the first
    and last samples; ``earth_radius_factor <= 0`` means flat earth. A sample exactly on the ray
    does not block. This is the sign of the strongest edge's v (:func:`strongest_edge_kernel`,
    whose sign does not depend on the wavelength, here 1 m), so line of sight and diffraction
    read one clearance computation.
    """
    if n < 3:
        return True
    last = n - 1
    _, v = strongest_edge_kernel(distance_m, terrain_m, 0, last, terrain_m[0] + h_tx_m,
                                 terrain_m[last] + h_rx_m, distance_m[last] - distance_m[0],
                                 curvature_per_m(earth_radius_factor), 1.0)
    return not v > 0.0


# ---------------------------------------------------------------------------------------------
# terrain profile wrappers


def _profile(distance_m, terrain_m, h_tx_m, h_rx_m, frequency_mhz, earth_radius_factor):
    """Validate a profile; returns (distance, terrain, wavelength_m, k) ready for the kernels."""
    d = np.ascontiguousarray(_float_array(distance_m, "distance_m"))
    z = np.ascontiguousarray(_float_array(terrain_m, "terrain_m"))
    if d.ndim != 1 or z.ndim != 1:
        raise InputError(
            f"distance_m and terrain_m must be 1-D, got shapes {d.shape} and {z.shape}")
    if d.shape != z.shape:
        raise InputError(f"distance_m and terrain_m must have the same length, got {d.size} and "
                         f"{z.size}")
    if d.size < 2:
        raise InputError(f"a profile needs at least 2 samples (the two antennas), got {d.size}")
    if np.any(np.diff(d) <= 0.0):
        raise InputError("distance_m must be strictly ascending (from the transmitter)")
    for value, name in ((h_tx_m, "h_tx_m"), (h_rx_m, "h_rx_m")):
        h = _float_array(value, name)
        if h.ndim != 0 or h < 0.0:
            raise InputError(f"{name} must be a scalar >= 0 m above ground, got {value!r}")
    f = _positive(frequency_mhz, "frequency_mhz", "MHz")
    if f.ndim != 0:
        raise InputError("frequency_mhz must be a scalar for a profile")
    if earth_radius_factor is None:
        k = 0.0
    else:
        k = float(_float_array(earth_radius_factor, "earth_radius_factor"))
        if k < 0.0:
            raise InputError(f"earth_radius_factor must be >= 0 (0 or None: flat earth), got {k:g}")
    return d, z, SPEED_OF_LIGHT_M_S / (float(f) * 1e6), k


def deygout_loss(distance_m, terrain_m, h_tx_m, h_rx_m, frequency_mhz, *,
                 earth_radius_factor=4.0 / 3.0, max_edges=3):
    """Multiple knife-edge diffraction loss over a terrain profile (Deygout 1966).

    Every intermediate sample (terrain plus earth bulge) is a candidate knife edge. The principal
    edge is the sample with the largest diffraction parameter v relative to the tx-rx ray; its loss
    is J(v_p) (:func:`knife_edge_loss`). When it diffracts (v_p > -0.78), the sub-paths tx-edge
    and edge-rx are searched the same way for one secondary edge each, with v relative to the ray
    from the terminal to the principal edge's top, and the loss is ``J(v_p) + J(v_t) + J(v_r)``.
    The classic sum is returned, without the empirical corrections some editions of ITU-R P.526
    apply to it; it is known to overestimate loss for many similar edges.

    Parameters
    ----------
    distance_m : array_like
        1-D distances of the profile samples from the transmitter, strictly ascending; the
        first sample is the transmitter site and the last the receiver site [m].
    terrain_m : array_like
        Ground elevation above sea level at those distances (same length) [m].
    h_tx_m : float
        Transmitter antenna height above ``terrain_m[0]``, >= 0 [m].
    h_rx_m : float
        Receiver antenna height above ``terrain_m[-1]``, >= 0 [m].
    frequency_mhz : float
        Carrier frequency, > 0 [MHz].
    earth_radius_factor : float or None
        Effective earth radius factor k (the bulge ``d (D - d) / (2 k 6371 km)`` is added to the
        intermediate samples); None or 0 for a flat earth [dimensionless].
    max_edges : {1, 2, 3}
        Edges considered: the principal edge only, plus the larger secondary edge, or plus one
        secondary edge on each side.

    Returns
    -------
    loss_db : float
        Diffraction loss in excess of free space, 0 when every sample is clear of the ray by
        more than about 0.55 of the first Fresnel zone radius (v <= -0.78) [dB].

    Notes
    -----
    Valid where the knife-edge idealisation is (obstacle size much larger than the wavelength;
    in practice 30 MHz and above over terrain); the profile must sample the terrain densely enough
    to contain the obstacle tops. Raising the terrain never lowers the principal-edge loss
    (``max_edges=1``), but the three-edge total is not monotonic: raising the principal edge (or
    adding a new one) can lift the rays to its top clear of secondary edges that were close to
    grazing, and the sum can then drop, by several dB on rough terrain. This is a property of
    Deygout's construction (which overestimates loss over closely spaced edges), not of this
    implementation; :func:`bullington_loss` is monotonic in the terrain.

    References
    ----------
    .. [1] J. Deygout, "Multiple knife-edge diffraction of microwaves", IEEE Trans. Antennas
       Propag., vol. AP-14, no. 4, pp. 480-489, 1966.
    .. [2] ITU-R P.526-15, "Propagation by diffraction", 2019, section 4.1 (v and eq. 31); the
       three-edge Deygout construction is the one of earlier P.526 editions, without their
       empirical correction terms.
    """
    if max_edges not in (1, 2, 3):
        raise InputError(f"max_edges must be 1, 2 or 3, got {max_edges!r}")
    d, z, wavelength_m, k = _profile(distance_m, terrain_m, h_tx_m, h_rx_m, frequency_mhz,
                                     earth_radius_factor)
    return float(deygout_loss_kernel(d, z, d.size, float(h_tx_m), float(h_rx_m), wavelength_m,
                                     k, int(max_edges)))


def bullington_loss(distance_m, terrain_m, h_tx_m, h_rx_m, frequency_mhz, *,
                    earth_radius_factor=4.0 / 3.0):
    """Bullington diffraction loss over a terrain profile (ITU-R P.526-15, section 4.5.1).

    The terrain is replaced by one equivalent knife edge: for a line-of-sight path, the sample
    with the largest v; otherwise the intersection (Bullington point) of the steepest rays from
    each terminal over the terrain plus earth bulge. With ``L_uc = J(v)`` (eq. 31) the loss is
    ``L_b = L_uc + (1 - exp(-L_uc / 6)) (10 + 0.02 d)``, d the path length in km. This is the
    "Bullington" part of the delta-Bullington method of P.526 / P.452 / P.1812 (the spherical-earth
    terms are not included).

    Parameters
    ----------
    distance_m : array_like
        1-D distances of the profile samples from the transmitter, strictly ascending [m].
    terrain_m : array_like
        Ground (or ground plus clutter) elevation above sea level at those distances [m].
    h_tx_m : float
        Transmitter antenna height above ``terrain_m[0]``, >= 0 [m].
    h_rx_m : float
        Receiver antenna height above ``terrain_m[-1]``, >= 0 [m].
    frequency_mhz : float
        Carrier frequency, > 0 [MHz].
    earth_radius_factor : float or None
        Effective earth radius factor k; None or 0 for a flat earth [dimensionless].

    Returns
    -------
    loss_db : float
        Diffraction loss in excess of free space, >= 0 [dB].

    Notes
    -----
    P.526 states the method for general terrestrial paths; P.1812 uses it from 30 MHz to 6 GHz.

    References
    ----------
    .. [1] ITU-R P.526-15, "Propagation by diffraction", 2019, section 4.5.1.
    .. [2] ITU-R P.1812-8, 2025, section 4.3.1 (same method, eqs. 13-21).
    """
    d, z, wavelength_m, k = _profile(distance_m, terrain_m, h_tx_m, h_rx_m, frequency_mhz,
                                     earth_radius_factor)
    return float(bullington_loss_kernel(d, z, d.size, float(h_tx_m), float(h_rx_m), wavelength_m,
                                        k))

"""ITU-R P.1812-8: path-specific point-to-area prediction, 30 MHz to 6 GHz.

:func:`p1812_loss` returns the basic transmission loss Lb (dB) not exceeded for ``p_percent`` of
the time and ``pl_percent`` of locations, and the field strength Ep (dB(uV/m) for 1 kW e.r.p.),
for one radio path profile. :func:`p1812_components` returns every intermediate quantity as a
:class:`P1812Components`. Section numbers are those of Recommendation ITU-R P.1812-8 (09/2025),
Annex 1 and its Attachments (1: path profile analysis, 2: inverse normal distribution).
Equation numbers are those the ITU-R reference implementation (eeveetza/Py1812) cites; its
validation logs label a few Attachment 1 quantities with neighbouring numbers (for instance
h_m as eq. 93 where the source says eq. 95), so for Attachment 1 the section is the stable
reference.

The profile is four arrays of equal length ``n``: distance from the transmitter ``d_km``
(``d[0] = 0``, strictly increasing), terrain height above sea level ``h_m``, representative
clutter height ``r_m`` and radio-climatic zone ``zone`` (1 sea, 3 coastal land, 4 inland; §3.3).

Terminal clutter. P.1812-8 has no separate end-correction for the clutter around the terminals
(the "height of clutter h_a" losses A_ht/A_hr of P.1812-3 §4.7, as in P.452, are gone from the
current editions). The representative clutter heights R are added to the terrain heights at every
intermediate profile point, g_i = h_i + R_i (§3.2.1), and the terminals themselves stand on the
bare terrain (g_1 = h_1, g_n = h_n). The delta-Bullington diffraction over g therefore produces
the loss of a terminal below the clutter next to it (R_2, R_n-1), and a terminal above it is
unaffected. The path-profile analysis of Attachment 1 (horizons, smooth-Earth and effective
heights) works on the bare terrain h.

The radio-meteorological inputs come from ITU-R digital maps that may not be redistributed:
ΔN (``delta_n``, DN50.TXT) and N0 (``n0``, N050.TXT) at the path centre. Pass them as numbers;
:func:`itu_map_inputs` reads them from the user's own copy of the maps.

Constants follow the reference implementation where P.1812 leaves them implicit: wavelength
λ = 0.2998 / f (m, f in GHz) and the mean Earth radius 6 371 km.

Everything works on plain float64 numpy arrays and Python floats (no pandas). The scalar steps
are numba-compiled functions shared by the reference and by :func:`p1812_inland_loss_kernel`,
which runs the profile analysis, delta-Bullington and the combination as allocation-free loops
for the coverage stage's many profiles (:mod:`siting.coverage`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numba
import numpy as np

from siting.broadcast import broadcast_scalars
from siting.errors import InputError

__all__ = [
    "P1812Components",
    "inverse_normal",
    "itu_map_inputs",
    "p1812_components",
    "p1812_inland_loss_kernel",
    "p1812_loss",
    "path_centre_deg",
    "read_itu_map_value",
]

EARTH_RADIUS_KM = 6371.0
#: λ (m) = 0.2998 / f (GHz), as in the ITU-R reference implementation.
_WAVELENGTH_M_GHZ = 0.2998
#: Effective Earth-radius factor exceeded for β0 % of the time (eq. 7b).
_K_BETA = 3.0
ZONE_SEA, ZONE_COASTAL_LAND, ZONE_INLAND = 1, 3, 4
#: (relative permittivity, conductivity S/m) of land and sea for eq. (28).
_LAND_GROUND = (22.0, 0.003)
_SEA_GROUND = (80.0, 5.0)
#: ITU grid of the digital maps DN50.TXT / N050.TXT: 1.5 deg, lat 90..-90, lon 0..360.
_MAP_STEP_DEG = 1.5
_MAP_SHAPE = (121, 241)
_MAP_NAMES = ("DN50", "N050")

#: Validity ranges of §1 and §3.1 (closed): frequency [GHz], time percentage [%], antenna
#: heights above ground [m], path length [km] (soft: the method's stated scope).
FREQUENCY_RANGE_GHZ = (0.03, 6.0)
TIME_PERCENT_RANGE = (1.0, 50.0)
ANTENNA_HEIGHT_RANGE_M = (1.0, 3000.0)
DISTANCE_RANGE_KM = (0.25, 3000.0)


@dataclass(frozen=True)
class P1812Components:
    """Every intermediate quantity of one P.1812-8 prediction (selected polarisation).

    Suffixes give units; ``_50`` quantities use the median effective Earth radius a_e, ``_b0``
    ones the radius a_β exceeded for β0 % of the time.
    """

    d_km: float  # path length
    omega: float  # fraction of the path over sea, Table 3 (ω)
    dtm_km: float  # longest continuous land section, §3.6
    dlm_km: float  # longest continuous inland section, §3.6
    phi_centre_deg: float  # path-centre latitude, eq. (4)
    lam_centre_deg: float  # path-centre longitude
    b0_percent: float  # β0, eq. (5)
    ae_km: float  # median effective Earth radius, eq. (7a)
    ab_km: float  # a_β, eq. (7b)
    is_transhorizon: bool  # Attachment 1 §4, eq. (76) against eq. (78)
    hts_m: float  # Tx antenna height above sea level
    hrs_m: float  # Rx antenna height above sea level
    theta_t_mrad: float  # Tx horizon elevation angle, eq. (79)
    theta_r_mrad: float  # Rx horizon elevation angle, eqs (81), (82)
    theta_mrad: float  # path angular distance, eq. (84)
    dlt_km: float  # Tx horizon distance, eq. (80)
    dlr_km: float  # Rx horizon distance, eqs (83), (83a)
    hst_smooth_m: float  # least-squares smooth-Earth height at Tx, eq. (87)
    hsr_smooth_m: float  # least-squares smooth-Earth height at Rx, eq. (88)
    hstd_m: float  # smooth-surface height at Tx for diffraction, eq. (91)
    hsrd_m: float  # smooth-surface height at Rx for diffraction, eq. (91)
    hte_diffraction_m: float  # hts - hstd, eqs (37a), (38a)
    hre_diffraction_m: float  # hrs - hsrd, eqs (37b), (38b)
    hst_m: float  # smooth-Earth height at Tx for ducting, eq. (92a)
    hsr_m: float  # smooth-Earth height at Rx for ducting, eq. (92b)
    hte_m: float  # Tx effective height for ducting, eq. (94a)
    hre_m: float  # Rx effective height for ducting, eq. (94b)
    hm_m: float  # terrain roughness, eq. (95)
    fi: float  # eq. (40)
    fj: float  # eq. (57)
    fk: float  # eq. (58)
    lbfs_db: float  # free space, eq. (8)
    lb0p_db: float  # line of sight for p %, eq. (10)
    lb0b_db: float  # line of sight for β0 %, eq. (11)
    lbulla_50_db: float  # Bullington on the actual profile, eq. (21)
    lbulls_50_db: float  # Bullington on the smooth profile, eq. (21)
    ldsph_50_db: float  # spherical-Earth diffraction, eq. (27)
    ld50_db: float  # delta-Bullington diffraction for a_e, eq. (39)
    lbulla_b0_db: float
    lbulls_b0_db: float
    ldsph_b0_db: float
    ldb_db: float  # delta-Bullington diffraction for a_β, eq. (39)
    ldp_db: float  # diffraction not exceeded for p %, eq. (41)
    lbd50_db: float  # eq. (42)
    lbd_db: float  # eq. (43)
    lminb0p_db: float  # eq. (59)
    lba_db: float  # ducting/layer reflection, eq. (46)
    lminbap_db: float  # eq. (60)
    lbda_db: float  # eq. (61)
    lbam_db: float  # eq. (62)
    lbs_db: float  # troposcatter, eq. (44)
    lbc_db: float  # p % time, 50 % locations, eq. (63)
    lloc_db: float  # location term -I(pL/100) σL, §4.7 and §4.9
    lb_db: float  # eq. (69)
    ep_dbuv_m: float  # eq. (70), 1 kW e.r.p.


class _Climate(NamedTuple):
    omega: float
    dtm_km: float
    dlm_km: float
    phi_centre_deg: float
    lam_centre_deg: float
    b0_percent: float
    ae_km: float
    ab_km: float


class _Horizons(NamedTuple):
    is_transhorizon: bool
    theta_t_mrad: float
    theta_r_mrad: float
    theta_mrad: float
    dlt_km: float
    dlr_km: float
    lt: int  # profile index of the Tx horizon (or of the Bullington point on a LoS path)
    lr: int


class _Heights(NamedTuple):
    hst_smooth_m: float
    hsr_smooth_m: float
    hstd_m: float
    hsrd_m: float
    hst_m: float
    hsr_m: float
    hte_m: float
    hre_m: float
    hm_m: float


class _DeltaBullington(NamedTuple):
    ld_db: float
    lbulla_db: float
    lbulls_db: float
    ldsph_db: float


# ---------------------------------------------------------------------------------------------
# public API


def p1812_loss(f_ghz, p_percent, d_km, h_m, r_m, zone, htg_m, hrg_m, pol,
               phi_t_deg, phi_r_deg, lam_t_deg, lam_r_deg, *,
               pl_percent=50.0, sigma_l_db=0.0, delta_n=None, n0=None,
               dct_km=500.0, dcr_km=500.0) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]:
    """Basic transmission loss and field strength of ITU-R P.1812-8 for one path profile.

    Every argument but the profile (``d_km``, ``h_m``, ``r_m``, ``zone``) broadcasts with numpy
    rules (:func:`siting.broadcast.broadcast_scalars`): arrays in give arrays of their broadcast
    shape out, each element computed on the same profile as a scalar call computes it.

    Args:
        f_ghz: frequency, 0.03 to 6 GHz.
        p_percent: time percentage for which Lb is not exceeded, 1 to 50 %.
        d_km, h_m, r_m, zone: the path profile (see the module docstring).
        htg_m, hrg_m: Tx and Rx antenna heights above ground, 1 to 3000 m.
        pol: 1 horizontal, 2 vertical.
        phi_t_deg, phi_r_deg, lam_t_deg, lam_r_deg: latitude and longitude of Tx and Rx.
        pl_percent: location percentage, 0 < pL < 100 (§4.7).
        sigma_l_db: location-variability standard deviation σL (dB), 0 for none.
        delta_n: ΔN, average refractivity lapse rate in the lowest 1 km at the path centre
            (N-units/km, map DN50). Required.
        n0: N0, sea-level surface refractivity at the path centre (N-units, map N050). Required.
        dct_km, dcr_km: distance over land from Tx / Rx to the coast along the path (§3.4);
            taken as 0 when the terminal's profile point is in the sea zone.

    Returns:
        ``(lb_db, ep_dbuv_m)``: Lb (eq. 69) and Ep for 1 kW e.r.p. (eq. 70), floats for scalar
        arguments, else two arrays of their broadcast shape.

    Raises:
        InputError: an argument is outside its range (naming the element of an array), the
            arguments' shapes do not broadcast, the profile is malformed, or ``delta_n`` /
            ``n0`` is missing.
    """
    def on_the_profile(**scalars) -> tuple[float, float]:
        parts = p1812_components(d_km=d_km, h_m=h_m, r_m=r_m, zone=zone, **scalars)
        return parts.lb_db, parts.ep_dbuv_m

    scalars = dict(f_ghz=f_ghz, p_percent=p_percent, htg_m=htg_m, hrg_m=hrg_m, pol=pol,
                   phi_t_deg=phi_t_deg, phi_r_deg=phi_r_deg, lam_t_deg=lam_t_deg,
                   lam_r_deg=lam_r_deg, pl_percent=pl_percent, sigma_l_db=sigma_l_db,
                   delta_n=delta_n, n0=n0, dct_km=dct_km, dcr_km=dcr_km)
    return broadcast_scalars("p1812_loss", scalars, on_the_profile, n_outputs=2,
                             check_fixed=lambda: _checked_profile(d_km, h_m, r_m, zone))


def p1812_components(f_ghz, p_percent, d_km, h_m, r_m, zone, htg_m, hrg_m, pol,
                     phi_t_deg, phi_r_deg, lam_t_deg, lam_r_deg, *,
                     pl_percent=50.0, sigma_l_db=0.0, delta_n=None, n0=None,
                     dct_km=500.0, dcr_km=500.0) -> P1812Components:
    """:func:`p1812_loss` with every intermediate value (same arguments, same checks)."""
    d, h, r, z = _checked_profile(d_km, h_m, r_m, zone)
    f, p = float(f_ghz), float(p_percent)
    htg, hrg = float(htg_m), float(hrg_m)
    _check_scalars(f, p, htg, hrg, pol, pl_percent, sigma_l_db, dct_km, dcr_km)
    delta_n, n0 = _checked_maps(delta_n, n0)
    dct = 0.0 if z[0] == ZONE_SEA else float(dct_km)
    dcr = 0.0 if z[-1] == ZONE_SEA else float(dcr_km)
    climate = _climate(d, z, float(phi_t_deg), float(phi_r_deg), float(lam_t_deg),
                       float(lam_r_deg), delta_n)
    hts, hrs = h[0] + htg, h[-1] + hrg
    horizons = _horizons(d, h, hts, hrs, climate.ae_km, f)
    heights = _effective_heights(d, h, htg, hrg, hts, hrs, horizons)
    g = h + r
    g[0], g[-1] = h[0], h[-1]  # §3.2.1: clutter on the path, terminals on the ground
    return _predict(f, p, int(pol), d, g, z, hts, hrs, dct, dcr, n0, float(pl_percent),
                    float(sigma_l_db), climate, horizons, heights)


@numba.njit(cache=True, nogil=True)
def path_centre_deg(phi_t_deg, phi_r_deg, lam_t_deg, lam_r_deg, d_km) -> tuple[float, float]:
    """Latitude and longitude (deg) of the point ``d_km / 2`` from Tx along the great circle.

    P.1812-8 eq. (4) takes the path-centre latitude; the great-circle construction is the one
    of ITU-R P.2001 Attachment H (H.2, H.3) on a sphere of radius 6 371 km. ``d_km`` is the
    profile length, so the centre is where the maps ΔN and N0 are read (§3.5).
    """
    phi_t, phi_r = math.radians(phi_t_deg), math.radians(phi_r_deg)
    dlon = math.radians(lam_r_deg - lam_t_deg)
    cos_arc = (math.sin(phi_t) * math.sin(phi_r)
               + math.cos(phi_t) * math.cos(phi_r) * math.cos(dlon))  # (H.2.2)
    x1 = math.sin(phi_r) - cos_arc * math.sin(phi_t)  # (H.2.5a)
    y1 = math.cos(phi_t) * math.cos(phi_r) * math.sin(dlon)  # (H.2.5b)
    bearing = math.atan2(y1, x1)  # (H.2.6)
    arc = 0.5 * float(d_km) / EARTH_RADIUS_KM  # (H.3.1)
    s = math.sin(phi_t) * math.cos(arc) + math.cos(phi_t) * math.sin(arc) * math.cos(bearing)
    x2 = math.cos(arc) - s * math.sin(phi_t)  # (H.3.4a)
    y2 = math.cos(phi_t) * math.sin(arc) * math.sin(bearing)  # (H.3.4b)
    lam = lam_t_deg + math.degrees(math.atan2(y2, x2))  # (H.3.5)
    return math.degrees(math.asin(s)), lam  # (H.3.3)


def read_itu_map_value(maps_dir, name: str, lat_deg: float, lon_deg: float) -> float:
    """Bilinear interpolation of an ITU-R digital map (DN50.TXT or N050.TXT) at one point.

    The maps ship with Recommendation ITU-R P.1812-8 and may not be redistributed, so siting
    reads the user's own copy in ``maps_dir``. The grid format is the ITU one: 121 rows from
    latitude +90 to -90 and 241 columns from longitude 0 to 360, 1.5 deg apart, whitespace
    separated. ``name`` is ``"DN50"`` or ``"N050"`` (with or without ``.TXT``); longitudes may
    be given in -180..180.
    """
    path = _map_path(maps_dir, name)
    grid = _load_map(str(path), path.stat().st_mtime_ns)
    if not -90.0 <= lat_deg <= 90.0:
        raise InputError(f"latitude {lat_deg} deg is outside -90..90")
    row = (90.0 - lat_deg) / _MAP_STEP_DEG
    col = (lon_deg % 360.0) / _MAP_STEP_DEG
    i0 = min(int(row), _MAP_SHAPE[0] - 2)
    j0 = min(int(col), _MAP_SHAPE[1] - 2)
    u, v = row - i0, col - j0
    top = grid[i0, j0] + v * (grid[i0, j0 + 1] - grid[i0, j0])
    bottom = grid[i0 + 1, j0] + v * (grid[i0 + 1, j0 + 1] - grid[i0 + 1, j0])
    return float(top + u * (bottom - top))


def itu_map_inputs(maps_dir, phi_t_deg, phi_r_deg, lam_t_deg, lam_r_deg,
                   d_km) -> tuple[float, float]:
    """``(delta_n, n0)`` for :func:`p1812_loss` from the user's DN50.TXT and N050.TXT.

    Both are read at the path centre (§3.5, :func:`path_centre_deg`) of a path of length
    ``d_km`` (the last profile distance).
    """
    lat, lon = path_centre_deg(phi_t_deg, phi_r_deg, lam_t_deg, lam_r_deg, d_km)
    return (read_itu_map_value(maps_dir, "DN50", lat, lon),
            read_itu_map_value(maps_dir, "N050", lat, lon))


@numba.njit(cache=True, nogil=True)
def inverse_normal(x: float) -> float:
    """I(x), the inverse complementary cumulative normal distribution (Attachment 2, eqs 96-97).

    The approximation is valid for 0.000001 <= x <= 0.999999 (x is clipped to that range);
    its error is below 0.00054.
    """
    x = min(max(float(x), 1e-6), 1.0 - 1e-6)
    if x <= 0.5:
        return _t_minus_c(x)  # (96a)
    return -_t_minus_c(1.0 - x)  # (96b)


# ---------------------------------------------------------------------------------------------
# inputs


def _checked_profile(d_km, h_m, r_m, zone):
    """The profile as float64 arrays (zone as int), or InputError naming what is wrong."""
    arrays = [np.array(a, dtype=float).ravel() for a in (d_km, h_m, r_m, zone)]
    d, h, r, z = arrays
    names = ("d_km", "h_m", "r_m", "zone")
    if any(a.size != d.size for a in arrays):
        sizes = ", ".join(f"{n}: {a.size}" for n, a in zip(names, arrays, strict=True))
        raise InputError(f"P.1812 profile arrays differ in length ({sizes})")
    if d.size < 3:
        raise InputError(f"P.1812 profile needs at least 3 points, got {d.size}")
    for name, a in zip(names, arrays, strict=True):
        if not np.isfinite(a).all():
            raise InputError(f"P.1812 profile {name} holds a non-finite value")
    if d[0] != 0.0 or not (np.diff(d) > 0.0).all():
        raise InputError("P.1812 profile d_km must start at 0 (the transmitter) and increase "
                         "strictly")
    if not np.isin(z, (ZONE_SEA, ZONE_COASTAL_LAND, ZONE_INLAND)).all():
        raise InputError("P.1812 zone values must be 1 (sea), 3 (coastal land) or 4 (inland)")
    if (r < 0.0).any():
        raise InputError("P.1812 representative clutter heights r_m must be >= 0")
    return d, h, r, z.astype(int)


def _check_scalars(f, p, htg, hrg, pol, pl_percent, sigma_l_db, dct_km, dcr_km):
    """InputError for a scalar argument outside the range P.1812-8 §1 and §3.1 allow."""
    for name, value, (low, high), unit in (("f_ghz", f, FREQUENCY_RANGE_GHZ, "GHz"),
                                           ("p_percent", p, TIME_PERCENT_RANGE, "%"),
                                           ("htg_m", htg, ANTENNA_HEIGHT_RANGE_M, "m"),
                                           ("hrg_m", hrg, ANTENNA_HEIGHT_RANGE_M, "m")):
        if not low <= value <= high:
            raise InputError(f"P.1812 {name} = {value} is outside {low}..{high} {unit}")
    if pol not in (1, 2):
        raise InputError(f"P.1812 pol must be 1 (horizontal) or 2 (vertical), got {pol!r}")
    if not 0.0 < pl_percent < 100.0:
        raise InputError(f"P.1812 pl_percent = {pl_percent} must be in (0, 100)")
    if not sigma_l_db >= 0.0:
        raise InputError(f"P.1812 sigma_l_db = {sigma_l_db} must be >= 0")
    if not (dct_km >= 0.0 and dcr_km >= 0.0):
        raise InputError(f"P.1812 dct_km, dcr_km = {dct_km}, {dcr_km} must be >= 0")


def _checked_maps(delta_n, n0) -> tuple[float, float]:
    """ΔN and N0 as floats; InputError when missing (the ITU maps are the user's to supply)."""
    if delta_n is None or n0 is None:
        missing = " and ".join(n for n, v in (("delta_n", delta_n), ("n0", n0)) if v is None)
        raise InputError(
            f"P.1812 needs {missing}: the path-centre values of the ITU-R digital maps "
            "DN50.TXT (delta_n, N-units/km) and N050.TXT (n0, N-units), which siting may not "
            "redistribute. Pass them as numbers (siting.p1812.itu_map_inputs reads them from "
            "your copy of the maps), or set coverage.itu_maps_dir to the folder holding "
            "DN50.TXT and N050.TXT from the R-REC-P.1812-8 zip.")
    delta_n, n0 = float(delta_n), float(n0)
    if not (math.isfinite(delta_n) and delta_n < 157.0 and math.isfinite(n0)):
        raise InputError(f"P.1812 delta_n = {delta_n} must be finite and below 157 N-units/km "
                         f"(eq. 6), n0 = {n0} finite")
    return delta_n, n0


def _map_path(maps_dir, name: str) -> Path:
    stem = name.upper().removesuffix(".TXT")
    if stem not in _MAP_NAMES:
        raise InputError(f"unknown ITU map {name!r}: expected one of {', '.join(_MAP_NAMES)}")
    folder = Path(maps_dir)
    for candidate in (f"{stem}.TXT", f"{stem}.txt"):
        if (folder / candidate).is_file():
            return folder / candidate
    raise InputError(f"ITU map {stem}.TXT not found in {folder}: copy it there from the "
                     "R-REC-P.1812-8 zip (ITU-R forbids redistributing it)")


@lru_cache(maxsize=4)
def _load_map(path: str, mtime_ns: int) -> np.ndarray:
    """The 121 x 241 grid of one ITU map file; ``mtime_ns`` only keys the cache, so a
    replaced file is read again."""
    try:
        grid = np.loadtxt(path, dtype=float, ndmin=2)
    except ValueError as exc:
        raise InputError(
            f"ITU map {path} is not a whitespace-separated number grid: {exc}") from exc
    if grid.shape != _MAP_SHAPE:
        raise InputError(f"ITU map {path} has shape {grid.shape}, expected {_MAP_SHAPE} "
                         "(1.5 deg grid, lat 90..-90, lon 0..360)")
    return grid


# ---------------------------------------------------------------------------------------------
# radio climate (§3.3 - §3.7)


def _zone_runs_km(d: np.ndarray, member: np.ndarray) -> list[float]:
    """Length of each continuous run of profile points with ``member`` true (km).

    Each point stands for the profile up to half-way to its neighbours, so a run from point a
    to point b spans d_b - d_a plus half of the intervals just outside it.
    """
    edges = np.diff(np.concatenate(([0], member.astype(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    last = d.size - 1
    runs = []
    for a, b in zip(starts, stops, strict=True):
        before = 0.5 * (d[a] - d[a - 1]) if a > 0 else 0.0
        after = 0.5 * (d[b + 1] - d[b]) if b < last else 0.0
        runs.append(float(d[b] - d[a] + before + after))
    return runs


@numba.njit(cache=True, nogil=True)
def _beta0_percent(phi_deg: float, dtm_km: float, dlm_km: float) -> float:
    """β0 (%), time percentage of refractivity lapse rates over 100 N-units/km, eqs (2)-(5)."""
    tau = 1.0 - math.exp(-4.12e-4 * dlm_km ** 2.41)  # (3)
    mu1 = (10.0 ** (-dtm_km / (16.0 - 6.6 * tau))
           + 10.0 ** (-5.0 * (0.496 + 0.354 * tau))) ** 0.2  # (2)
    mu1 = min(mu1, 1.0)
    lat = abs(phi_deg)
    if lat <= 70.0:
        mu4 = mu1 ** (-0.935 + 0.0176 * lat)  # (4)
        return 10.0 ** (-0.015 * lat + 1.67) * mu1 * mu4  # (5)
    return 4.17 * mu1 * mu1 ** 0.3


def _climate(d, z, phi_t, phi_r, lam_t, lam_r, delta_n) -> _Climate:
    """Sea fraction ω, d_tm, d_lm (§3.3, §3.6), β0 (eq. 5) and the Earth radii (eqs 6, 7)."""
    sea = _zone_runs_km(d, z == ZONE_SEA)
    land = _zone_runs_km(d, z != ZONE_SEA)
    inland = _zone_runs_km(d, z == ZONE_INLAND)
    dtm, dlm = max(land, default=0.0), max(inland, default=0.0)
    phi, lam = path_centre_deg(phi_t, phi_r, lam_t, lam_r, d[-1])
    k50 = 157.0 / (157.0 - delta_n)  # (6)
    return _Climate(omega=sum(sea) / d[-1], dtm_km=dtm, dlm_km=dlm, phi_centre_deg=phi,
                    lam_centre_deg=lam, b0_percent=_beta0_percent(phi, dtm, dlm),
                    ae_km=EARTH_RADIUS_KM * k50, ab_km=EARTH_RADIUS_KM * _K_BETA)  # (7a, 7b)


# ---------------------------------------------------------------------------------------------
# path profile analysis (Attachment 1)


def _last_argmax(values: np.ndarray) -> int:
    return int(values.size - 1 - np.argmax(values[::-1]))


def _horizons(d, h, hts, hrs, ae, f) -> _Horizons:
    """Path type, horizon angles and distances, angular distance: Attachment 1 §4, §5 (76)-(84).

    On a trans-horizon path the Tx horizon is the first interior point of highest elevation
    seen from Tx and the Rx horizon the first one seen from Rx. On a line-of-sight path both
    horizon distances are measured to the Bullington point: the interior point of highest
    diffraction parameter ν (eq. 15) on the bare terrain with the median radius a_e.
    """
    dtot, di, hi = d[-1], d[1:-1], h[1:-1]
    elev_t = 1000.0 * np.arctan((hi - hts) / (1000.0 * di) - di / (2.0 * ae))  # (77)
    theta_td = 1000.0 * math.atan((hrs - hts) / (1000.0 * dtot) - dtot / (2.0 * ae))  # (78)
    theta_rd = 1000.0 * math.atan((hts - hrs) / (1000.0 * dtot) - dtot / (2.0 * ae))  # (81)
    transhorizon = bool(elev_t.max() > theta_td)  # (76) against (78)
    if transhorizon:
        lt = 1 + int(np.argmax(elev_t))
        rest = dtot - di
        elev_r = 1000.0 * np.arctan((hi - hrs) / (1000.0 * rest) - rest / (2.0 * ae))  # (82a)
        lr = 1 + _last_argmax(elev_r)
        theta_t, theta_r = float(elev_t.max()), float(elev_r.max())  # (79), (82)
        dlt, dlr = float(d[lt]), float(dtot - d[lr])  # (80), (83)
    else:
        nu = _nu(hi, di, dtot, hts, hrs, 1.0 / ae, _WAVELENGTH_M_GHZ / f)
        lt = lr = 1 + _last_argmax(nu)
        theta_t, theta_r = theta_td, theta_rd  # (79), (81)
        dlt, dlr = float(d[lt]), float(dtot - d[lt])  # (80), (83a)
    theta = 1000.0 * dtot / ae + theta_t + theta_r  # (84)
    return _Horizons(is_transhorizon=transhorizon, theta_t_mrad=theta_t, theta_r_mrad=theta_r,
                     theta_mrad=theta, dlt_km=dlt, dlr_km=dlr, lt=lt, lr=lr)


def _smooth_earth(d, h) -> tuple[float, float]:
    """Least-squares smooth-Earth surface, heights at Tx and Rx: Att. 1 §5.6.1, eqs (85)-(88)."""
    dd = np.diff(d)
    v1 = float(np.sum(dd * (h[1:] + h[:-1])))  # (85)
    v2 = float(np.sum(dd * (h[1:] * (2.0 * d[1:] + d[:-1])
                            + h[:-1] * (d[1:] + 2.0 * d[:-1]))))  # (86)
    dtot = d[-1]
    return (2.0 * v1 * dtot - v2) / dtot ** 2, (v2 - v1 * dtot) / dtot ** 2  # (87), (88)


def _diffraction_surface(d, h, hts, hrs, hst, hsr) -> tuple[float, float]:
    """Smooth-surface heights h_std, h_srd for diffraction: Att. 1 §5.6.2, eqs (89)-(91)."""
    dtot, di = d[-1], d[1:-1]
    obstruction = h[1:-1] - (hts * (dtot - di) + hrs * di) / dtot  # (89d)
    hobs = float(obstruction.max())  # (89a)
    if hobs <= 0.0:
        hstp, hsrp = hst, hsr  # (90a), (90b)
    else:
        alpha_t = float((obstruction / di).max())  # (89b)
        alpha_r = float((obstruction / (dtot - di)).max())  # (89c)
        hstp = hst - hobs * alpha_t / (alpha_t + alpha_r)  # (90c), (90e)
        hsrp = hsr - hobs * alpha_r / (alpha_t + alpha_r)  # (90d), (90f)
    return min(hstp, h[0]), min(hsrp, h[-1])  # (91a)-(91d)


def _effective_heights(d, h, htg, hrg, hts, hrs, horizons: _Horizons) -> _Heights:
    """Smooth-Earth, diffraction and ducting heights, roughness: Att. 1 §5.6, eqs (85)-(95)."""
    hst0, hsr0 = _smooth_earth(d, h)
    hstd, hsrd = _diffraction_surface(d, h, hts, hrs, hst0, hsr0)
    hst, hsr = min(hst0, h[0]), min(hsr0, h[-1])  # (92a), (92b)
    slope = (hsr - hst) / d[-1]  # (93)
    span = slice(horizons.lt, horizons.lr + 1)
    hm = float(np.max(h[span] - (hst + slope * d[span])))  # (95)
    return _Heights(hst_smooth_m=hst0, hsr_smooth_m=hsr0, hstd_m=hstd, hsrd_m=hsrd,
                    hst_m=hst, hsr_m=hsr, hte_m=htg + h[0] - hst,
                    hre_m=hrg + h[-1] - hsr, hm_m=hm)  # (94a), (94b)


# ---------------------------------------------------------------------------------------------
# line of sight (§4.2)


@numba.njit(cache=True, nogil=True)
def _line_of_sight(dtot, hts, hrs, f, p, b0, dlt, dlr) -> tuple[float, float, float]:
    """Free-space loss and the LoS losses for p % and β0 % of the time: eqs (8)-(11)."""
    dfs2 = dtot ** 2 + ((hts - hrs) / 1000.0) ** 2  # (8a)
    lbfs = 92.4 + 20.0 * math.log10(f) + 10.0 * math.log10(dfs2)  # (8)
    focusing = 2.6 * (1.0 - math.exp(-0.1 * (dlt + dlr)))
    esp = focusing * math.log10(p / 50.0)  # (9a)
    esb = focusing * math.log10(b0 / 50.0)  # (9b)
    return lbfs, lbfs + esp, lbfs + esb  # (10), (11)


# ---------------------------------------------------------------------------------------------
# diffraction (§4.3)


@numba.njit(cache=True, nogil=True)
def _knife_edge_db(nu: float) -> float:
    """J(ν), eq. (12); 0 dB for ν <= -0.78."""
    if nu <= -0.78:
        return 0.0
    return 6.9 + 20.0 * math.log10(math.sqrt((nu - 0.1) ** 2 + 1.0) + nu - 0.1)


def _nu(gi, di, dtot, hts, hrs, ce, lam):
    """Diffraction parameter of each intermediate point, eq. (15)."""
    clearance = gi + 500.0 * ce * di * (dtot - di) - (hts * (dtot - di) + hrs * di) / dtot
    return clearance * np.sqrt(0.002 * dtot / (lam * di * (dtot - di)))


def _bullington_db(d, g, hts, hrs, ap, lam) -> float:
    """Bullington diffraction loss over profile heights g for radius a_p: eqs (13)-(21)."""
    dtot, di, gi = d[-1], d[1:-1], g[1:-1]
    ce = 1.0 / ap
    bulge = gi + 500.0 * ce * di * (dtot - di)
    stim = float(((bulge - hts) / di).max())  # (13)
    str_ = (hrs - hts) / dtot  # (14)
    if stim < str_:  # line of sight
        luc = _knife_edge_db(float(_nu(gi, di, dtot, hts, hrs, ce, lam).max()))  # (15), (16)
    else:
        srim = float(((bulge - hrs) / (dtot - di)).max())  # (17)
        dbp = (hrs - hts + srim * dtot) / (stim + srim)  # (18)
        nub = ((hts + stim * dbp - (hts * (dtot - dbp) + hrs * dbp) / dtot)
               * math.sqrt(0.002 * dtot / (lam * dbp * (dtot - dbp))))  # (19)
        luc = _knife_edge_db(nub)  # (20)
    return luc + (1.0 - math.exp(-luc / 6.0)) * (10.0 + 0.02 * dtot)  # (21)


@numba.njit(cache=True, nogil=True)
def _g_of_y(b: float, k: float) -> float:
    """Antenna height-gain term G(Y) of eq. (35), limited below by 2 + 20 log K."""
    if b > 2.0:
        gain = 17.6 * math.sqrt(b - 1.1) - 5.0 * math.log10(b - 1.1) - 8.0
    else:
        gain = 20.0 * math.log10(b + 0.1 * b ** 3)
    return max(gain, 2.0 + 20.0 * math.log10(k))


@numba.njit(cache=True, nogil=True)
def _first_term_ground_db(dtot, hte, hre, adft, f, pol, ground) -> float:
    """First-term spherical-Earth diffraction loss over one ground type: eqs (29)-(36)."""
    eps_r, sigma = ground
    k = (0.036 * (adft * f) ** (-1.0 / 3.0)
         * ((eps_r - 1.0) ** 2 + (18.0 * sigma / f) ** 2) ** -0.25)  # (29a)
    if pol == 2:
        k *= math.sqrt(eps_r ** 2 + (18.0 * sigma / f) ** 2)  # (29b)
    beta = (1.0 + 1.6 * k ** 2 + 0.67 * k ** 4) / (1.0 + 4.5 * k ** 2 + 1.53 * k ** 4)  # (30)
    x = 21.88 * beta * (f / adft ** 2) ** (1.0 / 3.0) * dtot  # (31)
    y_scale = 0.9575 * beta * (f ** 2 / adft) ** (1.0 / 3.0)  # (32)
    if x >= 1.6:
        fx = 11.0 + 10.0 * math.log10(x) - 17.6 * x  # (33)
    else:
        fx = -20.0 * math.log10(x) - 5.6488 * x ** 1.425
    gt = _g_of_y(beta * y_scale * hte, k)  # (34), (35)
    gr = _g_of_y(beta * y_scale * hre, k)
    return -fx - gt - gr  # (36)


@numba.njit(cache=True, nogil=True)
def _first_term_db(dtot, hte, hre, adft, f, pol, omega) -> float:
    """First-term loss for a mixed land/sea path, eq. (28)."""
    return (omega * _first_term_ground_db(dtot, hte, hre, adft, f, pol, _SEA_GROUND)
            + (1.0 - omega) * _first_term_ground_db(dtot, hte, hre, adft, f, pol,
                                                    _LAND_GROUND))


@numba.njit(cache=True, nogil=True)
def _spherical_earth_db(dtot, hte, hre, ap, f, pol, omega) -> float:
    """Spherical-Earth diffraction loss L_dsph for effective heights hte, hre: eqs (22)-(27).

    Within the marginal LoS distance the first-term loss for a_em is taken as at least 0 dB
    before scaling by (1 - hse/hreq), as the reference implementation does.
    """
    dlos = math.sqrt(2.0 * ap) * (math.sqrt(0.001 * hte) + math.sqrt(0.001 * hre))  # (22)
    if dtot >= dlos:
        return _first_term_db(dtot, hte, hre, ap, f, pol, omega)
    c = (hte - hre) / (hte + hre)  # (24d)
    m = 250.0 * dtot ** 2 / (ap * (hte + hre))  # (24e)
    b = 2.0 * math.sqrt((m + 1.0) / (3.0 * m)) * math.cos(
        math.pi / 3.0 + math.acos(1.5 * c * math.sqrt(3.0 * m / (m + 1.0) ** 3)) / 3.0)  # (24c)
    dse1 = 0.5 * dtot * (1.0 + b)  # (24a)
    dse2 = dtot - dse1  # (24b)
    hse = ((hte - 500.0 * dse1 ** 2 / ap) * dse2
           + (hre - 500.0 * dse2 ** 2 / ap) * dse1) / dtot  # (23)
    hreq = 17.456 * math.sqrt(dse1 * dse2 * (_WAVELENGTH_M_GHZ / f) / dtot)  # (25)
    if hse > hreq:
        return 0.0
    aem = 500.0 * (dtot / (math.sqrt(hte) + math.sqrt(hre))) ** 2  # (26)
    ldft = max(_first_term_db(dtot, hte, hre, aem, f, pol, omega), 0.0)
    return (1.0 - hse / hreq) * ldft  # (27)


def _delta_bullington(d, g, hts, hrs, hstd, hsrd, ap, f, pol, omega) -> _DeltaBullington:
    """Complete delta-Bullington diffraction loss for radius a_p: eqs (37)-(39)."""
    lam = _WAVELENGTH_M_GHZ / f
    lbulla = _bullington_db(d, g, hts, hrs, ap, lam)
    hte, hre = hts - hstd, hrs - hsrd  # (37a), (37b), (38a), (38b)
    lbulls = _bullington_db(d, np.zeros_like(g), hte, hre, ap, lam)
    ldsph = _spherical_earth_db(d[-1], hte, hre, ap, f, pol, omega)
    return _DeltaBullington(ld_db=lbulla + max(ldsph - lbulls, 0.0), lbulla_db=lbulla,
                            lbulls_db=lbulls, ldsph_db=ldsph)  # (39)


# ---------------------------------------------------------------------------------------------
# troposcatter (§4.4) and ducting / layer reflection (§4.5)


@numba.njit(cache=True, nogil=True)
def _troposcatter_db(dtot, theta, f, p, n0) -> float:
    """Troposcatter basic transmission loss not exceeded for p %: eqs (44), (45)."""
    lf = 25.0 * math.log10(f) - 2.5 * math.log10(f / 2.0) ** 2  # (45)
    return (190.1 + lf + 20.0 * math.log10(dtot) + 0.573 * theta - 0.15 * n0
            - 10.125 * math.log10(50.0 / p) ** 0.7)  # (44)


@numba.njit(cache=True, nogil=True)
def _site_shielding_db(theta_mrad: float, dl_km: float, f: float) -> float:
    """Site-shielding loss A_st or A_sr, eq. (48), with θ'' of eq. (48a)."""
    theta2 = theta_mrad - 0.1 * dl_km  # (48a)
    if theta2 <= 0.0:
        return 0.0
    return (20.0 * math.log10(1.0 + 0.361 * theta2 * math.sqrt(f * dl_km))
            + 0.264 * theta2 * f ** (1.0 / 3.0))


@numba.njit(cache=True, nogil=True)
def _duct_coupling_db(dc_km: float, dl_km: float, hs_m: float, omega: float) -> float:
    """Over-sea surface-duct coupling correction A_ct or A_cr, eqs (49), (49a)."""
    if dc_km <= 5.0 and dc_km <= dl_km and omega >= 0.75:
        return -3.0 * math.exp(-0.25 * dc_km ** 2) * (1.0 + math.tanh(0.07 * (50.0 - hs_m)))
    return 0.0


@numba.njit(cache=True, nogil=True)
def _ducting_time_db(dtot, dlt, dlr, dlm, hte, hre, hm, ae, p, b0) -> float:
    """Time-percentage dependent loss A_p of the anomalous mechanism: eqs (53)-(56)."""
    d_i = min(dtot - dlt - dlr, 40.0)  # (56a)
    mu3 = math.exp(-4.6e-5 * (hm - 10.0) * (43.0 + 6.0 * d_i)) if hm > 10.0 else 1.0  # (56)
    tau = 1.0 - math.exp(-4.12e-4 * dlm ** 2.41)  # (3)
    alpha = max(-0.6 - 3.5e-9 * dtot ** 3.1 * tau, -3.4)  # (55a)
    mu2 = min((500.0 / ae * dtot ** 2 / (math.sqrt(hte) + math.sqrt(hre)) ** 2) ** alpha,
              1.0)  # (55)
    beta = b0 * mu2 * mu3  # (54)
    log_b = math.log10(beta)
    gamma = (1.076 / (2.0058 - log_b) ** 1.012
             * math.exp(-(9.51 - 4.8 * log_b + 0.198 * log_b ** 2) * 1e-6
                        * dtot ** 1.13))  # (53a)
    return (-12.0 + (1.2 + 3.7e-3 * dtot) * math.log10(p / beta)
            + 12.0 * (p / beta) ** gamma)  # (53)


def _ducting_db(dtot, f, p, climate: _Climate, horizons: _Horizons, heights: _Heights,
                hts, hrs, dct, dcr) -> float:
    """Basic transmission loss during anomalous propagation, L_ba: eqs (46)-(56)."""
    h, c = horizons, climate
    return _anomalous_db(dtot, f, p, c.omega, c.ae_km, c.b0_percent, c.dlm_km, h.theta_t_mrad,
                         h.theta_r_mrad, h.dlt_km, h.dlr_km, heights.hte_m, heights.hre_m,
                         heights.hm_m, hts, hrs, dct, dcr)


@numba.njit(cache=True, nogil=True)
def _anomalous_db(dtot, f, p, omega, ae, b0, dlm, theta_t, theta_r, dlt, dlr, hte, hre, hm,
                  hts, hrs, dct, dcr) -> float:
    """L_ba of eqs (46)-(56) from the path's scalars (angles mrad, distances km, heights m)."""
    alf = 45.375 - 137.0 * f + 92.5 * f ** 2 if f < 0.5 else 0.0  # (47a)
    af = (102.45 + 20.0 * math.log10(f) + 20.0 * math.log10(dlt + dlr) + alf
          + _site_shielding_db(theta_t, dlt, f) + _site_shielding_db(theta_r, dlr, f)
          + _duct_coupling_db(dct, dlt, hts, omega)
          + _duct_coupling_db(dcr, dlr, hrs, omega))  # (47)
    gamma_d = 5e-5 * ae * f ** (1.0 / 3.0)  # (51)
    theta1 = 1e3 * dtot / ae + min(theta_t, 0.1 * dlt) + min(theta_r, 0.1 * dlr)  # (52), (52a)
    ap = _ducting_time_db(dtot, dlt, dlr, dlm, hte, hre, hm, ae, p, b0)
    return af + gamma_d * theta1 + ap  # (46), (50)


# ---------------------------------------------------------------------------------------------
# combination (§4.6 - §4.10)


@numba.njit(cache=True, nogil=True)
def _t_minus_c(x: float) -> float:
    """T(x) - C(x) of Attachment 2, eqs (97)-(97b)."""
    t = math.sqrt(-2.0 * math.log(x))  # (97a)
    c = (((0.010328 * t + 0.802853) * t) + 2.515516698) / (
        ((0.001308 * t + 0.189269) * t + 1.432788) * t + 1.0)  # (97b)
    return t - c


@numba.njit(cache=True, nogil=True)
def _combine(f, p, dtot, omega, b0, lbfs, lb0p, lb0b, ld50, ldb, lba, theta, n0):
    """Diffraction for p %, the blends of the mechanisms and troposcatter: eqs (40)-(63).

    Returns (Fi, Ldp, Lbd50, Lbd, Lminb0p, Lminbap, Fk, Lbda, Fj, Lbam, Lbs, Lbc), losses in dB.
    The power sums of eqs (60) and (63) are evaluated with ``logaddexp`` (the same value,
    without overflow of exp(L/η) for very large losses).
    """
    fi = inverse_normal(p / 100.0) / inverse_normal(b0 / 100.0) if p >= b0 else 1.0  # (40)
    ldp = ld50 if p == 50.0 else ld50 + fi * (ldb - ld50)  # (41)
    lbd50, lbd = lbfs + ld50, lb0p + ldp  # (42), (43)
    if p < b0:
        lminb0p = lb0p + (1.0 - omega) * ldp  # (59)
    else:
        lminb0p = lbd50 + (lb0b + (1.0 - omega) * ldp - lbd50) * fi
    eta = 2.5
    lminbap = eta * np.logaddexp(lba / eta, lb0p / eta)  # (60)
    fk = 1.0 - 0.5 * (1.0 + math.tanh(3.0 * 0.5 * (dtot - 20.0) / 20.0))  # (58)
    lbda = lbd if lminbap > lbd else lminbap + (lbd - lminbap) * fk  # (61)
    fj = 1.0 - 0.5 * (1.0 + math.tanh(3.0 * 0.8 * (theta - 0.3) / 0.3))  # (57)
    lbam = lbda + (lminb0p - lbda) * fj  # (62)
    lbs = _troposcatter_db(dtot, theta, f, p, n0)
    lbc = -5.0 * math.log10(math.e) * np.logaddexp(-0.2 * math.log(10.0) * lbs,
                                                   -0.2 * math.log(10.0) * lbam)  # (63)
    return fi, ldp, lbd50, lbd, lminb0p, lminbap, fk, lbda, fj, lbam, lbs, lbc


def _predict(f, p, pol, d, g, z, hts, hrs, dct, dcr, n0, pl, sigma_l,
             climate: _Climate, horizons: _Horizons, heights: _Heights) -> P1812Components:
    """All propagation mechanisms and their combination into Lb and Ep: §4.2 - §4.10."""
    c, hz, ht = climate, horizons, heights
    dtot, omega, b0 = float(d[-1]), c.omega, c.b0_percent
    lbfs, lb0p, lb0b = _line_of_sight(dtot, hts, hrs, f, p, b0, hz.dlt_km, hz.dlr_km)
    d50 = _delta_bullington(d, g, hts, hrs, ht.hstd_m, ht.hsrd_m, c.ae_km, f, pol, omega)
    db0 = _delta_bullington(d, g, hts, hrs, ht.hstd_m, ht.hsrd_m, c.ab_km, f, pol, omega)
    lba = _ducting_db(dtot, f, p, c, hz, ht, hts, hrs, dct, dcr)
    fi, ldp, lbd50, lbd, lminb0p, lminbap, fk, lbda, fj, lbam, lbs, lbc = _combine(
        f, p, dtot, omega, b0, lbfs, lb0p, lb0b, d50.ld_db, db0.ld_db, lba, hz.theta_mrad, n0)
    lloc = 0.0 if z[-1] == ZONE_SEA else -inverse_normal(pl / 100.0) * sigma_l  # §4.7, §4.9
    lb = max(lb0p, lbc + lloc)  # (69)
    return P1812Components(
        d_km=dtot, **c._asdict(), is_transhorizon=hz.is_transhorizon, hts_m=hts, hrs_m=hrs,
        theta_t_mrad=hz.theta_t_mrad, theta_r_mrad=hz.theta_r_mrad, theta_mrad=hz.theta_mrad,
        dlt_km=hz.dlt_km, dlr_km=hz.dlr_km, hst_smooth_m=ht.hst_smooth_m,
        hsr_smooth_m=ht.hsr_smooth_m, hstd_m=ht.hstd_m, hsrd_m=ht.hsrd_m,
        hte_diffraction_m=hts - ht.hstd_m, hre_diffraction_m=hrs - ht.hsrd_m, hst_m=ht.hst_m,
        hsr_m=ht.hsr_m, hte_m=ht.hte_m, hre_m=ht.hre_m, hm_m=ht.hm_m, fi=fi, fj=fj, fk=fk,
        lbfs_db=lbfs, lb0p_db=lb0p, lb0b_db=lb0b, lbulla_50_db=d50.lbulla_db,
        lbulls_50_db=d50.lbulls_db, ldsph_50_db=d50.ldsph_db, ld50_db=d50.ld_db,
        lbulla_b0_db=db0.lbulla_db, lbulls_b0_db=db0.lbulls_db, ldsph_b0_db=db0.ldsph_db,
        ldb_db=db0.ld_db, ldp_db=ldp, lbd50_db=lbd50, lbd_db=lbd, lminb0p_db=lminb0p,
        lba_db=lba, lminbap_db=lminbap, lbda_db=lbda, lbam_db=lbam, lbs_db=lbs, lbc_db=lbc,
        lloc_db=lloc, lb_db=lb, ep_dbuv_m=199.36 + 20.0 * math.log10(f) - lb)  # (70)


# ---------------------------------------------------------------------------------------------
# numba kernel: many inland profiles without clutter variation at the terminals (siting.coverage)
#
# The same steps as p1812_components, as loops over the first n samples of preallocated
# buffers (no allocation, no validation), for a path wholly in zone 4 (inland) with the
# terminals over land (dct = dcr = 500 km, so no duct coupling). The scalar steps above are
# shared with the reference; tests hold the kernel to p1812_loss within 0.01 dB.


@numba.njit(cache=True, nogil=True)
def _horizons_kernel(d, h, n, hts, hrs, ae, f):
    """Attachment 1 §4, §5, eqs (76)-(84) on bare terrain, as :func:`_horizons`: returns
    (trans-horizon, θt, θr, θ [mrad], dlt, dlr [km], index lt, index lr)."""
    last = n - 1
    dtot = d[last]
    theta_td = 1000.0 * math.atan((hrs - hts) / (1000.0 * dtot) - dtot / (2.0 * ae))  # (78)
    theta_rd = 1000.0 * math.atan((hts - hrs) / (1000.0 * dtot) - dtot / (2.0 * ae))  # (81)
    best_t, lt = -np.inf, 1
    for i in range(1, last):  # arctan is monotonic: the largest argument has the largest angle
        x = (h[i] - hts) / (1000.0 * d[i]) - d[i] / (2.0 * ae)  # (77)
        if x > best_t:
            best_t, lt = x, i
    theta_t = 1000.0 * math.atan(best_t)
    if theta_t > theta_td:  # (76) against (78): trans-horizon
        best_r, lr = -np.inf, 1
        for i in range(1, last):
            rest = dtot - d[i]
            x = (h[i] - hrs) / (1000.0 * rest) - rest / (2.0 * ae)  # (82a)
            if x >= best_r:
                best_r, lr = x, i
        theta_r = 1000.0 * math.atan(best_r)  # (82)
        theta = 1000.0 * dtot / ae + theta_t + theta_r  # (84)
        return True, theta_t, theta_r, theta, d[lt], dtot - d[lr], lt, lr  # (80), (83)
    lam = _WAVELENGTH_M_GHZ / f
    best_nu, lt = -np.inf, 1
    for i in range(1, last):
        nu = _nu_kernel(h[i], d[i], dtot, hts, hrs, 1.0 / ae, lam)
        if nu >= best_nu:
            best_nu, lt = nu, i
    theta = 1000.0 * dtot / ae + theta_td + theta_rd  # (84), with (79), (81)
    return False, theta_td, theta_rd, theta, d[lt], dtot - d[lt], lt, lt  # (80), (83a)


@numba.njit(cache=True, nogil=True)
def _nu_kernel(gi, di, dtot, hts, hrs, ce, lam):
    """ν of one intermediate point, eq. (15), as :func:`_nu`."""
    clearance = gi + 500.0 * ce * di * (dtot - di) - (hts * (dtot - di) + hrs * di) / dtot
    return clearance * math.sqrt(0.002 * dtot / (lam * di * (dtot - di)))


@numba.njit(cache=True, nogil=True)
def _heights_kernel(d, h, n, htg, hrg, hts, hrs, lt, lr):
    """Smooth-Earth, diffraction and ducting heights and roughness, Att. 1 §5.6, eqs (85)-(95),
    as :func:`_effective_heights`: returns (hstd, hsrd, hte, hre, hm) [m]."""
    last = n - 1
    dtot = d[last]
    v1 = v2 = 0.0
    for i in range(last):
        dd = d[i + 1] - d[i]
        v1 += dd * (h[i + 1] + h[i])  # (85)
        v2 += dd * (h[i + 1] * (2.0 * d[i + 1] + d[i]) + h[i] * (d[i + 1] + 2.0 * d[i]))  # (86)
    hst0 = (2.0 * v1 * dtot - v2) / dtot ** 2  # (87)
    hsr0 = (v2 - v1 * dtot) / dtot ** 2  # (88)
    hobs = alpha_t = alpha_r = -np.inf
    for i in range(1, last):
        obstruction = h[i] - (hts * (dtot - d[i]) + hrs * d[i]) / dtot  # (89d)
        hobs = max(hobs, obstruction)  # (89a)
        alpha_t = max(alpha_t, obstruction / d[i])  # (89b)
        alpha_r = max(alpha_r, obstruction / (dtot - d[i]))  # (89c)
    hstp, hsrp = hst0, hsr0  # (90a), (90b)
    if hobs > 0.0:
        hstp = hst0 - hobs * alpha_t / (alpha_t + alpha_r)  # (90c), (90e)
        hsrp = hsr0 - hobs * alpha_r / (alpha_t + alpha_r)  # (90d), (90f)
    hst, hsr = min(hst0, h[0]), min(hsr0, h[last])  # (92a), (92b)
    slope = (hsr - hst) / dtot  # (93)
    hm = -np.inf
    for i in range(lt, lr + 1):
        hm = max(hm, h[i] - (hst + slope * d[i]))  # (95)
    return (min(hstp, h[0]), min(hsrp, h[last]), htg + h[0] - hst, hrg + h[last] - hsr,
            hm)  # (91), (94a), (94b)


@numba.njit(cache=True, nogil=True)
def _bullington_kernel(d, g, n, hts, hrs, ap, lam, smooth):
    """Bullington loss over heights g (0 everywhere when ``smooth``), eqs (13)-(21), as
    :func:`_bullington_db`."""
    last = n - 1
    dtot = d[last]
    ce = 1.0 / ap
    stim = srim = -np.inf
    for i in range(1, last):
        bulge = (0.0 if smooth else g[i]) + 500.0 * ce * d[i] * (dtot - d[i])
        stim = max(stim, (bulge - hts) / d[i])  # (13)
        srim = max(srim, (bulge - hrs) / (dtot - d[i]))  # (17)
    if stim < (hrs - hts) / dtot:  # (14): line of sight
        nu_max = -np.inf
        for i in range(1, last):
            nu_max = max(nu_max, _nu_kernel(0.0 if smooth else g[i], d[i], dtot, hts, hrs, ce,
                                            lam))  # (15)
        luc = _knife_edge_db(nu_max)  # (16)
    else:
        dbp = (hrs - hts + srim * dtot) / (stim + srim)  # (18)
        nub = ((hts + stim * dbp - (hts * (dtot - dbp) + hrs * dbp) / dtot)
               * math.sqrt(0.002 * dtot / (lam * dbp * (dtot - dbp))))  # (19)
        luc = _knife_edge_db(nub)  # (20)
    return luc + (1.0 - math.exp(-luc / 6.0)) * (10.0 + 0.02 * dtot)  # (21)


@numba.njit(cache=True, nogil=True)
def _delta_bullington_kernel(d, g, n, hts, hrs, hstd, hsrd, ap, f, pol):
    """Delta-Bullington loss of an inland path (ω = 0) for radius a_p, eqs (37)-(39)."""
    lam = _WAVELENGTH_M_GHZ / f
    lbulla = _bullington_kernel(d, g, n, hts, hrs, ap, lam, False)
    hte, hre = hts - hstd, hrs - hsrd  # (37a), (37b), (38a), (38b)
    lbulls = _bullington_kernel(d, g, n, hte, hre, ap, lam, True)
    ldsph = _spherical_earth_db(d[n - 1], hte, hre, ap, f, pol, 0.0)
    return lbulla + max(ldsph - lbulls, 0.0)  # (39)


@numba.njit(cache=True, nogil=True)
def p1812_inland_loss_kernel(d_km, h_m, g_m, n, f_ghz, p_percent, htg_m, hrg_m, pol, phi_t_deg,
                             phi_r_deg, lam_t_deg, lam_r_deg, delta_n, n0, pl_percent,
                             sigma_l_db):
    """P.1812-8 basic transmission loss Lb [dB] of one inland path, and whether it is
    trans-horizon (numba kernel).

    Same arguments as :func:`p1812_loss` for the first ``n`` samples of ``d_km`` (strictly
    increasing from 0) and ``h_m``, every point in zone 4 (inland), the terminals over land
    (dct = dcr = 500 km); ``g_m`` is terrain plus representative clutter (g = h + R, §3.2.1,
    with ``g_m[0] = h_m[0]`` and ``g_m[n - 1] = h_m[n - 1]``; pass ``h_m`` itself for R = 0).
    Nothing is validated: the caller keeps every argument in the ranges p1812_loss checks.
    """
    last = n - 1
    dtot = d_km[last]
    phi, _ = path_centre_deg(phi_t_deg, phi_r_deg, lam_t_deg, lam_r_deg, dtot)  # (4)
    b0 = _beta0_percent(phi, dtot, dtot)  # (5): d_tm = d_lm = d on an inland path
    ae = EARTH_RADIUS_KM * 157.0 / (157.0 - delta_n)  # (6), (7a)
    ab = EARTH_RADIUS_KM * _K_BETA  # (7b)
    hts, hrs = h_m[0] + htg_m, h_m[last] + hrg_m
    trans, theta_t, theta_r, theta, dlt, dlr, lt, lr = _horizons_kernel(d_km, h_m, n, hts, hrs,
                                                                        ae, f_ghz)
    hstd, hsrd, hte, hre, hm = _heights_kernel(d_km, h_m, n, htg_m, hrg_m, hts, hrs, lt, lr)
    lbfs, lb0p, lb0b = _line_of_sight(dtot, hts, hrs, f_ghz, p_percent, b0, dlt, dlr)
    ld50 = _delta_bullington_kernel(d_km, g_m, n, hts, hrs, hstd, hsrd, ae, f_ghz, pol)
    ldb = ld50 if p_percent == 50.0 else _delta_bullington_kernel(  # read for p < 50 % only
        d_km, g_m, n, hts, hrs, hstd, hsrd, ab, f_ghz, pol)
    lba = _anomalous_db(dtot, f_ghz, p_percent, 0.0, ae, b0, dtot, theta_t, theta_r, dlt, dlr,
                        hte, hre, hm, hts, hrs, 500.0, 500.0)
    lbc = _combine(f_ghz, p_percent, dtot, 0.0, b0, lbfs, lb0p, lb0b, ld50, ldb, lba, theta,
                   n0)[11]
    lloc = -inverse_normal(pl_percent / 100.0) * sigma_l_db  # §4.7, §4.9
    return max(lb0p, lbc + lloc), trans  # (69)

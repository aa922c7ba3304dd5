"""Coverage: the received level of every (candidate, technology) option at every demand point.

Received level (RSRP, 3GPP TS 36.214 / TS 38.215: power per resource element) on one path::

    RSRP [dBm] = EIRP_RE - L_model(d, f, h_BS, h_UT) - L_diffraction(terrain profile) - L_clutter

- ``EIRP_RE`` is the carrier EIRP less ``10 log10(12 N_RB)``. With the default omni antenna
  it is radiated equally in every direction. With ``coverage.antenna: three_sector`` the site
  has one sector per ``coverage.sector_azimuths_deg`` (default 0/120/240 degrees clockwise
  from grid north), each tilted ``coverage.downtilt_deg`` below the horizontal, and the
  technology's ``eirp_dbm`` is read as the EIRP *of each sector at its boresight* (transmit
  power plus the antenna's maximum gain); off boresight the level drops by the pattern
  attenuation of 3GPP TR 38.901 Table 7.3-1 (:func:`sector_pattern_db`), and a point takes
  the best sector. A point at a sector's boresight therefore gets the omni level.
- ``L_model`` is the technology's path-loss model (:mod:`siting.propagation`). For the 3GPP
  models the LOS branch is used: the terrain enters through the diffraction term, as in
  ITU-R P.1812 (free-space-like basic loss plus terrain diffraction). The Hata family has no
  LOS branch and is used as published.
- ``L_diffraction`` is Deygout's multiple knife-edge loss (up to three edges) over the DEM
  profile between the antenna and the user, with earth curvature (effective radius factor k).
  It is applied only when the terrain blocks the straight line between the antennas: a clear
  path gets 0 dB even when terrain intrudes into its first Fresnel zone (where
  :func:`siting.propagation.deygout_loss` would give up to about 6 dB per edge). This is
  deliberate. Around a user 1.5 m above ground the ground itself fills the first Fresnel
  zone of every long path: 12 km over flat ground at 1.8 GHz (k = 4/3), the ground 1 km from
  the user is 3.2 m below the ray, where the zone's radius is 12 m, so v = -0.37 and
  J(v) = 3.0 dB. The 3GPP and Hata models are fitted to measurements over such ground and
  already hold that loss (the RMa LOS breakpoint is the two-ray ground effect), so counting
  it again would bias every clear path low. ITU-R P.1812 avoids the double count by
  subtracting the diffraction of a smooth-earth profile (its delta-Bullington method);
  Deygout on the terrain alone cannot.
- ``L_clutter`` is the clutter loss at the user: with land cover (``inputs.land_cover``,
  :mod:`siting.landcover`) ITU-R P.2108-1 §3.1 for the class of the user's cell, else (and on
  cells without a class) the technology's flat ``clutter_loss_db``. With land cover the
  representative clutter heights R of the classes also stand on the profile between the
  antennas (:attr:`siting.terrain.Terrain.surface_m`) as obstacles for Deygout and as
  P.1812's g = h + R; the ends and the sample next to the user stay bare, the user's own
  clutter being its P.2108 loss. ITM works on the bare terrain (its fits hold average ground
  cover) and gets the P.2108 loss at the user too.
- A calibration (``coverage.calibration``, written by ``siting calibrate``) adds an offset per
  technology and land-cover class of the user's cell, and with a distance slope so many dB per
  decade of the link's distance (:func:`calibration_distance_db`).

A technology whose model works over the terrain profile (``model: p1812``, ITU-R P.1812-8;
:data:`PROFILE_MODEL_LOSSES`) replaces both ``L_model`` and ``L_diffraction`` by that model's
basic transmission loss over the same DEM profile (its delta-Bullington diffraction holds the
terrain): ``RSRP = EIRP_RE - L_b(profile) - L_clutter``, computed by :func:`p1812_kernel`
(zone 4 inland, the land cover's clutter heights, both ends' latitude and longitude from the
run's CRS).

Only pairs within the technology's ``max_range_m`` of a candidate that allows the technology
are evaluated (a KD-tree query), a batch of at most ``MAX_PAIRS_PER_BATCH`` pairs at a time so
that memory stays bounded however large the region, and the profile kernel runs in numba over
all cores. The result is a sparse matrix (demand x options)
holding levels at or above each technology's RSRP threshold, plus per-demand diagnostics
(was any candidate in range? the best level seen, covered or not) that explain gaps.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp

from siting.config import CoverageSettings, DistanceSlope, ItmSettings, Technology
from siting.errors import InputError
from siting.landcover import NO_CLASS_CODE, NO_CLASS_NAME
from siting.itm import (ITM_OUT_D_HZN_TX, ITM_OUT_DISTANCE, ITM_OUT_LOSS, ITM_OUT_SIZE,
                        itm_p2p_kernel)
from siting.p1812 import p1812_inland_loss_kernel
from siting.propagation import (EARTH_RADIUS_M, PATH_LOSS_MODELS, SPEED_OF_LIGHT_M_S,
                                curvature_per_m, deygout_secondary_edges_kernel,
                                knife_edge_loss_kernel)
from siting.terrain import Terrain, bilinear_kernel, sample_profile_kernel

MIN_MODEL_DISTANCE_M = 10.0  # TR 38.901 RMa/UMa lower validity bound; nearer pairs use it
#: A calibration's distance slope holds links nearer than this [km] at it: within 100 m of
#: a mast the level follows the antenna's vertical pattern, not the distance.
SLOPE_NEAREST_KM = 0.1
#: ITU-R P.1812 polarisation on every path: 2, vertical (the vertical component of a base
#: station's +-45 deg cross-polarised antenna; it changes only the spherical-earth term).
P1812_POLARIZATION = 2
#: NTIA's ITM codes of the ``itm.polarization`` values.
ITM_POLARIZATION = {"horizontal": 0, "vertical": 1}
#: ITM's variability mode on every path: 12, mobile (2) without location variability (+10),
#: as NTIA's ``point_to_point`` and SPLAT! call it: the level is the median over locations
#: at the path's time and situation percentages.
ITM_MDVAR = 12
#: Pairs evaluated per :func:`path_levels` call when many are asked for (bounds the memory of
#: the per-pair arrays, about 150 bytes a pair at the peak, whatever the region's size).
MAX_PAIRS_PER_BATCH = 1 << 21
#: Transmitters whose KD-tree neighbour lists are held at a time while pairs are listed.
_PAIR_QUERY_BATCH = 512


@dataclass(frozen=True)
class Transmitters:
    """Antenna positions [m] in the terrain's CRS and heights above ground [m]."""

    x_m: np.ndarray
    y_m: np.ndarray
    height_m: np.ndarray

    def take(self, rows: np.ndarray) -> Transmitters:
        """The transmitters at positions ``rows``, in that order."""
        return Transmitters(self.x_m[rows], self.y_m[rows], self.height_m[rows])


@dataclass(frozen=True)
class PathLevels:
    """Levels on every transmitter-receiver pair within range (one technology)."""

    tx: np.ndarray  # int32 transmitter index
    rx: np.ndarray  # int32 receiver index
    level_dbm: np.ndarray  # float32 RSRP
    los: np.ndarray  # bool, terrain line of sight


@dataclass(frozen=True)
class CoverageMatrix:
    """Sparse levels (demand x options) at or above threshold, with the option table."""

    level_dbm: sp.csr_matrix  # float32, rows = demand, columns = options
    options: pd.DataFrame  # one row per option: candidate (int), site_id, technology, generation
    in_range: np.ndarray  # bool per demand: some candidate within range of a technology it allows
    best_level_dbm: np.ndarray  # float32 per demand: best level from any option, -inf if none

    @property
    def covers(self) -> sp.csr_matrix:
        """Boolean cover matrix (demand x options)."""
        return (self.level_dbm != 0).astype(np.int8).tocsr()


@numba.njit(cache=True, nogil=True)
def _sample_and_find_principal_edge(elevation, surface, r0, c0, r1, c1, last, step_m, h_tx_m,
                                    h_rx_m, curvature, wavelength_m, dist, elev):
    """Fill ``dist[:last + 1]`` / ``elev[:last + 1]`` with the bilinear profile from cell
    coordinates (r0, c0) to (r1, c1), ``step_m`` [m] apart, and return Deygout's principal edge
    over it: (index, v), (-1, -inf) when no sample rises above the ray (line of sight).

    The ends and the sample next to the receiver (the receiver's own clutter, which its
    terminal clutter loss holds) are read from the bare ``elevation``, every other sample from
    ``surface`` (terrain plus clutter height; the elevation itself without land cover).

    One pass does both, so a clear path costs one sample and one comparison per cell. The
    principal edge of a blocked path lies among the samples above the ray (v > 0 there), so
    only those take the square root. The samples, clearance and v are the arithmetic of
    :func:`siting.terrain.sample_profile_kernel` and
    :func:`siting.propagation.strongest_edge_kernel`.
    """
    length_m = last * step_m
    step_r = (r1 - r0) / last
    step_c = (c1 - c0) / last
    elev[0] = bilinear_kernel(elevation, r0, c0)
    elev[last] = bilinear_kernel(elevation, r1, c1)
    dist[0] = 0.0
    dist[last] = length_m
    h_first = elev[0] + h_tx_m
    rise = elev[last] + h_rx_m - h_first
    best_i = -1
    best_v = -np.inf
    for i in range(1, last):
        z = bilinear_kernel(surface if i < last - 1 else elevation, r0 + i * step_r,
                            c0 + i * step_c)
        d = i * step_m
        elev[i] = z
        dist[i] = d
        ground = z + d * (length_m - d) * curvature
        ray = h_first + rise * d / length_m
        if ground > ray:
            v = (ground - ray) * math.sqrt(2.0 / wavelength_m * (1.0 / d + 1.0 / (length_m - d)))
            if v > best_v:
                best_v = v
                best_i = i
    return best_i, best_v


#: The pairs of a profile kernel's call are split into at most this many chunks (``prange``
#: iterations), each with its own profile buffers.
PAIR_CHUNKS = 256


@numba.njit(cache=True, nogil=True)
def pair_length_cells(row0, col0, row1, col1):
    """Length of a path between two continuous pixel positions [cells]."""
    dr = row1 - row0
    dc = col1 - col0
    return np.sqrt(dr * dr + dc * dc)


@numba.njit(cache=True, nogil=True)
def buffer_of(buffer, n):
    """``buffer`` when it holds ``n`` samples, else a new one with room for ``2 n``."""
    if buffer.shape[0] >= n:
        return buffer
    return np.empty(2 * n)


@numba.njit(cache=True, nogil=True)
def profile_samples(length_cells):
    """Samples of the profile of a path ``length_cells`` DEM cells long: about one per cell,
    ends included, at least 3 (every profile kernel of the coverage stage samples alike)."""
    return max(3, int(np.ceil(length_cells)) + 1)


@numba.njit(parallel=True, cache=True, nogil=True)
def diffraction_kernel(elevation, surface, cell_m, tx_row, tx_col, tx_h, rx_row, rx_col, rx_h,
                       pair_tx, pair_rx, wavelength_m, earth_k, max_edges, loss_out, los_out):
    """Deygout loss and terrain LOS on every pair; profiles sampled about once per DEM cell,
    the obstacles on ``surface`` (terrain plus clutter, see
    :func:`_sample_and_find_principal_edge`; pass ``elevation`` twice for bare terrain).

    Per pair, :func:`_sample_and_find_principal_edge` samples the profile, tests line of sight
    and finds the principal edge in one pass; only blocked paths go on to the secondary edges
    (:func:`siting.propagation.deygout_secondary_edges_kernel`). The results agree with
    :func:`siting.propagation.line_of_sight_clear_kernel` and
    :func:`siting.propagation.deygout_loss_kernel` on the profile of
    :func:`siting.terrain.sample_profile_kernel` to rounding (a test holds them to 1e-12
    relative). Pairs are split into at most 256 chunks, each with its own profile buffers.
    """
    n_pairs = pair_tx.shape[0]
    n_chunks = min(n_pairs, PAIR_CHUNKS)
    curvature = curvature_per_m(earth_k)
    for chunk in numba.prange(n_chunks):
        dist = np.empty(0)
        elev = np.empty(0)
        for p in range(chunk * n_pairs // n_chunks, (chunk + 1) * n_pairs // n_chunks):
            a = pair_tx[p]
            b = pair_rx[p]
            length_cells = pair_length_cells(tx_row[a], tx_col[a], rx_row[b], rx_col[b])
            if length_cells * cell_m < 1.0:
                loss_out[p] = 0.0
                los_out[p] = True
                continue
            n = profile_samples(length_cells)
            dist = buffer_of(dist, n)
            elev = buffer_of(elev, n)
            last = n - 1
            principal, v = _sample_and_find_principal_edge(
                elevation, surface, tx_row[a], tx_col[a], rx_row[b], rx_col[b], last,
                length_cells * cell_m / last, tx_h[a], rx_h[b], curvature, wavelength_m, dist, elev)
            los_out[p] = principal < 0
            if principal < 0 or max_edges == 0:
                loss_out[p] = 0.0
                continue
            loss_out[p] = deygout_secondary_edges_kernel(
                dist, elev, last, principal, knife_edge_loss_kernel(v), elev[0] + tx_h[a],
                elev[last] + rx_h[b], dist[last], curvature, wavelength_m, max_edges)


@numba.njit(parallel=True, cache=True, nogil=True)
def p1812_kernel(elevation, surface, cell_m, tx_row, tx_col, tx_h, tx_lat, tx_lon, rx_row, rx_col,
                 rx_h, rx_lat, rx_lon, pair_tx, pair_rx, f_ghz, time_pct, location_pct,
                 location_sigma_db, delta_n, n0, loss_out, los_out):
    """ITU-R P.1812-8 basic transmission loss [dB] and line of sight (not trans-horizon) on
    every pair, over the DEM profile sampled as :func:`diffraction_kernel` samples it.

    Each profile (:func:`siting.terrain.sample_profile_kernel`, ``profile_samples`` points) goes
    to :func:`siting.p1812.p1812_inland_loss_kernel`: zone 4 (inland) everywhere, terrain plus
    representative clutter g = h + R sampled on ``surface`` (pass ``elevation`` twice for R =
    0) with the ends and the sample next to the receiver bare (the receiver's own clutter is
    its terminal clutter loss), vertical polarisation, ends at the pair's latitudes and
    longitudes [deg]. A path
    shorter than ``MIN_MODEL_DISTANCE_M`` keeps its samples with their spacing stretched to
    that length. Pairs are split into at most 256 chunks, each with its own buffers.
    """
    n_pairs = pair_tx.shape[0]
    n_chunks = min(n_pairs, PAIR_CHUNKS)
    for chunk in numba.prange(n_chunks):
        dist_km = np.empty(0)
        elev = np.empty(0)
        clutter = np.empty(0)
        for p in range(chunk * n_pairs // n_chunks, (chunk + 1) * n_pairs // n_chunks):
            a = pair_tx[p]
            b = pair_rx[p]
            length_cells = pair_length_cells(tx_row[a], tx_col[a], rx_row[b], rx_col[b])
            n = profile_samples(length_cells)
            dist_km = buffer_of(dist_km, n)
            elev = buffer_of(elev, n)
            clutter = buffer_of(clutter, n)
            sample_profile_kernel(elevation, tx_row[a], tx_col[a], rx_row[b], rx_col[b], n, elev)
            sample_profile_kernel(surface, tx_row[a], tx_col[a], rx_row[b], rx_col[b], n, clutter)
            clutter[0] = elev[0]
            clutter[n - 2] = elev[n - 2]
            clutter[n - 1] = elev[n - 1]
            step_km = max(length_cells * cell_m, MIN_MODEL_DISTANCE_M) / 1000.0 / (n - 1)
            for i in range(n):
                dist_km[i] = i * step_km
            loss, transhorizon = p1812_inland_loss_kernel(
                dist_km, elev, clutter, n, f_ghz, time_pct, tx_h[a], rx_h[b], P1812_POLARIZATION,
                tx_lat[a], rx_lat[b], tx_lon[a], rx_lon[b], delta_n, n0, location_pct,
                location_sigma_db)
            loss_out[p] = loss
            los_out[p] = not transhorizon


def _lat_lon_deg(terrain: Terrain, x_m, y_m) -> tuple[np.ndarray, np.ndarray]:
    """WGS 84 latitude and longitude [deg] of map points in the terrain's CRS."""
    if terrain.crs is None:
        raise InputError("ITU-R P.1812 needs each path's latitude, and the terrain has no CRS")
    to_wgs84 = pyproj.Transformer.from_crs(terrain.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(np.asarray(x_m, np.float64), np.asarray(y_m, np.float64))
    return np.ascontiguousarray(lat, np.float64), np.ascontiguousarray(lon, np.float64)


def p1812_path_loss_db(terrain: Terrain, tx: Transmitters, rx_x_m: np.ndarray,
                       rx_y_m: np.ndarray, rx_height_m: float, pair_tx: np.ndarray,
                       pair_rx: np.ndarray, tech: Technology) -> tuple[np.ndarray, np.ndarray]:
    """ITU-R P.1812-8 basic transmission loss [dB] and line of sight on every pair
    (:func:`p1812_kernel`), with the technology's ``p1812`` settings.

    ``delta_n`` and ``n0`` must be known: a scenario that reads them from the ITU-R maps has
    them filled by :func:`siting.io.resolve_itu_maps` before coverage runs.
    """
    params = tech.p1812
    if params is None or params.delta_n is None or params.n0 is None:
        raise ValueError(f"technology {tech.name}: P.1812 needs p1812.delta_n and p1812.n0 "
                         f"(siting.io.resolve_itu_maps reads them from coverage.itu_maps_dir)")
    tx_row, tx_col = _ground_rowcol(terrain, tx.x_m, tx.y_m)
    rx_row, rx_col = _ground_rowcol(terrain, rx_x_m, rx_y_m)
    tx_lat, tx_lon = _lat_lon_deg(terrain, tx.x_m, tx.y_m)
    rx_lat, rx_lon = _lat_lon_deg(terrain, rx_x_m, rx_y_m)
    loss = np.empty(len(pair_tx), np.float64)
    los = np.empty(len(pair_tx), np.bool_)
    p1812_kernel(terrain.elevation_m, terrain.surface_m, float(terrain.cell_size_m), tx_row,
                 tx_col, np.asarray(tx.height_m, np.float64), tx_lat, tx_lon, rx_row, rx_col,
                 np.full(len(rx_x_m), float(rx_height_m)), rx_lat, rx_lon, pair_tx, pair_rx,
                 tech.frequency_mhz / 1000.0, float(params.time_pct), float(params.location_pct),
                 float(params.location_sigma_db), float(params.delta_n), float(params.n0), loss,
                 los)
    return loss, los


@numba.njit(parallel=True, cache=True, nogil=True)
def itm_kernel(elevation, cell_m, tx_row, tx_col, tx_h, rx_row, rx_col, rx_h, pair_tx, pair_rx,
               climate, n0, f_mhz, pol, epsilon, sigma, mdvar, time_pct, location_pct,
               situation_pct, loss_out, los_out):
    """NTIA ITM point-to-point basic transmission loss [dB] and line of sight on every pair,
    over the DEM profile sampled as :func:`diffraction_kernel` samples it
    (:func:`siting.itm.itm_p2p_kernel`; a pair the model leaves undefined gets an infinite loss,
    so it covers nothing). A path shorter than ``MIN_MODEL_DISTANCE_M`` keeps its samples with
    their spacing stretched to that length. Pairs are split into at most ``PAIR_CHUNKS``
    chunks, each with its own buffers."""
    n_pairs = pair_tx.shape[0]
    n_chunks = min(n_pairs, PAIR_CHUNKS)
    for chunk in numba.prange(n_chunks):
        elev = np.empty(0)
        out = np.empty(ITM_OUT_SIZE)
        for p in range(chunk * n_pairs // n_chunks, (chunk + 1) * n_pairs // n_chunks):
            a = pair_tx[p]
            b = pair_rx[p]
            length_cells = pair_length_cells(tx_row[a], tx_col[a], rx_row[b], rx_col[b])
            n = profile_samples(length_cells)
            elev = buffer_of(elev, n)
            sample_profile_kernel(elevation, tx_row[a], tx_col[a], rx_row[b], rx_col[b], n, elev)
            spacing_m = max(length_cells * cell_m, MIN_MODEL_DISTANCE_M) / (n - 1)
            error = itm_p2p_kernel(tx_h[a], rx_h[b], elev[:n], spacing_m, climate, n0, f_mhz, pol,
                                   epsilon, sigma, mdvar, time_pct, location_pct, situation_pct, out)
            loss_out[p] = out[ITM_OUT_LOSS] if error == 0 else np.inf
            los_out[p] = error == 0 and out[ITM_OUT_D_HZN_TX] >= out[ITM_OUT_DISTANCE]


def itm_path_loss_db(terrain: Terrain, tx: Transmitters, rx_x_m: np.ndarray, rx_y_m: np.ndarray,
                     rx_height_m: float, pair_tx: np.ndarray, pair_rx: np.ndarray,
                     tech: Technology) -> tuple[np.ndarray, np.ndarray]:
    """NTIA ITM basic transmission loss [dB] and line of sight on every pair
    (:func:`itm_kernel`), with the technology's ``itm`` settings and variability mode
    :data:`ITM_MDVAR`."""
    params = tech.itm if tech.itm is not None else ItmSettings()
    tx_row, tx_col = _ground_rowcol(terrain, tx.x_m, tx.y_m)
    rx_row, rx_col = _ground_rowcol(terrain, rx_x_m, rx_y_m)
    loss = np.empty(len(pair_tx), np.float64)
    los = np.empty(len(pair_tx), np.bool_)
    itm_kernel(terrain.elevation_m, float(terrain.cell_size_m), tx_row, tx_col,
               np.asarray(tx.height_m, np.float64), rx_row, rx_col,
               np.full(len(rx_x_m), float(rx_height_m)), pair_tx, pair_rx, int(params.climate),
               float(params.n0), float(tech.frequency_mhz), ITM_POLARIZATION[params.polarization],
               float(params.epsilon), float(params.sigma), ITM_MDVAR, float(params.time_pct),
               float(params.location_pct), float(params.situation_pct), loss, los)
    return loss, los


#: Path-loss models computed over the DEM profile between the antennas, diffraction included
#: (``terrain_profile`` in :data:`siting.propagation.PATH_LOSS_MODELS`): model name ->
#: ``loss(terrain, tx, rx_x_m, rx_y_m, rx_height_m, pair_tx, pair_rx, tech) -> (basic loss
#: [dB], line of sight)`` on every pair. A new profile model adds its function here.
PROFILE_MODEL_LOSSES = {"p1812": p1812_path_loss_db, "itm": itm_path_loss_db}


def model_loss_db(tech: Technology, distance_m: np.ndarray, h_base_m: np.ndarray,
                  h_mobile_m: float) -> np.ndarray:
    """Median path loss [dB] of the technology's model (LOS branch for the 3GPP models).

    The model comes from :data:`siting.propagation.PATH_LOSS_MODELS`. Distances below the
    model's validity range (1 km for the Hata models) or below ``MIN_MODEL_DISTANCE_M`` are
    raised to that distance: a user at the foot of a mast gets the level the model gives at its
    shortest valid distance rather than an extrapolation that grows without bound.
    """
    model = PATH_LOSS_MODELS.get(tech.model)
    if model is None:
        raise ValueError(f"unknown path-loss model {tech.model!r}")
    if model.terrain_profile:
        raise ValueError(f"the {tech.model} model is computed over the terrain profile "
                         f"(PROFILE_MODEL_LOSSES), not from the distance alone")
    d = np.maximum(distance_m, max(MIN_MODEL_DISTANCE_M, model.distance_range_m[0]))
    return model.loss_db(d, tech.frequency_mhz, h_base_m, h_mobile_m, tech.environment)


#: 3GPP TR 38.901 Table 7.3-1: half-power beamwidths, side-lobe level and front-back ratio.
SECTOR_BEAMWIDTH_DEG = 65.0  # theta_3dB = phi_3dB
SECTOR_SIDELOBE_DB = 30.0  # SLA_V
SECTOR_MAX_ATTENUATION_DB = 30.0  # A_max


def sector_pattern_db(phi_deg, theta_deg, downtilt_deg=0.0):
    """Relative gain [dB, <= 0] of one sector antenna (3GPP TR 38.901 Table 7.3-1).

    ``A(theta, phi) = -min(-(A_V + A_H), A_max)`` with the horizontal cut
    ``A_H = -min(12 (phi / 65 deg)^2, A_max)`` and the vertical cut
    ``A_V = -min(12 ((theta - 90 deg - downtilt) / 65 deg)^2, SLA_V)``, A_max = SLA_V = 30 dB.
    The maximum element gain (8 dBi in the table) is not added: the technology's EIRP is the
    EIRP at boresight, so this is the attenuation relative to boresight (0 dB there).

    Parameters
    ----------
    phi_deg : array_like
        Azimuth of the direction relative to the sector's boresight azimuth [deg]; any value,
        wrapped to [-180, 180).
    theta_deg : array_like
        Zenith angle of the direction [deg]: 90 is horizontal, above 90 below the horizon.
    downtilt_deg : array_like
        Downtilt of the boresight below the horizontal [deg]; applied as an offset of the
        vertical cut (electrical tilt, as in TR 36.814 Table A.2.1.1-2), not as the mechanical
        rotation of TR 38.901 section 7.1.

    Returns
    -------
    gain_db : numpy.ndarray
        Pattern attenuation as a relative gain, between -30 and 0 [dB].

    References
    ----------
    .. [1] 3GPP TR 38.901 V17.0.0, section 7.3, Table 7.3-1 (radiation power pattern of a
       single antenna element).
    """
    phi = (np.asarray(phi_deg, np.float64) + 180.0) % 360.0 - 180.0
    theta = np.asarray(theta_deg, np.float64)
    a_h = -np.minimum(12.0 * (phi / SECTOR_BEAMWIDTH_DEG) ** 2, SECTOR_MAX_ATTENUATION_DB)
    a_v = -np.minimum(12.0 * ((theta - 90.0 - downtilt_deg) / SECTOR_BEAMWIDTH_DEG) ** 2,
                      SECTOR_SIDELOBE_DB)
    return -np.minimum(-(a_v + a_h), SECTOR_MAX_ATTENUATION_DB)


def best_sector_gain_db(bearing_deg, theta_deg, sector_azimuths_deg, downtilt_deg):
    """Relative gain [dB, <= 0] of the best of several sectors (:func:`sector_pattern_db`).

    ``bearing_deg`` is the direction to the point, clockwise from grid north [deg];
    ``sector_azimuths_deg`` the boresight bearings of the sectors [deg].
    """
    bearing = np.asarray(bearing_deg, np.float64)
    best = np.full(np.broadcast(bearing, theta_deg).shape, -np.inf)
    for azimuth in sector_azimuths_deg:
        best = np.maximum(best, sector_pattern_db(bearing - azimuth, theta_deg, downtilt_deg))
    return best


def _antenna_gain_db(terrain: Terrain, tx: Transmitters, rx_x_m, rx_y_m, rx_height_m, pair_tx,
                     pair_rx, distance_m, settings: CoverageSettings) -> np.ndarray | float:
    """Antenna pattern gain [dB] on every pair: 0 for omni, else the best sector's."""
    if settings.antenna == "omni":
        return 0.0
    dx = rx_x_m[pair_rx] - tx.x_m[pair_tx]
    dy = rx_y_m[pair_rx] - tx.y_m[pair_tx]
    bearing = np.degrees(np.arctan2(dx, dy))
    eye = terrain.elevation_at(tx.x_m, tx.y_m) + tx.height_m
    tip = terrain.elevation_at(rx_x_m, rx_y_m) + rx_height_m
    k = float(settings.earth_radius_factor)
    drop = distance_m**2 / (2.0 * k * EARTH_RADIUS_M) if k > 0 else 0.0
    # zenith angle of the point seen from the antenna: 90 deg + depression below the horizontal
    theta = 90.0 + np.degrees(np.arctan2(eye[pair_tx] - tip[pair_rx] + drop, distance_m))
    return best_sector_gain_db(bearing, theta, settings.sector_azimuths_deg, settings.downtilt_deg)


def _ground_rowcol(terrain: Terrain, x_m, y_m):
    """Continuous pixel coordinates of map points as contiguous float64 arrays (the kernel's
    argument types)."""
    row, col = terrain.rowcol(np.asarray(x_m, float), np.asarray(y_m, float))
    return np.ascontiguousarray(row, np.float64), np.ascontiguousarray(col, np.float64)


def pairs_within_range(tx_x_m, tx_y_m, rx_x_m, rx_y_m, max_range_m):
    """(transmitter, receiver) index pairs closer than ``max_range_m``, sorted by tx then rx.

    The KD-tree's neighbour lists (Python objects, ~40 bytes a pair) are held for
    ``_PAIR_QUERY_BATCH`` transmitters at a time; the result takes 8 bytes a pair.
    """
    from scipy.spatial import cKDTree  # here: siting predict imports this module, never calls it

    tree = cKDTree(np.column_stack([rx_x_m, rx_y_m]))
    points = np.column_stack([tx_x_m, tx_y_m])
    pair_tx, pair_rx = [np.empty(0, np.int32)], [np.empty(0, np.int32)]
    for start in range(0, len(points), _PAIR_QUERY_BATCH):
        # sorted lists, in transmitter order: deterministic, independent of the KD-tree
        neighbours = tree.query_ball_point(points[start:start + _PAIR_QUERY_BATCH], r=max_range_m,
                                           return_sorted=True)
        counts = np.fromiter(map(len, neighbours), dtype=np.int64, count=len(neighbours))
        pair_tx.append(np.repeat(np.arange(start, start + len(neighbours), dtype=np.int32), counts))
        pair_rx.append(np.fromiter(itertools.chain.from_iterable(neighbours), dtype=np.int32,
                                   count=int(counts.sum())))
    return np.concatenate(pair_tx), np.concatenate(pair_rx)


def _pair_batches(counts: np.ndarray, max_pairs: int) -> list[np.ndarray]:
    """Consecutive index runs whose ``counts`` add up to at most ``max_pairs`` (a single index
    when its own count is larger)."""
    ends = np.cumsum(counts)
    bounds = [0]
    while bounds[-1] < len(counts):
        start = bounds[-1]
        limit = (ends[start - 1] if start else 0) + max_pairs
        bounds.append(max(start + 1, int(np.searchsorted(ends, limit, side="right"))))
    return [np.arange(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def path_levels_in_batches(terrain: Terrain, tx: Transmitters, rx_x_m, rx_y_m,
                           rx_height_m: float, tech: Technology, settings: CoverageSettings, *,
                           max_pairs: int = MAX_PAIRS_PER_BATCH) -> Iterator[PathLevels]:
    """:func:`path_levels` of every pair within range, in batches of about ``max_pairs``
    pairs: transmitters close together (bands one range high, west to east), each batch with
    the receivers of its bounding box grown by the range. ``tx`` and ``rx`` of every batch index
    the arguments. The levels are those of one call over all pairs, batch by batch.
    """
    rx_x_m = np.atleast_1d(np.asarray(rx_x_m, np.float64))
    rx_y_m = np.atleast_1d(np.asarray(rx_y_m, np.float64))
    if len(tx.x_m) == 0 or len(rx_x_m) == 0:
        return
    reach_m = float(tech.max_range_m)
    from scipy.spatial import cKDTree  # here: siting predict imports this module, never calls it

    order = np.lexsort((tx.x_m, np.floor((tx.y_m.max() - tx.y_m) / reach_m)))
    counts = cKDTree(np.column_stack([rx_x_m, rx_y_m])).query_ball_point(
        np.column_stack([tx.x_m[order], tx.y_m[order]]), r=reach_m, return_length=True)
    margin_m = reach_m + 1.0  # a metre more, so no pair at exactly the range is lost to rounding
    for batch in _pair_batches(counts, max_pairs):
        sites = order[batch]
        x, y = tx.x_m[sites], tx.y_m[sites]
        near = np.flatnonzero((rx_x_m >= x.min() - margin_m) & (rx_x_m <= x.max() + margin_m)
                              & (rx_y_m >= y.min() - margin_m) & (rx_y_m <= y.max() + margin_m))
        levels = path_levels(terrain, tx.take(sites), rx_x_m[near], rx_y_m[near], rx_height_m,
                             tech, settings)
        yield PathLevels(sites[levels.tx].astype(np.int32), near[levels.rx].astype(np.int32),
                         levels.level_dbm, levels.los)


def best_levels(terrain: Terrain, tx: Transmitters, rx_x_m, rx_y_m, rx_height_m: float,
                tech: Technology, settings: CoverageSettings) -> np.ndarray:
    """Best-server RSRP [dBm, float32] at every receiver over the transmitters, among the
    levels at or above the technology's threshold (-inf where none), in bounded memory
    (:func:`path_levels_in_batches`)."""
    best = np.full(len(np.atleast_1d(rx_x_m)), -np.inf, np.float32)
    for levels in path_levels_in_batches(terrain, tx, rx_x_m, rx_y_m, rx_height_m, tech, settings):
        ok = levels.level_dbm >= tech.rsrp_threshold_dbm
        np.maximum.at(best, levels.rx[ok], levels.level_dbm[ok])
    return best


def path_levels(terrain: Terrain, tx: Transmitters, rx_x_m: np.ndarray, rx_y_m: np.ndarray,
                rx_height_m: float, tech: Technology, settings: CoverageSettings) -> PathLevels:
    """RSRP on every transmitter-receiver pair closer than ``tech.max_range_m``
    (:func:`pair_levels` of the pairs :func:`pairs_within_range` lists)."""
    rx_x_m = np.atleast_1d(np.asarray(rx_x_m, np.float64))
    rx_y_m = np.atleast_1d(np.asarray(rx_y_m, np.float64))
    pair_tx, pair_rx = pairs_within_range(tx.x_m, tx.y_m, rx_x_m, rx_y_m, tech.max_range_m)
    level, los = pair_levels(terrain, tx, rx_x_m, rx_y_m, rx_height_m, pair_tx, pair_rx, tech,
                             settings)
    return PathLevels(pair_tx, pair_rx, level, los)


def pair_levels(terrain: Terrain, tx: Transmitters, rx_x_m: np.ndarray, rx_y_m: np.ndarray,
                rx_height_m: float, pair_tx: np.ndarray, pair_rx: np.ndarray, tech: Technology,
                settings: CoverageSettings) -> tuple[np.ndarray, np.ndarray]:
    """RSRP [dBm, float32] and terrain line of sight on the given (transmitter, receiver)
    pairs, whatever their distance.

    ``RSRP = EIRP_RE - L_basic - L_diffraction - L_terminal + G_antenna + offset``: with
    ``settings.antenna == "three_sector"`` the best sector's pattern gain
    (:func:`best_sector_gain_db`; 0 dB at a sector's boresight); ``L_terminal`` the receiver's
    clutter loss and ``offset`` the calibration's (:func:`receiver_offset_db`, plus its
    distance slope: :func:`calibration_distance_db`).
    """
    rx_x_m = np.atleast_1d(np.asarray(rx_x_m, np.float64))
    rx_y_m = np.atleast_1d(np.asarray(rx_y_m, np.float64))
    if len(pair_tx) == 0:
        return np.empty(0, np.float32), np.empty(0, bool)
    distance_m = np.hypot(tx.x_m[pair_tx] - rx_x_m[pair_rx], tx.y_m[pair_tx] - rx_y_m[pair_rx])
    profile_loss = PROFILE_MODEL_LOSSES.get(tech.model)
    if profile_loss is not None:
        basic, los = profile_loss(terrain, tx, rx_x_m, rx_y_m, rx_height_m, pair_tx, pair_rx,
                                  tech)
        diffraction = 0.0  # in the model's own loss
    else:
        diffraction, los = _deygout_on_pairs(terrain, tx, rx_x_m, rx_y_m, rx_height_m, pair_tx,
                                             pair_rx, tech, settings)
        basic = model_loss_db(tech, distance_m, tx.height_m[pair_tx], rx_height_m)
    receiver_db = receiver_offset_db(terrain, rx_x_m, rx_y_m, rx_height_m, tech, settings)
    level = (tech.rs_epre_dbm - basic - diffraction + receiver_db[pair_rx]
             + calibration_distance_db(distance_m, tech, settings)
             + _antenna_gain_db(terrain, tx, rx_x_m, rx_y_m, rx_height_m, pair_tx, pair_rx,
                                distance_m, settings))
    return level.astype(np.float32), los


def receiver_offset_db(terrain: Terrain, rx_x_m, rx_y_m, rx_height_m: float, tech: Technology,
                       settings: CoverageSettings) -> np.ndarray:
    """What each receiver's cell adds to its level [dB]: minus its terminal clutter loss
    (:func:`terminal_clutter_loss_db`, ITU-R P.2108-1 §3.1 for its land-cover class) plus the
    calibration's offset (:func:`calibration_offset_db`)."""
    classes = receiver_classes(terrain, rx_x_m, rx_y_m)
    offset_db = -terminal_clutter_loss_db(terrain, classes, rx_height_m, tech)
    if settings.calibration is not None:
        offset_db += calibration_offset_db(class_names(terrain, classes), tech, settings)
    return offset_db


def receiver_classes(terrain: Terrain, rx_x_m, rx_y_m) -> np.ndarray:
    """Land-cover class position (in ``terrain.land_cover.classes``) of each receiver's cell,
    -1 where it has none or the terrain has no land cover."""
    if terrain.land_cover is None:
        return np.full(len(rx_x_m), NO_CLASS_CODE, np.int16)
    return terrain.land_cover.index_at(*terrain.rowcol(rx_x_m, rx_y_m))


def class_names(terrain: Terrain, classes: np.ndarray) -> np.ndarray:
    """Names of land-cover class positions (:func:`receiver_classes`), ``NO_CLASS_NAME`` for
    -1 or when the terrain has no land cover."""
    if terrain.land_cover is None:
        return np.full(len(classes), NO_CLASS_NAME, dtype=object)
    return terrain.land_cover.names_of(classes)


def terminal_clutter_loss_db(terrain: Terrain, classes: np.ndarray, rx_height_m: float,
                             tech: Technology) -> np.ndarray:
    """Clutter loss [dB] at each receiver: ITU-R P.2108-1 §3.1 for its land-cover class
    (:meth:`siting.landcover.LandCover.terminal_loss_db`), the technology's flat
    ``clutter_loss_db`` where it has none (no land cover, nodata)."""
    flat = np.full(len(classes), float(tech.clutter_loss_db))
    if terrain.land_cover is None:
        return flat
    loss = terrain.land_cover.terminal_loss_db(classes, tech.frequency_mhz, rx_height_m)
    return np.where(np.isnan(loss), flat, loss)


def calibration_offset_db(names: np.ndarray, tech: Technology,
                          settings: CoverageSettings) -> np.ndarray:
    """Offset [dB] ``coverage.calibration`` adds at receivers of land-cover class ``names``:
    the class's for the technology, else the technology's model offset; 0 without one."""
    if settings.calibration is None:
        return np.zeros(len(names))
    by_class, model_db = settings.calibration.offsets_of(tech.name)
    return pd.Series(names, dtype=object).map(by_class).fillna(model_db).to_numpy(np.float64)


def calibration_distance_db(distance_m, tech: Technology,
                            settings: CoverageSettings) -> np.ndarray | float:
    """What the calibration's distance slope adds [dB] to links of ``distance_m`` [m]
    (:func:`slope_decades`); 0 without a calibration or a slope for the technology."""
    slope = None if settings.calibration is None else settings.calibration.slope_of(tech.name)
    if slope is None:
        return 0.0
    return slope.db_per_decade * slope_decades(distance_m, slope)


def slope_decades(distance_m, slope: DistanceSlope) -> np.ndarray:
    """Decades of distance from the slope's reference, log10(d / reference_km), d [km] held
    within the distances the slope was fitted on (``min_km``..``max_km``) and at least
    :data:`SLOPE_NEAREST_KM`: the regressor of a tuned model's K2 x log10(d) term (e.g.
    the standard propagation model, ``K1 + K2 log10(d)``), not extrapolated past the
    measurements."""
    distance_km = np.clip(np.maximum(np.asarray(distance_m, np.float64) / 1000.0,
                                     SLOPE_NEAREST_KM), slope.min_km, slope.max_km)
    return np.log10(distance_km / slope.reference_km)


def _deygout_on_pairs(terrain: Terrain, tx: Transmitters, rx_x_m, rx_y_m, rx_height_m: float,
                      pair_tx, pair_rx, tech: Technology,
                      settings: CoverageSettings) -> tuple[np.ndarray, np.ndarray]:
    """Deygout's diffraction loss [dB] and line of sight on every pair
    (:func:`diffraction_kernel`)."""
    tx_row, tx_col = _ground_rowcol(terrain, tx.x_m, tx.y_m)
    rx_row, rx_col = _ground_rowcol(terrain, rx_x_m, rx_y_m)
    rx_h = np.full(len(rx_x_m), float(rx_height_m))
    loss = np.empty(len(pair_tx), np.float64)
    los = np.empty(len(pair_tx), np.bool_)
    wavelength_m = SPEED_OF_LIGHT_M_S / (tech.frequency_mhz * 1e6)
    diffraction_kernel(terrain.elevation_m, terrain.surface_m, float(terrain.cell_size_m), tx_row,
                       tx_col, np.asarray(tx.height_m, np.float64), rx_row, rx_col, rx_h, pair_tx,
                       pair_rx, wavelength_m, float(settings.earth_radius_factor),
                       int(settings.max_diffraction_edges), loss, los)
    return loss, los


def option_table(candidates: pd.DataFrame, technologies: tuple[Technology, ...]) -> pd.DataFrame:
    """One option per (candidate, technology) the candidate allows, in a stable order."""
    rows = []
    for position, (site_id, listed) in enumerate(candidates["technologies"].items()):
        allowed = {g.strip() for g in listed.split(",")}
        for tech in technologies:
            if tech.generation in allowed:
                rows.append((position, site_id, tech.name, tech.generation))
    return pd.DataFrame(rows, columns=["candidate", "site_id", "technology", "generation"])


def build_coverage(terrain: Terrain, candidates: pd.DataFrame, demand, technologies,
                   settings: CoverageSettings, ue_height_m: float) -> CoverageMatrix:
    """The coverage matrix of every option over every demand point.

    ``candidates`` is the candidate GeoDataFrame (positions in the terrain's CRS);
    ``demand`` a :class:`siting.demand.Demand`.
    """
    options = option_table(candidates, technologies)
    n_demand = len(demand)
    tx = Transmitters(candidates.geometry.x.to_numpy(), candidates.geometry.y.to_numpy(),
                      candidates["antenna_height_m"].to_numpy(float))
    rows, cols = [np.empty(0, np.int32)], [np.empty(0, np.int64)]
    values = [np.empty(0, np.float32)]
    in_range = np.zeros(n_demand, bool)
    best = np.full(n_demand, -np.inf, np.float32)
    for tech in technologies:
        tech_options = options.index[options["technology"] == tech.name].to_numpy()
        # only the candidates that allow the technology are evaluated (ascending order, so the
        # pairs keep their candidate-then-demand order)
        sites = options.loc[tech_options, "candidate"].to_numpy()
        tech_tx = tx.take(sites)
        for levels in path_levels_in_batches(terrain, tech_tx, demand.x_m, demand.y_m,
                                             ue_height_m, tech, settings):
            column = tech_options[levels.tx]
            allowed = np.ones(len(column), bool)
            if tech.generation != "5G":
                allowed &= ~demand.require_5g[levels.rx]
            rx, level, column = levels.rx[allowed], levels.level_dbm[allowed], column[allowed]
            in_range[rx] = True
            np.maximum.at(best, rx, level)
            ok = level >= tech.rsrp_threshold_dbm
            rows.append(rx[ok])
            cols.append(column[ok])
            values.append(level[ok])
    matrix = sp.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(n_demand, len(options)), dtype=np.float32)
    matrix.sort_indices()
    return CoverageMatrix(level_dbm=matrix, options=options, in_range=in_range, best_level_dbm=best)


#: :func:`build_coverage_in_steps` runs over at most this many chunks of candidates.
COVERAGE_PROGRESS_STEPS = 50


def build_coverage_in_steps(terrain, candidates: pd.DataFrame, demand, technologies, settings,
                            ue_height_m: float, *, progress=None) -> CoverageMatrix:
    """:func:`siting.coverage.build_coverage` over consecutive chunks of the candidates that
    have an option (at most ``COVERAGE_PROGRESS_STEPS`` chunks), calling
    ``progress(done, total)`` after each chunk.

    The matrix is identical to one call over all candidates: every level depends on its pair
    only, and the options of consecutive candidates follow each other in the option table.
    """
    options = option_table(candidates, technologies)
    with_options = np.unique(options["candidate"].to_numpy(np.int64))  # ascending positions
    steps = min(len(with_options), COVERAGE_PROGRESS_STEPS)
    if steps == 0:  # no candidate allows a technology: nothing to split
        return build_coverage(terrain, candidates, demand, technologies, settings, ue_height_m)
    bounds = np.linspace(0, len(with_options), steps + 1).round().astype(int)
    parts = []
    for done, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:]), 1):
        parts.append(build_coverage(terrain, candidates.iloc[with_options[start:stop]], demand,
                                    technologies, settings, ue_height_m))
        if progress is not None:
            progress(done, steps)
    matrix = sp.hstack([part.level_dbm for part in parts], format="csr")
    matrix.sort_indices()
    return CoverageMatrix(level_dbm=matrix, options=options,
                          in_range=np.logical_or.reduce([part.in_range for part in parts]),
                          best_level_dbm=np.maximum.reduce([part.best_level_dbm for part in parts]))

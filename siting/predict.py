"""Single-site area prediction: path loss and received level of every DEM cell within a radius.

Computed the way area-prediction tools (SPLAT!, Radio Mobile, the Longley-Rice area programs)
do, rather than one point-to-point profile per cell:

1. Radials leave the site every ``360 / n`` degrees, ``n`` the smallest multiple of 4 with
   ``n >= 2 pi R / cell`` (:func:`radial_count`): neighbouring radials are at most one cell
   apart on the outer ring, so every cell there has a radial through it, and four radials run
   along the grid's axes.
2. One terrain profile per radial, sampled at the DEM spacing, each sample the elevation of the
   DEM cell it falls in, as SPLAT! and Signal-Server read their profiles: a profile of the
   DEM's own values, in which every cell a radial crosses keeps its height. When the DEM is
   in another CRS than the run's (e.g. 3" tiles in longitude/latitude, which the terrain holds
   warped bilinearly to square UTM cells), the profiles read the DEM's own cells
   (:func:`sample_radials_on_cells` on :class:`~siting.terrain.DemCells`), else the terrain's
   (:func:`sample_radials_kernel`). Interpolating lowers every crest a sample does not land
   on (by up to half the rise to the next cell). Against SPLAT!'s ITM on a real 3" DEM
   (``benchmarks/vs_splat.py``, 10 and 25 km): bilinear profiles on the warped terrain put
   the loss a median 1.2-1.4 dB below SPLAT!'s (median |diff| 2.9 dB), the warped cells'
   values 0.6 dB below (1.5 dB), the DEM's own cells 0.0 dB (1.0 dB). (The coverage
   engine, :mod:`siting.coverage`, still interpolates its per-pair profiles bilinearly on
   the warped terrain.)
3. Each DEM cell within R takes the sample nearest to it: the radial nearest its bearing and
   the sample nearest its distance (:func:`nearest_samples`; the site's own cell takes the
   sample one cell out). Only samples some cell takes are computed. A distance model's
   formula is then moved from the sample's distance to the cell's own (the sample lies up to
   half a cell nearer or farther; :func:`_formula_at_cell_db`), so that on flat ground every
   cell holds the formula at its own distance, as the coverage engine gives it.
4. A sample's loss is the model's over the radial's profile *prefix* from the site to it: the
   profile is read once per radial and shared by all its samples. The model comes from
   :data:`RADIAL_LOSS_MODELS`, one entry per name:

   - every distance model of :data:`siting.propagation.PATH_LOSS_MODELS`: its formula
     (:func:`siting.coverage.model_loss_db`) plus Deygout's diffraction over the prefix with
     earth curvature, as :mod:`siting.coverage` adds it (0 dB when no sample rises above the
     antenna-to-user line, else the principal edge and up to two secondary edges);
   - the profile models (``terrain_profile``, :data:`siting.coverage.PROFILE_MODEL_LOSSES`),
     which hold the earth's curvature and diffraction themselves: ``itm``, NTIA's ITM
     point-to-point mode (:func:`siting.itm.itm_p2p_kernel`) on the prefix, and ``p1812``,
     ITU-R P.1812-8 (:func:`siting.p1812.p1812_inland_loss_kernel`) on the prefix with the
     inputs the coverage engine gives a pair (:func:`siting.coverage.p1812_kernel`: zone 4,
     the land cover's clutter heights, the ends' latitudes and longitudes, the technology's
     ``p1812`` settings).

   Another model plugs in as one more entry: a function of (:class:`Radials`,
   :class:`~siting.config.Technology`, :class:`~siting.config.CoverageSettings`,
   :class:`~siting.config.ItmSettings`) that returns the loss of every needed sample.

The received level is RSRP as :func:`siting.coverage.pair_levels` computes it: EIRP per resource
element minus the path loss, plus the best sector's pattern gain when ``coverage.antenna`` is
``three_sector`` (:func:`siting.coverage.best_sector_gain_db`), plus what the receiving cell
adds (:func:`siting.coverage.receiver_offset_db`): minus its terminal clutter loss (ITU-R
P.2108-1 for its land-cover class, else the technology's ``clutter_loss_db``) plus the
``coverage.calibration`` offset of its class, and its distance slope at the cell's distance
(:func:`siting.coverage.calibration_distance_db`).
The radial kernels run in numba over all cores (``prange`` over radials).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
import pyproj
from affine import Affine

from siting.china_crs import outside_china, to_wgs84
from siting.config import (CoverageSettings, ItmSettings, P1812Settings, Scenario, Technology,
                           beyond_validity)
from siting.coverage import (ITM_MDVAR, ITM_POLARIZATION, MIN_MODEL_DISTANCE_M, P1812_POLARIZATION,
                             best_sector_gain_db, calibration_distance_db, model_loss_db,
                             receiver_offset_db)
from siting.errors import InputError
from siting.io import resolve_itu_maps
from siting.io.dem import lonlat_bounds
from siting.itm import (ITM_OUT_LOSS, ITM_OUT_SIZE, itm_prefix_kernel, itm_profile_tables,
                        validate_itm_inputs)
from siting.p1812 import p1812_inland_loss_kernel
from siting.propagation import (EARTH_RADIUS_M, PATH_LOSS_MODELS, SPEED_OF_LIGHT_M_S,
                                curvature_per_m, deygout_secondary_edges_kernel,
                                knife_edge_loss_kernel, strongest_edge_kernel)
from siting.terrain import DemCells, Terrain

__all__ = ["AT_SYSTEMS", "RADIAL_LOSS_MODELS", "Prediction", "Radials", "check_site_ids",
           "nearest_samples",
           "position_wgs84", "predict_area", "predict_in_region", "radial_count",
           "sample_radials_kernel", "sample_radials_on_cells"]

logger = logging.getLogger(__name__)

#: Radial samples between two exact transforms of their positions to a DEM's own CRS
#: (:func:`sample_radials_on_cells`); linear in between, which moves a point by at most 2 cm
#: over 16 samples of 80 m from UTM to longitude/latitude (9 cm over 32, 0.35 m over 64).
KNOT_SAMPLES = 16


@dataclass(frozen=True)
class Radials:
    """Terrain along the radials of one site and which of their samples some cell takes."""

    elevation_m: np.ndarray  # float64 (n_radials x n_samples), sample i at i cells from the site
    surface_m: np.ndarray  # float64, same shape: terrain plus clutter height (the land cover's)
    needed: np.ndarray  # bool, same shape
    cell_m: float  # sample spacing = DEM cell [m]
    h_tx_m: float  # antenna above ground [m]
    h_rx_m: float  # user antenna above ground [m]
    site_x_m: float  # the site in ``crs`` [m]
    site_y_m: float
    crs: pyproj.CRS | None

    @property
    def distance_m(self) -> np.ndarray:
        """Distance of each sample from the site [m] (float64, n_samples)."""
        return np.arange(self.elevation_m.shape[1]) * self.cell_m

    def needed_lat_lon_deg(self) -> tuple[np.ndarray, np.ndarray]:
        """WGS 84 latitude and longitude [deg] of every needed sample (n_radials x n_samples,
        0 elsewhere); InputError without a CRS."""
        if self.crs is None:
            raise InputError("ITU-R P.1812 needs each path's latitude, and the terrain has no CRS")
        n_radials = self.elevation_m.shape[0]
        bearing = 2.0 * math.pi * np.arange(n_radials)[:, None] / n_radials
        distance_m = np.broadcast_to(self.distance_m[None, :], self.needed.shape)[self.needed]
        bearing = np.broadcast_to(bearing, self.needed.shape)[self.needed]
        lon, lat = pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True).transform(
            self.site_x_m + distance_m * np.sin(bearing),
            self.site_y_m + distance_m * np.cos(bearing))
        lat_deg, lon_deg = np.zeros(self.needed.shape), np.zeros(self.needed.shape)
        lat_deg[self.needed], lon_deg[self.needed] = lat, lon
        return lat_deg, lon_deg


@dataclass(frozen=True)
class Prediction:
    """Path loss and received level of every DEM cell within ``radius_m`` of one site.

    The grids are the DEM's cells over the square window around the circle, NaN outside it;
    ``transform`` places the window in ``crs`` [m].
    """

    path_loss_db: np.ndarray  # float32 basic loss incl. terrain [dB]
    level_dbm: np.ndarray  # float32 RSRP [dBm]
    transform: Affine
    crs: pyproj.CRS | None
    terrain: Terrain  # the DEM the prediction was made on (the maps draw its hillshade)
    site: str  # the candidate's id, or "lon,lat"
    site_x_m: float
    site_y_m: float
    height_m: float  # antenna above ground [m]
    technology: str
    model: str
    radius_m: float
    n_radials: int

    @property
    def points(self) -> int:
        """Cells predicted (within the radius)."""
        return int(np.isfinite(self.path_loss_db).sum())


def radial_count(radius_m: float, cell_m: float) -> int:
    """Radials so that neighbours are at most one cell apart at ``radius_m``: the smallest
    multiple of 4 not below ``2 pi R / cell`` (4 divides it, so radials run along the axes)."""
    return 4 * max(2, math.ceil(2.0 * math.pi * radius_m / cell_m / 4.0))


@numba.njit(parallel=True, cache=True, nogil=True)
def sample_radials_kernel(elevation, row0, col0, out):
    """Fill ``out`` (n_radials x n_samples) with the terrain of each radial, sample i at i cells
    from (row0, col0) (continuous pixel coordinates, cell centres at integers), radial j at
    bearing ``2 pi j / n_radials`` clockwise from grid north; each sample takes the elevation
    of the cell holding it. Samples are at most one cell apart along each axis, so a radial
    passes no row or column without a sample in it: a one-cell-wide ridge across a radial
    keeps its full height. The caller keeps every sample inside the cell-centre hull."""
    n_radials, n_samples = out.shape
    for j in numba.prange(n_radials):
        bearing = 2.0 * math.pi * j / n_radials
        step_row = -math.cos(bearing)
        step_col = math.sin(bearing)
        for i in range(n_samples):
            row = int(math.floor(row0 + i * step_row + 0.5))
            col = int(math.floor(col0 + i * step_col + 0.5))
            out[j, i] = elevation[row, col]


@numba.njit(parallel=True, cache=True, nogil=True)
def _cells_between_knots_kernel(elevation, pixel, knots, knot_x, knot_y, out):
    """``out[j, i]``: the elevation of the cell holding sample i of radial j, its position
    linear between the knots around it (``knot_x[j, k]``, ``knot_y[j, k]`` = sample
    ``knots[k]``, in the DEM's CRS); ``pixel`` = (a, c, e, f) of the cells' north-up transform.
    The caller checks that every knot lies on the cells (so every sample between them does)."""
    a, c, e, f = pixel
    n_radials, n_samples = out.shape
    last = knots.size - 2
    for j in numba.prange(n_radials):
        k = 0
        for i in range(n_samples):
            while k < last and i >= knots[k + 1]:
                k += 1
            t = (i - knots[k]) / (knots[k + 1] - knots[k])
            x = knot_x[j, k] + t * (knot_x[j, k + 1] - knot_x[j, k])
            y = knot_y[j, k] + t * (knot_y[j, k + 1] - knot_y[j, k])
            out[j, i] = elevation[int(math.floor((y - f) / e)), int(math.floor((x - c) / a))]


def sample_radials_on_cells(cells: DemCells, crs: pyproj.CRS, site_x_m: float, site_y_m: float,
                            spacing_m: float, out: np.ndarray) -> None:
    """Fill ``out`` (n_radials x n_samples) with the elevation of the DEM's own cell
    (:class:`~siting.terrain.DemCells`, in the DEM's CRS and grid) holding each radial sample:
    sample i at ``i * spacing_m`` from the site (x, y [m] in ``crs``), radial j at bearing
    ``2 pi j / n_radials`` clockwise from grid north, the radials of
    :func:`sample_radials_kernel` on the run's grid. The positions are transformed to the DEM's
    CRS exactly every :data:`KNOT_SAMPLES` samples and at the last, linearly in between
    (:func:`_cells_between_knots_kernel`). InputError when a sample lies off the cells."""
    n_radials, n_samples = out.shape
    bearing = 2.0 * math.pi * np.arange(n_radials)[:, None] / n_radials
    knots = np.unique(np.append(np.arange(0, n_samples, KNOT_SAMPLES), n_samples - 1))
    distance_m = knots * spacing_m
    knot_x, knot_y = pyproj.Transformer.from_crs(crs, cells.crs, always_xy=True).transform(
        site_x_m + distance_m * np.sin(bearing), site_y_m + distance_m * np.cos(bearing))
    cells.values_at(knot_x, knot_y)  # raises for a knot off the cells
    t = cells.transform
    _cells_between_knots_kernel(cells.elevation_m, np.array([t.a, t.c, t.e, t.f]),
                                knots.astype(np.float64), np.ascontiguousarray(knot_x),
                                np.ascontiguousarray(knot_y), out)


def nearest_samples(row0: float, col0: float, radius_cells: float, n_radials: int,
                    n_samples: int) -> tuple[tuple[int, int], np.ndarray]:
    """The window of cells around the circle and, per cell, the flat index
    ``j * n_samples + i`` of its nearest radial sample (-1 outside the circle).

    Returns ((first row, first column), index grid). The radial is the one nearest the cell's
    bearing, the sample the one nearest its distance, at least 1 (the site's own cell takes the
    sample one cell out, where every model is defined).
    """
    rows = np.arange(math.ceil(row0 - radius_cells), math.floor(row0 + radius_cells) + 1)
    cols = np.arange(math.ceil(col0 - radius_cells), math.floor(col0 + radius_cells) + 1)
    north = row0 - rows[:, None].astype(np.float64)
    east = cols[None, :].astype(np.float64) - col0
    distance = np.hypot(north, east)
    radial = np.rint(np.arctan2(east, north) * n_radials / (2.0 * math.pi)).astype(np.int64)
    sample = np.clip(np.rint(distance).astype(np.int64), 1, n_samples - 1)
    index = np.where(distance <= radius_cells, (radial % n_radials) * n_samples + sample, -1)
    return (int(rows[0]), int(cols[0])), index


# ---------------------------------------------------------------------------------------------
# loss along the radials, one function per model


@numba.njit(parallel=True, cache=True, nogil=True)
def diffraction_radials_kernel(elevation, surface, needed, cell_m, h_tx_m, h_rx_m, wavelength_m,
                               earth_k, max_edges, loss_out):
    """Deygout loss [dB] of every needed sample over its radial's prefix, as
    :func:`siting.coverage.diffraction_kernel` adds it: 0 when no sample (plus earth bulge)
    rises above the antenna-to-user line, else the principal edge
    (:func:`siting.propagation.strongest_edge_kernel`) and the secondary edges
    (:func:`siting.propagation.deygout_secondary_edges_kernel`). The obstacles stand on
    ``surface`` (terrain plus clutter), the ends and the sample next to the user on
    ``elevation`` (the user's own clutter is its terminal clutter loss)."""
    n_radials, n_samples = elevation.shape
    curvature = curvature_per_m(earth_k)
    for j in numba.prange(n_radials):
        z = surface[j].copy()
        z[0] = elevation[j, 0]
        distance = np.arange(n_samples) * cell_m
        h_tx = z[0] + h_tx_m
        for i in range(1, n_samples):
            if not needed[j, i]:
                continue
            z[i - 1], z[i] = elevation[j, i - 1], elevation[j, i]  # bare next to the user
            h_rx = z[i] + h_rx_m
            principal, v = strongest_edge_kernel(distance, z, 0, i, h_tx, h_rx, distance[i],
                                                 curvature, wavelength_m)
            if v > 0.0 and max_edges > 0:
                loss_out[j, i] = deygout_secondary_edges_kernel(
                    distance, z, i, principal, knife_edge_loss_kernel(v), h_tx, h_rx, distance[i],
                    curvature, wavelength_m, max_edges)
            else:
                loss_out[j, i] = 0.0
            if i > 1:
                z[i - 1] = surface[j, i - 1]  # an obstacle again for the farther samples
            z[i] = surface[j, i]


@numba.njit(parallel=True, cache=True, nogil=True)
def itm_radials_kernel(elevation, needed, cell_m, h_tx_m, h_rx_m, climate, n0, f_mhz, pol, epsilon,
                       sigma, mdvar, time_pct, location_pct, situation_pct, loss_out):
    """ITM loss [dB] of every needed sample: ITM point-to-point on its radial's prefix, NaN where
    ITM is undefined. The radial's tables (:func:`siting.itm.itm_profile_tables`) are built once
    and every prefix reads them (:func:`siting.itm.itm_prefix_kernel`, the same result as
    :func:`siting.itm.itm_p2p_kernel` on the prefix), each sample starting its horizon searches
    from the previous sample's horizons."""
    n_radials, n_samples = elevation.shape
    for j in numba.prange(n_radials):
        z = elevation[j].copy()
        tables = itm_profile_tables(z)
        out = np.empty(ITM_OUT_SIZE)
        hint_tx = hint_rx = -1
        for i in range(1, n_samples):
            if not needed[j, i]:
                continue
            error, hint_tx, hint_rx = itm_prefix_kernel(
                h_tx_m, h_rx_m, z, i, cell_m, tables, hint_tx, hint_rx, climate, n0, f_mhz, pol,
                epsilon, sigma, mdvar, time_pct, location_pct, situation_pct, out)
            loss_out[j, i] = out[ITM_OUT_LOSS] if error == 0 else np.nan


@numba.njit(cache=True, nogil=True)
def prefix_profile(elevation, surface, i, cell_m, d_km, h_m, g_m):
    """Fill ``d_km``, ``h_m`` and ``g_m`` with the profile from the site to sample ``i`` of one
    radial as :func:`siting.coverage.p1812_kernel` samples a pair's path and return its sample
    count: the prefix's ``i + 1`` samples (three for ``i = 1``, the middle one halfway up the
    cell, as the bilinear profile of :data:`siting.coverage.profile_samples` has it), spaced
    over at least :data:`siting.coverage.MIN_MODEL_DISTANCE_M`; ``g`` is the surface with the
    ends and the sample next to the receiver bare."""
    if i == 1:
        n = 3
        h_m[0], h_m[1], h_m[2] = elevation[0], 0.5 * (elevation[0] + elevation[1]), elevation[1]
        g_m[:3] = h_m[:3]
    else:
        n = i + 1
        h_m[:n] = elevation[:n]
        g_m[:n] = surface[:n]
        g_m[0], g_m[n - 2], g_m[n - 1] = h_m[0], h_m[n - 2], h_m[n - 1]
    step_km = max(i * cell_m, MIN_MODEL_DISTANCE_M) / 1000.0 / (n - 1)
    for k in range(n):
        d_km[k] = k * step_km
    return n


@numba.njit(parallel=True, cache=True, nogil=True)
def p1812_radials_kernel(elevation, surface, needed, cell_m, h_tx_m, h_rx_m, tx_lat, tx_lon,
                         rx_lat, rx_lon, f_ghz, time_pct, location_pct, location_sigma_db,
                         delta_n, n0, loss_out):
    """ITU-R P.1812-8 loss [dB] of every needed sample: :func:`siting.p1812.p1812_inland_loss_kernel`
    on its radial's prefix (:func:`prefix_profile`), with the inputs
    :func:`siting.coverage.p1812_kernel` gives a pair: zone 4, vertical polarisation
    (:data:`siting.coverage.P1812_POLARIZATION`), the sample's latitude and longitude
    (``rx_lat``, ``rx_lon``, n_radials x n_samples) [deg]."""
    n_radials, n_samples = elevation.shape
    for j in numba.prange(n_radials):
        d_km = np.empty(max(n_samples, 3))
        h_m = np.empty(max(n_samples, 3))
        g_m = np.empty(max(n_samples, 3))
        for i in range(1, n_samples):
            if not needed[j, i]:
                continue
            n = prefix_profile(elevation[j], surface[j], i, cell_m, d_km, h_m, g_m)
            loss_out[j, i] = p1812_inland_loss_kernel(
                d_km, h_m, g_m, n, f_ghz, time_pct, h_tx_m, h_rx_m, P1812_POLARIZATION, tx_lat,
                rx_lat[j, i], tx_lon, rx_lon[j, i], delta_n, n0, location_pct,
                location_sigma_db)[0]


def empirical_radial_loss_db(radials: Radials, tech: Technology, settings: CoverageSettings,
                             itm: ItmSettings) -> np.ndarray:
    """The technology's distance formula (:func:`siting.coverage.model_loss_db`) plus Deygout's
    diffraction over each prefix, the land cover's clutter heights standing on it
    (:func:`diffraction_radials_kernel`) [dB]."""
    diffraction = np.full(radials.elevation_m.shape, np.nan)
    diffraction_radials_kernel(radials.elevation_m, radials.surface_m, radials.needed,
                               radials.cell_m, radials.h_tx_m, radials.h_rx_m, SPEED_OF_LIGHT_M_S / (tech.frequency_mhz * 1e6),
                               float(settings.earth_radius_factor),
                               int(settings.max_diffraction_edges), diffraction)
    distance_m = radials.distance_m[1:]
    model = np.concatenate([[np.nan], model_loss_db(tech, distance_m, radials.h_tx_m,
                                                    radials.h_rx_m)])
    return model[None, :] + diffraction


def itm_radial_loss_db(radials: Radials, tech: Technology, settings: CoverageSettings,
                       itm: ItmSettings) -> np.ndarray:
    """ITM's point-to-point loss over each prefix (:func:`itm_radials_kernel`) [dB]; the
    inputs are checked first (:func:`siting.itm.validate_itm_inputs`)."""
    climate, pol, mdvar = validate_itm_inputs(
        radials.h_tx_m, radials.h_rx_m, itm.climate, itm.n0, tech.frequency_mhz,
        ITM_POLARIZATION[itm.polarization], itm.epsilon, itm.sigma, ITM_MDVAR, itm.time_pct,
        itm.location_pct, itm.situation_pct)
    loss = np.full(radials.elevation_m.shape, np.nan)
    itm_radials_kernel(radials.elevation_m, radials.needed, radials.cell_m, radials.h_tx_m,
                       radials.h_rx_m, climate, float(itm.n0), float(tech.frequency_mhz), pol,
                       float(itm.epsilon), float(itm.sigma), mdvar, float(itm.time_pct),
                       float(itm.location_pct), float(itm.situation_pct), loss)
    return loss


def p1812_radial_loss_db(radials: Radials, tech: Technology, settings: CoverageSettings,
                         itm: ItmSettings) -> np.ndarray:
    """ITU-R P.1812-8's basic transmission loss over each prefix (:func:`p1812_radials_kernel`)
    [dB], with the technology's ``p1812`` settings (defaults without); InputError unless
    ``delta_n`` and ``n0`` are known (:func:`siting.io.resolve_itu_maps` reads them)."""
    params = tech.p1812 or P1812Settings()
    if params.delta_n is None or params.n0 is None:
        raise InputError(f"the p1812 model needs the ITU-R maps' delta_n and n0: set "
                         f"technologies[{tech.name}].p1812.delta_n and .n0 in the scenario, "
                         f"or coverage.itu_maps_dir to a folder holding DN50.TXT and N050.TXT")
    lat_deg, lon_deg = radials.needed_lat_lon_deg()
    tx_lon, tx_lat = pyproj.Transformer.from_crs(radials.crs, "EPSG:4326", always_xy=True
                                                 ).transform(radials.site_x_m, radials.site_y_m)
    loss = np.full(radials.elevation_m.shape, np.nan)
    p1812_radials_kernel(radials.elevation_m, radials.surface_m, radials.needed, radials.cell_m,
                         radials.h_tx_m, radials.h_rx_m, float(tx_lat), float(tx_lon), lat_deg,
                         lon_deg, tech.frequency_mhz / 1000.0, float(params.time_pct),
                         float(params.location_pct), float(params.location_sigma_db),
                         float(params.delta_n), float(params.n0), loss)
    return loss


#: The models a prediction can use: name -> loss [dB] of every needed radial sample.
RADIAL_LOSS_MODELS: dict[str, Callable[[Radials, Technology, CoverageSettings, ItmSettings],
                                       np.ndarray]] = {
    **{name: empirical_radial_loss_db for name, model in PATH_LOSS_MODELS.items()
       if not model.terrain_profile},
    "p1812": p1812_radial_loss_db,
    "itm": itm_radial_loss_db,
}


def _antenna_gain_db(radials: Radials, settings: CoverageSettings) -> np.ndarray | float:
    """Pattern gain [dB] of every sample as :mod:`siting.coverage` applies it: 0 for an omni
    antenna, else the best sector's at the radial's bearing and the user's zenith angle seen
    from the antenna (earth drop with the effective radius factor k)."""
    if settings.antenna == "omni":
        return 0.0
    z = radials.elevation_m
    n_radials = z.shape[0]
    bearing_deg = (360.0 * np.arange(n_radials) / n_radials)[:, None]
    distance_m = np.maximum(radials.distance_m, radials.cell_m)[None, :]
    k = float(settings.earth_radius_factor)
    drop = distance_m**2 / (2.0 * k * EARTH_RADIUS_M) if k > 0 else 0.0
    eye_minus_tip = z[:, :1] + radials.h_tx_m - z - radials.h_rx_m
    theta = 90.0 + np.degrees(np.arctan2(eye_minus_tip + drop, distance_m))
    return best_sector_gain_db(bearing_deg, theta, settings.sector_azimuths_deg,
                               settings.downtilt_deg)


# ---------------------------------------------------------------------------------------------
# the prediction


def _check_radius(terrain: Terrain, row0: float, col0: float, radius_m: float) -> float:
    """The radius in cells; InputError unless it is at least one DEM cell (a smaller circle
    may hold no cell centre) and every sample out to it (one cell beyond, rounded up) stays on
    the DEM."""
    if not (radius_m > 0 and math.isfinite(radius_m)):
        raise InputError(f"the radius must be a positive number of kilometres, got "
                         f"{radius_m / 1000:g} km")
    if radius_m < terrain.cell_size_m:
        raise InputError(f"a radius of {radius_m / 1000:g} km is under one DEM cell; use at "
                         f"least {math.ceil(terrain.cell_size_m) / 1000:g} km")
    room_cells = _room_cells(terrain, row0, col0)
    if _reach_cells(radius_m, terrain.cell_size_m) > room_cells:
        raise InputError(f"a radius of {radius_m / 1000:g} km reaches past the DEM: the site is "
                         f"{max(room_cells, 0) * terrain.cell_size_m / 1000:.2f} km from its "
                         f"nearest edge; use a smaller radius or a larger DEM")
    return radius_m / terrain.cell_size_m


def _reach_cells(radius_m: float, cell_m: float) -> int:
    """Cells the radials run out to for ``radius_m``: one sample beyond, rounded up."""
    return math.ceil(radius_m / cell_m)


def _room_cells(terrain: Terrain, row0: float, col0: float) -> float:
    """Cells from (row0, col0) (continuous pixel coordinates) to the nearest edge of the
    terrain's cell-centre hull, where the radial samples must stay."""
    rows, cols = terrain.shape
    return min(row0, rows - 1 - row0, col0, cols - 1 - col0)


def _formula_at_cell_db(radials: Radials, tech: Technology, samples: np.ndarray,
                       cell_distance_m: np.ndarray) -> np.ndarray | float:
    """What moves a distance model's loss from each cell's sample to the cell itself [dB]:
    the formula (:func:`siting.coverage.model_loss_db`) at the cell's own distance from the
    site minus at its sample's, which lies up to half a cell nearer or farther (on 85 m cells,
    up to 2.9 dB at 100-300 m from a 30 m mast with rma_38901). The diffraction stays the
    sample's. 0 for a profile model (``itm``, ``p1812``), whose loss is the whole profile's."""
    if PATH_LOSS_MODELS[tech.model].terrain_profile:
        return 0.0
    sample_distance_m = radials.distance_m[samples % radials.elevation_m.shape[1]]
    return (model_loss_db(tech, cell_distance_m, radials.h_tx_m, radials.h_rx_m)
            - model_loss_db(tech, sample_distance_m, radials.h_tx_m, radials.h_rx_m))


def _surface_m(terrain: Terrain, row0: float, col0: float, elevation_m: np.ndarray) -> np.ndarray:
    """The radials' terrain plus clutter height: ``elevation_m`` plus the land cover's
    representative clutter height R of the terrain cell holding each sample
    (:attr:`siting.landcover.LandCover.clutter_height_m`); ``elevation_m`` itself without land
    cover."""
    if terrain.land_cover is None:
        return elevation_m
    clutter_m = np.empty_like(elevation_m)
    sample_radials_kernel(terrain.land_cover.clutter_height_m, row0, col0, clutter_m)
    return elevation_m + clutter_m


def _site_radials(terrain: Terrain, site_x_m: float, site_y_m: float, height_m: float,
                  ue_height_m: float, radius_m: float, dem_cells: DemCells | None):
    """The site's radials to ``radius_m`` (module docstring, steps 1-3), the (row, col) of
    the window around the circle on the terrain's grid and each window cell's sample (flat
    index into the radials' samples, -1 outside the circle)."""
    row0, col0 = (float(v) for v in terrain.rowcol(site_x_m, site_y_m))
    radius_cells = _check_radius(terrain, row0, col0, radius_m)
    n_radials = radial_count(radius_m, terrain.cell_size_m)
    n_samples = math.ceil(radius_cells) + 1
    elevation = np.empty((n_radials, n_samples))
    if dem_cells is None:
        sample_radials_kernel(terrain.elevation_m, row0, col0, elevation)
    else:
        sample_radials_on_cells(dem_cells, terrain.crs, site_x_m, site_y_m,
                                terrain.cell_size_m, elevation)
    window_start, index = nearest_samples(row0, col0, radius_cells, n_radials, n_samples)
    needed = np.zeros(n_radials * n_samples, bool)
    needed[index[index >= 0]] = True
    radials = Radials(elevation, _surface_m(terrain, row0, col0, elevation),
                      needed.reshape(n_radials, n_samples), terrain.cell_size_m, height_m,
                      ue_height_m, site_x_m, site_y_m, terrain.crs)
    return radials, window_start, index


def predict_area(terrain: Terrain, site_x_m: float, site_y_m: float, height_m: float,
                 tech: Technology, radius_m: float, *, model: str | None = None,
                 settings: CoverageSettings | None = None, ue_height_m: float = 1.5,
                 itm: ItmSettings | None = None, site: str = "",
                 dem_cells: DemCells | None = None) -> Prediction:
    """Path loss and RSRP of every DEM cell within ``radius_m`` of one antenna.

    Parameters
    ----------
    terrain : Terrain
        The DEM [m] in a projected CRS.
    site_x_m, site_y_m : float
        The antenna's position in the terrain's CRS [m]; must lie on the DEM.
    height_m : float
        Antenna height above ground [m].
    tech : Technology
        Frequency, EIRP, resource blocks, clutter loss and (unless ``model``) the model.
    radius_m : float
        Radius of the prediction [m]; every radial sample must stay on the DEM.
    model : str, optional
        A name of :data:`RADIAL_LOSS_MODELS` (default: the technology's model).
    settings : CoverageSettings, optional
        Earth radius factor, Deygout edges and antenna pattern, as the coverage engine reads
        them (default: the scenario file's defaults).
    ue_height_m : float
        User antenna above ground [m].
    itm : siting.config.ItmSettings, optional
        Ground, climate and quantiles of the ``itm`` model (default: the technology's ``itm``
        block, else :class:`~siting.config.ItmSettings`'s defaults); ITM's variability mode
        and polarisation codes are the coverage engine's (:data:`siting.coverage.ITM_MDVAR`).
    site : str
        The site's label (a candidate id or "lon,lat").
    dem_cells : siting.terrain.DemCells, optional
        The DEM's own cells around the circle when ``terrain`` holds them warped from another
        CRS: the radial profiles then read them (:func:`sample_radials_on_cells`), not the
        warped cells. The grids stay the terrain's cells.

    Returns
    -------
    Prediction
        Path loss [dB] and RSRP [dBm] grids over the window around the circle, NaN outside.

    Raises
    ------
    InputError
        Unknown model, a site off the DEM, a radius <= 0 or past the DEM's edge, or a
        frequency or height outside the model's validity range.
    """
    model = tech.model if model is None else model
    settings = CoverageSettings() if settings is None else settings
    itm = (tech.itm or ItmSettings()) if itm is None else itm
    if model not in RADIAL_LOSS_MODELS:
        raise InputError(f"unknown model {model!r}; use one of {', '.join(RADIAL_LOSS_MODELS)}")
    if not terrain.contains(site_x_m, site_y_m):
        raise InputError(f"the site ({site_x_m:.1f}, {site_y_m:.1f}) lies outside the DEM "
                         f"{tuple(round(b, 1) for b in terrain.bounds)}")
    radials, (row_start, col_start), index = _site_radials(
        terrain, float(site_x_m), float(site_y_m), float(height_m), float(ue_height_m),
        float(radius_m), dem_cells)
    tech = dataclasses.replace(tech, model=model)
    loss = RADIAL_LOSS_MODELS[model](radials, tech, settings, itm)
    level = tech.rs_epre_dbm - loss + _antenna_gain_db(radials, settings)
    inside = index >= 0
    samples = index[inside]
    rows, cols = np.nonzero(inside)
    x_m, y_m = terrain.xy(rows + row_start, cols + col_start)
    distance_m = np.hypot(x_m - site_x_m, y_m - site_y_m)
    at_cell_db = _formula_at_cell_db(radials, tech, samples, distance_m)
    grids = []
    for values, sign in ((loss, 1.0), (level, -1.0)):
        grid = np.full(index.shape, np.nan, np.float32)
        grid[inside] = values.ravel()[samples] + sign * at_cell_db
        grids.append(grid)
    grids[1][inside] += (receiver_offset_db(terrain, x_m, y_m, float(ue_height_m), tech, settings)
                         + calibration_distance_db(distance_m, tech, settings))
    return Prediction(path_loss_db=grids[0], level_dbm=grids[1],
                      transform=terrain.transform @ Affine.translation(col_start, row_start),
                      crs=terrain.crs, terrain=terrain, site=site, site_x_m=float(site_x_m),
                      site_y_m=float(site_y_m), height_m=float(height_m), technology=tech.name,
                      model=model, radius_m=float(radius_m),
                      n_radials=radials.elevation_m.shape[0])


#: The coordinate systems ``at`` may be given in: WGS 84 (GPS) and the Chinese web maps'.
AT_SYSTEMS = ("WGS84", "GCJ-02", "BD-09")


def position_wgs84(lon: float, lat: float, system: str = "WGS84") -> tuple[float, float]:
    """(lon, lat) [deg] in WGS 84 of a point given in ``system``, one of :data:`AT_SYSTEMS`
    (GCJ-02: Amap, Tencent; BD-09: Baidu; converted by :func:`siting.china_crs.to_wgs84`).
    InputError for a point that is not a longitude,latitude, an unknown system, or a GCJ-02 /
    BD-09 point outside China."""
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        swapped = -90.0 <= lon <= 90.0 and -180.0 <= lat <= 180.0
        raise InputError(f"{lon:g},{lat:g} is not a longitude,latitude in degrees" + (
            f"; the longitude comes first: {lat:g},{lon:g}?" if swapped else ""))
    key = system.strip().upper().replace("-", "").replace(" ", "")
    if key == "WGS84":
        return lon, lat
    if key not in ("GCJ02", "BD09"):
        raise InputError(f"unknown coordinate system {system!r} for a position; use one of "
                         f"{', '.join(AT_SYSTEMS)}")
    if outside_china(lon, lat):
        raise InputError(f"{lon:g},{lat:g} lies outside China, where {system} is not defined: "
                         f"it is probably a WGS 84 position")
    lon_wgs, lat_wgs = to_wgs84(lon, lat, key)
    return float(lon_wgs), float(lat_wgs)


def check_site_ids(region, site_ids) -> None:
    """InputError naming every id of ``site_ids`` that is no candidate of ``region`` (a
    :class:`siting.io.RegionData`), with the first candidates' ids."""
    candidates = region.candidates
    unknown = [site for site in site_ids if site not in candidates.index]
    if unknown:
        raise InputError(f"unknown site{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(map(repr, unknown))}; the scenario's candidates are "
                         f"{', '.join(map(str, candidates.index[:10]))}"
                         f"{', ...' if len(candidates) > 10 else ''}")


def _site_position(region, site: str | None, at: tuple[float, float] | None,
                   height_m: float | None, at_system: str) -> tuple[str, float, float, float]:
    """(label, x [m], y [m], antenna height [m]) of a candidate (``site``, its own height unless
    ``height_m``) or of a point (``at`` = (lon, lat) [deg] in ``at_system``, with ``height_m``);
    the label of a point is its WGS 84 position."""
    if (site is None) == (at is None):
        raise InputError("give exactly one of site= (a candidate's site_id) and at= (a position: "
                         "longitude, latitude)")
    if site is not None:
        check_site_ids(region, [site])
        row = region.candidates.loc[site]
        height = float(row["antenna_height_m"]) if height_m is None else float(height_m)
        return site, float(row.geometry.x), float(row.geometry.y), height
    if height_m is None:
        raise InputError("a lon,lat position needs the antenna height (height_m=)")
    lon, lat = position_wgs84(*at, at_system)
    x, y = _lonlat_to_run_crs(region, lon, lat)
    if region.on_nodata(x, y):
        raise InputError(f"the position {at[0]:g},{at[1]:g} ({at_system}) lies on a DEM cell "
                         f"without data (nodata: a void, a gap between tiles or the corner of "
                         f"a warped tile); fill the DEM there or predict from another position")
    if not region.on_dem(x, y):
        raise InputError(_off_dem_message(region, at, at_system))
    return f"{lon:.6f},{lat:.6f}", float(x), float(y), float(height_m)


def _lonlat_to_run_crs(region, lon: float, lat: float) -> tuple[float, float]:
    """A WGS 84 (lon, lat) [deg] in the region's CRS [m]."""
    return pyproj.Transformer.from_crs("EPSG:4326", region.crs, always_xy=True).transform(lon, lat)


def _off_dem_message(region, at: tuple[float, float], at_system: str) -> str:
    """A position off the DEM, with the DEM's extent in degrees and, when the position with
    longitude and latitude exchanged lies on it, that hint."""
    west, south, east, north = lonlat_bounds(region.dem_footprint(), region.crs)
    lon, lat = at
    hint = ""
    if -90.0 <= lon <= 90.0 and -180.0 <= lat <= 180.0:
        try:
            on_dem = region.on_dem(*_lonlat_to_run_crs(
                region, *position_wgs84(lat, lon, at_system)))
        except InputError:
            on_dem = False
        hint = f"; longitude and latitude look swapped: {lat:g},{lon:g}" if on_dem else ""
    return (f"the position {lon:g},{lat:g} ({at_system}) lies outside the DEM, which spans "
            f"longitude {west:.4f} to {east:.4f} and latitude {south:.4f} to {north:.4f}{hint}")


def _technology(scenario: Scenario, name: str, model: str | None,
                terrain: Terrain) -> Technology:
    """The scenario's technology ``name`` with ``model`` (default its own); for ``p1812``, its
    ``delta_n`` and ``n0`` read from ``coverage.itu_maps_dir`` when the scenario gives the maps
    and not the values (:func:`siting.io.resolve_itu_maps`)."""
    tech = scenario.technology(name)
    tech = dataclasses.replace(tech, model=tech.model if model is None else model)
    if tech.model != "p1812" or scenario.coverage.itu_maps_dir is None:
        return tech
    tech = dataclasses.replace(tech, p1812=tech.p1812 or P1812Settings())
    return resolve_itu_maps(dataclasses.replace(scenario, technologies=(tech,)),
                            terrain).technologies[0]


def _check_radius_on_dem_data(region, x_m: float, y_m: float, radius_m: float) -> None:
    """InputError unless every radial sample out to ``radius_m`` (one DEM cell beyond, rounded
    up, as :func:`_check_radius` counts them) lies on the data of the region's DEM tiles: a DEM
    warped from another CRS (SRTM's longitude/latitude) has, around its data, cells the
    reprojection filled from their neighbours, and a map over them would be invented terrain."""
    if region.dem_source is None or not (radius_m > 0 and math.isfinite(radius_m)):
        return  # _check_radius refuses a radius that is no positive number
    cell_m = region.terrain.cell_size_m
    room_m = region.dem_source.room_m(x_m, y_m)
    if _reach_cells(radius_m, cell_m) * cell_m > room_m:
        raise InputError(f"a radius of {radius_m / 1000:g} km reaches past the DEM: the site is "
                         f"{room_m / 1000:.2f} km from the nearest edge of its data; use a "
                         f"smaller radius or a larger DEM")
    _check_radius_in_planning_area(region, x_m, y_m, radius_m)


#: Cells between the edge of a DEM's data and the terrain's last cell centres when the whole
#: DEM is read: half a cell for a DEM in the run's CRS, about one for one warped to it.
READ_AREA_SLACK_CELLS = 2


def _check_radius_in_planning_area(region, x_m: float, y_m: float, radius_m: float) -> None:
    """InputError when the DEM's data reach ``radius_m`` but the terrain read from them does
    not: a run reads only the planning area (the admin units, or ``region.bbox``) widened by
    the longest ``max_range_m``, so a larger DEM would not help; the message says what does.
    The data must reach :data:`READ_AREA_SLACK_CELLS` cells beyond the radius: the terrain's
    last cell centres lie up to that far inside the data's outer edge when the whole DEM is
    read, and :func:`_check_radius` then says the DEM itself is too small."""
    terrain = region.terrain
    if not terrain.contains(x_m, y_m):
        return  # predict_area refuses a site off the terrain
    reach_cells = _reach_cells(radius_m, terrain.cell_size_m)
    data_room_cells = region.dem_source.room_m(x_m, y_m) / terrain.cell_size_m
    room_cells = _room_cells(terrain, *(float(v) for v in terrain.rowcol(x_m, y_m)))
    if room_cells < reach_cells <= data_room_cells - READ_AREA_SLACK_CELLS:
        room_km = room_cells * terrain.cell_size_m / 1000
        raise InputError(f"a radius of {radius_m / 1000:g} km reaches past the part of the DEM "
                         f"the scenario reads: the site is {room_km:.2f} km from its edge (the DEM's data reach further, but only the admin "
                         f"units, or region.bbox, widened by the longest max_range_m are read); "
                         f"use a smaller radius, or widen region.bbox or inputs.admin_units")


def predict_in_region(region, scenario: Scenario, *, technology: str, radius_km: float,
                      site: str | None = None, at: tuple[float, float] | None = None,
                      height_m: float | None = None, model: str | None = None,
                      itm: ItmSettings | None = None, at_system: str = "WGS84") -> Prediction:
    """:func:`predict_area` for a candidate of a scenario's region (``site``) or a point
    (``at``, in ``at_system``: :func:`position_wgs84`), with one of the scenario's
    technologies, its coverage settings and its user height, the profiles read from the DEM's
    own cells around the circle when the region's terrain is them warped
    (``region.dem_source``). ``region`` is the scenario's :class:`siting.io.RegionData`."""
    if height_m is not None and not height_m > 0:
        raise InputError(f"the antenna height (height_m=) must be > 0 m, got {height_m:g}")
    names = [t.name for t in scenario.technologies]
    if technology not in names:
        raise InputError(f"unknown technology {technology!r}; the scenario's are "
                         f"{', '.join(names)}")
    label, x, y, height = _site_position(region, site, at, height_m, at_system)
    radius_m = float(radius_km) * 1000.0
    tech = _technology(scenario, technology, model, region.terrain)
    cells = None
    try:
        _check_radius_on_dem_data(region, x, y, radius_m)
        if region.dem_source is not None and radius_m > 0 and region.terrain.contains(x, y):
            reach_m = radius_m + 2.0 * region.terrain.cell_size_m
            cells = region.dem_source.cells((x - reach_m, y - reach_m, x + reach_m, y + reach_m))
        prediction = predict_area(region.terrain, x, y, height, tech, radius_m,
                                  settings=scenario.coverage,
                                  ue_height_m=scenario.demand.ue_height_m, itm=itm, site=label,
                                  dem_cells=cells)
    except InputError as exc:  # name the site: a command may predict several
        raise InputError(f"site {label}: {exc}") from None
    # warned once the radius is known to be usable: a refused one gets its error line alone
    if tech.model in PATH_LOSS_MODELS and (beyond := beyond_validity(tech.model, radius_m)):
        logger.warning("site %s: a radius of %s; use model=itm or model=p1812 for it, or a radius "
                       "within the model's range", label, beyond)
    return _on_data_only(prediction, region.terrain)


def _on_data_only(prediction: Prediction, terrain: Terrain) -> Prediction:
    """``prediction`` with its cells on the DEM's nodata (:meth:`siting.terrain.Terrain.on_data`:
    the corners of a tile warped to UTM, a large void, a gap between tiles) left empty, as
    outside the radius: the terrain there is filled, not measured, so no level is claimed for
    a user standing on it (paths across it still use the filled ground). Logged when any is."""
    rows, cols = np.nonzero(np.isfinite(prediction.path_loss_db))
    x, y = prediction.transform * (cols + 0.5, rows + 0.5)
    off = ~terrain.on_data(np.asarray(x), np.asarray(y))
    if not off.any():
        return prediction
    logger.warning("site %s: %d of the %d cells within the radius lie on the DEM's nodata; "
                   "they are left empty in the prediction", prediction.site, int(off.sum()),
                   rows.size)
    loss, level = prediction.path_loss_db.copy(), prediction.level_dbm.copy()
    loss[rows[off], cols[off]] = np.nan
    level[rows[off], cols[off]] = np.nan
    return dataclasses.replace(prediction, path_loss_db=loss, level_dbm=level)

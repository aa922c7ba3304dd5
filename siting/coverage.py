"""Coverage: the received level of every (candidate, technology) option at every demand point.

Received level (RSRP, 3GPP TS 36.214 / TS 38.215: power per resource element) on one path::

    RSRP [dBm] = EIRP_RE - L_model(d, f, h_BS, h_UT) - L_diffraction(terrain profile) - L_clutter

- ``EIRP_RE`` is the carrier EIRP less ``10 log10(12 N_RB)`` (omni antenna).
- ``L_model`` is the technology's path-loss model (:mod:`siting.propagation`). For the 3GPP
  models the LOS branch is used: the terrain enters through the diffraction term, as in
  ITU-R P.1812 (free-space-like basic loss plus terrain diffraction). The Hata family has no
  LOS branch and is used as published.
- ``L_diffraction`` is Deygout's multiple knife-edge loss (up to three edges) over the DEM
  profile between the antenna and the user, with earth curvature (effective radius factor k).
- ``L_clutter`` is the technology's body, vegetation and building-penetration margin.

Only pairs within the technology's ``max_range_m`` are evaluated (a KD-tree query), and the
profile kernel runs in numba over all cores. The result is a sparse matrix (demand x options)
holding levels at or above each technology's RSRP threshold, plus per-demand diagnostics
(was any candidate in range? the best level seen, covered or not) that explain gaps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.spatial import cKDTree

from siting import propagation
from siting.config import CoverageSettings, Technology
from siting.propagation import deygout_loss_kernel, line_of_sight_clear_kernel
from siting.terrain import Terrain, sample_profile_kernel

SPEED_OF_LIGHT_M_S = 299_792_458.0
MIN_MODEL_DISTANCE_M = 10.0  # TR 38.901 RMa/UMa lower validity bound; nearer pairs use it


@dataclass(frozen=True)
class Transmitters:
    """Antenna positions [m] in the terrain's CRS and heights above ground [m]."""

    x_m: np.ndarray
    y_m: np.ndarray
    height_m: np.ndarray


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


@numba.njit(parallel=True, cache=True, nogil=True)
def _diffraction_kernel(elevation, cell_m, tx_row, tx_col, tx_h, rx_row, rx_col, rx_h,
                        pair_tx, pair_rx, wavelength_m, earth_k, max_edges, loss_out, los_out):
    """Deygout loss and terrain LOS on every pair; profiles sampled about once per DEM cell."""
    n_pairs = pair_tx.shape[0]
    n_chunks = min(n_pairs, 256)
    for chunk in numba.prange(n_chunks):
        start = chunk * n_pairs // n_chunks
        stop = (chunk + 1) * n_pairs // n_chunks
        capacity = 0
        dist = np.empty(0)
        elev = np.empty(0)
        for p in range(start, stop):
            a = pair_tx[p]
            b = pair_rx[p]
            dr = rx_row[b] - tx_row[a]
            dc = rx_col[b] - tx_col[a]
            length_cells = np.sqrt(dr * dr + dc * dc)
            n = max(3, int(np.ceil(length_cells)) + 1)
            if n > capacity:
                capacity = 2 * n
                dist = np.empty(capacity)
                elev = np.empty(capacity)
            sample_profile_kernel(elevation, tx_row[a], tx_col[a], rx_row[b], rx_col[b], n, elev)
            step = length_cells * cell_m / (n - 1)
            for i in range(n):
                dist[i] = i * step
            if length_cells * cell_m < 1.0:
                loss_out[p] = 0.0
                los_out[p] = True
                continue
            los_out[p] = line_of_sight_clear_kernel(dist, elev, n, tx_h[a], rx_h[b], earth_k)
            if los_out[p] or max_edges == 0:
                loss_out[p] = 0.0
            else:
                loss_out[p] = deygout_loss_kernel(dist, elev, n, tx_h[a], rx_h[b], wavelength_m,
                                                  earth_k, max_edges)


def model_loss_db(tech: Technology, distance_m: np.ndarray, h_base_m: np.ndarray,
                  h_mobile_m: float) -> np.ndarray:
    """Median path loss [dB] of the technology's model (LOS branch for the 3GPP models)."""
    d = np.maximum(distance_m, MIN_MODEL_DISTANCE_M)
    if tech.model == "free_space":
        return propagation.free_space_loss(d, tech.frequency_mhz)
    if tech.model == "okumura_hata":
        return propagation.okumura_hata(np.maximum(d / 1000.0, 1.0), tech.frequency_mhz, h_base_m,
                                        h_mobile_m, environment=tech.environment)
    if tech.model == "cost231_hata":
        return propagation.cost231_hata(np.maximum(d / 1000.0, 1.0), tech.frequency_mhz, h_base_m,
                                        h_mobile_m)
    if tech.model == "rma_38901":
        return propagation.rma_38901(d, tech.frequency_mhz / 1000.0, h_base_m, h_mobile_m, los=True)
    if tech.model == "uma_38901":
        return propagation.uma_38901(d, tech.frequency_mhz / 1000.0, h_base_m, h_mobile_m, los=True)
    raise ValueError(f"unknown path-loss model {tech.model!r}")


def _ground_rowcol(terrain: Terrain, x_m, y_m):
    row, col = terrain.rowcol(np.asarray(x_m, float), np.asarray(y_m, float))
    return np.ascontiguousarray(row, np.float64), np.ascontiguousarray(col, np.float64)


def path_levels(terrain: Terrain, tx: Transmitters, rx_x_m: np.ndarray, rx_y_m: np.ndarray,
                rx_height_m: float, tech: Technology, settings: CoverageSettings) -> PathLevels:
    """RSRP on every transmitter-receiver pair closer than ``tech.max_range_m``."""
    tree = cKDTree(np.column_stack([rx_x_m, rx_y_m]))
    neighbours = tree.query_ball_point(np.column_stack([tx.x_m, tx.y_m]), r=tech.max_range_m)
    counts = np.fromiter((len(n) for n in neighbours), dtype=np.int64, count=len(neighbours))
    pair_tx = np.repeat(np.arange(len(neighbours), dtype=np.int32), counts)
    pair_rx = (np.concatenate([np.asarray(n, dtype=np.int32) for n in neighbours])
               if counts.sum() else np.empty(0, np.int32))
    # Deterministic order independent of the KD-tree: by transmitter, then receiver.
    order = np.lexsort((pair_rx, pair_tx))
    pair_tx, pair_rx = pair_tx[order], pair_rx[order]
    if len(pair_tx) == 0:
        return PathLevels(pair_tx, pair_rx, np.empty(0, np.float32), np.empty(0, bool))

    tx_row, tx_col = _ground_rowcol(terrain, tx.x_m, tx.y_m)
    rx_row, rx_col = _ground_rowcol(terrain, rx_x_m, rx_y_m)
    rx_h = np.full(len(rx_x_m), float(rx_height_m))
    loss = np.empty(len(pair_tx), np.float64)
    los = np.empty(len(pair_tx), np.bool_)
    wavelength_m = SPEED_OF_LIGHT_M_S / (tech.frequency_mhz * 1e6)
    _diffraction_kernel(terrain.elevation_m, float(terrain.cell_size_m), tx_row, tx_col,
                        np.asarray(tx.height_m, np.float64), rx_row, rx_col, rx_h, pair_tx, pair_rx,
                        wavelength_m, float(settings.earth_radius_factor),
                        int(settings.max_diffraction_edges), loss, los)
    distance_m = np.hypot(tx.x_m[pair_tx] - rx_x_m[pair_rx], tx.y_m[pair_tx] - rx_y_m[pair_rx])
    level = (tech.rs_epre_dbm - model_loss_db(tech, distance_m, tx.height_m[pair_tx], rx_height_m)
             - loss - tech.clutter_loss_db)
    return PathLevels(pair_tx, pair_rx, level.astype(np.float32), los)


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
                   settings: CoverageSettings, ue_height_m: float, *, progress=None) -> CoverageMatrix:
    """The coverage matrix of every option over every demand point.

    ``candidates`` is the candidate GeoDataFrame (positions in the terrain's CRS);
    ``demand`` a :class:`siting.demand.Demand`. ``progress(tech_name)`` is called per technology.
    """
    options = option_table(candidates, technologies)
    n_demand = len(demand)
    tx = Transmitters(candidates.geometry.x.to_numpy(), candidates.geometry.y.to_numpy(),
                      candidates["antenna_height_m"].to_numpy(float))
    rows, cols, values = [], [], []
    in_range = np.zeros(n_demand, bool)
    best = np.full(n_demand, -np.inf, np.float32)
    for tech in technologies:
        tech_options = options.index[options["technology"] == tech.name].to_numpy()
        column_of_candidate = np.full(len(candidates), -1, np.int64)
        column_of_candidate[options.loc[tech_options, "candidate"].to_numpy()] = tech_options
        levels = path_levels(terrain, tx, demand.x_m, demand.y_m, ue_height_m, tech, settings)
        column = column_of_candidate[levels.tx]
        allowed = column >= 0
        if tech.generation != "5G":
            allowed &= ~demand.require_5g[levels.rx]
        rx, level, column = levels.rx[allowed], levels.level_dbm[allowed], column[allowed]
        in_range[rx] = True
        np.maximum.at(best, rx, level)
        ok = level >= tech.rsrp_threshold_dbm
        rows.append(rx[ok])
        cols.append(column[ok])
        values.append(level[ok])
        if progress is not None:
            progress(tech.name)
    matrix = sp.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(n_demand, len(options)), dtype=np.float32)
    matrix.sort_indices()
    return CoverageMatrix(level_dbm=matrix, options=options, in_range=in_range, best_level_dbm=best)

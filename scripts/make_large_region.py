#!/usr/bin/env python
"""Generate a province-size synthetic region for scale runs, window by window.

The region is a square of ``--size-km`` (default 200 km) in WGS 84 / UTM zone 49N (EPSG:32649)
centred near 32.7 N 109.9 E, with the inputs and fields of the demo region
(``scripts/make_demo_data.py``, ``data/demo``), in ``--out``:

* ``dem.tif``         30 m Int16 DEM, 512 x 512 tiles, DEFLATE + predictor 2;
* ``population.tif``  100 m float32 people per cell, 512 x 512 tiles, DEFLATE + predictor 3;
* ``region.gpkg``     layers villages, candidates, complaints, zones (5G county-town centres),
  admin_units (40 km counties);
* ``scenario.yaml``   the demo's technologies and rules, with the budget and the quota of new sites
  scaled by area (the demo's 12,500 CNY and 1/24 new site per km2).

Both rasters are written one tile-sized window at a time from pure functions of the map
position: the terrain is seeded fractal value noise (a regional valley-floor level, a relief
envelope and a network of valleys where a fractal field crosses zero), so windows join seamlessly
and no window needs another; the population is dispersed valley households plus a Gaussian blob
per village and county seat. The points (villages, candidates, complaints) are drawn per 20 km
tile of the map from a generator seeded by (seed, tile), and each county seat from one seeded
by (seed, county), so a smaller ``--size-km`` with the default densities is exactly the centre of
a larger region (same terrain, villages, candidates and ids): the sub-areas the scale benchmark
grows. Only one raster window and the point tables are in memory at a time.

``--candidates`` and ``--villages`` default to the province's densities (50,000 and 5,000 per
200 km x 200 km); each 20 km tile gets its share of them, exactly when the size is a multiple of
20 km. Deterministic: the same arguments give byte-identical files.

Usage: ``python scripts/make_large_region.py [--size-km 200] [--out DIR] [--candidates N]
[--villages N] [--seed N]``
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.windows
import shapely
import shapely.affinity
import yaml
from rasterio.transform import from_origin

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_demo_data import (CANDIDATE_SPECS, COMPLAINT_TEXTS, PREFIXES, SUFFIXES,  # noqa: E402
                            _tmp_in, write_gpkg)

EPSG = 32649
# Multiples of 300 m, so the 30 m DEM and the 100 m population grids both align on the centre.
CENTRE_X, CENTRE_Y = 399_900.0, 3_620_100.0
DEM_CELL_M, POP_CELL_M = 30.0, 100.0
GRID_ALIGN_M = 300.0
WINDOW_PX = 512  # raster tile and write window side [cells]
POINT_TILE_M = 20_000.0  # points are drawn per tile of this side, seeded by (seed, tile)
COUNTY_M = 40_000.0  # admin units: squares of this side centred on the region centre
EDGE_MARGIN_M = 500.0  # the DEM reaches at least this far beyond the outermost point
CANDIDATES_PER_KM2 = 50_000 / 200.0**2
VILLAGES_PER_KM2 = 5_000 / 200.0**2
COMPLAINTS_PER_TILE = 4
DEFAULT_SIZE_KM = 200.0
DEFAULT_SEED = 20261201
DEMO_SCENARIO = Path(__file__).resolve().parents[1] / "data" / "demo" / "scenario.yaml"
BUDGET_CNY_PER_KM2 = 12_500.0  # the demo's 45 M CNY over 3,600 km2
KM2_PER_NEW_SITE = 24.0  # the demo's 150 new sites over 3,600 km2
SOLVER_TIME_LIMIT_S = 600
GDAL_CACHE_MB = 64  # bounds GDAL's block cache while writing

# Share of a tile's candidates (after the county seat's own sites) by kind.
KIND_SHARES = {"existing_4g": 0.04, "public_building": 0.28, "water_tower": 0.07,
               "rooftop": 0.10, "lamp_pole": 0.15, "existing_tower": 0.10, "greenfield": 0.26}
# Candidate sites inside a 5G zone and existing 5G sites around a seat (city, county town).
ZONE_SITES = {"city_centre": 10, "county_town": 6}
EXISTING_5G_SITES = {"city_centre": 10, "county_town": 3}


# --------------------------------------------------------------------------------------------------
# Coherent noise: a pure function of the map position
# --------------------------------------------------------------------------------------------------
def _mix32(h: np.ndarray) -> np.ndarray:
    """A 32-bit integer hash (lowbias32) of a uint32 array; wraps modulo 2**32."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x7FEB352D)
    h = h ^ (h >> np.uint32(15))
    h = h * np.uint32(0x846CA68B)
    return h ^ (h >> np.uint32(16))


def _lattice_values(i: np.ndarray, j: np.ndarray, key: int) -> np.ndarray:
    """Pseudo-random value in [-1, 1] at integer lattice points (i, j) (broadcast)."""
    hi = _mix32(np.atleast_1d(i).astype(np.uint32) ^ np.uint32(key & 0xFFFFFFFF))
    h = _mix32(hi + np.atleast_1d(j).astype(np.uint32) * np.uint32(0x9E3779B1))
    return h * (2.0 / 4294967295.0) - 1.0


def _fade(t: np.ndarray) -> np.ndarray:
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


def value_noise(x_m, y_m, wavelength_m: float, key: int) -> np.ndarray:
    """Smooth value noise in [-1, 1] with features of ``wavelength_m``; x and y broadcast."""
    u = np.asarray(x_m, np.float64) / wavelength_m
    v = np.asarray(y_m, np.float64) / wavelength_m
    i0, j0 = np.floor(u), np.floor(v)
    su, sv = _fade(u - i0), _fade(v - j0)
    i0, j0 = i0.astype(np.int64), j0.astype(np.int64)
    south = _lattice_values(i0, j0, key) * (1 - su) + _lattice_values(i0 + 1, j0, key) * su
    north = _lattice_values(i0, j0 + 1, key) * (1 - su) + _lattice_values(i0 + 1, j0 + 1, key) * su
    return south * (1 - sv) + north * sv


def fractal_noise(x_m, y_m, wavelength_m: float, octaves: int, key: int) -> np.ndarray:
    """Sum of ``octaves`` value-noise layers, each half the wavelength and amplitude of the
    previous, normalised to [-1, 1]."""
    total = 0.0
    for octave in range(octaves):
        total = total + 0.5**octave * value_noise(x_m, y_m, wavelength_m / 2**octave,
                                                  key + 7919 * octave)
    return total / (2.0 - 0.5 ** (octaves - 1))


@dataclass(frozen=True)
class Ground:
    """Elevation and height above the local valley floor [m] at some map positions."""

    elevation_m: np.ndarray
    above_valley_m: np.ndarray


def ground_at(x_local_m, y_local_m, seed: int) -> Ground:
    """The terrain at local map positions [m from the region centre] (x and y broadcast).

    A regional valley-floor level (260-780 m), a relief envelope (up to ~1,750 m) and a valley
    network (where an 8 km fractal field crosses zero) shaped into V valleys, plus 30 m of
    small-scale roughness: slopes of about 19 degrees (median) and 36 (90th percentile), as on
    the demo DEM.
    """
    floor_m = 520.0 + 260.0 * fractal_noise(x_local_m, y_local_m, 90_000.0, 3, seed)
    relief_m = 1_100.0 + 650.0 * fractal_noise(x_local_m, y_local_m, 50_000.0, 2, seed + 101)
    valleys = np.abs(fractal_noise(x_local_m, y_local_m, 8_000.0, 6, seed + 211))
    above_m = relief_m * np.clip(2.4 * valleys, 0.0, 1.0) ** 1.3
    rough_m = 30.0 * fractal_noise(x_local_m, y_local_m, 900.0, 2, seed + 307)
    return Ground(elevation_m=floor_m + above_m + rough_m, above_valley_m=above_m)


def dispersed_people(x_local_m, y_local_m, seed: int) -> np.ndarray:
    """Dispersed households [people per 100 m cell]: valley floors, patchy."""
    ground = ground_at(x_local_m, y_local_m, seed)
    patches = 0.5 + 0.5 * fractal_noise(x_local_m, y_local_m, 20_000.0, 2, seed + 401)
    return 1.2 * np.exp(-ground.above_valley_m / 60.0) * patches


# --------------------------------------------------------------------------------------------------
# The frame of a region
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Frame:
    """Where a region of ``size_km`` lies: the point area (half side ``half_points_m``) and the
    raster area (half side ``half_raster_m``, aligned to both grids, at least the edge margin
    larger)."""

    size_km: float
    half_points_m: float
    half_raster_m: float

    @classmethod
    def of(cls, size_km: float) -> Frame:
        half_points = size_km * 500.0
        half_raster = math.ceil((half_points + EDGE_MARGIN_M) / GRID_ALIGN_M) * GRID_ALIGN_M
        return cls(size_km, half_points, half_raster)

    def raster_shape(self, cell_m: float) -> int:
        """Cells per side of a raster of ``cell_m``."""
        return int(round(2 * self.half_raster_m / cell_m))

    def transform(self, cell_m: float):
        return from_origin(CENTRE_X - self.half_raster_m, CENTRE_Y + self.half_raster_m, cell_m,
                           cell_m)

    def tiles(self) -> list[tuple[int, int]]:
        """(column, row) indices of the point tiles touching the point area (row 0 north of the
        centre line, increasing northwards)."""
        first = math.floor(-self.half_points_m / POINT_TILE_M)
        last = math.ceil(self.half_points_m / POINT_TILE_M)
        return [(i, j) for j in range(first, last) for i in range(first, last)]

    def counties(self) -> range:
        """County indices (the same along x and y) of the counties touching the point area."""
        half = self.half_points_m
        return range(math.floor((-half + COUNTY_M / 2) / COUNTY_M),
                     math.ceil((half + COUNTY_M / 2) / COUNTY_M))

    def inside(self, x_local_m, y_local_m) -> np.ndarray:
        return (np.abs(x_local_m) < self.half_points_m) & (np.abs(y_local_m) < self.half_points_m)


def _label(i: int, j: int) -> str:
    """Stable label of a tile or county index pair (the same in every region size)."""
    return f"{i + 50:02d}{j + 50:02d}"


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, *(s + 1000 for s in stream)])


def county_of(x_local_m, y_local_m) -> tuple[np.ndarray, np.ndarray]:
    """County indices (i, j) of local positions: squares of COUNTY_M centred on the centre."""
    i = np.floor((np.asarray(x_local_m) + COUNTY_M / 2) / COUNTY_M).astype(np.int64)
    j = np.floor((np.asarray(y_local_m) + COUNTY_M / 2) / COUNTY_M).astype(np.int64)
    return i, j


def county_names(x_local_m, y_local_m) -> np.ndarray:
    i, j = county_of(x_local_m, y_local_m)
    return np.array([f"County {_label(a, b)}" for a, b in zip(i, j)], dtype=object)


# --------------------------------------------------------------------------------------------------
# Settlements
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Seat:
    """A county seat: position [m, local], people, and its 5G zone's kind."""

    county: tuple[int, int]
    x_m: float
    y_m: float
    people: float
    kind: str  # "city_centre" (the county at the region centre) or "county_town"


def county_seat(i: int, j: int, seed: int) -> Seat:
    """The seat of county (i, j): the lowest valley spot among 300 draws within 10 km of the
    county's centre."""
    rng = _rng(seed, 1, i, j)
    x = i * COUNTY_M + rng.uniform(-10_000, 10_000, 300)
    y = j * COUNTY_M + rng.uniform(-10_000, 10_000, 300)
    best = int(np.argmin(ground_at(x, y, seed).above_valley_m))
    city = (i, j) == (0, 0)
    people = 300_000.0 if city else float(np.round(rng.uniform(30_000, 150_000), -3))
    return Seat((i, j), float(x[best]), float(y[best]), people,
                "city_centre" if city else "county_town")


def seats_of(frame: Frame, seed: int) -> list[Seat]:
    """The county seats inside the point area."""
    seats = [county_seat(i, j, seed) for j in frame.counties() for i in frame.counties()]
    return [s for s in seats if frame.inside(s.x_m, s.y_m)]


def _uniform_in_tile(rng, tile: tuple[int, int], n: int) -> tuple[np.ndarray, np.ndarray]:
    i, j = tile
    return (rng.uniform(i * POINT_TILE_M, (i + 1) * POINT_TILE_M, n),
            rng.uniform(j * POINT_TILE_M, (j + 1) * POINT_TILE_M, n))


def _clip_to_tile(tile: tuple[int, int], x, y) -> tuple[np.ndarray, np.ndarray]:
    """Positions moved into the tile (strictly inside its edges)."""
    def clip(values, index):
        low, high = index * POINT_TILE_M, (index + 1) * POINT_TILE_M
        return np.clip(values, np.nextafter(low, high), np.nextafter(high, low))

    return clip(x, tile[0]), clip(y, tile[1])


def _spaced_lowest(x, y, score, n: int, spacing_m: float) -> np.ndarray:
    """Indices of up to ``n`` points taken by ascending score, at least ``spacing_m`` apart."""
    chosen: list[int] = []
    for k in np.argsort(score, kind="stable"):
        if len(chosen) == n:
            break
        if chosen and np.min(np.hypot(x[chosen] - x[k], y[chosen] - y[k])) < spacing_m:
            continue
        chosen.append(int(k))
    return np.array(chosen, dtype=np.int64)


def tile_villages(tile: tuple[int, int], n: int, seed: int) -> pd.DataFrame:
    """``n`` villages of a tile on valley floors and gentle valley sides, 400 m apart."""
    rng = _rng(seed, 2, *tile)
    x, y = _uniform_in_tile(rng, tile, 8 * n)
    above = ground_at(x, y, seed).above_valley_m
    pick = _spaced_lowest(x, y, above + rng.exponential(40.0, len(x)), n, 400.0)
    m = len(pick)
    people = np.round(np.clip(rng.lognormal(np.log(350.0), 0.7, m), 40, 3_000), -1)
    names = [f"{rng.choice(PREFIXES)}{rng.choice(SUFFIXES)} Village" for _ in range(m)]
    return pd.DataFrame({
        "village_id": [f"V{_label(*tile)}-{k:03d}" for k in range(m)], "name": names,
        "population": people.astype(np.int64), "poverty_village": rng.random(m) < 0.25,
        "relocation_site": rng.random(m) < 0.03, "x": x[pick], "y": y[pick],
        "above_valley_m": above[pick]})


# --------------------------------------------------------------------------------------------------
# Candidate sites
# --------------------------------------------------------------------------------------------------
def _near(rng, x, y, radius_m: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` positions within ``radius_m`` of randomly chosen anchors (x, y)."""
    anchor = rng.integers(0, len(x), n)
    r = radius_m * np.sqrt(rng.random(n))
    a = rng.uniform(0, 2 * np.pi, n)
    return x[anchor] + r * np.cos(a), y[anchor] + r * np.sin(a)


def _by_height(rng, tile, seed, n: int, low_m: float, high_m: float, *, highest: bool):
    """``n`` positions in a tile whose height above the valley lies in [low_m, high_m) (the
    nearest to the range when too few draws are in it): the highest of the draws (hilltops)
    or a random choice among them."""
    x, y = _uniform_in_tile(rng, tile, 12 * n + 12)
    above = ground_at(x, y, seed).above_valley_m
    outside_m = np.maximum(low_m - above, 0.0) + np.maximum(above - high_m, 0.0)
    order = np.lexsort((-above if highest else rng.random(len(x)), outside_m))
    return x[order[:n]], y[order[:n]]


def _seat_sites(rng, seat: Seat, zone: shapely.Polygon) -> list[pd.DataFrame]:
    """5G-capable sites inside a seat's zone and its existing 5G sites."""
    n_zone, n_5g = ZONE_SITES[seat.kind], EXISTING_5G_SITES[seat.kind]
    xmin, ymin, xmax, ymax = zone.bounds
    x = rng.uniform(xmin, xmax, 20 * n_zone)
    y = rng.uniform(ymin, ymax, 20 * n_zone)
    inside = np.flatnonzero(shapely.contains_xy(zone, x, y))[:n_zone]
    kinds = np.array(["rooftop", "lamp_pole", "public_building"])[np.arange(len(inside)) % 3]
    ex, ey = _near(rng, np.array([seat.x_m]), np.array([seat.y_m]), 1_500.0, n_5g)
    return [pd.DataFrame({"kind": kinds, "x": x[inside], "y": y[inside]}),
            pd.DataFrame({"kind": "existing_5g", "x": ex, "y": ey})]


def _kind_counts(n: int) -> dict[str, int]:
    """``n`` split by :data:`KIND_SHARES` (largest remainders, so the counts add up to n)."""
    raw = {k: share * n for k, share in KIND_SHARES.items()}
    counts = {k: int(v) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: (counts[k] - raw[k], k))[: n - sum(counts.values())]:
        counts[k] += 1
    return counts


def _place(rng, tile, seed, kind: str, n: int, villages: pd.DataFrame, seat: Seat | None):
    """Positions of ``n`` candidates of ``kind`` in a tile."""
    vx, vy = villages["x"].to_numpy(), villages["y"].to_numpy()
    if len(vx) == 0:  # no village in the tile: anchor on valley floors instead
        vx, vy = _by_height(rng, tile, seed, 8, 0.0, 40.0, highest=False)
    if kind == "existing_4g":
        return _near(rng, vx, vy, 600.0, n)
    if kind == "public_building":
        return _near(rng, vx, vy, 250.0, n)
    if kind == "water_tower":
        return _near(rng, vx, vy, 500.0, n)
    if kind == "rooftop":
        if seat is not None:
            return _near(rng, np.array([seat.x_m]), np.array([seat.y_m]), 3_000.0, n)
        big = villages["population"].to_numpy() >= np.median(villages["population"]) \
            if len(villages) else np.ones(len(vx), bool)
        return _near(rng, vx[big], vy[big], 300.0, n)
    if kind == "lamp_pole":
        return _by_height(rng, tile, seed, n, 0.0, 25.0, highest=False)
    if kind == "existing_tower":
        return _by_height(rng, tile, seed, n, 100.0, 450.0, highest=False)
    return _by_height(rng, tile, seed, n, 300.0, 1_000.0, highest=True)  # greenfield


def _attributes(rng, sites: pd.DataFrame) -> pd.DataFrame:
    """Antenna height, costs, technologies, free public and difficult flags (demo rules)."""
    n = len(sites)
    kind = sites["kind"].to_numpy()
    height, capex, opex = np.empty(n), np.empty(n), np.empty(n)
    for name, ((h0, h1), (c0, c1), (o0, o1)) in CANDIDATE_SPECS.items():
        m = kind == name
        height[m] = rng.uniform(h0, h1, m.sum())
        capex[m] = rng.uniform(c0, c1, m.sum())
        opex[m] = rng.uniform(o0, o1, m.sum())
    technologies = np.where(kind == "lamp_pole", "5G", "4G,5G").astype(object)
    legacy = (((kind == "existing_tower") & (rng.random(n) < 0.3))
              | ((kind == "existing_4g") & (rng.random(n) < 0.2)))
    technologies[legacy] = "4G"
    free = (kind == "public_building") & (rng.random(n) < 0.02)
    difficult = (np.isin(kind, ["existing_tower", "rooftop", "greenfield", "water_tower"])
                 & (rng.random(n) < 0.015))
    extra = np.where(difficult, np.round(rng.uniform(100_000, 400_000, n), -3), 0.0)
    return sites.assign(antenna_height_m=np.round(height, 1),
                        capex_cny=np.where(free, 0.0, np.round(capex, -2)),
                        opex_cny_per_year=np.round(opex, -2), free_public=free, difficult=difficult,
                        extra_cost_cny=extra, technologies=technologies)


def tile_candidates(tile, n: int, seed: int, villages: pd.DataFrame, seat: Seat | None,
                    zone: shapely.Polygon | None) -> pd.DataFrame:
    """``n`` candidates of a tile: the seat's sites (when the tile holds one), then every kind
    by :data:`KIND_SHARES` near villages, on valley floors, low hills and hilltops."""
    rng = _rng(seed, 3, *tile)
    parts = _seat_sites(rng, seat, zone) if seat is not None else []
    rest = max(0, n - sum(len(p) for p in parts))
    for kind, count in _kind_counts(rest).items():
        x, y = _clip_to_tile(tile, *_place(rng, tile, seed, kind, count, villages, seat))
        parts.append(pd.DataFrame({"kind": kind, "x": x, "y": y}))
    sites = pd.concat(parts, ignore_index=True)
    sites.insert(0, "site_id", [f"S{_label(*tile)}-{k:03d}" for k in range(len(sites))])
    return _attributes(rng, sites)


def tile_complaints(tile, seed: int, villages: pd.DataFrame) -> pd.DataFrame:
    """Weak-signal complaints at the tile's most remote (highest) villages."""
    rng = _rng(seed, 4, *tile)
    remote = villages.sort_values("above_valley_m", ascending=False, kind="stable")
    remote = remote.head(COMPLAINTS_PER_TILE)
    m = len(remote)
    return pd.DataFrame({
        "complaint_id": [f"C{_label(*tile)}-{k}" for k in range(m)],
        "description": [COMPLAINT_TEXTS[int(k)] for k in rng.integers(0, 10, m)],
        "people": np.minimum(rng.integers(5, 201, m), remote["population"].to_numpy()),
        "x": remote["x"].to_numpy() + rng.normal(0, 200.0, m),
        "y": remote["y"].to_numpy() + rng.normal(0, 200.0, m)})


def zone_of(seat: Seat) -> shapely.Polygon:
    """The 5G zone around a seat: an ellipse of 1.2-2.4 km semi-axes."""
    a, b = (2_400.0, 1_600.0) if seat.kind == "city_centre" else (1_500.0, 1_200.0)
    circle = shapely.Point(seat.x_m, seat.y_m).buffer(1.0, 24)
    return shapely.affinity.scale(circle, a, b)


# --------------------------------------------------------------------------------------------------
# The point layers
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Points:
    """Every point layer of a region, in local metres (columns x, y)."""

    villages: pd.DataFrame
    candidates: pd.DataFrame
    complaints: pd.DataFrame
    seats: list[Seat]


def per_tile(total: int, frame: Frame) -> int:
    """A tile's share of ``total`` points over the region."""
    return int(round(total * POINT_TILE_M**2 / (2 * frame.half_points_m) ** 2))


def draw_points(frame: Frame, n_candidates: int, n_villages: int, seed: int) -> Points:
    """Villages, candidates and complaints tile by tile, kept inside the point area."""
    seats = seats_of(frame, seed)
    seat_in = {(math.floor(s.x_m / POINT_TILE_M), math.floor(s.y_m / POINT_TILE_M)): s
               for s in seats}
    villages, candidates, complaints = [], [], []
    for tile in frame.tiles():
        v = tile_villages(tile, per_tile(n_villages, frame), seed)
        seat = seat_in.get(tile)
        c = tile_candidates(tile, per_tile(n_candidates, frame), seed, v, seat,
                            zone_of(seat) if seat is not None else None)
        complaints.append(tile_complaints(tile, seed, v))
        villages.append(v)
        candidates.append(c)

    def kept(parts):
        frame_ = pd.concat(parts, ignore_index=True)
        return frame_[frame.inside(frame_["x"], frame_["y"])].reset_index(drop=True)

    return Points(kept(villages), kept(candidates), kept(complaints), seats)


# --------------------------------------------------------------------------------------------------
# Rasters, window by window
# --------------------------------------------------------------------------------------------------
def windows(size_px: int):
    """Tile-aligned windows of WINDOW_PX covering a square raster, row by row."""
    for row0 in range(0, size_px, WINDOW_PX):
        for col0 in range(0, size_px, WINDOW_PX):
            yield rasterio.windows.Window(col0, row0, min(WINDOW_PX, size_px - col0),
                                          min(WINDOW_PX, size_px - row0))


def window_centres(frame: Frame, window, cell_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Local coordinates of a window's cell centres: x as a row, y as a column (broadcast)."""
    x = -frame.half_raster_m + (window.col_off + np.arange(window.width) + 0.5) * cell_m
    y = frame.half_raster_m - (window.row_off + np.arange(window.height) + 0.5) * cell_m
    return x[None, :], y[:, None]


def _profile(frame: Frame, cell_m: float, dtype: str, nodata, predictor: int) -> dict:
    size = frame.raster_shape(cell_m)
    return dict(driver="GTiff", width=size, height=size, count=1, dtype=dtype,
                crs=f"EPSG:{EPSG}", transform=frame.transform(cell_m), nodata=nodata, tiled=True,
                blockxsize=WINDOW_PX, blockysize=WINDOW_PX, compress="deflate",
                predictor=predictor, zlevel=6, BIGTIFF="IF_SAFER")


@dataclass
class RasterStats:
    minimum: float = math.inf
    maximum: float = -math.inf
    total: float = 0.0

    def add(self, values: np.ndarray) -> None:
        self.minimum = min(self.minimum, float(values.min()))
        self.maximum = max(self.maximum, float(values.max()))
        self.total += float(values.sum(dtype=np.float64))


def write_raster(path: Path, profile: dict, window_values, tags: dict, description: str
                 ) -> RasterStats:
    """Write a raster window by window (``window_values(window)`` gives each window's cells)
    to a temporary name, then rename it; returns the cells' min, max and sum."""
    stats = RasterStats()
    tmp = _tmp_in(path.parent, path.name)
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), rasterio.open(tmp, "w", **profile) as dst:
        for window in windows(profile["width"]):
            values = window_values(window).astype(profile["dtype"])
            stats.add(values)
            dst.write(values, 1, window=window)
        dst.update_tags(**tags)
        dst.set_band_description(1, description)
    tmp.replace(path)
    return stats


def write_dem(path: Path, frame: Frame, seed: int) -> RasterStats:
    """The 30 m DEM [m, Int16], one window at a time."""
    def elevation(window):
        x, y = window_centres(frame, window, DEM_CELL_M)
        return np.round(ground_at(x, y, seed).elevation_m)

    return write_raster(path, _profile(frame, DEM_CELL_M, "int16", -32768, 2), elevation,
                        {"AREA_OR_POINT": "Area", "units": "m"}, "elevation_m")


@dataclass(frozen=True)
class Blobs:
    """Gaussian population blobs: centre [m, local], people, sigma [m]."""

    x_m: np.ndarray
    y_m: np.ndarray
    people: np.ndarray
    sigma_m: np.ndarray

    @classmethod
    def of(cls, points: Points) -> Blobs:
        v = points.villages
        seats = points.seats
        people = np.concatenate([v["population"].to_numpy(float), [s.people for s in seats]])
        sigma = np.concatenate([120.0 + 6.0 * np.sqrt(v["population"].to_numpy(float)),
                                [1_500.0 for _ in seats]])
        return cls(np.concatenate([v["x"].to_numpy(), [s.x_m for s in seats]]),
                   np.concatenate([v["y"].to_numpy(), [s.y_m for s in seats]]), people, sigma)

    @property
    def reach_m(self) -> np.ndarray:
        """Radius beyond which a blob adds nobody (4 sigma)."""
        return 4.0 * self.sigma_m

    def paint(self, x_row: np.ndarray, y_col: np.ndarray, cell_m: float) -> np.ndarray:
        """People per cell (centres x_row, y_col, broadcast) from every blob within reach,
        added in blob order, so that a cell's value does not depend on the window."""
        out = np.zeros((y_col.shape[0], x_row.shape[1]))
        x, y = x_row[0], y_col[:, 0]
        reach = self.reach_m
        near = np.flatnonzero((np.abs(self.x_m - x.mean()) <= reach + np.ptp(x) / 2)
                              & (np.abs(self.y_m - y.mean()) <= reach + np.ptp(y) / 2))
        for k in near:
            cols = np.flatnonzero(np.abs(x - self.x_m[k]) <= reach[k])
            rows = np.flatnonzero(np.abs(y - self.y_m[k]) <= reach[k])
            if len(cols) and len(rows):
                patch = self._people_per_cell(k, x[cols][None, :], y[rows][:, None], cell_m)
                out[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] += patch
        return out

    def _people_per_cell(self, k: int, x_row, y_col, cell_m: float) -> np.ndarray:
        """Blob ``k``'s people in the cells centred at (x_row, y_col), 0 beyond its reach."""
        d2 = (x_row - self.x_m[k]) ** 2 + (y_col - self.y_m[k]) ** 2
        s2 = self.sigma_m[k] ** 2
        density = self.people[k] * cell_m**2 / (2 * np.pi * s2) * np.exp(-d2 / (2 * s2))
        return np.where(d2 <= self.reach_m[k] ** 2, density, 0.0)


def write_population(path: Path, frame: Frame, seed: int, blobs: Blobs) -> RasterStats:
    """The 100 m population raster [people per cell, float32], one window at a time."""
    def people(window):
        x, y = window_centres(frame, window, POP_CELL_M)
        return dispersed_people(x, y, seed) + blobs.paint(x, y, POP_CELL_M)

    return write_raster(path, _profile(frame, POP_CELL_M, "float32", None, 3), people,
                        {"units": "people per cell"}, "population")


# --------------------------------------------------------------------------------------------------
# Vector layers and scenario
# --------------------------------------------------------------------------------------------------
def _to_map(frame: pd.DataFrame, columns: list[str]) -> gpd.GeoDataFrame:
    """A point layer in UTM 49N (coordinates rounded to 0.1 m), with the county of each point."""
    table = frame[columns].reset_index(drop=True)
    table["admin_unit"] = county_names(frame["x"].to_numpy(), frame["y"].to_numpy())
    x = np.round(CENTRE_X + frame["x"].to_numpy(), 1)
    y = np.round(CENTRE_Y + frame["y"].to_numpy(), 1)
    return gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(x, y), crs=EPSG)


def admin_layer(frame: Frame) -> gpd.GeoDataFrame:
    """The counties (squares of COUNTY_M) touching the point area, clipped to the raster area;
    the outermost ones reach out to the raster's edge."""
    h = frame.half_raster_m
    counties = frame.counties()

    def extent(index):
        low = -h if index == counties[0] else max(index * COUNTY_M - COUNTY_M / 2, -h)
        high = h if index == counties[-1] else min(index * COUNTY_M + COUNTY_M / 2, h)
        return low, high

    names, polygons = [], []
    for j in counties:
        for i in counties:
            (x0, x1), (y0, y1) = extent(i), extent(j)
            names.append(f"County {_label(i, j)}")
            polygons.append(shapely.box(x0 + CENTRE_X, y0 + CENTRE_Y, x1 + CENTRE_X, y1 + CENTRE_Y))
    return gpd.GeoDataFrame({"admin_unit": names, "name_zh": [f"{n[-4:]}县" for n in names]},
                            geometry=polygons, crs=EPSG)


def zone_layer(seats: list[Seat]) -> gpd.GeoDataFrame:
    """One 5G zone per seat in the region."""
    polygons = [shapely.affinity.translate(zone_of(s), CENTRE_X, CENTRE_Y) for s in seats]
    return gpd.GeoDataFrame({
        "zone_id": [f"Z{_label(*s.county)}" for s in seats],
        "name": [f"{'City' if s.kind == 'city_centre' else 'County town'} "
                 f"{_label(*s.county)} centre" for s in seats],
        "kind": [s.kind for s in seats], "require_5g": [True] * len(seats)},
        geometry=[shapely.set_precision(p, 0.1) for p in polygons], crs=EPSG)


def vector_layers(points: Points, frame: Frame) -> dict[str, gpd.GeoDataFrame]:
    """The GeoPackage layers; empty optional layers (complaints, zones) are left out."""
    layers = {
        "villages": _to_map(points.villages, ["village_id", "name", "population",
                                              "poverty_village", "relocation_site"]),
        "candidates": _to_map(points.candidates, ["site_id", "kind", "antenna_height_m",
                                                  "capex_cny", "opex_cny_per_year", "free_public",
                                                  "difficult", "extra_cost_cny", "technologies"]),
        "complaints": _to_map(points.complaints, ["complaint_id", "description", "people"]),
        "zones": zone_layer(points.seats),
        "admin_units": admin_layer(frame),
    }
    for required in ("villages", "candidates"):
        if layers[required].empty:
            raise ValueError(f"no {required} in a {frame.size_km:g} km region: give a larger "
                             f"--size-km or more --{required}")
    return {name: layer for name, layer in layers.items() if not layer.empty}


def write_scenario(path: Path, frame: Frame) -> None:
    """The demo's scenario with this region's name, budget, quota and solver time limit."""
    scenario = yaml.safe_load(DEMO_SCENARIO.read_text(encoding="utf-8"))
    area_km2 = frame.size_km**2
    scenario["name"] = f"large-{frame.size_km:g}km"
    scenario["objective"]["budget_cny"] = float(round(BUDGET_CNY_PER_KM2 * area_km2, -5))
    scenario["objective"]["max_new_sites"] = int(round(area_km2 / KM2_PER_NEW_SITE))
    scenario["solver"]["time_limit_s"] = SOLVER_TIME_LIMIT_S
    header = (f"# Synthetic province-size region ({frame.size_km:g} km x {frame.size_km:g} km), "
              f"generated by scripts/make_large_region.py.\n")
    path.write_text(header + yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------
def peak_memory_mb() -> float:
    """Peak resident memory of this process [MB] (VmHWM)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _raster_text(frame: Frame, cell_m: float) -> str:
    size = frame.raster_shape(cell_m)
    return f"{size} x {size} cells of {cell_m:g} m"


def build(out: Path, size_km: float = DEFAULT_SIZE_KM, n_candidates: int | None = None,
          n_villages: int | None = None, seed: int = DEFAULT_SEED) -> dict:
    """Generate every file of a region into ``out``; return its statistics."""
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    frame = Frame.of(size_km)
    area_km2 = size_km**2
    n_candidates = round(CANDIDATES_PER_KM2 * area_km2) if n_candidates is None else n_candidates
    n_villages = round(VILLAGES_PER_KM2 * area_km2) if n_villages is None else n_villages
    points = draw_points(frame, n_candidates, n_villages, seed)
    layers = vector_layers(points, frame)
    write_gpkg(out / "region.gpkg", layers)
    dem = write_dem(out / "dem.tif", frame, seed)
    population = write_population(out / "population.tif", frame, seed, Blobs.of(points))
    write_scenario(out / "scenario.yaml", frame)
    v, c = points.villages, points.candidates
    return dict(
        size_km=size_km, seed=seed,
        dem=_raster_text(frame, DEM_CELL_M), population_raster=_raster_text(frame, POP_CELL_M),
        elevation_min_m=dem.minimum, elevation_max_m=dem.maximum,
        population_total=population.total, village_population=int(v["population"].sum()),
        n_villages=len(v), n_poverty=int(v["poverty_village"].sum()),
        n_relocation=int(v["relocation_site"].sum()), n_candidates=len(c),
        candidates_by_kind=c["kind"].value_counts().sort_index().to_dict(),
        n_complaints=len(points.complaints), n_zones=len(points.seats),
        n_admin_units=len(layers["admin_units"]),
        files={f: f"{(out / f).stat().st_size / 1e6:.1f} MB"
               for f in ("dem.tif", "population.tif", "region.gpkg")},
        seconds=time.perf_counter() - start, peak_memory_mb=peak_memory_mb())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-km", type=float, default=DEFAULT_SIZE_KM,
                        help="side of the square region [km] (default 200)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/large/region"))
    parser.add_argument("--candidates", type=int, default=None,
                        help="candidate sites (default 1.25 per km2: 50,000 at 200 km)")
    parser.add_argument("--villages", type=int, default=None,
                        help="villages (default 0.125 per km2: 5,000 at 200 km)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    try:
        stats = build(args.out, args.size_km, args.candidates, args.villages, args.seed)
    except ValueError as exc:
        print(f"make_large_region: error: {exc}", file=sys.stderr)
        return 2
    for key, value in stats.items():
        if isinstance(value, dict):
            print(f"{key}: " + ", ".join(f"{k} {v}" for k, v in value.items()))
        elif isinstance(value, float):
            print(f"{key}: {value:,.1f}")
        else:
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

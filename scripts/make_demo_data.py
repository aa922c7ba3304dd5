#!/usr/bin/env python
"""Generate the synthetic demo region of ``siting`` (a mountainous prefecture near Ankang, Shaanxi).

The region is a 60 km x 60 km box in WGS 84 / UTM zone 49N (EPSG:32649) centred near 32.7 N 109.0 E.
It is *synthetic* but shaped like the real planning problem: a main river valley (the Han River)
crossing west to east, dendritic tributaries carved into ridged fractal mountains (valley floors
~300-600 m, ridges up to ~2,200 m), a prefecture seat of ~300k people in the main valley, four county
towns, ~340 villages along the valleys, an existing 4G/5G network concentrated in the city and the main
valley, and 1,000+ candidate sites of several kinds.

Outputs (in ``--out``, default ``data/demo``):

* ``dem.tif``         30 m DEM, 2000 x 2000, Int16 metres, tiled, DEFLATE + predictor 2.
* ``population.tif``  100 m population, 600 x 600, float32 people per cell, DEFLATE + predictor 3.
* ``region.gpkg``     layers villages, complaints, candidates, zones, admin_units, and for backhaul
  planning roads (one along every river valley, tributaries joining their parent's road) and
  fiber_nodes (an exchange in the prefecture seat and in each county town); candidates carry
  ``has_fiber`` (true for the existing sites within ``FIBER_TOWN_RADIUS_M`` of a town centre).

Everything is drawn from one seeded ``numpy.random.Generator`` and written deterministically, so two
runs with the same seed produce byte-identical files. No external data are read.

Usage: ``python scripts/make_demo_data.py [--out DIR] [--seed N]``
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
from rasterio.features import shapes as raster_shapes
from rasterio.transform import from_origin
from scipy import ndimage
import shapely
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon, shape
from shapely.ops import unary_union

# --------------------------------------------------------------------------------------------------
# Fixed frame of the region
# --------------------------------------------------------------------------------------------------
EPSG = 32649
CENTRE_X, CENTRE_Y = 312_500.0, 3_619_800.0      # ~109.0 E, 32.7 N in UTM 49N, rounded to 100 m
HALF_M = 30_000.0
WEST, NORTH = CENTRE_X - HALF_M, CENTRE_Y + HALF_M
DEM_CELL_M, DEM_N = 30.0, 2000
POP_CELL_M, POP_N = 100.0, 600
EDGE_MARGIN_M = 500.0                            # no point closer than this to the DEM edge
DEFAULT_SEED = 20261129
GPKG_DATE = "2026-01-01T00:00:00Z"               # fixed timestamp written into the GeoPackage

# The five counties: seat position in local km (x east, y north of the region centre), river
# the seat sits on, seat population.
COUNTIES = {
    #  name      name_zh    river      seat (fraction along river or None)   people
    "Hanbin":  ("汉滨区", "main",    None,   300_000),
    "Shiquan": ("石泉县", "main",    0.07,   42_000),
    "Hanyin":  ("汉阴县", "Yue He",  0.62,   55_000),
    "Ziyang":  ("紫阳县", "Ren He",  0.60,   36_000),
    "Langao":  ("岚皋县", "Lan He",  0.62,   28_000),
}

CANDIDATE_SPECS = {
    # kind: (antenna height range m, capex range CNY, opex range CNY/yr)
    "lamp_pole":       ((10.0, 12.0), (25_000, 38_000), (5_000, 8_000)),
    "rooftop":         ((20.0, 30.0), (45_000, 80_000), (12_000, 20_000)),
    "public_building": ((15.0, 25.0), (38_000, 65_000), (6_000, 10_000)),
    "water_tower":     ((25.0, 35.0), (65_000, 100_000), (8_000, 12_000)),
    "existing_tower":  ((30.0, 45.0), (30_000, 55_000), (15_000, 25_000)),
    "greenfield":      ((30.0, 40.0), (150_000, 300_000), (18_000, 30_000)),
    "existing_4g":     ((25.0, 40.0), (0, 0), (15_000, 25_000)),
    "existing_5g":     ((25.0, 40.0), (0, 0), (20_000, 30_000)),
}


def to_utm(x_local_m, y_local_m):
    """Local metres (origin = region centre) -> UTM 49N metres."""
    return CENTRE_X + np.asarray(x_local_m), CENTRE_Y + np.asarray(y_local_m)


def rc_of(x_local_m, y_local_m, cell=DEM_CELL_M):
    """Fractional (row, col) of local coordinates on a north-up grid of ``cell`` metres."""
    col = (np.asarray(x_local_m) + HALF_M) / cell - 0.5
    row = (HALF_M - np.asarray(y_local_m)) / cell - 0.5
    return row, col


# --------------------------------------------------------------------------------------------------
# Noise
# --------------------------------------------------------------------------------------------------
def spectral_noise(rng: np.random.Generator, n: int, beta: float, kmin: float = 1.0) -> np.ndarray:
    """Isotropic fractal (1/f^beta power spectrum) noise on an n x n grid, zero mean, unit std.

    Models the self-similar roughness of eroded mountains; larger beta = smoother.
    """
    white = rng.standard_normal((n, n))
    spec = np.fft.rfft2(white)
    ky = np.fft.fftfreq(n)[:, None] * n
    kx = np.fft.rfftfreq(n)[None, :] * n
    k = np.sqrt(kx * kx + ky * ky)
    k[0, 0] = 1.0
    amp = np.where(k >= kmin, k ** (-beta / 2.0), 0.0)
    field_ = np.fft.irfft2(spec * amp, s=(n, n))
    field_ -= field_.mean()
    return field_ / field_.std()


# --------------------------------------------------------------------------------------------------
# Rivers
# --------------------------------------------------------------------------------------------------
@dataclass
class River:
    """A river polyline from its mouth (downstream end) to its source, in local metres."""

    name: str
    order: int                    # 0 = main river, 1 = tributary, 2 = sub-tributary
    xy: np.ndarray                # (n, 2), ordered downstream -> upstream (main river: east -> west)
    base_m: np.ndarray            # valley-floor elevation at each vertex
    parent: int = -1
    widths_m: np.ndarray = field(default=None)   # valley floor half-width at each vertex

    @property
    def s_m(self) -> np.ndarray:
        d = np.hypot(*np.diff(self.xy, axis=0).T)
        return np.concatenate([[0.0], np.cumsum(d)])

    def at_fraction(self, f: float) -> np.ndarray:
        s = self.s_m
        i = int(np.searchsorted(s, f * s[-1]))
        return self.xy[min(i, len(s) - 1)].copy()


def _walk(rng, start, heading, targets, n_steps, step_m, wander, stop):
    """Persistent random walk from ``start``: heads to each target in turn (or keeps ``heading``).

    ``wander`` is the std of the AR(1) angular deviation (rad); ``stop(p)`` ends the walk early.
    """
    pts = [np.asarray(start, float)]
    dev = 0.0
    targets = list(targets)
    for _ in range(n_steps):
        p = pts[-1]
        if targets:
            t = np.asarray(targets[0], float)
            if np.hypot(*(t - p)) < 1.5 * step_m:
                targets.pop(0)
                if not targets:
                    break
                t = np.asarray(targets[0], float)
            base = math.atan2(t[1] - p[1], t[0] - p[0])
        else:
            base = heading
        dev = 0.85 * dev + rng.normal(0.0, wander * math.sqrt(1 - 0.85 ** 2))
        ang = base + dev
        q = p + step_m * np.array([math.cos(ang), math.sin(ang)])
        if stop(q):
            break
        pts.append(q)
    return np.array(pts)


def rivers(rng: np.random.Generator) -> list[River]:
    """The drainage network: the Han River (west -> east) plus named and random tributaries.

    Three named tributaries carry county towns (Yue He to the north-west, Ren He to the south-west,
    Lan He to the south); ~10 more tributaries and ~25 sub-tributaries fill the mountains. Valley
    floors rise upstream (concave long profiles), so remote villages sit at 600-1,000 m.
    """
    lim = HALF_M - 300.0
    occupied = np.full((300, 300), -1, dtype=np.int32)   # 200 m grid: which river passes here

    def cell(p):
        return (int(np.clip((HALF_M - p[1]) // 200, 0, 299)), int(np.clip((p[0] + HALF_M) // 200, 0, 299)))

    def mark(idx, xy):
        for p in xy:
            occupied[cell(p)] = idx

    def crowded(p, allowed, radius_cells):
        r, c = cell(p)
        win = occupied[max(r - radius_cells, 0):r + radius_cells + 1, max(c - radius_cells, 0):c + radius_cells + 1]
        return bool(np.any((win >= 0) & ~np.isin(win, list(allowed))))

    out: list[River] = []
    # Main river: enters in the west at y ~ +3 km, passes the city at the centre, leaves in the east.
    ctrl = [(-16_000, 6_500), (-7_000, 3_000), (0, 0), (9_000, 2_000), (20_000, -1_500), (lim + 400, -2_500)]
    main = _walk(rng, (-lim - 400, 3_500), 0.0, ctrl, 2000, 100.0, 0.35,
                 stop=lambda q: q[0] > lim + 500)
    main = main[::-1]                                    # mouth (east) first
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(main, axis=0).T))])
    out.append(River("Han Jiang", 0, main, 285.0 + 85.0 * s / s[-1]))
    mark(0, main)

    def add_tributary(name, order, parent_idx, frac, heading, length_m, rate, targets=()):
        parent = out[parent_idx]
        start = parent.at_fraction(frac)
        jb = float(np.interp(frac * parent.s_m[-1], parent.s_m, parent.base_m))
        allowed = {parent_idx, len(out)}
        xy = _walk(rng, start, heading, targets, int(length_m / 100), 100.0, 0.45 if order == 1 else 0.6,
                   stop=lambda q: abs(q[0]) > lim or abs(q[1]) > lim
                   or (np.hypot(*(q - start)) > 1200 and crowded(q, allowed, 5)))
        if len(xy) < 25:
            return None
        s_km = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]) / 1000.0
        base = np.minimum(jb + rate * s_km ** 1.45, max(jb, 1_100.0))   # floors stay below ~1,100 m
        out.append(River(name, order, xy, base, parent=parent_idx))
        mark(len(out) - 1, xy)
        return len(out) - 1

    def frac_near_x(x):
        r = out[0]
        return float(r.s_m[np.argmin(np.abs(r.xy[:, 0] - x))] / r.s_m[-1])

    named = [("Yue He", frac_near_x(-12_500), [(-15_500, 9_000), (-19_000, 16_000), (-22_000, 24_000), (-24_000, 29_000)]),
             ("Ren He", frac_near_x(-6_000), [(-11_000, -5_000), (-16_500, -12_000), (-21_000, -20_000), (-24_000, -29_000)]),
             ("Lan He", frac_near_x(6_000), [(5_000, -7_000), (2_500, -15_000), (4_000, -22_000), (6_000, -29_000)])]
    for name, frac, targets in named:
        add_tributary(name, 1, 0, frac, 0.0, 40_000, 3.0, targets)

    # Random tributaries, alternating north and south bank.
    syllables = ["Huang", "Bai", "Shi", "Qing", "Jian", "Heng", "Chi", "Fu", "Tie", "Ma", "Niu", "Gou",
                 "Jiao", "Lian", "Tang", "Hua", "Liu", "Ping", "Song", "Ye", "Da", "Xiao"]
    junction_x = [-26_000, -20_000, -1_500, 2_500, 10_000, 14_500, 19_500, 24_500, -27_500, -22_500, 12_500,
                  17_500, 22_000, 27_000, -9_500, 6_500]
    sides = [1, -1, 1, -1, 1, -1, 1, -1, -1, 1, 1, -1, 1, -1, 1, 1]
    names = rng.permutation(syllables)
    for k, (jx, side) in enumerate(zip(junction_x, sides)):
        heading = side * math.pi / 2 + rng.normal(0, 0.3)
        add_tributary(f"{names[k]} He", 1, 0, frac_near_x(jx), heading, rng.uniform(12_000, 26_000),
                      rng.uniform(4.5, 7.0))

    def branch(parent_idx, frac, length_m, label):
        parent = out[parent_idx]
        i = int(np.searchsorted(parent.s_m, frac * parent.s_m[-1]))
        i = min(max(i, 1), len(parent.xy) - 2)
        d = parent.xy[i + 1] - parent.xy[i - 1]
        up = math.atan2(d[1], d[0])
        heading = up + rng.choice([-1, 1]) * rng.uniform(0.8, 1.4)
        return add_tributary(label, 2, parent_idx, frac, heading, length_m, rng.uniform(20.0, 32.0))

    # Sub-tributaries off every tributary, then gullies off those and short side streams of the
    # main valley: a dense dendritic network, as in the Qinba mountains.
    n_first = len(out)
    for parent_idx in range(1, n_first):
        for j in range(int(rng.integers(4, 8))):
            branch(parent_idx, rng.uniform(0.1, 0.9), rng.uniform(3_000, 9_000), f"{out[parent_idx].name.split()[0]} Gou {j + 1}")
    n_second = len(out)
    for parent_idx in range(n_first, n_second):
        for j in range(int(rng.integers(0, 3))):
            branch(parent_idx, rng.uniform(0.2, 0.8), rng.uniform(1_500, 4_000), f"{out[parent_idx].name} {j + 1}")
    for j in range(24):
        branch(0, rng.uniform(0.02, 0.98), rng.uniform(2_500, 7_000), f"Han Gou {j + 1}")

    # Fill the remaining undrained mountain blocks: a stream from the nearest river towards the
    # point farthest from any river, until no point is more than ~2.5 km from a stream.
    for j in range(40):
        far = ndimage.distance_transform_edt(occupied < 0) * 200.0
        far[:3] = far[-3:] = 0.0
        far[:, :3] = far[:, -3:] = 0.0
        r_, c_ = np.unravel_index(int(np.argmax(far)), far.shape)
        if far[r_, c_] < 2_500.0:
            break
        target = np.array([-HALF_M + (c_ + 0.5) * 200.0, HALF_M - (r_ + 0.5) * 200.0])
        best = min(((np.min(np.hypot(*(rv.xy - target).T)), k) for k, rv in enumerate(out[:n_second])))
        parent = out[best[1]]
        i = int(np.argmin(np.hypot(*(parent.xy - target).T)))
        frac = float(parent.s_m[i] / parent.s_m[-1])
        before = len(out)
        add_tributary(f"{parent.name.split()[0]} Gou x{j + 1}", 2, best[1], frac, 0.0, best[0] + 1_500.0,
                      rng.uniform(20.0, 32.0), targets=[target, target + 0.3 * (target - parent.xy[i])])
        if len(out) == before:          # could not grow (crowded): mark the spot as drained
            occupied[max(r_ - 4, 0):r_ + 5, max(c_ - 4, 0):c_ + 5] = 10_000
    return out


def set_valley_widths(river_list: list[River], towns: dict[str, np.ndarray]) -> None:
    """Valley-floor half-widths: wide main valley, widened further around the city and towns."""
    for r in river_list:
        base_w = {0: 650.0, 1: 220.0, 2: 70.0}[r.order]
        w = np.full(len(r.xy), base_w)
        for name, p in towns.items():
            d = np.hypot(*(r.xy - p).T)
            extra = 2_200.0 if name == "Hanbin" else 800.0
            if r.order <= 1:
                w = np.maximum(w, base_w + extra * np.exp(-(d / (6_000.0 if name == "Hanbin" else 2_500.0)) ** 2))
        r.widths_m = w


# --------------------------------------------------------------------------------------------------
# Terrain
# --------------------------------------------------------------------------------------------------
@dataclass
class Terrain:
    """The synthetic DEM and the fields derived from it (all on the 30 m grid)."""

    z: np.ndarray            # Int16-ready elevation (float64 here), m
    base: np.ndarray         # valley-floor elevation of the nearest river, m
    hab: np.ndarray          # height above the nearest valley floor, m
    river_dist: np.ndarray   # distance to the nearest river, m
    main_dist: np.ndarray    # distance to the main river, m
    slope_deg: np.ndarray    # terrain slope, degrees

    def sample(self, name: str, x, y, cell=DEM_CELL_M):
        r, c = rc_of(x, y, cell)
        return ndimage.map_coordinates(getattr(self, name), [np.atleast_1d(r), np.atleast_1d(c)],
                                       order=1, mode="nearest")


VALLEY_SCALE_M = {0: 3_000.0, 1: 2_200.0, 2: 1_600.0}   # distance over which valley walls rise


def _rasterise_rivers(river_list, order):
    """Vertices of the rivers of one order, densified to <= 15 m -> mask, floor elevation and
    floor half-width on the DEM grid."""
    mask = np.zeros((DEM_N, DEM_N), bool)
    base = np.zeros((DEM_N, DEM_N))
    width = np.zeros((DEM_N, DEM_N))
    for r in river_list:
        if r.order != order:
            continue
        s = r.s_m
        ss = np.arange(0.0, s[-1], 15.0)
        row, col = rc_of(np.interp(ss, s, r.xy[:, 0]), np.interp(ss, s, r.xy[:, 1]))
        row, col = np.rint(row).astype(int), np.rint(col).astype(int)
        ok = (row >= 0) & (row < DEM_N) & (col >= 0) & (col < DEM_N) & ~mask[np.clip(row, 0, DEM_N - 1), np.clip(col, 0, DEM_N - 1)]
        row, col, ss = row[ok], col[ok], ss[ok]
        mask[row, col] = True
        base[row, col] = np.interp(ss, s, r.base_m)
        width[row, col] = np.interp(ss, s, r.widths_m)
    return mask, base, width


def terrain(rng: np.random.Generator, river_list: list[River]) -> Terrain:
    """Ridged fractal mountains with the river valleys carved in.

    elevation = valley floor (inverse-distance blend of the nearest river of each order, rising
                upstream)
              + A(x, y) * g * (ridged + fractal texture)
    g = min over river orders of 1 - exp(-(distance beyond the valley floor / scale)^1.1): 0 on a
    valley floor, 1 on the interfluves, so sharp ridges form along the watersheds. A grows away from
    the main valley (foothills near the city, 2,000 m+ ridges towards the edges).
    """
    g = np.ones((DEM_N, DEM_N))
    num = np.zeros((DEM_N, DEM_N))
    den = np.zeros((DEM_N, DEM_N))
    dist_any = np.full((DEM_N, DEM_N), np.inf)
    main_dist = None
    for order in (0, 1, 2):
        mask, base_r, width_r = _rasterise_rivers(river_list, order)
        if not mask.any():
            continue
        d, (ir, ic) = ndimage.distance_transform_edt(~mask, sampling=DEM_CELL_M, return_indices=True)
        w = ndimage.gaussian_filter(width_r[ir, ic], 8.0)
        g = np.minimum(g, 1.0 - np.exp(-(np.maximum(d - w, 0.0) / VALLEY_SCALE_M[order]) ** 1.1))
        k = 1.0 / (np.maximum(d - w, 0.0) + 60.0) ** 2
        num += k * base_r[ir, ic]
        den += k
        dist_any = np.minimum(dist_any, d)
        if order == 0:
            main_dist = d
    base = ndimage.gaussian_filter(num / den, 12.0, mode="nearest")

    low = spectral_noise(rng, DEM_N, 4.0)
    amp = (500.0 + 1_500.0 * (1.0 - np.exp(-(main_dist / 8_000.0) ** 1.6))) * (1.0 + 0.15 * low)
    fbm = spectral_noise(rng, DEM_N, 3.3, kmin=2.0)
    ridged = 1.0 - np.abs(spectral_noise(rng, DEM_N, 3.0, kmin=4.0)) / 2.5
    ridged = np.clip(ridged, 0.0, 1.0) ** 2
    texture = 0.55 * ridged + 0.45 * np.clip(0.5 + fbm / 5.0, 0.0, 1.0)
    relief = amp * g * (0.35 + 0.9 * texture)
    relief += 10.0 * spectral_noise(rng, DEM_N, 2.6, kmin=8.0) * (0.1 + g)
    relief = ndimage.gaussian_filter(np.maximum(relief, 0.0), 0.8)   # soften 30 m noise (smaller file)
    # Scale the relief so the highest summit is ~2,250 m.
    lo, hi = 0.0, 4.0
    for _ in range(30):
        f = 0.5 * (lo + hi)
        lo, hi = (f, hi) if (base + f * relief).max() < 2_250.0 else (lo, f)
    z = np.rint(base + lo * relief)
    gy, gx = np.gradient(z, DEM_CELL_M)
    slope = np.degrees(np.arctan(np.hypot(gx, gy)))
    return Terrain(z=z, base=base, hab=z - base, river_dist=dist_any, main_dist=main_dist, slope_deg=slope)


# --------------------------------------------------------------------------------------------------
# Settlements
# --------------------------------------------------------------------------------------------------
PREFIXES = ["Shuang", "Huang", "Shi", "Bai", "Ma", "Liu", "Wang", "Chen", "Li", "Zhang", "Yang", "Gao",
            "Da", "Xiao", "Qing", "Hong", "Jin", "Long", "Feng", "Tai", "Ping", "Xin", "Dong", "Xi", "Nan",
            "Bei", "Shang", "Xia", "Zhong", "Hua", "Song", "Zhu", "Tao", "Yu", "Chang", "Heng", "Guan",
            "Miao", "Fu", "Tian", "He", "Lan", "Yan", "Cha", "Ci", "Wu", "Zhou", "Tang", "Mao", "Qian",
            "Jiang", "Hu", "Lu", "Tie", "Niu", "Yin", "Sha", "Lao", "Bao", "Jiu"]
SUFFIXES = ["he", "gou", "ping", "ba", "yan", "wan", "ling", "po", "zi", "kou", "tang", "ya", "chong",
            "miao", "liang", "cha", "yuan", "qiao", "shan", "tai", "dian", "pu", "zhuang", "ban", "tuo",
            "keng", "an", "yu", "gang", "jia"]


@dataclass
class Settlements:
    """Seat and town centres plus the village table (local metres)."""

    towns: dict[str, np.ndarray]
    villages: pd.DataFrame          # x, y, name, population, poverty_village, relocation_site, remote


def town_centres(river_list: list[River]) -> dict[str, np.ndarray]:
    """County seats on their rivers: Hanbin (prefecture seat) where the main river crosses the centre."""
    by_name = {r.name: r for r in river_list}
    out = {}
    for county, (_, river, frac, _) in COUNTIES.items():
        r = by_name["Han Jiang"] if river == "main" else by_name[river]
        if frac is None:
            p = r.xy[np.argmin(np.hypot(*r.xy.T))]
        elif river == "main":      # main river is stored east -> west; fraction from the west end
            p = r.at_fraction(1.0 - frac)
        else:
            p = r.at_fraction(frac)
        out[county] = p + np.array([0.0, 250.0])   # town centre a little off the channel
    return out


def _unique_names(rng, n, taken):
    names = []
    while len(names) < n:
        nm = rng.choice(PREFIXES) + rng.choice(SUFFIXES)
        if nm not in taken:
            taken.add(nm)
            names.append(nm)
    return names


def settlements(rng: np.random.Generator, river_list: list[River], ter: Terrain,
                towns: dict[str, np.ndarray], n_villages: int = 340) -> Settlements:
    """Villages on valley floors and gentle slopes, mostly near rivers, some remote up tributaries.

    A village is drawn on a random river vertex (weighted towards bigger rivers), offset across the
    valley, and kept only on gentle ground (slope < 18 deg, < 350 m above the floor), >= 700 m from
    other villages and clear of the city/towns. About 10% sit on mid-slope terraces (the typical Qinba
    hillside hamlet). Populations are log-normal (50-3,000); remote ones are smaller and poorer.
    """
    verts, orders = [], []
    for r in river_list:
        verts.append(r.xy)
        orders.append(np.full(len(r.xy), r.order))
    verts = np.vstack(verts)
    orders = np.concatenate(orders)
    weight = np.select([orders == 0, orders == 1], [1.3, 1.0], 0.8)
    weight /= weight.sum()
    town_xy = np.array(list(towns.values()))
    town_r = np.array([6_000.0 if t == "Hanbin" else 1_800.0 for t in towns])
    lim = HALF_M - EDGE_MARGIN_M - 200.0
    rows = []
    tries = 0
    while len(rows) < n_villages and tries < 200_000:
        tries += 1
        v = verts[rng.choice(len(verts), p=weight)]
        terrace = rng.random() < 0.10
        off = rng.normal(0.0, 300.0 if not terrace else 900.0, 2)
        p = v + off
        if abs(p[0]) > lim or abs(p[1]) > lim:
            continue
        slope = float(ter.sample("slope_deg", *p)[0])
        hab = float(ter.sample("hab", *p)[0])
        if slope > (22.0 if terrace else 16.0) or hab > (420.0 if terrace else 180.0):
            continue
        if np.any(np.hypot(*(town_xy - p).T) < town_r):
            continue
        if rows and np.min(np.hypot(*(np.array([(q[0], q[1]) for q in rows]) - p).T)) < 700.0:
            continue
        rows.append((p[0], p[1], hab, terrace))
    df = pd.DataFrame(rows, columns=["x", "y", "hab", "terrace"])
    df["elev"] = ter.sample("z", df.x.to_numpy(), df.y.to_numpy())
    df["main_dist"] = ter.sample("main_dist", df.x.to_numpy(), df.y.to_numpy())
    # Remoteness: far from the main valley and high up.
    remote = np.clip(df.main_dist / 15_000.0, 0, 1) * 0.6 + np.clip((df.elev - 350.0) / 700.0, 0, 1) * 0.4
    df["remote"] = remote
    pop = np.exp(rng.normal(np.log(650.0) - 0.9 * remote, 0.75))
    df["population"] = np.clip(np.rint(pop / 10.0) * 10.0, 50, 3_000).astype(np.int64)
    p_poor = np.clip(0.05 + 0.55 * remote, 0, 0.9)
    df["poverty_village"] = rng.random(len(df)) < p_poor * (0.25 * len(df) / p_poor.sum())
    # Relocation (易地扶贫搬迁) sites: resettlement communities in the main valley, near towns.
    town_d = np.min(np.hypot(df.x.to_numpy()[:, None] - town_xy[:, 0], df.y.to_numpy()[:, None] - town_xy[:, 1]), axis=1)
    score = np.where((df.main_dist < 3_000) | (town_d < 6_000), rng.random(len(df)), 2.0)
    n_reloc = int(round(0.05 * len(df)))
    reloc = np.zeros(len(df), bool)
    reloc[np.argsort(score, kind="stable")[:n_reloc]] = True
    df["relocation_site"] = reloc
    df.loc[reloc, "population"] = rng.integers(80, 300, reloc.sum()) * 10
    df.loc[reloc, "poverty_village"] = False
    taken = {c for c in COUNTIES}
    df["name"] = [f"{n} Village" for n in _unique_names(rng, len(df), taken)]
    return Settlements(towns=towns, villages=df)


# --------------------------------------------------------------------------------------------------
# Administrative units
# --------------------------------------------------------------------------------------------------
def admin_units(rng: np.random.Generator, towns: dict[str, np.ndarray]) -> gpd.GeoDataFrame:
    """Five counties tiling the region: a noisy Voronoi partition of the county seats.

    Extra generator points give Hanbin (the prefecture seat's district) the east of the region, as in
    reality. The label raster (150 m) is polygonised and each county kept as one connected polygon.
    """
    n = 400
    cell = 2 * HALF_M / n
    xs = -HALF_M + (np.arange(n) + 0.5) * cell
    X, Y = np.meshgrid(xs, xs[::-1])
    gens = [(c, p) for c, p in towns.items()] + [("Hanbin", np.array([22_000.0, 14_000.0])),
                                                 ("Hanbin", np.array([22_000.0, -16_000.0])),
                                                 ("Hanbin", np.array([8_000.0, 22_000.0]))]
    noise = spectral_noise(rng, n, 4.0) * 3_000.0 + spectral_noise(rng, n, 2.8, kmin=4.0) * 1_200.0
    d = np.stack([np.hypot(X - p[0], Y - p[1]) for _, p in gens])
    d[0] *= 0.85                                          # the seat district is the largest
    lab_gen = np.argmin(d + noise[None] * np.linspace(0.6, 1.4, len(gens))[:, None, None], axis=0)
    names = list(COUNTIES)
    lab = np.array([names.index(gens[i][0]) for i in range(len(gens))])[lab_gen].astype(np.int32)
    # Keep the largest connected piece of each county; give stray pieces to the neighbour.
    for k in range(len(names)):
        comp, nc = ndimage.label(lab == k)
        if nc > 1:
            sizes = ndimage.sum(np.ones_like(comp), comp, index=np.arange(1, nc + 1))
            keep = 1 + int(np.argmax(sizes))
            stray = (comp > 0) & (comp != keep)
            grown = ndimage.grey_dilation(np.where(stray, -1, lab), size=3)
            lab[stray] = grown[stray] if np.all(grown[stray] != k) else (k + 1) % len(names)
    tr = from_origin(WEST, NORTH, cell, cell)
    polys = {k: [] for k in range(len(names))}
    for geom, val in raster_shapes(lab, transform=tr):
        polys[int(val)].append(shape(geom))
    geoms = [unary_union(polys[k]) for k in range(len(names))]
    geoms = [g if g.geom_type == "Polygon" else max(g.geoms, key=lambda q: q.area) for g in geoms]
    geoms = list(shapely.coverage_simplify(np.array(geoms, dtype=object), cell * 1.5))
    geoms = [shapely.set_precision(g, 1.0) for g in geoms]
    return gpd.GeoDataFrame({"admin_unit": names, "name_zh": [COUNTIES[c][0] for c in names]},
                            geometry=geoms, crs=EPSG)


def admin_of(admin: gpd.GeoDataFrame, x_local, y_local) -> list[str]:
    """County name for local points (nearest county if on a boundary)."""
    ux, uy = to_utm(x_local, y_local)
    pts = gpd.GeoSeries(gpd.points_from_xy(ux, uy), crs=EPSG)
    out = []
    for p in pts:
        inside = admin.geometry.covers(p)
        out.append(admin.admin_unit[inside.idxmax()] if inside.any()
                   else admin.admin_unit[admin.geometry.distance(p).idxmin()])
    return out


# --------------------------------------------------------------------------------------------------
# Zones with mandatory 5G
# --------------------------------------------------------------------------------------------------
def _ellipse(c, a, b, angle, n=48):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ca, sa = math.cos(angle), math.sin(angle)
    x = a * np.cos(t)
    y = b * np.sin(t)
    return np.column_stack([c[0] + ca * x - sa * y, c[1] + sa * x + ca * y])


def _valley_angle(river_list, p):
    best = None
    for r in river_list[:4]:
        d = np.hypot(*(r.xy - p).T)
        i = int(np.argmin(d))
        if best is None or d[i] < best[0]:
            j0, j1 = max(i - 5, 0), min(i + 5, len(r.xy) - 1)
            v = r.xy[j1] - r.xy[j0]
            best = (d[i], math.atan2(v[1], v[0]))
    return best[1]


def zones(towns: dict[str, np.ndarray], river_list: list[River]) -> pd.DataFrame:
    """Mandatory-5G polygons: city centre, each county-town centre, two industrial parks, a government
    compound. Ellipses aligned with the valley, 0.3-3.5 km^2 each (local metres)."""
    hb = towns["Hanbin"]
    ang = _valley_angle(river_list, hb)
    along = np.array([math.cos(ang), math.sin(ang)])
    across = np.array([-along[1], along[0]])
    rows = [("Z01", "Ankang city centre", "city_centre", hb, 1_300.0, 800.0)]
    zh = {"Shiquan": "Shiquan", "Hanyin": "Hanyin", "Ziyang": "Ziyang", "Langao": "Langao"}
    for k, t in enumerate(zh, start=2):
        rows.append((f"Z{k:02d}", f"{zh[t]} county town centre", "county_town", towns[t], 650.0, 420.0))
    rows.append(("Z06", "Ankang High-tech Industrial Park", "industrial_park", hb + 4_200.0 * along - 300.0 * across, 1_100.0, 550.0))
    yue = next(r for r in river_list if r.name == "Yue He")
    hk = yue.xy[0] + np.array([600.0, 300.0])
    rows.append(("Z07", "Hengkou Industrial Park", "industrial_park", hk, 800.0, 450.0))
    rows.append(("Z08", "Ankang Municipal Government Compound", "government", hb - 2_300.0 * along + 500.0 * across, 380.0, 260.0))
    out = []
    for zid, name, kind, c, a, b in rows:
        a_ = _valley_angle(river_list, c)
        out.append(dict(zone_id=zid, name=name, kind=kind, require_5g=True, cx=c[0], cy=c[1],
                        poly=Polygon(_ellipse(c, a, b, a_))))
    return pd.DataFrame(out)


# --------------------------------------------------------------------------------------------------
# Candidate sites
# --------------------------------------------------------------------------------------------------
class _Sites:
    """Accumulates candidate rows, enforcing gentle ground, the edge margin and a minimum spacing."""

    def __init__(self, rng, ter):
        self.rng, self.ter, self.rows = rng, ter, []
        self.xy = np.empty((0, 2))

    def add(self, kind, centre, radius, n, *, spacing=150.0, max_slope=25.0, max_hab=None,
            tries=60, **extra):
        """Place up to ``n`` sites of ``kind`` in a disc around ``centre``; returns how many."""
        lim = HALF_M - EDGE_MARGIN_M - 50.0
        placed = 0
        for _ in range(n):
            for _ in range(tries):
                r = radius * math.sqrt(self.rng.random())
                a = self.rng.uniform(0, 2 * math.pi)
                p = np.asarray(centre, float) + r * np.array([math.cos(a), math.sin(a)])
                if abs(p[0]) > lim or abs(p[1]) > lim:
                    continue
                if self.ter.sample("slope_deg", *p)[0] > max_slope:
                    continue
                if max_hab is not None and self.ter.sample("hab", *p)[0] > max_hab:
                    continue
                if len(self.xy) and np.min(np.hypot(*(self.xy - p).T)) < spacing:
                    continue
                self.rows.append(dict(kind=kind, x=p[0], y=p[1], **extra))
                self.xy = np.vstack([self.xy, p])
                placed += 1
                break
        return placed

    def add_exact(self, kind, p, **extra):
        self.rows.append(dict(kind=kind, x=float(p[0]), y=float(p[1]), **extra))
        self.xy = np.vstack([self.xy, p])


def _hilltops(ter: Terrain, villages: pd.DataFrame, rng) -> np.ndarray:
    """Local summits 150-900 m above a nearby valley floor, within 1-4 km of a village: sites that
    overlook valleys (the valuable ones for remote villages)."""
    z = ter.z
    peak = (z == ndimage.maximum_filter(z, size=31)) & (ter.hab > 150) & (ter.hab < 900)
    m = int(EDGE_MARGIN_M / DEM_CELL_M) + 2
    peak[:m] = peak[-m:] = False
    peak[:, :m] = peak[:, -m:] = False
    r, c = np.nonzero(peak)
    x = -HALF_M + (c + 0.5) * DEM_CELL_M
    y = HALF_M - (r + 0.5) * DEM_CELL_M
    vx, vy = villages.x.to_numpy(), villages.y.to_numpy()
    d = np.min(np.hypot(x[:, None] - vx[None], y[:, None] - vy[None]), axis=1)
    ok = (d > 800) & (d < 4_000)
    pts = np.column_stack([x[ok], y[ok]])
    return pts[rng.permutation(len(pts))]


def candidates(rng: np.random.Generator, ter: Terrain, st: Settlements, zn: pd.DataFrame,
               river_list: list[River]) -> pd.DataFrame:
    """Candidate sites where people are, plus the existing 4G/5G network.

    * existing_5g (10): city centre; existing_4g (40): city, towns, main valley, a few tributaries.
    * rooftops and lamp poles: city and towns (dense), lamp poles also along the main valley road.
    * public buildings: village committees / schools in most villages, government offices in towns.
    * water towers near villages and towns; existing third-party towers on low hills by valleys.
    * greenfield sites on hilltops overlooking valleys with villages (expensive, 150-300k CNY).
    * every mandatory-5G zone gets 5G-capable sites inside it.
    """
    s = _Sites(rng, ter)
    towns = st.towns
    hb = towns["Hanbin"]
    # Existing network first.
    s.add("existing_5g", hb, 1_500.0, 10, spacing=350.0, max_slope=15.0)
    s.add("existing_4g", hb, 4_500.0, 10, spacing=900.0, max_slope=20.0)
    for t, p in towns.items():
        if t != "Hanbin":
            s.add("existing_4g", p, 1_200.0, 2, spacing=600.0, max_slope=20.0)
    main = river_list[0]
    for f in np.linspace(0.04, 0.96, 17):
        p = main.at_fraction(f)
        if np.hypot(*(p - hb)) > 5_000:
            s.add("existing_4g", p, 600.0, 1, spacing=1_500.0, max_slope=25.0)
    n4 = sum(r["kind"] == "existing_4g" for r in s.rows)
    for r in river_list[1:4]:
        for f in (0.25, 0.85):
            if n4 < 40:
                n4 += s.add("existing_4g", r.at_fraction(f), 500.0, 1, spacing=1_500.0)
    while n4 < 40:
        p = main.at_fraction(rng.uniform(0.05, 0.95))
        n4 += s.add("existing_4g", p, 1_000.0, 1, spacing=1_500.0)

    # Zones: 5G-capable sites inside each polygon.
    for z in zn.itertuples():
        poly = z.poly
        k = 0
        for _ in range(400):
            if k >= (10 if z.kind == "city_centre" else 5):
                break
            minx, miny, maxx, maxy = poly.bounds
            p = np.array([rng.uniform(minx, maxx), rng.uniform(miny, maxy)])
            if not poly.contains(Point(p)) or (len(s.xy) and np.min(np.hypot(*(s.xy - p).T)) < 120):
                continue
            kind = ["rooftop", "lamp_pole", "public_building"][k % 3]
            s.add_exact(kind, p)
            k += 1

    # City and towns.
    s.add("rooftop", hb, 4_000.0, 110, spacing=200.0, max_slope=15.0, max_hab=150)
    s.add("lamp_pole", hb, 4_500.0, 120, spacing=200.0, max_slope=12.0, max_hab=120)
    s.add("public_building", hb, 4_000.0, 30, spacing=250.0, max_slope=15.0)
    s.add("water_tower", hb, 5_000.0, 8, spacing=500.0)
    for t, p in towns.items():
        if t == "Hanbin":
            continue
        s.add("rooftop", p, 1_500.0, 18, spacing=180.0, max_slope=15.0, max_hab=150)
        s.add("lamp_pole", p, 1_600.0, 18, spacing=180.0, max_slope=12.0, max_hab=120)
        s.add("public_building", p, 1_500.0, 8, spacing=200.0, max_slope=15.0)
        s.add("water_tower", p, 2_000.0, 3, spacing=400.0)
    # Lamp poles along the main-valley road (G316) and the named tributary roads.
    for r in river_list[:4]:
        for f in np.linspace(0.02, 0.98, 50 if r.order == 0 else 14):
            p = r.at_fraction(f)
            if np.min(np.hypot(*(np.array(list(towns.values())) - p).T)) > 2_000:
                s.add("lamp_pole", p, 400.0, 1, spacing=500.0, max_slope=15.0, max_hab=60)
    # Villages: committee building / school, some water towers, some rooftops.
    v = st.villages
    for row in v.itertuples():
        must = row.poverty_village or row.relocation_site
        if must or rng.random() < 0.75:
            s.add("public_building", (row.x, row.y), 250.0, 1, spacing=100.0, max_slope=28.0)
        if rng.random() < 0.15:
            s.add("water_tower", (row.x, row.y), 500.0, 1, spacing=150.0, max_slope=30.0)
        if row.population > 1_200 and rng.random() < 0.5:
            s.add("rooftop", (row.x, row.y), 300.0, 1, spacing=120.0, max_slope=25.0)
    # Existing third-party towers (China Tower, broadcast, power) on low hills beside valleys.
    hills = _hilltops(ter, v, rng)
    low = hills[ter.sample("hab", hills[:, 0], hills[:, 1]) < 450]
    for p in low[:70]:
        s.add("existing_tower", p, 60.0, 1, spacing=800.0, max_slope=40.0)
    high = hills[ter.sample("hab", hills[:, 0], hills[:, 1]) >= 300]
    for p in high[:110]:
        s.add("greenfield", p, 60.0, 1, spacing=800.0, max_slope=45.0)

    df = pd.DataFrame(s.rows)
    n = len(df)
    # Attributes.
    h = np.empty(n)
    capex = np.empty(n)
    opex = np.empty(n)
    for kind, ((h0, h1), (c0, c1), (o0, o1)) in CANDIDATE_SPECS.items():
        m = (df.kind == kind).to_numpy()
        h[m] = rng.uniform(h0, h1, m.sum())
        capex[m] = rng.uniform(c0, c1, m.sum())
        opex[m] = rng.uniform(o0, o1, m.sum())
    # Remote greenfield and towers cost more (access road, power line).
    md = ter.sample("main_dist", df.x.to_numpy(), df.y.to_numpy())
    remote = np.clip(md / 20_000.0, 0, 1)
    gf = (df.kind == "greenfield").to_numpy()
    capex[gf] = np.clip(150_000 + 150_000 * (0.6 * remote[gf] + 0.4 * rng.random(gf.sum())), 150_000, 300_000)
    df["antenna_height_m"] = np.round(h, 1)
    df["capex_cny"] = np.round(capex, -2)
    df["opex_cny_per_year"] = np.round(opex, -2)
    tech = np.where(df.kind == "lamp_pole", "5G", "4G,5G").astype(object)
    old = ((df.kind == "existing_tower") & (rng.random(n) < 0.3)) | ((df.kind == "existing_4g") & (rng.random(n) < 0.2))
    tech[old.to_numpy()] = "4G"
    df["technologies"] = tech
    # About a dozen public sites offered free by the government (capex 0).
    pub = np.flatnonzero((df.kind == "public_building").to_numpy())
    free = np.zeros(n, bool)
    free[rng.choice(pub, 12, replace=False)] = True
    df["free_public"] = free
    df.loc[free, "capex_cny"] = 0.0
    # A handful of hard-to-build legacy sites (landlord disputes, no power, protected area).
    pool = np.flatnonzero(df.kind.isin(["existing_tower", "rooftop", "greenfield", "water_tower"]).to_numpy() & ~free)
    diff = np.zeros(n, bool)
    diff[rng.choice(pool, 8, replace=False)] = True
    df["difficult"] = diff
    df["extra_cost_cny"] = np.where(diff, np.round(rng.uniform(100_000, 400_000, n), -3), 0.0)
    # Stable order: existing network first, then by kind, then west -> east.
    order = {k: i for i, k in enumerate(["existing_5g", "existing_4g", "existing_tower", "rooftop",
                                         "public_building", "water_tower", "lamp_pole", "greenfield"])}
    df["_o"] = df.kind.map(order)
    df = df.sort_values(["_o", "x", "y"], kind="stable").drop(columns="_o").reset_index(drop=True)
    df.insert(0, "site_id", [f"S{i + 1:04d}" for i in range(len(df))])
    return df


# --------------------------------------------------------------------------------------------------
# Complaints
# --------------------------------------------------------------------------------------------------
COMPLAINT_TEXTS = [
    "no 4G signal indoors", "calls drop in the valley", "no signal at home, must climb the hill to call",
    "mobile data too slow for video lessons", "cannot make emergency calls", "signal only on the road",
    "weak signal at the village clinic", "no coverage at the school", "4G drops to 2G at night",
    "cannot use mobile payment at the market", "no signal in the new resettlement housing",
    "weak signal indoors in high-rise", "no 5G at the factory", "live-streaming sales impossible",
]


def complaints(rng: np.random.Generator, st: Settlements, cand: pd.DataFrame, ter: Terrain,
               n: int = 40) -> pd.DataFrame:
    """~40 weak-signal complaints: mostly at villages far from the existing network or deep in
    tributary valleys (ridge-shadowed), a few in the city (indoor, high-rise)."""
    v = st.villages
    ex = cand[cand.kind.isin(["existing_4g", "existing_5g"])][["x", "y"]].to_numpy()
    d_ex = np.min(np.hypot(v.x.to_numpy()[:, None] - ex[:, 0], v.y.to_numpy()[:, None] - ex[:, 1]), axis=1)
    # Valley depth: how far the terrain 1.5 km around rises above the village.
    zmax = ndimage.maximum_filter(ter.z, size=101)
    depth = ndimage.map_coordinates(zmax, rc_of(v.x.to_numpy(), v.y.to_numpy()), order=0) - v.elev.to_numpy()
    score = np.clip(d_ex / 6_000.0, 0, 1.5) + np.clip(depth / 800.0, 0, 1) + 0.5 * rng.random(len(v))
    # Only where a candidate site could serve them (a site within 1 km), so every complaint is fixable.
    cx, cy = cand.x.to_numpy(), cand.y.to_numpy()
    d_c = np.array([np.min(np.hypot(cx - x, cy - y)) for x, y in zip(v.x, v.y)])
    score[d_c > 1_000.0] = -np.inf
    pick = np.argsort(-score, kind="stable")[: n - 4]
    rows = []
    for i in pick:
        p = np.array([v.x.iat[i], v.y.iat[i]]) + rng.normal(0, 200.0, 2)
        text = COMPLAINT_TEXTS[10] if v.relocation_site.iat[i] else COMPLAINT_TEXTS[int(rng.integers(0, 10))]
        rows.append(dict(x=p[0], y=p[1], description=text,
                         people=int(np.clip(rng.integers(5, 201), 5, min(200, v.population.iat[i])))))
    hb = st.towns["Hanbin"]
    for k in range(4):
        p = hb + rng.normal(0, 1_200.0, 2)
        rows.append(dict(x=p[0], y=p[1], description=COMPLAINT_TEXTS[11 + k % 3],
                         people=int(rng.integers(20, 201))))
    df = pd.DataFrame(rows)
    df = df.sort_values(["x", "y"], kind="stable").reset_index(drop=True)
    df.insert(0, "complaint_id", [f"C{i + 1:03d}" for i in range(len(df))])
    return df


# --------------------------------------------------------------------------------------------------
# Population raster
# --------------------------------------------------------------------------------------------------
def population_raster(rng: np.random.Generator, ter: Terrain, st: Settlements,
                      river_list: list[River], dispersed_total: float = 95_000.0) -> np.ndarray:
    """People per 100 m cell: city + county towns + villages + dispersed valley households.

    Each settlement's population is spread with a Gaussian kernel weighted by habitability
    (gentle slope, low above the valley floor) and renormalised, so each village's population is
    exactly what the raster holds around it. Cells on steep slopes (> 30 deg) or > 700 m above the
    valley floor are zero.
    """
    i = np.arange(POP_N)
    xc = -HALF_M + (i + 0.5) * POP_CELL_M
    yc = HALF_M - (i + 0.5) * POP_CELL_M
    X, Y = np.meshgrid(xc, yc)
    slope_s = ndimage.gaussian_filter(ter.slope_deg, 1.5)
    r, c = rc_of(X, Y)
    slope = ndimage.map_coordinates(slope_s, [r, c], order=1, mode="nearest")
    hab = ndimage.map_coordinates(ter.hab, [r, c], order=1, mode="nearest")
    rdist = ndimage.map_coordinates(ter.river_dist, [r, c], order=1, mode="nearest")
    habitable = np.clip((30.0 - slope) / 18.0, 0.0, 1.0) * (hab < 700.0)
    pop = np.zeros((POP_N, POP_N))

    def paint(p, total, sigmas, shares, hab_scale):
        k = np.zeros_like(pop)
        for sg, sh in zip(sigmas, shares):
            k += sh * np.exp(-((X - p[0]) ** 2 + (Y - p[1]) ** 2) / (2 * sg * sg))
        k *= habitable * np.exp(-np.maximum(hab, 0) / hab_scale)
        k[k < 1e-4 * k.max()] = 0.0
        pop[:] += total * k / k.sum()

    for t, p in st.towns.items():
        total = COUNTIES[t][3]
        if t == "Hanbin":
            paint(p, total, (900.0, 2_500.0), (0.6, 0.4), 120.0)
        else:
            paint(p, total, (450.0, 1_100.0), (0.6, 0.4), 120.0)
    for v in st.villages.itertuples():
        paint((v.x, v.y), float(v.population), (180.0,), (1.0,), 300.0)
    w = habitable * np.exp(-rdist / 450.0) * np.exp(-np.maximum(hab, 0) / 200.0)
    w *= np.exp(0.6 * spectral_noise(rng, POP_N, 2.0))
    w[rdist > 2_500] = 0.0
    pop += dispersed_total * w / w.sum()
    return pop.astype(np.float32)


# --------------------------------------------------------------------------------------------------
# Writers (temp file, then rename)
# --------------------------------------------------------------------------------------------------
def _tmp_in(out: Path, name: str) -> Path:
    fd, p = tempfile.mkstemp(prefix=f".{name}.", suffix=Path(name).suffix, dir=out)
    os.close(fd)
    os.unlink(p)
    return Path(p)


def write_dem(path: Path, z: np.ndarray) -> None:
    """Int16 GeoTIFF, 256x256 tiles, DEFLATE + horizontal differencing predictor."""
    tmp = _tmp_in(path.parent, path.name)
    profile = dict(driver="GTiff", width=DEM_N, height=DEM_N, count=1, dtype="int16", crs=f"EPSG:{EPSG}",
                   transform=from_origin(WEST, NORTH, DEM_CELL_M, DEM_CELL_M), nodata=-32768,
                   tiled=True, blockxsize=256, blockysize=256, compress="deflate", predictor=2, zlevel=9)
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(z.astype(np.int16), 1)
        dst.update_tags(AREA_OR_POINT="Area", units="m")
        dst.set_band_description(1, "elevation_m")
    os.replace(tmp, path)


def write_population(path: Path, pop: np.ndarray) -> None:
    """float32 GeoTIFF, people per 100 m cell, no nodata, DEFLATE + floating-point predictor."""
    tmp = _tmp_in(path.parent, path.name)
    profile = dict(driver="GTiff", width=POP_N, height=POP_N, count=1, dtype="float32", crs=f"EPSG:{EPSG}",
                   transform=from_origin(WEST, NORTH, POP_CELL_M, POP_CELL_M), nodata=None,
                   tiled=True, blockxsize=256, blockysize=256, compress="deflate", predictor=3, zlevel=9)
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(pop, 1)
        dst.update_tags(units="people per cell")
        dst.set_band_description(1, "population")
    os.replace(tmp, path)


#: Existing sites this close to a town centre have fiber today [m].
FIBER_TOWN_RADIUS_M = 3_000.0
#: Road vertices are rounded to this many decimals [m], like the points.
ROAD_DECIMALS = 1


def roads(river_list: list[River]) -> gpd.GeoDataFrame:
    """A road along every river valley, from its mouth (on its parent's road) to its source.

    Rivers are drawn from their parent's vertices, so each road starts on its parent's road
    and the network is connected. No random draw: the other layers stay as they were.
    """
    lines = [LineString(np.round(np.column_stack(to_utm(*r.xy.T)), ROAD_DECIMALS))
             for r in river_list]
    return gpd.GeoDataFrame({"road_id": [f"R{i + 1:02d}" for i in range(len(river_list))],
                             "name": [f"{r.name} road" for r in river_list]},
                            geometry=lines, crs=EPSG)


def fiber_nodes(towns: dict[str, np.ndarray]) -> gpd.GeoDataFrame:
    """The fiber exchanges: one at each town centre (prefecture seat and county towns)."""
    xy = np.array(list(towns.values()))
    ux, uy = to_utm(xy[:, 0], xy[:, 1])
    return gpd.GeoDataFrame({"node_id": [f"FX-{name}" for name in towns],
                             "name": [f"{name} exchange" for name in towns]},
                            geometry=gpd.points_from_xy(np.round(ux, 1), np.round(uy, 1)), crs=EPSG)


def has_fiber(cand: pd.DataFrame, towns: dict[str, np.ndarray]) -> np.ndarray:
    """Existing sites within ``FIBER_TOWN_RADIUS_M`` of a town centre have fiber today."""
    xy = np.array(list(towns.values()))
    distance = np.hypot(cand.x.to_numpy()[:, None] - xy[:, 0], cand.y.to_numpy()[:, None] - xy[:, 1])
    existing = cand.kind.isin(["existing_4g", "existing_5g"]).to_numpy()
    return existing & (distance.min(axis=1) <= FIBER_TOWN_RADIUS_M)


def _points(df: pd.DataFrame, cols: list[str]) -> gpd.GeoDataFrame:
    ux, uy = to_utm(df.x.to_numpy(), df.y.to_numpy())
    return gpd.GeoDataFrame(df[cols].reset_index(drop=True),
                            geometry=gpd.points_from_xy(np.round(ux, 1), np.round(uy, 1)), crs=EPSG)


def write_gpkg(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    """All vector layers into one GeoPackage with a fixed timestamp (byte-reproducible)."""
    tmp = _tmp_in(path.parent, path.name)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})
    try:
        for i, (name, gdf) in enumerate(layers.items()):
            pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG", append=i > 0)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------
def build(out: Path, seed: int = DEFAULT_SEED) -> dict:
    """Generate every file into ``out``; return a summary dictionary."""
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    river_list = rivers(rng)
    towns = town_centres(river_list)
    set_valley_widths(river_list, towns)
    ter = terrain(rng, river_list)
    st = settlements(rng, river_list, ter, towns)
    adm = admin_units(rng, towns)
    zn = zones(towns, river_list)
    cand = candidates(rng, ter, st, zn, river_list)
    comp = complaints(rng, st, cand, ter)
    pop = population_raster(rng, ter, st, river_list)

    v = st.villages.sort_values(["x", "y"], kind="stable").reset_index(drop=True)
    v.insert(0, "village_id", [f"V{i + 1:04d}" for i in range(len(v))])
    v["admin_unit"] = admin_of(adm, v.x, v.y)
    cand["admin_unit"] = admin_of(adm, cand.x, cand.y)
    cand["has_fiber"] = has_fiber(cand, towns)
    comp["admin_unit"] = admin_of(adm, comp.x, comp.y)
    zgeom = [affinity.translate(p, CENTRE_X, CENTRE_Y) for p in zn.poly]
    zgeom = [Polygon(np.round(np.asarray(g.exterior.coords), 1)) for g in zgeom]
    layers = {
        "villages": _points(v, ["village_id", "name", "population", "admin_unit", "poverty_village",
                                "relocation_site"]),
        "complaints": _points(comp, ["complaint_id", "admin_unit", "description", "people"]),
        "candidates": _points(cand, ["site_id", "kind", "antenna_height_m", "capex_cny", "opex_cny_per_year",
                                     "free_public", "difficult", "extra_cost_cny", "technologies",
                                     "admin_unit", "has_fiber"]),
        "zones": gpd.GeoDataFrame(zn[["zone_id", "name", "kind", "require_5g"]], geometry=zgeom, crs=EPSG),
        "admin_units": adm,
        "roads": roads(river_list),
        "fiber_nodes": fiber_nodes(towns),
    }
    write_dem(out / "dem.tif", ter.z)
    write_population(out / "population.tif", pop)
    write_gpkg(out / "region.gpkg", layers)

    files = {f: (out / f).stat().st_size for f in ("dem.tif", "population.tif", "region.gpkg")}
    return dict(
        seed=seed, seconds=time.perf_counter() - t0,
        elevation_min_m=float(ter.z.min()), elevation_max_m=float(ter.z.max()),
        relief_m=float(ter.z.max() - ter.z.min()),
        population_total=float(pop.astype(np.float64).sum()),
        village_population=int(v.population.sum()),
        n_villages=len(v), n_poverty=int(v.poverty_village.sum()), n_relocation=int(v.relocation_site.sum()),
        n_complaints=len(comp), n_candidates=len(cand),
        candidates_by_kind=cand.kind.value_counts().sort_index().to_dict(),
        n_free_public=int(cand.free_public.sum()), n_difficult=int(cand.difficult.sum()),
        n_has_fiber=int(cand.has_fiber.sum()), n_roads=len(river_list), n_fiber_nodes=len(towns),
        zones={r.zone_id: f"{r.name} ({g.area / 1e6:.2f} km2)" for r, g in zip(zn.itertuples(), zgeom)},
        admin_units={r.admin_unit: f"{r.geometry.area / 1e6:.0f} km2" for r in adm.itertuples()},
        villages_by_admin=v.admin_unit.value_counts().sort_index().to_dict(),
        files={f: f"{b / 1e6:.2f} MB" for f, b in files.items()},
        sha256={f: hashlib.sha256((out / f).read_bytes()).hexdigest()[:16] for f in files},
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "demo")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args(argv)
    summary = build(args.out, args.seed)
    for k, val in summary.items():
        if isinstance(val, dict):
            print(f"{k}:")
            for kk, vv in val.items():
                print(f"  {kk}: {vv}")
        elif isinstance(val, float):
            print(f"{k}: {val:,.1f}")
        else:
            print(f"{k}: {val}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

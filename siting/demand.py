"""Demand: the points a plan must or should cover, with the people they stand for.

Four kinds of demand point, one row each in the coverage matrix:

- ``cell``: the population raster summed into square cells of ``grid_m``; the point is the
  population-weighted centroid of the cell, its weight the people in it. People KPIs and the
  max-coverage objective count these rows only, so nobody is counted twice.
- ``village``: each village point; weight 0 (its people are already in the raster), mandatory
  when the scenario's rules say so (poverty village, relocation site, all villages).
- ``complaint``: weak-signal complaint points; weight 0, mandatory when the rules say so.
- ``zone``: check points every ``zone_sample_m`` inside each zone that requires 5G (city
  centre, county towns, industrial parks, government); weight 0, mandatory, 5G only.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from siting.config import DemandRules
from siting.io import RegionData

DEMAND_KINDS = ("cell", "village", "complaint", "zone")


@dataclass(frozen=True)
class Demand:
    """n demand points in the run's CRS, as parallel arrays."""

    x_m: np.ndarray
    y_m: np.ndarray
    people: np.ndarray  # weight in the objective [persons]; 0 for point constraints
    mandatory: np.ndarray  # bool
    require_5g: np.ndarray  # bool: only a 5G option covers this row
    kind: np.ndarray  # str, one of DEMAND_KINDS
    ref_id: np.ndarray  # str: cell id, village_id, complaint_id or zone_id
    admin_unit: np.ndarray  # str, "" when unknown

    def __len__(self) -> int:
        return len(self.x_m)


def population_cells(people: np.ndarray, transform, grid_m: float, min_people: float):
    """Sum a population raster into square cells of about ``grid_m``.

    Returns x [m], y [m] (people-weighted centroids), people per cell and the cell ids, for
    cells with at least ``min_people`` people.
    """
    pixel_m = abs(transform.a)
    factor = max(1, int(round(grid_m / pixel_m)))
    rows, cols = people.shape
    pad_r, pad_c = (-rows) % factor, (-cols) % factor
    padded = np.pad(people, ((0, pad_r), (0, pad_c)))
    r_idx, c_idx = np.indices(padded.shape, dtype=np.float64)
    xs = transform.c + (c_idx + 0.5) * transform.a
    ys = transform.f + (r_idx + 0.5) * transform.e

    def block_sum(a):
        return a.reshape(padded.shape[0] // factor, factor, padded.shape[1] // factor, factor).sum(axis=(1, 3))

    total = block_sum(padded)
    keep = total >= max(min_people, 1e-9)
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = block_sum(padded * xs)[keep] / total[keep]
        cy = block_sum(padded * ys)[keep] / total[keep]
    br, bc = np.nonzero(keep)
    ids = np.array([f"cell_{r}_{c}" for r, c in zip(br, bc)], dtype=object)
    return cx, cy, total[keep], ids


def _zone_points(zones: gpd.GeoDataFrame, spacing_m: float):
    """Regular check points inside each 5G zone, plus one representative point per zone."""
    xs, ys, ids = [], [], []
    for zone_id, geom in zones.geometry.items():
        xmin, ymin, xmax, ymax = geom.bounds
        gx, gy = np.meshgrid(np.arange(xmin + spacing_m / 2, xmax, spacing_m),
                             np.arange(ymin + spacing_m / 2, ymax, spacing_m))
        grid = shapely.points(gx.ravel(), gy.ravel())
        inside = grid[shapely.contains(geom, grid)]
        points = [geom.representative_point(), *inside]
        xs += [p.x for p in points]
        ys += [p.y for p in points]
        ids += [zone_id] * len(points)
    return np.array(xs), np.array(ys), np.array(ids, dtype=object)


def _admin_of(x, y, admin_units: gpd.GeoDataFrame | None) -> np.ndarray:
    if admin_units is None or len(x) == 0:
        return np.full(len(x), "", dtype=object)
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=admin_units.crs)
    joined = gpd.sjoin(points, admin_units[["admin_unit", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["admin_unit"].fillna("").to_numpy(dtype=object)


def build_demand(region: RegionData, rules: DemandRules) -> Demand:
    """Assemble every demand row of a run (see the module docstring for the four kinds)."""
    terrain = region.terrain
    cx, cy, cpeople, cids = population_cells(region.population, region.population_transform,
                                             rules.grid_m, rules.min_people_per_cell)
    on_dem = terrain.contains(cx, cy)
    cx, cy, cpeople, cids = cx[on_dem], cy[on_dem], cpeople[on_dem], cids[on_dem]
    parts = [dict(x=cx, y=cy, people=cpeople, mandatory=np.zeros(len(cx), bool),
                  require_5g=np.zeros(len(cx), bool), kind="cell", ids=cids,
                  admin=_admin_of(cx, cy, region.admin_units))]

    v = region.villages
    v_mandatory = np.full(len(v), rules.mandatory_all_villages)
    if rules.mandatory_poverty_villages:
        v_mandatory |= v["poverty_village"].to_numpy(bool)
    if rules.mandatory_relocation_sites:
        v_mandatory |= v["relocation_site"].to_numpy(bool)
    v_admin = (v["admin_unit"].to_numpy(dtype=object) if "admin_unit" in v
               else _admin_of(v.geometry.x.to_numpy(), v.geometry.y.to_numpy(), region.admin_units))
    parts.append(dict(x=v.geometry.x.to_numpy(), y=v.geometry.y.to_numpy(), people=np.zeros(len(v)),
                      mandatory=v_mandatory, require_5g=np.zeros(len(v), bool), kind="village",
                      ids=v.index.to_numpy(dtype=object), admin=v_admin))

    if region.complaints is not None:
        c = region.complaints
        cx_, cy_ = c.geometry.x.to_numpy(), c.geometry.y.to_numpy()
        parts.append(dict(x=cx_, y=cy_, people=np.zeros(len(c)),
                          mandatory=np.full(len(c), rules.mandatory_complaints),
                          require_5g=np.zeros(len(c), bool), kind="complaint",
                          ids=c.index.to_numpy(dtype=object),
                          admin=_admin_of(cx_, cy_, region.admin_units)))

    if region.zones is not None:
        zones = region.zones[region.zones["require_5g"]]
        zx, zy, zids = _zone_points(zones, rules.zone_sample_m)
        inside = terrain.contains(zx, zy)
        zx, zy, zids = zx[inside], zy[inside], zids[inside]
        parts.append(dict(x=zx, y=zy, people=np.zeros(len(zx)), mandatory=np.ones(len(zx), bool),
                          require_5g=np.ones(len(zx), bool), kind="zone", ids=zids,
                          admin=_admin_of(zx, zy, region.admin_units)))

    def cat(key, dtype=None):
        return np.concatenate([np.asarray(p[key], dtype=dtype) for p in parts])

    return Demand(
        x_m=cat("x", float), y_m=cat("y", float), people=cat("people", float),
        mandatory=cat("mandatory", bool), require_5g=cat("require_5g", bool),
        kind=np.concatenate([np.full(len(p["x"]), p["kind"], dtype=object) for p in parts]),
        ref_id=cat("ids", object), admin_unit=cat("admin", object),
    )

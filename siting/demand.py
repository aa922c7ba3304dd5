"""Demand: the points a plan must or should cover, with the people they stand for.

Four kinds of demand point, one row each in the coverage matrix:

- ``cell``: the population raster (when the scenario has one) summed into square cells of
  ``grid_m``; the point is the population-weighted centroid of the cell, its weight the people
  in it less the listed population of the villages inside it (never below 0). The raster is
  read and summed a band of whole cells at a time, so a province-size raster is never held
  whole.
- ``village``: each village point, weighted by its listed population, mandatory when the
  scenario's rules say so (poverty village, relocation site, all villages).

Villages and cells share the people without counting anyone twice: a village's listed
population is taken out of the cell it lies in, so a cell holds the people the list does not
name (scattered houses), and a village the raster misses still counts its people. Each demand
cell thus counts max(raster people, listed village people). People KPIs and the max-coverage
objective sum the weights of all rows.
- ``complaint``: weak-signal complaint points; weight 0, mandatory when the rules say so.
- ``zone``: check points every ``zone_sample_m`` inside each zone that requires 5G (city
  centre, county towns, industrial parks, government); weight 0, mandatory, 5G only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely

from siting.config import DemandRules
from siting.io import POPULATION_BAND_CELLS, PopulationRaster, RegionData

DEMAND_KINDS = ("cell", "village", "complaint", "zone")

logger = logging.getLogger(__name__)


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
    servers_needed: np.ndarray | None = None  # int: options a mandatory row needs (None: 1 each)
    # the generations a mandatory row other than a 5G zone's check point must get, an option
    # of each ("any": one option of any generation), ``demand.mandatory.generations``
    mandatory_generations: tuple[str, ...] = ("any",)

    def required_servers(self) -> np.ndarray:
        """Servers each row must be covered by: 0 for optional rows, 1 for mandatory ones, k
        distinct sites for check points of zones that need backup coverage
        (:func:`siting.cover_rows.site_cover`)."""
        needed = 1 if self.servers_needed is None else self.servers_needed
        return np.where(self.mandatory, needed, 0).astype(np.int64)

    def __len__(self) -> int:
        return len(self.x_m)


def _block_sum(values: np.ndarray, factor: int) -> np.ndarray:
    """Sums over ``factor`` x ``factor`` blocks of an array whose sides are multiples of it."""
    rows, cols = values.shape
    return values.reshape(rows // factor, factor, cols // factor, factor).sum(axis=(1, 3))


def grid_factor(raster: PopulationRaster, grid_m: float) -> int:
    """Raster cells per side of a demand cell of about ``grid_m``."""
    return max(1, int(round(grid_m / abs(raster.transform.a))))


def cell_ids(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The ids ``cell_<row>_<col>`` of demand cells by their row and column in the demand grid."""
    return np.array([f"cell_{r}_{c}" for r, c in zip(rows, cols)], dtype=object)


def _band_cells(people: np.ndarray, first_row: int, transform, factor: int, min_people: float):
    """:func:`population_cells` of one band of the raster starting at ``first_row`` (a multiple
    of ``factor``)."""
    rows, cols = people.shape
    padded = np.pad(people, ((0, (-rows) % factor), (0, (-cols) % factor)))
    r_idx = np.arange(first_row, first_row + padded.shape[0], dtype=np.float64)[:, None]
    c_idx = np.arange(padded.shape[1], dtype=np.float64)[None, :]
    xs = transform.c + (c_idx + 0.5) * transform.a
    ys = transform.f + (r_idx + 0.5) * transform.e
    total = _block_sum(padded, factor)
    keep = total >= max(min_people, 1e-9)
    cx = _block_sum(padded * xs, factor)[keep] / total[keep]
    cy = _block_sum(padded * ys, factor)[keep] / total[keep]
    br, bc = np.nonzero(keep)
    return cx, cy, total[keep], cell_ids(br + first_row // factor, bc)


def population_cells(raster: PopulationRaster, grid_m: float, min_people: float, *,
                     band_cells: int = POPULATION_BAND_CELLS):
    """Sum a population raster into square cells of about ``grid_m``, a band of about
    ``band_cells`` raster cells (whole demand cells) at a time.

    Returns x [m], y [m] (people-weighted centroids), people per cell and the cell ids
    (``cell_<row>_<col>`` of the demand grid), for cells with at least ``min_people`` people,
    row by row. The result does not depend on ``band_cells``.
    """
    factor = grid_factor(raster, grid_m)
    rows_per_band = raster.rows_per_band(band_cells, multiple=factor)
    parts = [_band_cells(band, first_row, raster.transform, factor, min_people)
             for first_row, band in raster.bands(rows_per_band)]
    return tuple(np.concatenate([part[k] for part in parts]) for k in range(4))


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


def _warn_zones_without_points(zone_ids: np.ndarray, on_dem: np.ndarray) -> None:
    """Warn about the 5G zones none of whose check points lies on the DEM's data: their
    requirement has no demand row to plan for."""
    lost = sorted(set(zone_ids.tolist()) - set(zone_ids[on_dem].tolist()))
    if lost:
        logger.warning("5G zone(s) %s keep no check point on the DEM's data (they lie on DEM "
                       "cells without data, or off the DEM): their 5G requirement is not "
                       "planned; fill the DEM there or move the zone(s)", ", ".join(map(str, lost)))


def _admin_of(x, y, admin_units: gpd.GeoDataFrame | None) -> np.ndarray:
    if admin_units is None or len(x) == 0:
        return np.full(len(x), "", dtype=object)
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=admin_units.crs)
    joined = gpd.sjoin(points, admin_units[["admin_unit", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["admin_unit"].fillna("").to_numpy(dtype=object)


def _cell_ids_of(x_m, y_m, raster: PopulationRaster, grid_m: float) -> np.ndarray:
    """The id of the demand cell (as :func:`population_cells` names them) holding each point."""
    to_cell = ~(raster.transform @ rasterio.Affine.scale(grid_factor(raster, grid_m)))
    x_m, y_m = np.asarray(x_m, float), np.asarray(y_m, float)
    col = to_cell.a * x_m + to_cell.b * y_m + to_cell.c
    row = to_cell.d * x_m + to_cell.e * y_m + to_cell.f
    return cell_ids(np.floor(row).astype(int), np.floor(col).astype(int))


def _log_nodata_cells(region: RegionData, x_m, y_m, people) -> None:
    """Warn about the population cells that lie on the DEM's nodata cells: they are left out
    of the demand, as cells off the DEM are."""
    on_nodata = region.on_nodata(x_m, y_m)
    if on_nodata.any():
        logger.warning("%d population cell(s) holding %.0f people lie on DEM cells without data "
                       "(nodata) and are left out of the demand; fill the DEM there to count them",
                       int(on_nodata.sum()), float(np.sum(people[on_nodata])))


def _cell_rows(region: RegionData, rules: DemandRules) -> dict:
    """The population cells on the DEM, less the listed people of the villages inside them."""
    cx, cy, cpeople, cids = population_cells(region.population_source, rules.grid_m,
                                             rules.min_people_per_cell)
    _log_nodata_cells(region, cx, cy, cpeople)
    on_dem = region.on_dem(cx, cy)
    cx, cy, cpeople, cids = cx[on_dem], cy[on_dem], cpeople[on_dem], cids[on_dem]
    v = region.villages
    listed = pd.Series(v["population"].to_numpy(float)).groupby(
        _cell_ids_of(v.geometry.x.to_numpy(), v.geometry.y.to_numpy(), region.population_source,
                     rules.grid_m)).sum()
    residual = np.maximum(cpeople - listed.reindex(cids, fill_value=0.0).to_numpy(), 0.0)
    return dict(x=cx, y=cy, people=residual, mandatory=np.zeros(len(cx), bool),
                require_5g=np.zeros(len(cx), bool), kind="cell", ids=cids,
                admin=_admin_of(cx, cy, region.admin_units))


def _village_admin(villages: gpd.GeoDataFrame, admin_units: gpd.GeoDataFrame | None) -> np.ndarray:
    """Each village's admin unit: the polygon it lies in, else its own admin_unit field."""
    by_polygon = _admin_of(villages.geometry.x.to_numpy(), villages.geometry.y.to_numpy(), admin_units)
    field = (villages["admin_unit"].to_numpy(dtype=object) if "admin_unit" in villages
             else np.full(len(villages), "", dtype=object))
    return np.where(by_polygon != "", by_polygon, field)


def build_demand(region: RegionData, rules: DemandRules) -> Demand:
    """Assemble every demand row of a run (see the module docstring for the four kinds)."""
    parts = [] if region.population_source is None else [_cell_rows(region, rules)]

    v = region.villages
    v_mandatory = np.full(len(v), rules.mandatory_all_villages)
    if rules.mandatory_poverty_villages:
        v_mandatory |= v["poverty_village"].to_numpy(bool)
    if rules.mandatory_relocation_sites:
        v_mandatory |= v["relocation_site"].to_numpy(bool)
    parts.append(dict(x=v.geometry.x.to_numpy(), y=v.geometry.y.to_numpy(),
                      people=v["population"].to_numpy(float), mandatory=v_mandatory,
                      require_5g=np.zeros(len(v), bool), kind="village",
                      ids=v.index.to_numpy(dtype=object), admin=_village_admin(v, region.admin_units)))

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
        inside = region.on_dem(zx, zy)
        _warn_zones_without_points(zids, inside)
        zx, zy, zids = zx[inside], zy[inside], zids[inside]
        backup = zones.index[zones["kind"].isin(rules.backup_zone_kinds)]
        servers = np.where(np.isin(zids, backup), rules.backup_servers, 1)
        parts.append(dict(x=zx, y=zy, people=np.zeros(len(zx)), mandatory=np.ones(len(zx), bool),
                          require_5g=np.ones(len(zx), bool), kind="zone", ids=zids,
                          admin=_admin_of(zx, zy, region.admin_units), servers=servers))

    def cat(key, dtype=None):
        return np.concatenate([np.asarray(p[key], dtype=dtype) for p in parts])

    return Demand(
        x_m=cat("x", float), y_m=cat("y", float), people=cat("people", float),
        mandatory=cat("mandatory", bool), require_5g=cat("require_5g", bool),
        kind=np.concatenate([np.full(len(p["x"]), p["kind"], dtype=object) for p in parts]),
        ref_id=cat("ids", object), admin_unit=cat("admin", object),
        servers_needed=np.concatenate([p.get("servers", np.ones(len(p["x"]), np.int64))
                                       for p in parts]).astype(np.int64),
        mandatory_generations=rules.mandatory_generations,
    )

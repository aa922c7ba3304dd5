"""Tables derived from a run: per-site, per-village and per-demand attributes with KPIs.

The GIS layers, the map, the report and the summary all read these tables, so every output
tells the same story. Every column a planner brings with the candidates and the villages
(a site's name, its county, a field of their own) is carried to the tables and so to
sites.gpkg, selected_sites.csv and sites.kml; an input column whose name a table computes
itself is kept as ``input_<name>``.

:func:`plan_tables` builds every table of a run once, with what the writers need besides
(:class:`PlanTables`); the writers of :mod:`siting.export` take that, not the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import rasterio
import shapely

from siting.config import Scenario, Technology
from siting.export.backhaul import backhaul_table
from siting.export.style import PLAN_ACTIONS
from siting.export.summary import summary_facts
from siting.io import is_existing
from siting.io.asbuilt import TECHNOLOGIES_JOINED
from siting.labels import OUTSIDE_ADMIN_UNITS
from siting.terrain import Terrain


def site_table(run) -> gpd.GeoDataFrame:
    """One row per candidate: its chosen option (if any), cost and people newly covered."""
    cand = run.region.candidates
    options = run.coverage.options
    costs = run.plan.costs
    selected = run.plan.selected
    frame = cand[[c for c in SITE_INPUT_COLUMNS if c in cand] + [cand.geometry.name]].copy()
    frame.insert(0, "site_id", cand.index.to_numpy())
    frame["existing"] = is_existing(cand)  # existing kinds and the as-built sites
    frame["selected"] = False
    frame["technology"] = ""  # every technology on air at the site in the plan
    frame["technology_built"] = ""  # those the plan builds there (an upgrade: the added one)
    frame["capex_cny"] = 0.0
    frame["opex_cny_per_year"] = 0.0
    frame["total_cost_cny"] = 0.0
    frame["people_served"] = 0.0
    frame["people_newly_covered"] = 0.0
    demand = run.demand
    serving = run.plan.serving_option
    newly = run.plan.covered_after & ~run.plan.covered_before
    people_served = np.bincount(serving[serving >= 0], weights=demand.people[serving >= 0],
                                minlength=len(options))
    people_new = np.bincount(serving[newly & (serving >= 0)],
                             weights=demand.people[newly & (serving >= 0)], minlength=len(options))
    for option in selected:
        position = options.at[option, "candidate"]
        row = frame.index[position]
        is_new = not costs.fixed[option]
        frame.at[row, "selected"] = True
        label = options.at[option, "technology"]
        frame.at[row, "technology"] = _joined(frame.at[row, "technology"], label)
        if is_new:
            frame.at[row, "technology_built"] = _joined(frame.at[row, "technology_built"], label)
        frame.at[row, "capex_cny"] += costs.capex_cny[option] if is_new else 0.0
        frame.at[row, "opex_cny_per_year"] += costs.opex_cny_per_year[option] if is_new else 0.0
        frame.at[row, "total_cost_cny"] += costs.total_cny[option] if is_new else 0.0
        frame.at[row, "people_served"] += people_served[option]
        frame.at[row, "people_newly_covered"] += people_new[option]
    frame["action"] = np.select(  # the conditions of build, upgrade and keep, in that order
        [frame["selected"] & ~frame["existing"], frame["existing"] & (frame["total_cost_cny"] > 0),
         frame["existing"]], list(PLAN_ACTIONS), default="")
    if run.plan.backhaul is not None:  # how each site on air is fed, and what that costs
        frame["backhaul"] = run.plan.backhaul.feeds.backhaul.astype(str)
        frame["backhaul_cost_cny"] = run.plan.backhaul.feeds.backhaul_cost_cny
    if run.plan.phase_labels:  # phased plan: the year each site is built or upgraded in
        frame["phase"] = ""
        for option in selected[run.plan.build_period[selected] >= 0]:
            row = frame.index[options.at[option, "candidate"]]
            frame.at[row, "phase"] = run.plan.phase_labels[run.plan.build_period[option]]
    return with_input_columns(frame, cand, ("site_id", *SITE_INPUT_COLUMNS)).reset_index(drop=True)


def _joined(technologies: str, label: str) -> str:
    """``technologies`` (joined by :data:`~siting.io.asbuilt.TECHNOLOGIES_JOINED`, e.g.
    ``4G-1800+5G-3500``) with ``label`` added."""
    return f"{technologies}{TECHNOLOGIES_JOINED}{label}" if technologies else label


#: Candidate columns the site table shows as they are (besides ``site_id`` and the geometry).
SITE_INPUT_COLUMNS = ("kind", "antenna_height_m", "free_public", "difficult", "technologies")


def with_input_columns(table: gpd.GeoDataFrame, source: gpd.GeoDataFrame,
                       copied=()) -> gpd.GeoDataFrame:
    """``table`` with every column of ``source`` (same rows, same order) appended, but the
    geometry and the ``copied`` columns (already in ``table`` unchanged).

    A source column whose name ``table`` uses for something it computes (a planner's ``action``
    field, the candidate's input ``capex_cny`` beside the plan's) is appended as
    ``input_<name>``.
    """
    extra = {}
    for column in source.columns:
        if column == source.geometry.name or column in copied:
            continue
        name = f"input_{column}" if column in table.columns else column
        if name not in table.columns:
            extra[name] = source[column].to_numpy()
    if not extra:
        return table
    added = pd.DataFrame(extra, index=table.index)
    return gpd.GeoDataFrame(pd.concat([table, added], axis=1), geometry=table.geometry.name,
                            crs=table.crs)


def selected_sites(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The rows of :func:`site_table` in the plan (built, upgraded or kept), every column kept."""
    return sites[sites["action"].isin(PLAN_ACTIONS)]


def village_table(run) -> gpd.GeoDataFrame:
    """Villages with their coverage before/after, serving site and, if uncovered, the reason."""
    demand = run.demand
    rows = np.flatnonzero(demand.kind == "village")
    source = run.region.villages.loc[demand.ref_id[rows]]
    villages = source[[c for c in VILLAGE_INPUT_COLUMNS if c in source] + [source.geometry.name]].copy()
    plan = run.plan
    options = run.coverage.options
    villages["mandatory"] = demand.mandatory[rows]
    villages["covered_before"] = plan.covered_before[rows]
    villages["covered_after"] = plan.covered_after[rows]
    villages["covered_5g"] = plan.covered_5g_after[rows]
    serving = plan.serving_option[rows]
    villages["serving_site"] = np.where(serving >= 0, options["site_id"].to_numpy()[np.maximum(serving, 0)], "")
    villages["serving_technology"] = np.where(serving >= 0, options["technology"].to_numpy()[np.maximum(serving, 0)], "")
    # float64: a float32 -58.6 is -58.599998 in a GIS attribute table and a Shapefile's .dbf
    level = run.coverage.best_level_dbm[rows].astype(np.float64)
    villages["best_level_dbm"] = np.where(np.isfinite(level), np.round(level, 1), np.nan)
    if "admin_unit" not in villages:  # no field: the unit of the polygon it lies in
        villages["admin_unit"] = demand.admin_unit[rows].astype(str)
    villages["uncovered_reason"] = plan.uncovered_reason[rows]
    # a mandatory village is uncovered while its rule is not met (a generation it needs)
    villages["status"] = np.select(
        [villages["uncovered_reason"] != "", villages["covered_after"]],
        ["mandatory_uncovered", "covered"], default="uncovered")
    return with_input_columns(villages, source, VILLAGE_INPUT_COLUMNS).reset_index(drop=True)


#: Village columns the village table shows as they are (besides the geometry).
VILLAGE_INPUT_COLUMNS = ("village_id", "name", "population", "admin_unit", "poverty_village",
                         "relocation_site")


def uncovered_mandatory(villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The rows of :func:`village_table` that must be covered but are not (with the reason)."""
    return villages[villages["status"] == "mandatory_uncovered"]


def demand_table(run) -> gpd.GeoDataFrame:
    """Every demand row as a point with its kind, weight and coverage flags."""
    demand = run.demand
    return gpd.GeoDataFrame(
        {"kind": demand.kind.astype(str), "ref_id": demand.ref_id.astype(str),
         "admin_unit": demand.admin_unit.astype(str), "people": demand.people,
         "mandatory": demand.mandatory, "require_5g": demand.require_5g,
         "covered_before": run.plan.covered_before, "covered_after": run.plan.covered_after,
         "covered_5g": run.plan.covered_5g_after,
         "uncovered_reason": run.plan.uncovered_reason.astype(str)},
        geometry=gpd.points_from_xy(demand.x_m, demand.y_m), crs=run.region.crs)



def admin_unit_of(x_m: np.ndarray, y_m: np.ndarray, units: gpd.GeoDataFrame) -> np.ndarray:
    """The admin unit (the polygon's label, its index) containing each point, ``""`` for a
    point in none; a point on a border shared by two units goes to the first in layer order."""
    points = shapely.points(np.asarray(x_m, float), np.asarray(y_m, float))
    point, polygon = shapely.STRtree(units.geometry.to_numpy()).query(points, predicate="intersects")
    first = np.full(len(points), len(units), np.int64)
    np.minimum.at(first, point, polygon)
    names = np.append(units.index.astype(str).to_numpy(dtype=object), "")
    return names[first]


def _village_field(villages: gpd.GeoDataFrame, village_ids: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The villages' own ``admin_unit`` field ("" where empty); ``known`` (the demand's unit)
    when the villages have no such field."""
    if "admin_unit" not in villages:
        return np.asarray(known, dtype=object).astype(str)
    field = villages["admin_unit"].reindex(pd.Index(village_ids, dtype=object))
    return field.where(field.notna(), "").astype(str).str.strip().to_numpy(dtype=object)


def demand_units(demand, region) -> np.ndarray:
    """The admin unit (county) each demand row counts in.

    With admin-unit polygons, a point counts in the polygon that contains it; a village in no
    polygon, and every village when there are no polygons, counts in the unit of its
    ``admin_unit`` field; anything else in no unit counts under :data:`OUTSIDE_ADMIN_UNITS`.
    """
    units = region.admin_units
    unit = np.full(len(demand.kind), "", dtype=object)
    if units is not None and len(units):
        unit[:] = admin_unit_of(demand.x_m, demand.y_m, units)
    by_field = (demand.kind == "village") & (unit == "")
    unit[by_field] = _village_field(region.villages, demand.ref_id[by_field],
                                    demand.admin_unit[by_field])
    unit[unit == ""] = OUTSIDE_ADMIN_UNITS
    return unit


def unit_order(region, named) -> list[str]:
    """Every admin unit in report order: the polygons in layer order, then the other ``named``
    units sorted, :data:`OUTSIDE_ADMIN_UNITS` last when named."""
    polygons = [] if region.admin_units is None else list(region.admin_units.index.astype(str))
    others = set(named) - set(polygons) - {OUTSIDE_ADMIN_UNITS}
    return polygons + sorted(others) + ([OUTSIDE_ADMIN_UNITS] if OUTSIDE_ADMIN_UNITS in set(named) else [])


def admin_table(run) -> pd.DataFrame:
    """People and villages covered before/after per admin unit (county), every unit listed.

    Population cells and villages count in their unit (:func:`demand_units`). Every polygon has
    a row, with zeros where it holds nothing (:func:`unit_order`); cells in no unit are counted
    under :data:`OUTSIDE_ADMIN_UNITS`.
    """
    demand, plan = run.demand, run.plan
    villages = demand.kind == "village"
    counted = (demand.kind == "cell") | villages
    frame = pd.DataFrame({  # people on cells, and on villages where they carry their own
        "admin_unit": demand_units(demand, run.region),
        "people": demand.people,
        "people_before": np.where(plan.covered_before, demand.people, 0.0),
        "people_after": np.where(plan.covered_after, demand.people, 0.0),
        "villages": villages.astype(np.int64),
        "villages_before": (villages & plan.covered_before).astype(np.int64),
        "villages_after": (villages & plan.covered_after).astype(np.int64),
    })[counted]
    order = unit_order(run.region, frame["admin_unit"])
    table = frame.groupby("admin_unit", sort=False).sum().reindex(order, fill_value=0)
    return table.rename_axis("admin_unit").reset_index()


def village_admin_units(demand) -> dict[str, str]:
    """Each village's admin unit as the demand counts it (:mod:`siting.demand`: the polygon it
    lies in when there are admin-unit polygons, else its own ``admin_unit`` field), by
    ``village_id``; villages without one are left out."""
    villages = demand.kind == "village"
    return {str(v): str(unit) for v, unit in zip(demand.ref_id[villages], demand.admin_unit[villages])
            if unit is not None and str(unit) != ""}


@dataclass(frozen=True, repr=False)
class PlanTables:
    """The tables of a solved run and what the maps and reports draw besides them: everything
    the writers of :mod:`siting.export` read (built by :func:`plan_tables`).

    Coordinates are in the run's projected CRS [m] unless said otherwise.

    Attributes
    ----------
    scenario : siting.config.Scenario
        The scenario planned: its ``name``, ``outputs`` (language, basemap), technologies,
        objective and the assumptions the report states.
    crs : pyproj.CRS
        The run's projected CRS (metres).
    sites : geopandas.GeoDataFrame
        :func:`site_table`: one row per candidate site, action, technology, costs [CNY],
        people served and newly covered [persons], every input column.
    villages : geopandas.GeoDataFrame
        :func:`village_table`: one row per village, coverage before/after, serving site,
        best level [dBm], status and reason.
    demand : geopandas.GeoDataFrame
        :func:`demand_table`: every demand point with its weight [persons] and coverage flags.
    admin : pandas.DataFrame
        :func:`admin_table`: people [persons] and villages covered before/after per admin unit.
    summary : dict
        Everything of ``summary.json`` but ``timings_s`` (:func:`siting.export.summary.summary_facts`).
    village_admin_units : dict of str to str
        Each village's admin unit as the demand counts it, by ``village_id``
        (:func:`village_admin_units`).
    terrain : siting.terrain.Terrain
        The DEM [m]: the maps' extent and hillshade.
    admin_units : geopandas.GeoDataFrame or None
        Admin-unit polygons, labelled by their index; None without any.
    zones : geopandas.GeoDataFrame or None
        5G zone polygons; None without any.
    population : numpy.ndarray or None
        People per cell [persons] of the population raster (block means for a large one), for
        the web map; None without a population raster.
    population_transform : rasterio.Affine or None
        Its transform.
    has_population_raster : bool
        Whether demand was counted on a population raster (the report says how people count).
    level_dbm : numpy.ndarray
        Best-server RSRP [dBm] of the plan on a regular grid, NaN where none reaches.
    level_transform : rasterio.Affine
        The grid's transform.
    level_dbm_by_technology : dict of str to numpy.ndarray
        The same per technology with selected options (same grid and transform).
    backhaul_links : geopandas.GeoDataFrame or None
        :func:`siting.export.backhaul.backhaul_table`: the link feeding each site on air
        (fiber route, microwave hop, satellite); None for a plan without backhaul.
    """

    scenario: Scenario
    crs: pyproj.CRS
    sites: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    admin: pd.DataFrame
    summary: dict
    village_admin_units: dict[str, str]
    terrain: Terrain
    admin_units: gpd.GeoDataFrame | None
    zones: gpd.GeoDataFrame | None
    population: np.ndarray | None
    population_transform: rasterio.Affine | None
    has_population_raster: bool
    level_dbm: np.ndarray
    level_transform: rasterio.Affine
    level_dbm_by_technology: dict[str, np.ndarray] = field(default_factory=dict)
    backhaul_links: gpd.GeoDataFrame | None = None

    def __repr__(self) -> str:
        return (f"<PlanTables {self.scenario.name!r}: {len(self.sites)} sites, "
                f"{len(self.villages)} villages, {len(self.demand)} demand points>")

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.scenario.name

    @property
    def language(self) -> str:
        """The language of the outputs (``outputs.language``: "en" or "zh")."""
        return self.scenario.outputs.language

    @property
    def technologies(self) -> tuple[Technology, ...]:
        """The scenario's technologies, in its order."""
        return self.scenario.technologies

    @property
    def selected_sites(self) -> gpd.GeoDataFrame:
        """:func:`selected_sites` of :attr:`sites`."""
        return selected_sites(self.sites)

    @property
    def uncovered_mandatory(self) -> gpd.GeoDataFrame:
        """:func:`uncovered_mandatory` of :attr:`villages`."""
        return uncovered_mandatory(self.villages)


def plan_tables(run) -> PlanTables:
    """Every table of ``run`` (a :class:`siting.pipeline.RunResult`, or a run with the same
    fields), built once, with what the maps and reports need from it (:class:`PlanTables`)."""
    sites, villages, admin = site_table(run), village_table(run), admin_table(run)
    region = run.region
    return PlanTables(
        scenario=run.scenario, crs=region.crs, sites=sites, villages=villages,
        demand=demand_table(run), admin=admin, summary=summary_facts(run, sites, villages, admin),
        village_admin_units=village_admin_units(run.demand), terrain=region.terrain,
        admin_units=region.admin_units, zones=region.zones, population=region.population,
        population_transform=region.population_transform,
        has_population_raster=region.population_source is not None,
        level_dbm=run.level_dbm, level_transform=run.level_transform,
        level_dbm_by_technology=dict(run.level_dbm_by_technology),
        backhaul_links=backhaul_table(run))

"""The year-end evaluation of a plan against what was built (``siting evaluate``).

The plan is an output folder of ``siting run`` (its ``sites.gpkg`` and ``summary.json``, which
names the scenario); the as-built list is read by :mod:`siting.io.asbuilt`. Coverage is
recomputed with the plan's own scenario and coverage engine (the cached coverage matrix is
reused), so the evaluation and the plan predict levels the same way. For the evaluated year Y
(``--year``, default the list's last year) it tells, overall and per county (admin unit):

- sites: each planned build or upgrade due by Y (a phased plan's years up to Y; a single-period
  plan's every site) is ``on_time`` (built in its year), ``early``, ``late`` (built after its
  year) or ``not_built``; a planned site of a later year is ``later`` (not due) or, built
  already, ``early``; a site built but not in the plan (or with another technology) is
  ``not_in_plan``; a re-plan's as-built sites (kept on air) are planned in the year the list
  built them. Budget: the planned cost of what is due (capex, plus the backhaul the plan
  buys: each site's planned feed, in the year of the feed, :func:`planned_feeds`) against the
  actual cost. A planned feed of an existing site that is not built or upgraded in the feed's
  year is a row of its own (technology ""), built by the as-built list's feed row. Each row
  shows the site's planned and built backhaul kind; ``backhaul_changed`` flags a site built
  with another kind than planned.
- people and villages covered by the planned network at Y against the as-built network (the
  sites on air before the plan and the as-built list through Y); a mandatory village counts
  as covered as the plan counted it (:func:`siting.cover_rows.mandatory_met`: under
  ``demand.mandatory.generations`` ``[4G, 5G]``, by an option of each); every mandatory
  village the as-built network leaves uncovered, with the reason (:data:`REASONS`, prefixed
  with the generation it lacks: ``no 5G coverage: ...``).
- complaints: the scenario's complaint points covered before the plan, now covered
  (``resolved``) or ``still_uncovered``; new complaints (``--complaints``) covered now or not,
  each with the nearest planned site not yet built that would cover it.
- a score per county, 0-100: the weighted mean of the criteria of
  :data:`siting.config.SCORE_CRITERIA` (weights in the scenario's ``evaluation.score_weights``):
  ``sites_on_time`` = sites built on time or early / sites due (1 when none is due);
  ``budget`` = min(1, planned cost (capex and backhaul) of the planned sites and feeds built by
  Y, on time, early or late / their actual cost) (1 when none was built, or it cost nothing):
  earned value management's cost performance index, the planned value of the work done over
  its actual cost (ANSI/EIA-748; PMI, *PMBOK Guide*, "cost performance index"), so a site not
  built earns no allowance for the others; what was built outside the plan has no planned
  cost and is left out (it is counted in ``sites_not_in_plan`` and in ``spent_cny``);
  ``people`` = people gained / people the plan gains by Y, and ``mandatory_villages`` the same
  for mandatory villages (each clipped to 0-1; 1 when the plan gains none);
  ``complaints`` = complaint points (old and new) covered / all complaint points (1 when none).

The as-built network is the one ``siting run --built`` starts from: the same on-air rule
(:func:`siting.plan.on_air`) decides both.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from siting.compare import PlanInputs, read_plan_folder
from siting.config import SCORE_CRITERIA, LayerSource, Scenario, load_scenario
from siting.cover_rows import (covered_by, mandatory_met, missing_generations, wanted_coverage,
                               with_missing_generations)
from siting.coverage import CoverageMatrix, build_coverage
from siting.demand import Demand
from siting.errors import InputError
from siting.export.i18n import term
from siting.export.style import BUILT_ACTIONS
from siting.export.tables import admin_unit_of, demand_units, unit_order
from siting.io import AsBuilt, RegionData, read_as_built, resolve_itu_maps, with_as_built
from siting.io.asbuilt import (BACKHAUL_KINDS, BUILT_YEAR_COLUMN, built_technologies, option_year,
                               technologies_in)
from siting.io.headers import accepted_names
from siting.io.layers import read_layer, recognised_columns
from siting.io.tables import id_text, is_table
from siting.labels import (ALL_UNITS, OUTSIDE_ADMIN_UNITS, REASON_BELOW_THRESHOLD, REASON_LATER,
                           REASON_NO_CANDIDATE, REASON_NOT_BUILT, REASON_NOT_PLANNED)
from siting.pipeline import best_server_raster, prepare
from siting.plan import OptionCosts, on_air, option_costs

#: Site statuses, in the order the tables list them.
SITE_STATUSES = ("on_time", "early", "late", "not_built", "later", "not_in_plan")
#: Why a mandatory village is still uncovered after the year, in the order they are checked.
REASONS = (REASON_NOT_BUILT, REASON_LATER, REASON_NO_CANDIDATE, REASON_BELOW_THRESHOLD, REASON_NOT_PLANNED)


@dataclass(frozen=True)
class Evaluation:
    """A plan evaluated against what was built (see the module docstring).

    ``overall``: one row per KPI (``name``, ``planned``, ``achieved``); ``counties``: one row
    per county with its counts and score; ``sites``, ``uncovered``, ``complaints``: one row per
    site, uncovered mandatory village and complaint point (geometry in the run's CRS [m]);
    ``score_rule``: criterion, weight, definition.
    """
    plan_name: str
    year: str
    as_built_source: str
    language: str
    overall: pd.DataFrame
    counties: pd.DataFrame
    sites: gpd.GeoDataFrame
    uncovered: gpd.GeoDataFrame
    complaints: gpd.GeoDataFrame
    score_rule: pd.DataFrame
    region: RegionData
    level_dbm: np.ndarray  # best-server RSRP [dBm] of the as-built network, NaN where none
    level_transform: object  # its rasterio.Affine
    with_backhaul: bool = False  # the plan planned backhaul (its summary.json has ``backhaul``)

    def as_json(self) -> dict:
        """The evaluation as ``evaluation.json`` holds it (tables as lists of records)."""
        def records(frame):
            return json.loads(pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
                              .to_json(orient="records", force_ascii=False))
        return {"plan": self.plan_name, "year": self.year, "as_built": self.as_built_source,
                "overall": records(self.overall), "counties": records(self.counties),
                "sites": records(self.sites), "uncovered_mandatory_villages": records(self.uncovered),
                "complaints": records(self.complaints), "score_rule": records(self.score_rule)}


@dataclass(frozen=True)
class _Networks:
    """Option masks of the networks compared, and coverage of each demand row by them."""
    before: np.ndarray
    planned: np.ndarray  # on air before + planned builds due by the year
    built: np.ndarray  # on air before + the as-built list through the year
    later: np.ndarray  # planned builds of later years


def evaluate_plan(plan_dir: str | os.PathLike, built: str | os.PathLike, *,
                  complaints: str | os.PathLike | None = None, year: str | None = None,
                  scenario: Scenario | str | os.PathLike | None = None,
                  cache_dir: Path | None = None, complaints_crs: str | None = None,
                  built_crs: str | None = None) -> Evaluation:
    """Evaluate the plan in ``plan_dir`` against the as-built list ``built`` (see the module
    docstring; ``built_crs``: the CRS of its sites' coordinates, as
    :func:`siting.io.read_as_built` takes it); ``scenario`` overrides the scenario file the
    plan's summary.json names. The new ``complaints`` are read by
    :func:`new_complaints_source` (``complaints_crs``: their CRS)."""
    plan = read_plan_folder(plan_dir)
    scenario = _plan_scenario(plan_dir, plan.summary, scenario)
    region, demand, coverage = prepare(scenario, cache_dir=cache_dir)
    scenario = resolve_itu_maps(scenario, region.terrain)  # read once for all that follows
    costs = option_costs(coverage, region.candidates, scenario)
    years = tuple(p.label for p in scenario.objective.phases)
    as_built = read_as_built(built, region.candidates, scenario, plan_years=years, crs=built_crs)
    year = _evaluated_year(as_built, years, year)
    as_built = as_built.until(year, years)  # what was on air at the end of the year
    planned_year = _planned_years(plan.sites, coverage, costs)
    networks = _networks(coverage, costs, region, as_built, planned_year, year, years)
    feeds = planned_feeds(plan)
    sites = site_status(region, coverage, costs, as_built, planned_year, year, years, feeds)
    units = demand_units(demand, region)
    names = county_names({*units, *sites["admin_unit"]}, _official_counties(region))
    units = np.array([names[u] for u in units], dtype=object)
    sites["admin_unit"] = sites["admin_unit"].map(names)
    source = None if complaints is None else new_complaints_source(complaints, scenario, complaints_crs)
    complaint_rows = _complaint_rows(region, scenario, demand, coverage, networks, units,
                                     source, planned_year)
    uncovered = _uncovered(demand, coverage, networks, units, region)
    counties = county_table(demand, coverage, networks, units, sites, complaint_rows, region,
                            scenario.evaluation.score_weights)
    level_dbm, transform = best_server_raster(region, scenario, coverage,
                                              np.flatnonzero(networks.built))
    return Evaluation(plan.name, year, as_built.source, scenario.outputs.language,
                      _overall(counties), counties, sites, uncovered, complaint_rows,
                      score_rule(scenario.evaluation.score_weights), region, level_dbm, transform,
                      with_backhaul="backhaul" in plan.summary)


def _plan_scenario(plan_dir, summary: dict, scenario) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    path = scenario if scenario is not None else summary.get("scenario_file")
    if path is None:
        raise InputError(f"{plan_dir}: summary.json does not name the plan's scenario (a run of an "
                         f"older siting); give it with --scenario")
    loaded = load_scenario(path)
    if loaded.name != summary.get("scenario"):
        raise InputError(f"{path}: scenario '{loaded.name}' is not the plan's ('{summary.get('scenario')}'); "
                         f"give the plan's scenario with --scenario")
    return loaded


def _evaluated_year(as_built: AsBuilt, years: tuple[str, ...], year) -> str:
    """``--year``, else the list's last year; InputError when neither says one (every row of
    the list answers not built)."""
    if year is None and as_built.last_year is None:
        raise InputError(f"{as_built.source}: no row says a site was built, so the list names no "
                         f"year; give the year evaluated with --year")
    return as_built.last_year if year is None else option_year(year, years)


def _planned_years(plan_sites: gpd.GeoDataFrame, coverage: CoverageMatrix,
                   costs: OptionCosts) -> dict[int, str]:
    """The option index of every planned build or upgrade, with its year ("" for a
    single-period plan); the plan's site ids are read as the candidates' are
    (:func:`siting.io.tables.id_text`: a plan written before ids were folded matches too). A
    re-plan keeps its as-built list's sites on air (kept, or upgraded): it plans each
    technology the list put on air in the year the list built it
    (:data:`siting.io.asbuilt.BUILT_YEAR_COLUMN`)."""
    index = {(s, t): i for i, (s, t) in enumerate(zip(coverage.options["site_id"].astype(str),
                                                       coverage.options["technology"]))}
    years_built = (plan_sites[BUILT_YEAR_COLUMN] if BUILT_YEAR_COLUMN in plan_sites
                   else pd.Series("", plan_sites.index))
    planned = {}
    for row, listed, year_built in zip(plan_sites.itertuples(), built_technologies(plan_sites),
                                       years_built):
        phase = getattr(row, "phase", "")
        year = "" if phase is None or pd.isna(phase) else str(phase)
        built_now = technologies_in(row.technology) if row.action in BUILT_ACTIONS else []
        for technology in {*listed, *built_now}:
            option = index.get((id_text(row.site_id), technology))
            if option is not None and not costs.fixed[option]:
                planned[option] = str(year_built) if technology in listed else year
    return planned


def _rank(years: tuple[str, ...]):
    return (lambda label: years.index(label) if label in years else -1) if years else (lambda _: 0)


def _networks(coverage, costs, region, as_built, planned_year, year, years) -> _Networks:
    rank = _rank(years)
    n = len(coverage.options)
    planned, later = np.zeros(n, bool), np.zeros(n, bool)
    for option, label in planned_year.items():
        (planned if rank(label) <= rank(year) else later)[option] = True
    candidates = with_as_built(region.candidates, as_built)
    built = on_air(coverage.options, candidates.iloc[coverage.options["candidate"].to_numpy()])
    return _Networks(before=costs.fixed.copy(), planned=costs.fixed | planned, built=built,
                     later=later)


#: The columns of the site table, in order (before ``admin_unit`` and the geometry).
SITE_COLUMNS = ("site_id", "technology", "planned_year", "built_year", "planned_backhaul",
                "built_backhaul", "planned_capex_cny", "planned_backhaul_cny", "actual_cost_cny",
                "status", "due", "backhaul_changed")


def planned_feeds(plan: PlanInputs) -> pd.DataFrame:
    """The plan's backhaul per site (indexed by ``site_id``): ``backhaul``, the kind the plan
    gives the site ("" without backhaul planning), and from its ``backhaul_links`` layer the
    feed it buys: ``feed_cny`` (0 for none) and ``feed_year`` (the link's ``phase``, "" for a
    single-period plan)."""
    sites, links = plan.sites, plan.backhaul_links
    kinds = sites["backhaul"] if "backhaul" in sites else pd.Series("", sites.index)
    frame = pd.DataFrame({"backhaul": kinds.fillna("").astype(str).to_numpy()},
                         index=sites["site_id"].astype(str).to_numpy())
    ids = links["from_id"].astype(str).to_numpy()
    cost = pd.Series(links["cost_cny"].to_numpy(float), ids)
    frame["feed_cny"] = cost.reindex(frame.index).fillna(0.0)
    years = links["phase"] if "phase" in links else pd.Series("", links.index)
    years = pd.Series(years.fillna("").astype(str).to_numpy(), ids)
    frame["feed_year"] = years.reindex(frame.index).fillna("")
    return frame


def _feed_keys(feeds: pd.DataFrame, keys: dict) -> dict[tuple[str, str], str]:
    """The row key each planned feed is charged to: the site's first planned build or upgrade
    of the feed's year, else a row of its own (the site, technology "")."""
    by_site: dict[str, list] = {}
    for key, year in sorted(keys.items()):
        by_site.setdefault(key[0], []).append((key, year))
    charged = {}
    for site_id, feed in feeds[feeds["feed_cny"] > 0].iterrows():
        same_year = [key for key, year in by_site.get(site_id, []) if year == feed["feed_year"]]
        charged[same_year[0] if same_year else (site_id, "")] = site_id
    return charged


def site_status(region, coverage, costs, as_built: AsBuilt, planned_year: dict[int, str],
                year: str, years: tuple[str, ...], feeds: pd.DataFrame) -> gpd.GeoDataFrame:
    """One row per planned build or upgrade, per planned feed of its own and per as-built row,
    with its status and its planned and built backhaul (``feeds``: :func:`planned_feeds`)."""
    options = coverage.options
    option_of = {(str(options.at[o, "site_id"]), options.at[o, "technology"]): o
                 for o in planned_year}
    keys = {key: planned_year[o] for key, o in option_of.items()}
    capex = {key: float(costs.capex_cny[o]) for key, o in option_of.items()}
    charged = _feed_keys(feeds, keys)
    keys.update({key: feeds.at[site_id, "feed_year"] for key, site_id in charged.items()
                 if key not in keys})
    feed_cny = {key: float(feeds.at[site_id, "feed_cny"]) for key, site_id in charged.items()}
    built = {(r.site_id, r.technology): r for r in as_built.sites.itertuples()}
    rank = _rank(years)
    rows = [_site_row(key, keys.get(key), built.get(key), capex.get(key, 0.0),
                      feed_cny.get(key, 0.0), feeds, year, rank)
            for key in sorted(set(keys) | set(built))]
    frame = pd.DataFrame(rows, columns=list(SITE_COLUMNS))
    points = region.candidates.geometry.loc[frame["site_id"]].to_numpy()
    frame["admin_unit"] = _site_units(region, points, frame["site_id"])
    frame["order"] = frame["status"].map(SITE_STATUSES.index)
    frame = frame.sort_values(["order", "site_id", "technology"]).drop(columns="order")
    return gpd.GeoDataFrame(frame.reset_index(drop=True), geometry=list(points[frame.index]),
                            crs=region.crs)


def _site_row(key, planned: str | None, done, capex_cny: float, feed_cny: float,
              feeds: pd.DataFrame, year: str, rank) -> dict:
    """The site table's row of ``key`` (site, technology): ``planned`` its planned year (None
    when not planned), ``done`` its as-built row (None when not built)."""
    planned_kind = feeds["backhaul"].get(key[0], "") if planned is not None else ""
    built_kind = done.backhaul if done is not None else ""
    return {"site_id": key[0], "technology": key[1],
            "planned_year": planned if planned is not None else "",
            "built_year": done.year if done is not None else "",
            "planned_backhaul": planned_kind, "built_backhaul": built_kind,
            "planned_capex_cny": capex_cny, "planned_backhaul_cny": feed_cny,
            "actual_cost_cny": float(done.cost_cny) if done is not None else 0.0,
            "status": _status(planned, done.year if done is not None else None, year, rank),
            "due": planned is not None and rank(planned) <= rank(year),
            "backhaul_changed": _changed(planned_kind, built_kind)}


def _changed(planned_kind: str, built_kind: str) -> bool:
    """Whether a site was built with another kind of backhaul than planned (both known)."""
    known = planned_kind in BACKHAUL_KINDS and built_kind in BACKHAUL_KINDS
    return known and planned_kind != built_kind


#: The suffixes a county's name may be written with or without (石泉县 or 石泉, 汉滨区 or 汉滨).
COUNTY_SUFFIXES = ("县", "区", "市", "旗")
#: A county's name written after its province and prefecture (陕西省安康市石泉县, 安康市旬阳市),
#: as a tower company's site list often has it: the county is the last group.
COUNTY_AFTER_PARENTS = re.compile(r"^(?:.{2,7}?(?:省|自治区))?(?:.{2,7}?(?:市|地区|自治州|盟))?"
                                  r"(.{2,}[县区市旗])$")


def _county_stem(name: str) -> str:
    """A county's name without the province and prefecture written before it
    (:data:`COUNTY_AFTER_PARENTS`) and without its suffix (:data:`COUNTY_SUFFIXES`); a
    two-character name (岚县, 城区) is kept whole, as no one writes it shorter."""
    found = COUNTY_AFTER_PARENTS.match(name)
    name = found.group(1) if found else name
    return name[:-1] if len(name) > 2 and name.endswith(COUNTY_SUFFIXES) else name


def county_names(names, official=()) -> dict[str, str]:
    """Each of ``names`` -> the county it names, one name per county: names that differ only
    by a suffix (:func:`_county_stem`: the sites' 石泉 and the villages' 石泉县) are one
    county, named as ``official`` (the admin-unit polygons) names it, else with its suffix."""
    chosen: dict[str, str] = {}
    for name in sorted(names, key=lambda n: (n in official, len(n))):
        chosen[_county_stem(name)] = name  # the official, else the longest, is chosen last
    return {name: chosen[_county_stem(name)] for name in names}


def _official_counties(region) -> set[str]:
    """The admin-unit polygons' names (none without polygons)."""
    return set() if region.admin_units is None else set(region.admin_units.index.astype(str))


def _status(planned: str | None, built: str | None, year: str, rank) -> str:
    if planned is None:
        return "not_in_plan"
    if built is None:
        return "later" if rank(planned) > rank(year) else "not_built"
    if rank(built) == rank(planned):
        return "on_time"
    return "early" if rank(built) < rank(planned) else "late"


def _site_units(region, points, site_ids) -> np.ndarray:
    """Each site's county: the admin-unit polygon it lies in, else its ``admin_unit`` field,
    read as the polygons' and the villages' names are (:func:`siting.io.tables.id_text`)."""
    units = _point_units(region, np.array([p.x for p in points]), np.array([p.y for p in points]))
    if "admin_unit" in region.candidates:
        field = region.candidates["admin_unit"].reindex(site_ids).map(id_text).to_numpy(dtype=object)
        units = np.where((units == OUTSIDE_ADMIN_UNITS) & (field != ""), field, units)
    return units


def _uncovered(demand: Demand, coverage, networks: _Networks, units, region) -> gpd.GeoDataFrame:
    """Every mandatory village the as-built network leaves uncovered as the plan's rule asks
    (:func:`siting.cover_rows.mandatory_met`: by an option of each generation
    ``demand.mandatory.generations`` lists), with the reason: about the options that would
    give it what it lacks (:func:`siting.cover_rows.wanted_coverage`), and naming the
    generation it lacks as the plan's reasons do
    (:func:`siting.cover_rows.with_missing_generations`)."""
    built = np.flatnonzero(networks.built)
    rows = np.flatnonzero((demand.kind == "village") & ~mandatory_met(coverage, demand, built)
                          & demand.mandatory)
    wanted = wanted_coverage(coverage, demand, built).covers
    reasons = np.full(len(demand), REASON_NOT_PLANNED, dtype=object)
    reachable = np.diff(wanted.indptr) > 0
    reasons[~reachable] = REASON_BELOW_THRESHOLD
    reasons[~coverage.in_range] = REASON_NO_CANDIDATE
    reasons[covered_by(wanted, networks.later)] = REASON_LATER
    reasons[covered_by(wanted, networks.planned & ~networks.built)] = REASON_NOT_BUILT
    reasons = with_missing_generations(reasons, missing_generations(coverage, demand, built))
    villages = region.villages.loc[demand.ref_id[rows]]
    return gpd.GeoDataFrame({
        "village_id": demand.ref_id[rows].astype(str), "name": villages["name"].astype(str).to_numpy(),
        "admin_unit": units[rows], "population": demand.people[rows],
        "best_level_dbm": np.round(coverage.best_level_dbm[rows].astype(float), 1),
        "reason": reasons[rows]}, geometry=gpd.points_from_xy(demand.x_m[rows], demand.y_m[rows]),
        crs=region.crs)


def _complaint_rows(region, scenario, demand: Demand, coverage, networks: _Networks, units,
                    new_source: LayerSource | None, planned_year: dict[int, str]) -> gpd.GeoDataFrame:
    """The scenario's complaint points and the new ones (read from ``new_source``), with their
    status now."""
    cover = coverage.covers
    old = np.flatnonzero(demand.kind == "complaint")
    before, now = covered_by(cover, networks.before)[old], covered_by(cover, networks.built)[old]
    status = np.where(before, "covered_before", np.where(now, "resolved", "still_uncovered"))
    frame = pd.DataFrame({"complaint_id": demand.ref_id[old].astype(str), "origin": "old",
                          "admin_unit": units[old], "status": status,
                          "x": demand.x_m[old], "y": demand.y_m[old]})
    columns = [cover[old]]
    if new_source is not None:
        new, new_cover = _new_complaints(new_source, region, scenario, coverage)
        new_now = covered_by(new_cover, networks.built)
        frame = pd.concat([frame, pd.DataFrame({
            "complaint_id": new.index.astype(str), "origin": "new",
            "admin_unit": _point_units(region, new.geometry.x.to_numpy(), new.geometry.y.to_numpy()),
            "status": np.where(new_now, "new_covered", "new_uncovered"),
            "x": new.geometry.x.to_numpy(), "y": new.geometry.y.to_numpy()})], ignore_index=True)
        columns.append(new_cover)
    unbuilt = np.zeros(len(coverage.options), bool)
    unbuilt[list(planned_year)] = True
    unbuilt &= ~networks.built
    site, year_of, distance = _nearest_covering(sp.vstack(columns).tocsr(), unbuilt, frame,
                                                region, coverage, planned_year)
    frame["nearest_unbuilt_site"], frame["its_planned_year"], frame["distance_m"] = site, year_of, distance
    return gpd.GeoDataFrame(frame.drop(columns=["x", "y"]),
                            geometry=gpd.points_from_xy(frame["x"], frame["y"]), crs=region.crs)


def _point_units(region, x_m, y_m) -> np.ndarray:
    """The admin-unit polygon each point lies in, :data:`OUTSIDE_ADMIN_UNITS` for none."""
    if region.admin_units is None or not len(x_m):
        return np.full(len(x_m), OUTSIDE_ADMIN_UNITS, dtype=object)
    units = admin_unit_of(x_m, y_m, region.admin_units)
    return np.where(units == "", OUTSIDE_ADMIN_UNITS, units)


#: The fields read of new complaint points (``--complaints``): an id, else each is named by
#: its row (a complaint system's export numbers its tickets, a planner's sheet often not);
#: complaint points weigh no people, so none are read.
NEW_COMPLAINT_FIELDS = {"complaint_id": "str?"}
#: The names a new complaints file's id column is recognised by (:data:`NEW_COMPLAINT_FIELDS`).
NEW_COMPLAINT_COLUMNS = {"complaint_id": accepted_names("complaint_id")}


def new_complaints_source(path, scenario: Scenario, crs: str | None = None) -> LayerSource:
    """Where the new complaints (``--complaints``) come from and how they are read: like the
    scenario's complaints layer when the scenario gives it on its own (its ``fields`` of
    :data:`NEW_COMPLAINT_FIELDS`; its
    coordinate columns and ``crs`` too when both are tables, as one complaint system exports
    them), else as a layer whose columns are recognised by their names
    (:func:`siting.io.layers.recognised_columns`: ``complaint_id``, 投诉编号 or 工单号 for the
    id; a table's coordinates 经度/纬度, lon/lat, in WGS 84). ``crs`` (``--complaints-crs``: any
    CRS, or ``GCJ-02`` / ``BD-09`` for coordinates copied from Chinese web maps) declares the
    file's CRS over both."""
    path = Path(path)
    own = scenario.inputs.complaints
    source = LayerSource(path=path, key="--complaints")
    if own is not None and own.key == "inputs.complaints":
        fields = tuple((field, column) for field, column in own.fields
                       if field in NEW_COMPLAINT_FIELDS)
        source = dataclasses.replace(source, fields=fields)
        if is_table(own.path) and is_table(path):
            source = dataclasses.replace(source, x=own.x, y=own.y, crs=own.crs)
    else:
        source = dataclasses.replace(source, fields=recognised_columns(path, NEW_COMPLAINT_COLUMNS, ()))
    return source if crs is None else dataclasses.replace(source, crs=crs)


def _new_complaints(source: LayerSource, region, scenario, coverage) -> tuple[gpd.GeoDataFrame, sp.csr_matrix]:
    """The new complaint points (read from ``source``, :func:`new_complaints_source`) and the
    coverage of every option over them, computed by the plan's coverage engine (``scenario``
    with its ITU maps already read, :func:`siting.io.resolve_itu_maps`)."""
    points = read_layer(source, region.crs, NEW_COMPLAINT_FIELDS, "complaint_id")
    inside = region.on_dem(points.geometry.x.to_numpy(), points.geometry.y.to_numpy())
    if not inside.all():
        outside = ", ".join(points.index[~inside].astype(str)[:5])
        raise InputError(f"{source.path}: complaint point(s) {outside} lie outside the plan's DEM "
                         f"or on its cells without data; remove them, or give a larger DEM or "
                         f"one with data there")
    n = len(points)
    demand = Demand(x_m=points.geometry.x.to_numpy(), y_m=points.geometry.y.to_numpy(),
                    people=np.zeros(n), mandatory=np.zeros(n, bool), require_5g=np.zeros(n, bool),
                    kind=np.full(n, "complaint", dtype=object),
                    ref_id=points.index.to_numpy(dtype=object), admin_unit=np.full(n, "", dtype=object))
    levels = build_coverage(region.terrain, region.candidates, demand, scenario.technologies,
                            scenario.coverage, scenario.demand.ue_height_m)
    return points, levels.covers


def _nearest_covering(cover: sp.csr_matrix, unbuilt: np.ndarray, frame: pd.DataFrame, region,
                      coverage, planned_year) -> tuple[list, list, list]:
    """For each uncovered complaint row, the nearest planned, unbuilt option covering it."""
    options = coverage.options
    site_xy = np.column_stack([region.candidates.geometry.x.to_numpy(),
                               region.candidates.geometry.y.to_numpy()])
    sites, years, distances = [], [], []
    for row, status in enumerate(frame["status"]):
        found = cover.indices[cover.indptr[row]:cover.indptr[row + 1]]
        found = found[unbuilt[found]] if status in ("still_uncovered", "new_uncovered") else found[:0]
        if not len(found):
            sites.append(""), years.append(""), distances.append(np.nan)
            continue
        xy = site_xy[options["candidate"].to_numpy()[found]]
        d = np.hypot(xy[:, 0] - frame.at[row, "x"], xy[:, 1] - frame.at[row, "y"])
        best = found[np.argmin(d)]
        sites.append(str(options.at[best, "site_id"]))
        years.append(planned_year[best])
        distances.append(round(float(d.min()), 1))
    return sites, years, distances


#: The statuses of a planned build, upgrade or feed that was built (by the evaluated year).
PLANNED_AND_BUILT = ("on_time", "early", "late")
#: Count columns of the county table, summed for the whole region.
COUNT_COLUMNS = ("sites_due", "sites_due_built", "sites_on_time", "sites_late", "sites_not_built", "sites_early",
                 "sites_not_in_plan", "sites_backhaul_changed", "feeds_due", "feeds_due_built",
                 "planned_capex_cny", "planned_backhaul_cny", "planned_cost_cny", "spent_cny",
                 "planned_cost_of_built_cny", "spent_on_planned_cny",
                 "people", "people_before",
                 "people_planned", "people_achieved", "villages", "villages_planned",
                 "villages_achieved", "mandatory_villages", "mandatory_villages_before",
                 "mandatory_villages_planned", "mandatory_villages_achieved",
                 "mandatory_villages_uncovered", "complaints", "complaints_covered",
                 "complaints_resolved", "complaints_still_uncovered", "complaints_new",
                 "complaints_new_uncovered")


def county_table(demand: Demand, coverage, networks: _Networks, units, sites, complaints,
                 region, weights: dict) -> pd.DataFrame:
    """One row per county (every admin unit, in report order) and one for the whole region:
    the counts of :data:`COUNT_COLUMNS`, the criteria and the score."""
    cover = coverage.covers
    covered = {name: covered_by(cover, getattr(networks, name)) for name in ("before", "planned", "built")}
    met = {name: mandatory_met(coverage, demand, getattr(networks, name))
           for name in ("before", "planned", "built")}
    counted = (demand.kind == "cell") | (demand.kind == "village")
    village = demand.kind == "village"
    mandatory = village & demand.mandatory
    rows = {"admin_unit": units,
            "people": demand.people, "people_before": demand.people * covered["before"],
            "people_planned": demand.people * covered["planned"],
            "people_achieved": demand.people * covered["built"],
            "villages": village, "villages_planned": village & covered["planned"],
            "villages_achieved": village & covered["built"], "mandatory_villages": mandatory,
            "mandatory_villages_before": mandatory & met["before"],
            "mandatory_villages_planned": mandatory & met["planned"],
            "mandatory_villages_achieved": mandatory & met["built"],
            "mandatory_villages_uncovered": mandatory & ~met["built"]}
    demand_part = pd.DataFrame(rows)[counted].groupby("admin_unit").sum()
    site_part = _site_counts(sites).groupby("admin_unit").sum()
    c = complaints["status"]
    complaint_part = pd.DataFrame({
        "admin_unit": complaints["admin_unit"], "complaints": np.ones(len(c), np.int64),
        "complaints_covered": c.isin(["covered_before", "resolved", "new_covered"]),
        "complaints_resolved": c == "resolved", "complaints_still_uncovered": c == "still_uncovered",
        "complaints_new": complaints["origin"] == "new",
        "complaints_new_uncovered": c == "new_uncovered"}).groupby("admin_unit").sum()
    table = pd.concat([demand_part, site_part, complaint_part], axis=1)
    order = unit_order(region, table.index)
    table = table.reindex(order).fillna(0)
    table.loc[ALL_UNITS] = table.sum()
    table = table[list(COUNT_COLUMNS)]
    for column in COUNT_COLUMNS:
        if not column.startswith(("people", "planned_", "spent")):
            table[column] = table[column].astype(np.int64)
    return with_scores(table.rename_axis("admin_unit").reset_index(), weights)


def _site_counts(sites: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per site row, its counts of :data:`COUNT_COLUMNS` (summed per county by the caller):
    builds and upgrades count as sites, rows of a feed alone (technology "") as feeds; a site
    built with another backhaul than planned counts once."""
    status, due = sites["status"], sites["due"].to_numpy(bool)
    site = (sites["technology"] != "").to_numpy(bool)
    built = (sites["built_year"] != "").to_numpy(bool)
    changed = sites["backhaul_changed"].to_numpy(bool)
    planned_capex = np.where(due, sites["planned_capex_cny"], 0.0)
    planned_backhaul = np.where(due, sites["planned_backhaul_cny"], 0.0)
    planned_built = status.isin(PLANNED_AND_BUILT).to_numpy(bool)
    planned_cost = sites["planned_capex_cny"] + sites["planned_backhaul_cny"]
    return pd.DataFrame({
        "admin_unit": sites["admin_unit"], "sites_due": site & due,
        "sites_due_built": site & due & built,
        "sites_on_time": site & (status == "on_time"), "sites_late": site & (status == "late"),
        "sites_not_built": site & (status == "not_built"), "sites_early": site & (status == "early"),
        "sites_not_in_plan": site & (status == "not_in_plan"),
        "sites_backhaul_changed": changed & ~sites.duplicated(["site_id", "backhaul_changed"]),
        "feeds_due": ~site & due, "feeds_due_built": ~site & due & built,
        "planned_capex_cny": planned_capex, "planned_backhaul_cny": planned_backhaul,
        "planned_cost_cny": planned_capex + planned_backhaul, "spent_cny": sites["actual_cost_cny"],
        "planned_cost_of_built_cny": np.where(planned_built, planned_cost, 0.0),
        "spent_on_planned_cny": np.where(planned_built, sites["actual_cost_cny"], 0.0)})


def _share(part, whole) -> np.ndarray:
    """part / whole clipped to 0-1, 1 where whole is 0 or less."""
    part, whole = np.asarray(part, float), np.asarray(whole, float)
    return np.where(whole > 0, np.clip(part / np.where(whole > 0, whole, 1.0), 0.0, 1.0), 1.0)


def with_scores(table: pd.DataFrame, weights: dict) -> pd.DataFrame:
    """The county table with each criterion of :data:`SCORE_CRITERIA` (0-1) and the score
    (0-100) added (see the module docstring for their definitions)."""
    t = table.copy()
    criteria = {
        # the due sites built are on time, early or late (a late one is always due)
        "sites_on_time": _share(t["sites_due_built"] - t["sites_late"], t["sites_due"]),
        # the cost performance index of earned value management: what the plan priced the
        # work done at / what that work cost (work the plan did not price is left out)
        "budget": _share(t["planned_cost_of_built_cny"], t["spent_on_planned_cny"]),
        "people": _share(t["people_achieved"] - t["people_before"],
                         t["people_planned"] - t["people_before"]),
        "mandatory_villages": _share(t["mandatory_villages_achieved"] - t["mandatory_villages_before"],
                                     t["mandatory_villages_planned"] - t["mandatory_villages_before"]),
        "complaints": _share(t["complaints_covered"], t["complaints"]),
    }
    total = sum(weights[name] for name in SCORE_CRITERIA)
    for name in SCORE_CRITERIA:
        t[f"criterion_{name}"] = np.round(criteria[name], 4)
    t["score"] = np.round(100 * sum(weights[n] * criteria[n] for n in SCORE_CRITERIA) / total, 1)
    return t


def score_rule(weights: dict) -> pd.DataFrame:
    """The scoring rule as a table: criterion, weight, definition (in English)."""
    return pd.DataFrame({"criterion": list(SCORE_CRITERIA),
                         "weight": [float(weights[n]) for n in SCORE_CRITERIA],
                         "definition": [term(f"evaluation.definition.{n}") for n in SCORE_CRITERIA]})


def _overall(counties: pd.DataFrame) -> pd.DataFrame:
    """The whole region's row as KPI rows: name, planned, achieved."""
    total = counties.set_index("admin_unit").loc[ALL_UNITS]
    pairs = [("sites_due", "sites_due", "sites_due_built"), ("sites_on_time", None, "sites_on_time"),
             ("sites_early", None, "sites_early"), ("sites_late", None, "sites_late"),
             ("sites_not_built", None, "sites_not_built"),
             ("sites_not_in_plan", None, "sites_not_in_plan"),
             ("sites_backhaul_changed", None, "sites_backhaul_changed"),
             ("feeds_due", "feeds_due", "feeds_due_built"),
             ("backhaul_cny", "planned_backhaul_cny", None),
             ("cost_cny", "planned_cost_cny", "spent_cny"),
             ("people_covered", "people_planned", "people_achieved"),
             ("villages_covered", "villages_planned", "villages_achieved"),
             ("mandatory_villages_covered", "mandatory_villages_planned", "mandatory_villages_achieved"),
             ("mandatory_villages_uncovered", None, "mandatory_villages_uncovered"),
             ("complaints_resolved", None, "complaints_resolved"),
             ("complaints_still_uncovered", None, "complaints_still_uncovered"),
             ("complaints_new", None, "complaints_new"),
             ("complaints_new_uncovered", None, "complaints_new_uncovered"), ("score", None, "score")]
    return pd.DataFrame({"name": [p[0] for p in pairs],
                         "planned": [total[p[1]] if p[1] else np.nan for p in pairs],
                         "achieved": [total[p[2]] if p[2] else np.nan for p in pairs]})

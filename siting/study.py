"""The Python API for notebooks: prepare a scenario once, then plan it as many ways as needed.

    import siting
    study = siting.prepare(siting.load_scenario("scenario.yaml"))
    plan = study.plan()                                     # the scenario's objective
    plan2 = study.plan(budget_cny=30e6, max_new_sites=80)   # same coverage, another objective
    plan.kpis, plan.sites, plan.villages, plan.summary()
    plan.map(); fig, ax = plan.plot(); plan.write("out/dir")
    curve = study.sweep(budgets_cny=[10e6, 20e6, 30e6])
    area = study.predict(site="S0001", technology="4G-1800", radius_km=10, model="itm")
    area.level_dbm; area.write("out/predict")

:func:`prepare` reads the inputs, builds the demand and computes the coverage matrix (the
expensive, terrain-aware part) once, through :func:`siting.pipeline.prepare`; every
:meth:`Study.plan` and :meth:`Study.sweep` is a new optimisation over the same matrix.
A :class:`PlanResult` writes exactly what ``siting run`` writes
(:func:`siting.pipeline.write_outputs`); the coverage rasters its maps need are computed the
first time a map, a plot or the outputs ask for them. Nothing here switches matplotlib's
backend.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting import config
from siting.backhaul import BackhaulNetwork
from siting.compare import Comparison, PlanInputs, compare_tables
from siting.config import (CoverageSettings, DemandRules, ItmSettings, Objective, OutputSettings, Phase,
                           Scenario, load_scenario)
from siting.coverage import CoverageMatrix
from siting.demand import Demand
from siting.errors import InputError, ScenarioError
from siting.export.backhaul import backhaul_table
from siting.export.prediction import write_prediction
from siting.export.staticmap import draw_static_map
from siting.export.summary import build_summary, summary_facts
from siting.export.tables import (PlanTables, admin_table, plan_tables, selected_sites, site_table,
                                  village_table)
from siting.export.webmap import build_map
from siting.io import RegionData
from siting.pipeline import (PlanOutcome, Progress, RunResult, compared_plans,
                             best_of, output_lock, prepare_backhaul, technology_rasters, timed, write_outputs)
from siting.pipeline import prepare as prepare_inputs
from siting.plan import OptionCosts, option_costs, plan_network
from siting.predict import Prediction, predict_in_region
from siting.sweep import solve_curve

#: Keys of :meth:`Study.plan` taken from the scenario file's ``objective`` section.
OBJECTIVE_KEYS = ("type", "budget_cny", "max_new_sites", "opex_years", "phases",
                  "discount_rate", "mandatory_by")
#: Keys of :meth:`Study.plan` taken from the scenario file's ``solver`` section.
SOLVER_KEYS = ("time_limit_s", "mip_gap")
#: Every key :meth:`Study.plan` accepts.
PLAN_KEYS = (*OBJECTIVE_KEYS, *SOLVER_KEYS, "technologies", "backhaul")
#: Every key :meth:`Study.sweep` accepts besides its series (which sets the objective type,
#: drops phases and replaces the budget or the quota).
SWEEP_KEYS = ("budget_cny", "opex_years", *SOLVER_KEYS, "technologies", "backhaul")
#: Size of a new figure of :meth:`PlanResult.plot` [inch]: A4 landscape, as map.png.
MAP_FIGSIZE_IN = (11.69, 8.27)


def prepare(scenario: Scenario | str | os.PathLike, *, cache_dir: str | os.PathLike | None = None,
            progress: Progress | None = None, scheduler: str | None = None,
            workers: int | None = None) -> Study:
    """Read the inputs, build the demand and compute the coverage matrix, once.

    Parameters
    ----------
    scenario : Scenario or path
        A loaded scenario, or the path of a scenario file (:func:`siting.load_scenario`).
    cache_dir : path, optional
        On-disk coverage cache (:mod:`siting.cache`); ``siting run`` uses
        :func:`siting.cache.default_cache_dir`. Default: none, coverage is computed.
    progress : Progress, optional
        Told when each stage starts and as coverage advances.
    scheduler : str, optional
        Address of a Dask scheduler to compute coverage on.
    workers : int, optional
        Compute coverage on a local cluster of this many processes [count].

    Returns
    -------
    Study
        The prepared scenario, ready to plan.

    Raises
    ------
    siting.errors.ScenarioError, siting.errors.InputError
        The scenario or an input is invalid (the message names the file and the field). A
        scenario whose demand rules, technologies, coverage settings or language were changed
        in Python (``dataclasses.replace``) has them checked as the scenario file's are
        (:func:`scenario_checked`).
    """
    if not isinstance(scenario, (Scenario, str, os.PathLike)):
        raise ScenarioError(f"prepare(): scenario must be a siting.Scenario "
                            f"(siting.load_scenario) or a scenario file's path, got "
                            f"{type(scenario).__name__}")
    scenario = (scenario_checked(scenario) if isinstance(scenario, Scenario)
                else load_scenario(scenario))
    timings: dict[str, float] = {}
    cache = None if cache_dir is None else Path(cache_dir)
    region, demand, coverage = prepare_inputs(
        scenario, timings=timings, progress=progress, scheduler=scheduler, workers=workers,
        cache_dir=cache)
    backhaul = prepare_backhaul(region, scenario, cache_dir=cache, timings=timings,
                                progress=progress)
    return Study(scenario=scenario, region=region, demand=demand, coverage=coverage,
                 timings_s=timings, backhaul=backhaul)


@dataclass(frozen=True, repr=False)
class Study:
    """A scenario with its inputs read and its coverage computed: plans are solved from it.

    Attributes
    ----------
    scenario : Scenario
        The scenario as loaded; :meth:`plan` and :meth:`sweep` never change it.
    region : RegionData
        Inputs in the run's projected CRS [m].
    demand : Demand
        Demand points: population cells [persons], villages, complaints, 5G-zone check points.
    coverage : CoverageMatrix
        Received level [dBm] of every (candidate, technology) option at every demand point.
    timings_s : dict of str to float
        Time of each preparation stage [s].
    backhaul : siting.backhaul.BackhaulNetwork or None
        The candidates' fiber routes and microwave links when the scenario plans backhaul
        (``backhaul.enabled``), else None.
    """

    scenario: Scenario
    region: RegionData
    demand: Demand
    coverage: CoverageMatrix
    timings_s: dict[str, float]
    backhaul: BackhaulNetwork | None = None

    def __repr__(self) -> str:
        return (f"<Study {self.scenario.name!r}: {len(self.demand):,} demand points, "
                f"{len(self.coverage.options):,} options (site x technology)>")

    def plan(self, **overrides) -> PlanResult:
        """Solve a plan over the prepared coverage, with the scenario's objective or another.

        Parameters
        ----------
        **overrides
            Replace the scenario's keys for this plan (the scenario file documents each):
            ``type`` (``"min_cost"`` or ``"max_coverage"``), ``budget_cny`` [CNY],
            ``max_new_sites`` [count], ``opex_years`` [years], ``phases`` (a list of
            ``{"year": 2027, "budget_cny": 9e6, "max_new_sites": 30}``; None for a
            single-period plan), ``discount_rate`` [1/year], ``mandatory_by`` [year label];
            the solver's ``time_limit_s`` [s] and ``mip_gap`` [-]; ``technologies``, the
            names of the technologies new sites and upgrades may use (existing carriers stay
            on air; default all); and ``backhaul``, a mapping of keys of the scenario's
            ``backhaul`` section that replace its values (e.g. ``{"enabled": False}``,
            ``{"fiber_cny_per_km_road": 80000, "max_microwave_hops": 2}``). None clears
            ``budget_cny``, ``max_new_sites``, ``phases`` (and with them ``mandatory_by``, a
            phase's year, unless given) or ``mandatory_by`` and restores the default of the
            other numbers. The coverage is the study's: nothing is recomputed
            but the plan, and with other backhaul settings its fiber routes (and its
            microwave links when ``microwave`` changes).

        Returns
        -------
        PlanResult
            The plan, its tables, KPIs, maps and outputs.

        Raises
        ------
        siting.errors.ScenarioError
            An unknown key (the message lists the valid ones) or an invalid value (checked
            as in the scenario file).
        """
        scenario, coverage, costs = self._variant(overrides, PLAN_KEYS, "plan")
        timings = dict(self.timings_s)
        backhaul = self._backhaul_of(scenario, timings)
        with timed(timings, "optimize"):
            plan = plan_network(coverage, self.demand, costs, scenario.objective, scenario.solver,
                                backhaul)
        with timed(timings, "baselines"):
            baselines, compared = compared_plans(self.region, coverage, self.demand, costs,
                                                 scenario, plan, timings["optimize"])
        return PlanResult(scenario=scenario, region=self.region, demand=self.demand,
                          coverage=coverage, plan=plan, baselines=baselines, timings_s=timings,
                          backhaul_baselines=compared)

    def sweep(self, *, budgets_cny=None, max_new_sites=None, progress: Progress | None = None,
              **overrides) -> pd.DataFrame:
        """The cost-coverage curve: one optimal ``max_coverage`` plan per budget or quota.

        Parameters
        ----------
        budgets_cny : sequence of float, optional
            Budgets [CNY], capex + opex over ``opex_years``.
        max_new_sites : sequence of int, optional
            Quotas of new sites [count]. Exactly one of the two series is given; the
            scenario's other limit is kept.
        progress : Progress, optional
            Told of each plan solved.
        **overrides
            ``budget_cny`` (when sweeping quotas), ``opex_years``, ``time_limit_s``,
            ``mip_gap``, ``technologies`` and ``backhaul``, as in :meth:`plan`.

        Returns
        -------
        pandas.DataFrame
            One row per value (see :func:`siting.sweep.solve_curve`): cost [CNY], new
            options, people covered [persons and %], mandatory points covered, solver status
            and gap; :func:`siting.plot_curve` draws it.
        """
        allowed = tuple(k for k in SWEEP_KEYS if budgets_cny is None or k != "budget_cny")
        scenario, coverage, costs = self._variant(overrides, allowed, "sweep")
        return solve_curve(scenario, self.demand, coverage, costs, budgets_cny=budgets_cny,
                           max_new_sites=max_new_sites, progress=progress,
                           backhaul=self._backhaul_of(scenario))

    def predict(self, *, technology: str, radius_km: float, site: str | None = None,
                at: tuple[float, float] | None = None, height_m: float | None = None,
                model: str | None = None, itm: ItmSettings | dict | None = None,
                at_system: str = "WGS84") -> PredictionResult:
        """One site's path loss and received level on every DEM cell within a radius, as
        ``siting predict`` computes them (:func:`siting.predict.predict_in_region`).

        Parameters
        ----------
        technology : str
            A technology of the scenario (frequency, EIRP, clutter loss, default model).
        radius_km : float
            Radius of the prediction [km]; it must stay on the study's DEM.
        site : str, optional
            A candidate's ``site_id`` (its antenna height unless ``height_m``).
        at : (float, float), optional
            Or a position (longitude, latitude) [deg], with ``height_m``.
        height_m : float, optional
            Antenna height above ground [m].
        model : str, optional
            A model of :data:`siting.predict.RADIAL_LOSS_MODELS` (the technology's models and
            ``itm``); default the technology's.
        itm : siting.config.ItmSettings or dict, optional
            Ground constants, climate, refractivity, polarisation and quantiles of ``itm``,
            or a mapping of the keys of a technology's ``itm`` block (e.g.
            ``{"climate": 5, "epsilon": 15}``; checked as the scenario file's are; the others
            take their defaults). Default: the technology's ``itm`` block, else epsilon 15,
            sigma 0.005 S/m, climate 5, n0 301, vertical, 50 % time, locations and situations.
        at_system : str
            The coordinates of ``at``: ``WGS84`` (GPS), ``GCJ-02`` (Amap, Tencent) or ``BD-09``
            (Baidu), converted to WGS 84 (:func:`siting.predict.position_wgs84`).

        Returns
        -------
        PredictionResult
            The loss [dB] and level [dBm] grids; ``.write(out_dir)`` writes the files.

        Raises
        ------
        siting.errors.InputError
            An unknown site, technology or model, a position off the DEM, a radius past its
            data, or an argument of the wrong kind (the message names it).
        siting.errors.ScenarioError
            ``itm`` settings the scenario file would refuse.
        """
        itm = _predict_arguments(site, at, height_m, radius_km, itm, technology)
        prediction = predict_in_region(self.region, self.scenario, technology=technology,
                                       radius_km=radius_km, site=site, at=at, height_m=height_m,
                                       model=model, itm=itm, at_system=at_system)
        fields = {f.name: getattr(prediction, f.name) for f in dataclasses.fields(Prediction)}
        return PredictionResult(**fields, language=self.scenario.outputs.language)

    def compare(self, plan_a: PlanResult, plan_b: PlanResult, *,
                names: tuple[str, str] | None = None) -> Comparison:
        """Compare two plans as ``siting compare`` compares their output folders: the sites
        only in A, only in B and in both (technology changes), the KPI deltas overall and per
        county, the villages whose coverage differs (:class:`siting.compare.Comparison`;
        :func:`siting.compare.write_comparison` writes it, its report and map naming each
        plan).

        ``names`` labels the two plans (e.g. ``("45 M CNY", "30 M CNY")``); by default each
        is its scenario's name, followed by ``(A)`` and ``(B)`` when both plans share it.
        Output folders are compared by :func:`siting.compare.compare_folders`.
        """
        for label, plan in (("plan_a", plan_a), ("plan_b", plan_b)):
            if not isinstance(plan, PlanResult):
                raise InputError(f"compare(): {label} must be a plan of Study.plan(), got "
                                 f"{type(plan).__name__}; compare two output folders with "
                                 f"siting.compare.compare_folders(folder_a, folder_b)")
        a, b = plan_a.comparison_inputs(), plan_b.comparison_inputs()
        if names is None and a.name == b.name:
            names = (f"{a.name} (A)", f"{b.name} (B)")
        if names is not None:
            if len(names) != 2 or not all(isinstance(n, str) and n.strip() for n in names):
                raise InputError(f"compare(): names must be two labels such as ('45 M CNY', "
                                 f"'30 M CNY'), got {names!r}")
            a, b = dataclasses.replace(a, name=names[0]), dataclasses.replace(b, name=names[1])
        return compare_tables(a, b)

    def _backhaul_of(self, scenario: Scenario,
                     timings: dict[str, float] | None = None) -> BackhaulNetwork | None:
        """The backhaul network of a variant of the study's scenario: the study's own when
        its backhaul settings are the same, else made again (the study's microwave links
        reused when the bands are the same; only ``mandatory_feed`` changed: the study's with
        it). ScenarioError when it enables backhaul on a study prepared without: its fiber
        nodes and roads were not read."""
        if scenario.backhaul == self.scenario.backhaul:
            return self.backhaul
        feed = scenario.backhaul.mandatory_feed
        if (self.backhaul is not None and scenario.backhaul
                == dataclasses.replace(self.scenario.backhaul, mandatory_feed=feed)):
            return dataclasses.replace(self.backhaul, mandatory_feed=feed)
        if scenario.backhaul.enabled and not self.scenario.backhaul.enabled:
            raise ScenarioError(f"{self.scenario.path}: the study was prepared with "
                                f"backhaul.enabled: false, so its fiber nodes and roads were not "
                                f"read; prepare it from a scenario with backhaul.enabled: true to "
                                f"plan backhaul (plan(backhaul={{'enabled': False}}) then plans "
                                f"without)")
        same_bands = (self.backhaul is not None
                      and scenario.backhaul.microwave == self.scenario.backhaul.microwave)
        return prepare_backhaul(self.region, scenario, timings=timings,
                                links=self.backhaul.links if same_bands else None)

    def _variant(self, overrides: dict, allowed: tuple[str, ...],
                 method: str) -> tuple[Scenario, CoverageMatrix, OptionCosts]:
        """The scenario with ``overrides``, and the coverage and costs of the options it allows."""
        _check_keys(overrides, allowed, method)
        source = f"{method}() overrides"
        scenario = scenario_with(self.scenario, overrides, source=source)
        costs = option_costs(self.coverage, self.region.candidates, scenario)
        if overrides.get("technologies") is None:
            return scenario, self.coverage, costs
        return scenario, *restrict_technologies(self.coverage, costs, scenario,
                                                overrides["technologies"], source=source)


@dataclass(frozen=True)
class Kpis:
    """Headline KPIs of a plan: the ``kpis`` of ``summary.json`` and the solver's outcome.

    People are counted on population cells, and on villages where demand is the villages'
    own populations. "Before" is the existing network alone; "after" is with the plan.

    Attributes
    ----------
    people_total, people_covered_before, people_covered_after : float
        People in the region, and covered before and after the plan [persons].
    people_covered_pct : float
        ``people_covered_after`` as a share of ``people_total`` [%].
    villages_total, villages_covered_before, villages_covered_after : int
        Villages, and villages covered before and after [count].
    mandatory_villages_total, mandatory_villages_covered, mandatory_villages_reachable : int
        Villages that must be covered, those covered, and those some candidate can reach [count].
    complaints_total, complaints_covered : int
        Complaint points, and those covered [count].
    zone_points_total, zone_points_covered_5g : int
        5G-zone check points, and those covered by 5G [count].
    backup_points_total, backup_points_met : int
        Check points that need backup coverage, and those served by enough options [count].
    mandatory_villages_covered_before, complaints_covered_before_plan,
    zone_points_covered_5g_before, backup_points_met_before : int
        The same counts before the plan, on the network ``people_covered_before`` counts
        (the report's "before" column) [count].
    mandatory_points_uncovered : dict of str to int
        Mandatory points left uncovered by kind (village, complaint, zone) [count].
    new_sites, upgrades : int
        Sites built, and existing 4G sites upgraded to 5G [count].
    capex_cny : float
        Investment of the plan [CNY].
    opex_cny_per_year : float
        Running cost of what the plan adds [CNY/year].
    site_cost_cny : float
        Capex + opex of the sites over the scenario's ``opex_years`` [CNY].
    backhaul_cost_cny : float
        Their backhaul over the same years [CNY]; 0 without backhaul planning.
    total_cost_cny : float
        Sites and backhaul [CNY]: what the budget limits.
    solver_status : str
        ``optimal``, ``feasible``, ``time_limit`` or ``infeasible``.
    gap : float or None
        Relative MIP gap of the last solver stage [-] (None when unknown).
    """

    people_total: float
    people_covered_before: float
    people_covered_after: float
    people_covered_pct: float
    villages_total: int
    villages_covered_before: int
    villages_covered_after: int
    mandatory_villages_total: int
    mandatory_villages_covered: int
    mandatory_villages_reachable: int
    complaints_total: int
    complaints_covered: int
    zone_points_total: int
    zone_points_covered_5g: int
    backup_points_total: int
    backup_points_met: int
    mandatory_villages_covered_before: int
    complaints_covered_before_plan: int
    zone_points_covered_5g_before: int
    backup_points_met_before: int
    mandatory_points_uncovered: dict[str, int]
    new_sites: int
    upgrades: int
    capex_cny: float
    opex_cny_per_year: float
    site_cost_cny: float
    backhaul_cost_cny: float
    total_cost_cny: float
    solver_status: str
    gap: float | None

    @classmethod
    def from_summary(cls, summary: dict) -> Kpis:
        """The KPIs of a summary (:func:`siting.export.summary.build_summary`); they share no
        mutable value with it (``mandatory_points_uncovered`` is a dict of its own)."""
        kpis = copy.deepcopy(summary["kpis"])
        share = 100 * kpis["people_covered_after"] / max(kpis["people_total"], 1e-9)
        extra = {"people_covered_pct": share, "solver_status": summary["solver"]["status"],
                 "gap": summary["solver"]["gap"]}
        return cls(**{f.name: extra[f.name] if f.name in extra else kpis[f.name]
                      for f in dataclasses.fields(cls)})


@dataclass(frozen=True, repr=False)
class PlanResult(PlanOutcome):
    """One solved plan of a :class:`Study`, with everything ``siting run`` makes of it.

    Its fields are those of :class:`siting.pipeline.PlanOutcome` (scenario with this plan's
    overrides, region, demand, coverage, plan, baselines, timings [s]), so the tables, the
    KPIs and the summary are at hand without the coverage rasters; :attr:`run` computes them
    for the maps and the outputs.
    """

    def __repr__(self) -> str:
        """One line with what a notebook compares plans by: the solver's outcome, the sites
        built and upgraded (and in which phases), the cost [M CNY] and the people covered [%],
        counted as :attr:`kpis` counts them, without computing its tables."""
        plan, people = self.plan, self.demand.people
        new = plan.new_options
        solution = plan.solution
        gap = f" (gap {100 * solution.gap:.2g} %)" if solution.gap else ""
        phases = (f" in {len(plan.phase_labels)} phases ({', '.join(plan.phase_labels)})"
                  if plan.phase_labels else "")
        covered_pct = 100 * people[plan.covered_after].sum() / max(people.sum(), 1e-9)
        return (f"<PlanResult {self.scenario.name!r}: {solution.status}{gap}, "
                f"{_counted(plan.new_site_count, 'new site')} and "
                f"{_counted(len(new) - plan.new_site_count, 'upgrade')}{phases}, "
                f"{self._cost_text(new)}, {covered_pct:.2f} % of people covered>")

    def _cost_text(self, new: np.ndarray) -> str:
        """The plan's cost [M CNY], split in sites and backhaul when it has backhaul."""
        site_cny = float(self.plan.costs.total_cny[new].sum())
        if self.plan.backhaul is None:
            return f"{site_cny / 1e6:,.2f} M CNY"
        backhaul_cny = float(self.plan.backhaul.feeds.total_backhaul_cny)
        return (f"{(site_cny + backhaul_cny) / 1e6:,.2f} M CNY (sites {site_cny / 1e6:,.2f}, "
                f"backhaul {backhaul_cny / 1e6:,.2f})")

    @cached_property
    def run(self) -> RunResult:
        """The plan as a :class:`~siting.pipeline.RunResult`, with its best-server RSRP
        rasters [dBm] (computed on first use)."""
        with timed(self.timings_s, "coverage raster"):
            levels, transform, shape = technology_rasters(self.region, self.scenario,
                                                          self.coverage, self.plan.selected)
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(PlanOutcome)}
        return RunResult(**fields, level_dbm=best_of(levels, shape), level_transform=transform,
                         level_dbm_by_technology=levels)

    @cached_property
    def tables(self) -> PlanTables:
        """Every table of the plan and what its maps and reports draw besides
        (:func:`siting.export.tables.plan_tables`; computes :attr:`run`'s rasters)."""
        return plan_tables(self.run)

    @cached_property
    def sites(self) -> gpd.GeoDataFrame:
        """One row per candidate site, in the run's CRS [m]: action (build, upgrade, keep),
        technology, capex [CNY], opex [CNY/year], total cost [CNY], people served and newly
        covered [persons], and every input column (as in sites.gpkg). The table is the
        caller's: changing it changes none of the plan's KPIs, summary or comparisons."""
        return self._site_table.copy()

    @cached_property
    def villages(self) -> gpd.GeoDataFrame:
        """One row per village, in the run's CRS [m]: covered before/after, by 5G, serving
        site and technology, best level [dBm], status and the reason a mandatory village
        stays uncovered (as in sites.gpkg). The table is the caller's, as :attr:`sites`."""
        return self._village_table.copy()

    @cached_property
    def _site_table(self) -> gpd.GeoDataFrame:
        """:attr:`sites` as the plan's KPIs and comparisons read it, whatever is done to
        :attr:`sites`."""
        return site_table(self)

    @cached_property
    def _village_table(self) -> gpd.GeoDataFrame:
        """:attr:`villages` as the plan's KPIs and comparisons read it."""
        return village_table(self)

    @cached_property
    def backhaul_links(self) -> gpd.GeoDataFrame | None:
        """The link feeding each site on air, in the run's CRS [m] (as the ``backhaul_links``
        layer of sites.gpkg: kind, band [GHz], length [m], cost [CNY], hop and, where link
        capacity is planned, the traffic each link carries and its band's capacity
        [Mbit/s]); None for a plan without backhaul
        (:func:`siting.export.backhaul.backhaul_table`)."""
        return backhaul_table(self)

    @cached_property
    def kpis(self) -> Kpis:
        """The headline KPIs (:class:`Kpis`)."""
        return Kpis.from_summary(self._summary)

    @cached_property
    def _summary(self) -> dict:
        facts = summary_facts(self, self._site_table, self._village_table, admin_table(self))
        return build_summary(facts, self.timings_s)

    def summary(self) -> dict:
        """The plan's ``summary.json`` as a dictionary (a fresh copy each call): KPIs, by
        technology, kind and admin unit, baselines, solver outcome, timings [s]."""
        return copy.deepcopy(self._summary)

    def comparison_inputs(self) -> PlanInputs:
        """What :meth:`Study.compare` reads of this plan: its selected sites (as in the
        ``selected_sites`` layer), villages, summary and DEM."""
        return PlanInputs(self.scenario.name, selected_sites(self._site_table),
                          self._village_table, self._summary, terrain=self.region.terrain)

    def map(self):
        """The interactive map of ``map.html`` (a ``folium.Map``; a notebook shows it inline)."""
        return build_map(self.tables)

    def plot(self, ax=None):
        """Draw the static map of ``map.png``: hillshade, coverage classes, sites, villages,
        admin units, legend, north arrow and scale bar, in kilometres of the run's CRS.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; by default a new A4-landscape figure (``pyplot.subplots``, so a
            notebook shows it inline).

        Returns
        -------
        (matplotlib.figure.Figure, matplotlib.axes.Axes)
            The figure drawn on and its Axes. matplotlib's backend is never switched.
        """
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=MAP_FIGSIZE_IN, layout="constrained")
        draw_static_map(ax, self.tables)
        return ax.figure, ax

    def write(self, out_dir: str | os.PathLike, *, progress: Progress | None = None) -> Path:
        """Write every output of ``siting run`` into ``out_dir`` (created if needed).

        Files are rendered in a temporary folder and moved into place, under the same lock
        as ``siting run``. Returns the output folder.
        """
        out = Path(out_dir)
        with output_lock(out):
            write_outputs(self.run, out, progress=progress, tables=self.tables)
        return out


@dataclass(frozen=True, repr=False)
class PredictionResult(Prediction):
    """A :class:`siting.predict.Prediction` of a :class:`Study` that writes its files.

    Attributes
    ----------
    path_loss_db, level_dbm : numpy.ndarray
        Basic loss with terrain [dB] and received level (RSRP) [dBm] of each DEM cell of the
        window around the circle, NaN outside the radius.
    transform, crs
        Where the window lies, in the run's projected CRS [m].
    site, technology, model : str
        The candidate's ``site_id`` (or ``"lon,lat"``), the technology and the model used.
    site_x_m, site_y_m, height_m, radius_m : float
        The site's position [m], antenna height above ground [m] and the radius [m].
    points, n_radials : int
        Cells predicted, and radials traced [count].
    language : str
        Language of prediction.png's legend (the scenario's ``report.language``).
    """

    language: str = "en"  # of prediction.png's legend

    def __repr__(self) -> str:
        level = self.level_dbm[np.isfinite(self.level_dbm)]
        span = f", level {level.min():.1f} to {level.max():.1f} dBm" if level.size else ""
        return (f"<PredictionResult {self.site} {self.technology} ({self.model}, antenna "
                f"{self.height_m:g} m): {self.points:,} cells within "
                f"{self.radius_m / 1000:g} km{span}>")

    def covered_pct(self, threshold_dbm: float) -> float:
        """Share of the cells within the radius whose level reaches ``threshold_dbm`` [dBm],
        in [%]; the window's corners beyond the radius (NaN in the grids) are not counted."""
        return 100.0 * int(np.sum(self.level_dbm >= threshold_dbm)) / max(self.points, 1)

    def write(self, out_dir: str | os.PathLike) -> Path:
        """Write prediction.tif, prediction.png and prediction.kmz into ``out_dir`` (created
        if needed; :func:`siting.export.prediction.write_prediction`). Returns the folder."""
        return write_prediction(self, out_dir, language=self.language)


# ---------------------------------------------------------------------------------------
# Overrides of a plan: checked as the scenario file is


def _predict_arguments(site, at, height_m, radius_km, itm,
                       technology: str) -> ItmSettings | None:
    """Check the Python types of :meth:`Study.predict`'s position, radius and ITM arguments
    (their values are checked by :func:`siting.predict.predict_in_region`); a mapping given
    for ``itm`` is read as a technology's ``itm`` block. Raises InputError or ScenarioError."""
    if site is not None and not isinstance(site, str):
        raise InputError(f"predict(): site must be one candidate's site_id (a str), got "
                         f"{site!r}; predict several sites one call each")
    if at is not None and (isinstance(at, (str, bytes)) or not np.iterable(at) or len(at) != 2
                           or not all(_is_number(v) for v in at)):
        raise InputError(f"predict(): at must be (longitude, latitude) in degrees, such as "
                         f"(109.03, 32.68), got {at!r}")
    if height_m is not None and not _is_number(height_m):
        raise InputError(f"predict(): height_m must be a number of metres, got {height_m!r}")
    if not _is_number(radius_km):
        raise InputError(f"predict(): radius_km must be a number of kilometres, such as 5, got "
                         f"{radius_km!r}")
    if itm is None or isinstance(itm, ItmSettings):
        return itm
    if not isinstance(itm, dict):
        raise ScenarioError(f"predict(): itm must be a siting.config.ItmSettings or a mapping "
                            f"of itm keys such as {{'climate': 5, 'epsilon': 15}}, got {itm!r}")
    return config.parse_itm_section(_plain(itm), technology, "predict()")


def _counted(count: int, noun: str) -> str:
    """``count`` and ``noun``, in the plural unless one: "1 upgrade", "2 upgrades"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _is_number(value) -> bool:
    """Whether ``value`` is a real number (a Python or numpy int or float, not a bool)."""
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_)))


def _check_keys(overrides: dict, allowed: tuple[str, ...], method: str) -> None:
    """Raise ScenarioError naming each unknown key, a close valid key, and all valid keys."""
    unknown = [key for key in overrides if key not in allowed]
    if not unknown:
        return
    named = []
    for key in unknown:
        close = difflib.get_close_matches(key, allowed, n=1)
        named.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
    raise ScenarioError(f"{method}() overrides: unknown key {', '.join(named)}; valid keys: "
                        f"{', '.join(allowed)}")


def scenario_with(scenario: Scenario, overrides: dict, *, source: str = "overrides") -> Scenario:
    """``scenario`` with the objective and solver keys of ``overrides`` replaced, and the
    keys of its ``backhaul`` section that ``overrides["backhaul"]`` (a mapping) gives.

    The sections are checked by the scenario file's own rules (link capacity's traffic
    against the technologies and phases too), so a value the file would refuse is refused
    with the same message, prefixed by ``source``; other keys of ``overrides`` are ignored.
    ``phases=None`` clears ``mandatory_by`` too, unless ``overrides`` gives it: that deadline
    is the year of a phase.
    """
    given = {k: _plain(v) for k, v in overrides.items() if k in OBJECTIVE_KEYS}
    if "phases" in given and given["phases"] is None:
        given.setdefault("mandatory_by", None)
    objective = {**_objective_section(scenario.objective), **given}
    solver = {**dataclasses.asdict(scenario.solver),
              **{k: _plain(v) for k, v in overrides.items() if k in SOLVER_KEYS}}
    parsed_objective, parsed_solver = config.parse_objective_and_solver(objective, solver, source)
    scenario = dataclasses.replace(scenario, objective=parsed_objective, solver=parsed_solver)
    if overrides.get("backhaul") is not None:
        if not isinstance(overrides["backhaul"], dict):
            raise ScenarioError(f"{source}: backhaul: expected a mapping of backhaul keys, got "
                                f"{overrides['backhaul']!r}")
        section = {**_plain(dataclasses.asdict(scenario.backhaul)),
                   **_plain(overrides["backhaul"])}
        scenario = dataclasses.replace(scenario,
                                       backhaul=config.parse_backhaul_section(section, source))
    config.check_site_traffic(scenario, source)
    return scenario


def scenario_checked(scenario: Scenario, *, source: str = "prepare()") -> Scenario:
    """``scenario`` with its ``demand`` rules, ``technologies``, ``coverage`` settings and
    outputs' language and basemap checked by the scenario file's rules (a technology's model,
    frequency in the model's range, EIRP, threshold, duplicate names, the model's ``p1812``
    or ``itm`` block, which a model changed to ``itm`` gets with its defaults; the demand
    grid, heights and mandatory flags; the antenna pattern, earth radius factor and raster
    resolution; the language), so a scenario changed in Python with ``dataclasses.replace``
    is refused as the file would be, each message prefixed by ``source``; the scenario is
    returned with the sections as parsed. The coverage's ITU-R maps folder and calibration
    are kept as read with the file."""
    sections = [_plain(dataclasses.asdict(tech)) for tech in scenario.technologies]
    demand, technologies = config.parse_demand_and_technologies(
        _demand_section(scenario.demand), sections, scenario.coverage, source)
    coverage, outputs = config.parse_coverage_and_outputs(
        _coverage_section(scenario.coverage), _outputs_sections(scenario.outputs), source)
    coverage = dataclasses.replace(coverage, itu_maps_dir=scenario.coverage.itu_maps_dir,
                                   calibration=scenario.coverage.calibration)
    return dataclasses.replace(scenario, demand=demand, technologies=technologies,
                               coverage=coverage, outputs=outputs)


def _coverage_section(settings: CoverageSettings) -> dict:
    """The scenario file's ``coverage`` section that gives ``settings``, but for the ITU-R
    maps folder and the calibration (files the scenario file names, read with it)."""
    return _plain({"earth_radius_factor": settings.earth_radius_factor,
                   "max_diffraction_edges": settings.max_diffraction_edges,
                   "raster_resolution_m": settings.raster_resolution_m,
                   "antenna": settings.antenna, "sector_azimuths_deg": settings.sector_azimuths_deg,
                   "downtilt_deg": settings.downtilt_deg})


def _outputs_sections(outputs: OutputSettings) -> dict:
    """The scenario file's ``report`` and ``map`` sections that give ``outputs``."""
    basemap = outputs.basemap
    return {"report": {"language": outputs.language},
            "map": {"basemap": {"url": basemap.url, "attribution": basemap.attribution}
                    if basemap.kind == "custom" else basemap.kind}}


def _demand_section(rules: DemandRules) -> dict:
    """The scenario file's ``demand`` section that gives ``rules``."""
    return _plain({"grid_m": rules.grid_m, "min_people_per_cell": rules.min_people_per_cell,
                   "ue_height_m": rules.ue_height_m, "zone_sample_m": rules.zone_sample_m,
                   "backup": {"zone_kinds": rules.backup_zone_kinds,
                              "servers": rules.backup_servers},
                   "mandatory": {"poverty_villages": rules.mandatory_poverty_villages,
                                 "relocation_sites": rules.mandatory_relocation_sites,
                                 "all_villages": rules.mandatory_all_villages,
                                 "complaints": rules.mandatory_complaints,
                                 "generations": list(rules.mandatory_generations)}})


def _objective_section(objective: Objective) -> dict:
    """The scenario file's ``objective`` section that gives ``objective``."""
    return {"type": objective.kind, "budget_cny": objective.budget_cny,
            "max_new_sites": objective.max_new_sites, "opex_years": objective.opex_years,
            "phases": [_plain(p) for p in objective.phases] or None,
            "discount_rate": objective.discount_rate, "mandatory_by": objective.mandatory_by}


def _plain(value):
    """A value as the YAML loader gives it: numpy scalars as Python numbers, sequences as
    lists, a :class:`~siting.config.Phase` as its mapping."""
    if isinstance(value, Phase):
        return {"year": value.label, "budget_cny": value.budget_cny,
                "max_new_sites": value.max_new_sites}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def restrict_technologies(coverage: CoverageMatrix, costs: OptionCosts, scenario: Scenario,
                          technologies, *, source: str = "technologies"
                          ) -> tuple[CoverageMatrix, OptionCosts]:
    """The options on air (fixed) and those of ``technologies`` (names), with their costs.

    A demand point's best level [dBm] is taken over the options kept; ``in_range`` is
    kept as it is, so a point only an excluded technology reaches reads "below threshold".
    Raises ScenarioError, prefixed by ``source``, for a name the scenario does not have.
    """
    names = [t.name for t in scenario.technologies]
    if not isinstance(technologies, str) and not np.iterable(technologies):
        raise ScenarioError(f"{source}: technologies: expected a list of technology names such "
                            f"as [{names[0]!r}], got {technologies!r}")
    technologies = [technologies] if isinstance(technologies, str) else list(technologies)
    unknown = [t for t in technologies if t not in names]
    if unknown or not technologies:
        given = f"unknown {', '.join(map(repr, unknown))}" if unknown else "none given"
        raise ScenarioError(f"{source}: technologies: {given}; the scenario's technologies "
                            f"are {', '.join(names)}")
    keep = np.flatnonzero(costs.fixed | coverage.options["technology"].isin(technologies).to_numpy())
    level = coverage.level_dbm[:, keep].tocsr()
    best = np.full(level.shape[0], -np.inf, np.float32)
    np.maximum.at(best, np.repeat(np.arange(level.shape[0]), np.diff(level.indptr)), level.data)
    subset = CoverageMatrix(level_dbm=level, options=coverage.options.iloc[keep].reset_index(drop=True),
                            in_range=coverage.in_range, best_level_dbm=best)
    return subset, OptionCosts(**{f.name: getattr(costs, f.name)[keep]
                                  for f in dataclasses.fields(costs)})

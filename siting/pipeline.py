"""The whole run: scenario -> inputs -> demand -> coverage -> plan -> outputs.

:func:`compute` does the work and returns a :class:`RunResult` without touching the disk
beyond reading inputs; :func:`write_outputs` renders every output into a temporary folder
next to the destination and then moves each finished file into place, so a failed run leaves
the previous outputs as they were.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd
import rasterio

from siting.backhaul import BackhaulNetwork, backhaul_network, band_links
from siting.cache import (coverage_key, links_key, load_coverage, load_links, store_coverage,
                          store_links)
from siting.config import Scenario, load_scenario, model_warnings
from siting.coverage import (CoverageMatrix, Transmitters, best_levels,
                             build_coverage_in_steps)
from siting.demand import Demand, build_demand
from siting.diskfaults import (check_output_folder, move_into_place, output_errors,
                               staging_folder, write_staged)
from siting.distributed import build_coverage_distributed, client_for, workers_peak_memory_mb
from siting.errors import InputError
from siting.export.gis import write_layers, write_level_raster, write_site_csv
from siting.export.html_report import write_html_report
from siting.export.report import render_report, write_report
from siting.export.staticmap import write_static_map
from siting.export.summary import build_summary, write_summary
from siting.export.kml import write_kml
from siting.export.i18n import admin_unit_names, term
from siting.export.tables import PlanTables, plan_tables
from siting.export.webmap import write_map
from siting.io import RegionData, backhaul_in_place, on_as_built_list, read_region, resolve_itu_maps
from siting.io.layers import source_label
from siting.plan import (BackhaulKpis, Plan, PlanKpis, backhaul_comparison,
                         baseline_free_public, baseline_greedy, cheapest_backhaul_or_none,
                         comparison_deadline, counted_options, fed_kpis, kpis_of,
                         mandatory_options, option_costs, plan_network)
from siting.rolling import Replan, replan_inputs

logger = logging.getLogger(__name__)
OUTPUT_FILES = ("map.html", "map.png", "sites.gpkg", "sites.kml", "selected_sites.csv",
                "coverage.tif", "report.md", "report.html", "summary.json")
DEMO_SCENARIO = Path(__file__).resolve().parents[1] / "data" / "demo" / "scenario.yaml"
#: The geometry of each layer of sites.gpkg, declared when a layer has none to show it
#: (:func:`siting.export.gis.write_layers`).
GPKG_GEOMETRY_TYPES = {"selected_sites": "Point", "candidates": "Point", "villages": "Point",
                       "demand": "Point", "backhaul_links": "LineString"}
COVERAGE_STAGE = "compute coverage"
BACKHAUL_STAGE = "backhaul routes and links"
#: Key of ``timings_s`` holding the Dask workers' summed peak memory [MB] (cluster runs only).
WORKERS_PEAK_MEMORY = "peak_memory_mb_workers"


class Progress(Protocol):
    """How a run reports progress: ``progress(stage)`` when a stage starts, then
    ``progress(stage, done, total)`` as a stage with countable steps advances (coverage over
    chunks of candidates, a sweep over its plans). Stages without steps (the solve) report only
    their start; a stage ends when the next one starts."""

    def __call__(self, stage: str, done: int | None = None, total: int | None = None) -> None: ...


@runtime_checkable
class StepProgress(Progress, Protocol):
    """A :class:`Progress` that is also told what each step of a counted stage is and, once
    done, what it gave: ``progress.step(stage, text)`` (a sweep's point: its value when it
    starts; its status, people covered and time when it ends). A plain ``Progress`` (a
    notebook's function) is told the steps' counts only."""

    def step(self, stage: str, text: str) -> None: ...


def tell_step(progress: Progress | None, stage: str, text: str) -> None:
    """Tell ``progress`` what a step of ``stage`` is or gave, when it is a
    :class:`StepProgress`."""
    if isinstance(progress, StepProgress):
        progress.step(stage, text)


@dataclass(frozen=True)
class PlanOutcome:
    """A solved plan and what it was solved from.

    Attributes
    ----------
    scenario : Scenario
        The scenario the plan follows (with any overrides applied).
    region : RegionData
        Inputs in the run's projected CRS [m].
    demand : Demand
        Demand points.
    coverage : CoverageMatrix
        Levels [dBm] of the options the plan could choose from.
    plan : siting.plan.Plan
        The solver's choice: selected options, coverage before and after, solver outcome.
    baselines : tuple of siting.plan.PlanKpis
        Existing sites only, every free public site, a greedy rule, and this plan.
    timings_s : dict of str to float
        Time of each stage [s].
    backhaul_baselines : tuple of siting.plan.BackhaulKpis
        With backhaul: this plan, then sites first and the cheapest backhaul of each
        (:func:`siting.plan.backhaul_comparison`); empty without backhaul.
    """

    scenario: Scenario
    region: RegionData
    demand: Demand
    coverage: CoverageMatrix
    plan: Plan
    baselines: tuple[PlanKpis, ...]
    timings_s: dict[str, float]
    backhaul_baselines: tuple[BackhaulKpis, ...] = field(default=(), kw_only=True)


@dataclass(frozen=True)
class RunResult(PlanOutcome):
    """A :class:`PlanOutcome` with the coverage rasters its maps draw.

    Attributes
    ----------
    level_dbm : numpy.ndarray
        Best-server RSRP [dBm] of the plan on a regular grid of the run's CRS, NaN where none.
    level_transform : rasterio.Affine
        The grid's transform.
    level_dbm_by_technology : dict of str to numpy.ndarray
        The same per technology with selected options (same grid and transform).
    replan : siting.rolling.Replan or None
        The as-built list the plan starts from (``siting run --built``), else None.
    """

    level_dbm: np.ndarray
    level_transform: rasterio.Affine
    level_dbm_by_technology: dict[str, np.ndarray] = field(default_factory=dict)
    replan: Replan | None = None


@contextmanager
def timed(timings: dict, stage: str, progress: Progress | None = None):
    """Time the block as ``stage`` [s, rounded to ms] in ``timings``, telling ``progress`` first."""
    if progress is not None:
        progress(stage)
    start = time.perf_counter()
    yield
    timings[stage] = round(time.perf_counter() - start, 3)


def technology_rasters(region: RegionData, scenario: Scenario, coverage: CoverageMatrix,
                       selected: np.ndarray):
    """Best-server RSRP [dBm] of the selected options of each technology, on a grid of
    ``raster_resolution_m`` (NaN where no option of it reaches the threshold).

    Returns ``({technology name: level}, transform, shape)``; technologies without a selected
    option are left out. Cells off the DEM's data (:meth:`RegionData.on_dem`: nodata, the
    margin of a warped DEM) are NaN: no level is claimed over filled ground.
    """
    terrain = region.terrain
    resolution = scenario.coverage.raster_resolution_m
    xmin, ymin, xmax, ymax = terrain.bounds
    width = max(1, int((xmax - xmin) // resolution))
    height = max(1, int((ymax - ymin) // resolution))
    transform = rasterio.Affine(resolution, 0, xmin, 0, -resolution, ymax)
    cols, rows = np.meshgrid(np.arange(width), np.arange(height))
    gx = (xmin + (cols + 0.5) * resolution).ravel()
    gy = (ymax - (rows + 0.5) * resolution).ravel()
    inside = region.on_dem(gx, gy)
    candidates = region.candidates
    options = coverage.options
    rasters = {}
    for tech in resolve_itu_maps(scenario, terrain).technologies:
        chosen = selected[options["technology"].to_numpy()[selected] == tech.name]
        if len(chosen) == 0:
            continue
        sites = candidates.iloc[options["candidate"].to_numpy()[chosen]]
        tx = Transmitters(sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy(),
                          sites["antenna_height_m"].to_numpy(float))
        best = np.full(gx.shape, np.nan, np.float32)
        best[inside] = best_levels(terrain, tx, gx[inside], gy[inside],
                                   scenario.demand.ue_height_m, tech, scenario.coverage)
        best[~np.isfinite(best)] = np.nan
        rasters[tech.name] = best.reshape(height, width)
    return rasters, transform, (height, width)


def best_of(rasters: dict[str, np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """The best level over several technology rasters (NaN where none reaches)."""
    best = np.full(shape, np.nan, np.float32)
    for level in rasters.values():
        best = np.fmax(best, level)
    return best


def best_server_raster(region: RegionData, scenario: Scenario, coverage: CoverageMatrix,
                       selected: np.ndarray):
    """Best-server RSRP [dBm] of the selected options over all technologies, and its transform."""
    rasters, transform, shape = technology_rasters(region, scenario, coverage, selected)
    return best_of(rasters, shape), transform


def prepare(scenario: Scenario, *, timings: dict[str, float] | None = None,
            progress: Progress | None = None, cache_dir: Path | None = None,
            scheduler: str | None = None,
            workers: int | None = None) -> tuple[RegionData, Demand, CoverageMatrix]:
    """Inputs, demand and the coverage matrix: everything a plan is solved from.

    Coverage runs in-process unless ``scheduler`` (a Dask scheduler address) or ``workers``
    (a local cluster of N processes) is given; the matrix is identical either way, and a
    cluster is only started when the cache misses. When ``timings`` is given, each stage's
    time [s] is added to it.
    """
    timings = {} if timings is None else timings
    for warning in model_warnings(scenario):
        logger.warning("%s: %s", scenario.path, warning)
    with timed(timings, "read inputs", progress):
        region = read_region(scenario)
    with timed(timings, "build demand", progress):
        demand = build_demand(region, scenario.demand)
    with timed(timings, COVERAGE_STAGE, progress):
        scenario = resolve_itu_maps(scenario, region.terrain)  # P.1812's ΔN, N0 from the maps
        key = coverage_key(scenario) if cache_dir is not None else None
        coverage = load_coverage(cache_dir, key) if key else None
        if coverage is None:
            args = (region.terrain, region.candidates, demand, scenario.technologies,
                    scenario.coverage, scenario.demand.ue_height_m)
            advance = None if progress is None else partial(progress, COVERAGE_STAGE)
            with client_for(scheduler, workers) as client:
                coverage = (build_coverage_in_steps(*args, progress=advance) if client is None
                            else build_coverage_distributed(client, *args, progress=advance))
                if client is not None:
                    timings[WORKERS_PEAK_MEMORY] = round(workers_peak_memory_mb(client), 1)
            if key:
                store_coverage(cache_dir, key, coverage)
    return region, demand, coverage


def microwave_links_cached(region: RegionData, scenario: Scenario,
                           cache_dir: Path | None = None):
    """The feasible microwave links of every band between the candidates
    (:func:`siting.backhaul.band_links`), from the on-disk cache when ``cache_dir`` holds
    them (:func:`siting.cache.links_key`), else computed (and stored there)."""
    candidates, terrain = region.candidates, region.terrain
    x, y = candidates.geometry.x.to_numpy(), candidates.geometry.y.to_numpy()
    height = candidates["antenna_height_m"].to_numpy(float)
    bands, k = scenario.backhaul.microwave, scenario.coverage.earth_radius_factor
    key = (links_key(terrain, x, y, height, bands, earth_radius_factor=k)
           if cache_dir is not None else None)
    links = load_links(cache_dir, key) if key else None
    if links is None:
        links = band_links(terrain, x, y, height, bands, earth_radius_factor=k)
        if key:
            store_links(cache_dir, key, links)
    return links


def prepare_backhaul(region: RegionData, scenario: Scenario, *, cache_dir: Path | None = None,
                     timings: dict[str, float] | None = None, progress: Progress | None = None,
                     links: pd.DataFrame | None = None) -> BackhaulNetwork | None:
    """The backhaul network of the candidates (:func:`siting.backhaul.backhaul_network`)
    when ``backhaul.enabled`` (timed as :data:`BACKHAUL_STAGE` in ``timings``), else None;
    the microwave links given (``links``: of the same bands, e.g. another network's), else
    through the cache (:func:`microwave_links_cached`)."""
    if not scenario.backhaul.enabled:
        return None
    with timed({} if timings is None else timings, BACKHAUL_STAGE, progress):
        if links is None:
            links = microwave_links_cached(region, scenario, cache_dir)
        return backhaul_network(region.terrain, region.candidates, region.fiber_nodes,
                                region.roads, scenario.backhaul,
                                links=links,
                                earth_radius_factor=scenario.coverage.earth_radius_factor,
                                in_place=on_as_built_list(region.candidates)
                                | backhaul_in_place(region.candidates),
                                roads_source=source_label(scenario.inputs.roads)
                                if scenario.inputs.roads is not None else "inputs.roads")


def baseline_kpis(region: RegionData, coverage: CoverageMatrix, demand: Demand, costs,
                  scenario: Scenario, plan, *, deadline: float | None = None) -> tuple:
    """The plans the report compares with: existing sites only, every free public site, a
    greedy rule, and the optimal plan itself (as ``PlanKpis``, in that order).

    With backhaul, each rule's sites are fed by their cheapest backhaul
    (:func:`siting.plan.cheapest_backhaul`: the rules choose sites as if backhaul were free)
    and the optimal plan by its own, so every cost is sites and backhaul, as the budget counts
    it (:func:`siting.plan.fed_kpis`), each feed solved within the time left to ``deadline``
    (:func:`siting.plan.comparison_deadline`)."""
    rules = {
        "existing sites only": np.flatnonzero(costs.fixed),
        "build every free public site": baseline_free_public(coverage, region.candidates, demand,
                                                             costs),
        "greedy (value per yuan)": baseline_greedy(coverage, demand, costs, scenario.objective),
    }
    optimal = kpis_of("optimal plan (siting)", coverage, demand, costs, plan.selected,
                      counted_options(plan, coverage))
    if plan.backhaul is None:
        return (*[kpis_of(label, coverage, demand, costs, chosen)
                  for label, chosen in rules.items()], optimal)
    network = plan.backhaul.network
    fed = []
    for label, chosen in rules.items():
        feeds = cheapest_backhaul_or_none(coverage, costs, chosen, network, scenario.solver,
                                          scenario.objective.opex_years, deadline=deadline)
        counted = mandatory_options(chosen, network, feeds, coverage.options)
        fed.append(fed_kpis(kpis_of(label, coverage, demand, costs, chosen, counted), feeds))
    return (*fed, fed_kpis(optimal, plan.backhaul.feeds))


def backhaul_baselines(coverage: CoverageMatrix, demand: Demand, costs, scenario: Scenario,
                       plan: Plan, *, deadline: float | None = None) -> tuple[BackhaulKpis, ...]:
    """The joint plan next to sites first and their cheapest backhaul then
    (:func:`siting.plan.backhaul_comparison`, within the time left to ``deadline``); empty
    for a plan without backhaul."""
    if plan.backhaul is None:
        return ()
    return backhaul_comparison(coverage, demand, costs, scenario.objective, scenario.solver, plan,
                               deadline=deadline)


def compared_plans(region: RegionData, coverage: CoverageMatrix, demand: Demand, costs,
                   scenario: Scenario, plan: Plan, plan_s: float) -> tuple[tuple, tuple]:
    """The plans the report compares ``plan`` with (:func:`baseline_kpis`) and, with backhaul,
    the sites-first plan (:func:`backhaul_baselines`), solved together within what the plan,
    solved in ``plan_s`` [s], left of ``solver.time_limit_s``
    (:func:`siting.plan.comparison_deadline`): the user's limit bounds the run, not the plan
    alone."""
    deadline = comparison_deadline(scenario.solver, plan_s)
    return (baseline_kpis(region, coverage, demand, costs, scenario, plan, deadline=deadline),
            backhaul_baselines(coverage, demand, costs, scenario, plan, deadline=deadline))


def compute(scenario: Scenario, *, progress: Progress | None = None,
            cache_dir: Path | None = None, scheduler: str | None = None,
            workers: int | None = None, as_built: Path | None = None,
            as_built_year: str | None = None, as_built_crs: str | None = None) -> RunResult:
    """Run every stage of the pipeline in memory.

    With ``cache_dir``, the coverage matrix (and with backhaul, the microwave links) is read
    from (or stored in) the on-disk cache keyed by a hash of its inputs (:mod:`siting.cache`). With ``as_built`` (an as-built
    list; ``as_built_crs``: the CRS of its coordinates), the plan starts from what was built
    through ``as_built_year`` (default: the list's last year) and plans what is left
    (:mod:`siting.rolling`).
    """
    timings: dict[str, float] = {}
    region, demand, coverage = prepare(scenario, timings=timings, progress=progress,
                                       cache_dir=cache_dir, scheduler=scheduler, workers=workers)
    replan = None
    if as_built is not None:
        with timed(timings, "read the as-built list", progress):
            region, scenario, replan = replan_inputs(region, scenario, as_built, year=as_built_year,
                                                     crs=as_built_crs)
    # after the list: its sites' backhaul is in place
    backhaul = prepare_backhaul(region, scenario, cache_dir=cache_dir, timings=timings,
                                progress=progress)
    with timed(timings, "optimize", progress):
        costs = option_costs(coverage, region.candidates, scenario)
        plan = plan_network(coverage, demand, costs, scenario.objective, scenario.solver,
                            backhaul)
    with timed(timings, "baselines", progress):
        baselines, compared = compared_plans(region, coverage, demand, costs, scenario, plan,
                                             timings["optimize"])
    with timed(timings, "coverage raster", progress):
        by_technology, level_transform, shape = technology_rasters(region, scenario, coverage,
                                                                   plan.selected)
    return RunResult(scenario=scenario, region=region, demand=demand, coverage=coverage, plan=plan,
                     baselines=baselines, level_dbm=best_of(by_technology, shape),
                     level_transform=level_transform, timings_s=timings,
                     level_dbm_by_technology=by_technology, replan=replan,
                     backhaul_baselines=compared)


def _map_writers(tables: PlanTables) -> dict:
    """Writers of the GIS layers, maps and raster, by output file name: the slow part, timed
    as the "write outputs" stage."""
    selected = tables.selected_sites
    language = tables.language
    sites, villages = tables.sites, tables.villages
    level = (tables.level_dbm, tables.level_transform)
    return {
        "sites.gpkg": lambda path: write_layers(path, {
            "selected_sites": selected, "candidates": sites, "villages": villages,
            "demand": tables.demand, **({} if tables.backhaul_links is None
                                        else {"backhaul_links": tables.backhaul_links})},
            geometry_types=GPKG_GEOMETRY_TYPES),
        "sites.kml": lambda path: write_kml(
            path, term("kml.title", language, name=tables.name), selected,
            tables.uncovered_mandatory, language=language, links=tables.backhaul_links,
            admin_names_zh=admin_unit_names(tables.admin_units)),
        "selected_sites.csv": lambda path: write_site_csv(path, selected),
        "coverage.tif": lambda path: write_level_raster(path, *level, tables.crs),
        "map.html": lambda path: write_map(path, tables),
        "map.png": lambda path: write_static_map(path, tables),
    }


def _report_writers(tables: PlanTables, summary: dict) -> dict:
    """Writers of the reports and summary.json, which carry the stage timings (so they come
    after the timed stage)."""
    return {
        "report.md": lambda path: write_report(path, render_report(tables)),
        "report.html": lambda path: write_html_report(path, tables),
        "summary.json": lambda path: write_summary(summary, path),
    }


def write_outputs(run: RunResult, out_dir: Path, *, progress: Progress | None = None,
                  tables: PlanTables | None = None) -> dict:
    """Render every output of ``run`` and move the finished files into ``out_dir``.

    ``tables`` are the run's tables when the caller has built them already
    (:func:`siting.export.tables.plan_tables`).
    Returns the summary dictionary (as written to ``summary.json``). Nothing in ``out_dir``
    changes until every file is rendered in a staging folder inside it (same disk, so the moves
    are atomic renames that need no space); a disk fault raises
    :class:`~siting.errors.OutputError` and leaves the previous outputs as they were.
    """
    out_dir = Path(out_dir)
    with staging_folder(out_dir, prefix=".siting-", creating="creating the output folder") as staging:
        with timed(run.timings_s, "write outputs", progress):
            tables = plan_tables(run) if tables is None else tables
            write_staged(_map_writers(tables), staging, out_dir, OUTPUT_FILES)
        summary = build_summary(tables.summary, run.timings_s)
        write_staged(_report_writers(tables, summary), staging, out_dir, OUTPUT_FILES)
        move_into_place(staging, out_dir, OUTPUT_FILES, "moving the finished outputs into place")
    return summary


@contextmanager
def output_lock(out_dir: Path):
    """Hold an exclusive lock on ``out_dir`` so two runs never write the same folder.

    An OS file lock (``flock``) is released by the kernel when the process ends, however it
    ends, so a killed run never leaves a stale lock. Staging folders of killed runs are
    removed once the lock is held. A folder that cannot be created or written raises
    :class:`~siting.errors.OutputError` before any work is lost on it.
    """
    with output_errors(out_dir, "creating the output folder"):
        out_dir.mkdir(parents=True, exist_ok=True)
    with output_errors(out_dir, "creating the lock file .siting.lock"):
        handle = open(out_dir / ".siting.lock", "w")
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"{out_dir}: another siting run is writing to this folder; wait for "
                             f"it to finish or choose another output folder") from None
        for leftover in out_dir.glob(".siting-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_scenario(scenario_path: str | Path, out_dir: str | Path | None = None, *,
                 progress: Progress | None = None, cache_dir: Path | None = None,
                 scheduler: str | None = None, workers: int | None = None,
                 as_built: Path | None = None, as_built_year: str | None = None,
                 as_built_crs: str | None = None) -> tuple[RunResult, dict, Path]:
    """Load a scenario, compute the plan and write the outputs (default ``out/<name>``);
    ``as_built``, ``as_built_year`` and ``as_built_crs`` as :func:`compute` takes them.

    Nothing in the output folder changes until every output has been rendered; then each file
    is moved into place with an atomic rename.
    """
    scenario = load_scenario(scenario_path)
    out = Path(out_dir) if out_dir is not None else Path("out") / scenario.name
    check_output_folder(out)  # a read-only or blocked folder fails now, not after the compute
    run = compute(scenario, progress=progress, cache_dir=cache_dir, scheduler=scheduler,
                  workers=workers, as_built=as_built, as_built_year=as_built_year,
                  as_built_crs=as_built_crs)
    with output_lock(out):
        summary = write_outputs(run, out, progress=progress)
    return run, summary, out

"""Scale: the coverage stage on a dask LocalCluster (demo region), and whole runs of growing areas.

Two modes.

**Coverage on the demo** (default). On the bundled demo region (``data/demo``: 60 km x 60 km,
30 m DEM, both technologies) times :func:`siting.coverage.build_coverage` in-process (numba
over every core) and :func:`siting.distributed.build_coverage_distributed` on a
``LocalCluster`` of 1 and of 2 single-threaded worker processes (each worker's numba kernels
limited to one thread, see :func:`siting.distributed.client_for`). Every configuration gets one
untimed warm-up run (JIT / numba cache load in fresh worker processes, terrain scatter paths)
and then ``--repeat`` timed runs; the median is printed with the CPU seconds per run (of this
process in-process, of the workers on a cluster), the (candidate, demand) pairs evaluated per
second, the 2-vs-1-worker speedup, and peak memory (VmHWM): the driver's peak RSS (cumulative
over the whole benchmark, so it includes the in-process run) and the sum of the workers' peak
RSS (each cluster is fresh, so that is per configuration). Every distributed matrix is checked
to be identical to the in-process one.

    python benchmarks/scale.py [--repeat 3] [--chunk-size N] [--candidates N] [--windowed]

``--chunk-size`` defaults to the distributed stage's own choice; ``--candidates N`` replaces
the demo's 1,101 candidates by N (a seeded sample, or the demo's plus jittered copies);
``--windowed`` also times the 2-worker run with per-task DEM window reads (``dem_path=``).

**Whole runs of growing areas** (``--regions DIR``). Runs the whole pipeline
(:func:`siting.pipeline.run_scenario`, no coverage cache) on the large synthetic region of
``scripts/make_large_region.py`` and its centred sub-areas (``--sizes-km``, default 50 100 200:
1/16, 1/4 and all of the 200 km x 200 km province), each in a fresh process so that its peak
memory (VmHWM) is its own. Regions missing from ``DIR/region-<size>km`` are generated first.
Prints per area the wall time of every stage, demand cells/s (build demand), pairs/s (coverage),
the solver's status and gap, the peak memory (VmHWM, and per stage of the largest run from
VmRSS sampled every 20 ms) and the size of map.html (the file the committee opens); then the scaling exponent of time vs area (log-log least-squares fit;
1.0 is linear) in total and per stage, and of the coverage time vs the pairs evaluated. Then
the pipeline's coverage stage (:func:`siting.pipeline.prepare`, cluster start included) on
``--workers-size-km`` with a LocalCluster of 1 and of 2 workers, and the speedup.

    python benchmarks/scale.py --regions /tmp/large [--sizes-km 50 100 200] [--workers-size-km 100]

With ``--backhaul``, the whole runs plan sites and backhaul together: each region's scenario
gets a sibling ``scenario_backhaul.yaml`` (the demo's ``backhaul`` block, ``backhaul.enabled``;
its link capacity, ``site_traffic_mbps``, only with ``--capacity``)
whose fiber network is ``fiber_nodes.gpkg``: an exchange at each existing 5G site (the seats'
networks); no roads, so fiber routes are straight lines times the detour factor. The solver's
status and proven gap are printed with the optimize stage's time.

The machine is shared: the load average is printed with the results.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import yaml
from scipy.spatial import cKDTree

from siting.config import load_scenario
from siting.coverage import build_coverage, option_table
from siting.demand import build_demand
from siting.distributed import (build_coverage_distributed, client_for, peak_memory_mb,
                                workers_peak_memory_mb)
from siting.io import read_region
from siting.io.rasters import single_dem_in_crs
from siting.pipeline import COVERAGE_STAGE, WORKERS_PEAK_MEMORY, prepare, run_scenario

from coverage_scale import scaled_candidates  # same candidate scaling as the coverage benchmark

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "data" / "demo" / "scenario.yaml"
GENERATOR = ROOT / "scripts" / "make_large_region.py"
#: Stages of a run, in order, as in ``summary.json``'s ``timings_s``.
STAGES = ("read inputs", "build demand", COVERAGE_STAGE, "optimize", "baselines",
          "coverage raster", "write outputs")
TARGET_EXPONENT = 1.15
TARGET_SPEEDUP = 1.6
TARGET_PEAK_MB = 8 * 1024


def _cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def pairs_evaluated(candidates, demand, technologies) -> int:
    """(candidate, demand) pairs within range, for the candidates allowing each technology
    (counted, not listed, so a province's ~10^8 pairs fit in memory)."""
    options = option_table(candidates, technologies)
    x = candidates.geometry.x.to_numpy()
    y = candidates.geometry.y.to_numpy()
    tree = cKDTree(np.column_stack([demand.x_m, demand.y_m]))
    total = 0
    for tech in technologies:
        sites = options.loc[options["technology"] == tech.name, "candidate"].to_numpy()
        if len(sites):
            total += int(tree.query_ball_point(np.column_stack([x[sites], y[sites]]),
                                               r=tech.max_range_m, return_length=True).sum())
    return total


# ---------------------------------------------------------------------------------------------
# coverage on the demo


def _same(a, b) -> bool:
    return (np.array_equal(a.level_dbm.indptr, b.level_dbm.indptr)
            and np.array_equal(a.level_dbm.indices, b.level_dbm.indices)
            and np.array_equal(a.level_dbm.data, b.level_dbm.data)
            and a.options.equals(b.options) and np.array_equal(a.in_range, b.in_range)
            and np.array_equal(a.best_level_dbm, b.best_level_dbm))


def _timed(run, repeat: int, cpu_s):
    """Median wall time of ``repeat`` runs after a warm-up, the runs, the result and the CPU
    seconds (``cpu_s()``: of this process or the workers) per run."""
    run()  # warm-up
    times, result = [], None
    cpu0 = cpu_s()
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result, (cpu_s() - cpu0) / repeat


def coverage_on_demo(args) -> int:
    """The coverage stage in-process and on 1 and 2 local workers (see the module docstring)."""
    scenario = load_scenario(SCENARIO)
    region = read_region(scenario)
    demand = build_demand(region, scenario.demand)
    terrain = region.terrain
    candidates = region.candidates
    if args.candidates is not None:
        candidates = scaled_candidates(candidates, args.candidates, terrain)
    techs = scenario.technologies
    settings = scenario.coverage
    ue = scenario.demand.ue_height_m
    pairs = pairs_evaluated(candidates, demand, techs)
    chunking = ("default chunking" if args.chunk_size is None
                else f"chunk size {args.chunk_size}")
    print(f"demo region: DEM {terrain.shape[0]} x {terrain.shape[1]} cells at "
          f"{terrain.cell_size_m:g} m, {len(candidates)} candidates, {len(demand)} demand points, "
          f"{len(techs)} technologies, {pairs:,} pairs within range; {chunking}; "
          f"{os.cpu_count()} CPUs; median of {args.repeat} after a warm-up run")
    print(f"load average before: {_load()}")
    print(f"{'configuration':<34}{'wall s':>8}{'cpu s':>8}{'pairs/s':>11}{'driver peak MB':>16}"
          f"{'workers peak MB':>17}  runs s")

    def report(label, median, times, cpu, workers_mb=None):
        workers = f"{workers_mb:>17.0f}" if workers_mb is not None else f"{'-':>17}"
        print(f"{label:<34}{median:>8.2f}{cpu:>8.2f}{pairs / median:>11,.0f}"
              f"{peak_memory_mb():>16.0f}{workers}  {' '.join(f'{t:.2f}' for t in times)}",
              flush=True)

    median, times, reference, cpu = _timed(
        lambda: build_coverage(terrain, candidates, demand, techs, settings, ue), args.repeat,
        _cpu_s)
    report("in-process (numba, all cores)", median, times, cpu)

    results = {}
    configs = [(1, False), (2, False)] + ([(2, True)] if args.windowed else [])
    for workers, windowed in configs:
        extra = {"dem_path": single_dem_in_crs(scenario.inputs.dem, region.crs)} if windowed else {}
        with client_for(None, workers) as client:
            client.wait_for_workers(workers)
            median, times, got, cpu = _timed(
                functools.partial(build_coverage_distributed, client, terrain, candidates,
                                  demand, techs, settings, ue, chunk_size=args.chunk_size,
                                  **extra), args.repeat,
                lambda: sum(client.run(_cpu_s).values()))
            worker_mb = workers_peak_memory_mb(client)
        if not _same(got, reference):
            print(f"MISMATCH: {workers} worker(s) windowed={windowed} differ from in-process")
            return 1
        results[(workers, windowed)] = median
        label = f"LocalCluster {workers} worker{'s' if workers > 1 else ''}" + (
            ", DEM windows" if windowed else "")
        report(label, median, times, cpu, worker_mb)
    speedup = results[(1, False)] / results[(2, False)]
    print(f"speedup 2 vs 1 worker (coverage stage): {speedup:.2f}x (target >= {TARGET_SPEEDUP}x)")
    print("every distributed matrix identical to the in-process one: yes")
    print(f"load average after: {_load()}")
    return 0


# ---------------------------------------------------------------------------------------------
# whole runs of growing areas (each in its own process)


def _child(*args: str) -> dict:
    """Run this script with ``args`` in a fresh process; its last stdout line is a JSON dict,
    or, when it fails, ``{"error": its last stderr line}`` (a region without a plan)."""
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


class StagePeaks:
    """Peak resident memory [MB] per stage of a run: a progress callback notes the stage, a
    daemon thread samples ``VmRSS`` every ``interval_s`` (short spikes can be missed; the
    process's VmHWM bounds them all)."""

    def __init__(self, interval_s: float = 0.02):
        self.stage = "start"
        self.peaks_mb: dict[str, float] = {}
        self._interval_s = interval_s
        threading.Thread(target=self._sample, daemon=True).start()

    def __call__(self, stage: str, done: int | None = None, total: int | None = None) -> None:
        self.stage = stage

    def _sample(self) -> None:
        page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
        while True:
            with open("/proc/self/statm") as statm:
                rss_mb = int(statm.read().split()[1]) * page_mb
            self.peaks_mb[self.stage] = max(self.peaks_mb.get(self.stage, 0.0), rss_mb)
            time.sleep(self._interval_s)


def run_one(scenario_path: Path, out: Path) -> dict:
    """One whole run (no cache): timings, sizes, solver outcome, peak memory (per stage too)."""
    peaks = StagePeaks()
    start = time.perf_counter()
    run, summary, _ = run_scenario(scenario_path, out, progress=peaks)
    wall_s = time.perf_counter() - start
    cells = int((run.demand.kind == "cell").sum())
    return {"wall_s": wall_s, "timings_s": summary["timings_s"], "stage_peaks_mb": peaks.peaks_mb,
            "demand_cells": cells,
            "demand_points": len(run.demand), "candidates": len(run.region.candidates),
            "options": len(run.coverage.options), "nonzeros": int(run.coverage.level_dbm.nnz),
            "pairs": pairs_evaluated(run.region.candidates, run.demand,
                                     run.scenario.technologies),
            "solver": summary["solver"], "map_html_bytes": (out / "map.html").stat().st_size}


def coverage_on_cluster(scenario_path: Path, workers: int) -> dict:
    """The pipeline's coverage stage (inputs, demand, then coverage on ``workers`` local
    workers, cluster start included)."""
    timings: dict[str, float] = {}
    prepare(load_scenario(scenario_path), timings=timings, workers=workers)
    return {"coverage_s": timings[COVERAGE_STAGE],
            "workers_peak_mb": timings[WORKERS_PEAK_MEMORY], "driver_peak_mb": peak_memory_mb()}


def region_scenario(regions: Path, size_km: float) -> Path:
    """The scenario of the region of ``size_km`` in ``regions``, generated when missing."""
    folder = regions / f"region-{size_km:g}km"
    scenario = folder / "scenario.yaml"
    if not scenario.exists():
        print(f"generating {folder} ...", flush=True)
        subprocess.run([sys.executable, str(GENERATOR), "--size-km", f"{size_km:g}", "--out",
                        str(folder)], check=True, stdout=subprocess.DEVNULL)
    return scenario


DEMO_BACKHAUL = Path(__file__).resolve().parents[1] / "data" / "demo" / "scenario_backhaul.yaml"


def backhaul_scenario(scenario_path: Path, capacity: bool = False) -> Path:
    """``scenario_backhaul.yaml`` beside ``scenario_path``: its scenario with the demo's
    ``backhaul`` block (its ``site_traffic_mbps``, link capacity, only with ``capacity``)
    and fiber exchanges at the region's existing 5G sites (written as ``fiber_nodes.gpkg``)."""
    folder = scenario_path.parent
    sites = gpd.read_file(folder / "region.gpkg", layer="candidates")
    exchanges = sites[sites["kind"] == "existing_5g"]
    gpd.GeoDataFrame({"node_id": [f"FX-{s}" for s in exchanges["site_id"]]},
                     geometry=exchanges.geometry.to_numpy(), crs=sites.crs).to_file(
        folder / "fiber_nodes.gpkg", layer="fiber_nodes")
    scenario = yaml.safe_load(scenario_path.read_text(encoding="utf-8"))
    scenario["name"] = f"{scenario['name']}-backhaul"
    scenario["inputs"]["fiber_nodes"] = {"path": "fiber_nodes.gpkg", "layer": "fiber_nodes"}
    scenario["backhaul"] = yaml.safe_load(DEMO_BACKHAUL.read_text(encoding="utf-8"))["backhaul"]
    if not capacity:
        scenario["backhaul"].pop("site_traffic_mbps", None)
    path = folder / "scenario_backhaul.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def scaling_exponent(sizes, seconds) -> float:
    """Slope of log(time) against log(size) (an area, a number of pairs): 1.0 is linear."""
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def _total_s(run: dict) -> float:
    return sum(run["timings_s"][stage] for stage in STAGES)


def _print_runs(sizes_km, runs) -> None:
    print(f"{'stage [s]':<16}" + "".join(f"{f'{s:g} km':>12}" for s in sizes_km))
    rows = {"area [km2]": [f"{s**2:,.0f}" for s in sizes_km],
            "candidates": [f"{r['candidates']:,}" for r in runs],
            "demand cells": [f"{r['demand_cells']:,}" for r in runs],
            "demand points": [f"{r['demand_points']:,}" for r in runs],
            "options": [f"{r['options']:,}" for r in runs],
            "pairs in range": [f"{r['pairs']:,}" for r in runs],
            "matrix nonzeros": [f"{r['nonzeros']:,}" for r in runs]}
    rows |= {stage: [f"{r['timings_s'][stage]:.1f}" for r in runs] for stage in STAGES}
    rows |= {"total": [f"{_total_s(r):.1f}" for r in runs],
             "run_scenario": [f"{r['wall_s']:.1f}" for r in runs],
             "demand cells/s": [f"{r['demand_cells'] / r['timings_s']['build demand']:,.0f}"
                                for r in runs],
             "coverage pairs/s": [f"{r['pairs'] / r['timings_s'][COVERAGE_STAGE]:,.0f}"
                                  for r in runs],
             "peak memory MB": [f"{r['timings_s']['peak_memory_mb']:,.0f}" for r in runs],
             "map.html MB": [f"{r['map_html_bytes'] / 1e6:.2f}" for r in runs],
             "solver status": [r["solver"]["status"] for r in runs],
             "solver gap": ["-" if r["solver"]["gap"] is None else f"{r['solver']['gap']:.4%}"
                            for r in runs]}
    for label, values in rows.items():
        print(f"{label:<16}" + "".join(f"{v:>12}" for v in values))
    print("peak memory [MB] by stage of the largest run: " + ", ".join(
        f"{stage} {mb:,.0f}" for stage, mb in runs[-1]["stage_peaks_mb"].items()))
    print("solver notes of the largest run: " + "; ".join(runs[-1]["solver"]["notes"]))


def _print_exponents(sizes_km, runs) -> None:
    areas = [s**2 for s in sizes_km]
    total_exponent = scaling_exponent(areas, [_total_s(r) for r in runs])
    print(f"scaling exponent of time vs area: total {total_exponent:.2f} (target <= "
          f"{TARGET_EXPONENT}); " + ", ".join(
              f"{s} {scaling_exponent(areas, [r['timings_s'][s] for r in runs]):.2f}"
              for s in STAGES if all(r["timings_s"][s] > 0 for r in runs)))
    without = [_total_s(r) - r["timings_s"]["optimize"] for r in runs]
    pairs = [r["pairs"] for r in runs]
    print(f"  every stage but optimize: {scaling_exponent(areas, without):.2f}; pairs in range "
          f"vs area {scaling_exponent(areas, pairs):.2f} (range edge effects: a small area's "
          f"candidates reach fewer points); coverage time vs pairs "
          f"{scaling_exponent(pairs, [r['timings_s'][COVERAGE_STAGE] for r in runs]):.2f}")
    largest = runs[-1]["timings_s"]["peak_memory_mb"]
    print(f"peak memory of the largest run: {largest:,.0f} MB (target < {TARGET_PEAK_MB:,} MB: "
          f"{'yes' if largest < TARGET_PEAK_MB else 'NO'}); wall time {runs[-1]['wall_s']:,.0f} s")


def pipeline_on_regions(args) -> int:
    """Whole runs of growing sub-areas, then the coverage stage on 1 and 2 workers."""
    regions = Path(args.regions)
    scenarios = [region_scenario(regions, size) for size in args.sizes_km]
    if args.backhaul:
        scenarios = [backhaul_scenario(s, args.capacity) for s in scenarios]
    print(f"whole runs (no cache, fresh process each) of {', '.join(map(str, scenarios))}; "
          f"{os.cpu_count()} CPUs; load average before: {_load()}", flush=True)
    runs = [_child("--run-one", str(s), "--out", str(regions / "bench-out" / s.parent.name))
            for s in scenarios]
    for size, run in zip(args.sizes_km, runs):
        if "error" in run:
            print(f"{size:g} km: no plan: {run['error']}")
    planned = [(size, run) for size, run in zip(args.sizes_km, runs) if "error" not in run]
    if planned:
        _print_runs([size for size, _ in planned], [run for _, run in planned])
    if len(planned) >= 2:
        _print_exponents([size for size, _ in planned], [run for _, run in planned])

    scenario = region_scenario(regions, args.workers_size_km)
    print(f"coverage stage of {scenario} on a LocalCluster (cluster start included):", flush=True)
    seconds = {}
    for workers in (1, 2):
        result = _child("--coverage-on-cluster", str(scenario), "--workers", str(workers))
        if "error" in result:
            print(f"  {workers} worker(s): failed: {result['error']}")
            return 1
        seconds[workers] = result["coverage_s"]
        print(f"  {workers} worker(s): {result['coverage_s']:.1f} s, workers' peak "
              f"{result['workers_peak_mb']:,.0f} MB, driver peak "
              f"{result['driver_peak_mb']:,.0f} MB", flush=True)
    print(f"speedup 2 vs 1 worker (coverage stage): {seconds[1] / seconds[2]:.2f}x (target >= "
          f"{TARGET_SPEEDUP}x)")
    print(f"load average after: {_load()}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--candidates", type=int, default=None)
    parser.add_argument("--windowed", action="store_true")
    parser.add_argument("--regions", default=None,
                        help="folder of the large regions: run the whole pipeline on them")
    parser.add_argument("--sizes-km", type=float, nargs="+", default=[50.0, 100.0, 200.0])
    parser.add_argument("--workers-size-km", type=float, default=100.0)
    parser.add_argument("--backhaul", action="store_true",
                        help="with --regions: plan sites and backhaul together")
    parser.add_argument("--capacity", action="store_true",
                        help="with --backhaul: plan link capacity too (the demo's "
                             "backhaul.site_traffic_mbps)")
    parser.add_argument("--run-one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--coverage-on-cluster", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_one is not None:
        print(json.dumps(run_one(args.run_one, args.out)))
        return 0
    if args.coverage_on_cluster is not None:
        print(json.dumps(coverage_on_cluster(args.coverage_on_cluster, args.workers)))
        return 0
    return pipeline_on_regions(args) if args.regions else coverage_on_demo(args)


if __name__ == "__main__":
    sys.exit(main())

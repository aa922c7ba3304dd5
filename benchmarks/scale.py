"""The coverage stage in-process and on a dask LocalCluster of 1 and 2 workers (demo region).

On the bundled demo region (``data/demo``: 60 km x 60 km, 30 m DEM, both technologies) times
:func:`siting.coverage.build_coverage` in-process (numba over every core) and
:func:`siting.distributed.build_coverage_distributed` on a ``LocalCluster`` of 1 and of 2
single-threaded worker processes (each worker's numba kernels limited to one thread, see
:func:`siting.distributed.client_for`). Every configuration gets one untimed warm-up run (JIT /
numba cache load in fresh worker processes, terrain scatter paths) and then ``--repeat`` timed
runs; the median is printed with the CPU seconds per run (of this process in-process, of the
workers on a cluster), the (candidate, demand) pairs evaluated per second, the 2-vs-1-worker
speedup, and peak memory (VmHWM): the driver's peak RSS (cumulative over the whole benchmark,
so it includes the in-process run) and the sum of the workers' peak RSS (each cluster is fresh,
so that is per configuration). Every distributed matrix is checked to be
identical to the in-process one.

    python benchmarks/scale.py [--repeat 3] [--chunk-size 200] [--candidates N] [--windowed]

``--candidates N`` replaces the demo's 1,101 candidates by N (a seeded sample, or the demo's
plus jittered copies); ``--windowed`` also times the 2-worker run with per-task DEM window reads
(``dem_path=``). The machine is shared: the load average is printed with the results.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from siting.config import load_scenario
from siting.coverage import build_coverage, option_table, pairs_within_range
from siting.demand import build_demand
from siting.distributed import build_coverage_distributed, client_for
from siting.io import read_region

from coverage_scale import scaled_candidates  # same candidate scaling as the coverage benchmark

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "data" / "demo" / "scenario.yaml"


def _peak_rss_mb_self() -> float:
    """Peak RSS [MB] of this process: VmHWM (``ru_maxrss`` would carry a spawned worker's
    parent's peak over fork + exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # pragma: no cover


def _cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def pairs_evaluated(candidates, demand, technologies) -> int:
    """(candidate, demand) pairs within range, for the candidates allowing each technology."""
    options = option_table(candidates, technologies)
    x = candidates.geometry.x.to_numpy()
    y = candidates.geometry.y.to_numpy()
    total = 0
    for tech in technologies:
        sites = options.loc[options["technology"] == tech.name, "candidate"].to_numpy()
        pair_tx, _ = pairs_within_range(x[sites], y[sites], demand.x_m, demand.y_m,
                                        tech.max_range_m)
        total += len(pair_tx)
    return total


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk-size", type=int, default=200)
    parser.add_argument("--candidates", type=int, default=None)
    parser.add_argument("--windowed", action="store_true")
    args = parser.parse_args(argv)

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
    n_chunks = -(-len(candidates) // args.chunk_size)
    print(f"demo region: DEM {terrain.shape[0]} x {terrain.shape[1]} cells at "
          f"{terrain.cell_size_m:g} m, {len(candidates)} candidates, {len(demand)} demand points, "
          f"{len(techs)} technologies, {pairs:,} pairs within range; chunk size "
          f"{args.chunk_size} ({n_chunks} chunks); {os.cpu_count()} CPUs; median of "
          f"{args.repeat} after a warm-up run")
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"{'configuration':<34}{'wall s':>8}{'cpu s':>8}{'pairs/s':>11}{'driver peak MB':>16}"
          f"{'workers peak MB':>17}  runs s")

    def report(label, median, times, cpu, workers_mb=None):
        workers = f"{workers_mb:>17.0f}" if workers_mb is not None else f"{'-':>17}"
        print(f"{label:<34}{median:>8.2f}{cpu:>8.2f}{pairs / median:>11,.0f}"
              f"{_peak_rss_mb_self():>16.0f}{workers}  {' '.join(f'{t:.2f}' for t in times)}",
              flush=True)

    median, times, reference, cpu = _timed(
        lambda: build_coverage(terrain, candidates, demand, techs, settings, ue), args.repeat,
        _cpu_s)
    report("in-process (numba, all cores)", median, times, cpu)

    results = {}
    configs = [(1, False), (2, False)] + ([(2, True)] if args.windowed else [])
    for workers, windowed in configs:
        extra = {"dem_path": scenario.inputs.dem} if windowed else {}
        with client_for(None, workers) as client:
            client.wait_for_workers(workers)
            median, times, got, cpu = _timed(
                lambda: build_coverage_distributed(client, terrain, candidates, demand, techs,
                                                   settings, ue, chunk_size=args.chunk_size,
                                                   **extra), args.repeat,
                lambda: sum(client.run(_cpu_s).values()))
            worker_mb = sum(client.run(_peak_rss_mb_self).values())
        if not _same(got, reference):
            print(f"MISMATCH: {workers} worker(s) windowed={windowed} differ from in-process")
            return 1
        results[(workers, windowed)] = median
        label = f"LocalCluster {workers} worker{'s' if workers > 1 else ''}" + (
            ", DEM windows" if windowed else "")
        report(label, median, times, cpu, worker_mb)
    speedup = results[(1, False)] / results[(2, False)]
    print(f"speedup 2 vs 1 worker (coverage stage): {speedup:.2f}x")
    print("every distributed matrix identical to the in-process one: yes")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The coverage stage with each path-loss model against today's engine (TR 38.901 RMa + Deygout).

On the bundled demo region (``data/demo/scenario.yaml``: 60 km x 60 km, 30 m DEM, 1,101
candidates) and on the 100 km x 100 km synthetic region of the scale benchmark
(``scripts/make_large_region.py``, generated into ``--regions DIR/region-100km`` when missing, as
``benchmarks/scale.py --regions`` does), times :func:`siting.coverage.build_coverage` in-process
(numba over every core) with every technology of the scenario switched to each model of
:data:`MODELS`, after one warm-up call on a few candidates (JIT / numba cache load). Prints per
region and model the median wall time of ``--repeat`` runs and its ratio to the baseline (the
first model), the share of demand points covered, and the share whose covered / uncovered
verdict differs from the baseline's (covered: some option's level at or above its technology's
threshold, as in the coverage matrix).

    python benchmarks/coverage_models.py [--repeat 3] [--regions /tmp/large]
                                         [--sizes-km 100] [--no-demo]

A model is one :class:`Model` in :data:`MODELS`: its name and how it turns a technology
profile into one that uses it. Adding ITM (Longley-Rice) is one more entry.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from siting.config import ItmSettings, P1812Settings, Technology, load_scenario
from siting.coverage import build_coverage
from siting.demand import build_demand
from siting.io import read_region

from scale import region_scenario  # the large regions of the scale benchmark

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo" / "scenario.yaml"
#: Radio-climatic inputs of the P.1812 runs: those of data/demo/scenario_p1812.yaml.
P1812_INPUTS = P1812Settings(time_pct=50.0, location_pct=50.0, delta_n=45.0, n0=325.0)


@dataclass(frozen=True)
class Model:
    """A path-loss model as the benchmark applies it to every technology of a scenario."""

    name: str
    apply: Callable[[Technology], Technology]


#: The models compared, the baseline first (today's engine: the scenario's own technologies).
MODELS = (
    Model("rma_38901 + Deygout", lambda tech: tech),
    Model("p1812", lambda tech: dataclasses.replace(tech, model="p1812", p1812=P1812_INPUTS)),
    Model("itm", lambda tech: dataclasses.replace(tech, model="itm", itm=ItmSettings())),
)


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def covered(coverage) -> np.ndarray:
    """Per demand point: some option reaches its technology's threshold (a stored level)."""
    return np.diff(coverage.level_dbm.indptr) > 0


def time_model(terrain, candidates, demand, technologies, settings, ue_height_m,
               repeat: int) -> tuple[float, list[float], object]:
    """Median wall time [s] of ``repeat`` coverage runs after a warm-up on a few candidates,
    the run times and the last matrix."""
    build_coverage(terrain, candidates.iloc[:5], demand, technologies, settings, ue_height_m)
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = build_coverage(terrain, candidates, demand, technologies, settings, ue_height_m)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def compare_models(label: str, scenario_path: Path, repeat: int) -> list[dict]:
    """Time every model of :data:`MODELS` on one region and print its rows."""
    scenario = load_scenario(scenario_path)
    region = read_region(scenario)
    demand = build_demand(region, scenario.demand)
    terrain, candidates = region.terrain, region.candidates
    print(f"\n{label}: DEM {terrain.shape[0]} x {terrain.shape[1]} cells at "
          f"{terrain.cell_size_m:g} m, {len(candidates):,} candidates, {len(demand):,} demand "
          f"points, technologies {', '.join(t.name for t in scenario.technologies)}; "
          f"median of {repeat}; load average {_load()}", flush=True)
    print(f"{'model':<22}{'median s':>10}{'x baseline':>12}{'covered %':>11}"
          f"{'verdict changed %':>19}  runs s")
    rows, baseline = [], None
    for model in MODELS:
        technologies = tuple(model.apply(t) for t in scenario.technologies)
        median, times, coverage = time_model(terrain, candidates, demand, technologies,
                                             scenario.coverage, scenario.demand.ue_height_m,
                                             repeat)
        verdict = covered(coverage)
        if baseline is None:
            baseline = (median, verdict)
        changed = float(np.mean(verdict != baseline[1]))
        row = dict(region=label, model=model.name, median_s=median, ratio=median / baseline[0],
                   covered=float(verdict.mean()), changed=changed)
        rows.append(row)
        print(f"{model.name:<22}{median:>10.2f}{row['ratio']:>12.2f}{100 * row['covered']:>11.1f}"
              f"{100 * changed:>19.1f}  {' '.join(f'{t:.2f}' for t in times)}", flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--regions", type=Path, default=Path("/tmp/siting-regions"),
                        help="folder of the large synthetic regions (generated when missing)")
    parser.add_argument("--sizes-km", type=float, nargs="*", default=[100.0])
    parser.add_argument("--no-demo", action="store_true", help="skip the demo region")
    args = parser.parse_args(argv)
    print(f"coverage stage per model, in-process on {os.cpu_count()} CPUs; baseline: "
          f"{MODELS[0].name}")
    regions = [] if args.no_demo else [("demo (60 km)", DEMO)]
    regions += [(f"region {size:g} km", region_scenario(args.regions, size))
                for size in args.sizes_km]
    rows = [row for label, path in regions for row in compare_models(label, path, args.repeat)]
    print("\nsummary (time ratio to the baseline; share of demand points whose verdict changes)")
    for row in rows[1:]:
        if row["model"] != MODELS[0].name:
            print(f"  {row['region']:<16} {row['model']:<12} {row['ratio']:.2f}x  "
                  f"{100 * row['changed']:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())

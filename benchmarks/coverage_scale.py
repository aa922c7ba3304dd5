"""How the coverage matrix's cost grows with the number of candidates (demo region).

On the bundled demo region (``data/demo``: 60 km x 60 km, 30 m DEM, its demand points and both
technologies), times :func:`siting.coverage.build_coverage` for 100, 1,000 and 5,000
candidates after a warm-up (JIT) run. Up to the demo's 1,101 candidates a seeded sample is used;
beyond, the demo candidates are replicated with a seeded jitter of up to +-500 m (kept inside the
DEM). Prints per size: the (candidate, demand) pairs evaluated (within the technology's range,
for the candidates that allow it, summed over technologies), profile samples, seconds (median of
3 runs below 5,000 candidates, one run at 5,000), pairs/s, samples/s, the growth exponent of the
time between consecutive sizes (log t2/t1 / log n2/n1; 1.0 is linear) and the peak RSS so far.
Then the demo's own coverage (every candidate x 2 technologies, median of 3), which issue 3
wants under 60 s after the JIT run and under 4 GB.

    python benchmarks/coverage_scale.py [--sizes 100 1000 5000] [--repeat 3]
                                        [--coverage-module PATH]

``--coverage-module`` loads another implementation of ``siting/coverage.py`` from a file (for
before/after comparisons of the kernel).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from siting.config import load_scenario
from siting.demand import build_demand
from siting.io import read_region

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "data" / "demo" / "scenario.yaml"


def load_coverage_module(path: str | None):
    if path is None:
        import siting.coverage as module
        return module
    # a private copy, so numba's on-disk cache (kept beside the file, keyed by its path) never
    # mixes this run's module name with another's
    copy = Path(tempfile.mkdtemp(prefix="coverage_under_test_")) / "coverage_under_test.py"
    shutil.copyfile(path, copy)
    spec = importlib.util.spec_from_file_location("coverage_under_test", copy)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # the cache re-imports the module by name
    spec.loader.exec_module(module)
    return module


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def scaled_candidates(candidates, n: int, terrain, seed: int = 0):
    """``n`` candidates: a seeded sample of the demo's, or all of them plus jittered copies."""
    rng = np.random.default_rng(seed)
    m = len(candidates)
    if n <= m:
        return candidates.iloc[np.sort(rng.choice(m, n, replace=False))]
    source = rng.integers(0, m, n - m)
    copies = candidates.iloc[source].copy()
    xmin, ymin, xmax, ymax = terrain.bounds
    margin = terrain.cell_size_m
    x = np.clip(copies.geometry.x.to_numpy() + rng.uniform(-500, 500, n - m), xmin + margin,
                xmax - margin)
    y = np.clip(copies.geometry.y.to_numpy() + rng.uniform(-500, 500, n - m), ymin + margin,
                ymax - margin)
    copies = copies.set_geometry(gpd.points_from_xy(x, y, crs=candidates.crs))
    copies.index = [f"{sid}~{k}" for k, sid in enumerate(copies.index)]
    return pd.concat([candidates, copies])


def pairs_and_samples(coverage, terrain, candidates, demand, technologies) -> tuple[int, int]:
    """Pairs within range (allowed candidates only) and profile samples, as the kernel sees them."""
    options = coverage.option_table(candidates, technologies)
    x = candidates.geometry.x.to_numpy()
    y = candidates.geometry.y.to_numpy()
    tree = cKDTree(np.column_stack([demand.x_m, demand.y_m]))
    n_pairs = n_samples = 0
    for tech in technologies:
        sites = options.loc[options["technology"] == tech.name, "candidate"].to_numpy()
        if len(sites) == 0:
            continue
        neighbours = tree.query_ball_point(np.column_stack([x[sites], y[sites]]), r=tech.max_range_m)
        for site, rx in zip(sites, neighbours):
            rx = np.asarray(rx, dtype=np.int64)
            length_cells = (np.hypot(demand.x_m[rx] - x[site], demand.y_m[rx] - y[site])
                            / terrain.cell_size_m)
            n_pairs += len(rx)
            n_samples += int(np.maximum(3, np.ceil(length_cells) + 1).sum())
    return n_pairs, n_samples


def time_coverage(coverage, terrain, candidates, demand, scenario, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        coverage.build_coverage(terrain, candidates, demand, scenario.technologies,
                                scenario.coverage, scenario.demand.ue_height_m)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size below 5,000 (median)")
    parser.add_argument("--coverage-module", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    coverage = load_coverage_module(args.coverage_module)
    scenario = load_scenario(SCENARIO)
    region = read_region(scenario)
    demand = build_demand(region, scenario.demand)
    terrain = region.terrain
    print(f"demo region: DEM {terrain.shape[0]} x {terrain.shape[1]} cells of "
          f"{terrain.cell_size_m:g} m, {len(demand)} demand points, "
          f"{len(region.candidates)} candidates, technologies "
          f"{', '.join(f'{t.name} ({t.max_range_m / 1000:g} km)' for t in scenario.technologies)}; "
          f"implementation {coverage.__file__}")

    start = time.perf_counter()  # warm-up: JIT compile (or load the numba cache)
    coverage.build_coverage(terrain, region.candidates.iloc[:20], demand, scenario.technologies,
                            scenario.coverage, scenario.demand.ue_height_m)
    print(f"warm-up (JIT) run on 20 candidates: {time.perf_counter() - start:.2f} s")

    header = (f"{'candidates':>10} {'pairs':>11} {'samples':>13} {'seconds':>8} {'pairs/s':>11} "
              f"{'samples/s':>12} {'exp(time)':>9} {'peak RSS':>9}")
    print(header)
    print("-" * len(header))
    previous = None
    for n in args.sizes:
        cands = scaled_candidates(region.candidates, n, terrain, args.seed)
        n_pairs, n_samples = pairs_and_samples(coverage, terrain, cands, demand, scenario.technologies)
        seconds = time_coverage(coverage, terrain, cands, demand, scenario,
                                args.repeat if n < 5000 else 1)
        exponent = ("" if previous is None
                    else f"{math.log(seconds / previous[1]) / math.log(n / previous[0]):.2f}")
        print(f"{n:>10,} {n_pairs:>11,} {n_samples:>13,} {seconds:>8.2f} {n_pairs / seconds:>11,.0f} "
              f"{n_samples / seconds:>12.3g} {exponent:>9} {peak_rss_mb():>6.0f} MB", flush=True)
        previous = (n, seconds)

    n_pairs, n_samples = pairs_and_samples(coverage, terrain, region.candidates, demand,
                                           scenario.technologies)
    seconds = time_coverage(coverage, terrain, region.candidates, demand, scenario, args.repeat)
    rss = peak_rss_mb()
    print(f"\ndemo coverage ({len(region.candidates):,} candidates x "
          f"{len(scenario.technologies)} technologies, median of {args.repeat}): {seconds:.2f} s, "
          f"{n_pairs:,} pairs, {n_pairs / seconds:,.0f} pairs/s, {n_samples / seconds:.3g} "
          f"samples/s; peak RSS {rss:.0f} MB "
          f"(targets: < 60 s: {'yes' if seconds < 60 else 'NO'}, < 4 GB: "
          f"{'yes' if rss < 4096 else 'NO'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

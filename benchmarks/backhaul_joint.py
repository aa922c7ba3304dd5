"""The joint site + backhaul plan on the demo region, against sites first and backhaul then.

On the bundled demo with backhaul (``data/demo/scenario_backhaul.yaml``: roads along the
valleys, fiber exchanges in the towns, fiber on 25 existing sites, the issue's two microwave
bands; coverage and microwave links from the on-disk cache when there), through the library
as ``siting run`` does it (:func:`siting.prepare`, then :meth:`Study.plan`, whose baselines
stage makes :func:`siting.plan.backhaul_comparison`). Prints the backhaul inputs' time and
size, the joint MIP's size (the solver's notes), solve time, status and proven gap, then the
joint plan and "plan sites as today, then add the cheapest backhaul to each" side by side:
site, backhaul and total cost, people and mandatory points covered.

With ``--phased``, the five-year demo with backhaul (``data/demo/scenario_phased_backhaul.yaml``,
each year's 9 M CNY paying for its sites and their feeds) instead, and per year what it builds:
site and backhaul cost, people and mandatory points covered at the year's end.

    python benchmarks/backhaul_joint.py [--objective max_coverage|min_cost] [--phased]
                                        [--satellite-cny-per-year 80000] [--time-limit-s 120]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import siting
from siting.cache import default_cache_dir
from siting.pipeline import BACKHAUL_STAGE
from siting.plan import phase_kpis

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
DEMO_BACKHAUL = DEMO / "scenario_backhaul.yaml"
DEMO_PHASED_BACKHAUL = DEMO / "scenario_phased_backhaul.yaml"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objective", default=None, choices=["max_coverage", "min_cost"],
                        help="default: the scenario's (max_coverage)")
    parser.add_argument("--satellite-cny-per-year", type=float, default=None)
    parser.add_argument("--time-limit-s", type=float, default=None)
    parser.add_argument("--phased", action="store_true",
                        help="the five-year demo with backhaul (scenario_phased_backhaul.yaml)")
    return parser.parse_args()


def scenario_of(args):
    """The demo backhaul scenario with the command line's changes."""
    scenario = siting.load_scenario(DEMO_PHASED_BACKHAUL if args.phased else DEMO_BACKHAUL)
    if args.satellite_cny_per_year is not None:
        scenario = dataclasses.replace(scenario, backhaul=dataclasses.replace(
            scenario.backhaul, satellite_cny_per_year=args.satellite_cny_per_year))
    return scenario


def print_comparison(comparison) -> None:
    """The joint plan and the plan of two steps, side by side."""
    print(f"{'plan':<70} {'sites M':>8} {'backhaul M':>10} {'total M':>8} {'people':>9} "
          f"{'mandatory':>9}")
    for row in comparison:
        print(f"{row.label:<70} {row.site_cost_cny / 1e6:8.2f} {row.backhaul_cost_cny / 1e6:10.2f} "
              f"{row.total_cost_cny / 1e6:8.2f} {row.people_covered:9,.0f} "
              f"{row.mandatory_covered:9d}")


def print_phases(plan) -> None:
    """A phased plan's years: what each builds and where coverage stands at its end."""
    print(f"{'year':<6} {'sites':>5} {'site M':>7} {'backhaul M':>10} {'people':>9} "
          f"{'mandatory':>9}")
    for year in phase_kpis(plan.plan, plan.coverage, plan.demand):
        print(f"{year.label:<6} {year.new_sites + year.upgrades:5d} {year.cost_cny / 1e6:7.2f} "
              f"{year.backhaul_cost_cny / 1e6:10.2f} {year.people_covered:9,.0f} "
              f"{year.mandatory_covered:9d}")


def main() -> None:
    args = parse_args()
    study = siting.prepare(scenario_of(args), cache_dir=default_cache_dir())
    network = study.backhaul
    print(f"backhaul inputs {study.timings_s[BACKHAUL_STAGE]:.1f} s (links from the cache when "
          f"there): {len(network.fiber)} sites, {int((~network.needs_backhaul).sum())} with "
          f"fiber on site, {len(network.links)} feasible links "
          f"({network.links.groupby('band_ghz').size().to_dict()} by band)")
    overrides = {k: v for k, v in (("type", args.objective), ("time_limit_s", args.time_limit_s))
                 if v is not None}
    start = time.perf_counter()
    plan = study.plan(**overrides)
    seconds = time.perf_counter() - start
    sol = plan.plan.solution
    for note in sol.notes:
        print("  note:", note)
    print(f"optimize {plan.timings_s['optimize']:.1f} s, with the baselines {seconds:.1f} s: "
          f"{sol.status}, proven gap {sol.gap:.2e} ({sol.solver})")
    feeds = plan.plan.backhaul.feeds
    kinds = {k: int(((feeds.backhaul == k) & feeds.on_air & network.needs_backhaul).sum())
             for k in ("fiber", "microwave", "satellite")}
    print(f"feeds of the joint plan: {kinds}, {int((feeds.on_air & ~network.needs_backhaul).sum())}"
          f" with fiber on site, deepest hop {feeds.hop_level.max()}")
    if plan.plan.phase_labels:
        print_phases(plan)
    print_comparison(plan.backhaul_baselines)


if __name__ == "__main__":
    main()

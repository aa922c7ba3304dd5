"""The joint site + backhaul model on the demo region: its size and solve time.

On the bundled demo region (``data/demo``, coverage from the on-disk cache when there is one),
with the synthetic backhaul inputs of ``benchmarks/backhaul_prep.py`` (fiber nodes at the
towns' existing sites, which need no backhaul; minimum-spanning-tree roads through the
villages): fiber route costs for every candidate (:func:`siting.backhaul.fiber_routes`),
feasible microwave links for the issue's two bands (15 GHz up to 25 km at 120,000 CNY, 23 GHz
up to 12 km at 90,000 CNY), optionally satellite. Solves
:func:`siting.optimize.backhaul.solve_with_backhaul` with the demo scenario's options, costs,
groups, fixed options, reachable mandatory rows (as must-cover), budget and quota, and prints
the model's size (from the solution's notes), the time, status and gap, the cost split and
the feeds. Next to it, the plan of ``study.plan()`` (backhaul ignored) for reference.

    python benchmarks/backhaul_joint.py [--objective max_coverage] [--max-hops 3]
                                        [--satellite-cny 400000] [--time-limit-s 120]
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import numpy as np
import pandas as pd
from backhaul_prep import (
    BANDS,
    DEMO,
    DETOUR_FACTOR,
    FIBER_CNY_PER_KM_OFFROAD,
    FIBER_CNY_PER_KM_ROAD,
    demo_terrain,
    fiber_nodes,
    synthetic_roads,
)

import siting
from siting.backhaul import fiber_routes, microwave_links
from siting.cache import default_cache_dir
from siting.errors import InfeasibleError
from siting.optimize.backhaul import solve_with_backhaul
from siting.plan import reachable_need

#: Cost of one microwave link per band [CNY] (the issue's example).
LINK_CNY = {15.0: 120_000.0, 23.0: 90_000.0}


def backhaul_inputs(candidates: gpd.GeoDataFrame):
    """Fiber cost per candidate [CNY], which need no backhaul, and the feasible links."""
    region = DEMO / "region.gpkg"
    zones = gpd.read_file(region, layer="zones")
    villages = gpd.read_file(region, layer="villages")
    nodes = fiber_nodes(candidates, zones)
    x, y = candidates.geometry.x.to_numpy(), candidates.geometry.y.to_numpy()
    routes = fiber_routes(x, y, nodes.geometry.x.to_numpy(), nodes.geometry.y.to_numpy(),
                          nodes["site_id"], fiber_cny_per_km_road=FIBER_CNY_PER_KM_ROAD,
                          fiber_cny_per_km_offroad=FIBER_CNY_PER_KM_OFFROAD,
                          detour_factor=DETOUR_FACTOR,
                          roads=synthetic_roads(zones, villages, 30.0))
    terrain = demo_terrain()
    tables = []
    for band in BANDS:
        found = microwave_links(terrain, x, y, candidates["antenna_height_m"].to_numpy(), **band)
        found = found[found["feasible"]]
        tables.append(pd.DataFrame({"site_a": found["site_i"], "site_b": found["site_j"],
                                    "cost_cny": LINK_CNY[band["band_ghz"]],
                                    "band_ghz": band["band_ghz"]}))
    needs = ~candidates["site_id"].isin(nodes["site_id"]).to_numpy()
    return routes["cost_cny"].to_numpy(), needs, pd.concat(tables, ignore_index=True)


def solve(coverage, costs, demand, scenario, args, fiber_cny, needs, links):
    """The joint plan with the demo scenario's options, rules and solver settings."""
    objective, settings = scenario.objective, scenario.solver
    return solve_with_backhaul(
        coverage.covers, costs.total_cny, objective=args.objective, weight=demand.people,
        must_cover=reachable_need(coverage.covers, demand),
        budget=objective.budget_cny if args.objective == "max_coverage" else None,
        max_options=objective.max_new_sites, counted=costs.new_site, fixed=costs.fixed,
        groups=costs.group, site_of_option=coverage.options["candidate"].to_numpy(),
        fiber_cost_cny=fiber_cny, links=links, satellite_cost_cny=args.satellite_cny, max_hops=args.max_hops,
        site_needs_backhaul=needs, time_limit_s=args.time_limit_s,
        mip_gap=settings.mip_gap, seed=settings.seed)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objective", default="max_coverage",
                        choices=["max_coverage", "min_cost"])
    parser.add_argument("--max-hops", type=int, default=3)
    parser.add_argument("--satellite-cny", type=float, default=None)
    parser.add_argument("--time-limit-s", type=float, default=120.0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    study = siting.prepare(DEMO / "scenario.yaml", cache_dir=default_cache_dir())
    reference = study.plan()
    coverage, costs, demand = reference.coverage, reference.plan.costs, reference.demand
    candidates = gpd.read_file(DEMO / "region.gpkg", layer="candidates")
    t0 = time.perf_counter()
    fiber_cny, needs, links = backhaul_inputs(candidates)
    print(f"backhaul inputs {time.perf_counter() - t0:.1f} s: {len(candidates)} sites, "
          f"{int((~needs).sum())} with fiber, {len(links)} feasible links "
          f"({links.groupby('band_ghz').size().to_dict()} by band)")
    site_of_option = coverage.options["candidate"].to_numpy()
    t0 = time.perf_counter()
    try:
        result = solve(coverage, costs, demand, study.scenario, args, fiber_cny, needs, links)
    except InfeasibleError as exc:
        print(f"infeasible after {time.perf_counter() - t0:.1f} s: {exc}")
        return
    seconds = time.perf_counter() - t0
    sol = result.solution
    print(f"{coverage.covers.shape[1]} options x {coverage.covers.shape[0]} demand rows, "
          f"objective {args.objective}, max_hops {args.max_hops}, satellite "
          f"{args.satellite_cny}")
    for note in sol.notes:
        print("  note:", note)
    print(f"solve {seconds:.1f} s: {sol.status}, gap {sol.gap:.2e}, {sol.solver}")
    people = demand.people[coverage.covers[:, sol.selected].getnnz(axis=1) > 0].sum()
    print(f"joint plan: {sol.selected.size} options, {people:,.0f} people, sites "
          f"{result.site_cost_cny / 1e6:.2f} M + backhaul {result.total_backhaul_cny / 1e6:.2f} "
          f"M CNY; feeds {pd.Series(result.backhaul[result.on_air]).value_counts().to_dict()}, "
          f"deepest hop {result.hop_level.max()}, {int(result.backhaul_blocked.sum())} "
          f"must-cover rows left to backhaul")
    existing = np.unique(site_of_option[costs.fixed])
    print(f"  backhaul of the {existing.size} existing sites: "
          f"{result.backhaul_cost_cny[existing].sum() / 1e6:.2f} M CNY")
    ref = reference.plan.selected
    ref_people = demand.people[coverage.covers[:, ref].getnnz(axis=1) > 0].sum()
    print(f"plan without backhaul: {ref.size} options, {ref_people:,.0f} people, sites "
          f"{costs.total_cny[ref].sum() / 1e6:.2f} M CNY")


if __name__ == "__main__":
    main()

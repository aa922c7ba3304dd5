"""Backhaul preparation on the demo region: fiber routing and microwave link screening, timed.

On the bundled demo region (``data/demo``: 60 km x 60 km, 30 m DEM, 1,101 candidates from
``region.gpkg`` layer ``candidates``), with synthetic backhaul inputs (the demo has none yet):

- **fiber nodes**: in each of the eight zones (city centre, county towns, parks), the existing
  site (``existing_*`` kind) nearest the zone's centroid, as the exchange of that town;
- **roads**: straight lines forming the minimum spanning tree over the zone centroids and the
  340 villages (each village reached by the shortest line that joins it to the network),
  densified to one vertex every ``--vertex-spacing-m`` (default 30 m, a DEM cell, like a
  digitised road) so the graph has tens of thousands of nodes.

Times, after one untimed warm-up run (numba JIT / cache load), the median of ``--repeat`` runs
of :func:`siting.backhaul.fiber_routes` (graph building, attaching the points, one
multi-source Dijkstra, route geometries) for every candidate, and of
:func:`siting.backhaul.microwave_links` for every pair of candidates within each band of the
issue's example (15 GHz up to 25 km, 23 GHz up to 12 km). Figures only; nothing is written.

    python benchmarks/backhaul_prep.py [--repeat 3] [--vertex-spacing-m 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial.distance import pdist, squareform

from siting.backhaul import build_road_graph, fiber_routes, microwave_links
from siting.terrain import Terrain

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
BANDS = ({"band_ghz": 15.0, "max_hop_m": 25_000.0}, {"band_ghz": 23.0, "max_hop_m": 12_000.0})
FIBER_CNY_PER_KM_ROAD = 60_000.0
FIBER_CNY_PER_KM_OFFROAD = 150_000.0
DETOUR_FACTOR = 1.4


def demo_terrain() -> Terrain:
    """The demo DEM."""
    with rasterio.open(DEMO / "dem.tif") as dem:
        return Terrain(dem.read(1).astype(np.float32), dem.transform, dem.crs)


def fiber_nodes(candidates: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Per zone, the existing site nearest its centroid (one node per site)."""
    existing = candidates[candidates["kind"].str.startswith("existing")]
    nearest = [int(existing.distance(centre).to_numpy().argmin()) for centre in zones.centroid]
    return existing.iloc[sorted(set(nearest))]


def synthetic_roads(zones: gpd.GeoDataFrame, villages: gpd.GeoDataFrame,
                    vertex_spacing_m: float) -> gpd.GeoSeries:
    """Straight roads of the minimum spanning tree over the zone centroids and the villages."""
    points = np.vstack([shapely.get_coordinates(zones.centroid),
                        shapely.get_coordinates(villages.geometry)])
    tree = minimum_spanning_tree(squareform(pdist(points))).tocoo()
    lines = shapely.linestrings(np.stack([points[tree.row], points[tree.col]], axis=1))
    return gpd.GeoSeries(shapely.segmentize(lines, vertex_spacing_m), crs=zones.crs)


def timed(function, repeat: int) -> tuple[float, object]:
    """Median wall time [s] of ``repeat`` calls after one warm-up call, and the last result."""
    result = function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def bench_fiber(candidates, nodes, roads, repeat: int) -> None:
    """Print the fiber routing time and a summary of the routes."""
    x, y = candidates.geometry.x.to_numpy(), candidates.geometry.y.to_numpy()
    graph_s, graph = timed(lambda: build_road_graph(roads), repeat)
    seconds, routes = timed(lambda: fiber_routes(
        x, y, nodes.geometry.x.to_numpy(), nodes.geometry.y.to_numpy(), nodes["site_id"],
        fiber_cny_per_km_road=FIBER_CNY_PER_KM_ROAD,
        fiber_cny_per_km_offroad=FIBER_CNY_PER_KM_OFFROAD, detour_factor=DETOUR_FACTOR,
        roads=roads), repeat)
    n_vertices = int(shapely.get_num_coordinates(roads).sum())
    print(f"fiber: {len(candidates)} candidates, {len(nodes)} fiber nodes, {len(roads)} roads "
          f"({roads.length.sum() / 1000:.0f} km, {n_vertices} vertices) -> graph of "
          f"{graph.n_nodes} nodes, {len(graph.edge_from)} edges")
    print(f"  build_road_graph {graph_s:.3f} s; fiber_routes (graph, attach, dijkstra, "
          f"geometries) {seconds:.3f} s")
    print(f"  routes: {routes['via_roads'].mean():.0%} along roads, median cost "
          f"{routes['cost_cny'].median() / 1e4:.1f} x 10^4 CNY, median length "
          f"{routes['length_m'].median() / 1000:.1f} km")


def bench_microwave(terrain: Terrain, candidates, repeat: int) -> None:
    """Print the link screening time per band, and against walking every blocked pair to its
    end for its smallest clearance (``exact=True``)."""
    x, y = candidates.geometry.x.to_numpy(), candidates.geometry.y.to_numpy()
    height = candidates["antenna_height_m"].to_numpy()
    for band in BANDS:
        seconds, links = timed(lambda band=band: microwave_links(terrain, x, y, height, **band),
                                 repeat)
        exact_s, _ = timed(lambda band=band: microwave_links(terrain, x, y, height, exact=True,
                                                             **band), repeat)
        samples = float((2.0 * links["distance_m"] / terrain.cell_size_m).sum())
        print(f"microwave {band['band_ghz']:g} GHz, hops <= {band['max_hop_m'] / 1000:g} km: "
              f"{len(links)} pairs, {links['feasible'].mean():.1%} feasible, {seconds:.3f} s "
              f"({len(links) / seconds / 1e3:.0f} k pairs/s, {samples / seconds / 1e6:.0f} M "
              f"path samples/s); every blocked pair walked to its end {exact_s:.3f} s "
              f"({exact_s / seconds:.1f}x)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--vertex-spacing-m", type=float, default=30.0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    region = DEMO / "region.gpkg"
    candidates = gpd.read_file(region, layer="candidates")
    zones = gpd.read_file(region, layer="zones")
    villages = gpd.read_file(region, layer="villages")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; median of "
          f"{args.repeat} runs after a warm-up")
    bench_fiber(candidates, fiber_nodes(candidates, zones),
                synthetic_roads(zones, villages, args.vertex_spacing_m), args.repeat)
    bench_microwave(demo_terrain(), candidates, args.repeat)


if __name__ == "__main__":
    main()

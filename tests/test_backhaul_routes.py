"""Backhaul preparation: fiber routes over tiny hand-made road networks, microwave link
clearance on flat and ridged terrain checked by hand, and the numba screening against the
dense plain-numpy reference on the demo DEM."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
import shapely.ops
from affine import Affine

from siting.backhaul import (build_road_graph, fiber_routes, first_fresnel_radius_m,
                             microwave_links, min_clearance_f1_reference, road_end_gaps)
from siting.backhaul.network import report_road_gaps
from siting.backhaul.microwave import MIN_CLEARANCE_F1
from siting.errors import InputError
from siting.propagation import EARTH_RADIUS_M
from siting.terrain import Terrain

ROOT = Path(__file__).resolve().parents[1]
ROAD_CNY_PER_M = 60.0
OFFROAD_CNY_PER_M = 150.0
DETOUR = 1.4
COSTS = {"fiber_cny_per_km_road": 1000 * ROAD_CNY_PER_M,
         "fiber_cny_per_km_offroad": 1000 * OFFROAD_CNY_PER_M, "detour_factor": DETOUR}


def lines(*coordinate_lists) -> gpd.GeoSeries:
    """Roads as a GeoSeries of LineStrings in UTM 49N."""
    return gpd.GeoSeries([shapely.LineString(c) for c in coordinate_lists], crs="EPSG:32649")


def routes(candidates, fibers, roads=None, **options):
    """fiber_routes of (x, y) candidates to (id, x, y) fiber nodes."""
    cx, cy = np.array(candidates, float).T
    ids, fx, fy = zip(*fibers)
    return fiber_routes(cx, cy, fx, fy, ids, roads=roads, **COSTS, **options)


# ---------------------------------------------------------------------------------------------
# fiber


T_ROADS = ([(0, 0), (2000, 0)], [(1000, 0), (1000, 1000)])  # a bar and a stem ending on it


def test_t_junction_connects_and_the_route_follows_the_road():
    graph = build_road_graph(lines(*T_ROADS))
    assert graph.n_nodes == 4 and len(graph.edge_from) == 3  # the bar split at the stem's foot
    route = routes([(1000, 1010)], [("F1", 0, -10)], lines(*T_ROADS)).iloc[0]
    # 10 m spur, 1000 m up the stem, 1000 m along the bar, 10 m spur to the fiber node
    assert route.via_roads and route.fiber_node_id == "F1"
    assert route.road_m == pytest.approx(2000.0)
    assert route.offroad_m == pytest.approx(20.0)
    assert route.cost_cny == pytest.approx(2000 * ROAD_CNY_PER_M + 20 * OFFROAD_CNY_PER_M)
    assert shapely.get_coordinates(route.geometry).tolist() == [
        [1000, 1010], [1000, 1000], [1000, 0], [0, 0], [0, -10]]


def test_a_stem_ending_just_short_of_the_bar_is_snapped():
    roads = lines([(0, 0), (2000, 0)], [(1000, 0.6), (1000, 1000)])
    route = routes([(1000, 1010)], [("F1", 0, -10)], roads, snap_tolerance_m=1.0).iloc[0]
    assert route.via_roads and route.road_m == pytest.approx(2000.0, abs=1.0)
    far = routes([(1000, 1010)], [("F1", 0, -10)], roads, snap_tolerance_m=0.5,
                 road_gap_m=0.5).iloc[0]
    assert not far.via_roads  # not snapped: the stem reaches no fiber, the route is direct


@pytest.mark.parametrize("gap_m", [3.0, 8.0])
def test_a_stem_digitised_metres_short_of_the_bar_is_joined_across_the_gap(gap_m):
    # as roads traced by hand over imagery end: a few metres short of the road they meet
    roads = lines([(0, 0), (2000, 0)], [(1000, gap_m), (1000, 1000)])
    route = routes([(1000, 1010)], [("F1", 0, -10)], roads).iloc[0]
    # 10 m spur, the stem, the gap, 1000 m along the bar, 10 m spur
    road_m = (1000 - gap_m) + gap_m + 1000
    assert route.via_roads and route.road_m == pytest.approx(road_m)
    assert route.cost_cny == pytest.approx(road_m * ROAD_CNY_PER_M + 20 * OFFROAD_CNY_PER_M)
    assert route.geometry.length == pytest.approx(route.length_m)
    apart = routes([(1000, 1010)], [("F1", 0, -10)], roads, road_gap_m=gap_m - 1).iloc[0]
    assert not apart.via_roads  # a gap wider than road_gap_m stays open


def test_roads_ending_a_few_metres_apart_are_joined_end_to_end():
    # one road drawn as two parts of a MultiLineString that stop 4 m apart, and a spur whose
    # end stops 6 m short of the far part's end
    roads = gpd.GeoSeries([shapely.MultiLineString([[(0, 0), (1000, 0)], [(1004, 0), (2000, 0)]]),
                           shapely.LineString([(2000, 1000), (2000, 6)])], crs="EPSG:32649")
    route = routes([(2000, 1010)], [("F1", 0, -10)], roads).iloc[0]
    assert route.via_roads
    assert route.road_m == pytest.approx(994 + 6 + 996 + 4 + 1000)
    assert route.cost_cny == pytest.approx(3000 * ROAD_CNY_PER_M + 20 * OFFROAD_CNY_PER_M)


def test_a_dead_end_beside_another_road_is_joined_only_to_another_road():
    # a hairpin: the road's own end lies 5 m from its other leg, and no other road is near
    hairpin = lines([(0, 0), (1000, 0), (1000, 100), (5, 100), (5, 5)])
    assert len(build_road_graph(hairpin).edge_from) == 4
    assert road_end_gaps(hairpin, within_m=50).size == 0


def test_road_end_gaps_lists_the_ends_short_of_another_road():
    roads = lines([(0, 0), (2000, 0)], [(500, 3), (500, 800)], [(900, 30), (900, 800)],
                  [(1500, 0.5), (1500, 800)], [(1800, 300), (1800, 800)])
    # the stems stop 3 m, 30 m, 0.5 m (touching) and 300 m short of the bar
    assert sorted(road_end_gaps(roads, within_m=50).tolist()) == pytest.approx([3.0, 30.0])


def test_crossing_roads_connect_without_a_shared_vertex():
    roads = lines([(0, 0), (2000, 0)], [(1000, -1000), (1000, 1000)])
    assert build_road_graph(roads).n_nodes == 5
    route = routes([(1000, 1000)], [("F1", 0, 0)], roads).iloc[0]
    assert route.road_m == pytest.approx(2000.0) and route.offroad_m == pytest.approx(0.0)
    assert route.cost_cny == pytest.approx(2000 * ROAD_CNY_PER_M)


def test_a_fiber_node_near_by_air_but_far_by_road_is_reached_off_road():
    # the only road from the candidate's side loops 10.5 km round to the fiber node
    roads = lines([(0, 0), (5000, 0)], [(5000, 0), (5000, 500), (0, 500)])
    route = routes([(0, 520)], [("F1", 0, 0)], roads).iloc[0]
    by_road = 10_500 * ROAD_CNY_PER_M + 20 * OFFROAD_CNY_PER_M
    direct = 520 * DETOUR * OFFROAD_CNY_PER_M
    assert direct < by_road
    assert not route.via_roads and route.road_m == 0.0
    assert route.offroad_m == pytest.approx(520 * DETOUR)
    assert route.cost_cny == pytest.approx(direct)
    assert shapely.get_coordinates(route.geometry).tolist() == [[0, 520], [0, 0]]


def test_the_fiber_node_nearer_by_road_beats_the_one_nearer_by_air():
    roads = lines([(0, 0), (10_000, 0)])
    fibers = [("by_air", 5000, 800), ("by_road", 6000, -5)]
    route = routes([(5000, 10)], fibers, roads).iloc[0]
    # by air the other node is nearer (790 m < 1000 m); its best route (two spurs meeting at
    # the road, 810 m off road) costs 121,500 CNY, direct 165,900
    assert math.dist((5000, 10), (5000, 800)) < math.dist((5000, 10), (6000, -5))
    assert route.fiber_node_id == "by_road"
    assert route.cost_cny == pytest.approx(1000 * ROAD_CNY_PER_M + 15 * OFFROAD_CNY_PER_M)
    assert route.road_m == pytest.approx(1000.0) and route.offroad_m == pytest.approx(15.0)


def test_a_road_piece_without_fiber_falls_back_to_the_direct_route():
    roads = lines([(0, 0), (1000, 0)], [(0, 3000), (1000, 3000)])  # two separate pieces
    table = routes([(900, 10), (1000, 3010)], [("F1", 0, -10)], roads)
    assert table.via_roads.tolist() == [True, False]
    assert table.cost_cny[0] == pytest.approx(900 * ROAD_CNY_PER_M + 20 * OFFROAD_CNY_PER_M)
    assert table.cost_cny[1] == pytest.approx(
        math.dist((1000, 3010), (0, -10)) * DETOUR * OFFROAD_CNY_PER_M)


def demo_fiber_routes(roads: gpd.GeoSeries) -> gpd.GeoDataFrame:
    """Every demo candidate's fiber route over ``roads`` to the demo's fiber (nodes and sites
    with fiber on site), at the test's prices."""
    region = ROOT / "data" / "demo" / "region.gpkg"
    sites = gpd.read_file(region, layer="candidates")
    nodes = gpd.read_file(region, layer="fiber_nodes")
    fiber = pd.concat([nodes.set_index("node_id").geometry,
                       sites[sites["has_fiber"].fillna(False).astype(bool)]
                       .set_index("site_id").geometry])
    return fiber_routes(sites.geometry.x, sites.geometry.y, fiber.x, fiber.y, fiber.index,
                        roads=roads, **COSTS)


def test_demo_roads_cut_metres_short_of_their_junctions_route_as_the_drawn_ones():
    # the demo's 112 roads each start on the road they branch from; cut 3 m back, as roads
    # digitised by hand end, they touch nothing there (without joining, 414 of the 1101
    # candidates lost their road route and paid a median 1.04 M CNY more)
    roads = gpd.read_file(ROOT / "data" / "demo" / "region.gpkg", layer="roads").geometry
    cut = gpd.GeoSeries([shapely.ops.substring(g, 3.0, g.length) for g in roads], crs=roads.crs)
    assert road_end_gaps(cut, within_m=10).size >= 100
    drawn, digitised = demo_fiber_routes(roads), demo_fiber_routes(cut)
    assert digitised.via_roads.tolist() == drawn.via_roads.tolist()
    assert (digitised.fiber_node_id == drawn.fiber_node_id).mean() > 0.99
    # the gaps crossed add a few metres of road, a spur moves by no more than 3 m
    difference_cny = (digitised.cost_cny - drawn.cost_cny).abs()
    assert difference_cny.max() <= 2 * 3.0 * OFFROAD_CNY_PER_M


def test_road_ends_left_short_of_a_road_are_reported_naming_the_file(caplog):
    roads = lines([(0, 0), (2000, 0)], [(500, 3), (500, 800)], [(900, 30), (900, 800)])
    with caplog.at_level(logging.WARNING, logger="siting.backhaul.network"):
        report_road_gaps(gpd.GeoDataFrame(geometry=roads), 10.0, "道路.shp")
    (message,) = caplog.messages
    assert message.startswith("道路.shp: joined 1 road end(s)")
    assert "gaps up to 3.0 m" in message
    assert "1 road end(s) stop 10-50 m short" in message
    assert "raise backhaul.road_gap_m to 30" in message
    caplog.clear()
    report_road_gaps(gpd.GeoDataFrame(geometry=lines(*T_ROADS)), 10.0, "道路.shp")
    assert not caplog.messages  # roads that meet say nothing


@pytest.mark.parametrize("roads", [None, lines()], ids=["none", "empty"])
def test_without_roads_every_route_is_direct_to_the_nearest_node(roads):
    table = routes([(0, 100), (3000, 0)], [("A", 0, 0), ("B", 2000, 0)], roads)
    assert table.fiber_node_id.tolist() == ["A", "B"]
    assert table.cost_cny.tolist() == pytest.approx(
        [100 * DETOUR * OFFROAD_CNY_PER_M, 1000 * DETOUR * OFFROAD_CNY_PER_M])
    assert table.length_m.tolist() == pytest.approx([140.0, 1400.0])
    assert not table.via_roads.any()


def test_the_result_keeps_the_roads_crs_and_rejects_bad_costs():
    table = routes([(1000, 1010)], [("F1", 0, -10)], lines(*T_ROADS))
    assert table.crs == "EPSG:32649"
    with pytest.raises(InputError, match="detour_factor"):
        fiber_routes([0], [0], [1], [1], ["F"], fiber_cny_per_km_road=1,
                     fiber_cny_per_km_offroad=1, detour_factor=0.9)
    with pytest.raises(InputError, match="fiber node"):
        fiber_routes([0], [0], [], [], [], **COSTS)


# ---------------------------------------------------------------------------------------------
# microwave

CELL_M = 100.0
GROUND_M = 200.0
K = 4.0 / 3.0


def flat_terrain(size: int = 201) -> Terrain:
    """Flat ground at 200 m, 100 m cells, cell (r, c) centred at x = 50 + 100 c,
    y = 20050 - 100 r."""
    return Terrain(np.full((size, size), GROUND_M, np.float32),
                   Affine(CELL_M, 0, 0, 0, -CELL_M, size * CELL_M))


def mid_path_ratio(height_m: float, length_m: float, band_ghz: float, k: float) -> float:
    """Clearance over F1 at mid path on flat ground, antennas at equal height (by hand)."""
    bulge_m = length_m**2 / (8 * k * EARTH_RADIUS_M) if k > 0 else 0.0
    return (height_m - bulge_m) / first_fresnel_radius_m(length_m / 2, length_m / 2, band_ghz)


def test_first_fresnel_radius_matches_the_rule_of_thumb():
    # F1 = 17.32 sqrt(d1 d2 / (f D)) with d in km and f in GHz: 8.66 m mid-way on 10 km at 10 GHz
    assert first_fresnel_radius_m(5000.0, 5000.0, 10.0) == pytest.approx(8.657, abs=1e-3)


@pytest.mark.parametrize("k", [K, 0.0])
def test_flat_earth_clearance_is_taken_at_mid_path(k):
    terrain = flat_terrain()
    x = np.array([5050.0, 15050.0])  # 10 km apart, 100 cells: the midpoint is a sample
    y = np.full(2, 10050.0)
    links = microwave_links(terrain, x, y, 30.0, band_ghz=15.0, max_hop_m=12_000,
                            earth_radius_factor=k)
    assert len(links) == 1
    expected = mid_path_ratio(30.0, 10_000.0, 15.0, k)  # (30 - 1.47) m / 7.07 m = 4.03 at 4/3
    assert links.min_clearance_f1[0] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("margin_f1, feasible", [(0.01, True), (-0.01, False)])
def test_the_sixty_percent_threshold(margin_f1, feasible):
    length_m, band_ghz = 10_000.0, 15.0
    f1_mid_m = first_fresnel_radius_m(length_m / 2, length_m / 2, band_ghz)
    height_m = (0.6 + margin_f1) * f1_mid_m + length_m**2 / (8 * K * EARTH_RADIUS_M)
    links = microwave_links(flat_terrain(), [5050.0, 15050.0], [10050.0, 10050.0], height_m,
                            band_ghz=band_ghz, max_hop_m=12_000, exact=True)
    assert links.min_clearance_f1[0] == pytest.approx(0.6 + margin_f1, rel=1e-9)
    assert links.feasible[0] == feasible
    screened = microwave_links(flat_terrain(), [5050.0, 15050.0], [10050.0, 10050.0], height_m,
                               band_ghz=band_ghz, max_hop_m=12_000)
    assert screened.feasible[0] == feasible


def test_every_pair_in_range_over_flat_ground_is_feasible():
    rng = np.random.default_rng(7)
    x, y = rng.uniform(1000, 19000, (2, 30))
    links = microwave_links(flat_terrain(), x, y, 30.0, band_ghz=23.0, max_hop_m=8000)
    distance = np.hypot(x[:, None] - x, y[:, None] - y)
    i, j = np.nonzero(np.triu(distance <= 8000, k=1))
    assert list(zip(links.site_i, links.site_j)) == list(zip(i, j))
    assert links.distance_m.to_numpy() == pytest.approx(distance[i, j])
    assert links.feasible.all()
    worst = mid_path_ratio(30.0, 8000.0, 23.0, K)  # the longest hop bounds the smallest ratio
    assert links.min_clearance_f1.min() >= worst - 1e-9


def test_a_ridge_blocks_the_pair_across_it_only():
    terrain = flat_terrain()
    elevation = terrain.elevation_m.copy()
    elevation[:, 100] += 150.0  # a north-south ridge one cell wide at x = 10,050 m
    ridged = Terrain(elevation, terrain.transform)
    x = np.array([5050.0, 15050.0, 5050.0])
    y = np.array([10050.0, 10050.0, 3050.0])
    links = microwave_links(ridged, x, y, 30.0, band_ghz=15.0, max_hop_m=12_000)
    by_pair = {(i, j): row for i, j, row in zip(links.site_i, links.site_j,
                                               links.itertuples())}
    across = by_pair[(0, 1)]
    assert across.min_clearance_f1 < 0 and not across.feasible
    assert by_pair[(0, 2)].feasible  # both west of the ridge
    assert (1, 2) not in by_pair  # 12.2 km apart: out of range


def test_a_one_cell_summit_off_the_path_is_found_exactly():
    """A spike of one cell, the path passing 0.3 cells beside its centre at 3.07 km from the
    first site: on the bilinear ground the summit along the path is 0.7 of the spike, where
    the path crosses the spike's column; a kernel sampling at fixed steps would miss it."""
    terrain = flat_terrain()
    elevation = terrain.elevation_m.copy()
    elevation[100, 80] += 40.0  # cell centre x = 8,050 m, y = 10,050 m
    spiked = Terrain(elevation, terrain.transform)
    x0, x1, y_m = 4980.0, 14980.0, 10080.0  # along y = 10,080 m: 0.3 cells north of the centre
    links = microwave_links(spiked, [x0, x1], [y_m, y_m], 30.0, band_ghz=15.0, max_hop_m=12_000)
    d1_m = 8050.0 - x0
    d2_m = x1 - 8050.0
    summit_m = 0.7 * 40.0 + d1_m * d2_m / (2 * K * EARTH_RADIUS_M)
    expected = (30.0 - summit_m) / first_fresnel_radius_m(d1_m, d2_m, 15.0)
    assert links.min_clearance_f1[0] == pytest.approx(expected, rel=1e-9)


def test_sites_outside_the_dem_are_rejected():
    with pytest.raises(InputError, match="outside"):
        microwave_links(flat_terrain(), [5050.0, 30_000.0], [10050.0, 10050.0], 30.0,
                        band_ghz=15.0, max_hop_m=50_000)


@pytest.fixture(scope="module")
def demo():
    """The demo DEM and its candidates (x, y, antenna height)."""
    with rasterio.open(ROOT / "data" / "demo" / "dem.tif") as dem:
        terrain = Terrain(dem.read(1).astype(np.float32), dem.transform)
    candidates = gpd.read_file(ROOT / "data" / "demo" / "region.gpkg", layer="candidates")
    return terrain, (candidates.geometry.x.to_numpy(), candidates.geometry.y.to_numpy(),
                     candidates["antenna_height_m"].to_numpy())


def test_bulk_screening_equals_the_dense_reference_on_the_demo(demo):
    terrain, (x, y, height) = demo
    rng = np.random.default_rng(18)
    sites = rng.choice(len(x), 150, replace=False)
    links = microwave_links(terrain, x[sites], y[sites], height[sites], band_ghz=15.0,
                            max_hop_m=25_000, exact=True)
    sample = links.iloc[rng.choice(len(links), 60, replace=False)]
    reference = np.array([
        min_clearance_f1_reference(terrain, x[sites[i]], y[sites[i]], height[sites[i]],
                                   x[sites[j]], y[sites[j]], height[sites[j]], band_ghz=15.0,
                                   step_m=0.5)
        for i, j in zip(sample.site_i, sample.site_j)])
    bulk = sample.min_clearance_f1.to_numpy()
    # the kernel's exact minimum per grid piece against a sample every 0.5 m (60 per cell):
    # equal to a few thousandths (a kernel sampling twice per cell read up to 0.35 F1 more)
    assert (np.abs(bulk - reference) <= 0.01 + 0.002 * np.abs(reference)).all()
    clear_of_threshold = np.abs(reference - 0.6) > 0.05
    assert (sample.feasible.to_numpy() == (reference >= 0.6))[clear_of_threshold].all()
    assert 0 < sample.feasible.sum() < len(sample)  # both kinds of link are in the sample


def test_screening_stops_a_blocked_pair_early_and_keeps_every_feasible_pair_exact(demo):
    """Without ``exact`` a pair is left at its first point below 0.6 F1: the same pairs are
    feasible, with the same clearance, and a blocked pair's figure is an upper bound of its
    smallest clearance, still below the threshold."""
    terrain, (x, y, height) = demo
    sites = np.random.default_rng(5).choice(len(x), 200, replace=False)
    args = (terrain, x[sites], y[sites], height[sites])
    exact = microwave_links(*args, band_ghz=15.0, max_hop_m=25_000, exact=True)
    screened = microwave_links(*args, band_ghz=15.0, max_hop_m=25_000)
    assert 0.1 < exact.feasible.mean() < 0.9  # both kinds of pair are there
    assert (screened.feasible == exact.feasible).all()
    feasible = exact.feasible.to_numpy()
    np.testing.assert_array_equal(screened.min_clearance_f1[feasible],
                                  exact.min_clearance_f1[feasible])
    blocked_screened = screened.min_clearance_f1[~feasible].to_numpy()
    assert (blocked_screened >= exact.min_clearance_f1[~feasible].to_numpy()).all()
    assert (blocked_screened < MIN_CLEARANCE_F1).all()
    assert (blocked_screened > exact.min_clearance_f1[~feasible].to_numpy()).any()

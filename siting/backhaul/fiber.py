"""Fiber routes: the cheapest fiber route from every candidate site to the fiber network.

Fiber is laid along roads where it can be (``fiber_cny_per_km_road``) and trenched across
country where it must (``fiber_cny_per_km_offroad``). A route is the cheaper of two:

- **along the roads**: an off-road spur, straight, from the candidate to the nearest point of
  the road network, the road network's shortest path to a fiber node's own nearest road point,
  and that fiber node's off-road spur;
- **direct**: the straight line from the candidate to its nearest fiber node, lengthened by
  ``detour_factor`` (the ratio of a trench's length to the straight line), all off road.

Without roads every route is direct. The road graph is built once (:func:`build_road_graph`:
nodes at road vertices, crossings and T-junctions, vertices closer than ``snap_tolerance_m``
merged so touching roads connect, and a road's end that stops short of another road by up to
``road_gap_m`` joined to it, as roads digitised by hand often stop a few metres short of the
road they meet); the candidates and fiber nodes are attached to it by
splitting the road edges at their nearest points (:func:`attach_points`); one call of
:func:`scipy.sparse.csgraph.dijkstra` with every fiber node as a source (``min_only``) then
gives every road node's cheapest cost to the network, the fiber node reached and the
predecessor tree the route geometries are read from.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from siting.errors import InputError

__all__ = ["RoadGraph", "attach_points", "build_road_graph", "fiber_routes", "road_end_gaps"]

#: Distance [m] below which road vertices are merged into one node (touching roads connect).
DEFAULT_SNAP_TOLERANCE_M = 1.0
#: Gap [m] up to which a road's end is joined to another road it stops short of: a road
#: digitised by hand over imagery often ends a few metres from the road it meets.
DEFAULT_ROAD_GAP_M = 10.0


@dataclass(frozen=True)
class RoadGraph:
    """An undirected road graph in a metric CRS.

    Attributes
    ----------
    x_m, y_m : numpy.ndarray
        Node coordinates [m] (float64).
    edge_from, edge_to : numpy.ndarray
        Node indices of each edge (int64), one straight road piece each, every unordered pair
        at most once and no loops.
    """

    x_m: np.ndarray
    y_m: np.ndarray
    edge_from: np.ndarray
    edge_to: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.x_m)

    @property
    def edge_length_m(self) -> np.ndarray:
        """Straight length of each edge [m]."""
        return np.hypot(self.x_m[self.edge_to] - self.x_m[self.edge_from],
                        self.y_m[self.edge_to] - self.y_m[self.edge_from])

    def edge_lines(self) -> np.ndarray:
        """The edges as shapely LineStrings (array of geometries)."""
        start = np.column_stack([self.x_m[self.edge_from], self.y_m[self.edge_from]])
        end = np.column_stack([self.x_m[self.edge_to], self.y_m[self.edge_to]])
        return shapely.linestrings(np.stack([start, end], axis=1))


# ---------------------------------------------------------------------------------------------
# the road graph


def _road_lines(roads) -> np.ndarray:
    """The non-empty single LineStrings of a GeoDataFrame, GeoSeries or array of
    (Multi)LineStrings; InputError for any other geometry."""
    geometry = roads.geometry if hasattr(roads, "geometry") else roads
    parts = shapely.get_parts(np.asarray(geometry, dtype=object))
    parts = parts[~shapely.is_empty(parts)]
    kinds = shapely.get_type_id(parts)
    if np.any(kinds != shapely.GeometryType.LINESTRING):
        other = sorted({shapely.GeometryType(k).name for k in kinds[kinds != 1]})
        raise InputError(f"roads must be LineStrings or MultiLineStrings, found {', '.join(other)}")
    return parts


def _segments(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vertices (k x 2) [m] of the lines, the line of each vertex and the (start, end) vertex
    indices of every non-degenerate straight segment between consecutive vertices of one
    line."""
    xy, line = shapely.get_coordinates(lines, return_index=True)
    start = np.flatnonzero(line[:-1] == line[1:])
    end = start + 1
    keep = np.any(xy[start] != xy[end], axis=1)
    return xy, line, start[keep], end[keep]


def _segment_lines(xy: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Segments as shapely LineStrings."""
    return shapely.linestrings(np.stack([xy[start], xy[end]], axis=1))


def _crossings(xy, start, end):
    """Points where two segments' interiors cross.

    Returns the new points (c x 2) [m] and, per crossing, the two segments and the fraction
    along each (in (0, 1)) where they cross: (points, seg, t) with ``seg`` and ``t`` of length
    2c (crossing k is in rows k and c + k).
    """
    lines = _segment_lines(xy, start, end)
    first, second = shapely.STRtree(lines).query(lines, predicate="crosses")
    first, second = first[first < second], second[first < second]
    p, r = xy[start[first]], xy[end[first]] - xy[start[first]]
    q, s = xy[start[second]], xy[end[second]] - xy[start[second]]
    denominator = r[:, 0] * s[:, 1] - r[:, 1] * s[:, 0]  # non-zero: crossing lines are not parallel
    qp = q - p
    t = (qp[:, 0] * s[:, 1] - qp[:, 1] * s[:, 0]) / denominator
    u = (qp[:, 0] * r[:, 1] - qp[:, 1] * r[:, 0]) / denominator
    return p + t[:, None] * r, np.concatenate([first, second]), np.concatenate([t, u])


def _projection_fraction(xy_points, seg_start_xy, seg_end_xy) -> np.ndarray:
    """Fraction in [0, 1] along each segment of the nearest point to each point."""
    r = seg_end_xy - seg_start_xy
    t = np.einsum("ij,ij->i", xy_points - seg_start_xy, r) / np.einsum("ij,ij->i", r, r)
    return np.clip(t, 0.0, 1.0)


def _snaps(xy, start, end, tolerance_m: float):
    """Vertices within ``tolerance_m`` of the interior of a segment they do not end: (vertex,
    segment, fraction along it), the T-junctions where a road ends on (or just short of)
    another."""
    tree = shapely.STRtree(_segment_lines(xy, start, end))
    vertex, seg = tree.query(shapely.points(xy), predicate="dwithin", distance=tolerance_m)
    keep = (start[seg] != vertex) & (end[seg] != vertex)
    vertex, seg = vertex[keep], seg[keep]
    t = _projection_fraction(xy[vertex], xy[start[seg]], xy[end[seg]])
    inside = (t > 0.0) & (t < 1.0)
    return vertex[inside], seg[inside], t[inside]


def _end_gaps(xy, line, start, end, snap_tolerance_m: float, within_m: float):
    """Road ends (first and last vertices of the lines) that no other line passes within
    ``snap_tolerance_m`` of, but one passes within ``within_m`` of: per end, (its vertex, the
    nearest segment of another line, the fraction along it of the nearest point, the gap
    [m])."""
    nothing = np.empty(0, np.int64)
    if not within_m > snap_tolerance_m or len(start) == 0:
        return nothing, nothing, np.empty(0), np.empty(0)
    new_line = line[1:] != line[:-1]
    ends = np.unique(np.concatenate([np.flatnonzero(np.concatenate([[True], new_line])),
                                     np.flatnonzero(np.concatenate([new_line, [True]]))]))
    tree = shapely.STRtree(_segment_lines(xy, start, end))
    which, seg = tree.query(shapely.points(xy[ends]), predicate="dwithin", distance=within_m)
    vertex = ends[which]
    other = line[start[seg]] != line[vertex]
    vertex, seg = vertex[other], seg[other]
    t = _projection_fraction(xy[vertex], xy[start[seg]], xy[end[seg]])
    nearest_xy = xy[start[seg]] + t[:, None] * (xy[end[seg]] - xy[start[seg]])
    gap_m = np.hypot(*(nearest_xy - xy[vertex]).T)
    order = np.lexsort((gap_m, vertex))  # by end, nearest first
    first = order[np.unique(vertex[order], return_index=True)[1]]
    apart = gap_m[first] > snap_tolerance_m  # nearer ones already touch: no gap
    pick = first[apart]
    return vertex[pick], seg[pick], t[pick], gap_m[pick]


def road_end_gaps(roads, *, within_m: float,
                  snap_tolerance_m: float = DEFAULT_SNAP_TOLERANCE_M) -> np.ndarray:
    """The gaps [m] between road ends and the nearest other road, for the ends that stop short
    of one (by more than ``snap_tolerance_m``, up to ``within_m``): those
    :func:`build_road_graph` joins with ``road_gap_m`` at least the gap, and the near misses
    a larger ``road_gap_m`` would join.

    Parameters
    ----------
    roads : geopandas.GeoDataFrame, geopandas.GeoSeries or array of shapely geometries
        LineStrings or MultiLineStrings in a metric CRS [m] (each part a line of its own).
    within_m : float
        Widest gap looked for [m].
    snap_tolerance_m : float
        Ends this near another road touch it [m].

    Returns
    -------
    numpy.ndarray
        One gap per such end [m] (float64), unordered.
    """
    xy, line, start, end = _segments(_road_lines(roads))
    return _end_gaps(xy, line, start, end, snap_tolerance_m, within_m)[3]


def _split_edges(start, end, seg, t, node):
    """Edges of the segments (start, end) split at the nodes ``node`` inserted at fraction
    ``t`` along segment ``seg``: each segment becomes the chain of its points in order."""
    n = len(start)
    chain_seg = np.concatenate([np.arange(n), np.arange(n), seg])
    chain_t = np.concatenate([np.zeros(n), np.ones(n), t])
    chain_node = np.concatenate([start, end, node])
    order = np.lexsort((chain_t, chain_seg))
    chain_seg, chain_node = chain_seg[order], chain_node[order]
    same = chain_seg[:-1] == chain_seg[1:]
    return chain_node[:-1][same], chain_node[1:][same]


def _merge_close(xy: np.ndarray, tolerance_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge points closer than ``tolerance_m`` (transitively): (label per point, coordinates
    per label, those of the label's first point)."""
    pairs = cKDTree(xy).query_pairs(tolerance_m, output_type="ndarray")
    adjacency = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])),
                              shape=(len(xy), len(xy)))
    _, label = connected_components(adjacency, directed=False)
    _, first = np.unique(label, return_index=True)
    return label, xy[first]


def _graph(xy: np.ndarray, edge_from: np.ndarray, edge_to: np.ndarray) -> RoadGraph:
    """A RoadGraph without loops or repeated edges."""
    low, high = np.minimum(edge_from, edge_to), np.maximum(edge_from, edge_to)
    edges = np.unique(np.column_stack([low, high])[low != high], axis=0)
    return RoadGraph(xy[:, 0].copy(), xy[:, 1].copy(), edges[:, 0].astype(np.int64),
                     edges[:, 1].astype(np.int64))


def _gap_bridges(xy, line, start, end, snap_tolerance_m: float, road_gap_m: float,
                 first_node: int):
    """Straight edges joining each road end that stops short of another road (by up to
    ``road_gap_m``) to the nearest point of that road: the new points (b x 2) [m], numbered
    from ``first_node``, the splits they make (segment, fraction, node) and the bridge
    edges (from, to)."""
    vertex, seg, t, _ = _end_gaps(xy, line, start, end, snap_tolerance_m, road_gap_m)
    inside = (t > 0.0) & (t < 1.0)  # else the nearest point is the segment's end vertex
    new_node = first_node + np.arange(int(inside.sum()))
    new_xy = xy[start[seg[inside]]] + t[inside, None] * (
        xy[end[seg[inside]]] - xy[start[seg[inside]]])
    target = np.where(t <= 0.0, start[seg], end[seg])
    target[inside] = new_node
    return new_xy, (seg[inside], t[inside], new_node), (vertex, target)


def build_road_graph(roads, *, snap_tolerance_m: float = DEFAULT_SNAP_TOLERANCE_M,
                     road_gap_m: float = DEFAULT_ROAD_GAP_M) -> RoadGraph:
    """The road graph of a set of lines.

    Nodes are the lines' vertices, the points where two segments cross, and the vertices that
    end on (or within ``snap_tolerance_m`` of) another segment's interior, which split that
    segment; a line's end that stops short of every other line by more than
    ``snap_tolerance_m`` but up to ``road_gap_m`` is joined by a straight edge (a road edge
    like any other) to the nearest point of the nearest other line, which splits it there;
    then nodes closer than ``snap_tolerance_m`` are merged (transitively, each group
    keeping the position of its first vertex), so roads that touch or nearly touch connect.
    Edges are the straight pieces between consecutive nodes along each line.

    Parameters
    ----------
    roads : geopandas.GeoDataFrame, geopandas.GeoSeries or array of shapely geometries
        LineStrings or MultiLineStrings in a metric CRS [m] (each part a line of its own).
    snap_tolerance_m : float
        Merge and snap distance, > 0 [m].
    road_gap_m : float
        Widest gap between a road's end and another road that is joined, >= 0 [m] (gaps of
        ``snap_tolerance_m`` or less connect anyway).

    Returns
    -------
    RoadGraph
    """
    if not snap_tolerance_m > 0:
        raise InputError(f"snap_tolerance_m must be > 0 m, got {snap_tolerance_m!r}")
    if not road_gap_m >= 0:
        raise InputError(f"road_gap_m must be >= 0 m, got {road_gap_m!r}")
    xy, line, start, end = _segments(_road_lines(roads))
    if len(start) == 0:
        return _graph(np.empty((0, 2)), np.empty(0, np.int64), np.empty(0, np.int64))
    cross_xy, cross_seg, cross_t = _crossings(xy, start, end)
    cross_node = len(xy) + np.arange(len(cross_xy))
    snap_node, snap_seg, snap_t = _snaps(xy, start, end, snap_tolerance_m)
    bridge_xy, (bridge_seg, bridge_t, bridge_node), (bridge_from, bridge_to) = _gap_bridges(
        xy, line, start, end, snap_tolerance_m, road_gap_m, len(xy) + len(cross_xy))
    edge_from, edge_to = _split_edges(
        start, end, np.concatenate([cross_seg, snap_seg, bridge_seg]),
        np.concatenate([cross_t, snap_t, bridge_t]),
        np.concatenate([cross_node, cross_node, snap_node, bridge_node]))
    label, merged_xy = _merge_close(np.vstack([xy, cross_xy, bridge_xy]), snap_tolerance_m)
    return _graph(merged_xy, label[np.concatenate([edge_from, bridge_from])],
                  label[np.concatenate([edge_to, bridge_to])])


def attach_points(graph: RoadGraph, x_m, y_m, *,
                  snap_tolerance_m: float = DEFAULT_SNAP_TOLERANCE_M):
    """Attach points to the road graph at their nearest road points.

    Each point's nearest point on the road edges becomes a node: an existing node when it lies
    within ``snap_tolerance_m`` of the edge's end, otherwise a new node splitting the edge
    (points projecting onto the same spot share one).

    Parameters
    ----------
    graph : RoadGraph
        With at least one edge.
    x_m, y_m : array_like
        Points [m], same CRS as the graph.
    snap_tolerance_m : float
        Distance from an edge's end below which the end node is used [m].

    Returns
    -------
    graph : RoadGraph
        The graph with the split edges (the original nodes keep their indices).
    node : numpy.ndarray
        The node each point attaches to (int64).
    spur_m : numpy.ndarray
        Straight distance from each point to its node [m].
    """
    xy = np.column_stack([np.asarray(x_m, float).ravel(), np.asarray(y_m, float).ravel()])
    point_index, edge = shapely.STRtree(graph.edge_lines()).query_nearest(
        shapely.points(xy), all_matches=False)
    edge = edge[np.argsort(point_index)]
    node_xy = np.column_stack([graph.x_m, graph.y_m])
    a, b = graph.edge_from[edge], graph.edge_to[edge]
    t = _projection_fraction(xy, node_xy[a], node_xy[b])
    length_m = graph.edge_length_m[edge]
    node = np.where(t * length_m <= snap_tolerance_m, a,
                    np.where((1.0 - t) * length_m <= snap_tolerance_m, b, -1))
    inside = np.flatnonzero(node < 0)
    spots, spot_of_point = np.unique(np.column_stack([edge[inside], t[inside]]), axis=0,
                                     return_inverse=True)
    new_node = graph.n_nodes + np.arange(len(spots))
    node[inside] = new_node[spot_of_point.ravel()]
    spot_edge = spots[:, 0].astype(np.int64)
    spot_xy = node_xy[graph.edge_from[spot_edge]] + spots[:, 1:2] * (
        node_xy[graph.edge_to[spot_edge]] - node_xy[graph.edge_from[spot_edge]])
    edge_from, edge_to = _split_edges(graph.edge_from, graph.edge_to, spot_edge, spots[:, 1],
                                      new_node)
    all_xy = np.vstack([node_xy, spot_xy])
    spur_m = np.hypot(*(xy - all_xy[node]).T)
    return _graph(all_xy, edge_from, edge_to), node.astype(np.int64), spur_m


# ---------------------------------------------------------------------------------------------
# routes


@dataclass(frozen=True)
class _Routes:
    """Per candidate: the fiber node reached (index, -1 when none), cost [CNY], road and
    off-road lengths [m], whether the route follows the roads and its vertices (k x 2
    arrays)."""

    fiber: np.ndarray
    cost_cny: np.ndarray
    road_m: np.ndarray
    offroad_m: np.ndarray
    via_roads: np.ndarray
    vertices: list


def _direct_routes(candidate_xy, fiber_xy, offroad_cny_per_m: float,
                   detour_factor: float) -> _Routes:
    """Straight line x detour factor, off road, to the nearest fiber node."""
    distance_m, fiber = cKDTree(fiber_xy).query(candidate_xy)
    offroad_m = distance_m * detour_factor
    vertices = [np.array([c, fiber_xy[f]]) for c, f in zip(candidate_xy, fiber)]
    return _Routes(fiber.astype(np.int64), offroad_m * offroad_cny_per_m, np.zeros(len(fiber)),
                   offroad_m, np.zeros(len(fiber), bool), vertices)


def _cost_matrix(graph: RoadGraph, fiber_attach, fiber_spur_cny, road_cny_per_m: float):
    """Directed sparse cost matrix [CNY]: the roads both ways, then one extra node per fiber
    node (indices ``graph.n_nodes + k``) with an edge to its attach node."""
    n_road, n_fiber = graph.n_nodes, len(fiber_attach)
    fiber_node = n_road + np.arange(n_fiber)
    road_cny = graph.edge_length_m * road_cny_per_m
    rows = np.concatenate([graph.edge_from, graph.edge_to, fiber_node])
    cols = np.concatenate([graph.edge_to, graph.edge_from, fiber_attach])
    data = np.concatenate([road_cny, road_cny, fiber_spur_cny])
    size = n_road + n_fiber
    return sp.csr_matrix((data, (rows, cols)), shape=(size, size)), fiber_node


def _path_vertices(predecessor: np.ndarray, start: int, node_xy: np.ndarray) -> np.ndarray:
    """Coordinates of the nodes from ``start`` back along the predecessor tree to its root."""
    path = [start]
    while predecessor[path[-1]] >= 0:
        path.append(int(predecessor[path[-1]]))
    return node_xy[path]


def _without_repeats(vertices: np.ndarray) -> np.ndarray:
    """The vertices without consecutive repeats, at least two (a point route is a 0 m line)."""
    keep = np.concatenate([[True], np.any(vertices[1:] != vertices[:-1], axis=1)])
    kept = vertices[keep]
    return kept if len(kept) >= 2 else vertices[[0, -1]]


def _road_routes(graph: RoadGraph, candidate_xy, fiber_xy, road_cny_per_m: float,
                 offroad_cny_per_m: float, snap_tolerance_m: float) -> _Routes:
    """Spur to the roads, shortest road path, spur to the fiber node (inf cost where the
    candidate's road piece reaches no fiber node)."""
    n_candidates = len(candidate_xy)
    points = np.vstack([candidate_xy, fiber_xy])
    graph, attach, spur_m = attach_points(graph, points[:, 0], points[:, 1],
                                          snap_tolerance_m=snap_tolerance_m)
    matrix, fiber_node = _cost_matrix(graph, attach[n_candidates:],
                                      spur_m[n_candidates:] * offroad_cny_per_m, road_cny_per_m)
    cost_cny, predecessor, source = dijkstra(matrix, directed=True, indices=fiber_node,
                                             min_only=True, return_predecessors=True)
    start = attach[:n_candidates]
    fiber = np.where(np.isfinite(cost_cny[start]), source[start] - graph.n_nodes, -1)
    node_xy = np.vstack([np.column_stack([graph.x_m, graph.y_m]), fiber_xy])
    # each path runs from the candidate's road node to the fiber node (its last vertex)
    paths = [_path_vertices(predecessor, s, node_xy) if f >= 0 else None
             for s, f in zip(start, fiber)]
    road_m = np.array([0.0 if p is None else _length_m(p[:-1]) for p in paths])
    vertices = [None if p is None else _without_repeats(np.vstack([c, p]))
                for c, p in zip(candidate_xy, paths)]
    offroad_m = spur_m[:n_candidates] + np.where(fiber >= 0, spur_m[n_candidates:][fiber], 0.0)
    return _Routes(fiber, cost_cny[start] + spur_m[:n_candidates] * offroad_cny_per_m,
                   road_m, offroad_m, np.ones(n_candidates, bool), vertices)


def _length_m(vertices: np.ndarray) -> float:
    """Length of a polyline [m]."""
    return float(np.hypot(*np.diff(vertices, axis=0).T).sum())


def _check_costs(road_cny_per_km: float, offroad_cny_per_km: float, detour_factor: float):
    """Raise InputError unless both costs are > 0 and the detour factor >= 1."""
    for name, value in (("fiber_cny_per_km_road", road_cny_per_km),
                        ("fiber_cny_per_km_offroad", offroad_cny_per_km)):
        if not (np.isfinite(value) and value > 0):
            raise InputError(f"{name} must be a positive number of CNY per km, got {value!r}")
    if not (np.isfinite(detour_factor) and detour_factor >= 1):
        raise InputError(f"detour_factor must be >= 1, got {detour_factor!r}")


def _points_xy(x_m, y_m, what: str) -> np.ndarray:
    """(n x 2) float64 coordinates; InputError when not finite."""
    xy = np.column_stack([np.asarray(x_m, float).ravel(), np.asarray(y_m, float).ravel()])
    if not np.isfinite(xy).all():
        raise InputError(f"{what}: coordinates must be finite numbers of metres")
    return xy


def _output_crs(roads, crs):
    """The CRS of the result: ``crs``, else the roads'; InputError when they differ."""
    roads_crs = getattr(roads, "crs", None)
    if crs is not None and roads_crs is not None and gpd.GeoSeries(crs=crs).crs != roads_crs:
        raise InputError(f"roads are in {roads_crs}, the points in {crs}: reproject first")
    return crs if crs is not None else roads_crs


def fiber_routes(candidate_x_m, candidate_y_m, fiber_x_m, fiber_y_m, fiber_node_ids, *,
                 fiber_cny_per_km_road: float, fiber_cny_per_km_offroad: float,
                 detour_factor: float, roads=None,
                 snap_tolerance_m: float = DEFAULT_SNAP_TOLERANCE_M,
                 road_gap_m: float = DEFAULT_ROAD_GAP_M, crs=None) -> gpd.GeoDataFrame:
    """The cheapest fiber route from every candidate to the fiber network.

    Each route is the cheaper of the road route (off-road spur to the nearest road point,
    shortest path over the road graph, off-road spur to a fiber node, every fiber node a
    source of one multi-source Dijkstra) and the direct route (straight line to the nearest
    fiber node times ``detour_factor``, off road). Candidates whose road piece reaches no
    fiber node, and all candidates when there are no roads, take the direct route.

    Parameters
    ----------
    candidate_x_m, candidate_y_m : array_like
        Candidate sites [m], metric CRS.
    fiber_x_m, fiber_y_m : array_like
        Fiber nodes (exchanges, fiber-fed sites) [m], same CRS; at least one.
    fiber_node_ids : array_like
        One id per fiber node, reported as ``fiber_node_id``.
    fiber_cny_per_km_road : float
        Cost of fiber laid along a road, > 0 [CNY/km].
    fiber_cny_per_km_offroad : float
        Cost of fiber trenched off road, > 0 [CNY/km].
    detour_factor : float
        Direct route length over straight-line distance, >= 1 (spurs to the roads are straight).
    roads : geopandas.GeoDataFrame or GeoSeries, optional
        Road (Multi)LineStrings in the same CRS.
    snap_tolerance_m : float
        Road vertices closer than this are one node [m] (:func:`build_road_graph`).
    road_gap_m : float
        A road's end that stops this short of another road, or less, is joined to it [m]
        (:func:`build_road_graph`).
    crs : optional
        CRS of the result (default the roads'); InputError when it differs from the roads'.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per candidate, in input order (RangeIndex): ``fiber_node_id`` (the fiber node
        reached), ``cost_cny`` [CNY], ``road_m`` (along roads) and ``offroad_m`` (spurs, or
        the direct route's straight line times ``detour_factor``) [m], ``length_m`` (their
        sum) [m], ``via_roads`` (bool) and ``geometry``: the route as a LineString from the
        candidate to the fiber node (along the roads, through the graph's nodes; the direct
        route as the straight line).
    """
    _check_costs(fiber_cny_per_km_road, fiber_cny_per_km_offroad, detour_factor)
    candidate_xy = _points_xy(candidate_x_m, candidate_y_m, "candidates")
    fiber_xy = _points_xy(fiber_x_m, fiber_y_m, "fiber nodes")
    ids = np.asarray(fiber_node_ids, dtype=object).ravel()
    if len(fiber_xy) == 0 or len(ids) != len(fiber_xy):
        raise InputError(f"fiber_routes needs at least one fiber node and one id per node, got "
                         f"{len(fiber_xy)} nodes and {len(ids)} ids")
    out_crs = _output_crs(roads, crs)
    offroad_cny_per_m = fiber_cny_per_km_offroad / 1000.0
    routes = _direct_routes(candidate_xy, fiber_xy, offroad_cny_per_m, detour_factor)
    graph = None if roads is None else build_road_graph(roads, snap_tolerance_m=snap_tolerance_m,
                                                        road_gap_m=road_gap_m)
    if graph is not None and len(graph.edge_from) and len(candidate_xy):
        routes = _cheaper(routes, _road_routes(graph, candidate_xy, fiber_xy,
                                               fiber_cny_per_km_road / 1000.0,
                                               offroad_cny_per_m, snap_tolerance_m))
    return _route_table(routes, ids, out_crs)


def _cheaper(direct: _Routes, road: _Routes) -> _Routes:
    """Per candidate, the road route where it is strictly cheaper, else the direct one."""
    by_road = road.cost_cny < direct.cost_cny

    def pick(a, b):
        return np.where(by_road, a, b)

    vertices = [r if use else d for r, d, use in zip(road.vertices, direct.vertices, by_road)]
    return _Routes(pick(road.fiber, direct.fiber), pick(road.cost_cny, direct.cost_cny),
                   pick(road.road_m, direct.road_m), pick(road.offroad_m, direct.offroad_m),
                   by_road, vertices)


def _route_table(routes: _Routes, fiber_ids: np.ndarray, crs) -> gpd.GeoDataFrame:
    """The routes as a GeoDataFrame (see :func:`fiber_routes`)."""
    return gpd.GeoDataFrame({
        "fiber_node_id": fiber_ids[routes.fiber] if len(routes.fiber) else fiber_ids[:0],
        "cost_cny": routes.cost_cny,
        "road_m": routes.road_m,
        "offroad_m": routes.offroad_m,
        "length_m": routes.road_m + routes.offroad_m,
        "via_roads": routes.via_roads,
    }, geometry=_lines(routes.vertices), crs=crs)


def _lines(vertices: list) -> np.ndarray:
    """LineStrings from a list of (k x 2) vertex arrays."""
    if not vertices:
        return np.empty(0, dtype=object)
    counts = [len(v) for v in vertices]
    return shapely.linestrings(np.vstack(vertices), indices=np.repeat(np.arange(len(counts)),
                                                                     counts))

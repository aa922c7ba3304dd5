"""Backhaul: how each site's traffic reaches the network, by fiber or by a microwave hop.

- :mod:`siting.backhaul.fiber`: the cheapest fiber route from every candidate to the fiber
  network, along the roads where there are roads (shortest paths over the road graph from all
  fiber nodes at once) and off road elsewhere.
- :mod:`siting.backhaul.microwave`: the candidate microwave links between sites, screened for
  60 % clearance of the first Fresnel zone over the DEM with earth curvature.

Both take arrays in the run's metric CRS and return tables; neither reads nor writes files.
"""

from siting.backhaul.fiber import RoadGraph, attach_points, build_road_graph, fiber_routes
from siting.backhaul.microwave import (first_fresnel_radius_m, microwave_links,
                                       min_clearance_f1_reference)

__all__ = [
    "RoadGraph",
    "attach_points",
    "build_road_graph",
    "fiber_routes",
    "first_fresnel_radius_m",
    "microwave_links",
    "min_clearance_f1_reference",
]

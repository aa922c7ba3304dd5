"""Backhaul: how each site's traffic reaches the network, by fiber or by a microwave hop.

- :mod:`siting.backhaul.fiber`: the cheapest fiber route from every candidate to the fiber
  network, along the roads where there are roads (shortest paths over the road graph from all
  fiber nodes at once) and off road elsewhere.
- :mod:`siting.backhaul.microwave`: the candidate microwave links between sites, screened for
  60 % clearance of the first Fresnel zone over the DEM with earth curvature.
- :mod:`siting.backhaul.network`: both for a run's candidates, with the scenario's prices
  (:func:`backhaul_network`), what the planner chooses the backhaul from.

Both take arrays in the run's metric CRS and return tables; neither reads nor writes files.
"""

from siting.backhaul.fiber import (RoadGraph, attach_points, build_road_graph, fiber_routes,
                                   road_end_gaps)
from siting.backhaul.microwave import (first_fresnel_radius_m, microwave_links,
                                       min_clearance_f1_reference)
from siting.backhaul.network import BackhaulNetwork, backhaul_network, band_links, link_costs

__all__ = [
    "BackhaulNetwork",
    "RoadGraph",
    "attach_points",
    "backhaul_network",
    "band_links",
    "build_road_graph",
    "fiber_routes",
    "first_fresnel_radius_m",
    "link_costs",
    "microwave_links",
    "min_clearance_f1_reference",
    "road_end_gaps",
]

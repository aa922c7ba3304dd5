"""The ITU-R P.1812 radio-meteorological inputs of a scenario, from the user's ITU-R maps.

A technology with ``model: p1812`` needs ΔN (``delta_n``, map DN50.TXT) and N0 (``n0``, map
N050.TXT). A scenario may give them as numbers or name the folder of the user's own copy of the
maps (``coverage.itu_maps_dir``: ITU-R forbids redistributing them, so siting ships none); then
both are read once, at the centre of the region's DEM, so every path of the run uses the same
values however the coverage stage is split (in steps, on a cluster, by DEM window).
"""

from __future__ import annotations

import dataclasses

import pyproj

from siting.config import Scenario
from siting.errors import InputError
from siting.p1812 import read_itu_map_value
from siting.terrain import Terrain

__all__ = ["region_centre_deg", "resolve_itu_maps"]


def region_centre_deg(terrain: Terrain) -> tuple[float, float]:
    """(latitude, longitude) [deg, WGS 84] of the centre of the terrain's extent."""
    if terrain.crs is None:
        raise InputError("the terrain has no CRS, so the region's latitude and longitude (which "
                         "ITU-R P.1812 reads) are unknown")
    xmin, ymin, xmax, ymax = terrain.bounds
    to_wgs84 = pyproj.Transformer.from_crs(terrain.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(0.5 * (xmin + xmax), 0.5 * (ymin + ymax))
    return float(lat), float(lon)


def resolve_itu_maps(scenario: Scenario, terrain: Terrain) -> Scenario:
    """``scenario`` with every p1812 technology's missing ``delta_n`` / ``n0`` read from
    ``coverage.itu_maps_dir`` at the region's centre (:func:`region_centre_deg`); the scenario
    itself when none is missing. Values the scenario gives are kept.

    Raises
    ------
    InputError
        A map file is missing or malformed (the message says where to get it).
    """
    missing = [t for t in scenario.technologies
               if t.p1812 is not None and None in (t.p1812.delta_n, t.p1812.n0)]
    if not missing:
        return scenario
    lat, lon = region_centre_deg(terrain)
    maps_dir = scenario.coverage.itu_maps_dir
    read = {"delta_n": read_itu_map_value(maps_dir, "DN50", lat, lon),
            "n0": read_itu_map_value(maps_dir, "N050", lat, lon)}
    technologies = []
    for tech in scenario.technologies:
        if tech in missing:
            filled = {key: read[key] for key in read if getattr(tech.p1812, key) is None}
            tech = dataclasses.replace(tech, p1812=dataclasses.replace(tech.p1812, **filled))
        technologies.append(tech)
    return dataclasses.replace(scenario, technologies=tuple(technologies))

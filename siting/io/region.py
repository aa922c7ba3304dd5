"""Every input of a scenario, read together into one :class:`RegionData`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import rasterio
import shapely

from siting.config import MODEL_BASE_HEIGHT_RANGE_M, Scenario
from siting.errors import InputError
from siting.io.layers import layer_names, read_points
from siting.io.problems import Problems, id_list
from siting.io.rasters import (PopulationRaster, check_overlap, open_raster, population_overview,
                               read_population, read_terrain, resolve_crs)
from siting.terrain import Terrain

CANDIDATE_KINDS = ("existing_4g", "existing_5g", "public_building", "lamp_pole", "water_tower",
                   "existing_tower", "rooftop", "greenfield")
EXISTING_KINDS = {"existing_4g": "4G", "existing_5g": "5G"}
MAX_ANTENNA_HEIGHT_M = 300.0

# Required fields per layer: name -> "str" | "float" | "int" | "bool".
VILLAGE_FIELDS = {"village_id": "str", "name": "str", "population": "float", "admin_unit": "str",
                  "poverty_village": "bool", "relocation_site": "bool"}
CANDIDATE_FIELDS = {"site_id": "str", "kind": "str", "antenna_height_m": "float",
                    "capex_cny": "float", "opex_cny_per_year": "float", "free_public": "bool",
                    "difficult": "bool", "extra_cost_cny": "float", "technologies": "str"}
COMPLAINT_FIELDS = {"complaint_id": "str", "people": "float"}
ZONE_FIELDS = {"zone_id": "str", "name": "str", "kind": "str", "require_5g": "bool"}
ADMIN_FIELDS = {"admin_unit": "str"}


@dataclass(frozen=True)
class RegionData:
    """Everything a run reads, in one projected CRS (metres)."""

    crs: pyproj.CRS
    terrain: Terrain
    # people per cell, float64, 2-D: the raster itself, or (when its largest side exceeds
    # POPULATION_OVERVIEW_PX) its block means, for maps; demand reads ``population_source``
    population: np.ndarray
    population_transform: rasterio.Affine
    villages: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    complaints: gpd.GeoDataFrame | None
    zones: gpd.GeoDataFrame | None
    admin_units: gpd.GeoDataFrame | None
    population_source: PopulationRaster | None = None  # full resolution, read by band


def _check_inside(frame: gpd.GeoDataFrame, terrain: Terrain, where: str) -> None:
    inside = terrain.contains(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy())
    if not inside.all():
        raise InputError(f"{where}: {int((~inside).sum())} point(s) lie outside the DEM: "
                         f"{id_list(frame.index, ~inside)}; remove them or use a larger DEM")


def _check_zones_inside(zones: gpd.GeoDataFrame, terrain: Terrain, where: str) -> None:
    dem = shapely.box(*terrain.bounds)
    outside = ~zones.geometry.intersects(dem)
    if outside.any():
        raise InputError(f"{where}: zone(s) {id_list(zones.index, outside)} lie entirely outside the "
                         f"DEM; remove them or use a larger DEM")


def _read_optional(path: Path, layer: str | None, crs, fields, id_field, geometry="Point"):
    if layer is None:
        return None
    try:
        available = layer_names(path)
    except InputError:
        return None  # already reported by the required layers
    if layer not in available:
        return None
    return read_points(path, layer, crs, fields, id_field, geometry=geometry)


def read_region(scenario: Scenario) -> RegionData:
    """Read every input of ``scenario`` and bring it into the run's CRS.

    Raises one :class:`InputError` listing every problem found (one line each), so a user can
    fix all inputs in one go.
    """
    problems = Problems()
    inputs = scenario.inputs
    crs = problems.attempt(resolve_crs, scenario)
    terrain = source = None
    if crs is not None:
        terrain = problems.attempt(read_terrain, inputs.dem, crs)
        source = problems.attempt(read_population, inputs.population, crs)
        if source is not None and terrain is not None:
            problems.attempt(check_overlap, terrain, source, inputs.population)
    else:
        # Without the run CRS the rasters cannot be warped; still report their own problems.
        problems.attempt(lambda: open_raster(inputs.population, "population").close())
    villages = problems.attempt(read_points, inputs.vectors, inputs.villages_layer, crs,
                                VILLAGE_FIELDS, "village_id")
    candidates = problems.attempt(read_points, inputs.vectors, inputs.candidates_layer, crs,
                                  CANDIDATE_FIELDS, "site_id",
                                  check=lambda frame, where: _validate_candidates(frame, scenario, where))
    complaints = problems.attempt(_read_optional, inputs.vectors, inputs.complaints_layer, crs,
                                  COMPLAINT_FIELDS, "complaint_id")
    zones = problems.attempt(_read_optional, inputs.vectors, inputs.zones_layer, crs, ZONE_FIELDS,
                             "zone_id", "Polygon")
    admin = problems.attempt(_read_optional, inputs.vectors, inputs.admin_layer, crs, ADMIN_FIELDS,
                             "admin_unit", "Polygon")
    if terrain is not None:
        for frame, layer in ((villages, inputs.villages_layer), (candidates, inputs.candidates_layer),
                             (complaints, inputs.complaints_layer)):
            if frame is not None:
                problems.attempt(_check_inside, frame, terrain, f"{inputs.vectors} layer '{layer}'")
        if zones is not None:
            problems.attempt(_check_zones_inside, zones, terrain,
                             f"{inputs.vectors} layer '{inputs.zones_layer}'")
    problems.raise_if_any()
    population, pop_transform = population_overview(source)
    return RegionData(crs=crs, terrain=terrain, population=population,
                      population_transform=pop_transform, villages=villages,
                      candidates=candidates, complaints=complaints, zones=zones, admin_units=admin,
                      population_source=source)


def _validate_candidates(candidates: gpd.GeoDataFrame, scenario: Scenario, where: str) -> None:
    problems = Problems()
    kind = candidates["kind"]
    blank = kind.isna() | (kind.astype(str).str.strip() == "")  # reported as an empty field
    unknown = ~kind.astype(str).isin(CANDIDATE_KINDS) & ~blank
    if unknown.any():
        values = sorted(set(candidates["kind"][unknown].astype(str)))
        problems.add(f"{where}: field 'kind' has unknown value(s) {', '.join(map(repr, values[:3]))} "
                     f"for feature(s) {id_list(candidates.index, unknown)}; use one of "
                     f"{', '.join(CANDIDATE_KINDS)}")
    bad_techs = []
    usable = np.zeros(len(candidates), bool)
    generations = {t.generation for t in scenario.technologies}
    for i, listed in enumerate(candidates["technologies"]):
        if listed is None or (isinstance(listed, float) and np.isnan(listed)):
            continue  # reported as an empty field
        allowed = {g.strip() for g in str(listed).split(",") if g.strip()}
        if not allowed or not allowed <= {"4G", "5G"}:
            bad_techs.append(i)
        usable[i] = bool(allowed & generations)
    if bad_techs:
        first = candidates["technologies"].iloc[bad_techs[0]]
        mask = np.zeros(len(candidates), bool)
        mask[bad_techs] = True
        problems.add(f"{where}: field 'technologies' of feature(s) {id_list(candidates.index, mask)} "
                     f"is not a list of generations (e.g. {first!r}); use a comma-separated list of "
                     f"4G and/or 5G")
    if not generations:
        problems.add(f"{scenario.path}: technologies: none defined")
    elif not bad_techs and not usable.any():
        problems.add(f"{where}: field 'technologies': no candidate allows any of the scenario's "
                     f"generations ({', '.join(sorted(generations))}); no site could be planned")
    height = pd.to_numeric(candidates["antenna_height_m"], errors="coerce")
    bad = ((height <= 0) | (height > MAX_ANTENNA_HEIGHT_M)).fillna(False).to_numpy(bool)
    if bad.any():
        problems.add(f"{where}: field 'antenna_height_m' must be in (0, {MAX_ANTENNA_HEIGHT_M:g}] m; "
                     f"feature(s) {id_list(candidates.index, bad)} hold "
                     f"{[float(h) for h in height[bad][:3]]}")
    else:
        _check_model_heights(candidates, height.to_numpy(float), scenario, where, problems)
    problems.raise_if_any()


def _check_model_heights(candidates, height_m: np.ndarray, scenario: Scenario, where: str,
                         problems: Problems) -> None:
    """Each site's antenna must lie in the height range of every model it could be planned
    with (a path-loss model outside its range is not extrapolated silently)."""
    allows = candidates["technologies"].astype(str)
    for tech in scenario.technologies:
        low, high = MODEL_BASE_HEIGHT_RANGE_M[tech.model]
        uses = allows.str.contains(tech.generation, regex=False).to_numpy(bool)
        outside = uses & ((height_m < low) | (height_m > high))
        if outside.any():
            problems.add(f"{where}: field 'antenna_height_m' of feature(s) "
                         f"{id_list(candidates.index, outside)} ({height_m[outside][0]:g} m, ...) is "
                         f"outside the {low:g}-{high:g} m range of the {tech.model} model of "
                         f"technology {tech.name}; raise the antenna, remove {tech.generation} "
                         f"from the site's 'technologies', or choose another model")

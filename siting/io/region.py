"""Every input of a scenario, read together into one :class:`RegionData`."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import rasterio
import rasterio.warp
import shapely

from siting.config import BACKHAUL_LAYERS, LAYERS, REQUIRED_LAYERS, LayerSource, Scenario
from siting.errors import InputError
from siting.io.dem import lonlat_box_outline
from siting.io.layers import generations_of, has_layer, read_layer, reproject, source_label
from siting.io.problems import Problems, id_list
from siting.io.rasters import (DemSource, PopulationRaster, check_overlap, open_raster,
                               population_overview, read_land_cover, read_population,
                               read_terrain, resolve_crs)
from siting.io.headers import suggested_names
from siting.io.tables import blank_cells, matching_columns
from siting.propagation import PATH_LOSS_MODELS
from siting.terrain import Terrain

CANDIDATE_KINDS = ("existing_4g", "existing_5g", "public_building", "lamp_pole", "water_tower",
                   "existing_tower", "rooftop", "greenfield")
EXISTING_KINDS = {"existing_4g": "4G", "existing_5g": "5G"}
MAX_ANTENNA_HEIGHT_M = 300.0

logger = logging.getLogger(__name__)

# Fields per layer: name -> "str" | "id" | "site_kind" | "float" | "bool" | "generations"
# ("4G,5G"); "id": another layer's id, read as ids are (siting.io.tables.id_text: a village's
# admin unit names an admin-unit polygon); a trailing "?" marks a field that may be absent (a
# village's admin unit then comes from the polygons) and whose blank cells read as false or 0. A layer's own id is read as an id.
VILLAGE_FIELDS = {"village_id": "str", "name": "str", "population": "float", "admin_unit": "id?",
                  "poverty_village": "bool", "relocation_site": "bool"}
CANDIDATE_FIELDS = {"site_id": "str", "kind": "site_kind", "antenna_height_m": "float",
                    "capex_cny": "float", "opex_cny_per_year": "float", "free_public": "bool",
                    "difficult": "bool", "extra_cost_cny": "float", "technologies": "generations",
                    "has_fiber": "bool?", "backhaul_in_place": "bool?",
                    "rent_cny_per_year": "float?"}
#: The villages' flags a ``demand.mandatory`` rule reads, and the rule's key.
VILLAGE_RULE_FLAGS = {"poverty_village": "poverty_villages", "relocation_site": "relocation_sites"}
#: Complaint points weigh no people (they are covered, or reported, point by point), so a
#: ticket system's export needs no head count to be planned.
COMPLAINT_FIELDS = {"complaint_id": "str"}
ZONE_FIELDS = {"zone_id": "str", "name": "str", "kind": "str?", "require_5g": "bool?"}
#: A zone layer's optional columns when it has none (a polygon drawn in a web map and saved
#: as KML carries its name only): each zone of the 5G-zone layer needs 5G, and is of no kind
#: (a kind is read only for ``demand.backup.zone_kinds``, which then requires the column).
ZONE_DEFAULTS = {"kind": "", "require_5g": True}
ADMIN_FIELDS = {"admin_unit": "str"}
FIBER_NODE_FIELDS = {"node_id": "str"}
ROAD_FIELDS = {"road_id": "str?"}  # roads need no id: features without one are named by row


@dataclass(frozen=True)
class RegionData:
    """Everything a run reads, in one projected CRS (metres)."""

    crs: pyproj.CRS
    terrain: Terrain
    # people per cell, float64, 2-D: the raster itself, or (when its largest side exceeds
    # POPULATION_OVERVIEW_PX) its block means, for maps; demand reads ``population_source``;
    # None without a population raster (demand is then the villages' own populations)
    population: np.ndarray | None
    population_transform: rasterio.Affine | None
    villages: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    complaints: gpd.GeoDataFrame | None
    zones: gpd.GeoDataFrame | None
    admin_units: gpd.GeoDataFrame | None
    population_source: PopulationRaster | None = None  # full resolution, read by band
    fiber_nodes: gpd.GeoDataFrame | None = None  # points with fiber today (backhaul)
    roads: gpd.GeoDataFrame | None = None  # lines fiber may follow (backhaul)
    dem_source: DemSource | None = None  # the DEM in its own grid, read by window (predict)

    def on_dem(self, x, y) -> np.ndarray:
        """Whether each point (x, y) [m] lies on the DEM's data: on a terrain cell that holds
        data (:meth:`siting.terrain.Terrain.on_data`: not on nodata, such as a large void, a gap
        between tiles or the nodata corners of a tile warped to UTM) and on the DEM tiles (not
        in the margin a DEM warped from another CRS gains)."""
        return on_dem(self.terrain, self.dem_source, x, y)

    def on_nodata(self, x, y) -> np.ndarray:
        """Whether each point (x, y) [m] lies on the DEM tiles but on a cell without data
        (where :meth:`on_dem` is False for want of data, not of tiles)."""
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        return _on_tiles(self.terrain, self.dem_source, x, y) & ~self.terrain.on_data(x, y)

    def dem_footprint(self) -> shapely.Geometry:
        """The area :meth:`on_dem` holds in but for nodata cells: the terrain's box, within the
        DEM tiles' outline."""
        footprint = shapely.box(*self.terrain.bounds)
        if self.dem_source is None:
            return footprint
        return shapely.intersection(footprint, self.dem_source.outline())


def on_dem(terrain: Terrain, dem_source: DemSource | None, x, y) -> np.ndarray:
    """:meth:`RegionData.on_dem` before the region is assembled."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return _on_tiles(terrain, dem_source, x, y) & terrain.on_data(x, y)


def _on_tiles(terrain: Terrain, dem_source: DemSource | None, x, y) -> np.ndarray:
    """Whether each point lies on the terrain and on the DEM tiles, nodata cells or not."""
    inside = terrain.contains(x, y)
    if dem_source is not None and inside.any():
        inside &= dem_source.contains(x, y)
    return inside


def _flag(candidates: pd.DataFrame, field: str) -> np.ndarray:
    """Bool per candidate: its optional boolean ``field`` is true (False when absent)."""
    if field not in candidates:
        return np.zeros(len(candidates), bool)
    return candidates[field].fillna(False).to_numpy(bool)


def has_fiber(candidates: pd.DataFrame) -> np.ndarray:
    """Bool per candidate: it has fiber on site (the optional ``has_fiber`` field)."""
    return _flag(candidates, "has_fiber")


def site_rent_cny_per_year(candidates: pd.DataFrame) -> np.ndarray | None:
    """The yearly rent (场租) each candidate's owner charges [CNY/yr] (the optional
    ``rent_cny_per_year`` field, a blank cell 0); None when the layer has no such column."""
    if "rent_cny_per_year" not in candidates:
        return None
    return candidates["rent_cny_per_year"].fillna(0.0).to_numpy(float)


def backhaul_in_place(candidates: pd.DataFrame) -> np.ndarray:
    """Bool per candidate: its backhaul exists without fiber on site, e.g. an existing
    site's microwave hop or leased line (the optional ``backhaul_in_place`` field)."""
    return _flag(candidates, "backhaul_in_place")


def _lonlat(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    lonlat = frame.geometry.to_crs("EPSG:4326")
    return lonlat.x.to_numpy(), lonlat.y.to_numpy()


def _would_fit(frame: gpd.GeoDataFrame, terrain: Terrain, lon, lat) -> bool:
    """Whether every point would lie on the DEM at longitudes ``lon`` and latitudes ``lat``."""
    moved = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326").to_crs(frame.crs)
    return bool(terrain.contains(moved.x.to_numpy(), moved.y.to_numpy()).all())


def _swap_would_fit(frame: gpd.GeoDataFrame, terrain: Terrain) -> bool:
    """Whether the points would lie on the DEM with longitude and latitude exchanged."""
    lon, lat = _lonlat(frame)
    return bool(np.abs(lon).max() <= 90) and _would_fit(frame, terrain, lat, lon)


def _mirrored_axis(frame: gpd.GeoDataFrame, terrain: Terrain) -> str | None:
    """"longitude" or "latitude" when the points would lie on the DEM with that coordinate's
    sign turned (108°30'W or -108.5 for 108.5 E), else None."""
    lon, lat = _lonlat(frame)
    if _would_fit(frame, terrain, -lon, lat):
        return "longitude"
    return "latitude" if _would_fit(frame, terrain, lon, -lat) else None


def _check_inside(frame: gpd.GeoDataFrame, terrain: Terrain, dem_source: DemSource | None,
                  where: str) -> None:
    """Refuse points off the DEM (naming what to do), then points on its nodata cells."""
    x, y = frame.geometry.x.to_numpy(np.float64), frame.geometry.y.to_numpy(np.float64)
    on_tiles = _on_tiles(terrain, dem_source, x, y)
    if not on_tiles.all():
        raise InputError(f"{where}: {int((~on_tiles).sum())} point(s) lie outside the DEM: "
                         f"{id_list(frame.index, ~on_tiles)}; "
                         f"{_outside_hint(frame[~on_tiles], terrain, dem_source)}")
    on_nodata = ~terrain.on_data(x, y)
    if on_nodata.any():
        raise InputError(f"{where}: {int(on_nodata.sum())} point(s) lie on DEM cells without "
                         f"data (nodata: a void in the DEM, a gap between its tiles, or the "
                         f"empty corners of a tile reprojected to another CRS): "
                         f"{id_list(frame.index, on_nodata)}; fill the DEM there (a void-filled "
                         f"DEM such as SRTM v3 or Copernicus GLO-30, or gdal_fillnodata.py) or "
                         f"move or remove those points")


def _outside_hint(outside: gpd.GeoDataFrame, terrain: Terrain,
                  dem_source: DemSource | None) -> str:
    """What to do about points off the terrain: swap the coordinates, leave out the points
    beyond the planning area (the DEM's tiles reach them, but only the planning area is read
    from the tiles), or bring a larger DEM."""
    if _swap_would_fit(outside, terrain):
        return ("longitude and latitude look swapped (swapped, they fall on the DEM); swap the x "
                "and y columns")
    if (axis := _mirrored_axis(outside, terrain)) is not None:
        side = "W or a minus sign for E" if axis == "longitude" else "S or a minus sign for N"
        return (f"their {axis}s have the wrong sign (with it turned, they fall on the DEM): "
                f"correct the hemisphere ({side})")
    x, y = outside.geometry.x.to_numpy(), outside.geometry.y.to_numpy()
    if dem_source is not None and dem_source.contains(x, y).all():
        return ("the DEM's tiles reach them, but only the planning area is read from the tiles "
                "(the admin units, or region.bbox, widened by the longest max_range_m); remove "
                "the points beyond it, or widen inputs.admin_units or region.bbox to include them")
    return "remove them or use a larger DEM"


def _check_fiber_nodes(nodes: gpd.GeoDataFrame, terrain: Terrain,
                       dem_source: DemSource | None, where: str) -> None:
    """Fiber nodes end fiber routes, along the roads and off-road spurs, and carry no radio:
    a node beyond the DEM (an exchange in the next county) is used, with a warning naming
    it and its distance. Nodes that all lie off the DEM (a wrong CRS) are refused as other
    layers' points are."""
    x, y = nodes.geometry.x.to_numpy(np.float64), nodes.geometry.y.to_numpy(np.float64)
    off = ~_on_tiles(terrain, dem_source, x, y)
    if off.all():
        _check_inside(nodes, terrain, dem_source, where)
    if off.any():
        dem = shapely.box(*terrain.bounds)
        off_km = shapely.distance(dem, shapely.points(x[off], y[off])) / 1000.0
        named = pd.Index([f"{node} ({km:.1f} km)" for node, km in zip(nodes.index[off], off_km)])
        logger.warning("%s: %d fiber node(s) lie outside the DEM, by: %s; they are used as the "
                       "ends of fiber routes (roads and off-road spurs need no terrain)",
                       where, int(off.sum()), id_list(named, np.ones(named.size, bool)))


def _check_zones_inside(zones: gpd.GeoDataFrame, terrain: Terrain, where: str) -> None:
    dem = shapely.box(*terrain.bounds)
    outside = ~zones.geometry.intersects(dem)
    if outside.any():
        raise InputError(f"{where}: zone(s) {id_list(zones.index, outside)} lie entirely outside the "
                         f"DEM; remove them or use a larger DEM")


#: Each input layer: its fields, its id field and its geometry type.
LAYER_RULES = {
    "villages": (VILLAGE_FIELDS, "village_id", "Point"),
    "candidates": (CANDIDATE_FIELDS, "site_id", "Point"),
    "complaints": (COMPLAINT_FIELDS, "complaint_id", "Point"),
    "zones": (ZONE_FIELDS, "zone_id", "Polygon"),
    "admin_units": (ADMIN_FIELDS, "admin_unit", "Polygon"),
    "fiber_nodes": (FIBER_NODE_FIELDS, "node_id", "Point"),
    "roads": (ROAD_FIELDS, "road_id", "LineString"),
}


def _source(scenario: Scenario, name: str) -> LayerSource | None:
    """The source of layer ``name``, or None when the scenario gives none (an optional layer
    of ``inputs.vectors`` missing from the file gives none)."""
    source = scenario.inputs.layer(name)
    return None if source is None or (source.optional and not has_layer(source)) else source


def _layers_to_read(scenario: Scenario) -> tuple[str, ...]:
    """The layers a run reads: the backhaul layers only with ``backhaul.enabled``. Backhaul
    layers the scenario names on their own but does not use are logged once."""
    if scenario.backhaul.enabled:
        return LAYERS
    named = [f"inputs.{name}" for name in BACKHAUL_LAYERS
             if (source := scenario.inputs.layer(name)) is not None and not source.optional]
    if named:
        logger.warning("%s: %s not read: backhaul.enabled is false", scenario.path,
                       " and ".join(named))
    return tuple(name for name in LAYERS if name not in BACKHAUL_LAYERS)


def _read_layers(scenario: Scenario, problems: Problems) -> dict[str, gpd.GeoDataFrame | None]:
    """Every vector layer the run reads, checked and in its own CRS (GCJ-02/BD-09 already in
    WGS 84); None for the others."""
    frames = dict.fromkeys(LAYERS)
    for name in _layers_to_read(scenario):
        source = _source(scenario, name)
        if source is None:
            continue
        fields, id_field, geometry = LAYER_RULES[name]
        needed_by = {}
        if name == "villages":
            fields, needed_by = _village_fields(scenario)
        check = (lambda frame, where: _validate_candidates(frame, scenario, where)) \
            if name == "candidates" else None
        frames[name] = problems.attempt(read_layer, source, None, fields, id_field,
                                        geometry=geometry, check=check,
                                        optional=name not in REQUIRED_LAYERS, needed_by=needed_by)
    if frames["villages"] is not None:
        for flag in VILLAGE_RULE_FLAGS:
            if flag not in frames["villages"].columns:
                frames["villages"][flag] = False
    if frames["zones"] is not None:
        problems.attempt(_fill_zone_defaults, frames["zones"], scenario)
    return frames


def _fill_zone_defaults(zones: gpd.GeoDataFrame, scenario: Scenario) -> None:
    """Give ``zones`` the columns of :data:`ZONE_DEFAULTS` it lacks, in place; InputError
    when ``demand.backup.zone_kinds`` names kinds and the layer has no kind to match."""
    kinds = scenario.demand.backup_zone_kinds
    if kinds and "kind" not in zones.columns:
        raise InputError(f"{source_label(scenario.inputs.zones)}: no column 'kind', which "
                         f"demand.backup.zone_kinds ({', '.join(kinds)}) is matched against; "
                         f"add a kind to each zone (map its column with inputs.zones.fields: "
                         f"{{kind: 类型}}), or remove demand.backup")
    for column, value in ZONE_DEFAULTS.items():
        if column not in zones.columns:
            zones[column] = value


def _village_fields(scenario: Scenario) -> tuple[dict[str, str], dict[str, str]]:
    """The villages' fields as the scenario reads them, and the setting that requires each
    flag of :data:`VILLAGE_RULE_FLAGS`: a flag is required while its ``demand.mandatory`` rule
    is on, else optional (an absent column reads as false: no village is one)."""
    rule_on = {flag: getattr(scenario.demand, f"mandatory_{setting}")
               for flag, setting in VILLAGE_RULE_FLAGS.items()}
    fields = {**VILLAGE_FIELDS, **{flag: "bool" if rule_on[flag] else "bool?"
                                   for flag in VILLAGE_RULE_FLAGS}}
    needed_by = {flag: f"demand.mandatory.{setting}" for flag, setting in VILLAGE_RULE_FLAGS.items()
                 if rule_on[flag]}
    return fields, needed_by


def _region_lonlat(scenario: Scenario, admin: gpd.GeoDataFrame | None):
    """The planning area as a WGS 84 box (west, south, east, north): ``region.bbox``, else the
    admin units' extent, else None (the DEM's extent)."""
    if scenario.region.bbox_deg is not None:
        return scenario.region.bbox_deg
    if admin is not None and admin.crs is not None:
        return tuple(float(v) for v in admin.to_crs("EPSG:4326").total_bounds)
    return None


def _region_bounds(lonlat_box, crs: pyproj.CRS, margin_m: float):
    """The planning area in the run's CRS, widened by ``margin_m`` (the longest technology
    range: the terrain out there shapes coverage inside), or None."""
    if lonlat_box is None:
        return None
    xmin, ymin, xmax, ymax = rasterio.warp.transform_bounds("EPSG:4326", crs, *lonlat_box,
                                                            densify_pts=21)
    return xmin - margin_m, ymin - margin_m, xmax + margin_m, ymax + margin_m


def _required_area(scenario: Scenario, admin: gpd.GeoDataFrame | None, crs):
    """The area the DEM must cover, in ``crs``: ``region.bbox``, else the admin units, else None."""
    if scenario.region.bbox_deg is not None:
        return lonlat_box_outline(scenario.region.bbox_deg, crs)
    return admin.geometry.union_all() if admin is not None else None


def _read_rasters(scenario: Scenario, crs, lonlat_box, admin, problems: Problems):
    """The Terrain over the region and the population raster (or None), in ``crs``."""
    inputs = scenario.inputs
    if crs is None:
        # Without the run CRS the rasters cannot be warped; still report their own problems.
        if inputs.population is not None:
            problems.attempt(lambda: open_raster(inputs.population, "population").close())
        return None, None
    margin_m = max((t.max_range_m for t in scenario.technologies), default=0.0)
    terrain = problems.attempt(read_terrain, inputs.dem, crs,
                               region_bounds=_region_bounds(lonlat_box, crs, margin_m),
                               required_area=_required_area(scenario, admin, crs))
    if terrain is not None and inputs.land_cover is not None:
        land_cover = problems.attempt(read_land_cover, inputs.land_cover, terrain,
                                      scenario.land_cover_classes)
        terrain = dataclasses.replace(terrain, land_cover=land_cover)
    if inputs.population is None:
        return terrain, None
    source = problems.attempt(read_population, inputs.population, crs)
    if source is not None and terrain is not None:
        problems.attempt(check_overlap, terrain, source, inputs.population)
    return terrain, source


def _check_fiber(frames: dict, scenario: Scenario, problems: Problems) -> None:
    """With backhaul, fiber must be somewhere, and no fiber node may share a candidate's id
    (a backhaul link's ``to_id`` names either)."""
    candidates, nodes = frames["candidates"], frames["fiber_nodes"]
    if not scenario.backhaul.enabled or candidates is None:
        return
    if nodes is None and _source(scenario, "fiber_nodes") is None and not has_fiber(candidates).any():
        problems.add(f"{scenario.path}: backhaul.enabled is true but there is no fiber (no "
                     f"inputs.fiber_nodes and no candidate with has_fiber); give the points with "
                     f"fiber today as inputs.fiber_nodes, mark the candidates with fiber on site "
                     f"(has_fiber), or set backhaul.enabled: false")
    if nodes is not None and (shared := nodes.index.isin(candidates.index)).any():
        problems.add(f"{source_label(scenario.inputs.fiber_nodes)}: node_id "
                     f"{id_list(nodes.index, shared)} is also a site_id of "
                     f"{source_label(scenario.inputs.candidates)}; backhaul links name fiber nodes "
                     f"and sites alike, so give the fiber node(s) other ids (e.g. FN-"
                     f"{nodes.index[shared][0]})")


def _warn_mixed_sources(frames: dict, scenario: Scenario) -> None:
    """Warn when the villages and candidates come from files of their own while other layers
    are still read from ``inputs.vectors``: what a planner sees after replacing the first in
    ``siting init``'s template, whose sample GeoPackage would add its complaints and 5G zones
    (mandatory points of another region) to the plan unnoticed."""
    own = [name for name in REQUIRED_LAYERS
           if (source := scenario.inputs.layer(name)) is not None and source.key != "inputs.vectors"]
    shared = [name for name, frame in frames.items()
              if frame is not None and name not in REQUIRED_LAYERS
              and scenario.inputs.layer(name).key == "inputs.vectors"]
    if len(own) < len(REQUIRED_LAYERS) or not shared:
        return
    counts = ", ".join(f"{name} ({len(frames[name])})" for name in shared)
    path = scenario.inputs.layer(shared[0]).path
    logger.warning("%s: %s are read from %s (inputs.vectors), while the villages and candidates "
                   "come from files of their own; if %s is not of this region (siting init's "
                   "sample), set %s", scenario.path, counts, path.name, path.name,
                   ", ".join(f"inputs.layers.{name}: null" for name in shared))


def _lonlat_extent(geometry: gpd.GeoSeries) -> str:
    """The extent of ``geometry`` in degrees, as messages write it."""
    west, south, east, north = geometry.to_crs("EPSG:4326").total_bounds
    return f"{west:.3f}..{east:.3f} E, {south:.3f}..{north:.3f} N"


def _check_roads_reach(roads: gpd.GeoDataFrame, terrain: Terrain, where: str) -> None:
    """Roads that all lie off the DEM are a mistake (a wrong CRS label, another region's
    file): fiber would follow none of them, and every route would silently go off road."""
    dem = gpd.GeoSeries([shapely.box(*terrain.bounds)], crs=roads.crs)
    if roads.geometry.intersects(dem.iloc[0]).any():
        return
    raise InputError(f"{where}: none of the {len(roads)} road(s) comes onto the DEM (the roads "
                     f"span {_lonlat_extent(roads.geometry)}, the DEM "
                     f"{_lonlat_extent(dem)}); check the CRS the file declares (its .prj, or "
                     f"inputs.roads.crs), or remove inputs.roads")


def _check_on_dem(frames: dict, scenario: Scenario, terrain: Terrain, dem_source: DemSource,
                  problems: Problems) -> None:
    for name in ("villages", "candidates", "complaints"):
        if frames[name] is not None:
            problems.attempt(_check_inside, frames[name], terrain, dem_source,
                             source_label(scenario.inputs.layer(name)))
    if frames["fiber_nodes"] is not None:
        problems.attempt(_check_fiber_nodes, frames["fiber_nodes"], terrain, dem_source,
                         source_label(scenario.inputs.fiber_nodes))
    if frames["roads"] is not None:
        problems.attempt(_check_roads_reach, frames["roads"], terrain,
                         source_label(scenario.inputs.roads))
    if frames["zones"] is not None:
        problems.attempt(_check_zones_inside, frames["zones"], terrain,
                         source_label(scenario.inputs.zones))


def read_region(scenario: Scenario) -> RegionData:
    """Read every input of ``scenario`` and bring it into the run's CRS.

    The vector layers are read first: the admin units (or ``region.bbox``) say which part of
    the DEM tiles to read and, with ``crs: auto``, which UTM zone the run uses. Raises one
    :class:`InputError` listing every problem found (one line each), so a user can fix all
    inputs in one go.
    """
    problems = Problems()
    frames = _read_layers(scenario, problems)
    _warn_mixed_sources(frames, scenario)
    _check_fiber(frames, scenario, problems)
    lonlat_box = _region_lonlat(scenario, frames["admin_units"])
    crs = problems.attempt(resolve_crs, scenario, lonlat_box)
    if crs is not None:
        frames = {name: problems.attempt(reproject, frame, crs, source_label(scenario.inputs.layer(name)))
                  if frame is not None else None for name, frame in frames.items()}
    terrain, source = _read_rasters(scenario, crs, lonlat_box, frames["admin_units"], problems)
    dem_source = DemSource(scenario.inputs.dem, crs) if terrain is not None else None
    if terrain is not None:
        _check_on_dem(frames, scenario, terrain, dem_source, problems)
    problems.raise_if_any()
    population, pop_transform = population_overview(source) if source is not None else (None, None)
    return RegionData(crs=crs, terrain=terrain, population=population,
                      population_transform=pop_transform, villages=frames["villages"],
                      candidates=frames["candidates"], complaints=frames["complaints"],
                      zones=frames["zones"], admin_units=frames["admin_units"],
                      population_source=source, fiber_nodes=frames["fiber_nodes"],
                      roads=frames["roads"],
                      dem_source=dem_source)


def _validate_candidates(candidates: gpd.GeoDataFrame, scenario: Scenario, where: str) -> None:
    _warn_of_unread_rent(candidates, where)
    problems = Problems()
    kind = candidates["kind"]
    blank = blank_cells(kind)  # reported as an empty field
    unknown = ~kind.astype(str).isin(CANDIDATE_KINDS) & ~blank
    if unknown.any():
        values = sorted(set(candidates["kind"][unknown].astype(str)))
        problems.add(f"{where}: field 'kind' has unknown value(s) {', '.join(map(repr, values[:3]))} "
                     f"for feature(s) {id_list(candidates.index, unknown)}; use one of "
                     f"{', '.join(CANDIDATE_KINDS)}")
    generations = {t.generation for t in scenario.technologies}
    listed = [generations_of(v) for v in candidates["technologies"]]  # bad ones: reported
    usable = [bool(set(g) & generations) for g in listed if g is not None]
    if not generations:
        problems.add(f"{scenario.path}: technologies: none defined")
    elif usable and not any(usable):
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


def _warn_of_unread_rent(candidates: gpd.GeoDataFrame, where: str) -> None:
    """Warn when no column is read as ``rent_cny_per_year`` but one is headed as Chinese site
    lists head the rent (租金, 场租: :data:`siting.io.headers.CHINESE_COLUMN_NAMES`): the plan
    then charges no site rent and spares a free public site its ``opex_cny_per_year`` instead."""
    if "rent_cny_per_year" in candidates:
        return
    columns = [c for c in candidates.columns if c != candidates.geometry.name]
    column = matching_columns(columns, {"rent": suggested_names("rent_cny_per_year")})["rent"]
    if column is not None:
        logger.warning("%s: column '%s' is not read, so no site is charged its rent and a free "
                       "public site is spared its opex_cny_per_year instead; to read it as the "
                       "yearly rent, map it: fields: {rent_cny_per_year: %s}", where, column,
                       column)


def _check_model_heights(candidates, height_m: np.ndarray, scenario: Scenario, where: str,
                         problems: Problems) -> None:
    """Each site's antenna must lie in the height range of every model it could be planned
    with (:data:`siting.propagation.PATH_LOSS_MODELS`): a path-loss model outside its range is
    not extrapolated silently, and saying so here names the site before coverage runs."""
    allows = candidates["technologies"].astype(str)
    for tech in scenario.technologies:
        low, high = PATH_LOSS_MODELS[tech.model].base_height_range_m
        uses = allows.str.contains(tech.generation, regex=False).to_numpy(bool)
        outside = uses & ((height_m < low) | (height_m > high))
        if outside.any():
            problems.add(f"{where}: field 'antenna_height_m' of feature(s) "
                         f"{id_list(candidates.index, outside)} ({height_m[outside][0]:g} m, ...) is "
                         f"outside the {low:g}-{high:g} m range of the {tech.model} model of "
                         f"technology {tech.name}; raise the antenna, remove {tech.generation} "
                         f"from the site's 'technologies', or choose another model")

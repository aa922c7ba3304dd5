"""Scenario files: parse, validate and resolve a ``scenario.yaml`` into frozen dataclasses.

The scenario is the single description of a run: inputs, CRS, demand rules, technology
profiles, objective and solver settings. Every key is documented in the README. Loading
never touches the input files themselves (that is :mod:`siting.io`); it checks that the
scenario is well formed, resolves paths relative to the scenario file and reports every
problem at once in one :class:`~siting.errors.ScenarioError`.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from siting import p1812, propagation
from siting.clutter import P2108_CLUTTER_TYPES
from siting.errors import InputError, ScenarioError
from siting.landcover import NO_CLASS_NAME, WORLDCOVER_CLASSES, LandCoverClass

#: Path-loss models a technology may name, with their validity ranges: views of the one registry,
#: :data:`siting.propagation.PATH_LOSS_MODELS`, whose functions enforce the same ranges.
PATH_LOSS_MODELS = tuple(propagation.PATH_LOSS_MODELS)
MODEL_FREQUENCY_RANGE_MHZ = {name: model.frequency_range_mhz
                             for name, model in propagation.PATH_LOSS_MODELS.items()}
MODEL_BASE_HEIGHT_RANGE_M = {name: model.base_height_range_m
                             for name, model in propagation.PATH_LOSS_MODELS.items()}
OBJECTIVES = ("min_cost", "max_coverage")
SOLVERS = ("highs", "cbc")


@dataclass(frozen=True)
class P1812Settings:
    """A technology's ITU-R P.1812-8 parameters (``technologies[].p1812``, model ``p1812``).

    ``delta_n`` [N-units/km] and ``n0`` [N-units] are the values of the ITU-R maps DN50 and
    N050; None until :func:`siting.io.resolve_itu_maps` reads them from
    ``coverage.itu_maps_dir`` at the region's centre.
    """

    time_pct: float = 50.0  # p, % of the time the loss is not exceeded (1-50)
    location_pct: float = 50.0  # pL, % of locations (0-100 exclusive)
    location_sigma_db: float = 0.0  # σL, location variability (§4.8); 0: none
    delta_n: float | None = None
    n0: float | None = None


@dataclass(frozen=True)
class ItmSettings:
    """A technology's ITM (Longley-Rice) parameters (``technologies[].itm``, model ``itm``), in
    NTIA's conventions (:mod:`siting.itm`); the defaults are the issue's and SPLAT!'s
    (average ground, continental temperate, 50 % time, locations and situations)."""

    epsilon: float = 15.0  # relative permittivity of the ground (average ground)
    sigma: float = 0.005  # ground conductivity [S/m]
    climate: int = 5  # 5 continental temperate
    n0: float = 301.0  # surface refractivity [N-units]
    polarization: str = "vertical"
    time_pct: float = 50.0
    location_pct: float = 50.0
    situation_pct: float = 50.0


@dataclass(frozen=True)
class Technology:
    """One radio technology profile (a 4G or 5G carrier) and its cost."""

    name: str
    generation: str  # "4G" or "5G"
    frequency_mhz: float
    eirp_dbm: float  # total EIRP over the carrier [dBm]
    resource_blocks: int  # RSRP is per resource element: EPRE = EIRP - 10 log10(12 N_RB)
    rsrp_threshold_dbm: float
    model: str
    max_range_m: float
    environment: str = "rural"  # for okumura_hata
    clutter_loss_db: float = 0.0  # body, vegetation and penetration margin [dB]
    equipment_capex_cny: float = 0.0
    opex_cny_per_year: float = 0.0
    p1812: P1812Settings | None = None  # with model "p1812" only
    itm: ItmSettings | None = None  # with model "itm" only

    @property
    def rs_epre_dbm(self) -> float:
        """EIRP per resource element [dBm] (3GPP TS 36.214 / 38.215 RSRP definition)."""
        return self.eirp_dbm - 10.0 * math.log10(12 * self.resource_blocks)


@dataclass(frozen=True)
class LayerSource:
    """Where one input layer comes from and how its columns map to siting's fields.

    ``path`` is any vector format GDAL reads (GeoPackage, GeoJSON, Shapefile or a zipped one,
    FlatGeobuf, KML) or a table (CSV, XLSX) with coordinate columns ``x``/``y`` (None: detected
    from the usual names). ``layer`` names the GeoPackage/KML layer or the XLSX sheet (None: the
    first). ``crs`` declares the coordinates' CRS: anything pyproj reads, or ``GCJ-02`` / ``BD-09``
    (Chinese web maps); None means the file's own CRS, and WGS 84 for tables. ``fields`` maps
    siting's field names to the file's column names.
    """

    path: Path
    layer: str | None = None
    x: str | None = None
    y: str | None = None
    crs: str | None = None
    fields: tuple[tuple[str, str], ...] = ()  # (siting field, file column)
    optional: bool = False  # a layer missing from the file means "none" (inputs.vectors layers)
    key: str = "inputs"  # the scenario key that names this source, for messages

    @property
    def column_of(self) -> dict[str, str]:
        """siting field name -> the file's column name, for the mapped fields."""
        return dict(self.fields)


LAYERS = ("villages", "candidates", "complaints", "zones", "admin_units", "fiber_nodes", "roads")
REQUIRED_LAYERS = ("villages", "candidates")
#: The layers only backhaul planning reads (not coverage).
BACKHAUL_LAYERS = ("fiber_nodes", "roads")


@dataclass(frozen=True)
class Inputs:
    """The files of a run. ``dem`` lists files, folders or glob patterns of DEM tiles;
    ``population`` is optional (None: demand is the villages and complaints)."""

    dem: tuple[Path, ...]
    population: Path | None
    villages: LayerSource
    candidates: LayerSource
    complaints: LayerSource | None = None
    zones: LayerSource | None = None
    admin_units: LayerSource | None = None
    fiber_nodes: LayerSource | None = None
    roads: LayerSource | None = None
    land_cover: Path | None = None  # class raster (inputs.land_cover), None: flat clutter loss

    def layer(self, name: str) -> LayerSource | None:
        """The source of the layer called ``name`` (one of :data:`LAYERS`), or None."""
        return getattr(self, name)


@dataclass(frozen=True)
class Region:
    """The planning area, when it is not the admin units' extent: a WGS 84 box in degrees."""

    bbox_deg: tuple[float, float, float, float] | None = None  # west, south, east, north


@dataclass(frozen=True)
class DemandRules:
    grid_m: float = 500.0
    min_people_per_cell: float = 1.0
    ue_height_m: float = 1.5
    mandatory_poverty_villages: bool = True
    mandatory_relocation_sites: bool = True
    mandatory_all_villages: bool = False
    mandatory_complaints: bool = True
    # the generations each mandatory village and complaint point must be covered by, each by
    # an option of its own ("any": one option of any generation)
    mandatory_generations: tuple[str, ...] = ("any",)
    zone_sample_m: float = 250.0  # spacing of 5G check points inside zones
    backup_zone_kinds: tuple[str, ...] = ()  # zones whose check points need backup coverage
    backup_servers: int = 2  # distinct 5G sites each such check point needs (k-coverage)


@dataclass(frozen=True)
class Phase:
    """One period (year) of a phased plan: what may be spent and built in it."""

    label: str  # e.g. "2027"
    budget_cny: float | None = None
    max_new_sites: int | None = None


@dataclass(frozen=True)
class Objective:
    kind: str = "max_coverage"
    budget_cny: float | None = None  # with phases: a cap on the whole plan
    max_new_sites: int | None = None  # with phases: a cap on the whole plan
    opex_years: float = 5.0
    phases: tuple[Phase, ...] = ()  # empty: a single-period plan
    discount_rate: float = 0.0  # per period, on people covered in later phases [-]
    mandatory_by: str | None = None  # phase by which mandatory demand is covered (None: last)

    @property
    def total_budget_cny(self) -> float | None:
        """The money the whole plan may spend: the cap, or the phases' budgets summed."""
        return _plan_limit(self.budget_cny, [p.budget_cny for p in self.phases])

    @property
    def total_max_new_sites(self) -> int | None:
        """New sites the whole plan may build: the cap, or the phases' quotas summed."""
        return _plan_limit(self.max_new_sites, [p.max_new_sites for p in self.phases])


def _plan_limit(cap, per_phase: list):
    """The tighter of a whole-plan cap and the sum of per-phase limits (None: no limit)."""
    limits = [cap]
    if per_phase and None not in per_phase:
        limits.append(sum(per_phase))
    known = [v for v in limits if v is not None]
    return min(known) if known else None


@dataclass(frozen=True)
class SolverSettings:
    name: str = "highs"
    time_limit_s: float = 120.0
    mip_gap: float = 0.001
    seed: int = 0


@dataclass(frozen=True)
class DistanceSlope:
    """A technology's distance slope (``distance_slopes`` of ``calibration.yaml``): the level
    gains ``db_per_decade`` x log10(d / ``reference_km``), the link's distance d [km] held
    within ``min_km``..``max_km`` (the distances it was fitted on), as a tuned model's K2
    term does (:func:`siting.coverage.slope_decades`)."""

    db_per_decade: float
    reference_km: float
    min_km: float
    max_km: float


@dataclass(frozen=True)
class Calibration:
    """Offsets [dB] added to the predicted level (``coverage.calibration``, the
    ``calibration.yaml`` that ``siting calibrate`` writes): per technology, one per land-cover
    class name, the model offset for the classes without one, and optionally a distance
    slope."""

    offsets_db: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = ()
    model_offset_db: tuple[tuple[str, float], ...] = ()
    distance_slopes: tuple[tuple[str, DistanceSlope], ...] = ()

    def offsets_of(self, technology: str) -> tuple[dict[str, float], float]:
        """({class name: offset [dB]}, offset of any other class [dB]) of a technology."""
        return dict(dict(self.offsets_db).get(technology, ())), \
            dict(self.model_offset_db).get(technology, 0.0)

    def slope_of(self, technology: str) -> DistanceSlope | None:
        """The technology's distance slope, None without one."""
        return dict(self.distance_slopes).get(technology)


@dataclass(frozen=True)
class CoverageSettings:
    earth_radius_factor: float = 4.0 / 3.0
    max_diffraction_edges: int = 3
    raster_resolution_m: float = 250.0
    antenna: str = "omni"  # "omni" or "three_sector" (TR 38.901 Table 7.3-1 pattern per sector)
    sector_azimuths_deg: tuple[float, ...] = (0.0, 120.0, 240.0)  # clockwise from grid north
    downtilt_deg: float = 6.0  # sector boresight below the horizontal [deg]
    itu_maps_dir: Path | None = None  # the user's DN50.TXT and N050.TXT (ITU-R P.1812)
    calibration: Calibration | None = None  # offsets from siting calibrate (None: none)


LANGUAGES = ("en", "zh")
BASEMAPS = ("none", "osm")


@dataclass(frozen=True)
class Basemap:
    """The web map's background tiles: none, OpenStreetMap, or a tile server of the user's."""

    kind: str = "osm"  # "none", "osm" or "custom"
    url: str | None = None  # custom: an XYZ template such as https://host/{z}/{x}/{y}.png
    attribution: str | None = None  # custom: the tile provider's credit line


@dataclass(frozen=True)
class OutputSettings:
    """How the outputs read: the language of what people read, and the web map's basemap."""

    language: str = "en"  # "en" or "zh" (Simplified Chinese) for reports, maps and KML
    basemap: Basemap = field(default_factory=Basemap)


#: What the year-end evaluation scores each county on, and the default weight of each
#: (:mod:`siting.evaluate`): sites built on time, budget kept, people gained, mandatory villages
#: gained, complaint points covered.
SCORE_CRITERIA = {"sites_on_time": 30.0, "budget": 10.0, "people": 20.0,
                  "mandatory_villages": 30.0, "complaints": 10.0}


@dataclass(frozen=True)
class EvaluationSettings:
    """The scenario's ``evaluation`` section: the weight of each of :data:`SCORE_CRITERIA` in a
    county's score (any non-negative numbers; the score divides by their sum)."""

    score_weights: dict = field(default_factory=lambda: dict(SCORE_CRITERIA))


@dataclass(frozen=True)
class MicrowaveBand:
    """A microwave backhaul band on offer: its frequency, longest hop, cost of a hop (both
    ends' radios and antennas) and capacity."""

    band_ghz: float
    max_hop_m: float
    cost_cny: float
    capacity_mbps: float | None = None


@dataclass(frozen=True)
class BackhaulSettings:
    """The scenario's ``backhaul`` section (issue: every new site fed by fiber, a microwave hop
    or satellite). Disabled by default: sites are planned as if backhaul were free."""

    enabled: bool = False
    fiber_cny_per_km_road: float = 60000.0
    fiber_cny_per_km_offroad: float = 150000.0
    detour_factor: float = 1.4  # straight line -> route length when no roads are given
    road_gap_m: float = 10.0  # a road's end this short of another road is joined to it
    max_microwave_hops: int = 3  # hops from a site to a fiber-fed site
    microwave: tuple[MicrowaveBand, ...] = (MicrowaveBand(15.0, 25000.0, 120000.0, 400.0),
                                            MicrowaveBand(23.0, 12000.0, 90000.0, 800.0))
    satellite_cny_per_year: float | None = None  # a last resort; None: not on offer
    # [Mbit/s] a site puts on its feed per generation it carries ({"4G": .., "5G": ..}),
    # which microwave hops carry within their capacity_mbps; None: capacity not planned
    site_traffic_mbps: dict | None = None
    # what may feed a site that counts for a mandatory point: "any" feed, or "terrestrial"
    # only (fiber, or microwave hops ending on fiber; never satellite)
    mandatory_feed: str = "any"


#: Values of ``backhaul.mandatory_feed``.
MANDATORY_FEEDS = ("any", "terrestrial")


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    inputs: Inputs
    crs: str  # "auto" or anything pyproj understands
    demand: DemandRules
    technologies: tuple[Technology, ...]
    objective: Objective
    solver: SolverSettings
    coverage: CoverageSettings = field(default_factory=CoverageSettings)
    outputs: OutputSettings = field(default_factory=OutputSettings)
    region: Region = field(default_factory=Region)
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)
    backhaul: BackhaulSettings = field(default_factory=BackhaulSettings)
    land_cover_classes: tuple[LandCoverClass, ...] = WORLDCOVER_CLASSES

    def __repr__(self) -> str:
        """One short line for a notebook: name, CRS, technologies, objective and budget. Every
        section stays an attribute (``scenario.technologies``, ``scenario.objective``, ...);
        ``dataclasses.asdict(scenario)`` gives them all."""
        techs = self.technologies
        budget_cny = self.objective.total_budget_cny
        budget = "no budget" if budget_cny is None else f"budget {budget_cny / 1e6:,.2f} M CNY"
        return (f"<Scenario {self.name!r}: CRS {self.crs}, {len(techs)} "
                f"technolog{'y' if len(techs) == 1 else 'ies'}, {self.objective.kind}, {budget}>")

    def technology(self, name: str) -> Technology:
        """The technology called ``name``; ScenarioError naming the scenario's when none is."""
        for tech in self.technologies:
            if tech.name == name:
                return tech
        raise ScenarioError(f"{self.path}: no technology {name!r}; the scenario's technologies "
                            f"are {', '.join(t.name for t in self.technologies)}")


# ---------------------------------------------------------------------------------------
# Parsing. Every section is read by one small function that appends problems to a list,
# so a user sees all mistakes in one go.


class _Problems:
    def __init__(self, source: Path):
        self.source = source
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{self.source}: {where}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ScenarioError("\n".join(self.items))


def _check_keys(section: dict, allowed: set[str], where: str, problems: _Problems) -> None:
    for key in section:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (allowed: {', '.join(sorted(allowed))})"
            problems.add(f"{where}.{key}" if where else str(key), f"unknown key{hint}")


def _section(raw: dict, key: str, problems: _Problems, *, parent: str = "",
             required: bool = False) -> dict:
    """The mapping ``raw[key]`` ({} when absent or not a mapping, which is a problem named
    ``parent.key``)."""
    value = raw.get(key)
    where = f"{parent}.{key}" if parent else key
    if value is None:
        if required:
            problems.add(where, "missing section")
        return {}
    if not isinstance(value, dict):
        problems.add(where, f"must be a mapping, got {value!r}; write its keys indented below "
                            f"'{key}:', one 'key: value' a line")
        return {}
    return value


#: The unit a key's suffix names (``max_hop_m``: metres), for messages.
UNIT_OF_SUFFIX = {"m": "metres", "km": "kilometres", "cny": "CNY", "ghz": "GHz", "mhz": "MHz",
                  "mbps": "Mbit/s", "s": "seconds", "db": "dB", "dbm": "dBm", "deg": "degrees"}
#: Factors from a unit written in a value to the key's unit: (key's, written) -> factor.
#: A sum of money in Chinese is often written in 万 (1e4) or 亿 (1e8) yuan: "4500万".
UNIT_FACTORS = {("m", "km"): 1000.0, ("km", "m"): 0.001, ("mhz", "ghz"): 1000.0,
                ("ghz", "mhz"): 0.001, ("cny", "元"): 1.0, ("cny", "万"): 1e4,
                ("cny", "万元"): 1e4, ("cny", "亿"): 1e8, ("cny", "亿元"): 1e8}
#: A number with thousands separators (45,000,000) and a unit ("25km", "4500万元"), as written
#: in a value.
_NUMBER_AND_UNIT = re.compile(r"\s*([-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[-+]?\d+(?:\.\d+)?)"
                              r"\s*([a-zA-Z]*|万元?|亿元?|元)\s*")


def _write_as(key: str, value: Any) -> str:
    """What to write instead of ``value`` for ``key``: a plain number in the key's unit, with
    the value converted when it is a number and a unit ("25km" for a key in metres: 25000;
    "4500万" for a key in CNY: 45000000) or has thousands separators ("45,000,000")."""
    unit = key.rsplit("_", 1)[-1].lower()
    if unit not in UNIT_OF_SUFFIX:
        return ""
    hint = f"; write a plain number in {UNIT_OF_SUFFIX[unit]}"
    written = _NUMBER_AND_UNIT.fullmatch(str(value))
    if written is not None:
        written_unit = written[2].lower() or unit
        factor = 1.0 if written_unit == unit else UNIT_FACTORS.get((unit, written_unit))
        if factor is not None:
            hint += f", e.g. {float(written[1].replace(',', '')) * factor:.10g}"
    return hint


def _number(section: dict, key: str, where: str, problems: _Problems, default: Any = None,
            *, minimum: float | None = None, maximum: float | None = None,
            above: float | None = None, below: float | None = None,
            integer: bool = False) -> Any:
    if key not in section or section[key] is None:
        if default is ...:
            problems.add(f"{where}.{key}", "missing (a number is required)")
        return None if default is ... else default
    value = section[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not math.isfinite(value)):
        problems.add(f"{where}.{key}", f"must be a finite number, got {value!r}{_write_as(key, value)}")
        return default if default is not ... else None
    if integer and int(value) != value:
        problems.add(f"{where}.{key}", f"must be a whole number, got {value!r}")
    if minimum is not None and value < minimum:
        problems.add(f"{where}.{key}", f"must be >= {minimum}, got {value!r}")
    if above is not None and value <= above:
        problems.add(f"{where}.{key}", f"must be > {above}, got {value!r}")
    if maximum is not None and value > maximum:
        problems.add(f"{where}.{key}", f"must be <= {maximum}, got {value!r}")
    if below is not None and value >= below:
        problems.add(f"{where}.{key}", f"must be < {below}, got {value!r}")
    return int(value) if integer else float(value)


def _bool(section: dict, key: str, where: str, problems: _Problems, default: bool) -> bool:
    value = section.get(key, default)
    if not isinstance(value, bool):
        problems.add(f"{where}.{key}", f"must be true or false, got {value!r}")
        return default
    return value


def _choice(section: dict, key: str, where: str, problems: _Problems, choices: tuple[str, ...],
            default: str | None) -> str | None:
    value = section.get(key, default)
    if value is None and default is None:
        problems.add(f"{where}.{key}", f"missing (one of: {', '.join(choices)})")
        return None
    if value not in choices:
        problems.add(f"{where}.{key}", f"must be one of {', '.join(choices)}, got {value!r}")
        return default
    return value


_SOURCE_KEYS = {"path", "layer", "sheet", "x", "y", "crs", "fields"}
#: A Windows drive letter at the start of a path (D:\data, D:/data).
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
#: What a backslash in a double-quoted YAML string turns into ("data\new": a newline).
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f]")


def _scenario_path(text: str, where: str, base: Path, problems: _Problems) -> Path:
    """A path of the scenario file (a file, folder or glob), resolved relative to ``base``
    (the scenario's folder). Backslashes are read as folder separators, as Windows reads
    them (``dem: tiles\\*.tif``, a scenario written on Windows and run on a Linux server);
    a drive letter where there are none, and a control character that a backslash in
    double quotes became, are problems naming the fix."""
    if _CONTROL_CHARACTER.search(text):
        problems.add(where, f"{text!r} holds a control character: in double quotes YAML reads a "
                            f"backslash as an escape ('\\n' is a new line); write the path with / "
                            f"(e.g. data/dem.tif) or without the quotes")
    elif _DRIVE.match(text) and not Path(text).is_absolute():
        problems.add(where, f"{text!r} is a path on Windows drive {text[:2]}, which this machine "
                            f"does not have; give the path relative to the scenario file (e.g. "
                            f"data/dem.tif) or as this machine's absolute path")
    path = Path(text.replace("\\", "/"))
    return path if path.is_absolute() else (base / path).resolve()


def _parse_layer_source(value: Any, where: str, base: Path, problems: _Problems) -> LayerSource | None:
    """``inputs.<layer>``: a path, or a mapping {path, layer | sheet, x, y, crs, fields}."""
    if isinstance(value, str) and value:
        return LayerSource(path=_scenario_path(value, where, base, problems), key=where)
    if not isinstance(value, dict):
        problems.add(where, f"must be a file path or a mapping with path (and layer, sheet, x, y, "
                            f"crs, fields), got {value!r}")
        return None
    _check_keys(value, _SOURCE_KEYS, where, problems)
    path = value.get("path")
    if not isinstance(path, str) or not path:
        problems.add(f"{where}.path", "missing (a file path relative to the scenario file)")
        return None
    if "layer" in value and "sheet" in value:
        problems.add(where, "give layer (GeoPackage, KML) or sheet (XLSX), not both")
    texts = {}
    for key in ("layer", "sheet", "x", "y", "crs"):
        item = value.get(key)
        if item is not None and not isinstance(item, (str, int)) or isinstance(item, bool):
            problems.add(f"{where}.{key}", f"must be a name, got {item!r}")
            item = None
        texts[key] = None if item is None else str(item)
    fields = value.get("fields") or {}
    if not isinstance(fields, dict) or not all(isinstance(k, str) and isinstance(v, (str, int))
                                               and not isinstance(v, bool) for k, v in fields.items()):
        problems.add(f"{where}.fields", f"must map siting's field names to the file's column "
                                        f"names (e.g. {{name: 村名}}), got {fields!r}")
        fields = {}
    return LayerSource(path=_scenario_path(path, f"{where}.path", base, problems),
                       layer=texts["layer"] or texts["sheet"],
                       x=texts["x"], y=texts["y"], crs=texts["crs"],
                       fields=tuple((k, str(v)) for k, v in fields.items()), key=where)


def _parse_dem(value: Any, base: Path, problems: _Problems) -> tuple[Path, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        problems.add("inputs.dem", "missing (a DEM file, a folder or glob of tiles, or a list of "
                                   "them, relative to the scenario file)")
        return ()
    return tuple(_scenario_path(v, "inputs.dem", base, problems) for v in items)


def _legacy_layers(sec: dict, base: Path, problems: _Problems) -> dict[str, LayerSource | None]:
    """The layers of ``inputs.vectors`` (one GeoPackage) named by ``inputs.layers``."""
    layers = _section(sec, "layers", problems, parent="inputs")
    _check_keys(layers, set(LAYERS), "inputs.layers", problems)
    for key, value in layers.items():
        if value is not None and not isinstance(value, str):
            problems.add(f"inputs.layers.{key}", f"must be a layer name or null, got {value!r}")
    vectors = sec.get("vectors")
    if vectors is None:
        if layers:  # the template's layers left behind once its GeoPackage line is deleted
            problems.add("inputs.layers", "names layers of inputs.vectors, which is not given, so "
                                          "none of them is read: remove inputs.layers, or give "
                                          "each layer its own file (e.g. inputs.complaints: "
                                          "complaints.csv), or give inputs.vectors")
        return {}
    if not isinstance(vectors, str) or not vectors:
        problems.add("inputs.vectors", "must be a GeoPackage path relative to the scenario file")
        return {}
    path = _scenario_path(vectors, "inputs.vectors", base, problems)
    sources = {}
    for name in LAYERS:
        layer = layers.get(name, name)
        if name in REQUIRED_LAYERS:
            sources[name] = LayerSource(path=path, layer=layer or name, key="inputs.vectors")
        elif isinstance(layer, str):
            sources[name] = LayerSource(path=path, layer=layer, optional=True, key="inputs.vectors")
        else:
            sources[name] = None
    return sources


def _parse_inputs(raw: dict, base: Path, problems: _Problems) -> Inputs | None:
    sec = _section(raw, "inputs", problems, required=True)
    _check_keys(sec, {"dem", "population", "vectors", "layers", "land_cover", *LAYERS}, "inputs",
                problems)
    dem = _parse_dem(sec.get("dem"), base, problems)
    population = sec.get("population")
    if population is not None and (not isinstance(population, str) or not population):
        problems.add("inputs.population", f"must be a raster path or null, got {population!r}")
        population = None
    sources = _legacy_layers(sec, base, problems)
    for name in LAYERS:
        if sec.get(name) is not None:
            sources[name] = _parse_layer_source(sec[name], f"inputs.{name}", base, problems)
    for name in REQUIRED_LAYERS:
        if name not in sources and name not in sec:
            problems.add(f"inputs.{name}", "missing (a file, or inputs.vectors with a layer of "
                                           "that name)")
    if not dem or any(sources.get(name) is None for name in REQUIRED_LAYERS):
        return None
    return Inputs(dem=dem, population=None if population is None
                  else _scenario_path(population, "inputs.population", base, problems),
                  land_cover=_optional_path(sec, "land_cover", "inputs", base, "raster", problems),
                  **{name: sources.get(name) for name in LAYERS})


def _parse_region(raw: dict, problems: _Problems) -> Region:
    sec = _section(raw, "region", problems)
    _check_keys(sec, {"bbox"}, "region", problems)
    bbox = sec.get("bbox")
    if bbox is None:
        return Region()
    if (not isinstance(bbox, list) or len(bbox) != 4
            or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in bbox)
            or not (-180 <= bbox[0] < bbox[2] <= 180 and -90 <= bbox[1] < bbox[3] <= 90)):
        problems.add("region.bbox", f"must be [west, south, east, north] in WGS 84 degrees, "
                                    f"got {bbox!r}")
        return Region()
    return Region(bbox_deg=tuple(float(v) for v in bbox))


def _parse_demand(raw: dict, problems: _Problems) -> DemandRules:
    sec = _section(raw, "demand", problems)
    _check_keys(sec, {"grid_m", "min_people_per_cell", "ue_height_m", "mandatory", "zone_sample_m",
                      "backup"}, "demand", problems)
    backup = _section(sec, "backup", problems, parent="demand")
    _check_keys(backup, {"zone_kinds", "servers"}, "demand.backup", problems)
    zone_kinds = backup.get("zone_kinds", [])
    if not isinstance(zone_kinds, list) or not all(isinstance(k, str) for k in zone_kinds):
        problems.add("demand.backup.zone_kinds", f"must be a list of zone kinds such as "
                                                 f"[city_centre, government], got {zone_kinds!r}")
        zone_kinds = []
    mandatory = _section(sec, "mandatory", problems, parent="demand")
    _check_keys(mandatory, {"poverty_villages", "relocation_sites", "all_villages", "complaints",
                            "generations"}, "demand.mandatory", problems)
    d = DemandRules()
    w = "demand"
    return DemandRules(
        grid_m=_number(sec, "grid_m", w, problems, d.grid_m, minimum=30, maximum=10000),
        min_people_per_cell=_number(sec, "min_people_per_cell", w, problems, d.min_people_per_cell,
                                    minimum=0),
        ue_height_m=_number(sec, "ue_height_m", w, problems, d.ue_height_m, minimum=0.5, maximum=50),
        zone_sample_m=_number(sec, "zone_sample_m", w, problems, d.zone_sample_m, minimum=10,
                              maximum=5000),
        backup_zone_kinds=tuple(zone_kinds),
        backup_servers=_number(backup, "servers", "demand.backup", problems, d.backup_servers,
                               minimum=2, maximum=10, integer=True),
        mandatory_poverty_villages=_bool(mandatory, "poverty_villages", "demand.mandatory", problems,
                                         d.mandatory_poverty_villages),
        mandatory_relocation_sites=_bool(mandatory, "relocation_sites", "demand.mandatory", problems,
                                         d.mandatory_relocation_sites),
        mandatory_all_villages=_bool(mandatory, "all_villages", "demand.mandatory", problems,
                                     d.mandatory_all_villages),
        mandatory_complaints=_bool(mandatory, "complaints", "demand.mandatory", problems,
                                   d.mandatory_complaints),
        mandatory_generations=_generations(mandatory, problems, d.mandatory_generations),
    )


#: What ``demand.mandatory.generations`` may list: ``any`` alone, or generations.
MANDATORY_GENERATIONS = ("any", "4G", "5G")


def _generations(mandatory: dict, problems: _Problems, default: tuple[str, ...]) -> tuple[str, ...]:
    """``demand.mandatory.generations``: ``[any]`` (one option of any generation), or the
    generations each mandatory point must get, as a tuple (a single name is read as a list
    of one)."""
    value = mandatory.get("generations", list(default))
    listed = [value] if isinstance(value, str) else value
    if (not isinstance(listed, list) or not listed
            or any(g not in MANDATORY_GENERATIONS for g in listed)
            or len(set(listed)) < len(listed) or ("any" in listed and len(listed) > 1)):
        problems.add("demand.mandatory.generations",
                     f"must be [any] or a list of generations such as [4G, 5G] (each one of "
                     f"{', '.join(MANDATORY_GENERATIONS[1:])}, once), got {value!r}")
        return default
    return tuple(listed)


_TECH_KEYS = {"name", "generation", "frequency_mhz", "eirp_dbm", "resource_blocks",
              "rsrp_threshold_dbm", "model", "max_range_m", "environment", "clutter_loss_db",
              "equipment_capex_cny", "opex_cny_per_year", "p1812", "itm"}
_P1812_KEYS = {"time_pct", "location_pct", "location_sigma_db", "delta_n", "n0"}


def _parse_technology(sec: Any, index: int, problems: _Problems) -> Technology | None:
    where = f"technologies[{index}]"
    if not isinstance(sec, dict):
        problems.add(where, "must be a mapping with name, frequency_mhz, eirp_dbm, ...")
        return None
    _check_keys(sec, _TECH_KEYS, where, problems)
    name = sec.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.add(f"{where}.name", "missing (a short label such as 4G-1800)")
        return None
    where = f"technologies[{name}]"
    n_before = len(problems.items)
    generation = _choice(sec, "generation", where, problems, ("4G", "5G"), None)
    model = _choice(sec, "model", where, problems, PATH_LOSS_MODELS, None)
    freq = _number(sec, "frequency_mhz", where, problems, ..., minimum=1)
    eirp = _number(sec, "eirp_dbm", where, problems, ..., minimum=-30, maximum=100)
    rbs = _number(sec, "resource_blocks", where, problems, ..., minimum=1, maximum=3300, integer=True)
    threshold = _number(sec, "rsrp_threshold_dbm", where, problems, ..., minimum=-160, maximum=0)
    max_range = _number(sec, "max_range_m", where, problems, ..., minimum=10, maximum=100000)
    environment = _choice(sec, "environment", where, problems, ("urban", "suburban", "rural"), "rural")
    tech = dict(
        clutter_loss_db=_number(sec, "clutter_loss_db", where, problems, 0.0, minimum=0, maximum=60),
        equipment_capex_cny=_number(sec, "equipment_capex_cny", where, problems, 0.0, minimum=0),
        opex_cny_per_year=_number(sec, "opex_cny_per_year", where, problems, 0.0, minimum=0),
    )
    tech["p1812"] = _parse_p1812(sec, model, where, problems)
    tech["itm"] = _parse_itm(sec, model, where, problems)
    if len(problems.items) > n_before:
        return None
    low, high = MODEL_FREQUENCY_RANGE_MHZ[model]
    if not low <= freq <= high:
        problems.add(f"{where}.frequency_mhz",
                     f"{freq:g} MHz is outside the {model} model's range {low:g}-{high:g} MHz; "
                     f"choose another model")
        return None
    result = Technology(name=name, generation=generation, frequency_mhz=freq, eirp_dbm=eirp,
                        resource_blocks=rbs, rsrp_threshold_dbm=threshold, model=model,
                        max_range_m=max_range, environment=environment, **tech)
    if result.rsrp_threshold_dbm >= result.rs_epre_dbm:
        problems.add(f"{where}.rsrp_threshold_dbm",
                     f"threshold {threshold:g} dBm is not below the EIRP per resource element "
                     f"{result.rs_epre_dbm:.1f} dBm: no point could ever be covered")
        return None
    return result


def _parse_p1812(sec: dict, model: str | None, where: str,
                 problems: _Problems) -> P1812Settings | None:
    """``technologies[].p1812``: the ITU-R P.1812-8 parameters, read with model p1812 only.

    Ranges: p 1-50 % (P.1812-8 §1), 0 < pL < 100 %, ΔN < 157 N-units/km (eq. 6). Missing
    ``delta_n`` / ``n0`` are checked against ``coverage.itu_maps_dir`` by
    :func:`_check_p1812_maps`, once the coverage section is read.
    """
    given = _model_section(sec, "p1812", model, where, _P1812_KEYS, problems)
    if given is None:
        return None
    w = f"{where}.p1812"
    d = P1812Settings()
    low, high = p1812.TIME_PERCENT_RANGE
    settings = P1812Settings(
        time_pct=_number(given, "time_pct", w, problems, d.time_pct, minimum=low, maximum=high),
        location_pct=_number(given, "location_pct", w, problems, d.location_pct),
        location_sigma_db=_number(given, "location_sigma_db", w, problems, d.location_sigma_db,
                                  minimum=0, maximum=30),
        delta_n=_number(given, "delta_n", w, problems, None, maximum=156.9),
        n0=_number(given, "n0", w, problems, None, minimum=200, maximum=500))
    if settings.location_pct is not None and not 0.0 < settings.location_pct < 100.0:
        problems.add(f"{w}.location_pct", f"must be above 0 and below 100 %, got "
                                          f"{settings.location_pct:g}")
    return settings


def _model_section(sec: dict, key: str, model: str | None, where: str, keys: set[str],
                   problems: _Problems) -> dict | None:
    """A technology's parameter block ``key`` (read with ``model: key`` only), as a mapping
    ({} when absent), or None when it does not apply or is not a mapping."""
    given = sec.get(key)
    if model != key:
        if given is not None:
            problems.add(f"{where}.{key}", f"is read only with model: {key} (model is {model})")
        return None
    given = {} if given is None else given
    if not isinstance(given, dict):
        problems.add(f"{where}.{key}", f"must be a mapping with {', '.join(sorted(keys))}, got "
                                       f"{given!r}")
        return None
    _check_keys(given, keys, f"{where}.{key}", problems)
    return given


_ITM_KEYS = {"epsilon", "sigma", "climate", "n0", "polarization", "time_pct", "location_pct",
             "situation_pct"}


def _parse_itm(sec: dict, model: str | None, where: str, problems: _Problems) -> ItmSettings | None:
    """``technologies[].itm``: the ITM parameters, in the ranges NTIA's reference accepts
    (:mod:`siting.itm`); percentages strictly between 0 and 100."""
    given = _model_section(sec, "itm", model, where, _ITM_KEYS, problems)
    if given is None:
        return None
    w, d = f"{where}.itm", ItmSettings()
    settings = ItmSettings(
        epsilon=_number(given, "epsilon", w, problems, d.epsilon, minimum=1, maximum=100),
        sigma=_number(given, "sigma", w, problems, d.sigma, minimum=1e-6, maximum=100),
        climate=_number(given, "climate", w, problems, d.climate, minimum=1, maximum=7,
                        integer=True),
        n0=_number(given, "n0", w, problems, d.n0, minimum=250, maximum=400),
        polarization=_choice(given, "polarization", w, problems, ("horizontal", "vertical"),
                             d.polarization),
        time_pct=_number(given, "time_pct", w, problems, d.time_pct),
        location_pct=_number(given, "location_pct", w, problems, d.location_pct),
        situation_pct=_number(given, "situation_pct", w, problems, d.situation_pct))
    for key in ("time_pct", "location_pct", "situation_pct"):
        value = getattr(settings, key)
        if value is not None and not 0.0 < value < 100.0:
            problems.add(f"{w}.{key}", f"must be above 0 and below 100 %, got {value:g}")
    return settings


def _check_p1812_maps(technologies, coverage: CoverageSettings, problems: _Problems) -> None:
    """Each p1812 technology needs delta_n and n0, given or read from coverage.itu_maps_dir."""
    if coverage.itu_maps_dir is not None:
        return
    for tech in technologies:
        if tech.p1812 is None:
            continue
        for key, meaning in (("delta_n", "ΔN, N-units/km, ITU-R P.1812 map DN50"),
                             ("n0", "N0, N-units, map N050")):
            if getattr(tech.p1812, key) is None:
                problems.add(f"technologies[{tech.name}].p1812.{key}",
                             f"missing: give the value at the region's centre ({meaning}; "
                             f"central China: delta_n about 45, n0 about 325), or set "
                             f"coverage.itu_maps_dir to a folder holding DN50.TXT and N050.TXT "
                             f"from the R-REC-P.1812 zip")


def _check_dem_apart(inputs: Inputs | None, problems: _Problems) -> None:
    """A folder or glob pattern of ``inputs.dem`` must not pick up the population or
    land-cover raster: it would be mosaicked as elevations (a later tile wins where tiles
    overlap), and the run would plan over people per cell as terrain."""
    from siting.io.dem import dem_files  # siting.io imports this module

    if inputs is None:
        return
    try:
        tiles = {path.resolve() for path in dem_files(inputs.dem)}
    except InputError:
        return  # a DEM entry that names nothing is reported when the DEM is read
    for key in ("population", "land_cover"):
        raster = getattr(inputs, key)
        if raster is not None and raster.resolve() in tiles:
            problems.add("inputs.dem", f"takes {raster.name}, the inputs.{key} raster, as a "
                                       f"DEM tile; name the DEM file itself, or keep the DEM "
                                       f"tiles in a folder of their own")


def _check_mobile_heights(technologies, demand: DemandRules, problems: _Problems) -> None:
    """demand.ue_height_m must lie in the mobile height range of every technology's model."""
    for tech in technologies:
        low, high = propagation.PATH_LOSS_MODELS[tech.model].mobile_height_range_m
        if not low <= demand.ue_height_m <= high:
            problems.add("demand.ue_height_m",
                         f"{demand.ue_height_m:g} m is outside the {low:g}-{high:g} m mobile "
                         f"antenna range of the {tech.model} model of technology {tech.name}")


def _parse_technologies(raw: dict, problems: _Problems) -> tuple[Technology, ...]:
    items = raw.get("technologies")
    if not isinstance(items, list) or not items:
        problems.add("technologies", "missing (a list of technology profiles, at least one)")
        return ()
    techs = [t for i, sec in enumerate(items) if (t := _parse_technology(sec, i, problems))]
    names = [t.name for t in techs]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.add(f"technologies[{dup}]", "duplicate technology name")
    return tuple(techs)


def _parse_phases(sec: dict, problems: _Problems) -> tuple[Phase, ...]:
    items = sec.get("phases")
    if items is None:
        return ()
    if not isinstance(items, list) or not items:
        problems.add("objective.phases", "must be a list of phases (year, budget_cny, "
                                         "max_new_sites), at least one")
        return ()
    phases = []
    first_of: dict[str, int] = {}  # each year's first phase
    for i, item in enumerate(items):
        where = f"objective.phases[{i}]"
        if not isinstance(item, dict):
            problems.add(where, "must be a mapping with year, budget_cny and/or max_new_sites")
            continue
        _check_keys(item, {"year", "budget_cny", "max_new_sites"}, where, problems)
        year = item.get("year")
        if not isinstance(year, (int, str)) or isinstance(year, bool) or str(year).strip() == "":
            problems.add(f"{where}.year", f"missing (a label such as 2027), got {year!r}")
            continue
        budget = _number(item, "budget_cny", where, problems, None, minimum=0)
        quota = _number(item, "max_new_sites", where, problems, None, minimum=0, integer=True)
        if budget is None and quota is None:
            problems.add(where, "needs budget_cny and/or max_new_sites")
        label = str(year)
        if first_of.setdefault(label, i) != i:
            problems.add(f"{where}.year", f"{label} is the year of phases[{first_of[label]}] too; "
                                          f"give each phase a year of its own")
        phases.append(Phase(label=label, budget_cny=budget, max_new_sites=quota))
    return tuple(phases)


def _parse_objective(raw: dict, problems: _Problems) -> Objective:
    sec = _section(raw, "objective", problems)
    _check_keys(sec, {"type", "budget_cny", "max_new_sites", "opex_years", "phases",
                      "discount_rate", "mandatory_by"}, "objective", problems)
    kind = _choice(sec, "type", "objective", problems, OBJECTIVES, "max_coverage")
    budget = _number(sec, "budget_cny", "objective", problems, None, minimum=0)
    max_sites = _number(sec, "max_new_sites", "objective", problems, None, minimum=0, integer=True)
    phases = _parse_phases(sec, problems)
    if kind == "max_coverage" and budget is None and max_sites is None and not phases:
        problems.add("objective", "max_coverage needs budget_cny and/or max_new_sites, or phases "
                                  "(or use type: min_cost)")
    mandatory_by = sec.get("mandatory_by")
    if mandatory_by is not None:
        mandatory_by = str(mandatory_by)
        years = [p.label for p in phases]
        if mandatory_by not in years:
            problems.add("objective.mandatory_by",
                         f"{mandatory_by!r} is not one of the phases' years ({', '.join(years) or 'no phases'})")
    if phases and kind != "max_coverage":
        problems.add("objective.phases", "a phased plan needs type: max_coverage (each phase "
                                         "spends its budget on the most people)")
    return Objective(kind=kind, budget_cny=budget, max_new_sites=max_sites,
                     opex_years=_number(sec, "opex_years", "objective", problems, 5.0, minimum=0),
                     phases=phases,
                     discount_rate=_number(sec, "discount_rate", "objective", problems, 0.0,
                                           minimum=0, maximum=1),
                     mandatory_by=mandatory_by)


def _parse_solver(raw: dict, problems: _Problems) -> SolverSettings:
    sec = _section(raw, "solver", problems)
    _check_keys(sec, {"name", "time_limit_s", "mip_gap", "seed"}, "solver", problems)
    d = SolverSettings()
    return SolverSettings(
        name=_choice(sec, "name", "solver", problems, SOLVERS, d.name),
        time_limit_s=_number(sec, "time_limit_s", "solver", problems, d.time_limit_s, minimum=0.1),
        mip_gap=_number(sec, "mip_gap", "solver", problems, d.mip_gap, minimum=0, below=1),
        seed=_number(sec, "seed", "solver", problems, d.seed, minimum=0, integer=True),
    )


def parse_objective_and_solver(objective: dict, solver: dict, source: str | Path
                               ) -> tuple[Objective, SolverSettings]:
    """The ``objective`` and ``solver`` sections checked as a scenario file's are (for re-planning
    from Python with other settings); raises one ScenarioError whose lines start with ``source``."""
    problems = _Problems(source)
    raw = {"objective": objective, "solver": solver}
    parsed = _parse_objective(raw, problems), _parse_solver(raw, problems)
    problems.raise_if_any()
    return parsed


def parse_demand_and_technologies(demand: dict, technologies: list, coverage: CoverageSettings,
                                  source: str | Path) -> tuple[DemandRules, tuple[Technology, ...]]:
    """The ``demand`` and ``technologies`` sections checked as a scenario file's are, against
    its ``coverage`` (for a scenario whose demand rules or technologies were changed in
    Python); raises one ScenarioError whose lines start with ``source``."""
    problems = _Problems(source)
    raw = {"demand": demand, "technologies": technologies}
    parsed = _parse_demand(raw, problems), _parse_technologies(raw, problems)
    _check_p1812_maps(parsed[1], coverage, problems)
    _check_mobile_heights(parsed[1], parsed[0], problems)
    problems.raise_if_any()
    return parsed


def parse_coverage_and_outputs(coverage: dict, outputs: dict, source: str | Path
                               ) -> tuple[CoverageSettings, OutputSettings]:
    """The ``coverage`` section and the ``report`` and ``map`` sections (``outputs``, a mapping
    of the two) checked as a scenario file's are (for a scenario whose coverage settings or
    language were changed in Python); raises one ScenarioError whose lines start with
    ``source``."""
    problems = _Problems(source)
    parsed = _parse_coverage({"coverage": coverage}, problems), _parse_outputs(outputs, problems)
    problems.raise_if_any()
    return parsed


def parse_itm_section(itm: dict, technology: str, source: str | Path) -> ItmSettings:
    """The ``itm`` block of the technology called ``technology`` checked as a scenario file's
    is (for a prediction from Python with other ITM settings); raises one ScenarioError whose
    lines start with ``source``."""
    problems = _Problems(source)
    parsed = _parse_itm({"itm": itm}, "itm", f"technologies[{technology}]", problems)
    problems.raise_if_any()
    return parsed


def parse_backhaul_section(backhaul: dict, source: str | Path) -> BackhaulSettings:
    """The ``backhaul`` section checked as a scenario file's is (for re-planning from Python
    with other backhaul settings); raises one ScenarioError whose lines start with ``source``."""
    problems = _Problems(source)
    parsed = _parse_backhaul({"backhaul": backhaul}, problems)
    problems.raise_if_any()
    return parsed


def check_site_traffic(scenario: Scenario, source: str | Path) -> None:
    """A scenario changed in Python checked as a scenario file is for link capacity
    (:func:`_check_site_traffic`); raises one ScenarioError whose lines start with
    ``source``."""
    problems = _Problems(source)
    _check_site_traffic({"backhaul": scenario.backhaul, "technologies": scenario.technologies,
                         "objective": scenario.objective}, problems)
    problems.raise_if_any()


def _parse_coverage(raw: dict, problems: _Problems, base: Path = Path(".")) -> CoverageSettings:
    sec = _section(raw, "coverage", problems)
    _check_keys(sec, {"earth_radius_factor", "max_diffraction_edges", "raster_resolution_m",
                      "antenna", "sector_azimuths_deg", "downtilt_deg", "itu_maps_dir",
                      "calibration"},
                "coverage", problems)
    d = CoverageSettings()
    azimuths = sec.get("sector_azimuths_deg", list(d.sector_azimuths_deg))
    if (not isinstance(azimuths, list) or not 1 <= len(azimuths) <= 12
            or any(isinstance(a, bool) or not isinstance(a, (int, float)) or not math.isfinite(a)
                   or not 0 <= a < 360 for a in azimuths)):
        problems.add("coverage.sector_azimuths_deg",
                     f"must be a list of 1-12 bearings in [0, 360) degrees clockwise from grid "
                     f"north, got {azimuths!r}")
        azimuths = list(d.sector_azimuths_deg)
    return CoverageSettings(
        earth_radius_factor=_number(sec, "earth_radius_factor", "coverage", problems,
                                    d.earth_radius_factor, minimum=0, maximum=100),
        max_diffraction_edges=_number(sec, "max_diffraction_edges", "coverage", problems,
                                      d.max_diffraction_edges, minimum=0, maximum=3, integer=True),
        raster_resolution_m=_number(sec, "raster_resolution_m", "coverage", problems,
                                    d.raster_resolution_m, minimum=10, maximum=5000),
        antenna=_choice(sec, "antenna", "coverage", problems, ("omni", "three_sector"), d.antenna),
        sector_azimuths_deg=tuple(float(a) for a in azimuths),
        downtilt_deg=_number(sec, "downtilt_deg", "coverage", problems, d.downtilt_deg,
                             minimum=-30, maximum=60),
        itu_maps_dir=_optional_path(sec, "itu_maps_dir", "coverage", base, "folder", problems),
        calibration=_parse_calibration(
            _optional_path(sec, "calibration", "coverage", base, "file", problems), problems),
    )


def _optional_path(sec: dict, key: str, where: str, base: Path, kind: str,
                   problems: _Problems) -> Path | None:
    """An optional path (a ``kind``: file, raster, folder), resolved relative to the scenario
    file (not checked on disk: that is :mod:`siting.io`'s job)."""
    value = sec.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.add(f"{where}.{key}", f"must be a {kind} path, got {value!r}")
        return None
    return _scenario_path(value, f"{where}.{key}", base, problems)


def _offset_table(value, where: str, problems: _Problems) -> dict:
    """A mapping of names to finite numbers [dB] ({} with a problem when it is not one)."""
    if not isinstance(value, dict):
        problems.add(where, f"must map names to offsets in dB, got {value!r}")
        return {}
    return {str(k): v for k in value
            if (v := _number(value, k, where, problems, None, minimum=-60, maximum=60)) is not None}


def _parse_calibration(path: Path | None, problems: _Problems) -> Calibration | None:
    """``coverage.calibration``: the calibration.yaml of ``siting calibrate``, included in the
    scenario (its offsets shape coverage like any scenario key): ``offsets_db`` {technology:
    {land-cover class: dB}}, ``model_offset_db`` {technology: dB} and, optionally,
    ``distance_slopes`` {technology: :class:`DistanceSlope`'s fields}."""
    if path is None:
        return None
    where = f"coverage.calibration ({path})"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.add(where, f"cannot read the calibration file ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else ''}); write it with "
                            f"siting calibrate")
        return None
    if not isinstance(raw, dict) or "offsets_db" not in raw:
        problems.add(where, "must be a mapping with offsets_db (as siting calibrate writes it)")
        return None
    by_technology = raw["offsets_db"]
    if not isinstance(by_technology, dict):
        problems.add(f"{where}.offsets_db", f"must map technologies to {{class: dB}}, got "
                                            f"{by_technology!r}")
        by_technology = {}
    offsets = tuple((str(tech), tuple(_offset_table(table, f"{where}.offsets_db.{tech}",
                                                    problems).items()))
                    for tech, table in by_technology.items())
    model = _offset_table(raw.get("model_offset_db") or {}, f"{where}.model_offset_db", problems)
    slopes = _parse_distance_slopes(raw.get("distance_slopes") or {}, f"{where}.distance_slopes",
                                    problems)
    return Calibration(offsets_db=offsets, model_offset_db=tuple(model.items()),
                       distance_slopes=tuple(slopes.items()))


def _parse_distance_slopes(value, where: str, problems: _Problems) -> dict[str, DistanceSlope]:
    """``distance_slopes`` of calibration.yaml: {technology: {db_per_decade, reference_km,
    min_km, max_km}} (:class:`DistanceSlope`)."""
    if not isinstance(value, dict):
        problems.add(where, f"must map technologies to slopes, got {value!r}")
        return {}
    slopes = {}
    for tech, table in value.items():
        here = f"{where}.{tech}"
        if not isinstance(table, dict):
            problems.add(here, "must be a mapping with db_per_decade, reference_km, min_km and "
                               "max_km (as siting calibrate writes it)")
            continue
        numbers = {key: _number(table, key, here, problems, ..., **limits) for key, limits in
                   (("db_per_decade", {"minimum": -60, "maximum": 60}),
                    ("reference_km", {"above": 0}), ("min_km", {"above": 0}),
                    ("max_km", {"above": 0}))}
        if None in numbers.values():
            continue
        if not numbers["min_km"] <= numbers["max_km"]:
            problems.add(here, f"min_km ({numbers['min_km']:g}) must not exceed max_km "
                               f"({numbers['max_km']:g})")
            continue
        slopes[str(tech)] = DistanceSlope(**numbers)
    return slopes


def _parse_basemap(sec: dict, problems: _Problems) -> Basemap:
    value = sec.get("basemap", "osm")
    if isinstance(value, dict):
        _check_keys(value, {"url", "attribution"}, "map.basemap", problems)
        url, credit = value.get("url"), value.get("attribution")
        if not isinstance(url, str) or not all(k in url for k in ("{z}", "{x}", "{y}")):
            problems.add("map.basemap.url", f"must be an XYZ tile address with {{z}}, {{x}} and "
                                            f"{{y}}, got {url!r}")
        if not isinstance(credit, str) or not credit.strip():
            problems.add("map.basemap.attribution", "missing (the tile provider's credit line)")
        return Basemap(kind="custom", url=url, attribution=credit)
    if value not in BASEMAPS:
        problems.add("map.basemap", f"must be one of {', '.join(BASEMAPS)} or "
                                    f"{{url, attribution}}, got {value!r}")
        return Basemap()
    return Basemap(kind=value)


def _parse_outputs(raw: dict, problems: _Problems) -> OutputSettings:
    report = _section(raw, "report", problems)
    _check_keys(report, {"language"}, "report", problems)
    web_map = _section(raw, "map", problems)
    _check_keys(web_map, {"basemap"}, "map", problems)
    return OutputSettings(language=_choice(report, "language", "report", problems, LANGUAGES, "en"),
                          basemap=_parse_basemap(web_map, problems))


def _parse_evaluation(raw: dict, problems: _Problems) -> EvaluationSettings:
    sec = _section(raw, "evaluation", problems)
    _check_keys(sec, {"score_weights"}, "evaluation", problems)
    weights = sec.get("score_weights") or {}
    if not isinstance(weights, dict):
        problems.add("evaluation.score_weights", f"must be a mapping of {', '.join(SCORE_CRITERIA)} "
                                                 f"to weights, got {weights!r}")
        return EvaluationSettings()
    _check_keys(weights, set(SCORE_CRITERIA), "evaluation.score_weights", problems)
    chosen = {name: _number(weights, name, "evaluation.score_weights", problems, default, minimum=0)
              for name, default in SCORE_CRITERIA.items()}
    if sum(v for v in chosen.values() if v is not None) <= 0:
        problems.add("evaluation.score_weights", "at least one weight must be above 0")
    return EvaluationSettings(score_weights=chosen)


def _parse_bands(items, problems: _Problems) -> tuple[MicrowaveBand, ...]:
    if items is None:
        return BackhaulSettings().microwave
    if not isinstance(items, list):
        problems.add("backhaul.microwave", f"must be a list of bands {{band_ghz, max_hop_m, "
                                           f"cost_cny, capacity_mbps}}, got {items!r}")
        return ()
    bands = []
    for i, item in enumerate(items):
        where = f"backhaul.microwave[{i}]"
        if not isinstance(item, dict):
            problems.add(where, "must be a mapping with band_ghz, max_hop_m and cost_cny")
            continue
        _check_keys(item, {"band_ghz", "max_hop_m", "cost_cny", "capacity_mbps"}, where, problems)
        band = _number(item, "band_ghz", where, problems, ..., minimum=1, maximum=100)
        hop = _number(item, "max_hop_m", where, problems, ..., minimum=1, maximum=200_000)
        cost = _number(item, "cost_cny", where, problems, ..., minimum=0)
        capacity = _number(item, "capacity_mbps", where, problems, None, above=0)
        if None not in (band, hop, cost):
            bands.append(MicrowaveBand(band, hop, cost, capacity))
    return tuple(bands)


def _parse_backhaul(raw: dict, problems: _Problems) -> BackhaulSettings:
    sec = _section(raw, "backhaul", problems)
    _check_keys(sec, {"enabled", "fiber_cny_per_km_road", "fiber_cny_per_km_offroad",
                      "detour_factor", "road_gap_m", "max_microwave_hops", "microwave",
                      "satellite_cny_per_year", "site_traffic_mbps", "mandatory_feed"},
                "backhaul", problems)
    d = BackhaulSettings()
    return BackhaulSettings(
        enabled=_bool(sec, "enabled", "backhaul", problems, d.enabled),
        fiber_cny_per_km_road=_number(sec, "fiber_cny_per_km_road", "backhaul", problems,
                                      d.fiber_cny_per_km_road, above=0),
        fiber_cny_per_km_offroad=_number(sec, "fiber_cny_per_km_offroad", "backhaul", problems,
                                         d.fiber_cny_per_km_offroad, above=0),
        detour_factor=_number(sec, "detour_factor", "backhaul", problems, d.detour_factor,
                              minimum=1, maximum=10),
        road_gap_m=_number(sec, "road_gap_m", "backhaul", problems, d.road_gap_m, minimum=0,
                           maximum=1000),
        max_microwave_hops=_number(sec, "max_microwave_hops", "backhaul", problems,
                                   d.max_microwave_hops, minimum=0, maximum=10, integer=True),
        microwave=_parse_bands(sec.get("microwave"), problems),
        satellite_cny_per_year=_number(sec, "satellite_cny_per_year", "backhaul", problems, None,
                                       minimum=0),
        site_traffic_mbps=_parse_site_traffic(sec, problems),
        mandatory_feed=_choice(sec, "mandatory_feed", "backhaul", problems, MANDATORY_FEEDS,
                               d.mandatory_feed))


def _parse_site_traffic(sec: dict, problems: _Problems) -> dict | None:
    """``backhaul.site_traffic_mbps``: one number for every site, or one per generation
    (``{4G: 150, 5G: 600}``), as ``{"4G": .., "5G": ..}`` [Mbit/s]; None when not given."""
    where = "backhaul.site_traffic_mbps"
    given = sec.get("site_traffic_mbps")
    if given is None:
        return None
    if not isinstance(given, dict):
        given = {"4G": given, "5G": given}
    unknown = set(map(str, given)) - {"4G", "5G"}
    if unknown:
        problems.add(where, f"keys are generations, 4G and 5G; got {sorted(unknown)}")
        return None
    traffic = {str(g): _number(given, g, where, problems, ..., above=0) for g in given}
    return None if None in traffic.values() else traffic


def _check_site_traffic(parts: dict, problems: _Problems) -> None:
    """``backhaul.site_traffic_mbps`` gives each generation the technologies carry."""
    traffic, where = parts["backhaul"].site_traffic_mbps, "backhaul.site_traffic_mbps"
    if traffic is None:
        return
    missing = sorted({t.generation for t in parts["technologies"]} - set(traffic))
    if missing:
        problems.add(where, f"gives no traffic for {', '.join(missing)}, a generation of the "
                            f"technologies; add it (e.g. {{4G: 150, 5G: 600}})")


_TOP_KEYS = {"name", "crs", "inputs", "demand", "technologies", "objective", "solver", "coverage",
             "report", "map", "region", "evaluation", "backhaul", "land_cover_classes"}
_LAND_COVER_CLASS_KEYS = {"name", "clutter_height_m", "p2108_type"}


def _parse_land_cover_class(code, item, problems: _Problems) -> LandCoverClass | None:
    """One entry ``code: {name, clutter_height_m, p2108_type}`` of ``land_cover_classes``."""
    where = f"land_cover_classes.{code}"
    if isinstance(code, bool) or not isinstance(code, int) or not 0 <= code <= 65535:
        problems.add(where, "the class code must be a whole number 0-65535 (the raster's value)")
        return None
    if not isinstance(item, dict):
        problems.add(where, "must be a mapping with name, clutter_height_m and p2108_type")
        return None
    _check_keys(item, _LAND_COVER_CLASS_KEYS, where, problems)
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.add(f"{where}.name", "missing (a short name such as tree_cover)")
    height = _number(item, "clutter_height_m", where, problems, ..., minimum=0, maximum=100)
    kind = _choice(item, "p2108_type", where, problems, tuple(P2108_CLUTTER_TYPES), None)
    if not isinstance(name, str) or not name.strip() or height is None or kind is None:
        return None
    return LandCoverClass(code=code, name=name.strip(), clutter_height_m=height, p2108_type=kind)


def _parse_land_cover_classes(raw: dict, problems: _Problems) -> tuple[LandCoverClass, ...]:
    """``land_cover_classes``: {code: {name, clutter_height_m, p2108_type}}, the class table of
    ``inputs.land_cover`` (default: ESA WorldCover's codes, :data:`WORLDCOVER_CLASSES`)."""
    table = raw.get("land_cover_classes")
    if table is None:
        return WORLDCOVER_CLASSES
    if not isinstance(table, dict) or not table:
        problems.add("land_cover_classes", f"must map class codes to {{name, clutter_height_m, "
                                           f"p2108_type}}, got {table!r}")
        return WORLDCOVER_CLASSES
    classes = tuple(c for code, item in table.items()
                    if (c := _parse_land_cover_class(code, item, problems)) is not None)
    names = [c.name for c in classes]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.add("land_cover_classes", f"class name {dup!r} is used twice")
    return classes


#: Models that already hold the average terrain loss of their measurements (Hata 1980, COST 231):
#: Deygout diffraction over the DEM on top counts terrain twice (31-46 dB above ITM on the
#: Jacksboro DEM).
TERRAIN_AVERAGED_MODELS = ("okumura_hata", "cost231_hata")


def beyond_validity(model_name: str, distance_m: float) -> str:
    """Why ``distance_m`` is beyond the validity of a distance-formula model (its formula is
    extrapolated there), else "" (within it, or a model over the terrain profile)."""
    model = propagation.PATH_LOSS_MODELS[model_name]
    low, high = model.distance_range_m
    if model.terrain_profile or distance_m <= high:
        return ""
    return (f"{distance_m:g} m is beyond the {model_name} model's validity ({low:g}-{high:g} m); "
            f"longer paths are an extrapolation of its formula")


def model_warnings(scenario: Scenario) -> list[str]:
    """What is unsound, though allowed, in the technologies' model choices: a ``max_range_m``
    beyond the model's validity (its formula is extrapolated), and an empirical model that holds
    average terrain loss used with Deygout diffraction. One line each, naming the key."""
    found = []
    for tech in scenario.technologies:
        beyond = beyond_validity(tech.model, tech.max_range_m)
        if beyond:
            found.append(f"technologies[{tech.name}].max_range_m: {beyond}; lower max_range_m to "
                         f"{propagation.PATH_LOSS_MODELS[tech.model].distance_range_m[1]:g} or "
                         f"use model itm or p1812")
        if tech.model in TERRAIN_AVERAGED_MODELS and scenario.coverage.max_diffraction_edges > 0:
            found.append(f"technologies[{tech.name}].model: {tech.model} already holds the average "
                         f"terrain loss of its measurements, and Deygout diffraction over the DEM "
                         f"counts terrain twice; use rma_38901, itm or p1812, or set "
                         f"coverage.max_diffraction_edges: 0")
    found.extend(_calibration_warnings(scenario))
    found.extend(_calibration_class_warnings(scenario))
    return found


def _calibration_warnings(scenario: Scenario) -> list[str]:
    """Offsets of ``coverage.calibration`` for a technology the scenario does not name (one
    renamed since the calibration, or a file of another scenario): no level gets them."""
    calibration = scenario.coverage.calibration
    if calibration is None:
        return []
    names = [tech.name for tech in scenario.technologies]
    listed = [tech for tech, _ in calibration.offsets_db + calibration.model_offset_db
              + calibration.distance_slopes]
    unknown = sorted(set(listed) - set(names))
    if not unknown:
        return []
    return [f"coverage.calibration: the offsets of {', '.join(unknown)} are not applied: the "
            f"scenario has no technology of that name (its technologies: {', '.join(names)}); "
            f"name in the calibration file the technology each offset was fitted for"]


def _calibration_class_warnings(scenario: Scenario) -> list[str]:
    """Offsets of ``coverage.calibration`` for a land-cover class no user of the scenario can
    be in (a calibration fitted with ``inputs.land_cover``, included in a scenario without it
    or with another class table): those users get the model offset instead."""
    calibration = scenario.coverage.calibration
    if calibration is None:
        return []
    has_land_cover = scenario.inputs.land_cover is not None
    names = {c.name for c in scenario.land_cover_classes} if has_land_cover else set()
    fitted = {name for _, by_class in calibration.offsets_db for name, _ in by_class}
    unknown = sorted(fitted - names - {NO_CLASS_NAME})
    if not unknown:
        return []
    lacks = ("no inputs.land_cover" if not has_land_cover
             else f"no land-cover class of that name (its classes: {', '.join(sorted(names))})")
    return [f"coverage.calibration: the offsets of land-cover class(es) {', '.join(unknown)} "
            f"are not applied: the scenario has {lacks}, so every user gets its technology's "
            f"model_offset_db instead; include the land cover the calibration was fitted with"]


# A key typed with a Chinese input method: a full-width colon after it ("opex_years：5"), or
# full-width spaces (U+3000) in its indentation. YAML reads neither as structure, and its own
# message points at another line ("expected '<document start>'") or at an unknown key.
_FULLWIDTH_COLON_KEY = re.compile(r"^[ \t\u3000]*(?:- )?([A-Za-z_][\w.\-]*)[ \t\u3000]*：")
_FULLWIDTH_INDENT = re.compile(r"^[ \t]*\u3000")
#: A key without the space after its colon inside braces ("{year: 2027, budget_cny:9000000}"),
#: which YAML reads as one word, a key without a value, so that the value goes missing.
_FLOW_KEY_WITHOUT_SPACE = re.compile(r"^(?=[^#]*\{)[^#]*?[{,] *([a-z][a-z0-9_]*):([^\s,}]+)")


def _typing_slips(text: str) -> list[tuple[int, str]]:
    """(line number, what to fix) for each line of a scenario file that a Chinese input method
    left a full-width colon or a full-width space in, where YAML needs ASCII ones, or that has
    a key in braces without the space after its colon."""
    slips = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if (match := _FLOW_KEY_WITHOUT_SPACE.match(line)) is not None:
            slips.append((line_no, f"'{match.group(1)}:{match.group(2)}' needs a space after "
                                   f"the colon: '{match.group(1)}: {match.group(2)}'"))
            continue
        if (match := _FULLWIDTH_COLON_KEY.match(line)) is not None:
            slips.append((line_no, f"'{match.group(1)}' is followed by a full-width colon '：' "
                                   f"(a Chinese input method's); type the ASCII colon ':' and a "
                                   f"space, e.g. '{match.group(1)}: ...'"))
        elif _FULLWIDTH_INDENT.match(line):
            slips.append((line_no, "the indentation holds a full-width space (U+3000, a Chinese "
                                   "input method's); indent with ASCII spaces only"))
    return slips


# Slips that make a file invalid YAML, whose own message names a later line in its terms
# ("expected <block end>, but found '<block mapping start>'"): a tab in the indentation, a key
# without the space after its colon ("grid_m:500" reads as one word, not a key and a value;
# siting's keys are lower case, so a list item such as "- EPSG:4326" or "- C:\dem" is not one).
_TAB_INDENT = re.compile(r"^ *\t")
#: A backslash in a double-quoted string before a character YAML has no escape for
#: ("D:\data\dem.tif" in quotes: "\d"), as a Windows path is written.
_BAD_ESCAPE = re.compile(r'"[^"#]*\\[^0abt\tnvfre "/\\N_LPxuU]')
#: A full-width comma (a Chinese input method's) between the items of a flow mapping or list
#: ("{year: 2027， budget_cny: 9000000}"), where YAML needs an ASCII one.
_FULLWIDTH_COMMA_IN_FLOW = re.compile(r"^[^#]*[{\[][^#]*，")
#: A no-break space (U+00A0) in the indentation or after a key's colon, as text copied from a
#: web page or a document carries: YAML reads it as part of a word, so
#: "budget_cny:\u00a045000000" is no key.
_NO_BREAK_SPACE = re.compile(r"^ *\u00a0|^[^#]*:\u00a0")
_KEY_WITHOUT_SPACE = re.compile(r"^[ \t]*(?:- )?([a-z][a-z0-9_]+):([^\s/\\:][^#]*?)\s*(?:#.*)?$")


def _yaml_slips(text: str) -> list[tuple[int, str]]:
    """(line number, what to fix) for each line of a scenario file that is not valid YAML
    with a tab in its indentation, a full-width comma in a flow mapping or list, a no-break
    space, a backslash YAML cannot read as an escape inside double quotes, or a key without a
    space after its colon."""
    slips = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if _TAB_INDENT.match(line):
            slips.append((line_no, "the indentation holds a tab; YAML indents with spaces only: "
                                   "replace the tab with spaces"))
        elif _FULLWIDTH_COMMA_IN_FLOW.match(line):
            slips.append((line_no, "a full-width comma '，' (a Chinese input method's) separates "
                                   "the items in { } or [ ]; type the ASCII comma ',' and a space"))
        elif _NO_BREAK_SPACE.match(line):
            slips.append((line_no, "a no-break space (U+00A0, as text copied from a web page or "
                                   "a document carries) stands where YAML needs an ordinary "
                                   "space; retype the spaces of that line"))
        elif _BAD_ESCAPE.search(line):
            slips.append((line_no, "a backslash inside double quotes starts an escape in YAML; "
                                   "write the path with / (e.g. \"data/dem.tif\") or without "
                                   "the quotes"))
        elif (match := _KEY_WITHOUT_SPACE.match(line)) is not None:
            slips.append((line_no, f"'{match.group(1)}:{match.group(2)}' needs a space after the "
                                   f"colon: '{match.group(1)}: {match.group(2)}'"))
    return slips


class _RepeatedKeyLoader(yaml.SafeLoader):
    """YAML's safe loader noting each key given twice in one mapping as (line, key, line of
    its first), where YAML itself keeps the last silently (a budget typed again below the
    first would win unseen). It reads numbers in exponent form as YAML 1.2 does (``9e6``,
    ``4.5e7``: floats), which PyYAML's YAML 1.1 reads as text unless they have a dot and
    a signed exponent (``9.0e+6``): a budget written ``9e6`` was refused as "a plain
    number"."""

    def __init__(self, text: str):
        super().__init__(text)
        self.repeated: list[tuple[int, Any, int]] = []

    def construct_mapping(self, node, deep=False):
        first_lines: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = first_lines.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:  # an unhashable key: yaml's own constructor reports it
                continue
            if first != key_node.start_mark.line + 1:
                self.repeated.append((key_node.start_mark.line + 1, key, first))
        return super().construct_mapping(node, deep)


_RepeatedKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


def _load_yaml(text: str) -> tuple[Any, list[tuple[int, Any, int]]]:
    """The document of ``text`` (YAML, safe) and the keys given twice in one mapping, as
    :class:`_RepeatedKeyLoader` notes them."""
    loader = _RepeatedKeyLoader(text)
    try:
        return loader.get_single_data(), loader.repeated
    finally:
        loader.dispose()


def _folder_given(path: Path) -> str:
    """What to say when a folder is given for a scenario file: the folder's scenario files
    to choose from (``siting init`` writes ``scenario.yaml``), if it has any."""
    inside = sorted(p.name for p in path.glob("*.y*ml") if p.is_file())
    choose = (f"give one of its scenario files: {', '.join(str(path / n) for n in inside[:5])}"
              if inside else "give the path of a scenario .yaml file")
    return f"{path}: is a folder, not a scenario file; {choose}"


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file.

    Raises
    ------
    ScenarioError
        One line per problem, each naming the file and the key.
    """
    from siting.io.tables import decode_text  # siting.io imports this module

    path = Path(path)
    try:  # UTF-8, or GB18030: what Notepad on Chinese Windows saves as "ANSI"
        text = decode_text(path, advice="save the scenario file as UTF-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: scenario file not found") from None
    except IsADirectoryError:
        raise ScenarioError(_folder_given(path)) from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file ({exc})") from None
    except InputError as exc:
        raise ScenarioError(str(exc)) from None
    slips = _Problems(path)
    for line_no, message in _typing_slips(text):
        slips.add(f"line {line_no}", message)
    slips.raise_if_any()
    try:
        raw, repeated = _load_yaml(text)
    except yaml.YAMLError as exc:
        yaml_problems = _Problems(path)
        for line_no, message in _yaml_slips(text):
            yaml_problems.add(f"line {line_no}", message)
        yaml_problems.raise_if_any()
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "YAML"
        raise ScenarioError(f"{path}: {where}: not valid YAML ({getattr(exc, 'problem', exc)}); "
                            f"check the indentation there and just above (spaces, each key "
                            f"aligned with the keys of its section) and put a value holding "
                            f"': ' or ' #' in quotes") from None
    if not isinstance(raw, dict):
        found = ("the file is empty" if raw is None else "it holds a list"
                 if isinstance(raw, list) else "it holds plain text")
        raise ScenarioError(f"{path}: the scenario must be a YAML mapping of sections (name:, "
                            f"inputs:, technologies:, ...), but {found}; start from the template "
                            f"that 'siting init DIR' writes")
    problems = _Problems(path)
    for line_no, key, first_line_no in repeated:
        problems.add(f"line {line_no}", f"'{key}' is given a second time in its section (first "
                                        f"on line {first_line_no}); YAML would keep only the "
                                        f"last: delete one of them")
    _check_keys(raw, _TOP_KEYS, "", problems)
    name = raw.get("name", path.stem)
    if not isinstance(name, str) or not name.strip() or any(c in name for c in "/\\\0") or name in (".", ".."):
        problems.add("name", f"must be a plain name usable as a folder, got {name!r}")
        name = path.stem
    crs = raw.get("crs", "auto")
    if not isinstance(crs, (str, int)):
        problems.add("crs", f"must be 'auto' or a CRS such as EPSG:32649, got {crs!r}")
        crs = "auto"
    scenario_parts = dict(
        inputs=_parse_inputs(raw, path.parent, problems),
        demand=_parse_demand(raw, problems),
        technologies=_parse_technologies(raw, problems),
        objective=_parse_objective(raw, problems),
        solver=_parse_solver(raw, problems),
        coverage=_parse_coverage(raw, problems, path.parent),
        outputs=_parse_outputs(raw, problems),
        region=_parse_region(raw, problems),
        evaluation=_parse_evaluation(raw, problems),
        backhaul=_parse_backhaul(raw, problems),
        land_cover_classes=_parse_land_cover_classes(raw, problems),
    )
    _check_p1812_maps(scenario_parts["technologies"], scenario_parts["coverage"], problems)
    _check_mobile_heights(scenario_parts["technologies"], scenario_parts["demand"], problems)
    _check_site_traffic(scenario_parts, problems)
    _check_dem_apart(scenario_parts["inputs"], problems)
    problems.raise_if_any()
    return Scenario(name=name, path=path.resolve(), crs=str(crs), **scenario_parts)

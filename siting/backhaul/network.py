"""The backhaul a plan chooses from: fiber routes, sites with fiber on site, microwave links.

:func:`backhaul_network` gathers, for the candidates of a run, everything
:func:`siting.optimize.backhaul.solve_with_backhaul` needs:

- the fiber network: the fiber nodes (exchanges, fiber-fed sites) plus every candidate whose
  ``has_fiber`` is true (fiber on site: it needs no backhaul and feeds fiber to others);
- the cheapest fiber route of every candidate (:func:`siting.backhaul.fiber_routes`, along
  the roads when there are roads);
- the feasible microwave links of every band on offer (:func:`band_links`, 60 % of the first
  Fresnel zone clear with the run's effective earth radius), each priced at its band's hop
  cost;
- satellite, when the scenario offers it, priced over the plan's opex horizon.

Everything is in the run's metric CRS; nothing is read or written here.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from siting.backhaul.fiber import fiber_routes, road_end_gaps
from siting.backhaul.microwave import microwave_links
from siting.config import BackhaulSettings, MicrowaveBand
from siting.errors import InputError
from siting.io.region import has_fiber
from siting.terrain import Terrain

__all__ = ["BackhaulNetwork", "LINK_COLUMNS", "backhaul_network", "band_links", "link_costs",
           "report_road_gaps", "road_gaps_text", "backhaul_inputs_text"]

logger = logging.getLogger(__name__)

#: How far beyond ``backhaul.road_gap_m`` road ends left short of a road are reported, as a
#: multiple of it (a junction digitised more coarsely than the setting allows).
NEAR_MISS_FACTOR = 5.0

#: Columns of :attr:`BackhaulNetwork.links` (and of :func:`band_links`).
LINK_COLUMNS = ("site_a", "site_b", "band_ghz", "distance_m", "min_clearance_f1", "cost_cny")


@dataclass(frozen=True)
class BackhaulNetwork:
    """The backhaul options of every candidate site (positions as in the candidates table).

    Attributes
    ----------
    fiber : geopandas.GeoDataFrame
        :func:`siting.backhaul.fiber_routes`, one row per candidate: the fiber node reached
        (``fiber_node_id``: a fiber node's ``node_id`` or a ``site_id`` with fiber),
        ``cost_cny`` [CNY], ``length_m`` [m] and the route's LineString.
    needs_backhaul : numpy.ndarray
        Bool per candidate: False where the candidate has fiber on site (``has_fiber``) or
        its backhaul is in place.
    in_place : numpy.ndarray
        Bool per candidate: its backhaul was built before the plan (an as-built site of a
        re-plan) and it has no fiber on site: it needs no feed, and relays hops only with a
        feed the plan buys it.
    links : pandas.DataFrame
        Feasible microwave links, one row per (pair of sites, band): ``site_a``, ``site_b``
        (candidate positions), ``band_ghz`` [GHz], ``distance_m`` [m], ``min_clearance_f1``
        [-] and ``cost_cny`` [CNY].
    satellite_cny_per_year : float or None
        Satellite backhaul of one site, its yearly fee [CNY/year]; None: not on offer
        (:meth:`satellite_cost_cny` prices it over a plan's opex horizon).
    max_hops : int
        Most microwave hops from a site to a fiber-fed site.
    traffic_mbps : dict or None
        The traffic a site puts on its feed per technology generation it carries
        (``{"4G": ..., "5G": ...}`` [Mbit/s]), which hops carry within their
        ``capacity_mbps``; None: link capacity is not planned.
    mandatory_feed : str
        ``backhaul.mandatory_feed``: ``"any"``, any feed of a site counts for the mandatory
        points it covers; ``"terrestrial"``, only fiber or microwave hops ending on fiber
        (or backhaul not needed, or in place), never satellite.
    """

    fiber: gpd.GeoDataFrame
    needs_backhaul: np.ndarray
    in_place: np.ndarray
    links: pd.DataFrame
    satellite_cny_per_year: float | None
    max_hops: int
    traffic_mbps: dict | None = None
    mandatory_feed: str = "any"

    @property
    def terrestrial_mandatory(self) -> bool:
        """Whether a mandatory point counts as covered only by a site not fed by satellite."""
        return self.mandatory_feed == "terrestrial"

    def option_traffic_mbps(self, generation: np.ndarray) -> np.ndarray | None:
        """The traffic [Mbit/s] each option of technology ``generation`` (one per option)
        puts on its site's feed; None when link capacity is not planned."""
        if self.traffic_mbps is None:
            return None
        return np.array([self.traffic_mbps[g] for g in generation], dtype=float)

    def satellite_cost_cny(self, opex_years: float) -> float | None:
        """Satellite backhaul of one site over ``opex_years`` [CNY] (it has no capex, only
        its yearly fee); None when it is not on offer."""
        per_year = self.satellite_cny_per_year
        return None if per_year is None else float(per_year) * float(opex_years)


def _fiber_sources(candidates: gpd.GeoDataFrame, fiber_nodes: gpd.GeoDataFrame | None):
    """Coordinates [m] and ids of the fiber network: the fiber nodes, then the candidates
    with fiber on site. InputError when there is none."""
    on_site = candidates[has_fiber(candidates)]
    frames = [f for f in (fiber_nodes, on_site) if f is not None and len(f)]
    if not frames:
        raise InputError("backhaul is enabled but there is no fiber: give inputs.fiber_nodes or "
                         "set has_fiber on the candidates that have fiber")
    x = np.concatenate([f.geometry.x.to_numpy() for f in frames])
    y = np.concatenate([f.geometry.y.to_numpy() for f in frames])
    ids = np.concatenate([f.index.astype(str).to_numpy(dtype=object) for f in frames])
    return x, y, ids


def band_links(terrain: Terrain, x_m, y_m, antenna_height_m, bands: tuple[MicrowaveBand, ...],
               *, earth_radius_factor: float) -> pd.DataFrame:
    """The feasible links of every band (:func:`siting.backhaul.microwave_links`), one row
    per (pair, band), with :data:`LINK_COLUMNS` but ``cost_cny`` (see :func:`link_costs`).
    Offers of the same frequency (e.g. two dish sizes) share their links, found up to the
    longest of their hops."""
    longest_hop_m: dict[float, float] = {}
    for band in bands:
        ghz = float(band.band_ghz)
        longest_hop_m[ghz] = max(longest_hop_m.get(ghz, 0.0), float(band.max_hop_m))
    tables = []
    for band_ghz, max_hop_m in longest_hop_m.items():
        found = microwave_links(terrain, x_m, y_m, antenna_height_m, band_ghz=band_ghz,
                                max_hop_m=max_hop_m, earth_radius_factor=earth_radius_factor)
        found = found[found["feasible"]]
        tables.append(pd.DataFrame({"site_a": found["site_i"].to_numpy(np.int64),
                                    "site_b": found["site_j"].to_numpy(np.int64),
                                    "band_ghz": band_ghz,
                                    "distance_m": found["distance_m"].to_numpy(float),
                                    "min_clearance_f1": found["min_clearance_f1"].to_numpy(float)}))
    if not tables:
        return pd.DataFrame({c: pd.Series(dtype=np.int64 if c.startswith("site") else float)
                             for c in LINK_COLUMNS[:-1]})
    return pd.concat(tables, ignore_index=True)


def link_costs(links: pd.DataFrame, bands: tuple[MicrowaveBand, ...]) -> pd.DataFrame:
    """``links`` with ``cost_cny`` and ``capacity_mbps``: the cheapest offer of each link's
    band whose longest hop reaches the link [CNY], and that offer's capacity [Mbit/s], the
    largest of equally cheap offers (NaN, not limited, where the offer gives none); links no
    offer reaches (found for other bands' hops) are dropped."""
    band_ghz = links["band_ghz"].to_numpy(float)
    distance_m = links["distance_m"].to_numpy(float)
    cost_cny = np.full(len(links), np.inf)
    capacity_mbps = np.zeros(len(links))  # inf: an offer without capacity_mbps
    for band in bands:
        offered = (band_ghz == float(band.band_ghz)) & (distance_m <= float(band.max_hop_m))
        capacity = np.inf if band.capacity_mbps is None else float(band.capacity_mbps)
        better = offered & ((float(band.cost_cny) < cost_cny)
                            | ((float(band.cost_cny) == cost_cny) & (capacity > capacity_mbps)))
        cost_cny[better] = float(band.cost_cny)
        capacity_mbps[better] = capacity
    priced = np.isfinite(cost_cny)
    capacity_mbps = np.where(np.isinf(capacity_mbps), np.nan, capacity_mbps)
    return links[priced].assign(cost_cny=cost_cny[priced],
                                capacity_mbps=capacity_mbps[priced]).reset_index(drop=True)


def road_gaps_text(roads: gpd.GeoDataFrame | None, road_gap_m: float) -> str:
    """How many road ends the road graph joins to a road they stop short of (gaps up to
    ``road_gap_m``), and how many stop up to :data:`NEAR_MISS_FACTOR` times that short and are
    left apart, with the setting to raise; "" when there are neither (or no roads, or
    ``road_gap_m`` 0: nothing is joined)."""
    if roads is None or not len(roads) or road_gap_m <= 0:
        return ""
    gap_m = road_end_gaps(roads, within_m=NEAR_MISS_FACTOR * road_gap_m)
    joined = gap_m <= road_gap_m
    parts = []
    if joined.any():
        parts.append(f"joined {int(joined.sum())} road end(s) to the road each stops short of "
                     f"(gaps up to {gap_m[joined].max():.1f} m; backhaul.road_gap_m: "
                     f"{road_gap_m:g})")
    if (~joined).any():
        parts.append(f"{int((~joined).sum())} road end(s) stop {road_gap_m:g}-"
                     f"{NEAR_MISS_FACTOR * road_gap_m:g} m short of another road and are not "
                     f"joined (fiber does not follow them across the gap); if they are "
                     f"junctions, raise backhaul.road_gap_m to "
                     f"{math.ceil(gap_m[~joined].max()):d}")
    return "; ".join(parts)


def report_road_gaps(roads: gpd.GeoDataFrame | None, road_gap_m: float, where: str) -> None:
    """Warn with :func:`road_gaps_text`, naming ``where`` (the roads' file); silent when it
    says nothing."""
    if text := road_gaps_text(roads, road_gap_m):
        logger.warning("%s: %s", where, text)


def backhaul_inputs_text(candidates: gpd.GeoDataFrame, fiber_nodes: gpd.GeoDataFrame | None,
                         roads: gpd.GeoDataFrame | None, road_gap_m: float) -> tuple[str, str]:
    """What the backhaul reads, without computing a route (``siting validate`` says it): one
    line on the fiber (the fiber nodes and the candidates with fiber on site), one on the roads
    (their count and length [km], in a metric CRS, and :func:`road_gaps_text`)."""
    n_nodes = 0 if fiber_nodes is None else len(fiber_nodes)
    fiber = (f"{n_nodes} fiber node(s), {int(has_fiber(candidates).sum())} candidate(s) with "
             f"fiber on site")
    if roads is None or not len(roads):
        return fiber, ("no roads: every fiber route is priced across country "
                       "(backhaul.fiber_cny_per_km_offroad, detour_factor)")
    if road_gap_m <= 0:
        gaps = "road ends are not joined to a road they stop short of (backhaul.road_gap_m: 0)"
    else:
        gaps = road_gaps_text(roads, road_gap_m) or (
            f"no road end stops short of another road (looked for up to "
            f"{NEAR_MISS_FACTOR * road_gap_m:g} m)")
    return fiber, f"{len(roads)} road(s), {float(roads.length.sum()) / 1000.0:,.1f} km; {gaps}"


def backhaul_network(terrain: Terrain, candidates: gpd.GeoDataFrame,
                     fiber_nodes: gpd.GeoDataFrame | None, roads: gpd.GeoDataFrame | None,
                     settings: BackhaulSettings, *, links: pd.DataFrame | None = None,
                     earth_radius_factor: float = 4.0 / 3.0,
                     in_place: np.ndarray | None = None,
                     roads_source: str = "inputs.roads") -> BackhaulNetwork:
    """The backhaul options of ``candidates`` (module docstring).

    Parameters
    ----------
    terrain : siting.terrain.Terrain
        The DEM [m], the run's CRS.
    candidates : geopandas.GeoDataFrame
        Candidate sites (index ``site_id``; ``antenna_height_m`` [m], optional ``has_fiber``).
    fiber_nodes : geopandas.GeoDataFrame or None
        Points with fiber today (index ``node_id``).
    roads : geopandas.GeoDataFrame or None
        Lines fiber may follow.
    settings : siting.config.BackhaulSettings
        Prices, detour factor, hop limit, bands and satellite.
    links : pandas.DataFrame, optional
        :func:`band_links` of these candidates and bands, when already computed (a cache).
    earth_radius_factor : float
        Effective earth radius factor k of the link clearance [-].
    in_place : numpy.ndarray, optional
        Bool per candidate: its backhaul is built and kept (it needs no feed; without fiber
        on site it relays only with a feed of its own); default none.
    roads_source : str
        How messages name the roads' file (:func:`report_road_gaps`).

    Raises
    ------
    InputError
        No fiber anywhere (no fiber node and no candidate with ``has_fiber``).
    """
    x, y, ids = _fiber_sources(candidates, fiber_nodes)
    cx, cy = candidates.geometry.x.to_numpy(), candidates.geometry.y.to_numpy()
    routes = fiber_routes(cx, cy, x, y, ids, fiber_cny_per_km_road=settings.fiber_cny_per_km_road,
                          fiber_cny_per_km_offroad=settings.fiber_cny_per_km_offroad,
                          detour_factor=settings.detour_factor, roads=roads,
                          road_gap_m=settings.road_gap_m, crs=candidates.crs)
    report_road_gaps(roads, settings.road_gap_m, roads_source)
    if links is None:
        links = band_links(terrain, cx, cy, candidates["antenna_height_m"].to_numpy(float),
                           settings.microwave, earth_radius_factor=earth_radius_factor)
    on_site = has_fiber(candidates)
    in_place = np.zeros(len(candidates), bool) if in_place is None else in_place & ~on_site
    return BackhaulNetwork(fiber=routes, needs_backhaul=~(on_site | in_place), in_place=in_place,
                           links=link_costs(links, settings.microwave),
                           satellite_cny_per_year=settings.satellite_cny_per_year,
                           max_hops=int(settings.max_microwave_hops),
                           traffic_mbps=settings.site_traffic_mbps,
                           mandatory_feed=settings.mandatory_feed)

"""The backhaul of a plan as a table of links and as summary facts.

:func:`backhaul_table` is the ``backhaul_links`` layer of sites.gpkg (and what sites.kml,
map.html, map.png and the report draw): one row per site on air that needs backhaul, the link
that feeds it. :func:`backhaul_facts` is the ``backhaul`` entry of summary.json; its costs are
the sums over that table. Where link capacity is planned (``backhaul.site_traffic_mbps``),
each link has the traffic it carries and the facts name the fullest hop; where it is not (a
band's ``capacity_mbps`` then limits no hop), the facts name the busiest relay and the hop
that carries the most sites' traffic, for the planner to check.
"""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting.optimize.feed_model import FIBER, IN_PLACE, MICROWAVE, SATELLITE

#: Columns of :func:`backhaul_table` besides the geometry.
LINK_FIELDS = ("from_id", "to_id", "kind", "band_ghz", "length_m", "cost_cny",
               "min_clearance_f1", "hop", "load_mbps", "capacity_mbps")


def _fiber_rows(sites: np.ndarray, run) -> dict:
    """Links of fiber-fed sites: the route along the roads to the fiber node reached."""
    routes = run.plan.backhaul.network.fiber.iloc[sites]
    return {"to_id": routes["fiber_node_id"].astype(str).to_numpy(dtype=object),
            "band_ghz": np.full(sites.size, np.nan), "length_m": routes["length_m"].to_numpy(),
            "min_clearance_f1": np.full(sites.size, np.nan),
            "capacity_mbps": np.full(sites.size, np.nan), "geometry": routes.geometry.to_numpy()}


def _microwave_rows(sites: np.ndarray, run) -> dict:
    """Links of microwave-fed sites: the straight hop from the feeding site."""
    feeds, network = run.plan.backhaul.feeds, run.plan.backhaul.network
    links = network.links.iloc[feeds.feeder_link[sites]]
    feeder = feeds.feeder_site[sites]
    points = run.region.candidates.geometry
    xy_from = shapely.get_coordinates(points.iloc[sites].to_numpy())
    xy_to = shapely.get_coordinates(points.iloc[feeder].to_numpy())
    ids = run.region.candidates.index.astype(str).to_numpy(dtype=object)
    return {"to_id": ids[feeder], "band_ghz": links["band_ghz"].to_numpy(float),
            "length_m": links["distance_m"].to_numpy(float),
            "min_clearance_f1": links["min_clearance_f1"].to_numpy(float),
            "capacity_mbps": links["capacity_mbps"].to_numpy(float),
            "geometry": shapely.linestrings(np.stack([xy_from, xy_to], axis=1))
            if sites.size else np.empty(0, dtype=object)}


def _satellite_rows(sites: np.ndarray, run) -> dict:
    """Satellite-fed sites: no line (empty geometry), no far end."""
    nothing = np.full(sites.size, np.nan)
    return {"to_id": np.full(sites.size, "", dtype=object), "band_ghz": nothing,
            "length_m": nothing, "min_clearance_f1": nothing, "capacity_mbps": nothing,
            "geometry": np.full(sites.size, None, dtype=object)}


_ROWS = {FIBER: _fiber_rows, MICROWAVE: _microwave_rows, SATELLITE: _satellite_rows}


def backhaul_table(run) -> gpd.GeoDataFrame | None:
    """One row per site on air that needs backhaul (fiber on site, or backhaul in place from
    an as-built list, needs none) or is fed by a link the plan buys: ``from_id`` (the fed
    site), ``to_id`` (the feeding site's ``site_id``, the fiber node's id, "" for satellite,
    which sites.gpkg and sites.kml write as NULL), ``kind`` (fiber, microwave, satellite),
    ``band_ghz`` [GHz], ``length_m`` [m], ``cost_cny`` [CNY], ``min_clearance_f1`` [-]
    (microwave), ``hop`` (microwave hops from fiber: 0 fiber, 1 or more microwave, missing
    for satellite: :func:`hop_field`), ``load_mbps`` (the traffic the link carries, its
    site's and all that site relays [Mbit/s]; NaN where link capacity is not planned),
    ``capacity_mbps`` (a microwave link's band offer; NaN otherwise) and the line in the
    run's CRS (fiber: the route along the roads; microwave: the straight hop; satellite:
    none); a phased plan adds ``phase``, the year the feed is built in. None for a plan
    without backhaul."""
    backhaul = run.plan.backhaul
    if backhaul is None:
        return None
    feeds = backhaul.feeds
    ids = run.region.candidates.index.astype(str).to_numpy(dtype=object)
    # sites with fiber on site or backhaul in place need no link, unless the plan buys one
    fed = feeds.on_air & (backhaul.network.needs_backhaul | (feeds.backhaul_cost_cny > 0))
    by_kind = {kind: np.flatnonzero(fed & (feeds.backhaul == kind)) for kind in _ROWS}
    carried = (np.full(ids.size, np.nan) if feeds.carried_mbps is None
               else feeds.carried_mbps)
    parts = [{"from_id": ids[sites], "kind": np.full(sites.size, kind, dtype=object),
              "cost_cny": feeds.backhaul_cost_cny[sites],
              "hop": feeds.hop_level[sites], "load_mbps": carried[sites],
              **_ROWS[kind](sites, run)}
             for kind, sites in by_kind.items()]
    columns = {name: np.concatenate([p[name] for p in parts]) for name in LINK_FIELDS}
    columns["hop"] = hop_field(columns["hop"], columns["kind"])
    if feeds.feed_period is not None:  # phased plan: the year each feed is built in
        order = np.concatenate(list(by_kind.values()))
        columns["phase"] = np.asarray(run.plan.phase_labels, dtype=object)[
            feeds.feed_period[order]]
    geometry = np.concatenate([np.asarray(p["geometry"], dtype=object) for p in parts])
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(geometry, crs=run.region.crs),
                            crs=run.region.crs)


def hop_field(hop_level: np.ndarray, kind: np.ndarray) -> pd.Series:
    """The ``hop`` field of the links: microwave hops from fiber (0 for a fiber feed, 1 to
    ``backhaul.max_microwave_hops`` for microwave) as integers (pandas ``Int64``, which GDAL
    writes as an Integer64 field), missing (NULL) for a satellite feed, which no count of
    hops describes (the feed model's -1 would pass a GIS filter ``hop >= 0`` as false but
    pull an average of hops down)."""
    return pd.Series(hop_level, dtype="Int64").mask(kind == SATELLITE)


def relay_facts(links: gpd.GeoDataFrame) -> dict | None:
    """The microwave relays: ``busiest_relay`` (the site most hops start from: ``site_id``,
    ``hops``), ``busiest_hop`` (the hop carrying the most sites' traffic, its own site's and
    that of every site fed through it: ``from_id``, ``to_id``, ``band_ghz``,
    ``sites_carried``) and, where link capacity is planned, ``fullest_hop`` (the hop of
    the largest share of its capacity in use: ``from_id``, ``to_id``, ``band_ghz``,
    ``load_mbps``, ``capacity_mbps``; else None) and ``unlimited_hop`` (the hop carrying the
    most traffic among those of a band offered without ``capacity_mbps``, which no capacity
    limits: ``from_id``, ``to_id``, ``band_ghz``, ``load_mbps``; else None); ties to the
    smallest id; None without microwave hops. ``links``: :func:`backhaul_table`."""
    hops = links[links["kind"] == MICROWAVE]
    if hops.empty:
        return None
    feeder = dict(zip(hops["from_id"], hops["to_id"]))
    carried = Counter(dict.fromkeys(feeder, 1))  # the hop into each site carries that site
    for site in feeder:
        relay = feeder[site]
        while relay in feeder:  # and every site fed through it, up the chain
            carried[relay] += 1
            relay = feeder[relay]
    relays = Counter(feeder.values())
    relay = min(relays, key=lambda site: (-relays[site], site))
    site = min(carried, key=lambda s: (-carried[s], s))
    hop = hops[hops["from_id"] == site].iloc[0]
    return {"busiest_relay": {"site_id": relay, "hops": relays[relay]},
            "busiest_hop": {"from_id": site, "to_id": hop["to_id"],
                            "band_ghz": float(hop["band_ghz"]), "sites_carried": carried[site]},
            "fullest_hop": _fullest_hop(hops), "unlimited_hop": _unlimited_hop(hops)}


def _fullest_hop(hops: gpd.GeoDataFrame) -> dict | None:
    """The microwave hop using the largest share of its capacity (ties to the smallest
    ``from_id``), or None where loads or capacities are not known."""
    share = (hops["load_mbps"] / hops["capacity_mbps"]).to_numpy(float)
    if not np.isfinite(share).any():
        return None
    order = np.lexsort((hops["from_id"].to_numpy(str), -np.nan_to_num(share, nan=-1.0)))
    hop = hops.iloc[order[0]]
    return {"from_id": hop["from_id"], "to_id": hop["to_id"], "band_ghz": float(hop["band_ghz"]),
            "load_mbps": float(hop["load_mbps"]), "capacity_mbps": float(hop["capacity_mbps"])}


def _unlimited_hop(hops: gpd.GeoDataFrame) -> dict | None:
    """Where loads are known, the microwave hop of no capacity (its band offered without
    ``capacity_mbps``) carrying the most traffic (ties to the smallest ``from_id``); None
    when every hop has a capacity or loads are not known."""
    free = hops[hops["load_mbps"].notna() & hops["capacity_mbps"].isna()]
    if free.empty:
        return None
    order = np.lexsort((free["from_id"].to_numpy(str), -free["load_mbps"].to_numpy(float)))
    hop = free.iloc[order[0]]
    return {"from_id": hop["from_id"], "to_id": hop["to_id"], "band_ghz": float(hop["band_ghz"]),
            "load_mbps": float(hop["load_mbps"])}


def largest_hop_capacity_mbps(bands) -> float | None:
    """The most traffic a microwave hop of any of ``bands`` (``backhaul.microwave``) may
    carry [Mbit/s]; None where a band gives no ``capacity_mbps`` (its hops are not limited)
    or none is offered."""
    capacities = [band.capacity_mbps for band in bands]
    return None if not capacities or None in capacities else float(max(capacities))


def backhaul_facts(run, links: gpd.GeoDataFrame) -> dict:
    """The ``backhaul`` entry of summary.json: the cost of sites, backhaul and both [CNY],
    the sites fed by each kind and their cost, those with fiber on site and those whose
    backhaul is in place (``in_place``: as-built sites of a re-plan), the microwave hops by
    band and depth, the traffic a site puts on its feed where link capacity is planned
    (``site_traffic_mbps``, None otherwise), the most a hop may carry
    (``largest_hop_capacity_mbps``: :func:`largest_hop_capacity_mbps`), the year whose loads
    the links and relays give (``loads_year``: a phased plan's last, when every site of the
    plan is on air and each hop carries the most; None for a single-period plan or without
    link capacity), the relays (``relays``: :func:`relay_facts`), and the joint plan next
    to sites first and backhaul then (``comparison``)."""
    plan = run.plan
    site_cost = float(plan.backhaul.feeds.site_cost_cny)
    backhaul_cost = float(links["cost_cny"].sum())
    by_kind = {kind: {"sites": int((links["kind"] == kind).sum()),
                      "cost_cny": float(links.loc[links["kind"] == kind, "cost_cny"].sum())}
               for kind in _ROWS}
    microwave = links[links["kind"] == MICROWAVE]
    feeds = plan.backhaul.feeds
    on_site = (feeds.backhaul == FIBER) & ~plan.backhaul.network.needs_backhaul & (
        feeds.backhaul_cost_cny == 0)
    return {
        "site_cost_cny": site_cost,
        "backhaul_cost_cny": backhaul_cost,
        "total_cost_cny": site_cost + backhaul_cost,
        "by_kind": by_kind,
        "fiber_on_site": int(on_site.sum()),
        "in_place": int((feeds.backhaul == IN_PLACE).sum()),
        "fiber_km": float(links.loc[links["kind"] == FIBER, "length_m"].sum()) / 1000.0,
        "microwave_by_band": {f"{band:g}": int(n) for band, n in
                              microwave.groupby("band_ghz").size().items()},
        "deepest_hop": int(microwave["hop"].max()) if len(microwave) else 0,
        "max_hops": plan.backhaul.network.max_hops,
        "site_traffic_mbps": plan.backhaul.network.traffic_mbps,
        "largest_hop_capacity_mbps": largest_hop_capacity_mbps(run.scenario.backhaul.microwave),
        "loads_year": (plan.phase_labels[-1] if plan.phase_labels
                       and plan.backhaul.network.traffic_mbps is not None else None),
        "relays": relay_facts(links),
        "comparison": [vars(b) for b in run.backhaul_baselines],
    }

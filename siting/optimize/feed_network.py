r"""The backhaul network: which sites can be fed, at which hop levels, through which relays.

A site on air that needs backhaul is fed by fiber (its route cost :math:`f_s`,
:math:`\infty` = none), by a microwave hop from an on-air site that is itself fed within
``max_hops`` hops :math:`H` of a fiber-fed site, or by satellite (:math:`\sigma_s`); a site
with fiber on site needs none. This module holds the checked inputs, per site
(:class:`SiteInputs`) and per microwave link (:class:`Arcs`, the cheapest link per ordered
pair of sites), and answers the graph questions asked before any model is built:

- which arcs can feed their child at a hop level in some optimal plan
  (:func:`useful_arcs`, with the root pruning of :func:`root_link_cny` and
  :func:`fiber_roots`; the exchange argument is in :mod:`siting.optimize.feed_model`);
- at which hop levels each site can be fed, through sites that can be on air
  (:func:`hop_levels`, breadth-first layers), and whether it can be fed at all
  (:func:`feedable_sites`);
- which sites off air relay the cheapest hop chains feeding the sites on air
  (:func:`relay_chains`, a hop-limited Bellman-Ford recursion), the relays the warm start
  and kernel search propose.

The feed variables and rows built over this network are :mod:`siting.optimize.feed_model`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from siting.errors import InputError
from siting.optimize.inputs import as_bool


@dataclass(frozen=True)
class SiteInputs:
    """The checked per-site backhaul inputs."""

    site_of_option: np.ndarray  # int64 per option
    fiber_cost_cny: np.ndarray  # per site [CNY]; inf: no fiber route; 0: fiber on site
    satellite_cost_cny: np.ndarray  # per site [CNY]; inf: no satellite
    needs_backhaul: np.ndarray  # bool per site: False with fiber on site or backhaul in place
    max_hops: int
    in_place: np.ndarray  # bool per site: backhaul built before the plan, no fiber on site
    # per option [Mbit/s]: the traffic it puts on its site's feed; None: link capacity is
    # not planned
    option_traffic_mbps: np.ndarray | None = None

    @property
    def n_sites(self) -> int:
        return self.fiber_cost_cny.size

    @property
    def fiber_source(self) -> np.ndarray:
        """Bool per site: can be fed at hop level 0 (fiber route, or fiber on site)."""
        return np.isfinite(self.fiber_cost_cny)

    @property
    def fiber_on_site(self) -> np.ndarray:
        """Bool per site: needs no backhaul, being a fiber source itself (fiber cost 0)."""
        return ~self.needs_backhaul & ~self.in_place

    @property
    def plans_capacity(self) -> bool:
        """Whether microwave links carry no more than their capacity."""
        return self.option_traffic_mbps is not None

    def site_traffic_mbps(self, options: np.ndarray) -> np.ndarray:
        """Per site, the traffic its own options among ``options`` (indices) put on its feed
        [Mbit/s]; 0 where its backhaul is in place (its own traffic keeps that feed)."""
        traffic = np.bincount(self.site_of_option[options],
                              weights=self.option_traffic_mbps[options], minlength=self.n_sites)
        return np.where(self.in_place, 0.0, traffic)


@dataclass(frozen=True)
class Arcs:
    """Directed microwave arcs ``child <- parent``: the cheapest link per ordered pair of
    sites, sorted by child, cost, parent. ``link`` is the link's row in the input."""

    child: np.ndarray
    parent: np.ndarray
    cost_cny: np.ndarray
    link: np.ndarray
    capacity_mbps: np.ndarray  # [Mbit/s] of the link; inf: not limited


def _site_costs(values, n_sites: int, name: str) -> np.ndarray:
    """``values`` (None, a scalar or one per site) as ``n_sites`` floats >= 0, inf allowed
    (unavailable); None: inf everywhere."""
    if values is None:
        return np.full(n_sites, np.inf)
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n_sites, float(arr))
    if arr.shape != (n_sites,) or np.any(np.isnan(arr)) or np.any(arr < 0):
        raise InputError(f"{name} must be None, a number or {n_sites} numbers >= 0 "
                         "(inf: unavailable)")
    return arr


def checked_sites(site_of_option, n_options: int, fiber_cost_cny, satellite_cost_cny,
                  site_needs_backhaul, max_hops, site_in_place=None,
                  option_traffic_mbps=None) -> SiteInputs:
    """The per-site inputs of :func:`~siting.optimize.backhaul.solve_with_backhaul`, checked
    (:class:`InputError`). A site that needs no backhaul has fiber on site (its fiber costs
    0), unless its backhaul is in place (``site_in_place``): then its fiber route keeps its
    cost, paid only if the plan makes it a relay."""
    traffic = None
    if option_traffic_mbps is not None:
        traffic = np.asarray(option_traffic_mbps, dtype=float)
        if traffic.shape != (n_options,) or not np.all(np.isfinite(traffic)) \
                or np.any(traffic < 0):
            raise InputError(f"option_traffic_mbps must be None or {n_options} finite numbers "
                             ">= 0 (one per option)")
    fiber = _site_costs(fiber_cost_cny, np.size(fiber_cost_cny), "fiber_cost_cny")
    n_sites = fiber.size
    site = np.asarray(site_of_option)
    if (site.shape != (n_options,) or not np.issubdtype(site.dtype, np.integer)
            or np.any(site < 0) or np.any(site >= n_sites)):
        raise InputError(f"site_of_option must be {n_options} integers in [0, {n_sites}) "
                         "(one site per option; fiber_cost_cny has one entry per site)")
    in_place = as_bool(site_in_place, n_sites, "site_in_place", default=False)
    needs = as_bool(site_needs_backhaul, n_sites, "site_needs_backhaul", default=True) & ~in_place
    if isinstance(max_hops, bool) or not float(max_hops).is_integer() or max_hops < 0:
        raise InputError(f"max_hops must be an integer >= 0, got {max_hops!r}")
    return SiteInputs(site_of_option=site.astype(np.int64),
                      fiber_cost_cny=np.where(needs | in_place, fiber, 0.0),
                      satellite_cost_cny=_site_costs(satellite_cost_cny, n_sites,
                                                     "satellite_cost_cny"),
                      needs_backhaul=needs, max_hops=int(max_hops), in_place=in_place,
                      option_traffic_mbps=traffic)


def _link_capacity_mbps(links, n_links: int) -> np.ndarray:
    """The links' optional ``capacity_mbps`` [Mbit/s] (missing, None or NaN: inf)."""
    try:
        given = links["capacity_mbps"]
    except (KeyError, IndexError):
        return np.full(n_links, np.inf)
    capacity = np.asarray(given, dtype=float)
    if capacity.shape != (n_links,) or np.any(capacity <= 0):
        raise InputError("links: capacity_mbps must be 1-D like site_a, each > 0 (NaN or inf: "
                         "not limited)")
    return np.where(np.isnan(capacity), np.inf, capacity)


def checked_arcs(links, n_sites: int, *, by_capacity: bool = False) -> Arcs:
    """``links`` (a mapping or DataFrame with ``site_a``, ``site_b``, ``cost_cny`` and
    optional ``capacity_mbps``; None: no links) as :class:`Arcs` in both directions, the
    cheapest link per ordered pair kept (of those, the one of most capacity); with
    ``by_capacity`` (link capacity planned), also each dearer link of more capacity than
    every cheaper one (a band that carries more, e.g. for a relay)."""
    if links is None:
        empty = np.zeros(0, np.int64)
        return Arcs(child=empty, parent=empty, cost_cny=np.zeros(0), link=empty,
                    capacity_mbps=np.zeros(0))
    try:
        a, b = np.asarray(links["site_a"]), np.asarray(links["site_b"])
        cost = np.asarray(links["cost_cny"], dtype=float)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"links needs columns site_a, site_b, cost_cny: {exc}") from None
    if not (a.shape == b.shape == cost.shape and a.ndim == 1):
        raise InputError("links: site_a, site_b and cost_cny must be 1-D of one length")
    capacity = _link_capacity_mbps(links, a.size)
    if a.size and (not np.issubdtype(a.dtype, np.integer)
                   or not np.issubdtype(b.dtype, np.integer)
                   or min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= n_sites
                   or np.any(a == b)):
        raise InputError(f"links: site_a and site_b must be distinct site indices in "
                         f"[0, {n_sites})")
    if np.any(~np.isfinite(cost)) or np.any(cost < 0):
        raise InputError("links: cost_cny must be finite and >= 0")
    link = np.arange(a.size)
    child, parent = np.concatenate([a, b]), np.concatenate([b, a])
    cost, link = np.concatenate([cost, cost]), np.concatenate([link, link])
    capacity = np.concatenate([capacity, capacity])
    order = np.lexsort((link, -capacity, cost, parent, child))
    child, parent, cost, link = child[order], parent[order], cost[order], link[order]
    capacity = capacity[order]
    first = np.ones(child.size, bool)
    first[1:] = (child[1:] != child[:-1]) | (parent[1:] != parent[:-1])
    if by_capacity:
        first |= _more_capacity(capacity, np.cumsum(first))
    keep = np.flatnonzero(first)
    order = np.lexsort((parent[keep], cost[keep], child[keep]))
    keep = keep[order]
    return Arcs(child=child[keep].astype(np.int64), parent=parent[keep].astype(np.int64),
                cost_cny=cost[keep], link=link[keep].astype(np.int64),
                capacity_mbps=capacity[keep])


def _more_capacity(capacity: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Bool per entry: more capacity than every entry before it in its group (entries of
    one group consecutive)."""
    before = pd.Series(capacity).groupby(group).cummax().groupby(group).shift()
    return capacity > before.fillna(-np.inf).to_numpy(float)


def root_link_cny(sites: SiteInputs, arcs: Arcs, roots: np.ndarray | None) -> np.ndarray:
    """Per site, the cheapest link into it from a root [CNY]; inf where none (everywhere
    when ``roots`` is None). ``roots``: bool per site, on air and fed by fiber at no cost
    in every plan (an existing site whose fiber costs 0)."""
    cheapest = np.full(sites.n_sites, np.inf)
    if roots is not None:
        from_root = roots[arcs.parent]
        np.minimum.at(cheapest, arcs.child[from_root], arcs.cost_cny[from_root])
    return cheapest


def fiber_roots(sites: SiteInputs, fixed_options: np.ndarray) -> np.ndarray:
    """Bool per site: a root of :func:`root_link_cny`, a site of one of the options
    ``fixed_options`` (indices; on air before the plan) whose fiber costs 0."""
    roots = np.zeros(sites.n_sites, bool)
    roots[sites.site_of_option[fixed_options]] = True
    return roots & (sites.fiber_cost_cny == 0)


def useful_arcs(sites: SiteInputs, arcs: Arcs, possible: np.ndarray, *, level: int = 1,
                roots: np.ndarray | None = None) -> np.ndarray:
    """Bool per arc: can feed its child at hop level ``level`` in some optimal plan. Both
    ends can be on air, the child needs backhaul (or has it in place, and may be fed to
    relay), and its fiber costs more than the link
    (else fiber feeds it at level 0 for no more); with ``roots`` (of
    :func:`root_link_cny`), no root links to the child for less (``level`` 1) or for no
    more (``level`` 2 and up): that link would feed it at level 1 for no more."""
    dearest = root_link_cny(sites, arcs, roots)[arcs.child]
    within = arcs.cost_cny <= dearest if level == 1 else arcs.cost_cny < dearest
    feedable = sites.needs_backhaul | sites.in_place
    return (possible[arcs.child] & possible[arcs.parent] & feedable[arcs.child]
            & (arcs.cost_cny < sites.fiber_cost_cny[arcs.child]) & within)


def hop_levels(sites: SiteInputs, arcs: Arcs, possible: np.ndarray, *,
               roots: np.ndarray | None = None) -> np.ndarray:
    """Bool (max_hops + 1, n_sites): site ``s`` can be fed at hop level ``k`` (level 0:
    fiber) using only sites that can be on air (``possible``) and the arcs of
    :func:`useful_arcs` at each level; breadth-first layers."""
    levels = np.zeros((sites.max_hops + 1, sites.n_sites), bool)
    levels[0] = possible & sites.fiber_source
    for k in range(1, sites.max_hops + 1):
        useful = useful_arcs(sites, arcs, possible, level=k, roots=roots)
        levels[k, arcs.child[useful & levels[k - 1][arcs.parent]]] = True
    return levels


def feedable_sites(sites: SiteInputs, arcs: Arcs, possible: np.ndarray) -> np.ndarray:
    """Bool per site: some backhaul can feed it if it goes on air (a site that needs none
    always can); ``possible``: the sites that can be on air (relays are among them)."""
    satellite = sites.needs_backhaul & np.isfinite(sites.satellite_cost_cny)
    return ~sites.needs_backhaul | satellite | hop_levels(sites, arcs, possible).any(axis=0)


def relay_chains(sites: SiteInputs, arcs: Arcs, possible: np.ndarray, on_air: np.ndarray,
                 relay_cost_cny: np.ndarray) -> np.ndarray:
    r"""Bool per site: off air, and on the cheapest chain of hops feeding some on-air site.

    :math:`G^k_t`, the least cost of feeding site :math:`t` within :math:`k` hops, its own
    cost :math:`r_t` included (``relay_cost_cny``: 0 on air, inf where it cannot go on
    air), by the layers of a hop-limited Bellman-Ford recursion over the useful arcs
    (:func:`useful_arcs`): :math:`G^0_t = r_t + f_t`, :math:`G^k_t = \min(G^{k-1}_t,\;
    r_t + \min_u (c_{t \leftarrow u} + G^{k-1}_u))`. Each on-air site's chain is followed
    back from level :math:`H`. Chains ignore that relays can be shared and that satellite
    exists: they only propose relays, which the small joint model of the warm start
    (:func:`~siting.optimize.joint_solve.start_plan`) chooses among.
    """
    useful = useful_arcs(sites, arcs, possible)
    child, parent, cost = arcs.child[useful], arcs.parent[useful], arcs.cost_cny[useful]
    best = relay_cost_cny + sites.fiber_cost_cny
    feeder = []
    for _ in range(sites.max_hops):
        via = cost + best[parent]
        order = np.lexsort((via, child))
        lead = order[np.flatnonzero(np.diff(child[order], prepend=-1) != 0)]
        chained = np.full(sites.n_sites, np.inf)
        chained[child[lead]] = relay_cost_cny[child[lead]] + via[lead]
        from_ = np.full(sites.n_sites, -1)
        from_[child[lead]] = parent[lead]
        better = chained < best
        feeder.append(np.where(better, from_, -1))
        best = np.where(better, chained, best)
    relays = np.zeros(sites.n_sites, bool)
    here = np.flatnonzero(on_air & sites.needs_backhaul)
    for up in reversed(feeder):
        moved = up[here] >= 0
        here = np.where(moved, up[here], here)
        relays[here[moved]] = True
    return relays & ~on_air


def _hop_layers(feeder_site: np.ndarray, hop_level: np.ndarray) -> list[np.ndarray]:
    """The sites fed by a hop (``feeder_site`` >= 0), one array per hop level 1, 2, ...
    (``hop_level``: hops from fiber): the microwave tree, layer by layer from fiber."""
    fed = np.flatnonzero(feeder_site >= 0)
    return [fed[hop_level[fed] == level] for level in range(1, int(hop_level.max(initial=0)) + 1)]


def carried_traffic_mbps(own_mbps: np.ndarray, feeder_site: np.ndarray,
                         hop_level: np.ndarray) -> np.ndarray:
    """Per site, the traffic its feed carries [Mbit/s]: its own (``own_mbps``) and that of
    every site it relays, down the microwave tree (``feeder_site``: the site feeding each by
    a hop, -1 otherwise; ``hop_level``: its hops from fiber)."""
    carried = np.asarray(own_mbps, dtype=float).copy()
    for here in reversed(_hop_layers(feeder_site, hop_level)):
        np.add.at(carried, feeder_site[here], carried[here])
    return carried


def chain_room_mbps(spare_mbps: np.ndarray, feeder_site: np.ndarray,
                    hop_level: np.ndarray) -> np.ndarray:
    """Per site, the traffic its feed can still take up to fiber [Mbit/s]: the least spare
    capacity of its hop and of every hop above it (``spare_mbps``: per site, its hop's
    capacity less what it carries; inf where no hop feeds it), up the microwave tree
    (``feeder_site``, ``hop_level`` as in :func:`carried_traffic_mbps`)."""
    room = np.where(feeder_site >= 0, spare_mbps, np.inf)
    for here in _hop_layers(feeder_site, hop_level):
        room[here] = np.minimum(room[here], room[feeder_site[here]])
    return room


#: Where link capacity is planned, the hops considered into each site: from its this many
#: most promising parents (:func:`best_parent_arcs`). Projected hop columns need no limit
#: (parents of one link price are interchangeable); per-arc ones, which capacity needs,
#: would be one per neighbour and level: on the demo region 0.5 million columns.
CAPACITY_PARENTS = 8


def best_parent_arcs(sites: SiteInputs, arcs: Arcs, n_parents: int) -> Arcs:
    """The arcs into each site from its ``n_parents`` most promising parents: the least
    link cost plus the least cost of feeding the parent (its fiber, or a chain of at most
    ``max_hops - 1`` hops: the Bellman-Ford layers of :func:`relay_chains`, relays' own
    costs left out), ties by parent index. The order of ``arcs`` is kept."""
    feed_cny = sites.fiber_cost_cny.copy()
    for _ in range(max(sites.max_hops - 1, 0)):
        via = np.full(sites.n_sites, np.inf)
        np.minimum.at(via, arcs.child, arcs.cost_cny + feed_cny[arcs.parent])
        feed_cny = np.minimum(feed_cny, via)
    score = arcs.cost_cny + feed_cny[arcs.parent]
    order = np.lexsort((arcs.parent, score, arcs.child))
    starts = np.flatnonzero(np.diff(arcs.child[order], prepend=-1) != 0)
    rank = np.arange(order.size) - np.repeat(starts, np.diff(np.append(starts, order.size)))
    keep = np.zeros(order.size, bool)
    keep[order[rank < n_parents]] = True
    return Arcs(child=arcs.child[keep], parent=arcs.parent[keep], cost_cny=arcs.cost_cny[keep],
                link=arcs.link[keep], capacity_mbps=arcs.capacity_mbps[keep])

"""A year-by-year greedy plan with backhaul: the warm start of the phased model with backhaul.

Without a plan to start from, HiGHS finds none for the demo's five-year model with backhaul
in a minute. The greedy builds one the model accepts: existing sites are fed first (in the
first year), then each year adds, while its budget and quota last, the option with the most
newly covered value per yuan, its site's cheapest feed included: fiber, satellite, or one
hop from a site already fed fewer than ``max_hops`` hops from fiber. Must-cover rows are
worth more than all the weight together, as in the greedy of
:func:`~siting.optimize.heuristics.greedy_general`, and while one is short by its deadline
only options that cover one are added: a cheap option covering only weight would otherwise
come first and spend what the must-cover rows need (a start that misses one is no plan of
the model). Relays are never built for their own sake: a site is fed only through sites
built for coverage. Where link capacity is planned
(:attr:`~siting.optimize.feed_network.SiteInputs.option_traffic_mbps`), an option's traffic
must fit every hop from its site to fiber: a new site is fed only by a hop (of the cheapest
link with room) from a parent whose chain has room, and an option at a site fed by hops only
where its chain has room.

Terrestrial rows (``backhaul.mandatory_feed: terrestrial``) count an option only at a site
fed by fiber or microwave hops (or needing no feed), as in the model
(:mod:`~siting.optimize.ground_cover`): a site fed by satellite covers none of them. A site
where some option still adds value on such a row is fed on the ground, by its cheapest feed
other than satellite, while the option's budget allows: a site keeps its first feed, so
feeding it by satellite would shut it out of those rows for good.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siting.optimize.feed_model import (
    FIBER_KIND,
    LEVEL_KIND,
    MICROWAVE_KIND,
    SATELLITE_KIND,
    FeedColumns,
    feed_lookup,
)
from siting.optimize.feed_network import Arcs, SiteInputs, chain_room_mbps, useful_arcs
from siting.optimize.inputs import OptionInputs
from siting.optimize.model import coverage_count
from siting.optimize.phased import PeriodLimits


@dataclass
class _Feeds:
    """Each site's feed in the greedy plan so far: kind, hop level (-1 unfed), cost, the
    period it was built in, the arc of its hop (-1: none) and the traffic its feed carries
    [Mbit/s] (its own and all it relays; link capacity planned)."""

    kind: np.ndarray
    level: np.ndarray
    cost_cny: np.ndarray
    period: np.ndarray
    arc: np.ndarray
    load_mbps: np.ndarray

    @classmethod
    def none(cls, n_sites: int) -> _Feeds:
        return cls(kind=np.full(n_sites, -1), level=np.full(n_sites, -1),
                   cost_cny=np.zeros(n_sites), period=np.full(n_sites, -1),
                   arc=np.full(n_sites, -1), load_mbps=np.zeros(n_sites))

    def room_mbps(self, arcs: Arcs) -> np.ndarray:
        """Per site, the traffic its feed can still take up to fiber [Mbit/s]: the least
        spare capacity of its hop and of every hop above it (inf: fed by fiber or
        satellite, or unfed)."""
        hop = np.flatnonzero(self.arc >= 0)
        spare, feeder = np.full(self.arc.size, np.inf), np.full(self.arc.size, -1)
        spare[hop] = arcs.capacity_mbps[self.arc[hop]] - self.load_mbps[hop]
        feeder[hop] = arcs.parent[self.arc[hop]]
        return chain_room_mbps(spare, feeder, self.level)

    def add_load(self, site: int, mbps: float, arcs: Arcs) -> None:
        """Put ``mbps`` on the feed of ``site`` and every hop above it."""
        while site >= 0:
            self.load_mbps[site] += mbps
            site = arcs.parent[self.arc[site]] if self.arc[site] >= 0 else -1


def _cheapest_feeds(sites: SiteInputs, arcs: Arcs, useful: tuple[np.ndarray, np.ndarray],
                    feeds: _Feeds, need_mbps: np.ndarray | None = None, *,
                    ground_only: bool = False) -> tuple:
    """(cost [CNY], kind, hop level, arc (-1: no hop)) of each site's cheapest feed now:
    fiber, satellite (not ``ground_only``), or a hop from a fed site fewer than ``max_hops``
    from fiber (cost inf: none), over the arcs ``useful`` at level 1 and at the levels
    above; fiber on site costs 0. ``need_mbps`` (per site; link capacity planned): the
    traffic the hop and every hop above it must have room for."""
    cost = sites.fiber_cost_cny.copy()
    kind = np.full(sites.n_sites, FIBER_KIND)
    level = np.zeros(sites.n_sites, np.int64)
    satellite = (sites.satellite_cost_cny < cost) & (not ground_only)
    cost[satellite], kind[satellite], level[satellite] = sites.satellite_cost_cny[satellite], \
        SATELLITE_KIND, -1
    parent_level = feeds.level[arcs.parent]
    hop = np.where(parent_level == 0, useful[0], useful[1])
    hop &= (parent_level >= 0) & (parent_level < sites.max_hops)
    if need_mbps is not None:
        need = need_mbps[arcs.child]
        hop &= (arcs.capacity_mbps >= need) & (feeds.room_mbps(arcs)[arcs.parent] >= need)
    order = np.flatnonzero(hop)[np.lexsort((parent_level[hop], arcs.cost_cny[hop],
                                            arcs.child[hop]))]
    lead = order[np.flatnonzero(np.diff(arcs.child[order], prepend=-1) != 0)]
    child = arcs.child[lead]
    better = arcs.cost_cny[lead] < cost[child]
    child, lead = child[better], lead[better]
    cost[child], kind[child], level[child] = arcs.cost_cny[lead], MICROWAVE_KIND, \
        parent_level[lead] + 1
    arc = np.full(sites.n_sites, -1)
    arc[child] = lead
    return cost, kind, level, arc


def _feed(feeds: _Feeds, site: int, cheapest: tuple, period: int, arcs: Arcs,
          mbps: float) -> float:
    """Feed ``site`` by its ``cheapest`` feed in ``period``, its traffic ``mbps`` on it;
    returns the cost."""
    cost, kind, level, arc = cheapest
    feeds.kind[site], feeds.level[site] = kind[site], level[site]
    feeds.cost_cny[site], feeds.period[site], feeds.arc[site] = cost[site], period, arc[site]
    feeds.add_load(site, mbps, arcs)
    return float(cost[site])


def _feed_existing(sites: SiteInputs, arcs: Arcs, useful: tuple, on_air: np.ndarray,
                   own_mbps: np.ndarray | None, feeds: _Feeds) -> float | None:
    """Feed the sites on air before the plan in the first period, the cheapest feed first
    (a fed site may relay to the next), but those whose backhaul is in place; their cost
    [CNY], or None when some need a relay that is not on air (or, ``own_mbps`` per site
    given, one whose chain has room)."""
    spent = 0.0
    while True:
        unfed = on_air & ~sites.in_place & (feeds.kind < 0)
        if not unfed.any():
            return spent
        cheapest = _cheapest_feeds(sites, arcs, useful, feeds, own_mbps)
        cost = np.where(unfed, cheapest[0], np.inf)
        if not np.isfinite(cost.min()):
            return None
        site = int(np.argmin(cost))
        spent += _feed(feeds, site, cheapest, 0, arcs,
                       0.0 if own_mbps is None else float(own_mbps[site]))


def _existing_fed(sites: SiteInputs, arcs: Arcs, fixed: np.ndarray,
                  roots: np.ndarray | None = None) -> tuple[float | None, tuple, _Feeds]:
    """The sites of the ``fixed`` options (bool per option) fed by :func:`_feed_existing`:
    its cost (None: some cannot be), the arcs useful at hop level 1 and above (pruned with
    ``roots``, of :func:`~siting.optimize.feed_model.feed_columns`) and the feeds."""
    on_air = np.zeros(sites.n_sites, bool)
    on_air[sites.site_of_option[fixed]] = True
    everywhere = np.ones(sites.n_sites, bool)
    useful = tuple(useful_arcs(sites, arcs, everywhere, level=k, roots=roots) for k in (1, 2))
    feeds = _Feeds.none(sites.n_sites)
    own_mbps = (sites.site_traffic_mbps(np.flatnonzero(fixed)) if sites.plans_capacity
                else None)
    return _feed_existing(sites, arcs, useful, on_air, own_mbps, feeds), useful, feeds


def existing_feeds_cny(sites: SiteInputs, arcs: Arcs, fixed: np.ndarray) -> float | None:
    """What feeding the sites of the ``fixed`` options (bool per option) costs when each is
    fed in turn by its cheapest feed, a fed site relaying to the next (the greedy's first
    year, :func:`greedy_schedule`) [CNY]; None when some cannot be fed so. A plan that
    feeds them, so an upper bound of the least that does."""
    return _existing_fed(sites, arcs, fixed)[0]


def _value(weight: np.ndarray, need_left: np.ndarray, covered: np.ndarray,
           must_now: bool) -> np.ndarray:
    """Value of covering each row now: a must row still short (by the deadline) is worth
    more than all the weight together (:func:`_must_value`); another row its weight while
    uncovered."""
    value = np.where(covered, 0.0, weight)
    return np.where(must_now & (need_left > 0), _must_value(weight), value)


def _must_value(weight: np.ndarray) -> float:
    """The value of a must row still short: more than all the ``weight`` together."""
    return float(weight.sum()) + 1.0


def _must_first(ok: np.ndarray, gain: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``ok`` (bool per option) narrowed to the options whose ``gain`` covers a must row
    still short (at least :func:`_must_value`), where one of them is ok."""
    urgent = ok & (gain >= _must_value(weight))
    return urgent if urgent.any() else ok


def _option_traffic_mbps(sites: SiteInputs) -> np.ndarray | None:
    """Per option, the traffic it puts on its site's feed [Mbit/s] (0 at a site whose
    backhaul is in place); None where link capacity is not planned."""
    if not sites.plans_capacity:
        return None
    return np.where(sites.in_place[sites.site_of_option], 0.0, sites.option_traffic_mbps)


def _offers(sites: SiteInputs, arcs: Arcs, useful: tuple, feeds: _Feeds,
            traffic: np.ndarray | None, ground_only: bool = False) -> tuple[np.ndarray,
                                                                           np.ndarray, list]:
    """The cheapest feeds (:func:`_cheapest_feeds`, ``ground_only``: not satellite) a site
    could get now for the traffic of each option (``traffic``; None: capacity not planned):
    (per option, the cost of its site's offer [CNY] and the index of that offer; the
    offers, one per distinct traffic)."""
    if traffic is None:
        offers = [_cheapest_feeds(sites, arcs, useful, feeds, ground_only=ground_only)]
        which = np.zeros(sites.site_of_option.size, np.int64)
    else:
        values, which = np.unique(traffic, return_inverse=True)
        offers = [_cheapest_feeds(sites, arcs, useful, feeds, np.full(sites.n_sites, v),
                                  ground_only=ground_only) for v in values]
    if not offers:  # no options
        return np.zeros(0), which, offers
    return np.stack([offer[0] for offer in offers])[which, sites.site_of_option], which, offers


def _on_the_ground(feeds: _Feeds, sites: SiteInputs) -> np.ndarray:
    """Bool per site: fed so far otherwise than by satellite, or needing no feed (fiber on
    site, backhaul in place)."""
    return ((feeds.kind >= 0) & (feeds.kind != SATELLITE_KIND)) | ~sites.needs_backhaul


def _ground_count(A, chosen: np.ndarray, on_ground: np.ndarray,
                  terrestrial: np.ndarray) -> np.ndarray:
    """Options of ``chosen`` covering each row of ``A``; on the rows ``terrestrial`` (bool per
    row) only those ``on_ground`` (bool per option of ``chosen``: at a site not fed by
    satellite)."""
    count = coverage_count(A, chosen)
    count[terrestrial] = coverage_count(A[terrestrial], chosen[on_ground])
    return count


def _site_offers(sites: SiteInputs, arcs: Arcs, useful: tuple, feeds: _Feeds,
                 traffic: np.ndarray | None, ground_wanted: np.ndarray, cost: np.ndarray,
                 budget_left_cny: float) -> tuple[np.ndarray, np.ndarray, list, np.ndarray]:
    """The offers of :func:`_offers` to each option's site; where its site is
    ``ground_wanted`` (bool per site), its cheapest feed other than satellite instead, if
    there is one and the option's ``cost`` with it is within ``budget_left_cny``: (per
    option, the cost of its offer [CNY] and its index; the offers; per option, whether its
    offer feeds on the ground)."""
    feed_cny, which, offers = _offers(sites, arcs, useful, feeds, traffic)
    if ground_wanted.any():
        ground_cny, ground_which, ground_offers = _offers(sites, arcs, useful, feeds, traffic,
                                                          ground_only=True)
        use = ground_wanted[sites.site_of_option] & np.isfinite(ground_cny)
        use &= cost + ground_cny <= budget_left_cny
        feed_cny = np.where(use, ground_cny, feed_cny)
        which = np.where(use, ground_which + len(offers), which)
        offers = offers + ground_offers
    if not offers:  # no options
        return feed_cny, which, offers, np.zeros(0, bool)
    kind = np.stack([offer[1] for offer in offers])[which, sites.site_of_option]
    return feed_cny, which, offers, kind != SATELLITE_KIND


def _one_period(t: int, options: OptionInputs, site: np.ndarray, weight, need, limits,
                state: dict, sites: SiteInputs, arcs: Arcs, useful: tuple,
                terrestrial: np.ndarray) -> None:
    """Add options in period ``t`` while its budget and quota last and one adds value; the
    rows ``terrestrial`` (bool per row) count only options at sites fed on the ground."""
    A_t = options.A.T.tocsr()
    feeds, traffic = state["feeds"], _option_traffic_mbps(sites)
    while True:
        budget_left = limits.budget_left(t, state["spent"])
        quota_left = limits.quota_left(t, state["built"])
        count = state["count"]
        value = _value(weight, need - count, count > 0, t <= limits.must_by)
        gain_ground = A_t @ np.where(terrestrial, value, 0.0)
        fed = ((feeds.level >= 0) | (feeds.kind >= 0) | sites.in_place)[site]
        ok = (state["period"] < 0) & ~options.fixed & ~np.isin(options.groups, state["groups"])
        ground_wanted = np.zeros(sites.n_sites, bool)
        ground_wanted[site[ok & ~fed & (gain_ground > 0)]] = True
        feed_cny, which, offers, offer_ground = _site_offers(
            sites, arcs, useful, feeds, traffic, ground_wanted, options.cost, budget_left)
        on_ground = np.where(fed, _on_the_ground(feeds, sites)[site], offer_ground)
        gain = A_t @ np.where(terrestrial, 0.0, value) + np.where(on_ground, gain_ground, 0.0)
        total = options.cost + np.where(fed, 0.0, feed_cny)
        ok &= np.isfinite(total) & (total <= budget_left) & (gain > 0)
        ok &= ~options.counted | (quota_left > 0)
        if traffic is not None:  # an option at a site fed already: its chain has room
            ok &= ~fed | (feeds.room_mbps(arcs)[site] >= traffic)
        ok = _must_first(ok, gain, weight)
        if not ok.any():
            return
        j = int(np.argmax(np.where(ok, gain / np.maximum(total, 1.0), -np.inf)))
        state["period"][j] = t
        mbps = 0.0 if traffic is None else float(traffic[j])
        if not fed[j]:
            _feed(feeds, int(site[j]), offers[which[j]], t, arcs, mbps)
        else:
            feeds.add_load(int(site[j]), mbps, arcs)
        state["spent"][t] += total[j]
        state["built"][t] += int(options.counted[j])
        state["count"] = count + _ground_count(options.A, np.array([j]), on_ground[[j]],
                                               terrestrial)
        if options.groups[j] >= 0:
            state["groups"] = np.append(state["groups"], options.groups[j])


def greedy_schedule(options: OptionInputs, weight: np.ndarray, need: np.ndarray,
                    limits: PeriodLimits, sites: SiteInputs, arcs: Arcs, feed: FeedColumns,
                    roots: np.ndarray | None = None,
                    terrestrial: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """The greedy plan of the module docstring: (period each option is built in, period each
    column of ``feed`` is set in; -1: never), or None when the existing sites cannot be fed
    in the first period by themselves within its budget. ``need``: options each row must be
    covered by (0: optional); ``roots``: those ``feed`` was pruned with
    (:func:`~siting.optimize.feed_model.feed_columns`), so that every hop has a column;
    ``terrestrial`` (bool per row; None: none): rows only options at sites fed on the
    ground cover."""
    site = sites.site_of_option
    spent, useful, feeds = _existing_fed(sites, arcs, options.fixed, roots)
    periods = limits.count
    if spent is None or limits.budget_left(0, [0.0] * periods) < spent:
        return None
    terrestrial = (np.zeros(options.n_rows, bool) if terrestrial is None
                   else np.asarray(terrestrial, bool))
    fixed = np.flatnonzero(options.fixed)
    state = {"period": np.full(options.cost.size, -1), "feeds": feeds,
             "count": _ground_count(options.A, fixed, _on_the_ground(feeds, sites)[site[fixed]],
                                    terrestrial),
             "groups": options.groups[options.fixed & (options.groups >= 0)],
             "spent": [spent] + [0.0] * (periods - 1), "built": [0] * periods}
    for t in range(periods):
        _one_period(t, options, site, weight, need, limits, state, sites, arcs, useful,
                    terrestrial)
    return state["period"], _feed_periods(feeds, sites, arcs, feed)


def _feed_periods(feeds: _Feeds, sites: SiteInputs, arcs: Arcs, feed: FeedColumns) -> np.ndarray:
    """The period each column of ``feed`` is set in by the greedy's feeds (-1: never); a
    site with fiber on site sets its free column, where it has one."""
    fed = np.flatnonzero(feeds.period >= 0)
    kind = np.where(sites.needs_backhaul[fed], feeds.kind[fed], FIBER_KIND)
    level = np.where(kind == SATELLITE_KIND, -1, np.where(sites.needs_backhaul[fed],
                                                      feeds.level[fed], 0))
    cost = np.where(sites.needs_backhaul[fed], feeds.cost_cny[fed], 0.0)
    parent = np.full(fed.size, -1)  # a microwave column's feeding site (one per arc)
    hop = np.flatnonzero((feeds.arc[fed] >= 0) & (kind == MICROWAVE_KIND))
    parent[hop] = arcs.parent[feeds.arc[fed[hop]]]
    columns = feed_lookup(feed, fed, kind, level, cost, parent)
    period = np.full(feed.size, -1)
    period[columns[columns >= 0]] = feeds.period[fed][columns >= 0]
    # a level column is the sum of its site's microwave columns at its level
    levels = np.flatnonzero(feed.kind == LEVEL_KIND)
    site = feed.site[levels]
    by_hop = (feeds.kind[site] == MICROWAVE_KIND) & (feeds.level[site] == feed.level[levels])
    period[levels[by_hop]] = feeds.period[site[by_hop]]
    return period

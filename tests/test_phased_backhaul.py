"""Phased plans with backhaul (siting.optimize.phased_backhaul): the optimum against a brute
force over every build schedule and every feed, and the rules a schedule must keep."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp

from siting.errors import InfeasibleError
from siting.optimize import phased as phased_model
from siting.optimize.model import MipResult
from siting.optimize.phased_backhaul import solve_phased_with_backhaul
from test_backhaul_model import chain_ok

INF = math.inf


def _feed_choices(site, inst, on_air_period):
    """(kind, parent, cost, link row) feeds of ``site``: fiber, satellite, or a hop from a
    site on air no later than it."""
    choices = []
    if math.isfinite(inst["fiber"][site]):
        choices.append(("fiber", None, inst["fiber"][site], None))
    if math.isfinite(inst["sat"][site]):
        choices.append(("sat", None, inst["sat"][site], None))
    for row, (a, b, c) in enumerate(inst["links"]):
        other = b if site == a else a if site == b else None
        if other is not None and 0 <= on_air_period.get(other, -1) <= on_air_period[site]:
            choices.append(("mw", other, c, row))
    return choices


def _fed_within_budgets(period, inst, loads_fit=None):
    """Whether the sites of the build schedule ``period`` (per option, -1: never) can be
    fed, each from the period it goes on air, within every period's budget (and
    ``loads_fit(parent, link_of, on_air, period)``: the hops' loads, where given)."""
    periods = len(inst["budgets"])
    charged = ~inst["fixed"]  # an existing site charges no budget; its feed does
    spend = [inst["cost"][charged & (period == t)].sum() for t in range(periods)]
    on_air = {}
    for j in np.flatnonzero(period >= 0):
        s = inst["site"][j]
        on_air[s] = min(on_air.get(s, periods), period[j])
    sites = sorted(on_air)
    for combo in itertools.product(*[_feed_choices(s, inst, on_air) for s in sites]):
        parent = {s: p for s, (kind, p, _, _) in zip(sites, combo) if kind == "mw"}
        fiber_fed = {s for s, (kind, _, _, _) in zip(sites, combo) if kind == "fiber"}
        if not all(chain_ok(parent, s, fiber_fed, inst["H"]) for s in parent):
            continue
        total = list(spend)
        for s, (_, _, c, _) in zip(sites, combo):
            total[on_air[s]] += c
        link_of = {s: row for s, (kind, _, _, row) in zip(sites, combo) if kind == "mw"}
        if all(total[t] <= inst["budgets"][t] + 1e-9 for t in range(periods)) and (
                loads_fit is None or loads_fit(parent, link_of, on_air, period)):
            return True
    return False


def feedable_sites(inst):
    """Sites some backhaul could feed, budgets aside: fiber, satellite, or a chain of at
    most ``H`` hops to a fiber site through sites some year can afford."""
    possible = set(inst["site"][inst["fixed"] | (inst["cost"] <= max(inst["budgets"]))])
    level = {s for s in possible if math.isfinite(inst["fiber"][s])}
    reached = set(level)
    for _ in range(inst["H"]):
        level = {b if a in level else a for a, b, _ in inst["links"]
                 if {a, b} <= possible and (a in level or b in level)} - reached
        reached |= level
    return reached | {s for s in possible if math.isfinite(inst["sat"][s])}


def brute_force(inst, loads_fit=None):
    """Best people covered summed over the periods, over every build schedule whose sites
    can be fed within the budgets (and ``loads_fit``, as in :func:`_fed_within_budgets`);
    None when none covers the must rows by the deadline (a must row only options at sites
    nothing can feed cover is not asked for)."""
    A, periods = inst["A"], len(inst["budgets"])
    must = inst["must"] & A[:, np.isin(inst["site"], list(feedable_sites(inst)))].any(axis=1)
    best = None
    for schedule in itertools.product(range(-1, periods), repeat=A.shape[1]):
        period = np.array(schedule)
        if np.any(period[inst["fixed"]] != 0):  # on air from the start
            continue
        if any((~inst["fixed"] & (period == t)).sum() > inst["quotas"][t]
               for t in range(periods)):
            continue
        by_deadline = A[:, (period >= 0) & (period <= inst["must_by"])].sum(axis=1) > 0
        if np.any(must & ~by_deadline) or not _fed_within_budgets(period, inst, loads_fit):
            continue
        value = sum(inst["weight"][A[:, (period >= 0) & (period <= t)].sum(axis=1) > 0].sum()
                    for t in range(periods))
        best = value if best is None else max(best, value)
    return best


def random_instance(rng):
    """Four sites of one option each, two or three years, links, fiber and satellite."""
    n_sites, periods = 4, int(rng.integers(2, 4))
    A = (rng.random((6, n_sites)) < 0.4).astype(int)
    links = [(a, b, float(rng.integers(1, 4))) for a, b in itertools.combinations(range(n_sites), 2)
             if rng.random() < 0.5]
    fiber = np.where(rng.random(n_sites) < 0.5, rng.integers(2, 9, n_sites), INF).astype(float)
    must = np.zeros(6, bool)
    must[rng.integers(0, 6)] = True
    fixed = np.zeros(n_sites, bool)
    if rng.random() < 0.5:  # an existing site with fiber on site: a root
        fixed[0], fiber[0] = True, 0.0
    return {"A": A, "fixed": fixed, "cost": rng.integers(1, 6, n_sites).astype(float),
            "site": np.arange(n_sites), "fiber": fiber, "links": links,
            "sat": np.full(n_sites, 9.0 if rng.random() < 0.3 else INF),
            "H": int(rng.integers(1, 3)), "weight": rng.integers(0, 20, 6).astype(float),
            "budgets": [float(rng.integers(6, 14)) for _ in range(periods)],
            "quotas": [int(rng.integers(1, 3)) for _ in range(periods)],
            "must": must & A.any(axis=1), "must_by": int(rng.integers(0, periods))}


def solve(inst, **kwargs):
    a, b, c = zip(*inst["links"]) if inst["links"] else ((), (), ())
    links = {"site_a": np.array(a, np.int64), "site_b": np.array(b, np.int64),
             "cost_cny": np.array(c, float)}
    if "capacity" in inst:  # link capacity planned
        links["capacity_mbps"] = inst["capacity"]
        kwargs.setdefault("option_traffic_mbps", inst["traffic"])
    return solve_phased_with_backhaul(
        sp.csr_matrix(inst["A"]), inst["cost"], inst["weight"],
        period_budgets=inst["budgets"], period_quotas=inst["quotas"],
        must_cover=inst["must"], must_cover_by=inst["must_by"], site_of_option=inst["site"],
        fiber_cost_cny=inst["fiber"], links=links, satellite_cost_cny=inst["sat"],
        max_hops=inst["H"], fixed=inst.get("fixed"), **kwargs)


def check_schedule(res, inst):
    """Every site on air is fed from the period it goes on air, by a feeder on air by then,
    within the hop limit, and every period keeps to its budget, backhaul included."""
    feeds, period = res.feeds, res.phased.build_period
    on_air = np.flatnonzero(feeds.on_air)
    in_place = inst.get("in_place", np.zeros(len(inst["fiber"]), bool))
    for s in on_air:
        if feeds.backhaul[s] == "in_place":  # backhaul built before the plan
            assert in_place[s] and feeds.feed_period[s] == -1 and feeds.backhaul_cost_cny[s] == 0
            continue
        first = np.where(inst["fixed"], 0, period)[inst["site"] == s]
        if in_place[s]:  # a feed bought to relay, in any year
            assert feeds.feed_period[s] >= first[first >= 0].min()
        else:
            assert feeds.feed_period[s] == first[first >= 0].min()
        if feeds.backhaul[s] == "microwave":
            u = feeds.feeder_site[s]
            assert feeds.on_air[u] and feeds.feed_period[u] <= feeds.feed_period[s]
            assert feeds.hop_level[s] == feeds.hop_level[u] + 1 <= inst["H"]
    for t, limit in enumerate(inst["budgets"]):
        spent = (inst["cost"][~inst["fixed"] & (period == t)].sum()
                 + feeds.backhaul_cost_cny[feeds.feed_period == t].sum())
        assert spent <= limit + 1e-9


@pytest.mark.parametrize("seed", range(14))
def test_random_instances_match_brute_force(seed):
    inst = random_instance(np.random.default_rng(seed))
    expected = brute_force(inst)
    if expected is None:
        with pytest.raises(InfeasibleError):
            solve(inst)
        return
    res = solve(inst)
    assert res.phased.solution.objective == pytest.approx(expected)
    assert res.phased.solution.status == "optimal"
    check_schedule(res, inst)


def hand_instance(budgets, fiber_b):
    """Site 0 (cost 2) covers 10 people and has fiber for 1; site 1 (cost 2) covers 30
    people and only a hop from site 0 (cost 1) or its own fiber route (``fiber_b``)."""
    return {"A": np.array([[1, 0], [0, 1]]), "fixed": np.zeros(2, bool),
            "cost": np.array([2.0, 2.0]), "site": np.arange(2),
            "fiber": np.array([1.0, fiber_b]), "links": [(0, 1, 1.0)], "sat": np.full(2, INF),
            "H": 1, "weight": np.array([10.0, 30.0]), "budgets": budgets, "quotas": [2, 2],
            "must": np.zeros(2, bool), "must_by": 1}


def test_the_relay_goes_on_air_no_later_than_the_site_it_feeds():
    # the bigger site alone fits year one only with its dear fiber route; with budgets of 3
    # its hop needs the relay first: the relay in year one, the bigger site in year two
    res = solve(hand_instance([3.0, 3.0], fiber_b=INF))
    assert res.phased.build_period.tolist() == [0, 1]
    assert res.feeds.backhaul.tolist() == ["fiber", "microwave"]
    assert res.feeds.feed_period.tolist() == [0, 1]
    assert res.phased.solution.objective == pytest.approx(10 + 40)


def test_a_large_first_year_builds_both_and_feeds_by_the_hop():
    res = solve(hand_instance([6.0, 0.0], fiber_b=5.0))
    assert res.phased.build_period.tolist() == [0, 0]
    assert res.feeds.backhaul.tolist() == ["fiber", "microwave"]
    assert res.feeds.backhaul_cost_cny.tolist() == [1.0, 1.0]


def test_an_existing_site_is_fed_in_the_first_year():
    # option 0 is on air already and needs its fiber (4): the first year's budget pays it
    inst = hand_instance([4.0, 4.0], fiber_b=INF)
    inst["fiber"] = np.array([4.0, INF])
    inst["fixed"] = np.array([True, False])
    res = solve(inst)
    assert res.feeds.feed_period.tolist() == [0, 1]
    assert res.phased.build_period.tolist() == [-1, 1]
    # its fiber, its only feed, fits the first year's budget exactly (the existing site's own
    # cost, 2, is no year's), then passes it: the message says so, and what to mark
    inst["budgets"], inst["links"] = [4.0, 10.0], []
    assert solve(inst).feeds.feed_period.tolist() == [0, -1]
    inst["budgets"] = [3.0, 10.0]
    with pytest.raises(InfeasibleError) as raised:
        solve(inst)
    assert str(raised.value) == (
        "the 1 existing site(s) without fiber on site or backhaul in place must be fed, at "
        "least 4 CNY (each by its cheapest fiber route, microwave hop or satellite), which "
        "passes the first phase's budget of 3 CNY, from which they are fed; mark the existing "
        "sites that have fiber (has_fiber) or a feed already built (backhaul_in_place) in "
        "inputs.candidates, or raise the first phase's budget_cny in objective.phases")


def test_a_must_cover_row_backhaul_cannot_afford_says_so_in_words():
    """Site 1 must be on air by the first year, at 2 plus its hop (1) through site 0 (2 and
    fiber 1) or its own fiber (9): 6 at least, over the first year's 5. The message named
    the model's "side rows"; it names the backhaul rule."""
    inst = hand_instance([5.0, 5.0], fiber_b=9.0)
    inst["must"], inst["must_by"] = np.array([False, True]), 0
    with pytest.raises(InfeasibleError) as raised:
        solve(inst)
    assert str(raised.value) == (
        "no phased plan covers every must-cover row within the periods' budgets, quotas and "
        "the one-option-per-group rule, with the rows of its side columns (backhaul: every "
        "site on air fed from its phase, through relays on air by then)")


@pytest.mark.parametrize("greedy", [False, True])
def test_a_site_with_backhaul_in_place_is_fed_for_nothing_and_relays_with_a_feed(monkeypatch,
                                                                                  greedy):
    """Option 0 is on air with its backhaul in place (an as-built site), its fiber route
    dear (4): its backhaul costs nothing, and site 1 hangs off it only if it buys that
    route. Budgets of 3 a year: site 1 (2 + hop 1) in year one, off site 0's fiber, would
    pass the budget; so the plan builds site 1 on its own fiber (1) in year one. The greedy
    warm start (the MIP stopped before a plan) keeps the same rules."""
    inst = hand_instance([3.0, 3.0], fiber_b=1.0)
    inst["fiber"] = np.array([4.0, 1.0])
    inst["fixed"] = np.array([True, False])
    if greedy:
        stopped = MipResult(x=None, status="no_solution", objective=math.nan, bound=math.inf)
        monkeypatch.setattr(phased_model, "run_mip", lambda *args, **kwargs: stopped)
    inst["in_place"] = np.array([True, False])
    res = solve(inst, site_in_place=inst["in_place"])
    assert res.phased.build_period.tolist() == [-1, 0]
    assert res.feeds.backhaul.tolist() == ["in_place", "fiber"]
    assert res.feeds.backhaul_cost_cny.tolist() == [0.0, 1.0]
    assert res.feeds.feed_period.tolist() == [-1, 0]
    assert res.phased.solution.objective == pytest.approx(40 + 40)
    check_schedule(res, inst)


def test_a_site_with_backhaul_in_place_buys_its_relay_feed_in_the_year_it_relays():
    """As above, but site 1 has no fiber: it hangs off site 0, whose fiber (4) with site 1
    and the hop (3) passes year one's budget of 3: all three in year two."""
    inst = hand_instance([3.0, 10.0], fiber_b=INF)
    inst["fiber"] = np.array([4.0, INF])
    inst["fixed"] = np.array([True, False])
    inst["in_place"] = np.array([True, False])
    res = solve(inst, site_in_place=inst["in_place"])
    assert res.phased.build_period.tolist() == [-1, 1]
    assert res.feeds.backhaul.tolist() == ["fiber", "microwave"]
    assert res.feeds.feed_period.tolist() == [1, 1]
    assert res.phased.solution.objective == pytest.approx(10 + 40)
    check_schedule(res, inst)


@pytest.mark.parametrize("seed", range(14))
def test_the_greedy_warm_start_is_a_plan_of_the_model(monkeypatch, seed):
    """A MIP stopped before a plan of its own leaves the year-by-year greedy plan, which
    keeps every rule of the model (feeds from the year a site goes on air, feeders on air
    by then, the hop limit, each year's budget with backhaul)."""
    inst = random_instance(np.random.default_rng(seed))
    inst["must"][:] = False  # the greedy needs no must row to be a plan
    stopped = MipResult(x=None, status="no_solution", objective=math.nan, bound=math.inf)
    monkeypatch.setattr(phased_model, "run_mip", lambda *args, **kwargs: stopped)
    res = solve(inst)
    assert res.phased.solution.status == "time_limit"
    assert "the warm start is the plan" in " ".join(res.phased.solution.notes)
    check_schedule(res, inst)
    assert res.phased.solution.objective <= brute_force(inst) + 1e-9

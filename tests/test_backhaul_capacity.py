"""Link capacity in the joint plan of sites and backhaul (siting.optimize.backhaul with
``option_traffic_mbps``): each microwave hop carries the traffic of the site it feeds and of
every site that site relays, within the link's capacity. Checked against a brute force over
every selection of options and every feed of their sites, loads added up hop by hop."""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp

from siting.errors import InfeasibleError
from siting.optimize import kernel_search
from siting.optimize.backhaul import solve_with_backhaul
from test_backhaul_model import brute_force, check_feeds, random_instance

INF = math.inf


def _loads_fit(parent, link_of, traffic, capacity):
    """Whether every hop carries no more than its link's capacity: each site's traffic
    climbs its chain of hops (``parent``: site -> feeding site; ``link_of``: site -> the
    row of its link) and counts on every link it crosses."""
    load = dict.fromkeys(parent, 0.0)
    for s, mbps in traffic.items():
        here = s
        while here in parent:
            load[here] += mbps
            here = parent[here]
    return all(load[s] <= capacity[link_of[s]] + 1e-9 for s in parent)


def _feed_choices(s, on_air, inst):
    """Every feed of site ``s``: (kind, feeding site, cost, link row)."""
    in_place = inst.get("in_place", np.zeros(len(inst["fiber"]), bool))
    if not inst["needs"][s] and not in_place[s]:
        return [("own", None, 0.0, None)]
    opts = [("place", None, 0.0, None)] if in_place[s] else []
    if math.isfinite(inst["fiber"][s]):
        opts.append(("fiber", None, inst["fiber"][s], None))
    if math.isfinite(inst["sat"][s]):
        opts.append(("sat", None, inst["sat"][s], None))
    for row, (a, b, c) in enumerate(inst["links"]):
        other = b if s == a else a
        if s in (a, b) and other in on_air:
            opts.append(("mw", other, c, row))
    return opts


def cheapest_backhaul_within_capacity(traffic, inst):
    """Least backhaul cost of the on-air sites (``traffic``: sorted (site, own traffic
    [Mbit/s]) pairs) whose every site reaches fiber within the hop limit and whose every
    hop carries no more than its link's capacity; inf when none."""
    on_air = {s for s, _ in traffic}
    in_place = inst.get("in_place", np.zeros(len(inst["fiber"]), bool))
    own = {s: 0.0 if in_place[s] else mbps for s, mbps in traffic}
    sites = sorted(on_air)
    best = INF
    for combo in itertools.product(*(_feed_choices(s, on_air, inst) for s in sites)):
        cost = sum(c for _, _, c, _ in combo)
        if cost >= best:
            continue
        fiber_fed = {s for s, (k, _, _, _) in zip(sites, combo) if k in ("own", "fiber")}
        parent = {s: t for s, (k, t, _, _) in zip(sites, combo) if k == "mw"}
        link_of = {s: row for s, (k, _, _, row) in zip(sites, combo) if k == "mw"}
        if all(_reaches_fiber(parent, s, fiber_fed, inst["H"]) for s in parent) \
                and _loads_fit(parent, link_of, own, inst["capacity"]):
            best = cost
    return best


def _reaches_fiber(parent, site, fiber_fed, max_hops):
    hops, here = 0, site
    while here not in fiber_fed:
        if here not in parent or hops == max_hops:
            return False
        here, hops = parent[here], hops + 1
    return True


def capacity_instance(rng, objective):
    """A random instance of test_backhaul_model with one link per pair of sites, a capacity
    per link and a traffic per option, tight enough that capacity often binds."""
    inst = random_instance(rng, objective)
    seen, links = set(), []
    for a, b, c in inst["links"]:
        if frozenset((a, b)) not in seen:
            seen.add(frozenset((a, b)))
            links.append((a, b, c))
    inst["links"] = links
    inst["capacity"] = rng.integers(1, 7, len(links)).astype(float)
    inst["traffic"] = rng.integers(1, 5, len(inst["site"])).astype(float)
    return inst


def brute_force_with_capacity(inst, objective):
    site, traffic = inst["site"], inst["traffic"]
    bh = functools.lru_cache(maxsize=None)(
        lambda pairs: cheapest_backhaul_within_capacity(pairs, inst))

    def backhaul_cny(x):
        own = np.bincount(site[x], weights=traffic[x], minlength=len(inst["fiber"]))
        return bh(tuple((int(s), float(own[s])) for s in sorted(set(site[x]))))

    return brute_force(inst, objective, backhaul_cny)


def solve(inst, objective, **kwargs):
    a, b, c = zip(*inst["links"]) if inst["links"] else ((), (), ())
    links = {"site_a": np.array(a, np.int64), "site_b": np.array(b, np.int64),
             "cost_cny": np.array(c, float), "capacity_mbps": inst["capacity"]}
    return solve_with_backhaul(
        sp.csr_matrix(inst["A"].astype(np.int8)), inst["cost"], objective=objective,
        weight=inst["weight"], must_cover=inst["need"], budget=inst.get("budget"),
        max_options=inst.get("max_options"), fixed=inst["fixed"], groups=inst["groups"],
        site_of_option=inst["site"], fiber_cost_cny=inst["fiber"], links=links,
        satellite_cost_cny=inst["sat"], max_hops=inst["H"], site_needs_backhaul=inst["needs"],
        site_in_place=inst.get("in_place"), option_traffic_mbps=inst["traffic"], **kwargs)


def check_loads(res, inst):
    """Each hop's load, added up by hand from the plan's tree, is the reported one and
    within its link's capacity."""
    n_sites = len(inst["fiber"])
    own = np.bincount(inst["site"][res.solution.selected],
                      weights=inst["traffic"][res.solution.selected], minlength=n_sites)
    own[inst.get("in_place", np.zeros(n_sites, bool))] = 0.0
    load = own.copy()
    for s in np.flatnonzero(res.feeder_site >= 0):
        here = res.feeder_site[s]
        while here >= 0:
            load[here] += own[s]
            here = res.feeder_site[here]
    on_air = res.on_air
    np.testing.assert_allclose(res.carried_mbps[on_air], load[on_air])
    hops = np.flatnonzero(res.feeder_site >= 0)
    assert np.all(load[hops] <= inst["capacity"][res.feeder_link[hops]] + 1e-6)


@pytest.mark.parametrize("objective", ["min_cost", "max_coverage"])
@pytest.mark.parametrize("seed", range(20))
def test_random_instances_with_capacity_match_brute_force(objective, seed):
    inst = capacity_instance(np.random.default_rng([1812, seed, objective == "min_cost"]),
                             objective)
    ref = brute_force_with_capacity(inst, objective)
    if ref is None:
        with pytest.raises(InfeasibleError):
            solve(inst, objective)
        return
    res = solve(inst, objective)
    check_feeds(res, inst)
    check_loads(res, inst)
    people = inst["weight"][inst["A"][:, res.solution.selected].sum(axis=1) > 0].sum()
    first, second = ((res.total_cost_cny, people) if objective == "min_cost"
                     else (people, res.total_cost_cny))
    assert res.solution.status == "optimal"
    assert (first, second) == pytest.approx(ref[:2])


def test_capacity_binds_on_some_random_instances():
    """Capacity changes the optimum on some of the instances above: the test is not one of
    instances where it never binds."""
    changed = 0
    for seed in range(20):
        for objective in ("min_cost", "max_coverage"):
            inst = capacity_instance(np.random.default_rng([1812, seed, objective == "min_cost"]),
                                     objective)
            with_cap = brute_force_with_capacity(inst, objective)
            without = brute_force(inst, objective)
            changed += (None if with_cap is None else with_cap[:2]) != \
                (None if without is None else without[:2])
    assert changed >= 8


@pytest.mark.parametrize("objective", ["min_cost", "max_coverage"])
@pytest.mark.parametrize("seed", range(20))
def test_kernel_search_keeps_link_capacity(monkeypatch, objective, seed):
    """Kernel search (forced on tiny models: restricted models, plans carried between
    them, warm starts with their flows): a plan within every link's capacity, no better
    than the brute force optimum."""
    monkeypatch.setattr(kernel_search, "KERNEL_MIN_NNZ", 0)
    inst = capacity_instance(np.random.default_rng([1812, seed, objective == "min_cost"]),
                             objective)
    ref = brute_force_with_capacity(inst, objective)
    if ref is None:
        return
    res = solve(inst, objective, tie_break=False)
    check_feeds(res, inst)
    check_loads(res, inst)
    people = inst["weight"][inst["A"][:, res.solution.selected].sum(axis=1) > 0].sum()
    value = res.total_cost_cny if objective == "min_cost" else people
    sense = 1 if objective == "min_cost" else -1
    assert sense * value >= sense * ref[0] - 1e-6
    assert sense * res.solution.bound <= sense * ref[0] + 1e-6

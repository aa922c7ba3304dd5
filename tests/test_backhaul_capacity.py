"""Link capacity in the joint plan of sites and backhaul (siting.optimize.backhaul with
``option_traffic_mbps``): each microwave hop carries the traffic of the site it feeds and of
every site that site relays, within the link's capacity. Checked against a brute force over
every selection of options and every feed of their sites, loads added up hop by hop."""

from __future__ import annotations

import functools
import itertools
import math

import geopandas as gpd
import numpy as np
import pytest
import scipy.sparse as sp

import siting
from regions import planned_run
from siting.errors import InfeasibleError, ScenarioError
from siting.optimize import kernel_search
from siting.optimize.backhaul import solve_with_backhaul
from siting.pipeline import compute, write_outputs
from test_backhaul_model import brute_force, chain_ok, check_feeds, random_instance
from test_backhaul_plan import DEMO_BACKHAUL, sites_behind, write_backhaul_region

DEMO_CAPACITY = DEMO_BACKHAUL.with_name("scenario_backhaul_capacity.yaml")

INF = math.inf


def loads_fit(parent, link_of, traffic, capacity):
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
        if all(chain_ok(parent, s, fiber_fed, inst["H"]) for s in parent) \
                and loads_fit(parent, link_of, own, inst["capacity"]):
            best = cost
    return best


def capacity_instance(rng, objective):
    """A random instance of test_backhaul_model (sometimes two links, two bands, on one
    pair of sites) with a capacity per link and a traffic per option, tight enough that
    capacity often binds."""
    inst = random_instance(rng, objective)
    inst["capacity"] = rng.integers(1, 7, len(inst["links"])).astype(float)
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
    assert changed >= 5


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


def own_traffic_mbps(sites, technologies, traffic_mbps: dict) -> dict:
    """Each site on air's own traffic [Mbit/s] (``sites``: a site layer; with a ``selected``
    column, only those selected): that of every generation of its technologies
    ("4G-1800+5G-3500": both)."""
    generation = {t.name: t.generation for t in technologies}
    on_air = sites["selected"] if "selected" in sites else [True] * len(sites)
    return {site: sum(traffic_mbps[generation[name]] for name in names.split("+"))
            for site, names, selected in zip(sites["site_id"], sites["technology"], on_air)
            if selected}


def loads_by_hand(links, own: dict) -> dict:
    """Each link's load [Mbit/s]: every site's own traffic climbing its chain of feeders
    (``links``: the backhaul_links layer)."""
    feeder = dict(zip(links["from_id"], links["to_id"]))
    load = dict.fromkeys(feeder, 0.0)
    for site, mbps in own.items():
        while site in load:
            load[site] += mbps
            site = feeder[site]
    return load


def capacity_region(folder, traffic):
    """test_backhaul_plan's tiny ridge region, where C4 is fed by one hop from E1: the
    cheap band (23 GHz) carries 100 Mbit/s, the dear one (15 GHz) 400."""
    bands = [{"band_ghz": 15, "max_hop_m": 25000, "cost_cny": 120000, "capacity_mbps": 400},
             {"band_ghz": 23, "max_hop_m": 12000, "cost_cny": 90000, "capacity_mbps": 100}]
    return write_backhaul_region(folder, backhaul={
        "enabled": True, "max_microwave_hops": 2, "microwave": bands,
        "site_traffic_mbps": traffic})


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """The tiny region planned without and with link capacity (4G 150, 5G 600 Mbit/s)."""
    outputs = {}
    for name, traffic in (("free", None), ("capacity", {"4G": 150, "5G": 600})):
        folder = tmp_path_factory.mktemp(name)
        run = compute(siting.load_scenario(capacity_region(folder / "region", traffic)))
        outputs[name] = run, write_outputs(run, folder / "out"), folder / "out"
    return outputs


def test_a_hop_too_small_for_its_site_gives_way_to_a_band_that_carries_it(planned):
    free = gpd.read_file(planned["free"][2] / "sites.gpkg", layer="backhaul_links")
    capacity = gpd.read_file(planned["capacity"][2] / "sites.gpkg", layer="backhaul_links")
    assert free.set_index("from_id").loc["C4", "band_ghz"] == 23  # the cheap band, 100 Mbit/s
    hop = capacity.set_index("from_id").loc["C4"]
    assert (hop["kind"], hop["band_ghz"], hop["load_mbps"], hop["capacity_mbps"]) == \
        ("microwave", 15, 150, 400)
    assert free["load_mbps"].isna().all()


def test_each_links_load_is_its_sites_traffic_and_all_it_relays(planned):
    """Loads added up by hand from the layers: each selected site's traffic (by the
    generations of its technologies) climbs its chain of links, within their capacity;
    summary.json and the report say capacity is planned and name the fullest hop."""
    run, summary, out = planned["capacity"]
    links = gpd.read_file(out / "sites.gpkg", layer="backhaul_links")
    sites = gpd.read_file(out / "sites.gpkg", layer="selected_sites")
    traffic = {"4G": 150.0, "5G": 600.0}
    load = loads_by_hand(links, own_traffic_mbps(sites, run.scenario.technologies, traffic))
    np.testing.assert_allclose(links.set_index("from_id")["load_mbps"].loc[list(load)],
                               list(load.values()))
    hops = links[links["kind"] == "microwave"]
    assert (hops["load_mbps"] <= hops["capacity_mbps"]).all()
    facts = summary["backhaul"]
    assert facts["site_traffic_mbps"] == traffic
    fullest = facts["relays"]["fullest_hop"]
    assert (fullest["from_id"], fullest["load_mbps"], fullest["capacity_mbps"]) == ("C4", 150, 400)
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "Link capacity is planned: each site puts 4G 150 Mbit/s, 5G 600 Mbit/s" in report
    assert "The fullest hop, C4-E1 (15 GHz), carries 150 of its 400 Mbit/s." in report
    assert "| load [Mbit/s] | capacity [Mbit/s] |" in report


@pytest.mark.parametrize("traffic, message", [
    ({"4G": 150}, "gives no traffic for 5G"), ({"4G": 150, "6G": 9}, "keys are generations"),
    ({"4G": 150, "5G": 0}, "must be > 0")])
def test_bad_site_traffic_is_named(tmp_path, traffic, message):
    with pytest.raises(ScenarioError, match=message):
        siting.load_scenario(capacity_region(tmp_path, traffic))


@pytest.fixture(scope="module")
def demo_capacity(tmp_path_factory):
    """The backhaul demo with link capacity planned (``scenario_backhaul_capacity.yaml``)."""
    return planned_run(DEMO_CAPACITY, tmp_path_factory.mktemp("demo_capacity"))


def test_the_demos_hops_carry_their_traffic_within_capacity_and_the_relays_are_named(
        demo_capacity):
    # the demo with link capacity (4G 150, 5G 600 Mbit/s): every hop's load, added up by
    # hand from the layers, is within its band's capacity; the relays are named as well
    run, summary, out = demo_capacity
    links = gpd.read_file(out / "sites.gpkg", layer="backhaul_links")
    sites = gpd.read_file(out / "sites.gpkg", layer="selected_sites")
    traffic = summary["backhaul"]["site_traffic_mbps"]
    assert traffic == {"4G": 150.0, "5G": 600.0}
    load = loads_by_hand(links, own_traffic_mbps(sites, run.scenario.technologies, traffic))
    got = links.set_index("from_id")["load_mbps"]
    np.testing.assert_allclose(got.loc[list(load)], list(load.values()))
    hops = links[links["kind"] == "microwave"]
    assert len(hops) > 20 and (hops["load_mbps"] <= hops["capacity_mbps"]).all()
    carried = {site: sites_behind(hops, site) for site in hops["from_id"]}
    relays = summary["backhaul"]["relays"]
    assert relays["busiest_hop"]["sites_carried"] == max(carried.values())
    assert relays["busiest_relay"]["hops"] == hops["to_id"].value_counts().max()
    fullest = relays["fullest_hop"]
    share = hops["load_mbps"] / hops["capacity_mbps"]
    assert fullest["load_mbps"] / fullest["capacity_mbps"] == pytest.approx(share.max())
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "Link capacity is planned: each site puts 4G 150 Mbit/s, 5G 600 Mbit/s" in report
    assert (f"The fullest hop, {fullest['from_id']}-{fullest['to_id']} "
            f"({fullest['band_ghz']:g} GHz), carries {fullest['load_mbps']:,.0f} of its "
            f"{fullest['capacity_mbps']:,.0f} Mbit/s." in report)

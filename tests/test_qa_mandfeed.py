"""``backhaul.mandatory_feed: terrestrial``: the prefecture's rule "4G and 5G for every
remote village, with fiber behind them". A mandatory point counts as covered only by an
option whose site is fed by fiber or by microwave hops ending on fiber (or needs no feed),
never by a satellite-fed one; people still count as covered by any site. Plans are checked
against a brute force over every choice of options and of each site's feed."""

from __future__ import annotations

import itertools
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import siting
from regions import candidate, village, write_region
from siting.backhaul.network import BackhaulNetwork
from siting.cli import app
from siting.config import Objective, Phase, load_scenario
from siting.errors import ScenarioError
from siting.export.i18n import reason_key, stage_text, value_text
from siting.optimize import kernel_search, phased
from siting.optimize.phased import on_air_through
from siting.plan import plan_network
from test_backhaul_plan import write_backhaul_region
from test_qa_mission2 import (SOLVER, instance_costs, instance_coverage, instance_demand,
                              option_choices, random_instance)

ANY = ("any",)
SATELLITE_CNY_PER_YEAR = 0.2  # over opex_years 5: 1 CNY a site, cheaper than any fiber
OPEX_YEARS = 5.0


def _network(fiber_cny: np.ndarray, links: list[tuple[int, int, float]], *,
             mandatory_feed: str = "terrestrial", max_hops: int = 1) -> BackhaulNetwork:
    """Sites fed by their fiber route (inf: none), the microwave ``links`` (site_a, site_b,
    cost) or satellite (1 CNY over the plan); the last site has fiber on site."""
    n_sites = fiber_cny.size
    fiber = gpd.GeoDataFrame({"fiber_node_id": ["F"] * n_sites, "cost_cny": fiber_cny,
                              "length_m": [100.0] * n_sites}, geometry=[None] * n_sites)
    a, b, cost = (np.array(v) for v in zip(*links)) if links else ([], [], [])
    frame = pd.DataFrame({"site_a": pd.Series(a, dtype=int), "site_b": pd.Series(b, dtype=int),
                          "band_ghz": 15.0, "distance_m": 1000.0, "min_clearance_f1": 1.0,
                          "cost_cny": pd.Series(cost, dtype=float)})
    needs = np.ones(n_sites, bool)
    needs[-1] = False
    return BackhaulNetwork(fiber=fiber, needs_backhaul=needs, in_place=np.zeros(n_sites, bool),
                           links=frame, satellite_cny_per_year=SATELLITE_CNY_PER_YEAR,
                           max_hops=max_hops, mandatory_feed=mandatory_feed)


def _plan(inst, objective, network, generations=ANY):
    return plan_network(instance_coverage(inst), instance_demand(inst, generations),
                        instance_costs(inst), objective, SOLVER, backhaul=network)


# --- the brute force: every choice of options, every feed of each site on air


def _feeds(network: BackhaulNetwork, on_air: np.ndarray):
    """Every feed of the sites ``on_air`` within one hop: (cost, bool per site: fed by
    satellite), each site fed by fiber, satellite or a hop from a site on air fed by fiber."""
    sites = np.flatnonzero(on_air & network.needs_backhaul)
    fiber = network.fiber["cost_cny"].to_numpy(float)
    hop = {}
    for a, b, cost in network.links[["site_a", "site_b", "cost_cny"]].itertuples(index=False):
        hop[(a, b)] = hop[(b, a)] = min(cost, hop.get((a, b), np.inf))
    offers = [["fiber", "satellite", *[t for t in np.flatnonzero(on_air) if (s, t) in hop]]
              for s in sites]
    for pick in itertools.product(*offers):
        kind = dict(zip(sites.tolist(), pick))
        by_fiber = {s for s in np.flatnonzero(on_air) if kind.get(s, "fiber") == "fiber"}
        if any(k not in ("fiber", "satellite") and k not in by_fiber for k in pick):
            continue  # a hop's parent must be fed by fiber (one hop at most)
        cost = sum(fiber[s] if k == "fiber" else SATELLITE_CNY_PER_YEAR * OPEX_YEARS
                   if k == "satellite" else hop[(s, k)] for s, k in kind.items())
        satellite = np.zeros(on_air.size, bool)
        satellite[[s for s, k in kind.items() if k == "satellite"]] = True
        if np.isfinite(cost):
            yield cost, satellite


def _score(inst, chosen, satellite, generations=ANY) -> tuple[int, float]:
    """(needs met, people covered) of the options ``chosen``, a mandatory need met only by
    an option at a site not fed by satellite."""
    x = np.zeros(len(inst["cost"]), bool)
    x[chosen] = True
    ground = x & ~satellite[inst["site"]]
    met = 0
    for row in np.flatnonzero(inst["mandatory"]):
        for generation in generations:
            of = (inst["generation"] == generation) | (generation == "any")
            met += bool((inst["cover"][row] & of & ground).any())
    return met, float(inst["people"][inst["cover"][:, x].any(axis=1)].sum())


def _plans(inst, network, generations=ANY):
    """(needs met, people, cost) of every plan: options and the feeds of their sites."""
    for chosen in option_choices(inst):
        on_air = np.zeros(len(network.needs_backhaul), bool)
        on_air[inst["site"][chosen]] = True
        for feed_cny, satellite in _feeds(network, on_air):
            met, people = _score(inst, chosen, satellite, generations)
            yield met, people, float(inst["cost"][chosen].sum()) + feed_cny


def _brute_min_cost(inst, network, generations=ANY) -> tuple[int, float, float]:
    """(needs met, people, cost): the most needs met, at least cost, then the most people."""
    best = min((-m, c, -p) for m, p, c in _plans(inst, network, generations))
    return -best[0], -best[2], best[1]


def _brute_max_coverage(inst, network, budget) -> tuple[int, float, float]:
    """(needs met, people, cost): the most needs met, then people, at least cost, within
    ``budget``."""
    best = max((m, p, -c) for m, p, c in _plans(inst, network) if c <= budget + 1e-9)
    return best[0], best[1], -best[2]


def _plan_score(inst, plan, generations=ANY) -> tuple[int, float, float]:
    """(needs met, people, cost with backhaul) of a plan, as the brute force scores it."""
    satellite = plan.backhaul.feeds.backhaul == "satellite"
    met, people = _score(inst, plan.selected, satellite, generations)
    return met, people, float(inst["cost"][plan.selected].sum()
                              + plan.backhaul.feeds.total_backhaul_cny)


def _random_network(seed: int, **kwargs) -> BackhaulNetwork:
    """Fiber 3-11 CNY a site (none at two sites), satellite 1, two links of 1-5 CNY; under
    ``terrestrial`` seeds 0 and 4 cost more than under ``any``."""
    rng = np.random.default_rng(100 + seed)
    fiber = rng.integers(3, 12, 5).astype(float)
    fiber[rng.choice(4, 2, replace=False)] = np.inf
    fiber[-1] = 0.0
    links = [(0, 4, float(rng.integers(2, 6))), (1, 2, float(rng.integers(1, 4)))]
    return _network(fiber, links, **kwargs)


@pytest.mark.parametrize("seed", range(6))
def test_min_cost_plans_feed_mandatory_sites_on_the_ground_at_brute_force_cost(seed):
    inst = random_instance(seed)
    network = _random_network(seed)
    plan = _plan(inst, Objective(kind="min_cost", opex_years=OPEX_YEARS), network)
    assert _plan_score(inst, plan) == pytest.approx(_brute_min_cost(inst, network))


@pytest.mark.parametrize("seed", [0, 1, 4])
def test_a_short_budget_meets_the_most_mandatory_points_on_the_ground_then_people(seed):
    inst = random_instance(seed)
    network = _random_network(seed)
    budget = _brute_min_cost(inst, network)[1] - 1.0
    plan = _plan(inst, Objective(kind="max_coverage", budget_cny=budget, opex_years=OPEX_YEARS),
                 network)
    assert _plan_score(inst, plan) == pytest.approx(_brute_max_coverage(inst, network, budget))


@pytest.mark.parametrize("seed", [0, 4])
def test_each_listed_generation_is_met_on_the_ground(seed):
    inst = random_instance(seed)
    network = _random_network(seed)
    both = ("4G", "5G")
    plan = _plan(inst, Objective(kind="min_cost", opex_years=OPEX_YEARS), network, both)
    assert _plan_score(inst, plan, both) == pytest.approx(_brute_min_cost(inst, network, both))


@pytest.mark.parametrize("seed", [0, 4])
def test_kernel_search_keeps_the_rule(monkeypatch, seed):
    """Kernel search forced on the tiny model, its first kernel the warm start's sites
    alone and then one bucket of every site: its restricted MIPs keep the rule, and the plan
    is the brute-force optimum."""
    monkeypatch.setattr(kernel_search, "KERNEL_MIN_NNZ", 0)
    monkeypatch.setattr(kernel_search, "KERNEL_WIDTH", 1)
    monkeypatch.setattr(kernel_search, "LP_USED", 2.0)
    monkeypatch.setattr(kernel_search, "KERNEL_BUCKET_SITES", 100)
    inst = random_instance(seed)
    network = _random_network(seed)
    plan = _plan(inst, Objective(kind="min_cost", opex_years=OPEX_YEARS), network)
    assert any(note.startswith("kernel search: LP bound") for note in plan.solution.notes)
    assert any(note.startswith("terrestrial backhaul") for note in plan.solution.notes)
    assert _plan_score(inst, plan) == pytest.approx(_brute_min_cost(inst, network))


@pytest.mark.parametrize("seed", [0, 4])
def test_link_capacity_planned_keeps_the_rule(seed):
    """With link capacity planned (hops of ample capacity: the flows' rows bind nothing)
    the model has link flows beside the rule's columns, and the plan is the brute-force
    optimum."""
    inst = random_instance(seed)
    plain = _random_network(seed)
    network = replace(plain, traffic_mbps={"4G": 150.0, "5G": 600.0},
                      links=plain.links.assign(capacity_mbps=10_000.0))
    plan = _plan(inst, Objective(kind="min_cost", opex_years=OPEX_YEARS), network)
    assert any(note.startswith("link capacity:") for note in plan.solution.notes)
    assert any(note.startswith("terrestrial backhaul") for note in plan.solution.notes)
    assert _plan_score(inst, plan) == pytest.approx(_brute_min_cost(inst, network))


# --- a village, two sites: the cheap one is cheapest fed by satellite


def _village_and_two_sites() -> dict:
    """One mandatory village (row 0) and a people cell (row 1). Site 0 (1 CNY) covers both,
    its fiber costs 10; site 1 (3 CNY) covers the village, its fiber costs 2; site 2 has
    fiber on site and covers nothing."""
    return dict(cover=np.array([[True, True, False], [True, False, False]]),
                generation=np.array(["4G", "4G", "4G"], dtype=object), site=np.array([0, 1, 2]),
                fixed=np.array([False, False, True]), cost=np.array([1.0, 3.0, 0.0]),
                group=np.array([0, 1, -1]), new_site=np.array([True, True, False]),
                mandatory=np.array([True, False]), people=np.array([50.0, 80.0]))


def test_terrestrial_forces_a_dearer_fiber_fed_site_over_a_satellite_fed_one():
    """``any``: site 0 on satellite (2 CNY) covers the village; ``terrestrial``: that
    village needs a site fed by fiber, and site 1 on fiber (5 CNY) beats site 0 on fiber
    (11 CNY); both at the brute-force optimum."""
    inst = _village_and_two_sites()
    fiber = np.array([10.0, 2.0, 0.0])
    objective = Objective(kind="min_cost", opex_years=OPEX_YEARS)
    for feed, site, cost in (("any", 0, 2.0), ("terrestrial", 1, 5.0)):
        network = _network(fiber, [], mandatory_feed=feed)
        plan = _plan(inst, objective, network)
        assert plan.new_options.tolist() == [site]
        assert _plan_score(inst, plan)[2] == pytest.approx(cost)
        assert plan.uncovered_reason[0] == ""
        # the warm start, the sites-first plan fed on the ground where the rule asks, holds
        assert any(n.startswith("warm start: the sites-first plan") for n in plan.solution.notes)
        assert not any(n.startswith("warm start dropped") for n in plan.solution.notes)
    assert _brute_min_cost(inst, network) == pytest.approx((1, 50.0, 5.0))


def test_terrestrial_takes_a_microwave_hop_to_fiber():
    """Site 0 links to the fiber site 2 for 1 CNY: fed by that hop, it serves the village
    for 2 CNY, cheaper than site 1 on fiber."""
    inst = _village_and_two_sites()
    network = _network(np.array([10.0, 2.0, 0.0]), [(0, 2, 1.0)])
    plan = _plan(inst, Objective(kind="min_cost", opex_years=OPEX_YEARS), network)
    assert plan.new_options.tolist() == [0]
    assert plan.backhaul.feeds.backhaul[0] == "microwave"
    assert _plan_score(inst, plan) == pytest.approx(_brute_min_cost(inst, network))


def test_a_satellite_fed_site_still_covers_people():
    """max_coverage with 2 CNY: the village needs site 1 on fiber (5 CNY), over the budget;
    site 0 on satellite covers the people cell and the village's people, and the village
    is reported as only a satellite-fed site could serve it within the budget."""
    inst = _village_and_two_sites()
    network = _network(np.array([10.0, 2.0, 0.0]), [])
    plan = _plan(inst, Objective(kind="max_coverage", budget_cny=2.0, opex_years=OPEX_YEARS),
                 network)
    assert plan.new_options.tolist() == [0]
    assert plan.backhaul.feeds.backhaul[0] == "satellite"
    assert plan.covered_after.all()
    assert plan.uncovered_reason[0] != ""
    assert reason_key(plan.uncovered_reason[0]) == "over_budget_fed"
    assert "(fiber)" in plan.uncovered_reason[0]


def test_a_village_only_a_satellite_fed_site_reaches_is_told_why():
    """Site 1 has no fiber route and no link: only satellite can feed it, and it alone
    reaches the second village. The plan covers the first on the ground and reports the
    second with the new reason, in English and Chinese."""
    inst = dict(_village_and_two_sites(), cover=np.array([[True, False, False],
                                                          [False, True, False]]),
                mandatory=np.array([True, True]))
    network = _network(np.array([10.0, np.inf, 0.0]), [])
    plan = _plan(inst, Objective(kind="min_cost", opex_years=OPEX_YEARS), network)
    assert plan.uncovered_reason[0] == ""
    assert plan.uncovered_reason[1] == (
        "only a satellite-fed site reaches it: no fiber route or microwave chain of at most "
        "1 hops can feed a site that would cover it")
    assert reason_key(plan.uncovered_reason[1]) == "no_terrestrial_feed"
    assert value_text("reason", plan.uncovered_reason[1], "zh") == (
        "只有卫星传输的站址能覆盖该处：可覆盖该处的站址均无光纤路由，也无 1 跳以内的微波链路")
    assert _plan_score(inst, plan) == pytest.approx(_brute_min_cost(inst, network))


@pytest.mark.parametrize("seed", [0, 4])
def test_any_gives_the_plan_of_no_setting(seed):
    """``mandatory_feed: any`` is the default: the same plan, feeds and cost as a network
    made without the setting."""
    inst = random_instance(seed)
    objective = Objective(kind="min_cost", opex_years=OPEX_YEARS)
    default = _random_network(seed, mandatory_feed="any")
    plain = BackhaulNetwork(fiber=default.fiber, needs_backhaul=default.needs_backhaul,
                            in_place=default.in_place, links=default.links,
                            satellite_cny_per_year=SATELLITE_CNY_PER_YEAR, max_hops=1)
    one, two = _plan(inst, objective, plain), _plan(inst, objective, default)
    assert one.selected.tolist() == two.selected.tolist()
    assert one.backhaul.feeds.backhaul.tolist() == two.backhaul.feeds.backhaul.tolist()
    assert one.stages == two.stages
    assert _plan_score(inst, one) == _plan_score(inst, two)


# --- a phased plan


@pytest.fixture
def mip_starts(monkeypatch) -> list:
    """The warm start of each phased MIP solved (None: none), in order."""
    starts = []
    solve = phased.run_mip

    def spy(mip, **settings):
        starts.append(settings["start"])
        return solve(mip, **settings)

    monkeypatch.setattr(phased, "run_mip", spy)
    return starts


def test_a_phased_plan_feeds_mandatory_sites_on_the_ground_by_the_deadline(mip_starts):
    """Two years; the village by the first: site 1 on fiber, not site 0 on satellite. The
    greedy warm start, which counts the village only at a site fed on the ground and spends
    the first year on it before the people cell, is a plan of the model."""
    inst = _village_and_two_sites()
    network = _network(np.array([10.0, 2.0, 0.0]), [])
    objective = Objective(kind="max_coverage", opex_years=OPEX_YEARS,
                          phases=(Phase("2027", budget_cny=6.0), Phase("2028", budget_cny=6.0)),
                          mandatory_by="2027")
    plan = _plan(inst, objective, network)
    by_2027 = on_air_through(np.flatnonzero(inst["fixed"]), plan.build_period, 0)
    assert 1 in by_2027.tolist()
    assert plan.backhaul.feeds.backhaul[1] == "fiber"
    assert plan.uncovered_reason[0] == ""
    assert mip_starts and mip_starts[0] is not None


def test_the_phased_warm_start_feeds_the_village_site_on_the_ground(mip_starts):
    """Only site 0 covers the village and the people cell; satellite (1 CNY) is its
    cheapest feed, fiber (10 CNY) the only one on the ground. The year-by-year greedy warm
    start feeds it by fiber, since the village counts only so: the model accepts that
    start (a satellite-fed site 0 would leave the village short by the deadline, and the
    MIP would start without one)."""
    inst = dict(_village_and_two_sites(), cover=np.array([[True, False, False],
                                                          [True, False, False]]))
    network = _network(np.array([10.0, 2.0, 0.0]), [])
    objective = Objective(kind="max_coverage", opex_years=OPEX_YEARS,
                          phases=(Phase("2027", budget_cny=12.0), Phase("2028", budget_cny=12.0)),
                          mandatory_by="2027")
    plan = _plan(inst, objective, network)
    assert mip_starts and mip_starts[0] is not None
    assert plan.build_period[0] == 0
    assert plan.backhaul.feeds.backhaul[0] == "fiber"
    assert plan.uncovered_reason[0] == ""


def _met_by(inst, plan, phase: int) -> int:
    """Needs met on the ground by the end of ``phase`` (0-based) of a phased plan."""
    on_air = on_air_through(np.flatnonzero(inst["fixed"]), plan.build_period, phase)
    return _score(inst, on_air, plan.backhaul.feeds.backhaul == "satellite")[0]


@pytest.mark.parametrize("seed", [0, 4])
def test_a_phased_plan_meets_every_need_on_the_ground_by_the_deadline(seed):
    inst = random_instance(seed)
    network = _random_network(seed)
    objective = Objective(kind="max_coverage", opex_years=OPEX_YEARS,
                          phases=(Phase("2027", budget_cny=100.0),
                                  Phase("2028", budget_cny=100.0)), mandatory_by="2027")
    plan = _plan(inst, objective, network)
    assert _met_by(inst, plan, 0) == _brute_min_cost(inst, network)[0]
    assert (plan.uncovered_reason != "").sum() == int(inst["mandatory"].sum()) - _met_by(
        inst, plan, 0)


@pytest.mark.parametrize("seed", [0, 1, 4])
def test_a_phased_plan_short_of_money_meets_the_most_needs_on_the_ground_by_then(seed):
    """The first year's budget cannot meet every need on the ground: by its end the plan
    meets as many as any choice of sites and feeds within that budget does."""
    inst = random_instance(seed)
    network = _random_network(seed)
    first_year_cny = _brute_min_cost(inst, network)[2] - 1.0
    objective = Objective(kind="max_coverage", opex_years=OPEX_YEARS,
                          phases=(Phase("2027", budget_cny=first_year_cny),
                                  Phase("2028", budget_cny=100.0)), mandatory_by="2027")
    plan = _plan(inst, objective, network)
    assert _met_by(inst, plan, 0) == _brute_max_coverage(inst, network, first_year_cny)[0]


# --- the scenario key


def _with_feed(scenario, value) -> None:
    """Write ``scenario`` with ``backhaul.mandatory_feed`` set to ``value``."""
    doc = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    doc["backhaul"] = {"mandatory_feed": value}
    scenario.write_text(yaml.safe_dump(doc), encoding="utf-8")


def test_the_key_is_read_and_a_bad_value_refused(tmp_path):
    scenario = write_region(tmp_path, np.full((20, 20), 400.0), [village("V1", 100, 100)],
                            [candidate("C1", 200, 200)])
    assert load_scenario(scenario).backhaul.mandatory_feed == "any"
    _with_feed(scenario, "terrestrial")
    assert load_scenario(scenario).backhaul.mandatory_feed == "terrestrial"
    _with_feed(scenario, "fibre")
    with pytest.raises(ScenarioError, match=r"backhaul\.mandatory_feed.*must be one of any, "
                                            r"terrestrial, got 'fibre'"):
        load_scenario(scenario)
    result = CliRunner().invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "backhaul.mandatory_feed" in result.stderr and "Traceback" not in result.stderr


# --- a region: the study switches the rule, the outputs give the reason


def test_a_region_where_only_satellite_feeds_new_sites_reports_the_villages(tmp_path):
    """The ridge region with every fiber route and link cut but the existing site's: new
    sites can be fed by satellite only. ``study.plan(backhaul={"mandatory_feed":
    "terrestrial"})`` keeps the study's network (its routes are not made again) and leaves
    the villages only new sites reach uncovered as mandatory points, with the new reason in
    summary.json, while the people a satellite-fed site covers still count (the most people
    within an ample budget: the same as under ``any``)."""
    study = siting.prepare(write_backhaul_region(tmp_path, backhaul={
        "enabled": True, "max_microwave_hops": 2, "satellite_cny_per_year": 1.0}))
    network = study.backhaul
    fiber = network.fiber.assign(cost_cny=np.where(network.needs_backhaul, np.inf, 0.0))
    study = replace(study, backhaul=replace(network, fiber=fiber, links=network.links.iloc[:0]))
    most_people = {"type": "max_coverage", "budget_cny": 1e7}
    anyway = study.plan(**most_people)
    ground = study.plan(**most_people, backhaul={"mandatory_feed": "terrestrial"})
    assert ground.plan.backhaul.network.fiber is fiber  # the study's network, not made again
    assert "satellite" in set(anyway.sites["backhaul"])
    lost = [v for v in ground.summary()["uncovered_mandatory_villages"]
            if v["reason_key"] == "no_terrestrial_feed"]
    assert lost and all(v["reason"] == "only a satellite-fed site reaches it: no fiber route "
                        "or microwave chain of at most 2 hops can feed a site that would cover it"
                        for v in lost)
    assert ground.kpis.mandatory_villages_covered == (
        anyway.kpis.mandatory_villages_covered - len(lost))
    assert ground.kpis.people_covered_after == pytest.approx(anyway.kpis.people_covered_after)


def test_the_first_stage_says_so_in_both_languages():
    inst = _village_and_two_sites()
    plan = _plan(inst, Objective(kind="min_cost", opex_years=OPEX_YEARS),
                 _network(np.array([10.0, 2.0, 0.0]), []))
    assert plan.stages[0] == ("cover every reachable mandatory point at least cost, every site "
                              "on air fed by fiber, by up to 1 microwave hops or by satellite "
                              "(a mandatory point only by a site not fed by satellite)")
    assert stage_text(plan.stages[0], "zh") == (
        "以最低成本覆盖全部可覆盖的必覆盖点，每个在网站址均由光纤、不超过 1 跳的微波或卫星接入传输"
        "（必覆盖点只计不经卫星接入传输的站址）")

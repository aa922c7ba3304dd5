"""Link capacity in phased plans with backhaul (siting.optimize.phased_backhaul with
``option_traffic_mbps``): in every year, each hop built by then carries the traffic of the
sites it feeds and relays that are on air that year (an upgraded site's both generations),
within its link's capacity. Checked against test_phased_backhaul's brute force over every
build schedule and feed, loads added up hop by hop in every year."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import yaml

import siting
from siting.errors import InfeasibleError
from siting.optimize import phased as phased_model
from siting.optimize.model import MipResult
from siting.pipeline import compute, write_outputs
from siting.export.gis import as_tables_hold
from test_backhaul_capacity import capacity_region, loads_by_hand, loads_fit
from test_backhaul_plan import DEMO_BACKHAUL
from test_phased_backhaul import INF, brute_force, check_schedule, random_instance, solve


def own_by_period(inst, period, t):
    """Per site, the traffic of its options on air by the end of year ``t`` [Mbit/s]
    (``period``: per option, -1 never; an existing option is on air from the first)."""
    on = inst["fixed"] | ((period >= 0) & (period <= t))
    own = {}
    for j in np.flatnonzero(on):
        own[inst["site"][j]] = own.get(inst["site"][j], 0.0) + inst["traffic"][j]
    return own


def loads_fit_every_year(inst):
    """``loads_fit`` of the brute force: in every year, the hops of the sites on air then
    (``on_air``: site -> the year it goes on air) within their links' capacity."""
    def fits(parent, link_of, on_air, period):
        for t in range(len(inst["budgets"])):
            hops = {s: p for s, p in parent.items() if on_air[s] <= t}
            if not loads_fit(hops, link_of, own_by_period(inst, period, t), inst["capacity"]):
                return False
        return True
    return fits


def capacity_instance(rng):
    """test_phased_backhaul's random instance plus a fifth option, a second generation at
    one of its sites (an upgrade, which adds its traffic when built), sometimes a second,
    dearer band of more capacity on a link, a capacity per link and a traffic per option,
    tight enough that capacity often binds."""
    inst = random_instance(rng)
    site = int(rng.integers(0, 4))
    inst["A"] = np.column_stack([inst["A"], rng.random(inst["A"].shape[0]) < 0.3]).astype(int)
    inst["site"] = np.append(inst["site"], site)
    inst["fixed"] = np.append(inst["fixed"], False)
    inst["cost"] = np.append(inst["cost"], float(rng.integers(1, 4)))
    if inst["links"] and rng.random() < 0.5:
        a, b, c = inst["links"][int(rng.integers(0, len(inst["links"])))]
        inst["links"].append((a, b, c + 1.0))
    inst["capacity"] = rng.integers(1, 6, len(inst["links"])).astype(float)
    if len(inst["links"]) and inst["links"][-1][2] > inst["links"][0][2]:
        inst["capacity"][-1] = 8.0  # the dearer band carries more
    inst["traffic"] = rng.integers(1, 5, inst["cost"].size).astype(float)
    return inst


def check_loads_every_year(res, inst):
    """Each year's hop loads, added up by hand from the plan's schedule and feeds, within
    their links' capacity; the reported loads are the last year's."""
    feeds, period = res.feeds, res.phased.build_period
    hops = np.flatnonzero(feeds.feeder_site >= 0)
    parent = {int(s): int(feeds.feeder_site[s]) for s in hops}
    link_of = {int(s): int(feeds.feeder_link[s]) for s in hops}
    feed_year = np.where(feeds.feed_period >= 0, feeds.feed_period, 0)
    periods = len(inst["budgets"])
    for t in range(periods):
        in_use = {s: p for s, p in parent.items() if feed_year[s] <= t}
        assert loads_fit(in_use, link_of, own_by_period(inst, period, t), inst["capacity"])
    own = own_by_period(inst, period, periods - 1)
    for s in np.flatnonzero(feeds.on_air):
        below = [u for u in np.flatnonzero(feeds.on_air) if _under(parent, int(u), int(s))]
        assert feeds.carried_mbps[s] == pytest.approx(sum(own.get(u, 0.0) for u in below))


def _under(parent, site, top):
    """Whether ``top`` is ``site`` or on its chain of feeders."""
    while site != top and site in parent:
        site = parent[site]
    return site == top


SEEDS = range(30)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_phased_instances_with_capacity_match_brute_force(seed):
    inst = capacity_instance(np.random.default_rng([18, seed]))
    expected = brute_force(inst, loads_fit_every_year(inst))
    if expected is None:
        with pytest.raises(InfeasibleError):
            solve(inst)
        return
    res = solve(inst)
    assert res.phased.solution.status == "optimal"
    assert res.phased.solution.objective == pytest.approx(expected)
    check_schedule(res, inst)
    check_loads_every_year(res, inst)


def test_capacity_changes_the_phased_optimum_on_some_random_instances():
    changed = sum(brute_force(inst, loads_fit_every_year(inst)) != brute_force(inst)
                  for inst in (capacity_instance(np.random.default_rng([18, seed]))
                               for seed in SEEDS))
    assert changed >= 4


@pytest.mark.parametrize("seed", SEEDS)
def test_the_greedy_warm_start_keeps_link_capacity(monkeypatch, seed):
    """A MIP stopped before a plan of its own leaves the year-by-year greedy plan: its hops
    carry, in every year, no more than their links' capacity (an option at a site fed by
    hops only where its chain has room)."""
    inst = capacity_instance(np.random.default_rng([18, seed]))
    inst["must"][:] = False  # the greedy needs no must row to be a plan
    stopped = MipResult(x=None, status="no_solution", objective=math.nan, bound=math.inf)
    monkeypatch.setattr(phased_model, "run_mip", lambda *args, **kwargs: stopped)
    res = solve(inst)
    assert "the warm start is the plan" in " ".join(res.phased.solution.notes)
    check_schedule(res, inst)
    check_loads_every_year(res, inst)
    assert res.phased.solution.objective <= brute_force(inst, loads_fit_every_year(inst)) + 1e-9


def test_a_hop_without_room_for_an_upgrade_keeps_one_generation():
    """Site 1 hangs off site 0's fiber by one hop of 5 Mbit/s; site 0 puts 1 Mbit/s on its
    own feed. Site 1's 4G option (2 Mbit/s) and its 5G upgrade (4 Mbit/s) would put 6 on
    the hop: capacity leaves one of them, the 5G one (it covers more); without capacity
    both are built."""
    inst = {"A": np.eye(3, dtype=int), "fixed": np.zeros(3, bool),
            "cost": np.array([1.0, 1.0, 1.0]), "site": np.array([0, 1, 1]),
            "fiber": np.array([1.0, INF]), "links": [(0, 1, 1.0)], "sat": np.full(2, INF),
            "H": 1, "weight": np.array([10.0, 30.0, 35.0]), "budgets": [10.0, 10.0],
            "quotas": [3, 3], "must": np.zeros(3, bool), "must_by": 1,
            "capacity": np.array([5.0]), "traffic": np.array([1.0, 2.0, 4.0])}
    res = solve(inst)
    assert res.phased.build_period.tolist() == [0, -1, 0]
    assert res.feeds.carried_mbps.tolist() == [1.0 + 4.0, 4.0]  # fiber, the hop
    assert res.phased.solution.objective == pytest.approx(2 * (10 + 35))
    free = solve({k: v for k, v in inst.items() if k != "capacity"})
    assert free.phased.build_period.tolist() == [0, 0, 0]


def own_in_year(sites, technologies, traffic_mbps: dict, year: str) -> dict:
    """Each site's own traffic [Mbit/s] in ``year``, from the selected_sites layer: the
    generations of its technologies on air then (``technology_built``, the plan's, from
    its ``phase``; the others before the plan)."""
    generation = {t.name: t.generation for t in technologies}
    own = {}
    for row in sites.itertuples():
        built = set(filter(None, (row.technology_built or "").split("+")))
        on_air = [name for name in row.technology.split("+")
                  if name not in built or str(row.phase) <= year]
        if on_air:
            own[row.site_id] = sum(traffic_mbps[generation[name]] for name in on_air)
    return own


def check_every_years_loads(run, summary, out):
    """Every year's hop loads, added up by hand from the layers (each site's traffic in
    that year climbing the links built by then), within the hops' capacity; the last
    year's are the reported ones. Returns each year's largest load [Mbit/s]."""
    links = as_tables_hold(gpd.read_file(out / "sites.gpkg", layer="backhaul_links"))
    sites = as_tables_hold(gpd.read_file(out / "sites.gpkg", layer="selected_sites"))
    traffic = summary["backhaul"]["site_traffic_mbps"]
    years = [p["label"] for p in summary["phases"]]
    largest = []
    for year in years:
        built = links[links["phase"].astype(str) <= year]
        load = loads_by_hand(built, own_in_year(sites, run.scenario.technologies, traffic, year))
        hops = built[built["kind"] == "microwave"].set_index("from_id")
        assert all(load[s] <= hops.loc[s, "capacity_mbps"] + 1e-6 for s in hops.index), year
        largest.append(max(load[s] for s in hops.index))
    np.testing.assert_allclose(links.set_index("from_id")["load_mbps"].loc[list(load)],
                               list(load.values()))
    assert summary["backhaul"]["loads_year"] == years[-1]
    return largest


@pytest.fixture(scope="module")
def tiny_phased(tmp_path_factory):
    """test_backhaul_capacity's tiny ridge region (a cheap band of 100 Mbit/s, a dear one of
    400) planned over two years."""
    folder = tmp_path_factory.mktemp("tiny_phased")
    path = capacity_region(folder / "region", {"4G": 150, "5G": 600})
    scenario = yaml.safe_load(path.read_text(encoding="utf-8"))
    scenario["objective"] = {"type": "max_coverage",
                             "phases": [{"year": 2027, "budget_cny": 1e6},
                                        {"year": 2028, "budget_cny": 1e6}]}
    path.write_text(yaml.safe_dump(scenario, allow_unicode=True), encoding="utf-8")
    run = compute(siting.load_scenario(path))
    return run, write_outputs(run, folder / "out"), folder / "out"


def test_a_phased_plan_with_link_capacity_keeps_every_hop_within_it(tiny_phased):
    run, summary, out = tiny_phased
    check_every_years_loads(run, summary, out)
    hop = gpd.read_file(out / "sites.gpkg", layer="backhaul_links").set_index("from_id").loc["C4"]
    assert (hop["kind"], hop["band_ghz"], hop["load_mbps"]) == ("microwave", 15, 150)
    report = (out / "report.md").read_text(encoding="utf-8")
    assert ("The fullest hop, C4-E1 (15 GHz), carries 150 of its 400 Mbit/s. Loads are those "
            "of 2028, the plan's last year" in report)


DEMO_PHASED_BACKHAUL = DEMO_BACKHAUL.with_name("scenario_phased_backhaul.yaml")


@pytest.fixture(scope="module")
def demo_phased_capacity(tmp_path_factory):
    """The phased backhaul demo (five years) with link capacity planned: 4G 150, 5G 600
    Mbit/s a site, as in scenario_backhaul_capacity.yaml."""
    if not DEMO_PHASED_BACKHAUL.exists():
        pytest.skip(f"demo data not generated: {DEMO_PHASED_BACKHAUL}")
    folder = tmp_path_factory.mktemp("demo_phased_capacity")
    doc = yaml.safe_load(DEMO_PHASED_BACKHAUL.read_text(encoding="utf-8"))
    doc["inputs"] = {key: str(DEMO_PHASED_BACKHAUL.parent / name)
                     for key, name in doc["inputs"].items()}
    doc["backhaul"]["site_traffic_mbps"] = {"4G": 150, "5G": 600}
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    run = compute(siting.load_scenario(path))
    return run, write_outputs(run, folder / "out"), folder / "out"


def test_the_phased_demos_hops_carry_every_years_traffic_within_capacity(demo_phased_capacity):
    run, summary, out = demo_phased_capacity
    largest = check_every_years_loads(*demo_phased_capacity)
    assert largest[0] < largest[-1]  # the loads grow as sites go on air
    links = as_tables_hold(gpd.read_file(out / "sites.gpkg", layer="backhaul_links"))
    assert (links["kind"] == "microwave").sum() > 20
    assert set(links["phase"]) > {"2027", "2031"}

"""The reason a plan gives for each mandatory point it leaves uncovered names what stops it:
the quota used up, or the cheapest site (with its cheapest feed) dearer than the budget left,
with backhaul's share of the budget; checked against costs worked out by hand."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import siting
from regions import TECH_4G, candidate, village, write_region
from siting.export.i18n import reason_key, term, value_text
from siting.labels import (REASON_OVER_BUDGET, REASON_OVER_BUDGET_AND_QUOTA,
                           REASON_OVER_BUDGET_AND_YEAR_QUOTAS, REASON_OVER_BUDGET_FED,
                           REASON_OVER_YEAR_BUDGETS, REASON_QUOTA, REASON_YEAR_QUOTAS)
from siting.plan import plan_network
from test_backhaul_plan import DEMO_BACKHAUL, write_backhaul_region

TECH = dict(TECH_4G, max_range_m=1500)
OPEX_YEARS = 5


def site_cost_cny(site: dict, years: float = OPEX_YEARS) -> float:
    """A new 4G site's cost by hand: capex + equipment + (site and carrier opex) x years."""
    return (site["capex_cny"] + TECH["equipment_capex_cny"]
            + years * (site["opex_cny_per_year"] + TECH["opex_cny_per_year"]))


def reasons_by_village(result) -> dict[str, str]:
    villages = result.villages
    return dict(zip(villages["village_id"], villages["uncovered_reason"]))


def million(cny: float) -> str:
    return f"{cny / 1e6:.2f}"


def wan(cny: float) -> str:
    """An amount in 万元 (ten thousand CNY), as Chinese reasons give it."""
    return f"{cny / 1e4:,.0f}"


def test_a_village_whose_only_site_passes_the_budget_left_says_what_it_costs(tmp_path):
    """Two poverty villages 4 km apart, one mast each; the budget pays the cheaper mast and
    1 yuan more. The other village's reason gives its mast's cost and the budget left, in
    summary.json (with a stable key), report.md in both languages and sites.kml."""
    west = candidate("WEST", 1000, 3000, techs="4G")
    east = candidate("EAST", 5000, 3000, techs="4G", capex=80000)
    budget = site_cost_cny(west) + 1.0
    path = write_region(tmp_path / "in", np.full((200, 200), 400.0),
                        villages=[village("V1", 1000, 3000), village("V2", 5000, 3000)],
                        candidates=[west, east], technologies=[TECH],
                        objective={"type": "max_coverage", "budget_cny": budget,
                                   "opex_years": OPEX_YEARS})
    result = siting.prepare(path).plan()
    expected = REASON_OVER_BUDGET.format(cost_m=million(site_cost_cny(east)),
                                         left_m=million(budget - site_cost_cny(west)))
    assert reasons_by_village(result) == {"V1": "", "V2": expected}
    out = result.write(tmp_path / "en")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    [entry] = summary["uncovered_mandatory_villages"]
    assert (entry["reason"], entry["reason_key"]) == (expected, "over_budget")
    assert expected in (out / "report.md").read_text(encoding="utf-8")
    kml = ET.parse(out / "sites.kml").getroot()
    assert expected in {e.text for e in kml.iter() if e.tag.endswith("SimpleData")}
    zh = dataclasses.replace(result, scenario=dataclasses.replace(
        result.scenario, outputs=dataclasses.replace(result.scenario.outputs, language="zh")))
    report = (zh.write(tmp_path / "zh") / "report.md").read_text(encoding="utf-8")
    in_wan = term("reason.over_budget", "zh", cost_m=wan(site_cost_cny(east)), left_m="0")
    assert in_wan in report and f"需 {wan(site_cost_cny(east))} 万元" in in_wan


@pytest.mark.parametrize("budget_short", [False, True])
def test_a_village_left_out_by_a_used_up_quota_says_so(tmp_path, budget_short):
    """Three poverty villages, one mast each (the dearest at S2), a quota of two new sites,
    and either no budget or one that pays the two cheaper masts and 1 yuan more: then both
    limits stop V3, and the reason names both (raising the quota alone would not do)."""
    sites = [candidate(f"S{i}", x, 1800, techs="4G", capex=50000 + 10000 * i)
             for i, x in enumerate((1000, 5000, 8000))]
    objective = {"type": "max_coverage", "max_new_sites": 2, "opex_years": OPEX_YEARS}
    budget = site_cost_cny(sites[0]) + site_cost_cny(sites[1]) + 1.0
    if budget_short:
        objective["budget_cny"] = budget
    path = write_region(tmp_path, np.full((120, 300), 400.0),
                        villages=[village(v, x, 1800) for v, x in
                                  (("V1", 1000), ("V2", 5000), ("V3", 8000))],
                        candidates=sites, technologies=[TECH], objective=objective)
    reasons = reasons_by_village(siting.prepare(path).plan())
    over = REASON_OVER_BUDGET.format(cost_m=million(site_cost_cny(sites[2])), left_m="0.00")
    expected = (REASON_OVER_BUDGET_AND_QUOTA.format(reason=over, quota=2) if budget_short
                else REASON_QUOTA.format(quota=2))
    assert reasons == {"V1": "", "V2": "", "V3": expected}
    assert reason_key(expected) == ("over_budget_and_quota" if budget_short else "quota")
    if budget_short:
        assert value_text("reason", expected, "zh") == term(
            "reason.over_budget_and_quota", "zh", quota="2",
            reason=term("reason.over_budget", "zh", cost_m=wan(site_cost_cny(sites[2])),
                        left_m="0"))


@pytest.mark.parametrize("satellite_cny_per_year", [None, 20000.0])
def test_a_village_over_the_budget_left_with_its_feed_names_the_feed(tmp_path,
                                                                     satellite_cny_per_year):
    """The ridge region without microwave: V2 and V3 lie east of the ridge, where only new
    masts reach. Their cheapest cover is a mast plus its fiber route (or satellite, when on
    offer and cheaper), worked out from the coverage matrix and the routes' costs; the
    budget is 10 000 yuan short of it."""
    path = write_backhaul_region(tmp_path, backhaul={
        "enabled": True, "max_microwave_hops": 2, "microwave": [],
        "satellite_cny_per_year": satellite_cny_per_year})
    study = siting.prepare(path)
    options = study.coverage.options
    costs = siting.plan.option_costs(study.coverage, study.region.candidates, study.scenario)
    fiber_cny = study.backhaul.fiber["cost_cny"].to_numpy(float)[options["candidate"]]
    satellite_cny = (np.inf if satellite_cny_per_year is None
                     else satellite_cny_per_year * study.scenario.objective.opex_years)
    feed_cny = np.where(costs.fixed, 0.0, np.minimum(fiber_cny, satellite_cny))
    v2 = int(np.flatnonzero(study.demand.ref_id == "V2")[0])
    reaching = study.coverage.covers[v2].indices
    cheapest = reaching[np.argmin((costs.total_cny + feed_cny)[reaching])]
    cover_cny = costs.total_cny[cheapest] + feed_cny[cheapest]
    feed = "fiber" if fiber_cny[cheapest] <= satellite_cny else "satellite"
    result = study.plan(budget_cny=cover_cny - 10000.0)
    expected = REASON_OVER_BUDGET_FED.format(cost_m=million(cover_cny),
                                             left_m=million(cover_cny - 10000.0), feed=feed,
                                             backhaul_m="0.00")
    assert reasons_by_village(result) == {"V1": "", "V2": expected, "V3": expected}
    assert value_text("reason", expected, "zh") == term(
        "reason.over_budget_fed", "zh", cost_m=wan(cover_cny),
        left_m=wan(cover_cny - 10000.0), feed=term(f"backhaul.{feed}", "zh"),
        backhaul_m="0")


def test_a_phased_plan_names_the_year_with_the_most_budget_left(tmp_path):
    """Two poverty villages 4 km apart, one mast each, over two years: 2027's budget pays the
    cheaper mast and 1 yuan more, 2028's is 10,000 yuan short of the dearer mast. The reason
    names 2028, the year with the most left, and its amount (in 万元 in Chinese)."""
    west = candidate("WEST", 1000, 3000, techs="4G")
    east = candidate("EAST", 5000, 3000, techs="4G", capex=80000)
    left_2028 = site_cost_cny(east) - 10000.0
    path = write_region(tmp_path, np.full((200, 200), 400.0),
                        villages=[village("V1", 1000, 3000), village("V2", 5000, 3000)],
                        candidates=[west, east], technologies=[TECH],
                        objective={"type": "max_coverage", "opex_years": OPEX_YEARS,
                                   "phases": [{"year": 2027, "budget_cny": site_cost_cny(west) + 1},
                                              {"year": 2028, "budget_cny": left_2028}]})
    result = siting.prepare(path).plan()
    expected = REASON_OVER_YEAR_BUDGETS.format(cost_m=million(site_cost_cny(east)),
                                               left_m=million(left_2028), year="2028")
    assert reasons_by_village(result) == {"V1": "", "V2": expected}
    assert reason_key(expected) == "over_year_budgets"
    assert value_text("reason", expected, "zh") == term(
        "reason.over_year_budgets", "zh", cost_m=wan(site_cost_cny(east)), left_m=wan(left_2028),
        year="2028")


@pytest.mark.parametrize("budget_short", [False, True])
def test_a_phased_plan_left_short_by_every_years_quota_says_so(tmp_path, budget_short):
    """Three poverty villages, one mast each (the dearest at S2), two years of one new site
    each, and either no budgets or yearly ones that pay the two cheaper masts and 1 yuan
    more: V3 is left out, by the quotas (and the budgets)."""
    sites = [candidate(f"S{i}", x, 1800, techs="4G", capex=50000 + 10000 * i)
             for i, x in enumerate((1000, 5000, 8000))]
    phases = [{"year": 2027 + i, "max_new_sites": 1} for i in range(2)]
    if budget_short:
        for phase, site in zip(phases, sites):
            phase["budget_cny"] = site_cost_cny(site) + 1.0
    path = write_region(tmp_path, np.full((120, 300), 400.0),
                        villages=[village(v, x, 1800) for v, x in
                                  (("V1", 1000), ("V2", 5000), ("V3", 8000))],
                        candidates=sites, technologies=[TECH],
                        objective={"type": "max_coverage", "opex_years": OPEX_YEARS,
                                   "phases": phases})
    reasons = reasons_by_village(siting.prepare(path).plan())
    over = REASON_OVER_YEAR_BUDGETS.format(cost_m=million(site_cost_cny(sites[2])),
                                           left_m="0.00", year="2027")
    expected = (REASON_OVER_BUDGET_AND_YEAR_QUOTAS.format(reason=over) if budget_short
                else REASON_YEAR_QUOTAS)
    assert reasons == {"V1": "", "V2": "", "V3": expected}


@pytest.fixture(scope="module")
def demo_without_microwave():
    """The backhaul demo with no microwave on offer (nor satellite) and a 30 M budget."""
    if not DEMO_BACKHAUL.exists():
        pytest.skip(f"demo data not generated: {DEMO_BACKHAUL}")
    study = siting.prepare(DEMO_BACKHAUL)
    network = dataclasses.replace(study.backhaul, links=study.backhaul.links.iloc[:0])
    objective = dataclasses.replace(study.scenario.objective, budget_cny=30e6)
    costs = siting.plan.option_costs(study.coverage, study.region.candidates, study.scenario)
    plan = plan_network(study.coverage, study.demand, costs, objective, study.scenario.solver,
                        network)
    return study, network, costs, plan


def test_demo_villages_over_budget_are_told_what_backhaul_took(demo_without_microwave):
    """Every mandatory point the demo leaves for the budget is told its cheapest site with
    its fiber route, the budget left and backhaul's share, each checked by hand against the
    coverage matrix and the routes' costs."""
    study, network, costs, plan = demo_without_microwave
    feeds = plan.backhaul.feeds
    backhaul_cny = feeds.backhaul_cost_cny.sum()
    left_cny = 30e6 - costs.total_cny[plan.new_options].sum() - backhaul_cny
    site = study.coverage.options["candidate"].to_numpy()
    fed = ~network.needs_backhaul[site] | feeds.on_air[site]
    feed_cny = np.where(fed, 0.0, network.fiber["cost_cny"].to_numpy(float)[site])
    built_sites = site[plan.new_options]
    free = ~np.isin(site, built_sites) | costs.fixed
    over = [r for r in np.flatnonzero(plan.uncovered_reason != "")
            if reason_key(plan.uncovered_reason[r]) == "over_budget_fed"]
    assert len(over) > 10
    assert {reason_key(r) for r in plan.uncovered_reason if r} <= {
        "over_budget_fed", "no_candidate", "below_threshold", "budget"}
    for row in over:
        reaching = study.coverage.covers[row].indices
        reaching = reaching[free[reaching]]
        cover_cny = (costs.total_cny + feed_cny)[reaching].min()
        assert cover_cny > left_cny
        assert plan.uncovered_reason[row] == REASON_OVER_BUDGET_FED.format(
            cost_m=million(cover_cny), left_m=million(left_cny), feed="fiber",
            backhaul_m=million(backhaul_cny))

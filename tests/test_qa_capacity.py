"""Link capacity as a planner meets it in the outputs of a run: each link's load and
capacity in map.html's popups (both languages), sites.kml's balloons and the report."""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd
import pytest

import siting
from siting.backhaul.network import link_costs
from siting.config import MicrowaveBand
from siting.errors import ScenarioError
from siting.pipeline import compute, write_outputs
from test_backhaul_capacity import capacity_region, loads_by_hand, own_traffic_mbps

TRAFFIC_MBPS = {"4G": 150, "5G": 600}


def plan_region(folder, traffic, lang: str, edit=lambda text: text):
    """test_backhaul_capacity's tiny ridge region with ``traffic`` a site (its scenario's
    text changed by ``edit``), planned with its report in ``lang``: (run, summary.json,
    the output folder, the backhaul_links layer)."""
    path = capacity_region(folder / "region", traffic)
    text = edit(path.read_text(encoding="utf-8")) + f"\nreport:\n  language: {lang}\n"
    path.write_text(text, encoding="utf-8")
    run = compute(siting.load_scenario(path))
    summary = write_outputs(run, folder / "out")
    links = gpd.read_file(folder / "out" / "sites.gpkg", layer="backhaul_links")
    return run, summary, folder / "out", links


@pytest.fixture(scope="module", params=["en", "zh"])
def planned(request, tmp_path_factory):
    """The tiny ridge region planned with link capacity, in English and in Chinese."""
    return request.param, *plan_region(tmp_path_factory.mktemp(request.param), TRAFFIC_MBPS,
                                       request.param)


LABELS = {"en": ("fed site", "load [Mbit/s]", "capacity [Mbit/s]"),
          "zh": ("被接入站址", "链路负荷 [Mbit/s]", "链路容量 [Mbit/s]")}


def test_a_microwave_links_popup_shows_its_load_and_capacity(planned):
    """Each microwave hop's popup in map.html: its load and its band's capacity, as in
    the backhaul_links layer, under names in the plan's language."""
    lang, _, _, out, links = planned
    page = (out / "map.html").read_text(encoding="utf-8")
    fed, load, capacity = LABELS[lang]
    hops = links[links["kind"] == "microwave"]
    assert len(hops)
    for hop in hops.itertuples():
        popup = re.search(rf"{fed}</th><td>{hop.from_id}</td>.*?</table>", page).group(0)
        assert f"{load}</th><td>{hop.load_mbps:,.0f}</td>" in popup
        assert f"{capacity}</th><td>{hop.capacity_mbps:,.0f}</td>" in popup


def test_a_notebook_plan_has_its_links_with_their_loads(tmp_path):
    """``plan.backhaul_links`` (Study API): the links with the traffic each carries, added
    up by hand from the plan's sites, within capacity; no coverage raster computed for it."""
    study = siting.prepare(capacity_region(tmp_path, TRAFFIC_MBPS))
    plan = study.plan()
    links = plan.backhaul_links
    assert "coverage raster" not in plan.timings_s
    load = loads_by_hand(links, own_traffic_mbps(plan.sites, plan.scenario.technologies, TRAFFIC_MBPS))
    assert len(load) and all(v > 0 for v in load.values())
    assert links.set_index("from_id")["load_mbps"].loc[list(load)].tolist() == \
        pytest.approx(list(load.values()))
    hops = links[links["kind"] == "microwave"]
    assert (hops["load_mbps"] <= hops["capacity_mbps"]).all()
    assert study.plan(backhaul={"enabled": False}).backhaul_links is None


def test_an_over_budget_reason_names_no_hop_too_small_for_the_sites_traffic(tmp_path):
    """5000 Mbit/s a site: no band (400, 100 Mbit/s) carries one, so a site east of the ridge
    can only be fed by fiber. With 0.35 M CNY, the mandatory villages there stay uncovered,
    and their reason must price that feed, not a microwave hop that cannot carry the site."""
    path = capacity_region(tmp_path, 5000)
    text = path.read_text(encoding="utf-8").replace("type: min_cost",
                                                    "type: max_coverage\n  budget_cny: 350000")
    path.write_text(text, encoding="utf-8")
    plan = siting.prepare(path).plan()
    reason = plan.villages.set_index("village_id").loc["V2", "uncovered_reason"]
    assert reason and "(microwave)" not in reason


UNLIMITED_SENTENCE = {
    "en": "Hops of a band offered without capacity_mbps are not limited: the busiest, "
          "{f}-{t} ({b:g} GHz), carries {m:,.0f} Mbit/s",
    "zh": "未给出容量（capacity_mbps）的微波频段不限制其各跳的业务量：其中最繁忙的一跳 "
          "{f}-{t}（{b:g} GHz）承载 {m:,.0f} Mbit/s"}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_band_without_capacity_is_named_with_its_busiest_hop(tmp_path, lang):
    """Link capacity planned, but the 15 GHz band offered without capacity_mbps: its hops
    carry any traffic. The report must not let "every hop within its band's capacity"
    stand alone: it names the busiest such hop, found here from the layer by hand."""
    run, summary, out, links = plan_region(
        tmp_path, TRAFFIC_MBPS, lang, lambda text: text.replace("    capacity_mbps: 400\n", ""))
    free = links[(links["kind"] == "microwave") & links["capacity_mbps"].isna()]
    assert len(free) and (free["band_ghz"] == 15).all()
    busiest = free.sort_values(["load_mbps", "from_id"], ascending=[False, True]).iloc[0]
    load = loads_by_hand(links, own_traffic_mbps(
        gpd.read_file(out / "sites.gpkg", layer="candidates"),
        run.scenario.technologies, TRAFFIC_MBPS))
    assert busiest["load_mbps"] == pytest.approx(load[busiest["from_id"]])
    assert summary["backhaul"]["relays"]["unlimited_hop"] == {
        "from_id": busiest["from_id"], "to_id": busiest["to_id"], "band_ghz": 15.0,
        "load_mbps": busiest["load_mbps"]}
    report = (out / "report.md").read_text(encoding="utf-8")
    assert UNLIMITED_SENTENCE[lang].format(f=busiest["from_id"], t=busiest["to_id"], b=15,
                                           m=busiest["load_mbps"]) in report


def test_a_band_of_zero_capacity_is_refused_when_the_scenario_is_read(tmp_path):
    """capacity_mbps: 0 passed `siting validate`; `siting run` then computed the coverage and
    stopped at the optimizer on "links: capacity_mbps must be 1-D like site_a, each > 0",
    naming neither the scenario file nor the band."""
    path = capacity_region(tmp_path, TRAFFIC_MBPS)
    text = path.read_text(encoding="utf-8").replace("capacity_mbps: 100", "capacity_mbps: 0")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"backhaul\.microwave.*capacity_mbps"):
        siting.load_scenario(path)


def test_equally_cheap_offers_of_a_band_give_a_link_the_largest_capacity():
    """README (backhaul.microwave): a link's capacity is that of the cheapest offer, the
    largest among equally cheap ones; whichever order the offers are listed in."""
    links = pd.DataFrame({"site_a": [0], "site_b": [1], "band_ghz": [23.0],
                          "distance_m": [5000.0]})
    offers = (MicrowaveBand(band_ghz=23, max_hop_m=12000, cost_cny=90000, capacity_mbps=100),
              MicrowaveBand(band_ghz=23, max_hop_m=12000, cost_cny=90000, capacity_mbps=400))
    for listed in (offers, offers[::-1]):
        assert link_costs(links, listed)["capacity_mbps"].tolist() == [400.0]


NO_HOP_SENTENCE = {
    "en": "No microwave band carries even one site's traffic (a hop carries at most {c:,.0f} "
          "Mbit/s, a site puts at least {t:,.0f} on its feed)",
    "zh": "没有任何微波频段能承载哪怕一个站址的业务量（每跳至多 {c:,.0f} Mbit/s，每个站址至少 "
          "{t:,.0f} Mbit/s）"}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_traffic_no_band_carries_is_said_in_the_report(tmp_path, lang):
    """5000 Mbit/s a site against bands of 400 and 100: no site can be relayed or fed by a
    hop. The report said only "Link capacity is planned" and "by microwave: 0"; it now says
    why, with the largest capacity on offer and the least traffic of a site."""
    run, summary, out, links = plan_region(tmp_path, 5000, lang)
    assert len(links) and not (links["kind"] == "microwave").any()
    largest = max(band.capacity_mbps for band in run.scenario.backhaul.microwave)
    assert largest == 400 and summary["backhaul"]["largest_hop_capacity_mbps"] == largest
    report = (out / "report.md").read_text(encoding="utf-8")
    assert NO_HOP_SENTENCE[lang].format(c=largest, t=5000) in report


def test_traffic_a_band_carries_is_not_said_to_be_too_much(planned):
    lang, _, _, out, _ = planned
    report = (out / "report.md").read_text(encoding="utf-8")
    assert NO_HOP_SENTENCE[lang].split("（")[0].split(" (")[0] not in report


BAND_HEADER = {"en": "| band [GHz] | longest hop [m] | cost [CNY] | capacity [Mbit/s] |",
               "zh": "| 频段 [GHz] | 最长单跳 [m] | 成本 [万元] | 容量 [Mbit/s] |"}
#: A band's cost as the report states it: CNY in English, 万元 in Chinese.
BAND_COST = {"en": lambda cny: f"{cny:,.0f}", "zh": lambda cny: f"{cny / 10_000:,.2f}"}


def test_the_report_states_the_bands_the_capacities_come_from(planned):
    """The report named the fullest hop's capacity but not the bands on offer: the
    assumptions now list each offer as the scenario gives it."""
    lang, run, _, out, _ = planned
    report = (out / "report.md").read_text(encoding="utf-8")
    table = report[report.index(BAND_HEADER[lang]):]
    for band in run.scenario.backhaul.microwave:
        row = (f"| {band.band_ghz:g} | {band.max_hop_m:,.0f} | {BAND_COST[lang](band.cost_cny)} | "
               f"{band.capacity_mbps:,.0f} |")
        assert row in table.split("\n\n")[0], row


def test_a_notebook_traffic_without_a_generation_is_refused_as_the_file_is(tmp_path):
    """study.plan(backhaul={"site_traffic_mbps": {"4G": 150}}) with 5G technologies raised a
    bare KeyError '5G' from the backhaul network; the scenario file gets "gives no traffic
    for 5G"."""
    study = siting.prepare(capacity_region(tmp_path, None))
    with pytest.raises(ScenarioError, match="gives no traffic for 5G"):
        study.plan(backhaul={"site_traffic_mbps": {"4G": 150}})

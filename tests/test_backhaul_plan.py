"""Backhaul in the planner and the outputs: every site on air fed within the hop limit, every
microwave hop clear by an independent ray test, costs that add up across the layers; bad
backhaul inputs fail with one line; the demo's joint plan beats sites-first-then-backhaul."""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import yaml
from shapely.geometry import LineString, Point, Polygon
from typer.testing import CliRunner

import siting
from map_popups import with_popups
from regions import (GAP_TEST_TIME_LIMIT_S, CRS, candidate, planned_run, ridge_dem, village,
                     write_region, xy)
from siting.backhaul import min_clearance_f1_reference
from siting.cli import app
from siting.pipeline import compute, write_outputs
from siting.export.gis import as_tables_hold
from siting.export.i18n import reason_key, term, value_text
from siting.plan import REASON_NO_BACKHAUL

runner = CliRunner()
DEMO_BACKHAUL = Path(__file__).resolve().parents[1] / "data" / "demo" / "scenario_backhaul.yaml"


def _sites(extra=()):
    """An existing site with fiber in the west, new candidates east of a ridge (col 100)
    (and the ``extra`` ones)."""
    sites = [*extra, candidate("E1", 500, 1800, kind="existing_4g", techs="4G"),
             candidate("C1", 2000, 1500), candidate("C2", 4000, 1500, capex=40000),
             candidate("C3", 5500, 2500, capex=30000),
             candidate("C4", 3100, 200, height=150, capex=20000)]
    for site in sites:
        site["has_fiber"] = site["site_id"] == "E1"
    return sites


def write_backhaul_region(folder: Path, *, fiber_nodes=True, roads=True, extra_sites=(),
                          **scenario) -> Path:
    """The tiny ridge region with fiber at E1 (and a node and a road in the south)."""
    villages = [village("V1", 1500, 1800), village("V2", 4500, 1800), village("V3", 5200, 3000)]
    scenario.setdefault("backhaul", {"enabled": True, "max_microwave_hops": 2})
    path = write_region(folder, ridge_dem(rows=120, cols=200, ridge_col=100), villages,
                        _sites(extra_sites), **scenario)
    gpkg = folder / "region.gpkg"
    if fiber_nodes:
        gpd.GeoDataFrame({"node_id": ["N1"]}, geometry=[Point(*xy(300, 3000))],
                         crs=CRS).to_file(gpkg, layer="fiber_nodes")
    if roads:
        gpd.GeoDataFrame({"road_id": ["R1"]}, geometry=[LineString([xy(300, 3000), xy(5900, 3000)])],
                         crs=CRS).to_file(gpkg, layer="roads")
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("backhaul")
    run = compute(siting.load_scenario(write_backhaul_region(folder / "region")))
    summary = write_outputs(run, folder / "out")
    return run, summary, folder / "out"


def reaches_fiber(links: gpd.GeoDataFrame, site: str, max_hops: int) -> bool:
    """Walk the links from ``site`` up its feeders: fiber within ``max_hops`` microwave hops."""
    feeder = links.set_index("from_id")
    for _ in range(max_hops + 1):
        if site not in feeder.index:
            return True  # fiber on site
        link = feeder.loc[site]
        if link["kind"] == "fiber":
            return True
        if link["kind"] != "microwave":
            return False
        site = link["to_id"]
    return False


def check_plan(run, summary, out: Path) -> gpd.GeoDataFrame:
    """The checks of the issue on a written plan; returns its backhaul layer."""
    links = as_tables_hold(gpd.read_file(out / "sites.gpkg", layer="backhaul_links"))
    assert set(links.columns) >= {"from_id", "to_id", "kind", "band_ghz", "length_m", "cost_cny",
                                  "min_clearance_f1", "geometry"}
    sites = gpd.read_file(out / "sites.gpkg", layer="selected_sites")
    network = run.plan.backhaul.network
    max_hops = network.max_hops
    assert set(sites["backhaul"]) <= {"fiber", "microwave", "satellite", "in_place"}
    for site_id in sites["site_id"]:
        assert reaches_fiber(links, site_id, max_hops), site_id
    cand, terrain = run.region.candidates, run.region.terrain
    for link in links[links["kind"] == "microwave"].itertuples():
        a, b = cand.loc[link.from_id], cand.loc[link.to_id]
        clear = min_clearance_f1_reference(
            terrain, a.geometry.x, a.geometry.y, a.antenna_height_m, b.geometry.x, b.geometry.y,
            b.antenna_height_m, band_ghz=link.band_ghz,
            earth_radius_factor=run.scenario.coverage.earth_radius_factor, step_m=5.0)
        assert clear >= 0.6, (link.from_id, link.to_id, clear, link.min_clearance_f1)
    facts = summary["backhaul"]
    assert facts["backhaul_cost_cny"] == pytest.approx(links["cost_cny"].sum(), rel=1e-9)
    assert facts["backhaul_cost_cny"] == pytest.approx(sites["backhaul_cost_cny"].sum(), rel=1e-9)
    kpis = summary["kpis"]  # the headline figures count the backhaul too
    for cost in ("site_cost_cny", "backhaul_cost_cny", "total_cost_cny"):
        assert kpis[cost] == pytest.approx(facts[cost], rel=1e-9), cost
    assert facts["site_cost_cny"] == pytest.approx(sites["total_cost_cny"].sum(), rel=1e-9)
    report = (out / "report.md").read_text(encoding="utf-8")
    assert f"{facts['backhaul_cost_cny']:,.0f}" in report and "## Backhaul" in report
    headline = report[:report.index("## Backhaul")]
    assert f"total cost over the horizon **{facts['total_cost_cny']:,.0f} CNY**" in headline
    check_baselines(summary, report)
    return links


def check_baselines(summary: dict, report: str) -> None:
    """Every simpler rule is priced with the backhaul of its sites, as the budget counts it:
    its total is its sites and their backhaul (a new site here has no fiber on site, so it
    needs some), and the optimal plan's row is the plan's own total."""
    rows = {b["label"]: b for b in summary["baselines"]}
    for row in rows.values():
        if row["cost_cny"] is not None:  # None: some of its sites cannot be fed
            assert row["cost_cny"] == pytest.approx(
                row["site_cost_cny"] + row["backhaul_cost_cny"], rel=1e-9), row
        if row["new_options"] and row["backhaul_cost_cny"] is not None:
            assert row["backhaul_cost_cny"] > 0, row
    optimal = rows["optimal plan (siting)"]
    kpis = summary["kpis"]
    for cost in ("site_cost_cny", "backhaul_cost_cny"):
        assert optimal[cost] == pytest.approx(kpis[cost], rel=1e-9), cost
    assert optimal["cost_cny"] == pytest.approx(kpis["total_cost_cny"], rel=1e-9)
    section = report[report.index("## Compared with simpler rules"):]
    section = section[:section.index("\n## ")]
    assert "| sites [CNY] | backhaul [CNY] | total [CNY] |" in section
    assert f"| {kpis['total_cost_cny']:,.0f} |" in section


def test_every_site_on_air_is_fed_and_the_costs_add_up(tiny):
    run, summary, out = tiny
    links = check_plan(run, summary, out)
    sites = gpd.read_file(out / "sites.gpkg", layer="selected_sites").set_index("site_id")
    assert sites.loc["E1", "backhaul"] == "fiber" and sites.loc["E1", "backhaul_cost_cny"] == 0
    assert "E1" not in set(links["from_id"])  # fiber on site: no link
    assert len(links) == int((sites["backhaul_cost_cny"] > 0).sum())


def test_the_last_stage_starts_from_the_plan_before_it(tmp_path, monkeypatch):
    """A max_coverage plan: the affordability stage gets a third of the time, and the last
    stage is warm-started by its plan (which meets the last stage's constraints)."""
    calls = []
    solve = siting.plan.solve_with_backhaul

    def spy(*args, **kwargs):
        calls.append(kwargs)
        result = solve(*args, **kwargs)
        calls[-1] = dict(kwargs, result=result)
        return result

    monkeypatch.setattr(siting.plan, "solve_with_backhaul", spy)
    path = write_backhaul_region(tmp_path / "region",
                                 objective={"type": "max_coverage", "budget_cny": 5e6})
    run = compute(siting.load_scenario(path))
    first, last = calls[:2]  # then the baselines' cheapest backhaul of sites-first
    assert first["objective"] == "min_cost" and last["objective"] == "max_coverage"
    assert first["time_limit_s"] <= 30 / 3 + 1e-6 < last["time_limit_s"]
    assert last["start"] is first["result"]
    assert run.plan.backhaul.feeds is last["result"]


def test_backhaul_reaches_every_output(tiny):
    _, summary, out = tiny
    kml = (out / "sites.kml").read_text(encoding="utf-8")
    assert "Backhaul links" in kml and "<LineString>" in kml
    page = with_popups((out / "map.html").read_text(encoding="utf-8"))
    assert "Backhaul links" in page
    links = gpd.read_file(out / "sites.gpkg", layer="backhaul_links")
    for kind in ("fiber", "microwave", "satellite"):  # the legend: the kinds drawn as lines
        drawn = (links["kind"] == kind).any() and kind != "satellite"
        assert (f"backhaul: {kind}</div>" in page) == drawn, kind
    assert "fed site</th>" in page and "microwave hops from fiber</th>" in page
    assert "backhaul cost [CNY]</th>" in page  # a built site's popup: its feed's cost
    assert [b["label"].startswith("sites") for b in summary["backhaul"]["comparison"]] == [True, True]
    stages = summary["solver"]["stages"]
    assert "fed by fiber or by up to 2 microwave hops" in stages[0]


def test_a_chinese_plan_names_a_links_kind_its_backhaul(tmp_path):
    """In Chinese, a link's kind reads 传输方式 (its backhaul) in the KML balloons and the
    map's popups, not 站址类型 (a site's kind)."""
    path = write_backhaul_region(tmp_path / "region", report={"language": "zh"})
    run = compute(siting.load_scenario(path))
    write_outputs(run, tmp_path / "out")
    kml = ET.parse(tmp_path / "out" / "sites.kml").getroot()
    ns = {"k": kml.tag[1:kml.tag.index("}")]}
    links = kml.find("k:Document", ns).findall("k:Folder", ns)[-1]
    balloon = links.find("k:Placemark/k:description", ns).text
    assert "<th>传输方式</th><td>微波</td>" in balloon or "<th>传输方式</th><td>光纤</td>" in balloon
    assert "站址类型" not in balloon
    page = with_popups((tmp_path / "out" / "map.html").read_text(encoding="utf-8"))
    assert re.search(r"传输方式</th><td>(微波|光纤)</td>", page)
    assert not re.search(r"站址类型</th><td>(微波|光纤|卫星)</td>", page)


def test_an_existing_site_with_backhaul_in_place_is_not_charged_a_feed(tmp_path):
    """E1 without fiber on site: charged a feed to keep serving, unless its candidates row
    says its backhaul is in place (a microwave hop or leased line of today's network). No
    microwave on offer, so that E1 relays nothing (an in-place site relays only with a feed
    the plan buys it)."""
    costs = {}
    for in_place in (False, True):
        path = write_backhaul_region(tmp_path / str(in_place),
                                     backhaul={"enabled": True, "microwave": []})
        gpkg = tmp_path / str(in_place) / "region.gpkg"
        sites = gpd.read_file(gpkg, layer="candidates")
        sites["has_fiber"] = False
        sites["backhaul_in_place"] = np.where(sites["site_id"] == "E1", in_place, None)
        sites.to_file(gpkg, layer="candidates")
        plan = siting.prepare(path).plan()
        e1 = plan.sites.loc[plan.sites["site_id"] == "E1"].iloc[0]
        costs[in_place] = e1["backhaul_cost_cny"]
        assert e1["backhaul"] == ("in_place" if in_place else "fiber")
    assert costs[True] == 0 < costs[False]


def test_a_village_only_unfed_sites_reach_is_left_to_backhaul(tmp_path):
    study = siting.prepare(write_backhaul_region(tmp_path))
    network = study.backhaul
    fiber = network.fiber.copy()
    fiber["cost_cny"] = np.where(network.needs_backhaul, np.inf, 0.0)
    cut = dataclasses.replace(network, fiber=fiber, links=network.links.iloc[:0])
    plan = dataclasses.replace(study, backhaul=cut).plan()
    reasons = dict(zip(plan.villages["village_id"], plan.villages["uncovered_reason"]))
    missing_all_feeds = REASON_NO_BACKHAUL.format(hops=2)  # what is missing, by the scenario
    assert set(reasons.values()) == {"", missing_all_feeds}
    assert value_text("reason", missing_all_feeds, "zh") == term("reason.no_backhaul", "zh",
                                                                 hops="2")
    assert reason_key(missing_all_feeds) == "no_backhaul"
    assert plan.plan.backhaul.feeds.on_air.sum() == 1  # E1 alone


def test_satellite_is_priced_over_the_plans_opex_years(tmp_path):
    """Study.plan(opex_years=...) counts the satellite fee over its own horizon."""
    study = siting.prepare(write_backhaul_region(tmp_path, backhaul={
        "enabled": True, "max_microwave_hops": 2, "satellite_cny_per_year": 1000.0}))
    network = study.backhaul
    fiber = network.fiber.copy()
    fiber["cost_cny"] = np.where(network.needs_backhaul, np.inf, 0.0)
    by_satellite = dataclasses.replace(study, backhaul=dataclasses.replace(
        network, fiber=fiber, links=network.links.iloc[:0]))
    for years in (2, 7):
        feeds = by_satellite.plan(opex_years=years).plan.backhaul.feeds
        satellite = feeds.backhaul == "satellite"
        assert satellite.any()
        assert feeds.backhaul_cost_cny[satellite] == pytest.approx(1000.0 * years)


def test_a_plan_fed_by_satellite_alone_writes_a_line_layer(tmp_path):
    """Satellite links have no line; the layer is still declared LineString in sites.gpkg,
    so that GIS tools can style it (GDAL's "Unknown" type otherwise)."""
    path = write_backhaul_region(tmp_path / "region", backhaul={
        "enabled": True, "microwave": [], "satellite_cny_per_year": 1.0})
    run = compute(siting.load_scenario(path))
    write_outputs(run, tmp_path / "out")
    links = gpd.read_file(tmp_path / "out" / "sites.gpkg", layer="backhaul_links")
    assert len(links) and set(links["kind"]) == {"satellite"} and links.geometry.isna().all()
    info = pyogrio.read_info(tmp_path / "out" / "sites.gpkg", layer="backhaul_links")
    assert info["geometry_type"] == "LineString"


def test_a_sweep_plans_backhaul_and_its_budget_pays_for_it(tmp_path):
    study = siting.prepare(write_backhaul_region(tmp_path))
    full = study.plan().plan.backhaul.feeds
    total_cny = full.site_cost_cny + full.total_backhaul_cny
    budgets = [full.site_cost_cny + 0.5 * full.total_backhaul_cny, total_cny]
    curve = study.sweep(budgets_cny=budgets)
    for row in curve.itertuples():
        assert row.cost_cny == pytest.approx(row.site_cost_cny + row.backhaul_cost_cny)
        assert row.cost_cny <= row.budget_cny * (1 + 1e-9)
        plan = study.plan(type="max_coverage", budget_cny=row.budget_cny)
        assert row.backhaul_cost_cny == pytest.approx(plan.plan.backhaul.feeds.total_backhaul_cny)
        assert row.people_covered == pytest.approx(plan.kpis.people_covered_after)
    assert curve.backhaul_cost_cny.iloc[-1] > 0
    # the sites alone fit in the first budget, not with their backhaul
    sites_only = dataclasses.replace(study, backhaul=None).sweep(budgets_cny=budgets)
    assert "backhaul_cost_cny" not in sites_only
    assert sites_only.people_covered.iloc[0] > curve.people_covered.iloc[0]


def test_the_sweep_csv_keeps_every_figure_to_the_fen(tmp_path):
    """The curve's CSV writes budgets and costs as they are (6 significant digits wrote
    1,234,567.5 as 1.23457e+06), so that sites + backhaul add up to the total as written."""
    path = write_backhaul_region(tmp_path / "region")
    result = runner.invoke(app, ["sweep", str(path), "--budgets", "567891.25,1234567.5",
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    curve = pd.read_csv(tmp_path / "out" / "cost_coverage.csv")
    assert curve["budget_cny"].tolist() == [567891.25, 1234567.5]
    assert (curve["site_cost_cny"] + curve["backhaul_cost_cny"]).round(2).tolist() == \
        curve["cost_cny"].tolist()


def test_a_phased_plan_feeds_every_site_from_the_year_it_goes_on_air(tmp_path):
    budget = 1.5e6
    path = write_backhaul_region(tmp_path / "region", objective={
        "type": "max_coverage", "phases": [{"year": 2027, "budget_cny": budget},
                                           {"year": 2028, "budget_cny": budget}]})
    run = compute(siting.load_scenario(path))
    summary = write_outputs(run, tmp_path / "out")
    links = check_plan(run, summary, tmp_path / "out")
    sites = as_tables_hold(gpd.read_file(tmp_path / "out" / "sites.gpkg", layer="selected_sites"))
    built = sites[sites["action"] == "build"].set_index("site_id")
    assert len(built) and len(links) == len(built)  # E1 has fiber on site
    for link in links.itertuples():
        assert link.phase == built.loc[link.from_id, "phase"]
        if link.to_id in built.index:  # a new feeder is on air no later
            assert built.loc[link.to_id, "phase"] <= link.phase
    for year in summary["phases"]:
        assert year["cost_cny"] + year["backhaul_cost_cny"] <= budget * (1 + 1e-9)
        assert year["backhaul_cost_cny"] == pytest.approx(
            links.loc[links["phase"] == year["label"], "cost_cny"].sum())
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "## Phased schedule" in report and "| sites [CNY] | backhaul [CNY] |" in report
    # the report's links carry the year each feed is built in, as the layer does
    table = report[report.index("| site | fed from |"):].split("\n\n")[0].split("\n")
    assert table[0].endswith("| hop | year |")
    years = {row.split(" | ")[0].lstrip("| "): row.rstrip(" |").split(" | ")[-1]
             for row in table[2:]}
    assert years == dict(zip(links["from_id"], links["phase"]))


def as_built_sheet(path: Path, run, out: Path, backhaul_word: str) -> Path:
    """The plan's new sites as an as-built list the way a planner writes it: an XLSX sheet
    with Chinese headers, each site at its planned cost plus its backhaul, and its
    backhaul named in Chinese (``backhaul_word``; "" left empty)."""
    sites = gpd.read_file(out / "sites.gpkg", layer="selected_sites")
    built = sites[sites["action"] == "build"]
    pd.DataFrame({"站址编号": built["site_id"], "制式": built["technology"], "建成年份": 2027,
                  "实际投资": built["capex_cny"] + built["backhaul_cost_cny"],
                  "回传方式": backhaul_word}).to_excel(path, index=False)
    return path


@pytest.mark.parametrize("word, kept_as", [("微波", "in_place"), ("", "in_place"),
                                           ("光纤", "fiber")])
def test_a_replan_keeps_the_backhaul_the_as_built_sites_were_built_with(tiny, tmp_path, word,
                                                                      kept_as):
    """The tiny plan builds C4, fed by a hop from E1. Re-planned from the list of what was
    built, C4's hop is in place: no feed is planned or charged for it again; said to be
    fed by fiber, C4 has fiber on site."""
    run, _, out = tiny
    sheet = as_built_sheet(tmp_path / "as_built.xlsx", run, out, word)
    assert pd.read_excel(sheet)["站址编号"].tolist() == ["C4"]
    replan = compute(run.scenario, as_built=sheet)
    summary = write_outputs(replan, tmp_path / "out")
    links = check_plan(replan, summary, tmp_path / "out")
    sites = gpd.read_file(tmp_path / "out" / "sites.gpkg", layer="selected_sites")
    sites = sites.set_index("site_id")
    assert (sites.loc["C4", "backhaul"], sites.loc["C4", "backhaul_cost_cny"]) == (kept_as, 0.0)
    assert "C4" not in set(links["from_id"])
    facts = summary["backhaul"]
    assert facts["in_place"] == (kept_as == "in_place")
    assert facts["fiber_on_site"] == 1 + (kept_as == "fiber")
    assert facts["backhaul_cost_cny"] == pytest.approx(links["cost_cny"].sum()) == 0.0
    said = ("Sites of the as-built list keeping the backhaul they were built with (not planned "
            "or charged again): 1.")
    assert (said in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")) == (
        kept_as == "in_place")


@pytest.mark.parametrize("recorded, technology, kept_as", [
    (None, "", "charged"), ("microwave", "", "in_place"), ("光纤", "", "fiber"),
    ("microwave", "4G-1800", "in_place")])
def test_a_replan_charges_no_feed_the_as_built_list_records_for_an_existing_site(
        tmp_path, recorded, technology, kept_as):
    """E2, an existing site without fiber west of the ridge, is fed by the plan. Re-planned
    from a list that records the feed built for it (a row with no technology, or the one it
    has on air), its backhaul is in place (fiber on site when the feed is fiber) and charged
    nothing; without the record it is charged its feed as before."""
    path = write_backhaul_region(tmp_path / "region", extra_sites=[
        candidate("E2", 1200, 700, kind="existing_4g", techs="4G")])
    scenario = siting.load_scenario(path)
    run = compute(scenario)
    feeds = run.plan.backhaul.feeds
    e2 = list(run.region.candidates.index).index("E2")
    planned_cny = float(feeds.backhaul_cost_cny[e2])
    assert planned_cny > 0 and feeds.backhaul[e2] != "in_place"
    rows = [("C1", "4G-1800", 2027, 1.0, "")]
    if recorded is not None:
        rows.append(("E2", technology, 2027, planned_cny, recorded))
    listed = tmp_path / "built.csv"
    pd.DataFrame(rows, columns=["site_id", "technology", "year", "cost_cny", "backhaul"]).to_csv(
        listed, index=False)
    replan = compute(scenario, as_built=listed)
    summary = write_outputs(replan, tmp_path / "out")
    links = check_plan(replan, summary, tmp_path / "out")
    sites = gpd.read_file(tmp_path / "out" / "sites.gpkg", layer="selected_sites").set_index("site_id")
    if kept_as == "charged":
        assert sites.loc["E2", "backhaul_cost_cny"] > 0 and "E2" in set(links["from_id"])
    else:
        assert (sites.loc["E2", "backhaul"], sites.loc["E2", "backhaul_cost_cny"]) == (kept_as, 0.0)
        assert "E2" not in set(links["from_id"])
    assert summary["backhaul"]["backhaul_cost_cny"] == pytest.approx(links["cost_cny"].sum())
    assert summary["as_built"]["spent_cny"] == pytest.approx(sum(r[3] for r in rows))
    assert (summary["as_built"]["sites"], summary["as_built"]["upgrades"]) == (1, 0)


@pytest.mark.parametrize("site, backhaul, expected", [
    ("C2", "fiber", "field 'technology': empty; give the technology built at site C2"),
    ("E1", "", ("field 'backhaul': empty; a row of site E1 without a technology records a "
                "feed built for it")),
])
def test_a_feed_row_needs_an_existing_site_and_a_backhaul(tiny, tmp_path, site, backhaul,
                                                          expected):
    run, _, _ = tiny
    listed = tmp_path / "built.csv"
    pd.DataFrame([(site, "", 2027, 1.0, backhaul)],
                 columns=["site_id", "technology", "year", "cost_cny", "backhaul"]).to_csv(
        listed, index=False)
    result = runner.invoke(app, ["run", str(run.scenario.path), "--built", str(listed),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert f"siting: error: {listed}: row 2, {expected}" in result.output
    assert result.output.count("siting: error:") == 1


def test_a_feed_laid_after_the_mast_is_a_row_of_its_own(tiny, tmp_path):
    """C4, built in 2027 and fed by a microwave hop, gets fiber in 2028: the list records that
    feed as a row without technology. The re-plan has fiber on site at C4 and the list's spending
    counts both rows."""
    run, _, out = tiny
    built = pd.read_excel(as_built_sheet(tmp_path / "as_built.xlsx", run, out, "微波"))
    laid = pd.DataFrame({"站址编号": ["C4"], "制式": [""], "建成年份": [2028],
                         "实际投资": [80000.0], "回传方式": ["光纤"]})
    sheet = tmp_path / "with_feed.xlsx"
    pd.concat([built, laid]).to_excel(sheet, index=False)
    replan = compute(run.scenario, as_built=sheet)
    summary = write_outputs(replan, tmp_path / "out")
    check_plan(replan, summary, tmp_path / "out")
    assert summary["backhaul"]["fiber_on_site"] == 2  # E1's and now C4's
    assert summary["as_built"]["spent_cny"] == pytest.approx(built["实际投资"].sum() + 80000.0)
    assert (summary["as_built"]["sites"], summary["as_built"]["upgrades"]) == (1, 0)


def test_a_feed_dated_before_its_site_is_built_is_one_line(tiny, tmp_path):
    run, _, _ = tiny
    listed = tmp_path / "built.csv"
    pd.DataFrame([("C4", "4G-1800", 2028, 1.0, "microwave"), ("C4", "", 2027, 1.0, "fiber")],
                 columns=["site_id", "technology", "year", "cost_cny", "backhaul"]).to_csv(
        listed, index=False)
    result = runner.invoke(app, ["run", str(run.scenario.path), "--built", str(listed),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert (f"siting: error: {listed}: row 3, field 'year': the feed of site C4 is dated 2027, "
            f"before the list builds the site (2028)") in result.output
    assert result.output.count("siting: error:") == 1


@pytest.fixture(scope="module")
def phased_with_feed(tmp_path_factory):
    """A two-year plan with backhaul in which existing E2 (no fiber) is fed too."""
    folder = tmp_path_factory.mktemp("phased_feed")
    path = write_backhaul_region(folder / "region", extra_sites=[
        candidate("E2", 1200, 700, kind="existing_4g", techs="4G")], objective={
        "type": "max_coverage", "phases": [{"year": 2027, "budget_cny": 1.5e6},
                                           {"year": 2028, "budget_cny": 1.5e6}]})
    scenario = siting.load_scenario(path)
    write_outputs(compute(scenario), folder / "out")
    return scenario, folder / "out"


def built_as_planned(path: Path, out: Path, year: str) -> tuple[Path, pd.DataFrame]:
    """An as-built list that builds exactly the plan's year: every build or upgrade at its
    capex plus its feed of that year, every feed of an existing site alone (a feed row), each
    with its planned backhaul; with the plan's links of the year."""
    sites = as_tables_hold(gpd.read_file(out / "sites.gpkg", layer="selected_sites")).set_index("site_id")
    links = as_tables_hold(gpd.read_file(out / "sites.gpkg", layer="backhaul_links"))
    links = links[links["phase"] == year].set_index("from_id")
    feed = links["cost_cny"].reindex(sites.index).fillna(0.0)
    due = sites["phase"] == year
    rows = [(s, sites.at[s, "technology"].split("+")[-1], year, sites.at[s, "capex_cny"] + feed[s],
             sites.at[s, "backhaul"]) for s in sites.index[due]]
    rows += [(s, "", year, feed[s], sites.at[s, "backhaul"]) for s in links.index if not due[s]]
    pd.DataFrame(rows, columns=["site_id", "technology", "year", "cost_cny", "backhaul"]).to_csv(
        path, index=False)
    return path, links


def test_an_evaluation_of_a_year_built_exactly_to_plan_counts_its_backhaul(phased_with_feed,
                                                                           tmp_path):
    """Built exactly as planned (sites and feeds, at planned cost), the planned cost (capex and
    backhaul, the existing E2's feed included) equals what was spent: budget 1.0, no flag.
    Built with another backhaul than planned, the site is flagged in the tables and the report."""
    from siting.evaluate import evaluate_plan
    from siting.export.evaluation import build_evaluation_report
    from siting.export.report import render_markdown
    scenario, out = phased_with_feed
    listed, links = built_as_planned(tmp_path / "built.csv", out, "2027")
    assert "E2" in links.index and links["cost_cny"].sum() > 0
    built = pd.read_csv(listed)
    assert (built["technology"].isna()).sum() >= 1  # E2's feed row
    evaluation = evaluate_plan(out, listed, year="2027", scenario=scenario)
    total = evaluation.counties.set_index("admin_unit").iloc[-1]
    assert total.criterion_budget == 1.0
    sites = as_tables_hold(gpd.read_file(out / "sites.gpkg", layer="selected_sites"))
    capex = sites.loc[sites["phase"] == "2027", "capex_cny"].sum()
    assert total.planned_backhaul_cny == pytest.approx(links["cost_cny"].sum())
    assert total.planned_cost_cny == pytest.approx(capex + links["cost_cny"].sum())
    assert total.spent_cny == pytest.approx(built["cost_cny"].sum())
    assert total.planned_cost_cny == pytest.approx(total.spent_cny)
    assert total.sites_backhaul_changed == 0 and total.feeds_due == total.feeds_due_built >= 1
    assert set(evaluation.sites["status"]) <= {"on_time", "later"}
    report = render_markdown(build_evaluation_report(evaluation, figure=False))
    assert "another backhaul than planned:" not in report
    changed = built["site_id"].iloc[0]
    planned_kind = built["backhaul"].iloc[0]
    other = "satellite" if planned_kind != "satellite" else "fiber"
    built.loc[0, "backhaul"] = other
    built.to_csv(listed, index=False)
    evaluation = evaluate_plan(out, listed, year="2027", scenario=scenario)
    total = evaluation.counties.set_index("admin_unit").iloc[-1]
    assert total.sites_backhaul_changed == 1
    row = evaluation.sites[evaluation.sites["backhaul_changed"]]
    assert row[["site_id", "planned_backhaul", "built_backhaul"]].values.tolist() == [
        [changed, planned_kind, other]]
    report = render_markdown(build_evaluation_report(evaluation, figure=False))
    assert (f"Built with another backhaul than planned: {changed} (planned {planned_kind}, "
            f"built {other})." in report)
    # a plan with backhaul keeps the backhaul rows of the overall table, the cost with its backhaul
    assert "| sites built with another backhaul than planned |  | 1 |" in report
    assert "| cost (capex and backhaul) [CNY]: planned / spent |" in report


def test_an_unknown_backhaul_in_the_as_built_list_is_one_line(tiny, tmp_path):
    run, _, out = tiny
    sheet = as_built_sheet(tmp_path / "as_built.xlsx", run, out, "铜缆")
    result = runner.invoke(app, ["run", str(run.scenario.path), "--built", str(sheet),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert (f"siting: error: {sheet}: row 2, field '回传方式': '铜缆' is not a kind of backhaul; "
            f"use fiber (光纤), microwave (微波) or satellite (卫星), or leave it empty"
            in result.output)
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_a_study_plans_other_backhaul_settings_without_touching_its_own(tmp_path):
    """study.plan(backhaul={...}): prices, the hop limit or no backhaul at all, each checked
    as the scenario file is; the study's own network stays as it was."""
    study = siting.prepare(write_backhaul_region(tmp_path))
    own = study.backhaul
    base = study.plan()
    assert set(base.sites["backhaul"]) == {"fiber", "microwave", ""}  # "": off air
    cheap = study.plan(backhaul={"fiber_cny_per_km_road": 1, "fiber_cny_per_km_offroad": 1})
    fed = cheap.sites[cheap.sites["action"] == "build"]
    assert set(fed["backhaul"]) == {"fiber"}  # cheaper than any hop
    spent = cheap.summary()["backhaul"]["backhaul_cost_cny"]
    assert spent == pytest.approx(fed["backhaul_cost_cny"].sum()) and spent < 100
    no_hops = study.plan(backhaul={"max_microwave_hops": 0})
    assert "microwave" not in set(no_hops.sites["backhaul"])
    assert no_hops.summary()["backhaul"]["max_hops"] == 0
    without = study.plan(backhaul={"enabled": False})
    assert without.plan.backhaul is None and "backhaul" not in without.sites
    assert study.backhaul is own
    assert study.plan().summary()["backhaul"] == base.summary()["backhaul"]
    with pytest.raises(siting.ScenarioError, match=r"plan\(\) overrides: backhaul\.fiber_per_km: "
                                                   r"unknown key"):
        study.plan(backhaul={"fiber_per_km": 1})
    with pytest.raises(siting.ScenarioError, match="backhaul.max_microwave_hops"):
        study.plan(backhaul={"max_microwave_hops": -1})
    with pytest.raises(siting.ScenarioError, match="backhaul.fiber_cny_per_km_road: must be > 0"):
        study.plan(backhaul={"fiber_cny_per_km_road": 0})


def test_a_study_prepared_without_backhaul_says_how_to_plan_it(tmp_path):
    """Without backhaul.enabled the fiber nodes and roads are not read, so enabling it on
    the study says how to prepare one that can, rather than planning without the nodes."""
    study = siting.prepare(write_backhaul_region(tmp_path, backhaul={"enabled": False}))
    assert study.backhaul is None and study.region.fiber_nodes is None
    with pytest.raises(siting.ScenarioError, match="prepared with backhaul.enabled: false"):
        study.plan(backhaul={"enabled": True})


def _exit_line(path: Path) -> str:
    result = runner.invoke(app, ["run", str(path), "--out", str(path.parent / "out")])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if line.startswith("siting: error")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_no_fiber_anywhere_is_one_line(tmp_path):
    path = write_backhaul_region(tmp_path, fiber_nodes=False)
    gpkg = tmp_path / "region.gpkg"
    sites = gpd.read_file(gpkg, layer="candidates")
    sites["has_fiber"] = False
    sites.to_file(gpkg, layer="candidates")
    assert "no fiber" in _exit_line(path)


def test_an_empty_fiber_layer_and_roads_that_are_not_lines_are_one_line(tmp_path):
    path = write_backhaul_region(tmp_path / "a", fiber_nodes=False)
    gpd.GeoDataFrame({"node_id": []}, geometry=gpd.GeoSeries([], crs=CRS),
                     crs=CRS).to_file(tmp_path / "a" / "region.gpkg", layer="fiber_nodes")
    assert "fiber_nodes" in _exit_line(path)
    path = write_backhaul_region(tmp_path / "b", roads=False)
    gpd.GeoDataFrame({"road_id": ["R1"]}, geometry=[Polygon([xy(0, 0), xy(900, 0), xy(0, 900)])],
                     crs=CRS).to_file(tmp_path / "b" / "region.gpkg", layer="roads")
    assert "roads" in _exit_line(path)


def test_a_band_outside_1_to_100_ghz_is_one_line(tmp_path):
    path = write_backhaul_region(tmp_path, backhaul={
        "enabled": True, "microwave": [{"band_ghz": 150, "max_hop_m": 5000, "cost_cny": 1e5}]})
    assert "band_ghz" in _exit_line(path)


def test_two_offers_in_one_band_price_each_link_at_the_cheapest_that_reaches_it(tmp_path):
    """Two dish sizes of one band: a short cheap hop and a long dear one. Each link is found
    once and costs the cheapest offer whose hop reaches it (the long one beyond the short)."""
    long_offer = {"band_ghz": 15, "max_hop_m": 25000, "cost_cny": 120000}
    alone = siting.prepare(write_backhaul_region(
        tmp_path / "alone", backhaul={"enabled": True, "microwave": [long_offer]})).backhaul.links
    short_hop_m = float(alone["distance_m"].median())
    short_offer = {"band_ghz": 15, "max_hop_m": short_hop_m, "cost_cny": 50000}
    links = siting.prepare(write_backhaul_region(
        tmp_path / "both", backhaul={"enabled": True, "microwave": [short_offer, long_offer]})
    ).backhaul.links
    assert len(links) == len(alone)
    expected_cny = np.where(links["distance_m"] <= short_hop_m, 50000.0, 120000.0)
    assert links["cost_cny"].tolist() == expected_cny.tolist()
    assert 0 < (expected_cny == 50000.0).sum() < len(links)


def test_microwave_links_are_cached_with_the_coverage(tmp_path):
    study = siting.prepare(write_backhaul_region(tmp_path / "r"), cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("links-*.npz"))) == 1
    again = siting.prepare(study.scenario, cache_dir=tmp_path / "cache")
    assert again.backhaul.links.equals(study.backhaul.links)


# ---------------------------------------------------------------------------------------
# the demo (one module fixture)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return planned_run(DEMO_BACKHAUL, tmp_path_factory.mktemp("demo_backhaul"),
                       time_limit_s=GAP_TEST_TIME_LIMIT_S)


def test_demo_joint_plan_is_checked_and_beats_sites_first(demo):
    run, summary, out = demo
    links = check_plan(run, summary, out)
    assert (links["kind"] == "microwave").sum() > 10 and (links["kind"] == "fiber").sum() > 0
    joint, sequential = summary["backhaul"]["comparison"]
    assert joint["total_cost_cny"] <= run.scenario.objective.budget_cny * (1 + 1e-9)
    assert joint["total_cost_cny"] < sequential["total_cost_cny"]
    assert summary["solver"]["gap"] <= run.scenario.solver.mip_gap + 1e-9
    report = (out / "report.md").read_text(encoding="utf-8")
    assert f"{sequential['total_cost_cny']:,.0f}" in report
    assert yaml.safe_load(DEMO_BACKHAUL.read_text())["backhaul"]["enabled"] is True
    assert json.loads((out / "summary.json").read_text())["backhaul"] == summary["backhaul"]


def sites_behind(hops: pd.DataFrame, site: str) -> int:
    """Sites whose traffic the hop into ``site`` carries: itself and, recursively, every
    site fed by a hop from it (``hops``: from_id fed by to_id)."""
    return 1 + sum(sites_behind(hops, child) for child in hops.loc[hops["to_id"] == site, "from_id"])


def test_the_report_says_capacity_is_not_planned_and_names_the_relays_to_check(demo):
    # a band's capacity_mbps limits nothing: the report says so and names the loaded relays
    run, summary, out = demo
    links = pyogrio.read_dataframe(out / "sites.gpkg", layer="backhaul_links")
    hops = links[links["kind"] == "microwave"]
    carried = {site: sites_behind(hops, site) for site in hops["from_id"]}
    most = max(carried.values())
    relays = summary["backhaul"]["relays"]
    hop = relays["busiest_hop"]
    assert hop["sites_carried"] == most > 1 and carried[hop["from_id"]] == most
    assert hop["from_id"] == min(site for site, n in carried.items() if n == most)
    feeds = hops["to_id"].value_counts()
    assert relays["busiest_relay"]["hops"] == feeds.max()
    assert feeds[relays["busiest_relay"]["site_id"]] == feeds.max()
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "Link capacity is not planned" in report
    assert (f"{relays['busiest_relay']['site_id']} feeds {feeds.max()} site(s) by its own hops"
            in report)
    assert f"carries the traffic of {most} site(s)" in report


def test_existing_sites_whose_feeds_pass_the_budget_is_one_line(tmp_path):
    # a planner who has not marked which existing sites have fiber: E1 must then be fed
    path = write_backhaul_region(tmp_path, objective={"type": "max_coverage",
                                                      "budget_cny": 1000})
    gpkg = tmp_path / "region.gpkg"
    sites = gpd.read_file(gpkg, layer="candidates")
    sites["has_fiber"] = False
    sites.to_file(gpkg, layer="candidates")
    line = _exit_line(path)
    assert "1 existing site(s)" in line and "budget of 1,000 CNY" in line
    assert "has_fiber" in line and "inputs.candidates" in line


def test_roads_that_all_lie_off_the_dem_are_one_line(tmp_path):
    # roads whose file declares the wrong CRS land far from the region; fiber would follow
    # none of them and every route would silently go off road
    path = write_backhaul_region(tmp_path, roads=False)
    (x0, y0), (x1, y1) = xy(300, 3000), xy(5900, 3000)
    far = LineString([(x0 + 300_000, y0), (x1 + 300_000, y1)])
    gpd.GeoDataFrame({"road_id": ["R1"]}, geometry=[far], crs=CRS).to_file(
        tmp_path / "region.gpkg", layer="roads")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("siting: error")]
    assert "layer 'roads': none of the 1 road(s) comes onto the DEM" in line
    assert "inputs.roads.crs" in line
    assert "inputs.roads" in _exit_line(path)  # a run stops on it too, before computing


def test_readme_quotes_the_demo_joint_plan_as_run(demo):
    # the README's figures of this run (joint against sites-first) are what the demo gives,
    # as printed: every solve of the run stops on its gap, and the tie-break (the cheapest of
    # the plans that cover as many) on a node count, not the clock, so a loaded machine gives
    # the same plans (it gave 45.00 M CNY where an idle one gave 44.90 M while the tie-break
    # was timed)
    _, summary, _ = demo
    joint, sequential = summary["backhaul"]["comparison"]
    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8").split())
    budget_m = yaml.safe_load(DEMO_BACKHAUL.read_text())["objective"]["budget_cny"] / 1e6
    quoted = re.search(rf"\(on the demo: ([\d.]+) M CNY within the {budget_m:g} M budget against "
                       rf"([\d.]+) M, ([\d,]+) people covered against ([\d,]+)\)", readme)
    assert quoted, "the README no longer quotes the joint plan against sites-first"
    joint_m, sequential_m, joint_people, sequential_people = quoted.groups()
    for plan, cost_m, people in ((joint, joint_m, joint_people),
                                 (sequential, sequential_m, sequential_people)):
        assert not plan["cut_short"]
        assert f"{plan['total_cost_cny'] / 1e6:.2f}" == cost_m
        assert f"{plan['people_covered']:,.0f}" == people

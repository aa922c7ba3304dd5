"""Plan comparison on the demo: two budgets, compared from their output folders by
``siting compare`` and in Python by ``Study.compare``."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point
from typer.testing import CliRunner

import siting
from siting import pipeline
from siting.cli import app
from siting.compare import COMPARISON_FILES, LISTED_SITES, compare_folders, site_changes

pytestmark = pytest.mark.skipif(not pipeline.DEMO_SCENARIO.exists(),
                                reason=f"demo data not generated: {pipeline.DEMO_SCENARIO}")


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    """The demo study and two plans (20 M and 40 M CNY), each written to its folder."""
    root = tmp_path_factory.mktemp("compare")
    study = siting.prepare(siting.load_scenario(pipeline.DEMO_SCENARIO), cache_dir=root / "cache")
    plan_a, plan_b = study.plan(budget_cny=20e6), study.plan(budget_cny=40e6)
    return study, plan_a, plan_b, plan_a.write(root / "a"), plan_b.write(root / "b")


def _selected(folder) -> dict[str, str]:
    sites = gpd.read_file(folder / "sites.gpkg", layer="selected_sites")
    return dict(zip(sites["site_id"], sites["technology"]))


def test_cli_prints_a_summary_and_the_files_list_every_site_that_differs(plans):
    """The terminal gets the headline KPIs (A, B, B - A), the count of sites of each status and
    the first few sites that differ with a pointer to comparison.csv, which lists exactly the
    sites that differ (the terminal printed one line per site: about 170 for a re-plan)."""
    _, _, _, dir_a, dir_b = plans
    result = CliRunner().invoke(app, ["compare", str(dir_a), str(dir_b)])
    assert result.exit_code == 0, result.output
    a, b = _selected(dir_a), _selected(dir_b)
    changed = {s for s in set(a) & set(b) if a[s] != b[s]}
    csv = pd.read_csv(dir_b / "compare" / "comparison.csv", encoding="utf-8-sig")
    listed = csv.groupby("status")["site_id"].agg(set)
    assert listed["only_a"] == set(a) - set(b) and listed["only_b"] == set(b) - set(a)
    assert listed.get("both_technology_changed", set()) == changed
    assert listed["both"] == set(a) & set(b) - changed
    differing = csv[csv["status"] != "both"]
    assert len(differing) > LISTED_SITES  # the larger budget builds many more sites
    lines = result.stdout.splitlines()
    counts = csv["status"].value_counts()
    assert (f"Sites: only in plan A {counts.get('only_a', 0):,}, only in plan B "
            f"{counts['only_b']:,}, in both, another technology "
            f"{counts.get('both_technology_changed', 0):,}, in both, another year or backhaul 0, "
            f"in both, alike {counts['both']:,}.") in lines
    pointer = lines.index(f"{LISTED_SITES} of the {len(differing)} sites that differ (all of them "
                          f"in comparison.csv):")
    shown = [line.split()[0] for line in lines[pointer + 1:pointer + 1 + LISTED_SITES]]
    assert shown == list(differing["site_id"][:LISTED_SITES])
    assert len(lines) < 30
    kpis = pd.read_csv(dir_b / "compare" / "comparison_kpis.csv", encoding="utf-8-sig").set_index("name")
    cost = kpis.loc["total_cost_cny"]
    row = next(line for line in lines if "total cost over the horizon [CNY]" in line)
    assert [c.strip() for c in row.split("│")[2:5]] == [f"{v:,.0f}" for v in (cost.a, cost.b, cost.delta)]
    for name in COMPARISON_FILES:
        assert (dir_b / "compare" / name).is_file()
    assert not list((dir_b / "compare").glob(".siting-*"))


def test_study_compare_gives_the_same_tables(plans):
    study, plan_a, plan_b, dir_a, dir_b = plans
    in_python, from_folders = study.compare(plan_a, plan_b), compare_folders(dir_a, dir_b)
    columns = ["site_id", "in_a", "in_b", "technology_a", "technology_b", "status"]
    pd.testing.assert_frame_equal(in_python.sites[columns].reset_index(drop=True),
                                  from_folders.sites[columns].reset_index(drop=True))
    pd.testing.assert_frame_equal(in_python.kpis, from_folders.kpis)
    pd.testing.assert_frame_equal(in_python.by_county, from_folders.by_county)
    assert list(in_python.villages["village_id"]) == list(from_folders.villages["village_id"])
    kpis = in_python.kpis.set_index("name")
    assert kpis.loc["people_covered_after", "delta"] == pytest.approx(
        plan_b.kpis.people_covered_after - plan_a.kpis.people_covered_after)


def test_bad_folder_is_one_line_and_exit_2(plans, tmp_path):
    _, _, _, dir_a, _ = plans
    result = CliRunner().invoke(app, ["compare", str(dir_a), str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "not an output folder" in result.stderr


def test_two_plans_of_one_scenario_are_named_by_their_folders(plans):
    _, _, _, dir_a, dir_b = plans
    comparison = compare_folders(dir_a, dir_b)
    assert comparison.name_a.endswith(f"({dir_a.name})")
    assert comparison.name_b.endswith(f"({dir_b.name})")


def test_a_site_built_in_another_year_or_fed_otherwise_differs():
    """Phased plans and plans with backhaul: the same site and technology in both plans, but
    in another year or with another backhaul, is listed as a difference."""
    def plan(rows):
        return gpd.GeoDataFrame(rows, geometry=[Point(i, 0) for i in range(len(rows["site_id"]))],
                                crs="EPSG:32649")
    a = plan({"site_id": ["S1", "S2", "S3", "S4"], "technology": ["4G", "4G", "4G", "4G"],
              "action": ["build"] * 4, "phase": [2027, 2027, 2028, 2027],
              "backhaul": ["fiber", "microwave", "fiber", "fiber"]})
    b = plan({"site_id": ["S1", "S2", "S3", "S4"], "technology": ["4G", "4G", "4G+5G", "4G"],
              "action": ["build"] * 4, "phase": ["2027", "2027", "2028", "2029"],
              "backhaul": ["fiber", "satellite", "fiber", "fiber"]})
    status = dict(zip(*site_changes(a, b)[["site_id", "status"]].to_numpy().T))
    assert status == {"S1": "both", "S2": "both_year_or_backhaul_changed",
                      "S3": "both_technology_changed", "S4": "both_year_or_backhaul_changed"}


COMPARISON_MAP_WORDS = {
    "en": {"lang": "en", "title": "Plan comparison: 方案甲 vs 方案乙",
           "legend": ["Legend", "A: 方案甲", "B: 方案乙", "● only in plan A (1)", "● only in plan B (2)",
                      "● in both, another technology (1)", "● in both, another year or backhaul (0)",
                      "● in both, alike (1)", "● village gained in B (2)", "● village lost in B (1)"],
           "layers": ["Plan A: 方案甲", "Plan B: 方案乙", "Villages whose coverage differs"]},
    "zh": {"lang": "zh-CN", "title": "方案对比：方案甲 与 方案乙",
           # full-width brackets and colons, as the Chinese map.png and layer names write them
           "legend": ["图例", "A：方案甲", "B：方案乙", "● 仅方案 A 有（1）", "● 仅方案 B 有（2）",
                      "● 两方案均有但制式不同（1）", "● 两方案均有但建设年份或传输方式不同（0）",
                      "● 两方案均有且相同（1）", "● 方案 B 中新增覆盖的村（2）", "● 方案 B 中失去覆盖的村（1）"],
           "layers": ["方案 A：方案甲", "方案 B：方案乙", "覆盖情况不同的村"]},
}


def small_comparison(language: str):
    """Two small plans without the demo: A builds S1-S3 (4G), B S2, S3 (now 5G), S4 and S5
    (4G), 1 km apart, a 4G site costing 150,000 CNY and a 5G one 300,000; of the villages 甲村,
    乙村, 丙村 B loses 甲村 and gains the other two. Its words in ``language``."""
    from siting.compare import Comparison, village_changes

    def plan(ids, technologies):
        costs = [{"4G": 150_000.0, "5G": 300_000.0}[t] for t in technologies]
        return gpd.GeoDataFrame({"site_id": ids, "technology": technologies, "action": "build",
                                 "total_cost_cny": costs},
                                geometry=[Point(500_000 + 1000 * int(i[1:]), 3_620_000) for i in ids],
                                crs="EPSG:32649")

    def villages(covered):
        return gpd.GeoDataFrame({"village_id": ["V1", "V2", "V3"], "name": ["甲村", "乙村", "丙村"],
                                 "admin_unit": "汉滨区", "population": 100, "covered_after": covered,
                                 "serving_site": ""},
                                geometry=[Point(500_500 + 1000 * i, 3_621_000) for i in range(3)],
                                crs="EPSG:32649")
    sites = site_changes(plan(["S1", "S2", "S3"], ["4G", "4G", "4G"]),
                         plan(["S2", "S3", "S4", "S5"], ["4G", "5G", "4G", "4G"]))
    return Comparison("方案甲", "方案乙", sites, pd.DataFrame(), pd.DataFrame(),
                      village_changes(villages([True, False, False]), villages([False, True, True])),
                      language)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_comparison_map_explains_its_colours_offline(tmp_path, language):
    """comparison.html in chromium with no network: a legend names each colour with its count
    (the sites of each status, the villages gained and lost), a metric scale bar, a page title,
    no request and no JavaScript error; in the plans' language, which the page declares (a
    committee reading Chinese got it in English)."""
    from siting.compare import comparison_map
    from tests.test_browser import chromium_binary, inspect_page, page_errors, requested_hosts

    binary = chromium_binary()
    comparison_map(small_comparison(language)).save(str(tmp_path / "comparison.html"))
    visit = inspect_page(binary, tmp_path / "comparison.html", """({
        title: document.title,
        lang: document.documentElement.lang,
        layers: [...document.querySelectorAll('.leaflet-control-layers-overlays span span')]
            .map(e => e.textContent.trim()),
        legend: (l => l ? l.innerText : null)(document.getElementById('siting-legend')),
        scale: [...document.querySelectorAll('.leaflet-control-scale-line')].map(e => e.textContent),
        markers: document.querySelectorAll('path.leaflet-interactive').length,
    })""", tmp_path / "chromium")
    state = visit.state
    words = COMPARISON_MAP_WORDS[language]
    assert (state["title"], state["lang"]) == (words["title"], words["lang"])
    assert state["legend"].splitlines() == words["legend"]
    assert state["layers"] == words["layers"]
    assert len(state["scale"]) == 1 and state["scale"][0].endswith(("m", "km"))
    assert state["markers"] == 3 + 4 + 3  # plan A's sites, plan B's, the villages that differ
    assert page_errors(visit, None) == [] and requested_hosts(visit) == set()


def test_a_plan_read_back_holds_empty_text_where_sites_gpkg_holds_null(plans):
    # sites.gpkg writes a cell of no value as NULL (a village no site serves); the plan read
    # back for compare/evaluate holds "" there, as the plan written did, not None
    from siting.compare import read_plan_folder

    *_, folder_a, _ = plans
    got = read_plan_folder(folder_a)
    written = gpd.read_file(folder_a / "sites.gpkg", layer="villages")
    nulls = written["serving_site"].isna()
    assert nulls.any() and (got.villages.loc[nulls, "serving_site"] == "").all()
    for frame in (got.sites, got.villages):
        text = [c for c in frame.columns
                if pd.api.types.is_string_dtype(frame[c]) and c != frame.geometry.name]
        assert text and not frame[text].isna().any().any()

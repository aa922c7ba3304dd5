"""What a planning committee reading Chinese sees: counties by their Chinese names (the admin
units' ``name_zh``, as the demo's region.gpkg has them) in every Chinese output, their English
names in the English ones."""

from __future__ import annotations

import copy
import dataclasses
import html
import json
import re
import shutil

import geopandas as gpd
import pandas as pd
import pytest
from matplotlib.figure import Figure
from shapely.geometry import box
from typer.testing import CliRunner

from map_popups import point_layers, with_popups
from regions import CRS, X0, Y0, candidate, one_site_a_year_region, village
from siting.cli import app
from siting.compare import (as_built_notes, compare_folders, compare_tables, comparison_map, read_plan_folder,
                            render_comparison, write_comparison)
from siting.config import load_scenario
from siting.export.report import build_report, render_markdown
from siting.export.staticmap import draw_static_map
from siting.export.tables import plan_tables
from siting.export.webmap import build_map
from siting.pipeline import compute, run_scenario, write_outputs
from test_language import COUNTIES, chinese_region, in_language

#: The counties of :func:`chinese_region` as an English-keyed layer with Chinese names.
ENGLISH = {"汉滨区": "Hanbin", "紫阳县": "Ziyang", "岚皋县": "Langao"}


@pytest.fixture(scope="module")
def named(tmp_path_factory):
    """(run, summary, out): the Chinese region whose admin units are keyed by their English
    names and carry ``name_zh``, planned and written in Chinese."""
    folder = tmp_path_factory.mktemp("zh_names")
    scenario = chinese_region(folder)
    gpd.GeoDataFrame({"admin_unit": [ENGLISH[c] for c in COUNTIES], "name_zh": list(COUNTIES)},
                     geometry=list(COUNTIES.values()), crs="EPSG:32649").to_file(
        folder / "region.gpkg", layer="admin_units", engine="pyogrio")
    run = compute(load_scenario(scenario))
    out = folder / "out"
    return run, write_outputs(run, out), out


def test_summary_keeps_the_english_keys_and_records_the_chinese_names(named):
    _, summary, out = named
    on_disk = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert sorted(on_disk["by_admin_unit"]) == sorted(ENGLISH.values())
    assert on_disk["admin_unit_names_zh"] == {e: c for c, e in ENGLISH.items()}


def county_rows(report_md: str) -> list[str]:
    """The first cell of each row of the report's county table."""
    section = report_md.split("## 各区县覆盖情况" if "各区县" in report_md else "## Coverage by admin unit")[1]
    table = section.split("\n## ")[0]
    return [line.split("|")[1].strip() for line in table.splitlines()[4:] if line.startswith("|")]


def test_the_chinese_report_names_counties_in_chinese_the_english_one_in_english(named):
    run, _, out = named
    zh = (out / "report.md").read_text(encoding="utf-8")
    assert county_rows(zh) == [*COUNTIES, "（全市合计）"]
    # v3, the relocation site out of every site's range, stays uncovered in 紫阳县's polygon
    assert "| v3 | 双龙易地搬迁安置点 | 紫阳县 |" in zh
    assert not re.search("|".join(ENGLISH.values()), zh)
    assert "汉滨区" in (out / "report.html").read_text(encoding="utf-8")
    en = render_markdown(build_report(in_language(plan_tables(run), "en")))
    assert county_rows(en) == [*ENGLISH.values(), "(all)"]
    assert "| v3 | 双龙易地搬迁安置点 | Ziyang |" in en


def test_map_html_and_map_png_name_counties_in_chinese(named):
    run, _, out = named
    page = with_popups((out / "map.html").read_text(encoding="utf-8"))
    # each county's popup, then each village's, which names the county the report counts it
    # in (v2's own field says 石泉县, its polygon 汉滨区)
    popups = re.findall(r"区县</th><td>([^<]*)</td>", page)
    assert sorted(popups) == sorted([*COUNTIES, "汉滨区", "汉滨区", "汉滨区", "紫阳县"]), popups
    assert not re.search("|".join(ENGLISH.values()), page)
    for language, names in (("zh", list(COUNTIES)), ("en", list(ENGLISH.values()))):
        ax = Figure().add_subplot()
        draw_static_map(ax, in_language(plan_tables(run), language))
        drawn = [t.get_text() for t in ax.texts]
        assert all(name in drawn for name in names), drawn
    assert "Hanbin" in build_map(in_language(plan_tables(run), "en")).get_root().render()


def test_the_comparison_names_counties_in_chinese(named):
    _, _, out = named
    plan = read_plan_folder(out)
    text = render_comparison(compare_tables(plan, dataclasses.replace(plan, name="B")))
    section = text.split("## 各区县指标")[1]
    assert all(f"| {c} |" in section for c in COUNTIES), section[:2000]
    assert not re.search("|".join(ENGLISH.values()), text)


@pytest.fixture(scope="module")
def evaluation_md(tmp_path_factory) -> str:
    """evaluation.md of a Chinese plan whose admin units are keyed in English (West, East) with
    Chinese names, S1 (V1, in West) built in 2027 for 200,000 元 as planned."""
    folder = tmp_path_factory.mktemp("zh_evaluation")
    villages = [village("V1", 1000, 3000, population=300), village("V2", 3000, 3000, population=200),
                village("V3", 5000, 3000, population=100)]
    candidates = [candidate(s, x, 3000, techs="4G") for s, x in (("S1", 1000), ("S2", 3000), ("S3", 5000))]
    scenario = one_site_a_year_region(folder / "in", villages, candidates, report={"language": "zh"})
    gpd.GeoDataFrame({"admin_unit": ["West", "East"], "name_zh": ["西城区", "东城区"]},
                     geometry=[box(X0, Y0 - 6000, X0 + 2000, Y0), box(X0 + 2000, Y0 - 6000, X0 + 6000, Y0)],
                     crs=CRS).to_file(folder / "in" / "region.gpkg", layer="admin_units", engine="pyogrio")
    run_scenario(scenario, folder / "plan")
    built = folder / "built.csv"
    pd.DataFrame([("S1", "4G-1800", 2027, 200000)],
                 columns=["site_id", "technology", "year", "cost_cny"]).to_csv(built, index=False)
    result = CliRunner().invoke(app, ["evaluate", str(folder / "plan"), "--built", str(built), "-q"])
    assert result.exit_code == 0, result.output
    return (folder / "plan" / "evaluation-2027" / "evaluation.md").read_text(encoding="utf-8")


def table_rows(text: str, heading: str) -> list[list[str]]:
    """The cells of each row (header first) of the table under ``## heading``."""
    section = text.split(f"## {heading}")[1].split("\n## ")[0]
    return [[cell.strip() for cell in line.split("|")[1:-1]] for line in section.splitlines()
            if line.startswith("| ")]


def test_the_evaluation_names_counties_in_chinese(evaluation_md):
    """The county, site and uncovered-village tables name the counties by their ``name_zh``."""
    assert [row[0] for row in table_rows(evaluation_md, "各区县完成情况与得分")[1:]] \
        == ["西城区", "东城区", "（全市合计）"]
    assert "| S1 | 西城区 |" in evaluation_md
    assert not re.search(r"\b(West|East)\b", evaluation_md)


def test_the_chinese_evaluation_states_money_in_wan_yuan(evaluation_md):
    """S1 cost 200,000 元 (its capex and equipment, and the as-built list's cost): 20.00 万元 in
    every table, as the report states money, not 200,000."""
    sites = table_rows(evaluation_md, "站址计划与建设情况")
    header, s1 = sites[0], next(row for row in sites if row[0] == "S1")
    assert s1[header.index("计划投资 [万元]")] == "20.00" and s1[header.index("实际投资 [万元]")] == "20.00"
    overall = {row[0]: row[1:] for row in table_rows(evaluation_md, "计划与完成情况")}
    assert overall["建设投资 [万元]：计划 / 实际"] == ["20.00", "20.00"]
    assert "200,000" not in evaluation_md and "[元]" not in evaluation_md


def headline_row(report_md: str, kpi: str) -> list[str]:
    """The cells after the name of the headline table's row ``kpi``."""
    line = next(line for line in report_md.splitlines() if line.startswith(f"| {kpi} |"))
    return [cell.strip() for cell in line.split("|")[2:-1]]


@pytest.mark.parametrize("language, kpi", [("zh", "人口覆盖率 [%]"), ("en", "people covered [%]")])
def test_a_share_of_100_percent_reads_like_the_others(named, language, kpi):
    """Every share of the report to two decimals: all people covered reads 100.00 beside the
    share before, not 100 beside 98.90."""
    run, summary, _ = named
    k = summary["kpis"]
    full = copy.deepcopy(summary)
    full["kpis"]["people_covered_after"] = k["people_total"]
    tables = dataclasses.replace(plan_tables(run), summary=full)
    report = render_markdown(build_report(in_language(tables, language)))
    before = 100 * k["people_covered_before"] / k["people_total"]
    assert 0 < before < 100
    assert headline_row(report, kpi) == [f"{before:.2f}", "100.00"]


#: Run in report.html: its tables at their narrowest (each column as narrow as its words allow,
#: as in a narrow window or print column), then each header's text and the indices of the
#: characters that start a new line.
HEADER_LINES = """(() => {
  document.querySelectorAll('table').forEach(t => { t.style.width = '1px'; });
  return [...document.querySelectorAll('th')].map(th => {
    const node = th.firstChild, text = th.textContent, starts = [], range = document.createRange();
    let top = null;
    for (let i = 0; i < text.length; i++) {
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const rects = range.getClientRects();
      if (!rects.length || rects[0].width === 0) continue;
      if (top !== null && rects[0].top > top + 1) starts.push(i);
      top = rects[0].top;
    }
    return [text, starts];
  });
})()"""


def test_chinese_headers_wrap_only_at_their_spaces_in_chromium(named, tmp_path):
    """report.html in headless chromium, its tables squeezed: a header breaks only at a space
    (before its unit), never inside a word or a unit ("成本 [万" over "元]")."""
    from test_browser import chromium_binary, inspect_page
    _, _, out = named
    visit = inspect_page(chromium_binary(), out / "report.html", HEADER_LINES, tmp_path / "chromium")
    headers = {text: starts for text, starts in visit.state}
    assert headers["成本 [万元]"] == [len("成本 ")]  # squeezed: it wraps, before its unit
    inside = {text: starts for text, starts in headers.items() if any(text[i - 1] != " " for i in starts)}
    assert inside == {}


#: Run in comparison.html: its image overlays (name, decoded, bounds) and the plans' markers.
OVERLAYS = """(() => {
  const map = window[document.querySelector('.folium-map').id];
  const images = [], markers = [];
  map.eachLayer(layer => {
    if (layer instanceof L.ImageOverlay) {
      const b = layer.getBounds(), img = layer.getElement();
      images.push({south: b.getSouth(), west: b.getWest(), north: b.getNorth(), east: b.getEast(),
                   decoded: img.complete && img.naturalWidth > 0});
    } else if (layer instanceof L.CircleMarker) {
      markers.push(layer.getLatLng());
    }
  });
  return {images: images, markers: markers,
          layers: [...document.querySelectorAll('.leaflet-control-layers-overlays span span')]
              .map(e => e.textContent.trim())};
})()"""


def test_comparison_html_has_the_hillshade_of_map_html_offline(named, tmp_path):
    """comparison.html shows the terrain of map.html (the committee compares the plans on the
    same view): one hillshade overlay under every site and village, decoded with the network
    off, named as on map.html, no request, no script error."""
    from test_browser import chromium_binary, inspect_page, page_errors, requested_hosts
    _, _, out = named
    write_comparison(compare_folders(out, out), tmp_path / "cmp")
    visit = inspect_page(chromium_binary(), tmp_path / "cmp" / "comparison.html", OVERLAYS,
                         tmp_path / "chromium")
    state = visit.state
    assert state["layers"][0] == "地形（晕渲）"
    assert len(state["images"]) == 1 and state["images"][0]["decoded"]
    shade = state["images"][0]
    assert state["markers"]
    assert all(shade["south"] < m["lat"] < shade["north"] and shade["west"] < m["lng"] < shade["east"]
               for m in state["markers"])
    assert page_errors(visit, None) == [] and requested_hosts(visit) == set()


def test_a_comparison_without_the_dem_says_so_and_is_drawn_without_terrain(named, tmp_path, caplog):
    _, _, out = named
    moved = tmp_path / "plan"
    shutil.copytree(out, moved)
    summary = json.loads((moved / "summary.json").read_text(encoding="utf-8"))
    summary["scenario_file"] = str(tmp_path / "gone" / "scenario.yaml")
    (moved / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    comparison = compare_folders(moved, moved)
    assert comparison.terrain is None
    assert "comparison.html is drawn without the terrain hillshade" in caplog.text
    assert str(moved) in caplog.text
    page = comparison_map(comparison).get_root().render()
    assert "地形（晕渲）" not in page


def test_chinese_comparison_and_map_popups_state_money_in_wan_yuan_as_the_report(named):
    """The report states the total cost in 万元 (4,499.62 万元); comparison.md, the terminal's
    table and map.html's site popups stated the same amounts in 元 (44,996,200)."""
    run, summary, out = named
    total_cny = summary["kpis"]["total_cost_cny"]
    assert total_cny > 0
    wan = f"{total_cny / 1e4:,.2f}"
    assert f"{wan} 万元" in (out / "report.md").read_text(encoding="utf-8")
    plan = read_plan_folder(out)
    for language, label, shown, zero in (("zh", "规划期总成本 [万元]", wan, "0.00"),
                                         ("en", "total cost over the horizon [CNY]", f"{total_cny:,.0f}", "0")):
        text = render_comparison(dataclasses.replace(
            compare_tables(plan, dataclasses.replace(plan, name="B")), language=language))
        assert f"| {label} | {shown} | {shown} | {zero} |" in text
    page = with_popups((out / "map.html").read_text(encoding="utf-8"))
    built = plan_tables(run).sites.query("action == 'build'")
    assert len(built)
    for cost in built["total_cost_cny"]:
        assert f"成本 [万元]</th><td>{cost / 1e4:,.2f}</td>" in page
    assert "[元]" not in page


def test_a_chinese_comparison_states_the_as_built_lists_money_in_wan_yuan(named):
    """A re-plan's note in the comparison: the list's 200,000 元 spent, 310,000 元 with its opex,
    read 20.00 and 31.00 万元, as the report states them."""
    _, _, out = named
    plan = read_plan_folder(out)
    comparison = dataclasses.replace(
        compare_tables(plan, dataclasses.replace(plan, name="B")),
        as_built={"B": {"source": "built.csv", "sites": 1, "spent_cny": 200000.0, "charged_cny": 310000.0}})
    note = as_built_notes(comparison)[0]
    assert "实际投资 20.00 万元（计入规划期运维费为 31.00 万元）" in note, note
    english = as_built_notes(dataclasses.replace(comparison, language="en"))[0]
    assert "spent: 200,000 CNY, 310,000 CNY with their opex" in english, english


@pytest.mark.parametrize("language, word", [("zh", "字母："), ("en", "letter: ")])
def test_the_map_legend_explains_every_letter_on_a_site_icon(named, language, word):
    """A site on an existing tower carries the letter T on map.html, which the legend left out
    (it skipped every kind named existing_..., meant for the existing network's E)."""
    run, _, _ = named
    tables = in_language(plan_tables(run), language)
    sites = tables.sites.copy()
    sites.loc[sites["action"] == "build", "kind"] = "existing_tower"
    page = build_map(dataclasses.replace(tables, sites=sites)).get_root().render()
    on_icons = {re.search(r">(\w)</div>$", icon["html"]).group(1)
                for layer in point_layers(page) if layer["marker"] == "icon" for icon in layer["styles"]}
    assert "T" in on_icons
    listed = re.search(f"{word}([^<]*)<", page).group(1)
    explained = {item.strip()[0] for item in re.split("、|, ", listed)}
    assert on_icons <= explained, (on_icons, listed)


def test_every_balloon_label_of_the_chinese_kml_is_chinese(named):
    """sites.kml in Chinese: siting's own candidate fields (extra_cost_cny, has_fiber,
    backhaul_in_place) and the candidate's input capex and opex kept beside the plan's
    (input_capex_cny, ...) were labelled in English in the balloons."""
    _, _, out = named
    kml = (out / "sites.kml").read_text(encoding="utf-8")
    labels = set(re.findall(r"<th[^>]*>([^<]*)</th>", html.unescape(kml)))
    # in 万元, as every Chinese output gives money (test_qa_gisout)
    assert {"附加成本 [万元]", "站址建设投资（输入）[万元]", "站址运维费用（输入）[万元/年]"} <= labels
    # but the planner's own column 'action' (a note), kept under its name beside the plan's
    assert [label for label in labels if not re.search(r"[\u4e00-\u9fff]", label)] == ["input_action"]


def test_siting_run_prints_the_share_covered_as_the_report(tmp_path):
    """The terminal's summary of a run gave the share of people covered to one decimal
    (95.4%) where the report gives 95.35: both now write it to two."""
    scenario = chinese_region(tmp_path)
    result = CliRunner().invoke(app, ["run", str(scenario), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    k = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))["kpis"]
    share = f"{100 * k['people_covered_after'] / k['people_total']:.2f}"
    assert f"（{share}%）" in result.stdout, result.stdout
    assert headline_row((tmp_path / "out" / "report.md").read_text(encoding="utf-8"), "人口覆盖率 [%]")[1] == share


def test_siting_run_prints_a_chinese_runs_summary_in_chinese(tmp_path):
    """A Chinese run's terminal summary was English ("people covered", "... CNY") beside a
    report in Chinese; it reads as the report: its labels in Chinese, money in 万元."""
    scenario = chinese_region(tmp_path)
    result = CliRunner().invoke(app, ["run", str(scenario), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    k, solver = summary["kpis"], summary["solver"]
    lines = [" ".join(line.replace("│", " ").split()) for line in result.stdout.splitlines()]
    assert f"覆盖人口 {k['people_covered_before']:,.0f} -> {k['people_covered_after']:,.0f}" \
           f"（{100 * k['people_covered_after'] / k['people_total']:.2f}%）" in lines
    assert f"总成本 {k['total_cost_cny'] / 1e4:,.2f} 万元" in lines
    assert f"必覆盖村庄 已覆盖 {k['mandatory_villages_covered']} 个，共 " \
           f"{k['mandatory_villages_total']} 个" in lines
    assert f"求解器 {solver['name']} 最优，间隙 {100 * solver['gap']:.3f}%" in lines \
        or solver["status"] != "optimal"
    assert "people covered" not in result.stdout and "CNY" not in result.stdout

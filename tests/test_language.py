"""Outputs in Simplified Chinese (``report.language: zh``), Chinese names everywhere, the
planner's own columns carried to the GIS files, and coverage per county from the polygons."""

from __future__ import annotations

import base64
import copy
import dataclasses
import io
import json
import logging
import re
import string
import warnings
import xml.etree.ElementTree as ET

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib import font_manager
from fontTools.ttLib import TTFont
from matplotlib.figure import Figure
from PIL import Image
from shapely.geometry import box

from map_popups import with_popups
from regions import X0, Y0, candidate, ridge_dem, village, write_region
from siting.config import load_scenario
from siting.export.gis import write_layers
from siting.export.i18n import LANGUAGES, TERMS, money, rsrp_class_labels, stage_text, term, value_text
from siting.export.kml import write_kml
from siting.export.report import build_report, render_markdown
from siting.export.staticmap import (FontError, find_cjk_font, packaged_cjk_font, text_fonts,
                                     write_static_map)
from siting.export.tables import (OUTSIDE_ADMIN_UNITS, admin_table, plan_tables, selected_sites,
                                  site_table, uncovered_mandatory, village_admin_units,
                                  village_table)
from siting.export.webfont import cjk_characters, with_embedded_font
from siting.export.webmap import write_map
from siting.pipeline import compute, write_outputs
from siting.sweep import curve_labels, write_curve

KML = {"kml": "http://www.opengis.net/kml/2.2"}
NAME = "安康市汉滨区基站站址规划"
# county polygons: west and east halves of the 12 km of the 15 km x 6 km DEM the villages and the
# population are on, and one east of them with nothing (the DEM covers every county)
COUNTIES = {"汉滨区": box(X0, Y0 - 6000, X0 + 6000, Y0), "紫阳县": box(X0 + 6000, Y0 - 6000, X0 + 12000, Y0),
            "岚皋县": box(X0 + 12000, Y0 - 6000, X0 + 15000, Y0)}
SITE_NAMES = {"c1": "城关镇政府楼", "c2": "现网基站·大河", "c3": "路灯杆7号"}
VILLAGE_NAMES = ("大河村", "小河村", "坪上村", "双龙易地搬迁安置点")
HAN = re.compile(r"[\u4e00-\u9fff]")


def chinese_region(folder, language="zh"):
    """The export tests' region with Chinese names (its DEM 3 km wider, under a third county):
    west of a ridge an existing 4G site and two villages, east a poverty village only a new
    lamp-pole site reaches and, out of every site's range, a relocation site. One village's ``admin_unit`` field names the wrong county (the
    polygons decide); candidates and villages carry columns of the planner's own."""
    population = np.zeros((60, 120), np.float32)
    population[10:20, 5:25] = 40.0
    villages = [village("v1", 1000, 1000, name="大河村", admin="汉滨区"),
                village("v2", 2000, 4000, poverty=False, name="小河村", admin="石泉县"),
                village("v4", 4200, 1200, name="坪上村", admin="汉滨区"),
                village("v3", 11900, 5900, poverty=False, relocation=True, name="双龙易地搬迁安置点",
                        admin="紫阳县")]
    for v, code in zip(villages, ("610902101", "610902102", "610902103", "610924201")):
        v["村代码"] = code
    candidates = [candidate("c1", 1200, 1500), candidate("c2", 800, 3500, kind="existing_4g", capex=0.0),
                  candidate("c3", 4000, 1000, kind="lamp_pole")]
    for c in candidates:
        c["站名"] = SITE_NAMES[c["site_id"]]
        c["action"] = "planner's note"  # a name the site table computes itself
    path = write_region(folder, ridge_dem(cols=500, ridge_height_m=600.0), villages, candidates,
                        population=population, name=NAME, report={"language": language})
    gpd.GeoDataFrame({"admin_unit": list(COUNTIES)}, geometry=list(COUNTIES.values()),
                     crs="EPSG:32649").to_file(folder / "region.gpkg", layer="admin_units",
                                               engine="pyogrio")
    return path


@pytest.fixture(scope="module")
def zh(tmp_path_factory):
    """The Chinese region planned and written in Chinese; its fonts' complaints while writing."""
    folder = tmp_path_factory.mktemp("zh")
    outputs = []
    run = compute(load_scenario(chinese_region(folder)))
    out = folder / "out"
    trouble = glyph_trouble(lambda: outputs.append(write_outputs(run, out)))
    return run, outputs[0], out, trouble


def in_language(run, language):
    """The same run (or its tables) with its outputs in ``language``."""
    outputs = dataclasses.replace(run.scenario.outputs, language=language)
    return dataclasses.replace(run, scenario=dataclasses.replace(run.scenario, outputs=outputs))


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def glyph_trouble(draw) -> list[str]:
    """Run ``draw`` and return every missing-glyph warning or font-manager complaint it caused
    (matplotlib warns ``Glyph NNNN ... missing from font(s) ...`` and logs ``findfont: ...``,
    each once per font and process: so the first map of the session is checked too)."""
    records, logger = _Records(), logging.getLogger("matplotlib")
    logger.addHandler(records)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            draw()
    finally:
        logger.removeHandler(records)
    return [str(w.message) for w in caught if "glyph" in str(w.message).lower()] + records.messages


def test_the_region_planned_in_chinese(zh):
    run, summary, _, _ = zh
    assert run.scenario.outputs.language == "zh" and summary["scenario"] == NAME
    assert [u["name"] for u in summary["uncovered_mandatory_villages"]] == ["双龙易地搬迁安置点"]


def test_map_png_in_chinese_has_every_glyph(zh, tmp_path):
    run, _, out, trouble = zh
    assert (out / "map.png").stat().st_size > 10_000
    assert trouble == []  # the first map drawn in this process (matplotlib complains once)
    tables = plan_tables(run)
    assert glyph_trouble(lambda: write_static_map(tmp_path / "map.png", tables)) == []
    assert text_fonts([NAME, *COUNTIES], "zh")[0] == find_cjk_font()


def test_the_glyph_check_would_catch_boxes(tmp_path):
    def latin_font_only():
        with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
            fig = Figure()
            fig.text(0.5, 0.5, "站址")
            fig.savefig(tmp_path / "boxes.png")

    assert any("missing from font" in t for t in glyph_trouble(latin_font_only))


def test_a_character_no_font_has_is_an_error_not_boxes(zh, tmp_path):
    run, _, _, _ = zh
    tables = plan_tables(run)
    villages = tables.villages.copy()
    villages.loc[villages["status"] == "mandatory_uncovered", "name"] = "西夏\U00017000村"  # Tangut
    with pytest.raises(FontError, match="U[+]17000"):
        write_static_map(tmp_path / "map.png", dataclasses.replace(tables, villages=villages))
    assert not (tmp_path / "map.png").exists()


def test_an_english_map_draws_chinese_names_with_the_cjk_font(zh, tmp_path):
    run, _, _, _ = zh
    english = in_language(plan_tables(run), "en")
    assert text_fonts(["Siting plan: " + NAME], "en") == ["DejaVu Sans", find_cjk_font()]
    assert text_fonts(["Siting plan: demo"], "en") == ["DejaVu Sans"]
    trouble = glyph_trouble(lambda: write_static_map(tmp_path / "map.png", english))
    assert trouble == []


def test_the_packaged_font_draws_every_chinese_term_and_name():
    packaged = packaged_cjk_font()
    assert packaged is not None, "justmytype-intl-cjk is a dependency of siting"
    font = font_manager.get_font(str(packaged))
    assert font.family_name == "Noto Sans SC" and font.style_name == "Regular"
    charmap = font.get_charmap()
    zh_text = "".join([*(texts["zh"] for texts in TERMS.values()), NAME, *COUNTIES, *VILLAGE_NAMES])
    missing = {c for c in zh_text if c.isprintable() and not c.isspace() and ord(c) not in charmap}
    assert missing == set()
    text_fonts([texts["zh"] for texts in TERMS.values()], "zh")  # and so does the font chosen


def test_report_md_in_chinese_has_chinese_headings_and_names(zh):
    _, _, out, _ = zh
    report = (out / "report.md").read_text(encoding="utf-8")
    assert report.startswith(f"# 基站站址规划：{NAME}\n")
    for heading in ("主要指标", "按制式统计站址与成本", "各区县覆盖情况", "与简单规则的比较",
                    "仍未覆盖的必覆盖村", "新建和升级站址清单", "计算假设", "求解步骤"):
        assert f"\n## {heading}\n" in report, heading
    for name in (*COUNTIES, "双龙易地搬迁安置点"):
        assert name in report, name
    assert "| 覆盖人口 |" in report and "人口覆盖率 [%]" in report and "| 路灯杆 |" in report
    assert "在预算或新建站址数上限内无法覆盖" in report or "覆盖范围内没有候选站址" in report
    assert "| c3 | 新建 |" in report
    assert "## Headline" not in report and "people covered" not in report
    steps = [line for line in report.splitlines() if re.match(r"\d+\. ", line)]
    assert steps and all(HAN.search(step) for step in steps)


def test_report_html_in_chinese(zh):
    _, _, out, _ = zh
    page = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and "<h2>主要指标</h2>" in page and "双龙易地搬迁安置点" in page
    assert '由 siting 生成。交互式地图见 <a href="map.html">map.html</a>' in page


def embedded_font(page: str) -> TTFont:
    """The font a page carries in its ``@font-face`` rule (a WOFF ``data:`` URL)."""
    found = re.search(r'font-family: "siting CJK"; src: url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)',
                      page)
    assert found, "no embedded font"
    return TTFont(io.BytesIO(base64.b64decode(found.group(1))))


def test_chinese_pages_carry_the_font_of_every_chinese_character(zh):
    """report.html and map.html hold the Chinese font cut down to their own characters, so a
    laptop without a Chinese font draws them: every CJK character of the page is in the font's
    character map, and the font holds little more (it is a subset, not the whole font)."""
    _, _, out, _ = zh
    shown = {"report.html": NAME + "主要指标双龙易地搬迁安置点",  # the title, a heading, a name
             "map.html": NAME + "地形（晕渲）图例"}  # a JS-escaped layer name, an HTML-escaped legend
    for name, text in shown.items():
        page = (out / name).read_text(encoding="utf-8")
        font = embedded_font(page)
        characters = set(cjk_characters(page))
        assert set(text) - {" "} <= characters <= set(map(chr, font.getBestCmap())), name
        assert len(font.getGlyphOrder()) <= len(characters) + 10, name


def test_a_page_without_chinese_carries_no_font():
    page = "<html><head><title>map</title></head><body>Legend</body></html>"
    assert with_embedded_font(page) == page


def test_english_stays_english_with_chinese_names(zh):
    run, _, _, _ = zh
    report = render_markdown(build_report(in_language(plan_tables(run), "en")))
    assert report.startswith(f"# Siting plan: {NAME}\n")
    assert "## Headline" in report and "## Coverage by admin unit" in report
    assert "| c3 | build | lamp pole |" in report
    assert not HAN.search(re.sub("|".join([NAME, *COUNTIES, "双龙易地搬迁安置点"]), "", report))


def test_summary_stays_machine_readable(zh):
    _, summary, out, _ = zh
    assert summary["uncovered_mandatory_villages"][0]["reason"] in (
        "no candidate within range", "terrain or distance keeps every candidate in range below the threshold")
    assert set(summary["by_kind"]) <= {"lamp_pole", "public_building", "existing_4g"}
    header = (out / "selected_sites.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("site_id,lon,lat,x_m,y_m,crs,kind,")


def test_extra_columns_reach_csv_gpkg_and_kml(zh):
    _, _, out, _ = zh
    csv = pd.read_csv(out / "selected_sites.csv", dtype=str, encoding="utf-8").set_index("site_id")
    assert {s: csv.at[s, "站名"] for s in csv.index} == {s: SITE_NAMES[s] for s in csv.index}
    assert (csv["input_action"] == "planner's note").all() and "input_capex_cny" in csv
    assert set(csv["action"]) <= {"build", "upgrade", "keep"}
    layer = gpd.read_file(out / "sites.gpkg", layer="candidates").set_index("site_id")
    assert layer["站名"].to_dict() == SITE_NAMES
    villages = gpd.read_file(out / "sites.gpkg", layer="villages").set_index("village_id")
    assert villages.at["v3", "村代码"] == "610924201" and villages.at["v3", "name"] == "双龙易地搬迁安置点"
    assert villages.at["v2", "admin_unit"] == "石泉县"  # the planner's field, as given
    root = ET.parse(out / "sites.kml").getroot()
    names = [e.text for e in root.findall(".//kml:SimpleData[@name='站名']", KML)]
    assert sorted(names) == sorted(csv["站名"])
    uncovered = root.findall(".//kml:Folder", KML)[1]
    assert uncovered.findtext("kml:Placemark/kml:name", namespaces=KML) == "双龙易地搬迁安置点"
    assert uncovered.findtext(".//kml:SimpleData[@name='村代码']", namespaces=KML) == "610924201"


def test_gpkg_keeps_chinese_field_names_and_missing_values(tmp_path):
    frame = gpd.GeoDataFrame({"站名": ["大河村委会", None], "高度": [30.0, 45.0]},
                             geometry=gpd.points_from_xy([X0, X0 + 10], [Y0, Y0]), crs="EPSG:32649")
    write_layers(tmp_path / "t.gpkg", {"站址": frame})
    back = gpd.read_file(tmp_path / "t.gpkg", layer="站址")
    assert back.at[0, "站名"] == "大河村委会" and pd.isna(back.at[1, "站名"])  # NULL, not "None"
    assert back["高度"].tolist() == [30.0, 45.0]


def test_site_and_village_tables_keep_every_input_column(zh):
    run, _, _, _ = zh
    sites, villages = site_table(run), village_table(run)
    for column in ("站名", "extra_cost_cny", "admin_unit", "input_action", "input_capex_cny"):
        assert column in sites, column
    assert list(sites["站名"]) == [SITE_NAMES[s] for s in sites["site_id"]]
    assert "村代码" in villages and villages["village_id"].tolist() == ["v1", "v2", "v4", "v3"]


def test_county_kpis_follow_the_polygons_and_list_every_county(zh):
    run, summary, _, _ = zh
    table = admin_table(run).set_index("admin_unit")
    assert list(table.index) == list(COUNTIES)  # every cell and village lies in a polygon
    assert table["villages"].to_dict() == {"汉滨区": 3, "紫阳县": 1, "岚皋县": 0}  # v2 by its polygon
    assert table.loc["岚皋县"].sum() == 0
    people = summary["kpis"]["people_total"]
    assert people > 0 and table["people"].sum() == pytest.approx(people)
    assert table.at["汉滨区", "people"] + table.at["紫阳县", "people"] == pytest.approx(people)
    assert table.at["汉滨区", "people_after"] >= table.at["汉滨区", "people_before"] > 0
    assert table.at["紫阳县", "villages_after"] == 0
    assert list(summary["by_admin_unit"]) == list(COUNTIES)
    assert summary["by_admin_unit"]["岚皋县"] == {k: 0 for k in table.columns}


def test_county_kpis_fall_back_to_the_village_field(zh):
    run, _, _, _ = zh
    region = dataclasses.replace(run.region, admin_units=None)
    table = admin_table(dataclasses.replace(run, region=region)).set_index("admin_unit")
    assert list(table.index) == ["汉滨区", "石泉县", "紫阳县", OUTSIDE_ADMIN_UNITS]
    assert table["villages"].tolist() == [2, 1, 1, 0]
    assert table.at[OUTSIDE_ADMIN_UNITS, "people"] > 0  # cells have no field


def test_a_village_outside_every_polygon_counts_by_its_field(zh):
    run, _, _, _ = zh
    units = run.region.admin_units.drop(index="紫阳县")
    table = admin_table(dataclasses.replace(run, region=dataclasses.replace(run.region, admin_units=units)))
    assert table.set_index("admin_unit")["villages"].to_dict() == {"汉滨区": 3, "岚皋县": 0, "紫阳县": 1}


def test_every_term_has_both_languages_with_the_same_placeholders():
    def fields(text):
        return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name)

    for key, texts in TERMS.items():
        assert set(texts) == set(LANGUAGES), key
        assert fields(texts["en"]) == fields(texts["zh"]), key
    for key in TERMS:
        if key.split(".")[0] in ("report", "section", "header", "kpi", "goal", "limit", "figure",
                                 "staticmap", "webmap", "kml", "field", "boolean", "sweep") \
                and key not in ("header.eirp_dbm", "staticmap.scale", "webmap.tooltip_site"):
            assert HAN.search(TERMS[key]["zh"]), key


def test_backhaul_is_one_word_in_every_chinese_output():
    """The report, map and sites.kml call backhaul 传输; the year-end evaluation called it 回传,
    so the committee read two words for one thing in two documents of one plan."""
    backhaul = [key for key, texts in TERMS.items() if "backhaul" in texts["en"].lower()]
    assert len(backhaul) > 30
    assert [key for key in backhaul if "传输" not in TERMS[key]["zh"]] == []


def test_term_lookup():
    assert term("section.headline", "zh") == "主要指标"
    assert term("limit.budget", "zh", budget=money(9e6, "zh")) == "预算 900.00 万元"
    assert value_text("action", "build", "zh") == "新建" and value_text("action", "build", "en") == "build"
    assert value_text("kind", "my_own_kind", "zh") == "my_own_kind"
    assert value_text("admin", OUTSIDE_ADMIN_UNITS, "zh") == "（行政区外）"
    assert rsrp_class_labels([-85, -95, -105, -200], "en")[1] == "-95 to -85 dBm (good)"
    with pytest.raises(ValueError, match="en, zh"):
        term("section.headline", "fr")
    with pytest.raises(KeyError):
        term("no.such.term", "en")


def test_every_stage_of_the_planner_reads_in_chinese(zh):
    run, _, _, _ = zh
    stages = list(run.plan.stages) + [
        "cover every reachable mandatory point by 2028 (4 zone check points by at least 2 sites "
        "each, for backup): over the budget or quota",
        "then cover the most people earliest: people covered summed over the 5 phases, discounted 3% a year",
        "then as many of the others as the later phases allow, by 2029 (17 of 20 in all)"]
    for stage in stages:
        text = stage_text(stage, "zh")
        assert HAN.search(text) and not re.search(r"[a-z]{3,}", text), (stage, text)
    assert stage_text("a stage added later", "zh") == "a stage added later"


def test_cost_coverage_curve_with_a_chinese_title(tmp_path):
    curve = pd.DataFrame({"budget_cny": [1e6, 2e6], "people_covered_pct": [50.0, 70.0],
                          "mandatory_covered": [3, 4], "mandatory_total": [4, 4]})
    assert glyph_trouble(lambda: write_curve(curve, tmp_path, NAME)) == []
    assert (tmp_path / "cost_coverage.png").exists()


def test_cost_coverage_curve_in_the_scenario_language(tmp_path):
    curve = pd.DataFrame({"max_new_sites": [1, 2], "people_covered_pct": [50.0, 70.0],
                          "mandatory_covered": [3, 4], "mandatory_total": [4, 4]})
    curve.attrs["language"] = "zh"  # as siting.sweep.sweep notes the scenario's language
    assert glyph_trouble(lambda: write_curve(curve, tmp_path / "zh", NAME)) == []
    labels = curve_labels("max_new_sites", NAME, "zh")
    assert labels == {"title": f"{NAME}：投资-覆盖曲线（标注：已覆盖必覆盖点数）",
                      "x": "新建站址上限 [个]", "y": "人口覆盖率 [%]"}
    assert Image.open(tmp_path / "zh" / "cost_coverage.png").text["Title"] == labels["title"]
    write_curve(curve, tmp_path / "en", "demo", language="en")
    assert Image.open(tmp_path / "en" / "cost_coverage.png").text["Title"] == (
        "demo: cost-coverage curve (labels: mandatory points covered)")
    assert curve_labels("budget_cny", "demo", "en")["x"] == "budget [million CNY]"


# --- map.html and sites.kml in Chinese ----------------------------------------------------------


def layer_names(page: str) -> list[str]:
    """The overlay names of map.html's layer control (folium writes them as JSON strings)."""
    block = re.search(r"overlays\s*:\s*\{(.*?)\}", page, re.DOTALL).group(1)
    return [json.loads(name) for name in re.findall(r'("(?:[^"\\]|\\.)*")\s*:', block)]


ZH_LAYERS = ["地形（晕渲）", "人口（每网格人数）", "规划后覆盖（最强服务小区 RSRP）", "4G-1800 覆盖（RSRP）", "区县", "入选站址：4G-1800", "入选站址：5G-3500", "现网站址", "村"]
EN_LAYERS = ["Terrain (hillshade)", "Population (people per cell)",
             "Coverage after plan (best server RSRP)", "Coverage 4G-1800 (RSRP)", "Admin units", "Selected sites: 4G-1800",
             "Selected sites: 5G-3500", "Existing sites", "Villages"]


def test_map_html_in_chinese(zh):
    _, _, out, _ = zh
    page = with_popups((out / "map.html").read_text(encoding="utf-8"))
    assert page.startswith('<!DOCTYPE html>\n<html lang="zh-CN">\n')
    assert layer_names(page) == ZH_LAYERS
    legend = re.search(r"<div id='siting-legend'.*?</div></div>", page, re.DOTALL).group(0)
    for text in ("<b>图例</b>", "≥ -85 dBm（优）", "-95 至 -85 dBm（良）", "&lt; -105 dBm（边缘）",
                 "站址：4G-1800", "新建站址", "升级的现网站址", "L 路灯杆", "现网站址（保留）",
                 "村：已覆盖", "村：必覆盖村未覆盖", "每网格人口（对数"):
        assert text in legend, text
    assert f"基站站址规划：{NAME}</div>" in page
    for name in VILLAGE_NAMES:  # UTF-8 as written, in the popup and the tooltip
        assert f"<td>{name}</td>" in page and f"{name}\n" in page, name
    relocation = re.search(r"<table>(?:(?!</table>).)*双龙易地搬迁安置点.*?</table>", page, re.DOTALL).group(0)
    for cell in ("<th style='text-align:left;padding-right:6px'>村</th>", "<td>紫阳县</td>",
                 "<td>是</td>", "<td>必覆盖村未覆盖</td>", "未覆盖原因"):
        assert cell in relocation, cell
    assert "<td>新建</td>" in page and "<td>路灯杆</td>" in page and "c3：新建" in page
    english = re.sub(r'<(script|style) data-vendored="[^"]+">.*?</\1>', "", page, flags=re.DOTALL)
    for word in ("Legend", "Villages", "Selected sites", "people newly covered", "mandatory uncovered"):
        assert word not in english, word


def test_map_html_in_english_keeps_the_chinese_names(zh, tmp_path):
    run, _, _, _ = zh
    write_map(tmp_path / "map.html", in_language(plan_tables(run), "en"))
    page = with_popups((tmp_path / "map.html").read_text(encoding="utf-8"))
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">\n')
    assert layer_names(page) == EN_LAYERS
    assert "<b>Legend</b>" in page and f"Siting plan: {NAME}</div>" in page
    assert "<td>双龙易地搬迁安置点</td>" in page and "<td>mandatory uncovered</td>" in page


def test_the_run_writes_sites_kml_in_chinese(zh):
    _, _, out, _ = zh
    root = ET.parse(out / "sites.kml").getroot()
    assert root.findtext("kml:Document/kml:name", namespaces=KML) == f"基站站址规划（siting）：{NAME}"
    assert [f.findtext("kml:name", namespaces=KML) for f in root.findall(".//kml:Folder", KML)] == [
        "规划站址", "未覆盖的必覆盖村"]


def test_sites_kml_in_chinese(zh, tmp_path):
    """The folders and the balloon in Chinese; ExtendedData (what programs read) unchanged."""
    run, _, _, _ = zh
    sites, villages = site_table(run), village_table(run)
    path = tmp_path / "sites.kml"
    write_kml(path, term("kml.title", "zh", name=NAME), selected_sites(sites),
              uncovered_mandatory(villages), language="zh")
    root = ET.parse(path).getroot()
    assert root.findtext("kml:Document/kml:name", namespaces=KML) == f"基站站址规划（siting）：{NAME}"
    folders = root.findall(".//kml:Folder", KML)
    assert [f.findtext("kml:name", namespaces=KML) for f in folders] == ["规划站址", "未覆盖的必覆盖村"]
    c3 = next(p for p in folders[0].findall("kml:Placemark", KML)
              if p.findtext("kml:name", namespaces=KML) == "c3")
    balloon = c3.findtext("kml:description", namespaces=KML)
    for cell in ("<th>建设方式</th><td>新建</td>", "<th>站址类型</th><td>路灯杆</td>",
                 f"<th>站名</th><td>{SITE_NAMES['c3']}</td>", "<th>免费公共站址</th><td>否</td>"):
        assert cell in balloon, cell
    fields = {d.get("name"): d.text for d in c3.findall(".//kml:SimpleData", KML)}
    # a flag as xsd:boolean's 0/1, which GDAL 3.6 reads too (test_qa_gisout), never 否
    assert fields["action"] == "build" and fields["kind"] == "lamp_pole" and fields["free_public"] == "0"
    village = folders[1].find("kml:Placemark", KML)
    assert village.findtext("kml:name", namespaces=KML) == "双龙易地搬迁安置点"
    reason = village.find(".//kml:SimpleData[@name='uncovered_reason']", KML).text
    assert f"<th>未覆盖原因</th><td>{value_text('reason', reason, 'zh')}</td>" in (
        village.findtext("kml:description", namespaces=KML))


# --- the report: how people are counted, and the county of an uncovered village -----------------


def without_population_raster(tables):
    return dataclasses.replace(tables, has_population_raster=False)


@pytest.mark.parametrize("language", LANGUAGES)
def test_report_says_how_people_are_counted(zh, language):
    run, _, _, _ = zh
    tables = plan_tables(run)
    with_raster = render_markdown(build_report(in_language(tables, language)))
    without = render_markdown(build_report(in_language(without_population_raster(tables), language)))
    raster_text = term("report.demand_raster", language, grid_m=run.scenario.demand.grid_m)
    no_raster_text = term("report.demand_no_raster", language)
    assert raster_text in with_raster and no_raster_text not in with_raster
    assert no_raster_text in without and raster_text not in without
    assert no_raster_text in without.split(f"## {term('section.assumptions', language)}\n")[1]
    plainly = {"en": ("no population raster was given", "the villages' listed populations",
                      "complaint points", "5G zones"),
               "zh": ("未提供人口栅格", "各村的登记人口", "投诉点", "5G 重点区域")}[language]
    assert all(words in without for words in plainly)
    shared = {"en": ("taken out of the raster cell it lies in", "the larger of", "twice"),
              "zh": ("从其所在的栅格网格中扣除", "较大者", "不重复计算")}[language]
    assert all(words in with_raster for words in shared)


def test_a_run_without_a_population_raster_says_so(tmp_path):
    path = chinese_region(tmp_path)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["inputs"]["population"] = None
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    run = compute(load_scenario(path))
    assert run.region.population_source is None and set(run.demand.kind) == {"village"}
    tables = plan_tables(run)
    for language in LANGUAGES:
        report = render_markdown(build_report(in_language(tables, language)))
        assert term("report.demand_no_raster", language) in report
        assert term("report.demand_raster", language, grid_m=run.scenario.demand.grid_m) not in report


def test_uncovered_villages_show_the_county_of_their_polygon(zh):
    """v2's own field names 石泉县 but it lies in 汉滨区's polygon: the demand counts it there,
    and so does the report's table of uncovered mandatory villages."""
    run, summary, _, _ = zh
    units = village_admin_units(run.demand)
    assert units == {"v1": "汉滨区", "v2": "汉滨区", "v4": "汉滨区", "v3": "紫阳县"}
    field_says = copy.deepcopy(summary)
    field_says["uncovered_mandatory_villages"][0]["admin_unit"] = "石泉县"  # as a wrong field would
    for language in LANGUAGES:
        tables = dataclasses.replace(plan_tables(run), summary=field_says)
        report = render_markdown(build_report(in_language(tables, language)))
        assert "| v3 | 双龙易地搬迁安置点 | 紫阳县 |" in report and "石泉县" not in report


def test_selected_sites_csv_opens_in_excel_with_chinese_names(zh):
    """UTF-8 with a byte-order mark: Excel on a Chinese Windows reads it as UTF-8, not GBK."""
    _, _, out, _ = zh
    raw = (out / "selected_sites.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfsite_id,") and SITE_NAMES["c3"].encode("utf-8") in raw
    assert pd.read_csv(out / "selected_sites.csv").columns[0] == "site_id"

"""QA of the year-end story: as-built sheets written as a prefecture's planners write them,
the evaluation, the re-plan and its comparison with the plan.

The region: three villages 2 km apart on a flat valley floor, one candidate beside each (S1,
S2, S3), a 4G range of 900 m (each site covers its own village only) and one site's budget a
year, so the plan builds S1 (300 people) in 2027, S2 (200) in 2028, S3 (100) in 2029.
"""

from __future__ import annotations

import datetime
import json
import re
import subprocess

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from siting.cli import app
from siting.compare import whole_plan_kpis
from siting.evaluate import county_names, evaluate_plan
from siting.pipeline import run_scenario
from siting.export.gis import year_labels
from tests.map_popups import with_popups
from tests.regions import ONE_4G_SITE_CNY, candidate, one_site_a_year_region, village

runner = CliRunner()
ONE_SITE_CNY = ONE_4G_SITE_CNY
#: The opex a 4G site adds per year: the site's own and the technology's [CNY].
SITE_OPEX_CNY = 10000 + 12000
OPEX_YEARS = 5


def three_village_region(folder, **scenario):
    villages = [village("V1", 1000, 3000, population=300), village("V2", 3000, 3000, population=200),
                village("V3", 5000, 3000, population=100)]
    candidates = [candidate(s, x, 3000, techs="4G") for s, x in (("S1", 1000), ("S2", 3000), ("S3", 5000))]
    return one_site_a_year_region(folder, villages, candidates, **scenario)


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("qa_eval")
    scenario = three_village_region(folder / "in")
    run_scenario(scenario, folder / "plan")
    return scenario, folder / "plan"


def planners_sheet(path, header: list, rows: list) -> None:
    """An XLSX as-built sheet as a county office keeps it: a title merged across the columns
    above the header, a blank row among the records."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["安康市基站建设竣工清单"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)


@pytest.mark.parametrize("dated_2028", ["2028.5", "2028年度", "2028-06-30", "2028/6"])
def test_an_as_built_sheet_dated_as_planners_date_it_is_read(plan, tmp_path, dated_2028):
    """The year column headed 建成时间 holds the date each site went on air, as planners write
    it: an Excel date cell, "2027年5月", "2028.5", "2028年度" (the year of account). Each was
    refused as "year '2027年5月' is outside the plan" (and the header 建成时间 was not found at
    all); the year of each date is the year the site was built. Ids with spaces around them, a 是/否 column and a 区县 column
    siting does not read, and a blank row are read as planners mean them."""
    _, folder = plan
    built = tmp_path / "竣工清单.xlsx"
    planners_sheet(built, ["序号", "区县", "站址编号", "制式", "建成时间", "实际投资（万元）", "是否按期"], [
        [1, "A县", "S1 ", "4G-1800", datetime.datetime(2027, 6, 1), 20, "是"],
        [None] * 7,
        [2, "A", " S2", "4G-1800", "2027年5月", 19.5, "否"],
        [3, "A县", "S3", "4G-1800", dated_2028, "21", "否"]])
    e = evaluate_plan(folder, built, year="2028")
    sites = e.sites.set_index("site_id")
    assert dict(sites["built_year"]) == {"S1": "2027", "S2": "2027", "S3": "2028"}
    assert dict(sites["status"]) == {"S1": "on_time", "S2": "early", "S3": "early"}
    total = e.counties.set_index("admin_unit").loc["(all)"]
    assert total.spent_cny == (20 + 19.5 + 21) * 10000


@pytest.mark.parametrize("written", ["2027年13月", "2027.13", "27年5月"])
def test_a_date_that_is_no_date_is_named(plan, tmp_path, written):
    """A month past 12 or a two-digit year is no date: one line naming the file, its row, the
    column and what to write; exit 2, nothing written."""
    _, folder = plan
    built = tmp_path / "built.csv"
    built.write_text(f"站址编号,制式,建成时间,实际投资\nS1,4G-1800,{written},200000\n", encoding="utf-8")
    out = tmp_path / "ev"
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built), "--out", str(out)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"siting: error: {built}: row 2, field '建成时间': year '{written}' is outside the plan; "
        f"use one of the plan's years (2027, 2028, 2029)"]
    assert not out.exists()


def _built_sites_cost(folder) -> tuple[int, float]:
    """The sites a plan's folder builds or upgrades and their cost over the horizon, summed
    from its selected_sites layer."""
    sites = gpd.read_file(folder / "sites.gpkg", layer="selected_sites", engine="pyogrio")
    built = sites[sites["action"].isin(["build", "upgrade"])]
    return len(built), float(built["total_cost_cny"].sum())


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_plan_and_its_replan_are_compared_on_one_cost_basis(plan, tmp_path, language):
    """S1 went up in 2027 for 205,000 CNY. The re-plan keeps S1 at no cost and counts only the
    site it builds now: compare put its 310,000 CNY against the plan's 930,000 for three sites
    and printed 'new sites 3 -> 1', as if the re-plan saved 620,000 CNY. The re-plan now counts
    what the list built and spent, with the list's opex over the horizon, as the plan counts
    its own sites; comparison.md and the terminal say so."""
    scenario, folder = plan
    if language == "zh":
        text = scenario.read_text(encoding="utf-8") + "report:\n  language: zh\n"
        scenario = tmp_path / "scenario.yaml"  # beside its inputs, named by absolute paths
        for name in ("dem.tif", "population.tif", "region.gpkg"):
            text = text.replace(f": {name}", f": {plan[0].parent / name}")
        scenario.write_text(text, encoding="utf-8")
    built = tmp_path / "built.csv"
    built.write_text("site_id,technology,year,cost_cny\nS1,4G-1800,2027,205000\n", encoding="utf-8")
    replan = tmp_path / "replan"
    result = runner.invoke(app, ["run", str(scenario), "--built", str(built), "--out", str(replan), "-q"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "cmp"
    result = runner.invoke(app, ["compare", str(folder), str(replan), "--out", str(out)])
    assert result.exit_code == 0, result.output
    kpis = pd.read_csv(out / "comparison_kpis.csv", encoding="utf-8-sig").set_index("name")
    sites_a, cost_a = _built_sites_cost(folder)
    sites_b, cost_b = _built_sites_cost(replan)
    whole_b = cost_b + 205000 + OPEX_YEARS * SITE_OPEX_CNY  # what the list built, as the plan counts it
    assert (kpis.at["total_cost_cny", "a"], kpis.at["total_cost_cny", "b"]) == (cost_a, whole_b)
    assert kpis.at["total_cost_cny", "delta"] == whole_b - cost_a
    assert (kpis.at["new_sites", "a"], kpis.at["new_sites", "b"]) == (sites_a, sites_b + 1)
    assert kpis.at["capex_cny", "b"] == json.loads((replan / "summary.json").read_text())[
        "kpis"]["capex_cny"] + 205000
    assert kpis.at["opex_cny_per_year", "b"] == (sites_b + 1) * SITE_OPEX_CNY
    note = {"en": "Plan B is re-planned from the as-built list built.csv",
            "zh": "方案 B 依据竣工清单 built.csv 滚动调整"}[language]
    assert note in (out / "comparison.md").read_text(encoding="utf-8")
    assert note in result.output


def _popup_rows(page: str, site_id: str) -> dict[str, str]:
    """The rows (header -> value) of the map popup whose first row names ``site_id``."""
    rows = re.findall(r"<th[^>]*>([^<]*)</th><td>([^<]*)</td>", page)
    starts = [i for i, (_, value) in enumerate(rows) if value == site_id]
    assert starts, f"no popup of {site_id}"
    popup = {}
    for header, value in rows[starts[0]:]:
        if header in popup:
            break
        popup[header] = value
    return popup


def test_the_replan_map_dates_the_as_built_sites(plan, tmp_path):
    """S1 went up in 2027 (as the plan had it), S2 in 2027 too (a year early); the re-plan
    keeps both on air. Their map popups showed site, kind, action, technology and height, like
    a site on air before the plan: the committee could not tell what the list built, nor when.
    They now give the year the list built each; S3, which the re-plan builds, gives none."""
    scenario, _ = plan
    built = tmp_path / "built.csv"
    built.write_text("site_id,technology,year,cost_cny\nS1,4G-1800,2027,200000\n"
                     "S2,4G-1800,2027,200000\n", encoding="utf-8")
    out = tmp_path / "replan"
    result = runner.invoke(app, ["run", str(scenario), "--built", str(built), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    page = with_popups((out / "map.html").read_text(encoding="utf-8"))
    for site in ("S1", "S2"):
        popup = _popup_rows(page, site)
        assert popup["action"] == "keep"
        assert popup["built in (as-built list)"] == "2027"
    assert "built in (as-built list)" not in _popup_rows(page, "S3")
    sites = year_labels(gpd.read_file(out / "sites.gpkg", layer="selected_sites", engine="pyogrio"))
    assert dict(zip(sites["site_id"], sites["built_year"])) == {"S1": "2027", "S2": "2027", "S3": ""}



def test_the_replan_report_lists_the_as_built_sites_with_their_year(plan, tmp_path):
    """The re-plan's report counted what the list built (1 site, 205,000 CNY) and listed only
    the sites it builds now, each with its year: which sites the list built, and when, was in
    no table the committee reads. The section on the list lists them, with year, cost and
    backhaul, in the report's language."""
    scenario, _ = plan
    built = tmp_path / "built.csv"
    built.write_text("site_id,technology,year,cost_cny,backhaul\nS1,4G-1800,2027,205000,光纤\n",
                     encoding="utf-8")
    out = tmp_path / "replan"
    result = runner.invoke(app, ["run", str(scenario), "--built", str(built), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text(encoding="utf-8")
    section = report[report.index("## Re-planned from what was built"):]
    assert "| site | technology | year | cost [CNY] | backhaul |\n|---|---|---|---|---|\n" \
           "| S1 | 4G-1800 | 2027 | 205,000 | fiber |\n" in section
    page = (out / "report.html").read_text(encoding="utf-8")
    assert re.search(r"<td>S1</td>\s*<td>4G-1800</td>\s*<td>2027</td>", page)


def test_an_as_built_sheet_with_a_two_row_merged_header_is_read(plan, tmp_path):
    """A 竣工表 heads its columns over two rows: 站址编号, 制式, 建成年份 and 回传方式 merged down
    over both, 投资情况 merged across 实际投资 and 其中传输 below it. The reader knows that layout
    once it has found the header, but looked for the header one row at a time, found no row
    naming all four fields and took the title for the header: 'no column site_id (or
    站址编号, ...)' while the sheet had it. The lower row, its blank cells named by the cells
    above, is the header."""
    _, folder = plan
    built = tmp_path / "竣工表.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["安康市2027年基站建设竣工表"])
    sheet.append(["站址编号", "制式", "建成年份", "投资情况", None, "回传方式"])
    sheet.append([None, None, None, "实际投资", "其中传输", None])
    sheet.append(["S1", "4G-1800", 2027, 205000, 30000, "光纤"])
    sheet.merge_cells("A1:F1")
    for column in "ABCF":
        sheet.merge_cells(f"{column}2:{column}3")
    sheet.merge_cells("D2:E2")
    book.save(built)
    e = evaluate_plan(folder, built)
    row = e.sites.set_index("site_id").loc["S1"]
    assert (row.status, row.actual_cost_cny, row.built_backhaul) == ("on_time", 205000, "fiber")


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_one_column_named_otherwise_is_the_only_one_reported(plan, tmp_path, suffix):
    """The year headed 完工年度 (a name siting does not read) below a title: the error said
    there was no column site_id, technology, year nor cost_cny, and that the columns were the
    title and 'Unnamed: 1' ...; it names the year alone and the sheet's own columns."""
    _, folder = plan
    built = tmp_path / f"built{suffix}"
    header = ["站址编号", "制式", "完工年度", "实际投资"]
    if suffix == ".xlsx":
        planners_sheet(built, header, [["S1", "4G-1800", 2027, 205000]])
    else:
        built.write_text("安康市基站建设竣工清单\n" + ",".join(header) + "\nS1,4G-1800,2027,205000\n",
                         encoding="utf-8")
    out = tmp_path / "ev"
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built), "--out", str(out)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"siting: error: {built}: no column 'year' (or year_built, 建成年份, 年份, 建设年份, 建成时间, "
        f"建成日期, 竣工时间, 竣工日期, 开通时间, 开通日期); the columns are 站址编号, 制式, 完工年度, 实际投资; "
        f"rename a column to one of these names"]
    assert not out.exists()


def test_a_list_of_planned_sites_answering_built_yes_or_no_counts_the_yes(plan, tmp_path):
    """A county office keeps every planned site on its sheet and answers 是否建成 是/否. The
    column was not read: S2, 否 with its planned year and 0 yuan, counted as built (early),
    and S3, 否 with no year, stopped the evaluation ('empty; fill it in'). A row answered 否
    is now not built; 是 or an empty answer is."""
    _, folder = plan
    built = tmp_path / "建设进度.xlsx"
    planners_sheet(built, ["站址编号", "制式", "建成年份", "实际投资", "是否建成"], [
        ["S1", "4G-1800", 2027, 205000, "是"], ["S2", "4G-1800", 2028, 0, "否"],
        ["S3", "4G-1800", None, None, "否"]])
    e = evaluate_plan(folder, built, year="2028")
    assert dict(zip(e.sites["site_id"], e.sites["status"])) == {"S1": "on_time", "S2": "not_built",
                                                                  "S3": "later"}
    total = e.counties.set_index("admin_unit").loc["(all)"]
    assert (total.sites_due, total.sites_due_built, total.spent_cny) == (2, 1, 205000)


@pytest.mark.parametrize("answers, expected", [
    (["是", "待定"], "row 3, field '是否建成': '待定' answers neither yes nor no; write true/false, "
                   "yes/no, 1/0, 是/否, 有/无 or √/×, or leave it empty for a site built"),
    (["否", "否"], "no row says a site was built, so the list names no year; give the year "
                 "evaluated with --year"),
])
def test_an_unclear_built_answer_is_one_line(plan, tmp_path, answers, expected):
    _, folder = plan
    built = tmp_path / "built.csv"
    built.write_text("站址编号,制式,建成年份,实际投资,是否建成\n" + "".join(
        f"S{i},4G-1800,2027,1000,{a}\n" for i, a in enumerate(answers, start=1)), encoding="utf-8")
    out = tmp_path / "ev"
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built), "--out", str(out)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"siting: error: {built}: {expected}"]
    assert not out.exists()


def test_a_county_written_with_and_without_its_suffix_is_one_county(tmp_path):
    """Without county polygons, the villages' register names the counties as the official
    list does (石泉县, 汉滨区) and the tower company's site list without the suffix (石泉, 汉滨).
    The evaluation counted them as four counties: 石泉 with the sites due and no people,
    石泉县 with the people and no site, each scored apart (汉滨 and 汉滨区 100 each). They
    are one county each, named as the register names it, whose counts are the sums of their
    parts and whose score is the region's (all of it is one county's)."""
    villages = [village("V1", 1000, 3000, population=300, admin="石泉县"),
                village("V2", 3000, 3000, population=200, admin="石泉县"),
                village("V3", 5000, 3000, population=100, admin="汉滨区")]
    candidates = [dict(candidate(s, x, 3000, techs="4G"), admin_unit=a)
                  for s, x, a in (("S1", 1000, "石泉"), ("S2", 3000, "石泉"), ("S3", 5000, "汉滨"))]
    scenario = one_site_a_year_region(tmp_path / "in", villages, candidates)
    gpkg = tmp_path / "in" / "region.gpkg"
    subprocess.run(["ogrinfo", str(gpkg), "-sql", "DROP TABLE admin_units"], check=True,
                   capture_output=True)
    run_scenario(scenario, tmp_path / "plan")
    built = tmp_path / "built.csv"
    built.write_text("site_id,technology,year,cost_cny\nS1,4G-1800,2028,200000\n", encoding="utf-8")
    counties = evaluate_plan(tmp_path / "plan", built, year="2028").counties.set_index("admin_unit")
    assert list(counties.index) == ["汉滨区", "石泉县", "(all)"]
    shiquan = counties.loc["石泉县"]
    # due by 2028: S1 (2027, built late) and S2 (2028, not built); V1 covered of V1 and V2
    assert (shiquan.sites_due, shiquan.sites_late, shiquan.sites_not_built) == (2, 1, 1)
    assert (shiquan.people, shiquan.people_planned, shiquan.people_achieved) == (500, 500, 300)
    assert shiquan.score == counties.loc["(all)", "score"]
    assert counties.loc["汉滨区", "sites_due"] == 0


def test_a_replan_evaluated_a_year_later_counts_its_as_built_sites_as_planned(plan, tmp_path):
    """A year on, the planners evaluate the re-plan (made from S1, built in 2027) against the
    list that now holds S1 (2027) and S2 (2028). The re-plan keeps S1 on air (action keep),
    and the evaluation took it for a site 'built outside the plan', left it out of the
    planned network (planned people 200 against 500 achieved) and out of the sites due. S1 is
    planned in the year the list built it: on time, due, its planned people counted."""
    scenario, _ = plan
    first = tmp_path / "built-2027.csv"
    first.write_text("site_id,technology,year,cost_cny\nS1,4G-1800,2027,200000\n", encoding="utf-8")
    replan = tmp_path / "replan"
    result = runner.invoke(app, ["run", str(scenario), "--built", str(first), "--out", str(replan), "-q"])
    assert result.exit_code == 0, result.output
    sites = year_labels(gpd.read_file(replan / "sites.gpkg", layer="selected_sites", engine="pyogrio"))
    assert dict(zip(sites["site_id"], sites["phase"].fillna(""))) == {"S1": "", "S2": "2028", "S3": "2029"}
    second = tmp_path / "built-2028.csv"
    second.write_text(first.read_text(encoding="utf-8") + "S2,4G-1800,2028,200000\n", encoding="utf-8")
    e = evaluate_plan(replan, second, year="2028")
    assert dict(zip(e.sites["site_id"], e.sites["status"])) == {"S1": "on_time", "S2": "on_time",
                                                                  "S3": "later"}
    total = e.counties.set_index("admin_unit").loc["(all)"]
    assert (total.sites_due, total.sites_on_time, total.sites_not_in_plan) == (2, 2, 0)
    assert (total.people_planned, total.people_achieved) == (300 + 200, 300 + 200)
    assert total.planned_capex_cny == 2 * (50000 + 150000)


def test_a_site_built_ahead_of_its_year_at_its_planned_cost_is_no_overspend(plan, tmp_path):
    """By 2027 S1 went up on time and S2, planned for 2028, a year early, each at its planned
    capex (50,000 + 150,000 CNY). The budget criterion set the planned cost of the sites due
    (S1 alone) against all that was spent (S1 and S2): 0.5, as if the county had overspent by
    half. The planned cost of what was built ahead of its year counts beside what is due: 1."""
    _, folder = plan
    capex = 50000 + 150000
    built = tmp_path / "built.csv"
    built.write_text(f"site_id,technology,year,cost_cny\nS1,4G-1800,2027,{capex}\n"
                     f"S2,4G-1800,2027,{capex}\n", encoding="utf-8")
    total = evaluate_plan(folder, built, year="2027").counties.set_index("admin_unit").loc["(all)"]
    assert (total.planned_cost_cny, total.planned_cost_of_built_cny, total.spent_cny) == (capex, 2 * capex, 2 * capex)
    assert total.criterion_budget == 1.0
    # 30 on time + 10 budget + 20 people + 30 mandatory villages + 10 without complaints
    assert total.score == 100.0


def test_a_replan_of_an_older_siting_gets_the_lists_opex_from_its_costs():
    """summary.json of a re-plan made before the list's opex per year was recorded: the
    list's opex is its cost with the opex over opex_years less its cost, over those years."""
    summary = {"kpis": {"opex_cny_per_year": 22000.0, "total_cost_cny": 310000.0, "new_sites": 1},
               "objective": {"opex_years": OPEX_YEARS},
               "as_built": {"spent_cny": 205000.0, "charged_cny": 205000.0 + OPEX_YEARS * SITE_OPEX_CNY,
                            "new_sites": 1, "upgrades": 0}}
    kpis = whole_plan_kpis(summary)
    assert kpis["opex_cny_per_year"] == 22000.0 + SITE_OPEX_CNY
    assert kpis["total_cost_cny"] == 310000.0 + 205000.0 + OPEX_YEARS * SITE_OPEX_CNY
    assert kpis["new_sites"] == 2


def test_a_county_written_after_its_province_and_prefecture_is_that_county():
    """A site list writes 安康市石泉县 or 陕西省安康市汉滨区 where the admin units say 石泉县 and
    汉滨区: each was a county of its own, with the sites due and none of the people."""
    written = ["安康市石泉县", "陕西省安康市汉滨区", "石泉", "安康市旬阳市", "旬阳市", "安康市", "沙市区",
               "荆州市沙市区"]
    official = {"石泉县", "汉滨区", "旬阳市", "沙市区"}
    assert county_names([*written, *official], official) == {
        "安康市石泉县": "石泉县", "陕西省安康市汉滨区": "汉滨区", "石泉": "石泉县", "安康市旬阳市": "旬阳市",
        "旬阳市": "旬阳市", "安康市": "安康市", "沙市区": "沙市区", "荆州市沙市区": "沙市区",
        "石泉县": "石泉县", "汉滨区": "汉滨区"}

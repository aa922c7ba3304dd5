"""Year-end evaluation and re-planning from what was built, on a tiny hand-checked region.

Three villages 2 km apart on a flat valley floor, one candidate beside each (S1, S2, S3) and a
dearer one beside the first (S4, which no yearly budget affords); a 4G range of 900 m, so each
site covers its own village only. Each of three years pays for one site, and people covered
earliest count most, so the plan builds S1 (300 people) in 2027, S2 (200) in 2028, S3 (100) in
2029. Every count below follows from that by hand.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import Point
from typer.testing import CliRunner

from siting.cli import app
from siting.compare import compare_folders
from siting.config import load_scenario
from siting.evaluate import evaluate_plan
from siting.export.evaluation import EVALUATION_FILES, SHEETS
from siting.export.i18n import value_text
from siting.pipeline import compute, run_scenario
from tests.regions import (CRS, ONE_4G_SITE_CNY, TECH_4G, candidate, one_site_a_year_region,
                           village, write_region, xy)

runner = CliRunner()
ONE_SITE_CNY = ONE_4G_SITE_CNY
HYPERLINK = '=HYPERLINK("http://x","y")'


def _region(folder, **scenario):
    villages = [village("V1", 1000, 3000, population=300), village("V2", 3000, 3000, population=200),
                village("V3", 5000, 3000, population=100, name=HYPERLINK)]
    candidates = [candidate("S1", 1000, 3000, techs="4G"), candidate("S2", 3000, 3000, techs="4G"),
                  candidate("S3", 5000, 3000, techs="4G"),
                  candidate("S4", 1100, 3000, techs="4G", capex=80000.0),
                  candidate("@SUM(1)", 3200, 3000, techs="4G", capex=90000.0)]
    return one_site_a_year_region(folder, villages, candidates, **scenario)


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    scenario = _region(folder / "in")
    run_scenario(scenario, folder / "plan")
    return scenario, folder / "plan"


def _as_built(path, rows):
    pd.DataFrame(rows, columns=["site_id", "technology", "year", "cost_cny"]).to_csv(path, index=False)
    return path


def test_the_plan_builds_the_biggest_village_first(plan):
    _, folder = plan
    sites = pd.read_csv(folder / "selected_sites.csv", dtype=str)
    built = sites[sites["action"] == "build"]
    assert dict(zip(built["site_id"], built["phase"])) == {"S1": "2027", "S2": "2028", "S3": "2029"}


def test_evaluation_counts_match_a_hand_count(plan, tmp_path):
    _, folder = plan
    # S1 was not built in 2027 but S4 was (off-plan, beside V1); S2 went up a year early.
    built = _as_built(tmp_path / "built.csv", [("S4", "4G-1800", 2027, 260000),
                                               ("S2", "4G-1800", 2027, 190000)])
    e = evaluate_plan(folder, built)
    assert e.year == "2027"
    status = dict(zip(e.sites["site_id"], e.sites["status"]))
    assert status == {"S1": "not_built", "S2": "early", "S3": "later", "S4": "not_in_plan"}
    total = e.counties.set_index("admin_unit").loc["(all)"]
    assert (total.sites_due, total.sites_due_built, total.sites_not_built) == (1, 0, 1)
    assert total.planned_capex_cny == 200000 and total.spent_cny == 450000
    # planned by 2027: V1 (300 people); achieved: V1 by S4 and V2 by S2 (500 people)
    assert (total.people_planned, total.people_achieved) == (300, 500)
    assert (total.mandatory_villages_planned, total.mandatory_villages_achieved) == (1, 2)
    assert list(e.uncovered["village_id"]) == ["V3"]
    assert e.uncovered["reason"].iloc[0] == "planned for a later year"
    # score: 0 of 1 site on time (30), budget: the planned cost of the planned site built (S2,
    # early) against what it cost, 200000 / 190000 clipped at 1 (10; S4, outside the plan, has
    # no planned cost), people and villages gained beyond the plan, clipped at 1 (20 + 30), no
    # complaint points (10)
    assert total.criterion_budget == 1.0
    assert total.score == pytest.approx(0 + 10 + 20 + 30 + 10, abs=0.05)


def test_a_later_year_shows_late_sites(plan, tmp_path):
    _, folder = plan
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2028, 200000),
                                               ("S2", "4G-1800", 2028, 200000)])
    e = evaluate_plan(folder, built, year="2028")
    assert dict(zip(e.sites["site_id"], e.sites["status"])) == {"S1": "late", "S2": "on_time",
                                                                  "S3": "later"}
    before = evaluate_plan(folder, built, year="2027")  # the 2028 rows are not built yet in 2027
    assert dict(zip(before.sites["site_id"], before.sites["status"])) == {
        "S1": "not_built", "S2": "later", "S3": "later"}


def test_replanning_keeps_what_was_built_and_spends_only_what_is_left(plan, tmp_path):
    scenario, _ = plan
    built = _as_built(tmp_path / "built.csv", [("S4", "4G-1800", 2027, 150000)])
    run = compute(load_scenario(scenario), as_built=built)
    options = run.coverage.options
    chosen = {(options.at[o, "site_id"], run.plan.phase_labels[run.plan.build_period[o]])
              for o in run.plan.new_options}
    assert chosen == {("S2", "2028"), ("S3", "2029")}
    s4 = options.index[options["site_id"] == "S4"][0]
    assert run.plan.costs.fixed[s4] and s4 in run.plan.selected
    # 3 years' budgets less what S4 cost with its opex is more than the 2 years left may
    # spend: no cap beyond their own budgets
    assert 3 * (ONE_SITE_CNY + 1) - (150000 + 5 * (10000 + 12000)) > 2 * (ONE_SITE_CNY + 1)
    assert run.scenario.objective.budget_cny is None
    assert run.scenario.objective.total_budget_cny == 2 * (ONE_SITE_CNY + 1)
    assert run.plan.covered_after[run.demand.kind == "village"].all()
    assert [p.label for p in run.scenario.objective.phases] == ["2028", "2029"]


@pytest.mark.parametrize("cost_cny", [150000, 420000])
def test_a_replan_states_one_budget_left(plan, tmp_path, cost_cny):
    """The report's objective and its "left to plan" give the same budget: the years left
    summed (2 x 310,001) when the list spent within its year, else what the plan has left
    after the list's cost and its opex (the objective stated 3 x 310,001 less the list's
    charge, 670,003, beside "left to plan: 620,002")."""
    scenario, _ = plan
    built = _as_built(tmp_path / "built.csv", [("S4", "4G-1800", 2027, cost_cny)])
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(scenario), "--built", str(built), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    facts = json.loads((out / "summary.json").read_text())
    left = min(2 * (ONE_SITE_CNY + 1), 3 * (ONE_SITE_CNY + 1) - (cost_cny + 5 * (10000 + 12000)))
    assert facts["as_built"]["budget_left_cny"] == left
    stated = facts["objective"]["budget_cny"]
    assert stated == (None if left == 2 * (ONE_SITE_CNY + 1) else left)
    report = (out / "report.md").read_text()
    objective_line = next(line for line in report.splitlines() if line.startswith("Objective:"))
    assert ("within budget" in objective_line) == (stated is not None)
    assert f"budget {left:,.0f} CNY" in report


def test_a_missed_mandatory_deadline_is_due_in_the_first_year_left(tmp_path):
    """V3 (100 people, a poverty village) was due by 2027; the list built S1 (V1, 300
    people) that year instead of S3. The re-plan covers V3 in 2028, the first year left, before
    the bigger V2 (200 people, not mandatory); it put off V3 to the plan's last year, 2029."""
    villages = [village("V1", 1000, 3000, population=300, poverty=False),
                village("V2", 3000, 3000, population=200, poverty=False),
                village("V3", 5000, 3000, population=100)]
    candidates = [candidate(s, x, 3000, techs="4G") for s, x in (("S1", 1000), ("S2", 3000), ("S3", 5000))]
    phases = [{"year": y, "budget_cny": ONE_SITE_CNY + 1} for y in (2027, 2028, 2029)]
    scenario = write_region(tmp_path / "in", np.full((200, 200), 400.0), villages, candidates,
                            technologies=[dict(TECH_4G, max_range_m=900)],
                            objective={"type": "max_coverage", "phases": phases,
                                       "mandatory_by": 2027})
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 200000)])
    run = compute(load_scenario(scenario), as_built=built)
    options = run.coverage.options
    chosen = {options.at[o, "site_id"]: run.plan.phase_labels[run.plan.build_period[o]]
              for o in run.plan.new_options}
    assert chosen == {"S3": "2028", "S2": "2029"}
    assert run.scenario.objective.mandatory_by == "2028"


def test_replan_report_shows_the_original_schedule(plan, tmp_path):
    scenario, _ = plan
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 205000)])
    result = runner.invoke(app, ["run", str(scenario), "--built", str(built), "--out",
                                 str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Re-planned from what was built" in report
    assert "| 2027 | 310,001 | - | built | 1 | 315,000 | 205,000 |" in report
    assert "| 2028 | 310,001 | - | planned | 1 |" in report
    facts = json.loads((tmp_path / "out" / "summary.json").read_text())["as_built"]
    assert facts["spent_cny"] == 205000 and facts["through_year"] == "2027"


def test_comparing_a_plan_with_its_replan_dates_the_built_sites(plan, tmp_path):
    """S1 was planned and built in 2027, S2 planned for 2028 went up in 2027: comparing the
    plan with its re-plan shows S1 alike and S2 a year early; every as-built site was shown
    as 'another year' (2027 against none), on time or not."""
    scenario, folder = plan
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 200000),
                                               ("S2", "4G-1800", 2027, 200000)])
    out = tmp_path / "replan"
    result = runner.invoke(app, ["run", str(scenario), "--built", str(built), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["compare", str(folder), str(out), "--out", str(tmp_path / "cmp"), "-q"])
    assert result.exit_code == 0, result.output
    sites = pd.read_csv(tmp_path / "cmp" / "comparison.csv", dtype=str, encoding="utf-8-sig",
                        keep_default_na=False).set_index("site_id")
    assert list(sites.loc["S1", ["phase_a", "phase_b", "status"]]) == ["2027", "2027", "both"]
    assert list(sites.loc["S2", ["phase_a", "phase_b", "status"]]) == [
        "2028", "2027", "both_year_or_backhaul_changed"]


@pytest.mark.parametrize("rows, expected", [
    ([("S9", "4G-1800", 2027, 1)], "row 2, field 'site_id': unknown site 'S9'"),
    ([("S1", "5G-3500", 2027, 1)], "row 2, field 'technology': '5G-3500' is not one of the scenario's"),
    ([("S1", "4G-1800", 2035, 1)], "row 2, field 'year': year '2035' is outside the plan"),
    ([("S1", "4G-1800", 2027, 1), ("S2", "4G-1800", 2027, 1), ("S1", "4G-1800", 2028, 1)],
     "rows 2, 4, field 'site_id': site S1 with 4G-1800 is listed 2 times"),
    ([("S1", "4G-1800", 2027, -5)], "row 2: field 'cost_cny' is negative for feature(s) S1 "
     "('-5'); a cost cannot be negative: correct the cell (0 where there is none)"),
    ([("S1", "4G-1800", 2027, "五万")], "row 2, field 'cost_cny': the cost must be a number"),
])
def test_bad_as_built_lists_are_one_line_each_and_exit_2(plan, tmp_path, rows, expected):
    _, folder = plan
    built = _as_built(tmp_path / "built.csv", rows)
    before = sorted(p.name for p in folder.iterdir())
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built)])
    assert result.exit_code == 2
    assert f"siting: error: {built}: {expected}" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written


def test_an_as_built_sheet_with_a_title_names_its_spreadsheet_rows(plan, tmp_path):
    """A title and the unit that made the list stand above the header (row 3)."""
    _, folder = plan
    built = tmp_path / "built.xlsx"
    rows = [["2027年建成站址", None, None, None], ["填报单位：安康移动", None, None, None],
            ["站址编号", "制式", "建成年份", "实际投资"],
            ["S1", "4G-1800", 2027, 1], ["S9", "4G-1800", 2027, 1]]
    pd.DataFrame(rows).to_excel(built, index=False, header=False, engine="openpyxl")
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built)])
    assert result.exit_code == 2
    assert f"siting: error: {built}: row 5, field '站址编号': unknown site 'S9'" in result.output
    assert "Traceback" not in result.output


def test_a_technology_the_site_does_not_allow_is_named(tmp_path):
    folder = tmp_path / "in"
    villages = [village("V1", 1000, 1000)]
    candidates = [candidate("S1", 1000, 1000, techs="4G")]
    path = write_region(folder, np.full((100, 100), 400.0), villages, candidates)
    built = _as_built(tmp_path / "built.csv", [("S1", "5G-3500", 2027, 1)])
    result = runner.invoke(app, ["run", str(path), "--built", str(built), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert ("row 2, field 'technology': site S1 does not allow 5G-3500 (its technologies: 4G)"
            in result.output)


def test_outputs_open_and_hold_names_as_text(plan, tmp_path):
    _, folder = plan
    built = _as_built(tmp_path / "built.csv", [("@SUM(1)", "4G-1800", 2027, 280000)])
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built), "--out",
                                 str(tmp_path / "ev"), "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "ev").iterdir()) == sorted(EVALUATION_FILES)
    sheets = pd.read_excel(tmp_path / "ev" / "evaluation.xlsx", sheet_name=None)
    assert list(sheets) == list(SHEETS)
    assert "@SUM(1)" in set(sheets["sites"]["site_id"])
    book = openpyxl.load_workbook(tmp_path / "ev" / "evaluation.xlsx")
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert HYPERLINK in {c.value for c in cells}  # V3's name, read back as written
    facts = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    assert facts["year"] == "2027" and facts["sites"][0]["site_id"] in ("S1", "@SUM(1)")


def test_new_complaints_name_the_nearest_unbuilt_site_that_covers_them(plan, tmp_path):
    _, folder = plan
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 200000)])
    # C1 beside V2 (S2 is planned for 2028, not built), C2 beside V1 (S1 is on air now)
    new = gpd.GeoDataFrame({"complaint_id": ["C1", "C2"], "people": [1, 1]},
                           geometry=[Point(xy(2950, 3000)), Point(xy(1020, 3000))], crs=CRS)
    new.to_file(tmp_path / "new.gpkg", engine="pyogrio")
    e = evaluate_plan(folder, built, complaints=tmp_path / "new.gpkg")
    rows = e.complaints.set_index("complaint_id")
    assert rows.at["C1", "status"] == "new_uncovered" and rows.at["C1", "nearest_unbuilt_site"] == "S2"
    assert rows.at["C1", "its_planned_year"] == "2028"
    assert rows.at["C2", "status"] == "new_covered"


def test_chinese_outputs(tmp_path):
    scenario = _region(tmp_path / "in", report={"language": "zh"})
    run_scenario(scenario, tmp_path / "plan")
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 200000)])
    result = runner.invoke(app, ["evaluate", str(tmp_path / "plan"), "--built", str(built), "-q"])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "plan" / "evaluation-2027" / "evaluation.md").read_text()
    assert "# 2027 年度建设评估" in text and "## 各区县完成情况与得分" in text
    assert "按期建成" in text


def test_evaluation_html_renders_offline_in_chromium(plan, tmp_path):
    from tests.test_browser import chromium_binary, inspect_page, page_errors, requested_hosts

    binary = chromium_binary()
    _, folder = plan
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 200000)])
    write = runner.invoke(app, ["evaluate", str(folder), "--built", str(built), "--out",
                                str(tmp_path / "ev"), "-q"])
    assert write.exit_code == 0, write.output
    page = tmp_path / "ev" / "evaluation.html"
    visit = inspect_page(binary, page, """({
        tables: document.querySelectorAll('table').length,
        headings: [...document.querySelectorAll('h2')].map(h => h.textContent),
        image: (img => img ? [img.complete, img.naturalWidth] : null)(document.querySelector('img')),
        villages: [...document.querySelectorAll('td')].map(td => td.textContent)
                  .filter(t => t.startsWith('=HYPERLINK')),
    })""", tmp_path / "chromium")
    state = visit.state
    assert state["tables"] >= 5 and "By county, with the score" in state["headings"]
    assert state["image"][0] and state["image"][1] > 500  # the embedded map decoded
    assert state["villages"] == [HYPERLINK]  # shown as text, one cell
    assert page_errors(visit, None) == []
    assert requested_hosts(visit) == set()


def test_score_weights_are_checked(tmp_path):
    from siting.errors import ScenarioError

    path = _region(tmp_path / "in", evaluation={"score_weights": {"budgte": 5, "people": -1}})
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "evaluation.score_weights.budgte: unknown key (did you mean 'budget'?)" in message
    assert "evaluation.score_weights.people: must be >= 0" in message
    zero = _region(tmp_path / "zero", evaluation={"score_weights": dict.fromkeys(
        ["sites_on_time", "budget", "people", "mandatory_villages", "complaints"], 0)})
    with pytest.raises(ScenarioError, match="at least one weight must be above 0"):
        load_scenario(zero)


def test_a_plan_folder_without_its_scenario_file_asks_for_it(plan, tmp_path):
    scenario, folder = plan
    copy = tmp_path / "plan"
    copy.mkdir()
    for name in ("sites.gpkg", "summary.json"):
        (copy / name).write_bytes((folder / name).read_bytes())
    summary = json.loads((copy / "summary.json").read_text())
    del summary["scenario_file"]
    (copy / "summary.json").write_text(json.dumps(summary))
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 200000)])
    result = runner.invoke(app, ["evaluate", str(copy), "--built", str(built)])
    assert result.exit_code == 2 and "give it with --scenario" in result.output
    result = runner.invoke(app, ["evaluate", str(copy), "--built", str(built), "--scenario",
                                 str(scenario), "-q"])
    assert result.exit_code == 0, result.output


def _gcj02_csv(path, points: dict, headers=("complaint_id", "people", "经度", "纬度")):
    """A complaints CSV as copied from Amap: each point (UTM metres) in GCJ-02 degrees."""
    from pyproj import Transformer

    from siting.china_crs import wgs84_to_gcj02

    to_deg = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    rows = []
    for complaint_id, (x_m, y_m) in points.items():
        lon, lat = wgs84_to_gcj02(*to_deg.transform(*xy(x_m, y_m)))
        rows.append((complaint_id, 1, f"{float(lon):.7f}", f"{float(lat):.7f}"))
    pd.DataFrame(rows, columns=list(headers)).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def test_new_complaints_copied_from_amap_are_read_in_gcj02(plan, tmp_path):
    """--complaints-crs GCJ-02: a complaint 100 m west of S2 (planned for 2028) is 100 m from
    it, not the 300-700 m the web map's offset would put it at."""
    _, folder = plan
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 200000)])
    new = _gcj02_csv(tmp_path / "amap.csv", {"C1": (2900, 3000)})
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built), "--complaints",
                                 str(new), "--complaints-crs", "GCJ-02", "--out",
                                 str(tmp_path / "ev"), "-q"])
    assert result.exit_code == 0, result.output
    facts = json.loads((tmp_path / "ev" / "evaluation.json").read_text(encoding="utf-8"))
    c1 = next(c for c in facts["complaints"] if c["complaint_id"] == "C1")
    assert (c1["status"], c1["nearest_unbuilt_site"]) == ("new_uncovered", "S2")
    assert c1["distance_m"] == pytest.approx(100, abs=0.5)


def _complaint_sheet(path, points: dict, id_header: str | None):
    """New complaints as a complaint system exports them: Chinese headers (工单号 or none,
    投诉时间, 地址, 投诉内容, 经度, 纬度), WGS 84 degrees; an XLSX written by openpyxl, or a CSV
    in GBK."""
    from pyproj import Transformer

    to_deg = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    header = [*([id_header] if id_header else []), "投诉时间", "地址", "投诉内容", "经度", "纬度"]
    rows = []
    for complaint_id, (x_m, y_m) in points.items():
        lon, lat = to_deg.transform(*xy(x_m, y_m))
        rows.append([*([complaint_id] if id_header else []), "2027-06-01 09:30", "汉滨区某村",
                     "室内无信号", round(lon, 7), round(lat, 7)])
    if path.suffix == ".xlsx":
        book = openpyxl.Workbook()
        for row in [header, *rows]:
            book.active.append(row)
        book.save(path)
    else:
        pd.DataFrame(rows, columns=header).to_csv(path, index=False, encoding="gbk")
    return path


@pytest.mark.parametrize("name, id_header, c1", [("投诉.xlsx", "工单号", "C1"),
                                                 ("投诉.csv", None, "row 2")])
def test_new_complaints_with_chinese_headers_are_read(plan, tmp_path, name, id_header, c1):
    """A complaints sheet headed in Chinese, as the scenario's own inputs are read: its id
    (工单号) and coordinates (经度/纬度) are recognised, a sheet without an id names its points
    by their rows. --complaints refused it ("missing column(s) 'complaint_id', 'people'")."""
    _, folder = plan
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 200000)])
    new = _complaint_sheet(tmp_path / name, {"C1": (2900, 3000), "C2": (1020, 3000)}, id_header)
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built), "--complaints",
                                 str(new), "--out", str(tmp_path / "ev"), "-q"])
    assert result.exit_code == 0, result.output
    facts = json.loads((tmp_path / "ev" / "evaluation.json").read_text(encoding="utf-8"))
    new_rows = {c["complaint_id"]: c for c in facts["complaints"] if c["origin"] == "new"}
    assert len(new_rows) == 2
    # 100 m west of S2 (planned for 2028, not built): uncovered, S2 the nearest to build
    assert (new_rows[c1]["status"], new_rows[c1]["nearest_unbuilt_site"]) == ("new_uncovered", "S2")
    assert new_rows[c1]["distance_m"] == pytest.approx(100, abs=0.5)
    assert sum(c["status"] == "new_covered" for c in new_rows.values()) == 1  # 20 m from S1


def test_new_complaints_with_amap_picked_coordinates_in_one_column_are_read(plan, tmp_path):
    """A complaint list whose 经纬度 column holds "lon,lat" as Amap's coordinate picker copies
    them (it was 'no coordinate columns found'), declared GCJ-02."""
    _, folder = plan
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 200000)])
    amap = pd.read_csv(_gcj02_csv(tmp_path / "amap.csv", {"C1": (2900, 3000)}), dtype=str)
    new = tmp_path / "投诉.xlsx"
    pd.DataFrame({"工单号": amap["complaint_id"], "经纬度": amap["经度"] + "," + amap["纬度"]}
                 ).to_excel(new, index=False, engine="openpyxl")
    e = evaluate_plan(folder, built, complaints=new, complaints_crs="GCJ-02")
    c1 = e.complaints.set_index("complaint_id").loc["C1"]
    assert (c1["status"], c1["nearest_unbuilt_site"]) == ("new_uncovered", "S2")
    assert c1["distance_m"] == pytest.approx(100, abs=0.5)


def test_new_complaints_without_coordinates_say_what_to_do(plan, tmp_path):
    _, folder = plan
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 200000)])
    new = tmp_path / "投诉.csv"
    pd.DataFrame({"工单号": ["C1"], "地址": ["汉滨区某村"]}).to_csv(new, index=False, encoding="gbk")
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built), "--complaints",
                                 str(new)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert (f"siting: error: {new}: no coordinate columns found (columns: 工单号, 地址); head "
            f"them 经度 and 纬度 (or lon and lat) in the file, or one column of 108.9701,32.6851 "
            f"pairs 经纬度") in result.output


def test_a_due_site_built_early_counts_as_in_time_in_the_score(plan, tmp_path):
    """By 2028, S1 (2027) and S2 (2028) are due: S1 went up late, S2 early (in 2027). The
    criterion is sites built on time or early / sites due = 1/2; S3 (planned for 2029, built
    early in 2028) is not due and counts for nothing."""
    _, folder = plan
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2028, 200000),
                                               ("S2", "4G-1800", 2027, 200000),
                                               ("S3", "4G-1800", 2028, 200000)])
    e = evaluate_plan(folder, built, year="2028")
    assert dict(zip(e.sites["site_id"], e.sites["status"])) == {"S1": "late", "S2": "early",
                                                                  "S3": "early"}
    total = e.counties.set_index("admin_unit").loc["(all)"]
    assert (total.sites_due, total.sites_on_time, total.sites_late) == (2, 0, 1)
    assert total.criterion_sites_on_time == 0.5


def test_an_as_built_sheet_with_full_width_headers_is_read(plan, tmp_path):
    """A county engineer's sheet typed with a Chinese input method: 实际投资（元） with full-width
    parentheses is the documented 实际投资(元), and a stray space in a header is no matter."""
    _, folder = plan
    path = tmp_path / "竣工清单.xlsx"
    pd.DataFrame({"站址编号": ["S1", "S2"], "制式": ["4G-1800", "4G-1800"], "建成年份": [2027, 2028],
                  "实际投资（元）": [205000, 198000], "回传 方式": ["光纤", "微波"]}).to_excel(path, index=False)
    e = evaluate_plan(folder, path, year="2028")
    sites = e.sites.set_index("site_id")
    assert list(sites.loc[["S1", "S2"], "actual_cost_cny"]) == [205000, 198000]
    assert list(sites.loc[["S1", "S2"], "built_backhaul"]) == ["fiber", "microwave"]


@pytest.mark.parametrize("cost_header, factor", [("实际投资（元）", 1), ("实际投资（万元）", 1e4)])
def test_an_as_built_sheet_with_a_title_over_full_width_headers_is_read(plan, tmp_path, caplog,
                                                                        cost_header, factor):
    """A title above headers typed with a Chinese input method (实际投资（元）), or costs in
    万元 as Chinese cost sheets give them: the header was not found ("no column 'site_id' ...;
    the columns are <the title>, Unnamed: 1, ..."), and a 万元 column was no cost column."""
    _, folder = plan
    path = tmp_path / "竣工清单.xlsx"
    rows = [["安康市2027-2028年基站建设完成情况", None, None, None],
            ["站址编号", "制式", "建成年份", cost_header],
            ["S1", "4G-1800", "2027年", 205000 / factor], ["S2", "4G-1800", "2028年", 198000 / factor]]
    pd.DataFrame(rows).to_excel(path, index=False, header=False)
    e = evaluate_plan(folder, path, year="2028")
    sites = e.sites.set_index("site_id")
    assert list(sites.loc[["S1", "S2"], "actual_cost_cny"]) == pytest.approx([205000, 198000])
    assert ("is in 万元" in caplog.text) == (factor != 1)


def test_an_as_built_sheet_with_site_ids_typed_full_width_is_evaluated(plan, tmp_path):
    """Ｓ１ and Ｓ2 typed with a Chinese input method are the plan's S1 and S2, built on time
    (they were refused as unknown sites)."""
    _, folder = plan
    path = tmp_path / "竣工清单.xlsx"
    book = openpyxl.Workbook()
    for row in [["站址编号", "制式", "建成年份", "实际投资"], ["Ｓ１", "4G-1800", 2027, 205000],
                ["Ｓ2 ", "4G-1800", 2028, 198000]]:
        book.active.append(row)
    book.save(path)
    e = evaluate_plan(folder, path, year="2028")
    sites = e.sites.set_index("site_id")
    assert list(sites.loc[["S1", "S2"], "status"]) == ["on_time", "on_time"]
    assert list(sites.loc[["S1", "S2"], "actual_cost_cny"]) == [205000, 198000]


def test_an_as_built_sheet_with_years_and_costs_typed_as_chinese_text_is_read(plan, tmp_path):
    """Years typed 2027年 or in full-width digits, costs typed as text with separators
    ("205,000", "１９８，０００"), as a county engineer's sheet has them: read as 2027/2028 and
    yuan (they were refused as 'outside the plan' and 'not a number of CNY')."""
    _, folder = plan
    path = tmp_path / "竣工清单.xlsx"
    pd.DataFrame({"站址编号": ["S1", "S2"], "制式": ["4G-1800", "4G-1800"],
                  "建成年份": ["2027年", "２０２８年"], "实际投资": ["205,000", "１９８，０００"]}
                 ).to_excel(path, index=False)
    e = evaluate_plan(folder, path, year="2028")
    sites = e.sites.set_index("site_id")
    assert list(sites.loc[["S1", "S2"], "built_year"]) == ["2027", "2028"]
    assert list(sites.loc[["S1", "S2"], "actual_cost_cny"]) == [205000, 198000]


def test_an_as_built_sheet_headed_as_a_drive_test_export_is_read(plan, tmp_path):
    """基站编号 and 网络制式 name the site and the technology in operators' exports; the as-built
    list reads them as the measurement reader does (it answered "no column 'site_id'")."""
    _, folder = plan
    path = tmp_path / "竣工清单.csv"
    pd.DataFrame({"基站编号": ["S1", "S2"], "网络制式": ["4G-1800", "4G-1800"],
                  "建成年份": [2027, 2028], "实际投资": [205000, 198000]}).to_csv(path, index=False)
    e = evaluate_plan(folder, path, year="2028")
    sites = e.sites.set_index("site_id")
    assert list(sites.loc[["S1", "S2"], "built_year"]) == ["2027", "2028"]
    assert list(sites.loc[["S1", "S2"], "actual_cost_cny"]) == [205000, 198000]


def test_new_complaints_are_read_like_the_scenarios_complaints_table(plan, tmp_path):
    """A scenario whose complaints are an Amap export (Chinese headers, GCJ-02) reads the new
    complaints the same way; --complaints-crs overrides the CRS; a GeoPackage keeps its own."""
    import dataclasses
    from pathlib import Path

    import pyproj

    from siting.config import LayerSource
    from siting.evaluate import NEW_COMPLAINT_FIELDS, new_complaints_source
    from siting.io.layers import read_layer

    scenario = load_scenario(plan[0])
    fields = (("complaint_id", "投诉编号"), ("people", "人数"))
    own = LayerSource(path=Path("complaints.xlsx"), x="经度", y="纬度", crs="GCJ-02", fields=fields,
                      key="inputs.complaints")
    amap = dataclasses.replace(scenario, inputs=dataclasses.replace(scenario.inputs, complaints=own))
    read = new_complaints_source(tmp_path / "new.csv", amap)
    assert (read.fields, read.x, read.y, read.crs) == (fields[:1], "经度", "纬度", "GCJ-02")
    assert new_complaints_source(tmp_path / "new.csv", amap, "BD-09").crs == "BD-09"
    assert new_complaints_source(tmp_path / "new.gpkg", amap).crs is None
    # the new complaints need no 人数 column: complaint points weigh no people
    _gcj02_csv(tmp_path / "new.csv", {"C1": (2900, 3000)}, headers=("投诉编号", "人", "经度", "纬度"))
    points = read_layer(read, pyproj.CRS(CRS), NEW_COMPLAINT_FIELDS, "complaint_id")
    assert list(points.index) == ["C1"]
    assert (points.geometry.x.iloc[0], points.geometry.y.iloc[0]) == pytest.approx(xy(2900, 3000),
                                                                                 abs=0.05)


def test_a_single_period_plan_evaluated_at_a_year_leaves_out_later_builds(tmp_path):
    """A single-period plan, a list of 2027 and 2028 rows, --year 2027: the 2028 site is not
    built yet at the end of 2027 (neither on air nor spent), as a phased plan's would not be."""
    scenario = write_region(tmp_path / "in", np.full((200, 200), 400.0),
                            [village("V1", 1000, 3000, population=300), village("V2", 3000, 3000)],
                            [candidate("S1", 1000, 3000, techs="4G"), candidate("S2", 3000, 3000, techs="4G")],
                            technologies=[dict(TECH_4G, max_range_m=900)])
    run_scenario(scenario, tmp_path / "plan")
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 200000),
                                               ("S2", "4G-1800", 2028, 210000)])
    e = evaluate_plan(tmp_path / "plan", built, year="2027")
    assert dict(zip(e.sites["site_id"], e.sites["status"])) == {"S1": "on_time", "S2": "not_built"}
    total = e.counties.set_index("admin_unit").loc["(all)"]
    assert (total.spent_cny, total.people_achieved, total.villages_achieved) == (200000, 300, 1)


def test_amounts_of_zero_yuan_read_0_not_0_00(plan, tmp_path):
    _, folder = plan
    built = _as_built(tmp_path / "built.csv", [("S2", "4G-1800", 2027, 200000)])  # S1 is not
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built), "--out",
                                 str(tmp_path / "ev"), "-q"])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "ev" / "evaluation.md").read_text(encoding="utf-8")
    rows = {row[0]: row for row in _table_rows(text.splitlines(), "|")}
    # planned capex and actual cost (a plan without backhaul has no backhaul columns)
    assert rows["S1"][-3:] == ["200,000", "0", "not_built"]


def test_a_replans_plausibility_check_counts_only_the_network_before_the_plan(tmp_path):
    """Complaint CE lies beside the existing 4G site E1, C1 beside V1, which only S1 (900 m
    range) covers. The plan builds S1 in 2027 to fix C1; re-planned from a list that built
    S1, the report's plausibility check still counts 1 of the 2 complaint points covered
    before the plan (by E1), as the original plan's report does, and says the as-built sites
    are left out: counting S1 made the model look too optimistic at the very point it fixed."""
    folder = tmp_path / "in"
    villages = [village("V1", 1000, 3000, population=300), village("V2", 3000, 3000, population=200)]
    candidates = [candidate("S1", 1000, 3000, techs="4G"), candidate("S2", 3000, 3000, techs="4G"),
                  candidate("E1", 1000, 5000, kind="existing_4g", techs="4G")]
    complaints = [{"complaint_id": "CE", "people": 1, "geometry": Point(xy(1050, 5000))},
                  {"complaint_id": "C1", "people": 1, "geometry": Point(xy(1050, 3000))}]
    phases = [{"year": y, "budget_cny": ONE_SITE_CNY + 1} for y in (2027, 2028)]
    scenario = write_region(folder, np.full((200, 200), 400.0), villages, candidates,
                            complaints=complaints, technologies=[dict(TECH_4G, max_range_m=900)],
                            objective={"type": "max_coverage", "phases": phases})
    run_scenario(scenario, tmp_path / "plan")
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 200000)])
    result = runner.invoke(app, ["run", str(scenario), "--built", str(built), "--out",
                                 str(tmp_path / "replan"), "-q"])
    assert result.exit_code == 0, result.output
    plan, replan = (json.loads((tmp_path / name / "summary.json").read_text())["kpis"]
                    for name in ("plan", "replan"))
    assert replan["people_covered_before"] == 300  # the re-plan starts with S1 on air
    assert plan["complaints_covered_before"] == replan["complaints_covered_before"] == 1
    report = (tmp_path / "replan" / "report.md").read_text()
    assert ("the model predicts 1 of the 2 weak-signal complaint points as covered by the sites "
            "on air before the original plan (the sites of the as-built list not counted)") in report


def _table_rows(lines, bar: str) -> list[list[str]]:
    """The cells of each table row among ``lines`` (rows start and end with ``bar``)."""
    return [[cell.strip() for cell in line.strip().strip(bar).split(bar)]
            for line in lines if line.strip().startswith(bar) and line.strip().endswith(bar)]


def test_the_terminal_shows_the_overall_table_of_evaluation_md(plan, tmp_path):
    """The terminal table is evaluation.md's table of KPIs, row for row: KPIs in words, no
    backhaul rows for a plan without backhaul, and the score to its one decimal: 0 of 1 site
    on time, budget: S2 built early, its planned 200,000 / its 210,000 (weight 10; S4 is
    outside the plan), people and villages beyond the plan (20 + 30) and no complaint points
    (10): 69.5, which the terminal showed as 70 and the file as 69.52."""
    _, folder = plan
    built = _as_built(tmp_path / "built.csv", [("S4", "4G-1800", 2027, 260000),
                                               ("S2", "4G-1800", 2027, 210000)])
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built), "--out",
                                 str(tmp_path / "ev")])
    assert result.exit_code == 0, result.output
    shown = _table_rows(result.stdout.splitlines(), "│")
    lines = (tmp_path / "ev" / "evaluation.md").read_text().splitlines()
    overall = lines[lines.index("## Planned and achieved") + 4:]
    in_file = _table_rows(overall[:overall.index("")], "|")
    assert shown == in_file
    score = 0 + 10 * 200000 / 210000 + 20 + 30 + 10
    assert shown[-1] == ["score (0-100)", "", f"{score:.1f}"] == ["score (0-100)", "", "69.5"]
    assert ["sites built on time", "", "0"] in shown
    assert ["capex [CNY]: planned / spent", "200,000", "470,000"] in shown
    assert not [row for row in shown if "_" in row[0] or "backhaul" in row[0]]
    county = next(line for line in lines if line.startswith("| (all) |"))
    rule = lines.index("## How the score is computed")  # the rule names backhaul costs
    assert county.endswith("| 69.5 |") and "backhaul" not in "".join(lines[:rule])


@pytest.fixture(scope="module")
def chinese_plan(tmp_path_factory):
    """The tiny region's plan in Chinese (report.language: zh) and its re-plan from a list
    that built S1 and S2 in 2027."""
    folder = tmp_path_factory.mktemp("tiny-zh")
    scenario = _region(folder / "in", report={"language": "zh"})
    run_scenario(scenario, folder / "plan")
    built = _as_built(folder / "built.csv", [("S1", "4G-1800", 2027, 200000),
                                             ("S2", "4G-1800", 2027, 200000)])
    result = runner.invoke(app, ["run", str(scenario), "--built", str(built), "--out",
                                 str(folder / "replan"), "-q"])
    assert result.exit_code == 0, result.output
    return scenario, folder / "plan", folder / "replan"


def test_comparing_chinese_plans_writes_and_prints_chinese(chinese_plan, tmp_path):
    """A plan and its re-plan in Chinese are compared in Chinese: comparison.md's headings,
    headers, statuses and KPI names, and what the command prints; what is left in Latin
    letters is data (site ids, technologies, the plans' names, file names)."""
    _, plan, replan = chinese_plan
    result = runner.invoke(app, ["compare", str(plan), str(replan), "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "cmp" / "comparison.md").read_text(encoding="utf-8")
    assert text.startswith("# 方案对比：test (plan) 与 test (replan)\n")
    for heading in ("## 站址", "## 指标", "## 各区县指标", "## 覆盖情况不同的村"):
        assert f"\n{heading}\n" in text
    # S2 was planned for 2028 (at 31 万元) and built in 2027 (kept at no cost in the re-plan);
    # S3 is planned as before
    assert ("| S2 | 4G-1800 | 4G-1800 | 新建 | 保留 | 2028 | 2027 | 31.00 | 0.00 "
            "| 两方案均有但建设年份或传输方式不同 |") in text
    assert "| 规划后覆盖人口 | 600 | 600 | 0 |" in text
    data = r"test \((re)?plan\)|S\d|4G-1800|comparison\.csv|built\.csv|\b[AB]\b"
    for page in (text, result.stdout.split("comparison written to")[0]):
        assert re.findall(r"[A-Za-z_]{2,}", re.sub(data, "", page)) == []
    assert "站址：仅方案 A 有 0 个、仅方案 B 有 0 个、" in result.stdout
    assert "  S2  两方案均有但建设年份或传输方式不同：制式 4G-1800 -> 4G-1800、建设年份 2028 -> 2027" in result.stdout


def test_plans_in_two_languages_are_compared_in_plan_bs(plan, chinese_plan, tmp_path, caplog):
    """Plan A in English, plan B in Chinese: the comparison is in Chinese, and the command
    warns that it chose plan B's language. A run of a siting that did not record its language
    in summary.json is taken in its scenario file's."""
    _, english = plan
    _, chinese, _ = chinese_plan
    result = runner.invoke(app, ["compare", str(english), str(chinese), "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    assert ("plan A is written in en and plan B in zh (report.language): the comparison is "
            "written in zh, plan B's") in caplog.messages
    assert (tmp_path / "cmp" / "comparison.md").read_text(encoding="utf-8").startswith("# 方案对比：")
    older = tmp_path / "older"
    shutil.copytree(chinese, older)
    summary = json.loads((older / "summary.json").read_text(encoding="utf-8"))
    del summary["language"]
    (older / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    assert compare_folders(english, older).language == "zh"


def test_the_chinese_evaluation_map_names_its_complaint_points(chinese_plan, tmp_path):
    """evaluation.png's legend says its crosses are complaint points: a Chinese committee read
    "已解决 (1)" and "新投诉（未覆盖） (1)" beside the sites' statuses, without a word of what."""
    from matplotlib.figure import Figure

    from siting.export.evaluation import draw_evaluation_map
    _, plan, _ = chinese_plan
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 200000)])
    new = gpd.GeoDataFrame({"complaint_id": ["C1", "C2"], "people": [1, 1]},
                           geometry=[Point(xy(2950, 3000)), Point(xy(1020, 3000))], crs=CRS)
    new.to_file(tmp_path / "new.gpkg", engine="pyogrio")
    e = evaluate_plan(plan, built, complaints=tmp_path / "new.gpkg")
    ax = Figure().add_subplot()
    draw_evaluation_map(ax, e)
    labels = ax.get_legend_handles_labels()[1]
    assert "投诉点：新投诉（未覆盖） (1)" in labels and "投诉点：新投诉（已覆盖） (1)" in labels
    assert "按期建成 (1)" in labels


def test_a_chinese_replan_counts_what_is_left_in_yuan_and_sites(tmp_path):
    """Three years of one site (quota 1) and 310,001 yuan each; the list built S1 in 2027 for
    200,000 yuan: left are the two years' budgets (less than all three's less S1 with its
    five years of opex) and two sites, each with its unit (the quota read "新建站址 2")."""
    phases = [{"year": y, "budget_cny": ONE_SITE_CNY + 1, "max_new_sites": 1} for y in (2027, 2028, 2029)]
    villages = [village("V1", 1000, 3000, population=300), village("V2", 3000, 3000, population=200)]
    candidates = [candidate("S1", 1000, 3000, techs="4G"), candidate("S2", 3000, 3000, techs="4G")]
    scenario = write_region(tmp_path / "in", np.full((200, 200), 400.0), villages, candidates,
                            technologies=[dict(TECH_4G, max_range_m=900)], report={"language": "zh"},
                            objective={"type": "max_coverage", "phases": phases})
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 200000)])
    result = runner.invoke(app, ["run", str(scenario), "--built", str(built), "--out",
                                 str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output
    budget = min(2 * (ONE_SITE_CNY + 1), 3 * (ONE_SITE_CNY + 1) - (200000 + 5 * (10000 + 12000)))
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert f"剩余可规划：预算 {budget / 1e4:,.2f} 万元，新建站址 2 个。" in report


@pytest.mark.parametrize("language", ["en", "zh"])
def test_sites_built_early_are_counted_beside_on_time_and_late(tmp_path, language):
    """By 2028, S2 (planned 2028) and S3 (planned 2029) went up in 2027 and 2028: two sites
    built early, which the overall and county tables left out (only the site table showed
    them). They are a row of the overall table and a column of the county table in
    evaluation.md, evaluation.html and the terminal, and a KPI of evaluation.xlsx/json."""
    scenario = _region(tmp_path / "in", report={"language": language})
    run_scenario(scenario, tmp_path / "plan")
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2028, 200000),
                                               ("S2", "4G-1800", 2027, 200000),
                                               ("S3", "4G-1800", 2028, 200000)])
    result = runner.invoke(app, ["evaluate", str(tmp_path / "plan"), "--built", str(built),
                                 "--year", "2028", "--out", str(tmp_path / "ev")])
    assert result.exit_code == 0, result.output
    sites = pd.read_excel(tmp_path / "ev" / "evaluation.xlsx", sheet_name="sites")
    early = int(((sites["status"] == "early") & sites["technology"].notna()).sum())
    assert early == 2
    kpi = {"en": "sites built early", "zh": "提前建成站址"}[language]
    assert [kpi, "", str(early)] in _table_rows(result.stdout.splitlines(), "│")
    md = (tmp_path / "ev" / "evaluation.md").read_text(encoding="utf-8")
    assert f"| {kpi} |  | {early} |" in md
    county = _table_rows(md.splitlines(), "|")
    header = next(row for row in county if row[0] in ("county", "区县"))
    total = next(row for row in county if row[0] == value_text("admin", "(all)", language))
    column = {"en": "early", "zh": "提前建成"}[language]
    assert total[header.index(column)] == str(early)
    page = (tmp_path / "ev" / "evaluation.html").read_text(encoding="utf-8")
    assert f"<th>{column}</th>" in page and f"<td>{kpi}</td>" in page
    overall = pd.read_excel(tmp_path / "ev" / "evaluation.xlsx", sheet_name="overall")
    assert overall.set_index("name").loc["sites_early", "achieved"] == early
    saved = json.loads((tmp_path / "ev" / "evaluation.json").read_text(encoding="utf-8"))
    assert {"name": "sites_early", "planned": None, "achieved": early} in saved["overall"]


def test_people_in_the_evaluation_read_whole(plan, tmp_path):
    """People covered come out fractional where a raster cell's people are shared (2.25
    people); the evaluation's tables showed "52.25" people. They read whole, as counts; the
    tables programs read keep the fractions."""
    from siting.export.evaluation import build_evaluation_report
    from siting.export.report import render_markdown

    _, folder = plan
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 200000)])
    e = evaluate_plan(folder, built)
    overall = e.overall.copy()
    people = overall["name"] == "people_covered"
    overall.loc[people, ["planned", "achieved"]] = [52.25, 47.75]
    counties = e.counties.assign(people_planned=52.25, people_achieved=47.75)
    uncovered = e.uncovered.assign(population=2.25)
    shared = dataclasses.replace(e, overall=overall, counties=counties, uncovered=uncovered)
    md = render_markdown(build_evaluation_report(shared, figure=False))
    assert "| people covered | 52 | 48 |" in md
    county = next(line for line in md.splitlines() if line.startswith("| (all) |"))
    assert "| 52 | 48 |" in county and ".25" not in md and ".75" not in md
    assert f"| {uncovered['village_id'].iloc[0]} |" in md and "| 2 |" in md
    assert shared.as_json()["overall"][int(np.flatnonzero(people)[0])]["planned"] == 52.25


def test_a_county_named_with_full_width_brackets_is_one_county(tmp_path):
    """No admin-unit polygons: the villages and the sites name their county 高新区（开发区）, typed
    with full-width brackets. The villages' field is read as ids are (高新区(开发区)), so the
    sites' must be too: the evaluation counted the sites in a county of their own."""
    county = "高新区（开发区）"
    villages = [village("V1", 1000, 3000, population=300, admin=county)]
    candidates = [dict(candidate("S1", 1000, 3000, techs="4G"), admin_unit=county)]
    inputs = {"dem": "dem.tif", "population": "population.tif", "vectors": "region.gpkg",
              "layers": {"admin_units": None}}
    scenario = one_site_a_year_region(tmp_path / "in", villages, candidates, inputs=inputs)
    run_scenario(scenario, tmp_path / "plan")
    built = _as_built(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 200000)])
    e = evaluate_plan(tmp_path / "plan", built, year="2027")
    counties = e.counties.set_index("admin_unit")
    assert list(counties.index) == ["高新区(开发区)", "(all)"]
    assert counties.at["高新区(开发区)", "sites_on_time"] == 1
    assert counties.at["高新区(开发区)", "people_achieved"] == 300

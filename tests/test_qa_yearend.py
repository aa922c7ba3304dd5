"""QA of the year end: a planner's as-built sheet (Chinese headers, the sites' coordinates as
they were surveyed) evaluated against the plan, and next year's plan made from it.

The region: three villages 2 km apart on a flat valley floor, one candidate beside each (S1,
S2, S3), a 4G range of 900 m and one site's budget a year, so the plan builds S1 in 2027, S2
in 2028 and S3 in 2029.
"""

from __future__ import annotations

import json
import logging
import re

import numpy as np
import openpyxl
import pandas as pd
import pyproj
import pytest
from typer.testing import CliRunner

from siting.cli import app
from siting.evaluate import evaluate_plan
from siting.pipeline import run_scenario
from tests.regions import (CRS, TECH_4G, TECH_5G, candidate, one_site_a_year_region, village,
                           write_region, xy)

runner = CliRunner()
TO_LONLAT = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
TO_UTM = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
GEOD = pyproj.Geod(ellps="WGS84")
SITES = {"S1": (1000, 3000), "S2": (3000, 3000), "S3": (5000, 3000)}
HEADER = ["序号", "站址编号", "制式", "经度", "纬度", "建成年份", "实际投资(元)"]


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("qa_yearend")
    villages = [village("V1", 1000, 3000, population=300), village("V2", 3000, 3000, population=200),
                village("V3", 5000, 3000, population=100)]
    candidates = [candidate(s, x, y, techs="4G") for s, (x, y) in SITES.items()]
    scenario = one_site_a_year_region(folder / "in", villages, candidates)
    run_scenario(scenario, folder / "plan")
    return scenario, folder / "plan"


def lonlat(site_id: str, east_m: float = 0.0) -> tuple[float, float]:
    """A candidate's longitude and latitude [deg], ``east_m`` east of it."""
    x_m, y_m = SITES[site_id]
    return TO_LONLAT.transform(*xy(x_m + east_m, y_m))


def surveyed_sheet(path, rows: list[tuple[str, float, int]]) -> None:
    """An XLSX as-built sheet with the coordinates each site was surveyed at: (site, metres
    east of its candidate, year) per row, a title above the header."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["2027年基站竣工清单"])
    sheet.append(HEADER)
    for n, (site_id, east_m, year) in enumerate(rows, 1):
        lon, lat = lonlat(site_id, east_m)
        sheet.append([n, site_id, "4G-1800", round(lon, 6), round(lat, 6), year, 200000])
    book.save(path)


def geodesic_m(site_id: str, east_m: float) -> float:
    """The distance [m] between a candidate and a point ``east_m`` east of it, on the
    ellipsoid (coordinates to the 6 decimals the sheet holds)."""
    (lon0, lat0), (lon1, lat1) = lonlat(site_id), lonlat(site_id, east_m)
    return GEOD.inv(round(lon0, 6), round(lat0, 6), round(lon1, 6), round(lat1, 6))[2]


def test_a_site_listed_kilometres_from_its_candidate_is_refused(plan, tmp_path):
    """A row whose coordinates put its site 3 km from the candidate it names (a site built
    elsewhere, or an id mistyped) was taken for the candidate, its coverage counted where
    nothing was built; now one line names the file, the row, the columns, the distance and
    what to do, exit 2, nothing written."""
    _, folder = plan
    built = tmp_path / "竣工清单.xlsx"
    surveyed_sheet(built, [("S1", 0.0, 2027), ("S2", 3000.0, 2027)])
    out = tmp_path / "ev"
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built), "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"siting: error: {built}: row 4, field '经度/纬度': site S2 is placed ")
    assert "a site built more than 1,000 m away is another site" in lines[0]
    said_m = float(re.search(r"placed ([\d,]+) m", lines[0])[1].replace(",", ""))
    assert said_m == pytest.approx(geodesic_m("S2", 3000.0), abs=2.0)
    assert not out.exists()


def test_a_site_moved_a_few_hundred_metres_is_its_candidate_and_named(plan, tmp_path, caplog):
    """A site built 300 m from its candidate (the roof next door) is the candidate: evaluated
    on time; one warning names it with the distance, as it is evaluated at the candidate's
    position. A site surveyed within metres of its candidate is not named."""
    _, folder = plan
    built = tmp_path / "built.xlsx"
    surveyed_sheet(built, [("S1", 300.0, 2027), ("S2", 4.0, 2028)])
    with caplog.at_level(logging.WARNING, logger="siting"):
        e = evaluate_plan(folder, built, year="2028")
    sites = e.sites.set_index("site_id")
    assert dict(sites["status"]) == {"S1": "on_time", "S2": "on_time", "S3": "later"}
    moved = [r.getMessage() for r in caplog.records if "away from their candidates" in r.getMessage()]
    assert len(moved) == 1
    named = dict(re.findall(r"(S\d) \(([\d,]+) m\)", moved[0]))
    assert set(named) == {"S1"}
    assert float(named["S1"]) == pytest.approx(geodesic_m("S1", 300.0), abs=2.0)


@pytest.fixture(scope="module")
def upgrade_plan(tmp_path_factory):
    """A plan that upgrades the existing 4G site E1 to 5G: its village lies 2 km away, beyond
    the 900 m of 4G and within the reach of 5G; a new site N1 would cost more."""
    folder = tmp_path_factory.mktemp("qa_yearend_upgrade")
    scenario = write_region(folder / "in", np.full((200, 200), 400.0),
                            [village("V1", 3000, 3000, population=250)],
                            [candidate("E1", 1000, 3000, kind="existing_4g", techs="4G,5G"),
                             candidate("N1", 5800, 300, techs="4G,5G")],
                            technologies=[dict(TECH_4G, max_range_m=900), TECH_5G])
    run_scenario(scenario, folder / "plan")
    return scenario, folder / "plan"


def test_a_list_made_from_the_plans_site_table_reads_its_upgrades(upgrade_plan, tmp_path):
    """A planner makes the as-built list from the plan's selected_sites.csv (its rows built or
    upgraded, a year and the actual cost added). The plan writes an upgraded 4G site's
    technology as what is on air after it, 4G-1800+5G-3500; the list was refused ("not one of
    the scenario's technologies"). Now the row is the 5G upgrade, evaluated on time, and the
    village it covers is counted."""
    _, folder = upgrade_plan
    plan_sites = pd.read_csv(folder / "selected_sites.csv", dtype=str, encoding="utf-8-sig")
    rows = plan_sites[plan_sites["action"].isin(["build", "upgrade"])].copy()
    assert rows[["site_id", "technology"]].values.tolist() == [["E1", "4G-1800+5G-3500"]]
    rows["建成年份"], rows["实际投资"] = "2027", rows["capex_cny"]
    built = tmp_path / "竣工清单.csv"
    rows.to_csv(built, index=False, encoding="utf-8-sig")
    e = evaluate_plan(folder, built, year="2027")
    assert e.sites[["site_id", "technology", "status"]].values.tolist() == [
        ["E1", "5G-3500", "on_time"]]
    overall = e.overall.set_index("name")
    assert overall.at["people_covered", "achieved"] == pytest.approx(250.0)
    assert overall.at["cost_cny", "achieved"] == pytest.approx(float(rows["capex_cny"].iloc[0]))


def test_a_row_naming_two_new_technologies_asks_for_a_row_each(upgrade_plan, tmp_path):
    """A row naming two technologies of which neither was on air (a new site's 4G and 5G) is
    one line asking for a row each, with its cost; exit 2, nothing written."""
    _, folder = upgrade_plan
    built = tmp_path / "built.csv"
    built.write_text("站址编号,制式,建成年份,实际投资\nE1,5G-3500,2027,250000\n"
                     "N1,4G-1800+5G-3500,2027,400000\n", encoding="utf-8")
    out = tmp_path / "ev"
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        f"siting: error: {built}: row 3, field '制式': '4G-1800+5G-3500' names several "
        f"technologies built at site N1; give each its own row, with what it cost"]
    assert not out.exists()


#: What one 4G site adds to the opex per year in the plan fixture's region: the site's own and
#: the technology's [CNY/yr] (tests.regions.candidate, TECH_4G); the plan counts 5 years.
SITE_OPEX_CNY, OPEX_YEARS = 10000 + 12000, 5


def test_the_replans_schedule_counts_a_built_year_as_its_budget_does(plan, tmp_path):
    """The re-plan's table of the original schedule set a built year's actual cost (205,000)
    beside its budget (310,001) and beside the planned years' costs, which carry 5 years of
    opex as the budget counts them: the year read as 105,000 under budget when, as the plan
    counts it, its site cost 315,000 (and the re-plan, left less than a site, built nothing in
    2029 for no reason the table showed). Now a built year's cost carries the opex it adds
    over the horizon (its site's own in the year it went on air), what it spent beside it, and
    the built years sum to what the list charged."""
    scenario, _ = plan
    built = tmp_path / "built.csv"
    built.write_text("站址编号,制式,建成年份,实际投资\nS1,4G-1800,2027,205000\n"
                     "S2,4G-1800,2028,198000\n", encoding="utf-8")
    out = tmp_path / "replan"
    result = runner.invoke(app, ["run", str(scenario), "--built", str(built), "--out", str(out),
                                 "-q"])
    assert result.exit_code == 0, result.output
    facts = json.loads((out / "summary.json").read_text(encoding="utf-8"))["as_built"]
    schedule = {r["year"]: r for r in facts["schedule"]}
    expected = {"2027": 205000 + OPEX_YEARS * SITE_OPEX_CNY, "2028": 198000 + OPEX_YEARS * SITE_OPEX_CNY}
    for year, cost in expected.items():
        assert schedule[year]["status"] == "built"
        assert schedule[year]["cost_cny"] == pytest.approx(cost)
    assert schedule["2027"]["spent_cny"] == 205000 and schedule["2028"]["spent_cny"] == 198000
    assert sum(expected.values()) == pytest.approx(facts["charged_cny"])
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| 2027 | 310,001 | - | built | 1 | 315,000 | 205,000 |" in report
    assert "| 2028 | 310,001 | - | built | 1 | 308,000 | 198,000 |" in report
    # the two built years charged 623,000 of the 930,003 the three years had: 307,003 is left,
    # less than S3's 310,000, so the re-plan builds nothing more, as the table now shows
    assert facts["budget_left_cny"] == pytest.approx(3 * 310001 - facts["charged_cny"])
    assert "| 2029 | 310,001 | - | planned | 0 | 0 | - |" in report


def test_a_complaints_distance_to_its_site_reads_in_whole_metres(plan, tmp_path):
    """A new complaint 63 m from the planned, unbuilt site that would cover it read '63.40'
    in evaluation.md (two decimals below 100 m, none above, in one column); now whole
    metres, the distance measured here from the points' coordinates."""
    _, folder = plan
    lon, lat = lonlat("S2", 63.4)
    complaints = tmp_path / "投诉.csv"
    complaints.write_text(f"工单号,经度,纬度\nTS1,{lon:.7f},{lat:.7f}\n", encoding="utf-8")
    built = tmp_path / "built.csv"
    built.write_text("站址编号,制式,建成年份,实际投资\nS1,4G-1800,2027,205000\n", encoding="utf-8")
    out = tmp_path / "ev"
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built), "--complaints",
                                 str(complaints), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    x_m, y_m = TO_UTM.transform(float(f"{lon:.7f}"), float(f"{lat:.7f}"))
    distance_m = np.hypot(x_m - xy(*SITES["S2"])[0], y_m - xy(*SITES["S2"])[1])
    md = (out / "evaluation.md").read_text(encoding="utf-8")
    assert f"| TS1 | A | new_uncovered | S2 | 2028 | {round(distance_m)} |" in md


def test_a_date_written_with_hao_for_the_day_is_read(plan, tmp_path):
    """建成时间 2027年5月20号 (号 for the day, as it is said and often typed) was refused as
    'year 2027年5月20号 is outside the plan'; its year is 2027, the site on time."""
    _, folder = plan
    built = tmp_path / "built.csv"
    built.write_text("站址编号,制式,建成时间,实际投资\nS1,4G-1800,2027年5月20号,205000\n",
                     encoding="utf-8")
    e = evaluate_plan(folder, built)
    assert e.year == "2027"
    assert e.sites.set_index("site_id")["status"].to_dict() == {
        "S1": "on_time", "S2": "later", "S3": "later"}

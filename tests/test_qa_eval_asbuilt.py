"""QA of the year-end story: as-built sheets written as a prefecture's planners write them.

The region: three villages 2 km apart on a flat valley floor, one candidate beside each (S1,
S2, S3), a 4G range of 900 m (each site covers its own village only) and one site's budget a
year, so the plan builds S1 (300 people) in 2027, S2 (200) in 2028, S3 (100) in 2029.
"""

from __future__ import annotations

import datetime

import numpy as np
import openpyxl
import pytest
from typer.testing import CliRunner

from siting.cli import app
from siting.evaluate import evaluate_plan
from siting.pipeline import run_scenario
from tests.regions import TECH_4G, candidate, village, write_region

runner = CliRunner()
#: What one site costs the plan: capex + equipment + 5 years of the site's and the 4G opex.
ONE_SITE_CNY = 50000 + 150000 + 5 * (10000 + 12000)


def three_village_region(folder, **scenario):
    villages = [village("V1", 1000, 3000, population=300), village("V2", 3000, 3000, population=200),
                village("V3", 5000, 3000, population=100)]
    candidates = [candidate(s, x, 3000, techs="4G") for s, x in (("S1", 1000), ("S2", 3000), ("S3", 5000))]
    phases = [{"year": y, "budget_cny": ONE_SITE_CNY + 1} for y in (2027, 2028, 2029)]
    return write_region(folder, np.full((200, 200), 400.0), villages, candidates,
                        technologies=[dict(TECH_4G, max_range_m=900)],
                        objective={"type": "max_coverage", "phases": phases}, **scenario)


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


def test_an_as_built_sheet_dated_as_planners_date_it_is_read(plan, tmp_path):
    """The year column headed 建成时间 holds the date each site went on air, as planners write
    it: an Excel date cell, "2027年5月", "2028.5". Each was refused as "year '2027年5月' is
    outside the plan" (and the header 建成时间 was not found at all); the year of each date is
    the year the site was built. Ids with spaces around them, a 是/否 column and a 区县 column
    siting does not read, and a blank row are read as planners mean them."""
    _, folder = plan
    built = tmp_path / "竣工清单.xlsx"
    planners_sheet(built, ["序号", "区县", "站址编号", "制式", "建成时间", "实际投资（万元）", "是否按期"], [
        [1, "A县", "S1 ", "4G-1800", datetime.datetime(2027, 6, 1), 20, "是"],
        [None] * 7,
        [2, "A", " S2", "4G-1800", "2027年5月", 19.5, "否"],
        [3, "A县", "S3", "4G-1800", "2028.5", "21", "否"]])
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

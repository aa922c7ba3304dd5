"""The report's figures as a planning committee checks them: every table's rows add up to the
total it shows, and that total is the headline's figure, in both languages."""

from __future__ import annotations

import dataclasses
import re

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from regions import CRS, TECH_4G, X0, Y0, candidate, village, write_region
from siting.config import LANGUAGES, load_scenario
from siting.export.i18n import term, value_text
from siting.export.report import apportioned, build_report, render_markdown
from siting.export.tables import plan_tables
from siting.labels import ALL_UNITS
from siting.pipeline import compute

COUNTY_WIDTH_M = 1200.0
COUNTIES = ("East", "Middle", "West")
PEOPLE_PER_PIXEL = 0.155  # 100 m pixels: 1.395 people in each 300 m demand cell


def three_county_region(folder):
    """A flat 3.6 km x 1.2 km region cut into three counties of 16 demand cells each, every cell
    holding 1.395 people (22.32 a county: each county rounds down, their sum up), one site in
    the middle covering all, and a poverty village of 50 people."""
    population = np.full((12, 36), PEOPLE_PER_PIXEL, np.float32)
    path = write_region(folder, np.full((40, 120), 400.0),
                        villages=[village("V1", 1800, 600, population=50, admin="Middle")],
                        candidates=[candidate("W", 1800, 650, techs="4G")],
                        population=population, technologies=[TECH_4G])
    counties = [box(X0 + i * COUNTY_WIDTH_M, Y0 - 1200.0, X0 + (i + 1) * COUNTY_WIDTH_M, Y0)
                for i in range(3)]
    gpd.GeoDataFrame({"admin_unit": list(COUNTIES)}, geometry=counties, crs=CRS).to_file(
        folder / "region.gpkg", layer="admin_units", engine="pyogrio")
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return compute(load_scenario(three_county_region(tmp_path_factory.mktemp("counties"))))


def markdown_in(run, language):
    tables = plan_tables(run)
    outputs = dataclasses.replace(tables.scenario.outputs, language=language)
    tables = dataclasses.replace(tables, scenario=dataclasses.replace(tables.scenario, outputs=outputs))
    return tables.summary, render_markdown(build_report(tables))


def row_numbers(markdown: str, first_cell: str) -> list:
    """The cells after the first of the Markdown table row starting with ``first_cell``, as
    numbers ("-" as it is)."""
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {first_cell} |"))
    cells = [cell.strip() for cell in line.strip("|").split("|")[1:]]
    return [cell if cell == "-" else float(cell.replace(",", "")) for cell in cells]


def test_apportioned_rounds_each_value_to_the_next_unit_and_keeps_the_total():
    values = [1.4, 1.4, 1.2, 0.0, 7.0]
    shown = apportioned(values)
    assert shown == [1, 2, 1, 0, 7] or shown == [2, 1, 1, 0, 7]
    assert sum(shown) == round(sum(values)) == 11
    money = [7621.99999999, 0.333, 0.333, 0.334]  # in 万元, to the cent of a 万
    cents = apportioned(money, 2)
    assert sum(cents) == pytest.approx(round(sum(money), 2)) and cents[0] == 7622.0
    assert all(abs(a - b) < 0.01 for a, b in zip(cents, money))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_counties_add_up_to_the_total_row_and_the_headline(run, language):
    """Each county of 22.32 people read 22, the total 67: the rows said 66 beside a headline
    of 67. The rows are rounded to add up, and a total row shows the headline's figures."""
    summary, markdown = markdown_in(run, language)
    units = summary["by_admin_unit"]
    assert list(units) == list(COUNTIES)
    people = [units[c]["people_after"] for c in COUNTIES]
    assert sum(round(p) for p in people) != round(sum(people))  # rounding each row loses one
    rows = np.array([row_numbers(markdown, c) for c in COUNTIES])
    total = row_numbers(markdown, value_text("admin", ALL_UNITS, language))
    assert rows.sum(axis=0).tolist() == total
    assert np.all(np.abs(rows[:, 2] - people) < 1)
    k = summary["kpis"]
    headline = row_numbers(markdown, term("kpi.people_covered", language))
    assert total[2] == headline[1] == round(k["people_covered_after"])
    assert total[0] == round(k["people_total"]) and total[3] == k["villages_total"]


def money_numbers(text: str, unit: str) -> list[float]:
    """The amounts written before ``unit`` in ``text`` (``4,499.62 万元``)."""
    return [float(n.replace(",", "")) for n in re.findall(rf"([\d,]+(?:\.\d+)?) \**{unit}", text)]


def test_the_chinese_report_states_money_in_wan_yuan(run):
    """The Chinese report gave costs in 元 (310,000 元, 45,000,000 元 budgets) while its
    uncovered reasons gave 万元; every amount is now in 万元 to 0.01, as Chinese budgets are."""
    summary, markdown = markdown_in(run, "zh")
    k = summary["kpis"]
    assert re.search(r"(?<!万)元", markdown) is None  # no amount left in yuan
    total, = money_numbers(markdown, r"万元\**。")
    assert total == round(k["total_cost_cny"] / 1e4, 2) == 31.0
    header = term("header.cost_cny", "zh")
    assert header.endswith("[万元]")
    sites = markdown.split(f"## {term('section.sites', 'zh')}")[1]
    assert "| 31.00 |" in next(line for line in sites.splitlines() if line.startswith("| W |"))
    assert k["total_cost_cny"] == 310_000  # two decimals of 万元, also when whole
    _, english = markdown_in(run, "en")
    assert f"**{k['total_cost_cny']:,.0f} CNY**" in english


def stopped_at_time_limit(tables, gap):
    """``tables`` as if the solve had stopped at its time limit with ``gap`` (None: no bound)."""
    solver = dict(tables.summary["solver"], status="time_limit", gap=gap,
                  bound=None if gap is None else tables.summary["solver"]["bound"])
    return dataclasses.replace(tables, summary=dict(tables.summary, solver=solver))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("gap", [0.12152, None])
def test_a_plan_stopped_at_the_time_limit_says_it_is_not_proven(run, language, gap):
    """A solve stopped at solver.time_limit_s (a phased plan with backhaul at 60 s: gap 12 %,
    deadline missed) read only "status time_limit ... proven gap 12.152%"; the report now says
    the plan is not proven the best, by how much at most, and which setting gives more time."""
    tables = plan_tables(run)
    outputs = dataclasses.replace(tables.scenario.outputs, language=language)
    tables = dataclasses.replace(tables, scenario=dataclasses.replace(tables.scenario, outputs=outputs))
    proven = build_report(tables).intro
    assert run.plan.solution.status == "optimal" and len(proven) == 2
    intro = build_report(stopped_at_time_limit(tables, gap)).intro
    seconds = f"{run.scenario.solver.time_limit_s:g}"
    assert len(intro) == 3 and seconds in intro[2] and "solver.time_limit_s" in intro[2]
    assert ("12.152%" in intro[2]) == (gap is not None)
    assert "time_limit**" not in intro[1]  # the status in words, not the key
    assert value_text("solver_status", "time_limit", language) in intro[1]


@pytest.fixture(scope="module")
def phased_backhaul(tmp_path_factory):
    from test_backhaul_plan import write_backhaul_region
    path = write_backhaul_region(tmp_path_factory.mktemp("phased_backhaul"), objective={
        "type": "max_coverage", "phases": [{"year": 2027, "budget_cny": 1.5e6},
                                           {"year": 2028, "budget_cny": 1.5e6}]})
    return compute(load_scenario(path))


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_phased_plan_with_backhaul_shows_each_years_total_beside_its_budget(phased_backhaul,
                                                                            language):
    """Each year's budget pays for its sites and their backhaul, but the schedule showed the two
    apart, leaving the committee to add them to check the budget; a total column now does, its
    figures the sum of the two shown and within the year's budget."""
    summary, markdown = markdown_in(phased_backhaul, language)
    assert "backhaul" in summary and len(summary["phases"]) == 2
    schedule = markdown.split(f"## {term('section.schedule', language)}")[1].split("\n## ")[0]
    header = next(line for line in schedule.splitlines() if line.startswith("| "))
    names = [cell.strip() for cell in header.strip("|").split("|")]
    columns = {key: names.index(term(f"header.{key}", language))
               for key in ("budget_cny", "site_cost_cny", "backhaul_cost_cny", "total_cost_cny")}
    unit = 1e4 if language == "zh" else 1.0
    for year in summary["phases"]:
        row = row_numbers(schedule, year["label"])
        at = {key: row[i - 1] for key, i in columns.items()}
        assert at["site_cost_cny"] + at["backhaul_cost_cny"] == pytest.approx(at["total_cost_cny"])
        assert at["total_cost_cny"] == pytest.approx(
            round((year["cost_cny"] + year["backhaul_cost_cny"]) / unit, 2 if unit > 1 else 0))
        assert at["total_cost_cny"] <= at["budget_cny"] == 1.5e6 / unit


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_solvers_objective_reads_with_its_unit(run, language):
    """A least-cost plan's objective read "目标值 310,000" in a report giving every other amount
    in 万元, and no unit said it was money; it now reads as the headline's cost does."""
    summary, markdown = markdown_in(run, language)
    assert run.scenario.objective.kind == "min_cost"
    cost = summary["kpis"]["total_cost_cny"]
    assert summary["solver"]["objective"] == pytest.approx(cost)
    shown = {"en": f"{cost:,.0f} CNY", "zh": f"{cost / 1e4:,.2f} 万元"}[language]
    solver_line = markdown.split("\n\n")[2]
    assert f"{term('report.bound_min', language)} " in solver_line
    assert solver_line.count(shown) == 2  # the objective and its bound: the same cost
    assert shown in markdown.split(f"## {term('section.headline', language)}")[1]

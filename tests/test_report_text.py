"""What the committee reads in report.md and report.html, in English and Chinese: numbers
written as their quantity reads (heights to 0.1 m, people whole), the solver's bound named by
the objective's sense, and the propagation models by their names."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from regions import TECH_4G, candidate, village, write_region
from siting.config import LANGUAGES, load_scenario
from siting.export.html_report import render_html
from siting.export.i18n import term
from siting.export.report import build_report, render_markdown
from siting.export.tables import plan_tables
from siting.pipeline import compute

HEIGHT_M = 33.7  # the candidate's antenna height as given


def one_site_region(folder, objective=None):
    """One candidate (antenna 33.7 m) by a poverty village of 50 people, and a 3 x 3 block of
    100 m raster cells of 0.25 people each (2.25 people in one 300 m demand cell) beside it."""
    population = np.zeros((20, 40), np.float32)
    population[9:12, 12:15] = 0.25
    return write_region(folder, np.full((67, 134), 400.0),
                        villages=[village("V1", 1000, 1000, population=50)],
                        candidates=[candidate("W", 1100, 1000, height=HEIGHT_M, techs="4G")],
                        population=population, technologies=[dict(TECH_4G, max_range_m=2000)],
                        objective=objective)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The region planned at least cost and at most coverage within one site's budget."""
    folder = tmp_path_factory.mktemp("report_text")
    return {kind: compute(load_scenario(one_site_region(folder / kind, objective)))
            for kind, objective in (("min_cost", None),
                                    ("max_coverage", {"type": "max_coverage", "budget_cny": 1e6}))}


def reports(run, language):
    """report.md and report.html of ``run`` in ``language``."""
    tables = plan_tables(run)
    outputs = dataclasses.replace(tables.scenario.outputs, language=language)
    tables = dataclasses.replace(tables, scenario=dataclasses.replace(tables.scenario, outputs=outputs))
    report = build_report(tables)
    return render_markdown(report), render_html(report, embed_images=False)


def md_row(markdown: str, first_cell: str) -> list[str]:
    """The cells of the Markdown table row starting with ``first_cell``."""
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {first_cell} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def html_row(page: str, first_cell: str) -> list[str]:
    """The cells of the HTML table row starting with ``first_cell``."""
    row = re.search(rf"<tr><td>{re.escape(first_cell)}</td>(.*?)</tr>", page).group(0)
    return re.findall(r"<td[^>]*>(.*?)</td>", row)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind, bound_key", [("min_cost", "report.bound_min"),
                                             ("max_coverage", "report.bound_max")])
def test_the_solver_line_names_the_bound_by_the_objectives_sense(runs, kind, bound_key, language):
    """A least-cost plan's bound lies below its cost (a lower bound), a maximal-coverage plan's
    above its covered weight (an upper bound); the report says which ("界" alone said neither)."""
    run = runs[kind]
    solution = run.plan.solution
    assert (solution.bound <= solution.objective + 1e-6) if kind == "min_cost" \
        else (solution.bound >= solution.objective - 1e-6)
    markdown, page = reports(run, language)
    named = f"{term(bound_key, language)} {solution.bound:,.0f}"
    assert named in markdown and named in page
    other = "report.bound_max" if bound_key == "report.bound_min" else "report.bound_min"
    assert term(other, language) not in markdown.split("\n\n")[2]

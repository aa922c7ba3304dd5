"""What the committee reads in report.md and report.html, in English and Chinese: numbers
written as their quantity reads (heights to 0.1 m, people whole), the solver's bound named by
the objective's sense, and the propagation models by their names."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pytest

from regions import TECH_4G, candidate, village, write_region
from siting.config import LANGUAGES, PATH_LOSS_MODELS, load_scenario
from siting.export.html_report import render_html
from siting.export.i18n import model_text, term
from siting.export.report import build_report, render_markdown
from siting.export.tables import plan_tables
from siting.pipeline import compute, write_outputs

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
def test_sites_read_heights_to_a_tenth_of_a_metre_and_people_whole(runs, language):
    run = runs["min_cost"]
    sites = plan_tables(run).sites.set_index("site_id")
    people = float(sites.loc["W", "people_newly_covered"])
    assert sites.loc["W", "antenna_height_m"] == HEIGHT_M and people != round(people) and people < 100
    markdown, page = reports(run, language)
    for cells in (md_row(markdown, "W"), html_row(page, "W")):
        assert cells[4] == "33.7"  # the height column, as the candidate gives it
        assert cells[6] == f"{round(people):,}"  # people newly covered: a count
    headline = md_row(markdown, term("kpi.people_covered", language))
    assert headline[1:] == ["0", f"{round(people):,}"]
    unit = md_row(markdown, "A")  # the county table: people, covered before, covered after
    assert unit[1:4] == [f"{round(people):,}", "0", f"{round(people):,}"]


def test_the_files_programs_read_keep_the_fractions(runs, tmp_path):
    run = runs["min_cost"]
    write_outputs(run, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    people = summary["kpis"]["people_covered_after"]
    assert people == pytest.approx(float(plan_tables(run).sites.set_index("site_id")
                                         .loc["W", "people_newly_covered"]))
    assert people != round(people)


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
    bound = {("min_cost", "en"): f"{solution.bound:,.0f} CNY",  # a cost, in the language's money
             ("min_cost", "zh"): f"{solution.bound / 1e4:,.2f} 万元"}.get(
        (kind, language), f"{solution.bound:,.0f} {'people' if language == 'en' else '人'}")
    named = f"{term(bound_key, language)} {bound}"
    assert named in markdown and named in page
    other = "report.bound_max" if bound_key == "report.bound_min" else "report.bound_min"
    assert term(other, language) not in markdown.split("\n\n")[2]


def test_every_path_loss_model_has_a_name_in_both_languages():
    for key in PATH_LOSS_MODELS:
        for language in LANGUAGES:
            shown = model_text(key, language)
            assert shown != key and shown.endswith(("(" if language == "en" else "（") + key
                                                   + (")" if language == "en" else "）"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_assumptions_name_the_propagation_model(runs, language):
    """The assumptions table showed the scenario key rma_38901; it names the model as the
    literature does, the key in brackets (what the scenario file says)."""
    run = runs["min_cost"]
    assert run.scenario.technologies[0].model == "rma_38901"
    named = {"en": "3GPP TR 38.901 RMa (rma_38901)", "zh": "3GPP TR 38.901 RMa（rma_38901）"}[language]
    markdown, page = reports(run, language)
    heading = term("section.assumptions", language)
    markdown, page = markdown.split(f"## {heading}")[1], page.split(f">{heading}</h2>")[1]
    for cells in (md_row(markdown, TECH_4G["name"]), html_row(page, TECH_4G["name"])):
        assert cells[5] == named
    assert "| 61.0 | -110.0 |" in markdown  # EIRP and threshold [dBm] to 0.1 dB

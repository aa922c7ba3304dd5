"""QA of the year-end evaluation under ``demand.mandatory.generations``: a county's mandatory
villages are counted covered as the plan counted them (by an option of each listed
generation), and a village left with 4G only is listed as lacking 5G.

The region (county A, a flat 6 km square, 4G and 5G reaching 900 m): V1 beside the existing
4G site E1 (which a 5G carrier may upgrade), V2 5 km east beside two new candidates, N2
(4G only) and N3 (5G only). Under ``[4G, 5G]`` the plan upgrades E1 to 5G and builds N2 and
N3; the as-built list upgrades E1 and builds N2 alone, so V2 gets 4G only.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from siting.evaluate import evaluate_plan
from siting.export.i18n import value_text
from siting.pipeline import run_scenario
from tests.regions import TECH_4G, TECH_5G, candidate, village, write_region

#: The default score weights (README, "Year-end evaluation and the rolling plan").
WEIGHTS = {"sites_on_time": 30, "budget": 10, "people": 20, "mandatory_villages": 30,
           "complaints": 10}
PEOPLE = 200  # each village's
#: The as-built list: E1's 5G upgrade and N2's 4G, each for 1 CNY (the budget criterion is 1).
BUILT = "site_id,technology,year,cost_cny\nE1,5G-3500,2027,1\nN2,4G-1800,2027,1\n"


def _region(folder, generations):
    """The region's scenario file, ``demand.mandatory.generations`` set to ``generations``."""
    return write_region(
        folder / "in", np.full((200, 200), 400.0),
        [village("V1", 1000, 3000, population=PEOPLE), village("V2", 5000, 3000, population=PEOPLE)],
        [candidate("E1", 1000, 3100, kind="existing_4g"), candidate("N2", 5000, 3100, techs="4G"),
         candidate("N3", 5000, 2900, techs="5G")],
        technologies=[dict(TECH_4G, max_range_m=900), dict(TECH_5G, max_range_m=900)],
        demand={"grid_m": 300, "min_people_per_cell": 1, "mandatory": {"generations": generations}})


def _plan(folder, generations):
    """The region planned (single period, least cost) under ``generations``; its folder."""
    run_scenario(_region(folder, generations), folder / "plan")
    return folder / "plan"


@pytest.fixture(scope="module")
def both_folder(tmp_path_factory):
    """A folder holding the plan under [4G, 5G] (``plan``) and :data:`BUILT` (``built.csv``)."""
    folder = tmp_path_factory.mktemp("qa_evalgen_both")
    _plan(folder, ["4G", "5G"])
    (folder / "built.csv").write_text(BUILT, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def both(both_folder):
    """The evaluation of the plan under [4G, 5G] against :data:`BUILT`."""
    return evaluate_plan(both_folder / "plan", both_folder / "built.csv")


def _county(evaluation):
    return evaluation.counties.set_index("admin_unit").loc["A"]


def _score(criteria: dict) -> float:
    return round(100 * sum(WEIGHTS[c] * v for c, v in criteria.items()) / sum(WEIGHTS.values()), 1)


def test_a_village_with_4g_only_is_not_a_covered_mandatory_village(both):
    """Before the plan V1 has 4G only (not covered under [4G, 5G]); the plan covers V1 and V2
    by both; the as-built network covers V1 by both (E1's 4G and its 5G upgrade) and V2 by
    4G alone: 0 before, 2 planned, 1 achieved, 1 still uncovered, the criterion (1 - 0) /
    (2 - 0). Sites: 3 due (E1's upgrade, N2, N3), 2 built on time; people: V1 covered
    before, both after, as planned."""
    assert sorted(zip(both.sites["site_id"], both.sites["status"])) == [
        ("E1", "on_time"), ("N2", "on_time"), ("N3", "not_built")]
    county = _county(both)
    counts = ("mandatory_villages", "mandatory_villages_before", "mandatory_villages_planned",
              "mandatory_villages_achieved", "mandatory_villages_uncovered")
    assert [int(county[c]) for c in counts] == [2, 0, 2, 1, 1]
    assert county.criterion_mandatory_villages == pytest.approx(1 / 2)
    assert (county.people_before, county.people_planned, county.people_achieved) == \
        (PEOPLE, 2 * PEOPLE, 2 * PEOPLE)
    hand = _score({"sites_on_time": 2 / 3, "budget": 1.0, "people": 1.0,
                   "mandatory_villages": 1 / 2, "complaints": 1.0})
    assert county.score == pytest.approx(hand, abs=1e-9)
    overall = both.overall.set_index("name")
    assert overall.loc["mandatory_villages_covered", ["planned", "achieved"]].tolist() == [2, 1]
    assert overall.loc["mandatory_villages_uncovered", "achieved"] == 1


def test_the_uncovered_list_names_the_generation_a_village_lacks(both):
    """V2 lacks 5G, which N3 (planned, not built) would give it: the reason says both, as
    the plan's reasons say a lacking generation, in English and Chinese."""
    [row] = both.uncovered.itertuples()
    assert row.village_id == "V2"
    assert row.reason == "no 5G coverage: a planned site that would cover it is not built yet"
    assert value_text("reason", row.reason, "zh") == "缺少 5G 覆盖：可覆盖该处的规划站址尚未建成"


def test_under_any_generation_the_counts_are_as_before(tmp_path):
    """Under [any] E1's 4G covers V1 before the plan, which builds N2 alone (cheaper than
    N3) for V2; the same as-built list (E1's upgrade outside the plan): 1 before, 2 planned
    and achieved, none uncovered, the criterion 1."""
    plan = _plan(tmp_path, ["any"])
    (tmp_path / "built.csv").write_text(BUILT, encoding="utf-8")
    evaluation = evaluate_plan(plan, tmp_path / "built.csv")
    county = _county(evaluation)
    counts = ("mandatory_villages_before", "mandatory_villages_planned",
              "mandatory_villages_achieved", "mandatory_villages_uncovered")
    assert [int(county[c]) for c in counts] == [1, 2, 2, 0]
    assert county.criterion_mandatory_villages == 1.0
    assert len(evaluation.uncovered) == 0


def test_the_plans_and_the_replans_before_count_villages_as_their_after_does(both_folder, tmp_path):
    """"Mandatory villages covered" before and after, in summary.json: the plan finds V1 with
    4G only (0 before) and covers both (2 after); re-planned from :data:`BUILT`, V1 has both
    on air and V2 4G only (1 before), and the re-plan builds N3 (2 after). Counting any
    generation, "before" was 1 and 2."""
    kpis = json.loads((both_folder / "plan" / "summary.json").read_text(encoding="utf-8"))["kpis"]
    assert (kpis["mandatory_villages_covered_before"], kpis["mandatory_villages_covered"]) == (0, 2)
    run, summary, _ = run_scenario(both_folder / "in" / "scenario.yaml", tmp_path / "replan",
                                   as_built=both_folder / "built.csv")
    assert sorted(run.coverage.options["site_id"].to_numpy()[run.plan.new_options]) == ["N3"]
    kpis = summary["kpis"]
    assert (kpis["mandatory_villages_covered_before"], kpis["mandatory_villages_covered"]) == (1, 2)

"""QA of the year-end evaluation as a county evaluator reads it: the budget score, the sites'
surveyed positions in every format and coordinate system, and the odd rows of an as-built list.

The region: three villages 2 km apart on a flat valley floor (300, 200 and 100 people, all
mandatory), one candidate beside each (S1, S2, S3), a 4G range of 900 m and one site's budget
a year, so the plan builds S1 in 2027, S2 in 2028 and S3 in 2029, each at a capex of
50,000 + 150,000 CNY.
"""

from __future__ import annotations

import pytest

from siting.evaluate import evaluate_plan
from siting.pipeline import run_scenario
from tests.regions import candidate, one_site_a_year_region, village

SITES = {"S1": (1000, 3000), "S2": (3000, 3000), "S3": (5000, 3000)}
PEOPLE = {"V1": 300, "V2": 200, "V3": 100}
#: The plan's capex of each site: the candidate's 50,000 and the 4G equipment's 150,000 [CNY].
SITE_CAPEX_CNY = 50000 + 150000
#: The default score weights (README, "Year-end evaluation and the rolling plan").
WEIGHTS = {"sites_on_time": 30, "budget": 10, "people": 20, "mandatory_villages": 30,
           "complaints": 10}


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("qa_yearend2")
    villages = [village(v, x, 3000, population=PEOPLE[v])
                for v, x in (("V1", 1000), ("V2", 3000), ("V3", 5000))]
    candidates = [candidate(s, x, y, techs="4G") for s, (x, y) in SITES.items()]
    scenario = one_site_a_year_region(folder / "in", villages, candidates)
    run_scenario(scenario, folder / "plan")
    return scenario, folder / "plan"


def as_built_csv(path, rows) -> str:
    path.write_text("site_id,technology,year,cost_cny\n"
                    + "".join(",".join(map(str, r)) + "\n" for r in rows), encoding="utf-8")
    return path


def county_row(evaluation, county: str = "A"):
    return evaluation.counties.set_index("admin_unit").loc[county]


def test_a_site_not_built_gives_no_allowance_to_the_sites_built(plan, tmp_path):
    """By 2028 S1 and S2 are due; the county built S1 alone, for 300,000 CNY against its
    planned 200,000. The budget criterion set the planned cost of both sites due (400,000)
    against what was spent: 1.0, the unbuilt S2's money hiding S1's overrun. It now sets the
    planned cost of what was built against what that cost (earned value's cost performance
    index): 200,000 / 300,000. The county's score, by hand from README's weights."""
    _, folder = plan
    built = as_built_csv(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 300000)])
    county = county_row(evaluate_plan(folder, built, year="2028"))
    budget = SITE_CAPEX_CNY / 300000
    assert county.criterion_budget == pytest.approx(budget, abs=1e-4)
    criteria = {"sites_on_time": 1 / 2,  # S1 on time, S2 not built
                "budget": budget,
                "people": PEOPLE["V1"] / (PEOPLE["V1"] + PEOPLE["V2"]),  # gained / planned gain
                "mandatory_villages": 1 / 2, "complaints": 1.0}  # no complaint points
    hand = 100 * sum(WEIGHTS[c] * v for c, v in criteria.items()) / sum(WEIGHTS.values())
    assert county.score == pytest.approx(round(hand, 1), abs=1e-9)


def test_the_budget_compares_each_built_sites_plan_with_its_cost(plan, tmp_path):
    """S1 built late (2028) at 180,000 CNY and S3 a year early at 260,000: the planned cost of
    both (2 x 200,000) against their 440,000; S2, due and not built, gives no allowance."""
    _, folder = plan
    built = as_built_csv(tmp_path / "built.csv", [("S1", "4G-1800", 2028, 180000),
                                                  ("S3", "4G-1800", 2028, 260000)])
    county = county_row(evaluate_plan(folder, built, year="2028"))
    assert county.criterion_budget == pytest.approx(2 * SITE_CAPEX_CNY / 440000, abs=1e-4)
    assert (county.planned_cost_cny, county.spent_cny) == (2 * SITE_CAPEX_CNY, 440000)


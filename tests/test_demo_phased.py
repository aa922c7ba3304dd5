"""The bundled demo region planned over five years (data/demo/scenario_phased.yaml)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siting.config import load_scenario
from siting.pipeline import DEMO_SCENARIO, compute, write_outputs
from siting.plan import reachable_need

PHASED = DEMO_SCENARIO.with_name("scenario_phased.yaml")


@pytest.fixture(scope="module")
def phased(tmp_path_factory):
    if not PHASED.exists():
        pytest.skip(f"phased demo scenario missing: {PHASED}")
    out = tmp_path_factory.mktemp("phased")
    run = compute(load_scenario(PHASED))
    return run, write_outputs(run, out), out


def test_every_year_keeps_to_its_budget_and_quota(phased):
    run, summary, _ = phased
    limits = {p.label: p for p in run.scenario.objective.phases}
    assert [p["label"] for p in summary["phases"]] == ["2027", "2028", "2029", "2030", "2031"]
    for year in summary["phases"]:
        assert year["cost_cny"] <= limits[year["label"]].budget_cny + 1e-6
        assert year["new_sites"] <= limits[year["label"]].max_new_sites
    assert sum(p["cost_cny"] for p in summary["phases"]) == pytest.approx(
        summary["kpis"]["total_cost_cny"], abs=1.0)


def test_mandatory_demand_is_covered_by_the_deadline_and_coverage_only_grows(phased):
    run, summary, _ = phased
    reachable = int((reachable_need(run.coverage.covers, run.demand) > 0).sum())
    by_year = {p["label"]: p for p in summary["phases"]}
    assert by_year["2028"]["mandatory_covered"] == reachable
    people = [p["people_covered"] for p in summary["phases"]]
    assert people == sorted(people) and people[0] > summary["kpis"]["people_covered_before"]
    assert summary["kpis"]["backup_points_met"] == summary["kpis"]["backup_points_total"] > 0
    assert summary["solver"]["gap"] <= run.scenario.solver.mip_gap + 1e-9


def test_the_site_list_says_when_each_site_is_built(phased):
    run, summary, out = phased
    sites = pd.read_csv(out / "selected_sites.csv", dtype={"phase": str})
    built = sites[sites["action"].isin(["build", "upgrade"])]
    assert built["phase"].notna().all()
    counts = built.groupby("phase").size()
    for year in summary["phases"]:
        assert counts.get(year["label"], 0) == year["new_sites"] + year["upgrades"]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Phased schedule" in report and "person-years" in report
    # the objective is the people covered summed over the years
    assert summary["solver"]["objective"] == pytest.approx(
        np.sum([p["people_covered"] for p in summary["phases"]]), rel=1e-6)

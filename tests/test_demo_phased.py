"""The bundled demo region planned over five years (data/demo/scenario_phased.yaml)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siting.config import load_scenario
from siting.pipeline import DEMO_SCENARIO, compute, write_outputs
from siting.cover_rows import reachable_need

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
    _, summary, out = phased
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


# ---------------------------------------------------------------------------------------
# Year-end evaluation and re-planning (siting evaluate, siting run --built) on the demo's plan


@pytest.fixture(scope="module")
def year_one(phased, tmp_path_factory):
    """An as-built list made from the plan's 2027 sites, 4G ones only (so the network can also
    be written as existing_4g sites): three dropped, two built late (2028), the rest on time at
    their planned capex plus 5%, and one site built outside the plan."""
    _, _, out = phased
    sites = pd.read_csv(out / "selected_sites.csv", dtype={"phase": str, "site_id": str})
    year1 = sites[(sites["phase"] == "2027") & (sites["technology"] == "4G-1800")].sort_values("site_id")
    dropped, late, on_time = year1.iloc[:3], year1.iloc[3:5], year1.iloc[5:]
    import geopandas as gpd

    candidates = gpd.read_file(out / "sites.gpkg", layer="candidates", engine="pyogrio")
    off_plan = candidates[~candidates["selected"] & (candidates["kind"] == "public_building")
                          & candidates["technologies"].str.contains("4G")].sort_values("site_id").iloc[0]
    rows = ([(s, "4G-1800", 2027, round(c * 1.05)) for s, c in zip(on_time["site_id"], on_time["capex_cny"])]
            + [(s, "4G-1800", 2028, c) for s, c in zip(late["site_id"], late["capex_cny"])]
            + [(off_plan["site_id"], "4G-1800", 2027, 400000)])
    path = tmp_path_factory.mktemp("as_built") / "as_built.csv"
    pd.DataFrame(rows, columns=["site_id", "technology", "year", "cost_cny"]).to_csv(path, index=False)
    planned_2027 = sites[sites["phase"] == "2027"]
    return path, dict(due=len(planned_2027), on_time=len(on_time), off_plan=off_plan["site_id"],
                      not_built=len(planned_2027) - len(on_time),
                      dropped=sorted(dropped["site_id"]),
                      spent=sum(r[3] for r in rows if r[2] == 2027),
                      planned_capex=planned_2027["capex_cny"].sum(),
                      built_2027=[r[0] for r in rows if r[2] == 2027])


def test_evaluation_counts_match_a_hand_count_on_the_demo(phased, year_one):
    from siting.evaluate import evaluate_plan

    _, _, out = phased
    path, hand = year_one
    e = evaluate_plan(out, path, year="2027")
    total = e.counties.set_index("admin_unit").loc["(all)"]
    assert (total.sites_due, total.sites_on_time, total.sites_not_built, total.sites_not_in_plan) \
        == (hand["due"], hand["on_time"], hand["not_built"], 1)
    assert e.sites.loc[e.sites["status"] == "not_in_plan", "site_id"].tolist() == [hand["off_plan"]]
    dropped = e.sites[e.sites["site_id"].isin(hand["dropped"])]
    assert sorted(dropped["site_id"]) == hand["dropped"]
    assert (dropped["status"] == "not_built").all()
    assert total.spent_cny == pytest.approx(hand["spent"])
    assert total.planned_capex_cny == pytest.approx(hand["planned_capex"])
    counties = e.counties[e.counties["admin_unit"] != "(all)"]
    assert counties["sites_due"].sum() == hand["due"]
    assert (counties["score"].between(0, 100)).all()


def test_achieved_coverage_equals_a_fresh_run_with_the_as_built_sites_existing(phased, year_one,
                                                                                tmp_path):
    """The same network written the old way: as-built sites as existing_4g candidates."""
    import geopandas as gpd
    import yaml

    from siting.evaluate import evaluate_plan
    from siting.pipeline import prepare
    from siting.plan import option_costs

    _, _, out = phased
    path, hand = year_one
    e = evaluate_plan(out, path, year="2027")
    source = PHASED.parent / "region.gpkg"
    gpkg = tmp_path / "region.gpkg"
    for layer in ("villages", "candidates", "complaints", "zones", "admin_units"):
        frame = gpd.read_file(source, layer=layer, engine="pyogrio")
        if layer == "candidates":
            frame.loc[frame["site_id"].isin(hand["built_2027"]), "kind"] = "existing_4g"
        frame.to_file(gpkg, layer=layer, engine="pyogrio")
    doc = yaml.safe_load(PHASED.read_text())
    doc["inputs"] = {"dem": str(PHASED.parent / "dem.tif"),
                     "population": str(PHASED.parent / "population.tif"), "vectors": str(gpkg)}
    (tmp_path / "fresh.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    scenario = load_scenario(tmp_path / "fresh.yaml")
    region, demand, coverage = prepare(scenario)
    fixed = option_costs(coverage, region.candidates, scenario).fixed
    covered = np.asarray(coverage.covers[:, fixed].sum(axis=1)).ravel() > 0
    total = e.counties.set_index("admin_unit").loc["(all)"]
    assert total.people_achieved == pytest.approx(demand.people[covered].sum(), rel=1e-12)
    assert total.villages_achieved == int((covered & (demand.kind == "village")).sum())
    assert total.mandatory_villages_achieved == int(
        (covered & demand.mandatory & (demand.kind == "village")).sum())


def test_replanning_the_demo_keeps_the_as_built_sites_within_what_is_left(phased, year_one):
    run, _, _ = phased
    path, hand = year_one
    replan = compute(run.scenario, as_built=path, as_built_year="2027")
    options, plan = replan.coverage.options, replan.plan
    built = options.index[options["site_id"].isin(hand["built_2027"])
                          & (options["technology"] == "4G-1800")]
    assert plan.costs.fixed[built].all() and np.isin(built, plan.selected).all()
    left = replan.scenario.objective.total_budget_cny
    assert left <= run.scenario.objective.total_budget_cny - hand["spent"]
    assert plan.costs.total_cny[plan.new_options].sum() <= left + 1e-6
    for year, phase in zip(plan.phase_labels, replan.scenario.objective.phases):
        assert plan.costs.total_cny[plan.build_period == plan.phase_labels.index(year)].sum() \
            <= phase.budget_cny + 1e-6
    reachable = reachable_need(replan.coverage.covers, replan.demand) > 0
    assert plan.covered_after[reachable].all()
    assert [p.label for p in replan.scenario.objective.phases] == ["2028", "2029", "2030", "2031"]

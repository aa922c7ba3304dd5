"""Defects found reviewing the day's changes (phased late stage, complaints KPIs following
the mandatory rule, existing feeds' check, ``backhaul.mandatory_feed: terrestrial``, the
node-limited tie-break): each test fails without its fix."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from shapely.geometry import Point, box

import geopandas as gpd
import siting
from regions import CRS, candidate, ridge_dem, village, write_region, xy
from shapely.geometry import LineString
from siting.config import Objective, Phase, SolverSettings
from siting.errors import InfeasibleError
from siting.export.i18n import reason_key
from siting.optimize import pulp_backend
import siting.optimize.phased
from siting.optimize.model import MipModel, MipResult
from siting.plan import plan_network
from test_qa_mandfeed import OPEX_YEARS, _network as mandfeed_network, _plan as mandfeed_plan
from tiny_plans import costs_of, coverage_of, demand_of, fiber_network


def _five_g_region(folder, **scenario):
    """The ridge region of test_backhaul_plan (fiber at E1 in the west, a fiber node and a
    road in the south), its new candidates offering 5G only, so that a site built for people
    covers the 5G zone check points too."""
    sites = [candidate("E1", 500, 1800, kind="existing_4g", techs="4G"),
             candidate("C1", 2000, 1500, techs="5G"),
             candidate("C2", 4000, 1500, capex=40000, techs="5G"),
             candidate("C3", 5500, 2500, capex=30000, techs="5G"),
             candidate("C4", 3100, 200, height=150, capex=20000, techs="5G")]
    for site in sites:
        site["has_fiber"] = site["site_id"] == "E1"
    villages = [village("V1", 1500, 1800), village("V2", 4500, 1800), village("V3", 5200, 3000)]
    path = write_region(folder, ridge_dem(rows=120, cols=200, ridge_col=100), villages, sites,
                        **scenario)
    gpkg = folder / "region.gpkg"
    gpd.GeoDataFrame({"node_id": ["N1"]}, geometry=[Point(*xy(300, 3000))],
                     crs=CRS).to_file(gpkg, layer="fiber_nodes")
    gpd.GeoDataFrame({"road_id": ["R1"]}, geometry=[LineString([xy(300, 3000), xy(5900, 3000)])],
                     crs=CRS).to_file(gpkg, layer="roads")
    return path


def test_mandatory_kpis_count_points_as_the_plan_does_under_terrestrial(tmp_path):
    """Mandatory complaint points and 5G zone check points only a satellite-fed site reaches
    are reported uncovered under ``mandatory_feed: terrestrial``; ``complaints_covered``,
    ``zone_points_covered_5g`` and ``backup_points_met`` counted them covered all the same
    (covered plus uncovered came to more than the points there are)."""
    complaints = [dict(complaint_id=f"C{i}", people=0, geometry=Point(*xy(x, y)))
                  for i, (x, y) in enumerate([(1500, 1800), (4500, 1800), (5200, 3000)])]
    zone = dict(zone_id="Z1", name="east", kind="city_centre", require_5g=True,
                geometry=box(*xy(4300, 2000), *xy(4700, 1600)))
    study = siting.prepare(_five_g_region(
        tmp_path, complaints=complaints, zones=[zone],
        demand={"grid_m": 300, "min_people_per_cell": 1,
                "backup": {"zone_kinds": ["city_centre"], "servers": 2}},
        backhaul={"enabled": True, "max_microwave_hops": 2, "satellite_cny_per_year": 1.0}))
    network = study.backhaul
    fiber = network.fiber.assign(cost_cny=np.where(network.needs_backhaul, np.inf, 0.0))
    study = replace(study, backhaul=replace(network, fiber=fiber, links=network.links.iloc[:0]))
    ground = study.plan(type="max_coverage", budget_cny=1e7,
                        backhaul={"mandatory_feed": "terrestrial"})
    kpis = ground.summary()["kpis"]
    lost = kpis["mandatory_points_uncovered"]["complaint"]
    assert lost > 0
    assert kpis["complaints_covered"] + lost == kpis["complaints_total"]
    lost_zone = kpis["mandatory_points_uncovered"]["zone"]
    assert lost_zone > 0
    assert kpis["zone_points_covered_5g"] + lost_zone == kpis["zone_points_total"]
    assert kpis["backup_points_met"] + lost_zone <= kpis["backup_points_total"]
    zones = ground.summary()["zones"]  # the report names the zones short of 5G by these
    assert [(z["zone_id"], z["covered_5g"]) for z in zones] == [("Z1", 0)]


# --- CBC: a binary column fixed by its bounds (an existing site's option in the backhaul
# model, col_lo = 1) was free: PuLP resets a binary variable's bounds to 0..1


def test_cbc_keeps_a_binary_column_fixed_by_its_bounds():
    """min x0 + x1 with x0 fixed to 1 and x1 to 0 by their bounds: CBC answered 0."""
    mip = MipModel(c=np.array([1.0, -1.0]), A=sp.csc_matrix((0, 2)), row_lo=np.zeros(0),
                   row_hi=np.zeros(0), col_lo=np.array([1.0, 0.0]), col_hi=np.array([1.0, 0.0]),
                   integer=np.array([True, True]), sense="min")
    res = pulp_backend.solve_mip(mip)
    assert res.x.tolist() == [1.0, 0.0]
    assert res.objective == 1.0


def test_cbc_phased_plan_says_what_feeding_the_existing_sites_costs():
    """The existing-feeds explanation of a phased backhaul plan with no plan holds with CBC:
    its least-cost solve fed no existing site (0 CNY) and said nothing."""
    network = fiber_network([5.0, 100.0, 1.0], links=[(0, 1, 10.0), (2, 1, 1.0)], max_hops=1)
    objective = Objective(kind="max_coverage", phases=(Phase("2027", budget_cny=7.0),
                                                       Phase("2028", budget_cny=100.0)))
    with pytest.raises(InfeasibleError, match=r"must be fed, at least 8 CNY"):
        plan_network(coverage_of(np.array([[0, 0, 1]])),
                     demand_of(np.array([10.0]), np.array([True])),
                     costs_of(np.array([0.0, 0.0, 1.0]), fixed=[True, True, False]), objective,
                     SolverSettings(name="cbc", time_limit_s=30.0, mip_gap=0.0), network)


# --- a phased plan with backhaul under terrestrial: an existing site's w column


def test_a_phased_terrestrial_stage_keeps_the_warm_start_of_an_existing_site(monkeypatch):
    """The existing site 0 (satellite 1 CNY, fiber 2) alone covers village V0; new site 1
    covers V1, unaffordable by the 2027 deadline. Under ``terrestrial`` the existing site is
    fed by fiber; the warm start of each stage after the first left its option's w column
    unbuilt (the schedule gives a fixed option no period), so it missed V0 and was dropped:
    a people stage that stopped before a plan of its own failed the plan instead of
    keeping the plan of the stage before."""
    solve = siting.optimize.phased.run_mip

    def people_stages_find_nothing(mip, **settings):
        if mip.c.max() > 1.0:  # the stages rewarding people (80 on a row)
            return MipResult(x=None, status="no_solution", objective=float("nan"),
                             bound=float("nan"))
        return solve(mip, **settings)

    monkeypatch.setattr(siting.optimize.phased, "run_mip", people_stages_find_nothing)
    inst = dict(cover=np.array([[True, False, False], [False, True, False],
                                [False, True, False]]),
                generation=np.array(["4G", "4G", "4G"], dtype=object), site=np.array([0, 1, 2]),
                fixed=np.array([True, False, True]), cost=np.array([0.0, 1.0, 0.0]),
                group=np.array([-1, 1, -1]), new_site=np.array([False, True, False]),
                mandatory=np.array([True, True, False]), people=np.array([10.0, 0.0, 80.0]))
    network = mandfeed_network(np.array([2.0, 2.0, 0.0]), [])
    objective = Objective(kind="max_coverage", opex_years=OPEX_YEARS, mandatory_by="2027",
                          phases=(Phase("2027", budget_cny=2.5), Phase("2028", budget_cny=10.0)))
    plan = mandfeed_plan(inst, objective, network)
    assert plan.backhaul.feeds.backhaul[:2].tolist() == ["fiber", "fiber"]
    assert plan.build_period.tolist() == [-1, 1, -1]
    assert list(plan.uncovered_reason) == ["", "", ""]
    assert plan.solution.status == "time_limit"


# --- the existing feeds' check names the budget that binds


@pytest.mark.parametrize("first_cny, setting", [
    (None, "objective.budget_cny"), (100.0, "objective.budget_cny"),
    (7.0, "objective.budget_cny and the first phase's budget_cny in objective.phases")])
def test_existing_feeds_name_the_plans_budget_when_it_binds(first_cny, setting):
    """objective.budget_cny 7 CNY, the first phase's none, 100 or 7: feeding the existing
    sites (8 CNY) passes the plan's budget, and raising the first phase's budget_cny, which
    the message asked for, changed nothing (with both at 7, both must be raised)."""
    network = fiber_network([5.0, 100.0, 1.0], links=[(0, 1, 10.0), (2, 1, 1.0)], max_hops=1)
    objective = Objective(kind="max_coverage", budget_cny=7.0,
                          phases=(Phase("2027", budget_cny=first_cny),
                                  Phase("2028", budget_cny=first_cny)))
    with pytest.raises(InfeasibleError) as error:
        plan_network(coverage_of(np.array([[0, 0, 1]])),
                     demand_of(np.array([10.0]), np.array([True])),
                     costs_of(np.array([0.0, 0.0, 1.0]), fixed=[True, True, False]), objective,
                     SolverSettings(time_limit_s=30.0, mip_gap=0.0), network)
    message = str(error.value)
    assert "at least 8 CNY" in message
    assert "the plan's budget, 7 CNY, of which they are fed in its first phase (2027)" in message
    assert message.endswith(f"or raise {setting}")


# --- a phased stage of value 0: its gap is the cost term's, not the solver's


def test_a_phased_plan_of_no_more_value_is_proven():
    """Two complaint points due in 2027, one site a year affordable in 2027 only (2028's
    budget pays for none): the people stage covers nobody (value 0), and the cost term's
    slack in its bound made its relative gap unbounded: the plan was "feasible", not
    proven, and the complaint 2028 cannot afford was reported as the solver having stopped
    short (a longer time limit may cover it) instead of over the years' budgets."""
    inst = dict(cover=np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]]),
                people=np.array([0.0, 0.0, 50.0]), mandatory=np.array([True, True, False]),
                cost=np.array([1.0, 1.0, 1.0]))
    objective = Objective(kind="max_coverage", mandatory_by="2027",
                          phases=(Phase("2027", budget_cny=1.0), Phase("2028", budget_cny=0.5)))
    plan = plan_network(coverage_of(inst["cover"]), demand_of(inst["people"], inst["mandatory"]),
                        costs_of(inst["cost"]), objective,
                        SolverSettings(time_limit_s=30.0, mip_gap=0.0))
    assert plan.solution.status == "optimal"
    assert plan.solution.gap == 0.0
    assert sorted(reason_key(r) for r in plan.uncovered_reason[:2]) == ["", "over_year_budgets"]

"""``demand.mandatory.generations``: the prefecture's mission brings 4G and 5G to every
mandatory village, so a mandatory point may need an option of each listed generation (a 5G
option gives 5G service only: a site serves 4G by a 4G option on air, as an existing 4G site
upgraded to 5G keeps its 4G carrier). Plans are checked against a brute force over every
choice of options; a tiny region's outputs against its coverage matrix."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import yaml
from typer.testing import CliRunner

from regions import candidate, village, write_region
from siting.cli import app
from siting.config import Objective, Phase, SolverSettings, load_scenario
from siting.coverage import CoverageMatrix
from siting.demand import Demand
from siting.errors import ScenarioError
from siting.export.i18n import reason_key, stage_text, value_text
from siting.export.summary import summary_facts
from siting.export.tables import admin_table, site_table, village_table
from siting.optimize.phased import on_air_through
from siting.pipeline import compute
from siting.plan import OptionCosts, baseline_greedy, plan_network

SOLVER = SolverSettings(time_limit_s=30.0, mip_gap=0.0)
GENERATIONS = ("4G", "5G")
BOTH = ("4G", "5G")


# --- a synthetic instance: new sites with a 4G and a 5G option each (one of the two may be
# built), and one existing 4G site (its 4G on air, its 5G upgrade an option of its own)


def random_instance(seed: int, n_new_sites: int = 4, n_rows: int = 6) -> dict:
    """Options 2 per new site then the existing site's 4G (fixed) and 5G upgrade; rows 0-2
    mandatory villages, the rest people cells."""
    rng = np.random.default_rng(seed)
    n_options = 2 * n_new_sites + 2
    cover = rng.random((n_rows, n_options)) < 0.35
    generation = np.array(["4G", "5G"] * (n_new_sites + 1), dtype=object)
    site = np.repeat(np.arange(n_new_sites + 1), 2)
    fixed = np.zeros(n_options, bool)
    fixed[-2] = True
    cost = np.where(fixed, 0.0, rng.integers(1, 6, n_options).astype(float))
    group = np.where(site < n_new_sites, site, -1)
    return dict(cover=cover, generation=generation, site=site, fixed=fixed, cost=cost,
                group=group, new_site=site < n_new_sites, mandatory=np.arange(n_rows) < 3,
                people=rng.integers(1, 100, n_rows).astype(float))


def instance_coverage(inst: dict) -> CoverageMatrix:
    cover = inst["cover"]
    options = pd.DataFrame({"candidate": inst["site"], "site_id": [f"S{s}" for s in inst["site"]],
                            "technology": [f"{g}-tech" for g in inst["generation"]],
                            "generation": inst["generation"]})
    level = sp.csr_matrix(np.where(cover, -80.0, 0.0).astype(np.float32))
    return CoverageMatrix(level_dbm=level, options=options, in_range=np.ones(len(cover), bool),
                          best_level_dbm=np.where(cover.any(axis=1), -80.0, -np.inf).astype(np.float32))


def instance_demand(inst: dict, generations: tuple[str, ...]) -> Demand:
    m = len(inst["people"])
    return Demand(x_m=np.zeros(m), y_m=np.zeros(m), people=inst["people"],
                  mandatory=inst["mandatory"], require_5g=np.zeros(m, bool),
                  kind=np.where(inst["mandatory"], "village", "cell"),
                  ref_id=np.array([f"R{i}" for i in range(m)]), admin_unit=np.full(m, "A"),
                  mandatory_generations=generations)


def instance_costs(inst: dict) -> OptionCosts:
    n = len(inst["cost"])
    return OptionCosts(capex_cny=inst["cost"], opex_cny_per_year=np.zeros(n),
                       total_cny=inst["cost"], fixed=inst["fixed"], new_site=inst["new_site"],
                       group=inst["group"].astype(np.int64))


def _plan(inst, generations, objective, **kwargs):
    return plan_network(instance_coverage(inst), instance_demand(inst, generations),
                        instance_costs(inst), objective, SOLVER, **kwargs)


def _requirements(inst: dict, generations: tuple[str, ...]) -> list[tuple[int, np.ndarray]]:
    """(mandatory row, bool per option: the options that meet one of its needs) per need:
    one per generation listed, or one of any option; only needs some option can meet."""
    needs = []
    for row in np.flatnonzero(inst["mandatory"]):
        for generation in generations:
            meets = inst["cover"][row] & ((inst["generation"] == generation) | (generation == "any"))
            if meets.any():
                needs.append((row, meets))
    return needs


def option_choices(inst: dict):
    """Every choice of options (the fixed ones always in), at most one per group."""
    free = np.flatnonzero(~inst["fixed"])
    for k in range(len(free) + 1):
        for chosen in itertools.combinations(free, k):
            groups = inst["group"][list(chosen)]
            groups = groups[groups >= 0]
            if len(set(groups.tolist())) == len(groups):
                yield np.concatenate([np.flatnonzero(inst["fixed"]), chosen]).astype(int)


def _score(inst, generations, chosen) -> tuple[int, float, float]:
    """(needs met, people covered, cost) of the options ``chosen``."""
    x = np.zeros(len(inst["cost"]), bool)
    x[chosen] = True
    met = sum(bool((meets & x).any()) for _, meets in _requirements(inst, generations))
    covered = inst["cover"][:, x].any(axis=1)
    return met, float(inst["people"][covered].sum()), float(inst["cost"][x].sum())


def _brute_min_cost(inst, generations) -> tuple[int, float, float]:
    """(needs met, least cost, most people at it): the most needs met (all unless one
    technology a site keeps some apart), at least cost, then the most people."""
    best = min((-s[0], s[2], -s[1])
               for s in (_score(inst, generations, c) for c in option_choices(inst)))
    return -best[0], best[1], -best[2]


def _brute_max_coverage(inst, generations, budget) -> tuple[int, float, float]:
    """The most needs met, then people, then the least cost, within ``budget``."""
    best = max((s[0], s[1], -s[2])
               for s in (_score(inst, generations, c) for c in option_choices(inst))
               if s[2] <= budget + 1e-9)
    return best[0], best[1], -best[2]


def _plan_score(inst, generations, plan) -> tuple[int, float, float]:
    return _score(inst, generations, plan.selected)


def _met_by_each_generation(inst, generations, selected) -> np.ndarray:
    """Bool per row: an option ``selected`` of each generation listed covers it."""
    x = np.zeros(len(inst["cost"]), bool)
    x[selected] = True
    return np.all([inst["cover"][:, x & (inst["generation"] == g)].any(axis=1)
                   for g in generations], axis=0)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("generations", [BOTH, ("5G",), ("4G",)])
def test_min_cost_plans_meet_each_listed_generation_at_brute_force_cost(seed, generations):
    inst = random_instance(seed)
    plan = _plan(inst, generations, Objective(kind="min_cost"))
    met, people, cost = _plan_score(inst, generations, plan)
    assert (met, cost, people) == pytest.approx(_brute_min_cost(inst, generations))


@pytest.mark.parametrize("seed", range(4))
def test_a_short_budget_meets_the_most_point_generations_then_people(seed):
    inst = random_instance(seed)
    least = _brute_min_cost(inst, BOTH)[1]
    budget = least - 1.0  # not every need can be met
    plan = _plan(inst, BOTH, Objective(kind="max_coverage", budget_cny=budget))
    assert _plan_score(inst, BOTH, plan) == pytest.approx(_brute_max_coverage(inst, BOTH, budget))
    assert plan.stages[1].startswith("cover as many mandatory points")
    assert plan.stages[1].endswith(" (counting each generation a point needs)")
    assert stage_text(plan.stages[1], "zh").startswith("在预算和新建站址上限内尽可能多地覆盖必覆盖点")
    assert stage_text(plan.stages[0], "zh").endswith("，每处均需以下各制式覆盖：4G, 5G：超出预算或新建站址上限")


def test_the_rule_changes_the_optimum_and_every_village_gets_both():
    """Seed 1: [4G, 5G] costs more than [any], and every mandatory village some 4G and some
    5G option reach is covered by a chosen option of each."""
    inst = random_instance(1)
    any_cost = _brute_min_cost(inst, ("any",))[1]
    plan = _plan(inst, BOTH, Objective(kind="min_cost"))
    assert _plan_score(inst, BOTH, plan)[2] > any_cost
    assert _plan_score(inst, ("any",), _plan(inst, ("any",), Objective(kind="min_cost")))[2] \
        == any_cost
    both_reach = np.all([inst["cover"][:, inst["generation"] == g].any(axis=1) for g in BOTH], axis=0)
    wanted = inst["mandatory"] & both_reach
    assert wanted.sum() >= 2
    assert _met_by_each_generation(inst, BOTH, plan.selected)[wanted].all()
    assert (plan.uncovered_reason[wanted] == "").all()


def test_a_village_one_site_alone_reaches_by_both_is_told_why():
    """Seed 0: one mandatory village's 4G and 5G options are those of one new site, which
    builds one technology; the other is not "over the budget" (there is none) but the rule
    of one technology per new site."""
    inst = random_instance(0)
    plan = _plan(inst, BOTH, Objective(kind="min_cost"))
    assert _plan_score(inst, BOTH, plan)[0] == 5 == _brute_min_cost(inst, BOTH)[0]
    [row] = np.flatnonzero(plan.uncovered_reason != "")
    reaching = np.flatnonzero(inst["cover"][row])
    assert len(set(inst["site"][reaching].tolist())) == 1  # one site holds both
    [lacking] = [g for g in BOTH if not _met_by_each_generation(inst, (g,), plan.selected)[row]]
    assert plan.uncovered_reason[row] == (
        f"no {lacking} coverage: every site that would cover it is planned with another "
        f"technology (one technology per new site)")
    assert reason_key(plan.uncovered_reason[row]) == "no_generation"


def test_the_budget_reason_prices_the_generation_a_village_lacks():
    """A village the existing 4G site covers lacks 5G: the cheapest 5G option (3 M CNY; a 4G
    one costs 1 M, the existing site's upgrade 5 M) is over the 2 M CNY budget."""
    inst = dict(cover=np.array([[True, True, True, True, True]]),
                generation=np.array(["4G", "5G", "4G", "4G", "5G"], dtype=object),
                site=np.array([0, 1, 2, 3, 3]), fixed=np.array([False, False, False, True, False]),
                cost=np.array([1e6, 3e6, 1e6, 0.0, 5e6]), group=np.array([0, 1, 2, -1, -1]),
                new_site=np.array([True, True, True, False, False]),
                mandatory=np.array([True]), people=np.array([100.0]))
    plan = _plan(inst, BOTH, Objective(kind="max_coverage", budget_cny=2e6))
    assert plan.covered_after[0] and len(plan.new_options) == 0
    assert plan.uncovered_reason[0] == ("no 5G coverage: its cheapest site costs 3.00 M CNY, "
                                        "more than the 2.00 M CNY left of the budget")
    assert value_text("reason", plan.uncovered_reason[0], "zh") == \
        "缺少 5G 覆盖：最便宜的可覆盖站址需 300 万元，超过剩余预算 200 万元"


def test_a_village_lacking_5g_past_the_quota_is_told_the_quota():
    """Two mandatory villages the existing 4G site covers, each reached by 5G from a new site
    of its own: a quota of one new site leaves one without 5G, for the quota."""
    inst = dict(cover=np.array([[True, True, False], [True, False, True]]),
                generation=np.array(["4G", "5G", "5G"], dtype=object), site=np.array([0, 1, 2]),
                fixed=np.array([True, False, False]), cost=np.array([0.0, 1.0, 1.0]),
                group=np.array([-1, 1, 2]), new_site=np.array([False, True, True]),
                mandatory=np.array([True, True]), people=np.array([100.0, 200.0]))
    plan = _plan(inst, BOTH, Objective(kind="max_coverage", max_new_sites=1))
    assert plan.new_site_count == 1 and plan.covered_after.all()
    assert sorted(plan.uncovered_reason) == ["", "no 5G coverage: the quota of 1 new sites is used up"]


def _network(n_sites: int, fiber_cny: float):
    """Each site fed by its own fiber route; no microwave, no satellite."""
    from siting.backhaul.network import BackhaulNetwork
    fiber = gpd.GeoDataFrame({"fiber_node_id": ["F"] * n_sites, "cost_cny": [fiber_cny] * n_sites,
                              "length_m": [100.0] * n_sites}, geometry=[None] * n_sites)
    links = pd.DataFrame({"site_a": pd.Series(dtype=int), "site_b": pd.Series(dtype=int),
                          "band_ghz": pd.Series(dtype=float), "distance_m": pd.Series(dtype=float),
                          "min_clearance_f1": pd.Series(dtype=float),
                          "cost_cny": pd.Series(dtype=float)})
    needs = np.ones(n_sites, bool)
    needs[-1] = False  # the existing site has fiber on site
    return BackhaulNetwork(fiber=fiber, needs_backhaul=needs, in_place=np.zeros(n_sites, bool),
                           links=links, satellite_cny_per_year=None, max_hops=0)


@pytest.mark.parametrize("seed", [1, 3])
def test_a_plan_with_backhaul_meets_each_generation_at_brute_force_cost(seed):
    """Every new site's fiber costs 2: the plan's options and feeds cost what the cheapest
    choice meeting every need costs, its new sites' fiber added."""
    inst = random_instance(seed)
    plan = _plan(inst, BOTH, Objective(kind="min_cost"), backhaul=_network(5, 2.0))
    fed = dict(inst, cost=inst["cost"] + np.where(inst["new_site"], 2.0, 0.0))  # one option a site
    assert _plan_score(inst, BOTH, plan)[0] == len(_requirements(inst, BOTH))
    assert _plan_score(fed, BOTH, plan)[2] == pytest.approx(_brute_min_cost(fed, BOTH)[1])
    assert plan.backhaul.feeds.total_backhaul_cny == pytest.approx(
        2.0 * np.count_nonzero(inst["new_site"][plan.new_options]))


def test_a_phased_plan_meets_each_generation_by_the_deadline():
    inst = random_instance(1)
    objective = Objective(kind="max_coverage", phases=(Phase("2027", budget_cny=100.0),
                                                       Phase("2028", budget_cny=100.0)),
                          mandatory_by="2027")
    plan = _plan(inst, BOTH, objective)
    by_2027 = on_air_through(np.flatnonzero(inst["fixed"]), plan.build_period, 0)
    met, _, cost = _score(inst, BOTH, by_2027)
    assert met == len(_requirements(inst, BOTH))
    assert cost >= _brute_min_cost(inst, BOTH)[1]


@pytest.mark.parametrize("seed", [1, 3])
def test_a_phased_plan_short_of_money_by_the_deadline_meets_the_most_needs_by_then(seed):
    """The first year's budget cannot meet every need: by its end the plan meets as many
    (point, generation) needs as any choice within that budget does."""
    inst = random_instance(seed)
    first_year_cny = _brute_min_cost(inst, BOTH)[1] - 1.0
    objective = Objective(kind="max_coverage",
                          phases=(Phase("2027", budget_cny=first_year_cny),
                                  Phase("2028", budget_cny=100.0)), mandatory_by="2027")
    plan = _plan(inst, BOTH, objective)
    by_2027 = on_air_through(np.flatnonzero(inst["fixed"]), plan.build_period, 0)
    assert _score(inst, BOTH, by_2027)[0] == _brute_max_coverage(inst, BOTH, first_year_cny)[0]


def test_the_greedy_baseline_serves_each_listed_generation():
    """The baseline a planner's rule of thumb gives meets every need when the budget is ample
    (a 5G option covering a village does not stop it from adding a 4G one)."""
    inst = random_instance(2)
    chosen = baseline_greedy(instance_coverage(inst), instance_demand(inst, BOTH),
                             instance_costs(inst), Objective(kind="min_cost"))
    assert _score(inst, BOTH, chosen)[0] == len(_requirements(inst, BOTH))


# --- the scenario key


def _with_generations(scenario, generations) -> dict:
    """Write ``scenario`` with ``demand.mandatory.generations`` set (absent: None)."""
    doc = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    doc["demand"]["mandatory"] = {} if generations is None else {"generations": generations}
    scenario.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return scenario


def test_the_generations_key_is_read_and_an_unknown_one_refused(tmp_path):
    scenario = write_region(tmp_path, np.full((20, 20), 400.0), [village("V1", 100, 100)],
                            [candidate("C1", 200, 200)])
    assert load_scenario(_with_generations(scenario, None)).demand.mandatory_generations == ("any",)
    assert load_scenario(_with_generations(scenario, ["4G", "5G"])).demand.mandatory_generations \
        == BOTH
    assert load_scenario(_with_generations(scenario, "5G")).demand.mandatory_generations == ("5G",)
    for bad in (["4G", "6G"], ["any", "5G"], [], ["5G", "5G"]):
        with pytest.raises(ScenarioError, match=r"demand\.mandatory\.generations"):
            load_scenario(_with_generations(scenario, bad))
    result = CliRunner().invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "demand.mandatory.generations" in result.stderr and "Traceback" not in result.stderr


# --- a tiny region: an existing 4G site, a new site, a village only 4G reaches


@pytest.fixture(scope="module")
def both_run(tmp_path_factory):
    """V1 by the existing 4G site E4 (which may be upgraded) and the new site N1; FAR 5.5 km
    from E4: within 4G's range (8 km), beyond 5G's (5 km), and beyond N1's 4G threshold."""
    folder = tmp_path_factory.mktemp("both")
    scenario = write_region(
        folder, np.full((200, 200), 400.0),
        [village("V1", 1200, 3000), village("FAR", 5900, 5500)],
        [candidate("E4", 1000, 3000, kind="existing_4g"), candidate("N1", 1000, 1000)],
        demand={"grid_m": 300, "min_people_per_cell": 1,
                "mandatory": {"generations": ["4G", "5G"]}})
    return compute(load_scenario(scenario))


def _row(run, village_id: str) -> int:
    return int(np.flatnonzero(run.demand.ref_id == village_id)[0])


def test_a_region_plan_covers_each_reachable_village_by_both_generations(both_run):
    run = both_run
    covers = run.coverage.covers.toarray()
    generation = run.coverage.options["generation"].to_numpy()
    chosen = np.zeros(covers.shape[1], bool)
    chosen[run.plan.selected] = True
    v1 = _row(run, "V1")
    for g in BOTH:
        assert (covers[v1] & chosen & (generation == g)).any()
    # under [any] the existing 4G site alone serves V1: the rule is what builds the 5G option
    assert (covers[v1] & run.plan.costs.fixed).any()
    assert len(run.plan.new_options) == 1
    # the cheapest 5G option reaching V1 (brute force over the options)
    five_g = np.flatnonzero(covers[v1] & (generation == "5G"))
    assert run.plan.costs.total_cny[run.plan.new_options[0]] == \
        run.plan.costs.total_cny[five_g].min()


def test_a_village_only_4g_reaches_is_reported_without_5g(both_run):
    run = both_run
    covers = run.coverage.covers.toarray()
    generation = run.coverage.options["generation"].to_numpy()
    far = _row(run, "FAR")
    assert covers[far, generation == "4G"].any() and not covers[far, generation == "5G"].any()
    assert run.plan.covered_after[far]  # its people are covered, by 4G
    villages = village_table(run)
    summary = summary_facts(run, site_table(run), villages, admin_table(run))
    assert summary["kpis"]["mandatory_villages_covered"] == 1
    assert summary["kpis"]["mandatory_villages_reachable"] == 1  # FAR: no 5G option reaches it
    assert summary["kpis"]["mandatory_points_uncovered"]["village"] == 1
    [entry] = summary["uncovered_mandatory_villages"]
    assert entry["village_id"] == "FAR"
    assert entry["reason"].startswith("no 5G coverage: ")
    assert entry["reason_key"] == "no_generation"
    assert value_text("reason", entry["reason"], "zh").startswith("缺少 5G 覆盖：")
    villages = villages.set_index("village_id")
    assert villages.loc["FAR", "status"] == "mandatory_uncovered"
    assert villages.loc["V1", "status"] == "covered"
    assert reason_key(villages.loc["FAR", "uncovered_reason"]) == "no_generation"


def test_a_complaint_point_lacking_5g_is_not_counted_covered(tmp_path):
    """A complaint point only 4G reaches, under ``[4G, 5G]``: the plan reports it as an
    uncovered mandatory point (no 5G), so the headline's complaints covered must not count
    it, before the plan or after; the plausibility check (any coverage) still does."""
    scenario = write_region(
        tmp_path, np.full((200, 200), 400.0), [village("V1", 1200, 3000)],
        [candidate("E4", 1000, 3000, kind="existing_4g"), candidate("N1", 1000, 1000)],
        complaints=[{"complaint_id": "C1", "people": 0,
                     "geometry": village("C1", 5900, 5500)["geometry"]},
                    {"complaint_id": "C2", "people": 0,
                     "geometry": village("C2", 1200, 3000)["geometry"]}],
        demand={"grid_m": 300, "min_people_per_cell": 1,
                "mandatory": {"generations": ["4G", "5G"]}})
    run = compute(load_scenario(scenario))
    kpis = summary_facts(run, site_table(run), village_table(run), admin_table(run))["kpis"]
    assert kpis["complaints_total"] == 2
    assert kpis["mandatory_points_uncovered"]["complaint"] == 1  # C1: no 5G reaches it
    assert kpis["complaints_covered"] == 1  # C2, by E4's 4G and the plan's 5G
    assert kpis["complaints_covered_before_plan"] == 0  # before, C2 had 4G only
    assert kpis["complaints_covered_before"] == 2  # both within E4's 4G

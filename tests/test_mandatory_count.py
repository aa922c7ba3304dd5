"""When the budget cannot cover every mandatory point, a plan covers as many as it can and
then the most people: the people stage keeps how MANY mandatory points are covered, not
which ones. Fixing the set the most-mandatory stage happened to cover could leave fewer
people coverable than another set of the same size (a re-plan covered 400 people where the
greedy baseline covered 500). Plans, and the models' count row (siting.optimize.CoverCount:
at least q of a set of rows covered, any of them) on their own, are checked against a brute
force over every choice of sites: the most mandatory points first, then the most people."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from siting.backhaul.network import BackhaulNetwork
from siting.config import Objective, Phase, SolverSettings
from siting.errors import InfeasibleError, InputError
from siting.export.i18n import stage_text
import siting.optimize.core
import siting.optimize.joint_solve
from siting.optimize import kernel_search
from siting.optimize import CoverCount, solve_coverage_model
from siting.optimize.backhaul import solve_with_backhaul
from siting.optimize.model import MipResult
from siting.optimize.phased import solve_phased_coverage
from siting.plan import plan_network
from tiny_plans import costs_of, coverage_of, demand_of, fiber_network

SOLVER = SolverSettings(time_limit_s=60.0, mip_gap=0.0)

# Two mandatory villages (rows 0, 1; no people of their own) and two people rows: site A
# covers M0 and 100 people, site B covers M1 and 400 people; each site costs 1 CNY. With
# one site affordable, one mandatory village is covered, and it should be M1 (400 people).
# ``order`` puts A first or second among the options, so that whichever the most-mandatory
# stage (which breaks no ties) takes, one of the two orders has it take A.
TWO_VILLAGES = dict(cover=[[1, 0], [0, 1], [1, 0], [0, 1]], people=[0.0, 0.0, 100.0, 400.0],
                    mandatory=[True, True, False, False], cost=[1.0, 1.0])


def _instance(order: tuple[int, ...], *, cover, people, mandatory, cost) -> dict:
    """The instance with its options (columns) in ``order``."""
    return dict(cover=np.asarray(cover)[:, order], people=np.asarray(people, float),
                mandatory=np.asarray(mandatory, bool), cost=np.asarray(cost, float)[list(order)])


def _score(inst: dict, chosen) -> tuple[int, float]:
    """(mandatory rows covered, people covered) by the options ``chosen``."""
    covered = inst["cover"][:, list(chosen)].any(axis=1)
    return int((covered & inst["mandatory"]).sum()), float(inst["people"][covered].sum())


def _brute_force(inst: dict, budget: float, fits=lambda chosen: True) -> tuple[int, float]:
    """The best (mandatory rows covered, people covered), lexicographically, over every
    choice of options within ``budget`` (and ``fits``)."""
    n = inst["cost"].size
    return max(_score(inst, chosen) for k in range(n + 1)
               for chosen in itertools.combinations(range(n), k)
               if inst["cost"][list(chosen)].sum() <= budget + 1e-9 and fits(chosen))


def _plan_score(inst: dict, plan) -> tuple[int, float]:
    return int((plan.covered_after & inst["mandatory"]).sum()), \
        float(inst["people"][plan.covered_after].sum())


def _plan(inst: dict, objective: Objective, backhaul: BackhaulNetwork | None = None):
    return plan_network(coverage_of(inst["cover"]), demand_of(inst["people"], inst["mandatory"]),
                        costs_of(inst["cost"]), objective, SOLVER, backhaul)


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_the_people_stage_may_cover_other_mandatory_points_than_the_stage_before(order):
    inst = _instance(order, **TWO_VILLAGES)
    plan = _plan(inst, Objective(kind="max_coverage", budget_cny=1.0))
    assert _plan_score(inst, plan) == _brute_force(inst, 1.0) == (1, 400.0)
    assert plan.stages[1].startswith("cover as many mandatory points")


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_a_min_cost_plan_over_the_quota_keeps_the_count_of_mandatory_points(order):
    """``min_cost`` with a quota of one site: the last stage is the cheapest plan covering
    as many mandatory points (either site, 1 CNY), then, at that cost, the most people."""
    inst = _instance(order, **TWO_VILLAGES)
    plan = _plan(inst, Objective(kind="min_cost", max_new_sites=1))
    assert _plan_score(inst, plan) == _brute_force(inst, 2.0, lambda c: len(c) <= 1) \
        == (1, 400.0)


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_a_plan_with_backhaul_may_cover_other_mandatory_points(order):
    """The same villages, each site fed by fiber at 1 CNY: a budget of 2 CNY pays for one
    site and its feed."""
    inst = _instance(order, **TWO_VILLAGES)
    plan = _plan(inst, Objective(kind="max_coverage", budget_cny=2.0), fiber_network([1.0, 1.0]))
    with_feed = dict(inst, cost=inst["cost"] + 1.0)
    assert _plan_score(inst, plan) == _brute_force(with_feed, 2.0) == (1, 400.0)


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_a_phased_plan_may_cover_other_mandatory_points_by_the_deadline(order):
    """Two years of one site's budget each, the mandatory villages due in the first: one
    is covered by then, and it is M1, whose site covers 400 people in both years (the
    second year's site then covers M0 and its 100 people)."""
    inst = _instance(order, **TWO_VILLAGES)
    objective = Objective(kind="max_coverage", mandatory_by="2027",
                          phases=(Phase("2027", budget_cny=1.0), Phase("2028", budget_cny=1.0)))
    plan = _plan(inst, objective)
    b = order.index(1)  # site B's option
    assert plan.build_period[b] == 0
    first_year = np.flatnonzero(plan.build_period == 0)
    assert _score(inst, first_year) == _brute_force(inst, 1.0) == (1, 400.0)


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_a_phased_plan_with_backhaul_may_cover_other_mandatory_points_by_the_deadline(order):
    """As above, each site fed by fiber at 1 CNY and each year's budget 2 CNY."""
    inst = _instance(order, **TWO_VILLAGES)
    objective = Objective(kind="max_coverage", mandatory_by="2027",
                          phases=(Phase("2027", budget_cny=2.0), Phase("2028", budget_cny=2.0)))
    plan = _plan(inst, objective, fiber_network([1.0, 1.0]))
    assert plan.build_period[order.index(1)] == 0
    with_feed = dict(inst, cost=inst["cost"] + 1.0)
    assert _score(inst, np.flatnonzero(plan.build_period == 0)) \
        == _brute_force(with_feed, 2.0) == (1, 400.0)


@pytest.mark.parametrize("module, backhaul", [
    (siting.optimize.core, None), (siting.optimize.joint_solve, fiber_network([0.0, 0.0]))])
def test_the_people_stage_stopped_before_a_plan_keeps_a_start_with_the_count(
        monkeypatch, module, backhaul):
    """The people stage's MIP (the one rewarding people) stopped before a plan of its own:
    its warm start, which must meet the count row (the greedy plan without backhaul, the
    most-mandatory or sites-first plan with), is the plan, not proven."""
    solve = module.run_mip

    def people_stage_finds_nothing(mip, **settings):
        if mip.sense == "max" and mip.c.max() > 1.0:
            return MipResult(x=None, status="no_solution", objective=float("nan"),
                             bound=float("nan"))
        return solve(mip, **settings)

    monkeypatch.setattr(module, "run_mip", people_stage_finds_nothing)
    inst = _instance((0, 1), **TWO_VILLAGES)
    plan = _plan(inst, Objective(kind="max_coverage", budget_cny=1.0), backhaul)
    assert _plan_score(inst, plan)[0] == _brute_force(inst, 1.0)[0] == 1
    assert plan.solution.status == "time_limit"


def _random_instance(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    m, n = 9, 6
    return dict(cover=(rng.random((m, n)) < 0.3).astype(int),
                people=rng.integers(1, 100, m).astype(float), mandatory=rng.random(m) < 0.4,
                cost=rng.integers(1, 5, n).astype(float), budget=float(rng.integers(2, 8)))


@pytest.mark.parametrize("seed", range(12))
def test_a_count_row_solve_equals_brute_force(seed):
    """solve_coverage_model with a count row (at least q mandatory rows, any of them) and
    solve_with_backhaul (every site on free fiber) give the brute force's most people."""
    inst = _random_instance(seed)
    best = _brute_force(inst, inst["budget"])
    count = CoverCount(rows=inst["mandatory"], count=best[0])
    sol = solve_coverage_model(inst["cover"], inst["cost"], objective="max_coverage",
                               weight=inst["people"], cover_count=count, budget=inst["budget"])
    assert _score(inst, sol.selected) == best
    n = inst["cost"].size
    fed = solve_with_backhaul(inst["cover"], inst["cost"], site_of_option=np.arange(n),
                              fiber_cost_cny=np.zeros(n), max_hops=0, objective="max_coverage",
                              weight=inst["people"], cover_count=count, budget=inst["budget"])
    assert _score(inst, fed.solution.selected) == best


@pytest.mark.parametrize("seed", range(12))
def test_kernel_search_keeps_the_count_row(monkeypatch, seed):
    """Kernel search (forced on tiny models; its kernel the warm start's options, then one
    bucket of every other site, which makes it exact) with a count row: each site fed by
    fiber at 1 CNY (the budget 2 CNY more), the brute force's most people with as many
    mandatory rows."""
    monkeypatch.setattr(kernel_search, "KERNEL_MIN_NNZ", 0)
    monkeypatch.setattr(kernel_search, "LP_USED", 2.0)
    monkeypatch.setattr(kernel_search, "KERNEL_BUCKET_SITES", 100)
    inst = _random_instance(seed)
    n = inst["cost"].size
    budget = inst["budget"] + 2.0
    best = _brute_force(dict(inst, cost=inst["cost"] + 1.0), budget)
    fed = solve_with_backhaul(inst["cover"], inst["cost"], site_of_option=np.arange(n),
                              fiber_cost_cny=np.ones(n), max_hops=0, objective="max_coverage",
                              weight=inst["people"], budget=budget, tie_break=False,
                              cover_count=CoverCount(rows=inst["mandatory"], count=best[0]))
    assert any(note.startswith("kernel search: LP bound") for note in fed.solution.notes)
    assert _score(inst, fed.solution.selected) == best


@pytest.mark.parametrize("seed", range(12))
def test_a_phased_count_row_solve_equals_brute_force(seed):
    """solve_phased_coverage with a count row due in the first of two periods: the most
    people summed over both, against every build schedule."""
    inst = _random_instance(seed)
    n, budgets = inst["cost"].size, [inst["budget"] / 2, inst["budget"] / 2]
    first = _brute_force(inst, budgets[0])
    best = None
    for period in itertools.product((-1, 0, 1), repeat=n):
        period = np.array(period)
        spend = [inst["cost"][period == t].sum() for t in range(2)]
        if any(s > b + 1e-9 for s, b in zip(spend, budgets, strict=True)):
            continue
        by_first = np.flatnonzero(period == 0)
        if _score(inst, by_first)[0] < first[0]:
            continue
        value = _score(inst, by_first)[1] + _score(inst, np.flatnonzero(period >= 0))[1]
        best = value if best is None else max(best, value)
    count = CoverCount(rows=inst["mandatory"], count=first[0])
    result = solve_phased_coverage(inst["cover"], inst["cost"], inst["people"],
                                   period_budgets=budgets, must_cover_by=0, cover_count=count)
    assert result.solution.objective == pytest.approx(best)
    by_first = np.flatnonzero(result.build_period == 0)
    assert _score(inst, by_first)[0] >= first[0]


@pytest.mark.parametrize("start, kept", [([1], [1]), ([0, 1], [0])])
def test_a_warm_start_is_the_plan_when_the_mip_finds_none(monkeypatch, start, kept):
    """solve_coverage_model's ``start`` (the plan of an earlier stage): with a budget of 2,
    the greedy plan takes A (1 CNY, a mandatory row and 100 people: the better ratio) and
    then cannot afford B (2 CNY, a mandatory row and 400 people). A MIP that stops without a
    plan returns the start {B}, the better one; the start {A, B} is over the budget and
    dropped, and the greedy plan returned."""
    def nothing(mip, **settings):
        return MipResult(x=None, status="no_solution", objective=float("nan"),
                         bound=float("nan"))

    monkeypatch.setattr(siting.optimize.core, "run_mip", nothing)
    inst = dict(TWO_VILLAGES, cost=[1.0, 2.0])
    solution = solve_coverage_model(np.asarray(inst["cover"]), inst["cost"],
                                    objective="max_coverage", weight=inst["people"],
                                    budget=2.0, tie_break=False, start=start,
                                    cover_count=CoverCount(rows=np.array(inst["mandatory"]),
                                                           count=1))
    assert solution.selected.tolist() == kept
    assert solution.status == "time_limit"


def test_a_bad_count_row_is_one_clear_error():
    """A count row of the wrong length or type is an input error naming it; one asking for
    more rows than options reach has no plan, and says how many they reach."""
    cover, cost = np.asarray(TWO_VILLAGES["cover"]), np.asarray(TWO_VILLAGES["cost"])
    weight = np.asarray(TWO_VILLAGES["people"])
    with pytest.raises(InputError, match="cover_count.rows must have length 4"):
        solve_coverage_model(cover, cost, objective="max_coverage", weight=weight,
                             cover_count=CoverCount(rows=np.ones(3, bool), count=1))
    with pytest.raises(InputError, match="cover_count must be a CoverCount"):
        solve_coverage_model(cover, cost, objective="max_coverage", weight=weight,
                             cover_count=(np.ones(4, bool), 1))
    with pytest.raises(InfeasibleError, match="asks for 3 of its rows covered, but options "
                                              "reach only 2"):
        solve_phased_coverage(cover, cost, weight, period_budgets=[2.0],
                              cover_count=CoverCount(rows=np.array([1, 1, 0, 0], bool),
                                                     count=3))


# Two complaint points (mandatory, no people of their own; A and B reach one each) and a
# village of 50 people C reaches; each site costs 1 CNY. The complaints are due in 2027,
# whose budget pays for one site; 2028's pays for two.
LATE_COMPLAINTS = dict(cover=[[1, 0, 0], [0, 1, 0], [0, 0, 1]], people=[0.0, 0.0, 50.0],
                       mandatory=[True, True, False], cost=[1.0, 1.0, 1.0])


@pytest.mark.parametrize("backhaul", [None, fiber_network([0.0, 0.0, 0.0])])
def test_a_mandatory_point_missed_by_the_deadline_is_covered_later(backhaul):
    """The complaint the first year cannot answer is answered in the second, beside the
    village: it has no people, so maximising people after the deadline alone left it
    uncovered for good, reported as "not affordable" with a site's cost left unspent."""
    inst = _instance((0, 1, 2), **LATE_COMPLAINTS)
    objective = Objective(kind="max_coverage", mandatory_by="2027",
                          phases=(Phase("2027", budget_cny=1.0), Phase("2028", budget_cny=2.0)))
    plan = _plan(inst, objective, backhaul)
    assert sorted(plan.build_period.tolist()) == [0, 1, 1]
    assert plan.covered_after.all()
    assert list(plan.uncovered_reason) == ["", "", ""]
    assert plan.stages[1] == ("then as many of the others as the later phases allow, by 2028 "
                              "(2 of 2 in all)")
    assert stage_text(plan.stages[1], "zh").endswith("（2028 年前共覆盖 2 个中的 2 个）")


def _phased_brute_force(inst: dict, budgets: list[float]) -> tuple[int, int, float]:
    """The best (mandatory rows covered by the first period, by the second, people covered
    summed over both), lexicographically, over every build schedule within ``budgets``."""
    n, best = inst["cost"].size, None
    for period in itertools.product((-1, 0, 1), repeat=n):
        period = np.array(period)
        if any(inst["cost"][period == t].sum() > b + 1e-9 for t, b in enumerate(budgets)):
            continue
        first, both = _score(inst, np.flatnonzero(period == 0)), \
            _score(inst, np.flatnonzero(period >= 0))
        value = (first[0], both[0], first[1] + both[1])
        best = value if best is None else max(best, value)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_a_phased_plan_after_a_missed_deadline_equals_brute_force(seed):
    """Mandatory rows due in the first of two years, each year half the budget: the most
    covered by the deadline, then the most by the end, then the most people, against
    every build schedule."""
    inst = _random_instance(seed)
    budgets = [inst["budget"] / 2, inst["budget"] / 2]
    objective = Objective(kind="max_coverage", mandatory_by="2027",
                          phases=(Phase("2027", budget_cny=budgets[0]),
                                  Phase("2028", budget_cny=budgets[1])))
    plan = _plan(inst, objective)
    first = _score(inst, np.flatnonzero(plan.build_period == 0))
    both = _score(inst, np.flatnonzero(plan.build_period >= 0))
    assert (first[0], both[0], first[1] + both[1]) == pytest.approx(
        _phased_brute_force(inst, budgets))


def test_a_count_row_for_a_later_period_is_phased_only():
    """A count row's period names a period of a phased plan; a single-period model and an
    index past the periods are input errors naming it."""
    cover, cost = np.asarray(TWO_VILLAGES["cover"]), np.asarray(TWO_VILLAGES["cost"])
    weight = np.asarray(TWO_VILLAGES["people"])
    count = CoverCount(rows=np.array(TWO_VILLAGES["mandatory"]), count=1, period=1)
    with pytest.raises(InputError, match="cover_count.period must be None, got 1"):
        solve_coverage_model(cover, cost, objective="max_coverage", weight=weight,
                             cover_count=count)
    with pytest.raises(InputError, match=r"must be None or a period index 0\.\.0, got 1"):
        solve_phased_coverage(cover, cost, weight, period_budgets=[2.0], cover_count=count)

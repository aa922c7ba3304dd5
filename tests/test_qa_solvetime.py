"""The optimizer's time limit as a user sees it: a plan stopped by ``solver.time_limit_s``
is never worse than the plans it was started from, and the whole plan keeps within the
limit (plus the margin siting.plan documents)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import siting.optimize.phased
import siting.plan
from siting.config import Objective, Phase, SolverSettings
from siting.coverage import CoverageMatrix
from siting.demand import Demand
from siting.optimize import CoverCount
from siting.optimize.model import MipResult
from siting.optimize.phased import solve_phased_coverage
from siting.plan import OptionCosts, plan_network

# Two mandatory rows (no people) and two people rows: option A (1 CNY) covers M0 and 100
# people, option B (5 CNY) covers M1 and 400 people.
COVER = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
PEOPLE = np.array([0.0, 0.0, 100.0, 400.0])
MANDATORY = np.array([True, True, False, False])


def _no_plan(mip, **settings):
    """A MIP stopped by its time before a plan of its own."""
    return MipResult(x=None, status="no_solution", objective=float("nan"), bound=float("nan"))


def test_a_stopped_phased_solve_keeps_the_better_of_its_start_and_the_greedy_plan(monkeypatch):
    """One period of 5 CNY, one mandatory row by then: the year-by-year greedy plan takes A
    (100 people per CNY against B's 80) and cannot afford B; an earlier stage's plan {B}
    covers 400 people. A count-row solve stopped before a plan of its own returns {B} (it
    returned the greedy {A}, 100 people, whenever the greedy plan met the count row)."""
    monkeypatch.setattr(siting.optimize.phased, "run_mip", _no_plan)
    result = solve_phased_coverage(COVER, [1.0, 5.0], PEOPLE, period_budgets=[5.0],
                                   cover_count=CoverCount(rows=MANDATORY, count=1),
                                   start=np.array([-1, 0]))
    assert result.build_period.tolist() == [-1, 0]
    assert result.solution.objective == float(PEOPLE @ COVER[:, 1])
    assert result.solution.status == "time_limit"


#: How far each stage of the plans below runs past the time it is given [s] (HiGHS's
#: presolve and root cut rounds ran 0.2-3.9 s past on the demos).
OVERRUN_S = 1.0


def _overrunning(solve):
    """``solve`` (a stage's solver call), ending ``OVERRUN_S`` past its ``time_limit_s``
    when it finds a plan."""
    def late(*args, time_limit_s, **kwargs):
        started = time.perf_counter()
        result = solve(*args, time_limit_s=time_limit_s, **kwargs)
        time.sleep(max(started + time_limit_s + OVERRUN_S - time.perf_counter(), 0.0))
        return result
    return late


def _two_villages_inputs() -> tuple[CoverageMatrix, Demand, OptionCosts]:
    """Options A (1 CNY, M0 and 100 people) and B (1 CNY, M1 and 400 people)."""
    cover = COVER
    m, n = cover.shape
    options = pd.DataFrame({"candidate": np.arange(n), "site_id": ["A", "B"],
                            "technology": "4G-1800", "generation": "4G"})
    coverage = CoverageMatrix(level_dbm=sp.csr_matrix(np.where(cover > 0, -80.0, 0.0)
                                                      .astype(np.float32)),
                              options=options, in_range=cover.any(axis=1),
                              best_level_dbm=np.full(m, -80.0, np.float32))
    demand = Demand(x_m=np.arange(m, dtype=float), y_m=np.zeros(m), people=PEOPLE,
                    mandatory=MANDATORY, require_5g=np.zeros(m, bool),
                    kind=np.where(MANDATORY, "village", "cell"),
                    ref_id=np.array([f"R{i}" for i in range(m)]), admin_unit=np.full(m, "A"))
    cost = np.ones(n)
    costs = OptionCosts(capex_cny=cost, opex_cny_per_year=np.zeros(n), total_cny=cost,
                        fixed=np.zeros(n, bool), new_site=np.ones(n, bool),
                        group=np.arange(n, dtype=np.int64))
    return coverage, demand, costs


@pytest.mark.parametrize("objective, stage", [
    (Objective(kind="max_coverage", budget_cny=1.0), "solve_coverage_model"),
    (Objective(kind="max_coverage", mandatory_by="2027",
               phases=(Phase("2027", budget_cny=1.0), Phase("2028", budget_cny=1.0))),
     "solve_phased_coverage")])
def test_a_plan_whose_stages_overrun_keeps_within_its_time_limit(monkeypatch, objective, stage):
    """A budget of one site for two mandatory villages: the plan solves four stages (all
    villages, the most villages, the plan of those villages, the most people). Each runs
    1 s past the time it is given; the plan still ends within ``solver.time_limit_s`` (it
    ended 1.2 s past 15 s single-period, the last stage given all the time left, and 4.9 s
    past phased, where the most-villages stage took all the time and left the two after it
    1 s each)."""
    monkeypatch.setattr(siting.plan, stage, _overrunning(getattr(siting.plan, stage)))
    limit_s = 15.0
    started = time.perf_counter()
    plan = plan_network(*_two_villages_inputs(), objective,
                        SolverSettings(time_limit_s=limit_s, mip_gap=0.0))
    elapsed_s = time.perf_counter() - started
    assert elapsed_s <= limit_s
    assert plan.covered_after[[1, 3]].all()  # M1 and its 400 people, by the one site afforded

"""The optimizer's time limit as a user sees it: a plan stopped by ``solver.time_limit_s``
is never worse than the plans it was started from, and the whole plan keeps within the
limit (plus the margin siting.plan documents)."""

from __future__ import annotations

import numpy as np

import siting.optimize.phased
from siting.optimize import CoverCount
from siting.optimize.model import MipResult
from siting.optimize.phased import solve_phased_coverage

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

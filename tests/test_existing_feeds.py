"""Existing sites without backhaul in place are fed from a phased plan's first phase. Each
site's cheapest feed, the check the models make, counts a microwave hop as if its relay
were fed for free: a first year above that sum but below what feeding them really costs
left a model with no plan at all, reported as "no phased plan covers every must-cover row"
(in a stage with none) or "the time limit was reached before any phased plan was found;
give the solver more time" (the phased backhaul demo with a first year of 3 M CNY: cheapest
feeds 2.25 M, feeding them 3.72 M). The plan now says what feeding them costs."""

from __future__ import annotations

import numpy as np
import pytest

from siting.config import Objective, Phase, SolverSettings
from siting.errors import InfeasibleError
from siting.plan import plan_network
from tiny_plans import costs_of, coverage_of, demand_of, fiber_network

SOLVER = SolverSettings(time_limit_s=30.0, mip_gap=0.0)

# Existing sites E1 (0) and E2 (1), a new site N (2, 1 CNY) covering a mandatory village of
# 10 people. Fiber: E1 5, E2 100, N 1 CNY; hops E1-E2 10 and N-E2 1 CNY. Each site's cheapest
# feed: E1 5, E2 1, so 6; through the existing sites alone: 5 + 10 = 15; at least cost: E1 by
# fiber, N built (1 + 1) to relay E2 (1): 8.
COVER = np.array([[0, 0, 1]])
NETWORK = fiber_network([5.0, 100.0, 1.0], links=[(0, 1, 10.0), (2, 1, 1.0)], max_hops=1)


def _plan(objective: Objective):
    return plan_network(coverage_of(COVER), demand_of(np.array([10.0]), np.array([True])),
                        costs_of(np.array([0.0, 0.0, 1.0]), fixed=[True, True, False]),
                        objective, SOLVER, NETWORK)


def test_a_phased_plan_says_what_feeding_the_existing_sites_costs():
    phases = (Phase("2027", budget_cny=7.0), Phase("2028", budget_cny=100.0))
    with pytest.raises(InfeasibleError, match=r"^the 2 existing site\(s\) without fiber on site or "
                                              r"backhaul in place must be fed, at least 8 CNY .* "
                                              r"which passes the budget of "
                                              r"the first phase \(2027\), 7 CNY, from which "
                                              r"they are fed; .*raise the first phase's "
                                              r"budget_cny in objective\.phases$"):
        _plan(Objective(kind="max_coverage", phases=phases))


@pytest.mark.parametrize("phases", [(), (Phase("2027", budget_cny=8.0),)])
def test_a_new_site_relaying_an_existing_one_makes_the_budget_enough(phases):
    """8 CNY: E2 fed through the new site N, which covers the village too (through the
    existing sites alone it would cost 15)."""
    plan = _plan(Objective(kind="max_coverage", budget_cny=None if phases else 8.0,
                           phases=phases))
    assert plan.selected.tolist() == [0, 1, 2]
    assert plan.covered_after.tolist() == [True]
    feeds = plan.backhaul.feeds
    assert feeds.total_backhaul_cny == pytest.approx(7.0)

"""The report's greedy baseline (:func:`siting.plan.baseline_greedy`) picks what the rule says:
checked against the rule written out plainly (every gain recomputed each round)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from siting.demand import Demand
from siting.plan import baseline_greedy


def greedy_by_hand(covers: sp.csr_matrix, people, mandatory, costs, objective) -> np.ndarray:
    """Each round: every option's newly covered value per yuan, over the whole matrix; the
    first best one the budget, quota and groups allow is built."""
    by_option = covers.T.tocsr().astype(np.float64)
    value = np.where(mandatory, people.sum() + 1.0, people)
    chosen = list(np.flatnonzero(costs.fixed))
    covered = np.zeros(covers.shape[0], bool)
    for j in chosen:
        covered[by_option[j].indices] = True
    must = mandatory & (np.diff(covers.indptr) > 0)
    spent, built, groups = 0.0, 0, set()
    budget = np.inf if objective.total_budget_cny is None else objective.total_budget_cny
    while not (objective.kind == "min_cost" and not (must & ~covered).any()):
        gain = by_option @ (value * ~covered)
        ratio = gain / np.maximum(costs.total_cny, 1.0)
        best = None
        for j in np.argsort(-ratio, kind="stable"):  # the first of equal ratios first
            if (gain[j] > 0 and not costs.fixed[j] and j not in chosen
                    and costs.total_cny[j] <= budget - spent
                    and not (costs.group[j] >= 0 and costs.group[j] in groups)
                    and not (costs.new_site[j] and built >= objective.total_max_new_sites)):
                best = int(j)
                break
        if best is None:
            break
        chosen.append(best)
        spent += costs.total_cny[best]
        built += int(costs.new_site[best])
        if costs.group[best] >= 0:
            groups.add(int(costs.group[best]))
        covered[by_option[best].indices] = True
    return np.unique(np.asarray(chosen, dtype=np.int64))


def random_plan(seed: int, kind: str):
    """A plan of 300 demand points and 120 options with many equal ratios (whole people and
    round costs), mandatory points, a few existing options, groups of two, a budget and a
    quota of new sites."""
    rng = np.random.default_rng(seed)
    n_demand, n_options = 300, 120
    covers = sp.random(n_demand, n_options, density=0.04, random_state=rng,
                       data_rvs=np.ones).astype(bool).tocsr()
    people = rng.integers(0, 4, n_demand).astype(float)
    mandatory = rng.random(n_demand) < 0.1
    fixed = rng.random(n_options) < 0.05
    total = np.where(fixed, 0.0, rng.choice([0.0, 1e5, 2e5, 3e5], n_options))
    costs = SimpleNamespace(total_cny=total, fixed=fixed, new_site=~fixed & (rng.random(n_options) < 0.7),
                            group=np.where(rng.random(n_options) < 0.5, np.arange(n_options) // 2, -1))
    objective = SimpleNamespace(kind=kind, total_budget_cny=3e6, total_max_new_sites=12)
    demand = Demand(x_m=np.zeros(n_demand), y_m=np.zeros(n_demand), people=people,
                    mandatory=mandatory, require_5g=np.zeros(n_demand, bool),
                    kind=np.full(n_demand, "village"), ref_id=np.arange(n_demand).astype(str),
                    admin_unit=np.full(n_demand, "A"))
    options = pd.DataFrame({"generation": np.full(n_options, "4G")})
    return SimpleNamespace(covers=covers, options=options), demand, costs, objective


@pytest.mark.parametrize("kind", ["max_coverage", "min_cost"])
@pytest.mark.parametrize("seed", range(8))
def test_greedy_baseline_picks_what_the_rule_says(seed, kind):
    coverage, demand, costs, objective = random_plan(seed, kind)
    expected = greedy_by_hand(coverage.covers, demand.people, demand.mandatory, costs, objective)
    assert len(expected) > int(costs.fixed.sum())  # the rule built something
    np.testing.assert_array_equal(baseline_greedy(coverage, demand, costs, objective), expected)

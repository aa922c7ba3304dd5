"""The count row of the coverage models (siting.optimize.CoverCount): at least q of a set of
rows covered, any of them. With it a lexicographic stage keeps how MANY mandatory points an
earlier stage covered, not which ones. Each model is checked against a brute force over every
choice of options: the most mandatory points first, then the most people."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from siting.optimize import CoverCount, solve_coverage_model
from siting.optimize.backhaul import solve_with_backhaul
from siting.optimize.phased import solve_phased_coverage


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


@pytest.mark.parametrize("seed", range(8))
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

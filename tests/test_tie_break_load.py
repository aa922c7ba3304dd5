"""The tie-break stage stops on its work, not on the clock: the same inputs give the same plan
on an idle machine and on one that gets busy as the tie-break starts.

The stage was given as long as the first stage took (at least 10 s), so a busy machine cut it
short: the backhaul demo's plan cost 44.90 M CNY on an idle machine and 45.00 M on a busy one.
Here the busy machine is a clock (``time.perf_counter``) that, once the first stage has
returned, reads an hour later at every read, as though the process got hardly any CPU.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

from siting.optimize import backhaul, core, solve_coverage_model
from siting.optimize.backhaul import solve_with_backhaul

REAL_CLOCK = time.perf_counter
#: How far each clock read of the busy machine lies past the one before [s].
BUSY_READ_S = 3600.0


class BusyClock:
    """``time.perf_counter`` of a machine that gets busy: the real clock until ``busy`` is
    set, then each read ``BUSY_READ_S`` past the one before."""

    def __init__(self):
        self.busy = False
        self.lag_s = 0.0

    def __call__(self) -> float:
        if self.busy:
            self.lag_s += BUSY_READ_S
        return REAL_CLOCK() + self.lag_s


def busy_after(monkeypatch, module, name: str) -> None:
    """Make the machine busy (:class:`BusyClock`) once ``module.name`` (the first stage) has
    first returned."""
    clock, stage = BusyClock(), getattr(module, name)

    def then_busy(*args, **kwargs):
        result = stage(*args, **kwargs)
        clock.busy = True
        return result

    monkeypatch.setattr(module, name, then_busy)
    monkeypatch.setattr(time, "perf_counter", clock)


def test_coverage_model_gives_the_same_plan_when_the_machine_gets_busy(monkeypatch):
    # 200 rows of weight 1, 60 options of cost 2 to 9 and a budget of 120 that covers every
    # row several ways: the first stage's plan costs 120, the tie-break's 118 (the old one,
    # cut short, kept 120)
    rng = np.random.default_rng(6)
    coverage = sp.csr_matrix(rng.random((200, 60)) < 0.06)
    cost = rng.integers(2, 10, 60).astype(float)
    inst = dict(coverage=coverage, cost=cost, objective="max_coverage", weight=np.ones(200),
                budget=120.0)
    idle = solve_coverage_model(**inst)
    first_only = solve_coverage_model(**inst, tie_break=False)
    busy_after(monkeypatch, core, "run_mip")  # the first stage is one MIP
    busy = solve_coverage_model(**inst)
    assert busy.selected.tolist() == idle.selected.tolist()
    assert cost[busy.selected].sum() == cost[idle.selected].sum() < cost[first_only.selected].sum()
    assert busy.objective == idle.objective == first_only.objective


def backhaul_instance(seed: int, n_sites: int = 30, n_rows: int = 80) -> dict:
    """Keywords of :func:`solve_with_backhaul`: one option per site, a third of the sites
    with fiber, random microwave links (at most 2 hops), rows of weight 1 and a budget that
    covers every row several ways, at different costs."""
    rng = np.random.default_rng(seed)
    coverage = sp.csr_matrix(rng.random((n_rows, n_sites)) < 0.06)
    pairs = rng.choice(n_sites, size=(3 * n_sites, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    links = pd.DataFrame({"site_a": pairs[:, 0], "site_b": pairs[:, 1],
                          "cost_cny": rng.integers(1, 4, len(pairs)).astype(float)})
    cost = rng.integers(2, 6, n_sites).astype(float)
    fiber = np.where(rng.random(n_sites) < 0.3, rng.integers(2, 8, n_sites), np.inf)
    return dict(coverage=coverage, cost=cost,
                site_of_option=np.arange(n_sites), fiber_cost_cny=fiber.astype(float),
                links=links, max_hops=2, objective="max_coverage", weight=np.ones(n_rows),
                budget=3.0 * n_sites)


def test_backhaul_plan_is_the_same_when_the_machine_gets_busy(monkeypatch):
    # the tie-break's plan costs 88 (the old one, cut short, kept one of 89 or 90)
    inst = backhaul_instance(5)
    idle = solve_with_backhaul(**inst)
    first_only = solve_with_backhaul(**inst, tie_break=False)
    busy_after(monkeypatch, backhaul, "first_stage")
    busy = solve_with_backhaul(**inst)
    assert busy.solution.selected.tolist() == idle.solution.selected.tolist()
    assert busy.total_cost_cny == idle.total_cost_cny < first_only.total_cost_cny
    assert busy.solution.objective == idle.solution.objective == first_only.solution.objective

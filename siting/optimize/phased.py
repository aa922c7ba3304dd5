r"""Multi-period (phased) maximal covering: which options to build in which period.

A plan over periods :math:`t = 1..T` (years), each with its own budget :math:`B_t` and quota
:math:`P_t` of counted options. :math:`X_{jt} \in \{0,1\}` says option :math:`j` is built by
the end of period :math:`t` (built options stay built), :math:`y_{it} \in [0,1]` that rewarded
row :math:`i` is covered in period :math:`t`:

.. math::

    \max \sum_t \pi_t \sum_i w_i y_{it} \;-\; \varepsilon \sum_j c_j X_{jT}
    \quad \text{s.t.} \quad
    X_{jt} \ge X_{j,t-1},\quad
    y_{it} \le \sum_{j \in N_i} X_{jt},\quad
    \sum_{j \in N_i} X_{jd} \ge k_i \;(i \in M),

    \sum_j c_j (X_{jt} - X_{j,t-1}) \le B_t,\quad
    \sum_{j \in K} (X_{jt} - X_{j,t-1}) \le P_t,\quad
    \sum_{j \in G_g} X_{jT} \le 1,

with :math:`X_{j0} = 0` and :math:`d \le T` the deadline for must-cover rows (a row may need
:math:`k_i > 1` distinct options: backup coverage). An option built in period :math:`t` serves
from period :math:`t` on, so the objective counts covered weight once per period it is
covered: people covered earlier count more (the period weights :math:`\pi_t` can add a
discount). The small cost term (:math:`\varepsilon`, chosen so the whole term is worth at
most ``TIE_BREAK_SHARE`` of the plan's value) prefers the cheaper of equally good plans, and
built options that add nothing are dropped after the solve. This is the multi-period MCLP in
the "built-by" form of Gunawardane (1982); the time-expanded coverage rows follow Schilling
(1980).

References
----------
Gunawardane, G. (1982). Dynamic versions of set covering type public facility location
problems. European Journal of Operational Research 10(2), 190-195.
Schilling, D.A. (1980). Dynamic location modeling for public-sector facilities: a multicriteria
approach. Decision Sciences 11(4), 714-724.
Church, R., ReVelle, C. (1974). The maximal covering location problem. Papers of the Regional
Science Association 32, 101-118.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from siting.errors import InfeasibleError, InputError, SolverError
from siting.optimize.core import (SOLVERS, _as_bool, _as_float, _as_need, _coverage_count,
                                  _coverage_matrix, _covered, _first, _Log, _run_mip)
from siting.optimize.heuristics import greedy_general
from siting.optimize.model import MipModel
from siting.optimize.presolve import merge_identical_rows
from siting.optimize.solution import Solution, relative_gap

log = logging.getLogger(__name__)

#: The cost tie-break term is worth at most this share of a plan's covered weight [-].
TIE_BREAK_SHARE = 1e-7


@dataclass(frozen=True)
class PhasedSolution:
    """A phased plan: the :class:`Solution` of the whole plan plus when each option is built.

    ``solution.objective`` is :math:`\\sum_t \\pi_t \\sum_i w_i [\\text{row } i \\text{
    covered in period } t]` (fixed options' rows included, the cost term excluded);
    ``build_period[j]`` is the 0-based period option ``j`` is built in, -1 when it is not
    built or is fixed (on air before the first period).
    """

    solution: Solution
    build_period: np.ndarray


def _limits(values, periods: int, name: str, integer: bool) -> list:
    if values is None:
        return [None] * periods
    values = list(values)
    if len(values) != periods:
        raise InputError(f"{name} must have one entry per period ({periods}), got {len(values)}")
    for v in values:
        if v is None:
            continue
        if not (isinstance(v, (int, float, np.number)) and math.isfinite(v) and v >= 0) or (
                integer and int(v) != v):
            raise InputError(f"{name} entries must be {'whole ' if integer else ''}numbers >= 0 "
                             f"or None, got {v!r}")
    return [None if v is None else (int(v) if integer else float(v)) for v in values]


@dataclass(frozen=True)
class _Layout:
    """Variable indices: ``X[j, t]`` at ``t * n + j``; ``y[i, t]`` at ``n T + t r + i``."""

    n: int  # options in the model
    y_rows: np.ndarray  # the rewarded row each y stands for (one per class of identical rows)
    periods: int

    @property
    def r(self) -> int:
        return self.y_rows.size

    def x(self, t: int) -> np.ndarray:
        return t * self.n + np.arange(self.n)

    def y(self, t: int) -> np.ndarray:
        return self.n * self.periods + t * self.r + np.arange(self.r)

    @property
    def size(self) -> int:
        return (self.n + self.r) * self.periods


def _build(A: sp.csr_matrix, cost, weight_rows: np.ndarray, weight, must_rows: np.ndarray,
           need, must_by: int, counted, groups, budgets, quotas, totals, period_weights,
           epsilon: float) -> tuple[MipModel, _Layout]:
    """The MIP; rewarded rows covered by the same options share one ``y`` per period."""
    n, T = A.shape[1], len(budgets)
    first, class_weight = merge_identical_rows(A[weight_rows], weight[weight_rows])
    weight_rows = weight_rows[first]
    lay = _Layout(n=n, y_rows=weight_rows, periods=T)
    rows, cols, vals, lo, hi = [], [], [], [], []
    n_rows = 0

    def add(r_idx, c_idx, v, low, high):
        nonlocal n_rows
        rows.append(np.asarray(r_idx) + n_rows)
        cols.append(np.asarray(c_idx))
        vals.append(np.asarray(v, float))
        n_rows += len(low)
        lo.append(np.asarray(low, float))
        hi.append(np.asarray(high, float))

    ones_n = np.ones(n)
    for t in range(1, T):  # built options stay built
        idx = np.arange(n)
        add(np.concatenate([idx, idx]), np.concatenate([lay.x(t), lay.x(t - 1)]),
            np.concatenate([ones_n, -ones_n]), np.zeros(n), np.full(n, np.inf))
    R = A[weight_rows].tocoo()
    for t in range(T):  # y[i, t] <= sum of the options covering i built by t
        add(np.concatenate([R.row, np.arange(lay.r)]), np.concatenate([lay.x(t)[R.col], lay.y(t)]),
            np.concatenate([np.ones(R.nnz), -np.ones(lay.r)]), np.zeros(lay.r),
            np.full(lay.r, np.inf))
    M = A[must_rows].tocoo()
    add(M.row, lay.x(must_by)[M.col], np.ones(M.nnz), need[must_rows],
        np.full(must_rows.size, np.inf))
    for per_option, limits in ((cost, budgets), (counted.astype(float), quotas)):
        for t, limit in enumerate(limits):
            if limit is None:
                continue
            add(np.zeros(2 * n if t else n, int),
                np.concatenate([lay.x(t), lay.x(t - 1)]) if t else lay.x(t),
                np.concatenate([per_option, -per_option]) if t else per_option, [-np.inf], [limit])
    for per_option, limit in zip((cost, counted.astype(float)), totals):  # caps on the whole plan
        if limit is not None:
            add(np.zeros(n, int), lay.x(T - 1), per_option, [-np.inf], [limit])
    grouped = np.flatnonzero(groups >= 0)
    if grouped.size:
        _, g_row = np.unique(groups[grouped], return_inverse=True)
        n_groups = int(g_row.max()) + 1
        add(g_row, lay.x(T - 1)[grouped], np.ones(grouped.size), np.full(n_groups, -np.inf),
            np.ones(n_groups))
    A_mip = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(n_rows, lay.size))
    A_mip.sum_duplicates()
    A_mip.sort_indices()
    c = np.zeros(lay.size)
    c[lay.x(T - 1)] = -epsilon * cost
    for t in range(T):
        c[lay.y(t)] = period_weights[t] * class_weight
    integer = np.zeros(lay.size, bool)
    integer[: n * T] = True
    mip = MipModel(c=c, A=A_mip, row_lo=np.concatenate(lo), row_hi=np.concatenate(hi),
                   col_lo=np.zeros(lay.size), col_hi=np.ones(lay.size), integer=integer,
                   sense="max")
    return mip, lay


def _myopic_start(A: sp.csr_matrix, cost, weight, need, must_by: int, counted, groups, budgets,
                  quotas, totals) -> np.ndarray | None:
    """Period of each option in a year-by-year greedy plan (warm start), or None when it
    misses a must-cover row. Each period takes the greedy best for that period alone,
    must-cover rows first (``need``: options each row still needs)."""
    n = A.shape[1]
    period = np.full(n, -1)
    count = np.zeros(A.shape[0], np.int64)  # built options covering each row
    used_groups = np.zeros(0, np.int64)
    must_value = float(weight.sum()) + 1.0  # a must-cover row outranks all weight together
    budget_left = math.inf if totals[0] is None else totals[0]
    quota_left = math.inf if totals[1] is None else totals[1]
    for t, (budget, quota) in enumerate(zip(budgets, quotas)):
        budget = min(math.inf if budget is None else budget, budget_left)
        quota = min(math.inf if quota is None else quota, quota_left)
        free = (period < 0) & ~np.isin(groups, used_groups)
        cols = np.flatnonzero(free)
        open_need = np.maximum(need - count, 0)
        open_value = np.where(count > 0, 0.0, weight) + must_value * (open_need > 0)
        required = open_need > 0 if t == must_by else np.zeros(A.shape[0], bool)
        chosen = greedy_general(A[:, cols], cost[cols], open_value, required,
                                objective="max_coverage",
                                budget=None if math.isinf(budget) else budget,
                                max_options=None if math.isinf(quota) else int(quota),
                                counted=counted[cols], groups=groups[cols],
                                need=np.maximum(open_need, 1))
        if chosen is None:
            return None
        built = cols[chosen]
        budget_left -= float(cost[built].sum())
        quota_left -= int(counted[built].sum())
        period[built] = t
        count += _coverage_count(A, built)
        used_groups = np.union1d(used_groups, groups[built][groups[built] >= 0])
    return period


def solve_phased_coverage(coverage, cost, weight, *, period_budgets, period_quotas=None,
                          period_weights=None, budget: float | None = None,
                          max_options: int | None = None, must_cover=None,
                          must_cover_by: int | None = None, counted=None,
                          fixed=None, groups=None, time_limit_s: float | None = None, mip_gap: float = 0.0,
                          solver: str = "highs", seed: int = 0) -> PhasedSolution:
    """Solve the multi-period maximal covering model of the module docstring.

    Parameters
    ----------
    coverage : scipy.sparse matrix or array, shape (n_demand, n_options)
        Nonzero where the option covers the demand row.
    cost : array, shape (n_options,)
        Cost of each option, charged to the period it is built in [any currency], >= 0.
    weight : array, shape (n_demand,)
        Weight of each row per period covered [e.g. people], >= 0.
    period_budgets : sequence of float or None
        Budget of each period (None: no limit that period); its length is the number of
        periods T.
    period_quotas : sequence of int or None, optional
        Counted options that may be built in each period (None: no limit).
    period_weights : sequence of float, optional
        :math:`\\pi_t`, default 1 for every period (a discount rate r gives
        :math:`(1 + r)^{-t}`).
    budget, max_options : optional
        Caps on the whole plan's cost and counted options, over all periods.
    must_cover : bool or int array, shape (n_demand,), optional
        Rows that must be covered (integers: by that many distinct options) ...
    must_cover_by : int, optional
        ... by the end of this period (0-based; default: the last).
    counted, fixed, groups
        As in :func:`siting.optimize.solve_coverage_model`; fixed options are on air before
        the first period and charge no budget or quota.
    time_limit_s, mip_gap, solver, seed
        As in :func:`siting.optimize.solve_coverage_model`.

    Returns
    -------
    PhasedSolution

    Raises
    ------
    InputError
        Bad shapes or values.
    InfeasibleError
        A must-cover row no buildable option covers, or no phased plan covers every
        must-cover row within the periods' budgets, quotas and groups.
    SolverError
        No solver could run, or the time limit passed before any plan was found.
    """
    t0 = time.perf_counter()
    if solver not in SOLVERS:
        raise InputError(f"solver must be one of {SOLVERS}, got {solver!r}")
    if not (0.0 <= float(mip_gap) < 1.0):
        raise InputError(f"mip_gap must be in [0, 1), got {mip_gap!r}")
    A = _coverage_matrix(coverage)
    m, n_all = A.shape
    periods = len(list(period_budgets))
    if periods < 1:
        raise InputError("period_budgets must have at least one period")
    budgets = _limits(period_budgets, periods, "period_budgets", integer=False)
    quotas = _limits(period_quotas, periods, "period_quotas", integer=True)
    totals = (_limits([budget], 1, "budget", integer=False)[0],
              _limits([max_options], 1, "max_options", integer=True)[0])
    pi = np.ones(periods) if period_weights is None else _as_float(period_weights, periods,
                                                                  "period_weights")
    cost = _as_float(cost, n_all, "cost")
    weight = _as_float(weight, m, "weight")
    must, need = _as_need(must_cover, m, default=False)
    need = must.astype(np.int64) if need is None else need
    counted_all = _as_bool(counted, n_all, "counted", default=True)
    fixed_all = _as_bool(fixed, n_all, "fixed", default=False)
    groups_all = -np.ones(n_all, np.int64) if groups is None else np.asarray(groups, np.int64)
    if groups_all.shape != (n_all,):
        raise InputError(f"groups must be {n_all} integers (-1 for none)")

    # fixed options serve every period; their groups and the rows they cover leave the model
    fixed_idx = np.flatnonzero(fixed_all)
    covered_fixed = _covered(A, fixed_idx)
    fixed_groups = groups_all[fixed_idx][groups_all[fixed_idx] >= 0]
    largest_budget = min(math.inf if None in budgets else max(budgets),
                         math.inf if totals[0] is None else totals[0])
    usable = ~fixed_all & ~np.isin(groups_all, fixed_groups) & (cost <= largest_budget)
    cols = np.flatnonzero(usable)
    sub = A[:, cols].tocsr()
    reach = np.diff(sub.indptr) > 0
    need_left = np.maximum(need - _coverage_count(A, fixed_idx), 0)  # fixed options count
    lost = np.flatnonzero(np.diff(sub.indptr) < need_left)
    if lost.size:
        raise InfeasibleError(f"{lost.size} must-cover row(s) are covered by no option that "
                              f"can be built (or by fewer than they need): rows {_first(lost)}")
    open_rows = ~covered_fixed & reach
    weight_rows = np.flatnonzero(open_rows & (weight > 0))
    must_rows = np.flatnonzero(need_left > 0)
    sub_cost, sub_counted, sub_groups = cost[cols], counted_all[cols], groups_all[cols]
    must_by = periods - 1 if must_cover_by is None else int(must_cover_by)
    if not 0 <= must_by < periods:
        raise InputError(f"must_cover_by must be a period index 0..{periods - 1}, "
                         f"got {must_cover_by!r}")
    record = _Log(time_limit_s=time_limit_s)
    start_period = _myopic_start(sub, sub_cost, np.where(open_rows, weight, 0.0),
                                 need_left, must_by, sub_counted, sub_groups,
                                 budgets, quotas, totals)
    # the cost term may shift the objective by at most TIE_BREAK_SHARE of a plan's value
    scale = max(_phased_value(sub, weight, pi, np.zeros(0, np.int64), start_period)
                if start_period is not None else 0.0, float(weight.max(initial=0.0)), 1.0)
    spendable = min(float(sub_cost.sum()), math.inf if None in budgets else sum(budgets),
                    math.inf if totals[0] is None else totals[0])
    epsilon = TIE_BREAK_SHARE * scale / max(spendable, 1.0)
    mip, lay = _build(sub, sub_cost, weight_rows, weight, must_rows, need_left, must_by, sub_counted,
                      sub_groups,
                      budgets, quotas, totals, pi, epsilon)
    start = None
    if start_period is not None:
        start = np.zeros(lay.size)
        for t in range(periods):
            built = (start_period >= 0) & (start_period <= t)
            start[lay.x(t)] = built
            start[lay.y(t)] = _covered(sub[lay.y_rows], np.flatnonzero(built))
    else:
        log.info("the year-by-year greedy plan misses a must-cover row: no warm start")
    res = _run_mip(mip, solver=solver, time_limit_s=time_limit_s,
                   mip_gap=float(mip_gap), seed=seed, start=start, record=record)
    if res.status == "infeasible":
        raise InfeasibleError("no phased plan covers every must-cover row within the periods' "
                              "budgets, quotas and the one-option-per-group rule")
    if res.x is None:
        raise SolverError("the time limit was reached before any phased plan was found")
    built_by = np.stack([res.x[lay.x(t)] > 0.5 for t in range(periods)])
    period_sub = np.where(built_by.any(axis=0), np.argmax(built_by, axis=0), -1)
    build_period = np.full(n_all, -1)
    build_period[cols] = period_sub

    build_period = _drop_redundant(A, weight, pi, need, must_by, fixed_idx, build_period, cost)
    value = _phased_value(A, weight, pi, fixed_idx, build_period)
    fixed_value = float(weight[covered_fixed].sum() * pi.sum())
    bound = max(res.bound + epsilon * spendable + fixed_value, value)
    status = res.status
    if status == "optimal" and relative_gap(value, bound) > TIE_BREAK_SHARE:
        status = "feasible"
    selected = np.union1d(fixed_idx, np.flatnonzero(build_period >= 0))
    solution = Solution(selected=selected, objective=value, bound=bound,
                        gap=relative_gap(value, bound), status=status,
                        solver="+".join(dict.fromkeys(record.solvers)) or solver,
                        solve_time_s=time.perf_counter() - t0, notes=tuple(record.notes))
    return PhasedSolution(solution=solution, build_period=build_period)


def _drop_redundant(A: sp.csr_matrix, weight, period_weights, need, must_by: int, fixed_idx,
                    build_period, cost) -> np.ndarray:
    """Unbuild options (dearest first) whose removal loses no weight in any period and
    uncovers no must-cover row at the deadline: a MIP stopped at its gap tolerance may keep
    such spending."""
    period = build_period.copy()
    value = _phased_value(A, weight, period_weights, fixed_idx, period)
    for j in sorted(np.flatnonzero(period >= 0), key=lambda j: -cost[j]):
        if cost[j] <= 0:
            continue
        trial = period.copy()
        trial[j] = -1
        on_air = np.union1d(fixed_idx, np.flatnonzero((trial >= 0) & (trial <= must_by)))
        if np.any(_coverage_count(A, on_air) < need):
            continue
        if _phased_value(A, weight, period_weights, fixed_idx, trial) >= value - 1e-9 * max(value, 1.0):
            period = trial
    return period


def _phased_value(A: sp.csr_matrix, weight, period_weights, fixed_idx, build_period) -> float:
    """:math:`\\sum_t \\pi_t` x weight covered by the options on air in period t."""
    total = 0.0
    for t, pi_t in enumerate(period_weights):
        on_air = np.union1d(fixed_idx, np.flatnonzero((build_period >= 0) & (build_period <= t)))
        total += pi_t * float(weight[_covered(A, on_air)].sum())
    return total


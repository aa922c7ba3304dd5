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
:math:`k_i > 1` distinct options: backup coverage). A count row (``cover_count``: at least
:math:`q` of the rows :math:`C` covered by the end of its period :math:`p`, the deadline
unless it names another, any of them) has a :math:`z_i \in [0, 1]` per row of :math:`C`
that need not be covered anyway: :math:`z_i \le \sum_{j \in N_i} X_{jp}`,
:math:`\sum_i z_i \ge q - |C \cap M|` (the count row of :mod:`siting.optimize.model`; the
must-cover rows :math:`M` are subtracted when :math:`p \ge d`). A plan may have several
count rows: as many mandatory points by the deadline, and as many by the end. An option built in period :math:`t` serves
from period :math:`t` on, so the objective counts covered weight once per period it is
covered: people covered earlier count more (the period weights :math:`\pi_t` can add a
discount). The small cost term (:math:`\varepsilon`, chosen so the whole term is worth at
most ``TIE_BREAK_SHARE`` of the plan's value) prefers the cheaper of equally good plans, and
built options that add nothing are dropped after the solve. This is the multi-period MCLP in
the "built-by" form of Gunawardane (1982); the time-expanded coverage rows follow Schilling
(1980).

Side columns (:class:`SideColumns`, the backhaul feeds of
:mod:`siting.optimize.phased_backhaul`) are set the same "by the end of period :math:`t`"
way: they cover nothing, their costs count in the budgets and the cost term like an
option's, and their own rows bind them to the options built by each period. Continuous
columns of the last period only (:class:`LastPeriodColumns`, the link flows) join rows
over what is built by the end of the plan.

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
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from siting.errors import InfeasibleError, InputError, TimeLimitError
from siting.optimize.core import SolveLog, run_mip, warm_start_kept
from siting.optimize.heuristics import greedy_general
from siting.optimize.inputs import (FixedOptions, OptionInputs, as_budget, as_cover_count,
                                    as_float, as_need, as_quota, check_count_reachable,
                                    check_solver_settings, first_indices, take_out_fixed,
                                    validate_options)
from siting.optimize.model import CoverCount, MipModel, MipResult, coverage_count, covered_by
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
    side_period: np.ndarray | None = None  # per side column: the period it is set in, -1


@dataclass(frozen=True)
class SideColumns:
    r"""Columns a phased plan sets besides its options (the backhaul feeds of
    :mod:`siting.optimize.phased_backhaul`): :math:`Z_{vt} \in \{0,1\}`, set by the end of
    period :math:`t` (set ones stay set), covering no row. Their ``cost`` is charged to the
    period they are first set in (its budget, the whole plan's, the cost term) and to no
    quota. ``rows`` bind them to the options in every period:
    ``row_lo <= rows @ [X_t, Z_t] <= row_hi``, with :math:`X_t` over every option (a fixed
    option is 1 in every period)."""

    cost: np.ndarray  # per side column, >= 0
    rows: sp.csr_matrix  # (n_rows, n_options + n_side)
    row_lo: np.ndarray
    row_hi: np.ndarray
    # a plan to warm-start from: (period per option, period per side column; -1: never)
    start: tuple | None = None
    last: LastPeriodColumns | None = None

    @property
    def size(self) -> int:
        return self.cost.size


@dataclass(frozen=True)
class LastPeriodColumns:
    r"""Continuous columns :math:`g_e \in [0, u_e]` of the last period :math:`T` only (the
    link flows of :mod:`siting.optimize.phased_backhaul`), in no objective term, budget or
    quota, and rows ``row_lo <= rows @ [X_T, Z_T, g] <= row_hi`` over every option, the side
    columns and these, which hold in the last period only."""

    upper: np.ndarray  # u_e, per column
    rows: sp.csr_matrix  # (n_rows, n_options + n_side + n_last)
    row_lo: np.ndarray
    row_hi: np.ndarray
    start: np.ndarray | None = None  # the columns' values in the warm start of SideColumns

    @property
    def size(self) -> int:
        return self.upper.size


def _limits(values, periods: int, name: str, integer: bool) -> list:
    """One limit per period (None: no limit that period), checked as a budget or a quota."""
    if values is None:
        return [None] * periods
    values = list(values)
    if len(values) != periods:
        raise InputError(f"{name} must have one entry per period ({periods}), got {len(values)}")
    check = as_quota if integer else as_budget
    return [check(v, f"{name} entries") for v in values]


@dataclass(frozen=True)
class PeriodLimits:
    """The periods' checked limits, their weights and the must-cover deadline."""

    budgets: list  # per period [any currency], None: no limit
    quotas: list  # counted options per period, None: no limit
    total_budget: float | None  # over all periods
    total_quota: int | None
    weights: np.ndarray  # pi_t
    must_by: int  # 0-based period by which must-cover rows are covered

    @property
    def count(self) -> int:
        return len(self.budgets)

    @property
    def totals(self) -> tuple[float | None, int | None]:
        return self.total_budget, self.total_quota

    def largest_budget(self) -> float:
        """The most one period may spend (``math.inf``: no limit)."""
        return min(math.inf if None in self.budgets else max(self.budgets),
                   math.inf if self.total_budget is None else self.total_budget)

    def budget_left(self, t: int, spent: list) -> float:
        """What period ``t`` may still spend, given ``spent`` per period so far
        (``math.inf``: no limit)."""
        period = math.inf if self.budgets[t] is None else self.budgets[t] - spent[t]
        total = math.inf if self.total_budget is None else self.total_budget - sum(spent)
        return min(period, total)

    def quota_left(self, t: int, built: list) -> float:
        """Counted options period ``t`` may still build, given ``built`` per period so far
        (``math.inf``: no limit)."""
        period = math.inf if self.quotas[t] is None else self.quotas[t] - built[t]
        total = math.inf if self.total_quota is None else self.total_quota - sum(built)
        return min(period, total)

    def spendable(self, cost: np.ndarray) -> float:
        """The most a plan can spend on options of ``cost``."""
        return min(float(cost.sum()), math.inf if None in self.budgets else sum(self.budgets),
                   math.inf if self.total_budget is None else self.total_budget)


def validated_periods(period_budgets, period_quotas, period_weights, budget, max_options,
                       must_cover_by) -> PeriodLimits:
    """The periods' limits, weights and must-cover deadline (arguments as in
    :func:`solve_phased_coverage`), checked (:class:`InputError`)."""
    budgets = list(period_budgets)
    periods = len(budgets)
    if periods < 1:
        raise InputError("period_budgets must have at least one period")
    must_by = periods - 1 if must_cover_by is None else int(must_cover_by)
    if not 0 <= must_by < periods:
        raise InputError(f"must_cover_by must be a period index 0..{periods - 1}, "
                         f"got {must_cover_by!r}")
    return PeriodLimits(
        budgets=_limits(budgets, periods, "period_budgets", integer=False),
        quotas=_limits(period_quotas, periods, "period_quotas", integer=True),
        total_budget=as_budget(budget), total_quota=as_quota(max_options),
        weights=(np.ones(periods) if period_weights is None
                 else as_float(period_weights, periods, "period_weights")),
        must_by=must_by)


@dataclass(frozen=True)
class _Choice:
    """The options a phased plan chooses from once the fixed options are taken out."""

    cols: np.ndarray  # their indices among all options
    A: sp.csr_matrix  # every row x these options
    cost: np.ndarray
    counted: np.ndarray
    groups: np.ndarray
    open_rows: np.ndarray  # bool per row: no fixed option covers it and one of these does
    need: np.ndarray  # options each row still needs besides the fixed ones
    # the count rows over the rows the fixed ones and the must-cover rows leave open, each
    # at its period (:func:`_open_count`)
    counts: tuple[CoverCount, ...] = ()
    # side columns (after the options): their rows over the columns of A, lower, upper
    bind: tuple | None = None
    # the last period's columns: their rows over [columns of A, these], lower, upper; and
    # the LastPeriodColumns
    last: tuple | None = None

    @property
    def n_options(self) -> int:
        return self.cols.size

    def count_rows(self, k: int) -> np.ndarray:
        """The rows of count row ``k`` that get a ``z``: some option covers them."""
        return np.flatnonzero(self.counts[k].rows & self.open_rows)


def _cover_counts(cover_count, n_rows: int, periods: PeriodLimits) -> tuple[CoverCount, ...]:
    """``cover_count`` (None, a :class:`CoverCount` or a sequence of them) checked, each
    with its period (None: the must-cover deadline)."""
    if cover_count is None:
        return ()
    given = (cover_count,) if isinstance(cover_count, CoverCount) else tuple(cover_count)
    checked = [as_cover_count(count, n_rows, periods.count) for count in given]
    return tuple(replace(count, period=periods.must_by if count.period is None else count.period)
                 for count in checked)


def _open_count(count: CoverCount, need: np.ndarray, must_by: int) -> CoverCount | None:
    """``count`` (what the fixed options leave of it) over the rows the must-cover rows
    (``need`` > 0) leave open, less those they cover by its period (when it is the
    deadline ``must_by`` or later); None when they meet it."""
    settled = count.rows & (need > 0) if count.period >= must_by else np.zeros_like(count.rows)
    left = count.count - int(np.count_nonzero(settled))
    return None if left <= 0 else replace(count, rows=count.rows & ~settled, count=left)


def _choosable(options: OptionInputs, fixed: FixedOptions, need: np.ndarray,
               periods: PeriodLimits, cover_counts: tuple[CoverCount, ...]) -> _Choice:
    """Options that are not fixed, in no group a fixed option takes, and affordable in some
    period; :class:`InfeasibleError` when they cannot give a must-cover row the options it
    needs, or cover as many rows of a count row as it asks for."""
    cols = np.flatnonzero(fixed.choosable(options, periods.largest_budget()))
    A = options.A[:, cols].tocsr()
    per_row = np.diff(A.indptr)
    need_left = fixed.need_left(need)
    lost = np.flatnonzero(per_row < need_left)
    if lost.size:
        raise InfeasibleError(f"{lost.size} must-cover row(s) are covered by no option that "
                              f"can be built (or by fewer than they need): rows "
                              f"{first_indices(lost)}")
    counts = []
    for cover_count in cover_counts:
        count = fixed.count_left(cover_count)
        check_count_reachable(count, per_row > 0)
        count = None if count is None else _open_count(count, need_left, periods.must_by)
        counts += [] if count is None else [count]
    return _Choice(cols=cols, A=A, cost=options.cost[cols], counted=options.counted[cols],
                   groups=options.groups[cols], open_rows=~fixed.covered & (per_row > 0),
                   need=need_left, counts=tuple(counts))


def _with_side(choice: _Choice, side: SideColumns, fixed: FixedOptions, n_all: int) -> _Choice:
    """``choice`` with the side columns after its options (covering nothing, counted against
    no quota, in no group) and their rows over its columns, the fixed options' part moved
    into the bounds (:class:`InputError` for bad shapes or costs)."""
    rows = sp.csr_matrix(side.rows)
    lo, hi = np.asarray(side.row_lo, float), np.asarray(side.row_hi, float)
    if rows.shape[1] != n_all + side.size or not lo.shape == hi.shape == (rows.shape[0],):
        raise InputError(f"side rows must be (rows, {n_all} options + {side.size} side "
                         f"columns) with one lower and upper bound per row")
    if np.any(~np.isfinite(side.cost)) or np.any(side.cost < 0):
        raise InputError("side column costs must be finite and >= 0")
    keep = np.concatenate([choice.cols, n_all + np.arange(side.size)])
    empty = sp.csr_matrix((choice.A.shape[0], side.size))
    return replace(choice, A=sp.hstack([choice.A, empty], format="csr"),
                   cost=np.concatenate([choice.cost, side.cost]),
                   counted=np.concatenate([choice.counted, np.zeros(side.size, bool)]),
                   groups=np.concatenate([choice.groups, np.full(side.size, -1, np.int64)]),
                   bind=_fixed_in_bounds(rows, lo, hi, fixed, n_all, keep),
                   last=_last_period(side, fixed, n_all, keep))


def _last_period(side: SideColumns, fixed: FixedOptions, n_all: int,
                 keep: np.ndarray) -> tuple | None:
    """The ``last`` of :class:`_Choice`: ``side.last``'s rows over the columns ``keep`` and
    its own, the fixed options' part moved into the bounds, and ``side.last`` (None
    without; :class:`InputError` for bad shapes or bounds)."""
    last = side.last
    if last is None:
        return None
    rows = sp.csr_matrix(last.rows)
    lo, hi = np.asarray(last.row_lo, float), np.asarray(last.row_hi, float)
    if (rows.shape[1] != n_all + side.size + last.size or not lo.shape == hi.shape
            == (rows.shape[0],) or np.any(~(last.upper >= 0))):
        raise InputError(f"last-period rows must be (rows, {n_all} options + {side.size} side "
                         f"+ {last.size} last-period columns) with one lower and upper bound "
                         f"per row, each column's upper bound >= 0")
    own = n_all + side.size + np.arange(last.size)
    return (*_fixed_in_bounds(rows, lo, hi, fixed, n_all, np.concatenate([keep, own])), last)


def _fixed_in_bounds(rows: sp.csr_matrix, lo: np.ndarray, hi: np.ndarray, fixed: FixedOptions,
                     n_all: int, keep: np.ndarray) -> tuple:
    """(the columns ``keep`` of ``rows`` as COO, lower and upper bounds less the part of the
    fixed options, on air in every period, of the first ``n_all`` columns)."""
    on_air = np.zeros(n_all)
    on_air[fixed.index] = 1.0
    fixed_part = rows[:, :n_all] @ on_air
    return rows[:, keep].tocoo(), lo - fixed_part, hi - fixed_part


@dataclass(frozen=True)
class _Layout:
    """Variable indices: ``X[j, t]`` at ``t * n + j``; ``y[i, t]`` at ``n T + t r + i``;
    the last period's own columns after them, then the count rows' ``z``."""

    n: int  # options in the model
    y_rows: np.ndarray  # the rewarded row each y stands for (one per class of identical rows)
    periods: int
    n_last: int = 0  # columns of the last period only, after the y
    z_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # row of each z
    z_count: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # its count row

    def last(self) -> np.ndarray:
        return (self.n + self.r) * self.periods + np.arange(self.n_last)

    def z(self) -> np.ndarray:
        return (self.n + self.r) * self.periods + self.n_last + np.arange(self.z_rows.size)

    @property
    def r(self) -> int:
        return self.y_rows.size

    def x(self, t: int) -> np.ndarray:
        return t * self.n + np.arange(self.n)

    def y(self, t: int) -> np.ndarray:
        return self.n * self.periods + t * self.r + np.arange(self.r)

    @property
    def size(self) -> int:
        return (self.n + self.r) * self.periods + self.n_last + self.z_rows.size


class _Rows:
    """Constraint rows ``lo <= row @ v <= hi``, collected as (row, column, value) triples."""

    def __init__(self):
        self.rows, self.cols, self.vals, self.lo, self.hi = [], [], [], [], []
        self.count = 0

    def add(self, r_idx, c_idx, v, low, high) -> None:
        self.rows.append(np.asarray(r_idx) + self.count)
        self.cols.append(np.asarray(c_idx))
        self.vals.append(np.asarray(v, float))
        self.count += len(low)
        self.lo.append(np.asarray(low, float))
        self.hi.append(np.asarray(high, float))

    def matrix(self, n_vars: int) -> sp.csc_matrix:
        A = sp.csc_matrix((np.concatenate(self.vals),
                           (np.concatenate(self.rows), np.concatenate(self.cols))),
                          shape=(self.count, n_vars))
        A.sum_duplicates()
        A.sort_indices()
        return A


def _add_link_and_cover_rows(rows: _Rows, lay: _Layout, A: sp.csr_matrix) -> None:
    """Built options stay built; ``y[i, t]`` <= the options covering ``i`` built by ``t``."""
    n, ones_n = lay.n, np.ones(lay.n)
    for t in range(1, lay.periods):
        idx = np.arange(n)
        rows.add(np.concatenate([idx, idx]), np.concatenate([lay.x(t), lay.x(t - 1)]),
                 np.concatenate([ones_n, -ones_n]), np.zeros(n), np.full(n, np.inf))
    R = A[lay.y_rows].tocoo()
    for t in range(lay.periods):
        rows.add(np.concatenate([R.row, np.arange(lay.r)]),
                 np.concatenate([lay.x(t)[R.col], lay.y(t)]),
                 np.concatenate([np.ones(R.nnz), -np.ones(lay.r)]), np.zeros(lay.r),
                 np.full(lay.r, np.inf))


def _add_limit_rows(rows: _Rows, lay: _Layout, choice: _Choice, periods: PeriodLimits) -> None:
    """Each period's budget and quota on what it builds, the caps on the whole plan, and at
    most one option per group."""
    n, last = lay.n, lay.periods - 1
    per_option = (choice.cost, choice.counted.astype(float))
    for weights, limits in zip(per_option, (periods.budgets, periods.quotas), strict=True):
        for t, limit in enumerate(limits):
            if limit is None:
                continue
            rows.add(np.zeros(2 * n if t else n, int),
                     np.concatenate([lay.x(t), lay.x(t - 1)]) if t else lay.x(t),
                     np.concatenate([weights, -weights]) if t else weights, [-np.inf], [limit])
    for weights, limit in zip(per_option, periods.totals, strict=True):
        if limit is not None:
            rows.add(np.zeros(n, int), lay.x(last), weights, [-np.inf], [limit])
    grouped = np.flatnonzero(choice.groups >= 0)
    if grouped.size:
        _, g_row = np.unique(choice.groups[grouped], return_inverse=True)
        n_groups = int(g_row.max()) + 1
        rows.add(g_row, lay.x(last)[grouped], np.ones(grouped.size), np.full(n_groups, -np.inf),
                 np.ones(n_groups))


def _add_count_rows(rows: _Rows, lay: _Layout, choice: _Choice) -> None:
    """Per count row: ``z[i]`` <= the options covering row ``i`` built by the end of its
    period, and the ``z`` sum to at least its count."""
    for k, count in enumerate(choice.counts):
        z_rows, z = lay.z_rows[lay.z_count == k], lay.z()[lay.z_count == k]
        Z = choice.A[z_rows].tocoo()
        rows.add(np.concatenate([Z.row, np.arange(z.size)]),
                 np.concatenate([lay.x(count.period)[Z.col], z]),
                 np.concatenate([np.ones(Z.nnz), -np.ones(z.size)]), np.zeros(z.size),
                 np.full(z.size, np.inf))
        rows.add(np.zeros(z.size, int), z, np.ones(z.size), [float(count.count)], [np.inf])


def _build(choice: _Choice, weight: np.ndarray, periods: PeriodLimits,
           epsilon: float) -> tuple[MipModel, _Layout]:
    """The MIP; rewarded rows covered by the same options share one ``y`` per period."""
    weight_rows = np.flatnonzero(choice.open_rows & (weight > 0))
    first, class_weight = merge_identical_rows(choice.A[weight_rows], weight[weight_rows])
    z_rows = [choice.count_rows(k) for k in range(len(choice.counts))]
    lay = _Layout(n=choice.A.shape[1], y_rows=weight_rows[first], periods=periods.count,
                  n_last=0 if choice.last is None else choice.last[3].size,
                  z_rows=np.concatenate([np.zeros(0, np.int64), *z_rows]),
                  z_count=np.repeat(np.arange(len(z_rows)), [r.size for r in z_rows]))
    rows = _Rows()
    _add_link_and_cover_rows(rows, lay, choice.A)
    must_rows = np.flatnonzero(choice.need > 0)
    M = choice.A[must_rows].tocoo()
    rows.add(M.row, lay.x(periods.must_by)[M.col], np.ones(M.nnz), choice.need[must_rows],
             np.full(must_rows.size, np.inf))
    _add_count_rows(rows, lay, choice)
    _add_limit_rows(rows, lay, choice, periods)
    if choice.bind is not None:  # the side columns' rows hold in every period
        B, lo, hi = choice.bind
        for t in range(lay.periods):
            rows.add(B.row, lay.x(t)[B.col], B.data, lo, hi)
    col_hi = np.ones(lay.size)
    if choice.last is not None:  # the last period's rows, over its columns and its own
        B, lo, hi, last = choice.last
        rows.add(B.row, np.concatenate([lay.x(lay.periods - 1), lay.last()])[B.col], B.data,
                 lo, hi)
        col_hi[lay.last()] = last.upper
    c = np.zeros(lay.size)
    c[lay.x(lay.periods - 1)] = -epsilon * choice.cost
    for t in range(lay.periods):
        c[lay.y(t)] = periods.weights[t] * class_weight
    integer = np.zeros(lay.size, bool)
    integer[: lay.n * lay.periods] = True
    mip = MipModel(c=c, A=rows.matrix(lay.size), row_lo=np.concatenate(rows.lo),
                   row_hi=np.concatenate(rows.hi), col_lo=np.zeros(lay.size),
                   col_hi=col_hi, integer=integer, sense="max")
    return mip, lay


def _myopic_start(choice: _Choice, weight: np.ndarray, periods: PeriodLimits) -> np.ndarray | None:
    """Period of each option in a year-by-year greedy plan (warm start), or None when it
    misses a must-cover row. Each period takes the greedy best for that period alone,
    must-cover rows first."""
    A, cost, counted, groups = choice.A, choice.cost, choice.counted, choice.groups
    weight = np.where(choice.open_rows, weight, 0.0)
    n = A.shape[1]
    period = np.full(n, -1)
    count = np.zeros(A.shape[0], np.int64)  # built options covering each row
    used_groups = np.zeros(0, np.int64)
    must_value = float(weight.sum()) + 1.0  # a must-cover row outranks all weight together
    spent, built_count = [0.0] * periods.count, [0] * periods.count
    for t in range(periods.count):
        budget = periods.budget_left(t, spent)
        quota = periods.quota_left(t, built_count)
        cols = np.flatnonzero((period < 0) & ~np.isin(groups, used_groups))
        open_need = np.maximum(choice.need - count, 0)
        open_value = np.where(count > 0, 0.0, weight) + must_value * (open_need > 0)
        required = open_need > 0 if t == periods.must_by else np.zeros(A.shape[0], bool)
        chosen = greedy_general(A[:, cols], cost[cols], open_value, required,
                                objective="max_coverage",
                                budget=None if math.isinf(budget) else budget,
                                max_options=None if math.isinf(quota) else int(quota),
                                counted=counted[cols], groups=groups[cols],
                                need=np.maximum(open_need, 1))
        if chosen is None:
            return None
        built = cols[chosen]
        spent[t] = float(cost[built].sum())
        built_count[t] = int(counted[built].sum())
        period[built] = t
        count += coverage_count(A, built)
        used_groups = np.union1d(used_groups, groups[built][groups[built] >= 0])
    return period


def _cost_weight(choice: _Choice, weight: np.ndarray, periods: PeriodLimits,
                 start_period: np.ndarray | None) -> float:
    r""":math:`\varepsilon`: the cost term shifts the objective by at most ``TIE_BREAK_SHARE``
    of a plan's value (the warm start's, or the largest row weight), so it only breaks ties."""
    start_value = (0.0 if start_period is None else
                   _phased_value(choice.A, weight, periods.weights, np.zeros(0, np.int64),
                                 start_period))
    scale = max(start_value, float(weight.max(initial=0.0)), 1.0)
    return TIE_BREAK_SHARE * scale / max(periods.spendable(choice.cost), 1.0)


def _start_periods(choice: _Choice, weight: np.ndarray, periods: PeriodLimits,
                   side: SideColumns | None, given: np.ndarray | None) -> list[np.ndarray]:
    """The warm starts to try, as the period each column of ``choice`` is set in (-1:
    never), of the most weight (summed over the periods) first: the year-by-year greedy
    plan, where it meets the count rows, and the ``given`` one (build period per option, an
    earlier stage's plan), so that a MIP stopped before a plan of its own keeps the better
    (:func:`_feasible_start`); with side columns their ``start`` (none: no warm start)."""
    if side is not None:
        return [] if side.start is None else [
            np.concatenate([np.asarray(side.start[0])[choice.cols], side.start[1]])]
    starts = [] if given is None else [np.asarray(given, dtype=np.int64)[choice.cols]]
    greedy = _myopic_start(choice, weight, periods)
    if _meets_counts(choice, greedy):
        starts.append(greedy)
    no_fixed = np.zeros(0, np.int64)
    return sorted(starts, key=lambda period: -_phased_value(choice.A, weight, periods.weights,
                                                              no_fixed, period))


def _feasible_start(mip: MipModel, choice: _Choice, lay: _Layout,
                    starts: list[np.ndarray]) -> np.ndarray | None:
    """The MIP vector of the first of ``starts`` (of :func:`_start_periods`) that is a plan
    of ``mip`` (None: none is; logged, as the MIP then starts from nothing)."""
    for period in starts:
        vector = _start_vector(choice, lay, period)
        if mip.is_feasible(vector):
            return vector
    if starts:
        log.info("no warm start: the %d plan(s) tried each break a row of the phased MIP",
                 len(starts))
    return None


def _meets_counts(choice: _Choice, start_period: np.ndarray | None) -> bool:
    """Whether the plan ``start_period`` (period per column of ``choice``, -1: never; None:
    no plan) meets each count row of ``choice`` by the end of its period."""
    if start_period is None:
        return False
    return all(count.met_by(covered_by(choice.A, _built_through(start_period, count.period)))
               for count in choice.counts)


def _built_through(start_period: np.ndarray, period: int) -> np.ndarray:
    """The columns built by the end of ``period`` (``start_period``: per column, -1: never)."""
    return np.flatnonzero((start_period >= 0) & (start_period <= period))


def _start_vector(choice: _Choice, lay: _Layout,
                  start_period: np.ndarray | None) -> np.ndarray | None:
    """The MIP's warm start for the build periods ``start_period`` (None: no warm start),
    its ``z`` the count rows' rows covered by the end of their periods."""
    if start_period is None:
        log.info("no warm start: the year-by-year greedy plan misses a must-cover row or the "
                 "count row, or cannot set the side columns")
        return None
    start = np.zeros(lay.size)
    for t in range(lay.periods):
        built = (start_period >= 0) & (start_period <= t)
        start[lay.x(t)] = built
        start[lay.y(t)] = covered_by(choice.A[lay.y_rows], np.flatnonzero(built))
    if choice.last is not None and choice.last[3].start is not None:
        start[lay.last()] = choice.last[3].start
    for k, count in enumerate(choice.counts):
        part = lay.z_count == k
        start[lay.z()[part]] = covered_by(choice.A[lay.z_rows[part]],
                                          _built_through(start_period, count.period))
    return start


def _build_periods(res: MipResult, lay: _Layout, choice: _Choice,
                   n_all: int) -> tuple[np.ndarray, np.ndarray]:
    """The 0-based period each option is built in according to the MIP (-1: not built), and
    each side column is set in."""
    if res.status == "infeasible":
        raise InfeasibleError("no phased plan covers every must-cover row within the periods' "
                              "budgets, quotas and the one-option-per-group rule"
                              + ("" if choice.bind is None else
                                 ", with the rows of its side columns (backhaul: every site on "
                                 "air fed from its phase, through relays on air by then)"))
    if res.x is None:
        raise TimeLimitError("the time limit was reached before any phased plan was found")
    built_by = np.stack([res.x[lay.x(t)] > 0.5 for t in range(lay.periods)])
    period = np.where(built_by.any(axis=0), np.argmax(built_by, axis=0), -1)
    build_period = np.full(n_all, -1)
    build_period[choice.cols] = period[:choice.n_options]
    return build_period, period[choice.n_options:]


def solve_phased_coverage(coverage, cost, weight, *, period_budgets, period_quotas=None,
                          period_weights=None, budget: float | None = None,
                          max_options: int | None = None, must_cover=None,
                          must_cover_by: int | None = None,
                          cover_count: CoverCount | None = None, counted=None,
                          fixed=None, groups=None, time_limit_s: float | None = None,
                          mip_gap: float = 0.0, solver: str = "highs", seed: int = 0,
                          side: SideColumns | None = None,
                          start: np.ndarray | None = None) -> PhasedSolution:
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
        Budget of each period (None: no limit then); its length is the number of periods T.
    period_quotas : sequence of int or None, optional
        Counted options that may be built in each period (None: no limit).
    period_weights : sequence of float, optional
        :math:`\\pi_t`, default 1 for every period (a discount rate r: :math:`(1 + r)^{-t}`).
    budget, max_options : optional
        Caps on the whole plan's cost and counted options, over all periods.
    must_cover : bool or int array, shape (n_demand,), optional
        Rows that must be covered (integers: by that many distinct options) ...
    must_cover_by : int, optional
        ... by the end of this period (0-based; default: the last).
    cover_count : CoverCount or sequence of CoverCount, optional
        Each: at least ``count`` of its ``rows``, any of them, covered by the end of its
        ``period`` (None: ``must_cover_by``; module docstring).
    counted, fixed, groups
        As in :func:`siting.optimize.solve_coverage_model`; fixed options are on air before
        the first period and charge no budget or quota.
    time_limit_s, mip_gap, solver, seed
        As in :func:`siting.optimize.solve_coverage_model`.
    side : SideColumns, optional
        Columns set besides the options, with rows binding them to the options in every
        period (:class:`SideColumns`), and its ``last`` columns with rows of the last
        period (:class:`LastPeriodColumns`). Its ``start`` replaces the year-by-year greedy
        warm start (which cannot set them), and built options are not dropped after the
        solve (unbuilding one may break a side row).
    start : int array, shape (n_options,), optional
        A plan to warm-start from (the 0-based period each option is built in, -1: never;
        e.g. an earlier stage's ``build_period``), without ``side`` only: of it and the
        year-by-year greedy plan, the one covering more weight that is a plan of the model.
        A MIP stopped before a plan of its own keeps that one.

    Returns
    -------
    PhasedSolution
        With ``side``, ``side_period`` says when each side column is set.

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
    check_solver_settings(solver, time_limit_s, mip_gap)
    options = validate_options(coverage, cost, counted=counted, fixed=fixed, groups=groups)
    periods = validated_periods(period_budgets, period_quotas, period_weights, budget,
                                 max_options, must_cover_by)
    weight = as_float(weight, options.n_rows, "weight")
    _check_start(start, options.cost.size)
    must, need = as_need(must_cover, options.n_rows, default=False)
    need = must.astype(np.int64) if need is None else need
    # fixed options serve every period; their groups and the rows they cover leave the model
    fixed_options = take_out_fixed(options)
    cover_counts = _cover_counts(cover_count, options.n_rows, periods)
    choice = _choosable(options, fixed_options, need, periods, cover_counts)
    if side is not None:
        choice = _with_side(choice, side, fixed_options, options.cost.size)
    starts = _start_periods(choice, weight, periods, side, start)
    epsilon = _cost_weight(choice, weight, periods, starts[0] if starts else None)
    mip, lay = _build(choice, weight, periods, epsilon)
    record = SolveLog()
    start = _feasible_start(mip, choice, lay, starts)
    res = warm_start_kept(run_mip(mip, solver=solver, time_limit_s=time_limit_s,
                                  mip_gap=float(mip_gap), seed=seed, start=start,
                                  record=record), mip, start, record)
    build_period, side_period = _build_periods(res, lay, choice, options.cost.size)
    if side is None:
        build_period = _drop_redundant(options.A, weight, periods, need, fixed_options.index,
                                       build_period, options.cost, cover_counts=cover_counts)
    value = _phased_value(options.A, weight, periods.weights, fixed_options.index, build_period)
    cost_term = epsilon * periods.spendable(choice.cost)
    bound = _value_bound(res, value, cost_term, weight, periods, fixed_options)
    selected = np.union1d(fixed_options.index, np.flatnonzero(build_period >= 0))
    solution = _solution(res.status, selected, value, bound, record, solver, t0, cost_term)
    return PhasedSolution(solution=solution, build_period=build_period,
                          side_period=None if side is None else side_period)


def _solution(mip_status: str, selected: np.ndarray, value: float, bound: float,
              record: SolveLog, solver: str, t0: float, cost_term: float = 0.0) -> Solution:
    """The :class:`Solution` of a phased plan of ``value`` within ``bound``, solved since
    ``t0``; an optimal MIP whose gap exceeds its cost tie-break's share is "feasible",
    unless the cost term (at most ``cost_term``, which the bound allows for) is all of it:
    the plan is then optimal at its value (a plan of value 0, whose relative gap was
    unbounded, was "feasible" and its points reported as the solver stopped short)."""
    status = mip_status
    if status == "optimal" and relative_gap(value, bound) > TIE_BREAK_SHARE:
        if bound - value <= cost_term * (1 + 1e-9):
            bound = value
        else:
            status = "feasible"
    return Solution(selected=selected, objective=value, bound=bound,
                    gap=relative_gap(value, bound), status=status,
                    solver="+".join(dict.fromkeys(record.solvers)) or solver,
                    solve_time_s=time.perf_counter() - t0, notes=tuple(record.notes))


def _check_start(start: np.ndarray | None, n_options: int) -> None:
    """:class:`InputError` unless ``start`` (of :func:`solve_phased_coverage`) is None or
    gives a build period per option."""
    if start is not None and np.shape(start) != (n_options,):
        raise InputError(f"start must give a build period per option ({n_options}), "
                         f"got shape {np.shape(start)}")


def _value_bound(res: MipResult, value: float, cost_term: float, weight: np.ndarray,
                 periods: PeriodLimits, fixed_options: FixedOptions) -> float:
    """The bound on a phased plan's value: the MIP's bound less its cost term (at most
    ``cost_term``), plus what the fixed options cover in every period; at most all weight
    in every period (a MIP stopped before its root relaxation has no bound), at least the
    plan's ``value``."""
    fixed_value = float(weight[fixed_options.covered].sum() * periods.weights.sum())
    bound = min(res.bound + cost_term + fixed_value, float(weight.sum() * periods.weights.sum()))
    return max(bound, value)


def _drop_redundant(A: sp.csr_matrix, weight, periods: PeriodLimits, need, fixed_idx,
                    build_period, cost, *, cover_counts: tuple[CoverCount, ...]) -> np.ndarray:
    """Unbuild options (dearest first) whose removal loses no weight in any period,
    uncovers no must-cover row at the deadline and leaves no count row unmet at its period:
    a MIP stopped at its gap tolerance may keep such spending."""
    period = build_period.copy()
    value = _phased_value(A, weight, periods.weights, fixed_idx, period)
    for j in sorted(np.flatnonzero(period >= 0), key=lambda j: -cost[j]):
        if cost[j] <= 0:
            continue
        trial = period.copy()
        trial[j] = -1
        at_deadline = coverage_count(A, on_air_through(fixed_idx, trial, periods.must_by))
        if np.any(at_deadline < need) or not all(
                count.met_by(covered_by(A, on_air_through(fixed_idx, trial, count.period)))
                for count in cover_counts):
            continue
        kept = _phased_value(A, weight, periods.weights, fixed_idx, trial)
        if kept >= value - 1e-9 * max(value, 1.0):
            period = trial
    return period


def _phased_value(A: sp.csr_matrix, weight, period_weights, fixed_idx, build_period) -> float:
    """:math:`\\sum_t \\pi_t` x weight covered by the options on air in period t."""
    total = 0.0
    for t, pi_t in enumerate(period_weights):
        covered = covered_by(A, on_air_through(fixed_idx, build_period, t))
        total += pi_t * float(weight[covered].sum())
    return total


def on_air_through(fixed_idx: np.ndarray, build_period: np.ndarray, period: int) -> np.ndarray:
    """The options on air at the end of ``period``: the fixed ones (on air before the first
    period) and those built in a period up to and including it (``build_period`` -1: never)."""
    built = (build_period >= 0) & (build_period <= period)
    return np.union1d(fixed_idx, np.flatnonzero(built))

r"""The general coverage ILP, built once as sparse arrays and handed to any backend.

Variables: :math:`x_j \in \{0,1\}` per option (column) :math:`j`, and :math:`y_i \in [0,1]` per
demand row :math:`i` whose coverage is rewarded but not required (:math:`R`). :math:`N_i` is
the set of options covering row :math:`i`, :math:`M` the rows that must be covered,
:math:`K` the options counted against the quota and :math:`G_g` the options of group :math:`g`.

``min_cost`` (location set covering problem, Toregas et al. 1971):

.. math::

    \min \sum_j c_j x_j \quad \text{s.t.} \quad \sum_{j \in N_i} x_j \ge k_i \;\; (i \in M),\quad
    \sum_j c_j x_j \le B,\quad \sum_{j \in K} x_j \le P,\quad \sum_{j \in G_g} x_j \le 1.

:math:`k_i = 1` except for rows that need backup coverage (k-coverage: :math:`k_i` distinct
options, as in the backup coverage model of Hogan & ReVelle 1986).

``max_coverage`` (maximal covering location problem, Church & ReVelle 1974):

.. math::

    \max \sum_{i \in R} w_i y_i \quad \text{s.t.} \quad y_i \le \sum_{j \in N_i} x_j \;\;(i \in R),
    \quad \text{plus the constraints above.}

A stage that keeps an earlier stage's count of covered rows (the most mandatory points the
budget allows, then the most people) has a count row over a set :math:`C` of rows, each
with a :math:`y_i` even when its coverage earns nothing (:class:`CoverCount`):

.. math::

    \sum_{i \in C \setminus M} y_i \ge q - |C \cap M|,

so any :math:`q` rows of :math:`C` may be covered, not only the ones the earlier stage
covered (a lexicographic optimum of the two objectives, Ehrgott 2005, ch. 5).

:math:`y` may be continuous: at an optimum :math:`y_i = \min(1, \sum_{j \in N_i} x_j)`, so it
is 1 exactly for covered rows. The tie-break stage swaps objective and constraint: for
``max_coverage`` it minimises :math:`\sum_j c_j x_j` subject to
:math:`\sum_{i \in R} w_i y_i \ge z^* - \varepsilon`; for ``min_cost`` it maximises
:math:`\sum_{i \in R} w_i y_i` subject to :math:`\sum_j c_j x_j \le z^* + \varepsilon`.

References
----------
Toregas, C., Swain, R., ReVelle, C., Bergman, L. (1971). The location of emergency service
facilities. Operations Research 19(6), 1363-1373.
Church, R., ReVelle, C. (1974). The maximal covering location problem. Papers of the Regional
Science Association 32, 101-118.
Hogan, K., ReVelle, C. (1986). Concepts and applications of backup coverage. Management
Science 32(11), 1434-1444.
Ehrgott, M. (2005). Multicriteria Optimization, 2nd ed. Springer (ch. 5: lexicographic
optimality).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class CoverCount:
    """At least ``count`` of the rows ``rows`` (bool per demand row) covered, any of them:
    what a lexicographic stage keeps of an earlier one that covered ``count`` of these rows
    at most (e.g. the mandatory points the budget allows), leaving free which ones. In a
    phased plan, ``period`` is the 0-based period by whose end they are covered (None: the
    must-cover deadline); a single-period plan takes None only."""

    rows: np.ndarray
    count: int
    period: int | None = None

    def subset(self, rows: np.ndarray) -> "CoverCount":
        """The count over the rows ``rows`` (an index array) only, ``count`` unchanged."""
        return replace(self, rows=self.rows[rows])

    def met_by(self, covered: np.ndarray) -> bool:
        """Whether ``covered`` (bool per row) covers ``count`` of the rows."""
        return int(np.count_nonzero(self.rows & covered)) >= self.count


@dataclass(frozen=True)
class Problem:
    """A validated coverage model (internal).

    ``A`` is a CSR 0/1 matrix (rows = demand, columns = options) with canonical indices.
    ``budget`` / ``max_options`` are ``None`` when absent (or proven non-binding).
    """

    A: sp.csr_matrix
    cost: np.ndarray
    weight: np.ndarray
    must: np.ndarray
    objective: str
    budget: float | None
    max_options: int | None
    counted: np.ndarray
    groups: np.ndarray
    need: np.ndarray | None = None  # options each must row needs (k-coverage); None: 1 each
    cover_count: CoverCount | None = None  # at least so many of these rows covered
    start: np.ndarray | None = None  # bool per option: a plan to warm-start from (no constraint)

    @property
    def required(self) -> np.ndarray:
        """Options each row must be covered by: 0 for rows that need not be covered."""
        return np.where(self.must, 1 if self.need is None else self.need, 0)

    @property
    def n_rows(self) -> int:
        return self.A.shape[0]

    @property
    def n_cols(self) -> int:
        return self.A.shape[1]

    def has_groups(self) -> bool:
        g = self.groups[self.groups >= 0]
        return g.size > np.unique(g).size

    def subproblem(self, rows: np.ndarray, cols: np.ndarray) -> "Problem":
        """Restrict to ``rows`` x ``cols`` (index arrays)."""
        A = self.A[rows][:, cols].tocsr()
        A.sort_indices()
        return Problem(A=A, cost=self.cost[cols], weight=self.weight[rows], must=self.must[rows],
                       objective=self.objective, budget=self.budget,
                       max_options=self.max_options, counted=self.counted[cols],
                       groups=self.groups[cols],
                       need=None if self.need is None else self.need[rows],
                       cover_count=(None if self.cover_count is None
                                    else self.cover_count.subset(rows)),
                       start=None if self.start is None else self.start[cols])


@dataclass(frozen=True)
class MipModel:
    """A mixed-integer linear model in array form: ``row_lo <= A v <= row_hi``,
    ``col_lo <= v <= col_hi``, optimise ``c @ v + offset`` in ``sense`` ("min" / "max").
    ``A`` is CSC (column-wise), as HiGHS takes it. ``integral_objective``: every plan
    (integer point with the best continuous part) has an integral ``c @ v``, so a bound may
    be rounded to the next integer."""

    c: np.ndarray
    A: sp.csc_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    integer: np.ndarray
    sense: str
    offset: float = 0.0
    integral_objective: bool = False

    @property
    def n_vars(self) -> int:
        return self.c.size

    def is_feasible(self, v: np.ndarray, tol: float = 1e-6) -> bool:
        """Whether ``v`` satisfies the bounds, the rows (``tol`` relative to each row's
        activity) and integrality (to 1e-5)."""
        if v.shape != (self.n_vars,):
            return False
        if np.any(v < self.col_lo - tol) or np.any(v > self.col_hi + tol):
            return False
        ints = v[self.integer]
        if np.any(np.abs(ints - np.round(ints)) > 1e-5):
            return False
        act = self.A @ v
        scale = tol * np.maximum(1.0, np.abs(act))
        return not (np.any(act < self.row_lo - scale) or np.any(act > self.row_hi + scale))


@dataclass(frozen=True)
class BuiltModel:
    """A :class:`MipModel` plus how to read its variables back: ``x = v[:n_x]``, ``y`` rows."""

    mip: MipModel
    n_x: int
    y_rows: np.ndarray  # row index of each y variable

    def start_vector(self, p: Problem, selected: np.ndarray) -> np.ndarray:
        """A full variable vector for a selection (warm start)."""
        x = np.zeros(self.n_x)
        x[selected] = 1.0
        v = np.zeros(self.mip.n_vars)
        v[: self.n_x] = x
        if self.y_rows.size:
            covered = (p.A @ x) > 0.5
            v[self.n_x:self.n_x + self.y_rows.size] = covered[self.y_rows].astype(float)
        return v


def selected_columns(v: np.ndarray, n_x: int) -> np.ndarray:
    """The columns a MIP's variable vector ``v`` selects: those of its first ``n_x``
    variables (the ``x`` of :class:`BuiltModel`) above 1/2, ascending."""
    return np.flatnonzero(v[:n_x] > 0.5).astype(np.int64)


def coverage_count(A: sp.csr_matrix, selected: np.ndarray) -> np.ndarray:
    """Selected options covering each row of the 0/1 matrix ``A``."""
    x = np.zeros(A.shape[1])
    x[selected] = 1.0
    return np.rint(A @ x).astype(np.int64)


def covered_by(A: sp.csr_matrix, selected: np.ndarray) -> np.ndarray:
    """Bool per row of ``A``: some selected option covers it."""
    return coverage_count(A, selected) > 0


def rewarded_rows(p: Problem) -> np.ndarray:
    """Rows whose coverage earns weight without being required."""
    reach = np.diff(p.A.indptr) > 0
    return np.flatnonzero(~p.must & (p.weight > 0) & reach)


def count_rows(p: Problem) -> np.ndarray:
    """Rows of ``p``'s count row (:class:`CoverCount`) that need a ``y``: not must-cover
    and covered by some option."""
    if p.cover_count is None:
        return np.zeros(0, np.int64)
    reach = np.diff(p.A.indptr) > 0
    return np.flatnonzero(p.cover_count.rows & ~p.must & reach)


def count_left(p: Problem) -> int:
    """How many of the rows :func:`count_rows` names must be covered: the count less the
    count rows that must be covered anyway."""
    if p.cover_count is None:
        return 0
    return p.cover_count.count - int(np.count_nonzero(p.cover_count.rows & p.must))


class _RowBlocks:
    """Constraint rows ``lo <= block @ v <= hi``, collected block by block."""

    def __init__(self, n_vars: int):
        self.n_vars = n_vars
        self.blocks, self.lo, self.hi = [], [], []

    def add(self, block, lo, hi) -> None:
        self.blocks.append(block)
        self.lo.append(np.asarray(lo, float))
        self.hi.append(np.asarray(hi, float))

    def matrix(self) -> sp.csc_matrix:
        A = sp.vstack(self.blocks, format="csc") if self.blocks else sp.csc_matrix((0, self.n_vars))
        A.sort_indices()
        return A.astype(float)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.lo:
            return np.zeros(0), np.zeros(0)
        return np.concatenate(self.lo), np.concatenate(self.hi)


def _constraint_rows(p: Problem, y_rows: np.ndarray) -> _RowBlocks:
    """Must-cover, coverage-indicator, count, budget, quota and group rows over ``[x, y]``."""
    n, ny = p.n_cols, y_rows.size
    rows = _RowBlocks(n + ny)
    must_rows = np.flatnonzero(p.must)
    if must_rows.size:
        rows.add(sp.hstack([p.A[must_rows], sp.csr_matrix((must_rows.size, ny))]),
                 p.required[must_rows], np.full(must_rows.size, np.inf))
    if ny:
        rows.add(sp.hstack([p.A[y_rows], -sp.identity(ny, format="csr")]), np.zeros(ny),
                 np.full(ny, np.inf))
    if count_left(p) > 0:
        in_count = np.isin(y_rows, count_rows(p)).astype(float)
        rows.add(sp.csr_matrix(np.concatenate([np.zeros(n), in_count])[None, :]),
                 [float(count_left(p))], [np.inf])
    if p.budget is not None:
        rows.add(sp.csr_matrix(np.concatenate([p.cost, np.zeros(ny)])[None, :]), [-np.inf],
                 [p.budget])
    if p.max_options is not None:
        rows.add(sp.csr_matrix(np.concatenate([p.counted.astype(float), np.zeros(ny)])[None, :]),
                 [-np.inf], [float(p.max_options)])
    if p.has_groups():
        _, inverse, counts = np.unique(p.groups, return_inverse=True, return_counts=True)
        cols = np.flatnonzero((p.groups >= 0) & (counts[inverse] > 1))
        _, grow = np.unique(p.groups[cols], return_inverse=True)
        ng = int(grow.max()) + 1
        rows.add(sp.csr_matrix((np.ones(cols.size), (grow, cols)), shape=(ng, n + ny)),
                 np.full(ng, -np.inf), np.ones(ng))
    return rows


def _objective(p: Problem, y_rows: np.ndarray, stage: str, target: float | None,
               rows: _RowBlocks) -> tuple[np.ndarray, str]:
    """Objective vector and sense of ``stage``; the tie-break stage turns the first stage's
    objective into a row of ``rows`` bounded by ``target``."""
    n, ny = p.n_cols, y_rows.size
    cost_c = np.concatenate([p.cost, np.zeros(ny)])
    weight_c = np.concatenate([np.zeros(n), p.weight[y_rows].astype(float)])
    least_cost = (p.objective == "min_cost") == (stage == "primary")
    if stage == "tie_break" and least_cost:  # max_coverage first: keep its covered weight
        rows.add(sp.csr_matrix(weight_c[None, :]), [target], [np.inf])
    elif stage == "tie_break":  # min_cost first: keep its cost
        rows.add(sp.csr_matrix(cost_c[None, :]), [-np.inf], [target])
    return (cost_c, "min") if least_cost else (weight_c, "max")


def build_model(p: Problem, stage: str = "primary", target: float | None = None) -> BuiltModel:
    """Build the ILP of ``p``.

    Parameters
    ----------
    p : Problem
    stage : {"primary", "tie_break"}
    target : float
        Tie-break stage only: the minimum rewarded weight (``max_coverage``) or the maximum
        cost (``min_cost``) the second stage must respect.
    """
    n = p.n_cols
    use_y = p.objective == "max_coverage" or stage == "tie_break"
    y_rows = np.union1d(rewarded_rows(p) if use_y else np.zeros(0, np.int64),
                        count_rows(p)).astype(np.int64)
    ny = y_rows.size
    rows = _constraint_rows(p, y_rows)
    c, sense = _objective(p, y_rows, stage, target, rows)
    row_lo, row_hi = rows.bounds()
    mip = MipModel(
        c=np.asarray(c, dtype=float), A=rows.matrix(), row_lo=row_lo, row_hi=row_hi,
        col_lo=np.zeros(n + ny), col_hi=np.ones(n + ny),
        integer=np.concatenate([np.ones(n, bool), np.zeros(ny, bool)]), sense=sense,
        # y_i is 0/1 in the best completion of an integer x (1 exactly when covered), so
        # integral coefficients make every plan's objective integral
        integral_objective=bool(np.all(np.asarray(c) == np.round(c))))
    return BuiltModel(mip=mip, n_x=n, y_rows=y_rows)


@dataclass(frozen=True)
class MipResult:
    """What a backend returns: ``status`` is "optimal", "time_limit" (incumbent, not proven:
    a time or node limit stopped the search), "no_solution" (stopped without incumbent) or
    "infeasible". ``nodes``: the branch-and-bound nodes the search took, a measure of its work
    that, unlike its time, does not depend on the machine's load (0 where the solver does not
    report it: CBC through PuLP)."""

    x: np.ndarray | None
    status: str
    objective: float
    bound: float
    nodes: int = 0

r"""Presolve reductions for the set covering problem (all rows must be covered, min cost).

.. math::

    \min \sum_j c_j x_j \quad \text{s.t.} \quad \sum_{j \in N_i} x_j \ge 1 \;\forall i,
    \quad x \in \{0,1\}^n.

Each reduction keeps at least one optimal solution of the current problem, so applying them
in rounds keeps the optimum; :meth:`Presolved.restore` maps a reduced selection back.

1. Forced columns: a row covered by exactly one column forces it; the rows it covers go.
2. Empty columns (no remaining row) go.
3. Cost dominance: column :math:`j` goes if :math:`c_j > \sum_{i \in N^j} \min_{k \in N_i} c_k`
   (the cheapest column of each of its rows covers them for less).
4. Duplicate / dominated rows: if :math:`N_j \subseteq N_i`, covering row :math:`j` covers
   row :math:`i`, so row :math:`i` goes (duplicates: the lowest index stays).
5. Dominated columns: if :math:`N^j \subseteq N^k` and :math:`c_j \ge c_k`, column
   :math:`j` goes (ties broken by size, then index).

:func:`reduced_cost_fixing` is a different kind of reduction: given a cover of cost
:math:`z_{UB}` it keeps every cover that is *strictly cheaper* (plus that one), which is all
an exact search needs.

Subset tests use the overlap counts :math:`A A^T` / :math:`A^T A` (sparse products, the
latter in column blocks). Their work is :math:`\sum_j |N^j|^2` / :math:`\sum_i |N_i|^2`; a
row reduction whose work exceeds ``max_work`` (a column reduction: ten times that) is
skipped, so presolve stays fast on :math:`10^4 \times 10^5` instances.

References
----------
Beasley, J.E. (1987). An algorithm for set covering problem. European Journal of Operational
Research 31(1), 85-93.
Balas, E., Ho, A. (1980). Set covering algorithms using cutting planes, heuristics, and
subgradient optimization: a computational study. Mathematical Programming Study 12, 37-60.
(reduced-cost fixing with Lagrangian bounds)
Toregas, C., ReVelle, C. (1973). Binary logic solutions to a class of location problem.
Geographical Analysis 5(2), 145-155.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class Presolved:
    """A reduced set covering problem and the map back to the original."""

    A: sp.csr_matrix  # reduced matrix (rows x cols of the originals listed below)
    cost: np.ndarray
    rows: np.ndarray  # original indices of the remaining rows
    cols: np.ndarray  # original indices of the remaining columns
    forced: np.ndarray  # original indices of columns fixed to 1
    stats: dict = field(default_factory=dict)

    def restore(self, selected_reduced: np.ndarray) -> np.ndarray:
        """Original column indices for a selection of reduced columns."""
        sel = self.cols[np.asarray(selected_reduced, dtype=np.int64)]
        return np.union1d(sel, self.forced).astype(np.int64)


def _row_dominated(A: sp.csr_matrix, max_work: float) -> np.ndarray | None:
    """Bool per row: dominated (superset of another kept row) or duplicate."""
    col_len = np.diff(A.tocsc().indptr).astype(np.float64)
    if float(col_len @ col_len) > max_work:
        return None
    r = np.diff(A.indptr)
    S = (A @ A.T).tocoo()
    i, j, s = S.row, S.col, S.data
    mask = (i != j) & (s == r[j]) & ((r[i] > r[j]) | ((r[i] == r[j]) & (i > j)))
    out = np.zeros(A.shape[0], bool)
    out[i[mask]] = True
    return out


def dominated_columns(A, cost: np.ndarray, *, eligible: np.ndarray | None = None,
                      counted: np.ndarray | None = None, groups: np.ndarray | None = None,
                      max_work: float = 2e8, block_work: float = 5e6) -> np.ndarray | None:
    r"""Bool per column: dominated by another column (same rows or more, no dearer).

    Column :math:`j` is dominated by :math:`k` when :math:`N^j \subseteq N^k`,
    ``key(k) < key(j)`` with ``key = (cost, -|N^j|, index)`` (a strict order, so of equal
    columns the first stays), both are ``eligible``, when ``counted`` is given :math:`k` is
    not counted unless :math:`j` is, and when ``groups`` is given (at most one option per
    group; -1: in no group) :math:`k` is in no group or in :math:`j`'s. Swapping :math:`j`
    for :math:`k` then never breaks a covering, budget, quota or group constraint, nor
    lowers coverage.

    The overlaps :math:`A^T A` are formed in blocks of columns of about ``block_work``
    multiply-adds; ``None`` is returned if the total exceeds ``max_work``.
    """
    A = sp.csr_matrix(A, dtype=np.int32)
    n = A.shape[1]
    row_len = np.diff(A.indptr).astype(np.float64)
    if float(row_len @ row_len) > max_work:
        return None
    At = A.T.tocsr()
    ln = np.diff(At.indptr)
    cost = np.asarray(cost, float)
    col_work = np.asarray(At @ row_len).ravel()
    cum = np.cumsum(col_work)
    out = np.zeros(n, bool)
    start = 0
    while start < n:
        stop = int(np.searchsorted(cum, (cum[start - 1] if start else 0.0) + block_work, "right"))
        stop = min(max(stop, start + 1), n)
        T = (At[start:stop] @ A).tocoo()
        j, k, s = T.row + start, T.col, T.data
        better = (cost[k] < cost[j]) | ((cost[k] == cost[j]) & ((ln[k] > ln[j]) | ((ln[k] == ln[j]) & (k < j))))
        mask = (j != k) & (s == ln[j]) & better
        if eligible is not None:
            mask &= eligible[j] & eligible[k]
        if counted is not None:
            mask &= ~(counted[k] & ~counted[j])
        if groups is not None:
            mask &= (groups[k] < 0) | (groups[k] == groups[j])
        out[j[mask]] = True
        start = stop
    return out


class _Reduction:
    """A set covering problem being reduced: the remaining matrix, the original index of each
    remaining row and column, the columns forced so far, and counts for ``stats``."""

    def __init__(self, A: sp.csr_matrix, cost: np.ndarray):
        self.A, self.cost = A, cost
        self.rows, self.cols = np.arange(A.shape[0]), np.arange(A.shape[1])
        self.forced: list[np.ndarray] = []
        self.stats = {"rows_in": A.shape[0], "cols_in": A.shape[1], "forced": 0,
                      "rows_dominated": 0, "cols_dominated": 0, "cols_cost_dominated": 0,
                      "skipped": []}

    def keep_columns(self, keep: np.ndarray) -> None:
        self.A = self.A[:, keep].tocsr()
        self.cols, self.cost = self.cols[keep], self.cost[keep]

    def force_single_columns(self) -> bool:
        """1. A row covered by exactly one column forces it; the rows it covers go."""
        r_len = np.diff(self.A.indptr)
        if np.any(r_len == 0):
            raise ValueError("presolve_set_cover: a row has no covering column")
        single = np.flatnonzero(r_len == 1)
        if not single.size:
            return False
        fcols = np.unique(self.A.indices[self.A.indptr[single]])
        self.forced.append(self.cols[fcols])
        self.stats["forced"] += fcols.size
        fx = np.zeros(self.A.shape[1])
        fx[fcols] = 1
        keep_r = (self.A @ fx) == 0
        keep_c = np.ones(self.A.shape[1], bool)
        keep_c[fcols] = False
        self.A = self.A[keep_r].tocsr()
        self.rows = self.rows[keep_r]
        self.keep_columns(keep_c)
        return True

    def drop_costly_columns(self) -> bool:
        """2. Empty columns and 3. columns dearer than the cheapest covers of their rows go."""
        A, cost = self.A, self.cost
        Ac = A.tocsc()
        c_len = np.diff(Ac.indptr)
        row_min = np.minimum.reduceat(cost[A.indices], A.indptr[:-1])
        col_sum = np.asarray(Ac.T @ row_min).ravel()
        drop_c = (c_len == 0) | (cost > col_sum * (1 + 1e-12) + 1e-12)
        self.stats["cols_cost_dominated"] += int(np.sum(drop_c & (c_len > 0)))
        if not drop_c.any():
            return False
        self.keep_columns(~drop_c)
        return True

    def drop_dominated_rows(self, max_work: float) -> bool:
        """4. Rows that are supersets of another row (or duplicates) go."""
        dom_r = _row_dominated(self.A, max_work)
        if dom_r is None:
            self.stats["skipped"].append("rows")
        if dom_r is None or not dom_r.any():
            return False
        self.stats["rows_dominated"] += int(dom_r.sum())
        self.A = self.A[~dom_r].tocsr()
        self.rows = self.rows[~dom_r]
        return True

    def drop_dominated_columns(self, max_work: float) -> bool:
        """5. Columns dominated by another column go."""
        dom_c = dominated_columns(self.A, self.cost, max_work=max_work)
        if dom_c is None:
            self.stats["skipped"].append("cols")
        if dom_c is None or not dom_c.any():
            return False
        self.stats["cols_dominated"] += int(dom_c.sum())
        self.keep_columns(~dom_c)
        return True

    def result(self) -> Presolved:
        self.A.sort_indices()
        self.stats["rows_out"], self.stats["cols_out"] = self.A.shape
        forced = np.unique(np.concatenate(self.forced)) if self.forced else np.zeros(0, np.int64)
        return Presolved(A=self.A, cost=self.cost, rows=self.rows, cols=self.cols,
                         forced=forced.astype(np.int64), stats=self.stats)


def presolve_set_cover(A, cost: np.ndarray, *, max_work: float = 2e7,
                       max_rounds: int = 10) -> Presolved:
    """Reduce a set covering problem (see the module docstring).

    Parameters
    ----------
    A : scipy.sparse matrix, 0/1, every row covered by at least one column
    cost : numpy.ndarray, >= 0
    max_work : float
        Skip a subset-test reduction whose sparse product would exceed this many multiply-adds.
    max_rounds : int
    """
    A = sp.csr_matrix(A, dtype=np.int32)
    A.sort_indices()
    red = _Reduction(A, np.asarray(cost, dtype=float))
    for _ in range(max_rounds):
        changed = red.force_single_columns()
        if red.A.shape[0] == 0:  # everything is covered by forced columns
            red.cols, red.cost = red.cols[:0], red.cost[:0]
            red.A = sp.csr_matrix((0, 0), dtype=np.int32)
            break
        changed |= red.drop_costly_columns()
        changed |= red.drop_dominated_rows(max_work)
        changed |= red.drop_dominated_columns(10 * max_work)
        if not changed:
            break
    return red.result()


def merge_identical_rows(A: sp.csr_matrix, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Classes of rows covered by exactly the same columns, with their summed weights.

    In a maximal covering model such rows are covered together or not at all, so one
    coverage variable with their summed weight stands for all of them (an exact reduction).

    Returns
    -------
    first : numpy.ndarray
        The first row of each class, ascending.
    class_weight : numpy.ndarray
        The summed ``weight`` of each class's rows.
    """
    A = sp.csr_matrix(A)
    A.sort_indices()
    classes: dict[bytes, int] = {}
    label = np.empty(A.shape[0], np.int64)
    first = []
    for i in range(A.shape[0]):
        key = A.indices[A.indptr[i]:A.indptr[i + 1]].tobytes()
        k = classes.setdefault(key, len(first))
        if k == len(first):
            first.append(i)
        label[i] = k
    return (np.asarray(first, np.int64),
            np.bincount(label, weights=np.asarray(weight, float), minlength=len(first)))


def reduced_cost_fixing(red_cost: np.ndarray, lagrangian_value: float, upper_bound: float,
                        incumbent: np.ndarray, integral: bool) -> tuple[np.ndarray, np.ndarray]:
    r"""Columns that no cover cheaper than the incumbent can use, or can do without.

    For multipliers :math:`u \ge 0` with value :math:`L(u)` and Lagrangian costs
    :math:`\bar c_j = c_j - \sum_{i \in N^j} u_i`, every cover with :math:`x_j = 1` costs at
    least :math:`L(u) + \max(0, \bar c_j)` and every cover with :math:`x_j = 0` at least
    :math:`L(u) - \min(0, \bar c_j)` (Balas & Ho 1980). A cover must cost at most
    :math:`z_{UB} - \delta` to improve on the incumbent (:math:`\delta = 1` with integer
    costs, else 0), so column :math:`j` can be fixed to 0 if :math:`L(u) + \bar c_j >
    z_{UB} - \delta` and to 1 if :math:`L(u) - \bar c_j > z_{UB} - \delta`. Only fixings the
    incumbent agrees with are returned, so it stays feasible: the reduced problem holds the
    incumbent and every strictly cheaper cover, hence an optimum.

    Returns
    -------
    zero, one : bool arrays per column (fixed to 0, fixed to 1)
    """
    red_cost = np.asarray(red_cost, float)
    limit = upper_bound - (1.0 if integral else 0.0)
    margin = 1e-6 * max(1.0, abs(upper_bound))  # L(u) is computed in floating point
    in_inc = np.zeros(red_cost.size, bool)
    in_inc[np.asarray(incumbent, np.int64)] = True
    zero = ~in_inc & (lagrangian_value + np.maximum(red_cost, 0.0) > limit + margin)
    one = in_inc & (lagrangian_value - np.minimum(red_cost, 0.0) > limit + margin)
    return zero, one

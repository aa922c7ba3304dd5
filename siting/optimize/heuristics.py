r"""Heuristics for the coverage models: greedy starts and a Lagrangian bound.

Set covering (the ILP the heuristics target):

.. math::

    \min \sum_j c_j x_j \quad \text{s.t.} \quad \sum_{j \in N_i} x_j \ge 1 \;\forall i,
    \quad x \in \{0,1\}^n.

- :func:`greedy_set_cover`: Chvátal's rule, repeatedly take the column with the least cost per
  newly covered row, then drop redundant columns (most expensive first). Its cost is at most
  :math:`H(\max_j |N^j|)` times the optimum (Chvátal 1979).
- :func:`greedy_general`: the same idea for the general model (budget, quota, groups,
  weights): take the column with the most newly covered value per unit cost while it fits.
  Must-cover rows are worth more than all weights together. Used only as a MIP warm start.
- :func:`lagrangian_set_cover`: relax the covering rows with multipliers :math:`u \ge 0`,

  .. math::

      L(u) = \sum_i u_i + \sum_j \min(0,\; c_j - \sum_{i \in N^j} u_i) \le z^*,

  maximised by subgradient optimisation with a Lagrangian heuristic (columns with negative
  reduced cost, completed greedily, redundant ones removed) as in Beasley (1990).

References
----------
Chvátal, V. (1979). A greedy heuristic for the set-covering problem. Mathematics of
Operations Research 4(3), 233-235.
Beasley, J.E. (1990). A Lagrangian heuristic for set-covering problems. Naval Research
Logistics 37(1), 151-164.
"""

from __future__ import annotations

import heapq
import time

import numpy as np
import scipy.sparse as sp


def _csc_csr(A):
    return sp.csc_matrix(A), sp.csr_matrix(A)


def remove_redundant(A_csc: sp.csc_matrix, cost: np.ndarray, selected: np.ndarray,
                     counts: np.ndarray | None = None) -> np.ndarray:
    """Drop columns whose rows are all covered by other selected columns, costliest first."""
    selected = np.asarray(selected, dtype=np.int64)
    if counts is None:
        x = np.zeros(A_csc.shape[1])
        x[selected] = 1
        counts = np.asarray(A_csc @ x).ravel()
    counts = counts.copy()
    keep = np.ones(selected.size, bool)
    order = np.lexsort((-selected, -cost[selected]))
    indptr, indices = A_csc.indptr, A_csc.indices
    for k in order:
        j = selected[k]
        rows = indices[indptr[j]:indptr[j + 1]]
        if rows.size == 0 or np.all(counts[rows] >= 2):
            counts[rows] -= 1
            keep[k] = False
    return np.sort(selected[keep])


def greedy_set_cover(A, cost: np.ndarray, *, initial: np.ndarray | None = None,
                     row_mask: np.ndarray | None = None) -> np.ndarray | None:
    """Chvátal's greedy set cover; returns sorted column indices or ``None`` if infeasible.

    Parameters
    ----------
    A : scipy.sparse matrix, 0/1 (rows x columns)
    cost : numpy.ndarray, >= 0
    initial : columns already chosen (kept unless redundant)
    row_mask : rows that need covering (default: all)
    """
    A_csc, A_csr = _csc_csr(A)
    m, n = A_csc.shape
    need = np.ones(m, bool) if row_mask is None else np.asarray(row_mask, bool).copy()
    chosen = np.zeros(n, bool)
    if initial is not None and len(initial):
        chosen[initial] = True
        covered = np.asarray(A_csc @ chosen.astype(float)).ravel() > 0
        need &= ~covered
    cost = np.asarray(cost, float)
    eps = 1e-12
    indptr, indices = A_csc.indptr, A_csc.indices
    gain = np.asarray(A_csc[need].sum(axis=0)).ravel() if need.any() else np.zeros(n)
    heap = [((cost[j] + eps) / gain[j], j) for j in np.flatnonzero((gain > 0) & ~chosen)]
    heapq.heapify(heap)
    left = int(need.sum())
    while left > 0 and heap:
        ratio, j = heapq.heappop(heap)
        rows = indices[indptr[j]:indptr[j + 1]]
        g = int(need[rows].sum())
        if g == 0:
            continue
        new_ratio = (cost[j] + eps) / g
        if new_ratio > ratio * (1 + 1e-12) and heap and new_ratio > heap[0][0]:
            heapq.heappush(heap, (new_ratio, j))
            continue
        chosen[j] = True
        need[rows] = False
        left -= g
    if left > 0:
        return None
    selected = np.flatnonzero(chosen)
    mask_rows = None if row_mask is None else np.asarray(row_mask, bool)
    if mask_rows is None:
        return remove_redundant(A_csc, cost, selected)
    # Only rows in the mask need to stay covered.
    sub = A_csc[np.flatnonzero(mask_rows)]
    return remove_redundant(sp.csc_matrix(sub), cost, selected)


def greedy_general(A, cost, weight, must, *, objective: str, budget=None, max_options=None,
                   counted=None, groups=None, need=None) -> np.ndarray | None:
    """Greedy plan for the general model, or ``None`` if it misses a must-cover row.

    ``need`` (optional, int per row): options a must row needs (k-coverage); a row keeps its
    value until that many selected options cover it.
    Value of covering a row: 1 per must row for ``min_cost`` (stops once they are covered);
    for ``max_coverage`` a must row is worth more than all weights together, and columns are
    added while they add value and fit the budget, quota and groups.
    """
    A_csc = sp.csc_matrix(A)
    m, n = A_csc.shape
    cost = np.asarray(cost, float)
    must = np.asarray(must, bool)
    if objective == "min_cost":
        value = must.astype(float)
    else:
        big = float(np.sum(weight)) + 1.0
        value = np.where(must, big, np.asarray(weight, float))
    counted = np.ones(n, bool) if counted is None else np.asarray(counted, bool)
    groups = -np.ones(n, np.int64) if groups is None else np.asarray(groups)
    eps = 1e-9 * (float(cost[cost > 0].mean()) if np.any(cost > 0) else 1.0) + 1e-12
    indptr, indices = A_csc.indptr, A_csc.indices
    open_value = value.copy()
    left = np.where(must, 1 if need is None else np.asarray(need), 1).astype(np.int64)
    gain = np.asarray(A_csc.T @ open_value).ravel()
    heap = [(-(gain[j] / (cost[j] + eps)), j) for j in np.flatnonzero(gain > 0)]
    heapq.heapify(heap)
    spent, used, used_groups, chosen = 0.0, 0, set(), []
    while heap:
        neg, j = heapq.heappop(heap)
        rows = indices[indptr[j]:indptr[j + 1]]
        g = float(open_value[rows].sum())
        if g <= 0:
            continue
        score = g / (cost[j] + eps)
        if score < -neg * (1 - 1e-12) and heap and -score > heap[0][0]:
            heapq.heappush(heap, (-score, j))
            continue
        if budget is not None and spent + cost[j] > budget + 1e-9 * max(1.0, abs(budget)):
            continue
        if max_options is not None and counted[j] and used >= max_options:
            continue
        if groups[j] >= 0 and groups[j] in used_groups:
            continue
        chosen.append(j)
        spent += cost[j]
        used += int(counted[j])
        if groups[j] >= 0:
            used_groups.add(int(groups[j]))
        left[rows] -= 1
        open_value[rows[left[rows] <= 0]] = 0.0
        if objective == "min_cost" and not np.any(open_value > 0):
            break
    sel = np.array(sorted(chosen), dtype=np.int64)
    x = np.zeros(n)
    x[sel] = 1
    count = np.asarray(A_csc @ x).ravel()
    if np.any(must & (count < (1 if need is None else np.asarray(need)))):
        return None
    return sel


def lagrangian_set_cover(A, cost: np.ndarray, *, upper_bound: float = np.inf,
                         incumbent: np.ndarray | None = None, max_iter: int = 1000,
                         time_limit_s: float | None = None, seed: int = 0):
    """Subgradient optimisation of the Lagrangian relaxation (Beasley 1990).

    Returns
    -------
    lower_bound : float
        Best :math:`L(u)` found (rounded up when all costs are integers).
    selected : numpy.ndarray or None
        Best cover found by the Lagrangian heuristic (or ``incumbent`` if none better).
    upper_bound : float
        Its cost (``inf`` if none).
    """
    del seed  # deterministic
    t0 = time.perf_counter()
    A_csc, A_csr = _csc_csr(A)
    A_csc = A_csc.astype(float)
    A_csr = A_csr.astype(float)
    m, n = A_csc.shape
    cost = np.asarray(cost, float)
    integral = bool(np.all(cost == np.round(cost)))
    best_sel = None if incumbent is None else np.asarray(incumbent, np.int64)
    best_ub = float(upper_bound) if incumbent is not None else np.inf
    if best_sel is None:
        g = greedy_set_cover(A_csc, cost)
        if g is not None:
            best_sel, best_ub = g, float(cost[g].sum())
    if m == 0:
        return 0.0, np.zeros(0, np.int64), 0.0
    # Beasley's initial multipliers: u_i = min_{j in N_i} c_j / |N^j|
    col_size = np.maximum(np.diff(A_csc.indptr), 1)
    ratio = cost / col_size
    r_len = np.diff(A_csr.indptr)
    u = np.zeros(m)
    nonempty = r_len > 0
    if nonempty.any():
        mins = np.minimum.reduceat(ratio[A_csr.indices], A_csr.indptr[:-1][nonempty])
        u[nonempty] = mins
    lb = -np.inf
    f, stall = 2.0, 0
    for it in range(max_iter):
        C = cost - A_csc.T @ u
        x = C < 0
        L = float(u.sum() + C[x].sum())
        if L > lb + 1e-9:
            lb, stall = L, 0
        else:
            stall += 1
            if stall >= 30:
                f, stall = f / 2, 0
        covered = A_csr @ x.astype(float)
        if it % 5 == 0 or it == max_iter - 1:
            sel = greedy_set_cover(A_csc, cost, initial=np.flatnonzero(x))
            if sel is not None:
                c_sel = float(cost[sel].sum())
                if c_sel < best_ub - 1e-9:
                    best_ub, best_sel = c_sel, sel
        bound = np.ceil(lb - 1e-6) if integral else lb
        if bound >= best_ub - 1e-9 or f < 0.005:
            break
        if time_limit_s is not None and time.perf_counter() - t0 > time_limit_s:
            break
        sub = 1.0 - covered
        sub[(u <= 0) & (sub < 0)] = 0.0
        norm = float(sub @ sub)
        if norm == 0:
            break  # x covers every row exactly where u > 0: L(u) = c x, optimal
        target = 1.05 * best_ub if np.isfinite(best_ub) else abs(L) * 1.5 + 1
        step = f * (target - L) / norm
        u = np.maximum(0.0, u + step * sub)
    bound = float(np.ceil(lb - 1e-6)) if integral else float(lb)
    return bound, best_sel, best_ub

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

  maximised by subgradient optimisation (Beasley 1990); the covers come from the
  three-phase heuristic of Caprara, Fischetti & Toth (1999): Lagrangian-cost greedy at many
  near-optimal multipliers, column fixing, refinement around the best cover. Kernels in
  numba; deterministic for a given ``seed`` unless the time limit stops it.

References
----------
Chvátal, V. (1979). A greedy heuristic for the set-covering problem. Mathematics of
Operations Research 4(3), 233-235.
Beasley, J.E. (1990). A Lagrangian heuristic for set-covering problems. Naval Research
Logistics 37(1), 151-164.
Caprara, A., Fischetti, M., Toth, P. (1999). A heuristic method for the set covering
problem. Operations Research 47(5), 730-743.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp


def _csc_csr(A):
    return sp.csc_matrix(A), sp.csr_matrix(A)


def remove_redundant(A_csc: sp.csc_matrix, cost: np.ndarray, selected: np.ndarray) -> np.ndarray:
    """Drop columns whose rows are all covered by other selected columns, costliest first
    (ties: highest index first); sorted column indices."""
    chosen = np.zeros(A_csc.shape[1], np.bool_)
    chosen[np.asarray(selected, np.int64)] = True
    _drop_redundant_kernel(A_csc.indptr, A_csc.indices, np.asarray(cost, float), chosen,
                           A_csc.shape[0])
    return np.flatnonzero(chosen).astype(np.int64)


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
    A_csc = sp.csc_matrix(A)
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


class _Limits:
    """Budget, quota and groups left while a greedy plan grows."""

    def __init__(self, cost: np.ndarray, budget, max_options, counted: np.ndarray,
                 groups: np.ndarray):
        self.cost, self.budget, self.max_options = cost, budget, max_options
        self.counted, self.groups = counted, groups
        self.spent, self.used, self.used_groups = 0.0, 0, set()

    def fits(self, j: int) -> bool:
        """Whether option ``j`` fits the budget, the quota and the groups left."""
        budget = self.budget
        if budget is not None and self.spent + self.cost[j] > budget + 1e-9 * max(1.0, abs(budget)):
            return False
        if self.max_options is not None and self.counted[j] and self.used >= self.max_options:
            return False
        return not (self.groups[j] >= 0 and self.groups[j] in self.used_groups)

    def take(self, j: int) -> None:
        self.spent += self.cost[j]
        self.used += int(self.counted[j])
        if self.groups[j] >= 0:
            self.used_groups.add(int(self.groups[j]))


def _greedy_pick(A_csc: sp.csc_matrix, cost: np.ndarray, open_value: np.ndarray,
                 left: np.ndarray, limits: _Limits, stop_when_covered: bool) -> list[int]:
    """Take the option with the most open value per unit cost while one fits ``limits``
    (lazy heap); a row's value closes once ``left`` (options it still needs) reaches 0.
    ``open_value`` and ``left`` are updated."""
    eps = 1e-9 * (float(cost[cost > 0].mean()) if np.any(cost > 0) else 1.0) + 1e-12
    indptr, indices = A_csc.indptr, A_csc.indices
    gain = np.asarray(A_csc.T @ open_value).ravel()
    heap = [(-(gain[j] / (cost[j] + eps)), j) for j in np.flatnonzero(gain > 0)]
    heapq.heapify(heap)
    chosen = []
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
        if not limits.fits(j):
            continue
        chosen.append(j)
        limits.take(j)
        left[rows] -= 1
        open_value[rows[left[rows] <= 0]] = 0.0
        if stop_when_covered and not np.any(open_value > 0):
            break
    return chosen


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
    n = A_csc.shape[1]
    cost = np.asarray(cost, float)
    must = np.asarray(must, bool)
    if objective == "min_cost":
        value = must.astype(float)
    else:
        big = float(np.sum(weight)) + 1.0
        value = np.where(must, big, np.asarray(weight, float))
    limits = _Limits(cost, budget, max_options,
                     np.ones(n, bool) if counted is None else np.asarray(counted, bool),
                     -np.ones(n, np.int64) if groups is None else np.asarray(groups))
    required = 1 if need is None else np.asarray(need)
    left = np.where(must, required, 1).astype(np.int64)
    chosen = _greedy_pick(A_csc, cost, value.copy(), left, limits,
                          stop_when_covered=objective == "min_cost")
    sel = np.array(sorted(chosen), dtype=np.int64)
    x = np.zeros(n)
    x[sel] = 1
    count = np.asarray(A_csc @ x).ravel()
    if np.any(must & (count < required)):
        return None
    return sel


# ---------------------------------------------------------------------------------------
# Lagrangian heuristic (Beasley 1990; Caprara, Fischetti & Toth 1999)


@dataclass(frozen=True)
class LagrangianResult:
    r"""What :func:`lagrangian_set_cover` found.

    ``lower_bound`` is :math:`\max L(u)` over the multipliers tried on the whole problem
    (rounded up when all costs are integers), ``multipliers`` the :math:`u` attaining it, so
    ``reduced_costs(A, cost, multipliers)`` and ``raw_bound`` (the unrounded :math:`L(u)`)
    allow reduced-cost fixing. ``selected`` is the best cover found (``upper_bound`` its cost).
    """

    lower_bound: float
    raw_bound: float
    multipliers: np.ndarray
    selected: np.ndarray
    upper_bound: float


@numba.njit(cache=True, nogil=True)
def _lagrangian_costs(cp, ci, cost, u, out):
    """``out[j] = c_j - sum_{i in N^j} u_i``; returns :math:`L(u)`."""
    value = 0.0
    for i in range(u.size):
        value += u[i]
    for j in range(cost.size):
        r = cost[j]
        for k in range(cp[j], cp[j + 1]):
            r -= u[ci[k]]
        out[j] = r
        if r < 0.0:
            value += r
    return value


@numba.njit(cache=True, nogil=True)
def _subgradient_kernel(cp, ci, cost, u, best_u, target, stop_at, n_iter, lam, patience):
    r"""``n_iter`` subgradient steps from ``u`` (updated in place), Beasley's (1990) rule.

    Step :math:`\lambda (1.05\, target - L(u)) / \lVert s \rVert^2` along
    :math:`s_i = 1 - \sum_{j \in N_i} x_j(u)` (components with :math:`u_i = 0, s_i < 0`
    zeroed); :math:`\lambda` is halved after ``patience`` steps without a better
    :math:`L`. Stops early once :math:`L(u) \ge` ``stop_at``. ``best_u`` receives the best
    multipliers. Returns (best :math:`L`, final :math:`\lambda`).
    """
    m, n = u.size, cost.size
    red = np.empty(n)
    s = np.empty(m)
    best = -np.inf
    stall = 0
    for it in range(n_iter):
        value = _lagrangian_costs(cp, ci, cost, u, red)
        if it == 0 or value > best + 1e-9 * max(abs(best), 1.0):
            best, stall = value, 0
            best_u[:] = u
            if best >= stop_at:
                break
        else:
            stall += 1
            if stall >= patience:
                lam, stall = 0.5 * lam, 0
        s[:] = 1.0
        for j in range(n):
            if red[j] < 0.0:
                for k in range(cp[j], cp[j + 1]):
                    s[ci[k]] -= 1.0
        norm = 0.0
        for i in range(m):
            if u[i] <= 0.0 and s[i] < 0.0:
                s[i] = 0.0
            norm += s[i] * s[i]
        if norm == 0.0:
            break  # x(u) covers every row, exactly where u > 0: L(u) = c x is optimal
        step = lam * max(1.05 * target - value, 1e-6 * max(abs(value), 1.0)) / norm
        for i in range(m):
            u[i] = max(0.0, u[i] + step * s[i])
    return best, lam


@numba.njit(cache=True, nogil=True)
def _greedy_kernel(cp, ci, rp, rj, cost, u, covered):
    r"""Greedy on the rows not yet ``covered`` with the score of Caprara et al. (1999):
    :math:`\gamma_j / \mu_j` if :math:`\gamma_j > 0`, else :math:`\gamma_j \mu_j`, where
    :math:`\mu_j` counts the open rows column j covers and :math:`\gamma_j` is its cost minus
    their multipliers. Returns the columns in the order chosen; ``covered`` is updated."""
    n = cost.size
    mu = np.zeros(n, np.int64)
    gamma = cost.copy()
    left = 0
    for i in range(covered.size):
        if not covered[i]:
            left += 1
    for j in range(n):
        for k in range(cp[j], cp[j + 1]):
            if not covered[ci[k]]:
                mu[j] += 1
                gamma[j] -= u[ci[k]]
    order = np.empty(n, np.int64)
    n_chosen = 0
    while left > 0:
        pick, score = -1, np.inf
        for j in range(n):
            if mu[j] > 0:
                sc = gamma[j] / mu[j] if gamma[j] > 0.0 else gamma[j] * mu[j]
                if sc < score:
                    pick, score = j, sc
        order[n_chosen] = pick
        n_chosen += 1
        for k in range(cp[pick], cp[pick + 1]):
            i = ci[k]
            if not covered[i]:
                covered[i] = True
                left -= 1
                for kk in range(rp[i], rp[i + 1]):
                    mu[rj[kk]] -= 1
                    gamma[rj[kk]] += u[i]
    return order[:n_chosen]


@numba.njit(cache=True, nogil=True)
def _drop_redundant_kernel(cp, ci, cost, chosen, m):
    """Remove columns of ``chosen`` (bool, updated) whose rows are all covered twice or more,
    costliest first (ties: highest index first)."""
    count = np.zeros(m, np.int64)
    sel = np.flatnonzero(chosen)[::-1]  # highest index first, kept among equal costs below
    for j in sel:
        for k in range(cp[j], cp[j + 1]):
            count[ci[k]] += 1
    for t in np.argsort(-cost[sel], kind="mergesort"):
        j = sel[t]
        redundant = True
        for k in range(cp[j], cp[j + 1]):
            if count[ci[k]] < 2:
                redundant = False
                break
        if redundant:
            chosen[j] = False
            for k in range(cp[j], cp[j + 1]):
                count[ci[k]] -= 1


#: Subgradient steps of the bound phase, between heuristic calls, and in the heuristic phase.
BOUND_ITER, HEUR_EVERY, HEUR_ITER = 1000, 10, 250
#: Steps without a better bound before the step factor is halved.
PATIENCE = 50
#: Share of the open rows covered by the columns fixed per three-phase step, share of the
#: rows covered by the best cover's columns fixed in the first refinement round, and the
#: relative random perturbation of the multipliers a refinement round starts from.
FIX_SHARE, REFINE_SHARE, PERTURB = 0.3, 0.3, 0.1


class _Matrix:
    """CSC and CSR index arrays of a 0/1 matrix (the kernels' input)."""

    def __init__(self, A):
        csc, csr = _csc_csr(A)
        csc.sort_indices()
        csr.sort_indices()
        self.shape = csc.shape
        self.cp, self.ci = csc.indptr.astype(np.int64), csc.indices.astype(np.int64)
        self.rp, self.rj = csr.indptr.astype(np.int64), csr.indices.astype(np.int64)
        self.csr = csr

    def sub(self, rows: np.ndarray, cols: np.ndarray) -> "_Matrix":
        return _Matrix(self.csr[rows][:, cols])


class _Search:
    """State of the three-phase search: best cover, time budget, multipliers."""

    def __init__(self, M: _Matrix, cost, incumbent, upper_bound, deadline, integral):
        self.M, self.cost, self.deadline = M, cost, deadline
        self.delta = 1.0 - 1e-6 if integral else 1e-9  # improving means cost <= ub - delta
        self.best = None if incumbent is None else np.asarray(incumbent, np.int64)
        self.ub = float(upper_bound) if incumbent is not None else np.inf
        if self.best is None:
            self.best = greedy_set_cover(M.csr, cost)
            self.ub = float(cost[self.best].sum())

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.perf_counter() > self.deadline

    def offer(self, chosen: np.ndarray) -> bool:
        """Make a cover irredundant and keep it if it is the best so far."""
        _drop_redundant_kernel(self.M.cp, self.M.ci, self.cost, chosen, self.M.shape[0])
        value = float(self.cost[chosen].sum())
        if value < self.ub - 1e-9:
            self.best, self.ub = np.flatnonzero(chosen).astype(np.int64), value
            return True
        return False

    def subgradient(self, M: _Matrix, cost, u, target, stop_at, n_iter, lam=1.0,
                    patience=PATIENCE):
        best_u = u.copy()
        value, lam = _subgradient_kernel(M.cp, M.ci, cost, u, best_u, target, stop_at,
                                         n_iter, lam, patience)
        return value, best_u, lam


def _three_phase(S: _Search, fixed: np.ndarray, u0: np.ndarray, pi: float) -> None:
    """Caprara et al. (1999) phases on the columns not ``fixed``: subgradient, heuristic
    (Lagrangian greedy at every ``HEUR_EVERY``-th step), then fix the first columns the
    greedy picks (enough to cover a share ``pi`` of the open rows) and repeat on the rest."""
    M, cost = S.M, S.cost
    m = M.shape[0]
    fixed = fixed.copy()
    while not S.out_of_time():
        covered = np.zeros(m, bool)
        for j in np.flatnonzero(fixed):
            covered[M.ci[M.cp[j]:M.cp[j + 1]]] = True
        rows = np.flatnonzero(~covered)
        if rows.size == 0:
            S.offer(fixed.copy())
            return
        cols = np.flatnonzero(~fixed)
        R = M.sub(rows, cols)
        cols = cols[np.diff(R.cp) > 0]
        R = M.sub(rows, cols)
        c, spent = cost[cols], float(cost[fixed].sum())
        target = S.ub - spent
        value, u, lam = S.subgradient(R, c, u0[rows].copy(), target, target - S.delta,
                                      BOUND_ITER // 4)
        if value >= target - S.delta:
            return  # these fixings cannot lead to a better cover
        best_u, best_value = u.copy(), value
        for _ in range(HEUR_ITER // HEUR_EVERY):
            order = _greedy_kernel(R.cp, R.ci, R.rp, R.rj, c, u, np.zeros(rows.size, bool))
            chosen = fixed.copy()
            chosen[cols[order]] = True
            S.offer(chosen)
            value, u_chunk, lam = S.subgradient(R, c, u, S.ub - spent, np.inf, HEUR_EVERY, lam)
            if value > best_value:
                best_u, best_value = u_chunk, value
        order = _greedy_kernel(R.cp, R.ci, R.rp, R.rj, c, best_u, np.zeros(rows.size, bool))
        need = max(1, int(pi * rows.size))
        done, k = 0, 0
        while k < order.size and (done < need or k == 0):
            done += R.cp[order[k] + 1] - R.cp[order[k]]
            k += 1
        fixed[cols[order[:k]]] = True
        u0 = u0.copy()
        u0[rows] = best_u


def _refine_fixing(S: _Search, u: np.ndarray, pi: float) -> np.ndarray:
    r"""Columns of the best cover to fix for a refinement round: those with the least
    :math:`\delta_j = \max(0, c_j(u)) + \sum_{i \in N^j} u_i (k_i - 1) / k_i`
    (:math:`k_i`: best-cover columns on row i) until a share ``pi`` of the rows is covered
    (Caprara et al. 1999, sec. 4)."""
    M, cost = S.M, S.cost
    m = M.shape[0]
    k = np.zeros(m)
    for j in S.best:
        k[M.ci[M.cp[j]:M.cp[j + 1]]] += 1
    red = np.empty(cost.size)
    _lagrangian_costs(M.cp, M.ci, cost, u, red)
    share = np.where(k > 0, u * (k - 1) / np.maximum(k, 1), 0.0)
    delta = np.array([max(red[j], 0.0) + share[M.ci[M.cp[j]:M.cp[j + 1]]].sum() for j in S.best])
    fixed = np.zeros(cost.size, bool)
    covered = np.zeros(m, bool)
    for t in np.argsort(delta, kind="stable"):
        if covered.sum() >= pi * m:
            break
        j = S.best[t]
        fixed[j] = True
        covered[M.ci[M.cp[j]:M.cp[j + 1]]] = True
    return fixed


def lagrangian_set_cover(A, cost: np.ndarray, *, upper_bound: float = np.inf,
                         incumbent: np.ndarray | None = None, max_iter: int = BOUND_ITER,
                         time_limit_s: float | None = None, rounds: int = 20,
                         seed: int = 0) -> LagrangianResult:
    r"""Lagrangian bound and heuristic for set covering.

    Relaxing the covering rows with multipliers :math:`u \ge 0` gives

    .. math::

        L(u) = \sum_i u_i + \sum_j \min(0,\; c_j - \sum_{i \in N^j} u_i) \le z^*,

    maximised by subgradient optimisation from Beasley's (1990) start
    :math:`u_i = \min_{j \in N_i} c_j / |N^j|`. The heuristic is the three-phase method of
    Caprara, Fischetti & Toth (1999): subgradient, Lagrangian-cost greedy covers, column
    fixing, then ``rounds`` refinement rounds that fix part of the best cover and search the
    rest again (randomly perturbed multipliers, ``seed``). Only the bound phase works on the
    whole problem, so only it gives ``lower_bound``.

    Parameters
    ----------
    A : scipy.sparse matrix, 0/1, every row covered by some column
    cost : numpy.ndarray, >= 0
    upper_bound, incumbent : a known cover and its cost (kept unless beaten)
    max_iter : subgradient steps of the bound phase
    time_limit_s : wall-time cap [s] (checked between phases)
    rounds : refinement rounds after the first three-phase pass
    """
    t0 = time.perf_counter()
    deadline = None if time_limit_s is None else t0 + float(time_limit_s)
    cost = np.asarray(cost, float)
    M = _Matrix(A)
    m, n = M.shape
    if m == 0:
        return LagrangianResult(0.0, 0.0, np.zeros(0), np.zeros(0, np.int64), 0.0)
    integral = bool(np.all(cost == np.round(cost)))
    S = _Search(M, cost, incumbent, upper_bound, deadline, integral)
    col_size = np.maximum(np.diff(M.cp), 1)
    u = np.minimum.reduceat((cost / col_size)[M.rj], M.rp[:-1])
    raw, u_best, _ = S.subgradient(M, cost, u.copy(), S.ub, S.ub - S.delta, max_iter)
    bound = (lambda v: float(np.ceil(v - 1e-6)) if integral else float(v))
    rng = np.random.default_rng(seed)
    if bound(raw) < S.ub - 1e-9:
        _three_phase(S, np.zeros(n, bool), u_best, FIX_SHARE)
    pi = REFINE_SHARE
    for _ in range(rounds):
        if bound(raw) >= S.ub - 1e-9 or S.out_of_time():
            break
        before = S.ub
        u_start = u_best * rng.uniform(1.0 - PERTURB, 1.0 + PERTURB, m)
        _three_phase(S, _refine_fixing(S, u_best, pi), u_start, FIX_SHARE)
        pi = REFINE_SHARE if S.ub < before - 1e-9 or pi * 1.1 >= 1.0 else pi * 1.1
    return LagrangianResult(min(bound(raw), S.ub), float(raw), u_best, S.best, S.ub)


def reduced_costs(A, cost: np.ndarray, u: np.ndarray) -> np.ndarray:
    r"""Lagrangian costs :math:`c_j - \sum_{i \in N^j} u_i` of every column."""
    M = _Matrix(A)
    out = np.empty(M.shape[1])
    _lagrangian_costs(M.cp, M.ci, np.asarray(cost, float), np.asarray(u, float), out)
    return out

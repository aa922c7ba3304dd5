r"""LP-based branch and bound for small coverage MIPs, on HiGHS's dual simplex.

On small covering models HiGHS's MIP solver spends most of its time on work that does not
pay: root cut separation that barely lifts the bound, strong-branching LPs and sub-MIP
heuristics, on trees that the LP bound, the incumbent and reduced-cost fixing close in a few
nodes (``benchmarks/vs_spopt.py`` measures both). This search keeps only what closes such
trees:

- **Depth first** (Land & Doig 1960), the up branch first, so that a dive ends in a plan.
- **Warm-started LPs with a cutoff**: each node's relaxation is re-solved by the dual
  simplex from its parent's basis, with the incumbent as objective bound: the (dual
  feasible) objective only rises, so the LP stops as soon as it passes the cutoff and a
  pruned node costs a few pivots. The root LP is solved by whichever simplex HiGHS picks
  (the primal one on an MCLP, whose empty plan is feasible).
- **Integral objectives**: when every plan's objective is integral
  (:attr:`MipModel.integral_objective`), a node whose bound rounds up to the incumbent's
  value is pruned.
- **Reduced-cost fixing** at every node (Dantzig, Fulkerson & Johnson 1954; Balas & Ho
  1980): a variable at a bound whose reduced cost exceeds the gap to the cutoff keeps that
  bound in the whole subtree.
- **Pseudocost branching** (Bénichou et al. 1971): the fractional variable with the best
  product score (Achterberg 2007) of its estimated down and up gains, learnt from the
  children solved so far (unknown ones take the average, so the root branches on the most
  fractional). Strong branching was measured and dropped: on the benchmark instances its
  LPs cost more than the nodes they save.
- **Both children at once**: a branching solves its two children's LPs concurrently on two
  HiGHS instances (HiGHS releases the GIL), always the up child on the first and the down
  child on the second, each from the parent's basis; the search is the serial one, so plans
  and node counts do not depend on the cores available.

It is exact: pruning uses only LP bounds (and their rounding when the objective is
integral), so a search that closes its tree returns a proven optimum, or a plan within
``mip_gap`` of the bound. A search that hits its node limit or time limit returns its best
plan and the smallest bound of the nodes left open, and says how it ended, so that the
caller can hand over to a full MIP solver.

References
----------
Land, A.H., Doig, A.G. (1960). An automatic method of solving discrete programming
problems. Econometrica 28(3), 497-520.
Dantzig, G., Fulkerson, R., Johnson, S. (1954). Solution of a large-scale traveling-salesman
problem. Operations Research 2(4), 393-410. (reduced-cost fixing)
Balas, E., Ho, A. (1980). Set covering algorithms using cutting planes, heuristics, and
subgradient optimization: a computational study. Mathematical Programming Study 12, 37-60.
Bénichou, M., Gauthier, J.M., Girodet, P., Hentges, G., Ribière, G., Vincent, O. (1971).
Experiments in mixed-integer linear programming. Mathematical Programming 1, 76-94.
(pseudocosts)
Achterberg, T. (2007). Constraint integer programming. PhD thesis, TU Berlin. (product
score)
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from siting.optimize import highs_backend
from siting.optimize.model import MipModel, MipResult

#: Models with more constraint-matrix nonzeros than this are left to the MIP solver.
MAX_NNZ = 200_000
#: Nodes before the search hands over to the MIP solver.
NODE_LIMIT = 5_000
#: A value this close to an integer is integral.
INTEGRALITY_TOL = 1e-6


@dataclass(frozen=True)
class SearchResult:
    """What :func:`branch_and_bound` did: ``result`` (as a MIP backend returns it), the nodes
    solved, and how the search ended: ``"done"`` (tree closed: ``result`` is optimal, within
    ``mip_gap``, or infeasible), ``"node_limit"``, ``"time_limit"`` or ``"lp_failed"`` (a
    node's LP ended without an answer)."""

    result: MipResult
    nodes: int
    ended: str

    @property
    def completed(self) -> bool:
        return self.ended == "done"


def suits(model: MipModel) -> bool:
    """Whether the search is meant for ``model``: a covering model (LSCP, MCLP and their
    tie-break stages) of at most ``MAX_NNZ`` nonzeros with binary integer variables, whose
    only row with an upper bound is at most one cardinality row (unit coefficients: the
    quota of options). Budget (knapsack) and one-option-per-group rows are left to HiGHS:
    there its cuts and heuristics decide, and this search has neither (on the demo region's
    plan HiGHS proves the optimum where this search stops at its node limit)."""
    ints = model.integer
    if model.A.nnz > MAX_NNZ or not ints.any():
        return False
    if np.any(model.col_lo[ints] != 0.0) or np.any(model.col_hi[ints] != 1.0):
        return False
    capped = np.flatnonzero(np.isfinite(model.row_hi))
    if capped.size == 0:
        return True
    if capped.size > 1:
        return False
    row = model.A.tocsr()[capped[0]]
    return bool(np.all(row.data == 1.0) and np.all(ints[row.indices]))


@dataclass(frozen=True)
class _Outcome:
    """A node's LP: ``status`` "optimal", "pruned" (infeasible, or no point below the cutoff
    it was solved with) or "failed"; value, point, reduced costs and basis when optimal."""

    status: str
    value: float
    cutoff: float
    x: np.ndarray | None = None
    reduced: np.ndarray | None = None
    basis: object = None


class _Relaxation:
    """The LP relaxation in minimisation form (objective ``cost @ v``) on one HiGHS instance;
    only the integer variables' bounds change between solves."""

    def __init__(self, model: MipModel, cost: np.ndarray, ints: np.ndarray):
        import highspy
        self._S = highspy.HighsModelStatus
        self.h = highs_backend.lp_relaxation(model, cost)
        self.h.setOptionValue("simplex_strategy", 0)  # the root: HiGHS's choice
        self.ints = ints.astype(np.int32)

    def solve(self, lo, hi, basis, cutoff: float) -> _Outcome:
        """The LP with the integer variables in ``[lo, hi]``, from ``basis`` (None: the slack
        basis), stopped once its bound passes ``cutoff``."""
        h = self.h
        h.changeColsBounds(self.ints.size, self.ints, lo, hi)
        if basis is not None:
            h.setBasis(basis)
        h.setOptionValue("objective_bound", cutoff)
        highs_backend.run(h)
        h.setOptionValue("simplex_strategy", 1)  # from now on: bound changes, dual simplex
        status = h.getModelStatus()
        S = self._S
        if status in (S.kInfeasible, S.kObjectiveBound):
            return _Outcome("pruned", math.inf, cutoff)
        if status != S.kOptimal:
            return _Outcome("failed", math.nan, cutoff)
        value = float(h.getInfo().objective_function_value)
        if value >= cutoff:
            return _Outcome("pruned", value, cutoff)
        sol = h.getSolution()
        return _Outcome("optimal", value, cutoff, np.asarray(sol.col_value, dtype=float),
                        np.asarray(sol.col_dual, dtype=float), h.getBasis())


class _Pseudocosts:
    """Average objective gain per unit of change, per variable and direction."""

    def __init__(self, n: int):
        self.total = np.zeros((2, n))
        self.count = np.zeros((2, n))

    def record(self, j: int, up: bool, gain: float, change: float) -> None:
        if math.isfinite(gain) and change > 0:
            self.total[int(up), j] += max(gain, 0.0) / change
            self.count[int(up), j] += 1

    def best(self, idx: np.ndarray, frac: np.ndarray) -> int:
        """The candidate of ``idx`` (fractional parts ``frac``) with the best product score
        of its estimated down and up gains."""
        seen = self.count > 0
        mean = np.where(seen.any(axis=1),
                        self.total.sum(axis=1) / np.maximum(self.count.sum(axis=1), 1), 1.0)
        unit = np.where(seen[:, idx], self.total[:, idx] / np.maximum(self.count[:, idx], 1),
                        mean[:, None])
        score = np.maximum(unit[0] * frac, 1e-6) * np.maximum(unit[1] * (1.0 - frac), 1e-6)
        return int(idx[np.argmax(score)])


@dataclass(frozen=True)
class _Node:
    lo: np.ndarray  # bounds of the integer variables
    hi: np.ndarray
    bound: float  # the parent's LP value: a bound on the node
    lp: _Outcome  # the node's own LP
    branched: int = -1  # integer variable (position) the last branching fixed
    up: bool = False
    change: float = 0.0  # how far that moved it from the parent's LP value

    def lower_bound(self) -> float:
        """A bound on every plan in the node's subtree: its own LP's, else its parent's."""
        if self.lp.status == "optimal":
            return max(self.bound, self.lp.value)
        if self.lp.status == "pruned":  # infeasible, or no point below the cutoff
            return max(self.bound, self.lp.cutoff)
        return self.bound


class _Search:
    """The two relaxations and the thread that solves the down children."""

    def __init__(self, model: MipModel, cost: np.ndarray, ints: np.ndarray):
        self.up = _Relaxation(model, cost, ints)
        self.down = _Relaxation(model, cost, ints)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="siting-bb")

    def children(self, lo, hi, j: int, x_j: float, basis, cutoff: float):
        """Bounds and LPs of the down (x_j <= floor) and up (x_j >= ceil) children."""
        down_hi = hi.copy()
        down_hi[j] = math.floor(x_j)
        up_lo = lo.copy()
        up_lo[j] = math.floor(x_j) + 1.0
        pending = self.pool.submit(self.down.solve, lo, down_hi, basis, cutoff)
        up = self.up.solve(up_lo, hi, basis, cutoff)
        return (lo, down_hi, pending.result()), (up_lo, hi, up)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def branch_and_bound(model: MipModel, *, start: np.ndarray | None = None,
                     time_limit_s: float | None = None, mip_gap: float = 0.0,
                     node_limit: int = NODE_LIMIT) -> SearchResult:
    """Solve ``model`` (binary integer variables, see :func:`suits`) by LP-based branch and
    bound.

    Parameters
    ----------
    model : MipModel
    start : array, optional
        A feasible point (warm start); ignored unless feasible.
    time_limit_s : float, optional
        Wall-time limit [s], checked between nodes.
    mip_gap : float
        Relative gap at which a node counts as no better than the incumbent [-].
    node_limit : int
        Nodes (LPs solved) before the search gives up.

    Notes
    -----
    The search runs on a thread of its own (:func:`highs_backend.on_own_thread`), so that
    its single-threaded HiGHS instances work whatever HiGHS did before on the caller's.
    """
    return highs_backend.on_own_thread(_branch_and_bound, model, start, time_limit_s, mip_gap,
                                       node_limit)


def _branch_and_bound(model: MipModel, start, time_limit_s, mip_gap,
                      node_limit: int) -> SearchResult:
    """:func:`branch_and_bound` on the calling thread."""
    sign = -1.0 if model.sense == "max" else 1.0
    cost = sign * model.c  # minimise cost @ v; the offset is added back at the end
    ints = np.flatnonzero(model.integer)
    search = _Search(model, cost, ints)
    try:
        return _run(model, search, sign, cost, ints, start, time_limit_s, mip_gap, node_limit)
    finally:
        search.close()


class _Incumbent:
    """The best plan so far, in the search's minimised cost (``cost @ v``), the cutoff it
    sets and the smallest cutoff a node was pruned at (a bound on that node's subtree)."""

    def __init__(self, model: MipModel, cost: np.ndarray, sign: float, mip_gap: float):
        self.model, self.cost, self.sign, self.mip_gap = model, cost, sign, mip_gap
        self.plan: np.ndarray | None = None
        self.value = math.inf
        self.pruned_at = math.inf

    def offer(self, plan: np.ndarray) -> None:
        """Keep ``plan`` if it is feasible and better than the incumbent."""
        value = float(self.cost @ plan)
        if value < self.value and self.model.is_feasible(plan):
            self.plan, self.value = plan, value

    def cutoff(self) -> float:
        """Nodes whose bound reaches this cannot hold a better plan (within the gap)."""
        if not math.isfinite(self.value):
            return math.inf
        margin = self.mip_gap * abs(self.value + self.sign * self.model.offset)
        if self.model.integral_objective:
            margin = max(margin, 1.0 - 1e-6)
        return self.value - max(margin, 1e-9 * max(1.0, abs(self.value)))

    def prune(self, at: float) -> None:
        """A node was pruned at cutoff ``at``."""
        self.pruned_at = min(self.pruned_at, at)

    def result(self, ended: str, open_bound: float, nodes: int) -> SearchResult:
        """The search's result, its bound the smallest of the open nodes', the pruned ones'
        and the incumbent's."""
        model = self.model
        lowest = min(open_bound, self.pruned_at, self.value)
        if model.integral_objective and math.isfinite(lowest):
            lowest = math.ceil(lowest - 1e-9)  # plans are integral: at least the next integer
        bound = self.sign * lowest + model.offset
        completed = ended == "done"
        if self.plan is None:
            mip = MipResult(x=None, status="infeasible" if completed else "no_solution",
                            objective=math.nan, bound=bound, nodes=nodes)
        else:
            mip = MipResult(x=self.plan, status="optimal" if completed else "time_limit",
                            objective=float(model.c @ self.plan + model.offset), bound=bound,
                            nodes=nodes)
        return SearchResult(mip, nodes, ended)


def _run(model: MipModel, search: _Search, sign: float, cost: np.ndarray, ints: np.ndarray,
         start, time_limit_s, mip_gap, node_limit: int) -> SearchResult:
    """Depth-first search from the root, up child first (see the module's notes)."""
    deadline = None if time_limit_s is None else time.perf_counter() + float(time_limit_s)
    pseudo = _Pseudocosts(ints.size)
    incumbent = _Incumbent(model, cost, sign, mip_gap)
    if start is not None:
        v = np.asarray(start, dtype=float).copy()
        v[ints] = np.round(v[ints])
        incumbent.offer(v)
    lo0, hi0 = model.col_lo[ints].copy(), model.col_hi[ints].copy()
    stack = [_Node(lo0, hi0, -math.inf, search.up.solve(lo0, hi0, None, incumbent.cutoff()))]
    nodes = 1
    while stack:
        out_of_time = deadline is not None and time.perf_counter() > deadline
        if nodes >= node_limit or out_of_time:
            return incumbent.result("time_limit" if out_of_time else "node_limit",
                                    min(node.lower_bound() for node in stack), nodes)
        node = stack.pop()
        lp, at = node.lp, incumbent.cutoff()
        if lp.status == "failed":
            return incumbent.result("lp_failed", min(n.lower_bound() for n in stack + [node]),
                                    nodes)
        if node.branched >= 0:
            pseudo.record(node.branched, node.up, lp.value - node.bound, node.change)
        if lp.status == "pruned" or lp.value >= at:
            incumbent.prune(at)
            continue
        lo, hi = node.lo.copy(), node.hi.copy()
        x = lp.x[ints]
        _fix_by_reduced_cost(x, lp.reduced[ints], lo, hi, at - lp.value)
        frac = x - np.floor(x)
        fractional = np.flatnonzero((frac > INTEGRALITY_TOL) & (frac < 1.0 - INTEGRALITY_TOL))
        if fractional.size == 0:
            plan = lp.x.copy()
            plan[ints] = np.round(x)
            incumbent.offer(plan)
            continue
        j = pseudo.best(fractional, frac[fractional])
        (d_lo, d_hi, d_lp), (u_lo, u_hi, u_lp) = search.children(lo, hi, j, x[j], lp.basis, at)
        nodes += 2
        stack.append(_Node(d_lo, d_hi, lp.value, d_lp, j, False, frac[j]))
        stack.append(_Node(u_lo, u_hi, lp.value, u_lp, j, True, 1.0 - frac[j]))
    return incumbent.result("done", math.inf, nodes)


def _fix_by_reduced_cost(x, reduced, lo, hi, gap: float) -> None:
    """Fix (in ``lo`` / ``hi``) the binary variables that sit at a bound with a reduced cost
    larger than ``gap``: moving them would lift the LP bound past the cutoff."""
    at_lo = (x <= lo + INTEGRALITY_TOL) & (reduced > gap)
    at_hi = (x >= hi - INTEGRALITY_TOL) & (-reduced > gap)
    hi[at_lo] = lo[at_lo]
    lo[at_hi] = hi[at_hi]

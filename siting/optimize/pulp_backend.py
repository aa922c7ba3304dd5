"""Solve a :class:`~siting.optimize.model.MipModel` with CBC through PuLP.

Slower to build than the HiGHS backend (PuLP expressions are Python objects), kept as the
second solver and as a cross-check. CBC through PuLP reports no dual bound, so when CBC stops
on its time limit the bound is the LP relaxation (solved by SciPy's bundled HiGHS LP solver).

References
----------
Forrest, J., Lougee-Heimer, R. (2005). CBC user guide. INFORMS Tutorials in OR.
Mitchell, S., O'Sullivan, M., Dunning, I. (2011). PuLP: a linear programming toolkit for Python.
"""

from __future__ import annotations

import logging
import math
import shutil

import numpy as np
import scipy.optimize

from siting.errors import SolverError
from siting.optimize.model import MipModel, MipResult

log = logging.getLogger(__name__)

NAME = "cbc"


def _cbc_path() -> str | None:
    """A CBC executable: one on PATH, else the binary bundled with PuLP.

    ``COIN_CMD`` is used with an explicit path because PuLP 3.3 deprecates ``PULP_CBC_CMD``.
    """
    try:
        import pulp
        from pulp.apis import coin_api
    except ImportError:
        return None
    for path in (shutil.which("cbc"), getattr(coin_api, "pulp_cbc_path", None)):
        if path and pulp.COIN_CMD(msg=False, path=path).available():
            return path
    return None


def available() -> bool:
    return _cbc_path() is not None


def lp_bound(model: MipModel) -> float:
    """Bound from the LP relaxation (valid for the MIP)."""
    sign = 1.0 if model.sense == "min" else -1.0
    A = model.A.tocsr()
    finite_hi = np.isfinite(model.row_hi)
    finite_lo = np.isfinite(model.row_lo)
    import scipy.sparse as sp
    A_ub = sp.vstack([A[finite_hi], -A[finite_lo]]).tocsr()
    b_ub = np.concatenate([model.row_hi[finite_hi], -model.row_lo[finite_lo]])
    res = scipy.optimize.linprog(sign * model.c, A_ub=A_ub if A_ub.shape[0] else None,
                                 b_ub=b_ub if A_ub.shape[0] else None,
                                 bounds=np.column_stack([model.col_lo, model.col_hi]), method="highs")
    if res.status != 0:
        return -math.inf * sign
    return sign * float(res.fun) + model.offset


def solve_mip(model: MipModel, *, time_limit_s: float | None = None, mip_gap: float = 0.0,
              seed: int = 0, start: np.ndarray | None = None,
              node_limit: int | None = None) -> MipResult:
    """Solve ``model`` with CBC; raise :class:`SolverError` if CBC is missing or fails.

    ``seed`` is accepted for symmetry; CBC is deterministic with its default seed.
    ``node_limit``: CBC's ``maxNodes`` (None: no limit). CBC's node count does not come back
    through PuLP: the result's ``nodes`` is 0.
    """
    try:
        import pulp
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SolverError("PuLP is not installed (pip install pulp)") from exc
    prob = pulp.LpProblem("siting", pulp.LpMaximize if model.sense == "max" else pulp.LpMinimize)
    v = []
    # PuLP >= 3.3 wants variables created through the problem (LpVariable(...) is deprecated)
    new_var = prob.add_variable if hasattr(prob, "add_variable") else pulp.LpVariable
    for j in range(model.n_vars):
        # not LpBinary, even for a 0-1 column: PuLP resets a binary's bounds to 0..1, which
        # freed a column fixed by them (an existing site's option in the backhaul model)
        cat = pulp.LpInteger if model.integer[j] else pulp.LpContinuous
        v.append(new_var(f"v{j}", lowBound=float(model.col_lo[j]),
                         upBound=float(model.col_hi[j]), cat=cat))
    nz = np.flatnonzero(model.c)
    prob += pulp.LpAffineExpression([(v[j], float(model.c[j])) for j in nz]) + float(model.offset)
    A = model.A.tocsr()
    for r in range(A.shape[0]):
        s, e = A.indptr[r], A.indptr[r + 1]
        expr = pulp.LpAffineExpression([(v[j], float(a)) for j, a in zip(A.indices[s:e], A.data[s:e])])
        lo, hi = model.row_lo[r], model.row_hi[r]
        if np.isfinite(lo) and np.isfinite(hi) and lo == hi:
            prob += expr == float(lo), f"r{r}"
            continue
        if np.isfinite(lo):
            prob += expr >= float(lo), f"r{r}lo"
        if np.isfinite(hi):
            prob += expr <= float(hi), f"r{r}hi"
    if start is not None:
        for var, val in zip(v, start):
            var.setInitialValue(float(val))
    path = _cbc_path()
    if path is None:
        raise SolverError("no CBC executable found (pip install pulp, or put cbc on PATH)")
    cmd = pulp.COIN_CMD(path=path, msg=False, timeLimit=None if time_limit_s is None else max(time_limit_s, 1),
                            gapRel=float(mip_gap), warmStart=start is not None, threads=1,
                            options=[] if node_limit is None else [f"maxNodes {int(node_limit)}"])
    try:
        prob.solve(cmd)
    except pulp.PulpSolverError as exc:
        raise SolverError(f"CBC failed: {exc}") from exc
    sol_status = prob.sol_status
    if sol_status == pulp.LpSolutionInfeasible or prob.status == pulp.LpStatusInfeasible:
        return MipResult(x=None, status="infeasible", objective=math.nan, bound=math.nan)
    if sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        x = np.array([var.value() if var.value() is not None else 0.0 for var in v], dtype=float)
        obj = float(model.c @ x + model.offset)
        if sol_status == pulp.LpSolutionOptimal and mip_gap == 0.0:
            return MipResult(x=x, status="optimal", objective=obj, bound=obj)
        bound = lp_bound(model)
        status = "optimal" if sol_status == pulp.LpSolutionOptimal else "time_limit"
        return MipResult(x=x, status=status, objective=obj, bound=bound)
    if sol_status == pulp.LpSolutionNoSolutionFound:
        return MipResult(x=None, status="no_solution", objective=math.nan, bound=lp_bound(model))
    raise SolverError(f"CBC ended with status {pulp.LpStatus.get(prob.status, prob.status)}")

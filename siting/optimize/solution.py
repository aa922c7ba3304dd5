"""The frozen result object every solver in :mod:`siting.optimize` returns.

Status values, best first:

- ``"optimal"``: the plan is proven optimal (within the requested ``mip_gap``, which is 0 by
  default; a positive gap that is actually left open is reported as ``"feasible"``);
- ``"feasible"``: a valid plan without an optimality proof (a heuristic answered, or the
  solver stopped on a gap tolerance with the gap still open);
- ``"time_limit"``: the time limit stopped the search; the plan is the best incumbent and
  ``bound`` / ``gap`` say how far from optimal it can be;
- ``"infeasible"``: kept for completeness of the vocabulary; the solve functions raise
  :class:`siting.errors.InfeasibleError` instead of returning an infeasible plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

STATUS_ORDER = ("optimal", "feasible", "time_limit", "infeasible")


@dataclass(frozen=True)
class Solution:
    """A solved coverage model.

    Attributes
    ----------
    selected : numpy.ndarray
        Sorted int64 indices of the selected options (fixed options included).
    objective : float
        Objective value of ``selected``: total cost for ``min_cost`` models, covered weight
        for ``max_coverage`` models (first-stage objective when a tie-break stage ran).
    bound : float
        Proven bound on the optimum: a lower bound when minimising, an upper bound when
        maximising.
    gap : float
        Relative gap ``|objective - bound| / max(|objective|, 1e-9)`` (0 when closed).
    status : str
        ``"optimal" | "feasible" | "time_limit" | "infeasible"``.
    solver : str
        Which method produced the plan (``"highs"``, ``"cbc"``, ``"branch_and_bound"``
        (siting's own, on HiGHS's simplex), ``"greedy"``, ``"lagrangian"``, or several
        joined by ``"+"`` when components or stages differ).
    solve_time_s : float
        Wall time of the whole call [s].
    notes : tuple of str
        Things the caller should know (solver fallback, heuristic used, presolve figures).
    """

    selected: np.ndarray
    objective: float
    bound: float
    gap: float
    status: str
    solver: str = "highs"
    solve_time_s: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        sel = np.unique(np.asarray(self.selected, dtype=np.int64))
        sel.setflags(write=False)
        object.__setattr__(self, "selected", sel)
        if self.status not in STATUS_ORDER:
            raise ValueError(f"status must be one of {STATUS_ORDER}, got {self.status!r}")


def relative_gap(objective: float, bound: float) -> float:
    """Relative gap between an incumbent objective and a bound, >= 0."""
    diff = abs(float(objective) - float(bound))
    if not math.isfinite(diff):
        return math.inf
    if diff <= 1e-9 * max(1.0, abs(float(objective))):
        return 0.0
    return diff / max(abs(float(objective)), 1e-9)


def worst_status(statuses) -> str:
    """The worst of several statuses (``optimal`` < ``feasible`` < ``time_limit`` < ``infeasible``)."""
    statuses = list(statuses)
    if not statuses:
        return "optimal"
    return max(statuses, key=STATUS_ORDER.index)

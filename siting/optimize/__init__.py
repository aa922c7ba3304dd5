"""Generic set covering / maximal covering solvers (the ``optimize`` box of the design).

Public API::

    solve_set_cover(coverage, cost, *, time_limit_s=None, mip_gap=0.0, solver="highs")
    solve_max_coverage(coverage, weight, cost, *, budget=None, max_options=None,
                       time_limit_s=None, mip_gap=0.0, solver="highs")
    solve_coverage_model(coverage, cost, *, objective="min_cost", ...)   # the general model
    CoverCount(rows, count)            # at least `count` of `rows` covered, any of them
    Solution                                                             # frozen result

Modules: :mod:`.model` (the ILP as arrays), :mod:`.inputs` (input checks and fixed options,
shared by :mod:`.core` and :mod:`.phased`), :mod:`.highs_backend`, :mod:`.pulp_backend`,
:mod:`.highs_process` (HiGHS in a child process, stopped if it overruns its time limit),
:mod:`.presolve`, :mod:`.heuristics`, :mod:`.branch_bound` (LP-based branch and bound for
small covering models), :mod:`.phased` (multi-year plans), :mod:`.core` (orchestration),
:mod:`.orlib` (OR-Library reader and instance generator).

Sites planned with their backhaul: :mod:`.backhaul` (the entry point and its result), built
from :mod:`.feed_network` (site and link inputs, hop levels, relay chains),
:mod:`.feed_model` (the feed variables and rows), :mod:`.joint_model` (the coverage model
with them), :mod:`.joint_solve` (its warm start and stages) and :mod:`.kernel_search` (the
first stage of models too large for HiGHS's MIP); :mod:`.phased_backhaul` (multi-year plans
with backhaul, warm-started by :mod:`.feed_greedy`).

References
----------
Toregas, C., Swain, R., ReVelle, C., Bergman, L. (1971). The location of emergency service
facilities. Operations Research 19(6), 1363-1373.
Church, R., ReVelle, C. (1974). The maximal covering location problem. Papers of the Regional
Science Association 32, 101-118.
Chvátal, V. (1979). A greedy heuristic for the set-covering problem. Mathematics of
Operations Research 4(3), 233-235.
Beasley, J.E. (1990). A Lagrangian heuristic for set-covering problems. Naval Research
Logistics 37(1), 151-164.
"""

from siting.optimize.core import (
    solve_coverage_model,
    solve_max_coverage,
    solve_set_cover,
)
from siting.optimize.model import CoverCount
from siting.optimize.solution import Solution

__all__ = ["CoverCount", "Solution", "solve_coverage_model", "solve_max_coverage",
           "solve_set_cover"]

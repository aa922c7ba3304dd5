"""Input checks shared by the coverage solvers, and what fixed options settle beforehand.

:func:`siting.optimize.solve_coverage_model` and
:func:`siting.optimize.phased.solve_phased_coverage` take the same coverage matrix,
per-option arrays and solver settings. Both check them here, so the two accept and reject the
same values with the same messages (:class:`~siting.errors.InputError`).

Fixed options (existing sites) are on air in every plan, so neither model carries them as
variables: :func:`take_out_fixed` says how many fixed options cover each row and which groups
they take, and :meth:`FixedOptions.choosable` which options remain to choose from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from siting.errors import InfeasibleError, InputError
from siting.optimize.model import CoverCount, coverage_count

#: The MIP solvers, in the order they are tried after the preferred one.
SOLVERS = ("highs", "cbc")


def check_solver_settings(solver: str, time_limit_s, mip_gap) -> None:
    """Raise :class:`InputError` unless ``solver`` is one of ``SOLVERS``, ``time_limit_s``
    is None or > 0 [s] and ``mip_gap`` is in [0, 1) [-]."""
    if solver not in SOLVERS:
        raise InputError(f"solver must be one of {SOLVERS}, got {solver!r}")
    if time_limit_s is not None and not (time_limit_s > 0):
        raise InputError(f"time_limit_s must be > 0, got {time_limit_s!r}")
    if not (0.0 <= float(mip_gap) < 1.0):
        raise InputError(f"mip_gap must be in [0, 1), got {mip_gap!r}")


def coverage_matrix(coverage) -> sp.csr_matrix:
    """``coverage`` as a CSR 0/1 int8 matrix with sorted indices, no duplicates or zeros."""
    try:
        A = sp.csr_matrix(coverage)
    except Exception as exc:  # noqa: BLE001 - anything scipy cannot read is an input error
        raise InputError(f"coverage must be a 2-D sparse matrix or array: {exc}") from exc
    if A.ndim != 2:
        raise InputError("coverage must be 2-D (n_demand x n_options)")
    A.sum_duplicates()
    B = sp.csr_matrix(((A.data != 0).astype(np.int8), A.indices.copy(), A.indptr.copy()),
                      shape=A.shape)
    B.eliminate_zeros()
    B.sum_duplicates()
    B.sort_indices()
    return B


def as_float(values, n: int, name: str) -> np.ndarray:
    """``values`` as ``n`` finite floats >= 0."""
    arr = np.asarray(values, dtype=float)
    if arr.shape != (n,):
        raise InputError(f"{name} must have length {n}, got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise InputError(f"{name} must be finite (first bad index {int(bad[0])})")
    negative = np.flatnonzero(arr < 0)
    if negative.size:
        raise InputError(f"{name} must be >= 0 (first negative index {int(negative[0])})")
    return arr


def as_bool(values, n: int, name: str, default: bool) -> np.ndarray:
    """``values`` as ``n`` booleans; ``default`` for each when ``values`` is None."""
    if values is None:
        return np.full(n, default, dtype=bool)
    arr = np.asarray(values)
    if arr.shape != (n,):
        raise InputError(f"{name} must have length {n}, got shape {arr.shape}")
    return arr.astype(bool)


def as_need(values, n: int, default: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """``must_cover`` as (must rows, options each needs or None when every need is 1)."""
    if values is None or np.asarray(values).dtype == bool:
        return as_bool(values, n, "must_cover", default), None
    arr = np.asarray(values)
    if arr.shape != (n,) or not np.issubdtype(arr.dtype, np.integer) or np.any(arr < 0):
        raise InputError(f"must_cover must be {n} booleans or {n} integers >= 0 (options "
                         f"each row needs)")
    need = arr.astype(np.int64)
    return need > 0, (need if np.any(need > 1) else None)


def as_cover_count(value, n: int, periods: int | None = None) -> CoverCount | None:
    """``cover_count`` checked: None, or a :class:`~siting.optimize.model.CoverCount` of
    ``n`` booleans, a count >= 0 and a period: None or, in a plan of ``periods`` periods
    (None: a single-period plan), a period index."""
    if value is None:
        return None
    if not isinstance(value, CoverCount):
        raise InputError(f"cover_count must be a CoverCount, got {type(value).__name__}")
    rows = as_bool(value.rows, n, "cover_count.rows", default=False)
    period = value.period
    if period is not None and (periods is None or not 0 <= period < periods):
        allowed = "None" if periods is None else f"None or a period index 0..{periods - 1}"
        raise InputError(f"cover_count.period must be {allowed}, got {period!r}")
    return CoverCount(rows=rows, count=as_quota(value.count, "cover_count.count"), period=period)


def check_count_reachable(cover_count: CoverCount | None, reach: np.ndarray) -> None:
    """:class:`InfeasibleError` when fewer rows of ``cover_count`` than its count can be
    covered (``reach``: bool per row, some option that may be chosen covers it)."""
    if cover_count is None:
        return
    reachable = int(np.count_nonzero(cover_count.rows & reach))
    if reachable < cover_count.count:
        raise InfeasibleError(f"cover_count asks for {cover_count.count} of its rows covered, "
                              f"but options reach only {reachable} of them")


def as_groups(values, n: int) -> np.ndarray:
    """Group id per option as ``n`` int64, -1 (no group) for None or any negative id."""
    if values is None:
        return -np.ones(n, np.int64)
    arr = np.asarray(values)
    if arr.shape != (n,) or not np.issubdtype(arr.dtype, np.integer):
        raise InputError(f"groups must be {n} integers (-1 for none)")
    return np.where(arr < 0, -1, arr).astype(np.int64)


def as_budget(value, name: str = "budget") -> float | None:
    """A cost limit: None (no limit) or a finite float >= 0."""
    if value is None:
        return None
    try:
        limit = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(limit) or limit < 0:
        raise InputError(f"{name} must be finite and >= 0, got {limit!r}")
    return limit


def as_quota(value, name: str = "max_options") -> int | None:
    """A limit on the number of options: None (no limit) or an integer >= 0."""
    if value is None:
        return None
    try:
        whole = float(value) >= 0 and int(value) == value
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole:
        raise InputError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def first_indices(idx: np.ndarray, k: int = 10) -> str:
    """The first ``k`` indices for an error message, with the count when there are more."""
    head = ", ".join(str(int(i)) for i in idx[:k])
    return head + (f", ... ({idx.size} in all)" if idx.size > k else "")


@dataclass(frozen=True)
class OptionInputs:
    """The checked coverage matrix (rows = demand, columns = options) and option arrays."""

    A: sp.csr_matrix
    cost: np.ndarray
    counted: np.ndarray  # counts against the quota
    fixed: np.ndarray  # forced into the plan
    groups: np.ndarray  # at most one option per group; -1: no group

    @property
    def n_rows(self) -> int:
        return self.A.shape[0]


def validate_options(coverage, cost, *, counted=None, fixed=None, groups=None) -> OptionInputs:
    """Check the coverage matrix and the per-option arrays (see
    :func:`siting.optimize.solve_coverage_model` for their meaning and defaults)."""
    A = coverage_matrix(coverage)
    n = A.shape[1]
    return OptionInputs(A=A, cost=as_float(cost, n, "cost"),
                        counted=as_bool(counted, n, "counted", default=True),
                        fixed=as_bool(fixed, n, "fixed", default=False),
                        groups=as_groups(groups, n))


@dataclass(frozen=True)
class FixedOptions:
    """The fixed options and what they settle before a model is built."""

    index: np.ndarray  # the fixed options, ascending
    covers: np.ndarray  # fixed options covering each row
    groups: np.ndarray  # the group ids (>= 0) they take, one entry per grouped fixed option

    @property
    def covered(self) -> np.ndarray:
        """Bool per row: a fixed option covers it."""
        return self.covers > 0

    def need_left(self, need: np.ndarray) -> np.ndarray:
        """Options each row still needs on top of the fixed ones covering it."""
        return np.maximum(need - self.covers, 0)

    def count_left(self, cover_count: CoverCount | None) -> CoverCount | None:
        """``cover_count`` over the rows no fixed option covers, less those they do; None
        when the fixed options meet it (or there is none)."""
        if cover_count is None:
            return None
        met = int(np.count_nonzero(cover_count.rows & self.covered))
        if cover_count.count <= met:
            return None
        return replace(cover_count, rows=cover_count.rows & ~self.covered,
                       count=cover_count.count - met)

    def choosable(self, options: OptionInputs, cost_cap: float) -> np.ndarray:
        """Bool per option: not fixed, in no group a fixed option takes, and costing at
        most ``cost_cap`` (``math.inf``: any cost)."""
        return ~options.fixed & ~np.isin(options.groups, self.groups) & (options.cost <= cost_cap)


def take_out_fixed(options: OptionInputs) -> FixedOptions:
    """The rows the fixed options of ``options`` cover and the groups they take."""
    index = np.flatnonzero(options.fixed)
    groups = options.groups[index]
    return FixedOptions(index=index, covers=coverage_count(options.A, index),
                        groups=groups[groups >= 0])

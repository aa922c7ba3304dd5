"""OR-Library set covering instances (Beasley 1990): reader and generator.

File format of ``scp*.txt``: the number of rows m and columns n; the cost of each of the n
columns; then for each row the number of columns covering it followed by those (1-based)
column numbers. Numbers are whitespace separated and may wrap lines freely.

References
----------
Beasley, J.E. (1990). OR-Library: distributing test problems by electronic mail. Journal of
the Operational Research Society 41(11), 1069-1072.
Beasley, J.E. (1987). An algorithm for set covering problem. European Journal of Operational
Research 31(1), 85-93. (instance generation: sets 4-6, A-D)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from siting.errors import InputError


def read_orlib_scp(path) -> tuple[sp.csr_matrix, np.ndarray]:
    """Read an OR-Library ``scp`` file.

    Returns
    -------
    coverage : scipy.sparse.csr_matrix, int8, shape (m, n)
    cost : numpy.ndarray, float, shape (n,)
    """
    path = Path(path)
    try:
        tokens = np.array(path.read_text().split(), dtype=np.int64)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read an OR-Library set covering file: {exc}") from exc
    if tokens.size < 2:
        raise InputError(f"{path}: empty file")
    m, n = int(tokens[0]), int(tokens[1])
    pos = 2
    cost = tokens[pos:pos + n].astype(float)
    if cost.size != n:
        raise InputError(f"{path}: expected {n} column costs, found {cost.size}")
    pos += n
    indptr = np.zeros(m + 1, np.int64)
    chunks = []
    for i in range(m):
        if pos >= tokens.size:
            raise InputError(f"{path}: file ends at row {i + 1} of {m}")
        k = int(tokens[pos])
        cols = tokens[pos + 1:pos + 1 + k]
        if cols.size != k:
            raise InputError(f"{path}: row {i + 1} lists {cols.size} of {k} columns")
        if k and (cols.min() < 1 or cols.max() > n):
            raise InputError(f"{path}: row {i + 1} has a column number outside 1..{n}")
        chunks.append(cols - 1)
        indptr[i + 1] = indptr[i] + k
        pos += 1 + k
    if pos != tokens.size:
        raise InputError(f"{path}: {tokens.size - pos} trailing numbers after row {m}")
    indices = np.concatenate(chunks) if chunks else np.zeros(0, np.int64)
    A = sp.csr_matrix((np.ones(indices.size, np.int8), indices, indptr), shape=(m, n))
    A.sum_duplicates()
    A.data[:] = 1
    A.sort_indices()
    return A, cost


def generate_beasley_instance(m: int, n: int, density: float, seed: int
                              ) -> tuple[sp.csr_matrix, np.ndarray]:
    """A random set covering instance generated the Beasley (1987) way.

    Every row is covered by at least two columns, every column covers at least one row, the
    expected share of nonzeros is ``density`` and costs are uniform integers in 1..100.

    Parameters
    ----------
    m, n : int
        Rows and columns (n >= 2).
    density : float
        Share of nonzero entries, in (0, 1].
    seed : int
    """
    if n < 2 or m < 1 or not (0 < density <= 1):
        raise InputError("need m >= 1, n >= 2 and 0 < density <= 1")
    rng = np.random.default_rng(seed)
    A = np.zeros((m, n), dtype=bool)
    for i in range(m):  # two distinct columns per row
        A[i, rng.choice(n, size=2, replace=False)] = True
    empty = np.flatnonzero(~A.any(axis=0))
    A[rng.integers(0, m, size=empty.size), empty] = True
    target = int(round(density * m * n))
    missing = target - int(A.sum())
    if missing > 0:
        free = np.flatnonzero(~A.ravel())
        A.ravel()[rng.choice(free, size=min(missing, free.size), replace=False)] = True
    cost = rng.integers(1, 101, size=n).astype(float)
    return sp.csr_matrix(A.astype(np.int8)), cost


def read_orlib_rail(path) -> tuple[sp.csr_matrix, np.ndarray]:
    """Read an OR-Library ``rail*`` file (column-wise format).

    Format: m and n; then for each column its cost, the number of rows it covers and those
    (1-based) row numbers.
    """
    path = Path(path)
    try:
        tokens = np.array(path.read_text().split(), dtype=np.int64)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read an OR-Library rail file: {exc}") from exc
    m, n = int(tokens[0]), int(tokens[1])
    pos = 2
    cost = np.empty(n)
    indptr = np.zeros(n + 1, np.int64)
    chunks = []
    for j in range(n):
        if pos + 1 >= tokens.size:
            raise InputError(f"{path}: file ends at column {j + 1} of {n}")
        cost[j], k = tokens[pos], int(tokens[pos + 1])
        rows = tokens[pos + 2:pos + 2 + k]
        if rows.size != k or (k and (rows.min() < 1 or rows.max() > m)):
            raise InputError(f"{path}: column {j + 1} lists bad row numbers")
        chunks.append(rows - 1)
        indptr[j + 1] = indptr[j] + k
        pos += 2 + k
    indices = np.concatenate(chunks) if chunks else np.zeros(0, np.int64)
    A = sp.csc_matrix((np.ones(indices.size, np.int8), indices, indptr), shape=(m, n)).tocsr()
    A.sum_duplicates()
    A.data[:] = 1
    A.sort_indices()
    return A, cost

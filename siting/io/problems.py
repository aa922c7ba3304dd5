"""Problems found while reading inputs, gathered and raised as one InputError (one line each)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from siting.errors import InputError


def first_line(exc: BaseException, limit: int = 160) -> str:
    """A short reason for a GDAL/IO failure: the first line of the most specific message."""
    seen = 0
    while (str(exc).startswith("Read failed. See previous exception") and seen < 5
           and (exc.__cause__ or exc.__context__) is not None):
        exc = exc.__cause__ or exc.__context__
        seen += 1
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


class Problems:
    """Problems found while reading; raised together as one InputError, one line each."""

    def __init__(self):
        self.items: list[str] = []

    def add(self, message: str) -> None:
        for line in str(message).splitlines():
            if line not in self.items:
                self.items.append(line)

    def attempt(self, func, *args, **kwargs):
        """Call ``func``; on InputError record its lines and return None."""
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            self.add(str(exc))
            return None

    def raise_if_any(self) -> None:
        if self.items:
            raise InputError("\n".join(self.items))


def id_list(labels: pd.Index, mask) -> str:
    chosen = [str(v) for v in labels[np.asarray(mask, dtype=bool)]]
    more = f" and {len(chosen) - 5} more" if len(chosen) > 5 else ""
    return ", ".join(chosen[:5]) + more


def require_file(path: Path, key: str, *, what: str = "file", kind: str = "file") -> None:
    """Refuse a ``path`` (named by the scenario's ``key``, or by a command's argument: an
    option ``--built`` or an upper-case argument ``MEASUREMENTS``) that is missing or a folder."""
    if not path.exists():
        given = (f"the command's {key}" if key.startswith("--") or key.isupper()
                 else f"{key} in the scenario")
        raise InputError(f"{path}: {what} not found; check {given}")
    if path.is_dir():
        raise InputError(f"{path}: {key} is a folder, not a {kind}; name the {kind} itself")

"""One exception family for the whole package.

Every error a user can cause derives from :class:`SitingError`; each subclass also inherits
the matching builtin (as rasterio does), so callers can catch either. The CLI maps
:class:`InputError`, :class:`ScenarioError` and :class:`InfeasibleError` to exit code 2,
:class:`OutputError` and :class:`TimeLimitError` to exit code 1 with their one-line message,
and everything else to exit code 1 as an internal error.
"""

from __future__ import annotations


class SitingError(Exception):
    """Root of every error raised by siting."""


class InputError(SitingError, ValueError):
    """An input file or value is missing, unreadable or invalid.

    The message names the file, the record and the field, and says what to do.
    """


class ScenarioError(SitingError, ValueError):
    """The scenario file is malformed or inconsistent."""


class InfeasibleError(SitingError, ValueError):
    """The optimisation problem has no feasible solution."""


class SolverError(SitingError, RuntimeError):
    """The MIP solver failed or is unavailable."""


class TimeLimitError(SolverError):
    """The solver's time limit ran out before it found any plan: not a bug, but a limit too
    short for the model on this machine (the CLI says which setting to raise)."""


class OutputError(SitingError, OSError):
    """The outputs cannot be written: a full disk, a read-only or unwritable output folder.

    Not a bug of siting and not a bad input, but the user's to fix, so the message says what
    happened in their terms: the path, what was being written, and on a full disk the free
    space and about how much is needed. The previous outputs are left as they were.

    Attributes ``path`` (the file or folder), ``writing`` (what was being written),
    ``free_bytes`` and ``needed_bytes`` (None when not known) let callers act on it.
    """

    def __init__(self, message: str, *, path, writing: str, free_bytes: int | None = None,
                 needed_bytes: int | None = None):
        super().__init__(message)
        self.path = path
        self.writing = writing
        self.free_bytes = free_bytes
        self.needed_bytes = needed_bytes

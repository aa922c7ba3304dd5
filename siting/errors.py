"""One exception family for the whole package.

Every error a user can cause derives from :class:`SitingError`; each subclass also inherits
the matching builtin (as rasterio does), so callers can catch either. The CLI maps
:class:`InputError`, :class:`ScenarioError` and :class:`InfeasibleError` to exit code 2 and
everything else to exit code 1.
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

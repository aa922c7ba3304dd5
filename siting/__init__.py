"""siting: base-station siting planner (terrain-aware 4G/5G coverage + optimal site selection).

For notebooks, everything the command line does is one import away::

    import siting
    scenario = siting.load_scenario("scenario.yaml")
    study = siting.prepare(scenario)          # inputs, demand and coverage, computed once
    plan = study.plan(budget_cny=30e6)        # a plan (siting.PlanResult)
    plan.kpis, plan.sites, plan.map(), plan.plot(), plan.write("out/dir")
    siting.plot_curve(study.sweep(budgets_cny=[10e6, 20e6, 30e6]))

The names below, and the modules (``siting.propagation``, ``siting.cache``, ...), are loaded
on first use, so ``import siting`` stays quick and a module can be imported alone.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING

from siting.sourcecode import discard_stale_kernel_caches

__version__ = "0.1.0"

#: The top-level names and the module each comes from.
_EXPORTS = {
    "Scenario": "siting.config",
    "load_scenario": "siting.config",
    "prepare": "siting.study",
    "Study": "siting.study",
    "PlanResult": "siting.study",
    "Kpis": "siting.study",
    "plot_curve": "siting.sweep",
    "DEMO_SCENARIO": "siting.pipeline",
    "SitingError": "siting.errors",
    "InputError": "siting.errors",
    "ScenarioError": "siting.errors",
    "InfeasibleError": "siting.errors",
    "SolverError": "siting.errors",
    "OutputError": "siting.errors",
}

__all__ = [  # the names of _EXPORTS, written out for static tools
    "__version__", "Scenario", "load_scenario", "prepare", "Study", "PlanResult", "Kpis",
    "plot_curve", "DEMO_SCENARIO", "SitingError", "InputError", "ScenarioError",
    "InfeasibleError", "SolverError", "OutputError",
]

# numba caches a kernel by its own file only; drop caches compiled from other source first
discard_stale_kernel_caches()

if TYPE_CHECKING:  # what static tools see; at run time __getattr__ loads them
    from siting.config import Scenario, load_scenario
    from siting.errors import (InfeasibleError, InputError, OutputError, ScenarioError, SitingError,
                               SolverError)
    from siting.pipeline import DEMO_SCENARIO
    from siting.study import Kpis, PlanResult, Study, prepare
    from siting.sweep import plot_curve


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        value = importlib.import_module(f"{__name__}.{name}")  # a module: siting.cache
    else:
        raise AttributeError(f"module 'siting' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})

"""Scenario study: the cost-coverage curve over a series of budgets or site quotas.

Coverage is computed once; each point of the curve is one optimal plan
(:func:`siting.plan.plan_network`) with the budget or quota replaced. The curve shows what
each extra yuan buys, the planning committee's first question. The figure reads in the
scenario's ``report.language`` (:mod:`siting.export.i18n`); the CSV's columns stay English.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from siting.config import Scenario  # noqa: E402
from siting.errors import ScenarioError  # noqa: E402
from siting.export.i18n import check_language, term  # noqa: E402
from siting.export.staticmap import text_fonts  # noqa: E402
from siting.pipeline import Progress, prepare  # noqa: E402
from siting.plan import kpis_of, option_costs, plan_network  # noqa: E402


def sweep(scenario: Scenario, *, budgets_cny=None, max_new_sites=None,
          progress: Progress | None = None, cache_dir: Path | None = None) -> pd.DataFrame:
    """Solve the scenario for each budget (or each quota of new sites); one row per plan.

    Exactly one of ``budgets_cny`` and ``max_new_sites`` is given; the scenario's objective
    type becomes ``max_coverage`` and its other limit is kept. Phases are dropped: each point
    is a single-period plan (the curve answers "what does the whole plan buy"). The frame's
    ``attrs["language"]`` is the scenario's ``report.language``, which :func:`write_curve`
    draws the figure in.
    """
    if (budgets_cny is None) == (max_new_sites is None):
        raise ScenarioError(f"{scenario.path}: sweep needs budgets or site counts (one of them)")
    values = list(budgets_cny if budgets_cny is not None else max_new_sites)
    if not values or any(v < 0 for v in values):
        raise ScenarioError(f"{scenario.path}: sweep values must be a non-empty list of numbers >= 0")
    field = "budget_cny" if budgets_cny is not None else "max_new_sites"
    region, demand, coverage = prepare(scenario, timings={}, progress=progress, cache_dir=cache_dir)
    costs = option_costs(coverage, region.candidates, scenario)
    cells = demand.kind == "cell"
    rows = []
    stage = f"solve {len(values)} plans over {field}"
    for done, value in enumerate(sorted(values)):
        if progress is not None:
            progress(stage, done, len(values))
        limit = int(value) if field == "max_new_sites" else float(value)
        objective = dataclasses.replace(scenario.objective, kind="max_coverage", phases=(),
                                        mandatory_by=None, **{field: limit})
        plan = plan_network(coverage, demand, costs, objective, scenario.solver)
        kpis = kpis_of("sweep", coverage, demand, costs, plan.selected)
        rows.append({field: value, "cost_cny": kpis.cost_cny, "new_options": kpis.new_options,
                     "people_covered": kpis.people_covered,
                     "people_covered_pct": 100 * kpis.people_covered / max(demand.people[cells].sum(), 1e-9),
                     "mandatory_covered": kpis.mandatory_covered,
                     "mandatory_total": int(demand.mandatory.sum()),
                     "status": plan.solution.status, "gap": plan.solution.gap})
    if progress is not None:
        progress(stage, len(values), len(values))
    curve = pd.DataFrame(rows)
    curve.attrs["language"] = scenario.outputs.language
    return curve


def curve_labels(x_field: str, name: str, language: str) -> dict[str, str]:
    """Title and axis labels of the cost-coverage figure of scenario ``name`` in ``language``,
    for a curve over ``x_field`` (``budget_cny`` or ``max_new_sites``)."""
    x_key = "sweep.budget_axis" if x_field == "budget_cny" else "sweep.quota_axis"
    return {"title": term("sweep.title", language, name=name), "x": term(x_key, language),
            "y": term("sweep.people_axis", language)}


def write_curve(curve: pd.DataFrame, out_dir: Path, title: str, *,
                language: str | None = None) -> tuple[Path, Path]:
    """``cost_coverage.csv`` and ``cost_coverage.png`` in ``out_dir``.

    ``title`` is the scenario's name; the figure is in ``language``, by default the one
    :func:`sweep` noted in ``curve.attrs`` (English when the curve carries none). The PNG
    carries its title as metadata (``Title``).
    """
    language = check_language(language or curve.attrs.get("language", "en"))
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, png_path = out_dir / "cost_coverage.csv", out_dir / "cost_coverage.png"
    curve.to_csv(csv_path, index=False, float_format="%.6g")
    x_field = "budget_cny" if "budget_cny" in curve else "max_new_sites"
    scale = 1e6 if x_field == "budget_cny" else 1.0
    labels = curve_labels(x_field, title, language)
    # Chinese words or a Chinese scenario name need a CJK font: set per figure (staticmap)
    with matplotlib.rc_context({"font.family": text_fonts(labels.values(), language)}):
        fig, ax = plt.subplots(figsize=(8, 5), dpi=150)
        ax.plot(curve[x_field] / scale, curve["people_covered_pct"], marker="o")
        for _, row in curve.iterrows():
            ax.annotate(f"{int(row.mandatory_covered)}/{int(row.mandatory_total)}",
                        (row[x_field] / scale, row.people_covered_pct), textcoords="offset points",
                        xytext=(0, 6), ha="center", fontsize=7)
        ax.set_xlabel(labels["x"])
        ax.set_ylabel(labels["y"])
        ax.set_title(labels["title"], parse_math=False)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(png_path, metadata={"Title": labels["title"]})
        plt.close(fig)
    return csv_path, png_path


def parse_numbers(text: str) -> list[float]:
    """``"10e6,20e6,30e6"`` or ``"10e6:50e6:10e6"`` (start:stop:step, stop included)."""
    try:
        if ":" in text:
            start, stop, step = (float(v) for v in text.split(":"))
            if step <= 0:
                raise ValueError
            return list(np.arange(start, stop + step / 2, step))
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ScenarioError(f"cannot read the list {text!r}; use 10e6,20e6 or start:stop:step") from None

"""Scenario study: the cost-coverage curve over a series of budgets or site quotas.

Coverage is computed once; each point of the curve is one optimal plan
(:func:`siting.plan.plan_network`) with the budget or quota replaced. The curve shows what
each extra yuan buys, the planning committee's first question. A point without a plan is
listed, with why, and left out of the figure; the curve needs one point with a plan. The
figure reads in the scenario's ``report.language`` (:mod:`siting.export.i18n`, money in 万元 in
Chinese); the CSV's columns stay English, its money in CNY.
Figures are made without pyplot (:func:`write_curve`) or, for a notebook, on a given Axes
(:func:`plot_curve`); matplotlib's backend is never switched.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from siting.backhaul import BackhaulNetwork
from siting.config import Scenario
from siting.coverage import CoverageMatrix
from siting.demand import Demand
from siting.diskfaults import write_files
from siting.errors import InfeasibleError, ScenarioError, TimeLimitError
from siting.export.cells import NO_VALUE_CELL
from siting.export.i18n import MONEY_UNIT_CNY, check_language, term
from siting.export.staticmap import text_fonts
from siting.pipeline import Progress, output_lock, prepare, prepare_backhaul, tell_step
from siting.plan import OptionCosts, counted_options, kpis_of, option_costs, plan_network

log = logging.getLogger(__name__)


def sweep(scenario: Scenario, *, budgets_cny=None, max_new_sites=None,
          progress: Progress | None = None, cache_dir: Path | None = None) -> pd.DataFrame:
    """Solve the scenario for each budget (or each quota of new sites); one row per plan.

    Reads the inputs and computes coverage (:func:`siting.pipeline.prepare`), then
    :func:`solve_curve`, which describes the series and the frame.
    """
    _series(scenario, budgets_cny, max_new_sites)  # a bad series fails before the heavy work
    region, demand, coverage = prepare(scenario, progress=progress, cache_dir=cache_dir)
    costs = option_costs(coverage, region.candidates, scenario)
    backhaul = prepare_backhaul(region, scenario, cache_dir=cache_dir, progress=progress)
    return solve_curve(scenario, demand, coverage, costs, budgets_cny=budgets_cny,
                       max_new_sites=max_new_sites, progress=progress, backhaul=backhaul)


def _series(scenario: Scenario, budgets_cny, max_new_sites) -> tuple[str, list]:
    """The swept objective key and its values; raises ScenarioError, naming the series and
    the first bad value, unless exactly one non-empty list of finite numbers >= 0 is given
    (whole numbers for quotas)."""
    if (budgets_cny is None) == (max_new_sites is None):
        raise ScenarioError(f"{scenario.path}: sweep: give exactly one of budgets_cny (a list of "
                            f"budgets [CNY]) and max_new_sites (a list of quotas of new sites)")
    name, given, whole = (("budgets_cny", budgets_cny, False) if budgets_cny is not None
                          else ("max_new_sites", max_new_sites, True))
    example = "[50, 100]" if whole else "[10e6, 20e6]"
    if isinstance(given, (str, bytes, dict)) or not np.iterable(given):
        raise ScenarioError(f"sweep: {name}: must be a list of values such as {example}, "
                            f"got {given!r}")
    values = list(given)
    if not values:
        raise ScenarioError(f"sweep: {name}: the list is empty; give values such as {example}")
    for value in values:
        if not _is_limit(value, whole=whole):
            kind = "whole numbers" if whole else "numbers"
            raise ScenarioError(f"sweep: {name}: {value!r} is not allowed; the values must be "
                                f"finite {kind} >= 0, such as {example}")
    return ("budget_cny" if budgets_cny is not None else "max_new_sites"), values


def _is_limit(value, *, whole: bool) -> bool:
    """Whether ``value`` is a finite real number >= 0 (and whole when ``whole``), as a
    budget [CNY] or a quota of new sites [count] must be; booleans are not numbers here."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return False
    return bool(np.isfinite(value) and value >= 0 and (not whole or float(value).is_integer()))


def solve_curve(scenario: Scenario, demand: Demand, coverage: CoverageMatrix, costs: OptionCosts,
                *, budgets_cny=None, max_new_sites=None, progress: Progress | None = None,
                backhaul: BackhaulNetwork | None = None) -> pd.DataFrame:
    """The cost-coverage curve from prepared inputs: one optimal plan per budget or quota.

    Parameters
    ----------
    scenario : Scenario
        Its objective and solver settings are the starting point of every plan.
    demand, coverage, costs
        What :func:`siting.pipeline.prepare` and :func:`siting.plan.option_costs` give.
    budgets_cny : sequence of float, optional
        Budgets [CNY] (capex + opex over ``opex_years``), one plan each.
    max_new_sites : sequence of int, optional
        Quotas of new sites [count], one plan each. Exactly one of the two series is given.
    progress : Progress, optional
        Told of each plan solved; a :class:`siting.pipeline.StepProgress` also of each
        point's value as its plan starts, and its status, people covered and time as it ends.
    backhaul : siting.backhaul.BackhaulNetwork, optional
        The candidates' backhaul options (:func:`siting.pipeline.prepare_backhaul`): every
        plan then feeds its sites, and the budget pays for sites and backhaul.

    Returns
    -------
    pandas.DataFrame
        One row per value, sorted, each value once (one given twice is planned once, with a
        warning): the value (column ``budget_cny`` or ``max_new_sites``),
        ``cost_cny`` [CNY], ``new_options`` [count]: ``new_sites`` (what a quota limits) plus
        ``upgrades`` (existing sites given a technology), ``people_covered`` [persons],
        ``people_covered_pct`` [%] of the people of the region (population cells and
        villages, as ``people_total`` of summary.json), ``mandatory_covered``
        and ``mandatory_total`` [points], the solver's ``status`` and ``gap`` [-], and
        ``reason``, empty on a point with a plan. A point without one (its value infeasible,
        or no plan found in the time limit) is logged as a warning and kept as a row of its
        value, ``mandatory_total``, ``status`` (``infeasible`` or :data:`NO_PLAN_IN_TIME`)
        and ``reason`` (the planner's message), the other columns empty (NaN, ``<NA>`` for
        the counts).
        ``attrs["language"]`` is the scenario's ``report.language`` and ``attrs["scenario"]``
        its name, which :func:`write_curve` and :func:`plot_curve` draw the figure with.
        With ``backhaul``, ``cost_cny`` is sites plus backhaul, split in ``site_cost_cny``
        and ``backhaul_cost_cny`` [CNY].

    Notes
    -----
    The objective type becomes ``max_coverage`` and the other limit is kept. Phases are
    dropped: each point is a single-period plan (the curve answers "what does the whole plan
    buy").

    Raises
    ------
    InfeasibleError, TimeLimitError
        When no point has a plan: a line per reason, naming its values (a TimeLimitError
        when the time limit stopped every one).
    """
    field, given = _series(scenario, budgets_cny, max_new_sites)
    _warn_of_objective_changes(scenario, "budget" if field == "budget_cny" else "quota")
    values = _distinct(field, given)
    rows = []
    stage = f"solve {len(values)} plans over {field}"
    for done, value in enumerate(values):
        if progress is not None:
            progress(stage, done, len(values))
        point = f"{done + 1}/{len(values)} {_point_text(field, value)}"
        tell_step(progress, stage, f"{point}: planning")
        started_s = time.perf_counter()
        limit = int(value) if field == "max_new_sites" else float(value)
        objective = dataclasses.replace(scenario.objective, kind="max_coverage", phases=(),
                                        mandatory_by=None, **{field: limit})
        rows.append(_point_row(field, value, coverage, demand, costs, objective,
                               scenario.solver, backhaul))
        tell_step(progress, stage,
                  f"{point}: {_outcome_text(rows[-1], time.perf_counter() - started_s)}")
    if progress is not None:
        progress(stage, len(values), len(values))
    curve = _curve_frame(field, rows)
    if curve["people_covered"].isna().all():  # nothing to draw: the points' own errors
        raise _none_planned(field, curve)
    curve.attrs["language"] = scenario.outputs.language
    curve.attrs["scenario"] = scenario.name
    return curve


def _point_row(field: str, value, coverage: CoverageMatrix, demand: Demand, costs: OptionCosts,
               objective, solver, backhaul: BackhaulNetwork | None) -> dict:
    """The curve's row of one point: the plan's (:func:`siting.plan.plan_network`) costs,
    counts and people, or, for a point without a plan (its value infeasible, or no plan in
    the time limit), its status and reason, logged as a warning naming the point by its
    series (``sweep: budgets_cny: 0 CNY: ...``): the curve goes on without it."""
    mandatory_total = int(demand.mandatory.sum())
    try:
        plan = plan_network(coverage, demand, costs, objective, solver, backhaul)
    except (InfeasibleError, TimeLimitError) as exc:
        reason = str(exc).replace(f"objective.{field}", "this value")  # the key is not used
        log.warning(f"sweep: {SERIES_NAMES[field]}: {_point_text(field, value)}: no plan, the "
                    f"curve leaves this point out: {reason}")  # formatted: the CLI rewords it
        status = NO_PLAN_IN_TIME if isinstance(exc, TimeLimitError) else "infeasible"
        return {field: value, "mandatory_total": mandatory_total, "status": status,
                "reason": reason}
    kpis = kpis_of("sweep", coverage, demand, costs, plan.selected,
                   counted_options(plan, coverage))
    people_total = max(demand.people.sum(), 1e-9)  # cells and villages; other points carry 0
    return {field: value, **_costs(kpis.cost_cny, plan), "new_options": kpis.new_options,
            "new_sites": plan.new_site_count, "upgrades": kpis.new_options - plan.new_site_count,
            "people_covered": kpis.people_covered,
            "people_covered_pct": 100 * kpis.people_covered / people_total,
            "mandatory_covered": kpis.mandatory_covered, "mandatory_total": mandatory_total,
            "status": plan.solution.status, "gap": plan.solution.gap, "reason": ""}


def _outcome_text(row: dict, seconds: float) -> str:
    """What a point of the curve gave, as its progress line ends: ``optimal, 12,345 people
    covered (45.20%), 3.1 s``, or the status of a point without a plan and its time."""
    status = term(f"sweep.status.{row['status']}", "en")
    if row["reason"]:
        return f"{status}, {seconds:.1f} s"
    return (f"{status}, {row['people_covered']:,.0f} people covered "
            f"({row['people_covered_pct']:.2f}%), {seconds:.1f} s")


#: The ``status`` of a point without a plan when the time limit ran out before any plan
#: (unlike ``time_limit``, a plan the limit stopped before it was proven optimal); a value no
#: plan meets is ``infeasible``.
NO_PLAN_IN_TIME = "no_plan_in_time"

#: The whole-number columns of a curve (nullable: empty on a point without a plan).
_COUNT_COLUMNS = ("new_options", "new_sites", "upgrades", "mandatory_covered",
                  "mandatory_total")


def _curve_frame(field: str, rows: list[dict]) -> pd.DataFrame:
    """The curve's rows as a frame of fixed columns (whatever point comes first; the
    backhaul's when a plan has it), the counts whole numbers a point without a plan leaves
    empty."""
    with_backhaul = any("backhaul_cost_cny" in row for row in rows)
    money = ["cost_cny", *(("site_cost_cny", "backhaul_cost_cny") if with_backhaul else ())]
    columns = [field, *money, "new_options", "new_sites", "upgrades", "people_covered",
               "people_covered_pct", "mandatory_covered", "mandatory_total", "status", "gap",
               "reason"]
    curve = pd.DataFrame(rows, columns=columns)
    return curve.astype({column: "Int64" for column in _COUNT_COLUMNS})


def _distinct(field: str, values: list) -> list:
    """``values`` sorted, each once; a value given more than once is planned once, with a
    warning naming it (a slip in a typed list, or a range over a listed value)."""
    distinct = sorted(set(values))
    for value in distinct:
        times = sum(1 for given in values if given == value)
        if times > 1:
            log.warning(f"sweep: {SERIES_NAMES[field]}: {_point_text(field, value)} is given "
                        f"{times} times; it is planned once")
    return distinct


#: The swept objective key -> the argument of :func:`sweep` that gives its values.
SERIES_NAMES = {"budget_cny": "budgets_cny", "max_new_sites": "max_new_sites"}


def _point_text(field: str, value) -> str:
    """A point of the series as its messages name it: ``10,000,000 CNY`` or ``50 new sites``."""
    return f"{value:,.0f} CNY" if field == "budget_cny" else f"{int(value)} new sites"


def _none_planned(field: str, curve: pd.DataFrame) -> Exception:
    """The error of a curve none of whose points has a plan: a line per reason, naming its
    points (``sweep: max_new_sites: 0 new sites, 1 new sites: ...``); a TimeLimitError when
    the time limit stopped every one (more time may find plans), else an InfeasibleError."""
    points: dict[str, list[str]] = {}
    for value, reason in zip(curve[field], curve["reason"]):
        points.setdefault(reason, []).append(_point_text(field, value))
    text = "\n".join(f"sweep: {SERIES_NAMES[field]}: {', '.join(named)}: {reason}"
                     for reason, named in points.items())
    timed_out = (curve["status"] == NO_PLAN_IN_TIME).all()
    return (TimeLimitError if timed_out else InfeasibleError)(text)


def _warn_of_objective_changes(scenario: Scenario, value: str) -> None:
    """Warn of what in the scenario's objective the curve's plans leave out: its yearly phases
    (each point is one period), and its type ``min_cost`` (each point covers the most people
    within its ``value``, a budget or a quota, where ``siting run`` would plan the mandatory
    points at least cost and leave the rest of the budget unspent)."""
    if scenario.objective.phases:
        log.warning("%s: the sweep plans each %s as one period: the scenario's %d yearly "
                    "phases (their budgets, quotas and mandatory_by) are not used; run the "
                    "scenario with each value to see it year by year", scenario.path,
                    value, len(scenario.objective.phases))
    if scenario.objective.kind == "min_cost":
        log.warning("%s: the sweep plans each %s as objective.type max_coverage (the mandatory "
                    "points, then the most people within it); the scenario's type min_cost "
                    "plans the mandatory points at least cost, so siting run gives another "
                    "plan at the same %s: set type: max_coverage to compare them", scenario.path,
                    value, value)


def _costs(site_cost_cny: float, plan) -> dict[str, float]:
    """The plan's cost [CNY]: the sites', plus backhaul split out when the plan has it."""
    if plan.backhaul is None:
        return {"cost_cny": site_cost_cny}
    backhaul_cny = float(plan.backhaul.feeds.total_backhaul_cny)
    return {"cost_cny": site_cost_cny + backhaul_cny, "site_cost_cny": site_cost_cny,
            "backhaul_cost_cny": backhaul_cny}


#: The unit [CNY] the curve's figure and terminal table give money in, and the table's
#: decimals, by language: millions of CNY in English (a budget axis of 10, 20, 30), 万元 in
#: Chinese, as every Chinese output gives money (:data:`siting.export.i18n.MONEY_UNIT_CNY`);
#: both to 1,000 CNY, so that a row fits 80 columns.
CURVE_MONEY = {"en": (1e6, 3), "zh": (MONEY_UNIT_CNY["zh"], 1)}


def curve_money(amount_cny, language: str):
    """An amount [CNY] (a number or an array) in the curve's unit of money in ``language``
    (:data:`CURVE_MONEY`)."""
    return amount_cny / CURVE_MONEY[check_language(language)][0]


def _money_text(amount_cny: float, language: str) -> str:
    """An amount [CNY] as the curve's table writes it: ``45.000`` (M CNY), ``4,500.0`` (万元)."""
    return f"{curve_money(amount_cny, language):,.{CURVE_MONEY[language][1]}f}"


#: The terminal table of a curve: its columns, the term of each header
#: (:mod:`siting.export.i18n`) and how each value is written in a language (money in the
#: unit of :data:`CURVE_MONEY`, which the table's first line says).
CURVE_TEXT_COLUMNS = {
    "budget_cny": ("sweep.column.budget", _money_text),
    "max_new_sites": ("sweep.column.quota", lambda v, lang: f"{int(v):,}"),
    "cost_cny": ("sweep.column.cost", _money_text),
    "site_cost_cny": ("sweep.column.site_cost", _money_text),
    "backhaul_cost_cny": ("sweep.column.backhaul", _money_text),
    "new_sites": ("sweep.column.new_sites", lambda v, lang: f"{int(v):,}"),
    "people_covered": ("sweep.column.people", lambda v, lang: f"{v:,.0f}"),
    "people_covered_pct": ("sweep.column.percent", lambda v, lang: f"{v:.2f}"),
    "status": ("sweep.column.solver", lambda v, lang: term(f"sweep.status.{v}", lang)),
    "gap": ("sweep.column.gap", lambda v, lang: f"{100 * v:.3f}"),
}


def curve_text(curve: pd.DataFrame, language: str | None = None) -> str:
    """The curve as a terminal reads it, in ``language`` (by default the scenario's
    ``report.language`` that :func:`sweep` noted in ``curve.attrs``): one line per point,
    short headers with units, money in millions of CNY (万元 in Chinese), people whole and the
    mandatory points as covered/total, so a row fits 80 columns (pandas' own ``to_string``
    wrapped each row over two lines); a first line gives the unit of the money. A point
    without a plan shows its value and status, :data:`~siting.export.cells.NO_VALUE_CELL` for
    the rest, as the report's tables. Chinese characters count two columns in the alignment,
    as a terminal shows them."""
    lang = check_language(language or curve.attrs.get("language", "en"))

    def written(column: str) -> pd.Series:
        form = CURVE_TEXT_COLUMNS[column][1]
        return curve[column].map(lambda v: NO_VALUE_CELL if pd.isna(v) else form(v, lang))

    columns = [c for c in CURVE_TEXT_COLUMNS if c in curve]
    table = pd.DataFrame({term(CURVE_TEXT_COLUMNS[c][0], lang): written(c) for c in columns})
    table.insert(table.columns.get_loc(term("sweep.column.percent", lang)) + 1,
                 term("sweep.column.mandatory", lang),
                 [NO_VALUE_CELL if pd.isna(c) else f"{int(c)}/{int(t)}"
                  for c, t in zip(curve["mandatory_covered"], curve["mandatory_total"])])
    with pd.option_context("display.unicode.east_asian_width", True):
        text = table.to_string(index=False)
    return f"{term('sweep.money_unit', lang)}\n{text}"


def curve_labels(x_field: str, name: str, language: str) -> dict[str, str]:
    """Title and axis labels of the cost-coverage figure of scenario ``name`` in ``language``,
    for a curve over ``x_field`` (``budget_cny`` or ``max_new_sites``)."""
    x_key = "sweep.budget_axis" if x_field == "budget_cny" else "sweep.quota_axis"
    return {"title": term("sweep.title", language, name=name), "x": term(x_key, language),
            "y": term("sweep.people_axis", language)}


#: Decimals of the curve's CSV: costs to the fen (so that sites + backhaul = the total as
#: written), people whole, shares and gaps as the solver gives them.
CSV_DECIMALS = {"budget_cny": 2, "cost_cny": 2, "site_cost_cny": 2, "backhaul_cost_cny": 2,
                "people_covered": 0, "people_covered_pct": 4, "gap": 8}


#: The files of a cost-coverage curve (:func:`write_curve`).
CURVE_FILES = ("cost_coverage.csv", "cost_coverage.png")


def write_curve(curve: pd.DataFrame, out_dir: Path, title: str, *,
                language: str | None = None) -> tuple[Path, Path]:
    """``cost_coverage.csv`` and ``cost_coverage.png`` in ``out_dir``.

    ``title`` is the scenario's name; the figure is in ``language``, by default the one
    :func:`sweep` noted in ``curve.attrs`` (English when the curve carries none). The PNG
    carries its title as metadata (``Title``). Both are rendered before either replaces a
    previous curve (:func:`siting.diskfaults.write_files`): a disk fault raises
    :class:`~siting.errors.OutputError` and leaves the previous files as they were. The
    folder is locked as ``siting run`` locks it (:func:`siting.pipeline.output_lock`): a run
    or sweep writing it at the same time raises InputError (two sweeps had left one's CSV
    beside the other's figure, and a run starting to write removed the sweep's staged files).
    """
    language = check_language(language or curve.attrs.get("language", "en"))
    csv_name, png_name = CURVE_FILES
    out = Path(out_dir)
    with output_lock(out):
        write_files({csv_name: lambda path: curve.round(CSV_DECIMALS).to_csv(path, index=False),
                     png_name: lambda path: _save_curve_figure(curve, path, title, language)},
                    out, "curve")
    return out / csv_name, out / png_name


def _save_curve_figure(curve: pd.DataFrame, path: Path, title: str, language: str) -> None:
    """The curve's figure as a PNG at ``path``, its title as metadata (``Title``)."""
    fig = Figure(figsize=(8, 5), dpi=150)
    labels = _draw_curve(fig.add_subplot(), curve, title, language)
    with matplotlib.rc_context({"font.family": labels["fonts"]}):
        fig.tight_layout()
        fig.savefig(path, metadata={"Title": labels["title"]})


def plot_curve(curve: pd.DataFrame, ax=None, *, title: str | None = None,
               language: str | None = None):
    """Draw a cost-coverage curve (people covered [%] over budget [M CNY, 万元 in Chinese] or
    quota [sites]); a point without a plan is left out, one the time limit stopped before
    its plan was proven the best is drawn hollow and named in a legend.

    Parameters
    ----------
    curve : pandas.DataFrame
        What :func:`solve_curve` (or ``Study.sweep``) returns.
    ax : matplotlib.axes.Axes, optional
        Where to draw; by default a new figure (``pyplot.subplots``, so a notebook shows it).
    title : str, optional
        The scenario name the title names; by default ``curve.attrs["scenario"]``.
    language : str, optional
        ``en`` or ``zh``; by default ``curve.attrs["language"]`` (else English).

    Returns
    -------
    (matplotlib.figure.Figure, matplotlib.axes.Axes)
        The figure drawn on and its Axes. matplotlib's backend is never switched.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 5), layout="constrained")
    _draw_curve(ax, curve, title if title is not None else curve.attrs.get("scenario", ""),
                language)
    return ax.figure, ax


def _draw_curve(ax, curve: pd.DataFrame, title: str, language: str | None) -> dict:
    """The curve, its labels (mandatory points covered per point), axis titles and grid on
    ``ax``; returns the labels, with the font families they are drawn in under ``fonts``."""
    language = check_language(language or curve.attrs.get("language", "en"))
    x_field = "budget_cny" if "budget_cny" in curve else "max_new_sites"
    labels = curve_labels(x_field, title, language)
    # Chinese words or a Chinese scenario name need a CJK font: set on the texts themselves
    # (the Axes' label and title texts exist before any rc_context could apply)
    fonts = text_fonts(labels.values(), language)
    planned = curve[curve["people_covered_pct"].notna()]  # a point without a plan has no y
    x = (curve_money(planned[x_field], language) if x_field == "budget_cny"
         else planned[x_field])
    (line,) = ax.plot(x, planned["people_covered_pct"], marker="o")
    _mark_stopped(ax, x, planned, line.get_color(), language, fonts)
    for x_value, row in zip(x, planned.itertuples()):
        ax.annotate(f"{int(row.mandatory_covered)}/{int(row.mandatory_total)}",
                    (x_value, row.people_covered_pct), textcoords="offset points",
                    xytext=(0, 6), ha="center", fontsize=7, family=fonts)
    ax.set_xlabel(labels["x"], family=fonts)
    ax.set_ylabel(labels["y"], family=fonts)
    ax.set_title(labels["title"], parse_math=False, family=fonts)
    ax.grid(alpha=0.3)
    return {**labels, "fonts": fonts}


def _mark_stopped(ax, x, planned: pd.DataFrame, color: str, language: str, fonts) -> None:
    """Draw the points the time limit stopped before their plans were proven the best
    (status ``time_limit``) hollow, named in a legend: more time may cover more there, so a
    dip of the curve at one is the solver's, not the budget's. A curve without a
    ``status`` column (drawn from a table of its own) has none to mark."""
    stopped = (planned.get("status", pd.Series(index=planned.index, dtype=object))
               == "time_limit").to_numpy()
    if not stopped.any():
        return
    ax.plot(np.asarray(x)[stopped], planned["people_covered_pct"].to_numpy()[stopped],
            linestyle="none", marker="o", markerfacecolor="white", markeredgecolor=color,
            label=term("sweep.stopped_legend", language))
    ax.legend(loc="lower right", prop={"family": fonts})


#: A value of a list that only a thousands separator before it explains ("000" in
#: "10,000,000"): three digits, the first a zero.
_THOUSANDS_GROUP = re.compile(r"\s*0\d\d\s*")


#: A value written with a Chinese unit of money (500万, 1.5亿, 5000万元), and the unit [CNY].
_CHINESE_AMOUNT = re.compile(r"\s*(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*(万|亿)?\s*(元)?\s*")
_CHINESE_UNIT_CNY = {"万": 1e4, "亿": 1e8, None: 1.0}

#: The most values a range (start:stop:step) may give, one plan each: a step typed without
#: its exponent (``0:60e6:5`` for ``0:60e6:5e6``) is refused, not solved 12 million times.
MAX_RANGE_VALUES = 1000


def parse_numbers(text: str) -> list[float]:
    """``"10e6,20e6,30e6"`` or ``"10e6:50e6:10e6"`` (start:stop:step, stop included).

    Full-width commas and colons (a Chinese input method's ``，`` and ``：``) read as commas
    and colons. A list whose commas are thousands separators (``"10,000,000"``, which reads
    as 10, 0 and 0), a value with a Chinese unit of money (``500万``: the error gives it in
    yuan) and a range of more than :data:`MAX_RANGE_VALUES` values are refused, saying so."""
    text = text.replace("，", ",").replace("：", ":")
    if any(_THOUSANDS_GROUP.fullmatch(item) for item in text.split(",")[1:]):
        raise ScenarioError(f"{text!r}: the commas look like thousands separators ('000' is no "
                            f"value of its own); commas separate the values: write each without "
                            f"separators, e.g. 10e6,20e6 or 10000000,20000000")
    items = text.split(":") if ":" in text else [v for v in text.split(",") if v.strip()]
    for item in items:
        _check_no_money_unit(item)
    try:
        if ":" in text:
            start, stop, step = (float(v) for v in items)
            if step <= 0:
                raise ValueError
        else:
            return [float(v) for v in items]
    except ValueError:
        raise ScenarioError(f"cannot read the list {text!r}; use 10e6,20e6 or start:stop:step") from None
    return _range_values(text, start, stop, step)


def _check_no_money_unit(item: str) -> None:
    """ScenarioError when ``item`` is an amount written with a Chinese unit of money
    (``500万``, ``1.5亿``, ``300元``), saying how to write it in yuan (``5000000`` or ``5e6``)."""
    match = _CHINESE_AMOUNT.fullmatch(item)
    if match is None or match[2] is None and match[3] is None:
        return
    amount_cny = float(match[1]) * _CHINESE_UNIT_CNY[match[2]]
    plain = f"{amount_cny:.0f}"
    scientific = re.sub(r"e\+?0*(\d)", r"e\1", f"{amount_cny:.6g}")
    also = f" (or {scientific})" if scientific != plain else ""
    raise ScenarioError(f"{item.strip()!r}: write the values in yuan, without 万, 亿 or 元: "
                        f"{item.strip()} is {plain}{also}")


def _range_values(text: str, start: float, stop: float, step: float) -> list[float]:
    """The values of the range ``text`` (start:stop:step, stop included); ScenarioError when
    it holds none or more than :data:`MAX_RANGE_VALUES`."""
    if stop < start:
        raise ScenarioError(f"the range {text!r} holds no value: its stop {stop:g} is below its "
                            f"start {start:g}; write start:stop:step with start <= stop")
    count = int(np.floor((stop - start) / step + 0.5)) + 1 if np.isfinite(stop - start) else None
    if count is None or count > MAX_RANGE_VALUES:
        many = "endless values" if count is None else f"{count:,} values"
        raise ScenarioError(f"the range {text!r} gives {many}, a plan each; give at most "
                            f"{MAX_RANGE_VALUES:,}: check the step (5e6 is 5 million)")
    return list(np.arange(start, stop + step / 2, step))

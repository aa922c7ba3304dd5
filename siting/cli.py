"""The ``siting`` command line: ``run``, ``demo``, ``validate``, ``sweep``, ``compare``,
``evaluate``, ``predict``, ``calibrate``, ``init``.

Thin commands: each calls the library and turns its errors into one line per problem on
stderr with exit code 2 (bad input, infeasible) or 1 (outputs that cannot be written: a full
disk, a read-only folder; or an internal error, whose traceback shows with ``--verbose``). The
first run in an environment says that numba compiles the kernels before it waits for them.
Progress is shown by :class:`StageReporter`: rich bars on stderr on a terminal, plain stage
lines otherwise, nothing with ``--quiet``. Only this module imports typer and rich.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, SpinnerColumn,
                           Task, TextColumn, TimeElapsedColumn, TimeRemainingColumn)
from rich.table import Table
from rich.text import Text

from siting.errors import (InfeasibleError, InputError, OutputError, ScenarioError, SitingError,
                           TimeLimitError)

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True,
                  help="Plan 4G/5G base-station sites over terrain: coverage, optimal sites, maps."
                       "\n\nExample: siting demo --out out/demo")
console = Console(stderr=True)
USER_ERRORS = (InputError, ScenarioError, InfeasibleError)


#: What the library asks of an output folder that cannot be written, and the option that does it
#: (every command that writes has ``--out``).
_OUTPUT_FOLDER = ("choose another output folder", "choose another --out")
#: :mod:`siting.predict`'s arguments as its messages name them (``height_m=``, as a notebook user
#: passes them) -> the options of ``siting predict`` (:func:`predict_option_words`).
PREDICT_OPTIONS = {"site": "--site", "at": "--at", "height_m": "--height", "model": "--model"}
#: One of them and its "=" at the start of a word (after a space or "(", so that a path such as
#: /data/site=A/ is left alone), with the first letter of a value that follows.
_PREDICT_ARGUMENT = re.compile(rf"(?<![^\s(])({'|'.join(PREDICT_OPTIONS)})=(\w?)")


def output_folder_words(message: str) -> str:
    """A library message with "choose another output folder" as "choose another --out"."""
    return message.replace(*_OUTPUT_FOLDER)


def predict_option_words(message: str) -> str:
    """A message of :mod:`siting.predict` in the words of ``siting predict``: ``height_m=`` ->
    ``--height``, ``model=itm`` -> ``--model itm`` (and :func:`output_folder_words`)."""
    return _PREDICT_ARGUMENT.sub(lambda m: " ".join(filter(None, (PREDICT_OPTIONS[m[1]], m[2]))),
                                 output_folder_words(message))


@contextmanager
def _warnings_in_option_words(logger_name: str,
                              words: Callable[[str], str] = predict_option_words) -> Iterator[None]:
    """Inside the block, the warnings of the logger ``logger_name`` name the command's
    options (``words``: :func:`predict_option_words` by default); the library's own wording
    again after it."""
    def reword(record: logging.LogRecord) -> bool:
        record.msg = words(str(record.msg))
        return True

    logger = logging.getLogger(logger_name)
    logger.addFilter(reword)
    try:
        yield
    finally:
        logger.removeFilter(reword)


def _fail(exc: BaseException, verbose: bool,
          words: Callable[[str], str] = output_folder_words) -> None:
    """Print ``exc`` as one line (a line per problem) of the command's ``words`` and exit."""
    if isinstance(exc, USER_ERRORS):
        for line in words(str(exc)).splitlines():
            print(f"siting: error: {line}", file=sys.stderr)
        raise typer.Exit(2)
    if verbose:
        traceback.print_exception(exc)
    if isinstance(exc, OutputError):  # the user's disk, not our bug: the message says it all
        print(f"siting: error: {words(str(exc))}", file=sys.stderr)
        raise typer.Exit(1)
    if isinstance(exc, TimeLimitError):  # the machine or the limit, not our bug
        print(f"siting: error: {exc}; give the solver more time (solver.time_limit_s in the "
              f"scenario)", file=sys.stderr)
        raise typer.Exit(1)
    kind = "error" if isinstance(exc, SitingError) else "internal error"
    print(f"siting: {kind}: {type(exc).__name__}: {exc} (rerun with --verbose for the traceback)",
          file=sys.stderr)
    raise typer.Exit(1)


def _rich_table(title: str, header: list[str], rows: list[list]) -> Table:
    """A table of a report (its header and rows, cells as the report writes them) for the
    terminal: the first column left-aligned, the others (numbers) right-aligned."""
    from siting.export.cells import cell_text

    table = Table(title=escape(title))
    for i, column in enumerate(header):
        table.add_column(escape(column), justify="right" if i else "left")
    for row in rows:
        table.add_row(*(escape(cell_text(v)) for v in row))
    return table


def _summary_table(summary: dict, out: Path) -> Table:
    """The terminal's summary of a run, in the report's language (summary.json's
    ``language``), its share and money as the report writes them."""
    from siting.export.i18n import term
    from siting.export.cells import cell_text, money_cell, percent

    lang = summary.get("language", "en")
    k, s = summary["kpis"], summary["solver"]
    money = {key: cell_text(money_cell(k[f"{key}_cost_cny"], lang))
             for key in ("total", "site", "backhaul")}
    rows = {
        "people": term("terminal.people_value", lang,
                       before=f"{k['people_covered_before']:,.0f}",
                       after=f"{k['people_covered_after']:,.0f}",
                       share=cell_text(percent(k["people_covered_after"], k["people_total"] or 1))),
        "villages": term("terminal.villages_value", lang, before=k["villages_covered_before"],
                         after=k["villages_covered_after"], total=k["villages_total"]),
        "mandatory": term("terminal.mandatory_value", lang, covered=k["mandatory_villages_covered"],
                          total=k["mandatory_villages_total"]),
        "sites": f"{k['new_sites']} / {k['upgrades']}",
        "cost": (term("terminal.cost_split", lang, total=money["total"], sites=money["site"],
                      backhaul=money["backhaul"]) if "backhaul" in summary
                 else term("terminal.cost_value", lang, total=money["total"])),
        "solver": term("terminal.solver_value", lang, name=s["name"],
                       status=term(f"solver_status.{s['status']}", lang),
                       gap=f"{100 * (s['gap'] or 0):.3f}"),
        "outputs": escape(str(out)),
    }
    table = Table(title=f"siting: {escape(summary['scenario'])}", show_header=False)
    for key, value in rows.items():
        table.add_row(term(f"terminal.{key}", lang), value)
    return table


class _WhenCounted(ProgressColumn):
    """Show ``column`` only for stages that report (done, total) steps."""

    def __init__(self, column: ProgressColumn):
        super().__init__()
        self.column = column

    def render(self, task: Task):
        return self.column.render(task) if task.fields.get("counted") else Text("")


class StageReporter:
    """The command line's :class:`siting.pipeline.Progress`.

    On a terminal, one rich line per stage on stderr: a bar with steps and ETA for stages that
    report (done, total), a pulsing bar with the elapsed time for the others (the solve: HiGHS
    gives no ETA). Not on a terminal, one plain line per stage on stdout. Each step a stage
    tells of (:meth:`step`: a sweep's point as it starts and ends) is shown in its bar on a
    terminal, else as a line on stderr, so that a sweep run under nohup or by a scheduler
    logs each point as it goes. Nothing with ``quiet``. Every stage is timed
    (``timings_s``), however it is shown.
    ``before_first_stage`` is called once, when the first stage starts.
    """

    def __init__(self, *, quiet: bool, before_first_stage: Callable[[], None] | None = None):
        self.timings_s: dict[str, float] = {}
        self._before_first_stage = before_first_stage
        self._lines = not quiet and not console.is_terminal
        self._bars = Progress(
            SpinnerColumn(finished_text="[green]✓"), TextColumn("{task.description}"),
            BarColumn(), _WhenCounted(MofNCompleteColumn()), TimeElapsedColumn(),
            _WhenCounted(TimeRemainingColumn()), console=console,
            disable=quiet or not console.is_terminal)
        self._stage: str | None = None
        self._task = None
        self._steps: int | None = None
        self._started_s = 0.0

    def __enter__(self) -> StageReporter:
        self._bars.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self._finish()
        self._bars.stop()

    def __call__(self, stage: str, done: int | None = None, total: int | None = None) -> None:
        if self._before_first_stage is not None:
            before, self._before_first_stage = self._before_first_stage, None
            before()
        if stage != self._stage:
            self._finish()
            self._stage, self._steps, self._started_s = stage, None, time.perf_counter()
            self._task = self._bars.add_task(stage, total=None, counted=False)
            if self._lines:
                print(f"siting: {stage}", flush=True)
        if total is not None:
            self._steps = total
            self._bars.update(self._task, completed=done, total=total, counted=True)

    def step(self, stage: str, text: str) -> None:
        """Show what a step of ``stage`` (the current stage) is or gave: in its bar on a
        terminal, else as a line on stderr."""
        self(stage)
        self._bars.update(self._task, description=escape(f"{stage}: {text}"))
        if self._lines:
            print(f"siting: {stage}: {text}", file=sys.stderr, flush=True)

    def _finish(self) -> None:
        """Close the current stage: record its time, fill its bar."""
        if self._stage is None:
            return
        self.timings_s[self._stage] = time.perf_counter() - self._started_s
        steps = self._steps or 1
        self._bars.update(self._task, completed=steps, total=steps)
        self._stage = None

    def timings_table(self) -> Table:
        """Seconds per stage, for ``--verbose``."""
        table = Table(title="stage timings", show_header=False)
        for stage, seconds in self.timings_s.items():
            table.add_row(stage, f"{seconds:.2f} s")
        return table


def _logging(verbose: bool, quiet: bool) -> None:
    """Log records at INFO with ``--verbose``, at WARNING by default, and only errors with
    ``--quiet`` (its help promises nothing but errors)."""
    level = logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _announce_compiling(quiet: bool) -> None:
    """Say before the wait that numba is compiling the kernels (the first run in an
    environment that ``make install`` did not prepare), so a silent pause is not taken for a
    hang."""
    from siting.kernels import COMPILE_TIME_S, COMPILING_NOTICE, kernels_compiled

    if not quiet and not kernels_compiled():
        print(f"siting: notice: {COMPILING_NOTICE.format(seconds=COMPILE_TIME_S)}",
              file=sys.stderr, flush=True)


def _run(scenario: Path, out: Optional[Path], quiet: bool, verbose: bool, no_cache: bool,
         scheduler: Optional[str], workers: Optional[int], built: Optional[Path] = None,
         year: Optional[str] = None, built_crs: Optional[str] = None) -> None:
    from siting.cache import default_cache_dir
    from siting.export.summary import MISSED_DEADLINE
    from siting.pipeline import OUTPUT_FILES, run_scenario

    if scheduler is not None and workers is not None:  # found now, not after reading the inputs
        print("siting: error: --scheduler and --workers exclude each other; give the address of "
              "your Dask cluster or the number of local workers, not both", file=sys.stderr)
        raise typer.Exit(2)
    _logging(verbose, quiet)
    try:  # the compile notice once the scenario is read: a bad one gets its error line alone
        with StageReporter(quiet=quiet,
                           before_first_stage=lambda: _announce_compiling(quiet)) as reporter:
            _, summary, out_dir = run_scenario(scenario, out, progress=reporter,
                                               cache_dir=None if no_cache else default_cache_dir(),
                                               scheduler=scheduler, workers=workers,
                                               as_built=built, as_built_year=year,
                                               as_built_crs=built_crs)
    except KeyboardInterrupt:
        print("siting: interrupted; previous outputs were left as they were", file=sys.stderr)
        raise typer.Exit(130)
    except Exception as exc:  # every failure becomes one line and an exit code, never a traceback
        _fail(exc, verbose)
    for note in summary["solver"]["notes"]:
        # a fallback to the other solver and a missed deadline are always told
        if verbose or note.startswith(("solver ", MISSED_DEADLINE)):
            print(f"siting: notice: {note}", file=sys.stderr)
    if quiet:
        return
    if verbose:
        Console().print(reporter.timings_table())
    Console().print(_summary_table(summary, out_dir.resolve()))
    print(f"outputs written to {out_dir.resolve()}: {', '.join(OUTPUT_FILES)}")


QUIET = typer.Option("--quiet", "-q", help="Print nothing but errors: no progress, no summary.")
VERBOSE = typer.Option("--verbose", "-v", help="Log details and stage timings; show tracebacks of "
                                              "internal errors.")
SCHEDULER = typer.Option("--scheduler", metavar="ADDRESS",
                         help="Compute coverage on an existing Dask cluster, e.g. tcp://host:8786 "
                              "(default: in-process).")
WORKERS = typer.Option("--workers", min=1, metavar="N",
                       help="Compute coverage on a local Dask cluster of N worker processes.")
BUILT_CRS = typer.Option("--built-crs", help="The CRS of the as-built list's coordinates: WGS84 (GPS), "
                                             "GCJ-02 (Amap, Tencent), BD-09 (Baidu) or e.g. "
                                             "EPSG:4547 (default: the file's own; WGS84 for "
                                             "CSV/XLSX).")
NO_CACHE = typer.Option("--no-cache", help="Recompute coverage instead of reusing the on-disk cache "
                                           "($SITING_CACHE_DIR, default ~/.cache/siting).")


@app.command()
def run(scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
        out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder (default out/<name>).")] = None,
        quiet: Annotated[bool, QUIET] = False, verbose: Annotated[bool, VERBOSE] = False,
        no_cache: Annotated[bool, NO_CACHE] = False,
        scheduler: Annotated[Optional[str], SCHEDULER] = None,
        workers: Annotated[Optional[int], WORKERS] = None,
        built: Annotated[Optional[Path], typer.Option(
            "--built", metavar="AS_BUILT",
            help="Re-plan from what was built: an as-built list (site_id, technology, year, "
                 "cost_cny; CSV, XLSX or a vector file) whose sites are kept as existing.")] = None,
        year: Annotated[Optional[str], typer.Option(
            "--year", help="With --built: the last year built (default: the list's last year); "
                           "the plan covers the years after it.")] = None,
        built_crs: Annotated[Optional[str], BUILT_CRS] = None) -> None:
    """Run a scenario end to end: the plan, its maps, report, GIS layers and summary.

    Writes map.html, map.png, report.html, the GIS layers (GeoPackage, KML, CSV, COG) and
    summary.json into the output folder.

    Example: siting run data/demo/scenario.yaml --out out/demo
    """
    for option, value in (("--year", year), ("--built-crs", built_crs)):
        if value is not None and built is None:
            print(f"siting: error: {option} needs --built (the as-built list it refers to)",
                  file=sys.stderr)
            raise typer.Exit(2)
    _run(scenario, out, quiet, verbose, no_cache, scheduler, workers, built, year, built_crs)


@app.command()
def demo(out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out/demo"),
         quiet: Annotated[bool, QUIET] = False, verbose: Annotated[bool, VERBOSE] = False,
         no_cache: Annotated[bool, NO_CACHE] = False,
         scheduler: Annotated[Optional[str], SCHEDULER] = None,
         workers: Annotated[Optional[int], WORKERS] = None) -> None:
    """Run the bundled demo region (a mountainous prefecture in UTM 49N).

    Example: siting demo --out out/demo
    """
    from siting.pipeline import DEMO_SCENARIO

    if not DEMO_SCENARIO.exists():
        print(f"siting: error: {DEMO_SCENARIO}: demo data not found; run from a source checkout "
              f"or regenerate it with scripts/make_demo_data.py", file=sys.stderr)
        raise typer.Exit(2)
    _run(DEMO_SCENARIO, out, quiet, verbose, no_cache, scheduler, workers)


def undrawable(texts, language: str) -> str | None:
    """Why the figures cannot draw ``texts`` in ``language``: the message of
    :func:`siting.export.staticmap.text_fonts` (the character no installed font has, and the
    text), None when they can."""
    from siting.export.staticmap import FontError, text_fonts

    try:
        text_fonts([str(t) for t in texts], language)
    except FontError as exc:
        return str(exc)
    return None


def check_name_drawable(loaded) -> None:
    """Raise ScenarioError, naming the scenario's ``name`` key, when map.png's title and the
    sweep's figure cannot draw the name (a character no installed font has): the run or sweep
    would stop on it after all its work."""
    why = undrawable([loaded.name], loaded.outputs.language)
    if why is not None:
        raise ScenarioError(f"{loaded.path}: name: cannot be drawn in map.png or "
                            f"cost_coverage.png ({why}); write the name without that character")


def drawing_problems(region, language: str) -> tuple[list[str], list[str]]:
    """(errors, warnings) for the names map.png draws: every county name (``siting run`` stops
    on one no font can draw), and the names of the villages, drawn when mandatory and left
    uncovered."""
    errors, warnings = [], []
    if region.admin_units is not None:
        why = undrawable(region.admin_units["admin_unit"], language)
        if why is not None:
            errors.append(f"inputs.admin_units: admin_unit: a county name cannot be drawn in "
                          f"map.png ({why}); rename it without that character")
    why = undrawable(region.villages["name"], language)
    if why is not None:
        warnings.append(f"inputs.villages: name: a village name cannot be drawn in map.png "
                        f"({why}); the run stops if the map names it (a mandatory village left "
                        f"uncovered): rename it without that character")
    return errors, warnings


@app.command()
def validate(scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
             verbose: Annotated[bool, VERBOSE] = False) -> None:
    """Check a scenario and all its inputs without computing anything heavy.

    Example: siting validate data/demo/scenario.yaml
    """
    from siting.config import load_scenario, model_warnings
    from siting.demand import build_demand
    from siting.io import read_region, resolve_itu_maps

    _logging(verbose, quiet=False)  # the inputs' warnings marked as siting run marks them
    try:
        loaded = load_scenario(scenario)
        check_name_drawable(loaded)
        region = read_region(loaded)
        resolve_itu_maps(loaded, region.terrain)  # the ITU-R maps a p1812 technology reads
        demand = build_demand(region, loaded.demand)
        errors, drawing_warnings = drawing_problems(region, loaded.outputs.language)
        if errors:
            raise InputError("\n".join(f"{scenario}: {error}" for error in errors))
    except Exception as exc:  # one line and an exit code, never a traceback
        _fail(exc, verbose)
    for warning in [*model_warnings(loaded), *drawing_warnings]:
        print(f"siting: warning: {scenario}: {warning}", file=sys.stderr)
    print(f"{scenario}: OK: CRS {region.crs.to_string()}, DEM {region.terrain.shape[1]}x"
          f"{region.terrain.shape[0]} at {region.terrain.cell_size_m:g} m, "
          f"{len(region.candidates)} candidates, {len(region.villages)} villages, "
          f"{len(demand)} demand points ({int(demand.mandatory.sum())} mandatory), "
          f"{len(loaded.technologies)} technologies")
    if loaded.backhaul.enabled:  # what run reads for it; its routes are left to run
        from siting.backhaul.network import backhaul_inputs_text

        for line in backhaul_inputs_text(region.candidates, region.fiber_nodes, region.roads,
                                         loaded.backhaul.road_gap_m):
            print(f"{scenario}: backhaul: {line}")
    print(f"plan it with: siting run {shlex.quote(str(scenario))} (outputs in "
          f"{Path('out') / loaded.name}, or --out DIR)")


#: :func:`siting.sweep.sweep`'s arguments as its messages name them ("sweep: max_new_sites:")
#: -> the options of ``siting sweep``.
SWEEP_OPTIONS = {"budgets_cny": "--budgets", "max_new_sites": "--sites"}


def sweep_option_words(message: str) -> str:
    """A message of :mod:`siting.sweep` in the words of ``siting sweep``: "sweep:
    max_new_sites:" -> "--sites:" (and :func:`output_folder_words`)."""
    for argument, option in SWEEP_OPTIONS.items():
        message = message.replace(f"sweep: {argument}:", f"{option}:")
    return output_folder_words(message)


def sweep_values(option: str, text: str | None) -> list | None:
    """The values ``option`` of ``siting sweep`` gives (:func:`siting.sweep.parse_numbers`),
    None when it is not given; a list that cannot be read is named by its option."""
    from siting.sweep import parse_numbers

    if text is None:
        return None
    try:
        return [float(v) for v in parse_numbers(text)]
    except ScenarioError as exc:
        raise ScenarioError(f"{option}: {exc}") from None


def whole_as_int(values: list) -> list:
    """The whole numbers of ``values`` as int (a quota of 5 sites, not 5.0); the others as
    they are, for :func:`siting.sweep.sweep` to refuse by name."""
    return [int(v) if float(v).is_integer() else v for v in values]


@app.command()
def sweep(scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
          budgets: Annotated[Optional[str], typer.Option(
              "--budgets", help="Budgets \\[CNY]: a list 10e6,20e6 or a range start:stop:step.")] = None,
          sites: Annotated[Optional[str], typer.Option(
              "--sites", help="Quotas of new sites: a list 50,100 or a range start:stop:step.")] = None,
          out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder (default out/<name>).")] = None,
          quiet: Annotated[bool, QUIET] = False, verbose: Annotated[bool, VERBOSE] = False) -> None:
    """Solve a series of budgets (or site quotas) and write the cost-coverage curve (CSV, PNG).

    Example: siting sweep data/demo/scenario.yaml --budgets 10e6:60e6:10e6
    """
    from siting.cache import default_cache_dir
    from siting.config import load_scenario
    from siting.diskfaults import check_output_folder
    from siting.sweep import curve_text, sweep as sweep_plans, write_curve

    _logging(verbose, quiet)
    try:
        if (budgets is None) == (sites is None):
            raise ScenarioError("sweep: give exactly one of --budgets and --sites")
        budgets_cny, quotas = sweep_values("--budgets", budgets), sweep_values("--sites", sites)
        loaded = load_scenario(scenario)
        check_name_drawable(loaded)  # the figure's title: refused now, not after the solves
        out_dir = out if out is not None else Path("out") / loaded.name
        check_output_folder(out_dir)
        _announce_compiling(quiet)
        with StageReporter(quiet=quiet) as reporter, \
                _warnings_in_option_words("siting.sweep", sweep_option_words):
            curve = sweep_plans(loaded, budgets_cny=budgets_cny,
                                max_new_sites=None if quotas is None else whole_as_int(quotas),
                                progress=reporter, cache_dir=default_cache_dir())
        csv_path, png_path = write_curve(curve, out_dir, loaded.name)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (main)
        print("siting: interrupted; no curve was written, a previous one was left as it was",
              file=sys.stderr)
        raise typer.Exit(130)
    except TimeLimitError as exc:  # no point has a plan in time: named by the command's options
        _fail(TimeLimitError(sweep_option_words(str(exc))), verbose)
    except Exception as exc:  # one line and an exit code, never a traceback
        _fail(exc, verbose, words=sweep_option_words)
    if quiet:
        return
    if verbose:
        Console().print(reporter.timings_table())
    print(curve_text(curve))
    print(f"curve written to {csv_path.resolve()} and {png_path.resolve()}")


@app.command()
def compare(plan_a: Annotated[Path, typer.Argument(help="Output folder of plan A (siting run --out).")],
            plan_b: Annotated[Path, typer.Argument(help="Output folder of plan B.")],
            out: Annotated[Optional[Path], typer.Option(
                "--out", "-o", help="Folder for the comparison (default PLAN_B/compare).")] = None,
            quiet: Annotated[bool, QUIET] = False, verbose: Annotated[bool, VERBOSE] = False) -> None:
    """Compare two plans: sites, KPIs per county and villages whose coverage differs.

    Sites only in A, only in B and in both (technology changes), KPI deltas overall and per
    county, villages whose coverage differs, and a map of both.

    Example: siting compare out/budget-30m out/budget-45m
    """
    from siting.compare import (COMPARISON_FILES, as_built_notes, compare_folders, headline_kpis,
                                listed_sites, status_counts, write_comparison)
    from siting.export.i18n import term

    _logging(verbose, quiet)
    out_dir = out if out is not None else plan_b / "compare"
    try:
        comparison = compare_folders(plan_a, plan_b)
        write_comparison(comparison, out_dir)
    except Exception as exc:  # one line and an exit code, never a traceback
        _fail(exc, verbose)
    if quiet:
        return
    lang = comparison.language  # the words of comparison.md
    title = term("compare.title", lang, a=comparison.name_a, b=comparison.name_b)
    kpis = headline_kpis(comparison)
    Console().print(_rich_table(title, kpis.header, kpis.rows))
    print("\n".join([*as_built_notes(comparison), status_counts(comparison), *listed_sites(comparison)]))
    print(f"comparison written to {out_dir.resolve()}: {', '.join(COMPARISON_FILES)}")


@app.command()
def evaluate(plan: Annotated[Path, typer.Argument(help="Output folder of the plan (siting run --out).")],
             built: Annotated[Path, typer.Option(
                 "--built", metavar="AS_BUILT",
                 help="The as-built list: site_id, technology, year, cost_cny (CSV, XLSX or a "
                      "vector file).")],
             complaints: Annotated[Optional[Path], typer.Option(
                 "--complaints", help="New complaint points (a layer like the scenario's "
                                      "complaints).")] = None,
             complaints_crs: Annotated[Optional[str], typer.Option(
                 "--complaints-crs", help="The CRS of --complaints: WGS84 (GPS), GCJ-02 (Amap, "
                                          "Tencent), BD-09 (Baidu) or e.g. EPSG:4490 (default: the "
                                          "file's own; WGS84 for CSV/XLSX).")] = None,
             built_crs: Annotated[Optional[str], BUILT_CRS] = None,
             year: Annotated[Optional[str], typer.Option(
                 "--year", help="The year evaluated (default: the as-built list's last year).")] = None,
             scenario: Annotated[Optional[Path], typer.Option(
                 "--scenario", help="The plan's scenario file, when it has moved since the run.")] = None,
             out: Annotated[Optional[Path], typer.Option(
                 "--out", "-o", help="Folder for the evaluation (default PLAN/evaluation-YEAR).")] = None,
             quiet: Annotated[bool, QUIET] = False, verbose: Annotated[bool, VERBOSE] = False) -> None:
    """Evaluate a plan at year end against what was built, with a score per county.

    Sites on time, early, late, not built or outside the plan, budget, people and villages
    covered, complaints, and a score per county.

    Example: siting evaluate out/phased --built as_built_2027.xlsx --year 2027
    """
    from siting.cache import default_cache_dir
    from siting.evaluate import evaluate_plan
    from siting.export.evaluation import EVALUATION_FILES, overall_header, overall_rows, write_evaluation
    from siting.export.i18n import term

    _logging(verbose, quiet)
    _announce_compiling(quiet)
    try:
        evaluation = evaluate_plan(plan, built, complaints=complaints, year=year, scenario=scenario,
                                   cache_dir=default_cache_dir(), complaints_crs=complaints_crs,
                                   built_crs=built_crs)
        out_dir = write_evaluation(evaluation, out if out is not None
                                   else plan / f"evaluation-{evaluation.year}")
    except Exception as exc:  # one line and an exit code, never a traceback
        _fail(exc, verbose)
    if quiet:
        return
    lang = evaluation.language  # the table of evaluation.md, as the file has it
    title = term("evaluation.title", lang, name=evaluation.plan_name, year=evaluation.year)
    Console().print(_rich_table(title, overall_header(lang), overall_rows(evaluation, lang)))
    print(f"evaluation written to {out_dir.resolve()}: {', '.join(EVALUATION_FILES)}")


def parse_lonlat(text: str) -> tuple[float, float]:
    """``LON,LAT`` [deg] as two floats (a full-width comma, as pasted from a Chinese page,
    is a comma); InputError otherwise."""
    parts = text.replace("，", ",").split(",")
    try:
        lon, lat = (float(p) for p in parts)
    except ValueError:
        raise InputError(f"--at {text!r}: expected LON,LAT in degrees, e.g. 109.03,32.70") from None
    return lon, lat


@app.command()
def predict(scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
            technology: Annotated[str, typer.Option("--technology", "-t", help="A technology of the scenario.")],
            radius_km: Annotated[float, typer.Option("--radius-km", "-r", help="Radius of the prediction \\[km].")],
            site: Annotated[Optional[list[str]], typer.Option("--site", help="A candidate's site_id; repeat for several sites (one process, one folder each).")] = None,
            at: Annotated[Optional[str], typer.Option("--at", metavar="LON,LAT", help="A position instead of a site (needs --height).")] = None,
            at_crs: Annotated[str, typer.Option("--at-crs", help="The coordinates of --at: WGS84 (GPS), GCJ-02 (Amap, Tencent) or BD-09 (Baidu).")] = "WGS84",
            height: Annotated[Optional[float], typer.Option("--height", help="Antenna height above ground \\[m] (default: the site's).")] = None,
            model: Annotated[Optional[str], typer.Option("--model", help="Path-loss model: a technology model name or itm (default: the technology's).")] = None,
            out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder (default out/<name>/predict-<site>; with several sites, one sub-folder per site).")] = None,
            quiet: Annotated[bool, QUIET] = False, verbose: Annotated[bool, VERBOSE] = False) -> None:
    """Predict one site's path loss and received level on every DEM cell within a radius.

    Writes prediction.tif (COG: loss, level), prediction.png and prediction.kmz. Several
    --site options predict each site in the same process (start-up paid once), every site's
    files in a sub-folder named by its site_id; all are computed before any is written.

    Example: siting predict data/demo/scenario.yaml --site S0001 --technology 4G-1800 --radius-km 10 --model itm
    """
    from siting.config import load_scenario
    from siting.export.prediction import PREDICTION_FILES
    from siting.io import read_region
    from siting.predict import check_site_ids, predict_in_region

    if at is None and at_crs != "WGS84":  # it would be ignored: the sites' own positions count
        print(f"siting: error: --at-crs {at_crs} needs --at (the position it is the coordinates "
              f"of); a --site is placed by its candidate's own coordinates", file=sys.stderr)
        raise typer.Exit(2)
    _logging(verbose, quiet)
    sites = list(dict.fromkeys(site)) if site else [None]  # each site once, in order
    try:
        loaded = load_scenario(scenario)
        position = parse_lonlat(at) if at is not None else None
        region = read_region(loaded)
        check_site_ids(region, site or [])  # every id before any is computed
        timed = []
        for one in sites:
            started = time.perf_counter()
            with _warnings_in_option_words("siting.predict"):
                prediction = predict_in_region(region, loaded, technology=technology,
                                               radius_km=radius_km, site=one, at=position,
                                               height_m=height, model=model, at_system=at_crs)
            timed.append((prediction, time.perf_counter() - started))
        written = _write_predictions([prediction for prediction, _ in timed],
                                     _prediction_folders(out, loaded.name, sites),
                                     loaded.outputs.language)
    except Exception as exc:  # one line and an exit code, never a traceback
        _fail(exc, verbose, words=predict_option_words)
    if not quiet:
        for (prediction, seconds), out_dir in zip(timed, written):
            print(f"{prediction.points:,} cells within {radius_km:g} km of {prediction.site} "
                  f"({prediction.model}, {prediction.n_radials} radials) in {seconds:.2f} s; "
                  f"written to {out_dir.resolve()}: {', '.join(PREDICTION_FILES)}")


def _write_predictions(predictions: list, folders: list[Path], language: str) -> list[Path]:
    """Write each site's prediction into its folder, in order. When the outputs of one of
    several cannot be written (an OutputError), the error also names the sites already written
    and those not written; any other failure is a bug and stays what it is."""
    from siting.export.prediction import write_prediction

    written = []
    for prediction, folder in zip(predictions, folders):
        try:
            written.append(write_prediction(prediction, folder, language=language))
        except OutputError as exc:
            if len(predictions) == 1:
                raise
            done = ", ".join(p.site for p in predictions[:len(written)]) or "none"
            left = ", ".join(p.site for p in predictions[len(written):])
            raise OutputError(f"{exc}; sites written: {done}; not written: {left}",
                              path=folder, writing=f"the prediction of {prediction.site}") from exc
    return written


def _prediction_folders(out: Path | None, name: str, sites: list) -> list[Path]:
    """The output folder of each site's prediction: ``out`` (default
    ``out/<name>/predict-<site>``) for one site, ``<out or out/<name>/predict>/<site_id>``
    for several."""
    labels = [(s if s is not None else "point").replace("/", "_") for s in sites]
    if len(sites) == 1:
        return [out if out is not None else Path("out") / name / f"predict-{labels[0]}"]
    root = out if out is not None else Path("out") / name / "predict"
    return [root / label for label in labels]


@app.command()
def calibrate(scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
              measurements: Annotated[Path, typer.Argument(
                  help="Drive-test measurements: points with site_id, technology, rsrp_dbm (a "
                       "CSV/XLSX with lon, lat, or any vector file).")],
              out: Annotated[Optional[Path], typer.Option(
                  "--out", "-o", help="Folder for calibration.yaml and calibration_report.json "
                                      "(default: the scenario's folder).")] = None,
              crs: Annotated[Optional[str], typer.Option(
                  "--crs", help="CRS of the measurements' coordinates: any EPSG code, or GCJ-02 "
                                "(Amap, Tencent) / BD-09 (Baidu) (default: the file's own, WGS "
                                "84 for CSV/XLSX).")] = None,
              slope: Annotated[bool, typer.Option(
                  "--slope/--no-slope", help="Fit a distance slope [dB per decade] per "
                                             "technology besides its offsets (default), or "
                                             "offsets only.")] = True,
              quiet: Annotated[bool, QUIET] = False,
              verbose: Annotated[bool, VERBOSE] = False) -> None:
    """Fit the models to drive tests and report the held-out errors before and after.

    Per technology a model offset, an offset per land-cover class and a distance slope; the
    held-out errors before and after the fit are set against industry practice.

    Example: siting calibrate data/demo/scenario_landcover.yaml drive_tests.csv --out calib
    """
    from siting.calibrate import calibrate as fit
    from siting.config import load_scenario
    from siting.export.calibration import write_calibration

    _logging(verbose, quiet)
    try:
        loaded = load_scenario(scenario)
        _announce_compiling(quiet)  # once the scenario is read: a bad one gets its line alone
        result = fit(loaded, measurements, crs=crs, slope=slope)
        out_dir = write_calibration(result, measurements.name,
                                    out if out is not None else scenario.parent)
    except Exception as exc:  # one line and an exit code, never a traceback
        _fail(exc, verbose)
    if not quiet:
        _print_calibration(result, out_dir, slope)


def _print_calibration(result, out_dir: Path, slope_asked: bool) -> None:
    """What ``siting calibrate`` prints: the offsets, slopes, censored measurements, outliers
    and the held-out errors against industry practice."""
    from siting.calibrate import SLOPE_MIN_SPAN, practice_verdict
    from siting.export.calibration import CALIBRATION_FILES

    table = Table(title=f"siting calibrate: offsets \\[dB] ({result.n_train} measurements fitted)")
    for column in ("technology", "land-cover class", "offset", "fitted on"):
        table.add_column(column)
    for tech, classes in result.offsets_db.items():
        for name, offset in classes.items():
            table.add_row(tech, name, f"{offset:+.2f}", str(result.n_train_by_class[tech][name]))
    Console().print(table)
    for tech, slope in result.distance_slopes.items():
        if slope is not None:
            print(f"{tech}: distance slope {slope.db_per_decade:+.2f} dB per decade of distance "
                  f"from {slope.reference_km:.2f} km, applied over {slope.min_km:.2f}-"
                  f"{slope.max_km:.2f} km (the distances measured)")
        elif slope_asked:
            print(f"{tech}: no distance slope: the 10th to 90th percentile of its distances "
                  f"span less than a factor {SLOPE_MIN_SPAN:g}")
    for tech, count in result.n_at_floor.items():
        if count:
            print(f"{tech}: {count} measurement(s) at the handsets' reporting floor "
                  f"({result.reporting_floor_dbm[tech]:g} dBm: the level was at most that), "
                  f"fitted as censored")
    for tech, far in result.outliers.items():
        if far["n"]:
            named = ", ".join(f"{k} {v:+.1f} dB" for k, v in far["largest_db"].items())
            print(f"{tech}: {far['n']} measurement(s) more than {far['threshold_db']:.1f} dB from "
                  f"the fit, down-weighted (largest: {named}); check their serving site and "
                  f"position")
    print(f"held out: {result.held_out['n']} measurements; industry practice: mean error near "
          f"0 dB, standard deviation 6-8 dB")
    for when in ("before", "after"):
        print(f"  {practice_verdict(result.held_out, when)}, RMSE "
              f"{result.held_out[f'rmse_{when}_db']:.2f} dB")
    print(f"calibration written to {out_dir.resolve()}: {', '.join(CALIBRATION_FILES)}")


def named_template(template: str, name: str) -> str:
    """The scenario template with its run name set to ``name`` (the folder's), quoted as a YAML
    string so that a name YAML would read otherwise (``2027``, ``yes``, ``a: b``) stays text;
    the comment keeps its column."""
    line = next(line for line in template.splitlines() if line.startswith("name: "))
    comment = line[line.index("#"):]
    named = f"name: {json.dumps(name, ensure_ascii=False)}"
    return template.replace(line, f"{named:<29} {comment}", 1)


@app.command()
def init(folder: Annotated[Path, typer.Argument(help="Folder to create the scenario in.")],
         with_samples: Annotated[bool, typer.Option(
             "--samples/--no-samples", help="Copy the demo region's files as sample inputs.")] = True) -> None:
    """Write a commented scenario template (every key with its default) and sample inputs.

    Example: siting init my-region && siting validate my-region/scenario.yaml
    """
    import shutil
    from importlib.resources import files

    from siting.pipeline import DEMO_SCENARIO

    if folder.suffix.lower() in (".yaml", ".yml") and not folder.is_dir():  # the file, not its folder
        print(f"siting: error: {folder}: init takes the folder to create the scenario in (it "
              f"writes scenario.yaml there); give {shlex.quote(str(folder.parent))}", file=sys.stderr)
        raise typer.Exit(2)
    target = folder / "scenario.yaml"
    if target.exists():
        print(f"siting: error: {target}: already exists; choose another folder", file=sys.stderr)
        raise typer.Exit(2)
    if folder.exists() and not folder.is_dir():
        print(f"siting: error: {folder}: is a file, not a folder; choose another folder",
              file=sys.stderr)
        raise typer.Exit(2)
    samples = ("dem.tif", "population.tif", "region.gpkg") if with_samples else ()
    for name in samples:
        if not (DEMO_SCENARIO.parent / name).exists():
            print(f"siting: error: {DEMO_SCENARIO.parent / name}: sample data not found (run from "
                  f"a source checkout or use --no-samples)", file=sys.stderr)
            raise typer.Exit(2)
        if (folder / name).exists():  # a planner's own file of that name is never replaced
            print(f"siting: error: {folder / name}: already exists and would be replaced by the "
                  f"sample; use --no-samples to keep your own inputs, or choose another folder",
                  file=sys.stderr)
            raise typer.Exit(2)
    written: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in samples:
            written.append(folder / name)
            shutil.copyfile(DEMO_SCENARIO.parent / name, folder / name)
        written.append(target)
        template = files("siting").joinpath("scenario_template.yaml").read_text(encoding="utf-8")
        target.write_text(named_template(template, folder.resolve().name), encoding="utf-8")
    except (OSError, KeyboardInterrupt) as exc:  # a file where the folder should be, no
        for path in written:  # permission, a full disk, Ctrl-C: nothing half-written
            path.unlink(missing_ok=True)
        if isinstance(exc, KeyboardInterrupt):
            print(f"siting: interrupted; nothing was written to {folder}", file=sys.stderr)
            raise typer.Exit(130) from None
        print(f"siting: error: cannot write the scenario to {folder} ({exc.strerror or exc}); "
              f"choose another folder", file=sys.stderr)
        raise typer.Exit(1) from None
    own_inputs = ("" if with_samples else "; point its inputs.dem, inputs.population and "
                  "inputs.vectors (or each layer's own file) at your data")
    print(f"wrote {target}" + (" and sample inputs" if with_samples else "") + own_inputs
          + f"; check it with: siting validate {shlex.quote(str(target))}")


#: Commands after which the process ends without the interpreter's teardown: their outputs are
#: written and closed by then and they leave no thread, subprocess or temporary file behind.
FAST_EXIT_COMMANDS = ("predict",)


def _interrupt(signum: int, frame) -> None:
    """Stop a command on SIGTERM as on Ctrl-C (:class:`KeyboardInterrupt` where it is), so
    its staging folder is removed and the previous outputs stay as they were."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main() -> None:  # pragma: no cover - console entry point
    """The ``siting`` command. SIGTERM (``kill``, ``timeout``, a job scheduler) interrupts it
    as Ctrl-C does (exit 130, nothing half-written left behind). After a command of
    :data:`FAST_EXIT_COMMANDS` the process ends at once (``os._exit``, with stdout, stderr and
    logging flushed): the interpreter's teardown, which unloads every numba kernel, is a
    noticeable share of a small prediction's run (``benchmarks/vs_splat.py`` times whole
    processes). Only here, never inside ``app``, which tests and notebooks run in their own
    process."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        app()
    except SystemExit as done:
        if sys.argv[1:2] and sys.argv[1] in FAST_EXIT_COMMANDS:
            code = done.code
            if not (code is None or isinstance(code, int)):  # sys.exit("message")
                print(code, file=sys.stderr)
                code = 1
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code or 0)
        raise


if __name__ == "__main__":  # pragma: no cover
    main()

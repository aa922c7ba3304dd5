"""The outputs of ``siting evaluate``: ``evaluation.md`` and ``evaluation.html`` (printable,
per-county tables and a map), ``evaluation.png`` (the map), ``evaluation.xlsx`` (one sheet per
table, :data:`SHEETS`) and ``evaluation.json``.

The content is assembled once as a :class:`~siting.export.report.Report`, rendered by the same
Markdown and HTML renderers as the plan's report, in the scenario's ``report.language``. The
spreadsheet and JSON keep siting's machine names (columns, statuses) in either language, like
the plan's CSV and GeoPackage. Every text cell of the workbook is stored as text, so a name
such as ``=HYPERLINK(...)`` is shown, never evaluated.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure as MplFigure
from openpyxl import Workbook

from siting.diskfaults import write_files
from siting.export.html_report import render_html
from siting.export.i18n import admin_text, admin_unit_names, check_language, term, value_text
from siting.export.cells import money_cell, persons
from siting.export.report import Figure, Report, Section, Table, render_markdown
from siting.export.staticmap import (
    add_rsrp_legend,
    add_side_legend,
    admin_units_in_view,
    draw_admin_units,
    draw_north_and_scale,
    draw_rasters,
    plain_label,
    rsrp_legend_labels,
    scale_bar_km,
    text_fonts,
    unit_labels,
)

#: The workbook's sheets, each a table of the evaluation (attribute of ``Evaluation``).
SHEETS = {"overall": "overall", "counties": "counties", "sites": "sites",
          "uncovered_villages": "uncovered", "complaints": "complaints", "score_rule": "score_rule"}
EVALUATION_FILES = ("evaluation.png", "evaluation.md", "evaluation.html", "evaluation.xlsx",
                    "evaluation.json")
#: Marker colour of each site status on the map.
STATUS_COLOURS = {"on_time": "#1a9641", "early": "#66bd63", "late": "#fdae61",
                  "not_built": "#d7191c", "not_in_plan": "#7b3294"}
#: Marker colour of each complaint status on the map.
COMPLAINT_COLOURS = {"resolved": "#1a9641", "still_uncovered": "#000000",
                     "new_covered": "#2c7bb6", "new_uncovered": "#d7191c"}
#: Rows of the overall table and columns of the county table that only a plan with backhaul
#: has (without, they are all 0: nothing to plan or change).
BACKHAUL_KPIS = ("sites_backhaul_changed", "feeds_due", "backhaul_cny")
#: Without backhaul, the KPIs and columns of cost are named by what they hold then: capex.
CAPEX_NAMES = {"cost_cny": "capex_cny", "planned_cost_cny": "planned_capex_cny"}
#: Columns of the county table shown in the report, in order.
COUNTY_COLUMNS = ("admin_unit", "sites_due", "sites_on_time", "sites_early", "sites_late",
                  "sites_not_built", "sites_not_in_plan", "sites_backhaul_changed",
                  "planned_cost_cny", "spent_cny", "people_planned", "people_achieved",
                  "mandatory_villages_planned", "mandatory_villages_achieved",
                  "mandatory_villages_uncovered", "complaints_resolved",
                  "complaints_still_uncovered", "complaints_new", "score")


def build_evaluation_report(evaluation, *, figure: bool = True) -> Report:
    """The evaluation as a :class:`Report` in the scenario's language."""
    lang = check_language(evaluation.language)
    e = evaluation
    names_zh = admin_unit_names(e.region.admin_units)
    sections = [
        Section(term("evaluation.section.overall", lang), [Table(overall_header(lang),
                                                                 overall_rows(e, lang))]),
        Section(term("evaluation.section.counties", lang),
                [_county_table(e.counties, lang, e.with_backhaul, names_zh)]),
    ]
    if figure:
        sections.append(Section(term("section.figures", lang),
                                [Figure("evaluation.png", term("evaluation.figure", lang))]))
    sections += [
        Section(term("evaluation.section.sites", lang),
                [*_backhaul_changed_line(e.sites, lang), _sites_table(e.sites, lang, e.with_backhaul, names_zh)]),
        Section(term("evaluation.section.uncovered", lang), [_uncovered_table(e.uncovered, lang, names_zh)]),
        Section(term("evaluation.section.complaints", lang), [_complaints_table(e.complaints, lang, names_zh)]),
        Section(term("evaluation.section.score_rule", lang), [_score_rule_table(e.score_rule, lang)]),
    ]
    for section in sections:
        section.blocks = [term("evaluation.none", lang) if isinstance(b, Table) and not b.rows else b
                          for b in section.blocks]
    intro = [term("evaluation.intro", lang, plan=e.plan_name, year=e.year, source=e.as_built_source)]
    return Report(term("evaluation.title", lang, name=e.plan_name, year=e.year), intro, sections,
                  language=lang, footer_key="evaluation.footer")


def _headers(names, lang: str) -> list[str]:
    return [term(f"evaluation.column.{n}", lang) for n in names]


def overall_header(lang: str) -> list[str]:
    """The header of the overall table: KPI, planned, achieved."""
    return _headers(["kpi", "planned", "achieved"], lang)


def overall_rows(evaluation, lang: str) -> list[list]:
    """The overall table's rows as ``evaluation.md`` and the terminal show them: the KPI in
    words, planned, achieved ("" where it does not apply), people whole, amounts in the money
    of ``lang`` (:func:`_amount`), the score to its one decimal; the backhaul rows
    (:data:`BACKHAUL_KPIS`) only for a plan with backhaul."""
    overall, names = evaluation.overall, {}
    if not evaluation.with_backhaul:
        overall, names = overall[~overall["name"].isin(BACKHAUL_KPIS)], CAPEX_NAMES
    shown = {"score": _score, "people_covered": lambda v: persons(_count(v))}
    return [[term(f"evaluation.kpi.{names.get(r.name, r.name)}", lang),
             *(shown.get(r.name, _amount(lang) if r.name.endswith("_cny") else _count)(v)
               for v in (r.planned, r.achieved))]
            for r in overall.itertuples()]


def _amount(lang: str):
    """A function showing an amount [CNY] in the money of ``lang`` as the report does
    (:func:`~siting.export.cells.money_cell`: 万元 to 0.01 in Chinese, whole CNY in English),
    NaN as empty."""
    return lambda value: "" if pd.isna(value) else money_cell(value, lang)


def _count(value):
    """A KPI as the table shows it: whole numbers without decimals (0, not 0.00), NaN as
    empty."""
    if pd.isna(value):
        return ""
    return int(value) if float(value).is_integer() else float(value)


def _score(value):
    """A score (0-100) as the table shows it: to the one decimal it is computed to (93.2,
    90.0; a Decimal, so it reads so and is aligned as a number), NaN as empty."""
    return "" if pd.isna(value) else Decimal(f"{value:.1f}")


def _county_table(counties: pd.DataFrame, lang: str, with_backhaul: bool,
                  names_zh: dict[str, str]) -> Table:
    """The county table; a county named in Chinese from ``names_zh`` (:func:`admin_text`)."""
    columns = [c for c in COUNTY_COLUMNS if with_backhaul or c not in BACKHAUL_KPIS]
    shown = {"admin_unit": lambda unit: admin_text(unit, lang, names_zh), "score": _score,
             "people_planned": persons, "people_achieved": persons}
    rows = []
    for record in counties[columns].itertuples(index=False):
        row = [v.item() if isinstance(v, np.generic) else v for v in record]
        rows.append([shown.get(c, _amount(lang) if c.endswith("_cny") else lambda v: v)(v)
                     for c, v in zip(columns, row)])
    names = {} if with_backhaul else CAPEX_NAMES
    return Table(_headers([names.get(c, c) for c in columns], lang), rows)


def _sites_table(sites, lang: str, with_backhaul: bool, names_zh: dict[str, str]) -> Table:
    """The planned and built sites (not those of later years); the planned backhaul columns
    for a plan with backhaul, the built one when the as-built list names some."""
    shown = sites[sites["status"] != "later"]
    values = {
        "site_id": lambda r: r.site_id, "admin_unit": lambda r: admin_text(r.admin_unit, lang, names_zh),
        "technology": lambda r: r.technology or term("evaluation.feed_only", lang),
        "planned_year": lambda r: r.planned_year, "built_year": lambda r: r.built_year,
        "planned_backhaul": lambda r: _backhaul(r.planned_backhaul, lang),
        "built_backhaul": lambda r: _backhaul(r.built_backhaul, lang),
        "planned_capex_cny": lambda r: _amount(lang)(r.planned_capex_cny),
        "planned_backhaul_cny": lambda r: _amount(lang)(r.planned_backhaul_cny),
        "actual_cost_cny": lambda r: _amount(lang)(r.actual_cost_cny),
        "status": lambda r: value_text("site_status", r.status, lang)}
    hidden = set() if with_backhaul else {"planned_backhaul", "planned_backhaul_cny"}
    if not (sites["built_backhaul"] != "").any():
        hidden.add("built_backhaul")
    columns = [c for c in values if c not in hidden]
    rows = [[values[c](r) for c in columns] for r in shown.itertuples()]
    return Table(_headers(columns, lang), rows)


def _backhaul(kind: str, lang: str) -> str:
    return value_text("backhaul", kind, lang) if kind else ""


def _backhaul_changed_line(sites, lang: str) -> list[str]:
    """The sentence naming each site built with another backhaul than planned (none: no line)."""
    changed = sites[sites["backhaul_changed"]].drop_duplicates("site_id")
    if changed.empty:
        return []
    named = [term("evaluation.backhaul_changed_site", lang, site=r.site_id,
                  planned=_backhaul(r.planned_backhaul, lang), built=_backhaul(r.built_backhaul, lang))
             for r in changed.itertuples()]
    return [term("evaluation.backhaul_changed", lang, sites=", ".join(named))]


def _uncovered_table(uncovered, lang: str, names_zh: dict[str, str]) -> Table:
    columns = ["village_id", "name", "admin_unit", "population", "reason"]
    rows = [[r.village_id, r.name, admin_text(r.admin_unit, lang, names_zh), persons(r.population),
             value_text("reason", r.reason, lang)] for r in uncovered.itertuples()]
    return Table(_headers(columns, lang), rows)


def _complaints_table(complaints, lang: str, names_zh: dict[str, str]) -> Table:
    shown = complaints[complaints["status"] != "covered_before"]
    columns = ["complaint_id", "admin_unit", "status", "nearest_unbuilt_site", "its_planned_year",
               "distance_m"]
    rows = [[r.complaint_id, admin_text(r.admin_unit, lang, names_zh),
             value_text("complaint_status", r.status, lang), r.nearest_unbuilt_site,
             r.its_planned_year, "" if pd.isna(r.distance_m) else round(r.distance_m)]
            for r in shown.itertuples()]
    return Table(_headers(columns, lang), rows)


def _score_rule_table(rule: pd.DataFrame, lang: str) -> Table:
    rows = [[term(f"evaluation.criterion.{r.criterion}", lang), r.weight,
             term(f"evaluation.definition.{r.criterion}", lang)] for r in rule.itertuples()]
    return Table(_headers(["criterion", "weight", "definition"], lang), rows)


# ---------------------------------------------------------------------------------------
# The map


def write_evaluation_map(path: Path, evaluation) -> None:
    """``evaluation.png``: coverage of the as-built network over the hillshade, sites by
    status, mandatory villages still uncovered, complaint points by status."""
    figure = MplFigure(figsize=(11, 8.5), dpi=150)
    draw_evaluation_map(figure.add_subplot(), evaluation)
    figure.savefig(path, bbox_inches="tight")


def draw_evaluation_map(ax, evaluation) -> None:
    """Draw what ``evaluation.png`` shows on ``ax``."""
    e, lang = evaluation, check_language(evaluation.language)
    terrain = e.region.terrain
    units = admin_units_in_view(e.region.admin_units, terrain)
    xmin, _, xmax, _ = terrain.bounds
    bar_km = scale_bar_km((xmax - xmin) / 1000)
    layers = _map_layers(e, lang)
    rsrp = rsrp_legend_labels(lang)
    words = [term("evaluation.map_title", lang, name=e.plan_name, year=e.year),
             term("staticmap.north", lang), term("staticmap.scale", lang, km=bar_km),
             term("staticmap.admin_units", lang),
             term("staticmap.easting", lang, crs=e.region.crs.name), term("staticmap.northing", lang),
             *[label for label, *_ in layers], *rsrp]
    fonts = text_fonts([*words, *unit_labels(units, lang)], lang)
    with matplotlib.rc_context({"font.family": fonts}):
        extent_km = draw_rasters(ax, terrain, e.level_dbm, e.level_transform)
        for label, frame, style in layers:
            ax.scatter(frame.geometry.x / 1000, frame.geometry.y / 1000, label=plain_label(label),
                       **style)
        if units is not None:
            draw_admin_units(ax, units, words[3], lang)
        add_rsrp_legend(ax, rsrp)
        ax.set_xlim(extent_km[0], extent_km[1])
        ax.set_ylim(extent_km[2], extent_km[3])
        ax.set_xlabel(words[4], parse_math=False, family=fonts)
        ax.set_ylabel(words[5], parse_math=False, family=fonts)
        ax.set_title(words[0], parse_math=False, family=fonts)
        add_side_legend(ax)
        draw_north_and_scale(ax, words[1], bar_km, words[2])


def _map_layers(e, lang: str) -> list:
    """(legend label, points, scatter style) of each layer the map draws, empty ones left out;
    the sites are builds and upgrades, as the tables count them (not the rows of a feed alone)."""
    layers = []
    sites = e.sites[e.sites["technology"] != ""]
    for status, colour in STATUS_COLOURS.items():
        frame = sites[sites["status"] == status]
        layers.append((f"{value_text('site_status', status, lang)} ({len(frame)})", frame,
                       {"marker": "^", "s": 40, "c": colour, "edgecolors": "k",
                        "linewidths": 0.4, "zorder": 5}))
    layers.append((f"{term('evaluation.map_uncovered', lang)} ({len(e.uncovered)})", e.uncovered,
                   {"marker": "o", "s": 14, "c": "#d7191c", "edgecolors": "white",
                    "linewidths": 0.4, "zorder": 6}))
    for status, colour in COMPLAINT_COLOURS.items():
        frame = e.complaints[e.complaints["status"] == status]
        label = term("evaluation.map_complaint", lang, status=value_text("complaint_status", status, lang))
        layers.append((f"{label} ({len(frame)})", frame,
                       {"marker": "x", "s": 18, "c": colour, "linewidths": 1.0, "zorder": 7}))
    return [layer for layer in layers if len(layer[1])]


# ---------------------------------------------------------------------------------------
# The workbook and the files


def write_workbook(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    """One sheet per table, header in row 1; text cells are stored as text (never formulas)."""
    book = Workbook()
    book.remove(book.active)
    for name, frame in sheets.items():
        sheet = book.create_sheet(name)
        frame = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
        sheet.append([str(c) for c in frame.columns])
        for record in frame.itertuples(index=False):
            sheet.append([_cell(v) for v in record])
        for row in sheet.iter_rows(min_row=1):
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # a value starting with "=" stays text
    book.save(path)


def _cell(value):
    """A table value as a workbook cell holds it: numbers as numbers, NaN as empty."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _writers(evaluation) -> dict:
    e = evaluation
    sheets = {name: getattr(e, attribute) for name, attribute in SHEETS.items()}
    return {
        "evaluation.png": lambda path: write_evaluation_map(path, e),
        "evaluation.md": lambda path: path.write_text(render_markdown(build_evaluation_report(e)),
                                                      encoding="utf-8"),
        "evaluation.html": lambda path: path.write_text(
            render_html(build_evaluation_report(e), base=path.parent), encoding="utf-8"),
        "evaluation.xlsx": lambda path: write_workbook(path, sheets),
        "evaluation.json": lambda path: path.write_text(
            json.dumps(e.as_json(), indent=2, ensure_ascii=False, allow_nan=False) + "\n",
            encoding="utf-8"),
    }


def write_evaluation(evaluation, out_dir: str | os.PathLike) -> Path:
    """Write :data:`EVALUATION_FILES` into ``out_dir`` (created if needed): rendered in a
    staging folder inside it, then renamed into place, so a failure leaves the previous files.
    Returns ``out_dir``."""
    return write_files(_writers(evaluation), out_dir, "evaluation")

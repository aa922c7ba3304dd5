"""``report.md`` (and the data behind ``report.html``): what the committee reads: the plan, its
cost, who gains coverage, what is still missing and why, and how the plan compares with simpler
rules.

:func:`build_report` assembles the content once as data (sections of paragraphs, tables, lists
and figures); :func:`render_markdown` and :mod:`siting.export.html_report` only render it, so
both reports always say the same thing. The report is written in the scenario's
``report.language`` (English or Simplified Chinese, the words from :mod:`siting.export.i18n`);
names and numbers read the same in both, but for money: CNY in English, 万元 in Chinese
(:func:`~siting.export.i18n.money`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from siting.export.cells import (FIELD_DECIMALS, NO_VALUE_CELL, CountOf, cell_text, or_dash, percent,
                                 persons)
from siting.export.i18n import (MONEY_DECIMALS, MONEY_UNIT_CNY, admin_text, check_language, join,
                                 model_text, money, stage_text, term, value_text)
from siting.export.style import BUILT_ACTIONS
from siting.export.tables import PlanTables
from siting.labels import ALL_UNITS, OUTSIDE_ADMIN_UNITS


@dataclass(frozen=True)
class Table:
    """A table: its header cells and its rows (values, formatted by :func:`cell_text`).

    ``decimals`` gives, column by column, the decimals a measured quantity is written with
    (a height [m] to 0.1: 33.7, not 33.70); a column beyond it, or None, is written by
    :func:`cell_text`'s default."""
    header: list[str]
    rows: list[list]
    decimals: tuple[int | None, ...] = ()

    def column_decimals(self, column: int) -> int | None:
        """The decimals of column ``column`` (None: :func:`cell_text`'s default)."""
        return self.decimals[column] if column < len(self.decimals) else None


def _table(keys, rows: list[list], lang: str, decimals: tuple[int | None, ...] = (),
          summed: tuple[str, ...] = ()) -> Table:
    """A :class:`Table` of the columns ``keys`` (their ``header.`` terms) in ``lang``: a
    column of money (a key naming ``cny``) in the language's unit and decimals
    (:func:`~siting.export.i18n.money`: 万元 in Chinese); the columns in ``summed`` rounded so
    that their rows add up to the total of the column (:func:`apportioned`)."""
    keys, rows = list(keys), [list(row) for row in rows]
    decimals = list(decimals) + [None] * (len(keys) - len(decimals))
    for column, key in enumerate(keys):
        numbers = [i for i, row in enumerate(rows) if _is_number(row[column])]
        if "cny" in key:
            decimals[column] = MONEY_DECIMALS[lang]
            for i in numbers:
                rows[i][column] = money(rows[i][column], lang)
        if key in summed:
            shown = apportioned([rows[i][column] for i in numbers], decimals[column] or 0)
            for i, value in zip(numbers, shown):
                rows[i][column] = value
    return Table([term(f"header.{key}", lang) for key in keys], rows, tuple(decimals))


def _is_number(value) -> bool:
    """Whether ``value`` is a finite number (not a bool, not :data:`NO_VALUE_CELL`, not NaN)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


@dataclass(frozen=True)
class Steps:
    """A numbered list."""
    items: list[str]


@dataclass(frozen=True)
class Figure:
    """An image next to the report (``path`` relative to the report's folder)."""
    path: str
    caption: str


# A block is a paragraph (str, ``**bold**`` allowed), a Table, Steps or a Figure.
@dataclass
class Section:
    """A titled section of the report and its blocks, in order."""
    title: str
    blocks: list = field(default_factory=list)


@dataclass
class Report:
    """A whole report, independent of its format (Markdown here, HTML in html_report)."""
    title: str
    intro: list
    sections: list[Section]
    language: str = "en"  # one of siting.export.i18n.LANGUAGES
    footer_key: str = "footer.html"  # the term of the HTML page's footer ({map_link}: map.html)


def apportioned(values, decimals: int = 0) -> list:
    """``values`` rounded to ``decimals`` so that they add up to their own sum so rounded
    (Hamilton's largest-remainder method): each is rounded down, then those with the largest
    remainders get one more unit until the total is reached. A table's rows then add up to
    the total the report shows (three counties' 1.4 + 1.4 + 1.2 people read 1 + 2 + 1 = 4,
    not 1 + 1 + 1 = 3). Whole numbers (int) for ``decimals`` 0.

    References
    ----------
    Balinski, M. L., Young, H. P. (2001). Fair Representation, 2nd ed., Brookings, ch. 2
    (Hamilton's method).
    """
    scale = 10 ** decimals
    units = [value * scale for value in values]
    floors = [math.floor(u + 1e-9) for u in units]  # 1e-9: 7621.9999999 units are 7622
    missing = round(sum(units)) - sum(floors)
    by_remainder = sorted(range(len(units)), key=lambda i: floors[i] - units[i])
    for i in by_remainder[:max(missing, 0)]:
        floors[i] += 1
    return [int(f) if decimals == 0 else f / scale for f in floors]


def build_report(tables: PlanTables, *, figures: tuple[Figure, ...] = (),
                 language: str | None = None) -> Report:
    """The content of the report of a run, as data, in ``language`` (default: the scenario's
    ``outputs.language``). Names and numbers are shown as they are in either language, amounts
    of money in its unit (CNY, 万元).

    Parameters
    ----------
    tables : siting.export.tables.PlanTables
        The run's tables (:func:`~siting.export.tables.plan_tables`); the report reads its
        summary, sites, the villages' admin units and the scenario's assumptions.
    figures : tuple of Figure
        Figures to show (the HTML report's map.png and cost-coverage curve).
    language : str, optional
        "en" or "zh"; the scenario's by default.
    """
    lang = check_language(language or tables.language)
    summary = tables.summary
    k = summary["kpis"]
    scenario = tables.scenario
    people_total = k["people_total"] or 1.0
    sections = [_headline_section(k, people_total, lang, replan="as_built" in summary)]
    if "mandatory_deadline" in summary:
        sections[0].blocks += _deadline_blocks(summary["mandatory_deadline"], tables.village_admin_units,
                                               summary.get("admin_unit_names_zh", {}), lang)
    if "as_built" in summary:
        sections.append(_as_built_section(summary["as_built"], lang))
    if summary["phases"]:
        sections.append(_schedule_section(summary, scenario.objective, people_total, lang))
    if figures:
        sections.append(Section(term("section.figures", lang), list(figures)))
    if "backhaul" in summary:
        sections.append(_backhaul_section(summary["backhaul"], tables.backhaul_links, lang))
    sections += _breakdown_sections(summary, lang)
    sections.append(_uncovered_section(summary, tables.village_admin_units, lang))
    sections.append(_sites_section(tables.sites, lang))
    sections.append(_assumptions_section(scenario, tables.has_population_raster, lang))
    sections.append(Section(term("section.stages", lang),
                            [Steps([stage_text(s, lang) for s in summary["solver"]["stages"]])]))
    return Report(title=term("report.title", lang, name=scenario.name),
                  intro=_intro(summary["solver"], scenario.objective, lang,
                               time_limit_s=scenario.solver.time_limit_s), sections=sections,
                  language=lang)


def _intro(solver: dict, objective, lang: str, *, time_limit_s: float) -> list[str]:
    """The objective with its limits, and the solver's outcome; its bound is named by the
    objective's sense (:class:`siting.optimize.solution.Solution`: an upper bound on the
    covered weight of ``max_coverage``, a lower bound on the cost of ``min_cost``); a solve
    stopped at its time limit (``time_limit_s`` [s]) is said to be not proven the best."""
    goal = term("goal.min_cost" if objective.kind == "min_cost" else "goal.max_coverage", lang)
    limits = []
    if objective.budget_cny is not None:
        limits.append(term("limit.budget", lang, budget=money(objective.budget_cny, lang)))
    if objective.max_new_sites is not None:
        limits.append(term("limit.max_new_sites", lang, count=objective.max_new_sites))
    if objective.phases:
        goal = term("goal.phased", lang, year=objective.mandatory_by or objective.phases[-1].label)
        limits.append(term("limit.phases", lang, count=len(objective.phases)))
    within = term("report.within", lang, limits=join(limits, lang)) if limits else ""
    gap = _known(None if solver["gap"] is None else 100 * solver["gap"], "{:.3f}%")
    return [term("report.objective", lang, goal=goal, limits=within, years=objective.opex_years),
            term("report.solver", lang, name=solver["name"],
                 status=value_text("solver_status", solver["status"], lang),
                 objective=_objective_text(solver["objective"], objective, lang),
                 bound_name=term("report.bound_min" if objective.kind == "min_cost"
                                 else "report.bound_max", lang),
                 bound=_objective_text(solver["bound"], objective, lang), gap=gap)
            ] + _time_limit_note(solver["status"], gap, lang, time_limit_s=time_limit_s)


def _objective_text(value: float | None, objective, lang: str) -> str:
    """The solver's objective or bound with its unit: person-years of coverage for a phased
    plan, else a cost in the language's money (``min_cost``) or people covered; :data:`NO_VALUE_CELL`
    when not known (as :func:`_known`)."""
    if value is None:
        return NO_VALUE_CELL
    if objective.phases:
        return term("report.person_years", lang, count=value)
    if objective.kind == "min_cost":
        return term("report.amount", lang, cny=money(value, lang))
    return term("report.people", lang, count=value)


def _time_limit_note(status: str, gap: str, lang: str, *, time_limit_s: float) -> list[str]:
    """What a solve stopped at its time limit means for the plan, and the setting to raise
    (``gap`` as shown, :data:`NO_VALUE_CELL` when no bound is known); [] for a proven plan."""
    if status != "time_limit":
        return []
    if gap == NO_VALUE_CELL:
        return [term("report.time_limit_no_bound", lang, seconds=time_limit_s)]
    return [term("report.time_limit", lang, seconds=time_limit_s, gap=gap)]


def _known(value: float | None, form: str) -> str:
    """``value`` written in ``form``; :data:`NO_VALUE_CELL` when it is not known (None: a solve
    stopped before its first bound leaves the bound and the gap unknown)."""
    return NO_VALUE_CELL if value is None else form.format(value)


def _headline_section(k: dict, people_total: float, lang: str, *, replan: bool = False) -> Section:
    """KPIs before and after the plan, the complaint points the model covers with the network
    they were raised against (a re-plan's: without the as-built list's sites), and what the
    plan builds and costs; first, when some mandatory demand stays uncovered, that it does."""
    def of(done, total):
        return CountOf(k[done], k[total])

    def before_after(done, total):  # the count before the plan and after it, of one total
        return [of(f"{done}_before", total), of(done, total)]

    rows = [
        [term("kpi.people_covered", lang), persons(k["people_covered_before"]),
         persons(k["people_covered_after"])],
        [term("kpi.people_covered_pct", lang), percent(k["people_covered_before"], people_total),
         percent(k["people_covered_after"], people_total)],
        [term("kpi.villages_covered", lang), of("villages_covered_before", "villages_total"),
         of("villages_covered_after", "villages_total")],
        [term("kpi.mandatory_villages_covered", lang),
         *before_after("mandatory_villages_covered", "mandatory_villages_total")],
        [term("kpi.complaints_covered", lang), of("complaints_covered_before_plan", "complaints_total"),
         of("complaints_covered", "complaints_total")],
        [term("kpi.zone_points_covered_5g", lang),
         *before_after("zone_points_covered_5g", "zone_points_total")],
    ]
    if k["backup_points_total"]:
        rows.append([term("kpi.backup_points_met", lang),
                     *before_after("backup_points_met", "backup_points_total")])
    header = [term(f"header.{h}", lang) for h in ("kpi", "before", "after")]
    check = "report.complaints_before_replan" if replan else "report.complaints_before"
    plausibility = [term(check, lang, covered=k["complaints_covered_before"],
                         total=k["complaints_total"])] if k["complaints_total"] else []
    costs = term("report.costs_with_backhaul" if k["backhaul_cost_cny"] else "report.costs", lang,
                 new_sites=k["new_sites"], upgrades=k["upgrades"],
                 capex=money(k["capex_cny"], lang), opex=money(k["opex_cny_per_year"], lang),
                 **_cost_split(k["site_cost_cny"], k["backhaul_cost_cny"], lang))
    uncovered = k["mandatory_points_uncovered"]
    missed = [term("report.mandatory_missed", lang, section=term("section.uncovered", lang),
                   **uncovered)] if sum(uncovered.values()) else []
    return Section(term("section.headline", lang), [*missed, Table(header, rows), *plausibility,
                                                    costs])


def _cost_split(site_cny: float, backhaul_cny: float, lang: str) -> dict[str, float]:
    """``site``, ``backhaul`` and their ``total`` in the language's money, rounded to its
    decimals so that the two shown add up to the total shown (:func:`apportioned`)."""
    decimals = MONEY_DECIMALS[lang]
    site, backhaul = apportioned([money(site_cny, lang), money(backhaul_cny, lang)], decimals)
    return {"site": site, "backhaul": backhaul, "total": round(site + backhaul, decimals)}


def _split_cny(site_cny: float, backhaul_cny: float, lang: str) -> list[float]:
    """Sites, backhaul and total [CNY] as :func:`_cost_split` shows them (a table row's
    money columns, which :func:`_table` writes in the language's money)."""
    split = _cost_split(site_cny, backhaul_cny, lang)
    return [split[key] * MONEY_UNIT_CNY[lang] for key in ("site", "backhaul", "total")]


def _deadline_blocks(facts: dict, units: dict[str, str], names_zh: dict[str, str],
                     lang: str) -> list:
    """A phased plan's mandatory demand at its deadline and, when missed, the mandatory
    villages covered later or never, with their year (admin units as in
    :func:`_uncovered_section`)."""
    blocks: list = [term("report.deadline", lang, year=facts["year"], points=facts["points_covered"],
                         total=facts["points_total"], villages=facts["villages_covered"],
                         villages_total=facts["villages_total"])]
    if facts["late"]:
        header = ("village", "name", "admin_unit", "covered_in")
        blocks += [term("report.deadline_missed", lang), Table(
            [term(f"header.{h}", lang) for h in header],
            [[v["village_id"], v["name"], _village_unit(v, units, names_zh, lang),
              v["year"] or term("report.never", lang)] for v in facts["late"]])]
    return blocks


def _capacity_blocks(facts: dict, lang: str) -> list[str]:
    """What the plan says of link capacity: planned, each generation's traffic (and that
    no band carries even one site's, where so), the fullest hop and the busiest hop no capacity limits (its band offered without
    ``capacity_mbps``); else not planned, and the relays to check."""
    relays, traffic = facts["relays"], facts["site_traffic_mbps"]
    if traffic is not None:
        per_site = join([f"{g} {mbps:g} Mbit/s" for g, mbps in sorted(traffic.items())], lang)
        text = term("report.backhaul_capacity_planned", lang, traffic=per_site)
        largest = facts["largest_hop_capacity_mbps"]
        if largest is not None and facts["max_hops"] > 0 and min(traffic.values()) > largest:
            text += term("report.backhaul_no_hop_carries_a_site", lang, capacity=largest,
                         traffic=min(traffic.values()))
        fullest = None if relays is None else relays["fullest_hop"]
        if fullest is not None:
            text += term("report.backhaul_fullest_hop", lang, hop_from=fullest["from_id"],
                         hop_to=fullest["to_id"], band=fullest["band_ghz"],
                         load=fullest["load_mbps"], capacity=fullest["capacity_mbps"])
        if facts["loads_year"] is not None:
            text += term("report.backhaul_loads_year", lang, year=facts["loads_year"])
        unlimited = None if relays is None else relays["unlimited_hop"]
        if unlimited is not None:
            text += term("report.backhaul_unlimited_hop", lang, hop_from=unlimited["from_id"],
                         hop_to=unlimited["to_id"], band=unlimited["band_ghz"],
                         load=unlimited["load_mbps"])
        return [text]
    if relays is None:
        return []
    relay, hop = relays["busiest_relay"], relays["busiest_hop"]
    return [term("report.backhaul_capacity", lang, relay=relay["site_id"],
                 relay_hops=relay["hops"], hop_from=hop["from_id"], hop_to=hop["to_id"],
                 band=hop["band_ghz"], carried=hop["sites_carried"])]


def _backhaul_section(facts: dict, links, lang: str) -> Section:
    """The cost split into sites and backhaul, the feeds by kind, the joint plan next to the
    plan of two steps, and every link (the hops), deepest first."""
    kinds = facts["by_kind"]
    blocks: list = [term("report.backhaul_costs", lang,
                         **_cost_split(facts["site_cost_cny"], facts["backhaul_cost_cny"], lang),
                         fiber=kinds["fiber"]["sites"], fiber_km=facts["fiber_km"],
                         on_site=facts["fiber_on_site"], microwave=kinds["microwave"]["sites"],
                         deepest=facts["deepest_hop"], max_hops=facts["max_hops"],
                         satellite=kinds["satellite"]["sites"])]
    blocks += _capacity_blocks(facts, lang)
    if facts["in_place"]:
        blocks.append(term("report.backhaul_in_place", lang, in_place=facts["in_place"]))
    if facts["comparison"]:
        header = ("plan", "site_cost_cny", "backhaul_cost_cny", "total_cost_cny",
                  "people_covered", "mandatory_covered")
        blocks += [term("report.backhaul_compared", lang), _table(
            header,
            [[value_text("baseline", b["label"], lang), b["site_cost_cny"], b["backhaul_cost_cny"],
              b["total_cost_cny"], persons(b["people_covered"]), b["mandatory_covered"]]
             for b in facts["comparison"]], lang)]
        if len(facts["comparison"]) == 1:  # the joint plan alone
            blocks.append(term("report.backhaul_compared_none", lang))
        elif any(b["cut_short"] for b in facts["comparison"]):
            blocks.append(term("report.backhaul_compared_cut_short", lang))
    phased = "phase" in links  # a phased plan: the year each feed is built in
    loads = facts["site_traffic_mbps"] is not None  # link capacity planned: each link's load
    header = (("from_id", "to_id", "backhaul", "band_ghz", "length_m", "cost_cny",
               "min_clearance_f1", "hop") + (("load_mbps", "capacity_mbps") if loads else ())
              + (("year",) if phased else ()))
    ordered = links.sort_values(["hop", "from_id"], ascending=[False, True])
    blocks += [term("report.backhaul_links", lang), _table(
        header,
        [[r.from_id, or_dash(r.to_id), value_text("backhaul", r.kind, lang), or_dash(r.band_ghz),
          or_dash(r.length_m), r.cost_cny, or_dash(r.min_clearance_f1), or_dash(r.hop)]
         + ([or_dash(r.load_mbps), or_dash(r.capacity_mbps)] if loads else [])
         + ([r.phase] if phased else []) for r in ordered.itertuples()], lang,
        decimals=(None, None, None, None, FIELD_DECIMALS["length_m"], None,
                  FIELD_DECIMALS["min_clearance_f1"]), summed=("cost_cny",))]
    return Section(term("section.backhaul", lang), blocks)


def _breakdown_sections(summary: dict, lang: str) -> list[Section]:
    """Sites and cost by technology and by kind, coverage per admin unit, the baselines."""
    return [
        Section(term("section.by_technology", lang), [_table(
            ("technology", "sites", "cost_cny", "people_newly_covered"),
            [[t, v["sites"], v["cost_cny"], persons(v["people_newly_covered"])]
             for t, v in summary["by_technology"].items()], lang)]),
        Section(term("section.by_kind", lang), [_table(  # costliest first, as the site list
            ("kind", "sites", "cost_cny"),
            [[value_text("kind", t, lang), v["sites"], v["cost_cny"]]
             for t, v in sorted(summary["by_kind"].items(), key=lambda kind: -kind[1]["cost_cny"])],
            lang)]),
        Section(term("section.by_admin_unit", lang), [_admin_unit_table(
            summary["by_admin_unit"], summary.get("admin_unit_names_zh", {}), lang)]),
        _baselines_section(summary, lang),
    ]


#: The figures of an admin unit (``by_admin_unit`` in summary.json) in the order the report's
#: table of admin units shows them.
ADMIN_UNIT_COLUMNS = ("people", "people_before", "people_after", "villages", "villages_before",
                      "villages_after")


def _admin_unit_table(units: dict, names_zh: dict[str, str], lang: str) -> Table:
    """People and villages of each admin unit before and after, and their total row (the
    headline's figures); people whole, rounded so that the units add up to the total shown
    (:func:`apportioned`); units named in Chinese from ``names_zh`` (:func:`admin_text`)."""
    columns = ADMIN_UNIT_COLUMNS
    names = list(units) + [ALL_UNITS]
    shown = [apportioned([v[c] for v in units.values()]) for c in columns]
    shown = [column + [sum(column)] for column in shown]
    return Table([term(f"header.{h}", lang) for h in ("admin_unit", *columns)],
                 [[admin_text(name, lang, names_zh), *row] for name, row in zip(names, zip(*shown))])


def _baselines_section(summary: dict, lang: str) -> Section:
    """The plan next to simpler rules; with backhaul, each rule's cost split into its sites
    and their cheapest backhaul (:data:`NO_VALUE_CELL` where some site cannot be fed)."""
    backhaul = "backhaul" in summary
    # (key of a summary baseline, header term)
    costs = ([("site_cost_cny", "site_cost_cny"), ("backhaul_cost_cny", "backhaul_cost_cny"),
              ("cost_cny", "total_cost_cny")] if backhaul else [("cost_cny", "cost_cny")])
    columns = [("new_options", "new_options"), *costs, ("people_covered", "people_covered"),
               ("mandatory_covered", "mandatory_covered")]
    table = _table(["plan"] + [h for _, h in columns],
                   [[value_text("baseline", b["label"], lang)]
                    + [persons(or_dash(b[key])) if key == "people_covered" else or_dash(b[key])
                       for key, _ in columns]
                    for b in summary["baselines"]], lang)
    note = [term("report.baselines_with_backhaul", lang)] if backhaul else []
    return Section(term("section.baselines", lang), [*note, table])


def _uncovered_section(summary: dict, units: dict[str, str], lang: str) -> Section:
    """The mandatory villages still without coverage, and why; uncovered points by kind.

    A village's admin unit is the one the demand counts it in (``units``, by village id: the
    county polygon it lies in, its own field as the fallback), not the field as listed."""
    uncovered = summary["uncovered_mandatory_villages"]
    names_zh = summary.get("admin_unit_names_zh", {})
    blocks: list = []
    if uncovered:
        header = ("village", "name", "admin_unit", "best_level_dbm", "reason")
        blocks.append(Table(
            [term(f"header.{h}", lang) for h in header],
            [[u["village_id"], u["name"], _village_unit(u, units, names_zh, lang),
              _level_text(u["best_level_dbm"]),
              value_text("reason", u["reason"], lang)] for u in uncovered]))
    elif summary.get("mandatory_deadline", {}).get("late"):
        blocks.append(term("report.all_mandatory_covered_late", lang,
                           last=summary["phases"][-1]["label"],
                           count=len(summary["mandatory_deadline"]["late"]),
                           year=summary["mandatory_deadline"]["year"]))
    else:
        blocks.append(term("report.all_mandatory_covered", lang))
    blocks.append(term("report.uncovered_by_kind", lang, **summary["kpis"]["mandatory_points_uncovered"]))
    blocks += [term("report.zone_short", lang, zone=z["zone_id"], name=z["name"],
                    covered=z["covered_5g"], total=z["check_points"])
               for z in summary.get("zones", []) if z["covered_5g"] < z["check_points"]]
    points = summary["uncovered_mandatory_points"]
    if points:
        header = ("point_kind", "point", "admin_unit", "best_level_dbm", "reason")
        blocks += [term("report.uncovered_points", lang), Table(
            [term(f"header.{h}", lang) for h in header],
            [[value_text("point_kind", p["kind"], lang), p["id"], _unit_text(p["admin_unit"], names_zh, lang),
              _level_text(p["best_level_dbm"]),
              value_text("reason", p["reason"], lang)] for p in points])]
    return Section(term("section.uncovered", lang), blocks)


def _level_text(level_dbm: float | None) -> str:
    """A best level [dBm] as the tables show it (:data:`~siting.export.cells.FIELD_DECIMALS`),
    :data:`NO_VALUE_CELL` where no site reaches."""
    return NO_VALUE_CELL if level_dbm is None else f"{level_dbm:.{FIELD_DECIMALS['best_level_dbm']}f}"


def _unit_text(unit, names_zh: dict[str, str], lang: str) -> str:
    """An admin unit as the report shows it (:func:`admin_text`, in Chinese its name of
    ``names_zh``): a point in none (``""`` or None) is outside the admin units, as the county
    table counts it (:data:`~siting.labels.OUTSIDE_ADMIN_UNITS`)."""
    return admin_text(unit or OUTSIDE_ADMIN_UNITS, lang, names_zh)


def _village_unit(village: dict, units: dict[str, str], names_zh: dict[str, str], lang: str) -> str:
    """The admin unit a village of summary.json counts in: the one the demand gives it
    (``units``, by village id), else its own field."""
    return _unit_text(units.get(str(village["village_id"]), village["admin_unit"]), names_zh, lang)


def _sites_section(sites, lang: str) -> Section:
    """The sites built or upgraded, costliest first; a phased plan's year by year, as they are
    built (the schedule's order), each year's costliest first."""
    built = sites[sites["action"].isin(BUILT_ACTIONS)]
    phased = "phase" in built
    built = built.sort_values(["phase", "total_cost_cny"] if phased else ["total_cost_cny"],
                              ascending=[True, False] if phased else [False], kind="stable")
    header = ["site", "action", "kind", "technology", "height_m", "cost_cny", "people_newly_covered"]
    return Section(term("section.sites", lang), [_table(
        header + (["year"] if phased else []),
        [[r.site_id, value_text("action", r.action, lang), value_text("kind", r.kind, lang),
          r.technology, r.antenna_height_m, r.total_cost_cny, persons(r.people_newly_covered)]
         + ([r.phase] if phased else []) for r in built.itertuples()], lang,
        decimals=(None, None, None, None, FIELD_DECIMALS["antenna_height_m"]),
        summed=("cost_cny",))])


def _assumptions_section(scenario, has_population_raster: bool, lang: str) -> Section:
    """The technologies' radio parameters and costs, how a level is computed, how people
    are counted (with a population raster, how villages and raster cells share them; without
    one, that the villages' listed people are all there is) and, with backhaul, the
    microwave bands on offer."""
    header = ["technology", "generation", "frequency_mhz", "eirp_dbm", "rsrp_threshold_dbm", "model",
              "max_range_m", "clutter_db", "equipment_cny", "opex_cny_per_year"]
    return Section(term("section.assumptions", lang), [_table(
        header,
        [[t.name, t.generation, t.frequency_mhz, t.eirp_dbm, t.rsrp_threshold_dbm,
          model_text(t.model, lang),
          t.max_range_m, t.clutter_loss_db, t.equipment_capex_cny, t.opex_cny_per_year]
         for t in scenario.technologies], lang, decimals=(None, None, None, 1, 1, None, None, 1)),
        term("report.assumptions", lang, k=scenario.coverage.earth_radius_factor,
             ue_height_m=scenario.demand.ue_height_m),
        term("report.demand_raster", lang, grid_m=scenario.demand.grid_m) if has_population_raster
        else term("report.demand_no_raster", lang), *_band_blocks(scenario.backhaul, lang)])


def _band_blocks(backhaul, lang: str) -> list:
    """The microwave bands on offer where backhaul is planned: each offer's longest hop [m],
    cost of a hop [CNY] and capacity [Mbit/s] (:data:`NO_VALUE_CELL`: none given, its hops not
    limited)."""
    if not backhaul.enabled or not backhaul.microwave:
        return []
    header = ("band_ghz", "max_hop_m", "cost_cny", "capacity_mbps")
    return [term("report.assumptions_bands", lang), _table(
        header,
        [[b.band_ghz, b.max_hop_m, b.cost_cny, or_dash(b.capacity_mbps)] for b in backhaul.microwave],
        lang, decimals=(None, 0))]


def _schedule_section(summary: dict, objective, people_total: float, lang: str) -> Section:
    """Per phase: its limits, what it builds and costs (with backhaul: sites, backhaul and their
    total, what the year's budget limits) and where coverage stands at its end."""
    limits = {p.label: p for p in objective.phases}
    backhaul = "backhaul" in summary  # the budgets pay for sites and backhaul
    rows = [[p["label"], or_dash(limits[p["label"]].budget_cny), or_dash(limits[p["label"]].max_new_sites),
             p["new_sites"], p["upgrades"]]
            + (_split_cny(p["cost_cny"], p["backhaul_cost_cny"], lang) if backhaul else [p["cost_cny"]])
            + [persons(p["people_covered"]), percent(p["people_covered"], people_total),
               p["mandatory_covered"]]
            for p in summary["phases"]]
    header = (["year", "budget_cny", "quota", "new_sites", "upgrades"]
              + (["site_cost_cny", "backhaul_cost_cny", "total_cost_cny"] if backhaul else ["cost_cny"])
              + ["people_covered_year_end", "percent", "mandatory_covered"])
    return Section(term("section.schedule", lang), [_table(header, rows, lang),
                                                     term("report.schedule_note", lang)])


def _as_built_section(facts: dict, lang: str) -> Section:
    """What a re-plan started from (``siting run --built``) and, for a phased plan, the original
    schedule next to what was built and what is planned now."""
    def left(key, **value):
        """What is left (``value``: one amount) in words, "no limit" where it is None."""
        return term("report.no_limit", lang) if None in value.values() else term(key, lang, **value)

    blocks = [term("report.as_built", lang, source=facts["source"], sites=facts["sites"],
                   year=or_dash(facts["through_year"]), new_sites=facts["new_sites"],
                   upgrades=facts["upgrades"], spent=money(facts["spent_cny"], lang),
                   charged=money(facts["charged_cny"], lang)),
              term("report.as_built_left", lang, budget=left(
                  "report.amount",
                  cny=None if facts["budget_left_cny"] is None else money(facts["budget_left_cny"], lang)),
                   quota=left("report.left_quota", count=facts["quota_left"]))]
    blocks += [term("report.as_built_sites", lang), _table(
        ("site", "technology", "year", "cost_cny", "backhaul"),
        [[r["site_id"], or_dash(r["technology"]), r["year"], r["cost_cny"],
          value_text("backhaul", r["backhaul"], lang) if r["backhaul"] else NO_VALUE_CELL]
         for r in facts["built"]], lang)]
    if facts["schedule"]:
        header = ["year", "budget_cny", "quota", "status", "sites", "cost_cny", "spent_cny"]
        rows = [[r["year"], or_dash(r["budget_cny"]), or_dash(r["max_new_sites"]),
                 value_text("schedule_status", r["status"], lang), r["sites"], r["cost_cny"],
                 or_dash(r.get("spent_cny"))]
                for r in facts["schedule"]]
        blocks += [term("report.schedule_next_to_original", lang),
                   _table(header, rows, lang)]
    return Section(term("section.as_built", lang), blocks)


def _md_cell(value, decimals: int | None = None) -> str:
    """A table value as Markdown cell text (pipes escaped, on one line)."""
    return cell_text(value, decimals).replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> str:
    """A :class:`Table` as a Markdown pipe table."""
    lines = ["| " + " | ".join(table.header) + " |", "|" + "---|" * len(table.header)]
    lines += ["| " + " | ".join(_md_cell(v, table.column_decimals(i)) for i, v in enumerate(row))
              + " |" for row in table.rows]
    return "\n".join(lines)


def render_markdown(report: Report) -> str:
    """The report as Markdown: a title, the intro, then each section's blocks."""
    parts = [f"# {report.title}", ""]
    for paragraph in report.intro:
        parts += [paragraph, ""]
    for section in report.sections:
        parts += [f"## {section.title}", ""]
        for block in section.blocks:
            if isinstance(block, Table):
                parts += [_md_table(block), ""]
            elif isinstance(block, Steps):
                parts += [f"{i + 1}. {item}" for i, item in enumerate(block.items)]
            elif isinstance(block, Figure):
                parts += [f"![{block.caption}]({block.path})", ""]
            else:
                parts += [str(block), ""]
    return "\n".join(parts).rstrip("\n") + "\n"


def render_report(tables: PlanTables) -> str:
    """The Markdown report of a run's tables (:func:`~siting.export.tables.plan_tables`)."""
    return render_markdown(build_report(tables))


def write_report(path: Path, text: str) -> None:
    """Write the report text as UTF-8."""
    path.write_text(text, encoding="utf-8")

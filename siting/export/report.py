"""``report.md`` (and the data behind ``report.html``): what the committee reads: the plan, its
cost, who gains coverage, what is still missing and why, and how the plan compares with simpler
rules.

:func:`build_report` assembles the content once as data (sections of paragraphs, tables, lists
and figures); :func:`render_markdown` and :mod:`siting.export.html_report` only render it, so
both reports always say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list]


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
    title: str
    blocks: list = field(default_factory=list)


@dataclass
class Report:
    title: str
    intro: list
    sections: list[Section]


def cell_text(value) -> str:
    """A table value as text: thousands separators, no decimals for large numbers."""
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def build_report(run, summary: dict, sites, *, figures: tuple[Figure, ...] = ()) -> Report:
    """The content of the report of a run, as data."""
    k = summary["kpis"]
    s = summary["solver"]
    scenario = run.scenario
    people_total = k["people_total"] or 1.0
    objective = scenario.objective
    goal = ("cover all reachable mandatory demand at least cost" if objective.kind == "min_cost"
            else "cover the mandatory demand, then the most people")
    limits = []
    if objective.budget_cny is not None:
        limits.append(f"budget {objective.budget_cny:,.0f} CNY")
    if objective.max_new_sites is not None:
        limits.append(f"at most {objective.max_new_sites} new sites")
    if objective.phases:
        goal = ("cover the mandatory demand by "
                f"{objective.mandatory_by or objective.phases[-1].label}, then the most people, "
                "earliest")
        limits.append(f"{len(objective.phases)} yearly phases (see the phased schedule)")
    intro = [f"Objective: **{goal}**" + (f" within {', '.join(limits)}" if limits else "")
             + f"; costs include {objective.opex_years:g} years of opex.",
             f"Solver: {s['name']}, status **{s['status']}**, objective {s['objective']:,.0f}"
             + (" person-years" if objective.phases else "") + ", "
             f"bound {s['bound']:,.0f}, proven gap {100 * (s['gap'] or 0):.3f}%."]
    sections = [Section("Headline", [Table(["KPI", "before", "after"], [
        ["people covered", k["people_covered_before"], k["people_covered_after"]],
        ["people covered [%]", 100 * k["people_covered_before"] / people_total,
         100 * k["people_covered_after"] / people_total],
        ["villages covered", f"{k['villages_covered_before']} / {k['villages_total']}",
         f"{k['villages_covered_after']} / {k['villages_total']}"],
        ["mandatory villages covered", "", f"{k['mandatory_villages_covered']} / {k['mandatory_villages_total']}"],
        ["complaint points covered", "", f"{k['complaints_covered']} / {k['complaints_total']}"],
        ["5G zone check points covered by 5G", "", f"{k['zone_points_covered_5g']} / {k['zone_points_total']}"],
    ] + ([["zone check points with backup coverage", "",
           f"{k['backup_points_met']} / {k['backup_points_total']}"]]
         if k["backup_points_total"] else [])), f"New sites: **{k['new_sites']}**, upgrades of existing sites: **{k['upgrades']}**, "
        f"capex {k['capex_cny']:,.0f} CNY, opex {k['opex_cny_per_year']:,.0f} CNY/year, "
        f"total cost over the horizon **{k['total_cost_cny']:,.0f} CNY**."])]
    if summary["phases"]:
        sections.append(_schedule_section(summary, objective, people_total))
    if figures:
        sections.append(Section("Maps and figures", list(figures)))

    sections += [
        Section("Sites and cost by technology", [Table(
            ["technology", "sites", "cost [CNY]", "people newly covered"],
            [[t, v["sites"], v["cost_cny"], v["people_newly_covered"]]
             for t, v in summary["by_technology"].items()])]),
        Section("Sites and cost by kind", [Table(
            ["kind", "sites", "cost [CNY]"], [[t, v["sites"], v["cost_cny"]] for t, v in summary["by_kind"].items()])]),
        Section("Coverage by admin unit", [Table(
            ["admin unit", "people", "covered before", "covered after", "villages", "covered before", "covered after"],
            [[unit, v["people"], v["people_before"], v["people_after"], int(v["villages"]),
              int(v["villages_before"]), int(v["villages_after"])] for unit, v in summary["by_admin_unit"].items()])]),
        Section("Compared with simpler rules", [Table(
            ["plan", "new options", "cost [CNY]", "people covered", "mandatory points covered"],
            [[b["label"], b["new_options"], b["cost_cny"], b["people_covered"], b["mandatory_covered"]]
             for b in summary["baselines"]])]),
    ]

    uncovered = summary["uncovered_mandatory_villages"]
    blocks: list = []
    if uncovered:
        blocks.append(Table(["village", "name", "admin unit", "best level [dBm]", "reason"],
                            [[u["village_id"], u["name"], u["admin_unit"],
                              "-" if u["best_level_dbm"] is None else f"{u['best_level_dbm']:.1f}", u["reason"]]
                             for u in uncovered]))
    else:
        blocks.append("None: every mandatory village is covered.")
    other = k["mandatory_points_uncovered"]
    blocks.append(f"Mandatory points uncovered by kind: villages {other['village']}, complaints "
                  f"{other['complaint']}, 5G zone check points {other['zone']}.")
    sections.append(Section("Mandatory villages still without coverage", blocks))

    built = sites[sites["action"].isin(["build", "upgrade"])].sort_values("total_cost_cny", ascending=False)
    sections.append(Section("Sites to build or upgrade", [Table(
        ["site", "action", "kind", "technology", "height [m]", "cost [CNY]", "people newly covered"]
        + (["year"] if "phase" in built else []),
        [[r.site_id, r.action, r.kind, r.technology, r.antenna_height_m, r.total_cost_cny,
          r.people_newly_covered] + ([r.phase] if "phase" in built else [])
         for r in built.itertuples()])]))

    sections.append(Section("Assumptions", [Table(
        ["technology", "generation", "frequency [MHz]", "EIRP [dBm]", "RSRP threshold [dBm]",
         "model", "max range [m]", "clutter [dB]", "equipment [CNY]", "opex [CNY/yr]"],
        [[t.name, t.generation, t.frequency_mhz, t.eirp_dbm, t.rsrp_threshold_dbm, t.model,
          t.max_range_m, t.clutter_loss_db, t.equipment_capex_cny, t.opex_cny_per_year]
         for t in scenario.technologies]),
        "Received level: EIRP per resource element minus the model's path loss, the Deygout "
        f"terrain diffraction loss over the DEM profile (earth radius factor "
        f"{scenario.coverage.earth_radius_factor:.3f}) and the clutter margin; user height "
        f"{scenario.demand.ue_height_m:g} m; population aggregated to {scenario.demand.grid_m:g} m cells."]))
    sections.append(Section("How the plan was reached", [Steps(list(s["stages"]))]))
    return Report(title=f"Siting plan: {scenario.name}", intro=intro, sections=sections)


def _schedule_section(summary: dict, objective, people_total: float) -> Section:
    """Per phase: its limits, what it builds and where coverage stands at its end."""
    limits = {p.label: p for p in objective.phases}

    def limit(value, unit=""):
        return "-" if value is None else (f"{value:,.0f}{unit}" if isinstance(value, float) else value)

    rows = [[p["label"], limit(limits[p["label"]].budget_cny), limit(limits[p["label"]].max_new_sites),
             p["new_sites"], p["upgrades"], p["cost_cny"], p["people_covered"],
             100 * p["people_covered"] / people_total, p["mandatory_covered"]]
            for p in summary["phases"]]
    return Section("Phased schedule", [Table(
        ["year", "budget [CNY]", "quota", "new sites", "upgrades", "cost [CNY]",
         "people covered at year end", "[%]", "mandatory points covered"], rows),
        "Each site's year is in the site list below, on the map's popups and in the GIS files."])


def _md_cell(value) -> str:
    return cell_text(value).replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> str:
    lines = ["| " + " | ".join(table.header) + " |", "|" + "---|" * len(table.header)]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in table.rows]
    return "\n".join(lines)


def render_markdown(report: Report) -> str:
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


def render_report(run, summary: dict, sites) -> str:
    """The Markdown report of a run."""
    return render_markdown(build_report(run, summary, sites))


def write_report(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")

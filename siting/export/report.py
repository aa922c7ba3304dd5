"""``report.md``: what the committee reads: the plan, its cost, who gains coverage, what is
still missing and why, and how the plan compares with simpler rules."""

from __future__ import annotations

from pathlib import Path


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_report(run, summary: dict, sites) -> str:
    """The Markdown report of a run."""
    k = summary["kpis"]
    s = summary["solver"]
    scenario = run.scenario
    people_total = k["people_total"] or 1.0
    parts = [f"# Siting plan: {scenario.name}", ""]
    objective = scenario.objective
    goal = ("cover all reachable mandatory demand at least cost" if objective.kind == "min_cost"
            else "cover the mandatory demand, then the most people")
    limits = []
    if objective.budget_cny is not None:
        limits.append(f"budget {objective.budget_cny:,.0f} CNY")
    if objective.max_new_sites is not None:
        limits.append(f"at most {objective.max_new_sites} new sites")
    parts += [f"Objective: **{goal}**" + (f" within {', '.join(limits)}" if limits else "")
              + f"; costs include {objective.opex_years:g} years of opex.", "",
              f"Solver: {s['name']}, status **{s['status']}**, objective {s['objective']:,.0f}, "
              f"bound {s['bound']:,.0f}, proven gap {100 * (s['gap'] or 0):.3f}%.", ""]
    parts += ["## Headline", "", _table(["KPI", "before", "after"], [
        ["people covered", k["people_covered_before"], k["people_covered_after"]],
        ["people covered [%]", 100 * k["people_covered_before"] / people_total,
         100 * k["people_covered_after"] / people_total],
        ["villages covered", f"{k['villages_covered_before']} / {k['villages_total']}",
         f"{k['villages_covered_after']} / {k['villages_total']}"],
        ["mandatory villages covered", "", f"{k['mandatory_villages_covered']} / {k['mandatory_villages_total']}"],
        ["complaint points covered", "", f"{k['complaints_covered']} / {k['complaints_total']}"],
        ["5G zone check points covered by 5G", "", f"{k['zone_points_covered_5g']} / {k['zone_points_total']}"],
    ]), "", f"New sites: **{k['new_sites']}**, upgrades of existing sites: **{k['upgrades']}**, "
            f"capex {k['capex_cny']:,.0f} CNY, opex {k['opex_cny_per_year']:,.0f} CNY/year, "
            f"total cost over the horizon **{k['total_cost_cny']:,.0f} CNY**.", ""]

    parts += ["## Sites and cost by technology", "", _table(
        ["technology", "sites", "cost [CNY]", "people newly covered"],
        [[t, v["sites"], v["cost_cny"], v["people_newly_covered"]] for t, v in summary["by_technology"].items()]),
        "", "## Sites and cost by kind", "", _table(
        ["kind", "sites", "cost [CNY]"], [[t, v["sites"], v["cost_cny"]] for t, v in summary["by_kind"].items()]), ""]

    parts += ["## Coverage by admin unit", "", _table(
        ["admin unit", "people", "covered before", "covered after", "villages", "covered before", "covered after"],
        [[unit, v["people"], v["people_before"], v["people_after"], int(v["villages"]),
          int(v["villages_before"]), int(v["villages_after"])] for unit, v in summary["by_admin_unit"].items()]), ""]

    parts += ["## Compared with simpler rules", "", _table(
        ["plan", "new options", "cost [CNY]", "people covered", "mandatory points covered"],
        [[b["label"], b["new_options"], b["cost_cny"], b["people_covered"], b["mandatory_covered"]]
         for b in summary["baselines"]]), ""]

    uncovered = summary["uncovered_mandatory_villages"]
    parts += ["## Mandatory villages still without coverage", ""]
    if uncovered:
        parts += [_table(["village", "name", "admin unit", "best level [dBm]", "reason"],
                         [[u["village_id"], u["name"], u["admin_unit"],
                           "-" if u["best_level_dbm"] is None else f"{u['best_level_dbm']:.1f}", u["reason"]]
                          for u in uncovered]), ""]
    else:
        parts += ["None: every mandatory village is covered.", ""]
    other = summary["kpis"]["mandatory_points_uncovered"]
    parts += [f"Mandatory points uncovered by kind: villages {other['village']}, complaints "
              f"{other['complaint']}, 5G zone check points {other['zone']}.", ""]

    built = sites[sites["action"].isin(["build", "upgrade"])].sort_values("total_cost_cny", ascending=False)
    parts += ["## Sites to build or upgrade", "", _table(
        ["site", "action", "kind", "technology", "height [m]", "cost [CNY]", "people newly covered"],
        [[r.site_id, r.action, r.kind, r.technology, r.antenna_height_m, r.total_cost_cny,
          r.people_newly_covered] for r in built.itertuples()]), ""]

    parts += ["## Assumptions", "", _table(
        ["technology", "generation", "frequency [MHz]", "EIRP [dBm]", "RSRP threshold [dBm]",
         "model", "max range [m]", "clutter [dB]", "equipment [CNY]", "opex [CNY/yr]"],
        [[t.name, t.generation, t.frequency_mhz, t.eirp_dbm, t.rsrp_threshold_dbm, t.model,
          t.max_range_m, t.clutter_loss_db, t.equipment_capex_cny, t.opex_cny_per_year]
         for t in scenario.technologies]), "",
        "Received level: EIRP per resource element minus the model's path loss, the Deygout "
        f"terrain diffraction loss over the DEM profile (earth radius factor "
        f"{scenario.coverage.earth_radius_factor:.3f}) and the clutter margin; user height "
        f"{scenario.demand.ue_height_m:g} m; population aggregated to {scenario.demand.grid_m:g} m cells.", ""]
    parts += ["## How the plan was reached", ""] + [f"{i + 1}. {stage}" for i, stage in enumerate(s["stages"])]
    return "\n".join(parts) + "\n"


def write_report(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")

"""``summary.json``: the run's KPIs, solver outcome and timings, machine-readable.

``timings_s`` holds the stage timings [s] and the run's measured resources: ``peak_memory_mb``,
the peak resident memory of the process (``VmHWM``, when the summary is built, so after the
maps are rendered), and on a Dask cluster ``peak_memory_mb_workers``, the workers' summed peaks.
Everything but ``timings_s`` is a pure function of the inputs, written with sorted keys and
rounded floats, so two runs of the same scenario give byte-identical files once the timings
field is removed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from siting import __version__
from siting.distributed import peak_memory_mb
from siting.export.backhaul import backhaul_facts, backhaul_table
from siting.export.i18n import admin_unit_names, reason_key
from siting.export.style import BUILT_ACTIONS
from siting.io.asbuilt import BUILT_COLUMN
from siting.cover_rows import covered_as_ruled, mandatory_met, plan_rows, servers_on_air
from siting.plan import counted_options, first_met_phase, mandatory_deadline, on_air, phase_kpis
from siting.rolling import replan_facts


def _clean(value):
    """JSON-safe, rounded, deterministic."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        if not math.isfinite(value):
            return None
        return round(value, 6)
    return value


def _kpis(run, sites, villages) -> dict:
    """The plan's headline figures: people, villages, complaints, 5G zones and backup points
    covered before and after, what stays uncovered, and what the plan builds and costs (its
    sites, their backhaul, 0 without, and the two together: what the budget limits)."""
    demand, plan = run.demand, run.plan
    # the rows that carry people: population cells, and villages where they carry their own
    residents = (demand.kind == "cell") | (demand.kind == "village")
    mandatory_villages = villages[villages["mandatory"]]
    complaints = demand.kind == "complaint"
    zones = demand.kind == "zone"
    backup = demand.required_servers() > 1
    # backup points are mandatory (5G zones' check points): served as the plan counts them
    counted = counted_options(plan, run.coverage)
    servers = servers_on_air(run.coverage, demand, plan.costs, counted)
    covered = _covered_as_counted(run, counted)
    missed = plan.uncovered_reason != ""  # mandatory, not covered as its rule asks
    uncovered_points = {kind: int((missed & (demand.kind == kind)).sum())
                        for kind in ("village", "complaint", "zone")}
    # mandatory, reached by some option of each generation it needs
    reachable = plan_rows(run.coverage.covers, demand, run.coverage.options).reachable_points()
    site_cny = float(sites["total_cost_cny"].sum())
    backhaul_cny = 0.0 if plan.backhaul is None else float(plan.backhaul.feeds.total_backhaul_cny)
    return {
        "people_total": demand.people[residents].sum(),
        "people_covered_before": demand.people[residents & plan.covered_before].sum(),
        "people_covered_after": demand.people[residents & plan.covered_after].sum(),
        "villages_total": len(villages),
        "villages_covered_before": int(villages["covered_before"].sum()),
        "villages_covered_after": int(villages["covered_after"].sum()),
        "mandatory_villages_total": len(mandatory_villages),
        "mandatory_villages_covered": int((mandatory_villages["uncovered_reason"] == "").sum()),
        "mandatory_villages_reachable": int((reachable & (demand.kind == "village")).sum()),
        "complaints_total": int(complaints.sum()),
        # as the plan counts a mandatory complaint point: by each generation its rule lists,
        # under backhaul.mandatory_feed: terrestrial by sites not fed by satellite (so too a
        # zone's check points below)
        "complaints_covered": int((complaints & covered).sum()),
        # plausibility: complaints are places of weak signal; the model covering many of them
        # with the network they were raised against is too optimistic there
        "complaints_covered_before": int((complaints & covered_before_as_built(run)).sum()),
        "zone_points_total": int(zones.sum()),
        "zone_points_covered_5g": int((zones & covered).sum()),
        "backup_points_total": int(backup.sum()),
        "backup_points_met": int((backup & (servers >= demand.required_servers())).sum()),
        "mandatory_points_uncovered": uncovered_points,
        **_before_kpis(run),
        "new_sites": int((sites["action"] == "build").sum()),
        "upgrades": int((sites["action"] == "upgrade").sum()),
        "capex_cny": sites["capex_cny"].sum(),
        "opex_cny_per_year": sites["opex_cny_per_year"].sum(),
        "site_cost_cny": site_cny,
        "backhaul_cost_cny": backhaul_cny,
        "total_cost_cny": site_cny + backhaul_cny,
    }


def _covered_as_counted(run, counted: np.ndarray | None = None) -> np.ndarray:
    """Bool per demand row: covered by the plan as it counts the row: a mandatory one by
    the options that count for mandatory points (``counted``, default
    :func:`~siting.plan.counted_options`) as its rule asks, any other by any option."""
    demand, plan = run.demand, run.plan
    counted = counted_options(plan, run.coverage) if counted is None else counted
    return np.where(demand.mandatory, covered_as_ruled(run.coverage, demand, counted),
                    covered_as_ruled(run.coverage, demand, plan.selected))


def _before_kpis(run) -> dict:
    """The mandatory villages, complaint points, 5G zone check points and backup points
    covered (met) by the sites on air before the plan, the same network as
    ``people_covered_before`` (in a re-plan, with the as-built list's sites, which
    ``complaints_covered_before`` leaves out): the report's "before" beside each count
    after. A mandatory village counts as the plan counts it after (:func:`mandatory_met`:
    under ``demand.mandatory.generations`` ``[4G, 5G]``, covered by an option of each)."""
    demand, plan = run.demand, run.plan
    zones, backup = demand.kind == "zone", demand.required_servers() > 1
    on_air_before = np.flatnonzero(plan.costs.fixed)
    servers = servers_on_air(run.coverage, demand, plan.costs, on_air_before)
    met = mandatory_met(run.coverage, demand, on_air_before)
    return {
        "mandatory_villages_covered_before": int((met & (demand.kind == "village")).sum()),
        "complaints_covered_before_plan": int(((demand.kind == "complaint") & covered_as_ruled(
            run.coverage, demand, on_air_before)).sum()),
        "zone_points_covered_5g_before": int((zones & plan.covered_before).sum()),
        "backup_points_met_before": int((backup & (servers >= demand.required_servers())).sum()),
    }


def covered_before_as_built(run) -> np.ndarray:
    """Bool per demand row: covered by the sites on air before the plan, the sites of an
    as-built list left out (a re-plan's network without what the list built since the
    original plan); the plan's own ``covered_before`` without an as-built list."""
    candidates = run.region.candidates
    if BUILT_COLUMN not in candidates:
        return run.plan.covered_before
    options = run.coverage.options
    original = candidates.drop(columns=BUILT_COLUMN).iloc[options["candidate"].to_numpy()]
    network = np.flatnonzero(on_air(options, original))
    return np.asarray(run.coverage.covers[:, network].sum(axis=1)).ravel() > 0


def deadline_facts(run, villages) -> dict:
    """The ``mandatory_deadline`` entry of summary.json (phased plans): the deadline year
    (``objective.mandatory_by``, else the last), the mandatory points and mandatory villages
    covered by its end, and the mandatory villages that miss it (``late``: each with the year
    it is first covered, None when never)."""
    plan, demand = run.plan, run.demand
    deadline = mandatory_deadline(run.scenario.objective)
    first = first_met_phase(plan, run.coverage, demand)
    in_time = (first >= 0) & (first <= deadline)
    # mandatory, reached by some option of each generation it needs
    reachable = plan_rows(run.coverage.covers, demand, run.coverage.options).reachable_points()
    rows = np.flatnonzero(demand.kind == "village")
    village_first = dict(zip(demand.ref_id[rows].astype(str), first[rows]))
    mandatory = villages[villages["mandatory"]]
    year = mandatory["village_id"].astype(str).map(village_first).to_numpy()
    missed = (year < 0) | (year > deadline)
    labels = plan.phase_labels
    return {
        "year": labels[deadline],
        "points_total": int(demand.mandatory.sum()),
        "points_reachable": int(reachable.sum()),
        "points_covered": int((demand.mandatory & in_time).sum()),
        "villages_total": len(mandatory),
        "villages_covered": int((~missed).sum()),
        "late": [{"village_id": r.village_id, "name": r["name"], "admin_unit": r.admin_unit,
                  "year": labels[t] if t >= 0 else None}
                 for t, (_, r) in zip(year[missed], mandatory[missed].iterrows())],
    }


#: How the note of a missed ``objective.mandatory_by`` begins (the command line always tells it).
MISSED_DEADLINE = "mandatory demand misses its deadline"


def deadline_note(facts: dict) -> list[str]:
    """The solver note of a deadline missed (:func:`deadline_facts`): some mandatory point
    some option reaches is not covered by then; [] when none."""
    if facts["points_covered"] >= facts["points_reachable"]:
        return []
    return [f"{MISSED_DEADLINE}: {facts['points_covered']} of "
            f"{facts['points_total']} mandatory points ({facts['villages_covered']} of "
            f"{facts['villages_total']} mandatory villages) are covered by {facts['year']}; the "
            f"report's headline lists the villages covered later or never"]


def summary_facts(run, sites, villages, admin) -> dict:
    """Everything of ``summary.json`` but ``timings_s``: a pure function of the inputs.

    Parameters
    ----------
    run : siting.pipeline.RunResult or siting.study.PlanResult
        The solved run (its scenario, demand, coverage, plan and baselines).
    sites, villages, admin : DataFrame
        Its :func:`~siting.export.tables.site_table`, :func:`~siting.export.tables.village_table`
        and :func:`~siting.export.tables.admin_table`.

    Returns
    -------
    dict
        KPIs of the plan, by technology, kind and admin unit, baselines and solver outcome
        (and with backhaul, :func:`~siting.export.backhaul.backhaul_facts`), JSON-safe and rounded (people [persons], costs [CNY], levels [dBm]).
    """
    plan = run.plan
    built = sites[sites["action"].isin(BUILT_ACTIONS)]
    mandatory_villages = villages[villages["mandatory"]]
    solution = plan.solution
    by_tech = {}
    for label, group in built.groupby("technology_built", sort=True):
        by_tech[label] = {"sites": len(group), "cost_cny": group["total_cost_cny"].sum(),
                          "people_newly_covered": group["people_newly_covered"].sum()}
    by_kind = {}
    for label, group in built.groupby("kind", sort=True):
        by_kind[label] = {"sites": len(group), "cost_cny": group["total_cost_cny"].sum()}
    facts = {
        "siting_version": __version__,
        "scenario": run.scenario.name,
        "scenario_file": str(run.scenario.path),
        "language": run.scenario.outputs.language,
        "crs": run.region.crs.to_string(),
        "objective": {"type": run.scenario.objective.kind,
                      "budget_cny": run.scenario.objective.budget_cny,
                      "max_new_sites": run.scenario.objective.max_new_sites,
                      "opex_years": run.scenario.objective.opex_years,
                      "phases": [vars(p) for p in run.scenario.objective.phases],
                      "discount_rate": run.scenario.objective.discount_rate,
                      "mandatory_by": run.scenario.objective.mandatory_by},
        "solver": {"name": solution.solver, "status": solution.status,
                   "objective": solution.objective, "bound": solution.bound, "gap": solution.gap,
                   "stages": list(plan.stages), "notes": list(solution.notes)},
        "kpis": _kpis(run, sites, villages),
        "phases": [vars(p) for p in phase_kpis(plan, run.coverage, run.demand)],
        "by_technology": by_tech,
        "by_kind": by_kind,
        "by_admin_unit": admin.set_index("admin_unit").to_dict(orient="index"),
        "admin_unit_names_zh": admin_unit_names(run.region.admin_units),
        "uncovered_mandatory_villages": _uncovered_villages(mandatory_villages),
        "uncovered_mandatory_points": uncovered_points(run),
        "zones": zone_facts(run),
        "baselines": [vars(b) for b in run.baselines],
    }
    replan = getattr(run, "replan", None)
    if replan is not None:
        facts["as_built"] = replan_facts(replan, facts["phases"])
    if plan.backhaul is not None:
        facts["backhaul"] = backhaul_facts(run, backhaul_table(run))
    if plan.phase_labels:
        facts["mandatory_deadline"] = deadline_facts(run, villages)
        facts["solver"]["notes"] += deadline_note(facts["mandatory_deadline"])
    return _clean(facts)


def _uncovered_villages(mandatory_villages) -> list[dict]:
    """The mandatory villages left uncovered, with why (rows of the village table): the
    ``reason`` as people read it and its ``reason_key`` (:func:`siting.export.i18n.reason_key`)."""
    return [{"village_id": r.village_id, "name": r["name"], "admin_unit": r.admin_unit,
             "reason": r.uncovered_reason, "reason_key": reason_key(r.uncovered_reason),
             "best_level_dbm": r.best_level_dbm}
            for _, r in mandatory_villages[mandatory_villages["uncovered_reason"] != ""].iterrows()]


def uncovered_points(run) -> list[dict]:
    """The mandatory points other than villages left uncovered (complaint points, 5G zones'
    check points), with why: ``kind``, ``id``, ``admin_unit``, ``best_level_dbm`` (None
    where no candidate reaches it), ``reason`` (:attr:`siting.plan.Plan.uncovered_reason`) and
    its ``reason_key`` (:func:`siting.export.i18n.reason_key`)."""
    demand, reason = run.demand, run.plan.uncovered_reason
    level = run.coverage.best_level_dbm
    rows = np.flatnonzero((reason != "") & (demand.kind != "village"))
    return [{"kind": str(demand.kind[r]), "id": str(demand.ref_id[r]),
             "admin_unit": str(demand.admin_unit[r]), "reason": str(reason[r]),
             "reason_key": reason_key(str(reason[r])),
             "best_level_dbm": round(float(level[r]), 1) if np.isfinite(level[r]) else None}
            for r in rows]


def zone_facts(run) -> list[dict]:
    """Each 5G zone the plan covers (``require_5g``) and how far: ``zone_id``, ``name``,
    ``kind``, ``check_points`` (on the DEM's data) and ``covered_5g``, those the plan covers
    by 5G (as the plan counts a mandatory point, :func:`_covered_as_counted`: under
    ``backhaul.mandatory_feed: terrestrial`` by sites not fed by satellite), so that the
    report names the zones that fall short."""
    zones = run.region.zones
    if zones is None:
        return []
    points = run.demand.ref_id[run.demand.kind == "zone"]
    # a zone's check points are mandatory, and only 5G options cover them (siting.coverage)
    covered = run.demand.ref_id[(run.demand.kind == "zone") & _covered_as_counted(run)]
    return [{"zone_id": str(zone_id), "name": str(zone["name"]), "kind": str(zone["kind"]),
             "check_points": int(np.sum(points == zone_id)),
             "covered_5g": int(np.sum(covered == zone_id))}
            for zone_id, zone in zones[zones["require_5g"]].iterrows()]


def build_summary(facts: dict, timings_s: dict[str, float]) -> dict:
    """The content of ``summary.json``: ``facts`` (:func:`summary_facts`, e.g.
    :attr:`siting.export.tables.PlanTables.summary`) with ``timings_s``, the stage timings [s]
    and the peak memory of the process [MB] measured now."""
    timings = dict(sorted({**timings_s, "peak_memory_mb": round(peak_memory_mb(), 1)}.items()))
    return {**facts, "timings_s": _clean(timings)}


def write_summary(summary: dict, path: Path) -> None:
    """``summary.json``: keys sorted and UTF-8 (names as written), so runs compare by diff."""
    path.write_text(json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                    encoding="utf-8")

"""Tables derived from a run: per-site, per-village and per-demand attributes with KPIs.

The GIS layers, the map, the report and the summary all read these tables, so every output
tells the same story.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd


def site_table(run) -> gpd.GeoDataFrame:
    """One row per candidate: its chosen option (if any), cost and people newly covered."""
    cand = run.region.candidates
    options = run.coverage.options
    costs = run.plan.costs
    selected = run.plan.selected
    frame = cand[["kind", "antenna_height_m", "free_public", "difficult", "technologies",
                  "geometry"]].copy()
    frame.insert(0, "site_id", cand.index.to_numpy())
    frame["existing"] = frame["kind"].isin(["existing_4g", "existing_5g"])
    frame["selected"] = False
    frame["technology"] = ""
    frame["capex_cny"] = 0.0
    frame["opex_cny_per_year"] = 0.0
    frame["total_cost_cny"] = 0.0
    frame["people_served"] = 0.0
    frame["people_newly_covered"] = 0.0
    demand = run.demand
    serving = run.plan.serving_option
    newly = run.plan.covered_after & ~run.plan.covered_before
    people_served = np.bincount(serving[serving >= 0], weights=demand.people[serving >= 0],
                                minlength=len(options))
    people_new = np.bincount(serving[newly & (serving >= 0)],
                             weights=demand.people[newly & (serving >= 0)], minlength=len(options))
    for option in selected:
        position = options.at[option, "candidate"]
        row = frame.index[position]
        is_new = not costs.fixed[option]
        frame.at[row, "selected"] = True
        label = options.at[option, "technology"]
        previous = frame.at[row, "technology"]
        frame.at[row, "technology"] = f"{previous}+{label}" if previous else label
        frame.at[row, "capex_cny"] += costs.capex_cny[option] if is_new else 0.0
        frame.at[row, "opex_cny_per_year"] += costs.opex_cny_per_year[option] if is_new else 0.0
        frame.at[row, "total_cost_cny"] += costs.total_cny[option] if is_new else 0.0
        frame.at[row, "people_served"] += people_served[option]
        frame.at[row, "people_newly_covered"] += people_new[option]
    frame["action"] = np.select(
        [frame["selected"] & ~frame["existing"], frame["existing"] & (frame["total_cost_cny"] > 0),
         frame["existing"]], ["build", "upgrade", "keep"], default="")
    if run.plan.phase_labels:  # phased plan: the year each site is built or upgraded in
        frame["phase"] = ""
        for option in selected[run.plan.build_period[selected] >= 0]:
            row = frame.index[options.at[option, "candidate"]]
            frame.at[row, "phase"] = run.plan.phase_labels[run.plan.build_period[option]]
    return frame.reset_index(drop=True)


#: Actions of the sites in a plan: new sites, upgraded existing sites, existing sites kept.
PLAN_ACTIONS = ("build", "upgrade", "keep")


def selected_sites(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The rows of :func:`site_table` in the plan (built, upgraded or kept), every column kept."""
    return sites[sites["action"].isin(PLAN_ACTIONS)]


def village_table(run) -> gpd.GeoDataFrame:
    """Villages with their coverage before/after, serving site and, if uncovered, the reason."""
    demand = run.demand
    rows = np.flatnonzero(demand.kind == "village")
    villages = run.region.villages.loc[demand.ref_id[rows]].copy()
    plan = run.plan
    options = run.coverage.options
    villages["mandatory"] = demand.mandatory[rows]
    villages["covered_before"] = plan.covered_before[rows]
    villages["covered_after"] = plan.covered_after[rows]
    villages["covered_5g"] = plan.covered_5g_after[rows]
    serving = plan.serving_option[rows]
    villages["serving_site"] = np.where(serving >= 0, options["site_id"].to_numpy()[np.maximum(serving, 0)], "")
    villages["serving_technology"] = np.where(serving >= 0, options["technology"].to_numpy()[np.maximum(serving, 0)], "")
    level = run.coverage.best_level_dbm[rows]
    villages["best_level_dbm"] = np.where(np.isfinite(level), np.round(level, 1), np.nan)
    villages["uncovered_reason"] = plan.uncovered_reason[rows]
    villages["status"] = np.select(
        [villages["covered_after"], villages["mandatory"]], ["covered", "mandatory_uncovered"],
        default="uncovered")
    return villages.reset_index(drop=True)


def uncovered_mandatory(villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The rows of :func:`village_table` that must be covered but are not (with the reason)."""
    return villages[villages["status"] == "mandatory_uncovered"]


def demand_table(run) -> gpd.GeoDataFrame:
    """Every demand row as a point with its kind, weight and coverage flags."""
    demand = run.demand
    return gpd.GeoDataFrame(
        {"kind": demand.kind.astype(str), "ref_id": demand.ref_id.astype(str),
         "admin_unit": demand.admin_unit.astype(str), "people": demand.people,
         "mandatory": demand.mandatory, "require_5g": demand.require_5g,
         "covered_before": run.plan.covered_before, "covered_after": run.plan.covered_after,
         "covered_5g": run.plan.covered_5g_after,
         "uncovered_reason": run.plan.uncovered_reason.astype(str)},
        geometry=gpd.points_from_xy(demand.x_m, demand.y_m), crs=run.region.crs)


def admin_table(run) -> pd.DataFrame:
    """People and villages covered before/after per admin unit."""
    demand = run.demand
    plan = run.plan
    frame = pd.DataFrame({
        "admin_unit": demand.admin_unit.astype(str),
        "people": np.where(demand.kind == "cell", demand.people, 0.0),
        "people_before": np.where(plan.covered_before, demand.people, 0.0),
        "people_after": np.where(plan.covered_after, demand.people, 0.0),
        "villages": demand.kind == "village",
        "villages_before": (demand.kind == "village") & plan.covered_before,
        "villages_after": (demand.kind == "village") & plan.covered_after,
    })
    frame["admin_unit"] = frame["admin_unit"].replace("", "(outside admin units)")
    return frame.groupby("admin_unit", sort=True).sum().reset_index()

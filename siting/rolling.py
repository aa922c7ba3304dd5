"""Re-planning from what was built: the rolling plan of ``siting run SCENARIO --built LIST``.

A three-year plan is built a year at a time, never exactly as planned. Next year's plan starts
from the as-built list (:mod:`siting.io.asbuilt`):

- every as-built site is on air, kept at no cost, and may be upgraded like an existing site
  (:func:`siting.io.with_as_built`; :func:`siting.plan.option_costs` reads it); a feed the
  list records for an existing site (a row without a technology) is in place, and its cost
  spent, like an as-built site's;
- a phased plan keeps the years after the last year built (``year``, or the list's last
  year), each with its own budget and quota; the whole plan's budget and quota become what is
  left of them after what the list built and spent, counted as the plan counts a cost: the
  actual cost plus the opex of ``objective.opex_years`` (the site's and the technology's
  opex per year, as the cost model has them), kept as a cap only where it binds (is tighter
  than the years left summed), so the plan states one budget left; a ``mandatory_by`` year
  already past becomes the first year left: the mandatory points it missed are overdue;
- a single-period plan plans the scenario's budget for the next period on top of the list.

:class:`Replan` keeps what the report shows: the original schedule, what each year built and
spent, and what is left.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from siting.config import Objective, Scenario
from siting.errors import InputError
from siting.io import AsBuilt, RegionData, is_existing, read_as_built, with_as_built
from siting.io.asbuilt import option_year, year_rank
from siting.plan import site_opex_cny_per_year


@dataclass(frozen=True)
class Replan:
    """A plan re-made from an as-built list.

    ``original``: the scenario's objective; ``remaining``: the objective planned now;
    ``through_year``: the last year of the list taken (None for a single-period plan's list
    taken whole); ``spent_cny`` (actual costs), ``charged_cny`` (the same with the opex
    horizon, what the plan's budget counts), ``opex_cny_per_year`` (the opex the list adds),
    ``new_sites``, ``upgrades``: what the list built; ``opex_cny_per_year_by_year``: the opex
    per year the list adds in each of its years (they sum to ``opex_cny_per_year``).
    """
    as_built: AsBuilt
    original: Objective
    remaining: Objective
    through_year: str | None
    spent_cny: float
    charged_cny: float
    opex_cny_per_year: float
    new_sites: int
    upgrades: int
    opex_cny_per_year_by_year: dict[str, float]


def replan_inputs(region: RegionData, scenario: Scenario, as_built_path: str | Path, *,
                  year: str | None = None,
                  crs: str | None = None) -> tuple[RegionData, Scenario, Replan]:
    """The region with the as-built sites on air and the scenario with what is left to plan
    (``crs``: the CRS of the list's coordinates, as :func:`siting.io.read_as_built` takes it)."""
    objective = scenario.objective
    years = tuple(p.label for p in objective.phases)
    as_built = read_as_built(as_built_path, region.candidates, scenario, plan_years=years,
                             crs=crs)
    through = _through_year(as_built, years, year)
    if through is not None:
        as_built = as_built.until(through, years)
    new_sites, upgrades = _counts(as_built, region)
    spent = float(as_built.sites["cost_cny"].sum())
    opex = _opex_cny_per_year(as_built, region, scenario)
    charged = spent + objective.opex_years * opex
    remaining = _remaining(objective, through, charged, new_sites, as_built.source)
    replan = Replan(as_built, objective, remaining, through, spent, charged, opex, new_sites,
                    upgrades, _opex_by_year(as_built, region, scenario, years))
    region = dataclasses.replace(region, candidates=with_as_built(region.candidates, as_built))
    return region, dataclasses.replace(scenario, objective=remaining), replan


def _through_year(as_built: AsBuilt, years: tuple[str, ...], year: str | None) -> str | None:
    """The last year the list covers: ``year`` if given (one of the plan's years when phased),
    else the list's last year; None for a single-period plan without ``year``."""
    if year is not None:
        return option_year(year, years)
    if years and as_built.last_year is None:
        raise InputError(f"{as_built.source}: no row says a site was built, so the list names no "
                         f"year; give the last year it covers with --year")
    return as_built.last_year if years else None


def _counts(as_built: AsBuilt, region: RegionData) -> tuple[int, int]:
    """New sites built and existing sites upgraded by the list (its feed rows neither)."""
    sites = as_built.builds["site_id"].unique()
    existing = is_existing(region.candidates.loc[list(sites)]) if len(sites) else []
    return int(len(sites) - sum(existing)), int(sum(existing))


def _opex_cny_per_year(as_built: AsBuilt, region: RegionData, scenario: Scenario) -> float:
    """The yearly opex the list adds, as :func:`siting.plan.option_costs` counts it: each
    technology's opex, plus the site's own yearly cost for a new site (once per site,
    :func:`siting.plan.site_opex_cny_per_year`: a free public site pays no rent); a feed row
    adds none."""
    rows = as_built.builds
    technology = sum(scenario.technology(name).opex_cny_per_year for name in rows["technology"])
    sites = region.candidates.loc[list(rows["site_id"].unique())]
    return float(technology + site_opex_cny_per_year(sites).sum())


def _opex_by_year(as_built: AsBuilt, region: RegionData, scenario: Scenario,
                  years: tuple[str, ...]) -> dict[str, float]:
    """The opex per year [CNY/yr] the list adds in each of its years: what it adds through the
    year less what it added through the year before (:func:`_opex_cny_per_year`, so a site's
    own opex counts in the year it first went on air)."""
    added, through_before = {}, 0.0
    for year in sorted(set(as_built.sites["year"]), key=year_rank(years)):
        through = _opex_cny_per_year(as_built.until(year, years), region, scenario)
        added[year], through_before = through - through_before, through
    return added


def _remaining(objective: Objective, through: str | None, spent_cny: float, new_sites: int,
               source: str) -> Objective:
    """The objective of what is left to plan (see the module docstring)."""
    if not objective.phases:
        return objective
    labels = [p.label for p in objective.phases]
    phases = objective.phases[labels.index(through) + 1:]
    if not phases:
        raise InputError(f"{source}: the list reaches {through}, the plan's last year: nothing is "
                         f"left to plan; add the coming years to objective.phases")
    budget, quota = objective.total_budget_cny, objective.total_max_new_sites
    deadline = objective.mandatory_by
    if deadline is not None and labels.index(deadline) <= labels.index(through):
        deadline = phases[0].label  # already past: overdue, due in the first year left
    return dataclasses.replace(
        objective, phases=phases, mandatory_by=deadline,
        budget_cny=_binding(None if budget is None else max(0.0, budget - spent_cny),
                            [p.budget_cny for p in phases]),
        max_new_sites=_binding(None if quota is None else max(0, quota - new_sites),
                               [p.max_new_sites for p in phases]))


def _binding(left, per_phase: list):
    """``left`` of a whole-plan limit when it binds: tighter than the years left summed
    (None: no limit, or one those years' own limits always keep)."""
    if left is None or None in per_phase or left < sum(per_phase):
        return left
    return None


def schedule_rows(replan: Replan, planned_phases: list[dict]) -> list[dict]:
    """The original schedule next to what happened: one row per year of the original plan,
    with its budget and quota, ``status`` ``built`` (the as-built list's sites; ``cost_cny``
    what it spent with the opex it adds over ``opex_years``, as the budget counts a cost and
    the plan its own years', and ``spent_cny`` what it spent) or ``planned`` (the re-plan's,
    from ``planned_phases``, the summary's ``phases``; ``spent_cny`` None)."""
    planned = {p["label"]: p for p in planned_phases}
    built, builds = replan.as_built.sites, replan.as_built.builds
    rows = []
    for phase in replan.original.phases:
        row = {"year": phase.label, "budget_cny": phase.budget_cny,
               "max_new_sites": phase.max_new_sites}
        if phase.label in planned:
            p = planned[phase.label]
            row.update(status="planned", sites=p["new_sites"] + p["upgrades"],
                       cost_cny=p["cost_cny"], spent_cny=None)
        else:
            sites = builds.loc[builds["year"] == phase.label, "site_id"]  # feed rows: cost only
            spent = float(built.loc[built["year"] == phase.label, "cost_cny"].sum())
            opex = replan.opex_cny_per_year_by_year.get(phase.label, 0.0)
            row.update(status="built", sites=int(sites.nunique()), spent_cny=spent,
                       cost_cny=spent + replan.original.opex_years * opex)
        rows.append(row)
    return rows


def replan_facts(replan: Replan, planned_phases: list[dict]) -> dict:
    """The ``as_built`` block of summary.json."""
    remaining = replan.remaining
    return {"source": replan.as_built.source, "through_year": replan.through_year,
            "sites": int(replan.as_built.builds["site_id"].nunique()), "new_sites": replan.new_sites,
            "upgrades": replan.upgrades, "spent_cny": replan.spent_cny,
            "charged_cny": replan.charged_cny, "opex_cny_per_year": replan.opex_cny_per_year,
            "budget_left_cny": remaining.total_budget_cny,
            "quota_left": remaining.total_max_new_sites,
            "schedule": schedule_rows(replan, planned_phases), "built": built_rows(replan.as_built)}


def built_rows(as_built: AsBuilt) -> list[dict]:
    """What the list built, one row per site and technology (a feed row's technology ""), in
    the list's order: ``site_id``, ``technology``, ``year``, ``cost_cny``, ``backhaul``."""
    columns = ["site_id", "technology", "year", "cost_cny", "backhaul"]
    return [dict(zip(columns, (str(s), str(t), str(y), float(c), str(b))))
            for s, t, y, c, b in as_built.sites[columns].itertuples(index=False)]

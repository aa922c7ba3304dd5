"""The siting model: options, costs and the planner's rules, on top of :mod:`siting.optimize`.

Options are (candidate, technology) pairs. The rules a prefecture plans by:

- at most one technology per new site (one option per candidate group);
- existing sites are kept: an ``existing_4g`` site keeps its 4G carrier at no cost and may be
  upgraded to 5G (an option costing the 5G equipment); ``existing_5g`` sites keep everything;
  a site of the as-built list (:mod:`siting.io.asbuilt`) keeps the technologies it was built
  with and may be upgraded like an existing site;
- a site costs its capex (construction) and yearly its opex plus its rent; a free public site
  pays no rent (:func:`site_opex_cny_per_year`); difficult sites carry their extra cost;
- cost of an option = site capex + extra cost + equipment capex + opex x ``opex_years``, its
  opex the site's yearly cost plus the technology's;
- mandatory demand (poverty villages, relocation sites, complaints, 5G zones) is covered first:
  every mandatory point that any option can reach must be covered; when the budget or the site
  quota cannot pay for all of them, as many as possible are (any of them: the next stage keeps
  how many, not which, so that it may choose the ones that leave the most people coverable),
  and the rest are reported;
- ``min_cost``: cover all reachable mandatory demand at least cost (then the most people);
  ``max_coverage``: within the budget and/or quota of new sites, cover the mandatory demand,
  then the most people (then at least cost);
- phased plans (``objective.phases``: years, each with a budget and/or a quota of new sites):
  mandatory demand is covered by ``mandatory_by`` (default the last year), and the plan
  maximises the people covered summed over the years, so people covered earlier count more
  (optionally discounted).

- backhaul (``backhaul.enabled``, :mod:`siting.optimize.backhaul`): every site on air is fed
  by fiber, by a chain of microwave hops to a fiber-fed site, or by satellite, and the feeds
  are chosen with the sites, their costs counted in the objective and the budget. Existing
  sites that keep serving are fed too: those without fiber on site (``has_fiber``) are given
  a feed like a new site, its cost in the plan. In a phased plan every site is fed from the
  year it goes on air (existing sites from the first), each feed charged to that year.
  Under ``backhaul.mandatory_feed: terrestrial`` a mandatory point counts as covered only
  by an option whose site is not fed by satellite (:func:`mandatory_options`,
  :mod:`siting.optimize.ground_cover`); a satellite-fed site still covers people.

Every mandatory point left uncovered gets a reason: no candidate within range, terrain (or
distance) keeps every candidate in range below the threshold, no backhaul can reach a site
that would cover it (or only satellite could, under ``terrestrial``), or the budget /
quota, saying which of the two stops it
(:func:`limit_reasons`): its cheapest site (with its cheapest feed) costs more than the
budget left (a phased plan: in any year), and/or the quota of new sites is used up (a phased
plan: every year's).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from siting.backhaul import BackhaulNetwork
from siting.config import Objective, Scenario, SolverSettings
from siting.cover_rows import (covered_by, generation_ruled, mandatory_met, missing_generations,
                               plan_rows, site_cover, wanted_coverage,
                               with_missing_generations)
from siting.coverage import CoverageMatrix
from siting.demand import Demand
from siting.errors import InfeasibleError, SolverError
from siting.io import EXISTING_KINDS, built_technologies, is_existing, site_rent_cny_per_year
from siting.labels import (JOINT_LABEL, REASON_BELOW_THRESHOLD, REASON_BUDGET, REASON_NO_BACKHAUL,
                           REASON_NO_CANDIDATE, REASON_NO_TERRESTRIAL_FEED, REASON_OVER_BUDGET,
                           REASON_OVER_BUDGET_AND_QUOTA, REASON_OTHER_TECHNOLOGY,
                           REASON_OVER_BUDGET_AND_YEAR_QUOTAS, REASON_OVER_BUDGET_FED,
                           REASON_OVER_YEAR_BUDGETS, REASON_OVER_YEAR_BUDGETS_FED, REASON_QUOTA,
                           REASON_SOLVER_STOPPED, REASON_YEAR_QUOTAS, SATELLITE,
                           SEQUENTIAL_LABEL)
from siting.optimize import CoverCount, Solution, solve_coverage_model
from siting.optimize.backhaul import BackhaulSolution, least_fixed_feeds_cny, solve_with_backhaul
from siting.optimize.core import time_left_s
from siting.optimize.feed_network import chain_room_mbps
from siting.optimize.phased import PhasedSolution, on_air_through, solve_phased_coverage
from siting.optimize.phased_backhaul import PhasedBackhaulSolution, solve_phased_with_backhaul

@dataclass(frozen=True)
class OptionCosts:
    """Cost model of the options, aligned with ``CoverageMatrix.options``."""

    capex_cny: np.ndarray
    opex_cny_per_year: np.ndarray
    total_cny: np.ndarray  # capex + opex x opex_years: what the optimizer minimises / budgets
    fixed: np.ndarray  # bool: already on air, always selected
    new_site: np.ndarray  # bool: selecting it builds a new site (counts against the quota)
    group: np.ndarray  # int: at most one option per group (-1: no group)


@dataclass(frozen=True)
class PlanBackhaul:
    """The backhaul of a plan: what it was chosen from and what was chosen (per candidate
    site, see :class:`~siting.optimize.backhaul.BackhaulSolution`)."""

    network: BackhaulNetwork
    feeds: BackhaulSolution


@dataclass(frozen=True)
class Plan:
    """A solved plan with its KPIs' raw material."""

    selected: np.ndarray  # option indices, fixed (existing) ones included
    solution: Solution
    covered_before: np.ndarray  # bool per demand, by existing sites only
    covered_after: np.ndarray  # bool per demand
    covered_5g_after: np.ndarray  # bool per demand, by a 5G option
    serving_option: np.ndarray  # int per demand: best-level selected option, -1 if none
    uncovered_reason: np.ndarray  # str per demand ("" when covered or not mandatory)
    costs: OptionCosts
    stages: tuple[str, ...]  # how the plan was reached, for the report
    # phased plans: the phase each option is built in (index into phase_labels, -1 when not
    # built or already on air); single-period plans have no phases
    build_period: np.ndarray | None = None
    phase_labels: tuple[str, ...] = ()
    backhaul: PlanBackhaul | None = None  # plans with backhaul (``backhaul.enabled``)

    @property
    def new_options(self) -> np.ndarray:
        return self.selected[~self.costs.fixed[self.selected]]

    @property
    def new_site_count(self) -> int:
        """New sites the plan builds: what a quota of new sites limits (upgrades aside)."""
        return int(self.costs.new_site[self.new_options].sum())


def option_costs(coverage: CoverageMatrix, candidates: pd.DataFrame, scenario: Scenario) -> OptionCosts:
    """Costs, fixed flags, quota flags and groups of every option (see the module docstring)."""
    options = coverage.options
    cand = candidates.iloc[options["candidate"].to_numpy()]
    tech = [scenario.technology(name) for name in options["technology"]]
    equipment = np.array([t.equipment_capex_cny for t in tech])
    tech_opex = np.array([t.opex_cny_per_year for t in tech])
    existing = is_existing(cand)
    fixed = on_air(options, cand)
    site_capex = np.where(existing, 0.0, cand["capex_cny"].to_numpy(float)
                          + cand["extra_cost_cny"].to_numpy(float))
    capex = np.where(fixed, 0.0, site_capex + equipment)
    opex = np.where(fixed, 0.0, site_opex_cny_per_year(cand) + tech_opex)
    group = np.where(existing, -1, options["candidate"].to_numpy())
    return OptionCosts(capex_cny=capex, opex_cny_per_year=opex,
                       total_cny=capex + opex * scenario.objective.opex_years, fixed=fixed,
                       new_site=~existing, group=group.astype(np.int64))


def site_opex_cny_per_year(candidates: pd.DataFrame) -> np.ndarray:
    """What each candidate's site costs a year once the plan builds on it [CNY/yr]: its
    ``opex_cny_per_year`` plus its ``rent_cny_per_year`` (the fee, 场租, its owner charges;
    0 without the column), less the fee of a free public site (公共资源免费开放: its owner
    charges none), which is its rent, or without a rent column its own yearly cost; 0 for a
    site on air (existing, or built by the as-built list), whose costs the plan does not count.
    A free public site still pays its ``capex_cny`` (the construction work) and the
    technologies' equipment and opex (:func:`option_costs`)."""
    opex = candidates["opex_cny_per_year"].to_numpy(float)
    rent = site_rent_cny_per_year(candidates)
    fee, yearly = (opex, opex) if rent is None else (rent, opex + rent)
    charged = yearly - np.where(candidates["free_public"].to_numpy(bool), fee, 0.0)
    return np.where(is_existing(candidates), 0.0, charged)


def on_air(options: pd.DataFrame, option_candidates: pd.DataFrame) -> np.ndarray:
    """Whether each option is on air before the plan: a 5G site keeps 4G and 5G, a 4G site its
    4G, and an as-built site the technologies it was built with (``option_candidates``: the
    candidate row of each option)."""
    kind_generation = np.array([EXISTING_KINDS.get(k, "") for k in option_candidates["kind"]],
                               dtype=object)
    generation = options["generation"].to_numpy(dtype=object)
    by_kind = (kind_generation == "5G") | ((kind_generation != "") & (generation == kind_generation))
    built = [name in listed for name, listed in
             zip(options["technology"], built_technologies(option_candidates))]
    return by_kind | np.array(built, dtype=bool)


#: Each solver call of a plan gets at least this long, even when the plan's time is up [s].
MIN_SOLVE_S = 1.0
#: Share of the plan's time left that a stage whose plan is not delivered may take [-]: the
#: first stage of a ``max_coverage`` plan (it only decides whether every mandatory point is
#: affordable; up to two stages follow) and the most-mandatory stage (one follows). On a
#: large region with backhaul every stage runs to its time limit, and the delivered plan
#: must not be left a second.
AFFORDABILITY_SHARE = 1 / 3
MOST_MANDATORY_SHARE = 1 / 2
#: Share of the time left that the plan of the very points the most-mandatory stage covered
#: may take [-]: the warm start of the last stage, which keeps only how many points that
#: stage covered, a harder model. On the demo region with a 10 M CNY budget the plan took
#: 46 s without it (the last stage's MIP 25 s from no start) and 18 s with it.
SAME_POINTS_SHARE = 1 / 2
#: Time the plan's solver calls leave at its end [s], and the share of the plan's time they
#: leave besides [-]: HiGHS runs past its time limit (its presolve and the root node's cut
#: rounds check the clock seldom), each stage builds its model before and checks its plan
#: after, and the plan is assembled after the last call. On the phased demo (3 M CNY a year,
#: 60 s, a shared 2-core machine) the last stage ran 0.5-1.8 s past the time it was given, the
#: plan's 0.1-3.6 s past ``solver.time_limit_s`` without this reserve; a 600 s backhaul plan
#: of the 100 km region overran by 1-3 s when its last call took all of the time.
END_RESERVE_S = 2.0
ASSEMBLY_SHARE = 0.01
#: Share of the plan's time limit that telling why a phased plan with backhaul found none
#: may take besides [-] (:func:`check_existing_feeds`, after its solves).
EXISTING_FEEDS_SHARE = 0.1


class _TimeLeft:
    """The plan's one time limit (``solver.time_limit_s``), shared by its solver calls;
    they end ``END_RESERVE_S`` and ``ASSEMBLY_SHARE`` of it early, and each is given the time
    left less the most an earlier call ran past the time it was given (the stages of a plan
    solve models alike), so that the plan, assembled after the last one, keeps within it."""

    def __init__(self, limit_s: float):
        self.end_s = time.perf_counter() + (1.0 - ASSEMBLY_SHARE) * limit_s - END_RESERVE_S
        self.overrun_s = 0.0  # the most a call so far ran past the time it was given [s]

    def __call__(self, share: float = 1.0) -> float:
        """``share`` of the time left [s], at least ``MIN_SOLVE_S``."""
        left_s = self.end_s - self.overrun_s - time.perf_counter()
        return max(share * left_s, MIN_SOLVE_S)

    @contextmanager
    def call(self, share: float = 1.0) -> Iterator[float]:
        """A solver call given ``share`` of the time left (yielded [s]): how far it runs
        past that time is kept for the calls after it."""
        limit_s = self(share)
        started_s = time.perf_counter()
        try:
            yield limit_s
        finally:
            self.overrun_s = max(self.overrun_s, time.perf_counter() - started_s - limit_s)


@dataclass(frozen=True)
class _Solver:
    """The solver calls of one plan: the options, their costs, the settings and the plan's
    time, and the backhaul network when sites and backhaul are planned together."""

    cover: sp.csr_matrix
    costs: OptionCosts
    settings: SolverSettings
    time_left: _TimeLeft
    network: BackhaulNetwork | None
    options: pd.DataFrame  # CoverageMatrix.options: each option's candidate and generation
    opex_years: float  # the horizon satellite backhaul's fee is counted over [years]
    # bool per row: only options at sites not fed by satellite cover it (PlanRows.terrestrial)
    terrestrial: np.ndarray | None = None

    def solve(self, objective: str, *, weight=None, must_cover=None, cover_count=None,
              budget=None, max_options=None, tie_break: bool = True, share: float = 1.0,
              start: tuple[Solution, BackhaulSolution | None] | None = None
              ) -> tuple[Solution, BackhaulSolution | None]:
        """One solver call of the plan, and its feeds with backhaul (else None), in
        ``share`` of the plan's time left; ``start`` (an earlier solve's result) is tried as
        a warm start. ``tie_break=False`` for a stage whose plan is not delivered (only its
        objective or coverage is used): its second lexicographic stage would be time spent
        for nothing."""
        common = dict(objective=objective, weight=weight, must_cover=must_cover,
                      cover_count=cover_count, budget=budget, max_options=max_options,
                      counted=self.costs.new_site, fixed=self.costs.fixed,
                      groups=self.costs.group, tie_break=tie_break,
                      mip_gap=self.settings.mip_gap, solver=self.settings.name,
                      seed=self.settings.seed)
        with self.time_left.call(share) as limit_s:
            if self.network is None:
                return solve_coverage_model(
                    self.cover, self.costs.total_cny, **common, time_limit_s=limit_s,
                    start=None if start is None else start[0].selected), None
            feeds = solve_with_backhaul(self.cover, self.costs.total_cny, **common,
                                        time_limit_s=limit_s, terrestrial=self.terrestrial,
                                        start=None if start is None else start[1],
                                        **backhaul_arguments(self.network, self.options,
                                                             self.opex_years))
        return feeds.solution, feeds

    def people(self, objective: Objective, people: np.ndarray,
               **stage) -> tuple[Solution, BackhaulSolution | None]:
        """The people stage of ``objective`` (``stage``: its must-cover rows, count row,
        warm start, share of the time, tie-break): ``min_cost``, the least cost, then the
        most people, within the quota; ``max_coverage``, the most people, then the least
        cost, within the budget and quota."""
        limits = dict(max_options=objective.max_new_sites)
        if objective.kind == "max_coverage":
            limits["budget"] = objective.budget_cny
        return self.solve(objective.kind, weight=people, **limits, **stage)


def backhaul_arguments(network: BackhaulNetwork, options: pd.DataFrame,
                       opex_years: float) -> dict:
    """The backhaul keywords of :func:`~siting.optimize.backhaul.solve_with_backhaul` (and
    of the phased solver) for ``options`` (rows of ``CoverageMatrix.options``: their
    candidates and, where link capacity is planned, the traffic of their generations),
    satellite's fee counted over ``opex_years``."""
    traffic = network.option_traffic_mbps(options["generation"].to_numpy())
    return dict(site_of_option=options["candidate"].to_numpy(np.int64),
                option_traffic_mbps=traffic,
                fiber_cost_cny=network.fiber["cost_cny"].to_numpy(float), links=network.links,
                satellite_cost_cny=network.satellite_cost_cny(opex_years),
                max_hops=network.max_hops, site_needs_backhaul=network.needs_backhaul,
                site_in_place=network.in_place)


def check_existing_feeds(coverage: CoverageMatrix, costs: OptionCosts, network: BackhaulNetwork,
                         objective: Objective, solver: SolverSettings) -> None:
    """:class:`InfeasibleError` when feeding the existing sites costs more than the phased
    plan's first phase may spend (its budget, or the plan's when that is less), where they
    are fed: why its model had no plan. The models
    check each site's cheapest feed, which counts a hop as if its relay were fed for free;
    between that and the real cost they spend their time proving there is no plan, and say
    only that. The least cost is solved when feeding them greedily passes the budget
    (:func:`~siting.optimize.backhaul.least_fixed_feeds_cny`)."""
    first = objective.phases[0]
    budgets = [b for b in (first.budget_cny, objective.budget_cny) if b is not None]
    if not budgets:
        return
    least_cny = least_fixed_feeds_cny(
        coverage.covers, costs.total_cny, fixed=costs.fixed, budget_cny=min(budgets),
        time_limit_s=solver.time_limit_s, mip_gap=solver.mip_gap, solver=solver.name,
        seed=solver.seed, **backhaul_arguments(network, coverage.options, objective.opex_years))
    if least_cny is not None and least_cny > min(budgets) * (1 + 1e-9):
        sites = np.unique(coverage.options["candidate"].to_numpy()[costs.fixed])
        budget_text, setting = _first_phase_budget_words(objective)
        raise InfeasibleError(
            f"the {int(network.needs_backhaul[sites].sum())} existing site(s) without fiber on "
            f"site or backhaul in place must be fed, at least {least_cny:,.0f} CNY (each hop's "
            f"relay fed in turn, new sites as relays included), which passes {budget_text}; "
            f"mark the existing sites that have fiber (has_fiber) or a feed already built "
            f"(backhaul_in_place) in inputs.candidates, or raise {setting}")


def _first_phase_budget_words(objective: Objective) -> tuple[str, str]:
    """The budget a phased plan's existing sites are fed from, in words, and the setting to
    raise: the plan's own when it is no more than the first phase's (both, to be raised
    together, when they are the same), else the first phase's."""
    first, plan_cny = objective.phases[0], objective.budget_cny
    phase_setting = "the first phase's budget_cny in objective.phases"
    if first.budget_cny is not None and (plan_cny is None or first.budget_cny < plan_cny):
        return (f"the budget of the first phase ({first.label}), {first.budget_cny:,.0f} CNY, "
                f"from which they are fed", phase_setting)
    setting = "objective.budget_cny"
    if first.budget_cny == plan_cny:
        setting += f" and {phase_setting}"
    return (f"the plan's budget, {plan_cny:,.0f} CNY, of which they are fed in its first phase "
            f"({first.label})", setting)


def terrestrial_mandatory(network: BackhaulNetwork | None) -> bool:
    """Whether a mandatory point counts as covered only by a site fed by fiber or microwave
    hops (``backhaul.mandatory_feed: terrestrial``), never by a satellite-fed one."""
    return network is not None and network.terrestrial_mandatory


def mandatory_options(selected: np.ndarray, network: BackhaulNetwork | None,
                      feeds: BackhaulSolution | None, options: pd.DataFrame) -> np.ndarray:
    """The options of ``selected`` that count for mandatory points: all of them, or under
    ``backhaul.mandatory_feed: terrestrial`` those at sites ``feeds`` does not feed by
    satellite (``options``: rows of ``CoverageMatrix.options``, their candidates)."""
    if feeds is None or not terrestrial_mandatory(network):
        return selected
    site = options["candidate"].to_numpy(np.int64)[selected]
    return selected[feeds.backhaul[site] != SATELLITE]


def plan_network(coverage: CoverageMatrix, demand: Demand, costs: OptionCosts,
                 objective: Objective, solver: SolverSettings,
                 backhaul: BackhaulNetwork | None = None) -> Plan:
    """Choose options by the rules in the module docstring; with ``backhaul`` (the backhaul
    network of the candidates), sites and their backhaul together."""
    time_left = _TimeLeft(solver.time_limit_s)
    if objective.phases:
        try:
            return _plan_phased(coverage, demand, costs, objective, solver, time_left, backhaul)
        except (InfeasibleError, SolverError):
            if backhaul is not None:  # say why, when it is the existing sites' feeds
                check_existing_feeds(coverage, costs, backhaul, objective, replace(
                    solver, time_limit_s=EXISTING_FEEDS_SHARE * solver.time_limit_s))
            raise
    rows = plan_rows(site_cover(coverage, demand, costs), demand, coverage.options,
                     terrestrial=terrestrial_mandatory(backhaul))
    cover, need, mandatory, people = rows.cover, rows.need, rows.mandatory, rows.weight(demand.people)
    planner = _Solver(cover, costs, solver, time_left, backhaul, coverage.options,
                      objective.opex_years, rows.terrestrial)
    stages = []
    budget = objective.budget_cny
    quota = objective.max_new_sites
    try:
        first, feeds = planner.solve("min_cost", weight=people, must_cover=need,
                                     max_options=quota, tie_break=objective.kind == "min_cost",
                                     share=(1.0 if objective.kind == "min_cost"
                                            else AFFORDABILITY_SHARE))
        affordable = budget is None or first.objective <= budget * (1 + 1e-9)
    except InfeasibleError:
        first, feeds, affordable = None, None, False
    stages.append("cover every reachable mandatory point at least cost"
                  + _generations_text(demand) + _backup_text(need) + _backhaul_text(backhaul)
                  + ("" if affordable else _unaffordable_text(first, budget)))
    must, count, start = need, None, (first, feeds)
    deciding = []  # the solves that decide how many mandatory points are covered
    if not affordable:
        most, feeds = planner.solve("max_coverage", weight=mandatory.astype(float),
                                    budget=budget, max_options=quota, tie_break=False,
                                    share=MOST_MANDATORY_SHARE)
        deciding.append(most)
        # as many mandatory points, any of them, without backup coverage
        counted = mandatory_options(most.selected, backhaul, feeds, coverage.options)
        covered = (mandatory & covered_by(cover, counted)).astype(np.int64)
        must, count = np.zeros_like(need), CoverCount(rows=mandatory, count=int(covered.sum()))
        stages.append(f"cover as many mandatory points as the budget and quota allow "
                      f"({count.count} of {int(mandatory.sum())}, without backup coverage)"
                      + _counted_text(demand))
        start = planner.people(objective, people, must_cover=covered, tie_break=False,
                               share=SAME_POINTS_SHARE, start=(most, feeds))
    # ``start`` (the first stage's plan if affordable, else the plan of the points the
    # most-mandatory one covered) meets the last stage's constraints: its warm start
    if objective.kind == "min_cost" and affordable:
        solution = first
    else:
        solution, feeds = planner.people(objective, people, must_cover=must,
                                         cover_count=count, start=start)
    if objective.kind == "max_coverage":
        stages.append("then cover the most people within the budget and quota, at least cost")
    selected = np.union1d(solution.selected, np.flatnonzero(costs.fixed)).astype(np.int64)
    plan = _assemble(coverage, demand, costs, selected, solution, tuple(stages),
                     backhaul=None if feeds is None else PlanBackhaul(backhaul, feeds),
                     proven=all(is_proven(s, solver) for s in (*deciding, solution)))
    return _explained(plan, coverage, demand, objective)


def _explained(plan: Plan, coverage: CoverageMatrix, demand: Demand, objective: Objective) -> Plan:
    """``plan`` with the reasons of the mandatory points it leaves uncovered for the budget
    or quota made precise (:func:`limit_reasons`; :data:`REASON_OTHER_TECHNOLOGY` where every
    option that would cover one is at a new site the plan builds with another technology),
    and, on points lacking a generation that ``demand.mandatory.generations`` lists,
    prefixed with it (:data:`REASON_NO_GENERATION`): both about the options that would give
    a point what it lacks (:func:`wanted_coverage`)."""
    counted = counted_options(plan, coverage)
    wanted = wanted_coverage(coverage, demand, counted)
    reason = limit_reasons(plan, wanted, objective)
    reason = np.where(reason != "", reason, plan.uncovered_reason)
    other = (reason == REASON_BUDGET) & np.isinf(cheapest_cover(plan, wanted, 0.0)[0])
    reason[other] = REASON_OTHER_TECHNOLOGY
    reason = with_missing_generations(reason, missing_generations(coverage, demand, counted))
    return replace(plan, uncovered_reason=reason)


def counted_options(plan: Plan, coverage: CoverageMatrix,
                     on_air: np.ndarray | None = None) -> np.ndarray:
    """The options of ``plan`` (``on_air``: those of them on air at some time; default
    all) that count for its mandatory points (:func:`mandatory_options`)."""
    return fed_for_mandatory(plan.selected if on_air is None else on_air, plan.backhaul,
                             coverage.options)


def fed_for_mandatory(selected: np.ndarray, backhaul: PlanBackhaul | None,
                      options: pd.DataFrame) -> np.ndarray:
    """The options of ``selected`` that count for mandatory points as fed by ``backhaul``
    (:func:`mandatory_options`; all of them without backhaul planning)."""
    if backhaul is None:
        return selected
    return mandatory_options(selected, backhaul.network, backhaul.feeds, options)


def _generations_text(demand: Demand) -> str:
    """The first stage's words on the generations mandatory points need ("" for any)."""
    if not generation_ruled(demand).any():
        return ""
    return f", each by an option of each of: {', '.join(demand.mandatory_generations)}"


def _counted_text(demand: Demand) -> str:
    """What the most-mandatory stage counts when points need several generations ("" else)."""
    if len(demand.mandatory_generations) < 2 or not generation_ruled(demand).any():
        return ""
    return " (counting each generation a point needs)"


def _unaffordable_text(first: Solution | None, budget: float | None) -> str:
    """How the stage covering every mandatory point ended when it found no plan within the
    budget and quota: proven over them (no plan at all, or a bound above the budget), or
    stopped by its time with a bound that leaves a plan within the budget possible."""
    if first is not None and budget is not None and first.bound <= budget * (1 + 1e-9):
        return ": no plan within the budget found in its time (not proven over it)"
    return ": over the budget or quota"


def is_proven(solution: Solution, solver: SolverSettings) -> bool:
    """Whether the solver proved ``solution`` optimal, or within the scenario's ``mip_gap``
    (not stopped at its time limit). An optimal phased plan keeps a gap of up to its cost
    tie-break's share (:mod:`siting.optimize.phased`), which counts as proven."""
    return solution.status == "optimal" or (solution.status != "time_limit"
                                            and solution.gap <= solver.mip_gap + 1e-9)


def _backhaul_text(network: BackhaulNetwork | None) -> str:
    """The first stage's words on backhaul ("" without)."""
    if network is None:
        return ""
    if network.satellite_cny_per_year is None:
        return f", every site on air fed by fiber or by up to {network.max_hops} microwave hops"
    return (f", every site on air fed by fiber, by up to {network.max_hops} microwave hops or "
            f"by satellite" + (" (a mandatory point only by a site not fed by satellite)"
                               if network.terrestrial_mandatory else ""))


def _backup_text(need: np.ndarray) -> str:
    backup = need > 1
    if not backup.any():
        return ""
    return (f" ({int(backup.sum())} zone check points by at least {int(need[backup].min())} "
            f"sites each, for backup)")


@dataclass(frozen=True)
class _PhasedSolver:
    """The solver calls of one phased plan: the options, their costs, the phases' limits
    and the plan's time, and the backhaul network when sites and backhaul are planned
    together."""

    cover: sp.csr_matrix
    costs: OptionCosts
    limits: dict  # the phases' budgets, quotas, deadline and the solver settings
    time_left: _TimeLeft
    network: BackhaulNetwork | None
    options: pd.DataFrame  # CoverageMatrix.options: each option's candidate and generation
    opex_years: float
    # bool per row: only options at sites not fed by satellite cover it (PlanRows.terrestrial)
    terrestrial: np.ndarray | None = None

    def solve(self, weight: np.ndarray, period_weights: np.ndarray, must_cover=None,
              cover_count=None, share: float = 1.0,
              start: tuple[PhasedSolution, PhasedBackhaulSolution | None] | None = None
              ) -> tuple[PhasedSolution, PhasedBackhaulSolution | None]:
        """One phased solve in ``share`` of the plan's time left
        (:func:`~siting.optimize.phased.solve_phased_coverage`), and with backhaul the plan
        with its feeds (:func:`~siting.optimize.phased_backhaul.solve_phased_with_backhaul`;
        else None); ``start``: an earlier solve's result, its plan a warm start."""
        common = dict(period_weights=period_weights, must_cover=must_cover,
                      cover_count=cover_count, **self.limits)
        with self.time_left.call(share) as limit_s:
            if self.network is None:
                return solve_phased_coverage(
                    self.cover, self.costs.total_cny, weight, **common, time_limit_s=limit_s,
                    start=None if start is None else start[0].build_period), None
            result = solve_phased_with_backhaul(
                self.cover, self.costs.total_cny, weight, time_limit_s=limit_s,
                terrestrial=self.terrestrial,
                start=None if start is None else start[1], **common,
                **backhaul_arguments(self.network, self.options, self.opex_years))
        return result.phased, result


def _plan_phased(coverage: CoverageMatrix, demand: Demand, costs: OptionCosts,
                 objective: Objective, solver: SolverSettings, time_left: _TimeLeft,
                 backhaul: BackhaulNetwork | None) -> Plan:
    """The phased plan: mandatory demand covered by ``objective.mandatory_by`` (default the
    last phase; as much of it as the phases allow), then the most people covered earliest
    (:mod:`siting.optimize.phased`; with ``backhaul``, every site fed from the year it goes
    on air, :mod:`siting.optimize.phased_backhaul`)."""
    rows = plan_rows(site_cover(coverage, demand, costs), demand, coverage.options,
                     terrestrial=terrestrial_mandatory(backhaul))
    cover, need, mandatory, people = rows.cover, rows.need, rows.mandatory, rows.weight(demand.people)
    phases = objective.phases
    labels = [p.label for p in phases]
    deadline = mandatory_deadline(objective)
    limits = dict(period_budgets=[p.budget_cny for p in phases],
                  period_quotas=[p.max_new_sites for p in phases], budget=objective.budget_cny,
                  max_options=objective.max_new_sites, must_cover_by=deadline,
                  counted=costs.new_site, fixed=costs.fixed,
                  groups=costs.group, mip_gap=solver.mip_gap, solver=solver.name,
                  seed=solver.seed)
    planner = _PhasedSolver(cover, costs, limits, time_left, backhaul, coverage.options,
                            objective.opex_years, rows.terrestrial)
    discount = (1.0 + objective.discount_rate) ** -np.arange(len(phases), dtype=float)
    share = 1.0 if backhaul is None else MOST_MANDATORY_SHARE
    stages = []
    deciding = []  # the solves that decide how many mandatory points are covered by the deadline
    stopped = False  # the solver found no plan covering them all in its time
    try:
        result, joint = planner.solve(people, discount, must_cover=need, share=share)
        stages.append(f"cover every reachable mandatory point by {labels[deadline]}"
                      + _generations_text(demand) + _backup_text(need) + _backhaul_text(backhaul))
    except (InfeasibleError, SolverError) as exc:
        at_deadline = np.zeros(len(phases))
        at_deadline[deadline] = 1.0
        most, most_joint = planner.solve(mandatory.astype(float), at_deadline,
                                         share=MOST_MANDATORY_SHARE)
        deciding.append(most.solution)
        stopped = isinstance(exc, SolverError)
        count = CoverCount(rows=mandatory, count=int(
            _covered_through(planner, mandatory, (most, most_joint), deadline).sum()))
        why = ("the phases' budgets and quotas allow" if isinstance(exc, InfeasibleError)
               else "the solver found in its time")
        stages.append(f"cover as many mandatory points by {labels[deadline]} as {why} "
                      f"({count.count} of {int(mandatory.sum())}, without backup coverage)"
                      + _counted_text(demand) + _backhaul_text(backhaul))
        counts, (most, most_joint) = _most_late(planner, mandatory, count, (most, most_joint))
        if len(counts) > 1:
            deciding.append(most.solution)
            stages.append(f"then as many of the others as the later phases allow, by "
                          f"{labels[-1]} ({counts[-1].count} of {int(mandatory.sum())} in all)")
        covered = _covered_through(planner, mandatory, (most, most_joint), deadline)
        # the plan of the very points covered by the deadline: the last solve's warm start
        start = planner.solve(people, discount, must_cover=covered, cover_count=counts[1:],
                              share=SAME_POINTS_SHARE, start=(most, most_joint))
        result, joint = planner.solve(people, discount, cover_count=counts, start=start)
    rate = (f", discounted {objective.discount_rate:.0%} a year"
            if objective.discount_rate else "")
    stages.append(f"then cover the most people earliest: people covered summed over the "
                  f"{len(phases)} phases{rate}")
    plan = _assemble(coverage, demand, costs, result.solution.selected, result.solution,
                     tuple(stages), build_period=result.build_period,
                     phase_labels=tuple(labels),
                     backhaul=None if joint is None else PlanBackhaul(backhaul, joint.feeds),
                     proven=not stopped and all(is_proven(s, solver)
                                                for s in (*deciding, result.solution)))
    return _explained(plan, coverage, demand, objective)


def _covered_through(planner: _PhasedSolver, mandatory: np.ndarray, plan: tuple,
                     period: int) -> np.ndarray:
    """0/1 per row: a mandatory row that ``plan`` (a phased solve's result: the plan and its
    feeds) covers by the end of ``period``, by the options that count for mandatory points
    (:func:`mandatory_options`): its must-cover rows, for a plan of the same points."""
    phased, joint = plan
    on_air = on_air_through(np.flatnonzero(planner.costs.fixed), phased.build_period, period)
    counted = mandatory_options(on_air, planner.network, None if joint is None else joint.feeds,
                                planner.options)
    return (mandatory & covered_by(planner.cover, counted)).astype(np.int64)


def _most_late(planner: _PhasedSolver, mandatory: np.ndarray, count: CoverCount,
               start: tuple) -> tuple[tuple[CoverCount, ...], tuple]:
    """After a missed deadline: the most mandatory points covered by the end of the plan
    while ``count`` of them still are by the deadline (else a point missed then, such as a
    complaint, which has no people of its own, would never be covered), and that plan.
    Returns the count rows (``count``, and the count by the end when it covers more), and
    the plan (``start`` when the deadline is the last phase or nothing more is covered)."""
    last = len(planner.limits["period_budgets"]) - 1
    if planner.limits["must_cover_by"] == last:
        return (count,), start
    at_end = np.zeros(last + 1)
    at_end[last] = 1.0
    late = planner.solve(mandatory.astype(float), at_end, cover_count=count,
                         share=MOST_MANDATORY_SHARE, start=start)
    total = int(_covered_through(planner, mandatory, late, last).sum())
    if total <= count.count:
        return (count,), start
    return (count, CoverCount(rows=mandatory, count=total, period=last)), late


def mandatory_deadline(objective: Objective) -> int:
    """The phase by whose end mandatory demand is to be covered: ``objective.mandatory_by``,
    else the last (a phased objective)."""
    labels = [p.label for p in objective.phases]
    return labels.index(objective.mandatory_by) if objective.mandatory_by else len(labels) - 1


def no_backhaul_rows(cover: sp.csr_matrix, site_of_option: np.ndarray,
                     feedable: np.ndarray) -> np.ndarray:
    """Bool per demand row: some option covers it, but none at a site backhaul can feed
    (``feedable``: bool per site)."""
    reachable = np.diff(cover.indptr) > 0
    return reachable & ~covered_by(cover, np.flatnonzero(feedable[site_of_option]))


def cheapest_feeds(backhaul: PlanBackhaul, opex_years: float) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate site: the cheapest feed it would get if it went on air next to the
    sites fed as ``backhaul`` says, its cost [CNY] and kind (``fiber``, ``microwave``,
    ``satellite``, or ``in_place``). A site on air keeps its feed (0 more); a site with
    fiber on site or its backhaul in place needs none (0). Else the least of its fiber
    route, satellite (its fee over ``opex_years``) and one microwave hop to a site of the
    plan fed by fewer than ``max_hops`` hops (a chain through sites the plan does not build
    is not counted; where link capacity is planned, a hop whose link, or whose relay's
    chain of hops, has no room for the least traffic of a site); inf where none of them can
    feed it. Under ``backhaul.mandatory_feed: terrestrial`` (what a mandatory point's site
    may be fed by) satellite is not counted, and a site on air fed by satellite is priced
    as a site off air."""
    network, feeds = backhaul.network, backhaul.feeds
    satellite = None if network.terrestrial_mandatory else network.satellite_cost_cny(opex_years)
    hop = np.full(len(network.needs_backhaul), np.inf)
    relay = feeds.on_air & (feeds.hop_level >= 0) & (feeds.hop_level < network.max_hops)
    links = network.links
    room = _hop_room(backhaul)
    for near, far in (("site_a", "site_b"), ("site_b", "site_a")):
        usable = relay[links[far].to_numpy(np.int64)] & room[far]
        np.minimum.at(hop, links[near].to_numpy(np.int64)[usable],
                      links["cost_cny"].to_numpy(float)[usable])
    by_kind = np.vstack([network.fiber["cost_cny"].to_numpy(float), hop,
                         np.full(len(hop), np.inf if satellite is None else satellite)])
    kind = np.array(["fiber", "microwave", "satellite"], dtype=object)[np.argmin(by_kind, axis=0)]
    cost = by_kind.min(axis=0)
    unfed = ~network.needs_backhaul
    kind[unfed] = np.where(network.in_place[unfed], "in_place", "fiber")
    kept = feeds.on_air & ~(network.terrestrial_mandatory & (feeds.backhaul == SATELLITE))
    kind[kept] = feeds.backhaul[kept]
    cost[unfed | kept] = 0.0
    return cost, kind


def _hop_room(backhaul: PlanBackhaul) -> dict[str, np.ndarray]:
    """Per link and the end (``site_a``, ``site_b``) that would relay it: whether one more
    hop there has room for the least traffic a site puts on its feed, on the link itself
    and up the relay's chain of hops to fiber (each hop's capacity less what it carries).
    All True where link capacity is not planned."""
    network, feeds = backhaul.network, backhaul.feeds
    links = network.links
    if network.traffic_mbps is None:
        return {end: np.ones(len(links), bool) for end in ("site_a", "site_b")}
    least_mbps = min(network.traffic_mbps.values())
    capacity = np.nan_to_num(links["capacity_mbps"].to_numpy(float), nan=np.inf)
    hop = np.flatnonzero(feeds.feeder_site >= 0)
    own_spare = np.full(feeds.on_air.size, np.inf)  # of each site's own hop
    own_spare[hop] = capacity[feeds.feeder_link[hop]] - feeds.carried_mbps[hop]
    spare = chain_room_mbps(own_spare, feeds.feeder_site, feeds.hop_level)  # up to fiber
    fits = capacity >= least_mbps
    return {end: fits & (spare[links[end].to_numpy(np.int64)] >= least_mbps)
            for end in ("site_a", "site_b")}


def cheapest_cover(plan: Plan, coverage: CoverageMatrix, feed_cny) -> tuple[np.ndarray, np.ndarray]:
    """Per demand row: the least cost [CNY] of adding to ``plan`` one option that covers it,
    its site's feed (``feed_cny``, per option, or 0 without backhaul) included, and that
    option (-1 where none covers it); inf where no option can be added (every one that
    covers it is at a site the plan builds with another technology)."""
    costs = plan.costs
    taken = np.isin(costs.group, costs.group[plan.new_options]) & (costs.group >= 0)
    option_cny = np.where(taken, np.inf, costs.total_cny + feed_cny)
    cover = coverage.covers.tocsr()
    cheapest_cny = np.full(cover.shape[0], np.inf)
    option = np.full(cover.shape[0], -1, dtype=np.int64)
    rows = np.repeat(np.arange(cover.shape[0]), np.diff(cover.indptr))
    order = np.lexsort((option_cny[cover.indices], rows))
    first = order[np.flatnonzero(np.diff(rows[order], prepend=-1) != 0)]  # each row's cheapest
    option[rows[first]] = cover.indices[first]
    cheapest_cny[rows[first]] = option_cny[cover.indices[first]]
    return cheapest_cny, option


def limit_reasons(plan: Plan, coverage: CoverageMatrix, objective: Objective) -> np.ndarray:
    """Which limits stop each mandatory row that ``plan`` leaves uncovered for the budget or
    quota (:data:`REASON_BUDGET`): its cheapest option with its site's cheapest feed
    (:func:`cheapest_cover`, :func:`cheapest_feeds`) costs more than the budget left
    (:func:`over_budget_reasons`), and/or the quota of new sites is used up (a phased plan:
    every year's) and every option covering it builds a new site (:data:`REASON_QUOTA`,
    :data:`REASON_YEAR_QUOTAS`; both: :data:`REASON_OVER_BUDGET_AND_QUOTA`,
    :data:`REASON_OVER_BUDGET_AND_YEAR_QUOTAS`). "" for every other row, and where neither
    limit explains it alone (covering it as well would leave another mandatory point out)."""
    reason = np.full(len(plan.uncovered_reason), "", dtype=object)
    stopped = plan.uncovered_reason == REASON_BUDGET
    if not stopped.any():
        return reason
    reason[stopped] = over_budget_reasons(plan, coverage, objective)[stopped]
    quota = _quota_reasons(plan, objective)
    if quota is not None:
        alone, added = quota
        not_building = np.flatnonzero(~plan.costs.new_site | plan.costs.fixed)
        for row in np.flatnonzero(stopped & ~covered_by(coverage.covers, not_building)):
            reason[row] = added.format(reason=reason[row]) if reason[row] else alone
    return reason


def _quota_reasons(plan: Plan, objective: Objective) -> tuple[str, str] | None:
    """When the quota of new sites leaves no room for one more (a phased plan: in no year,
    by its own quota or the whole plan's): the reason alone, and the template adding it to
    a budget reason; None when there is room."""
    if plan.build_period is None:
        quota = objective.max_new_sites
        if quota is None or plan.new_site_count < quota:
            return None
        return (REASON_QUOTA.format(quota=quota),
                REASON_OVER_BUDGET_AND_QUOTA.replace("{quota}", str(quota)))
    whole_full = (objective.max_new_sites is not None
                  and plan.new_site_count >= objective.max_new_sites)
    built = _phase_spending(plan)[1]
    year_full = [p.max_new_sites is not None and n >= p.max_new_sites
                 for p, n in zip(objective.phases, built)]
    if not (whole_full or all(year_full)):
        return None
    return REASON_YEAR_QUOTAS, REASON_OVER_BUDGET_AND_YEAR_QUOTAS


def _phase_spending(plan: Plan) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per phase of a phased plan: the options it builds, the new sites among them, what
    those options cost and what the feeds it lays cost [CNY]."""
    n_phases = len(plan.phase_labels)
    built = np.flatnonzero(plan.build_period >= 0)
    period = plan.build_period[built]
    options = np.bincount(period, minlength=n_phases)
    new_sites = np.bincount(period[plan.costs.new_site[built]], minlength=n_phases)
    site_cny = np.bincount(period, weights=plan.costs.total_cny[built], minlength=n_phases)
    backhaul_cny = np.zeros(n_phases)
    if plan.backhaul is not None:
        feeds = plan.backhaul.feeds
        laid = feeds.feed_period >= 0
        backhaul_cny = np.bincount(feeds.feed_period[laid], weights=feeds.backhaul_cost_cny[laid],
                                   minlength=n_phases)
    return options, new_sites, site_cny, backhaul_cny


def _budget_left(plan: Plan, objective: Objective) -> tuple[float, str | None]:
    """The most budget left for one more option and its feed [CNY] (inf: no budget limits
    it): of the whole budget, and in a phased plan of the year with the most left, within
    what the whole budget leaves (that year's label, else None)."""
    backhaul_cny = 0.0 if plan.backhaul is None else plan.backhaul.feeds.total_backhaul_cny
    whole_cny = (np.inf if objective.budget_cny is None else
                 objective.budget_cny - plan.costs.total_cny[plan.new_options].sum() - backhaul_cny)
    if plan.build_period is None:
        return float(whole_cny), None
    yearly_cny = np.array([np.inf if p.budget_cny is None else p.budget_cny
                           for p in objective.phases]) - sum(_phase_spending(plan)[2:])
    left_cny = np.minimum(yearly_cny, whole_cny)
    most = int(np.argmax(left_cny))
    return float(left_cny[most]), plan.phase_labels[most]


def over_budget_reasons(plan: Plan, coverage: CoverageMatrix, objective: Objective) -> np.ndarray:
    """Per demand row of ``plan``: its cheapest option with its site's cheapest feed and the
    budget left (:func:`_budget_left`), where that option costs more
    (:data:`REASON_OVER_BUDGET`, with backhaul :data:`REASON_OVER_BUDGET_FED`; a phased plan
    :data:`REASON_OVER_YEAR_BUDGETS`, :data:`REASON_OVER_YEAR_BUDGETS_FED`), else ""."""
    reason = np.full(len(plan.uncovered_reason), "", dtype=object)
    left_cny, year = _budget_left(plan, objective)
    if not np.isfinite(left_cny):
        return reason
    site_of_option = coverage.options["candidate"].to_numpy(np.int64)
    feed_cny, feed_kind = 0.0, None
    if plan.backhaul is not None:
        feed_cny, feed_kind = cheapest_feeds(plan.backhaul, objective.opex_years)
        feed_cny = feed_cny[site_of_option]
    cheapest_cny, option = cheapest_cover(plan, coverage, feed_cny)
    tolerance_cny = 1e-9 * max(1.0, abs(left_cny))
    over = np.isfinite(cheapest_cny) & (cheapest_cny > left_cny + tolerance_cny)
    template = ((REASON_OVER_BUDGET, REASON_OVER_BUDGET_FED) if year is None else
                (REASON_OVER_YEAR_BUDGETS, REASON_OVER_YEAR_BUDGETS_FED))[feed_kind is not None]
    for row in np.flatnonzero(over & (plan.uncovered_reason != "")):  # not covered as asked
        numbers = dict(cost_m=f"{cheapest_cny[row] / 1e6:.2f}",
                       left_m=f"{max(left_cny, 0.0) / 1e6:.2f}", year=year)
        if feed_kind is not None:
            numbers.update(feed=feed_kind[site_of_option[option[row]]],
                           backhaul_m=f"{plan.backhaul.feeds.total_backhaul_cny / 1e6:.2f}")
        reason[row] = template.format(**numbers)
    return reason


def _assemble(coverage: CoverageMatrix, demand: Demand, costs: OptionCosts, selected: np.ndarray,
              solution: Solution, stages: tuple[str, ...], *, build_period=None,
              phase_labels: tuple[str, ...] = (), backhaul: PlanBackhaul | None = None,
              proven: bool = True) -> Plan:
    """The :class:`Plan` of the options ``selected``: coverage, serving options and the
    reason each mandatory point is left uncovered (``proven``: the solves that decided it
    were proven, so the budget or quota is the reason; else the solver stopped first)."""
    cover = coverage.covers
    after = covered_by(cover, selected)
    five_g = selected[coverage.options["generation"].to_numpy()[selected] == "5G"]
    levels = coverage.level_dbm[:, selected].toarray() if len(selected) else np.zeros((len(demand), 0))
    levels[levels == 0] = -np.inf
    serving = np.where(after, selected[np.argmax(levels, axis=1)] if len(selected) else -1, -1)
    reason = np.full(len(demand), "", dtype=object)
    counted = fed_for_mandatory(selected, backhaul, coverage.options)
    missed = demand.mandatory & ~mandatory_met(coverage, demand, counted)
    wanted = wanted_coverage(coverage, demand, counted).covers  # what would give them their due
    reason[missed & ~coverage.in_range] = REASON_NO_CANDIDATE
    reachable = np.diff(wanted.indptr) > 0
    reason[missed & coverage.in_range & ~reachable] = REASON_BELOW_THRESHOLD
    reason[missed & reachable] = REASON_BUDGET if proven else REASON_SOLVER_STOPPED
    if backhaul is not None:
        _backhaul_reasons(reason, missed, wanted, coverage, backhaul)
    return Plan(selected=selected, solution=solution,
                covered_before=covered_by(cover, np.flatnonzero(costs.fixed)), covered_after=after,
                covered_5g_after=covered_by(cover, five_g), serving_option=serving,
                uncovered_reason=reason, costs=costs, stages=stages, build_period=build_period,
                phase_labels=phase_labels, backhaul=backhaul)


def _backhaul_reasons(reason: np.ndarray, missed: np.ndarray, wanted: sp.csr_matrix,
                      coverage: CoverageMatrix, backhaul: PlanBackhaul) -> None:
    """Set in ``reason`` (per demand row) the backhaul's reasons of the mandatory rows
    ``missed`` (``wanted``: the options that would give them their due): no backhaul can
    feed a site that would cover one (:data:`REASON_NO_BACKHAUL`), or under
    ``backhaul.mandatory_feed: terrestrial`` only satellite can
    (:data:`REASON_NO_TERRESTRIAL_FEED`)."""
    site_of_option = coverage.options["candidate"].to_numpy(np.int64)
    feeds, hops = backhaul.feeds, backhaul.network.max_hops
    blocked = no_backhaul_rows(wanted, site_of_option, feeds.feedable)
    if terrestrial_mandatory(backhaul.network) and feeds.ground_feedable is not None:
        by_satellite = no_backhaul_rows(wanted, site_of_option, feeds.ground_feedable)
        reason[missed & by_satellite & ~blocked] = REASON_NO_TERRESTRIAL_FEED.format(hops=hops)
    reason[missed & blocked] = REASON_NO_BACKHAUL.format(hops=hops)


# ---------------------------------------------------------------------------------------
# Baselines the report compares the optimal plan with.


def baseline_free_public(coverage: CoverageMatrix, candidates: pd.DataFrame, demand: Demand,
                         costs: OptionCosts) -> np.ndarray:
    """Build every free public site, each with the option that covers the most people."""
    cover = coverage.covers
    people_per_option = cover.T @ demand.people
    free = candidates["free_public"].to_numpy(bool)[coverage.options["candidate"].to_numpy()]
    chosen = []
    for group in np.unique(costs.group[free & ~costs.fixed]):
        members = np.flatnonzero((costs.group == group) & free)
        chosen.append(members[np.argmax(people_per_option[members])])
    return np.union1d(np.asarray(chosen, dtype=np.int64), np.flatnonzero(costs.fixed))


def baseline_greedy(coverage: CoverageMatrix, demand: Demand, costs: OptionCosts,
                    objective: Objective) -> np.ndarray:
    """The rule a planner might apply by hand: repeatedly add the option with the most newly
    covered value per yuan (mandatory points first, then people) while budget and quota last;
    of equal ratios, the first option.

    The value of a newly covered mandatory point (of each generation it needs, as
    :func:`plan_rows` counts them) outranks all people together, so mandatory demand is
    served first, as in the optimal model.

    Lazy greedy (Minoux 1978): an option's gain only shrinks as coverage grows and the budget,
    quota and groups only rule options out, so each option waits in a heap under its last
    ratio, and only the top one's ratio is brought up to date; when it still tops the heap, it
    is the best of all. Each pick costs a few options' columns instead of the whole matrix, and
    the picks are those of recomputing every gain each round (the same sums, in the same order).
    """
    rows = plan_rows(coverage.covers, demand, coverage.options)  # a point's generations too
    by_option = rows.cover.T.tocsr().astype(np.float64)  # options x rows
    value = np.where(rows.mandatory, demand.people.sum() + 1.0, rows.weight(demand.people))
    chosen = list(np.flatnonzero(costs.fixed))
    uncovered_value = value * ~covered_by(rows.cover, np.asarray(chosen, dtype=np.int64))
    cost_cny = np.maximum(costs.total_cny, 1.0)
    gain = by_option @ uncovered_value
    heap = [(-gain[j] / cost_cny[j], j) for j in np.flatnonzero(~costs.fixed & (gain > 0))]
    heapq.heapify(heap)
    limits = _GreedyLimits(costs, objective)
    must = rows.mandatory
    while not (objective.kind == "min_cost" and not (must & (uncovered_value > 0)).any()):
        best = _next_best(heap, by_option, uncovered_value, cost_cny, limits)
        if best is None:
            break
        chosen.append(best)
        limits.take(best)
        row = slice(by_option.indptr[best], by_option.indptr[best + 1])
        uncovered_value[by_option.indices[row][by_option.data[row] > 0]] = 0.0
    return np.unique(np.asarray(chosen, dtype=np.int64))


def _next_best(heap: list, by_option: sp.csr_matrix, uncovered_value: np.ndarray,
               cost_cny: np.ndarray, limits: _GreedyLimits) -> int | None:
    """Pop the option of most newly covered value per yuan (the first of equal ratios) that the
    limits allow from ``heap`` (``(-ratio, option)``, ratios never below the current ones);
    None when no option allows and gains any more. Options ruled out are dropped for good."""
    while heap:
        negative_ratio, j = heapq.heappop(heap)
        if not limits.allow(j):
            continue
        gain = _option_gain(by_option, j, uncovered_value)
        if gain <= 0:
            continue
        ratio = gain / cost_cny[j]
        if -ratio == negative_ratio:
            return int(j)
        heapq.heappush(heap, (-ratio, j))
    return None


def _option_gain(by_option: sp.csr_matrix, j: int, uncovered_value: np.ndarray) -> float:
    """Row ``j`` of ``by_option @ uncovered_value``, summed term by term in the row's order as
    the sparse product sums it (a cumulative sum, not numpy's pairwise one), so a ratio
    brought up to date equals, to the last bit, the one a whole product would give."""
    row = slice(by_option.indptr[j], by_option.indptr[j + 1])
    terms = by_option.data[row] * uncovered_value[by_option.indices[row]]
    return float(np.cumsum(terms)[-1]) if len(terms) else 0.0


class _GreedyLimits:
    """Budget [CNY], quota of new sites and option groups left while the greedy rule builds."""

    def __init__(self, costs: OptionCosts, objective: Objective):
        self.costs = costs
        self.budget_cny = (objective.total_budget_cny if objective.total_budget_cny is not None
                           else np.inf)
        self.quota = (objective.total_max_new_sites if objective.total_max_new_sites is not None
                      else np.iinfo(np.int64).max)
        self.spent_cny, self.built, self.used_groups = 0.0, 0, set()

    def allow(self, j: int) -> bool:
        """Whether option ``j`` fits the budget left, the quota left and the groups not used."""
        costs = self.costs
        return (costs.total_cny[j] <= self.budget_cny - self.spent_cny
                and not (costs.group[j] >= 0 and int(costs.group[j]) in self.used_groups)
                and not (self.built >= self.quota and costs.new_site[j]))

    def take(self, j: int) -> None:
        """Count option ``j`` as built."""
        self.spent_cny += self.costs.total_cny[j]
        self.built += int(self.costs.new_site[j])
        if self.costs.group[j] >= 0:
            self.used_groups.add(int(self.costs.group[j]))


@dataclass(frozen=True)
class PlanKpis:
    """What a plan builds, costs [CNY] and covers. ``cost_cny`` is what the budget limits:
    ``site_cost_cny`` + ``backhaul_cost_cny`` (0 for a plan without backhaul; both None
    when some site of the plan cannot be fed by any backhaul)."""

    label: str
    new_options: int
    cost_cny: float | None
    people_covered: float
    mandatory_covered: int
    site_cost_cny: float = 0.0
    backhaul_cost_cny: float | None = 0.0


def kpis_of(label: str, coverage: CoverageMatrix, demand: Demand, costs: OptionCosts,
            selected: np.ndarray, counted: np.ndarray | None = None) -> PlanKpis:
    """The :class:`PlanKpis` of the options ``selected``, their sites' cost alone;
    ``counted``: those of them that count for mandatory points (:func:`mandatory_options`;
    default all)."""
    covered = covered_by(coverage.covers, selected)
    new = selected[~costs.fixed[selected]]
    site_cost = float(costs.total_cny[new].sum())
    counted = selected if counted is None else counted
    return PlanKpis(label=label, new_options=len(new), cost_cny=site_cost,
                    people_covered=float(demand.people[covered].sum()),
                    mandatory_covered=int(mandatory_met(coverage, demand, counted).sum()),
                    site_cost_cny=site_cost)


def fed_kpis(kpis: PlanKpis, feeds: BackhaulSolution | None) -> PlanKpis:
    """``kpis`` (:func:`kpis_of`) with its sites fed as ``feeds`` says, their backhaul in
    its cost (None: some site cannot be fed, so the plan has no cost to show)."""
    if feeds is None:
        return replace(kpis, cost_cny=None, backhaul_cost_cny=None)
    backhaul = float(feeds.total_backhaul_cny)
    return replace(kpis, cost_cny=kpis.site_cost_cny + backhaul, backhaul_cost_cny=backhaul)


@dataclass(frozen=True)
class BackhaulKpis:
    """A plan with backhaul: its site and backhaul costs [CNY] and coverage."""

    label: str
    site_cost_cny: float
    backhaul_cost_cny: float
    total_cost_cny: float
    people_covered: float
    mandatory_covered: int
    #: A comparison's plan (not the plan itself, whose status summary.json's ``solver``
    #: gives) that the time limit stopped before it was proven the best, in the share of the
    #: time the comparison is given (:func:`comparison_deadline`): more time may find it a
    #: better one.
    cut_short: bool = False


def backhaul_kpis(label: str, coverage: CoverageMatrix, demand: Demand, costs: OptionCosts,
                  selected: np.ndarray, backhaul: PlanBackhaul, *,
                  cut_short: bool = False) -> BackhaulKpis:
    """The :class:`BackhaulKpis` of the options ``selected`` fed as ``backhaul.feeds``
    says, mandatory points counted as ``backhaul.network`` asks (:func:`mandatory_options`)."""
    feeds = backhaul.feeds
    sites = kpis_of(label, coverage, demand, costs, selected,
                    fed_for_mandatory(selected, backhaul, coverage.options))
    return BackhaulKpis(label=label, site_cost_cny=sites.cost_cny,
                        backhaul_cost_cny=feeds.total_backhaul_cny,
                        total_cost_cny=sites.cost_cny + feeds.total_backhaul_cny,
                        people_covered=sites.people_covered,
                        mandatory_covered=sites.mandatory_covered, cut_short=cut_short)


#: The most the feed solve of a comparison may take [s] (the cheapest backhaul of a simpler
#: rule's sites, or of the sites-first plan): comparisons must not take the plan's time.
COMPARISON_FEED_LIMIT_S = 60.0
#: The least share of ``solver.time_limit_s`` the comparisons of a plan with backhaul (each
#: rule's cheapest backhaul, the sites-first plan and its backhaul) are given together [-],
#: when the plan took all of its time; else they have what it left. The sites-first plan
#: was given the whole limit again: a phased backhaul run of the demo with ``time_limit_s:
#: 30`` took 28 s to plan and 28 s more to compare. The demo's single-period sites-first
#: plan takes 5-6 s, proven: a tenth of its 60 s left it stopped short on a busy machine.
COMPARISON_MIN_SHARE = 0.25
#: Share of the comparisons' time left that the sites-first plan may take [-]; its cheapest
#: backhaul has the rest.
SITES_FIRST_SHARE = 2 / 3


def comparison_deadline(solver: SolverSettings, plan_s: float) -> float:
    """When the comparisons of a plan that took ``plan_s`` [s] must end (a
    :func:`time.perf_counter` time): what the plan left of ``solver.time_limit_s``, at least
    :data:`COMPARISON_MIN_SHARE` of it, so that the run keeps within the limit the user set
    (the comparisons' share past it at most)."""
    limit_s = solver.time_limit_s
    return time.perf_counter() + max(limit_s - plan_s, COMPARISON_MIN_SHARE * limit_s)


def _comparison_solver(solver: SolverSettings, deadline: float | None,
                       share: float = 1.0) -> SolverSettings:
    """``solver`` for a comparison's solve: ``share`` of the time left to ``deadline``, at
    most ``solver.time_limit_s`` and at least :data:`MIN_SOLVE_S` (without a deadline,
    ``solver`` as it is)."""
    if deadline is None:
        return solver
    limit_s = max(min(share * time_left_s(deadline), solver.time_limit_s), MIN_SOLVE_S)
    return replace(solver, time_limit_s=limit_s)


def cheapest_backhaul(coverage: CoverageMatrix, costs: OptionCosts, selected: np.ndarray,
                      network: BackhaulNetwork, solver: SolverSettings,
                      opex_years: float) -> BackhaulSolution:
    """The cheapest backhaul of a fixed set of options (``selected``, on air as they are):
    fiber, microwave chains through the sites of ``selected`` only, or satellite (its fee
    over ``opex_years``).

    Raises :class:`~siting.errors.InfeasibleError` when a site of ``selected`` cannot be fed.
    """
    chosen = np.asarray(selected, np.int64)
    return solve_with_backhaul(
        coverage.covers[:, chosen], costs.total_cny[chosen], objective="min_cost",
        must_cover=np.zeros(coverage.covers.shape[0], np.int64),
        fixed=np.ones(chosen.size, bool), tie_break=False, time_limit_s=solver.time_limit_s,
        mip_gap=solver.mip_gap, solver=solver.name, seed=solver.seed,
        **backhaul_arguments(network, coverage.options.iloc[chosen], opex_years))


def cheapest_backhaul_or_none(coverage: CoverageMatrix, costs: OptionCosts,
                              selected: np.ndarray, network: BackhaulNetwork,
                              solver: SolverSettings, opex_years: float, *,
                              deadline: float | None = None) -> BackhaulSolution | None:
    """:func:`cheapest_backhaul` for a comparison: within at most
    :data:`COMPARISON_FEED_LIMIT_S` and the time left to ``deadline``
    (:func:`comparison_deadline`; its cost is then at most the cheapest's), None when some
    site of ``selected`` cannot be fed or no feeds were found in that time."""
    limited = _comparison_solver(replace(solver, time_limit_s=min(solver.time_limit_s,
                                                                  COMPARISON_FEED_LIMIT_S)),
                                 deadline)
    try:
        return cheapest_backhaul(coverage, costs, selected, network, limited, opex_years)
    except (InfeasibleError, SolverError):
        return None


def backhaul_comparison(coverage: CoverageMatrix, demand: Demand, costs: OptionCosts,
                        objective: Objective, solver: SolverSettings,
                        plan: Plan, *, deadline: float | None = None) -> tuple[BackhaulKpis, ...]:
    """The joint plan (``plan``, with backhaul) next to the plan of two steps: sites planned
    as if backhaul were free, then the cheapest backhaul of each (:func:`cheapest_backhaul`;
    its total may pass the budget, which the first step spent on sites alone), the two
    within the time left to ``deadline`` (:func:`comparison_deadline`; none: the plan's time
    limit each), the first :data:`SITES_FIRST_SHARE` of it. The second row is marked
    ``cut_short`` when the time stopped either step before it was proven the best; it is
    left out when some of its sites cannot be fed at all, or the solver found no plan of
    either step in its time: a comparison does not fail the plan."""
    network = plan.backhaul.network
    joint = backhaul_kpis(JOINT_LABEL, coverage, demand, costs, plan.selected, plan.backhaul)
    try:
        sites_only = plan_network(coverage, demand, costs, objective,
                                  _comparison_solver(solver, deadline, SITES_FIRST_SHARE))
    except SolverError:
        return (joint,)
    feeds = cheapest_backhaul_or_none(coverage, costs, sites_only.selected, network, solver,
                                      objective.opex_years, deadline=deadline)
    if feeds is None:
        return (joint,)
    stopped = any(s.status == "time_limit" for s in (sites_only.solution, feeds.solution))
    return joint, backhaul_kpis(SEQUENTIAL_LABEL, coverage, demand, costs, sites_only.selected,
                                PlanBackhaul(network, feeds), cut_short=stopped)


@dataclass(frozen=True)
class PhaseKpis:
    """What a phase of a phased plan builds and where coverage stands at its end."""

    label: str
    new_sites: int
    upgrades: int
    cost_cny: float  # of the options built in the phase
    backhaul_cost_cny: float  # of the feeds built in the phase (0 without backhaul)
    people_covered: float  # by the end of the phase, existing sites included
    mandatory_covered: int  # by the end of the phase


def _on_air_through(plan: Plan, phase: int) -> np.ndarray:
    """The options of a phased plan on air at the end of ``phase``: existing ones and those
    built by then."""
    return on_air_through(np.flatnonzero(plan.costs.fixed), plan.build_period, phase)


def first_met_phase(plan: Plan, coverage: CoverageMatrix, demand: Demand) -> np.ndarray:
    """Per mandatory demand row of a phased plan: the first phase by whose end it is covered
    as its rule asks (:func:`mandatory_met`; 0 when existing sites do), -1 when it never is
    (and for rows that are not mandatory)."""
    first = np.full(len(demand), -1, dtype=np.int64)
    for phase in reversed(range(len(plan.phase_labels))):
        counted = counted_options(plan, coverage, _on_air_through(plan, phase))
        first[mandatory_met(coverage, demand, counted)] = phase
    return first


def phase_kpis(plan: Plan, coverage: CoverageMatrix, demand: Demand) -> list[PhaseKpis]:
    """One row per phase of a phased plan (an empty list for a single-period plan)."""
    if plan.build_period is None:
        return []
    rows = []
    options, new_sites, site_cny, backhaul_cny = _phase_spending(plan)
    for t, label in enumerate(plan.phase_labels):
        on_air_options = _on_air_through(plan, t)
        covered = covered_by(coverage.covers, on_air_options)
        rows.append(PhaseKpis(label=label, new_sites=int(new_sites[t]),
                              upgrades=int(options[t] - new_sites[t]),
                              cost_cny=float(site_cny[t]), backhaul_cost_cny=float(backhaul_cny[t]),
                              people_covered=float(demand.people[covered].sum()),
                              mandatory_covered=int(mandatory_met(
                                  coverage, demand,
                                  counted_options(plan, coverage, on_air_options)).sum())))
    return rows

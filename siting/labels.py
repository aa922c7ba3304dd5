"""English labels that the plan and its tables write into their outputs and that
:mod:`siting.export.i18n` translates: why a mandatory village is left uncovered, the two
backhaul plans compared, and the admin-unit rows of the per-county tables.

They live here, below every other module, so that the translations can be loaded without the
planner and its solvers (``siting predict`` writes translated maps and needs neither).
"""

from __future__ import annotations

# Feed kinds of a site, as the backhaul plan reports them (siting.optimize.feed_model) and the
# backhaul_links layer writes them.
FIBER, MICROWAVE, SATELLITE = "fiber", "microwave", "satellite"

# Why a mandatory village is left uncovered (siting.plan).
REASON_NO_CANDIDATE = "no candidate within range"
REASON_BELOW_THRESHOLD = "terrain or distance keeps every candidate in range below the threshold"
REASON_BUDGET = "not affordable within the budget or the quota of new sites"
REASON_NO_BACKHAUL = ("no backhaul can reach a site that would cover it: no fiber route, no "
                      "microwave chain of at most {hops} hops, no satellite on offer")
# ... under backhaul.mandatory_feed: terrestrial, where satellite could feed such a site.
REASON_NO_TERRESTRIAL_FEED = ("only a satellite-fed site reaches it: no fiber route or microwave "
                              "chain of at most {hops} hops can feed a site that would cover it")
# Templates filled with the plan's numbers [M CNY]: what stops a reachable village.
REASON_OVER_BUDGET = ("its cheapest site costs {cost_m} M CNY, more than the {left_m} M CNY "
                      "left of the budget")
REASON_OVER_BUDGET_FED = ("its cheapest site with its cheapest feed ({feed}) costs {cost_m} M "
                          "CNY, more than the {left_m} M CNY left of the budget (backhaul takes "
                          "{backhaul_m} M CNY)")
REASON_QUOTA = "the quota of {quota} new sites is used up"
REASON_OVER_BUDGET_AND_QUOTA = "{reason}; the quota of {quota} new sites is used up too"
# ... in a phased plan, where each year has its budget and quota.
REASON_OVER_YEAR_BUDGETS = ("its cheapest site costs {cost_m} M CNY, more than any year's "
                            "budget left (the most, {left_m} M CNY, in {year})")
REASON_OVER_YEAR_BUDGETS_FED = ("its cheapest site with its cheapest feed ({feed}) costs "
                                "{cost_m} M CNY, more than any year's budget left (the most, "
                                "{left_m} M CNY, in {year}; backhaul takes {backhaul_m} M CNY)")
REASON_YEAR_QUOTAS = "every year's quota of new sites is used up"
REASON_OVER_BUDGET_AND_YEAR_QUOTAS = "{reason}; every year's quota of new sites is used up too"
# A point that lacks a generation ``demand.mandatory.generations`` lists: which, and why.
REASON_NO_GENERATION = "no {generation} coverage: {reason}"
REASON_OTHER_TECHNOLOGY = ("every site that would cover it is planned with another technology "
                           "(one technology per new site)")
REASON_SOLVER_STOPPED = ("the solver stopped before finding a plan that covers it (not proven "
                         "unaffordable: a longer solver.time_limit_s may cover it)")
# Why the as-built network leaves a mandatory village uncovered (siting.evaluate).
REASON_NOT_BUILT = "a planned site that would cover it is not built yet"
REASON_LATER = "planned for a later year"
REASON_NOT_PLANNED = "no site on air reaches it above the threshold, and none is planned by this year"

#: The label of the plan made in two steps, which the joint plan is compared with.
SEQUENTIAL_LABEL = "sites first (backhaul ignored), then the cheapest backhaul of each"
JOINT_LABEL = "sites and backhaul planned together (siting)"

#: The admin unit of demand that lies in no admin-unit polygon and has no ``admin_unit`` field.
OUTSIDE_ADMIN_UNITS = "(outside admin units)"
#: The row of a per-county table that holds the whole region.
ALL_UNITS = "(all)"

r"""Kernel search for the joint models of sites and backhaul too large for HiGHS's MIP in the time.

Kernel search (Angelelli, Mansini & Speranza 2010) solves a sequence of small MIPs, each
restricted to a promising part of the variables. Here an LP relaxation guides it
(:func:`kernel_stage`): the LP bounds the optimum, and the MIP over the options at the sites
the LP uses (and the warm start's, which starts it) gives the plan, its gap proven against
the LP bound. Time that MIP leaves goes to buckets: the MIP over the kernel and the next
sites in the order of the LP's reduced costs (and their relays), warm-started by the plan;
bucket sites the plan puts on air join the kernel. These MIPs' own bounds count for
nothing, so HiGHS spends more of their work on primal heuristics
(``KERNEL_HEURISTIC_EFFORT``). HiGHS solves each on one thread, so on a machine of two
cores or more two run at once (``KERNEL_WIDTH``): the kernel's beside the first bucket's,
and each next bucket's as soon as one ends, with the best plan and kernel so far.

The relaxation (``KERNEL_RELAXATION``) is the model's own (``HOP_INDEXED``), or, where that
LP is too slow (``max_coverage``), the model with each site on air charged its cheapest feed
and no hop rows (``CHEAPEST_FEED``), whose kernel adds the relays
:func:`~siting.optimize.joint_model.proposed_relays` proposes.

A first stage goes to kernel search when its MIP has ``KERNEL_MIN_NNZ`` nonzeros or more
(``KERNEL_MIN_NNZ_FLOWS`` with link capacity planned) and HiGHS solves it
(:func:`kernel_search_fits`). Kernel search's own MIPs are solved by the MIP stage the
caller hands it (``solve_mip`` of :func:`kernel_stage`):
:func:`~siting.optimize.joint_solve.first_stage` without kernel search, so that this module
needs nothing from the stage that calls it.

References
----------
Angelelli, E., Mansini, R., Speranza, M.G. (2010). Kernel search: a general heuristic for the
multi-dimensional knapsack problem. Computers & Operations Research 37(11), 2017-2026.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

import numpy as np

from siting.errors import InfeasibleError, SolverError, TimeLimitError
from siting.optimize import highs_backend
from siting.optimize.core import SolveLog, time_left_s
from siting.optimize.feed_model import LEVEL_KIND
from siting.optimize.feed_network import checked_arcs
from siting.optimize.inputs import OptionInputs
from siting.optimize.joint_model import (
    JointModel,
    Stage,
    joint_model,
    proposed_relays,
    restricted,
    sites_on_air,
    translate,
)
from siting.optimize.model import BuiltModel, MipModel
from siting.optimize.solution import relative_gap

#: A backhaul MIP with at least this many nonzeros is solved by LP-guided kernel search
#: (:func:`kernel_stage`) when HiGHS solves it: on the 100 km region (6.4e6 nonzeros)
#: HiGHS's MIP spends ten minutes in presolve and the root's cut loop without improving on
#: the warm start.
KERNEL_MIN_NNZ = 3_000_000
#: ... and one with link flows (link capacity planned) from this many: the flows' big-M rows
#: leave HiGHS a weak bound and few plans. On the demo region with capacity (0.5 million
#: nonzeros, 60 s) kernel search's plan covers 823,180 people, HiGHS's MIP 786,710 (823,075
#: in 240 s).
KERNEL_MIN_NNZ_FLOWS = 200_000
#: A variable the LP relaxation sets above this is in use [-].
LP_USED = 1e-6
#: Relaxations of :func:`kernel_stage`: the model's own LP, or that of
#: :func:`_cheapest_feed_model`.
HOP_INDEXED, CHEAPEST_FEED = "hop-indexed", "cheapest-feed"
#: The relaxation guiding and bounding kernel search, per objective. On the 100 km region
#: dual simplex solves the hop-indexed ``min_cost`` LP (3.9 million nonzeros) in 25-30 s,
#: but not the ``max_coverage`` one (4.7 million) in 420 s (interior point: 270-390 s,
#: which leaves the MIP no time), while the cheapest-feed LP takes 4 s and bounds about
#: 1.3% looser (1,866,407 people against 1,842,046 on a run whose stage-1 LP was 0.04% off).
KERNEL_RELAXATION = {"min_cost": HOP_INDEXED, "max_coverage": CHEAPEST_FEED}
#: Sites each bucket of kernel search adds to the kernel (:func:`kernel_stage`) [-].
KERNEL_BUCKET_SITES = 200
#: Kernel search starts no bucket with less time left than this [s].
KERNEL_BUCKET_MIN_S = 5.0
#: HiGHS's ``mip_heuristic_effort`` in kernel search's MIPs [-] (HiGHS's default: 0.05).
#: Their bounds count for nothing (the LP's is the plan's), their plans for everything: on
#: the 100 km region the first kernel MIP (22,224 variables) reached 1,787,113 people in
#: 238 s with 0.5, where the default had 1,766,049 then and 1,781,845 at 380 s.
KERNEL_HEURISTIC_EFFORT = 0.5


def _usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


#: Kernel search's MIPs solved at once, one per core (two at most): HiGHS solves each on
#: one thread, a long one in a process of its own (:mod:`~siting.optimize.highs_process`),
#: so a second core would idle while kernel search waits for the first [-].
KERNEL_WIDTH = min(2, _usable_cores())


def kernel_search_fits(mip: MipModel, solver: str, *, flows: bool = False) -> bool:
    """Whether kernel search (:func:`kernel_stage`) solves the first stage of the primary MIP
    ``mip``: one of ``KERNEL_MIN_NNZ`` nonzeros or more (``KERNEL_MIN_NNZ_FLOWS`` with link
    ``flows``), solved by HiGHS."""
    least = min(KERNEL_MIN_NNZ, KERNEL_MIN_NNZ_FLOWS) if flows else KERNEL_MIN_NNZ
    return mip.A.nnz >= least and solver == "highs" and highs_backend.available()


def _lp_sites(model: JointModel, x: np.ndarray) -> np.ndarray:
    """Bool per site: the LP relaxation ``x`` of ``model`` uses it (one of its options or
    feeds is above ``LP_USED``)."""
    n, feed = model.n_options, model.feed
    used = np.zeros(model.sites.n_sites, bool)
    used[model.sites.site_of_option[model.scope.cols[x[:n] > LP_USED]]] = True
    used[feed.site[x[n:n + feed.size] > LP_USED]] = True
    return used


def _lp_kernel(model: JointModel, used: np.ndarray, start: np.ndarray | None) -> np.ndarray:
    """Option columns of the kernel: every option at a site ``used`` (bool per site), the
    fixed options and those of ``start``."""
    n = model.n_options
    site = model.sites.site_of_option[model.scope.cols]
    extra = model.fixed_cols if start is None else np.union1d(model.fixed_cols, start[start < n])
    return np.union1d(np.flatnonzero(used[site]), extra)


def _cheapest_feed_model(model: JointModel) -> JointModel:
    r"""The relaxation of ``model`` that charges each site on air its cheapest feed column
    and has no hop rows (``max_hops`` 0, fiber at that cost, no satellite). Every plan of
    ``model`` is one of it, at no more cost (a site's feed costs at least its cheapest), so
    its optimum, and its LP relaxation's, bound ``model``'s."""
    sites, feed = model.sites, model.feed
    real = feed.kind != LEVEL_KIND
    cheapest = np.full(sites.n_sites, np.inf)
    np.minimum.at(cheapest, feed.site[real], feed.cost_cny[real])
    every = np.arange(model.n_options)
    flat = replace(sites, site_of_option=sites.site_of_option[model.scope.cols],
                   fiber_cost_cny=np.where(sites.needs_backhaul, cheapest, 0.0),
                   satellite_cost_cny=np.full(sites.n_sites, np.inf), max_hops=0)
    p = model.p.subproblem(np.arange(model.p.n_rows), every)
    options = OptionInputs(A=p.A, cost=p.cost, counted=p.counted,
                           fixed=np.isin(every, model.fixed_cols), groups=p.groups)
    return joint_model(p, options, flat, checked_arcs(None, sites.n_sites), SolveLog())


@dataclass(frozen=True)
class _KernelLp:
    """What kernel search takes from an LP relaxation: the sites it uses (bool per site),
    the order its buckets add the others in (:func:`_site_penalty`), and the LP bound."""

    used: np.ndarray
    penalty: np.ndarray
    bound: float


def _site_penalty(model: JointModel, reduced_cost: np.ndarray) -> np.ndarray:
    """Per site, the least objective the LP relaxation of ``model`` loses per unit of one of
    its options (the options' reduced costs ``reduced_cost``, signed so that a loss is
    positive); inf at sites without options. Kernel search adds sites in this order
    (Angelelli, Mansini & Speranza 2010)."""
    n = model.n_options
    loss = reduced_cost[:n] if model.p.objective == "min_cost" else -reduced_cost[:n]
    penalty = np.full(model.sites.n_sites, np.inf)
    np.minimum.at(penalty, model.sites.site_of_option[model.scope.cols], loss)
    return penalty


def _kernel_lp(model: JointModel, built: BuiltModel, deadline) -> _KernelLp | None:
    """The :class:`_KernelLp` of the relaxation ``KERNEL_RELAXATION`` names for the model's
    objective, or None when it is not solved in time. The cheapest-feed relaxation has no
    relays: the kernel adds those :func:`~siting.optimize.feed_network.relay_chains`
    proposes."""
    if KERNEL_RELAXATION[model.p.objective] == HOP_INDEXED:
        lp = highs_backend.solve_lp(built.mip, time_limit_s=time_left_s(deadline))
        return None if lp is None else _KernelLp(_lp_sites(model, lp[0]),
                                                 _site_penalty(model, lp[2]), lp[1])
    flat = _cheapest_feed_model(model)
    lp = highs_backend.solve_lp(flat.built("primary").mip, time_limit_s=time_left_s(deadline))
    if lp is None:
        return None
    used = _lp_sites(flat, lp[0])
    return _KernelLp(used | proposed_relays(model, used)[0], _site_penalty(flat, lp[2]), lp[1])


def _buckets(lp: _KernelLp, kernel: np.ndarray) -> list[np.ndarray]:
    """Bool per site for each bucket of kernel search: an empty one (the kernel alone),
    then the sites outside ``kernel`` with options, ``KERNEL_BUCKET_SITES`` at a time in
    the order of :func:`_site_penalty`."""
    outside = np.flatnonzero(~kernel & np.isfinite(lp.penalty))
    order = outside[np.argsort(lp.penalty[outside], kind="stable")]
    buckets = [np.zeros(kernel.size, bool)]
    for first in range(0, order.size, KERNEL_BUCKET_SITES):
        bucket = np.zeros(kernel.size, bool)
        bucket[order[first:first + KERNEL_BUCKET_SITES]] = True
        buckets.append(bucket)
    return buckets


def _kernel_round(model: JointModel, sites: np.ndarray, plan: np.ndarray | None, *,
                  solve_mip, solver, deadline, mip_gap, seed,
                  record: SolveLog) -> np.ndarray | None:
    """Joint columns of the plan of the MIP restricted to the options at ``sites`` (bool
    per site), the fixed ones and those of ``plan`` (joint columns or None), which starts
    it: no worse than ``plan``. None when there is no ``plan`` and that MIP has none (in
    the time, or at all). ``solve_mip`` as :func:`kernel_stage` takes it."""
    columns = _lp_kernel(model, sites, plan)
    try:
        small = restricted(model, columns,
                           model.p.subproblem(np.arange(model.p.n_rows), columns),
                           np.isin(columns, model.fixed_cols), model.terrestrial)
        ids, every = columns[small.scope.cols], np.arange(model.n_options)
        stage = solve_mip(small, solver=solver, deadline=deadline, mip_gap=mip_gap,
                          seed=seed, record=record, heuristic_effort=KERNEL_HEURISTIC_EFFORT,
                          starts=() if plan is None else (translate(model, every, plan,
                                                                    small, ids),))
    except (InfeasibleError, SolverError):
        if plan is None:
            return None
        raise
    # the kernel's columns are the model's: the translation cannot fail
    return translate(small, ids, stage.selected, model, every)


def _best_plan(model: JointModel, plans: list[np.ndarray]) -> np.ndarray | None:
    """The plan of ``plans`` (joint columns) with the best first-stage objective, the first
    of equals; None when there is none."""
    if not plans:
        return None
    values = [model.value(plan) for plan in plans]
    pick = np.argmin if model.p.objective == "min_cost" else np.argmax
    return plans[int(pick(values))]


def _goes_on(model: JointModel, plan: np.ndarray | None, bound: float, settings: dict) -> bool:
    """Whether kernel search starts another MIP: the plan is not within the gap of
    ``bound`` and the time left is at least ``KERNEL_BUCKET_MIN_S``."""
    deadline = settings["deadline"]
    return not ((plan is not None
                 and relative_gap(model.value(plan), bound) <= settings["mip_gap"])
                or (deadline is not None and time_left_s(deadline) < KERNEL_BUCKET_MIN_S))


def _bucket_search(model: JointModel, lp: _KernelLp, start: np.ndarray | None, bound: float,
                   settings: dict) -> tuple[np.ndarray | None, np.ndarray, int]:
    """Kernel search's MIPs, ``KERNEL_WIDTH`` at a time, each on a thread of its own
    (waiting for its HiGHS process, or in HiGHS, which lets go of the GIL): the kernel's,
    then one per bucket (:func:`_buckets`), each started as soon as a MIP ends and
    :func:`_goes_on` allows, over the kernel so far, the bucket and their relays,
    warm-started by the best plan so far; bucket sites a MIP's plan puts on air join the
    kernel. A MIP still running when the plan comes within the gap is waited for (it ends
    at its own gap or the deadline). (best plan or None, kernel (bool per site), MIPs
    solved)."""
    kernel, plan, tried = lp.used, start, 0
    buckets, running = iter(_buckets(lp, lp.used)), {}
    with ThreadPoolExecutor(KERNEL_WIDTH, thread_name_prefix="siting-kernel") as pool:
        while True:
            while len(running) < KERNEL_WIDTH and (
                    not (tried or running) or _goes_on(model, plan, bound, settings)):
                bucket = next(buckets, None)
                if bucket is None:
                    break
                sites = kernel | bucket | proposed_relays(
                    model, sites_on_air(model, plan) | bucket)[0] if bucket.any() else kernel
                running[pool.submit(_kernel_round, model, sites, plan, **settings)] = bucket
            if not running:
                return plan, kernel, tried
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                bucket, found = running.pop(future), future.result()
                plan = _best_plan(model, [p for p in (found, plan) if p is not None])
                kernel = kernel | (bucket & sites_on_air(model, found))
                tried += 1


def kernel_stage(model: JointModel, built: BuiltModel, start: np.ndarray | None, *,
                 solve_mip: Callable[..., Stage], solver, deadline, mip_gap, seed,
                 record: SolveLog) -> Stage:
    """The first stage of a model too large for HiGHS's MIP in the time, by kernel search
    (Angelelli, Mansini & Speranza 2010) with the LP relaxation as its guide: the LP
    relaxation bounds the optimum; the MIP over the options at the sites it uses (and those
    of the warm start ``start``, which starts that MIP) gives a plan, and while time is
    left and the plan is not within the gap, the MIP over that kernel and a bucket of the
    sites next in the LP's order (:func:`_buckets`, their relays added), warm-started by
    the plan, improves it; bucket sites the plan puts on air join the kernel. Up to
    ``KERNEL_WIDTH`` of these MIPs run at once (:func:`_bucket_search`). Status and gap
    are the plan's against the LP bound. ``built``: the model's primary MIP.
    ``solve_mip(model, *, starts, heuristic_effort, solver, deadline, mip_gap, seed, record)``
    solves the first stage of a restricted model (the kernel's, warm-started by ``starts``)
    by its MIP alone, returning a :class:`~siting.optimize.joint_model.Stage`."""
    lp = _kernel_lp(model, built, deadline)
    if lp is None:
        if start is None:
            raise TimeLimitError(record.hinted("the time limit was reached before the LP "
                                               "relaxation of the backhaul model was solved"))
        record.note("the LP relaxation was not solved in time: the warm start is the plan")
        return Stage(start, "time_limit", model.trivial_bound())
    bound = model.objective_bound(lp.bound)
    record.note(f"kernel search: LP bound {lp.bound:,.0f} ({KERNEL_RELAXATION[model.p.objective]}"
                f" relaxation); the MIP over the options at the sites the LP relaxation uses "
                f"and the warm start's, then with buckets of {KERNEL_BUCKET_SITES} sites more")
    settings = {"solve_mip": solve_mip, "solver": solver, "deadline": deadline,
                "mip_gap": mip_gap, "seed": seed, "record": record}
    plan, kernel, tried = _bucket_search(model, lp, start, bound, settings)
    if plan is None:
        raise SolverError(record.hinted("kernel search found no plan with backhaul in its "
                                        "kernel and buckets"))
    record.note(f"kernel search: {tried - 1} bucket(s) tried, {int((kernel & ~lp.used).sum())} "
                f"of their sites joined the kernel")
    gap = relative_gap(model.value(plan), bound)
    return Stage(plan, "feasible" if gap <= mip_gap else "time_limit", bound)

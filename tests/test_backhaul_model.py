"""Tests of siting.optimize.backhaul: sites and backhaul chosen together, checked against a
brute force over every selection of options and every backhaul choice of their sites."""

from __future__ import annotations

import functools
import itertools
import math
import threading
import time
from dataclasses import replace

import numpy as np
import pulp
import pytest
import scipy.sparse as sp

from siting.errors import InfeasibleError, InputError, SolverError, TimeLimitError
from siting.optimize import highs_backend, joint_solve, kernel_search, pulp_backend
from siting.optimize.backhaul import solve_with_backhaul
from siting.optimize.feed_model import (
    LEVEL_KIND,
    MICROWAVE_KIND,
    feed_columns,
    feed_rows,
)
from siting.optimize.feed_network import checked_arcs, checked_sites, relay_chains
from siting.optimize.model import MipModel, MipResult

INF = math.inf


# ---------------------------------------------------------------------------------------
# brute force reference


def link_table(pairs):
    """``links`` from (site_a, site_b, cost) triples."""
    a, b, c = zip(*pairs) if pairs else ((), (), ())
    return {"site_a": np.array(a, dtype=np.int64), "site_b": np.array(b, dtype=np.int64),
            "cost_cny": np.array(c, dtype=float)}


def chain_ok(parent, site, fiber_fed, max_hops):
    """Whether following microwave parents from ``site`` reaches a fiber-fed site within
    ``max_hops`` hops."""
    hops, here = 0, site
    while here not in fiber_fed:
        if here not in parent or hops == max_hops:
            return False
        here, hops = parent[here], hops + 1
    return True


def cheapest_backhaul(on_air, inst):
    """Least backhaul cost of the sites ``on_air`` (a frozenset) by enumerating, for every
    site that needs backhaul, fiber, satellite or any link to another on-air site; inf when
    no choice feeds them all. A site whose backhaul is in place (``inst["in_place"]``) needs
    none ("place", which feeds no hop) but may take any of those to relay."""
    in_place = inst.get("in_place", np.zeros(len(inst["fiber"]), bool))
    choices = []
    for s in sorted(on_air):
        if not inst["needs"][s] and not in_place[s]:
            choices.append([("own", None, 0.0)])
            continue
        opts = [("place", None, 0.0)] if in_place[s] else []
        if math.isfinite(inst["fiber"][s]):
            opts.append(("fiber", None, inst["fiber"][s]))
        if math.isfinite(inst["sat"][s]):
            opts.append(("sat", None, inst["sat"][s]))
        for a, b, c in inst["links"]:
            if s in (a, b) and (b if s == a else a) in on_air:
                opts.append(("mw", b if s == a else a, c))
        choices.append(opts)
    best = INF
    for combo in itertools.product(*choices):
        cost = sum(c for _, _, c in combo)
        if cost >= best:
            continue
        sites = sorted(on_air)
        fiber_fed = {s for s, (k, _, _) in zip(sites, combo) if k in ("own", "fiber")}
        parent = {s: t for s, (k, t, _) in zip(sites, combo) if k == "mw"}
        if all(chain_ok(parent, s, fiber_fed, inst["H"]) for s in parent):
            best = cost
    return best


def brute_force(inst, objective, backhaul_cny=None):
    """(objective value, tie-break value, blocked rows) of the lexicographic optimum over
    every option selection, or None when no plan is feasible. ``backhaul_cny``: the least
    backhaul cost of a selection (bool per option; default :func:`cheapest_backhaul` of
    its sites); which sites backhaul can feed at all is :func:`cheapest_backhaul`'s."""
    A = inst["A"]
    n = A.shape[1]
    cost, site = inst["cost"], inst["site"]
    fixed, groups = inst["fixed"], inst["groups"]
    bh = functools.lru_cache(maxsize=None)(lambda s: cheapest_backhaul(s, inst))
    backhaul_cny = backhaul_cny or (lambda x: bh(frozenset(site[x])))
    budget = INF if inst.get("budget") is None else inst["budget"]
    taken = set(groups[fixed][groups[fixed] >= 0])
    spent = cost[fixed].sum()
    open_ = fixed | (~np.isin(groups, list(taken)) & (cost <= budget - spent + 1e-9))
    possible = sorted(set(site[open_]))
    feedable = {s for r in range(1, len(possible) + 1)
                for subset in itertools.combinations(possible, r)
                if bh(frozenset(subset)) < INF for s in subset}
    at_feedable = open_ & np.isin(site, list(feedable))
    need = inst["need"]
    cap = np.minimum(need, A[:, at_feedable].sum(axis=1))
    best = None
    for bits in itertools.product([0, 1], repeat=n):
        x = np.array(bits, bool)
        if np.any(fixed & ~x) or any(np.sum(x[groups == g]) > 1 for g in set(groups[groups >= 0])):
            continue
        if inst.get("max_options") is not None and x.sum() > inst["max_options"]:
            continue
        count = A[:, x].sum(axis=1)
        if np.any(count < cap):
            continue
        total = cost[x].sum() + backhaul_cny(x)
        if not (math.isfinite(total) and total <= budget + 1e-9):  # inf: a site unfed
            continue
        people = inst["weight"][count > 0].sum()
        key = (total, -people) if objective == "min_cost" else (-people, total)
        if best is None or key < best:
            best = key
    if best is None:
        return None
    return abs(best[0]), abs(best[1]), cap < need


# ---------------------------------------------------------------------------------------
# instances and checks


def random_instance(rng, objective):
    """A handful of sites (one or two options each, one option per site), links, rows."""
    n_sites = int(rng.integers(4, 7))
    per_site = rng.integers(1, 3, n_sites) if rng.random() < 0.5 else np.ones(n_sites, int)
    site = np.repeat(np.arange(n_sites), per_site)
    n, m = site.size, int(rng.integers(4, 8))
    A = rng.random((m, n)) < 0.35
    fixed = np.zeros(n, bool)
    if rng.random() < 0.4:
        fixed[rng.integers(n)] = True
    pairs = [(a, b) for a in range(n_sites) for b in range(a + 1, n_sites)]
    chosen = rng.choice(len(pairs), size=min(len(pairs), int(rng.integers(3, 7))), replace=False)
    links = [(*pairs[i], float(rng.integers(2, 9))) for i in chosen]
    if links and rng.random() < 0.3:  # a second band on one pair
        links.append((links[0][0], links[0][1], float(rng.integers(1, 9))))
    covered = A.sum(axis=1) > 0
    need = np.where(covered & (rng.random(m) < (0.6 if objective == "min_cost" else 0.3)), 1, 0)
    need[covered & (A.sum(axis=1) >= 2) & (rng.random(m) < 0.15)] *= 2
    sat_cny = float(rng.integers(15, 40)) if rng.random() < 0.5 else INF
    inst = {"A": A, "site": site, "cost": rng.integers(1, 12, n).astype(float), "fixed": fixed,
            "groups": np.where(per_site[site] > 1, site, -1),
            "fiber": np.where(rng.random(n_sites) < 0.45, rng.integers(3, 25, n_sites), INF),
            "sat": np.full(n_sites, sat_cny), "needs": rng.random(n_sites) < 0.85,
            "links": links, "H": int(rng.integers(1, 4)),
            "weight": rng.integers(1, 20, m).astype(float), "need": need}
    if objective == "max_coverage":
        inst["budget"] = float(rng.integers(10, 60))
    if rng.random() < 0.3:
        inst["max_options"] = int(rng.integers(1, 4))
    return inst


def solve(inst, objective, **kwargs):
    return solve_with_backhaul(
        sp.csr_matrix(inst["A"].astype(np.int8)), inst["cost"], objective=objective,
        weight=inst["weight"], must_cover=inst["need"], budget=inst.get("budget"),
        max_options=inst.get("max_options"), fixed=inst["fixed"], groups=inst["groups"],
        site_of_option=inst["site"], fiber_cost_cny=inst["fiber"],
        links=link_table(inst["links"]), satellite_cost_cny=inst["sat"], max_hops=inst["H"],
        site_needs_backhaul=inst["needs"], site_in_place=inst.get("in_place"), **kwargs)


def check_feeds(res, inst):
    """The plan's backhaul is valid and its costs add up."""
    on_air = np.zeros(len(inst["fiber"]), bool)
    on_air[inst["site"][res.solution.selected]] = True
    np.testing.assert_array_equal(res.on_air, on_air)
    in_place = inst.get("in_place", np.zeros(on_air.size, bool))
    for s in range(on_air.size):
        kind = res.backhaul[s]
        if not on_air[s]:
            assert kind == "" and res.backhaul_cost_cny[s] == 0
        elif in_place[s] and kind == "in_place":
            assert res.backhaul_cost_cny[s] == 0 and res.hop_level[s] == -1
        elif not inst["needs"][s] and not in_place[s]:
            assert kind == "fiber" and res.backhaul_cost_cny[s] == 0
        elif kind == "fiber":
            assert res.backhaul_cost_cny[s] == inst["fiber"][s] and res.hop_level[s] == 0
        elif kind == "satellite":
            assert res.backhaul_cost_cny[s] == inst["sat"][s]
        else:
            assert kind == "microwave"
            t, link = res.feeder_site[s], res.feeder_link[s]
            a, b, c = inst["links"][link]
            assert {a, b} == {s, t} and on_air[t] and res.backhaul_cost_cny[s] == c
            assert res.hop_level[s] == res.hop_level[t] + 1 <= inst["H"]
            assert res.backhaul[t] in ("fiber", "microwave")
    total = inst["cost"][res.solution.selected].sum() + res.backhaul_cost_cny.sum()
    assert res.total_cost_cny == pytest.approx(total)


def check_against_brute_force(inst, objective, **kwargs):
    ref = brute_force(inst, objective)
    if ref is None:
        with pytest.raises(InfeasibleError):
            solve(inst, objective, **kwargs)
        return None
    res = solve(inst, objective, **kwargs)
    check_feeds(res, inst)
    people = inst["weight"][inst["A"][:, res.solution.selected].sum(axis=1) > 0].sum()
    first, second = ((res.total_cost_cny, people) if objective == "min_cost"
                     else (people, res.total_cost_cny))
    assert res.solution.status == "optimal"
    assert not any("failed" in note for note in res.solution.notes)
    assert res.solution.objective == pytest.approx(first)
    assert (first, second) == pytest.approx(ref[:2])
    np.testing.assert_array_equal(res.backhaul_blocked, ref[2])
    return res


# ---------------------------------------------------------------------------------------
# brute force on random instances


@pytest.mark.parametrize("objective", ["min_cost", "max_coverage"])
@pytest.mark.parametrize("seed", range(20))
def test_random_instances_match_brute_force(objective, seed):
    rng = np.random.default_rng([18, seed, objective == "min_cost"])
    check_against_brute_force(random_instance(rng, objective), objective)


@pytest.mark.parametrize("objective", ["min_cost", "max_coverage"])
@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("width", [1, 2])
def test_kernel_search_gives_a_valid_plan_and_bound(monkeypatch, objective, seed, width):
    """Kernel search (forced on tiny models), one MIP at a time or two at once: a feasible
    plan, no better than the brute force optimum, and an LP bound no better than it either;
    "feasible" only within the gap (0 here)."""
    monkeypatch.setattr(kernel_search, "KERNEL_MIN_NNZ", 0)
    monkeypatch.setattr(kernel_search, "KERNEL_WIDTH", width)
    rng = np.random.default_rng([18, seed, objective == "min_cost"])
    inst = random_instance(rng, objective)
    ref = brute_force(inst, objective)
    if ref is None:
        return
    res = solve(inst, objective, tie_break=False)
    check_feeds(res, inst)
    people = inst["weight"][inst["A"][:, res.solution.selected].sum(axis=1) > 0].sum()
    value = res.total_cost_cny if objective == "min_cost" else people
    assert res.solution.objective == pytest.approx(value)
    sense = 1 if objective == "min_cost" else -1
    assert sense * value >= sense * ref[0] - 1e-6
    assert sense * res.solution.bound <= sense * ref[0] + 1e-6
    if not any(note.startswith("backhaul MIP") for note in res.solution.notes):
        return  # no option at a site backhaul can feed: one plan, no MIP
    assert any(note.startswith("kernel search: LP bound") for note in res.solution.notes)
    assert res.solution.status in ("feasible", "time_limit")
    assert (res.solution.status == "feasible") == (res.solution.gap <= 0.0)


def feasible_instances(objective):
    """(instance, brute-force reference) of the 20 random instances of ``objective`` that
    have a plan."""
    for seed in range(20):
        inst = random_instance(np.random.default_rng([18, seed, objective == "min_cost"]),
                               objective)
        ref = brute_force(inst, objective)
        if ref is not None:
            yield inst, ref


@pytest.mark.parametrize("objective", ["min_cost", "max_coverage"])
@pytest.mark.parametrize("width", [1, 2])
def test_a_bucket_of_every_other_site_makes_kernel_search_exact(monkeypatch, objective, width):
    """Kernel search with a kernel of nothing the LP uses (``LP_USED`` above 1): its first
    MIP has the warm start's and fixed options only, often too few for the optimum (or for
    any plan); one bucket of every other site (after the kernel's MIP, or beside it) then
    gives the brute-force optimum."""
    monkeypatch.setattr(kernel_search, "KERNEL_MIN_NNZ", 0)
    monkeypatch.setattr(kernel_search, "KERNEL_WIDTH", width)
    monkeypatch.setattr(kernel_search, "LP_USED", 2.0)
    monkeypatch.setattr(kernel_search, "KERNEL_BUCKET_SITES", 100)
    sense = 1 if objective == "min_cost" else -1
    missed = 0
    for inst, ref in feasible_instances(objective):
        res = solve(inst, objective, tie_break=False)
        check_feeds(res, inst)
        assert res.solution.objective == pytest.approx(ref[0])
        with monkeypatch.context() as no_buckets:  # no bucket has the time it asks for
            no_buckets.setattr(kernel_search, "KERNEL_BUCKET_MIN_S", math.inf)
            no_buckets.setattr(kernel_search, "KERNEL_WIDTH", 1)
            try:
                alone = solve(inst, objective, tie_break=False,
                              time_limit_s=60).solution.objective
            except SolverError:  # the kernel alone has no plan
                alone = math.inf * sense
        missed += sense * alone > sense * ref[0] + 1e-6
    assert missed > 0  # the bucket is what finds the optimum on some of these


def test_two_kernel_mips_run_at_once(monkeypatch):
    """With ``KERNEL_WIDTH`` 2 the kernel's MIP and the first bucket's run at the same time,
    on two threads, and the plan is still the brute-force optimum."""
    monkeypatch.setattr(kernel_search, "KERNEL_MIN_NNZ", 0)
    monkeypatch.setattr(kernel_search, "LP_USED", 2.0)
    monkeypatch.setattr(kernel_search, "KERNEL_BUCKET_SITES", 100)
    monkeypatch.setattr(kernel_search, "KERNEL_WIDTH", 2)
    inst, ref = next(feasible_instances("max_coverage"))
    spans, run_mip = [], joint_solve.run_mip

    def timed_mip(*args, **kwargs):
        t0 = time.perf_counter()
        time.sleep(0.2)  # long enough for the other MIP to start meanwhile
        res = run_mip(*args, **kwargs)
        spans.append((t0, time.perf_counter(), threading.current_thread().name))
        return res

    monkeypatch.setattr(joint_solve, "run_mip", timed_mip)
    res = solve(inst, "max_coverage", tie_break=False)
    assert res.solution.objective == pytest.approx(ref[0])
    in_threads = sorted(span for span in spans if span[2].startswith("siting-kernel"))
    (start_a, end_a, thread_a), (start_b, _, thread_b) = in_threads[:2]
    assert thread_a != thread_b and start_b < end_a


def test_lp_reduced_costs_bound_the_loss_of_forcing_a_variable_in():
    """The reduced costs of :func:`highs_backend.solve_lp` (which order kernel search's
    buckets): forcing a variable at 0 up to 1 costs the LP at least its reduced cost, in
    either sense (LP duality), checked by re-solving with the variable fixed."""
    rng = np.random.default_rng(7)
    for sense in ("max", "min"):
        for _ in range(10):
            A = sp.csc_matrix(rng.random((5, 8)) * (rng.random((5, 8)) < 0.6))
            c = rng.random(8) * (1 if sense == "max" else -1)
            lp = MipModel(c=c, A=A, row_lo=np.full(5, -np.inf), row_hi=np.ones(5),
                          col_lo=np.zeros(8), col_hi=np.ones(8), integer=np.ones(8, bool),
                          sense=sense)
            x, value, reduced = highs_backend.solve_lp(lp)
            for j in np.flatnonzero(x < 1e-9):
                col_lo = lp.col_lo.copy()
                col_lo[j] = 1.0
                forced = highs_backend.solve_lp(replace(lp, col_lo=col_lo))
                if forced is None:  # infeasible with it at 1
                    continue
                if sense == "max":
                    assert forced[1] <= value + reduced[j] + 1e-7
                else:
                    assert forced[1] >= value + reduced[j] - 1e-7


@pytest.mark.parametrize("objective", ["min_cost", "max_coverage"])
def test_cheapest_feed_bound_is_valid_and_no_tighter(monkeypatch, objective):
    """Kernel search's bound by each relaxation (forced on tiny models): both bound the
    brute-force optimum, the cheapest-feed one no tighter than the hop-indexed one."""
    monkeypatch.setattr(kernel_search, "KERNEL_MIN_NNZ", 0)
    sense = 1 if objective == "min_cost" else -1
    looser = 0
    for inst, ref in feasible_instances(objective):
        bounds = {}
        for relaxation in (kernel_search.HOP_INDEXED, kernel_search.CHEAPEST_FEED):
            monkeypatch.setitem(kernel_search.KERNEL_RELAXATION, objective, relaxation)
            res = solve(inst, objective, tie_break=False)
            check_feeds(res, inst)
            assert sense * res.solution.bound <= sense * ref[0] + 1e-6
            bounds[relaxation] = res.solution.bound
        hop, flat = bounds[kernel_search.HOP_INDEXED], bounds[kernel_search.CHEAPEST_FEED]
        assert sense * flat <= sense * hop + 1e-6
        looser += sense * flat < sense * hop - 1e-6
    assert looser > 0  # the hop rows do tighten some of these


# ---------------------------------------------------------------------------------------
# hand-made cases


def instance(A, cost, site, fiber, links, H, *, need=None, sat=INF, needs=None, fixed=None,
             weight=None, **extra):
    """A hand-made instance in the form :func:`solve` and :func:`brute_force` take."""
    A = np.array(A, bool)
    m, n = A.shape
    n_sites = len(fiber)
    return dict(A=A, cost=np.array(cost, float), site=np.array(site), fiber=np.array(fiber, float),
                links=links, H=H, sat=np.full(n_sites, sat, float),
                needs=np.ones(n_sites, bool) if needs is None else np.array(needs),
                fixed=np.zeros(n, bool) if fixed is None else np.array(fixed),
                groups=-np.ones(n, np.int64),
                weight=np.ones(m) if weight is None else np.array(weight, float),
                need=np.ones(m, np.int64) if need is None else np.array(need), **extra)


def test_cheaper_mast_loses_to_its_backhaul():
    """Site 0's mast is cheaper but its fiber route is long; site 1 wins on the total."""
    inst = instance([[1, 1]], [10, 30], [0, 1], [100, 5], [], H=1)
    res = check_against_brute_force(inst, "min_cost")
    np.testing.assert_array_equal(res.solution.selected, [1])
    assert (res.site_cost_cny, res.total_backhaul_cny, res.total_cost_cny) == (30, 5, 35)
    assert list(res.backhaul) == ["", "fiber"]


def relay_chain(H, sat=INF, relay_covers=False):
    """Site 2 covers the must-cover row 1 but has no fiber; site 1 links it to site 0, which
    has fiber (0-2 has no line of sight). Site 1 is a relay only, or also the one site
    covering the must-cover row 2 (``relay_covers``)."""
    return instance([[1, 0, 0], [0, 0, 1], [0, int(relay_covers), 0]], [8, 5, 5], [0, 1, 2],
                    [10, INF, INF], [(0, 1, 3.0), (1, 2, 3.0)], H=H, sat=sat,
                    need=[0, 1, int(relay_covers)], weight=[1, 4, 2])


@pytest.mark.parametrize("relay_covers", [False, True])
def test_two_hop_relay(relay_covers):
    res = check_against_brute_force(relay_chain(H=2, relay_covers=relay_covers), "min_cost")
    np.testing.assert_array_equal(res.solution.selected, [0, 1, 2])
    assert list(res.backhaul) == ["fiber", "microwave", "microwave"]
    assert list(res.hop_level) == [0, 1, 2]
    assert list(res.feeder_site) == [-1, 0, 1]
    assert list(res.feeder_link) == [-1, 0, 1]
    assert res.total_cost_cny == 8 + 5 + 5 + 10 + 3 + 3


def test_relay_chains_propose_the_relays_of_a_two_hop_chain():
    """The warm start's chains: on-air site 2 reaches fiber at site 0 only through site 1;
    with one hop allowed no chain reaches fiber, and no relay is proposed."""
    inst = relay_chain(H=2)
    links = link_table(inst["links"])
    for H, expected in [(2, [True, True, False]), (1, [False, False, False])]:
        sites = checked_sites(inst["site"], 3, inst["fiber"], None, None, H)
        arcs = checked_arcs(links, 3)
        relays = relay_chains(sites, arcs, np.ones(3, bool), np.array([False, False, True]),
                              np.array([8.0, 5.0, 0.0]))
        assert list(relays) == expected


def test_warm_start_is_the_sites_first_plan_fed_through_relays():
    """The sites-first plan (site 2 alone) fed through the relays its chain proposes is a
    feasible plan, handed to the MIP, and the optimum is still the brute force one."""
    res = check_against_brute_force(relay_chain(H=2), "min_cost")
    assert "warm start: the sites-first plan, 2 relays proposed, total 34" in res.solution.notes


def stop_the_mip_before_a_plan(monkeypatch):
    """Every MIP but the warm start's own small model stops without a plan (as a time limit
    on a large model does)."""
    solve_mip = joint_solve.run_mip

    def stopped(mip, *, start, **kwargs):
        if start is None:  # the warm start's own small model
            return solve_mip(mip, start=start, **kwargs)
        return MipResult(x=None, status="no_solution", objective=math.nan, bound=-math.inf)

    monkeypatch.setattr(joint_solve, "run_mip", stopped)


def test_warm_start_is_the_plan_when_the_mip_finds_none(monkeypatch):
    """A MIP stopped before it has a plan (a time limit on a large model) leaves the warm
    start as the plan, reported as not proven optimal, and no time for the tie-break."""
    stop_the_mip_before_a_plan(monkeypatch)
    res = solve(relay_chain(H=2), "min_cost")
    check_feeds(res, relay_chain(H=2))
    assert res.total_cost_cny == 34 and res.solution.status == "time_limit"
    assert "the MIP stopped without a plan of its own: the warm start is the plan" in \
        res.solution.notes
    assert "tie-break stage skipped: the first stage stopped on its time limit" in \
        res.solution.notes


def test_an_earlier_plan_is_a_warm_start(monkeypatch):
    """A plan passed as ``start`` (an earlier stage's) is tried besides the sites-first
    start, and the better one kept: with the MIP stopped, the plan is the earlier one
    (site 1, 30 + fiber 5), not the sites-first one (site 0, 10 + fiber 100)."""
    inst = instance([[1, 1]], [10, 30], [0, 1], [100, 5], [], H=1)
    earlier = solve(inst, "min_cost")
    stop_the_mip_before_a_plan(monkeypatch)
    assert solve(inst, "min_cost", tie_break=False).total_cost_cny == 110
    res = solve(inst, "min_cost", tie_break=False, start=earlier)
    check_feeds(res, inst)
    assert res.total_cost_cny == 35 and list(res.backhaul) == ["", "fiber"]


def test_hop_limit_leaves_a_must_cover_row_to_backhaul():
    """One hop allowed: site 2 cannot be fed, so row 1 is reported as left by backhaul."""
    inst = relay_chain(H=1)
    res = check_against_brute_force(inst, "min_cost")
    assert list(res.backhaul_blocked) == [False, True, False]
    assert list(res.feedable) == [True, True, False]
    assert res.solution.selected.size == 0
    res = check_against_brute_force(dict(inst, budget=30.0), "max_coverage")
    np.testing.assert_array_equal(res.solution.selected, [0])
    assert list(res.backhaul_blocked) == [False, True, False]


@pytest.mark.parametrize("H, expected", [(2, "microwave"), (1, "satellite")])
def test_satellite_is_the_last_resort(H, expected):
    res = check_against_brute_force(relay_chain(H=H, sat=50.0), "min_cost")
    assert res.backhaul[2] == expected
    assert not res.backhaul_blocked.any()
    assert res.total_cost_cny == (8 + 5 + 5 + 10 + 3 + 3 if H == 2 else 5 + 50)


def test_existing_site_with_fiber_feeds_a_new_site_for_free():
    inst = instance([[1, 0], [0, 1]], [0, 20], [0, 1], [INF, INF], [(0, 1, 4.0)], H=1,
                    needs=[False, True], fixed=[True, False])
    res = check_against_brute_force(inst, "min_cost")
    assert list(res.backhaul) == ["fiber", "microwave"]
    assert list(res.backhaul_cost_cny) == [0, 4]
    assert res.feeder_site[1] == 0 and res.total_cost_cny == 24


def test_existing_site_without_fiber_is_fed_through_a_new_relay():
    """The existing site 0 needs backhaul and only site 1 (fiber 7) can feed it: site 1 is
    built for that alone."""
    inst = instance([[1, 0]], [0, 20], [0, 1], [INF, 7], [(0, 1, 4.0)], H=1,
                    fixed=[True, False], weight=[3])
    res = check_against_brute_force(inst, "min_cost")
    np.testing.assert_array_equal(res.solution.selected, [0, 1])
    assert list(res.backhaul) == ["microwave", "fiber"]
    assert res.total_cost_cny == 20 + 7 + 4


def test_existing_site_nothing_can_feed():
    inst = instance([[1, 0]], [0, 20], [0, 1], [INF, 7], [], H=1, fixed=[True, False])
    with pytest.raises(InfeasibleError, match="existing site"):
        solve(inst, "min_cost")


def two_existing_sites(budget):
    """Existing sites 0 and 1 need feeds: at the least fiber 100 and a 40 CNY hop from site
    2 (which then costs 5 and its fiber 30); any plan spends 175 on backhaul."""
    return instance([[1, 0, 0], [0, 1, 0]], [0, 0, 5], [0, 1, 2], [100, INF, 30],
                    [(1, 2, 40.0)], H=1, fixed=[True, True, False], budget=budget)


@pytest.mark.parametrize("objective", ["min_cost", "max_coverage"])
def test_existing_sites_whose_feeds_alone_pass_the_budget_say_what_to_mark(objective):
    """:func:`two_existing_sites`: every plan spends 175 on backhaul."""
    inst = two_existing_sites

    with pytest.raises(InfeasibleError) as raised:
        solve(inst(120), objective)
    message = str(raised.value)
    assert "2 existing site(s)" in message and "at least 140 CNY" in message
    assert "has_fiber" in message and "backhaul_in_place" in message
    assert brute_force(inst(120), objective) is None
    # between the bound and what a plan costs: the MIP finds no plan, and the message says
    # what feeding the existing sites costs through the relay tried (site 2)
    with pytest.raises(InfeasibleError) as raised:
        solve(inst(150), objective)
    message = str(raised.value)
    assert message.startswith("no plan covers every must-cover row")
    assert ("feeding the 2 existing site(s) without fiber or backhaul in place costs 175 CNY "
            "through the relays tried, over the budget of 150 CNY") in message
    assert "has_fiber" in message and brute_force(inst(150), objective) is None
    res = check_against_brute_force(inst(175), objective)
    assert res.total_cost_cny == 175


def test_no_plan_in_time_says_what_feeding_the_existing_sites_costs(monkeypatch):
    """A MIP that stops before any plan (a 50 km region's, where feeding the existing sites
    ate the budget) had no warm start, as the existing sites could not be fed within the
    budget: the error says what feeding them costs and what to mark, not only that time ran
    out."""
    solve_mip, calls = joint_solve.run_mip, []

    def stopped(mip, **kwargs):  # the warm start's two small models run, the MIP stops
        calls.append(mip)
        if len(calls) <= 2:
            return solve_mip(mip, **kwargs)
        return MipResult(x=None, status="no_solution", objective=math.nan, bound=-math.inf)

    monkeypatch.setattr(joint_solve, "run_mip", stopped)
    with pytest.raises(TimeLimitError) as raised:
        solve(two_existing_sites(150), "max_coverage")
    assert str(raised.value) == (
        "the time limit was reached before any plan with backhaul was found; feeding the 2 "
        "existing site(s) without fiber or backhaul in place costs 175 CNY through the relays "
        "tried, over the budget of 150 CNY: mark the existing sites that have fiber "
        "(has_fiber) or a feed already built (backhaul_in_place) in inputs.candidates, or "
        "raise objective.budget_cny")
    assert len(calls) == 3


def model_of(inst):
    """(feed columns, feed rows, arcs) of ``inst`` with every site possible."""
    sites = checked_sites(inst["site"], inst["site"].size, inst["fiber"], inst["sat"],
                          inst["needs"], inst["H"])
    arcs = checked_arcs(link_table(inst["links"]), sites.n_sites)
    feed = feed_columns(sites, arcs, np.ones(sites.n_sites, bool))
    return feed, feed_rows(feed, arcs, sites.site_of_option, sites.n_sites), arcs


def level_relay():
    """Site 1 relays site 3's hop (link 1-3) and can be fed at level 1 by two cost classes
    (from site 0 at 2, from site 2 at 3; both have fiber): its level is one column."""
    return instance([[0, 0, 0, 1]], [1, 1, 1, 1], [0, 1, 2, 3], [10, INF, 10, INF],
                    [(0, 1, 2.0), (2, 1, 3.0), (1, 3, 1.0)], H=2)


def test_a_relay_with_two_cost_classes_has_one_level_column():
    feed, (A, _, _), _ = model_of(level_relay())
    level = np.flatnonzero(feed.kind == LEVEL_KIND)
    assert list(zip(feed.site[level], feed.level[level])) == [(1, 1)]
    assert feed.cost_cny[level].tolist() == [0.0]
    hop = np.flatnonzero((feed.kind == MICROWAVE_KIND) & (feed.site == 3)
                         & (feed.level == 2))
    row = A[:, 4 + hop[0]].nonzero()[0]  # 4 options come first
    # site 3's level-2 row: its own column and site 1's level column, nothing else
    parent_row = [r for r in row if A[r, 4 + level[0]] != 0]
    assert len(parent_row) == 1 and A[parent_row[0]].nnz == 2
    res = check_against_brute_force(level_relay(), "min_cost")
    assert list(res.feeder_site) == [-1, 0, -1, 1]
    assert res.total_cost_cny == 3 + 10 + 2 + 1


@pytest.mark.parametrize("seed", range(20))
def test_each_hop_row_names_each_parent_once(seed):
    """A hop's row has its own column and one term per parent that can be one level lower,
    whatever the parent's cost classes (its level column, or its one column there)."""
    feed, (A, lo, hi), arcs = model_of(random_instance(np.random.default_rng([18, seed]),
                                                       "min_cost"))
    n = A.shape[1] - feed.size
    for v in np.flatnonzero(feed.kind == MICROWAVE_KIND):
        members = feed.arcs_of[feed.arc_ptr[v]:feed.arc_ptr[v + 1]]
        rows = [r for r in A[:, n + v].nonzero()[0] if hi[r] == 0 and lo[r] == -np.inf
                and A[r, n + v] == 1 and A[r, :n].nnz == 0]  # not the on-air rows
        assert len(rows) == 1
        assert A[rows[0]].nnz == 1 + np.unique(arcs.parent[members]).size


def rooted_star():
    """Site 0 exists with fiber on site (a root); site 2 covers the row and has no fiber;
    it can hang off the root (3), site 1 (3, site 1 fed by the root at 4) or site 3 (5)."""
    return instance([[0, 0, 1, 0]], [0, 1, 1, 1], [0, 1, 2, 3], [INF, 10, INF, 10],
                    [(0, 2, 3.0), (0, 1, 4.0), (1, 2, 3.0), (3, 2, 5.0)], H=2,
                    needs=[False, True, True, True], fixed=[True, False, False, False])


@pytest.mark.parametrize("roots, expected", [(None, [(1, 3.0), (1, 5.0), (2, 3.0)]),
                                             ([True, False, False, False], [(1, 3.0)])])
def test_links_a_root_beats_are_dropped(roots, expected):
    inst = rooted_star()
    sites = checked_sites(inst["site"], 4, inst["fiber"], inst["sat"], inst["needs"], 2)
    arcs = checked_arcs(link_table(inst["links"]), 4)
    feed = feed_columns(sites, arcs, np.ones(4, bool),
                        roots=None if roots is None else np.array(roots))
    at_2 = np.flatnonzero((feed.site == 2) & (feed.kind == MICROWAVE_KIND))
    assert list(zip(feed.level[at_2].tolist(), feed.cost_cny[at_2].tolist())) == expected
    res = check_against_brute_force(inst, "min_cost")
    assert res.feeder_site[2] == 0 and res.total_cost_cny == 1 + 3


@pytest.mark.parametrize("objective", ["min_cost", "max_coverage"])
@pytest.mark.parametrize("seed", range(20))
def test_random_instances_with_a_root_match_brute_force(objective, seed):
    """As the random instances, with the first option's site an existing one with fiber
    on site, whose links prune others."""
    inst = random_instance(np.random.default_rng([19, seed, objective == "min_cost"]),
                           objective)
    inst["fixed"][0] = True
    inst["needs"][inst["site"][0]] = False
    check_against_brute_force(inst, objective)


@pytest.mark.parametrize("objective", ["min_cost", "max_coverage"])
@pytest.mark.parametrize("seed", range(20))
def test_random_instances_with_backhaul_in_place_match_brute_force(objective, seed):
    """As the random instances, with the first option's site on air with its backhaul in
    place (an as-built site): fed at no cost, relaying only through a feed bought for it."""
    inst = random_instance(np.random.default_rng([20, seed, objective == "min_cost"]),
                           objective)
    inst["fixed"][0] = True
    inst["in_place"] = np.zeros(len(inst["fiber"]), bool)
    inst["in_place"][inst["site"][0]] = True
    check_against_brute_force(inst, objective)


def in_place_relay(relay_fiber):
    """Site 0 is on air with its backhaul in place (no fiber on site); new site 1 covers
    the row and has no fiber; it can hang off site 0 (hop 4) if site 0 relays: site 0 then
    needs a feed of its own, fiber (``relay_fiber``) or a hop from site 2 (fiber 30, hop 6,
    site cost 50)."""
    inst = instance([[0, 1, 0]], [0, 20, 50], [0, 1, 2], [relay_fiber, INF, 30],
                    [(0, 1, 4.0), (2, 0, 6.0)], H=2, fixed=[True, False, False])
    inst["in_place"] = np.array([True, False, False])
    return inst


@pytest.mark.parametrize("relay_fiber, feeds, total", [
    (5.0, ["fiber", "microwave", ""], 20 + 4 + 5),  # site 0 buys fiber to relay
    (INF, ["microwave", "microwave", "fiber"], 20 + 4 + 50 + 6 + 30),  # and a hop from 2
])
def test_a_site_with_backhaul_in_place_relays_only_with_a_feed_of_its_own(relay_fiber, feeds,
                                                                           total):
    res = check_against_brute_force(in_place_relay(relay_fiber), "min_cost")
    assert list(res.backhaul) == feeds and res.total_cost_cny == total
    assert res.feeder_site[1] == 0 and res.hop_level[1] == res.hop_level[0] + 1


def test_a_site_with_backhaul_in_place_costs_nothing_when_not_relaying():
    inst = in_place_relay(5.0)
    inst["A"] = np.array([[1, 0, 0]], bool)  # site 0 covers the row itself
    res = check_against_brute_force(inst, "min_cost")
    assert list(res.backhaul) == ["in_place", "", ""] and res.total_cost_cny == 0


def test_bad_inputs():
    inst = relay_chain(H=2)
    with pytest.raises(InputError, match="site_of_option"):
        solve(dict(inst, site=np.array([0, 1, 3])), "min_cost")
    with pytest.raises(InputError, match="links"):
        solve(dict(inst, links=[(0, 0, 1.0)]), "min_cost")
    with pytest.raises(InputError, match="max_hops"):
        solve(dict(inst, H=-1), "min_cost")


# ---------------------------------------------------------------------------------------
# HiGHS after PuLP


def _cbc_refuses(*args, **kwargs):
    raise AssertionError("siting fell back to CBC")


def test_runs_after_pulp(monkeypatch):
    """Solved by CBC through PuLP, then by HiGHS on a thread where PuLP's HiGHS sized the
    scheduler to two threads (issue 19): the same optimum, and no fallback."""
    inst = relay_chain(H=2, sat=50.0)
    cbc = check_against_brute_force(inst, "min_cost", solver="cbc")
    assert cbc.solution.solver == "cbc"

    def pulp_then_siting():
        prob = pulp.LpProblem("pulp_first", pulp.LpMinimize)
        new_var = prob.add_variable if hasattr(prob, "add_variable") else pulp.LpVariable
        x = new_var("x", 0, 3, cat="Integer")
        prob += x
        prob += x >= 1.5
        prob.solve(pulp.HiGHS(msg=False, threads=2))
        return check_against_brute_force(inst, "min_cost")

    monkeypatch.setattr(pulp_backend, "solve_mip", _cbc_refuses)
    res = highs_backend.on_own_thread(pulp_then_siting)
    assert res.solution.solver == "highs"
    np.testing.assert_array_equal(res.solution.selected, cbc.solution.selected)
    assert list(res.backhaul) == list(cbc.backhaul)

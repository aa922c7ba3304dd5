"""siting.optimize versus PySAL spopt on the same LSCP and MCLP instance.

2,000 demand points x 400 candidate facilities placed uniformly at random in a 20 km square
(fixed seed), Euclidean distances; the service radius is the smallest multiple of 50 m that
makes the LSCP feasible (every demand point within reach of some facility). MCLP: integer
weights 1..100, p facilities. Both sides get the same distance matrix; timings include model
building (spopt: ``from_cost_matrix`` + ``solve``; siting: the sparse coverage matrix + solve).

One process runs siting ``--repeat`` times, then spopt ``--repeat`` times, then siting again.
spopt solves with PuLP's ``HiGHS`` (HiGHS's default thread count, as a notebook calls it,
unless ``--spopt-threads``). HiGHS sizes a thread's scheduler at its first solve and refuses
instances asking for another thread count: once, every siting solve after spopt's failed
over to CBC (issue 19). So that spopt's solves are the first HiGHS ones on the main thread,
as in a notebook that compares with spopt before calling siting, the siting runs before
them run on a thread that ends with them. Medians are compared, siting before and after
spopt; siting's first call (numba kernels loaded from their on-disk cache, HiGHS started) is
printed apart. The exit status is 1 if an objective differs or (with ``--solver highs``)
siting fell back to CBC.

Needs ``pip install -e '.[bench]'`` (spopt is a benchmark-only dependency).

    python benchmarks/vs_spopt.py [--solver highs|cbc] [--p 20] [--repeat 3] [--spopt-threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from siting.optimize import solve_coverage_model, solve_max_coverage, solve_set_cover


def make_instance(n_demand=2000, n_fac=400, side_m=20_000.0, seed=42):
    rng = np.random.default_rng(seed)
    demand = rng.random((n_demand, 2)) * side_m
    fac = rng.random((n_fac, 2)) * side_m
    dist = np.sqrt(((demand[:, None, :] - fac[None, :, :]) ** 2).sum(axis=2))
    radius = float(np.ceil(dist.min(axis=1).max() / 50.0) * 50.0)
    weights = rng.integers(1, 101, n_demand).astype(float)
    return dist, radius, weights


def _pulp_solver(name, threads):
    """PuLP's solver ``name``; ``threads`` None leaves the thread count to the solver."""
    import pulp
    opts = {} if threads is None else {"threads": threads}
    if name == "highs":
        return pulp.HiGHS(msg=False, **opts)
    from pulp.apis import coin_api
    return pulp.COIN_CMD(path=coin_api.pulp_cbc_path, msg=False, **opts)


def run_spopt(dist, radius, weights, p, solver, threads=None):
    from spopt.locate import LSCP, MCLP
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # spopt / PuLP deprecation chatter
        t0 = time.perf_counter()
        lscp = LSCP.from_cost_matrix(dist, radius)
        lscp = lscp.solve(_pulp_solver(solver, threads))
        t_lscp = time.perf_counter() - t0
        t0 = time.perf_counter()
        mclp = MCLP.from_cost_matrix(dist, weights, radius, p_facilities=p)
        mclp = mclp.solve(_pulp_solver(solver, threads))
        t_mclp = time.perf_counter() - t0
    return (float(lscp.problem.objective.value()), t_lscp,
            float(mclp.problem.objective.value()), t_mclp)


def run_siting(dist, radius, weights, p, solver):
    t0 = time.perf_counter()
    cover = sp.csr_matrix(dist <= radius)
    lscp = solve_set_cover(cover, np.ones(dist.shape[1]), solver=solver)
    t_lscp = time.perf_counter() - t0
    t0 = time.perf_counter()
    cover = sp.csr_matrix(dist <= radius)
    mclp = solve_coverage_model(cover, np.ones(dist.shape[1]), objective="max_coverage",
                                weight=weights, max_options=p, tie_break=False, solver=solver)
    t_mclp = time.perf_counter() - t0
    t0 = time.perf_counter()
    cover = sp.csr_matrix(dist <= radius)
    mclp_tb = solve_max_coverage(cover, weights, np.ones(dist.shape[1]), max_options=p,
                                 solver=solver)
    t_mclp_tb = time.perf_counter() - t0
    return lscp, t_lscp, mclp, t_mclp, mclp_tb, t_mclp_tb


MODELS = ("LSCP (facilities)", "MCLP (covered weight)", "MCLP + cheapest tie-break")


def _on_passing_thread(fn, *args):
    """``fn(*args)`` on a thread that ends with it, leaving the main thread's HiGHS scheduler
    as it was (unsized, for spopt's solves to size)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="siting-before") as pool:
        return pool.submit(fn, *args).result()


def _medians(runs, keys):
    return [statistics.median(r[k] for r in runs) for k in keys]


def _report(spopt_runs, before_runs, after_runs) -> bool:
    """Print the table; whether every siting objective equals spopt's."""
    s_lscp, _, s_mclp, _ = spopt_runs[0]
    refs = (s_lscp, s_mclp, s_mclp)
    spopt_s = _medians(spopt_runs, (1, 3, 3))
    before_s, after_s = _medians(before_runs, (1, 3, 5)), _medians(after_runs, (1, 3, 5))
    first_s = before_runs[0][1::2]
    before, after = before_runs[0][0::2], after_runs[-1][0::2]
    print("| model | spopt objective | siting objective | siting status "
          "| siting method (before / after spopt) | spopt s | siting s before (first call) "
          "| siting s after | spopt/siting before | spopt/siting after |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in zip(MODELS, refs, before, after, spopt_s, before_s, first_s, after_s):
        model, ref, sol_b, sol_a, t_spopt, t_b, t_first, t_a = row
        print(f"| {model} | {ref:g} | {sol_b.objective:g} | {sol_b.status} "
              f"| {sol_b.solver} / {sol_a.solver} "
              f"| {t_spopt:.2f} | {t_b:.2f} ({t_first:.2f}) | {t_a:.2f} "
              f"| {t_spopt / t_b:.1f}x | {t_spopt / t_a:.1f}x |")
    sols = [sol for run in before_runs + after_runs for sol in run[0::2]]
    return all(abs(ref - sol.objective) < 1e-6 for sol, ref in zip(sols, refs * len(sols)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--solver", default="highs", choices=("highs", "cbc"))
    ap.add_argument("--p", type=int, default=20, help="MCLP facilities")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side (medians compared)")
    ap.add_argument("--spopt-threads", type=int, default=None,
                    help="threads of spopt's PuLP solver (default: the solver's own default)")
    args = ap.parse_args(argv)
    try:
        import spopt  # noqa: F401
    except ImportError:
        print("spopt is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    dist, radius, weights = make_instance(seed=args.seed)
    cover = dist <= radius
    repeat = max(1, args.repeat)
    threads = "default" if args.spopt_threads is None else args.spopt_threads
    print(f"# instance: {dist.shape[0]} demand x {dist.shape[1]} facilities, radius {radius:g} m, "
          f"coverage density {cover.mean():.4f}, MCLP p={args.p}, solver {args.solver} "
          f"(spopt threads: {threads}), {repeat} run(s) each: siting, spopt, siting again")
    instance = (dist, radius, weights, args.p, args.solver)
    before_runs = _on_passing_thread(lambda: [run_siting(*instance) for _ in range(repeat)])
    spopt_runs = [run_spopt(*instance, threads=args.spopt_threads) for _ in range(repeat)]
    after_runs = [run_siting(*instance) for _ in range(repeat)]
    ok = _report(spopt_runs, before_runs, after_runs)
    print(f"# objectives agree: {ok}")
    fell_back = args.solver == "highs" and any(
        "cbc" in sol.solver for run in before_runs + after_runs for sol in run[0::2])
    print(f"# siting fell back to CBC: {fell_back}")
    return 0 if ok and not fell_back else 1


if __name__ == "__main__":
    sys.exit(main())

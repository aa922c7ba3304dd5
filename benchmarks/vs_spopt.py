"""siting.optimize versus PySAL spopt on the same LSCP and MCLP instance.

2,000 demand points x 400 candidate facilities placed uniformly at random in a 20 km square
(fixed seed), Euclidean distances; the service radius is the smallest multiple of 50 m that
makes the LSCP feasible (every demand point within reach of some facility). MCLP: integer
weights 1..100, p facilities. Both sides get the same distance matrix; timings include model
building (spopt: ``from_cost_matrix`` + ``solve``; siting: the sparse coverage matrix + solve).
Each side is run ``--repeat`` times in turn and the medians are compared; siting's first call
(numba kernels loaded from their on-disk cache, HiGHS started) is printed apart.

Needs ``pip install -e '.[bench]'`` (spopt is a benchmark-only dependency).

    python benchmarks/vs_spopt.py [--solver highs|cbc] [--p 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

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


def _pulp_solver(name):
    import pulp
    if name == "highs":
        return pulp.HiGHS(msg=False, threads=1)
    from pulp.apis import coin_api
    return pulp.COIN_CMD(path=coin_api.pulp_cbc_path, msg=False, threads=1)


def run_spopt(dist, radius, weights, p, solver):
    from spopt.locate import LSCP, MCLP
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # spopt / PuLP deprecation chatter
        t0 = time.perf_counter()
        lscp = LSCP.from_cost_matrix(dist, radius)
        lscp = lscp.solve(_pulp_solver(solver))
        t_lscp = time.perf_counter() - t0
        t0 = time.perf_counter()
        mclp = MCLP.from_cost_matrix(dist, weights, radius, p_facilities=p)
        mclp = mclp.solve(_pulp_solver(solver))
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--solver", default="highs", choices=("highs", "cbc"))
    ap.add_argument("--p", type=int, default=20, help="MCLP facilities")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side (medians compared)")
    args = ap.parse_args(argv)
    try:
        import spopt  # noqa: F401
    except ImportError:
        print("spopt is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    dist, radius, weights = make_instance(seed=args.seed)
    cover = dist <= radius
    print(f"# instance: {dist.shape[0]} demand x {dist.shape[1]} facilities, radius {radius:g} m, "
          f"coverage density {cover.mean():.4f}, MCLP p={args.p}, solver {args.solver}, "
          f"{args.repeat} run(s) each")
    spopt_runs, siting_runs = [], []
    for _ in range(max(1, args.repeat)):
        spopt_runs.append(run_spopt(dist, radius, weights, args.p, args.solver))
        siting_runs.append(run_siting(dist, radius, weights, args.p, args.solver))
    s_lscp, _, s_mclp, _ = spopt_runs[0]
    spopt_s = [statistics.median(r[k] for r in spopt_runs) for k in (1, 3, 3)]
    sols = siting_runs[0][0::2]
    siting_s = [statistics.median(r[k] for r in siting_runs) for k in (1, 3, 5)]
    first_s = siting_runs[0][1::2]
    print("| model | spopt objective | siting objective | siting status | siting method "
          "| spopt s | siting s (first call) | spopt/siting time |")
    print("|---|---|---|---|---|---|---|---|")
    for model, ref, sol, t_spopt, t_siting, t_first in zip(
            MODELS, (s_lscp, s_mclp, s_mclp), sols, spopt_s, siting_s, first_s):
        print(f"| {model} | {ref:g} | {sol.objective:g} | {sol.status} | {sol.solver} "
              f"| {t_spopt:.2f} | {t_siting:.2f} ({t_first:.2f}) | {t_spopt / t_siting:.1f}x |")
    ok = all(abs(ref - sol.objective) < 1e-6 for ref, sol in zip((s_lscp, s_mclp, s_mclp), sols))
    print(f"# objectives agree: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""OR-Library set covering benchmark for siting.optimize.solve_set_cover.

Runs every instance found in the OR-Library folder (default /work/shared/data/real/orlib,
see its SOURCE.md; best-known values from best_known.csv, HiGHS reference times from
highs_verification.csv) plus a few instances generated the Beasley way (so the harness runs
even without the folder), and prints per instance: objective, best known, gap to it, proven
gap, status and seconds.

    python benchmarks/orlib_scp.py                      # everything found
    python benchmarks/orlib_scp.py --glob 'scp4*' --glob 'scpnr*' --limit 60 --limit-large 120
    python benchmarks/orlib_scp.py --no-files --generated 3
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import sys
import time
from pathlib import Path

import numpy as np

from siting.optimize import solve_set_cover
from siting.optimize.orlib import generate_beasley_instance, read_orlib_rail, read_orlib_scp

DEFAULT_DIR = Path("/work/shared/data/real/orlib")
LARGE = ("scpnre*", "scpnrf*", "scpnrg*", "scpnrh*", "rail*")
GENERATED = [  # (name, m, n, density, seed): sizes of Beasley's sets 4 and B
    ("gen4-like", 200, 1000, 0.02, 1),
    ("genB-like", 300, 3000, 0.05, 2),
    ("gen6-like", 200, 1000, 0.05, 3),
]


def _sort_key(name: str):
    import re
    m = re.match(r"([a-z]+?)(\d*)$", name)
    stem, num = (m.group(1), m.group(2)) if m else (name, "")
    # scp41..scp410: set digit then instance number
    if stem == "scp" and len(num) >= 2:
        return (stem, int(num[0]), int(num[1:]))
    return (stem, 0, int(num) if num else 0)


def _read_csv(path: Path, key: str = "instance") -> dict[str, dict]:
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        return {row[key]: row for row in csv.DictReader(f)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="OR-Library folder")
    ap.add_argument("--glob", action="append", default=None,
                    help="instance name glob (repeatable); default: every scp* and rail* file")
    ap.add_argument("--limit", type=float, default=60.0, help="time limit [s] (sets 4-6, A-E, ...)")
    ap.add_argument("--limit-large", type=float, default=120.0, help="time limit [s] for NRE-NRH, rail")
    ap.add_argument("--solver", default="highs", choices=("highs", "cbc"))
    ap.add_argument("--generated", type=int, default=2, help="number of generated instances (0-3)")
    ap.add_argument("--no-files", action="store_true", help="skip the OR-Library folder")
    ap.add_argument("--csv", type=Path, default=None, help="also write the table as CSV")
    args = ap.parse_args(argv)

    best = _read_csv(args.dir / "best_known.csv")
    verif = _read_csv(args.dir / "highs_verification.csv")
    jobs = []
    if not args.no_files and args.dir.exists():
        globs = args.glob or ["scp*", "rail*"]
        files = sorted((p for p in args.dir.glob("*.txt")
                        if any(fnmatch.fnmatch(p.stem, g) for g in globs)),
                       key=lambda p: _sort_key(p.stem))
        jobs += [(p.stem, p) for p in files]
    elif not args.no_files:
        print(f"# {args.dir} not found: generated instances only", file=sys.stderr)
    jobs += [(g[0], g) for g in GENERATED[: max(0, min(args.generated, len(GENERATED)))]]

    header = ("instance", "rows", "cols", "objective", "best_known", "gap_to_best_%",
              "proven_gap_%", "status", "seconds", "limit_s", "highs_ref_s")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    rows_out = []
    for name, src in jobs:
        if isinstance(src, Path):
            reader = read_orlib_rail if name.startswith("rail") else read_orlib_scp
            A, cost = reader(src)
        else:
            _, m, n, dens, seed = src
            A, cost = generate_beasley_instance(m, n, dens, seed)
        large = any(fnmatch.fnmatch(name, g) for g in LARGE)
        limit = args.limit_large if large else args.limit
        t0 = time.perf_counter()
        sol = solve_set_cover(A, cost, time_limit_s=limit, solver=args.solver)
        secs = time.perf_counter() - t0
        x = np.zeros(A.shape[1])
        x[sol.selected] = 1
        assert np.all(A @ x > 0), f"{name}: returned plan leaves a row uncovered"
        bk = best.get(name, {}).get("best_known", "")
        gap_bk = f"{100 * (sol.objective - float(bk)) / float(bk):.2f}" if bk else "-"
        ref = verif.get(name, {})
        ref_s = ref.get("seconds", "") if ref.get("highs_status") == "Optimal" else ""
        row = (name, A.shape[0], A.shape[1], f"{sol.objective:g}", bk or "-", gap_bk,
               f"{100 * sol.gap:.2f}", sol.status, f"{secs:.1f}", f"{limit:g}", ref_s or "-")
        rows_out.append(row)
        print("| " + " | ".join(str(v) for v in row) + " |", flush=True)
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows_out)
    solved = [r for r in rows_out if r[4] != "-"]
    hit = sum(1 for r in solved if r[5] == "0.00")
    print(f"\n# {hit}/{len(solved)} instances at the best-known value; "
          f"{sum(1 for r in rows_out if r[7] == 'optimal')}/{len(rows_out)} proven optimal")
    return 0


if __name__ == "__main__":
    sys.exit(main())

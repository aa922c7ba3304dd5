"""``siting sweep`` and the plan's comparisons as a demanding analyst meets them: a sweep run
off a terminal (nohup, a scheduler, a log file) says how each point goes; the backhaul
comparison keeps within the scenario's time limit and says when that limit cut it short."""

from __future__ import annotations

import re

import pandas as pd
from typer.testing import CliRunner

from regions import two_clusters
from siting.cli import app

#: A progress line of a sweep's point as it ends: its number, value, status, people, share, time.
POINT_DONE = re.compile(r"siting: solve 3 plans over max_new_sites: (\d)/3 (\d) new sites: "
                        r"optimal, ([\d,]+) people covered \(([\d.]+)%\), ([\d.]+) s")


def test_a_sweep_off_a_terminal_logs_each_point_as_it_starts_and_ends(tmp_path):
    # Under nohup or a scheduler, a sweep said "siting: solve 20 plans over budget_cny" once,
    # then nothing for the many minutes its plans took.
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["sweep", str(two_clusters(tmp_path / "in")),
                                      "--sites", "0,1,2", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "plans over" in line]
    starts = [f"siting: solve 3 plans over max_new_sites: {n}/3 {n - 1} new sites: planning"
              for n in (1, 2, 3)]
    ends = [POINT_DONE.fullmatch(line) for line in lines[1::2]]
    assert lines[0::2] == starts and all(ends) and len(ends) == 3
    # each point's line gives the people the curve has for it: one site buys WEST's 800
    # people, the budget buys one site at most
    assert [int(m[3].replace(",", "")) for m in ends] == [0, 800, 800]
    curve = pd.read_csv(out / "cost_coverage.csv")
    assert [float(m[4]) for m in ends] == list(curve["people_covered_pct"].round(2))
    assert all(float(m[5]) >= 0 for m in ends)
    # the curve's table on stdout is left alone
    assert "planning" not in result.stdout


def test_a_quiet_sweep_prints_no_point_lines(tmp_path):
    result = CliRunner().invoke(app, ["sweep", str(two_clusters(tmp_path / "in")),
                                      "--sites", "0,1", "--out", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "" and result.stdout == ""

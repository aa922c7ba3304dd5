"""``siting sweep`` and the plan's comparisons as a demanding analyst meets them: a sweep run
off a terminal (nohup, a scheduler, a log file) says how each point goes; the backhaul
comparison keeps within the scenario's time limit and says when that limit cut it short."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import time

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from PIL import Image
from rich.console import Console
from shapely.geometry import Point
from typer.testing import CliRunner

import siting.cli
import siting.plan
import siting.sweep
from regions import CRS, candidate, two_clusters, village, write_region, xy
from siting.cli import app
from siting.errors import TimeLimitError
from siting.pipeline import output_lock
from siting.plan import COMPARISON_MIN_SHARE, MIN_SOLVE_S, SEQUENTIAL_LABEL
from siting.sweep import plot_curve

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


def test_a_sweep_does_not_write_a_folder_another_run_is_writing(tmp_path):
    # A sweep wrote its curve into a folder a run (or another sweep) was writing: two sweeps
    # could leave one's CSV beside the other's figure, and a run taking the folder removed
    # the sweep's staged files. It now waits for no one: it says so, and writes nothing.
    out = tmp_path / "o"
    with output_lock(out):
        result = CliRunner().invoke(app, ["sweep", str(two_clusters(tmp_path / "in")),
                                          "--sites", "0,1", "--out", str(out)])
    assert result.exit_code == 2, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"siting: error: {out}: another siting run is writing to this folder; wait for it to "
        f"finish or choose another --out")
    assert not (out / "cost_coverage.csv").exists() and not (out / "cost_coverage.png").exists()
    again = CliRunner().invoke(app, ["sweep", str(two_clusters(tmp_path / "in")),
                                     "--sites", "0,1", "--out", str(out)])
    assert again.exit_code == 0, again.stderr
    assert list(pd.read_csv(out / "cost_coverage.csv")["max_new_sites"]) == [0, 1]
    assert sorted(p.name for p in out.iterdir()) == [".siting.lock", "cost_coverage.csv",
                                                     "cost_coverage.png"]


def _fed_region(folder, time_limit_s: float):
    """An existing site without fiber that every plan must feed (from a fiber node 700 m
    away by road, or by satellite), a candidate beside it; backhaul planned with the sites."""
    sites = [dict(candidate("E1", 600, 600, kind="existing_4g", techs="4G"), has_fiber=False),
             dict(candidate("C1", 1200, 1200), has_fiber=False)]
    scenario = write_region(folder, np.full((60, 60), 400.0), villages=[village("V1", 900, 900)],
                            candidates=sites, objective={"type": "max_coverage", "budget_cny": 10e6},
                            backhaul={"enabled": True, "microwave": []},
                            solver={"name": "highs", "time_limit_s": time_limit_s, "mip_gap": 0.0})
    gpd.GeoDataFrame({"node_id": ["N1"]}, geometry=[Point(*xy(100, 100))], crs=CRS).to_file(
        folder / "region.gpkg", layer="fiber_nodes")
    return scenario


def _stopped(result):
    """A solver's result (a Solution, or a BackhaulSolution holding one) as the time limit
    leaves it: not proven."""
    if isinstance(result, siting.plan.Solution):
        return dataclasses.replace(result, status="time_limit")
    return dataclasses.replace(result, solution=_stopped(result.solution))


def test_a_backhaul_run_keeps_its_comparisons_within_the_time_limit_and_says_so(tmp_path,
                                                                                 monkeypatch):
    # A phased backhaul run of the demo with time_limit_s: 30 took 28 s to plan, then 28 s
    # more: the sites-first plan of the report's comparison had the whole limit again (and
    # each rule's cheapest backhaul up to 60 s). Here every solve takes all the time it is
    # given and stops there, as on a large region.
    limit_s = 10.0
    given_s = []  # the time limit of each solve, in order

    def taking_all_its_time(solve):
        def solved(*args, time_limit_s, **kwargs):
            given_s.append(time_limit_s)
            time.sleep(time_limit_s)
            return _stopped(solve(*args, time_limit_s=time_limit_s, **kwargs))
        return solved

    for name in ("solve_coverage_model", "solve_with_backhaul"):
        monkeypatch.setattr(siting.plan, name, taking_all_its_time(getattr(siting.plan, name)))
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["run", str(_fed_region(tmp_path / "in", limit_s)),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    plan_s, compared_s = summary["timings_s"]["optimize"], summary["timings_s"]["baselines"]
    assert plan_s <= limit_s
    # the comparisons have what the plan left of the limit (at least COMPARISON_MIN_SHARE of it), each of
    # their solves at least MIN_SOLVE_S: 3 rules' feeds, the sites-first plan's 2 stages and
    # its feed
    comparison_calls = len(given_s) - 2  # the plan's: its affordability stage and its last
    assert comparison_calls == 6
    bound_s = max(limit_s - plan_s, COMPARISON_MIN_SHARE * limit_s) + comparison_calls * MIN_SOLVE_S
    assert compared_s <= bound_s + 1.0, (given_s, compared_s, bound_s)
    # the sites-first plan is there, marked: the time limit stopped it before it was proven
    joint, sequential = summary["backhaul"]["comparison"]
    assert sequential["label"] == SEQUENTIAL_LABEL
    assert (joint["cut_short"], sequential["cut_short"]) == (False, True)
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "The time limit stopped the two-step plan before it was proven the best" in report


def test_the_curve_draws_a_point_the_time_limit_stopped_hollow_and_names_it(tmp_path,
                                                                              monkeypatch):
    # A point the time limit stopped (status time_limit) was drawn as a proven one: a dip of
    # the curve there read as "more sites cover fewer people".
    plan_network = siting.sweep.plan_network

    def stopped_at_one_site(coverage, demand, costs, objective, solver, backhaul):
        plan = plan_network(coverage, demand, costs, objective, solver, backhaul)
        if objective.max_new_sites != 1:
            return plan
        return dataclasses.replace(plan, solution=_stopped(plan.solution))

    monkeypatch.setattr(siting.sweep, "plan_network", stopped_at_one_site)
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["sweep", str(two_clusters(tmp_path / "in")),
                                      "--sites", "0,1,2", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    curve = pd.read_csv(out / "cost_coverage.csv")
    assert list(curve["status"]) == ["optimal", "time_limit", "optimal"]
    for language, legend in (("en", "stopped at the time limit: not proven the best"),
                             ("zh", "限时停止：未证明最优")):
        fig, ax = plot_curve(curve, Figure().add_subplot(), language=language)
        drawn, hollow = ax.lines
        assert list(drawn.get_xdata()) == [0, 1, 2]
        assert list(hollow.get_xdata()) == [1] and list(hollow.get_ydata()) == [
            curve["people_covered_pct"][1]]
        assert hollow.get_markerfacecolor() == "white"
        assert hollow.get_markeredgecolor() == drawn.get_color()
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [legend]
    with Image.open(out / "cost_coverage.png") as png:
        png.load()
        assert png.size == (1200, 750)
    # a curve whose points are all proven has no legend
    fig, ax = plot_curve(curve.assign(status="optimal"), Figure().add_subplot(), language="en")
    assert len(ax.lines) == 1 and ax.get_legend() is None


def test_a_backhaul_report_says_why_the_two_step_plan_is_left_out(tmp_path, monkeypatch):
    # When the sites-first plan found no plan in the comparison's time, the report's table
    # "The same scenario planned in two steps" listed the joint plan alone, saying nothing.
    def no_plan_in_time(*args, **kwargs):  # the comparison's sites-first plan (the run's
        # own plan is pipeline's plan_network)
        raise TimeLimitError("the time limit was reached before any feasible plan was found")

    monkeypatch.setattr(siting.plan, "plan_network", no_plan_in_time)
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["run", str(_fed_region(tmp_path / "in", 30)),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    (joint,) = summary["backhaul"]["comparison"]
    assert joint["label"] != SEQUENTIAL_LABEL
    report = (out / "report.md").read_text(encoding="utf-8")
    assert ("The two-step plan is left out: some of its sites cannot be fed, or no plan of "
            "either step was found in the time the comparison is given") in report
    assert SEQUENTIAL_LABEL not in report
    assert "The two-step plan is left out" in (out / "report.html").read_text(encoding="utf-8")


def test_on_a_terminal_a_point_shows_in_its_stage_bar_as_written(monkeypatch, capsys):
    # on a terminal the bars stay (no plain lines), the point in the bar's text, read as
    # written: a value with brackets is not taken for rich markup
    screen = io.StringIO()
    monkeypatch.setattr(siting.cli, "console",
                        Console(file=screen, force_terminal=True, width=160))
    with siting.cli.StageReporter(quiet=False) as reporter:
        reporter("solve 2 plans over budget_cny", 0, 2)
        reporter.step("solve 2 plans over budget_cny", "1/2 [bold]5 CNY[/bold]: planning")
    assert "solve 2 plans over budget_cny: 1/2 [bold]5 CNY[/bold]: planning" in screen.getvalue()
    assert capsys.readouterr() == ("", "")

"""``siting sweep`` as a planner uses it: a series with points that have no plan, the curve in
Chinese money (万元), budgets typed with a Chinese input method or with 万, a value given twice, a
time-limited point in the terminal table, and a sweep after its inputs changed."""

from __future__ import annotations

import re
import unicodedata

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from matplotlib.figure import Figure
from PIL import Image
from shapely.geometry import Point
from typer.testing import CliRunner

import siting.sweep
from regions import (CRS, TWO_CLUSTERS_SITE_CNY, candidate, two_clusters, village,
                     write_region, xy)
from siting.cli import app
from siting.errors import ScenarioError, TimeLimitError
from siting.sweep import MAX_RANGE_VALUES, curve_text, parse_numbers, plot_curve

#: What one new 4G site costs over the 5 years of opex: capex, equipment, (site + carrier) opex.
ONE_SITE_CNY = TWO_CLUSTERS_SITE_CNY


def _fed_region(folder):
    """An existing site without fiber that every plan must feed (from a fiber node 700 m away
    by road or satellite): a budget below that feed has no plan."""
    sites = [dict(candidate("E1", 600, 600, kind="existing_4g", techs="4G"), has_fiber=False),
             dict(candidate("C1", 1200, 1200), has_fiber=False)]
    scenario = write_region(folder, np.full((60, 60), 400.0), villages=[village("V1", 900, 900)],
                            candidates=sites, objective={"type": "max_coverage", "budget_cny": 10e6},
                            backhaul={"enabled": True, "microwave": []})
    gpd.GeoDataFrame({"node_id": ["N1"]}, geometry=[Point(*xy(100, 100))], crs=CRS).to_file(
        folder / "region.gpkg", layer="fiber_nodes")
    return scenario


def _sweep(*args):
    return CliRunner().invoke(app, ["sweep", *map(str, args)])


def test_a_point_without_a_plan_leaves_the_planned_points_on_the_curve(tmp_path, caplog):
    # `--budgets 0,1e6,5e6` where 0 CNY cannot feed the existing site: the whole sweep ended
    # with an error and wrote nothing, though 1 and 5 million had plans.
    out = tmp_path / "o"
    result = _sweep(_fed_region(tmp_path / "in"), "--budgets", "0,1e6,5e6", "--out", out)
    assert result.exit_code == 0, result.stderr
    curve = pd.read_csv(out / "cost_coverage.csv", keep_default_na=False, na_values=[""])
    assert list(curve["budget_cny"]) == [0, 1e6, 5e6]
    assert list(curve["status"]) == ["infeasible", "optimal", "optimal"]
    failed, planned = curve.iloc[0], curve.iloc[1:]
    assert failed[["cost_cny", "people_covered", "new_sites", "gap"]].isna().all()
    assert failed.mandatory_total == 1
    assert "which passes the budget of 0 CNY" in failed.reason
    assert failed.reason.endswith("or raise this value")
    assert planned["reason"].isna().all()
    # the planned points pay the feed the failed point could not: the least the error names
    least_feed_cny = float(re.search(r"at least ([\d,]+) CNY", failed.reason)[1].replace(",", ""))
    assert (planned["backhaul_cost_cny"].round() == least_feed_cny).all()
    assert (planned["people_covered"] == 200).all()
    assert (f"--budgets: 0 CNY: no plan, the curve leaves this point out: {failed.reason}"
            in caplog.messages)
    table = result.stdout.splitlines()
    zero = next(line for line in table if line.split()[:1] == ["0.000"])
    assert zero.split() == ["0.000", "-", "-", "-", "-", "-", "-", "-", "infeasible", "-"]
    # the figure draws the two planned points only, each with its label
    with Image.open(out / "cost_coverage.png") as png:
        assert png.text["Title"] == "test: cost-coverage curve (labels: mandatory points covered)"
    fig, ax = plot_curve(curve, Figure().add_subplot(), language="en")
    assert list(ax.lines[0].get_xdata()) == [1.0, 5.0]
    assert [t.get_text() for t in ax.texts] == ["1/1", "1/1"]


def test_a_point_the_time_limit_stopped_is_listed_and_a_sweep_of_none_exits_1(tmp_path,
                                                                                monkeypatch):
    # A quota whose solve found no plan in solver.time_limit_s ended the sweep (and with every
    # point timed out, the error named siting's own argument, "sweep: max_new_sites:").
    scenario = two_clusters(tmp_path / "in")
    plan_network = siting.sweep.plan_network

    def out_of_time_at(quotas):
        def planned(coverage, demand, costs, objective, solver, backhaul):
            if objective.max_new_sites in quotas:
                raise TimeLimitError("the time limit was reached before any feasible plan was found")
            return plan_network(coverage, demand, costs, objective, solver, backhaul)
        return planned

    monkeypatch.setattr(siting.sweep, "plan_network", out_of_time_at({1}))
    result = _sweep(scenario, "--sites", "0,1,2", "--out", tmp_path / "o")
    assert result.exit_code == 0, result.stderr
    curve = pd.read_csv(tmp_path / "o" / "cost_coverage.csv")
    assert list(curve["status"]) == ["optimal", "no_plan_in_time", "optimal"]
    assert list(curve["people_covered"].fillna(-1)) == [0, -1, 800]  # the scenario's budget kept
    assert curve["gap"].isna().tolist() == [False, True, False]
    row = next(line for line in result.stdout.splitlines() if line.split()[:1] == ["1"])
    assert row.split() == ["1", "-", "-", "-", "-", "-", "no", "plan", "-"]

    monkeypatch.setattr(siting.sweep, "plan_network", out_of_time_at({0, 1}))
    none = _sweep(scenario, "--sites", "0,1", "--out", tmp_path / "none")
    assert none.exit_code == 1
    assert none.stderr.splitlines()[-1] == (
        "siting: error: --sites: 0 new sites, 1 new sites: the time limit was reached before any "
        "feasible plan was found; give the solver more time (solver.time_limit_s in the scenario)")
    assert not (tmp_path / "none").exists()


def test_the_chinese_curve_gives_money_in_wan_yuan(tmp_path):
    # The Chinese table and figure gave money in 百万元, where the report, map and every other
    # Chinese output give 万元; the CSV stays in CNY.
    scenario = two_clusters(tmp_path / "in", report={"language": "zh"})
    budgets_cny = [ONE_SITE_CNY, 2 * ONE_SITE_CNY]
    result = _sweep(scenario, "--budgets", ",".join(map(str, budgets_cny)), "--out", tmp_path / "o")
    assert result.exit_code == 0, result.stderr
    curve = pd.read_csv(tmp_path / "o" / "cost_coverage.csv")
    assert list(curve["cost_cny"]) == budgets_cny
    lines = result.stdout.splitlines()
    first = lines.index("预算与成本单位：万元")
    for line, point in zip(lines[first + 2:first + 4], curve.itertuples()):
        budget, cost = line.split()[:2]
        assert budget == f"{point.budget_cny / 10_000:,.1f}"  # 46.0 万元 for 460,000 CNY
        assert cost == f"{point.cost_cny / 10_000:,.1f}"
    _, ax = plot_curve(curve, Figure().add_subplot(), language="zh")
    assert ax.get_xlabel() == "预算 [万元]"
    assert list(ax.lines[0].get_xdata()) == [b / 10_000 for b in budgets_cny]
    _, en = plot_curve(curve, Figure().add_subplot(), language="en")
    assert list(en.lines[0].get_xdata()) == [b / 1e6 for b in budgets_cny]  # English: M CNY


def test_a_budget_given_twice_is_planned_once(tmp_path, caplog):
    # `--budgets 0,1e6,1e6` solved 1 million twice and wrote two identical rows.
    result = _sweep(two_clusters(tmp_path / "in"), "--budgets", f"0,{ONE_SITE_CNY},{ONE_SITE_CNY}",
                    "--out", tmp_path / "o")
    assert result.exit_code == 0, result.stderr
    assert list(pd.read_csv(tmp_path / "o" / "cost_coverage.csv")["budget_cny"]) == [0, ONE_SITE_CNY]
    assert f"--budgets: {ONE_SITE_CNY:,} CNY is given 2 times; it is planned once" in caplog.messages


def test_budgets_typed_with_a_chinese_input_method_are_read(tmp_path):
    # `--budgets 0，460000` (a full-width comma, as a Chinese input method types it) was "cannot
    # read the list"; siting predict's --at already reads one.
    result = _sweep(two_clusters(tmp_path / "in"), "--budgets", f"0，{ONE_SITE_CNY}", "--out",
                    tmp_path / "o")
    assert result.exit_code == 0, result.stderr
    assert list(pd.read_csv(tmp_path / "o" / "cost_coverage.csv")["people_covered"]) == [0, 800]
    assert parse_numbers("0：20：10") == [0, 10, 20]


def test_a_budget_in_wan_says_how_to_write_it_in_yuan(tmp_path):
    # `--budgets 500万,1000万`: "cannot read the list; use 10e6,20e6", which did not say that
    # the unit was the trouble nor what 500万 is in yuan.
    out = tmp_path / "o"
    result = _sweep(two_clusters(tmp_path / "in"), "--budgets", "500万,1000万", "--out", out)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "siting: error: --budgets: '500万': write the values in yuan, without 万, 亿 or 元: 500万 "
        "is 5000000 (or 5e6)"]
    assert not out.exists()
    with pytest.raises(ScenarioError, match=r"'1\.5亿': .* 1\.5亿 is 150000000 \(or 1\.5e8\)"):
        parse_numbers("1.5亿")


@pytest.mark.parametrize("text, count", [("0:60e6:5", "12,000,001 values"),
                                         ("0:inf:1e6", "endless values")])
def test_a_range_of_a_step_typed_without_its_exponent_is_refused(text, count):
    # `--budgets 0:60e6:5` (5 for 5e6) started 12 million solves; 0:inf:1e6 ran out of memory.
    with pytest.raises(ScenarioError) as refused:
        parse_numbers(text)
    assert str(refused.value) == (f"the range {text!r} gives {count}, a plan each; give at most "
                                  f"{MAX_RANGE_VALUES:,}: check the step (5e6 is 5 million)")
    assert len(parse_numbers(f"0:{MAX_RANGE_VALUES - 1}:1")) == MAX_RANGE_VALUES


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_time_limited_point_keeps_the_table_within_80_columns(language):
    # A point the time limit stopped ("stopped at the time limit") widened every row of the
    # English table to 97 columns, on the large regions where time limits happen.
    curve = pd.DataFrame({
        "budget_cny": [40e6, 45e6, 50e6], "cost_cny": [40e6, 44e6, np.nan],
        "site_cost_cny": [24e6, 26e6, np.nan], "backhaul_cost_cny": [16e6, 18e6, np.nan],
        "new_sites": [100, 110, pd.NA], "people_covered": [1_820_213.0, 1_830_000.0, np.nan],
        "people_covered_pct": [99.0, 99.5, np.nan], "mandatory_covered": [100, 100, pd.NA],
        "mandatory_total": [100, 100, 100], "status": ["time_limit", "infeasible", "no_plan_in_time"],
        "gap": [0.012, 0.0, np.nan]})
    lines = curve_text(curve, language).splitlines()
    assert len(lines) == 5
    assert all(_columns(line) <= 80 for line in lines), lines
    assert {"en": "time limit", "zh": "限时"}[language] in lines[2]


def test_a_sweep_after_the_population_changed_plans_the_new_people(tmp_path):
    # The second sweep reads its coverage from the cache; the people come from the inputs.
    scenario = two_clusters(tmp_path / "in")
    first = _sweep(scenario, "--budgets", f"{ONE_SITE_CNY}", "--out", tmp_path / "a")
    assert first.exit_code == 0, first.stderr
    with rasterio.open(tmp_path / "in" / "population.tif", "r+") as raster:
        people = raster.read(1)
        people[28:32, 48:52] = 100.0  # EAST's cluster: 1,600 people, more than WEST's 800
        raster.write(people, 1)
    again = _sweep(scenario, "--budgets", f"{ONE_SITE_CNY}", "--out", tmp_path / "b")
    assert again.exit_code == 0, again.stderr
    assert pd.read_csv(tmp_path / "a" / "cost_coverage.csv")["people_covered"].tolist() == [800]
    assert pd.read_csv(tmp_path / "b" / "cost_coverage.csv")["people_covered"].tolist() == [1600]


def _columns(line: str) -> int:
    """The columns ``line`` takes on a terminal: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)

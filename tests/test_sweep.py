"""The cost-coverage curve: each point is the optimum for its budget."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import yaml
from PIL import Image
from shapely.geometry import box
from typer.testing import CliRunner

from regions import (TECH_4G, TECH_5G, TWO_CLUSTERS_SITE_CNY, candidate, two_clusters, village,
                     write_region, xy)
from siting.cli import app
from siting.sweep import curve_text

ONE_SITE = TWO_CLUSTERS_SITE_CNY


def test_sweep_cli_writes_the_known_curve(tmp_path):
    scenario = two_clusters(tmp_path / "in")
    budgets = f"0,{ONE_SITE},{2 * ONE_SITE}"
    result = CliRunner().invoke(app, ["sweep", str(scenario), "--budgets", budgets, "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output + result.stderr
    curve = pd.read_csv(tmp_path / "o" / "cost_coverage.csv")
    assert list(curve["people_covered"]) == [0.0, 800.0, 1120.0]
    assert list(curve["cost_cny"]) == [0.0, ONE_SITE, 2 * ONE_SITE]
    assert (tmp_path / "o" / "cost_coverage.png").stat().st_size > 10_000
    title = Image.open(tmp_path / "o" / "cost_coverage.png").text["Title"]
    assert title == "test: cost-coverage curve (labels: mandatory points covered)"


def test_sweep_draws_the_curve_in_the_scenario_language(tmp_path):
    scenario = two_clusters(tmp_path / "in", name="汉滨区", report={"language": "zh"})
    result = CliRunner().invoke(app, ["sweep", str(scenario), "--sites", "0,1", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output + result.stderr
    curve = pd.read_csv(tmp_path / "o" / "cost_coverage.csv")
    assert list(curve.columns[:2]) == ["max_new_sites", "cost_cny"]  # what programs read: English
    title = Image.open(tmp_path / "o" / "cost_coverage.png").text["Title"]
    assert title == "汉滨区：投资-覆盖曲线（标注：已覆盖必覆盖点数）"


def test_sweep_needs_exactly_one_series(tmp_path):
    result = CliRunner().invoke(app, ["sweep", str(two_clusters(tmp_path / "in"))])
    assert result.exit_code == 2
    assert "exactly one of --budgets and --sites" in result.stderr


def test_sweep_prints_one_line_per_point_within_80_columns(tmp_path):
    """The terminal table: a header and one row per budget, each within 80 columns, with the
    CSV's figures (pandas' to_string of the whole frame wrapped every row over two lines)."""
    scenario = two_clusters(tmp_path / "in")
    budgets = f"0,{ONE_SITE},{2 * ONE_SITE}"
    result = CliRunner().invoke(app, ["sweep", str(scenario), "--budgets", budgets, "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output + result.stderr
    lines = result.stdout.splitlines()
    first = lines.index("budget and costs in M CNY")
    table = lines[first + 1:first + 5]  # the header and the three points
    assert all(len(line) <= 80 for line in table)
    assert table[0].split() == ["budget", "cost", "new", "people", "[%]", "mandatory", "solver",
                                "gap%"]
    curve = pd.read_csv(tmp_path / "o" / "cost_coverage.csv")
    for line, point in zip(table[1:], curve.itertuples()):
        cells = line.split()
        assert float(cells[1]) * 1e6 == round(point.cost_cny, -3)
        assert int(cells[3].replace(",", "")) == point.people_covered
        assert cells[5] == f"{point.mandatory_covered}/{point.mandatory_total}"


def test_sweeping_a_phased_scenario_says_its_phases_are_not_used(tmp_path, caplog):
    phases = [{"year": 2027, "budget_cny": ONE_SITE}, {"year": 2028, "budget_cny": ONE_SITE}]
    scenario = two_clusters(tmp_path / "in")
    config = yaml.safe_load(scenario.read_text())
    config["objective"] = {"type": "max_coverage", "phases": phases}
    scenario.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(app, ["sweep", str(scenario), "--budgets", f"{2 * ONE_SITE}",
                                      "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output + result.stderr
    assert "the scenario's 2 yearly phases (their budgets, quotas and mandatory_by) are not used" \
        in caplog.text
    assert list(pd.read_csv(tmp_path / "o" / "cost_coverage.csv")["people_covered"]) == [1120.0]


def test_sweep_prints_its_table_in_the_scenario_language(tmp_path):
    """A scenario with report.language zh: the terminal table's unit line, headers and solver
    status read in Chinese, aligned as a terminal shows wide characters, with the CSV's
    figures; the CSV itself stays English."""
    scenario = two_clusters(tmp_path / "in", report={"language": "zh"})
    result = CliRunner().invoke(app, ["sweep", str(scenario), "--sites", "0,1", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output + result.stderr
    lines = result.stdout.splitlines()
    first = lines.index("预算与成本单位：万元")
    table = lines[first + 1:first + 4]
    assert table[0].split() == ["新建上限", "成本", "新建站", "覆盖人口", "覆盖率%", "必覆盖点", "求解",
                                "间隙%"]
    assert len({_columns(line) for line in table}) == 1  # columns line up on screen
    assert all(_columns(line) <= 80 for line in table)
    curve = pd.read_csv(tmp_path / "o" / "cost_coverage.csv")
    assert list(curve["status"]) == ["optimal", "optimal"]
    for line, point in zip(table[1:], curve.itertuples()):
        cells = line.split()
        assert int(cells[3].replace(",", "")) == point.people_covered
        assert cells[6] == "最优"
    # with backhaul (its two cost columns, tens of millions, a feasible plan) it still fits
    widest = curve.assign(cost_cny=40e6, site_cost_cny=24e6, backhaul_cost_cny=16e6,
                          people_covered=820213.0, status="feasible")
    assert all(_columns(line) <= 80 for line in curve_text(widest, "zh").splitlines())


def test_a_quota_sweep_counts_new_sites_apart_from_upgrades(tmp_path):
    """An existing 4G site that 5G upgrades beside new sites: the quota limits new sites only,
    and the curve's count of "sites" (new_options) went past it (57 on a quota of 50 in the
    demo); the terminal shows the new sites, the CSV both counts."""
    scenario = write_region(
        tmp_path / "in", np.full((200, 200), 400.0),
        villages=[village("V1", 1000, 3000, poverty=False), village("V2", 5000, 3000)],
        candidates=[candidate("OLD", 1000, 3000, kind="existing_4g", techs="4G,5G"),
                    candidate("EAST", 5000, 3000, techs="4G,5G")],
        technologies=[dict(TECH_4G, max_range_m=1500), dict(TECH_5G, max_range_m=1500)],
        zones=[dict(zone_id="Z1", name="town", kind="county_town", require_5g=True,
                    geometry=box(*xy(800, 3200), *xy(1200, 2800)))],
        demand={"grid_m": 300, "min_people_per_cell": 1,
                "mandatory": {"poverty_villages": False, "relocation_sites": False}},
        objective={"type": "max_coverage", "budget_cny": 10 * ONE_SITE})
    result = CliRunner().invoke(app, ["sweep", str(scenario), "--sites", "0,1", "--out",
                                      str(tmp_path / "o")])
    assert result.exit_code == 0, result.output + result.stderr
    curve = pd.read_csv(tmp_path / "o" / "cost_coverage.csv")
    assert list(curve["new_sites"]) == [0, 1]
    assert (curve["upgrades"] >= 1).all()  # OLD gets 5G at either quota
    assert list(curve["new_sites"] + curve["upgrades"]) == list(curve["new_options"])
    lines = result.stdout.splitlines()
    table = lines[lines.index("budget and costs in M CNY") + 1:][:3]
    assert [line.split()[2] for line in table] == ["new", "0", "1"]


def _columns(line: str) -> int:
    """The columns ``line`` takes on a terminal: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)

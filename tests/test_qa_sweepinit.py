"""A planner's scenario edited by hand, then ``siting init``, ``siting validate`` and ``siting
sweep``: Windows paths, input-method and pasted-text slips, names no font can draw, budgets with
thousands separators, a sweep point without a plan, interrupted commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point
from typer.testing import CliRunner

from regions import CRS, TECH_4G, candidate, village, write_region, xy
import siting.sweep
from siting.cli import app
from siting.pipeline import DEMO_SCENARIO


def _flat_region(folder):
    return write_region(folder, np.full((60, 60), 400.0),
                        villages=[village("V1", 900, 900)],
                        candidates=[candidate("S1", 800, 800)])


def _validate(scenario):
    return CliRunner().invoke(app, ["validate", str(scenario)])


def _with_dem(scenario, dem_line: str) -> None:
    text = scenario.read_text(encoding="utf-8")
    scenario.write_text(text.replace("dem: dem.tif", dem_line, 1), encoding="utf-8")


def test_a_dem_path_written_with_windows_backslashes_is_read(tmp_path):
    # A planner on Windows wrote `dem: tiles\dem.tif`; on the Linux server validate and run
    # said "/srv/.../tiles\dem.tif: dem raster not found" for a file that is there.
    scenario = _flat_region(tmp_path)
    (tmp_path / "tiles").mkdir()
    (tmp_path / "dem.tif").rename(tmp_path / "tiles" / "dem.tif")
    _with_dem(scenario, "dem: tiles\\dem.tif")
    result = _validate(scenario)
    assert result.exit_code == 0, result.stderr
    assert "DEM 60x60 at 30 m" in result.stdout


def test_a_windows_drive_path_is_one_line_naming_the_key_and_the_fix(tmp_path):
    scenario = _flat_region(tmp_path)
    _with_dem(scenario, "dem: D:\\gis\\dem.tif")
    result = _validate(scenario)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"siting: error: {scenario}: inputs.dem: 'D:\\\\gis\\\\dem.tif' is a path on Windows drive "
        f"D:, which this machine does not have; give the path relative to the scenario file "
        f"(e.g. data/dem.tif) or as this machine's absolute path"]


@pytest.mark.parametrize("dem, message", [
    # not valid YAML ("\d" is no escape): the message said to check the indentation
    ('dem: "tiles\\dem.tif"',
     "line 3: a backslash inside double quotes starts an escape in YAML; write the path with / "
     "(e.g. \"data/dem.tif\") or without the quotes"),
    # valid YAML, a path with a new line in it, which the run looked for and did not find
    ('dem: "tiles\\new.tif"',
     "inputs.dem: 'tiles\\new.tif' holds a control character: in double quotes YAML reads a "
     "backslash as an escape ('\\n' is a new line); write the path with / (e.g. data/dem.tif) "
     "or without the quotes"),
])
def test_a_backslash_path_in_double_quotes_says_to_write_it_with_slashes(tmp_path, dem,
                                                                         message):
    scenario = _flat_region(tmp_path)
    _with_dem(scenario, dem)
    result = _validate(scenario)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"siting: error: {scenario}: {message}"]


def test_budgets_written_with_thousands_separators_are_refused(tmp_path):
    # `--budgets 1,000,000,2,000,000` was read as six budgets: 1, 0, 0, 0, 2 and 0 CNY, and
    # the "curve" of those was written over the previous one.
    scenario = _flat_region(tmp_path / "in")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["sweep", str(scenario), "--budgets", "1,000,000,2,000,000",
                                      "--out", str(out)])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "siting: error: --budgets: '1,000,000,2,000,000': the commas look like thousands "
        "separators ('000' is no value of its own); commas separate the values: write each "
        "without separators, e.g. 10e6,20e6 or 10000000,20000000"]
    assert not out.exists()
    quotas = CliRunner().invoke(app, ["sweep", str(scenario), "--sites", "0,100", "--out", str(out)])
    assert quotas.exit_code == 0, quotas.stderr  # a quota of 100 is no thousands group
    assert pd.read_csv(out / "cost_coverage.csv")["max_new_sites"].tolist() == [0, 100]


def test_an_interrupted_sweep_says_so_and_leaves_the_previous_curve(tmp_path, monkeypatch):
    # Ctrl-C during a sweep's solves ended it without a word, where siting run says the
    # previous outputs were kept.
    scenario = _flat_region(tmp_path / "in")
    out = tmp_path / "out"
    first = CliRunner().invoke(app, ["sweep", str(scenario), "--sites", "0,1", "--out", str(out)])
    assert first.exit_code == 0, first.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(siting.sweep, "plan_network", interrupted)
    result = CliRunner().invoke(app, ["sweep", str(scenario), "--sites", "0,1,2", "--out", str(out)])
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == ("siting: interrupted; no curve was written, a "
                                              "previous one was left as it was")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_sweeping_a_min_cost_scenario_says_its_points_are_max_coverage_plans(tmp_path, caplog):
    # The scenario plans min_cost (the mandatory village at least cost); its sweep planned
    # each budget as max_coverage without a word, so the point at the scenario's budget
    # covered more people, for more money, than `siting run` did at that budget.
    scenario = write_region(tmp_path / "in", np.full((100, 200), 400.0),
                            villages=[village("V1", 1000, 1500)],
                            candidates=[candidate("NEAR", 1000, 1500, techs="4G"),
                                        candidate("FAR", 5000, 1500, techs="4G")],
                            population=_people_by_far(), technologies=[dict(TECH_4G, max_range_m=1500)],
                            objective={"type": "min_cost", "budget_cny": 10e6})
    ran = CliRunner().invoke(app, ["run", str(scenario), "--out", str(tmp_path / "run"), "-q"])
    assert ran.exit_code == 0, ran.stderr
    run_cost = json.loads((tmp_path / "run" / "summary.json").read_text())["kpis"]["total_cost_cny"]
    result = CliRunner().invoke(app, ["sweep", str(scenario), "--budgets", "10e6",
                                      "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.stderr
    point = pd.read_csv(tmp_path / "o" / "cost_coverage.csv").iloc[0]
    assert point.cost_cny == 2 * run_cost  # FAR's people bought too: another plan than run's
    assert ("the sweep plans each budget as objective.type max_coverage (the mandatory points, "
            "then the most people within it); the scenario's type min_cost plans the mandatory "
            "points at least cost, so siting run gives another plan at the same budget: set "
            "type: max_coverage to compare them") in caplog.text


def _people_by_far():
    """People (per 100 m cell) around FAR only (the region is 6 km x 3 km)."""
    population = np.zeros((30, 60), np.float32)
    population[13:17, 48:52] = 20.0
    return population


def test_a_no_break_space_after_a_colon_is_named_on_its_line(tmp_path):
    # A budget pasted from a web page: "budget_cny:\u00a045000000" is not a key for YAML,
    # whose message named the next line ("could not find expected ':'") and the indentation.
    scenario = _flat_region(tmp_path)
    text = scenario.read_text(encoding="utf-8")
    scenario.write_text(text.replace("type: min_cost", "type: min_cost\n  budget_cny:\u00a045000000"),
                        encoding="utf-8")
    line_no = scenario.read_text(encoding="utf-8").splitlines().index("  budget_cny:\u00a045000000") + 1
    result = _validate(scenario)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"siting: error: {scenario}: line {line_no}: a no-break space (U+00A0, as text copied from "
        f"a web page or a document carries) stands where YAML needs an ordinary space; retype "
        f"the spaces of that line"]


def test_a_point_without_a_plan_is_named_by_its_value_and_option(tmp_path):
    # `--budgets 0,1e6` on a scenario whose existing site must be fed: the sweep said
    # "... or raise objective.budget_cny", the scenario's budget, which was not at fault
    # (it is not used), and named no point of the sweep.
    sites = [dict(candidate("E1", 600, 600, kind="existing_4g", techs="4G"), has_fiber=False),
             dict(candidate("C1", 1200, 1200), has_fiber=False)]
    scenario = write_region(tmp_path / "in", np.full((60, 60), 400.0),
                            villages=[village("V1", 900, 900)], candidates=sites,
                            objective={"type": "max_coverage", "budget_cny": 10e6},
                            backhaul={"enabled": True, "microwave": []})
    gpd.GeoDataFrame({"node_id": ["N1"]}, geometry=[Point(*xy(100, 100))], crs=CRS).to_file(
        tmp_path / "in" / "region.gpkg", layer="fiber_nodes")
    out = tmp_path / "out"
    # (a point without a plan no longer ends a sweep whose other points have one: with none
    # planned, each is named on its own error line)
    result = CliRunner().invoke(app, ["sweep", str(scenario), "--budgets", "1,0", "--out", str(out)])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    for line, budget in zip(result.stderr.splitlines()[-2:], ("0", "1")):
        assert re.fullmatch(
            rf"siting: error: --budgets: {budget} CNY: the 1 existing site\(s\) without fiber on "
            rf"site or backhaul in place must be fed, at least [\d,]+ CNY .*, which passes the "
            rf"budget of {budget} CNY; mark the existing sites that have fiber \(has_fiber\) or a "
            rf"feed already built \(backhaul_in_place\) in inputs.candidates, or raise this value",
            line), result.stderr
    assert not out.exists()


@pytest.mark.skipif(not (DEMO_SCENARIO.parent / "dem.tif").exists(),
                    reason="demo data not generated (scripts/make_demo_data.py)")
def test_init_interrupted_while_copying_the_samples_leaves_no_half_copy(tmp_path, monkeypatch):
    # Ctrl-C while init copied the 16 MB sample DEM left dem.tif half-copied; init again then
    # refused to replace it and said to use --no-samples, which would plan on the half file.
    import shutil

    copy = shutil.copyfile

    def cut_short(source, target):
        copy(source, target)
        if target.name == "population.tif":
            raise KeyboardInterrupt

    monkeypatch.setattr(shutil, "copyfile", cut_short)
    folder = tmp_path / "county"
    result = CliRunner().invoke(app, ["init", str(folder)])
    assert result.exit_code == 130
    assert result.stderr.splitlines() == [f"siting: interrupted; nothing was written to {folder}"]
    assert list(folder.iterdir()) == []
    monkeypatch.setattr(shutil, "copyfile", copy)
    again = CliRunner().invoke(app, ["init", str(folder)])
    assert again.exit_code == 0, again.stderr


def _undrawable_name_region(folder, **scenario):
    return write_region(folder, np.full((60, 60), 400.0),
                        villages=[village("V1", 900, 900, name="石门村\U0001F5FB")],
                        candidates=[candidate("S1", 800, 800)], **scenario)


def test_validate_refuses_a_name_the_maps_cannot_draw_as_run_does(tmp_path):
    # A scenario named with a character no installed font has (an emoji from a chat) passed
    # validate; siting run then computed the plan and stopped at map.png (exit 1), and siting
    # sweep after all its solves.
    scenario = _undrawable_name_region(tmp_path / "in", name="汉滨\U0001F5FB")
    result = _validate(scenario)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"siting: error: {scenario}: name: cannot be drawn in map.png or "
                           f"cost_coverage.png (")
    assert "'\U0001F5FB' (U+1F5FB) in '汉滨\U0001F5FB'" in line
    assert line.endswith("); write the name without that character")
    ran = CliRunner().invoke(app, ["run", str(scenario), "--out", str(tmp_path / "run"), "-q"])
    assert ran.exit_code != 0 and "U+1F5FB" in ran.stderr  # what validate foresees
    swept = CliRunner().invoke(app, ["sweep", str(scenario), "--sites", "1", "--out",
                                     str(tmp_path / "o")])
    assert swept.exit_code == 2 and swept.stderr.splitlines() == [line]


def test_validate_warns_of_a_village_name_the_map_cannot_draw(tmp_path):
    scenario = _undrawable_name_region(tmp_path / "in")
    result = _validate(scenario)
    assert result.exit_code == 0, result.stderr
    warning = next(line for line in result.stderr.splitlines() if "U+1F5FB" in line)
    assert warning.startswith(f"siting: warning: {scenario}: inputs.villages: name: a village "
                              f"name cannot be drawn in map.png (")
    assert warning.endswith("the run stops if the map names it (a mandatory village left "
                            "uncovered): rename it without that character")


def test_validate_refuses_a_county_name_the_map_cannot_draw(tmp_path):
    scenario = _flat_region(tmp_path)
    gpkg = tmp_path / "region.gpkg"
    units = gpd.read_file(gpkg, layer="admin_units")
    units["admin_unit"] = "汉滨区\U0001F5FB"
    units.to_file(gpkg, layer="admin_units")
    result = _validate(scenario)
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"siting: error: {scenario}: inputs.admin_units: admin_unit: a county "
                           f"name cannot be drawn in map.png (")
    assert "in '汉滨区\U0001F5FB'" in line and line.endswith("rename it without that character")


def _with_objective(scenario, lines: str) -> int:
    """The scenario's objective replaced by ``lines``; the number of its first line."""
    text = scenario.read_text(encoding="utf-8")
    scenario.write_text(text.replace("  type: min_cost\n", lines), encoding="utf-8")
    return text.splitlines().index("  type: min_cost") + 1


@pytest.mark.parametrize("phases, message", [
    # typed with a Chinese input method: YAML's message ("expected ',' or '}', but got ':'")
    # was followed by "check the indentation"
    ("    - {year: 2027， budget_cny: 9000000}\n    - {year: 2028, budget_cny: 9000000}\n",
     "a full-width comma '，' (a Chinese input method's) separates the items in { } or [ ]; "
     "type the ASCII comma ',' and a space"),
    # "budget_cny:9000000" reads as one key; the message was "unknown key (did you mean
    # 'year'?)", which the planner had typed
    ("    - {year: 2027, budget_cny:9000000}\n",
     "'budget_cny:9000000' needs a space after the colon: 'budget_cny: 9000000'"),
])
def test_phases_typed_by_hand_are_named_on_their_line(tmp_path, phases, message):
    scenario = _flat_region(tmp_path)
    first = _with_objective(scenario, "  type: max_coverage\n  phases:\n" + phases)
    result = _validate(scenario)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"siting: error: {scenario}: line {first + 2}: {message}"]


def test_validate_marks_the_inputs_warnings_as_run_does(tmp_path):
    # validate printed the inputs' warnings bare ("...: DEM cells are 8494 m, too coarse ..."),
    # to be read as part of its OK; siting run marks them WARNING.
    scenario = write_region(tmp_path, np.full((20, 20), 400.0), cell_m=300.0,
                            villages=[village("V1", 900, 900)], candidates=[candidate("S1", 800, 800)])
    result = subprocess.run([sys.executable, "-m", "siting.cli", "validate", str(scenario)],
                            capture_output=True, text=True, encoding="utf-8",
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert result.returncode == 0, result.stderr
    [coarse] = [line for line in result.stderr.splitlines() if "too coarse" in line]
    assert coarse.startswith("WARNING siting.io.rasters: ")

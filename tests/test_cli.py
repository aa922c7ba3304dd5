"""The command line: exit codes, one-line errors without tracebacks, untouched outputs,
progress reporting, help examples."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import typer
from shapely.geometry import LineString, Point
from typer.testing import CliRunner

from regions import CRS, TECH_4G, candidate, ridge_dem, village, write_region, xy
from siting.cli import app
from siting.config import load_scenario
from siting.coverage import build_coverage
from siting.pipeline import COVERAGE_STAGE, OUTPUT_FILES, prepare
from siting.sweep import sweep

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _small_region(folder):
    return write_region(folder, ridge_dem(), villages=[village("V1", 1000, 3000)],
                        candidates=[candidate("S1", 1500, 3000)])


def _row_region(folder, n_candidates=5):
    """A flat strip with ``n_candidates`` sites in a row and a village near each."""
    return write_region(folder, ridge_dem(ridge_height_m=0.0),
                        villages=[village(f"V{i}", 400 + 1200 * i, 3000) for i in range(n_candidates)],
                        candidates=[candidate(f"S{i}", 500 + 1200 * i, 3000) for i in range(n_candidates)])


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "validate", "demo", "sweep", "init"):
        assert command in result.output


def test_the_command_list_gives_each_command_one_line():
    """The list ``siting --help`` prints keeps a command's summary on its line: a summary
    broken across lines in the docstring was printed broken ("(GeoPackage, KML, CSV," / "COG)")."""
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    commands = [c.name for c in typer.main.get_command(app).commands.values()]
    listed = {line.split()[1]: line for line in result.output.splitlines()
              if len(line.split()) > 1 and line.split()[1] in commands}
    assert sorted(listed) == sorted(commands)
    for line in listed.values():
        assert line.rstrip(" │").endswith("."), line


@pytest.mark.parametrize("command", ["run", "demo", "validate", "sweep", "init", None])
def test_every_help_shows_an_example(command):
    result = runner.invoke(app, [command, "--help"] if command else ["--help"])
    assert result.exit_code == 0
    assert f"Example: siting {command or ''}".rstrip() in result.output


@pytest.mark.parametrize("command, unit", [("predict", "[km]"), ("predict", "[m]"),
                                           ("sweep", "[CNY]")])
def test_help_shows_units_in_brackets(command, unit):
    """rich reads "[km]" as a style tag and drops it unless escaped."""
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert unit in result.output


def test_missing_scenario_is_one_line_exit_2(tmp_path):
    result = runner.invoke(app, ["run", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"siting: error: {tmp_path / 'nope.yaml'}: scenario file not found"
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command, argument", [
    (["run", "{scenario}", "--built", "{missing}"], "--built"),
    (["calibrate", "{scenario}", "{missing}"], "MEASUREMENTS"),
])
def test_a_missing_file_given_on_the_command_line_is_not_sent_to_the_scenario(tmp_path, command,
                                                                             argument):
    # The as-built list and the drive tests are named on the command line, not in the
    # scenario; "check --built in the scenario" sent the planner looking in the wrong file.
    scenario, missing = _small_region(tmp_path), tmp_path / "as_built_2027.csv"
    result = runner.invoke(app, [a.format(scenario=scenario, missing=missing) for a in command])
    assert result.exit_code == 2, (result.stderr, result.exception)
    errors = [line for line in result.stderr.splitlines() if line.startswith("siting: error")]
    assert errors == [f"siting: error: {missing}: "
                      f"{'as-built list' if argument == '--built' else 'file'} "
                      f"not found; check the command's {argument}"]  # a compiling notice may precede


@pytest.mark.parametrize("where", [[], ["--site", "S1", "--at", "109.0,32.7"]])
def test_predict_without_one_site_or_position_names_the_options(tmp_path, where):
    scenario = _small_region(tmp_path)
    result = runner.invoke(app, ["predict", str(scenario), "--technology", "4G-1800",
                                 "--radius-km", "2", *where])
    assert result.exit_code == 2, (result.stderr, result.exception)
    errors = [line for line in result.stderr.splitlines() if line.startswith("siting: error")]
    assert errors == ["siting: error: give exactly one of --site (a candidate's site_id) and "
                      "--at (a position: longitude, latitude)"]


def test_layers_left_in_the_template_geopackage_are_named_beside_ones_own_files(tmp_path, caplog):
    # A planner replaces the villages and candidates of siting init's template with files of
    # their own; the template's region.gpkg still gave its complaints (mandatory points of
    # the sample region) to the plan, and validate said nothing of them.
    import geopandas as gpd
    import yaml
    from shapely.geometry import Point

    from regions import CRS, xy
    complaints = [dict(complaint_id="C1", people=10, geometry=Point(*xy(1200, 3000)))]
    scenario = write_region(tmp_path, ridge_dem(), villages=[village("V1", 1000, 3000)],
                            candidates=[candidate("S1", 1500, 3000)], complaints=complaints)
    assert runner.invoke(app, ["validate", str(scenario)]).exit_code == 0
    assert not [r for r in caplog.records if "inputs.vectors" in r.getMessage()]
    for name, row in (("villages", village("V1", 1000, 3000)), ("candidates", candidate("S1", 1500, 3000))):
        gpd.GeoDataFrame([row], crs=CRS).to_file(tmp_path / f"my_{name}.geojson")
    doc = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    doc["inputs"].update(villages="my_villages.geojson", candidates="my_candidates.geojson")
    scenario.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = runner.invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 0, result.stderr
    [warning] = [r.getMessage() for r in caplog.records if "inputs.vectors" in r.getMessage()]
    assert warning.startswith(f"{scenario}: complaints (1), admin_units (1) are read from "
                              f"region.gpkg (inputs.vectors)")
    assert warning.endswith("set inputs.layers.complaints: null, inputs.layers.admin_units: null")


def test_sweep_range_running_backwards_says_so(tmp_path):
    # --budgets 50e6:10e6:10e6 was blamed on the scenario file ("scenario.yaml: sweep values
    # must be a non-empty list of numbers >= 0").
    result = runner.invoke(app, ["sweep", str(_small_region(tmp_path)), "--budgets", "50e6:10e6:10e6"])
    assert result.exit_code == 2, (result.stderr, result.exception)
    errors = [line for line in result.stderr.splitlines() if line.startswith("siting: error")]
    assert errors == ["siting: error: --budgets: the range '50e6:10e6:10e6' holds no value: its stop 1e+07 is "
                      "below its start 5e+07; write start:stop:step with start <= stop"]


def test_validate_reports_a_good_region(tmp_path):
    result = runner.invoke(app, ["validate", str(_small_region(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "OK" in result.stdout and "EPSG:32649" in result.stdout


def test_bad_field_names_file_and_field_and_keeps_previous_outputs(tmp_path):
    scenario = _small_region(tmp_path / "in")
    out = tmp_path / "out"
    quiet = runner.invoke(app, ["run", str(scenario), "--out", str(out), "--quiet"])
    assert quiet.exit_code == 0
    assert (quiet.stdout, quiet.stderr) == ("", ""), "--quiet prints nothing but errors"
    before = {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith('.')}
    assert set(before) == set(OUTPUT_FILES)
    # Break the candidates layer: a missing antenna height.
    write_region(tmp_path / "in", ridge_dem(), villages=[village("V1", 1000, 3000)],
                 candidates=[candidate("S1", 1500, 3000, height=np.nan)])
    result = runner.invoke(app, ["run", str(scenario), "--out", str(out)])
    assert result.exit_code == 2
    assert "region.gpkg" in result.stderr and "antenna_height_m" in result.stderr and "S1" in result.stderr
    assert "Traceback" not in result.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith('.')} == before


def test_console_script_runs_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "siting.cli", "validate", str(tmp_path / "x.yaml")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "scenario file not found" in result.stderr


def test_quiet_prints_nothing_but_errors_and_the_default_shows_warnings(tmp_path):
    """A DEM of 120 m cells logs a warning (too coarse for line-of-sight work): a plain run
    shows it, ``--quiet`` (help: "Print nothing but errors") does not; both plan."""
    scenario = write_region(tmp_path / "in", np.full((50, 50), 400.0), cell_m=120.0,
                            villages=[village("V1", 1000, 3000)],
                            candidates=[candidate("S1", 1200, 3000)])
    printed = {}
    for flags in ((), ("--quiet",)):
        result = subprocess.run([sys.executable, "-m", "siting.cli", "run", str(scenario), "--out",
                                 str(tmp_path / f"out{len(flags)}"), *flags],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        printed[flags] = result.stderr
    assert "too coarse for line-of-sight work" in printed[()]
    assert printed[("--quiet",)] == "", printed[("--quiet",)]


def test_a_crashing_solver_falls_back_to_cbc_with_a_notice(tmp_path, monkeypatch):
    from siting.errors import SolverError
    from siting.optimize import highs_backend

    def crash(*args, **kwargs):
        raise SolverError("simulated HiGHS crash")

    monkeypatch.setattr(highs_backend, "solve_mip", crash)
    monkeypatch.setattr(highs_backend, "lp_relaxation", crash)
    out = tmp_path / "out"
    # a quota of 2 sites for 5 separate villages: presolve alone cannot plan it, a MIP must
    scenario = write_region(tmp_path / "in", ridge_dem(ridge_height_m=0.0),
                            villages=[village(f"V{i}", 400 + 1200 * i, 3000) for i in range(5)],
                            candidates=[candidate(f"S{i}", 500 + 1200 * i, 3000) for i in range(5)],
                            objective={"type": "min_cost", "max_new_sites": 2})
    result = runner.invoke(app, ["run", str(scenario), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.stderr
    assert "siting: notice: solver highs failed" in result.stderr
    summary = (out / "summary.json").read_text()
    assert '"name": "cbc"' in summary


def test_a_phased_plan_stopped_before_any_bound_says_the_bound_is_not_known(tmp_path,
                                                                        monkeypatch):
    """The phased MIP stops at its time limit with no plan and no bound of its own (a busy
    machine): the year-by-year warm start is the plan, and the report gives its objective but
    no bound and no proven gap (it claimed a proven gap of 0.000 %, or failed on the bound)."""
    from siting.optimize import highs_backend
    from siting.optimize.model import MipResult

    def out_of_time(*args, **kwargs):
        return MipResult(x=None, status="no_solution", objective=float("nan"), bound=float("nan"))

    monkeypatch.setattr(highs_backend, "solve_mip", out_of_time)
    out = tmp_path / "out"
    scenario = write_region(tmp_path / "in", ridge_dem(ridge_height_m=0.0),
                            villages=[village(f"V{i}", 400 + 1200 * i, 3000) for i in range(5)],
                            candidates=[candidate(f"S{i}", 500 + 1200 * i, 3000) for i in range(5)],
                            objective={"type": "max_coverage", "phases": [
                                {"year": 2027, "budget_cny": 4e5}, {"year": 2028, "budget_cny": 4e5}]})
    result = runner.invoke(app, ["run", str(scenario), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text(encoding="utf-8")
    assert re.search(r"status \*\*[^*]+\*\*, objective [0-9,]+ person-years, upper bound -, proven gap -\.",
                     report), report[:600]


def test_a_time_limit_too_short_for_any_plan_says_which_setting_to_raise(tmp_path, monkeypatch):
    """The solver found no plan at all in its time: one line naming the setting to raise,
    exit 1, not an internal error to rerun with --verbose."""
    import siting.pipeline
    from siting.errors import TimeLimitError

    def out_of_time(*args, **kwargs):
        raise TimeLimitError("the time limit was reached before any phased plan was found")

    monkeypatch.setattr(siting.pipeline, "run_scenario", out_of_time)
    result = runner.invoke(app, ["run", str(_small_region(tmp_path)), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [
        "siting: error: the time limit was reached before any phased plan was found; give the "
        "solver more time (solver.time_limit_s in the scenario)"], result.stderr


def test_init_writes_a_template_that_validates_and_matches_the_parser(tmp_path):
    result = runner.invoke(app, ["init", str(tmp_path / "new")])
    assert result.exit_code == 0, result.stderr
    check = runner.invoke(app, ["validate", str(tmp_path / "new" / "scenario.yaml")])
    assert check.exit_code == 0, check.stderr
    assert "1101 candidates" in check.stdout
    again = runner.invoke(app, ["init", str(tmp_path / "new")])
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_init_where_no_folder_can_be_made_is_one_line_without_traceback(tmp_path):
    (tmp_path / "taken").write_text("notes", encoding="utf-8")
    result = runner.invoke(app, ["init", str(tmp_path / "taken")])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (f"siting: error: {tmp_path / 'taken'}: is a file, not a "
                                     f"folder; choose another folder")
    assert (tmp_path / "taken").read_text(encoding="utf-8") == "notes"
    under_a_file = tmp_path / "taken" / "region"
    result = runner.invoke(app, ["init", str(under_a_file)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # not a crash
    assert result.stderr.strip().startswith(f"siting: error: cannot write the scenario to {under_a_file} (")
    assert len(result.stderr.strip().splitlines()) == 1


def test_init_template_lists_every_scenario_key_of_the_readme(tmp_path):
    # The template says it lists every key; backhaul, the itm/p1812 settings, fiber_nodes,
    # roads and itu_maps_dir were missing, so a planner editing it never learnt of them.
    from pathlib import Path
    assert runner.invoke(app, ["init", str(tmp_path / "new"), "--no-samples"]).exit_code == 0
    template = (tmp_path / "new" / "scenario.yaml").read_text(encoding="utf-8")
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Scenario file"):readme.index("## Bring your own data")]
    keys = re.findall(r"^\| `([^`]+)`", table, re.M)
    assert len(keys) > 60
    names = {key: re.split(r"[.\]]", key)[-1] for key in keys}  # technologies[].itm.n0 -> n0
    missing = [key for key, name in names.items()
               if not re.search(r"\b" + re.escape(name) + r"\s*:", template)]
    assert missing == []


def test_init_template_backhaul_block_loads_once_uncommented(tmp_path):
    assert runner.invoke(app, ["init", str(tmp_path / "new"), "--no-samples"]).exit_code == 0
    path = tmp_path / "new" / "scenario.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index(next(line for line in lines if line.startswith("# backhaul:")))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("#"))
    lines[start:end] = [line[2:] for line in lines[start:end]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    backhaul = load_scenario(path).backhaul
    assert not backhaul.enabled and backhaul.fiber_cny_per_km_road == 60000
    assert [band.max_hop_m for band in backhaul.microwave] == [25000, 12000]


def test_verbose_run_prints_stages_timings_and_summary(tmp_path):
    scenario = write_region(tmp_path / "in", ridge_dem(), villages=[village("V1", 1000, 3000)],
                            candidates=[candidate("S1", 1500, 3000)], name="Ankang [draft]")
    result = runner.invoke(app, ["run", str(scenario), "--out", str(tmp_path / "out"),
                                 "--verbose"])
    assert result.exit_code == 0, result.stderr
    stages = ("read inputs", "build demand", COVERAGE_STAGE, "optimize", "write outputs")
    for stage in stages:  # not a terminal: one plain line per stage instead of bars
        assert f"siting: {stage}\n" in result.stdout
    timings = result.stdout[result.stdout.index("stage timings"):]
    assert all(stage in timings for stage in stages)
    assert "people covered" in result.stdout and "sites.kml" in result.stdout
    assert "siting: Ankang [draft]" in result.stdout  # the name as written, not read as markup


def test_progress_reports_increasing_coverage_steps(tmp_path):
    scenario = load_scenario(_row_region(tmp_path))
    calls = []
    region, demand, coverage = prepare(
        scenario, timings={}, progress=lambda stage, done=None, total=None: calls.append((stage, done, total)))
    steps = [(done, total) for stage, done, total in calls if stage == COVERAGE_STAGE and total]
    assert calls.index((COVERAGE_STAGE, None, None)) < calls.index((COVERAGE_STAGE, *steps[0]))
    assert steps == [(done, 5) for done in range(1, 6)]  # one step per chunk of candidates
    _assert_same_as_in_one_go(scenario, region, demand, coverage)


def _assert_same_as_in_one_go(scenario, region, demand, coverage):
    """Coverage computed in steps equals :func:`build_coverage` over all candidates at once."""
    whole = build_coverage(region.terrain, region.candidates, demand, scenario.technologies,
                           scenario.coverage, scenario.demand.ue_height_m)
    assert (coverage.level_dbm != whole.level_dbm).nnz == 0 and coverage.level_dbm.nnz > 0
    assert coverage.level_dbm.shape == whole.level_dbm.shape
    assert coverage.options.equals(whole.options)
    assert np.array_equal(coverage.in_range, whole.in_range)
    assert np.array_equal(coverage.best_level_dbm, whole.best_level_dbm)


def test_coverage_steps_skip_candidates_without_an_option(tmp_path):
    """A 5G-only site in a 4G-only scenario has no option and no coverage step."""
    scenario = load_scenario(write_region(
        tmp_path, ridge_dem(), villages=[village("V1", 1000, 3000)], technologies=(TECH_4G,),
        candidates=[candidate("S1", 800, 3000, techs="4G"), candidate("S2", 900, 3000, techs="5G"),
                    candidate("S3", 1500, 3000, techs="4G")]))
    calls = []
    region, demand, coverage = prepare(scenario, timings={}, progress=lambda *call: calls.append(call))
    assert [call[1:] for call in calls if len(call) == 3] == [(1, 2), (2, 2)]
    _assert_same_as_in_one_go(scenario, region, demand, coverage)


def test_sweep_progress_advances_over_the_budgets(tmp_path):
    calls = []
    sweep(load_scenario(_row_region(tmp_path, 3)), budgets_cny=[0.0, 1e6, 5e5],
          progress=lambda stage, done=None, total=None: calls.append((stage, done, total)))
    solves = [(done, total) for stage, done, total in calls if stage.startswith("solve")]
    assert solves == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_validate_says_what_backhaul_reads_and_the_road_gaps_run_reports(tmp_path):
    """A planner validating a backhaul scenario saw nothing of the fiber nodes and roads read,
    nor of the road ends left short of a road, until run warned of them after the compute."""
    sites = [candidate("S1", 1500, 3000), candidate("S2", 4000, 3000)]
    for site in sites:
        site["has_fiber"] = site["site_id"] == "S1"
    scenario = write_region(tmp_path, ridge_dem(), [village("V1", 1000, 3000)], sites,
                            backhaul={"enabled": True, "road_gap_m": 10})
    gpkg = tmp_path / "region.gpkg"
    gpd.GeoDataFrame({"node_id": ["N1", "N2"]}, geometry=[Point(*xy(300, 3000)),
                                                          Point(*xy(5000, 3000))],
                     crs=CRS).to_file(gpkg, layer="fiber_nodes")
    bar = LineString([xy(300, 3000), xy(5900, 3000)])
    stems = [LineString([xy(col, 3000 - short_m), xy(col, 1000)])  # north of the bar
             for col, short_m in ((1000, 6.0), (2000, 30.0), (3000, 0.0))]
    roads = gpd.GeoDataFrame({"road_id": ["R1", "R2", "R3", "R4"]}, geometry=[bar, *stems],
                             crs=CRS)
    roads.to_file(gpkg, layer="roads")
    result = runner.invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 0, result.output
    said = [line.removeprefix(f"{scenario}: backhaul: ") for line in result.stdout.splitlines()
            if line.startswith(f"{scenario}: backhaul: ")]
    gaps_m = sorted(bar.distance(stem) for stem in stems)  # 0 (touching), 6, 30
    km = roads.length.sum() / 1000.0
    assert said == [
        "2 fiber node(s), 1 candidate(s) with fiber on site",
        f"4 road(s), {km:,.1f} km; joined 1 road end(s) to the road each stops short of (gaps "
        f"up to {gaps_m[1]:.1f} m; backhaul.road_gap_m: 10); 1 road end(s) stop 10-50 m short "
        f"of another road and are not joined (fiber does not follow them across the gap); if "
        f"they are junctions, raise backhaul.road_gap_m to {gaps_m[2]:.0f}"]


@pytest.mark.skipif(not (REPO / "data" / "demo" / "scenario_backhaul.yaml").exists(),
                    reason="demo data not generated: data/demo/scenario_backhaul.yaml")
def test_validate_counts_the_demo_backhaul_inputs_as_the_files_hold_them():
    scenario = REPO / "data" / "demo" / "scenario_backhaul.yaml"
    result = runner.invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 0, result.output
    gpkg = scenario.parent / "region.gpkg"
    nodes, roads = gpd.read_file(gpkg, layer="fiber_nodes"), gpd.read_file(gpkg, layer="roads")
    on_site = int(gpd.read_file(gpkg, layer="candidates")["has_fiber"].astype(bool).sum())
    assert (f"{scenario}: backhaul: {len(nodes)} fiber node(s), {on_site} candidate(s) with "
            f"fiber on site") in result.stdout.splitlines()
    assert f"{scenario}: backhaul: {len(roads)} road(s), " in result.stdout

"""The command line's promise on bad input and interruption, checked as a user meets it (a
subprocess of ``python -m siting.cli``): one clear line naming the file, the record, the field
and what to do; exit code 2 (1 for the user's disk); no traceback; nothing half-written; the
previous outputs untouched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np

from regions import TECH_4G, candidate, village, write_region

ONE_SITE_CNY = 50000 + 150000 + 5 * (10000 + 12000)


def siting(*args, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m siting.cli ARGS`` as a user runs it (``env``: variables set on top of this
    process's), its output as text."""
    variables = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "siting.cli", *map(str, args)],
                          capture_output=True, text=True, env=variables, timeout=600)


def one_error_line(done: subprocess.CompletedProcess, exit_code: int = 2) -> str:
    """The single ``siting: error:`` line of a failed command (no traceback, nothing else)."""
    assert done.returncode == exit_code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("siting: error: ")
    return line


def two_villages(folder):
    """A flat region with two candidates, one village each: sweeps in a few seconds."""
    return write_region(folder, np.full((200, 200), 400.0),
                        villages=[village("V1", 1000, 3000), village("V2", 5000, 3000)],
                        candidates=[candidate("WEST", 1000, 3000, techs="4G"),
                                    candidate("EAST", 5000, 3000, techs="4G")],
                        technologies=[dict(TECH_4G, max_range_m=1500)],
                        objective={"type": "max_coverage", "budget_cny": ONE_SITE_CNY})


def files_of(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_a_sweep_on_a_full_disk_keeps_the_previous_curve(tmp_path, tmpfs):
    scenario = two_villages(tmp_path / "in")
    out = tmpfs("2m") / "out"
    assert siting("sweep", scenario, "--budgets", "0", "--out", out, "-q").returncode == 0
    before = files_of(out)
    # the curve, and the lock a sweep holds while it writes (as siting run's)
    assert set(before) == {"cost_coverage.csv", "cost_coverage.png", ".siting.lock"}
    subprocess.run(["dd", "if=/dev/zero", f"of={out.parent / 'filler'}", "bs=4k"],
                   capture_output=True)  # fills the disk to the last byte, then fails
    more = f"0:{2 * ONE_SITE_CNY}:{ONE_SITE_CNY / 8}"  # 17 points: larger files than 1
    line = one_error_line(siting("sweep", scenario, "--budgets", more, "--out", out, "-q"), 1)
    assert files_of(out) == before  # neither file was touched, and no staging folder is left
    assert sorted(p.name for p in out.iterdir()) == sorted(before)
    assert line.startswith(f"siting: error: cannot write the outputs to {out}: no space left "
                           f"on the disk (while writing cost_coverage.")
    assert line.endswith("free some space or choose another --out")


def test_a_run_stopped_with_sigterm_leaves_no_staging_folder(tmp_path):
    scenario = two_villages(tmp_path / "in")
    out = tmp_path / "out"
    assert siting("run", scenario, "--out", out, "-q").returncode == 0
    before = files_of(out)
    env = dict(os.environ, COLUMNS="200")
    proc = subprocess.Popen([sys.executable, "-m", "siting.cli", "run", str(scenario), "--out",
                             str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    for line in proc.stdout:
        if "write outputs" in line:  # the staging folder is being filled
            proc.send_signal(signal.SIGTERM)
            break
    _, stderr = proc.communicate(timeout=120)
    assert files_of(out) == before
    assert sorted(p.name for p in out.iterdir()) == sorted(before)  # no .siting-* folder
    assert proc.returncode == 130
    assert stderr == "siting: interrupted; previous outputs were left as they were\n"


def test_a_sweep_names_its_options_and_refuses_a_fraction_of_a_site(tmp_path):
    scenario = two_villages(tmp_path / "in")
    out = tmp_path / "out"
    line = one_error_line(siting("sweep", scenario, "--sites", "0:2:0.5", "--out", out))
    assert line == ("siting: error: --sites: 0.5 is not allowed; the values must be finite "
                    "whole numbers >= 0, such as [50, 100]")
    line = one_error_line(siting("sweep", scenario, "--budgets", "1e6;2e6", "--out", out))
    assert line == ("siting: error: --budgets: cannot read the list '1e6;2e6'; use 10e6,20e6 or "
                    "start:stop:step")
    assert not out.exists()


def edited_demo(folder, old: str, new: str, *, name: str = "scenario.yaml"):
    """The demo scenario ``name`` with ``old`` replaced by ``new``, its inputs in place (read
    where they are: the scenario's input paths are made absolute)."""
    from siting.pipeline import DEMO_SCENARIO

    text = DEMO_SCENARIO.with_name(name).read_text(encoding="utf-8")
    for name in ("dem.tif", "population.tif", "region.gpkg"):
        text = text.replace(f": {name}", f": {DEMO_SCENARIO.parent / name}")
    assert old in text
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scenario.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_nested_section_that_is_not_a_mapping_is_named_with_its_parent(tmp_path):
    scenario = edited_demo(tmp_path, "  mandatory:\n", "  mandatory: yes\n  zz:\n")
    done = siting("validate", scenario)
    assert done.returncode == 2
    assert f"siting: error: {scenario}: demand.mandatory: must be a mapping, got True; write its " \
           f"keys indented below 'mandatory:', one 'key: value' a line" in done.stderr.splitlines()


def test_a_tab_or_a_key_without_its_space_is_named_on_its_own_line(tmp_path):
    tab = edited_demo(tmp_path / "tab", "  grid_m: 500", "\tgrid_m: 500")
    line_no = next(n for n, line in enumerate(tab.read_text(encoding="utf-8").splitlines(), 1)
                   if line.startswith("\tgrid_m: 500"))
    assert one_error_line(siting("validate", tab)) == (
        f"siting: error: {tab}: line {line_no}: the indentation holds a tab; YAML indents with "
        f"spaces only: replace the tab with spaces")
    glued = edited_demo(tmp_path / "glued", "  grid_m: 500", "  grid_m:500")
    assert one_error_line(siting("validate", glued)) == (
        f"siting: error: {glued}: line {line_no}: 'grid_m:500' needs a space after the colon: "
        f"'grid_m: 500'")


def test_a_budget_in_wan_yuan_or_with_separators_is_given_in_yuan(tmp_path):
    for written, yuan in (("4500万", 45_000_000), ("45,000,000", 45_000_000), ("1.2亿元", 120_000_000)):
        scenario = edited_demo(tmp_path / str(yuan) / written.replace(",", "_"),
                               "budget_cny: 45000000", f"budget_cny: {written}")
        assert one_error_line(siting("validate", scenario)) == (
            f"siting: error: {scenario}: objective.budget_cny: must be a finite number, got "
            f"'{written}'; write a plain number in CNY, e.g. {yuan}")


def test_a_dem_folder_holding_the_population_raster_is_refused(tmp_path):
    # dem.tif and population.tif side by side, the DEM named by its folder: the population
    # raster would be mosaicked over the elevations (the later tile wins)
    scenario = write_region(tmp_path, np.full((200, 200), 400.0), villages=[village("V1", 1000, 3000)],
                            candidates=[candidate("S1", 1000, 3000)],
                            inputs={"dem": ".", "population": "population.tif",
                                    "vectors": "region.gpkg"})
    assert one_error_line(siting("validate", scenario)) == (
        f"siting: error: {scenario}: inputs.dem: takes population.tif, the inputs.population "
        f"raster, as a DEM tile; name the DEM file itself, or keep the DEM tiles in a folder of "
        f"their own")


def test_scheduler_and_workers_together_are_refused_before_any_work(tmp_path):
    scenario = two_villages(tmp_path / "in")
    out = tmp_path / "out"
    done = siting("run", scenario, "--out", out, "--workers", "2", "--scheduler",
                  "tcp://127.0.0.1:8786")
    assert one_error_line(done) == (
        "siting: error: --scheduler and --workers exclude each other; give the address of your "
        "Dask cluster or the number of local workers, not both")
    assert done.stdout == ""  # not a stage started
    assert not out.exists()


def test_a_folder_given_for_the_scenario_names_the_scenario_in_it(tmp_path):
    region = tmp_path / "my-region"
    assert siting("init", region, "--no-samples").returncode == 0
    assert one_error_line(siting("validate", region)) == (
        f"siting: error: {region}: is a folder, not a scenario file; give one of its scenario "
        f"files: {region / 'scenario.yaml'}")


def test_an_empty_sheet_or_file_is_told_to_be_filled_in(tmp_path):
    import pandas as pd

    empty_sheet = tmp_path / "villages.xlsx"
    with pd.ExcelWriter(empty_sheet) as book:
        pd.DataFrame().to_excel(book, sheet_name="村庄", index=False)
    scenario = edited_demo(tmp_path, "  vectors:", f"  villages: {empty_sheet}\n  vectors:")
    assert one_error_line(siting("validate", scenario)) == (
        f"siting: error: {empty_sheet}: the table has no rows; fill it in")
    empty_csv = tmp_path / "drive_tests.csv"
    empty_csv.write_bytes(b"")
    done = siting("calibrate", two_villages(tmp_path / "in"), empty_csv, "--out", tmp_path / "c")
    assert one_error_line(done) == f"siting: error: {empty_csv}: the table has no rows; fill it in"
    assert not (tmp_path / "c").exists()


def test_an_empty_scenario_file_is_told_where_to_start(tmp_path):
    for text, found in (("", "the file is empty"), ("- inputs\n- technologies\n", "it holds a list")):
        scenario = tmp_path / "scenario.yaml"
        scenario.write_text(text, encoding="utf-8")
        assert one_error_line(siting("validate", scenario)) == (
            f"siting: error: {scenario}: the scenario must be a YAML mapping of sections (name:, "
            f"inputs:, technologies:, ...), but {found}; start from the template that 'siting "
            f"init DIR' writes")


def test_init_never_replaces_the_users_own_data_with_the_demos(tmp_path):
    folder = tmp_path / "my-region"
    folder.mkdir()
    own_dem = folder / "dem.tif"
    own_dem.write_bytes(b"the user's own DEM")
    assert one_error_line(siting("init", folder)) == (
        f"siting: error: {own_dem}: already exists and would be replaced by the sample; use "
        f"--no-samples to keep your own inputs, or choose another folder")
    assert sorted(p.name for p in folder.iterdir()) == ["dem.tif"]
    assert own_dem.read_bytes() == b"the user's own DEM"
    assert siting("init", folder, "--no-samples").returncode == 0  # the template alone
    assert own_dem.read_bytes() == b"the user's own DEM"
    assert (folder / "scenario.yaml").exists()


def test_a_year_that_is_not_a_year_is_refused_by_evaluate_and_by_a_replan(tmp_path):
    scenario = two_villages(tmp_path / "in")
    plan = tmp_path / "plan"
    assert siting("run", scenario, "--out", plan, "-q").returncode == 0
    built = tmp_path / "as_built.csv"
    built.write_text("site_id,technology,year,cost_cny\nWEST,4G-1800,2026,200000\n",
                     encoding="utf-8")
    for command in (("evaluate", plan, "--built", built, "--year", "2026年"),
                    ("run", scenario, "--out", tmp_path / "replan", "--built", built, "--year",
                     "2026年")):
        line = one_error_line(siting(*command, "-q"))
        assert line == "siting: error: --year 2026年: not a year; give the year as a number such as 2027"
    assert sorted(p.name for p in plan.iterdir() if p.is_dir()) == []  # no evaluation-2026年
    assert not (tmp_path / "replan").exists()


def test_a_damaged_file_of_a_plan_folder_is_named_with_what_to_do(tmp_path):
    import shutil

    plan_a, plan_b = tmp_path / "a", tmp_path / "b"
    assert siting("run", two_villages(tmp_path / "in"), "--out", plan_a, "-q").returncode == 0
    shutil.copytree(plan_a, plan_b)
    summary = plan_b / "summary.json"
    summary.write_bytes(summary.read_bytes()[:100])  # cut short, as by a copy that was stopped
    line = one_error_line(siting("compare", plan_a, plan_b))
    assert line.startswith(f"siting: error: {summary}: cannot read this file of the plan "
                           f"(JSONDecodeError: ")
    assert line.endswith("; it is damaged or not written by siting run: run the plan again into "
                         "its folder")
    assert not (plan_b / "compare").exists()


def test_a_key_given_twice_in_a_section_is_refused(tmp_path):
    # YAML keeps the last of two keys silently: the budget typed again below would win
    scenario = edited_demo(tmp_path, "  opex_years: 5\n", "  opex_years: 5\n  budget_cny: 1000\n")
    lines = scenario.read_text(encoding="utf-8").splitlines()
    first, second = (n for n, line in enumerate(lines, 1) if line.startswith("  budget_cny:"))
    assert one_error_line(siting("validate", scenario)) == (
        f"siting: error: {scenario}: line {second}: 'budget_cny' is given a second time in its "
        f"section (first on line {first}); YAML would keep only the last: delete one of them")


def test_a_first_run_with_a_bad_scenario_prints_its_error_line_alone(tmp_path):
    # a fresh numba cache: the run would compile the kernels, and says so only once it starts
    scenario = two_villages(tmp_path / "in")
    scenario.write_text(scenario.read_text(encoding="utf-8").replace("grid_m:", "grid_mm:"),
                        encoding="utf-8")
    done = siting("run", scenario, "--out", tmp_path / "out",
                  env={"NUMBA_CACHE_DIR": str(tmp_path / "numba")})
    assert one_error_line(done) == (f"siting: error: {scenario}: demand.grid_mm: unknown key "
                                    f"(did you mean 'grid_m'?)")
    drive_tests = tmp_path / "drive_tests.csv"  # calibrate reads the scenario first too
    drive_tests.write_text("lon,lat,rsrp_dbm\n111.0,32.7,-90\n", encoding="utf-8")
    done = siting("calibrate", scenario, drive_tests, "--out", tmp_path / "calib",
                  env={"NUMBA_CACHE_DIR": str(tmp_path / "numba")})
    assert one_error_line(done) == (f"siting: error: {scenario}: demand.grid_mm: unknown key "
                                    f"(did you mean 'grid_m'?)")


def test_a_kml_without_placemarks_is_told_to_be_filled_in(tmp_path):
    # what Google Earth saves for a folder with nothing in it: no layer at all
    empty = tmp_path / "villages.kml"
    empty.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/'
                     'kml/2.2"><Document><name>村庄</name></Document></kml>\n', encoding="utf-8")
    scenario = edited_demo(tmp_path, "  vectors:", f"  villages: {empty}\n  vectors:")
    assert one_error_line(siting("validate", scenario)) == (
        f"siting: error: {empty}: the layer is empty (no features); fill it in")


def test_a_folder_given_for_an_input_file_says_to_name_the_file(tmp_path):
    scenario = two_villages(tmp_path / "in")
    folder = tmp_path / "drive_tests"
    folder.mkdir()
    assert one_error_line(siting("calibrate", scenario, folder, "--out", tmp_path / "c")) == (
        f"siting: error: {folder}: MEASUREMENTS is a folder, not a file; name the file itself")


def test_a_phase_year_given_twice_names_both_phases(tmp_path):
    scenario = edited_demo(tmp_path, "{year: 2029,", "{year: 2028,", name="scenario_phased.yaml")
    assert one_error_line(siting("validate", scenario)) == (
        f"siting: error: {scenario}: objective.phases[2].year: 2028 is the year of phases[1] too; "
        f"give each phase a year of its own")


def test_predict_refuses_at_crs_without_a_position(tmp_path):
    out = tmp_path / "p"
    done = siting("predict", two_villages(tmp_path / "in"), "--site", "WEST", "--technology",
                  "4G-1800", "--radius-km", "0.5", "--at-crs", "GCJ-02", "--out", out)
    assert one_error_line(done) == (
        "siting: error: --at-crs GCJ-02 needs --at (the position it is the coordinates of); a "
        "--site is placed by its candidate's own coordinates")
    assert not out.exists()

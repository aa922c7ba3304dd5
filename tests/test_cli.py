"""The command line: exit codes, one-line errors without tracebacks, untouched outputs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from typer.testing import CliRunner

from regions import candidate, ridge_dem, village, write_region
from siting.cli import app

runner = CliRunner()


def _small_region(folder):
    return write_region(folder, ridge_dem(), villages=[village("V1", 1000, 3000)],
                        candidates=[candidate("S1", 1500, 3000)])


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "validate", "demo"):
        assert command in result.output


def test_missing_scenario_is_one_line_exit_2(tmp_path):
    result = runner.invoke(app, ["run", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"siting: error: {tmp_path / 'nope.yaml'}: scenario file not found"
    assert not (tmp_path / "o").exists()


def test_validate_reports_a_good_region(tmp_path):
    result = runner.invoke(app, ["validate", str(_small_region(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "OK" in result.stdout and "EPSG:32649" in result.stdout


def test_bad_field_names_file_and_field_and_keeps_previous_outputs(tmp_path):
    scenario = _small_region(tmp_path / "in")
    out = tmp_path / "out"
    assert runner.invoke(app, ["run", str(scenario), "--out", str(out), "--quiet"]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith('.')}
    assert set(before) == {"map.html", "map.png", "sites.gpkg", "coverage.tif", "report.md", "report.html", "summary.json"}
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


def test_a_crashing_solver_falls_back_to_cbc_with_a_notice(tmp_path, monkeypatch):
    from siting.errors import SolverError
    from siting.optimize import highs_backend

    def crash(*args, **kwargs):
        raise SolverError("simulated HiGHS crash")

    monkeypatch.setattr(highs_backend, "solve_mip", crash)
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(_small_region(tmp_path / "in")), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.stderr
    assert "siting: notice: solver highs failed" in result.stderr
    summary = (out / "summary.json").read_text()
    assert '"name": "cbc"' in summary


def test_init_writes_a_template_that_validates_and_matches_the_parser(tmp_path):
    result = runner.invoke(app, ["init", str(tmp_path / "new")])
    assert result.exit_code == 0, result.stderr
    check = runner.invoke(app, ["validate", str(tmp_path / "new" / "scenario.yaml")])
    assert check.exit_code == 0, check.stderr
    assert "1101 candidates" in check.stdout
    again = runner.invoke(app, ["init", str(tmp_path / "new")])
    assert again.exit_code == 2 and "already exists" in again.stderr

"""A run killed while it writes leaves the previous outputs as they were; runs don't collide."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from regions import candidate, ridge_dem, village, write_region
from siting.cli import app
from siting.errors import InputError
from siting.pipeline import OUTPUT_FILES, output_lock


def _outputs(out):
    return {name: (out / name).read_bytes() for name in OUTPUT_FILES}


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_run_keeps_previous_outputs(tmp_path, sig):
    scenario = write_region(tmp_path / "in", ridge_dem(),
                            villages=[village("V1", 1000, 3000), village("V2", 4500, 3000)],
                            candidates=[candidate("S1", 1500, 3000), candidate("S2", 5000, 3500)])
    out = tmp_path / "out"
    assert CliRunner().invoke(app, ["run", str(scenario), "--out", str(out), "-q"]).exit_code == 0
    before = _outputs(out)
    # Second run into the same folder, with another budget so its outputs differ; stop it as
    # soon as it starts writing.
    text = scenario.read_text().replace("type: min_cost", "type: max_coverage\n  max_new_sites: 1")
    scenario.write_text(text)
    env = dict(os.environ, COLUMNS="200")
    proc = subprocess.Popen([sys.executable, "-m", "siting.cli", "run", str(scenario), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    for line in proc.stdout:
        if "write outputs" in line:
            proc.send_signal(sig)
            break
    proc.communicate(timeout=120)
    assert proc.returncode != 0 or sig == signal.SIGINT
    after = _outputs(out)
    if after != before:  # the signal came after the last rename: the new set must be whole
        assert json.loads(after["summary.json"])["objective"]["max_new_sites"] == 1
    else:
        assert after == before


def test_second_writer_is_refused_while_the_folder_is_locked(tmp_path):
    scenario = write_region(tmp_path / "in", ridge_dem(), villages=[village("V1", 1000, 3000)],
                            candidates=[candidate("S1", 1500, 3000)])
    out = tmp_path / "out"
    with output_lock(out):
        result = CliRunner().invoke(app, ["run", str(scenario), "--out", str(out)])
    assert result.exit_code == 2
    assert "another siting run is writing to this folder" in result.stderr
    assert result.stderr.rstrip().endswith("choose another --out")  # the CLI names its option
    assert not any(name in os.listdir(out) for name in OUTPUT_FILES)


def test_a_locked_folder_names_no_command_option_to_a_python_caller(tmp_path):
    """plan.write() from a notebook into a folder another run holds: the error says to choose
    another output folder (it said "--out", an option a notebook has not)."""
    with output_lock(tmp_path), pytest.raises(InputError) as raised:
        with output_lock(tmp_path):
            pass
    assert str(raised.value).endswith("choose another output folder")

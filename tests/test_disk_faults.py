"""Disk faults are the user's to fix, named as such: a full disk, a read-only or blocked output
folder is one line and exit 1 (never "internal error"), with the previous outputs as they were;
a full or unwritable cache folder is a warning and the run goes on; a damaged cache entry is
reported, removed and recomputed; the first run in an environment says it compiles the kernels.

Tests run as root, whom file modes do not stop, so the faults are real ones: a tiny tmpfs
(mounted when the container allows it; skipped with the reason otherwise), remounted read-only,
and folders below a regular file (ENOTDIR, no mount needed).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from regions import candidate, ridge_dem, village, write_region
from siting import kernels, pipeline
from siting.cli import app
from siting.config import load_scenario
from siting.diskfaults import MIN_OUTPUTS_BYTES, disk_fault, size_text
from siting.errors import OutputError, SitingError
from siting.pipeline import OUTPUT_FILES, compute, output_lock, write_outputs

runner = CliRunner()


def _scenario(folder):
    return write_region(folder, ridge_dem(), villages=[village("V1", 1000, 3000), village("V2", 4500, 3000)],
                        candidates=[candidate("S1", 1500, 3000), candidate("S2", 5000, 3500)])


def _outputs(out):
    return {name: (out / name).read_bytes() for name in OUTPUT_FILES}


def _run(scenario, out, *args):
    return runner.invoke(app, ["run", str(scenario), "--out", str(out), "-q", *args])


def _fill(folder):
    """Fill the disk holding ``folder`` to the last byte."""
    with open(folder / "filler", "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def _one_error_line(result):
    assert result.exit_code == 1
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("siting: error: cannot write the outputs to ")
    return line


# ---------------------------------------------------------------------------------------------
# outputs


def test_a_full_disk_keeps_the_previous_outputs_and_says_what_is_needed(tmp_path, tmpfs):
    scenario = _scenario(tmp_path / "in")
    out = tmpfs("2m") / "out"
    assert _run(scenario, out).exit_code == 0
    before = _outputs(out)
    _fill(out.parent)
    line = _one_error_line(_run(scenario, out))
    assert f"to {out}: no space left on the disk (while writing " in line
    needed = size_text(sum(len(data) for data in before.values()))
    assert f" free, the outputs need about {needed}); free some space or choose another --out" in line
    assert _outputs(out) == before
    assert not list(out.glob(".siting-*"))  # the staging folder went with the failure


def test_a_first_run_on_a_tiny_disk_names_the_file_it_was_writing(tmp_path, tmpfs):
    run = compute(load_scenario(_scenario(tmp_path / "in")))
    out = tmpfs("64k") / "out"
    with pytest.raises(OutputError) as caught:
        write_outputs(run, out)
    error = caught.value
    assert isinstance(error, OSError) and isinstance(error, SitingError)
    assert error.path == out and error.writing.startswith("writing ")
    assert error.writing.removeprefix("writing ") in OUTPUT_FILES
    assert error.needed_bytes >= MIN_OUTPUTS_BYTES > error.free_bytes
    assert f"the outputs need more than {size_text(error.needed_bytes)}" in str(error)
    assert sorted(os.listdir(out)) == []


def test_a_read_only_output_folder_keeps_the_previous_outputs(tmp_path, tmpfs):
    scenario = _scenario(tmp_path / "in")
    disk = tmpfs("2m")
    out = disk / "out"
    assert _run(scenario, out).exit_code == 0
    before = _outputs(out)
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    line = _one_error_line(_run(scenario, out))  # found before the compute, not after it
    assert line == (f"siting: error: cannot write the outputs to {out}: read-only file system "
                    f"(while checking the output folder before the run); choose another --out")
    assert _outputs(out) == before
    line = _one_error_line(_run(scenario, disk / "new"))
    assert f"to {disk / 'new'}: read-only file system" in line
    # the library's own steps name the same fault when called directly
    with pytest.raises(OutputError, match="read-only file system .while creating the lock file"):
        with output_lock(out):
            pass
    with pytest.raises(OutputError, match="read-only file system .while creating the output "):
        write_outputs(compute(load_scenario(scenario)), disk / "new")
    assert _outputs(out) == before


def test_an_output_folder_below_a_file_is_named(tmp_path):
    scenario = _scenario(tmp_path / "in")
    blocker = tmp_path / "report.pdf"
    blocker.write_text("a file where a folder should be")
    line = _one_error_line(_run(scenario, blocker / "out"))
    assert line == (f"siting: error: cannot write the outputs to {blocker / 'out'}: {blocker} is a "
                    f"file, not a folder (while checking the output folder before the run); "
                    f"choose another --out")
    line = _one_error_line(_run(scenario, blocker))
    assert f"{blocker} is a file, not a folder" in line
    with pytest.raises(OutputError, match="is a file, not a folder .while creating the output "):
        with output_lock(blocker / "out"):
            pass
    swept = runner.invoke(app, ["sweep", str(scenario), "--budgets", "1e5,1e6", "--out",
                                str(blocker / "curve"), "-q"])
    assert f"to {blocker / 'curve'}: {blocker} is a file, not a folder" in _one_error_line(swept)


def test_the_traceback_of_a_disk_fault_shows_with_verbose(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(pipeline, "check_output_folder", lambda out: None)  # fail when writing
    result = runner.invoke(app, ["run", str(_scenario(tmp_path / "in")), "--out",
                                 str(blocker / "out"), "-q", "--verbose"])
    assert result.exit_code == 1 and "NotADirectoryError" in result.stderr
    assert "internal error" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("siting: error: cannot write the outputs")


def test_what_counts_as_a_disk_fault(tmp_path):
    assert disk_fault(OSError(errno.ENOSPC, "No space left on device"), tmp_path) == \
        "no space left on the disk"
    assert disk_fault(OSError(errno.EROFS, "Read-only file system"), tmp_path) == \
        "read-only file system"
    # GDAL's GeoPackage writer on a full disk: no errno, SQLite's words
    gdal = RuntimeError("sqlite3_exec(INSERT ...) failed: database or disk is full")
    assert disk_fault(gdal, tmp_path) == "no space left on the disk"
    # with plenty of free space, an unexplained writer error stays an internal error
    assert disk_fault(RuntimeError("Could not add feature"), tmp_path) is None
    # a bug is a bug, however full the disk
    assert disk_fault(TypeError("no space left"), tmp_path, previous_bytes=1 << 60) is None


# ---------------------------------------------------------------------------------------------
# the coverage cache


def test_a_cache_on_a_full_disk_is_a_warning_and_the_run_goes_on(tmp_path, tmpfs, caplog):
    disk = tmpfs("64k")
    _fill(disk)
    scenario = load_scenario(_scenario(tmp_path / "in"))
    with caplog.at_level("WARNING", logger="siting.cache"):
        run = compute(scenario, cache_dir=disk / "cache")
    (message,) = [r.getMessage() for r in caplog.records if r.name == "siting.cache"]
    assert message.startswith(f"cannot write the coverage cache in {disk / 'cache'} (No space "
                              f"left on device); the run goes on without it")
    assert run.plan.selected.size > 0
    assert os.listdir(disk / "cache") == []  # no partial temporary file left to fill it further


def test_a_damaged_cache_entry_through_the_command_line(tmp_path):
    """The issue's case, as the user meets it: one warning naming the file, then a normal run
    (a --quiet run, which prints nothing but errors, is as quiet with a damaged entry)."""
    scenario = _scenario(tmp_path / "in")
    env = dict(os.environ, SITING_CACHE_DIR=str(tmp_path / "cache"), COLUMNS="200")
    command = [sys.executable, "-m", "siting.cli", "run", str(scenario), "--out",
               str(tmp_path / "out")]
    assert subprocess.run([*command, "-q"], env=env, capture_output=True).returncode == 0
    (entry,) = (tmp_path / "cache").glob("coverage-*.npz")
    entry.write_bytes(entry.read_bytes()[:1000])
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("WARNING")]
    assert line.startswith(f"WARNING siting.cache: coverage cache entry {entry} is damaged")
    assert line.endswith("removed it, the coverage is recomputed")
    again = subprocess.run(command, env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "WARNING" not in again.stderr
    entry.write_bytes(b"damaged again")
    quiet = subprocess.run([*command, "-q"], env=env, capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stderr == ""


# ---------------------------------------------------------------------------------------------
# compiling the numba kernels


def test_the_kernels_a_run_needs_are_cached_numba_dispatchers():
    """A renamed kernel fails here rather than silencing the compile notice."""
    import importlib

    for module, name in kernels.RUN_KERNELS:
        dispatcher = getattr(importlib.import_module(module), name)
        assert dispatcher._cache.cache_path  # compiled with cache=True


def test_compiling_ahead_leaves_nothing_to_compile():
    kernels.compile_kernels()
    assert kernels.kernels_compiled()


def test_the_first_run_in_a_fresh_environment_says_it_compiles(tmp_path):
    scenario = _scenario(tmp_path / "in")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"), COLUMNS="200")
    command = [sys.executable, "-m", "siting.cli", "run", str(scenario), "--out", str(tmp_path / "out")]
    first = subprocess.run(command, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    notice = (f"siting: notice: compiling the radio kernels once (about {kernels.COMPILE_TIME_S} "
              f"s); later runs start at once")
    assert first.stderr.startswith(notice)
    second = subprocess.run(command, env=env, capture_output=True, text=True)
    assert second.returncode == 0 and "compiling" not in second.stderr


def test_the_compile_notice_is_silent_with_quiet(tmp_path, monkeypatch):
    monkeypatch.setattr(kernels, "kernels_compiled", lambda: False)
    scenario = _scenario(tmp_path / "in")
    loud = runner.invoke(app, ["run", str(scenario), "--out", str(tmp_path / "a")])
    assert loud.exit_code == 0
    assert "siting: notice: compiling the radio kernels once" in loud.stderr
    assert "compiling" not in _run(scenario, tmp_path / "b").stderr

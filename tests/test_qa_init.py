"""A planner's first day: ``siting init`` in a folder of their own data, then ``siting validate``,
run as the planner runs them (a subprocess of ``python -m siting.cli``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def siting(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "siting.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


def test_init_never_replaces_a_planners_own_dem(tmp_path):
    # A planner put their county's DEM and layers into a folder, then ran `siting init` there:
    # the demo's dem.tif, population.tif and region.gpkg silently replaced their files.
    folder = tmp_path / "county"
    folder.mkdir()
    own_dem = b"II*\x00 my county's DEM"
    (folder / "dem.tif").write_bytes(own_dem)
    result = siting("init", str(folder))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"siting: error: {folder / 'dem.tif'}: already exists and would be replaced by the "
        f"sample; use --no-samples to keep your own inputs, or choose another folder"]
    assert sorted(p.name for p in folder.iterdir()) == ["dem.tif"]  # nothing half-written
    assert (folder / "dem.tif").read_bytes() == own_dem
    kept = siting("init", str(folder), "--no-samples")  # what the message says to do
    assert kept.returncode == 0, kept.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["dem.tif", "scenario.yaml"]
    assert (folder / "dem.tif").read_bytes() == own_dem


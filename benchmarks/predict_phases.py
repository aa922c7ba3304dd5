"""Where one ``siting predict --model itm`` process spends its time, phase by phase.

Run (as ``benchmarks/vs_splat.py`` does, in a fresh process each time):

    python benchmarks/predict_phases.py SCENARIO OUT_DIR RADIUS_KM SITE TECHNOLOGY

Prints one JSON line: the wall time [s] of each of :data:`PHASES` as the command runs them:

- ``python and imports``: from the process's start (the interpreter's own start-up included)
  through importing the modules the command needs; numba's compiler start-up and the loading
  of the cached kernels happen here (:mod:`siting.config` loads its kernels on import);
- ``scenario and DEM``: reading the scenario and the region (the DEM warped to the run's CRS);
- ``prediction``: :func:`siting.predict.predict_in_region` (profiles and the ITM kernel);
- ``outputs``: writing prediction.tif, prediction.png and prediction.kmz.

Only the standard library is imported before the clock starts, so the first phase holds what
the command itself imports.
"""

import json
import os
import sys
import time
from pathlib import Path

#: The phases, in order.
PHASES = ("python and imports", "scenario and DEM", "prediction", "outputs")


def process_age_s() -> float:
    """Seconds since this process started (Linux: /proc/self/stat field 22, in clock ticks
    since boot; /proc/uptime for now)."""
    start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    uptime_s = float(Path("/proc/uptime").read_text().split()[0])
    return uptime_s - start_ticks / os.sysconf("SC_CLK_TCK")


def time_phases(scenario: Path, out: Path, radius_km: float, site: str,
                technology: str) -> dict[str, float]:
    """Wall time [s] of each of :data:`PHASES`."""
    import siting.cli  # noqa: F401 -- as the command imports them
    from siting.config import load_scenario
    from siting.export.prediction import write_prediction
    from siting.io import read_region
    from siting.predict import predict_in_region
    imported_s = process_age_s()
    marks = [time.perf_counter()]
    loaded = load_scenario(scenario)
    region = read_region(loaded)
    marks.append(time.perf_counter())
    prediction = predict_in_region(region, loaded, technology=technology, radius_km=radius_km,
                                   site=site, model="itm")
    marks.append(time.perf_counter())
    write_prediction(prediction, out)
    marks.append(time.perf_counter())
    return dict(zip(PHASES, [imported_s] + [b - a for a, b in zip(marks, marks[1:])]))


if __name__ == "__main__":
    scenario, out, radius, site, technology = sys.argv[1:]
    print(json.dumps(time_phases(Path(scenario), Path(out), float(radius), site, technology)))

"""Benchmark: ``siting predict --model itm`` against SPLAT! (Debian's ``splat``, ITM) on one site.

Run:  .venv/bin/python benchmarks/vs_splat.py [--runs 5] [--radii 0.5,10,25] [--keep DIR]

Needs Debian's ``splat`` package (``apt-get install splat``: ``splat`` and ``srtm2sdf``) and the
real 3 arc-second DEM of the shared data folder (USGS Jacksboro Fault,
``shared/data/real/dem/usgs_jacksboro_fault_tn/jacksboro_fault_dem.npz``, read in place);
without either the script says what is missing and exits 0.

* DEM: SPLAT! reads 1 x 1 degree SRTM tiles, so the 344 x 403 cells of the real DEM are placed
  at their own position in the tile N36W085 (1201 x 1201 cells of 3 arc-seconds) and the rest
  of the tile is filled by mirroring the real DEM at its edges (relief of real terrain
  everywhere, no steps at the seams). The same ``N36W085.hgt`` is converted to SPLAT!'s format
  with ``srtm2sdf`` and read by siting as the scenario's DEM (siting warps it bilinearly to
  square UTM cells, about 83 m, for its grid and reads the tile's own 3" cells for the
  radial profiles, as SPLAT! reads the .sdf's). Within 10 km of the site every path is on
  the real DEM; at 25 km the mirrored terrain is reached (the same for both tools).
* Site: 36.5896 N, 84.30 W (on the real DEM, 10 km from its west edge and 27 km from the
  tile's east edge, so that a 25 km circle stays on the one tile), antenna 30 m, receiver 1.5 m above ground,
  1800 MHz, vertical polarisation, ground epsilon 15 / sigma 0.005 S/m, N0 301, climate 5
  (continental temperate), 50 % of situations and of time; SPLAT! with ``-olditm`` (its
  Longley-Rice ITM 1.2.2 rather than ITWOM) and ``-L 1.5 -R R -metric -ano FILE -N`` (path loss,
  no ERP, no reports), siting with ``predict --model itm`` and the same ITM inputs (its
  defaults).
* Timing: each tool as a whole process (start-up, reading the DEM, the computation and writing
  its outputs: SPLAT!'s alphanumeric file and its map, siting's COG, PNG and KMZ), one warm-up
  each, then ``--runs`` runs of the two in turn; the median wall time is quoted. siting's
  modules are compiled to bytecode first (:func:`compile_bytecode`), as an installed copy has
  them: with ``PYTHONDONTWRITEBYTECODE`` set (as on the shared benchmark machine) a checkout
  never caches its bytecode, and every run compiled the 38 modules of siting's source that
  the command imports again, about 0.1 s of CPU that no user's start-up pays. The 0.5 km
  radius measures each tool's start-up; points per second net of start-up are
  ``points(R) / (median(R) - median(0.5 km))``. Points: SPLAT!'s lines in the alphanumeric
  file (one per 3" pixel it computed), siting's cells with a value in prediction.tif. Each run's
  CPU time (user + system, of the process and its children) is measured too and its medians
  give the same figures per CPU second: on a shared machine a process waits for a core, which
  its wall time counts and its CPU time does not (siting's prediction runs on all cores, so
  its wall time on an idle machine is below its CPU time).
* Phases: at the largest radius, ``benchmarks/predict_phases.py`` times the phases of
  ``--runs`` more siting processes (interpreter and imports, numba's start-up included;
  scenario and DEM; the prediction; the outputs), printed beside SPLAT!'s whole run: what
  a process spends before it computes anything bounds the whole-process ratio.
* Loss agreement: for every point of SPLAT!'s alphanumeric output, siting's band 1 at the cell
  holding the receiver SPLAT! computed that loss for, minus SPLAT!'s path loss: median, 10th and
  90th percentiles and the median absolute difference. SPLAT! 1.4.2's ``PlotLRPath`` writes at
  path sample ``y`` the loss of ITM over the samples ``0 .. y-1`` (``elev[0] = y-1``), i.e. for
  a receiver one sample nearer the site; its samples are one pixel diagonal apart (``ReadPath``:
  ``path_length = sqrt(dx^2 + dy^2)`` in 3" pixels), so the receiver lies at ``(y-1)/y`` of the
  way from the site, ``y`` the point's distance in pixel diagonals
  (:func:`splat_receiver_positions`). Re-running ITM on SPLAT!'s own profiles reproduces its
  losses to 0.01 dB on 90 % of the points with the samples ``0 .. y-1``, and misses them by a
  median 1.1 dB (10th/90th percentiles -4.8/+5.5 dB) with ``0 .. y``.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import rasterio
import yaml
from shapely.geometry import Point

REPO = Path(__file__).resolve().parents[1]
DEM_NPZ = REPO.parent / "shared" / "data" / "real" / "dem" / "usgs_jacksboro_fault_tn" / \
    "jacksboro_fault_dem.npz"
TILE = "N36W085"  # lat 36..37 N, lon 85..84 W
TILE_NORTH_DEG, TILE_WEST_DEG, TILE_CELLS = 37.0, -85.0, 1201
CELLS_PER_DEG = 1200
SITE_LAT, SITE_LON = 36.5896, -84.30
TX_HEIGHT_M, RX_HEIGHT_M, FREQUENCY_MHZ = 30.0, 1.5, 1800.0
SPLAT_LRP = ("15.000 ; earth dielectric constant\n0.005 ; earth conductivity [S/m]\n"
             "301.000 ; atmospheric bending constant [N-units]\n"
             f"{FREQUENCY_MHZ:.3f} ; frequency [MHz]\n5 ; radio climate (continental temperate)\n"
             "1 ; polarisation (vertical)\n0.50 ; fraction of situations\n0.50 ; fraction of time\n")


def dem_path() -> Path:
    """The real DEM, from the environment variable SITING_SHARED or beside the repository."""
    shared = os.environ.get("SITING_SHARED")
    if shared:
        return Path(shared) / "data" / "real" / "dem" / DEM_NPZ.parent.name / DEM_NPZ.name
    return DEM_NPZ


def write_tile(npz: Path, folder: Path) -> Path:
    """The SRTM tile N36W085 (big-endian int16, row 0 at 37 N) holding the real DEM at its own
    position, mirrored at its edges over the rest of the tile."""
    data = np.load(npz)
    z = data["elevation"]
    # outer edges: xmin west edge, the key "ymin" the north edge (see the folder's SOURCE.md)
    row0 = round((TILE_NORTH_DEG - (float(data["ymin"]) - 0.5 / CELLS_PER_DEG)) * CELLS_PER_DEG)
    col0 = round((float(data["xmin"]) + 0.5 / CELLS_PER_DEG - TILE_WEST_DEG) * CELLS_PER_DEG)
    tile = np.pad(z, ((row0, TILE_CELLS - row0 - z.shape[0]), (col0, TILE_CELLS - col0 - z.shape[1])),
                  mode="symmetric")
    path = folder / f"{TILE}.hgt"
    tile.astype(">i2").tofile(path)
    return path


def write_scenario(folder: Path, hgt: Path, max_radius_km: float) -> Path:
    """A scenario of one candidate (TX, 30 m) at the site on the tile, its region a small box
    around the site and its technology's range past the largest radius (so the DEM read
    reaches it)."""
    site = Point(SITE_LON, SITE_LAT)
    gpkg = folder / "region.gpkg"
    gpd.GeoDataFrame([dict(site_id="TX", kind="existing_tower", antenna_height_m=TX_HEIGHT_M,
                           capex_cny=0.0, opex_cny_per_year=0.0, free_public=True,
                           difficult=False, extra_cost_cny=0.0, technologies="4G",
                           admin_unit="A", geometry=site)], crs="EPSG:4326").to_file(
        gpkg, layer="candidates", engine="pyogrio")
    gpd.GeoDataFrame([dict(village_id="V1", name="V1", population=100, admin_unit="A",
                           poverty_village=False, relocation_site=False, geometry=site)],
                     crs="EPSG:4326").to_file(gpkg, layer="villages", engine="pyogrio")
    scenario = {
        "name": "vs_splat", "inputs": {"dem": str(hgt), "vectors": str(gpkg)},
        "region": {"bbox": [SITE_LON - 0.01, SITE_LAT - 0.01, SITE_LON + 0.01, SITE_LAT + 0.01]},
        "technologies": [dict(name="4G-1800", generation="4G", frequency_mhz=FREQUENCY_MHZ,
                              eirp_dbm=61.0, resource_blocks=100, rsrp_threshold_dbm=-110,
                              model="rma_38901", max_range_m=(max_radius_km + 3.0) * 1000.0)],
        "objective": {"type": "min_cost"},
    }
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    return path


def splat_command(folder: Path, radius_km: float) -> list[str]:
    """SPLAT!'s ITM path-loss map of the site to ``radius_km``, its points in ``splat_R.txt``."""
    return ["splat", "-t", str(folder / "tx.qth"), "-L", f"{RX_HEIGHT_M}", "-R", f"{radius_km}",
            "-metric", "-olditm", "-ano", str(folder / f"splat_{radius_km}.txt"), "-d",
            str(folder), "-N"]


def siting_command(scenario: Path, folder: Path, radius_km: float) -> list[str]:
    """siting's ITM prediction of the same site to ``radius_km`` into ``siting_R/``."""
    return [sys.executable, "-m", "siting.cli", "predict", str(scenario), "--site", "TX",
            "--technology", "4G-1800", "--radius-km", f"{radius_km}", "--model", "itm", "--out",
            str(folder / f"siting_{radius_km}"), "--quiet"]


def compile_bytecode() -> None:
    """Write the bytecode of siting's modules into their ``__pycache__`` (what ``pip install``
    does, and a checkout's first run unless ``PYTHONDONTWRITEBYTECODE`` is set); fails loudly."""
    if not compileall.compile_dir(REPO / "siting", quiet=1):
        raise RuntimeError(f"could not compile {REPO / 'siting'} to bytecode")


def prepare(folder: Path, npz: Path, max_radius_km: float) -> Path:
    """The tile, SPLAT!'s .sdf, .qth and .lrp, and siting's scenario; returns the scenario."""
    hgt = write_tile(npz, folder)
    subprocess.run(["srtm2sdf", hgt.name], cwd=folder, check=True, capture_output=True)
    (folder / "tx.qth").write_text(f"TX\n{SITE_LAT}\n{-SITE_LON}\n{TX_HEIGHT_M:g}m\n")
    (folder / "tx.lrp").write_text(SPLAT_LRP)
    return write_scenario(folder, hgt, max_radius_km)


def children_cpu_s() -> float:
    """CPU time [s] (user + system) of this process's finished children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_s(command: list[str], folder: Path) -> tuple[float, float]:
    """(wall, CPU) time [s] of one run of ``command`` as a whole process (fails loudly)."""
    started, cpu_before = time.perf_counter(), children_cpu_s()
    subprocess.run(command, cwd=folder, check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(REPO)})
    return time.perf_counter() - started, children_cpu_s() - cpu_before


def timings(folder: Path, scenario: Path, radius_km: float,
            runs: int) -> dict[str, dict[str, float]]:
    """Median wall and CPU time [s] of each tool at ``radius_km`` ({"wall": {tool: s},
    "cpu": {tool: s}}): one warm-up each, then ``runs`` runs of the two in turn."""
    commands = {"splat": splat_command(folder, radius_km),
                "siting": siting_command(scenario, folder, radius_km)}
    for command in commands.values():
        run_s(command, folder)
    times = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(run_s(command, folder))
    return {clock: {name: statistics.median(t[index] for t in values)
                    for name, values in times.items()}
            for index, clock in enumerate(("wall", "cpu"))}


def splat_points(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lat [deg], lon [deg east], path loss [dB]) of SPLAT!'s alphanumeric output: after two
    header lines, ``lat, lon west, bearing, elevation angle, loss[ *]`` per point."""
    lat, lon, loss = [], [], []
    for line in path.read_text().splitlines()[2:]:
        fields = line.replace("*", "").split(",")
        lat.append(float(fields[0]))
        lon.append(-float(fields[1]))
        loss.append(float(fields[4]))
    return np.array(lat), np.array(lon), np.array(loss)


def splat_receiver_positions(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lon) [deg] of the receiver whose loss SPLAT! 1.4.2 writes at each point (lat, lon)
    of its alphanumeric file: the path sample before it. ``ReadPath`` spaces the samples of a
    path one 3" pixel diagonal apart (``miles_per_sample = distance / sqrt(dx^2 + dy^2)``, dx,
    dy in pixels), so the point is sample ``y = rint(hypot(dlat, dlon) * 1200)`` and the
    receiver lies at ``(y-1)/y`` of the way from the site; ``PlotLRPath`` passes ITM the profile
    ``elev[0] = y-1`` intervals (samples 0 .. y-1). Exact to 0.005 of a pixel over 25 km."""
    samples = np.rint(np.hypot(lat - SITE_LAT, lon - SITE_LON) * CELLS_PER_DEG)
    fraction = np.where(samples > 0, (samples - 1.0) / np.maximum(samples, 1.0), 0.0)
    return SITE_LAT + (lat - SITE_LAT) * fraction, SITE_LON + (lon - SITE_LON) * fraction


def siting_points(folder: Path) -> int:
    """Cells with a value in siting's prediction.tif."""
    with rasterio.open(folder / "prediction.tif") as src:
        return int((~src.read(1, masked=True).mask).sum())


def loss_differences(splat_file: Path, siting_dir: Path) -> np.ndarray:
    """siting's loss minus SPLAT!'s [dB] at each of SPLAT!'s points (siting's cell holding the
    receiver SPLAT! computed it for, :func:`splat_receiver_positions`)."""
    lat, lon, splat_loss = splat_points(splat_file)
    lat, lon = splat_receiver_positions(lat, lon)
    with rasterio.open(siting_dir / "prediction.tif") as src:
        x, y = pyproj.Transformer.from_crs("EPSG:4326", src.crs, always_xy=True).transform(lon, lat)
        rows, cols = rasterio.transform.rowcol(src.transform, x, y)
        rows, cols = np.asarray(rows), np.asarray(cols)
        loss = src.read(1, masked=True)
    inside = (rows >= 0) & (rows < loss.shape[0]) & (cols >= 0) & (cols < loss.shape[1])
    ours = np.ma.masked_all(len(splat_loss))
    ours[inside] = loss[rows[inside], cols[inside]]
    keep = ~np.ma.getmaskarray(ours)
    return np.asarray(ours[keep]) - splat_loss[keep]


def phase_medians(scenario: Path, folder: Path, radius_km: float, runs: int) -> dict[str, float]:
    """Median wall time [s] of each phase of ``siting predict`` at ``radius_km`` over ``runs``
    fresh processes (``benchmarks/predict_phases.py``)."""
    command = [sys.executable, str(REPO / "benchmarks" / "predict_phases.py"), str(scenario),
               str(folder / "phases"), f"{radius_km}", "TX", "4G-1800"]
    samples = [json.loads(subprocess.run(command, cwd=folder, check=True, capture_output=True,
                                         text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
                          .stdout.splitlines()[-1]) for _ in range(runs)]
    return {phase: statistics.median(s[phase] for s in samples) for phase in samples[0]}


def net_rates(seconds: dict[float, dict[str, float]],
              points: dict[float, dict[str, int]]) -> dict[tuple[float, str], float]:
    """Points per second net of start-up of each (radius, tool): ``points(R) / (seconds(R) -
    seconds(first radius))``, NaN at the first radius (the start-up's own)."""
    start = min(seconds)
    rates = {}
    for radius in seconds:
        for tool in ("splat", "siting"):
            net_s = seconds[radius][tool] - seconds[start][tool]
            rates[radius, tool] = (points[radius][tool] / net_s if radius != start and net_s > 0
                                   else float("nan"))
    return rates


def report(medians: dict[float, dict[str, dict[str, float]]],
           points: dict[float, dict[str, int]], differences: dict[float, np.ndarray]) -> None:
    """Print the wall and CPU times, the points per second net of start-up, the ratios and the
    losses."""
    radii = sorted(medians)
    rates = {clock: net_rates({r: medians[r][clock] for r in radii}, points)
             for clock in ("wall", "cpu")}
    print(f"{'radius':>8} {'tool':>7} {'median s':>9} {'points':>9} {'net pts/s':>11} "
          f"{'median cpu s':>13} {'net pts/cpu s':>14}")
    for radius in radii:
        for tool in ("splat", "siting"):
            print(f"{radius:>6g}km {tool:>7} {medians[radius]['wall'][tool]:>9.3f} "
                  f"{points[radius][tool]:>9,} {rates['wall'][radius, tool]:>11,.0f} "
                  f"{medians[radius]['cpu'][tool]:>13.3f} {rates['cpu'][radius, tool]:>14,.0f}")
    for radius in radii:
        words = []
        for clock, name in (("wall", "whole process"), ("cpu", "CPU time")):
            whole = medians[radius][clock]["splat"] / medians[radius][clock]["siting"]
            net = rates[clock][radius, "siting"] / rates[clock][radius, "splat"]
            per = "second" if clock == "wall" else "CPU second"
            words.append(f"SPLAT!/siting {name} {whole:.2f}x, siting/SPLAT! net points per "
                         f"{per} {net:.2f}x")
        print(f"{radius:>6g}km  " + "; ".join(words))
    for radius, diff in differences.items():
        p10, median, p90 = np.percentile(diff, [10, 50, 90])
        print(f"{radius:>6g}km  siting - SPLAT! loss over {len(diff):,} points: median "
              f"{median:+.2f} dB, 10th {p10:+.2f}, 90th {p90:+.2f}, median |diff| "
              f"{np.median(np.abs(diff)):.2f} dB")


def report_phases(phases: dict[str, float], radius_km: float, splat_s: float) -> None:
    """Where a siting process's time goes at ``radius_km``, beside SPLAT!'s whole run."""
    print(f"{radius_km:>6g}km  siting by phase (median): "
          + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in phases.items())
          + f"; SPLAT! whole process {splat_s:.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per tool and radius")
    parser.add_argument("--radii", default="0.5,10,25", help="radii [km], the first = start-up")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    npz = dem_path()
    missing = [tool for tool in ("splat", "srtm2sdf") if shutil.which(tool) is None]
    if missing:
        print(f"vs_splat: skipped: {', '.join(missing)} not found; apt-get install splat")
        return 0
    if not npz.exists():
        print(f"vs_splat: skipped: {npz} not found (the shared real DEM)")
        return 0
    radii = [float(r) for r in args.radii.split(",")]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="vs_splat_"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        scenario = prepare(folder, npz, max(radii))
        compile_bytecode()
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        medians = {r: timings(folder, scenario, r, args.runs) for r in radii}
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        points = {r: {"splat": len(splat_points(folder / f"splat_{r}.txt")[2]),
                      "siting": siting_points(folder / f"siting_{r}")} for r in radii}
        differences = {r: loss_differences(folder / f"splat_{r}.txt", folder / f"siting_{r}")
                       for r in radii[1:]}
        report(medians, points, differences)
        largest = max(radii)
        report_phases(phase_medians(scenario, folder, largest, args.runs), largest,
                      medians[largest]["wall"]["splat"])
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

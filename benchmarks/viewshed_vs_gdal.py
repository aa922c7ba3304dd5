"""Benchmark: siting.terrain.viewshed against GDAL's gdal_viewshed (speed and exactness).

Run:  .venv/bin/python benchmarks/viewshed_vs_gdal.py [--observers 20] [--seed 0]

Needs the ``gdal_viewshed`` command line tool (Debian: ``apt-get install gdal-bin``).

* DEM: the real USGS Jacksboro Fault DEM from the shared data folder (3 arc-second, about
  74.5 m x 92.5 m cells) resampled bilinearly to 30 m square cells (about 1061 x 1001 cells);
  when that file is missing, a seeded fractal DEM of 1001 x 1001 cells. The script prints which.
* For every observer (seeded, in the central part of the DEM): 15 km radius, observer 30 m and
  target 1.5 m above ground, flat earth. siting's time is measured after one warm-up (JIT) call;
  gdal_viewshed's time is the wall time of the command minus its start-up time, measured as the
  median of runs on a 10 x 10 raster.
* gdal_viewshed options: ``-oz`` observer height and ``-tz`` target height above the DEM
  [m], ``-md`` maximum distance [m], ``-cc 0`` (GDAL's curvature coefficient: the DEM is lowered
  by cc * d^2 / sphere diameter; 0 = flat earth, 1 = geometric curvature without refraction,
  0.85714 the default), ``-vv 255 -iv 0 -ov 0`` (visible / invisible / out of range values).
* GDAL's compute time is also measured in-process, without start-up or file output, through
  GDAL's own Python bindings (``osgeo.gdal.ViewshedGenerate`` to the MEM driver, same options,
  after one warm-up) run by the system Python (Debian: ``python3-gdal``) when available; the
  speed ratio uses that time when it exists, since the CLI's start-up (~60-90 ms) dwarfs and
  blurs the computation.
* Agreement: on 5,000 random targets per observer within the radius, the share of targets where
  each viewshed equals :func:`siting.terrain.exact_line_of_sight` (the exact bilinear
  grid-line-crossing test).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from scipy import ndimage

from siting.terrain import exact_line_of_sight_many, viewshed

CELL_M = 30.0
RADIUS_M = 15_000.0
OBSERVER_HEIGHT_M = 30.0
TARGET_HEIGHT_M = 1.5
N_TARGETS = 5_000
ORIGIN_X, ORIGIN_Y = 500_000.0, 4_100_000.0  # an arbitrary UTM 17N origin (metres)
REAL = (Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "dem"
        / "usgs_jacksboro_fault_tn" / "jacksboro_fault_dem.npz")


def fractal_dem(n: int, seed: int, relief_m: float = 800.0, beta: float = 2.2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(n)
    k = np.hypot(f[:, None], f[None, :])
    k[0, 0] = 1.0
    spectrum = (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))) / k ** (beta / 2 + 0.5)
    spectrum[0, 0] = 0.0
    z = np.fft.ifft2(spectrum).real
    return ((z - z.min()) / (z.max() - z.min()) * relief_m).astype(np.float32)


def load_dem() -> tuple[np.ndarray, str]:
    if REAL.exists():
        data = np.load(REAL)
        z = data["elevation"].astype(np.float64)
        step_deg = float(data["dx"])
        lat = 0.5 * (float(data["ymin"]) + float(data["ymax"]))
        dx_m = step_deg * 111_320.0 * np.cos(np.radians(lat))
        dy_m = step_deg * 110_950.0
        zoom = (dy_m / CELL_M, dx_m / CELL_M)
        dem = ndimage.zoom(z, zoom, order=1).astype(np.float32)
        return dem, (f"real USGS Jacksboro Fault DEM, {z.shape[0]} x {z.shape[1]} cells of "
                     f"{dx_m:.1f} m x {dy_m:.1f} m resampled (bilinear) to {dem.shape[0]} x "
                     f"{dem.shape[1]} cells of {CELL_M:g} m")
    dem = fractal_dem(1001, 1)
    return dem, f"generated fractal DEM (seed 1), 1001 x 1001 cells of {CELL_M:g} m, 800 m relief"


def write_geotiff(path: Path, dem: np.ndarray) -> None:
    with rasterio.open(path, "w", driver="GTiff", width=dem.shape[1], height=dem.shape[0],
                       count=1, dtype="float32", crs="EPSG:32617",
                       transform=Affine(CELL_M, 0.0, ORIGIN_X, 0.0, -CELL_M, ORIGIN_Y)) as dst:
        dst.write(dem, 1)


def run_gdal(src: Path, dst: Path, row: int, col: int) -> float:
    x = ORIGIN_X + (col + 0.5) * CELL_M
    y = ORIGIN_Y - (row + 0.5) * CELL_M
    command = ["gdal_viewshed", "-q", "-ox", repr(x), "-oy", repr(y),
               "-oz", repr(OBSERVER_HEIGHT_M), "-tz", repr(TARGET_HEIGHT_M),
               "-md", repr(RADIUS_M), "-cc", "0", "-vv", "255", "-iv", "0", "-ov", "0",
               str(src), str(dst)]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


GDAL_IN_PROCESS = r"""
import json, sys, time
from osgeo import gdal
gdal.UseExceptions()
src, observers, oz, tz, md = sys.argv[1], json.loads(sys.argv[2]), *map(float, sys.argv[3:6])
dataset = gdal.Open(src)  # keep a reference: the band dies with its dataset
band = dataset.GetRasterBand(1)
def run(x, y):
    start = time.perf_counter()
    ds = gdal.ViewshedGenerate(band, "MEM", "", [], x, y, oz, tz, 255, 0, 0, -1.0, 0.0,
                               gdal.GVM_Edge, md)
    elapsed = time.perf_counter() - start
    ds = None
    return elapsed
run(*observers[0])
print(json.dumps([run(x, y) for x, y in observers]))
"""


def gdal_in_process_times(src: Path, observers) -> list[float] | None:
    """Per-observer ViewshedGenerate times [s] from the system Python's osgeo, or None."""
    python = shutil.which("python3", path="/usr/bin:/usr/local/bin")
    if python is None:
        return None
    xy = [[ORIGIN_X + (c + 0.5) * CELL_M, ORIGIN_Y - (r + 0.5) * CELL_M] for r, c in observers]
    result = subprocess.run([python, "-c", GDAL_IN_PROCESS, str(src), json.dumps(xy),
                             repr(OBSERVER_HEIGHT_M), repr(TARGET_HEIGHT_M), repr(RADIUS_M)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        return None
    return json.loads(result.stdout)


def read_gdal_visible(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """GDAL writes the window clamped to -md; place it back on the full grid."""
    with rasterio.open(path) as src:
        band = src.read(1)
        col_off = int(round((src.transform.c - ORIGIN_X) / CELL_M))
        row_off = int(round((ORIGIN_Y - src.transform.f) / CELL_M))
    visible = np.zeros(shape, dtype=bool)
    visible[row_off:row_off + band.shape[0], col_off:col_off + band.shape[1]] = band == 255
    return visible


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observers", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if shutil.which("gdal_viewshed") is None:
        print("gdal_viewshed not found: install GDAL's command line tools "
              "(Debian: apt-get install gdal-bin)", file=sys.stderr)
        return 2
    version = subprocess.run(["gdalinfo", "--version"], capture_output=True, text=True).stdout
    dem, description = load_dem()
    print(f"DEM: {description}")
    print(f"GDAL: {version.strip()}; radius {RADIUS_M / 1000:g} km, observer "
          f"{OBSERVER_HEIGHT_M:g} m, target {TARGET_HEIGHT_M:g} m, flat earth (-cc 0)")
    rng = np.random.default_rng(args.seed)
    radius_cells = RADIUS_M / CELL_M
    margin = int(min(dem.shape) * 0.3)
    observers = [(int(rng.integers(margin, dem.shape[0] - margin)),
                  int(rng.integers(margin, dem.shape[1] - margin)))
                 for _ in range(args.observers)]

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src, tiny, out = tmp / "dem.tif", tmp / "tiny.tif", tmp / "viewshed.tif"
        write_geotiff(src, dem)
        write_geotiff(tiny, dem[:10, :10])
        startup = statistics.median(run_gdal(tiny, tmp / "tiny_out.tif", 5, 5) for _ in range(7))
        viewshed(dem, CELL_M, observers[0], OBSERVER_HEIGHT_M, TARGET_HEIGHT_M, RADIUS_M)  # JIT
        exact_line_of_sight_many(dem, CELL_M, observers[0], np.array([[0, 0]]), 1.0, 1.0)

        in_process = gdal_in_process_times(src, observers)
        if in_process is None:
            print("osgeo (GDAL Python bindings) not found for the system python3: "
                  "GDAL timed through the CLI only")
            in_process = [float("nan")] * len(observers)
        rows = []
        print(f"gdal_viewshed start-up (10 x 10 raster, median of 7): {startup * 1000:.1f} ms")
        print(f"{'observer':>12} {'cells':>8} {'siting ms':>10} {'gdal ms':>8} {'gdal CLI ms':>11} "
              f"{'visible %':>9} {'siting agree %':>15} {'gdal agree %':>13}")
        for observer, t_gdal_mem in zip(observers, in_process):
            start = time.perf_counter()
            ours = viewshed(dem, CELL_M, observer, OBSERVER_HEIGHT_M, TARGET_HEIGHT_M, RADIUS_M)
            t_ours = time.perf_counter() - start
            t_gdal = run_gdal(src, out, *observer) - startup
            gdal = read_gdal_visible(out, dem.shape)

            r = rng.integers(0, dem.shape[0], 4 * N_TARGETS)
            c = rng.integers(0, dem.shape[1], 4 * N_TARGETS)
            inside = np.hypot(r - observer[0], c - observer[1]) <= radius_cells
            r, c = r[inside][:N_TARGETS], c[inside][:N_TARGETS]
            exact = exact_line_of_sight_many(dem, CELL_M, observer, np.column_stack([r, c]),
                                             OBSERVER_HEIGHT_M, TARGET_HEIGHT_M)
            agree_ours = float(np.mean(ours[r, c] == exact))
            agree_gdal = float(np.mean(gdal[r, c] == exact))
            n_cells = int(np.count_nonzero(
                np.hypot(*np.mgrid[0:dem.shape[0], 0:dem.shape[1]]
                         - np.array(observer)[:, None, None]) <= radius_cells))
            rows.append((t_ours, t_gdal_mem, t_gdal, agree_ours, agree_gdal, len(r)))
            print(f"{str(observer):>12} {n_cells:>8} {t_ours * 1000:>10.1f} "
                  f"{t_gdal_mem * 1000:>8.1f} "
                  f"{t_gdal * 1000:>11.1f} "
                  f"{100 * exact.mean():>9.1f} {100 * agree_ours:>15.3f} {100 * agree_gdal:>13.3f}")

    t_ours, t_mem, t_cli, a_ours, a_gdal, n = (np.array(v) for v in zip(*rows))
    med_ours, med_mem, med_cli = (float(np.median(t)) for t in (t_ours, t_mem, t_cli))
    med_gdal = med_mem if np.isfinite(med_mem) else med_cli
    print()
    print(f"{'':28}{'siting.viewshed':>16}{'gdal_viewshed':>15}")
    print(f"{'median time per viewshed':28}{med_ours * 1000:>13.1f} ms{med_mem * 1000:>12.1f} ms"
          f"  (in-process, MEM driver)")
    print(f"{'':28}{'':>16}{med_cli * 1000:>12.1f} ms  (CLI wall time - start-up)")
    print(f"{'agreement with exact LOS':28}{100 * np.sum(a_ours * n) / n.sum():>15.3f}%"
          f"{100 * np.sum(a_gdal * n) / n.sum():>14.3f}%")
    print(f"{'worst observer agreement':28}{100 * a_ours.min():>15.3f}%"
          f"{100 * a_gdal.min():>14.3f}%")
    print(f"speed ratio gdal / siting (medians, GDAL in-process when measured): "
          f"{med_gdal / med_ours:.2f}x "
          f"({len(observers)} observers, {int(n.sum())} exact targets)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

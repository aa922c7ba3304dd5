"""Coverage on a real dask ``distributed.LocalCluster`` equals the in-process coverage exactly."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from shapely.geometry import box

from regions import TECH_4G, TECH_5G, candidate, ridge_dem, village, write_region, xy
from siting.config import load_scenario
from siting.coverage import build_coverage
from siting.demand import build_demand
from siting.distributed import (build_coverage_distributed, client_for, read_terrain_window,
                                spatial_chunks)
from siting.errors import InputError
from siting.io import read_region, read_terrain
from siting.io.rasters import single_dem_in_crs
from siting.plan import option_costs, plan_network

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo" / "scenario.yaml"


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes, closed cleanly after the module."""
    with client_for(None, 2) as client:
        client.wait_for_workers(2)
        yield client


def _inputs(scenario_path):
    scenario = load_scenario(scenario_path)
    region = read_region(scenario)
    demand = build_demand(region, scenario.demand)
    return scenario, region, demand


def _in_process(scenario, region, demand):
    return build_coverage(region.terrain, region.candidates, demand, scenario.technologies,
                          scenario.coverage, scenario.demand.ue_height_m)


def _distributed(client, scenario, region, demand, **kwargs):
    return build_coverage_distributed(client, region.terrain, region.candidates, demand,
                                      scenario.technologies, scenario.coverage,
                                      scenario.demand.ue_height_m, **kwargs)


def assert_same_coverage(got, want):
    a, b = got.level_dbm, want.level_dbm
    assert a.shape == b.shape
    assert a.dtype == b.dtype == np.float32
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.data, b.data)  # bit-identical levels
    assert got.options.equals(want.options)
    np.testing.assert_array_equal(got.in_range, want.in_range)
    assert got.best_level_dbm.dtype == want.best_level_dbm.dtype
    np.testing.assert_array_equal(got.best_level_dbm, want.best_level_dbm)


def assert_same_plan(scenario, region, demand, got, want):
    plans = []
    for coverage in (got, want):
        costs = option_costs(coverage, region.candidates, scenario)
        plans.append(plan_network(coverage, demand, costs, scenario.objective, scenario.solver))
    a, b = plans
    np.testing.assert_array_equal(a.selected, b.selected)
    assert a.solution.objective == b.solution.objective
    assert a.solution.status == b.solution.status
    np.testing.assert_array_equal(a.covered_after, b.covered_after)
    np.testing.assert_array_equal(a.serving_option, b.serving_option)
    return a


def _small_region(folder: Path, **scenario) -> Path:
    """6 km x 6 km, a ridge, 11 candidates with 4G-only / 5G-only / both, a 5G-only zone."""
    dem = ridge_dem(200, 200, ridge_col=90)
    dem += np.add.outer(np.linspace(0, 40, 200), np.linspace(0, 25, 200)).astype(np.float32)
    rng = np.random.default_rng(7)
    population = rng.integers(0, 30, (60, 60)).astype(np.float32)
    villages = [village("V1", 600, 700), village("V2", 4500, 900, poverty=False),
                village("V3", 2500, 5200, relocation=True), village("V4", 5600, 5600),
                village("V5", 3000, 3000, poverty=False)]
    sites = [candidate("S01", 500, 500), candidate("S02", 5400, 600, techs="4G"),
             candidate("S03", 1500, 4500, kind="existing_4g", techs="4G,5G", height=35.0),
             candidate("S04", 2650, 2800, kind="lamp_pole", height=12.0, techs="5G"),
             candidate("S05", 4800, 4800, free=True), candidate("S06", 200, 5800, techs="4G"),
             candidate("S07", 3300, 1200, difficult=True, extra=30000.0),
             candidate("S08", 2800, 300, height=45.0), candidate("S09", 5900, 3000, techs="5G"),
             candidate("S10", 1000, 2500), candidate("S11", 4000, 3700, kind="existing_tower")]
    zones = [dict(zone_id="Z1", name="Town", kind="town", require_5g=True,
                  geometry=box(*xy(3500, 2500), *xy(4500, 1500)))]
    tech_4g = dict(TECH_4G, max_range_m=1500)  # short: some rows out of range, windows differ
    tech_5g = dict(TECH_5G, max_range_m=1200)
    return write_region(folder, dem, villages, sites, population=population, zones=zones,
                        technologies=(tech_4g, tech_5g), **scenario)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return _inputs(_small_region(tmp_path_factory.mktemp("small")))


@pytest.mark.parametrize("chunk_size", [1, 3, 4, 200])
def test_small_region_matrix_equals_in_process(client, small, chunk_size):
    scenario, region, demand = small
    want = _in_process(scenario, region, demand)
    assert want.level_dbm.nnz > 0 and 0 < want.in_range.sum() < len(demand)  # non-trivial
    assert (np.isfinite(want.best_level_dbm) & (np.diff(want.level_dbm.indptr) == 0)).any()
    assert demand.require_5g.any()
    got = _distributed(client, scenario, region, demand, chunk_size=chunk_size)
    assert_same_coverage(got, want)


def test_small_region_windowed_dem_reads_equal_in_process(client, small):
    scenario, region, demand = small
    want = _in_process(scenario, region, demand)
    dem_path = single_dem_in_crs(scenario.inputs.dem, region.crs)
    assert dem_path is not None
    got = _distributed(client, scenario, region, demand, chunk_size=2, dem_path=dem_path)
    assert_same_coverage(got, want)


def test_three_sector_antennas_windowed(client, tmp_path):
    scenario, region, demand = _inputs(_small_region(
        tmp_path, coverage={"raster_resolution_m": 150, "antenna": "three_sector"}))
    assert scenario.coverage.antenna == "three_sector"
    want = _in_process(scenario, region, demand)
    for kwargs in ({}, {"dem_path": single_dem_in_crs(scenario.inputs.dem, region.crs)}):
        got = _distributed(client, scenario, region, demand, chunk_size=3, **kwargs)
        assert_same_coverage(got, want)


@pytest.mark.parametrize("model, params", [("p1812", {"delta_n": 45, "n0": 325}),
                                           ("itm", {"climate": 5, "time_pct": 90})])
def test_profile_model_matrix_equals_in_process_on_a_cluster(client, tmp_path, model, params):
    """A profile model's levels depend on their pair only (P.1812's latitudes come from the
    CRS, ΔN and N0 from the scenario; ITM reads the profile alone), so chunks and DEM windows
    leave them unchanged."""
    path = _small_region(tmp_path)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["technologies"][0].update(model=model, **{model: params})
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    scenario, region, demand = _inputs(path)
    assert scenario.technologies[0].model == model
    want = _in_process(scenario, region, demand)
    assert want.level_dbm.nnz > 0
    for kwargs in ({}, {"dem_path": single_dem_in_crs(scenario.inputs.dem, region.crs)}):
        got = _distributed(client, scenario, region, demand, chunk_size=3, **kwargs)
        assert_same_coverage(got, want)


def test_small_region_plan_is_identical(client, small):
    scenario, region, demand = small
    want = _in_process(scenario, region, demand)
    got = _distributed(client, scenario, region, demand, chunk_size=3)
    plan = assert_same_plan(scenario, region, demand, got, want)
    assert len(plan.selected) > 0


def test_result_does_not_depend_on_completion_order(client, small):
    """Progress reports arrive as chunks finish; the assembled matrix is the same every time."""
    scenario, region, demand = small
    seen = []
    first = _distributed(client, scenario, region, demand, chunk_size=1,
                         progress=lambda done, total: seen.append((done, total)))
    assert seen == [(i, len(region.candidates)) for i in range(1, len(region.candidates) + 1)]
    again = _distributed(client, scenario, region, demand, chunk_size=2)
    assert_same_coverage(again, first)


def test_demo_region_matrix_and_plan_equal_in_process(client):
    scenario, region, demand = _inputs(DEMO)
    start = time.perf_counter()
    got = _distributed(client, scenario, region, demand)
    elapsed = time.perf_counter() - start
    want = _in_process(scenario, region, demand)
    assert_same_coverage(got, want)
    assert elapsed < 120, f"distributed demo coverage took {elapsed:.0f} s"
    assert_same_plan(scenario, region, demand, got, want)


def test_spatial_chunks_cover_every_candidate_once_in_ascending_order():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 50_000, 1000), rng.uniform(0, 50_000, 1000)
    chunks = spatial_chunks(x, y, 64, tile_m=10_000)
    assert all(1 <= len(c) <= 64 for c in chunks)
    assert all((np.diff(c) > 0).all() for c in chunks)
    np.testing.assert_array_equal(np.sort(np.concatenate(chunks)), np.arange(1000))
    # chunks are compact: much smaller than the region on average
    widths = [np.ptp(x[c]) * np.ptp(y[c]) for c in chunks]
    assert np.mean(widths) < 0.5 * 50_000**2
    assert spatial_chunks([], [], 10, tile_m=1.0) == []


def test_read_terrain_window_matches_the_full_raster(small):
    scenario, region, _ = small
    full = read_terrain(scenario.inputs.dem, region.crs)
    dem_path = single_dem_in_crs(scenario.inputs.dem, region.crs)
    xmin, ymin, xmax, ymax = full.bounds
    bounds = (xmin + 1000.0, ymin + 2000.0, xmin + 2500.0, ymin + 2600.0)
    win = read_terrain_window(dem_path, region.crs, bounds, margin_cells=0)
    assert win.cell_size_m == full.cell_size_m
    wx0, wy0, wx1, wy1 = win.bounds
    assert wx0 <= bounds[0] and wy0 <= bounds[1] and wx1 >= bounds[2] and wy1 >= bounds[3]
    row0 = round((full.transform.f - win.transform.f) / full.cell_size_m)
    col0 = round((win.transform.c - full.transform.c) / full.cell_size_m)
    rows, cols = win.shape
    np.testing.assert_array_equal(win.elevation_m,
                                  full.elevation_m[row0:row0 + rows, col0:col0 + cols])
    # clipped to the raster at its edges
    edge = read_terrain_window(dem_path, region.crs,
                               (xmin - 5000, ymin - 5000, xmin + 100, ymin + 100))
    assert edge.bounds[0] == xmin and edge.bounds[1] == ymin
    with pytest.raises(InputError, match="does not overlap"):
        read_terrain_window(dem_path, region.crs,
                            (xmax + 1e4, ymax + 1e4, xmax + 2e4, ymax + 2e4))


def test_a_window_holding_nodata_is_refused_not_filled_otherwise(small, tmp_path):
    """read_terrain interpolates a void over the whole raster; a window filled on its own
    (nearest cell) gave other levels beside it than a 1-worker run: it is refused instead."""
    scenario, region, _ = small
    with rasterio.open(single_dem_in_crs(scenario.inputs.dem, region.crs)) as src:
        profile, z = src.profile, src.read(1)
    z[50:53, 60:63] = -9999.0
    voided = tmp_path / "voided.tif"
    with rasterio.open(voided, "w", **{**profile, "nodata": -9999.0}) as dst:
        dst.write(z, 1)
    with rasterio.open(voided) as src:
        x, y = src.xy(51, 61)
    with pytest.raises(InputError, match=r"holds 9 cell\(s\) without data.*dem_path=None"):
        read_terrain_window(voided, region.crs, (x - 500, y - 500, x + 500, y + 500))
    clear = read_terrain_window(voided, region.crs, (x + 1000, y - 1500, x + 1300, y - 1200))
    assert np.isfinite(clear.elevation_m).all()  # a window beside the void reads as before


def test_a_failing_task_raises_its_error_in_the_driver(client, small, tmp_path):
    scenario, region, demand = small
    other = tmp_path / "dem_wgs84.tif"
    with rasterio.open(other, "w", driver="GTiff", height=10, width=10, count=1, dtype="float32",
                       crs="EPSG:4326",
                       transform=rasterio.transform.from_origin(111.0, 32.7, 0.001, 0.001)) as dst:
        dst.write(np.zeros((1, 10, 10), np.float32))
    with pytest.raises(InputError, match="run's CRS"):
        _distributed(client, scenario, region, demand, chunk_size=3, dem_path=other)
    # the cluster is still usable afterwards
    got = _distributed(client, scenario, region, demand, chunk_size=5)
    assert_same_coverage(got, _in_process(scenario, region, demand))


def test_client_for_in_process_and_bad_arguments():
    with client_for(None, None) as client:
        assert client is None
    with pytest.raises(InputError, match="not both"):
        with client_for("tcp://127.0.0.1:8786", 2):
            pass
    with pytest.raises(InputError, match="at least 1"):
        with client_for(None, 0):
            pass


def test_client_for_unreachable_scheduler_is_an_input_error():
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(InputError, match="cannot connect to the Dask scheduler"):
            with client_for("tcp://127.0.0.1:9", None):
                pass


def test_client_for_scheduler_address(client):
    """A scheduler address connects to a running cluster and leaves it running."""
    address = client.scheduler.address
    with client_for(address, None) as other:
        assert other.scheduler_info()["address"] == address
        assert len(other.scheduler_info()["workers"]) == 2
    assert client.submit(sum, [1, 2]).result() == 3


def test_local_workers_run_coverage_kernels_on_one_thread(client):
    """N single-threaded workers use N cores: each task caps numba at one thread."""
    from siting.distributed import _limit_numba_threads

    def threads_in_a_task():
        import numba

        _limit_numba_threads()
        return numba.get_num_threads()

    assert client.submit(threads_in_a_task, pure=False).result() == 1


def test_a_quiet_run_on_local_workers_prints_no_dask_chatter(tmp_path):
    """``siting run --workers 1 --quiet`` says nothing on success: distributed's loggers log at
    the run's level, not the INFO that importing distributed sets (thirty lines of scheduler
    and nanny messages)."""
    import os
    import subprocess
    import sys
    scenario = _small_region(tmp_path / "region")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run([sys.executable, "-c", "from siting.cli import main; main()", "run",
                           str(scenario), "--out", str(tmp_path / "out"), "--workers", "1",
                           "--quiet", "--no-cache"], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "summary.json").exists()
    assert "distributed" not in done.stderr, done.stderr

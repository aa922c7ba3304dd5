"""Province-size runs: the large-region generator, windowed demand, peak memory in summary.json."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import pyproj
import rasterio
import rasterio.windows
from typer.testing import CliRunner

from siting.cli import app
from siting.config import load_scenario
from siting.coverage import Transmitters, path_levels, path_levels_in_batches
from siting.demand import build_demand, population_cells
from siting.distributed import MAX_CHUNK_SIZE, TASKS_PER_THREAD, default_chunk_size
from siting.io import PopulationRaster, population_overview, read_population, read_region
from siting.pipeline import DEMO_SCENARIO, WORKERS_PEAK_MEMORY, compute, prepare, write_outputs

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_large_region.py"
FILES = ("dem.tif", "population.tif", "region.gpkg", "scenario.yaml")
# A 10 km region and its 6 km centre with the same densities per 20 km tile of the generator.
TINY = dict(size_km=10.0, n_candidates=125, n_villages=50)
CENTRE = dict(size_km=6.0, n_candidates=45, n_villages=18)


def _generator():
    spec = importlib.util.spec_from_file_location("make_large_region", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The generator's output for TINY, twice, and for its centre CENTRE."""
    generator = _generator()
    folders = [tmp_path_factory.mktemp(name) for name in ("tiny", "again", "centre")]
    stats = [generator.build(folder, **kwargs)
             for folder, kwargs in zip(folders, (TINY, TINY, CENTRE))]
    return folders, stats


def test_generator_writes_valid_inputs_that_validate_accepts(tiny):
    (folder, _, _), (stats, _, _) = tiny
    result = CliRunner().invoke(app, ["validate", str(folder / "scenario.yaml")])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    assert stats["n_candidates"] > 0 and stats["n_villages"] > 0
    with rasterio.open(folder / "dem.tif") as dem:
        assert dem.crs.to_epsg() == 32649 and dem.res == (30.0, 30.0)
        assert dem.profile["tiled"] and dem.block_shapes[0] == (512, 512)
        assert dem.compression is not None
        assert dem.width * 30 >= 10_000 and dem.height * 30 >= 10_000
    layers = {name for name in gpd.list_layers(folder / "region.gpkg")["name"]}
    assert {"villages", "candidates", "admin_units"} <= layers
    assert (folder / "scenario.yaml").read_text().startswith("# Synthetic province-size region")


def test_generator_is_deterministic(tiny):
    (first, again, _), _ = tiny
    for name in FILES:
        assert (first / name).read_bytes() == (again / name).read_bytes(), name


def test_a_smaller_region_is_the_centre_of_a_larger_one(tiny):
    """Terrain and points are functions of the map position: windows join seamlessly."""
    (large, _, centre), _ = tiny
    with rasterio.open(large / "dem.tif") as big, rasterio.open(centre / "dem.tif") as small:
        col0, row0 = ~big.transform * (small.transform.c, small.transform.f)
        window = rasterio.windows.Window(round(col0), round(row0), small.width, small.height)
        np.testing.assert_array_equal(small.read(1), big.read(1, window=window))
    inner = gpd.read_file(centre / "region.gpkg", layer="candidates").set_index("site_id")
    outer = gpd.read_file(large / "region.gpkg", layer="candidates").set_index("site_id")
    assert len(inner) > 0 and set(inner.index) <= set(outer.index)
    assert inner.geometry.geom_equals(outer.geometry[inner.index]).all()


def _whole_raster_cells(people, transform, grid_m, min_people):
    """Reference: the cells of the whole raster held in memory at once."""
    factor = max(1, int(round(grid_m / abs(transform.a))))
    padded = np.pad(people, ((0, (-people.shape[0]) % factor), (0, (-people.shape[1]) % factor)))
    rows, cols = np.indices(padded.shape, dtype=np.float64)
    xs = transform.c + (cols + 0.5) * transform.a
    ys = transform.f + (rows + 0.5) * transform.e

    def block_sum(a):
        n, m = padded.shape
        return a.reshape(n // factor, factor, m // factor, factor).sum(axis=(1, 3))

    total = block_sum(padded)
    keep = total >= max(min_people, 1e-9)
    br, bc = np.nonzero(keep)
    return (block_sum(padded * xs)[keep] / total[keep], block_sum(padded * ys)[keep] / total[keep],
            total[keep], np.array([f"cell_{r}_{c}" for r, c in zip(br, bc)], dtype=object))


@pytest.mark.parametrize("grid_m", [500.0, 300.0])
def test_windowed_demand_equals_the_whole_raster_on_the_demo(grid_m):
    scenario = load_scenario(DEMO_SCENARIO)
    source = read_population(scenario.inputs.population, pyproj.CRS.from_epsg(32649))
    assert source.path is not None and source.values is None  # read by window, never whole
    with rasterio.open(scenario.inputs.population) as src:
        whole = np.ma.filled(src.read(1, masked=True).astype(np.float64), 0.0)
    want = _whole_raster_cells(whole, source.transform, grid_m, 1.0)
    assert len(want[0]) > 1000
    for band_cells in (601, 50_000, 1 << 30):  # bands of one demand row up to the whole raster
        got = population_cells(source, grid_m, 1.0, band_cells=band_cells)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
    in_memory = population_cells(PopulationRaster.of_array(whole, source.transform), grid_m, 1.0)
    for a, b in zip(in_memory, want):
        np.testing.assert_array_equal(a, b)


def test_population_overview_is_the_raster_or_its_block_means():
    values = np.arange(35.0).reshape(5, 7)
    raster = PopulationRaster.of_array(values, rasterio.Affine(100, 0, 0, 0, -100, 700))
    same, transform = population_overview(raster, max_px=7)
    np.testing.assert_array_equal(same, values)
    assert transform == raster.transform
    means, transform = population_overview(raster, max_px=4)
    assert means.shape == (3, 4) and transform.a == 200 and transform.e == -200
    assert means[0, 0] == values[:2, :2].mean()
    assert means[2, 3] == values[4, 6]  # a partial block averages its own cells


def test_summary_reports_peak_memory(tiny, tmp_path):
    (folder, _, _), _ = tiny
    scenario = load_scenario(folder / "scenario.yaml")
    summary = write_outputs(compute(scenario), tmp_path)
    assert summary["timings_s"]["peak_memory_mb"] > 50
    assert WORKERS_PEAK_MEMORY not in summary["timings_s"]


def test_a_cluster_run_records_the_workers_peak_memory(tiny):
    (folder, _, _), _ = tiny
    timings: dict[str, float] = {}
    prepare(load_scenario(folder / "scenario.yaml"), timings=timings, workers=1)
    assert timings[WORKERS_PEAK_MEMORY] > 50


def test_default_chunks_give_every_worker_thread_several_tasks():
    assert default_chunk_size(1101, 2) == math.ceil(1101 / (TASKS_PER_THREAD * 2))
    assert default_chunk_size(50_000, 2) == MAX_CHUNK_SIZE
    assert default_chunk_size(3, 8) == 1


def test_levels_in_bounded_batches_equal_one_call_over_every_pair():
    scenario = load_scenario(DEMO_SCENARIO)
    region = read_region(scenario)
    demand = build_demand(region, scenario.demand)
    sites = region.candidates.iloc[::20]
    tx = Transmitters(sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy(),
                      sites["antenna_height_m"].to_numpy(float))
    tech = scenario.technologies[0]
    args = (region.terrain, tx, demand.x_m, demand.y_m, scenario.demand.ue_height_m, tech,
            scenario.coverage)
    whole = path_levels(*args)
    batches = list(path_levels_in_batches(*args, max_pairs=5_000))
    assert len(batches) > 3 and max(len(b.tx) for b in batches) <= 5_000
    got = {(t, r): v for b in batches for t, r, v in zip(b.tx, b.rx, b.level_dbm)}
    assert got == dict(zip(zip(whole.tx, whole.rx), whole.level_dbm))

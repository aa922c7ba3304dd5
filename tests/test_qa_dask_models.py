"""Coverage on 1 and 2 local Dask workers equals the in-process matrix bit for bit, for every
path-loss model (the Hata family with Deygout diffraction over the DEM, ITM, P.1812), with a
land-cover raster (clutter heights on the profiles, P.2108 at the user) and a calibration
(offsets per land-cover class) shipped to the workers."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from regions import TECH_4G, candidate, ridge_dem, village, write_land_cover, write_region
from siting.config import load_scenario
from siting.coverage import build_coverage
from siting.demand import build_demand
from siting.distributed import build_coverage_distributed, client_for
from siting.io import read_region

CELL_M, SIZE = 30.0, 60
MODELS = {
    "rma_38901": dict(frequency_mhz=1800),
    "okumura_hata": dict(frequency_mhz=900),
    "cost231_hata": dict(frequency_mhz=1800),
    "itm": dict(frequency_mhz=1800, itm={"climate": 5}),
    "p1812": dict(frequency_mhz=1800, p1812={"delta_n": 45, "n0": 325}),
}


@pytest.fixture(scope="module", params=[1, 2], ids=["1-worker", "2-workers"])
def client(request):
    with client_for(None, request.param) as client:
        client.wait_for_workers(request.param)
        yield client


def _region(folder, model: str):
    """1.8 km square, a ridge, forest west and a village's built-up east, four 30-40 m masts,
    one technology on ``model``, a calibration of +3 dB in forest, -2 dB on built-up land."""
    tech = dict(TECH_4G, name="4G", model=model, max_range_m=1500, **MODELS[model])
    path = write_region(folder, ridge_dem(SIZE, SIZE, ridge_col=30, ridge_height_m=60.0),
                        [village("V1", 300, 900), village("V2", 1500, 600)],
                        [candidate("S1", 400, 400), candidate("S2", 1400, 1300, height=40.0),
                         candidate("S3", 900, 1600), candidate("S4", 1600, 300, height=35.0)],
                        technologies=(tech,),
                        population=np.random.default_rng(3).integers(0, 20, (18, 18)).astype(float))
    codes = np.full((SIZE, SIZE), 40, np.uint8)
    codes[:, :20], codes[:, 45:] = 10, 50
    write_land_cover(path, codes, CELL_M)
    (folder / "calibration.yaml").write_text(yaml.safe_dump(
        {"offsets_db": {"4G": {"tree_cover": 3.0, "built_up": -2.0}},
         "model_offset_db": {"4G": 0.5}}))
    doc = yaml.safe_load(path.read_text())
    doc["coverage"]["calibration"] = "calibration.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.mark.parametrize("model", list(MODELS))
def test_every_model_with_land_cover_and_calibration_equals_in_process(client, tmp_path, model):
    scenario = load_scenario(_region(tmp_path, model))
    assert scenario.technologies[0].model == model and scenario.coverage.calibration
    assert scenario.coverage.max_diffraction_edges > 0  # Deygout over the DEM
    region = read_region(scenario)
    assert region.terrain.land_cover is not None
    demand = build_demand(region, scenario.demand)
    args = (region.terrain, region.candidates, demand, scenario.technologies, scenario.coverage,
            scenario.demand.ue_height_m)
    want = build_coverage(*args)
    assert want.level_dbm.nnz > 10  # of 38 demand points x 4 sites
    got = build_coverage_distributed(client, *args, chunk_size=1)
    assert got.level_dbm.dtype == want.level_dbm.dtype == np.float32
    np.testing.assert_array_equal(got.level_dbm.indptr, want.level_dbm.indptr)
    np.testing.assert_array_equal(got.level_dbm.indices, want.level_dbm.indices)
    np.testing.assert_array_equal(got.level_dbm.data, want.level_dbm.data)
    np.testing.assert_array_equal(got.in_range, want.in_range)
    np.testing.assert_array_equal(got.best_level_dbm, want.best_level_dbm)
    assert got.options.equals(want.options)

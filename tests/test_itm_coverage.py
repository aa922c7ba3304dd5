"""NTIA ITM in the coverage stage (``model: itm``): the scenario keys, the numba kernel against
``itm_p2p_loss`` on real terrain profiles, the cache key, a ridge for both profile models (ITM
and P.1812) and a whole run, and the warnings for models used outside their validity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from regions import TECH_4G, candidate, random_links, ridge_dem, village, write_region
from siting import propagation
from siting.cache import coverage_key
from siting.config import load_scenario
from siting.coverage import (ITM_MDVAR, itm_path_loss_db, pair_length_cells,
                             pairs_within_range, profile_samples)
from siting.errors import ScenarioError
from siting.io import read_terrain
from siting.itm import itm_p2p_loss
from siting.pipeline import compute, write_outputs
from siting.terrain import sample_profile_kernel

ROOT = Path(__file__).resolve().parents[1]
DEMO_DEM = ROOT / "data" / "demo" / "dem.tif"
TECH_ITM = dict(TECH_4G, model="itm")
BASE = {"name": "t", "inputs": {"dem": "d.tif", "population": "p.tif", "vectors": "v.gpkg"},
        "technologies": [TECH_ITM], "objective": {"type": "min_cost"}}


def _load_with(tmp_path, **tech):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(dict(BASE, technologies=[dict(TECH_ITM, **tech)])),
                    encoding="utf-8")
    return load_scenario(path)


def test_itm_parameters_are_read_with_the_documented_defaults(tmp_path):
    default = _load_with(tmp_path).technologies[0].itm
    assert (default.epsilon, default.sigma, default.climate, default.n0, default.polarization,
            default.time_pct, default.location_pct, default.situation_pct) == \
        (15.0, 0.005, 5, 301.0, "vertical", 50.0, 50.0, 50.0)
    given = _load_with(tmp_path, itm={"climate": 6, "time_pct": 90, "polarization": "horizontal"})
    assert (given.technologies[0].itm.climate, given.technologies[0].itm.time_pct,
            given.technologies[0].itm.polarization) == (6, 90.0, "horizontal")


@pytest.mark.parametrize("itm, message", [
    ({"climate": 8}, "technologies[4G-1800].itm.climate: must be <= 7"),
    ({"time_pct": 100}, "technologies[4G-1800].itm.time_pct: must be above 0 and below 100 %"),
    ({"n0": 200}, "technologies[4G-1800].itm.n0: must be >= 250"),
    ({"polarisation": "vertical"}, "technologies[4G-1800].itm.polarisation: unknown key"),
])
def test_bad_itm_parameters_name_the_key(tmp_path, itm, message):
    with pytest.raises(ScenarioError) as info:
        _load_with(tmp_path, itm=itm)
    assert message in str(info.value)


def test_itm_keys_with_another_model_are_a_problem(tmp_path):
    with pytest.raises(ScenarioError, match=r"itm: is read only with model: itm"):
        _load_with(tmp_path, model="rma_38901", itm={"climate": 5})


def test_the_registry_has_itm_as_a_profile_model():
    model = propagation.PATH_LOSS_MODELS["itm"]
    assert model.terrain_profile and model.loss_db is None
    assert model.frequency_range_mhz == (20.0, 20000.0)
    assert propagation.itm_p2p_loss is itm_p2p_loss


def test_the_kernel_equals_itm_p2p_loss_on_real_terrain(tmp_path):
    terrain = read_terrain(DEMO_DEM, "EPSG:32649")
    tx, rx_x, rx_y = random_links(terrain, 1968, 20, 8, 9000.0)
    pair_tx, pair_rx = pairs_within_range(tx.x_m, tx.y_m, rx_x, rx_y, 12000.0)
    tech = _load_with(tmp_path, itm={"climate": 5, "time_pct": 90, "situation_pct": 70}).technologies[0]
    loss, los = itm_path_loss_db(terrain, tx, rx_x, rx_y, 1.5, pair_tx, pair_rx, tech)
    reference = []
    for a, b in zip(pair_tx, pair_rx, strict=True):
        (r0, r1), (c0, c1) = terrain.rowcol(np.array([tx.x_m[a], rx_x[b]]),
                                            np.array([tx.y_m[a], rx_y[b]]))
        length_cells = pair_length_cells(r0, c0, r1, c1)
        n = profile_samples(length_cells)
        z = np.empty(n)
        sample_profile_kernel(terrain.elevation_m, r0, c0, r1, c1, n, z)
        spacing_m = max(length_cells * terrain.cell_size_m, 10.0) / (n - 1)
        reference.append(itm_p2p_loss(tx.height_m[a], 1.5, [n - 1, spacing_m, *z], 5, 301.0,
                                      1800.0, 1, 15.0, 0.005, ITM_MDVAR, 90.0, 50.0, 70.0))
    assert len(pair_tx) > 100
    np.testing.assert_allclose(loss, reference, atol=0.01)
    assert 0 < los.sum() < len(los)  # some paths clear, some behind the mountains


def test_the_cache_key_changes_with_the_itm_parameters(tmp_path):
    path = write_region(tmp_path, np.full((50, 50), 400.0), [village("V1", 500, 500)],
                        [candidate("S1", 700, 700, techs="4G")], technologies=(TECH_ITM,))
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))

    def key(itm):  # the same input files, another itm section
        doc["technologies"][0]["itm"] = itm
        path.write_text(yaml.safe_dump(doc), encoding="utf-8")
        return coverage_key(load_scenario(path))

    first = key({"climate": 5})
    assert key({"climate": 5}) == first
    assert key({"climate": 6}) != first and key({"time_pct": 90}) != first


@pytest.mark.parametrize("technology", [
    TECH_ITM, dict(TECH_4G, model="p1812", p1812={"delta_n": 45, "n0": 325})], ids=["itm", "p1812"])
def test_a_ridge_blocks_the_valley_behind_it_with_a_profile_model(tmp_path, technology):
    # a 300 m wall at x = 3.0-3.12 km; one mast at x = 1.5 km: V1 in front, V2 behind it
    path = write_region(tmp_path, ridge_dem(), technologies=(technology,),
                        villages=[village("V1", 2500, 3000), village("V2", 4500, 3000)],
                        candidates=[candidate("S1", 1500, 3000, techs="4G")])
    run = compute(load_scenario(path))
    level = run.coverage.best_level_dbm[run.demand.kind == "village"]
    assert level[0] >= TECH_4G["rsrp_threshold_dbm"] > level[1]
    assert level[0] - level[1] > 20.0
    write_outputs(run, tmp_path / "out")
    assert (tmp_path / "out" / "coverage.tif").is_file()


def test_models_outside_their_validity_are_warned_about(tmp_path):
    from typer.testing import CliRunner

    from siting.cli import app
    from siting.config import model_warnings

    far = _load_with(tmp_path / "far", model="rma_38901", max_range_m=15000)
    assert model_warnings(far) == [
        "technologies[4G-1800].max_range_m: 15000 m is beyond the rma_38901 model's validity "
        "(10-10000 m); longer paths are an extrapolation of its formula; lower max_range_m to "
        "10000 or use model itm or p1812"]
    twice = _load_with(tmp_path / "twice", model="cost231_hata", max_range_m=8000)
    assert "counts terrain twice" in " ".join(model_warnings(twice))
    assert model_warnings(_load_with(tmp_path / "itm", max_range_m=50000)) == []
    demo = load_scenario(ROOT / "data" / "demo" / "scenario.yaml")
    assert model_warnings(demo) == []  # the demo uses a sound combination
    path = write_region(tmp_path / "region", np.full((50, 50), 400.0), [village("V1", 500, 500)],
                        [candidate("S1", 700, 700, techs="4G")],
                        technologies=(dict(TECH_4G, max_range_m=15000),))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0
    assert "siting: warning:" in result.output and "beyond the rma_38901 model's validity" in result.output

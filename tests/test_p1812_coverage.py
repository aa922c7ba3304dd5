"""ITU-R P.1812 in the coverage stage: the scenario keys, the numba kernel against the reference
function on real terrain, the ITU-R maps, the cache key and a whole run on a tiny region."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyproj
import pytest
import yaml
from typer.testing import CliRunner

from regions import CRS, TECH_4G, candidate, random_links, ridge_dem, village, write_region
from siting import propagation
from siting.cache import coverage_key
from siting.cli import app
from siting.config import load_scenario
from siting.coverage import (build_coverage, build_coverage_in_steps,
                             p1812_path_loss_db, pairs_within_range, profile_samples)
from siting.demand import build_demand
from siting.errors import InputError, ScenarioError
from siting.io import read_region, read_terrain, resolve_itu_maps
from siting.p1812 import p1812_loss
from siting.pipeline import compute, write_outputs
from siting.terrain import sample_profile_kernel

ROOT = Path(__file__).resolve().parents[1]
DEMO_DEM = ROOT / "data" / "demo" / "dem.tif"
DEMO_P1812 = ROOT / "data" / "demo" / "scenario_p1812.yaml"
P1812_PARAMS = {"time_pct": 50, "location_pct": 50, "delta_n": 45, "n0": 325}
TECH_P1812 = dict(TECH_4G, model="p1812", p1812=P1812_PARAMS)
BASE = {"name": "t", "inputs": {"dem": "d.tif", "population": "p.tif", "vectors": "v.gpkg"},
        "technologies": [TECH_P1812], "objective": {"type": "min_cost"}}


def _write(tmp_path, doc) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def _load_with(tmp_path, params=None, **tech):
    doc = dict(BASE, technologies=[dict(TECH_P1812, p1812=params, **tech)])
    return load_scenario(_write(tmp_path, doc))


# --- scenario keys ----------------------------------------------------------------------------

def test_p1812_parameters_are_read(tmp_path):
    tech = _load_with(tmp_path, {"time_pct": 10, "location_pct": 90, "location_sigma_db": 5.5,
                                 "delta_n": 45, "n0": 325}).technologies[0]
    assert tech.model == "p1812"
    assert (tech.p1812.time_pct, tech.p1812.location_pct, tech.p1812.location_sigma_db,
            tech.p1812.delta_n, tech.p1812.n0) == (10.0, 90.0, 5.5, 45.0, 325.0)


@pytest.mark.parametrize("params, message", [
    ({"time_pct": 50}, "technologies[4G-1800].p1812.delta_n: missing: give the value"),
    ({"delta_n": 45}, "technologies[4G-1800].p1812.n0: missing"),
    (None, "or set coverage.itu_maps_dir to a folder holding DN50.TXT and N050.TXT"),
    (dict(P1812_PARAMS, time_pct=0.5), "technologies[4G-1800].p1812.time_pct: must be >= 1.0"),
    (dict(P1812_PARAMS, time_pct=60), "technologies[4G-1800].p1812.time_pct: must be <= 50.0"),
    (dict(P1812_PARAMS, location_pct=100), "p1812.location_pct: must be above 0 and below 100"),
    (dict(P1812_PARAMS, location_pct=0), "p1812.location_pct: must be above 0 and below 100"),
    (dict(P1812_PARAMS, delta_n=160), "p1812.delta_n: must be <= 156.9"),
    (dict(P1812_PARAMS, n0="high"), "p1812.n0: must be a finite number"),
    (dict(P1812_PARAMS, tim_pct=5), "p1812.tim_pct: unknown key (did you mean 'time_pct'?)"),
    ([45, 325], "technologies[4G-1800].p1812: must be a mapping"),
])
def test_bad_p1812_parameters_name_the_key(tmp_path, params, message):
    with pytest.raises(ScenarioError) as err:
        _load_with(tmp_path, params)
    assert message in str(err.value)


def test_each_problem_is_one_line(tmp_path):
    with pytest.raises(ScenarioError) as err:
        _load_with(tmp_path, {"time_pct": 70, "location_pct": 100})
    lines = str(err.value).splitlines()
    assert len(lines) == 2  # time_pct, location_pct
    assert all("technologies[4G-1800].p1812." in line for line in lines)


def test_p1812_keys_with_another_model_are_a_problem(tmp_path):
    with pytest.raises(ScenarioError, match=r"p1812: is read only with model: p1812"):
        _load_with(tmp_path, P1812_PARAMS, model="rma_38901")


def test_the_p1812_frequency_and_height_ranges_are_checked(tmp_path):
    with pytest.raises(ScenarioError, match="outside the p1812 model's range 30-6000 MHz"):
        _load_with(tmp_path, P1812_PARAMS, frequency_mhz=6500)
    doc = dict(BASE, demand={"ue_height_m": 0.8})
    with pytest.raises(ScenarioError, match=r"demand.ue_height_m: 0.8 m is outside the 1-3000 m"):
        load_scenario(_write(tmp_path, doc))


def test_the_registry_ranges_are_the_ones_p1812_loss_enforces():
    model = propagation.PATH_LOSS_MODELS["p1812"]
    assert model.terrain_profile and model.loss_db is None
    assert propagation.p1812_loss is p1812_loss
    d, h = np.linspace(0.0, 5.0, 50), np.full(50, 300.0)
    r, z = np.zeros(50), np.full(50, 4)
    f_low, f_high = (f / 1000.0 for f in model.frequency_range_mhz)
    h_low, h_high = model.base_height_range_m
    for f_ghz, h_m in ((f_low, h_low), (f_high, h_high)):
        assert np.isfinite(p1812_loss(f_ghz, 50, d, h, r, z, h_m, h_m, 2, 32.7, 32.7, 109.0,
                                      109.05, delta_n=45, n0=325)[0])
    for f_ghz, h_m in ((f_low * 0.99, h_low), (f_high * 1.01, h_low), (f_low, h_low - 0.1),
                       (f_low, h_high + 0.1)):
        with pytest.raises(InputError):
            p1812_loss(f_ghz, 50, d, h, r, z, h_m, h_m, 2, 32.7, 32.7, 109.0, 109.05,
                       delta_n=45, n0=325)


# --- the kernel against the reference function ------------------------------------------------

def _reference_loss(terrain, tx, rx_x, rx_y, pair_tx, pair_rx, tech):
    """p1812_loss on each pair's profile, sampled as the coverage stage samples it."""
    to_wgs84 = pyproj.Transformer.from_crs(terrain.crs, "EPSG:4326", always_xy=True)
    params = tech.p1812
    losses = []
    for a, b in zip(pair_tx, pair_rx, strict=True):
        (r0, r1), (c0, c1) = terrain.rowcol(np.array([tx.x_m[a], rx_x[b]]),
                                            np.array([tx.y_m[a], rx_y[b]]))
        length_cells = float(np.hypot(r1 - r0, c1 - c0))
        n = profile_samples(length_cells)
        h = np.empty(n)
        sample_profile_kernel(terrain.elevation_m, r0, c0, r1, c1, n, h)
        d_km = np.arange(n) * (max(length_cells * terrain.cell_size_m, 10.0) / 1000.0 / (n - 1))
        (lon_t, lon_r), (lat_t, lat_r) = to_wgs84.transform([tx.x_m[a], rx_x[b]],
                                                            [tx.y_m[a], rx_y[b]])
        losses.append(p1812_loss(
            tech.frequency_mhz / 1000.0, params.time_pct, d_km, h, np.zeros(n), np.full(n, 4),
            tx.height_m[a], 1.5, 2, lat_t, lat_r, lon_t, lon_r,
            pl_percent=params.location_pct, sigma_l_db=params.location_sigma_db,
            delta_n=params.delta_n, n0=params.n0)[0])
    return np.array(losses)


@pytest.fixture(scope="module")
def demo_pairs():
    """300 random (site, point) pairs within 12 km on the demo DEM (a 60 km mountain region)."""
    terrain = read_terrain(DEMO_DEM, "EPSG:32649")
    tx, rx_x, rx_y = random_links(terrain, 1812, 30, 10, 8000.0)
    rx_x[:3], rx_y[:3] = tx.x_m[0] + np.array([0.0, 3.0, 40.0]), tx.y_m[0]  # at the mast's foot
    pair_tx, pair_rx = pairs_within_range(tx.x_m, tx.y_m, rx_x, rx_y, 12000.0)
    return terrain, tx, rx_x, rx_y, pair_tx, pair_rx


@pytest.mark.parametrize("params", [
    {"delta_n": 45.0, "n0": 325.0},
    {"time_pct": 10.0, "location_pct": 90.0, "location_sigma_db": 5.5, "delta_n": 60.0,
     "n0": 340.0},
])
def test_the_kernel_equals_p1812_loss_on_real_terrain(tmp_path, demo_pairs, params):
    terrain, tx, rx_x, rx_y, pair_tx, pair_rx = demo_pairs
    assert len(pair_tx) >= 300
    tech = _load_with(tmp_path, params, frequency_mhz=1800).technologies[0]
    got, los = p1812_path_loss_db(terrain, tx, rx_x, rx_y, 1.5, pair_tx, pair_rx, tech)
    want = _reference_loss(terrain, tx, rx_x, rx_y, pair_tx, pair_rx, tech)
    assert np.abs(got - want).max() < 0.01
    assert los.any() and not los.all()  # mountains: both kinds of path were exercised


# --- the ITU-R maps ---------------------------------------------------------------------------

def _write_maps(folder: Path, delta_n: float, n0: float) -> Path:
    """Uniform stand-ins of DN50.TXT and N050.TXT in the ITU grid (121 x 241 values)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in (("DN50", delta_n), ("N050", n0)):
        np.savetxt(folder / f"{name}.TXT", np.full((121, 241), value), fmt="%.3f")
    return folder


def _tiny_region(folder: Path, tech=TECH_P1812, **scenario) -> Path:
    """3 km x 6 km valley with a ridge, two masts, three villages, 4G only."""
    return write_region(folder, ridge_dem(100, 200), technologies=(tech,),
                        villages=[village("V1", 1200, 1500), village("V2", 4800, 1500),
                                  village("V3", 2500, 300, poverty=False)],
                        candidates=[candidate("S1", 1500, 1400, techs="4G"),
                                    candidate("S2", 5200, 1600, techs="4G", height=40.0)],
                        **scenario)


def test_delta_n_and_n0_come_from_the_maps_at_the_region_centre(tmp_path):
    maps = _write_maps(tmp_path / "maps", 52.0, 331.0)
    tech = dict(TECH_P1812, p1812={"time_pct": 50, "n0": 320})
    path = _tiny_region(tmp_path / "region", tech,
                        coverage={"raster_resolution_m": 150, "itu_maps_dir": str(maps)})
    scenario = load_scenario(path)
    assert scenario.coverage.itu_maps_dir == maps.resolve()
    assert scenario.technologies[0].p1812.delta_n is None
    resolved = resolve_itu_maps(scenario, read_region(scenario).terrain)
    assert resolved.technologies[0].p1812.delta_n == pytest.approx(52.0)
    assert resolved.technologies[0].p1812.n0 == 320.0  # the scenario's own value is kept
    assert compute(scenario).coverage.level_dbm.nnz > 0


def test_a_missing_map_file_is_an_input_error(tmp_path):
    path = _tiny_region(tmp_path, dict(TECH_P1812, p1812={}),
                        coverage={"itu_maps_dir": str(tmp_path / "nowhere")})
    with pytest.raises(InputError, match="DN50.TXT not found"):
        compute(load_scenario(path))


# --- cache key --------------------------------------------------------------------------------

@pytest.mark.parametrize("key, value", [("time_pct", 10), ("location_pct", 90),
                                        ("location_sigma_db", 4.0), ("delta_n", 50),
                                        ("n0", 330)])
def test_the_cache_key_changes_with_each_p1812_parameter(tmp_path, key, value):
    path = _tiny_region(tmp_path)
    before = coverage_key(load_scenario(path))
    assert coverage_key(load_scenario(path)) == before
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["technologies"][0]["p1812"][key] = value
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert coverage_key(load_scenario(path)) != before


def test_the_cache_key_follows_the_maps_contents_not_their_folder(tmp_path):
    path = _tiny_region(tmp_path / "region", dict(TECH_P1812, p1812={}))
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))

    def key(maps: Path) -> str:
        doc["coverage"] = {"itu_maps_dir": str(maps)}
        path.write_text(yaml.safe_dump(doc), encoding="utf-8")
        return coverage_key(load_scenario(path))

    first = key(_write_maps(tmp_path / "one", 45.0, 325.0))
    assert key(_write_maps(tmp_path / "two", 45.0, 325.0)) == first  # moved, same contents
    assert key(_write_maps(tmp_path / "two", 47.0, 325.0)) != first


# --- the coverage engine and whole runs -------------------------------------------------------

def test_p1812_replaces_the_empirical_model_and_deygout(tmp_path):
    levels = []
    for name, tech in (("p1812", TECH_P1812), ("rma", TECH_4G)):
        scenario = load_scenario(_tiny_region(tmp_path / name, tech))
        region = read_region(scenario)
        demand = build_demand(region, scenario.demand)
        levels.append(build_coverage(region.terrain, region.candidates, demand,
                                     scenario.technologies, scenario.coverage, 1.5))
    p1812, rma = levels
    assert p1812.options.equals(rma.options) and p1812.in_range.any()
    np.testing.assert_array_equal(p1812.in_range, rma.in_range)
    reached = p1812.in_range
    assert np.isfinite(p1812.best_level_dbm[reached]).all()
    assert not np.allclose(p1812.best_level_dbm[reached], rma.best_level_dbm[reached], atol=0.1)


def test_steps_equal_one_call_for_p1812(tmp_path):
    scenario = load_scenario(_tiny_region(tmp_path))
    region = read_region(scenario)
    demand = build_demand(region, scenario.demand)
    args = (region.terrain, region.candidates, demand, scenario.technologies, scenario.coverage,
            1.5)
    whole, steps = build_coverage(*args), build_coverage_in_steps(*args)
    assert (whole.level_dbm != steps.level_dbm).nnz == 0
    np.testing.assert_array_equal(whole.best_level_dbm, steps.best_level_dbm)


def test_a_p1812_scenario_runs_end_to_end(tmp_path):
    path = _tiny_region(tmp_path / "region")
    run = compute(load_scenario(path))
    summary = write_outputs(run, tmp_path / "out")
    assert (tmp_path / "out" / "map.html").is_file() and (tmp_path / "out" / "coverage.tif").is_file()
    written = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert written["solver"] == summary["solver"]
    assert np.isfinite(run.level_dbm).any()


def test_the_demo_p1812_variant_differs_from_the_demo_only_in_its_4g_model():
    demo = load_scenario(DEMO_P1812.with_name("scenario.yaml"))
    variant = load_scenario(DEMO_P1812)
    four_g = variant.technology("4G-1800")
    assert four_g.model == "p1812" and (four_g.p1812.delta_n, four_g.p1812.n0) == (45.0, 325.0)
    assert variant.technology("5G-3500") == demo.technology("5G-3500")
    assert variant.coverage == demo.coverage and variant.objective == demo.objective
    assert read_region(variant).crs.to_epsg() == pyproj.CRS(CRS).to_epsg()


def test_validate_checks_the_itu_maps(tmp_path):
    path = _tiny_region(tmp_path, dict(TECH_P1812, p1812={}),
                        coverage={"itu_maps_dir": str(tmp_path / "maps")})
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and "DN50.TXT not found" in result.output
    _write_maps(tmp_path / "maps", 45.0, 325.0)
    assert CliRunner().invoke(app, ["validate", str(path)]).exit_code == 0

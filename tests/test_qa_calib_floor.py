"""Drive tests as a TEMS/Nemo-like tool exports them: English headers (Longitude, Latitude,
Site, Technology, RSRP, PCI, EARFCN) and LTE's reporting floor, -140 dBm, written wherever the
handset heard -140 dBm or less (3GPP TS 36.133 RSRP_00). The offsets must match an independent least-squares
fit of the same measurements before the handset clipped them."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import yaml
from typer.testing import CliRunner

from regions import CRS, TECH_4G, X0, Y0, candidate, village, write_land_cover, write_region
from siting.calibrate import predict_measurements
from siting.cli import app
from siting.config import load_scenario
from siting.io import read_region

runner = CliRunner()
CELL_M, ROWS, COLS = 30.0, 100, 120
#: The truth: dB each land-cover class adds to the engine's prediction; the noise [dB].
TRUE_OFFSETS_DB = {"tree_cover": 4.0, "cropland": -3.0, "built_up": 1.5}
NOISE_DB = 6.0
FLOOR_DBM = -140.0  # LTE's RSRP_00


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    """Rolling hills (3.6 x 3 km): forest west, cropland, a town east; three 4G sites."""
    folder = tmp_path_factory.mktemp("floor")
    rows, cols = np.mgrid[0:ROWS, 0:COLS]
    dem = (400 + 25 * np.sin(rows / 9.0) * np.cos(cols / 13.0)).astype(np.float32)
    path = write_region(folder, dem, [village("V1", 1800, 1500)],
                        [candidate("A", 600, 600, height=35.0), candidate("B", 1800, 2400),
                         candidate("C", 3000, 900, height=25.0)], technologies=(TECH_4G,))
    codes = np.full((ROWS, COLS), 40, np.uint8)
    codes[:, :40], codes[:, 80:] = 10, 50
    write_land_cover(path, codes, CELL_M)
    return path


@pytest.fixture(scope="module")
def drive_test(region):
    """4000 measurements: the engine's prediction plus the class offset plus Gaussian noise
    (the true levels), and the export, which writes -140 for every level at or below it."""
    rng = np.random.default_rng(11)
    n = 4000
    x = X0 + rng.uniform(CELL_M, (COLS - 1) * CELL_M, n)
    y = Y0 - rng.uniform(CELL_M, (ROWS - 1) * CELL_M, n)
    sites = rng.choice(["A", "B", "C"], n)
    scenario = load_scenario(region)
    frame = gpd.GeoDataFrame({"site_id": sites, "technology": TECH_4G["name"]},
                             geometry=gpd.points_from_xy(x, y), crs=CRS)
    predicted, classes = predict_measurements(scenario, read_region(scenario), frame)
    level = predicted + np.array([TRUE_OFFSETS_DB[c] for c in classes]) + rng.normal(0, NOISE_DB, n)
    lon, lat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x, y)
    export = pd.DataFrame({"Time": "10:00:00.000", "Longitude": lon, "Latitude": lat,
                           "Site": sites, "Technology": TECH_4G["name"], "PCI": 101,
                           "EARFCN": 1850, "RSRP": np.round(np.maximum(level, FLOOR_DBM), 2)})
    path = region.parent / "tems_export.csv"
    export.to_csv(path, index=False)
    return path, predicted, classes, level


def _least_squares_offsets(errors_db, classes) -> dict[str, float]:
    """Ordinary least squares of ``errors = offset_c`` (one indicator column per class)."""
    names = sorted(set(classes))
    design = np.array([[c == name for name in names] for c in classes], float)
    solution, *_ = np.linalg.lstsq(design, errors_db, rcond=None)
    return dict(zip(names, solution))


def test_measurements_at_the_reporting_floor_do_not_bias_the_offsets(region, drive_test, tmp_path):
    path, predicted, classes, level = drive_test
    at_floor = int(np.sum(pd.read_csv(path)["RSRP"] <= FLOOR_DBM))
    assert at_floor > 0.1 * len(level)  # weak coverage: the floor matters here
    result = runner.invoke(app, ["calibrate", str(region), str(path), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "calibration_report.json").read_text())
    fitted = report["offsets_db"][TECH_4G["name"]]
    independent = _least_squares_offsets(level - predicted, classes)  # the unclipped levels
    for name, truth in TRUE_OFFSETS_DB.items():
        assert independent[name] == pytest.approx(truth, abs=0.4)
        assert fitted[name] == pytest.approx(independent[name], abs=0.5), (name, fitted)
    assert report["n_at_floor"] == {TECH_4G["name"]: at_floor}
    assert report["reporting_floor_dbm"] == {TECH_4G["name"]: FLOOR_DBM}
    assert f"{at_floor} measurement(s) at the handsets' reporting floor (-140 dBm" in result.output
    held = report["held_out"]
    assert abs(held["mean_error_after_db"]) < 0.5
    assert held["rmse_after_db"] < held["rmse_before_db"]


def test_the_report_says_how_many_measurements_each_offset_rests_on(region, drive_test,
                                                                    tmp_path):
    """The offsets were printed and written without the number of measurements each was
    fitted on: an offset of a class with three measurements looked as sure as one with 700."""
    path, _, classes, _ = drive_test
    result = runner.invoke(app, ["calibrate", str(region), str(path), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "calibration_report.json").read_text())
    fitted = report["n_train_by_class"][TECH_4G["name"]]
    held = report["held_out_by_class"][TECH_4G["name"]]
    names, counts = np.unique(classes.astype(str), return_counts=True)
    assert {name: fitted[name] + held[name]["n"] for name in fitted} == dict(
        zip(names.tolist(), counts.tolist()))
    assert sum(fitted.values()) == report["n_train"]
    assert "fitted on" in result.output
    for name, n in fitted.items():
        assert any(name in line and f" {n} " in line for line in result.output.splitlines())


def test_a_class_heard_only_at_the_floor_gets_no_offset_of_its_own(region, drive_test, tmp_path):
    """Every forest measurement at -140 dBm says only that the forest levels were at most
    that; the fit drove the forest offset to any low value (about -100 dB) and wrote it."""
    path, _, classes, _ = drive_test
    export = pd.read_csv(path)
    export.loc[classes == "tree_cover", "RSRP"] = FLOOR_DBM
    forest_at_floor = tmp_path / "forest_at_floor.csv"
    export.to_csv(forest_at_floor, index=False)
    result = runner.invoke(app, ["calibrate", str(region), str(forest_at_floor), "--out",
                                 str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    written = yaml.safe_load((tmp_path / "out" / "calibration.yaml").read_text())
    offsets = written["offsets_db"][TECH_4G["name"]]
    assert set(offsets) == {"cropland", "built_up"}  # forest users get the model offset
    for name in offsets:
        assert offsets[name] == pytest.approx(TRUE_OFFSETS_DB[name], abs=0.5)
    assert written["model_offset_db"][TECH_4G["name"]] in offsets.values()


def test_a_technology_heard_only_at_the_floor_is_one_error_line(region, drive_test, tmp_path):
    path, *_ = drive_test
    export = pd.read_csv(path).assign(RSRP=FLOOR_DBM)
    all_at_floor = tmp_path / "no_signal.csv"
    export.to_csv(all_at_floor, index=False)
    result = runner.invoke(app, ["calibrate", str(region), str(all_at_floor), "--out",
                                 str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    (line,) = [ln for ln in result.output.splitlines() if "no_signal.csv" in ln]
    assert "row 2, row 3" in line and "field 'rsrp_dbm'" in line
    assert f"every measurement of {TECH_4G['name']} is at the handsets' reporting floor" in line
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_measurements_far_from_the_fit_are_named_as_outliers(region, drive_test, tmp_path):
    """25 rows logged against the wrong serving site read 35 dB stronger than the model says:
    the robust fit shrugged them off without a word; they are now counted and the largest
    named, for the engineer to check."""
    path, _, _, level = drive_test
    export = pd.read_csv(path)
    export.insert(0, "measurement_id", [f"M{i}" for i in range(len(export))])
    wrong = np.flatnonzero((level > -110.0) & (level < -80.0))[:25]
    export.loc[wrong, "RSRP"] += 35.0
    export.loc[wrong, "measurement_id"] = [f"WRONG-{i}" for i in range(len(wrong))]
    mixed = tmp_path / "wrong_sites.csv"
    export.to_csv(mixed, index=False)
    result = runner.invoke(app, ["calibrate", str(region), str(mixed), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "calibration_report.json").read_text())
    far = report["outliers"][TECH_4G["name"]]
    assert len(wrong) <= far["n"] <= len(wrong) + 15  # Gaussian noise adds a few beyond 3 sigma
    assert 3 * 0.8 * NOISE_DB < far["threshold_db"] < 3 * 1.2 * NOISE_DB
    assert all(name.startswith("WRONG-") for name in far["largest_db"])
    assert all(abs(error - 35.0) < 3 * NOISE_DB for error in far["largest_db"].values())
    for name, truth in TRUE_OFFSETS_DB.items():  # Huber: the fit itself is barely moved
        assert report["offsets_db"][TECH_4G["name"]][name] == pytest.approx(truth, abs=0.6)
    line = next(ln for ln in result.output.splitlines() if "from the fit" in ln)
    assert f"{far['n']} measurement(s) more than" in line and "WRONG-" in line

"""siting calibrate: offsets recovered from synthetic drive tests drawn from a known truth (the
engine's own prediction, plus an offset per land-cover class, plus 6 dB Gaussian noise), the
files it writes, the scenario that includes them, and bad measurement files."""

import json

import numpy as np
import pandas as pd
import pyproj
import pytest
import yaml
from regions import CRS, TECH_4G, X0, Y0, candidate, village, write_land_cover, write_region
from typer.testing import CliRunner

from siting.calibrate import predict_measurements
from siting.cli import app
from siting.config import load_scenario
from siting.io import read_region

runner = CliRunner()
CELL_M, ROWS, COLS = 30.0, 100, 120
#: The truth: dB each class adds to the engine's prediction.
TRUE_OFFSETS_DB = {"tree_cover": 4.0, "cropland": -3.0, "built_up": 1.5}
NOISE_DB = 6.0
N_MEASUREMENTS = 14000
#: Points are drawn where the true level is above this [dBm], so that the noise never takes a
#: measurement out of the -160..-20 dBm a file may hold (dropping those would bias the truth).
LOWEST_TRUTH_DBM = -125.0
#: A slope the engine lacks [dB per decade of distance]: the region's levels fall faster.
TRUE_SLOPE_DB = -9.0


@pytest.fixture(scope="module")
def region_dir(tmp_path_factory):
    """Rolling hills (3.6 x 3 km) with forest in the west, cropland in the middle, a town in
    the east, three sites; scenario.yaml reads landcover.tif."""
    folder = tmp_path_factory.mktemp("calibrate")
    rows, cols = np.mgrid[0:ROWS, 0:COLS]
    dem = 400 + 25 * np.sin(rows / 9.0) * np.cos(cols / 13.0)
    path = write_region(folder, dem.astype(np.float32), [village("V1", 1800, 1500)],
                        [candidate("A", 600, 600, height=35.0), candidate("B", 1800, 2400),
                         candidate("C", 3000, 900, height=25.0)], technologies=(TECH_4G,))
    codes = np.full((ROWS, COLS), 40, np.uint8)
    codes[:, :40] = 10
    codes[:, 80:] = 50
    write_land_cover(path, codes, CELL_M)
    return folder


def _write_csv(path, x_m, y_m, **columns):
    lon, lat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x_m, y_m)
    pd.DataFrame({"lon": lon, "lat": lat, **columns}).to_csv(path, index=False)


@pytest.fixture(scope="module")
def synthetic(region_dir):
    """Measurements drawn from the truth, written as a lon/lat CSV (its path)."""
    return _draw_drive_test(region_dir, region_dir / "drive_test.csv")


@pytest.fixture(scope="module")
def sloped(region_dir):
    """Measurements drawn from a truth whose level falls :data:`TRUE_SLOPE_DB` per decade of
    distance faster than the engine's, from 1 km."""
    return _draw_drive_test(region_dir, region_dir / "drive_test_sloped.csv",
                            slope_db=TRUE_SLOPE_DB)


def _draw_drive_test(region_dir, path, slope_db=0.0):
    """The engine's prediction at random points of the region, plus the true class offsets,
    plus ``slope_db`` x log10(distance / 1 km), plus noise, written as a lon/lat CSV."""
    rng = np.random.default_rng(7)
    x = X0 + rng.uniform(CELL_M, (COLS - 1) * CELL_M, N_MEASUREMENTS)
    y = Y0 - rng.uniform(CELL_M, (ROWS - 1) * CELL_M, N_MEASUREMENTS)
    sites = rng.choice(["A", "B", "C"], N_MEASUREMENTS)
    scenario = load_scenario(region_dir / "scenario.yaml")
    region = read_region(scenario)
    import geopandas as gpd
    frame = gpd.GeoDataFrame({"site_id": sites, "technology": TECH_4G["name"]},
                             geometry=gpd.points_from_xy(x, y), crs=CRS)
    predicted, classes = predict_measurements(scenario, region, frame)
    serving = region.candidates.loc[frame["site_id"]]
    distance_km = np.hypot(serving.geometry.x.to_numpy() - x,
                           serving.geometry.y.to_numpy() - y) / 1e3
    truth = (predicted + np.array([TRUE_OFFSETS_DB[c] for c in classes])
             + slope_db * np.log10(np.maximum(distance_km, 0.1)))
    rsrp = truth + rng.normal(0.0, NOISE_DB, N_MEASUREMENTS)
    keep = truth > LOWEST_TRUTH_DBM
    _write_csv(path, x[keep], y[keep], site_id=sites[keep], technology=TECH_4G["name"],
               rsrp_dbm=rsrp[keep])
    return path


def test_offsets_and_noise_are_recovered(region_dir, synthetic, tmp_path):
    out = tmp_path / "calib"
    result = runner.invoke(app, ["calibrate", str(region_dir / "scenario.yaml"), str(synthetic),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "industry practice" in result.output and "standard deviation" in result.output
    report = json.loads((out / "calibration_report.json").read_text())
    offsets = report["offsets_db"][TECH_4G["name"]]
    for name, truth in TRUE_OFFSETS_DB.items():
        assert offsets[name] == pytest.approx(truth, abs=0.5)
    held = report["held_out"]
    assert held["rmse_after_db"] == pytest.approx(NOISE_DB, abs=0.5)
    assert held["rmse_before_db"] > held["rmse_after_db"] + 0.5
    assert abs(held["mean_error_after_db"]) < 0.5
    assert set(report["held_out_by_site"]) == {"A", "B", "C"}
    assert set(report["held_out_by_class"][TECH_4G["name"]]) == set(TRUE_OFFSETS_DB)
    assert held["n"] + report["n_train"] == len(pd.read_csv(synthetic))


@pytest.mark.parametrize("drive_test", ["synthetic", "sloped"])
def test_a_scenario_including_the_calibration_adds_its_offsets(region_dir, drive_test, tmp_path,
                                                              request):
    synthetic = request.getfixturevalue(drive_test)
    out = tmp_path / "calib"
    assert runner.invoke(app, ["calibrate", str(region_dir / "scenario.yaml"), str(synthetic),
                               "--out", str(out), "--quiet"]).exit_code == 0
    doc = yaml.safe_load((region_dir / "scenario.yaml").read_text())
    doc["coverage"]["calibration"] = str(out / "calibration.yaml")
    calibrated = region_dir / "calibrated.yaml"
    calibrated.write_text(yaml.safe_dump(doc, sort_keys=False))
    document = yaml.safe_load((out / "calibration.yaml").read_text())
    written = document["offsets_db"]
    scenario = load_scenario(calibrated)
    region = read_region(scenario)
    frame = pd.read_csv(synthetic).head(300)
    import geopandas as gpd
    points = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame.lon, frame.lat),
                              crs="EPSG:4326").to_crs(CRS)
    raw, classes = predict_measurements(scenario, region, points)  # calibration left out
    from siting.coverage import Transmitters, pair_levels
    sites = region.candidates.loc[points["site_id"]]
    tx = Transmitters(sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy(),
                      sites["antenna_height_m"].to_numpy(float))
    pairs = np.arange(len(points), dtype=np.int32)
    level, _ = pair_levels(region.terrain, tx, points.geometry.x.to_numpy(),
                           points.geometry.y.to_numpy(), 1.5, pairs, pairs,
                           scenario.technologies[0], scenario.coverage)
    expected = np.array([written[TECH_4G["name"]][c] for c in classes])
    slope = document["distance_slopes"][TECH_4G["name"]]
    distance_km = np.hypot(tx.x_m - points.geometry.x.to_numpy(),
                           tx.y_m - points.geometry.y.to_numpy()) / 1e3
    held_km = np.clip(np.maximum(distance_km, 0.1), slope["min_km"], slope["max_km"])
    expected += slope["db_per_decade"] * np.log10(held_km / slope["reference_km"])
    np.testing.assert_allclose(level - raw, expected, atol=1e-3)


def _calibrate_report(region_dir, drive_test, out, *flags):
    result = runner.invoke(app, ["calibrate", str(region_dir / "scenario.yaml"), str(drive_test),
                                 "--out", str(out), *flags])
    assert result.exit_code == 0, result.output
    return result.output, json.loads((out / "calibration_report.json").read_text())


def test_a_distance_slope_the_engine_lacks_is_recovered(region_dir, sloped, tmp_path):
    """Levels falling 9 dB per decade faster than the engine's: offsets alone leave the near
    links too weak and the far ones too strong, by the same 9 dB per decade; the slope takes
    it out (the K2 of a tuned model)."""
    tech = TECH_4G["name"]
    output, report = _calibrate_report(region_dir, sloped, tmp_path / "slope")
    slope = report["distance_slopes"][tech]
    assert slope["db_per_decade"] == pytest.approx(TRUE_SLOPE_DB, abs=0.8)
    assert f"{tech}: distance slope {slope['db_per_decade']:+.2f} dB per decade" in output
    at_reference_db = TRUE_SLOPE_DB * np.log10(slope["reference_km"])  # the truth's, from 1 km
    for name, truth in TRUE_OFFSETS_DB.items():
        assert report["offsets_db"][tech][name] == pytest.approx(truth + at_reference_db, abs=0.6)
    assert report["held_out"]["rmse_after_db"] == pytest.approx(NOISE_DB, abs=0.5)
    _, flat = _calibrate_report(region_dir, sloped, tmp_path / "flat", "--no-slope")
    assert flat["distance_slopes"] == {}
    near, far = "0-1 km", "2-5 km"
    for bands, most_db in ((report["held_out_by_distance"][tech], 0.8),
                           (flat["held_out_by_distance"][tech], None)):
        trend_db = bands[near]["mean_error_after_db"] - bands[far]["mean_error_after_db"]
        if most_db is None:
            assert trend_db > 3.0  # offsets only: errors still fall with distance
        else:
            assert abs(trend_db) < most_db


def test_distances_spanning_too_little_fit_no_slope(region_dir, sloped, tmp_path):
    """Measurements 1.0-1.6 km from their sites: no slope can be told from the offset there."""
    frame = pd.read_csv(sloped)
    points = pd.DataFrame(dict(zip(("x", "y"), pyproj.Transformer.from_crs(
        "EPSG:4326", CRS, always_xy=True).transform(frame.lon, frame.lat))))
    region = read_region(load_scenario(region_dir / "scenario.yaml"))
    sites = region.candidates.loc[frame["site_id"]]
    distance_km = np.hypot(sites.geometry.x.to_numpy() - points.x,
                           sites.geometry.y.to_numpy() - points.y) / 1e3
    ring = tmp_path / "ring.csv"
    frame[(distance_km > 1.0) & (distance_km < 1.6)].to_csv(ring, index=False)
    output, report = _calibrate_report(region_dir, ring, tmp_path / "ring")
    assert report["distance_slopes"] == {}
    assert "no distance slope: the 10th to 90th percentile of its distances span less" in output
    written = yaml.safe_load((tmp_path / "ring" / "calibration.yaml").read_text())
    assert written["distance_slopes"] == {}


def _validate_with_calibration(region_dir, tmp_path, document: dict):
    """``siting validate`` of the region's scenario including a calibration.yaml holding
    ``document``."""
    calibration = tmp_path / "calibration.yaml"
    calibration.write_text(yaml.safe_dump(document))
    doc = yaml.safe_load((region_dir / "scenario.yaml").read_text())
    doc["coverage"]["calibration"] = str(calibration)
    doc["inputs"] = {key: str(region_dir / value) for key, value in doc["inputs"].items()}
    path = tmp_path / "calibrated.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return runner.invoke(app, ["validate", str(path)])


def test_a_calibration_file_with_a_bad_slope_names_its_field(region_dir, tmp_path):
    result = _validate_with_calibration(region_dir, tmp_path, {
        "offsets_db": {TECH_4G["name"]: {"unclassified": 1.0}},
        "distance_slopes": {TECH_4G["name"]: {"db_per_decade": -5.0, "reference_km": 1.0,
                                              "min_km": 3.0, "max_km": 0.5}}})
    assert result.exit_code == 2, result.output
    assert f"distance_slopes.{TECH_4G['name']}: min_km (3) must not exceed max_km (0.5)" \
        in result.output


BAD_ROWS = {
    "site_id": dict(site_id="NOPE"),
    "technology": dict(technology="6G-9000"),
    "rsrp_dbm": dict(rsrp_dbm=-10.0),
    "geometry": dict(x_m=X0 - 5000.0),
}


@pytest.mark.parametrize("field", list(BAD_ROWS))
def test_a_bad_measurement_file_names_file_row_and_field(region_dir, tmp_path, field):
    rows = pd.DataFrame({"x_m": X0 + np.array([900.0, 1500.0, 2100.0]),
                         "y_m": Y0 - np.array([900.0, 1200.0, 1500.0]),
                         "site_id": ["A", "B", "C"], "technology": TECH_4G["name"],
                         "rsrp_dbm": [-90.0, -95.0, -100.0]})
    for column, value in BAD_ROWS[field].items():
        rows.loc[1, column] = value
    path = tmp_path / "bad.csv"
    _write_csv(path, rows.x_m.to_numpy(), rows.y_m.to_numpy(), site_id=rows.site_id,
               technology=rows.technology, rsrp_dbm=rows.rsrp_dbm)
    result = runner.invoke(app, ["calibrate", str(region_dir / "scenario.yaml"), str(path),
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    line = next(ln for ln in result.output.splitlines() if "bad.csv" in ln)
    assert "row 3" in line and f"'{field}'" in line  # the spreadsheet row: the header is row 1
    assert not (tmp_path / "o" / "calibration.yaml").exists()


def _drive_test_export(synthetic, path, rsrp_column="RSRP（dBm）"):
    """The synthetic drive test as a drive-test tool's export and a planner's sheet write it:
    Chinese headers, positions in GCJ-02 (copied from Amap), RSRP as text with its unit, GB18030."""
    from siting.china_crs import wgs84_to_gcj02
    frame = pd.read_csv(synthetic)
    lon, lat = wgs84_to_gcj02(frame.lon.to_numpy(), frame.lat.to_numpy())
    pd.DataFrame({"时间": "2026-05-01 10:00:00", "经度": lon, "纬度": lat, "站号": frame.site_id,
                  "制式": frame.technology, "PCI": 101,
                  rsrp_column: [f"{v:.2f} dBm" for v in frame.rsrp_dbm]}
                 ).to_csv(path, index=False, encoding="gb18030")
    return path


def test_a_drive_test_export_with_chinese_headers_in_gcj02_gives_the_same_offsets(
        region_dir, synthetic, tmp_path):
    scenario = str(region_dir / "scenario.yaml")
    assert runner.invoke(app, ["calibrate", scenario, str(synthetic), "--out",
                               str(tmp_path / "plain"), "--quiet"]).exit_code == 0
    export = _drive_test_export(synthetic, tmp_path / "路测.csv")
    result = runner.invoke(app, ["calibrate", scenario, str(export), "--crs", "GCJ-02",
                                 "--out", str(tmp_path / "export"), "--quiet"])
    assert result.exit_code == 0, result.output
    plain = json.loads((tmp_path / "plain" / "calibration_report.json").read_text())
    export = json.loads((tmp_path / "export" / "calibration_report.json").read_text())
    for name, truth in TRUE_OFFSETS_DB.items():
        assert export["offsets_db"][TECH_4G["name"]][name] == pytest.approx(truth, abs=0.5)
        assert (export["offsets_db"][TECH_4G["name"]][name]
                == pytest.approx(plain["offsets_db"][TECH_4G["name"]][name], abs=0.02))
    assert export["held_out"]["n"] == plain["held_out"]["n"]


def test_a_drive_test_export_without_an_rsrp_column_names_the_names_accepted(
        region_dir, synthetic, tmp_path):
    export = _drive_test_export(synthetic, tmp_path / "路测.csv", rsrp_column="信号强度")
    result = runner.invoke(app, ["calibrate", str(region_dir / "scenario.yaml"), str(export),
                                 "--crs", "GCJ-02", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    line = next(ln for ln in result.output.splitlines() if "路测.csv" in ln)
    assert "'rsrp_dbm'" in line and "RSRP" in line and "信号强度" in line
    assert "Traceback" not in result.output and not (tmp_path / "o").exists()


def _two_technology_scenario(region_dir):
    from regions import TECH_5G
    doc = yaml.safe_load((region_dir / "scenario.yaml").read_text())
    doc["technologies"] = [TECH_4G, TECH_5G]
    path = region_dir / "two_technologies.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _few_measurements(synthetic, n_4g, rows_5g):
    """``n_4g`` rows of the synthetic drive test on 4G, then 5G at positions ``rows_5g`` of
    the file (the level is the 4G one: only which rows are fitted matters here)."""
    frame = pd.read_csv(synthetic).head(n_4g + len(rows_5g)).copy()
    frame["technology"] = TECH_4G["name"]
    frame.loc[list(rows_5g), "technology"] = "5G-3500"
    return frame


def test_every_technology_is_fitted_and_held_out_however_few_its_measurements(
        region_dir, synthetic, tmp_path):
    """Two 5G measurements among 30 4G ones, at the rows a split drawn over all measurements
    (seed 0) would both hold out: the split is drawn per technology, so 5G gets an offset."""
    n = 32
    held_out = np.random.default_rng(0).permutation(n)[round(0.7 * n):]
    path = tmp_path / "few.csv"
    _few_measurements(synthetic, n - 2, held_out[:2]).to_csv(path, index=False)
    result = runner.invoke(app, ["calibrate", str(_two_technology_scenario(region_dir)), str(path),
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "o" / "calibration_report.json").read_text())
    assert set(report["offsets_db"]) == {TECH_4G["name"], "5G-3500"}
    assert {tech: sum(c["n"] for c in classes.values())
            for tech, classes in report["held_out_by_class"].items()} == {TECH_4G["name"]: 9,
                                                                         "5G-3500": 1}


def test_a_technology_with_one_measurement_is_one_error_line(region_dir, synthetic, tmp_path):
    path = tmp_path / "one.csv"
    _few_measurements(synthetic, 30, [4]).to_csv(path, index=False)
    result = runner.invoke(app, ["calibrate", str(_two_technology_scenario(region_dir)), str(path),
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    line = next(ln for ln in result.output.splitlines() if "one.csv" in ln)
    assert ": row 6: field 'technology'" in line and "5G-3500" in line  # the sheet's 6th row
    assert "Traceback" not in result.output and not (tmp_path / "o").exists()


@pytest.mark.parametrize("std_db, word", [(3.9, "below"), (6.0, "within"), (7.5, "within"),
                                          (9.2, "above")])
def test_the_verdict_places_the_standard_deviation_against_the_practice_range(std_db, word):
    """Practice is 6-8 dB: 3.9 dB is below it (it was printed "within practice: 6-8 dB")."""
    from siting.calibrate import practice_verdict
    line = practice_verdict({"mean_error_after_db": 0.2, "std_after_db": std_db})
    assert f"standard deviation {std_db:.2f} dB ({word} practice: 6-8 dB)" in line


def test_a_calibration_naming_a_technology_the_scenario_lacks_is_warned(region_dir, tmp_path):
    """A technology renamed after calibrating: its offsets would silently apply to nothing."""
    result = _validate_with_calibration(region_dir, tmp_path, {
        "offsets_db": {"LTE1800": {"unclassified": 4.0}}, "model_offset_db": {"LTE1800": 4.0}})
    assert result.exit_code == 0, result.output
    warning = next(ln for ln in result.output.splitlines() if "coverage.calibration" in ln)
    assert "LTE1800" in warning and "not applied" in warning and TECH_4G["name"] in warning

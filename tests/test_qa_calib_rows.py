"""A drive-test export with the rows a real one holds: a site not in the candidate list, a
point far outside the region, a technology the scenario does not plan, a level no handset
reports, a 5G measurement of a 4G-only site. One line per problem naming the file, the rows,
the field and what to do; exit 2; nothing written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj
from typer.testing import CliRunner

from regions import CRS, TECH_4G, TECH_5G, X0, Y0, candidate, ridge_dem, village, write_region
from siting.cli import app

runner = CliRunner()


def test_every_bad_row_kind_is_one_line_with_what_to_do(tmp_path):
    scenario = write_region(tmp_path / "region", ridge_dem(60, 60, ridge_col=30),
                            [village("V1", 300, 900)],
                            [candidate("A", 400, 400), candidate("B", 1400, 1300, techs="4G")],
                            technologies=(TECH_4G, TECH_5G))
    x = X0 + np.array([500.0, 600.0, 700.0, 800.0, 900.0, 1000.0, 1100.0, 60_000.0])
    y = Y0 - np.array([500.0, 600.0, 700.0, 800.0, 900.0, 1000.0, 1100.0, 900.0])
    lon, lat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x, y)
    export = pd.DataFrame({
        "Longitude": lon, "Latitude": lat, "PCI": 101, "EARFCN": 1850,
        "site_id": ["A", "A", "X9", "A", "B", "A", "A", "A"],
        "technology": ["4G-1800", "5G-3500", "4G-1800", "NB-IoT", "5G-3500", "4G-1800",
                       "4G-1800", "4G-1800"],
        "RSRP": [-95.0, -101.0, -99.0, -104.0, -88.0, 0.0, -97.0, -120.0]})
    path = tmp_path / "nemo_export.csv"
    export.to_csv(path, index=False)
    result = runner.invoke(app, ["calibrate", str(scenario), str(path), "--out",
                                 str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
    lines = [ln for ln in result.output.splitlines() if "nemo_export.csv" in ln]
    # the sheet's row numbers: the header is row 1
    expected = {"site_id": ("row 4", "add the site to the candidates"),
                "technology": ("row 5", "write one of these names"),
                "rsrp_dbm": ("row 7", "correct the levels"),
                "geometry": ("row 9", "extend inputs.dem")}
    for field, (row, action) in expected.items():
        line = next(ln for ln in lines if f"field '{field}'" in ln and action in ln)
        assert line.startswith("siting: error: ") and f": {row}: " in line
        assert "delete the rows" in line
    generation = next(ln for ln in lines if "generation" in ln)
    assert ": row 6: " in generation and "site's 'technologies'" in generation
    assert len(lines) == 5


def test_nr_levels_down_to_its_reporting_floor_are_read(tmp_path):
    """NR reports SS-RSRP down to -156 dBm (3GPP TS 38.133); a 5G drive test's cell-edge rows
    at -151..-156 dBm were refused as "not a level in -150..-20 dBm"."""
    scenario = write_region(tmp_path / "region", ridge_dem(60, 60, ridge_col=30),
                            [village("V1", 300, 900)], [candidate("A", 400, 400)],
                            technologies=(TECH_5G,))
    x = X0 + np.linspace(300.0, 1700.0, 8)
    y = Y0 - np.linspace(300.0, 1700.0, 8)
    lon, lat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x, y)
    rsrp = [-88.0, -95.0, -104.0, -118.0, -133.0, -151.5, -154.0, -156.0]
    pd.DataFrame({"经度": lon, "纬度": lat, "站号": "A", "制式": TECH_5G["name"],
                  "RSRP(dBm)": rsrp}).to_csv(tmp_path / "nr_drive.csv", index=False)
    result = runner.invoke(app, ["calibrate", str(scenario), str(tmp_path / "nr_drive.csv"),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "calibration.yaml").exists()
    assert f"{TECH_5G['name']}: 1 measurement(s) at the handsets' reporting floor (-156 dBm" \
        in result.output

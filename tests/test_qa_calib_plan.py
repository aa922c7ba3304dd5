"""A calibration changes the plan as its offsets say: the villages a calibrated scenario can
reach are those whose best uncalibrated level plus the offset still clears the threshold."""

from __future__ import annotations

import json

import numpy as np
import yaml
from typer.testing import CliRunner

from regions import TECH_4G, candidate, ridge_dem, village, write_region
from siting.cli import app
from siting.config import load_scenario
from siting.pipeline import compute

runner = CliRunner()


def test_a_calibrated_technology_changes_which_villages_the_plan_can_cover(tmp_path):
    path = write_region(tmp_path, ridge_dem(),
                        [village("V1", 1000, 3000), village("V2", 4500, 3000),
                         village("V3", 2500, 1000), village("V4", 5500, 5000)],
                        [candidate("S1", 1500, 3000), candidate("S2", 5000, 3500),
                         candidate("S3", 2000, 1500)], technologies=(TECH_4G,))
    best_dbm = compute(load_scenario(path)).coverage.best_level_dbm[:4]  # the villages' rows
    assert (best_dbm >= TECH_4G["rsrp_threshold_dbm"]).all()
    # an offset that takes the weakest village below the threshold, and no other
    weakest, second = np.sort(best_dbm)[:2]
    offset_db = float(TECH_4G["rsrp_threshold_dbm"] - (weakest + second) / 2)
    assert offset_db < 0
    (tmp_path / "calibration.yaml").write_text(yaml.safe_dump(
        {"offsets_db": {TECH_4G["name"]: {"unclassified": offset_db}},
         "model_offset_db": {TECH_4G["name"]: offset_db}}))
    doc = yaml.safe_load(path.read_text())
    doc["coverage"]["calibration"] = "calibration.yaml"
    calibrated = tmp_path / "calibrated.yaml"
    calibrated.write_text(yaml.safe_dump(doc, sort_keys=False))
    kpis = {}
    for name, scenario in (("plain", path), ("calibrated", calibrated)):
        result = runner.invoke(app, ["run", str(scenario), "--out", str(tmp_path / name),
                                     "--quiet", "--no-cache"])
        assert result.exit_code == 0, result.output
        kpis[name] = json.loads((tmp_path / name / "summary.json").read_text())["kpis"]
    reachable = int(np.sum(best_dbm + offset_db >= TECH_4G["rsrp_threshold_dbm"]))
    assert kpis["plain"]["mandatory_villages_reachable"] == 4
    assert kpis["calibrated"]["mandatory_villages_reachable"] == reachable == 3
    assert kpis["calibrated"]["mandatory_villages_covered"] == 3

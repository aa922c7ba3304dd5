"""A calibration fitted per land-cover class, included in a scenario that cannot apply its
class offsets (no ``inputs.land_cover``, or a class table without those names): every user
silently got the model offset; the scenario's check now says so."""

from __future__ import annotations

import numpy as np
import rasterio
import yaml
from affine import Affine
from typer.testing import CliRunner

from regions import CRS, TECH_4G, X0, Y0, candidate, ridge_dem, village, write_region
from siting.cli import app

runner = CliRunner()
CALIBRATION = {"offsets_db": {TECH_4G["name"]: {"tree_cover": 4.0, "cropland": -3.0}},
               "model_offset_db": {TECH_4G["name"]: -3.0}}


def _scenario(folder, *, land_cover: bool, classes: dict | None = None):
    path = write_region(folder, ridge_dem(60, 60, ridge_col=30), [village("V1", 300, 900)],
                        [candidate("A", 400, 400)], technologies=(TECH_4G,))
    (folder / "calibration.yaml").write_text(yaml.safe_dump(CALIBRATION))
    doc = yaml.safe_load(path.read_text())
    doc["coverage"]["calibration"] = "calibration.yaml"
    if land_cover:
        codes = np.full((60, 60), 40, np.uint8)
        codes[:, :20] = 10
        with rasterio.open(folder / "landcover.tif", "w", driver="GTiff", height=60, width=60,
                           count=1, dtype="uint8", crs=CRS, nodata=0,
                           transform=Affine(30.0, 0, X0, 0, -30.0, Y0)) as dst:
            dst.write(codes, 1)
        doc["inputs"]["land_cover"] = "landcover.tif"
    if classes:
        doc["land_cover_classes"] = classes
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _warnings(path) -> list[str]:
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    return [ln for ln in result.output.splitlines() if "land-cover class(es)" in ln]


def test_class_offsets_without_land_cover_are_warned(tmp_path):
    (line,) = _warnings(_scenario(tmp_path, land_cover=False))
    assert "cropland, tree_cover are not applied" in line and "no inputs.land_cover" in line
    assert "model_offset_db" in line


def test_class_offsets_of_another_class_table_are_warned(tmp_path):
    classes = {10: {"name": "forest", "clutter_height_m": 15, "p2108_type": "trees_forest"},
               40: {"name": "cropland", "clutter_height_m": 0, "p2108_type": "open_rural"}}
    (line,) = _warnings(_scenario(tmp_path, land_cover=True, classes=classes))
    assert "class(es) tree_cover are not applied" in line and "cropland, forest" in line


def test_class_offsets_the_land_cover_has_are_not_warned(tmp_path):
    assert _warnings(_scenario(tmp_path, land_cover=True)) == []

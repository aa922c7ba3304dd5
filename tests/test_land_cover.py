"""Land cover in the coverage engine: clutter heights on the profile, ITU-R P.2108 at the
receiver, the class raster read onto the DEM grid, the cache key and calibration offsets."""

from dataclasses import replace

import numpy as np
import pytest
import rasterio
import yaml
from affine import Affine
from regions import CRS, TECH_4G, X0, Y0, candidate, village, write_region

from siting.cache import coverage_key
from siting.config import (
    Calibration,
    CoverageSettings,
    P1812Settings,
    Technology,
    load_scenario,
)
from siting.coverage import Transmitters, path_levels
from siting.errors import InputError
from siting.io import read_region
from siting.landcover import WORLDCOVER_CLASSES, LandCover
from siting.terrain import Terrain

CELL_M = 30.0
TREE, CROP = 10, 40
#: ITU-R P.2108-1 §3.1 at 1.8 GHz, h = 1.5 m, trees/forest R = 15 m, w_s = 27 m, worked out in
#: test_clutter.py: J(8.689296) - 6.03.
FOREST_LOSS_1800_DB = 25.599036
TECH = Technology(**TECH_4G)


def _terrain(codes: np.ndarray | None, rows=60, cols=200) -> Terrain:
    land_cover = None if codes is None else LandCover.of_codes(codes, WORLDCOVER_CLASSES)
    return Terrain(np.full((rows, cols), 400.0, np.float32),
                   Affine(CELL_M, 0.0, X0, 0.0, -CELL_M, Y0), crs=CRS, land_cover=land_cover)


def _cell_xy(row: int, col: int) -> tuple[float, float]:
    return X0 + (col + 0.5) * CELL_M, Y0 - (row + 0.5) * CELL_M


def _levels(terrain, rx_cells, tech=TECH, settings=None):
    tx_x, tx_y = _cell_xy(30, 5)
    tx = Transmitters(np.array([tx_x]), np.array([tx_y]), np.array([30.0]))
    rx = np.array([_cell_xy(r, c) for r, c in rx_cells])
    return path_levels(terrain, tx, rx[:, 0], rx[:, 1], 1.5, tech,
                       settings or CoverageSettings()).level_dbm


def test_a_forest_receiver_loses_p2108s_loss_at_every_distance():
    codes = np.full((60, 200), CROP)
    forest_cells = [(20, 38), (20, 72), (20, 105)]  # about 1, 2 and 3 km from the site
    open_cells = [(40, 38), (40, 72), (40, 105)]  # the same distances, mirrored
    for r, c in forest_cells:
        codes[r, c] = TREE
    levels = _levels(_terrain(codes), forest_cells + open_cells)
    np.testing.assert_allclose(levels[3:] - levels[:3], FOREST_LOSS_1800_DB, atol=1e-3)
    # an open receiver has no clutter loss: the flat clutter_loss_db (10 dB) is replaced
    bare = _levels(_terrain(None), open_cells)
    np.testing.assert_allclose(levels[3:] - bare, TECH.clutter_loss_db, atol=1e-3)


@pytest.mark.parametrize("tech", [TECH, replace(TECH, model="p1812", max_range_m=8000,
                                                p1812=P1812Settings(delta_n=45.0, n0=325.0))],
                         ids=["rma+deygout", "p1812"])
def test_a_forest_belt_on_the_path_shadows_the_receiver(tech):
    codes = np.full((60, 200), CROP)
    codes[:, 60:90] = TREE  # a 900 m wide forest belt across every path
    receivers = [(30, 100), (25, 110)]  # the 30 m mast sees over the belt farther away
    open_land = _levels(_terrain(np.full((60, 200), CROP)), receivers, tech)
    belt = _levels(_terrain(codes), receivers, tech)
    assert np.all(belt < open_land - 3.0)


def test_no_land_cover_class_falls_back_to_the_flat_clutter_loss():
    codes = np.full((60, 200), -1)  # nodata everywhere: no class, no clutter
    with_nodata = _levels(_terrain(codes), [(30, 100)])
    np.testing.assert_allclose(with_nodata, _levels(_terrain(None), [(30, 100)]), atol=1e-4)


def test_calibration_offsets_by_class_and_model_offset():
    codes = np.full((60, 200), CROP)
    codes[20, 60] = TREE
    cells = [(20, 60), (40, 60)]
    calibration = Calibration(offsets_db=((TECH.name, (("tree_cover", 4.5),)),),
                              model_offset_db=((TECH.name, -2.0),))
    terrain = _terrain(codes)
    before = _levels(terrain, cells)
    after = _levels(terrain, cells, settings=CoverageSettings(calibration=calibration))
    np.testing.assert_allclose(after - before, [4.5, -2.0], atol=1e-4)


def _write_land_cover(path, codes, *, crs=CRS, transform=None, nodata=0):
    transform = transform or Affine(CELL_M, 0.0, X0, 0.0, -CELL_M, Y0)
    with rasterio.open(path, "w", driver="GTiff", height=codes.shape[0], width=codes.shape[1],
                       count=1, dtype="uint8", crs=crs, transform=transform, nodata=nodata,
                       compress="deflate") as dst:
        dst.write(codes.astype(np.uint8), 1)


def _region(folder, codes, **extra):
    """A flat 60 x 100 region with a land cover raster ``codes`` (uint8, on the DEM's grid)."""
    path = write_region(folder, np.full((60, 100), 400.0, np.float32),
                        [village("V1", 2000, 900)], [candidate("S1", 600, 900)],
                        technologies=(TECH_4G,), **extra)
    _write_land_cover(folder / "landcover.tif", codes)
    doc = yaml.safe_load(path.read_text())
    doc["inputs"]["land_cover"] = "landcover.tif"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_the_raster_is_read_onto_the_dem_grid(tmp_path):
    codes = np.full((60, 100), CROP, np.uint8)
    codes[:30] = TREE
    codes[0, 0] = 0  # nodata
    region = read_region(load_scenario(_region(tmp_path, codes)))
    land_cover = region.terrain.land_cover
    assert land_cover.class_index.shape == region.terrain.shape
    heights = land_cover.clutter_height_m
    assert heights[0, 0] == 0.0 and heights[10, 50] == 15.0 and heights[50, 50] == 0.0


def test_a_raster_in_another_crs_is_resampled_by_nearest_neighbour(tmp_path):
    path = _region(tmp_path, np.full((60, 100), CROP, np.uint8))
    lon0, lat0 = 111.0, 32.7  # the region's corner is 500 km east of UTM 49N's false origin
    codes = np.full((40, 60), TREE, np.uint8)
    codes[:, 30:] = 50  # built-up in the eastern half
    _write_land_cover(tmp_path / "landcover.tif", codes, crs="EPSG:4326",
                      transform=Affine(0.0005, 0.0, lon0 - 0.01, 0.0, -0.0005, lat0 + 0.01))
    terrain = read_region(load_scenario(path)).terrain
    values = np.unique(terrain.land_cover.clutter_height_m)
    assert set(values.tolist()) <= {0.0, 10.0, 15.0}  # never an average of two classes


def test_an_unknown_code_names_the_file_and_the_code(tmp_path):
    codes = np.full((60, 100), CROP, np.uint8)
    codes[5, 5] = 77
    with pytest.raises(InputError, match=r"landcover\.tif.*class code\(s\) 77.*land_cover_classes"):
        read_region(load_scenario(_region(tmp_path, codes)))


def test_a_custom_class_table(tmp_path):
    codes = np.full((60, 100), 1, np.uint8)
    codes[:, 50:] = 2
    table = {1: {"name": "rice", "clutter_height_m": 0, "p2108_type": "open_rural"},
             2: {"name": "bamboo", "clutter_height_m": 12, "p2108_type": "trees_forest"}}
    scenario = load_scenario(_region(tmp_path, codes, land_cover_classes=table))
    assert [c.name for c in scenario.land_cover_classes] == ["rice", "bamboo"]
    heights = read_region(scenario).terrain.land_cover.clutter_height_m
    assert heights[10, 10] == 0.0 and heights[10, 80] == 12.0


def test_the_cache_key_follows_the_land_cover_file_and_the_class_table(tmp_path):
    codes = np.full((60, 100), CROP, np.uint8)
    path = _region(tmp_path, codes)
    key = coverage_key(load_scenario(path))
    codes[10:20, 10:20] = TREE
    _write_land_cover(tmp_path / "landcover.tif", codes)
    changed_file = coverage_key(load_scenario(path))
    doc = yaml.safe_load(path.read_text())
    doc["land_cover_classes"] = {c.code: {"name": c.name, "clutter_height_m": c.clutter_height_m,
                                          "p2108_type": c.p2108_type} for c in WORLDCOVER_CLASSES}
    doc["land_cover_classes"][10]["clutter_height_m"] = 20
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    changed_table = coverage_key(load_scenario(path))
    assert len({key, changed_file, changed_table}) == 3


def test_bad_class_tables_are_scenario_errors(tmp_path):
    from siting.errors import ScenarioError
    table = {10: {"name": "trees", "clutter_height_m": -1, "p2108_type": "jungle"}}
    with pytest.raises(ScenarioError, match=r"clutter_height_m.*\n.*p2108_type"):
        load_scenario(_region(tmp_path, np.full((60, 100), 10, np.uint8),
                              land_cover_classes=table))

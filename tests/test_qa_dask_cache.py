"""The coverage cache follows every file a layer is read from: a Shapefile's attributes live
in its ``.dbf``, its CRS in its ``.prj``; editing either (the planner raising a mast in QGIS)
must miss the cache, not serve the matrix of the old heights."""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pytest
import yaml

from regions import candidate, ridge_dem, village, write_region
from siting.cache import coverage_key
from siting.config import load_scenario
from siting.pipeline import compute


#: A .dbf's column names hold at most 10 characters: siting's names -> the file's.
SHORT = {"antenna_height_m": "height_m", "opex_cny_per_year": "opex_cny", "free_public": "free",
         "extra_cost_cny": "extra_cny", "technologies": "techs"}


def _shapefile_scenario(folder):
    """The ridge region with its candidates read from ``candidates.shp``."""
    path = write_region(folder, ridge_dem(),
                        villages=[village("V1", 1000, 3000), village("V2", 4500, 3000)],
                        candidates=[candidate("S1", 1500, 3000), candidate("S2", 5000, 3500)])
    sites = gpd.read_file(folder / "region.gpkg", layer="candidates").rename(columns=SHORT)
    sites.to_file(folder / "candidates.shp", engine="pyogrio")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["inputs"]["candidates"] = {"path": "candidates.shp", "fields": SHORT}
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path, sites


def _same_matrix(a, b) -> bool:
    return (a.level_dbm.shape == b.level_dbm.shape and (a.level_dbm != b.level_dbm).nnz == 0
            and np.array_equal(a.best_level_dbm, b.best_level_dbm))


def test_raising_a_mast_in_the_shapefiles_dbf_misses_the_cache(tmp_path):
    path, sites = _shapefile_scenario(tmp_path / "in")
    cache = tmp_path / "cache"
    before = compute(load_scenario(path), cache_dir=cache).coverage
    os.utime(tmp_path / "in" / "candidates.shp")  # touched, same bytes: still a hit
    assert _same_matrix(compute(load_scenario(path), cache_dir=cache).coverage, before)
    sites.loc[sites["site_id"] == "S1", "height_m"] = 60.0  # only the .dbf changes
    shp_bytes = (tmp_path / "in" / "candidates.shp").read_bytes()
    sites.to_file(tmp_path / "in" / "candidates.shp", engine="pyogrio")
    assert (tmp_path / "in" / "candidates.shp").read_bytes() == shp_bytes
    raised = load_scenario(path)
    got = compute(raised, cache_dir=cache).coverage
    want = compute(raised).coverage  # no cache
    assert not _same_matrix(want, before)  # the taller mast does reach differently
    assert _same_matrix(got, want)


@pytest.mark.parametrize("sidecar, content", [(".prj", 'PROJCS["other"]'), (".cpg", "GBK")])
def test_every_shapefile_sidecar_is_part_of_the_key(tmp_path, sidecar, content):
    path, _ = _shapefile_scenario(tmp_path / "in")
    before = coverage_key(load_scenario(path))
    (tmp_path / "in" / f"candidates{sidecar}").write_text(content, encoding="ascii")
    assert coverage_key(load_scenario(path)) != before


def _wall_between_s1_and_v1(folder):
    import rasterio

    with rasterio.open(folder / "dem.tif", "r+") as dem:
        elevation = dem.read(1)
        elevation[:, 40:43] += 150.0  # 1200-1290 m east: between V1 (1000 m) and S1 (1500 m)
        dem.write(elevation, 1)


def _louder_4g(folder):
    path = folder / "scenario.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["technologies"][0]["eirp_dbm"] += 6.0
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


@pytest.mark.parametrize("change", [_wall_between_s1_and_v1, _louder_4g], ids=["dem", "technology"])
def test_a_changed_dem_or_technology_misses_the_cache(tmp_path, change):
    path, _ = _shapefile_scenario(tmp_path / "in")
    cache = tmp_path / "cache"
    before = compute(load_scenario(path), cache_dir=cache).coverage
    change(tmp_path / "in")
    changed = load_scenario(path)
    want = compute(changed).coverage
    assert not _same_matrix(want, before)
    assert _same_matrix(compute(changed, cache_dir=cache).coverage, want)


def test_a_run_on_workers_stores_the_matrix_the_next_run_reuses_without_a_cluster(
        tmp_path, monkeypatch):
    import siting.pipeline

    path, _ = _shapefile_scenario(tmp_path / "in")
    cache = tmp_path / "cache"
    on_workers = compute(load_scenario(path), cache_dir=cache, workers=1).coverage
    assert _same_matrix(on_workers, compute(load_scenario(path)).coverage)

    def no_cluster(*args, **kwargs):
        raise AssertionError("a cached run started a Dask cluster")

    monkeypatch.setattr(siting.pipeline, "client_for", no_cluster)
    again = compute(load_scenario(path), cache_dir=cache, workers=1).coverage
    assert _same_matrix(again, on_workers)

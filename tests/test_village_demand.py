"""Villages and the population raster share the people: nobody counted twice, no village lost."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from regions import TECH_4G, candidate, village, write_region
from siting.config import load_scenario
from siting.demand import build_demand
from siting.io import read_region


def _scenario(tmp_path, population, villages, **extra):
    path = write_region(tmp_path, np.full((200, 200), 400.0), villages=villages,
                        candidates=[candidate("S1", 3000, 3000, techs="4G")],
                        population=population, technologies=[TECH_4G], **extra)
    return load_scenario(path)


def _people(scenario) -> dict[str, float]:
    demand = build_demand(read_region(scenario), scenario.demand)
    return {kind: float(demand.people[demand.kind == kind].sum()) for kind in ("cell", "village")}


def test_without_a_raster_demand_is_the_villages(tmp_path):
    villages = [village("V1", 1000, 1000, population=350), village("V2", 5000, 5000, population=90)]
    scenario = _scenario(tmp_path, None, villages)
    doc = yaml.safe_load(scenario.path.read_text(encoding="utf-8"))
    doc["inputs"]["population"] = None
    scenario.path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    scenario = load_scenario(scenario.path)
    region = read_region(scenario)
    assert region.population is None and region.population_source is None
    demand = build_demand(region, scenario.demand)
    assert set(demand.kind) == {"village"}
    assert dict(zip(demand.ref_id, demand.people)) == {"V1": 350.0, "V2": 90.0}


def test_a_village_the_raster_misses_keeps_its_people(tmp_path):
    population = np.zeros((60, 60), np.float32)
    population[5:8, 5:8] = 10.0  # 90 people in the north-west, none where the village is
    people = _people(_scenario(tmp_path, population, [village("V1", 4500, 4500, population=250)]))
    assert people == {"cell": pytest.approx(90.0), "village": 250.0}


@pytest.mark.parametrize("listed, cell_left", [(100.0, 80.0), (300.0, 0.0)])
def test_a_village_inside_a_populated_cell_is_not_counted_twice(tmp_path, listed, cell_left):
    # A 300 m demand cell of 3 x 3 raster cells holding 180 people, with the village inside it.
    population = np.zeros((60, 60), np.float32)
    population[30:33, 30:33] = 20.0
    people = _people(_scenario(tmp_path, population, [village("V1", 3150, 3150, population=listed)]))
    assert people == {"cell": pytest.approx(cell_left), "village": listed}
    assert sum(people.values()) == pytest.approx(max(180.0, listed))


def test_a_worldpop_style_raster_in_degrees_keeps_its_people(tmp_path):
    """A 3-arc-second people-per-cell raster in WGS 84 warped to UTM keeps its total (0.5%)."""
    import pyproj
    import rasterio
    from rasterio.transform import from_origin

    from siting.io import read_population

    cell_deg = 1 / 1200
    people = np.random.default_rng(7).gamma(0.5, 20.0, size=(300, 300)).astype(np.float32)
    path = tmp_path / "worldpop.tif"
    with rasterio.open(path, "w", driver="GTiff", height=300, width=300, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(109.0, 32.8, cell_deg, cell_deg)) as dst:
        dst.write(people, 1)
    raster = read_population(path, pyproj.CRS.from_epsg(32649))
    total = sum(band.sum() for _, band in raster.bands(raster.rows_per_band()))
    assert total == pytest.approx(float(people.sum()), rel=0.005)

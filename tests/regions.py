"""Tiny hand-made regions written as real files (GeoTIFF, GeoPackage, YAML) for tests."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml
from shapely.geometry import LineString, Point, box

from siting.config import load_scenario
from siting.coverage import Transmitters
from siting.pipeline import compute, write_outputs

CRS = "EPSG:32649"
X0, Y0 = 500_000.0, 3_620_000.0  # upper-left corner of every test region (UTM 49N)

TECH_4G = dict(name="4G-1800", generation="4G", frequency_mhz=1800, eirp_dbm=61.0,
               resource_blocks=100, rsrp_threshold_dbm=-110, model="rma_38901",
               max_range_m=8000, clutter_loss_db=10, equipment_capex_cny=150000,
               opex_cny_per_year=12000)
TECH_5G = dict(name="5G-3500", generation="5G", frequency_mhz=3500, eirp_dbm=77.0,
               resource_blocks=273, rsrp_threshold_dbm=-105, model="rma_38901",
               max_range_m=5000, clutter_loss_db=10, equipment_capex_cny=250000,
               opex_cny_per_year=20000)


def xy(col_m: float, row_m: float) -> tuple[float, float]:
    """Map coordinates of a point ``col_m`` east and ``row_m`` south of the corner."""
    return X0 + col_m, Y0 - row_m


def village(vid, x_m, y_m, population=200, poverty=True, relocation=False, admin="A", name=None):
    return dict(village_id=vid, name=name or f"Village {vid}", population=population,
                admin_unit=admin, poverty_village=poverty, relocation_site=relocation,
                geometry=Point(*xy(x_m, y_m)))


def candidate(sid, x_m, y_m, kind="public_building", height=30.0, capex=50000.0, free=False,
              difficult=False, extra=0.0, techs="4G,5G"):
    return dict(site_id=sid, kind=kind, antenna_height_m=height, capex_cny=capex,
                opex_cny_per_year=10000.0, free_public=free, difficult=difficult,
                extra_cost_cny=extra, technologies=techs, admin_unit="A",
                geometry=Point(*xy(x_m, y_m)))


def write_region(folder: Path, dem: np.ndarray, villages: list[dict], candidates: list[dict], *,
                 cell_m: float = 30.0, population: np.ndarray | None = None,
                 complaints: list[dict] | None = None, zones: list[dict] | None = None,
                 technologies=(TECH_4G, TECH_5G), objective=None,
                 origin: tuple[float, float] = (X0, Y0), **scenario) -> Path:
    """Write dem.tif, population.tif, region.gpkg and scenario.yaml; return the scenario path.
    ``origin``: the upper-left corner [m, UTM 49N] (the villages and candidates are placed
    by their own geometry)."""
    folder.mkdir(parents=True, exist_ok=True)
    x0, y0 = origin
    transform = rasterio.transform.from_origin(x0, y0, cell_m, cell_m)
    with rasterio.open(folder / "dem.tif", "w", driver="GTiff", height=dem.shape[0],
                       width=dem.shape[1], count=1, dtype="float32", crs=CRS,
                       transform=transform) as dst:
        dst.write(dem.astype(np.float32), 1)
    if population is None:
        population = np.zeros((max(1, dem.shape[0] * int(cell_m) // 100),
                               max(1, dem.shape[1] * int(cell_m) // 100)), np.float32)
    with rasterio.open(folder / "population.tif", "w", driver="GTiff", height=population.shape[0],
                       width=population.shape[1], count=1, dtype="float32", crs=CRS,
                       transform=rasterio.transform.from_origin(x0, y0, 100.0, 100.0)) as dst:
        dst.write(population.astype(np.float32), 1)
    gpkg = folder / "region.gpkg"
    gpd.GeoDataFrame(villages, crs=CRS).to_file(gpkg, layer="villages", engine="pyogrio")
    gpd.GeoDataFrame(candidates, crs=CRS).to_file(gpkg, layer="candidates", engine="pyogrio")
    if complaints:
        gpd.GeoDataFrame(complaints, crs=CRS).to_file(gpkg, layer="complaints", engine="pyogrio")
    if zones:
        gpd.GeoDataFrame(zones, crs=CRS).to_file(gpkg, layer="zones", engine="pyogrio")
    height_m, width_m = dem.shape[0] * cell_m, dem.shape[1] * cell_m
    gpd.GeoDataFrame({"admin_unit": ["A"]}, geometry=[box(x0, y0 - height_m, x0 + width_m, y0)],
                     crs=CRS).to_file(gpkg, layer="admin_units", engine="pyogrio")
    doc = {
        "name": scenario.pop("name", "test"),
        "inputs": {"dem": "dem.tif", "population": "population.tif", "vectors": "region.gpkg"},
        "demand": {"grid_m": 300, "min_people_per_cell": 1},
        "technologies": [dict(t) for t in technologies],
        "objective": objective or {"type": "min_cost"},
        "solver": {"name": "highs", "time_limit_s": 30, "mip_gap": 0.0},
        "coverage": {"raster_resolution_m": 150},
        **scenario,
    }
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path



def write_land_cover(scenario: Path, codes: np.ndarray, cell_m: float = 30.0) -> None:
    """Write landcover.tif (ESA WorldCover class codes, 0 nodata) on the region's grid beside
    ``scenario``, and have the scenario read it as ``inputs.land_cover``."""
    with rasterio.open(scenario.parent / "landcover.tif", "w", driver="GTiff",
                       height=codes.shape[0], width=codes.shape[1], count=1, dtype="uint8",
                       crs=CRS, nodata=0,
                       transform=rasterio.transform.from_origin(X0, Y0, cell_m, cell_m)) as dst:
        dst.write(codes.astype(np.uint8), 1)
    doc = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    doc["inputs"]["land_cover"] = "landcover.tif"
    scenario.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


#: What one candidate() site with TECH_4G costs a plan: capex + equipment + 5 years of the
#: site's and the technology's opex [CNY].
ONE_4G_SITE_CNY = 50000 + 150000 + 5 * (10000 + 12000)


def one_site_a_year_region(folder: Path, villages: list[dict], candidates: list[dict],
                           **scenario) -> Path:
    """A flat 6 km square planned over 2027-2029, each year's budget one 4G site (900 m
    reach); ``scenario``: more sections of the scenario file."""
    phases = [{"year": y, "budget_cny": ONE_4G_SITE_CNY + 1} for y in (2027, 2028, 2029)]
    return write_region(folder, np.full((200, 200), 400.0), villages, candidates,
                        technologies=[dict(TECH_4G, max_range_m=900)],
                        objective={"type": "max_coverage", "phases": phases}, **scenario)

def ridge_dem(rows=200, cols=200, *, base_m=400.0, ridge_col=100, ridge_height_m=300.0,
              ridge_width_cells=4) -> np.ndarray:
    """A flat valley floor cut in two by a north-south ridge wall."""
    dem = np.full((rows, cols), base_m, np.float32)
    dem[:, ridge_col:ridge_col + ridge_width_cells] += ridge_height_m
    return dem


def random_links(terrain, seed: int, n_sites: int, points_per_site: int, spread_m: float):
    """Random masts (10-60 m) on ``terrain`` and ``points_per_site`` random points within
    ``spread_m`` along each axis of each, all two cells inside the DEM: (Transmitters,
    points' x [m], points' y [m]), drawn from ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = terrain.bounds
    inner = terrain.cell_size_m * 2
    tx = Transmitters(rng.uniform(xmin + inner, xmax - inner, n_sites),
                      rng.uniform(ymin + inner, ymax - inner, n_sites),
                      rng.uniform(10.0, 60.0, n_sites))
    n_points = n_sites * points_per_site
    rx_x = np.clip(np.repeat(tx.x_m, points_per_site) + rng.uniform(-spread_m, spread_m, n_points),
                   xmin + inner, xmax - inner)
    rx_y = np.clip(np.repeat(tx.y_m, points_per_site) + rng.uniform(-spread_m, spread_m, n_points),
                   ymin + inner, ymax - inner)
    return tx, rx_x, rx_y


#: lonlat_region's DEM: north-west corner [deg], cell [deg] (3"), rows x cols (0.4 x 0.25 deg).
LONLAT_NW, LONLAT_STEP, LONLAT_SHAPE = (108.90, 32.80), 1.0 / 1200.0, (480, 300)


def lonlat_region(folder: Path, sites_east_deg: dict[str, float]):
    """A 3" DEM in longitude/latitude near Ankang (rolling hills; warped to UTM 49N by a run,
    which adds a margin of filled cells around its data), one village, and a site
    ``sites_east_deg[id]`` degrees east of the DEM's west edge (negative: west of it) on its
    middle row, as lon/lat CSV files; region.bbox is the DEM's extent. Returns (scenario path,
    the DEM's (west, south, east, north) [deg])."""
    folder.mkdir(parents=True, exist_ok=True)
    (west, north), step, (n_rows, n_cols) = LONLAT_NW, LONLAT_STEP, LONLAT_SHAPE
    rows, cols = np.mgrid[0:n_rows, 0:n_cols]
    dem = (600 + 80 * np.sin(rows / 17.0) * np.cos(cols / 23.0)).astype(np.float32)
    with rasterio.open(folder / "dem.tif", "w", driver="GTiff", height=n_rows, width=n_cols,
                       count=1, dtype="float32", crs="EPSG:4326",
                       transform=rasterio.transform.from_origin(west, north, step, step)) as dst:
        dst.write(dem, 1)
    bounds = (west, north - n_rows * step, west + n_cols * step, north)
    lat = north - n_rows / 2 * step
    pd.DataFrame([dict(village_id="V1", name="V1", population=300, admin_unit="A",
                       poverty_village=True, relocation_site=False, lon=west + 0.1, lat=lat)]
                 ).to_csv(folder / "villages.csv", index=False)
    pd.DataFrame([dict(site_id=sid, kind="greenfield", antenna_height_m=30, capex_cny=1e5,
                       opex_cny_per_year=1e4, free_public=False, difficult=False,
                       extra_cost_cny=0, technologies="4G", lon=west + east_deg, lat=lat)
                  for sid, east_deg in sites_east_deg.items()]
                 ).to_csv(folder / "sites.csv", index=False)
    doc = {"name": "lonlat", "inputs": {"dem": "dem.tif", "villages": "villages.csv",
                                        "candidates": "sites.csv"},
           "region": {"bbox": list(bounds)}, "technologies": [TECH_4G],
           "objective": {"type": "min_cost"}}
    (folder / "scenario.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder / "scenario.yaml", bounds


#: The backhaul of the strip regions of the GIS output tests: one microwave band whose 3 km
#: reach one hop, and satellite for the site nothing else feeds.
STRIP_BACKHAUL = {"enabled": True, "max_microwave_hops": 1, "satellite_cny_per_year": 20000.0,
                  "microwave": [{"band_ghz": 23, "max_hop_m": 3000, "cost_cny": 90000,
                                 "capacity_mbps": 800}]}


def add_strip_fiber(folder: Path, north_m: float) -> None:
    """A fiber node 300 m east and a road on to 1,500 m east, ``north_m`` south of the corner,
    in ``folder``'s region.gpkg: the fiber the strip's first site is fed by."""
    gpkg = folder / "region.gpkg"
    gpd.GeoDataFrame({"node_id": ["N1"]}, geometry=[Point(*xy(300, north_m))],
                     crs=CRS).to_file(gpkg, layer="fiber_nodes")
    gpd.GeoDataFrame({"road_id": ["R1"]}, geometry=[LineString([xy(300, north_m), xy(1500, north_m)])],
                     crs=CRS).to_file(gpkg, layer="roads")


def validate_with_cell(folder: Path, table: str, column: str, cell: str) -> tuple[Path, list[str]]:
    """:func:`lonlat_region` in ``folder`` with the first row's ``column`` of its ``table``
    ("sites.csv" or "villages.csv", saved as GBK) holding ``cell``, checked by ``siting
    validate``: (the table, its error lines on stderr, warnings left out), once the command
    has exited with 2 and no traceback."""
    scenario, _ = lonlat_region(folder, {"S1": 0.05})
    path = folder / table
    rows = pd.read_csv(path, dtype=str)
    rows.loc[0, column] = cell
    rows.to_csv(path, index=False, encoding="gbk")
    done = subprocess.run([sys.executable, "-m", "siting.cli", "validate", str(scenario)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    return path, [line for line in done.stderr.splitlines() if not line.startswith("WARNING")]



#: The solver time limit [s] for a test that asserts a demo's proven gap: the demos stop at
#: their gap well within their own 60 s on an idle machine, but such a test asserts the gap,
#: not the speed (that is benchmarked), so a loaded machine must not fail it.
GAP_TEST_TIME_LIMIT_S = 600.0


def planned_run(scenario: Path, out: Path, *, time_limit_s: float | None = None) -> tuple:
    """(the run, its summary, ``out``): ``scenario`` (a demo's) planned, with the solver's
    time limit ``time_limit_s`` when given (else the scenario's), and its outputs written
    into ``out``; the test is skipped where the demo data are not generated."""
    if not scenario.exists():
        pytest.skip(f"demo data not generated: {scenario}")
    loaded = load_scenario(scenario)
    if time_limit_s is not None:
        loaded = replace(loaded, solver=replace(loaded.solver, time_limit_s=time_limit_s))
    run = compute(loaded)
    return run, write_outputs(run, out), out


#: Plan-period cost [CNY] of one 4G site of :func:`two_clusters` (the template's costs):
#: capex 50,000 + 150,000 for the technology, and 5 years of opex 10,000 + 12,000.
TWO_CLUSTERS_SITE_CNY = 50000 + 150000 + 5 * (10000 + 12000)


def two_clusters(folder: Path, **scenario) -> Path:
    """800 people by WEST and 320 by EAST, 4 km apart: one site buys 800, two buy 1,120
    (a budget of :data:`TWO_CLUSTERS_SITE_CNY` buys one)."""
    population = np.zeros((60, 60), np.float32)
    population[28:32, 8:12] = 50.0
    population[28:32, 48:52] = 20.0
    return write_region(folder, np.full((200, 200), 400.0),
                        villages=[village("V1", 1000, 3000, poverty=False)],
                        candidates=[candidate("WEST", 1000, 3000, techs="4G"),
                                    candidate("EAST", 5000, 3000, techs="4G")],
                        population=population, technologies=[dict(TECH_4G, max_range_m=1500)],
                        objective={"type": "max_coverage", "budget_cny": TWO_CLUSTERS_SITE_CNY},
                        **scenario)

"""Every bad input gets exit code 2, one clear line per problem, and leaves old outputs alone.

Each case writes a tiny valid region (``regions.write_region``), breaks exactly one thing and
runs ``siting run`` into a folder that already holds the outputs of a valid run. The run must
exit with code 2, print ``siting: error: ...`` lines naming the file and the field or record,
print no traceback, and leave every byte of the previous outputs as it was.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
import rasterio.enums
import rasterio.warp
import yaml
from shapely.geometry import Point, Polygon, box
from typer.testing import CliRunner

from regions import CRS, X0, Y0, candidate, ridge_dem, village, write_region, xy
from siting.cli import app

runner = CliRunner()


def _villages():
    return [village("V1", 1000, 3000), village("V2", 4500, 3000, poverty=False)]


def _candidates():
    return [candidate("S1", 1500, 3000), candidate("S2", 5000, 3500)]


def _region(folder: Path, **overrides) -> Path:
    """The standard valid region (6 km x 6 km, a ridge, two villages, two candidates)."""
    args = dict(villages=_villages(), candidates=_candidates())
    args.update(overrides)
    dem = args.pop("dem", None)
    return write_region(folder, ridge_dem() if dem is None else dem, **args)


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder`` (hidden ones too) with its bytes (None for folders)."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def valid_outputs(tmp_path_factory) -> Path:
    """The outputs of one valid run (made once; each test copies them)."""
    folder = tmp_path_factory.mktemp("valid")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SITING_CACHE_DIR", str(folder / "cache"))
        scenario = _region(folder / "in")
        result = runner.invoke(app, ["run", str(scenario), "--out", str(folder / "out"), "--quiet"])
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert (folder / "out" / "summary.json").exists()
    return folder / "out"


@pytest.fixture
def out(tmp_path, valid_outputs) -> Path:
    """An output folder holding the outputs of a previous valid run."""
    target = tmp_path / "out"
    shutil.copytree(valid_outputs, target)
    return target


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("siting:")]


def assert_rejected(scenario: Path, out: Path, *needles: str) -> list[str]:
    """Run ``scenario`` into ``out``: exit 2, clear lines containing ``needles``, ``out`` intact."""
    before = _snapshot(out)
    result = runner.invoke(app, ["run", str(scenario), "--out", str(out)])
    stderr = result.stderr
    assert result.exit_code == 2, (result.exit_code, stderr, result.exception)
    assert "Traceback" not in stderr and "Traceback" not in result.stdout
    lines = _error_lines(stderr)
    assert lines, stderr
    assert all(line.startswith("siting: error: ") for line in lines), stderr
    for needle in needles:
        assert needle in stderr, f"{needle!r} not in:\n{stderr}"
    assert _snapshot(out) == before, "the previous outputs were changed"
    return lines


def _rewrite_raster(path: Path, data: np.ndarray, *, crs=CRS, cell_m=30.0, origin=(X0, Y0),
                    nodata=None) -> None:
    profile = dict(driver="GTiff", height=data.shape[0], width=data.shape[1], count=1,
                   dtype="float32", transform=rasterio.transform.from_origin(*origin, cell_m, cell_m))
    if crs is not None:
        profile["crs"] = crs
    if nodata is not None:
        profile["nodata"] = nodata
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data.astype(np.float32), 1)


def _write_layer(folder: Path, layer: str, rows, *, crs=CRS, geometry=None) -> None:
    frame = gpd.GeoDataFrame(rows, crs=crs, geometry=geometry)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "crs was not provided"
        frame.to_file(folder / "region.gpkg", layer=layer, engine="pyogrio")


def _edit_scenario(scenario: Path, edit) -> Path:
    doc = yaml.safe_load(scenario.read_text())
    edit(doc)
    scenario.write_text(yaml.safe_dump(doc, sort_keys=False))
    return scenario


# --- rasters --------------------------------------------------------------------------------

@pytest.mark.parametrize("name, key", [("dem.tif", "inputs.dem"),
                                       ("population.tif", "inputs.population"),
                                       ("region.gpkg", "inputs.vectors")])
def test_input_file_missing(tmp_path, out, name, key):
    scenario = _region(tmp_path)
    (tmp_path / name).unlink()
    assert_rejected(scenario, out, name, "not found", key)


def test_dem_truncated(tmp_path, out):
    scenario = _region(tmp_path)
    data = (tmp_path / "dem.tif").read_bytes()
    (tmp_path / "dem.tif").write_bytes(data[: len(data) // 2])
    assert_rejected(scenario, out, "dem.tif", "DEM")


def test_dem_not_a_tiff(tmp_path, out):
    scenario = _region(tmp_path)
    (tmp_path / "dem.tif").write_text("elevation,x,y\n400,1,2\n")
    assert_rejected(scenario, out, "dem.tif", "GeoTIFF")


def test_dem_without_crs(tmp_path, out):
    scenario = _region(tmp_path)
    _rewrite_raster(tmp_path / "dem.tif", ridge_dem(), crs=None)
    assert_rejected(scenario, out, "dem.tif", "no CRS")


def test_dem_without_crs_with_scenario_crs(tmp_path, out):
    scenario = _region(tmp_path, crs="EPSG:32649")
    _rewrite_raster(tmp_path / "dem.tif", ridge_dem(), crs=None)
    assert_rejected(scenario, out, "dem.tif", "no CRS")


def test_dem_large_nan_hole(tmp_path, out):
    dem = ridge_dem()
    dem[20:60, 20:60] = np.nan  # 4% of the cells
    scenario = _region(tmp_path, dem=dem)
    assert_rejected(scenario, out, "dem.tif", "nodata", "4.0%")


def test_dem_large_declared_nodata_hole(tmp_path, out):
    scenario = _region(tmp_path)
    dem = ridge_dem()
    dem[150:200, :] = -9999.0  # the southern quarter
    _rewrite_raster(tmp_path / "dem.tif", dem, nodata=-9999.0)
    assert_rejected(scenario, out, "dem.tif", "nodata", "25.0%")


def test_dem_undeclared_nodata_value(tmp_path, out):
    dem = ridge_dem()
    dem[10:12, 10:12] = -32768.0
    scenario = _region(tmp_path, dem=dem)
    assert_rejected(scenario, out, "dem.tif", "-32768", "nodata")


def test_dem_single_cell(tmp_path, out):
    scenario = _region(tmp_path)
    _rewrite_raster(tmp_path / "dem.tif", np.full((1, 1), 400.0), cell_m=6000.0)
    assert_rejected(scenario, out, "dem.tif", "2 x 2")


def test_population_with_nan(tmp_path, out):
    population = np.ones((60, 60), np.float32)
    population[5, 7] = np.nan
    scenario = _region(tmp_path, population=population)
    assert_rejected(scenario, out, "population.tif", "NaN", "row 5, col 7")


def test_population_negative(tmp_path, out):
    population = np.ones((60, 60), np.float32)
    population[30:32, 30] = -4.0
    scenario = _region(tmp_path, population=population)
    assert_rejected(scenario, out, "population.tif", "2 population cell(s)", "negative")


def test_population_does_not_overlap_the_dem(tmp_path, out):
    scenario = _region(tmp_path)
    _rewrite_raster(tmp_path / "population.tif", np.ones((60, 60)), cell_m=100.0,
                    origin=(X0 + 50_000, Y0 + 50_000))
    assert_rejected(scenario, out, "population.tif", "does not overlap the DEM")


def test_population_truncated(tmp_path, out):
    scenario = _region(tmp_path, population=np.random.default_rng(0).random((60, 60)))
    data = (tmp_path / "population.tif").read_bytes()
    (tmp_path / "population.tif").write_bytes(data[: len(data) // 3])
    assert_rejected(scenario, out, "population.tif", "population raster")


def test_population_without_crs(tmp_path, out):
    scenario = _region(tmp_path)
    _rewrite_raster(tmp_path / "population.tif", np.ones((60, 60)), crs=None, cell_m=100.0)
    assert_rejected(scenario, out, "population.tif", "no CRS")


# --- vector file and layers -----------------------------------------------------------------

def test_vector_file_corrupt(tmp_path, out):
    scenario = _region(tmp_path)
    (tmp_path / "region.gpkg").write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 8)
    assert_rejected(scenario, out, "region.gpkg", "GeoPackage")


def test_missing_layer(tmp_path, out):
    scenario = _edit_scenario(_region(tmp_path), lambda d: d["inputs"].update(
        layers={"candidates": "sites"}))
    assert_rejected(scenario, out, "region.gpkg", "layer 'sites' not found", "inputs.layers")


def test_missing_field(tmp_path, out):
    rows = _candidates()
    for row in rows:
        del row["capex_cny"]
    scenario = _region(tmp_path, candidates=rows)
    assert_rejected(scenario, out, "region.gpkg", "layer 'candidates'", "missing column(s) 'capex_cny'", "columns present")


def test_layer_without_crs(tmp_path, out):
    scenario = _region(tmp_path)
    _write_layer(tmp_path, "villages", _villages(), crs=None)
    assert_rejected(scenario, out, "region.gpkg", "layer 'villages'", "no CRS")


def test_duplicate_village_ids(tmp_path, out):
    scenario = _region(tmp_path, villages=[village("V1", 1000, 3000), village("V1", 2000, 3000)])
    assert_rejected(scenario, out, "layer 'villages'", "duplicate village_id V1")


def test_duplicate_site_ids(tmp_path, out):
    scenario = _region(tmp_path, candidates=[candidate("S1", 1500, 3000), candidate("S1", 5000, 3500)])
    assert_rejected(scenario, out, "layer 'candidates'", "duplicate site_id S1")


def test_empty_village_id(tmp_path, out):
    rows = _villages()
    rows[1]["village_id"] = None
    scenario = _region(tmp_path, villages=rows)
    assert_rejected(scenario, out, "layer 'villages'", "field 'village_id' is empty", "row 2")


def test_nan_antenna_height(tmp_path, out):
    scenario = _region(tmp_path, candidates=[candidate("S1", 1500, 3000, height=np.nan),
                                             candidate("S2", 5000, 3500)])
    assert_rejected(scenario, out, "region.gpkg", "layer 'candidates'", "antenna_height_m", "S1")


def test_non_numeric_capex(tmp_path, out):
    scenario = _region(tmp_path, candidates=[candidate("S1", 1500, 3000, capex="cheap"),
                                             candidate("S2", 5000, 3500, capex="50000")])
    lines = assert_rejected(scenario, out, "region.gpkg", "capex_cny", "S1", "'cheap'")
    assert not any("S2" in line for line in lines)  # "50000" as text is a number


def test_negative_cost(tmp_path, out):
    scenario = _region(tmp_path, candidates=[candidate("S1", 1500, 3000),
                                             candidate("S2", 5000, 3500, extra=-20000.0)])
    assert_rejected(scenario, out, "layer 'candidates'", "extra_cost_cny", "negative", "S2")


@pytest.mark.parametrize("height", [0.0, 1000.0])
def test_impossible_antenna_height(tmp_path, out, height):
    scenario = _region(tmp_path, candidates=[candidate("S1", 1500, 3000, height=height),
                                             candidate("S2", 5000, 3500)])
    assert_rejected(scenario, out, "layer 'candidates'", "antenna_height_m", "(0, 300]", "S1")


def test_antenna_below_the_models_range_names_the_site_and_model(tmp_path, out):
    # An 8 m lamp pole: TR 38.901 RMa is valid for 10-150 m base stations only.
    scenario = _region(tmp_path, candidates=[candidate("S1", 1500, 3000, height=8.0),
                                             candidate("S2", 5000, 3500)])
    assert_rejected(scenario, out, "layer 'candidates'", "antenna_height_m", "S1", "8 m",
                    "10-150 m", "rma_38901", "4G-1800", "raise the antenna")


def test_unknown_candidate_kind(tmp_path, out):
    scenario = _region(tmp_path, candidates=[candidate("S1", 1500, 3000, kind="church"),
                                             candidate("S2", 5000, 3500)])
    assert_rejected(scenario, out, "layer 'candidates'", "field 'kind'", "'church'", "S1")


def test_bad_technologies_string(tmp_path, out):
    scenario = _region(tmp_path, candidates=[candidate("S1", 1500, 3000),
                                             candidate("S2", 5000, 3500, techs="LTE;NR")])
    assert_rejected(scenario, out, "layer 'candidates'", "field 'technologies'", "S2", "'LTE;NR'")


def test_no_candidate_allows_a_scenario_technology(tmp_path, out):
    from regions import TECH_4G
    scenario = _region(tmp_path, candidates=[candidate("S1", 1500, 3000, techs="5G")],
                       technologies=(TECH_4G,))
    assert_rejected(scenario, out, "layer 'candidates'", "technologies", "4G")


def test_non_boolean_flag(tmp_path, out):
    rows = _villages()
    rows[0]["poverty_village"] = "maybe"
    rows[1]["poverty_village"] = "no"
    scenario = _region(tmp_path, villages=rows)
    assert_rejected(scenario, out, "layer 'villages'", "poverty_village", "true/false", "V1")


def test_villages_outside_the_dem(tmp_path, out):
    scenario = _region(tmp_path, villages=[*_villages(), village("V9", 9000, 3000),
                                           village("V8", 1000, -500)])
    lines = assert_rejected(scenario, out, "layer 'villages'", "outside the DEM", "V9", "V8")
    assert not any("V1" in line for line in lines)


def test_villages_on_the_dem_but_beyond_the_planning_area(tmp_path, out):
    # A village list of a wider area than the counties (GeoNames' box around Ankang): the DEM
    # file reaches the far villages, so "use a larger DEM" would leave the planner stuck.
    from regions import TECH_4G
    to_lonlat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    west, north = to_lonlat.transform(*xy(0, 0))
    east, south = to_lonlat.transform(*xy(2000, 6000))
    scenario = _region(tmp_path, dem=ridge_dem(cols=600), villages=[*_villages(),
                       village("V9", 15000, 3000)], technologies=({**TECH_4G, "max_range_m": 3000},),
                       region={"bbox": [west, south, east, north]})
    lines = assert_rejected(scenario, out, "layer 'villages'", "outside the DEM", "V9",
                            "planning area", "region.bbox")
    assert not any("larger DEM" in line for line in lines)


def test_candidates_outside_the_dem(tmp_path, out):
    scenario = _region(tmp_path, candidates=[*_candidates(), candidate("S9", 1000, 7000)])
    assert_rejected(scenario, out, "layer 'candidates'", "outside the DEM", "S9")


def test_complaints_outside_the_dem(tmp_path, out):
    complaints = [dict(complaint_id="C1", people=10, geometry=Point(*xy(-2000, 3000))),
                  dict(complaint_id="C2", people=10, geometry=Point(*xy(2000, 3000)))]
    scenario = _region(tmp_path, complaints=complaints)
    lines = assert_rejected(scenario, out, "layer 'complaints'", "outside the DEM", "C1")
    assert not any("C2" in line for line in lines)


def _zone(zid, geometry, require_5g=True):
    return dict(zone_id=zid, name=f"Zone {zid}", kind="town", require_5g=require_5g,
                geometry=geometry)


def test_invalid_zone_polygon(tmp_path, out):
    bowtie = Polygon([xy(1000, 1000), xy(2000, 2000), xy(2000, 1000), xy(1000, 2000)])
    scenario = _region(tmp_path, zones=[_zone("Z1", bowtie),
                                        _zone("Z2", box(*xy(3000, 2000), *xy(4000, 1000)))])
    assert_rejected(scenario, out, "layer 'zones'", "invalid geometry", "Z1", "Self-intersection")


def test_zone_outside_the_dem(tmp_path, out):
    scenario = _region(tmp_path, zones=[_zone("Z1", box(*xy(8000, 2000), *xy(9000, 1000)))])
    assert_rejected(scenario, out, "layer 'zones'", "outside the DEM", "Z1")


def test_polygon_in_the_villages_layer(tmp_path, out):
    rows = _villages()
    rows[1]["geometry"] = box(*xy(4000, 3500), *xy(5000, 2500))
    scenario = _region(tmp_path, villages=rows)
    assert_rejected(scenario, out, "layer 'villages'", "expected Point", "V2", "Polygon")


def test_empty_candidates_layer(tmp_path, out):
    scenario = _region(tmp_path)
    empty = gpd.GeoDataFrame({name: [] for name in _candidates()[0] if name != "geometry"},
                             geometry=gpd.GeoSeries([], crs=CRS))
    empty.to_file(tmp_path / "region.gpkg", layer="candidates", engine="pyogrio")
    assert_rejected(scenario, out, "region.gpkg", "layer 'candidates'", "empty")


def test_many_problems_are_reported_together(tmp_path, out):
    population = np.ones((60, 60), np.float32)
    population[0, 0] = -1
    scenario = _region(tmp_path, population=population,
                       villages=[village("V1", 1000, 3000), village("V1", 9000, 3000)],
                       candidates=[candidate("S1", 1500, 3000, height=np.nan, kind="church"),
                                   candidate("S2", 5000, 3500, capex=-1.0)])
    lines = assert_rejected(scenario, out)
    text = "\n".join(lines)
    for needle in ("population.tif", "duplicate village_id V1", "antenna_height_m", "church",
                   "capex_cny"):
        assert needle in text, text
    assert len(lines) >= 5


# --- the scenario file ----------------------------------------------------------------------

def test_scenario_missing(tmp_path, out):
    assert_rejected(tmp_path / "nope.yaml", out, "nope.yaml", "not found")


def test_unknown_scenario_key_with_did_you_mean(tmp_path, out):
    scenario = _edit_scenario(_region(tmp_path), lambda d: d.__setitem__("technologys", []))
    assert_rejected(scenario, out, "scenario.yaml", "technologys", "did you mean 'technologies'")


def test_bad_yaml(tmp_path, out):
    scenario = _region(tmp_path)
    scenario.write_text("name: x\ninputs: {dem: dem.tif\n  population: [\n")
    assert_rejected(scenario, out, "scenario.yaml", "not valid YAML")


def test_frequency_outside_the_model_range(tmp_path, out):
    def edit(doc):
        doc["technologies"][1].update(model="okumura_hata")  # 3500 MHz, Hata stops at 1500
    scenario = _edit_scenario(_region(tmp_path), edit)
    assert_rejected(scenario, out, "scenario.yaml", "technologies[5G-3500].frequency_mhz", "okumura_hata")


def test_threshold_above_eirp(tmp_path, out):
    scenario = _edit_scenario(_region(tmp_path),
                              lambda d: d["technologies"][0].update(eirp_dbm=20, rsrp_threshold_dbm=-5))
    assert_rejected(scenario, out, "scenario.yaml", "technologies[4G-1800].rsrp_threshold_dbm")


def test_missing_technologies(tmp_path, out):
    scenario = _edit_scenario(_region(tmp_path), lambda d: d.pop("technologies"))
    assert_rejected(scenario, out, "scenario.yaml", "technologies", "missing")


def test_max_coverage_without_budget(tmp_path, out):
    scenario = _region(tmp_path, objective={"type": "max_coverage"})
    assert_rejected(scenario, out, "scenario.yaml", "objective", "budget_cny")


def test_scenario_name_with_path_separators(tmp_path, out):
    scenario = _region(tmp_path, name="../../etc/evil")
    assert_rejected(scenario, out, "scenario.yaml", "name", "../../etc/evil")


def test_scenario_crs_geographic(tmp_path, out):
    scenario = _region(tmp_path, crs="EPSG:4326")
    assert_rejected(scenario, out, "scenario.yaml", "crs", "geographic")


def test_scenario_crs_unknown(tmp_path, out):
    scenario = _region(tmp_path, crs="EPSG:999999")
    assert_rejected(scenario, out, "scenario.yaml", "crs", "EPSG:999999")


def test_scenario_without_dem_path(tmp_path, out):
    scenario = _edit_scenario(_region(tmp_path), lambda d: d["inputs"].pop("dem"))
    assert_rejected(scenario, out, "scenario.yaml", "inputs.dem", "missing")


# --- inputs that are repaired, not rejected -------------------------------------------------

def _run_ok(scenario: Path, out: Path) -> tuple[dict, str]:
    result = runner.invoke(app, ["run", str(scenario), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert "Traceback" not in result.stderr
    return json.loads((out / "summary.json").read_text()), result.stderr


def test_small_dem_hole_is_filled(tmp_path, caplog):
    dem = ridge_dem()
    dem[50:53, 50:53] = np.nan  # 9 cells, 0.02 %
    summary, _ = _run_ok(_region(tmp_path / "in", dem=dem), tmp_path / "out")
    assert summary["kpis"]["villages_total"] == 2
    assert any("filled 9 nodata cell(s)" in r.getMessage() for r in caplog.records)


def test_vector_layer_in_another_crs_is_reprojected(tmp_path, caplog):
    reference, _ = _run_ok(_region(tmp_path / "a"), tmp_path / "out_a")
    scenario = _region(tmp_path / "b")
    _write_layer(tmp_path / "b", "villages",
                 gpd.GeoDataFrame(_villages(), crs=CRS).to_crs("EPSG:4326"), crs=None)
    summary, _ = _run_ok(scenario, tmp_path / "out_b")
    assert summary["kpis"] == reference["kpis"]
    assert any("layer 'villages': reprojected from EPSG:4326" in r.getMessage()
               for r in caplog.records)


def test_population_in_another_crs_is_reprojected(tmp_path, caplog):
    population = np.zeros((60, 60), np.float32)
    population[20:40, 5:15] = 10.0  # 2000 people west of the ridge
    reference, _ = _run_ok(_region(tmp_path / "a", population=population), tmp_path / "out_a")
    scenario = _region(tmp_path / "b", population=population)
    # The same raster in UTM 48N (the neighbouring zone): counts must survive the warp.
    src_path = tmp_path / "a" / "population.tif"
    with rasterio.open(src_path) as src:
        transform, width, height = rasterio.warp.calculate_default_transform(
            src.crs, "EPSG:32648", src.width, src.height, *src.bounds)
        moved = np.zeros((height, width), np.float32)
        rasterio.warp.reproject(src.read(1), moved, src_transform=src.transform, src_crs=src.crs,
                                dst_transform=transform, dst_crs="EPSG:32648",
                                resampling=rasterio.enums.Resampling.sum)
    with rasterio.open(tmp_path / "b" / "population.tif", "w", driver="GTiff", height=height,
                       width=width, count=1, dtype="float32", crs="EPSG:32648",
                       transform=transform) as dst:
        dst.write(moved, 1)
    summary, _ = _run_ok(scenario, tmp_path / "out_b")
    assert summary["kpis"]["people_total"] == pytest.approx(reference["kpis"]["people_total"], rel=0.005)
    assert any("population reprojected" in r.getMessage() for r in caplog.records)


# --- CRS labels that contradict the coordinates (ambiguous: reprojecting would misplace) -----

def test_projected_points_labelled_as_degrees(tmp_path, out):
    scenario = _region(tmp_path)
    _write_layer(tmp_path, "villages", _villages(), crs="EPSG:4326")  # UTM metres, labelled degrees
    assert_rejected(scenario, out, "region.gpkg", "layer 'villages'", "cannot be degrees",
                    "EPSG:4326", "fix the CRS label")


def test_degree_points_labelled_as_utm(tmp_path, out):
    rows = [dict(v, geometry=Point(109.0 + 0.01 * i, 32.7)) for i, v in enumerate(_villages())]
    scenario = _region(tmp_path)
    _write_layer(tmp_path, "villages", rows, crs=CRS)
    assert_rejected(scenario, out, "layer 'villages'", "look like degrees", "EPSG:32649")


def test_dem_in_degrees_labelled_as_utm(tmp_path, out):
    scenario = _region(tmp_path)
    _rewrite_raster(tmp_path / "dem.tif", ridge_dem(), origin=(109.0, 32.8), cell_m=0.0003)
    assert_rejected(scenario, out, "dem.tif", "look like degrees")


# --- layers from their own files: sheets and tables as planners write them -------------------

def _villages_table(crs="EPSG:4326") -> pd.DataFrame:
    frame = gpd.GeoDataFrame(_villages(), crs=CRS).to_crs(crs)
    table = pd.DataFrame(frame.drop(columns="geometry"))
    table["lon"], table["lat"] = frame.geometry.x.round(7), frame.geometry.y.round(7)
    return table


def _with_villages(tmp_path: Path, villages) -> Path:
    """The standard region with its villages taken from ``villages`` (inputs.villages)."""
    return _edit_scenario(_region(tmp_path), lambda d: d["inputs"].update(villages=villages))


def test_table_missing_a_column_lists_the_columns(tmp_path, out):
    table = _villages_table().rename(columns={"population": "populaton"})
    table.to_csv(tmp_path / "villages.csv", index=False)
    assert_rejected(_with_villages(tmp_path, "villages.csv"), out, "villages.csv",
                    "missing column(s) 'population' (did you mean 'populaton'?)",
                    "columns present", "inputs.villages.fields")


@pytest.mark.parametrize("village_id, population", [("编号", "人口"), ("村 编号", "人口 ")])
def test_chinese_headers_without_fields_get_the_mapping_to_write(tmp_path, out, village_id,
                                                                 population):
    """A village sheet headed as the README's example (编号, 村名, 人口, 区县, 贫困村, 易地搬迁)
    but without its fields: line: the error writes the mapping out for the planner, with the
    sheet's own names, also when a header was typed with a space inside (村 编号: such
    headers were left out of the mapping; the as-built and measurement readers read them)."""
    table = _villages_table().rename(columns={
        "village_id": village_id, "name": "村名", "population": population, "admin_unit": "区县",
        "poverty_village": "贫困村", "relocation_site": "易地搬迁"})
    table.to_excel(tmp_path / "villages.xlsx", index=False)
    assert_rejected(_with_villages(tmp_path, "villages.xlsx"), out, "villages.xlsx",
                    "map them with inputs.villages.fields (siting name: column), e.g. fields: "
                    f"{{village_id: {village_id}, name: 村名, population: 人口, poverty_village: "
                    "贫困村, relocation_site: 易地搬迁}")


def test_a_village_sheet_without_poverty_columns_needs_them_only_for_their_rules(tmp_path, out):
    """A register with no 贫困村/易地搬迁 columns: refused while the rules that read them are on
    (the error names the setting to turn off), read with every village not one once they are
    off (it was refused either way)."""
    from siting.config import load_scenario
    from siting.io import read_region

    table = _villages_table().drop(columns=["poverty_village", "relocation_site"])
    table.to_csv(tmp_path / "villages.csv", index=False)
    scenario = _with_villages(tmp_path, "villages.csv")
    assert_rejected(scenario, out, "villages.csv", "missing column(s) 'poverty_village', "
                    "'relocation_site'", "'poverty_village' is read for "
                    "demand.mandatory.poverty_villages: set it to false if the layer has no such "
                    "column", "'relocation_site' is read for demand.mandatory.relocation_sites")
    _edit_scenario(scenario, lambda d: d.setdefault("demand", {}).update(
        mandatory={"poverty_villages": False, "relocation_sites": False}))
    villages = read_region(load_scenario(scenario)).villages
    assert sorted(villages.index) == ["V1", "V2"]
    assert not villages[["poverty_village", "relocation_site"]].to_numpy().any()


def test_duplicate_ids_in_a_sheet_name_their_rows(tmp_path, out):
    """The sheet's rows of a duplicate id (the header is row 1), so the planner finds both."""
    table = _villages_table()
    again = len(table) + 2  # the first village's row listed once more, at the end
    pd.concat([table, table.iloc[[0]]]).to_csv(tmp_path / "villages.csv", index=False)
    assert_rejected(_with_villages(tmp_path, "villages.csv"), out, "villages.csv",
                    f"duplicate village_id {table['village_id'].iloc[0]} (rows 2, {again})")


def test_one_row_with_longitude_and_latitude_swapped_is_named(tmp_path, out):
    """One row typed latitude first in a GCJ-02 sheet: the row is named and told to swap its
    two numbers (the whole sheet was blamed on its CRS label, no row named)."""
    table = _villages_table()
    table.loc[1, ["lon", "lat"]] = table.loc[1, ["lat", "lon"]].to_numpy()
    table.to_csv(tmp_path / "villages.csv", index=False)
    source = {"path": "villages.csv", "crs": "GCJ-02"}
    lines = assert_rejected(_with_villages(tmp_path, source), out, "villages.csv",
                            "feature(s) V2 have latitudes beyond 90 degrees",
                            "swap the two coordinates in those rows")
    assert len(lines) == 1 and "CRS" not in lines[0], lines


def test_a_bad_value_in_a_mapped_column_names_the_column(tmp_path, out):
    """A 贫困村 cell written 待定 ("to be decided"): the error names the sheet's column beside
    siting's field (it named poverty_village only, which the sheet does not have)."""
    table = _villages_table().rename(columns={"poverty_village": "贫困村"})
    table["贫困村"] = table["贫困村"].astype(object)
    table.loc[0, "贫困村"] = "待定"
    table.to_csv(tmp_path / "villages.csv", index=False)
    source = {"path": "villages.csv", "fields": {"poverty_village": "贫困村"}}
    assert_rejected(_with_villages(tmp_path, source), out, "villages.csv",
                    "field 'poverty_village' (column '贫困村')", "V1")


def test_mapped_column_that_is_not_there(tmp_path, out):
    _villages_table().to_csv(tmp_path / "villages.csv", index=False)
    source = {"path": "villages.csv", "fields": {"population": "人口"}}
    assert_rejected(_with_villages(tmp_path, source), out, "villages.csv", "人口 (for population)")


def test_longitude_and_latitude_swapped(tmp_path, out):
    table = _villages_table().rename(columns={"lon": "lat", "lat": "lon"})
    table.to_csv(tmp_path / "villages.csv", index=False)
    assert_rejected(_with_villages(tmp_path, "villages.csv"), out, "villages.csv",
                    "longitude and latitude look swapped", "swap the x and y columns")


def test_xlsx_sheet_that_does_not_exist(tmp_path, out):
    with pd.ExcelWriter(tmp_path / "villages.xlsx", engine="openpyxl") as writer:
        _villages_table().to_excel(writer, sheet_name="村庄", index=False)
    source = {"path": "villages.xlsx", "sheet": "村"}
    assert_rejected(_with_villages(tmp_path, source), out, "villages.xlsx", "sheet '村' not found",
                    "sheets: 村庄")


def test_gcj02_points_outside_china(tmp_path, out):
    table = _villages_table()
    table["lon"] -= 120.0  # somewhere in the Atlantic
    table.to_csv(tmp_path / "villages.csv", index=False)
    source = {"path": "villages.csv", "crs": "GCJ-02"}
    assert_rejected(_with_villages(tmp_path, source), out, "villages.csv", "outside China")


def test_duplicate_ids_in_a_table(tmp_path, out):
    table = _villages_table()
    table["village_id"] = "V1"
    table.to_csv(tmp_path / "villages.csv", index=False)
    assert_rejected(_with_villages(tmp_path, "villages.csv"), out, "villages.csv",
                    "duplicate village_id V1")


def test_undecodable_text(tmp_path, out):
    text = _villages_table().to_csv(index=False).encode("utf-8")
    (tmp_path / "villages.csv").write_bytes(text.replace(b"Village V1", b"Village \xff\xfe\xff"))
    assert_rejected(_with_villages(tmp_path, "villages.csv"), out, "villages.csv",
                    "neither UTF-8 nor GB18030", "CSV UTF-8")


@pytest.mark.parametrize("value, expected", [
    ("maybe", ("field 'poverty_village'", "V2", "maybe")),
    ("", ("field 'poverty_village' is empty", "V2", "fill it in")),  # required: a blank is no answer
])
def test_bad_or_blank_required_booleans_name_the_rows(tmp_path, out, value, expected):
    table = _villages_table()
    table["poverty_village"] = ["是", value]
    table.to_csv(tmp_path / "villages.csv", index=False)
    assert_rejected(_with_villages(tmp_path, "villages.csv"), out, "villages.csv", *expected)


# --- backhaul inputs: fiber nodes, roads, has_fiber -------------------------------------------

def _fiber_table(nodes) -> pd.DataFrame:
    """Fiber nodes (node_id, x_m, y_m in the region's metres) as a table of lon/lat."""
    points = gpd.GeoSeries([Point(*xy(x, y)) for _, x, y in nodes], crs=CRS).to_crs("EPSG:4326")
    return pd.DataFrame({"node_id": [node for node, _, _ in nodes],
                         "lon": points.x.round(7).to_numpy(), "lat": points.y.round(7).to_numpy()},
                        columns=["node_id", "lon", "lat"])


def _backhaul_region(tmp_path: Path, nodes=(("N1", 300, 3000),), *, enabled=True,
                     **overrides) -> Path:
    """The standard region planning backhaul, its fiber nodes in fiber.csv (inputs.fiber_nodes)."""
    _fiber_table(nodes).to_csv(tmp_path / "fiber.csv", index=False)
    scenario = _region(tmp_path, backhaul={"enabled": enabled}, **overrides)
    return _edit_scenario(scenario, lambda d: d["inputs"].update(fiber_nodes="fiber.csv"))


def test_fiber_nodes_are_not_read_without_backhaul(tmp_path, caplog):
    scenario = _backhaul_region(tmp_path, [("N1", 300, 3000), ("N1", 9000, 3000)], enabled=False)
    result = runner.invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert any("inputs.fiber_nodes not read: backhaul.enabled is false" in r.getMessage()
               for r in caplog.records)


def _validate_rejected(scenario: Path, *needles: str) -> list[str]:
    """``siting validate`` refuses ``scenario``: exit 2, one clear line each, ``needles`` in them."""
    result = runner.invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.exception)
    assert "Traceback" not in result.stderr
    lines = _error_lines(result.stderr)
    assert lines and all(line.startswith("siting: error: ") for line in lines), result.stderr
    for needle in needles:
        assert needle in result.stderr, f"{needle!r} not in:\n{result.stderr}"
    return lines


def test_no_fiber_anywhere_is_found_by_validate(tmp_path, out):
    scenario = _region(tmp_path, backhaul={"enabled": True})  # no fiber nodes, no has_fiber
    needles = ("scenario.yaml", "no fiber", "inputs.fiber_nodes", "has_fiber",
               "backhaul.enabled: false")
    assert len(_validate_rejected(scenario, *needles)) == 1
    assert_rejected(scenario, out, *needles)


def test_a_candidate_with_fiber_is_fiber_enough(tmp_path):
    sites = _candidates()
    sites[0]["has_fiber"] = "有"
    scenario = _region(tmp_path, candidates=sites, backhaul={"enabled": True})
    result = runner.invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 0, (result.stderr, result.exception)


def test_fiber_node_id_that_is_a_site_id(tmp_path, out):
    scenario = _backhaul_region(tmp_path, [("N1", 300, 3000), ("S2", 600, 3000)])
    lines = assert_rejected(scenario, out, "fiber.csv", "node_id S2", "site_id",
                            "layer 'candidates'", "other ids")
    assert len(lines) == 1 and "N1" not in lines[0]


def test_a_fiber_node_beyond_the_dem_ends_the_routes_it_is_nearest(tmp_path, caplog):
    # An exchange in the next county, 3 km east of the DEM: S2 (5,000 m east) is 4.0 km from
    # it and 4.7 km from N1, so its fiber runs to N9, off road: 4.0 km x detour_factor 1.4.
    scenario = _backhaul_region(tmp_path, [("N1", 300, 3000), ("N9", 9000, 3000)],
                                candidates=[candidate("S2", 5000, 3500)],
                                objective={"type": "max_coverage", "budget_cny": 5e6})
    result = runner.invoke(app, ["run", str(scenario), "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, (result.stderr, result.exception)
    warned = [r.getMessage() for r in caplog.records if "outside the DEM" in r.getMessage()]
    assert len(warned) == 1 and "fiber.csv" in warned[0] and "N9 (3.0 km)" in warned[0]
    assert "N1" not in warned[0]
    links = gpd.read_file(tmp_path / "out" / "sites.gpkg", layer="backhaul_links")
    to_s2 = links[(links.from_id == "S2") & (links.kind == "fiber")]
    assert list(to_s2.to_id) == ["N9"]
    straight_m = float(np.hypot(9000 - 5000, 3000 - 3500))
    assert to_s2.length_m.iloc[0] == pytest.approx(1.4 * straight_m, rel=0.01)
    assert to_s2.cost_cny.iloc[0] == pytest.approx(150_000 * 1.4 * straight_m / 1000, rel=0.01)


def test_fiber_nodes_all_beyond_the_dem_are_refused(tmp_path, out):
    scenario = _backhaul_region(tmp_path, [("N8", 8000, 3000), ("N9", 9000, 3000)])
    lines = assert_rejected(scenario, out, "fiber.csv", "outside the DEM", "N8", "N9")
    assert len(lines) == 1


def test_a_fiber_node_with_its_coordinates_swapped_is_refused(tmp_path, out):
    scenario = _backhaul_region(tmp_path, [("N1", 300, 3000), ("N2", 3000, 3000)])
    table = pd.read_csv(tmp_path / "fiber.csv")
    table.loc[1, ["lon", "lat"]] = table.loc[1, ["lat", "lon"]].to_numpy()
    table.to_csv(tmp_path / "fiber.csv", index=False)
    lines = assert_rejected(scenario, out, "fiber.csv", "N2", "swapped")
    assert len(lines) == 1 and "N1" not in lines[0]


def test_an_empty_fiber_node_table_says_which_input_and_what_to_do(tmp_path, out):
    scenario = _backhaul_region(tmp_path, nodes=())
    assert (tmp_path / "fiber.csv").read_text().strip() == "node_id,lon,lat"
    lines = assert_rejected(scenario, out, "fiber.csv", "no rows", "inputs.fiber_nodes",
                            "remove inputs.fiber_nodes from the scenario")
    assert len(lines) == 1


def test_a_bad_coordinate_below_a_title_names_its_spreadsheet_row(tmp_path, out):
    table = _villages_table()
    table["lon"] = table["lon"].astype(object)
    table.loc[1, "lon"] = "108,9"  # a decimal comma
    text = "安康市村庄清单,,,\n\n" + table.to_csv(index=False)  # title, blank, header: row 3
    (tmp_path / "villages.csv").write_text(text, encoding="utf-8")
    assert_rejected(_with_villages(tmp_path, "villages.csv"), out, "villages.csv",
                    "row(s) 5 have no coordinates", "108,9", "108°58")


def test_a_row_without_coordinates_is_reported_with_the_sheets_other_problems(tmp_path, out):
    """A blank coordinate in one row and a population typed as text in another: both in one
    run (the blank coordinate stopped the reading, and the planner met the second problem
    only after fixing the first)."""
    table = _villages_table()
    table[["lat", "population"]] = table[["lat", "population"]].astype(object)
    table.loc[0, "lat"] = None
    table.loc[1, "population"] = "约两百"
    table.to_csv(tmp_path / "villages.csv", index=False)
    lines = assert_rejected(_with_villages(tmp_path, "villages.csv"), out, "villages.csv",
                            "row(s) 2 have no coordinates in columns 'lon'/'lat'",
                            "field 'population'", "V2")
    assert len(lines) == 2, lines


def test_an_excel_97_workbook_is_told_to_be_saved_as_xlsx(tmp_path, out):
    # The first bytes of every Excel 97-2003 file (an OLE2 compound document).
    (tmp_path / "villages.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    assert_rejected(_with_villages(tmp_path, "villages.xls"), out, "villages.xls",
                    "Excel 97-2003", "save it as", ".xlsx")


def test_a_first_sheet_of_instructions_names_the_sheet_with_coordinates(tmp_path, out):
    with pd.ExcelWriter(tmp_path / "villages.xlsx", engine="openpyxl") as writer:
        pd.DataFrame({"填表说明": ["坐标用高德地图拾取"]}).to_excel(writer, sheet_name="说明",
                                                           index=False)
        _villages_table().to_excel(writer, sheet_name="村庄", index=False)
    lines = assert_rejected(_with_villages(tmp_path, "villages.xlsx"), out, "villages.xlsx",
                            "first sheet '说明' has no header row", "set sheet: 村庄")
    assert len(lines) == 1


@pytest.mark.parametrize("swap, zone, expected", [
    (True, 0, ("x and y look swapped", "northing X", "easting column as x:")),
    (False, 37, ("zone number 37 in front", "declare EPSG:4525 (CGCS2000 / 3-degree "
                                            "Gauss-Kruger zone 37)")),
])
def test_coordinates_written_as_chinese_surveying_writes_them(tmp_path, out, swap, zone, expected):
    """X the northing, Y the easting, and the zone in front of the easting (37512345.6)."""
    table = _villages_table("EPSG:4546")  # CGCS2000 / 3-degree Gauss-Kruger CM 111E
    table["lon"] += zone * 1e6
    table = table.rename(columns={"lon": "Y坐标", "lat": "X坐标"})
    table.to_csv(tmp_path / "villages.csv", index=False)
    x, y = ("X坐标", "Y坐标") if swap else ("Y坐标", "X坐标")
    source = {"path": "villages.csv", "crs": "EPSG:4546", "x": x, "y": y}
    lines = assert_rejected(_with_villages(tmp_path, source), out, "villages.csv",
                            "outside the area of CGCS2000 / 3-degree Gauss-Kruger CM 111E",
                            *expected)
    assert len(lines) == 1


@pytest.mark.parametrize("title, row", [("", 3), ("安康市村庄清单,,,\n", 4)])
def test_a_table_row_without_id_is_named_by_its_spreadsheet_row(tmp_path, out, title, row):
    table = _villages_table()
    table["village_id"] = table["village_id"].astype(object)
    table.loc[1, "village_id"] = ""  # the second village: spreadsheet row 3 below the header
    (tmp_path / "villages.csv").write_text(title + table.to_csv(index=False), encoding="utf-8")
    lines = assert_rejected(_with_villages(tmp_path, "villages.csv"), out, "villages.csv",
                            f"field 'village_id' is empty for row {row};")
    assert len(lines) == 1

"""QA of the year-end evaluation as a county evaluator reads it: the budget score, the sites'
surveyed positions in every format and coordinate system, and the odd rows of an as-built list.

The region: three villages 2 km apart on a flat valley floor (300, 200 and 100 people, all
mandatory), one candidate beside each (S1, S2, S3), a 4G range of 900 m and one site's budget
a year, so the plan builds S1 in 2027, S2 in 2028 and S3 in 2029, each at a capex of
50,000 + 150,000 CNY.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
from shapely.geometry import Point
from typer.testing import CliRunner

from siting.cli import app
from siting.evaluate import evaluate_plan
from siting.pipeline import run_scenario
from tests.regions import CRS, TECH_4G, candidate, one_site_a_year_region, village, write_region, xy

runner = CliRunner()
#: WGS 84 / GCJ-02 / BD-09 coordinates of the same places, from two independent open
#: implementations (SOURCE.md beside it).
PAIRS = Path("/work/shared/data/real/coordinates_gcj02/wgs84_gcj02_bd09_pairs.csv")
GEOD = pyproj.Geod(ellps="WGS84")

SITES = {"S1": (1000, 3000), "S2": (3000, 3000), "S3": (5000, 3000)}
PEOPLE = {"V1": 300, "V2": 200, "V3": 100}
#: The plan's capex of each site: the candidate's 50,000 and the 4G equipment's 150,000 [CNY].
SITE_CAPEX_CNY = 50000 + 150000
#: The default score weights (README, "Year-end evaluation and the rolling plan").
WEIGHTS = {"sites_on_time": 30, "budget": 10, "people": 20, "mandatory_villages": 30,
           "complaints": 10}


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("qa_yearend2")
    villages = [village(v, x, 3000, population=PEOPLE[v])
                for v, x in (("V1", 1000), ("V2", 3000), ("V3", 5000))]
    candidates = [candidate(s, x, y, techs="4G") for s, (x, y) in SITES.items()]
    scenario = one_site_a_year_region(folder / "in", villages, candidates)
    run_scenario(scenario, folder / "plan")
    return scenario, folder / "plan"


def as_built_csv(path, rows) -> str:
    path.write_text("site_id,technology,year,cost_cny\n"
                    + "".join(",".join(map(str, r)) + "\n" for r in rows), encoding="utf-8")
    return path


def county_row(evaluation, county: str = "A"):
    return evaluation.counties.set_index("admin_unit").loc[county]


def test_a_site_not_built_gives_no_allowance_to_the_sites_built(plan, tmp_path):
    """By 2028 S1 and S2 are due; the county built S1 alone, for 300,000 CNY against its
    planned 200,000. The budget criterion set the planned cost of both sites due (400,000)
    against what was spent: 1.0, the unbuilt S2's money hiding S1's overrun. It now sets the
    planned cost of what was built against what that cost (earned value's cost performance
    index): 200,000 / 300,000. The county's score, by hand from README's weights."""
    _, folder = plan
    built = as_built_csv(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 300000)])
    county = county_row(evaluate_plan(folder, built, year="2028"))
    budget = SITE_CAPEX_CNY / 300000
    assert county.criterion_budget == pytest.approx(budget, abs=1e-4)
    criteria = {"sites_on_time": 1 / 2,  # S1 on time, S2 not built
                "budget": budget,
                "people": PEOPLE["V1"] / (PEOPLE["V1"] + PEOPLE["V2"]),  # gained / planned gain
                "mandatory_villages": 1 / 2, "complaints": 1.0}  # no complaint points
    hand = 100 * sum(WEIGHTS[c] * v for c, v in criteria.items()) / sum(WEIGHTS.values())
    assert county.score == pytest.approx(round(hand, 1), abs=1e-9)


def test_the_budget_compares_each_built_sites_plan_with_its_cost(plan, tmp_path):
    """S1 built late (2028) at 180,000 CNY and S3 a year early at 260,000: the planned cost of
    both (2 x 200,000) against their 440,000; S2, due and not built, gives no allowance."""
    _, folder = plan
    built = as_built_csv(tmp_path / "built.csv", [("S1", "4G-1800", 2028, 180000),
                                                  ("S3", "4G-1800", 2028, 260000)])
    county = county_row(evaluate_plan(folder, built, year="2028"))
    assert county.criterion_budget == pytest.approx(2 * SITE_CAPEX_CNY / 440000, abs=1e-4)
    assert (county.planned_cost_cny, county.spent_cny) == (2 * SITE_CAPEX_CNY, 440000)


@pytest.fixture(scope="module")
def ankang(tmp_path_factory):
    """A single-period plan of one site, H1 at the reference pairs' Ankang city (Hanbin),
    and its village 300 m east; (the plan folder, the place's reference row, the scenario)."""
    if not PAIRS.exists():
        pytest.skip(f"the WGS 84 / GCJ-02 / BD-09 reference pairs are absent: {PAIRS}")
    place = pd.read_csv(PAIRS).set_index("place").loc["Ankang city (Hanbin)"]
    x, y = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(
        place.wgs84_lon, place.wgs84_lat)
    folder = tmp_path_factory.mktemp("qa_yearend2_ankang")
    site = dict(candidate("H1", 0, 0, techs="4G"), geometry=Point(x, y))
    home = dict(village("V1", 0, 0), geometry=Point(x + 300, y))
    scenario = write_region(folder / "in", np.full((100, 100), 300.0), [home], [site],
                            origin=(x - 1500, y + 1500), technologies=[dict(TECH_4G, max_range_m=900)])
    run_scenario(scenario, folder / "plan")
    return folder / "plan", place, scenario


def surveyed_csv(path, lon, lat) -> Path:
    path.write_text(f"站址编号,制式,建成年份,实际投资(元),经度,纬度\nH1,4G-1800,2027,200000,{lon},{lat}\n",
                    encoding="utf-8")
    return path


def moved_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "away from their candidates" in r.getMessage()]


@pytest.mark.parametrize("system", ["GCJ-02", "BD-09"])
def test_a_site_surveyed_on_a_web_map_is_read_in_its_system(ankang, tmp_path, caplog, system):
    """H1 built where it was planned, its coordinates copied from Amap (GCJ-02) or Baidu
    (BD-09): read as WGS 84 they put it 500 m or more off (a warning, or a refusal past
    1 km); with --built-crs naming the map's system it is where it was planned: no warning."""
    folder, place, _ = ankang
    column = "gcj02" if system == "GCJ-02" else "bd09"
    built = surveyed_csv(tmp_path / "built.csv", place[f"{column}_lon"], place[f"{column}_lat"])
    with caplog.at_level(logging.WARNING, logger="siting"):
        e = evaluate_plan(folder, built, built_crs=system)
    assert list(e.sites["status"]) == ["on_time"]
    assert moved_warnings(caplog) == []
    offset_m = GEOD.inv(place.wgs84_lon, place.wgs84_lat, place[f"{column}_lon"],
                        place[f"{column}_lat"])[2]
    caplog.clear()
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built), "--out",
                                 str(tmp_path / "ev"), "-q"])
    said = moved_warnings(caplog) or result.output.strip().splitlines()
    assert len(said) == 1 and f"--built-crs {system}" in said[0], said
    said_m = float(re.search(r"(?:H1 \(|placed )([\d,]+) m", said[0])[1].replace(",", ""))
    assert said_m == pytest.approx(offset_m, abs=1.0)


def test_the_cli_reads_the_lists_coordinates_in_the_crs_it_declares(ankang, tmp_path):
    """siting evaluate --built-crs GCJ-02: the Amap coordinates of the site built where it
    was planned; exit 0 and the site on time in evaluation.json."""
    folder, place, _ = ankang
    built = surveyed_csv(tmp_path / "built.csv", place.gcj02_lon, place.gcj02_lat)
    out = tmp_path / "ev"
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built), "--built-crs",
                                 "GCJ-02", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    sites = pd.read_json(out / "evaluation.json", typ="series")["sites"]
    assert [(s["site_id"], s["status"]) for s in sites] == [("H1", "on_time")]


def test_a_replan_reads_the_lists_coordinates_in_the_crs_it_declares(ankang, tmp_path):
    """siting run --built with H1's Baidu coordinates, 1.1 km off read as WGS 84: refused in
    one line that names --built-crs BD-09; with --built-crs BD-09 the re-plan keeps H1 on
    air. --built-crs without --built is refused in one line."""
    _, place, scenario = ankang
    built = surveyed_csv(tmp_path / "built.csv", place.bd09_lon, place.bd09_lat)
    out = tmp_path / "replan"
    refused = runner.invoke(app, ["run", str(scenario), "--built", str(built), "--out", str(out), "-q"])
    lines = refused.output.strip().splitlines()
    assert refused.exit_code == 2 and len(lines) == 1 and "--built-crs BD-09" in lines[0], lines
    assert not out.exists()
    result = runner.invoke(app, ["run", str(scenario), "--built", str(built), "--built-crs",
                                 "BD-09", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["as_built"]["sites"] == 1
    alone = runner.invoke(app, ["run", str(scenario), "--built-crs", "BD-09", "-q"])
    assert (alone.exit_code, alone.output.strip()) == (
        2, "siting: error: --built-crs needs --built (the as-built list it refers to)")


#: CGCS2000 / 3-degree Gauss-Kruger CM 111E: the plan's region lies on its central meridian.
GAUSS_KRUGER_111E = "EPSG:4546"


def as_built_layer(path, rows, crs: str, **options) -> Path:
    """A vector as-built list: (site, technology, year, cost, point in the run's CRS) per
    row, written in ``crs``."""
    frame = gpd.GeoDataFrame(
        {"site_id": [r[0] for r in rows], "technology": [r[1] for r in rows],
         "year": [r[2] for r in rows], "cost_cny": [r[3] for r in rows]},
        geometry=[r[4] for r in rows], crs=CRS).to_crs(crs)
    frame.to_file(path, engine="pyogrio", **options)
    return path


def geodesic_m(a: Point, b: Point) -> float:
    """The distance [m] on the ellipsoid between two points of the run's CRS."""
    to_lonlat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    return GEOD.inv(*to_lonlat.transform(a.x, a.y), *to_lonlat.transform(b.x, b.y))[2]


def test_a_geopackage_in_gauss_kruger_is_checked_as_a_table_is(plan, tmp_path):
    """An as-built GeoPackage in CGCS2000 Gauss-Kruger placing S2 3 km east of its candidate
    was read without its geometry: S2 counted built where nothing was. Now one line names
    the file, the row, the geometry and the distance; exit 2, nothing written."""
    _, folder = plan
    s1, s2 = Point(*xy(*SITES["S1"])), Point(*xy(*SITES["S2"]))
    far = Point(s2.x + 3000, s2.y)
    built = as_built_layer(tmp_path / "built.gpkg", [("S1", "4G-1800", "2027", 200000, s1),
                                                     ("S2", "4G-1800", "2027", 200000, far)],
                           GAUSS_KRUGER_111E)
    out = tmp_path / "ev"
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built), "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"siting: error: {built}: row 3, field 'geometry': site S2 is placed "), lines
    assert "CGCS2000 / 3-degree Gauss-Kruger CM 111E" in lines[0]
    said_m = float(re.search(r"placed ([\d,]+) m", lines[0])[1].replace(",", ""))
    assert said_m == pytest.approx(geodesic_m(s2, far), abs=2.0)
    assert not out.exists()


def test_a_shapefile_placing_a_site_next_door_is_that_site(plan, tmp_path, caplog):
    """A Shapefile in Gauss-Kruger placing S1 400 m from its candidate (the next roof): S1
    on time, named in the warning with its distance; one without geometry (not surveyed)
    is its candidate."""
    _, folder = plan
    s1 = Point(*xy(*SITES["S1"]))
    built = as_built_layer(tmp_path / "built.shp", [("S1", "4G-1800", "2027", 200000,
                                                     Point(s1.x, s1.y + 400))], GAUSS_KRUGER_111E)
    with caplog.at_level(logging.WARNING, logger="siting"):
        e = evaluate_plan(folder, built, year="2027")
    assert dict(zip(e.sites["site_id"], e.sites["status"]))["S1"] == "on_time"
    said = moved_warnings(caplog)
    assert len(said) == 1, said
    named = dict(re.findall(r"(S\d) \(([\d,]+) m\)", said[0]))
    assert float(named["S1"]) == pytest.approx(geodesic_m(s1, Point(s1.x, s1.y + 400)), abs=2.0)


def test_a_crs_declared_for_a_list_without_coordinates_is_refused(plan, tmp_path):
    """--built-crs GCJ-02 with a list that gives no coordinates: the planner meant a file
    with them; one line says the list gives none, exit 2, nothing written."""
    _, folder = plan
    built = as_built_csv(tmp_path / "built.csv", [("S1", "4G-1800", 2027, 200000)])
    out = tmp_path / "ev"
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built), "--built-crs",
                                 "GCJ-02", "--out", str(out)])
    assert (result.exit_code, result.output.strip().splitlines()) == (2, [
        f"siting: error: {built}: --built-crs GCJ-02 declares the CRS of the sites' coordinates, "
        f"but the list gives none (no 经度/纬度 or lon/lat columns, no point geometries); add "
        f"them, or leave --built-crs out"])
    assert not out.exists()


def kml_placemark(site_id: str, year: int, at: Point) -> str:
    """A KML placemark of an as-built site at ``at`` (the run's CRS), fields as ExtendedData."""
    lon, lat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(at.x, at.y)
    data = {"站址编号": site_id, "制式": "4G-1800", "建成年份": year, "实际投资": 200000}
    fields = "".join(f'<Data name="{k}"><value>{v}</value></Data>' for k, v in data.items())
    return (f"<Placemark><name>{site_id}</name><ExtendedData>{fields}</ExtendedData>"
            f"<Point><coordinates>{lon:.6f},{lat:.6f},0</coordinates></Point></Placemark>")


def test_every_folder_of_an_as_built_kml_is_read(plan, tmp_path):
    """A KML as-built list kept in Google Earth with a folder per year (2027年, 2028年): only
    the first folder was read, so S2, built in 2028, was lost and 2027 evaluated. Every
    folder is read now, as an input layer's are: 2028 evaluated, S1 and S2 on time."""
    _, folder = plan
    folders = "".join(f"<Folder><name>{year}年</name>{kml_placemark(s, year, Point(*xy(*SITES[s])))}"
                      f"</Folder>" for s, year in (("S1", 2027), ("S2", 2028)))
    built = tmp_path / "竣工.kml"
    built.write_text('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/'
                     f'kml/2.2"><Document>{folders}</Document></kml>', encoding="utf-8")
    e = evaluate_plan(folder, built)
    assert e.year == "2028"
    assert dict(zip(e.sites["site_id"], e.sites["status"])) == {"S1": "on_time", "S2": "on_time",
                                                                  "S3": "later"}


def test_a_one_point_multipoint_is_a_point_and_a_polygon_is_refused(plan, tmp_path):
    """A GeoPackage whose tool wrote S1 as a multi-point of one point, 3 km from its
    candidate, and S2 as a polygon (the site's plot): S1 is checked as a point (refused by
    its distance), S2 refused as no point; one line each, exit 2."""
    from shapely.geometry import MultiPoint
    _, folder = plan
    s1, s2 = Point(*xy(*SITES["S1"])), Point(*xy(*SITES["S2"]))
    far = Point(s1.x + 3000, s1.y)
    built = as_built_layer(tmp_path / "built.gpkg",
                           [("S1", "4G-1800", "2027", 200000, MultiPoint([far])),
                            ("S2", "4G-1800", "2027", 200000, s2.buffer(20))], "EPSG:4326")
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built), "--out",
                                 str(tmp_path / "ev")])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 2, result.output
    assert lines[0].startswith(f"siting: error: {built}: row 3, field 'geometry': a Polygon, not a point")
    assert lines[1].startswith(f"siting: error: {built}: row 2, field 'geometry': site S1 is placed ")
    assert "--built-crs" not in lines[1]  # a GeoPackage says its own CRS
    said_m = float(re.search(r"placed ([\d,]+) m", lines[1])[1].replace(",", ""))
    assert said_m == pytest.approx(geodesic_m(s1, far), abs=2.0)


def nothing_built_sheet(path) -> Path:
    """A county office's sheet of every planned site, each answered 否 (not built)."""
    path.write_text("站址编号,制式,建成年份,实际投资,是否建成\n" + "".join(
        f"{s},4G-1800,{year},0,否\n" for s, year in (("S1", 2027), ("S2", 2028), ("S3", 2029))),
        encoding="utf-8")
    return path


def test_a_county_that_built_nothing_is_evaluated(plan, tmp_path):
    """A county that built none of its sites answers 否 on every row of its sheet: the list was
    refused ('list the sites built'), so the county that did least had no evaluation at all.
    With --year it is evaluated: S1 due and not built, the score by hand; without, one line
    asks for the year."""
    _, folder = plan
    built = nothing_built_sheet(tmp_path / "建设进度.csv")
    e = evaluate_plan(folder, built, year="2027")
    assert dict(zip(e.sites["site_id"], e.sites["status"])) == {"S1": "not_built", "S2": "later",
                                                                  "S3": "later"}
    county = county_row(e)
    assert (county.sites_due, county.sites_due_built, county.spent_cny) == (1, 0, 0)
    criteria = {"sites_on_time": 0.0, "budget": 1.0,  # nothing built: no overrun
                "people": 0.0, "mandatory_villages": 0.0, "complaints": 1.0}
    hand = 100 * sum(WEIGHTS[c] * v for c, v in criteria.items()) / sum(WEIGHTS.values())
    assert county.score == pytest.approx(hand, abs=1e-9)
    out = tmp_path / "ev"
    result = runner.invoke(app, ["evaluate", str(folder), "--built", str(built), "--out", str(out)])
    assert (result.exit_code, result.output.strip().splitlines()) == (2, [
        f"siting: error: {built}: no row says a site was built, so the list names no year; "
        f"give the year evaluated with --year"])
    assert not out.exists()


def test_a_replan_after_a_year_that_built_nothing_plans_the_years_left(plan, tmp_path):
    """siting run --built with every row 否 and --year 2027: the plan of 2028 and 2029 from
    the sites on air before (none built): two of the three sites, one a year."""
    scenario, _ = plan
    built = nothing_built_sheet(tmp_path / "建设进度.csv")
    out = tmp_path / "replan"
    result = runner.invoke(app, ["run", str(scenario), "--built", str(built), "--year", "2027",
                                 "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [p["label"] for p in summary["phases"]] == ["2028", "2029"]
    assert (summary["as_built"]["sites"], summary["as_built"]["spent_cny"]) == (0, 0)
    sites = pd.read_csv(out / "selected_sites.csv", dtype=str)
    assert sorted(sites.loc[sites["action"] == "build", "phase"]) == ["2028", "2029"]

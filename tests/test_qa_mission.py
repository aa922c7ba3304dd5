"""The prefecture's own rules, end to end: complaints and 5G zones as planners bring them
(a ticket system's workbook, zones drawn in a web map), relocation settlements, free public
sites and the yearly quota of new sites, each checked against a hand computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj
import pytest
import yaml
from shapely.geometry import Point, box
from typer.testing import CliRunner

from regions import (CRS, ONE_4G_SITE_CNY, TECH_4G, TECH_5G, candidate, ridge_dem, village,
                     write_region, xy)
from siting.china_crs import wgs84_to_gcj02
from siting.cli import app
from siting.config import load_scenario
from siting.pipeline import compute, write_outputs

runner = CliRunner()
FLAT = np.full((200, 200), 400.0)
TO_LONLAT = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def _gcj02_text(col_m: float, row_m: float) -> str:
    """The point ``col_m`` east and ``row_m`` south of the test region's corner as Amap's
    coordinate picker copies it: "lon,lat" in GCJ-02, 6 decimals."""
    lon, lat = wgs84_to_gcj02(*TO_LONLAT.transform(*xy(col_m, row_m)))
    return f"{float(lon):.6f},{float(lat):.6f}"


def _set_input(scenario, layer: str, source: dict) -> None:
    doc = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    doc["inputs"][layer] = source
    scenario.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def _built(run) -> dict[str, str]:
    """site_id -> technology of each option the plan builds."""
    options = run.coverage.options.loc[run.plan.new_options]
    return dict(zip(options["site_id"], options["technology"]))


def test_complaints_exported_from_a_ticket_system_are_planned(tmp_path):
    # A complaint system's export: 工单号, 投诉时间, 投诉地址 and the position as Amap gives it
    # (GCJ-02, one cell "lon,lat"); no head count, as complaint points weigh no people. The
    # run refused it: "missing column(s) 'people'", a column siting never used.
    where_m = {"TS20260001": (1500, 1500), "TS20260002": (2000, 1200)}
    scenario = write_region(tmp_path, FLAT, [village("V1", 1000, 1000)],
                            [candidate("S1", 1200, 1000, techs="4G")],
                            technologies=[dict(TECH_4G, max_range_m=1500)])
    pd.DataFrame([{"工单号": ticket, "投诉时间": "2026-03-01 10:12", "投诉地址": "汉滨区某村三组",
                   "经纬度": _gcj02_text(*at), "投诉内容": "室内无信号"}
                  for ticket, at in where_m.items()]).to_excel(tmp_path / "投诉.xlsx", index=False)
    _set_input(scenario, "complaints", {"path": "投诉.xlsx", "crs": "GCJ-02",
                                        "fields": {"complaint_id": "工单号"}})
    run = compute(load_scenario(scenario))
    rows = np.flatnonzero(run.demand.kind == "complaint")
    assert list(run.demand.ref_id[rows]) == list(where_m)
    expected = np.array([xy(*at) for at in where_m.values()])
    # GCJ-02 inverted to WGS 84 to under a millimetre; 6 decimals are 0.1 m
    np.testing.assert_allclose(np.c_[run.demand.x_m[rows], run.demand.y_m[rows]], expected,
                               atol=0.2)
    assert run.demand.mandatory[rows].all() and run.plan.covered_after[rows].all()
    assert _built(run) == {"S1": "4G-1800"}


def _zone_ring(x0_m, y0_m, x1_m, y1_m) -> str:
    corners = [(x0_m, y0_m), (x1_m, y0_m), (x1_m, y1_m), (x0_m, y1_m), (x0_m, y0_m)]
    return " ".join(f"{_gcj02_text(*corner)},0" for corner in corners)


#: Two 5G zones (col, row of two corners [m]) as a web map draws them: a name, a polygon.
WEB_MAP_ZONES = {"县城": (1000, 1000, 1600, 1500), "工业园区": (3000, 3000, 3500, 3400)}
ZONE_SAMPLE_M = 250.0  # the default demand.zone_sample_m


def _write_web_map_kml(path) -> None:
    placemarks = "".join(
        f"<Placemark><name>{name}</name><Polygon><outerBoundaryIs><LinearRing><coordinates>"
        f"{_zone_ring(*corners)}</coordinates></LinearRing></outerBoundaryIs></Polygon>"
        f"</Placemark>" for name, corners in WEB_MAP_ZONES.items())
    path.write_text('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/'
                    f'kml/2.2"><Document><name>5G重点区域</name>{placemarks}</Document></kml>',
                    encoding="utf-8")


def _check_points_by_hand(corners) -> int:
    """demand.zone_sample_m's grid points inside a box zone, plus its representative point."""
    x0, y0, x1, y1 = (*xy(corners[0], corners[3]), *xy(corners[2], corners[1]))
    gx, gy = np.meshgrid(np.arange(x0 + ZONE_SAMPLE_M / 2, x1, ZONE_SAMPLE_M),
                         np.arange(y0 + ZONE_SAMPLE_M / 2, y1, ZONE_SAMPLE_M))
    zone = box(x0, y0, x1, y1)
    return 1 + sum(zone.contains(Point(x, y)) for x, y in zip(gx.ravel(), gy.ravel()))


def _web_map_zone_region(folder, **scenario):
    scenario_path = write_region(folder, FLAT, [village("V1", 1000, 1000, poverty=False)],
                                 [candidate("S1", 1200, 1000), candidate("S2", 3200, 3200)],
                                 **scenario)
    _write_web_map_kml(folder / "zones.kml")
    _set_input(scenario_path, "zones", {"path": "zones.kml", "crs": "GCJ-02",
                                        "fields": {"zone_id": "Name", "name": "Name"}})
    return scenario_path


def test_zones_drawn_in_a_web_map_are_covered_by_5g(tmp_path):
    # Zones drawn over Amap and saved as KML carry a name only: the run refused them for
    # want of 'kind' and 'require_5g' columns no web map writes. A polygon of the 5G-zone
    # layer needs 5G; its kind is read for backup coverage only.
    run = compute(load_scenario(_web_map_zone_region(tmp_path)))
    zones = run.region.zones
    assert list(zones.index) == list(WEB_MAP_ZONES) and zones["require_5g"].all()
    rows = run.demand.kind == "zone"
    by_zone = pd.Series(run.demand.ref_id[rows]).value_counts().to_dict()
    assert by_zone == {name: _check_points_by_hand(c) for name, c in WEB_MAP_ZONES.items()}
    assert run.demand.mandatory[rows].all() and run.demand.require_5g[rows].all()
    assert run.plan.covered_5g_after[rows].all()
    # every check point is served by a 5G option, and only 5G is built (no 4G is needed)
    assert set(_built(run).values()) == {"5G-3500"}
    serving = run.coverage.options.loc[run.plan.serving_option[rows], "generation"]
    assert set(serving) == {"5G"}


def test_backup_zone_kinds_without_a_kind_column_is_one_error_line(tmp_path):
    scenario = _web_map_zone_region(tmp_path, demand={"grid_m": 300, "min_people_per_cell": 1,
                                                      "backup": {"zone_kinds": ["city_centre"]}})
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(scenario), "--out", str(out)])
    assert result.exit_code == 2, (result.stderr, result.exception)
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert errors == [f"siting: error: {tmp_path / 'zones.kml'}: no column 'kind', which "
                      "demand.backup.zone_kinds (city_centre) is matched against; add a kind "
                      "to each zone (map its column with inputs.zones.fields: {kind: 类型}), "
                      "or remove demand.backup"]
    assert not out.exists()


def test_a_complaint_with_an_address_only_is_one_error_line_naming_its_row(tmp_path):
    # A ticket whose resident gave an address but no position: its 经纬度 cell is blank. The
    # line read "(row 3: nan)", a word no planner's sheet holds.
    scenario = write_region(tmp_path, FLAT, [village("V1", 1000, 1000)],
                            [candidate("S1", 1200, 1000, techs="4G")], technologies=[TECH_4G])
    pd.DataFrame({"工单号": ["TS1", "TS2"], "投诉时间": ["2026-03-01", "2026-03-02"],
                  "投诉地址": ["汉滨区某村三组", "汉滨区某镇政府旁"],
                  "经纬度": [_gcj02_text(1500, 1500), None]}).to_excel(tmp_path / "投诉.xlsx",
                                                                     index=False)
    _set_input(scenario, "complaints", {"path": "投诉.xlsx", "crs": "GCJ-02",
                                        "fields": {"complaint_id": "工单号"}})
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(scenario), "--out", str(out)])
    assert result.exit_code == 2, (result.stderr, result.exception)
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert errors == [f"siting: error: {tmp_path / '投诉.xlsx'}: row(s) 3 have no coordinates in "
                      "column '经纬度' (row 3: blank); write them as numbers (108.9701) or "
                      "degrees, minutes and seconds (108°58'12.5\") or one cell of both "
                      "(108.9701,32.6851)"]
    assert not out.exists()


@pytest.mark.parametrize("rule_on", [True, False])
def test_a_relocation_settlement_is_covered_before_a_town_fifty_times_its_size(tmp_path, rule_on):
    # 易地扶贫搬迁安置点 R (50 people, no poverty village) in the west, town B (5,000) in the
    # east, a budget for one site: the rule alone decides which is built.
    scenario = write_region(
        tmp_path, FLAT, [village("R", 500, 3000, population=50, poverty=False, relocation=True),
                         village("B", 5000, 3000, population=5000, poverty=False)],
        [candidate("W", 600, 3000, techs="4G"), candidate("E", 5100, 3000, techs="4G")],
        technologies=[dict(TECH_4G, max_range_m=1500)],
        objective={"type": "max_coverage", "budget_cny": ONE_4G_SITE_CNY},
        demand={"grid_m": 300, "min_people_per_cell": 1,
                "mandatory": {"relocation_sites": rule_on}})
    run = compute(load_scenario(scenario))
    covered = dict(zip(run.demand.ref_id, run.plan.covered_after))
    assert _built(run) == ({"W": "4G-1800"} if rule_on else {"E": "4G-1800"})
    assert covered == {"R": rule_on, "B": not rule_on}


def test_a_free_public_site_is_built_before_a_paid_one_covering_the_same(tmp_path):
    # a lamp pole offered free and a paid rooftop at the same spot: the free one costs its
    # construction, equipment and the technology's opex, not its own opex (README: a free
    # public site pays no rent, without a rent column its opex_cny_per_year)
    scenario = write_region(tmp_path, FLAT, [village("V1", 1000, 1000)],
                            [candidate("PAID", 1100, 1000, kind="rooftop", techs="4G"),
                             candidate("FREE", 1100, 1000, kind="lamp_pole", free=True,
                                       techs="4G")],
                            technologies=[dict(TECH_4G, max_range_m=900)])
    run = compute(load_scenario(scenario))
    assert _built(run) == {"FREE": "4G-1800"}
    assert run.plan.solution.objective == pytest.approx(ONE_4G_SITE_CNY - 50000)


def test_a_paid_site_covering_more_wins_the_budget_over_a_free_one(tmp_path):
    # max_coverage: the budget buys one site; FREE reaches V1 (100), PAID both (400 people)
    scenario = write_region(
        tmp_path, FLAT, [village("V1", 1000, 1000, population=100, poverty=False),
                         village("V2", 2500, 1000, population=300, poverty=False)],
        [candidate("FREE", 1000, 1100, kind="lamp_pole", free=True, techs="4G"),
         candidate("PAID", 1800, 1000, techs="4G")],
        technologies=[dict(TECH_4G, max_range_m=900)],
        objective={"type": "max_coverage", "budget_cny": ONE_4G_SITE_CNY})
    run = compute(load_scenario(scenario))
    assert _built(run) == {"PAID": "4G-1800"}
    assert run.plan.covered_after.all()


def test_the_yearly_quota_is_never_exceeded_and_the_biggest_villages_come_first(tmp_path):
    # six villages each reachable by its own site only, 2 new sites a year over 3 years:
    # by hand, the two largest in 2027, the next two in 2028, the last two in 2029
    people = [100, 105, 101, 104, 102, 103]
    villages = [village(f"V{i}", 500 + 1000 * i, 500 + 900 * (i % 5), population=p,
                        poverty=False) for i, p in enumerate(people)]
    sites = [candidate(f"S{i}", 500 + 1000 * i, 600 + 900 * (i % 5), techs="4G")
             for i in range(len(people))]
    phases = [{"year": year, "max_new_sites": 2} for year in (2027, 2028, 2029)]
    scenario = write_region(tmp_path, FLAT, villages, sites,
                            technologies=[dict(TECH_4G, max_range_m=900)],
                            objective={"type": "max_coverage", "phases": phases})
    run = compute(load_scenario(scenario))
    period = run.plan.build_period
    assert np.bincount(period[period >= 0], minlength=3).tolist() == [2, 2, 2]
    year_of = {run.coverage.options.loc[j, "site_id"]: run.plan.phase_labels[period[j]]
               for j in np.flatnonzero(period >= 0)}
    by_size = [f"S{i}" for i in np.argsort(people)[::-1]]
    assert year_of == dict(zip(by_size, ["2027"] * 2 + ["2028"] * 2 + ["2029"] * 2))


#: A second 5G carrier (n28, 700 MHz), as a prefecture plans beside n78.
TECH_5G_700 = dict(TECH_5G, name="5G-700", frequency_mhz=700, resource_blocks=52, eirp_dbm=70.0)


@pytest.mark.parametrize("kind", ["existing_5g", "existing_4g"])
def test_backup_coverage_of_a_city_centre_takes_two_sites_not_two_carriers_of_one(tmp_path,
                                                                                   kind):
    # demand.backup: "so one site's outage leaves no hole". The city centre's check points
    # were counted as backed up by EX alone: its two 5G carriers (kept, or both bought as
    # upgrades) counted as two servers, and the report said every point had backup.
    zone = dict(zone_id="Z1", name="市中心", kind="city_centre", require_5g=True,
                geometry=box(*xy(1000, 1400), *xy(1400, 1000)))
    scenario = write_region(
        tmp_path, FLAT, [village("V1", 1200, 1200, poverty=False)],
        [candidate("EX", 1200, 1200, kind=kind, capex=0), candidate("N1", 1500, 1500),
         candidate("N2", 900, 900, capex=80000)],
        technologies=[TECH_4G, TECH_5G, TECH_5G_700], zones=[zone],
        demand={"grid_m": 300, "min_people_per_cell": 1,
                "backup": {"zone_kinds": ["city_centre"], "servers": 2}})
    run = compute(load_scenario(scenario))
    options = run.coverage.options
    rows = np.flatnonzero(run.demand.kind == "zone")
    five_g = run.plan.selected[options.loc[run.plan.selected, "generation"].to_numpy() == "5G"]
    # by hand: the distinct sites whose selected 5G options reach each check point
    covers = run.coverage.covers[rows][:, five_g].toarray() > 0
    sites = options.loc[five_g, "site_id"].to_numpy()
    sites_per_point = [len(set(sites[reach])) for reach in covers]
    assert min(sites_per_point) >= 2
    # the cheaper new site N1 is the second server (every check point lies within its reach)
    assert set(options.loc[run.plan.new_options, "site_id"]) - {"EX"} == {"N1"}
    summary = write_outputs(run, tmp_path / "out")
    assert summary["kpis"]["backup_points_met"] == summary["kpis"]["backup_points_total"] == len(rows)


def test_a_zone_traced_as_a_line_in_a_web_map_is_one_error_line_saying_what_to_do(tmp_path):
    # a web map's "draw a line" round the county town: the line said only "expected Polygon
    # geometries; feature(s) 县城 are LineString", not what to do about it
    scenario = _web_map_zone_region(tmp_path)
    (tmp_path / "zones.kml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        f'<Document><Placemark><name>县城</name><LineString><coordinates>'
        f'{_zone_ring(*WEB_MAP_ZONES["县城"])}</coordinates></LineString></Placemark>'
        '</Document></kml>', encoding="utf-8")
    result = runner.invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 2, (result.stderr, result.exception)
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert errors == [f"siting: error: {tmp_path / 'zones.kml'}: expected Polygon geometries; "
                      "feature(s) 县城 are LineString; draw each as an area, not its outline as "
                      "a line (QGIS 'Lines to polygons' turns closed lines into areas)"]


def test_the_report_names_the_5g_zone_a_ridge_leaves_short_and_by_how_much(tmp_path):
    # the county town spans a 300 m ridge (x 3,000-3,060 m); the only 5G site stands west of
    # it. By hand: check points every 250 m from (2,175, 2,625): 4 columns west of the ridge,
    # 2 east of it in its shadow, 4 rows; the representative point (2,800, 3,000) lies west.
    zone = dict(zone_id="Z1", name="县城", kind="county_town", require_5g=True,
                geometry=box(*xy(2050, 3500), *xy(3550, 2500)))
    scenario = write_region(tmp_path, ridge_dem(ridge_width_cells=2),
                            [village("V1", 1000, 1000, poverty=False)],
                            [candidate("S5", 2000, 3000, techs="5G")], zones=[zone],
                            technologies=[TECH_4G, dict(TECH_5G, max_range_m=3000)])
    run = compute(load_scenario(scenario))
    summary = write_outputs(run, tmp_path / "out")
    assert summary["zones"] == [{"zone_id": "Z1", "name": "县城", "kind": "county_town",
                                 "check_points": 4 * 6 + 1, "covered_5g": 4 * 4 + 1}]
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert ("5G zone Z1 (县城): 17 of 25 check points covered by 5G; the others are listed "
            "below, with why.") in report
    assert report.count("| 5G zone check point | Z1 |") == 8

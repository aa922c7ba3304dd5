"""sites.kml as Google Earth shows it and the report's headline as a committee reads it.

A flat 6 km strip planned with backhaul in English: S1 (a 25 m lamp pole) is fed by fiber
from the node N1 along a road, S2 (a 40 m water tower) by one microwave hop from S1, and S3
(an existing 4G site, 35 m, too far for a hop and a fiber route) by satellite. S3 covers the
mandatory village V3 and the complaint point C1 before the plan; V1, V2 and C2 lie beyond its
reach (900 m) and are covered by S1 and S2."""

from __future__ import annotations

import dataclasses
import html
import re
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from siting.config import load_scenario
from siting.export.i18n import TERMS
from siting.export.kml import KML_NAMESPACE
from siting.export.report import render_report
from siting.export.tables import plan_tables
from siting.pipeline import compute, run_scenario
from tests.gdal_tools import gdal_tool, tool_output
from tests.regions import (CRS, STRIP_BACKHAUL, TECH_4G, TECH_5G, add_strip_fiber, candidate,
                           one_site_a_year_region, village, write_region, xy)

KML = {"k": KML_NAMESPACE}
#: The strip's sites: position east [m] and antenna height [m].
STRIP_SITES = {"S1": (500, 25.0), "S2": (3000, 40.0), "S3": (5500, 35.0)}
#: How far south of the region's corner the strip's sites lie [m]: the middle of its 1.8 km.
NORTH_M = 900


def _strip_scenario(folder):
    kinds = {"S1": "lamp_pole", "S2": "water_tower", "S3": "existing_4g"}
    sites = [candidate(sid, east, NORTH_M, techs="4G", kind=kinds[sid], height=height)
             for sid, (east, height) in STRIP_SITES.items()]
    villages = [village(f"V{i}", east, NORTH_M, population=1234.4)
                for i, (east, _) in enumerate(STRIP_SITES.values(), 1)]
    complaints = [{"complaint_id": "C1", "people": 5, "geometry": Point(*xy(5600, NORTH_M))},
                  {"complaint_id": "C2", "people": 5, "geometry": Point(*xy(3100, NORTH_M))}]
    path = write_region(folder, np.full((60, 200), 400.0), villages, sites, complaints=complaints,
                        technologies=[dict(TECH_4G, max_range_m=900)],
                        backhaul=STRIP_BACKHAUL,
                        report={"language": "en"})
    add_strip_fiber(folder, NORTH_M)
    return path


@pytest.fixture(scope="module")
def strip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("qa_gisout3")
    run_scenario(_strip_scenario(folder / "in"), folder / "out")
    return folder / "out"


def _link_placemarks(kml_path) -> dict[str, ET.Element]:
    """The placemarks of the folder "Backhaul links", by the kind of their link."""
    root = ET.parse(kml_path).getroot()
    (folder,) = [f for f in root.iter(f"{{{KML_NAMESPACE}}}Folder")
                 if f.findtext("k:name", namespaces=KML) == "Backhaul links"]
    placemarks = {}
    for placemark in folder.findall("k:Placemark", KML):
        data = {d.get("name"): d.text for d in placemark.iter(f"{{{KML_NAMESPACE}}}SimpleData")}
        placemarks[data["kind"]] = placemark
    return placemarks


def _coordinates(line: ET.Element) -> list[list[float]]:
    return [[float(v) for v in vertex.split(",")]
            for vertex in line.findtext("k:coordinates", namespaces=KML).split()]


def test_microwave_hop_runs_from_mast_top_to_mast_top_and_fiber_lies_on_the_ground(strip):
    """A microwave hop was drawn like a fiber route, draped on the ground (tessellated,
    clamped), where it is a radio path between two antennas; now it is one straight line
    between the antenna tops (relativeToGround, each end at its mast's height above the
    ground), and the fiber route still follows the ground."""
    placemarks = _link_placemarks(strip / "sites.kml")
    assert set(placemarks) == {"fiber", "microwave", "satellite"}
    hop = placemarks["microwave"].find("k:LineString", KML)
    assert hop.findtext("k:altitudeMode", namespaces=KML) == "relativeToGround"
    assert hop.find("k:tessellate", KML) is None
    ends = _coordinates(hop)
    assert len(ends) == 2
    # from S2 (fed, 40 m mast) to S1 (feeding, 25 m mast), as the scenario placed them
    sites = gpd.GeoSeries([Point(*xy(STRIP_SITES[s][0], NORTH_M)) for s in ("S2", "S1")],
                          crs=CRS).to_crs("EPSG:4326")
    for (lon, lat, height_m), site, sid in zip(ends, sites, ("S2", "S1")):
        assert (lon, lat) == pytest.approx((site.x, site.y), abs=1e-6)
        assert height_m == STRIP_SITES[sid][1]
    fiber = placemarks["fiber"].find("k:LineString", KML)
    assert fiber.findtext("k:tessellate", namespaces=KML) == "1"
    assert fiber.findtext("k:altitudeMode", namespaces=KML) == "clampToGround"
    assert {vertex[2] for vertex in _coordinates(fiber)} == {0}  # ignored: on the ground
    assert placemarks["satellite"].find("k:LineString", KML) is None


def test_gdal_reads_the_hop_at_the_mast_heights(strip):
    """ogrinfo (GIS tools read KML through GDAL) gets the hop's ends at the masts' heights."""
    listing = tool_output(gdal_tool("ogrinfo"), "-q", str(strip / "sites.kml"), "Backhaul links",
                          "-where", "kind = 'microwave'")
    (line,) = re.findall(r"LINESTRING Z \(([^)]*)\)", listing)
    heights = [float(vertex.split()[2]) for vertex in line.split(",")]
    assert heights == [STRIP_SITES["S2"][1], STRIP_SITES["S1"][1]]


def balloon_cells(placemark: ET.Element) -> dict[str, str]:
    cells = re.findall(r"<th>(.*?)</th><td>(.*?)</td>",
                       placemark.findtext("k:description", namespaces=KML))
    return {html.unescape(label): html.unescape(value) for label, value in cells}


def kml_placemarks(kml_path):
    root = ET.parse(kml_path).getroot()
    return list(root.iter(f"{{{KML_NAMESPACE}}}Placemark"))


def test_english_balloons_read_as_words_with_units_and_extended_data_keeps_field_names(strip):
    """The English balloon labelled rows with the column names (``antenna_height_m``,
    ``free_public``, ``people_newly_covered``) where the Chinese one reads 天线挂高 [m]; now
    every row of siting's own columns reads as words with its unit, and ExtendedData, which
    GIS tools read, keeps the column names."""
    sites = gpd.read_file(strip / "sites.gpkg", layer="selected_sites")
    fields = {layer: set(gpd.read_file(strip / "sites.gpkg", layer=layer).columns)
              for layer in ("selected_sites", "backhaul_links")}
    sites = sites.set_index("site_id")
    seen = 0
    for placemark in kml_placemarks(strip / "sites.kml"):
        balloon = balloon_cells(placemark)
        names = [d.get("name") for d in placemark.iter(f"{{{KML_NAMESPACE}}}SimpleData")]
        assert not [label for label in balloon if re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", label)]
        assert any(set(names) <= layer_fields for layer_fields in fields.values()), names
        site_id = placemark.findtext("k:name", namespaces=KML)
        if "site_id" in names:
            assert balloon["antenna height [m]"] == f"{STRIP_SITES[site_id][1]:.1f}"  # as the report
            assert balloon["free public site"] == "false"
            served = sites.loc[site_id, "people_served"]
            assert served != round(served)  # the villages' 1234.4 people
            assert balloon["people served"] == f"{round(served):,}"  # whole, as the report
            seen += 1
    assert seen == len(STRIP_SITES)


def _unit(label: str) -> str | None:
    found = re.search(r"\[(.*?)\]", label)
    return found.group(1) if found else None


#: The unit of an amount in English where the Chinese label gives it in 万元.
MONEY_UNITS = {"万元": "CNY", "万元/年": "CNY/yr"}


def test_every_balloon_label_gives_the_unit_in_english_that_it_gives_in_chinese():
    for key, texts in TERMS.items():
        if key.startswith("field."):
            zh = _unit(texts["zh"])
            assert _unit(texts["en"]) == MONEY_UNITS.get(zh, zh), key
            assert "_" not in texts["en"], key  # words, not the column's name


def _headline(report_md: str) -> dict[str, list[str]]:
    """KPI -> [before, after] of the report's headline table."""
    table = report_md.split("## Headline", 1)[1].split("\n\n")[1]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    return {row[0]: row[1:] for row in rows}


def test_headline_gives_every_kpi_its_before_value(strip):
    """The headline left "before" blank for mandatory villages and complaint points; now
    each reads the count the existing site S3 covers (V3, C1) before the plan."""
    headline = _headline((strip / "report.md").read_text(encoding="utf-8"))
    assert headline["mandatory villages covered"] == ["1 / 3", "3 / 3"]
    assert headline["complaint points covered"] == ["1 / 2", "2 / 2"]
    assert all(before for before, _ in headline.values()), headline
    villages = gpd.read_file(strip / "sites.gpkg", layer="villages")
    assert villages.loc[villages["covered_before"], "village_id"].tolist() == ["V3"]


def test_headline_gives_5g_zone_and_backup_points_before_the_plan(tmp_path):
    """A city centre served by one existing 5G site (EX) needs two sites for backup: before
    the plan every check point is covered by 5G and none has its backup; after, all have."""
    zone = dict(zone_id="Z1", name="centre", kind="city_centre", require_5g=True,
                geometry=box(*xy(1000, 1400), *xy(1400, 1000)))
    scenario = write_region(
        tmp_path, np.full((100, 100), 400.0), [village("V1", 1200, 1200, poverty=False)],
        [candidate("EX", 1200, 1200, kind="existing_5g", capex=0), candidate("N1", 1500, 1500)],
        technologies=[TECH_4G, TECH_5G], zones=[zone], report={"language": "en"},
        demand={"grid_m": 300, "min_people_per_cell": 1,
                "backup": {"zone_kinds": ["city_centre"], "servers": 2}})
    run = compute(load_scenario(scenario))
    points = int((run.demand.kind == "zone").sum())
    assert points > 0
    headline = _headline(render_report(plan_tables(run)))
    assert headline["5G zone check points covered by 5G"] == [f"{points} / {points}"] * 2
    assert headline["zone check points with backup coverage"] == [f"0 / {points}",
                                                                  f"{points} / {points}"]


def _table_after(report_md: str, sentence_start: str) -> list[list[str]]:
    """The rows of the first table after the paragraph starting ``sentence_start``."""
    table = report_md.split(sentence_start, 1)[1].split("\n\n")[1]
    return [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]]


def test_backhaul_table_has_no_blank_cell_where_a_feed_has_no_far_end(strip):
    """The satellite feed's "fed from" cell was blank beside its "-" band, length and hop;
    every cell that does not apply reads "-" now, the others as the links layer holds them."""
    rows = _table_after((strip / "report.md").read_text(encoding="utf-8"), "The link feeding")
    assert [row[:3] for row in rows] == [["S2", "S1", "microwave"], ["S1", "N1", "fiber"],
                                         ["S3", "-", "satellite"]]
    assert all(cell for row in rows for cell in row), rows


def test_chinese_balloons_name_counties_in_chinese_and_gis_keeps_the_key(tmp_path):
    """The Chinese report and map.html name the county 汉滨区 (its admin unit's ``name_zh``),
    but sites.kml's Chinese balloons read ``Hanbin``, the layer's key; now they read 汉滨区
    too, for sites and uncovered villages, and ExtendedData keeps ``Hanbin`` for GIS."""
    sites = [dict(candidate("S1", 600, 600, techs="4G"), admin_unit="Hanbin")]
    villages = [village("V1", 600, 600, admin="Hanbin"), village("V2", 1700, 1700, admin="Hanbin")]
    scenario = write_region(tmp_path / "in", np.full((60, 60), 400.0), villages, sites,
                            technologies=[dict(TECH_4G, max_range_m=500)], report={"language": "zh"})
    gpd.GeoDataFrame({"admin_unit": ["Hanbin"], "name_zh": ["汉滨区"]},
                     geometry=[box(*xy(0, 1800), *xy(1800, 0))], crs=CRS).to_file(
        tmp_path / "in" / "region.gpkg", layer="admin_units", engine="pyogrio")
    run_scenario(scenario, tmp_path / "out")
    placemarks = kml_placemarks(tmp_path / "out" / "sites.kml")
    shown = {p.findtext("k:name", namespaces=KML): balloon_cells(p)["区县"] for p in placemarks}
    assert shown == {"S1": "汉滨区", "Village V2": "汉滨区"}
    listing = tool_output(gdal_tool("ogrinfo"), "-q", "-al", str(tmp_path / "out" / "sites.kml"))
    assert re.findall(r"admin_unit \(String\) = (.*)", listing) == ["Hanbin", "Hanbin"]


def test_link_balloons_give_lengths_and_clearances_as_the_report_does(strip):
    """The hop's balloon gave its length as 2500 and its clearance to six decimals
    (11.052345) where the report's backhaul table gives 2,500 and 11.05; both read alike
    now, and ExtendedData keeps the full numbers."""
    hop = _link_placemarks(strip / "sites.kml")["microwave"]
    data = {d.get("name"): d.text for d in hop.iter(f"{{{KML_NAMESPACE}}}SimpleData")}
    balloon = balloon_cells(hop)
    clearance = float(data["min_clearance_f1"])
    assert len(data["min_clearance_f1"].split(".")[1]) > 2  # more digits than shown
    assert balloon["length [m]"] == f"{float(data['length_m']):,.0f}" == "2,500"
    assert balloon["smallest clearance / first Fresnel radius"] == f"{clearance:.2f}"
    (row,) = [r for r in _table_after((strip / "report.md").read_text(encoding="utf-8"),
                                       "The link feeding") if r[2] == "microwave"]
    assert row[4:7] == [balloon["length [m]"], "90,000", f"{clearance:.2f}"]


def test_county_table_headers_tell_people_from_villages(strip):
    """The English county table headed two columns "covered before" and two "covered after"
    (people, then villages), where the Chinese one says 规划前覆盖人口 and 规划前覆盖村数; each
    English header now names what it counts, and the values stay under them."""
    report = (strip / "report.md").read_text(encoding="utf-8")
    table = report.split("## Coverage by admin unit", 1)[1].split("\n\n")[1].splitlines()
    header = [c.strip() for c in table[0].strip("|").split("|")]
    assert len(set(header)) == len(header), header
    total = dict(zip(header, [c.strip() for c in table[-1].strip("|").split("|")]))
    headline = _headline(report)
    assert total["people covered before"] == headline["people covered"][0]
    assert total["villages covered after"] == headline["villages covered"][1].split(" / ")[0]


def test_schedule_headers_each_name_what_they_count(tmp_path):
    """The English phased schedule headed a column with the bare unit "[%]" beside "people
    covered at year end" (the Chinese: 人口覆盖率 [%]); every header names its figure now,
    and the share is the year-end people over all people."""
    villages = [village(f"V{i}", x, 3000, population=p)
                for i, (x, p) in enumerate(((1000, 300), (3000, 200), (5000, 100)), 1)]
    sites = [candidate(f"S{i}", x, 3000, techs="4G") for i, x in enumerate((1000, 3000, 5000), 1)]
    run = compute(load_scenario(one_site_a_year_region(tmp_path, villages, sites,
                                                       report={"language": "en"})))
    report = render_report(plan_tables(run))
    rows = _table_after(report, "## Phased schedule")
    header = report.split("## Phased schedule", 1)[1].split("\n\n")[1].splitlines()[0]
    header = [c.strip() for c in header.strip("|").split("|")]
    assert all(re.search("[a-z]", h) for h in header) and len(set(header)) == len(header), header
    shown = [dict(zip(header, row)) for row in rows]
    assert [r["people covered at year end"] for r in shown] == ["300", "500", "600"]
    assert [r["people covered at year end [%]"] for r in shown] == ["50.00", "83.33", "100.00"]


def _headline_cells(page: str) -> list[tuple[str, str]]:
    """(class attribute, text) of each before/after cell of report.html's headline table."""
    table = page.split("<th>KPI</th>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    return [cell for row in rows for cell in re.findall(r"<td( class=\"num\")?>([^<]*)</td>", row)[1:]]


def test_headline_counts_align_as_numbers_with_thousands_separators(strip):
    """report.html aligned 656,020 people right but 143 / 340 villages left in the same
    column, and wrote 12345 villages without the separator every other count has; a count of
    a total is aligned and separated as a number now."""
    cells = _headline_cells((strip / "report.html").read_text(encoding="utf-8"))
    assert ("", "1 / 3") not in cells and (' class="num"', "1 / 3") in cells
    assert all(css for css, _ in cells), cells
    run = compute(load_scenario(_strip_scenario(strip.parent / "big")))
    tables = plan_tables(run)
    kpis = dict(tables.summary["kpis"], villages_covered_before=1234, villages_total=12345)
    big = dataclasses.replace(tables, summary=dict(tables.summary, kpis=kpis))
    assert _headline(render_report(big))["villages covered"][0] == "1,234 / 12,345"

"""The GIS outputs as a demanding GIS user opens them with GDAL's own tools (gdal-bin's
ogrinfo/ogr2ogr): sites.gpkg, sites.kml and the Shapefile the README says to make, checked for
NULLs where there is no value, hop counts a GIS can average, and site kinds a person reads.

A flat 6 km strip planned with backhaul in English: S1 (a lamp pole) is fed by fiber from the
node N1 along a road, S2 (a water tower) by one microwave hop from S1, and S3 (an existing 4G
site, too far for a hop and a fiber route) by satellite; S3 is kept, so it builds no
technology, and its planner left its county blank."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import geopandas as gpd
from shapely.geometry import Point

from siting.export.i18n import value_text
from siting.export.kml import KML_NAMESPACE, write_kml
from siting.pipeline import run_scenario
from tests.map_popups import with_popups
from tests.regions import (CRS, STRIP_BACKHAUL, TECH_4G, add_strip_fiber, candidate, village,
                           write_region, xy)
from tests.gdal_tools import gdal_tool, tool_output

KML = {"k": KML_NAMESPACE}
#: The words an English reader meets for the kinds of the strip's sites.
KIND_WORDS = {"lamp_pole": "lamp pole", "water_tower": "water tower",
              "existing_4g": "existing 4G site"}


def _three_feeds_scenario(folder):
    """The strip's scenario: fiber, microwave and satellite each feed one site."""
    sites = [candidate("S1", 500, 3000, techs="4G", kind="lamp_pole"),
             candidate("S2", 3000, 3000, techs="4G", kind="water_tower"),
             dict(candidate("S3", 5500, 3000, techs="4G", kind="existing_4g"), admin_unit="")]
    villages = [village(f"V{i}", x, 3000) for i, x in enumerate((500, 3000, 5500), 1)]
    path = write_region(folder, np.full((200, 200), 400.0), villages, sites,
                        technologies=[dict(TECH_4G, max_range_m=900)],
                        backhaul=STRIP_BACKHAUL,
                        report={"language": "en"})
    add_strip_fiber(folder, 3000)
    return path


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("qa_gisout2")
    run_scenario(_three_feeds_scenario(folder / "in"), folder / "out")
    return folder / "out"


def _features(ogrinfo_listing: str) -> list[dict[str, str | None]]:
    """The attributes of each feature ``ogrinfo`` lists: field -> value, None for ``(null)``
    (a field a KML placemark leaves out is not listed, and reads as None too)."""
    features = []
    for block in re.split(r"^OGRFeature\(.*\):\d+\n", ogrinfo_listing, flags=re.M)[1:]:
        fields = re.findall(r"^  (\S+) \(\w+(?:\(\w+\))?\) = (.*)$", block, flags=re.M)
        features.append({name: None if value == "(null)" else value for name, value in fields})
    return features


def _sql(path, query: str) -> list[dict[str, str | None]]:
    return _features(tool_output(gdal_tool("ogrinfo"), "-q", "-sql", query, str(path)))


def _count(path, query: str) -> int:
    (row,) = _sql(path, query)
    return int(next(iter(row.values())))


def _shapefile(out, tmp_path, layer: str):
    """``layer`` of sites.gpkg handed on as a Shapefile the way the README says."""
    shp = tmp_path / f"{layer}.shp"
    tool_output(gdal_tool("ogr2ogr"), "-lco", "ENCODING=UTF-8", str(shp), str(out / "sites.gpkg"), layer)
    return shp


def _hops_by_walking_the_links(links: list[dict]) -> dict[str, int | None]:
    """Each fed site's microwave hops from fiber, counted along ``to_id``: 0 for a fiber feed,
    one more than its feeder for a microwave hop, None for satellite."""
    by_site = {link["from_id"]: link for link in links}

    def hops(site: str) -> int | None:
        link = by_site[site]
        return {"fiber": lambda: 0, "satellite": lambda: None,
                "microwave": lambda: 1 + hops(link["to_id"])}[link["kind"]]()

    return {site: hops(site) for site in by_site}


def _links_in(path, layer: str) -> list[dict]:
    return _sql(path, f'SELECT from_id, to_id, kind, hop FROM "{layer}"')


def test_satellite_feed_has_no_hop_count_in_gpkg_kml_and_shapefile(out, tmp_path):
    """hop is NULL for a satellite feed (not -1), so that a GIS averaging hops or filtering
    ``hop >= 0`` counts only fiber and microwave feeds."""
    files = {"gpkg": (out / "sites.gpkg", "backhaul_links"),
             "kml": (out / "sites.kml", "Backhaul links"),
             "shp": (_shapefile(out, tmp_path, "backhaul_links"), "backhaul_links")}
    for name, (path, layer) in files.items():
        links = _links_in(path, layer)
        assert sorted(link["kind"] for link in links) == ["fiber", "microwave", "satellite"], name
        expected = _hops_by_walking_the_links(links)
        assert {link["from_id"]: None if link.get("hop") is None else int(link["hop"])
                for link in links} == expected, name
        known = [h for h in expected.values() if h is not None]
        average = _sql(path, f'SELECT AVG(hop) AS mean_hop FROM "{layer}"')[0]["mean_hop"]
        assert float(average) == pytest.approx(sum(known) / len(known)), name
        assert _count(path, f'SELECT COUNT(*) FROM "{layer}" WHERE hop IS NULL') == 1, name


def _string_fields(path, layer: str) -> list[str]:
    summary = tool_output(gdal_tool("ogrinfo"), "-so", str(path), layer)
    return re.findall(r"^(\w+): String \(", summary, flags=re.M)


def test_text_fields_without_a_value_are_null_not_empty_text(out, tmp_path):
    """A kept site's technology_built, a satellite feed's to_id, a covered village's
    uncovered_reason and a site's blank county read ``IS NULL`` in sites.gpkg, its Shapefile
    and sites.kml; no text field anywhere holds an empty text."""
    gpkg = out / "sites.gpkg"
    layers = re.findall(r"^\d+: (\w+) ", tool_output(gdal_tool("ogrinfo"), "-q", str(gpkg)), flags=re.M)
    assert {"selected_sites", "candidates", "villages", "demand", "backhaul_links"} <= set(layers)
    for layer in layers:
        for field in _string_fields(gpkg, layer):
            assert _count(gpkg, f"SELECT COUNT(*) FROM {layer} WHERE \"{field}\" = ''") == 0, \
                (layer, field)
    sites = _sql(gpkg, "SELECT site_id, action, technology_built, admin_unit FROM selected_sites")
    kept = sum(s["action"] == "keep" for s in sites)
    assert kept == 1
    villages = _sql(gpkg, "SELECT covered_after FROM villages")
    covered = sum(v["covered_after"] == "1" for v in villages)
    assert covered == len(villages) == 3
    shp_sites = _shapefile(out, tmp_path, "selected_sites")
    kml = out / "sites.kml"
    expected_nulls = [(gpkg, "selected_sites", "technology_built", kept),
                      (gpkg, "selected_sites", "admin_unit", 1),
                      (gpkg, "backhaul_links", "to_id", 1),
                      (gpkg, "villages", "uncovered_reason", covered),
                      (gpkg, "villages", "serving_site", len(villages) - covered),
                      (shp_sites, "selected_sites", "technolo_1", kept),
                      (shp_sites, "selected_sites", "admin_unit", 1),
                      (kml, "Sites of the plan", "technology_built", kept),
                      (kml, "Sites of the plan", "admin_unit", 1),
                      (kml, "Backhaul links", "to_id", 1)]
    for path, layer, field, nulls in expected_nulls:
        assert _count(path, f'SELECT COUNT(*) FROM "{layer}" WHERE "{field}" IS NULL') == nulls, \
            (path.name, layer, field)
        assert _count(path, f"SELECT COUNT(*) FROM \"{layer}\" WHERE \"{field}\" = ''") == 0, \
            (path.name, layer, field)


def _balloon_kinds(kml_listing: str) -> dict[str, tuple[str, str]]:
    """site -> (kind as its balloon shows it, kind in its ExtendedData) of ``ogrinfo``'s
    listing of the KML's site folder."""
    shown = {}
    for feature in _features(kml_listing):
        balloon = html.unescape(feature["description"])
        label = re.escape(html.escape(value_text("field", "kind", "en")))
        (word,) = re.findall(rf"<th>{label}</th><td>([^<]*)</td>", balloon)
        shown[feature["Name"]] = (word, feature["kind"])
    return shown


def test_english_outputs_name_site_kinds_in_words_and_files_keep_the_keys(out):
    """The KML balloon, map.html's popups and the report's tables read "lamp pole", not the
    stored key; the GIS fields and summary.json keep the keys a program filters on."""
    listing = tool_output(gdal_tool("ogrinfo"), "-q", str(out / "sites.kml"), "Sites of the plan")
    assert _balloon_kinds(listing) == {
        "S1": (KIND_WORDS["lamp_pole"], "lamp_pole"),
        "S2": (KIND_WORDS["water_tower"], "water_tower"),
        "S3": (KIND_WORDS["existing_4g"], "existing_4g")}
    stored = {s["site_id"]: s["kind"] for s in _sql(out / "sites.gpkg",
                                                    "SELECT site_id, kind FROM selected_sites")}
    assert stored == {"S1": "lamp_pole", "S2": "water_tower", "S3": "existing_4g"}
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| S1 | build | lamp pole |" in report and "| S2 | build | water tower |" in report
    assert "| lamp pole | 1 |" in report
    page = with_popups((out / "map.html").read_text(encoding="utf-8"))
    for key, word in KIND_WORDS.items():
        assert f"kind</th><td>{word}</td>" in page
        assert key not in page and key not in report
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert {"lamp_pole", "water_tower"} <= set(summary["by_kind"])


def test_kml_keeps_a_planners_name_description_and_case_twin_columns_apart(tmp_path):
    """A candidate sheet exported from ArcGIS carries ``NAME``, a planner's notes may be in
    ``description`` and their ``Technology`` beside siting's ``technology``: GDAL reads the
    ExtendedData field named like a placemark's own field (Name, description) or like another
    but for case in its place, so QGIS showed the planner's name as the site's Name, their
    note as its balloon and their LTE as the plan's technology. They are ExtendedData fields
    ``input_<name>`` now, as in sites.gpkg."""
    planner = {"NAME": ["汉滨一号", "汉滨二号"], "description": ["屋顶", "铁塔"],
               "Technology": ["LTE", "NR"]}
    sites = gpd.GeoDataFrame(
        {"site_id": ["S1", "S2"], "action": ["build", "keep"], "kind": ["lamp_pole", "existing_4g"],
         "technology": ["4G-1800", "5G-3500"], **planner},
        geometry=[Point(*xy(500, 3000)), Point(*xy(3000, 3000))], crs=CRS)
    villages = gpd.GeoDataFrame({"village_id": [], "name": []}, geometry=[], crs=CRS)
    path = tmp_path / "sites.kml"
    write_kml(path, "plan", sites, villages, language="en")
    read = _features(tool_output(gdal_tool("ogrinfo"), "-q", str(path), "Sites of the plan"))
    assert [f["Name"] for f in read] == sites["site_id"].tolist()
    assert all(f["description"].startswith("<table>") for f in read)
    assert [f["technology"] for f in read] == sites["technology"].tolist()
    for column, values in planner.items():
        assert [f[f"input_{column}"] for f in read] == values


def test_kml_fiber_routes_follow_the_terrain_in_google_earth(out):
    """A fiber route is tessellated (tessellate 1 before its coordinates, as KML 2.2 orders
    them; GDAL reads 1): Google Earth drapes it on the ground between its vertices, where it
    drew a straight chord hidden under every hill between two vertices. A microwave hop is a
    radio path drawn between its antenna tops instead (tests/test_qa_gisout3.py)."""
    root = ET.parse(out / "sites.kml").getroot()
    lines = root.findall(".//k:LineString", KML)
    assert len(lines) == 2  # fiber and microwave; satellite has no line
    tags = sorted([child.tag.split("}")[1] for child in line] for line in lines)
    assert tags == [["altitudeMode", "coordinates"], ["tessellate", "altitudeMode", "coordinates"]]
    read = _features(tool_output(gdal_tool("ogrinfo"), "-q", str(out / "sites.kml"), "Backhaul links"))
    assert [f["tessellate"] for f in read if f["kind"] == "fiber"] == ["1"]

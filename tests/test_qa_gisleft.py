"""sites.kml's backhaul links converted by ogr2ogr, and its balloons' cells of no value.

Reuses the strip of tests/test_qa_gisout3.py: S1 fed by fiber from N1, S2 by a microwave hop
from S1 (masts 40 m and 25 m), S3 by satellite (no line)."""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd

from tests.gdal_tools import gdal_tool, tool_output
from tests import test_qa_gisout3
from tests.test_qa_gisout3 import KML, STRIP_SITES, balloon_cells, kml_placemarks

#: The strip's plan, run once for this module.
strip = test_qa_gisout3.strip

#: The length of a field name in a Shapefile (dBase): ogr2ogr cuts a longer one.
SHAPEFILE_NAME_CHARS = 10


def test_ogr2ogr_converts_every_link_to_a_shapefile_with_the_hop_at_the_mast_heights(strip, tmp_path):
    """The folder "Backhaul links" held 2D fiber routes and 3D microwave hops; a Shapefile
    layer has one geometry type, which ogr2ogr took from the first line (the 2D route), so
    the hop arrived without its mast heights. Every line has three coordinates now (a route
    at altitude 0 on the ground): each link arrives with its fields, the hop from mast top
    to mast top, the route at 0 and the satellite feed without a line."""
    shapefile = tmp_path / "links.shp"
    tool_output(gdal_tool("ogr2ogr"), "-f", "ESRI Shapefile", str(shapefile),
                str(strip / "sites.kml"), "Backhaul links")
    assert "3D Line String" in tool_output(gdal_tool("ogrinfo"), "-so", str(shapefile), "links")
    converted = gpd.read_file(shapefile).set_index("from_id")
    links = gpd.read_file(strip / "sites.gpkg", layer="backhaul_links").set_index("from_id")
    assert sorted(converted.index) == sorted(links.index) == ["S1", "S2", "S3"]
    fields = links.drop(columns=links.geometry.name).rename(columns=lambda c: c[:SHAPEFILE_NAME_CHARS])
    # as sites.gpkg holds them (sites.kml writes numbers to 6 decimals)
    pd.testing.assert_frame_equal(converted[fields.columns].sort_index(), fields.sort_index(),
                                  check_dtype=False, rtol=1e-6)
    heights = {sid: [z for _, _, z in converted.geometry[sid].coords] for sid in ("S1", "S2")}
    assert heights == {"S1": [0, 0], "S2": [STRIP_SITES["S2"][1], STRIP_SITES["S1"][1]]}
    assert converted.geometry["S3"] is None


def test_balloon_cells_of_no_value_read_dash_and_extended_data_leaves_them_out(strip):
    """A balloon showed a cell of no value blank (the technology built at the kept site S3,
    the satellite feed's far end, band, length and hop count) where the report and map.html
    show "-"; every such cell reads "-" now, and ExtendedData still leaves it out, which
    GDAL reads as NULL."""
    placemarks = {(p.findtext("k:styleUrl", namespaces=KML), p.findtext("k:name", namespaces=KML)): p
                  for p in kml_placemarks(strip / "sites.kml")}
    assert all(value for p in placemarks.values() for value in balloon_cells(p).values())
    kept = balloon_cells(placemarks["#keep", "S3"])
    assert kept["technology built in this plan"] == "-"
    satellite = balloon_cells(placemarks["#link_satellite", "S3"])
    assert [satellite[label] for label in ("fed from", "microwave band [GHz]", "length [m]",
                                           "microwave hops from fiber")] == ["-"] * 4
    listing = tool_output(gdal_tool("ogrinfo"), "-q", str(strip / "sites.kml"), "Backhaul links",
                          "-where", "kind = 'satellite'")
    assert "kind (String) = satellite" in listing
    assert not re.findall(r"^ *(?:to_id|band_ghz|length_m|hop) \(", listing, re.MULTILINE)  # NULL

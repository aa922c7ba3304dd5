"""map.html's legend names every layer drawn on the map: the admin units' dashed outlines and
the 5G zones' outlines too, in the colour and dash the map draws them with; the boundary two
units share is drawn once, so it stays dashed (headless chromium reads both from the page a run
writes, in English and in Chinese).
"""

from __future__ import annotations

import dataclasses
import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import box

from siting.config import Basemap, load_scenario
from siting.export.i18n import term
from siting.export.webmap import ADMIN_UNIT_STYLE, ZONE_STYLE
from siting.pipeline import compute, write_outputs
from regions import CRS, X0, Y0, candidate, village, write_region, xy
from test_browser import DevTools, chromium_binary, evaluate_js, open_tab

#: The legend's line entries (text, border colour and style) and the outlines the map draws
#: (stroke colour, dashed or not), from the live page.
OUTLINES = """(() => {
  const legend = Array.from(document.querySelectorAll('#siting-legend > div'), line => {
    const swatch = line.querySelector('span');
    const style = swatch === null ? null : getComputedStyle(swatch);
    return {text: line.textContent.trim(),
            colour: style === null ? null : style.borderTopColor,
            border: style === null ? null : style.borderTopStyle};
  });
  const visible = Array.from(document.querySelectorAll('.leaflet-overlay-pane path'))
    .filter(path => getComputedStyle(path).strokeOpacity !== '0');
  const drawn = visible.map(path => ({
    colour: getComputedStyle(path).stroke,
    dashed: (path.getAttribute('stroke-dasharray') || '') !== '',
    length: path.getTotalLength()}));
  // the length [px] the boundaries SEGMENTS ([[lat, lon], [lat, lon]] each) have on the map
  const map = window[document.querySelector('.folium-map').id];
  const expected = SEGMENTS.reduce((sum, [a, b]) =>
    sum + map.latLngToContainerPoint(a).distanceTo(map.latLngToContainerPoint(b)), 0);
  const units = new Set();  // the units named by a popup whose only field is the unit
  map.eachLayer(layer => {
    const popup = layer.getPopup && layer.getPopup();
    const content = popup ? popup.getContent() : null;  // villages' and sites': built on opening
    const rows = content instanceof Element ? content.querySelectorAll('tr') : [];
    if (rows.length === 1 && rows[0].querySelector('th').textContent === UNIT_FIELD) {
      units.add(rows[0].querySelector('td').textContent);
    }
  });
  return {legend: legend, drawn: drawn, boundaryLengthPx: expected, unitPopups: Array.from(units).sort()};
})()"""

#: Two admin units side by side over the region's 6 km x 3.6 km [m].
UNITS_M = {"West": box(X0, Y0 - 3600, X0 + 3000, Y0), "East": box(X0 + 3000, Y0 - 3600, X0 + 6000, Y0)}


def boundary_segments_deg() -> list:
    """The segments of the two units' boundaries, each once (the outer rectangle and the shared
    edge), as [[lat, lon], [lat, lon]] in WGS84."""
    outer = box(X0, Y0 - 3600, X0 + 6000, Y0).exterior
    shared = shapely.LineString([(X0 + 3000, Y0 - 3600), (X0 + 3000, Y0)])
    segments = []
    for line in (outer, shared):
        lon_lat = gpd.GeoSeries(shapely.points(shapely.get_coordinates(line)), crs=CRS).to_crs("EPSG:4326")
        points = [[p.y, p.x] for p in lon_lat]
        segments += [[a, b] for a, b in zip(points[:-1], points[1:])]
    return segments


@pytest.fixture(scope="module")
def legends(tmp_path_factory):
    """{language: OUTLINES' answer} for the map.html of a region with two admin units side by
    side and a 5G zone, written in English and in Chinese without a basemap."""
    folder = tmp_path_factory.mktemp("legend")
    scenario_path = write_region(
        folder / "in", np.full((120, 200), 400.0),
        villages=[village("V1", 1000, 1500), village("V2", 4000, 2000)],
        candidates=[candidate("C1", 1200, 1500), candidate("C2", 4200, 2000)],
        zones=[dict(zone_id="Z1", name="town", kind="county_town", require_5g=True,
                    geometry=box(*xy(3800, 2200), *xy(4400, 1800)))])
    gpd.GeoDataFrame({"admin_unit": list(UNITS_M)}, geometry=list(UNITS_M.values()), crs=CRS).to_file(
        scenario_path.parent / "region.gpkg", layer="admin_units", engine="pyogrio")
    run = compute(load_scenario(scenario_path))
    answers = {}
    for language in ("en", "zh"):
        outputs = dataclasses.replace(run.scenario.outputs, language=language, basemap=Basemap("none"))
        each = dataclasses.replace(run, scenario=dataclasses.replace(run.scenario, outputs=outputs))
        write_outputs(each, folder / language)
        browser = DevTools(chromium_binary(), tmp_path_factory.mktemp(f"chromium-{language}"))
        try:
            session = open_tab(browser, folder / language / "map.html")
            script = (OUTLINES.replace("SEGMENTS", json.dumps(boundary_segments_deg()))
                      .replace("UNIT_FIELD", json.dumps(term("webmap.popup_admin_unit", language))))
            answers[language] = evaluate_js(browser, session, script)
        finally:
            browser.close()
    return answers


def rgb(colour: str) -> str:
    """A ``#rrggbb`` colour as the browser's computed style writes it."""
    return "rgb({}, {}, {})".format(*(int(colour[i:i + 2], 16) for i in (1, 3, 5)))


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("layer, colour, dashed", [("webmap.layer_admin_units", ADMIN_UNIT_STYLE["color"], True),
                                                   ("webmap.layer_zones", ZONE_STYLE["color"], False)])
def test_legend_names_each_outline_as_the_map_draws_it(legends, language, layer, colour, dashed):
    answer = legends[language]
    drawn = [path for path in answer["drawn"] if path["colour"] == rgb(colour)]
    assert drawn and all(path["dashed"] == dashed for path in drawn)  # the map draws it so
    entries = [line for line in answer["legend"] if line["text"] == term(layer, language)]
    assert len(entries) == 1, answer["legend"]
    assert entries[0]["colour"] == rgb(colour)
    assert entries[0]["border"] == ("dashed" if dashed else "solid")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_admin_boundaries_are_drawn_once_and_each_unit_keeps_its_popup(legends, language):
    answer = legends[language]
    drawn = [path for path in answer["drawn"] if path["colour"] == rgb(ADMIN_UNIT_STYLE["color"])]
    # drawn per unit, the shared edge came twice: 4 + 4 sides instead of 4 + 1
    assert sum(path["length"] for path in drawn) == pytest.approx(answer["boundaryLengthPx"], rel=0.01)
    assert answer["unitPopups"] == sorted(UNITS_M)

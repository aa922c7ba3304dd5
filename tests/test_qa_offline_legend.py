"""map.html's legend names every layer drawn on the map: the admin units' dashed outlines and
the 5G zones' outlines too, in the colour and dash the map draws them with (headless chromium
reads both from the page a run writes, in English and in Chinese).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from shapely.geometry import box

from siting.config import Basemap, load_scenario
from siting.export.i18n import term
from siting.export.webmap import ADMIN_UNIT_STYLE, ZONE_STYLE
from siting.pipeline import compute, write_outputs
from regions import candidate, village, write_region, xy
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
  const drawn = Array.from(document.querySelectorAll('.leaflet-overlay-pane path'), path => ({
    colour: getComputedStyle(path).stroke,
    dashed: (path.getAttribute('stroke-dasharray') || '') !== ''}));
  return {legend: legend, drawn: drawn};
})()"""


@pytest.fixture(scope="module")
def legends(tmp_path_factory):
    """{language: OUTLINES' answer} for the map.html of a region with an admin unit and a 5G
    zone, written in English and in Chinese without a basemap."""
    folder = tmp_path_factory.mktemp("legend")
    scenario_path = write_region(
        folder / "in", np.full((120, 200), 400.0),
        villages=[village("V1", 1000, 1500), village("V2", 4000, 2000)],
        candidates=[candidate("C1", 1200, 1500), candidate("C2", 4200, 2000)],
        zones=[dict(zone_id="Z1", name="town", kind="county_town", require_5g=True,
                    geometry=box(*xy(3800, 2200), *xy(4400, 1800)))])
    run = compute(load_scenario(scenario_path))
    answers = {}
    for language in ("en", "zh"):
        outputs = dataclasses.replace(run.scenario.outputs, language=language, basemap=Basemap("none"))
        each = dataclasses.replace(run, scenario=dataclasses.replace(run.scenario, outputs=outputs))
        write_outputs(each, folder / language)
        browser = DevTools(chromium_binary(), tmp_path_factory.mktemp(f"chromium-{language}"))
        try:
            session = open_tab(browser, folder / language / "map.html")
            answers[language] = evaluate_js(browser, session, OUTLINES)
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

"""map.html on the committee's laptop with no network: headless chromium opens the map.html a
run writes, every host name unresolvable, and the page says why the basemap is missing when its
tiles cannot load (and only then: not when the tiles load, not without a basemap).
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from siting.config import Basemap, load_scenario
from siting.export.i18n import term
from siting.export.webmap import TILE_NOTICE_ID
from siting.pipeline import compute, write_outputs
from test_browser import DevTools, chromium_binary, evaluate_js, open_tab
from test_export import small_region

#: What the page shows of the notice and of the basemap tiles once it has settled.
TILE_STATE = """(() => {
  const box = document.getElementById(NOTICE_ID);
  const tiles = document.querySelectorAll('.folium-map > .leaflet-map-pane img.leaflet-tile');
  return {
    notice: box === null ? null : {shown: getComputedStyle(box).display !== 'none',
                                   text: box.textContent.trim(),
                                   width: box.getBoundingClientRect().width},
    tiles: tiles.length,
    tilesDrawn: Array.from(tiles).filter(t => t.complete && t.naturalWidth > 0).length,
  };
})()""".replace("NOTICE_ID", json.dumps(TILE_NOTICE_ID))


def local_tile(folder: Path) -> str:
    """An XYZ template whose every tile is one PNG on disk (a local tile server stand-in: a
    ``file:`` address ignores the query that carries z/x/y)."""
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 220, 240)).save(buffer, format="PNG")
    tile = folder / "tile.png"
    tile.write_bytes(buffer.getvalue())
    return tile.as_uri() + "?{z}/{x}/{y}"


@pytest.fixture(scope="module")
def tile_pages(tmp_path_factory):
    """{kind: (language, map.html)}: one computed run written with OpenStreetMap tiles in
    English and in Chinese (unreachable offline), with tiles that load, and with no basemap."""
    folder = tmp_path_factory.mktemp("offline")
    run = compute(load_scenario(small_region(folder)))
    basemaps = {"osm_en": ("en", Basemap()), "osm_zh": ("zh", Basemap()),
                "local": ("en", Basemap("custom", local_tile(folder), "local tiles")),
                "none": ("en", Basemap("none"))}
    pages = {}
    for kind, (language, basemap) in basemaps.items():
        outputs = dataclasses.replace(run.scenario.outputs, language=language, basemap=basemap)
        each = dataclasses.replace(run, scenario=dataclasses.replace(run.scenario, outputs=outputs))
        write_outputs(each, folder / kind)
        pages[kind] = (language, folder / kind / "map.html")
    return pages


@pytest.fixture(scope="module")
def tile_states(tile_pages, tmp_path_factory):
    """{kind: TILE_STATE's answer} in chromium with every host name unresolvable."""
    binary = chromium_binary()
    states = {}
    for kind, (_, page) in tile_pages.items():
        browser = DevTools(binary, tmp_path_factory.mktemp(f"chromium-{kind}"))
        try:
            session = open_tab(browser, page)
            evaluate_js(browser, session, "new Promise(done => setTimeout(done, 1500))")
            states[kind] = evaluate_js(browser, session, TILE_STATE)
        finally:
            browser.close()
    return states


@pytest.mark.parametrize("kind", ["osm_en", "osm_zh"])
def test_offline_map_says_the_basemap_needs_a_network(tile_pages, tile_states, kind):
    language, _ = tile_pages[kind]
    state = tile_states[kind]
    assert state["tiles"] > 0 and state["tilesDrawn"] == 0  # offline: every tile failed
    assert state["notice"] is not None and state["notice"]["shown"], state
    assert state["notice"]["text"] == term("webmap.tiles_offline", language)
    assert 0 < state["notice"]["width"] <= 480


def test_notice_stays_hidden_when_the_tiles_load(tile_states):
    state = tile_states["local"]
    assert state["tiles"] > 0 and state["tilesDrawn"] == state["tiles"]
    assert state["notice"] is not None and not state["notice"]["shown"]


def test_map_without_basemap_has_no_tile_notice(tile_states):
    assert tile_states["none"] == {"notice": None, "tiles": 0, "tilesDrawn": 0}

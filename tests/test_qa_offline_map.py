"""map.html on the committee's laptop with no network: headless chromium opens the map.html a
run writes, every host name unresolvable, and the page says why the basemap is missing when its
tiles cannot load, and hides the empty minimap (and only then: not when the tiles load, not
without a basemap); printed, it fills one A4 landscape page with the part of the region that
was on screen, beside the legend, without the controls one clicks.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image

from siting.config import Basemap, load_scenario
from siting.export.i18n import term
from siting.export.tables import plan_tables
from siting.export.webmap import PRINT_MARGIN_MM, PRINT_PAGE_MM, TILE_NOTICE_ID, region_bounds_deg
from siting.pipeline import compute, write_outputs
from test_browser import DevTools, chromium_binary, evaluate_js, open_tab
from test_export import small_region

#: What the page shows of the notice and of the basemap tiles once it has settled.
TILE_STATE = """(() => {
  const box = document.getElementById(NOTICE_ID);
  const tiles = document.querySelectorAll('.folium-map > .leaflet-map-pane img.leaflet-tile');
  const minimap = document.querySelector('.leaflet-control-minimap');
  return {
    minimapShown: minimap === null ? null : getComputedStyle(minimap).display !== 'none',
    notice: box === null ? null : {shown: getComputedStyle(box).display !== 'none',
                                   text: box.textContent.trim(),
                                   width: box.getBoundingClientRect().width},
    tiles: tiles.length,
    tilesDrawn: Array.from(tiles).filter(t => t.complete && t.naturalWidth > 0).length,
  };
})()""".replace("NOTICE_ID", json.dumps(TILE_NOTICE_ID))


def local_tiles(folder: Path, subdomains: str = "abc") -> str:
    """An XYZ template of a local tile server stand-in: a tile is the PNG on disk named by its
    Leaflet subdomain (``{s}``: a, b or c in turn; a ``file:`` address ignores the query that
    carries z/x/y), so with ``subdomains`` "a" only every other tile or so is missing, as
    outside a server's coverage."""
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 220, 240)).save(buffer, format="PNG")
    folder.mkdir(exist_ok=True)
    for name in subdomains:
        (folder / f"{name}.png").write_bytes(buffer.getvalue())
    return folder.as_uri() + "/{s}.png?{z}/{x}/{y}"


@pytest.fixture(scope="module")
def tile_pages(tmp_path_factory):
    """{kind: (language, map.html, region [[south, west], [north, east]] [degrees])}: one
    computed run written with OpenStreetMap tiles in English and in Chinese (unreachable
    offline), with tiles that load, with only some tiles there, and with no basemap."""
    folder = tmp_path_factory.mktemp("offline")
    run = compute(load_scenario(small_region(folder)))
    south, west, north, east = region_bounds_deg(plan_tables(run))
    basemaps = {"osm_en": ("en", Basemap()), "osm_zh": ("zh", Basemap()),
                "local": ("en", Basemap("custom", local_tiles(folder / "tiles"), "local tiles")),
                "partial": ("en", Basemap("custom", local_tiles(folder / "some", "a"), "some tiles")),
                "none": ("en", Basemap("none"))}
    pages = {}
    for kind, (language, basemap) in basemaps.items():
        outputs = dataclasses.replace(run.scenario.outputs, language=language, basemap=basemap)
        each = dataclasses.replace(run, scenario=dataclasses.replace(run.scenario, outputs=outputs))
        write_outputs(each, folder / kind)
        pages[kind] = (language, folder / kind / "map.html", [[south, west], [north, east]])
    return pages


@pytest.fixture(scope="module")
def tile_states(tile_pages, tmp_path_factory):
    """{kind: TILE_STATE's answer} in chromium with every host name unresolvable."""
    binary = chromium_binary()
    states = {}
    for kind, (_, page, _) in tile_pages.items():
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
    language, *_ = tile_pages[kind]
    state = tile_states[kind]
    assert state["tiles"] > 0 and state["tilesDrawn"] == 0  # offline: every tile failed
    assert state["notice"] is not None and state["notice"]["shown"], state
    assert state["notice"]["text"] == term("webmap.tiles_offline", language)
    assert 0 < state["notice"]["width"] <= 480
    assert state["minimapShown"] is False  # its tiles fail too: an empty box


def test_notice_stays_hidden_when_the_tiles_load(tile_states):
    state = tile_states["local"]
    assert state["tiles"] > 0 and state["tilesDrawn"] == state["tiles"]
    assert state["notice"] is not None and not state["notice"]["shown"]
    assert state["minimapShown"] is True


def test_notice_stays_hidden_when_only_some_tiles_are_missing(tile_states):
    """A tile server that lacks the tiles outside its coverage is no network failure."""
    state = tile_states["partial"]
    assert 0 < state["tilesDrawn"] < state["tiles"]
    assert state["notice"] is not None and not state["notice"]["shown"]
    assert state["minimapShown"] is True


def test_map_without_basemap_has_no_tile_notice(tile_states):
    assert tile_states["none"] == {"minimapShown": None, "notice": None, "tiles": 0, "tilesDrawn": 0}


# --- printing ----------------------------------------------------------------------------------

#: Records, when the page is about to print (after the page's own handlers) and once it has
#: printed, the map's size, where the part of the region REGION on screen lies on it [px], the
#: legend's right edge [px] and the view (centre and zoom).
RECORD_PRINT = """(() => {
  const map = window[document.querySelector('.folium-map').id];
  const region = L.latLngBounds(REGION), seen = map.getBounds();
  const shown = L.latLngBounds(  // the part of the region on screen
    [Math.max(seen.getSouth(), region.getSouth()), Math.max(seen.getWest(), region.getWest())],
    [Math.min(seen.getNorth(), region.getNorth()), Math.min(seen.getEast(), region.getEast())]);
  const legend = document.getElementById('siting-legend');
  const record = () => {
    const size = map.getSize();
    const nw = map.latLngToContainerPoint(shown.getNorthWest());
    const se = map.latLngToContainerPoint(shown.getSouthEast());
    window.printed.push({width: size.x, height: size.y, region: [nw.x, nw.y, se.x, se.y],
                         legendRight: legend.offsetLeft + legend.offsetWidth,
                         view: [map.getCenter().lat, map.getCenter().lng, map.getZoom()]});
  };
  if (window.printed === undefined) {  // once per page: a second print reuses the listeners
    window.addEventListener('beforeprint', () => window.recordPrint());
    window.addEventListener('afterprint', () => window.recordPrint());
  }
  window.printed = [];
  window.recordPrint = record;
  record();
  return true;
})()"""

#: The display of the controls one clicks (zoom, fullscreen, layers, minimap) and of the
#: legend, title and scale bar.
CONTROL_DISPLAY = """(() => {
  const shown = sel => Array.from(document.querySelectorAll(sel), e => getComputedStyle(e).display !== 'none');
  return {clicked: shown('.leaflet-bar, .leaflet-control-layers, .leaflet-control-minimap'),
          read: shown('#siting-legend, #siting-title, .leaflet-control-scale')};
})()"""


def pdf_pages_pt(pdf: bytes) -> list[tuple[float, float]]:
    """Width and height [pt] of each page of a PDF that chromium wrote (one MediaBox a page)."""
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    return [(float(w), float(h)) for w, h in boxes]


def print_page(browser: DevTools, session: str, region_deg) -> tuple[bytes, list[dict]]:
    """Print the open map to PDF; the PDF and RECORD_PRINT's records (on screen, about to
    print, printed, and half a second later: the minimap's animations are over)."""
    evaluate_js(browser, session, RECORD_PRINT.replace("REGION", json.dumps(region_deg)))
    pdf = base64.b64decode(browser.call("Page.printToPDF", session, printBackground=True,
                                        preferCSSPageSize=True)["data"])
    evaluate_js(browser, session, "new Promise(done => setTimeout(done, 500))")
    evaluate_js(browser, session, "window.recordPrint() || true")
    return pdf, evaluate_js(browser, session, "window.printed")


@pytest.fixture(scope="module")
def printed(tile_pages, tmp_path_factory):
    """The OpenStreetMap map.html printed offline to PDF by chromium as it opens and zoomed in
    two levels ({"opened": (pdf, records), "zoomed": ...}), and the display of the controls on
    screen and in print media."""
    _, page, region_deg = tile_pages["osm_en"]
    browser = DevTools(chromium_binary(), tmp_path_factory.mktemp("chromium-print"))
    try:
        session = open_tab(browser, page)
        evaluate_js(browser, session, "new Promise(done => setTimeout(done, 1000))")
        prints = {"opened": print_page(browser, session, region_deg)}
        evaluate_js(browser, session, "window[document.querySelector('.folium-map').id]"
                                      ".zoomIn(2, {animate: false}) && true")
        prints["zoomed"] = print_page(browser, session, region_deg)
        on_screen = evaluate_js(browser, session, CONTROL_DISPLAY)
        browser.call("Emulation.setEmulatedMedia", session, media="print")
        in_print = evaluate_js(browser, session, CONTROL_DISPLAY)
    finally:
        browser.close()
    return prints, on_screen, in_print


def test_map_prints_on_one_a4_landscape_page(printed):
    a4_landscape_pt = (PRINT_PAGE_MM[0] * 72 / 25.4, PRINT_PAGE_MM[1] * 72 / 25.4)
    for kind, (pdf, _) in printed[0].items():
        pages = pdf_pages_pt(pdf)
        assert len(pages) == 1, kind
        assert pages[0] == pytest.approx(a4_landscape_pt, abs=1.0), kind


def assert_fills_the_page_beside_the_legend(before: dict) -> None:
    """The map is the page's printable area, and the part of the region on screen lies in it
    right of the legend, spanning the room there on one side."""
    width_px, height_px = (int((side - 2 * PRINT_MARGIN_MM) / 25.4 * 96) for side in PRINT_PAGE_MM)
    assert (before["width"], before["height"]) == (width_px, height_px)
    left, top, right, bottom = before["region"]
    assert left >= before["legendRight"] - 1 and right <= width_px + 1
    assert top >= -1 and bottom <= height_px + 1
    room_px = (width_px - before["legendRight"], height_px)
    assert max((right - left) / room_px[0], (bottom - top) / room_px[1]) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("kind", ["opened", "zoomed"])
def test_printed_map_fills_the_page_with_the_region_on_screen(printed, kind):
    screen, before, after, settled = printed[0][kind][1]
    assert_fills_the_page_beside_the_legend(before)
    for back in (after, settled):  # the window's size and view back as they were, and kept
        assert (back["width"], back["height"]) == (screen["width"], screen["height"]) == (1400, 900)
        assert back["view"] == pytest.approx(screen["view"])


def test_zoomed_map_was_printed_zoomed_in(printed):
    opened, zoomed = printed[0]["opened"][1], printed[0]["zoomed"][1]
    assert zoomed[0]["view"][2] == opened[0]["view"][2] + 2
    assert zoomed[1]["view"][2] > opened[1]["view"][2] + 1


def test_print_hides_the_controls_one_clicks_and_keeps_the_legend(printed):
    _, on_screen, in_print = printed
    # the zoom bar (with the full-screen button in it), the layer control, and the minimap,
    # hidden on screen already: offline, its tiles fail
    assert on_screen["clicked"] == [True, True, False]
    assert not any(in_print["clicked"])
    assert all(on_screen["read"]) and all(in_print["read"]) and len(in_print["read"]) == 3

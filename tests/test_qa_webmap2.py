"""map.html of a whole region stays small enough to mail and open on a laptop.

folium wrote a block of script per village and site marker and per popup, styles and popup
markup written out each time: about 1.9 kB a marker, 3.9 of the 5.5 MB of a 100 km region's
map.html. The markers are now drawn by one script call per layer from compact data
(:class:`siting.export.webmap.PointLayer`). Headless chromium opens the very map.html and opens
every marker's popup: each holds the fields it held, read from the plan's tables here; and a
marker costs the page little more than the text its popup and tooltip show.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from folium.utilities import mercator_transform, write_png
from matplotlib import colormaps
from PIL import Image
from shapely.geometry import Point

from map_popups import popups, tooltips
from siting.config import load_scenario
from siting.export.i18n import value_text
from siting.export.tables import plan_tables
from siting.export.webmap import hillshade_rgba, write_map
from siting.pipeline import compute
from test_browser import DevTools, chromium_binary, evaluate_js, open_tab, page_errors, Visit
from test_export import XSS, small_region
from test_qa_bigmap import image_overlays

#: Every marker on the map with a popup: opens it and reads its markup, its rows (as text), how
#: its field names are laid out, its tooltip and its position; the map's popups close again.
OPEN_EVERY_POPUP = """(() => {
  const map = window[document.querySelector('.folium-map').id];
  const found = [];
  map.eachLayer(layer => {
    if (!(layer instanceof L.Marker || layer instanceof L.CircleMarker) || !layer.getPopup()) { return; }
    layer.openPopup();
    const box = layer.getPopup().getElement().querySelector('.leaflet-popup-content');
    const tip = layer.getTooltip();
    found.push({lat: layer.getLatLng().lat, lon: layer.getLatLng().lng,
                icon: layer instanceof L.Marker, html: box.innerHTML,
                rows: Array.from(box.querySelectorAll('tr'),
                                 tr => [tr.querySelector('th').textContent, tr.querySelector('td').textContent]),
                headers: Array.from(box.querySelectorAll('th'),
                                    th => getComputedStyle(th).textAlign + ' ' + getComputedStyle(th).paddingRight),
                tooltip: tip ? String(tip.getContent()) : null});
    layer.closePopup();
  });
  return found;
})()"""


@pytest.fixture(scope="module")
def small_map(tmp_path_factory):
    """(tables, map.html) of test_export's small region (an existing site, a new lamp pole,
    villages named like an XSS probe and with a back-tick), in English."""
    folder = tmp_path_factory.mktemp("webmap2")
    tables = plan_tables(compute(load_scenario(small_region(folder / "in"))))
    write_map(folder / "map.html", tables)
    return tables, folder / "map.html"


@pytest.fixture(scope="module")
def opened(small_map, tmp_path_factory):
    """OPEN_EVERY_POPUP's answer in chromium (no network), and the visit's events."""
    _, page = small_map
    browser = DevTools(chromium_binary(), tmp_path_factory.mktemp("chromium"))
    try:
        session = open_tab(browser, page)
        found = evaluate_js(browser, session, OPEN_EVERY_POPUP)
        return found, list(browser.events)
    finally:
        browser.close()


def village_fields(v) -> dict[str, str]:
    """A village's popup, as folium's popups showed it (English)."""
    level = v.best_level_dbm
    return {"village": v["name"], "id": v.village_id, "people": str(int(v.population)),
            "admin unit": v.admin_unit, "mandatory": "yes" if v.mandatory else "no",
            "status": value_text("village_status", v.status, "en"),
            "served by": f"{v.serving_site} {v.serving_technology}".strip() or "-",
            "best level [dBm]": f"{level:.1f}" if np.isfinite(level) else "-",
            "reason": value_text("reason", v.uncovered_reason, "en") if v.uncovered_reason else "-"}


def built_site_fields(s) -> dict[str, str]:
    """The popup of a site the plan builds (English, a plan without phases or backhaul)."""
    return {"site": s.site_id, "action": value_text("action", s.action, "en"),
            "kind": value_text("kind", s.kind, "en"), "technology": s.technology,
            "antenna height [m]": f"{s.antenna_height_m:g}", "cost [CNY]": f"{s.total_cost_cny:,.0f}",
            "people newly covered": f"{s.people_newly_covered:,.0f}", "phase": "this plan"}


def existing_site_fields(s) -> dict[str, str]:
    return {"site": s.site_id, "kind": value_text("kind", s.kind, "en"),
            "action": value_text("action", s.action, "en"), "technology": s.technology or "-",
            "antenna height [m]": f"{s.antenna_height_m:g}"}


def expected_markers(tables) -> list[tuple[float, float, dict]]:
    """(latitude, longitude, popup fields) of every village and site marker, from the tables."""
    sites = tables.sites.to_crs("EPSG:4326")
    villages = tables.villages.to_crs("EPSG:4326")
    built = sites[sites["action"].isin(["build", "upgrade"])]
    return ([(v.geometry.y, v.geometry.x, village_fields(v)) for _, v in villages.iterrows()]
            + [(s.geometry.y, s.geometry.x, built_site_fields(s)) for _, s in built.iterrows()]
            + [(s.geometry.y, s.geometry.x, existing_site_fields(s))
               for _, s in sites[sites["existing"]].iterrows()])


def test_every_popup_chromium_opens_holds_the_fields_of_its_village_or_site(small_map, opened):
    tables, _ = small_map
    found, events = opened
    assert page_errors(Visit({}, False, "", b"", events), "tile.openstreetmap.org") == []
    expected = expected_markers(tables)
    assert len(found) == len(expected) >= 6
    shown = {json.dumps(m["rows"]): m for m in found}
    for lat, lon, fields in expected:
        marker = shown[json.dumps([list(item) for item in fields.items()])]
        # the position to COORDINATE_DECIMALS: half of 1e-5 degree at most
        assert abs(marker["lat"] - lat) <= 5.1e-6 and abs(marker["lon"] - lon) <= 5.1e-6, fields
    probe = next(m for m in found if m["rows"][0] == ["village", XSS])
    assert "&lt;script&gt;" in probe["html"] and "<script" not in probe["html"]  # text, not markup
    assert html.unescape(probe["tooltip"]) == XSS
    built = [m for m in found if m["icon"]]
    assert built and all(m["tooltip"].startswith(f"{m['rows'][0][1]}: ") for m in built)


def test_the_popups_chromium_shows_are_those_the_tests_read_from_the_page(small_map, opened):
    """The helper of the tests that read map.html's popups (map_popups) reads what the page's
    script shows: every popup and tooltip, the field names laid out as folium's popups had them."""
    _, page = small_map
    found, _ = opened
    text = page.read_text(encoding="utf-8")
    assert sorted(m["rows"] for m in found) == sorted([list(item) for item in p.items()] for p in popups(text))
    assert sorted(m["tooltip"] for m in found if m["tooltip"]) == sorted(tooltips(text))
    assert {header for m in found for header in m["headers"]} == {"left 6px"}


#: What a marker may add to map.html beyond the bytes of the text its popup and tooltip show:
#: two coordinates to 1e-5 degree with their commas (at most 20 B), the style's index and the
#: row's brackets, comma and line break (at most 8 B), and per value and for the tooltip its
#: quotes and comma (3 B). folium's markers cost 1.9 kB each, a popup's values about 100 B.
ROW_BYTES = 28
VALUE_BYTES = 3


def copies(frame: gpd.GeoDataFrame, row: int, n: int, id_column: str, shift_m: float) -> gpd.GeoDataFrame:
    """``frame`` with ``n`` copies of its ``row``-th row added, each with an id of its own and
    moved ``shift_m`` further east than the last."""
    added = frame.iloc[[row] * n].copy()
    added[id_column] = [f"copy{k}" for k in range(n)]
    added["geometry"] = [Point(p.x + shift_m * (k + 1), p.y) for k, p in enumerate(added.geometry)]
    return gpd.GeoDataFrame(pd.concat([frame, added], ignore_index=True), crs=frame.crs)


def test_a_marker_costs_the_page_little_more_than_what_its_popup_shows(small_map, tmp_path):
    """300 villages and 300 built sites more, copies of the region's: the page grows by no
    more than the text their popups and tooltips show plus ROW_BYTES and VALUE_BYTES each."""
    tables, page = small_map
    n = 300
    villages = copies(tables.villages, 0, n, "village_id", 20.0)
    built = int(np.flatnonzero(tables.sites["action"].isin(["build", "upgrade"]))[0])
    sites = copies(tables.sites, built, n, "site_id", 20.0)
    bigger = tables.__class__(**{**tables.__dict__, "villages": villages, "sites": sites})
    write_map(tmp_path / "map.html", bigger)
    grown_b = (tmp_path / "map.html").stat().st_size - page.stat().st_size
    added = ([village_fields(v) for _, v in villages.tail(n).iterrows()]
             + [built_site_fields(s) for _, s in sites.tail(n).iterrows()])
    tooltips_b = sum(len(v["name"].encode()) for _, v in villages.tail(n).iterrows()) + sum(
        len(f"{s['site']}: {s['action']} {s['technology']} ({s['kind']})".encode()) for s in added[n:])
    shown_b = tooltips_b + sum(len(html.escape(value).encode()) for fields in added for value in fields.values())
    bound_b = shown_b + sum(ROW_BYTES + VALUE_BYTES * (len(fields) + 1) for fields in added)
    assert 0 < grown_b <= bound_b, (grown_b, bound_b)
    assert grown_b / (2 * n) < 200  # bytes a marker, with popups of 8 and 9 fields


def test_the_hillshade_is_the_same_picture_as_a_grey_png(small_map):
    """The hillshade, the largest image of map.html (0.74 of a 100 km region's 1.8 MB), was an
    RGBA PNG with its grey written three times; it is now a grey-and-alpha PNG of the same
    picture: the DEM's hillshade in Web Mercator rows as folium projected it, to a grey level."""
    tables, page = small_map
    shown = image_overlays(page.read_text(encoding="utf-8"))["Terrain (hillshade)"]
    assert shown.mode == "LA"
    rgba, bounds = hillshade_rgba(tables.terrain, tables.crs)
    projected = mercator_transform(rgba, (bounds[0][0], bounds[1][0]))
    grey_alpha = np.asarray(shown, np.float64)
    assert grey_alpha.shape == projected.shape[:2] + (2,)
    assert np.abs(grey_alpha - projected[..., [0, 3]]).max() <= 0.5 + 1e-9
    pngs = [base64.b64decode(data) for data in re.findall(r'L\.imageOverlay\(\s*"data:image/png;base64,([^"]+)"',
                                                          page.read_text(encoding="utf-8"))]
    grey_pngs = [png for png in pngs if Image.open(io.BytesIO(png)).mode == "LA"]
    assert len(grey_pngs) == 1 and len(grey_pngs[0]) < 0.75 * len(write_png(projected))  # folium's RGBA


def test_coverage_layers_are_drawn_in_the_legends_colours(small_map):
    """folium wrote each coverage layer scaled channel by channel to its brightest pixel: the
    yellow of "-105 to -95 dBm (fair)" (#fee08b) came out white and the others bluer than the
    legend's swatches. Every coloured pixel of each coverage layer is now a class colour of
    the legend, opaque (the layer's opacity, 0.7, is the swatches'), and the layer is an
    indexed-colour PNG of those colours."""
    tables, page = small_map
    text = page.read_text(encoding="utf-8")
    legend = re.search(r"<div id='siting-legend'.*?</div></div>", text, re.DOTALL).group(0)
    swatches = re.findall(r"background:(#[0-9a-f]{6});opacity:\.7'></span>([^<]*dBm[^<]*)</div>", legend)
    assert len(swatches) == 4
    class_rgb = {tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c, _ in swatches}
    layers = {name: image for name, image in image_overlays(text).items() if name.startswith("Coverage")}
    assert len(layers) == 1 + len(tables.level_dbm_by_technology)
    for name, image in layers.items():
        rgba = np.asarray(image.convert("RGBA")).reshape(-1, 4)
        drawn = rgba[rgba[:, 3] > 0]
        assert len(drawn) and {tuple(c) for c in np.unique(drawn[:, :3], axis=0)} <= class_rgb, name
        assert set(np.unique(drawn[:, 3])) == {255} and image.mode == "P", name
    assert re.findall(r'L\.imageOverlay\([^)]*?"opacity": 0\.7', text, re.DOTALL)


def test_the_population_layer_is_drawn_in_the_colours_of_its_scale(small_map):
    """Scaled channel by channel as the coverage layers were, the population layer was drawn in
    colours off its YlOrRd scale (the legend's gradient); each of its pixels is now one of the
    scale's 256 colours, opaque (the layer's opacity, 0.8, makes it see-through)."""
    _, page = small_map
    image = image_overlays(page.read_text(encoding="utf-8"))["Population (people per cell)"]
    scale = {tuple(c) for c in (colormaps["YlOrRd"](np.arange(256) / 255) * 255).astype(np.uint8)[:, :3]}
    rgba = np.asarray(image.convert("RGBA")).reshape(-1, 4)
    drawn = rgba[rgba[:, 3] > 0]
    assert len(drawn) and {tuple(c) for c in np.unique(drawn[:, :3], axis=0)} <= scale
    assert set(np.unique(drawn[:, 3])) == {255}

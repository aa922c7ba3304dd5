"""map.html over a whole prefecture, as a committee opens it: the icons of neighbouring sites
must not pile up on each other at the opening view (hiding each other's letters), the letters
still show once one zooms in to where the icons stand clear, and a fine coverage.tif does not
make the page's coverage layers as large.

The browser tests open, in headless chromium with no network, the very map.html ``siting run``
writes for a region whose sites stand 400 m apart: at the zoom that fits an 18 km region in the
window, 18 px icons 400 m apart overlapped.
"""

from __future__ import annotations

import base64
import io
import itertools
import re

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from PIL import Image
from shapely.geometry import Point
from typer.testing import CliRunner

from regions import CRS, TECH_4G, candidate, village, write_region, xy
from siting.cli import app
from siting.export.webmap import MAX_OVERLAY_PX, SITE_ICON_PX, site_letter_zoom
from test_browser import DevTools, Visit, chromium_binary, evaluate_js, open_tab, page_errors

#: Sites of the crowded region: a 4 x 4 grid, SPACING_M apart, each the only one to reach its
#: village (150 m reach, 50 m away), on an 18 km square.
SPACING_M, GRID = 400.0, 4
REGION_CELLS, CELL_M = 600, 30.0
#: coverage.tif's cell [m]: the 18 km region's level raster is 900 cells a side.
FINE_RASTER_M = 20.0
#: The closest zoom the views go to (of OpenStreetMap's tiles).
CLOSEST_ZOOM = 18

#: Each site icon of the page: its drawn box [CSS px] and whether its letter is drawn; the zoom.
ICONS = """(() => {
  const box = document.querySelector('.folium-map');
  const map = window[box.id];
  const icons = Array.from(box.querySelectorAll('.leaflet-marker-icon.siting-site > div'), e => {
    const r = e.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width,
            letter: e.textContent.trim(), lettered: getComputedStyle(e).color !== 'rgba(0, 0, 0, 0)'};
  });
  return {zoom: map.getZoom(), icons: icons};
})()"""


def set_zoom(zoom: int) -> str:
    return f"""(() => {{ const map = window[document.querySelector('.folium-map').id];
      map.setZoom({zoom}, {{animate: false}}); return map.getZoom(); }})()"""


@pytest.fixture(scope="module")
def crowded_map(tmp_path_factory):
    """The map.html `siting run` writes for the crowded region (16 sites built), with its
    coverage.tif at FINE_RASTER_M."""
    folder = tmp_path_factory.mktemp("crowded")
    offset_m = (REGION_CELLS * CELL_M - (GRID - 1) * SPACING_M) / 2
    spots = [(offset_m + i * SPACING_M, offset_m + j * SPACING_M)
             for i, j in itertools.product(range(GRID), repeat=2)]
    villages = [village(f"v{k}", x, y) for k, (x, y) in enumerate(spots)]
    candidates = [candidate(f"s{k}", x + 50.0, y, techs="4G") for k, (x, y) in enumerate(spots)]
    scenario = write_region(folder / "in", np.full((REGION_CELLS, REGION_CELLS), 400.0), villages,
                            candidates, technologies=[dict(TECH_4G, max_range_m=150)],
                            map={"basemap": "none"},
                            coverage={"raster_resolution_m": FINE_RASTER_M})
    result = CliRunner().invoke(app, ["run", str(scenario), "--out", str(folder / "out"), "-q"])
    assert result.exit_code == 0, result.output
    return folder / "out" / "map.html"


@pytest.fixture(scope="module")
def views(crowded_map, tmp_path_factory):
    """ICONS at the opening view, then at every zoom from one more up to CLOSEST_ZOOM;
    the DevTools events of the visit."""
    browser = DevTools(chromium_binary(), tmp_path_factory.mktemp("chromium"))
    try:
        session = open_tab(browser, crowded_map)
        evaluate_js(browser, session, "new Promise(done => setTimeout(done, 500))")
        seen = [evaluate_js(browser, session, ICONS)]
        for zoom in range(seen[0]["zoom"] + 1, CLOSEST_ZOOM + 1):
            assert evaluate_js(browser, session, set_zoom(zoom)) == zoom
            seen.append(evaluate_js(browser, session, ICONS))
        return seen, list(browser.events)
    finally:
        browser.close()


def overlapping_pairs(icons: list[dict]) -> int:
    """How many pairs of the drawn boxes overlap."""
    return sum(a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"]
               and b["top"] < a["bottom"] for a, b in itertools.combinations(icons, 2))


def clearance_px(icons: list[dict]) -> float:
    """The least Chebyshev distance [px] between two icons' centres."""
    centres = np.array([((i["left"] + i["right"]) / 2, (i["top"] + i["bottom"]) / 2) for i in icons])
    return min(np.abs(a - b).max() for a, b in itertools.combinations(centres, 2))


def test_site_icons_stand_clear_of_each_other_at_the_opening_view(views):
    seen, events = views
    opening = seen[0]
    assert len(opening["icons"]) == GRID * GRID
    assert clearance_px(opening["icons"]) < SITE_ICON_PX  # full-size icons would overlap here
    assert overlapping_pairs(opening["icons"]) == 0
    assert not any(icon["lettered"] for icon in opening["icons"])
    assert page_errors(Visit(opening, False, "", b"", events), None) == []


def test_letters_show_from_the_zoom_the_icons_stand_clear(views):
    """At every zoom a letter is drawn exactly when the icons stand clear of each other (the
    sites are evenly spaced, so all or none), full size; at the closest zoom all are."""
    seen, _ = views
    for view in seen:
        clear = clearance_px(view["icons"]) >= SITE_ICON_PX
        assert all(icon["lettered"] == clear for icon in view["icons"]), view["zoom"]
        assert overlapping_pairs(view["icons"]) == 0, view["zoom"]
        if clear:
            assert {icon["width"] for icon in view["icons"]} == {SITE_ICON_PX - 2 + 2}
            assert {icon["letter"] for icon in view["icons"]} == {"P"}  # public buildings
    assert all(icon["lettered"] for icon in seen[-1]["icons"])


def test_a_site_built_with_two_technologies_counts_once():
    """A site drawn in two layers on one spot does not hold the letters back to zoom 18."""
    spots = [Point(*xy(i * SPACING_M, 0.0)) for i in range(20)]
    alone = site_letter_zoom(gpd.GeoSeries(spots, crs=CRS))
    twice = site_letter_zoom(gpd.GeoSeries(spots + spots[:1], crs=CRS))
    assert twice == alone < 18
    # independently: 400 m at ~32.7 N in Web Mercator is 400 / cos(lat) m; 18 px need that
    # many metres at 256 * 2**z px over 2 pi 6378137 m
    lat = gpd.GeoSeries(spots[:1], crs=CRS).to_crs("EPSG:4326").y.iloc[0]
    expected = np.ceil(np.log2(SITE_ICON_PX * 2 * np.pi * 6378137.0 / 256 / (SPACING_M / np.cos(np.radians(lat)))))
    assert alone == expected


def image_overlays(page: str) -> dict[str, Image.Image]:
    """{layer name in the layer control: decoded image} of every image overlay of ``page``."""
    images = dict(re.findall(r'var (image_overlay_\w+) = L\.imageOverlay\(\s*"data:image/png;base64,([^"]+)"', page))
    names = dict((var, name) for name, var in re.findall(r'"([^"]+)" : (image_overlay_\w+)', page))
    return {names[var]: Image.open(io.BytesIO(base64.b64decode(data))) for var, data in images.items()}


def test_coverage_overlays_stay_small_with_a_fine_coverage_raster(crowded_map):
    """A planner who asks for a fine coverage.tif (20 m: 900 cells a side here, 5,000 over a
    100 km prefecture) got each coverage layer of map.html at that size, three of them, in a
    file the committee must load whole; now every overlay is at most MAX_OVERLAY_PX a side,
    and the after-plan layer colours the share of the region coverage.tif has a level for."""
    overlays = image_overlays(crowded_map.read_text(encoding="utf-8"))
    assert {"Terrain (hillshade)", "Coverage after plan (best server RSRP)",
            "Coverage 4G-1800 (RSRP)"} <= set(overlays)
    with rasterio.open(crowded_map.with_name("coverage.tif")) as tif:
        assert max(tif.shape) >= REGION_CELLS * CELL_M / FINE_RASTER_M > MAX_OVERLAY_PX
        covered_share = float(np.mean(~tif.read(1, masked=True).mask))
    assert {name: max(image.size) for name, image in overlays.items()
            if max(image.size) > MAX_OVERLAY_PX} == {}
    after = np.asarray(overlays["Coverage after plan (best server RSRP)"].convert("RGBA"))
    # more opaque than not: folium's Web Mercator row resampling blends the discs' edge rows
    coloured_share = float(np.mean(after[..., 3] >= 128))
    assert covered_share > 0 and coloured_share == pytest.approx(covered_share, rel=0.05)

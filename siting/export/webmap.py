"""``map.html``: the interactive folium map a planning committee opens in a browser, offline.

Layers: terrain hillshade and population (image overlays), coverage after the plan (best server)
and per technology (coloured by RSRP class), selected sites by technology (icon shape by action,
letter by site kind from the zoom at which the icons stand clear: :class:`SiteLetters`), existing
sites, villages coloured covered / uncovered / mandatory-uncovered, 5G zones and admin units; a
layer control, legend, metric scale bar, fullscreen control and, over a tiled basemap, a minimap.
The map opens fitted to the region (the admin units, else the DEM).

The map reads in the scenario's ``report.language``: layer names, legend, title, popup field
names and the values people read (actions, site kinds, village states, reasons) come from
:mod:`siting.export.i18n`, and the page declares its language (``<html lang="zh-CN">``). Names
(villages, sites, counties, the scenario) are shown as written, in UTF-8.

Every attribute that reaches HTML is escaped with :func:`esc` (HTML entities plus the characters
that would end or interpolate the JavaScript template literal folium wraps popups in).

Villages and sites, thousands over a prefecture, are not folium markers: each layer of them is
one :class:`PointLayer`, its markers drawn by one script (:data:`POINT_LAYER_SCRIPT`) from
compact data, their popups' tables built when they open, as :func:`popup_html` writes them.

The page is self-contained: it asks no CDN for anything. folium names the scripts and stylesheets
each element needs in its ``default_js``/``default_css`` lists and turns them into
``<script src="https://...">``/``<link href="https://...">`` tags when the page is rendered.
:func:`inline_assets` walks the finished element tree, empties those lists, and puts the pinned
copy of each needed file (``siting/export/assets/``: npm tarball copies with their licences, see
its README) inline at the top of ``<head>``, the images its stylesheets use as ``data:`` URIs.
It works on folium's asset *names* rather than rewriting the rendered HTML, because the names are
folium's interface and the CDN addresses are not; a name that is neither vendored nor listed in
:data:`UNUSED_ASSETS` raises, so a folium upgrade cannot quietly bring a CDN link back.
jQuery is not shipped: folium's popups use it only as ``$(html)[0]``, which :data:`POPUP_PARSER`
provides in a few lines. Only the basemap tiles (``map.basemap``: ``osm`` by default, a custom
``{url, attribution}``, or ``none``) come from the network; the hillshade overlay keeps the map
readable when they cannot load, and a notice under the title (:class:`TileNotice`) then says
that the basemap needs a network.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import html
import io
import json
import re
from collections.abc import Iterable
from pathlib import Path

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import rasterio.transform
import rasterio.warp
from branca.element import Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template
from folium.utilities import mercator_transform
from rasterio.enums import Resampling

from siting.export.i18n import (HTML_LANG, admin_text, admin_unit_names, check_language, join,
                                rsrp_class_labels, term, value_text)
from siting.export.style import (ADMIN_UNIT_COLOUR, BACKHAUL_COLOURS, BUILT_ACTIONS, RSRP_CLASSES,
                                 TECH_COLOURS, VILLAGE_COLOURS, WGS84, admin_boundaries, hillshade)
from siting.export.cells import NO_VALUE_CELL, cell_text, money_cell, or_dash
from siting.export.tables import PlanTables
from siting.export.webfont import PAGE_FONTS, save_map
from siting.io import EXISTING_KINDS
from siting.io.asbuilt import BUILT_YEAR_COLUMN, builds_technology
from siting.labels import OUTSIDE_ADMIN_UNITS

# One letter per candidate kind, shown inside the site icon.
KIND_LETTERS = {"existing_4g": "E", "existing_5g": "E", "public_building": "P", "lamp_pole": "L",
                "water_tower": "W", "existing_tower": "T", "rooftop": "R", "greenfield": "G"}
#: Side [CSS px] of a site icon (:func:`site_icon`), border included.
SITE_ICON_PX = 18
#: Share of the site icons that stand clear of every other at the zoom their letters show from
#: (:func:`site_letter_zoom`); below it they are half-size marks without a letter.
CLEAR_ICON_SHARE = 0.95
#: Leaflet's Web Mercator (EPSG:3857) world: 256 px wide at zoom 0, over the equator's
#: 2 pi 6378137 m (Leaflet ``L.CRS.EPSG3857``, ``L.Projection.SphericalMercator``).
WEB_MERCATOR = "EPSG:3857"
WORLD_PX_ZOOM0 = 256
WORLD_M = 2 * np.pi * 6378137.0
# Largest side [pixels] of an image overlay: keeps map.html small (the demo stays < 15 MB).
MAX_OVERLAY_PX = 700
#: Background of the map where no tile is drawn (``map.basemap: none``, or tiles offline).
BACKGROUND_COLOUR = "#f2f2ef"

#: The page map.html prints on (:class:`PrintView`): A4 landscape, width and height [mm], and its
#: margins [mm].
PRINT_PAGE_MM = (297.0, 210.0)
PRINT_MARGIN_MM = 10.0
#: CSS pixels per millimetre: 96 px to the inch (CSS Values and Units 3, section 6.2).
CSS_PX_PER_MM = 96 / 25.4
#: Leaflet path styles of the admin units' boundaries (dashed, as on map.png) and the 5G zones.
ADMIN_UNIT_STYLE = {"color": ADMIN_UNIT_COLOUR, "weight": 1.5, "fill": False, "dashArray": "4 4"}
ZONE_STYLE = {"color": "#762a83", "weight": 2, "fillOpacity": 0.05}
#: Leaflet circle-marker styles of the existing sites and of the villages (each village's
#: fill colour is its status's, :data:`~siting.export.style.VILLAGE_COLOURS`).
EXISTING_SITE_STYLE = {"radius": 3, "weight": 1, "color": "#000", "fillColor": "#000", "fillOpacity": 0.8}
VILLAGE_STYLE = {"radius": 4, "weight": 1, "color": "#333", "fillOpacity": 0.9}
#: Each admin unit's own outline, unseen and 8 px wide: where a click opens the unit's popup
#: (the boundaries are drawn once, in ADMIN_UNIT_STYLE, above them).
ADMIN_UNIT_CLICK_STYLE = {"color": ADMIN_UNIT_COLOUR, "opacity": 0, "weight": 8, "fill": False}
#: The id of the box saying the basemap tiles need a network (:class:`TileNotice`).
TILE_NOTICE_ID = "siting-tile-notice"

ASSETS_DIR = Path(__file__).with_name("assets")
#: folium's name of a script or stylesheet -> the vendored copy inlined instead (under ASSETS_DIR).
VENDORED_ASSETS = {
    "leaflet": "leaflet/leaflet.js",
    "leaflet_css": "leaflet/leaflet.css",
    "Control_MiniMap_js": "leaflet-minimap/Control.MiniMap.min.js",
    "Control_MiniMap_css": "leaflet-minimap/Control.MiniMap.min.css",
    "Control.Fullscreen.js": "leaflet.fullscreen/Control.FullScreen.js",
    "Control.FullScreen.css": "leaflet.fullscreen/Control.FullScreen.css",
}
#: folium's default assets this map does without: jQuery (see POPUP_PARSER), and Bootstrap,
#: glyphicons, Font Awesome and awesome-markers, which serve folium's ``Icon`` markers only.
UNUSED_ASSETS = frozenset({"jquery", "bootstrap", "bootstrap_css", "glyphicons_css", "awesome_markers",
                           "awesome_markers_css", "awesome_markers_font_css", "awesome_rotate_css"})
#: folium's popup template parses its HTML with jQuery as ``$(html)[0]``; this is that one call
#: (an inert <template> parses it, so nothing in it runs), and anything else fails loudly.
POPUP_PARSER = """window.$ = function (markup) {
  if (typeof markup !== "string" || markup.trim().charAt(0) !== "<") {
    throw new Error("siting map: jQuery is not bundled; $ only parses popup HTML");
  }
  var box = document.createElement("template");
  box.innerHTML = markup.trim();
  return [box.content.firstElementChild];
};"""
#: One row of a popup's table: the field's name and its value (both escaped with :func:`esc`).
POPUP_ROW = "<tr><th style='text-align:left;padding-right:6px'>{}</th><td>{}</td></tr>"
#: The widest a popup opens [CSS px].
POPUP_MAX_WIDTH_PX = 340
#: Decimals of the degrees a :class:`PointLayer` writes: 1e-5 degree is 1.1 m north-south
#: (less east-west), finer than a village's or a site's position is known, and 2 px at
#: Leaflet's closest zoom (18: 0.6 m a pixel at the equator).
COORDINATE_DECIMALS = 5
#: Draws a :class:`PointLayer` from its data: a circle marker (``marker: "circle"``, styled
#: by ``styles[row[2]]``) or an icon (``"icon"``, ``L.divIcon(styles[row[2]])``) at each row's
#: position, its tooltip (``row[3]``, unless null) and its popup (unless every value is null:
#: a marker without fields opens none), whose table of the labels and
#: the row's values (a null value: no such field) is built when it opens, in the markup of
#: :func:`popup_html` (``data.row``: :data:`POPUP_ROW` around its two fields).
POINT_LAYER_SCRIPT = """function sitingPoints(layer, data) {
  var icons = data.marker === "icon" ? data.styles.map(function (s) { return L.divIcon(s); }) : null;
  function table(values) {
    var rows = "";
    values.forEach(function (value, i) {
      if (value !== null) { rows += data.row[0] + data.labels[i] + data.row[1] + value + data.row[2]; }
    });
    return "<table>" + rows + "</table>";
  }
  data.rows.forEach(function (row) {
    var at = [row[0], row[1]], values = row.slice(4);
    var marker = icons ? L.marker(at, {icon: icons[row[2]]}) : L.circleMarker(at, data.styles[row[2]]);
    if (values.some(function (value) { return value !== null; })) {
      marker.bindPopup(function () { return table(values); }, {maxWidth: data.maxWidth});
    }
    if (row[3] !== null) { marker.bindTooltip(row[3], {sticky: true}); }
    marker.addTo(layer);
  });
}"""
_CSS_URL = re.compile(r"url\(\s*(['\"]?)(?!data:|#)([^'\")]+)\1\s*\)")
_MIME_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}


def esc(value) -> str:
    """Text safe inside HTML, inside the JS template literal folium puts popups in, and inside
    the Jinja template folium makes of every rendered marker and popup (``{{``, ``{%``, ``{#``
    would run or break it), so braces are character references too."""
    return (html.escape(str(value), quote=True)
            .replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")
            .replace("{", "&#123;").replace("}", "&#125;"))


def popup_html(fields: dict) -> str:
    """The table a popup shows: one :data:`POPUP_ROW` per field (name -> value, both escaped
    with :func:`esc`), in order; the table :data:`POINT_LAYER_SCRIPT` builds."""
    return "<table>" + "".join(POPUP_ROW.format(esc(k), esc(v)) for k, v in fields.items()) + "</table>"


def _popup(fields: dict) -> folium.Popup:
    """A folium popup of :func:`popup_html` (polygons and lines: few of them on a map)."""
    return folium.Popup(popup_html(fields), max_width=POPUP_MAX_WIDTH_PX)


def _hex_rgb(colour: str) -> list[int]:
    """[r, g, b] (0-255) of a ``#rrggbb`` colour."""
    return [int(colour[i:i + 2], 16) for i in (1, 3, 5)]


def _reproject(values: np.ndarray, transform, crs, resampling=Resampling.nearest,
               max_px: int | None = None, dst_crs=WGS84):
    """Reproject a float raster to ``dst_crs`` (NaN = nodata; EPSG:4326, or Web Mercator for an
    image whose rows Leaflet stretches linearly between its bounds), at most ``max_px`` a side
    when given (coarser cells, each the ``resampling`` of the cells it covers); returns
    (array, [[s, w], [n, e]] [degrees])."""
    values = np.asarray(values, np.float32)
    source = (crs, dst_crs, values.shape[1], values.shape[0],
              *rasterio.transform.array_bounds(*values.shape, transform))
    dst_transform, width, height = rasterio.warp.calculate_default_transform(*source)
    if max_px is not None and max(width, height) > max_px:
        scale = max_px / max(width, height)
        dst_transform, width, height = rasterio.warp.calculate_default_transform(
            *source, dst_width=max(1, int(width * scale)), dst_height=max(1, int(height * scale)))
    out = np.full((height, width), np.nan, np.float32)
    rasterio.warp.reproject(values, out, src_transform=transform, src_crs=crs, src_nodata=np.nan,
                            dst_transform=dst_transform, dst_crs=dst_crs, dst_nodata=np.nan,
                            resampling=resampling)
    west, south, east, north = rasterio.warp.transform_bounds(
        dst_crs, WGS84, *rasterio.transform.array_bounds(height, width, dst_transform))
    return out, [[south, west], [north, east]]


def overlay_block_means(values: np.ndarray, transform, max_px: int = MAX_OVERLAY_PX):
    """Block means of ``step`` x ``step`` cells so that the largest side is at most ``max_px``;
    one band of blocks at a time, so a province-size DEM is never copied whole."""
    step = int(np.ceil(max(values.shape) / max_px))
    if step <= 1:
        return np.asarray(values, np.float32), transform, 1
    n_rows, n_cols = values.shape[0] // step, values.shape[1] // step
    out = np.empty((n_rows, n_cols), np.float32)
    for i in range(n_rows):
        band = np.asarray(values[i * step:(i + 1) * step, :n_cols * step], np.float64)
        blocks = band.reshape(step, n_cols, step)
        known = np.isfinite(blocks)
        total = np.where(known, blocks, 0.0).sum(axis=(0, 2))
        count = known.sum(axis=(0, 2))
        # A block with no value (no coverage there) stays NaN, without numpy's empty-mean warning.
        out[i] = np.divide(total, count, out=np.full(n_cols, np.nan), where=count > 0)
    return out, transform @ rasterio.Affine.scale(step), step


def rsrp_rgba(level_dbm: np.ndarray, alpha: int = 255) -> np.ndarray:
    """Colour an RSRP raster [dBm] by :data:`RSRP_CLASSES` (transparent where NaN), opaque
    unless ``alpha`` says otherwise: the layer's opacity makes it see-through, as the legend's
    swatches."""
    rgba = np.zeros(level_dbm.shape + (4,), np.uint8)
    remaining = np.isfinite(level_dbm)
    for floor, colour, _ in RSRP_CLASSES:
        mask = remaining & (level_dbm >= floor)
        rgba[mask] = _hex_rgb(colour) + [alpha]
        remaining &= ~mask
    return rgba


def _coverage_rgba(level_dbm: np.ndarray, transform, crs, max_px: int = MAX_OVERLAY_PX):
    """Reproject the level raster to Web Mercator, at most ``max_px`` a side (each pixel the
    level of the cell at its centre: a class is never averaged into another, as folium's
    ``mercator_project`` blended the rows of a WGS84 image), and colour it; returns (rgba,
    bounds [degrees])."""
    out, bounds = _reproject(level_dbm, transform, crs, max_px=max_px, dst_crs=WEB_MERCATOR)
    return rsrp_rgba(out), bounds


def _add_coverage(fmap: folium.Map, level_dbm: np.ndarray, transform, crs, name: str,
                  show: bool = True) -> None:
    """A coverage layer (:func:`_coverage_rgba`) named ``name``, as an indexed-colour PNG
    (:func:`png_url`: the RSRP classes are its only colours)."""
    rgba, bounds = _coverage_rgba(level_dbm, transform, crs)
    folium.raster_layers.ImageOverlay(png_url(rgba), bounds=bounds, name=esc(name), opacity=0.7,
                                      show=show).add_to(fmap)


def hillshade_rgba(terrain, crs, max_px: int = MAX_OVERLAY_PX):
    """Grey hillshade of the DEM (:func:`siting.export.style.hillshade`) of block means, so
    that the overlay stays under ``max_px`` a side; (rgba, bounds)."""
    elevation, transform, step = overlay_block_means(terrain.elevation_m, terrain.transform, max_px)
    shade = hillshade(elevation, terrain.cell_size_m * step)
    shade_wgs, bounds = _reproject(shade.astype(np.float32), transform, crs, Resampling.bilinear)
    rgba = np.zeros(shade_wgs.shape + (4,), np.uint8)
    ok = np.isfinite(shade_wgs)
    grey = (np.clip(np.nan_to_num(shade_wgs), 0, 1) * 255).astype(np.uint8)
    rgba[..., 0] = rgba[..., 1] = rgba[..., 2] = grey
    rgba[..., 3] = np.where(ok, 255, 0)
    return rgba, bounds


def add_hillshade(fmap: folium.Map, terrain, crs, lang: str) -> None:
    """The DEM's hillshade (:func:`hillshade_rgba`; ``crs``: the DEM's projected CRS) as an
    overlay always shown, named in ``lang``: the terrain view map.html and comparison.html
    share. Its rows are moved to Web Mercator as folium's ``mercator_project`` does, and it is
    written as a grey PNG (:func:`png_url`): the same picture as folium's RGBA PNG, with a
    quarter fewer bytes, the largest image of map.html."""
    shade, bounds = hillshade_rgba(terrain, crs)
    projected = np.rint(np.clip(mercator_transform(shade, (bounds[0][0], bounds[1][0])), 0, 255))
    folium.raster_layers.ImageOverlay(png_url(projected), bounds=bounds,
                                      name=esc(term("webmap.layer_hillshade", lang)), opacity=0.6).add_to(fmap)


def png_url(rgba: np.ndarray) -> str:
    """An RGBA image (0-255) as a ``data:`` URL of the smallest exact PNG of it (ISO/IEC 15948):
    grey and alpha (colour type 4: two bytes a pixel) when it is grey, indexed colour (type 3:
    one byte a pixel, the colours' alpha in its tRNS chunk) with at most 256 colours, else RGBA
    (type 6). folium's own PNG of an overlay is always RGBA, each channel scaled to its
    brightest pixel: colours other than the legend's."""
    from PIL import Image  # a dependency of matplotlib

    rgba = np.ascontiguousarray(rgba, np.uint8)
    colours, index = np.unique(rgba.view(np.uint32).reshape(-1), return_inverse=True)
    options = {}
    if (rgba[..., 0] == rgba[..., 1]).all() and (rgba[..., 1] == rgba[..., 2]).all():
        image = Image.fromarray(np.ascontiguousarray(rgba[..., [0, 3]]))
    elif len(colours) <= 256:
        palette = colours.view(np.uint8).reshape(-1, 4)
        image = Image.fromarray(index.reshape(rgba.shape[:2]).astype(np.uint8))
        image.putpalette(palette[:, :3].ravel().tolist())
        options["transparency"] = bytes(palette[:, 3].tolist())
    else:
        image = Image.fromarray(rgba)
    png = io.BytesIO()
    image.save(png, format="PNG", optimize=True, **options)
    return "data:image/png;base64," + base64.b64encode(png.getvalue()).decode("ascii")


def population_rgba(population: np.ndarray, transform, crs, max_px: int = MAX_OVERLAY_PX):
    """People per cell on a log colour scale (transparent where nobody lives), in Web Mercator,
    opaque (the layer's opacity makes it see-through); (rgba, bounds [degrees], vmax)."""
    from matplotlib import colormaps

    values = np.where(np.asarray(population, np.float64) > 0, population, np.nan)
    values, transform, _ = overlay_block_means(values, transform, max_px)
    wgs, bounds = _reproject(values, transform, crs, dst_crs=WEB_MERCATOR)
    ok = np.isfinite(wgs) & (wgs > 0)
    vmax = float(np.nanmax(wgs[ok])) if ok.any() else 1.0
    scaled = np.zeros(wgs.shape)
    scaled[ok] = np.log10(1 + wgs[ok]) / np.log10(1 + vmax) if vmax > 0 else 0.0
    rgba = (colormaps["YlOrRd"](scaled) * 255).astype(np.uint8)
    rgba[..., 3] = np.where(ok, 255, 0)
    return rgba, bounds, vmax


def site_icon(colour: str, letter: str, action: str) -> dict:
    """The options of a self-contained Leaflet ``L.divIcon`` (no icon font): square for a new
    site, circle for an upgrade, :data:`SITE_ICON_PX` a side, the site kind's ``letter`` in it."""
    radius = "50%" if action == "upgrade" else "3px"
    side = SITE_ICON_PX - 2  # inside its 1 px border
    return {"iconSize": [SITE_ICON_PX, SITE_ICON_PX], "iconAnchor": [SITE_ICON_PX // 2, SITE_ICON_PX // 2],
            "className": "siting-site",
            "html": (f"<div style='width:{side}px;height:{side}px;background:{colour};border:1px solid #000;"
                     f"border-radius:{radius};color:#fff;font:bold 11px/{side}px sans-serif;"
                     f"text-align:center'>{esc(letter)}</div>")}


def _legend(technologies, population_max: float | None, lang: str,
            backhaul_kinds: Iterable[str] = (), outlines: Iterable[tuple[str, dict]] = ()) -> str:
    """The legend box: RSRP classes, site technologies, icon shapes and letters, existing sites,
    village states, the backhaul links' kinds drawn, the polygon layers drawn (``outlines``:
    (layer name, Leaflet path style)) and (when shown) the population scale, in ``lang``."""
    swatch = "display:inline-block;width:14px;height:10px;margin-right:4px;border:1px solid #666"
    rsrp = rsrp_class_labels([floor for floor, _, _ in RSRP_CLASSES], lang)
    items = [f"<div><span style='{swatch};background:{c};opacity:.7'></span>{esc(label)}</div>"
             for (_, c, _), label in zip(RSRP_CLASSES, rsrp)]
    items += [f"<div><span style='{swatch};background:{TECH_COLOURS[i % len(TECH_COLOURS)]}'></span>"
              f"{esc(term('webmap.legend_site', lang, technology=t))}</div>" for i, t in enumerate(technologies)]
    letters = [f"{v} {value_text('kind', k, lang).replace('_', ' ')}" for k, v in KIND_LETTERS.items()
               if k not in EXISTING_KINDS] + [f"E {term('webmap.legend_existing_kind', lang)}"]
    items += [(f"<div>&#9632; {esc(term('webmap.legend_new_site', lang))} &nbsp; "
               f"&#9679; {esc(term('webmap.legend_upgraded_site', lang))}</div>"),
              f"<div>{esc(term('webmap.legend_letters', lang, letters=join(letters, lang)))}</div>",
              f"<div><span style='color:#000'>&#9679;</span> {esc(term('webmap.legend_existing', lang))}</div>"]
    items += [f"<div><span style='color:{c}'>&#9679;</span> "
              f"{esc(term('webmap.legend_village', lang, status=value_text('village_status', k, lang)))}</div>"
              for k, c in VILLAGE_COLOURS.items()]
    items += [f"<div><span style='display:inline-block;width:14px;height:0;margin:0 4px 3px 0;"
              f"border-top:3px solid {BACKHAUL_COLOURS[k]}'></span>"
              f"{esc(term('webmap.legend_link', lang, kind=value_text('backhaul', k, lang)))}</div>"
              for k in backhaul_kinds]
    items += [f"<div><span style='display:inline-block;width:12px;height:8px;margin:0 4px 0 0;"
              f"border:2px {'dashed' if style.get('dashArray') else 'solid'} {style['color']}'>"
              f"</span>{esc(name)}</div>" for name, style in outlines]
    if population_max is not None:
        items.append(f"<div><span style='{swatch};background:linear-gradient(90deg,#ffffb2,#bd0026)'>"
                     f"</span>{esc(term('webmap.legend_population', lang, max=population_max))}</div>")
    return ("<div id='siting-legend' style='position:fixed;bottom:44px;left:12px;z-index:9999;"
            "background:white;padding:8px 10px;border:1px solid #888;border-radius:4px;"
            f"font:12px {PAGE_FONTS};max-width:300px'><b>{esc(term('webmap.legend', lang))}</b>"
            + "".join(items) + "</div>")


def _title(name: str, lang: str) -> str:
    """The map's title box (the scenario's name), fixed at the top left."""
    return ("<div id='siting-title' style='position:fixed;top:10px;left:60px;z-index:9999;"
            "background:white;padding:4px 8px;border:1px solid #888;border-radius:4px;"
            f"font:bold 14px {PAGE_FONTS}'>{esc(term('webmap.title', lang, name=name))}</div>")


def _polygons(layer_name: str, frame, crs_tolerance_m: float, style: dict, popup_fields,
              show: bool = True) -> folium.FeatureGroup:
    """One layer of polygons, simplified to ``crs_tolerance_m`` [m] in the run's CRS (so that
    the page stays small) and drawn in WGS84, each with its popup."""
    group = folium.FeatureGroup(name=layer_name, show=show)
    simplified = frame.copy()
    simplified["geometry"] = frame.geometry.simplify(crs_tolerance_m)
    for key, row in simplified.to_crs(WGS84).iterrows():
        if row.geometry is None or row.geometry.is_empty:
            continue
        folium.GeoJson(row.geometry.__geo_interface__, style_function=lambda _, s=style: s,
                       popup=_popup(popup_fields(key, row))).add_to(group)
    return group


def write_map(path: Path, tables: PlanTables) -> None:
    """Write the folium map of a run's tables to ``path`` (see :func:`build_map`), with the
    font of its Chinese characters (:func:`~siting.export.webfont.save_map`)."""
    save_map(build_map(tables), path)


def build_map(tables: PlanTables) -> folium.Map:
    """The folium map of a run's tables (:func:`~siting.export.tables.plan_tables`), with its
    scripts inlined (a notebook shows it inline).

    Layers: hillshade, population (hidden), coverage after the plan and per technology
    (hidden, from ``level_dbm_by_technology``), admin units and zones, sites and villages.
    Elements added to the returned map afterwards keep their own (CDN) links. The words are in
    the scenario's ``outputs.language``.
    """
    lang = check_language(tables.language)
    south_deg, west_deg, north_deg, east_deg = region_bounds_deg(tables)
    fmap = folium.Map(location=[(south_deg + north_deg) / 2, (west_deg + east_deg) / 2], zoom_start=10,
                      tiles=None)
    page = Page(HTML_LANG[lang])  # the page folium made is replaced by one with lang=
    page.title = esc(term("webmap.title", lang, name=tables.name))  # the browser tab's name
    page.add_child(fmap)
    region_deg = [[south_deg, west_deg], [north_deg, east_deg]]
    FitRegion(region_deg).add_to(fmap)  # before any layer
    basemap = _tile_layer(tables.scenario.outputs.basemap, lang)
    if basemap is not None:
        basemap.add_to(fmap)
        TileNotice(term("webmap.tiles_offline", lang)).add_to(basemap)
    population_max = _add_rasters(fmap, tables, lang)
    outlines = _add_polygons(fmap, tables, lang)
    technologies = [t.name for t in tables.technologies]
    sites_ll = tables.sites.to_crs(WGS84)
    if tables.backhaul_links is not None:
        _add_backhaul(fmap, tables.backhaul_links, lang)
    _add_selected_sites(fmap, sites_ll, technologies, lang)
    _add_existing_sites(fmap, sites_ll, lang)
    _add_villages(fmap, tables.villages.to_crs(WGS84), _village_counties(tables, lang), lang)
    _add_controls(fmap, tables.scenario.outputs.basemap, lang, region_deg)
    links = tables.backhaul_links
    drawn_kinds = [] if links is None else [
        k for k in BACKHAUL_COLOURS if (links.geometry.notna() & (links["kind"] == k)).any()]
    fmap.get_root().html.add_child(folium.Element(_legend(technologies, population_max, lang,
                                                          drawn_kinds, outlines)))
    fmap.get_root().html.add_child(folium.Element(_title(tables.name, lang)))
    inline_assets(fmap)
    return fmap


class Page(Figure):
    """folium's page (a branca ``Figure``) that says which language it is in:
    ``<html lang="zh-CN">``, so a browser picks a Simplified Chinese font and a screen reader
    the right voice. ``lang`` is a value of :data:`siting.export.i18n.HTML_LANG`."""

    #: How branca's page template starts; anything else raises rather than losing ``lang``.
    HEAD = "<!DOCTYPE html>\n<html>\n"

    def __init__(self, lang: str):
        super().__init__()
        self.lang = lang

    def render(self, **kwargs) -> str:
        page = super().render(**kwargs)
        if not page.startswith(self.HEAD):
            raise RuntimeError(f"branca's page no longer starts with {self.HEAD!r}: update Page")
        return f'<!DOCTYPE html>\n<html lang="{esc(self.lang)}">\n' + page[len(self.HEAD):]


def region_bounds_deg(tables: PlanTables) -> tuple[float, float, float, float]:
    """(south, west, north, east) [degrees WGS84] of the region the map opens on: the admin units
    when the region has them (the area the plan is for), else the DEM."""
    units = tables.admin_units
    if units is not None and len(units):
        west, south, east, north = units.to_crs(WGS84).total_bounds
    else:
        west, south, east, north = rasterio.warp.transform_bounds(tables.crs, WGS84,
                                                                  *tables.terrain.bounds)
    return float(south), float(west), float(north), float(east)


def _tile_layer(basemap, lang: str = "en") -> folium.TileLayer | None:
    """The basemap tiles of ``map.basemap`` (a :class:`siting.config.Basemap`); None for ``none``.

    A custom attribution is shown as text (HTML-escaped): it comes from the scenario file."""
    if basemap.kind == "none":
        return None
    if basemap.kind == "osm":
        return folium.TileLayer("OpenStreetMap", name="OpenStreetMap")
    return folium.TileLayer(tiles=basemap.url, attr=html.escape(basemap.attribution),
                            name=esc(term("webmap.layer_basemap", lang)))


class FitRegion(MacroElement):
    """Fit the map to ``bounds_deg`` ([[south, west], [north, east]]) at once, without folium's
    animated ``fit_bounds``: added before the layers, it makes the tiles load for the fitted view
    only, not first for the placeholder view ``folium.Map`` starts from."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.fitBounds({{ this.bounds_deg|tojson }}, {animate: false});
        {% endmacro %}
    """)

    def __init__(self, bounds_deg: list[list[float]]):
        super().__init__()
        self._name = "FitRegion"
        self.bounds_deg = bounds_deg


class PrintView(MacroElement):
    """Print the map on one A4 landscape page (:data:`PRINT_PAGE_MM`), filled with the part of
    the region that was on screen (the whole region unless one zoomed in; what was on screen
    when one panned off the region), beside the legend.

    Leaflet lays the map out for the window only: printed as it is, the page cuts the view
    where the paper is narrower than the window and the layer control covers the map. The
    stylesheet asks for the page and hides the controls one clicks (zoom, fullscreen, layers,
    minimap; the legend, title and scale bar stay). Before printing, the map is sized to the
    page's printable area and fitted, at any fractional zoom, right of the legend; after, the
    window's size and view come back. The minimap stops following the map meanwhile: it
    follows each move with an animated move of its own, and two moves in a row make it move
    the map back to the printed view."""

    _template = Template("""
        {% macro header(this, kwargs) %}
            <style>
                @page { size: {{ this.page_mm[0] }}mm {{ this.page_mm[1] }}mm; margin: {{ this.margin_mm }}mm; }
                @media print {
                    .leaflet-bar, .leaflet-control-layers, .leaflet-control-minimap { display: none !important; }
                }
            </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            (function (map, region, minimap) {
                var box = map.getContainer(), screen = null;
                window.addEventListener("beforeprint", function () {
                    if (minimap !== null) { map.off("moveend", minimap._onMainMapMoved, minimap); }
                    var seen = map.getBounds(), legend = document.getElementById("siting-legend");
                    var shown = L.latLngBounds(
                        [Math.max(seen.getSouth(), region.getSouth()), Math.max(seen.getWest(), region.getWest())],
                        [Math.min(seen.getNorth(), region.getNorth()), Math.min(seen.getEast(), region.getEast())]);
                    var left = legend === null ? 0 : legend.offsetLeft + legend.offsetWidth;
                    screen = {center: map.getCenter(), zoom: map.getZoom(), snap: map.options.zoomSnap};
                    box.style.width = "{{ this.size_px[0] }}px";
                    box.style.height = "{{ this.size_px[1] }}px";
                    map.options.zoomSnap = 0;
                    map.invalidateSize({pan: false});
                    map.fitBounds(seen.intersects(region) ? shown : seen,
                                  {animate: false, paddingTopLeft: [left, 0]});
                });
                window.addEventListener("afterprint", function () {
                    box.style.width = box.style.height = "";
                    map.options.zoomSnap = screen.snap;
                    map.invalidateSize({pan: false});
                    map.setView(screen.center, screen.zoom, {animate: false});
                    if (minimap !== null) { map.on("moveend", minimap._onMainMapMoved, minimap); }
                });
            })({{ this._parent.get_name() }}, L.latLngBounds({{ this.bounds_deg|tojson }}),
               {{ this.minimap.get_name() if this.minimap else "null" }});
        {% endmacro %}
    """)

    def __init__(self, bounds_deg: list[list[float]], minimap: folium.plugins.MiniMap | None):
        super().__init__()
        self._name = "PrintView"
        self.bounds_deg, self.minimap = bounds_deg, minimap
        self.page_mm, self.margin_mm = PRINT_PAGE_MM, PRINT_MARGIN_MM
        self.size_px = print_map_size_px()


def print_map_size_px() -> tuple[int, int]:
    """Width and height [CSS px, 96 per inch (CSS Values 3, section 6.2)] of the printable area
    of :data:`PRINT_PAGE_MM` within :data:`PRINT_MARGIN_MM` margins, rounded down."""
    return tuple(int((side - 2 * PRINT_MARGIN_MM) * CSS_PX_PER_MM) for side in PRINT_PAGE_MM)


class TileNotice(MacroElement):
    """A box under the title saying ``text`` (that the basemap tiles need a network), shown
    while tiles of its parent tile layer fail to load and none has loaded: offline, the
    committee reads why the background map is missing instead of guessing at a broken page,
    and the minimap, an empty box then, is hidden. A tile server that only lacks some tiles
    (outside its coverage) loads the others, which hides the box and shows the minimap."""

    _template = Template("""
        {% macro header(this, kwargs) %}
            <style>.{{ this.offline_class }} .leaflet-control-minimap { display: none !important; }</style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
            <div id="{{ this.box_id }}" role="status" style='display:none;position:fixed;top:44px;
                 left:60px;z-index:9999;max-width:460px;background:#fff8e1;padding:4px 8px;
                 border:1px solid #c9a227;border-radius:4px;font:12px {{ this.fonts }}'>{{ this.text }}</div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            (function (tiles, box) {
                var loaded = false;
                function offline(yes) {
                    box.style.display = yes ? "block" : "none";
                    tiles._map.getContainer().classList.toggle({{ this.offline_class|tojson }}, yes);
                }
                tiles.on("tileload", function () { loaded = true; offline(false); });
                tiles.on("tileerror", function () { if (!loaded) { offline(true); } });
            })({{ this._parent.get_name() }}, document.getElementById({{ this.box_id|tojson }}));
        {% endmacro %}
    """)

    def __init__(self, text: str):
        super().__init__()
        self._name = "TileNotice"
        self.box_id, self.offline_class = TILE_NOTICE_ID, "siting-tiles-offline"
        self.text = esc(text)
        self.fonts = PAGE_FONTS


class MetricScale(MacroElement):
    """Leaflet's scale bar in metres and kilometres only (folium's ``control_scale`` adds miles)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            L.control.scale({imperial: false, metric: true, maxWidth: 150})
                .addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)


def _add_controls(fmap: folium.Map, basemap, lang: str, region_deg: list[list[float]]) -> None:
    """Minimap (over tiles only: with no basemap it would be an empty box), fullscreen button,
    metric scale bar, the expanded layer control, the neutral background under the layers, and
    the print layout of ``region_deg`` ([[south, west], [north, east]] [degrees])."""
    minimap_tiles, minimap = _tile_layer(basemap, lang), None
    if minimap_tiles is not None:
        minimap = folium.plugins.MiniMap(tile_layer=minimap_tiles, toggle_display=True,
                                         position="bottomright").add_to(fmap)
    PrintView(region_deg, minimap).add_to(fmap)
    folium.plugins.Fullscreen(position="topleft").add_to(fmap)
    MetricScale().add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.get_root().header.add_child(folium.Element(
        f"<style>.folium-map.leaflet-container {{ background: {BACKGROUND_COLOUR}; }}</style>"),
        name="siting_background")


def _add_rasters(fmap: folium.Map, tables: PlanTables, lang: str) -> float | None:
    """Hillshade (always shown), population (hidden), coverage after the plan and per technology
    (hidden); returns the population colour scale's maximum (None without population)."""
    crs = tables.crs
    add_hillshade(fmap, tables.terrain, crs, lang)
    population_max = None
    if tables.population is not None and np.nanmax(tables.population, initial=0) > 0:
        pop, bounds, population_max = population_rgba(tables.population,
                                                      tables.population_transform, crs)
        folium.raster_layers.ImageOverlay(png_url(pop), bounds=bounds, name=esc(term("webmap.layer_population", lang)),
                                          opacity=0.8, show=False).add_to(fmap)
    _add_coverage(fmap, tables.level_dbm, tables.level_transform, crs, term("webmap.layer_coverage", lang))
    for tech, level in tables.level_dbm_by_technology.items():
        _add_coverage(fmap, level, tables.level_transform, crs,
                      term("webmap.layer_coverage_technology", lang, technology=tech), show=False)
    return population_max


def _add_polygons(fmap: folium.Map, tables: PlanTables, lang: str) -> list[tuple[str, dict]]:
    """Admin unit outlines and 5G zones, when the region has them; returns the (layer name,
    style) of each layer drawn, for the legend."""
    def label(key):
        return term(f"webmap.popup_{key}", lang)

    drawn = []
    if tables.admin_units is not None and len(tables.admin_units):
        units = tables.admin_units
        names_zh = admin_unit_names(units)
        drawn.append((term("webmap.layer_admin_units", lang), ADMIN_UNIT_STYLE))
        layer = _polygons(
            esc(drawn[-1][0]), units, 50.0, ADMIN_UNIT_CLICK_STYLE,
            lambda key, row: {label("admin_unit"): admin_text(key, lang, names_zh)})
        lines = gpd.GeoSeries([admin_boundaries(units).simplify(50.0)], crs=units.crs).to_crs(WGS84)
        folium.GeoJson(lines.iloc[0].__geo_interface__, style_function=lambda _: ADMIN_UNIT_STYLE,
                       interactive=False).add_to(layer)
        fmap.add_child(layer)
    if tables.zones is not None and len(tables.zones):
        drawn.append((term("webmap.layer_zones", lang), ZONE_STYLE))
        fmap.add_child(_polygons(
            esc(drawn[-1][0]), tables.zones, 10.0, ZONE_STYLE,
            lambda key, row: {label("zone"): key, label("name"): row.get("name", ""),
                              label("zone_kind"): row.get("kind", "")}))
    return drawn


def _add_backhaul(fmap: folium.Map, links, lang: str) -> None:
    """The backhaul links (fiber routes, microwave hops) as lines coloured by kind, in one
    layer, each with its fields in the popup; satellite feeds have no line."""
    layer = folium.FeatureGroup(name=esc(term("webmap.layer_backhaul", lang)))
    drawn = links[links.geometry.notna() & ~links.geometry.is_empty].to_crs(WGS84)
    for _, link in drawn.iterrows():
        folium.PolyLine([[y, x] for x, y in link.geometry.coords],
                        color=BACKHAUL_COLOURS[link["kind"]], weight=3, opacity=0.85,
                        popup=_popup(_link_fields(link, lang))).add_to(layer)
    layer.add_to(fmap)


def _link_fields(link, lang: str) -> dict:
    """The popup of a backhaul link: field names and values in ``lang`` (its kind as its
    backhaul; its hop count from fiber for microwave; where link capacity is planned, the
    traffic it carries and, for microwave, its band's capacity; its year in a phased plan)."""
    fields = {"from_id": link["from_id"], "to_id": link["to_id"],
              "backhaul": value_text("backhaul", link["kind"], lang),
              **{column: _number_text(link[column]) for column in ("band_ghz", "length_m",
                                                                    "min_clearance_f1")},
              "cost_cny": _money_text(link["cost_cny"], lang)}
    if link["kind"] == "microwave":
        fields["hop"] = int(link["hop"])
    if np.isfinite(link["load_mbps"]):  # link capacity planned
        fields["load_mbps"] = _number_text(link["load_mbps"])
        fields["capacity_mbps"] = _number_text(link["capacity_mbps"])
    if "phase" in link:
        fields["phase"] = link["phase"]
    return {term(f"webmap.popup_{key}", lang): value for key, value in fields.items()}


def _money_text(amount_cny: float, lang: str) -> str:
    """A popup's amount [CNY] in the money of ``lang``, as the report writes it
    (:func:`~siting.export.cells.money_cell`: 万元 to 0.01 in Chinese), :data:`NO_VALUE_CELL`
    for NaN."""
    return NO_VALUE_CELL if np.isnan(amount_cny) else cell_text(money_cell(amount_cny, lang))


def _number_text(value) -> str:
    """A popup value: numbers rounded (two decimals below 100), :data:`NO_VALUE_CELL` for NaN."""
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return NO_VALUE_CELL
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return str(value)


def _add_selected_sites(fmap: folium.Map, sites_ll, technologies, lang: str) -> None:
    """One layer per technology with the sites the plan builds it at (an upgraded site is in
    the layer of the technology it gets, not of the one it has)."""
    chosen_all = sites_ll[sites_ll["action"].isin(BUILT_ACTIONS)]
    SiteLetters(site_letter_zoom(chosen_all.geometry)).add_to(fmap)
    for i, tech in enumerate(technologies):
        colour = TECH_COLOURS[i % len(TECH_COLOURS)]
        layer = folium.FeatureGroup(name=esc(term("webmap.layer_selected_sites", lang, technology=tech)))
        icons: dict[tuple[str, str], int] = {}  # (letter, action) -> index of its icon
        points = []
        for _, s in chosen_all[builds_technology(chosen_all, tech)].iterrows():
            icon = icons.setdefault((KIND_LETTERS.get(s.kind, "?"), s.action), len(icons))
            action, kind = value_text("action", s.action, lang), value_text("kind", s.kind, lang)
            tooltip = term("webmap.tooltip_site", lang, site=s.site_id, action=action,
                           technology=s.technology, kind=kind)
            points.append(MapPoint(s.geometry.y, s.geometry.x, icon, tooltip, _site_fields(s, lang)))
        PointLayer(points, [site_icon(colour, *key) for key in icons], marker="icon").add_to(layer)
        layer.add_to(fmap)


def site_letter_zoom(sites_ll: gpd.GeoSeries) -> int:
    """The smallest Leaflet zoom (0-18) at which :data:`CLEAR_ICON_SHARE` of the site icons at
    ``sites_ll`` (points) stand clear of every other, :data:`SITE_ICON_PX` squares in Web
    Mercator pixels (:data:`WORLD_PX_ZOOM0` a world at zoom 0, twice as many each zoom up).

    Two squares overlap while both their east and north offsets are under a side, so each icon's
    clearance is its Chebyshev distance to the nearest other; a site built with two technologies
    is drawn once in each layer, on one spot, and counts once."""
    from scipy.spatial import cKDTree

    mercator = sites_ll.to_crs(WEB_MERCATOR)
    xy_m = np.unique(np.column_stack([mercator.x, mercator.y]), axis=0)
    if len(xy_m) < 2:
        return 0
    nearest_m = cKDTree(xy_m).query(xy_m, k=2, p=np.inf)[0][:, 1]
    clear_px_zoom0 = np.quantile(nearest_m, 1 - CLEAR_ICON_SHARE) * WORLD_PX_ZOOM0 / WORLD_M
    return int(np.clip(np.ceil(np.log2(SITE_ICON_PX / clear_px_zoom0)), 0, 18))


class SiteLetters(MacroElement):
    """Site icons as half-size marks without their letter below ``zoom``
    (:func:`site_letter_zoom`), full size with it from there on: over a whole prefecture the
    icons of neighbouring sites, 2 km apart at zoom 10, piled up and hid each other's letters
    (the tooltip and popup still name the site's kind)."""

    _template = Template("""
        {% macro header(this, kwargs) %}
            <style>.{{ this.small_class }} .siting-site > div { transform: scale(0.5); color: transparent !important; }</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            (function (map, zoom) {
                function mark() { map.getContainer().classList.toggle({{ this.small_class|tojson }}, map.getZoom() < zoom); }
                map.on("zoomend", mark);
                mark();
            })({{ this._parent.get_name() }}, {{ this.zoom }});
        {% endmacro %}
    """)

    def __init__(self, zoom: int):
        super().__init__()
        self._name = "SiteLetters"
        self.zoom, self.small_class = int(zoom), "siting-sites-small"


def _site_fields(s, lang: str) -> dict:
    """The popup of a site the plan builds or upgrades: field names and values in ``lang``."""
    fields = {"site": s.site_id, "action": value_text("action", s.action, lang),
              "kind": value_text("kind", s.kind, lang), "technology": s.technology,
              "height_m": f"{s.antenna_height_m:g}", "cost_cny": _money_text(s.total_cost_cny, lang),
              "people_newly_covered": f"{s.people_newly_covered:,.0f}",
              "phase": s.get("phase") or term("webmap.popup_this_plan", lang)}
    if "backhaul" in s:  # a plan with backhaul: the site's feed and its cost beside its own
        fields["backhaul"] = value_text("backhaul", s.backhaul, lang) if s.backhaul else NO_VALUE_CELL
        fields["backhaul_cost_cny"] = _money_text(s.backhaul_cost_cny, lang)
    fields.update(_built_year_field(s))
    return {term(f"webmap.popup_{key}", lang): value for key, value in fields.items()}


def _built_year_field(s) -> dict:
    """A re-plan's as-built site's year on air (:data:`siting.io.asbuilt.BUILT_YEAR_COLUMN`),
    as a popup field; none for other sites."""
    year = s.get(BUILT_YEAR_COLUMN)
    return {"built_year": year} if isinstance(year, str) and year else {}


def _add_existing_sites(fmap: folium.Map, sites_ll, lang: str) -> None:
    """Existing sites (kept or upgraded) as small black dots, in one layer."""
    existing = folium.FeatureGroup(name=esc(term("webmap.layer_existing_sites", lang)))
    points = []
    for _, s in sites_ll[sites_ll["existing"]].iterrows():
        fields = {"site": s.site_id, "kind": value_text("kind", s.kind, lang),
                  "action": value_text("action", s.action, lang), "technology": or_dash(s.technology),
                  "height_m": f"{s.antenna_height_m:g}", **_built_year_field(s)}
        points.append(MapPoint(s.geometry.y, s.geometry.x, 0, None,
                               {term(f"webmap.popup_{k}", lang): v for k, v in fields.items()}))
    PointLayer(points, [EXISTING_SITE_STYLE], marker="circle").add_to(existing)
    existing.add_to(fmap)


def _village_counties(tables: PlanTables, lang: str) -> dict[str, str]:
    """Each village's county as the popup names it, by village id: the unit the report counts
    it in (the polygon it lies in, its own field as the fallback:
    :func:`~siting.export.tables.village_admin_units`), in Chinese by its ``name_zh``
    (:func:`~siting.export.i18n.admin_text`)."""
    names_zh = admin_unit_names(tables.admin_units)
    fields = dict(zip(tables.villages["village_id"].astype(str), tables.villages["admin_unit"]))
    units = {v: tables.village_admin_units.get(v, unit if isinstance(unit, str) else "")
             for v, unit in fields.items()}
    return {v: admin_text(unit or OUTSIDE_ADMIN_UNITS, lang, names_zh) for v, unit in units.items()}


def _add_villages(fmap: folium.Map, villages_ll, counties: dict[str, str], lang: str) -> None:
    """Villages coloured by coverage status (:data:`VILLAGE_COLOURS`), named in the tooltip,
    with every attribute and the reason in the popup (the county of ``counties``, by village
    id: :func:`_village_counties`)."""
    village_layer = folium.FeatureGroup(name=esc(term("webmap.layer_villages", lang)))
    statuses = list(VILLAGE_COLOURS)
    points = [MapPoint(v.geometry.y, v.geometry.x, statuses.index(v.status), v["name"],
                       _village_fields(v, counties[str(v.village_id)], lang))
              for _, v in villages_ll.iterrows()]
    PointLayer(points, circle_styles(VILLAGE_STYLE, VILLAGE_COLOURS, statuses),
               marker="circle").add_to(village_layer)
    village_layer.add_to(fmap)


def circle_styles(style: dict, colours: dict[str, str], keys) -> list[dict]:
    """The styles of a circle-marker :class:`PointLayer`: ``style`` filled in the colour
    (of ``colours``) of each of ``keys``, in their order (a point's style is its key's index)."""
    return [dict(style, fillColor=colours[key]) for key in keys]


def _village_fields(v, county: str, lang: str) -> dict:
    """The popup of a village: field names and values (status, reason) in ``lang``; its
    ``county`` as the map names it."""
    level = v.best_level_dbm
    fields = {"village": v["name"], "id": v.village_id, "people": int(v.population),
              "admin_unit": county,
              "mandatory": term("webmap.yes" if v.mandatory else "webmap.no", lang),
              "status": value_text("village_status", v.status, lang),
              "served_by": or_dash(f"{v.serving_site} {v.serving_technology}".strip()),
              "best_level_dbm": f"{level:.1f}" if np.isfinite(level) else NO_VALUE_CELL,
              "reason": value_text("reason", v.uncovered_reason, lang) if v.uncovered_reason else NO_VALUE_CELL}
    return {term(f"webmap.popup_{key}", lang): value for key, value in fields.items()}


@dataclasses.dataclass(frozen=True)
class MapPoint:
    """A marker of a :class:`PointLayer`: its position [degrees WGS84], the index of its style
    among the layer's, its tooltip (None: none) and its popup's fields (name -> value)."""

    lat_deg: float
    lon_deg: float
    style: int
    tooltip: str | None
    fields: dict


class PointLayer(MacroElement):
    """The markers of one layer (the villages, the existing sites, the sites of a technology)
    drawn by one call of :data:`POINT_LAYER_SCRIPT` from :func:`point_layer_json`: their
    styles and field names written once, each marker one row of values.

    folium writes several blocks of script per marker and popup, its styles and popup markup
    written out each time: about 1.9 kB a marker, 3.9 of the 5.5 MB of a 100 km region's
    map.html (2,000 markers), a file the committee may get by email."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            sitingPoints({{ this._parent.get_name() }}, {{ this.data }});
        {% endmacro %}
    """)

    def __init__(self, points: list[MapPoint], styles: list[dict], *, marker: str):
        super().__init__()
        self._name = "PointLayer"
        self.data = point_layer_json(points, styles, marker)

    def render(self, **kwargs) -> None:
        """Render, with :data:`POINT_LAYER_SCRIPT` once in the page's head."""
        self.get_root().header.add_child(folium.Element(f"<script>\n{POINT_LAYER_SCRIPT}\n</script>"),
                                         name="siting_point_layer")
        super().render(**kwargs)


def point_layer_json(points: list[MapPoint], styles: list[dict], marker: str) -> str:
    """The data :data:`POINT_LAYER_SCRIPT` draws ``points`` from, as JSON safe inside a
    ``<script>`` (every ``<`` escaped): ``marker`` ("circle" or "icon"), the ``styles``, the
    popup's markup, the field names (in the order of the points' fields) and one row a line:
    [latitude, longitude (rounded to :data:`COORDINATE_DECIMALS`), style, tooltip, the value of
    each field or null]; names, values and tooltips escaped with :func:`esc`."""
    labels = list(dict.fromkeys(name for point in points for name in point.fields))
    rows = [[round(float(p.lat_deg), COORDINATE_DECIMALS), round(float(p.lon_deg), COORDINATE_DECIMALS),
             int(p.style), None if p.tooltip is None else esc(p.tooltip),
             *(esc(p.fields[name]) if name in p.fields else None for name in labels)] for p in points]
    head = {"marker": marker, "styles": styles, "row": POPUP_ROW.split("{}"),
            "maxWidth": POPUP_MAX_WIDTH_PX, "labels": [esc(name) for name in labels]}
    text = (_compact_json(head)[:-1] + ',"rows":[\n'
            + ",\n".join(_compact_json(row) for row in rows) + "]}")
    return text.replace("<", "\\u003c")


def _compact_json(value) -> str:
    """``value`` as JSON without spaces, its characters as they are (UTF-8 in the page)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def inline_assets(fmap: folium.Map) -> None:
    """Replace the CDN links of every element of ``fmap``'s page by the vendored files, inlined
    first in ``<head>`` (see the module docstring). Call once, after the last element is added."""
    header = fmap.get_root().header
    if "siting_assets" in header._children:
        raise RuntimeError("inline_assets: this map's assets are inlined already")
    needed: list[str] = []
    for element in _elements(fmap.get_root()):
        if not isinstance(element, JSCSSMixin):
            continue
        for name, url in [*element.default_js, *element.default_css]:
            if name not in VENDORED_ASSETS and name not in UNUSED_ASSETS:
                raise ValueError(f"map.html would load {name!r} from {url}: vendor it in "
                                 f"{ASSETS_DIR} (VENDORED_ASSETS) or list it in UNUSED_ASSETS")
            if name in VENDORED_ASSETS and name not in needed:
                needed.append(name)
        element.default_js, element.default_css = [], []  # instance lists: folium's stay intact
    blocks = [_inline_block(VENDORED_ASSETS[name]) for name in needed]
    blocks.append(f"<script>\n{POPUP_PARSER}\n</script>")
    header.add_child(folium.Element("\n".join(blocks)), name="siting_assets", index=0)


def _elements(root):
    """``root`` and every element below it (branca keeps children in ``_children``)."""
    yield root
    for child in root._children.values():
        yield from _elements(child)


@functools.cache
def _inline_block(relative_path: str) -> str:
    """A vendored script or stylesheet as one ``<script>``/``<style>`` element, its ``url(...)``
    images as ``data:`` URIs; marked ``data-vendored`` with its path under :data:`ASSETS_DIR`."""
    path = ASSETS_DIR / relative_path
    text = path.read_text(encoding="utf-8")
    tag = "script" if path.suffix == ".js" else "style"
    if f"</{tag}" in text.lower():
        raise ValueError(f"{path} contains </{tag}: it would end the inline <{tag}> early")
    if tag == "style":
        text = _CSS_URL.sub(lambda match: f"url({_data_uri(path.parent / match.group(2))})", text)
    return f'<{tag} data-vendored="{relative_path}">\n{text}\n</{tag}>'


def _data_uri(path: Path) -> str:
    """The file at ``path`` (an image a vendored stylesheet points at) as a base64 ``data:`` URI."""
    mime = _MIME_TYPES[path.suffix]
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"

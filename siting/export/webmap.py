"""``map.html``: the interactive folium map a planning committee opens in a browser.

Layers: best-server coverage (coloured by RSRP class), selected sites by technology, existing
sites, villages coloured covered / uncovered / mandatory-uncovered, 5G zones and admin units;
a layer control and a legend. Every attribute that reaches HTML is escaped.
"""

from __future__ import annotations

import html
from pathlib import Path

import folium
import numpy as np
import rasterio.warp
from rasterio.enums import Resampling

# RSRP classes [dBm] and colours, best first (a common drive-test legend).
RSRP_CLASSES = ((-85.0, "#1a9850", ">= -85 dBm (excellent)"),
                (-95.0, "#91cf60", "-95 to -85 dBm (good)"),
                (-105.0, "#fee08b", "-105 to -95 dBm (fair)"),
                (-200.0, "#fc8d59", "< -105 dBm (edge)"))
TECH_COLOURS = ("#2166ac", "#b2182b", "#762a83", "#1b7837")
VILLAGE_COLOURS = {"covered": "#1a9850", "uncovered": "#999999", "mandatory_uncovered": "#d73027"}


def _popup(fields: dict) -> folium.Popup:
    rows = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
                   f"<td>{html.escape(str(v))}</td></tr>" for k, v in fields.items())
    return folium.Popup(f"<table>{rows}</table>", max_width=320)


def _coverage_rgba(level_dbm: np.ndarray, transform, crs):
    """Reproject the level raster to EPSG:4326 and colour it; returns (rgba, bounds)."""
    dst_transform, width, height = rasterio.warp.calculate_default_transform(
        crs, "EPSG:4326", level_dbm.shape[1], level_dbm.shape[0],
        *rasterio.transform.array_bounds(*level_dbm.shape, transform))
    out = np.full((height, width), np.nan, np.float32)
    rasterio.warp.reproject(level_dbm.astype(np.float32), out, src_transform=transform, src_crs=crs,
                            src_nodata=np.nan, dst_transform=dst_transform, dst_crs="EPSG:4326",
                            dst_nodata=np.nan, resampling=Resampling.nearest)
    rgba = np.zeros((height, width, 4), np.uint8)
    remaining = np.isfinite(out)
    for floor, colour, _ in RSRP_CLASSES:
        mask = remaining & (out >= floor)
        rgba[mask] = [int(colour[i:i + 2], 16) for i in (1, 3, 5)] + [150]
        remaining &= ~mask
    west, south, east, north = rasterio.transform.array_bounds(height, width, dst_transform)
    return rgba, [[south, west], [north, east]]


def _legend(technologies) -> str:
    items = [f"<div><span style='background:{c};opacity:.7'>&nbsp;&nbsp;&nbsp;&nbsp;</span> "
             f"{html.escape(label)}</div>" for _, c, label in RSRP_CLASSES]
    items += [f"<div><span style='color:{TECH_COLOURS[i % len(TECH_COLOURS)]}'>&#9650;</span> "
              f"new / upgraded site: {html.escape(t)}</div>" for i, t in enumerate(technologies)]
    items += ["<div><span style='color:#000'>&#9632;</span> existing site (kept)</div>"]
    items += [f"<div><span style='color:{c}'>&#9679;</span> village {html.escape(k.replace('_', ' '))}</div>"
              for k, c in VILLAGE_COLOURS.items()]
    return ("<div style='position:fixed;bottom:24px;left:12px;z-index:9999;background:white;"
            "padding:8px 10px;border:1px solid #888;border-radius:4px;font:12px sans-serif'>"
            "<b>Legend</b>" + "".join(items) + "</div>")


def write_map(path: Path, run, sites, villages, level_dbm, level_transform) -> None:
    """Write the folium map of a run to ``path``."""
    wgs = "EPSG:4326"
    sites_ll = sites.to_crs(wgs)
    villages_ll = villages.to_crs(wgs)
    west, south, east, north = villages_ll.total_bounds
    fmap = folium.Map(location=[(south + north) / 2, (west + east) / 2], zoom_start=10,
                      tiles="OpenStreetMap", control_scale=True)
    rgba, bounds = _coverage_rgba(level_dbm, level_transform, run.region.crs)
    folium.raster_layers.ImageOverlay(rgba, bounds=bounds, name="Coverage after plan (best server RSRP)",
                                      opacity=0.7, mercator_project=True).add_to(fmap)

    if run.region.zones is not None:
        zones = folium.FeatureGroup(name="5G zones")
        for zone_id, zone in run.region.zones.to_crs(wgs).iterrows():
            folium.GeoJson(zone.geometry.__geo_interface__,
                           style_function=lambda _: {"color": "#762a83", "weight": 2, "fillOpacity": 0.05},
                           popup=_popup({"zone": zone_id, "name": zone["name"], "kind": zone["kind"]})
                           ).add_to(zones)
        zones.add_to(fmap)

    technologies = [t.name for t in run.scenario.technologies]
    for i, tech in enumerate(technologies):
        layer = folium.FeatureGroup(name=f"Selected sites: {tech}")
        chosen = sites_ll[sites_ll["action"].isin(["build", "upgrade"])
                          & sites_ll["technology"].str.split("+").apply(lambda t, tech=tech: tech in t)]
        for _, s in chosen.iterrows():
            folium.RegularPolygonMarker(
                [s.geometry.y, s.geometry.x], number_of_sides=3, radius=8, weight=1,
                color="#000", fill_color=TECH_COLOURS[i % len(TECH_COLOURS)], fill_opacity=0.9,
                popup=_popup({"site": s.site_id, "action": s.action, "kind": s.kind,
                              "technology": s.technology, "antenna height [m]": s.antenna_height_m,
                              "cost [CNY]": f"{s.total_cost_cny:,.0f}",
                              "people newly covered": f"{s.people_newly_covered:,.0f}"}),
                tooltip=html.escape(f"{s.site_id} ({s.technology})")).add_to(layer)
        layer.add_to(fmap)

    existing = folium.FeatureGroup(name="Existing sites")
    for _, s in sites_ll[sites_ll["existing"]].iterrows():
        folium.RegularPolygonMarker([s.geometry.y, s.geometry.x], number_of_sides=4, radius=5,
                                    color="#000", fill_color="#000", fill_opacity=0.8,
                                    popup=_popup({"site": s.site_id, "kind": s.kind,
                                                  "action": s.action})).add_to(existing)
    existing.add_to(fmap)

    village_layer = folium.FeatureGroup(name="Villages")
    for _, v in villages_ll.iterrows():
        folium.CircleMarker(
            [v.geometry.y, v.geometry.x], radius=4, weight=1, color="#333",
            fill_color=VILLAGE_COLOURS[v.status], fill_opacity=0.9,
            popup=_popup({"village": v["name"], "id": v.village_id, "people": int(v.population),
                          "admin unit": v.admin_unit, "mandatory": bool(v.mandatory),
                          "status": v.status.replace("_", " "),
                          "served by": f"{v.serving_site} {v.serving_technology}".strip() or "-",
                          "reason": v.uncovered_reason or "-"}),
            tooltip=html.escape(str(v["name"]))).add_to(village_layer)
    village_layer.add_to(fmap)

    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.get_root().html.add_child(folium.Element(_legend(technologies)))
    fmap.fit_bounds([[south, west], [north, east]])
    fmap.save(str(path))

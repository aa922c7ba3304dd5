"""What the outputs share, so that map.html, map.png, sites.kml and the tables agree.

The geographic CRS of every longitude/latitude output, the actions a plan gives its sites, the
colours the maps draw with (one legend reads the same on screen and on paper) and the hillshade
under both maps. Each exporter imports them from here rather than from another exporter.
"""

from __future__ import annotations

import numpy as np
import shapely

#: Longitude and latitude [degrees] of map.html, sites.kml and selected_sites.csv.
WGS84 = "EPSG:4326"

#: Actions of the sites in a plan: new sites, upgraded existing sites, existing sites kept.
PLAN_ACTIONS = ("build", "upgrade", "keep")
#: The actions that spend money in this plan (a new site, an upgrade): the sites maps draw as
#: the plan's and the report costs.
BUILT_ACTIONS = ("build", "upgrade")

#: RSRP classes [dBm] and colours, best first (a common drive-test legend): (floor, colour,
#: English label); the maps' legends word them through :func:`siting.export.i18n.rsrp_class_labels`.
RSRP_CLASSES = ((-85.0, "#1a9850", ">= -85 dBm (excellent)"),
                (-95.0, "#91cf60", "-95 to -85 dBm (good)"),
                (-105.0, "#fee08b", "-105 to -95 dBm (fair)"),
                (-200.0, "#fc8d59", "< -105 dBm (edge)"))
#: Colour of the sites of each technology, in the scenario's order of technologies (cycled).
TECH_COLOURS = ("#2166ac", "#b2182b", "#762a83", "#1b7837")
#: Colour of a village by its coverage status.
VILLAGE_COLOURS = {"covered": "#1a9850", "uncovered": "#999999", "mandatory_uncovered": "#d73027"}
#: Outline of the admin units (dashed on both maps).
ADMIN_UNIT_COLOUR = "#444444"
#: Colour of a backhaul link by its kind (map.html, map.png, sites.kml).
BACKHAUL_COLOURS = {"fiber": "#ff7f00", "microwave": "#1f78b4", "satellite": "#6a3d9a"}

#: The light of the hillshade under both maps: from the north-west (azimuth [deg] clockwise
#: from north), 45 degrees high, relief exaggerated twice so gentle hills still read.
HILLSHADE_AZIMUTH_DEG = 315.0
HILLSHADE_ALTITUDE_DEG = 45.0
HILLSHADE_VERTICAL_EXAGGERATION = 2.0


def hillshade(elevation_m: np.ndarray, cell_size_m: float) -> np.ndarray:
    """Illumination in [0, 1] of a north-up elevation grid [m] with square cells of
    ``cell_size_m`` [m], lit as :data:`HILLSHADE_AZIMUTH_DEG` and
    :data:`HILLSHADE_ALTITUDE_DEG` say (matplotlib's ``LightSource.hillshade``)."""
    from matplotlib.colors import LightSource  # only the maps need matplotlib

    light = LightSource(azdeg=HILLSHADE_AZIMUTH_DEG, altdeg=HILLSHADE_ALTITUDE_DEG)
    return light.hillshade(elevation_m, vert_exag=HILLSHADE_VERTICAL_EXAGGERATION,
                           dx=cell_size_m, dy=cell_size_m)


def admin_boundaries(units) -> shapely.Geometry:
    """The boundaries of the admin units (a GeoDataFrame of polygons), each drawn once: a
    boundary two units share is one line, not one per unit (drawn twice, dashed, the two dash
    patterns fill each other's gaps and the line looks solid)."""
    return shapely.line_merge(shapely.union_all(units.geometry.boundary.to_numpy()))

"""map.png (and evaluation.png) as printed: the boundaries between admin units are dashed, as
the legend draws them, like the outer boundary (a shared boundary drawn once per unit came out
solid: the two dash patterns filled each other's gaps).
"""

from __future__ import annotations

import io

import geopandas as gpd
import numpy as np
from matplotlib.figure import Figure
from PIL import Image
from shapely.geometry import box

from siting.export.staticmap import draw_admin_units

#: Two 10 km x 10 km units side by side [m]: their shared boundary at x = 10 km, an outer one
#: at x = 0.
SIDE_M = 10_000.0
DPI = 200


def ink_share(image: np.ndarray, to_px, x_km: float) -> float:
    """Share of the rows along the vertical boundary at ``x_km`` (its middle 80 %, clear of the
    corners and the units' names) where the line has ink: a pixel within 2 px of it darker
    than light grey."""
    (col, top), (_, bottom) = to_px(x_km, SIDE_M / 1000 * 0.9), to_px(x_km, SIDE_M / 1000 * 0.1)
    band = image[int(top):int(bottom), int(col) - 2:int(col) + 3].min(axis=(1, 2))
    return float(np.mean(band < 160))


def test_shared_admin_boundary_is_dashed_like_the_outer_one():
    units = gpd.GeoDataFrame({"name": ["West", "East"]},
                             geometry=[box(0, 0, SIDE_M, SIDE_M), box(SIDE_M, 0, 2 * SIDE_M, SIDE_M)],
                             crs="EPSG:32649").set_index("name")
    fig = Figure(figsize=(8, 4), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    draw_admin_units(ax, units, "admin unit boundary", "en")
    ax.set_xlim(-1, 21)
    ax.set_ylim(-1, 11)
    ax.set_axis_off()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    image = np.asarray(Image.open(buffer).convert("RGB"))
    height = image.shape[0]

    def to_px(x_km, y_km):  # data [km] -> (column, row) of the image
        x, y = ax.transData.transform((x_km, y_km))
        return x, height - y

    outer, shared = ink_share(image, to_px, 0.0), ink_share(image, to_px, SIDE_M / 1000)
    assert 0.4 < outer < 0.9  # dashed: ink with gaps
    assert abs(shared - outer) < 0.05, (shared, outer)  # drawn twice: 0.82 against 0.70

"""``map.png``: a static map for print (hillshade, coverage, sites, uncovered villages)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LightSource, ListedColormap  # noqa: E402

from siting.export.webmap import RSRP_CLASSES, TECH_COLOURS  # noqa: E402


def write_static_map(path: Path, run, sites, villages, level_dbm, level_transform) -> None:
    """An A4-landscape PNG of the plan at 200 dpi."""
    terrain = run.region.terrain
    step = max(1, terrain.shape[0] // 1000)
    elevation = terrain.elevation_m[::step, ::step]
    xmin, ymin, xmax, ymax = terrain.bounds
    extent_km = [xmin / 1000, xmax / 1000, ymin / 1000, ymax / 1000]
    fig, ax = plt.subplots(figsize=(11.69, 8.27), dpi=200)
    shade = LightSource(azdeg=315, altdeg=45).hillshade(elevation, vert_exag=2,
                                                        dx=terrain.cell_size_m * step,
                                                        dy=terrain.cell_size_m * step)
    ax.imshow(shade, cmap="gray", extent=extent_km, alpha=0.9)
    classes = np.full(level_dbm.shape, np.nan)
    for i, (floor, _, _) in enumerate(reversed(RSRP_CLASSES)):
        classes[np.isfinite(level_dbm) & (level_dbm >= floor)] = i
    cmap = ListedColormap([c for _, c, _ in reversed(RSRP_CLASSES)])
    h, w = level_dbm.shape
    lx0, ly0 = level_transform.c, level_transform.f
    lext = [lx0 / 1000, (lx0 + w * level_transform.a) / 1000, (ly0 + h * level_transform.e) / 1000, ly0 / 1000]
    ax.imshow(classes, cmap=cmap, vmin=-0.5, vmax=len(RSRP_CLASSES) - 0.5, extent=lext, alpha=0.45,
              interpolation="nearest")
    for i, tech in enumerate(t.name for t in run.scenario.technologies):
        chosen = sites[sites["action"].isin(["build", "upgrade"]) & sites["technology"].str.contains(tech, regex=False)]
        ax.scatter(chosen.geometry.x / 1000, chosen.geometry.y / 1000, marker="^", s=36,
                   c=TECH_COLOURS[i % len(TECH_COLOURS)], edgecolors="k", linewidths=0.4,
                   label=f"new/upgraded: {tech} ({len(chosen)})", zorder=4)
    existing = sites[sites["existing"]]
    ax.scatter(existing.geometry.x / 1000, existing.geometry.y / 1000, marker="s", s=12, c="k",
               label=f"existing sites ({len(existing)})", zorder=3)
    for status, colour, label in (("covered", "#1a9850", "village covered"),
                                  ("uncovered", "#999999", "village uncovered"),
                                  ("mandatory_uncovered", "#d73027", "mandatory village uncovered")):
        v = villages[villages["status"] == status]
        ax.scatter(v.geometry.x / 1000, v.geometry.y / 1000, s=10, c=colour, edgecolors="k",
                   linewidths=0.2, label=f"{label} ({len(v)})", zorder=5)
    for _, colour, label in RSRP_CLASSES:
        ax.fill_between([], [], color=colour, alpha=0.6, label=label)
    ax.set_xlim(extent_km[0], extent_km[1])
    ax.set_ylim(extent_km[2], extent_km[3])
    ax.set_xlabel(f"easting [km] ({run.region.crs.name})")
    ax.set_ylabel("northing [km]")
    ax.set_title(f"Siting plan: {run.scenario.name}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    # North arrow and a 10 km scale bar.
    ax.annotate("N", xy=(0.96, 0.95), xytext=(0.96, 0.86), xycoords="axes fraction",
                ha="center", fontsize=12, fontweight="bold",
                arrowprops=dict(arrowstyle="-|>", color="k"))
    x0, y0 = extent_km[0] + 2, extent_km[2] + 2
    ax.plot([x0, x0 + 10], [y0, y0], color="k", linewidth=3)
    ax.text(x0 + 5, y0 + 0.8, "10 km", ha="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=200)
    plt.close(fig)

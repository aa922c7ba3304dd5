"""``map.png``: a static map for print (hillshade, coverage, sites, admin units, uncovered
villages), in the scenario's ``report.language``.

Text is drawn in fonts found through matplotlib's font manager and set per figure (an
``rc_context`` around drawing and saving; nothing global, no backend switch): DejaVu Sans
(shipped with matplotlib) for English, a CJK font for Chinese and for the Chinese names an
English map shows. :func:`find_cjk_font` looks, in order of :data:`CJK_FAMILIES`, for an
installed Simplified Chinese font (Debian's fonts-noto-cjk gives "Noto Sans CJK SC"), then
falls back to Noto Sans SC from the PyPI package ``justmytype-intl-cjk`` (a dependency of
siting, so ``pip install`` / ``make`` brings it), drawn at its regular weight. Before anything is
drawn, :func:`text_fonts` checks that every character has a glyph in one of the chosen fonts
and raises :class:`FontError` otherwise, so a map never shows boxes in place of names.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING
from pathlib import Path

import matplotlib
import numpy as np
import shapely
from matplotlib import font_manager, patheffects
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from siting.errors import SitingError
from siting.export.i18n import admin_text, admin_unit_names, check_language, rsrp_class_labels, term
from siting.io.asbuilt import builds_technology
from siting.export.style import (ADMIN_UNIT_COLOUR, BACKHAUL_COLOURS, BUILT_ACTIONS, RSRP_CLASSES,
                                 TECH_COLOURS, VILLAGE_COLOURS, admin_boundaries, hillshade)

if TYPE_CHECKING:  # the run's tables; predict's map is drawn without the planner
    from siting.export.tables import PlanTables

logger = logging.getLogger(__name__)

#: The font of Latin text (shipped with matplotlib, so always there).
LATIN_FAMILY = "DejaVu Sans"
#: Installed fonts tried, in this order, for Chinese text: Simplified Chinese faces first.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
                "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback",
                "Microsoft YaHei", "PingFang SC", "SimHei")
#: The font that comes with siting when none of the above is installed: a package of PyPI
#: and the font file in it.
PACKAGED_CJK_FONT = ("justmytype_intl_cjk", "fonts/ofl/notosanssc", "NotoSansSC*.ttf")
#: The weight [CSS units] drawn from a variable font (matplotlib draws only static faces).
REGULAR_WEIGHT = 400
#: Most uncovered mandatory villages labelled by name on map.png (the most populous first).
MAX_VILLAGE_LABELS = 40
#: Lengths [km] a scale bar may have; the map takes the longest within a quarter of its width.
SCALE_BAR_KM = (1, 2, 5, 10, 20, 50, 100, 200)


class FontError(SitingError, RuntimeError):
    """No installed font can draw some character of a map's text."""


def write_static_map(path: Path, tables: PlanTables) -> None:
    """An A4-landscape PNG of the plan at 200 dpi, in the scenario's language.

    Raises :class:`FontError` (and writes nothing) if some character of its text has no glyph
    in any font found.
    """
    fig = Figure(figsize=(11.69, 8.27), dpi=200)
    draw_static_map(fig.add_subplot(), tables)
    fig.tight_layout()
    fig.savefig(path, dpi=200)


def draw_static_map(ax, tables: PlanTables) -> None:
    """Draw what ``map.png`` shows of a run's tables (:func:`~siting.export.tables.plan_tables`)
    on ``ax`` (a notebook's Axes, or map.png's own).

    Every text is drawn in the fonts :func:`text_fonts` chooses for the scenario's language,
    set on each text, so nothing global changes; raises :class:`FontError` before drawing if
    some character has no glyph.
    """
    language = check_language(tables.language)
    sites, villages = tables.sites, tables.villages
    units = admin_units_in_view(tables.admin_units, tables.terrain)
    labelled = _labelled_villages(villages)
    xmin, _, xmax, _ = tables.terrain.bounds
    bar_km = scale_bar_km((xmax - xmin) / 1000)
    words = {"title": term("staticmap.title", language, name=tables.name),
             **frame_words(language, tables.crs.name, bar_km),
             "units": term("staticmap.admin_units", language)}
    legend = _legend_labels(tables.technologies, sites, villages, language)
    legend.update(_backhaul_labels(tables.backhaul_links, language))
    names = [*unit_labels(units, language), *labelled["name"].astype(str)]
    fonts = text_fonts([*words.values(), *legend.values(), *names], language)
    with matplotlib.rc_context({"font.family": fonts}):  # the texts made here keep it
        extent_km = draw_rasters(ax, tables.terrain, tables.level_dbm, tables.level_transform)
        _draw_points(ax, tables.technologies, sites, villages, legend)
        _draw_backhaul(ax, tables.backhaul_links, legend)
        if units is not None:
            draw_admin_units(ax, units, words["units"], language)
        _label_villages(ax, labelled, extent_km)
        add_rsrp_legend(ax, [legend[f"rsrp:{i}"] for i in range(len(RSRP_CLASSES))])
        ax.set_xlim(extent_km[0], extent_km[1])
        ax.set_ylim(extent_km[2], extent_km[3])
        ax.set_xlabel(words["easting"], parse_math=False, family=fonts)
        ax.set_ylabel(words["northing"], parse_math=False, family=fonts)
        ax.set_title(words["title"], parse_math=False, family=fonts)
        add_side_legend(ax)
        draw_north_and_scale(ax, words["north"], bar_km, words["scale"])


def add_rsrp_legend(ax, labels: list[str]) -> None:
    """Legend entries (empty patches) for the RSRP classes drawn by :func:`draw_rasters`, best
    class first, labelled ``labels`` (:func:`siting.export.i18n.rsrp_class_labels`)."""
    for (_, colour, _), label in zip(RSRP_CLASSES, labels, strict=True):
        ax.fill_between([], [], color=colour, alpha=0.6, label=plain_label(label))


def rsrp_legend_labels(language: str) -> list[str]:
    """The RSRP classes' legend labels in ``language``, best class first."""
    return rsrp_class_labels([floor for floor, _, _ in RSRP_CLASSES], language)


def _legend_labels(technologies, sites, villages, language: str) -> dict:
    """The legend's labels (``tech:NAME``, ``existing``, ``village:STATUS``, ``rsrp:I``)."""
    labels = {}
    built = sites[sites["action"].isin(BUILT_ACTIONS)]
    for tech in (t.name for t in technologies):
        count = int(builds_technology(built, tech).sum())
        labels[f"tech:{tech}"] = term("staticmap.new_sites", language, technology=tech, count=count)
    labels["existing"] = term("staticmap.existing_sites", language, count=int(sites["existing"].sum()))
    for status in VILLAGE_COLOURS:
        labels[f"village:{status}"] = term(f"staticmap.village_{status}", language,
                                           count=int((villages["status"] == status).sum()))
    labels.update((f"rsrp:{i}", label) for i, label in enumerate(rsrp_legend_labels(language)))
    return labels


#: The kinds of backhaul map.png draws as lines (satellite has none).
DRAWN_BACKHAUL = ("fiber", "microwave")


def _backhaul_labels(links, language: str) -> dict:
    """The legend's labels of the backhaul lines (``backhaul:KIND``); none without backhaul."""
    if links is None:
        return {}
    return {f"backhaul:{kind}": term(f"staticmap.backhaul_{kind}", language,
                                     count=int((links["kind"] == kind).sum()))
            for kind in DRAWN_BACKHAUL}


def _draw_backhaul(ax, links, legend: dict) -> None:
    """Fiber routes and microwave hops [km], coloured by kind, under the sites."""
    if links is None:
        return
    for kind in DRAWN_BACKHAUL:
        lines = links[(links["kind"] == kind) & links.geometry.notna()]
        xy, part = shapely.get_coordinates(lines.geometry.to_numpy(), return_index=True)
        breaks = np.flatnonzero(np.diff(part)) + 1  # one NaN between lines: one plot call
        xy = np.insert(xy / 1000, breaks, np.nan, axis=0)
        ax.plot(xy[:, 0] if len(xy) else [], xy[:, 1] if len(xy) else [],
                color=BACKHAUL_COLOURS[kind], linewidth=1.0 if kind == "fiber" else 0.8,
                linestyle="-" if kind == "fiber" else "--",
                label=plain_label(legend[f"backhaul:{kind}"]), zorder=2.5)


def draw_rasters(ax, terrain, level_dbm, level_transform) -> list[float]:
    """Hillshade and coverage classes; returns the extent [km] of the DEM."""
    step = max(1, terrain.shape[0] // 1000)
    elevation = terrain.elevation_m[::step, ::step]
    xmin, ymin, xmax, ymax = terrain.bounds
    extent_km = [xmin / 1000, xmax / 1000, ymin / 1000, ymax / 1000]
    shade = hillshade(elevation, terrain.cell_size_m * step)
    ax.imshow(shade, cmap="gray", extent=extent_km, alpha=0.9)
    classes = rsrp_class_index(level_dbm)
    cmap = ListedColormap([c for _, c, _ in reversed(RSRP_CLASSES)])
    h, w = level_dbm.shape
    lx0, ly0 = level_transform.c, level_transform.f
    lext = [lx0 / 1000, (lx0 + w * level_transform.a) / 1000, (ly0 + h * level_transform.e) / 1000,
            ly0 / 1000]
    ax.imshow(classes, cmap=cmap, vmin=-0.5, vmax=len(RSRP_CLASSES) - 0.5, extent=lext, alpha=0.45,
              interpolation="nearest")
    return extent_km


def rsrp_class_index(level_dbm: np.ndarray) -> np.ndarray:
    """Index of each level's class in ``reversed(RSRP_CLASSES)`` (0 the weakest), NaN where
    the level is not finite. The weakest class takes every finite level below the next one's
    floor, however low (its label reads "< -105 dBm"): a prediction's cells far below it are
    weak, not missing."""
    finite = np.isfinite(level_dbm)
    classes = np.where(finite, 0.0, np.nan)
    for i, (floor, _, _) in enumerate(reversed(RSRP_CLASSES[:-1]), 1):
        classes[finite & (level_dbm >= floor)] = i
    return classes


def _draw_points(ax, technologies, sites, villages, legend: dict) -> None:
    """New/upgraded sites by technology, existing sites, villages by coverage status."""
    built = sites[sites["action"].isin(BUILT_ACTIONS)]
    for i, tech in enumerate(t.name for t in technologies):
        chosen = built[builds_technology(built, tech)]
        ax.scatter(chosen.geometry.x / 1000, chosen.geometry.y / 1000, marker="^", s=36,
                   c=TECH_COLOURS[i % len(TECH_COLOURS)], edgecolors="k", linewidths=0.4,
                   label=plain_label(legend[f"tech:{tech}"]), zorder=4)
    existing = sites[sites["existing"]]
    ax.scatter(existing.geometry.x / 1000, existing.geometry.y / 1000, marker="s", s=12, c="k",
               label=plain_label(legend["existing"]), zorder=3)
    for status, colour in VILLAGE_COLOURS.items():
        v = villages[villages["status"] == status]
        ax.scatter(v.geometry.x / 1000, v.geometry.y / 1000, s=10, c=colour, edgecolors="k",
                   linewidths=0.2, label=plain_label(legend[f"village:{status}"]), zorder=5)


def admin_units_in_view(units, terrain):
    """The admin-unit polygons that overlap the DEM (None when there are none)."""
    if units is None or not len(units):
        return None
    units = units[units.geometry.intersects(shapely.box(*terrain.bounds))]
    return units if len(units) else None


def unit_labels(units, language: str) -> list[str]:
    """The name of each admin unit as the map writes it in ``language``
    (:func:`~siting.export.i18n.admin_text`: in Chinese its ``name_zh`` where it has one);
    none without units (None)."""
    if units is None:
        return []
    names_zh = admin_unit_names(units)
    return [admin_text(unit, language, names_zh) for unit in units.index.astype(str)]


def draw_admin_units(ax, units, label: str, language: str) -> None:
    """Dashed unit boundaries, each drawn once (:func:`~siting.export.style.admin_boundaries`),
    each unit's name (:func:`unit_labels`) at a point inside it (within the DEM)."""
    lines = shapely.get_parts(admin_boundaries(units))
    for i, line in enumerate(lines):
        xy = shapely.get_coordinates(line) / 1000
        ax.plot(xy[:, 0], xy[:, 1], color=ADMIN_UNIT_COLOUR, linewidth=0.8, linestyle="--",
                zorder=2, label=plain_label(label) if i == 0 else None)
    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    for name, geometry in zip(unit_labels(units, language), units.geometry):
        point = geometry.representative_point()
        ax.text(point.x / 1000, point.y / 1000, name, fontsize=8, color="#333333", ha="center",
                va="center", zorder=6, path_effects=halo, parse_math=False, clip_on=True)


def _labelled_villages(villages):
    """The uncovered mandatory villages whose names the map shows (the most populous first)."""
    uncovered = villages[villages["status"] == "mandatory_uncovered"]
    return uncovered.sort_values("population", ascending=False).head(MAX_VILLAGE_LABELS)


def _label_villages(ax, villages, extent_km) -> None:
    """Each village's name beside its dot, on the side facing the middle of the map's
    ``extent_km`` (so that no name runs out of the frame onto the legend or the north arrow),
    with a white halo so it reads over any colour."""
    halo = [patheffects.withStroke(linewidth=2.0, foreground="white")]
    middle_x_km, middle_y_km = (extent_km[0] + extent_km[1]) / 2, (extent_km[2] + extent_km[3]) / 2
    for name, geometry in zip(villages["name"].astype(str), villages.geometry):
        x_km, y_km = geometry.x / 1000, geometry.y / 1000
        east, north = x_km > middle_x_km, y_km > middle_y_km
        ax.annotate(name, (x_km, y_km), xytext=(-4 if east else 4, -3 if north else 3),
                    textcoords="offset points", ha="right" if east else "left",
                    va="top" if north else "bottom", fontsize=6, color="#a50f15", zorder=6,
                    path_effects=halo, annotation_clip=True, parse_math=False)


def frame_words(language: str, crs_name: str, bar_km: float) -> dict[str, str]:
    """The words of a map's frame in ``language``: the axis labels (``easting`` naming the
    CRS, ``northing``), the north arrow's (``north``) and the scale bar's (``scale``)."""
    return {"easting": term("staticmap.easting", language, crs=crs_name),
            "northing": term("staticmap.northing", language),
            "north": term("staticmap.north", language),
            "scale": term("staticmap.scale", language, km=bar_km)}


#: The column right of a map's frame, from its top [pt below the frame's upper right corner]:
#: the north arrow (its tip, then its letter), the scale bar, then the legend.
ARROW_TIP_PT, NORTH_LETTER_PT, SCALE_BAR_TOP_PT, SIDE_LEGEND_TOP_PT = 2, 32, 56, 80
#: Left edge of that column [pt right of the frame]; the arrow's centre line.
SIDE_COLUMN_PT, ARROW_X_PT = 8, 20


def beside_frame(ax, right_pt: float, down_pt: float):
    """A transform of axes fractions moved ``right_pt`` right and ``down_pt`` down [pt]: a
    point at a fixed distance from the frame however large the map's extent."""
    from matplotlib.transforms import ScaledTranslation

    return ax.transAxes + ScaledTranslation(right_pt / 72, -down_pt / 72, ax.figure.dpi_scale_trans)


def add_side_legend(ax) -> None:
    """The legend of ``ax``'s labelled artists right of the frame, under the north arrow and
    the scale bar of :func:`draw_north_and_scale`, however tall it is or short the map."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False,
              bbox_transform=beside_frame(ax, SIDE_COLUMN_PT, SIDE_LEGEND_TOP_PT),
              borderaxespad=0)


def draw_north_and_scale(ax, north: str, bar_km: float, scale: str, *,
                         beside: bool = True) -> None:
    """A north arrow and a scale bar of ``bar_km`` [km] (the axes' data are in km).

    ``beside``: right of the map's frame, above the legend of :func:`add_side_legend` (map.png,
    evaluation.png), so that they hide no site or village however the markers lie; else inside
    the frame, the arrow in the upper right corner and the bar in the lower left (a
    prediction's map, whose corners lie outside the disc it draws).
    """
    if beside:
        tip, tip_coords = (1.0, 1.0), beside_frame(ax, ARROW_X_PT, ARROW_TIP_PT)
        bar = scale_bar(ax, bar_km, scale, "upper left", (1.0, 1.0),
                        beside_frame(ax, SIDE_COLUMN_PT, SCALE_BAR_TOP_PT))
    else:
        tip, tip_coords = (0.96, 0.96), ax.transAxes
        bar = scale_bar(ax, bar_km, scale, "lower left", (0.02, 0.02), ax.transAxes)
    letter = (0, ARROW_TIP_PT - NORTH_LETTER_PT)  # [pt] from the tip
    ax.annotate(north, xy=tip, xycoords=tip_coords, xytext=letter, textcoords="offset points",
                ha="center", va="top", fontsize=13, parse_math=False,  # the CJK font has one weight
                annotation_clip=False,
                arrowprops=dict(arrowstyle="-|>", color="k", shrinkA=5))  # clear of a CJK 北
    ax.add_artist(bar)


def scale_bar(ax, bar_km: float, scale: str, loc: str, corner: tuple[float, float], transform):
    """A black bar ``bar_km`` [km] long in ``ax``'s data units, labelled ``scale`` above it,
    its ``loc`` corner at ``corner`` in ``transform`` (inside the frame or beside it)."""
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar  # ships with matplotlib

    x0, x1 = ax.get_xlim()
    bar = AnchoredSizeBar(ax.transData, bar_km, scale, loc=loc, bbox_to_anchor=corner,
                          bbox_transform=transform, frameon=False, label_top=True, sep=3,
                          size_vertical=abs(x1 - x0) / 250, color="k", borderpad=0,
                          pad=0, fontproperties=font_manager.FontProperties(size=8))
    for text in bar.txt_label.get_children():  # readable over the hillshade, inside the frame
        text.set_path_effects([patheffects.withStroke(linewidth=2.0, foreground="white")])
    bar.set_clip_on(False)
    bar.set_zorder(7)
    return bar


def scale_bar_km(width_km: float) -> float:
    """The longest of :data:`SCALE_BAR_KM` within a quarter of a map ``width_km`` wide."""
    fitting = [length for length in SCALE_BAR_KM if length <= width_km / 4]
    return fitting[-1] if fitting else width_km / 4


def plain_label(text: str) -> str:
    """A legend label drawn as written: a ``$`` never starts matplotlib's math mode."""
    return str(text).replace("$", r"\$")


# ---------------------------------------------------------------------------------------
# Fonts


def text_fonts(texts: Iterable[str], language: str = "en") -> list[str]:
    """The font families for ``rcParams["font.family"]`` that draw every character of
    ``texts`` in ``language``: the CJK font first for Chinese, DejaVu Sans first otherwise
    (with the CJK font behind it when the text needs it).

    Raises
    ------
    FontError
        If some character is in none of these fonts (a CJK font is needed but none is
        installed, or a name uses a character no font here has); the message names the
        character and the text.
    """
    check_language(language)
    texts = [str(t) for t in texts] + ["0123456789.,-\u2212"]  # the tick labels
    chars = {c for t in texts for c in t if c.isprintable() and not c.isspace()}
    missing = chars - _charmap(LATIN_FAMILY)
    if language == "en" and not missing:
        return [LATIN_FAMILY]
    cjk = find_cjk_font()
    if cjk is None:
        need = "report.language is zh" if language == "zh" else _shown(missing, texts)
        raise FontError(f"map.png needs a font with Chinese characters ({need}) and none was "
                        f"found: install the PyPI package justmytype-intl-cjk (a dependency of "
                        f"siting: pip install -e .) or Debian's fonts-noto-cjk")
    missing -= _charmap(cjk)
    if missing:
        raise FontError(f"map.png: no installed font ({LATIN_FAMILY}, {cjk}) has a glyph for "
                        f"{_shown(missing, texts)}")
    return [cjk, LATIN_FAMILY] if language == "zh" else [LATIN_FAMILY, cjk]


def _shown(chars: set[str], texts: list[str]) -> str:
    """The missing characters with their code points and the first text using them."""
    listed = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in sorted(chars)[:5])
    where = next(t for t in texts if any(c in t for c in chars))
    return f"{listed} in {where!r}"


@functools.cache
def _charmap(family: str) -> frozenset[str]:
    """The characters the font matplotlib finds for ``family`` has glyphs for."""
    path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    return frozenset(chr(code) for code in font_manager.get_font(path).get_charmap())


@functools.cache
def find_cjk_font() -> str | None:
    """The family name of a Simplified Chinese font matplotlib can use, or None.

    Installed fonts with a regular weight come first, in the order of :data:`CJK_FAMILIES`;
    then the Noto Sans SC of :data:`PACKAGED_CJK_FONT`, added to matplotlib's font manager (a
    variable font, so its regular weight is made into a static font once, in matplotlib's
    cache folder).
    """
    installed = {entry.name for entry in font_manager.fontManager.ttflist
                 if entry.weight in (400, "normal", "regular")}  # not a variable font's Thin
    for family in CJK_FAMILIES:
        if family in installed:
            logger.debug("CJK font: installed %s", family)
            return family
    static = packaged_cjk_font()
    if static is None:
        return None
    font_manager.fontManager.addfont(str(static))
    family = font_manager.FontProperties(fname=static).get_name()
    logger.debug("CJK font: %s from %s", family, static)
    return family


def packaged_cjk_font() -> Path | None:
    """The font of the PyPI package in :data:`PACKAGED_CJK_FONT` as matplotlib draws it (its
    regular weight, see :func:`_static_instance`), None if the package is not installed."""
    package, folder, pattern = PACKAGED_CJK_FONT
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations)), folder).glob(pattern))
    return _static_instance(found[0]) if found else None


def _static_instance(font_path: Path) -> Path:
    """A variable font's regular instance as a static TrueType file (the file itself when it
    is static), made once and kept in matplotlib's cache folder: matplotlib draws a variable
    font only at its default instance, which for Noto Sans SC is Thin."""
    target = (Path(matplotlib.get_cachedir()) / "siting"
              / f"{font_path.stem.split('[')[0]}-{REGULAR_WEIGHT}-{font_path.stat().st_size}.ttf")
    if target.exists():
        return target
    from fontTools.ttLib import TTFont  # a dependency of matplotlib
    from fontTools.varLib import instancer

    font = TTFont(font_path)
    if "fvar" not in font:
        return font_path
    logger.info("making the regular weight of %s for map.png (once; it takes a few seconds)",
                font_path.name)
    location = {axis.axisTag: (REGULAR_WEIGHT if axis.axisTag == "wght" else axis.defaultValue)
                for axis in font["fvar"].axes}
    static = instancer.instantiateVariableFont(font, location, updateFontNames=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    static.save(partial)
    os.replace(partial, target)  # atomic: a concurrent run sees the whole file or none
    return target

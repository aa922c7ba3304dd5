"""report.html and map.png as a planning committee meets them: a report small enough to e-mail
whose map still reads, and a map whose north arrow, scale bar and legend hide no site or village.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar
from PIL import Image

from regions import candidate, one_site_a_year_region, village
from siting.config import load_scenario
from siting.export.html_report import MAX_IMAGE_PX, image_data_uri, write_html_report
from siting.export.i18n import stage_text, term
from siting.export.report import Table, build_report, render_markdown
from siting.export.staticmap import (add_side_legend, draw_north_and_scale, draw_static_map,
                                     write_static_map)
from siting.export.tables import plan_tables
from siting.pipeline import compute

DEMO_SCENARIO = Path(__file__).resolve().parents[1] / "data" / "demo" / "scenario.yaml"
#: map.png's size [in] and resolution [dpi] (siting.export.staticmap.write_static_map).
A4_LANDSCAPE_IN, MAP_DPI = (11.69, 8.27), 200


@pytest.fixture(scope="module")
def demo_tables():
    if not DEMO_SCENARIO.exists():
        pytest.skip(f"demo data not generated: {DEMO_SCENARIO}")
    return plan_tables(compute(load_scenario(DEMO_SCENARIO)))


@pytest.fixture(scope="module")
def demo_report(demo_tables, tmp_path_factory):
    """The demo's map.png and report.html, written as a run writes them."""
    folder = tmp_path_factory.mktemp("report")
    write_static_map(folder / "map.png", demo_tables)
    write_html_report(folder / "report.html", demo_tables)
    return folder


def embedded_images(page: str) -> list[tuple[str, bytes]]:
    """(media type, bytes) of each ``data:`` image of an HTML page."""
    return [(kind, base64.b64decode(data))
            for kind, data in re.findall(r'src="data:(image/\w+);base64,([A-Za-z0-9+/=]+)"', page)]


def test_report_html_is_small_enough_to_email_and_its_map_reads_as_map_png(demo_report):
    """report.html embedded map.png as a 1800 px PNG: 3.3 MB on the demo, the report e-mailed
    with it. The map is embedded as JPEG (about 0.6 MB), its pixels those of map.png."""
    page = (demo_report / "report.html").read_text(encoding="utf-8")
    (kind, data), = embedded_images(page)
    assert kind == "image/jpeg"
    assert len(page.encode("utf-8")) < 1_200_000, len(page.encode("utf-8"))
    assert (demo_report / "map.png").stat().st_size > 2_000_000  # map.png itself is as it was
    with Image.open(demo_report / "map.png") as original:
        original = original.convert("RGB")
        height_px = round(original.height * MAX_IMAGE_PX / original.width)
        expected = np.asarray(original.resize((MAX_IMAGE_PX, height_px), Image.LANCZOS), float)
    embedded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), float)
    assert embedded.shape == expected.shape
    error = np.abs(embedded - expected)
    assert error.mean() < 3.0, error.mean()  # levels of 255
    assert np.percentile(error, 99) < 25, np.percentile(error, 99)


def test_a_line_chart_stays_png_when_png_is_smaller(tmp_path):
    """A cost-coverage curve is lines on white: PNG keeps it smaller and without JPEG ringing."""
    fig = Figure(figsize=(8, 5), dpi=150)
    ax = fig.add_subplot()
    ax.plot([0, 10, 20, 30, 45], [77.3, 90.1, 95.2, 97.9, 98.9], marker="o")
    ax.set_xlabel("budget [million CNY]")
    ax.set_ylabel("people covered [%]")
    fig.savefig(tmp_path / "cost_coverage.png")
    kind, data = image_data_uri(tmp_path / "cost_coverage.png").removeprefix("data:").split(";base64,")
    assert kind == "image/png"
    with Image.open(tmp_path / "cost_coverage.png") as original:
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")),
                              np.asarray(original.convert("RGB")))


def test_report_html_map_opens_in_the_browser(demo_report, tmp_path):
    from test_browser import chromium_binary, inspect_page

    visit = inspect_page(chromium_binary(), demo_report / "report.html",
                         "[...document.images].map(i => [i.complete, i.naturalWidth])", tmp_path)
    assert visit.state == [[True, MAX_IMAGE_PX]]


def drawn_map(draw) -> tuple:
    """(figure, axes, renderer) of an A4-landscape map drawn by ``draw(ax)`` and laid out as
    map.png is."""
    fig = Figure(figsize=A4_LANDSCAPE_IN, dpi=MAP_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    draw(ax)
    fig.tight_layout()
    fig.canvas.draw()
    return fig, ax, fig.canvas.get_renderer()


def marker_boxes(ax, dpi: float) -> np.ndarray:
    """(x0, y0, x1, y1) [display px] of every scatter marker of ``ax`` inside its frame."""
    boxes = []
    frame = ax.get_window_extent()
    for collection in ax.collections:
        if not isinstance(collection, PathCollection) or not len(collection.get_offsets()):
            continue
        xy = ax.transData.transform(collection.get_offsets())
        radius_px = np.sqrt(collection.get_sizes()) / 2 * dpi / 72  # s: area [pt^2]
        radius_px = np.broadcast_to(radius_px, len(xy))
        inside = ((xy[:, 0] >= frame.x0) & (xy[:, 0] <= frame.x1)
                  & (xy[:, 1] >= frame.y0) & (xy[:, 1] <= frame.y1))
        boxes.append(np.column_stack([xy - radius_px[:, None], xy + radius_px[:, None]])[inside])
    return np.concatenate(boxes) if boxes else np.empty((0, 4))


def furniture_boxes(ax, renderer, north: str, scale: str) -> dict:
    """The display boxes of a map's north arrow (its letter ``north`` and its arrow), the scale
    bar (its label ``scale``, and its bar where it is a matplotlib scale bar) and the legend."""
    texts = {text.get_text(): text for text in ax.figure.findobj(Text) if text.get_visible()}
    boxes = {"north": texts[north].get_window_extent(renderer),
             "scale label": texts[scale].get_window_extent(renderer),
             "legend": ax.get_legend().get_window_extent(renderer)}
    if isinstance(texts[north], Annotation):
        boxes["arrow"] = texts[north].arrow_patch.get_window_extent(renderer)
    bars = [a for a in ax.artists if isinstance(a, AnchoredSizeBar)]
    boxes.update(("scale bar", bar.get_window_extent(renderer)) for bar in bars)
    return boxes


def hidden_markers(box, markers: np.ndarray) -> int:
    """How many marker boxes overlap ``box``."""
    return int(np.sum((markers[:, 0] < box.x1) & (markers[:, 2] > box.x0)
                      & (markers[:, 1] < box.y1) & (markers[:, 3] > box.y0)))


def test_north_arrow_scale_bar_and_legend_hide_no_site_of_the_demo(demo_tables):
    """map.png's scale bar lay on a new site in the lower left corner and its north arrow
    among the sites of the upper right; both now stand right of the frame, under the legend."""
    fig, ax, renderer = drawn_map(lambda ax: draw_static_map(ax, demo_tables))
    markers = marker_boxes(ax, fig.dpi)
    assert len(markers) > 400  # the demo's sites and villages
    boxes = furniture_boxes(ax, renderer, "N", "10 km")
    for name, box in boxes.items():
        assert hidden_markers(box, markers) == 0, name
        assert fig.bbox.contains(box.x0, box.y0) and fig.bbox.contains(box.x1, box.y1), name
    assert {"arrow", "scale bar"} <= set(boxes)  # a matplotlib scale bar: checked as a whole
    for name in ("north", "arrow", "scale label", "scale bar"):
        assert not boxes[name].overlaps(boxes["legend"]), name


def test_north_arrow_and_scale_bar_hide_nothing_on_a_map_full_of_markers():
    """Markers over every part of the frame: wherever inside it they stood, they would hide
    some; the scale bar is as long as its label says, in the map's kilometres."""
    def draw(ax):
        x_km, y_km = np.meshgrid(np.linspace(0, 60, 40), np.linspace(0, 60, 40))
        ax.scatter(x_km.ravel(), y_km.ravel(), s=36, marker="^", label="sites")
        ax.set_xlim(0, 60)
        ax.set_ylim(0, 60)
        ax.set_aspect("equal")
        add_side_legend(ax)
        draw_north_and_scale(ax, "N", 10, "10 km")

    fig, ax, renderer = drawn_map(draw)
    markers = marker_boxes(ax, fig.dpi)
    boxes = furniture_boxes(ax, renderer, "N", "10 km")
    for name, box in boxes.items():
        assert hidden_markers(box, markers) == 0, name
    bar, = (a for a in ax.artists if isinstance(a, AnchoredSizeBar))
    rectangle = bar.size_bar.get_children()[0]
    width_px = rectangle.get_window_extent(renderer).width
    km_px = ax.transData.transform((10, 0))[0] - ax.transData.transform((0, 0))[0]
    assert width_px == pytest.approx(km_px, rel=0.02)


@pytest.mark.parametrize("width_km, height_km", [(150, 30), (30, 150)])
def test_on_a_long_map_the_legend_arrow_and_scale_bar_do_not_overlap(width_km, height_km):
    """Placed at fractions of the frame's height, the arrow and the scale bar of a map four
    times wider than tall fell in the middle of a legend of 15 entries (a region with backhaul
    and four technologies); they now stand at fixed distances above it."""
    def draw(ax):
        for i in range(15):
            ax.scatter([width_km / 2], [height_km / 2], label=f"entry {i} of the legend (123)")
        ax.set_xlim(0, width_km)
        ax.set_ylim(0, height_km)
        ax.set_aspect("equal")
        add_side_legend(ax)
        draw_north_and_scale(ax, "N", 20, "20 km")

    fig, ax, renderer = drawn_map(draw)
    boxes = furniture_boxes(ax, renderer, "N", "20 km")
    assert set(boxes) == {"north", "arrow", "scale label", "scale bar", "legend"}
    frame = ax.get_window_extent(renderer)
    for name, box in boxes.items():
        assert fig.bbox.contains(box.x0, box.y0) and fig.bbox.contains(box.x1, box.y1), name
        assert box.x0 >= frame.x1, name  # beside the frame
    for first in ("north", "arrow", "scale label", "scale bar"):
        assert not boxes[first].overlaps(boxes["legend"]), first
    assert not boxes["north"].overlaps(boxes["scale label"])
    assert boxes["arrow"].y0 > boxes["scale bar"].y1  # north first, then the bar, then the legend
    assert boxes["scale bar"].y0 > boxes["legend"].y1


def test_village_names_stay_inside_the_frame(demo_tables):
    """An uncovered mandatory village near the right edge had its name run out of the frame
    onto the north arrow (one near the top, over the frame line): each name now points to the
    middle of the map. The 40 villages nearest the edges are made uncovered mandatory ones."""
    villages = demo_tables.villages.copy()
    xmin, ymin, xmax, ymax = demo_tables.terrain.bounds
    x, y = villages.geometry.x.to_numpy(), villages.geometry.y.to_numpy()
    to_edge_m = np.minimum.reduce([x - xmin, xmax - x, y - ymin, ymax - y])
    villages["name"] = [f"Edge village {i:02d}" for i in range(len(villages))]
    villages["status"] = np.where(np.argsort(np.argsort(to_edge_m)) < 40, "mandatory_uncovered",
                                  villages["status"])
    tables = dataclasses.replace(demo_tables, villages=villages)
    fig, ax, renderer = drawn_map(lambda ax: draw_static_map(ax, tables))
    names = [t for t in ax.texts if t.get_text().startswith("Edge village")]
    assert len(names) == 40
    frame = ax.get_window_extent(renderer)
    arrow = furniture_boxes(ax, renderer, "N", "10 km")
    for name in names:
        box = name.get_window_extent(renderer)
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1, name.get_text()
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1, name.get_text()
        assert not any(box.overlaps(b) for b in arrow.values()), name.get_text()


def test_a_phased_plan_stopped_by_the_solver_states_its_first_step_in_chinese():
    """The zh report of the phased backhaul demo, stopped at its time limit, listed its first
    solver step in English: the planner's sentence had no entry in the catalogue."""
    stage = ("cover as many mandatory points by 2028 as the solver found in its time (285 of 316, "
             "without backup coverage), every site on air fed by fiber or by up to 3 microwave hops")
    text = stage_text(stage, "zh")
    assert not re.search(r"[A-Za-z]{3,}", text), text
    assert re.search(r"2028 年前.*316 个中的 285 个.*不超过 3 跳的微波", text), text


def test_a_phased_plans_site_list_runs_year_by_year(tmp_path):
    """The site list of a phased plan was ordered by cost alone, its years jumbled (2030, 2029,
    2028, 2028, 2030 in the phased demo) beside a schedule read year by year. The cheapest
    site serves the most people, so it is built first: the list now starts with it."""
    villages = [village("V1", 1000, 3000, population=300), village("V2", 3000, 3000, population=200),
                village("V3", 5000, 3000, population=100)]
    candidates = [candidate("S1", 1000, 3000, techs="4G", capex=30000.0),
                  candidate("S2", 3000, 3000, techs="4G", capex=40000.0),
                  candidate("S3", 5000, 3000, techs="4G", capex=50000.0)]
    tables = plan_tables(compute(load_scenario(one_site_a_year_region(tmp_path, villages, candidates))))
    report = build_report(tables)
    section = next(s for s in report.sections if s.title == term("section.sites", "en"))
    table = next(b for b in section.blocks if isinstance(b, Table))
    rows = [row for row in table.rows if str(row[0]).startswith("S")]
    year = table.header.index(term("header.year", "en"))
    assert [(row[0], int(row[year])) for row in rows] == [("S1", 2027), ("S2", 2028), ("S3", 2029)]
    assert re.search(r"\| S1 \|.*\n\| S2 \|.*\n\| S3 \|", render_markdown(report))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_cost_by_kind_lists_the_costliest_kind_first(demo_tables, language):
    """The table of cost by site kind came in the alphabetical order of the English codes
    (existing_4g, existing_tower, greenfield, ...), which in Chinese reads as no order at all
    (现网4G站 70.00, 现有铁塔 1,017.14, 新建落地塔 1,448.36, 路灯杆 81.84 ...)."""
    outputs = dataclasses.replace(demo_tables.scenario.outputs, language=language)
    tables = dataclasses.replace(demo_tables, scenario=dataclasses.replace(
        demo_tables.scenario, outputs=outputs))
    report = build_report(tables)
    section = next(s for s in report.sections if s.title == term("section.by_kind", language))
    table, = (b for b in section.blocks if isinstance(b, Table))
    costs = [row[2] for row in table.rows]
    expected = sorted((v["cost_cny"] for v in tables.summary["by_kind"].values()), reverse=True)
    assert len(costs) == len(expected) >= 4
    assert costs == sorted(costs, reverse=True)
    scale = 1e4 if language == "zh" else 1.0  # 万元
    assert costs == pytest.approx([cny / scale for cny in expected], abs=0.01)


def test_the_as_built_sites_cost_reads_in_the_unit_its_header_names(tmp_path):
    """A re-plan's table of the sites already built, in Chinese, headed 成本 [万元], showed the
    cost in yuan: a site built for 150,000 CNY read 150,000 万元 (1.5 billion)."""
    villages = [village("V1", 1000, 3000, population=300), village("V2", 3000, 3000, population=200)]
    candidates = [candidate("S1", 1000, 3000, techs="4G"), candidate("S2", 3000, 3000, techs="4G")]
    scenario = one_site_a_year_region(tmp_path / "in", villages, candidates,
                                      report={"language": "zh"})
    built = tmp_path / "built.csv"
    pd.DataFrame([("S1", "4G-1800", 2027, 150000)],
                 columns=["site_id", "technology", "year", "cost_cny"]).to_csv(built, index=False)
    report = build_report(plan_tables(compute(load_scenario(scenario), as_built=built)))
    section = next(s for s in report.sections if s.title == term("section.as_built", "zh"))
    table = next(b for b in section.blocks if isinstance(b, Table)
                 and term("header.site", "zh") in b.header)
    cost = table.header.index(term("header.cost_cny", "zh"))
    assert table.header[cost] == "成本 [万元]"
    assert [row[cost] for row in table.rows] == [pytest.approx(15.0)]  # 150,000 CNY in 万元
    assert "| S1 | 4G-1800 | 2027 | 15.00 |" in render_markdown(report)

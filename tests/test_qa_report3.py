"""report.html as a planning committee meets it: a report small enough to e-mail whose map
still reads."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from siting.config import load_scenario
from siting.export.html_report import MAX_IMAGE_PX, image_data_uri, write_html_report
from siting.export.staticmap import write_static_map
from siting.export.tables import plan_tables
from siting.pipeline import compute

DEMO_SCENARIO = Path(__file__).resolve().parents[1] / "data" / "demo" / "scenario.yaml"


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

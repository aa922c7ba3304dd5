"""``report.html``: the report of :mod:`siting.export.report` as one self-contained, printable
HTML page (inline CSS; the static map and, when a sweep ran, the cost-coverage curve embedded
as base64 images).

The content comes from :func:`siting.export.report.build_report`, the same data that renders
``report.md``, in the same language (the page's ``lang`` says which); this module only knows
HTML. Every value is escaped.
"""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

from siting.export.i18n import HTML_LANG, check_language, term
from siting.export.cells import cell_text, is_numeric_cell
from siting.export.report import Figure, Report, Steps, Table, build_report
from siting.export.tables import PlanTables
from siting.export.webfont import FAMILY, with_embedded_font

#: The Chinese face the page carries (:mod:`siting.export.webfont`; Chinese characters only),
#: then Latin faces.
BODY_FONTS = f'"{FAMILY}", "Noto Sans", "Helvetica Neue", Arial, sans-serif'
# A header cell keeps Chinese words and units whole (word-break: keep-all, CSS Text Level 3,
# section 5.2): it wraps only at its spaces, before its unit ("成本 [万元]", never "成本 [万"
# over "元]").
CSS = "\nbody { font: 11pt/1.45 " + BODY_FONTS + """; color: #222;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 20pt; border-bottom: 2px solid #2166ac; padding-bottom: .2em; }
h2 { font-size: 14pt; color: #2166ac; margin-top: 1.6em; page-break-after: avoid; }
table { border-collapse: collapse; margin: .6em 0 1em; font-size: 9.5pt; page-break-inside: auto; }
th, td { border: 1px solid #bbb; padding: 3px 7px; }
th { background: #eef3f8; text-align: left; word-break: keep-all; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr { page-break-inside: avoid; }
figure { margin: 1em 0; page-break-inside: avoid; }
figure img { max-width: 100%; border: 1px solid #ccc; }
figcaption { font-size: 9pt; color: #555; }
footer { margin-top: 2em; font-size: 8pt; color: #777; }
@media print { body { margin: 0; max-width: none; font-size: 9.5pt; } a { color: inherit; } }
@page { size: A4; margin: 15mm; }
"""

#: Largest width [px] of an embedded image: 1800 px over the 180 mm of an A4 page's text width
#: print at 250 dpi.
MAX_IMAGE_PX = 1800
#: JPEG quality (Pillow's 1-95 scale) of an embedded image. map.png's hillshade is photograph-
#: like, which PNG compresses badly (3.3 MB at 1800 px, the report e-mailed with it); as JPEG at
#: this quality, without chroma subsampling (so thin coloured lines and red names keep their
#: colour), it is about 0.6 MB and its text reads as sharp.
JPEG_QUALITY = 85


def _inline(text: str) -> str:
    """Escape, then turn ``**bold**`` into <strong>."""
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(str(text)))


def _table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
    body = []
    for row in table.rows:
        cells = []
        for column, value in enumerate(row):
            css = ' class="num"' if is_numeric_cell(value) else ""
            text = cell_text(value, table.column_decimals(column))
            cells.append(f"<td{css}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def image_data_uri(path: Path, max_px: int = MAX_IMAGE_PX) -> str:
    """A ``data:`` URI of an image file, downscaled to at most ``max_px`` wide, in the smaller
    of its PNG and JPEG (:data:`JPEG_QUALITY`) encodings: a map with a hillshade is smaller as
    JPEG, a line chart as PNG."""
    from PIL import Image  # a dependency of matplotlib

    with Image.open(path) as image:
        image = image.convert("RGB")
        if image.width > max_px:
            image = image.resize((max_px, round(image.height * max_px / image.width)), Image.LANCZOS)
        encodings = {"png": _encoded(image, "PNG", optimize=True),
                     "jpeg": _encoded(image, "JPEG", quality=JPEG_QUALITY, subsampling=0,
                                      optimize=True)}
    kind = min(encodings, key=lambda name: len(encodings[name]))
    return f"data:image/{kind};base64," + base64.b64encode(encodings[kind]).decode("ascii")


def _encoded(image, image_format: str, **options) -> bytes:
    """The bytes of a Pillow ``image`` saved as ``image_format`` with ``options``."""
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def _figure(figure: Figure, base: Path | None, embed: bool) -> str:
    source = figure.path
    if embed and base is not None and (base / figure.path).exists():
        source = image_data_uri(base / figure.path)
    return (f"<figure><img src=\"{html.escape(source)}\" alt=\"{html.escape(figure.caption)}\">"
            f"<figcaption>{html.escape(figure.caption)}</figcaption></figure>")


def render_html(report: Report, *, base: Path | None = None, embed_images: bool = True) -> str:
    """The report as one HTML page; images under ``base`` are embedded when ``embed_images``,
    and its Chinese characters' font always (:func:`~siting.export.webfont.with_embedded_font`)."""
    parts = ["<!DOCTYPE html>", f"<html lang=\"{HTML_LANG[report.language]}\"><head><meta charset=\"utf-8\">",
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
             f"<title>{html.escape(report.title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{html.escape(report.title)}</h1>"]
    parts += [f"<p>{_inline(p)}</p>" for p in report.intro]
    for section in report.sections:
        parts.append(f"<section><h2>{html.escape(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, Table):
                parts.append(_table(block))
            elif isinstance(block, Steps):
                parts.append("<ol>" + "".join(f"<li>{_inline(i)}</li>" for i in block.items) + "</ol>")
            elif isinstance(block, Figure):
                parts.append(_figure(block, base, embed_images))
            else:
                parts.append(f"<p>{_inline(block)}</p>")
        parts.append("</section>")
    before, linked, after = term(report.footer_key, report.language, map_link="\0").partition("\0")
    link = '<a href="map.html">map.html</a>' if linked else ""
    parts += [f"<footer>{html.escape(before)}{link}{html.escape(after)}</footer>", "</body></html>"]
    return with_embedded_font("\n".join(parts) + "\n")


def report_figures(folder: Path, language: str = "en") -> tuple[Figure, ...]:
    """The figures found next to the report: the static map and a sweep's cost-coverage curve."""
    check_language(language)
    figures = []
    if (folder / "map.png").exists():
        figures.append(Figure("map.png", term("figure.map", language)))
    if (folder / "cost_coverage.png").exists():
        figures.append(Figure("cost_coverage.png", term("figure.cost_coverage", language)))
    return tuple(figures)


def write_html_report(path: Path, tables: PlanTables, *, embed_images: bool = True) -> None:
    """Write ``report.html`` of a run's tables (:func:`~siting.export.tables.plan_tables`);
    embeds map.png (and cost_coverage.png) found beside it."""
    path = Path(path)
    figures = report_figures(path.parent, tables.language)
    report = build_report(tables, figures=figures)
    path.write_text(render_html(report, base=path.parent, embed_images=embed_images), encoding="utf-8")

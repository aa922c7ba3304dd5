"""The Chinese of the HTML pages (map.html, report.html, evaluation.html, comparison.html) drawn
with a font the page carries.

A committee laptop may have no Chinese font and no network; a browser then draws every Chinese
character (the legend, the layer names, a village's name) as an empty box. Each page therefore
embeds the Noto Sans SC that map.png uses (:func:`siting.export.staticmap.packaged_cjk_font`),
cut down to the CJK characters the page holds by fontTools' subsetter (a dependency of
matplotlib) and inlined as a WOFF ``data:`` URL (W3C, "WOFF File Format 1.0"), under the family
:data:`FAMILY`, whose ``unicode-range`` is the CJK blocks (:data:`CJK_RANGES`). The pages name
that family first in their font stacks (:data:`PAGE_FONTS`): a browser draws each character
with the first family whose range and glyphs hold it (CSS Fonts Level 3, section 5, "font
matching"), so Chinese is drawn with the embedded font and Latin text with the usual
sans-serif. First, not last: Chromium waits for a web font before drawing the text of a stack
it heads, while one further down the stack, loaded after the text was first drawn, was not
used for it (bold Chinese stayed empty boxes).
"""

from __future__ import annotations

import base64
import functools
import html
import io
import json
import re

#: The font family of the embedded Chinese font.
FAMILY = "siting CJK"
#: The font stack of the pages' own elements (Leaflet's, the legend's, the title's).
PAGE_FONTS = f'"{FAMILY}", "Helvetica Neue", Arial, Helvetica, sans-serif'
#: The code points embedded (first, last): CJK radicals and punctuation, kana, the unified
#: ideographs, compatibility ideographs, vertical and full-width forms, the extensions.
CJK_RANGES = ((0x2E80, 0x9FFF), (0xF900, 0xFAFF), (0xFE10, 0xFE4F), (0xFF00, 0xFFEF),
              (0x20000, 0x3134F))
CJK_CHARACTER = re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in CJK_RANGES) + "]")
#: The ``unicode-range`` of :data:`FAMILY`: the same blocks.
UNICODE_RANGE = ", ".join(f"U+{a:X}-{b:X}" for a, b in CJK_RANGES)


#: A run of JavaScript/JSON ``\\uXXXX`` escapes (folium writes layer names so).
JS_ESCAPES = re.compile(r"(?:\\u[0-9a-fA-F]{4})+")
#: An HTML numeric character reference, decimal or hexadecimal.
HTML_REFERENCE = re.compile(r"&#(?:[0-9]+|[xX][0-9a-fA-F]+);")


def cjk_characters(page: str) -> str:
    """The distinct CJK characters ``page`` shows, sorted: written as they are, as JavaScript
    escapes (``\\u5b89``, surrogate pairs too) or as HTML character references (``&#23433;``)."""
    decoded = [json.loads(f'"{run}"') for run in JS_ESCAPES.findall(page)]
    decoded += [html.unescape(reference) for reference in HTML_REFERENCE.findall(page)]
    return "".join(sorted(set(CJK_CHARACTER.findall(page + "".join(decoded)))))


def font_face_css(characters: str) -> str:
    """The CSS ``@font-face`` rule of :data:`FAMILY`: the packaged Noto Sans SC subset to
    ``characters``, as WOFF in a ``data:`` URL; "" when there are none, or no font to embed."""
    woff = _subset_woff(characters) if characters else None
    if woff is None:
        return ""
    url = "data:font/woff;base64," + base64.b64encode(woff).decode("ascii")
    return (f'@font-face {{ font-family: "{FAMILY}"; src: url({url}) format("woff"); '
            f"unicode-range: {UNICODE_RANGE}; }}")


@functools.lru_cache(maxsize=8)
def _subset_woff(characters: str) -> bytes | None:
    """The packaged CJK font cut down to ``characters``, as WOFF bytes (None without it)."""
    from fontTools import subset  # a dependency of matplotlib
    from fontTools.ttLib import TTFont

    from siting.export.staticmap import packaged_cjk_font

    path = packaged_cjk_font()
    if path is None:
        return None
    options = subset.Options()
    options.flavor = "woff"
    buffer = io.BytesIO()
    with TTFont(path, lazy=True) as font:  # read as needed, so open until saved
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=characters)
        subsetter.subset(font)
        font.save(buffer)
    return buffer.getvalue()


def with_embedded_font(page: str) -> str:
    """``page`` (a whole HTML document) with :func:`font_face_css` of its CJK characters in a
    ``<style>`` at the end of its ``<head>``, and Leaflet's container given :data:`PAGE_FONTS`;
    the page as it was when it has no CJK character."""
    rule = font_face_css(cjk_characters(page))
    if not rule:
        return page
    style = f"<style>{rule}\n.leaflet-container {{ font-family: {PAGE_FONTS}; }}</style>"
    head_end = page.find("</head>")
    if head_end < 0:
        raise ValueError("the page has no </head> to put its font in")
    return page[:head_end] + style + page[head_end:]


def save_map(fmap, path) -> None:
    """Write the folium map ``fmap`` as one HTML page at ``path``, as ``fmap.save`` does, with
    :func:`with_embedded_font`."""
    with open(path, "w", encoding="utf-8") as page:
        page.write(with_embedded_font(fmap.get_root().render()))

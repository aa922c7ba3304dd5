"""The popups and tooltips of map.html's villages and sites, read from the page's data.

map.html draws its villages and sites with one script call per layer
(:class:`siting.export.webmap.PointLayer`): the popups' tables are built in the browser when
they open, so they are not in the page's text. These helpers read the layers' data as that
script does; ``test_qa_webmap2`` checks in chromium that the popups it opens are these.
"""

from __future__ import annotations

import html
import json
import re

from siting.export.webmap import popup_html

#: A call of the page's point-layer script (``sitingPoints(layer, {...data...})``), not its
#: definition (``function sitingPoints(layer, data)``).
CALL = re.compile(r"\bsitingPoints\((\w+), (?=\{)")


def point_layers(page: str) -> list[dict]:
    """The data of each point layer of ``page`` (map.html's text), in the page's order."""
    decoder = json.JSONDecoder()
    return [decoder.raw_decode(page, call.end())[0] for call in CALL.finditer(page)]


def popups(page: str) -> list[dict[str, str]]:
    """Each village's and site's popup: field name -> value as shown (unescaped), layer by
    layer, marker by marker."""
    shown = []
    for layer in point_layers(page):
        labels = [html.unescape(label) for label in layer["labels"]]
        for row in layer["rows"]:
            shown.append({label: html.unescape(value) for label, value in zip(labels, row[4:])
                          if value is not None})
    return shown


def tooltips(page: str) -> list[str]:
    """The tooltip of each marker that has one, as HTML (names escaped)."""
    return [row[3] for layer in point_layers(page) for row in layer["rows"] if row[3] is not None]


def with_popups(page: str) -> str:
    """``page`` followed by the table of each of its villages' and sites' popups
    (:func:`~siting.export.webmap.popup_html`) and each of their tooltips, one a line: the text
    a test searches for every popup of map.html (those of polygons and lines are in the page)."""
    return "\n".join([page, *map(popup_html, popups(page)), *tooltips(page)]) + "\n"

"""Attributes a KML file keeps only in its placemarks' description tables.

ArcGIS's "Layer To KML" (ArcMap and ArcGIS Pro, in use at most Chinese design institutes)
writes a feature's attributes nowhere but in its ``<description>``: an HTML page whose table
holds one row per field, the field's name in the first cell and its value in the second (the
feature's label above them in a one-cell row, the rows in a table nested in the outer one).
GDAL reads that page as one text column, ``description``. :func:`description_attributes`
turns it back into columns, so such a file reads like one whose attributes are in
``<ExtendedData>``.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd


class _FieldRows(HTMLParser):
    """The (name, value) pairs of an HTML page's two-cell table rows, nested tables included;
    each cell's text stripped, a row's text taken only from its own cells."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []  # the open rows, innermost last
        self.pairs: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self.rows[-1].append("")

    def handle_endtag(self, tag) -> None:
        if tag == "tr" and self.rows:
            cells = self.rows.pop()
            if len(cells) == 2 and cells[0].strip():
                self.pairs.append((cells[0].strip(), cells[1].strip()))

    def handle_data(self, data) -> None:
        if self.rows and self.rows[-1]:
            self.rows[-1][-1] += data


def field_pairs(html: str) -> list[tuple[str, str]]:
    """The (field name, value) rows of one description page, in order."""
    parser = _FieldRows()
    parser.feed(html)
    parser.close()
    return parser.pairs


def description_attributes(descriptions: pd.Series) -> pd.DataFrame:
    """One column per field the description pages name (:func:`field_pairs`), indexed as
    ``descriptions``; empty (no column) when none is a page with such a table. A value of
    ArcGIS's ``<Null>`` is an empty cell."""
    records = [dict(field_pairs(text)) if isinstance(text, str) and "<t" in text.lower() else {}
               for text in descriptions]
    frame = pd.DataFrame.from_records(records, index=descriptions.index)
    return frame.replace({"<Null>": None})

"""The sheets an XLSX workbook hides, the rows a sheet hides (hidden by hand, or by a
filter), which pandas reads like the others, the columns it hides, the cells it merges, whose
value pandas reads in the first cell only, and the cells holding an error value (#N/A), which
pandas reads as empty: openpyxl's read-only reader, which pandas uses, reports none of them,
so they are found in the workbook's and the sheet's XML parts (ECMA-376 Part 1, 18.2.19
``sheet``: ``state``; 18.3.1.73 ``row``: ``hidden``; 18.3.1.13 ``col``: ``min``, ``max``,
``hidden``; 18.3.1.55 ``mergeCell``: ``ref``; 18.3.1.4 ``c``: ``t="e"``), a sheet located
through the workbook's relationships (18.2.19 ``sheet``, ``r:id``)."""

from __future__ import annotations

import datetime
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from openpyxl.utils import column_index_from_string
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATIONSHIP_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_PACKAGE_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
#: A row element that is hidden, and its row number (1-based, as Excel shows it).
_HIDDEN_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*?\bhidden="(?:1|true)"[^>]*>')
_ROW_NUMBER = re.compile(rb'\br="(\d+)"')


def _sheet_part(book: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding the sheet named ``sheet``, or None."""
    workbook = ET.fromstring(book.read("xl/workbook.xml"))
    ids = [s.get(_RELATIONSHIP_ID) for s in workbook.iter(f"{_MAIN}sheet") if s.get("name") == sheet]
    if not ids:
        return None
    relations = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    for relation in relations.iter(_PACKAGE_RELATIONSHIP):
        if relation.get("Id") == ids[0]:
            target = relation.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join("xl", target))
    return None


#: How a Strict Open XML package's relationship types begin (ECMA-376 Part 1, 9.2; Excel's
#: "Strict Open XML Spreadsheet"), where a transitional one's begin
#: http://schemas.openxmlformats.org/.
_STRICT_RELATIONSHIPS = "http://purl.oclc.org/ooxml/"


def is_strict_open_xml(path: Path) -> bool:
    """Whether the workbook ``path`` is a Strict Open XML package: its main part's relationship
    (``_rels/.rels``, type officeDocument) of the strict namespace, which openpyxl reads as a
    workbook without sheets; False when its parts cannot be read."""
    try:
        with zipfile.ZipFile(path) as book:
            relations = ET.fromstring(book.read("_rels/.rels"))
    except (KeyError, OSError, zipfile.BadZipFile, ET.ParseError):
        return False
    return any(relation.get("Type", "").startswith(_STRICT_RELATIONSHIPS)
               for relation in relations.iter(_PACKAGE_RELATIONSHIP))


def hidden_sheets(path: Path) -> set[str]:
    """The names of the sheets the workbook ``path`` hides (18.2.19 ``sheet``: ``state``
    hidden, or veryHidden: shown by no menu); empty when its parts cannot be read."""
    try:
        with zipfile.ZipFile(path) as book:
            workbook = ET.fromstring(book.read("xl/workbook.xml"))
    except (KeyError, OSError, zipfile.BadZipFile, ET.ParseError):
        return set()
    return {s.get("name") for s in workbook.iter(f"{_MAIN}sheet")
            if s.get("state") in ("hidden", "veryHidden")}


def _sheet_xml(path: Path, sheet: str) -> bytes:
    """The XML of the sheet ``sheet`` of the workbook ``path``; empty when its part cannot be
    found (the sheet is then read as pandas reads it)."""
    try:
        with zipfile.ZipFile(path) as book:
            part = _sheet_part(book, sheet)
            return book.read(part) if part is not None else b""
    except (KeyError, OSError, zipfile.BadZipFile, ET.ParseError):
        return b""


def hidden_rows(path: Path, sheet: str) -> list[int]:
    """Row numbers (as Excel shows them) that the sheet ``sheet`` of the workbook ``path``
    hides; empty when it hides none or its parts cannot be found."""
    xml = _sheet_xml(path, sheet)
    rows = []
    for match in _HIDDEN_ROW.finditer(xml):
        number = _ROW_NUMBER.search(match.group(0))
        if number is not None:
            rows.append(int(number.group(1)))
    return rows


#: A column element (a run of columns sharing a width) that is hidden.
_HIDDEN_COLUMNS = re.compile(rb'<(?:\w+:)?col\b[^>]*?\bhidden="(?:1|true)"[^>]*>')
_COLUMN_SPAN = (re.compile(rb'\bmin="(\d+)"'), re.compile(rb'\bmax="(\d+)"'))


def hidden_columns(path: Path, sheet: str) -> list[int]:
    """Column numbers (A is 1) that the sheet ``sheet`` of the workbook ``path`` hides; empty
    when it hides none or its parts cannot be found."""
    columns = []
    for match in _HIDDEN_COLUMNS.finditer(_sheet_xml(path, sheet)):
        first, last = (pattern.search(match[0]) for pattern in _COLUMN_SPAN)
        if first is not None:
            columns.extend(range(int(first[1]), int((last or first)[1]) + 1))
    return columns


#: A merged range's reference (``D2:D5``): its first and last cells' columns and rows.
_MERGED_RANGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


def merged_ranges(path: Path, sheet: str) -> list[tuple[int, int, int, int]]:
    """The cell ranges the sheet ``sheet`` of the workbook ``path`` merges, as (first row,
    first column, last row, last column), numbered from 1 as Excel shows them; empty when it
    merges none or its parts cannot be found."""
    return [(int(first_row), column_index_from_string(first_col.decode()), int(last_row),
             column_index_from_string(last_col.decode()))
            for first_col, first_row, last_col, last_row
            in _MERGED_RANGE.findall(_sheet_xml(path, sheet))]


#: A cell holding an error value (18.18.11 ST_CellType ``e``), its reference and its value.
_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*\bt="e"[^>]*>.*?</(?:\w+:)?c>', re.DOTALL)
_CELL_REFERENCE = re.compile(rb'\br="([A-Z]+)(\d+)"')
_CELL_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</")


def error_cells(path: Path, sheet: str) -> dict[tuple[int, int], str]:
    """The cells of the sheet ``sheet`` of the workbook ``path`` that hold an error value
    (#N/A, #REF!: a formula that failed), as (row, column) numbered from 1 -> the value."""
    xml = _sheet_xml(path, sheet)
    if b't="e"' not in xml:
        return {}
    cells = {}
    for cell in _ERROR_CELL.finditer(xml):
        reference, value = _CELL_REFERENCE.search(cell[0]), _CELL_VALUE.search(cell[0])
        if reference is not None and value is not None:
            cells[int(reference[2]), column_index_from_string(reference[1].decode())] = \
                value[1].decode("utf-8")
    return cells


#: A formula cell (18.3.1.40 ``f``) without a value (18.3.1.96 ``v`` absent or empty), its
#: attributes and its formula: what a program that writes formulas without computing them
#: (openpyxl, a web system's export) leaves, and Excel computes when it opens the file.
_FORMULA_WITHOUT_VALUE = re.compile(
    rb'<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?f\b[^>]*(?:/>|>([^<]*)</(?:\w+:)?f>)\s*'
    rb'(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>')
#: The cell types whose value may be empty text (a formula giving "").
_TEXT_TYPES = (b"str", b"inlineStr", b"s")


def uncomputed_formulas(path: Path, sheet: str) -> dict[tuple[int, int], str]:
    """The cells of the sheet ``sheet`` of the workbook ``path`` holding a formula whose value
    was never computed (:data:`_FORMULA_WITHOUT_VALUE`; not one of text, whose value may be
    empty), which pandas reads as empty, as (row, column) numbered from 1 -> the formula
    (empty for a cell sharing another's)."""
    xml = _sheet_xml(path, sheet)
    cells = {}
    for cell in _FORMULA_WITHOUT_VALUE.finditer(xml):
        kind, reference = _CELL_TYPE.search(cell[1]), _CELL_REFERENCE.search(cell[1])
        if reference is not None and (kind is None or kind[1] not in _TEXT_TYPES):
            cells[int(reference[2]), column_index_from_string(reference[1].decode())] = \
                (cell[2] or b"").decode("utf-8")
    return cells


#: The built-in number formats (ECMA-376 Part 1, 18.8.30 ``numFmt``) that are dates in Chinese
#: Excel (zh-cn: 27 yyyy"年"m"月", 28 m"月"d"日", 30 m-d-yy, 31 yyyy"年"m"月"d"日", 57
#: yyyy"年"m"月", 58 m"月"d"日", ...; Japanese and Korean Excel's are dates too), which it
#: writes without defining them and openpyxl does not know: it reads such a date as its
#: serial number (46527 for 2027年5月20日). The ids between (32-35, 55, 56) are times.
EAST_ASIAN_DATE_FORMATS = frozenset({27, 28, 29, 30, 31, 36, 50, 51, 52, 53, 54, 57, 58})
#: A numeric cell (no ``t``, or ``t="n"``) with a style, its attributes and its value.
_STYLED_CELL = re.compile(rb'<(?:\w+:)?c\b([^>]*\bs="(\d+)"[^>]*)>\s*(?:<(?:\w+:)?f\b[^>]*'
                          rb'(?:/>|>.*?</(?:\w+:)?f>)\s*)?<(?:\w+:)?v>([^<]*)</', re.DOTALL)
_CELL_TYPE = re.compile(rb'\bt="(\w+)"')


def _date_styles(book: zipfile.ZipFile) -> set[int]:
    """The cell styles (indexes of ``cellXfs``) whose number format is one of
    :data:`EAST_ASIAN_DATE_FORMATS` that the workbook does not define itself."""
    styles = ET.fromstring(book.read("xl/styles.xml"))
    defined = {int(f.get("numFmtId", -1)) for f in styles.iter(f"{_MAIN}numFmt")}
    formats = styles.find(f"{_MAIN}cellXfs")
    return {index for index, xf in enumerate(formats if formats is not None else [])
            if int(xf.get("numFmtId", 0)) in EAST_ASIAN_DATE_FORMATS - defined}


def _epoch(book: zipfile.ZipFile):
    """The workbook's date system: 1904 when it says so (18.2.28 ``workbookPr``), else 1900."""
    properties = ET.fromstring(book.read("xl/workbook.xml")).find(f"{_MAIN}workbookPr")
    in_1904 = properties is not None and properties.get("date1904") in ("1", "true")
    return CALENDAR_MAC_1904 if in_1904 else CALENDAR_WINDOWS_1900


def east_asian_dates(path: Path, sheet: str) -> dict[tuple[int, int], datetime.datetime]:
    """The cells of the sheet ``sheet`` of the workbook ``path`` that hold a date in a format of
    :data:`EAST_ASIAN_DATE_FORMATS`, as (row, column) numbered from 1 -> the date."""
    try:
        with zipfile.ZipFile(path) as book:
            styles, epoch = _date_styles(book), _epoch(book)
    except (KeyError, OSError, ValueError, zipfile.BadZipFile, ET.ParseError):
        return {}
    if not styles:
        return {}
    dates = {}
    for cell in _STYLED_CELL.finditer(_sheet_xml(path, sheet)):
        kind, reference = _CELL_TYPE.search(cell[1]), _CELL_REFERENCE.search(cell[1])
        numeric = kind is None or kind[1] == b"n"
        if numeric and int(cell[2]) in styles and reference is not None:
            try:
                date = from_excel(float(cell[3]), epoch=epoch)
            except (ValueError, OverflowError):  # no day's number: read as pandas reads it
                continue
            dates[int(reference[2]), column_index_from_string(reference[1].decode())] = date
    return dates

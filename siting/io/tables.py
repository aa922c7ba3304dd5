"""Point layers kept as tables: CSV and XLSX sheets with coordinate columns.

Planners keep village lists and tower-company site lists in spreadsheets, often exported from
Chinese Excel: headers in Chinese, CSV in UTF-8 (with or without a byte-order mark) or GB18030.
The text is decoded here and parsed by pandas (XLSX through openpyxl); cells are read as text
and converted by the layer's field rules, so ids such as ``007`` keep their leading zeros.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting.errors import InputError
from siting.io.problems import first_line

TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls")
#: Encodings tried in turn; UTF-8 (a BOM is skipped) first, then China's national standard.
TEXT_ENCODINGS = ("utf-8-sig", "gb18030")
#: The top rows of a sheet searched for its header: a title (often merged across the columns),
#: the unit that made the list or a date may stand above it.
HEADER_SEARCH_ROWS = 20
#: Coordinate column names recognised when a source names none, as (x, y) pairs.
COORDINATE_COLUMNS = (("lon", "lat"), ("lng", "lat"), ("longitude", "latitude"), ("x", "y"),
                      ("经度", "纬度"), ("东经", "北纬"), ("easting", "northing"))


def is_table(path: Path) -> bool:
    return path.suffix.lower() in TABLE_SUFFIXES


def decode_text(path: Path) -> str:
    """The text of a CSV file in the first of :data:`TEXT_ENCODINGS` that decodes it whole."""
    data = path.read_bytes()
    for encoding in TEXT_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            failure = exc
    raise InputError(f"{path}: the text is neither UTF-8 nor GB18030 (undecodable byte at offset "
                     f"{failure.start}); save the sheet as 'CSV UTF-8'")


def _read_csv(path: Path, is_header) -> tuple[pd.DataFrame, int, list[list]]:
    """The CSV table from its header row on (:func:`header_row`), that row's position, and the
    top rows."""
    text = decode_text(path)
    try:
        dialect = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    records = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
    top, lines_before = [], [0]  # lines_before[i]: the text lines before record i
    for record in records:
        top.append(record)
        lines_before.append(records.line_num)
        if len(top) == HEADER_SEARCH_ROWS:
            break
    header = header_row(top, is_header) or 0
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                            skipinitialspace=True, skiprows=lines_before[header])
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: not a readable CSV table ({first_line(exc)})") from None
    return frame, header, top


def _read_sheet(path: Path, sheet: str | None, is_header) -> tuple[pd.DataFrame, int, list[list]]:
    """The sheet from its header row on (:func:`header_row`), that row's position, and the top
    rows."""
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:  # openpyxl raises zipfile and XML errors for damaged files
        raise InputError(f"{path}: cannot read the workbook ({first_line(exc)}); is it a valid "
                         f".xlsx file?") from None
    with book:
        names = [str(name) for name in book.sheet_names]
        if sheet is not None and sheet not in names:
            raise InputError(f"{path}: sheet '{sheet}' not found (sheets: {', '.join(names)}); "
                             f"set sheet: in the scenario")
        name = sheet if sheet is not None else names[0]
        top = _sheet_top(book, name)
        header = header_row(top, is_header)
        if header is None and sheet is None:
            others = [n for n in names[1:]
                      if header_row(_sheet_top(book, n), is_header) is not None]
            if others:
                raise InputError(f"{path}: its first sheet '{name}' has no coordinate columns; "
                                 f"sheet(s) {', '.join(others)} have them: set sheet: {others[0]} "
                                 f"in the scenario")
        header = header or 0
        return pd.read_excel(book, sheet_name=name, header=header, dtype=object), header, top


def _sheet_top(book: pd.ExcelFile, name: str) -> list[list]:
    """The top rows of the sheet ``name``, as lists of cells."""
    top = pd.read_excel(book, sheet_name=name, header=None, nrows=HEADER_SEARCH_ROWS, dtype=object)
    return top.to_numpy().tolist()


def header_key(name) -> str:
    """A column name as it is matched against the names a field accepts: NFKC-folded (a
    Chinese input method's full-width ``实际投资（元）`` reads as ``实际投资(元)``), lower case,
    without spaces."""
    return "".join(unicodedata.normalize("NFKC", str(name)).lower().split())


def blank_cells(column: pd.Series) -> pd.Series:
    """True where a cell is empty: missing, or only whitespace."""
    return column.isna() | (column.astype(str).str.strip() == "")


def header_row(top: list[list], is_header) -> int | None:
    """The position among a sheet's ``top`` rows (lists of cells) of the first whose stripped
    cells ``is_header`` accepts (a set of texts); None when none is; the first row without
    ``is_header``."""
    if is_header is None:
        return 0
    for position, cells in enumerate(top):
        if is_header({str(c).strip() for c in cells if not pd.isna(c)}):
            return position
    return None


def _is_blank(cell) -> bool:
    return cell is None or pd.isna(cell) or not str(cell).strip()


def _header_names(columns, top: list[list], header: int) -> list[str]:
    """The column names, stripped; a blank header cell takes the name above it: a two-row
    header names most columns in cells merged down over both rows (their text in the upper
    one), beside a group such as 坐标 merged across 经度 and 纬度 below it."""
    above = top[header - 1] if 0 < header < len(top) else []
    cells = top[header] if header < len(top) else []
    return [str(above[i]).strip() if (i >= len(cells) or _is_blank(cells[i])) and i < len(above)
            and not _is_blank(above[i]) else str(column).strip()
            for i, column in enumerate(columns)]


def read_table(path: Path, sheet: str | None, *, allow_empty: bool = False,
               is_header=None) -> pd.DataFrame:
    """The rows of a CSV file or XLSX sheet, column names stripped, blank rows dropped, indexed
    by their row numbers as a spreadsheet shows them; a table without rows is an error unless
    ``allow_empty`` (the caller then says what to do). The header is the first row
    ``is_header`` accepts (see :func:`header_row`), so titles above it are skipped."""
    if path.suffix.lower() == ".xls":
        raise InputError(f"{path}: an Excel 97-2003 workbook (.xls) cannot be read; save it as "
                         f"an Excel workbook (.xlsx: 另存为 > Excel 工作簿) and name that file")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        frame, header, top = _read_sheet(path, sheet, is_header)
    else:
        frame, header, top = _read_csv(path, is_header)
    frame.columns = _header_names(frame.columns, top, header)
    frame.index = pd.RangeIndex(header + 2, header + 2 + len(frame))  # the header's row + 1
    blank = frame.apply(blank_cells).all(axis=1)
    frame = frame[~blank.to_numpy(bool)]
    if frame.empty and not allow_empty:
        raise InputError(f"{path}: the table has no rows")
    return frame


def has_coordinates(x: str | None, y: str | None):
    """Whether a row of texts is a header naming the coordinate columns: ``x`` and ``y`` when
    given, else one of the pairs of :data:`COORDINATE_COLUMNS` (any case)."""
    if x is not None or y is not None:
        return lambda texts: {x, y} <= texts
    return lambda texts: any({a, b} <= {t.lower() for t in texts} for a, b in COORDINATE_COLUMNS)


#: A number written with thousands separators ("1,980", "12,345.5"): commas between groups
#: of three digits only, so a decimal comma ("32,5") is not read as thousands.
THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
#: An angle in degrees, minutes and seconds ("108°58'12.5\"", "32度41分", "E108°58′12.5″",
#: "108:58:12.5"), after NFKC normalisation; minutes and seconds are optional and may be
#: decimal. Groups: hemisphere before, degrees, minutes, seconds, hemisphere after.
DMS = re.compile(r"([NSEW]?)\s*(\d+(?:\.\d+)?)\s*(?:°|度|:)\s*(?:(\d+(?:\.\d+)?)\s*(?:'|′|’|分|:)\s*)?"
                 r"(?:(\d+(?:\.\d+)?)\s*(?:\"|″|′′|''|”|秒)?\s*)?([NSEW]?)", re.IGNORECASE)
#: Chinese hemisphere words, as the letters :data:`DMS` reads.
HEMISPHERES = {"东经": "E", "西经": "W", "北纬": "N", "南纬": "S"}


def _plain_number_text(cell) -> str:
    """A cell's text as Python reads numbers: full-width digits and signs made ASCII (NFKC),
    spaces stripped, thousands separators dropped."""
    text = unicodedata.normalize("NFKC", str(cell)).strip()
    return text.replace(",", "") if THOUSANDS.fullmatch(text) else text


def numbers_of(column: pd.Series) -> pd.Series:
    """The cells as floats (NaN where a cell is blank or not a number); text cells may be
    written as Chinese Excel shows them: "１２３", "1,980", "1，980", " 480 "."""
    text = column.map(lambda c: c if pd.isna(c) or not isinstance(c, str) else _plain_number_text(c))
    return pd.to_numeric(text, errors="coerce").astype(float)


def _degrees_of(cell) -> float:
    """An angle written in degrees, minutes and seconds (:data:`DMS`) in decimal degrees,
    negative in the south and west; NaN when the cell is not such an angle."""
    if not isinstance(cell, str):
        return np.nan
    text = unicodedata.normalize("NFKC", cell).strip()
    for word, letter in HEMISPHERES.items():
        text = text.replace(word, letter)
    match = DMS.fullmatch(text)
    if match is None or (match[1] and match[5]):
        return np.nan
    degrees, minutes, seconds = (float(g) if g else 0.0 for g in match.group(2, 3, 4))
    if minutes >= 60 or seconds >= 60:
        return np.nan
    sign = -1.0 if (match[1] or match[5]).upper() in ("S", "W") else 1.0
    return sign * (degrees + minutes / 60 + seconds / 3600)


def coordinates_of(column: pd.Series) -> np.ndarray:
    """A coordinate column as floats: numbers (:func:`numbers_of`), or angles in degrees,
    minutes and seconds (:data:`DMS`); NaN where a cell is neither."""
    values = numbers_of(column).to_numpy(float, copy=True)
    missing = np.isnan(values)
    values[missing] = [_degrees_of(cell) for cell in column[missing]]
    return values


def coordinate_columns(frame: pd.DataFrame, x: str | None, y: str | None, where: str) -> tuple[str, str]:
    """The names of the x (longitude) and y (latitude) columns: the given ones, or detected."""
    if x is None and y is None:
        lower = {c.lower(): c for c in frame.columns}
        for x_name, y_name in COORDINATE_COLUMNS:
            if x_name in lower and y_name in lower:
                return lower[x_name], lower[y_name]
        raise InputError(f"{where}: no coordinate columns found (columns: "
                         f"{', '.join(frame.columns)}); name them with x: and y: in the scenario "
                         f"(e.g. x: 经度, y: 纬度)")
    missing = [c for c in (x, y) if c is None or c not in frame.columns]
    if missing:
        raise InputError(f"{where}: coordinate column(s) {', '.join(map(str, missing))} not found "
                         f"(columns: {', '.join(frame.columns)}); give both x: and y:")
    return x, y


def table_points(frame: pd.DataFrame, x: str, y: str, crs, where: str) -> gpd.GeoDataFrame:
    """Point features from the coordinate columns (decimal numbers, or degrees, minutes and
    seconds: :func:`coordinates_of`); the rows (``frame``'s index, see
    :func:`read_table`) are named when a coordinate is not a number."""
    xs, ys = coordinates_of(frame[x]), coordinates_of(frame[y])
    bad = ~(np.isfinite(xs) & np.isfinite(ys))
    if bad.any():
        rows = [str(row) for row in frame.index[bad][:5]]
        first = frame.loc[frame.index[bad][0], [x, y]].tolist()
        raise InputError(f"{where}: row(s) {', '.join(rows)}{' and more' if bad.sum() > 5 else ''} "
                         f"have no coordinates in columns '{x}'/'{y}' (row {rows[0]}: "
                         f"{first[0]!r}, {first[1]!r}); write them as numbers (108.9701) or "
                         f"degrees, minutes and seconds (108°58'12.5\")")
    rest = frame.drop(columns=[x, y]).reset_index(drop=True)
    return gpd.GeoDataFrame(rest, geometry=gpd.points_from_xy(xs, ys), crs=crs)

"""Point layers kept as tables: CSV and XLSX sheets with coordinate columns.

Planners keep village lists and tower-company site lists in spreadsheets, often exported from
Chinese Excel: headers in Chinese, CSV in UTF-8 (with or without a byte-order mark) or GB18030.
The text is decoded here and parsed by pandas (XLSX through openpyxl); cells are read as text
and converted by the layer's field rules, so ids such as ``007`` keep their leading zeros.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from openpyxl.utils import get_column_letter

from siting.errors import InputError
from siting.io.problems import Problems, first_line
from siting.io.xlsx_rows import (east_asian_dates, error_cells, hidden_columns, hidden_rows,
                                 hidden_sheets, is_strict_open_xml, merged_ranges,
                                 uncomputed_formulas)

logger = logging.getLogger(__name__)

TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".et", ".ods", ".xlsb")
#: Spreadsheets in formats no reader here reads (WPS 表格's own binary format; LibreOffice's
#: OpenDocument; Excel's binary workbook), by suffix: refused, saying how to save them as
#: .xlsx; values: what the file is, the program to save it with.
OTHER_SPREADSHEETS = {".et": ("a WPS 表格 (.et) spreadsheet", "WPS"),
                      ".ods": ("an OpenDocument (.ods) spreadsheet", "LibreOffice or WPS"),
                      ".xlsb": ("an Excel binary (.xlsb) workbook", "Excel")}
#: Encodings tried in turn; UTF-8 (a BOM is skipped) first, then China's national standard.
TEXT_ENCODINGS = ("utf-8-sig", "gb18030")
#: How pandas names a column whose header cell is blank.
UNNAMED_COLUMN = r"Unnamed: \d+"
#: The first bytes of an OLE2 compound file: an Excel 97-2003 workbook, or an .xlsx workbook
#: Excel encrypted with a password (MS-OFFCRYPTO), whatever the file's name says.
OLE2_SIGNATURE = bytes.fromhex("d0cf11e0a1b11ae1")
#: The top rows of a sheet searched for its header: a title (often merged across the columns),
#: the unit that made the list or a date may stand above it.
HEADER_SEARCH_ROWS = 20
#: Coordinate column names recognised when a source names none, as (x, y) pairs; 经纬度 names
#: one column of "longitude,latitude" cells, as Amap's and Baidu's coordinate pickers copy them.
COORDINATE_COLUMNS = (("lon", "lat"), ("lng", "lat"), ("longitude", "latitude"), ("x", "y"),
                      ("经度", "纬度"), ("东经", "北纬"), ("easting", "northing"),
                      ("经纬度", "经纬度"))


def is_table(path: Path) -> bool:
    return path.suffix.lower() in TABLE_SUFFIXES


def decode_text(path: Path, advice: str = "save the sheet as 'CSV UTF-8'") -> str:
    """The text of a file, its lines ended by "\\n" whether they end in CR LF (Windows) or CR
    alone (Excel for Mac's "CSV (Macintosh)"): UTF-16 when it opens with a UTF-16 byte-order
    mark (Excel's "Unicode text" export, tab-separated), else the first of
    :data:`TEXT_ENCODINGS` that decodes it whole after a UTF-8 byte-order mark (which an
    editor saving a UTF-8 file as GBK may keep); else an InputError ending in ``advice``."""
    data = path.read_bytes()
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    encodings = ("utf-16",) if utf16 else TEXT_ENCODINGS
    body = data if utf16 else data.removeprefix(codecs.BOM_UTF8)
    for encoding in encodings:
        try:
            return body.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError as exc:
            failure = exc
    named = "not valid UTF-16" if utf16 else "neither UTF-8 nor GB18030"
    raise InputError(f"{path}: the text is {named} (undecodable byte at offset "
                     f"{failure.start + len(data) - len(body)}); {advice}")


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
    try:
        for record in records:
            top.append(record)
            lines_before.append(records.line_num)
            if len(top) == HEADER_SEARCH_ROWS:
                break
    except csv.Error:  # a cell beyond csv's size limit: the rows before it are searched
        pass
    header = header_row(top, is_header) or 0
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                            skipinitialspace=True, skiprows=lines_before[header])
    except pd.errors.EmptyDataError:  # an empty file: no header, no rows
        return pd.DataFrame(), header, top
    except pd.errors.ParserError as exc:
        raise InputError(_csv_problem(path, first_line(exc), delimiter)) from None
    return frame, header, top


#: pandas' message for a row with more cells than the header.
TOO_MANY_CELLS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _csv_problem(path: Path, reason: str, delimiter: str) -> str:
    """What a CSV file pandas cannot parse gets told: a row with more cells than the header
    (a name holding the delimiter, unquoted, as a hand-edited file has it) is named, with the
    fix; any other reason is given as pandas gives it."""
    found = TOO_MANY_CELLS.search(reason)
    if found is None:
        return f"{path}: not a readable CSV table ({reason})"
    header, line, cells = found.groups()
    mark = {",": "a comma", ";": "a semicolon", "\t": "a tab"}.get(delimiter, repr(delimiter))
    return (f"{path}: row {line} has {cells} cells where the header has {header}; put a cell "
            f"holding {mark} in double quotes, or write it without (a Chinese comma ， or 、)")


#: The first bytes of an .xlsx workbook: a zip archive's (ECMA-376 Part 2: a ZIP package).
ZIP_SIGNATURE = b"PK\x03\x04"
#: The bytes of a file named .xls looked at to tell what it holds.
XLS_SNIFF_BYTES = 4096


def _table_format(path: Path) -> str:
    """"workbook" or "text" (CSV, TSV) for a table, by what it holds whatever its name says: an
    .xlsx workbook (a zip package, ECMA-376 Part 2) is read as one when named .csv, .xls or
    .et too; an Excel 97-2003 workbook (an OLE2 compound file) is refused, saying how to save
    it as .xlsx, and so is a spreadsheet of :data:`OTHER_SPREADSHEETS`; one named .xls may
    hold what a web system's "导出Excel" writes: tab-separated text (read as text) or an HTML
    table (refused)."""
    suffix = path.suffix.lower()
    with open(path, "rb") as file:
        head = file.read(XLS_SNIFF_BYTES)
    zipped = head.startswith(ZIP_SIGNATURE)
    save_as = "save it as an Excel workbook (.xlsx: 另存为 > Excel 工作簿) and name that file"
    if suffix in OTHER_SPREADSHEETS and not (zipped and suffix == ".et"):
        kind, program = OTHER_SPREADSHEETS[suffix]
        raise InputError(f"{path}: {kind} cannot be read; open it in {program} and {save_as}")
    if suffix in (".xlsx", ".xlsm") or zipped:  # an OLE2 .xlsx: locked (told when read)
        return "workbook"
    if head.startswith(OLE2_SIGNATURE):
        raise InputError(f"{path}: an Excel 97-2003 workbook (.xls) cannot be read; {save_as}")
    if suffix != ".xls":
        return "text"
    text = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" not in head
    if not text:
        raise InputError(f"{path}: neither a workbook nor text inside; open it in Excel and "
                         f"{save_as}")
    if head.lstrip(codecs.BOM_UTF8 + b" \t\r\n").startswith(b"<"):
        raise InputError(f"{path}: a web page (HTML) named .xls, as web systems export tables; "
                         f"open it in Excel and {save_as}")
    return "text"


def _read_sheet(path: Path, sheet: str | None, is_header, sheet_key: str | None
                ) -> tuple[pd.DataFrame, int, list[list], list[int], list[int]]:
    """The sheet from its header row on (:func:`header_row`), that row's position, the top
    rows, the rows and the columns the sheet hides (:func:`~siting.io.xlsx_rows.hidden_rows`,
    :func:`~siting.io.xlsx_rows.hidden_columns`). Without ``sheet``, the first sheet the
    workbook shows (a hidden one, :func:`~siting.io.xlsx_rows.hidden_sheets`, is what the
    planner does not see: an old version, a lookup list): refused when it has no header but
    other shown sheets have (a scenario's table is told to set ``sheet:``, a file a command
    names, ``sheet_key`` None, to have that sheet first), warned
    (:func:`_warn_of_other_sheets`) when others have one too."""
    with open(path, "rb") as file:
        compound = file.read(len(OLE2_SIGNATURE)) == OLE2_SIGNATURE
    if compound:
        raise InputError(f"{path}: not an .xlsx workbook inside but an Excel 97-2003 one (or one "
                         f"locked by a password); open it in Excel and save it as an Excel "
                         f"workbook (.xlsx: 另存为 > Excel 工作簿) without a password")
    if is_strict_open_xml(path):
        raise InputError(f"{path}: a Strict Open XML workbook (Excel's \"Strict Open XML 电子表格\"), "
                         f"which cannot be read; open it in Excel and save it as an Excel "
                         f"workbook (.xlsx: 另存为 > Excel 工作簿)")
    try:  # openpyxl reads a file named other than .xlsx or .xlsm only as a file object
        book = pd.ExcelFile(path if path.suffix.lower() in (".xlsx", ".xlsm") else io.BytesIO(
            path.read_bytes()), engine="openpyxl")
    except Exception as exc:  # openpyxl raises zipfile and XML errors for damaged files
        raise InputError(f"{path}: cannot read the workbook ({first_line(exc)}); is it a valid "
                         f".xlsx file?") from None
    with book:
        names = [str(name) for name in book.sheet_names]
        shown = [n for n in names if n not in hidden_sheets(path)] or names
        name = _sheet_named(path, sheet, names) if sheet is not None else shown[0]
        top = _sheet_top(book, name)
        header = header_row(top, is_header)
        others = ([n for n in shown[1:] if header_row(_sheet_top(book, n), is_header) is not None]
                  if sheet is None and is_header is not None else [])
        if header is None and others:
            fix = (f"set sheet: {others[0]} in the scenario" if sheet_key is not None else
                   "move that sheet to the front of the workbook (drag its tab to the left) "
                   "and save it")
            raise InputError(f"{path}: its first sheet '{name}' has no header row with the "
                             f"columns read here; sheet(s) {', '.join(others)} have one: {fix}")
        if header is not None and others:
            _warn_of_other_sheets(path, name, others, sheet_key)
        header = header or 0
        _refuse_uncomputed_formulas(path, name, header + 1)
        frame = pd.read_excel(book, sheet_name=name, header=header, dtype=object,
                              keep_default_na=False)  # NA, null: text, as a CSV's are
        _restore_cells(frame, header + 2, {**error_cells(path, name),
                                           **east_asian_dates(path, name)})
        frame = _with_merged_cells_filled(frame, header + 2, merged_ranges(path, name), path)
        return frame, header, top, hidden_rows(path, name), hidden_columns(path, name)


def _refuse_uncomputed_formulas(path: Path, sheet: str, first_row: int) -> None:
    """InputError naming the cells of ``sheet`` from Excel's row ``first_row`` (the header's)
    on that hold a formula whose value was never computed
    (:func:`~siting.io.xlsx_rows.uncomputed_formulas`): pandas reads them as empty, where Excel
    shows their values."""
    formulas = {cell: f for cell, f in uncomputed_formulas(path, sheet).items()
                if cell[0] >= first_row}
    if not formulas:
        return
    named = [f"{get_column_letter(column)}{row}" for row, column in sorted(formulas)]
    first = formulas[min(formulas)]
    raise InputError(f"{path}: sheet '{sheet}': cell(s) {', '.join(named[:5])}"
                     f"{' and more' if len(named) > 5 else ''} hold formulas whose values were "
                     f"never computed{f' ({named[0]}: ={first})' if first else ''}, as a "
                     f"program writing the workbook leaves them; open it in Excel or WPS and "
                     f"save it, so that their values are stored")


def _restore_cells(frame: pd.DataFrame, first_row: int, cells: dict[tuple[int, int], object]
                   ) -> None:
    """Write into ``frame`` (a sheet's rows from Excel's row ``first_row`` on) the values its
    ``cells`` hold as Excel shows them where pandas reads them otherwise: error values
    (:func:`~siting.io.xlsx_rows.error_cells`), which pandas reads as empty, so that a #N/A
    is told as such (:func:`excel_errors`); dates in Chinese Excel's built-in formats
    (:func:`~siting.io.xlsx_rows.east_asian_dates`), which pandas reads as day numbers."""
    for (row, column), value in cells.items():
        if first_row <= row < first_row + len(frame) and column <= frame.shape[1]:
            frame.iat[row - first_row, column - 1] = value


#: The error values Excel shows in a cell whose formula failed (#N/A: a VLOOKUP that found
#: nothing; #REF!: a reference deleted).
EXCEL_ERRORS = frozenset({"#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!",
                          "#SPILL!", "#CALC!", "#GETTING_DATA"})


def excel_errors(column: pd.Series) -> pd.Series:
    """True where a cell holds an Excel error value (:data:`EXCEL_ERRORS`), as an XLSX sheet
    (see :func:`_restore_cells`) or a CSV saved from one writes it."""
    return column.map(lambda cell: isinstance(cell, str) and cell.strip().upper() in EXCEL_ERRORS)


def _with_merged_cells_filled(frame: pd.DataFrame, first_row: int,
                              merged: list[tuple[int, int, int, int]], path: Path) -> pd.DataFrame:
    """``frame`` (a sheet's rows from Excel's row ``first_row`` on) with the value of each cell
    merged down over several rows (a county's name beside its villages) in every row of its
    column it spans, as Excel shows it (pandas reads it in the first row only), said in the
    log; ``merged``: the sheet's merged ranges (:func:`~siting.io.xlsx_rows.merged_ranges`).
    A range across columns fills its first column only, a range of one row nothing."""
    down = [(top, column, bottom) for top, column, bottom, _ in merged
            if first_row <= top < first_row + len(frame) and bottom > top
            and column <= frame.shape[1]]
    for top, column, bottom in down:
        rows = slice(top - first_row, bottom - first_row + 1)
        frame.iloc[rows, column - 1] = frame.iat[top - first_row, column - 1]
    if down:
        logger.info("%s: %d cell(s) merged down over several rows (%s) are read in each row "
                    "they span", path, len(down), ", ".join(
                        f"{get_column_letter(column)}{top}:{get_column_letter(column)}{bottom}"
                        for top, column, bottom in down[:5]))
    return frame


def _sheet_named(path: Path, sheet: str, names: list[str]) -> str:
    """The sheet of ``names`` that ``sheet`` names, as :func:`column_named` finds a column (a
    tab named '村庄 ' shows no trailing space); InputError listing the sheets when none is."""
    if (name := column_named(sheet, names)) in names:
        return name
    raise InputError(f"{path}: sheet '{sheet}' not found (sheets: {', '.join(names)}); set "
                     f"sheet: in the scenario")


def _warn_of_other_sheets(path: Path, name: str, others: list[str], sheet_key: str | None):
    """Warn that only the first sheet ``name`` of a workbook is read while the sheets
    ``others`` have a header too (a sheet per county is common), saying how to read them:
    ``sheet_key`` is the setting that names a sheet (None where there is none)."""
    choose = (f"set {sheet_key}.sheet to read one of them instead, or " if sheet_key is not None
              else "")
    logger.warning("%s: read its first sheet '%s' only; sheet(s) %s also have a header row with "
                   "the columns read here, and are not read; %scopy their rows into one sheet "
                   "to read them all", path, name, ", ".join(others), choose)


def _sheet_top(book: pd.ExcelFile, name: str) -> list[list]:
    """The top rows of the sheet ``name``, as lists of cells."""
    top = pd.read_excel(book, sheet_name=name, header=None, nrows=HEADER_SEARCH_ROWS, dtype=object,
                        keep_default_na=False)
    return top.to_numpy().tolist()


def header_key(name) -> str:
    """A column name as it is matched against the names a field accepts: NFKC-folded (a
    Chinese input method's full-width ``实际投资（元）`` reads as ``实际投资(元)``), lower case,
    without spaces."""
    return "".join(unicodedata.normalize("NFKC", str(name)).lower().split())


def cell_text(cell) -> str:
    """A sheet's cell as stripped text; "" for an empty one (missing: None, NaN, pandas' NA;
    or only whitespace)."""
    if cell is None or (not isinstance(cell, str) and pd.isna(cell)):
        return ""
    return str(cell).strip()


#: A whole number written with a decimal point and zeros ("10231.0"), as a CSV saved by pandas
#: writes an integer column that had a blank cell.
WHOLE_NUMBER_TEXT = re.compile(r"(\d+)\.0+")


#: A text cell as exports for Excel write one to keep its leading zeros: ="010231".
EXCEL_TEXT_FORMULA = re.compile(r'="(.*)"')


def id_text(cell) -> str:
    """An id as every reader compares ids (a site's in the candidates, the as-built list and
    the drive tests; a layer's own; a technology's name): its text NFKC-folded (full-width
    ``Ｓ1098`` and ``１０２３``, as a Chinese input method types them, are ``S1098`` and ``1023``)
    and stripped; a whole number written as a float (a cell holding 10231.0, or the text
    ``10231.0``) is its integer text ``10231``; a text that an export for Excel wraps in a
    formula to keep its leading zeros (``="010231"``) is that text, ``010231``. Nothing else is
    folded: ``010231`` and ``10231``, ``s1098`` and ``S1098`` stay different ids. "" for an
    empty cell (:func:`cell_text`)."""
    if isinstance(cell, (float, np.floating)) and np.isfinite(cell) and float(cell).is_integer():
        return str(int(cell))
    text = _normalised(cell_text(cell))
    if (formula := EXCEL_TEXT_FORMULA.fullmatch(text)) is not None:
        text = formula[1].strip()
    whole = WHOLE_NUMBER_TEXT.fullmatch(text)
    return whole[1] if whole else text


#: A number as Excel shows one too long for its column, in scientific notation (6.10902E+11).
SCIENTIFIC = re.compile(r"[+-]?\d(?:\.\d+)?E[+-]?\d+", re.IGNORECASE)


def scientific_ids_hint(ids) -> str:
    """What to do when ids are long numbers (12-digit village codes) that Excel showed in
    scientific notation and so saved in a CSV, their last digits lost; else ""."""
    if not any(SCIENTIFIC.fullmatch(str(i)) for i in ids):
        return ""
    return ("; they are long numbers Excel showed in scientific notation (6.10902E+11) and saved "
            "so in the CSV, without their last digits: in the workbook format the column as "
            "text (设置单元格格式 > 文本) and save again, or give the .xlsx file")


def blank_cells(column: pd.Series) -> pd.Series:
    """True where a cell is empty, as :func:`cell_text` reads it (vectorised)."""
    return column.isna() | (column.astype(str).str.strip() == "")


#: What planners write in a cell that has no value (not applicable, none, unknown), compared as
#: :func:`header_key` folds it (case, spaces and full-width forms aside: Ｎ／Ａ is n/a).
NO_VALUE_WORDS = frozenset({"na", "n/a", "n.a.", "none", "null", "nil", "nan", "-", "--", "—",
                            "——", "/", "无", "空", "暂无", "不详", "未知"})


def no_value_cells(column: pd.Series) -> pd.Series:
    """True where a text cell says it has no value (:data:`NO_VALUE_WORDS`: NA, 无, -, —, 空)."""
    return column.map(lambda cell: isinstance(cell, str) and header_key(cell) in NO_VALUE_WORDS)


def column_named(name: str, columns) -> str:
    """The column of ``columns`` that a scenario's ``name`` names: itself when present, else
    the only one that reads the same but for case, spaces and full-width forms
    (:func:`header_key`: 人口(人) for a sheet's 人口（人）), else the only one that reads so
    without a unit after it (:func:`without_unit`: 站高 for a sheet's 站高(m)); else ``name``."""
    if name in columns:
        return name
    for key in (header_key, lambda column: without_unit(header_key(column))):
        alike = [c for c in columns if key(c) == header_key(name)]
        if len(alike) == 1:
            return alike[0]
    return name


#: The units Chinese sheets write after a column name: 站高(m), 站高（米）, 天线挂高/m, RSRP[dBm],
#: 实际投资(元), 年运维费（万元/年）, 人口(人), 人口(万人), 人口(户), 经度(°), 经度/°, 经度°. A
#: header is read as its field's name without one of these (after :func:`header_key`), the unit
#: then read (:func:`siting.io.layers.in_people`: 万人 converted, 户 refused;
#: :func:`siting.io.layers.in_yuan`: 万元 converted); one in another unit (投资(千元), 站高(cm))
#: is not.
HEADER_UNIT = re.compile(r"(?:[(\[【](?:m|米|°|度|dbm|万?元(?:/年)?|万?人|户|年)[)\]】]"
                         r"|/(?:m|米|°|度|dbm|万?元(?:/年)?|万?人|户|年)|°)$")


def without_unit(key: str) -> str:
    """A column's key (:func:`header_key`) without a unit after the name (:data:`HEADER_UNIT`)."""
    return HEADER_UNIT.sub("", key)


def matching_columns(columns, accepted: dict[str, tuple[str, ...]], *,
                     key=header_key, hidden=()) -> dict[str, str | None]:
    """For each field of ``accepted``, the first of ``columns`` (in its names' order) one of
    its names names, compared by ``key`` (:func:`header_key`); a column is also named by its
    name without a unit (:func:`without_unit`: 站高(m) is 站高), unless another column is
    named so without one; a column the sheet hides (``hidden``) only when no other is
    named. None where no column is named."""
    if hidden:
        shown = matching_columns([c for c in columns if c not in hidden], accepted, key=key)
        every = matching_columns(columns, accepted, key=key)
        return {field: shown[field] or every[field] for field in accepted}
    by_key = {}
    for column in columns:
        by_key.setdefault(key(column), column)
    for column in columns:
        by_key.setdefault(without_unit(key(column)), column)
    return {field: next((by_key[key(n)] for n in names if key(n) in by_key), None)
            for field, names in accepted.items()}


def required_columns(path: Path, columns, accepted: dict[str, tuple[str, ...]], required, *,
                     key=header_key, hidden=()) -> dict[str, str | None]:
    """:func:`matching_columns`; InputError naming every ``required`` field no column names,
    the names accepted for it and the file's columns."""
    found = matching_columns(columns, accepted, key=key, hidden=hidden)
    missing = [f"'{field}' (or {', '.join(accepted[field][1:])})" for field in required
               if found[field] is None]
    if missing:
        raise InputError(f"{path}: no column {'; no column '.join(missing)}; the columns are "
                         f"{', '.join(map(str, columns))}; rename a column to one of these names")
    return found


def header_row(top: list[list], is_header) -> int | None:
    """The position among a sheet's ``top`` rows (lists of cells) of the first whose column
    names (:func:`_header_names`: a blank cell named by the cell above it, as a two-row header
    merges them) ``is_header`` accepts (a set of texts); None when none is; the first row
    without ``is_header``."""
    if is_header is None:
        return 0
    for position, cells in enumerate(top):
        if is_header({name for name in _header_names(cells, top, position) if name}):
            return position
    return None


def _header_names(columns, top: list[list], header: int) -> list[str]:
    """The column names, stripped, each line break (a header cell wrapped with Alt+Enter:
    人口⏎（人）) or run of spaces within one space, so that a message naming a column is one
    line; a blank header cell takes the name above it: a two-row header names most columns in
    cells merged down over both rows (their text in the upper one), beside a group such as
    坐标 merged across 经度 and 纬度 below it."""
    above = top[header - 1] if 0 < header < len(top) else []
    cells = top[header] if header < len(top) else []
    names = [cell_text(above[i]) if (i >= len(cells) or not cell_text(cells[i]))
             and i < len(above) and cell_text(above[i]) else cell_text(column)
             for i, column in enumerate(columns)]
    return [" ".join(name.split()) for name in names]


def read_table(path: Path, sheet: str | None, *, allow_empty: bool = False,
               is_header=None, sheet_key: str | None = None) -> pd.DataFrame:
    """The rows of a CSV file or XLSX sheet (a file named .xls read as what it holds:
    :func:`_table_format`), column names stripped, blank rows and total rows
    (合计, 小计: :func:`_total_rows`; a sum without a label under the list:
    :func:`_unlabelled_sum_rows`), rows of notes (备注：: :func:`_note_rows`), the header
    repeated (:func:`_repeated_header_rows`) and a units row under the header
    (:func:`_with_units_row_read`) dropped, indexed
    by their row numbers as a spreadsheet shows them, blank columns without a header (which
    Excel leaves after the table) dropped; a table without rows is an error unless
    ``allow_empty`` (the caller then says what to do). The header is the first row
    ``is_header`` accepts (see :func:`header_row`), so titles above it are skipped.
    ``sheet_key`` is the scenario key whose ``sheet`` chooses the sheet (None: no setting
    does), named when other sheets have the header too. The names of the columns the sheet
    hides are ``frame.attrs[HIDDEN_COLUMNS]`` (:func:`matching_columns` prefers the others,
    :func:`warn_of_hidden_columns` names those read)."""
    hidden: list[int] = []
    hidden_numbers: list[int] = []
    if _table_format(path) == "workbook":
        frame, header, top, hidden, hidden_numbers = _read_sheet(path, sheet, is_header,
                                                                 sheet_key)
    else:
        frame, header, top = _read_csv(path, is_header)
    _refuse_duplicated_names(path, header, _header_names(top[header] if top else [], top, header))
    _refuse_scaled_table_unit(path, top[:header])
    frame.columns = _header_names(frame.columns, top, header)
    frame.index = pd.RangeIndex(header + 2, header + 2 + len(frame))  # the header's row + 1
    frame = _with_units_row_read(frame, path)
    hidden_names = {frame.columns[n - 1] for n in hidden_numbers if n <= frame.shape[1]}
    blank = frame.apply(blank_cells)
    skipped_rows = (blank.all(axis=1).to_numpy(bool) | _total_rows(frame, blank, path)
                    | _note_rows(frame, blank, path) | _repeated_header_rows(frame, blank, path))
    skipped_rows |= _unlabelled_sum_rows(frame, blank, skipped_rows, path)
    unnamed = frame.columns.astype(str).str.fullmatch(UNNAMED_COLUMN)
    frame = frame.loc[~skipped_rows, ~(unnamed & blank.all(axis=0).to_numpy(bool))]
    if frame.empty and not allow_empty:
        raise InputError(f"{path}: the table has no rows; fill it in")
    _warn_of_hidden_rows(path, frame.index.intersection(hidden))
    frame.attrs[HIDDEN_COLUMNS] = [column for column in frame.columns if column in hidden_names]
    return frame


#: The key of a table's ``attrs`` holding the names of the columns its sheet hides.
HIDDEN_COLUMNS = "hidden_columns"


def warn_of_hidden_columns(where: str, read: dict[str, str | None], hidden) -> None:
    """Warn naming the columns of ``read`` (field -> the column read for it) that the sheet
    hides (``hidden``: a planner hides a superseded 人口 or 经度 column, and forgets it)."""
    named = [f"'{column}' ({field})" for field, column in read.items() if column in hidden]
    if named:
        logger.warning("%s: column(s) %s, hidden in Excel, are read; unhide them to check "
                       "them, or read another column if they are superseded", where,
                       ", ".join(named))


#: The units a sheet writes in a row of its own under the header (m, °, dBm, 元, 万元/年, (米),
#: 【人】), matched after :func:`header_key`: lengths, angles, levels, frequencies, money, counts,
#: time.
UNIT_WORDS = frozenset({"m", "米", "km", "千米", "公里", "cm", "厘米", "°", "度", "dbm", "db",
                        "dbi", "dbd", "mhz", "ghz", "w", "瓦", "元", "万元", "千元", "亿元", "元/年",
                        "万元/年", "人", "万人", "户", "个", "座", "套", "年", "月", "%", "‰"})
#: What a units row may hold besides units: a label (单位) and marks for "no unit".
UNITS_ROW_FILLERS = frozenset({"单位", "单位:", "unit", "units", "unit:", "units:", "-", "/",
                               "—", "--"})
#: The brackets a unit may stand in, after NFKC (（米） is (米)).
UNIT_BRACKETS = re.compile(r"[(\[【](.*)[)\]】]")


def unit_of(cell) -> str | None:
    """The unit a cell of a units row names (:data:`UNIT_WORDS`, bracketed or not), as written
    but for brackets and full-width forms; None when the cell is no unit."""
    text = _normalised(cell_text(cell))
    bracketed = UNIT_BRACKETS.fullmatch(text)
    unit = (bracketed[1] if bracketed else text).strip()
    return unit if header_key(unit) in UNIT_WORDS else None


def _is_units_row(cells) -> bool:
    """Whether a row's cells are the columns' units: one unit at least (:func:`unit_of`), every
    other filled cell a label or a mark of :data:`UNITS_ROW_FILLERS`."""
    filled = [cell for cell in cells if cell_text(cell)]
    units = [cell for cell in filled if unit_of(cell) is not None]
    return bool(units) and all(unit_of(cell) is not None or header_key(cell) in UNITS_ROW_FILLERS
                               for cell in filled)


def _with_units_row_read(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``frame`` without the units row that operator sheets put under the header (m, °, dBm,
    元, 万元 each under its column: :func:`_is_units_row`), each unit written after its column's
    name as a header gives one (站高 over m reads as 站高(m), and is read so: a cost in 万元
    converted, a unit not read as the field's refused by name); said in the log. ``frame``
    itself when its first row is a record."""
    if frame.empty or not _is_units_row(frame.iloc[0].tolist()):
        return frame
    units = {column: unit_of(cell) for column, cell in frame.iloc[0].items()}
    named = {column: f"{column}({unit})" for column, unit in units.items()
             if unit is not None and not _names_a_unit(str(column))}
    logger.info("%s: row %d holds the columns' units, not a record; read as the headers' "
                "units: %s", path, frame.index[0], ", ".join(named.values()) or "none new")
    return frame.iloc[1:].rename(columns=named)


def _names_a_unit(column: str) -> bool:
    """Whether a column's name ends in a unit already (站高(m), 投资（千元）, 经度°)."""
    key = header_key(column)
    return without_unit(key) != key or key.endswith((")", "]", "】"))


#: A note above a table giving the unit of its numbers, after NFKC: 单位:万元, (金额单位:万元),
#: 单位: 万人. Group: the unit.
TABLE_UNIT_NOTE = re.compile(r"\(?\s*\w{0,4}单位\s*:\s*([^)\s]+)\s*\)?")
#: The units such a note may give that would not be read: a header's 万元 and 万人 are
#: converted (:func:`siting.io.layers.in_yuan`, :func:`siting.io.layers.in_people`), its 千元,
#: 亿元 and 户 refused, but a note above the header says neither which columns it applies to.
SCALED_UNITS = frozenset({"万元", "千元", "亿元", "万人", "户", "万户"})


def _refuse_scaled_table_unit(path: Path, above: list[list]) -> None:
    """InputError when a row ``above`` the header (the title, the unit that made the list)
    notes a unit of :data:`SCALED_UNITS` for the whole table (单位：万元): the numbers would be
    read in yuan or people, 10,000 times too small."""
    for position, cells in enumerate(above):
        for cell in cells:
            note = TABLE_UNIT_NOTE.fullmatch(_normalised(cell_text(cell)))
            if note is not None and header_key(note[1]) in SCALED_UNITS:
                column = "建设投资" if "元" in note[1] else "人口"
                raise InputError(f"{path}: row {position + 1} gives the whole table's unit "
                                 f"({cell_text(cell)!r}), which is not read: write the unit in "
                                 f"the header of each column it applies to ({column}（{note[1]}）)"
                                 f" and delete that note")


def _refuse_duplicated_names(path: Path, header: int, names: list[str]) -> None:
    """InputError when two columns or more bear one name (as :func:`header_key` reads names):
    pandas would read the first as that name and the next as 经度.1, so a sheet holding two
    pairs 经度/纬度 (高德 and WGS 84 under a two-row header) would have one chosen unsaid."""
    columns: dict[str, list[int]] = {}
    for position, name in enumerate(names):
        if name:
            columns.setdefault(header_key(name), []).append(position)
    shared = [(" and ".join(get_column_letter(p + 1) for p in positions), names[positions[0]])
              for positions in columns.values() if len(positions) > 1]
    if shared:
        named = "; ".join(f"columns {letters} share the name '{name}'" for letters, name in shared)
        raise InputError(f"{path}: row {header + 1}: {named}; rename all but the one to read "
                         f"(e.g. {shared[0][1]}2), so that the one read is the one meant")


def _warn_of_hidden_rows(path: Path, rows: pd.Index) -> None:
    """Warn that the sheet's rows ``rows``, which Excel hides (by hand or by a filter, so the
    planner may think them left out), are read like the others."""
    if len(rows):
        shown = ", ".join(str(row) for row in rows[:5]) + (" and more" if len(rows) > 5 else "")
        logger.warning("%s: %d row(s) hidden in Excel (by a filter or by hand: %s) are read like "
                       "the others; delete them from the sheet if they are not meant to be read",
                       path, len(rows), shown)


#: What the first filled cell of a total row says (after NFKC: ： is :, （ is (): 合计 (sum), 总计
#: (grand total), 小计 (subtotal, often after a county's name: 汉滨区小计), 共计, or an English
#: total; what follows a colon or in brackets is what was counted (合计：120个村, 合计（3个）).
TOTAL_ROW = re.compile(r"(?:.{0,12}(合计|总计|小计|共计)|(grand|sub)?total|sum)(?:[:(].*)?",
                       re.IGNORECASE)


def _first_texts(frame: pd.DataFrame, blank: pd.DataFrame) -> pd.Series:
    """Each row's first filled cell (``blank``: which cells are empty) as text, NFKC-folded,
    without spaces."""
    cells = frame.to_numpy()[np.arange(len(frame)), (~blank.to_numpy(bool)).argmax(axis=1)]
    texts = pd.Series(cells, index=frame.index).map(cell_text)
    return texts.str.normalize("NFKC").str.replace(r"\s+", "", regex=True)


def _total_rows(frame: pd.DataFrame, blank: pd.DataFrame, path: Path) -> np.ndarray:
    """Where ``frame`` has a total or subtotal row of a statistical sheet (合计 under the list,
    小计 under each county's villages), with a warning naming them: they are sums of the rows
    above, not records."""
    if frame.empty:
        return np.zeros(len(frame), bool)
    first = _first_texts(frame, blank)
    totals = first.str.fullmatch(TOTAL_ROW).to_numpy(bool)
    _warn_not_records(frame.index[totals], first, path, "totals")
    return totals


def _unlabelled_sum_rows(frame: pd.DataFrame, blank: pd.DataFrame, skipped: np.ndarray,
                         path: Path) -> np.ndarray:
    """Where the table ends (``skipped``: the rows already left out, notes and totals among
    them) in rows of numbers only, their first cell blank and at most half their cells filled:
    a sum under the list without 合计 (the villages' population; no id, name or coordinates),
    with a warning naming them. Such a row further up is left to be told as a record without
    an id or coordinates."""
    if frame.empty:
        return np.zeros(len(frame), bool)
    empty = blank.to_numpy(bool)
    sums = empty[:, 0] & ((~empty).sum(axis=1) <= frame.shape[1] / 2) & ~skipped
    few = np.flatnonzero(sums)  # the few rows to look at
    numbers = frame.iloc[few].apply(numbers_of).notna().to_numpy(bool)
    sums[few] = (numbers | empty[few]).all(axis=1)
    records = np.flatnonzero(~skipped & ~sums)
    sums &= np.arange(len(frame)) > (records[-1] if len(records) else -1)
    _warn_not_records(frame.index[sums], _first_texts(frame, blank), path, "sums without a label")
    return sums


def _warn_not_records(rows: pd.Index, first: pd.Series, path: Path, what: str) -> None:
    """Warn that ``rows`` (at most five named, by the start of their first text) are
    ``what`` (totals, notes), not records."""
    if len(rows):
        named = ", ".join(f"{row} ({first[row][:20]})" for row in rows[:5])
        logger.warning("%s: row(s) %s%s are %s, not records; not read", path, named,
                       " and more" if len(rows) > 5 else "", what)


#: What a note under a table starts with, after NFKC and without spaces: a word (备注, 注,
#: 说明, 数据来源, 制表人, 审核, 填报日期, ...), an optional number, then a colon.
NOTE_CELL = re.compile(r"(备注|注|附注|注释|说明|填表说明|数据来源|资料来源|来源|制表人?|审核人?|"
                       r"审批人?|填报人|填报单位|填表人|负责人|单位负责人|联系人|联系电话|"
                       r"制表日期|填报日期|填表日期|日期)\d*[:：].*")


def _note_rows(frame: pd.DataFrame, blank: pd.DataFrame, path: Path) -> np.ndarray:
    """Where ``frame`` has a row of notes (备注：..., 制表人：张三 审核人：李四 under the table):
    every filled cell a note (:data:`NOTE_CELL`) or the text of the first (a note merged
    across the row), with a warning naming them; such a row is no record."""
    if frame.empty:
        return np.zeros(len(frame), bool)
    first = _first_texts(frame, blank)
    notes = first.str.fullmatch(NOTE_CELL).to_numpy(bool, copy=True)
    for position in np.flatnonzero(notes):
        texts = (re.sub(r"\s+", "", _normalised(cell_text(c))) for c in frame.iloc[position])
        notes[position] = all(text in ("", first.iloc[position]) or NOTE_CELL.fullmatch(text)
                              for text in texts)
    _warn_not_records(frame.index[notes], first, path, "notes")
    return notes


def _repeated_header_rows(frame: pd.DataFrame, blank: pd.DataFrame, path: Path) -> np.ndarray:
    """Where ``frame`` repeats its header (counties' lists pasted one under another, each with
    its header; a list copied from pages that each print it): every filled cell its column's
    name (compared by :func:`header_key`, without a unit: :func:`without_unit`), two at least;
    with a warning naming them, such a row is no record."""
    def key(cell) -> str:
        return without_unit(header_key(cell_text(cell)))
    if frame.empty:
        return np.zeros(len(frame), bool)
    names = [key(column) for column in frame.columns]
    first = _first_texts(frame, blank)
    repeated = first.map(key).isin(names).to_numpy(bool, copy=True)  # the few rows to look at
    for position in np.flatnonzero(repeated):
        same = [key(cell) == name for cell, name in zip(frame.iloc[position], names)]
        filled = ~blank.iloc[position].to_numpy(bool)
        repeated[position] = sum(same) >= 2 and all(np.array(same)[filled])
    titles = _titles_above(repeated, blank, first)
    _warn_not_records(frame.index[repeated | titles], first, path, "the header repeated" +
                      (" and the title(s) above it" if titles.any() else ""))
    return repeated | titles


def _titles_above(repeated: np.ndarray, blank: pd.DataFrame, first: pd.Series) -> np.ndarray:
    """Where a row just above a ``repeated`` header (blank rows between aside) holds one cell
    of text, not a number: the title of the list pasted under it (石泉县村庄名单);
    ``blank``: which cells are empty, ``first``: each row's first filled cell's text."""
    filled = ~blank.to_numpy(bool)
    texts = numbers_of(first).isna().to_numpy(bool)
    titles = np.zeros(len(repeated), bool)
    for position in np.flatnonzero(repeated):
        above = position - 1
        while above >= 0 and not filled[above].any():
            above -= 1
        if above >= 0 and not repeated[above] and filled[above].sum() == 1 and texts[above]:
            titles[above] = True
    return titles


#: A unit in brackets after a column name: 经度（°）, 纬度(度), lon (deg), 东经[E].
BRACKETED_UNIT = re.compile(r"[(\[].*[)\]]$")


def coordinate_key(name) -> str:
    """A column name as it is matched against :data:`COORDINATE_COLUMNS`: as
    :func:`header_key` folds it (case, spaces, full-width forms), without a bracketed unit or
    a unit of :data:`HEADER_UNIT` (经度/°, 经度°)."""
    return without_unit(BRACKETED_UNIT.sub("", header_key(name)))


#: What the names of coordinate columns end in when a word in front says whose or which
#: coordinates they are (站址经度, GPS经度, 百度经度, Cell Longitude), as (x, y) pairs.
COORDINATE_SUFFIXES = (("经度", "纬度"), ("longitude", "latitude"))


def _detected_coordinates(names) -> tuple[str, str] | None:
    """The first pair of :data:`COORDINATE_COLUMNS` that ``names`` name (compared by
    :func:`coordinate_key`), else the only pair of columns whose names end in a pair of
    :data:`COORDINATE_SUFFIXES` (a sheet with 小区经度 and 基站经度 names none); as the names
    are written; None when none is."""
    by_key = {}
    for name in names:
        by_key.setdefault(coordinate_key(name), name)
    exact = next(((by_key[a], by_key[b]) for a, b in COORDINATE_COLUMNS
                  if a in by_key and b in by_key), None)
    if exact is not None:
        return exact
    for x_end, y_end in COORDINATE_SUFFIXES:
        xs = [name for key, name in by_key.items() if key.endswith(x_end)]
        ys = [name for key, name in by_key.items() if key.endswith(y_end)]
        if len(xs) == 1 and len(ys) == 1:
            return xs[0], ys[0]
    return None


def has_coordinates(x: str | None, y: str | None):
    """Whether a row of texts is a header naming the coordinate columns: ``x`` and ``y`` when
    given (as :func:`column_named` finds them), else one of the pairs of
    :data:`COORDINATE_COLUMNS` (:func:`coordinate_key`)."""
    if x is not None or y is not None:
        return lambda texts: all(column_named(name, texts) in texts for name in (x, y))
    return lambda texts: _detected_coordinates(texts) is not None


#: A number written with thousands separators ("1,980", "12,345.5"): commas between groups
#: of three digits only, so a decimal comma ("32,5") is not read as thousands.
THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
#: An angle in degrees, minutes and seconds ("108°58'12.5\"", "32度41分", "E108°58′12.5″",
#: "108:58:12.5") or in degrees with a hemisphere ("108.9701E", "N32.685"), after NFKC
#: normalisation; minutes and seconds follow a degree mark, are optional and may be decimal.
#: Groups: hemisphere before, degrees, minutes, seconds, hemisphere after.
DMS = re.compile(r"([NSEW]?)\s*(\d+(?:\.\d+)?)\s*"
                 r"(?:(?:°|度|:)\s*(?:(\d+(?:\.\d+)?)\s*(?:'|′|’|分|:)\s*)?"
                 r"(?:(\d+(?:\.\d+)?)\s*(?:\"|″|′′|''|”|秒)?\s*)?)?([NSEW]?)", re.IGNORECASE)
#: Chinese hemisphere words, as the letters :data:`DMS` reads.
HEMISPHERES = {"东经": "E", "西经": "W", "北纬": "N", "南纬": "S"}


def _normalised(cell) -> str:
    """A cell's text NFKC-normalised (full-width digits and signs made ASCII), without the
    invisible format characters text copied from web pages carries (zero-width spaces, the
    byte-order mark, direction marks: Unicode category Cf), stripped."""
    text = unicodedata.normalize("NFKC", str(cell))
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf").strip()


def _plain_number_text(cell) -> str:
    """A cell's text as Python reads numbers (:func:`_normalised`), thousands separators
    dropped."""
    text = _normalised(cell)
    return text.replace(",", "") if THOUSANDS.fullmatch(text) else text


def numbers_of(column: pd.Series) -> pd.Series:
    """The cells as floats (NaN where a cell is blank or not a number); text cells may be
    written as Chinese Excel shows them: "１２３", "1,980", "1，980", " 480 "."""
    text = column.map(lambda c: _plain_number_text(c) if isinstance(c, str) else c)
    return pd.to_numeric(text, errors="coerce").astype(float)


def _dms_match(cell) -> re.Match | None:
    """A text cell matched as :data:`DMS` (Chinese hemisphere words read as letters), or None
    when it is no such angle (a hemisphere both before and after the number included)."""
    if not isinstance(cell, str):
        return None
    text = _normalised(cell)
    for word, letter in HEMISPHERES.items():
        text = text.replace(word, letter)
    match = DMS.fullmatch(text)
    return None if match is None or (match[1] and match[5]) else match


def hemisphere_of(cell) -> str:
    """The hemisphere letter (N, S, E or W) an angle written in degrees names (:data:`DMS`,
    东经 as E), "" when it names none."""
    match = _dms_match(cell)
    return (match[1] or match[5]).upper() if match is not None else ""


def _degrees_of(cell) -> float:
    """An angle written in degrees, minutes and seconds (:data:`DMS`) in decimal degrees,
    negative in the south and west; NaN when the cell is not such an angle."""
    match = _dms_match(cell)
    if match is None:
        return np.nan
    degrees, minutes, seconds = (float(g) if g else 0.0 for g in match.group(2, 3, 4))
    if minutes >= 60 or seconds >= 60:
        return np.nan
    sign = -1.0 if hemisphere_of(cell) in ("S", "W") else 1.0
    return sign * (degrees + minutes / 60 + seconds / 3600)


def coordinates_of(column: pd.Series) -> np.ndarray:
    """A coordinate column as floats: numbers (:func:`numbers_of`), or angles in degrees,
    minutes and seconds (:data:`DMS`); NaN where a cell is neither."""
    values = numbers_of(column).to_numpy(float, copy=True)
    missing = np.isnan(values)
    values[missing] = [_degrees_of(cell) for cell in column[missing]]
    return values


#: What to do when no coordinate columns are found in a table the scenario names.
NAME_COORDINATES_IN_SCENARIO = "name them with x: and y: in the scenario (e.g. x: 经度, y: 纬度)"
#: ... and in a table a command's option or argument names (no scenario setting maps it).
NAME_COORDINATES_IN_FILE = ("head them 经度 and 纬度 (or lon and lat) in the file, or one column "
                            "of 108.9701,32.6851 pairs 经纬度")


def coordinate_columns(frame: pd.DataFrame, x: str | None, y: str | None, where: str, *,
                       advice: str = NAME_COORDINATES_IN_SCENARIO) -> tuple[str, str]:
    """The names of the x (longitude) and y (latitude) columns: the given ones (as
    :func:`column_named` finds them), or detected among the columns the sheet shows, else
    among those it hides (``frame.attrs[HIDDEN_COLUMNS]``: a superseded 经度/纬度 hidden
    beside 站址经度/站址纬度); InputError ending in ``advice`` when none are found."""
    if x is None and y is None:
        hidden = frame.attrs.get(HIDDEN_COLUMNS, ())
        shown = [column for column in frame.columns if column not in hidden]
        if (found := _detected_coordinates(shown) or _detected_coordinates(frame.columns)):
            return found
        raise InputError(f"{where}: no coordinate columns found (columns: "
                         f"{', '.join(frame.columns)}); {advice}")
    missing = [c for c in (x, y)
               if c is None or column_named(c, frame.columns) not in frame.columns]
    if missing:
        raise InputError(f"{where}: coordinate column(s) {', '.join(map(str, missing))} not found "
                         f"(columns: {', '.join(frame.columns)}); give both x: and y:")
    return column_named(x, frame.columns), column_named(y, frame.columns)


#: Decimals of a longitude/latitude written as text at or below which a point is placed no
#: better than about 100 m (0.001 degree is 111 m of latitude).
ROUNDED_DEGREE_DECIMALS = 3
DECIMAL_TEXT = re.compile(r"[+-]?\d+(?:\.(\d*))?")


def _decimals(cell) -> int | None:
    """The digits after the point of a coordinate written as a plain decimal text, else None."""
    match = DECIMAL_TEXT.fullmatch(str(cell).strip()) if isinstance(cell, str) else None
    return len(match[1] or "") if match else None


def _warn_if_rounded(x_cells: pd.Series, y_cells: pd.Series, xs: np.ndarray, ys: np.ndarray,
                     where: str) -> None:
    """Warn when every longitude/latitude was written with few decimals: Excel saves a CSV
    with the digits its cells show, so a column formatted "0.00" moves points by up to 550 m."""
    if len(xs) == 0 or np.abs(xs).max() > 180 or np.abs(ys).max() > 90:
        return  # no rows (the caller says so), or projected metres: decimals are centimetres
    decimals = [_decimals(c) for c in (*x_cells, *y_cells)]
    if None in decimals or max(decimals) > ROUNDED_DEGREE_DECIMALS:
        return
    error_m = 0.5 * 10.0 ** -max(decimals) * 111_320.0
    logger.warning("%s: every coordinate has at most %d decimals, which places a point only to "
                   "about %.0f m; if the sheet was saved from Excel, show more decimals in the "
                   "coordinate columns and save it again", where, max(decimals), error_m)


#: What separates the two coordinates of one cell ("108.970139,32.685123", as the coordinate
#: pickers of Amap and Baidu copy them): a comma (also full-width), else spaces.
PAIR_SEPARATOR = re.compile(r"\s*[,，]\s*|\s+")


def _split_pairs(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The first and second coordinates of "x,y" cells (None where a cell is not two parts)."""
    parts = cells.map(lambda c: PAIR_SEPARATOR.split(c.strip()) if isinstance(c, str) else [])
    return (parts.map(lambda p: p[0] if len(p) == 2 else None),
            parts.map(lambda p: p[1] if len(p) == 2 else None))


#: The hemisphere letters of each axis, and how messages name them.
HEMISPHERE_LETTERS = {"x": ("E", "W"), "y": ("N", "S")}
AXIS_NAMES = {"x": "longitude, E 东经 or W 西经", "y": "latitude, N 北纬 or S 南纬"}


def _crossed_hemispheres(cells: dict[str, pd.Series], columns: dict[str, str], where: str,
                         problems: Problems) -> np.ndarray:
    """Bool per row: a coordinate (``cells``: the x and y cells, from the ``columns`` named)
    names a hemisphere of the other axis (:func:`hemisphere_of`: 32°41'N in the longitude
    column; in every row: the columns or their letters swapped), or the one hemisphere of
    its axis few rows name (a W among E: a typo that puts the point on the other side of the
    earth); such rows are named in ``problems``, one line for each kind."""
    letters = {axis: column.map(hemisphere_of) for axis, column in cells.items()}
    other = {axis: (letters[axis] != "") & ~letters[axis].isin(HEMISPHERE_LETTERS[axis])
             for axis in cells}
    crossed = other["x"] | other["y"]
    if all(other[axis].any() and other[axis].eq(letters[axis] != "").all() for axis in cells):
        row = crossed.idxmax()
        named = (f"the pairs of column '{columns['x']}'" if columns["x"] == columns["y"]
                 else f"columns '{columns['x']}'/'{columns['y']}'")
        problems.add(f"{where}: {named} are mixed up: the "
                     f"longitudes' names N/S and the latitudes' E/W (row {row}: "
                     f"{cells['x'][row]!r}, {cells['y'][row]!r}); x is the {AXIS_NAMES['x']}, "
                     f"y the {AXIS_NAMES['y']}: swap the columns, or correct the letters")
        return crossed.to_numpy(bool)
    for axis in cells:
        if other[axis].any():
            _name_rows(problems, cells[axis], other[axis], f"{where}: row(s) {{rows}} of column "
                       f"'{columns[axis]}', the {AXIS_NAMES[axis].split(',')[0]}, name a "
                       f"hemisphere of the other axis", f"; a {AXIS_NAMES[axis]}: correct the "
                       f"letter, or put the coordinate in its column")
        named = letters[axis][letters[axis].isin(HEMISPHERE_LETTERS[axis])].value_counts()
        if len(named) == 2 and named.iloc[0] > named.iloc[1]:
            few = letters[axis] == named.index[1]
            _name_rows(problems, cells[axis], few, f"{where}: row(s) {{rows}} of column "
                       f"'{columns[axis]}' say {named.index[1]} where the others say "
                       f"{named.index[0]}", "; correct the letter (the point lies on the other "
                       "side of the earth)")
            crossed |= few
    return crossed.to_numpy(bool)


def _name_rows(problems: Problems, cells: pd.Series, rows: pd.Series, what: str,
               advice: str) -> None:
    """Add the problem ``what`` (its ``{rows}`` the first five of ``rows``) with the first
    such cell, then ``advice``."""
    named = cells.index[rows.to_numpy(bool)]
    shown = ", ".join(map(str, named[:5])) + (" and more" if len(named) > 5 else "")
    problems.add(f"{what.format(rows=shown)} (row {named[0]}: {cells[named[0]]!r}){advice}")


def table_points(frame: pd.DataFrame, x: str, y: str, crs, where: str,
                 problems: Problems) -> gpd.GeoDataFrame:
    """Point features from the coordinate columns (decimal numbers, or degrees, minutes and
    seconds: :func:`coordinates_of`; ``x`` and ``y`` may name one column of "x,y" pairs),
    indexed as ``frame`` (its spreadsheet rows, see :func:`read_table`). Rows whose
    coordinates are not numbers are named in ``problems`` and left out, so that the other
    problems of the sheet are found in the same run."""
    x_cells, y_cells = _split_pairs(frame[x]) if x == y else (frame[x], frame[y])
    xs, ys = coordinates_of(x_cells), coordinates_of(y_cells)
    bad = ~(np.isfinite(xs) & np.isfinite(ys))
    if bad.any():
        rows = [str(row) for row in frame.index[bad][:5]]
        columns = f"column '{x}'" if x == y else f"columns '{x}'/'{y}'"
        first = frame.loc[frame.index[bad][0], list(dict.fromkeys([x, y]))]
        cells = ", ".join("blank" if empty else repr(cell)
                          for cell, empty in zip(first, blank_cells(first)))
        pair = " or one cell of both (108.9701,32.6851)" if x == y else ""
        problems.add(f"{where}: row(s) {', '.join(rows)}{' and more' if bad.sum() > 5 else ''} "
                     f"have no coordinates in {columns} (row {rows[0]}: {cells}); write them "
                     f"as numbers (108.9701) or degrees, minutes and seconds "
                     f"(108°58'12.5\"){pair}")
    crossed = _crossed_hemispheres({"x": x_cells, "y": y_cells}, {"x": x, "y": y}, where,
                                   problems)
    keep = ~bad & ~crossed
    _warn_if_rounded(x_cells[keep], y_cells[keep], xs[keep], ys[keep], where)
    rest = frame.drop(columns=list({x, y}))[keep]
    return gpd.GeoDataFrame(rest, geometry=gpd.points_from_xy(xs[keep], ys[keep]), crs=crs)

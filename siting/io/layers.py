"""One vector layer: read, its fields coerced and checked, reprojected to the run's CRS."""

from __future__ import annotations

import codecs
import difflib
import logging
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from siting.china_crs import outside_china, to_wgs84
from siting.config import LayerSource
from siting.errors import InputError
from siting.io.datums import warn_unshifted_datum
from siting.io.dbf import RAW_CODEC, attribute_encoding
from siting.io.headers import suggested_names
from siting.io.kml_tables import description_attributes
from siting.io.problems import Problems, first_line, id_list, require_file
from siting.io.rasters import crs_label_problem
from siting.io.tables import (HIDDEN_COLUMNS, NAME_COORDINATES_IN_FILE,
                              NAME_COORDINATES_IN_SCENARIO, blank_cells, cell_text, column_named,
                              coordinate_columns, excel_errors, has_coordinates, header_key,
                              id_text, is_table, matching_columns, no_value_cells, numbers_of,
                              read_table, required_columns, scientific_ids_hint, table_points,
                              warn_of_hidden_columns)

logger = logging.getLogger(__name__)


#: Spellings of booleans in planners' sheets (compared case-insensitively after stripping);
#: 有/无 ("there is"/"there is none", also 没有) is how Chinese sheets often answer "has fiber?", and a
#: tick or a cross (√/×) how Chinese forms mark a box.
BOOL_WORDS = {"1": True, "0": False, "true": True, "false": False, "yes": True, "no": False,
              "y": True, "n": False, "t": True, "f": False, "是": True, "否": False,
              "有": True, "无": False, "没有": False, "不是": False, "1.0": True, "0.0": False,
              "√": True, "✓": True, "✔": True, "×": False, "✗": False, "✘": False}
#: How messages list the spellings of BOOL_WORDS.
BOOL_SPELLINGS = "true/false, yes/no, 1/0, 是/否, 有/无 or √/×"
#: Google Earth's files: their folders are read as one layer when none is named.
KML_SUFFIXES = (".kml", ".kmz")
#: The Chinese web-map coordinate systems, converted to WGS 84 at load (see siting.china_crs).
WEB_MAP_SYSTEMS = ("GCJ-02", "BD-09")


GENERATIONS = ("4G", "5G")
#: What separates the items of a list in a cell: commas (also full-width), the Chinese
#: enumeration comma, semicolons, slashes, bars, plus signs ("4G+5G") or spaces.
LIST_SEPARATORS = re.compile(r"[,，、;；/|+＋\s]+")


def generations_of(listed) -> tuple[str, ...] | None:
    """The generations a cell lists ("4G,5G", "4G，5G", "4G+5G", "4g 5g", full-width "４Ｇ，５Ｇ"
    as :func:`siting.io.tables.id_text` folds it), in order; None when the cell is not such a
    list."""
    if not isinstance(listed, str):
        return None
    items = {item.upper() for item in LIST_SEPARATORS.split(id_text(listed)) if item}
    if not items or not items <= set(GENERATIONS):
        return None
    return tuple(g for g in GENERATIONS if g in items)


def bool_of(value) -> bool | None:
    """A cell as a boolean (:data:`BOOL_WORDS`, a bool, 0 or 1); None when it is none of those."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
        return bool(value)
    return BOOL_WORDS.get(str(value).strip().lower()) if isinstance(value, str) else None


def _coerce_bool(column: pd.Series, field: str, optional: bool, where: str) -> pd.Series:
    """A column of booleans (:func:`bool_of`: 无 is no); cells of an ``optional`` field that
    are blank or say they have no value (:func:`unset_cells`: -, NA) read as false (its
    default), a required field's are refused."""
    if column.dtype == bool:
        return column
    mapped = column.map(bool_of)
    unset = mapped.isna() & unset_cells(column)
    if unset.any() and not optional:
        raise InputError(_unset_problem(column, unset, field, where,
                                        f"fill it in ({BOOL_SPELLINGS})"))
    bad = mapped.isna() & ~unset
    if bad.any():
        raise InputError(f"{where}: field '{field}' must be {BOOL_SPELLINGS}; feature(s) "
                         f"{id_list(column.index, bad)} hold {list(column[bad][:3])}")
    return mapped.where(~unset, False).astype(bool)


def unset_cells(column: pd.Series) -> pd.Series:
    """True where a cell is blank or says it has no value (NA, 无, -, 空:
    :func:`siting.io.tables.no_value_cells`)."""
    return blank_cells(column) | no_value_cells(column)


def _unset_problem(column: pd.Series, unset: pd.Series, field: str, where: str,
                   advice: str) -> str:
    """The line refusing a required ``field`` whose cells ``unset`` are blank or say they have
    no value (:func:`_saying_none`), ending in ``advice``."""
    return (f"{where}: field '{field}' is empty{_saying_none(column, unset)} for feature(s) "
            f"{id_list(column.index, unset)}; {advice}")


def _saying_none(column: pd.Series, unset: pd.Series) -> str:
    """" or says it has none ('-')", quoting the first of the cells ``unset`` (blank or saying
    they have no value: :func:`unset_cells`) that is not blank; "" when all are."""
    words = column[unset.to_numpy(bool) & ~blank_cells(column).to_numpy(bool)]
    return f" or says it has none ({cell_text(words.iloc[0])!r})" if len(words) else ""


#: Chinese names of the candidate kinds as site lists (and siting's Chinese outputs) write
#: them, read as the kind's key; a bare 铁塔 (existing or new?) is not guessed.
SITE_KIND_NAMES = {
    "现网4G站": "existing_4g", "存量4G": "existing_4g", "存量4G站": "existing_4g",
    "现网5G站": "existing_5g", "存量5G": "existing_5g", "存量5G站": "existing_5g",
    "公共建筑": "public_building", "路灯杆": "lamp_pole", "灯杆": "lamp_pole", "水塔": "water_tower",
    "现有铁塔": "existing_tower", "存量铁塔": "existing_tower", "楼顶": "rooftop", "楼面": "rooftop",
    "新建落地塔": "greenfield", "新建铁塔": "greenfield", "落地塔": "greenfield",
}


def _coerce(frame: pd.DataFrame, field: str, kind: str, where: str) -> pd.Series:
    """The field's cells as ``kind`` ("str", "id" (another layer's id, as
    :func:`siting.io.tables.id_text` reads ids), "site_kind" (text, Chinese names of
    :data:`SITE_KIND_NAMES`, folded as ids are, read as their key), "bool", "generations" or
    "float"); a kind
    ending in ``?`` marks an optional field (its blank booleans read as false, its blank
    numbers as 0)."""
    column = frame[field]
    ids = frame.index
    optional = kind.endswith("?")
    kind = kind.rstrip("?")
    if kind == "site_kind":
        text = _coerce(frame, field, "str", where)
        return text.map(lambda value: SITE_KIND_NAMES.get(id_text(value).upper(), value))
    if kind in ("str", "id"):
        missing = unset_cells(column)
        if missing.any():
            raise InputError(_unset_problem(column, missing, field, where, "fill it in"))
        _refuse_excel_errors(column, field, where)
        # stripped: a trailing space in 汉滨区 is no other county
        return column.map(id_text if kind == "id" else cell_text)
    if kind == "bool":
        return _coerce_bool(column, field, optional, where)
    if kind == "generations":
        mapped = column.map(generations_of)
        bad = mapped.isna() & ~blank_cells(column)
        if bad.any():
            raise InputError(f"{where}: field '{field}' of feature(s) {id_list(ids, bad)} is not a "
                             f"list of generations (e.g. {column[bad].iloc[0]!r}); use a "
                             f"comma-separated list of 4G and/or 5G")
        if mapped.isna().any():
            raise InputError(f"{where}: field '{field}' is empty for feature(s) "
                             f"{id_list(ids, mapped.isna())}; fill it in")
        return mapped.map(",".join)
    unset = unset_cells(column)
    if unset.any() and not optional:
        raise InputError(_unset_problem(column, unset, field, where,
                                        "give a number (0 where there is none)"))
    numeric = numbers_of(_without_unit(column.where(~unset, 0.0), field, where))
    bad = numeric.isna() | ~np.isfinite(numeric.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        shown = [v for v in column[bad][:3]]
        raise InputError(f"{where}: field '{field}' is missing or not a number for feature(s) "
                         f"{id_list(ids, bad)} (values {shown}); give a number")
    if (numeric < 0).any():
        raise InputError(negative_problem(column, numeric < 0, field, where))
    return numeric.astype(float)


def negative_problem(column: pd.Series, negative: pd.Series, field: str, where: str, *,
                     what: str | None = None) -> str:
    """The line refusing the ``negative`` cells of a numeric ``field`` (``column``: its cells,
    indexed by the features' ids), quoting the first (a minus sign, or the brackets of Excel's
    accounting format: (50,000)); ``what`` the field is (a cost), else said by its name."""
    what = what or ("a cost" if "_cny" in field else "a population" if field in PEOPLE_FIELDS
                    else f"'{field}'")
    return (f"{where}: field '{field}' is negative for feature(s) {id_list(column.index, negative)}"
            f" ({column[negative].iloc[0]!r}); {what} cannot be negative: correct the cell (0 "
            f"where there is none)")


def _refuse_excel_errors(column: pd.Series, field: str, where: str) -> None:
    """InputError naming the features whose ``field`` holds an Excel error value (#N/A,
    :func:`siting.io.tables.excel_errors`), which would be read as its text."""
    failed = excel_errors(column)
    if failed.any():
        raise InputError(f"{where}: field '{field}' holds Excel's error "
                         f"{cell_text(column[failed].iloc[0])} for feature(s) "
                         f"{id_list(column.index, failed)}: {EXCEL_ERROR_ADVICE}")


#: What to do about an Excel error value in a cell.
EXCEL_ERROR_ADVICE = ("a formula that failed (a VLOOKUP that found nothing); correct it, or "
                      "type the value")


#: A length written with its unit, as site lists write heights: "35米", "35 m", "35M".
METRES_TEXT = re.compile(r"\s*(米|[mM])\s*$")


def _without_unit(column: pd.Series, field: str, where: str) -> pd.Series:
    """A numeric field's cells without the unit they may be written with: a length's metres
    (:data:`METRES_TEXT`, after NFKC: a full-width ３５ｍ as a Chinese input method types it),
    a count of people's 人 and 万 (:func:`people_counted`), a sum's currency and 万
    (:func:`without_currency`)."""
    if field.endswith("_m"):
        return column.map(lambda cell: METRES_TEXT.sub("", unicodedata.normalize("NFKC", cell))
                          if isinstance(cell, str) else cell)
    if field in PEOPLE_FIELDS:
        return people_counted(column, field, where)
    if "_cny" in field:
        return without_currency(column, per_year=field.endswith("_per_year"))
    return column


#: A sum as planners write one, after NFKC: with a currency sign before it, as Excel's currency
#: and accounting formats show it and save it in a CSV ("¥50,000.00", "￥8,000", " ¥ -   " for
#: 0), in brackets when negative as the accounting format shows it ("(50,000)", "¥(50,000)"),
#: with its unit after it ("50000元", "5万元", "0.5万", "1.2 万元"), a yearly sum's per year
#: ("0.8万元/年", "3000元每年"). Groups: the accounting format's dash, the opening bracket, the
#: number, 万, per year, the closing bracket.
MONEY_TEXT = re.compile(r"(?:¥|rmb|cny)\s*(-)|(?:¥|rmb|cny)?\s*(\()?\s*(.+?)\s*(万)?\s*元?\s*"
                        r"(/年|每年)?\s*(\))?", re.IGNORECASE)


def without_currency(column: pd.Series, *, per_year: bool = False) -> pd.Series:
    """A money field's cells as numbers of yuan where a text cell is a sum of
    :data:`MONEY_TEXT` (its currency sign and 元 dropped, 5万元 is 50,000, the accounting
    format's "¥ -" is 0 and its "(50,000)" -50,000; "/年" only in a field ``per_year``);
    other cells as they are."""
    return column.map(lambda cell: _yuan_of(cell, per_year))


def _yuan_of(cell, per_year: bool):
    """The yuan a text ``cell`` gives (:data:`MONEY_TEXT`; a sum per year only when
    ``per_year``); ``cell`` when it gives none."""
    match = (MONEY_TEXT.fullmatch(unicodedata.normalize("NFKC", cell).strip())
             if isinstance(cell, str) else None)
    if match is None or (match[5] and not per_year):
        return cell
    if match[1]:
        return 0.0
    if bool(match[2]) != bool(match[6]):  # one bracket without the other
        return cell
    number = numbers_of(pd.Series([match[3]])).iloc[0]
    if np.isnan(number):
        return cell
    yuan = times_wan(number, YUAN_DECIMALS) if match[4] else number
    return -yuan if match[2] else yuan


#: 万: ten thousand, as Chinese sheets count people (1.2万人) and money (万元).
WAN = 10_000.0
#: Chinese cost sheets often give sums in 万元 (ten thousand yuan), saying so in the header.
WAN_YUAN = WAN
#: The decimals a sum converted from 万元 is rounded to: the fen (0.01 yuan), the least unit
#: of the yuan.
YUAN_DECIMALS = 2
#: The decimals a count of people converted from 万人 is rounded to: well below one person, so
#: that a fraction a table gives (a raster's share) is kept.
PEOPLE_DECIMALS = 6


def times_wan(number, decimals: int):
    """``number`` (a float or a Series) of 万 in units, rounded to ``decimals``: the float
    product alone makes 3.3万 32999.999999999996 yuan and 1.2万人 12000.000000000002 people,
    which tables and reports then show."""
    return np.round(number * WAN, decimals)
#: The fields that count people (a village's population).
PEOPLE_FIELDS = ("population",)
#: A count of people written with its unit, after NFKC: "1200人", "1.2万", "1.2万人",
#: "3,400 人", "1200口" (a register's 口: mouths); or approximately, as village registers often
#: count: "约1200人", "1200余人", "1200多人", "1200人左右", "~1200" (NFKC folds ～). Groups: a
#: word of approximation before, the number, one after it, 万, one after 万, one at the end.
PEOPLE_TEXT = re.compile(r"(约|大约|近|~|≈)?\s*(\d[\d,.]*)\s*(余|多)?\s*(万)?\s*(余|多)?\s*"
                         r"(?:人|口)?\s*(左右)?")
#: The groups of :data:`PEOPLE_TEXT` that say a count is approximate.
APPROXIMATE_GROUPS = (1, 3, 5, 6)
#: A count of households ("300户", "300 户"), approximate too ("约300户", "300余户"): not people.
HOUSEHOLDS_TEXT = re.compile(PEOPLE_TEXT.pattern.replace("(?:人|口)?", "户"))


def people_counted(column: pd.Series, field: str, where: str) -> pd.Series:
    """A people-count field's cells (:data:`PEOPLE_FIELDS`) as numbers where a text cell gives
    one with its unit (:data:`PEOPLE_TEXT`: 1.2万人 is 12,000); other cells as they are.
    InputError naming the features whose cell counts households (:data:`HOUSEHOLDS_TEXT`),
    which are not people."""
    texts = column.map(lambda cell: unicodedata.normalize("NFKC", cell).strip()
                       if isinstance(cell, str) else "")
    households = texts.map(lambda text: HOUSEHOLDS_TEXT.fullmatch(text) is not None)
    if households.any():
        raise InputError(f"{where}: field '{field}' of feature(s) "
                         f"{id_list(column.index, households)} counts households "
                         f"({texts[households].iloc[0]!r}), not people; give the number of "
                         f"people (人), from the register or households × people per household")
    matches = texts.map(PEOPLE_TEXT.fullmatch)
    _warn_of_approximate_counts(column, matches, field, where)
    return pd.Series([_people_of(match, cell) for match, cell in zip(matches, column)],
                     index=column.index, dtype=object)


def _warn_of_approximate_counts(column: pd.Series, matches: pd.Series, field: str,
                                where: str) -> None:
    """Warn once, counting the cells of ``column`` whose count is approximate (``matches``:
    their :data:`PEOPLE_TEXT` matches, 约1200人), read as the number written."""
    approximate = matches.map(lambda m: m is not None and any(m[g] for g in APPROXIMATE_GROUPS))
    if approximate.any():
        logger.warning("%s: field '%s' gives %d approximate count(s) (feature %s: %r); read as "
                       "the number written", where, field, approximate.sum(),
                       approximate.idxmax(), column[approximate].iloc[0])


def _people_of(match: re.Match | None, cell):
    """The number of people a text ``cell`` gives when it is a number with the unit of
    :data:`PEOPLE_TEXT` (``match``; NaN when its number is none: "1.2.3人"), else ``cell``."""
    if match is None:
        return cell
    number = numbers_of(pd.Series([match[2]])).iloc[0]
    return times_wan(number, PEOPLE_DECIMALS) if match[4] else number


#: A header that says its column counts households: 户数, 户数(户), 人口(户), 人口/户.
HOUSEHOLDS_HEADER = re.compile(r".*户数.*|.*[(\[【/]户[)\]】]?")


#: A unit written in a cell of a money or people field (5万元, 50000元, 1200人, 1.2万): the cell
#: is read in it (:func:`without_currency`, :func:`people_counted`), whatever its header says.
CELL_UNIT = re.compile(r"[万元人口]")


def _in_header_unit(values: pd.Series, cells: pd.Series, decimals: int) -> pd.Series:
    """``values`` in 万 (the unit their column's header names) in units, rounded to
    ``decimals`` (:func:`times_wan`), but those whose ``cells`` name a unit of their own
    (:data:`CELL_UNIT`: 0.12万人 under 人口（万人）is 1,200, not 12 million)."""
    own = cells.map(lambda cell: isinstance(cell, str) and CELL_UNIT.search(cell) is not None)
    return values.where(own.to_numpy(bool), times_wan(values, decimals))


def in_people(values: pd.Series, cells: pd.Series, field: str, column: str | None,
              where: str) -> pd.Series:
    """A people-count field (:data:`PEOPLE_FIELDS`) in persons, ``values`` read from ``cells``:
    a column whose header says 万人 holds ten-thousands (said in a warning), but in cells
    that name their own unit (:func:`_in_header_unit`); InputError for one whose header says
    it counts households (:data:`HOUSEHOLDS_HEADER`), which are not people."""
    if field not in PEOPLE_FIELDS or column is None:
        return values
    key = header_key(column)
    if HOUSEHOLDS_HEADER.fullmatch(key):
        raise InputError(f"{where}: column '{column}' ({field}) counts households, not people; "
                         f"map {field} to a column of people (人口), or give households × "
                         f"people per household")
    if "万人" not in key:
        return values
    logger.warning("%s: column '%s' is in 万人; read as %s in persons (x %g)", where, column,
                   field, WAN)
    return _in_header_unit(values, cells, PEOPLE_DECIMALS)


#: Money units a cost column's header may name that are not converted (thousands, millions,
#: hundreds of millions of yuan; another currency): checked before 万元, which 百万元 holds.
UNCONVERTED_MONEY = re.compile(r"千元|百万元|亿元|美元|usd|k\s*(?:cny|rmb|yuan)", re.IGNORECASE)


def in_yuan(values: pd.Series, cells: pd.Series, field: str, column: str | None,
            where: str) -> pd.Series:
    """A cost field (``*_cny*``) in yuan, ``values`` read from ``cells``: a column whose header
    says 万元 holds ten-thousands (said in a warning), but in cells that name their own unit
    (:func:`_in_header_unit`: 5万元, 800元); InputError for one whose header names a unit not
    converted (:data:`UNCONVERTED_MONEY`: 千元), which would be read as yuan."""
    if "_cny" not in field or column is None:
        return values
    if (unit := UNCONVERTED_MONEY.search(str(column))) is not None:
        raise InputError(f"{where}: column '{column}' ({field}) is in {unit[0]}, which is not "
                         f"read; give the costs in 元, or in 万元 with 万元 in the header")
    if "万元" not in str(column):
        return values
    logger.warning("%s: column '%s' is in 万元; read as %s in yuan (x %g)", where, column, field,
                   WAN_YUAN)
    return _in_header_unit(values, cells, YUAN_DECIMALS)


#: An XML declaration's encoding (<?xml version="1.0" encoding="GB2312"?>).
XML_ENCODING = re.compile(rb"\s*<\?xml[^>]*\sencoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
#: Encodings GDAL's XML parser (expat) reads itself, as Python's codecs name them.
EXPAT_ENCODINGS = ("utf-8", "utf-16", "latin-1", "iso8859-1", "ascii")
#: China's national encodings, each read as GB18030, their superset: a file declared GB2312
#: often holds GBK characters (堃, 喆) beyond it.
GB_ENCODINGS = ("gb2312", "gbk", "gb18030")


#: Bytes of a KML read for its XML declaration.
XML_DECLARATION_BYTES = 256


def _kml_text(path: Path, size: int = -1) -> bytes | None:
    """The first ``size`` bytes (-1: all) of the KML document of a KML file, or of a KMZ (its
    ``doc.kml``, else its first KML, as Google Earth reads it); None for other files."""
    suffix = path.suffix.lower()
    if suffix == ".kml":
        with open(path, "rb") as file:
            return file.read(size)
    if suffix != ".kmz":
        return None
    try:
        with zipfile.ZipFile(path) as kmz:
            names = [n for n in kmz.namelist() if n.lower().endswith(".kml")]
            main = "doc.kml" if "doc.kml" in names else (names[0] if names else None)
            if main is None:
                return None
            with kmz.open(main) as document:
                return document.read(size)
    except (OSError, zipfile.BadZipFile):
        return None  # GDAL says what is wrong with it


def gdal_source(path: Path) -> Path | bytes:
    """What GDAL is given to read ``path``: the file; or, for a KML file (or a KMZ's KML) whose
    XML declaration names an encoding GDAL's XML parser does not know (GB2312 or GBK, as older
    Chinese tools write them; GDAL refuses it as 'unknown encoding'), its text recoded to
    UTF-8."""
    head = _kml_text(path, XML_DECLARATION_BYTES) if path.is_file() else None
    declared = XML_ENCODING.match(head) if head is not None else None
    if declared is None:
        return path
    try:
        codec = codecs.lookup(declared[1].decode("ascii")).name
    except LookupError:
        return path  # GDAL names the encoding it does not know
    if codec in EXPAT_ENCODINGS:
        return path
    codec = "gb18030" if codec in GB_ENCODINGS else codec
    try:
        decoded = _kml_text(path).decode(codec)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: its XML declaration says {declared[1].decode('ascii')}, but "
                         f"byte {exc.start} is not {codec.upper()}; save the KML as "
                         f"UTF-8") from None
    return decoded.replace(declared[1].decode("ascii"), "UTF-8", 1).encode("utf-8")


def layer_names(path: Path, key: str) -> list[str]:
    """The layers of a vector file; ``key`` is the scenario key that names the file."""
    require_file(path, key)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL notices on odd files
            return [str(name) for name, _ in pyogrio.list_layers(gdal_source(path))]
    except Exception as exc:  # pyogrio raises DataSourceError and friends from GDAL
        raise InputError(f"{path}: cannot read the vector file ({first_line(exc)}); is it a "
                         f"GeoPackage, GeoJSON, Shapefile, FlatGeobuf or KML file?") from None


def source_label(source: LayerSource) -> str:
    """How messages name a layer: the file, and its layer or sheet when one is named."""
    if source.layer is None:
        return str(source.path)
    return f"{source.path} {'sheet' if is_table(source.path) else 'layer'} '{source.layer}'"


def has_layer(source: LayerSource) -> bool:
    """Whether an optional GeoPackage layer is there (a missing one means "none")."""
    try:
        return source.layer in layer_names(source.path, source.key)
    except InputError:
        return False


def _layer_setting(source: LayerSource) -> str:
    """The scenario key that chooses the layer of ``source``."""
    return "inputs.layers" if source.key == "inputs.vectors" else f"{source.key}.layer"


def _layers_to_load(source: LayerSource) -> list[str]:
    """The layers read for ``source``: the one it names; else every folder of a KML/KMZ file
    (Google Earth shows them all as one); else the file's first layer; none of a file without
    any."""
    available = layer_names(source.path, source.key)
    if source.layer is None and not available:  # a KML without placemarks: read_layer says
        return []                               # to fill it in
    layer = source.layer if source.layer is not None else available[0]
    if layer not in available:
        raise InputError(f"{source.path}: layer '{layer}' not found (layers: "
                         f"{', '.join(available) or 'none'}); check {_layer_setting(source)} in "
                         f"the scenario")
    if source.layer is None and source.path.suffix.lower() in KML_SUFFIXES and len(available) > 1:
        choice = ("" if _is_command_option(source.key)  # a file the command line names: all
                  else f"; to read one, set {_layer_setting(source)}")
        logger.warning("%s: read all %d folders (%s) as one layer%s", source.path,
                       len(available), ", ".join(available), choice)
        return available
    return [layer]


@contextmanager
def _kml_names_as_written():
    """GDAL's LIBKML driver reads the names of ``<ExtendedData><Data name="人口">`` (what
    Google Earth, Google My Maps and Ovi write) laundered to ASCII by default: every Chinese
    character becomes ``_``, so 编号, 人口 and 区县 all read as ``______``, one column whose
    value is the last of them. Within this context the names are read as written."""
    option = "LIBKML_LAUNDER_FIELD_NAMES"
    before = pyogrio.get_gdal_config_option(option)
    pyogrio.set_gdal_config_options({option: "NO"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({option: before})


def read_vector(path: Path, layer: str | None, where: str, *, warn: bool = True,
                **options) -> pd.DataFrame:
    """The layer ``layer`` of a vector file (its first when None) as pyogrio reads it with
    ``options`` (``read_geometry=False``, ``max_features``), KML ``<ExtendedData>`` names as
    written, a Shapefile's texts decoded as :mod:`siting.io.dbf` finds them encoded (said in
    a warning when the files do not say it, unless not ``warn``). InputError naming ``where``
    when GDAL cannot read it."""
    try:
        with warnings.catch_warnings(), _kml_names_as_written():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL notices on odd files
            source = gdal_source(path)
            layer = layer if layer is not None else str(pyogrio.list_layers(source)[0][0])
            encoding = attribute_encoding(path, layer)
            frame = pyogrio.read_dataframe(source, layer=layer, encoding=RAW_CODEC
                                           if encoding is not None else None, **options)
    except InputError:
        raise
    except Exception as exc:  # pyogrio raises DataSourceError and friends from GDAL
        raise InputError(f"{where}: cannot be read ({first_line(exc)})") from None
    if encoding is None:
        return frame
    if encoding.note is not None and warn:
        logger.warning("%s: %s", where, encoding.note)
    return encoding.decoded(frame)


def _column_names(path: Path) -> tuple[list[str], list[str]]:
    """The column names of a table (its first sheet's header row, found below a title as
    :func:`read_layer` finds it: the row naming the coordinates) or of a vector file's first
    layer, and those of the columns the sheet hides; [] when it cannot be read
    (:func:`read_layer` then says why)."""
    try:
        if is_table(path):
            frame = read_table(path, None, allow_empty=True, is_header=has_coordinates(None, None))
            return ([str(c) for c in frame.columns],
                    [str(c) for c in frame.attrs[HIDDEN_COLUMNS]])
        return [str(c) for c in read_vector(path, None, str(path), warn=False,
                                            read_geometry=False, max_features=1).columns], []
    except (InputError, OSError):
        return [], []


def recognised_columns(path: Path, accepted: Mapping[str, tuple[str, ...]],
                       required) -> tuple[tuple[str, str], ...]:
    """A file named on the command line, where no scenario maps its columns (drive tests,
    new complaints): (field, the file's column) for every field of ``accepted`` (field -> the
    names accepted, siting's first: :func:`siting.io.headers.accepted_names`) the file names
    otherwise, as ``LayerSource.fields`` takes them; InputError naming the names accepted when
    a ``required`` field has none; a column the sheet hides is recognised only when no other
    is (:func:`siting.io.tables.matching_columns`)."""
    header, hidden = _column_names(path)
    if not header:
        return ()
    found = required_columns(path, header, dict(accepted), required, hidden=hidden)
    return tuple((field, column) for field, column in found.items()
                 if column is not None and column != field)


def _load_vector(source: LayerSource, geometry: str) -> gpd.GeoDataFrame:
    frame = vector_features(source)
    if not (isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns):
        raise InputError(f"{source_label(source)}: the layer has no geometry column; expected "
                         f"{geometry}s")
    return frame


def vector_features(source: LayerSource) -> pd.DataFrame:
    """The features of ``source``'s vector file as :func:`read_layer` loads them, unchecked:
    its layer (:func:`_layers_to_load`: every folder of a KML/KMZ, as Google Earth shows
    them), with the fields of a KML's description tables, numbered from 1 as GIS tools show
    them; a GeoDataFrame, or a DataFrame when a layer has no geometry (an attribute table)."""
    where = source_label(source)
    frames = [read_vector(source.path, layer, where) for layer in _layers_to_load(source)]
    if not frames:
        return gpd.GeoDataFrame(geometry=[])
    spatial = all(isinstance(f, gpd.GeoDataFrame) and f.geometry.name in f.columns for f in frames)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if spatial and not isinstance(frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, crs=frames[0].crs)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    if source.path.suffix.lower() in KML_SUFFIXES and "description" in frame.columns:
        frame = _with_description_attributes(frame, where)
    return frame


def _with_description_attributes(frame: gpd.GeoDataFrame, where: str) -> gpd.GeoDataFrame:
    """A KML layer with the fields of its placemarks' description tables as columns
    (:func:`siting.io.kml_tables.description_attributes`: ArcGIS's Layer To KML), beside the
    columns it has, never over them."""
    found = description_attributes(frame["description"])
    added = [c for c in found.columns if c not in frame.columns]
    if not added:
        return frame
    logger.info("%s: read the fields %s from the placemarks' description tables", where,
                ", ".join(map(str, added)))
    return frame.join(found[added])


def _load_table(source: LayerSource, geometry: str, problems: Problems) -> gpd.GeoDataFrame:
    """The table's points (rows without coordinates are named in ``problems``, left out)."""
    where = source_label(source)
    require_file(source.path, source.key)
    if geometry != "Point":
        raise InputError(f"{where}: a table holds points, but this layer needs {geometry}s; give "
                         f"it as a GeoPackage, Shapefile, GeoJSON or KML file")
    frame = read_table(source.path, source.layer, allow_empty=True,  # read_layer says what to do
                       is_header=has_coordinates(source.x, source.y),
                       sheet_key=_sheet_key(source))
    if len(frame.columns) == 0:  # an empty file or sheet: read_layer says to fill it in
        return gpd.GeoDataFrame(geometry=[])
    advice = NAME_COORDINATES_IN_SCENARIO if _sheet_key(source) else NAME_COORDINATES_IN_FILE
    x, y = coordinate_columns(frame, source.x, source.y, where, advice=advice)
    if source.crs is None:
        _warn_of_web_map_columns(source, x, y, where)
    warn_of_hidden_columns(where, {"x": x, "y": y}, frame.attrs[HIDDEN_COLUMNS])
    points = table_points(frame, x, y, None, where, problems)
    points.attrs[HIDDEN_COLUMNS] = frame.attrs[HIDDEN_COLUMNS]
    return points


#: Words in a column's name that say its coordinates come from a Chinese web map, and its system.
WEB_MAP_WORDS = {"高德": "GCJ-02", "amap": "GCJ-02", "gaode": "GCJ-02", "腾讯": "GCJ-02",
                 "tencent": "GCJ-02", "火星": "GCJ-02", "gcj": "GCJ-02", "百度": "BD-09",
                 "baidu": "BD-09", "bd09": "BD-09", "bd-09": "BD-09"}


def _warn_of_web_map_columns(source: LayerSource, x: str, y: str, where: str) -> None:
    """Warn when the coordinate columns' names say a Chinese web map (百度经度, 高德坐标) while
    no ``crs`` declares it: they are read as WGS 84, 300-700 m from where they are."""
    named = " ".join(dict.fromkeys([x, y])).lower()
    system = next((s for word, s in WEB_MAP_WORDS.items() if word in named), None)
    if system is None:
        return
    columns = f"column '{x}'" if x == y else f"columns '{x}'/'{y}'"
    logger.warning("%s: %s name %s coordinates of a web map, but no crs declares them, so they "
                   "are read as WGS 84, 300-700 m from where they are; declare %s (or EPSG:4326 "
                   "if they were converted)", where, columns, system,
                   _crs_declaration(source, system))


def _sheet_key(source: LayerSource) -> str | None:
    """The scenario key whose ``sheet`` chooses the sheet of ``source``; None for a file a
    command's option (``--complaints``) or argument (``MEASUREMENTS``) names."""
    return None if _is_command_option(source.key) or source.key.isupper() else source.key


def _declare_crs(frame: gpd.GeoDataFrame, source: LayerSource, where: str) -> gpd.GeoDataFrame:
    """The frame labelled with the CRS the scenario declares (it overrides the file's label);
    tables without a declaration are WGS 84 longitude/latitude. A layer declared GCJ-02 or
    BD-09 keeps its file's label (a layer digitized over Amap's tiles is often in their Web
    Mercator, EPSG:3857), else is longitude/latitude; it is shifted to WGS 84 once its
    coordinates are checked (:func:`_to_wgs84_from_web_map`)."""
    declared = source.crs
    if declared is None:
        return frame.set_crs("EPSG:4326") if frame.crs is None and is_table(source.path) else frame
    if web_map_system(declared) is not None:
        return frame if frame.crs is not None else frame.set_crs("EPSG:4326")
    try:
        return frame.set_crs(pyproj.CRS.from_user_input(declared), allow_override=True)
    except pyproj.exceptions.CRSError:
        raise InputError(f"{where}: crs {source.crs!r} is not a known CRS; use e.g. EPSG:4326, "
                         f"EPSG:4490, EPSG:4547, GCJ-02 or BD-09") from None


def declared_points(points: gpd.GeoDataFrame, source: LayerSource,
                    columns: tuple[str, str] | None = None) -> gpd.GeoDataFrame:
    """``points`` read from ``source`` (a table's, from its coordinate ``columns``, or a vector
    layer's) as :func:`read_layer` places a layer's: labelled with the CRS ``source`` declares
    (none declared: the file's own, WGS 84 for a table; a table's columns named after a web map
    are warned of), shifted to WGS 84 when declared GCJ-02 or BD-09. InputError naming the
    file when it has no CRS, or its web-map points lie outside China."""
    where = source_label(source)
    if columns is not None and source.crs is None:
        _warn_of_web_map_columns(source, *columns, where)
    points = _declare_crs(points, source, where)
    if points.crs is None:
        raise InputError(f"{where}: no CRS; {_unlabelled_crs_hint(points.geometry)}; declare it "
                         f"with {_crs_setting(source)}, or assign it in the file")
    return _to_wgs84_from_web_map(points, source, where)


def web_map_system(name: str | None) -> str | None:
    """'GCJ-02' or 'BD-09' when ``name`` declares one of them (any spelling), else None."""
    key = "".join(ch for ch in str(name).upper() if ch.isalnum())
    return {"GCJ02": "GCJ-02", "BD09": "BD-09"}.get(key)


def _suggested_mapping(missing: list[str], present: list[str]) -> dict[str, str]:
    """For each missing field, the first present column named as Chinese sheets name it
    (:func:`siting.io.headers.suggested_names`); each column suggested once. The mapping stays
    the planner's to write: a name such as 名称 is not read unasked."""
    suggested = {}
    for field in missing:
        unused = [c for c in present if c not in suggested.values()]
        column = matching_columns(unused, {field: suggested_names(field)})[field]
        if column is not None:
            suggested[field] = column
    return suggested


def mapped_columns(source: LayerSource, columns) -> dict[str, str]:
    """siting's field -> the column of ``columns`` that ``source``'s mapping names for it, as
    :func:`siting.io.tables.column_named` finds it (人口 names a sheet's 人口（人）)."""
    return {field: column_named(column, columns) for field, column in source.column_of.items()}


def _map_fields(frame: gpd.GeoDataFrame, source: LayerSource, wanted: list[str],
                where: str, needed_by: Mapping[str, str]) -> gpd.GeoDataFrame:
    """Rename the file's columns to siting's field names; every wanted field must then exist
    (a missing one that ``needed_by`` names is told which setting reads it). A column the
    mapping names is found as written, else as :func:`siting.io.tables.column_named` finds it."""
    mapping = mapped_columns(source, frame.columns)
    absent = [f"{column} (for {field})" for field, column in mapping.items()
              if column not in frame.columns]
    missing = [f for f in wanted if f not in frame.columns and f not in mapping]
    if absent or missing:
        present = [str(c) for c in frame.columns if c != frame.geometry.name]
        hints = [f"'{m}' (did you mean '{close[0]}'?)" if (close := difflib.get_close_matches(
            m.split(" (")[0], present, n=1)) else f"'{m}'" for m in absent + missing]
        suggested = _suggested_mapping(missing, present)
        example = ("" if not suggested or _is_command_option(source.key) else
                   f", e.g. fields: {{{', '.join(f'{f}: {c}' for f, c in suggested.items())}}}")
        settings = "".join(f"; '{f}' is read for {needed_by[f]}: set it to false if the layer "
                           f"has no such column" for f in missing if f in needed_by)
        raise InputError(f"{where}: missing column(s) {', '.join(hints)}; columns present: "
                         f"{', '.join(present)}; {_mapping_hint(source)}{example}{settings}")
    renamed = {column: field for field, column in mapping.items() if column != field}
    clashes = [field for field in renamed.values() if field in frame.columns]
    frame = frame.drop(columns=[c for c in clashes if c not in renamed])
    return frame.rename(columns=renamed)


def _mapping_hint(source: LayerSource) -> str:
    if source.key == "inputs.vectors":
        return ("add them, or give the layer on its own (inputs.<layer>: {path, layer, fields}) "
                "and map them with fields")
    if _is_command_option(source.key):
        return "rename those columns in the file"
    return f"map them with {source.key}.fields (siting name: column)"


def _is_command_option(key: str) -> bool:
    """Whether a source is named by a command-line option (``--complaints``), not a scenario key."""
    return key.startswith("--")


def _crs_setting(source: LayerSource) -> str:
    """Where the CRS of ``source`` is declared: its scenario key's ``crs``, the option's
    ``-crs`` twin (``--complaints-crs``), or the ``--crs`` of the command whose argument
    (``MEASUREMENTS``) names the file."""
    if _is_command_option(source.key):
        return f"{source.key}-crs"
    return "--crs" if source.key.isupper() else f"{source.key}.crs"


def _crs_declaration(source: LayerSource, crs: str) -> str:
    """How the scenario or the command line declares ``crs`` for ``source``."""
    setting = _crs_setting(source)
    return f"{setting} {crs}" if setting.startswith("--") else f"{setting}: {crs}"


def _index_by_id(frame: gpd.GeoDataFrame, id_field: str, where: str, problems: Problems):
    """The frame indexed by its id field's text as :func:`siting.io.tables.id_text` reads ids
    (``row N`` for features without one: N is the frame's index, a table's spreadsheet row or
    a vector layer's feature number)."""
    raw_ids = frame[id_field]
    no_id = unset_cells(raw_ids)
    labels = raw_ids.map(id_text)
    labels[no_id] = [f"row {row}" for row in frame.index[no_id.to_numpy()]]
    rows = frame.index
    frame.index = pd.Index(labels.astype(str).to_numpy(), dtype=object)
    if no_id.any():
        problems.add(f"{where}: field '{id_field}' is empty{_saying_none(raw_ids, no_id)} for "
                     f"{id_list(frame.index, no_id)}; every feature needs an id")
    failed = excel_errors(raw_ids).to_numpy(bool)
    if failed.any():
        problems.add(f"{where}: field '{id_field}' holds Excel's error {labels[failed].iloc[0]} "
                     f"in row(s) {id_list(rows, failed)}: {EXCEL_ERROR_ADVICE}")
    dup = frame.index[frame.index.duplicated() & ~no_id.to_numpy() & ~failed]
    if len(dup):
        shown = [f"{i} (rows {id_list(rows, frame.index == i)})" for i in sorted(set(dup))]
        problems.add(f"{where}: duplicate {id_field} {', '.join(shown[:5])}"
                     f"{' and more' if len(shown) > 5 else ''}; ids must be unique"
                     f"{scientific_ids_hint(set(dup))}")
    return frame


#: What to do with a feature of the wrong geometry type, by the type a layer holds.
GEOMETRY_FIXES = {
    "Point": "give each its position as a point (QGIS 'Centroids' turns areas into points)",
    "Polygon": "draw each as an area, not its outline as a line (QGIS 'Lines to polygons' "
               "turns closed lines into areas)",
    "LineString": "draw each as a line",
}


def _check_geometries(frame: gpd.GeoDataFrame, geometry: str, where: str, problems: Problems):
    """Report empty, wrongly typed and invalid geometries; single-point MultiPoints become Points."""
    geoms = frame.geometry
    empty = geoms.isna() | geoms.is_empty
    if empty.any():
        problems.add(f"{where}: missing or empty geometry for feature(s) {id_list(frame.index, empty)}")
    wrong = ~empty & ~geoms.geom_type.isin([geometry, f"Multi{geometry}"])
    if wrong.any():
        kinds = sorted(set(geoms.geom_type[wrong]))
        problems.add(f"{where}: expected {geometry} geometries; feature(s) {id_list(frame.index, wrong)} "
                     f"are {', '.join(kinds)}; {GEOMETRY_FIXES[geometry]}")
    invalid = ~empty & ~wrong & ~geoms.is_valid
    if invalid.any():
        reasons = shapely.is_valid_reason(geoms[invalid].to_numpy())
        problems.add(f"{where}: invalid geometry for feature(s) {id_list(frame.index, invalid)} "
                     f"({reasons[0]}); repair it (e.g. QGIS 'Fix geometries')")
    if geometry == "Point" and not (empty | wrong).any():
        multi = geoms.geom_type == "MultiPoint"
        several = multi & (shapely.get_num_geometries(geoms.to_numpy()) != 1)
        if several.any():
            problems.add(f"{where}: feature(s) {id_list(frame.index, several)} are multi-points with "
                         f"more than one point; give each its own feature")
        elif multi.any():
            frame = frame.set_geometry(geoms.map(lambda g: g.geoms[0] if g.geom_type == "MultiPoint" else g))
    usable = ~(empty | wrong)
    if frame.crs is not None and usable.any():
        bounds = frame.geometry[usable].total_bounds
        if (swap := _swapped_axes_problem(frame.geometry[usable], where)) is not None:
            problems.add(swap)
        elif (label := crs_label_problem(bounds, frame.crs, where)) is not None:
            problems.add(label)
        elif (survey := _survey_axes_problem(frame.geometry[usable], frame.crs, where)) is not None:
            problems.add(survey)
    return frame


def _swapped_axes_problem(geoms: gpd.GeoSeries, where: str) -> str | None:
    """Features in degrees whose latitudes pass 90 degrees while their longitudes do not: their
    x and y are swapped, in every feature (the columns) or in some (those rows)."""
    if not geoms.crs.is_geographic:
        return None
    box = geoms.bounds
    lon_deg = np.maximum(box["minx"].abs(), box["maxx"].abs()).to_numpy()
    lat_deg = np.maximum(box["miny"].abs(), box["maxy"].abs()).to_numpy()
    swapped = (lat_deg > 90) & (lon_deg <= 90)
    if not swapped.any():
        return None
    first = np.flatnonzero(swapped)[0]
    fix = ("swap the x and y columns (x is the longitude, 经度)" if swapped.all() else
           "swap the two coordinates in those rows (x is the longitude, 经度)")
    return (f"{where}: feature(s) {id_list(geoms.index, swapped)} have latitudes beyond 90 "
            f"degrees ({geoms.index[first]}: x {box['minx'].iloc[first]:.6g}, y "
            f"{box['miny'].iloc[first]:.6g}): longitude and latitude look swapped; {fix}")


#: How far [degrees] points may lie outside their projected CRS's area of use.
AREA_OF_USE_MARGIN_DEG = 0.5
#: Gauss-Kruger zone numbers written in front of eastings: 6-degree zones 13-23 and 3-degree
#: zones 25-45 cover China.
GAUSS_KRUGER_ZONES = range(13, 46)


def _in_area_of_use(crs: pyproj.CRS, xs: np.ndarray, ys: np.ndarray) -> bool:
    """Whether every point lies within the area of use of the projected ``crs``."""
    area = crs.area_of_use
    to_degrees = pyproj.Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    lon, lat = to_degrees.transform(xs, ys, errcheck=False)
    margin = AREA_OF_USE_MARGIN_DEG
    return bool(np.all(np.isfinite(lon) & np.isfinite(lat)
                       & (lon >= area.west - margin) & (lon <= area.east + margin)
                       & (lat >= area.south - margin) & (lat <= area.north + margin)))


def _zone_prefix(xs: np.ndarray) -> int | None:
    """The Gauss-Kruger zone number every easting carries in its millions (36 of 36512345.6),
    or None."""
    zones = np.unique(np.floor(xs / 1e6))
    return int(zones[0]) if len(zones) == 1 and zones[0] in GAUSS_KRUGER_ZONES else None


#: The first EPSG code of CGCS2000's Gauss-Kruger zones written with their number in front of
#: the easting: 6-degree zones 13-23 (EPSG:4491-4501), 3-degree zones 25-45 (EPSG:4513-4533).
GAUSS_KRUGER_ZONE_EPSG = {13: 4491, 25: 4513}


def _unlabelled_crs_hint(geoms: gpd.GeoSeries) -> str:
    """What the coordinates of a layer without a CRS look like, and the CRS to declare:
    longitude/latitude, a CGCS2000 Gauss-Kruger zone (its number in front of the eastings),
    or projected metres."""
    coords = shapely.get_coordinates(geoms[~(geoms.isna() | geoms.is_empty)].to_numpy())
    if len(coords) == 0:
        return "its coordinates cannot tell which"
    xs, ys = coords[:, 0], coords[:, 1]
    if np.abs(xs).max() <= 180 and np.abs(ys).max() <= 90:
        return ("its coordinates look like longitude and latitude: EPSG:4490 (CGCS2000) or "
                "EPSG:4326 (WGS 84)")
    zone = _zone_prefix(xs)
    if zone is not None:
        first = max(z for z in GAUSS_KRUGER_ZONE_EPSG if z <= zone)
        code = GAUSS_KRUGER_ZONE_EPSG[first] + zone - first
        return (f"its eastings carry the Gauss-Kruger zone number {zone} in front: "
                f"EPSG:{code} ({pyproj.CRS.from_epsg(code).name}) if on CGCS2000")
    return ("its coordinates are projected metres: the Gauss-Kruger or UTM CRS they were "
            "surveyed in, e.g. EPSG:4545 (CGCS2000 / 3-degree Gauss-Kruger CM 108E)")


def _crs_with_zone(crs: pyproj.CRS, zone: int) -> str:
    """The EPSG CRS like ``crs`` whose eastings carry ``zone`` in front (CGCS2000 / 3-degree
    Gauss-Kruger CM 108E -> zone 36, EPSG:4524), or how to find it."""
    name = re.sub(r"CM \d+E$", f"zone {zone}", crs.name)
    for info in pyproj.database.query_crs_info(auth_name="EPSG",
                                               pj_types=pyproj.enums.PJType.PROJECTED_CRS):
        if info.name == name and name != crs.name:
            return f"EPSG:{info.code} ({name})"
    return f"the CRS of Gauss-Kruger zone {zone}"


def _survey_axes_problem(geoms: gpd.GeoSeries, crs, where: str) -> str | None:
    """Projected coordinates outside their CRS's area of use that fit it once read as Chinese
    surveying writes them: X the northing and Y the easting (swapped), and the eastings with
    the Gauss-Kruger zone number in front (36512345.6 in zone 36)."""
    crs = pyproj.CRS.from_user_input(crs)
    if not crs.is_projected or crs.area_of_use is None:
        return None
    coords = shapely.get_coordinates(geoms.to_numpy())
    xs, ys = coords[:, 0], coords[:, 1]
    if _in_area_of_use(crs, xs, ys):
        return None
    for swapped in (False, True):
        eastings, northings = (ys, xs) if swapped else (xs, ys)
        zone = _zone_prefix(eastings)
        if zone is not None:
            eastings = eastings - zone * 1e6
        if (swapped or zone is not None) and _in_area_of_use(crs, eastings, northings):
            fixes = []
            if swapped:
                fixes.append("x and y look swapped (Chinese surveying calls the northing X): give "
                             "the easting column as x: and the northing as y:")
            if zone is not None:
                fixes.append(f"the eastings carry the zone number {zone} in front, which "
                             f"{crs.to_string()} ({crs.name}) does not: declare "
                             f"{_crs_with_zone(crs, zone)} as crs:")
            return (f"{where}: coordinates ({xs.min():.0f}, {ys.min():.0f})-({xs.max():.0f}, "
                    f"{ys.max():.0f}) lie outside the area of {crs.name}; {'; and '.join(fixes)}")
    return None


def _to_wgs84_from_web_map(frame: gpd.GeoDataFrame, source: LayerSource, where: str):
    """Coordinates declared GCJ-02 or BD-09 converted to WGS 84 (:mod:`siting.china_crs`),
    from their longitude and latitude in the layer's own CRS (Web Mercator, for one)."""
    system = web_map_system(source.crs)
    if system is None:
        return frame
    if not pyproj.CRS.from_user_input(frame.crs).is_geographic:
        frame = frame.to_crs("EPSG:4326")
    coords = shapely.get_coordinates(frame.geometry.to_numpy())
    if frame.geometry.geom_type.eq("Point").all():
        _refuse_points_outside_china(frame, coords, system, where)
    try:
        lon, lat = to_wgs84(coords[:, 0], coords[:, 1], system)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    geoms = shapely.set_coordinates(frame.geometry.to_numpy().copy(), np.column_stack([lon, lat]))
    return frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs="EPSG:4326"))


def _refuse_points_outside_china(frame: gpd.GeoDataFrame, coords: np.ndarray, system: str,
                                 where: str) -> None:
    """InputError naming the features (by id) whose web-map coordinates lie outside China,
    where the offset is not defined (:func:`siting.china_crs.outside_china`): a typo in some,
    or, when all are, a layer that is not in ``system``."""
    outside = np.asarray(outside_china(coords[:, 0], coords[:, 1]), dtype=bool)
    if not outside.any():
        return
    first = np.flatnonzero(outside)[0]
    fix = (f"the layer is probably plain WGS 84, not {system}: remove its crs" if outside.all()
           else "check their coordinates")
    raise InputError(f"{where}: feature(s) {id_list(frame.index, outside)} lie outside China "
                     f"({frame.index[first]}: {coords[first, 0]:.6g}, {coords[first, 1]:.6g}), "
                     f"where the {system} offset is not defined; {fix}")


def reproject(frame: gpd.GeoDataFrame, crs: pyproj.CRS, where: str) -> gpd.GeoDataFrame:
    source_crs = pyproj.CRS.from_user_input(frame.crs)
    if source_crs != crs:
        logger.warning("%s: reprojected from %s to the run's CRS %s", where,
                       frame.crs.to_string(), crs.to_string())
        warn_unshifted_datum(where, source_crs, crs)
    try:
        frame = frame.to_crs(crs)
    except Exception as exc:
        raise InputError(f"{where}: cannot be reprojected from {frame.crs.to_string()} to "
                         f"{crs.to_string()} ({first_line(exc)})") from None
    if not np.isfinite(shapely.get_coordinates(frame.geometry.to_numpy())).all():
        raise InputError(f"{where}: reprojection from its CRS to {crs.to_string()} gives "
                         f"invalid coordinates; check the layer's CRS")
    return frame


def _empty_problem(source: LayerSource, where: str, optional: bool) -> str:
    """What an empty layer gets told: fill it in, or (an optional one) leave it out."""
    what = "the table has no rows" if is_table(source.path) else "the layer is empty (no features)"
    if not optional:
        return f"{where}: {what}; fill it in"
    leave_out = (f"remove {source.key} from the scenario" if source.key != "inputs.vectors"
                 else "delete the empty layer from the file")
    return f"{where}: {what}; fill it in, or {leave_out} if there are none"


def read_layer(source: LayerSource, crs: pyproj.CRS | None, fields: dict[str, str],
               id_field: str, *, geometry: str = "Point", check=None,
               optional: bool = False, needed_by: Mapping[str, str] | None = None
               ) -> gpd.GeoDataFrame:
    """Read one input layer, map and check its fields and geometries, and reproject it to ``crs``.

    Any vector format GDAL reads, or a CSV/XLSX table of points (:mod:`siting.io.tables`).
    Every problem of the layer is reported at once (one line each) in one InputError. With
    ``crs=None`` the layer is checked but not reprojected. A field whose kind ends in ``?``
    may be absent; ``needed_by`` names the setting that makes a field required (the error for
    its absence says so). An ``optional`` layer that is empty is told it may be left out.
    ``check(frame, where)`` is an extra
    layer-specific check (raising InputError), run after the fields are coerced. Columns
    beyond ``fields`` are kept as they are.
    """
    where = source_label(source)
    problems = Problems()
    loaded = (_load_table(source, geometry, problems) if is_table(source.path)
              else _load_vector(source, geometry))
    frame = _declare_crs(loaded, source, where)
    if frame.empty:
        problems.raise_if_any()  # every row without coordinates
        raise InputError(_empty_problem(source, where, optional))
    if frame.crs is None:
        prj = " (no .prj file)" if source.path.suffix.lower() in (".shp", ".zip") else ""
        problems.add(f"{where}: no CRS{prj}; {_unlabelled_crs_hint(frame.geometry)}; declare "
                     f"it with {_crs_setting(source)}, or assign it in the file")
    required = [name for name, kind in fields.items() if not kind.endswith("?")]
    wanted = [id_field, *required] if id_field in required else required
    columns = mapped_columns(source, frame.columns)
    warn_of_hidden_columns(where, {name: columns.get(name, name) for name in fields},
                           loaded.attrs.get(HIDDEN_COLUMNS, ()))
    frame = _map_fields(frame, source, list(dict.fromkeys(wanted)), where, needed_by or {})
    if id_field not in frame.columns:  # an optional id: features are named by their row
        frame[id_field] = [f"row {row}" for row in frame.index]
    frame = _index_by_id(frame, id_field, where, problems)
    for name, kind in fields.items():
        if name != id_field and name in frame.columns:
            try:
                values = _coerce(frame, name, kind, where)
                values = in_yuan(values, frame[name], name, columns.get(name), where)
                frame[name] = in_people(values, frame[name], name, columns.get(name),
                                        where).to_numpy()
            except InputError as exc:
                problems.add(_naming_the_column(str(exc), name, columns.get(name)))
    if check is not None:
        problems.attempt(check, frame, where)
    frame = _check_geometries(frame, geometry, where, problems)
    problems.raise_if_any()
    frame = _to_wgs84_from_web_map(frame, source, where)
    if crs is not None:
        frame = reproject(frame, crs, where)
    frame.index.name = None
    return frame


def _naming_the_column(message: str, field: str, column: str | None) -> str:
    """A problem of ``field`` that also names the file's ``column`` mapped to it (the planner
    looks for 是否有光纤 in the sheet, not for has_fiber)."""
    if column is None or column == field:
        return message
    return message.replace(f"field '{field}'", f"field '{field}' (column '{column}')")

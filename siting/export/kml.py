"""``sites.kml`` for Google Earth: the plan's sites, the uncovered mandatory villages and, with
backhaul, the links feeding the sites (WGS84).

Written with :mod:`xml.etree.ElementTree`, which escapes every text node, rather than GDAL's
LIBKML driver, which writes names as raw CDATA (a village named ``<script>`` would reach the
file unescaped) and nests one ``Document`` per layer. Each placemark carries every column of
its table twice: in ``ExtendedData`` (the ``SchemaData`` of its folder's typed ``Schema``, read
by GDAL/ogrinfo and GIS tools as fields of their own names and types) and as an
HTML table in ``description`` (Google Earth's balloon), the HTML escaped before the XML
escaping so the balloon shows text, never markup. Columns added to the tables later (a plan's
phase, say) flow through unchanged.

People read the folder names and the balloon in the scenario's ``report.language``: the balloon's
labels are the columns as :mod:`siting.export.i18n` names them (``field.``: words and unit,
``antenna height [m]``, ``天线挂高 [m]``), its numbers read as the report writes them, its
counties in Chinese by their Chinese names, and its actions, site kinds, reasons and
true/false as words of that language (in English too: ``lamp pole``); a column of the
planner's own (``站名``) keeps its name. A microwave hop is drawn from antenna top to antenna
top, a fiber route on the ground (:func:`_geometry`). What programs read stays English and
unchanged: the ExtendedData field names (but for a clash: :func:`_data_names`) and values.

The file links nothing on the web (it is opened offline too): each style is a colour and a scale
applied to the viewer's own default placemark icon, not an icon fetched from a web host.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting.export.gis import LONLAT_DECIMALS, field_renames, lonlat, no_value, with_whole_number_fields
from siting.export.style import BACKHAUL_COLOURS, WGS84
from siting.export.i18n import admin_text, check_language, term, value_text
from siting.export.cells import FIELD_DECIMALS, cell_text, money_cell, or_dash, persons
from siting.labels import MICROWAVE

KML_NAMESPACE = "http://www.opengis.net/kml/2.2"
#: Characters XML 1.0 cannot hold, not even as a character reference (XML 1.0, 2.2 "Char"):
#: the C0 controls but tab, line feed and carriage return, lone surrogates, U+FFFE and U+FFFF.
NOT_XML_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: Icon colour (KML aabbggrr) of each style: sites by plan action, uncovered villages in red.
STYLE_COLOURS = {"build": "ff0088ff", "upgrade": "ffcc44aa", "keep": "ff999999",
                 "village_uncovered": "ff0000ff"}
#: Icon size of each style, relative to the viewer's default icon: new and upgraded sites stand out.
STYLE_SCALES = {"build": 1.2, "upgrade": 1.1, "keep": 0.8, "village_uncovered": 1.0}
#: Line width of the backhaul links [px].
LINK_WIDTH_PX = 2.5
#: Columns shown first in a site's or village's balloon; the others follow in table order.
SITE_COLUMNS_FIRST = ("action", "technology", "kind", "total_cost_cny", "people_newly_covered")
LINK_COLUMNS_FIRST = ("kind", "to_id", "band_ghz", "length_m", "cost_cny", "min_clearance_f1")
VILLAGE_COLUMNS_FIRST = ("uncovered_reason", "population", "admin_unit", "best_level_dbm")
#: Columns whose values the balloon shows as words (the group of siting.export.i18n.value_text).
VALUE_GROUPS = {"action": "action", "kind": "kind", "uncovered_reason": "reason",
                "status": "village_status", "backhaul": "backhaul"}
#: Columns holding an amount of money [CNY] (``capex_cny``, ``opex_cny_per_year``,
#: ``backhaul_cost_cny``, an input's ``input_capex_cny``): the balloon shows them in the money
#: of its language, as the report does (:func:`~siting.export.cells.money_cell`).
MONEY_COLUMN = re.compile(r".*_cny(_per_year)?")
#: A link's ``kind`` is its backhaul (fiber, microwave, satellite), not a site's kind: its
#: balloon shows it under that field's name and words.
LINK_SHOWN_AS = {"kind": "backhaul"}
#: The column naming a site's or village's admin unit (county).
ADMIN_COLUMN = "admin_unit"
#: Columns counting people: the balloon shows them whole, as the report does
#: (:func:`~siting.export.cells.persons`); ExtendedData keeps their fractions.
PEOPLE_COLUMNS = ("people_served", "people_newly_covered", "population")


@dataclass(frozen=True)
class Words:
    """What the balloons are written in: ``language`` (``en``, ``zh``) and the admin units'
    Chinese names (:func:`~siting.export.i18n.admin_unit_names`)."""

    language: str
    admin_names_zh: dict[str, str]


def write_kml(path: Path, title: str, sites: gpd.GeoDataFrame, villages: gpd.GeoDataFrame, *,
              language: str = "en", links: gpd.GeoDataFrame | None = None,
              admin_names_zh: dict[str, str] | None = None) -> None:
    """``sites`` (from :func:`siting.export.tables.selected_sites`) in the folder "Sites of the
    plan" and ``villages`` (:func:`siting.export.tables.uncovered_mandatory`) in the folder
    "Uncovered mandatory villages", each placemark styled by its action; with ``links``
    (:func:`siting.export.backhaul.backhaul_table`), the folder "Backhaul links", each line
    styled by its kind (a satellite feed has no line).

    The folder names and balloons are in ``language`` (``en`` or ``zh``); ``title`` is shown as
    given (``term("kml.title", language, name=...)`` gives it in the same language); the
    balloons name admin units in Chinese from ``admin_names_zh``
    (:func:`~siting.export.i18n.admin_unit_names`), as the report and map.html do. Year
    labels and counts are ``int`` fields where they are whole numbers, as in sites.gpkg
    (:func:`~siting.export.gis.with_whole_number_fields`).
    """
    check_language(language)
    words = Words(language, admin_names_zh or {})
    sites, villages = with_whole_number_fields(sites), with_whole_number_fields(villages)
    links = None if links is None else with_whole_number_fields(links)
    root = ET.Element("kml", xmlns=KML_NAMESPACE)
    document = ET.SubElement(root, "Document")
    _text(document, "name", title)
    for style_id, colour in STYLE_COLOURS.items():
        _style(document, style_id, colour, STYLE_SCALES[style_id])
    if links is not None:  # every style before the first folder, as KML 2.2's Document orders them
        for kind, colour in BACKHAUL_COLOURS.items():
            _line_style(document, f"link_{kind}", kml_colour(colour))
    # then the schemas, also before the folders
    _schema(document, "sites", sites, SITE_COLUMNS_FIRST, name_column="site_id")
    _schema(document, "villages", villages, VILLAGE_COLUMNS_FIRST, name_column="name")
    if links is not None:
        _schema(document, "links", links, LINK_COLUMNS_FIRST, name_column="from_id")
    _folder(document, term("kml.folder_sites", language), sites, name_column="site_id",
            first=SITE_COLUMNS_FIRST, style_of=lambda row: row["action"], words=words,
            schema_id="sites")
    _folder(document, term("kml.folder_uncovered", language), villages, name_column="name",
            first=VILLAGE_COLUMNS_FIRST, style_of=lambda row: "village_uncovered", words=words,
            schema_id="villages")
    if links is not None:
        _folder(document, term("kml.folder_backhaul", language), links, name_column="from_id",
                first=LINK_COLUMNS_FIRST, style_of=lambda row: f"link_{row['kind']}",
                words=words, shown_as=LINK_SHOWN_AS, schema_id="links",
                heights=hop_heights(links, sites))
    tree = ET.ElementTree(root)
    ET.indent(tree)
    tree.write(path, encoding="UTF-8", xml_declaration=True)


def _style(document: ET.Element, style_id: str, colour: str, scale: float) -> None:
    """A shared style: the default icon tinted ``colour`` (aabbggrr) at ``scale``, no <Icon>
    element (an icon address would need the network), the label in the same colour."""
    style = ET.SubElement(document, "Style", id=style_id)
    icon_style = ET.SubElement(style, "IconStyle")
    _text(icon_style, "color", colour)
    _text(icon_style, "scale", f"{scale:g}")
    _text(ET.SubElement(style, "LabelStyle"), "color", colour)
    # the balloon shows the description table only (not ExtendedData a second time)
    _text(ET.SubElement(style, "BalloonStyle"), "text", "$[description]")


def kml_colour(hex_rgb: str) -> str:
    """An opaque ``#rrggbb`` colour as KML writes it (``aabbggrr``)."""
    red, green, blue = hex_rgb[1:3], hex_rgb[3:5], hex_rgb[5:7]
    return f"ff{blue}{green}{red}"


def _line_style(document: ET.Element, style_id: str, colour: str) -> None:
    """A shared line style: ``colour`` (aabbggrr), :data:`LINK_WIDTH_PX` wide."""
    style = ET.SubElement(document, "Style", id=style_id)
    line_style = ET.SubElement(style, "LineStyle")
    _text(line_style, "color", colour)
    _text(line_style, "width", f"{LINK_WIDTH_PX:g}")
    _text(ET.SubElement(style, "BalloonStyle"), "text", "$[description]")


def hop_heights(links: gpd.GeoDataFrame, sites: gpd.GeoDataFrame) -> list[tuple | None]:
    """For each link (:func:`siting.export.backhaul.backhaul_table`), the antenna heights
    above the ground [m] of the site it feeds (``from_id``, the line's first vertex) and of
    the site feeding it (``to_id``, its last) where it is a microwave hop, from ``sites``'
    ``antenna_height_m``; None for a fiber route or a satellite feed, which lie on the
    ground (or have no line), and for a hop whose masts ``sites`` does not give (a table
    made by hand without ``antenna_height_m``), which is then drawn on the ground."""
    height_m = (dict(zip(sites["site_id"].astype(str), sites["antenna_height_m"].astype(float)))
                if "antenna_height_m" in sites else {})
    ends = [(height_m.get(str(fed)), height_m.get(str(feeder))) if kind == MICROWAVE else None
            for fed, feeder, kind in zip(links["from_id"], links["to_id"], links["kind"])]
    return [None if end is None or None in end else end for end in ends]


def _shapes(frame: gpd.GeoDataFrame, heights: Sequence[tuple | None] | None = None) -> list:
    """Each row's KML geometry as (element, coordinates text, above ground) in WGS84:
    ``Point`` for a point, ``LineString`` for a line; None for a row without geometry. A line
    with ``heights`` (its two ends' heights above the ground [m], :func:`hop_heights`) is a
    radio path: its vertices carry those heights and ``above ground`` is True. Every other
    line's vertices carry the altitude 0, which its ``clampToGround`` ignores: the lines of
    a folder all have three coordinates, so that GDAL reads them as one geometry type
    (LineString Z). Converted to a format of one geometry type per layer (``ogr2ogr -f
    "ESRI Shapefile"``), a folder mixing 2D routes and 3D hops took the type of its first
    line: a 2D route first, and the hops lost their mast heights."""
    if len(frame) and (frame.geometry.geom_type == "Point").all():
        lon, lat = lonlat(frame)
        return [("Point", f"{x:.{LONLAT_DECIMALS}f},{y:.{LONLAT_DECIMALS}f}", False)
                for x, y in zip(lon, lat)]
    shapes = []
    for line, ends_m in zip(frame.geometry.to_crs(WGS84), heights or [None] * len(frame)):
        if line is None or line.is_empty:
            shapes.append(None)
            continue
        # a hop: one straight segment from mast top to mast top; a route: on the ground
        altitudes_m = ends_m if ends_m is not None else [0] * len(line.coords)
        vertices = [f"{x:.{LONLAT_DECIMALS}f},{y:.{LONLAT_DECIMALS}f},{height_m:g}"
                    for (x, y), height_m in zip(line.coords, altitudes_m)]
        shapes.append(("LineString", " ".join(vertices), ends_m is not None))
    return shapes


def _field_order(frame: gpd.GeoDataFrame, first: Sequence[str]) -> list:
    """The columns of ``frame`` but its geometry, those of ``first`` first."""
    return [c for c in first if c in frame] + [
        c for c in frame.columns if c not in first and c != frame.geometry.name]


#: Fields GDAL's KML readers make of a placemark's own elements (LIBKML; the older KML driver
#: reads ``Name`` and ``description`` too): ExtendedData of such a name took the element's
#: place, so a planner's ``NAME`` column replaced the site's id and a ``description`` column
#: its balloon in QGIS.
KML_OWN_FIELDS = ("Name", "description", "timestamp", "begin", "end", "altitudeMode",
                  "tessellate", "extrude", "visibility", "drawOrder", "icon")


def _data_names(frame: gpd.GeoDataFrame, first: Sequence[str], name_column: str) -> dict:
    """Each column of ``frame`` in :func:`_field_order` -> its ExtendedData field name: its
    own, ``input_<name>`` where it clashes with :data:`KML_OWN_FIELDS` or an earlier column
    but for case (:func:`~siting.export.gis.field_renames`); ``name_column`` keeps its name
    (GDAL reads it as the placemark's ``Name``, which holds the same)."""
    columns = _field_order(frame, first)
    renames = field_renames(columns, KML_OWN_FIELDS, keep=(name_column,))
    return {column: renames.get(column, str(column)) for column in columns}


#: Range of KML's ``int`` (xsd:int, 32 bits): a larger integer column is declared ``double``.
KML_INT_RANGE = (-(2 ** 31), 2 ** 31 - 1)


def field_type(column: pd.Series) -> str:
    """The KML ``SimpleField`` type of a column (OGC 07-147r2, 9.9.2): ``bool``, ``int``
    (integers within :data:`KML_INT_RANGE`), ``double`` (other numbers) or ``string``."""
    if pd.api.types.is_bool_dtype(column):
        return "bool"
    if pd.api.types.is_integer_dtype(column) and column.between(*KML_INT_RANGE).all():
        return "int"
    return "double" if pd.api.types.is_numeric_dtype(column) else "string"


def _schema(document: ET.Element, schema_id: str, frame: gpd.GeoDataFrame,
            first: Sequence[str], *, name_column: str) -> None:
    """The typed fields of a folder's ExtendedData: a ``Schema`` with one ``SimpleField`` per
    column (:func:`field_type`). GDAL reads them under their own names and types, where it
    reads untyped ``<Data>`` as text and launders every non-ASCII name (``站名`` became
    ``______``, the same as ``备注``, whose values it then lost)."""
    schema = ET.SubElement(document, "Schema", name=schema_id, id=schema_id)
    for column, field in _data_names(frame, first, name_column).items():
        ET.SubElement(schema, "SimpleField", name=xml_text(field), type=field_type(frame[column]))


def _folder(parent: ET.Element, name: str, frame: gpd.GeoDataFrame, *, name_column: str,
            first: Sequence[str], style_of: Callable[[pd.Series], str], words: Words,
            schema_id: str, shown_as: dict[str, str] | None = None,
            heights: Sequence[tuple | None] | None = None) -> None:
    """One KML folder with a placemark per row of ``frame`` (points or lines), its attributes
    in ``SchemaData`` of the schema ``schema_id`` (:func:`_schema`; a cell of no value,
    :func:`~siting.export.gis.no_value`, left out, so it reads as NULL); ``shown_as`` names
    the field whose name and words a column's balloon row takes; ``heights``: the lines
    drawn between antenna tops (:func:`_shapes`)."""
    folder = ET.SubElement(parent, "Folder")
    _text(folder, "name", name)
    names = _data_names(frame, first, name_column)
    for (_, row), shape in zip(frame[list(names)].iterrows(), _shapes(frame, heights)):
        placemark = ET.SubElement(folder, "Placemark")
        _text(placemark, "name", _as_text(row[name_column]))
        _text(placemark, "description", _balloon(row, words, shown_as or {}))
        _text(placemark, "styleUrl", f"#{style_of(row)}")
        data = ET.SubElement(ET.SubElement(placemark, "ExtendedData"), "SchemaData",
                             schemaUrl=f"#{schema_id}")
        for column, value in row.items():
            if not no_value(value):
                _text(data, "SimpleData", _data_text(value)).set("name", xml_text(names[column]))
        if shape is not None:
            _geometry(placemark, *shape)


def _geometry(placemark: ET.Element, element: str, coordinates: str, above_ground: bool) -> None:
    """A placemark's ``Point`` or ``LineString`` (OGC KML 2.2, 07-147r2, ``kml:LineString``).
    A line on the ground (a fiber route) has ``tessellate`` 1 and the altitude mode
    ``clampToGround`` (its vertices' altitude 0 ignored): Google Earth then drapes it on the
    terrain between its vertices, where it otherwise runs straight through the hills and is
    hidden wherever they rise above it. A line ``above_ground`` (a microwave hop, a
    radio path between two masts) is not draped: its altitude mode is ``relativeToGround``,
    so it runs straight from the antenna top at one end (the ground there plus the mast's
    height, its coordinates' third value) to the one at the other, over the ridges it
    clears."""
    geometry = ET.SubElement(placemark, element)
    if above_ground:
        _text(geometry, "altitudeMode", "relativeToGround")
    elif element == "LineString":  # in the order of KML 2.2's schema
        _text(geometry, "tessellate", "1")
        _text(geometry, "altitudeMode", "clampToGround")
    _text(geometry, "coordinates", coordinates)


def _balloon(row: pd.Series, words: Words, shown_as: dict[str, str]) -> str:
    """Every attribute of ``row`` as an HTML table in ``words`` (a column of ``shown_as``
    under the name and words of the field it maps to), names and values HTML-escaped."""
    shown = [(shown_as.get(column, column), value) for column, value in row.items()]
    cells = "".join(f"<tr><th>{html.escape(value_text('field', column, words.language))}</th>"
                    f"<td>{html.escape(_shown(column, value, words))}</td></tr>"
                    for column, value in shown)
    return f"<table>{cells}</table>"


def _shown(column, value, words: Words) -> str:
    """A value as the balloon shows it: an amount of money (:data:`MONEY_COLUMN`) as the
    report writes it (whole CNY in English, 万元 to 0.01 in Chinese); people
    (:data:`PEOPLE_COLUMNS`) whole and heights, levels, lengths and clearances to the
    report's decimals (:data:`~siting.export.cells.FIELD_DECIMALS`), with thousands
    separators; actions, kinds (``lamp pole``, not the stored ``lamp_pole``), reasons,
    village states, feeds and true/false in the words of its language; an admin unit in Chinese by its Chinese name (汉滨区, not the
    layer's ``Hanbin``: :func:`~siting.export.i18n.admin_text`); a cell of no value (a
    kept site's technology, a satellite feed's far end and band; ExtendedData leaves it out)
    as "-", as the report and map.html show it (:func:`~siting.export.cells.or_dash`), not
    blank; else as in ExtendedData."""
    language = words.language
    if no_value(value):
        return or_dash(value)
    if MONEY_COLUMN.fullmatch(str(column)) and _is_number(value):
        return cell_text(money_cell(float(value), language))
    if column in PEOPLE_COLUMNS and _is_number(value):
        return cell_text(persons(float(value)))
    if column in FIELD_DECIMALS and _is_number(value):
        return cell_text(float(value), FIELD_DECIMALS[column])
    text = _as_text(value)
    if isinstance(value, (bool, np.bool_)):
        return value_text("boolean", text, language)
    if column == ADMIN_COLUMN and text:
        return admin_text(text, language, words.admin_names_zh)
    if column in VALUE_GROUPS and text:
        return value_text(VALUE_GROUPS[column], text, language)
    return text


def xml_text(text: str) -> str:
    """``text`` as an XML 1.0 file can hold it: each of :data:`NOT_XML_CHARACTERS` (the
    vertical tab a cell pasted from Word carries, say) as a space. ElementTree writes such a
    character as it is, and no XML reader (GDAL, Google Earth) then opens the file."""
    return NOT_XML_CHARACTERS.sub(" ", text)


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    """A child element holding ``text`` (:func:`xml_text`; ElementTree escapes it on writing)."""
    element = ET.SubElement(parent, tag)
    element.text = xml_text(text)
    return element


def _is_number(value) -> bool:
    """Whether ``value`` is a number, not a flag, and not missing."""
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_)) and not _missing(value))


def _missing(value) -> bool:
    """Whether a scalar attribute is missing (None, NaN, NaT, pandas' NA)."""
    return pd.api.types.is_scalar(value) and pd.isna(value)


def _data_text(value) -> str:
    """An attribute as ``SimpleData`` holds it: a flag as ``1``/``0`` (xsd:boolean's other
    lexical form: GDAL 3.6's KML readers, QGIS's of that age, parse a ``bool`` field as an
    integer and read ``true`` as 0), anything else as :func:`_as_text`."""
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    return _as_text(value)


def _as_text(value) -> str:
    """An attribute as the balloon and a placemark's name show it: ``true``/``false``, empty
    when missing, numbers rounded to 6 decimals without trailing zeros."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if _missing(value):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6f}".rstrip("0").rstrip(".")
    return str(value)

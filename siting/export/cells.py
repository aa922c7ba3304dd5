"""How a value reads in a table cell of the outputs people read (report, map popups, KML
balloons, comparison, evaluation, terminal summaries): thousands separators, the money of the
language (万元 in Chinese), shares in percent to two decimals, whole people. Kept apart from
:mod:`siting.export.report` so that writers of single files (sites.kml, a prediction's KMZ)
format alike without importing the report's tables."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from numbers import Number

from siting.export.gis import no_value
from siting.export.i18n import MONEY_DECIMALS, money


@dataclass(frozen=True)
class CountOf:
    """``done`` of ``total`` things (villages covered of all villages) as one table cell:
    ``1,234 / 2,150``, thousands separated as every count, and aligned as a number in
    report.html (:func:`is_numeric_cell`)."""

    done: int
    total: int


def is_numeric_cell(value) -> bool:
    """Whether a table cell holds a number (a :class:`CountOf` too), which report.html
    aligns right, digits under digits."""
    return isinstance(value, (Number, CountOf)) and not isinstance(value, bool)


def cell_text(value, decimals: int | None = None) -> str:
    """A table value as text: thousands separators; a number with ``decimals`` decimals when
    given, else none for large or whole numbers (0 people, not 0.00) and two for the others."""
    if decimals is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value + 0.0:,.{decimals}f}"  # + 0.0: -0.0 reads 0
    if isinstance(value, CountOf):
        return f"{value.done:,} / {value.total:,}"
    if isinstance(value, Decimal):  # written to its own decimals (money_cell, percent)
        return f"{value + 0:,}"
    if isinstance(value, float):
        value += 0.0  # -0.0 reads 0
        whole = math.isfinite(value) and value == round(value)
        return f"{value:,.0f}" if abs(value) >= 100 or whole else f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def money_cell(amount_cny: float, lang: str) -> Decimal:
    """An amount [CNY] as a table cell in the money of ``lang`` (:func:`money`: 万元 in
    Chinese) to its decimals (:data:`MONEY_DECIMALS`): 4,499.62 万元 in Chinese, 44,996,200
    CNY in English, whichever table or page shows it (a Decimal: :func:`cell_text` writes it
    so, report.html aligns it as a number)."""
    return Decimal(f"{money(amount_cny, lang):.{MONEY_DECIMALS[lang]}f}")


#: Decimals of a share in percent as the tables show it, every share alike (98.90 beside
#: 100.00, as the sweep's table writes them).
PERCENT_DECIMALS = 2


def percent(part: float, whole: float) -> Decimal:
    """``part`` of ``whole`` [%] as the tables show it: to :data:`PERCENT_DECIMALS` decimals
    whatever its value (a whole 100 reads 100.00 beside 98.90, not 100; a Decimal, so
    :func:`cell_text` writes it so and report.html aligns it as a number)."""
    return Decimal(f"{100 * part / whole:.{PERCENT_DECIMALS}f}")


#: Decimals a measured quantity of the site, village and link tables is shown to, wherever
#: people read it (the report's tables, the sites.kml balloons): antenna heights and levels to
#: 0.1 (m, dB), lengths to the metre, clearances to 0.01 of the first Fresnel radius.
FIELD_DECIMALS = {"antenna_height_m": 1, "best_level_dbm": 1, "length_m": 0,
                  "min_clearance_f1": 2}


def persons(value):
    """A count of people as the report shows it: whole, since a village's or a raster cell's
    share of people is fractional (2.25 people reads 2); what is not a number
    (:data:`NO_VALUE_CELL`, or NaN) stays as it is. The files programs read (CSV, GeoPackage, summary.json) keep the
    fractions."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return value
    return int(round(value))


#: What a cell shows where a value does not apply or is not known, in every table people read
#: (the report's, map.html's popups, the sites.kml balloons, the comparison's and the sweep's
#: tables, in the files and in the terminal).
NO_VALUE_CELL = "-"


def or_dash(value):
    """``value``, or :data:`NO_VALUE_CELL` where it has none (:func:`~siting.export.gis.no_value`:
    None, NaN, pandas' NA, a satellite feed's hop count; the tables' "", its far end or the
    technology a kept site builds)."""
    return NO_VALUE_CELL if no_value(value) else value

"""GIS outputs: ``sites.gpkg`` (vector layers), ``coverage.tif`` (best-server RSRP as a
Cloud-Optimized GeoTIFF) and ``selected_sites.csv`` (the plan's sites with WGS84 and run-CRS
coordinates)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio

from siting.export.style import WGS84
from siting.io.asbuilt import BUILT_YEAR_COLUMN

#: GeoPackage version sites.gpkg declares: 1.2, what GDAL 2.3 to 3.8 write and every GIS tool of
#: that age (QGIS, ArcGIS, GDAL's own ogrinfo) reads without a warning; GDAL 3.9 and later write
#: 1.4 by default, which the older ones report as "may only be partially supported". siting's
#: layers need nothing of 1.3 or 1.4.
GPKG_VERSION = "1.2"
COVERAGE_NODATA_DBM = -999.0
COG_BLOCK_PX = 256  # tile size of coverage.tif
LONLAT_DECIMALS = 6  # about 0.1 m
XY_DECIMALS = 2  # metres in the run CRS: centimetres
#: Text encoding of selected_sites.csv: UTF-8 with a byte-order mark, so that Excel knows it.
CSV_ENCODING = "utf-8-sig"


def write_layers(path: Path, layers: dict[str, gpd.GeoDataFrame],
                 geometry_types: dict[str, str] | None = None) -> None:
    """Write each GeoDataFrame as one layer of a GeoPackage (pyogrio engine).

    Every column is written under its own name (UTF-8, so a planner's ``站名`` stays
    ``站名``) but one the GeoPackage cannot hold as it is (:func:`field_renames`); object
    columns as text, a cell of no value (:func:`no_value`: missing, or the tables' "") as
    NULL, so that a GIS selects it with ``IS NULL``. A layer without any
    geometry (no rows, or satellite links only) is declared of its type in
    ``geometry_types`` (e.g. ``"LineString"``) rather than GDAL's "Unknown", which GIS tools
    cannot style. Year labels and counts are integer fields where they are whole numbers
    (:func:`with_whole_number_fields`). The file declares GeoPackage :data:`GPKG_VERSION`.
    """
    for name, frame in layers.items():
        out = with_whole_number_fields(frame).rename(columns=field_renames(
            frame.columns, GPKG_OWN_COLUMNS, keep=(frame.geometry.name,)))
        for column in out.columns:
            if is_text_column(out[column]) and column != out.geometry.name:
                out[column] = [None if no_value(v) else str(v) for v in out[column]]
        declared = (geometry_types or {}).get(name) if out.geometry.isna().all() else None
        out.to_file(path, layer=name, driver="GPKG", engine="pyogrio", geometry_type=declared,
                    dataset_options={"VERSION": GPKG_VERSION})


#: Columns GDAL's GeoPackage driver adds to every layer: the feature id and the geometry.
GPKG_OWN_COLUMNS = ("fid", "geom")


def field_renames(columns, reserved: Sequence[str], *, keep: Sequence = ()) -> dict[str, str]:
    """The renames that let ``columns`` be the fields of one layer of a GIS file: SQLite and
    GDAL tell field names apart regardless of case, and a driver names fields of its own
    (``reserved``: :data:`GPKG_OWN_COLUMNS`, the KML readers' ``Name`` and ``description``),
    so a column named like one of those (the ``FID`` of a table exported from ArcGIS) or
    like an earlier column but for case (a planner's ``Technology`` beside siting's
    ``technology``) is written as ``input_<name>``, as the tables name an input column that
    clashes (:func:`siting.export.tables.with_input_columns`). The columns of ``keep`` (the
    geometry) are left as they are."""
    taken = {name.lower() for name in reserved}
    renames = {}
    for column in columns:
        if column in keep:
            continue
        name = str(column)
        while name.lower() in taken:
            name = f"input_{name}"
        taken.add(name.lower())
        if name != column:
            renames[column] = name
    return renames


#: Columns of siting's tables holding a year label: the year a phased plan builds a site or a
#: feed in (``phase``) and the year a re-plan's as-built list built a site in
#: (:data:`~siting.io.asbuilt.BUILT_YEAR_COLUMN`). The tables keep them as text, "" where
#: there is none (a phase may be labelled ``2027H1``).
YEAR_COLUMNS = ("phase", BUILT_YEAR_COLUMN)
_WHOLE_NUMBER = re.compile(r"[+-]?\d+")


def year_field(labels: pd.Series) -> pd.Series:
    """A column of year labels as a GIS field: integers (pandas ``Int64``, which GDAL writes
    as an Integer64 field, so QGIS filters ``built_year <= 2027`` as numbers, not as text)
    when every label is a whole number, else text; a blank or missing label is missing
    (NULL) either way."""
    text = ["" if pd.isna(v) else str(v).strip() for v in labels]
    if all(t == "" or _WHOLE_NUMBER.fullmatch(t) for t in text):
        return pd.Series([int(t) if t else None for t in text], index=labels.index, dtype="Int64")
    return pd.Series([t or None for t in text], index=labels.index, dtype=object)


#: Columns of siting's tables that count whole things: a village's listed population (a
#: register counts people). The people a site serves or newly covers and a demand point's
#: ``people`` are not among them: they hold a population raster cell's fractional share.
COUNT_COLUMNS = ("population",)


def count_field(counts: pd.Series) -> pd.Series:
    """A column of counts as a GIS field: integers (pandas ``Int64``, which GDAL writes as an
    Integer64 field) when every count is a whole number, a missing one NULL; else as it is:
    numbers with fractions (a Real field keeping those of a list that gives ``1.23456万``
    people, never rounded), or a planner's own column of that name that holds text."""
    if not pd.api.types.is_float_dtype(counts):
        return counts
    known = counts.dropna().to_numpy()
    if not (np.isfinite(known) & (known == np.floor(known))).all():
        return counts
    return counts.astype("Int64")


def with_whole_number_fields(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each of its :data:`YEAR_COLUMNS` as :func:`year_field` and each of its
    :data:`COUNT_COLUMNS` as :func:`count_field`, as the GIS files (sites.gpkg, sites.kml)
    write them."""
    return frame.assign(**{c: year_field(frame[c]) for c in YEAR_COLUMNS if c in frame},
                        **{c: count_field(frame[c]) for c in COUNT_COLUMNS if c in frame})


def year_labels(layer: pd.DataFrame) -> pd.DataFrame:
    """``layer`` as read back from sites.gpkg (pyogrio reads its integer years as numbers, as
    floats with NaN where one is NULL) with its :data:`YEAR_COLUMNS` as the tables hold them:
    text labels (``2027``), "" where none; the inverse of :func:`year_field`."""
    return layer.assign(**{c: layer[c].map(_year_label) for c in YEAR_COLUMNS if c in layer})


def as_tables_hold(layer: pd.DataFrame) -> pd.DataFrame:
    """``layer`` as read back from sites.gpkg with its fields as the tables hold them: its
    years as labels (:func:`year_labels`), its counts as floats (:func:`count_field`'s
    integers) and its NULL text as "" (what :func:`write_layers` writes as NULL,
    :func:`no_value`), so that a plan read back reads like the one written."""
    layer = year_labels(layer)
    layer = layer.assign(**{c: layer[c].astype(float) for c in COUNT_COLUMNS
                            if c in layer and pd.api.types.is_integer_dtype(layer[c])})
    text = [c for c in layer.columns if is_text_column(layer[c]) and c != _geometry_name(layer)]
    return layer.assign(**{c: layer[c].map(lambda v: "" if no_value(v) else v) for c in text})


def _geometry_name(layer: pd.DataFrame) -> str | None:
    return layer.geometry.name if isinstance(layer, gpd.GeoDataFrame) else None


def _year_label(value) -> str:
    """A year as the tables label it: "" when missing, a whole float without its ``.0``."""
    if pd.isna(value):
        return ""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def is_text_column(column: pd.Series) -> bool:
    """Whether a column holds text (or mixed values) that a GIS file writes as text: pandas'
    ``object`` or ``string`` dtype."""
    return column.dtype == object or isinstance(column.dtype, pd.StringDtype)


def no_value(value) -> bool:
    """Whether a cell has no value, which the GIS files write as NULL (sites.gpkg) or leave
    out (sites.kml's ExtendedData, read as NULL): missing (None, NaN, NaT, pandas' NA) or
    text that is empty or blank (the tables' "" where a village has no serving site, a
    kept site builds no technology, a satellite feed has no far end; a planner's blank
    cell)."""
    if isinstance(value, str):
        return not value.strip()
    return pd.api.types.is_scalar(value) and pd.isna(value)


def overview_count(height_px: int, width_px: int) -> int:
    """Halvings until the raster fits one tile, at least one (so every output has overviews)."""
    return max(1, math.ceil(math.log2(max(height_px, width_px) / COG_BLOCK_PX)))


def cog_profile(shape: tuple[int, int], count: int, transform, crs) -> dict:
    """rasterio's profile of a float32 Cloud-Optimized GeoTIFF (GDAL ``COG`` driver) of
    ``count`` bands: tiles of ``COG_BLOCK_PX``, deflate with the floating-point predictor,
    nodata ``COVERAGE_NODATA_DBM`` and nearest-neighbour overviews (every overview pixel is a
    computed value, never an average of decibels)."""
    return dict(driver="COG", height=shape[0], width=shape[1], count=count, dtype="float32",
                crs=crs, transform=transform, nodata=COVERAGE_NODATA_DBM, blocksize=COG_BLOCK_PX,
                compress="deflate", predictor="floating_point", overview_resampling="nearest",
                overview_count=overview_count(*shape))


def write_level_raster(path: Path, level_dbm: np.ndarray, transform, crs) -> None:
    """Best-server level [dBm] as a float32 Cloud-Optimized GeoTIFF (:func:`cog_profile`),
    nodata ``COVERAGE_NODATA_DBM`` where no signal; the band's unit type (what QGIS and
    ``gdalinfo`` show as the band's unit) ``dBm``, also kept as the file's ``units`` tag."""
    data = np.where(np.isfinite(level_dbm), level_dbm, COVERAGE_NODATA_DBM).astype(np.float32)
    with rasterio.open(path, "w", **cog_profile(data.shape, 1, transform, crs)) as dst:
        dst.write(data, 1)
        dst.set_band_description(1, "best-server RSRP [dBm]")
        dst.set_band_unit(1, "dBm")
        dst.update_tags(units="dBm")


def lonlat(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude [degrees, WGS84] of a point GeoDataFrame, rounded to
    ``LONLAT_DECIMALS``."""
    points = frame.geometry.to_crs(WGS84)
    return (np.round(points.x.to_numpy(), LONLAT_DECIMALS),
            np.round(points.y.to_numpy(), LONLAT_DECIMALS))


def _fixed(values, decimals: int) -> list[str]:
    """Numbers as text with exactly ``decimals`` decimals."""
    return [f"{v:.{decimals}f}" for v in values]


#: What starts a formula in Excel, LibreOffice and Google Sheets (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def inert_text(value):
    """``value`` as a spreadsheet shows it and never evaluates: text that would start a
    formula (``=HYPERLINK(...)``, ``@SUM(1)``) gets a leading apostrophe, as OWASP advises;
    plain numbers such as ``-12.5`` and everything that is not text stay as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def inert_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are :func:`inert_text`."""
    frame = frame.copy()
    for column in frame.columns[frame.dtypes.map(lambda d: not pd.api.types.is_numeric_dtype(d)
                                                 and not pd.api.types.is_bool_dtype(d))]:
        frame[column] = frame[column].map(inert_text)
    return frame


def write_site_csv(path: Path, sites: gpd.GeoDataFrame) -> None:
    """One row per site: ``site_id``, ``lon``, ``lat`` (WGS84, 6 decimals), ``x_m``, ``y_m`` and
    ``crs`` (the run's projected CRS), then every other column of the table unchanged (so
    columns added to the site table, such as a plan's phase, flow through); a column of the
    table named like one of the first six (a candidate sheet's own ``x_m``) as ``input_<name>``.

    Written as UTF-8 with a byte-order mark (``utf-8-sig``): Excel, which reads a CSV without
    one in the system's code page (GBK on a Chinese Windows), then shows Chinese names as
    written. pandas reads it as it is; Python's csv module wants ``encoding="utf-8-sig"``.
    Names are data, never formulas (:func:`inert_cells`).
    """
    lon, lat = lonlat(sites)
    position = pd.DataFrame({
        "site_id": sites["site_id"].to_numpy(),
        "lon": _fixed(lon, LONLAT_DECIMALS), "lat": _fixed(lat, LONLAT_DECIMALS),
        "x_m": _fixed(sites.geometry.x, XY_DECIMALS), "y_m": _fixed(sites.geometry.y, XY_DECIMALS),
        "crs": sites.crs.to_string(),
    })
    attributes = pd.DataFrame(sites.drop(columns=["site_id", sites.geometry.name])).reset_index(drop=True)
    # a planner's own lon, x_m, crs ... column is kept beside the computed one, as input_<name>
    attributes = attributes.rename(columns={c: f"input_{c}" for c in attributes if c in position})
    table = inert_cells(pd.concat([position, attributes], axis=1))
    table.to_csv(path, index=False, encoding=CSV_ENCODING)

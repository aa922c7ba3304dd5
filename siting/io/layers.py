"""One vector layer: read, its fields coerced and checked, reprojected to the run's CRS."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from siting.errors import InputError
from siting.io.problems import Problems, first_line, id_list
from siting.io.rasters import crs_label_problem

logger = logging.getLogger(__name__)


_BOOL_WORDS = {1: True, 0: False, "1": True, "0": False, "true": True, "false": False,
               "True": True, "False": False, "TRUE": True, "FALSE": False, "yes": True, "no": False}


def _coerce(frame: pd.DataFrame, field: str, kind: str, where: str) -> pd.Series:
    column = frame[field]
    ids = frame.index
    if kind == "str":
        missing = column.isna() | (column.astype(str).str.strip() == "")
        if missing.any():
            raise InputError(f"{where}: field '{field}' is empty for feature(s) "
                             f"{id_list(ids, missing)}; fill it in")
        return column.astype(str)
    if kind == "bool":
        if column.dtype == bool:
            return column
        mapped = column.map(lambda v: _BOOL_WORDS.get(v) if isinstance(v, (bool, int, str, np.integer))
                            else _BOOL_WORDS.get(int(v)) if isinstance(v, float) and v in (0.0, 1.0)
                            else None)
        bad = mapped.isna()
        if bad.any():
            raise InputError(f"{where}: field '{field}' must be true/false; feature(s) "
                             f"{id_list(ids, bad)} hold {list(column[bad][:3])}")
        return mapped.astype(bool)
    numeric = pd.to_numeric(column, errors="coerce")
    bad = numeric.isna() | ~np.isfinite(numeric.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        shown = [v for v in column[bad][:3]]
        raise InputError(f"{where}: field '{field}' is missing or not a number for feature(s) "
                         f"{id_list(ids, bad)} (values {shown}); give a number")
    if (numeric < 0).any():
        raise InputError(f"{where}: field '{field}' is negative for feature(s) "
                         f"{id_list(ids, numeric < 0)}")
    return numeric.astype(float)


def layer_names(path: Path) -> list[str]:
    if not path.exists():
        raise InputError(f"{path}: vector file not found; check inputs.vectors in the scenario")
    if path.is_dir():
        raise InputError(f"{path}: inputs.vectors is a folder, not a GeoPackage file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL notices on odd files
            return [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises DataSourceError and friends from GDAL
        raise InputError(f"{path}: cannot read the vector file ({first_line(exc)}); is it a "
                         f"valid GeoPackage?") from None


def read_points(path: Path, layer: str, crs: pyproj.CRS | None, fields: dict[str, str],
                id_field: str, *, geometry: str = "Point", check=None) -> gpd.GeoDataFrame:
    """Read one vector layer, check its fields and geometries, and reproject it to ``crs``.

    Every problem of the layer is reported at once (one line each) in one InputError.
    With ``crs=None`` the layer is checked but not reprojected. ``check(frame, where)`` is an
    extra layer-specific check (raising InputError), run after the fields are coerced.
    """
    where = f"{path} layer '{layer}'"
    available = layer_names(path)
    if layer not in available:
        raise InputError(f"{path}: layer '{layer}' not found (layers: {', '.join(available) or 'none'}); "
                         f"check inputs.layers in the scenario")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL notices on odd files
            frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:
        raise InputError(f"{where}: cannot be read ({first_line(exc)})") from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise InputError(f"{where}: the layer has no geometry column; expected {geometry}s")
    if frame.empty:
        raise InputError(f"{where}: the layer is empty (no features)")
    problems = Problems()
    if frame.crs is None:
        problems.add(f"{where}: no CRS; assign one (e.g. EPSG:4326) in the file")
    missing = [f for f in dict.fromkeys([id_field, *fields]) if f not in frame.columns]
    if missing:
        problems.add(f"{where}: missing field(s) {', '.join(missing)}; add them (see the README's "
                     f"input formats)")
        problems.raise_if_any()
    raw_ids = frame[id_field]
    no_id = raw_ids.isna() | (raw_ids.astype(str).str.strip() == "")
    labels = raw_ids.map(_id_text)
    labels[no_id] = [f"row {i + 1}" for i in np.flatnonzero(no_id.to_numpy())]
    frame.index = pd.Index(labels.astype(str).to_numpy(), dtype=object)
    if no_id.any():
        problems.add(f"{where}: field '{id_field}' is empty for {id_list(frame.index, no_id)}; "
                     f"every feature needs an id")
    for name, kind in fields.items():
        if name == id_field:
            continue
        try:
            frame[name] = _coerce(frame, name, kind, where).to_numpy()
        except InputError as exc:
            problems.add(str(exc))
    dup = frame.index[frame.index.duplicated() & ~no_id.to_numpy()]
    if len(dup):
        shown = sorted(set(dup))
        problems.add(f"{where}: duplicate {id_field} {', '.join(shown[:5])}"
                     f"{' and more' if len(shown) > 5 else ''}; ids must be unique")
    if check is not None:
        problems.attempt(check, frame, where)
    geoms = frame.geometry
    empty = geoms.isna() | geoms.is_empty
    if empty.any():
        problems.add(f"{where}: missing or empty geometry for feature(s) {id_list(frame.index, empty)}")
    wrong = ~empty & ~geoms.geom_type.isin([geometry, f"Multi{geometry}"])
    if wrong.any():
        kinds = sorted(set(geoms.geom_type[wrong]))
        problems.add(f"{where}: expected {geometry} geometries; feature(s) {id_list(frame.index, wrong)} "
                     f"are {', '.join(kinds)}")
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
    if frame.crs is not None and not (empty | wrong).all():
        label = crs_label_problem(frame.geometry[~(empty | wrong)].total_bounds, frame.crs, where)
        if label is not None:
            problems.add(label)
    problems.raise_if_any()
    if crs is not None:
        if pyproj.CRS.from_user_input(frame.crs) != crs:
            logger.warning("%s: reprojected from %s to the run's CRS %s", where,
                           frame.crs.to_string(), crs.to_string())
        try:
            frame = frame.to_crs(crs)
        except Exception as exc:
            raise InputError(f"{where}: cannot be reprojected from {frame.crs.to_string()} to "
                             f"{crs.to_string()} ({first_line(exc)})") from None
        bad = ~np.isfinite(shapely.get_coordinates(frame.geometry.to_numpy())).all()
        if bad:
            raise InputError(f"{where}: reprojection from its CRS to {crs.to_string()} gives "
                             f"invalid coordinates; check the layer's CRS")
    frame.index.name = None
    return frame


def _id_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()

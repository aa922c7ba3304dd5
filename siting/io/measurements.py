"""Drive-test (or crowd-sourced) RSRP measurements for ``siting calibrate``.

A layer per the usual input rules (:func:`siting.io.layers.read_layer`: any vector format, or a
CSV/XLSX table with lon/lat (经度/纬度) columns, WGS 84 unless declared, e.g. ``GCJ-02`` for a
position from Amap): one point per measurement with ``site_id`` (the serving candidate),
``technology`` (a technology name of the scenario) and ``rsrp_dbm``, under siting's names or
the names a drive-test export or a planner's sheet gives them (:data:`MEASUREMENT_COLUMNS`).
RSRP may carry its unit (``-95 dBm``). Every problem is reported at once, one line each,
naming the file, the rows and the field.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting.config import LayerSource, Scenario
from siting.io.layers import read_layer, recognised_columns, source_label
from siting.io.problems import Problems, id_list
from siting.io.region import RegionData
from siting.io.headers import accepted_names
from siting.io.tables import scientific_ids_hint

#: Fields of a measurement; rows without a ``measurement_id`` are named "row N". RSRP is read
#: as text and checked here (the layers' numbers are never negative).
MEASUREMENT_FIELDS = {"measurement_id": "str?", "site_id": "id", "technology": "id",
                      "rsrp_dbm": "str"}
#: The column names accepted for each field, first siting's own; matched by
#: :func:`siting.io.tables.header_key` (case, spaces and full-width forms aside: "RSRP（dBm）").
MEASUREMENT_COLUMNS = {
    "measurement_id": accepted_names("measurement_id"),
    "site_id": accepted_names("site_id", "Site", "Site ID"),  # a TEMS / Nemo cell list's
    "technology": accepted_names("technology"),
    "rsrp_dbm": accepted_names("rsrp_dbm", "RSRP", "RSRP(dBm)", "RSRP[dBm]"),
}
#: A level's unit after its number ("-95 dBm", "-95dBm"), removed before reading the number.
DBM_UNIT = re.compile(r"\s*dbm\s*$", re.IGNORECASE)
#: Minus signs other than ASCII's that spreadsheets and web pages write (full-width, U+2212).
MINUS_SIGNS = str.maketrans({"－": "-", "−": "-"})
#: Measurements each technology needs: one to fit its offset on and one to hold out.
MIN_MEASUREMENTS_PER_TECHNOLOGY = 2
#: RSRP a handset can report [dBm], a margin either side: NR's SS-RSRP reports -156..-31 dBm
#: (3GPP TS 38.133 Table 10.1.6.1-1), LTE's RSRP -140..-44 (TS 36.133 Table 9.1.4-1; -156 with
#: the extended range).
RSRP_RANGE_DBM = (-160.0, -20.0)
#: The lowest RSRP a handset reports [dBm], per generation: LTE's RSRP_00 stands for any
#: level below -140 dBm (3GPP TS 36.133 Table 9.1.4-1), NR's SS-RSRP_0 for any below -156 dBm
#: (3GPP TS 38.133 Table 10.1.6.1-1); drive-test tools write it as the floor itself.
REPORTING_FLOOR_DBM = {"4G": -140.0, "5G": -156.0}


def measurement_columns(path: Path) -> tuple[tuple[str, str], ...]:
    """(field, the file's column) for every field of :data:`MEASUREMENT_COLUMNS` the file
    names otherwise (:func:`siting.io.layers.recognised_columns`); InputError naming the names
    accepted when a required field has none."""
    required = [field for field, kind in MEASUREMENT_FIELDS.items() if not kind.endswith("?")]
    return recognised_columns(path, MEASUREMENT_COLUMNS, required)


def level_dbm(cells: pd.Series) -> np.ndarray:
    """Levels [dBm] of RSRP cells: numbers, or text with the unit (``-95 dBm``) or another
    minus sign; NaN for a cell that is no number."""
    text = cells.astype(str).str.translate(MINUS_SIGNS).str.replace(DBM_UNIT, "", regex=True)
    return pd.to_numeric(text.str.strip(), errors="coerce").to_numpy(float)


def _rows(where: str, frame, mask, field: str, problem: str) -> str:
    """A problem of the measurements at ``mask``, named as the reader labels them ("row 6" in
    a sheet, "feature 4" in a vector file)."""
    return f"{where}: {id_list(frame.index, mask)}: field '{field}': {problem}"


def _check_floor(frame, generations: dict[str, str], technologies, rsrp_dbm: np.ndarray,
                 where: str, problems: Problems) -> None:
    """Technologies whose every measurement lies at the handsets' reporting floor
    (:data:`REPORTING_FLOOR_DBM`): they say only that the levels were at most the floor."""
    technology = frame["technology"].astype(str).to_numpy()
    for name in technologies:
        mine = technology == name
        floor = REPORTING_FLOOR_DBM[generations[name]]
        levels = rsrp_dbm[mine][np.isfinite(rsrp_dbm[mine])]  # no number: said by the range
        if len(levels) and not (levels > floor).any():
            problems.add(_rows(where, frame, mine, "rsrp_dbm",
                               f"every measurement of {name} is at the handsets' reporting "
                               f"floor ({floor:g} dBm: the level was at most that), which any "
                               f"low enough offset fits; add measurements with a level, or "
                               f"delete its rows"))


def _check_rows(frame: gpd.GeoDataFrame, scenario: Scenario, region: RegionData, where: str,
                problems: Problems) -> None:
    """Sites the scenario has, technologies it has and the site allows, RSRP in range, points
    on the DEM."""
    names = {t.name: t.generation for t in scenario.technologies}
    technology = frame["technology"].astype(str)
    unknown = ~technology.isin(list(names))
    if unknown.any():
        problems.add(_rows(where, frame, unknown, "technology",
                           f"{sorted(set(technology[unknown]))[:3]} not among the scenario's "
                           f"technologies ({', '.join(names)}); write one of these names, or "
                           f"delete the rows"))
    counts = technology[~unknown].value_counts()
    for name, count in counts[counts < MIN_MEASUREMENTS_PER_TECHNOLOGY].items():
        problems.add(_rows(where, frame, technology == name, "technology",
                           f"only {count} measurement(s) of {name}; calibration needs at least "
                           f"{MIN_MEASUREMENTS_PER_TECHNOLOGY} of each technology (one to fit "
                           f"its offset on, one to hold out): add measurements or delete its "
                           f"rows"))
    sites = region.candidates
    site = frame["site_id"].astype(str)
    missing = ~site.isin(sites.index.astype(str))
    if missing.any():
        problems.add(_rows(where, frame, missing, "site_id",
                           f"no candidate site {sorted(set(site[missing]))[:3]} in the "
                           f"scenario's candidates; add the site to the candidates (with its "
                           f"position and antenna height), or delete the rows"
                           f"{scientific_ids_hint(set(site[missing]))}"))
    known = ~unknown & ~missing
    allowed = np.array([names[t] in str(sites.loc[s, "technologies"]) if ok else True
                        for s, t, ok in zip(site, technology, known)])
    if not allowed.all():
        problems.add(_rows(where, frame, ~allowed, "technology",
                           "the site does not carry this technology's generation; add it to "
                           "the site's 'technologies' in the candidates, or delete the rows"))
    rsrp = level_dbm(frame["rsrp_dbm"])
    _check_floor(frame, names, counts[counts >= MIN_MEASUREMENTS_PER_TECHNOLOGY].index, rsrp,
                 where, problems)
    low, high = RSRP_RANGE_DBM
    bad = ~((rsrp >= low) & (rsrp <= high))
    if bad.any():
        problems.add(_rows(where, frame, bad, "rsrp_dbm",
                           f"{frame['rsrp_dbm'][bad][:3].tolist()} not a level in "
                           f"{low:g}..{high:g} dBm; correct the levels, or delete the rows"))
    outside = ~region.on_dem(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy())
    if outside.any():
        problems.add(_rows(where, frame, outside, "geometry",
                           "the point lies outside the DEM; delete the rows, or extend "
                           "inputs.dem (positions from Amap or Tencent, or from Baidu, need "
                           "--crs GCJ-02 or --crs BD-09)"))


def read_measurements(path: str | Path, scenario: Scenario, region: RegionData, *,
                      crs: str | None = None) -> gpd.GeoDataFrame:
    """The measurements of ``path`` in the run's CRS, checked against the scenario and its
    region (one InputError listing every problem). ``crs`` declares the coordinates' CRS
    (any pyproj CRS, ``GCJ-02`` or ``BD-09``; None: the file's own, WGS 84 for a table).

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed by measurement id ("row N" without one), with site_id, technology, rsrp_dbm.
    """
    source = LayerSource(path=Path(path), crs=crs, fields=measurement_columns(Path(path)),
                         key="MEASUREMENTS")
    frame = read_layer(source, region.crs, MEASUREMENT_FIELDS, "measurement_id")
    problems = Problems()
    _check_rows(frame, scenario, region, source_label(source), problems)
    problems.raise_if_any()
    return frame.assign(rsrp_dbm=level_dbm(frame["rsrp_dbm"]))

"""Drive-test (or crowd-sourced) RSRP measurements for ``siting calibrate``.

A layer per the usual input rules (:func:`siting.io.layers.read_layer`: any vector format, or a
CSV/XLSX table with lon/lat columns, WGS 84 unless declared): one point per measurement with
``site_id`` (the serving candidate), ``technology`` (a technology name of the scenario) and
``rsrp_dbm``. Every problem is reported at once, one line each, naming the file, the rows and
the field.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting.config import LayerSource, Scenario
from siting.io.layers import read_layer, source_label
from siting.io.problems import Problems, id_list
from siting.io.region import RegionData

#: Fields of a measurement; rows without a ``measurement_id`` are named "row N". RSRP is read
#: as text and checked here (the layers' numbers are never negative).
MEASUREMENT_FIELDS = {"measurement_id": "str?", "site_id": "str", "technology": "str",
                      "rsrp_dbm": "str"}
#: RSRP a handset can report [dBm] (3GPP TS 36.133 reports -140..-44; a margin either side).
RSRP_RANGE_DBM = (-150.0, -20.0)


def _rows(where: str, frame, mask, field: str, problem: str) -> str:
    return f"{where}: row(s) {id_list(frame.index, mask)}: field '{field}': {problem}"


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
                           f"technologies ({', '.join(names)})"))
    sites = region.candidates
    site = frame["site_id"].astype(str)
    missing = ~site.isin(sites.index.astype(str))
    if missing.any():
        problems.add(_rows(where, frame, missing, "site_id",
                           f"no candidate site {sorted(set(site[missing]))[:3]} in the "
                           f"scenario's candidates"))
    known = ~unknown & ~missing
    allowed = np.array([names[t] in str(sites.loc[s, "technologies"]) if ok else True
                        for s, t, ok in zip(site, technology, known)])
    if not allowed.all():
        problems.add(_rows(where, frame, ~allowed, "technology",
                           "the site does not carry this technology's generation"))
    rsrp = pd.to_numeric(frame["rsrp_dbm"], errors="coerce").to_numpy(float)
    low, high = RSRP_RANGE_DBM
    bad = ~((rsrp >= low) & (rsrp <= high))
    if bad.any():
        problems.add(_rows(where, frame, bad, "rsrp_dbm",
                           f"{frame['rsrp_dbm'][bad][:3].tolist()} not a level in "
                           f"{low:g}..{high:g} dBm"))
    outside = ~region.terrain.contains(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy())
    if outside.any():
        problems.add(_rows(where, frame, outside, "geometry",
                           "the point lies outside the DEM"))


def read_measurements(path: str | Path, scenario: Scenario,
                      region: RegionData) -> gpd.GeoDataFrame:
    """The measurements of ``path`` in the run's CRS, checked against the scenario and its
    region (one InputError listing every problem).

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed by measurement id ("row N" without one), with site_id, technology, rsrp_dbm.
    """
    source = LayerSource(path=Path(path), key="MEASUREMENTS")
    frame = read_layer(source, region.crs, MEASUREMENT_FIELDS, "measurement_id")
    problems = Problems()
    _check_rows(frame, scenario, region, source_label(source), problems)
    problems.raise_if_any()
    return frame.assign(rsrp_dbm=frame["rsrp_dbm"].astype(float))

"""The prefecture's own rules, end to end: complaints and 5G zones as planners bring them
(a ticket system's workbook, zones drawn in a web map), relocation settlements, free public
sites and the yearly quota of new sites, each checked against a hand computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj
import yaml

from regions import CRS, TECH_4G, candidate, village, write_region, xy
from siting.china_crs import wgs84_to_gcj02
from siting.config import load_scenario
from siting.pipeline import compute

FLAT = np.full((200, 200), 400.0)
TO_LONLAT = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def _gcj02_text(col_m: float, row_m: float) -> str:
    """The point ``col_m`` east and ``row_m`` south of the test region's corner as Amap's
    coordinate picker copies it: "lon,lat" in GCJ-02, 6 decimals."""
    lon, lat = wgs84_to_gcj02(*TO_LONLAT.transform(*xy(col_m, row_m)))
    return f"{float(lon):.6f},{float(lat):.6f}"


def _set_input(scenario, layer: str, source: dict) -> None:
    doc = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    doc["inputs"][layer] = source
    scenario.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def _built(run) -> dict[str, str]:
    """site_id -> technology of each option the plan builds."""
    options = run.coverage.options.loc[run.plan.new_options]
    return dict(zip(options["site_id"], options["technology"]))


def test_complaints_exported_from_a_ticket_system_are_planned(tmp_path):
    # A complaint system's export: 工单号, 投诉时间, 投诉地址 and the position as Amap gives it
    # (GCJ-02, one cell "lon,lat"); no head count, as complaint points weigh no people. The
    # run refused it: "missing column(s) 'people'", a column siting never used.
    where_m = {"TS20260001": (1500, 1500), "TS20260002": (2000, 1200)}
    scenario = write_region(tmp_path, FLAT, [village("V1", 1000, 1000)],
                            [candidate("S1", 1200, 1000, techs="4G")],
                            technologies=[dict(TECH_4G, max_range_m=1500)])
    pd.DataFrame([{"工单号": ticket, "投诉时间": "2026-03-01 10:12", "投诉地址": "汉滨区某村三组",
                   "经纬度": _gcj02_text(*at), "投诉内容": "室内无信号"}
                  for ticket, at in where_m.items()]).to_excel(tmp_path / "投诉.xlsx", index=False)
    _set_input(scenario, "complaints", {"path": "投诉.xlsx", "crs": "GCJ-02",
                                        "fields": {"complaint_id": "工单号"}})
    run = compute(load_scenario(scenario))
    rows = np.flatnonzero(run.demand.kind == "complaint")
    assert list(run.demand.ref_id[rows]) == list(where_m)
    expected = np.array([xy(*at) for at in where_m.values()])
    # GCJ-02 inverted to WGS 84 to under a millimetre; 6 decimals are 0.1 m
    np.testing.assert_allclose(np.c_[run.demand.x_m[rows], run.demand.y_m[rows]], expected,
                               atol=0.2)
    assert run.demand.mandatory[rows].all() and run.plan.covered_after[rows].all()
    assert _built(run) == {"S1": "4G-1800"}

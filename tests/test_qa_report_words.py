"""The words of the report as a committee reads them: a reason given to a complaint point or
a 5G zone check point does not call it a village, no quantity is named by its key, and a point
in no county says so."""

from __future__ import annotations

import dataclasses
import re

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from regions import CRS, TECH_4G, X0, Y0, candidate, village, write_region, xy
from siting.config import LANGUAGES, load_scenario
from siting.export.i18n import TERMS, term, value_text
from siting.export.report import build_report, render_markdown
from siting.export.tables import plan_tables
from siting.labels import OUTSIDE_ADMIN_UNITS, REASON_NO_BACKHAUL, REASON_NOT_BUILT, REASON_SOLVER_STOPPED
from siting.pipeline import compute


def test_no_uncovered_reason_calls_a_point_a_village():
    """A complaint point left uncovered when the solver stopped read "求解器在找到覆盖该村的方案前
    已停止" (before finding a plan covering this village); every reason is given to villages,
    complaint points and zone check points alike (siting.plan.limit_reasons), so none says 村."""
    reasons = {key: texts["zh"] for key, texts in TERMS.items() if key.startswith("reason.")}
    assert {"reason.solver_stopped", "reason.no_backhaul", "reason.not_built"} <= set(reasons)
    assert [key for key, text in reasons.items() if "村" in text] == []
    for reason in (REASON_SOLVER_STOPPED, REASON_NO_BACKHAUL.format(hops=3), REASON_NOT_BUILT):
        shown = value_text("reason", reason, "zh")
        assert shown != reason and "该处" in shown


def bare_keys(text: str) -> list[str]:
    """The snake_case names in ``text`` that are neither a {placeholder}, part of a dotted
    scenario key (``backhaul.site_traffic_mbps``) nor given in brackets after their words."""
    return [m.group(0) for m in re.finditer(r"(?<![.\w{（])[a-z0-9]+(?:_[a-z0-9]+)+(?![.\w}:])", text)]


def test_the_chinese_report_names_no_quantity_by_its_key():
    """The backhaul section read "不超过所用频段的 capacity_mbps" and "微波频段的 capacity_mbps
    不限制任何一跳": a key for a word; it now reads 容量（capacity_mbps）, the key for the
    scenario file in brackets, as the model names are given."""
    assert bare_keys("频段的 capacity_mbps。") == ["capacity_mbps"]
    assert bare_keys("频段的容量（capacity_mbps）。 {new_sites} backhaul.site_traffic_mbps") == []
    named = {key: bare_keys(texts["zh"]) for key, texts in TERMS.items()
             if key.startswith(("report.", "header.", "kpi.", "reason."))}
    assert {key: keys for key, keys in named.items() if keys} == {}


def region_with_a_point_outside_the_counties(folder):
    """Two counties over the west of a flat 3.6 km region; one site in the west reaching 500 m;
    300 m east of them (within the planning area: the counties widened by the range), out of
    reach, a complaint point (mandatory)."""
    path = write_region(folder, np.full((40, 120), 400.0),
                        villages=[village("V1", 600, 600, population=50, admin="West")],
                        candidates=[candidate("W", 650, 600, techs="4G")],
                        complaints=[{"complaint_id": "C1", "people": 5,
                                     "geometry": Point(*xy(2700, 600))}],
                        technologies=[dict(TECH_4G, max_range_m=500)])
    counties = [box(X0, Y0 - 1200.0, X0 + 1200.0, Y0), box(X0 + 1200.0, Y0 - 1200.0, X0 + 2400.0, Y0)]
    gpd.GeoDataFrame({"admin_unit": ["West", "Middle"]}, geometry=counties, crs=CRS).to_file(
        folder / "region.gpkg", layer="admin_units", engine="pyogrio")
    return path


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_point_outside_every_county_reads_outside_not_blank(tmp_path, language):
    """An uncovered complaint point in no county showed an empty county cell (its admin unit
    is ""), though the county table names such places "(outside admin units)"."""
    run = compute(load_scenario(region_with_a_point_outside_the_counties(tmp_path)))
    tables = plan_tables(run)
    points = tables.summary["uncovered_mandatory_points"]
    assert [(p["id"], p["admin_unit"]) for p in points] == [("C1", "")]
    outputs = dataclasses.replace(tables.scenario.outputs, language=language)
    tables = dataclasses.replace(tables, scenario=dataclasses.replace(tables.scenario, outputs=outputs))
    markdown = render_markdown(build_report(tables))
    row = next(line for line in markdown.splitlines() if "| C1 |" in line)
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2] == value_text("admin", OUTSIDE_ADMIN_UNITS, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_headline_says_when_mandatory_demand_stays_uncovered(tmp_path, language):
    """With a mandatory point left uncovered, the headline showed its counts in a table row and
    the solver line "status optimal"; the first thing the committee reads now says plainly
    that not all mandatory demand is covered, how much is not, and where the reasons are."""
    run = compute(load_scenario(region_with_a_point_outside_the_counties(tmp_path)))
    tables = plan_tables(run)
    uncovered = tables.summary["kpis"]["mandatory_points_uncovered"]
    assert uncovered == {"village": 0, "complaint": 1, "zone": 0}
    outputs = dataclasses.replace(tables.scenario.outputs, language=language)
    tables = dataclasses.replace(tables, scenario=dataclasses.replace(tables.scenario, outputs=outputs))
    headline = build_report(tables).sections[0]
    said = headline.blocks[0]
    assert said == term("report.mandatory_missed", language, section=term("section.uncovered", language),
                        **uncovered)
    assert "1" in said and term("section.uncovered", language) in said

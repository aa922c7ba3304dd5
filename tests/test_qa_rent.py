"""What a free public site costs (公共资源免费开放): its owner charges no rent, and the operator
still pays the construction work at the site, the equipment and the running costs.

A free public site used to be spared its ``capex_cny`` and charged its ``opex_cny_per_year``
(the reverse of the prefecture's rule), which flattered free sites with big build costs and
penalised those with rent.
"""

from __future__ import annotations

import json
import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from regions import CRS, TECH_4G, candidate, village, write_region, xy
from siting.cli import app
from siting.config import load_scenario
from siting.io import read_region
from siting.pipeline import compute, write_outputs
from siting.plan import site_opex_cny_per_year
from siting.rolling import replan_inputs

FLAT = np.full((200, 200), 400.0)
#: One 4G carrier reaching 900 m: each test's sites stand 100 m from the one village.
TECH = dict(TECH_4G, max_range_m=900)
OPEX_YEARS = 5  # the objective's default


def plan_cost_cny(capex_cny: float, site_yearly_cny: float) -> float:
    """What building one site with :data:`TECH` costs a plan, by hand: the site's construction,
    the technology's equipment, and over ``OPEX_YEARS`` the site's yearly cost and the
    technology's opex [CNY]."""
    return (capex_cny + TECH["equipment_capex_cny"]
            + OPEX_YEARS * (site_yearly_cny + TECH["opex_cny_per_year"]))


def _built(run) -> dict[str, float]:
    """site_id -> what the plan charges for each option it builds [CNY]."""
    new = run.plan.new_options
    return dict(zip(run.coverage.options.loc[new, "site_id"], run.plan.costs.total_cny[new]))


def _option_cost(run, site_id: str) -> float:
    """What the cost model charges for building ``site_id``'s one option [CNY]."""
    options = run.coverage.options
    return float(run.plan.costs.total_cny[options.index[options["site_id"] == site_id][0]])


def test_a_free_site_pays_its_construction_and_no_rent_so_the_cheaper_paid_site_wins(tmp_path):
    # FREE, a lamp pole offered free, needs 150,000 of construction; PAID, a rooftop, 50,000,
    # both 10,000 a year of opex (no rent column: that is the site's fee). Waiving FREE's
    # capex (as before) made it 260,000 against PAID's 310,000; it costs 360,000.
    free = candidate("FREE", 1100, 1000, kind="lamp_pole", free=True, capex=150000, techs="4G")
    paid = candidate("PAID", 1100, 1000, kind="rooftop", capex=50000, techs="4G")
    scenario = write_region(tmp_path / "in", FLAT, [village("V1", 1000, 1000)], [free, paid],
                            technologies=[TECH])
    run = compute(load_scenario(scenario))
    free_cny = plan_cost_cny(free["capex_cny"], 0.0)
    paid_cny = plan_cost_cny(paid["capex_cny"], paid["opex_cny_per_year"])
    assert _option_cost(run, "FREE") == pytest.approx(free_cny)
    assert _built(run) == {"PAID": pytest.approx(paid_cny)}
    assert run.plan.solution.objective == pytest.approx(paid_cny)
    out = tmp_path / "out"
    summary = write_outputs(run, out)
    assert json.loads((out / "summary.json").read_text())["kpis"]["total_cost_cny"] == \
        pytest.approx(paid_cny)
    sites = gpd.read_file(out / "sites.gpkg", layer="candidates").set_index("site_id")
    assert sites.loc["PAID", "total_cost_cny"] == pytest.approx(paid_cny)
    # the report's "build every free public site" costs the free site as the plan does
    baseline = {b["label"]: b for b in summary["baselines"]}["build every free public site"]
    assert baseline["cost_cny"] == pytest.approx(free_cny)


def test_with_a_rent_column_a_free_site_is_spared_its_rent_and_a_paid_site_pays_it(tmp_path):
    # FREE: 80,000 to build, 4,000 a year of opex and 6,000 of rent it is spared;
    # PAID: 50,000 to build, 10,000 of opex and 2,000 of rent it pays.
    free = dict(candidate("FREE", 1100, 1000, kind="lamp_pole", free=True, capex=80000,
                          techs="4G"), opex_cny_per_year=4000.0, rent_cny_per_year=6000.0)
    paid = dict(candidate("PAID", 1000, 1100, kind="rooftop", capex=50000, techs="4G"),
                rent_cny_per_year=2000.0)
    scenario = write_region(tmp_path, FLAT, [village("V1", 1000, 1000)], [free, paid],
                            technologies=[TECH])
    run = compute(load_scenario(scenario))
    free_cny = plan_cost_cny(free["capex_cny"], free["opex_cny_per_year"])
    paid_cny = plan_cost_cny(paid["capex_cny"],
                             paid["opex_cny_per_year"] + paid["rent_cny_per_year"])
    assert _option_cost(run, "PAID") == pytest.approx(paid_cny)
    assert _built(run) == {"FREE": pytest.approx(free_cny)}
    assert run.plan.solution.objective == pytest.approx(free_cny)


def _sheet(folder, suffix: str):
    """A candidate sheet headed in Chinese, its rent (租金, in 万元) blank for S2; (path, the
    rows as written)."""
    rows = pd.DataFrame({
        "站址编号": ["S1", "S2", "S3"], "x": [xy(1100, 1000)[0]] * 3,
        "y": [xy(1100, 1000)[1], xy(1000, 1100)[1], xy(900, 1000)[1]],
        "kind": ["lamp_pole", "rooftop", "public_building"], "antenna_height_m": [30.0] * 3,
        "capex_cny": [80000.0, 50000.0, 60000.0], "opex_cny_per_year": [4000.0, 10000.0, 3000.0],
        "free_public": ["是", "否", "否"], "difficult": ["否"] * 3, "extra_cost_cny": [0.0] * 3,
        "technologies": ["4G"] * 3, "租金（万元）": [0.6, None, 0.25]})
    path = folder / f"sites{suffix}"
    if suffix == ".csv":
        rows.to_csv(path, index=False, encoding="utf-8-sig")
    else:
        rows.to_excel(path, index=False)
    return path, rows


def _with_candidates(folder, sheet, fields: dict) -> object:
    """The tiny region with its candidates read from ``sheet`` (x, y in the run's CRS)."""
    scenario = write_region(folder, FLAT, [village("V1", 1000, 1000)], [candidate("X", 0, 0)],
                            technologies=[TECH])
    doc = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    doc["inputs"]["candidates"] = {"path": sheet.name, "x": "x", "y": "y", "crs": CRS,
                                   "fields": {"site_id": "站址编号", **fields}}
    scenario.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return scenario


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_rent_headed_in_chinese_is_read_in_yuan_and_a_blank_cell_is_no_rent(tmp_path, suffix):
    sheet, rows = _sheet(tmp_path, suffix)
    scenario = _with_candidates(tmp_path, sheet, {"rent_cny_per_year": "租金（万元）"})
    candidates = read_region(load_scenario(scenario)).candidates.loc[["S1", "S2", "S3"]]
    rent_cny = rows["租金（万元）"].fillna(0.0).to_numpy() * 10_000
    assert candidates["rent_cny_per_year"].to_numpy() == pytest.approx(rent_cny)
    # S1 is free: spared its rent; S2 and S3 pay their opex and rent
    free = rows["free_public"].eq("是").to_numpy()
    yearly = rows["opex_cny_per_year"].to_numpy() + np.where(free, 0.0, rent_cny)
    assert site_opex_cny_per_year(candidates) == pytest.approx(yearly)


def test_a_rent_column_left_unmapped_is_named_with_the_mapping_to_write(tmp_path, caplog):
    # without the mapping no rent is charged and the free site is spared its opex instead:
    # the run says which column it did not read
    sheet, rows = _sheet(tmp_path, ".csv")
    scenario = _with_candidates(tmp_path, sheet, {})
    with caplog.at_level(logging.WARNING, logger="siting"):
        candidates = read_region(load_scenario(scenario)).candidates.loc[["S1", "S2", "S3"]]
    assert "fields: {rent_cny_per_year: 租金（万元）}" in caplog.text
    assert "sites.csv" in caplog.text
    free = rows["free_public"].eq("是").to_numpy()
    yearly = np.where(free, 0.0, rows["opex_cny_per_year"].to_numpy())
    assert site_opex_cny_per_year(candidates) == pytest.approx(yearly)


def test_a_rent_that_is_not_a_number_is_refused_naming_the_file_site_and_field(tmp_path):
    sheet, rows = _sheet(tmp_path, ".csv")
    rows["租金（万元）"] = rows["租金（万元）"].astype(object)
    rows.loc[1, "租金（万元）"] = "面议"  # "to be negotiated"
    rows.to_csv(sheet, index=False, encoding="utf-8-sig")
    scenario = _with_candidates(tmp_path, sheet, {"rent_cny_per_year": "租金（万元）"})
    result = CliRunner().invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 2, (result.stderr, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.startswith("siting: error:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert all(word in lines[0] for word in ("sites.csv", "S2", "rent_cny_per_year", "租金")), \
        lines[0]


def test_a_replan_charges_a_free_site_the_list_built_no_rent(tmp_path):
    # the as-built list's opex (what a re-plan adds to its cost over opex_years) counts the
    # sites it built as the plan does: FREE's own opex is its fee, waived; the 4G carrier's paid
    free = candidate("FREE", 1100, 1000, kind="lamp_pole", free=True, techs="4G")
    paid = candidate("PAID", 1000, 1100, kind="rooftop", techs="4G")
    scenario = write_region(tmp_path, FLAT, [village("V1", 1000, 1000), village("V2", 3000, 1000)],
                            [free, paid], technologies=[TECH])
    built = tmp_path / "built.csv"
    built.write_text("site_id,technology,year,cost_cny\nFREE,4G-1800,2027,200000\n"
                     "PAID,4G-1800,2027,200000\n", encoding="utf-8")
    loaded = load_scenario(scenario)
    _, _, replan = replan_inputs(read_region(loaded), loaded, built)
    assert replan.opex_cny_per_year == pytest.approx(2 * TECH["opex_cny_per_year"]
                                                     + paid["opex_cny_per_year"])
    assert replan.charged_cny == pytest.approx(2 * 200000 + OPEX_YEARS * replan.opex_cny_per_year)

"""Scenario parsing: good files load, bad ones name the key and what to do."""

from __future__ import annotations

import pytest
import yaml

from siting.config import load_scenario
from siting.errors import ScenarioError

from regions import TECH_4G

BASE = {"name": "t", "inputs": {"dem": "d.tif", "population": "p.tif", "vectors": "v.gpkg"},
        "technologies": [TECH_4G], "objective": {"type": "min_cost"}}


def _write(tmp_path, doc):
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_paths_are_resolved_relative_to_the_scenario(tmp_path):
    scenario = load_scenario(_write(tmp_path, BASE))
    assert scenario.inputs.dem == ((tmp_path / "d.tif").resolve(),)
    assert scenario.inputs.villages.path == (tmp_path / "v.gpkg").resolve()
    assert scenario.inputs.villages.layer == "villages" and scenario.inputs.zones.optional
    assert scenario.technologies[0].rs_epre_dbm == pytest.approx(61.0 - 30.7918, abs=1e-3)


@pytest.mark.parametrize("change, message", [
    ({"objectve": {}}, "unknown key (did you mean 'objective'?)"),
    ({"technologies": [dict(TECH_4G, frequency_mhz=400)]}, "outside the rma_38901 model's range"),
    ({"technologies": [dict(TECH_4G, eirp_dbm=-20, rsrp_threshold_dbm=-50)]}, "not below the EIRP per resource element"),
    ({"technologies": [dict(TECH_4G, eirp_dbm="high")]}, "technologies[4G-1800].eirp_dbm: must be a finite number"),
    ({"technologies": [TECH_4G, TECH_4G]}, "duplicate technology name"),
    ({"objective": {"type": "max_coverage"}}, "max_coverage needs budget_cny"),
    ({"solver": {"name": "gurobi"}}, "solver.name: must be one of highs, cbc"),
    ({"name": "../escape"}, "name: must be a plain name"),
    ({"backhaul": {"microwave": [{"band_ghz": 15, "max_hop_m": "25km", "cost_cny": 1e5}]}},
     "backhaul.microwave[0].max_hop_m: must be a finite number, got '25km'; write a plain "
     "number in metres, e.g. 25000"),
    ({"backhaul": {"microwave": [{"band_ghz": "15 GHz", "max_hop_m": 9000, "cost_cny": 1e5}]}},
     "band_ghz: must be a finite number, got '15 GHz'; write a plain number in GHz, e.g. 15"),
    ({"backhaul": {"fiber_cny_per_km_road": "cheap"}},
     "fiber_cny_per_km_road: must be a finite number, got 'cheap'"),
])
def test_bad_scenarios_name_the_key(tmp_path, change, message):
    with pytest.raises(ScenarioError) as err:
        load_scenario(_write(tmp_path, {**BASE, **change}))
    assert message in str(err.value)
    assert str(tmp_path / "scenario.yaml") in str(err.value)


def test_all_problems_are_reported_at_once(tmp_path):
    doc = {**BASE, "solver": {"time_limit_s": -1}, "demand": {"grid_m": 1}}
    with pytest.raises(ScenarioError) as err:
        load_scenario(_write(tmp_path, doc))
    assert len(str(err.value).splitlines()) == 2


def test_yaml_is_loaded_safely(tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text("name: !!python/object/apply:os.system ['echo pwned']\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(path)


def test_output_settings_default_and_parse(tmp_path):
    assert load_scenario(_write(tmp_path, BASE)).outputs.language == "en"
    doc = BASE | {"report": {"language": "zh"},
                  "map": {"basemap": {"url": "https://t/{z}/{x}/{y}.png", "attribution": "T"}}}
    outputs = load_scenario(_write(tmp_path, doc)).outputs
    assert outputs.language == "zh"
    assert (outputs.basemap.kind, outputs.basemap.url) == ("custom", "https://t/{z}/{x}/{y}.png")


@pytest.mark.parametrize("change, message", [
    ({"report": {"language": "fr"}}, "report.language: must be one of en, zh"),
    ({"map": {"basemap": "google"}}, "map.basemap: must be one of none, osm"),
    ({"map": {"basemap": {"url": "https://t/tile.png", "attribution": "T"}}}, "map.basemap.url"),
])
def test_bad_output_settings(tmp_path, change, message):
    with pytest.raises(ScenarioError, match=message):
        load_scenario(_write(tmp_path, BASE | change))


def test_each_layer_from_its_own_file(tmp_path):
    doc = BASE | {"inputs": {
        "dem": ["tiles/", "more/*.hgt.zip"], "population": None,
        "villages": {"path": "v.xlsx", "sheet": "村庄", "x": "经度", "y": "纬度", "crs": "GCJ-02",
                     "fields": {"name": "村名", "population": "人口"}},
        "candidates": "sites.csv", "vectors": "v.gpkg", "layers": {"zones": None}}}
    inputs = load_scenario(_write(tmp_path, doc)).inputs
    assert inputs.dem == ((tmp_path / "tiles").resolve(), (tmp_path / "more/*.hgt.zip").resolve())
    assert inputs.population is None
    villages = inputs.villages
    assert (villages.layer, villages.x, villages.y, villages.crs) == ("村庄", "经度", "纬度", "GCJ-02")
    assert villages.column_of == {"name": "村名", "population": "人口"}
    assert inputs.candidates.path == (tmp_path / "sites.csv").resolve()
    assert inputs.zones is None and inputs.complaints.layer == "complaints"  # from inputs.vectors


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_a_scenario_saved_by_chinese_notepad_is_read(tmp_path, encoding):
    """Notepad on Chinese Windows saves "ANSI" (GBK) or UTF-8 with a byte-order mark."""
    doc = BASE | {"name": "安康规划", "inputs": {
        "dem": "d.tif", "population": None, "candidates": "站址.csv",
        "villages": {"path": "村庄.xlsx", "fields": {"name": "村名", "population": "人口"}}}}
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding=encoding)
    scenario = load_scenario(path)
    assert scenario.name == "安康规划"
    assert scenario.inputs.villages.column_of == {"name": "村名", "population": "人口"}
    assert scenario.inputs.candidates.path == (tmp_path / "站址.csv").resolve()


def test_a_scenario_in_an_unknown_encoding_is_told_to_be_saved_as_utf8(tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_bytes(b"name: t\ninputs: \xff\xfe\xff\n")
    with pytest.raises(ScenarioError,
                       match="neither UTF-8 nor GB18030.*save the scenario file as UTF-8"):
        load_scenario(path)


@pytest.mark.parametrize("inputs, message", [
    ({"dem": "d.tif", "candidates": "c.csv"}, "inputs.villages: missing"),
    ({"dem": "d.tif", "villages": {"sheet": "x"}, "candidates": "c.csv"}, "inputs.villages.path: missing"),
    ({"dem": "d.tif", "villages": {"path": "v.csv", "fields": ["name"]}, "candidates": "c.csv"},
     "inputs.villages.fields: must map"),
    ({"dem": "d.tif", "villages": {"path": "v.csv", "colums": {}}, "candidates": "c.csv"},
     "inputs.villages.colums: unknown key"),
    ({"dem": "d.tif", "villages": {"path": "v.xlsx", "layer": "a", "sheet": "b"}, "candidates": "c.csv"},
     "not both"),
])
def test_bad_layer_sources(tmp_path, inputs, message):
    with pytest.raises(ScenarioError, match=message):
        load_scenario(_write(tmp_path, BASE | {"inputs": inputs}))


def test_region_bbox(tmp_path):
    scenario = load_scenario(_write(tmp_path, BASE | {"region": {"bbox": [108, 31.7, 110.2, 33.8]}}))
    assert scenario.region.bbox_deg == (108.0, 31.7, 110.2, 33.8)
    with pytest.raises(ScenarioError, match="region.bbox"):
        load_scenario(_write(tmp_path, BASE | {"region": {"bbox": [110, 31, 108, 33]}}))


@pytest.mark.parametrize("typed, slip, message", [
    # name：t at the top: YAML said "line 2: expected '<document start>'"
    ("name：t", "name：t", "'name' is followed by a full-width colon '：'"),
    # opex_years：5 in a section: YAML pointed at the line after it
    ("objective:\n  type: min_cost\n  opex_years：5", "  opex_years：5",
     "'opex_years' is followed by a full-width colon"),
    # a full-width space in the indentation: YAML read '\u3000 type' as an unknown top-level key
    ("objective:\n\u3000 type: min_cost", "\u3000 type: min_cost",
     "indentation holds a full-width space (U+3000"),
])
def test_keys_typed_with_a_chinese_input_method_name_the_line(tmp_path, typed, slip, message):
    doc = {k: v for k, v in BASE.items() if k not in ("name", "objective")}
    lines = yaml.safe_dump(doc, sort_keys=False).splitlines()
    lines = [*lines, *typed.splitlines()] if "objective" in typed else [typed, *lines]
    path = tmp_path / "scenario.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    line_no = lines.index(slip) + 1
    assert str(info.value).startswith(f"{path}: line {line_no}: ")
    assert message in str(info.value) and len(str(info.value).splitlines()) == 1


def test_full_width_colons_in_values_and_comments_are_kept(tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(BASE, allow_unicode=True) + "# 注意：预算单位为元\n"
                    "crs: auto  # 说明：自动\n", encoding="utf-8")
    assert load_scenario(path).name == "t"


def test_numbers_in_exponent_form_are_numbers_as_yaml_1_2_reads_them(tmp_path):
    """``budget_cny: 9e6`` and ``4.5e7``, as planners write millions: PyYAML (YAML 1.1) read
    them as text unless written ``9.0e+6``, and the scenario was refused as not a number."""
    path = tmp_path / "scenario.yaml"
    path.write_text(
        "name: t\ninputs: {dem: dem.tif, population: pop.tif, villages: v.csv, candidates: c.csv}\n"
        "technologies:\n"
        f"  - {yaml.safe_dump(TECH_4G, default_flow_style=True).strip()}\n"
        "objective:\n  type: max_coverage\n  budget_cny: 4.5e7\n  phases:\n"
        "    - {year: 2027, budget_cny: 9e6, max_new_sites: 30}\n"
        "    - {year: 2028, budget_cny: 1.2E7}\n", encoding="utf-8")
    objective = load_scenario(path).objective
    assert objective.budget_cny == 45_000_000.0
    assert [p.budget_cny for p in objective.phases] == [9_000_000.0, 12_000_000.0]
    assert objective.phases[0].max_new_sites == 30 and objective.phases[0].label == "2027"

"""The README is the contract with planners; these tests hold it to the code.

- The "Scenario file" table: every key it lists is one the parser accepts, with the parser's
  default, and every key the parser accepts is listed (learnt from the parser's own "unknown
  key (allowed: ...)" message, so a key added without a README row fails here).
- The outputs it lists (GeoPackage layers and fields, selected_sites.csv columns, summary.json
  keys), read back from a run of a small region with backhaul.
- The spellings it lists (booleans, site kinds, as-built and drive-test columns, coordinate
  columns) against the readers' tables; the Python API's keys; the notice it quotes.
"""
import math
import re
from pathlib import Path

import pytest
import yaml

from siting import ScenarioError, load_scenario

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
UNKNOWN = "qqqqqqqqqq"  # far from every key, so the message lists the allowed ones


def readme_rows() -> dict[str, list[str]]:
    """{key: [type, default, meaning]} of the "Scenario file" table; a row naming several keys
    (`technologies[].itm.time_pct`, `.location_pct`, ...) gives one entry per key."""
    table = README[README.index("## Scenario file"):README.index("## Bring your own data")]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) != 4 or not cells[0].startswith("`") or " field " in cells[0]:
            continue
        names = re.findall(r"`([^`]+)`", cells[0])
        stem = names[0].rsplit(".", 1)[0]
        for name in names:
            rows[stem + name if name.startswith(".") else name] = cells[1:]
    return rows


TECH = {"name": "T", "generation": "4G", "frequency_mhz": 1800, "eirp_dbm": 60,
        "resource_blocks": 100, "rsrp_threshold_dbm": -110, "model": "rma_38901",
        "max_range_m": 10000}
#: The keys the minimal scenario sets itself (their defaults cannot be read from it).
GIVEN = {"objective.max_new_sites", "technologies[].p1812.delta_n", "technologies[].p1812.n0"}
#: Keys a loaded Scenario keeps only through their effect (the layers the GeoPackage gives).
NOT_HELD = {"inputs.vectors", "inputs.layers"}


def minimal() -> dict:
    return {"inputs": {"dem": "dem.tif", "villages": "v.csv", "candidates": "c.csv"},
            "technologies": [dict(TECH), dict(TECH, name="I", model="itm"),
                             dict(TECH, name="P", model="p1812",
                                  p1812={"delta_n": 45, "n0": 325})],
            "objective": {"max_new_sites": 10}}


def load(tmp_path, doc):
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return load_scenario(path)


#: Where an unknown key goes to ask a section for its keys: (README prefix, path in the YAML).
SECTIONS = [("", ()), ("inputs", ("inputs",)), ("demand", ("demand",)),
            ("demand.mandatory", ("demand", "mandatory")), ("demand.backup", ("demand", "backup")),
            ("technologies[]", ("technologies", 0)), ("technologies[].itm", ("technologies", 1, "itm")),
            ("technologies[].p1812", ("technologies", 2, "p1812")), ("objective", ("objective",)),
            ("objective.phases", ("objective", "phases", 0)), ("solver", ("solver",)),
            ("coverage", ("coverage",)), ("backhaul", ("backhaul",)),
            ("backhaul.microwave", ("backhaul", "microwave", 0)), ("report", ("report",)),
            ("map", ("map",)), ("map.basemap", ("map", "basemap")), ("region", ("region",)),
            ("evaluation", ("evaluation",)), ("evaluation.score_weights", ("evaluation", "score_weights")),
            ("land_cover_classes", ("land_cover_classes", 10))]
#: A section's content before the unknown key is added, where an empty one is not valid.
SEEDS = {("objective", "phases", 0): {"year": 2027, "budget_cny": 1e6},
         ("backhaul", "microwave", 0): {"band_ghz": 15, "max_hop_m": 1000, "cost_cny": 1},
         ("map", "basemap"): {"url": "https://t/{z}/{x}/{y}.png", "attribution": "t"},
         ("land_cover_classes", 10): {"name": "trees", "clutter_height_m": 15,
                                      "p2108_type": "trees_forest"}}


def allowed_keys(tmp_path, where: tuple) -> list[str]:
    doc = minimal()
    if where[:2] == ("objective", "phases"):
        doc["objective"] = {"phases": []}
    node = doc
    for i, step in enumerate(where):
        if isinstance(node, list):
            node.extend({} for _ in range(step + 1 - len(node)))
        elif step not in node:
            node[step] = [] if step in ("phases", "microwave") else {}
        if not node[step]:
            node[step] = dict(SEEDS.get(where[:i + 1], {})) or node[step]
        node = node[step]
    node[UNKNOWN] = 1
    with pytest.raises(ScenarioError) as caught:
        load(tmp_path, doc)
    listed = re.search(re.escape(UNKNOWN) + r": unknown key \(allowed: ([^)]*)\)", str(caught.value))
    assert listed, str(caught.value)
    return listed[1].split(", ")


@pytest.mark.parametrize("prefix, where", SECTIONS, ids=[p or "top" for p, _ in SECTIONS])
def test_every_key_the_parser_accepts_is_in_the_readme(tmp_path, prefix, where):
    rows = readme_rows()
    undocumented = []
    for key in allowed_keys(tmp_path, where):
        full = f"{prefix}.{key}" if prefix else key
        has_row = any(name == full or name.startswith((full + ".", full + "[]")) for name in rows)
        # keys of a mapping or list item are named in the row of the key holding them
        in_parent_row = prefix in rows and re.search(rf"\b{re.escape(key)}\b", " ".join(rows[prefix]))
        if not (has_row or in_parent_row):
            undocumented.append(full)
    assert undocumented == []


def test_every_readme_key_is_accepted(tmp_path):
    accepted = set()
    for prefix, where in SECTIONS:
        accepted |= {f"{prefix}.{key}" if prefix else key for key in allowed_keys(tmp_path, where)}
    rows = readme_rows()
    assert len(rows) > 60
    assert sorted(set(rows) - accepted) == []


def documented_default(text: str):
    """The README's default cell as a value, or ... when it is prose (required, file stem)."""
    text = text.strip("`")
    if text in ("none", "null"):
        return None
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"\[[\d, ]+\]", text):
        return [float(v) for v in yaml.safe_load(text)]
    if re.fullmatch(r"\d+/\d+", text):
        top, bottom = text.split("/")
        return int(top) / int(bottom)
    if re.fullmatch(r"-?[\d.]+(e-?\d+)?", text):
        return float(text)
    if re.fullmatch(r"[a-z_0-9]+", text) and text not in ("required",):
        return text
    return ...


#: README key -> where a loaded Scenario holds it, where the names differ.
ATTRIBUTES = {"objective.type": "objective.kind", "report.language": "outputs.language",
              "map.basemap": "outputs.basemap.kind", "technologies[].itm": "technologies[1].itm",
              "technologies[].p1812": "technologies[2].p1812",
              "technologies[]": "technologies[0]", "demand.mandatory.": "demand.mandatory_",
              "demand.backup.": "demand.backup_"}


def scenario_value(scenario, key: str):
    for readme_name, attribute in ATTRIBUTES.items():
        key = key.replace(readme_name, attribute)
    value = scenario
    for part in key.split("."):
        name, index = re.fullmatch(r"(\w+)(?:\[(\d+)\])?", part).groups()
        value = getattr(value, name)
        value = value if index is None else value[int(index)]
    return value


def test_readme_defaults_are_the_parsers(tmp_path):
    scenario = load(tmp_path, minimal())
    compared, wrong = 0, []
    for key, (_, default, _) in readme_rows().items():
        expected = documented_default(default)
        if expected is ... or key in GIVEN | NOT_HELD:
            continue
        actual = scenario_value(scenario, key)
        if isinstance(actual, tuple):  # a list the README calls "none" when it is empty
            actual = list(actual) if actual or expected is not None else None
        same = (math.isclose(actual, expected) if isinstance(expected, float)
                and isinstance(actual, (int, float)) else actual == expected)
        compared += 1
        if not same:
            wrong.append(f"{key}: README {default}, parser {actual!r}")
    assert compared > 50 and wrong == []


# --- The outputs the README lists, against a run of a small region with backhaul ------------

def outputs_row(first_cell: str) -> str:
    """The text of the "## Outputs" table's row whose first cell is ``first_cell`` (without it)."""
    table = README[README.index("## Outputs"):]
    row = next(line for line in table.splitlines() if line.startswith(f"| {first_cell} |"))
    return row[len(f"| {first_cell} |"):]


def names(text: str) -> set[str]:
    """The backticked identifiers of ``text`` (`site_id`, `kpis.total_cost_cny`)."""
    return {name for name in re.findall(r"`([^`]+)`", text) if re.fullmatch(r"[a-z_0-9.]+", name)}


@pytest.fixture(scope="module")
def backhaul_run(tmp_path_factory):
    from typer.testing import CliRunner

    from siting.cli import app
    from test_backhaul_plan import write_backhaul_region
    folder = tmp_path_factory.mktemp("readme")
    scenario = write_backhaul_region(folder / "region")
    result = CliRunner().invoke(app, ["run", str(scenario), "--out", str(folder / "out"), "--quiet"])
    assert result.exit_code == 0, result.stderr
    return folder / "out"


def test_readme_gpkg_layers_and_fields_are_written(backhaul_run):
    import pyogrio
    gpkg = backhaul_run / "sites.gpkg"
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    site_row = outputs_row("`sites.gpkg`")
    assert names(site_row) - {"backhaul", "backhaul_cost_cny"} <= layers
    for layer in ("selected_sites", "candidates"):
        fields = set(pyogrio.read_info(gpkg, layer=layer)["fields"])
        assert {"action", "technology", "backhaul", "backhaul_cost_cny"} <= fields
    links_row = outputs_row("backhaul (with `backhaul.enabled`)")
    link_fields = links_row[links_row.index("with `from_id`"):links_row.index("; fiber is the route")]
    kinds = {"fiber", "microwave", "satellite"}
    assert "backhaul_links" in layers
    links = pyogrio.read_dataframe(gpkg, layer="backhaul_links")
    assert names(link_fields) - kinds - {"site_id"} == set(links.columns) - {"geometry"}
    assert set(links["kind"]) <= kinds and len(links) > 0


def test_readme_selected_sites_columns_are_written(backhaul_run):
    import pandas as pd
    raw = (backhaul_run / "selected_sites.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the byte-order mark the README promises Excel
    table = pd.read_csv(backhaul_run / "selected_sites.csv", encoding="utf-8-sig", dtype=str)
    listed = names(outputs_row("`selected_sites.csv`"))
    assert list(table.columns[:6]) == ["site_id", "lon", "lat", "x_m", "y_m", "crs"]
    assert listed <= set(table.columns)
    assert all(len(value.split(".")[1]) == 6 for value in table["lon"])  # 6 decimals


def test_readme_summary_keys_are_written(backhaul_run):
    import json
    summary = json.loads((backhaul_run / "summary.json").read_text(encoding="utf-8"))
    # peak_memory_mb_workers is a cluster's only; report.language is the scenario key it copies
    listed = names(outputs_row("`summary.json`")) - {"peak_memory_mb_workers", "report.language"}
    listed |= {"backhaul.comparison", "backhaul.relays", "uncovered_mandatory_points",
               "by_admin_unit"}
    missing = []
    for name in listed:
        node = summary
        for part in name.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None and name not in summary.get("timings_s", {}):
            missing.append(name)
    assert missing == []
    assert {"status", "objective", "bound", "gap"} <= set(summary["solver"])
    assert {"cost_cny", "site_cost_cny", "backhaul_cost_cny"} <= set(summary["baselines"][0])


# --- The input spellings the README lists, against the readers' tables ----------------------

def test_readme_boolean_spellings_are_the_readers():
    from siting.io.layers import BOOL_WORDS
    listed = re.search(r"Booleans may be written (.*?); a blank", README, re.S)[1]
    pairs = [pair.split("/") for pair in re.split(r",\s*|\s+or\s+", " ".join(listed.split()))]
    assert len(pairs) == 7
    assert all(BOOL_WORDS[yes] is True and BOOL_WORDS[no] is False for yes, no in pairs)


def test_readme_site_kinds_are_the_readers():
    from siting.io import CANDIDATE_KINDS
    from siting.io.layers import SITE_KIND_NAMES
    row = readme_rows()["inputs.candidates"][2]
    kinds = re.search(r"`kind` \((.*?); or in Chinese: (.*?)\), `antenna_height_m`", row)
    assert tuple(kinds[1].split(", ")) == CANDIDATE_KINDS
    chinese = kinds[2].split(", ")  # one group of names per kind, in the same order
    assert len(chinese) == len(CANDIDATE_KINDS)
    named = {name: kind for kind, group in zip(CANDIDATE_KINDS, chinese) for name in group.split("/")}
    assert named == SITE_KIND_NAMES


def test_readme_as_built_columns_are_the_readers():
    from siting.io.asbuilt import AS_BUILT_COLUMNS, AS_BUILT_OPTIONAL_COLUMNS, BACKHAUL_KINDS
    table = README[README.index("| column | also accepted | meaning |"):]
    rows = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("| `"):
            break
        cells = [c.strip() for c in line.split("|")[1:-1]]
        rows[re.match(r"`(\w+)`", cells[0])[1]] = tuple(cells[1].split(", "))
    accepted = {**AS_BUILT_COLUMNS, **AS_BUILT_OPTIONAL_COLUMNS}
    assert rows == {field: names[1:] for field, names in accepted.items()}
    feeds = dict(re.findall(r"`(fiber|microwave|satellite)` \((\w+)\)", table))
    assert feeds == {kind: words[1] for kind, words in BACKHAUL_KINDS.items()}


def test_readme_measurement_columns_are_the_readers():
    from siting.io.measurements import MEASUREMENT_COLUMNS
    section = README[README.index("### Calibration from drive tests"):]
    listed = {field: tuple(re.split(r",\s*", " ".join(names.split())))
              for field, names in re.findall(r"`(\w+)` \(also\s+([^;]+);", section[:2000])}
    assert listed == {field: names[1:] for field, names in MEASUREMENT_COLUMNS.items()}


def test_readme_quotes_the_compile_notice_as_printed():
    from siting.kernels import COMPILE_TIME_S, COMPILING_NOTICE
    printed = f"siting: notice: {COMPILING_NOTICE.format(seconds=COMPILE_TIME_S)}"
    assert f"``{printed}``" in " ".join(README.split())


def test_readme_study_keys_are_the_studys():
    from siting.study import PLAN_KEYS, SWEEP_KEYS
    api = " ".join(README[README.index("## Python API"):README.index("## Running on a Dask")].split())
    plan = api[api.index("`study.plan(**overrides)` takes"):api.index("Values are checked")]
    sweep = api[api.index("`study.sweep` takes"):api.index("- `siting.prepare` also")]
    # besides the keys: "the scenario file's `objective` keys", "when `microwave` changes"
    assert names(plan) - {"objective", "microwave"} == set(PLAN_KEYS)
    assert names(sweep) - {"study.sweep"} == {*SWEEP_KEYS, "budgets_cny", "max_new_sites"}


def test_readme_layer_mapping_keys_are_the_parsers(tmp_path):
    doc = minimal()
    doc["inputs"]["villages"] = {"path": "v.csv", UNKNOWN: 1}
    with pytest.raises(ScenarioError) as caught:
        load(tmp_path, doc)
    allowed = set(re.search(r"unknown key \(allowed: ([^)]*)\)", str(caught.value))[1].split(", "))
    section = README[README.index("## Bring your own data"):README.index("- **Formats.**")]
    example = set(re.findall(r"^ {8}(\w+):", section, re.M)) | set(re.findall(r"\((\w+): for", section))
    assert example == allowed


def test_readme_coordinate_column_pairs_are_the_readers():
    from siting.io.tables import COORDINATE_COLUMNS
    section = README[README.index("## Bring your own data"):README.index("- **Formats.**")]
    start = section.index("default: detected from")
    listed = " ".join(line.split("#")[-1] for line in section[start:].splitlines()[1:4])
    pairs = re.findall(r"(\w+)/(\w+)", listed)
    assert tuple(pairs) == tuple((x, y) for x, y in COORDINATE_COLUMNS if x != y)
    assert all(x in listed for x, y in COORDINATE_COLUMNS if x == y)  # one "lon,lat" column

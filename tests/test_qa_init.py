"""A planner's first day: ``siting init`` in a folder of their own data, then ``siting validate``,
run as the planner runs them (a subprocess of ``python -m siting.cli``)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from siting.config import Technology

REPO = Path(__file__).resolve().parents[1]


def siting(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "siting.cli", *args], capture_output=True,
                          text=True, encoding="utf-8", cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def test_init_never_replaces_a_planners_own_dem(tmp_path):
    # A planner put their county's DEM and layers into a folder, then ran `siting init` there:
    # the demo's dem.tif, population.tif and region.gpkg silently replaced their files.
    folder = tmp_path / "county"
    folder.mkdir()
    own_dem = b"II*\x00 my county's DEM"
    (folder / "dem.tif").write_bytes(own_dem)
    result = siting("init", str(folder))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"siting: error: {folder / 'dem.tif'}: already exists and would be replaced by the "
        f"sample; use --no-samples to keep your own inputs, or choose another folder"]
    assert sorted(p.name for p in folder.iterdir()) == ["dem.tif"]  # nothing half-written
    assert (folder / "dem.tif").read_bytes() == own_dem
    kept = siting("init", str(folder), "--no-samples")  # what the message says to do
    assert kept.returncode == 0, kept.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["dem.tif", "scenario.yaml"]
    assert (folder / "dem.tif").read_bytes() == own_dem



def template_lines(text: str, key: str) -> list[str]:
    """The template's uncommented lines that set ``key``'s last part (``solver.time_limit_s``:
    every ``time_limit_s:`` line not in a comment)."""
    name = re.split(r"[.\]]", key)[-1]
    return [line for line in text.splitlines() if re.match(rf"\s*(- )?{name}:", line)]


def default_text(value) -> str:
    """A parser default as the template's comment writes it: ``(default 0)``, ``(default none)``."""
    if value is None:
        return "(default none)"
    return f"(default {value:g})" if isinstance(value, (int, float)) else f"(default {value})"


def same(value, default) -> bool:
    """The template's value is the default (4/3 written as 1.3333333)."""
    both_numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (value, default))
    return math.isclose(value, default, rel_tol=1e-6) if both_numbers else value == default


def test_init_template_values_are_the_defaults_or_say_the_default(tmp_path):
    # The template said "every key is listed with its default; delete what you do not need",
    # but gave clutter_loss_db 10 (default 0) and equipment and running costs of 150,000 and
    # 12,000 CNY (default 0) without a word: a planner deleting the line "left at its default"
    # moved every level by 10 dB and dropped the equipment from every cost.
    from test_readme import load, minimal, readme_rows, scenario_value

    from siting import load_scenario
    assert siting("init", str(tmp_path / "new"), "--no-samples").returncode == 0
    path = tmp_path / "new" / "scenario.yaml"
    text = path.read_text(encoding="utf-8")
    template, parser = load_scenario(path), load(tmp_path, minimal())
    checked, silent = 0, []
    for key in readme_rows():
        if key.startswith(("inputs.", "technologies[]", "region.")) or key == "name":
            continue  # inputs are the sample files; technologies below; region has no value
        value, default = scenario_value(template, key), scenario_value(parser, key)
        if key == "objective.max_new_sites":  # the minimal scenario sets one
            default = None
        checked += 1
        if not same(value, default):
            silent += [f"{key}: {line.strip()}" for line in template_lines(text, key)
                       if default_text(default) not in line]
    for field in dataclasses.fields(Technology):
        if field.default is dataclasses.MISSING or field.default is None:
            continue  # required, or a model's own block
        for technology in template.technologies:
            checked += 1
            if not same(getattr(technology, field.name), field.default):
                silent += [f"{technology.name}.{field.name}: {line.strip()}"
                           for line in template_lines(text, field.name)
                           if default_text(field.default) not in line]
    assert checked > 40 and silent == []


def test_readme_default_microwave_bands_are_the_parsers_with_their_capacity():
    # The README's default cell gave each band's hop and cost but not the capacity the parser
    # gives it (400 and 800 Mbit/s), which limits every hop once site_traffic_mbps is set.
    from siting.config import BackhaulSettings
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `backhaul.microwave` |"))
    default_cell = row.split("|")[3]
    bands = re.findall(r"(\d+) GHz / (\d+) km / (\d+) CNY / (\d+) Mbit/s", default_cell)
    assert [tuple(float(v) for v in band) for band in bands] == [
        (band.band_ghz, band.max_hop_m / 1000, band.cost_cny, band.capacity_mbps)
        for band in BackhaulSettings().microwave]


def test_init_template_names_every_optional_candidate_field_of_the_readme(tmp_path):
    # backhaul_in_place (an existing site fed by microwave or a leased line) was in the README
    # but nowhere in the template, so a planner filling it in never learnt that such a site
    # needs no planned feed.
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    fields = re.findall(r"^\| `inputs\.candidates` field `(\w+)`", readme, re.M)
    assert fields
    assert siting("init", str(tmp_path / "new"), "--no-samples").returncode == 0
    template = (tmp_path / "new" / "scenario.yaml").read_text(encoding="utf-8")
    candidates_comment = template[template.index("    candidates: candidates"):
                                  template.index("    complaints: complaints")]
    assert [field for field in fields if not re.search(rf"\b{field}\b", candidates_comment)] == []


def test_init_without_samples_says_which_inputs_to_point_at_ones_data(tmp_path):
    # `siting init DIR --no-samples` said only "check it with: siting validate", whose first
    # words were three errors on files the planner never had (dem.tif, population.tif,
    # region.gpkg, the samples' names); now init names the keys those errors name.
    written = siting("init", str(tmp_path / "new"), "--no-samples")
    assert written.returncode == 0, written.stderr
    checked = siting("validate", str(tmp_path / "new" / "scenario.yaml"))
    assert checked.returncode == 2 and "Traceback" not in checked.stderr
    keys = re.findall(r"check (inputs\.\w+) in the scenario", checked.stderr)
    assert sorted(keys) == ["inputs.dem", "inputs.population", "inputs.vectors"]
    said = written.stdout.split("; check it with")[0]
    assert [key for key in keys if key not in said] == []


def readme_yaml_snippets() -> list[str]:
    """The README's inline YAML examples: backticked ``key: value`` and ``{...}`` mappings."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"`([a-z_.]+: [^`\n]+|\{[^`\n]*\})`", readme)


def plain_values(node) -> list:
    """Every scalar of a parsed YAML tree."""
    if isinstance(node, dict):
        return [v for value in node.values() for v in plain_values(value)]
    if isinstance(node, list):
        return [v for value in node for v in plain_values(value)]
    return [node]


def looks_numeric(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return isinstance(value, str)


def test_readme_yaml_examples_give_numbers_where_they_write_numbers(tmp_path):
    # The README's phased plan was `{year: 2027, budget_cny: 9e6, max_new_sites: 30}`; YAML reads
    # 9e6 (no dot) as text, and a planner copying it got "objective.phases[0].budget_cny: must
    # be a finite number, got '9e6'".
    snippets = readme_yaml_snippets()
    assert any("phases" in s or "year:" in s for s in snippets)
    as_text = {snippet: [v for v in plain_values(yaml.safe_load(snippet)) if looks_numeric(v)]
               for snippet in snippets}
    assert {snippet: values for snippet, values in as_text.items() if values} == {}
    phase = next(s for s in snippets if s.startswith("{year:"))
    assert siting("init", str(tmp_path / "new"), "--no-samples").returncode == 0
    path = tmp_path / "new" / "scenario.yaml"
    text = path.read_text(encoding="utf-8").replace("  # phases:\n", f"  phases:\n    - {phase}\n")
    path.write_text(text, encoding="utf-8")
    from siting import load_scenario
    assert [p.budget_cny for p in load_scenario(path).objective.phases] == [
        yaml.safe_load(phase)["budget_cny"]]


def test_init_template_own_tile_server_example_loads_as_written(tmp_path):
    # The template's comment offered `{url: https://host/{z}/{x}/{y}.png, attribution: ...}`;
    # written so, the url's braces end YAML's flow mapping and the scenario is "not valid YAML".
    assert siting("init", str(tmp_path / "new"), "--no-samples").returncode == 0
    path = tmp_path / "new" / "scenario.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  basemap:"))
    example = next(line for line in lines[start + 1:] if line.startswith("  # basemap:"))
    lines[start] = example.replace("# ", "", 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from siting import load_scenario
    basemap = load_scenario(path).outputs.basemap
    written = yaml.safe_load(example.replace("# ", "", 1))["basemap"]
    assert (basemap.kind, basemap.url, basemap.attribution) == (
        "custom", written["url"], written["attribution"])
    assert all(part in basemap.url for part in ("{z}", "{x}", "{y}"))


def test_init_prints_a_validate_command_that_runs_as_pasted(tmp_path):
    # In a folder named with a space ("安康 县"), init printed `siting validate 安康 县/scenario.yaml`,
    # which the shell splits into two arguments: pasted, it failed.
    folder = tmp_path / "安康 县"
    written = siting("init", str(folder))
    assert written.returncode == 0, written.stderr
    command = shlex.split(written.stdout.split("check it with: ")[1])
    assert command[:2] == ["siting", "validate"]
    checked = siting(*command[1:])
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"{folder / 'scenario.yaml'}: OK")


def test_validate_says_how_to_run_the_plan_and_where_its_outputs_go(tmp_path):
    # validate's "OK" was its last word: a planner learnt neither the next command nor where a
    # run would write (out/<name> under the folder the command runs in, not the scenario's).
    from regions import candidate, ridge_dem, village, write_region
    scenario = write_region(tmp_path / "my county", ridge_dem(), villages=[village("V1", 1000, 3000)],
                            candidates=[candidate("S1", 1500, 3000)], name="县 plan")
    work = tmp_path / "work"
    work.mkdir()
    checked = siting("validate", str(scenario), cwd=work)
    assert checked.returncode == 0, checked.stderr
    hint = re.fullmatch(r"plan it with: (.+) \(outputs in (.+), or --out DIR\)",
                        checked.stdout.splitlines()[-1])
    assert hint, checked.stdout
    command = shlex.split(hint[1])
    assert command[:2] == ["siting", "run"]
    planned = siting(*command[1:], "--quiet", cwd=work)
    assert planned.returncode == 0, planned.stderr
    assert json.loads((work / hint[2] / "summary.json").read_text(encoding="utf-8"))["kpis"]


def test_readme_says_where_the_siting_command_is_before_using_it_bare():
    # The README's command list (and init's "check it with: siting validate ...") use a bare
    # `siting`, but `make` installs it only into .venv/bin: a first-day planner's shell said
    # "siting: command not found". The section now names the script and the activation, and
    # both are where the environment running these tests has them.
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Command line"):readme.index("    siting run SCENARIO.yaml")]
    named = re.findall(r"`(?:\. )?(\.venv/bin/\w+)`", section)
    assert sorted(named) == [".venv/bin/activate", ".venv/bin/siting"]
    bin_dir = Path(sys.executable).parent
    if bin_dir.parent.name != ".venv":
        pytest.skip(f"not run from a make-built .venv ({sys.executable})")
    for path in named:
        assert (bin_dir.parent.parent / path).is_file(), path
    script = (bin_dir / "siting").read_text(encoding="utf-8")
    assert "from siting.cli import main" in script


def test_init_given_the_scenario_file_instead_of_its_folder_says_so(tmp_path):
    # `siting init county/scenario.yaml` made a folder named scenario.yaml holding
    # county/scenario.yaml/scenario.yaml, which the planner then could not find nor validate.
    given = tmp_path / "county" / "scenario.yaml"
    result = siting("init", str(given), "--no-samples")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"siting: error: {given}: init takes the folder to create the scenario in (it writes "
        f"scenario.yaml there); give {tmp_path / 'county'}"]
    assert not (tmp_path / "county").exists()  # nothing written
    assert siting("init", str(tmp_path / "county"), "--no-samples").returncode == 0
    assert given.is_file()


def test_init_names_the_run_after_its_folder_so_two_counties_keep_their_outputs(tmp_path):
    # Every template was `name: my-region`, so the plans of two counties initialised side by side
    # both went to out/my-region, the second replacing the first's outputs.
    from siting import load_scenario
    folders = ["石泉县", "汉阴县", "2027", "yes", "a: b # c"]  # the last three YAML reads otherwise
    for folder in folders:
        assert siting("init", str(tmp_path / folder), "--no-samples").returncode == 0
    names = [load_scenario(tmp_path / folder / "scenario.yaml").name for folder in folders]
    assert names == folders


def test_layers_left_without_their_geopackage_are_refused_not_ignored(tmp_path):
    # A planner with files of their own deletes the template's `vectors: region.gpkg` line but
    # leaves its `layers:` block (complaints, zones, admin_units): validate said OK and the run
    # read none of those layers, the counties and complaints silently gone from the plan.
    from regions import candidate, ridge_dem, village, write_region
    scenario = write_region(tmp_path / "county", ridge_dem(), villages=[village("V1", 1000, 3000)],
                            candidates=[candidate("S1", 1500, 3000)],
                            complaints=[{"complaint_id": "C1", "people": 20,
                                         "geometry": village("V1", 1200, 3000)["geometry"]}])
    doc = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    del doc["inputs"]["vectors"]
    doc["inputs"] |= {"villages": {"path": "region.gpkg", "layer": "villages"},
                      "candidates": {"path": "region.gpkg", "layer": "candidates"},
                      "layers": {"complaints": "complaints", "admin_units": "admin_units"}}
    scenario.write_text(yaml.safe_dump(doc), encoding="utf-8")
    checked = siting("validate", str(scenario))
    assert checked.returncode == 2 and "Traceback" not in checked.stderr
    assert checked.stderr.splitlines() == [
        f"siting: error: {scenario}: inputs.layers: names layers of inputs.vectors, which is not "
        f"given, so none of them is read: remove inputs.layers, or give each layer its own file "
        f"(e.g. inputs.complaints: complaints.csv), or give inputs.vectors"]
    doc["inputs"] |= {"complaints": {"path": "region.gpkg", "layer": "complaints"}}
    del doc["inputs"]["layers"]
    scenario.write_text(yaml.safe_dump(doc), encoding="utf-8")  # what the message says to do
    fixed = siting("validate", str(scenario))
    assert fixed.returncode == 0, fixed.stderr
    assert "(2 mandatory)" in fixed.stdout  # the poverty village and the complaint

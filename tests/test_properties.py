"""Property: on any small scenario, ``siting run`` gives a valid plan or a clear error.

Hypothesis draws tiny regions (flat or ridged DEM, 1-6 candidates and villages with random
fields, now and then an invalid value or a point off the DEM) and runs the CLI. The run must
either exit 0 with a complete, consistent set of outputs (every mandatory village covered or
given a reason) or exit 2 with ``siting: error:`` lines, and never exit 1 or print a traceback.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from regions import TECH_4G, TECH_5G, candidate, village, write_region
from siting.cli import app

runner = CliRunner()

SIDE_M = 3000.0  # every region is 3 km x 3 km (60 x 60 cells of 50 m)
CELLS = 60
CELL_M = SIDE_M / CELLS

OUTPUTS = {"map.html", "map.png", "sites.gpkg", "coverage.tif", "report.md", "summary.json"}


coordinate = st.floats(60.0, SIDE_M - 60.0)

candidate_rows = st.fixed_dictionaries({
    "x": coordinate, "y": coordinate,
    "kind": st.sampled_from(["public_building", "lamp_pole", "greenfield", "existing_4g",
                             "existing_5g", "rooftop"]),
    "height": st.sampled_from([10.0, 25.0, 40.0]),
    "capex": st.sampled_from([0.0, 20000.0, 80000.0]),
    "free": st.booleans(),
    "difficult": st.booleans(),
    "extra": st.sampled_from([0.0, 30000.0]),
    "techs": st.sampled_from(["4G", "5G", "4G,5G"]),
})

village_rows = st.fixed_dictionaries({
    "x": coordinate, "y": coordinate,
    "population": st.integers(0, 2000),
    "poverty": st.booleans(),
    "relocation": st.booleans(),
})

# One invalid value planted in one record (or none): (layer, field, value).
FAULTS = [
    ("candidates", "x", -500.0), ("candidates", "y", SIDE_M + 400.0),
    ("candidates", "kind", "church"), ("candidates", "kind", ""),
    ("candidates", "height", math.nan), ("candidates", "height", 0.0),
    ("candidates", "height", 1000.0), ("candidates", "capex", -1.0),
    ("candidates", "capex", "cheap"), ("candidates", "extra", math.nan),
    ("candidates", "techs", "LTE"), ("candidates", "techs", "4G;6G"),
    ("candidates", "id", "duplicate"),
    ("villages", "x", SIDE_M + 400.0), ("villages", "population", -3),
    ("villages", "population", "many"), ("villages", "id", "duplicate"),
    ("population", None, -10.0), ("population", None, math.nan),
]


# What the error message must mention for each planted fault.
EXPECTED = {("candidates", "x"): "outside the DEM", ("candidates", "y"): "outside the DEM",
            ("candidates", "kind"): "'kind'", ("candidates", "height"): "'antenna_height_m'",
            ("candidates", "capex"): "'capex_cny'", ("candidates", "extra"): "'extra_cost_cny'",
            ("candidates", "techs"): "'technologies'", ("candidates", "id"): "duplicate site_id S0",
            ("villages", "x"): "outside the DEM", ("villages", "population"): "'population'",
            ("villages", "id"): "duplicate village_id V0", ("population", None): "population.tif"}


@st.composite
def scenarios(draw):
    ridged = draw(st.booleans())
    dem = np.full((CELLS, CELLS), draw(st.sampled_from([200.0, 800.0])), np.float32)
    if ridged:
        col = draw(st.integers(5, CELLS - 8))
        dem[:, col:col + 3] += draw(st.sampled_from([50.0, 400.0]))
    cands = draw(st.lists(candidate_rows, min_size=1, max_size=6))
    vills = draw(st.lists(village_rows, min_size=1, max_size=6))
    population = np.zeros((30, 30), np.float32)
    if draw(st.booleans()):
        rows = draw(st.integers(0, 27))
        cols = draw(st.integers(0, 27))
        population[rows:rows + 3, cols:cols + 3] = draw(st.sampled_from([5.0, 50.0]))
    fault = draw(st.sampled_from([None] * len(FAULTS) + FAULTS))
    if fault is not None:
        layer, field, value = fault
        if layer == "population":
            population[draw(st.integers(0, 29)), draw(st.integers(0, 29))] = value
        else:
            rows_ = cands if layer == "candidates" else vills
            row = rows_[draw(st.integers(0, len(rows_) - 1))]
            if field == "id":
                rows_.append(dict(rows_[0]))
                row = rows_[-1]
            row[field] = value
    techs = draw(st.sampled_from([(TECH_4G,), (TECH_5G,), (TECH_4G, TECH_5G)]))
    objective = draw(st.one_of(
        st.just({"type": "min_cost"}),
        st.builds(lambda b: {"type": "max_coverage", "budget_cny": b},
                  st.sampled_from([0.0, 300000.0, 2e6])),
        st.builds(lambda n: {"type": "max_coverage", "max_new_sites": n}, st.integers(0, 3)),
    ))
    return dict(dem=dem, cands=cands, vills=vills, population=population, techs=techs,
                objective=objective, fault=fault)


def _ids(rows: list[dict], prefix: str) -> list[str]:
    """Ids in order; a row marked ``id: duplicate`` repeats the first id."""
    return [f"{prefix}0" if row.get("id") == "duplicate" else f"{prefix}{i}"
            for i, row in enumerate(rows)]


def _write(folder: Path, case: dict) -> Path:
    cands = [candidate(sid, c["x"], c["y"], kind=c["kind"],
                       height=c["height"], capex=c["capex"], free=c["free"],
                       difficult=c["difficult"], extra=c["extra"], techs=c["techs"])
             for sid, c in zip(_ids(case["cands"], "S"), case["cands"])]
    vills = [village(vid, v["x"], v["y"], population=v["population"], poverty=v["poverty"],
                     relocation=v["relocation"])
             for vid, v in zip(_ids(case["vills"], "V"), case["vills"])]
    return write_region(folder, case["dem"], vills, cands, cell_m=CELL_M,
                        population=case["population"], technologies=case["techs"],
                        objective=case["objective"],
                        solver={"name": "highs", "time_limit_s": 10, "mip_gap": 0.0},
                        coverage={"raster_resolution_m": 250, "max_diffraction_edges": 1})


@settings(max_examples=15, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=scenarios())
def test_a_run_gives_a_valid_plan_or_a_clear_error(case):
    with tempfile.TemporaryDirectory(prefix="siting-prop-") as tmp:
        folder = Path(tmp)
        scenario = _write(folder / "in", case)
        out = folder / "out"
        result = runner.invoke(app, ["run", str(scenario), "--out", str(out), "--quiet", "--no-cache"])
        stderr = result.stderr
        assert "Traceback" not in stderr and "Traceback" not in result.stdout
        assert result.exit_code in (0, 2), (result.exit_code, stderr, result.exception)
        if case["fault"] is not None:
            layer, field, _ = case["fault"]
            assert result.exit_code == 2, (case["fault"], stderr)
            assert EXPECTED[(layer, field)] in stderr, (case["fault"], stderr)
        if result.exit_code == 2:
            lines = [line for line in stderr.splitlines() if line.strip()]
            assert lines and all(line.startswith("siting: error: ") for line in lines), stderr
            assert all(("scenario.yaml" in line or ".tif" in line or ".gpkg" in line)
                       for line in lines), stderr
            assert not out.exists() or not any(out.iterdir())
            return
        assert OUTPUTS <= {p.name for p in out.iterdir()}
        summary = json.loads((out / "summary.json").read_text())
        assert summary["solver"]["status"] in ("optimal", "feasible", "time_limit")
        villages = gpd.read_file(out / "sites.gpkg", layer="villages")
        assert len(villages) == len(case["vills"])
        mandatory = villages[villages["mandatory"].astype(bool)]
        for _, row in mandatory.iterrows():
            assert bool(row["covered_after"]) or str(row["uncovered_reason"] or "").strip(), row
        assert summary["kpis"]["mandatory_villages_total"] == len(mandatory)

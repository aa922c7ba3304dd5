"""The coverage cache: a hit returns the same matrix; any input change misses."""

from __future__ import annotations

import json

import numpy as np

from regions import candidate, ridge_dem, village, write_region
from siting.cache import coverage_key, load_coverage
from siting.config import load_scenario
from siting.pipeline import compute, write_outputs


def _scenario(folder, height=30.0):
    return write_region(folder, ridge_dem(), villages=[village("V1", 1000, 3000), village("V2", 4500, 3000)],
                        candidates=[candidate("S1", 1500, 3000, height=height), candidate("S2", 5000, 3500)])


def test_cache_hit_gives_the_same_matrix_and_plan(tmp_path):
    scenario = load_scenario(_scenario(tmp_path / "in"))
    cache = tmp_path / "cache"
    first = compute(scenario, cache_dir=cache)
    assert load_coverage(cache, coverage_key(scenario)) is not None
    second = compute(scenario, cache_dir=cache)
    assert (first.coverage.level_dbm != second.coverage.level_dbm).nnz == 0
    assert np.array_equal(first.coverage.best_level_dbm, second.coverage.best_level_dbm)
    assert first.coverage.options.equals(second.coverage.options)
    assert np.array_equal(first.plan.selected, second.plan.selected)


def test_changing_an_input_changes_the_key(tmp_path):
    before = coverage_key(load_scenario(_scenario(tmp_path / "in")))
    after = coverage_key(load_scenario(_scenario(tmp_path / "in", height=31.0)))
    assert before != after


def test_summary_is_byte_identical_between_runs_apart_from_timings(tmp_path):
    scenario = load_scenario(_scenario(tmp_path / "in"))
    texts = []
    for i in range(2):
        write_outputs(compute(scenario), tmp_path / f"out{i}")
        summary = json.loads((tmp_path / f"out{i}" / "summary.json").read_text())
        summary.pop("timings_s")
        texts.append(json.dumps(summary, sort_keys=True))
    assert texts[0] == texts[1]

"""The coverage cache: a hit returns the same matrix; any input change misses; an entry that
is damaged or unreadable is reported, removed and recomputed; a cache that cannot be written
is a warning, never a failed run."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil

import numpy as np

from siting import sourcecode

from regions import candidate, ridge_dem, village, write_region
from siting.cache import coverage_key, load_coverage, store_coverage
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


def test_a_change_to_any_module_changes_the_key(tmp_path, monkeypatch):
    """Entries made by other code never match, whatever the version number says."""
    scenario = load_scenario(_scenario(tmp_path / "in"))
    copy = tmp_path / "siting"
    shutil.copytree(sourcecode.package_dir(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    keys = []
    for edit in (None, "itm.py", "backhaul/microwave.py"):
        if edit:
            with open(copy / edit, "a", encoding="utf-8") as module:
                module.write("\n# a change\n")
        monkeypatch.setattr(sourcecode, "package_dir", lambda: copy)
        sourcecode.code_digest.cache_clear()
        keys.append(coverage_key(scenario))
    monkeypatch.undo()
    sourcecode.code_digest.cache_clear()
    assert keys[0] == coverage_key(scenario)  # the copy's code is the package's code
    assert len(set(keys)) == 3


def test_summary_is_byte_identical_between_runs_apart_from_timings(tmp_path):
    scenario = load_scenario(_scenario(tmp_path / "in"))
    texts = []
    for i in range(2):
        write_outputs(compute(scenario), tmp_path / f"out{i}")
        summary = json.loads((tmp_path / f"out{i}" / "summary.json").read_text())
        summary.pop("timings_s")
        texts.append(json.dumps(summary, sort_keys=True))
    assert texts[0] == texts[1]


def _entry(cache):
    (path,) = cache.glob("coverage-*.*.npz")
    return path


def _warnings(caplog):
    return [r.getMessage() for r in caplog.records
            if r.name == "siting.cache" and r.levelno == logging.WARNING]


def _same_matrix(a, b):
    return ((a.level_dbm != b.level_dbm).nnz == 0 and a.options.equals(b.options)
            and np.array_equal(a.best_level_dbm, b.best_level_dbm))


def test_an_entry_is_named_by_its_key_and_the_sha256_of_its_bytes(tmp_path):
    scenario = load_scenario(_scenario(tmp_path / "in"))
    cache = tmp_path / "cache"
    compute(scenario, cache_dir=cache)
    stem, digest, extension = _entry(cache).name.split(".")
    assert stem == f"coverage-{coverage_key(scenario)}" and extension == "npz"
    assert digest == hashlib.sha256(_entry(cache).read_bytes()).hexdigest()
    assert not list(cache.glob(".coverage-*"))  # no temporary file left behind


def test_a_truncated_entry_is_reported_removed_and_recomputed(tmp_path, caplog):
    scenario = load_scenario(_scenario(tmp_path / "in"))
    cache = tmp_path / "cache"
    first = compute(scenario, cache_dir=cache)
    damaged = _entry(cache)
    damaged.write_bytes(damaged.read_bytes()[:damaged.stat().st_size // 2])
    with caplog.at_level(logging.WARNING):
        second = compute(scenario, cache_dir=cache)
    (message,) = _warnings(caplog)
    assert str(damaged) in message and "is damaged" in message and "recomputed" in message
    assert _same_matrix(first.coverage, second.coverage)
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # the recomputed entry replaced it and reads back
        assert _same_matrix(load_coverage(cache, coverage_key(scenario)), first.coverage)
    assert not _warnings(caplog)


def test_a_flipped_byte_is_caught_by_the_checksum(tmp_path, caplog):
    scenario = load_scenario(_scenario(tmp_path / "in"))
    cache = tmp_path / "cache"
    compute(scenario, cache_dir=cache)
    entry = _entry(cache)
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0x01
    entry.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        assert load_coverage(cache, coverage_key(scenario)) is None
    assert "is damaged" in _warnings(caplog)[0]
    assert not entry.exists()


def test_an_entry_that_is_not_a_matrix_is_reported_and_removed(tmp_path, caplog):
    scenario = load_scenario(_scenario(tmp_path / "in"))
    key = coverage_key(scenario)
    cache = tmp_path / "cache"
    cache.mkdir()
    junk = b"PK\x03\x04 a zip file's signature, then nothing of one"
    entry = cache / f"coverage-{key}.{hashlib.sha256(junk).hexdigest()}.npz"
    entry.write_bytes(junk)  # its checksum matches: only reading it shows the problem
    with caplog.at_level(logging.WARNING):
        assert load_coverage(cache, key) is None
    (message,) = _warnings(caplog)
    assert str(entry) in message and "cannot be read (BadZipFile" in message
    assert not entry.exists()


def test_storing_replaces_older_entries_of_the_same_key(tmp_path):
    scenario = load_scenario(_scenario(tmp_path / "in"))
    cache = tmp_path / "cache"
    run = compute(scenario, cache_dir=cache)
    key = coverage_key(scenario)
    legacy = cache / f"coverage-{key}.npz"  # the unchecksummed format of earlier versions
    legacy.write_bytes(b"old")
    old = _entry(cache)
    old.rename(cache / f"coverage-{key}.{'0' * 64}.npz")
    assert store_coverage(cache, key, run.coverage)
    assert sorted(p.name for p in cache.iterdir()) == [_entry(cache).name]


def test_a_cache_that_cannot_be_written_is_a_warning_and_the_run_goes_on(tmp_path, caplog):
    scenario = load_scenario(_scenario(tmp_path / "in"))
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the cache folder's parent should be")
    with caplog.at_level(logging.WARNING):
        run = compute(scenario, cache_dir=blocker / "cache")
    (message,) = _warnings(caplog)
    assert f"cannot write the coverage cache in {blocker / 'cache'}" in message
    assert "the run goes on without it" in message
    assert _same_matrix(run.coverage, compute(scenario).coverage)

"""numba caches compiled from other source are discarded: a cached kernel calling a jitted
function of another module runs that module's current code after it changes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from numba.core.caching import UserProvidedCacheLocator

from siting import sourcecode

CALLER = '''import numba
from siting.probe_callee import value


@numba.njit(cache=True)
def read():
    return value()
'''
CALLEE = '''import numba


@numba.njit
def value():
    return {value}
'''


def _copy_package(root: Path) -> Path:
    """A copy of the siting package under ``root`` with a cached kernel (probe_caller.read)
    calling a jitted function of another module (probe_callee.value)."""
    package = root / "siting"
    shutil.copytree(sourcecode.package_dir(), package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (package / "probe_caller.py").write_text(CALLER, encoding="utf-8")
    (package / "probe_callee.py").write_text(CALLEE.format(value=1), encoding="utf-8")
    return package


def _read(root: Path, env: dict) -> int:
    """probe_caller.read() in a fresh process importing the copy."""
    code = "import siting; from siting.probe_caller import read; print(read())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**env, "PYTHONPATH": str(root)}, cwd=root, check=True)
    return int(result.stdout)


@pytest.mark.parametrize("own_cache_dir", [False, True])
def test_a_changed_callee_is_not_served_from_the_callers_cache(tmp_path, own_cache_dir):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    if own_cache_dir:
        env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba")
    package = _copy_package(tmp_path)
    assert _read(tmp_path, env) == 1
    cached = list((tmp_path / "numba").rglob("*.nbi") if own_cache_dir
                  else (package / "__pycache__").glob("probe_caller.*.nbi"))
    assert cached  # the caller's kernel was cached
    (package / "probe_callee.py").write_text(CALLEE.format(value=2), encoding="utf-8")
    assert _read(tmp_path, env) == 2  # numba alone would serve the cached kernel: 1


def test_the_cache_folder_is_numbas(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    folder = sourcecode.package_dir()
    subpath = UserProvidedCacheLocator.get_suitable_cache_subpath(str(folder / "itm.py"))
    assert sourcecode.numba_cache_folder(folder) == tmp_path / subpath
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert sourcecode.numba_cache_folder(folder) == folder / "__pycache__"

"""Shared test settings and fixtures."""

import os
import subprocess

import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Keep the coverage cache of CLI runs inside the test's temporary folder."""
    monkeypatch.setenv("SITING_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def tmpfs(tmp_path):
    """``tmpfs(size)``: a fresh tmpfs of ``size`` ("64k", "2m") mounted in the test's folder."""
    mounted = []

    def mount(size: str, name: str = "disk"):
        point = tmp_path / f"{name}-{len(mounted)}"
        point.mkdir()
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"this container does not allow mounting a tmpfs: {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=True)

"""Shared test settings."""

import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Keep the coverage cache of CLI runs inside the test's temporary folder."""
    monkeypatch.setenv("SITING_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))

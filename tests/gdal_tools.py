"""GDAL's command-line tools (Debian's gdal-bin), as the tests that open outputs with them call them."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def gdal_tool(name: str) -> str:
    """The path of GDAL's tool ``name`` (``ogrinfo``, ``gdalinfo``, ``ogr2ogr``); the test is
    skipped, saying how to install it, where it is missing."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (Debian package gdal-bin: apt-get install -y gdal-bin)")
    return path


def tool_output(*args: str) -> str:
    """The standard output of a command that must succeed."""
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout

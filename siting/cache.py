"""On-disk cache of coverage matrices, keyed by a hash of everything they depend on.

The key covers the bytes of every input file (each DEM tile with its sidecars and, for a VRT,
the files it references; the population raster; every layer's file), the scenario settings that
shape coverage (how each layer is read, the region, CRS, demand rules, technologies, coverage
settings) and the package version, so any change to an input or a model invalidates the entry.
Paths are not part of the key (a moved scenario keeps its cache), DEM file names are (an SRTM
tile's name is its georeferencing). Entries are ``.npz`` files (no pickles) written to a
temporary name and renamed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from siting import __version__
from siting.config import LAYERS, Scenario
from siting.coverage import CoverageMatrix
from siting.io.dem import dem_files, dem_source_files

CACHE_ENV = "SITING_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$SITING_CACHE_DIR``, else ``~/.cache/siting``."""
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "siting"))


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def coverage_key(scenario: Scenario) -> str:
    """A hex digest of everything a coverage matrix depends on."""
    inputs = scenario.inputs
    digests: dict[Path, str] = {}

    def digest(path: Path | None) -> str | None:
        if path is None or not Path(path).is_file():
            return None
        if path not in digests:
            digests[path] = _file_digest(path)
        return digests[path]

    dem = [[f.name, digest(f)] for tile in dem_files(inputs.dem) for f in dem_source_files(tile)]
    layers = {name: getattr(inputs, name) for name in LAYERS}
    parts = {
        "version": __version__,
        "files": {"dem": dem, "population": digest(inputs.population),
                  **{name: digest(source.path) for name, source in layers.items()
                     if source is not None}},
        "layers": {name: None if source is None else dataclasses.asdict(source) | {"path": ""}
                   for name, source in layers.items()},
        "region": dataclasses.asdict(scenario.region),
        "crs": scenario.crs,
        "demand": dataclasses.asdict(scenario.demand),
        "technologies": [dataclasses.asdict(t) for t in scenario.technologies],
        "coverage": dataclasses.asdict(scenario.coverage),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def load_coverage(cache_dir: Path, key: str) -> CoverageMatrix | None:
    """The cached matrix for ``key``, or None when absent or unreadable."""
    path = cache_dir / f"coverage-{key}.npz"
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            matrix = sp.csr_matrix((data["data"], data["indices"], data["indptr"]),
                                   shape=tuple(data["shape"]))
            options = pd.DataFrame({"candidate": data["opt_candidate"],
                                    "site_id": data["opt_site_id"].astype(object),
                                    "technology": data["opt_technology"].astype(object),
                                    "generation": data["opt_generation"].astype(object)})
            return CoverageMatrix(level_dbm=matrix, options=options, in_range=data["in_range"],
                                  best_level_dbm=data["best_level_dbm"])
    except (OSError, KeyError, ValueError):
        return None  # a damaged entry is recomputed and overwritten


def store_coverage(cache_dir: Path, key: str, coverage: CoverageMatrix) -> None:
    """Write ``coverage`` under ``key`` atomically."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    matrix = coverage.level_dbm.tocsr()
    options = coverage.options
    handle, temporary = tempfile.mkstemp(prefix=".coverage-", suffix=".npz", dir=cache_dir)
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, data=matrix.data, indices=matrix.indices, indptr=matrix.indptr,
                     shape=np.array(matrix.shape), in_range=coverage.in_range,
                     best_level_dbm=coverage.best_level_dbm,
                     opt_candidate=options["candidate"].to_numpy(),
                     opt_site_id=options["site_id"].to_numpy(dtype=str),
                     opt_technology=options["technology"].to_numpy(dtype=str),
                     opt_generation=options["generation"].to_numpy(dtype=str))
        os.replace(temporary, cache_dir / f"coverage-{key}.npz")
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)

"""On-disk cache of coverage matrices, keyed by a hash of everything they depend on.

The key covers the bytes of every input file (each DEM tile with its sidecars and, for a VRT,
the files it references; the population raster; the land cover raster; every layer's file), the
scenario settings that shape coverage (how each layer is read, the region, CRS, demand rules,
technologies with their ITU-R P.1812 parameters, coverage settings with the calibration's
offsets, the land cover's class table, the ITU-R maps of ``coverage.itu_maps_dir``) and the
package version, so any change to an input or a model invalidates the entry.
Paths are not part of the key (a moved scenario keeps its cache), DEM file names are (an SRTM
tile's name is its georeferencing).

Entries are ``.npz`` files (no pickles) named ``coverage-<key>.<sha256 of the file>.npz``,
written to a temporary name and renamed, so an entry is whole or absent. The cache is only an
optimisation, so it never stops a run: an entry whose bytes no longer match its checksum (a
disk fault, a copy cut short) or that cannot be read is reported, removed and recomputed, and
a cache folder that cannot be written (full disk, read-only) is reported and skipped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from siting import __version__
from siting.config import BACKHAUL_LAYERS, LAYERS, Scenario
from siting.coverage import CoverageMatrix
from siting.io.dem import dem_files, dem_source_files

CACHE_ENV = "SITING_CACHE_DIR"
logger = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$SITING_CACHE_DIR``, else ``~/.cache/siting``."""
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "siting"))


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _itu_map_digests(maps_dir: Path | None, digest) -> list:
    """Digests of the ITU-R P.1812 maps a scenario may read ΔN and N0 from (none without
    ``coverage.itu_maps_dir``): the values they hold shape the coverage of a p1812 technology."""
    if maps_dir is None:
        return []
    return [digest(Path(maps_dir) / f"{name}{suffix}") for name in ("DN50", "N050")
            for suffix in (".TXT", ".txt")]


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
    layers = {name: getattr(inputs, name) for name in LAYERS if name not in BACKHAUL_LAYERS}
    parts = {
        "version": __version__,
        "files": {"dem": dem, "population": digest(inputs.population),
                  "land_cover": digest(inputs.land_cover),
                  **{name: digest(source.path) for name, source in layers.items()
                     if source is not None}},
        "layers": {name: None if source is None else dataclasses.asdict(source) | {"path": ""}
                   for name, source in layers.items()},
        "region": dataclasses.asdict(scenario.region),
        "crs": scenario.crs,
        "demand": dataclasses.asdict(scenario.demand),
        "technologies": [dataclasses.asdict(t) for t in scenario.technologies],
        "coverage": dataclasses.asdict(scenario.coverage) | {"itu_maps_dir": ""},
        "land_cover_classes": ([dataclasses.asdict(c) for c in scenario.land_cover_classes]
                               if inputs.land_cover is not None else None),
        "itu_maps": _itu_map_digests(scenario.coverage.itu_maps_dir, digest),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _entries(cache_dir: Path, key: str) -> list[Path]:
    """The stored entries of ``key`` (normally one; two after a race of two writers)."""
    try:
        return sorted(cache_dir.glob(f"coverage-{key}.*.npz"))
    except OSError:  # an unreadable cache folder holds nothing usable
        return []


def _discard(path: Path, problem: str) -> None:
    """Report an unusable entry and remove it, so the next run does not meet it again."""
    try:
        path.unlink(missing_ok=True)
        outcome = "removed it"
    except OSError as exc:
        outcome = f"could not remove it ({exc.strerror or exc})"
    logger.warning("coverage cache entry %s %s; %s, the coverage is recomputed",
                   path, problem, outcome)


def _read_entry(path: Path) -> CoverageMatrix:
    """The matrix stored by :func:`_write_entry` (plain arrays: no pickles to trust). The file
    is opened here, not by ``np.load``, which leaks its handle when the zip is unreadable."""
    with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
        matrix = sp.csr_matrix((data["data"], data["indices"], data["indptr"]),
                               shape=tuple(data["shape"]))
        options = pd.DataFrame({"candidate": data["opt_candidate"],
                                "site_id": data["opt_site_id"].astype(object),
                                "technology": data["opt_technology"].astype(object),
                                "generation": data["opt_generation"].astype(object)})
        return CoverageMatrix(level_dbm=matrix, options=options, in_range=data["in_range"],
                              best_level_dbm=data["best_level_dbm"])


def load_coverage(cache_dir: Path, key: str) -> CoverageMatrix | None:
    """The cached matrix for ``key``, or None when absent.

    An entry whose SHA-256 differs from the one in its name, or that does not read back as a
    coverage matrix, is logged as a warning naming the file and removed (None: recompute).
    """
    for path in _entries(cache_dir, key):
        expected = path.name.split(".")[1]
        try:
            if _file_digest(path) != expected:
                _discard(path, "is damaged (its SHA-256 does not match the one it was stored "
                               "with)")
                continue
            return _read_entry(path)
        except FileNotFoundError:  # replaced by a concurrent run's entry of the same key
            continue
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            _discard(path, f"cannot be read ({type(exc).__name__}: {exc})")
    return None


def _write_entry(cache_dir: Path, key: str, coverage: CoverageMatrix) -> Path:
    """Write the entry to a temporary file, then rename it to its checksummed name."""
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
        path = cache_dir / f"coverage-{key}.{_file_digest(Path(temporary))}.npz"
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def store_coverage(cache_dir: Path, key: str, coverage: CoverageMatrix) -> bool:
    """Write ``coverage`` under ``key`` atomically; False (and a logged warning) when the cache
    cannot be written: the cache only saves time, so a full or read-only disk must not stop the
    run that has just computed the matrix."""
    try:
        path = _write_entry(cache_dir, key, coverage)
    except OSError as exc:
        logger.warning("cannot write the coverage cache in %s (%s); the run goes on without "
                       "it (set $%s to a writable folder with free space, or pass --no-cache)",
                       cache_dir, exc.strerror or exc, CACHE_ENV)
        return False
    for other in [*_entries(cache_dir, key), cache_dir / f"coverage-{key}.npz"]:
        if other != path:  # an older entry of the same key, or one of the unchecksummed format
            try:
                other.unlink(missing_ok=True)
            except OSError:  # left for the next run to retry
                pass
    return True

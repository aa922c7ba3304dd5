"""On-disk cache of coverage matrices, keyed by a hash of everything they depend on.

The key covers the bytes of every input file (each DEM tile with its sidecars and, for a VRT,
the files it references; the population and land cover rasters with theirs; every layer's file
with the files beside it that hold part of it: a Shapefile's ``.dbf``, ``.prj``...), the
scenario settings that shape coverage (how each layer is read, the region, CRS, demand rules,
technologies with their ITU-R P.1812 parameters, coverage settings with the calibration's
offsets, the land cover's class table, the ITU-R maps of ``coverage.itu_maps_dir``) and the
package's code (:func:`siting.sourcecode.code_digest`: the bytes of every module of
``siting``), so any change
to an input or a model invalidates the entry, released or not.
Paths are not part of the key (a moved scenario keeps its cache), DEM file names are (an SRTM
tile's name is its georeferencing).

The feasible microwave links of backhaul planning (:func:`siting.backhaul.band_links`) are
cached beside the matrices under a key of their own (:func:`links_key`: the DEM as the run
reads it, the sites' positions and antenna heights, the bands, the effective earth radius
factor and the code), as ``links-<key>.<sha256>.npz``.

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

from siting.backhaul.network import LINK_COLUMNS
from siting.config import BACKHAUL_LAYERS, LAYERS, Scenario
from siting.coverage import CoverageMatrix
from siting.io.dem import dem_files, dem_source_files
from siting.sourcecode import code_digest
from siting.terrain import Terrain

CACHE_ENV = "SITING_CACHE_DIR"
#: Kinds of entries (their file names' prefix): coverage matrices and microwave links.
COVERAGE, LINKS = "coverage", "links"
#: What is recomputed when an entry of each kind is unusable.
RECOMPUTED = {COVERAGE: "coverage is", LINKS: "microwave links are"}
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


#: Files beside a vector layer's file that hold part of the layer: a Shapefile's index,
#: attribute table (antenna heights, technologies), CRS and code page (Esri, "ESRI Shapefile
#: Technical Description", 1998; the ``.cpg`` of ArcGIS and QGIS), a MapInfo TAB's data,
#: objects and index.
VECTOR_SIDECARS = (".shx", ".dbf", ".prj", ".cpg", ".dat", ".map", ".id")


def layer_source_files(path: Path) -> list[Path]:
    """Every file whose bytes a vector layer's file reads from: the file and its
    :data:`VECTOR_SIDECARS` (either case: ``.DBF`` from Windows tools)."""
    path = Path(path)
    sidecars = [path.with_suffix(suffix) for lower in VECTOR_SIDECARS
                for suffix in (lower, lower.upper())]
    return [path, *sorted({f for f in sidecars if f != path and f.is_file()})]


def _named_digests(files: list[Path], main: Path, digest) -> list:
    """[name, digest] of ``files``, named without ``main``'s stem (a renamed input keeps its
    cache; which sidecar holds which bytes still counts)."""
    return [[f.name.removeprefix(Path(main).stem), digest(f)] for f in files]


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
        "code": code_digest(),
        "files": {"dem": dem,
                  **{name: _named_digests(dem_source_files(path), path, digest)
                     for name, path in (("population", inputs.population),
                                        ("land_cover", inputs.land_cover)) if path is not None},
                  **{name: _named_digests(layer_source_files(source.path), source.path, digest)
                     for name, source in layers.items() if source is not None}},
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


def _entries(cache_dir: Path, key: str, kind: str = COVERAGE) -> list[Path]:
    """The stored entries of ``key`` (normally one; two after a race of two writers);
    ``kind`` (:data:`COVERAGE` or :data:`LINKS`) is the file name's prefix."""
    try:
        return sorted(cache_dir.glob(f"{kind}-{key}.*.npz"))
    except OSError:  # an unreadable cache folder holds nothing usable
        return []


def _discard(path: Path, problem: str, kind: str) -> None:
    """Report an unusable entry and remove it, so the next run does not meet it again."""
    try:
        path.unlink(missing_ok=True)
        outcome = "removed it"
    except OSError as exc:
        outcome = f"could not remove it ({exc.strerror or exc})"
    logger.warning("%s cache entry %s %s; %s, the %s recomputed", kind, path, problem, outcome,
                   RECOMPUTED[kind])


def _coverage_of(data) -> CoverageMatrix:
    """The matrix of an entry's arrays (:func:`_coverage_arrays`)."""
    matrix = sp.csr_matrix((data["data"], data["indices"], data["indptr"]),
                           shape=tuple(data["shape"]))
    options = pd.DataFrame({"candidate": data["opt_candidate"],
                            "site_id": data["opt_site_id"].astype(object),
                            "technology": data["opt_technology"].astype(object),
                            "generation": data["opt_generation"].astype(object)})
    return CoverageMatrix(level_dbm=matrix, options=options, in_range=data["in_range"],
                          best_level_dbm=data["best_level_dbm"])


def _coverage_arrays(coverage: CoverageMatrix) -> dict[str, np.ndarray]:
    """The plain arrays an entry stores a coverage matrix as (no pickles to trust)."""
    matrix = coverage.level_dbm.tocsr()
    options = coverage.options
    return dict(data=matrix.data, indices=matrix.indices, indptr=matrix.indptr,
                shape=np.array(matrix.shape), in_range=coverage.in_range,
                best_level_dbm=coverage.best_level_dbm,
                opt_candidate=options["candidate"].to_numpy(),
                opt_site_id=options["site_id"].to_numpy(dtype=str),
                opt_technology=options["technology"].to_numpy(dtype=str),
                opt_generation=options["generation"].to_numpy(dtype=str))


def _read_entry(path: Path, reader):
    """``reader`` of the arrays stored at ``path``. The file is opened here, not by
    ``np.load``, which leaks its handle when the zip is unreadable."""
    with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
        return reader(data)


def _load(cache_dir: Path, key: str, kind: str, reader):
    """The cached entry of ``key`` read by ``reader``, or None when absent.

    An entry whose SHA-256 differs from the one in its name, or that cannot be read back, is
    logged as a warning naming the file and removed (None: recompute).
    """
    for path in _entries(cache_dir, key, kind):
        expected = path.name.split(".")[1]
        try:
            if _file_digest(path) != expected:
                _discard(path, "is damaged (its SHA-256 does not match the one it was stored "
                               "with)", kind)
                continue
            return _read_entry(path, reader)
        except FileNotFoundError:  # replaced by a concurrent run's entry of the same key
            continue
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            _discard(path, f"cannot be read ({type(exc).__name__}: {exc})", kind)
    return None


def load_coverage(cache_dir: Path, key: str) -> CoverageMatrix | None:
    """The cached matrix for ``key``, or None when absent (a damaged entry is reported,
    removed and recomputed)."""
    return _load(cache_dir, key, COVERAGE, _coverage_of)


def _write_entry(cache_dir: Path, key: str, kind: str, arrays: dict) -> Path:
    """Write the entry to a temporary file, then rename it to its checksummed name."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{kind}-", suffix=".npz", dir=cache_dir)
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **arrays)
        path = cache_dir / f"{kind}-{key}.{_file_digest(Path(temporary))}.npz"
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def _store(cache_dir: Path, key: str, kind: str, arrays: dict) -> bool:
    """Write ``arrays`` under ``key`` atomically; False (and a logged warning) when the cache
    cannot be written: the cache only saves time, so a full or read-only disk must not stop the
    run that has just computed the entry."""
    try:
        path = _write_entry(cache_dir, key, kind, arrays)
    except OSError as exc:
        logger.warning("cannot write the %s cache in %s (%s); the run goes on without "
                       "it (set $%s to a writable folder with free space, or pass --no-cache)",
                       kind, cache_dir, exc.strerror or exc, CACHE_ENV)
        return False
    for other in [*_entries(cache_dir, key, kind), cache_dir / f"{kind}-{key}.npz"]:
        if other != path:  # an older entry of the same key, or one of the unchecksummed format
            try:
                other.unlink(missing_ok=True)
            except OSError:  # left for the next run to retry
                pass
    return True


def store_coverage(cache_dir: Path, key: str, coverage: CoverageMatrix) -> bool:
    """Write ``coverage`` under ``key`` atomically; False (and a logged warning) when the cache
    cannot be written."""
    return _store(cache_dir, key, COVERAGE, _coverage_arrays(coverage))


# ---------------------------------------------------------------------------------------
# microwave links (backhaul)


def links_key(terrain: Terrain, x_m, y_m, antenna_height_m, bands, *,
              earth_radius_factor: float) -> str:
    """A hex digest of everything the feasible links of :func:`siting.backhaul.band_links`
    depend on: the DEM as the run reads it (elevations, transform, CRS), the sites' positions
    [m] and antenna heights [m], each band's frequency [GHz] and longest hop [m], the
    effective earth radius factor and the code (:func:`siting.sourcecode.code_digest`)."""
    digest = hashlib.sha256()
    for array in (terrain.elevation_m, x_m, y_m, antenna_height_m):
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    parts = {"code": code_digest(), "transform": list(terrain.transform),
             "crs": str(terrain.crs), "shape": list(terrain.elevation_m.shape),
             "bands": [[float(b.band_ghz), float(b.max_hop_m)] for b in bands],
             "k": float(earth_radius_factor)}
    digest.update(json.dumps(parts, sort_keys=True).encode())
    return digest.hexdigest()


def _links_of(data) -> pd.DataFrame:
    """The links table of an entry's arrays."""
    return pd.DataFrame({name: data[name] for name in LINK_COLUMNS[:-1]})


def load_links(cache_dir: Path, key: str) -> pd.DataFrame | None:
    """The cached links table of ``key`` (:func:`links_key`), or None when absent."""
    return _load(cache_dir, key, LINKS, _links_of)


def store_links(cache_dir: Path, key: str, links: pd.DataFrame) -> bool:
    """Write the links table (:func:`siting.backhaul.band_links`) under ``key``; False when
    the cache cannot be written."""
    arrays = {name: links[name].to_numpy() for name in LINK_COLUMNS[:-1]}
    return _store(cache_dir, key, LINKS, arrays)

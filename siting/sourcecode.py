"""siting's own source code: its digest, and numba caches compiled from other source.

numba keys a cached kernel on the file that defines it (that file's modification time and
size), not on the modules whose jitted functions the kernel calls and compiles into itself:
after a change to ``siting/itm.py`` alone, the cached kernels of ``siting/coverage.py`` would
go on running the old ITM. :func:`discard_stale_kernel_caches`, called when ``siting`` is
imported, removes siting's numba cache files when the package's source is not the source they
were compiled from (:func:`code_digest`, recorded beside them), so they are compiled afresh.
The on-disk coverage cache keys its entries by the same digest (:mod:`siting.cache`).
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

__all__ = ["code_digest", "discard_stale_kernel_caches"]

#: The file, in the package's top numba cache folder, naming the source the caches came from.
STAMP_NAME = "siting-source.sha256"
#: numba's cache files: an index per function and the machine code of each overload.
NUMBA_CACHE_SUFFIXES = (".nbi", ".nbc")


def package_dir() -> Path:
    """The folder of the ``siting`` package."""
    return Path(__file__).resolve().parent


@functools.cache
def code_digest() -> str:
    """A hex digest of the source of every module of the ``siting`` package (relative path and
    bytes)."""
    package = package_dir()
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def numba_cache_folder(folder: Path) -> Path:
    """Where numba caches the kernels of the modules in ``folder``: its ``__pycache__``, or,
    when ``$NUMBA_CACHE_DIR`` is set, ``<folder name>_<SHA-1 of its absolute path>`` there
    (numba's ``UserProvidedCacheLocator.get_suitable_cache_subpath``, worked out here so that
    importing siting does not import numba)."""
    root = os.environ.get("NUMBA_CACHE_DIR")
    if not root:
        return folder / "__pycache__"
    absolute = os.path.abspath(folder)
    hashed = hashlib.sha1(absolute.encode()).hexdigest()
    return Path(root) / f"{os.path.split(absolute)[-1]}_{hashed}"


def _cache_folders(package: Path) -> list[Path]:
    """numba's cache folder of each folder of the package, the package's own first."""
    folders = [package, *(p for p in package.rglob("*") if p.is_dir() and p.name != "__pycache__")]
    return [numba_cache_folder(folder) for folder in folders]


def discard_stale_kernel_caches() -> bool:
    """Remove siting's numba cache files unless they were compiled from the package's current
    source; True when some were removed. A cache folder that cannot be written is left alone
    (numba then cannot cache there either)."""
    package = package_dir()
    folders = _cache_folders(package)
    stamp = folders[0] / STAMP_NAME
    digest = code_digest()
    try:
        if stamp.read_text(encoding="ascii") == digest:
            return False
    except OSError:
        pass  # no stamp yet: caches of unknown source
    removed = False
    try:
        for folder in folders:
            for path in folder.glob("*"):
                if path.suffix in NUMBA_CACHE_SUFFIXES:
                    path.unlink(missing_ok=True)
                    removed = True
        stamp.parent.mkdir(parents=True, exist_ok=True)
        partial = stamp.with_name(f"{STAMP_NAME}.{os.getpid()}")
        partial.write_text(digest, encoding="ascii")
        partial.replace(stamp)
    except OSError:
        pass  # a read-only install: nothing numba could have cached here to go stale
    return removed

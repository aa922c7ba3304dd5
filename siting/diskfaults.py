"""Disk faults while writing the outputs, named in the user's terms.

A full disk, a read-only file system or a file standing where the output folder should be are
the user's to fix, not bugs of siting, so they become one :class:`~siting.errors.OutputError`
naming the path, what was being written and, on a full disk, the free space and about how much
the outputs need. Python reports such faults as an ``OSError`` with an errno, but GDAL's writers
do not: on a full disk the GeoPackage writer raises "sqlite3_exec(...) failed: database or disk
is full" (or "no such table: gpkg_contents" when SQLite could not even write its schema) and
the GeoTIFF writer "TIFFAppendToStrip: Write error", often after deleting the partial file. So
a failed write also counts as a full disk when its message says so or when the disk is left
with almost no free space (less than :data:`FULL_DISK_BYTES`, or than the outputs it replaces
take). :func:`check_output_folder` finds a read-only or blocked folder before a run computes.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from siting.errors import OutputError

#: A write that fails with less free space than this left on its disk is taken for a full disk.
FULL_DISK_BYTES = 1 << 20
#: Every set of outputs takes more than this: map.html and report.html inline about 190 kB of
#: scripts and the map (a two-village test region's set: 0.72 MB). The lower bound of what a
#: first set needs, before any file of it has been written.
MIN_OUTPUTS_BYTES = 600_000
_FULL = "no space left on the disk"
_REASONS = {errno.ENOSPC: _FULL, errno.EDQUOT: "disk quota exceeded",
            errno.EFBIG: "file too large for this file system",
            errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
            errno.EPERM: "operation not permitted", errno.ENOTDIR: "a file is in the way",
            errno.EEXIST: "a file is in the way"}
#: Phrases of GDAL/SQLite messages that name a disk fault without an errno.
_PHRASES = {"no space left": _FULL, "disk is full": _FULL, "disk full": _FULL,
            "read-only file system": _REASONS[errno.EROFS],
            "permission denied": _REASONS[errno.EACCES]}
#: Programming errors are never disk faults, however full the disk.
_BUGS = (AssertionError, AttributeError, IndexError, KeyError, NameError, TypeError)


def free_bytes(path: Path) -> int | None:
    """Free space [bytes] on the disk holding ``path`` (or its nearest existing folder)."""
    for folder in (Path(path), *Path(path).parents):
        try:
            if folder.is_dir():
                return shutil.disk_usage(folder).free
        except OSError:
            continue
    return None


def files_bytes(folder: Path, names: Iterable[str]) -> int:
    """Total size [bytes] of the files ``names`` present in ``folder``."""
    total = 0
    for name in names:
        try:
            total += (Path(folder) / name).stat().st_size
        except OSError:
            continue
    return total


def size_text(n_bytes: int | None) -> str:
    """``n_bytes`` for people: 512 B, 40 kB, 3.2 MB, 1.5 GB."""
    if n_bytes is None:
        return "an unknown amount"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}".replace(".0 ", " ")
    return f"{n_bytes} B"


def _file_in_the_way(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` (or ``path`` itself) that is not a folder."""
    for candidate in (Path(path), *Path(path).parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def disk_fault(exc: BaseException, folder: Path, *, previous_bytes: int = 0) -> str | None:
    """The disk fault behind ``exc`` raised while writing into ``folder`` (None: not one)."""
    if isinstance(exc, _BUGS):
        return None
    if isinstance(exc, OSError) and exc.errno in _REASONS:
        return _REASONS[exc.errno]
    text = str(exc).lower()
    for phrase, reason in _PHRASES.items():
        if phrase in text:
            return reason
    free = free_bytes(folder)
    if free is not None and free < max(FULL_DISK_BYTES, previous_bytes):
        return _FULL
    return None


def _message(folder: Path, writing: str, reason: str, free: int | None, needed: str) -> str:
    if reason == "a file is in the way":
        blocker = _file_in_the_way(folder)
        reason = f"{blocker} is a file, not a folder" if blocker else reason
    if reason != _FULL:
        return (f"cannot write the outputs to {folder}: {reason} (while {writing}); choose "
                f"another output folder")
    return (f"cannot write the outputs to {folder}: {reason} (while {writing}; "
            f"{size_text(free)} free, the outputs need {needed}); free some space or choose "
            f"another output folder")


@contextmanager
def output_errors(folder: Path, writing: str, *, staged: Callable[[], int] = lambda: 0,
                  previous: Callable[[], int] = lambda: 0) -> Iterator[None]:
    """Turn a disk fault inside the block into an :class:`OutputError` naming ``folder`` and
    what the block does (``writing``: "writing map.png", "creating the output folder");
    anything else passes unchanged.

    ``staged`` gives the bytes written so far into a staging folder that is about to be removed
    (their space counts as free), ``previous`` the size of the outputs the run replaces (what a
    new set needs, about); both are only asked on a full disk.
    """
    try:
        yield
    except OutputError:
        raise
    except Exception as exc:
        before = previous()
        reason = disk_fault(exc, folder, previous_bytes=before)
        if reason is None:
            raise
        free = free_bytes(folder)
        written = staged()
        free = None if free is None else free + written
        floor = max(written, MIN_OUTPUTS_BYTES)
        needed = f"about {size_text(before)}" if before else f"more than {size_text(floor)}"
        raise OutputError(_message(folder, writing, reason, free, needed), path=folder,
                          writing=writing, free_bytes=free, needed_bytes=before or floor) from exc


def check_output_folder(folder: Path) -> None:
    """Raise :class:`OutputError` now if ``folder`` cannot be created or written (read-only
    file system, a file in the way, no permission), so a long run does not find out only when
    it writes. Creates nothing; a full disk can only show when writing."""
    existing = next(p for p in (Path(folder), *Path(folder).parents) if p.exists())
    writing = "checking the output folder before the run"
    if not existing.is_dir():
        reason = _REASONS[errno.ENOTDIR]
    elif os.statvfs(existing).f_flag & os.ST_RDONLY:
        reason = _REASONS[errno.EROFS]
    elif not os.access(existing, os.W_OK | os.X_OK):
        reason = _REASONS[errno.EACCES]
    else:
        return
    raise OutputError(_message(Path(folder), writing, reason, None, ""), path=Path(folder),
                      writing=writing)


def folder_bytes(folder: Path) -> int:
    """Total size [bytes] of the files directly in ``folder`` (0 when it is gone)."""
    try:
        return sum(entry.stat().st_size for entry in os.scandir(folder) if entry.is_file())
    except OSError:
        return 0


@contextmanager
def staging_folder(out_dir: Path, *, prefix: str, creating: str) -> Iterator[Path]:
    """A new folder inside ``out_dir`` (created if needed) to render files in before they are
    moved into place (same disk, so the moves are renames that need no space); removed at the
    end, whatever happens. ``creating`` says what a disk fault while creating it was doing."""
    with output_errors(out_dir, creating):
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=prefix, dir=out_dir))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_staged(writers: Mapping[str, Callable[[Path], object]], staging: Path, out_dir: Path,
                 replaced: Iterable[str]) -> None:
    """Run each writer (file name -> function of the path) into ``staging``; a disk fault
    becomes an :class:`OutputError` naming ``out_dir`` and the file, sized against the files
    ``replaced`` already in ``out_dir``."""
    for name, write in writers.items():
        with output_errors(out_dir, f"writing {name}", staged=partial(folder_bytes, staging),
                           previous=partial(files_bytes, out_dir, tuple(replaced))):
            write(staging / name)


def move_into_place(staging: Path, out_dir: Path, names: Iterable[str], moving: str) -> None:
    """Rename the finished files ``names`` from ``staging`` into ``out_dir``."""
    with output_errors(out_dir, moving):
        for name in names:
            os.replace(staging / name, out_dir / name)


def write_files(writers: Mapping[str, Callable[[Path], object]], out_dir: str | os.PathLike,
                what: str) -> Path:
    """Render every file of ``writers`` (file name -> function of the path) in a staging folder
    inside ``out_dir`` (created if needed), then rename them all into place, so a failure
    leaves the previous files as they were. ``what`` names the set of files in messages and in
    the staging folder's name (``evaluation``). Returns ``out_dir`` as a Path."""
    out = Path(out_dir)
    with staging_folder(out, prefix=f".siting-{what}-", creating=f"creating the {what} folder") \
            as staging:
        write_staged(writers, staging, out, tuple(writers))
        move_into_place(staging, out, tuple(writers), f"moving the {what} into place")
    return out

"""The encoding of a Shapefile's attribute table (``.dbf``), where GDAL alone misreads Chinese.

dBase stores text as bytes; what encoding they are in is said by a ``.cpg`` file beside the
``.dbf`` (ArcGIS, QGIS) or by the language driver byte of the ``.dbf`` header, or not at all.
GDAL reads ISO-8859-1 when nothing says so, and when the ``.cpg`` holds what it does not parse
(``65001``, ESRI's Windows code page number of UTF-8; ``ANSI 936``; a byte-order mark written
by Notepad; an empty file); it fails outright on UTF-8 field names cut inside a character by
dBase's 10-byte limit, as GDAL itself writes them (QGIS: 易地搬迁 is 12 bytes in UTF-8). Here
the texts of the ``.dbf`` are checked against what the files say, the encoding is detected
when they say nothing usable (UTF-8, else GB18030, a superset of GBK), and the texts, read as
raw bytes, are decoded in Python with it.

References
----------
.. [1] dBase file format: https://www.dbase.com/Knowledgebase/INT/db7_file_fmt.htm (header:
   record count at byte 4, header and record lengths at bytes 8 and 10, language driver at 29,
   32-byte field descriptors from byte 32: name 11 bytes, type at 11, length at 16).
.. [2] Esri, "Shapefile file extensions" (the optional ``.cpg`` naming the code page),
   https://desktop.arcgis.com/en/arcmap/latest/manage-data/shapefiles/shapefile-file-extensions.htm
"""

from __future__ import annotations

import codecs
import glob
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: The codec pyogrio is asked to decode with when siting decodes: it maps every byte to one
#: character, so the bytes are recovered exactly (:meth:`DbfEncoding.decoded`).
RAW_CODEC = "ISO-8859-1"
#: Language driver bytes that name no code page: none, and "ANSI" (that of the computer that
#: wrote the file: GBK on a Chinese Windows, but ISO-8859-1 to GDAL).
UNDECLARED_DRIVERS = (0x00, 0x57)
#: The Windows code page number ESRI writes in a ``.cpg`` for UTF-8.
UTF8_CODE_PAGE = 65001
#: How messages name a codec, as a ``.cpg`` file would hold it.
CPG_NAMES = {"utf-8": "UTF-8", "gb18030": "GBK"}


@dataclass(frozen=True)
class DbfEncoding:
    """How a ``.dbf``'s texts are decoded: ``codec`` (a Python codec name) and ``note``, what
    the run says about it (None when the files said it)."""

    codec: str
    note: str | None = None

    def decode(self, raw) -> str:
        """A text read as :data:`RAW_CODEC`, decoded with ``codec``; a character cut at the
        end (a field name or value cut at its byte width) is dropped."""
        return decoded_text(str(raw).encode(RAW_CODEC), self.codec)

    def decoded(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` read with :data:`RAW_CODEC`, its column names and texts decoded."""
        frame = frame.rename(columns=self.decode)
        for column in frame.columns:
            values = frame[column]
            if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
                frame[column] = values.map(lambda v: self.decode(v) if isinstance(v, str) else v)
        return frame


def decoded_text(data: bytes, codec: str) -> str:
    """``data`` decoded with ``codec``, but for a character cut at its end, which is dropped
    (UnicodeDecodeError for any other undecodable byte)."""
    return codecs.getincrementaldecoder(codec)().decode(data, final=False)


def _decodes(data: bytes, codec: str) -> bool:
    try:
        decoded_text(data, codec)
        return True
    except UnicodeDecodeError:
        return False


def _dbf_and_cpg(path: Path, layer: str) -> tuple[bytes, bytes | None] | None:
    """The bytes of a Shapefile's (or zipped Shapefile's) ``layer``.dbf and of its ``.cpg``
    (None without one); None for other files."""
    suffix = path.suffix.lower()
    if suffix == ".shp":
        parts = {p.suffix.lower(): p for p in path.parent.glob(f"{glob.escape(path.stem)}.*")}
        if ".dbf" not in parts:
            return None
        cpg = parts[".cpg"].read_bytes() if ".cpg" in parts else None
        return parts[".dbf"].read_bytes(), cpg
    if suffix == ".zip" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = {Path(n).name.lower(): n for n in archive.namelist()}
            dbf, cpg = (members.get(f"{layer.lower()}{ext}") for ext in (".dbf", ".cpg"))
            if dbf is None:
                return None
            return archive.read(dbf), archive.read(cpg) if cpg is not None else None
    return None


def dbf_texts(dbf: bytes) -> list[bytes]:
    """The distinct texts of a dBase table [1]_: its field names (each cut at 10 bytes) and the
    values of its character fields, without their padding."""
    header_bytes, record_bytes = struct.unpack("<HH", dbf[8:12])
    descriptors = [dbf[i:i + 32] for i in range(32, header_bytes - 1, 32)
                   if dbf[i] != 0x0D and len(dbf[i:i + 32]) == 32]
    names = [d[:11].split(b"\x00")[0] for d in descriptors]
    layout = [("deleted", "S1")] + [(f"f{k}", f"S{d[16]}") for k, d in enumerate(descriptors)]
    dtype = np.dtype(layout)
    count = min(struct.unpack("<I", dbf[4:8])[0],
                max(len(dbf) - header_bytes, 0) // max(record_bytes, 1))
    if dtype.itemsize != record_bytes or count == 0:
        return names
    records = np.frombuffer(dbf, dtype=dtype, count=count, offset=header_bytes)
    values = {v.rstrip(b" ") for k, d in enumerate(descriptors) if d[11:12] == b"C"
              for v in np.unique(records[f"f{k}"])}
    return [*names, *values]


#: A ``.cpg`` naming a Windows code page, bare or after ANSI/OEM ("936", "ANSI 936").
CODE_PAGE = re.compile(r"(?:ANSI|OEM|CP)?\s*_?(\d{3,5})", re.IGNORECASE)


def cpg_codec(cpg: bytes) -> str | None:
    """The Python codec a ``.cpg`` file names ("UTF-8", "utf8", "936", "65001", "ANSI 936",
    "GBK", with or without a byte-order mark), or None when it names none."""
    text = cpg.decode("ascii", errors="ignore").strip()
    if (number := CODE_PAGE.fullmatch(text)) is not None:
        text = "utf-8" if int(number[1]) == UTF8_CODE_PAGE else f"cp{number[1]}"
    try:
        return codecs.lookup(text).name if text else None
    except LookupError:
        return None


def _detected(texts: list[bytes]) -> str | None:
    """UTF-8 when every text is UTF-8, else GB18030 when every one is; else None."""
    return next((codec for codec in ("utf-8", "gb18030")
                 if all(_decodes(text, codec) for text in texts)), None)


def _cpg_name(codec: str) -> str:
    return CPG_NAMES.get(codec, codec.upper())


def attribute_encoding(path: Path, layer: str) -> DbfEncoding | None:
    """How to decode the texts of the Shapefile ``path``'s layer: in the codec its ``.cpg``
    names when they decode in it; else (no ``.cpg``, one that names no codec or the wrong one)
    in the one detected (:func:`_detected`), with a note saying so. None where GDAL reads the
    texts right: ASCII texts, or no ``.cpg`` and a language driver byte naming a code page
    (GDAL reads it)."""
    found = _dbf_and_cpg(path, layer)
    if found is None or len(found[0]) < 32:
        return None
    dbf, cpg = found
    if cpg is None and dbf[29] not in UNDECLARED_DRIVERS:
        return None
    texts = dbf_texts(dbf)
    if all(text.isascii() for text in texts):
        return None
    declared = cpg_codec(cpg) if cpg is not None else None
    if declared is not None and all(_decodes(text, declared) for text in texts):
        return DbfEncoding(declared)
    codec = _detected(texts)
    if codec is None:
        return None
    said = cpg.decode("ascii", errors="replace").strip() if cpg is not None else ""
    if cpg is None:
        why = "no .cpg file gives the encoding of its attributes"
    elif declared is None:
        why = f"its .cpg file holds {said!r}, which names no encoding"
    else:
        why = f"its .cpg file says {said}, but its attributes are not {_cpg_name(declared)}"
    fix = (f"add a .cpg file holding {_cpg_name(codec)}" if cpg is None
           else f"write {_cpg_name(codec)} in the .cpg file")
    return DbfEncoding(codec, f"{why}; read them as {codec.upper()} ({fix} to say so)")

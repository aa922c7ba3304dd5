"""Older Chinese geodetic datums that PROJ cannot shift: warn wherever data cross one.

Xian 1980 and Beijing 1954 (and "New Beijing") have no published transformation to WGS 84 or
CGCS2000 in the EPSG registry for the interior of China; PROJ then falls back to a
"ballpark" transformation that treats the two datums as one, which places points tens of
metres off. Surveying offices convert with their own 7-parameter sets. Any input (vector
layer, DEM, population or land-cover raster) reprojected between such a datum and another
one is therefore warned about, naming the file and the datum.
"""

from __future__ import annotations

import logging
import re

import pyproj

logger = logging.getLogger(__name__)

#: Datums of older Chinese maps that PROJ has no shift to WGS 84 for: it places their points
#: as if their datum were WGS 84's. Names compared lower case, letters and digits only,
#: ESRI's "D_" dropped.
UNSHIFTED_DATUMS = ("xian1980", "beijing1954", "newbeijing")


def _datum_key(crs: pyproj.CRS) -> str:
    """``crs``'s datum name, lower case, letters and digits only ("" without a datum)."""
    geodetic = crs.geodetic_crs
    name = geodetic.datum.name if geodetic is not None else ""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _is_unshifted(key: str) -> bool:
    return key in UNSHIFTED_DATUMS or key.removeprefix("d") in UNSHIFTED_DATUMS


def warn_unshifted_datum(where, source_crs, target_crs) -> None:
    """Warn (naming ``where``) when data in ``source_crs`` reprojected to ``target_crs``
    cross from or to a datum of :data:`UNSHIFTED_DATUMS`: the ballpark shift leaves them tens
    of metres off. Nothing when both share their datum."""
    source = pyproj.CRS.from_user_input(source_crs)
    target = pyproj.CRS.from_user_input(target_crs)
    source_key, target_key = _datum_key(source), _datum_key(target)
    if source_key == target_key:
        return
    for crs, key in ((source, source_key), (target, target_key)):
        if _is_unshifted(key):
            logger.warning("%s: PROJ knows no shift between the %s datum and WGS 84, so its "
                           "positions are taken as if on one datum (off by tens of metres); "
                           "convert the data to CGCS2000 (EPSG:4490 or its Gauss-Kruger zones) "
                           "with your surveying office's parameters", where,
                           crs.geodetic_crs.datum.name)
            return

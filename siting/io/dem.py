"""DEM tiles: the files ``inputs.dem`` names, and those files read as one mosaic.

``inputs.dem`` lists files, folders and glob patterns (:func:`dem_files`). A file is a GeoTIFF,
an SRTM ``.hgt`` tile (also zipped), a VRT, an ESRI ASCII grid (its CRS in a ``.prj`` next to
it), an ERDAS ``.img`` or anything else GDAL reads. :func:`describe_tiles` opens each for its
grid and CRS; :func:`open_mosaic` presents them as one float32 raster (NaN: nodata) in the first
tile's CRS through a GDAL VRT held in memory, so nothing is read until a window is: tiles in that
CRS are referenced as they are, tiles in another CRS are warped into it first (with a logged
notice). :func:`tiles_outline` is the tiles' footprint in any CRS, which tells the cells a
reprojection leaves empty outside the tiles apart from holes in the data.
"""

from __future__ import annotations

import dataclasses
import glob
import logging
import math
import re
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyproj
import rasterio
import rasterio.crs
import rasterio.errors
import rasterio.warp
import rasterio.windows
import shapely
from rasterio.enums import MaskFlags, Resampling
from rasterio.io import MemoryFile

from siting.errors import InputError
from siting.io.datums import warn_unshifted_datum
from siting.io.problems import first_line

logger = logging.getLogger(__name__)

#: File names a DEM folder or glob pattern picks up (a file named explicitly may be anything
#: GDAL reads). ``.zip`` holds ``.hgt`` tiles (or other rasters), read through GDAL's /vsizip/.
DEM_SUFFIXES = (".tif", ".tiff", ".hgt", ".zip", ".vrt", ".asc", ".img")
_ZIPPED_SUFFIXES = (".hgt", ".tif", ".tiff", ".asc", ".img")
_GLOB_CHARACTERS = frozenset("*?[")
#: Points per side of a tile's outline before it is transformed to another CRS.
_OUTLINE_POINTS_PER_SIDE = 64


#: The layers DEM products ship beside the elevations, under the tile's name with a suffix:
#: ASTER GDEM ``_num`` (scenes per cell), ALOS AW3D30 ``_MSK`` (mask) and ``_STK`` (stack
#: count), Copernicus DEM ``_EDM``, ``_FLM``, ``_HEM``, ``_WBM`` (editing, filling, height
#: error and water body masks). They cover the tile's ground but hold no elevations.
AUXILIARY_LAYER = re.compile(r"_(num|msk|stk|edm|flm|hem|wbm)$", re.IGNORECASE)


def _is_dem_name(path: Path) -> bool:
    return path.name.lower().endswith(DEM_SUFFIXES) and not _is_auxiliary(path)


def _is_auxiliary(path: Path) -> bool:
    """Whether a raster's name is that of a DEM product's auxiliary layer
    (:data:`AUXILIARY_LAYER`), which a folder, a pattern or a zip of tiles leaves out."""
    if AUXILIARY_LAYER.search(path.stem):
        logger.info("DEM: %s left out, an auxiliary layer of the DEM product, not elevations",
                    path)
        return True
    return False


def dem_files(specs: Sequence[Path]) -> list[Path]:
    """The DEM files named by ``inputs.dem``: files as they are, the DEM files directly inside
    folders, and the DEM files glob patterns match (``**`` recurses); sorted, each once.

    Raises InputError naming the entry when a file is missing or a folder or pattern holds no
    DEM file (``.tif``, ``.tiff``, ``.hgt``, ``.zip``, ``.vrt``, ``.asc``, ``.img``).
    """
    kinds = ", ".join(DEM_SUFFIXES)
    files: set[Path] = set()
    for spec in specs:
        spec = Path(spec)
        if spec.is_dir():
            found = [p for p in spec.iterdir() if p.is_file() and _is_dem_name(p)]
            if not found:
                raise InputError(f"{spec}: inputs.dem names a folder that holds no DEM file "
                                 f"({kinds}); put the tiles there or name the files")
        elif spec.is_file():
            found = [spec]
        elif _GLOB_CHARACTERS.intersection(str(spec)):
            found = [Path(p) for p in glob.glob(str(spec), recursive=True)]
            found = [p for p in found if p.is_file() and _is_dem_name(p)]
            if not found:
                raise InputError(f"{spec}: the inputs.dem pattern matches no DEM file ({kinds}); "
                                 f"check the pattern in the scenario")
        else:
            raise InputError(f"{spec}: dem raster not found; check inputs.dem in the scenario")
        files.update(_without_vrt_sources(found) if len(found) > 1 else found)
    return sorted(files)


def _without_vrt_sources(found: list[Path]) -> list[Path]:
    """The files a folder or pattern found, less those a VRT among them mosaics already (a
    folder of tiles with the ``gdalbuildvrt`` mosaic of them beside)."""
    mosaicked = {source.resolve() for path in found if path.suffix.lower() == ".vrt"
                 for source in dem_source_files(path)[1:]}
    kept = [path for path in found if path.resolve() not in mosaicked]
    if len(kept) < len(found):
        logger.info("DEM: %d tiles read through the VRT beside them", len(found) - len(kept))
    return kept


#: The share of a raster's area another raster of a DEM folder may cover: tiles of one DEM meet
#: at their edges (SRTM tiles share a row and a column, retiled GeoTIFFs a few cells).
_MAX_TILE_OVERLAP = 0.5


def check_separate_tiles(tiles: Sequence[DemTile], named: set[Path]) -> None:
    """Refuse two rasters, not both named in ``inputs.dem`` themselves but found in a folder or
    by a pattern, of which one covers more than half the other: they cannot both be tiles of
    the DEM (a hillshade, a slope map or a copy beside the tiles), and the mosaic would draw
    one over the other. Rasters named one by one may overlap (a finer survey over a coarser
    DEM): the later wins (:func:`open_mosaic`). The rasters of a zip are found in it, even when
    the zip is named."""
    found = [tile for tile in tiles
             if tile.file.resolve() not in named or tile.name != str(tile.file)]
    if len(found) < 2:
        return
    outlines = [tile.outline(found[0].crs) for tile in found]
    tree = shapely.STRtree(outlines)
    for i, j in zip(*tree.query(outlines, predicate="intersects")):
        if i >= j:
            continue
        smaller = min(outlines[i].area, outlines[j].area)
        share = outlines[i].intersection(outlines[j]).area / smaller if smaller > 0 else 0.0
        if share > _MAX_TILE_OVERLAP:
            a, b = found[i], found[j]
            raise InputError(
                f"{a.name} and {b.name}: inputs.dem takes both as tiles of the DEM, but they "
                f"cover the same ground ({share:.0%} of the smaller one), so one of them is not "
                f"part of the DEM (a hillshade, a slope map, a copy?); move it out of the folder, "
                f"or name the DEM's files in inputs.dem")


#: Files next to a raster that change how GDAL reads it (CRS, georeferencing, nodata, mask).
_SIDECARS = (".prj", ".aux.xml", ".hdr", ".tfw", ".wld", ".msk")


def dem_source_files(path: Path, _found: list[Path] | None = None) -> list[Path]:
    """Every file whose bytes a DEM file's elevations depend on: the file, its sidecars (a
    ``.prj`` next to an ASCII grid, ``.aux.xml``, world files) and, for a VRT, the files it
    references (recursively)."""
    path = Path(path)
    found = [] if _found is None else _found
    found.append(path)
    for suffix in _SIDECARS:
        for sidecar in (path.with_suffix(suffix), path.with_name(path.name + suffix)):
            if sidecar.is_file() and sidecar not in found:
                found.append(sidecar)
    for _, _, source in _vrt_sources(path):
        if source.is_file() and source not in found:
            dem_source_files(source, found)
    return found


#: A GDAL dataset name that is no file path (NETCDF:"a.nc":z, HDF5:...); not a drive letter.
_GDAL_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9_]+:")


def _vrt_sources(path: Path) -> list[tuple[str, bool, Path]]:
    """The files a VRT names as sources (GDAL's /vsi and driver-prefixed names left out), each
    as (the name in the VRT, whether it is relative to the VRT, the path GDAL opens: beside
    the VRT when ``relativeToVRT="1"``, else the name itself, relative to the working folder
    when it is not absolute); none for another file, or a VRT that cannot be parsed (reported
    when the DEM is read)."""
    path = Path(path)
    if path.suffix.lower() != ".vrt":
        return []
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return []
    sources = []
    for element in root.iter("SourceFilename"):
        name = (element.text or "").strip()
        if not name or name.startswith("/vsi") or _GDAL_PREFIX.match(name):
            continue
        relative = element.get("relativeToVRT") == "1"
        sources.append((name, relative, path.parent / name if relative else Path(name)))
    return sources


def _check_vrt_sources(path: Path, _seen: frozenset[Path] = frozenset()) -> None:
    """Refuse a VRT that names a source file that is not there, saying where GDAL looked (a
    name not marked ``relativeToVRT="1"`` is taken from the folder siting runs in); the VRTs
    it names are checked in turn (each once: a VRT naming itself is GDAL's to refuse)."""
    seen = _seen | {path.resolve()}
    for name, relative, source in _vrt_sources(path):
        if source.is_file():
            if source.resolve() not in seen:
                _check_vrt_sources(source, seen)
            continue
        beside = path.parent / name
        if not relative and not Path(name).is_absolute() and beside.is_file():
            raise InputError(f"{path}: the VRT names the source {name} without "
                             f'relativeToVRT="1", so GDAL looks for it in the folder siting runs '
                             f"in ({Path.cwd()}), not beside the VRT; write "
                             f'<SourceFilename relativeToVRT="1"> in the VRT')
        raise InputError(f"{path}: the VRT names the source {name}, which is not there "
                         f"({source.absolute()}); put the file there or fix its path in the VRT")


def dem_label(specs: Sequence[Path]) -> str:
    """How messages name the DEM: its one entry, or the first entries of ``inputs.dem``."""
    names = [str(s) for s in specs]
    if len(names) == 1:
        return names[0]
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return f"inputs.dem ({', '.join(names[:3])}{more})"


def gdal_names(path: Path) -> list[str]:
    """What GDAL opens for one DEM file: the file, or the rasters inside a zip (/vsizip/)."""
    if path.suffix.lower() != ".zip":
        return [str(path)]
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist()
                       if m.lower().endswith(_ZIPPED_SUFFIXES) and not _is_auxiliary(Path(m))]
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path}: cannot read the zipped DEM ({first_line(exc)}); is it a valid "
                         f"zip file?") from None
    if not members:
        raise InputError(f"{path}: the zip file holds no DEM tile "
                         f"({', '.join(_ZIPPED_SUFFIXES)})")
    return [f"/vsizip/{path}/{member}" for member in sorted(members)]


@dataclass(frozen=True)
class DemTile:
    """One DEM raster: its grid and CRS, as GDAL reports them."""

    file: Path  # the file inputs.dem names (the zip for a zipped tile)
    name: str  # what GDAL opens (/vsizip/... for a zipped tile)
    crs: pyproj.CRS
    transform: rasterio.Affine
    width: int
    height: int
    nodata: float | None
    driver: str
    # elevation = stored value x scale + offset, in units of metres_per_unit metres (the band's
    # scale, offset and unit as GDAL reports them)
    scale: float = 1.0
    offset: float = 0.0
    metres_per_unit: float = 1.0
    masked: bool = False  # the band has a mask of its own (a mask band, not a nodata value)

    @property
    def to_metres(self) -> tuple[float, float]:
        """(ratio, offset_m): elevation [m] = stored value x ratio + offset_m."""
        return self.scale * self.metres_per_unit, self.offset * self.metres_per_unit

    @property
    def north_up(self) -> bool:
        t = self.transform
        return t.b == 0 and t.d == 0 and t.a > 0 and t.e < 0

    def corners(self) -> np.ndarray:
        """(4, 2) map coordinates of the raster's outer corners."""
        pixels = [(0, 0), (self.width, 0), (self.width, self.height), (0, self.height)]
        return np.array([self.transform @ p for p in pixels])

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the tile's CRS."""
        xy = self.corners()
        return (float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()),
                float(xy[:, 1].max()))

    def outline(self, crs: pyproj.CRS) -> shapely.Geometry:
        """The raster's outline (outer cell edges) in ``crs``, edges densified before the
        transformation so that they may curve."""
        steps = np.linspace(0.0, 1.0, _OUTLINE_POINTS_PER_SIDE, endpoint=False)
        w, h = self.width, self.height
        cols = np.concatenate([steps * w, np.full_like(steps, w), (1 - steps) * w,
                               np.zeros_like(steps)])
        rows = np.concatenate([np.zeros_like(steps), steps * h, np.full_like(steps, h),
                               (1 - steps) * h])
        t = self.transform
        x = t.a * cols + t.b * rows + t.c
        y = t.d * cols + t.e * rows + t.f
        if self.crs != crs:
            x, y = pyproj.Transformer.from_crs(self.crs, crs, always_xy=True).transform(x, y)
        keep = np.isfinite(x) & np.isfinite(y)
        if keep.sum() < 3:
            return shapely.Polygon()
        polygon = shapely.Polygon(np.column_stack([x[keep], y[keep]]))
        return polygon if polygon.is_valid else shapely.make_valid(polygon)


def _no_crs_message(path: Path, driver: str) -> str:
    """What to do about a DEM without a CRS, for its format (gdal_edit.py only helps GeoTIFF)."""
    path = Path(path)
    stem = path.with_suffix("").name
    convert = f"gdal_translate -a_srs EPSG:4326 {path.name} {stem}.tif"
    if driver == "GTiff":
        return (f"{path}: the DEM has no CRS; assign one with gdal_edit.py -a_srs EPSG:... "
                f"(e.g. EPSG:4326 for longitude/latitude)")
    if driver == "AAIGrid":
        return (f"{path}: the DEM has no CRS, and an ASCII grid cannot hold one (gdal_edit.py is "
                f"ignored for it); write {stem}.prj next to it (for longitude/latitude: "
                f"gdalsrsinfo --single-line -o wkt_esri EPSG:4326 > {stem}.prj) or convert it to "
                f"a GeoTIFF with a CRS ({convert})")
    return (f"{path}: the DEM ({driver}) has no CRS; convert it to a GeoTIFF with a CRS "
            f"({convert} for longitude/latitude)")


#: Band units (``gdalinfo``'s "Unit Type", lower case) of elevations, in metres per unit.
_ELEVATION_UNITS_M = {
    **dict.fromkeys(("", "m", "metre", "meter", "metres", "meters"), 1.0),
    **dict.fromkeys(("ft", "foot", "feet", "international foot", "international feet"), 0.3048),
    **dict.fromkeys(("us survey foot", "us survey feet", "ft-us", "us-ft", "ftus", "foot_us"),
                    1200.0 / 3937.0),
}


def _metres_per_unit(unit: str | None, path: Path) -> float:
    """Metres per unit of a DEM band's elevations (its unit as GDAL reports it; none: metres).
    Raises InputError for a unit that is no length siting knows."""
    key = (unit or "").strip().lower()
    if key not in _ELEVATION_UNITS_M:
        raise InputError(f"{path}: the DEM's elevations are in {unit!r}, which siting does not "
                         f"read as a length; give them in metres or feet and set the band's "
                         f"unit (gdal_edit.py -units m, or -units ft)")
    return _ELEVATION_UNITS_M[key]


def _horizontal(crs) -> pyproj.CRS:
    """A raster's CRS without its vertical part (a compound CRS such as "UTM 16N + NAVD88
    height (ftUS)"): the grid's coordinates are the horizontal CRS's; GDAL reports the
    vertical unit as the band's unit, which :func:`_metres_per_unit` reads."""
    crs = pyproj.CRS.from_user_input(crs)
    return crs.sub_crs_list[0] if crs.is_compound else crs


def _has_own_mask(src) -> bool:
    """Whether the first band's valid cells come from a mask of its own (a per-dataset mask
    band or an alpha band), which the mosaic applies itself (:func:`_unmasked`)."""
    flags = src.mask_flag_enums[0]
    return MaskFlags.per_dataset in flags or MaskFlags.alpha in flags


def describe_tiles(files: Sequence[Path]) -> list[DemTile]:
    """Open every DEM file (every raster of a zip) for its grid, CRS and nodata value.

    Raises InputError for a file GDAL cannot read, without a band, or without a CRS (saying how
    to give that format one).
    """
    tiles = []
    for path in files:
        _check_vrt_sources(Path(path))
        for name in gdal_names(Path(path)):
            try:
                with warnings.catch_warnings():
                    # a raster without georeferencing is reported below as "no CRS"
                    warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
                    with rasterio.open(name) as src:
                        if src.count < 1:
                            raise InputError(f"{path}: the DEM has no band")
                        if src.crs is None:
                            raise InputError(_no_crs_message(path, src.driver))
                        tiles.append(DemTile(
                            file=Path(path), name=name, crs=_horizontal(src.crs),
                            transform=src.transform, width=src.width, height=src.height,
                            nodata=src.nodata, driver=src.driver, scale=src.scales[0],
                            offset=src.offsets[0],
                            metres_per_unit=_metres_per_unit(src.units[0], path),
                            masked=_has_own_mask(src)))
            except rasterio.errors.RasterioIOError as exc:
                raise InputError(_unreadable_message(path, name, exc)) from None
    return tiles


#: The file name GDAL's SRTMHGT driver needs: the tile's south-west corner (N32E108.hgt).
HGT_NAME = re.compile(r"[NS]\d{2}[EW]\d{3}\.hgt", re.IGNORECASE)


def _unreadable_message(path: Path, name: str, exc: Exception) -> str:
    """What to do about a DEM file GDAL cannot open; an SRTM tile that lost its name (GDAL
    places a .hgt tile by its name alone) is told to get it back."""
    inner = Path(name.split("/vsizip/")[-1]).name
    if inner.lower().endswith(".hgt") and not HGT_NAME.fullmatch(inner):
        return (f"{path}: cannot read the SRTM tile {inner}: a .hgt tile is placed by its file "
                f"name, which must name its south-west corner as it came (e.g. N32E108.hgt); "
                f"rename it so")
    return (f"{path}: cannot read the DEM ({first_line(exc)}); is it a GeoTIFF, an SRTM .hgt (or "
            f"zipped .hgt), a VRT or an ASCII grid?")


def tile_cells_near(tiles: Sequence[DemTile], crs: pyproj.CRS, x: float, y: float
                    ) -> list[tuple[DemTile, int, int, float]]:
    """The stored cells of every tile within one cell of the cell holding the map point
    ``(x, y)`` of ``crs``: (tile, row, col, elevation [m], NaN for nodata), row and col those
    of the tile's own file (what ``gdallocationinfo`` takes). A cell of a warped or resampled
    grid is drawn from these cells (bilinear weights reach one cell)."""
    cells = []
    for tile in tiles:
        tx, ty = pyproj.Transformer.from_crs(crs, tile.crs, always_xy=True).transform(x, y)
        col_f, row_f = ~tile.transform * (tx, ty)
        if not (math.isfinite(row_f) and math.isfinite(col_f)):
            continue
        row0, col0 = max(math.floor(row_f) - 1, 0), max(math.floor(col_f) - 1, 0)
        row1, col1 = min(math.floor(row_f) + 2, tile.height), min(math.floor(col_f) + 2, tile.width)
        if row1 <= row0 or col1 <= col0:
            continue
        with rasterio.open(tile.name) as src:
            stored = src.read(1, window=((row0, row1), (col0, col1)), masked=True)
        ratio, offset_m = tile.to_metres
        metres = stored.astype(np.float64).filled(np.nan) * ratio + offset_m
        cells += [(tile, row0 + r, col0 + c, float(metres[r, c]))
                  for r, c in np.ndindex(metres.shape)]
    return cells


def tiles_outline(tiles: Sequence[DemTile], crs: pyproj.CRS) -> shapely.Geometry:
    """The union of the tiles' outlines in ``crs``."""
    return shapely.union_all([tile.outline(crs) for tile in tiles])


def lonlat_bounds(geometry: shapely.Geometry, crs: pyproj.CRS) -> tuple[float, float, float, float]:
    """(west, south, east, north) [degrees] of a geometry given in ``crs``."""
    to_lonlat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    step = max(math.sqrt(geometry.area) / 32, 1e-9) if geometry.area > 0 else 1.0
    dense = shapely.segmentize(geometry, step)
    xy = shapely.get_coordinates(dense)
    lon, lat = to_lonlat.transform(xy[:, 0], xy[:, 1])
    return float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))


def lonlat_box_outline(box: tuple[float, float, float, float], crs: pyproj.CRS,
                       step_deg: float = 0.01) -> shapely.Geometry:
    """The outline of a lon/lat box (west, south, east, north [degrees]) in ``crs``: a polygon
    with edges densified every ``step_deg``, so that it follows the meridians and parallels
    (the box's bounding box in ``crs`` is larger)."""
    outline = shapely.segmentize(shapely.box(*box), step_deg)
    to_crs = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    return shapely.transform(outline, lambda xy: np.column_stack(to_crs.transform(xy[:, 0],
                                                                                  xy[:, 1])))


def srtm_tile_names(west: float, south: float, east: float, north: float, *,
                    limit: int = 6) -> list[str]:
    """Names of the 1-degree SRTM tiles (e.g. N32E108) a lon/lat box touches, at most ``limit``."""
    names = []
    for lat in range(math.floor(south), math.ceil(north)):
        for lon in range(math.floor(west), math.ceil(east)):
            names.append(f"{'N' if lat >= 0 else 'S'}{abs(lat):02d}"
                         f"{'E' if lon >= 0 else 'W'}{abs(lon):03d}")
    return names[:limit] + (["..."] if len(names) > limit else [])


def uncovered_message(where: str, gap: shapely.Geometry, crs: pyproj.CRS) -> str:
    """The error for a region the tiles leave partly uncovered, naming the part as a lon/lat box."""
    west, south, east, north = lonlat_bounds(gap, crs)
    names = ", ".join(srtm_tile_names(west, south, east, north))
    return (f"{where}: the DEM tiles leave part of the region uncovered: lon {west:.4f}..{east:.4f}, "
            f"lat {south:.4f}..{north:.4f} (WGS 84 bounding box of the uncovered part, "
            f"{gap.area / 1e6:.1f} km²); add the tiles covering it (SRTM 1-degree tiles {names}) "
            f"or shrink the region")


# ---------------------------------------------------------------------------------------------
# the mosaic


@dataclass(frozen=True)
class _Source:
    """One raster of the mosaic VRT, north-up in the mosaic's CRS."""

    name: str
    transform: rasterio.Affine
    width: int
    height: int
    nodata: float | None
    to_metres: tuple[float, float] = (1.0, 0.0)  # (ratio, offset_m), see DemTile.to_metres

    @classmethod
    def of_tile(cls, tile: DemTile) -> _Source:
        return cls(tile.name, tile.transform, tile.width, tile.height, tile.nodata,
                   tile.to_metres)


def _rio_crs(crs: pyproj.CRS) -> rasterio.crs.CRS:
    return rasterio.crs.CRS.from_wkt(crs.to_wkt())


def _whole(value: float) -> float | int:
    """``value`` as an int when it is one up to rounding."""
    nearest = round(value)
    return int(nearest) if abs(value - nearest) < 1e-6 else value


def _cells(length: float) -> int:
    """Whole cells covering ``length`` cells (rounding noise does not add a cell)."""
    nearest = round(length)
    return int(nearest) if abs(length - nearest) < 1e-6 else math.ceil(length)


def _warp_tile(tile: DemTile, crs: pyproj.CRS, grid: tuple[float, float, float, float] | None,
               within, stack: ExitStack) -> tuple[_Source | None, tuple]:
    """``tile`` warped (bilinear) into ``crs`` on the mosaic's grid (res_x, res_y, x0, y0),
    over ``within`` (bounds in ``crs``) only, held in a /vsimem/ GeoTIFF; the grid is the
    tile's own default one when the mosaic has none yet."""
    if grid is None:
        t, _, _ = rasterio.warp.calculate_default_transform(
            _rio_crs(tile.crs), _rio_crs(crs), tile.width, tile.height, *tile.bounds)
        grid = (t.a, -t.e, t.c, t.f)
    res_x, res_y, x0, y0 = grid
    left, bottom, right, top = rasterio.warp.transform_bounds(
        _rio_crs(tile.crs), _rio_crs(crs), *tile.bounds, densify_pts=21)
    if within is not None:
        left, bottom = max(left, within[0]), max(bottom, within[1])
        right, top = min(right, within[2]), min(top, within[3])
        if right <= left or top <= bottom:
            return None, grid
    col0, col1 = math.floor((left - x0) / res_x), math.ceil((right - x0) / res_x)
    row0, row1 = math.floor((y0 - top) / res_y), math.ceil((y0 - bottom) / res_y)
    transform = rasterio.Affine(res_x, 0.0, x0 + col0 * res_x, 0.0, -res_y, y0 - row0 * res_y)
    out = np.full((row1 - row0, col1 - col0), np.nan, np.float32)
    with rasterio.open(tile.name) as src:
        rasterio.warp.reproject(rasterio.band(src, 1), out, src_nodata=tile.nodata,
                                dst_transform=transform, dst_crs=_rio_crs(crs), dst_nodata=np.nan,
                                resampling=Resampling.bilinear)
    ratio, offset_m = tile.to_metres
    out = out * np.float32(ratio) + np.float32(offset_m)  # bilinear weights commute with it
    name = _hold(out, transform, crs, stack)
    return _Source(name, transform, out.shape[1], out.shape[0], np.nan), grid


def _hold(values: np.ndarray, transform, crs: pyproj.CRS, stack: ExitStack) -> str:
    """The GDAL name of a /vsimem/ float32 GeoTIFF (nodata NaN) of ``values``, alive as long as
    ``stack``."""
    memory = stack.enter_context(MemoryFile())
    with memory.open(driver="GTiff", width=values.shape[1], height=values.shape[0], count=1,
                     dtype="float32", crs=_rio_crs(crs), transform=transform,
                     nodata=np.nan) as dst:
        dst.write(values.astype(np.float32), 1)
    return memory.name


def _window_over(tile: DemTile, crs: pyproj.CRS, within) -> rasterio.windows.Window:
    """The window of ``tile`` over ``within`` (bounds in ``crs``) and one cell more around,
    clipped to the tile (empty when the tile misses them); the whole tile without ``within``
    and for a rotated tile."""
    whole = rasterio.windows.Window(0, 0, tile.width, tile.height)
    if within is None or not tile.north_up:
        return whole
    bounds = within if tile.crs.equals(crs, ignore_axis_order=True) else \
        rasterio.warp.transform_bounds(_rio_crs(crs), _rio_crs(tile.crs), *within, densify_pts=21)
    window = rasterio.windows.from_bounds(*bounds, transform=tile.transform)
    col0, row0 = math.floor(window.col_off) - 1, math.floor(window.row_off) - 1
    col1 = math.ceil(window.col_off + window.width) + 1
    row1 = math.ceil(window.row_off + window.height) + 1
    col0, row0 = max(col0, 0), max(row0, 0)
    col1, row1 = max(min(col1, tile.width), col0), max(min(row1, tile.height), row0)
    return rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0)


def _unmasked(tile: DemTile, window: rasterio.windows.Window, stack: ExitStack) -> DemTile:
    """The ``window`` of a tile whose band has a mask of its own, as a float32 tile in metres
    held in /vsimem/ with NaN where its mask or its nodata value leaves cells out: a VRT source
    honours the nodata value alone when given both (and GDAL's validity for such a band is its
    mask)."""
    with rasterio.open(tile.name) as src:
        stored = src.read(1, window=window, masked=True)
    ratio, offset_m = tile.to_metres
    values = stored.astype(np.float32).filled(np.nan) * np.float32(ratio) + np.float32(offset_m)
    if tile.nodata is not None:
        values[stored.data == tile.nodata] = np.nan
    transform = rasterio.windows.transform(window, tile.transform)
    return dataclasses.replace(tile, name=_hold(values, transform, tile.crs, stack),
                               transform=transform, width=values.shape[1],
                               height=values.shape[0], nodata=np.nan, scale=1.0, offset=0.0,
                               metres_per_unit=1.0, masked=False)


def _vrt_xml(sources: Sequence[_Source], crs: pyproj.CRS, res_x: float, res_y: float) -> bytes:
    """A VRT of ``sources`` (later ones drawn over earlier ones) on one north-up grid."""
    left = min(s.transform.c for s in sources)
    top = max(s.transform.f for s in sources)
    right = max(s.transform.c + s.width * s.transform.a for s in sources)
    bottom = min(s.transform.f + s.height * s.transform.e for s in sources)
    root = ET.Element("VRTDataset", rasterXSize=str(_cells((right - left) / res_x)),
                      rasterYSize=str(_cells((top - bottom) / res_y)))
    # without dataAxisToSRSAxisMapping GDAL reads the SRS in GIS order (x = east / longitude)
    ET.SubElement(root, "SRS").text = _rio_crs(crs).to_wkt()
    ET.SubElement(root, "GeoTransform").text = ", ".join(
        repr(float(v)) for v in (left, res_x, 0.0, top, 0.0, -res_y))
    band = ET.SubElement(root, "VRTRasterBand", dataType="Float32", band="1")
    ET.SubElement(band, "NoDataValue").text = "nan"
    for s in sources:
        x_off = _whole((s.transform.c - left) / res_x)
        y_off = _whole((top - s.transform.f) / res_y)
        x_size = _whole(s.width * s.transform.a / res_x)
        y_size = _whole(-s.height * s.transform.e / res_y)
        exact = all(isinstance(v, int) for v in (x_off, y_off, x_size, y_size))
        source = ET.SubElement(band, "ComplexSource",
                               **({} if exact else {"resampling": "bilinear"}))
        ET.SubElement(source, "SourceFilename", relativeToVRT="0").text = s.name
        ET.SubElement(source, "SourceBand").text = "1"
        ET.SubElement(source, "SrcRect", xOff="0", yOff="0", xSize=str(s.width),
                      ySize=str(s.height))
        ET.SubElement(source, "DstRect", xOff=str(x_off), yOff=str(y_off), xSize=str(x_size),
                      ySize=str(y_size))
        if s.nodata is not None:
            ET.SubElement(source, "NODATA").text = "nan" if np.isnan(s.nodata) else repr(s.nodata)
        if s.to_metres != (1.0, 0.0):
            ET.SubElement(source, "ScaleOffset").text = repr(float(s.to_metres[1]))
            ET.SubElement(source, "ScaleRatio").text = repr(float(s.to_metres[0]))
    return ET.tostring(root)


@contextmanager
def open_mosaic(tiles: Sequence[DemTile], *, within: tuple[float, float, float, float] | None = None
                ) -> Iterator[rasterio.io.DatasetReader]:
    """The tiles as one open float32 raster (nodata NaN) in the first tile's CRS.

    Tiles in that CRS and north-up are referenced as they are, on the grid of the finest of
    them (a tile of another cell size or off that grid is resampled bilinearly by the VRT).
    Tiles in another CRS (or rotated) are warped (bilinear) into it first, only over
    ``within`` (bounds in that CRS) when given, with a logged notice; where tiles overlap,
    the tiles in the mosaic's CRS win, then the later ones in file order. A tile whose band
    has a mask of its own is read into memory first (over ``within`` only, when given), its
    masked and nodata cells NaN (:func:`_unmasked`). Elevations are converted to metres (the
    band's scale, offset, unit).
    """
    crs, first_file = tiles[0].crs, tiles[0].file
    with ExitStack() as stack:
        windows = [_window_over(t, crs, within) if t.masked else None for t in tiles]
        tiles = [_unmasked(t, w, stack) if w is not None else t for t, w in zip(tiles, windows)
                 if w is None or (w.width > 0 and w.height > 0)]
        native = [t for t in tiles if t.crs.equals(crs, ignore_axis_order=True) and t.north_up]
        native_ids = {id(t) for t in native}
        grid = None
        if native:
            grid = (min(t.transform.a for t in native), min(-t.transform.e for t in native),
                    native[0].transform.c, native[0].transform.f)
        sources = []
        for tile in tiles:
            if id(tile) in native_ids:
                continue
            logger.warning("%s: DEM tile in %s reprojected (bilinear) to %s, the CRS of %s, to "
                           "join the mosaic", tile.file, tile.crs.to_string(), crs.to_string(),
                           tiles[0].file)
            warn_unshifted_datum(tile.file, tile.crs, crs)
            source, grid = _warp_tile(tile, crs, grid, within, stack)
            if source is not None:
                sources.append(source)
        sources += [_Source.of_tile(t) for t in native]
        if not sources:
            raise InputError(f"{first_file}: no DEM tile reaches the region")
        memory = stack.enter_context(MemoryFile(_vrt_xml(sources, crs, grid[0], grid[1]),
                                                ext=".vrt"))
        yield stack.enter_context(memory.open())

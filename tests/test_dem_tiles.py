"""DEM tiles: folders, globs and lists of GeoTIFF, SRTM .hgt (also zipped) and ASCII grids,
mosaicked, read over the region only, and checked for holes inside the tiles' footprint only."""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pyproj
import pytest
import rasterio
import yaml
import rasterio.warp
import rasterio.windows
from rasterio.enums import Resampling

from siting.cache import coverage_key
from siting.config import load_scenario
from siting.errors import InputError
from siting.io.dem import dem_files, dem_source_files, lonlat_box_outline
from siting.io.rasters import read_terrain, resolve_crs, single_dem_in_crs
from siting.pipeline import prepare

ROOT = Path(__file__).resolve().parents[1]
DEMO_DEM = ROOT / "data" / "demo" / "dem.tif"
DEMO_SCENARIO = ROOT / "data" / "demo" / "scenario.yaml"
UTM49 = pyproj.CRS.from_epsg(32649)
ASCII_GRID = (ROOT.parent / "shared" / "data" / "real" / "dem" / "itu_p1511_topo_ankang"
              / "itu_p1511_v2_topo_107.5-110.75E_31.0-34.5N.asc")
#: Ankang's counties (WGS 84 west, south, east, north), about.
ANKANG_BOX = (108.0, 31.7, 110.2, 33.8)
SRTM3 = 1201  # samples per side of a 3-arc-second SRTM tile


def assert_same_terrain(got, want):
    assert got.transform == want.transform
    assert got.crs == want.crs
    np.testing.assert_array_equal(got.elevation_m, want.elevation_m)


def _write(path: Path, data: np.ndarray, *, crs, transform, nodata=None) -> Path:
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1],
                       count=1, dtype=data.dtype, crs=crs, transform=transform,
                       nodata=nodata) as dst:
        dst.write(data, 1)
    return path


def _cut(src_path: Path, folder: Path, parts: int, *, skip=()) -> list[Path]:
    """``src_path`` cut into parts x parts GeoTIFF tiles in ``folder`` (leaving out ``skip``)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    with rasterio.open(src_path) as src:
        rows = np.linspace(0, src.height, parts + 1).astype(int)
        cols = np.linspace(0, src.width, parts + 1).astype(int)
        for i in range(parts):
            for j in range(parts):
                if (i, j) in skip:
                    continue
                window = rasterio.windows.Window(cols[j], rows[i], cols[j + 1] - cols[j],
                                                 rows[i + 1] - rows[i])
                paths.append(_write(folder / f"tile_{i}_{j}.tif", src.read(1, window=window),
                                    crs=src.crs, transform=src.window_transform(window),
                                    nodata=src.nodata))
    return paths


@pytest.fixture(scope="module")
def demo_tiles(tmp_path_factory) -> Path:
    """The demo DEM cut into 2 x 2 GeoTIFF tiles."""
    folder = tmp_path_factory.mktemp("demo_tiles")
    _cut(DEMO_DEM, folder, 2)
    return folder


@pytest.fixture(scope="module")
def demo_terrain():
    return read_terrain(DEMO_DEM, UTM49)


# ---------------------------------------------------------------------------------------------
# GeoTIFF tiles in the run's CRS


def test_tiles_as_folder_glob_and_list_give_the_single_file_terrain(demo_tiles, demo_terrain):
    tiles = sorted(demo_tiles.glob("*.tif"))
    assert len(tiles) == 4
    assert demo_terrain.shape == (2000, 2000)
    for dem in ((demo_tiles,), (demo_tiles / "tile_*.tif",), tuple(tiles), tuple(reversed(tiles))):
        assert dem_files(dem) == tiles
        assert_same_terrain(read_terrain(dem, UTM49), demo_terrain)


def test_demo_tiles_give_the_single_file_coverage_matrix(demo_tiles, tmp_path):
    """The whole pipeline up to the coverage matrix, on the demo region read from 4 tiles."""
    doc = yaml.safe_load(DEMO_SCENARIO.read_text(encoding="utf-8"))
    doc["inputs"] = {key: str((DEMO_SCENARIO.parent / value).resolve()) if isinstance(value, str)
                     else value for key, value in doc["inputs"].items()}
    doc["inputs"]["dem"] = str(demo_tiles)
    tiled = tmp_path / "scenario.yaml"
    tiled.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    _, _, want = prepare(load_scenario(DEMO_SCENARIO), timings={}, cache_dir=None)
    _, _, got = prepare(load_scenario(tiled), timings={}, cache_dir=None)
    assert (got.level_dbm != want.level_dbm).nnz == 0
    assert got.options.equals(want.options)


def _vrt_text(tiles: list[Path], prefix: str) -> str:
    """A VRT of the demo DEM's ``tiles``, as gdalbuildvrt would write it, each tile named
    ``prefix`` + its file name relative to the VRT."""
    with rasterio.open(DEMO_DEM) as src:
        profile = src.profile
    sources = []
    for path in tiles:
        with rasterio.open(path) as tile:
            col = round((tile.transform.c - profile["transform"].c) / 30.0)
            row = round((profile["transform"].f - tile.transform.f) / 30.0)
            sources.append(
                f'<ComplexSource><SourceFilename relativeToVRT="1">{prefix}{path.name}'
                f'</SourceFilename><SourceBand>1</SourceBand>'
                f'<SrcRect xOff="0" yOff="0" xSize="{tile.width}" ySize="{tile.height}"/>'
                f'<DstRect xOff="{col}" yOff="{row}" xSize="{tile.width}" ySize="{tile.height}"/>'
                f'<NODATA>-32768</NODATA></ComplexSource>')
    t = profile["transform"]
    return (f'<VRTDataset rasterXSize="{profile["width"]}" rasterYSize="{profile["height"]}">'
            f'<SRS>EPSG:32649</SRS><GeoTransform>{t.c}, {t.a}, 0, {t.f}, 0, {t.e}</GeoTransform>'
            f'<VRTRasterBand dataType="Int16" band="1"><NoDataValue>-32768</NoDataValue>'
            f'{"".join(sources)}</VRTRasterBand></VRTDataset>')


def test_a_vrt_of_the_tiles_gives_the_single_file_terrain(demo_tiles, demo_terrain, tmp_path):
    """A VRT the user built (as gdalbuildvrt would), its tiles named relative to it."""
    shutil.copytree(demo_tiles, tmp_path / "tiles")
    (tmp_path / "dem.vrt").write_text(_vrt_text(sorted(demo_tiles.glob("*.tif")), "tiles/"))
    assert_same_terrain(read_terrain(tmp_path / "dem.vrt", UTM49), demo_terrain)
    assert single_dem_in_crs(tmp_path / "dem.vrt", UTM49) == tmp_path / "dem.vrt"
    # the cache key digests the tiles a VRT references
    assert len(dem_source_files(tmp_path / "dem.vrt")) == 5



def test_a_vrt_beside_its_tiles_in_the_folder_reads_each_tile_once(demo_tiles, demo_terrain,
                                                                    tmp_path):
    """gdalbuildvrt's mosaic kept in the tiles' folder: the folder is the VRT."""
    folder = shutil.copytree(demo_tiles, tmp_path / "dem")
    (folder / "dem.vrt").write_text(_vrt_text(sorted(demo_tiles.glob("*.tif")), ""))
    assert dem_files((folder,)) == [folder / "dem.vrt"]
    assert_same_terrain(read_terrain(folder, UTM49), demo_terrain)


def _hillshade(dem: Path, path: Path) -> Path:
    """A greyscale hillshade of ``dem`` (bytes 0-255 on the DEM's grid), as a planner keeps one
    beside the DEM for the map."""
    with rasterio.open(dem) as src:
        gradient_y, gradient_x = np.gradient(src.read(1).astype(float))
        return _write(path, np.clip(128 + 4 * (gradient_x - gradient_y), 0, 255).astype("uint8"),
                      crs=src.crs, transform=src.transform)


def test_a_hillshade_in_the_dem_folder_is_refused_naming_both_rasters(demo_tiles, tmp_path):
    """Found in the folder, the hillshade would have been drawn over the tiles: elevations of
    0-255 m in a region of 200-2,000 m."""
    folder = shutil.copytree(demo_tiles, tmp_path / "dem")
    _hillshade(DEMO_DEM, folder / "hillshade.tif")
    for dem in (folder, folder / "*.tif"):
        with pytest.raises(InputError) as refused:
            read_terrain(dem, UTM49)
        message = str(refused.value)
        assert "hillshade.tif" in message and re.search(r"tile_\d_\d.tif", message)
        assert "cover the same ground (100% of the smaller one)" in message
        assert "move it out of the folder" in message


def test_rasters_named_one_by_one_may_overlap(demo_tiles, demo_terrain, tmp_path):
    """A finer survey over a coarser DEM, both named: the later in path order is drawn over
    the earlier (here the tiles over the whole raster)."""
    coarse = _hillshade(DEMO_DEM, tmp_path / "a_coarse.tif")
    tiles = sorted(shutil.copytree(demo_tiles, tmp_path / "tiles").glob("*.tif"))
    assert_same_terrain(read_terrain((coarse, *tiles), UTM49), demo_terrain)

def test_region_bounds_read_only_that_window(demo_tiles, demo_terrain):
    xmin, ymin, _, ymax = demo_terrain.bounds
    # 12 x 15 km on cell edges
    region = (xmin + 20_010.0, ymin + 5_010.0, xmin + 32_010.0, ymax - 39_990.0)
    single = read_terrain((DEMO_DEM,), UTM49, region_bounds=region)
    tiled = read_terrain((demo_tiles,), UTM49, region_bounds=region)  # crosses all four tiles
    assert_same_terrain(tiled, single)
    # 400 x 500 cells of 30 m, plus 2 cells on each side
    assert single.shape == (504, 404)
    wx0, wy0, wx1, wy1 = single.bounds
    assert wx0 <= region[0] and wy0 <= region[1] and wx1 >= region[2] and wy1 >= region[3]
    row0 = round((demo_terrain.transform.f - single.transform.f) / 30.0)
    col0 = round((single.transform.c - demo_terrain.transform.c) / 30.0)
    np.testing.assert_array_equal(single.elevation_m,
                                  demo_terrain.elevation_m[row0:row0 + 504, col0:col0 + 404])


def test_a_region_partly_outside_the_tiles_is_refused_naming_the_uncovered_box(tmp_path,
                                                                                demo_terrain):
    _cut(DEMO_DEM, tmp_path / "three", 2, skip={(0, 1)})  # no north-east tile
    with pytest.raises(InputError, match="uncovered") as caught:
        read_terrain((tmp_path / "three",), UTM49, required_area=demo_terrain.bounds)
    message = str(caught.value)
    box = [float(v) for v in re.search(r"lon ([\d.]+)\.\.([\d.]+), lat ([\d.]+)\.\.([\d.]+)",
                                       message).groups()]
    xmin, ymin, xmax, ymax = demo_terrain.bounds
    west, south, east, north = rasterio.warp.transform_bounds(
        UTM49, "EPSG:4326", (xmin + xmax) / 2, (ymin + ymax) / 2, xmax, ymax)
    np.testing.assert_allclose([box[0], box[2], box[1], box[3]], [west, south, east, north],
                               atol=2e-3)
    assert "SRTM 1-degree tiles N32E108, N32E109)" in message
    # the same tiles are fine for a region inside them
    inside = (xmin + 1000, ymin + 1000, xmin + 20_000, ymin + 20_000)
    read_terrain((tmp_path / "three",), UTM49, region_bounds=inside, required_area=inside)


def test_a_region_beyond_the_dem_edge_is_refused(demo_terrain):
    xmin, ymin, xmax, ymax = demo_terrain.bounds
    with pytest.raises(InputError, match="uncovered"):
        read_terrain(DEMO_DEM, UTM49, required_area=(xmin + 1000, ymin, xmax + 5000, ymax))
    with pytest.raises(InputError, match="do not reach the region"):
        read_terrain(DEMO_DEM, UTM49, region_bounds=(xmax + 1e4, ymin, xmax + 2e4, ymax))


def test_a_gap_between_tiles_is_refused_even_without_a_region(tmp_path):
    _cut(DEMO_DEM, tmp_path / "ring", 3, skip={(1, 1)})  # the centre tile is missing
    with pytest.raises(InputError, match="uncovered"):
        read_terrain((tmp_path / "ring",), UTM49)


def test_the_margin_may_reach_beyond_the_tiles(demo_terrain):
    """The range margin around the region is read where the tiles reach; the Terrain stops at
    their edge (as a single DEM always did)."""
    xmin, ymin, xmax, ymax = demo_terrain.bounds
    region = (xmin, ymin, xmax, ymax)
    terrain = read_terrain(DEMO_DEM, UTM49, region_bounds=(xmin - 12_000, ymin - 12_000,
                                                           xmax + 12_000, ymax + 12_000),
                           required_area=region)
    assert_same_terrain(terrain, demo_terrain)


def test_nodata_inside_the_region_counts_and_enclosed_nodata_always(tmp_path, caplog):
    data = np.full((200, 200), 500, np.int16)
    data[150:, :] = -32768  # the southern quarter
    transform = rasterio.transform.from_origin(500_000, 3_620_000, 30, 30)
    path = _write(tmp_path / "dem.tif", data, crs=UTM49, nodata=-32768, transform=transform)
    with pytest.raises(InputError, match=r"25\.0% of the DEM is nodata"):
        read_terrain(path, UTM49, required_area=(500_000, 3_614_000, 506_000, 3_620_000))
    # only the northern half is the region: its cells are all valid
    north = read_terrain(path, UTM49, required_area=(500_000, 3_617_000, 506_000, 3_620_000))
    # without a region, nodata along the edge is outside the data: the Terrain stops there
    assert north.shape == read_terrain(path, UTM49).shape == (150, 200)
    # nodata enclosed by data is a hole wherever it is
    data[150:, :] = 500
    data[50:90, 50:90] = -32768  # 4% of the cells
    _write(path, data, crs=UTM49, nodata=-32768, transform=transform)
    with pytest.raises(InputError, match=r"4\.0% of the DEM is nodata"):
        read_terrain(path, UTM49)
    data[50:90, 50:90] = 500
    data[10:12, 10:12] = -32768
    _write(path, data, crs=UTM49, nodata=-32768, transform=transform)
    with caplog.at_level(logging.WARNING, logger="siting"):
        filled = read_terrain(path, UTM49)
    assert any("filled 4 nodata cell(s)" in r.getMessage() for r in caplog.records)
    assert (filled.elevation_m == 500).all()


def test_single_dem_in_crs(demo_tiles):
    assert single_dem_in_crs((DEMO_DEM,), UTM49) == DEMO_DEM
    assert single_dem_in_crs(DEMO_DEM, UTM49) == DEMO_DEM
    assert single_dem_in_crs((demo_tiles,), UTM49) is None  # four tiles
    assert single_dem_in_crs((DEMO_DEM,), pyproj.CRS.from_epsg(32648)) is None


# ---------------------------------------------------------------------------------------------
# SRTM-style geographic tiles


def _geographic_elevation(lon0: int, lat_top: int, n_tiles: int) -> np.ndarray:
    """Smooth hills [m] sampled every 3 arc-seconds (SRTM's pixel-is-point grid) over
    ``n_tiles`` x ``n_tiles`` one-degree tiles whose north-west corner is (lon0, lat_top)."""
    n = n_tiles * (SRTM3 - 1) + 1
    lon = lon0 + np.arange(n) / (SRTM3 - 1)
    lat = lat_top - np.arange(n) / (SRTM3 - 1)
    z = (900 + 500 * np.sin(9.0 * lon)[None, :] * np.cos(7.0 * lat)[:, None]
         + 150 * np.cos(23.0 * (lon[None, :] + lat[:, None])))
    return np.round(z).astype(np.int16)


def _srtm_transform(lon0: float, lat_top: float) -> rasterio.Affine:
    step = 1.0 / (SRTM3 - 1)
    return rasterio.transform.from_origin(lon0 - step / 2, lat_top + step / 2, step, step)


def _hgt_name(lon: int, lat: int) -> str:
    return f"N{lat:02d}E{lon:03d}.hgt"


@pytest.fixture(scope="module")
def srtm(tmp_path_factory):
    """A 2 x 2 degree geographic DEM (108-110 E, 32-34 N) as one GeoTIFF, as four .hgt tiles,
    and as four zipped .hgt tiles."""
    folder = tmp_path_factory.mktemp("srtm")
    z = _geographic_elevation(108, 34, 2)
    single = _write(folder / "whole.tif", z, crs="EPSG:4326", transform=_srtm_transform(108, 34))
    (folder / "hgt").mkdir()
    (folder / "zipped").mkdir()
    for i, lat in enumerate((33, 32)):
        for j, lon in enumerate((108, 109)):
            tile = z[i * 1200:i * 1200 + SRTM3, j * 1200:j * 1200 + SRTM3]
            name = _hgt_name(lon, lat)
            tile.astype(">i2").tofile(folder / "hgt" / name)
            with zipfile.ZipFile(folder / "zipped" / f"{name}.zip", "w") as archive:
                archive.write(folder / "hgt" / name, arcname=name)
    return folder, single


def _utm_region(west, south, east, north, crs=UTM49):
    return rasterio.warp.transform_bounds("EPSG:4326", crs, west, south, east, north)


def test_hgt_tiles_zipped_or_not_give_the_geotiff_terrain(srtm):
    folder, single = srtm
    # a 0.5 x 0.4 degree region across the four tiles' corner, plus a margin
    region = _utm_region(108.8, 32.8, 109.3, 33.2)
    want = read_terrain(single, UTM49, region_bounds=region)
    assert want.cell_size_m < 100
    for dem in ((folder / "hgt",), (folder / "zipped",), (folder / "zipped" / "*.hgt.zip",),
                tuple(sorted((folder / "hgt").glob("*.hgt")))):
        assert_same_terrain(read_terrain(dem, UTM49, region_bounds=region), want)
    assert len(dem_files((folder / "zipped",))) == 4


def test_an_srtm_tile_that_lost_its_name_is_told_to_get_it_back(srtm, tmp_path):
    """GDAL places a .hgt tile by its name alone; a second download saved by a browser as
    'N33E108 (1).hgt' cannot be read."""
    folder, _ = srtm
    tiles = tmp_path / "tiles"
    shutil.copytree(folder / "hgt", tiles)
    (tiles / "N33E108.hgt").rename(tiles / "N33E108 (1).hgt")
    with pytest.raises(InputError, match=re.escape("cannot read the SRTM tile N33E108 (1).hgt: "
                                                   "a .hgt tile is placed by its file name")):
        read_terrain((tiles,), UTM49, region_bounds=_utm_region(108.8, 32.8, 109.3, 33.2))


def test_a_lonlat_region_is_covered_by_its_tiles_not_by_its_utm_bounding_box(srtm):
    folder, _ = srtm
    box = (108.0, 32.0, 110.0, 34.0)  # the four tiles exactly
    outline = lonlat_box_outline(box, UTM49)
    terrain = read_terrain((folder / "hgt",), UTM49, region_bounds=outline.bounds,
                           required_area=outline)
    assert np.isfinite(terrain.elevation_m).all()
    # the box's bounding box in UTM reaches beyond the tiles (meridians converge northwards)
    with pytest.raises(InputError, match="uncovered"):
        read_terrain((folder / "hgt",), UTM49, region_bounds=outline.bounds,
                     required_area=outline.bounds)


def test_a_geographic_dem_without_nodata_is_accepted(srtm, caplog):
    """The corners the warp to UTM leaves empty are outside the tile, not holes (they were
    counted as "3.5% of the DEM is nodata" before)."""
    folder, _ = srtm
    tile = folder / "hgt" / _hgt_name(109, 33)
    with caplog.at_level(logging.WARNING, logger="siting"):
        terrain = read_terrain(tile, UTM49)
    assert not any("filled" in r.getMessage() for r in caplog.records)
    assert any("reprojected (bilinear) from EPSG:4326" in r.getMessage() for r in caplog.records)
    assert np.isfinite(terrain.elevation_m).all()
    # the Terrain is the tile's bounding box in UTM, so it does hold empty corners (filled)
    with rasterio.open(tile) as src:
        warped = np.full(terrain.shape, np.nan, np.float32)
        rasterio.warp.reproject(rasterio.band(src, 1), warped, dst_transform=terrain.transform,
                                dst_crs=UTM49, dst_nodata=np.nan, resampling=Resampling.bilinear)
    assert np.isnan(warped).mean() > 0.01
    valid = np.isfinite(warped)
    np.testing.assert_allclose(terrain.elevation_m[valid], warped[valid], atol=0.05)


def test_a_utm_warp_of_the_geographic_dem_is_accepted_over_its_region(srtm, tmp_path):
    """The user's own UTM warp stores the empty corners as nodata cells in the file: a region
    inside the data is fine even when the range margin reaches into those corners."""
    folder, _ = srtm
    tile = folder / "hgt" / _hgt_name(109, 33)
    with rasterio.open(tile) as src:
        transform, width, height = rasterio.warp.calculate_default_transform(
            src.crs, UTM49, src.width, src.height, *src.bounds, resolution=90.0)
        data = np.full((height, width), -32768, np.int16)
        rasterio.warp.reproject(rasterio.band(src, 1), data, dst_transform=transform,
                                dst_crs=UTM49, dst_nodata=-32768, resampling=Resampling.bilinear)
    assert (data == -32768).mean() > 0.01  # the corners
    path = _write(tmp_path / "utm.tif", data, crs=UTM49, transform=transform, nodata=-32768)
    region = _utm_region(109.2, 33.2, 109.8, 33.8)
    margin = (region[0] - 20_000, region[1] - 20_000, region[2] + 20_000, region[3] + 20_000)
    terrain = read_terrain(path, UTM49, region_bounds=margin, required_area=region)
    assert np.isfinite(terrain.elevation_m).all()
    assert terrain.cell_size_m == 90.0
    # without a region the corners are the collar of the warp, outside the data
    assert np.isfinite(read_terrain(path, UTM49).elevation_m).all()
    # but the region proper may not reach into them
    with pytest.raises(InputError, match="of the DEM is nodata"):
        read_terrain(path, UTM49,
                     required_area=rasterio.transform.array_bounds(height, width, transform))


def test_tiles_in_two_crss_are_mosaicked_with_a_notice(tmp_path, caplog):
    with rasterio.open(DEMO_DEM) as src:
        window = rasterio.windows.Window(400, 400, 600, 400)  # 18 x 12 km
        z = src.read(1, window=window)
        transform = src.window_transform(window)
    crop = _write(tmp_path / "crop.tif", z, crs=UTM49, transform=transform, nodata=-32768)
    want = read_terrain(crop, UTM49)
    folder = tmp_path / "mixed"
    folder.mkdir()
    _write(folder / "a_west.tif", z[:, :300], crs=UTM49, transform=transform, nodata=-32768)
    east_transform = transform @ rasterio.Affine.translation(300, 0)
    utm48 = pyproj.CRS.from_epsg(32648)
    # the east half as a neighbour in UTM 48N would deliver it
    t48, w48, h48 = rasterio.warp.calculate_default_transform(
        UTM49, utm48, 300, 400, *rasterio.transform.array_bounds(400, 300, east_transform),
        resolution=30.0)
    east = np.full((h48, w48), -32768, np.int16)
    rasterio.warp.reproject(z[:, 300:], east, src_transform=east_transform, src_crs=UTM49,
                            src_nodata=-32768, dst_transform=t48, dst_crs=utm48,
                            dst_nodata=-32768, resampling=Resampling.bilinear)
    _write(folder / "b_east_utm48.tif", east, crs=utm48, transform=t48, nodata=-32768)
    with caplog.at_level(logging.WARNING, logger="siting"):
        got = read_terrain((folder,), UTM49)
    assert any("b_east_utm48.tif: DEM tile in EPSG:32648 reprojected" in r.getMessage()
               for r in caplog.records)
    assert got.transform == want.transform and got.shape == want.shape
    np.testing.assert_array_equal(got.elevation_m[:, :300], want.elevation_m[:, :300])
    # the east half went through two bilinear warps
    difference = np.abs(got.elevation_m[:, 302:-2] - want.elevation_m[:, 302:-2])
    assert np.median(difference) < 5.0 and np.isfinite(difference).all()


# ---------------------------------------------------------------------------------------------
# an ESRI ASCII grid (the coarse real DEM over Ankang)


@pytest.fixture
def ascii_grid(tmp_path) -> Path:
    if not ASCII_GRID.is_file():
        pytest.skip(f"{ASCII_GRID} is absent (the shared real data are not mounted)")
    copy = tmp_path / ASCII_GRID.name
    shutil.copyfile(ASCII_GRID, copy)
    return copy


def test_an_ascii_grid_without_crs_gets_advice_that_works(ascii_grid):
    with pytest.raises(InputError, match="no CRS") as caught:
        read_terrain(ascii_grid, UTM49)
    assert ".prj" in str(caught.value) and "gdal_translate -a_srs" in str(caught.value)


def test_the_coarse_ankang_ascii_grid_reads_over_the_counties_with_a_warning(ascii_grid, caplog):
    ascii_grid.with_suffix(".prj").write_text(
        pyproj.CRS.from_epsg(4326).to_wkt(pyproj.enums.WktVersion.WKT1_ESRI))
    region = _utm_region(*ANKANG_BOX)
    margin = (region[0] - 12_000, region[1] - 12_000, region[2] + 12_000, region[3] + 12_000)
    with caplog.at_level(logging.WARNING, logger="siting"):
        terrain = read_terrain((ascii_grid,), UTM49, region_bounds=margin,
                               required_area=lonlat_box_outline(ANKANG_BOX, UTM49))
    assert any("too coarse" in r.getMessage() and "SRTM 30 m" in r.getMessage()
               for r in caplog.records)
    assert terrain.cell_size_m > 5000
    x0, y0, x1, y1 = terrain.bounds
    assert x0 <= region[0] and y0 <= region[1] and x1 >= region[2] and y1 >= region[3]
    # Ankang city lies in the Han valley at about 290 m; the Qinling and Daba ridges rise to 2.9 km
    assert 200 < terrain.elevation_m.min() < 500 and 2000 < terrain.elevation_m.max() < 3000
    (x,), (y,) = rasterio.warp.transform("EPSG:4326", UTM49, [109.042], [32.708])
    assert terrain.elevation_at(x, y) < 600


# ---------------------------------------------------------------------------------------------
# naming the tiles; the run's CRS; the cache key


def test_dem_files_refuses_what_names_no_dem(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("tiles come later")
    with pytest.raises(InputError, match="holds no DEM file"):
        dem_files((tmp_path / "empty",))
    with pytest.raises(InputError, match="matches no DEM file"):
        dem_files((tmp_path / "empty" / "*.hgt",))
    with pytest.raises(InputError, match="not found; check inputs.dem"):
        dem_files((tmp_path / "dem.tif",))


def test_resolve_crs_uses_the_region_else_the_mosaic(srtm):
    folder, _ = srtm
    demo = load_scenario(DEMO_SCENARIO)
    scenario = dataclasses.replace(demo, crs="auto",
                                   inputs=dataclasses.replace(demo.inputs, dem=(folder / "hgt",)))
    assert resolve_crs(scenario) == pyproj.CRS.from_epsg(32649)  # 108-110 E: zone 49
    assert resolve_crs(scenario, (104.0, 30.0, 105.0, 31.0)) == pyproj.CRS.from_epsg(32648)


def test_coverage_key_digests_every_dem_tile(demo_tiles, tmp_path):
    demo = load_scenario(DEMO_SCENARIO)
    folder = tmp_path / "tiles"
    shutil.copytree(demo_tiles, folder)
    scenario = dataclasses.replace(demo, inputs=dataclasses.replace(demo.inputs, dem=(folder,)))
    key = coverage_key(scenario)
    assert coverage_key(scenario) == key
    tile = folder / "tile_1_1.tif"
    with rasterio.open(tile, "r+") as dst:
        data = dst.read(1)
        data[5, 5] += 1
        dst.write(data, 1)
    assert coverage_key(scenario) != key


def test_a_site_beside_a_lonlat_dem_is_off_the_dem_though_its_warp_margin_holds_it(tmp_path):
    """A DEM in longitude/latitude warped to UTM has, around its data, grid cells the warp
    filled from their neighbours: a site 190 m west of the data lies on that margin, and is
    refused as off the DEM rather than set on invented terrain."""
    from regions import lonlat_region
    from siting.io import read_region
    scenario, _ = lonlat_region(tmp_path, {"IN": 1.5 / 1200.0, "OUT": -0.002})
    with pytest.raises(InputError, match=r"sites.csv: 1 point\(s\) lie outside the DEM: OUT;"):
        read_region(load_scenario(scenario))
    region_of_in = lonlat_region(tmp_path / "in", {"IN": 1.5 / 1200.0})[0]
    region = read_region(load_scenario(region_of_in))
    site = region.candidates.loc["IN"].geometry
    assert region.on_dem(site.x, site.y) and not region.on_dem(site.x - 300.0, site.y)
    assert region.terrain.contains(site.x - 300.0, site.y)  # the margin the check sees past


def test_population_cells_on_a_warped_dem_margin_are_no_demand(tmp_path):
    """A population raster wider than a lon/lat DEM: the cells on the margin the DEM's warp to
    UTM fills from its neighbours (off the DEM's data) are not demand, as cells off the DEM
    never are; every cell kept lies on the DEM."""
    from regions import LONLAT_STEP, lonlat_region
    from siting.demand import build_demand
    from siting.io import read_region
    scenario, (west, south, east, north) = lonlat_region(tmp_path, {"C": 0.1})
    step = 10 * LONLAT_STEP
    shape = (round((north - south) / step) + 20, round((east - west) / step) + 20)
    with rasterio.open(tmp_path / "population.tif", "w", driver="GTiff", height=shape[0],
                       width=shape[1], count=1, dtype="float32", crs="EPSG:4326",
                       transform=rasterio.transform.from_origin(west - 10 * step,
                                                                north + 10 * step, step,
                                                                step)) as dst:
        dst.write(np.full(shape, 10.0, np.float32), 1)
    doc = yaml.safe_load(scenario.read_text())
    doc["inputs"]["population"] = "population.tif"
    scenario.write_text(yaml.safe_dump(doc, sort_keys=False))
    loaded = load_scenario(scenario)
    region = read_region(loaded)
    demand = build_demand(region, loaded.demand)
    cells = np.asarray(demand.kind) == "cell"
    lon, lat = pyproj.Transformer.from_crs(region.crs, "EPSG:4326", always_xy=True).transform(
        np.asarray(demand.x_m)[cells], np.asarray(demand.y_m)[cells])
    assert cells.sum() > 1000
    assert ((lon > west) & (lon < east) & (lat > south) & (lat < north)).all()

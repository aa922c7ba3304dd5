"""DEMs as planners bring them (SRTM-like geographic tiles, UTM rasters of a province, values
nobody declared as nodata), read by the run over its region: what the run reads, and the one
line it says when it cannot."""

from __future__ import annotations

import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pyproj
import pytest
import rasterio
import rasterio.windows
import yaml
from rasterio.transform import Affine, from_origin
from typer.testing import CliRunner

from regions import candidate, village, write_region
from siting.cli import app
from siting.errors import InputError
from siting.io.rasters import read_terrain

UTM49 = pyproj.CRS.from_epsg(32649)


def _smooth_m(lon_deg, lat_deg):
    """A smooth terrain [m] over Ankang (about 15 km between crests)."""
    return 600.0 + 300.0 * np.sin((lon_deg - 108.5) * 40.0) * np.cos((lat_deg - 32.5) * 30.0)


def _write(path: Path, data: np.ndarray, crs, transform, nodata=None) -> Path:
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1],
                       count=1, dtype=data.dtype, crs=crs, transform=transform,
                       nodata=nodata) as dst:
        dst.write(data, 1)
    return path


def _utm_dem(shape=(400, 400), transform=from_origin(480_000, 3_650_000, 30, 30)):
    """(float32 elevations, transform) of the smooth terrain on a 30 m grid of UTM 49N."""
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]] + 0.5
    x, y = transform * (cols, rows)
    lon, lat = pyproj.Transformer.from_crs(UTM49, "EPSG:4326", always_xy=True).transform(x, y)
    return _smooth_m(lon, lat).astype(np.float32), transform


def test_an_undeclared_nodata_value_is_named_at_its_row_and_column_in_the_file(tmp_path):
    """The region is read as a window of a larger DEM: the cell is named in the file, not in
    the window (which put it at row 102, col 102 of a 6 km window, where the file is fine)."""
    dem, transform = _utm_dem()
    dem[300, 250] = -9999.0
    path = _write(tmp_path / "county.tif", dem, UTM49, transform)
    x, y = transform * (250.5, 300.5)
    with pytest.raises(InputError) as caught:
        read_terrain(path, UTM49, region_bounds=(x - 3000, y - 3000, x + 3000, y + 3000))
    message = str(caught.value)
    assert f"-9999 m at row 300, col 250 of {path}" in message
    with rasterio.open(path) as src:  # what the message sends the planner to
        assert next(src.sample([(x, y)]))[0] == -9999.0


def test_an_undeclared_nodata_value_of_a_warped_dem_is_named_as_stored(tmp_path):
    """A geographic tile warped to UTM blends the -9999 with its neighbours (it was reported
    as -2345.29 at a row and column of the warped grid); the message gives the stored value
    and its cell in the file."""
    n = 1201  # a 3" SRTM-like tile, N32E108, cell centres on whole seconds
    transform = Affine(1 / 1200, 0, 108 - 0.5 / 1200, 0, -1 / 1200, 33 + 0.5 / 1200)
    rows, cols = np.mgrid[0:n, 0:n]
    dem = _smooth_m(108 + cols / 1200, 33 - rows / 1200).astype(np.float32)
    dem[700, 800] = -9999.0
    path = _write(tmp_path / "N32E108.tif", dem, "EPSG:4326", transform)
    with pytest.raises(InputError) as caught:
        read_terrain(path, UTM49)
    assert f"-9999 m at row 700, col 800 of {path} (lon 108.666" in str(caught.value)


def test_a_province_dem_with_a_mask_band_is_read_over_the_region_only(tmp_path):
    """A DEM whose band has a mask of its own was read whole before the region was cut from it
    (a 20000 x 20000 one took 8.7 GB and 92 s for a 60 km region, against 0.3 GB and 0.5 s
    for the same DEM with a nodata value). Here: the same cells as the DEM with a nodata value,
    and the memory of the region, not of the DEM."""
    dem, transform = _utm_dem(shape=(3000, 3000))
    valid = np.ones(dem.shape, bool)
    valid[1500:1502, 1500:1502] = False  # a void the mask leaves out, inside the region
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        with rasterio.open(tmp_path / "masked.tif", "w", driver="GTiff", height=3000, width=3000,
                           count=1, dtype="float32", crs=UTM49, transform=transform,
                           tiled=True) as dst:
            dst.write(dem, 1)
            dst.write_mask(valid)
    _write(tmp_path / "nodata.tif", np.where(valid, dem, -32768).astype(np.float32), UTM49,
           transform, nodata=-32768)
    x, y = transform * (1500, 1500)
    region = (x - 3000, y - 3000, x + 3000, y + 3000)
    tracemalloc.start()
    try:
        masked = read_terrain(tmp_path / "masked.tif", UTM49, region_bounds=region)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    want = read_terrain(tmp_path / "nodata.tif", UTM49, region_bounds=region)
    assert masked.transform == want.transform
    np.testing.assert_array_equal(masked.elevation_m, want.elevation_m)
    np.testing.assert_array_equal(masked.data_mask, want.data_mask)
    assert peak_bytes < dem.nbytes / 8, peak_bytes  # the whole band is 36 MB


def _region_with_dem(folder: Path, dem: str) -> tuple[Path, Path]:
    """(scenario, its dem.tif) of a small region whose scenario reads ``dem`` as inputs.dem."""
    scenario = write_region(folder, np.full((100, 100), 400.0), [village("V1", 1500, 1500)],
                            [candidate("S1", 1200, 1200)])
    doc = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    doc["inputs"]["dem"] = dem
    scenario.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return scenario, folder / "dem.tif"


def _vrt_of_halves(dem_tif: Path, folder: Path, relative_to_vrt: str) -> Path:
    """A VRT in ``folder`` of the two halves of ``dem_tif``, written under ``folder/tiles``,
    naming them by relative paths marked ``relativeToVRT`` as given."""
    (folder / "tiles").mkdir(parents=True)
    sources = []
    with rasterio.open(dem_tif) as src:
        for i, col0 in enumerate((0, src.width // 2)):
            window = rasterio.windows.Window(col0, 0, src.width // 2, src.height)
            _write(folder / "tiles" / f"half{i}.tif", src.read(1, window=window), src.crs,
                   src.window_transform(window))
            sources.append(
                f'<SimpleSource><SourceFilename relativeToVRT="{relative_to_vrt}">'
                f"tiles/half{i}.tif</SourceFilename><SourceBand>1</SourceBand>"
                f'<SrcRect xOff="0" yOff="0" xSize="{src.width // 2}" ySize="{src.height}"/>'
                f'<DstRect xOff="{col0}" yOff="0" xSize="{src.width // 2}" '
                f'ySize="{src.height}"/></SimpleSource>')
        vrt = (f'<VRTDataset rasterXSize="{src.width}" rasterYSize="{src.height}">'
               f"<SRS>{src.crs.to_wkt()}</SRS><GeoTransform>"
               f"{', '.join(map(repr, src.transform.to_gdal()))}</GeoTransform>"
               f'<VRTRasterBand dataType="Float32" band="1">{"".join(sources)}'
               f"</VRTRasterBand></VRTDataset>")
    path = folder / "dem.vrt"
    path.write_text(vrt, encoding="utf-8")
    return path


def test_a_vrt_naming_its_tiles_relative_to_the_working_folder_says_so(tmp_path, monkeypatch):
    """A hand-written VRT names its tiles relative to itself but without relativeToVRT="1":
    GDAL looks in the folder siting runs in, and the run said "the DEM cannot be read
    (tiles/half0.tif: No such file or directory); a file may be truncated"."""
    scenario, dem_tif = _region_with_dem(tmp_path / "区域 一", "高程/dem.vrt")
    _vrt_of_halves(dem_tif, scenario.parent / "高程", relative_to_vrt="0")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.splitlines() == [
        f"siting: error: {scenario.parent / '高程' / 'dem.vrt'}: the VRT names the source "
        f'tiles/half0.tif without relativeToVRT="1", so GDAL looks for it in the folder siting '
        f'runs in ({tmp_path}), not beside the VRT; write <SourceFilename relativeToVRT="1"> '
        f"in the VRT"]


def test_a_vrt_naming_itself_is_one_error_line_not_a_recursion(tmp_path):
    vrt = tmp_path / "loop.vrt"
    vrt.write_text('<VRTDataset rasterXSize="2" rasterYSize="2"><SRS>EPSG:32649</SRS>'
                   "<GeoTransform>500000, 30, 0, 3620000, 0, -30</GeoTransform>"
                   '<VRTRasterBand dataType="Float32" band="1"><SimpleSource>'
                   '<SourceFilename relativeToVRT="1">loop.vrt</SourceFilename>'
                   "<SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>",
                   encoding="utf-8")
    with pytest.raises(InputError, match=f"^{vrt}: the DEM cannot be read"):
        read_terrain(vrt, UTM49)


def test_a_vrt_of_tiles_relative_to_it_reads_as_the_dem_it_mosaics(tmp_path, monkeypatch):
    scenario, dem_tif = _region_with_dem(tmp_path / "区域 一", "高程/dem.vrt")
    vrt = _vrt_of_halves(dem_tif, scenario.parent / "高程", relative_to_vrt="1")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 0, result.stderr
    got, want = read_terrain(vrt, "EPSG:32649"), read_terrain(dem_tif, "EPSG:32649")
    assert got.transform == want.transform
    np.testing.assert_array_equal(got.elevation_m, want.elevation_m)


def _srtm3_like(path: Path, values: np.ndarray, nodata=None) -> Path:
    """A 1201 x 1201 geographic tile N32E108 (cell centres on whole 3" steps) at ``path``."""
    transform = Affine(1 / 1200, 0, 108 - 0.5 / 1200, 0, -1 / 1200, 33 + 0.5 / 1200)
    return _write(path, values, "EPSG:4326", transform, nodata=nodata)


def _tile_heights_m() -> np.ndarray:
    rows, cols = np.mgrid[0:1201, 0:1201]
    return np.round(_smooth_m(108 + cols / 1200, 33 - rows / 1200)).astype(np.int16)


def _assert_heights_are_the_tiles(terrain, tile: str) -> None:
    """The terrain at cell centres of ``tile`` (away from its edges) against the tile's own
    values there, as rasterio samples them (bilinear between cells of a smooth terrain: within
    a metre)."""
    lon = 108.4 + np.arange(20) / 100.0
    lat = 32.3 + np.arange(20) / 50.0
    with rasterio.open(tile) as src:
        want = np.array([v[0] for v in src.sample(zip(lon, lat))], float)
    x, y = pyproj.Transformer.from_crs("EPSG:4326", UTM49, always_xy=True).transform(lon, lat)
    np.testing.assert_allclose(terrain.elevation_at(x, y), want, atol=1.0)


@pytest.mark.parametrize("named", ["the zip", "its folder"])
def test_an_aster_gdem_zip_as_it_comes_reads_its_dem_not_its_scene_count(tmp_path, named):
    """ASTER GDEM v3 comes as ASTGTMV003_N32E108.zip holding ..._dem.tif and ..._num.tif (the
    number of scenes per cell, 1-50). Named, the zip was read as both, the later drawn over
    the DEM: 7 m everywhere, 590 m below the ground on average; in a folder, the run refused
    "X.zip and X.zip: ... cover the same ground"."""
    folder = tmp_path / "aster"
    folder.mkdir()
    dem = _srtm3_like(tmp_path / "ASTGTMV003_N32E108_dem.tif", _tile_heights_m(), nodata=-9999)
    num = _srtm3_like(tmp_path / "ASTGTMV003_N32E108_num.tif", np.full((1201, 1201), 7, np.int16))
    with zipfile.ZipFile(folder / "ASTGTMV003_N32E108.zip", "w") as archive:
        for path in (dem, num):
            archive.write(path, path.name)
    spec = folder / "ASTGTMV003_N32E108.zip" if named == "the zip" else folder
    terrain = read_terrain(spec, UTM49)
    _assert_heights_are_the_tiles(terrain, dem)


def test_two_rasters_of_one_named_zip_over_the_same_ground_are_refused_naming_both(tmp_path):
    heights = _tile_heights_m()
    a = _srtm3_like(tmp_path / "N32E108_elevation.tif", heights)
    b = _srtm3_like(tmp_path / "N32E108_slope.tif", np.full_like(heights, 12))
    with zipfile.ZipFile(tmp_path / "N32E108.zip", "w") as archive:
        for path in (a, b):
            archive.write(path, path.name)
    with pytest.raises(InputError) as caught:
        read_terrain(tmp_path / "N32E108.zip", UTM49)
    zipped = f"/vsizip/{tmp_path / 'N32E108.zip'}"
    assert str(caught.value).startswith(
        f"{zipped}/N32E108_elevation.tif and {zipped}/N32E108_slope.tif: inputs.dem takes both "
        f"as tiles of the DEM, but they cover the same ground (100% of the smaller one)")


def test_nodata_over_more_than_one_percent_of_the_region_is_refused_naming_where(tmp_path):
    """SRTM-style voids over 2% of the region were refused as "2.2% of the DEM is nodata"
    without saying where; the line now gives the lon/lat box of the nodata cells."""
    scenario, dem_tif = _region_with_dem(tmp_path / "region", "dem.tif")
    with rasterio.open(dem_tif) as src:
        heights, transform = src.read(1), src.transform
    heights[40:55, 20:35] = -32768  # 225 of 10000 cells
    _write(dem_tif, heights, UTM49, transform, nodata=-32768)
    result = CliRunner().invoke(app, ["validate", str(scenario)])
    to_lonlat = pyproj.Transformer.from_crs(UTM49, "EPSG:4326", always_xy=True)
    (west, east), (north, south) = to_lonlat.transform(*(transform * (np.array([20, 35]),
                                                                     np.array([40, 55]))))
    assert result.exit_code == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"siting: error: {dem_tif}: 2.2% of the DEM is nodata (more than 1%), within lon "
        f"{west:.4f}..{east:.4f}, lat {south:.4f}..{north:.4f}; fill the holes "
        f"(gdal_fillnodata.py) or choose a DEM that covers the area"]


def test_a_dem_read_whole_holds_one_float32_copy_of_it_at_a_time(tmp_path):
    """Without a region the mosaic is read whole; it was then copied twice (to float32, then
    filled): 3.25 times the grid at the peak, 5.6 GB for a 20000 x 20000 DEM. Now 2 times
    (the grid read, its mask and the checks' bool arrays)."""
    heights, transform = _utm_dem(shape=(1500, 1500))
    path = _write(tmp_path / "dem.tif", heights, UTM49, transform)
    tracemalloc.start()
    try:
        terrain = read_terrain(path, UTM49)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(terrain.elevation_m, heights)
    assert peak_bytes < 2.5 * heights.nbytes, peak_bytes / heights.nbytes


def test_a_dem_read_whole_says_how_to_read_the_planning_area_only(tmp_path, monkeypatch, caplog):
    """Without region.bbox or admin units the whole DEM is read: a province's 20000 x 20000
    cells took 5.2 GB, without a word. Above the notice's size the log says what to set; a
    region's bounds read a window and say nothing."""
    import siting.io.rasters as rasters
    elevation, transform = _utm_dem()
    dem = _write(tmp_path / "dem.tif", elevation, UTM49, transform)
    monkeypatch.setattr(rasters, "WHOLE_DEM_NOTICE_CELLS", 400 * 400 - 1)
    with caplog.at_level("WARNING", logger=rasters.logger.name):
        read_terrain(dem, UTM49)
    notices = [r.getMessage() for r in caplog.records if "region.bbox" in r.getMessage()]
    assert len(notices) == 1 and "400 x 400 cells" in notices[0]
    caplog.clear()
    with caplog.at_level("WARNING", logger=rasters.logger.name):
        read_terrain(dem, UTM49, region_bounds=(483_000, 3_641_000, 489_000, 3_647_000))
    assert not [r for r in caplog.records if "region.bbox" in r.getMessage()]

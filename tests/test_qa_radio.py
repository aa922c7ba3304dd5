"""The radio engine on DEMs other than the demo's: what ``siting predict`` says and computes at
the edge of the area a scenario reads, across DEM tiles and on flat terrain."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
from affine import Affine
from typer.testing import CliRunner

from regions import CRS, TECH_4G, candidate, village, write_region, xy

from siting.cli import app
from siting.config import Technology, load_scenario
from siting.io import read_region
from siting.predict import predict_area
from siting.propagation import cost231_hata, okumura_hata, rma_38901
from siting.terrain import Terrain

runner = CliRunner()

CELL_M = 30.0
DEM_CELLS = 400  # 12 km square


def _bbox_deg(half_width_m: float) -> list[float]:
    """region.bbox [deg] of a square of ``half_width_m`` around the DEM's centre."""
    to_lonlat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    centre_m = DEM_CELLS * CELL_M / 2
    x, y = xy(centre_m, centre_m)
    west, south = to_lonlat.transform(x - half_width_m, y - half_width_m)
    east, north = to_lonlat.transform(x + half_width_m, y + half_width_m)
    return [west, south, east, north]


def _centre_scenario(folder, half_width_m: float):
    """A 12 km flat DEM in UTM, a site at its centre, region.bbox ``half_width_m`` around it
    and a technology reaching 1 km: the run reads the DEM only that far around the box."""
    centre_m = DEM_CELLS * CELL_M / 2
    return write_region(folder, np.full((DEM_CELLS, DEM_CELLS), 500.0, np.float32),
                        [village("V1", centre_m, centre_m)],
                        [candidate("S", centre_m, centre_m)],
                        technologies=[dict(TECH_4G, max_range_m=1000)],
                        region={"bbox": _bbox_deg(half_width_m)})


def test_a_radius_past_the_area_read_but_on_the_dem_says_to_widen_the_region(tmp_path):
    """The DEM reaches 6 km around the site, the area the scenario reads (region.bbox widened
    by max_range_m) about 1.5 km: a 3 km circle is refused with what to change (the region,
    not the DEM, which is large enough), and the distance to the edge of the area read; with
    region.bbox over the whole DEM the same circle predicts."""
    scenario = _centre_scenario(tmp_path / "small", 500.0)
    region = read_region(load_scenario(scenario))
    site = region.candidates.loc["S"].geometry
    xmin, ymin, xmax, ymax = region.terrain.bounds
    half_cell = region.terrain.cell_size_m / 2  # the samples stay on the cell-centre hull
    room_km = (min(site.x - xmin, xmax - site.x, site.y - ymin, ymax - site.y) - half_cell) / 1000
    assert 1.0 < room_km < 3.0
    common = ["predict", "--site", "S", "--technology", TECH_4G["name"], "--radius-km", "3"]
    result = runner.invoke(app, [*common[:1], str(scenario), *common[1:],
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert "site S: a radius of 3 km reaches past the part of the DEM the scenario reads" in lines[0]
    assert f"the site is {room_km:.2f} km from its edge" in lines[0]
    assert "widen region.bbox" in lines[0] and "larger DEM" not in lines[0]
    assert not (tmp_path / "out").exists()

    wide = _centre_scenario(tmp_path / "wide", 5800.0)
    result = runner.invoke(app, [*common[:1], str(wide), *common[1:],
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "prediction.tif").is_file()


def test_a_radius_past_the_dem_itself_by_less_than_a_cell_still_says_past_the_dem(tmp_path):
    """A site 1003 m from the west edge of a DEM in the run's CRS, read whole: a 0.99 km
    circle needs samples out to 990 m, past the last cell centre (988 m) though inside the
    outer cell edge; the DEM itself is too small, which the message says (not the area read)."""
    centre_m = DEM_CELLS * CELL_M / 2
    scenario = write_region(tmp_path / "r", np.full((DEM_CELLS, DEM_CELLS), 500.0, np.float32),
                            [village("V1", centre_m, centre_m)],
                            [candidate("W", 1003.0, centre_m)],
                            technologies=[dict(TECH_4G, max_range_m=1000)])
    result = runner.invoke(app, ["predict", str(scenario), "--site", "W", "--technology",
                                 TECH_4G["name"], "--radius-km", "0.99", "--out",
                                 str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert lines[0].endswith("site W: a radius of 0.99 km reaches past the DEM: the site is "
                             "0.99 km from its nearest edge; use a smaller radius or a larger "
                             "DEM"), lines[0]


#: A 3" DEM's cells warped to UTM near Ankang [m], and the antennas [m].
CELL_3S_M, H_TX_M, H_RX_M = 85.0, 30.0, 1.5
FORMULAS = {
    # each model's own function, its distance raised to its validity floor as the
    # scenario's models are (10 m for TR 38.901, 1 km for the Hata models)
    "rma_38901": lambda d_m, f_mhz: rma_38901(np.maximum(d_m, 10.0), f_mhz / 1000, H_TX_M,
                                              H_RX_M),
    "okumura_hata": lambda d_m, f_mhz: okumura_hata(np.maximum(d_m, 1000.0) / 1000, f_mhz,
                                                    H_TX_M, H_RX_M, environment="rural"),
    "cost231_hata": lambda d_m, f_mhz: cost231_hata(np.maximum(d_m, 1000.0) / 1000, f_mhz,
                                                    H_TX_M, H_RX_M),
}


@pytest.mark.parametrize(("model", "frequency_mhz"), [("rma_38901", 1800.0),
                                                      ("okumura_hata", 900.0),
                                                      ("cost231_hata", 1800.0)])
def test_flat_ground_gives_every_cell_the_formula_at_its_own_distance(model, frequency_mhz):
    """On flat ground with 85 m cells, every cell within 5 km (not only those on the axes,
    whose sample is the cell centre) holds the model's formula at the distance from the site
    to the cell's centre, within 0.01 dB; with the distance of the nearest radial sample (up
    to half a cell off) it was 9.8 dB off at the site's own cell (which took the loss one cell
    out), up to 2.9 dB within 300 m and 0.56 dB beyond 1 km."""
    n = 161
    terrain = Terrain(np.full((n, n), 350.0, np.float32),
                      Affine(CELL_3S_M, 0.0, 400_000.0, 0.0, -CELL_3S_M, 3_600_000.0), CRS)
    site_x, site_y = (float(v) for v in terrain.xy(n // 2, n // 2))
    tech = Technology("T", "4G", frequency_mhz, 61.0, 100, -110.0, model, 6000.0)
    prediction = predict_area(terrain, site_x, site_y, H_TX_M, tech, 5000.0, ue_height_m=H_RX_M)
    rows, cols = np.nonzero(np.isfinite(prediction.path_loss_db))
    x, y = prediction.transform * (cols + 0.5, rows + 0.5)
    distance_m = np.hypot(x - site_x, y - site_y)
    assert distance_m.max() > 4900 and rows.size > 10_000
    np.testing.assert_allclose(prediction.path_loss_db[rows, cols],
                               FORMULAS[model](distance_m, frequency_mhz), atol=0.01)
    np.testing.assert_allclose(prediction.level_dbm[rows, cols],
                               tech.rs_epre_dbm - FORMULAS[model](distance_m, frequency_mhz),
                               atol=0.01)


def _geographic_dem(path, lat0_deg: float = 33.0, lon0_deg: float = 108.5, cells: int = 600):
    """A 3-arc-second DEM in WGS 84 (0.5 degree square from lon0, lat0), gentle relief."""
    import rasterio
    step = 1.0 / 1200.0
    z = 400.0 + 50.0 * np.sin(np.arange(cells)[:, None] / 40.0) * np.cos(np.arange(cells) / 55.0)
    profile = dict(driver="GTiff", width=cells, height=cells, count=1, dtype="float32",
                   crs="EPSG:4326", transform=Affine(step, 0, lon0_deg, 0, -step, lat0_deg + 0.5))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(z.astype("float32"), 1)
    return path


@pytest.mark.parametrize("box_km", [(20, 20), (40, 8), (8, 30)])
def test_a_warped_dem_has_the_cell_of_its_own_cells_whatever_the_regions_shape(tmp_path, box_km):
    """A 3" DEM at 33 N warped to UTM 49N: the cell is the geometric mean of a 3" cell's two
    sides at the region's centre, by geodesic distances (pyproj.Geod), for a square region
    and for long ones; GDAL's default resolution gave 78-92 m as the box's shape changed."""
    from siting.io.rasters import read_terrain
    dem = _geographic_dem(tmp_path / "dem.tif")
    utm = pyproj.CRS("EPSG:32649")
    lon, lat = 108.75, 33.25
    x, y = pyproj.Transformer.from_crs("EPSG:4326", utm, always_xy=True).transform(lon, lat)
    half_w, half_h = box_km[0] * 500.0, box_km[1] * 500.0
    terrain = read_terrain(dem, utm, region_bounds=(x - half_w, y - half_h, x + half_w, y + half_h))
    geod = pyproj.Geod(ellps="WGS84")
    east_m = geod.inv(lon, lat, lon + 1 / 1200, lat)[2]
    north_m = geod.inv(lon, lat, lon, lat + 1 / 1200)[2]
    assert terrain.cell_size_m == pytest.approx(np.sqrt(east_m * north_m), rel=2e-3)


def test_the_dems_own_cells_are_read_up_to_the_edge_of_the_mosaic(tmp_path):
    """A window near the edge of a 3" DEM (its padding reaching past the mosaic): the DEM's
    own cells are read as far as the mosaic goes, equal to the file's values; they were
    dropped, and predict quietly took the Terrain's warped cells there instead."""
    import rasterio
    from siting.io.rasters import DemSource
    dem = _geographic_dem(tmp_path / "dem.tif")
    utm = pyproj.CRS("EPSG:32649")
    lon, lat = 108.5 + 2.5 / 1200, 33.25  # 2.5 cells from the west edge
    x, y = pyproj.Transformer.from_crs("EPSG:4326", utm, always_xy=True).transform(lon, lat)
    cells = DemSource((dem,), utm).cells((x - 1000.0, y - 1000.0, x + 1000.0, y + 1000.0))
    assert cells is not None
    with rasterio.open(dem) as src:
        whole = src.read(1)
        col0, row0 = ~src.transform * (cells.transform.c, cells.transform.f)
    rows, cols = cells.elevation_m.shape
    assert round(col0) == 0 and cols > 20
    np.testing.assert_array_equal(
        cells.elevation_m, whole[round(row0):round(row0) + rows, :cols])

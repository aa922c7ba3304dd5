"""The coverage stage on tiny hand-made terrains, against answers worked out by hand.

Expected numbers come from the standards' formulas written out again here (TR 38.901 RMa LOS,
ITU-R P.526 knife edge, TR 38.901 Table 7.3-1 antenna pattern), not from the code under test.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from rasterio.transform import from_origin
from shapely.geometry import Point

from siting.config import CoverageSettings, ScenarioError, Technology, _parse_coverage, _Problems
from siting.coverage import (Transmitters, best_sector_gain_db, build_coverage, option_table,
                             path_levels, sector_pattern_db)
from siting.demand import Demand
from siting.propagation import knife_edge_loss
from siting.terrain import Terrain

CRS = "EPSG:32649"
X0, Y0 = 500_000.0, 3_620_000.0
CELL = 30.0
EARTH_R = 6_371_000.0
C_LIGHT = 299_792_458.0

TECH_4G = Technology(name="4G-1800", generation="4G", frequency_mhz=1800.0, eirp_dbm=61.0,
                     resource_blocks=100, rsrp_threshold_dbm=-110.0, model="rma_38901",
                     max_range_m=8000.0, clutter_loss_db=10.0)
TECH_5G = Technology(name="5G-3500", generation="5G", frequency_mhz=3500.0, eirp_dbm=77.0,
                     resource_blocks=273, rsrp_threshold_dbm=-105.0, model="rma_38901",
                     max_range_m=5000.0, clutter_loss_db=10.0)
EIRP_RE_4G = 61.0 - 10.0 * math.log10(12 * 100)  # 61 - 30.792 = 30.208 dBm per RE


def _terrain(elevation, cell=CELL) -> Terrain:
    return Terrain(np.asarray(elevation, np.float32), from_origin(X0, Y0, cell, cell), CRS)


def _xy(row, col, cell=CELL):
    """Map coordinates of the centre of cell (row, col) (fractional allowed)."""
    return X0 + (np.asarray(col, float) + 0.5) * cell, Y0 - (np.asarray(row, float) + 0.5) * cell


def _demand(x, y, require_5g=None) -> Demand:
    x = np.atleast_1d(np.asarray(x, float))
    y = np.atleast_1d(np.asarray(y, float))
    n = len(x)
    return Demand(x_m=x, y_m=y, people=np.ones(n), mandatory=np.zeros(n, bool),
                  require_5g=(np.zeros(n, bool) if require_5g is None
                              else np.asarray(require_5g, bool)),
                  kind=np.array(["cell"] * n, dtype=object),
                  ref_id=np.array([f"d{i}" for i in range(n)], dtype=object),
                  admin_unit=np.array(["A"] * n, dtype=object))


def _candidates(rows) -> gpd.GeoDataFrame:
    """rows: (site_id, x, y, height, technologies)."""
    return gpd.GeoDataFrame(
        {"antenna_height_m": [r[3] for r in rows], "technologies": [r[4] for r in rows]},
        geometry=[Point(r[1], r[2]) for r in rows], index=[r[0] for r in rows], crs=CRS)


def _tx(x, y, h) -> Transmitters:
    return Transmitters(np.atleast_1d(np.asarray(x, float)), np.atleast_1d(np.asarray(y, float)),
                        np.atleast_1d(np.asarray(h, float)))


def _rma_los_hand(d2, fc_ghz, h_bs, h_ut, h=5.0):
    """TR 38.901 Table 7.4.1-1, RMa LOS, written out from the table (c = 3e8 m/s there)."""
    d3 = math.hypot(d2, h_bs - h_ut)
    d_bp = 2 * math.pi * h_bs * h_ut * fc_ghz * 1e9 / 3.0e8

    def pl1(d):
        return (20 * math.log10(40 * math.pi * d * fc_ghz / 3) + min(0.03 * h**1.72, 10) * math.log10(d)
                - min(0.044 * h**1.72, 14.77) + 0.002 * math.log10(h) * d)

    return pl1(d3) if d2 <= d_bp else pl1(d_bp) + 40 * math.log10(d3 / d_bp)


def _j_hand(v):
    """ITU-R P.526 eq. (31)."""
    return 0.0 if v <= -0.78 else 6.9 + 20 * math.log10(math.sqrt((v - 0.1) ** 2 + 1) + v - 0.1)


# --- flat terrain: no diffraction, the model alone -------------------------------------------

def test_flat_terrain_level_is_eirp_re_minus_rma_los_minus_clutter():
    terrain = _terrain(np.full((201, 201), 400.0))
    tx_x, tx_y = _xy(100, 100)
    # 300 m, 1200 m (before the 1696 m breakpoint), 1500 m diagonal, 2700 m (after it)
    rows = np.array([100, 100, 130, 100])
    cols = np.array([110, 140, 140, 190])
    rx_x, rx_y = _xy(rows, cols)
    levels = path_levels(terrain, _tx(tx_x, tx_y, 30.0), rx_x, rx_y, 1.5, TECH_4G,
                         CoverageSettings())
    assert levels.tx.tolist() == [0, 0, 0, 0] and levels.rx.tolist() == [0, 1, 2, 3]
    assert levels.los.all()
    expected = [EIRP_RE_4G - _rma_los_hand(d, 1.8, 30.0, 1.5) - 10.0
                for d in (300.0, 1200.0, 1500.0, 2700.0)]
    np.testing.assert_allclose(levels.level_dbm, expected, atol=1e-3)
    # one number worked out on paper: d3 = 301.35 m, PL = 87.13 + 1.19 - 0.70 + 0.42 = 88.03 dB
    assert levels.level_dbm[0] == pytest.approx(30.208 - 88.03 - 10.0, abs=0.02)


def test_flat_terrain_build_coverage_matches_path_levels_and_threshold():
    terrain = _terrain(np.full((201, 201), 400.0))
    tx_x, tx_y = _xy(100, 100)
    cols = np.arange(101, 201, 5)
    rx_x, rx_y = _xy(np.full(len(cols), 100), cols)
    tech = Technology(**{**TECH_4G.__dict__, "rsrp_threshold_dbm": -90.0})
    cov = build_coverage(terrain, _candidates([("S1", tx_x, tx_y, 30.0, "4G")]), _demand(rx_x, rx_y),
                         (tech,), CoverageSettings(), 1.5)
    dense = cov.level_dbm.toarray()[:, 0]
    expected = np.array([EIRP_RE_4G - _rma_los_hand(d, 1.8, 30.0, 1.5) - 10.0
                         for d in (cols - 100) * CELL])
    covered = expected >= -90.0
    assert 0 < covered.sum() < len(cols)  # the threshold falls inside the test line
    np.testing.assert_allclose(dense[covered], expected[covered], atol=1e-3)
    assert (dense[~covered] == 0).all()
    np.testing.assert_allclose(cov.best_level_dbm, expected, atol=1e-3)
    assert cov.in_range.all()


# --- one knife edge ---------------------------------------------------------------------------

@pytest.mark.parametrize("k", [4.0 / 3.0, 0.0])
@pytest.mark.parametrize("max_edges", [1, 3])
def test_single_ridge_adds_exactly_the_knife_edge_loss(k, max_edges):
    # 12 km path along row 2 (400 samples, one per cell, on cell centres); a 100 m wall one cell
    # wide in the middle (d1 = d2 = 6 km); tx 30 m, UE 1.5 m above a 400 m plain.
    flat = np.full((5, 401), 400.0)
    ridge = flat.copy()
    ridge[:, 200] += 100.0
    tech = Technology(**{**TECH_4G.__dict__, "max_range_m": 15000.0})
    tx_x, tx_y = _xy(2, 0)
    rx_x, rx_y = _xy(2, 400)
    settings = CoverageSettings(earth_radius_factor=k, max_diffraction_edges=max_edges)
    tx = _tx(tx_x, tx_y, 30.0)
    free = path_levels(_terrain(flat), tx, rx_x, rx_y, 1.5, tech, settings)
    blocked = path_levels(_terrain(ridge), tx, rx_x, rx_y, 1.5, tech, settings)
    assert free.los.all() and not blocked.los.any()

    d1 = d2 = 6000.0
    bulge = d1 * d2 / (2 * k * EARTH_R) if k > 0 else 0.0  # 2.119 m for k = 4/3
    ray = 430.0 + (401.5 - 430.0) * d1 / (d1 + d2)  # 415.75 m
    clearance = 500.0 + bulge - ray
    wavelength = C_LIGHT / 1.8e9
    v = clearance * math.sqrt(2 / wavelength * (1 / d1 + 1 / d2))
    # The sub-paths' edges stay below v = -0.78 (worst: -1.08 near the UE), so with three
    # edges the loss is still the principal edge's alone.
    extra = float(free.level_dbm[0]) - float(blocked.level_dbm[0])
    assert extra == pytest.approx(_j_hand(v), abs=2e-4)
    assert extra == pytest.approx(float(knife_edge_loss(v)), abs=2e-4)
    if k > 0:
        assert v == pytest.approx(5.464, abs=1e-3)
        assert extra == pytest.approx(27.585, abs=0.01)  # 6.9 + 20 log10(10.821)


def test_earth_curvature_setting_changes_the_ridge_loss_as_the_bulge_says():
    ridge = np.full((5, 401), 400.0)
    ridge[:, 200] += 100.0
    tech = Technology(**{**TECH_4G.__dict__, "max_range_m": 15000.0})
    tx = _tx(*_xy(2, 0), 30.0)
    rx_x, rx_y = _xy(2, 400)
    level = {k: float(path_levels(_terrain(ridge), tx, rx_x, rx_y, 1.5, tech,
                                  CoverageSettings(earth_radius_factor=k)).level_dbm[0])
             for k in (0.0, 4.0 / 3.0, 1.0)}
    assert level[0.0] > level[4.0 / 3.0] > level[1.0]  # a smaller k lifts the bulge more


def test_the_fused_profile_kernel_equals_the_reference_deygout_on_rugged_terrain():
    from siting.coverage import diffraction_kernel
    from siting.propagation import deygout_loss_kernel, line_of_sight_clear_kernel
    from siting.terrain import sample_profile_kernel
    z = _rugged(seed=3)
    rng = np.random.default_rng(0)
    n_pairs = 400
    tx_row, tx_col = rng.uniform(0, 120, 20), rng.uniform(0, 160, 20)
    rx_row, rx_col = rng.uniform(0, 120, 50), rng.uniform(0, 160, 50)
    tx_h, rx_h = rng.uniform(10, 40, 20), np.full(50, 1.5)
    pair_tx, pair_rx = rng.integers(0, 20, n_pairs), rng.integers(0, 50, n_pairs)
    wavelength = C_LIGHT / 3.5e9
    for k, edges in ((4.0 / 3.0, 3), (1.0, 2), (0.0, 1)):
        loss, los = np.empty(n_pairs), np.empty(n_pairs, bool)
        diffraction_kernel(z, z, CELL, tx_row, tx_col, tx_h, rx_row, rx_col, rx_h, pair_tx,
                           pair_rx, wavelength, k, edges, loss, los)
        expected_loss, expected_los = np.empty(n_pairs), np.empty(n_pairs, bool)
        for p, (a, b) in enumerate(zip(pair_tx, pair_rx)):
            cells = math.hypot(rx_row[b] - tx_row[a], rx_col[b] - tx_col[a])
            n = max(3, math.ceil(cells) + 1)
            elevation = np.empty(n)
            sample_profile_kernel(z, tx_row[a], tx_col[a], rx_row[b], rx_col[b], n, elevation)
            distance = np.arange(n) * (cells * CELL / (n - 1))
            expected_loss[p] = deygout_loss_kernel(distance, elevation, n, tx_h[a], rx_h[b],
                                                   wavelength, k, edges)
            expected_los[p] = line_of_sight_clear_kernel(distance, elevation, n, tx_h[a],
                                                         rx_h[b], k)
        assert np.array_equal(los, expected_los)
        assert (~los).sum() > 50 and los.sum() > 50
        # blocked paths: Deygout's loss (to rounding); clear paths: 0 dB by design (module
        # docstring), although the ground near the user often lies in their Fresnel zone
        np.testing.assert_allclose(loss[~los], expected_loss[~los], rtol=1e-12, atol=0)
        assert np.all(loss[los] == 0.0)
        assert np.any(expected_loss[los] > 0.0)


# --- monotonicity ------------------------------------------------------------------------------

def _rugged(seed=7, shape=(121, 161)):
    rng = np.random.default_rng(seed)
    rows, cols = np.indices(shape, dtype=float)
    z = 500.0 + 150.0 * np.exp(-((cols - 70.0) / 6.0) ** 2)  # a north-south ridge
    for _ in range(12):  # smooth hills
        r0, c0 = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        z += rng.uniform(20, 120) * np.exp(-((rows - r0) ** 2 + (cols - c0) ** 2) / rng.uniform(20, 200))
    return z


def _grid_demand(shape, every=6):
    rows, cols = np.meshgrid(np.arange(2, shape[0] - 2, every), np.arange(2, shape[1] - 2, every),
                             indexing="ij")
    return _xy(rows.ravel(), cols.ravel())


def test_coverage_never_grows_when_the_threshold_rises():
    z = _rugged()
    terrain = _terrain(z)
    cands = _candidates([("A", *_xy(30, 30), 30.0, "4G,5G"), ("B", *_xy(90, 110), 20.0, "4G,5G"),
                         ("C", *_xy(60, 75), 15.0, "4G")])
    demand = _demand(*_grid_demand(z.shape))
    previous = None
    counts = []
    for threshold in (-125.0, -115.0, -110.0, -105.0, -95.0, -85.0):
        techs = tuple(Technology(**{**t.__dict__, "rsrp_threshold_dbm": threshold})
                      for t in (TECH_4G, TECH_5G))
        cov = build_coverage(terrain, cands, demand, techs, CoverageSettings(), 1.5)
        covered = set(zip(*cov.level_dbm.nonzero()))
        counts.append(len(covered))
        if previous is not None:
            assert covered <= previous
        previous = covered
    assert counts[0] > counts[-1] > 0


@pytest.mark.parametrize("antenna", ["omni", "three_sector"])
def test_a_taller_mast_never_covers_fewer_points_on_a_ridge(antenna):
    z = _rugged(seed=3)
    terrain = _terrain(z)
    demand = _demand(*_grid_demand(z.shape, every=4))
    settings = CoverageSettings(antenna=antenna)
    previous = None
    counts = []
    for height in (10.0, 15.0, 25.0, 40.0, 60.0, 100.0):
        cands = _candidates([("S", *_xy(60, 40), height, "4G")])
        cov = build_coverage(terrain, cands, demand, (TECH_4G,), settings, 1.5)
        covered = set(cov.level_dbm.nonzero()[0].tolist())
        counts.append(len(covered))
        if previous is not None:
            assert previous <= covered, f"{height} m mast loses {sorted(previous - covered)}"
        previous = covered
    assert counts[0] < counts[-1] < len(demand)  # the ridge matters and a mast helps


# --- range, 5G rows, option table, determinism -------------------------------------------------

def test_pairs_beyond_max_range_are_absent():
    cell = 90.0
    terrain = _terrain(np.full((101, 101), 300.0), cell=cell)
    tx_x, tx_y = _xy(50, 5, cell)
    # east along the row: 7,990 m and 8,010 m from the mast (max_range_m = 8,000 m)
    rx_x = np.array([tx_x + 7990.0, tx_x + 8010.0, tx_x + 100.0])
    rx_y = np.full(3, tx_y)
    levels = path_levels(terrain, _tx(tx_x, tx_y, 30.0), rx_x, rx_y, 1.5, TECH_4G,
                         CoverageSettings())
    assert levels.rx.tolist() == [0, 2]
    cov = build_coverage(terrain, _candidates([("S", tx_x, tx_y, 30.0, "4G")]),
                         _demand(rx_x, rx_y), (TECH_4G,), CoverageSettings(), 1.5)
    assert cov.in_range.tolist() == [True, False, True]
    assert cov.best_level_dbm[1] == -np.inf
    assert cov.level_dbm[1].nnz == 0


def test_require_5g_rows_only_get_5g_options():
    terrain = _terrain(np.full((101, 101), 400.0))
    cands = _candidates([("A", *_xy(50, 40), 30.0, "4G,5G"), ("B", *_xy(50, 60), 30.0, "4G"),
                         ("C", *_xy(40, 50), 30.0, "5G")])
    rows, cols = np.meshgrid(np.arange(30, 71, 10), np.arange(30, 71, 10), indexing="ij")
    x, y = _xy(rows.ravel(), cols.ravel())
    need_5g = np.arange(len(x)) % 2 == 0
    cov = build_coverage(terrain, cands, _demand(x, y, need_5g), (TECH_4G, TECH_5G),
                         CoverageSettings(), 1.5)
    generation = cov.options["generation"].to_numpy()
    matrix = cov.level_dbm.tocsr()
    for r in range(len(x)):
        gens = set(generation[matrix[r].indices])
        if need_5g[r]:
            assert gens == {"5G"}
        else:
            assert gens == {"4G", "5G"}  # everything is close: both generations reach


def test_option_table_order_is_candidate_then_technology_order():
    cands = _candidates([("A", 0, 0, 30.0, "5G,4G"), ("B", 0, 0, 30.0, " 5G "),
                         ("C", 0, 0, 30.0, "4G"), ("D", 0, 0, 30.0, "4G, 5G")])
    tech_5g_low = Technology(**{**TECH_5G.__dict__, "name": "5G-700", "frequency_mhz": 700.0})
    table = option_table(cands, (TECH_4G, TECH_5G, tech_5g_low))
    assert list(table.itertuples(index=False, name=None)) == [
        (0, "A", "4G-1800", "4G"), (0, "A", "5G-3500", "5G"), (0, "A", "5G-700", "5G"),
        (1, "B", "5G-3500", "5G"), (1, "B", "5G-700", "5G"),
        (2, "C", "4G-1800", "4G"),
        (3, "D", "4G-1800", "4G"), (3, "D", "5G-3500", "5G"), (3, "D", "5G-700", "5G"),
    ]
    assert table.equals(option_table(cands, (TECH_4G, TECH_5G, tech_5g_low)))


def test_the_matrix_is_identical_across_two_calls():
    z = _rugged(seed=11)
    terrain = _terrain(z)
    cands = _candidates([("A", *_xy(30, 30), 30.0, "4G,5G"), ("B", *_xy(90, 110), 20.0, "5G"),
                         ("C", *_xy(60, 75), 15.0, "4G")])
    demand = _demand(*_grid_demand(z.shape, every=3), require_5g=None)
    first = build_coverage(terrain, cands, demand, (TECH_4G, TECH_5G), CoverageSettings(), 1.5)
    second = build_coverage(terrain, cands, demand, (TECH_4G, TECH_5G), CoverageSettings(), 1.5)
    for a, b in ((first.level_dbm, second.level_dbm),):
        assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
        assert np.array_equal(a.data, b.data)
    assert a.nnz > 0
    assert np.array_equal(first.best_level_dbm, second.best_level_dbm)
    assert np.array_equal(first.in_range, second.in_range)
    assert first.options.equals(second.options)


def test_a_technology_no_candidate_allows_gives_an_empty_column_set():
    terrain = _terrain(np.full((41, 41), 400.0))
    cov = build_coverage(terrain, _candidates([("A", *_xy(20, 20), 30.0, "4G")]),
                         _demand(*_xy(np.array([20]), np.array([30]))), (TECH_4G, TECH_5G),
                         CoverageSettings(), 1.5)
    assert cov.options["technology"].tolist() == ["4G-1800"]
    assert cov.level_dbm.shape == (1, 1) and cov.level_dbm.nnz == 1


# --- three-sector antenna (TR 38.901 Table 7.3-1) ---------------------------------------------

@pytest.mark.parametrize("phi, theta_off, expected", [
    (0.0, 0.0, 0.0),
    (32.5, 0.0, -3.0),  # 12 (32.5/65)^2 = 3 dB: the half-power point
    (-32.5, 0.0, -3.0),
    (327.5, 0.0, -3.0),  # same direction, wrapped
    (65.0, 0.0, -12.0),
    (90.0, 0.0, -12.0 * (90.0 / 65.0) ** 2),  # -23.006 dB
    (180.0, 0.0, -30.0),  # A_max
    (0.0, 32.5, -3.0),
    (0.0, -32.5, -3.0),
    (0.0, 65.0, -12.0),
    (0.0, 90.0, -12.0 * (90.0 / 65.0) ** 2),
    (32.5, 32.5, -6.0),
    (65.0, 65.0, -24.0),
    (90.0, 65.0, -30.0),  # 23.006 + 12 = 35.006 -> capped at 30
])
def test_sector_pattern_matches_table_7_3_1(phi, theta_off, expected):
    tilt = 6.0
    assert float(sector_pattern_db(phi, 90.0 + tilt + theta_off, tilt)) == pytest.approx(
        expected, abs=1e-9)


def test_sector_pattern_with_downtilt_at_the_horizon():
    # 6 deg downtilt, horizontal direction: A_V = -12 (6/65)^2 = -0.10225 dB
    assert float(sector_pattern_db(0.0, 90.0, 6.0)) == pytest.approx(-0.102249, abs=1e-6)


def test_best_sector_gain_picks_the_nearest_sector():
    bearings = np.array([0.0, 120.0, 240.0, 60.0, 32.5, 300.0, 359.0, 180.0])
    gain = best_sector_gain_db(bearings, 96.0, (0.0, 120.0, 240.0), 6.0)
    sixty = -12.0 * (60.0 / 65.0) ** 2  # -10.225 dB, half-way between two sectors
    np.testing.assert_allclose(gain, [0, 0, 0, sixty, -3.0, sixty, -12.0 / 65.0**2, sixty],
                               atol=1e-9)


def test_three_sector_point_at_boresight_gets_the_omni_level():
    terrain = _terrain(np.full((101, 101), 400.0))
    tx_x, tx_y = _xy(50, 50)
    # flat earth (k = 0): the point 28.5 m / tan(6 deg) = 271.16 m away is on the tilted boresight
    d = 28.5 / math.tan(math.radians(6.0))
    bearings = np.radians([0.0, 120.0, 240.0, 60.0, 32.5])
    rx_x, rx_y = tx_x + d * np.sin(bearings), tx_y + d * np.cos(bearings)
    omni = path_levels(terrain, _tx(tx_x, tx_y, 30.0), rx_x, rx_y, 1.5, TECH_4G,
                       CoverageSettings(earth_radius_factor=0.0))
    sector = path_levels(terrain, _tx(tx_x, tx_y, 30.0), rx_x, rx_y, 1.5, TECH_4G,
                         CoverageSettings(earth_radius_factor=0.0, antenna="three_sector"))
    diff = sector.level_dbm.astype(float) - omni.level_dbm.astype(float)
    np.testing.assert_allclose(diff, [0.0, 0.0, 0.0, -12.0 * (60.0 / 65.0) ** 2, -3.0], atol=1e-4)


def test_three_sector_never_beats_omni_and_rotating_sectors_changes_the_map():
    z = _rugged(seed=5)
    terrain = _terrain(z)
    demand = _demand(*_grid_demand(z.shape, every=4))
    tx = _tx(*_xy(60, 40), 30.0)
    omni = path_levels(terrain, tx, demand.x_m, demand.y_m, 1.5, TECH_4G, CoverageSettings())
    sector = path_levels(terrain, tx, demand.x_m, demand.y_m, 1.5, TECH_4G,
                         CoverageSettings(antenna="three_sector"))
    rotated = path_levels(terrain, tx, demand.x_m, demand.y_m, 1.5, TECH_4G,
                          CoverageSettings(antenna="three_sector", sector_azimuths_deg=(60.0, 180.0,
                                                                                        300.0)))
    assert np.array_equal(omni.rx, sector.rx) and np.array_equal(omni.los, sector.los)
    assert (sector.level_dbm <= omni.level_dbm + 1e-4).all()
    assert (sector.level_dbm >= omni.level_dbm - 30.0 - 1e-4).all()
    assert not np.array_equal(sector.level_dbm, rotated.level_dbm)


# --- scenario keys ------------------------------------------------------------------------------

def test_coverage_antenna_keys_parse_with_defaults():
    problems = _Problems(Path("s.yaml"))
    default = _parse_coverage({}, problems)
    assert (default.antenna, default.sector_azimuths_deg, default.downtilt_deg) == (
        "omni", (0.0, 120.0, 240.0), 6.0)
    custom = _parse_coverage({"coverage": {"antenna": "three_sector", "sector_azimuths_deg": [30, 150, 270],
                                           "downtilt_deg": 4}}, problems)
    assert (custom.antenna, custom.sector_azimuths_deg, custom.downtilt_deg) == (
        "three_sector", (30.0, 150.0, 270.0), 4.0)
    assert problems.items == []


@pytest.mark.parametrize("section, message", [
    ({"antenna": "dipole"}, "coverage.antenna"),
    ({"sector_azimuths_deg": [0, 400]}, "coverage.sector_azimuths_deg"),
    ({"sector_azimuths_deg": "0,120"}, "coverage.sector_azimuths_deg"),
    ({"sector_azimuths_deg": []}, "coverage.sector_azimuths_deg"),
    ({"downtilt_deg": 90}, "coverage.downtilt_deg"),
    ({"antena": "omni"}, "did you mean 'antenna'"),
])
def test_bad_coverage_antenna_keys_are_reported(section, message):
    problems = _Problems(Path("s.yaml"))
    _parse_coverage({"coverage": section}, problems)
    with pytest.raises(ScenarioError, match=message):
        problems.raise_if_any()


# --- end to end through the scenario file -----------------------------------------------------

def test_three_sector_scenario_runs_end_to_end_and_changes_the_cache_key(tmp_path):
    from regions import TECH_4G as TECH_4G_DICT
    from regions import candidate, village, write_region

    from siting.cache import coverage_key
    from siting.config import load_scenario
    from siting.pipeline import compute

    dem = np.full((200, 200), 400.0, np.float32)
    villages = [village("EAST", 4500, 3000), village("WEST", 1500, 3000)]
    sites = [candidate("S1", 3000, 3000, techs="4G")]
    omni_path = write_region(tmp_path / "omni", dem, villages, sites, technologies=(TECH_4G_DICT,))
    sector_path = write_region(tmp_path / "sector", dem, villages, sites,
                               technologies=(TECH_4G_DICT,),
                               coverage={"raster_resolution_m": 150, "antenna": "three_sector",
                                         "sector_azimuths_deg": [90], "downtilt_deg": 6})
    omni, sector = load_scenario(omni_path), load_scenario(sector_path)
    assert sector.coverage.sector_azimuths_deg == (90.0,)
    assert coverage_key(omni) != coverage_key(sector)

    def village_levels(scenario):
        run = compute(scenario)
        rows = {run.demand.ref_id[r]: r for r in np.flatnonzero(run.demand.kind == "village")}
        dense = run.coverage.level_dbm.toarray()
        return {vid: float(dense[r].max()) for vid, r in rows.items()}, run

    omni_levels, _ = village_levels(omni)
    sector_levels, run = village_levels(sector)
    # both villages 1.5 km away on flat ground: about -83.8 dBm with the omni antenna
    assert omni_levels["EAST"] == pytest.approx(omni_levels["WEST"], abs=1e-3)
    assert omni_levels["EAST"] == pytest.approx(EIRP_RE_4G - _rma_los_hand(1500, 1.8, 30, 1.5) - 10,
                                                abs=0.05)
    # one sector facing east: EAST loses only A_V = 12 ((atan(28.5/1500) - 6 deg) / 65)^2 dB;
    # WEST is behind it (A_H = -30 dB floor) and drops below -110 dBm
    a_v = 12 * ((math.degrees(math.atan(28.5 / 1500)) - 6.0) / 65.0) ** 2
    assert sector_levels["EAST"] == pytest.approx(omni_levels["EAST"] - a_v, abs=0.01)
    assert sector_levels["WEST"] == 0.0  # not in the matrix: below threshold
    west = np.flatnonzero(run.demand.ref_id == "WEST")[0]
    assert run.coverage.best_level_dbm[west] == pytest.approx(omni_levels["WEST"] - 30.0, abs=0.05)

"""Tests for siting.terrain (Terrain grid, bilinear sampling) and siting.viewshed (exact LOS and
the viewshed, re-exported by siting.terrain)."""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
import pytest
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

from siting import terrain as terrain_module
from siting import viewshed as viewshed_module
from siting.errors import InputError
from siting.terrain import (
    Terrain,
    bilinear_kernel,
    exact_line_of_sight,
    exact_line_of_sight_many,
    sample_profile_kernel,
    viewshed,
)
from siting.viewshed import _bracket_thresholds, _clear_prefix, _ray_horizon, _side_axes

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
JACKSBORO = REAL_DATA / "dem" / "usgs_jacksboro_fault_tn" / "jacksboro_fault_dem.npz"


def fractal_dem(n: int, seed: int, relief_m: float = 800.0, beta: float = 2.2) -> np.ndarray:
    """Seeded fractal (power-law spectrum) terrain, n x n, float32, 0..relief_m."""
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(n)
    k = np.hypot(f[:, None], f[None, :])
    k[0, 0] = 1.0
    spectrum = (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))) / k ** (beta / 2 + 0.5)
    spectrum[0, 0] = 0.0
    z = np.fft.ifft2(spectrum).real
    return ((z - z.min()) / (z.max() - z.min()) * relief_m).astype(np.float32)


def agreement(dem, cell_m, observer, h_obs, h_tgt, n_targets, seed, max_distance_m=None):
    """Fraction of random targets where viewshed == exact_line_of_sight."""
    rng = np.random.default_rng(seed)
    seen = viewshed(dem, cell_m, observer, h_obs, h_tgt, max_distance_m)
    rows = rng.integers(0, dem.shape[0], n_targets)
    cols = rng.integers(0, dem.shape[1], n_targets)
    if max_distance_m is not None:
        keep = np.hypot(rows - observer[0], cols - observer[1]) * cell_m <= max_distance_m
        rows, cols = rows[keep], cols[keep]
    exact = exact_line_of_sight_many(dem, cell_m, observer, np.column_stack([rows, cols]),
                                     h_obs, h_tgt)
    return float(np.mean(seen[rows, cols] == exact)), len(rows)


def exact_viewshed(dem, cell_m, observer, h_obs, h_tgt, max_distance_m=None,
                   earth_radius_factor=None):
    """The viewshed by exact_line_of_sight on every cell (the reference for small DEMs)."""
    rows, cols = np.mgrid[0:dem.shape[0], 0:dem.shape[1]]
    targets = np.column_stack([rows.ravel(), cols.ravel()])
    seen = exact_line_of_sight_many(dem, cell_m, observer, targets, h_obs, h_tgt,
                                    earth_radius_factor).reshape(dem.shape)
    if max_distance_m is not None:
        seen &= np.hypot(rows - observer[0], cols - observer[1]) * cell_m <= max_distance_m
    return seen


# --------------------------------------------------------------------------------------------
# Terrain


@pytest.fixture
def plane_terrain():
    """z = 0.5 x - 0.25 y + 100 on a 40 x 50 grid of 10 m cells."""
    transform = Affine(10.0, 0.0, 1000.0, 0.0, -10.0, 5000.0)
    rows, cols = np.mgrid[0:40, 0:50]
    x = 1000.0 + (cols + 0.5) * 10.0
    y = 5000.0 - (rows + 0.5) * 10.0
    z = (0.5 * x - 0.25 * y + 100.0).astype(np.float32)
    return Terrain(elevation_m=z, transform=transform, crs=None)


def test_terrain_properties(plane_terrain):
    t = plane_terrain
    assert t.cell_size_m == 10.0
    assert t.shape == (40, 50)
    assert t.bounds == (1000.0, 4600.0, 1500.0, 5000.0)


def test_rowcol_cell_centre_is_integer(plane_terrain):
    row, col = plane_terrain.rowcol(1000.0 + 3.5 * 10.0, 5000.0 - 7.5 * 10.0)
    assert row == pytest.approx(7.0)
    assert col == pytest.approx(3.0)


def test_rowcol_xy_round_trip(plane_terrain):
    rng = np.random.default_rng(1)
    row = rng.uniform(-3, 45, 200)
    col = rng.uniform(-3, 55, 200)
    x, y = plane_terrain.xy(row, col)
    row2, col2 = plane_terrain.rowcol(x, y)
    np.testing.assert_allclose(row2, row, atol=1e-9)
    np.testing.assert_allclose(col2, col, atol=1e-9)


def test_contains_is_cell_centre_hull(plane_terrain):
    x, y = plane_terrain.xy(np.array([0.0, 39.0, -0.01, 0.0, 20.0]),
                            np.array([0.0, 49.0, 0.0, 49.01, 20.0]))
    np.testing.assert_array_equal(plane_terrain.contains(x, y), [True, True, False, False, True])


def test_elevation_at_exact_on_plane(plane_terrain):
    rng = np.random.default_rng(2)
    row = rng.uniform(0, 39, 500)
    col = rng.uniform(0, 49, 500)
    row[:4] = [0, 39, 0, 39]  # the four corners, including the clamped last row / column
    col[:4] = [0, 0, 49, 49]
    x, y = plane_terrain.xy(row, col)
    z = plane_terrain.elevation_at(x, y)
    assert z.dtype == np.float64 and z.shape == (500,)
    np.testing.assert_allclose(z, 0.5 * x - 0.25 * y + 100.0, atol=1e-3)


def test_elevation_at_outside_raises_and_counts(plane_terrain):
    x, y = plane_terrain.xy(np.array([-1.0, 5.0, 45.0]), np.array([5.0, 5.0, 5.0]))
    with pytest.raises(InputError, match="2 of 3 points"):
        plane_terrain.elevation_at(x, y)


def test_profile_endpoints_and_spacing(plane_terrain):
    x0, y0 = plane_terrain.xy(1.0, 1.0)
    x1, y1 = plane_terrain.xy(31.0, 41.0)
    distance, z = plane_terrain.profile(float(x0), float(y0), float(x1), float(y1))
    assert distance[0] == 0.0
    assert distance[-1] == pytest.approx(np.hypot(x1 - x0, y1 - y0))
    assert np.all(np.diff(distance) <= 10.0 + 1e-9)
    np.testing.assert_allclose(z[[0, -1]], [plane_terrain.elevation_at(x0, y0),
                                            plane_terrain.elevation_at(x1, y1)])
    distance2, _ = plane_terrain.profile(float(x0), float(y0), float(x1), float(y1), step_m=100.0)
    assert len(distance2) == int(np.ceil(distance[-1] / 100.0)) + 1
    with pytest.raises(InputError):
        plane_terrain.profile(float(x0), float(y0), 0.0, 0.0)
    with pytest.raises(InputError):
        plane_terrain.profile(float(x0), float(y0), float(x1), float(y1), step_m=0.0)


def test_terrain_rejects_rotated_or_rectangular_cells():
    z = np.zeros((3, 3), np.float32)
    with pytest.raises(InputError):
        Terrain(elevation_m=z, transform=Affine(10.0, 0.0, 0.0, 0.0, -20.0, 0.0), crs=None)
    with pytest.raises(InputError):
        Terrain(elevation_m=z, transform=Affine(10.0, 0.0, 0.0, 0.0, 10.0, 0.0), crs=None)


def test_kernels_at_the_last_row_and_column():
    z = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert bilinear_kernel(z, 2.0, 3.0) == 11.0
    assert bilinear_kernel(z, 1.5, 2.5) == pytest.approx(8.5)
    out = np.empty(5)
    sample_profile_kernel(z, 0.0, 0.0, 2.0, 3.0, 5, out)
    np.testing.assert_allclose(out, np.linspace(0.0, 11.0, 5))


# --------------------------------------------------------------------------------------------
# hand-made terrains


def test_flat_plane_everything_visible():
    dem = np.full((41, 57), 120.0, np.float32)
    assert viewshed(dem, 30.0, (10, 20), 10.0, 1.5).all()
    assert viewshed(dem, 30.0, (0, 0), 0.0, 0.0).all()  # grazing: on the line does not block


def test_ridge_wall_hides_cells_behind_it():
    # flat ground, a 5 m wall along column 20; eye 10 m above column 10, targets on the ground.
    # On row 25 the sight line crosses column 20 at 10 (c - 20) / (c - 10) m: below the wall
    # top for c < 30, exactly on it at c = 30 (not blocking).
    dem = np.zeros((51, 61), np.float32)
    dem[:, 20] = 5.0
    seen = viewshed(dem, 30.0, (25, 10), 10.0, 0.0)
    row = seen[25]
    assert row[:21].all()
    assert not row[21:30].any()
    assert row[30:].all()
    for col in range(61):
        assert exact_line_of_sight(dem, 30.0, (25, 10), (25, col), 10.0, 0.0) == row[col]


def _cone(n=61, centre=30, height_m=200.0, slope_m_per_cell=10.0):
    rows, cols = np.mgrid[0:n, 0:n]
    r = np.hypot(rows - centre, cols - centre)
    return np.maximum(0.0, height_m - slope_m_per_cell * r).astype(np.float32)


def test_cone_observer_at_the_top_sees_everything():
    dem = _cone()
    assert viewshed(dem, 30.0, (30, 30), 2.0, 1.0).all()


def test_cone_observer_at_the_foot_sees_its_own_side():
    dem = _cone()
    seen = viewshed(dem, 30.0, (30, 55), 2.0, 1.0)
    row = seen[30]
    assert row[30:].all()  # near face and the summit
    assert not row[5:30].any()  # far face and the ground behind the cone


def test_pit_observer_sees_the_floor_and_the_first_rim_cells_only():
    dem = np.full((51, 51), 100.0, np.float32)
    dem[20:31, 20:31] = 0.0
    seen = viewshed(dem, 30.0, (25, 25), 2.0, 1.5)
    expected = np.zeros_like(seen)
    expected[19:32, 19:32] = True
    np.testing.assert_array_equal(seen, expected)


def test_earth_curvature_hides_a_distant_target_on_a_flat_plane():
    # radio horizon with k = 4/3: sqrt(2 k R 10) + sqrt(2 k R 1.5) = 13.0 + 5.1 = 18.1 km
    dem = np.zeros((3, 1001), np.float32)
    near, far = (1, 400), (1, 800)  # 12 km and 24 km at 30 m cells
    for target in (near, far):
        assert exact_line_of_sight(dem, 30.0, (1, 0), target, 10.0, 1.5)
    assert exact_line_of_sight(dem, 30.0, (1, 0), near, 10.0, 1.5, earth_radius_factor=4 / 3)
    assert not exact_line_of_sight(dem, 30.0, (1, 0), far, 10.0, 1.5, earth_radius_factor=4 / 3)
    seen = viewshed(dem, 30.0, (1, 0), 10.0, 1.5, earth_radius_factor=4 / 3)
    assert seen[1, 400] and not seen[1, 800]
    horizon_cells = np.flatnonzero(~seen[1])[0]
    assert 17_000 < horizon_cells * 30.0 < 19_000
    assert viewshed(dem, 30.0, (1, 0), 10.0, 1.5).all()


# --------------------------------------------------------------------------------------------
# properties


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), height_m=st.floats(0.0, 50.0))
def test_exact_los_is_symmetric(seed, height_m):
    rng = np.random.default_rng(seed)
    dem = fractal_dem(32, seed % 1000, relief_m=200.0)
    for _ in range(20):
        a = tuple(int(v) for v in rng.integers(0, 32, 2))
        b = tuple(int(v) for v in rng.integers(0, 32, 2))
        assert (exact_line_of_sight(dem, 30.0, a, b, height_m, height_m)
                == exact_line_of_sight(dem, 30.0, b, a, height_m, height_m))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), low_m=st.floats(0.0, 30.0), extra_m=st.floats(0.1, 60.0))
def test_taller_mast_never_sees_less(seed, low_m, extra_m):
    dem = fractal_dem(64, seed, relief_m=300.0)
    observer = (int(seed % 64), int((seed // 64) % 64))
    low = viewshed(dem, 30.0, observer, low_m, 1.5)
    high = viewshed(dem, 30.0, observer, low_m + extra_m, 1.5)
    assert not (low & ~high).any()


def test_max_distance_respected():
    dem = fractal_dem(101, 3, relief_m=50.0)
    seen = viewshed(dem, 30.0, (40, 60), 500.0, 1.5, max_distance_m=900.0)
    rows, cols = np.mgrid[0:101, 0:101]
    beyond = np.hypot(rows - 40, cols - 60) * 30.0 > 900.0
    assert not seen[beyond].any()
    assert seen[~beyond].all()  # 500 m mast over 50 m relief sees the whole disc
    assert seen[40, 60]


def test_viewshed_agrees_with_exact_on_rugged_fractal_dem():
    dem = fractal_dem(301, 7, relief_m=600.0)
    for seed, observer in enumerate([(150, 150), (40, 250), (280, 20)]):
        share, n = agreement(dem, 30.0, observer, 30.0, 1.5, 2000, seed)
        assert n == 2000
        assert share >= 0.999, (observer, share)
    share, n = agreement(dem, 30.0, (150, 150), 20.0, 1.5, 2000, 9, max_distance_m=3000.0)
    assert share >= 0.999


def test_viewshed_agrees_with_exact_with_curvature():
    dem = fractal_dem(301, 8, relief_m=300.0)
    rng = np.random.default_rng(5)
    seen = viewshed(dem, 90.0, (150, 150), 30.0, 1.5, earth_radius_factor=4 / 3)
    targets = rng.integers(0, 301, (2000, 2))
    exact = exact_line_of_sight_many(dem, 90.0, (150, 150), targets, 30.0, 1.5,
                                     earth_radius_factor=4 / 3)
    assert np.mean(seen[targets[:, 0], targets[:, 1]] == exact) >= 0.999


@pytest.mark.parametrize("observer, max_distance_m, h_obs, h_tgt, k_factor", [
    ((80, 80), None, 30.0, 1.5, None),
    ((5, 150), None, 10.0, 1.5, None),
    ((150, 3), 2400.0, 60.0, 0.0, None),
    ((100, 40), 1500.0, 2.0, 10.0, None),
    ((80, 80), None, 30.0, 1.5, 4 / 3),
    ((20, 120), 4000.0, 100.0, 1.5, 1.0),
])
def test_viewshed_matches_exact_on_every_cell_of_a_rugged_dem(observer, max_distance_m, h_obs,
                                                              h_tgt, k_factor):
    # 600 m of relief on 161 x 161 cells of 30 m: cliffs, ridges and many near-horizon cells
    dem = fractal_dem(161, 21, relief_m=600.0)
    seen = viewshed(dem, 30.0, observer, h_obs, h_tgt, max_distance_m,
                    earth_radius_factor=k_factor)
    exact = exact_viewshed(dem, 30.0, observer, h_obs, h_tgt, max_distance_m, k_factor)
    assert np.count_nonzero(seen != exact) <= 0.001 * dem.size
    assert seen[observer]


def test_viewshed_on_a_slope_facing_the_observer_is_all_visible():
    # every target sits just above the terrain in front of it (near the horizon), the case the
    # ray bracket leaves undecided and the walk along the cell's own sight line decides
    rows, cols = np.mgrid[0:121, 0:121]
    dem = (5.0 * np.hypot(rows - 60, cols - 60)).astype(np.float32)  # a bowl rising outwards
    seen = viewshed(dem, 30.0, (60, 60), 2.0, 0.5)
    assert seen.all()
    np.testing.assert_array_equal(seen, exact_viewshed(dem, 30.0, (60, 60), 2.0, 0.5))


@pytest.mark.parametrize("shape, observer", [((1, 40), (0, 7)), ((40, 1), (30, 0)),
                                             ((2, 60), (1, 50))])
def test_viewshed_on_single_row_or_column_dems(shape, observer):
    dem = fractal_dem(64, 4, relief_m=80.0)[:shape[0], :shape[1]]
    seen = viewshed(dem, 30.0, observer, 5.0, 1.5)
    np.testing.assert_array_equal(seen, exact_viewshed(dem, 30.0, observer, 5.0, 1.5))


def test_viewshed_does_not_depend_on_the_thread_count():
    dem = fractal_dem(257, 12, relief_m=500.0)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = viewshed(dem, 30.0, (100, 140), 25.0, 1.5)
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(viewshed(dem, 30.0, (100, 140), 25.0, 1.5), single)


def _forked_viewshed(args):
    return viewshed(*args)


def test_viewshed_in_a_forked_child_process():
    # the sweep's helper threads do not survive a fork; the child must still compute (and not
    # wait for helpers that are not there)
    multiprocessing = pytest.importorskip("multiprocessing")
    dem = fractal_dem(129, 13, relief_m=300.0)
    args = (dem, 30.0, (64, 64), 20.0, 1.5)
    expected = viewshed(*args)  # starts the helpers in this process
    with multiprocessing.get_context("fork").Pool(1) as pool:
        np.testing.assert_array_equal(pool.apply(_forked_viewshed, (args,)), expected)


def _segment_max_slope(dem, cell_m, r0, c0, r1, c1, eye, curvature_per_m2):
    """Largest (ground - eye) / d - d * curvature over the exact test's samples of a segment
    (every crossing of an integer row or column strictly between the ends), in plain Python."""
    length = np.hypot(r1 - r0, c1 - c0) * cell_m
    ts = sorted({i / abs(c1 - c0) for i in range(1, abs(c1 - c0))}
                | {j / abs(r1 - r0) for j in range(1, abs(r1 - r0))})
    best = -np.inf
    for t in ts:
        z = bilinear_kernel(dem, r0 + t * (r1 - r0), c0 + t * (c1 - c0))
        best = max(best, (z - eye) / (t * length) - t * length * curvature_per_m2)
    return best


@pytest.mark.parametrize("side", [0, 1, 2, 3])
def test_ray_horizon_is_the_running_max_over_the_exact_samples(side):
    dem = fractal_dem(81, 5, relief_m=300.0)
    r0, c0, radius, cell_m, curvature = 40, 40, 40, 30.0, 1e-7
    eye = float(dem[r0, c0]) + 10.0
    axes = _side_axes(side, r0, c0, *dem.shape)
    inv_int = np.concatenate([[np.inf], 1.0 / np.arange(1, radius + 2)])
    for p in (-8, -3, 0, 5, 8):  # q = p / 8: the ray passes through cell centres at k = 8 n
        q = p / 8
        out = np.empty(radius + 1)
        _ray_horizon(dem.ravel(), r0 * 81 + c0, axes, q, radius - 1,
                     cell_m * np.sqrt(1 + q * q), eye, curvature, inv_int, out)
        for k in (8, 16, 24, 32, 40):
            m = int(q * k)
            r1, c1 = {0: (r0 + m, c0 + k), 1: (r0 + m, c0 - k), 2: (r0 + k, c0 + m),
                      3: (r0 - k, c0 + m)}[side]
            expected = _segment_max_slope(dem, cell_m, r0, c0, r1, c1, eye, curvature)
            assert out[k] == pytest.approx(expected, rel=1e-12, abs=1e-12), (p, k)


def test_bracket_thresholds_and_clear_prefix_match_a_linear_scan():
    rng = np.random.default_rng(3)
    n = 60
    for _ in range(200):
        horizon = np.maximum.accumulate(rng.normal(size=(3, n)), axis=1)  # 3 rays, 2 intervals
        horizon[:, 0] = -np.inf
        k = int(rng.integers(1, n))
        a, d2, margin = float(rng.normal()), float(rng.uniform(0.5, 2.0)), 0.05
        d = np.sqrt(d2)
        clear_sq, shade_sq = np.empty(2 * n), np.empty(2 * n)
        for j in (0, 1):
            _bracket_thresholds(horizon, j, n - 1, margin, clear_sq, shade_sq)
            pair = horizon[j:j + 2]
            clear, shade = pair.max(axis=0) + margin, pair.min(axis=0) - margin
            np.testing.assert_array_equal(clear_sq[j * n:(j + 1) * n], clear * np.abs(clear))
            np.testing.assert_array_equal(shade_sq[j * n:(j + 1) * n], shade * np.abs(shade))
            expected = max(i for i in range(k) if i == 0 or a > (pair[:, i].max() + margin) * d)
            assert _clear_prefix(clear_sq, j * n, k, a * abs(a), d2) == expected


@pytest.mark.skipif(not JACKSBORO.exists(),
                    reason=f"real USGS DEM not found at {JACKSBORO} (shared data folder missing)")
def test_viewshed_agrees_with_exact_on_real_usgs_dem():
    # 3 arc-second grid (~75 m x 93 m); treated here as a square 30 m grid, which steepens it.
    dem = np.load(JACKSBORO)["elevation"].astype(np.float32)
    assert dem.shape == (344, 403)
    rng = np.random.default_rng(11)
    for seed in range(3):
        observer = (int(rng.integers(0, 344)), int(rng.integers(0, 403)))
        share, _ = agreement(dem, 30.0, observer, 30.0, 1.5, 2000, seed)
        assert share >= 0.999, (observer, share)


# --------------------------------------------------------------------------------------------
# input checks


@pytest.mark.parametrize("observer", [(-1, 0), (0, 10), (5.5, 2), ("a", 1)])
def test_viewshed_rejects_observer_outside_or_not_a_cell(observer):
    with pytest.raises(InputError):
        viewshed(np.zeros((5, 10), np.float32), 30.0, observer, 10.0, 1.5)


def test_viewshed_rejects_bad_dem_and_cell_size():
    with pytest.raises(InputError, match="2-D"):
        viewshed(np.zeros((3, 3, 3), np.float32), 30.0, (1, 1), 10.0, 1.5)
    with pytest.raises(InputError, match="cell_size_m"):
        viewshed(np.zeros((3, 3), np.float32), 0.0, (1, 1), 10.0, 1.5)
    with pytest.raises(InputError, match="max_distance_m"):
        viewshed(np.zeros((3, 3), np.float32), 30.0, (1, 1), 10.0, 1.5, max_distance_m=-5.0)
    dem = np.zeros((3, 3), np.float32)
    dem[0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        viewshed(dem, 30.0, (1, 1), 10.0, 1.5)


def test_terrain_re_exports_the_visibility_functions_of_the_viewshed_module():
    # siting.terrain.viewshed is the public name (DESIGN.md); the code lives in siting.viewshed
    for name in ("viewshed", "exact_line_of_sight", "exact_line_of_sight_many",
                 "exact_line_of_sight_kernel"):
        assert getattr(terrain_module, name) is getattr(viewshed_module, name)


def test_on_data_is_the_data_mask_of_the_cell_holding_each_point():
    """Each point is on data when the cell whose square holds it is; points outside the
    cell-centre hull never are; without a mask every point inside is."""
    rng = np.random.default_rng(7)
    mask = rng.random((6, 9)) < 0.7
    terrain = Terrain(np.zeros((6, 9), np.float32), Affine(30.0, 0.0, 1000.0, 0.0, -30.0, 2000.0),
                      data_mask=mask.astype(np.uint8))
    x = rng.uniform(990.0, 1000.0 + 9 * 30.0 + 10.0, 2000)
    y = rng.uniform(2000.0 - 6 * 30.0 - 10.0, 2010.0, 2000)
    col, row = np.floor((x - 1000.0) / 30.0).astype(int), np.floor((2000.0 - y) / 30.0).astype(int)
    in_hull = (x >= 1015.0) & (x <= 1000.0 + 8.5 * 30.0) & (y <= 1985.0) & (y >= 2000.0 - 5.5 * 30)
    want = in_hull & mask[np.clip(row, 0, 5), np.clip(col, 0, 8)]
    np.testing.assert_array_equal(terrain.on_data(x, y), want)
    np.testing.assert_array_equal(Terrain(terrain.elevation_m, terrain.transform).on_data(x, y),
                                  in_hull)
    with pytest.raises(InputError, match="data_mask"):
        Terrain(terrain.elevation_m, terrain.transform, data_mask=mask[:, :5])

"""Path-loss models and terrain diffraction against the standards and published test vectors.

Expected literals were computed independently from the formulas as printed in the standards
(Hata 1980, COST 231 final report, TR 38.901 Table 7.4.1-1, ITU-R P.525/P.526), not by calling
this module. Reference data sets live beside the repository in ``shared/data/real`` and are read
in place (tests skip when they are absent).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siting import propagation as prop
from siting.config import MODEL_BASE_HEIGHT_RANGE_M, Technology
from siting.coverage import model_loss_db
from siting.errors import InputError

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
REFERENCE = SHARED_DATA / "propagation_reference"
C = 299_792_458.0
EARTH_RADIUS_M = 6_371_000.0
TOL_DB = 0.01


def _property(max_examples: int):
    """Hypothesis settings: deterministic (seeded from the test) and no example database."""
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None)


def _reference(*parts: str) -> Path:
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data not present: {path}")
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------------------------------------
# free space (ITU-R P.525)


@pytest.mark.parametrize("distance_m, frequency_mhz, expected", [
    (1000.0, 900.0, 91.5249),
    (1.0, 2400.0, 40.0442),
    (5000.0, 3500.0, 117.3008),
    (35_786e3, 12000.0, 205.0979),
])
def test_free_space_matches_p525(distance_m, frequency_mhz, expected):
    assert prop.free_space_loss(distance_m, frequency_mhz) == pytest.approx(expected, abs=TOL_DB)
    exact = 20 * math.log10(4 * math.pi * distance_m * frequency_mhz * 1e6 / C)
    assert prop.free_space_loss(distance_m, frequency_mhz) == pytest.approx(exact, abs=TOL_DB)


def test_free_space_adds_6_02_db_per_doubling_and_broadcasts():
    d = np.geomspace(1.0, 1e6, 25)
    loss = prop.free_space_loss(d[:, None], np.array([700.0, 1800.0, 3500.0]))
    assert loss.shape == (25, 3)
    doubled = prop.free_space_loss(2 * d[:, None], np.array([700.0, 1800.0, 3500.0]))
    np.testing.assert_allclose(doubled - loss, 20 * math.log10(2), atol=1e-9)
    assert np.ndim(prop.free_space_loss(1000.0, 900.0)) == 0


# ---------------------------------------------------------------------------------------------
# Okumura-Hata and COST 231


@pytest.mark.parametrize("args, urban, suburban, rural, large_city", [
    ((1.0, 900.0, 30.0, 1.5), 126.4033, 116.4607, 97.8969, 126.4201),
    ((5.0, 900.0, 50.0, 1.5), 146.9428, 137.0002, 118.4364, 146.9596),
    ((1.0, 150.0, 30.0, 1.0), 106.9637, 100.5010, 83.2764, 106.8712),
    ((20.0, 1500.0, 200.0, 10.0), 135.8615, 124.4830, 104.9207, 150.9016),
    ((10.0, 450.0, 100.0, 2.0), 142.0200, 133.7108, 116.0644, 142.0726),
])
def test_okumura_hata_matches_hata_1980(args, urban, suburban, rural, large_city):
    assert prop.okumura_hata(*args) == pytest.approx(urban, abs=TOL_DB)
    assert prop.okumura_hata(*args, environment="suburban") == pytest.approx(suburban, abs=TOL_DB)
    assert prop.okumura_hata(*args, environment="rural") == pytest.approx(rural, abs=TOL_DB)
    assert prop.okumura_hata(*args, large_city=True) == pytest.approx(large_city, abs=TOL_DB)


def test_okumura_hata_large_city_below_200_mhz_uses_the_low_frequency_correction():
    assert prop.okumura_hata(7.0, 180.0, 40.0, 3.0, large_city=True) == pytest.approx(132.9222,
                                                                                   abs=TOL_DB)


@pytest.mark.parametrize("args, medium, metropolitan", [
    ((1.0, 1800.0, 30.0, 1.5), 136.1969, 139.1969),
    ((5.0, 1800.0, 50.0, 1.5), 156.7364, 159.7364),
    ((15.0, 2000.0, 100.0, 3.0), 163.5208, 166.5208),
])
def test_cost231_hata_matches_cost231_formula(args, medium, metropolitan):
    assert prop.cost231_hata(*args) == pytest.approx(medium, abs=TOL_DB)
    assert prop.cost231_hata(*args, metropolitan=True) == pytest.approx(metropolitan, abs=TOL_DB)


def test_hata_and_cost231_against_ns3_vectors():
    """ns-3 BuildingsPathlossTestSuite (30 m / 1 m, 2 km horizontal, 3-D distance used).

    The four Hata rows are checked against ns-3 (they agree with Hata 1980), except the open-area
    row flagged in SOURCE.md: ns-3's value corresponds to a 4.70 (not 4.78) coefficient on
    (log f)^2, so the standard recomputation is the reference. Both COST-231 rows use 2114 MHz,
    outside COST 231's 1500-2000 MHz validity range, which this module refuses (the flagged
    metropolitan ns-3 value is 5 dB off any COST-231 formula anyway); the COST-231 formula itself
    is checked by the literal values above.
    """
    rows = _rows(_reference("hata_cost231_ns3_testvectors", "hata_cost231_testvectors_ns3.csv"))
    assert len(rows) == 6
    for row in rows:
        d_km = math.hypot(float(row["d_horizontal_m"]), float(row["hb_m"]) - float(row["hm_m"]))
        args = (d_km / 1000.0, float(row["f_mhz"]), float(row["hb_m"]), float(row["hm_m"]))
        if row["model"] != "Okumura-Hata":
            with pytest.raises(InputError, match="1500-2000 MHz"):
                prop.cost231_hata(*args, metropolitan=row["city_size"].startswith("large city"))
            continue
        environment = {"urban": "urban", "suburban": "suburban", "open area": "rural"}
        ours = prop.okumura_hata(*args, environment=environment[row["environment"]],
                                 large_city=row["city_size"] == "large city")
        assert ours == pytest.approx(float(row["standard_formula_loss_db"]), abs=TOL_DB), row
        if row["agrees_within_0.1dB"] == "True":
            assert ours == pytest.approx(float(row["expected_loss_db_ns3"]), abs=TOL_DB), row
        else:
            assert row["environment"] == "open area"
            assert ours - float(row["expected_loss_db_ns3"]) == pytest.approx(-0.688, abs=TOL_DB)


# ---------------------------------------------------------------------------------------------
# 3GPP TR 38.901


def test_rma_and_uma_against_ns3_vectors():
    rows = _rows(_reference("3gpp_tr38901_ns3_testvectors", "tr38901_pathloss_testvectors_ns3.csv"))
    assert len(rows) == 16
    for row in rows:
        model = {"RMa": prop.rma_38901, "UMa": prop.uma_38901}[row["scenario"]]
        ours = model(float(row["d2d_m"]), float(row["f_hz"]) / 1e9, float(row["h_bs_m"]),
                     float(row["h_ut_m"]), los=row["condition"] == "LOS")
        # TR 38.901 fixes c = 3e8 m/s in the breakpoint, as ns-3 does: match ns-3 exactly
        assert ours == pytest.approx(float(row["pathloss_db_expected"]), abs=TOL_DB), row


@pytest.mark.parametrize("args, kwargs, expected", [
    ((500.0, 0.7, 35.0, 1.5), {"los": True}, 84.6325),  # PL1
    ((3000.0, 0.7, 35.0, 1.5), {"los": True}, 112.4578),  # PL2, d_BP = 770 m
    ((3000.0, 3.5, 25.0, 2.0), {"los": False}, 151.6694),
    ((200.0, 3.5, 25.0, 2.0), {"los": False, "building_height_m": 10.0, "street_width_m": 30.0},
     107.4394),
])
def test_rma_matches_tr38901_table(args, kwargs, expected):
    assert prop.rma_38901(*args, **kwargs) == pytest.approx(expected, abs=TOL_DB)


@pytest.mark.parametrize("args, los, expected", [
    ((300.0, 3.5, 25.0, 1.5), True, 93.4073),  # PL1, d'_BP = 560 m
    ((2000.0, 3.5, 25.0, 1.5), True, 121.4495),  # PL2
    ((800.0, 0.7, 25.0, 5.0), False, 121.8000),
    ((50.0, 28.0, 25.0, 1.5), False, 110.5726),
])
def test_uma_matches_tr38901_table(args, los, expected):
    assert prop.uma_38901(*args, los=los) == pytest.approx(expected, abs=TOL_DB)


@pytest.mark.parametrize("model", [prop.rma_38901, prop.uma_38901])
def test_3gpp_los_flag_broadcasts_and_nlos_is_never_below_los(model):
    d = np.array([50.0, 500.0, 3000.0])
    los = np.array([[True], [False]])
    loss = model(d, 3.5, 25.0, 1.5, los=los)
    assert loss.shape == (2, 3)
    np.testing.assert_array_equal(loss[0], model(d, 3.5, 25.0, 1.5, los=True))
    np.testing.assert_array_equal(loss[1], model(d, 3.5, 25.0, 1.5, los=False))
    assert np.all(loss[1] >= loss[0])


# ---------------------------------------------------------------------------------------------
# monotonic in distance, every model

_DISTANCES = st.lists(st.floats(1e-3, 1.0), min_size=2, max_size=30)


def _grid(fractions, low, high):
    return np.sort(low * (high / low) ** np.asarray(fractions))


@_property(40)
@given(_DISTANCES, st.floats(150.0, 1500.0), st.floats(30.0, 200.0), st.floats(1.0, 10.0),
       st.sampled_from(["urban", "suburban", "rural"]))
def test_hata_non_decreasing_in_distance(fractions, f, hb, hm, environment):
    loss = prop.okumura_hata(_grid(fractions, 0.1, 50.0), f, hb, hm, environment=environment)
    assert np.all(np.diff(loss) >= -1e-9)


@_property(40)
@given(_DISTANCES, st.floats(1500.0, 2000.0), st.floats(30.0, 200.0), st.floats(1.0, 10.0),
       st.booleans())
def test_cost231_non_decreasing_in_distance(fractions, f, hb, hm, metropolitan):
    loss = prop.cost231_hata(_grid(fractions, 0.1, 50.0), f, hb, hm, metropolitan=metropolitan)
    assert np.all(np.diff(loss) >= -1e-9)


@_property(60)
@given(_DISTANCES, st.floats(0.5, 30.0), st.floats(10.0, 150.0), st.floats(1.0, 10.0),
       st.booleans(), st.floats(5.0, 50.0), st.floats(5.0, 50.0))
def test_rma_non_decreasing_in_distance(fractions, fc, hbs, hut, los, h, w):
    loss = prop.rma_38901(_grid(fractions, 1.0, 20_000.0), fc, hbs, hut, los=los,
                          building_height_m=h, street_width_m=w)
    assert np.all(np.diff(loss) >= -1e-9)


@_property(60)
@given(_DISTANCES, st.floats(0.5, 100.0), st.floats(10.0, 150.0), st.floats(1.5, 22.5),
       st.booleans())
def test_uma_non_decreasing_in_distance(fractions, fc, hbs, hut, los):
    loss = prop.uma_38901(_grid(fractions, 1.0, 20_000.0), fc, hbs, hut, los=los)
    assert np.all(np.diff(loss) >= -1e-9)


def test_dense_grids_non_decreasing_across_breakpoints():
    d = np.linspace(1.0, 12_000.0, 200_001)
    for los in (True, False):
        assert np.all(np.diff(prop.rma_38901(d, 3.5, 35.0, 1.5, los=los)) >= 0)
        assert np.all(np.diff(prop.uma_38901(d, 3.5, 25.0, 1.5, los=los)) >= 0)
    assert np.all(np.diff(prop.free_space_loss(d, 3500.0)) > 0)


# ---------------------------------------------------------------------------------------------
# out of range


@pytest.mark.parametrize("call, fragment", [
    (lambda: prop.free_space_loss(0.0, 900.0), "distance_m"),
    (lambda: prop.free_space_loss(100.0, -1.0), "frequency_mhz"),
    (lambda: prop.free_space_loss(np.nan, 900.0), "finite"),
    (lambda: prop.okumura_hata(1.0, 1600.0, 30.0, 1.5), "150-1500 MHz"),
    (lambda: prop.okumura_hata(1.0, 100.0, 30.0, 1.5), "frequency_mhz"),
    (lambda: prop.okumura_hata(1.0, 900.0, 20.0, 1.5), "h_base_m"),
    (lambda: prop.okumura_hata(1.0, 900.0, 30.0, 12.0), "h_mobile_m"),
    (lambda: prop.okumura_hata(0.0, 900.0, 30.0, 1.5), "distance_km"),
    (lambda: prop.okumura_hata(1.0, 900.0, 30.0, 1.5, environment="forest"), "'rural'"),
    (lambda: prop.okumura_hata(1.0, 300.0, 30.0, 1.5, large_city=True), "200"),
    (lambda: prop.okumura_hata(1.0, 900.0, 30.0, 1.5, environment="rural", large_city=True),
     "urban"),
    (lambda: prop.cost231_hata(1.0, 900.0, 30.0, 1.5), "1500-2000 MHz"),
    (lambda: prop.cost231_hata(1.0, 1800.0, 250.0, 1.5), "h_base_m"),
    (lambda: prop.rma_38901(100.0, 40.0, 35.0, 1.5), "frequency_ghz"),
    (lambda: prop.rma_38901(100.0, 3.5, 5.0, 1.5), "h_bs_m"),
    (lambda: prop.rma_38901(100.0, 3.5, 35.0, 11.0), "h_ut_m"),
    (lambda: prop.rma_38901(100.0, 3.5, 35.0, 1.5, street_width_m=60.0), "street_width_m"),
    (lambda: prop.rma_38901(100.0, 3.5, 35.0, 1.5, building_height_m=1.0), "building_height_m"),
    (lambda: prop.rma_38901(-5.0, 3.5, 35.0, 1.5), "distance_2d_m"),
    (lambda: prop.rma_38901(100.0, 3.5, 35.0, 1.5, los=1.0), "los"),
    (lambda: prop.uma_38901(100.0, 0.3, 25.0, 1.5), "frequency_ghz"),
    (lambda: prop.uma_38901(100.0, 3.5, 25.0, 1.0), "h_ut_m"),
    (lambda: prop.knife_edge_loss(np.inf), "finite"),
    (lambda: prop.fresnel_v(1.0, 0.0, 10.0, 0.3), "d1_m"),
    (lambda: prop.fresnel_v(1.0, 10.0, 10.0, -0.3), "wavelength_m"),
])
def test_out_of_range_raises_input_error(call, fragment):
    with pytest.raises(InputError) as info:
        call()
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_distance_outside_validity_is_extrapolated_not_rejected():
    assert np.isfinite(prop.okumura_hata(0.5, 900.0, 30.0, 1.5))
    assert np.isfinite(prop.okumura_hata(40.0, 900.0, 30.0, 1.5))
    assert np.isfinite(prop.rma_38901(5.0, 3.5, 35.0, 1.5))
    assert np.isfinite(prop.uma_38901(8000.0, 3.5, 25.0, 1.5, los=False))


# ---------------------------------------------------------------------------------------------
# knife edge (ITU-R P.526)


def test_knife_edge_at_grazing_is_about_6_db():
    # P.526: at grazing incidence (v = 0) the exact loss, eq. (26), is 20 log10(2) = 6.02 dB;
    # the eq. (31) approximation gives 6.03 dB (0.033 dB above a round 6.0)
    assert prop.knife_edge_loss(0.0) == pytest.approx(20 * math.log10(2), abs=0.03)
    assert prop.knife_edge_loss(0.0) == pytest.approx(6.9 + 20 * math.log10(math.sqrt(1.01) - 0.1),
                                                      abs=1e-12)
    assert prop.knife_edge_loss(0.0) == pytest.approx(6.0329, abs=1e-4)


@pytest.mark.parametrize("v, expected", [
    (-3.0, 0.0), (-1.0, 0.0), (-0.78, 0.0), (-0.7, 0.5361), (-0.5, 1.9592), (0.5, 10.2878),
    (1.0, 13.9257), (2.4, 20.5393), (5.0, 26.8136), (10.0, 32.8554),
])
def test_knife_edge_matches_p526_eq31(v, expected):
    assert prop.knife_edge_loss(v) == pytest.approx(expected, abs=1e-4)


def test_knife_edge_against_computed_table():
    rows = _rows(_reference("itu_p526_knife_edge_computed", "knife_edge_J_of_v.csv"))
    v = np.array([float(r["v"]) for r in rows])
    exact = np.array([float(r["J_exact_db"]) for r in rows])
    approx = np.array([float(r["J_p526_approx_db"]) for r in rows])
    ours = prop.knife_edge_loss(v)
    np.testing.assert_allclose(ours, approx, atol=1e-4)
    diffracting = v > -0.78
    # eq. (31) stays within 0.13 dB of the exact J(v) wherever it is used
    assert np.max(np.abs(ours - exact)[diffracting]) < 0.13
    # below -0.78 the exact loss oscillates around 0 dB (within 1.4 dB); eq. (31) gives 0
    assert np.all(ours[~diffracting] == 0.0)
    assert np.max(np.abs(exact[~diffracting])) < 1.4
    assert exact[np.isclose(v, 0.0)] == pytest.approx(20 * math.log10(2), abs=1e-3)


def test_knife_edge_kernel_equals_public_and_is_non_decreasing():
    v = np.linspace(-5.0, 20.0, 5001)
    public = prop.knife_edge_loss(v)
    kernel = np.array([prop.knife_edge_loss_kernel(x) for x in v])
    np.testing.assert_array_equal(public, kernel)
    assert np.all(np.diff(public) >= 0.0)
    assert np.all(public >= 0.0)
    assert public.shape == v.shape and np.ndim(prop.knife_edge_loss(1.0)) == 0


def test_fresnel_v_matches_p526():
    assert prop.fresnel_v(10.0, 1000.0, 2000.0, 0.3) == pytest.approx(1.0, abs=1e-12)
    assert prop.fresnel_v(-10.0, 1000.0, 2000.0, 0.3) == pytest.approx(-1.0, abs=1e-12)
    v = prop.fresnel_v(np.array([0.0, 5.0]), 500.0, 500.0, 0.125)
    np.testing.assert_allclose(v, [0.0, 5.0 * math.sqrt(2 / 0.125 * (2 / 500.0))])


# ---------------------------------------------------------------------------------------------
# terrain profiles: Deygout, Bullington, line of sight

FREQ_MHZ = 900.0
LAMBDA_M = C / (FREQ_MHZ * 1e6)


def _single_edge_profile(n=101, length_m=10_000.0, edge_at=40, ground=100.0, peak=180.0):
    d = np.linspace(0.0, length_m, n)
    z = np.full(n, ground)
    z[edge_at] = peak
    return d, z


def test_deygout_single_knife_edge_equals_analytic_j_of_v():
    d = np.array([0.0, 4000.0, 10_000.0])
    z = np.array([100.0, 180.0, 120.0])
    # antennas at 130 m and 130 m a.s.l.: the edge is 50 m above the ray
    v = prop.fresnel_v(50.0, 4000.0, 6000.0, LAMBDA_M)
    expected = prop.knife_edge_loss(v)
    assert expected == pytest.approx(20.8823, abs=1e-3)  # independent: v = 2.50087
    assert prop.deygout_loss(d, z, 30.0, 10.0, FREQ_MHZ, earth_radius_factor=None) == \
        pytest.approx(expected, abs=1e-9)
    # the same edge on a densely sampled flat profile: the ground never adds a secondary loss
    d, z = _single_edge_profile()
    for edges in (1, 2, 3):
        assert prop.deygout_loss(d, z, 30.0, 30.0, FREQ_MHZ, earth_radius_factor=None,
                                 max_edges=edges) == pytest.approx(expected, abs=1e-9)


def test_deygout_single_edge_with_earth_bulge():
    d, z = _single_edge_profile()
    k = 4.0 / 3.0
    bulge = 4000.0 * 6000.0 / (2 * k * EARTH_RADIUS_M)  # 1.4127 m
    expected = prop.knife_edge_loss(prop.fresnel_v(50.0 + bulge, 4000.0, 6000.0, LAMBDA_M))
    assert prop.deygout_loss(d, z, 30.0, 30.0, FREQ_MHZ, earth_radius_factor=k) == \
        pytest.approx(expected, abs=1e-9)


def test_bullington_single_knife_edge_is_j_plus_p526_correction():
    d, z = _single_edge_profile()
    j = prop.knife_edge_loss(prop.fresnel_v(50.0, 4000.0, 6000.0, LAMBDA_M))
    expected = j + (1 - math.exp(-j / 6)) * (10 + 0.02 * 10.0)
    assert prop.bullington_loss(d, z, 30.0, 30.0, FREQ_MHZ, earth_radius_factor=None) == \
        pytest.approx(expected, abs=1e-9)


def test_clear_flat_profile_has_no_loss():
    d = np.linspace(0.0, 5000.0, 51)
    z = np.full(51, 250.0)  # 30 m antennas: mid-path clearance 30 m vs Fresnel radius 20.4 m
    for fn in (prop.deygout_loss, prop.bullington_loss):
        assert fn(d, z, 30.0, 30.0, FREQ_MHZ, earth_radius_factor=None) == 0.0
        assert fn(d, z, 30.0, 30.0, FREQ_MHZ) == 0.0  # 5 km: bulge < 0.4 m
    assert prop.line_of_sight_clear_kernel(d, z, 51, 30.0, 30.0, 4.0 / 3.0)
    assert prop.deygout_loss(d[:2], z[:2], 30.0, 1.5, FREQ_MHZ) == 0.0  # no intermediate sample


def test_ground_inside_the_fresnel_zone_of_a_low_antenna_gives_sub_path_loss():
    # geometric line of sight, but the ground next to a 1.5 m antenna is within 0.55 of the first
    # Fresnel zone (v > -0.78): P.526 eq. (31) and Deygout's construction give a loss
    d = np.linspace(0.0, 5000.0, 51)
    z = np.full(51, 250.0)
    assert prop.line_of_sight_clear_kernel(d, z, 51, 30.0, 1.5, 0.0)
    assert prop.deygout_loss(d, z, 30.0, 1.5, FREQ_MHZ, earth_radius_factor=None) > 0.0


def test_earth_curvature_increases_loss_on_a_long_flat_path():
    d = np.linspace(0.0, 100_000.0, 1001)
    z = np.zeros(1001)  # 60 m antennas: flat-earth clearance 60 m, Fresnel radius 91 m (v = -0.93)
    flat = prop.deygout_loss(d, z, 60.0, 60.0, FREQ_MHZ, earth_radius_factor=None)
    assert flat == 0.0
    assert prop.deygout_loss(d, z, 60.0, 60.0, FREQ_MHZ, earth_radius_factor=0.0) == 0.0
    # mid-path bulge 147 m (k = 4/3) and 196 m (k = 1)
    standard = prop.deygout_loss(d, z, 60.0, 60.0, FREQ_MHZ, earth_radius_factor=4.0 / 3.0)
    sub_refractive = prop.deygout_loss(d, z, 60.0, 60.0, FREQ_MHZ, earth_radius_factor=1.0)
    assert 0.0 < standard < sub_refractive
    assert 0.0 < prop.bullington_loss(d, z, 60.0, 60.0, FREQ_MHZ) < \
        prop.bullington_loss(d, z, 60.0, 60.0, FREQ_MHZ, earth_radius_factor=1.0)
    assert prop.line_of_sight_clear_kernel(d, z, 1001, 60.0, 60.0, 0.0)
    assert not prop.line_of_sight_clear_kernel(d, z, 1001, 60.0, 60.0, 4.0 / 3.0)


def test_line_of_sight_kernel():
    d, z = _single_edge_profile()
    assert not prop.line_of_sight_clear_kernel(d, z, d.size, 30.0, 30.0, 0.0)
    z_touch = z.copy()
    z_touch[40] = 130.0  # exactly on the ray: does not block
    assert prop.line_of_sight_clear_kernel(d, z_touch, d.size, 30.0, 30.0, 0.0)
    # only the first n samples count: a profile cut before the edge is clear
    assert prop.line_of_sight_clear_kernel(d, z, 30, 30.0, 30.0, 0.0)


def _random_profiles(count, seed=20261129):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = int(rng.integers(3, 200))
        d = np.cumsum(rng.uniform(5.0, 200.0, n)) - 5.0
        d[0] = 0.0
        z = 300.0 + np.cumsum(rng.normal(0.0, 8.0, n))
        yield d, z, float(rng.uniform(1.0, 60.0)), float(rng.uniform(1.0, 60.0))


def test_deygout_and_bullington_are_symmetric_when_swapping_tx_and_rx():
    for d, z, h_a, h_b in _random_profiles(200):
        d_rev = d[-1] - d[::-1]
        for k in (None, 4.0 / 3.0):
            for edges in (1, 2, 3):
                fwd = prop.deygout_loss(d, z, h_a, h_b, FREQ_MHZ, earth_radius_factor=k,
                                        max_edges=edges)
                rev = prop.deygout_loss(d_rev, z[::-1], h_b, h_a, FREQ_MHZ,
                                        earth_radius_factor=k, max_edges=edges)
                assert fwd == pytest.approx(rev, abs=1e-7)
            assert prop.bullington_loss(d, z, h_a, h_b, FREQ_MHZ, earth_radius_factor=k) == \
                pytest.approx(prop.bullington_loss(d_rev, z[::-1], h_b, h_a, FREQ_MHZ,
                                                   earth_radius_factor=k), abs=1e-7)


def test_more_edges_never_reduce_loss():
    for d, z, h_a, h_b in _random_profiles(200, seed=7):
        one, two, three = (prop.deygout_loss(d, z, h_a, h_b, FREQ_MHZ, max_edges=e)
                           for e in (1, 2, 3))
        assert 0.0 <= one <= two <= three


@_property(150)
@given(st.lists(st.floats(-50.0, 150.0), min_size=3, max_size=40), st.integers(0, 10_000),
       st.floats(0.0, 200.0), st.floats(1.0, 50.0), st.floats(1.0, 50.0))
def test_adding_an_obstacle_never_reduces_principal_edge_or_bullington_loss(terrain, where,
                                                                           extra, h_tx, h_rx):
    z = np.asarray(terrain)
    d = np.linspace(0.0, 100.0 * (z.size - 1), z.size)
    raised = z.copy()
    raised[1 + where % (z.size - 2)] += extra
    for fn, kwargs in ((prop.deygout_loss, {"max_edges": 1}), (prop.bullington_loss, {})):
        before = fn(d, z, h_tx, h_rx, FREQ_MHZ, **kwargs)
        after = fn(d, raised, h_tx, h_rx, FREQ_MHZ, **kwargs)
        assert after >= before - 1e-9


@_property(100)
@given(st.integers(1, 99), st.floats(0.0, 300.0), st.floats(0.0, 300.0))
def test_adding_an_obstacle_to_a_single_edge_profile_never_reduces_deygout_loss(where, extra,
                                                                               peak):
    d, z = _single_edge_profile(peak=100.0 + peak)
    before = prop.deygout_loss(d, z, 30.0, 30.0, FREQ_MHZ)
    z[where] += extra
    assert prop.deygout_loss(d, z, 30.0, 30.0, FREQ_MHZ) >= before - 1e-9


def test_deygout_three_edge_sum_is_not_monotonic_in_terrain():
    """Documented property of Deygout's construction (see deygout_loss Notes): raising the principal
    edge from 30 m to 80 m clears the two near-grazing secondary edges (v = 0.14 -> -1.27)."""
    d = np.array([0.0, 2000.0, 5000.0, 8000.0, 10_000.0])
    before = np.array([0.0, 20.0, 30.0, 20.0, 0.0])
    after = np.array([0.0, 20.0, 80.0, 20.0, 0.0])
    kwargs = {"earth_radius_factor": None}
    assert prop.deygout_loss(d, after, 10.0, 10.0, FREQ_MHZ, max_edges=1, **kwargs) > \
        prop.deygout_loss(d, before, 10.0, 10.0, FREQ_MHZ, max_edges=1, **kwargs)
    assert prop.deygout_loss(d, after, 10.0, 10.0, FREQ_MHZ, **kwargs) < \
        prop.deygout_loss(d, before, 10.0, 10.0, FREQ_MHZ, **kwargs) - 3.0
    assert prop.bullington_loss(d, after, 10.0, 10.0, FREQ_MHZ, **kwargs) > \
        prop.bullington_loss(d, before, 10.0, 10.0, FREQ_MHZ, **kwargs)


def test_kernels_equal_public_wrappers_with_oversized_buffers():
    for d, z, h_a, h_b in _random_profiles(50, seed=11):
        n = d.size
        d_buf = np.concatenate([d, d[-1] + 1.0 + np.arange(17.0)])
        z_buf = np.concatenate([z, np.full(17, 1e4)])  # garbage past n must be ignored
        for k in (None, 4.0 / 3.0):
            k_kernel = 0.0 if k is None else k
            for edges in (1, 2, 3):
                assert prop.deygout_loss_kernel(d_buf, z_buf, n, h_a, h_b, LAMBDA_M, k_kernel,
                                                edges) == \
                    prop.deygout_loss(d, z, h_a, h_b, FREQ_MHZ, earth_radius_factor=k,
                                      max_edges=edges)
            assert prop.bullington_loss_kernel(d_buf, z_buf, n, h_a, h_b, LAMBDA_M, k_kernel) == \
                prop.bullington_loss(d, z, h_a, h_b, FREQ_MHZ, earth_radius_factor=k)
    d, z = _single_edge_profile()
    assert prop.deygout_loss_kernel(d, z, d.size, 30.0, 30.0, LAMBDA_M, 0.0, 0) == 0.0


@pytest.mark.parametrize("kwargs, fragment", [
    ({"distance_m": [0.0, 10.0], "terrain_m": [1.0, 2.0, 3.0]}, "same length"),
    ({"distance_m": [0.0, 10.0, 5.0], "terrain_m": [1.0, 2.0, 3.0]}, "ascending"),
    ({"distance_m": [0.0, 10.0, 10.0], "terrain_m": [1.0, 2.0, 3.0]}, "ascending"),
    ({"distance_m": [0.0], "terrain_m": [1.0]}, "at least 2"),
    ({"distance_m": [[0.0, 1.0]], "terrain_m": [[1.0, 2.0]]}, "1-D"),
    ({"terrain_m": [1.0, np.nan, 3.0]}, "finite"),
    ({"h_tx_m": -1.0}, "h_tx_m"),
    ({"h_rx_m": [1.0, 2.0]}, "h_rx_m"),
    ({"frequency_mhz": 0.0}, "frequency_mhz"),
    ({"earth_radius_factor": -1.0}, "earth_radius_factor"),
    ({"max_edges": 4}, "max_edges"),
    ({"max_edges": 0}, "max_edges"),
])
def test_profile_validation(kwargs, fragment):
    args = {"distance_m": [0.0, 10.0, 20.0], "terrain_m": [1.0, 2.0, 3.0], "h_tx_m": 10.0,
            "h_rx_m": 2.0, "frequency_mhz": 900.0, **kwargs}
    with pytest.raises(InputError) as info:
        prop.deygout_loss(**args)
    assert fragment in str(info.value)


# ---------------------------------------------------------------------------------------------
# ITU-R P.1812 validation profiles (real terrain, Py1812 intermediate values)

P1812 = ("itu_p1812_validation_eeveetza",)
#: P.1812 computes the Bullington loss twice (median a_e, then a_beta for beta0 % of the time) and
#: the log keeps the last one: effective earth radius a_beta = 6371 km x k_beta, k_beta = 3
#: (P.1812-8 eq. 7b), heights g = h + R on the path (eq. 13).
K_BETA = 3.0


def _p1812_profile(name: str):
    lines = [line.rstrip(",") for line in
             _reference(*P1812, "validation_profiles", f"{name}.csv").read_text().splitlines()]
    start = lines.index("{Begin of Profile}") + 2
    rows = [line.split(",") for line in lines[start:lines.index("{End of Profile}")]]
    d_km, h, r = (np.array([float(row[i] or 0.0) for row in rows]) for i in (0, 1, 3))
    g = h + r
    g[[0, -1]] = h[[0, -1]]  # terminals stand on the ground; clutter only on the path
    return d_km * 1000.0, h, g


def _p1812_log(path: Path) -> dict[str, float]:
    values = {}
    for line in path.read_text().splitlines():
        parts = line.split(",")
        if len(parts) >= 4 and parts[3] != "":
            try:
                values.setdefault(parts[0].strip(), float(parts[3]))
            except ValueError:
                continue
    return values


def _p1812_cases():
    folder = _reference(*P1812, "validation_results")
    cases = sorted(folder.glob("*_log.csv"))
    assert cases, f"no *_log.csv in {folder}"
    return cases


def test_bullington_matches_p1812_reference_intermediate_values():
    cases = _p1812_cases()
    for path in cases:
        log = _p1812_log(path)
        d_m, _, g = _p1812_profile(path.name.rsplit("_", 2)[0])
        ours = prop.bullington_loss(d_m, g, log["htg (m)"], log["hrg (m)"],
                                    log["f (GHz)"] * 1000.0, earth_radius_factor=K_BETA)
        assert ours == pytest.approx(log["Lbulla (dB)"], abs=TOL_DB), path.name
    assert len(cases) >= 60


def test_deygout_properties_on_real_profiles():
    for name in ("rburg_rural_noclutter", "rburg_rural_noclutter_los_subpath_diffraction",
                 "b2iseac_rural_land_10km", "b2iseac_rural_land_100km_eqdist"):
        d_m, h, _ = _p1812_profile(name)
        for f_mhz in (700.0, 3500.0):
            lam = C / (f_mhz * 1e6)
            k43 = prop.deygout_loss(d_m, h, 20.0, 1.5, f_mhz)
            assert np.isfinite(k43) and k43 >= 0.0
            swapped = prop.deygout_loss(d_m[-1] - d_m[::-1], h[::-1], 1.5, 20.0, f_mhz)
            assert k43 == pytest.approx(swapped, abs=1e-7)
            assert prop.deygout_loss_kernel(d_m, h, d_m.size, 20.0, 1.5, lam, 4.0 / 3.0, 3) == k43
            principal = prop.deygout_loss(d_m, h, 20.0, 1.5, f_mhz, max_edges=1)
            assert prop.deygout_loss(d_m, h, 20.0, 1.5, f_mhz, earth_radius_factor=1.0,
                                     max_edges=1) >= principal
            assert principal <= k43


@pytest.mark.parametrize("model", sorted(name for name in MODEL_BASE_HEIGHT_RANGE_M
                                         if not prop.PATH_LOSS_MODELS[name].terrain_profile))
def test_the_scenario_height_ranges_are_the_ones_the_models_enforce(model):
    """io checks candidates against MODEL_BASE_HEIGHT_RANGE_M before coverage runs; each
    model must accept the range's ends and reject heights just outside it (the profile model
    p1812: tests/test_p1812_coverage.py)."""
    low, high = MODEL_BASE_HEIGHT_RANGE_M[model]
    freq = {"okumura_hata": 900.0, "cost231_hata": 1800.0}.get(model, 3500.0)
    tech = Technology(name="t", generation="4G", frequency_mhz=freq, eirp_dbm=60.0,
                      resource_blocks=100, rsrp_threshold_dbm=-110.0, model=model,
                      max_range_m=10000.0)
    distance = np.array([2000.0])
    for ok in (low, min(high, 1000.0)):
        assert np.isfinite(model_loss_db(tech, distance, np.array([max(ok, 0.1)]), 1.5)).all()
    if low > 0:
        with pytest.raises(InputError):
            model_loss_db(tech, distance, np.array([low - 0.5]), 1.5)
    if np.isfinite(high):
        with pytest.raises(InputError):
            model_loss_db(tech, distance, np.array([high + 0.5]), 1.5)


# --- the registry of path-loss models and the one clearance computation ------------------------

def test_the_registry_is_what_the_scenario_checks_read():
    from siting import config
    assert config.PATH_LOSS_MODELS == tuple(prop.PATH_LOSS_MODELS)
    for name, model in prop.PATH_LOSS_MODELS.items():
        assert model.name == name
        assert config.MODEL_FREQUENCY_RANGE_MHZ[name] == model.frequency_range_mhz
        assert config.MODEL_BASE_HEIGHT_RANGE_M[name] == model.base_height_range_m


@pytest.mark.parametrize("name", ["okumura_hata", "cost231_hata", "rma_38901", "uma_38901"])
def test_each_registered_model_enforces_its_frequency_and_mobile_height_ranges(name):
    model = prop.PATH_LOSS_MODELS[name]
    f_low, f_high = model.frequency_range_mhz
    m_low, m_high = model.mobile_height_range_m
    h_base = max(model.base_height_range_m[0], 30.0)
    for f_mhz, h_mobile in ((f_low, m_low), (f_high, m_high)):
        assert np.isfinite(model.loss_db(2000.0, f_mhz, h_base, h_mobile, "urban"))
    for f_mhz, h_mobile in ((f_low * 0.99, m_low), (f_high * 1.01, m_low), (f_low, m_low - 0.1),
                            (f_low, m_high + 0.1)):
        with pytest.raises(InputError):
            model.loss_db(2000.0, f_mhz, h_base, h_mobile, "urban")


def test_the_registry_calls_each_published_model_in_its_own_units():
    d_m, h_b, h_m = np.array([1500.0, 8000.0]), 35.0, 1.5
    models = prop.PATH_LOSS_MODELS
    np.testing.assert_array_equal(models["okumura_hata"].loss_db(d_m, 900.0, h_b, h_m, "suburban"),
                                  prop.okumura_hata(d_m / 1000, 900.0, h_b, h_m, "suburban"))
    np.testing.assert_array_equal(models["cost231_hata"].loss_db(d_m, 1800.0, h_b, h_m, "urban"),
                                  prop.cost231_hata(d_m / 1000, 1800.0, h_b, h_m))
    np.testing.assert_array_equal(models["rma_38901"].loss_db(d_m, 3500.0, h_b, h_m, "rural"),
                                  prop.rma_38901(d_m, 3.5, h_b, h_m, los=True))
    np.testing.assert_array_equal(models["uma_38901"].loss_db(d_m, 700.0, h_b, h_m, "rural"),
                                  prop.uma_38901(d_m, 0.7, h_b, h_m, los=True))
    np.testing.assert_array_equal(models["free_space"].loss_db(d_m, 2600.0, h_b, h_m, "rural"),
                                  prop.free_space_loss(d_m, 2600.0))


def test_line_of_sight_is_no_sample_above_the_ray_on_random_profiles():
    # the kernel reads the sign of the strongest edge's v; the definition is a direct scan
    for d, z, h_a, h_b in _random_profiles(300, seed=5):
        for k in (0.0, 4.0 / 3.0):
            length = d[-1] - d[0]
            curvature = 0.0 if k == 0 else 1 / (2 * k * EARTH_RADIUS_M)
            bulge = (d - d[0]) * (length - (d - d[0])) * curvature
            ray = z[0] + h_a + (z[-1] + h_b - z[0] - h_a) * (d - d[0]) / length
            expected = not np.any((z + bulge > ray)[1:-1])
            assert prop.line_of_sight_clear_kernel(d, z, d.size, h_a, h_b, k) == expected


# --- the profile models broadcast their scalar arguments (docs/DESIGN.md, public API) -------

def _ridge_profile(n: int = 60, length_km: float = 8.0):
    """A 300 m plain with a 420 m ridge at its middle: distances [km] and heights [m]."""
    d_km = np.linspace(0.0, length_km, n)
    h_m = 300.0 + 120.0 * np.exp(-((d_km - length_km / 2) / 0.4) ** 2)
    return d_km, h_m


def test_p1812_loss_broadcasts_heights_and_frequency_as_elementwise_calls():
    d_km, h_m = _ridge_profile()
    r_m, zone = np.zeros(d_km.size), np.full(d_km.size, 4)
    htg_m = np.array([[10.0], [30.0], [60.0]])  # (3, 1) against the frequencies' (2,)
    f_ghz = np.array([0.7, 1.8])
    common = dict(pol=2, phi_t_deg=32.7, phi_r_deg=32.7, lam_t_deg=109.0, lam_r_deg=109.08)
    lb_db, ep_dbuv_m = prop.p1812_loss(f_ghz, 50.0, d_km, h_m, r_m, zone, htg_m, 1.5,
                                       delta_n=45.0, n0=325.0, **common)
    assert lb_db.shape == ep_dbuv_m.shape == (3, 2)
    for i, j in np.ndindex(3, 2):
        one = prop.p1812_loss(float(f_ghz[j]), 50.0, d_km, h_m, r_m, zone, float(htg_m[i, 0]),
                              1.5, delta_n=45.0, n0=325.0, **common)
        assert (lb_db[i, j], ep_dbuv_m[i, j]) == one
    assert lb_db[2, 0] < lb_db[0, 0]  # a taller mast over the ridge loses less


def test_itm_p2p_loss_broadcasts_heights_and_percentages_as_elementwise_calls():
    d_km, h_m = _ridge_profile()
    pfl = [d_km.size - 1, 1000.0 * (d_km[1] - d_km[0]), *h_m]
    h_tx_m = np.array([10.0, 30.0, 60.0])
    time_pct = np.array([[10.0], [50.0], [90.0]])
    loss_db = prop.itm_p2p_loss(h_tx_m, 1.5, pfl, 5, 301.0, 1800.0, 1, 15.0, 0.005, 12,
                                time_pct, 50.0, 50.0)
    assert loss_db.shape == (3, 3)
    for i, j in np.ndindex(3, 3):
        assert loss_db[i, j] == prop.itm_p2p_loss(float(h_tx_m[j]), 1.5, pfl, 5, 301.0, 1800.0,
                                                  1, 15.0, 0.005, 12, float(time_pct[i, 0]),
                                                  50.0, 50.0)
    assert isinstance(prop.itm_p2p_loss(30.0, 1.5, pfl, 5, 301.0, 1800.0, 1, 15.0, 0.005, 12,
                                        50.0, 50.0, 50.0), float)  # scalars in, a float out


def test_profile_models_name_shapes_that_do_not_broadcast_and_the_element_refused():
    d_km, h_m = _ridge_profile()
    pfl = [d_km.size - 1, 1000.0 * (d_km[1] - d_km[0]), *h_m]
    with pytest.raises(InputError, match=r"itm_p2p_loss\(\): the arguments h_tx_m \(3,\), "
                                         r"h_rx_m \(2,\) do not broadcast together"):
        prop.itm_p2p_loss(np.array([10.0, 30.0, 60.0]), np.array([1.5, 2.0]), pfl, 5, 301.0,
                          1800.0, 1, 15.0, 0.005, 12, 50.0, 50.0, 50.0)
    with pytest.raises(InputError, match=r"p1812_loss\(\): element \[1\] \(htg_m=0\.2\): "):
        prop.p1812_loss(1.8, 50.0, d_km, h_m, np.zeros(d_km.size), np.full(d_km.size, 4),
                        np.array([30.0, 0.2]), 1.5, 2, 32.7, 32.7, 109.0, 109.08,
                        delta_n=45.0, n0=325.0)
    with pytest.raises(InputError) as caught:  # the profile is every element's: none is named
        prop.itm_p2p_loss(np.array([10.0, 30.0]), 1.5, [5, 100.0, 300.0, 310.0], 5, 301.0,
                          1800.0, 1, 15.0, 0.005, 12, 50.0, 50.0, 50.0)
    assert "element" not in str(caught.value)
    with pytest.raises(InputError) as scalar:  # the very message of a scalar call
        prop.itm_p2p_loss(30.0, 1.5, [5, 100.0, 300.0, 310.0], 5, 301.0,
                          1800.0, 1, 15.0, 0.005, 12, 50.0, 50.0, 50.0)
    assert str(caught.value) == str(scalar.value)

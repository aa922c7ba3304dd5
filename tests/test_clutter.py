"""ITU-R P.2108-1 section 3.1 (height-gain terminal correction) against values worked out by
hand from the recommendation's equations (2a)-(2g) and Table 3.

Notation: f [GHz], h antenna height [m], R representative clutter height [m], w_s street
width [m]; h_dif = R - h (2d); theta = atan(h_dif / w_s) in degrees (2e); K_h2 = 21.8 + 6.2
log10 f (2f); K_nu = 0.342 sqrt(f) (2g); nu = K_nu sqrt(h_dif theta) (2c); J(nu) = 6.9 + 20
log10(sqrt((nu - 0.1)^2 + 1) + nu - 0.1) (P.526 eq. 31); A_h = J(nu) - 6.03 (2a) or
-K_h2 log10(h / R) (2b). Section 3.1 has no distance term: the loss is the same however far
the other end is (the engine's test in test_land_cover.py checks that at three distances).
"""

import numpy as np
import pytest

from siting.clutter import P2108_CLUTTER_TYPES, p2108_terminal_clutter_loss

# (f_ghz, h_m, clutter type, R_m or None for Table 3's, w_s_m, expected A_h [dB])
CASES = [
    # trees/forest, Table 3 R = 15, w_s = 27: h_dif = 13.5, theta = atan(0.5) = 26.565051 deg,
    # K_nu = 0.342 sqrt(1.8) = 0.458841, nu = 0.458841 sqrt(13.5 * 26.565051) = 8.689296,
    # J = 6.9 + 20 log10(sqrt(8.589296^2 + 1) + 8.589296) = 31.629036, A = 31.629036 - 6.03
    (1.8, 1.5, "trees_forest", None, 27.0, 25.599036),
    # the same at 0.7 GHz: K_nu = 0.286138, nu = 5.418728, J = 27.512518
    (0.7, 1.5, "trees_forest", None, 27.0, 21.482518),
    # suburban, R = 10: h_dif = 8.5, theta = 17.474774 deg, K_nu = 0.324450, nu = 3.954236,
    # J = 24.781985
    (0.9, 1.5, "suburban", None, 27.0, 18.751985),
    # dense urban, R = 20, h = 5: h_dif = 15, theta = 29.054604 deg, K_nu = 0.592361,
    # nu = 12.366302, J = 34.709269
    (3.0, 5.0, "dense_urban", None, 27.0, 28.679269),
    # urban with local R = 8 m and w_s = 15 m: h_dif = 6.5, theta = atan(6.5 / 15) = 23.428693
    # deg, K_nu = 0.551458, nu = 6.805241, J = 29.496787
    (2.6, 1.5, "urban", 8.0, 15.0, 23.466787),
    # open/rural (2b), R = 10: K_h2 = 21.8 + 6.2 log10(0.7) = 20.839608, log10(1.5 / 10) =
    # -0.823909, A = 20.839608 * 0.823909
    (0.7, 1.5, "open_rural", None, 27.0, 17.169935),
    # (2b) at 1.8 GHz: K_h2 = 23.382690
    (1.8, 1.5, "water_sea", None, 27.0, 19.265202),
    # (2b) at 3 GHz, h = 3: K_h2 = 24.758152, log10(0.3) = -0.522879
    (3.0, 3.0, "open_rural", None, 27.0, 12.945511),
    # (2b) at the lowest frequency, 30 MHz, h = 2: K_h2 = 12.358152, log10(0.2) = -0.698970
    (0.03, 2.0, "open_rural", None, 27.0, 8.637977),
    # at or above the clutter: 0 dB
    (1.8, 15.0, "trees_forest", None, 27.0, 0.0),
    (1.8, 25.0, "dense_urban", None, 27.0, 0.0),
    (1.8, 1.5, "trees_forest", 0.0, 27.0, 0.0),
]


@pytest.mark.parametrize("f_ghz, h_m, kind, r_m, ws_m, expected_db", CASES)
def test_hand_computed_values(f_ghz, h_m, kind, r_m, ws_m, expected_db):
    loss = p2108_terminal_clutter_loss(f_ghz, h_m, kind, r_m=r_m, street_width_m=ws_m)
    assert float(loss) == pytest.approx(expected_db, abs=1e-5)


def test_vectorised_over_types_heights_and_frequencies():
    f, h, kind, r, ws, expected = map(np.array, zip(*[(c[0], c[1], c[2], c[3] if c[3] is not None
                                                      else P2108_CLUTTER_TYPES[c[2]].default_height_m,
                                                      c[4], c[5]) for c in CASES]))
    loss = p2108_terminal_clutter_loss(f.astype(float), h.astype(float), kind,
                                       r_m=r.astype(float), street_width_m=ws.astype(float))
    np.testing.assert_allclose(loss, expected.astype(float), atol=1e-5)


def test_table_3_defaults():
    assert {k: (v.default_height_m, v.diffraction) for k, v in P2108_CLUTTER_TYPES.items()} == {
        "water_sea": (10.0, False), "open_rural": (10.0, False), "suburban": (10.0, True),
        "urban": (15.0, True), "trees_forest": (15.0, True), "dense_urban": (20.0, True)}


def test_loss_falls_as_the_antenna_rises_and_grows_with_frequency():
    heights = np.linspace(0.5, 14.9, 50)
    loss = p2108_terminal_clutter_loss(1.8, heights, "trees_forest")
    assert np.all(np.diff(loss) < 0) and np.all(loss > 0)
    by_frequency = p2108_terminal_clutter_loss(np.linspace(0.1, 3.0, 30), 1.5, "urban")
    assert np.all(np.diff(by_frequency) > 0)


@pytest.mark.parametrize("kwargs", [dict(frequency_ghz=3.5), dict(frequency_ghz=0.02),
                                    dict(h_m=0.0), dict(clutter_type="jungle"),
                                    dict(street_width_m=0.0), dict(r_m=-1.0)])
def test_outside_the_recommendation_raises(kwargs):
    args = dict(frequency_ghz=1.8, h_m=1.5, clutter_type="urban") | kwargs
    with pytest.raises(ValueError):
        p2108_terminal_clutter_loss(**args)

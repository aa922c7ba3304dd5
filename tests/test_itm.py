"""ITM (Longley-Rice) point-to-point mode against NTIA's reference inputs and outputs.

The expected values are NTIA's, read in place from ``shared/data/real/propagation_reference/
ntia_itm`` (GitHub NTIA/itm): ``p2p.csv`` with ``pfls.csv`` (basic transmission loss to 0.01 dB)
and the ITMDrvr command-line examples in ``cmd_examples`` (loss and intermediate values as
printed, and a confidence x reliability table). Tests that need them skip when they are absent.
The validity checks follow NTIA's ``ValidateInputs`` and ``LongleyRice`` error conditions.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siting.errors import InputError
from siting.itm import (
    ITM_OUT_SIZE,
    ItmWarning,
    PropagationMode,
    itm_p2p,
    itm_p2p_cr,
    itm_p2p_kernel,
    itm_p2p_loss,
    itm_prefix_kernel,
    itm_profile_tables,
)

ITM_DATA = (Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
            / "propagation_reference" / "ntia_itm")
JACKSBORO_DEM = (Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "dem"
                 / "usgs_jacksboro_fault_tn" / "jacksboro_fault_dem.npz")
#: p2p.csv prints the loss to 0.01 dB, so a faithful implementation is within 0.005 dB of it.
P2P_TOL_DB = 0.01
#: a flat 5 km profile for the checks that do not need NTIA's terrain
FLAT_PFL = [100, 50.0] + [200.0] * 101
VALID = {"h_tx_m": 15.0, "h_rx_m": 3.0, "pfl": FLAT_PFL, "climate": 5, "n0": 301.0,
         "f_mhz": 900.0, "pol": 1, "epsilon": 15.0, "sigma": 0.005, "mdvar": 12, "time_pct": 50.0,
         "location_pct": 50.0, "situation_pct": 50.0}


def _data(*parts: str) -> Path:
    path = ITM_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"NTIA ITM reference data not present: {path}")
    return path


def _numbers(text: str) -> list[float]:
    return [float(v) for v in re.split(r"[,\s]+", text.strip()) if v]


def _p2p_cases() -> list[tuple[dict, list[float]]]:
    with _data("p2p.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    lines = _data("pfls.csv").read_text().splitlines()
    profiles = [_numbers(line) for line in lines if line.strip()]
    assert len(rows) == len(profiles) == 5
    return list(zip(rows, profiles))


def _driver_inputs(name: str) -> dict[str, list[float]]:
    """An ITMDrvr input file: ``key,value[,value...]`` lines."""
    lines = _data("cmd_examples", name).read_text().splitlines()
    return {key: _numbers(rest) for key, _, rest in (line.partition(",") for line in lines if line)}


def _driver_outputs(name: str) -> dict[str, str]:
    """An ITMDrvr output file's ``label   value   (unit)`` lines, label -> printed value."""
    fields = {}
    for line in _data("cmd_examples", name).read_text().splitlines():
        parts = re.split(r"\s{2,}", line.strip())
        if len(parts) >= 2:
            fields[parts[0]] = parts[1]
    return fields


def _within_print(actual: float, printed: str) -> None:
    """``actual`` rounds to ``printed``: within half a unit of its last decimal."""
    decimals = len(printed.partition(".")[2])
    assert abs(actual - float(printed)) <= 0.5 * 10.0 ** -decimals + 1e-9, (actual, printed)


def _tls_call(inputs: dict[str, list[float]], pfl, **percentages):
    first = {key: values[0] for key, values in inputs.items()}
    return dict(h_tx_m=first["h_tx__meter"], h_rx_m=first["h_rx__meter"], pfl=pfl,
                climate=int(first["climate"]), n0=first["N_0"], f_mhz=first["f__mhz"],
                pol=int(first["pol"]), epsilon=first["epsilon"], sigma=first["sigma"],
                mdvar=int(first["mdvar"]), **percentages)


# ---------------------------------------------------------------------------------------------
# NTIA's reference cases


def test_p2p_reference_cases_match_ntia():
    deviations = []
    for row, pfl in _p2p_cases():
        value = {key: float(v) for key, v in row.items()}
        loss_db = itm_p2p_loss(value["h_tx__meter"], value["h_rx__meter"], pfl,
                               int(value["climate"]), value["N_0"], value["f__mhz"],
                               int(value["pol"]), value["epsilon"], value["sigma"],
                               int(value["mdvar"]), value["time"], value["location"],
                               value["situation"])
        deviations.append(loss_db - value["A__db"])
    assert max(abs(d) for d in deviations) <= P2P_TOL_DB, deviations


def test_p2p_reference_cases_cover_every_propagation_mode():
    modes = set()
    for row, pfl in _p2p_cases():
        value = {key: float(v) for key, v in row.items()}
        modes.add(itm_p2p(value["h_tx__meter"], value["h_rx__meter"], pfl, int(value["climate"]),
                          value["N_0"], value["f__mhz"], int(value["pol"]), value["epsilon"],
                          value["sigma"], int(value["mdvar"]), value["time"], value["location"],
                          value["situation"]).mode)
    assert modes == set(PropagationMode)


def _check_intermediates(result, printed: dict[str, str]) -> None:
    _within_print(result.loss_db, printed["Basic Transmission Loss"])
    _within_print(result.free_space_loss_db, printed["Free Space"])
    _within_print(result.distance_m / 1000.0, printed["d__km"])
    _within_print(result.theta_hzn_rad[0] * 1000.0, printed["theta_hzn_tx"])
    _within_print(result.theta_hzn_rad[1] * 1000.0, printed["theta_hzn_rx"])
    _within_print(result.d_hzn_m[0], printed["d_hzn_tx__meter"])
    _within_print(result.d_hzn_m[1], printed["d_hzn_rx__meter"])
    _within_print(result.h_e_m[0], printed["h_e_tx__meter"])
    _within_print(result.h_e_m[1], printed["h_e_rx__meter"])
    _within_print(result.n_s, printed["N_s"])
    _within_print(result.delta_h_m, printed["delta_h__meter"])
    _within_print(result.a_ref_db, printed["A_ref__db"])
    assert result.mode == int(printed["Mode of Propagation"])
    assert result.warnings == int(printed["ITM Warning Flags"], 16)


def test_cmd_example_tls_loss_and_intermediate_values():
    inputs = _driver_inputs("i_p2ptls.txt")
    pfl = _numbers(_data("cmd_examples", "pfl.txt").read_text())
    result = itm_p2p(**_tls_call(inputs, pfl, time_pct=inputs["time"][0],
                                 location_pct=inputs["location"][0],
                                 situation_pct=inputs["situation"][0]))
    _check_intermediates(result, _driver_outputs("o_p2ptls.txt"))


def _cr_call(inputs, pfl, confidence_pct, reliability_pct):
    call = _tls_call(inputs, pfl, confidence_pct=confidence_pct, reliability_pct=reliability_pct)
    return itm_p2p_cr(**call)


def test_cmd_example_cr_loss_and_intermediate_values():
    inputs = _driver_inputs("i_p2pcr.txt")
    pfl = _numbers(_data("cmd_examples", "pfl.txt").read_text())
    result = _cr_call(inputs, pfl, inputs["confidence"][0], inputs["reliability"][0])
    _check_intermediates(result, _driver_outputs("o_p2pcr.txt"))


def test_cmd_example_confidence_reliability_table():
    inputs = _driver_inputs("i_p2pcr_tbl.txt")
    pfl = _numbers(_data("cmd_examples", "pfl.txt").read_text())
    lines = _data("cmd_examples", "o_p2pcr_tbl.txt").read_text().splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Reliability"))
    confidences = _numbers(lines[header + 1])
    assert confidences == inputs["confidence"]
    rows = [_numbers(line) for line in lines[header + 2:header + 2 + len(inputs["reliability"])]]
    assert [row[0] for row in rows] == inputs["reliability"]
    for reliability, *printed in rows:
        for confidence, value in zip(confidences, printed):
            result = _cr_call(inputs, pfl, confidence, reliability)
            _within_print(result.loss_db, f"{value:.1f}")


def test_kernel_is_callable_from_jitted_code():
    """The kernel runs inside numba code on plain float64 profiles (padded rows here)."""
    cases = _p2p_cases()
    longest = max(len(pfl) for _, pfl in cases)
    profiles = np.zeros((len(cases), longest))
    for k, (_, pfl) in enumerate(cases):
        profiles[k, :len(pfl)] = pfl
    values = np.array([[float(row[key]) for key in (
        "h_tx__meter", "h_rx__meter", "climate", "N_0", "f__mhz", "pol", "epsilon", "sigma",
        "mdvar", "time", "location", "situation")] for row, _ in cases])

    @numba.njit
    def losses(profiles, values):
        out = np.empty(ITM_OUT_SIZE)
        result = np.empty(len(profiles))
        for k in range(len(profiles)):
            n = int(profiles[k, 0])
            v = values[k]
            error = itm_p2p_kernel(v[0], v[1], profiles[k, 2:n + 3], profiles[k, 1], int(v[2]),
                                   v[3], v[4], int(v[5]), v[6], v[7], int(v[8]), v[9], v[10],
                                   v[11], out)
            result[k] = out[0] if error == 0 else np.nan
        return result

    expected = np.array([float(row["A__db"]) for row, _ in cases])
    np.testing.assert_allclose(losses(profiles, values), expected, atol=P2P_TOL_DB)


# ---------------------------------------------------------------------------------------------
# Validity domain: NTIA's errors raise, its warnings return the value


@pytest.mark.parametrize(("field", "value", "message"), [
    ("h_tx_m", 0.49, "transmitter height"),
    ("h_tx_m", 3000.5, "transmitter height"),
    ("h_rx_m", 0.4, "receiver height"),
    ("h_rx_m", math.nan, "receiver height"),
    ("climate", 0, "climate"),
    ("climate", 8, "climate"),
    ("n0", 249.0, "surface refractivity"),
    ("n0", 401.0, "surface refractivity"),
    ("f_mhz", 19.9, "frequency"),
    ("f_mhz", 20000.1, "frequency"),
    ("pol", 2, "polarisation"),
    ("epsilon", 0.9, "permittivity"),
    ("sigma", 0.0, "conductivity"),
    ("mdvar", 4, "variability mode"),
    ("mdvar", 14, "variability mode"),
    ("mdvar", 34, "variability mode"),
    ("mdvar", -1, "variability mode"),
    ("time_pct", 0.0, "time percentage"),
    ("location_pct", 100.0, "location percentage"),
    ("situation_pct", -5.0, "situation percentage"),
])
def test_inputs_outside_ntia_domain_raise(field, value, message):
    with pytest.raises(InputError, match=message):
        itm_p2p_loss(**{**VALID, field: value})


@pytest.mark.parametrize("mdvar", [0, 1, 2, 3, 10, 13, 20, 23, 30, 33])
def test_every_ntia_variability_mode_is_accepted(mdvar):
    assert math.isfinite(itm_p2p_loss(**{**VALID, "mdvar": mdvar}))


@pytest.mark.parametrize(("overrides", "flag"), [
    ({"f_mhz": 20.0}, ItmWarning.FREQUENCY),
    ({"f_mhz": 20000.0}, ItmWarning.FREQUENCY),
    ({"h_tx_m": 0.5}, ItmWarning.TX_TERMINAL_HEIGHT),
    ({"h_rx_m": 3000.0}, ItmWarning.RX_TERMINAL_HEIGHT),
    ({"pfl": [10, 50.0] + [200.0] * 11}, ItmWarning.PATH_DISTANCE_TOO_SMALL_2),
    ({"time_pct": 99.95}, ItmWarning.EXTREME_VARIABILITIES),
])
def test_inputs_ntia_only_warns_about_return_a_value(overrides, flag):
    result = itm_p2p(**{**VALID, **overrides})
    assert math.isfinite(result.loss_db)
    assert flag in result.warnings


@pytest.mark.parametrize(("overrides", "message"), [
    # N_s = N_0 exp(-h_s / 9460 m) below 150 or above 400 N-units
    ({"pfl": [100, 50.0] + [6000.0] * 101, "n0": 250.0}, "below ITM's minimum of 150"),
    ({"pfl": [100, 50.0] + [-500.0] * 101, "n0": 400.0}, "above ITM's maximum of 400"),
    # epsilon = 1: Z_g = sqrt(j 18000 sigma / f), real part equal to the imaginary one
    ({"epsilon": 1.0, "pol": 0}, "surface transfer impedance"),
])
def test_path_parameters_outside_ntia_domain_raise(overrides, message):
    with pytest.raises(InputError, match=message):
        itm_p2p_loss(**{**VALID, **overrides})


@pytest.mark.parametrize("pfl", [
    [100, 50.0] + [200.0] * 100,  # one elevation short
    [100.5, 50.0] + [200.0] * 101,
    [0, 50.0, 200.0],
    [100, 0.0] + [200.0] * 101,
    [100, 50.0] + [math.inf] + [200.0] * 100,
])
def test_malformed_profiles_raise(pfl):
    with pytest.raises(InputError, match="pfl"):
        itm_p2p_loss(**{**VALID, "pfl": pfl})


def test_cr_names_confidence_and_reliability_in_errors():
    call = {k: v for k, v in VALID.items() if not k.endswith("_pct")}
    with pytest.raises(InputError, match="reliability percentage"):
        itm_p2p_cr(**call, confidence_pct=50.0, reliability_pct=100.0)
    with pytest.raises(InputError, match="confidence percentage"):
        itm_p2p_cr(**call, confidence_pct=0.0, reliability_pct=50.0)


# ---------------------------------------------------------------------------------------------
# NTIA's variability-mode flags


def _rough_call(**overrides):
    _, pfl = _p2p_cases()[2]
    return {**VALID, "pfl": pfl, "h_tx_m": 15.0, "f_mhz": 990.0, **overrides}


def test_plus_10_drops_location_variability():
    broadcast = [itm_p2p_loss(**_rough_call(mdvar=3, location_pct=p)) for p in (10.0, 90.0)]
    without = [itm_p2p_loss(**_rough_call(mdvar=13, location_pct=p)) for p in (10.0, 90.0)]
    assert broadcast[0] < broadcast[1]
    assert without[0] == without[1]


def test_plus_20_narrows_situation_variability():
    spread = {mdvar: itm_p2p_loss(**_rough_call(mdvar=mdvar, situation_pct=90.0))
              - itm_p2p_loss(**_rough_call(mdvar=mdvar, situation_pct=10.0)) for mdvar in (1, 21)}
    assert 0.0 < spread[21] < spread[1]


def test_undefined_model_raises_instead_of_nan():
    """Vertical polarisation over sea water at 20 MHz, a cliff and a ridge: Vogler's K > 1.607,
    where NTIA's reference returns NaN; horizontally polarised the same path is defined."""
    cliff_and_ridge = [300.0] * 3 + [0.0] * 150 + [200.0] * 3 + [0.0] * 3
    call = {**VALID, "pfl": [len(cliff_and_ridge) - 1, 100.0] + cliff_and_ridge, "h_tx_m": 10.0,
            "h_rx_m": 10.0, "climate": 7, "n0": 350.0, "f_mhz": 20.0, "epsilon": 80.0,
            "sigma": 5.0}
    with pytest.raises(InputError, match="undefined"):
        itm_p2p_loss(**{**call, "pol": 1})
    assert math.isfinite(itm_p2p_loss(**{**call, "pol": 0}))


# ---------------------------------------------------------------------------------------------
# Every prefix of one profile (an area prediction's radial) from the profile's tables


def _rough_profile() -> np.ndarray:
    """About 120 km of rough terrain at 100 m: the real Jacksboro DEM's diagonal (3 arc-seconds),
    there and back and there again; a seeded random walk if the DEM is not present."""
    if JACKSBORO_DEM.exists():
        z = np.load(JACKSBORO_DEM)["elevation"].astype(np.float64)
        rows = np.linspace(0, z.shape[0] - 1, 400).round().astype(int)
        cols = np.linspace(0, z.shape[1] - 1, 400).round().astype(int)
        diagonal = z[rows, cols]
        return np.concatenate([diagonal, diagonal[::-1], diagonal])
    steps = np.random.default_rng(16).normal(0.0, 12.0, 1200)
    return 500.0 + np.cumsum(steps - steps.mean())


@numba.njit
def _prefix_and_p2p_outputs(z, spacing_m, step, f_mhz):
    """``itm_prefix_kernel`` on every ``step``-th prefix of ``z`` (one set of tables, each call
    starting from the previous call's horizons) and ``itm_p2p_kernel`` on the same prefixes."""
    tables = itm_profile_tables(z)
    prefix = np.full((len(z), ITM_OUT_SIZE), np.nan)
    p2p = np.full((len(z), ITM_OUT_SIZE), np.nan)
    hint_tx = hint_rx = -1
    for i in range(1, len(z), step):
        _, hint_tx, hint_rx = itm_prefix_kernel(10.0, 1.5, z, i, spacing_m, tables, hint_tx,
                                                hint_rx, 5, 301.0, f_mhz, 1, 15.0, 0.005, 12, 50.0,
                                                50.0, 50.0, prefix[i])
        itm_p2p_kernel(10.0, 1.5, z[:i + 1].copy(), spacing_m, 5, 301.0, f_mhz, 1, 15.0, 0.005,
                       12, 50.0, 50.0, 50.0, p2p[i])
    return prefix, p2p


@pytest.mark.parametrize("step", [1, 7])
def test_prefixes_from_the_profile_tables_equal_point_to_point_calls(step):
    """Line of sight, diffraction and troposcatter receivers along 120 km of real terrain: the
    loss and every intermediate value are those of the one-profile kernel on the prefix."""
    prefix, p2p = _prefix_and_p2p_outputs(_rough_profile(), 100.0, step, 1800.0)
    rows = np.isfinite(p2p[:, 0])
    assert rows.sum() == len(range(1, len(prefix), step))
    assert set(p2p[rows, 4]) == {1.0, 2.0, 3.0}  # every propagation mode
    np.testing.assert_allclose(prefix[rows, 0], p2p[rows, 0], rtol=0.0, atol=1e-9)
    np.testing.assert_allclose(prefix[rows], p2p[rows], rtol=1e-12, atol=1e-9)


def test_prefixes_of_a_flat_profile_equal_point_to_point_calls():
    prefix, p2p = _prefix_and_p2p_outputs(np.full(400, 250.0), 90.0, 1, 900.0)
    rows = np.isfinite(p2p[:, 0])
    assert rows.sum() == 399
    np.testing.assert_allclose(prefix[rows], p2p[rows], rtol=1e-12, atol=1e-9)


def _brute_force_profile_analysis(z, spacing_m, h_tx_m, h_rx_m, n0):
    """N_s, both horizons (theta, d) and delta_h of a profile the plain way, with numpy: the mean
    height of the middle 80 %, every interior sample's elevation angle [TN101, Eqn 6.15], and
    dlthx as interpolated resampling, a trapezoid-weighted line fit and a full sort."""
    n = len(z) - 1
    distance_m = n * spacing_m
    p10 = int(0.1 * n)
    n_s = n0 * math.exp(-z[p10:n - p10 + 1].mean() / 9460.0)
    a_e_m = 1.0 / (157e-9 * (1.0 - 0.04665 * math.exp(n_s / 179.3)))
    horizons = []
    for z_terminal_m, z_other_m, d_m in ((z[0] + h_tx_m, z[n] + h_rx_m,
                                          np.arange(1, n) * spacing_m),
                                         (z[n] + h_rx_m, z[0] + h_tx_m,
                                          distance_m - np.arange(1, n) * spacing_m)):
        theta = (z_other_m - z_terminal_m) / distance_m - distance_m / (2.0 * a_e_m)
        angles = (z[1:n] - z_terminal_m) / d_m - d_m / (2.0 * a_e_m)
        best = int(np.argmax(angles)) if n > 1 else 0
        horizons.append((angles[best], d_m[best]) if n > 1 and angles[best] > theta
                        else (theta, distance_m))
    d_start_m = min(15.0 * h_tx_m, 0.1 * horizons[0][1])
    d_end_m = distance_m - min(15.0 * h_rx_m, 0.1 * horizons[1][1])
    x_start, x_end = d_start_m / spacing_m, d_end_m / spacing_m
    q = min(max(4, int(0.1 * (x_end - x_start + 8.0))), 25)
    count = 10 * q - 5
    resampled = np.interp(np.linspace(x_start, x_end, count), np.arange(n + 1), z)
    weights = np.ones(count)
    weights[[0, -1]] = 0.5
    line = np.polyval(np.polyfit(np.arange(count), resampled, 1, w=np.sqrt(weights)),
                      np.arange(count))
    deviations = np.sort(resampled - line)
    delta_h_m = (deviations[count - q] - deviations[q - 1]) / (
        1.0 - 0.8 * math.exp(-(d_end_m - d_start_m) / 50e3))
    return n_s, horizons, delta_h_m


def test_profile_analysis_matches_a_brute_force_reference():
    """N_s, the horizons of trans-horizon paths and delta_h from the profile's tables (running
    sums, block maxima, histogram order statistics) equal the plain computation's."""
    z = _rough_profile()
    modes = set()
    for n in range(40, len(z), 23):
        result = itm_p2p(**{**VALID, "h_tx_m": 10.0, "h_rx_m": 1.5, "f_mhz": 1800.0, "mdvar": 12,
                            "pfl": [n, 100.0, *z[:n + 1]]})
        n_s, horizons, delta_h_m = _brute_force_profile_analysis(z[:n + 1], 100.0, 10.0, 1.5,
                                                                 VALID["n0"])
        assert result.n_s == pytest.approx(n_s, rel=1e-12)
        assert result.delta_h_m == pytest.approx(delta_h_m, rel=1e-9, abs=1e-9), n
        if result.mode != PropagationMode.LINE_OF_SIGHT:  # the horizons found on the profile
            assert result.theta_hzn_rad == pytest.approx(tuple(t for t, _ in horizons), abs=1e-12)
            assert result.d_hzn_m == tuple(d for _, d in horizons)
        modes.add(result.mode)
    assert modes == set(PropagationMode)


_PERCENT = st.floats(0.01, 99.99)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(elevations=st.lists(st.floats(-100.0, 3000.0), min_size=2, max_size=300),
       spacing_m=st.floats(5.0, 1000.0), h_tx_m=st.floats(0.5, 3000.0),
       h_rx_m=st.floats(0.5, 300.0),
       climate=st.integers(1, 7), n0=st.floats(250.0, 400.0), f_mhz=st.floats(20.0, 20000.0),
       pol=st.integers(0, 1), epsilon=st.floats(1.0, 100.0), sigma=st.floats(1e-5, 5.0),
       mdvar=st.sampled_from([0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33]),
       time_pct=_PERCENT, location_pct=_PERCENT, situation_pct=_PERCENT)
def test_valid_inputs_give_a_finite_loss_or_an_input_error(elevations, spacing_m, **inputs):
    pfl = [len(elevations) - 1, spacing_m, *elevations]
    try:
        result = itm_p2p(pfl=pfl, **inputs)
    except InputError:
        return
    assert math.isfinite(result.loss_db)
    assert result.loss_db == pytest.approx(result.free_space_loss_db + result.attenuation_db)
    assert result.a_ref_db >= 0.0

"""The stable Python API (DESIGN.md, "Public API contract"): every promised name exists with the
documented parameters, the closed-form losses broadcast over numpy arrays as elementwise calls
do, and the solvers return the documented Solution, optimal by brute force."""

from __future__ import annotations

import dataclasses
import inspect
import itertools

import numpy as np
import pytest
import scipy.sparse as sp

import siting
from siting import optimize, propagation, terrain

#: Each promised function and the parameters DESIGN.md lists, in order (keyword-only ones too).
DOCUMENTED = {
    propagation.free_space_loss: ["distance_m", "frequency_mhz"],
    propagation.okumura_hata: ["distance_km", "frequency_mhz", "h_base_m", "h_mobile_m",
                               "environment", "large_city"],
    propagation.cost231_hata: ["distance_km", "frequency_mhz", "h_base_m", "h_mobile_m",
                               "metropolitan"],
    propagation.rma_38901: ["distance_2d_m", "frequency_ghz", "h_bs_m", "h_ut_m", "los",
                            "building_height_m", "street_width_m"],
    propagation.knife_edge_loss: ["v"],
    terrain.viewshed: ["dem", "cell_size_m", "observer_rc", "observer_height_m",
                       "target_height_m", "max_distance_m", "earth_radius_factor"],
    optimize.solve_set_cover: ["coverage", "cost", "time_limit_s", "mip_gap", "solver"],
    optimize.solve_max_coverage: ["coverage", "weight", "cost", "budget", "max_options",
                                  "time_limit_s", "mip_gap", "solver"],
    propagation.p1812_loss: ["f_ghz", "p_percent", "d_km", "h_m", "r_m", "zone", "htg_m", "hrg_m",
                             "pol", "phi_t_deg", "phi_r_deg", "lam_t_deg", "lam_r_deg",
                             "pl_percent", "sigma_l_db", "delta_n", "n0", "dct_km", "dcr_km"],
    propagation.itm_p2p_loss: ["h_tx_m", "h_rx_m", "pfl", "climate", "n0", "f_mhz", "pol",
                               "epsilon", "sigma", "mdvar", "time_pct", "location_pct",
                               "situation_pct"],
    siting.load_scenario: ["path"],
    siting.prepare: ["scenario", "cache_dir", "progress", "scheduler", "workers"],
    siting.Study.plan: ["self", "overrides"],
    siting.Study.sweep: ["self", "budgets_cny", "max_new_sites", "progress", "overrides"],
    siting.PlanResult.plot: ["self", "ax"],
    siting.PlanResult.write: ["self", "out_dir", "progress"],
}


@pytest.mark.parametrize("function", DOCUMENTED, ids=lambda f: f.__qualname__)
def test_each_promised_function_takes_the_documented_parameters(function):
    assert list(inspect.signature(function).parameters) == DOCUMENTED[function]
    assert function.__doc__ and len(function.__doc__.strip()) > 40, "help() shows no docstring"


def test_the_documented_keyword_defaults():
    defaults = {name: p.default for f in DOCUMENTED
                for name, p in inspect.signature(f).parameters.items()
                if p.default is not inspect.Parameter.empty}
    assert defaults["environment"] == "urban" and defaults["large_city"] is False
    assert defaults["metropolitan"] is False and defaults["los"] is True
    assert (defaults["building_height_m"], defaults["street_width_m"]) == (5.0, 20.0)
    assert defaults["solver"] == "highs" and defaults["mip_gap"] == 0.0
    assert defaults["pl_percent"] == 50.0 and defaults["dct_km"] == defaults["dcr_km"] == 500.0


#: Closed-form losses and valid arguments for each: (function, arrays broadcast to 3 x 4, keywords).
BROADCAST_CASES = {
    "free_space": (propagation.free_space_loss,
                   [np.array([[100.0], [1000.0], [5000.0]]), np.array([700.0, 1800.0, 2600.0, 3500.0])],
                   {}),
    "okumura_hata": (propagation.okumura_hata,
                     [np.array([[1.0], [5.0], [15.0]]), np.array([450.0, 700.0, 900.0, 1400.0]),
                      30.0, 1.5], {"environment": "suburban"}),
    "cost231_hata": (propagation.cost231_hata,
                     [np.array([[1.0], [5.0], [15.0]]), np.array([1500.0, 1800.0, 1900.0, 2000.0]),
                      np.array([[30.0], [50.0], [100.0]]), 1.5], {"metropolitan": True}),
    "rma_38901": (propagation.rma_38901,
                  [np.array([[100.0], [2000.0], [8000.0]]), np.array([0.7, 1.8, 2.6, 3.5]), 35.0,
                   1.5], {"los": np.array([True, False, True, False])}),
    "knife_edge": (propagation.knife_edge_loss, [np.array([[-2.0, -0.78, -0.5, 0.0],
                                                           [0.5, 1.0, 2.4, 5.0],
                                                           [10.0, -1.0, 0.1, 3.0]])], {}),
}


@pytest.mark.parametrize("name", BROADCAST_CASES)
def test_closed_form_losses_broadcast_as_elementwise_calls(name):
    function, arrays, keywords = BROADCAST_CASES[name]
    grid = function(*arrays, **keywords)
    assert isinstance(grid, np.ndarray) and grid.shape == (3, 4)
    shaped = [np.broadcast_to(a, (3, 4)) for a in arrays]
    kw_shaped = {k: np.broadcast_to(v, (3, 4)) if isinstance(v, np.ndarray) else v
                 for k, v in keywords.items()}
    for i, j in itertools.product(range(3), range(4)):
        one = function(*(float(a[i, j]) for a in shaped),
                       **{k: v[i, j].item() if isinstance(v, np.ndarray) else v
                          for k, v in kw_shaped.items()})
        assert float(one) == pytest.approx(grid[i, j], abs=1e-9), (i, j)


def test_free_space_loss_is_p525():
    distance_m, frequency_mhz = np.array([10.0, 1000.0, 30000.0]), np.array([700.0, 1800.0, 3500.0])
    wavelength_m = 299_792_458.0 / (frequency_mhz * 1e6)
    expected_db = 20 * np.log10(4 * np.pi * distance_m / wavelength_m)
    np.testing.assert_allclose(propagation.free_space_loss(distance_m, frequency_mhz),
                               expected_db, atol=0.01)


def _random_instance(seed: int, n_rows: int = 9, n_options: int = 7):
    """A seeded cover matrix where every row is covered by some option, costs and weights."""
    rng = np.random.default_rng(seed)
    dense = rng.random((n_rows, n_options)) < 0.3
    dense[np.arange(n_rows), rng.integers(0, n_options, n_rows)] = True
    return sp.csr_matrix(dense.astype(np.int8)), rng.integers(1, 20, n_options).astype(float), \
        rng.integers(1, 50, n_rows).astype(float)


def _subsets(n: int):
    return (np.array(s, dtype=int) for k in range(n + 1) for s in itertools.combinations(range(n), k))


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_set_cover_is_the_brute_force_optimum(seed, solver):
    coverage, cost, _ = _random_instance(seed)
    dense = coverage.toarray().astype(bool)
    best = min(cost[s].sum() for s in _subsets(len(cost)) if dense[:, s].any(axis=1).all())
    solution = optimize.solve_set_cover(coverage, cost, solver=solver)
    assert isinstance(solution, optimize.Solution) and dataclasses.is_dataclass(solution)
    assert solution.status == "optimal" and solution.gap == pytest.approx(0.0, abs=1e-9)
    assert solution.selected.dtype.kind == "i"
    assert dense[:, solution.selected].any(axis=1).all()  # every row covered
    assert solution.objective == pytest.approx(best) == cost[solution.selected].sum()
    assert solution.bound == pytest.approx(best)


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("seed, budget, max_options", [(4, 15.0, None), (5, None, 2), (6, 20.0, 3)])
def test_max_coverage_is_the_brute_force_optimum(seed, budget, max_options, solver):
    coverage, cost, weight = _random_instance(seed)
    dense = coverage.toarray().astype(bool)
    feasible = [s for s in _subsets(len(cost))
                if (budget is None or cost[s].sum() <= budget)
                and (max_options is None or len(s) <= max_options)]
    best = max(weight[dense[:, s].any(axis=1)].sum() for s in feasible)
    solution = optimize.solve_max_coverage(coverage, weight, cost, budget=budget,
                                           max_options=max_options, solver=solver)
    assert solution.status == "optimal"
    chosen = solution.selected
    assert budget is None or cost[chosen].sum() <= budget + 1e-9
    assert max_options is None or len(chosen) <= max_options
    assert weight[dense[:, chosen].any(axis=1)].sum() == pytest.approx(best)
    assert solution.objective == pytest.approx(best)


def test_the_exception_family_is_rooted_and_builtin():
    for error, builtin in [(siting.InputError, ValueError), (siting.ScenarioError, ValueError),
                           (siting.InfeasibleError, ValueError), (siting.SolverError, RuntimeError),
                           (siting.OutputError, OSError)]:
        assert issubclass(error, siting.SitingError) and issubclass(error, builtin)

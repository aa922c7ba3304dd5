"""Plans of a few options and demand rows built in memory, for the tests that check the
planner against a brute force: the coverage matrix, demand, costs and backhaul network."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from siting.backhaul.network import BackhaulNetwork
from siting.coverage import CoverageMatrix
from siting.demand import Demand
from siting.plan import OptionCosts

LINK_COLUMNS = {"site_a": int, "site_b": int, "band_ghz": float, "distance_m": float,
                "min_clearance_f1": float, "cost_cny": float}


def coverage_of(cover: np.ndarray) -> CoverageMatrix:
    """One 4G option per candidate site (site j is column j); -80 dBm where an option covers
    a row."""
    m, n = cover.shape
    options = pd.DataFrame({"candidate": np.arange(n), "site_id": [f"S{j}" for j in range(n)],
                            "technology": "4G-1800", "generation": "4G"})
    level = sp.csr_matrix(np.where(cover > 0, -80.0, 0.0).astype(np.float32))
    best = np.where(cover.any(axis=1), -80.0, -np.inf).astype(np.float32)
    return CoverageMatrix(level_dbm=level, options=options, in_range=cover.any(axis=1),
                          best_level_dbm=best)


def demand_of(people: np.ndarray, mandatory: np.ndarray) -> Demand:
    """Rows of ``people``; the ``mandatory`` ones villages, the others population cells."""
    m = people.size
    return Demand(x_m=np.arange(m, dtype=float), y_m=np.zeros(m), people=people,
                  mandatory=mandatory, require_5g=np.zeros(m, bool),
                  kind=np.where(mandatory, "village", "cell"),
                  ref_id=np.array([f"R{i}" for i in range(m)]), admin_unit=np.full(m, "A"))


def costs_of(cost: np.ndarray, fixed: np.ndarray | None = None) -> OptionCosts:
    """Each option a new site of its own at ``cost`` [CNY], unless ``fixed`` (on air)."""
    n = cost.size
    fixed = np.zeros(n, bool) if fixed is None else np.asarray(fixed, bool)
    return OptionCosts(capex_cny=cost, opex_cny_per_year=np.zeros(n), total_cny=cost,
                       fixed=fixed, new_site=~fixed, group=np.arange(n, dtype=np.int64))


def fiber_network(fiber_cny: list[float], links: list[tuple[int, int, float]] = (),
                  max_hops: int = 0) -> BackhaulNetwork:
    """Each site fed by its own fiber route of ``fiber_cny`` or by the microwave ``links``
    ((site a, site b, cost [CNY]) within ``max_hops``); no satellite."""
    n_sites = len(fiber_cny)
    fiber = gpd.GeoDataFrame({"fiber_node_id": ["F"] * n_sites, "cost_cny": fiber_cny,
                              "length_m": [100.0] * n_sites}, geometry=[None] * n_sites)
    rows = [dict(site_a=a, site_b=b, band_ghz=15.0, distance_m=1000.0, min_clearance_f1=1.0,
                 cost_cny=c) for a, b, c in links]
    table = pd.DataFrame(rows, columns=list(LINK_COLUMNS)).astype(LINK_COLUMNS)
    return BackhaulNetwork(fiber=fiber, needs_backhaul=np.ones(n_sites, bool),
                           in_place=np.zeros(n_sites, bool), links=table,
                           satellite_cny_per_year=None, max_hops=max_hops)

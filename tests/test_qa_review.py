"""Defects found reviewing the day's changes (phased late stage, complaints KPIs following
the mandatory rule, existing feeds' check, ``backhaul.mandatory_feed: terrestrial``, the
node-limited tie-break): each test fails without its fix."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from shapely.geometry import Point

import siting
from regions import xy
from test_backhaul_plan import write_backhaul_region


def test_complaints_covered_counts_them_as_the_plan_does_under_terrestrial(tmp_path):
    """Mandatory complaint points only a satellite-fed site reaches are reported uncovered
    under ``mandatory_feed: terrestrial``; ``complaints_covered`` counted them covered all
    the same (covered plus uncovered came to more than the complaints there are)."""
    complaints = [dict(complaint_id=f"C{i}", people=0, geometry=Point(*xy(x, y)))
                  for i, (x, y) in enumerate([(1500, 1800), (4500, 1800), (5200, 3000)])]
    study = siting.prepare(write_backhaul_region(tmp_path, complaints=complaints, backhaul={
        "enabled": True, "max_microwave_hops": 2, "satellite_cny_per_year": 1.0}))
    network = study.backhaul
    fiber = network.fiber.assign(cost_cny=np.where(network.needs_backhaul, np.inf, 0.0))
    study = replace(study, backhaul=replace(network, fiber=fiber, links=network.links.iloc[:0]))
    ground = study.plan(type="max_coverage", budget_cny=1e7,
                        backhaul={"mandatory_feed": "terrestrial"})
    kpis = ground.summary()["kpis"]
    lost = kpis["mandatory_points_uncovered"]["complaint"]
    assert lost > 0
    assert kpis["complaints_covered"] + lost == kpis["complaints_total"]

"""``siting sweep`` as a planner uses it: budgets typed with a Chinese input method or with 万,
and a range whose step lost its exponent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from regions import TECH_4G, candidate, village, write_region
from siting.cli import app
from siting.errors import ScenarioError
from siting.sweep import MAX_RANGE_VALUES, parse_numbers

#: What one new 4G site costs over the 5 years of opex: capex, equipment, (site + carrier) opex.
ONE_SITE_CNY = 50000 + 150000 + 5 * (10000 + 12000)


def _two_clusters(folder, **scenario):
    """800 people by WEST and 320 by EAST, 4 km apart: one site buys 800, two buy 1,120."""
    population = np.zeros((60, 60), np.float32)
    population[28:32, 8:12] = 50.0
    population[28:32, 48:52] = 20.0
    return write_region(folder, np.full((200, 200), 400.0),
                        villages=[village("V1", 1000, 3000, poverty=False)],
                        candidates=[candidate("WEST", 1000, 3000, techs="4G"),
                                    candidate("EAST", 5000, 3000, techs="4G")],
                        population=population, technologies=[dict(TECH_4G, max_range_m=1500)],
                        objective={"type": "max_coverage", "budget_cny": ONE_SITE_CNY}, **scenario)


def _sweep(*args):
    return CliRunner().invoke(app, ["sweep", *map(str, args)])


def test_budgets_typed_with_a_chinese_input_method_are_read(tmp_path):
    # `--budgets 0，460000` (a full-width comma, as a Chinese input method types it) was "cannot
    # read the list"; siting predict's --at already reads one.
    result = _sweep(_two_clusters(tmp_path / "in"), "--budgets", f"0，{ONE_SITE_CNY}", "--out",
                    tmp_path / "o")
    assert result.exit_code == 0, result.stderr
    assert list(pd.read_csv(tmp_path / "o" / "cost_coverage.csv")["people_covered"]) == [0, 800]
    assert parse_numbers("0：20：10") == [0, 10, 20]


def test_a_budget_in_wan_says_how_to_write_it_in_yuan(tmp_path):
    # `--budgets 500万,1000万`: "cannot read the list; use 10e6,20e6", which did not say that
    # the unit was the trouble nor what 500万 is in yuan.
    out = tmp_path / "o"
    result = _sweep(_two_clusters(tmp_path / "in"), "--budgets", "500万,1000万", "--out", out)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "siting: error: --budgets: '500万': write the values in yuan, without 万, 亿 or 元: 500万 "
        "is 5000000 (or 5e6)"]
    assert not out.exists()
    with pytest.raises(ScenarioError, match=r"'1\.5亿': .* 1\.5亿 is 150000000 \(or 1\.5e8\)"):
        parse_numbers("1.5亿")


@pytest.mark.parametrize("text, count", [("0:60e6:5", "12,000,001 values"),
                                         ("0:inf:1e6", "endless values")])
def test_a_range_of_a_step_typed_without_its_exponent_is_refused(text, count):
    # `--budgets 0:60e6:5` (5 for 5e6) started 12 million solves; 0:inf:1e6 ran out of memory.
    with pytest.raises(ScenarioError) as refused:
        parse_numbers(text)
    assert str(refused.value) == (f"the range {text!r} gives {count}, a plan each; give at most "
                                  f"{MAX_RANGE_VALUES:,}: check the step (5e6 is 5 million)")
    assert len(parse_numbers(f"0:{MAX_RANGE_VALUES - 1}:1")) == MAX_RANGE_VALUES

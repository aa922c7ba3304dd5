"""Planners' tables, continued from tests/test_qa_inputs5.py: as-built costs refused as the
site list's are, sums and counts in 万 read as the numbers written, and the rows of pasted
county lists that are no records (a title above a repeated header, a sum without a label)."""

from __future__ import annotations

import logging

import pytest

from siting.config import load_scenario
from siting.errors import InputError
from siting.io import read_as_built, read_region
from tests.regions import TECH_4G, lonlat_region
from tests.sheets import write_rows
from tests.test_qa_inputs5 import (SITE_COLUMNS, VILLAGE_COLUMNS, read_sites, read_villages,
                                   site_record, village_record)

#: A village register's header row, as read_villages writes it.
VILLAGE_HEADER = [*VILLAGE_COLUMNS.values(), "经度", "纬度"]


def test_a_cost_in_ten_thousands_is_read_to_the_fen(tmp_path):
    """建设投资 "1.12万元" was read as 11200.000000000002 yuan (a float product), 0.07 under
    年运维费（万元） as 700.0000000000001, and so shown in tables and reports; a sum in 万元, in
    the cell or the header, is read to the fen."""
    columns = {**SITE_COLUMNS, "opex_cny_per_year": "年运维费（万元）"}
    record = site_record("S1", "1.12万元")
    record[4] = 0.07
    sites = read_sites(tmp_path / "站址.xlsx", [record], columns)
    assert sites[["capex_cny", "opex_cny_per_year"]].values.tolist() == [[11_200.0, 700.0]]
    record = site_record("S1", 2.01)
    record[4] = "1.13万元/年"
    sites = read_sites(tmp_path / "站址2.xlsx", [record],
                       {**SITE_COLUMNS, "capex_cny": "建设投资（万元）"})
    assert sites[["capex_cny", "opex_cny_per_year"]].values.tolist() == [[20_100.0, 11_300.0]]


def test_a_population_in_ten_thousands_is_read_as_the_people_written(tmp_path):
    """人口 "1.12万人" was read as 11200.000000000002 people, "约0.57万" as 5699.999999999999
    and 0.07 under 人口（万人） as 700.0000000000001; each is the number of people written."""
    villages = read_villages(tmp_path / "村庄.xlsx", [village_record("V1", "1.12万人"),
                                                    village_record("V2", "约0.57万", 108.51)])
    assert villages["population"].tolist() == [11_200.0, 5_700.0]
    columns = {**VILLAGE_COLUMNS, "population": "人口（万人）"}
    villages = read_villages(tmp_path / "村庄2.xlsx", [village_record("V1", 0.07)], columns)
    assert villages["population"].tolist() == [700.0]


@pytest.mark.parametrize("cell", ["(50,000)", "-5万元", "￥(800)"])
def test_a_negative_as_built_cost_is_refused_quoting_the_cell(tmp_path, cell):
    """An as-built list's 实际投资 "(50,000)" (Excel's accounting format for -50,000) was refused
    as "the cost must be a number of CNY, at least 0", neither quoting the cell nor saying it
    is negative; it is refused as the site list's costs are, naming the row, the column and
    the site, quoting the cell."""
    scenario, _ = lonlat_region(tmp_path / "region", {"S1": 0.05})
    scenario = load_scenario(scenario)
    path = tmp_path / "竣工.csv"
    write_rows(path, [["站址编号", "制式", "建成年份", "实际投资"],
                      ["S1", TECH_4G["name"], 2027, cell]])
    with pytest.raises(InputError) as refused:
        read_as_built(path, read_region(scenario).candidates, scenario)
    assert str(refused.value) == (
        f"{path}: row 2: field '实际投资' is negative for feature(s) S1 ({cell!r}); a cost "
        f"cannot be negative: correct the cell (0 where there is none)")


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_a_title_above_a_repeated_header_is_not_a_village(tmp_path, caplog, suffix):
    """Two counties' lists pasted one under the other, the second with its title above its
    header ("石泉县村庄名单"), were refused: the title was read as a village without
    coordinates; it is left out with the repeated header, with a warning naming both."""
    path = tmp_path / f"村庄{suffix}"
    title = ["石泉县村庄名单", *[None] * (len(VILLAGE_HEADER) - 1)]
    with caplog.at_level(logging.WARNING, logger="siting.io"):
        villages = read_villages(path, [village_record("V1", 300), title, VILLAGE_HEADER,
                                        village_record("V2", 80, 108.52)])
    assert villages.index.tolist() == ["V1", "V2"]
    assert (f"{path}: row(s) 3 (石泉县村庄名单), 4 (编号) are the header repeated and the "
            f"title(s) above it, not records; not read") in caplog.text


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_a_sum_without_a_label_under_the_list_is_not_a_village(tmp_path, caplog, suffix):
    """A village list ending in its population's sum alone (420 under 人口: no 合计, no id,
    no name, no coordinates) was refused as a village without coordinates; it is left out
    as a labelled total is, with a warning naming the row. The same row between villages
    is still refused, being no sum of the list."""
    path = tmp_path / f"村庄{suffix}"
    total = [None, None, 420, None, None, None, None, None]
    records = [village_record("V1", 300), village_record("V2", 120, 108.51)]
    with caplog.at_level(logging.WARNING, logger="siting.io"):
        villages = read_villages(path, [*records, total])
    assert villages.index.tolist() == ["V1", "V2"]
    assert f"{path}: row(s) 4 (420) are sums without a label, not records; not read" in caplog.text
    with pytest.raises(InputError, match=r"row\(s\) 3 have no coordinates"):
        read_villages(path, [records[0], total, records[1]])

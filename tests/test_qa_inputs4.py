"""Planners' tables as Chinese planners write them: words for "no value" (NA, 无, -, 空) in
numbers and yes/no fields, populations written with their unit (1.2万人, 3,400 人) or in
households, hidden columns. The files are built as Excel and WPS write them."""

from __future__ import annotations


import pandas as pd
import pytest
from openpyxl import Workbook

from siting.config import LayerSource
from siting.errors import InputError
from siting.io.layers import read_layer
from siting.io.region import CANDIDATE_FIELDS, VILLAGE_FIELDS

#: A village register's columns, as the scenario maps them.
VILLAGE_COLUMNS = {"village_id": "编号", "name": "村名", "population": "人口",
                   "admin_unit": "区县", "poverty_village": "贫困村", "relocation_site": "易地搬迁"}
#: A tower company's candidate columns, as the scenario maps them, has_fiber among them.
SITE_COLUMNS = {"site_id": "站址编号", "kind": "站址类型", "antenna_height_m": "站高",
                "capex_cny": "建设投资", "opex_cny_per_year": "年运维费",
                "free_public": "免费公共站址", "difficult": "建设困难", "extra_cost_cny": "额外费用",
                "technologies": "可建制式", "has_fiber": "有光纤"}


def _write(path, rows):
    """``rows`` (the header first) as an .xlsx workbook of one sheet, or as a CSV in GBK (what
    Chinese Excel saves as "CSV (逗号分隔)"), by ``path``'s suffix."""
    if path.suffix == ".csv":
        pd.DataFrame(rows[1:], columns=rows[0]).to_csv(path, index=False, encoding="gbk")
        return path
    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    book.save(path)
    return path


def _village(vid, population, poverty="是", lon=108.5, lat=32.5):
    return [vid, f"{vid}村", population, "汉滨区", poverty, "否", lon, lat]


def _villages(path, records, columns=VILLAGE_COLUMNS):
    """The villages of a sheet headed by ``columns``' names, 经度 and 纬度, holding ``records``."""
    _write(path, [[*columns.values(), "经度", "纬度"], *records])
    source = LayerSource(path=path, key="inputs.villages", fields=tuple(columns.items()))
    return read_layer(source, None, VILLAGE_FIELDS, "village_id")


def _sites(path, fibers):
    """The candidates of a sheet whose site S<i> has ``fibers[i]`` in its 有光纤 cell."""
    records = [[f"S{i}", "公共建筑", 30, 50000, 8000, "否", "否", 0, "4G", fiber,
                108.5 + i / 100, 32.5] for i, fiber in enumerate(fibers)]
    _write(path, [[*SITE_COLUMNS.values(), "经度", "纬度"], *records])
    source = LayerSource(path=path, key="inputs.candidates", fields=tuple(SITE_COLUMNS.items()))
    return read_layer(source, None, CANDIDATE_FIELDS, "site_id")


NO_VALUE_WORDS = ["NA", "N/A", "None", "null", "无", "-", "—", "空", "Ｎ／Ａ"]


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
@pytest.mark.parametrize("word", NO_VALUE_WORDS)
def test_a_word_for_no_value_in_a_required_number_is_refused_alike(tmp_path, suffix, word):
    """人口 holding NA was refused from a workbook as "values [nan]" (pandas read NA, N/A and
    null as empty there, not from a CSV) and 无 or - as "not a number": the same cell now gets
    one line from either file, quoting it and saying what to write."""
    path = tmp_path / f"村庄{suffix}"
    with pytest.raises(InputError) as refused:
        _villages(path, [_village("V1", 300), _village("V2", word, lon=108.6)])
    assert str(refused.value) == (
        f"{path}: field 'population' (column '人口') is empty or says it has none ({word!r}) "
        f"for feature(s) V2; give a number (0 where there is none)")


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_an_optional_yes_no_reads_no_value_as_no_and_a_required_one_refuses_it(tmp_path,
                                                                                suffix):
    """有光纤 (optional: blank is no) holding -, NA or 空 was refused as not a yes/no, and 没有
    too: they now read as no, as 无 does; 有 is yes. A required 贫困村 holding - is refused as
    empty, naming the word."""
    fibers = ["有", "无", "没有", "-", "NA", "空", "", "是"]
    sites = _sites(tmp_path / f"站址{suffix}", fibers)
    assert sites["has_fiber"].tolist() == [f in ("有", "是") for f in fibers]
    path = tmp_path / f"村庄{suffix}"
    with pytest.raises(InputError) as refused:
        _villages(path, [_village("V1", 300, poverty="-")])
    assert str(refused.value) == (
        f"{path}: field 'poverty_village' (column '贫困村') is empty or says it has none ('-') "
        f"for feature(s) V1; fill it in (true/false, yes/no, 1/0, 是/否, 有/无 or √/×)")

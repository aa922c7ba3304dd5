"""Planners' tables as Chinese planners write them: words for "no value" (NA, 无, -, 空) in
numbers and yes/no fields, populations written with their unit (1.2万人, 3,400 人) or in
households, hidden columns. The files are built as Excel and WPS write them."""

from __future__ import annotations

import codecs
import datetime
import logging
import re
import zipfile

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from siting.config import LayerSource, load_scenario
from siting.errors import InputError
from siting.io import read_as_built, read_region
from siting.io.layers import read_layer
from siting.io.measurements import measurement_columns
from siting.io.region import CANDIDATE_FIELDS, VILLAGE_FIELDS
from tests.regions import TECH_4G, lonlat_region, validate_with_cell
from tests.sheets import write_rows

#: A village register's columns, as the scenario maps them.
VILLAGE_COLUMNS = {"village_id": "编号", "name": "村名", "population": "人口",
                   "admin_unit": "区县", "poverty_village": "贫困村", "relocation_site": "易地搬迁"}
#: A tower company's candidate columns, as the scenario maps them, has_fiber among them.
SITE_COLUMNS = {"site_id": "站址编号", "kind": "站址类型", "antenna_height_m": "站高",
                "capex_cny": "建设投资", "opex_cny_per_year": "年运维费",
                "free_public": "免费公共站址", "difficult": "建设困难", "extra_cost_cny": "额外费用",
                "technologies": "可建制式", "has_fiber": "有光纤"}


def _village(vid, population, poverty="是", lon=108.5, lat=32.5):
    return [vid, f"{vid}村", population, "汉滨区", poverty, "否", lon, lat]


def _villages(path, records, columns=VILLAGE_COLUMNS):
    """The villages of a sheet headed by ``columns``' names, 经度 and 纬度, holding ``records``."""
    write_rows(path, [[*columns.values(), "经度", "纬度"], *records])
    source = LayerSource(path=path, key="inputs.villages", fields=tuple(columns.items()))
    return read_layer(source, None, VILLAGE_FIELDS, "village_id")


def _sites(path, fibers):
    """The candidates of a sheet whose site S<i> has ``fibers[i]`` in its 有光纤 cell."""
    records = [[f"S{i}", "公共建筑", 30, 50000, 8000, "否", "否", 0, "4G", fiber,
                108.5 + i / 100, 32.5] for i, fiber in enumerate(fibers)]
    write_rows(path, [[*SITE_COLUMNS.values(), "经度", "纬度"], *records])
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


#: Populations as registers write them, and the people each is.
POPULATIONS = {"1200人": 1200, "1.2万": 12_000, "1.2万人": 12_000, "3,400 人": 3400,
               "１２００人": 1200, "1，200人": 1200, "0.35 万人": 3500, "860口": 860, 540: 540}


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_a_population_written_with_its_unit_is_read_in_people(tmp_path, suffix):
    """人口 written "1200人", "1.2万人", "3,400 人" was refused as not a number; the unit is
    read, 万 as ten thousand."""
    records = [_village(f"V{i}", cell, lon=108.5 + i / 100)
               for i, cell in enumerate(POPULATIONS)]
    villages = _villages(tmp_path / f"村庄{suffix}", records)
    assert villages["population"].tolist() == list(POPULATIONS.values())


@pytest.mark.parametrize("cell", ["300户", "1.2万户", "300 户"])
def test_a_population_in_households_is_refused(tmp_path, cell):
    """A register's 人口 cell counting households (300户) was refused as not a number; it is
    refused as households, saying to give people."""
    path = tmp_path / "村庄.xlsx"
    with pytest.raises(InputError) as refused:
        _villages(path, [_village("V1", 300), _village("V2", cell, lon=108.6)])
    assert str(refused.value) == (
        f"{path}: field 'population' (column '人口') of feature(s) V2 counts households "
        f"({cell!r}), not people; give the number of people (人), from the register or "
        f"households × people per household")


@pytest.mark.parametrize("header, mapped, units", [("人口（万人）", "人口（万人）", None),
                                                   ("人口", "人口", "万人")])
def test_a_population_column_in_ten_thousands_is_converted(tmp_path, caplog, header, mapped,
                                                           units):
    """A population column headed 人口（万人） (or with 万人 in the units row under it) was read
    as persons, 10,000 times too few people (or its units row refused as a record); it is
    read in ten thousands, and the run says so."""
    columns = {**VILLAGE_COLUMNS, "population": mapped}
    header_row = [*{**VILLAGE_COLUMNS, "population": header}.values(), "经度", "纬度"]
    units_row = [[""] * 2 + [units] + [""] * 5] if units else []
    path = write_rows(tmp_path / "村庄.xlsx", [header_row, *units_row, _village("V1", 0.12),
                                          _village("V2", 3, lon=108.6)])
    source = LayerSource(path=path, key="inputs.villages", fields=tuple(columns.items()))
    with caplog.at_level(logging.WARNING, logger="siting.io"):
        villages = read_layer(source, None, VILLAGE_FIELDS, "village_id")
    assert villages["population"].tolist() == pytest.approx([1200, 30_000])
    assert "is in 万人; read as population in persons (x 10000)" in caplog.text


@pytest.mark.parametrize("header, units", [("户数", None), ("人口(户)", None), ("人口", "户")])
def test_a_population_column_of_households_is_refused(tmp_path, header, units):
    """A population mapped to a column of households (户数, 人口(户), or 户 in the units row)
    was read as people (or the column not found); it is refused by name."""
    header_row = [*{**VILLAGE_COLUMNS, "population": header}.values(), "经度", "纬度"]
    units_row = [[""] * 2 + [units] + [""] * 5] if units else []
    path = write_rows(tmp_path / "村庄.xlsx", [header_row, *units_row, _village("V1", 80)])
    columns = {**VILLAGE_COLUMNS, "population": header}
    source = LayerSource(path=path, key="inputs.villages", fields=tuple(columns.items()))
    with pytest.raises(InputError) as refused:
        read_layer(source, None, VILLAGE_FIELDS, "village_id")
    column = header if units is None else f"{header}({units})"
    assert str(refused.value) == (
        f"{path}: column '{column}' (population) counts households, not people; map "
        f"population to a column of people (人口), or give households × people per household")


def test_validate_refuses_households_in_one_line(tmp_path):
    """`siting validate` on a village list whose population says 户: exit 2, one line on
    stderr naming the file, the village, the field and what to do; no traceback."""
    villages, errors = validate_with_cell(tmp_path, "villages.csv", "population", "120户")
    assert errors == [
        f"siting: error: {villages}: field 'population' of feature(s) V1 counts households ('120户'), "
        f"not people; give the number of people (人), from the register or households × "
        f"people per household"]


def _hide(path, letters):
    """Hide the columns ``letters`` of the workbook at ``path``'s first sheet, as Excel's 隐藏
    does (18.3.1.13 ``col hidden``)."""
    book = load_workbook(path)
    for letter in letters:
        book.active.column_dimensions[letter].hidden = True
    book.save(path)
    return path


def _read_sheet_villages(path, columns=VILLAGE_COLUMNS, **coordinates):
    source = LayerSource(path=path, key="inputs.villages", fields=tuple(columns.items()),
                         **coordinates)
    return read_layer(source, None, VILLAGE_FIELDS, "village_id")


def test_a_hidden_superseded_coordinate_pair_gives_way_to_the_shown_one(tmp_path, caplog):
    """A sheet whose old 经度/纬度 (columns G, H) the planner hid beside the surveyed
    站址经度/站址纬度 was placed by the hidden pair, 850 km off, without a word: the shown
    pair is read, and nothing hidden is read, so nothing is warned."""
    header = [*VILLAGE_COLUMNS.values(), "经度", "纬度", "站址经度", "站址纬度"]
    records = [[*_village(vid, 300)[:6], 100.0 + i, 30.0, lon, lat]
               for i, (vid, lon, lat) in enumerate([("V1", 108.51, 32.52), ("V2", 108.63, 32.64)])]
    path = _hide(write_rows(tmp_path / "村庄.xlsx", [header, *records]), "GH")
    with caplog.at_level(logging.WARNING, logger="siting.io"):
        villages = _read_sheet_villages(path)
    assert list(zip(villages.geometry.x, villages.geometry.y)) == [(108.51, 32.52),
                                                                   (108.63, 32.64)]
    assert "hidden in Excel" not in caplog.text


@pytest.mark.parametrize("coordinates", [{}, {"x": "经度", "y": "纬度"}])
def test_hidden_columns_that_are_read_are_named(tmp_path, caplog, coordinates):
    """人口 (C) and the only 经度/纬度 (G, H) hidden in Excel were read without a word; they are
    still read (nothing else gives them), and a warning names each with its field."""
    path = _hide(write_rows(tmp_path / "村庄.xlsx", [[*VILLAGE_COLUMNS.values(), "经度", "纬度"],
                                                _village("V1", 300)]), "CGH")
    with caplog.at_level(logging.WARNING, logger="siting.io"):
        villages = _read_sheet_villages(path, **coordinates)
    assert villages["population"].tolist() == [300]
    assert (villages.geometry.x.iloc[0], villages.geometry.y.iloc[0]) == (108.5, 32.5)
    assert caplog.messages.count(
        f"{path}: column(s) '经度' (x), '纬度' (y), hidden in Excel, are read; unhide them to "
        f"check them, or read another column if they are superseded") == 1
    assert caplog.messages.count(
        f"{path}: column(s) '人口' (population), hidden in Excel, are read; unhide them to "
        f"check them, or read another column if they are superseded") == 1


def test_an_as_built_list_reads_its_shown_year_not_a_hidden_one(tmp_path, caplog):
    """An as-built list whose superseded 建成年份 (B) is hidden beside the 年份 kept up to date
    took its years from the hidden column (建成年份 is the more specific name): the shown
    one is read."""
    scenario, _ = lonlat_region(tmp_path / "region", {"S1": 0.05})
    scenario = load_scenario(scenario)
    data = read_region(scenario)
    path = _hide(write_rows(tmp_path / "竣工.xlsx", [["站址编号", "建成年份", "年份", "制式", "实际投资"],
                                                ["S1", 2025, 2027, TECH_4G["name"], 200_000]]),
                 "B")
    with caplog.at_level(logging.WARNING, logger="siting.io"):
        built = read_as_built(path, data.candidates, scenario)
    assert built.sites["year"].tolist() == ["2027"]
    assert "hidden in Excel" not in caplog.text


#: Sums as Excel's currency and accounting formats save them in a CSV (the text shown), and
#: the yuan each is.
SUMS = {"¥50,000.00": 50_000, "￥8,000": 8000, " ¥ 1,250.50 ": 1250.5, " ¥ -   ": 0,
        "50000元": 50_000, "RMB 3,000": 3000, "1200": 1200}


def test_sums_saved_with_their_currency_are_read_in_yuan(tmp_path):
    """A site list whose cost columns were formatted as currency (货币, 会计专用) and saved as
    CSV holds "¥50,000.00", "￥8,000", and " ¥ -   " for 0: each was refused as not a number;
    the sign and 元 are read, and the accounting format's dash as 0."""
    header = [*list(SITE_COLUMNS.values())[:-1], "经度", "纬度"]
    records = [[f"S{i}", "公共建筑", 30, cell, cell, "否", "否", cell, "4G", 108.5 + i / 100, 32.5]
               for i, cell in enumerate(SUMS)]
    path = tmp_path / "站址.csv"
    pd.DataFrame(records, columns=header).to_csv(path, index=False, encoding="gb18030")
    fields = tuple(list(SITE_COLUMNS.items())[:-1])
    source = LayerSource(path=path, key="inputs.candidates", fields=fields)
    sites = read_layer(source, None, CANDIDATE_FIELDS, "site_id")
    for field in ("capex_cny", "opex_cny_per_year", "extra_cost_cny"):
        assert sites[field].tolist() == list(SUMS.values())


def test_an_as_built_cost_saved_with_its_currency_is_read_in_yuan(tmp_path):
    """实际投资 saved from a currency-formatted column ("￥205,000.00") was refused as not a
    number of CNY; it is read in yuan."""
    scenario, _ = lonlat_region(tmp_path / "region", {"S1": 0.05})
    scenario = load_scenario(scenario)
    path = tmp_path / "竣工.csv"
    write_rows(path, [["站址编号", "制式", "建成年份", "实际投资"],
                      ["S1", TECH_4G["name"], 2027, "￥205,000.00"]])
    built = read_as_built(path, read_region(scenario).candidates, scenario)
    assert built.sites["cost_cny"].tolist() == [205_000.0]


def test_a_hidden_first_sheet_is_not_read_for_the_first_one_shown(tmp_path, caplog):
    """A workbook whose first sheet (an old version, 旧版) is hidden, the planner seeing 村庄
    first, had the hidden sheet's villages read, and was told the shown sheet was left out;
    the first sheet shown is read, without a word of the hidden one."""
    book = Workbook()
    old, shown = book.active, book.create_sheet("村庄")
    old.title = "旧版"
    for sheet, population in ((old, 999), (shown, 300)):
        sheet.append([*VILLAGE_COLUMNS.values(), "经度", "纬度"])
        sheet.append(_village("V1", population))
    old.sheet_state = "hidden"
    book.active = 1
    book.save(path := tmp_path / "村庄.xlsx")
    with caplog.at_level(logging.WARNING, logger="siting.io"):
        villages = _read_sheet_villages(path)
    assert villages["population"].tolist() == [300]
    assert "旧版" not in caplog.text


def _with_builtin_format(path, number_format_id):
    """The workbook at ``path`` with every custom number format of its cells replaced by the
    built-in ``number_format_id`` and left undefined, as Chinese Excel saves its own date
    formats (ECMA-376 Part 1, 18.8.30: zh-cn 31 is yyyy"年"m"月"d"日")."""
    source = path.with_suffix(".src.xlsx")
    path.rename(source)
    with zipfile.ZipFile(source) as book, zipfile.ZipFile(path, "w") as saved:
        for item in book.infolist():
            data = book.read(item.filename)
            if item.filename == "xl/styles.xml":
                styles = re.sub(r"<numFmts.*?</numFmts>", "", data.decode())
                data = re.sub(r'numFmtId="1[6-9]\d"', f'numFmtId="{number_format_id}"',
                              styles).encode()
            saved.writestr(item, data)
    return path


@pytest.mark.parametrize("number_format_id, opened", [(31, datetime.date(2027, 5, 20)),
                                                       (57, datetime.date(2027, 5, 1))])
def test_an_as_built_date_in_chinese_excels_format_gives_its_year(tmp_path, number_format_id,
                                                                   opened):
    """An as-built list whose 开通日期 Chinese Excel shows as 2027年5月20日 (built-in format 31,
    which openpyxl does not know) was read as the day's number and refused ("year '46527' is
    outside the plan"); it is read as the date, and the year taken."""
    scenario, _ = lonlat_region(tmp_path / "region", {"S1": 0.05})
    scenario = load_scenario(scenario)
    book = Workbook()
    book.active.append(["站址编号", "制式", "开通日期", "实际投资"])
    book.active.append(["S1", TECH_4G["name"], opened, 200_000])
    book.active["C2"].number_format = 'yyyy"年"m"月"d"日"'
    book.save(path := tmp_path / "竣工.xlsx")
    _with_builtin_format(path, number_format_id)
    built = read_as_built(path, read_region(scenario).candidates, scenario)
    assert built.sites["year"].tolist() == [str(opened.year)]


def test_a_drive_test_export_reads_its_shown_rsrp_not_a_hidden_one(tmp_path):
    """A drive-test sheet whose raw RSRP column (B) is hidden beside the corrected
    RSRP（dBm） had the hidden one read (RSRP is the name tried first); the shown one is."""
    path = _hide(write_rows(tmp_path / "路测.xlsx", [
        ["站址编号", "RSRP", "RSRP（dBm）", "制式", "经度", "纬度"],
        ["S1", -150, -95, "LTE1800", 108.5, 32.5]]), "B")
    assert dict(measurement_columns(path))["rsrp_dbm"] == "RSRP（dBm）"


def test_a_gbk_csv_behind_a_utf8_byte_order_mark_is_read(tmp_path):
    """A village list saved as GBK by an editor that kept the UTF-8 byte-order mark of the
    file it opened was refused as neither UTF-8 nor GB18030; the text after the mark is read
    as GB18030."""
    header = [*VILLAGE_COLUMNS.values(), "经度", "纬度"]
    records = [_village("V1", 300), _village("V2", "1,200", lon=108.6)]
    text = "\n".join(",".join(f'"{cell}"' for cell in row) for row in [header, *records])
    path = tmp_path / "村庄.csv"
    path.write_bytes(codecs.BOM_UTF8 + text.encode("gbk"))
    villages = _read_sheet_villages(path)
    assert villages["name"].tolist() == ["V1村", "V2村"]
    assert villages["population"].tolist() == [300, 1200]


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_an_id_or_a_name_saying_none_is_refused_as_empty(tmp_path, suffix):
    """A village whose 编号 says - (or whose 村名 says 无) was read as the village '-' (from a
    CSV; from a workbook, NA was empty): such an id or name is refused as empty, naming the
    row and the word."""
    path = tmp_path / f"村庄{suffix}"
    with pytest.raises(InputError) as refused:
        _villages(path, [_village("V1", 300), _village("-", 200, lon=108.6)])
    assert str(refused.value) == (
        f"{path}: field 'village_id' is empty or says it has none ('-') for row 3; "
        f"every feature needs an id")
    unnamed = _village("V2", 200, lon=108.6)
    unnamed[1] = "无"
    with pytest.raises(InputError) as refused:
        _villages(path, [_village("V1", 300), unnamed])
    assert str(refused.value) == (
        f"{path}: field 'name' (column '村名') is empty or says it has none ('无') for "
        f"feature(s) V2; fill it in")


def test_a_year_saved_as_excels_day_number_is_told_which_date_it_is(tmp_path):
    """An as-built CSV whose 建成日期 column lost its date format holds 46527 (Excel's number
    for 2027-05-20), refused only as a year outside the plan; the line now says which date
    it is and how to show it."""
    scenario, _ = lonlat_region(tmp_path / "region", {"S1": 0.05})
    scenario = load_scenario(scenario)
    path = tmp_path / "竣工.csv"
    pd.DataFrame([["S1", TECH_4G["name"], 46527, 1000]],
                 columns=["站址编号", "制式", "建成日期", "实际投资"]).to_csv(
        path, index=False, encoding="gbk")
    day = (datetime.date(1899, 12, 30) + datetime.timedelta(days=46527)).isoformat()
    with pytest.raises(InputError) as refused:
        read_as_built(path, read_region(scenario).candidates, scenario)
    assert str(refused.value) == (
        f"{path}: row 2, field '建成日期': year '46527' is outside the plan (46527 is how Excel "
        f"stores the date {day}: format the column as a date, 设置单元格格式 > 日期, and save "
        f"again); give the year as a number such as 2027")

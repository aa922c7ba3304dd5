"""Planners' tables as Chinese planners write them: costs in 万元 (in the cell or in the header),
approximate village populations (约1200人), negative sums in Excel's accounting format
((50,000)), workbooks saved as Strict Open XML or in other formats, and sheets laid out as
statistical tables. The files are built as Excel and WPS write them."""

from __future__ import annotations

import logging
import zipfile

import pandas as pd
import pytest

from siting.config import LayerSource, load_scenario
from siting.errors import InputError
from siting.io import read_as_built, read_region
from siting.io.layers import read_layer
from siting.io.region import CANDIDATE_FIELDS, VILLAGE_FIELDS
from tests.regions import TECH_4G, lonlat_region, validate_with_cell
from tests.sheets import write_rows

#: A village register's columns, as the scenario maps them.
VILLAGE_COLUMNS = {"village_id": "编号", "name": "村名", "population": "人口",
                   "admin_unit": "区县", "poverty_village": "贫困村", "relocation_site": "易地搬迁"}
#: A tower company's candidate columns, as the scenario maps them.
SITE_COLUMNS = {"site_id": "站址编号", "kind": "站址类型", "antenna_height_m": "站高",
                "capex_cny": "建设投资", "opex_cny_per_year": "年运维费",
                "free_public": "免费公共站址", "difficult": "建设困难", "extra_cost_cny": "额外费用",
                "technologies": "可建制式"}


def village_record(vid, population, lon=108.5):
    return [vid, f"{vid}村", population, "汉滨区", "是", "否", lon, 32.5]


def read_villages(path, records, columns=VILLAGE_COLUMNS):
    """The villages of a sheet headed by ``columns``' names, 经度 and 纬度, holding ``records``."""
    write_rows(path, [[*columns.values(), "经度", "纬度"], *records])
    source = LayerSource(path=path, key="inputs.villages", fields=tuple(columns.items()))
    return read_layer(source, None, VILLAGE_FIELDS, "village_id")


def site_record(sid, capex, lon=108.5):
    return [sid, "公共建筑", 30, capex, 8000, "否", "否", 0, "4G", lon, 32.5]


def read_sites(path, records, columns=SITE_COLUMNS):
    """The candidates of a sheet headed by ``columns``' names, 经度 and 纬度, holding ``records``."""
    write_rows(path, [[*columns.values(), "经度", "纬度"], *records])
    source = LayerSource(path=path, key="inputs.candidates", fields=tuple(columns.items()))
    return read_layer(source, None, CANDIDATE_FIELDS, "site_id")


#: Costs written in 万元 in the cell, and their number of 万 (the yuan computed from it).
WAN_CELLS = {"5万元": 5, "5万": 5, "0.5万元": 0.5, "1.2 万元": 1.2, "￥3.5万": 3.5,
             "２．５万元": 2.5, "1,200万元": 1200}


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_a_cost_written_in_ten_thousands_is_read_in_yuan(tmp_path, suffix):
    """建设投资 written "5万元", "0.5万", "1.2 万元" (planners count money in 万元) was refused
    as not a number; each is read in yuan, 万 as ten thousand."""
    records = [site_record(f"S{i}", cell, lon=108.5 + i / 100) for i, cell in enumerate(WAN_CELLS)]
    sites = read_sites(tmp_path / f"站址{suffix}", records)
    assert sites["capex_cny"].tolist() == pytest.approx([w * 10_000 for w in WAN_CELLS.values()])


@pytest.mark.parametrize("header", ["造价（万元）", "投资(万元)", "建设投资（万元）"])
def test_a_cell_with_its_own_unit_under_a_header_in_ten_thousands_is_read_once(tmp_path, header):
    """Under 造价（万元） a cell written "5万元" was read as 50,000 and then, for the header,
    times 10,000 again (500 million yuan for a 50,000 yuan site), and "800元" as 8 million;
    a cell naming its unit is read in it, a bare number in the header's."""
    columns = {**SITE_COLUMNS, "capex_cny": header}
    sites = read_sites(tmp_path / "站址.xlsx", [site_record("S1", 5), site_record("S2", "5万元"),
                                               site_record("S3", "800元")], columns)
    assert sites["capex_cny"].tolist() == [5 * 10_000, 5 * 10_000, 800]


def test_a_count_with_its_own_unit_under_a_header_in_ten_thousands_is_read_once(tmp_path):
    """Under 人口（万人） a cell written "0.12万人" was read as 1,200 and then times 10,000 again
    (12 million people in a village), and "1200人" as 12 million; each is 1,200 people."""
    columns = {**VILLAGE_COLUMNS, "population": "人口（万人）"}
    cells = [0.12, "0.12万人", "1200人", "约0.12万人"]
    villages = read_villages(tmp_path / "村庄.xlsx", [village_record(f"V{i}", cell, 108.5 + i / 100)
                                                    for i, cell in enumerate(cells)], columns)
    assert villages["population"].tolist() == pytest.approx([1200] * len(cells))


@pytest.mark.parametrize("header", ["实际投资", "实际投资（万元）"])
def test_an_as_built_cost_in_ten_thousands_is_read_in_yuan(tmp_path, header):
    """An as-built list's 实际投资 written "20.5万元" was refused as not a number of CNY; it is
    read in yuan, once whatever the header's unit."""
    scenario, _ = lonlat_region(tmp_path / "region", {"S1": 0.05})
    scenario = load_scenario(scenario)
    path = tmp_path / "竣工.csv"
    pd.DataFrame([["S1", TECH_4G["name"], 2027, "20.5万元"]],
                 columns=["站址编号", "制式", "建成年份", header]).to_csv(
        path, index=False, encoding="gbk")
    built = read_as_built(path, read_region(scenario).candidates, scenario)
    assert built.sites["cost_cny"].tolist() == [20.5 * 10_000]


#: Approximate counts as village registers write them, and the number each writes.
APPROXIMATE = {"约1200人": 1200, "1200余人": 1200, "1200多人": 1200, "~1200": 1200,
               "～860": 860, "1200人左右": 1200, "约1.2万人": 12_000, "大约 300 人": 300}


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_an_approximate_population_is_read_as_written_and_counted_once(tmp_path, caplog, suffix):
    """人口 written "约1200人", "1200余人", "~1200" was refused as not a number; each is read as
    the number written, and one warning counts the approximate cells."""
    cells = [*APPROXIMATE, 540]
    records = [village_record(f"V{i}", cell, 108.5 + i / 100) for i, cell in enumerate(cells)]
    with caplog.at_level(logging.WARNING, logger="siting.io"):
        villages = read_villages(tmp_path / f"村庄{suffix}", records)
    assert villages["population"].tolist() == [*APPROXIMATE.values(), 540]
    warned = [r.getMessage() for r in caplog.records if "approximate count" in r.getMessage()]
    assert warned == [f"{tmp_path / f'村庄{suffix}'}: field 'population' gives {len(APPROXIMATE)} "
                      f"approximate count(s) (feature V0: '约1200人'); read as the number written"]


@pytest.mark.parametrize("cell", ["(50000)", "¥(50,000)", "（50000）", "-50000", "-5万元"])
def test_a_negative_cost_is_refused_quoting_the_cell(tmp_path, cell):
    """建设投资 "(50000)" (Excel's accounting format for -50,000) was refused as "not a number",
    "-50000" as "negative" without the cell or what to do: both are refused in one line
    naming the file, the site, the field and its column, quoting the cell."""
    path = tmp_path / "站址.xlsx"
    with pytest.raises(InputError) as refused:
        read_sites(path, [site_record("S1", 50000), site_record("S2", cell, lon=108.6)])
    assert str(refused.value) == (
        f"{path}: field 'capex_cny' (column '建设投资') is negative for feature(s) S2 ({cell!r}); "
        f"a cost cannot be negative: correct the cell (0 where there is none)")


def test_a_negative_population_is_refused_quoting_the_cell(tmp_path):
    path = tmp_path / "村庄.csv"
    with pytest.raises(InputError) as refused:
        read_villages(path, [village_record("V1", "-120")])
    assert str(refused.value) == (
        f"{path}: field 'population' (column '人口') is negative for feature(s) V1 ('-120'); "
        f"a population cannot be negative: correct the cell (0 where there is none)")


def test_validate_refuses_an_accounting_negative_cost_in_one_line(tmp_path):
    """`siting validate` on a site list whose capex holds "(50,000)": exit 2, one line on
    stderr naming the file, the site, the field and what to do; no traceback."""
    candidates, errors = validate_with_cell(tmp_path, "sites.csv", "capex_cny", "(50,000)")
    assert errors == [
        f"siting: error: {candidates}: field 'capex_cny' is negative for feature(s) S1 "
        f"('(50,000)'); a cost cannot be negative: correct the cell (0 where there is none)"]


#: The namespaces of a transitional workbook's parts and their Strict Open XML ones
#: (ECMA-376 Part 1, Annex A), as Excel's "Strict Open XML 电子表格" writes them.
STRICT_NAMESPACES = {
    b"http://schemas.openxmlformats.org/spreadsheetml/2006/main":
        b"http://purl.oclc.org/ooxml/spreadsheetml/main",
    b"http://schemas.openxmlformats.org/officeDocument/2006/relationships":
        b"http://purl.oclc.org/ooxml/officeDocument/relationships",
    b"http://schemas.openxmlformats.org/drawingml/2006/main":
        b"http://purl.oclc.org/ooxml/drawingml/main"}


def as_strict_open_xml(workbook, path):
    """The .xlsx ``workbook`` rewritten at ``path`` with the namespaces of
    :data:`STRICT_NAMESPACES`."""
    with zipfile.ZipFile(workbook) as source, zipfile.ZipFile(path, "w") as strict:
        for member in source.infolist():
            data = source.read(member.filename)
            for transitional, strict_namespace in STRICT_NAMESPACES.items():
                data = data.replace(transitional, strict_namespace)
            strict.writestr(member, data)
    return path


def test_a_strict_open_xml_workbook_is_refused_in_one_line(tmp_path):
    """A village list saved as "Strict Open XML 电子表格" stopped the run with a traceback
    (openpyxl finds no sheet in it: IndexError); it is refused in one line saying how to save
    it. The same workbook saved normally is read."""
    normal = tmp_path / "村庄.xlsx"
    assert len(read_villages(normal, [village_record("V1", 300)])) == 1
    strict = as_strict_open_xml(normal, tmp_path / "村庄_strict.xlsx")
    source = LayerSource(path=strict, key="inputs.villages", fields=tuple(VILLAGE_COLUMNS.items()))
    with pytest.raises(InputError) as refused:
        read_layer(source, None, VILLAGE_FIELDS, "village_id")
    assert str(refused.value) == (
        f"{strict}: a Strict Open XML workbook (Excel's \"Strict Open XML 电子表格\"), which cannot "
        f"be read; open it in Excel and save it as an Excel workbook (.xlsx: 另存为 > Excel 工作簿)")


#: An OpenDocument spreadsheet's first member, as LibreOffice and WPS write it (ODF 1.2 Part 3,
#: 3.3: an uncompressed "mimetype" naming the document's type).
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
#: The first bytes of an OLE2 compound file (MS-CFB 2.2), as WPS 表格 writes an .et file.
OLE2_HEADER = bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504)


def test_a_wps_or_opendocument_spreadsheet_is_refused_in_one_line(tmp_path):
    """A village list given as WPS's own .et file (or an Excel .xlsb) was refused as "not a
    supported vector file ... GeoPackage, GeoJSON?", an .ods one as "no geometry column":
    each is refused naming what it is and how to save it as .xlsx; an .xlsx workbook named
    .et is read."""
    et, ods = tmp_path / "村庄.et", tmp_path / "村庄.ods"
    et.write_bytes(OLE2_HEADER)
    with zipfile.ZipFile(ods, "w") as package:
        package.writestr("mimetype", ODS_MIMETYPE)
    save = "save it as an Excel workbook (.xlsx: 另存为 > Excel 工作簿) and name that file"
    xlsb = tmp_path / "村庄.xlsb"
    with zipfile.ZipFile(xlsb, "w") as package:
        package.writestr("xl/workbook.bin", b"\x83\x01\x00")
    for path, what in ((et, "a WPS 表格 (.et) spreadsheet cannot be read; open it in WPS"),
                       (ods, "an OpenDocument (.ods) spreadsheet cannot be read; open it in "
                             "LibreOffice or WPS"),
                       (xlsb, "an Excel binary (.xlsb) workbook cannot be read; open it in "
                              "Excel")):
        source = LayerSource(path=path, key="inputs.villages", fields=tuple(VILLAGE_COLUMNS.items()))
        with pytest.raises(InputError) as refused:
            read_layer(source, None, VILLAGE_FIELDS, "village_id")
        assert str(refused.value) == f"{path}: {what} and {save}"
    renamed = tmp_path / "村庄2.et"
    write_rows(tmp_path / "村庄2.xlsx", [[*VILLAGE_COLUMNS.values(), "经度", "纬度"],
                                        village_record("V1", 300)]).rename(renamed)
    source = LayerSource(path=renamed, key="inputs.villages", fields=tuple(VILLAGE_COLUMNS.items()))
    assert read_layer(source, None, VILLAGE_FIELDS, "village_id").index.tolist() == ["V1"]


@pytest.mark.parametrize("label", ["合计：120个村", "合计（3个行政村）", "总计(人口)"])
def test_a_total_row_saying_what_it_counted_is_not_a_village(tmp_path, caplog, label):
    """A village sheet's last row "合计：120个村" (the count after the word) was read as a
    village and refused for its blank coordinates, as if a record had lost them; it is left
    out as a total, with a warning naming it, as "合计" alone is."""
    path = tmp_path / "村庄.xlsx"
    total = [label, None, 300, None, None, None, None, None]
    with caplog.at_level(logging.WARNING, logger="siting.io"):
        villages = read_villages(path, [village_record("V1", 300), total])
    assert villages.index.tolist() == ["V1"]
    assert f"{path}: row(s) 3 (" in caplog.text and "are totals, not records; not read" in caplog.text


@pytest.mark.parametrize("header, units", [("年运维费（万元/年）", None), ("年运维费", "万元/年"),
                                           ("年运维费(元/年)", None)])
def test_a_yearly_cost_with_its_unit_per_year_is_found_and_read_in_yuan(tmp_path, header, units):
    """A site list headed 年运维费（万元/年） (or with 万元/年 in a units row under 年运维费), the
    scenario mapping 年运维费, was refused as "missing column 年运维费" (and its units row as a
    record); the column is found, and read in yuan: 万元 times 10,000, 元 as it is."""
    sheet = [*{**SITE_COLUMNS, "opex_cny_per_year": header}.values(), "经度", "纬度"]
    units_row = [[""] * 4 + [units] + [""] * 6] if units else []
    path = write_rows(tmp_path / "站址.xlsx", [sheet, *units_row, site_record("S1", 50000)])
    source = LayerSource(path=path, key="inputs.candidates", fields=tuple(SITE_COLUMNS.items()))
    sites = read_layer(source, None, CANDIDATE_FIELDS, "site_id")
    per_yuan = 10_000 if "万元" in f"{header}{units}" else 1
    assert sites["opex_cny_per_year"].tolist() == [8000 * per_yuan]


@pytest.mark.parametrize("cell, height_m", [("３５ｍ", 35), ("３５．５ｍ", 35.5), ("30 Ｍ", 30)])
def test_a_height_typed_in_full_width_with_its_unit_is_read_in_metres(tmp_path, cell, height_m):
    """站高 typed "３５ｍ" (a Chinese input method in full-width mode) was refused as not a
    number, where "３５米" and "35m" were read; it is read in metres."""
    record = site_record("S1", 50000)
    record[2] = cell
    sites = read_sites(tmp_path / "站址.xlsx", [record])
    assert sites["antenna_height_m"].tolist() == [height_m]


def with_formula_values(workbook, path, values):
    """The .xlsx ``workbook`` (written by openpyxl: formulas without values) at ``path`` with
    ``values`` (formula -> its value) stored as Excel stores them when it saves the file."""
    with zipfile.ZipFile(workbook) as source, zipfile.ZipFile(path, "w") as saved:
        for member in source.infolist():
            data = source.read(member.filename)
            for formula, value in values.items():
                data = data.replace(f"<f>{formula}</f><v />".encode(),
                                    f"<f>{formula}</f><v>{value}</v>".encode())
            saved.writestr(member, data)
    return path


def test_a_formula_never_computed_is_refused_not_read_as_empty(tmp_path):
    """A village list written by a program with 人口 as a formula (=120+180), its value never
    computed (Excel shows 300 when it opens it), was refused as "field 'population' is empty";
    it is refused naming the cell and the formula, saying to open and save the workbook.
    The same workbook once saved by Excel (the value stored) is read."""
    path = tmp_path / "村庄.xlsx"
    with pytest.raises(InputError) as refused:
        read_villages(path, [village_record("V1", 300), village_record("V2", "=120+180", 108.6)])
    assert str(refused.value) == (
        f"{path}: sheet 'Sheet': cell(s) C3 hold formulas whose values were never computed "
        f"(C3: =120+180), as a program writing the workbook leaves them; open it in Excel or "
        f"WPS and save it, so that their values are stored")
    saved = with_formula_values(path, tmp_path / "村庄_saved.xlsx", {"120+180": 120 + 180})
    source = LayerSource(path=saved, key="inputs.villages", fields=tuple(VILLAGE_COLUMNS.items()))
    assert read_layer(source, None, VILLAGE_FIELDS, "village_id")["population"].tolist() == [300, 300]


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_a_header_repeated_under_the_first_list_is_not_a_village(tmp_path, caplog, suffix):
    """Two counties' village lists pasted one under the other, each with its header, were
    refused: the second header was read as a village without coordinates ("row 4: '经度',
    '纬度'; write them as numbers"); it is left out with a warning, and both lists read."""
    path = tmp_path / f"村庄{suffix}"
    header = [*VILLAGE_COLUMNS.values(), "经度", "纬度"]
    with caplog.at_level(logging.WARNING, logger="siting.io"):
        villages = read_villages(path, [village_record("V1", 300), village_record("V2", 120, 108.51),
                                        header, village_record("V3", 80, 108.52)])
    assert villages.index.tolist() == ["V1", "V2", "V3"]
    assert villages["population"].tolist() == [300, 120, 80]
    assert f"{path}: row(s) 4 (编号) are the header repeated, not records; not read" in caplog.text


def test_a_yearly_cost_written_per_year_is_read_in_yuan_only_in_a_yearly_field(tmp_path):
    """年运维费 written "0.8万元/年" or "3000元/年" was refused as not a number; it is read in
    yuan a year. The same text in 建设投资 (spent once) is still refused, quoting the cell."""
    records = [site_record("S1", 50000), site_record("S2", 50000, lon=108.51)]
    records[0][4], records[1][4] = "0.8万元/年", "3000元每年"
    sites = read_sites(tmp_path / "站址.xlsx", records)
    assert sites["opex_cny_per_year"].tolist() == pytest.approx([0.8 * 10_000, 3000])
    path = tmp_path / "站址2.xlsx"
    with pytest.raises(InputError) as refused:
        read_sites(path, [site_record("S1", "5万元/年")])
    assert str(refused.value) == (
        f"{path}: field 'capex_cny' (column '建设投资') is missing or not a number for "
        f"feature(s) S1 (values ['5万元/年']); give a number")


def test_a_header_wrapped_over_two_lines_is_named_on_one_line(tmp_path):
    """A header cell wrapped with Alt+Enter (人口⏎（人）) put its line break into every message
    naming the column, so a bad population gave two lines (the second "（人）') is missing or
    not a number ..."); the column is named with a space for the break, on one line, and
    still found by the scenario's 人口."""
    path = tmp_path / "村庄.xlsx"
    header = [*VILLAGE_COLUMNS.values(), "经度", "纬度"]
    header[2] = "人口\n（人）"
    write_rows(path, [header, village_record("V1", 300), village_record("V2", "三百", 108.51)])
    source = LayerSource(path=path, key="inputs.villages", fields=tuple(VILLAGE_COLUMNS.items()))
    with pytest.raises(InputError) as refused:
        read_layer(source, None, VILLAGE_FIELDS, "village_id")
    assert str(refused.value) == (
        f"{path}: field 'population' (column '人口 （人）') is missing or not a number for "
        f"feature(s) V2 (values ['三百']); give a number")


@pytest.mark.parametrize("note, header", [(["单位：万元"], "建设投资（万元）"),
                                          (["站址清单", *[None] * 9, "（金额单位：万元）"],
                                           "建设投资（万元）"),
                                          (["单位:万人"], "人口（万人）")])
def test_a_unit_noted_above_the_table_is_refused_not_ignored(tmp_path, note, header):
    """A site list whose title rows say "单位：万元" had its 建设投资 of 5 read as 5 yuan (the
    note above the header was skipped as a title), 10,000 times too cheap; the table is
    refused naming the row and the note, saying to write the unit in the headers."""
    path = tmp_path / "站址.xlsx"
    write_rows(path, [note, [*SITE_COLUMNS.values(), "经度", "纬度"], site_record("S1", 5)])
    source = LayerSource(path=path, key="inputs.candidates", fields=tuple(SITE_COLUMNS.items()))
    with pytest.raises(InputError) as refused:
        read_layer(source, None, CANDIDATE_FIELDS, "site_id")
    assert str(refused.value) == (
        f"{path}: row 1 gives the whole table's unit ({note[-1]!r}), which is not read: write the "
        f"unit in the header of each column it applies to ({header}) and delete that note")


def test_a_plain_unit_noted_above_the_table_is_read_as_it_is(tmp_path):
    """A note of a unit read as it is (单位：元) leaves the table read."""
    path = tmp_path / "站址.xlsx"
    write_rows(path, [["单位：元"], [*SITE_COLUMNS.values(), "经度", "纬度"], site_record("S1", 5)])
    source = LayerSource(path=path, key="inputs.candidates", fields=tuple(SITE_COLUMNS.items()))
    assert read_layer(source, None, CANDIDATE_FIELDS, "site_id")["capex_cny"].tolist() == [5]


def test_a_workbook_named_csv_is_read_as_a_workbook(tmp_path):
    """An .xlsx workbook renamed .csv (as a web system's export names it, or a planner
    "converting" it by its name) was refused as "neither UTF-8 nor GB18030; save the sheet
    as 'CSV UTF-8'"; it is read as the workbook it is."""
    workbook = write_rows(tmp_path / "村庄.xlsx", [[*VILLAGE_COLUMNS.values(), "经度", "纬度"],
                                                  village_record("V1", 300)])
    renamed = workbook.rename(tmp_path / "村庄.csv")
    source = LayerSource(path=renamed, key="inputs.villages", fields=tuple(VILLAGE_COLUMNS.items()))
    villages = read_layer(source, None, VILLAGE_FIELDS, "village_id")
    assert villages.index.tolist() == ["V1"] and villages["population"].tolist() == [300]


@pytest.mark.parametrize("cell", ["约300户", "300余户", "300户左右"])
def test_an_approximate_count_of_households_is_refused_as_households(tmp_path, cell):
    """人口 written "约300户" was refused as "not a number", where "300户" is told it counts
    households: it is refused the same way, saying to give people."""
    path = tmp_path / "村庄.xlsx"
    with pytest.raises(InputError) as refused:
        read_villages(path, [village_record("V1", cell)])
    assert str(refused.value) == (
        f"{path}: field 'population' (column '人口') of feature(s) V1 counts households "
        f"({cell!r}), not people; give the number of people (人), from the register or "
        f"households × people per household")


def test_an_as_built_cost_saying_none_is_refused_not_read_as_nothing_spent(tmp_path):
    """A dash alone in 实际投资 ("-": not known) is no sum; only the accounting format's "¥ -"
    is 0: the list is refused naming the row, not read as a site that cost nothing."""
    scenario, _ = lonlat_region(tmp_path / "region", {"S1": 0.05})
    scenario = load_scenario(scenario)
    path = tmp_path / "竣工.csv"
    write_rows(path, [["站址编号", "制式", "建成年份", "实际投资"],
                      ["S1", TECH_4G["name"], 2027, "-"]])
    with pytest.raises(InputError) as refused:
        read_as_built(path, read_region(scenario).candidates, scenario)
    assert f"{path}: row 2, field '实际投资': the cost must be a number" in str(refused.value)

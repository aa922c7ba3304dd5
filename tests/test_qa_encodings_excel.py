"""Input workbooks as Chinese planners keep them (a sheet per county, titles merged above the
header, numbers stored as text, coordinates in degrees, minutes and seconds), and the CSV
files Excel saves from them."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.styles import PatternFill

from siting.config import LayerSource
from siting.errors import InputError
from siting.io.layers import read_layer
from siting.io.region import VILLAGE_FIELDS
from siting.io.tables import has_coordinates, read_table

COLUMNS = {"village_id": "编号", "name": "村名", "population": "人口", "admin_unit": "区县",
           "poverty_village": "贫困村", "relocation_site": "易地搬迁"}
#: Each county's villages: (id, name, people, longitude, latitude).
COUNTIES = {"石泉县": [("V1", "石泉村", 120, 108.25, 33.04), ("V2", "后柳村", 560, 108.30, 33.10)],
            "汉阴县": [("V3", "城关村", 3400, 108.51, 32.89)],
            "紫阳县": [("V4", "洞河村", 870, 108.54, 32.52)]}


def _workbook(path: Path, counties=COUNTIES) -> Path:
    """A sheet per county, each with a title merged across the columns above its header,
    numbers stored as text and coordinates in degrees, minutes and seconds (度分秒)."""
    book = Workbook()
    for k, (county, villages) in enumerate(counties.items()):
        sheet = book.active if k == 0 else book.create_sheet()
        sheet.title = county
        sheet.append([f"{county}行政村名单（2024年）"])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=8)
        sheet.append([*COLUMNS.values(), "经度", "纬度"])
        for vid, name, people, lon, lat in villages:
            sheet.append([vid, name, str(people), county, "是", "否", _dms(lon), _dms(lat)])
    book.save(path)
    return path


def _dms(degrees: float) -> str:
    whole = int(degrees)
    minutes = int(round((degrees - whole) * 60))
    return f"{whole}度{minutes:02d}分00.0秒"


def _source(path: Path, **extra) -> LayerSource:
    return LayerSource(path=path, fields=tuple(COLUMNS.items()), key="inputs.villages", **extra)


def test_a_workbook_of_a_sheet_per_county_says_it_reads_the_first_only(tmp_path, caplog):
    """Only the first county's villages were read, and nothing said the others were left out."""
    path = _workbook(tmp_path / "村庄.xlsx")
    with caplog.at_level(logging.WARNING):
        got = read_layer(_source(path), None, VILLAGE_FIELDS, "village_id")
    assert got.index.tolist() == ["V1", "V2"]
    assert got["population"].tolist() == [120.0, 560.0]
    assert got.geometry.x.tolist() == pytest.approx([108.25, 108.30], abs=1e-9)
    assert (f"{path}: read its first sheet '石泉县' only; sheet(s) 汉阴县, 紫阳县 also have a "
            f"header row with the columns read here, and are not read; set inputs.villages.sheet "
            f"to read one of them instead, or copy their rows into one sheet to read them all"
            in caplog.text)


def test_a_named_sheet_or_a_single_sheet_is_read_without_a_word(tmp_path, caplog):
    named = _workbook(tmp_path / "all.xlsx")
    single = _workbook(tmp_path / "one.xlsx", {"紫阳县": COUNTIES["紫阳县"]})
    with caplog.at_level(logging.WARNING):
        got = read_layer(_source(named, layer="汉阴县"), None, VILLAGE_FIELDS, "village_id")
        alone = read_layer(_source(single), None, VILLAGE_FIELDS, "village_id")
    assert got.index.tolist() == ["V3"] and alone.index.tolist() == ["V4"]
    assert "sheet" not in caplog.text


def test_a_list_no_setting_chooses_the_sheet_of_names_no_setting(tmp_path, caplog):
    """A file a command names (an as-built list, measurements) has no sheet setting."""
    path = _workbook(tmp_path / "村庄.xlsx")
    with caplog.at_level(logging.WARNING):
        rows = read_table(path, None, is_header=has_coordinates(None, None))
    assert rows["编号"].tolist() == ["V1", "V2"]
    assert "are not read; copy their rows into one sheet to read them all" in caplog.text


def test_village_codes_excel_saved_in_scientific_notation_are_explained(tmp_path):
    """12-digit village codes (统计用区划代码) show as 6.10902E+11 in Excel, and a CSV saved
    from it holds that text: every village had the same id, and the error listed all their
    rows on one line without saying why."""
    codes = [610902100200 + 100 * k for k in range(8)]
    table = pd.DataFrame({"编号": codes, "村名": [f"村{k}" for k in range(8)], "人口": 100,
                          "区县": "汉滨区", "贫困村": "是", "易地搬迁": "否",
                          "经度": 109.0, "纬度": [32.6 + 0.01 * k for k in range(8)]})
    workbook = tmp_path / "村庄.xlsx"
    table.to_excel(workbook, index=False)
    shown = table.assign(编号=[f"{code:.5E}".replace("00E", "E") for code in codes])
    assert shown["编号"].iloc[0] == "6.10902E+11"  # as Excel shows and saves it
    saved = tmp_path / "村庄.csv"
    shown.to_csv(saved, index=False, encoding="gb18030")
    with pytest.raises(InputError) as refused:
        read_layer(_source(saved), None, VILLAGE_FIELDS, "village_id")
    assert str(refused.value) == (
        f"{saved}: duplicate village_id 6.10902E+11 (rows 2, 3, 4, 5, 6 and 3 more); ids must "
        f"be unique; they are long numbers Excel showed in scientific notation (6.10902E+11) "
        f"and saved so in the CSV, without their last digits: in the workbook format the "
        f"column as text (设置单元格格式 > 文本) and save again, or give the .xlsx file")
    got = read_layer(_source(workbook), None, VILLAGE_FIELDS, "village_id")
    assert got.index.tolist() == [str(code) for code in codes]


def test_an_excel_97_workbook_named_xlsx_is_refused_saying_what_it_is(tmp_path):
    """A .xls renamed .xlsx (or a workbook locked by a password, also an OLE2 compound file)
    was refused as 'File is not a zip file; is it a valid .xlsx file?'."""
    path = tmp_path / "村庄.xlsx"
    path.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504))  # a compound file's header
    with pytest.raises(InputError) as refused:
        read_layer(_source(path), None, VILLAGE_FIELDS, "village_id")
    assert str(refused.value) == (
        f"{path}: not an .xlsx workbook inside but an Excel 97-2003 one (or one locked by a "
        f"password); open it in Excel and save it as an Excel workbook (.xlsx: 另存为 > Excel "
        f"工作簿) without a password")


@pytest.mark.parametrize("x, y", [("经度（°）", "纬度（°）"), ("经度(度)", "纬度(度)"),
                                  ("Lon (deg)", "Lat (deg)"), ("东经[E]", "北纬[N]")])
def test_coordinate_columns_headed_with_their_unit_are_found(tmp_path, x, y):
    """经度（°） under a title row: the header was not found, and the error listed the title
    as the columns (安康市行政村名单, Unnamed: 1, ...)."""
    villages = [v for county in COUNTIES.values() for v in county]
    table = pd.DataFrame({"编号": [v[0] for v in villages], "村名": [v[1] for v in villages],
                          "人口": [v[2] for v in villages], "区县": "石泉县", "贫困村": "否",
                          "易地搬迁": "否", x: [v[3] for v in villages], y: [v[4] for v in villages]})
    path = tmp_path / "村庄.csv"
    path.write_bytes(("安康市行政村名单,,,,,,,\r\n" + table.to_csv(index=False, lineterminator="\r\n"))
                     .encode("gbk"))
    got = read_layer(_source(path), None, VILLAGE_FIELDS, "village_id")
    assert got.index.tolist() == ["V1", "V2", "V3", "V4"]
    assert got.geometry.x.tolist() == [v[3] for v in villages]
    assert got.geometry.y.tolist() == [v[4] for v in villages]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_blank_columns_and_rows_excel_leaves_after_the_table_are_dropped(tmp_path, suffix):
    """Two blank columns after the table (cells once used, or only formatted) came through
    as columns 'Unnamed: 9' and 'Unnamed: 10', written on to the outputs."""
    path = _workbook(tmp_path / "村庄.xlsx", {"石泉县": COUNTIES["石泉县"]})
    book = load_workbook(path)
    sheet = book.active
    sheet["I2"] = "乡镇"
    sheet["I3"], sheet["I4"] = "城关镇", "后柳镇"
    for row in range(1, 8):  # formatted, never filled: Excel keeps them in the used range
        for column in ("J", "K"):
            sheet[f"{column}{row}"].fill = PatternFill("solid", fgColor="FFFF00")
    book.save(path)
    if suffix == ".csv":  # as Excel saves the sheet: its used range, blanks included
        rows = [["" if c.value is None else str(c.value) for c in r] for r in sheet.iter_rows()]
        path = tmp_path / "村庄.csv"
        path.write_bytes("\r\n".join(",".join(r) for r in rows).encode("gbk") + b"\r\n")
    got = read_layer(_source(path), None, VILLAGE_FIELDS, "village_id")
    assert list(got.columns) == [*COLUMNS, "乡镇", "geometry"]
    assert got["乡镇"].tolist() == ["城关镇", "后柳镇"] and got.index.tolist() == ["V1", "V2"]


def test_a_hand_edited_csv_row_with_an_unquoted_comma_is_named_with_the_fix(tmp_path):
    """'Expected 8 fields in line 8, saw 9' (pandas' words) said neither what is wrong nor
    what to do."""
    villages = [v for county in COUNTIES.values() for v in county]
    lines = ["安康市行政村名单,,,,,,,", "填表单位：石泉县,,,,,,,", ",".join([*COLUMNS.values(), "经度", "纬度"])]
    lines += [f"{vid},{name},{people},石泉县,是,否,{lon},{lat}" for vid, name, people, lon, lat in villages]
    lines[4] = lines[4].replace("后柳村", "后柳村,二组")  # row 5: a name typed with a comma
    path = tmp_path / "村庄.csv"
    path.write_bytes("\r\n".join(lines).encode("gbk"))
    with pytest.raises(InputError) as refused:
        read_layer(_source(path), None, VILLAGE_FIELDS, "village_id")
    assert str(refused.value) == (f"{path}: row 5 has 9 cells where the header has 8; put a cell "
                                  f"holding a comma in double quotes, or write it without (a "
                                  f"Chinese comma ， or 、)")


@pytest.mark.parametrize("line_end", ["\r", "\r\n", "\n"])
def test_a_csv_with_lines_ended_as_excel_for_mac_ends_them_is_read(tmp_path, line_end):
    """Excel for Mac's "CSV (Macintosh)" ends lines with CR alone: the whole file read as one
    line, its title taken for the header ('no coordinate columns found (columns: 安康市行政村
    名单, Unnamed: 1, ...)')."""
    villages = [v for county in COUNTIES.values() for v in county]
    lines = ["安康市行政村名单,,,,,,,", ",".join([*COLUMNS.values(), "经度", "纬度"])]
    lines += [f"{vid},{name},{people},石泉县,是,否,{lon},{lat}" for vid, name, people, lon, lat in villages]
    path = tmp_path / "村庄.csv"
    path.write_bytes(line_end.join(lines).encode("gbk") + line_end.encode())
    got = read_layer(_source(path), None, VILLAGE_FIELDS, "village_id")
    assert got.index.tolist() == ["V1", "V2", "V3", "V4"]
    assert got["population"].tolist() == [float(v[2]) for v in villages]
    assert got.geometry.y.tolist() == [v[4] for v in villages]


@pytest.mark.parametrize("tab, named", [("汉阴县 ", "汉阴县"), ("Hanyin", "hanyin"),
                                        ("ＨＹ２０２４", "HY2024")])
def test_a_sheet_named_as_its_tab_reads_but_for_spaces_case_and_full_width(tmp_path, tab, named):
    """A tab named '汉阴县 ' (a trailing space no tab shows) was 'not found' under the name
    the planner reads on it."""
    path = _workbook(tmp_path / "村庄.xlsx", {"石泉县": COUNTIES["石泉县"], tab: COUNTIES["汉阴县"]})
    got = read_layer(_source(path, layer=named), None, VILLAGE_FIELDS, "village_id")
    assert got.index.tolist() == ["V3"]


def test_fields_mapped_as_typed_find_columns_typed_in_full_width(tmp_path):
    """fields: {population: 人口(人)} typed in ASCII against the sheet's 人口（人） from a Chinese
    input method was 'missing column(s) 人口(人)'."""
    path = _workbook(tmp_path / "村庄.xlsx", {"石泉县": COUNTIES["石泉县"]})
    book = load_workbook(path)
    book.active["C2"] = "人口（人）"
    book.active["D2"] = "区　县"  # an ideographic space, as names are padded to line up
    book.save(path)
    fields = {**COLUMNS, "population": "人口(人)", "admin_unit": "区县"}
    source = LayerSource(path=path, fields=tuple(fields.items()), key="inputs.villages")
    got = read_layer(source, None, VILLAGE_FIELDS, "village_id")
    assert got["population"].tolist() == [120.0, 560.0]
    assert got["admin_unit"].tolist() == ["石泉县", "石泉县"]


def test_coordinate_columns_named_as_typed_find_the_sheets_full_width_ones(tmp_path):
    """x: 东经(E) typed in ASCII found no header row (东经（E） in the sheet), so the title row was
    taken as the header and the column was 'not found'."""
    path = _workbook(tmp_path / "村庄.xlsx", {"石泉县": COUNTIES["石泉县"]})
    book = load_workbook(path)
    book.active["G2"], book.active["H2"] = "东经（E）", "北纬（N）"
    book.save(path)
    source = LayerSource(path=path, x="东经(E)", y="北纬 (N)", fields=tuple(COLUMNS.items()),
                         key="inputs.villages")
    got = read_layer(source, None, VILLAGE_FIELDS, "village_id")
    assert got.geometry.x.tolist() == pytest.approx([108.25, 108.30], abs=1e-9)
    assert got.geometry.y.tolist() == pytest.approx([33 + 2 / 60, 33 + 6 / 60], abs=1e-9)  # 33度02分


def test_text_cells_with_a_trailing_space_read_as_the_same_county(tmp_path):
    """'石泉县 ' (a space typed after the name, which no cell shows) was a county of its own
    beside '石泉县' in the per-county figures."""
    path = _workbook(tmp_path / "村庄.xlsx", {"石泉县": COUNTIES["石泉县"]})
    book = load_workbook(path)
    book.active["D3"], book.active["B4"] = "石泉县 ", " 后柳村　"
    book.save(path)
    got = read_layer(_source(path), None, VILLAGE_FIELDS, "village_id")
    assert got["admin_unit"].tolist() == ["石泉县", "石泉县"]
    assert got["name"].tolist() == ["石泉村", "后柳村"]


def test_numbers_pasted_from_a_web_page_with_invisible_characters_are_read(tmp_path):
    """A coordinate pasted from a web page with a zero-width space (U+200B) or a direction
    mark (U+200E), which no cell shows, was 'no coordinates' for its row."""
    villages = COUNTIES["石泉县"]
    table = pd.DataFrame({"编号": [v[0] for v in villages], "村名": [v[1] for v in villages],
                          "人口": ["1,200\u200b", "560"], "区县": "石泉县", "贫困村": "是", "易地搬迁": "否",
                          "经度": ["\u200b108.25", "108.30\u200e"], "纬度": ["33.04\u200b", "33.10"]})
    path = tmp_path / "村庄.csv"
    table.to_csv(path, index=False, encoding="utf-8-sig")
    got = read_layer(_source(path), None, VILLAGE_FIELDS, "village_id")
    assert got["population"].tolist() == [1200.0, 560.0]
    assert got.geometry.x.tolist() == [108.25, 108.30] and got.geometry.y.tolist() == [33.04, 33.10]


def test_total_and_subtotal_rows_of_a_statistical_sheet_are_left_out_with_a_warning(tmp_path,
                                                                                      caplog):
    """A county's 小计 and the list's 合计 (sums of the rows above, no coordinates) refused the
    whole sheet: "row(s) 5, 7 have no coordinates"."""
    book = Workbook()
    sheet = book.active
    sheet.append(["序号", *COLUMNS.values(), "经度", "纬度"])
    rows = 0
    for county, villages in COUNTIES.items():
        for vid, name, people, lon, lat in villages:
            rows += 1
            sheet.append([rows, vid, name, people, county, "是", "否", lon, lat])
        sheet.append([None, f"{county} 小计", None, sum(v[2] for v in villages)])
    sheet.append(["合  计", None, None, 4950])
    path = tmp_path / "村庄.xlsx"
    book.save(path)
    with caplog.at_level(logging.WARNING):
        got = read_layer(_source(path), None, VILLAGE_FIELDS, "village_id")
    assert got.index.tolist() == ["V1", "V2", "V3", "V4"]
    assert got["population"].sum() == 4950
    warned = [r.getMessage() for r in caplog.records if "totals, not records" in r.getMessage()]
    assert len(warned) == 1
    assert "row(s) 4 (石泉县小计), 6 (汉阴县小计), 8 (紫阳县小计), 9 (合计)" in warned[0]


@pytest.mark.parametrize("label", ["Total", "总计：", "共计"])
def test_a_total_row_under_a_csv_list_is_left_out(tmp_path, label):
    path = tmp_path / "villages.csv"
    path.write_text("编号,村名,人口,区县,贫困村,易地搬迁,经度,纬度\n"
                    "V1,石泉村,120,石泉县,是,否,108.25,33.04\n"
                    f"{label},,120,,,,,\n", encoding="utf-8")
    assert read_table(path, None).index.tolist() == [2]


def test_a_village_whose_name_holds_a_total_word_is_read(tmp_path):
    path = tmp_path / "villages.csv"
    path.write_text("村名,人口,经度,纬度\n合计村,120,108.25,33.04\n小计沟,80,108.3,33.1\n",
                    encoding="utf-8")
    assert read_table(path, None)["村名"].tolist() == ["合计村", "小计沟"]


def test_rows_a_filter_hides_are_read_with_a_warning_naming_them(tmp_path, caplog):
    """A planner filters the list to one county (Excel hides the other rows) and saves it:
    every row was read, without a word that the hidden ones were."""
    book = Workbook()
    sheet = book.active
    sheet.title = "村庄"
    sheet.append(["安康市行政村名单"])
    sheet.append([*COLUMNS.values(), "经度", "纬度"])
    for county, villages in COUNTIES.items():
        for vid, name, people, lon, lat in villages:
            sheet.append([vid, name, people, county, "是", "否", lon, lat])
    sheet.auto_filter.ref = "A2:H6"
    sheet.auto_filter.add_filter_column(3, ["石泉县"])
    for row in (5, 6):  # 汉阴县, 紫阳县: hidden by the filter
        sheet.row_dimensions[row].hidden = True
    path = tmp_path / "村庄.xlsx"
    book.save(path)
    with caplog.at_level(logging.WARNING):
        got = read_layer(_source(path), None, VILLAGE_FIELDS, "village_id")
    assert got.index.tolist() == ["V1", "V2", "V3", "V4"]
    warned = [r.getMessage() for r in caplog.records if "hidden in Excel" in r.getMessage()]
    assert len(warned) == 1 and "2 row(s) hidden in Excel (by a filter or by hand: 5, 6)" in warned[0]


def test_a_sheet_hiding_no_rows_warns_of_none(tmp_path, caplog):
    path = _workbook(tmp_path / "村庄.xlsx", {"石泉县": COUNTIES["石泉县"]})
    with caplog.at_level(logging.WARNING):
        read_layer(_source(path), None, VILLAGE_FIELDS, "village_id")
    assert not [r for r in caplog.records if "hidden in Excel" in r.getMessage()]

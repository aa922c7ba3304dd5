"""Input sheets as Chinese planners write them: a units row under the header, coordinates in
degrees, minutes and seconds with their hemispheres, notes under the table, cells merged over
a county's rows, two columns of one name. The files are built as Excel writes them."""

from __future__ import annotations

import csv
import logging

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook

from siting.config import LayerSource, load_scenario
from siting.errors import InputError
from siting.io import read_as_built, read_region
from siting.io.layers import read_layer
from siting.io.region import CANDIDATE_FIELDS, VILLAGE_FIELDS
from tests.regions import TECH_4G, candidate, lonlat_region, village, write_region
from tests.sheets import write_rows

#: A tower company's candidate columns, as the scenario maps them (no units in the names).
SITE_COLUMNS = {"site_id": "站址编号", "kind": "站址类型", "antenna_height_m": "站高",
                "capex_cny": "建设投资", "opex_cny_per_year": "年运维费",
                "free_public": "免费公共站址", "difficult": "建设困难", "extra_cost_cny": "额外费用",
                "technologies": "可建制式"}
#: Two candidates: (id, height [m], capex [万元], longitude, latitude).
SITES = [("S1", 35, 12.5, 108.9701, 32.6851), ("S2", 40, 8, 108.9902, 32.7003)]
VILLAGE_COLUMNS = {"village_id": "编号", "name": "村名", "population": "人口",
                   "admin_unit": "区县", "poverty_village": "贫困村", "relocation_site": "易地搬迁"}


def _workbook(path, rows, merged=()):
    """A workbook of one sheet holding ``rows``, the cell ranges ``merged`` merged."""
    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    for cells in merged:
        book.active.merge_cells(cells)
    book.save(path)
    return path


def _site_rows(units_row):
    """The candidate sheet: header, ``units_row``, then :data:`SITES`."""
    header = [*SITE_COLUMNS.values(), "经度", "纬度"]
    records = [(sid, "公共建筑", height, capex, 8000, "否", "否", 0, "4G", lon, lat)
               for sid, height, capex, lon, lat in SITES]
    return [header, units_row, *records]


def _sites(path, fields=tuple(SITE_COLUMNS.items())):
    source = LayerSource(path=path, key="inputs.candidates", fields=fields)
    return read_layer(source, None, CANDIDATE_FIELDS, "site_id")


def test_a_units_row_under_the_header_gives_the_columns_units(tmp_path, caplog):
    """An operator sheet's second row holding each column's unit was read as a record: the
    run stopped saying row 2 had no coordinates ('°', '°'). It is the columns' units: the
    costs it says are in 万元 are converted, and the records are read from row 3."""
    units = ["", "", "(米)", "万元", "元", "", "", "元", "", "°", "°"]
    path = _workbook(tmp_path / "站址.xlsx", _site_rows(units))
    with caplog.at_level(logging.INFO, logger="siting.io"):
        sites = _sites(path)
    assert sites.index.tolist() == ["S1", "S2"]
    assert sites["capex_cny"].tolist() == [capex * 10_000 for _, _, capex, _, _ in SITES]
    assert sites["antenna_height_m"].tolist() == [height for _, height, _, _, _ in SITES]
    np.testing.assert_allclose(np.column_stack([sites.geometry.x, sites.geometry.y]),
                               [(lon, lat) for *_, lon, lat in SITES], atol=1e-9)
    assert f"{path}: row 2 holds the columns' units, not a record" in caplog.text
    assert "column '建设投资(万元)' is in 万元" in caplog.text


def test_a_units_row_naming_a_unit_not_read_is_refused_by_its_column(tmp_path):
    """A cost the units row says is in 千元 is not read as yuan: its column is named."""
    units = ["", "", "m", "千元", "元", "", "", "元", "", "°", "°"]
    path = _workbook(tmp_path / "站址.xlsx", _site_rows(units))
    with pytest.raises(InputError) as refused:
        _sites(path)
    assert "'建设投资 (for capex_cny)' (did you mean '建设投资(千元)'?)" in str(refused.value)


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs3")
    path = write_region(folder, np.full((100, 200), 400.0), [village("V1", 2000, 1500)],
                        [candidate("S1098", 1000, 1500, techs="4G")], technologies=(TECH_4G,))
    scenario = load_scenario(path)
    return scenario, read_region(scenario)


def test_an_as_built_list_with_a_units_row_reads_its_costs_in_that_unit(region, tmp_path):
    """The as-built list's units row (年, 万元) was row 2 with an empty site id; its costs in
    万元 are now converted to yuan."""
    scenario, data = region
    path = tmp_path / "竣工.csv"
    write_rows(path, [["站址编号", "制式", "建成年份", "实际投资"],
                      ["", "", "年", "（万元）"], ["S1098", TECH_4G["name"], 2027, 20.5]])
    built = read_as_built(path, data.candidates, scenario)
    assert built.sites[["site_id", "year", "cost_cny", "row"]].values.tolist() == [
        ["S1098", "2027", 205_000.0, 3]]


def _villages(path, rows, merged=()):
    """Read the villages of a sheet headed by :data:`VILLAGE_COLUMNS`, 经度 and 纬度, then
    holding ``rows``."""
    _workbook(path, [[*VILLAGE_COLUMNS.values(), "经度", "纬度"], *rows], merged)
    source = LayerSource(path=path, key="inputs.villages", fields=tuple(VILLAGE_COLUMNS.items()))
    return read_layer(source, None, VILLAGE_FIELDS, "village_id")


def _village(vid, lon, lat, county="汉滨区"):
    return [vid, f"{vid}村", 300, county, "是", "否", lon, lat]


@pytest.mark.parametrize("coordinates, problem", [
    ([("108°30'15\"N", "32°41'E")],
     "columns '经度'/'纬度' are mixed up: the longitudes' names N/S and the latitudes' E/W (row 2: "
     "'108°30\\'15\"N', \"32°41'E\"); x is the longitude, E 东经 or W 西经, y the latitude, N 北纬 or "
     "S 南纬: swap the columns, or correct the letters"),
    ([("东经108度30分", "北纬32度41分"), ("北纬108度36分", "北纬32度45分")],
     "row(s) 3 of column '经度', the longitude, name a hemisphere of the other axis (row 3: "
     "'北纬108度36分'); a longitude, E 东经 or W 西经: correct the letter, or put the coordinate in "
     "its column"),
    ([("108°30'E", "32°30'N"), ("108°36'W", "32°36'N"), ("108°42'E", "32°42'N")],
     "row(s) 3 of column '经度' say W where the others say E (row 3: \"108°36'W\"); correct the "
     "letter (the point lies on the other side of the earth)")])
def test_hemisphere_letters_of_the_wrong_axis_or_side_are_refused(tmp_path, coordinates,
                                                                   problem):
    """A longitude written with N, a latitude with E, or one W among longitudes E, was read
    as if the letter were right (108°30'15"N as longitude 108.504; 108°36'W as -108.6, on the
    other side of the earth)."""
    rows = [_village(f"V{k}", lon, lat) for k, (lon, lat) in enumerate(coordinates, 1)]
    path = tmp_path / "村庄.xlsx"
    with pytest.raises(InputError) as refused:
        _villages(path, rows)
    assert str(refused.value) == f"{path}: {problem}"


def test_hemisphere_letters_of_their_axis_are_read(tmp_path):
    rows = [_village("V1", "东经108度30分", "北纬32度41分"), _village("V2", "108°36'E", "32°45'N")]
    villages = _villages(tmp_path / "村庄.xlsx", rows)
    np.testing.assert_allclose(villages.geometry.x, [108.5, 108.6], atol=1e-12)
    np.testing.assert_allclose(villages.geometry.y, [32 + 41 / 60, 32.75], atol=1e-12)


def test_a_list_all_written_west_is_told_its_hemisphere_is_wrong(tmp_path):
    """A candidate list whose every longitude says W (108.9701W) put its sites in America; the
    run said only that they lie outside the DEM: "remove them or use a larger DEM"."""
    scenario, _ = lonlat_region(tmp_path, {"S1": 0.2})
    sites = pd.read_csv(tmp_path / "sites.csv")
    sites["lon"] = [f"{lon:.6f}W" for lon in sites["lon"]]
    sites.to_csv(tmp_path / "sites.csv", index=False)
    with pytest.raises(InputError) as refused:
        read_region(load_scenario(scenario))
    assert str(refused.value) == (
        f"{tmp_path / 'sites.csv'}: 1 point(s) lie outside the DEM: S1; their longitudes have the "
        f"wrong sign (with it turned, they fall on the DEM): correct the hemisphere (W or a minus "
        f"sign for E)")


def test_notes_under_the_table_are_not_records(tmp_path, caplog):
    """备注 and 制表人/审核人 under a village list (a note merged across the row, as Excel lays it
    out) stopped the run: 'row(s) 5, 6 have no coordinates (nan, nan)'."""
    rows = [_village("V1", 108.5, 32.5), _village("V2", 108.6, 32.6), [],
            ["备注：人口为2023年户籍人口"], ["制表人：张三", None, None, "审核人： 李四"]]
    path = tmp_path / "村庄.xlsx"
    with caplog.at_level(logging.WARNING):
        villages = _villages(path, rows, merged=["A5:H5"])
    assert villages.index.tolist() == ["V1", "V2"]
    assert villages["population"].tolist() == [300, 300]
    assert (f"{path}: row(s) 5 (备注:人口为2023年户籍人口), 6 (制表人:张三) are notes, not records; "
            f"not read") in caplog.text


def test_a_record_whose_name_says_note_is_read(tmp_path):
    """Only a row of notes is left out: a village named 注 (or a note beside its data) is read."""
    rows = [_village("注", 108.5, 32.5), [*_village("V2", 108.6, 32.6), "备注：新增"]]
    assert _villages(tmp_path / "村庄.xlsx", rows).index.tolist() == ["注", "V2"]


def test_cells_merged_down_over_a_countys_rows_are_read_in_each_row(tmp_path):
    """A county's name merged down beside its villages, as Chinese registers lay them out, was
    read in the first village only: 'field admin_unit is empty for feature(s) V2, V3'."""
    rows = [_village("V1", 108.5, 32.5, "汉滨区"), _village("V2", 108.6, 32.6, None),
            _village("V3", 108.7, 32.7, None), _village("V4", 108.8, 32.8, "石泉县")]
    villages = _villages(tmp_path / "村庄.xlsx", rows, merged=["D2:D4"])
    assert villages["admin_unit"].tolist() == ["汉滨区", "汉滨区", "汉滨区", "石泉县"]


def test_a_yes_merged_over_sites_is_each_sites(tmp_path):
    """有光纤 merged down over two sites that have fiber: the second read as without fiber (an
    optional flag's blank is false), and was planned a feed it does not need."""
    header = [*SITE_COLUMNS.values(), "经度", "纬度", "有光纤"]
    records = [[sid, "公共建筑", height, capex, 8000, "否", "否", 0, "4G", lon, lat, None]
               for sid, height, capex, lon, lat in SITES]
    records[0][-1] = "是"
    path = _workbook(tmp_path / "站址.xlsx", [header, *records], merged=["L2:L3"])
    sites = _sites(path, fields=(*SITE_COLUMNS.items(), ("has_fiber", "有光纤")))
    assert sites["has_fiber"].tolist() == [True, True]


@pytest.mark.parametrize("suffix, header_row", [(".xlsx", 2), (".csv", 1)])
def test_two_columns_of_one_name_are_refused(tmp_path, suffix, header_row):
    """Two pairs 经度/纬度 (Amap's, then WGS 84's) and two columns 人口: the first of each was
    read without a word (the second kept as 经度.1)."""
    header = [*VILLAGE_COLUMNS.values(), "经度", "纬度", "经度 ", "纬度", "人口"]
    rows = [["V1", "V1村", 300, "汉滨区", "是", "否", 108.5, 32.5, 108.49, 32.51, 280]]
    path = tmp_path / f"村庄{suffix}"
    if suffix == ".csv":
        with open(path, "w", encoding="gb18030", newline="") as file:
            csv.writer(file).writerows([header, *rows])
    else:
        _workbook(path, [["坐标：高德 / WGS 84"], header, *rows])
    source = LayerSource(path=path, key="inputs.villages", fields=tuple(VILLAGE_COLUMNS.items()))
    with pytest.raises(InputError) as refused:
        read_layer(source, None, VILLAGE_FIELDS, "village_id")
    assert str(refused.value) == (
        f"{path}: row {header_row}: columns C and K share the name '人口'; columns G and I share "
        f"the name '经度'; columns H and J share the name '纬度'; rename all but the one to read "
        f"(e.g. 人口2), so that the one read is the one meant")


def _village_table(path, encoding="gb18030"):
    """Two villages as tab-separated text, as a web system's "导出Excel" writes a file .xls."""
    header = [*VILLAGE_COLUMNS.values(), "经度", "纬度"]
    rows = [_village("V1", 108.5, 32.5), _village("V2", 108.6, 32.6)]
    path.write_text("\n".join("\t".join(map(str, row)) for row in [header, *rows]) + "\n",
                    encoding=encoding)
    return path


def _read_villages(path):
    source = LayerSource(path=path, key="inputs.villages", fields=tuple(VILLAGE_COLUMNS.items()))
    return read_layer(source, None, VILLAGE_FIELDS, "village_id")


@pytest.mark.parametrize("encoding", ["gb18030", "utf-16"])
def test_an_xls_export_of_tab_separated_text_is_read(tmp_path, encoding):
    """Resource systems' "导出Excel" writes tab-separated text named .xls (Excel opens it after
    a warning); it was refused as an Excel 97-2003 workbook to save as .xlsx."""
    villages = _read_villages(_village_table(tmp_path / "村庄.xls", encoding))
    assert villages.index.tolist() == ["V1", "V2"]
    np.testing.assert_allclose(villages.geometry.x, [108.5, 108.6], atol=1e-12)


def test_an_xlsx_workbook_named_xls_is_read(tmp_path):
    path = _workbook(tmp_path / "村庄.xlsx", [[*VILLAGE_COLUMNS.values(), "经度", "纬度"],
                                              _village("V1", 108.5, 32.5)])
    renamed = path.rename(tmp_path / "村庄.xls")
    assert _read_villages(renamed)["population"].tolist() == [300]


def test_an_html_table_named_xls_is_told_to_be_saved_as_xlsx(tmp_path):
    path = tmp_path / "村庄.xls"
    path.write_text("<html><body><table><tr><td>编号</td></tr></table></body></html>",
                    encoding="utf-8")
    with pytest.raises(InputError) as refused:
        _read_villages(path)
    assert str(refused.value) == (
        f"{path}: a web page (HTML) named .xls, as web systems export tables; open it in Excel "
        f"and save it as an Excel workbook (.xlsx: 另存为 > Excel 工作簿) and name that file")


def test_a_cost_column_mapped_with_its_unit_in_thousands_is_refused(tmp_path):
    """capex_cny mapped to 建设投资(千元) read 12.5 (thousand yuan) as 12.5 yuan."""
    header = [*SITE_COLUMNS.values(), "经度", "纬度"]
    header[3] = "建设投资（千元）"
    rows = [[sid, "公共建筑", height, capex, 8000, "否", "否", 0, "4G", lon, lat]
            for sid, height, capex, lon, lat in SITES]
    path = _workbook(tmp_path / "站址.xlsx", [header, *rows])
    with pytest.raises(InputError) as refused:
        _sites(path, tuple({**SITE_COLUMNS, "capex_cny": "建设投资(千元)"}.items()))
    assert str(refused.value) == (
        f"{path}: column '建设投资（千元）' (capex_cny) is in 千元, which is not read; give the costs "
        f"in 元, or in 万元 with 万元 in the header")


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_excel_error_values_in_text_fields_are_told_as_excel_shows_them(tmp_path, suffix):
    """A county looked up by VLOOKUP that found nothing (#N/A) was read as the county '#N/A' from
    a CSV, and from a workbook (pandas reads an error cell as empty) told to be filled in."""
    rows = [_village("V1", 108.5, 32.5), _village("V2", 108.6, 32.6, "#N/A"),
            _village("#REF!", 108.7, 32.7), _village("#REF!", 108.8, 32.8)]
    path = tmp_path / f"村庄{suffix}"
    if suffix == ".csv":
        with open(path, "w", encoding="utf-8-sig", newline="") as file:
            csv.writer(file).writerows([[*VILLAGE_COLUMNS.values(), "经度", "纬度"], *rows])
    else:
        _workbook(path, [[*VILLAGE_COLUMNS.values(), "经度", "纬度"], *rows])  # as error cells
    with pytest.raises(InputError) as refused:
        _read_villages(path)
    advice = "a formula that failed (a VLOOKUP that found nothing); correct it, or type the value"
    assert str(refused.value).splitlines() == [
        f"{path}: field 'village_id' holds Excel's error #REF! in row(s) 4, 5: {advice}",
        f"{path}: field 'admin_unit' (column '区县') holds Excel's error #N/A for feature(s) V2: "
        f"{advice}"]


def test_pairs_of_one_column_with_their_letters_mixed_up_are_refused(tmp_path):
    """One column 经纬度 of pairs, as a coordinate picker copies them, the letters crossed."""
    path = tmp_path / "村庄.xlsx"
    _workbook(path, [[*VILLAGE_COLUMNS.values(), "经纬度"],
                     [*_village("V1", None, None)[:6], "108.5N,32.5E"]])
    with pytest.raises(InputError) as refused:
        _read_villages(path)
    assert str(refused.value) == (
        f"{path}: the pairs of column '经纬度' are mixed up: the longitudes' names N/S and "
        f"the latitudes' E/W (row 2: '108.5N', '32.5E'); x is the longitude, E 东经 or W 西经, y "
        f"the latitude, N 北纬 or S 南纬: swap the columns, or correct the letters")

"""Site ids as planners' files write them match the candidates' ids: full-width (Ｓ1098, １０２３,
as a Chinese input method types them) or as a float (10231.0, as pandas saves an integer
column that had a blank cell), in the as-built list, the drive tests and the candidate list
itself; ids that differ otherwise (010233 and 10233) stay different."""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pyproj
import pytest

from siting.calibrate import predict_measurements
from siting.config import LayerSource, load_scenario
from siting.errors import InputError
from siting.io import read_as_built, read_region
from siting.io.asbuilt import built_technologies, with_as_built
from siting.io.layers import read_layer
from siting.io.measurements import read_measurements
from siting.io.region import CANDIDATE_FIELDS
from siting.io.tables import id_text
from tests.regions import CRS, TECH_4G, candidate, village, write_region, xy

#: The candidates' ids as the candidate list writes them: one typed full-width.
CANDIDATE_IDS = ("Ｓ1098", "10231", "10232", "010233")


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ids")
    sites = [candidate(sid, 1000 + 1000 * i, 1500, techs="4G") for i, sid in enumerate(CANDIDATE_IDS)]
    path = write_region(folder, np.full((100, 200), 400.0), [village("V1", 2000, 1500)], sites,
                        technologies=(TECH_4G,))
    scenario = load_scenario(path)
    return scenario, read_region(scenario)


@pytest.mark.parametrize("written, read", [
    ("Ｓ1098", "S1098"), ("１０２３", "1023"), (" S1 ", "S1"), (10231.0, "10231"),
    ("10231.0", "10231"), ("10231.00", "10231"), (10231, "10231"), ("S1\u200b", "S1"),
    ("010231", "010231"), ("010231.0", "010231"), ("s1098", "s1098"), ("10231.5", "10231.5"),
    ('="010231"', "010231")])
def test_ids_are_folded_as_written_but_never_merged(written, read):
    assert id_text(written) == read


def test_the_candidate_list_reads_a_full_width_id_half_width(region):
    _, data = region
    assert sorted(data.candidates.index) == sorted(["S1098", "10231", "10232", "010233"])


def _as_built_csv(path, site_ids):
    """An as-built list saved by pandas: an id column that had a blank holds floats (10231.0)."""
    frame = pd.DataFrame({"站址编号": site_ids, "制式": TECH_4G["name"], "建成年份": 2027,
                          "实际投资": 200000})
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def test_as_built_ids_written_full_width_or_as_floats_are_the_candidates(region, tmp_path):
    scenario, data = region
    book = openpyxl.Workbook()
    for row in [["站址编号", "制式", "建成年份", "实际投资"], ["S1098", TECH_4G["name"], 2027, 1],
                ["１０２３２", TECH_4G["name"], 2027, 1]]:
        book.active.append(row)
    book.save(tmp_path / "竣工.xlsx")
    ids = pd.Series([10231, None]).dropna()  # floats, as pandas keeps them after a blank
    for path in (_as_built_csv(tmp_path / "竣工.csv", ids), tmp_path / "竣工.xlsx"):
        built = read_as_built(path, data.candidates, scenario)
        marked = with_as_built(data.candidates, built)
        on_air = {sid for sid, techs in zip(marked.index, built_technologies(marked)) if techs}
        assert on_air == set(built.sites["site_id"]), path
    assert on_air == {"S1098", "10232"}


def test_an_id_with_a_leading_zero_is_not_the_number(region, tmp_path):
    scenario, data = region
    path = _as_built_csv(tmp_path / "竣工.csv", pd.Series([10233.0]))
    with pytest.raises(InputError, match="row 2, field '站址编号': unknown site '10233'"):
        read_as_built(path, data.candidates, scenario)


def test_drive_tests_naming_sites_full_width_or_as_floats_are_predicted(region, tmp_path):
    """A drive-test sheet (GBK) naming Ｓ1098 and 10231.0 on ４Ｇ－１８００ is predicted as the same
    sheet naming S1098 and 10231 on 4G-1800."""
    scenario, data = region
    to_deg = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    lon, lat = to_deg.transform(*np.array([xy(1300, 1500), xy(1700, 1500), xy(2300, 1500),
                                           xy(2700, 1500)]).T)
    levels = {}
    for name, sites, technology in (("plain", ["S1098", "S1098", "10231", "10231"], "4G-1800"),
                                    ("typed", ["Ｓ1098", "Ｓ１０９８", 10231.0, 10231.0],
                                     "４Ｇ－１８００")):
        path = tmp_path / f"路测_{name}.csv"
        pd.DataFrame({"经度": lon, "纬度": lat, "站号": sites, "制式": technology,
                      "RSRP": [-90, -95, -92, -97]}).to_csv(path, index=False, encoding="gbk")
        measurements = read_measurements(path, scenario, data)
        assert list(measurements["site_id"]) == ["S1098", "S1098", "10231", "10231"]
        levels[name], _ = predict_measurements(scenario, data, measurements)
    assert np.isfinite(levels["plain"]).all()
    np.testing.assert_array_equal(levels["typed"], levels["plain"])


def test_a_drive_test_sheet_under_a_title_is_read(region, tmp_path):
    """A drive-test sheet with a title line above its Chinese headers (an XLSX saved by
    openpyxl): its columns are found under the title, as the layer reader finds them (the
    header was taken from the title: "no column 'site_id' ...")."""
    scenario, data = region
    to_deg = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    points = [xy(1300, 1500), xy(1700, 1500)]
    book = openpyxl.Workbook()
    book.active.append(["2027年5月 汉滨区路测"])
    book.active.append(["经度", "纬度", "站号", "制式", "RSRP"])
    for (x_m, y_m), rsrp in zip(points, (-90, -95)):
        book.active.append([*to_deg.transform(x_m, y_m), "S1098", TECH_4G["name"], rsrp])
    book.save(tmp_path / "路测.xlsx")
    measurements = read_measurements(tmp_path / "路测.xlsx", scenario, data)
    assert list(measurements.index) == ["row 3", "row 4"]  # the sheet's rows under the title
    assert list(measurements["rsrp_dbm"]) == [-90, -95]
    np.testing.assert_allclose(np.column_stack([measurements.geometry.x, measurements.geometry.y]),
                               points, atol=0.01)


@pytest.mark.parametrize("year_header, cost_header", [("建成年份(年)", "实际投资/元"),
                                                      ("建成年份", "实际投资（元）")])
def test_as_built_headers_with_their_units_are_read(region, tmp_path, year_header, cost_header):
    scenario, data = region
    path = tmp_path / "竣工.csv"
    pd.DataFrame({"站址编号": ["S1098"], "制式": [TECH_4G["name"]], year_header: [2027],
                  cost_header: [205000]}).to_csv(path, index=False, encoding="gbk")
    built = read_as_built(path, data.candidates, scenario)
    assert built.sites[["site_id", "year", "cost_cny"]].values.tolist() == [["S1098", "2027", 205000]]


def test_a_cost_in_a_unit_not_read_is_refused(region, tmp_path):
    """千元 (thousands) is no unit siting converts: the column is not read as yuan."""
    scenario, data = region
    path = tmp_path / "竣工.csv"
    pd.DataFrame({"站址编号": ["S1098"], "制式": [TECH_4G["name"]], "建成年份": [2027],
                  "实际投资(千元)": [205]}).to_csv(path, index=False, encoding="gbk")
    with pytest.raises(InputError, match=r"no column 'cost_cny' .*实际投资\(千元\)"):
        read_as_built(path, data.candidates, scenario)


def _candidates_csv(path, headers: dict, techs="4G", kind="public_building"):
    """A candidate list as a tower company's sheet heads it, units after the names."""
    to_deg = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    lon, lat = to_deg.transform(*xy(1000, 1500))
    row = {"site_id": "S1", "lon": round(lon, 7), "lat": round(lat, 7), "height": 35,
           "kind": kind, "capex": 50000, "opex": 10000, "free": "否", "difficult": "否",
           "extra": 0, "techs": techs}
    pd.DataFrame([{headers.get(k, k): v for k, v in row.items()}]).to_csv(path, index=False,
                                                                          encoding="utf-8-sig")
    return path


def _candidate_source(path, *, unmapped=()):
    """The candidate list's source, its columns mapped (but the fields ``unmapped``)."""
    mapping = {"site_id": "site_id", "kind": "kind", "antenna_height_m": "height",
               "capex_cny": "capex", "opex_cny_per_year": "opex", "free_public": "free",
               "difficult": "difficult", "extra_cost_cny": "extra", "technologies": "techs"}
    return LayerSource(path=path, key="inputs.candidates", fields=tuple(
        (field, column) for field, column in mapping.items() if field not in unmapped))


def test_coordinates_headed_with_a_slash_unit_are_found(tmp_path):
    """经度/° and 纬度/° (a unit after a slash, as 天线挂高/m is written) are the coordinates."""
    path = _candidates_csv(tmp_path / "站址.csv", {"lon": "经度/°", "lat": "纬度/°"})
    frame = read_layer(_candidate_source(path), pyproj.CRS(CRS), CANDIDATE_FIELDS, "site_id")
    assert (frame.geometry.x.iloc[0], frame.geometry.y.iloc[0]) == pytest.approx(xy(1000, 1500),
                                                                               abs=0.05)


def test_a_height_column_with_its_unit_is_suggested_for_the_field(tmp_path):
    """A candidate list heading its heights 天线挂高/m, with no mapping for them: the error
    suggests the mapping (it suggested none, the header not being 天线挂高)."""
    path = _candidates_csv(tmp_path / "站址.csv", {"lon": "经度", "lat": "纬度",
                                                   "height": "天线挂高/m"})
    source = _candidate_source(path, unmapped=("antenna_height_m",))
    with pytest.raises(InputError, match=r"e\.g\. fields: \{antenna_height_m: 天线挂高/m\}"):
        read_layer(source, pyproj.CRS(CRS), CANDIDATE_FIELDS, "site_id")


def test_technologies_typed_full_width_are_the_scenarios(region, tmp_path):
    """４Ｇ－１８００ in an as-built list, ４Ｇ，５Ｇ and 现网４Ｇ站 in a candidate list, typed in a
    Chinese input method's full-width mode: read as 4G-1800, 4G,5G and existing_4g (they were
    refused as 'not one of the scenario's technologies', 'not a list of generations' and not
    a kind)."""
    scenario, data = region
    path = tmp_path / "竣工.csv"
    pd.DataFrame({"站址编号": ["S1098"], "制式": ["４Ｇ－１８００"], "建成年份": [2027],
                  "实际投资": [205000]}).to_csv(path, index=False, encoding="gbk")
    assert list(read_as_built(path, data.candidates, scenario).sites["technology"]) == ["4G-1800"]
    path = _candidates_csv(tmp_path / "站址.csv", {"lon": "经度", "lat": "纬度"}, techs="４Ｇ，５Ｇ",
                           kind="现网４Ｇ站")
    frame = read_layer(_candidate_source(path), pyproj.CRS(CRS), CANDIDATE_FIELDS, "site_id")
    assert list(frame["technologies"]) == ["4G,5G"]
    assert list(frame["kind"]) == ["existing_4g"]  # 现网4G站


def test_coordinates_named_with_a_word_in_front_are_found(tmp_path):
    """站址经度(°)/站址纬度(°), as tower companies' site lists head them, are the coordinates
    (they were 'no coordinate columns found')."""
    path = _candidates_csv(tmp_path / "站址.csv", {"lon": "站址经度(°)", "lat": "站址纬度(°)"})
    frame = read_layer(_candidate_source(path), pyproj.CRS(CRS), CANDIDATE_FIELDS, "site_id")
    assert (frame.geometry.x.iloc[0], frame.geometry.y.iloc[0]) == pytest.approx(xy(1000, 1500),
                                                                               abs=0.05)


def test_baidu_coordinates_found_by_their_names_are_warned_of(tmp_path, caplog):
    path = _candidates_csv(tmp_path / "站址.csv", {"lon": "百度经度", "lat": "百度纬度"})
    read_layer(_candidate_source(path), pyproj.CRS(CRS), CANDIDATE_FIELDS, "site_id")
    assert "name BD-09 coordinates of a web map" in caplog.text
    assert "declare inputs.candidates.crs: BD-09" in caplog.text


def test_two_pairs_of_coordinates_are_not_guessed(tmp_path):
    """A drive-test cell list with the cell's and the site's coordinates: which pair is meant
    is not guessed."""
    path = _candidates_csv(tmp_path / "站址.csv", {"lon": "小区经度", "lat": "小区纬度"})
    frame = pd.read_csv(path)
    frame["基站经度"], frame["基站纬度"] = frame["小区经度"], frame["小区纬度"]
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match="no coordinate columns found .*小区经度, 小区纬度, "):
        read_layer(_candidate_source(path), pyproj.CRS(CRS), CANDIDATE_FIELDS, "site_id")


def test_site_ids_excel_saved_in_scientific_notation_are_explained(region, tmp_path):
    """A 12-digit site code that Excel showed as 6.10902E+11 and so saved in the CSV: the
    unknown site is told why and what to do (it was told only to correct the id)."""
    scenario, data = region
    path = tmp_path / "竣工.csv"
    path.write_text("站址编号,制式,建成年份,实际投资\n6.10902E+11,4G-1800,2027,1\n", encoding="gbk")
    with pytest.raises(InputError, match=r"unknown site '6\.10902E\+11' .*scientific notation.*"
                                         r"format the column as text"):
        read_as_built(path, data.candidates, scenario)
    to_deg = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    lon, lat = to_deg.transform(*xy(1300, 1500))
    path = tmp_path / "路测.csv"
    path.write_text("经度,纬度,站号,制式,RSRP\n" + f"{lon},{lat},6.10902E+11,4G-1800,-90\n" * 2,
                    encoding="gbk")
    with pytest.raises(InputError, match=r"no candidate site \['6\.10902E\+11'\].*scientific"):
        read_measurements(path, scenario, data)


def test_ids_an_export_wrapped_for_excel_are_the_candidates(region, tmp_path):
    """A network-management export writes ids as ="010233" so that Excel keeps the leading
    zero; read raw, the id is 010233 (it was the unknown site '="010233"')."""
    scenario, data = region
    path = tmp_path / "竣工.csv"
    path.write_text('站址编号,制式,建成年份,实际投资\n="010233",4G-1800,2027,1\n', encoding="gbk")
    assert list(read_as_built(path, data.candidates, scenario).sites["site_id"]) == ["010233"]


def test_an_as_built_sheet_headed_as_the_tower_company_codes_its_sites_is_read(region, tmp_path):
    """站址编码, the tower company's name for its site codes (it answered "no column
    'site_id'")."""
    scenario, data = region
    path = tmp_path / "竣工.csv"
    pd.DataFrame({"站址编码": ["S1098"], "制式": [TECH_4G["name"]], "建成年份": [2027],
                  "实际投资": [205000]}).to_csv(path, index=False, encoding="gbk")
    assert list(read_as_built(path, data.candidates, scenario).sites["site_id"]) == ["S1098"]


def test_an_as_built_workbook_opening_with_a_sheet_of_notes_says_to_put_the_list_first(
        region, tmp_path):
    """--built names a file, not a scenario table: there is no sheet: to set (it was told to
    "set sheet: 竣工清单 in the scenario", and that the first sheet had no coordinate columns,
    which an as-built list needs none of)."""
    scenario, data = region
    path = tmp_path / "竣工.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "填表说明"
    book.active.append(["建成年份填写开通年份"])
    sheet = book.create_sheet("竣工清单")
    for row in [["站址编号", "制式", "建成年份", "实际投资"], ["S1098", TECH_4G["name"], 2027, 1]]:
        sheet.append(row)
    book.save(path)
    with pytest.raises(InputError) as error:
        read_as_built(path, data.candidates, scenario)
    assert str(error.value) == (
        f"{path}: its first sheet '填表说明' has no header row with the columns read here; "
        f"sheet(s) 竣工清单 have one: move that sheet to the front of the workbook (drag its tab "
        f"to the left) and save it")

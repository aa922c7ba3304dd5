"""Input files as Chinese planners' tools write them: Shapefile attribute encodings,
Shapefiles without their .prj file, KML files declared in GB2312.

Each file is written from a known table and read back through the layer reader; what it reads
must be the table (names, Chinese texts, numbers), whatever the .cpg or the .dbf header says.
"""

from __future__ import annotations

import logging
import re
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import Point

from siting.errors import InputError

from siting.config import LayerSource
from siting.io.layers import read_layer
from siting.io.region import VILLAGE_FIELDS

#: The villages' columns, as Chinese sheets head them; 易地搬迁 is 12 bytes in UTF-8, past the
#: 10 bytes a dBase field name may have.
COLUMNS = {"village_id": "编号", "name": "村名", "population": "人口", "admin_unit": "区县",
           "poverty_village": "贫困村", "relocation_site": "易地搬迁"}
CRS = "EPSG:4490"  # CGCS2000
#: GDAL says, as it writes the test files, that it cut 易地搬迁 (its message, cut too, is not UTF-8).
pytestmark = [pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]


def _villages() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"编号": ["V1", "V2", "V3"], "村名": ["石泉村", "汉阴县城关镇", "紫阳村"],
                             "人口": [120, 3400, 870], "区县": ["石泉县", "汉阴县", "紫阳县"],
                             "贫困村": ["是", "否", "是"], "易地搬迁": ["否", "否", "是"]},
                            geometry=[Point(108.25, 33.04), Point(108.51, 32.89),
                                      Point(108.54, 32.52)], crs=CRS)


def _shapefile(folder: Path, encoding: str, *, cpg: bytes | None,
               driver_byte: int = 0) -> Path:
    """The villages as a Shapefile whose .dbf is in ``encoding`` (field names cut at 10 bytes
    by GDAL, as QGIS writes them), with a .cpg holding ``cpg`` (none when None) and the
    .dbf's language driver byte set to ``driver_byte``."""
    folder.mkdir()
    path = folder / "村庄.shp"
    _villages().to_file(path, engine="pyogrio", encoding=encoding)
    dbf = bytearray(path.with_suffix(".dbf").read_bytes())
    dbf[29] = driver_byte
    path.with_suffix(".dbf").write_bytes(bytes(dbf))
    path.with_suffix(".cpg").unlink()
    if cpg is not None:
        path.with_suffix(".cpg").write_bytes(cpg)
    return path


def _read(path: Path, relocation_column: str) -> gpd.GeoDataFrame:
    fields = {**COLUMNS, "relocation_site": relocation_column}
    return read_layer(LayerSource(path=path, fields=tuple(fields.items())), None,
                      VILLAGE_FIELDS, "village_id")


def _assert_villages(got: gpd.GeoDataFrame) -> None:
    want = _villages().set_index("编号")
    assert got.index.tolist() == want.index.tolist()
    assert got["name"].tolist() == want["村名"].tolist()
    assert got["admin_unit"].tolist() == want["区县"].tolist()
    assert got["population"].tolist() == want["人口"].astype(float).tolist()
    assert got["poverty_village"].tolist() == [True, False, True]
    assert got["relocation_site"].tolist() == [False, False, True]


def test_a_qgis_utf8_shapefile_with_a_long_chinese_field_name_is_read(tmp_path):
    """GDAL (so QGIS) cuts 易地搬迁 at 10 bytes, inside 迁; the layer could not be read at all
    ('utf-8' codec can't decode byte 0xe8)."""
    path = _shapefile(tmp_path / "qgis", "UTF-8", cpg=b"UTF-8")
    _assert_villages(_read(path, "易地搬"))


@pytest.mark.parametrize("encoding, cpg", [
    ("GBK", b"936"), ("GBK", b"ANSI 936"), ("GBK", b"\xef\xbb\xbfGBK"), ("GBK", b"cp936\r\n"),
    ("UTF-8", b"65001"), ("UTF-8", b"\xef\xbb\xbfUTF-8")])
def test_a_cpg_naming_the_encoding_as_windows_tools_write_it_is_followed(tmp_path, caplog,
                                                                       encoding, cpg):
    """Code page numbers (936, ESRI's 65001 for UTF-8), 'ANSI 936' and a byte-order mark
    written by Notepad name the encoding; GDAL read them as ISO-8859-1 (编号 as ±àºÅ)."""
    path = _shapefile(tmp_path / "shp", encoding, cpg=cpg)
    with caplog.at_level(logging.WARNING):
        got = _read(path, "易地搬迁" if encoding == "GBK" else "易地搬")
    _assert_villages(got)
    assert ".cpg" not in caplog.text  # the .cpg said it: nothing to warn


@pytest.mark.parametrize("cpg, said", [
    (b"UTF-8", "its .cpg file says UTF-8, but its attributes are not UTF-8"),
    (b"", "its .cpg file holds '', which names no encoding"),
    (None, "no .cpg file gives the encoding of its attributes")])
@pytest.mark.parametrize("driver_byte", [0x00, 0x57])
def test_gbk_attributes_a_cpg_misnames_or_nothing_names_are_read_and_said(
        tmp_path, caplog, cpg, said, driver_byte):
    """A .cpg saying UTF-8 over GBK texts (copied from another layer) refused the layer with
    a decoding error; an empty one, or none with the .dbf's "ANSI" driver byte (0x57: the
    code page of the computer that wrote it), read mojibake."""
    path = _shapefile(tmp_path / "shp", "GBK", cpg=cpg, driver_byte=driver_byte)
    with caplog.at_level(logging.WARNING):
        got = _read(path, "易地搬迁")
    _assert_villages(got)
    fix = "add a .cpg file holding GBK" if cpg is None else "write GBK in the .cpg file"
    assert f"{said}; read them as GB18030 ({fix} to say so)" in caplog.text


def test_a_zipped_shapefile_with_a_cpg_saying_65001_is_read(tmp_path):
    path = _shapefile(tmp_path / "shp", "UTF-8", cpg=b"65001")
    archive = shutil.make_archive(str(tmp_path / "villages"), "zip", path.parent)
    _assert_villages(_read(Path(archive), "易地搬"))


def test_latin_texts_a_cpg_names_stay_as_written(tmp_path):
    """A code page other than China's that the .cpg names is followed (no detection)."""
    path = tmp_path / "v.shp"
    short = {"village_id": "id", "name": "name", "population": "pop", "admin_unit": "county",
             "poverty_village": "poor", "relocation_site": "moved"}
    frame = gpd.GeoDataFrame({"id": ["V1"], "name": ["Śląsk"], "pop": [5], "county": ["Żary"],
                              "poor": ["1"], "moved": ["0"]}, geometry=[Point(108.2, 33.0)],
                             crs=CRS)
    frame.to_file(path, engine="pyogrio", encoding="cp1250")
    path.with_suffix(".cpg").write_bytes(b"1250")
    got = read_layer(LayerSource(path=path, fields=tuple(short.items())), None, VILLAGE_FIELDS,
                     "village_id")
    assert got["name"].tolist() == ["Śląsk"] and got["admin_unit"].tolist() == ["Żary"]
    assert got["population"].tolist() == [5.0]


@pytest.mark.parametrize("written_in, hint", [
    ("EPSG:4490", "its coordinates look like longitude and latitude: EPSG:4490 (CGCS2000) or "
                  "EPSG:4326 (WGS 84)"),
    ("EPSG:4524", "its eastings carry the Gauss-Kruger zone number 36 in front: EPSG:4524 "
                  "(CGCS2000 / 3-degree Gauss-Kruger zone 36) if on CGCS2000"),
    ("EPSG:4496", "its eastings carry the Gauss-Kruger zone number 18 in front: EPSG:4496 "
                  "(CGCS2000 / Gauss-Kruger zone 18) if on CGCS2000")])
def test_a_shapefile_without_its_prj_is_told_the_crs_its_coordinates_show(tmp_path, written_in,
                                                                           hint):
    """A Shapefile copied without its .prj was told only 'no CRS ... (e.g. EPSG:4326)', even
    when its eastings carry their Gauss-Kruger zone; the CRS named reads it where it was."""
    path = _shapefile(tmp_path / "shp", "GBK", cpg=b"GBK")
    _villages().to_crs(written_in).to_file(path, engine="pyogrio", encoding="GBK")
    path.with_suffix(".prj").unlink()
    with pytest.raises(InputError) as refused:
        _read(path, "易地搬迁")
    assert f"{path}: no CRS (no .prj file); {hint}; declare it with" in str(refused.value)
    declared = re.search(r"EPSG:\d+", hint)[0]
    fields = tuple(COLUMNS.items())
    got = read_layer(LayerSource(path=path, crs=declared, fields=fields), pyproj.CRS(CRS),
                     VILLAGE_FIELDS, "village_id")
    assert shapely.get_coordinates(got.geometry.to_numpy()) == pytest.approx(
        shapely.get_coordinates(_villages().geometry.to_numpy()), abs=1e-7)  # degrees: 1 cm


@pytest.mark.parametrize("suffix", [".kml", ".kmz"])
@pytest.mark.parametrize("declared", ["GB2312", "GBK", "gb2312"])
def test_a_kml_declared_in_a_chinese_encoding_is_read(tmp_path, declared, suffix):
    """<?xml ... encoding="GB2312"?>, as older Chinese tools write KML, was refused by GDAL as
    'unknown encoding' under 'is it a GeoPackage, GeoJSON, ... or KML file?'; 堃 is GBK's,
    beyond GB2312, as such files often hold. The same KML zipped as doc.kml in a KMZ (with an
    icon beside it, as Google Earth saves one) was still refused."""
    villages = _villages().assign(村名=["石泉村", "汉阴县堃村", "紫阳村"])
    placemarks = "".join(
        f"<Placemark><name>{row.村名}</name><ExtendedData>"
        + "".join(f'<Data name="{c}"><value>{getattr(row, c)}</value></Data>'
                  for c in ("编号", "人口", "区县", "贫困村", "易地搬迁"))
        + f"</ExtendedData><Point><coordinates>{row.geometry.x},{row.geometry.y},0</coordinates>"
          f"</Point></Placemark>" for row in villages.itertuples())
    kml = (f'<?xml version="1.0" encoding="{declared}"?>\n<kml xmlns="http://www.opengis.net/'
           f'kml/2.2"><Document><Folder><name>村庄</name>{placemarks}</Folder></Document>'
           f"</kml>").encode("gbk")
    path = tmp_path / f"村庄{suffix}"
    if suffix == ".kml":
        path.write_bytes(kml)
    else:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as kmz:
            kmz.writestr("doc.kml", kml)
            kmz.writestr("files/icon.png", b"\x89PNG\r\n\x1a\n")
    fields = {**COLUMNS, "name": "Name"}
    got = read_layer(LayerSource(path=path, fields=tuple(fields.items())), None, VILLAGE_FIELDS,
                     "village_id")
    assert got["name"].tolist() == ["石泉村", "汉阴县堃村", "紫阳村"]
    assert got["admin_unit"].tolist() == villages["区县"].tolist()
    assert got["population"].tolist() == villages["人口"].astype(float).tolist()
    assert shapely.get_coordinates(got.geometry.to_numpy()) == pytest.approx(
        shapely.get_coordinates(villages.geometry.to_numpy()))


def _gbk_shapefile_without_cpg(path: Path, columns: dict, at: Point = Point(108.25, 33.04)) -> Path:
    """A GBK Shapefile without its .cpg of ``columns``, every feature ``at`` (CGCS2000 degrees)."""
    gpd.GeoDataFrame(columns, geometry=[at] * len(next(iter(columns.values()))),
                     crs=CRS).to_file(path, engine="pyogrio", encoding="GBK")
    path.with_suffix(".cpg").unlink()
    return path


def test_an_as_built_shapefile_in_gbk_without_cpg_is_read(tmp_path):
    """The as-built list read GDAL's mojibake (站址编号 as Õ¾Ö·±àºÅ) and was refused as having
    no site_id column."""
    from siting.evaluate import evaluate_plan
    from siting.pipeline import run_scenario
    from tests.regions import CRS as RUN_CRS, TECH_4G, candidate, village, write_region, xy

    scenario = write_region(tmp_path / "in", np.full((100, 100), 400.0),
                            [village("V1", 1000, 1500)], [candidate("S1", 1000, 1500, techs="4G")],
                            technologies=[dict(TECH_4G, max_range_m=900)],
                            objective={"type": "max_coverage", "budget_cny": 1e6})
    run_scenario(scenario, tmp_path / "plan")
    at_s1 = Point(pyproj.Transformer.from_crs(RUN_CRS, CRS, always_xy=True).transform(*xy(1000, 1500)))
    built = _gbk_shapefile_without_cpg(tmp_path / "竣工.shp", {
        "站址编号": ["S1"], "制式": ["4G-1800"], "建成年份": ["2026"], "实际投资": [205000.0],
        "回传方式": ["光纤"]}, at=at_s1)
    sites = evaluate_plan(tmp_path / "plan", built).sites.set_index("site_id")
    assert sites.loc["S1", "actual_cost_cny"] == 205000
    assert sites.loc["S1", "built_backhaul"] == "fiber"


def test_drive_test_shapefile_columns_in_gbk_without_cpg_are_matched(tmp_path):
    from siting.io.measurements import measurement_columns

    path = _gbk_shapefile_without_cpg(tmp_path / "路测.shp", {
        "测量编号": ["M1"], "站址编号": ["S1"], "网络制式": ["4G-1800"], "RSRP": [-95.0]})
    assert dict(measurement_columns(path)) == {"measurement_id": "测量编号", "site_id": "站址编号",
                                               "technology": "网络制式", "rsrp_dbm": "RSRP"}

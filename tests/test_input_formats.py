"""One small region written the ways planners write it plans exactly as the GeoPackage original.

The villages and candidates of a tiny region (a valley cut by a ridge) are rewritten as CSV
(UTF-8 with a BOM and GB18030), an XLSX sheet with Chinese headers, GeoJSON, a Shapefile (its
10-character field names mapped), a zipped Shapefile, FlatGeobuf and KML, and in WGS 84,
CGCS2000 Gauss-Kruger, UTM, GCJ-02 and BD-09; every variant must select the same sites.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import yaml

from regions import TECH_4G, candidate, ridge_dem, village, write_region
from siting.china_crs import wgs84_to_bd09, wgs84_to_gcj02
from siting.config import load_scenario
from siting.pipeline import compute

# Chinese headers of the village sheet, as siting field -> column.
VILLAGE_COLUMNS = {"village_id": "编号", "name": "村名", "population": "人口", "admin_unit": "区县",
                   "poverty_village": "贫困村", "relocation_site": "易地搬迁"}


def _region(folder: Path) -> Path:
    villages = [village("V1", 1000, 3000, name="石泉村"), village("V2", 2600, 1200, name="汉阴村"),
                village("V3", 4500, 3000, poverty=False, name="紫阳村"),
                village("V4", 5200, 5200, population=900, poverty=False, name="岚皋村"),
                village("V5", 3600, 4800, poverty=False, relocation=True, name="平利安置点")]
    candidates = [candidate("S1", 1500, 3000), candidate("S2", 5000, 3500),
                  candidate("S3", 2400, 1500, capex=30000), candidate("S4", 4700, 4900),
                  candidate("S5", 3300, 3000, height=40, capex=90000)]
    return write_region(folder, ridge_dem(), villages=villages, candidates=candidates,
                        technologies=(TECH_4G,),
                        objective={"type": "max_coverage", "max_new_sites": 3})


def _plan(path: Path) -> set[str]:
    run = compute(load_scenario(path))
    return set(run.coverage.options.loc[run.plan.new_options, "site_id"])


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    """The GeoPackage region and its layers."""
    folder = tmp_path_factory.mktemp("original")
    path = _region(folder)
    layers = {name: gpd.read_file(folder / "region.gpkg", layer=name)
              for name in ("villages", "candidates")}
    return path, layers


@pytest.fixture(scope="module")
def original(region):
    """The GeoPackage region, its selected sites, and its layers."""
    path, layers = region
    return path, _plan(path), layers


def _variant(original_path: Path, folder: Path, inputs: dict) -> Path:
    """The original scenario with its villages and candidates taken from ``inputs``."""
    doc = yaml.safe_load(original_path.read_text(encoding="utf-8"))
    base = original_path.parent
    doc["inputs"] = {"dem": str(base / "dem.tif"), "population": str(base / "population.tif"),
                     "admin_units": {"path": str(base / "region.gpkg"), "layer": "admin_units"},
                     **inputs}
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _coordinate_table(frame: gpd.GeoDataFrame, crs, x="lon", y="lat", decimals=7) -> pd.DataFrame:
    """The layer as a table with coordinate columns in ``crs`` (or GCJ-02 / BD-09)."""
    if crs in ("GCJ-02", "BD-09"):
        ll = frame.to_crs("EPSG:4326").geometry
        convert = wgs84_to_gcj02 if crs == "GCJ-02" else wgs84_to_bd09
        xs, ys = convert(ll.x.to_numpy(), ll.y.to_numpy())
    else:
        moved = frame.to_crs(crs).geometry
        xs, ys = moved.x.to_numpy(), moved.y.to_numpy()
    table = pd.DataFrame(frame.drop(columns="geometry"))
    table[x], table[y] = np.round(xs, decimals), np.round(ys, decimals)
    return table


def _chinese_villages(frame: gpd.GeoDataFrame, crs="EPSG:4326") -> pd.DataFrame:
    table = _coordinate_table(frame, crs, x="经度", y="纬度").rename(columns=VILLAGE_COLUMNS)
    for column in ("贫困村", "易地搬迁"):
        table[column] = np.where(table[column], "是", "否")
    return table


def _candidates_csv(frame, folder: Path, crs="EPSG:4326", decimals=7) -> Path:
    table = _coordinate_table(frame, crs, decimals=decimals)
    table["technologies"] = "4G，5G"  # a full-width comma, as Chinese input methods type it
    path = folder / "sites.csv"
    table.to_csv(path, index=False, encoding="utf-8")
    return path


def _village_source(path: Path, **extra) -> dict:
    return {"path": str(path), "fields": VILLAGE_COLUMNS, **extra}


def _write_village_file(frame: gpd.GeoDataFrame, folder: Path, kind: str) -> dict:
    """The villages written as ``kind``; returns the scenario's inputs.villages entry."""
    if kind in ("csv-utf8-bom", "csv-gb18030"):
        path = folder / "villages.csv"
        encoding = "utf-8-sig" if kind == "csv-utf8-bom" else "gb18030"
        _chinese_villages(frame).to_csv(path, index=False, encoding=encoding)
        return _village_source(path)
    if kind == "xlsx":
        path = folder / "villages.xlsx"
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            pd.DataFrame({"说明": ["封面"]}).to_excel(writer, sheet_name="封面", index=False)
            _chinese_villages(frame).to_excel(writer, sheet_name="村庄", index=False)
        return _village_source(path, sheet="村庄", x="经度", y="纬度")
    chinese = gpd.GeoDataFrame(frame.rename(columns=VILLAGE_COLUMNS), geometry="geometry",
                               crs=frame.crs).to_crs("EPSG:4326")
    if kind in ("shp", "shp-zip"):
        shp = frame.rename(columns={"poverty_village": "poverty_vi", "relocation_site": "relocation"})
        shp.to_file(folder / "villages.shp", engine="pyogrio")
        fields = {"poverty_village": "poverty_vi", "relocation_site": "relocation"}
        if kind == "shp":
            return {"path": str(folder / "villages.shp"), "fields": fields}
        with zipfile.ZipFile(folder / "villages.zip", "w") as archive:
            for part in folder.glob("villages.*"):
                if part.suffix != ".zip":
                    archive.write(part, part.name)
        return {"path": str(folder / "villages.zip"), "fields": fields}
    if kind == "kml-arcgis":
        return _village_source(_arcgis_kml(chinese, folder / "villages.kml"))
    suffix, driver = {"geojson": (".geojson", "GeoJSON"), "fgb": (".fgb", "FlatGeobuf"),
                      "kml": (".kml", "LIBKML")}[kind]
    path = folder / f"villages{suffix}"
    chinese.to_file(path, driver=driver, engine="pyogrio")
    return _village_source(path)


#: A placemark as ArcGIS's Layer To KML writes it: the attributes only in the description's
#: HTML, a one-cell row with the label over a nested table of (field, value) rows.
ARCGIS_PLACEMARK = """<Placemark><name>{label}</name><Snippet maxLines="0"></Snippet>
<description><![CDATA[<html xmlns:fo="http://www.w3.org/1999/XSL/Format"
xmlns:msxsl="urn:schemas-microsoft-com:xslt"><head><META http-equiv="Content-Type"
content="text/html"></head><body style="margin:0px 0px 0px 0px;overflow:auto;background:#FFFFFF;">
<table style="font-family:Arial,Verdana,Times;font-size:12px;text-align:left;width:100%;">
<tr style="text-align:center;font-weight:bold;background:#9CBCE2"><td>{label}</td></tr>
<tr><td><table style="font-family:Arial,Verdana,Times;font-size:12px;width:100%">{rows}
</table></td></tr></table></body></html>]]></description>
<styleUrl>#IconStyle00</styleUrl><Point><altitudeMode>clampToGround</altitudeMode>
<coordinates>{lon:.7f},{lat:.7f},0</coordinates></Point></Placemark>"""


def _arcgis_kml(frame: gpd.GeoDataFrame, path: Path) -> Path:
    """``frame`` (WGS 84) as ArcGIS's Layer To KML writes it (no ExtendedData; booleans as
    是/否; a field ArcGIS has no value for, <Null>)."""
    placemarks = []
    for _, row in frame.iterrows():
        values = {c: ("是" if v else "否") if isinstance(v, (bool, np.bool_)) else v
                  for c, v in row.drop("geometry").items()}
        values["备注"] = "<Null>"
        rows = "".join(f'<tr{" bgcolor=#D4E4F3" if i % 2 else ""}><td>{c}</td><td>{v}</td></tr>'
                       for i, (c, v) in enumerate(values.items()))
        placemarks.append(ARCGIS_PLACEMARK.format(label=values["村名"], rows=rows,
                                                  lon=row.geometry.x, lat=row.geometry.y))
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net'
                    '/kml/2.2"><Document><Folder><name>villages</name>' + "".join(placemarks)
                    + "</Folder></Document></kml>", encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", ["csv-utf8-bom", "csv-gb18030", "xlsx", "geojson", "shp",
                                  "shp-zip", "fgb", "kml", "kml-arcgis"])
def test_every_format_gives_the_original_plan(original, tmp_path, kind):
    path, selected, layers = original
    assert selected, "the original plan selects no site; the comparison would be empty"
    inputs = {"villages": _write_village_file(layers["villages"], tmp_path, kind),
              "candidates": str(_candidates_csv(layers["candidates"], tmp_path))}
    assert _plan(_variant(path, tmp_path, inputs)) == selected


@pytest.mark.parametrize("crs, xy, decimals", [
    ("EPSG:4326", ("lon", "lat"), 7),
    ("EPSG:4490", ("经度", "纬度"), 7),      # CGCS2000 geographic
    ("EPSG:4546", ("x", "y"), 2),           # CGCS2000 / 3-degree Gauss-Kruger CM 111E
    ("EPSG:32649", ("easting", "northing"), 2),
    ("GCJ-02", ("lng", "lat"), 7),
    ("BD-09", ("lng", "lat"), 7),
])
def test_every_coordinate_system_gives_the_original_plan(original, tmp_path, crs, xy, decimals):
    path, selected, layers = original
    villages = _coordinate_table(layers["villages"], crs, *xy, decimals=decimals)
    villages.to_csv(tmp_path / "villages.csv", index=False)
    sites = _coordinate_table(layers["candidates"], crs, *xy, decimals=decimals)
    with pd.ExcelWriter(tmp_path / "sites.xlsx", engine="openpyxl") as writer:
        sites.to_excel(writer, sheet_name="站址", index=False)
    inputs = {"villages": {"path": "villages.csv", "crs": crs},
              "candidates": {"path": "sites.xlsx", "crs": crs}}
    assert _plan(_variant(path, tmp_path, inputs)) == selected


def test_coordinates_land_within_a_decimetre_of_the_original(region, tmp_path):
    from siting.io.layers import read_layer
    from siting.io.region import VILLAGE_FIELDS
    from siting.config import LayerSource

    _, layers = region
    want = layers["villages"].set_index("village_id").geometry
    for crs in ("GCJ-02", "BD-09", "EPSG:4546"):
        table = _coordinate_table(layers["villages"], crs, decimals=9)
        table.to_csv(tmp_path / f"v{crs[:3]}.csv", index=False)
        got = read_layer(LayerSource(path=tmp_path / f"v{crs[:3]}.csv", crs=crs), want.crs,
                         VILLAGE_FIELDS, "village_id")
        distance = got.geometry.distance(want.reindex(got.index), align=False)
        assert distance.max() < 0.1, (crs, distance.max())


def test_chinese_booleans_and_extra_columns_survive(region, tmp_path):
    from siting.io.layers import read_layer
    from siting.io.region import VILLAGE_FIELDS
    from siting.config import LayerSource

    _, layers = region
    table = _chinese_villages(layers["villages"])
    table["乡镇"] = "城关镇"
    table.to_csv(tmp_path / "v.csv", index=False, encoding="gb18030")
    got = read_layer(LayerSource(path=tmp_path / "v.csv", fields=tuple(VILLAGE_COLUMNS.items())),
                     None, VILLAGE_FIELDS, "village_id")
    assert got["poverty_village"].tolist() == layers["villages"]["poverty_village"].tolist()
    assert got.loc["V5", "name"] == "平利安置点" and (got["乡镇"] == "城关镇").all()


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_blank_has_fiber_reads_as_no_fiber_and_you_wu_as_yes_no(region, tmp_path, suffix):
    from siting.config import LayerSource
    from siting.io.layers import read_layer
    from siting.io.region import CANDIDATE_FIELDS, has_fiber

    _, layers = region
    table = _coordinate_table(layers["candidates"], "EPSG:4326")
    table["has_fiber"] = ["是", None, "有", "无", True] if suffix == "xlsx" else ["是", "", "有", "无", " "]
    path = tmp_path / f"sites.{suffix}"
    if suffix == "csv":
        table.to_csv(path, index=False, encoding="utf-8")
    else:
        table.to_excel(path, index=False, engine="openpyxl")
    got = read_layer(LayerSource(path=path), None, CANDIDATE_FIELDS, "site_id")
    expected = [True, False, True, False, suffix == "xlsx"]
    assert has_fiber(got).tolist() == expected


def _placemark(name: str, lon: float) -> str:
    return (f"<Placemark><name>{name}</name><LineString><coordinates>{lon},32.70 {lon},32.72"
            f"</coordinates></LineString></Placemark>")


def test_every_folder_of_a_kml_is_read_unless_one_is_named(tmp_path, caplog):
    from siting.config import LayerSource
    from siting.io.layers import read_layer
    from siting.io.region import ROAD_FIELDS

    folders = {"国道": ["G1"], "县道": ["X1", "X2"]}
    body = "".join(f"<Folder><name>{folder}</name>"
                   + "".join(_placemark(name, 109.3 + 0.01 * i) for i, name in enumerate(names))
                   + "</Folder>" for folder, names in folders.items())
    path = tmp_path / "roads.kml"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/'
                    f'kml/2.2"><Document>{body}</Document></kml>', encoding="utf-8")

    def names(**choice):
        source = LayerSource(path=path, key="inputs.roads", **choice)
        return sorted(read_layer(source, None, ROAD_FIELDS, "road_id", geometry="LineString")["Name"])

    assert names() == ["G1", "X1", "X2"]
    assert any("国道, 县道" in r.getMessage() and "inputs.roads.layer" in r.getMessage()
               for r in caplog.records)
    assert names(layer="县道") == ["X1", "X2"]


def _sheet_with_a_title(table: pd.DataFrame, path: Path) -> None:
    """``table`` as planners keep it: a title merged across the columns and the unit that made
    the list above the header, header cells with a trailing space, blank rows below."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "村庄"
    sheet.append(["安康市2026年行政村清单（高德坐标）"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(table.columns))
    sheet.append(["制表单位：安康移动", None, None, "日期：2026-11-30"])
    sheet.append([f"{c} " for c in table.columns])
    for row in table.itertuples(index=False):
        sheet.append([str(v) for v in row])
    sheet.append([None] * len(table.columns))
    sheet.append([" "] * len(table.columns))
    book.save(path)


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_a_title_above_the_header_is_skipped(region, tmp_path, suffix):
    from siting.config import LayerSource
    from siting.io.layers import read_layer
    from siting.io.region import VILLAGE_FIELDS

    _, layers = region
    table = _chinese_villages(layers["villages"], "GCJ-02")
    path = tmp_path / f"villages.{suffix}"
    if suffix == "xlsx":
        _sheet_with_a_title(table, path)
    else:  # as Excel on Chinese Windows saves such a sheet: GB18030, commas padding the title
        title = "安康市2026年行政村清单（高德坐标）" + "," * (len(table.columns) - 1)
        path.write_text(f"{title}\n制表单位：安康移动,,,日期：2026-11-30\n\n"
                        + table.to_csv(index=False), encoding="gb18030")
    got = read_layer(LayerSource(path=path, crs="GCJ-02", fields=tuple(VILLAGE_COLUMNS.items())),
                     layers["villages"].crs, VILLAGE_FIELDS, "village_id")
    want = layers["villages"].set_index("village_id")
    assert got["population"].tolist() == want["population"].reindex(got.index).tolist()
    assert got.geometry.distance(want.geometry.reindex(got.index), align=False).max() < 0.1


def _google_earth_placemark(row, lonlat) -> str:
    """A Placemark as Google Earth or My Maps writes it: untyped ``<Data name=...>`` values."""
    data = "".join(f'<Data name="{column}"><value>{row[column]}</value></Data>'
                   for column in ("编号", "人口", "区县", "贫困村", "易地搬迁"))
    return (f"<Placemark><name>{row['村名']}</name><ExtendedData>{data}</ExtendedData>"
            f"<Point><coordinates>{lonlat.x:.9f},{lonlat.y:.9f},0</coordinates></Point>"
            "</Placemark>")


def test_chinese_extended_data_of_a_google_earth_kmz_keeps_its_names(region, tmp_path):
    import pyogrio

    from siting.config import LayerSource
    from siting.io.layers import read_layer
    from siting.io.region import VILLAGE_FIELDS

    _, layers = region
    table = _chinese_villages(layers["villages"])
    lonlat = layers["villages"].to_crs("EPSG:4326").geometry
    marks = [_google_earth_placemark(row, lonlat[i]) for i, row in table.iterrows()]
    inner = f"<Folder><name>山区</name>{''.join(marks[2:])}</Folder>"  # folders in folders
    kml = ('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
           f"<Document><Folder><name>安康市</name>{''.join(marks[:2])}{inner}</Folder>"
           "</Document></kml>")
    path = tmp_path / "villages.kmz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("doc.kml", kml)
    fields = {**VILLAGE_COLUMNS, "name": "Name"}
    got = read_layer(LayerSource(path=path, fields=tuple(fields.items())), layers["villages"].crs,
                     VILLAGE_FIELDS, "village_id")
    want = layers["villages"].set_index("village_id").reindex(got.index)
    assert sorted(got.index) == sorted(want.index)
    assert got["population"].tolist() == want["population"].tolist()
    assert got["poverty_village"].tolist() == want["poverty_village"].tolist()
    assert got["name"].tolist() == want["name"].tolist()
    assert got.geometry.distance(want.geometry, align=False).max() < 0.1
    assert pyogrio.get_gdal_config_option("LIBKML_LAUNDER_FIELD_NAMES") is None  # left as it was


@pytest.mark.parametrize("encoding", ["GBK", "UTF-8"])
@pytest.mark.parametrize("zipped", [False, True])
def test_a_shapefile_without_cpg_keeps_its_chinese_names(region, tmp_path, encoding, zipped):
    """Chinese ArcGIS and MapGIS write the .dbf in GBK with no .cpg nor code page byte, which
    GDAL alone reads as ISO-8859-1 (编号 as ±àºÅ)."""
    from siting.config import LayerSource
    from siting.io.layers import read_layer
    from siting.io.region import VILLAGE_FIELDS

    _, layers = region
    columns = {**VILLAGE_COLUMNS, "relocation_site": "搬迁"}  # names fit 10 bytes in UTF-8 too
    table = _chinese_villages(layers["villages"]).rename(columns={"易地搬迁": "搬迁"})
    chinese = gpd.GeoDataFrame(table.drop(columns=["经度", "纬度"]),
                               geometry=layers["villages"].geometry.to_numpy(),
                               crs=layers["villages"].crs).to_crs("EPSG:4545")  # CGCS2000 GK
    chinese.to_file(tmp_path / "村庄.shp", engine="pyogrio", encoding=encoding)
    (tmp_path / "村庄.cpg").unlink()
    assert (tmp_path / "村庄.dbf").read_bytes()[29] == 0  # no code page byte either
    path = tmp_path / "村庄.shp"
    if zipped:
        path = tmp_path / "villages.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for part in tmp_path.glob("村庄.*"):
                archive.write(part, part.name)
    got = read_layer(LayerSource(path=path, fields=tuple(columns.items())),
                     layers["villages"].crs, VILLAGE_FIELDS, "village_id")
    want = layers["villages"].set_index("village_id").reindex(got.index)
    assert got["name"].tolist() == want["name"].tolist()  # 石泉村, 汉阴村, ...
    assert got["poverty_village"].tolist() == want["poverty_village"].tolist()
    assert got.geometry.distance(want.geometry, align=False).max() < 0.1


FULL_WIDTH = str.maketrans("0123456789.,-", "０１２３４５６７８９．，－")


def test_numbers_written_as_chinese_excel_shows_them(region, tmp_path):
    """Thousands separators (also full-width), full-width digits and spaces around numbers."""
    from siting.config import LayerSource
    from siting.io.layers import read_layer
    from siting.io.region import VILLAGE_FIELDS

    _, layers = region
    table = _chinese_villages(layers["villages"]).astype({"人口": object})
    table["人口"] = [f"{1980:,}", f"{1980:,}".translate(FULL_WIDTH), " 200 ",
                   "２００", f"{200:,}"]  # '1,980', '１，９８０', ...
    table["经度"] = [f"{v:.7f}".translate(FULL_WIDTH) for v in table["经度"]]
    path = tmp_path / "villages.xlsx"
    table.to_excel(path, index=False, engine="openpyxl")
    got = read_layer(LayerSource(path=path, fields=tuple(VILLAGE_COLUMNS.items())),
                     layers["villages"].crs, VILLAGE_FIELDS, "village_id")
    want = layers["villages"].set_index("village_id").reindex(got.index)
    assert got["population"].tolist() == [1980.0, 1980.0, 200.0, 200.0, 200.0]
    assert got.geometry.distance(want.geometry, align=False).max() < 0.1


def _dms(degrees: float, style: str) -> str:
    whole = int(degrees)
    minutes = int((degrees - whole) * 60)
    seconds = (degrees - whole - minutes / 60) * 3600
    return style.format(d=whole, m=minutes, s=f"{seconds:.4f}", decimal=f"{degrees:.7f}")


@pytest.mark.parametrize("lon_style, lat_style", [
    ("{d}°{m}'{s}\"", "{d}°{m}'{s}\""),
    ("东经{d}度{m}分{s}秒", "北纬{d}度{m}分{s}秒"),
    ("{d}°{m}′{s}″E", "N{d}°{m}′{s}″"),
    ("E{decimal}", "{decimal}N"),  # a GPS's degrees with a hemisphere
])
def test_coordinates_in_degrees_minutes_and_seconds(region, tmp_path, lon_style, lat_style):
    from siting.config import LayerSource
    from siting.io.layers import read_layer
    from siting.io.region import VILLAGE_FIELDS

    _, layers = region
    table = _chinese_villages(layers["villages"])
    table["经度"] = [_dms(v, lon_style) for v in table["经度"]]
    table["纬度"] = [_dms(v, lat_style) for v in table["纬度"]]
    table.to_csv(tmp_path / "villages.csv", index=False, encoding="gb18030")
    got = read_layer(LayerSource(path=tmp_path / "villages.csv",
                                 fields=tuple(VILLAGE_COLUMNS.items())),
                     layers["villages"].crs, VILLAGE_FIELDS, "village_id")
    want = layers["villages"].set_index("village_id").reindex(got.index)
    assert got.geometry.distance(want.geometry, align=False).max() < 0.1


def test_technologies_joined_with_a_plus_sign(region, tmp_path):
    from siting.config import LayerSource
    from siting.io.layers import read_layer
    from siting.io.region import CANDIDATE_FIELDS

    _, layers = region
    table = _coordinate_table(layers["candidates"], "EPSG:4326")
    table["technologies"] = ["4G+5G", "4G＋5G", "5G + 4G", "4G", "4G、5G"]
    table.to_csv(tmp_path / "sites.csv", index=False, encoding="gb18030")
    got = read_layer(LayerSource(path=tmp_path / "sites.csv"), None, CANDIDATE_FIELDS, "site_id")
    assert got["technologies"].tolist() == ["4G,5G", "4G,5G", "4G,5G", "4G", "4G,5G"]


def test_site_kinds_written_in_chinese_are_read_as_their_keys(region, tmp_path):
    """存量5G, 路灯杆, 新建铁塔 ... as a Chinese site list (or siting's own Chinese output) writes
    the kinds; each was refused as an unknown kind. A bare 铁塔 is not guessed."""
    from siting.config import LayerSource
    from siting.io.layers import read_layer
    from siting.io.region import CANDIDATE_FIELDS, CANDIDATE_KINDS

    _, layers = region
    table = _coordinate_table(layers["candidates"], "EPSG:4326")
    table["kind"] = ["存量5G", "路灯杆", "新建铁塔", "楼顶", "public_building"]
    table.to_csv(tmp_path / "sites.csv", index=False, encoding="gb18030")
    got = read_layer(LayerSource(path=tmp_path / "sites.csv"), None, CANDIDATE_FIELDS, "site_id")
    assert got["kind"].tolist() == ["existing_5g", "lamp_pole", "greenfield", "rooftop",
                                    "public_building"]
    assert set(got["kind"]) <= set(CANDIDATE_KINDS)


def test_heights_written_with_their_unit_are_read_in_metres(region, tmp_path):
    """站高 written 35米, 40 m, 45M, ３０米 as site lists write them; each was refused as not a
    number."""
    from siting.config import LayerSource
    from siting.io.layers import read_layer
    from siting.io.region import CANDIDATE_FIELDS

    _, layers = region
    table = _coordinate_table(layers["candidates"], "EPSG:4326")
    table["antenna_height_m"] = ["35米", "40 m", "45M", "３０米", "25"]
    table.to_csv(tmp_path / "sites.csv", index=False, encoding="gb18030")
    got = read_layer(LayerSource(path=tmp_path / "sites.csv"), None, CANDIDATE_FIELDS, "site_id")
    assert got["antenna_height_m"].tolist() == [35.0, 40.0, 45.0, 30.0, 25.0]


def test_a_two_row_header_with_merged_cells_is_read(region, tmp_path):
    """Names merged down over two header rows beside 坐标 merged across 经度 and 纬度."""
    from openpyxl import Workbook

    from siting.config import LayerSource
    from siting.io.layers import read_layer
    from siting.io.region import VILLAGE_FIELDS

    _, layers = region
    table = _chinese_villages(layers["villages"], "GCJ-02")
    named = [c for c in table.columns if c not in ("经度", "纬度")]
    book = Workbook()
    sheet = book.active
    sheet.append(["安康市行政村清单"])
    sheet.append([*named, "坐标（高德）", None])
    sheet.append([None] * len(named) + ["经度", "纬度"])
    for column in range(1, len(named) + 1):
        sheet.merge_cells(start_row=2, start_column=column, end_row=3, end_column=column)
    sheet.merge_cells(start_row=2, start_column=len(named) + 1, end_row=2,
                      end_column=len(named) + 2)
    for row in table[[*named, "经度", "纬度"]].itertuples(index=False):
        sheet.append(list(row))
    book.save(tmp_path / "villages.xlsx")
    got = read_layer(LayerSource(path=tmp_path / "villages.xlsx", crs="GCJ-02",
                                 fields=tuple(VILLAGE_COLUMNS.items())),
                     layers["villages"].crs, VILLAGE_FIELDS, "village_id")
    want = layers["villages"].set_index("village_id").reindex(got.index)
    assert sorted(got.index) == sorted(layers["villages"]["village_id"])
    assert got["population"].tolist() == want["population"].tolist()
    assert got.geometry.distance(want.geometry, align=False).max() < 0.1


def test_ticks_and_crosses_are_booleans(region, tmp_path):
    """Chinese forms mark a box with √ (yes) or × (no)."""
    from siting.config import LayerSource
    from siting.io.layers import read_layer
    from siting.io.region import VILLAGE_FIELDS

    _, layers = region
    table = _chinese_villages(layers["villages"])
    table["贫困村"] = np.where(layers["villages"]["poverty_village"], "√", "×")
    table["易地搬迁"] = np.where(layers["villages"]["relocation_site"], "✓", "✗")
    table.to_excel(tmp_path / "v.xlsx", index=False, engine="openpyxl")
    got = read_layer(LayerSource(path=tmp_path / "v.xlsx", fields=tuple(VILLAGE_COLUMNS.items())),
                     None, VILLAGE_FIELDS, "village_id")
    assert got["poverty_village"].tolist() == layers["villages"]["poverty_village"].tolist()
    assert got["relocation_site"].tolist() == layers["villages"]["relocation_site"].tolist()


def test_excel_unicode_text_is_read(region, tmp_path):
    """Excel's "Unicode text (*.txt)" export: UTF-16 with a byte-order mark, tab-separated."""
    from siting.config import LayerSource
    from siting.io.layers import read_layer
    from siting.io.region import VILLAGE_FIELDS

    _, layers = region
    path = tmp_path / "villages.txt"
    _chinese_villages(layers["villages"]).to_csv(path, index=False, sep="\t", encoding="utf-16")
    got = read_layer(LayerSource(path=path, fields=tuple(VILLAGE_COLUMNS.items())),
                     layers["villages"].crs, VILLAGE_FIELDS, "village_id")
    want = layers["villages"].set_index("village_id").reindex(got.index)
    assert got["name"].tolist() == want["name"].tolist()
    assert got.geometry.distance(want.geometry, align=False).max() < 0.1


def test_costs_in_wan_yuan_are_read_in_yuan(region, tmp_path):
    """A cost sheet's header says 万元 (ten thousand yuan): 15 there is 150,000 CNY."""
    from siting.config import LayerSource
    from siting.io.layers import read_layer
    from siting.io.region import CANDIDATE_FIELDS

    _, layers = region
    table = _coordinate_table(layers["candidates"], "EPSG:4326")
    table["建设投资（万元）"] = table.pop("capex_cny") / 1e4
    table["年运维费(万元)"] = table.pop("opex_cny_per_year") / 1e4
    table.to_excel(tmp_path / "sites.xlsx", index=False, engine="openpyxl")
    fields = {"capex_cny": "建设投资（万元）", "opex_cny_per_year": "年运维费(万元)"}
    got = read_layer(LayerSource(path=tmp_path / "sites.xlsx", fields=tuple(fields.items())),
                     None, CANDIDATE_FIELDS, "site_id")
    want = layers["candidates"].set_index("site_id").reindex(got.index)
    assert np.allclose(got["capex_cny"], want["capex_cny"])
    assert np.allclose(got["opex_cny_per_year"], want["opex_cny_per_year"])
    assert got["capex_cny"].max() >= 30000  # not 3 (万元 read as yuan)


def test_a_huge_cell_does_not_stop_the_header_search(region, tmp_path):
    """A WKT column of a QGIS export holds cells beyond the csv module's field size limit."""
    from siting.config import LayerSource
    from siting.io.layers import read_layer
    from siting.io.region import VILLAGE_FIELDS

    _, layers = region
    table = _chinese_villages(layers["villages"])
    table["边界WKT"] = "POLYGON ((" + ", ".join(["108.1 32.1"] * 20000) + "))"
    table.to_csv(tmp_path / "villages.csv", index=False)
    got = read_layer(LayerSource(path=tmp_path / "villages.csv",
                                 fields=tuple(VILLAGE_COLUMNS.items())),
                     None, VILLAGE_FIELDS, "village_id")
    assert sorted(got.index) == sorted(layers["villages"]["village_id"])


@pytest.mark.parametrize("decimals, warned", [(2, True), (3, True), (5, False)])
def test_coordinates_rounded_by_excel_are_warned_about(region, tmp_path, caplog, decimals, warned):
    """Excel saves a CSV with the digits its cells show: a "0.00" column moves points 550 m."""
    from siting.config import LayerSource
    from siting.io.layers import read_layer
    from siting.io.region import VILLAGE_FIELDS

    _, layers = region
    table = _chinese_villages(layers["villages"])
    for column in ("经度", "纬度"):
        table[column] = [f"{v:.{decimals}f}" for v in table[column]]
    table.to_csv(tmp_path / "villages.csv", index=False, encoding="gb18030")
    read_layer(LayerSource(path=tmp_path / "villages.csv", fields=tuple(VILLAGE_COLUMNS.items())),
               None, VILLAGE_FIELDS, "village_id")
    notices = [r.getMessage() for r in caplog.records if "decimals" in r.getMessage()]
    assert bool(notices) == warned, notices
    if warned:
        assert f"at most {decimals} decimals" in notices[0] and "villages.csv" in notices[0]


@pytest.mark.parametrize("crs, warned", [("EPSG:2382", True),   # Xian 1980 / GK CM 111E
                                         ("EPSG:2434", True),   # Beijing 1954 / GK CM 111E
                                         ("EPSG:4546", False)])  # CGCS2000 / GK CM 111E
def test_old_chinese_datums_are_warned_about(region, tmp_path, caplog, crs, warned):
    """PROJ has no shift from Xian 1980 or Beijing 1954 to WGS 84 inland: only a ballpark."""
    from siting.config import LayerSource
    from siting.io.layers import read_layer
    from siting.io.region import VILLAGE_FIELDS

    _, layers = region
    _coordinate_table(layers["villages"], crs, decimals=2).to_csv(tmp_path / "v.csv", index=False)
    read_layer(LayerSource(path=tmp_path / "v.csv", crs=crs), layers["villages"].crs,
               VILLAGE_FIELDS, "village_id")
    notices = [r.getMessage() for r in caplog.records if "no shift" in r.getMessage()]
    assert bool(notices) == warned, notices
    if warned:
        assert "v.csv" in notices[0] and pyproj.CRS(crs).geodetic_crs.datum.name in notices[0]


@pytest.mark.parametrize("separator", [",", "，", ", "])
def test_one_column_of_coordinate_pairs_from_a_web_map_picker(region, tmp_path, separator):
    """Amap's and Baidu's coordinate pickers copy "lng,lat" into one cell."""
    from siting.config import LayerSource
    from siting.io.layers import read_layer
    from siting.io.region import VILLAGE_FIELDS

    _, layers = region
    table = _chinese_villages(layers["villages"], "GCJ-02")
    table["高德坐标"] = [f"{lon:.7f}{separator}{lat:.7f}"
                     for lon, lat in zip(table.pop("经度"), table.pop("纬度"))]
    table.to_excel(tmp_path / "v.xlsx", index=False, engine="openpyxl")
    source = LayerSource(path=tmp_path / "v.xlsx", x="高德坐标", y="高德坐标", crs="GCJ-02",
                         fields=tuple(VILLAGE_COLUMNS.items()))
    got = read_layer(source, layers["villages"].crs, VILLAGE_FIELDS, "village_id")
    want = layers["villages"].set_index("village_id").reindex(got.index)
    assert got.geometry.distance(want.geometry, align=False).max() < 0.1

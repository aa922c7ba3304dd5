"""Build a scenario of the real Ankang prefecture from public data, in the formats planners use.

Reads the shared real-data folder (never copied into the repository) and writes, in OUT:

- ``counties.shp``: Ankang's 10 county-level divisions (DataV GeoJSON), ASCII field names;
- ``villages.xlsx``: sheet 村庄, the GeoNames settlements inside the counties with Chinese
  headers (编号, 村名, 人口, 区县, 贫困村, 易地搬迁, 经度, 纬度), coordinates in GCJ-02 as a
  planner copies them from Amap; 贫困村 is set (是) for settlements under 50,000 people, an
  illustrative rule, not an official list;
- ``sites.csv``: candidate sites (UTF-8 with a BOM, Chinese column 站名): the existing 4G site
  of the city, a public building at every county seat and settlement, and a greenfield mast on
  the highest DEM cell of each county;
- ``dem_tiles/``: the coarse real DEM (ITU-R P.1511, 1/12 degree) cut into 2 x 2 GeoTIFF tiles
  in geographic degrees;
- ``scenario.yaml``: no population raster (demand is the villages), report in Chinese.

The DEM is far too coarse for radio work (about 9 km cells; the run warns): a planner uses
SRTM 30 m or Copernicus GLO-30 tiles instead (see the README's "Bring your own data").

    python scripts/make_ankang_example.py --out /tmp/ankang [--shared ../shared/data/real]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.windows
import yaml

from siting.china_crs import wgs84_to_gcj02

DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
COUNTIES = "admin_boundaries/ankang_610900_counties_datav.geojson"
SETTLEMENTS = "settlements_geonames/geonames_cities500_CN_bbox_107.5-110.75E_31.0-34.5N.csv"
DEM = "dem/itu_p1511_topo_ankang/itu_p1511_v2_topo_107.5-110.75E_31.0-34.5N.asc"
POVERTY_BELOW_PEOPLE = 50_000
CJK = re.compile(r"^[\u4e00-\u9fff]+$")

TECHNOLOGIES = [
    dict(name="4G-700", generation="4G", frequency_mhz=700, eirp_dbm=61.0, resource_blocks=50,
         rsrp_threshold_dbm=-110, model="rma_38901", max_range_m=10000, clutter_loss_db=10,
         equipment_capex_cny=150000, opex_cny_per_year=12000),
    dict(name="5G-3500", generation="5G", frequency_mhz=3500, eirp_dbm=77.0, resource_blocks=273,
         rsrp_threshold_dbm=-105, model="rma_38901", max_range_m=5000, clutter_loss_db=10,
         equipment_capex_cny=250000, opex_cny_per_year=20000),
]


def chinese_name(alternatenames: str, fallback: str) -> str:
    """The shortest all-Chinese alternate name GeoNames lists (e.g. 安康), else ``fallback``."""
    names = [n for n in str(alternatenames).split("|") if CJK.match(n)]
    return min(names, key=len) if names else fallback


def read_counties(shared: Path) -> gpd.GeoDataFrame:
    counties = gpd.read_file(shared / COUNTIES)[["adcode", "name", "center", "geometry"]]
    return counties.rename(columns={"adcode": "ADCODE", "name": "NAME"}).set_crs("EPSG:4326",
                                                                                  allow_override=True)


def read_settlements(shared: Path, counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    table = pd.read_csv(shared / SETTLEMENTS)
    points = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table.longitude, table.latitude),
                              crs="EPSG:4326")
    inside = gpd.sjoin(points, counties[["NAME", "geometry"]], predicate="within")
    return inside.sort_values("geonameid").reset_index(drop=True)


def write_villages(settlements: gpd.GeoDataFrame, path: Path) -> None:
    lon_gcj, lat_gcj = wgs84_to_gcj02(settlements.geometry.x.to_numpy(), settlements.geometry.y.to_numpy())
    sheet = pd.DataFrame({
        "编号": settlements["geonameid"].astype(str),
        "村名": [chinese_name(a, f"{n}") for a, n in zip(settlements["alternatenames"], settlements["name"])],
        "人口": settlements["population"].astype(int),
        "区县": settlements["NAME"],
        "贫困村": np.where(settlements["population"] < POVERTY_BELOW_PEOPLE, "是", "否"),
        "易地搬迁": "否",
        "经度": np.round(lon_gcj, 6),
        "纬度": np.round(lat_gcj, 6),
    })
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"说明": ["安康市示例：GeoNames 居民点，坐标为 GCJ-02（高德）"]}).to_excel(
            writer, sheet_name="说明", index=False)
        sheet.to_excel(writer, sheet_name="村庄", index=False)


def highest_points(dem_path: Path, counties: gpd.GeoDataFrame) -> list[tuple[float, float, float]]:
    """(lon, lat, height) of the highest DEM cell centre inside each county."""
    with rasterio.open(dem_path) as src:
        heights = src.read(1).astype(float)
        rows, cols = np.indices(heights.shape)
        xs, ys = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
    cells = gpd.GeoDataFrame({"h": heights.ravel()}, geometry=gpd.points_from_xy(xs, ys), crs="EPSG:4326")
    joined = gpd.sjoin(cells, counties[["NAME", "geometry"]], predicate="within")
    best = joined.loc[joined.groupby("NAME")["h"].idxmax()]
    return [(p.x, p.y, h) for p, h in zip(best.geometry, best["h"])]


def site_rows(settlements, counties, peaks) -> list[dict]:
    common = dict(antenna_height_m=30.0, opex_cny_per_year=20000.0, extra_cost_cny=0.0,
                  technologies="4G，5G")
    rows = [dict(site_id="E001", 站名="安康城区既有站", kind="existing_4g", lon=109.0290, lat=32.6850,
                 capex_cny=0.0, free_public="是", difficult="否", **common)]
    for i, county in counties.iterrows():
        lon, lat = county["center"]
        rows.append(dict(site_id=f"P{i + 1:03d}", 站名=f"{county['NAME']}政府楼顶", kind="public_building",
                         lon=lon, lat=lat, capex_cny=60000.0, free_public="是", difficult="否", **common))
    for i, village in settlements.iterrows():
        rows.append(dict(site_id=f"V{i + 1:03d}", 站名=f"{village['name']}公共建筑", kind="public_building",
                         lon=village.geometry.x, lat=village.geometry.y, capex_cny=80000.0,
                         free_public="否", difficult="否", **common))
    for i, (lon, lat, height) in enumerate(peaks):
        rows.append(dict(site_id=f"G{i + 1:03d}", 站名=f"山顶铁塔{i + 1}（{height:.0f} m）", kind="greenfield",
                         lon=lon, lat=lat, capex_cny=450000.0, free_public="否", difficult="是",
                         **(common | {"extra_cost_cny": 150000.0})))
    return rows


def write_dem_tiles(dem_path: Path, folder: Path) -> None:
    """The DEM cut into 2 x 2 GeoTIFF tiles, in geographic degrees as it comes."""
    folder.mkdir(parents=True, exist_ok=True)
    with rasterio.open(dem_path) as src:
        half_r, half_c = src.height // 2, src.width // 2
        for r0, r1 in ((0, half_r), (half_r, src.height)):
            for c0, c1 in ((0, half_c), (half_c, src.width)):
                window = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)
                profile = dict(driver="GTiff", height=r1 - r0, width=c1 - c0, count=1,
                               dtype="int16", crs="EPSG:4326", nodata=-9999,
                               transform=src.window_transform(window))
                with rasterio.open(folder / f"tile_r{r0:02d}_c{c0:02d}.tif", "w", **profile) as dst:
                    dst.write(src.read(1, window=window).astype(np.int16), 1)


def scenario_doc() -> dict:
    return {
        "name": "安康市示例",
        "inputs": {
            "dem": "dem_tiles/",
            "population": None,
            "villages": {"path": "villages.xlsx", "sheet": "村庄", "x": "经度", "y": "纬度",
                         "crs": "GCJ-02",
                         "fields": {"village_id": "编号", "name": "村名", "population": "人口",
                                    "admin_unit": "区县", "poverty_village": "贫困村",
                                    "relocation_site": "易地搬迁"}},
            "candidates": "sites.csv",
            "admin_units": {"path": "counties.shp", "fields": {"admin_unit": "NAME"}},
        },
        "demand": {"ue_height_m": 1.5},
        "technologies": TECHNOLOGIES,
        "objective": {"type": "max_coverage", "budget_cny": 3_000_000, "max_new_sites": 8},
        "solver": {"time_limit_s": 60},
        "coverage": {"raster_resolution_m": 1000},
        "report": {"language": "zh"},
        "map": {"basemap": "none"},
    }


def make_example(shared: Path, out: Path) -> Path:
    """Write the example into ``out``; returns the scenario path."""
    out.mkdir(parents=True, exist_ok=True)
    dem_source = out / "dem_source.asc"  # the ASCII grid has no CRS: a .prj sidecar gives it one
    dem_source.write_bytes((shared / DEM).read_bytes())
    dem_source.with_suffix(".prj").write_text(rasterio.crs.CRS.from_epsg(4326).to_wkt(), encoding="ascii")
    counties = read_counties(shared)
    settlements = read_settlements(shared, counties)
    counties.drop(columns="center").to_file(out / "counties.shp", engine="pyogrio", encoding="UTF-8")
    write_villages(settlements, out / "villages.xlsx")
    rows = site_rows(settlements, counties, highest_points(dem_source, counties))
    pd.DataFrame(rows).to_csv(out / "sites.csv", index=False, encoding="utf-8-sig")
    write_dem_tiles(dem_source, out / "dem_tiles")
    for part in (dem_source, dem_source.with_suffix(".prj")):
        part.unlink()
    path = out / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario_doc(), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                        help="the real-data folder (default: ../shared/data/real)")
    args = parser.parse_args()
    if not (args.shared / COUNTIES).exists():
        raise SystemExit(f"{args.shared}: the shared real-data folder is not there")
    print(f"wrote {make_example(args.shared, args.out)}")


if __name__ == "__main__":
    main()

"""The as-built list: the sites actually built (or upgraded), with the technology, the year and
what they cost.

A prefecture's year-end review and next year's plan start from this list, which the operator or
the tower company keeps as a spreadsheet (CSV, XLSX) or as any vector file GDAL reads. It names
sites by the candidates' ``site_id``; one row per site and technology:

- ``site_id`` (也作 站址编号, 站点编号): a candidate of the scenario;
- ``technology`` (制式): one of the scenario's technology names, which the site allows and does
  not already have on air;
- ``year`` (建成年份, 年份): the year it went on air; with a phased plan, one of the plan's years;
- ``cost_cny`` (实际投资): what was spent on it [CNY], at least 0, its backhaul included;
- optionally ``backhaul`` (回传方式, 回传): how the site is fed, ``fiber`` (光纤), ``microwave``
  (微波) or ``satellite`` (卫星); empty when not known.
- optionally ``built`` (是否建成): whether the row's site was built, as a sheet that keeps
  every planned site answers it; a row answered no (否) is left out.
- optionally, where the site was built: a CSV/XLSX list's 经度/纬度 (lon/lat) columns, a
  vector list's point geometries, in the CRS ``--built-crs`` declares (WGS 84 for a table
  without, a vector file's own; ``GCJ-02`` or ``BD-09`` for coordinates copied from Amap,
  Tencent or Baidu maps), as a layer's are read: a site within :data:`MOVED_SITE_MAX_M` of
  its candidate is that candidate (and placed there); one farther away is refused.

A row with no technology and a backhaul records a feed built for a site (its cost in
``cost_cny``): a *feed row*. The site is an existing one (a row naming a technology it has on
air already, with a backhaul, is read the same way), or one a row of the list builds, in the
feed's year or before (a mast first fed by satellite, its fiber laid a year later). A re-plan
keeps that feed in place, as it keeps an as-built site's (:func:`with_as_built`).

Every problem is reported at once, one line each, naming the file, the spreadsheet row (the
header is row 1) and the field. :func:`with_as_built` marks the built technologies as on air
in the candidate table (:data:`BUILT_COLUMN`), which is how the planner and the outputs treat
them: as existing sites, kept at no cost, that may be upgraded. A site on the list was built
with its backhaul (paid in its cost): a re-plan with backhaul keeps that backhaul in place
and plans no feed for it (:func:`on_as_built_list`); one fed by fiber has fiber on site
(``has_fiber``), from which new fiber routes and microwave hops may start. One fed otherwise
(or not known) relays a hop only with a feed the plan buys it, since its own hop count from
fiber is not known.
"""

from __future__ import annotations

import datetime
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
from openpyxl.utils.datetime import from_excel

from siting.config import LayerSource, Scenario
from siting.errors import InputError
from siting.io.layers import (BOOL_SPELLINGS, bool_of, declared_points, generations_of, in_yuan,
                              negative_problem, vector_features, web_map_system, without_currency)
from siting.io.problems import Problems, require_file
from siting.io.region import EXISTING_KINDS, backhaul_in_place, has_fiber
from siting.io.headers import accepted_names
from siting.io.tables import (HIDDEN_COLUMNS, blank_cells, cell_text, coordinate_columns,
                              has_coordinates, header_key, id_text, is_table, matching_columns,
                              numbers_of, read_table, required_columns, scientific_ids_hint,
                              table_points, warn_of_hidden_columns)

logger = logging.getLogger(__name__)

#: The candidate column holding the technologies an as-built site has on air ("4G-1800+5G-3500").
BUILT_COLUMN = "built_technologies"
#: The candidate column holding the year an as-built site first went on air ("" for others).
BUILT_YEAR_COLUMN = "built_year"
#: The as-built list's fields and the column names accepted for each, first the English one.
AS_BUILT_COLUMNS = {
    "site_id": accepted_names("site_id"),
    "technology": accepted_names("technology"),
    "year": accepted_names("year", "year_built"),
    "cost_cny": accepted_names("cost_cny", "actual_cost_cny"),
}
#: Optional fields of the as-built list and the column names accepted for each: ``built``
#: (是否建成) answers whether the row's site was built, as a sheet listing every planned site
#: answers it; a row answered no (否) is left out.
AS_BUILT_OPTIONAL_COLUMNS = {"backhaul": accepted_names("backhaul"), "built": accepted_names("built")}
#: The kinds of backhaul the list may name, and the words accepted for each.
BACKHAUL_KINDS = {"fiber": ("fiber", "光纤"), "microwave": ("microwave", "微波"),
                  "satellite": ("satellite", "卫星")}
#: The first data row's number as a spreadsheet shows it (the header is row 1).
FIRST_ROW = 2
#: A cost header's unit when the sums are in ten thousands of yuan, as Chinese cost sheets
#: write them (实际投资（万元）): the header is matched without it, and the costs converted
#: (:func:`siting.io.layers.in_yuan`).
WAN_YUAN_UNIT = re.compile(r"\(?万元\)?")
#: How far from its candidate a site on the list may stand and still be that site [m]: a site
#: moved a few hundred metres (another roof, the next hilltop) is the candidate it names, and
#: is evaluated and re-planned at the candidate's position; one farther away is another site.
MOVED_SITE_MAX_M = 1000.0
#: From how far from its candidate a site on the list is named as moved [m] (nearer: the
#: coordinates rounded, or read off a map).
MOVED_SITE_NOTICE_M = 100.0


@dataclass(frozen=True)
class AsBuilt:
    """The checked as-built list.

    ``sites``: one row per built (site, technology): ``site_id``, ``technology``, ``year``
    (text, as the plan's years are labelled), ``cost_cny``, ``backhaul`` (a key of
    :data:`BACKHAUL_KINDS`, "" when not known) and ``row`` (its spreadsheet row); a feed row
    (a feed built for an existing site or for one the list builds) has ``technology`` "".
    """
    source: str
    sites: pd.DataFrame

    def until(self, year: str, years: tuple[str, ...]) -> AsBuilt:
        """The rows built in ``year`` or before, the order of the years given by ``years``
        (the plan's years), else numeric."""
        rank = year_rank(years)
        keep = self.sites["year"].map(rank) <= rank(year)
        return AsBuilt(self.source, self.sites[keep.to_numpy(bool)].reset_index(drop=True))

    @property
    def builds(self) -> pd.DataFrame:
        """The rows that built or upgraded a site (all but the feed rows)."""
        return self.sites[self.sites["technology"] != ""]

    @property
    def feeds(self) -> pd.DataFrame:
        """The feed rows: a feed built for a site, no technology."""
        return self.sites[self.sites["technology"] == ""]

    @property
    def last_year(self) -> str | None:
        return None if self.sites.empty else max(self.sites["year"], key=_numeric_year)


def _numeric_year(label: str) -> float:
    try:
        return float(label)
    except ValueError:
        return float("inf")


def year_rank(years: tuple[str, ...]):
    """A sort key of year labels: their position in ``years`` (the plan's), else the number."""
    if years:
        return lambda label: years.index(label) if label in years else len(years)
    return _numeric_year


def read_as_built(path: str | Path, candidates: pd.DataFrame, scenario: Scenario, *,
                  plan_years: tuple[str, ...] = (), crs: str | None = None) -> AsBuilt:
    """Read and check the as-built list at ``path`` against the scenario's ``candidates`` (indexed
    by ``site_id``) and technologies; with ``plan_years`` (a phased plan's years), each year must
    be one of them. ``crs`` (``--built-crs``: any pyproj CRS, or ``GCJ-02`` / ``BD-09`` for
    coordinates copied from Chinese web maps) declares the CRS of the sites' positions, as a
    layer's ``crs`` does (None: the file's own, WGS 84 for a table). Raises one
    :class:`InputError`, one line per problem."""
    path = Path(path)
    require_file(path, "--built", what="as-built list")
    frame, geometries = _read_rows(path)
    columns = _columns(frame, path)
    problems = Problems()
    if columns["built"]:
        frame = frame[_built_rows(frame[columns["built"]], path, columns["built"], problems)]
    sites = pd.DataFrame({
        "site_id": frame[columns["site_id"]].map(id_text).reset_index(drop=True),
        "technology": frame[columns["technology"]].map(id_text).reset_index(drop=True),
        "year": _year_labels(frame[columns["year"]]),
        "cost_cny": _costs_in_yuan(frame[columns["cost_cny"]], columns["cost_cny"], path),
        "backhaul": (_text(frame[columns["backhaul"]]) if columns["backhaul"]
                     else pd.Series([""] * len(frame), dtype=object)),
        "row": frame.index.to_numpy()})
    sites["technology"] = _technologies_built(sites, candidates, scenario)
    sites.loc[_records_a_feed(sites, candidates, scenario), "technology"] = ""
    for check in (_check_blank, _check_sites, _check_technologies, _check_years, _check_costs,
                  _check_feeds, _check_backhaul, _check_duplicates):
        check(sites, path, columns, problems, candidates=candidates, scenario=scenario,
              plan_years=plan_years)
    _check_negative_costs(sites, frame[columns["cost_cny"]], path, columns["cost_cny"], problems)
    listed = _listed_positions(frame, geometries, LayerSource(path=path, crs=crs, key="--built"),
                               problems)
    _check_positions(sites, listed, path, candidates, problems)
    problems.raise_if_any()
    return AsBuilt(str(path), sites.reset_index(drop=True))


def _costs_in_yuan(cells: pd.Series, column: str, path: Path) -> np.ndarray:
    """The list's costs in yuan (:func:`siting.io.layers.without_currency`: ¥, 元, 5万元;
    :func:`siting.io.layers.in_yuan`: a header in 万元), NaN where a cell is no sum."""
    values = numbers_of(without_currency(cells))
    return in_yuan(values, cells, "cost_cny", column, str(path)).to_numpy(float)


def _column_key(name) -> str:
    """A column name as the list's fields are matched: :func:`header_key` (case, spaces and
    full-width forms aside), without a 万元 unit (:data:`WAN_YUAN_UNIT`)."""
    return WAN_YUAN_UNIT.sub("", header_key(name))


def _names_the_fields(texts: set[str]) -> bool:
    """Whether a row of texts is the list's header: it names every field of
    :data:`AS_BUILT_COLUMNS` (any of its names, matched as :func:`_column_key` matches)."""
    return None not in matching_columns(texts, AS_BUILT_COLUMNS, key=_column_key).values()


def _names_some_fields(texts: set[str]) -> bool:
    """Whether a row of texts names two fields of :data:`AS_BUILT_COLUMNS` or more: a header
    with a column named otherwise than siting reads it (a title, a date or a note above the
    header names none), so the error names that column alone, not every field with the
    title for the columns."""
    found = matching_columns(texts, AS_BUILT_COLUMNS, key=_column_key).values()
    return sum(column is not None for column in found) >= 2


def _read_rows(path: Path) -> tuple[pd.DataFrame, gpd.GeoSeries | None]:
    """The list's rows, indexed by their spreadsheet row numbers: a CSV/XLSX table (first
    sheet; a title above the header is skipped; without a row naming every field, the header
    is the first naming some, :func:`_names_some_fields`), or a vector file's first layer
    (every folder of a KML, :func:`siting.io.layers.vector_features`), its attributes; and
    the vector layer's geometries, so indexed (None for a table, or a layer without
    geometry)."""
    if is_table(path):
        frame = read_table(path, None, is_header=_names_the_fields)
        if _names_the_fields(set(map(str, frame.columns))):
            return frame, None
        return read_table(path, None, is_header=_names_some_fields), None
    frame = vector_features(LayerSource(path=path, key="--built"))
    if frame.empty:
        raise InputError(f"{path}: the as-built list has no rows")
    frame.index = pd.RangeIndex(FIRST_ROW, FIRST_ROW + len(frame))
    geometries = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else None
    frame = pd.DataFrame(frame.drop(columns=[geometries.name] if geometries is not None else []))
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.astype(object), geometries


def _columns(frame: pd.DataFrame, path: Path) -> dict[str, str | None]:
    """The file's column for each field of :data:`AS_BUILT_COLUMNS` and of
    :data:`AS_BUILT_OPTIONAL_COLUMNS` (None for an optional one it lacks); a column the sheet
    hides only when no other is named so, and said in a warning."""
    hidden = frame.attrs.get(HIDDEN_COLUMNS, ())
    found = required_columns(path, list(frame.columns),
                             {**AS_BUILT_COLUMNS, **AS_BUILT_OPTIONAL_COLUMNS}, AS_BUILT_COLUMNS,
                             key=_column_key, hidden=hidden)
    warn_of_hidden_columns(str(path), found, hidden)
    return found


def _text(column: pd.Series) -> pd.Series:
    return column.map(cell_text).reset_index(drop=True)


#: A year as a Chinese sheet may write it: "2027年", "2027年度", "２０２７" (after NFKC),
#: "2027.0", or the date it went on air, of which the year is taken: "2027年5月",
#: "2027年5月20日" (or 20号, as it is said), "2027.5", "2027-05", "2027/5/20",
#: "2027-05-20 00:00:00".
_MONTH, _DAY = r"(?:1[0-2]|0?[1-9])", r"(?:3[01]|[12]\d|0?[1-9])"
YEAR_TEXT = re.compile(rf"(\d{{4}})(?:\.0+|\s*年度?(?:\s*{_MONTH}\s*月(?:\s*{_DAY}\s*[日号])?)?"
                       rf"|[./-]{_MONTH}(?:[./-]{_DAY})?)?(?:\s+\d{{1,2}}:\d{{2}}(?::\d{{2}})?)?")


def _year_labels(column: pd.Series) -> pd.Series:
    """Years as text labels, as a phased plan names its years ("2027"; 2027.0 from Excel, and
    "2027年" or full-width digits as a Chinese sheet writes them, too); a date (an Excel date
    cell, or text such as "2027年5月" or "2027.5", :data:`YEAR_TEXT`) gives its year."""
    def label(value) -> str:
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, (datetime.date, pd.Timestamp)):
            return str(value.year)
        text = unicodedata.normalize("NFKC", cell_text(value))
        year = YEAR_TEXT.fullmatch(text)
        return year.group(1) if year else text
    return column.map(label).reset_index(drop=True)


def _built_rows(answers: pd.Series, path: Path, field: str, problems: Problems) -> np.ndarray:
    """Bool per row: built, as the ``built`` column answers (yes, or blank: the row is on the
    list); a row answered no (否) is left out, an answer that is neither yes nor no is a
    problem (and its row kept, so its other fields are checked). Every row may answer no: a
    county that built none of its sites is evaluated too."""
    said = answers.map(lambda cell: None if cell_text(cell) == "" else bool_of(cell))
    unclear = said.isna() & (answers.map(cell_text) != "")
    if unclear.any():
        problems.add(f"{_where(path, answers.index[unclear], field)}: "
                     f"'{cell_text(answers[unclear].iloc[0])}' answers neither yes nor no; "
                     f"write {BOOL_SPELLINGS}, or leave it empty for a site built")
    return (~said.eq(False)).to_numpy(bool)  # blank or unclear: kept


def _rows_named(rows) -> str:
    """"row 3", "rows 3, 5", at most five named."""
    rows = [str(r) for r in rows]
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return f"row{'s' if len(rows) > 1 else ''} {', '.join(rows[:5])}{more}"


def _where(path: Path, rows, field: str) -> str:
    return f"{path}: {_rows_named(rows)}, field '{field}'"


def _check_blank(sites, path, columns, problems, **_) -> None:
    for field in ("site_id", "year"):
        blank = sites[field] == ""
        if blank.any():
            problems.add(f"{_where(path, sites['row'][blank], columns[field])}: empty; fill it in "
                         f"or delete the row")


#: What joins a site's technologies in the plan's tables (``technology`` of selected_sites.csv:
#: an upgraded 4G site's "4G-1800+5G-3500") and in :data:`BUILT_COLUMN`.
TECHNOLOGIES_JOINED = "+"


def technologies_in(text) -> list[str]:
    """The technologies a :data:`TECHNOLOGIES_JOINED` text names ("4G-1800+5G-3500"), in order."""
    return [t.strip() for t in str(text).split(TECHNOLOGIES_JOINED) if t.strip()]


def builds_technology(sites, technology: str) -> np.ndarray:
    """Which sites of the plan's site table build ``technology`` (their ``technology_built``,
    joined by :data:`TECHNOLOGIES_JOINED`; an upgraded 4G site counts under the 5G it gets,
    not under its 4G)."""
    return np.array([technology in technologies_in(t) for t in sites["technology_built"]],
                    dtype=bool)


def _technologies_built(sites, candidates, scenario) -> pd.Series:
    """Each row's technology; one written as the plan's tables write a site's technologies
    (joined by :data:`TECHNOLOGIES_JOINED`, what is on air after the plan: a list made from
    selected_sites.csv) is what was built, the technologies the existing site had on air left
    out ("4G-1800+5G-3500" at an existing 4G site is 5G-3500; at an existing 5G site, all on
    air, the last is kept, so the row reads as one naming a technology on air)."""
    generation = {t.name: t.generation for t in scenario.technologies}
    kind_of = dict(zip(candidates.index.astype(str), candidates["kind"].astype(str)))

    def built(site_id: str, text: str) -> str:
        if TECHNOLOGIES_JOINED not in text:
            return text
        on_air = EXISTING_KINDS.get(kind_of.get(site_id, ""))
        named = technologies_in(text)
        new = [t for t in named if not (on_air == "5G" or on_air == generation.get(t))]
        return TECHNOLOGIES_JOINED.join(new) if new else named[-1]
    return pd.Series([built(s, t) for s, t in zip(sites["site_id"], sites["technology"])],
                     index=sites.index, dtype=object)


def _records_a_feed(sites, candidates, scenario) -> np.ndarray:
    """Bool per row: it names a technology its existing site has on air already, and a
    backhaul, so it records a feed built for the site (a feed row, once its technology is
    cleared)."""
    generation = sites["technology"].map({t.name: t.generation for t in scenario.technologies})
    kind_of = dict(zip(candidates.index.astype(str), candidates["kind"].astype(str)))
    on_air = sites["site_id"].map(kind_of).map(EXISTING_KINDS)
    return (generation.notna() & ((on_air == "5G") | (on_air == generation))
            & (sites["backhaul"] != "")).to_numpy(bool)


def _check_feeds(sites, path, columns, problems, *, candidates, plan_years, **_) -> None:
    """A row without a technology records a feed built for a site: an existing one, or one the
    list builds in the feed's year or before; the row must name the backhaul."""
    kind_of = dict(zip(candidates.index.astype(str), candidates["kind"].astype(str)))
    existing = sites["site_id"].map(kind_of).isin(list(EXISTING_KINDS))
    rank = year_rank(plan_years)
    builds = sites[sites["technology"] != ""]
    first_built = builds.groupby("site_id")["year"].agg(lambda years: min(years, key=rank))
    feeds = (sites["technology"] == "") & sites["site_id"].isin(list(kind_of))
    for _, row in sites[feeds & ~existing].iterrows():
        built = first_built.get(row.site_id)
        if built is None:
            problems.add(f"{_where(path, [row.row], columns['technology'])}: empty; give the "
                         f"technology built at site {row.site_id} (a row may leave it empty to "
                         f"record a feed built for an existing site, or for one this list "
                         f"builds)")
        elif rank(row.year) < rank(built):
            problems.add(f"{_where(path, [row.row], columns['year'])}: the feed of site "
                         f"{row.site_id} is dated {row.year}, before the list builds the site "
                         f"({built}); correct the year of the feed or of the site")
    for _, row in sites[feeds & (sites["backhaul"] == "")].iterrows():
        field = columns["backhaul"] or "backhaul"
        problems.add(f"{_where(path, [row.row], field)}: empty; a row of site {row.site_id} "
                     f"without a technology records a feed built for it: give the backhaul "
                     f"(fiber, microwave or satellite), or the technology built")


@dataclass(frozen=True)
class _Positions:
    """Where an as-built list places its sites: ``field``, what holds them ("经度/纬度",
    "geometry"); ``given``, the points as the file gives them (indexed by spreadsheet row);
    ``placed``, the same points placed as a layer's are (web-map coordinates shifted to
    WGS 84); ``system``, the coordinate system they are read in ("WGS 84", "GCJ-02", a CRS's
    name); ``assumed``, whether it is a table's WGS 84, read so as ``--built-crs`` declares
    none."""
    field: str
    given: gpd.GeoSeries
    placed: gpd.GeoSeries
    system: str
    assumed: bool


#: What the messages on sites' positions add when a table's coordinates were read as WGS 84,
#: no CRS declared.
WEB_MAP_HINT = ("coordinates copied from Amap or Tencent maps (GCJ-02) or Baidu maps (BD-09) lie "
                "300-1,200 m off: declare them with --built-crs GCJ-02 or --built-crs BD-09")


def _listed_positions(frame: pd.DataFrame, geometries: gpd.GeoSeries | None,
                      source: LayerSource, problems: Problems) -> _Positions | None:
    """Where the list says its sites stand: a CSV/XLSX list's coordinate columns (经度/纬度,
    lon/lat, found as a layer's are; rows with blank coordinates left out) or a vector list's
    point geometries (features without one left out), read in the CRS ``source`` declares
    (``--built-crs``; none: the file's own, WGS 84 for a table) as a layer's are
    (:func:`siting.io.layers.declared_points`); None when it gives none."""
    if is_table(source.path):
        if not has_coordinates(None, None)(set(map(str, frame.columns))):
            return _no_positions(source)
        x, y = coordinate_columns(frame, None, None, str(source.path))
        given = ~(blank_cells(frame[x]) | blank_cells(frame[y]))
        points = table_points(frame[given.to_numpy(bool)], x, y, None, str(source.path), problems)
        field, columns = "/".join(dict.fromkeys([x, y])), (x, y)
    else:
        if geometries is None or geometries.isna().all():
            return _no_positions(source)
        points = _point_features(geometries, source.path, problems)
        field, columns = "geometry", None
    if points.empty:
        return None
    placed = declared_points(points[["geometry"]], source, columns)
    if pyproj.CRS.from_user_input(placed.crs).is_geographic:
        degrees = ((placed.geometry.x.abs() <= 180) & (placed.geometry.y.abs() <= 90)).to_numpy()
        if not degrees.all():
            problems.add(f"{_where(source.path, placed.index[~degrees], field)}: not a longitude "
                         f"and latitude; give the sites' longitude and latitude in degrees, "
                         f"declare the coordinates' CRS with --built-crs (e.g. EPSG:4547), or "
                         f"leave the columns out (the candidates place the sites)")
        placed = placed[degrees]
    system = web_map_system(source.crs) or pyproj.CRS.from_user_input(placed.crs).name
    return _Positions(field, points.geometry.loc[placed.index], placed.geometry, system,
                      assumed=columns is not None and source.crs is None)


def _no_positions(source: LayerSource) -> None:
    """No positions in the list: an error when ``--built-crs`` declares their CRS."""
    if source.crs is not None:
        raise InputError(f"{source.path}: --built-crs {source.crs} declares the CRS of the "
                         f"sites' coordinates, but the list gives none (no 经度/纬度 or lon/lat "
                         f"columns, no point geometries); add them, or leave --built-crs out")


def _point_features(geometries: gpd.GeoSeries, path: Path, problems: Problems) -> gpd.GeoDataFrame:
    """A vector list's point features, indexed by row (features without a geometry, a site not
    surveyed, left out; a multi-point of one point, as some tools write points, is that
    point); a feature that is not a point is a problem."""
    placed = geometries[~(geometries.isna() | geometries.is_empty)]
    placed = gpd.GeoSeries([g.geoms[0] if g.geom_type == "MultiPoint" and len(g.geoms) == 1
                            else g for g in placed], index=placed.index, crs=placed.crs)
    points = placed.geom_type == "Point"
    if not points.all():
        problems.add(f"{_where(path, placed.index[~points], 'geometry')}: a "
                     f"{placed[~points].iloc[0].geom_type}, not a point; place each site by "
                     f"a point, or leave its geometry empty (the candidate places it)")
    return gpd.GeoDataFrame(geometry=placed[points.to_numpy(bool)])


def _check_positions(sites, listed: _Positions | None, path, candidates, problems) -> None:
    """A site the list places (``listed``: :func:`_listed_positions`) more than
    :data:`MOVED_SITE_MAX_M` from its candidate is a problem (another site, or a wrong id);
    those placed :data:`MOVED_SITE_NOTICE_M` or more from it are named in one warning, as the
    evaluation and the re-plan put them at the candidates' positions."""
    if listed is None:
        return
    planned = dict(zip(candidates.index.astype(str), candidates.geometry))
    rows = sites[sites["row"].isin(listed.placed.index) & sites["site_id"].isin(list(planned))]
    built = listed.placed.to_crs(candidates.crs).loc[rows["row"]].to_numpy()
    distance_m = np.array([b.distance(planned[s]) for b, s in zip(built, rows["site_id"])])
    distance_m[~np.isfinite(distance_m)] = np.inf
    hint = f"; {WEB_MAP_HINT}" if listed.assumed else ""
    for row, site_id, d in zip(rows["row"], rows["site_id"], distance_m):
        if d > MOVED_SITE_MAX_M:
            point = listed.given.loc[row]
            problems.add(f"{_where(path, [row], listed.field)}: site {site_id} is placed "
                         f"{d:,.0f} m from its candidate's position ({point.x}, {point.y} read "
                         f"in {listed.system}); a site built more than {MOVED_SITE_MAX_M:,.0f} m "
                         f"away is another site: correct the id or the coordinates, or add the "
                         f"site built to the candidates under an id of its own{hint}")
    moved = (distance_m >= MOVED_SITE_NOTICE_M) & (distance_m <= MOVED_SITE_MAX_M)
    if moved.any():
        named = ", ".join(f"{s} ({d:,.0f} m)" for s, d in
                          dict(zip(rows["site_id"][moved], distance_m[moved])).items())
        logger.warning("%s: sites built away from their candidates' positions: %s; they are "
                       "evaluated and re-planned at the candidates' positions (%s read in "
                       "%s%s)", path, named, listed.field, listed.system, hint)


def _check_sites(sites, path, columns, problems, *, candidates, **_) -> None:
    unknown = (sites["site_id"] != "") & ~sites["site_id"].isin(candidates.index.astype(str))
    for _, row in sites[unknown].iterrows():
        problems.add(f"{_where(path, [row.row], columns['site_id'])}: unknown site "
                     f"'{row.site_id}' (not among the scenario's candidates); correct the id or "
                     f"add the site to the candidates{scientific_ids_hint([row.site_id])}")


def _check_technologies(sites, path, columns, problems, *, candidates, scenario, **_) -> None:
    """Each technology is the scenario's, allowed at the site and not on air there already
    (a row naming one on air with a backhaul is a feed row by now: :func:`_records_a_feed`)."""
    names = {t.name: t.generation for t in scenario.technologies}
    index = candidates.index.astype(str)
    for _, row in sites[(sites["technology"] != "") & sites["site_id"].isin(index)].iterrows():
        where = _where(path, [row.row], columns["technology"])
        if TECHNOLOGIES_JOINED in row.technology:
            problems.add(f"{where}: '{row.technology}' names several technologies built at "
                         f"site {row.site_id}; give each its own row, with what it cost")
            continue
        if row.technology not in names:
            problems.add(f"{where}: '{row.technology}' is not one of the scenario's technologies "
                         f"({', '.join(names)})")
            continue
        site = candidates.loc[row.site_id]
        allowed = generations_of(site["technologies"]) or ()
        on_air = EXISTING_KINDS.get(str(site["kind"]))
        if names[row.technology] not in allowed:
            problems.add(f"{where}: site {row.site_id} does not allow {row.technology} (its "
                         f"technologies: {', '.join(allowed) or 'none'}); correct the technology "
                         f"or the site's technologies")
        elif on_air == "5G" or on_air == names[row.technology]:
            problems.add(f"{where}: site {row.site_id} is an existing {on_air} site: "
                         f"{row.technology} was on air already; list only what was built or "
                         f"upgraded (a feed built for the site: give its backhaul)")


#: The advice for a year that is not a number of a year (a single-period plan's list).
YEAR_NUMBER_ADVICE = "give the year as a number such as 2027"


def _year_numbers(labels: pd.Series) -> pd.Series:
    """Whether each label is the number of a year (1900-2200), as a single-period plan's
    as-built list and ``--year`` must give it."""
    numbers = pd.to_numeric(labels, errors="coerce")
    return (numbers >= 1900) & (numbers <= 2200) & (numbers % 1 == 0)


def option_year(year, plan_years: tuple[str, ...]) -> str:
    """The year of ``--year`` as a label: one of the plan's years when it has phases, else
    the number of a year; InputError naming ``--year`` otherwise."""
    year = str(year)
    if plan_years and year not in plan_years:
        raise InputError(f"--year {year}: not one of the plan's years ({', '.join(plan_years)})")
    if not plan_years and not _year_numbers(pd.Series([year])).all():
        raise InputError(f"--year {year}: not a year; {YEAR_NUMBER_ADVICE}")
    return year


def _check_years(sites, path, columns, problems, *, plan_years, **_) -> None:
    given = sites["year"] != ""
    if plan_years:
        outside = given & ~sites["year"].isin(plan_years)
        advice = f"use one of the plan's years ({', '.join(plan_years)})"
    else:
        outside = given & ~_year_numbers(sites["year"])
        advice = YEAR_NUMBER_ADVICE
    for _, row in sites[outside].iterrows():
        problems.add(f"{_where(path, [row.row], columns['year'])}: year '{row.year}' is outside "
                     f"the plan{_day_number_hint(row.year)}; {advice}")


#: The numbers Excel stores the dates of 1954-2119 as (days since 1899-12-30): a year column
#: holding one is a date whose cell lost its date format (a CSV saved from a General column).
EXCEL_DAY_NUMBERS = (20_000, 80_000)


def _day_number_hint(label: str) -> str:
    """What a year ``label`` that is one of :data:`EXCEL_DAY_NUMBERS` is: the date Excel stores
    so, and how to show it; "" for another label."""
    number = pd.to_numeric(label, errors="coerce")
    if not EXCEL_DAY_NUMBERS[0] <= number <= EXCEL_DAY_NUMBERS[1]:
        return ""
    day = from_excel(float(number))
    return (f" ({label} is how Excel stores the date {day:%Y-%m-%d}: format the column as a "
            f"date, 设置单元格格式 > 日期, and save again)")


def _check_costs(sites, path, columns, problems, **_) -> None:
    bad = ~np.isfinite(sites["cost_cny"])
    if bad.any():
        problems.add(f"{_where(path, sites['row'][bad], columns['cost_cny'])}: the cost must be "
                     f"a number of CNY (0 where there is none)")


def _check_negative_costs(sites, cells: pd.Series, path: Path, column: str,
                          problems: Problems) -> None:
    """Name the rows whose cost is negative (-50000, the accounting format's (50,000)), their
    sites and the first such cell, as the site list's costs are refused
    (:func:`siting.io.layers.negative_problem`)."""
    negative = (sites["cost_cny"] < 0).to_numpy(bool)
    if negative.any():
        quoted = pd.Series(cells.to_numpy(), index=pd.Index(sites["site_id"]))
        problems.add(negative_problem(quoted, negative, column,
                                      f"{path}: {_rows_named(sites['row'][negative])}",
                                      what="a cost"))


def _check_backhaul(sites, path, columns, problems, **_) -> None:
    """Each backhaul named is one of :data:`BACKHAUL_KINDS` (in English or Chinese, any case);
    the column then holds its English key."""
    words = {word.lower(): kind for kind, names in BACKHAUL_KINDS.items() for word in names}
    kinds = sites["backhaul"].str.lower().map(words)
    for _, row in sites[(sites["backhaul"] != "") & kinds.isna()].iterrows():
        problems.add(f"{_where(path, [row.row], columns['backhaul'])}: '{row.backhaul}' is not a "
                     f"kind of backhaul; use fiber (光纤), microwave (微波) or satellite (卫星), "
                     f"or leave it empty")
    sites["backhaul"] = kinds.fillna("")


def _check_duplicates(sites, path, columns, problems, **_) -> None:
    keys = sites[sites["site_id"] != ""].groupby(["site_id", "technology"])["row"]
    for (site_id, technology), rows in keys:
        if len(rows) > 1:
            what = technology or "a feed (no technology)"
            problems.add(f"{_where(path, rows, columns['site_id'])}: site {site_id} with "
                         f"{what} is listed {len(rows)} times; keep one row per site and "
                         f"technology, and one per feed")


def with_as_built(candidates: pd.DataFrame, as_built: AsBuilt) -> pd.DataFrame:
    """A copy of ``candidates`` whose :data:`BUILT_COLUMN` lists the technologies each as-built
    site has on air ("" for the others) and :data:`BUILT_YEAR_COLUMN` the year it first went
    on air (so a re-plan's sites say when they were built), whose ``has_fiber`` is also true
    at the sites the list says are fed by fiber, and whose ``backhaul_in_place`` is also true
    at the existing sites a feed row gives another feed (kept in place like an as-built
    site's)."""
    builds = as_built.builds
    on_air = builds.groupby("site_id")["technology"].agg(
        lambda t: TECHNOLOGIES_JOINED.join(sorted(t)))
    frame = candidates.copy()
    ids = frame.index.astype(str)
    frame[BUILT_COLUMN] = on_air.reindex(ids).fillna("").to_numpy(dtype=object)
    rank = year_rank(())
    first = builds.groupby("site_id")["year"].agg(lambda years: min(years, key=rank))
    frame[BUILT_YEAR_COLUMN] = first.reindex(ids).fillna("").to_numpy(dtype=object)
    by_fiber = ids.isin(as_built.sites.loc[as_built.sites["backhaul"] == "fiber", "site_id"])
    if by_fiber.any():
        frame["has_fiber"] = has_fiber(frame) | by_fiber
    fed = ids.isin(as_built.feeds.loc[as_built.feeds["backhaul"] != "fiber", "site_id"])
    if fed.any():
        frame["backhaul_in_place"] = backhaul_in_place(frame) | fed
    return frame


def on_as_built_list(candidates: pd.DataFrame) -> np.ndarray:
    """Bool per candidate: on the as-built list (all False without one). Such a site was
    built with its backhaul, which a re-plan keeps in place."""
    return np.array([bool(t) for t in built_technologies(candidates)], dtype=bool)


def built_technologies(candidates: pd.DataFrame) -> list[set[str]]:
    """The technologies each candidate has on air from the as-built list (empty sets without one)."""
    if BUILT_COLUMN not in candidates:
        return [set() for _ in range(len(candidates))]
    return [set(technologies_in(v)) for v in candidates[BUILT_COLUMN]]


def is_existing(candidates: pd.DataFrame) -> np.ndarray:
    """Whether each candidate is on air before the plan: an existing kind, or built per the
    as-built list."""
    return (candidates["kind"].isin(list(EXISTING_KINDS)).to_numpy(bool)
            | on_as_built_list(candidates))

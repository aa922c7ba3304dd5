"""Compare two plans: the sites only in A, only in B and in both (with technology changes),
the KPI deltas overall and per county, the villages whose coverage differs, and a map with
both plans as layers.

:func:`compare_tables` builds a :class:`Comparison` from each plan's selected sites, villages
and summary; :func:`read_plan_folder` feeds it from an output folder of ``siting run``
(``sites.gpkg`` and ``summary.json``) and :meth:`siting.study.Study.compare` from two
:class:`~siting.study.PlanResult` objects, so both give the same tables.
:func:`write_comparison` writes ``comparison.md``, the ``comparison*.csv`` tables and
``comparison.html`` into a folder, rendered in a staging folder and moved into place.

What people read (comparison.md, comparison.html, what ``siting compare`` prints) is in the
plans' ``report.language`` (:func:`comparison_language`); the CSV tables keep siting's
machine names, like a run's.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj

from siting.diskfaults import write_files
from siting.config import load_scenario
from siting.errors import InputError, SitingError
from siting.io import read_terrain
from siting.io.asbuilt import BUILT_YEAR_COLUMN
from siting.io.problems import first_line
from siting.export.gis import CSV_ENCODING, as_tables_hold, inert_cells
from siting.export.i18n import HTML_LANG, admin_text, join, money, term, value_text
from siting.export.cells import cell_text, money_cell, or_dash
from siting.export.report import ADMIN_UNIT_COLUMNS, Report, Section, Table, render_markdown
from siting.export.style import WGS84
from siting.export.webfont import PAGE_FONTS, save_map
from siting.export.webmap import (MapPoint, MetricScale, Page, PointLayer, add_hillshade, circle_styles, esc,
                                  inline_assets)
from siting.terrain import Terrain

log = logging.getLogger(__name__)

#: Site status, in the order the tables list them: in one plan only; in both with another
#: technology; in both with the same technology but another year (phased plans) or backhaul
#: (plans with backhaul); in both alike.
STATUSES = ("only_a", "only_b", "both_technology_changed", "both_year_or_backhaul_changed", "both")
#: Marker colours of the comparison map, by site status.
STATUS_COLOURS = {"only_a": "#d95f02", "only_b": "#1b9e77", "both_technology_changed": "#7570b3",
                  "both_year_or_backhaul_changed": "#e7298a", "both": "#888888"}
#: Marker colour of a village whose coverage differs, by its change in B.
VILLAGE_COLOURS = {"gained": "#1b9e77", "lost": "#d95f02"}
#: Leaflet circle-marker styles of the comparison map's sites and villages, filled in the
#: colour of their status (:data:`STATUS_COLOURS`) or change (:data:`VILLAGE_COLOURS`).
SITE_MARKER_STYLE = {"radius": 5, "weight": 1, "color": "#000", "fillOpacity": 0.9}
VILLAGE_MARKER_STYLE = {"radius": 3, "weight": 1, "color": "#fff", "fillOpacity": 1.0}
#: What a plan's sites may carry beyond technology and action, compared when either plan
#: has it: the year a phased plan builds the site in, and its backhaul.
OPTIONAL_COLUMNS = ("phase", "backhaul")
#: What a site costs each plan (capex and opex over its years, sites.gpkg's field, the cost
#: map.html's popups give), listed beside the compared columns but not compared: the same
#: site costs another plan more with a longer ``opex_years``.
COST_COLUMN = "total_cost_cny"
#: Files :func:`write_comparison` writes.
COMPARISON_FILES = ("comparison.md", "comparison.csv", "comparison_kpis.csv",
                    "comparison_by_county.csv", "comparison_villages.csv", "comparison.html")
#: The KPIs ``siting compare`` prints (comparison_kpis.csv has them all).
HEADLINE_KPIS = ("people_covered_after", "villages_covered_after", "mandatory_villages_covered",
                 "complaints_covered", "new_sites", "upgrades", "total_cost_cny")
#: The KPIs (summary.json's ``kpis``, nested ones as ``outer.inner``) in the order the report
#: gives them (:func:`siting.export.report.build_report`'s headline): people, villages,
#: mandatory villages, complaint points, 5G zone check points and backup coverage, each
#: covered before and after then of the total; what the plan builds and costs; the complaint
#: points covered before the plan; the mandatory points left uncovered. A KPI not listed (of
#: a later siting) follows them, by name.
KPI_ORDER = ("people_covered_before", "people_covered_after", "people_total",
             "villages_covered_before", "villages_covered_after", "villages_total",
             "mandatory_villages_covered_before", "mandatory_villages_covered",
             "mandatory_villages_reachable", "mandatory_villages_total",
             "complaints_covered_before_plan", "complaints_covered", "complaints_total",
             "zone_points_covered_5g_before", "zone_points_covered_5g", "zone_points_total",
             "backup_points_met_before", "backup_points_met", "backup_points_total", "new_sites", "upgrades", "capex_cny", "opex_cny_per_year",
             "site_cost_cny", "backhaul_cost_cny", "total_cost_cny", "complaints_covered_before",
             "mandatory_points_uncovered.village", "mandatory_points_uncovered.complaint",
             "mandatory_points_uncovered.zone")
#: How many of the sites that differ ``siting compare`` prints (comparison.csv has them all).
LISTED_SITES = 5
#: The KPIs a re-plan counts without its as-built sites (kept on air at no cost), each with
#: the field of its summary.json's ``as_built`` block (:func:`siting.rolling.replan_facts`)
#: holding the as-built list's part: the list's actual cost is capex and, with its opex over
#: ``opex_years``, the sites' and the total cost (its backhaul included, as the list gives it).
AS_BUILT_PARTS = {"new_sites": "new_sites", "upgrades": "upgrades", "capex_cny": "spent_cny",
                  "opex_cny_per_year": "opex_cny_per_year", "site_cost_cny": "charged_cny",
                  "total_cost_cny": "charged_cny"}


def no_backhaul_links() -> pd.DataFrame:
    """The attributes of an empty ``backhaul_links`` layer (a plan without backhaul)."""
    return pd.DataFrame({"from_id": [], "to_id": [], "kind": [], "cost_cny": [], "phase": []})


@dataclass(frozen=True)
class PlanInputs:
    """What a comparison or an evaluation needs of one plan: its name, the sites in the plan
    (built, upgraded or kept; ``site_id``, ``technology``, ``action``, geometry), the villages
    (``village_id``, ``covered_after``, ...), the ``summary.json`` dictionary and the
    attributes of its ``backhaul_links`` layer (``from_id``, ``cost_cny``, ``phase``, ...;
    no rows without backhaul) and the DEM the plan was made on (the comparison map's
    hillshade; None where it cannot be read)."""
    name: str
    sites: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    summary: dict
    backhaul_links: pd.DataFrame = field(default_factory=no_backhaul_links)
    terrain: Terrain | None = None


@dataclass(frozen=True)
class Comparison:
    """Plan A against plan B.

    ``sites``: one row per site in either plan (site_id, in_a, in_b, technology_a,
    technology_b, action_a, action_b, and phase_a/_b, backhaul_a/_b when either plan has them
    (:data:`OPTIONAL_COLUMNS`), total_cost_cny_a/_b (:data:`COST_COLUMN`, NaN where a plan
    has not the site), status in :data:`STATUSES`, geometry in A's CRS [m]);
    ``kpis``: name, a, b, delta (b - a); ``by_county``: county, name, a, b, delta;
    ``villages``: the villages whose ``covered_after`` differs (covered_after_a/_b, serving
    site in each, change ``gained``/``lost`` in B); ``language``: of what people read
    (:func:`comparison_language`); ``as_built``: the ``as_built`` block of a re-plan's
    summary.json by plan ("A", "B"), whose list :func:`whole_plan_kpis` counts in its KPIs;
    ``admin_unit_names_zh``: the counties' Chinese names of both summaries (B's where both
    name a county), which the Chinese tables show; ``terrain``: the DEM under the plans (B's,
    else A's), the map's hillshade as on map.html, None without one.
    """
    name_a: str
    name_b: str
    sites: gpd.GeoDataFrame
    kpis: pd.DataFrame
    by_county: pd.DataFrame
    villages: gpd.GeoDataFrame
    language: str = "en"
    as_built: dict = field(default_factory=dict)
    admin_unit_names_zh: dict = field(default_factory=dict)
    terrain: Terrain | None = None

    @property
    def differing_sites(self) -> gpd.GeoDataFrame:
        """The sites in only one plan, or in both with another technology, year or backhaul."""
        return self.sites[self.sites["status"] != "both"]


# ---------------------------------------------------------------------------------------
# Tables


def compare_tables(a: PlanInputs, b: PlanInputs) -> Comparison:
    """The :class:`Comparison` of two plans."""
    return Comparison(a.name, b.name, site_changes(a.sites, b.sites),
                      kpi_deltas(_flat(whole_plan_kpis(a.summary)), _flat(whole_plan_kpis(b.summary))),
                      county_deltas(a.summary.get("by_admin_unit", {}), b.summary.get("by_admin_unit", {})),
                      village_changes(a.villages, b.villages),
                      comparison_language(a.summary, b.summary),
                      {plan: p.summary["as_built"] for plan, p in (("A", a), ("B", b))
                       if "as_built" in p.summary},
                      {**a.summary.get("admin_unit_names_zh", {}), **b.summary.get("admin_unit_names_zh", {})},
                      b.terrain if b.terrain is not None else a.terrain)


def whole_plan_kpis(summary: dict) -> dict:
    """A plan's KPIs (its summary.json's ``kpis``) over all its years, on one cost basis: a
    re-plan (a summary with ``as_built``) keeps the as-built sites at no cost and counts only
    what it plans now, so what the as-built list built and spent is added to the KPIs of
    :data:`AS_BUILT_PARTS`; a plan and its re-plan then both count every site of the plan's
    years and its cost (capex plus opex over ``opex_years``). A re-plan of a siting that did
    not record the list's opex has it from its cost with and without the opex."""
    kpis = dict(summary["kpis"])
    built = summary.get("as_built")
    if built is None:
        return kpis
    opex_years = summary.get("objective", {}).get("opex_years") or 0
    parts = {"opex_cny_per_year": (built["charged_cny"] - built["spent_cny"]) / opex_years
             if opex_years else 0.0, **built}
    for name, part in AS_BUILT_PARTS.items():
        if name in kpis:
            kpis[name] = kpis[name] + parts[part]
    return kpis


def comparison_language(summary_a: dict, summary_b: dict) -> str:
    """The language of a comparison: the plans' ``report.language`` (their summary.json's
    ``language``, :func:`recorded_language`; "en" without). When the two differ,
    plan B's (the newer plan, whose folder the comparison goes to by default), with a warning
    that says so."""
    language_a, language_b = (s.get("language", "en") for s in (summary_a, summary_b))
    if language_a != language_b:
        log.warning("plan A is written in %s and plan B in %s (report.language): the comparison "
                    "is written in %s, plan B's", language_a, language_b, language_b)
    return language_b


def site_changes(sites_a: gpd.GeoDataFrame, sites_b: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per site in either plan, with its status (:data:`STATUSES`) and its cost in
    each (:data:`COST_COLUMN`). A re-plan's as-built site (kept, without a phase) is compared
    in the year the list built it."""
    optional = [c for c in OPTIONAL_COLUMNS if c in sites_a or c in sites_b]
    keep = ["site_id", "technology", "action", *optional, COST_COLUMN]
    sites_a, sites_b = _with_built_year(sites_a), _with_built_year(sites_b)
    both = pd.merge(sites_a.reindex(columns=keep), sites_b.reindex(columns=keep), on="site_id",
                    how="outer", suffixes=("_a", "_b"), indicator=True)
    both["in_a"] = both["_merge"] != "right_only"
    both["in_b"] = both["_merge"] != "left_only"
    in_both = both["in_a"] & both["in_b"]
    both["status"] = "both"
    both.loc[in_both & _differs(both, optional), "status"] = "both_year_or_backhaul_changed"
    both.loc[in_both & _differs(both, ["technology"]), "status"] = "both_technology_changed"
    both.loc[~both["in_b"], "status"] = "only_a"
    both.loc[~both["in_a"], "status"] = "only_b"
    located = pd.concat([sites_a[["site_id", "geometry"]],
                         sites_b[["site_id", "geometry"]].to_crs(sites_a.crs)]).drop_duplicates("site_id")
    table = both.drop(columns="_merge").merge(located, on="site_id", how="left")
    table["order"] = table["status"].map(STATUSES.index)
    table = table.sort_values(["order", "site_id"]).drop(columns="order").reset_index(drop=True)
    columns = ["site_id", "in_a", "in_b", "technology_a", "technology_b", "action_a", "action_b",
               *(f"{c}_{plan}" for c in [*optional, COST_COLUMN] for plan in "ab"), "status", "geometry"]
    return gpd.GeoDataFrame(table[columns], geometry="geometry", crs=sites_a.crs)


def _with_built_year(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``sites`` whose blank ``phase`` is the year the as-built list built the site
    (:data:`siting.io.asbuilt.BUILT_YEAR_COLUMN`) where it gives one."""
    if "phase" not in sites or BUILT_YEAR_COLUMN not in sites:
        return sites
    phase, built = sites["phase"].map(_as_text), sites[BUILT_YEAR_COLUMN].map(_as_text)
    return sites.assign(phase=phase.where(phase != "", built))


def _differs(both: pd.DataFrame, columns) -> pd.Series:
    """Rows where any of ``columns`` reads differently in A and B (as text: a year may be a
    number in one plan and text in the other; missing reads as empty)."""
    differs = pd.Series(False, index=both.index)
    for column in columns:
        a, b = (both[f"{column}_{plan}"].map(_as_text) for plan in "ab")
        differs |= a != b
    return differs


def _as_text(value) -> str:
    """A cell as text, missing as "", a whole float as an integer ("2027", not "2027.0")."""
    if _missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def kpi_deltas(kpis_a: dict, kpis_b: dict, order=KPI_ORDER) -> pd.DataFrame:
    """name, a, b, delta (b - a) for each numeric KPI of either plan (missing: NaN), in the
    ``order`` the report shows them (:data:`KPI_ORDER`), those not in it after, by name."""
    def rank(name):
        return (order.index(name), "") if name in order else (len(order), name)

    names = [n for n in sorted(set(kpis_a) | set(kpis_b), key=rank)
             if _numeric(kpis_a.get(n, kpis_b.get(n)))]
    a = [float(kpis_a.get(n, float("nan"))) for n in names]
    b = [float(kpis_b.get(n, float("nan"))) for n in names]
    return pd.DataFrame({"name": names, "a": a, "b": b, "delta": [y - x for x, y in zip(a, b)]})


def county_deltas(units_a: dict, units_b: dict) -> pd.DataFrame:
    """county, name, a, b, delta for each county (admin unit) and KPI of ``by_admin_unit``,
    in the order of the report's table of admin units (:data:`ADMIN_UNIT_COLUMNS`)."""
    frames = [kpi_deltas(units_a.get(c, {}), units_b.get(c, {}), ADMIN_UNIT_COLUMNS).assign(county=c)
              for c in sorted(set(units_a) | set(units_b))]
    if not frames:
        return pd.DataFrame(columns=["county", "name", "a", "b", "delta"])
    return pd.concat(frames, ignore_index=True)[["county", "name", "a", "b", "delta"]]


def village_changes(villages_a: gpd.GeoDataFrame, villages_b: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The villages covered after one plan and not after the other."""
    keep = ["village_id", "covered_after", "serving_site"]
    both = villages_a[[*keep, "name", "admin_unit", "population", "geometry"]].merge(
        villages_b[keep], on="village_id", how="outer", suffixes=("_a", "_b"))
    a = both["covered_after_a"].fillna(False).astype(bool)
    b = both["covered_after_b"].fillna(False).astype(bool)
    differs = both[a != b].copy()
    differs["change"] = ["gained" if v else "lost" for v in b[a != b]]
    columns = ["village_id", "name", "admin_unit", "population", "covered_after_a", "covered_after_b",
               "serving_site_a", "serving_site_b", "change", "geometry"]
    return gpd.GeoDataFrame(differs[columns].reset_index(drop=True), geometry="geometry",
                            crs=villages_a.crs)


def _flat(kpis: dict) -> dict:
    """KPIs with nested dictionaries flattened to ``outer.inner`` names."""
    flat = {}
    for name, value in kpis.items():
        if isinstance(value, dict):
            flat.update({f"{name}.{k}": v for k, v in value.items()})
        else:
            flat[name] = value
    return flat


def _numeric(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---------------------------------------------------------------------------------------
# Reading output folders


@contextmanager
def _reading_plan_file(path: Path) -> Iterator[None]:
    """Any failure to read ``path``, a file of a plan's folder, as one InputError naming it."""
    try:
        yield
    except Exception as exc:  # a damaged or foreign file, whatever its reader raises
        raise InputError(f"{path}: cannot read this file of the plan ({type(exc).__name__}: "
                         f"{first_line(exc)}); it is damaged or not written by siting run: run "
                         f"the plan again into its folder") from exc


def read_plan_folder(folder: str | os.PathLike) -> PlanInputs:
    """The :class:`PlanInputs` of an output folder of ``siting run`` (``sites.gpkg`` with its
    ``selected_sites``, ``villages`` and, with backhaul, ``backhaul_links`` layers,
    ``summary.json``); :class:`InputError` naming the folder and what is missing otherwise."""
    folder = Path(folder)
    gpkg, summary = folder / "sites.gpkg", folder / "summary.json"
    for path in (gpkg, summary):
        if not path.is_file():
            raise InputError(f"{folder}: not an output folder of siting run (no {path.name}); "
                             f"give the --out folder of a run")
    with _reading_plan_file(gpkg):
        sites = as_tables_hold(gpd.read_file(gpkg, layer="selected_sites", engine="pyogrio"))
        villages = as_tables_hold(gpd.read_file(gpkg, layer="villages", engine="pyogrio"))
        links = (as_tables_hold(pyogrio.read_dataframe(gpkg, layer="backhaul_links",
                                                        read_geometry=False))
                 if "backhaul_links" in pyogrio.list_layers(gpkg)[:, 0] else no_backhaul_links())
    with _reading_plan_file(summary):
        facts = json.loads(summary.read_text(encoding="utf-8"))
        facts["kpis"]
    facts["language"] = recorded_language(facts)
    return PlanInputs(str(facts.get("scenario", folder.name)), sites, villages, facts, links,
                      plan_terrain(folder, facts, sites, villages))


#: How far [m] the DEM read for the comparison map reaches beyond the plans' sites and villages.
TERRAIN_MARGIN_M = 2000.0


def plan_terrain(folder: Path, facts: dict, *frames: gpd.GeoDataFrame) -> Terrain | None:
    """The DEM of the scenario a plan's summary names (``scenario_file``), in the plan's CRS,
    over ``frames`` (its sites and villages) and :data:`TERRAIN_MARGIN_M` around them, for
    the comparison map's hillshade; None, with a warning naming ``folder``, where that file
    or its DEM cannot be read (the map is drawn without terrain)."""
    boxes = [f.total_bounds for f in frames if len(f)]
    if not boxes:  # nothing to draw terrain under
        return None
    bounds = (min(b[0] for b in boxes) - TERRAIN_MARGIN_M, min(b[1] for b in boxes) - TERRAIN_MARGIN_M,
              max(b[2] for b in boxes) + TERRAIN_MARGIN_M, max(b[3] for b in boxes) + TERRAIN_MARGIN_M)
    try:
        dem = load_scenario(facts["scenario_file"]).inputs.dem
        return read_terrain(dem, pyproj.CRS(facts["crs"]), region_bounds=bounds)
    except (KeyError, OSError, SitingError) as exc:
        log.warning("%s: comparison.html is drawn without the terrain hillshade: the DEM of the "
                    "plan's scenario file cannot be read (%s)", folder, first_line(exc))
        return None


def recorded_language(facts: dict) -> str:
    """The ``report.language`` of a run: its summary.json's ``language``; for a run of a siting
    that did not record it, that of the scenario file the summary names, "en" when that file
    cannot be read."""
    if "language" in facts:
        return facts["language"]
    try:
        return load_scenario(facts["scenario_file"]).outputs.language
    except (KeyError, OSError, SitingError):
        return "en"


def compare_folders(folder_a: str | os.PathLike, folder_b: str | os.PathLike) -> Comparison:
    """The :class:`Comparison` of two output folders of ``siting run``; two plans of one
    scenario are named by their folders too."""
    a, b = read_plan_folder(folder_a), read_plan_folder(folder_b)
    if a.name == b.name:
        a = replace(a, name=f"{a.name} ({Path(folder_a).name})")
        b = replace(b, name=f"{b.name} ({Path(folder_b).name})")
    return compare_tables(a, b)


# ---------------------------------------------------------------------------------------
# Writing


def render_comparison(comparison: Comparison) -> str:
    """The comparison as Markdown (:func:`comparison_report`)."""
    return render_markdown(comparison_report(comparison))


def comparison_report(comparison: Comparison) -> Report:
    """The comparison in its language: site counts by status, the sites that differ, KPI and
    county deltas, villages whose coverage differs."""
    c, lang = comparison, comparison.language
    counts = c.sites["status"].value_counts()
    kpis = ["kpi", "a", "b", "delta"]
    sections = [
        Section(term("compare.section.sites", lang), [
            Table(_headers(["status", "sites"], lang),
                  [[value_text("compare_status", s, lang), int(counts.get(s, 0))] for s in STATUSES]),
            _site_table(c.differing_sites, lang)]),
        Section(term("compare.section.kpis", lang), [Table(_headers(kpis, lang), _kpi_rows(c.kpis, lang))]),
        Section(term("compare.section.by_county", lang), [Table(
            _headers(["admin_unit", *kpis], lang),
            [[admin_text(county, lang, c.admin_unit_names_zh), *row]
             for county, row in zip(c.by_county["county"], _kpi_rows(c.by_county, lang))])]),
        Section(term("compare.section.villages", lang),
                [_village_table(c.villages, lang, c.admin_unit_names_zh)]),
    ]
    for section in sections:  # an empty table says so
        section.blocks = [term("compare.none", lang) if not b.rows else b for b in section.blocks]
    intro = [term("compare.intro", lang, a=c.name_a, b=c.name_b), *as_built_notes(c)]
    return Report(term("compare.title", lang, a=c.name_a, b=c.name_b), intro, sections, language=lang)


def as_built_notes(comparison: Comparison) -> list[str]:
    """One sentence per re-planned plan: its KPIs count the as-built list's sites and cost
    (:func:`whole_plan_kpis`), amounts in the money of the language (万元 in Chinese)."""
    lang = comparison.language
    return [term("compare.as_built", lang, plan=plan, source=Path(facts["source"]).name,
                 sites=facts["sites"], spent=money(facts["spent_cny"], lang),
                 charged=money(facts["charged_cny"], lang))
            for plan, facts in sorted(comparison.as_built.items())]


def headline_kpis(comparison: Comparison) -> Table:
    """The KPIs of :data:`HEADLINE_KPIS` that the plans have, in words: A, B, B - A."""
    kpis = comparison.kpis.set_index("name")
    names = [n for n in HEADLINE_KPIS if n in kpis.index]
    return Table(_headers(["kpi", "a", "b", "delta"], comparison.language),
                 _kpi_rows(kpis.loc[names].reset_index(), comparison.language))


def status_counts(comparison: Comparison) -> str:
    """One sentence: the count of sites of each status."""
    lang, counts = comparison.language, comparison.sites["status"].value_counts()
    return term("compare.sites", lang, counts=join(
        [term("compare.status_count", lang, status=value_text("compare_status", s, lang),
              count=int(counts.get(s, 0))) for s in STATUSES], lang))


def listed_sites(comparison: Comparison, limit: int = LISTED_SITES) -> list[str]:
    """The first ``limit`` sites that differ, one line each (site, status, then each plan's
    technology and, when they differ, year), after a line saying how many there are and that
    comparison.csv lists them all; [] when none differs."""
    lang, differing = comparison.language, comparison.differing_sites
    if differing.empty:
        return []
    lines = [term("compare.listed", lang, shown=min(limit, len(differing)), total=len(differing),
                  file="comparison.csv")]
    for _, s in differing.head(limit).iterrows():
        changes = [_change(s, "technology", lang)]
        if "phase_a" in s and _as_text(s.phase_a) != _as_text(s.phase_b):
            changes.append(_change(s, "phase", lang))
        lines.append(term("compare.site_line", lang, site=s.site_id, changes=join(changes, lang),
                          status=value_text("compare_status", s.status, lang)))
    return lines


def _change(site: pd.Series, column: str, lang: str) -> str:
    """A site's ``column`` named, in plan A -> in plan B
    (:data:`~siting.export.cells.NO_VALUE_CELL` where a plan has none)."""
    a, b = (or_dash(_as_text(site[f"{column}_{plan}"])) for plan in "ab")
    return term("compare.change_of", lang, column=_headers([column], lang)[0], a=a, b=b)


def _headers(columns, lang: str) -> list[str]:
    """Column headers in ``lang``: ``x_a`` / ``x_b`` as column x of plan A / B."""
    words = {"a": "A", "b": "B", "delta": term("compare.delta", lang), "phase": term("compare.year", lang),
             "serving_site": term("compare.serving_site", lang), "change": term("compare.change", lang),
             "village_id": term("header.village", lang), "population": term("header.people", lang),
             COST_COLUMN: term("header.cost_cny", lang)}

    def header(column):
        return words[column] if column in words else term(f"header.{column}", lang)

    return [term("compare.of_plan", lang, column=header(c[:-2]), plan=c[-1].upper())
            if c.endswith(("_a", "_b")) else header(c) for c in columns]


def _kpi_rows(frame: pd.DataFrame, lang: str) -> list[list]:
    """name (in words), a, b, delta of each KPI row of ``frame``; people as whole persons (the
    raster's cells hold parts of one), amounts in the money of ``lang`` (:func:`money_cell`:
    万元 in Chinese, as the report), each delta that of the values shown (838,775 - 838,754
    reads 21, not 21.22); :data:`~siting.export.cells.NO_VALUE_CELL` where a plan has none."""
    rows = []
    for r in frame.itertuples():
        values = [r.a, r.b, r.delta]
        known = not (_missing(r.a) or _missing(r.b))
        if r.name.startswith("people") and known:
            values = [round(r.a), round(r.b), round(r.b) - round(r.a)]
        elif "_cny" in r.name and known:
            a, b = money_cell(r.a, lang), money_cell(r.b, lang)
            values = [a, b, b - a]
        rows.append([value_text("compare_kpi", r.name, lang), *map(or_dash, values)])
    return rows


def _site_table(sites: pd.DataFrame, lang: str) -> Table:
    """The sites that differ: each plan's technology, action, when either has them year and
    backhaul, and cost, and the status, in ``lang`` (:func:`_site_cell`)."""
    columns = _site_columns(sites)
    rows = [[_site_cell(c, v, lang) for c, v in zip(columns, row)]
            for row in sites[columns].itertuples(index=False)]
    return Table(_site_headers(columns, lang), rows)


def _site_columns(sites: pd.DataFrame) -> list[str]:
    """The columns of :attr:`Comparison.sites` that people read, in its order."""
    return [c for c in sites.columns if c not in ("in_a", "in_b", "geometry")]


def _site_headers(columns, lang: str) -> list[str]:
    """The headers of a site's ``columns`` (:func:`_site_columns`) in ``lang``."""
    return _headers(["site" if c == "site_id" else c for c in columns], lang)


#: The group of words (:func:`~siting.export.i18n.value_text`) of a site's column, by the
#: column's name without its plan.
SITE_VALUE_GROUPS = {"action": "action", "backhaul": "backhaul", "status": "compare_status"}


def _site_cell(column: str, value, lang: str):
    """A value of a site's ``column`` as the comparison's table and map show it: a cost in the
    money of ``lang`` (:func:`money_cell`: 万元 in Chinese), an action, backhaul or status in
    the words of ``lang``; :data:`~siting.export.cells.NO_VALUE_CELL` where a plan has none (a
    site of the other plan only), as the terminal's lines of :func:`listed_sites` say."""
    if column.startswith(COST_COLUMN):
        return money_cell(value, lang) if not _missing(value) else or_dash(value)
    group = SITE_VALUE_GROUPS.get(column.rsplit("_", 1)[0] if column != "status" else column)
    text = _as_text(value)
    return value_text(group, text, lang) if group and text else or_dash(text)


#: The columns of :attr:`Comparison.villages` that people read.
VILLAGE_COLUMNS = ("village_id", "name", "admin_unit", "population", "serving_site_a", "serving_site_b",
                   "change")


def _village_table(villages: pd.DataFrame, lang: str, names_zh: dict[str, str]) -> Table:
    """The villages whose coverage differs (:func:`_village_cells`), in ``lang``."""
    rows = [_village_cells(v, lang, names_zh) for _, v in villages.iterrows()]
    return Table(_headers(VILLAGE_COLUMNS, lang), rows)


def _village_cells(village: pd.Series, lang: str, names_zh: dict[str, str]) -> list:
    """A village's :data:`VILLAGE_COLUMNS` as the comparison's table and map show them: id,
    name, county (in Chinese its name of ``names_zh``), people, each plan's serving site
    (:data:`~siting.export.cells.NO_VALUE_CELL`: none) and its change in B, in ``lang``."""
    return [village["village_id"], village["name"], admin_text(village["admin_unit"], lang, names_zh),
            village["population"], *(or_dash(_as_text(village[f"serving_site_{plan}"])) for plan in "ab"),
            value_text("compare_change", village["change"], lang)]


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def comparison_map(comparison: Comparison) -> folium.Map:
    """A folium map with plan A's and plan B's sites as two layers (coloured by status) and
    the villages whose coverage differs, its scripts inlined (works offline), its words in the
    comparison's language (the page says which: ``<html lang="zh-CN">``)."""
    c, lang = comparison, comparison.language
    sites = c.sites.to_crs(WGS84)
    south, west, north, east = _bounds(sites, c.villages)
    fmap = folium.Map(location=[(south + north) / 2, (west + east) / 2], tiles=None)
    page = Page(HTML_LANG[lang])  # the page folium made, replaced by one with lang=
    page.title = esc(term("compare.title", lang, a=c.name_a, b=c.name_b))
    page.add_child(fmap)
    fmap.fit_bounds([[south, west], [north, east]])
    if c.terrain is not None:  # the terrain under both plans, as map.html shows it
        add_hillshade(fmap, c.terrain, c.sites.crs, lang)
    for plan, name in (("a", c.name_a), ("b", c.name_b)):
        layer = folium.FeatureGroup(name=esc(term("compare.layer_plan", lang, plan=plan.upper(), name=name)))
        PointLayer(_site_points(sites, plan, lang), circle_styles(SITE_MARKER_STYLE, STATUS_COLOURS, STATUSES),
                   marker="circle").add_to(layer)
        layer.add_to(fmap)
    _add_village_changes(fmap, c.villages.to_crs(WGS84), lang, c.admin_unit_names_zh)
    MetricScale().add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.get_root().html.add_child(folium.Element(comparison_legend(c)))
    inline_assets(fmap)
    return fmap


def comparison_legend(comparison: Comparison) -> str:
    """The map's legend box: the plans' names, each site status's colour with its count of
    sites, and the villages gained and lost in B with theirs."""
    c, lang = comparison, comparison.language
    sites = c.sites["status"].value_counts()
    villages = c.villages["change"].value_counts() if len(c.villages) else pd.Series(dtype=int)
    def dot(colour, label, count):
        text = term("compare.legend_count", lang, label=label, count=int(count))
        return f"<div><span style='color:{colour};font-size:15px'>&#9679;</span> {esc(text)}</div>"

    plans = "<br>".join(esc(term("compare.legend_plan", lang, plan=p, name=n))
                        for p, n in (("A", c.name_a), ("B", c.name_b)))
    items = [f"<div>{plans}</div>"]
    items += [dot(STATUS_COLOURS[s], value_text("compare_status", s, lang), sites.get(s, 0))
              for s in STATUSES]
    items += [dot(colour, term("compare.legend_village", lang,
                               change=value_text("compare_change", change, lang)), villages.get(change, 0))
              for change, colour in VILLAGE_COLOURS.items()]
    return ("<div id='siting-legend' style='position:fixed;bottom:44px;left:12px;z-index:9999;"
            "background:white;padding:8px 10px;border:1px solid #888;border-radius:4px;"
            f"font:12px {PAGE_FONTS};max-width:320px'><b>{esc(term('webmap.legend', lang))}</b>"
            + "".join(items) + "</div>")


def _site_points(sites_ll: gpd.GeoDataFrame, plan: str, lang: str) -> list[MapPoint]:
    """A marker for each site of ``plan`` ("a" or "b"), styled by its status (the index in
    :data:`STATUSES`), named with its technology in that plan and its status in the tooltip;
    its popup the site's row of the comparison's table (:func:`_site_cell`: each plan's
    technology, action, year, backhaul and cost, and which plans build it)."""
    columns = _site_columns(sites_ll)
    headers = _site_headers(columns, lang)
    return [MapPoint(s.geometry.y, s.geometry.x, STATUSES.index(s.status),
                     term("compare.tooltip_site", lang, site=s.site_id, technology=s[f"technology_{plan}"],
                          status=value_text("compare_status", s.status, lang)),
                     _popup_fields(headers, [_site_cell(c, s[c], lang) for c in columns]))
            for _, s in sites_ll[sites_ll[f"in_{plan}"]].iterrows()]


def _popup_fields(headers: list[str], cells: list) -> dict[str, str]:
    """A marker's popup: each header with its cell as the table's text shows it
    (:func:`~siting.export.cells.cell_text`: thousands separated, money to its decimals)."""
    return dict(zip(headers, map(cell_text, cells)))


def _add_village_changes(fmap: folium.Map, villages_ll: gpd.GeoDataFrame, lang: str,
                         names_zh: dict[str, str]) -> None:
    """The villages whose coverage differs, as one layer: coloured by their change in B
    (:data:`VILLAGE_COLOURS`), named with it in the tooltip; the popup the village's row of
    the comparison's table (:func:`_village_cells`: its people, each plan's serving site)."""
    layer = folium.FeatureGroup(name=esc(term("compare.layer_villages", lang)))
    changes = list(VILLAGE_COLOURS)
    headers = _headers(VILLAGE_COLUMNS, lang)
    points = [MapPoint(v.geometry.y, v.geometry.x, changes.index(v.change),
                       term("compare.tooltip_village", lang, name=v["name"],
                            change=value_text("compare_change", v.change, lang)),
                       _popup_fields(headers, _village_cells(v, lang, names_zh)))
              for _, v in villages_ll.iterrows()]
    PointLayer(points, circle_styles(VILLAGE_MARKER_STYLE, VILLAGE_COLOURS, changes), marker="circle").add_to(layer)
    layer.add_to(fmap)


def _bounds(*frames_ll) -> tuple[float, float, float, float]:
    """south, west, north, east [degrees] of the non-empty frames (WGS84)."""
    boxes = [f.to_crs(WGS84).total_bounds for f in frames_ll if len(f)]
    if not boxes:
        return -1.0, -1.0, 1.0, 1.0
    return (min(b[1] for b in boxes), min(b[0] for b in boxes),
            max(b[3] for b in boxes), max(b[2] for b in boxes))


def _writers(comparison: Comparison) -> dict:
    c = comparison

    def csv(frame):
        return lambda path: inert_cells(pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
                                        ).to_csv(path, index=False, encoding=CSV_ENCODING)

    return {"comparison.md": lambda path: path.write_text(render_comparison(c), encoding="utf-8"),
            "comparison.csv": csv(c.sites), "comparison_kpis.csv": csv(c.kpis),
            "comparison_by_county.csv": csv(c.by_county), "comparison_villages.csv": csv(c.villages),
            "comparison.html": lambda path: save_map(comparison_map(c), path)}


def write_comparison(comparison: Comparison, out_dir: str | os.PathLike) -> Path:
    """Write :data:`COMPARISON_FILES` into ``out_dir`` (created if needed): rendered in a
    staging folder inside it, then renamed into place, so a failure leaves the previous files.
    Returns ``out_dir``."""
    return write_files(_writers(comparison), out_dir, "comparison")

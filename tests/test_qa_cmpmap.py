"""comparison.html draws its sites and villages as map.html does: one script call per layer.

folium wrote a block of script per marker of comparison.html, its style and tooltip markup
written out each time: about 680 B a marker (284 markers, 192 kB of the demo's comparison of
a 20 M and a 40 M CNY plan). Its markers are now :class:`siting.export.webmap.PointLayer` rows.
Headless chromium opens the very comparison.html (Chinese, no network): each layer holds the
markers of the comparison's tables, in their colours and with their tooltips; and a marker
costs the page little more than the text its tooltip and popup show.

Its markers opened no popup: which plan builds a site, at what cost, and how many people live
in a village that lost coverage could only be looked up in comparison.md. Each opens the row
of comparison.md's table now, in the plans' language, built when it opens, as map.html's do.
"""

from __future__ import annotations

import html

import pytest

from map_popups import popups
from siting.compare import STATUS_COLOURS, VILLAGE_COLOURS, comparison_map
from siting.export.cells import NO_VALUE_CELL
from test_browser import chromium_binary, inspect_page, page_errors, requested_hosts
from test_compare import small_comparison
from test_qa_webmap2 import ROW_BYTES, VALUE_BYTES, copies

#: Run in comparison.html: the circle markers of each feature group (the plans' and the
#: villages' layers, in the map's order): position, fill colour, tooltip (its text, as read),
#: the rows of the popup it opens (null: none), and the layer control's names.
MARKERS = """(() => {
  const map = window[document.querySelector('.folium-map').id];
  const groups = [], box = document.createElement('div');
  const text = markup => { box.innerHTML = String(markup); return box.textContent.trim(); };
  const rows = m => {
    if (!m.getPopup()) { return null; }
    m.openPopup();
    const shown = Array.from(m.getPopup().getElement().querySelectorAll('.leaflet-popup-content tr'),
                             tr => [tr.querySelector('th').textContent, tr.querySelector('td').textContent]);
    m.closePopup();
    return shown;
  };
  map.eachLayer(layer => {
    if (!(layer instanceof L.FeatureGroup)) { return; }
    groups.push(layer.getLayers().filter(m => m instanceof L.CircleMarker).map(m => ({
      lat: m.getLatLng().lat, lon: m.getLatLng().lng, fill: m.options.fillColor,
      tooltip: m.getTooltip() ? text(m.getTooltip().getContent()) : null, popup: rows(m)})));
  });
  return {groups: groups,
          layers: [...document.querySelectorAll('.leaflet-control-layers-overlays span span')]
              .map(e => e.textContent.trim())};
})()"""

#: The tooltips of small_comparison("zh")'s markers, by layer, as the committee reads them.
TOOLTIPS_ZH = [["S1：仅方案 A 有，4G", "S3：两方案均有但制式不同，4G", "S2：两方案均有且相同，4G"],
               ["S4：仅方案 B 有，4G", "S5：仅方案 B 有，4G", "S3：两方案均有但制式不同，5G",
                "S2：两方案均有且相同，4G"],
               ["甲村：方案 B 中失去覆盖", "乙村：方案 B 中新增覆盖", "丙村：方案 B 中新增覆盖"]]
#: The popups of small_comparison("zh")'s site S1 (plan A only, 15 万元), S3 (4G in A, 5G at
#: 30 万元 in B) and village 甲村, as the committee reads them: comparison.md's rows.
POPUPS_ZH = {
    "S1": [["站址", "S1"], ["方案 A 制式", "4G"], ["方案 B 制式", NO_VALUE_CELL], ["方案 A 建设方式", "新建"],
           ["方案 B 建设方式", NO_VALUE_CELL], ["方案 A 成本 [万元]", "15.00"],
           ["方案 B 成本 [万元]", NO_VALUE_CELL], ["状态", "仅方案 A 有"]],
    "S3": [["站址", "S3"], ["方案 A 制式", "4G"], ["方案 B 制式", "5G"], ["方案 A 建设方式", "新建"],
           ["方案 B 建设方式", "新建"], ["方案 A 成本 [万元]", "15.00"], ["方案 B 成本 [万元]", "30.00"],
           ["状态", "两方案均有但制式不同"]],
    "V1": [["村编号", "V1"], ["村名", "甲村"], ["区县", "汉滨区"], ["人口", "100"],
           ["方案 A 服务站址", NO_VALUE_CELL], ["方案 B 服务站址", NO_VALUE_CELL], ["方案 B 中", "失去覆盖"]],
}


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """(comparison, comparison.html) of test_compare's small comparison, in Chinese."""
    comparison = small_comparison("zh")
    path = tmp_path_factory.mktemp("cmpmap") / "comparison.html"
    comparison_map(comparison).save(str(path))
    return comparison, path


def expected_layers(comparison) -> list[list[tuple]]:
    """(latitude, longitude, fill colour) of each marker of plan A's, plan B's and the
    villages' layers, from the comparison's tables."""
    sites = comparison.sites.to_crs("EPSG:4326")
    villages = comparison.villages.to_crs("EPSG:4326")
    return ([[(s.geometry.y, s.geometry.x, STATUS_COLOURS[s.status]) for _, s in sites[sites[f"in_{p}"]].iterrows()]
             for p in ("a", "b")]
            + [[(v.geometry.y, v.geometry.x, VILLAGE_COLOURS[v.change]) for _, v in villages.iterrows()]])


def test_chromium_shows_the_markers_of_the_comparisons_tables_with_their_tooltips_and_popups(page, tmp_path):
    comparison, path = page
    visit = inspect_page(chromium_binary(), path, MARKERS, tmp_path / "chromium")
    state = visit.state
    assert state["layers"] == ["方案 A：方案甲", "方案 B：方案乙", "覆盖情况不同的村"]
    shown = [[(m["lat"], m["lon"], m["fill"]) for m in group] for group in state["groups"]]
    expected = expected_layers(comparison)
    assert [len(group) for group in shown] == [len(group) for group in expected] == [3, 4, 3]
    for group, wanted in zip(shown, expected):
        for (lat, lon, fill), (lat_x, lon_x, fill_x) in zip(group, wanted):
            assert abs(lat - lat_x) <= 5.1e-6 and abs(lon - lon_x) <= 5.1e-6 and fill == fill_x
    assert [[m["tooltip"] for m in group] for group in state["groups"]] == TOOLTIPS_ZH
    opened = [m["popup"] for group in state["groups"] for m in group]
    assert all(opened)  # every marker opens one; none did
    assert opened == [[list(row) for row in shown.items()] for shown in popups(path.read_text(encoding="utf-8"))]
    by_id = {rows[0][1]: rows for rows in opened}
    assert {key: by_id[key] for key in POPUPS_ZH} == POPUPS_ZH
    assert page_errors(visit, None) == [] and requested_hosts(visit) == set()


def test_a_marker_costs_the_page_little_more_than_what_its_tooltip_and_popup_show(page, tmp_path):
    """300 sites of plan A only and 300 villages more, copies of the first: the page grows by
    no more than the text their tooltips and popups show plus ROW_BYTES and VALUE_BYTES each."""
    comparison, path = page
    n = 300
    sites = copies(comparison.sites, 0, n, "site_id", 20.0)
    villages = copies(comparison.villages, 0, n, "village_id", 20.0)
    assert sites.iloc[0].status == "only_a" and villages.iloc[0]["name"] == "甲村"
    bigger = comparison.__class__(**{**comparison.__dict__, "sites": sites, "villages": villages})
    comparison_map(bigger).save(str(tmp_path / "comparison.html"))
    grown_b = (tmp_path / "comparison.html").stat().st_size - path.stat().st_size
    tooltips = [f"copy{k}：仅方案 A 有，4G" for k in range(n)] + ["甲村：方案 B 中失去覆盖"] * n
    shown = [[f"copy{k}", *(value for _, value in POPUPS_ZH[key][1:])] for key in ("S1", "V1")
             for k in range(n)]
    bound_b = sum(len(html.escape(t).encode()) + ROW_BYTES + VALUE_BYTES for t in tooltips) + sum(
        len(html.escape(value).encode()) + VALUE_BYTES for values in shown for value in values)
    assert 0 < grown_b <= bound_b, (grown_b, bound_b)
    assert grown_b / (2 * n) < 150  # bytes a marker, with popups of 7 and 8 fields; folium's were 680

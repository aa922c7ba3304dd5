"""map.html offline, in a real browser: headless Debian chromium opens the very file a run writes,
with every host name unresolvable, and the page still draws its markers, layers, controls and
legend, opens fitted to the region, raises no JavaScript error, shows the XSS probe village as
text and asks nothing of the network but basemap tiles (``map.basemap: osm``) or nothing at all
(``none``). The same run is opened once more in Chinese (``report.language: zh``, no basemap):
its layer control, legend and popups read in Chinese.

Chromium is driven through the DevTools protocol on a pipe (``--remote-debugging-pipe``), so the
test reads exceptions, console errors, dialogs and requests from the browser itself instead of
injecting a recorder into the page. The plain tests at the top need no browser.
"""

from __future__ import annotations

import base64
import dataclasses
import fcntl
import json
import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import folium
import pytest
import yaml

from siting.config import Basemap, load_scenario
from siting.export.tables import plan_tables, site_table
from siting.export.webfont import FAMILY
from siting.export.webmap import ASSETS_DIR, VENDORED_ASSETS, region_bounds_deg, write_map
from siting.pipeline import compute, write_outputs
from test_export import ESCAPED, XSS, small_region, web_addresses

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_COPYRIGHT = "https://www.openstreetmap.org/copyright"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-dev-shm-usage", "--host-resolver-rules=MAP * ~NOTFOUND",
                  "--window-size=1400,900", "--remote-debugging-pipe")
WINDOW_PX = (1400, 900)


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    """{kind: (run, output folder)}: one computed run written with ``map.basemap`` left at its
    default (``osm``), once more with ``basemap: none`` read from a scenario file, and once in
    Chinese without a basemap (``zh``)."""
    folder = tmp_path_factory.mktemp("browser")
    scenario_path = small_region(folder)
    run = compute(load_scenario(scenario_path))
    doc = yaml.safe_load(scenario_path.read_text(encoding="utf-8"))
    runs = {"osm": run}
    for kind, extra in (("none", {}), ("zh", {"report": {"language": "zh"}})):
        path = folder / f"scenario_{kind}.yaml"
        path.write_text(yaml.safe_dump({**doc, "map": {"basemap": "none"}, **extra}), encoding="utf-8")
        runs[kind] = dataclasses.replace(run, scenario=load_scenario(path))
    assert [r.scenario.outputs.basemap.kind for r in runs.values()] == ["osm", "none", "none"]
    assert [r.scenario.outputs.language for r in runs.values()] == ["en", "en", "zh"]
    outputs = {}
    for kind, each in runs.items():
        write_outputs(each, folder / kind)
        outputs[kind] = (each, folder / kind)
    return outputs


# --- plain checks of the file ------------------------------------------------------------------


def test_map_html_links_only_the_osm_tiles(maps):
    _, out = maps["osm"]
    page = (out / "map.html").read_text(encoding="utf-8")
    assert web_addresses(page) == {OSM_TILES, OSM_COPYRIGHT}


def test_map_html_without_basemap_has_no_web_address_at_all(maps):
    for kind in ("none", "zh"):
        _, out = maps[kind]
        page = (out / "map.html").read_text(encoding="utf-8")
        assert web_addresses(page) == set(), kind
        assert "L.tileLayer" not in page and "L.Control.MiniMap" not in page, kind


def test_custom_basemap_links_its_tiles_and_shows_its_credit_as_text(maps, tmp_path):
    run, _ = maps["osm"]
    url = "https://tiles.example.org/base/{z}/{x}/{y}.png"
    basemap = Basemap(kind="custom", url=url, attribution="<b>Example</b> tiles")
    outputs = dataclasses.replace(run.scenario.outputs, basemap=basemap)
    tables = plan_tables(run)
    custom = dataclasses.replace(tables, scenario=dataclasses.replace(run.scenario, outputs=outputs))
    write_map(tmp_path / "map.html", custom)
    page = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert web_addresses(page) == {url}
    credits = {json.loads(text) for text in re.findall(r'"attribution": ("[^"]*")', page)}
    assert credits == {"&lt;b&gt;Example&lt;/b&gt; tiles"}  # Leaflet shows it as text, not markup


def test_vendored_leaflet_is_the_version_folium_links():
    """folium's templates are written against the Leaflet its CDN link names: re-vendor (see
    siting/export/assets/README.md) when a folium upgrade moves it."""
    folium_url = dict(folium.Map.default_js)["leaflet"]
    version = re.search(r"leaflet@([\d.]+)/", folium_url).group(1)
    shipped = (ASSETS_DIR / VENDORED_ASSETS["leaflet"]).read_text(encoding="utf-8")
    assert f"Leaflet {version}," in shipped[:200]  # its @preserve banner
    for folder in ("leaflet", "leaflet-minimap", "leaflet.fullscreen"):
        assert list((ASSETS_DIR / folder).glob("LICENSE*")), folder


# --- in chromium -------------------------------------------------------------------------------


class DevTools:
    """Headless chromium driven over ``--remote-debugging-pipe``: JSON messages ending in NUL,
    which chromium reads on its fd 3 and writes on its fd 4. Events are kept in ``events``;
    JavaScript dialogs (``alert``) are recorded there and dismissed so the page never blocks."""

    def __init__(self, binary: str, profile: Path):
        to_chromium, self._to_chromium = _pipe()
        self._from_chromium, from_chromium = _pipe()
        # bash (not dash: it only redirects fds 0-9) puts the two ends on chromium's fds 3 and 4
        wiring = f'exec "$0" "$@" 3<&{to_chromium} 4>&{from_chromium} {to_chromium}<&- {from_chromium}>&-'
        self.process = subprocess.Popen(
            [shutil.which("bash"), "-c", wiring, binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"],
            pass_fds=(to_chromium, from_chromium), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chromium)
        os.close(from_chromium)
        self.events: list[dict] = []
        self._buffer, self._last_id = b"", 0

    def send(self, method: str, session: str | None = None, **params) -> int:
        self._last_id += 1
        message = {"id": self._last_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_chromium, json.dumps(message).encode() + b"\0")
        return self._last_id

    def call(self, method: str, session: str | None = None, *, timeout_s: float = 60, **params) -> dict:
        """Send a command and wait for its answer (events arriving meanwhile are kept)."""
        wanted = self.send(method, session, **params)
        deadline = time.monotonic() + timeout_s
        while True:
            message = self._receive(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def wait_for(self, event: str, *, timeout_s: float = 60) -> dict:
        """The first ``event`` (a method name such as ``Page.loadEventFired``), waiting for it."""
        deadline = time.monotonic() + timeout_s
        while not any(e.get("method") == event for e in self.events):
            self._receive(deadline)
        return next(e for e in self.events if e.get("method") == event)

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_chromium], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._from_chromium, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        message = json.loads(raw)
        if "id" not in message:
            self.events.append(message)
            if message.get("method") == "Page.javascriptDialogOpening":
                self.send("Page.handleJavaScriptDialog", message.get("sessionId"), accept=False)
        return message

    def close(self) -> None:
        try:
            self.send("Browser.close")
            self.process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        os.close(self._to_chromium)
        os.close(self._from_chromium)


def _pipe() -> tuple[int, int]:
    """A pipe whose two ends are numbered 10 and up, clear of the 3 and 4 chromium reads."""
    read, write = os.pipe()
    ends = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (read, write))
    os.close(read)
    os.close(write)
    return ends


# Run in the page once it has loaded: what the committee sees, read from the live DOM and map.
INSPECT = """(() => {
  const box = document.querySelector('.folium-map');
  const map = window[box.id];
  const main = sel => box.querySelectorAll(':scope > .leaflet-map-pane ' + sel);
  const texts = sel => Array.from(box.querySelectorAll(sel), e => e.textContent.trim());
  const region = L.latLngBounds(REGION);
  let tileLayers = 0;
  map.eachLayer(layer => { if (layer instanceof L.TileLayer) { tileLayers += 1; } });
  const legend = document.getElementById('siting-legend');
  return {
    siteMarkers: main('.leaflet-marker-icon.siting-site').length,
    vectors: main('path.leaflet-interactive').length,
    imageLayers: main('img.leaflet-image-layer').length,
    overlays: texts('.leaflet-control-layers-overlays label'),
    baseLayers: texts('.leaflet-control-layers-base label'),
    tileLayers: tileLayers,
    scaleLines: texts('.leaflet-control-scale-line'),
    minimap: box.querySelector('.leaflet-control-minimap') !== null,
    fullscreen: box.querySelector('.leaflet-control-zoom-fullscreen') !== null,
    legend: legend === null ? null : legend.textContent,
    lang: document.documentElement.lang,
    title: document.title,
    titleBox: document.getElementById('siting-title').textContent,
    regionInView: map.getBounds().contains(region),
    zoom: map.getZoom(),
    fittedZoom: map.getBoundsZoom(region),
    background: getComputedStyle(box).backgroundColor,
    pageFonts: Array.from(document.fonts, f => [f.family.replace(/"/g, ''), f.status]),
    legendFont: legend === null ? null : getComputedStyle(legend).fontFamily,
    layersFont: getComputedStyle(box.querySelector('.leaflet-control-layers')).fontFamily,
  };
})()"""

# Opens the popup of the village named like an XSS probe (found by its tooltip).
OPEN_XSS_POPUP = """(() => {
  const map = window[document.querySelector('.folium-map').id];
  let opened = false;
  map.eachLayer(layer => {
    const tip = layer.getTooltip && layer.getTooltip();
    if (tip && String(tip.getContent()).indexOf('alert(1)') >= 0) { layer.openPopup(); opened = true; }
  });
  return opened;
})()"""


@dataclasses.dataclass(frozen=True)
class Visit:
    """What chromium saw of one map.html."""

    state: dict  # INSPECT's answer
    xss_popup_opened: bool
    dom: str  # document.documentElement.outerHTML after the popup opened
    screenshot_png: bytes
    events: list  # DevTools events: exceptions, console and log entries, requests, dialogs


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("no chromium to open map.html in: install Debian's browser with apt-get install -y chromium")


def evaluate_js(browser: DevTools, session: str, expression: str):
    answer = browser.call("Runtime.evaluate", session, expression=expression, returnByValue=True,
                          awaitPromise=True)
    assert "exceptionDetails" not in answer, answer["exceptionDetails"]
    return answer["result"].get("value")


def open_tab(browser: DevTools, page: Path) -> str:
    """Open ``page`` in a fresh tab of the window size, with page, runtime, network and log
    events on, and wait for its load event; returns the tab's session id."""
    target = browser.call("Target.createTarget", url="about:blank")["targetId"]
    session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    for domain in ("Page", "Runtime", "Network", "Log"):
        browser.call(f"{domain}.enable", session)
    browser.call("Emulation.setDeviceMetricsOverride", session, width=WINDOW_PX[0],
                 height=WINDOW_PX[1], deviceScaleFactor=1, mobile=False)
    browser.call("Page.navigate", session, url=page.as_uri())
    browser.wait_for("Page.loadEventFired")
    return session


def visit_page(binary: str, page: Path, region_deg, profile: Path) -> Visit:
    """Open ``page`` in a fresh tab, let it settle, read its state, open the XSS popup, read the
    DOM and take a screenshot."""
    browser = DevTools(binary, profile)
    try:
        session = open_tab(browser, page)
        evaluate_js(browser, session, "new Promise(done => setTimeout(done, 1000))")  # tiles fail, zoom ends
        state = evaluate_js(browser, session, INSPECT.replace("REGION", json.dumps(region_deg)))
        opened = evaluate_js(browser, session, OPEN_XSS_POPUP)
        evaluate_js(browser, session, "new Promise(done => setTimeout(done, 300))")
        dom = evaluate_js(browser, session, "document.documentElement.outerHTML")
        shot = base64.b64decode(browser.call("Page.captureScreenshot", session, format="png")["data"])
        return Visit(state, opened, dom, shot, list(browser.events))
    finally:
        browser.close()


@pytest.fixture(scope="module")
def visits(maps, tmp_path_factory):
    """{basemap kind: Visit} for the map.html of each run; the screenshots are left next to them."""
    binary = chromium_binary()
    seen = {}
    for kind, (run, out) in maps.items():
        south, west, north, east = region_bounds_deg(plan_tables(run))
        visit = visit_page(binary, out / "map.html", [[south, west], [north, east]],
                       tmp_path_factory.mktemp(f"chromium-{kind}"))
        (out / "map-screenshot.png").write_bytes(visit.screenshot_png)
        seen[kind] = visit
    return seen


def inspect_page(binary: str, page: Path, expression: str, profile: Path) -> Visit:
    """Open ``page`` (any HTML file) in a fresh tab, wait for it to load and settle, and
    evaluate ``expression`` there; its value is the Visit's ``state``."""
    browser = DevTools(binary, profile)
    try:
        session = open_tab(browser, page)
        evaluate_js(browser, session, "new Promise(done => setTimeout(done, 500))")
        state = evaluate_js(browser, session, expression)
        dom = evaluate_js(browser, session, "document.documentElement.outerHTML")
        return Visit(state, False, dom, b"", list(browser.events))
    finally:
        browser.close()


def page_errors(visit: Visit, tile_host: str | None) -> list[str]:
    """Uncaught exceptions, console.error calls and error log entries, except the failed tile
    loads of ``tile_host`` (the network is blocked; Leaflet reports those as tile events)."""
    found = []
    for event in visit.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            found.append(details.get("exception", {}).get("description") or details.get("text"))
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            found.append(" ".join(str(arg.get("value", arg.get("description"))) for arg in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            if not (tile_host and entry.get("source") == "network" and tile_host in entry.get("url", "")):
                found.append(f"{entry.get('source')}: {entry['text']} {entry.get('url', '')}")
    return found


def requested_hosts(visit: Visit) -> set[str]:
    """Scheme and host of every request the page made, other than file: and data: addresses."""
    urls = [e["params"]["request"]["url"] for e in visit.events
            if e.get("method") == "Network.requestWillBeSent"]
    return {re.match(r"[a-z-]+://[^/]*", url).group(0) for url in urls
            if not url.startswith(("file:", "data:"))}


#: What the layer control and the legend show in each language.
OVERLAYS = {"en": ("Terrain (hillshade)", "Population (people per cell)",
                   "Coverage after plan (best server RSRP)", "Coverage 4G-1800 (RSRP)",
                   "Selected sites: 4G-1800", "Selected sites: 5G-3500", "Existing sites", "Villages",
                   "Admin units"),
            "zh": ("地形（晕渲）", "人口（每网格人数）", "规划后覆盖（最强服务小区 RSRP）", "4G-1800 覆盖（RSRP）",
                   "入选站址：4G-1800", "入选站址：5G-3500", "现网站址", "村", "区县")}
LEGEND = {"en": ("Legend", "-95 to -85 dBm (good)", "site: 4G-1800", "village mandatory uncovered"),
          "zh": ("图例", "-95 至 -85 dBm（良）", "站址：4G-1800", "村：必覆盖村未覆盖", "字母：P 公共建筑")}


def test_map_renders_markers_layers_and_legend(maps, visits):
    run, _ = maps["osm"]
    sites = site_table(run)
    built = sites[sites["action"].isin(["build", "upgrade"])]
    markers = len(built)  # one per site built or upgraded, in the layer of what it gets
    assert markers >= 1
    for kind, visit in visits.items():
        state, language = visit.state, maps[kind][0].scenario.outputs.language
        assert state["siteMarkers"] == markers, kind
        assert state["vectors"] >= 5, kind  # villages, existing sites, admin units
        assert state["imageLayers"] == 2, kind  # hillshade and coverage shown; population hidden
        assert state["lang"] == {"en": "en", "zh": "zh-CN"}[language], kind
        assert state["title"] == state["titleBox"] and maps[kind][0].scenario.name in state["title"], kind
        for name in OVERLAYS[language]:
            assert name in state["overlays"], (kind, name)
        assert state["legend"] and all(text in state["legend"] for text in LEGEND[language]), kind
        assert state["fullscreen"], kind
    assert not set(OVERLAYS["en"]) & set(visits["zh"].state["overlays"])
    assert "Legend" not in visits["zh"].state["legend"]


def test_chinese_map_draws_with_the_font_it_carries(visits):
    """The Chinese map carries the font of its Chinese characters (a laptop may have none and
    no network): the browser has loaded it, and the legend and the layer control name it; the
    English map, with no Chinese character, carries none."""
    zh = visits["zh"].state
    assert [FAMILY, "loaded"] in zh["pageFonts"], zh["pageFonts"]
    # first in the stacks: chromium waits for it there (further down, bold text kept boxes)
    assert zh["legendFont"].startswith(f'"{FAMILY}"') and zh["layersFont"].startswith(f'"{FAMILY}"')
    assert not visits["none"].state["pageFonts"]


def test_basemap_osm_has_tiles_and_minimap_none_has_neither(visits):
    osm, none = visits["osm"].state, visits["none"].state
    assert osm["tileLayers"] == 1 and osm["baseLayers"] == ["OpenStreetMap"] and osm["minimap"]
    assert none["tileLayers"] == 0 and none["baseLayers"] == [] and not none["minimap"]
    assert none["background"] == "rgb(242, 242, 239)"  # the neutral background under the hillshade


def test_scale_bar_is_metric_only(visits):
    for kind, visit in visits.items():
        lines = visit.state["scaleLines"]
        assert len(lines) == 1 and re.fullmatch(r"\d+ k?m", lines[0]), (kind, lines)


def test_map_opens_fitted_to_the_region(visits):
    for kind, visit in visits.items():
        assert visit.state["regionInView"], kind
        assert visit.state["zoom"] == visit.state["fittedZoom"], kind


def test_map_has_no_javascript_errors(visits):
    assert page_errors(visits["osm"], "tile.openstreetmap.org") == []
    assert page_errors(visits["none"], None) == []
    assert page_errors(visits["zh"], None) == []


def test_page_asks_the_network_only_for_basemap_tiles(visits):
    assert requested_hosts(visits["osm"]) <= {"https://tile.openstreetmap.org"}
    assert requested_hosts(visits["none"]) == set()
    assert requested_hosts(visits["zh"]) == set()


def test_xss_probe_village_renders_as_text(visits):
    for kind, visit in visits.items():
        assert visit.xss_popup_opened, kind
        assert not [e for e in visit.events if e.get("method") == "Page.javascriptDialogOpening"]
        popup = re.search(r'class="leaflet-popup-content"[^>]*>(.*?)</div>', visit.dom, re.DOTALL)
        assert popup is not None, "the XSS village popup did not open"
        assert ESCAPED in popup.group(1)
        assert XSS not in visit.dom
        if kind == "zh":  # the popup's field names and values in Chinese
            for cell in ("<th", ">未覆盖原因</th>", ">覆盖状态</th>", "<td>必覆盖村未覆盖</td>", "<td>是</td>"):
                assert cell in popup.group(1), cell


def test_screenshot_shows_the_map(maps, visits):
    for kind, visit in visits.items():
        assert visit.screenshot_png.startswith(b"\x89PNG") and len(visit.screenshot_png) > 10_000, kind
        assert (maps[kind][1] / "map-screenshot.png").exists()

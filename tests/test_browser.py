"""map.html in a real browser: headless Debian chromium renders the markers, layers and controls,
raises no JavaScript error, shows the XSS probe village as text, and leaves a screenshot.

The machine has no internet: the page's Leaflet, jQuery, MiniMap and Fullscreen scripts (CDN links
in map.html) are fetched once from the npm registry (``npm pack``) and the copy of the page the
browser opens points at them; other CDN assets (Bootstrap, icon fonts) are dropped, and the
OpenStreetMap tiles simply fail to load, which Leaflet reports as a tile event, not a page error.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile

import pytest

from siting.config import load_scenario
from siting.export.tables import site_table
from siting.pipeline import compute, write_outputs
from test_export import ESCAPED, XSS, small_region

# CDN address in map.html -> (npm package spec, file inside the package tarball).
ASSETS = (
    (r"https://[^\"']*/npm/leaflet@([\d.]+)/dist/leaflet\.js", "leaflet@{0}", "package/dist/leaflet.js"),
    (r"https://[^\"']*/npm/leaflet@([\d.]+)/dist/leaflet\.css", "leaflet@{0}", "package/dist/leaflet.css"),
    (r"https://code\.jquery\.com/jquery-([\d.]+)\.min\.js", "jquery@{0}", "package/dist/jquery.min.js"),
    (r"https://[^\"']*/leaflet-minimap/([\d.]+)/Control\.MiniMap(?:\.min)?\.js", "leaflet-minimap@{0}",
     "package/src/Control.MiniMap.js"),
    (r"https://[^\"']*/leaflet-minimap/([\d.]+)/Control\.MiniMap(?:\.min)?\.css", "leaflet-minimap@{0}",
     "package/src/Control.MiniMap.css"),
    (r"https://[^\"']*/npm/leaflet\.fullscreen@([\d.]+)/Control\.FullScreen(?:\.min)?\.js",
     "leaflet.fullscreen@{0}", "package/Control.FullScreen.js"),
    (r"https://[^\"']*/npm/leaflet\.fullscreen@([\d.]+)/Control\.FullScreen\.css",
     "leaflet.fullscreen@{0}", "package/Control.FullScreen.css"),
)

# Injected first in <head>: records uncaught errors, console.error calls and alert() calls in the
# DOM; after load, opens the popup of the XSS probe village so its text is in the DOM.
PROBE = """<script>
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push(String(e.message)); });
(function () { var original = console.error;
  console.error = function () { window.__errors.push(Array.from(arguments).join(' ')); original.apply(console, arguments); }; })();
window.alert = function () { document.documentElement.setAttribute('data-alerted', 'yes'); };
window.addEventListener('load', function () {
  setTimeout(function () {
    var map = window[document.querySelector('.folium-map').id];
    map.eachLayer(function (layer) {
      var tip = layer.getTooltip && layer.getTooltip();
      if (tip && String(tip.getContent()).indexOf('alert(1)') >= 0) { layer.openPopup(); }
    });
    document.documentElement.setAttribute('data-errors', JSON.stringify(window.__errors));
    document.documentElement.setAttribute('data-probe', 'done');
  }, 500);
});
</script>"""


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("no chromium: install Debian's browser with apt-get install -y chromium")


def _chromium_args(binary, tmp_path):
    return [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1400,900",
            "--virtual-time-budget=8000"]


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    """Local copies of the scripts the page loads from CDNs, keyed by their CDN address."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm not installed: needed to fetch Leaflet for the offline browser test")
    return npm, tmp_path_factory.mktemp("npm")


def _localise(page: str, npm: str, cache) -> str:
    wanted = {}
    for pattern, spec, member in ASSETS:
        for match in re.finditer(pattern, page):
            wanted[match.group(0)] = (spec.format(match.group(1)), member)
    for spec in sorted({s for s, _ in wanted.values()}):
        if not (cache / (spec.replace("@", "-") + ".tgz")).exists():
            done = subprocess.run([npm, "pack", "--silent", spec], cwd=cache, capture_output=True,
                                  text=True, timeout=120)
            if done.returncode != 0:
                pytest.skip(f"npm pack {spec} failed (no registry?): {done.stderr.strip()[-200:]}")
    for url, (spec, member) in wanted.items():
        name, version = spec.split("@")
        target = cache / f"{name}-{version}" / member
        if not target.exists():
            with tarfile.open(cache / f"{name}-{version}.tgz") as tar:
                tar.extract(member, cache / f"{name}-{version}", filter="data")
        page = page.replace(url, target.as_uri())
    assert {"leaflet.js", "jquery.min.js"} <= {m.rsplit("/", 1)[1] for _, m in wanted.values()}
    # Drop the remaining CDN stylesheets and scripts (Bootstrap, icon fonts): no network here.
    page = re.sub(r"<script src=\"https://[^\"]+\"></script>", "", page)
    page = re.sub(r"<link rel=\"stylesheet\" href=\"https://[^\"]+\"/>", "", page)
    return page.replace("<head>", "<head>" + PROBE, 1)


@pytest.fixture(scope="module")
def page(tmp_path_factory, assets):
    binary = _chromium()
    folder = tmp_path_factory.mktemp("browser")
    run = compute(load_scenario(small_region(folder)))
    out = folder / "out"
    write_outputs(run, out)
    npm, cache = assets
    local = out / "map_offline.html"
    local.write_text(_localise((out / "map.html").read_text(encoding="utf-8"), npm, cache), encoding="utf-8")
    args = _chromium_args(binary, folder)
    done = subprocess.run(args + ["--enable-logging=stderr", "--v=0", "--dump-dom", local.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return run, out, local, done.stdout, done.stderr, args


def test_map_renders_markers_layers_and_controls(page):
    run, _, _, dom, _, _ = page
    assert 'data-probe="done"' in dom, "the page's scripts did not run to the end"
    sites = site_table(run)
    built = sites[sites["action"].isin(["build", "upgrade"])]
    markers = int(built["technology"].str.split("+").str.len().sum())  # one per site and technology
    assert markers >= 1
    assert len(re.findall(r"leaflet-marker-icon", dom)) == markers  # selected sites (div icons)
    assert len(re.findall(r"leaflet-interactive", dom)) >= 3  # villages, existing sites, polygons
    assert len(re.findall(r"leaflet-image-layer", dom)) >= 3  # hillshade, population, coverage
    for control in ("leaflet-control-layers", "leaflet-control-scale", "leaflet-control-minimap",
                    "leaflet-control-zoom-fullscreen", "siting-legend"):
        assert control in dom, control
    for name in ("Terrain (hillshade)", "Villages", "Existing sites", "Selected sites: 4G-1800",
                 "Coverage after plan (best server RSRP)", "Admin units"):
        assert name in dom, name


def test_map_has_no_console_errors(page):
    _, _, _, dom, stderr, _ = page
    errors = re.search(r'data-errors="([^"]*)"', dom)
    assert errors is not None and errors.group(1) == "[]", errors and errors.group(1)
    console = [line for line in stderr.splitlines() if "CONSOLE" in line
               and "Failed to load resource" not in line and "net::ERR" not in line]
    assert not [line for line in console if re.search(r"Uncaught|Error", line)], console


def test_xss_probe_village_renders_as_text(page):
    _, _, _, dom, _, _ = page
    assert 'data-alerted="yes"' not in dom
    popup = re.search(r'class="leaflet-popup-content"[^>]*>(.*?)</div>', dom, re.S)
    assert popup is not None, "the XSS village popup did not open"
    assert ESCAPED in popup.group(1)
    assert XSS not in dom


def test_screenshot(page, tmp_path):
    _, _, local, _, _, args = page
    shot = tmp_path / "map.png"
    subprocess.run(args + [f"--screenshot={shot}", local.as_uri()], capture_output=True, timeout=120,
                   check=True)
    assert shot.exists() and shot.stat().st_size > 10_000

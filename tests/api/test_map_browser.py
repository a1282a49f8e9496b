"""The overview map in real headless Chromium against a real uvicorn server.

Counts are of SVG ``path.ntm-commune`` elements: at province scope the commune layer
uses Leaflet's SVG renderer, so each commune drawn is one DOM path (the other layers
draw on canvas). Every request the page makes is intercepted: none may leave 127.0.0.1.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from layers import admin_units
from layers.boundaries import import_boundaries
from layers.store import Store
from maps.modes import MODES

from playwright import sync_api as playwright
ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ['<script>window.__pwned=1</script>', '"><img src=x onerror="window.__pwned=2">', "Bản </div> Đôn's"]
SERVE = """
import sys, uvicorn
from api.app import create_app
from api.settings import Settings
app = create_app(Settings(store=sys.argv[1], offline=True))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""

pytestmark = pytest.mark.usefixtures("chromium_path")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    """Start a uvicorn server on a store; returns its base URL. All are stopped at the end."""
    procs, bases = [], {}

    def start(store_path: Path) -> str:
        if store_path in bases:
            return bases[store_path]
        port = _free_port()
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        env.pop("NTM_TILES", None)  # plain background: no basemap
        proc = subprocess.Popen([sys.executable, "-c", SERVE, str(store_path), str(port)], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/health", timeout=1)
                bases[store_path] = base
                return base
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited: {proc.stdout.read().decode()}") from None
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


@pytest.fixture(scope="module")
def browser(chromium_path):
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


class Watched:
    """A page whose console errors and outside requests are recorded (outside ones aborted)."""

    def __init__(self, browser):
        self.page = browser.new_page(viewport={"width": 1200, "height": 800})
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        if url.startswith("http://127.0.0.1:") or url.startswith("data:"):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self, url: str):
        self.page.goto(url, wait_until="load")
        self.page.wait_for_selector(".folium-map[data-ready='1']", timeout=15000)
        return self.page


def _n_communes(path: Path, year: int) -> int:
    return len(admin_units.units_table(Store(path), "commune", on=admin_units.year_end(year)))


def _check_screenshot(page, path: Path) -> float:
    page.screenshot(path=str(path))
    from PIL import Image  # matplotlib's dependency

    pixels = np.asarray(Image.open(path).convert("L"), dtype=float)
    return float(pixels.std())


@pytest.mark.parametrize("which", ["demo", "laocai"])
def test_every_mode_in_chromium(which, request, serve, browser, tmp_path):
    path = request.getfixturevalue("demo_store_path" if which == "demo" else "laocai_store_path")
    base = serve(path)
    watched = Watched(browser)
    expected = _n_communes(path, 2024)
    for mode in MODES:
        page = watched.open(f"{base}/map?year=2024&mode={mode}")
        assert page.locator("path.ntm-commune").count() == expected, mode
        assert page.get_attribute(".folium-map", "data-communes") == str(expected)
        legend = page.locator("#ntm-legend")
        assert legend.is_visible() and legend.locator(".ntm-row").count() >= 3
        assert page.locator(".leaflet-control-scale").count() == 1
        assert page.locator(".leaflet-control-layers").count() == 1
    shot = tmp_path / f"{which}.png"
    assert _check_screenshot(page, shot) > 10, "screenshot is blank"
    # search without diacritics, then the popup with the criteria table and the commune link
    query = "Ta Hom" if which == "demo" else "Sin Cheng"
    page.fill("#ntm-search", query)
    page.wait_for_selector("#ntm-results li[tabindex]")
    page.click("#ntm-results li[tabindex]")
    page.wait_for_selector(".ntm-popup", timeout=5000)
    popup = page.locator(".ntm-popup")
    assert popup.locator(".ntm-criteria tbody tr").count() == 19
    assert popup.locator("a.ntm-link").get_attribute("href").startswith("/communes/")
    # zoomed out: districts aggregated instead of communes
    page.evaluate("() => { ntmMap.setZoom(+ntmMap.getContainer().dataset.communeZoom - 1, {animate: false}); }")
    page.wait_for_function("document.body.classList.contains('ntm-aggregated')")
    assert page.locator("path.ntm-commune").count() == 0
    assert page.locator(".ntm-aggregate").is_visible()
    assert watched.errors == [] and watched.outside == []


def test_overlays_english_and_offline(demo_store_path, serve, browser, tmp_path):
    base = serve(demo_store_path)
    watched = Watched(browser)
    page = watched.open(f"{base}/map?year=2024&lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    boxes = page.locator(".leaflet-control-layers-overlays input")
    assert boxes.count() == 9  # district boundaries + 8 overlays
    with page.expect_response(lambda r: "/overlays/roads.geojson" in r.url) as roads:
        page.locator(".leaflet-control-layers-overlays label", has_text="Roads").locator("input").check()
    assert roads.value.ok
    for name in ("Villages", "Schools", "Investment projects"):
        with page.expect_response(lambda r: "/overlays/" in r.url):
            page.locator(".leaflet-control-layers-overlays label", has_text=name).locator("input").check()
    page.wait_for_timeout(300)
    legends = page.locator("#ntm-legend .ntm-overlay-legends > div")
    assert legends.count() == 4  # one legend section per overlay switched on
    assert "Not hardened" in page.locator("#ntm-legend [data-overlay='roads']").inner_text()
    assert "Below the standard" in page.locator("#ntm-legend [data-overlay='schools']").inner_text()
    page.locator(".leaflet-control-layers-overlays label", has_text="Roads").locator("input").uncheck()
    assert legends.count() == 3
    assert _check_screenshot(page, tmp_path / "overlays.png") > 10
    assert watched.errors == [] and watched.outside == []


def test_hostile_names_stay_text(tmp_path, grid, serve, browser):
    gdf = grid(3, 1)
    gdf["ten_xa"] = [f"Xã {n}" for n in HOSTILE]
    gdf["ten_huyen"], gdf["ma_tinh"], gdf["ten_tinh"] = 'Huyện <b>"Thử"</b>', "10", "Lào Cai"
    gdf.to_file(tmp_path / "xa.gpkg")
    store = Store(tmp_path / "s.gpkg", create=True)
    import_boundaries(store, tmp_path / "xa.gpkg", level="commune", build_parents=True)
    watched = Watched(browser)
    page = watched.open(serve(store.path) + "/map")
    paths = page.locator("path.ntm-commune")
    assert paths.count() == 3
    for k in range(3):
        paths.nth(k).hover()
        page.wait_for_selector(".leaflet-tooltip")
        assert HOSTILE[k] in page.locator(".leaflet-tooltip").last.inner_text()
        paths.nth(k).click()
        page.wait_for_selector(".ntm-popup h3")
        assert page.locator(".ntm-popup h3").last.inner_text() == HOSTILE[k]
    page.fill("#ntm-search", "script")
    page.wait_for_selector("#ntm-results li[tabindex]")
    assert HOSTILE[0] in page.locator("#ntm-results").inner_text()
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src='x']").count() == 0
    assert watched.errors == [] and watched.outside == []

"""The hot-spot and indicator modes and the travel-time overlay in headless Chromium.

Uses the server and browser harness of ``test_map_browser`` (every request must stay on
127.0.0.1; console errors fail the test).
"""

from __future__ import annotations


import pytest

from _hotspot_store import INDICATOR, build_hotspot_store
from test_map_browser import Watched, _check_screenshot, browser, serve  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("chromium_path")

@pytest.fixture(scope="module")
def store_path(demo_store_path, tmp_path_factory):
    return build_hotspot_store(demo_store_path, tmp_path_factory.mktemp("hot-browser") / "demo.gpkg")


def test_hotspot_mode_tooltip_and_travel_overlay(store_path, serve, browser, tmp_path):  # noqa: F811
    base = serve(store_path)
    watched = Watched(browser)
    page = watched.open(f"{base}/map?year=2024&mode=hotspot&indicator={INDICATOR}&lang=en")
    assert page.locator("path.ntm-commune").count() == 120
    legend = page.locator("#ntm-legend")
    assert legend.locator(".ntm-row").count() >= 7 and "Hot spot (High–High)" in legend.inner_text()
    assert "Global Moran's I" in legend.locator(".ntm-note").inner_text()
    assert page.locator("select#ntm-indicator").is_visible() and not page.locator("select#ntm-criterion").is_visible()
    # hover a commune: the tooltip adds its class and statistic
    page.locator("path.ntm-commune").nth(60).hover()
    page.wait_for_selector(".leaflet-tooltip", timeout=5000)
    tip = page.locator(".leaflet-tooltip").inner_text()
    assert "Local Moran: I = " in tip and ("Not significant" in tip or "spot" in tip or "Outlier" in tip), tip
    # the travel-time overlay: off by default, drawn from our server when switched on, with its legend
    label = page.locator(".leaflet-control-layers-overlays label", has_text="Travel time to the nearest health station")
    assert label.count() == 1 and not label.locator("input").is_checked()
    assert page.locator("img.ntm-travel-image").count() == 0
    with page.expect_response(lambda r: "/map/travel-time.png" in r.url) as image:
        label.locator("input").check()
    assert image.value.ok and image.value.headers["content-type"] == "image/png"
    page.wait_for_selector("img.ntm-travel-image", timeout=5000)
    assert legend.locator(".ntm-travel .ntm-row").count() == 5 and "> 120 min" in legend.inner_text()
    assert _check_screenshot(page, tmp_path / "hotspot-travel.png") > 10
    label.locator("input").uncheck()
    assert legend.locator(".ntm-travel .ntm-row").count() == 0
    assert watched.errors == [] and watched.outside == []


def test_indicator_mode_and_switching_modes(store_path, serve, browser, tmp_path):  # noqa: F811
    base = serve(store_path)
    watched = Watched(browser)
    page = watched.open(f"{base}/map?year=2024&mode=indicator&indicator={INDICATOR}")
    assert page.locator("path.ntm-commune").count() == 120
    assert page.locator("#ntm-legend .ntm-row").count() >= 6
    assert _check_screenshot(page, tmp_path / "indicator.png") > 10
    # choosing the hot-spot mode reloads the page on criteria met (the indicator is cleared)
    with page.expect_navigation():
        page.select_option("select#ntm-mode", "hotspot")
    page.wait_for_selector(".folium-map[data-ready='1']", timeout=15000)
    assert "mode=hotspot" in page.url and "indicator=" not in page.url
    assert page.locator("path.ntm-commune").count() == 120
    assert page.locator("select#ntm-indicator").input_value() == ""
    assert _check_screenshot(page, tmp_path / "hotspot-criteria.png") > 10
    assert watched.errors == [] and watched.outside == []

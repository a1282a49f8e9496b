"""GET /communes/{code}: HTML page, 404 for unknown codes, 400 for bad parameters, cache per
revision, and one real-browser check (headless Chromium against a uvicorn subprocess)."""

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from layers.status import record_status
from layers.store import Store
from maps import commune_page

QD318 = "qd318-2022-xa-ntm"
ROOT = Path(__file__).resolve().parents[2]


def _app(path):
    app = create_app(Settings(store=path))
    return app


def _commune_with_villages(store: Store) -> str:
    with contextlib.closing(store.connect()) as conn:
        return conn.execute("SELECT c.code FROM communes c WHERE c.valid_to IS NULL AND EXISTS (SELECT 1 FROM "
                            "status_records r WHERE r.unit_code = c.code) AND (SELECT count(*) FROM villages v "
                            "WHERE v.parent_code = c.code) >= 5 ORDER BY c.code LIMIT 1").fetchone()[0]


@pytest.fixture(scope="module")
def client(laocai_store_path):
    """The real Lào Cai boundaries: cheap pages (no status, plans or targets yet)."""
    return TestClient(_app(laocai_store_path))


@pytest.fixture(scope="module")
def code(laocai_store_path):
    return Store(laocai_store_path).read_table("communes", "name = ?", ["Sín Chéng"])["code"].iloc[0]


def test_page_is_html_and_offline(client, code):
    page = client.get(f"/communes/{code}", params={"year": 2024})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'data-code="{code}" data-year="2024"' in page.text and "<h1>Xã Sín Chéng</h1>" in page.text
    assert not re.findall(r'(?:src|href)="(https?://[^"]+)"', page.text)
    for path in re.findall(r'(?:src|href)="(/static/vendor/[^"]+)"', page.text):
        assert client.get(path).status_code == 200, path
    english = client.get(f"/communes/{code}", params={"year": 2026, "lang": "en"}).text
    assert '<html lang="en">' in english and "Recognition history" in english and "Criteria met over the years" in english
    assert '1. Quy hoạch<div class="en">Planning</div>' in english  # Vietnamese names first, English beside
    assert "National criteria for new-rural communes, 2026-2030" in english
    assert f'href="/communes/{code}?year=2026">Tiếng Việt</a>' in english


def test_unknown_code_is_404_json_or_html(client, laocai_store_path):
    body = client.get("/communes/KHONG-CO").json()
    assert body["status"] == 404 and body["code"] == "NotFound" and "no commune with code 'KHONG-CO'" in body["description"]
    district = Store(laocai_store_path).read_table("districts", "name = ?", ["Si Ma Cai"])["code"].iloc[0]
    page = client.get(f"/communes/{district}", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Không tìm thấy xã" in page.text and f"/map?district={district}" in page.text


@pytest.mark.parametrize(("query", "parameter"), [({"lang": "fr"}, "lang"), ({"year": 1800}, "year"),
                                                  ({"year": "hai nghìn"}, "year")])
def test_bad_parameters_are_400_naming_them(client, code, query, parameter):
    response = client.get(f"/communes/{code}", params=query)
    assert response.status_code == 400 and response.json()["parameter"] == parameter


def test_cached_per_store_revision(laocai_store_path, code, tmp_path, monkeypatch):
    shutil.copy(laocai_store_path, tmp_path / "laocai.gpkg")
    store = Store(tmp_path / "laocai.gpkg")
    calls = []
    build = commune_page.commune_page_html
    monkeypatch.setattr(commune_page, "commune_page_html", lambda *a, **k: calls.append(k["year"]) or build(*a, **k))
    client = TestClient(_app(store.path))
    first = client.get(f"/communes/{code}", params={"year": 2024}).text
    assert client.get(f"/communes/{code}", params={"year": 2024}).text == first and calls == [2024]
    assert '<td class="tot sel">0/19' in first and "Xã chưa có số liệu đánh giá tiêu chí" in first
    record_status(store, [{"unit_code": code, "year": 2024, "set_id": QD318, "criterion": n, "met": n != 7}
                          for n in range(1, 20)], recorded_by="test")
    second = client.get(f"/communes/{code}", params={"year": 2024}).text
    assert calls == [2024, 2024] and '<td class="tot sel">18/19' in second
    assert "<tr><th>Tiêu chí đạt năm 2024</th><td>18/19</td></tr>" in second


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(demo_store_path, tmp_path):
    """uvicorn in a subprocess serving the demo store with the commune route mounted."""
    script = tmp_path / "serve.py"
    script.write_text(
        "import sys, uvicorn\n"
        "from api.app import create_app\nfrom api.settings import Settings\n"
        "app = create_app(Settings(store=sys.argv[1]))\n"
        "uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[2]), log_level='warning')\n")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(script), str(demo_store_path), str(port)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            break
        if proc.poll() is not None:
            pytest.fail(f"uvicorn exited: {proc.stdout.read().decode()}")
        time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def test_page_in_headless_chromium(server, demo_store_path, tmp_path, chromium_path):
    from playwright import sync_api
    from PIL import Image, ImageStat

    store = Store(demo_store_path)
    code = _commune_with_villages(store)
    n_villages = store.count("villages", "parent_code = ? AND valid_to IS NULL", [code])
    errors, outside = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:")) else outside.append(r.url))
            response = page.goto(f"{server}/communes/{code}?year=2024", wait_until="load", timeout=60000)
            assert response.status == 200
            page.wait_for_selector(".ntm-label")
            shapes = page.locator(".leaflet-overlay-pane path").count()
            labels = page.locator(".ntm-label").count()
            assert labels == n_villages and shapes >= n_villages + 1  # villages, outline, roads, facilities
            assert page.locator(".ntm-legend summary").count() == 1 and page.locator(".leaflet-control-layers").count() == 1
            assert page.locator(".leaflet-control-scale").count() == 1
            # facilities often sit at a village's centre, under its label: switch every overlay but the
            # villages off in the layer control, as a user would, then click the village under its label
            boxes = page.locator(".leaflet-control-layers-overlays label")
            for k in range(boxes.count()):
                box = boxes.nth(k)
                if "Thôn, bản" not in box.inner_text() and box.locator("input").is_checked():
                    box.locator("input").uncheck()
            box = page.locator(".ntm-label").first.bounding_box()
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # popup built on click
            popup = page.wait_for_selector(".leaflet-popup-content")
            assert "Số hộ" in popup.inner_text()
            shot = tmp_path / "commune.png"
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    assert errors == [] and outside == []
    image = Image.open(shot).convert("RGB")
    assert max(ImageStat.Stat(image).stddev) > 20 and len(image.getcolors(1 << 20) or []) > 50  # not blank

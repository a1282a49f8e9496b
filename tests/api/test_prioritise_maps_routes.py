"""Prioritisation map, figure and scenario over HTTP; one load of /prioritise in Chromium.

Most tests use the Si Ma Cai store with the hand-made plan of tests/_plan_fixture.py in
place of the optimiser (``layers.prioritise.prioritise``, called through the same cached
``routes_prioritise.plan_for_query`` as /analysis/prioritise), so the numbers are the
ones worked out in tests/maps/test_prioritise_page.py: 14 bn VND funds SMC-04, SMC-06
and part of SMC-08; in the 2025 scenario the average is 16.67 → 17.44 and SMC-04, SMC-06
reach the standard. One test runs the real ``layers.prioritise`` on the demo province.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from _plan_fixture import build_plan
from _progress_store import build_progress_store
from api import routes_prioritise_maps
from layers import prioritise as prioritise_mod
from api.app import create_app
from api.settings import Settings
from conftest import sha256

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
Q = {"year": 2024, "scope": "SMC", "budget": 14e9}


def _fake_plan(store, *, year, scope, budget_vnd, names=None, **_):
    return build_plan(store, year=year, scope_code=scope, budget_vnd=budget_vnd if budget_vnd is not None else 1e12,
                      names=names)


@pytest.fixture(scope="module")
def smc_path(tmp_path_factory) -> Path:
    return build_progress_store(tmp_path_factory.mktemp("prioritise-api") / "smc.gpkg")


@pytest.fixture(scope="module")
def client(smc_path):
    app = create_app(Settings(store=smc_path, offline=True))
    routes_prioritise_maps.include(app)
    with pytest.MonkeyPatch.context() as mp, TestClient(app) as c:
        mp.setattr(prioritise_mod, "prioritise", _fake_plan)
        yield c


def test_include_twice_mounts_once(smc_path):
    app = create_app(Settings(store=smc_path))
    routes_prioritise_maps.include(app)
    n = len(app.routes)
    routes_prioritise_maps.include(app)
    assert len(app.routes) == n and "/scenario" in app.openapi()["paths"]


def test_prioritise_page(client):
    r = client.get("/prioritise", params=Q)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<html lang="vi">' in r.text and "Đạt chuẩn nhờ kế hoạch" in r.text and "14,00 tỷ đồng" in r.text
    assert "/analysis/prioritise/figure.pdf?budget=14000000000.0&amp;scope=SMC&amp;year=2024&amp;lang=vi" in r.text
    assert "/scenario?budget=14000000000.0&amp;scope=SMC&amp;year=2024&amp;lang=vi" in r.text
    en = client.get("/prioritise", params=Q | {"lang": "en"})
    assert '<html lang="en">' in en.text and "VND 14.00 bn" in en.text


@pytest.mark.parametrize("fmt, media, magic", [("png", "image/png", b"\x89PNG"),
                                                ("pdf", "application/pdf", b"%PDF"),
                                                ("svg", "image/svg+xml", b"<?xml")])
def test_prioritise_figure(client, fmt, media, magic):
    r = client.get(f"/analysis/prioritise/figure.{fmt}", params=Q)
    assert r.status_code == 200 and r.headers["content-type"].startswith(media) and r.content.startswith(magic)
    assert f'filename="uu-tien-ntm-SMC-2024.{fmt}"' in r.headers["content-disposition"]


def test_scenario_json_and_the_store_untouched(client, smc_path):
    before = sha256(smc_path)
    r = client.get("/analysis/scenario", params=Q)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = r.json()
    assert doc["scenario"] is True and doc["label_en"] == "SCENARIO — not an assessment"
    assert (doc["base_year"], doc["target_year"], doc["targets_year"]) == (2024, 2025, 2025)
    assert doc["source"].startswith("scenario: P2024-SMC-optimal-communes-")
    head = {h["key"]: h for h in doc["headline"]}
    avg = head["avg_criteria_per_commune"]
    assert (avg["before"], avg["without"], avg["after"], avg["target"], avg["met_after"]) == \
        (16.67, 16.67, 17.44, 17.3, True)
    assert head["communes_dat_chuan"]["after"] == 6 and head["communes_dat_chuan"]["change"] == 1
    assert [c["unit_code"] for c in doc["communes_reaching"]] == ["SMC-04", "SMC-06"]
    assert doc["n_funded"] == 7
    assert sha256(smc_path) == before


def test_scenario_page_and_figure(client):
    r = client.get("/scenario", params=Q | {"to_year": 2025})
    assert r.status_code == 200 and "KỊCH BẢN — không phải kết quả đánh giá" in r.text
    assert "16,67 → 17,44" in r.text
    assert "/prioritise?budget=14000000000.0&amp;scope=SMC&amp;year=2024&amp;lang=vi" in r.text
    fig = client.get("/analysis/scenario/figure.png", params=Q)
    assert fig.status_code == 200 and fig.content.startswith(b"\x89PNG")


@pytest.mark.parametrize(("url", "params", "parameter", "text"), [
    ("/prioritise", {"budget_source": "central_investment=abc"}, "budget_source", "amount of VND"),
    ("/prioritise", {"budget_source": "community:1e9,community:2e9"}, "budget_source", "more than once"),
    ("/prioritise", {"budget": -5}, "budget", "must be an amount of VND ≥ 0"),
    ("/prioritise", {"objective": "votes"}, "objective", "communes"),
    ("/prioritise", {"method": "magic"}, "method", "optimal"),
    ("/prioritise", {"scope": "NOPE"}, "scope", "'scope' must be"),
    ("/prioritise", {"lang": "fr"}, "lang", "vi"),
    ("/prioritise", {"yaer": 2024}, "yaer", "unknown parameter 'yaer'"),
    ("/analysis/scenario", {"to_year": 2024}, "to_year", "after the plan's year 2024"),
    ("/scenario", {"to_year": 1990}, "to_year", "greater than or equal to 2000"),
    ("/analysis/prioritise/figure.gif", {}, "format", "png, pdf, svg"),
])
def test_bad_parameters_are_400_naming_them(client, url, params, parameter, text):
    r = client.get(url, params={**Q, **params})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["parameter"] == parameter and text in body["description"], body


def test_real_plan_on_the_demo_province(demo_store_path):
    app = create_app(Settings(store=demo_store_path))
    routes_prioritise_maps.include(app)
    with TestClient(app) as c:
        doc = c.get("/analysis/scenario", params={"year": 2024, "budget": 1e11}).json()
        page = c.get("/prioritise", params={"year": 2024, "budget": 1e11})
    assert doc["base_year"] == 2024 and doc["scope"]["code"] == "D01"
    head = {h["key"]: h for h in doc["headline"]}
    assert head["total_criteria"]["change"] == sum(c["n_funded"] for c in doc["communes"]
                                                   if c["n_funded"])  # every funded gap was unmet
    assert len(doc["communes_reaching"]) >= 1
    assert page.status_code == 200 and "Đạt chuẩn nhờ kế hoạch" in page.text


# --- one real browser load ---------------------------------------------------------------

SERVE = """
import sys, uvicorn
sys.path.insert(0, sys.argv[3])
from _plan_fixture import build_plan
from api.app import create_app
from api.settings import Settings
import layers.prioritise as P
P.prioritise = lambda store, **kw: build_plan(store, year=kw["year"], scope_code=kw["scope"],
                                             budget_vnd=kw["budget_vnd"], names={"SMC-06": sys.argv[4]})
app = create_app(Settings(store=sys.argv[1], offline=True))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def test_prioritise_page_in_chromium(smc_path, tmp_path, chromium_path):
    from playwright import sync_api as playwright
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(smc_path), str(port), str(ROOT / "tests"), HOSTILE],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/health", timeout=1)
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()
                time.sleep(0.1)
        errors, outside = [], []
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            def route(r):
                if r.request.url.startswith(base) or r.request.url.startswith("data:"):
                    r.continue_()
                else:
                    outside.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto(f"{base}/prioritise?year=2024&scope=SMC&budget=14000000000", wait_until="load")
            page.wait_for_selector("path.leaflet-interactive")
            assert page.locator("path.leaflet-interactive").count() == 11  # 10 communes + the district outline
            assert page.locator(".legend .count").first.inner_text() == "4"  # already at the standard
            target = page.locator("path.leaflet-interactive").nth(6)  # SMC-06, drawn in code order
            target.hover()
            page.wait_for_selector(".leaflet-tooltip")
            assert HOSTILE in page.locator(".leaflet-tooltip").last.inner_text()
            assert page.evaluate("window.__pwned") is None and page.locator("img[src='x']").count() == 0
            page.screenshot(path=str(tmp_path / "prioritise.png"))
            browser.close()
        assert errors == [] and outside == []
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def test_cli_scenario(smc_path, tmp_path, monkeypatch):
    import click
    from click.testing import CliRunner

    from api import cli_scenario
    from layers import prioritise

    calls = []

    def fake(store, **kw):
        calls.append(kw)
        return build_plan(store, year=kw["year"], scope_code=kw["scope"], budget_vnd=kw["budget_vnd"])

    monkeypatch.setattr(prioritise, "prioritise", fake)
    group = click.Group()
    cli_scenario.register(group)
    before = sha256(smc_path)
    out = CliRunner().invoke(group, ["scenario", "--scope", "SMC", "--year", "2024", "--budget", "14 tỷ",
                                     "--budget-source", "community=2tỷ", "--figure", str(tmp_path / "s.pdf"),
                                     "--html", str(tmp_path / "s.html")], env={"NTM_STORE": str(smc_path)})
    assert out.exit_code == 0, out.output
    assert calls[0]["budget_vnd"] == 14e9 and calls[0]["budgets_by_source"] == {"community": 2e9}
    assert "KỊCH BẢN — không phải kết quả đánh giá" in out.output and "17,44" in out.output
    assert "SMC-06" in out.output and "Đã ghi" in out.output
    assert (tmp_path / "s.pdf").read_bytes().startswith(b"%PDF")
    page = (tmp_path / "s.html").read_text(encoding="utf-8")
    assert "/static/vendor/" not in page and "L.geoJson" in page  # Leaflet inline: the file works alone
    assert sha256(smc_path) == before
    bad = CliRunner().invoke(group, ["scenario", "--budget", "lots"], env={"NTM_STORE": str(smc_path)})
    assert bad.exit_code != 0 and "--budget" in bad.output

"""Progress over HTTP: JSON, workbook, page, figure; bad parameters are 400s naming them."""

from __future__ import annotations

import io

import openpyxl
import pytest
from fastapi.testclient import TestClient

from _progress_store import build_progress_store
from api import routes_progress
from api.app import create_app
from api.settings import Settings


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    path = build_progress_store(tmp_path_factory.mktemp("progress-api") / "smc.gpkg")
    app = create_app(Settings(store=path))
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def demo_client(demo_store_path):
    app = create_app(Settings(store=demo_store_path))
    with TestClient(app) as c:
        yield c


def test_json_reproduces_the_seed(client):
    r = client.get("/analysis/progress", params={"scope": "SMC", "year": 2024})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = r.json()
    assert doc["scope"] == {"code": "SMC", "name": "Huyện Si Ma Cai", "level": "district"}
    assert (doc["year"], doc["set_id"], doc["threshold"], doc["target_year"]) == (2024, "qd318-2022-xa-ntm", 15, 2024)
    s = doc["summary"]
    assert (s["n_communes"], s["total_criteria"], s["average"], s["n_wards_excluded"]) == (9, 150, 16.67, 1)
    assert [c["unit_code"] for c in doc["at_risk"]] == ["SMC-04"]
    assert doc["at_risk"][0]["failing"] == [17]
    head = {h["key"]: h for h in doc["headline"]}
    assert head["avg_criteria_per_commune"]["met"] is True and head["n_communes"]["target"] is None
    assert [t["avg_criteria_per_commune"] for t in doc["trend"]] == [13.56, 15.11, 16.67]
    assert doc["projection"]["rows"] == [] and "No projection" in doc["projection"]["method"]
    assert len(doc["communes"]) == 9 and len(doc["criteria"]) == 19


def test_json_with_a_target_year_projects(client):
    doc = client.get("/analysis/progress", params={"scope": "Huyện Si Ma Cai", "year": 2024, "target_year": 2025}).json()
    assert doc["scope"]["code"] == "SMC"  # a name works too
    rows = {r["metric"]: r for r in doc["projection"]["rows"]}
    assert rows["avg_criteria_per_commune"]["projected"] == 18.22 and rows["avg_criteria_per_commune"]["on_track"]
    assert "2022–2024" in doc["projection"]["method"]


def test_default_scope_is_the_only_province(client):
    doc = client.get("/analysis/progress", params={"year": 2024}).json()
    assert doc["scope"]["code"] == "LCA" and doc["summary"]["n_communes"] == 10


@pytest.mark.parametrize(("params", "parameter", "text"), [
    ({"scope": "NOPE"}, "scope", "'scope' must be a province, district or commune code or name"),
    ({"scope": "SMC", "year": "abc"}, "year", "valid integer"),
    ({"scope": "SMC", "year": 1990}, "year", "greater than or equal to 2000"),
    ({"scope": "SMC", "year": 2024, "threshold": 25}, "threshold", "from 1 to 19"),
    ({"scope": "SMC", "year": 2024, "set": "qd999"}, "set", "unknown criteria set 'qd999'"),
    ({"scope": "SMC", "year": 2024, "trend_years": 0}, "trend_years", "from 2 to 10"),
    ({"scope": "SMC", "year": 2024, "target_year": 2023}, "target_year", "from 2024 to 2100"),
    ({"scope": "SMC", "yaer": 2024}, "yaer", "unknown parameter 'yaer'"),
])
def test_bad_parameters_are_400_naming_them(client, params, parameter, text):
    for url in ("/analysis/progress", "/analysis/progress.xlsx", "/progress", "/analysis/progress/figure.png"):
        r = client.get(url, params=params)
        assert r.status_code == 400, (url, r.text)
        body = r.json()
        assert body["parameter"] == parameter and text in body["description"], (url, body)


def test_unknown_figure_format(client):
    r = client.get("/analysis/progress/figure.gif", params={"scope": "SMC"})
    assert r.status_code == 400 and r.json()["parameter"] == "format"


def test_workbook_download(client):
    r = client.get("/analysis/progress.xlsx", params={"scope": "SMC", "year": 2024})
    assert r.status_code == 200
    assert r.headers["content-type"] == routes_progress.XLSX
    assert 'filename="tien-do-ntm-SMC-2024.xlsx"' in r.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames[:2] == ["Biểu 01 – kết quả theo xã", "Biểu 02 – theo tiêu chí"]


def test_page_in_both_languages(client):
    r = client.get("/progress", params={"scope": "SMC", "year": 2024})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<html lang="vi">' in r.text and "16,67" in r.text
    assert "/analysis/progress.xlsx?scope=SMC&amp;year=2024" in r.text
    assert "/analysis/progress/figure.svg?scope=SMC&amp;year=2024&amp;lang=vi" in r.text
    assert "/progress?scope=SMC&amp;year=2024&amp;lang=en" in r.text
    en = client.get("/progress", params={"scope": "SMC", "year": 2024, "lang": "en"})
    assert '<html lang="en">' in en.text and "16.67" in en.text
    assert client.get("/progress", params={"scope": "SMC", "lang": "fr"}).json()["parameter"] == "lang"


@pytest.mark.parametrize("fmt, media, magic", [("png", "image/png", b"\x89PNG"),
                                                ("pdf", "application/pdf", b"%PDF"),
                                                ("svg", "image/svg+xml", b"<?xml")])
def test_figure(client, fmt, media, magic):
    r = client.get(f"/analysis/progress/figure.{fmt}", params={"scope": "SMC", "year": 2024})
    assert r.status_code == 200 and r.headers["content-type"].startswith(media) and r.content.startswith(magic)


def test_demo_province_defaults(demo_client):
    r = demo_client.get("/analysis/progress", params={"year": 2024})
    assert r.status_code == 200
    doc = r.json()
    assert doc["scope"]["code"] == "D01" and doc["target_year"] == 2025
    assert doc["summary"]["n_wards_excluded"] > 0
    assert len(doc["projection"]["rows"]) == 8

"""The web app on a real store: the overview map page, offline, escaped, cached per revision."""

import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from layers.boundaries import import_boundaries
from layers.schema import SCHEMA_VERSION
from layers.status import record_status
from layers.store import Store


@pytest.fixture
def store(tmp_path, grid):
    gdf = grid(2, 1)
    gdf.loc[1, "ten_xa"] = "Xã <script>alert(1)</script>"
    gdf["ten_huyen"], gdf["ma_tinh"], gdf["ten_tinh"] = "Huyện Thử", "10", "Lào Cai"
    gdf.to_file(tmp_path / "xa.gpkg")
    s = Store(tmp_path / "s.gpkg", create=True)
    import_boundaries(s, tmp_path / "xa.gpkg", level="commune", build_parents=True)
    return s


@pytest.fixture
def client(store):
    return TestClient(create_app(Settings(store=store.path)))


def test_overview_loads_nothing_from_the_internet(client):
    page = client.get("/map")
    assert page.status_code == 200
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', page.text)
    assert external == []
    for path in re.findall(r'(?:src|href)="(/static/vendor/[^"]+)"', page.text):
        assert client.get(path).status_code == 200, path


def test_names_from_user_data_are_escaped(client):
    page = client.get("/map").text
    assert "<script>alert(1)</script>" not in page
    assert "\\u0026lt;script\\u0026gt;alert(1)" in page  # HTML-escaped inside the GeoJSON


def test_page_follows_the_store_revision(client, store):
    assert "Chưa có số liệu tiêu chí" in client.get("/map").text
    rows = [{"unit_code": "C000", "year": 2024, "set_id": "qd318-2022-xa-ntm", "criterion": n, "met": n <= 17}
            for n in range(1, 20)]
    record_status(store, rows, recorded_by="test")
    page = client.get("/map").text
    assert "Số tiêu chí đạt năm 2024" in page and "17/19" in page
    assert "15–18 <b>(1)</b>" in page


def test_health(client, store):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["schema_version"] == SCHEMA_VERSION and body["assets_missing"] == []
    assert body["revision"] == store.revision

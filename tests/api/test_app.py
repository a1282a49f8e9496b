"""The web app on a real store: health and the routes it mounts (map pages: tests/maps/test_web.py)."""

import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from layers.boundaries import import_boundaries
from layers.schema import SCHEMA_VERSION
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


def test_health(client, store):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["schema_version"] == SCHEMA_VERSION and body["assets_missing"] == []
    assert body["revision"] == store.revision


def test_every_route_family_is_mounted(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/", "/conformance", "/collections/{collectionId}/items", "/map", "/communes/{code}",
                 "/maps/figure.{fmt}", "/communes/{code}/history", "/uploads/status", "/query/nearest",
                 "/analysis/progress", "/analysis/indicators"):
        assert path in paths, path
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    assert "cdn" not in docs.text and "https://" not in docs.text  # Swagger UI served by us, offline
    for asset in re.findall(r'(?:src|href)="(/static/vendor/[^"]+)"', docs.text):
        assert client.get(asset).status_code == 200, asset


def test_reads_can_require_a_key(store):
    private = TestClient(create_app(Settings(store=store.path, public_reads=False)))
    for path in ("/collections/communes/items", "/map", "/analysis/progress", "/query/failing-criteria?year=2024&criteria=1"):
        answer = private.get(path)
        assert answer.status_code == 401, path
        assert "API key" in answer.json()["description"]
    assert private.get("/health").status_code == 200

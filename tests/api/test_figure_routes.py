"""GET /maps/figure.{png,pdf,svg}: media types, file names, the revision cache, and 400s
that name the parameter at fault."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api.app import create_app
from api.settings import Settings
from layers.status import record_status
from maps import figures

SMALL = {"district": "Si Ma Cai", "dpi": 50, "year": 2024}


@pytest.fixture(scope="module")
def client(laocai_store_path):
    app = create_app(Settings(store=laocai_store_path))
    return TestClient(app)


@pytest.fixture
def counted(monkeypatch):
    """How many figures were actually drawn."""
    calls = []
    real = figures.commune_figure

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(figures, "commune_figure", spy)
    return calls


@pytest.mark.parametrize("fmt, media, magic", [("png", "image/png", b"\x89PNG"), ("pdf", "application/pdf", b"%PDF"),
                                               ("svg", "image/svg+xml", b"<?xml")])
def test_each_format_with_its_media_type_and_file_name(client, fmt, media, magic):
    r = client.get(f"/maps/figure.{fmt}", params=SMALL)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(media)
    assert r.content.startswith(magic)
    assert r.headers["content-disposition"] == f'inline; filename="ntm-count-2024-si-ma-cai.{fmt}"'
    if fmt == "png":
        assert Image.open(io.BytesIO(r.content)).size == (int(297 / 25.4 * 50), int(210 / 25.4 * 50))
    if fmt == "svg":
        texts = ["".join(t.itertext()) for t in ET.fromstring(r.content).iter("{http://www.w3.org/2000/svg}text")]
        assert "Thào Chư Phìn" in texts


def test_parameters_reach_the_figure(client):
    r = client.get("/maps/figure.svg", params={"province": "Lào Cai", "mode": "criterion", "criterion": 4,
                                                "paper": "A4-portrait", "lang": "en", "source": "Sở NN&PTNT",
                                                "year": 2024, "set": "qd318-2022-xa-ntm"})
    assert r.status_code == 200, r.text
    assert 'filename="ntm-criterion-tc4-2024-lao-cai.svg"' in r.headers["content-disposition"]
    svg = r.text
    assert re.search(r'width="595\.\d+pt" height="841\.\d+pt"', svg)  # A4 portrait
    assert "Criterion 4. Electricity: results 2024" in svg
    assert "Source: Sở NN&amp;PTNT" in svg


def test_served_from_cache_until_the_store_changes(laocai_store_path, tmp_path, counted):
    import shutil

    path = tmp_path / "s.gpkg"
    shutil.copy(laocai_store_path, path)
    app = create_app(Settings(store=path))
    client = TestClient(app)
    first = client.get("/maps/figure.png", params=SMALL)
    second = client.get("/maps/figure.png", params=SMALL)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content and len(counted) == 1
    client.get("/maps/figure.png", params=SMALL | {"dpi": 60})
    assert len(counted) == 2  # other parameters, other figure
    code = figures.resolve_scope(app.state.store, "Thào Chư Phìn", level="commune")
    rows = [{"unit_code": code, "year": 2024, "set_id": "qd318-2022-xa-ntm", "criterion": n, "met": True}
            for n in range(1, 20)]
    record_status(app.state.store, rows, recorded_by="test")
    third = client.get("/maps/figure.png", params=SMALL)
    assert len(counted) == 3 and third.content != first.content


@pytest.mark.parametrize("query, parameter", [
    ({"mode": "colour"}, "mode"),
    ({"paper": "A5"}, "paper"),
    ({"dpi": 5}, "dpi"),
    ({"dpi": "many"}, "dpi"),
    ({"year": 1800}, "year"),
    ({"lang": "fr"}, "lang"),
    ({"set": "qd999"}, "set"),
    ({"mode": "criterion"}, "criterion"),
    ({"mode": "criterion", "criterion": 42}, "criterion"),
    ({"district": "Nowhere"}, "district"),
    ({"scope": "Lào Cai"}, "scope"),  # a province, a city and a ward share the name
    ({"province": "205", "district": "Si Ma Cai"}, "province"),
])
def test_bad_values_are_400_naming_the_parameter(client, query, parameter):
    r = client.get("/maps/figure.png", params={"dpi": 50} | query)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["parameter"] == parameter and body["code"] == "InvalidParameterValue"
    assert parameter in body["description"]


def test_unknown_format_is_404(client):
    r = client.get("/maps/figure.gif")
    assert r.status_code == 404 and "figure.png" in r.json()["description"]

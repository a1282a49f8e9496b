"""Prioritisation over HTTP: the plan as JSON and GeoJSON, the workbook, the cost model;
bad parameters are 400s naming the parameter."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers"))
from _prioritise_store import ROAD_KM, build_prioritise_store, tiny_cost_model  # noqa: E402

from api import routes_prioritise  # noqa: E402
from api.app import create_app  # noqa: E402
from api.settings import Settings  # noqa: E402


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    path = build_prioritise_store(tmp_path_factory.mktemp("prioritise-api") / "tiny.gpkg")
    app = create_app(Settings(store=path))
    app.state.cost_model = tiny_cost_model()
    routes_prioritise.include(app)
    routes_prioritise.include(app)  # a second call changes nothing
    with TestClient(app) as c:
        yield c


def get(client, path="/analysis/prioritise", **params):
    return client.get(path, params={"year": 2025, "weights": "population=1", **params})


def test_json_plan_beats_greedy(client):
    r = get(client, budget="10 tỷ")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = r.json()
    assert (doc["scope"], doc["set_id"], doc["objective"], doc["cost_model_version"]) == \
        ("PRV", "qd318-2022-xa-ntm", "communes", "test-1")
    s = doc["summary"]
    assert (s["communes_reaching"], s["greedy"]["communes_reaching"], s["spent_vnd"]) == (2, 1, 10e9)
    assert s["next_step"]["extra_vnd"] == 6e9 and s["next_step"]["units"] == ["X-01"]
    assert sorted(g["unit_code"] for g in doc["gaps"]) == ["X-02", "X-03"]  # funded gaps only by default
    assert doc["weights"]["population"] == 1.0
    communes = {c["unit_code"]: c for c in doc["communes"]}
    assert communes["X-05"]["rank"] is None and communes["X-05"]["already_standard"]
    assert communes["X-04"]["cost_to_standard_vnd"] is None


def test_all_gaps_and_budget_per_source(client):
    doc = get(client, budget_source=["integrated:10e9"], gaps="all").json()
    assert doc["summary"]["communes_reaching"] == 1 and len(doc["gaps"]) == 5
    income = [g for g in doc["gaps"] if g["criterion"] == 10][0]
    assert income["closable"] is False and income["cost_vnd"] is None and income["blocker"].startswith("Thu nhập")
    road = [g for g in doc["gaps"] if g["criterion"] == 2][0]
    assert road["funded"] and road["vnd_integrated"] == pytest.approx(ROAD_KM * 3.5e9, rel=2e-3)
    same = get(client, budget_source="integrated=10 tỷ", gaps="all").json()
    assert same["summary"]["communes_reaching"] == 1


def test_geojson_communes_with_plan_columns(client):
    r = get(client, budget="10e9", f="geojson")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    doc = r.json()
    assert doc["type"] == "FeatureCollection" and doc["plan"]["summary"]["communes_reaching"] == 2
    props = {f["properties"]["unit_code"]: f["properties"] for f in doc["features"]}
    assert set(props) == {"X-01", "X-02", "X-03", "X-04", "X-05"}
    assert props["X-02"]["newly_reaching"] and not props["X-01"]["newly_reaching"]
    assert doc["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_workbook(client):
    r = get(client, "/analysis/prioritise.xlsx", budget="10e9")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["Tóm tắt", "Xã – xếp hạng", "Tiêu chí – chi phí", "Nguồn vốn", "Mô hình chi phí"]
    rows = {row[0]: row for row in wb["Tóm tắt"].iter_rows(values_only=True) if row[0]}
    assert rows["Số xã đạt chuẩn nhờ kế hoạch"][1:3] == (2, 1)
    assert rows["Tổng vốn (triệu đồng)"][1] == 10000


def test_cost_model_route(client):
    doc = client.get("/analysis/cost-model").json()
    assert doc["version"] == "test-1" and doc["currency"] == "VND"
    assert doc["components"]["planning_package"]["unit_cost_vnd"] == 6e9
    assert "10" in doc["sets"]["qd318-2022-xa-ntm"]["not_closable"]


@pytest.mark.parametrize("params, parameter", [
    ({"budget": "nhiều tiền"}, "budget"), ({"budget": "-5"}, "budget"),
    ({"budget_source": "bank:1e9"}, "budget_source"), ({"budget_source": "integrated"}, "budget_source"),
    ({"budget_source": ["integrated:1", "integrated:2"]}, "budget_source"),
    ({"objective": "votes"}, "objective"), ({"method": "random"}, "method"),
    ({"weights": "beauty=1"}, "weights"), ({"scope": "Không Có"}, "scope"),
    ({"set": "qd318-2022-xa-ntm-nang-cao"}, "set"), ({"year": 1900}, "year"), ({"f": "csv"}, "f"),
    ({"colour": "red"}, "colour"), ({"budget": ["1e9", "2e9"]}, "budget"),
])
def test_bad_parameters_are_400(client, params, parameter):
    r = get(client, **params)
    assert r.status_code == 400, r.text
    assert r.json()["parameter"] == parameter


def test_demo_province(demo_store_path):
    app = create_app(Settings(store=demo_store_path))
    routes_prioritise.include(app)
    with TestClient(app) as c:
        doc = c.get("/analysis/prioritise", params={"year": 2025, "budget": "120 tỷ"}).json()
        s = doc["summary"]
        assert s["status"] == "Optimal" and s["communes_reaching"] >= s["greedy"]["communes_reaching"] >= 1
        assert s["spent_vnd"] <= 120e9 and doc["scope"] == "D01"
        assert c.get("/analysis/cost-model").json()["status"] == "illustrative"

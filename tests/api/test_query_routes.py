"""``/query/…`` on the demo store: every endpoint as JSON and GeoJSON, and every error path.

The answers themselves are checked in tests/layers/test_queries.py on hand-built data;
here each route must return what ``layers.queries`` returns for the same parameters.
"""

from __future__ import annotations

import json

import pytest
import shapely
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from layers import queries, status
from layers.store import Store

GEOJSON = "application/geo+json"
LINE = {"type": "LineString", "coordinates": [[104.40, 22.30], [104.60, 22.35]]}


def _client(path) -> TestClient:
    app = create_app(Settings(store=path))
    return TestClient(app)


@pytest.fixture(scope="module")
def client(demo_store_path):
    return _client(demo_store_path)


@pytest.fixture(scope="module")
def store(demo_store_path):
    return Store(demo_store_path)


def _ok(client, url, **kw):
    r = client.get(url, **kw)
    assert r.status_code == 200, (url, r.status_code, r.text[:500])
    return r


def _bad(r, parameter, status_code=400, match=None):
    assert r.status_code == status_code, (r.status_code, r.text[:300])
    body = r.json()
    assert body["status"] == status_code and body["description"]
    if parameter is not None:
        assert body.get("parameter") == parameter, body
    if match is not None:
        assert match in body["description"], body
    return body


def _geojson(r, n=None):
    assert r.headers["content-type"].startswith(GEOJSON)
    doc = r.json()
    assert doc["type"] == "FeatureCollection" and doc["numberReturned"] == len(doc["features"])
    if n is not None:
        assert len(doc["features"]) == n
    for feat in doc["features"][:20]:
        geom = shapely.geometry.shape(feat["geometry"])
        x0, y0, x1, y1 = geom.bounds
        assert 100 < x0 <= x1 < 112 and 8 < y0 <= y1 < 24  # lon/lat, CRS84 order
    return doc


# --- far-from-facility -----------------------------------------------------------------------


def test_far_json_matches_layers(client, store):
    r = _ok(client, "/query/far-from-facility?facility=schools&distance_km=3&year=2024")
    assert r.headers["content-type"].startswith("application/json")
    doc = r.json()
    expected = queries.far_from_facility(store, "schools", 3, year=2024)
    assert doc["numberReturned"] == len(expected) > 0
    assert [i["unit_code"] for i in doc["items"]] == expected["unit_code"].tolist()
    assert [i["distance_m"] for i in doc["items"]] == pytest.approx(expected["distance_m"].round(1).tolist())
    first = doc["items"][0]
    assert first["distance_m"] > 3000 and first["status"] == "ok" and first["epsg"] == doc["query"]["epsg"] == 9207
    assert len(first["point"]) == 2
    assert doc["query"]["facility"] == "schools" and doc["query"]["year"] == 2024


def test_far_geojson_by_f_and_by_accept(client):
    url = "/query/far-from-facility?facility=health_stations&distance_km=4&mode=network&year=2024"
    by_f = _geojson(_ok(client, url + "&f=geojson"))
    by_accept = _geojson(_ok(client, url, headers={"Accept": GEOJSON}))
    assert by_f["features"] == by_accept["features"] and by_f["numberReturned"] > 0
    props = by_f["features"][0]["properties"]
    assert {"network_m", "connector_m", "straight_m", "status", "facility_fid"} <= set(props)
    assert all(f["properties"]["network_m"] is None or f["properties"]["network_m"] > 4000 for f in by_f["features"])
    # JSON wins when the client prefers it
    r = _ok(client, url, headers={"Accept": f"application/json, {GEOJSON};q=0.5"})
    assert r.headers["content-type"].startswith("application/json")


def test_far_filter_and_commune_level(client, store):
    doc = _ok(client, "/query/far-from-facility?facility=schools&distance_km=2&year=2024"
                      "&filter=school_level:thcs&level=commune").json()
    expected = queries.far_from_facility(store, "schools", 2, year=2024, level="commune",
                                         filters={"school_level": "thcs"})
    assert [i["unit_code"] for i in doc["items"]] == expected["unit_code"].tolist()
    assert doc["query"]["filter"] == {"school_level": "thcs"}


@pytest.mark.parametrize("query, parameter, match", [
    ("facility=school&distance_km=1", "facility", "facility types: schools, health_stations"),
    ("facility=roads&distance_km=1", "facility", "power_lines"),
    ("facility=schools&distance_km=-1", "distance_km", None),
    ("facility=schools&distance_km=abc", "distance_km", None),
    ("facility=schools&distance_km=inf", "distance_km", None),
    ("facility=schools", "distance_km", None),
    ("facility=schools&distance_km=1&mode=air", "mode", None),
    ("facility=schools&distance_km=1&level=district", "level", None),
    ("facility=schools&distance_km=1&filter=thcs", "filter", "field:value"),
    ("facility=schools&distance_km=1&filter=level:thcs", "filter", "no field 'level'"),
    ("facility=schools&distance_km=1&filter=school_level:university", "filter", "not a known"),
    ("facility=schools&distance_km=1&scope=NOPE", "scope", "'NOPE' is not a unit"),
    ("facility=schools&distance_km=1&year=1800", "year", None),
    ("facility=schools&distance_km=1&f=xml", "f", None),
])
def test_far_errors(client, query, parameter, match):
    _bad(client.get(f"/query/far-from-facility?{query}"), parameter, match=match)


# --- near-geometry -----------------------------------------------------------------------------


def test_near_get_and_post(client, store):
    expected = queries.communes_near_geometry(store, LINE, 1.0)
    r = _ok(client, "/query/near-geometry", params={"geometry": json.dumps(LINE), "distance_km": 1})
    doc = r.json()
    assert [i["code"] for i in doc["items"]] == expected["code"].tolist() and len(expected) > 1
    assert doc["items"][0]["distance_m"] == 0 and doc["items"][0]["intersects"] is True
    assert doc["items"][0]["line_km_inside"] > 0
    posted = client.post("/query/near-geometry?distance_km=1", json={"type": "Feature", "properties": {},
                                                                      "geometry": LINE})
    assert posted.status_code == 200 and posted.json()["items"] == doc["items"]
    gj = _geojson(client.post("/query/near-geometry?distance_km=1&f=geojson", json=LINE), n=len(expected))
    assert [f["id"] for f in gj["features"]] == expected["code"].tolist()
    touching = _ok(client, "/query/near-geometry", params={"geometry": json.dumps(LINE)}).json()
    assert all(i["intersects"] for i in touching["items"]) and touching["numberReturned"] < len(expected)


@pytest.mark.parametrize("geometry, match", [
    ("{oops", "not valid JSON"),
    (json.dumps({"type": "Point", "coordinates": [500000, 2400000]}), "longitude, latitude"),
    (json.dumps({"type": "Sphere"}), "geometry types"),
])
def test_near_errors(client, geometry, match):
    _bad(client.get("/query/near-geometry", params={"geometry": geometry}), "geometry", match=match)
    if geometry.startswith("{\""):
        _bad(client.post("/query/near-geometry", content=geometry,
                         headers={"Content-Type": "application/json"}), "geometry", match=match)


def test_near_other_errors(client):
    _bad(client.get("/query/near-geometry"), "geometry")
    _bad(client.get("/query/near-geometry", params={"geometry": json.dumps(LINE), "distance_km": -2}),
         "distance_km")
    _bad(client.get("/query/near-geometry", params={"geometry": json.dumps(LINE), "scope": "NOPE"}), "scope")
    r = client.post("/query/near-geometry", json=[1, 2, 3])
    _bad(r, None, status_code=422)


# --- nearest -----------------------------------------------------------------------------------


def test_nearest_json_geojson_network(client, store):
    expected = queries.nearest_facilities(store, "schools", 104.45, 22.3, 4)
    doc = _ok(client, "/query/nearest?facility=schools&lon=104.45&lat=22.3&n=4").json()
    assert [i["fid"] for i in doc["items"]] == expected["fid"].tolist()
    assert [i["rank"] for i in doc["items"]] == [1, 2, 3, 4]
    assert doc["items"][0]["straight_m"] == pytest.approx(round(expected["straight_m"].iloc[0], 1))
    gj = _geojson(_ok(client, "/query/nearest?facility=schools&lon=104.45&lat=22.3&n=4&f=geojson"), n=4)
    assert [f["id"] for f in gj["features"]] == expected["fid"].tolist()
    assert gj["features"][0]["geometry"]["type"] == "Point"
    road = _ok(client, "/query/nearest?facility=health_stations&lon=104.45&lat=22.3&n=2&mode=network").json()
    dists = [i["network_m"] for i in road["items"]]
    assert dists == sorted(dists) and all(d >= i["straight_m"] for d, i in zip(dists, road["items"]))
    lines = _geojson(_ok(client, "/query/nearest?facility=power_lines&lon=104.45&lat=22.3&n=1&f=geojson"), n=1)
    assert lines["features"][0]["geometry"]["type"] == "LineString"
    limited = _ok(client, "/query/nearest?facility=schools&lon=104.45&lat=22.3&n=50&max_distance_km=1").json()
    assert all(i["straight_m"] <= 1000 for i in limited["items"])


@pytest.mark.parametrize("query, parameter, match", [
    ("facility=clinic&lon=104.45&lat=22.3", "facility", "facility types"),
    ("facility=schools&lon=504500&lat=22.3", "lon", None),
    ("facility=schools&lat=22.3", "lon", None),
    ("facility=schools&lon=104.45&lat=22.3&n=0", "n", None),
    ("facility=schools&lon=104.45&lat=22.3&n=5000", "n", None),
    ("facility=schools&lon=104.45&lat=22.3&max_distance_km=0", "max_distance_km", None),
    ("facility=schools&lon=104.45&lat=22.3&filter=pupils:many", "filter", "a number"),
    ("facility=schools&lon=100.5&lat=9.0&mode=network", "mode", "farther than 500 m from every road"),
])
def test_nearest_errors(client, query, parameter, match):
    _bad(client.get(f"/query/nearest?{query}"), parameter, match=match)


# --- criteria ----------------------------------------------------------------------------------


def test_failing_criteria(client, store):
    expected = queries.communes_failing(store, 2024, [2, 5])
    doc = _ok(client, "/query/failing-criteria?year=2024&criteria=2,5").json()
    assert [i["unit_code"] for i in doc["items"]] == expected["unit_code"].tolist() and len(expected) > 0
    assert doc["query"]["set"] == "qd318-2022-xa-ntm" and doc["query"]["criteria"] == [2, 5]
    assert all(set(i["failing"]) <= {2, 5} and i["failing"] for i in doc["items"])
    repeated = _ok(client, "/query/failing-criteria?year=2024&criteria=2&criteria=5").json()
    assert repeated["items"] == doc["items"]
    every = _ok(client, "/query/failing-criteria?year=2024&criteria=2,5&match=all&f=geojson")
    gj = _geojson(every)
    assert all(f["properties"]["failing"] == [2, 5] for f in gj["features"])
    assert gj["numberReturned"] == len(queries.communes_failing(store, 2024, [2, 5], match="all"))


@pytest.mark.parametrize("query, parameter, match", [
    ("year=2024&criteria=2,abc", "criteria", "criterion numbers"),
    ("year=2024&criteria=,", "criteria", "at least one"),
    ("year=2024&criteria=2,55", "criteria", "not criteria of qd318-2022-xa-ntm"),
    ("year=2024", "criteria", None),
    ("criteria=2", "year", None),
    ("year=1995&criteria=2", "year", "no dat_chuan criteria set"),
    ("year=2024&criteria=2&set=qd-unknown", "set", None),
    ("year=2024&criteria=2&match=most", "match", None),
    ("year=2024&criteria=2&scope=NOPE", "scope", "'NOPE'"),
])
def test_failing_errors(client, query, parameter, match):
    _bad(client.get(f"/query/failing-criteria?{query}"), parameter, match=match)


def test_criteria_range(client, store):
    expected = queries.communes_criteria_range(store, 2024, 15, 18)
    doc = _ok(client, "/query/criteria-range?year=2024&min_met=15&max_met=18").json()
    assert [i["unit_code"] for i in doc["items"]] == expected["unit_code"].tolist() and len(expected) > 0
    assert all(15 <= i["n_met"] <= 18 for i in doc["items"])
    gj = _geojson(_ok(client, "/query/criteria-range?year=2024&min_met=19", headers={"Accept": GEOJSON}))
    assert all(f["properties"]["n_met"] == 19 for f in gj["features"]) and gj["numberReturned"] > 0
    new = _ok(client, "/query/criteria-range?year=2026&min_met=10").json()
    assert new["query"]["set"] == "qd51-2025-xa-ntm" and all(i["n_met"] == 10 for i in new["items"])


@pytest.mark.parametrize("query, parameter, match", [
    ("year=2024&min_met=18&max_met=15", "min_met", "must not exceed 'max_met'"),
    ("year=2024&min_met=20", "min_met", "at most 19"),
    ("year=2024&min_met=-1", "min_met", None),
    ("year=2024&min_met=x", "min_met", None),
    ("min_met=3", "year", None),
    ("year=2024&set=nope", "set", None),
])
def test_criteria_range_errors(client, query, parameter, match):
    _bad(client.get(f"/query/criteria-range?{query}"), parameter, match=match)


def test_answers_follow_the_store_revision(demo_store):
    client = _client(demo_store.path)
    url = "/query/failing-criteria?year=2024&criteria=2"
    before = [i["unit_code"] for i in _ok(client, url).json()["items"]]
    assert before
    status.record_status(demo_store, [{"unit_code": before[0], "year": 2024, "set_id": "qd318-2022-xa-ntm",
                                       "criterion": 2, "met": True}], recorded_by="test")
    after = [i["unit_code"] for i in _ok(client, url).json()["items"]]
    assert after == before[1:]


def test_routes_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/query/far-from-facility", "/query/near-geometry", "/query/nearest", "/query/failing-criteria",
            "/query/criteria-range"} <= set(paths)
    assert {"get", "post"} <= set(paths["/query/near-geometry"])

"""OGC API – Features on the demo store: every endpoint, parameter and error path."""

from __future__ import annotations

import gzip
import math
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer

from api.app import create_app
from api.settings import Settings
from geo.crs import TM3_ZONES
from layers import recognitions, status
from layers.store import Store

GEOJSON = "application/geo+json"
LAYER_IDS = ["roads", "schools", "health-stations", "culture-houses", "markets", "power-lines",
             "transformers", "projects"]
ALL_IDS = ["provinces", "districts", "communes", "villages", "commune-status", *LAYER_IDS]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"


def _app(path, **settings):
    return create_app(Settings(store=path, **settings))


@pytest.fixture(scope="module")
def client(demo_store_path):
    return TestClient(_app(demo_store_path))


@pytest.fixture(scope="module")
def store(demo_store_path):
    return Store(demo_store_path)


def _ok(client, url, **kw):
    r = client.get(url, **kw)
    assert r.status_code == 200, (url, r.status_code, r.text[:500])
    return r


def _bad(client, url, parameter, status=400):
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code, r.text[:300])
    body = r.json()
    assert body["status"] == status and body["description"]
    if parameter is not None:
        assert body.get("parameter") == parameter, body
    return body


def _ids(client, url):
    return [f["id"] for f in _ok(client, url).json()["features"]]


# --- landing, conformance, collections ------------------------------------------------


def test_landing_links_resolve(client):
    body = _ok(client, "/").json()
    rels = {link["rel"]: link["href"] for link in body["links"]}
    for rel in ("self", "alternate", "service-desc", "service-doc", "conformance", "data", "related"):
        assert rel in rels, rel
    assert rels["service-desc"].endswith("/openapi.json") and rels["service-doc"].endswith("/docs")
    related = [link["href"] for link in body["links"] if link["rel"] == "related"]
    assert [href.rsplit("/", 1)[1] for href in related] == ["map", "progress", "prioritise", "scenario"]
    for href in related:  # the planners' pages, reachable from the landing page
        assert client.get(href).status_code == 200, href
    for rel in ("service-desc", "service-doc", "conformance", "data", "alternate"):
        assert client.get(rels[rel]).status_code == 200, rel
    assert "Nông thôn" in body["description"] or "nông thôn" in body["description"]


def test_landing_html_by_accept_and_by_f(client):
    by_accept = _ok(client, "/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert by_accept.headers["content-type"].startswith("text/html")
    page = _ok(client, "/?f=html").text
    for href in ("/conformance", "/collections", "/openapi.json", "/docs", "/map", "/progress", "/prioritise"):
        assert f'{href}' in page, href
    assert _ok(client, "/?f=html&lang=en").text.count("Collections") >= 1
    json_pref = _ok(client, "/", headers={"Accept": "application/json, text/html;q=0.5"})
    assert json_pref.headers["content-type"] == "application/json"


def test_conformance(client):
    classes = _ok(client, "/conformance").json()["conformsTo"]
    for part in ("ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/geojson",
                 "ogcapi-features-1/1.0/conf/html", "ogcapi-features-2/1.0/conf/crs"):
        assert any(c.endswith(part) for c in classes), part
    assert "<li>" in _ok(client, "/conformance?f=html").text


def test_collections_list_every_layer_with_crs(client, store):
    body = _ok(client, "/collections").json()
    assert [c["id"] for c in body["collections"]] == ALL_IDS
    wanted = {CRS84, EPSG.format(4326), EPSG.format(4756), *(EPSG.format(c) for c in range(9205, 9219))}
    for coll in body["collections"]:
        assert wanted <= set(coll["crs"]), coll["id"]
        assert coll["storageCrs"] == CRS84 and coll["itemType"] == "feature"
        rels = {(link["rel"], link["type"]) for link in coll["links"]}
        assert ("items", GEOJSON) in rels and ("items", "text/html") in rels
    communes = next(c for c in body["collections"] if c["id"] == "communes")
    bbox = communes["extent"]["spatial"]["bbox"][0]
    np.testing.assert_allclose(bbox, store.read_features("communes").total_bounds, atol=1e-4)
    assert communes["title"].startswith("Xã") and communes["title"].endswith("Communes")
    one = _ok(client, "/collections/communes").json()
    assert one["id"] == "communes" and one["extent"] == communes["extent"]
    status_coll = next(c for c in body["collections"] if c["id"] == "commune-status")
    assert status_coll["extent"]["temporal"]["interval"][0] == ["2021-01-01T00:00:00Z", "2026-12-31T23:59:59Z"]


def test_collection_html_and_queryables(client, store):
    page = _ok(client, "/collections/communes?f=html&lang=en").text
    assert "<h1>Communes</h1>" in page and "EPSG/0/4756" in page
    assert "<h1>Xã, phường, thị trấn</h1>" in _ok(client, "/collections/communes?f=html").text
    q = _ok(client, "/collections/communes/queryables").json()
    assert set(q["properties"]) == set(store.columns("communes")) - {"fid", "geom"}
    assert q["properties"]["extremely_difficult"]["type"] == "boolean"
    assert q["properties"]["area_km2"]["type"] == "number"
    sq = _ok(client, "/collections/commune-status/queryables").json()["properties"]
    assert {"criteria_met", "criterion_1", "criterion_19", "district", "level"} <= set(sq)
    assert "<td>criterion_2</td>" in _ok(client, "/collections/commune-status/queryables?f=html").text


def test_not_found(client):
    assert _bad(client, "/collections/nowhere", None, 404)["description"].startswith("no collection 'nowhere'")
    _bad(client, "/collections/nowhere/items", None, 404)
    _bad(client, "/collections/communes/items/999999", None, 404)
    _bad(client, "/collections/communes/items/abc", None, 404)
    _bad(client, "/collections/communes/items/99999999999999999999999", None, 404)
    _bad(client, "/collections/commune-status/items/999999", None, 404)


def test_unknown_and_repeated_parameters(client):
    body = _bad(client, "/collections/communes/items?colour=red", "colour")
    assert "colour" in body["description"] and "parent_code" in body["description"]
    _bad(client, "/collections/communes/items?limit=5&limit=6", "limit")
    _bad(client, "/collections?foo=1", "foo")
    _bad(client, "/collections/communes/items/1?bbox=1,2,3,4", "bbox")
    _bad(client, "/collections/communes/items/1?year=2024", "year")
    _bad(client, "/?f=xml", "f")
    _bad(client, "/collections/roads/items?year=2024", "year")  # roads have no 'year' property


# --- items: every collection, paging, limit -------------------------------------------


@pytest.mark.parametrize("cid", [c for c in ALL_IDS if c != "commune-status"])
def test_items_of_every_table(client, store, cid):
    table = cid.replace("-", "_")
    r = _ok(client, f"/collections/{cid}/items")
    assert r.headers["content-type"] == GEOJSON and r.headers["content-crs"] == f"<{CRS84}>"
    body = r.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == store.count(table)
    assert body["numberReturned"] == len(body["features"]) == min(10, store.count(table))
    assert body["timeStamp"].endswith("Z")
    first = store.read_features(table, "fid = ?", [body["features"][0]["id"]])
    feature = body["features"][0]
    assert set(feature["properties"]) == set(store.columns(table)) - {"fid", "geom"}
    got = shapely.geometry.shape(feature["geometry"])
    assert got.geom_type == first.geometry.iloc[0].geom_type
    assert shapely.hausdorff_distance(got, first.geometry.iloc[0]) < 1e-6
    one = _ok(client, f"/collections/{cid}/items/{feature['id']}").json()
    assert one["id"] == feature["id"] and one["properties"] == feature["properties"]
    assert any(link["rel"] == "collection" for link in one["links"])


def test_polygons_follow_the_right_hand_rule(client):
    for feature in _ok(client, "/collections/communes/items?limit=50").json()["features"]:
        for polygon in shapely.geometry.shape(feature["geometry"]).geoms:
            assert polygon.exterior.is_ccw
            assert not any(ring.is_ccw for ring in polygon.interiors)


def _walk(client, url):
    ids, pages, first_body = [], 0, None
    while url:
        body = _ok(client, url).json()
        first_body = first_body or body
        ids += [f["id"] for f in body["features"]]
        pages += 1
        url = next((link["href"] for link in body["links"] if link["rel"] == "next" and link["type"] == GEOJSON), None)
    return ids, pages, first_body


def test_next_links_walk_the_whole_set(client, store):
    ids, pages, first = _walk(client, "/collections/communes/items?limit=25&sortby=-area_km2")
    gdf = store.read_features("communes")
    assert len(ids) == len(set(ids)) == first["numberMatched"] == len(gdf)
    assert pages == math.ceil(len(gdf) / 25)
    expected = gdf.sort_values(["area_km2", "fid"], ascending=[False, True])["fid"].tolist()
    assert ids == expected
    second = _ok(client, "/collections/communes/items?limit=25&offset=25").json()
    prev = next(link["href"] for link in second["links"] if link["rel"] == "prev" and link["type"] == GEOJSON)
    assert parse_qs(urlsplit(prev).query)["offset"] == ["0"]
    assert _ids(client, prev) == gdf["fid"].tolist()[:25]
    last = _ok(client, f"/collections/communes/items?limit=25&offset={len(gdf) - 3}").json()
    assert last["numberReturned"] == 3 and not any(link["rel"] == "next" for link in last["links"])
    beyond = _ok(client, "/collections/communes/items?offset=5000").json()
    assert beyond["features"] == [] and beyond["numberMatched"] == len(gdf)


def test_limit_is_clamped_and_checked(client, store):
    body = _ok(client, "/collections/roads/items?limit=20000&properties=").json()
    assert body["numberReturned"] == 10_000 and body["numberMatched"] == store.count("roads")
    nxt = next(link["href"] for link in body["links"] if link["rel"] == "next" and link["type"] == GEOJSON)
    assert parse_qs(urlsplit(nxt).query)["limit"] == ["10000"]
    assert body["features"][0]["properties"] == {}
    _bad(client, "/collections/roads/items?limit=0", "limit")
    _bad(client, "/collections/roads/items?limit=abc", "limit")
    _bad(client, "/collections/roads/items?offset=-1", "offset")


# --- bbox ------------------------------------------------------------------------------


def _expected_in_box(store, table, box):
    gdf = store.read_features(table)
    return sorted(gdf["fid"][shapely.intersects(gdf.geometry.values, shapely.box(*box))].tolist())


def test_bbox_is_exact_not_just_envelopes(client, store):
    gdf = store.read_features("communes")
    minx, miny, maxx, maxy = gdf.total_bounds
    box = (minx + 0.3 * (maxx - minx), miny + 0.3 * (maxy - miny), minx + 0.55 * (maxx - minx), miny + 0.6 * (maxy - miny))
    expected = _expected_in_box(store, "communes", box)
    envelope_hits = gdf["fid"][shapely.intersects(shapely.envelope(gdf.geometry.values), shapely.box(*box))]
    assert len(envelope_hits) > len(expected) > 5  # the exact test matters here
    bbox = ",".join(f"{v:.6f}" for v in box)
    body = _ok(client, f"/collections/communes/items?bbox={bbox}&limit=1000").json()
    assert sorted(f["id"] for f in body["features"]) == expected and body["numberMatched"] == len(expected)
    # the same box in EPSG:4326 axis order (lat, lon)
    latlon = ",".join(f"{v:.6f}" for v in (box[1], box[0], box[3], box[2]))
    crs = EPSG.format(4326)
    assert sorted(_ids(client, f"/collections/communes/items?bbox={latlon}&bbox-crs={crs}&limit=1000")) == expected
    # points and lines too
    for table in ("schools", "roads"):
        got = _ids(client, f"/collections/{table.replace('_', '-')}/items?bbox={bbox}&limit=10000&properties=")
        assert sorted(got) == _expected_in_box(store, table, box)


def test_bbox_in_a_tm3_zone(client, store):
    gdf = store.read_features("schools")
    box = tuple(gdf.total_bounds + np.array([0.05, 0.05, -0.2, -0.2]))
    tr = Transformer.from_crs(4326, 9208, always_xy=True)
    x0, y0, x1, y1 = tr.transform_bounds(*box)
    got = _ids(client, f"/collections/schools/items?bbox={x0},{y0},{x1},{y1}&bbox-crs={EPSG.format(9208)}&limit=10000")
    expected = _expected_in_box(store, "schools", box)
    assert set(expected) <= set(got)  # the TM-3 rectangle encloses the lon/lat box
    assert len(got) < len(gdf)


@pytest.mark.parametrize("query, parameter", [
    ("bbox=1,2,3", "bbox"),
    ("bbox=a,b,c,d", "bbox"),
    ("bbox=105,22,104,23", "bbox"),
    ("bbox=104,22,105,95", "bbox"),
    ("bbox=104,22,105,nan", "bbox"),
    ("bbox-crs=EPSG:4326", "bbox-crs"),
    ("bbox=1,2,3,4&bbox-crs=EPSG:3857", "bbox-crs"),
    ("crs=EPSG:3857", "crs"),
    ("crs=nonsense", "crs"),
])
def test_bad_spatial_parameters(client, query, parameter):
    _bad(client, f"/collections/communes/items?{query}", parameter)


# --- filters, sortby, properties, datetime -------------------------------------------


def test_property_filters(client, store):
    gdf = store.read_features("communes", "parent_code = ?", ["D01-03"])
    assert sorted(_ids(client, "/collections/communes/items?parent_code=D01-03&limit=1000")) == sorted(gdf["fid"])
    hard = store.read_features("roads", "hardened = 1 AND road_class = 'duong_xa'")
    body = _ok(client, "/collections/roads/items?hardened=true&road_class=duong_xa&limit=1").json()
    assert body["numberMatched"] == len(hard) > 0
    n_false = _ok(client, "/collections/roads/items?hardened=false&limit=1").json()["numberMatched"]
    assert n_false == store.count("roads", "hardened = 0")
    assert _ok(client, "/collections/schools/items?pupils=-3").json()["numberMatched"] == 0
    _bad(client, "/collections/roads/items?hardened=maybe", "hardened")
    _bad(client, "/collections/schools/items?pupils=many", "pupils")
    _bad(client, "/collections/roads/items?width_m=wide", "width_m")


def test_sortby_and_properties(client, store):
    names = [f["properties"]["name"] for f in _ok(client, "/collections/districts/items?sortby=%2Bname").json()["features"]]
    assert names == sorted(names)
    plus_as_space = [f["properties"]["name"] for f in _ok(client, "/collections/districts/items?sortby=+name").json()["features"]]
    assert plus_as_space == names
    desc = _ok(client, "/collections/communes/items?sortby=-area_km2&limit=5&properties=area_km2,code").json()
    areas = [f["properties"]["area_km2"] for f in desc["features"]]
    assert areas == sorted(areas, reverse=True) and areas[0] == store.read_table("communes")["area_km2"].max()
    assert all(list(f["properties"]) == ["area_km2", "code"] for f in desc["features"])
    one = _ok(client, "/collections/communes/items/1?properties=name").json()
    assert one["properties"] == {"name": store.read_table("communes", "fid = 1")["name"][0]}
    _bad(client, "/collections/communes/items?sortby=colour", "sortby")
    _bad(client, "/collections/communes/items?sortby=,", "sortby")
    _bad(client, "/collections/communes/items?properties=name,colour", "properties")


def test_datetime_selects_vintages(client, store):
    merged_away = {90, 92}  # closed on 2025-01-01 by the demo merger into fid 121
    before = set(_ids(client, "/collections/communes/items?datetime=2024-06-01&limit=1000"))
    after = set(_ids(client, "/collections/communes/items?datetime=2025-01-01T08:00:00Z&limit=1000"))
    assert merged_away <= before and 121 not in before
    assert 121 in after and not merged_away & after
    assert len(before) == store.count("communes") - 1 and len(after) == store.count("communes") - 2
    span = set(_ids(client, "/collections/communes/items?datetime=2024-06-01/2025-06-01&limit=1000"))
    assert span == before | after
    assert set(_ids(client, "/collections/communes/items?datetime=../2024-12-31&limit=1000")) == before
    assert set(_ids(client, "/collections/communes/items?datetime=2025-01-01/..&limit=1000")) == after
    for bad in ("yesterday", "2024-13-01", "2025-01-01/2024-01-01", "../..", "a/b/c"):
        _bad(client, f"/collections/communes/items?datetime={bad}", "datetime")
    _bad(client, "/collections/roads/items?datetime=2024-01-01", "datetime")


# --- commune-status ----------------------------------------------------------------------


def test_commune_status_properties(client, store):
    body = _ok(client, "/collections/commune-status/items?year=2024&limit=1000").json()
    summary = status.criteria_summary(store, 2024, "qd318-2022-xa-ntm").set_index("unit_code")
    levels = recognitions.recognition_status(store, 2024).set_index("unit_code")["level"]
    assert body["numberMatched"] == len(summary) == len(body["features"])
    for f in body["features"]:
        p = f["properties"]
        row = summary.loc[p["code"]]
        assert p["year"] == 2024 and p["set_id"] == "qd318-2022-xa-ntm" and p["criteria_total"] == 19
        assert p["criteria_met"] == row["n_met"] == sum(p[f"criterion_{n}"] is True for n in range(1, 20))
        assert [n for n in range(1, 20) if p[f"criterion_{n}"] is False] == row["unmet"]
        level = levels.get(p["code"])
        assert p["level"] == (level if isinstance(level, str) else None)
        assert p["district"] == p["code"][:6] and p["province"] == "D01" and p["district_name"]
    assert any(f["properties"]["level"] for f in body["features"])
    latest = _ok(client, "/collections/commune-status/items?limit=1").json()["features"][0]["properties"]
    assert latest["year"] == 2026 and latest["criteria_total"] == 10 and "criterion_11" not in latest


def test_commune_status_filters(client, store):
    summary = status.criteria_summary(store, 2024, "qd318-2022-xa-ntm")
    in_district = summary[summary["parent_code"] == "D01-02"]
    expected = sorted(in_district["unit_code"][in_district["unmet"].map(lambda u: 2 in u)])
    body = _ok(client, "/collections/commune-status/items?year=2024&district=D01-02&criterion_2=false&limit=100").json()
    assert sorted(f["properties"]["code"] for f in body["features"]) == expected
    assert body["numberMatched"] == len(expected)
    top = _ok(client, "/collections/commune-status/items?year=2024&sortby=-criteria_met,code&limit=3").json()
    counts = [f["properties"]["criteria_met"] for f in top["features"]]
    assert counts[0] == summary["n_met"].max() and counts == sorted(counts, reverse=True)
    same = _ok(client, "/collections/commune-status/items?datetime=2024-05-01&limit=1").json()
    assert same["features"][0]["properties"]["year"] == 2024
    fid = body["features"][0]["id"] if body["features"] else 1
    one = _ok(client, f"/collections/commune-status/items/{fid}?year=2024&properties=criteria_met").json()
    assert list(one["properties"]) == ["criteria_met"]
    nang_cao = _ok(client, "/collections/commune-status/items?year=2024&set=qd318-2022-xa-ntm-nang-cao&limit=1").json()
    assert nang_cao["features"][0]["properties"]["set_id"] == "qd318-2022-xa-ntm-nang-cao"
    _bad(client, "/collections/commune-status/items?year=2026&criterion_15=true", "criterion_15")
    _bad(client, "/collections/commune-status/items?criterion_2=yes", "criterion_2")
    _bad(client, "/collections/commune-status/items?set=nope", "set")
    _bad(client, "/collections/commune-status/items?year=2060", "year")
    _bad(client, "/collections/commune-status/items?year=1800", "year")
    _bad(client, "/collections/commune-status/items?year=2024&datetime=2023-01-01", "datetime")
    _bad(client, "/collections/commune-status/items?datetime=2023-01-01/2024-01-01", "datetime")


# --- crs ---------------------------------------------------------------------------------


def _metres_apart(a: np.ndarray, b: np.ndarray, *, lat_first: bool) -> float:
    """Largest distance (m) between matching lat/lon (or lon/lat) coordinate pairs."""
    lat = a[:, 0] if lat_first else a[:, 1]
    dlat = (a[:, 0] - b[:, 0]) if lat_first else (a[:, 1] - b[:, 1])
    dlon = (a[:, 1] - b[:, 1]) if lat_first else (a[:, 0] - b[:, 0])
    return float(np.max(np.hypot(dlat * 111_320, dlon * 111_320 * np.cos(np.radians(lat)))))


@pytest.mark.parametrize("epsg", [4756, 9208, 4326, 5897])
def test_crs_output_within_a_metre_of_pyproj(client, store, epsg):
    uri = EPSG.format(epsg)
    r = _ok(client, f"/collections/communes/items?crs={uri}&limit=20")
    assert r.headers["content-crs"] == f"<{uri}>"
    gdf = store.read_features("communes", "fid IN (SELECT fid FROM communes ORDER BY fid LIMIT 20)")
    source = shapely.get_coordinates(shapely.orient_polygons(gdf.geometry.values, exterior_cw=False))
    ours = np.vstack([shapely.get_coordinates(shapely.geometry.shape(f["geometry"])) for f in r.json()["features"]])
    x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform(source[:, 0], source[:, 1])
    if epsg in (4756, 4326):  # EPSG axis order: latitude first
        assert _metres_apart(ours, np.column_stack([y, x]), lat_first=True) < 1.0
        assert 21 < ours[:, 0].min() < ours[:, 0].max() < 24  # first value is a latitude
        if epsg == 4756:  # the datum shift is real (tens of metres), so this is not an identity
            assert _metres_apart(ours, source[:, ::-1], lat_first=True) > 10
    else:
        assert np.max(np.hypot(ours[:, 0] - x, ours[:, 1] - y)) < 1.0
        assert 100_000 < ours[:, 0].min() and ours[:, 1].min() > 2_000_000


def test_crs_short_forms_and_single_feature(client, store):
    full = _ok(client, f"/collections/communes/items/5?crs={EPSG.format(4756)}").json()
    for alias in ("EPSG:4756", "[EPSG:4756]", "urn:ogc:def:crs:EPSG::4756"):
        r = _ok(client, f"/collections/communes/items/5?crs={alias}")
        assert r.json()["geometry"] == full["geometry"] and r.headers["content-crs"] == f"<{EPSG.format(4756)}>"
    crs84 = _ok(client, "/collections/communes/items/5?crs=OGC:CRS84").json()["geometry"]
    assert crs84 == _ok(client, "/collections/communes/items/5").json()["geometry"]
    assert set(TM3_ZONES) >= set(range(9205, 9219))


# --- formats, caching, dependencies ------------------------------------------------------


def test_html_items_escape_and_page(client, store):
    page = _ok(client, "/collections/communes/items?limit=5", headers={"Accept": "text/html"}).text
    first = store.read_table("communes", "fid = 1")["name"][0]
    assert first in page and "Trang sau" in page and "items/1?f=html" in page
    en = _ok(client, "/collections/communes/items?limit=5&offset=5&f=html&lang=en").text
    assert "Next page" in en and "Previous page" in en
    item = _ok(client, "/collections/communes/items/1?f=html").text
    assert first in item and "<script" not in item
    status_page = _ok(client, "/collections/commune-status/items?f=html&year=2024").text
    assert "qd318-2022-xa-ntm" in status_page
    json_by_accept = client.get("/collections/communes/items/1", headers={"Accept": GEOJSON})
    assert json_by_accept.headers["content-type"] == GEOJSON


def test_html_escapes_names_from_the_store(demo_store):
    with demo_store.transaction() as conn:
        conn.execute("UPDATE schools SET name = '<script>alert(1)</script>' WHERE fid = 1")
    client = TestClient(_app(demo_store.path))
    for url in ("/collections/schools/items?f=html&limit=3", "/collections/schools/items/1?f=html"):
        page = _ok(client, url).text
        assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_gzip_when_accepted(client):
    r = client.get("/collections/communes/items?limit=50", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    plain = client.get("/collections/communes/items?limit=50", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json()["features"] == r.json()["features"]
    raw = client.get("/collections/communes/items?limit=50", headers={"Accept-Encoding": "gzip"})
    assert len(gzip.compress(plain.content)) < len(plain.content)
    assert raw.headers["vary"] == "Accept, Accept-Encoding"


def test_responses_follow_the_store_revision(demo_store):
    client = TestClient(_app(demo_store.path))
    url = "/collections/schools/items?limit=1"
    n = _ok(client, url).json()["numberMatched"]
    assert _ok(client, url).json()["numberMatched"] == n  # served from the cache
    new = gpd.GeoDataFrame({"name": ["Trường mới"], "school_level": ["tieu_hoc"], "satellite": [False]},
                           geometry=[shapely.Point(104.5, 22.3)], crs="EPSG:4326")
    with demo_store.transaction() as conn:
        demo_store.insert_features(conn, "schools", new)
    assert _ok(client, url).json()["numberMatched"] == n + 1
    hits = _ok(client, "/collections/schools/items?bbox=104.4999,22.2999,104.5001,22.3001&name=Trường mới").json()
    assert hits["numberMatched"] == 1 and hits["features"][0]["properties"]["school_level"] == "tieu_hoc"


def test_private_reads_guard_every_route(demo_store_path):
    client = TestClient(_app(demo_store_path, public_reads=False))
    for url in ("/", "/conformance", "/collections", "/collections/communes", "/collections/communes/queryables",
                "/collections/communes/items", "/collections/communes/items/1"):
        assert client.get(url).status_code == 401, url
    assert client.get("/health").status_code == 200

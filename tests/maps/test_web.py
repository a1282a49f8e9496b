"""The overview web map: compact geometry, views, every mode rendered, escaping, routes, cache."""

import collections
import json
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from layers import admin_units
from layers.boundaries import import_boundaries
from layers.status import record_status
from layers.store import Store
from maps import geojson, web, web_data
from maps._errors import ParameterError
from maps.modes import MODES

HOSTILE = ['<script>window.__pwned=1</script>', '"><img src=x onerror="window.__pwned=2">', "Bản </div> Đôn's"]


def _data(page: str) -> dict:
    block = re.search(r'<script type="application/json" id="ntm-data">(.*?)</script>', page, re.S)
    assert block, "page has no data block"
    return json.loads(block.group(1))


def _arc_uses(topo) -> collections.Counter:
    uses = collections.Counter()

    def walk(a):
        if isinstance(a, int):
            uses[a if a >= 0 else ~a] += 1
        else:
            for x in a:
                walk(x)

    for g in topo["objects"]["u"]["geometries"]:
        walk(g["arcs"])
    return uses


# --- compact geometry -------------------------------------------------------------------------


def test_topology_stores_shared_borders_once(grid):
    gdf = grid(4, 3)
    topo = geojson.coverage_topology(gdf.geometry.values, tolerance=1e-4)
    uses = _arc_uses(topo)
    shared = sum(1 for n in uses.values() if n == 2)
    assert shared > 0 and set(uses.values()) <= {1, 2}
    assert [g["id"] for g in topo["objects"]["u"]["geometries"]] == list(range(12))
    assert "properties" not in topo["objects"]["u"]["geometries"][0]


def test_simplify_coverage_closes_slivers_and_keeps_neighbours_together():
    left = shapely.box(0, 0, 1, 1)
    right = shapely.Polygon([(1.00005, 0), (2, 0), (2, 1), (1.00005, 1), (1.00003, 0.5)])  # a 5 m sliver gap
    out = geojson.simplify_coverage([left, right], 0.001)
    assert shapely.coverage_is_valid(out)
    assert shapely.get_num_interior_rings(shapely.union_all(out)) == 0
    assert shapely.intersection(out[0], out[1]).length > 0.99  # they share the border again


def test_tolerance_and_decimals_follow_the_scope():
    province, country = geojson.tolerance_for((103.5, 21.8, 104.7, 22.9)), geojson.tolerance_for((102, 8, 110, 23.5))
    assert province < country <= 0.02
    assert geojson.decimals_for(province) > geojson.decimals_for(country)
    assert geojson.decimals_for(1e-9) == geojson.MAX_DECIMALS


def test_features_to_geojson_rounds_and_keeps_text_as_is():
    body = geojson.features_to_geojson([shapely.Point(104.123456789, 22.5)], [{"n": HOSTILE[0]}], decimals=9)
    data = json.loads(body)
    assert data["features"][0]["geometry"]["coordinates"] == [104.123457, 22.5]  # capped at 6 decimals
    assert data["features"][0]["properties"]["n"] == HOSTILE[0]


# --- views ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, parameter", [
    ({"mode": "colour"}, "mode"), ({"lang": "fr"}, "lang"), ({"set_id": "qd999"}, "set"),
    ({"mode": "criterion", "criterion": 25}, "criterion"), ({"district": "nowhere"}, "district"),
    ({"province": "D01-01"}, "province"), ({"year": 1800}, "year"),
])
def test_bad_parameters_are_named(demo_store_path, kwargs, parameter):
    with pytest.raises(ParameterError) as err:
        web_data.resolve_view(Store(demo_store_path), **kwargs)
    assert err.value.parameter == parameter


def test_view_defaults(demo_store_path):
    store = Store(demo_store_path)
    view = web_data.resolve_view(store, mode="criterion", year=2024)
    assert view.set_id == "qd318-2022-xa-ntm" and view.criterion == 1
    assert view.scope_level == "province" and view.inline and view.aggregate == "district"
    district = web_data.resolve_view(store, district="D01-02")
    assert district.scope_code == "D01-02" and district.province == "D01"


# --- every mode, demo and real Lào Cai --------------------------------------------------------


@pytest.fixture(scope="module")
def stores(demo_store_path, laocai_store_path):
    return {"demo": Store(demo_store_path), "laocai": Store(laocai_store_path)}


@pytest.fixture(scope="module")
def caches():
    """One cache per store for the module: geometry is simplified once, as the app does."""
    return {"demo": web_data.MemoCache(), "laocai": web_data.MemoCache()}


@pytest.mark.parametrize("which", ["demo", "laocai"])
@pytest.mark.parametrize("mode", MODES)
def test_every_mode_renders(stores, caches, which, mode):
    store = stores[which]
    view = web_data.resolve_view(store, mode=mode, year=2024)
    page = web.overview_html(store, view, cache=caches[which])
    data = _data(page)
    expected = len(admin_units.units_table(store, "commune", on=view.on))
    assert len(data["communes"]["code"]) == expected
    assert len(data["communes"]["topo"]["objects"]["u"]["geometries"]) == expected
    counts = re.findall(r'<span class="ntm-count">(\d+)</span>', page)
    assert sum(map(int, counts[:len(data["classes"])])) == expected  # commune legend: every commune once
    assert not re.findall(r'(?:src|href)="https?://', page)  # offline: nothing from the internet
    assert 'id="ntm-legend"' in page and 'name="mode"' in page and 'id="ntm-search"' in page
    assert page.count("<script src=") == 4  # leaflet, topojson-client, our script, fullscreen


def test_page_bytes_stay_small_for_a_real_province(stores, caches):
    view = web_data.resolve_view(stores["laocai"], year=2024)
    page = web.overview_html(stores["laocai"], view, cache=caches["laocai"])
    assert len(page.encode()) < 150_000
    topo = _data(page)["communes"]["topo"]
    uses = _arc_uses(topo)
    assert sum(1 for n in uses.values() if n == 2) > sum(1 for n in uses.values() if n == 1)  # borders shared


def test_english_page(stores, caches):
    view = web_data.resolve_view(stores["demo"], lang="en", mode="recognition", year=2024)
    page = web.overview_html(stores["demo"], view, cache=caches["demo"])
    assert '<html lang="en">' in page and "Recognition level" in page and "Tiếng Việt" in page
    assert _data(page)["t"]["criteria_met"] == "Criteria met"


# --- hostile names ----------------------------------------------------------------------------


@pytest.fixture
def hostile_store(tmp_path, grid):
    gdf = grid(3, 1)
    gdf["ten_xa"] = [f"Xã {n}" for n in HOSTILE]
    gdf["ten_huyen"], gdf["ma_tinh"], gdf["ten_tinh"] = 'Huyện <b>"Thử"</b>', "10", "Lào Cai"
    gdf.to_file(tmp_path / "xa.gpkg")
    store = Store(tmp_path / "s.gpkg", create=True)
    import_boundaries(store, tmp_path / "xa.gpkg", level="commune", build_parents=True)
    return store


def test_names_are_escaped_everywhere(hostile_store):
    page = web.overview_html(hostile_store, web_data.resolve_view(hostile_store))
    for name in HOSTILE + ['<b>"Thử"</b>']:
        assert name not in page
    assert "&lt;b&gt;&quot;Thử&quot;&lt;/b&gt;" in page  # district name in the selector, as text
    data = _data(page)
    assert HOSTILE[0] in data["communes"]["name"]  # the data keeps the name; the script escapes it


def test_search_ignores_diacritics(stores, hostile_store):
    hits = web_data.search_communes(stores["laocai"], "Sin Cheng")
    assert [h["name"] for h in hits][:1] == ["Sín Chéng"] and hits[0]["district"] == "Si Ma Cai"
    assert len(hits[0]["bounds"]) == 4
    assert web_data.search_communes(stores["laocai"], "THAO chu phin")[0]["name"] == "Thào Chư Phìn"
    assert web_data.search_communes(stores["laocai"], "zzz") == []
    assert web_data.search_communes(hostile_store, "script")[0]["name"] == HOSTILE[0]


# --- routes -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(demo_store_path):
    app = create_app(Settings(store=demo_store_path))
    return TestClient(app)


def test_routes(client):
    page = client.get("/map", params={"mode": "gap", "year": 2024})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for path in re.findall(r'(?:src|href)="(/[^"]+)"', page.text):
        assert client.get(path).status_code == 200, path
    bad = client.get("/map", params={"mode": "colour"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "mode"
    assert client.get("/map", params={"district": "nowhere"}).json()["parameter"] == "district"
    assert client.get("/map/static/secret.py").status_code == 404
    for name in web.STATIC_FILES:  # served minified, same code
        served = client.get(f"/map/static/{name}")
        assert served.headers["content-type"].startswith("text/javascript" if name.endswith(".js") else "text/css")
        assert len(served.content) < 0.9 * web.static_file(name).stat().st_size
    assert "showOverlayLegend" in client.get("/map/static/overview.js").text


def test_overlays_route(client):
    roads = client.get("/map/overlays/roads.geojson", params={"year": 2024}).json()
    assert len(roads["features"]) > 1000
    props = roads["features"][0]["properties"]
    assert set(props) == {"n", "k", "s", "h"} and props["k"] in admin_units.vocabulary()["road_classes"]
    coords = np.array(roads["features"][0]["geometry"]["coordinates"])
    assert np.allclose(coords, np.round(coords, 5))
    district = client.get("/map/overlays/schools.geojson", params={"district": "D01-02"}).json()
    everywhere = client.get("/map/overlays/schools.geojson").json()
    assert 0 < len(district["features"]) < len(everywhere["features"])
    villages = client.get("/map/overlays/villages.geojson", params={"year": 2024}).json()
    assert {f["properties"]["k"] for f in villages["features"]} >= {None, "dat_chuan"}
    projects = client.get("/map/overlays/projects.geojson").json()
    assert all(f["properties"]["s"] in ("planned", "under_way", "done") for f in projects["features"])
    assert client.get("/map/overlays/secrets.geojson").json()["parameter"] == "layer"


def test_search_and_communes_routes(client):
    hits = client.get("/map/search", params={"q": "ta hom"}).json()
    assert hits and hits[0]["name"] == "Tả Hỏm"
    payload = client.get("/map/communes.json", params={"province": "D01", "year": 2024}).json()
    assert len(payload["code"]) == len(payload["k"]) == len(payload["s"]) == 120
    assert client.get("/map/communes.json").json()["parameter"] == "province"


def test_pages_follow_the_store_revision(demo_store):
    app = create_app(Settings(store=demo_store.path))
    client = TestClient(app)
    first = _data(client.get("/map", params={"year": 2024}).text)["communes"]
    again = _data(client.get("/map", params={"year": 2024}).text)["communes"]
    assert first == again
    code = first["code"][0]
    record_status(demo_store, [{"unit_code": code, "year": 2024, "set_id": "qd318-2022-xa-ntm", "criterion": n,
                                "met": True} for n in range(1, 20)], recorded_by="test")
    after = _data(client.get("/map", params={"year": 2024}).text)["communes"]
    assert after["m"][0] == 19 and after["s"][0] == "1" * 19


def test_national_scope_loads_communes_per_province(tmp_path, grid, monkeypatch):
    a, b = grid(3, 3, prefix="A"), grid(3, 3, prefix="B", x0=104.2)
    a["ma_tinh"], a["ten_tinh"], a["ma_huyen"], a["ten_huyen"] = "01", "Tỉnh Một", "H01", "Huyện Một"
    b["ma_tinh"], b["ten_tinh"], b["ma_huyen"], b["ten_huyen"] = "02", "Tỉnh Hai", "H02", "Huyện Hai"
    gpd.GeoDataFrame(np.concatenate([a.values, b.values]), columns=a.columns, geometry="geometry",
                     crs=a.crs).to_file(tmp_path / "xa.gpkg")
    store = Store(tmp_path / "s.gpkg", create=True)
    import_boundaries(store, tmp_path / "xa.gpkg", level="commune", build_parents=True)
    view = web_data.resolve_view(store)
    assert view.scope_code is None and view.aggregate == "province"
    monkeypatch.setattr(web_data, "INLINE_LIMIT", 5)
    lazy = web_data.resolve_view(store)
    assert not lazy.inline
    data = _data(web.overview_html(store, lazy))
    assert data["communes"] is None and sorted(data["provinces"]["code"]) == ["01", "02"]
    assert [a[0] for a in data["provinces"]["agg"]] == [9, 9]
    one = web_data.communes_payload(store, lazy, "02")
    assert len(one["code"]) == 9 and all(c.startswith("B") for c in one["code"])


def test_district_scope_zooms_and_filters(stores, caches):
    store = stores["demo"]
    view = web_data.resolve_view(store, district="D01-03", year=2024)
    data = _data(web.overview_html(store, view, cache=caches["demo"]))
    expected = admin_units.units_in_scope(store, "D01-03", "commune", on=view.on)["code"].tolist()
    assert sorted(data["communes"]["code"]) == sorted(expected)
    whole = web_data.communes_payload(store, web_data.resolve_view(store, year=2024), "D01", cache=caches["demo"])
    assert data["bounds"] != whole["bounds"]  # the page fits the district, not the province
    assert data["communes"]["districts"][0][0] == "D01-03"


def test_payload_agrees_with_the_recognition_records(stores, caches):
    from layers import recognitions

    store = stores["demo"]
    view = web_data.resolve_view(store, year=2024)
    payload = web_data.communes_payload(store, view, view.scope_code, cache=caches["demo"])
    at_risk = set(recognitions.at_risk(store, 2024, view.set_id)["unit_code"])
    assert at_risk and {c for c, r in zip(payload["code"], payload["risk"]) if r} == at_risk
    status = recognitions.recognition_status(store, 2024).set_index("unit_code")
    for code, lv, rec in zip(payload["code"], payload["lv"], payload["rec"]):
        level = status.loc[code, "level"]
        assert (lv >= 0) == isinstance(level, str) and (rec is not None) == isinstance(level, str)
        if rec:
            assert web_data.LEVEL_KEYS[lv] == level and rec[0] == status.loc[code, "recognised_year"]

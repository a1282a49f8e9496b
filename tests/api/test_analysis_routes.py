"""GET /analysis/indicators (JSON, CSV), /analysis/indicators/names, /analysis/travel-time.tif."""

from __future__ import annotations

import csv
import io
import shutil

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from pyproj import CRS
from rasterio.transform import Affine

from api.app import create_app
from api.settings import Settings
from layers.demo import raster_dir_for
from layers.indicators import IndicatorOptions, run_indicators
from layers.store import Store
from layers.travel_time import write_travel_raster
from layers.zonal import Grid


@pytest.fixture(scope="module")
def client(demo_store_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("routes-analysis") / "demo.gpkg"
    shutil.copy(demo_store_path, path)
    shutil.copytree(raster_dir_for(demo_store_path), raster_dir_for(path))
    store = Store(path)
    run_indicators(store, scope="D01-01", year=2024, options=IndicatorOptions(network=False))
    # a small travel-time grid, written and registered the way a --travel-time run does
    minutes = np.array([[0.0, 12.5], [30.0, np.inf]])
    write_travel_raster(store, "travel_time_health_stations",
                        Grid(minutes, Affine(100, 0, 450_000, 0, -100, 2_500_000), CRS.from_epsg(9207)),
                        facility="health_stations")
    app = create_app(Settings(store=path))
    return TestClient(app)


def test_indicators_as_json(client):
    r = client.get("/analysis/indicators", params={"year": 2024, "scope": "D01-01", "name": "road_km", "level": "commune"})
    assert r.status_code == 200
    body = r.json()
    assert body["names"] == ["road_km"] and body["count"] == len(body["items"]) > 5
    item = body["items"][0]
    assert item["unit_code"].startswith("D01-01-") and item["unit"] == "km" and item["value"] > 0
    assert item["params"] == {} and item["computed_at"].endswith("Z")


def test_a_family_of_indicators_and_several_names(client):
    r = client.get("/analysis/indicators", params=[("year", 2024), ("name", "road_km.*"), ("name", "population,area_km2")])
    names = set(r.json()["names"])
    assert {"road_km.duong_xa", "road_km.duong_xa.concrete", "population", "area_km2"} <= names
    assert "road_km" not in names and "road_density" not in names


def test_indicators_as_csv(client):
    r = client.get("/analysis/indicators", params={"year": 2024, "name": "villages_near_grid_share", "f": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "indicators-all-2024.csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows and rows[0]["name"] == "villages_near_grid_share"
    assert rows[0]["params"] == '{"grid_distance_m": 1000.0}'
    assert 0 <= float(rows[0]["value"]) <= 1


def test_names_stored(client):
    names = client.get("/analysis/indicators/names", params={"year": 2024}).json()["names"]
    assert "population" in names and "schools.meets_standard" in names
    assert client.get("/analysis/indicators/names", params={"year": 2019}).json()["names"] == []


@pytest.mark.parametrize("params, status, text", [
    ({"year": 2019}, 404, "compute them with 'ntm analyse indicators --year 2019'"),
    ({"year": 2024, "name": "nope"}, 404, "no indicator(s) nope stored for 2024; stored for 2024:"),
    ({"year": 2024, "scope": "XX"}, 404, "'scope' 'XX' is not a unit"),
    ({"year": 2024, "f": "xml"}, 400, "'f' must be one of json, csv, got 'xml'"),
    ({"year": 2024, "level": "hamlet"}, 400, "'level' must be one of"),
    ({"year": "soon"}, 400, "year"),
    ({}, 400, "year"),
])
def test_bad_requests_say_what_is_wrong(client, params, status, text):
    r = client.get("/analysis/indicators", params=params)
    assert r.status_code == status
    assert text in r.json()["description"]


def test_travel_time_raster(client):
    r = client.get("/analysis/travel-time.tif", params={"facility": "health_stations"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/tiff")
    with rasterio.MemoryFile(r.content) as mem, mem.open() as src:
        assert src.crs.to_epsg() == 9207 and src.tags(1)["units"] == "minutes"
        values = src.read(1, masked=True)
        assert values[0, 1] == 12.5 and values.mask.tolist() == [[False, False], [False, True]]


@pytest.mark.parametrize("params, status, text", [
    ({"facility": "schools"}, 404, "--travel-time --facility schools"),
    ({"facility": "ferries"}, 400, "'facility' must be one of"),
    ({"facility": "health_stations", "province": "D09"}, 404, "in D09"),
])
def test_travel_time_raster_errors(client, params, status, text):
    r = client.get("/analysis/travel-time.tif", params=params)
    assert r.status_code == status and text in r.json()["description"]

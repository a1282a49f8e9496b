"""Hot spots over HTTP and the CLI; the analysis map modes and travel-time image on the app."""

from __future__ import annotations

import csv
import io
import json

import click
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from PIL import Image

from api.app import create_app
from api.cli_analysis import register
from api.settings import Settings

from _hotspot_store import COLD, HOT, INDICATOR, build_hotspot_store


@pytest.fixture(scope="module")
def store_path(demo_store_path, tmp_path_factory):
    return build_hotspot_store(demo_store_path, tmp_path_factory.mktemp("hot-api") / "demo.gpkg")


@pytest.fixture(scope="module")
def client(store_path):
    with TestClient(create_app(Settings(store=store_path))) as c:
        yield c


def test_hotspots_json(client):
    r = client.get("/analysis/hotspots", params={"year": 2024, "indicator": INDICATOR, "lang": "en"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = r.json()
    assert doc["count"] == 120 and sum(doc["counts"].values()) == 120
    assert doc["params"] | {"variable": INDICATOR, "year": 2024, "permutations": 999, "seed": 12345,
                            "alpha": 0.05, "fdr": True} == doc["params"]
    hh = [i for i in doc["items"] if i["cluster"] == "HH"]
    assert hh and all(i["unit_code"].startswith(HOT + "-") for i in hh)
    assert all(i["cluster_label"] == "Hot spot (High–High)" and i["q_fdr"] <= 0.05 and i["value"] == 100 for i in hh)
    assert doc["moran_global"]["I"] > 0.3


def test_hotspots_of_criteria_met_by_default(client):
    doc = client.get("/analysis/hotspots", params={"year": 2024, "scope": "D01"}).json()
    assert doc["params"]["variable"] == "criteria_met" and doc["params"]["scope"] == "D01"
    assert doc["counts"]["no_data"] == 15
    nodata = next(i for i in doc["items"] if i["cluster"] == "no_data")
    assert nodata["Ii"] is None and nodata["cluster_label"] == "Chưa có số liệu"


def test_hotspots_geojson_and_csv(client):
    r = client.get("/analysis/hotspots", params={"year": 2024, "indicator": INDICATOR, "f": "geojson"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    features = r.json()["features"]
    assert len(features) == 120 and features[0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert {"Ii", "p_sim", "q_fdr", "cluster"} <= set(features[0]["properties"])
    r = client.get("/analysis/hotspots", params={"year": 2024, "indicator": INDICATOR, "f": "csv", "scope": "D01"})
    assert r.status_code == 200 and "hotspots-D01-2024.csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 120 and {r["cluster"] for r in rows if r["unit_code"].startswith(COLD + "-")} <= {"LL", "ns"}


@pytest.mark.parametrize("params, parameter", [
    ({}, "year"),
    ({"year": "abc"}, "year"),
    ({"year": 2024, "permutations": 10}, "permutations"),
    ({"year": 2024, "alpha": 1.5}, "alpha"),
    ({"year": 2024, "seed": -3}, "seed"),
    ({"year": 2024, "f": "xml"}, "f"),
    ({"year": 2024, "lang": "fr"}, "lang"),
    ({"year": 2024, "contiguity": "rook"}, "contiguity"),
    ({"year": 2024, "scope": "NOPE"}, "scope"),
    ({"year": 2024, "indicator": "no.such"}, "indicator"),
    ({"year": 2024, "scope": "D01-03-002"}, "scope"),  # one commune: too few
])
def test_hotspots_bad_parameters_are_400_naming_them(client, params, parameter):
    r = client.get("/analysis/hotspots", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["parameter"] == parameter and parameter in r.json()["description"]


def test_hotspots_year_without_status_is_404(client):
    r = client.get("/analysis/hotspots", params={"year": 2030})
    assert r.status_code == 404 and "no criteria status" in r.json()["description"]


def test_map_pages_of_the_analysis_modes(client):
    r = client.get("/map", params={"year": 2024, "mode": "hotspot"})
    assert r.status_code == 200 and 'class="ntm-note"' in r.text
    r = client.get("/map", params={"year": 2024, "mode": "indicator", "indicator": INDICATOR, "lang": "en"})
    assert r.status_code == 200 and f"Indicator: {INDICATOR}" in r.text
    r = client.get("/map", params={"year": 2024, "mode": "indicator", "indicator": "no.such"})
    assert r.status_code == 400 and r.json()["parameter"] == "indicator"
    r = client.get("/map", params={"year": 2024, "mode": "bogus"})
    assert r.status_code == 400 and r.json()["parameter"] == "mode" and "hotspot" in r.json()["description"]


def test_travel_time_image(client):
    r = client.get("/map/travel-time.png", params={"name": "travel_time_health_stations"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).mode == "P"
    r = client.get("/map/travel-time.png", params={"name": "../dem"})
    assert r.status_code == 400 and r.json()["parameter"] == "name"


def test_figures_of_the_analysis_modes(client):
    r = client.get("/maps/figure.png", params={"year": 2024, "mode": "indicator", "indicator": INDICATOR, "dpi": 50})
    assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
    assert 'filename="ntm-indicator-test-planted-2024.png"' in r.headers["content-disposition"]
    r = client.get("/maps/figure.svg", params={"year": 2024, "mode": "hotspot", "district": "D01-03"})
    assert r.status_code == 200 and "Moran" in r.text
    r = client.get("/maps/figure.png", params={"year": 2024, "mode": "indicator", "dpi": 50})
    assert r.status_code == 400 and r.json()["parameter"] == "indicator"


# --- CLI ------------------------------------------------------------------------------------


def _run(path, *args):
    @click.group()
    def g():
        """Test group."""

    register(g)
    return CliRunner().invoke(g, ["analyse", "hotspots", *map(str, args)], env={"NTM_STORE": str(path)})


def test_cli_hotspots_summary_and_files(store_path, tmp_path):
    out_csv, out_geo = tmp_path / "hot.csv", tmp_path / "out" / "hot.geojson"
    result = _run(store_path, "--year", 2024, "--indicator", INDICATOR, "--permutations", 499, "--seed", 3,
                  "--csv", out_csv, "--geojson", out_geo, "--lang", "en")
    assert result.exit_code == 0, result.output
    assert f"Hot spots — {INDICATOR}, toàn bộ / all, 2024" in result.output
    assert "499 permutations" in result.output and "FDR q ≤ 0.05, seed 3" in result.output
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 120
    hh = [r for r in rows if r["cluster"] == "HH"]
    assert hh and all(r["unit_code"].startswith(HOT + "-") and r["cluster_label"] == "Hot spot (High–High)"
                      for r in hh)
    assert f"    HH  {hh[0]['unit_code']}" in result.output or "HH  D01-03-" in result.output
    assert len(json.loads(out_geo.read_text())["features"]) == 120


def test_cli_hotspots_criteria_met_no_fdr(store_path):
    result = _run(store_path, "--year", 2024, "--scope", "D01", "--no-fdr", "--permutations", 99)
    assert result.exit_code == 0, result.output
    assert "criteria_met (qd318-2022-xa-ntm), D01, 2024" in result.output and "p_sim ≤ 0.05" in result.output
    assert "no data                           15" in result.output


@pytest.mark.parametrize("args, message", [
    (["--year", 2024, "--permutations", 5], "'permutations' must be a whole number from 99"),
    (["--year", 2024, "--alpha", 0], "'alpha' must be a number between 0 and 1"),
    (["--year", 2024, "--indicator", "no.such"], "'indicator': indicator 'no.such' has no value"),
    (["--year", 2024, "--scope", "NOPE"], "'scope' must be a province, district or commune code"),
    (["--year", 2030], "no criteria status"),
])
def test_cli_hotspots_errors(store_path, args, message):
    result = _run(store_path, *args)
    assert result.exit_code == 1 and message in result.output


def test_ntm_figure_analysis_modes(store_path, tmp_path):
    from api.cli_maps import register as register_maps

    @click.group()
    def g():
        """Test group."""

    register_maps(g)
    out = tmp_path / "chi-so.png"
    args = ["figure", "--store", str(store_path), "--year", "2024", "--mode", "indicator", "--indicator", INDICATOR,
            "--dpi", "50", "-o", str(out)]
    result = CliRunner().invoke(g, args)
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"\x89PNG"
    result = CliRunner().invoke(g, ["figure", "--store", str(store_path), "--year", "2024", "--mode", "hotspot",
                                    "--dpi", "50", "-o", str(tmp_path / "hot.svg")])
    assert result.exit_code == 0, result.output
    assert "Điểm nóng, điểm lạnh về số tiêu chí đạt năm 2024" in (tmp_path / "hot.svg").read_text()
    result = CliRunner().invoke(g, ["figure", "--store", str(store_path), "--year", "2024", "--mode", "indicator",
                                    "-o", str(tmp_path / "x.png")])
    assert result.exit_code != 0 and "'indicator'" in result.output

"""Exporting store layers: round trips per format, RFC 7946 GeoJSON, CSV/Excel, vintages."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point

from geo.text import slugify
from layers.export import export_layer, exportable_layers
from layers.store import Store, utc_now

ROAD_COLUMNS = ["name", "road_class", "surface", "hardened", "width_m", "commune_code", "source"]


def _communes():
    rows = [  # C09 was merged into C01 on 2020-01-10
        ("C09", "Lử Thẩn", None, "2020-01-10", (104.20, 104.30)),
        ("C01", "Sán Chải", "2020-01-10", None, (104.20, 104.35)),
        ("C02", "Bản Mế", None, None, (104.35, 104.42)),
    ]
    return gpd.GeoDataFrame({
        "code": [r[0] for r in rows], "name": [r[1] for r in rows], "slug": [slugify(r[1]) for r in rows],
        "unit_type": "xa", "parent_code": "D01", "valid_from": [r[2] for r in rows], "valid_to": [r[3] for r in rows],
    }, geometry=[MultiPolygon([shapely.box(x0, 22.4, x1, 22.6)]) for *_, (x0, x1) in rows], crs="EPSG:4326")


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "ntm.gpkg", create=True)
    roads = gpd.GeoDataFrame({
        "name": ["Đường Sán Chải – Bản Mế", "Đường thôn Một", None],
        "road_class": ["duong_xa", "duong_thon", "noi_dong"],
        "surface": ["concrete", "earth", None],
        "hardened": pd.array([True, False, None], dtype="boolean"),
        "width_m": [5.5, 3.0, np.nan],
        "commune_code": ["C01", "C01", "C02"],
        "source": "roads.gpkg",
    }, geometry=[LineString([(104.2512345678, 22.5), (104.30, 22.5123456789)]),
                 LineString([(104.21, 22.45), (104.22, 22.46)]),
                 LineString([(104.36, 22.5), (104.40, 22.5)])], crs="EPSG:4326")
    schools = gpd.GeoDataFrame({
        "name": ["TH Sán Chải", "THCS Bản Mế"], "school_level": ["tieu_hoc", "thcs"],
        "meets_standard": [True, False], "satellite": [False, True], "pupils": pd.array([120, None], dtype="Int64"),
        "commune_code": ["C01", "C02"],
    }, geometry=[Point(104.2612345678, 22.51), Point(104.38, 22.55)], crs="EPSG:4326")
    status = pd.DataFrame({
        "unit_code": ["C01", "C02"], "year": [2024, 2024], "set_id": "qd318-2022-xa-ntm", "criterion": [2, 2],
        "met": [True, False], "value_text": ["Đạt", "Không đạt"], "recorded_at": utc_now(),
    })
    with s.transaction() as conn:
        s.insert_features(conn, "communes", _communes())
        s.insert_features(conn, "roads", roads)
        s.insert_features(conn, "schools", schools)
        s.insert_rows(conn, "status_records", status)
    return s


def _norm(df: pd.DataFrame, columns) -> list[list]:
    """Rows as plain Python values (None for missing) sorted by road class, for comparison."""
    df = df.sort_values("road_class")[columns]
    return [[None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in row]
            for row in df.astype(object).itertuples(index=False)]


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".fgb"])
def test_roads_round_trip_vector_formats(store, tmp_path, suffix):
    path = export_layer(store, "roads", tmp_path / f"roads{suffix}")
    back = gpd.read_file(path)
    original = store.read_features("roads")
    assert len(back) == 3 and list(back.columns) == [*ROAD_COLUMNS, "geometry"]
    assert _norm(back, ROAD_COLUMNS) == _norm(original, ROAD_COLUMNS)
    assert back.crs.to_epsg() == 4326
    got = back.sort_values("road_class").geometry.to_numpy()
    want = original.sort_values("road_class").geometry.to_numpy()
    assert shapely.equals_exact(got, want, tolerance=1e-7).all()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_roads_round_trip_attribute_formats(store, tmp_path, suffix):
    path = export_layer(store, "roads", tmp_path / f"roads{suffix}")
    back = pd.read_csv(path, encoding="utf-8-sig") if suffix == ".csv" else pd.read_excel(path)
    assert list(back.columns) == ROAD_COLUMNS  # lines: attributes only
    assert _norm(back, ROAD_COLUMNS) == _norm(store.read_table("roads"), ROAD_COLUMNS)


def test_geojson_is_rfc7946(store, tmp_path):
    path = export_layer(store, "roads", tmp_path / "roads.geojson")
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    assert "crs" not in data and '"crs"' not in text
    coords = [c for f in data["features"] for c in f["geometry"]["coordinates"]]
    assert all(100 < lon < 110 and 20 < lat < 25 for lon, lat in coords)  # lon, lat order
    decimals = [len(m) for m in re.findall(r"\d+\.(\d+)", json.dumps([f["geometry"] for f in data["features"]]))]
    assert max(decimals) == 7
    assert [104.2512346, 22.5] in coords  # rounded to 7 decimals
    assert data["features"][0]["properties"]["name"] == "Đường Sán Chải – Bản Mế"


def test_csv_has_bom_and_point_coordinates(store, tmp_path):
    path = export_layer(store, "schools", tmp_path / "schools.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert list(back.columns[-2:]) == ["lon", "lat"] and "geom" not in back.columns
    assert back["name"].tolist() == ["TH Sán Chải", "THCS Bản Mế"]
    assert back[["lon", "lat"]].values.tolist() == [[104.2612346, 22.51], [104.38, 22.55]]


def test_xlsx_header_is_bold_and_frozen(store, tmp_path):
    path = export_layer(store, "schools", tmp_path / "schools.xlsx")
    ws = openpyxl.load_workbook(path).active
    header = [c.value for c in ws[1]]
    assert header == ["name", "school_level", "meets_standard", "satellite", "pupils", "commune_code",
                      "village_code", "source", "lon", "lat"]
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.max_row == 3 and ws["A2"].value == "TH Sán Chải" and ws["E3"].value is None


@pytest.mark.parametrize("on, codes", [
    (None, ["C01", "C02"]), ("2019-06-01", ["C09", "C02"]), ("2020-01-10", ["C01", "C02"]),
    ("all", ["C09", "C01", "C02"]),
])
def test_admin_vintage_on_date(store, tmp_path, on, codes):
    path = export_layer(store, "communes", tmp_path / "communes.gpkg", on=on)
    back = gpd.read_file(path)
    assert back["code"].tolist() == codes
    assert back.geom_type.unique().tolist() == ["MultiPolygon"]


def test_admin_level_name_and_where(store, tmp_path):
    path = export_layer(store, "commune", tmp_path / "c.csv", where="code = ?", params=["C02"],
                        columns=["code", "name"])
    assert pd.read_csv(path, encoding="utf-8-sig").values.tolist() == [["C02", "Bản Mế"]]


def test_attribute_table_to_csv_and_xlsx(store, tmp_path):
    csv = pd.read_csv(export_layer(store, "status_records", tmp_path / "s.csv"), encoding="utf-8-sig")
    assert csv[["unit_code", "value_text"]].values.tolist() == [["C01", "Đạt"], ["C02", "Không đạt"]]
    xlsx = pd.read_excel(export_layer(store, "status_records", tmp_path / "s.xlsx"))
    assert xlsx["met"].tolist() == [True, False]
    with pytest.raises(ValueError, match="'status_records' can be exported to .csv, .xlsx, not '.gpkg'"):
        export_layer(store, "status_records", tmp_path / "s.gpkg")


def test_errors_name_what_is_allowed(store, tmp_path):
    with pytest.raises(LookupError, match="unknown layer 'bridges'; exportable layers: provinces, districts"):
        export_layer(store, "bridges", tmp_path / "b.gpkg")
    with pytest.raises(ValueError, match=r"'roads' can be exported to \.gpkg, \.geojson, \.fgb, \.csv, \.xlsx, "
                                         r"not '\.shp'"):
        export_layer(store, "roads", tmp_path / "roads.shp")
    with pytest.raises(ValueError, match=r"has no column\(s\) \['klass'\]"):
        export_layer(store, "roads", tmp_path / "roads.csv", columns=["name", "klass"])
    with pytest.raises(ValueError, match="'on' selects a vintage of admin units"):
        export_layer(store, "roads", tmp_path / "roads.csv", on="2024-01-01")
    assert not list(tmp_path.glob("roads*")) and not list(tmp_path.glob(".export-*"))


def test_export_replaces_existing_file(store, tmp_path):
    path = tmp_path / "roads.gpkg"
    export_layer(store, "roads", path)
    export_layer(store, "roads", path, where="commune_code = ?", params=["C02"])
    assert pyogrio.read_info(path)["features"] == 1
    assert pyogrio.list_layers(path)[:, 0].tolist() == ["roads"]


def test_every_exportable_layer_is_a_store_table(store):
    for table in exportable_layers():
        assert store.columns(table)  # StoreError if the table does not exist

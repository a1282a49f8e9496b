"""Infrastructure import: registry vs schema, every input format, CRS, validation, joins."""

from __future__ import annotations

import hashlib
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon

from geo.text import slugify
from layers import infrastructure as infra
from layers._errors import ImportValidationError
from layers.store import Store
from layers.vector_io import VectorReadError

LAT = 22.5


def _box(x0, x1, y0=22.40, y1=22.60):
    return MultiPolygon([shapely.box(x0, y0, x1, y1)])


def _units(rows):
    cols = ["code", "name", "unit_type", "parent_code", "geometry"]
    df = pd.DataFrame(rows, columns=cols)
    df["slug"] = df["name"].map(slugify)
    return gpd.GeoDataFrame(df, geometry="geometry", crs="EPSG:4326")


@pytest.fixture
def store(tmp_path):
    """A province, 2 districts, 3 communes side by side along 22.5°N, 3 villages."""
    s = Store(tmp_path / "ntm.gpkg", create=True)
    with s.transaction() as conn:
        s.insert_features(conn, "provinces", _units([("P01", "Lào Cai", "tinh", None, _box(104.20, 104.50))]))
        s.insert_features(conn, "districts", _units([
            ("D01", "Si Ma Cai", "huyen", "P01", _box(104.20, 104.35)),
            ("D02", "Bắc Hà", "huyen", "P01", _box(104.35, 104.50)),
        ]))
        s.insert_features(conn, "communes", _units([
            ("C01", "Sán Chải", "xa", "D01", _box(104.20, 104.35)),
            ("C02", "Bản Mế", "xa", "D02", _box(104.35, 104.42)),
            ("C03", "Nàn Sín", "xa", "D02", _box(104.42, 104.50)),
        ]))
        s.insert_features(conn, "villages", _units([
            ("V01", "Thôn Một", "thon", "C01", _box(104.20, 104.27)),
            ("V02", "Thôn Hai", "thon", "C01", _box(104.27, 104.35)),
            ("V03", "Thôn Ba", "thon", "C02", _box(104.35, 104.42)),
        ]))
    return s


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _line(x0, x1, y=LAT):
    return LineString([(x0, y), (x1, y)])


def roads_frame(vietnamese: bool = True) -> gpd.GeoDataFrame:
    names = ("Tên đường", "Loại đường", "Kết cấu mặt", "Bề rộng") if vietnamese else (
        "ten_duong", "loai_duong", "ket_cau", "be_rong")
    return gpd.GeoDataFrame({
        names[0]: ["Đường A", "Đường B", "Đường C"],
        names[1]: ["Quốc lộ", "ĐH", "Đường thôn"],
        names[2]: ["Bê tông xi măng", "Đường nhựa", "đất"],
        names[3]: ["5,5", "3", "3.5"],
    }, geometry=[_line(104.25, 104.30), _line(104.36, 104.40), _line(104.43, 104.48)], crs="EPSG:4326")


def write_shp_zip(gdf, tmp_path, name, *, prj=True):
    folder = tmp_path / f"{name}_shp"
    folder.mkdir()
    gdf.to_file(folder / f"{name}.shp", encoding="UTF-8")
    out = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for f in folder.iterdir():
            if prj or f.suffix != ".prj":
                zf.write(f, f.name)
    return out


def write(gdf, tmp_path, name, fmt="gpkg"):
    if fmt == "zip":
        return write_shp_zip(gdf, tmp_path, name)
    path = tmp_path / f"{name}.{fmt}"
    gdf.to_file(path)
    return path


# --- registry -------------------------------------------------------------------------

def test_registry_matches_store_schema(store):
    assert set(infra.LAYERS) == {"roads", "schools", "health_stations", "culture_houses", "markets",
                                 "power_lines", "transformers", "projects"}
    for spec in infra.LAYERS.values():
        columns = {c: t for c, t in store.columns(spec.table).items() if c not in ("fid", "geom")}
        fields = {f.name: f.sql_type for f in spec.fields}
        assert fields == columns, spec.name


def test_duplicate_layer_name_is_an_error():
    with pytest.raises(ValueError, match="already registered"):
        infra.register_layer(infra.LAYERS["roads"])
    with pytest.raises(LookupError, match="layers: roads, schools"):
        infra.get_layer("bridges")


# --- formats and CRS --------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["gpkg", "zip", "geojson", "fgb"])
def test_roads_import_from_every_format(store, tmp_path, fmt):
    path = write(roads_frame(vietnamese=fmt != "zip"), tmp_path, "roads", fmt)
    result = infra.import_infrastructure(store, "roads", path)
    assert (result.rows_read, result.rows_written) == (3, 3)
    roads = store.read_features("roads").sort_values("name").reset_index(drop=True)
    assert roads["name"].tolist() == ["Đường A", "Đường B", "Đường C"]
    assert roads["road_class"].tolist() == ["quoc_lo", "huyen_lo", "duong_thon"]
    assert roads["surface"].tolist() == ["concrete", "asphalt", "earth"]
    assert roads["hardened"].tolist() == [True, True, False]
    assert roads["width_m"].tolist() == [5.5, 3.0, 3.5]
    assert roads["commune_code"].tolist() == ["C01", "C02", "C03"]
    assert roads["source"].iloc[0] == path.name
    assert result.field_sources["hardened"].startswith("derived from surface")
    assert result.field_sources["commune_code"] == "spatial join"
    log = store.read_table("import_log")
    assert log["kind"].tolist() == ["infrastructure:roads"] and log["rows_written"].tolist() == [3]


def test_shapefile_zip_without_prj_needs_crs(store, tmp_path):
    truth = [Point(104.30, 22.45), Point(104.38, 22.55)]
    to_tm3 = Transformer.from_crs("EPSG:4326", "EPSG:9208", always_xy=True)
    xy = [Point(*to_tm3.transform(p.x, p.y)) for p in truth]
    gdf = gpd.GeoDataFrame({"ten_truong": ["TH Sán Chải", "THCS Bản Mế"], "cap_hoc": ["Tiểu học", "THCS"]},
                           geometry=xy, crs="EPSG:9208")
    path = write_shp_zip(gdf, tmp_path, "schools", prj=False)  # the .prj is left out of the zip
    before = sha256(store.path)
    with pytest.raises(VectorReadError, match="--crs"):
        infra.import_infrastructure(store, "schools", path)
    assert sha256(store.path) == before
    infra.import_infrastructure(store, "schools", path, crs="EPSG:9208")
    _assert_within_1m(store, truth)


def test_vn2000_tm3_input_lands_within_1m(store, tmp_path):
    truth = [Point(104.2312345, 22.4312345), Point(104.3987654, 22.5876543), Point(104.4711111, 22.5011111)]
    to_tm3 = Transformer.from_crs("EPSG:4326", "EPSG:9208", always_xy=True)
    xy = [Point(*to_tm3.transform(p.x, p.y)) for p in truth]
    assert xy[0].x > 1000  # really metres
    gdf = gpd.GeoDataFrame({"ten_truong": ["A", "B", "C"], "cap_hoc": ["MN", "TH", "THCS"]},
                           geometry=xy, crs="EPSG:9208")
    path = write(gdf, tmp_path, "schools_vn2000")
    result = infra.import_infrastructure(store, "schools", path)
    assert any("VN-2000" in n for n in result.notes)
    _assert_within_1m(store, truth)


def _assert_within_1m(store, truth):
    got = store.read_features("schools", order_by="fid")
    _, _, dist = Geod(ellps="WGS84").inv(
        got.geometry.x.to_numpy(), got.geometry.y.to_numpy(),
        np.array([p.x for p in truth]), np.array([p.y for p in truth]))
    assert len(got) == len(truth) and np.all(dist < 1.0), dist


# --- fields ---------------------------------------------------------------------------

def test_auto_detection_reports_source_columns(store, tmp_path):
    result = infra.import_infrastructure(store, "roads", write(roads_frame(), tmp_path, "roads"))
    assert result.field_sources["name"] == "Tên đường"
    assert result.field_sources["road_class"] == "Loại đường"
    assert result.field_sources["surface"] == "Kết cấu mặt"
    assert result.field_sources["width_m"] == "Bề rộng"
    assert "Loại đường" in result.summary() and "spatial join" in result.summary()


def test_field_map_overrides_detection(store, tmp_path):
    gdf = roads_frame(vietnamese=False)
    gdf["loai"] = ["?", "?", "?"]  # an alias of road_class with junk in it
    gdf["phan_loai_duong"] = gdf.pop("loai_duong")
    path = write(gdf, tmp_path, "roads")
    with pytest.raises(ImportValidationError, match="column 'loai'"):
        infra.import_infrastructure(store, "roads", path)
    result = infra.import_infrastructure(store, "roads", path, field_map={"road_class": "phan_loai_duong"})
    assert result.field_sources["road_class"] == "phan_loai_duong"
    assert sorted(store.read_table("roads")["road_class"]) == ["duong_thon", "huyen_lo", "quoc_lo"]
    with pytest.raises(ImportValidationError, match="unknown field 'klass'.*fields of roads: name, road_class"):
        infra.import_infrastructure(store, "roads", path, field_map={"klass": "loai"})
    with pytest.raises(ImportValidationError, match="no column 'nope' for road_class"):
        infra.import_infrastructure(store, "roads", path, field_map={"road_class": "nope"})


def test_hardened_given_contradicting_surface_warns(store, tmp_path):
    gdf = roads_frame()
    gdf["cung_hoa"] = ["có", "không", None]
    result = infra.import_infrastructure(store, "roads", write(gdf, tmp_path, "roads"))
    clash = [w for w in result.warnings if "hardened" in w.message]
    assert len(clash) == 1 and clash[0].row == 2 and clash[0].feature == "'Đường B'"
    assert clash[0].column == "cung_hoa"
    roads = store.read_table("roads", order_by="fid")
    assert roads["hardened"].tolist() == [True, False, False]  # file's value kept, blank derived


def test_shapefile_truncated_column_names_are_detected(store, tmp_path):
    gdf = gpd.GeoDataFrame({"ten_duong_day": ["L1"], "cap_dien_ap": ["35 kV"]},
                           geometry=[_line(104.25, 104.3)], crs="EPSG:4326")
    with pytest.warns(UserWarning, match="will be truncated"), pytest.warns(RuntimeWarning, match="laundered"):
        path = write_shp_zip(gdf, tmp_path, "lines")  # GDAL cuts names to 10 characters
    result = infra.import_infrastructure(store, "power_lines", path)
    assert result.field_sources["voltage_kv"] == "cap_dien_a"
    assert result.field_sources["name"] == "ten_duong_"
    assert store.read_table("power_lines")["voltage_kv"].tolist() == [35.0]


def test_power_line_voltages(store, tmp_path):
    gdf = gpd.GeoDataFrame({"ten_tuyen": ["L1", "L2", "L3", "L4"], "cap_dien_ap": ["22kV", "35 kV", "0,4", "22/0,4"]},
                           geometry=[_line(104.25, 104.3)] * 4, crs="EPSG:4326")
    infra.import_infrastructure(store, "power_lines", write(gdf, tmp_path, "lines"))
    assert store.read_table("power_lines", order_by="fid")["voltage_kv"].tolist() == [22.0, 35.0, 0.4, 22.0]


def test_projects_values(store, tmp_path):
    gdf = gpd.GeoDataFrame({
        "Tên công trình": ["Đường liên thôn", "Trường TH", "Nhà văn hóa"],
        "tieu_chi": ["2, 5", "TC2;TC5", "Hạ tầng kinh tế - xã hội"],  # QĐ 51 names in 2026
        "kinh_phi": ["1.234,5", "800", "0,5"],
        "nguon_von": ["Vốn lồng ghép", "NSĐP", "Cộng đồng dân cư"],
        "nam": [2024, 2024, 2026],
        "trang_thai": ["Kế hoạch", "Đang thực hiện", "Hoàn thành"],
    }, geometry=[_line(104.25, 104.3), Point(104.38, LAT), Polygon([(104.44, 22.44), (104.46, 22.44), (104.45, 22.46)])],
        crs="EPSG:4326")
    infra.import_infrastructure(store, "projects", write(gdf, tmp_path, "projects"))
    p = store.read_features("projects", order_by="fid")
    assert p["criteria"].tolist() == ["2,5", "2,5", "2"]
    assert p["cost_mvnd"].tolist() == [1234.5, 800.0, 0.5]
    assert p["funding_source"].tolist() == ["integrated", "local_budget", "community"]
    assert p["state"].tolist() == ["planned", "under_way", "done"]
    assert p["set_id"].tolist() == ["qd318-2022-xa-ntm", "qd318-2022-xa-ntm", "qd51-2025-xa-ntm"]
    assert p["commune_code"].tolist() == ["C01", "C02", "C03"]
    assert p.geometry.geom_type.tolist() == ["LineString", "Point", "Polygon"]


# --- bad input: message names row, column, feature; the store is untouched -------------

def _projects(**over):
    data = {"ten_cong_trinh": ["Đường A"], "kinh_phi": ["100"], "nguon_von": ["Vốn lồng ghép"], "nam": [2024],
            "trang_thai": ["Kế hoạch"], "tieu_chi": ["TC2"]}
    data.update({k: [v] for k, v in over.items()})
    return gpd.GeoDataFrame(data, geometry=[Point(104.3, LAT)], crs="EPSG:4326")


def _schools_multipoint():
    return gpd.GeoDataFrame({"ten_truong": ["TH Lùng Sui"], "cap_hoc": ["TH"]},
                            geometry=[MultiPoint([(104.3, LAT), (104.31, LAT)])], crs="EPSG:4326")


def _road_polygon():
    gdf = roads_frame(vietnamese=False)
    gdf.loc[0, "geometry"] = Polygon([(104.25, 22.5), (104.26, 22.5), (104.26, 22.51)])
    return gdf


def _power_bad():
    return gpd.GeoDataFrame({"ten_tuyen": ["Nhánh Lùng Sui"], "cap_dien_ap": ["hai mươi hai kV"]},
                            geometry=[_line(104.25, 104.3)], crs="EPSG:4326")


BAD_CASES = {
    "unknown road class": ("roads", lambda: _roads_set(1, "loai_duong", "cao tốc"),
                           ["row 2", "column 'loai_duong'", "feature 'Đường B'", "cao tốc", "quoc_lo (Quốc lộ)"]),
    "unparseable voltage": ("power_lines", _power_bad,
                            ["row 1", "column 'cap_dien_ap'", "feature 'Nhánh Lùng Sui'", "hai mươi hai kV"]),
    "missing required value": ("roads", lambda: _roads_set(2, "loai_duong", None),
                               ["row 3", "column 'loai_duong'", "feature 'Đường C'", "required"]),
    "missing required column": ("projects", lambda: _projects().drop(columns="trang_thai"),
                                ["no column for required field state", "trang_thai", "--map state=COLUMN"]),
    "empty geometry": ("roads", lambda: _roads_set(1, "geometry", None),
                       ["row 2", "feature 'Đường B'", "no geometry"]),
    "multipoint with several parts": ("schools", _schools_multipoint,
                                      ["row 1", "feature 'TH Lùng Sui'", "MultiPoint of 2 points"]),
    "polygon in a line layer": ("roads", _road_polygon, ["row 1", "feature 'Đường A'", "got Polygon"]),
    "negative cost": ("projects", lambda: _projects(kinh_phi="-5"),
                      ["row 1", "column 'kinh_phi'", "feature 'Đường A'", "≥ 0"]),
    "unknown funding source": ("projects", lambda: _projects(nguon_von="Ngân hàng thế giới"),
                               ["row 1", "column 'nguon_von'", "Ngân hàng thế giới", "integrated (Vốn lồng ghép)"]),
    "criterion not in set": ("projects", lambda: _projects(tieu_chi="TC25"),
                             ["row 1", "column 'tieu_chi'", "TC25", "qd318-2022-xa-ntm"]),
}


def _roads_set(row, col, value):
    gdf = roads_frame(vietnamese=False)
    if col == "geometry":
        gdf = gdf.set_geometry(gdf.geometry.where(gdf.index != row, None))
    else:
        gdf[col] = gdf[col].astype(object)
        gdf.loc[row, col] = value
    return gdf


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_is_refused_and_named(store, tmp_path, case):
    layer, build, expected = BAD_CASES[case]
    path = write(build(), tmp_path, "bad", "geojson")
    before = sha256(store.path)
    with pytest.raises(ImportValidationError) as err:
        infra.import_infrastructure(store, layer, path)
    message = str(err.value)
    assert "nothing was written" in message
    for part in expected:
        assert part in message, (part, message)
    assert sha256(store.path) == before


# --- geometry handling ------------------------------------------------------------------

def test_multi_lines_are_exploded_with_a_warning(store, tmp_path):
    gdf = gpd.GeoDataFrame({"loai_duong": ["Đường xã", "Đường xã"], "ten": ["Trục xã", "Nhánh"]}, geometry=[
        MultiLineString([[(104.21, LAT), (104.24, LAT)], [(104.37, LAT), (104.40, LAT)]]),
        _line(104.44, 104.46),
    ], crs="EPSG:4326")
    result = infra.import_infrastructure(store, "roads", write(gdf, tmp_path, "multi"))
    assert (result.rows_read, result.rows_written) == (2, 3)
    [warning] = [w for w in result.warnings if "multi-part" in w.message]
    assert "1 multi-part line(s) split into 2 single lines (rows 1)" in warning.message
    roads = store.read_table("roads", order_by="fid")
    assert roads["name"].tolist() == ["Trục xã", "Trục xã", "Nhánh"]
    assert roads["commune_code"].tolist() == ["C01", "C02", "C03"]  # each part joined on its own


def test_invalid_polygon_is_repaired_with_warning(store, tmp_path):
    bowtie = Polygon([(104.44, 22.44), (104.46, 22.46), (104.46, 22.44), (104.44, 22.46)])
    path = write(_projects().set_geometry([bowtie], crs="EPSG:4326"), tmp_path, "bowtie", "geojson")
    result = infra.import_infrastructure(store, "projects", path)
    assert any("repaired" in w.message and w.row == 1 for w in result.warnings)
    assert store.read_features("projects").geometry.is_valid.all()


def test_spatial_join_midpoint_and_outside(store, tmp_path):
    gdf = gpd.GeoDataFrame({"loai_duong": ["DX", "DX"], "ten": ["Qua ranh", "Ngoài tỉnh"]}, geometry=[
        _line(104.33, 104.40),  # starts in C01, midpoint 104.365 in C02
        _line(104.60, 104.70),
    ], crs="EPSG:4326")
    result = infra.import_infrastructure(store, "roads", write(gdf, tmp_path, "join"))
    codes = store.read_table("roads", order_by="fid")["commune_code"]
    assert codes.iloc[0] == "C02" and pd.isna(codes.iloc[1])
    [outside] = [w for w in result.warnings if "outside every commune" in w.message]
    assert (outside.row, outside.feature) == (2, "'Ngoài tỉnh'")


def test_points_get_commune_and_village(store, tmp_path):
    gdf = gpd.GeoDataFrame({"ten": ["NVH Thôn Hai", "NVH xã Bản Mế"], "cap": ["thôn", "xã"]},
                           geometry=[Point(104.30, LAT), Point(104.38, LAT)], crs="EPSG:4326")
    infra.import_infrastructure(store, "culture_houses", write(gdf, tmp_path, "nvh"))
    got = store.read_table("culture_houses", order_by="fid")
    assert got[["commune_code", "village_code", "scope"]].values.tolist() == [
        ["C01", "V02", "village"], ["C02", "V03", "commune"]]


def test_commune_by_name_column(store, tmp_path):
    gdf = gpd.GeoDataFrame({"ten": ["Trạm y tế"] * 2, "xa": ["Xã Bản Mế", "C03"]},
                           geometry=[Point(104.30, LAT), Point(104.30, LAT)], crs="EPSG:4326")
    result = infra.import_infrastructure(store, "health_stations", write(gdf, tmp_path, "tyt"))
    assert result.field_sources["commune_code"] == "xa"
    assert store.read_table("health_stations", order_by="fid")["commune_code"].tolist() == ["C02", "C03"]
    gdf["xa"] = ["Xã Lùng Phình", "C03"]
    with pytest.raises(ImportValidationError, match="row 1, column 'xa'.*no commune named 'Xã Lùng Phình'"):
        infra.import_infrastructure(store, "health_stations", write(gdf, tmp_path, "tyt2"))


def test_store_without_communes_warns_once(tmp_path):
    empty = Store(tmp_path / "empty.gpkg", create=True)
    result = infra.import_infrastructure(empty, "roads", write(roads_frame(), tmp_path, "roads"))
    assert [w.message for w in result.warnings if "no communes" in w.message] == [
        "the store has no communes: commune_code left empty (import admin units first to place features "
        "by spatial join)"]
    assert empty.read_table("roads")["commune_code"].isna().all()


# --- writing ----------------------------------------------------------------------------

def test_replace_is_atomic(store, tmp_path, monkeypatch):
    three = write(roads_frame(), tmp_path, "three")
    two = write(roads_frame().iloc[:2], tmp_path, "two")
    infra.import_infrastructure(store, "roads", three)
    infra.import_infrastructure(store, "roads", two)
    assert store.count("roads") == 5  # append
    result = infra.import_infrastructure(store, "roads", two, replace=True)
    assert (result.rows_replaced, result.rows_written, store.count("roads")) == (5, 2, 2)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(Store, "insert_features", broken)
    with pytest.raises(RuntimeError):
        infra.import_infrastructure(store, "roads", three, replace=True)
    assert store.count("roads") == 2  # the delete was rolled back


def test_dry_run_writes_nothing(store, tmp_path):
    before = sha256(store.path)
    calls = []
    result = infra.import_infrastructure(store, "roads", write(roads_frame(), tmp_path, "r"), dry_run=True,
                                         progress=lambda label, done, total: calls.append((label, done, total)))
    assert calls[0] == ("reading r.gpkg", 0, 1) and calls[-1] == ("validating roads", 3, 3)
    assert (result.rows_ready, result.rows_written, result.dry_run) == (3, 0, True)
    assert "would write 3" in result.summary()
    assert sha256(store.path) == before

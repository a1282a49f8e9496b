"""Uploads: every import of the CLI over HTTP, its limits, and nothing written on failure."""

import io
import zipfile

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from _edit_fixtures import COMMUNE, build_base, make_env


@pytest.fixture(scope="module")
def base(demo_store_path, tmp_path_factory):
    return build_base(demo_store_path, tmp_path_factory.mktemp("uploads"))


@pytest.fixture
def env(base, tmp_path):
    env = make_env(base, tmp_path, upload_max_bytes=2_000_000, upload_max_unzipped_bytes=5_000_000,
                   upload_max_zip_entries=12)
    env.warm("editor_in", "editor_out", "admin")  # so that store hashes compare data only
    return env


def upload(env, path, name, content, role="editor_in", **data):
    return env.client.post(f"/uploads/{path}", files={"file": (name, content)}, data=data,
                           headers=env.auth(role))


def schools(env, level="tieu_hoc") -> gpd.GeoDataFrame:
    commune = env.store.read_features("communes", "code = ?", [COMMUNE])
    point = commune.geometry.representative_point().iloc[0]
    return gpd.GeoDataFrame({"name": ["Trường TH Thử", "Trường MN Thử"], "school_level": [level, "mam_non"]},
                            geometry=[point, shapely.Point(point.x + 0.001, point.y)], crs="EPSG:4326")


def geojson(gdf) -> bytes:
    return gdf.to_json().encode()


def shapefile_zip(gdf, tmp_path) -> bytes:
    gdf = gdf.rename(columns={"school_level": "cap_hoc"})  # Shapefile names have 10 characters
    gdf.to_file(tmp_path / "truong.shp", engine="pyogrio")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in tmp_path.glob("truong.*"):
            zf.write(part, f"truong/{part.name}")
    return buf.getvalue()


def xlsx(rows: list[list]) -> bytes:
    buf = io.BytesIO()
    pd.DataFrame(rows[1:], columns=rows[0]).to_excel(buf, index=False)
    return buf.getvalue()


def province_geojson(code_prefix="Z", name_field="ten_xa") -> bytes:
    gdf = gpd.GeoDataFrame(
        {"ma_xa": [f"{code_prefix}01", f"{code_prefix}02"], name_field: ["Xã Mới 1", "Xã Mới 2"], "ma_huyen": "H09",
         "ten_huyen": "Huyện Mới", "ma_tinh": "54", "ten_tinh": "Phú Yên"},
        geometry=[shapely.box(109.0, 13.0, 109.05, 13.05), shapely.box(109.05, 13.0, 109.1, 13.05)], crs="EPSG:4326")
    return geojson(gdf)


STATUS_CSV = f"code,year,criterion,met\n{COMMUNE},2024,2,Không đạt\n{COMMUNE},2024,3,Đạt\n".encode()
PLANS_CSV = f"commune,year,criterion,action\n{COMMUNE},2025,10,achieve\n{COMMUNE},2025,TC 11,Duy trì\n".encode()
RECOGNITIONS_CSV = "unit,level,year,decision_number,decision_date\nD01-01-010,Đạt chuẩn,2025,QĐ 5/QĐ-UBND,01/12/2025\n".encode()
TARGETS_YAML = b"scope: D01\ntarget_year: 2030\nsource_document: NQ 1/NQ-HDND\ntargets:\n  - metric: communes_dat_chuan\n    value: 100\n"

# kind -> (file name, content, form data, table written, rows added)
GOOD = {
    "status": ("xa-2024.csv", STATUS_CSV, {}, "status_records", 1),
    "status-xlsx": ("xa-2024.xlsx", xlsx([["Mã xã", "Năm", "Tiêu chí", "Đạt"], [COMMUNE, 2024, 2, "Không đạt"]]),
                    {}, "status_records", 1),
    "plans": ("ke-hoach.csv", PLANS_CSV, {"document": "KH 12/KH-UBND"}, "plans", 0),  # 2 replaced, 2 written
    "recognitions": ("cong-nhan.csv", RECOGNITIONS_CSV, {}, "recognitions", 1),
    "targets": ("chi-tieu.yaml", TARGETS_YAML, {}, "targets", 1),
}


@pytest.mark.parametrize("kind", list(GOOD))
def test_good_sheets_are_imported_and_audited(env, kind):
    name, content, data, table, added = GOOD[kind]
    before = env.store.count(table)
    r = upload(env, kind.split("-")[0], name, content, **data)
    body = r.json()
    assert r.status_code == 200, body
    assert body["file"] == name and body["dry_run"] is False and body["audit_entries"] >= 1
    assert env.store.count(table) == before + added
    rid = r.headers["x-request-id"]
    entries = env.store.read_table("audit_log", "request_id = ?", [rid])
    assert len(entries) == body["audit_entries"] and set(entries["actor"]) == {"editor-d01"}
    assert set(entries["action"]) == {f"import.{kind.split('-')[0]}"}
    assert entries["resource"].iloc[0] == f"imports/{kind.split('-')[0]}/{name}"


def test_status_upload_history_shows_before_and_after(env):
    r = upload(env, "status", "xa-2024.csv", STATUS_CSV, source_document="BC 3/BC-UBND")
    assert r.status_code == 200 and r.json()["written"] == 1  # criterion 3 was already met
    entry = env.client.get(f"/communes/{COMMUNE}/history").json()["entries"][0]
    assert entry["action"] == "import.status" and entry["source_document"] == "BC 3/BC-UBND"
    assert entry["before"]["rows"][0]["met"] is True and entry["after"]["rows"][0]["met"] is False


def test_dry_run_writes_nothing(env, file_hash):
    before = file_hash(env.store.path)
    r = upload(env, "status", "xa.csv", STATUS_CSV, dry_run="true")
    assert r.status_code == 200 and r.json()["dry_run"] is True and r.json()["changes_count"] == 2
    assert file_hash(env.store.path) == before


BAD = {
    "status": ("bad.csv", f"code,year,criterion,met\n{COMMUNE},2024,25,Đạt\nXX,2024,3,Đạt\n".encode(),
               [(2, "criterion", "unknown criterion '25'"), (3, "code", "no commune has code 'XX'")]),
    "plans": ("bad.csv", f"commune,year,criterion,action\n{COMMUNE},2025,TC 99,achieve\n".encode(),
              [(2, None, "99")]),
    "recognitions": ("bad.csv", "unit,level,year\nD01-01-010,Vàng,2025\n".encode(),
                     [(2, "level", "unknown recognition level 'Vàng'")]),
    "targets": ("bad.yaml", b"scope: D01\ntarget_year: 2030\ntargets:\n  - metric: communes_gold\n    value: 1\n",
                [(None, None, "targets[0].metric: unknown metric 'communes_gold'")]),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_sheets_are_422_with_located_problems(env, kind, file_hash):
    name, content, expected = BAD[kind]
    before = file_hash(env.store.path)
    r = upload(env, kind, name, content)
    body = r.json()
    assert r.status_code == 422 and body["code"] == "InvalidInput", body
    for (row, column, text), problem in zip(expected, body["problems"]):
        assert problem["file"] == name and text in problem["message"]
        assert problem.get("row") == row
        if column:
            assert problem["column"] == column
    assert file_hash(env.store.path) == before


# --- vector layers ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["geojson", "zip"])
def test_infrastructure_upload(env, fmt, tmp_path):
    content = geojson(schools(env)) if fmt == "geojson" else shapefile_zip(schools(env), tmp_path)
    before = env.store.count("schools")
    r = upload(env, "infrastructure/schools", f"truong.{fmt}", content,
               **({"map": "school_level=cap_hoc"} if fmt == "zip" else {}))
    assert r.status_code == 200, r.text
    assert r.json()["rows_written"] == 2 and env.store.count("schools") == before + 2
    entry = env.client.get(f"/communes/{COMMUNE}/history").json()["entries"][0]
    assert entry["action"] == "import.infrastructure" and len(entry["after"]["rows"]) == 2
    assert entry["after"]["table"] == "schools" and "geom" not in entry["after"]["rows"][0]


def test_infrastructure_outside_the_editors_provinces_is_403_and_rolled_back(env, file_hash):
    before = file_hash(env.store.path)
    r = upload(env, "infrastructure/schools", "truong.geojson", geojson(schools(env)), role="editor_out")
    assert r.status_code == 403 and f"'{COMMUNE}' (province D01)" in r.json()["description"]
    assert file_hash(env.store.path) == before


def test_infrastructure_bad_features_are_located(env, file_hash):
    before = file_hash(env.store.path)
    r = upload(env, "infrastructure/schools", "truong.geojson", geojson(schools(env, level="dai_hoc")))
    problem = r.json()["problems"][0]
    assert r.status_code == 422 and problem["row"] == 1 and problem["column"] == "school_level"
    assert problem["feature"] == "'Trường TH Thử'" and "'dai_hoc' is not a known cấp học" in problem["message"]
    assert file_hash(env.store.path) == before


def test_replacing_a_layer_needs_an_admin(env):
    r = upload(env, "infrastructure/schools", "t.geojson", geojson(schools(env)), replace="true")
    assert r.status_code == 403 and "admin" in r.json()["description"]
    r = upload(env, "infrastructure/schools", "t.geojson", geojson(schools(env)), role="admin", replace="true")
    assert r.status_code == 200 and env.store.count("schools") == 2


def test_boundaries_upload_by_admin(env):
    r = upload(env, "boundaries", "tinh-moi.geojson", province_geojson(), role="admin",
               level="commune", build_parents="true")
    assert r.status_code == 200, r.text
    assert r.json()["counts"] == {"district": 1, "province": 1, "commune": 2}
    assert env.store.count("communes", "code IN ('Z01', 'Z02')") == 2
    entries = env.store.read_table("audit_log", "action = 'import.boundaries'")
    assert set(entries["unit_code"]) == {"Z01", "Z02", "H09", "54"}


def test_boundaries_from_a_chosen_geopackage_layer(env, tmp_path):
    path = tmp_path / "ranh-gioi.gpkg"
    gpd.read_file(io.BytesIO(province_geojson())).to_file(path, layer="xa")
    gpd.read_file(io.BytesIO(province_geojson("Y"))).to_file(path, layer="khac")
    r = upload(env, "boundaries", "ranh-gioi.gpkg", path.read_bytes(), role="admin", level="commune",
               layer="xa", build_parents="true", valid_from="2025-07-01")
    assert r.status_code == 200, r.text
    assert env.store.count("communes", "code IN ('Z01', 'Z02') AND valid_from = '2025-07-01'") == 2
    assert env.store.count("communes", "code LIKE 'Y%'") == 0


def test_bad_boundaries_are_422(env, file_hash):
    before = file_hash(env.store.path)
    r = upload(env, "boundaries", "tinh.geojson", province_geojson(name_field="xyz"), role="admin", level="commune")
    assert r.status_code == 422 and r.json()["problems"][0]["file"] == "tinh.geojson"
    assert file_hash(env.store.path) == before


def test_unreadable_vector_file_is_422_without_server_paths(env):
    r = upload(env, "infrastructure/roads", "duong.geojson", b'{"type": "FeatureCollection", "features": [')
    body = r.json()
    assert r.status_code == 422 and body["problems"][0]["file"] == "duong.geojson"
    assert "ntm-upload-" not in body["description"]


# --- limits -------------------------------------------------------------------------------


def zip_of(entries: dict[str, bytes], *, attrs: dict[str, int] | None = None,
           compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            if attrs and name in attrs:
                info.external_attr = attrs[name] << 16
            zf.writestr(info, data)
    return buf.getvalue()


SHAPE = {"a.shp": b"x", "a.shx": b"x", "a.dbf": b"x"}
UNSAFE = {
    "zip slip": (zip_of(SHAPE | {"../../etc/evil.shp": b"x"}), "../../etc/evil.shp", "zip slip"),
    "absolute": (zip_of(SHAPE | {"/etc/passwd.shp": b"x"}), "/etc/passwd.shp", "absolute path"),
    "windows absolute": (zip_of(SHAPE | {"C:\\x\\a.prj": b"x"}), "C:\\x\\a.prj", "absolute path"),
    "symlink": (zip_of(SHAPE | {"link.prj": b"/etc/passwd"}, attrs={"link.prj": 0o120777}), "link.prj",
                "symbolic link"),
    "foreign type": (zip_of(SHAPE | {"run.exe": b"MZ"}), "run.exe", "unexpected file type"),
}


@pytest.mark.parametrize("case", list(UNSAFE))
def test_unsafe_zip_entries_are_refused(env, case, file_hash):
    content, entry, text = UNSAFE[case]
    before = file_hash(env.store.path)
    r = upload(env, "infrastructure/roads", "duong.zip", content)
    problems = r.json()["problems"]
    assert r.status_code == 422 and any(p["feature"] == entry and text in p["message"] for p in problems), problems
    assert file_hash(env.store.path) == before


@pytest.mark.parametrize("path, name, content, text", [
    ("infrastructure/roads", "bomb.zip", zip_of({"a.shp": bytes(3_000_000), "a.shx": b"", "a.dbf": b""}),
     "looks like a zip bomb"),
    ("status", "bomb.xlsx", zip_of({"xl/worksheets/sheet1.xml": bytes(3_000_000)}), "looks like a zip bomb"),
    ("infrastructure/roads", "many.zip", zip_of({f"a{k}.txt": b"x" for k in range(13)}), "13 entries"),
    ("status", "big.csv", b"code,year\n" + b"x" * 2_100_000, "larger than the limit"),
])
def test_size_limits_are_413(env, path, name, content, text, file_hash):
    before = file_hash(env.store.path)
    r = upload(env, path, name, content)
    assert r.status_code == 413 and text in r.json()["description"], r.text
    assert r.json()["code"] == "PayloadTooLarge"
    assert file_hash(env.store.path) == before


def test_archive_expanding_beyond_the_total_cap_is_413(env):
    # 7 entries of 900 kB zeros: each below the 1 MiB ratio threshold, 6.3 MB in all > 5 MB
    content = zip_of({f"p{k}.txt": bytes(900_000) for k in range(7)})
    r = upload(env, "infrastructure/roads", "many.zip", content)
    assert r.status_code == 413 and "expands to 6,300,000 bytes" in r.json()["description"]


def test_corrupt_zip_is_422(env):
    content = zip_of(SHAPE)
    r = upload(env, "infrastructure/roads", "duong.zip", content[:40])
    assert r.status_code == 422 and "not a valid zip archive" in r.json()["problems"][0]["message"]


def test_declared_oversize_is_refused_before_reading(env):
    r = env.client.post("/uploads/status", headers=env.auth("editor_in") | {"content-type": "multipart/form-data; boundary=x",
                                                                              "content-length": "999999999"},
                        content=b"--x--\r\n")
    assert r.status_code == 413 and r.json()["code"] == "PayloadTooLarge"


def test_streamed_oversize_is_cut_off(env):
    def chunks():
        yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        for _ in range(40):
            yield b"y" * 100_000
        yield b"\r\n--x--\r\n"

    r = env.client.post("/uploads/status", content=chunks(),
                        headers=env.auth("editor_in") | {"content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 413 and "NTM_UPLOAD_MAX_BYTES" in r.json()["description"]


@pytest.mark.parametrize("path, name, content, text", [
    ("status", "virus.exe", b"MZ\x90\x00", "type '.exe' is not accepted"),
    ("status", "xa.xlsx", STATUS_CSV, "not an XLSX workbook"),
    ("infrastructure/roads", "duong.shp", b"\x00\x00\x27\x0a", "type '.shp' is not accepted"),
    ("infrastructure/roads", "duong.gpkg", b"hello", "not a GeoPackage"),
    ("infrastructure/roads", "duong.geojson", b"[1, 2]", "not a GeoJSON object"),
    ("infrastructure/roads", "duong.fgb", b"PK\x03\x04", "not a FlatGeobuf"),
    ("targets", "t.yaml", b"\x00\x01binary", "binary"),
    ("boundaries", "noname", b"{}", "type '(none)'"),
])
def test_wrong_file_types_are_415(env, path, name, content, text):
    role = "admin" if path == "boundaries" else "editor_in"
    r = upload(env, path, name, content, role=role, **({"level": "commune"} if path == "boundaries" else {}))
    assert r.status_code == 415 and text in r.json()["description"], r.text
    assert r.json()["code"] == "UnsupportedMediaType"


def test_client_file_names_cannot_escape_the_upload_folder(env):
    r = upload(env, "status", "../../../etc/xa-2024.csv", STATUS_CSV)
    assert r.status_code == 200 and r.json()["file"] == "xa-2024.csv"


def test_empty_file_is_422(env):
    r = upload(env, "status", "xa.csv", b"")
    assert r.status_code == 422 and r.json()["problems"][0]["message"] == "the file is empty"

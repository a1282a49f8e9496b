import sqlite3

import geopandas as gpd
import pyogrio
import pytest
import shapely

from layers import schema
from layers._errors import StoreError
from layers.store import Store


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "s.gpkg", create=True)


def provinces(n=2):
    return gpd.GeoDataFrame(
        {"code": [f"{k:02d}" for k in range(n)], "name": ["Lào Cai", "Lai Châu"][:n],
         "slug": ["lao-cai", "lai-chau"][:n], "unit_type": ["tinh"] * n},
        geometry=[shapely.MultiPolygon([shapely.box(103 + k, 22, 104 + k, 23)]) for k in range(n)],
        crs="EPSG:4326",
    )


def test_new_store_is_a_geopackage_gdal_lists(store):
    layers = dict(pyogrio.list_layers(store.path))
    for table in schema.FEATURE_TABLES:
        assert table in layers
    assert layers["communes"] == "MultiPolygon"
    assert layers["roads"] == "LineString"
    assert layers["status_records"] is None  # attribute table
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert store.meta()["schema_version"] == str(schema.SCHEMA_VERSION)


def test_every_feature_table_has_a_spatial_index(store):
    with store.transaction() as conn:
        store.insert_features(conn, "provinces", provinces())
    for table in schema.FEATURE_TABLES:
        info = pyogrio.read_info(store.path, layer=table)
        assert info["capabilities"]["fast_spatial_filter"], table
    with sqlite3.connect(store.path) as conn:
        ext = {r[0] for r in conn.execute("SELECT table_name FROM gpkg_extensions WHERE extension_name='gpkg_rtree_index'")}
        assert ext == set(schema.FEATURE_TABLES)
        assert conn.execute("SELECT count(*) FROM rtree_provinces_geom").fetchone()[0] == 2


def test_written_features_read_back_through_gdal_and_ours(store):
    with store.transaction() as conn:
        store.insert_features(conn, "provinces", provinces())
    gdal = gpd.read_file(store.path, layer="provinces")
    ours = store.read_features("provinces")
    assert list(gdal["name"]) == ["Lào Cai", "Lai Châu"]
    assert ours.geometry.equals(gdal.geometry)
    assert list(store.read_features("provinces", bbox=(104.5, 22.5, 104.6, 22.6))["code"]) == ["01"]
    bounds = pyogrio.read_info(store.path, layer="provinces")["total_bounds"]
    assert tuple(bounds) == (103.0, 22.0, 105.0, 23.0)


def test_failed_transaction_leaves_file_identical(store, file_hash):
    before = file_hash(store.path)
    revision = store.revision
    with pytest.raises(RuntimeError, match="boom"):
        with store.transaction() as conn:
            store.insert_features(conn, "provinces", provinces())
            raise RuntimeError("boom")
    assert file_hash(store.path) == before
    assert store.revision == revision
    assert store.count("provinces") == 0


def test_each_commit_bumps_the_revision(store):
    r0 = store.revision
    with store.transaction() as conn:
        store.insert_features(conn, "provinces", provinces(1))
    assert store.revision == r0 + 1


def test_status_records_are_append_only(store):
    row = {"unit_code": "x", "year": 2024, "set_id": "s", "criterion": 1, "met": True, "recorded_at": "2024-01-01T00:00:00.000Z"}
    with store.transaction() as conn:
        store.insert_rows(conn, "status_records", [row])
    for sql in ("UPDATE status_records SET met = 0", "DELETE FROM status_records"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            with store.transaction() as conn:
                conn.execute(sql)
    assert store.read_table("status_records")["met"].tolist() == [True]


def test_same_code_and_vintage_cannot_repeat(store):
    with store.transaction() as conn:
        store.insert_features(conn, "provinces", provinces(1))
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        with store.transaction() as conn:
            store.insert_features(conn, "provinces", provinces(1))
    later = provinces(1).assign(valid_from="2025-07-01")
    with store.transaction() as conn:  # a new vintage of the same code is fine
        store.insert_features(conn, "provinces", later)


def test_insert_refuses_other_crs_and_unknown_columns(store):
    with pytest.raises(StoreError, match="must be in EPSG:4326"):
        with store.transaction() as conn:
            store.insert_features(conn, "provinces", provinces().to_crs(9208))
    with pytest.raises(StoreError, match=r"no column\(s\) \['colour'\]"):
        with store.transaction() as conn:
            store.insert_features(conn, "provinces", provinces().assign(colour="red"))


def test_missing_foreign_and_newer_files_are_refused(tmp_path, store):
    with pytest.raises(StoreError, match="does not exist; build the demo"):
        Store(tmp_path / "nope.gpkg")
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StoreError, match="not an NTM Atlas store"):
        Store(other)
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE ntm_meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer than this"):
        Store(store.path)


def test_bulk_insert_fills_the_spatial_index_like_the_triggers(store):
    from layers import store as store_mod

    n = store_mod._BULK_ROWS + 10
    pts = gpd.GeoDataFrame({"name": [f"T{k}" for k in range(n)], "meets_standard": True},
                           geometry=shapely.points(104 + (k := __import__("numpy").arange(n)) * 1e-4, 22 + k * 1e-5),
                           crs=4326)
    with store.transaction() as conn:
        store.insert_features(conn, "health_stations", pts.iloc[:5])   # per-row triggers
        store.insert_features(conn, "health_stations", pts)            # bulk path
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT count(*) FROM rtree_health_stations_geom").fetchone()[0] == n + 5
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'rtree_health_stations_geom_insert'").fetchone()[0] == 1
        bad = conn.execute(
            "SELECT count(*) FROM health_stations h JOIN rtree_health_stations_geom r ON r.id = h.fid "
            "WHERE NOT (r.minx <= 104 + CAST(substr(h.name, 2) AS INTEGER) * 1e-4 "
            "AND 104 + CAST(substr(h.name, 2) AS INTEGER) * 1e-4 <= r.maxx "
            "AND r.maxx - r.minx < 1e-4)").fetchone()[0]
        assert bad == 0
    hits = gpd.read_file(store.path, layer="health_stations", bbox=(104.0999, 22.0, 104.1001, 23.0))
    assert set(hits["name"]) >= {"T1000"}


def test_a_version_1_store_is_migrated_forward(tmp_path):
    from layers import _gpkg
    from layers.store import _split_sql

    path = tmp_path / "v1.gpkg"
    conn = sqlite3.connect(path, isolation_level=None)
    _gpkg.register_functions(conn)
    for statement in _split_sql(schema.MIGRATIONS[1]):
        conn.execute(statement)
    conn.executemany("INSERT INTO ntm_meta VALUES (?, ?)", [("schema_version", "1"), ("revision", "5"), ("label", "")])
    conn.close()
    store = Store(path)
    assert store.meta()["schema_version"] == str(schema.SCHEMA_VERSION)
    assert store.meta()["revision"] == "5"
    assert "actor" in store.columns("audit_log") and "key_hash" in store.columns("api_keys")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        with store.transaction() as c:
            c.execute("INSERT INTO audit_log (at, actor, action, resource) VALUES ('t', 'a', 'x', 'r')")
            c.execute("DELETE FROM audit_log")

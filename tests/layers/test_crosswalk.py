import geopandas as gpd
import pytest
import shapely
import yaml

from layers import admin_units
from layers._errors import ImportValidationError
from layers.boundaries import import_boundaries
from layers.crosswalk import apply_changes, changes_from_yaml, crosswalk_by_overlay
from layers.store import Store


@pytest.fixture
def store(tmp_path, grid):
    s = Store(tmp_path / "s.gpkg", create=True)
    gdf = grid(3, 1)
    gdf["ten_huyen"], gdf["ma_tinh"], gdf["ten_tinh"] = "Huyện Thử", "10", "Lào Cai"
    gdf.to_file(tmp_path / "xa.gpkg")
    import_boundaries(s, tmp_path / "xa.gpkg", level="commune", build_parents=True)
    villages = gpd.GeoDataFrame(
        {"ma_thon": ["V1", "V2"], "ten_thon": ["Thôn Một", "Thôn Hai"], "ma_xa": ["C000", "C002"]},
        geometry=[shapely.box(104.0, 22.0, 104.05, 22.05), shapely.box(104.1, 22.0, 104.15, 22.05)], crs=4326)
    villages.to_file(tmp_path / "thon.gpkg")
    import_boundaries(s, tmp_path / "thon.gpkg", level="village")
    return s


def act(tmp_path, changes, **top):
    doc = {"legal_act": "NQ 1/NQ-UBTVQH15 (thử)", "effective_date": "2025-01-01", "level": "commune",
           "within": "Huyện Thử", "changes": changes} | top
    path = tmp_path / "act.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_merge_by_names_closes_old_units_and_records_shares(store, tmp_path):
    path = act(tmp_path, [{"from": ["Xã Thử 1", "Thử 2"], "into": {"code": "N01", "name": "Thử Mới", "unit_type": "xa"}}])
    rows = apply_changes(store, path)
    assert list(rows["old_code"]) == ["C000", "C001"]
    assert rows["new_share"].sum() == pytest.approx(1.0)
    assert set(rows["new_share"].round(3)) == {0.5}
    before = admin_units.units_in_scope(store, "H01", "commune", on="2024-12-31")
    after = admin_units.units_in_scope(store, "H01", "commune", on="2025-01-01")
    assert sorted(before["code"]) == ["C000", "C001", "C002"]
    assert sorted(after["code"]) == ["C002", "N01"]
    new = store.read_features("communes", "code = 'N01'").iloc[0]
    assert new["parent_code"] == "H01" and new["region"] == "tdmnpb" and new["valid_from"] == "2025-01-01"
    assert new.geometry.area == pytest.approx(shapely.box(104.0, 22.0, 104.1, 22.05).area)
    assert len(new.geometry.geoms) == 1  # the shared border is gone
    # the village of a merged commune continues under the new commune
    v1 = store.read_table("villages", "code = 'V1'", order_by="ifnull(valid_from, '')")
    assert list(v1["parent_code"]) == ["C000", "N01"]
    assert list(v1["valid_to"].fillna("")) == ["2025-01-01", ""]
    assert store.count("crosswalk") == 2


def test_rename_and_type_change(store, tmp_path):
    path = act(tmp_path, [{"from": ["C002"], "into": {"code": "TT1", "name": "Thử", "unit_type": "thi_tran"}}])
    rows = apply_changes(store, path)
    assert rows.iloc[0][["old_share", "new_share"]].tolist() == [1.0, 1.0]
    tt = store.read_features("communes", "code = 'TT1'").iloc[0]
    assert tt["full_name"] == "Thị trấn Thử"


@pytest.mark.parametrize(
    "changes, message",
    [
        ([{"from": ["Thử 9"], "into": {"code": "N", "name": "N", "unit_type": "xa"}}], "old unit 'Thử 9': no commune named 'Thử 9'"),
        ([{"from": ["C000"], "into": {"code": "N", "name": "N", "unit_type": "huyen"}}], "unit_type 'huyen' is not a commune type"),
        ([{"from": ["C000"], "into": {"code": "A", "name": "A", "unit_type": "xa"}},
          {"from": ["C000", "C001"], "into": {"code": "B", "name": "B", "unit_type": "xa"}}], r"old unit 'C000' also appears in changes\[0\]"),
        ([{"from": ["C000"], "into": {"name": "A", "unit_type": "xa"}}], r"changes\[0\]\.into\.code.*missing 'code'"),
    ],
)
def test_bad_acts_are_refused_without_writing(store, tmp_path, file_hash, changes, message):
    before = file_hash(store.path)
    with pytest.raises(ImportValidationError, match=message):
        apply_changes(store, act(tmp_path, changes))
    assert file_hash(store.path) == before


def test_missing_keys_in_act(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("legal_act: X\nlevel: commune\n", encoding="utf-8")
    with pytest.raises(ImportValidationError, match="missing 'effective_date'"):
        changes_from_yaml(path)


def test_dry_run_and_applying_twice(store, tmp_path, file_hash):
    path = act(tmp_path, [{"from": ["C000", "C001"], "into": {"code": "N01", "name": "Mới", "unit_type": "xa"}}])
    before = file_hash(store.path)
    assert len(apply_changes(store, path, dry_run=True)) == 2
    assert file_hash(store.path) == before
    apply_changes(store, path)
    with pytest.raises(ImportValidationError, match="new unit 'N01' already exists from 2025-01-01"):
        apply_changes(store, path)
    later = act(tmp_path, [{"from": ["C000"], "into": {"code": "N02", "name": "Khác", "unit_type": "xa"}}],
                effective_date="2025-06-01")
    with pytest.raises(ImportValidationError, match="'C000': no commune named 'C000'"):
        apply_changes(store, later)


def test_crosswalk_by_overlay_for_a_split(store, tmp_path):
    halves = gpd.GeoDataFrame(
        {"ma_xa": ["S1", "S2"], "ten_xa": ["Xã Nam", "Xã Bắc"], "ma_huyen": ["H01", "H01"]},
        geometry=[shapely.box(104.1, 22.0, 104.15, 22.02), shapely.box(104.1, 22.02, 104.15, 22.05)], crs=4326)
    halves.to_file(tmp_path / "split.gpkg")
    with store.transaction() as conn:
        conn.execute("UPDATE communes SET valid_to = '2025-07-01' WHERE code = 'C002'")
    import_boundaries(store, tmp_path / "split.gpkg", level="commune", valid_from="2025-07-01")
    rows = crosswalk_by_overlay(store, "commune", old_on="2025-06-30", new_on="2025-07-01",
                                legal_act="NQ 2/NQ-UBTVQH15 (thử)", effective_date="2025-07-01")
    assert sorted(rows["new_code"]) == ["S1", "S2"]
    assert set(rows["old_code"]) == {"C002"}
    assert rows["old_share"].sum() == pytest.approx(1.0)
    assert rows.set_index("new_code")["old_share"]["S1"] == pytest.approx(0.4, abs=0.01)
    assert set(rows["new_share"].round(6)) == {1.0}


def test_merged_commune_keeps_recognition_only_if_all_parts_had_it(store, tmp_path):
    from layers.recognitions import record_recognition

    record_recognition(store, "C000", "dat_chuan", 2019, decision_number="QĐ 1/QĐ-UBND")
    record_recognition(store, "C001", "dat_chuan", 2022, decision_number="QĐ 2/QĐ-UBND")
    path = act(tmp_path, [{"from": ["C000", "C001"], "into": {"code": "N01", "name": "Mới", "unit_type": "xa"}},
                          {"from": ["C002"], "into": {"code": "N02", "name": "Khác", "unit_type": "xa"}}])
    rows = apply_changes(store, path)
    assert len(rows.attrs["recognitions"]) == 1
    rec = store.read_table("recognitions", "unit_code = 'N01'")
    assert rec[["level", "year"]].values.tolist() == [["dat_chuan", 2022]]
    assert "CV 3372" in rec["note"].iloc[0]


def test_merged_commune_with_an_unrecognised_part_is_reviewed_again(store, tmp_path):
    from layers.recognitions import record_recognition

    record_recognition(store, "C000", "dat_chuan", 2019)
    rows = apply_changes(store, act(tmp_path, [{"from": ["C000", "C001"], "into": {"code": "N01", "name": "Mới", "unit_type": "xa"}}]))
    assert store.count("recognitions", "unit_code = 'N01'") == 0
    assert "C001" in rows.attrs["recognitions"][0]

"""Recognition records: import, standing status per year, at-risk communes, mergers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from layers import recognitions
from layers._errors import ImportValidationError
from layers.store import Store
from _units import add_units as _add_units, sha256 as _sha

SET = "qd318-2022-xa-ntm"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The fixture store, built once per module and copied for each test."""
    path = tmp_path_factory.mktemp("template") / "rec.gpkg"
    s = Store(path, create=True)
    _add_units(s, "provinces", [{"code": "LCA", "name": "Lào Cai", "unit_type": "tinh"}])
    _add_units(s, "districts", [
        {"code": "SMC", "name": "Si Ma Cai", "unit_type": "huyen", "parent_code": "LCA"},
        {"code": "LCT", "name": "Lào Cai", "unit_type": "thanh_pho", "parent_code": "LCA"},
    ])
    _add_units(s, "communes", [
        # the 2020 merger: three communes -> Quan Hồ Thẩn, two -> Lùng Thẩn (codes invented)
        {"code": "OLD-QTS", "name": "Quan Thần Sán", "unit_type": "xa", "parent_code": "SMC", "valid_to": "2020-02-01"},
        {"code": "OLD-CH", "name": "Cán Hồ", "unit_type": "xa", "parent_code": "SMC", "valid_to": "2020-02-01"},
        {"code": "OLD-MT", "name": "Mản Thẩn", "unit_type": "xa", "parent_code": "SMC", "valid_to": "2020-02-01"},
        {"code": "OLD-LT", "name": "Lử Thẩn", "unit_type": "xa", "parent_code": "SMC", "valid_to": "2020-02-01"},
        {"code": "OLD-LS", "name": "Lùng Sui", "unit_type": "xa", "parent_code": "SMC", "valid_to": "2020-02-01"},
        {"code": "SMC-06", "name": "Quan Hồ Thẩn", "unit_type": "xa", "parent_code": "SMC", "valid_from": "2020-02-01"},
        {"code": "SMC-08", "name": "Lùng Thẩn", "unit_type": "xa", "parent_code": "SMC", "valid_from": "2020-02-01"},
        {"code": "SMC-01", "name": "Sín Chéng", "unit_type": "xa", "parent_code": "SMC"},
        {"code": "SMC-02", "name": "Bản Mế", "unit_type": "xa", "parent_code": "SMC"},
        {"code": "SMC-04", "name": "Cán Cấu", "unit_type": "xa", "parent_code": "SMC"},
        {"code": "SMC-05", "name": "Sán Chải", "unit_type": "xa", "parent_code": "SMC"},
    ])
    _add_units(s, "villages", [
        {"code": "V-CCS", "name": "Cán Chư Sừ", "unit_type": "thon", "parent_code": "SMC-04"},
        {"code": "V-MSC", "name": "Mào Sao Chải", "unit_type": "thon", "parent_code": "SMC-01"},
        {"code": "V-LC", "name": "Lao Chải", "unit_type": "thon", "parent_code": "SMC-05"},
    ])
    return path


@pytest.fixture
def store(template, tmp_path) -> Store:
    path = tmp_path / template.name
    shutil.copyfile(template, path)
    return Store(path)


RECOGNITIONS_CSV = """Đơn vị,Cấp,Mức công nhận,Năm,Số quyết định,Ngày quyết định,Cơ quan ban hành,Hiệu lực đến
Sín Chéng,xã,Đạt chuẩn,2019,QĐ 101/QĐ-UBND,20/12/2019,UBND tỉnh Lào Cai,
Sín Chéng,xã,Nâng cao,2023,QĐ 202/QĐ-UBND,15/12/2023,UBND tỉnh Lào Cai,
SMC-02,,dat_chuan,2020,QĐ 303/QĐ-UBND,2020-12-01,UBND tỉnh Lào Cai,
Cán Cấu,xã,NTM,2021,QĐ 404/QĐ-UBND,10/12/2021,UBND tỉnh Lào Cai,
Cán Chư Sừ,thôn,Kiểu mẫu,2022,QĐ 55/QĐ-UBND,01/11/2022,UBND huyện Si Ma Cai,31/10/2025
Mào Sao Chải,thôn,Đạt chuẩn,2021,QĐ 56/QĐ-UBND,01/11/2021,UBND huyện Si Ma Cai,31/10/2024
LCT,huyện,Hoàn thành nhiệm vụ,2019,QĐ 900/QĐ-TTg,2019-07-01,Thủ tướng Chính phủ,
"""


@pytest.fixture
def recognised(store, tmp_path) -> Store:
    path = tmp_path / "cong-nhan.csv"
    path.write_text(RECOGNITIONS_CSV, encoding="utf-8")
    summary = recognitions.import_recognitions(store, path, recorded_by="vpdp")
    assert summary["rows"] == 7
    return store


def test_import_reads_vietnamese_labels_and_dates(recognised):
    df = recognised.read_table("recognitions", order_by="id")
    assert list(df["level"]) == ["dat_chuan", "nang_cao", "dat_chuan", "dat_chuan", "kieu_mau",
                                 "dat_chuan", "hoan_thanh"]
    assert list(df["unit_level"]) == ["commune"] * 4 + ["village"] * 2 + ["district"]
    assert df["decision_date"].iloc[0] == "2019-12-20"
    assert df["valid_until"].iloc[4] == "2025-10-31"
    assert list(recognised.read_table("import_log")["kind"]) == ["recognitions"]


def test_recognition_status_highest_standing_level(recognised):
    rs = recognitions.recognition_status(recognised, 2024, scope_code="SMC").set_index("unit_code")
    assert rs.loc["SMC-01", ["level", "recognised_year", "level_vi"]].tolist() == ["nang_cao", 2023, "NTM nâng cao"]
    assert rs.loc["SMC-02", "level"] == "dat_chuan"
    assert pd.isna(rs.loc["SMC-05", "level"]) and rs.loc["SMC-05", "rank"] == 0
    assert "OLD-QTS" not in rs.index  # merged away before 2024
    before = recognitions.recognition_status(recognised, 2022).set_index("unit_code")
    assert before.loc["SMC-01", "level"] == "dat_chuan"
    in_2019 = recognitions.recognition_status(recognised, 2019).set_index("unit_code")
    assert pd.isna(in_2019.loc["SMC-02", "level"])  # recognised in 2020
    assert "OLD-QTS" in in_2019.index  # the pre-merger communes existed then


def test_village_terms_expire(recognised):
    v2023 = recognitions.recognition_status(recognised, 2023, unit_level="village").set_index("unit_code")
    v2024 = recognitions.recognition_status(recognised, 2024, unit_level="village").set_index("unit_code")
    assert v2023.loc["V-MSC", "level"] == "dat_chuan"
    assert pd.isna(v2024.loc["V-MSC", "level"])  # term ended 31/10/2024
    assert v2024.loc["V-CCS", "level"] == "kieu_mau"
    districts = recognitions.recognition_status(recognised, 2024, unit_level="district").set_index("unit_code")
    assert districts.loc["LCT", "level"] == "hoan_thanh" and districts.loc["LCT", "rank"] == 1


def test_revoked_recognitions_no_longer_count(recognised):
    recognitions.revoke_recognition(recognised, "SMC-01", "nang_cao", 2023, note="rút quyết định")
    rs = recognitions.recognition_status(recognised, 2024).set_index("unit_code")
    assert rs.loc["SMC-01", ["level", "recognised_year"]].tolist() == ["dat_chuan", 2019]
    with pytest.raises(LookupError, match=r"no standing recognition of 'SMC-01' at level 'nang_cao' in 2023"):
        recognitions.revoke_recognition(recognised, "SMC-01", "nang_cao", 2023)


def test_record_recognition_returns_id_and_refuses_repeats(store):
    new_id = recognitions.record_recognition(store, "SMC-05", "dat_chuan", 2024,
                                             decision_number="QĐ 1/QĐ-UBND", decision_date="2024-12-30")
    df = store.read_table("recognitions")
    assert int(df["id"].iloc[0]) == new_id and df["unit_level"].iloc[0] == "commune"
    before = _sha(store.path)
    with pytest.raises(ImportValidationError, match=r"commune SMC-05 is already recognised 'dat_chuan' for 2024 \(record 1\)"):
        recognitions.record_recognition(store, "SMC-05", "dat_chuan", 2024)
    assert _sha(store.path) == before


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ("Sán Chải,xã,Hoàn thành,2024,,,,", r"'hoan_thanh'.*applies only to district-level towns and cities, not to a commune"),
        ("Sán Chải,xã,Xuất sắc,2024,,,,", r"unknown recognition level 'Xuất sắc'; expected one of dat_chuan"),
        ("Xã Không Có,xã,Đạt chuẩn,2024,,,,", r"row 2, column 'Đơn vị': no commune named 'Xã Không Có'"),
        ("NOPE,,Đạt chuẩn,2024,,,,", r"no district, commune or village has code 'NOPE'"),
        ("Sán Chải,phường,Đạt chuẩn,2024,,,,", r"unknown unit level 'phường'"),
        ("Lao Chải,thôn,Đạt chuẩn,2024,,01/12/2024,,30/11/2024", r"valid_until 2024-11-30 is before the decision date 2024-12-01"),
        ("Sán Chải,xã,Đạt chuẩn,2024,,31/02/2024,,", r"date '31/02/2024' is not a date"),
        ("Sán Chải,xã,Đạt chuẩn,hai nghìn,,,,", r"year 'hai nghìn' is not a number"),
        ("Sán Chải,xã,Đạt chuẩn,2024,,,,\nSMC-05,xã,dat_chuan,2024,,,,", r"row 3.*'dat_chuan' 2024 repeats row 2"),
    ],
)
def test_bad_recognitions_are_refused(store, tmp_path, row, match):
    path = tmp_path / "bad.csv"
    path.write_text(RECOGNITIONS_CSV.splitlines()[0] + "\n" + row + "\n", encoding="utf-8")
    before = _sha(store.path)
    with pytest.raises(ImportValidationError, match=match):
        recognitions.import_recognitions(store, path)
    assert _sha(store.path) == before


def test_reimport_of_the_same_decisions_is_refused(recognised, tmp_path):
    path = tmp_path / "again.csv"
    path.write_text(RECOGNITIONS_CSV, encoding="utf-8")
    before = _sha(recognised.path)
    with pytest.raises(ImportValidationError, match=r"(?s)7 error\(s\).*row 8.*district LCT is already recognised"):
        recognitions.import_recognitions(recognised, path)
    assert _sha(recognised.path) == before


def test_at_risk_lists_recognised_communes_failing_criteria(recognised):
    rows = []
    for code, failing in {"SMC-01": [10, 17], "SMC-02": [], "SMC-05": [2, 5]}.items():
        rows += [(code, 2024, n, n not in failing, "2024-10-01T00:00:00.000Z") for n in range(1, 20)]
    # Bản Mế failed Thu nhập early in the year but recovered by the latest record
    rows.append(("SMC-02", 2024, 10, False, "2024-03-01T00:00:00.000Z"))
    df = pd.DataFrame(rows, columns=["unit_code", "year", "criterion", "met", "recorded_at"]).assign(set_id=SET)
    with recognised.transaction() as conn:
        recognised.insert_rows(conn, "status_records", df)
    risk = recognitions.at_risk(recognised, 2024, SET)
    assert list(risk["unit_code"]) == ["SMC-01"]  # Sán Chải fails too but is not recognised
    row = risk.iloc[0]
    assert (row["name"], row["level"], row["n_failing"]) == ("Sín Chéng", "nang_cao", 2)
    assert row["failing"] == [10, 17]
    assert row["failing_names"] == ["Thu nhập", "Môi trường và an toàn thực phẩm"]
    early = recognitions.at_risk(recognised, 2024, SET, as_of="2024-06-30")
    assert list(early["unit_code"]) == ["SMC-02"] and early["failing"].iloc[0] == [10]


def _merge_records(store, rows):
    df = pd.DataFrame(rows, columns=["unit_code", "level", "year", "revoked"]).assign(
        unit_level="commune", recorded_at="2021-01-01T00:00:00.000Z")
    with store.transaction() as conn:
        store.insert_rows(conn, "recognitions", df)


def test_merged_commune_of_recognised_parts_takes_latest_year(store):
    _merge_records(store, [("OLD-QTS", "dat_chuan", 2018, False), ("OLD-CH", "dat_chuan", 2019, False),
                           ("OLD-MT", "dat_chuan", 2016, False), ("OLD-MT", "nang_cao", 2019, False)])
    result = recognitions.merged_unit_recognition(store, "SMC-06", ["OLD-QTS", "OLD-CH", "OLD-MT"])
    assert result.acknowledged and (result.level, result.year) == ("dat_chuan", 2019)
    assert result.parts == (("OLD-QTS", "dat_chuan", 2018), ("OLD-CH", "dat_chuan", 2019),
                            ("OLD-MT", "nang_cao", 2016))
    assert "Quan Hồ Thẩn (SMC-06)" in result.reason and "CV 3372/BNN-VPĐP" in result.reason
    assert "năm công nhận 2019" in result.reason


def test_merged_commune_with_an_unrecognised_part_is_reviewed_again(store):
    _merge_records(store, [("OLD-LT", "dat_chuan", 2019, False), ("OLD-LS", "dat_chuan", 2018, True)])
    result = recognitions.merged_unit_recognition(store, "SMC-08", ["OLD-LT", "OLD-LS"])
    assert not result.acknowledged and result.year is None
    assert "phải rà soát, đánh giá lại" in result.reason
    assert "Lùng Sui (OLD-LS) chưa được công nhận" in result.reason
    with pytest.raises(ValueError, match=r"'old_codes' should name the communes merged into 'SMC-08'"):
        recognitions.merged_unit_recognition(store, "SMC-08", [])


def test_merge_rule_is_pure_over_records():
    records = pd.DataFrame({"unit_code": ["A", "B"], "level": ["dat_chuan", "kieu_mau"], "year": [2015, 2020]})
    result = recognitions.merge_rule(records, "N", ["A", "B", "A"])
    assert result.acknowledged and result.year == 2020 and len(result.parts) == 2
    assert not recognitions.merge_rule(records, "N", ["A", "C"]).acknowledged

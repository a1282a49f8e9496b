"""Annual plans per commune and criterion: import (list and long forms), plan vs actual.

The fixture is the Si Ma Cai district of the 2024 plan (codes invented): thị trấn Si Ma
Cai and 9 xã. The plan's list form names 14 criteria in 5 xã.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from layers import criteria, plans
from layers._errors import ImportValidationError
from layers.store import Store
from _units import add_units as _add_units, sha256 as _sha

SET = "qd318-2022-xa-ntm"
XA = {  # code -> name
    "SMC-01": "Sín Chéng", "SMC-02": "Bản Mế", "SMC-03": "Nàn Sán", "SMC-04": "Cán Cấu",
    "SMC-05": "Sán Chải", "SMC-06": "Quan Hồ Thẩn", "SMC-07": "Thào Chư Phìn",
    "SMC-08": "Lùng Thẩn", "SMC-09": "Nàn Sín",
}
# criteria not met at the end of 2023; planned ones first (the seed's list), then others
UNMET_2023 = {
    "SMC-05": [10, 11, 12, 17, 18],
    "SMC-06": [8, 19, 2, 5, 6, 13, 14],
    "SMC-07": [15, 17, 2, 5, 6, 10, 11, 13],
    "SMC-08": [15, 5, 17, 2, 10, 11, 13],
    "SMC-09": [5, 8, 2, 6, 10, 11, 13, 17],
}
PLANNED = {"SMC-05": [10, 11, 12, 17, 18], "SMC-06": [8, 19], "SMC-07": [15, 17],
           "SMC-08": [15, 5, 17], "SMC-09": [5, 8]}

SEED_LIST_CSV = """Xã,Năm,Tiêu chí cần đạt
Xã Sán Chải,2024,"05 tiêu chí (Thu nhập, Nghèo đa chiều, Lao động, Môi trường và ATTP, Hệ thống chính trị và tiếp cận pháp luật)"
Xã Quan Hồ Thẩn,2024,"02 tiêu chí (Thông tin - truyền thông, Quốc phòng và An ninh)"
Xã Thào Chư Phìn,2024,"Y tế, Môi trường và ATTP"
Xã Lùng Thẩn,2024,"Y tế, Trường học, Môi trường và ATTP"
Xã Nàn Sín,2024,"Trường học, TTTT"
"""


def _add_status(store: Store, rows: list[tuple]) -> None:
    """rows: (unit_code, year, criterion, met, recorded_at)."""
    df = pd.DataFrame(rows, columns=["unit_code", "year", "criterion", "met", "recorded_at"])
    df["set_id"] = SET
    with store.transaction() as conn:
        store.insert_rows(conn, "status_records", df)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The fixture store, built once per module and copied for each test."""
    path = tmp_path_factory.mktemp("template") / "smc.gpkg"
    s = Store(path, create=True)
    _add_units(s, "provinces", [{"code": "LCA", "name": "Lào Cai", "unit_type": "tinh"}])
    _add_units(s, "districts", [{"code": "SMC", "name": "Si Ma Cai", "unit_type": "huyen",
                                 "parent_code": "LCA"}])
    communes = [{"code": "SMC-00", "name": "Si Ma Cai", "unit_type": "thi_tran", "parent_code": "SMC"}]
    communes += [{"code": c, "name": n, "unit_type": "xa", "parent_code": "SMC"} for c, n in XA.items()]
    _add_units(s, "communes", communes)
    return path


@pytest.fixture
def store(template, tmp_path) -> Store:
    path = tmp_path / template.name
    shutil.copyfile(template, path)
    return Store(path)


@pytest.fixture
def status_store(store) -> Store:
    """2023: the unmet criteria above; 2024: every plan achieved except Lùng Thẩn's
    Trường học (5), and Bản Mế loses Thu nhập (10)."""
    rows = []
    for code in XA:
        unmet = set(UNMET_2023.get(code, []))
        for n in range(1, 20):
            rows.append((code, 2023, n, n not in unmet, "2023-12-20T08:00:00.000Z"))
            met_2024 = n not in unmet or n in PLANNED.get(code, [])
            if (code, n) in {("SMC-08", 5), ("SMC-02", 10)}:
                met_2024 = False
            rows.append((code, 2024, n, met_2024, "2024-12-15T08:00:00.000Z"))
    _add_status(store, rows)
    return store


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_seed_list_form_resolves_fourteen_criteria(store, tmp_path):
    path = _write(tmp_path, "ke-hoach-2024.csv", SEED_LIST_CSV)
    summary = plans.import_plans(store, path, recorded_by="vpdp-smc")
    assert summary["rows"] == 14 and summary["communes"] == 5 and summary["replaced"] == 0
    df = store.read_table("plans")
    got = {c: sorted(g["criterion"].astype(int)) for c, g in df.groupby("unit_code")}
    assert got == {c: sorted(ns) for c, ns in PLANNED.items()}
    assert set(df["action"]) == {"achieve"} and set(df["set_id"]) == {SET}
    assert set(df["recorded_by"]) == {"vpdp-smc"}
    log = store.read_table("import_log")
    assert list(log["kind"]) == ["plans"] and int(log["rows_written"].iloc[0]) == 14


def test_long_form_xlsx_with_actions_and_codes(store, tmp_path):
    path = tmp_path / "plan-long.xlsx"
    pd.DataFrame({
        "commune_code": ["SMC-02", "SMC-02", "SMC-05"],
        "year": [2024, 2024, 2024],
        "criterion": ["TC10", "Môi trường và ATTP", "QP-AN"],
        "Hành động": ["Duy trì", "duy trì", "Đạt mới"],
    }).to_excel(path, index=False)
    summary = plans.import_plans(store, path, recorded_by="t", document="KH 01/KH-UBND")
    assert summary["rows"] == 3
    df = store.read_table("plans", order_by="unit_code, criterion")
    assert list(zip(df["unit_code"], df["criterion"].astype(int), df["action"])) == [
        ("SMC-02", 10, "maintain"), ("SMC-02", 17, "maintain"), ("SMC-05", 19, "achieve")]
    assert set(df["document"]) == {"KH 01/KH-UBND"}


def test_reimport_replaces_same_commune_year_criterion(store, tmp_path):
    first = _write(tmp_path, "a.csv", "commune,year,criterion,action\nSMC-05,2024,10,achieve\nSMC-05,2024,11,achieve\n")
    plans.import_plans(store, first, recorded_by="t")
    again = _write(tmp_path, "b.csv", "commune,year,criterion,action\nSMC-05,2024,10,Duy trì\n")
    summary = plans.import_plans(store, again, recorded_by="t2")
    assert summary["replaced"] == 1
    df = store.read_table("plans", order_by="criterion")
    assert list(df["criterion"].astype(int)) == [10, 11]
    assert list(df["action"]) == ["maintain", "achieve"]
    assert list(df["recorded_by"]) == ["t2", "t"]


def test_dry_run_counts_and_writes_nothing(store, tmp_path):
    path = _write(tmp_path, "p.csv", SEED_LIST_CSV)
    before = _sha(store.path)
    summary = plans.import_plans(store, path, recorded_by="t", dry_run=True)
    assert summary["rows"] == 14 and summary["dry_run"]
    assert _sha(store.path) == before


@pytest.mark.parametrize(
    ("text", "kwargs", "match"),
    [
        ("Xã,Năm,Tiêu chí\nXã Không Có,2024,Y tế\n", {}, r"row 2, column 'Xã': no commune named 'Xã Không Có'"),
        ("Xã,Năm,Tiêu chí\nSán Chải,2024,\"Y tế, Cầu cống\"\n", {}, r"unknown criterion 'Cầu cống'"),
        ("Xã,Năm,Tiêu chí\nSán Chải,2024,25\n", {}, r"unknown criterion '25'.*1\.\.19"),
        ("Xã,Năm,Tiêu chí\nSán Chải,2024,\"03 tiêu chí (Y tế, Lao động)\"\n", {}, r"says 3 criteria but names 2"),
        ("Xã,Năm,Tiêu chí\nSán Chải,2024,Y tế\nSMC-05,2024,TC15\n", {}, r"row 3.*criterion 15 is already planned in row 2"),
        ("Xã,Năm,Tiêu chí,Hành động\nSán Chải,2024,Y tế,Làm tiếp\n", {}, r"unknown action 'Làm tiếp'.*Duy trì"),
        ("Xã,Năm,Tiêu chí\nSán Chải,2023,Y tế\n", {"year": 2024}, r"year 2023 differs from the year given for the import \(2024\)"),
        ("Xã,Tiêu chí\nSán Chải,Y tế\n", {}, r"no 'year' column and no year given"),
        ("Xã,Năm\nSán Chải,2024\n", {}, r"missing column 'criterion'"),
        ("Xã,Năm,Tiêu chí\nSán Chải,2024,Y tế\n", {"set_id": "qd999"}, r"unknown criteria set 'qd999'"),
        ("Xã,Năm,Tiêu chí\nSán Chải,2021,Y tế\n", {}, r"no dat_chuan criteria set for commune level in force in 2021"),
    ],
)
def test_bad_plans_are_refused_and_nothing_written(store, tmp_path, text, kwargs, match):
    path = _write(tmp_path, "bad.csv", text)
    before = _sha(store.path)
    with pytest.raises(ImportValidationError, match=match):
        plans.import_plans(store, path, recorded_by="t", **kwargs)
    assert _sha(store.path) == before


def test_every_problem_is_reported_at_once(store, tmp_path):
    path = _write(tmp_path, "bad.csv",
                  "Xã,Năm,Tiêu chí\nXã Ma,2024,Y tế\nSán Chải,2024,Cầu cống\nNàn Sín,năm nay,Y tế\n")
    with pytest.raises(ImportValidationError, match=r"3 error\(s\), nothing was written") as err:
        plans.import_plans(store, path, recorded_by="t")
    assert [p.row for p in err.value.report.errors] == [2, 3, 4]
    assert "row 4, column 'Năm': year 'năm nay' is not a number" in str(err.value)


def test_unsupported_file_type(store, tmp_path):
    path = _write(tmp_path, "plan.txt", "x")
    with pytest.raises(ImportValidationError, match=r"unsupported file type '\.txt'; expected \.csv or \.xlsx"):
        plans.import_plans(store, path, recorded_by="t")


def test_plan_vs_actual_outcomes_and_summary(status_store, tmp_path):
    plans.import_plans(status_store, _write(tmp_path, "p.csv", SEED_LIST_CSV), recorded_by="t")
    plans.import_plans(status_store, _write(
        tmp_path, "m.csv", "commune,year,criterion,action\nBản Mế,2024,10,Duy trì\nBản Mế,2024,17,Duy trì\n"),
        recorded_by="t")
    df = plans.plan_vs_actual(status_store, 2024, SET)
    assert len(df) == 16
    row = df[(df["unit_code"] == "SMC-08") & (df["criterion"] == 5)].iloc[0]
    assert (row["name"], row["criterion_name"], row["outcome"]) == ("Lùng Thẩn", "Trường học", "missed")
    assert not row["met_start"] and not row["met_end"]
    lost = df[(df["unit_code"] == "SMC-02") & (df["criterion"] == 10)].iloc[0]
    assert (lost["action"], bool(lost["met_start"]), lost["outcome"]) == ("maintain", True, "lost")
    assert df["outcome"].value_counts().to_dict() == {"achieved": 13, "missed": 1, "maintained": 1, "lost": 1}

    summary = plans.plan_summary(status_store, 2024, SET).set_index("name")
    assert summary.loc["Sán Chải", ["planned_achieve", "achieved"]].tolist() == [5, 5]
    assert summary.loc["Quan Hồ Thẩn", "planned_achieve"] == 2
    assert summary.loc["Thào Chư Phìn", "planned_achieve"] == 2
    assert summary.loc["Lùng Thẩn", ["planned_achieve", "achieved", "missed"]].tolist() == [3, 2, 1]
    assert summary.loc["Nàn Sín", "planned_achieve"] == 2
    assert summary.loc["Bản Mế", ["planned_maintain", "maintained", "lost"]].tolist() == [2, 1, 1]
    assert summary["planned_achieve"].sum() == 14 and summary["achieved"].sum() == 13


def test_as_of_and_start_from_earliest_record_of_the_year(store, tmp_path):
    # Sán Chải has no 2023 record: its start is the earliest 2024 record
    _add_status(store, [
        ("SMC-05", 2024, 10, False, "2024-02-01T00:00:00.000Z"),
        ("SMC-05", 2024, 10, True, "2024-11-30T00:00:00.000Z"),
        ("SMC-05", 2024, 11, False, "2024-02-01T00:00:00.000Z"),
    ])
    plans.import_plans(store, _write(tmp_path, "p.csv", "commune,year,criterion\nSMC-05,2024,\"10, 11, 12\"\n"),
                       recorded_by="t")
    df = plans.plan_vs_actual(store, 2024, SET).set_index("criterion")
    assert df.loc[10, "outcome"] == "achieved" and not df.loc[10, "met_start"]
    assert df.loc[11, "outcome"] == "missed"
    assert df.loc[12, "outcome"] == "not_assessed" and pd.isna(df.loc[12, "met_end"])
    mid = plans.plan_vs_actual(store, 2024, SET, as_of="2024-06-30").set_index("criterion")
    assert mid.loc[10, "outcome"] == "missed"
    early = plans.plan_vs_actual(store, 2024, SET, as_of="2024-01-15")
    assert set(early["outcome"]) == {"not_assessed"}


def test_scope_filters_communes(status_store, tmp_path):
    plans.import_plans(status_store, _write(tmp_path, "p.csv", SEED_LIST_CSV), recorded_by="t")
    df = plans.plan_vs_actual(status_store, 2024, SET, scope_code="SMC-06")
    assert set(df["unit_code"]) == {"SMC-06"} and len(df) == 2
    assert plans.plan_vs_actual(status_store, 2024, SET, scope_code="SMC").shape[0] == 14
    assert plans.plan_vs_actual(status_store, 2025, SET).empty


@pytest.mark.parametrize(
    ("set_id", "text", "number"),
    [
        (SET, "ATTP", 17), (SET, "Môi trường & ATTP", 17), (SET, "Thông tin - truyền thông", 8),
        (SET, "TTTT", 8), (SET, "QP-AN", 19), (SET, "Quốc phòng và An ninh", 19),
        (SET, "Hệ thống chính trị và tiếp cận pháp luật", 18), (SET, "tiêu chí 5", 5),
        (SET, "Thủy lợi và phòng, chống thiên tai", 3), (SET, "Giao thông", 2),
        ("qd318-2022-xa-ntm-nang-cao", "Giáo dục", 5), ("qd318-2022-xa-ntm-nang-cao", "QP-AN", 19),
        ("qd51-2025-xa-ntm", "Chuyển đổi số", 7), ("qd51-2025-xa-ntm", "Giảm nghèo", 6),
        (SET, "Cầu cống", None),
    ],
)
def test_resolve_criterion(set_id, text, number):
    assert plans.resolve_criterion(criteria.get_set(set_id), text) == number


def test_aliases_are_unambiguous_in_every_shipped_set():
    for cset in criteria.available_sets().values():
        table = plans._alias_map(cset)
        assert set(table.values()) == set(cset.numbers)


def test_list_cells_keep_names_with_commas():
    cset = criteria.get_set(SET)
    assert plans.parse_criteria_list(cset, "2. Giao thông, Thủy lợi và phòng, chống thiên tai; TC4") == ([2, 3, 4], [])
    assert plans.parse_criteria_list(cset, "Y tế, y tế")[1] == ["criterion 15 ('y tế') is listed twice"]

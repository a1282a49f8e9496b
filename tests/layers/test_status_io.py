"""Status import (wide / long, CSV / XLSX) and export, with every refusal leaving the store as it was."""

from __future__ import annotations

import csv
import hashlib

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely

from geo.text import slugify
from layers import criteria, status, status_export, status_io
from layers._errors import ImportValidationError
from layers.store import Store

SET = "qd318-2022-xa-ntm"
CSET = criteria.get_set(SET)
TITLE = "Biểu 01 - Kết quả thực hiện tiêu chí năm 2024"


def _units(rows: list[tuple]) -> gpd.GeoDataFrame:
    df = pd.DataFrame(rows, columns=["code", "name", "unit_type", "parent_code", "valid_from", "valid_to"])
    df["slug"] = df["name"].map(slugify)
    geoms = [shapely.MultiPolygon([shapely.box(104 + 0.01 * k, 22.6, 104.009 + 0.01 * k, 22.609)])
             for k in range(len(df))]
    return gpd.GeoDataFrame(df, geometry=geoms, crs="EPSG:4326")


@pytest.fixture
def store(tmp_path) -> Store:
    """1 province, 2 districts, 5 communes (two named Lùng Phình), 1 village."""
    store = Store(tmp_path / "ntm.gpkg", create=True)
    with store.transaction() as conn:
        store.insert_features(conn, "provinces", _units([("10", "Lào Cai", "tinh", None, None, None)]))
        store.insert_features(conn, "districts", _units([
            ("084", "Si Ma Cai", "huyen", "10", None, None),
            ("085", "Bắc Hà", "huyen", "10", None, None),
        ]))
        store.insert_features(conn, "communes", _units([
            ("02836", "Sín Chéng", "xa", "084", None, None),
            ("02839", "Bản Mế", "xa", "084", None, None),
            ("02842", "Lùng Phình", "xa", "084", None, None),
            ("02831", "Quan Hồ Thẩn", "xa", "084", "2020-01-10", None),
            ("02890", "Lùng Phình", "xa", "085", None, None),
        ]))
        store.insert_features(conn, "villages", _units([("0283601", "Sín Chéng", "thon", "02836", None, None)]))
    return store


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def header(*front: str, criteria_labels=None, back=("Số tiêu chí đạt",)) -> list[str]:
    labels = criteria_labels or [f"TC{c.number} {c.name_vi}" for c in CSET.criteria]
    return [*front, *labels, *back]


def cells(met=(), unmet=(), odd=None) -> list:
    """19 criterion cells: 'Đạt' for met, 'Không đạt' for unmet, '' otherwise; odd = {n: text}."""
    out = ["Đạt" if n in met else "Không đạt" if n in unmet else "" for n in CSET.numbers]
    for n, text in (odd or {}).items():
        out[n - 1] = text
    return out


def write_csv(path, rows, *, sep=",", encoding="utf-8-sig"):
    # errors="replace": a legacy code page cannot hold every Vietnamese letter
    with open(path, "w", newline="", encoding=encoding, errors="replace") as fh:
        csv.writer(fh, delimiter=sep).writerows(rows)
    return path


def write_xlsx(path, rows, *, sheet="Biểu 01", before=()):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name in before:
        wb.create_sheet(name).append(["Hướng dẫn nhập liệu"])
    ws = wb.create_sheet(sheet)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def met_table(store, year=2024, set_id=SET) -> dict[tuple[str, int], bool | None]:
    df = status.current_status(store, year=year, set_id=set_id)
    return {(u, int(c)): (None if pd.isna(m) else bool(m)) for u, c, m in zip(df["unit_code"], df["criterion"], df["met"])}


# --- reading cells --------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["Đạt", "đạt", "ĐẠT", "x", "X", "1", "✓", "có", "yes", "true", True, 1, 1.0])
def test_parse_met_true(cell):
    assert status_io.parse_met(cell) is True


@pytest.mark.parametrize("cell", ["Không đạt", "Chưa đạt", "0", "không", "no", "false", "✗", False, 0])
def test_parse_met_false(cell):
    assert status_io.parse_met(cell) is False


@pytest.mark.parametrize("cell", [None, "", "  ", float("nan")])
def test_parse_met_blank(cell):
    assert status_io.parse_met(cell) is None


@pytest.mark.parametrize("cell", ["đạt?", "2", 2, "-", "Đạt một phần"])
def test_parse_met_refuses(cell):
    with pytest.raises(ValueError, match="cannot read"):
        status_io.parse_met(cell)


# --- wide form ----------------------------------------------------------------------------------------


def test_wide_csv_with_title_bom_and_semicolons(store, tmp_path):
    rows = [
        [TITLE],
        [],
        header("STT", "Mã xã", "Tên xã", "Huyện"),
        ["1", "02836", "Sín Chéng", "Si Ma Cai", *cells(met=range(1, 20)), "19"],
        ["2", "02839", "Bản Mế", "Si Ma Cai", *cells(met=(1, 2), unmet=(3,), odd={4: "x", 5: "0", 6: "✓"}), "4"],
    ]
    path = write_csv(tmp_path / "bieu01.csv", rows, sep=";")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    result = status_io.import_status(store, path, year=2024, recorded_by="vpdp")
    assert result.form == "wide"
    assert result.rows_read == 2
    assert result.written == 19 + 6
    assert [str(w) for w in result.warnings] == []
    table = met_table(store)
    assert all(table[("02836", n)] for n in range(1, 20))
    assert {n: table[("02839", n)] for n in range(1, 7)} == {1: True, 2: True, 3: False, 4: True, 5: False, 6: True}
    assert ("02839", 7) not in table  # blank = no record
    cur = status.current_status(store, unit_codes=["02839"])
    assert set(cur["source_document"]) == {"bieu01.csv"}
    assert set(cur["recorded_by"]) == {"vpdp"}
    assert result.changes["change"].eq("new").all()
    log = store.read_table("import_log")
    assert log[["kind", "rows_written", "recorded_by"]].values.tolist() == [["status", 25, "vpdp"]]


def test_wide_xlsx_sheet_title_rows_and_number_codes(store, tmp_path):
    rows = [
        [TITLE],
        ["(Kèm theo Báo cáo số 15/BC-UBND)"],
        header("Mã xã", "Tên xã", criteria_labels=[f"TC{n}" for n in CSET.numbers]),
        ["(1)", "(2)", *[f"({k})" for k in range(3, 23)]],
        [2836, "Sín Chéng", *([True] * 10 + [1, 1, 0] + [None] * 6), 12],
        ["02842", "Lùng Phình", *(["Đạt"] * 3 + [None] * 16), 3],
    ]
    path = write_xlsx(tmp_path / "bieu.xlsx", rows, before=("Hướng dẫn",))
    result = status_io.import_status(store, path, year=2024, sheet="Biểu 01", recorded_by="vpdp",
                                     source_document="BC 15/BC-UBND")
    assert result.written == 13 + 3
    table = met_table(store)
    assert table[("02836", 11)] is True and table[("02836", 13)] is False
    assert table[("02842", 3)] is True
    assert any("lost their leading zeros" in str(w) for w in result.warnings)
    assert set(status.current_status(store)["source_document"]) == {"BC 15/BC-UBND"}


def test_xlsx_first_sheet_is_used_by_default(store, tmp_path):
    path = write_xlsx(tmp_path / "bieu.xlsx", [header("Mã xã"), ["02836", *cells(met=(1,)), 1]],
                      before=("Hướng dẫn",))
    before = sha256(store.path)
    with pytest.raises(ImportValidationError, match=r"bieu.xlsx \[Hướng dẫn\]: no header row"):
        status_io.import_status(store, path, year=2024, recorded_by="x")
    with pytest.raises(ImportValidationError, match=r"no sheet named 'Bieu'; sheets: Hướng dẫn, Biểu 01"):
        status_io.import_status(store, path, year=2024, sheet="Bieu", recorded_by="x")
    assert sha256(store.path) == before
    assert status_io.import_status(store, path, year=2024, sheet="Biểu 01", recorded_by="x").written == 1


def test_wide_by_name_with_district_column(store, tmp_path):
    rows = [
        header("Xã", "Huyện", criteria_labels=[c.name_vi for c in CSET.criteria], back=()),
        ["Xã Lùng Phình", "Huyện Bắc Hà", *cells(met=(1,))],
        ["Lùng Phình", "Si Ma Cai", *cells(unmet=(1,))],
        ["xã bản mế", "", *cells(met=(19,))],
    ]
    result = status_io.import_status(store, write_csv(tmp_path / "names.csv", rows), year=2024, recorded_by="x")
    assert result.written == 3
    assert met_table(store) == {("02890", 1): True, ("02842", 1): False, ("02839", 19): True}


def test_summary_column_is_cross_checked(store, tmp_path):
    rows = [header("Mã xã"), ["02836", *cells(met=(1, 2, 3)), "5"], ["02839", *cells(met=(1,)), "1"]]
    result = status_io.import_status(store, write_csv(tmp_path / "s.csv", rows), year=2024, recorded_by="x")
    assert [str(w) for w in result.warnings] == [
        "s.csv, row 2, column 'Số tiêu chí đạt': the row says 5 criteria met but 3 criterion cells are met"
    ]
    assert result.written == 4


def test_year_column_and_set_in_force(store, tmp_path):
    rows = [header("Mã xã", "Năm", criteria_labels=[f"TC{n}" for n in range(1, 11)], back=()),
            ["02836", "2026", *(["Đạt"] * 10)]]
    status_io.import_status(store, write_csv(tmp_path / "y.csv", rows), recorded_by="x")
    assert len(met_table(store, year=2026, set_id="qd51-2025-xa-ntm")) == 10


# --- long form --------------------------------------------------------------------------------------


def test_long_form_csv(store, tmp_path):
    rows = [
        ["unit", "year", "criterion", "indicator", "met", "value", "note"],
        ["02836", "2024", "2", "", "Đạt", "", ""],
        ["02836", "2024", "2", "2.1", "Đạt", "72,5", "đường xã cứng hóa"],
        ["Bản Mế", "2024", "Y tế", "", "Không đạt", "", ""],
        ["02839", "2024", "TC17", "", "x", "", ""],
        ["02839", "2024", "4", "", "", "", ""],
    ]
    result = status_io.import_status(store, write_csv(tmp_path / "long.csv", rows), recorded_by="x")
    assert result.form == "long"
    assert result.written == 4
    assert [str(w) for w in result.warnings] == ["long.csv, row 6, column 'met': no met / value given, row skipped"]
    assert met_table(store) == {("02836", 2): True, ("02839", 15): False, ("02839", 17): True}
    ind = status.current_status(store, include_indicators=True).dropna(subset=["indicator"])
    assert ind[["indicator", "value", "note"]].values.tolist() == [["2.1", 72.5, "đường xã cứng hóa"]]


# --- refusals: clear message, store unchanged ---------------------------------------------------------


def _wide(tmp_path, *data, name="bad.csv", **kw):
    return write_csv(tmp_path / name, [[TITLE], header("Mã xã", "Tên xã"), *data], **kw)


BAD_CASES = {
    "unknown commune": (
        lambda t: _wide(t, ["", "Xã Không Tồn Tại", *cells(met=(1,)), 1]),
        {"year": 2024},
        r"bad.csv, row 3, column 'Tên xã': unknown commune: no commune named 'Xã Không Tồn Tại'",
    ),
    "unknown code": (
        lambda t: _wide(t, ["99999", "", *cells(met=(1,)), 1]),
        {"year": 2024},
        r"row 3, column 'Mã xã': unknown commune: no commune has code '99999'",
    ),
    "ambiguous name": (
        lambda t: _wide(t, ["", "Lùng Phình", *cells(met=(1,)), 1]),
        {"year": 2024},
        r"row 3, column 'Tên xã': ambiguous commune: 'Lùng Phình' names 2 communes \(02842, 02890\).*add a 'Huyện'",
    ),
    "unknown criterion column": (
        lambda t: write_xlsx(t / "bad.xlsx", [[TITLE], header("Mã xã", back=("TC20", "Số tiêu chí đạt")),
                                               ["02836", *cells(met=(1,)), "Đạt", 1]]),
        {"year": 2024},
        r"bad.xlsx \[Biểu 01\], row 2, column 'TC20 \(U\)': unknown criterion column: set 'qd318-2022-xa-ntm' has criteria 1 to 19",
    ),
    "duplicate row": (
        lambda t: _wide(t, ["02836", "Sín Chéng", *cells(met=(1,)), 1], ["02836", "Sín Chéng", *cells(met=(2,)), 1]),
        {"year": 2024},
        r"row 4: duplicate row: commune 02836 \(Sín Chéng\) is already given in row 3",
    ),
    "unparseable cell": (
        lambda t: write_xlsx(t / "bad.xlsx", [[TITLE], header("Mã xã"), ["02836", *cells(met=(1,), odd={3: "đạt?"}), 1]]),
        {"year": 2024},
        r"row 3, column 'TC3 Thủy lợi và phòng, chống thiên tai \(D\)': cannot read 'đạt\?' as met / not met",
    ),
    "missing year": (
        lambda t: _wide(t, ["02836", "Sín Chéng", *cells(met=(1,)), 1]),
        {},
        r"bad.csv, row 2: missing year: give the year of the import or add a 'Năm' \(year\) column; the title says 'năm 2024': pass year=2024",
    ),
    "year column disagrees": (
        lambda t: write_csv(t / "bad.csv", [header("Mã xã", "Năm"), ["02836", "2023", *cells(met=(1,)), 1]]),
        {"year": 2024},
        r"row 2, column 'Năm': year 2023 differs from the year given for the import \(2024\)",
    ),
    "not utf-8": (
        lambda t: _wide(t, ["", "Xã Bản Mế", *cells(met=(1,)), 1], encoding="cp1258"),
        {"year": 2024},
        r"bad.csv, row 1: the file is not UTF-8 text .*'CSV UTF-8 \(Comma delimited\)'",
    ),
    "mojibake name": (
        lambda t: _wide(t, ["", "Bản Mế".encode().decode("cp1252"), *cells(met=(1,)), 1]),
        {"year": 2024},
        r"row 3, column 'Tên xã': 'Báº£n Máº¿' looks like UTF-8 read as Windows-1252",
    ),
    "long duplicate": (
        lambda t: write_csv(t / "bad.csv", [["unit", "year", "criterion", "met"], ["02836", "2024", "2", "Đạt"],
                                             ["02836", "2024", "Giao thông", "Không đạt"]]),
        {},
        r"row 3: duplicate record: unit 02836, year 2024, set qd318-2022-xa-ntm, criterion 2 is already given in row 2",
    ),
    "long unknown criterion": (
        lambda t: write_csv(t / "bad.csv", [["unit", "year", "criterion", "met"], ["02836", "2024", "TC21", "Đạt"]]),
        {},
        r"row 2, column 'criterion': unknown criterion 'TC21'",
    ),
    "unit not valid that year": (
        lambda t: _wide(t, ["02831", "Quan Hồ Thẩn", *cells(met=(1,)), 1]),
        {"year": 2019, "set_id": SET},
        r"row 3, column 'Mã xã': unknown commune: commune '02831' \(Quan Hồ Thẩn\) did not exist in 2019",
    ),
    "no set in force": (
        lambda t: write_csv(t / "bad.csv", [header("Mã xã", "Năm"), ["02836", "2021", *cells(met=(1,)), 1]]),
        {},
        r"bad.csv: no dat_chuan criteria set for commune level in force in 2021; give set_id",
    ),
    "not a spreadsheet": (
        lambda t: (t / "bad.xls").write_bytes(b"\xd0\xcf\x11\xe0") and t / "bad.xls",
        {"year": 2024},
        r"unsupported file type '.xls'; expected .csv \(UTF-8\) or .xlsx \(save .xls workbooks as .xlsx",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_is_refused_and_store_unchanged(store, tmp_path, case):
    make, kwargs, message = BAD_CASES[case]
    status.record_status(store, [{"unit_code": "02836", "year": 2024, "set_id": SET, "criterion": 1, "met": False}],
                         recorded_by="baseline")
    path = make(tmp_path)
    before = sha256(store.path)
    with pytest.raises(ImportValidationError, match=message) as exc:
        status_io.import_status(store, path, recorded_by="x", **kwargs)
    assert "nothing was written" in str(exc.value)
    assert sha256(store.path) == before
    assert store.count("status_records") == 1
    # a dry run refuses the same way
    with pytest.raises(ImportValidationError, match=message):
        status_io.import_status(store, path, recorded_by="x", dry_run=True, **kwargs)


def test_all_errors_of_a_file_are_listed(store, tmp_path):
    path = _wide(tmp_path, ["99999", "", *cells(met=(1,)), 1], ["", "Lùng Phình", *cells(odd={2: "?"}), 0])
    with pytest.raises(ImportValidationError) as exc:
        status_io.import_status(store, path, year=2024, recorded_by="x")
    assert [(p.row, p.column) for p in exc.value.report.errors] == [(3, "Mã xã"), (4, "Tên xã")]


# --- dry run and repeated imports ------------------------------------------------------------------------


def test_dry_run_reports_changes_and_writes_nothing(store, tmp_path):
    status.record_status(store, [
        {"unit_code": "02836", "year": 2024, "set_id": SET, "criterion": 1, "met": True},
        {"unit_code": "02836", "year": 2024, "set_id": SET, "criterion": 2, "met": False},
    ], recorded_by="baseline")
    path = write_csv(tmp_path / "q2.csv", [header("Mã xã"), ["02836", *cells(met=(1, 2), unmet=(3,)), 2]])
    before = sha256(store.path)
    dry = status_io.import_status(store, path, year=2024, recorded_by="x", dry_run=True)
    assert sha256(store.path) == before
    assert dry.written == 0 and dry.counts == {"new": 1, "changed": 1, "unchanged": 1}
    by_criterion = dry.changes.set_index("criterion")
    assert by_criterion.loc[2, ["old", "new", "change"]].tolist() == [False, True, "changed"]
    assert by_criterion.loc[3, ["old", "new", "change"]].tolist() == [None, False, "new"]
    assert sorted(dry.records["criterion"]) == [2, 3]
    assert "would write 2 record(s)" in dry.summary()

    done = status_io.import_status(store, path, year=2024, recorded_by="x")
    assert done.written == 2
    assert met_table(store) == {("02836", 1): True, ("02836", 2): True, ("02836", 3): False}
    again = status_io.import_status(store, path, year=2024, recorded_by="x")
    assert again.written == 0 and again.counts == {"new": 0, "changed": 0, "unchanged": 3}
    assert store.count("status_records") == 4
    assert store.count("import_log") == 1


# --- export and round trip -------------------------------------------------------------------------------


def _sample(store):
    rows = [{"unit_code": "02836", "year": 2024, "set_id": SET, "criterion": n, "met": True} for n in CSET.numbers]
    rows += [{"unit_code": "02839", "year": 2024, "set_id": SET, "criterion": n, "met": n % 3 != 0} for n in range(1, 13)]
    rows += [{"unit_code": "02890", "year": 2024, "set_id": SET, "criterion": 19, "met": False}]
    status.record_status(store, rows, recorded_by="x", recorded_at="2024-03-01")
    status.record_status(store, [{"unit_code": "02890", "year": 2024, "set_id": SET, "criterion": 19, "met": True}],
                         recorded_by="x", recorded_at="2024-05-01")


def test_status_to_wide(store):
    _sample(store)
    df = status_export.status_to_wide(store, 2024, SET, scope_code="084")
    assert list(df.columns[:4]) == ["Mã xã", "Tên xã", "Huyện", "TC1 Quy hoạch"]
    assert df.columns[-1] == "Số tiêu chí đạt"
    assert len(df.columns) == 3 + 19 + 1
    row = df.set_index("Mã xã").loc["02839"]
    assert (row["Tên xã"], row["Huyện"]) == ("Bản Mế", "Si Ma Cai")
    assert row["TC3 Thủy lợi và phòng, chống thiên tai"] == "Không đạt"
    assert row["TC2 Giao thông"] == "Đạt" and row["TC13 Tổ chức sản xuất và phát triển kinh tế nông thôn"] == ""
    assert row["Số tiêu chí đạt"] == 8
    assert df.set_index("Mã xã").loc["02842", "Số tiêu chí đạt"] == 0
    q1 = status_export.status_to_wide(store, 2024, SET, as_of="2024-03-31", lang="en").set_index("Code")
    assert q1.loc["02890", "C19 Defence and security"] == "Not met"
    assert list(q1.columns[:2]) == ["Commune", "District"]


@pytest.mark.parametrize("name, lang", [("out.csv", "vi"), ("out.xlsx", "vi"), ("out.xlsx", "en"), ("out.csv", "en")])
def test_export_then_import_round_trip(store, tmp_path, name, lang):
    _sample(store)
    path = status_export.export_status(store, tmp_path / name, 2024, SET, lang=lang)
    fresh = Store(tmp_path / "fresh.gpkg", create=True)
    with fresh.transaction() as conn:  # same admin units, no status
        for table in ("provinces", "districts", "communes", "villages"):
            fresh.insert_features(conn, table, store.read_features(table).drop(columns="fid"))
    result = status_io.import_status(fresh, path, year=2024, set_id=SET, recorded_by="x")
    assert result.warnings == []
    assert met_table(fresh) == met_table(store)
    # importing the export into its own store changes nothing
    again = status_io.import_status(store, path, year=2024, set_id=SET, recorded_by="x")
    assert again.written == 0 and again.counts["changed"] == again.counts["new"] == 0


def test_export_files_open_well_in_excel(store, tmp_path):
    _sample(store)
    csv_path = status_export.export_status(store, tmp_path / "b.csv", 2024, SET, scope_code="084")
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert "Sín Chéng" in csv_path.read_text(encoding="utf-8-sig")
    xlsx = status_export.export_status(store, tmp_path / "b.xlsx", 2024, SET, scope_code="084",
                                   as_of="2024-03-31")
    ws = openpyxl.load_workbook(xlsx).active
    assert ws["A1"].value == "Biểu 01 – Kết quả thực hiện tiêu chí NTM năm 2024 – Si Ma Cai"
    assert "số liệu đến ngày 2024-03-31" in ws["A2"].value
    assert [ws.cell(3, j).value for j in (1, 2, 3, 4)] == ["Mã xã", "Tên xã", "Huyện", "TC1 Quy hoạch"]
    assert ws.cell(3, 1).font.bold and ws.freeze_panes == "D4"
    assert ws.column_dimensions["B"].width > ws.column_dimensions["A"].width
    assert ws.max_row == 3 + 4  # four communes of Si Ma Cai
    with pytest.raises(ValueError, match="path: expected a .csv or .xlsx file name, got 'b.json'"):
        status_export.export_status(store, tmp_path / "b.json", 2024, SET)


def test_totals_row_and_name_mismatch_are_warnings(store, tmp_path):
    rows = [
        header("Mã xã", "Tên xã"),
        ["02836", "Bản Mế", *cells(met=(1,)), 1],
        ["", "Tổng cộng", *cells(met=(1,)), 1],
    ]
    result = status_io.import_status(store, write_csv(tmp_path / "t.csv", rows), year=2024, recorded_by="x")
    assert [str(w) for w in result.warnings] == [
        "t.csv, row 2, column 'Mã xã': code '02836' is 'Sín Chéng' in the store but the file names 'Bản Mế'; the code was used",
        "t.csv, row 3: totals row 'Tổng cộng' skipped",
    ]
    assert met_table(store) == {("02836", 1): True}


def test_recorded_at_places_a_late_loaded_report_in_its_quarter(store, tmp_path):
    q1 = write_csv(tmp_path / "q1.csv", [header("Mã xã"), ["02836", *cells(unmet=(1,)), 0]])
    q2 = write_csv(tmp_path / "q2.csv", [header("Mã xã"), ["02836", *cells(met=(1,)), 1]])
    status_io.import_status(store, q2, year=2024, recorded_by="x", recorded_at="2024-06-20")
    status_io.import_status(store, q1, year=2024, recorded_by="x", recorded_at="2024-03-25")
    assert met_table(store) == {("02836", 1): True}
    as_q1 = status.current_status(store, as_of=status.quarter_end(2024, 1))
    assert as_q1["met"].tolist() == [False] and as_q1["source_document"].tolist() == ["q1.csv"]


def test_on_selects_the_vintage_of_names_and_codes(store, tmp_path):
    rows = [["unit", "criterion", "met"], ["Quan Hồ Thẩn", "1", "Đạt"]]
    path = write_csv(tmp_path / "on.csv", rows)
    with pytest.raises(ImportValidationError, match="unknown commune: no commune named 'Quan Hồ Thẩn'"):
        status_io.import_status(store, path, year=2020, set_id=SET, on="2020-01-01", recorded_by="x")
    assert status_io.import_status(store, path, year=2020, set_id=SET, recorded_by="x").written == 1


def test_long_form_xlsx_with_set_column_and_indicator_only_rows(store, tmp_path):
    rows = [
        ["Danh sách chỉ tiêu"],
        ["Mã xã", "Năm", "Bộ tiêu chí", "Tiêu chí", "Chỉ tiêu", "Kết quả", "Giá trị"],
        ["02839", 2024, "qd318-2022-xa-ntm-nang-cao", 5, None, "Đạt", None],
        ["02839", 2024, None, None, "17.2", "Không đạt", 0.42],
    ]
    result = status_io.import_status(store, write_xlsx(tmp_path / "l.xlsx", rows), recorded_by="x")
    assert result.form == "long" and result.written == 2
    assert met_table(store, set_id="qd318-2022-xa-ntm-nang-cao") == {("02839", 5): True}
    ind = status.current_status(store, include_indicators=True, set_id=SET)
    assert ind[["criterion", "indicator", "met", "value"]].values.tolist() == [[17, "17.2", False, 0.42]]

"""The progress workbook, opened again with openpyxl: sheets, header blocks, headers, values."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from _progress_store import build_progress_store
from layers.progress import compute_progress
from layers.progress_excel import SHEETS, progress_to_xlsx, progress_xlsx_bytes
from layers.store import Store

DAY = dt.date(2024, 12, 20)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    store = Store(build_progress_store(tmp_path_factory.mktemp("progress-xlsx") / "smc.gpkg"))
    return compute_progress(store, "SMC", 2024, target_year=2025)


@pytest.fixture(scope="module")
def wb(report, tmp_path_factory):
    path = tmp_path_factory.mktemp("out") / "tien-do.xlsx"
    progress_to_xlsx(report, path, created=DAY)
    return openpyxl.load_workbook(path)


def _header(ws, row: int) -> list[str]:
    return [c.value for c in ws[row] if c.value is not None]


def _find(ws, col: int, value):
    return next(r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=col).value == value)


def test_sheets_in_the_planners_order(wb):
    assert wb.sheetnames == ["Biểu 01 – kết quả theo xã", "Biểu 02 – theo tiêu chí", "Biểu 03 – chỉ tiêu và kết quả",
                             "Biểu 04 – chỉ tiêu chi tiết", "Biểu 05 – xã có nguy cơ",
                             "Biểu 06 – diễn biến qua các năm"]
    assert list(SHEETS.values()) == wb.sheetnames and all(len(n) <= 31 for n in wb.sheetnames)


def test_every_sheet_has_the_header_block(wb):
    for ws in wb:
        assert ws["A1"].value.startswith("Biểu 0") and ws["A1"].font.bold
        assert ws["A2"].value == "Phạm vi: Huyện Si Ma Cai (mã SMC)"
        assert ws["A3"].value.startswith("Năm đánh giá: 2024 · Bộ tiêu chí: Bộ tiêu chí quốc gia về xã nông thôn mới")
        assert "19 tiêu chí" in ws["A3"].value and "QĐ 318/QĐ-TTg" in ws["A3"].value
        assert ws["A4"].value.startswith("Ngày lập: 20/12/2024")
        assert all(c.font.bold for c in ws[5] if c.value is not None)
        assert ws.freeze_panes.endswith("6")


def test_bieu_01_per_commune(wb):
    ws = wb["Biểu 01 – kết quả theo xã"]
    head = _header(ws, 5)
    assert head[:6] == ["STT", "Mã xã", "Tên xã", "Huyện", "Xã ĐBKK", "TC1 Quy hoạch"]
    assert "TC19 Quốc phòng và An ninh" in head and "Số tiêu chí đạt" in head and "Mức công nhận" in head
    assert ws.freeze_panes == "D6" and ws.column_dimensions["C"].width == 20
    col = {name: k for k, name in enumerate(head, start=1)}
    codes = [ws.cell(row=r, column=2).value for r in range(6, 15)]
    assert codes == [f"SMC-0{k}" for k in range(1, 10)]  # the thị trấn SMC-00 is not a row
    r04 = _find(ws, 2, "SMC-04")
    assert ws.cell(row=r04, column=col["TC17 Môi trường và an toàn thực phẩm"]).value == "✗"
    assert ws.cell(row=r04, column=col["TC17 Môi trường và an toàn thực phẩm"]).fill.fgColor.rgb.endswith("FFC7CE")
    assert ws.cell(row=r04, column=col["TC1 Quy hoạch"]).value == "✓"
    assert ws.cell(row=r04, column=col["Số tiêu chí đạt"]).value == 18
    assert ws.cell(row=r04, column=col["Mức công nhận"]).value == "Đạt chuẩn NTM"
    assert ws.cell(row=r04, column=col["Có nguy cơ"]).value == "x"
    assert ws.cell(row=r04, column=col["Tăng (+) / giảm (−)"]).value == -1
    total = _find(ws, 3, "Tổng cộng")
    assert ws.cell(row=total, column=col["Số tiêu chí đạt"]).value == 150
    assert ws.cell(row=total, column=col["TC13 Tổ chức sản xuất và phát triển kinh tế nông thôn"]).value == 5
    avg = ws.cell(row=total + 1, column=col["Số tiêu chí đạt"])
    assert (ws.cell(row=total + 1, column=3).value, avg.value, avg.number_format) == ("Bình quân tiêu chí/xã", 16.67, "0.00")


def test_bieu_02_per_criterion(wb):
    ws = wb["Biểu 02 – theo tiêu chí"]
    assert _header(ws, 5) == ["Tiêu chí số", "Tên tiêu chí", "Số xã đạt", "Số xã chưa đạt", "Số xã chưa có số liệu",
                              "Tỷ lệ xã đạt", "Thứ tự chưa đạt nhiều nhất"]
    r13 = _find(ws, 1, 13)
    assert [ws.cell(row=r13, column=k).value for k in range(2, 8)] == [
        "Tổ chức sản xuất và phát triển kinh tế nông thôn", 5, 4, 0, 0.5556, 1]
    assert ws.cell(row=r13, column=6).number_format == "0.0%"
    assert ws.max_row >= 5 + 19


def test_bieu_03_targets_against_actual(wb):
    ws = wb["Biểu 03 – chỉ tiêu và kết quả"]
    assert _header(ws, 5) == ["STT", "Chỉ tiêu", "Thực hiện năm 2024", "Mục tiêu", "Năm mục tiêu", "Năm gốc",
                              "Còn thiếu", "Đánh giá", "Dự báo năm 2025"]
    avg = _find(ws, 2, "Bình quân tiêu chí/xã")
    values = [ws.cell(row=avg, column=k).value for k in (3, 4, 5, 7, 8, 9)]
    assert values[:3] == [16.67, 17.3, 2025] and values[4:] == ["Chưa đạt", 18.22]
    assert ws.cell(row=avg, column=3).number_format == "0.00"
    dc = _find(ws, 2, "Số xã đạt chuẩn NTM (kể cả nâng cao, kiểu mẫu)")
    assert [ws.cell(row=dc, column=k).value for k in (3, 4, 7, 8)] == [5, 7, 2, "Chưa đạt"]
    share = _find(ws, 2, "Tỷ lệ thôn, bản thuộc xã ĐBKK đạt chuẩn NTM")
    assert ws.cell(row=share, column=3).value == 0.5 and ws.cell(row=share, column=3).number_format == "0.0%"
    notes = [str(ws.cell(row=r, column=1).value or "") for r in range(1, ws.max_row + 1)]
    assert any("Dự báo (không phải kết quả)" in n for n in notes)


def test_bieu_04_to_06(wb):
    targets = wb["Biểu 04 – chỉ tiêu chi tiết"]
    head = _header(targets, 5)
    assert head[:4] == ["Mã đơn vị", "Tên đơn vị", "Chỉ tiêu", "Mã chỉ tiêu"] and "Văn bản giao chỉ tiêu" in head
    metrics = [targets.cell(row=r, column=4).value for r in range(6, targets.max_row + 1)]
    assert sorted(m for m in metrics if m) == sorted(["communes_dat_chuan", "avg_criteria_per_commune",
                                                      "min_criteria_per_commune", "share_villages_dat_chuan_edk",
                                                      "villages_dat_chuan"])
    risk = wb["Biểu 05 – xã có nguy cơ"]
    assert [risk.cell(row=6, column=k).value for k in range(1, 9)] == [
        1, "SMC-04", "Cán Cấu", "Si Ma Cai", "Đạt chuẩn NTM", 2021, 1, "TC17 Môi trường và an toàn thực phẩm"]
    trend = wb["Biểu 06 – diễn biến qua các năm"]
    assert [trend.cell(row=r, column=5).value for r in (6, 7, 8)] == [13.56, 15.11, 16.67]
    assert trend.cell(row=8, column=6).value == 1.56 and trend.cell(row=8, column=6).number_format.startswith("+")


def test_bytes_and_bad_path(report, tmp_path):
    data = progress_xlsx_bytes(report, created=DAY)
    assert data[:2] == b"PK"
    assert openpyxl.load_workbook(io.BytesIO(data)).sheetnames[0] == "Biểu 01 – kết quả theo xã"
    with pytest.raises(ValueError, match=r"'path' must name an .xlsx file, got 'x.csv'"):
        progress_to_xlsx(report, tmp_path / "x.csv")

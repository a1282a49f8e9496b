"""A progress report as the Excel workbook planners exchange: one sheet per "biểu".

Sheets (Vietnamese titles, as in the districts' plans): "Biểu 01 – kết quả theo xã"
(criteria ✓/✗ per commune, count, level), "Biểu 02 – theo tiêu chí" (communes meeting
each criterion, share), "Biểu 03 – chỉ tiêu và kết quả" (headline values against the
targets, with the projection), "Biểu 04 – chỉ tiêu chi tiết" (every target in the scope
as ``layers.targets`` evaluates it), "Biểu 05 – xã có nguy cơ" (recognised communes now
failing criteria) and "Biểu 06 – diễn biến qua các năm" (trend). Each sheet opens with
a header block (scope, year, criteria set, date) and uses the table style of
``layers.status_export.write_table`` (bold shaded header, frozen panes, filters).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd

from . import status_export
from .progress import Progress, headline_table

__all__ = ["SHEETS", "progress_to_xlsx", "progress_xlsx_bytes"]

SHEETS = {
    "communes": "Biểu 01 – kết quả theo xã",
    "criteria": "Biểu 02 – theo tiêu chí",
    "headline": "Biểu 03 – chỉ tiêu và kết quả",
    "targets": "Biểu 04 – chỉ tiêu chi tiết",
    "at_risk": "Biểu 05 – xã có nguy cơ",
    "trend": "Biểu 06 – diễn biến qua các năm",
}
_TITLES = {
    "communes": "Biểu 01 – Kết quả thực hiện tiêu chí NTM theo xã năm {year}",
    "criteria": "Biểu 02 – Kết quả thực hiện theo tiêu chí năm {year}",
    "headline": "Biểu 03 – Kết quả thực hiện so với chỉ tiêu năm {target_year}",
    "targets": "Biểu 04 – Chi tiết các chỉ tiêu năm {target_year}",
    "at_risk": "Biểu 05 – Xã đã đạt chuẩn nay có tiêu chí không đạt (nguy cơ không giữ chuẩn) năm {year}",
    "trend": "Biểu 06 – Diễn biến kết quả các năm {first}–{year}",
}
MET, UNMET = "✓", "✗"
_GREEN, _RED = "C6EFCE", "FFC7CE"
_YES, _NO = "Đạt", "Chưa đạt"


def _header_lines(p: Progress, created: dt.date) -> list[str]:
    scope = p.scope_name if p.scope_code is None else f"{p.scope_name} (mã {p.scope_code})"
    act = p.legal_act.split(",")[0]
    return [
        f"Phạm vi: {scope}",
        f"Năm đánh giá: {p.year} · Bộ tiêu chí: {p.set_title_vi} ({act}), {p.n_criteria} tiêu chí",
        f"Ngày lập: {created:%d/%m/%Y} · Lập bằng NTM Atlas từ dữ liệu trong kho",
    ]


def _yes_no(value) -> str | None:
    return None if value is None or value is pd.NA or pd.isna(value) else _YES if bool(value) else _NO


def _notes(ws, first_row: int, notes: list[str]) -> None:
    from openpyxl.styles import Font

    ws.cell(row=first_row, column=1, value="Ghi chú:").font = Font(bold=True)
    for k, note in enumerate(notes, start=1):
        ws.cell(row=first_row + k, column=1, value=f"- {note}")


def _communes_sheet(ws, p: Progress, lines: list[str]) -> None:
    from openpyxl.styles import Font

    c = p.communes
    df = pd.DataFrame({"STT": range(1, len(c) + 1), "Mã xã": c["unit_code"], "Tên xã": c["name"],
                       "Huyện": c["parent_name"].fillna(""),
                       "Xã ĐBKK": ["x" if e else "" for e in c["extremely_difficult"]]})
    crit_cols = []
    for crit in p.criteria.itertuples():
        col = f"TC{crit.number} {crit.name_vi}"
        crit_cols.append(col)
        values = p.matrix[crit.number].to_numpy(dtype=object, na_value=None)
        df[col] = [MET if v is True else UNMET if v is False else "" for v in values]
    df["Số tiêu chí đạt"] = c["n_met"].to_numpy()
    df["Số tiêu chí đã đánh giá"] = c["n_assessed"].to_numpy()
    df[f"Năm {p.year - 1}"] = c["n_met_previous"].to_numpy()
    df["Tăng (+) / giảm (−)"] = c["change"].to_numpy()
    df["Mức công nhận"] = c["level_vi"].fillna("Chưa đạt chuẩn").to_numpy()
    df["Năm công nhận"] = c["recognised_year"].to_numpy()
    df[f"Dưới {p.threshold} tiêu chí"] = ["x" if b is True else "" for b in
                                          c["below_threshold"].to_numpy(dtype=object, na_value=None)]
    df["Có nguy cơ"] = ["x" if r else "" for r in c["at_risk"]]
    widths = {"STT": 5, "Mã xã": 12, "Tên xã": 20, "Huyện": 16, "Xã ĐBKK": 7, "Mức công nhận": 16}
    widths |= {col: 7 for col in crit_cols}
    head = status_export.write_table(
        ws, df, title=_TITLES["communes"].format(year=p.year), lines=lines, freeze_cols=3,
        centre=(5, len(df.columns)), fills={MET: _GREEN, UNMET: _RED}, widths=widths, header_height=110)
    # the seeds' bottom lines: total criteria and the average per xã
    total_row = head + len(df) + 1
    bold = Font(bold=True)
    n_col = df.columns.get_loc("Số tiêu chí đạt") + 1
    ws.cell(row=total_row, column=3, value="Tổng cộng").font = bold
    for k, crit in enumerate(p.criteria.itertuples(), start=df.columns.get_loc(crit_cols[0]) + 1 if crit_cols else 0):
        ws.cell(row=total_row, column=k, value=int(crit.n_met)).font = bold
    ws.cell(row=total_row, column=n_col, value=p.summary["total_criteria"]).font = bold
    ws.cell(row=total_row + 1, column=3, value="Bình quân tiêu chí/xã").font = bold
    avg = ws.cell(row=total_row + 1, column=n_col, value=p.summary["average"])
    avg.font, avg.number_format = bold, "0.00"
    _notes(ws, total_row + 3, [f"{MET}: đạt; {UNMET}: chưa đạt; ô trống: chưa có số liệu đánh giá.",
                               "Bình quân = tổng số tiêu chí đạt / số xã đã đánh giá, làm tròn 2 chữ số thập phân.",
                               *p.notes[:-1]])


def _criteria_sheet(ws, p: Progress, lines: list[str]) -> None:
    c = p.criteria
    df = pd.DataFrame({"Tiêu chí số": c["number"], "Tên tiêu chí": c["name_vi"], "Số xã đạt": c["n_met"],
                       "Số xã chưa đạt": c["n_unmet"], "Số xã chưa có số liệu": c["n_no_data"],
                       "Tỷ lệ xã đạt": c["share_met"],
                       "Thứ tự chưa đạt nhiều nhất": c["rank_unmet"]})
    head = status_export.write_table(
        ws, df, title=_TITLES["criteria"].format(year=p.year), lines=lines, freeze_cols=2, centre=(3, 7),
        widths={"Tiêu chí số": 9, "Tên tiêu chí": 44}, number_formats={"Tỷ lệ xã đạt": "0.0%"})
    _notes(ws, head + len(df) + 2, [f"Tỷ lệ tính trên {p.summary['n_communes']} xã trong phạm vi (không tính "
                                    "phường, thị trấn)."])


def _number_format(unit: str) -> str:
    return {"share": "0.0%", "criteria": "0.00"}.get(unit, "0")


def _headline_sheet(ws, p: Progress, lines: list[str]) -> None:
    h = headline_table(p)
    ty = p.target_year
    df = pd.DataFrame({"STT": range(1, len(h) + 1), "Chỉ tiêu": h["label_vi"],
                       f"Thực hiện năm {p.year}": h["actual"], "Mục tiêu": h["target"],
                       "Năm mục tiêu": h["target_year"], "Năm gốc": h["baseline_year"],
                       "Còn thiếu": h["gap"], "Đánh giá": [_yes_no(m) for m in h["met"]],
                       f"Dự báo năm {ty}" if ty and ty > p.year else "Dự báo": h["projected"]})
    title = _TITLES["headline"].format(target_year=ty or p.year)
    head = status_export.write_table(ws, df, title=title, lines=lines, freeze_cols=2, centre=(3, len(df.columns)),
                                     fills={_YES: _GREEN, _NO: _RED}, widths={"STT": 5, "Chỉ tiêu": 52})
    value_cols = [3, 4, 7, 9]
    for i, unit in enumerate(h["unit"], start=head + 1):
        for j in value_cols:
            ws.cell(row=i, column=j).number_format = _number_format(unit)
    _notes(ws, head + len(df) + 2, [p.projection_method, *p.notes[:-1]])


def _targets_sheet(ws, p: Progress, lines: list[str]) -> None:
    t = p.targets
    df = pd.DataFrame({"Mã đơn vị": t["scope_code"], "Tên đơn vị": t["scope_name"], "Chỉ tiêu": t["metric_vi"],
                       "Mã chỉ tiêu": t["metric"], "Năm mục tiêu": t["target_year"], "Năm gốc": t["baseline_year"],
                       "Mục tiêu": t["value"], "Mục tiêu tối đa": t["value_max"],
                       f"Thực hiện năm {p.year}": t["actual"], "Còn thiếu": t["gap"],
                       "Đánh giá": [_yes_no(m) for m in t["met"]], "Số đơn vị": t["n_units"],
                       "Văn bản giao chỉ tiêu": t["source_document"], "Ghi chú": t["note"]})
    title = _TITLES["targets"].format(target_year=p.target_year or p.year)
    head = status_export.write_table(
        ws, df, title=title, lines=lines, freeze_cols=3, centre=(5, 12), fills={_YES: _GREEN, _NO: _RED},
        widths={"Chỉ tiêu": 40, "Mã chỉ tiêu": 26, "Văn bản giao chỉ tiêu": 40, "Ghi chú": 40},
        number_formats={f"Thực hiện năm {p.year}": "0.00", "Còn thiếu": "0.00"})
    if df.empty:
        _notes(ws, head + 2, [f"Không có chỉ tiêu cho phạm vi này từ năm {p.year}."])


def _at_risk_sheet(ws, p: Progress, lines: list[str]) -> None:
    r = p.at_risk
    levels = dict(zip(p.communes["unit_code"], p.communes["level_vi"]))
    parents = dict(zip(p.communes["unit_code"], p.communes["parent_name"]))
    df = pd.DataFrame({"STT": range(1, len(r) + 1), "Mã xã": r["unit_code"], "Tên xã": r["name"],
                       "Huyện": r["unit_code"].map(parents), "Mức công nhận": r["unit_code"].map(levels),
                       "Năm công nhận": r["recognised_year"], "Số tiêu chí không đạt": r["n_failing"],
                       "Các tiêu chí không đạt": [", ".join(f"TC{n} {name}" for n, name in zip(ns, names))
                                                  for ns, names in zip(r["failing"], r["failing_names"])]})
    head = status_export.write_table(
        ws, df, title=_TITLES["at_risk"].format(year=p.year), lines=lines, freeze_cols=3, centre=(5, 7),
        widths={"STT": 5, "Tên xã": 20, "Huyện": 16, "Mức công nhận": 16, "Các tiêu chí không đạt": 70})
    if df.empty:
        _notes(ws, head + 2, ["Không có xã đã đạt chuẩn nào có tiêu chí không đạt trong năm."])


def _trend_sheet(ws, p: Progress, lines: list[str]) -> None:
    t = p.trend
    df = pd.DataFrame({
        "Năm": t["year"], "Số xã": t["n_communes"], "Số xã đã đánh giá": t["n_assessed"],
        "Tổng số tiêu chí đạt": t["total_criteria"], "Bình quân tiêu chí/xã": t["avg_criteria_per_commune"],
        "Tăng/giảm bình quân": t["d_avg_criteria_per_commune"], "Xã thấp nhất": t["min_criteria_per_commune"],
        f"Số xã dưới {p.threshold} tiêu chí": t["n_below_threshold"], "Xã đạt chuẩn NTM": t["communes_dat_chuan"],
        "Tăng/giảm xã đạt chuẩn": t["d_communes_dat_chuan"], "Xã NTM nâng cao": t["communes_nang_cao"],
        "Xã NTM kiểu mẫu": t["communes_kieu_mau"], "Thôn đạt chuẩn NTM": t["villages_dat_chuan"],
        "Tỷ lệ thôn xã ĐBKK đạt chuẩn": t["share_villages_dat_chuan_edk"]})
    head = status_export.write_table(
        ws, df, title=_TITLES["trend"].format(first=int(t["year"].min()), year=p.year), lines=lines,
        freeze_cols=1, centre=(1, len(df.columns)),
        number_formats={"Bình quân tiêu chí/xã": "0.00", "Tăng/giảm bình quân": "+0.00;-0.00;0.00",
                        "Tỷ lệ thôn xã ĐBKK đạt chuẩn": "0.0%"})
    _notes(ws, head + len(df) + 2, [f"Số liệu theo bộ tiêu chí {p.set_id}; năm không có số liệu của bộ này để "
                                    "trống.", p.projection_method])


def progress_to_xlsx(p: Progress, path_or_buffer, *, created: dt.date | None = None) -> None:
    """Write a progress report as an .xlsx workbook (a path or a binary buffer).

    ``created`` is the date printed in each sheet's header (default today).

    See Also
    --------
    layers.progress.compute_progress, layers.status_export.export_status
    """
    from openpyxl import Workbook

    if isinstance(path_or_buffer, (str, Path)) and Path(path_or_buffer).suffix.lower() != ".xlsx":
        raise ValueError(f"'path' must name an .xlsx file, got '{Path(path_or_buffer).name}'")
    lines = _header_lines(p, created or dt.date.today())
    wb = Workbook()
    writers = {"communes": _communes_sheet, "criteria": _criteria_sheet, "headline": _headline_sheet,
               "targets": _targets_sheet, "at_risk": _at_risk_sheet, "trend": _trend_sheet}
    for k, (key, write) in enumerate(writers.items()):
        ws = wb.active if k == 0 else wb.create_sheet()
        ws.title = SHEETS[key]
        write(ws, p, lines)
    wb.properties.title = f"Tiến độ NTM {p.scope_name} năm {p.year}"
    wb.properties.creator = "NTM Atlas"
    if isinstance(path_or_buffer, (str, Path)):
        Path(path_or_buffer).parent.mkdir(parents=True, exist_ok=True)
    wb.save(path_or_buffer)


def progress_xlsx_bytes(p: Progress, *, created: dt.date | None = None) -> bytes:
    """The workbook as bytes (for a download)."""
    buffer = io.BytesIO()
    progress_to_xlsx(p, buffer, created=created)
    return buffer.getvalue()

"""Criteria status out to the spreadsheets planners exchange (CSV, XLSX).

The wide layout ("Biểu 01"): one row per commune, one column per criterion with
"Đạt" / "Không đạt", then the count. CSV carries a BOM so Excel shows Vietnamese;
XLSX has a title, a subtitle naming the criteria set and date, a frozen header and
coloured cells. ``layers.status_io.import_status`` reads both back to the same status.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

from . import admin_units, criteria, status
from .store import Store

__all__ = ["status_to_wide", "export_status", "write_table"]


def _level(cset: criteria.CriteriaSet) -> str:
    return cset.unit_level if cset.unit_level in ("commune", "village") else "commune"


_LABELS = {
    "vi": {"code": "Mã {u}", "name": "Tên {u}", "parent": "Huyện", "met": "Đạt",
           "unmet": "Không đạt", "n_met": "Số tiêu chí đạt", "criterion": "TC{n} {name}",
           "commune": "xã", "village": "thôn", "village_parent": "Thuộc xã"},
    "en": {"code": "Code", "name": "{U}", "parent": "District", "met": "Met",
           "unmet": "Not met", "n_met": "Criteria met", "criterion": "C{n} {name}",
           "commune": "Commune", "village": "Village", "village_parent": "Commune"},
}


def status_to_wide(
    store: Store,
    year: int,
    set_id: str,
    *,
    as_of=None,
    scope_code: str | None = None,
    lang: str = "vi",
) -> pd.DataFrame:
    """The status of every unit in a scope as the wide table planners fill in.

    Columns: Mã xã, Tên xã, Huyện, one column per criterion ("TC1 Quy hoạch" …) with
    "Đạt" / "Không đạt" / "" (no data), then "Số tiêu chí đạt". ``lang="en"`` gives
    English headers and Met / Not met.

    See Also
    --------
    export_status, layers.status.criteria_summary
    """
    if lang not in _LABELS:
        raise ValueError(f"lang: expected 'vi' or 'en', got {lang!r}")
    labels = _LABELS[lang]
    cset = criteria.get_set(set_id)
    level = _level(cset)
    summary = status.criteria_summary(store, year, set_id, as_of=as_of, scope_code=scope_code)
    day = admin_units.year_end(year)
    parent_names: dict[str, str] = {}
    parent_levels = ("province", "district") if level == "commune" else ("commune",)
    for parent_level in parent_levels:
        units = admin_units.units_table(store, parent_level, on=day)
        parent_names.update(zip(units["code"], units["name"]))
    unit_word = labels[level]
    out = pd.DataFrame({
        labels["code"].format(u=unit_word): summary["unit_code"].astype(str),
        labels["name"].format(u=unit_word, U=unit_word): summary["name"].astype(str),
        (labels["parent"] if level == "commune" else labels["village_parent"]): [
            parent_names.get(p, "") if isinstance(p, str) else "" for p in summary["parent_code"]
        ],
    })
    for c in cset.criteria:
        col = labels["criterion"].format(n=c.number, name=c.label(lang))
        out[col] = [
            labels["met"] if c.number in m else labels["unmet"] if c.number in u else ""
            for m, u in zip(summary["met"], summary["unmet"])
        ]
    out[labels["n_met"]] = summary["n_met"].astype("int64").to_numpy()
    return out


def _title(cset: criteria.CriteriaSet, year: int, scope_name: str | None, as_of, lang: str) -> tuple[str, str]:
    if lang == "en":
        title = f"Table 01 – NTM criteria results, {year}" + (f" – {scope_name}" if scope_name else "")
        sub = f"Criteria set: {cset.title_en} ({cset.legal_act}); " + (
            f"status as of {as_of}" if as_of else "latest status"
        )
        return title, sub
    title = f"Biểu 01 – Kết quả thực hiện tiêu chí NTM năm {year}" + (f" – {scope_name}" if scope_name else "")
    sub = f"Bộ tiêu chí: {cset.title_vi} ({cset.legal_act}); " + (
        f"số liệu đến ngày {as_of}" if as_of else "số liệu mới nhất"
    )
    return title, sub


def export_status(
    store: Store,
    path,
    year: int,
    set_id: str,
    *,
    as_of=None,
    scope_code: str | None = None,
    lang: str = "vi",
) -> Path:
    """Write the wide status table to .csv (UTF-8 with BOM, for Excel) or .xlsx.

    The workbook has a title row ("Biểu 01 – Kết quả thực hiện tiêu chí NTM năm 2024"),
    a subtitle naming the criteria set and the date, a bold frozen header and coloured
    Đạt / Không đạt cells. ``import_status`` reads both files back to the same status.

    See Also
    --------
    status_to_wide, import_status
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValueError(f"path: expected a .csv or .xlsx file name, got '{path.name}'")
    df = status_to_wide(store, year, set_id, as_of=as_of, scope_code=scope_code, lang=lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        df.to_csv(path, index=False, encoding="utf-8-sig")
        return path
    scope_name = None
    if scope_code is not None:
        level = admin_units.unit_level_of(store, scope_code)
        if level is not None:
            units = admin_units.units_table(store, level, on=admin_units.year_end(year))
            names = units.loc[units["code"] == scope_code, "full_name"].dropna().tolist() or \
                units.loc[units["code"] == scope_code, "name"].tolist()
            scope_name = names[0] if names else scope_code
    title, sub = _title(criteria.get_set(set_id), year, scope_name, as_of, lang)
    _write_xlsx(path, df, title, sub, year, lang)
    return path


def _write_xlsx(path: Path, df: pd.DataFrame, title: str, subtitle: str, year: int, lang: str) -> None:
    from openpyxl import Workbook

    labels = _LABELS[lang]
    wb = Workbook()
    ws = wb.active
    ws.title = (f"Tiêu chí {year}" if lang == "vi" else f"Criteria {year}")[:31]
    write_table(ws, df, title=title, lines=[subtitle], freeze_cols=3, centre=(4, len(df.columns) - 1),
                fills={labels["met"]: "C6EFCE", labels["unmet"]: "FFC7CE"})
    wb.save(path)


def _default_width(j: int, ncols: int) -> float:
    return 10 if j == 1 else 24 if j in (2, 3) else 12 if j == ncols else 14


def _cell_value(value):
    """A pandas/numpy value as openpyxl takes it: NA and "" are empty cells."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or None
    return None if value == "" else value


def write_table(
    ws,
    df: pd.DataFrame,
    *,
    title: str,
    lines=(),
    freeze_cols: int = 0,
    centre: tuple[int, int] | None = None,
    fills: dict | None = None,
    widths: dict | None = None,
    number_formats: dict | None = None,
    header_height: float = 60,
    auto_filter: bool = True,
) -> int:
    """Write a table the way planners' sheets look; returns the header row number.

    A bold title (row 1) and italic ``lines`` under it (scope, year, criteria set, date),
    a bold, shaded, wrapped header row, the values, frozen panes below the header and
    right of ``freeze_cols`` columns, and an auto-filter. ``centre`` (first, last
    1-based columns) centres those cells; ``fills`` colours cells by value
    ("Đạt" -> "C6EFCE"); ``widths`` and ``number_formats`` map column names to a width
    and an Excel number format ("0.00", "0%"). NA and "" become empty cells; lists
    become "1, 2, 3".
    """
    from openpyxl.styles import Alignment, Font, PatternFill

    ncols = max(len(df.columns), 1)
    ws.cell(row=1, column=1, value=title).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
    for k, line in enumerate(lines, start=2):
        ws.cell(row=k, column=1, value=line).font = Font(italic=True)
        ws.merge_cells(start_row=k, start_column=1, end_row=k, end_column=ncols)
    head = 2 + len(lines)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for j, name in enumerate(df.columns, start=1):
        cell = ws.cell(row=head, column=j, value=str(name))
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    fill_of = {value: PatternFill("solid", fgColor=colour) for value, colour in (fills or {}).items()}
    formats = {j: (number_formats or {}).get(name) for j, name in enumerate(df.columns, start=1)}
    first, last = centre or (0, -1)
    for i, values in enumerate(df.itertuples(index=False, name=None), start=head + 1):
        for j, value in enumerate(values, start=1):
            value = _cell_value(value)
            cell = ws.cell(row=i, column=j, value=value)
            if first <= j <= last:
                cell.alignment = Alignment(horizontal="center")
            if isinstance(value, str) and value in fill_of:
                cell.fill = fill_of[value]
            if formats[j] and isinstance(value, (int, float)):
                cell.number_format = formats[j]
    for j, name in enumerate(df.columns, start=1):
        width = (widths or {}).get(name) or _default_width(j, ncols)
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.row_dimensions[head].height = header_height
    ws.freeze_panes = f"{get_column_letter(freeze_cols + 1)}{head + 1}"
    if auto_filter:
        ws.auto_filter.ref = f"A{head}:{get_column_letter(ncols)}{max(head, len(df) + head)}"
    return head

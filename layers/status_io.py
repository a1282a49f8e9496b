"""Criteria status from the spreadsheets planners exchange (CSV, XLSX).

Two layouts are read. *Wide*: one row per commune, one column per criterion ("TC1",
"TC2 Giao thông", "Y tế" …), cells "Đạt" / "Không đạt" / blank, often under a title row
("Biểu 01 - Kết quả thực hiện tiêu chí năm 2024"). *Long*: one row per commune and
criterion with columns unit, year, criterion, met (and value, indicator, set, note,
source). Every problem is reported with the row number and column the user sees in Excel;
an import with any error writes nothing. Unchanged statuses are not written again, so
importing the same file twice adds nothing to the history.

The wide layout is written back by ``layers.status_export``.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
import math
import re
import statistics
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from geo.text import ascii_fold, mojibake_reason, nfc, slugify, split_type_prefix
from . import _tables, admin_units, criteria, schema, status
from ._errors import CriteriaError, Problem, ValidationReport
from .store import Store, utc_now

__all__ = [
    "StatusImportResult",
    "parse_met",
    "import_status",
]

log = logging.getLogger(__name__)

_MET = {"dat", "x", "1", "1.0", "✓", "✔", "co", "yes", "y", "true", "met"}
_NOT_MET = {
    "khong dat", "chua dat", "0", "0.0", "khong", "chua", "no", "n", "false", "✗", "✘",
    "not met",
}
_HEADER_SCAN_ROWS = 30
_RECORD_INPUT = ("unit_code", "year", "set_id", "criterion", "indicator", "met", "value",
                 "value_text", "source_document", "note")


def _fold(text) -> str:
    """Header/cell text for matching: no diacritics, lower case, words only."""
    return re.sub(r"[^a-z0-9✓✔✗✘]+", " ", ascii_fold(nfc(str(text)) or "").lower()).strip()


def _aliases(*names: str) -> frozenset[str]:
    return frozenset(_fold(n) for n in names)


# Column roles by header text (matched after _fold). Criterion columns are matched by the
# criteria set itself (CriteriaSet.match_column).
_ROLES = {
    "code": _aliases(
        "Mã xã", "Mã", "code", "ma_xa", "unit_code", "Mã đơn vị", "Mã ĐVHC", "commune code",
        "Mã thôn", "Mã xã, phường, thị trấn", "Mã số",
    ),
    "name": _aliases(
        "Tên xã", "Xã", "name", "Tên", "Tên đơn vị", "Đơn vị", "commune", "Tên thôn", "Thôn",
        "Xã, phường, thị trấn", "Tên xã, phường, thị trấn", "unit name", "village",
    ),
    "unit": _aliases("unit", "đơn vị hành chính"),
    "district": _aliases(
        "Huyện", "Tên huyện", "district", "Huyện, thị xã, thành phố", "Huyện/thành phố",
        "Đơn vị cấp huyện", "Thuộc xã",
    ),
    "year": _aliases("Năm", "year", "Năm đánh giá"),
    "criterion": _aliases("criterion", "Tiêu chí", "TC", "Mã tiêu chí", "Tên tiêu chí"),
    "met": _aliases("met", "Đạt", "Kết quả", "status", "Đánh giá", "Đạt/Không đạt", "Trạng thái"),
    "value": _aliases("value", "Giá trị", "Số liệu"),
    "value_text": _aliases("value_text", "Mô tả"),
    "indicator": _aliases("indicator", "Chỉ tiêu", "Chỉ tiêu thành phần"),
    "set": _aliases("set", "set_id", "Bộ tiêu chí"),
    "note": _aliases("note", "Ghi chú"),
    "source": _aliases("source", "source_document", "Nguồn", "Văn bản", "Căn cứ"),
    "n_met": _aliases(
        "Số tiêu chí đạt", "Số TC đạt", "Tổng số tiêu chí đạt", "Tổng tiêu chí đạt",
        "Số tiêu chí đã đạt", "Tổng số TC đạt", "criteria met",
    ),
    "ignore": _aliases(
        "STT", "TT", "Số TT", "No", "Tổng", "Tổng cộng", "total", "Xếp loại", "Số tiêu chí",
        "Số tiêu chí chưa đạt", "Số TC chưa đạt", "criteria not met",
    ),
}
_WIDE_ROLES = ("code", "name", "unit", "district", "year", "note", "source", "n_met", "ignore")
_LONG_ROLES = (
    "code", "name", "unit", "district", "year", "criterion", "met", "value", "value_text",
    "indicator", "set", "note", "source", "ignore",
)
_LOOKS_LIKE_CRITERION = re.compile(r"(?:tc|tieu chi(?: so)?|criterion)\s*\d+.*|\d{1,2}(?: .*)?")
_TOTALS_ROW = re.compile(r"tong|tong cong|tong so|cong|total|toan (?:huyen|tinh|xa)(?: .*)?")


def parse_met(value) -> bool | None:
    """A spreadsheet cell as met (True), not met (False) or no data (None).

    Raises ValueError for anything else ("đạt?", "2", "-").

    Examples
    --------
    >>> parse_met("Đạt"), parse_met("Chưa đạt"), parse_met(" ")
    (True, False, None)
    """
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        if value in (0, 1):
            return bool(value)
        raise ValueError(f"cannot read {value!r} as met / not met")
    verdict = _parse_met_text(str(value))
    if verdict == "?":
        raise ValueError(f"cannot read {str(value)!r} as met / not met")
    return verdict


@functools.lru_cache(maxsize=1024)
def _parse_met_text(value: str) -> bool | None | str:
    # diacritics and case do not matter, punctuation does: "đạt?" is a question, not "Đạt"
    text = re.sub(r"\s+", " ", ascii_fold(nfc(value) or "").lower()).strip()
    if not text:
        return None
    return True if text in _MET else False if text in _NOT_MET else "?"


# --- reading a file into a grid of cells ------------------------------------------------


@dataclass
class _Grid:
    """The cells of a CSV file or a worksheet; row k is row k+1 in Excel."""

    file: str
    rows: list[list]
    xlsx: bool
    sheet: str | None = None

    def column_label(self, header: str, j: int) -> str:
        if self.xlsx:
            return f"{header} ({get_column_letter(j + 1)})"
        return header


def _clean_cell(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        value = nfc(value)
        return value or None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _read_csv(path: Path, report: ValidationReport) -> _Grid:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        report.error(
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be decoded); "
            "it was probably saved in a legacy Windows encoding. In Excel use "
            "'Save As' > 'CSV UTF-8 (Comma delimited)', or save it as .xlsx, and import again",
            file=path.name,
            row=line,
        )
        report.raise_if_errors(f"status import from '{path.name}'")
    lines = text.splitlines()[:200]
    best, best_width = ",", 0
    for delimiter in (",", ";", "\t"):
        widths = [len(r) for r in csv.reader(lines, delimiter=delimiter) if len(r) > 1]
        width = statistics.median(widths) if widths else 0
        if width > best_width:
            best, best_width = delimiter, width
    rows = [[_clean_cell(c) for c in r] for r in csv.reader(io.StringIO(text, newline=""), delimiter=best)]
    return _Grid(path.name, rows, xlsx=False)


def _read_xlsx(path: Path, sheet: str | None, report: ValidationReport) -> _Grid:
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except (zipfile.BadZipFile, InvalidFileException, OSError, ValueError, KeyError) as exc:
        report.error(f"cannot open the workbook: {exc}; expected an Excel .xlsx file", file=path.name)
        report.raise_if_errors(f"status import from '{path.name}'")
    with book:
        names = book.sheet_names
        if sheet is not None and sheet not in names:
            report.error(
                f"the workbook has no sheet named '{sheet}'; sheets: {', '.join(names)}",
                file=path.name,
            )
            report.raise_if_errors(f"status import from '{path.name}'")
        name = sheet if sheet is not None else names[0]
        df = pd.read_excel(book, sheet_name=name, header=None, dtype=object)
    rows = [[_clean_cell(v) for v in row] for row in df.itertuples(index=False, name=None)]
    return _Grid(f"{path.name} [{name}]", rows, xlsx=True, sheet=name)


def _read_grid(path: Path, sheet: str | None, report: ValidationReport) -> _Grid:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return _read_csv(path, report)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet, report)
    report.error(
        f"unsupported file type '{suffix}'; expected .csv (UTF-8) or .xlsx"
        + (" (save .xls workbooks as .xlsx in Excel)" if suffix == ".xls" else ""),
        file=path.name,
    )
    report.raise_if_errors(f"status import from '{path.name}'")
    raise AssertionError  # unreachable


# --- header and columns ------------------------------------------------------------------


def _role(header) -> str | None:
    folded = _fold(header)
    for role, names in _ROLES.items():
        if folded in names:
            return role
    return None


def _header_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _criteria_in_row(row: list, cset: criteria.CriteriaSet) -> set[int]:
    found = set()
    for cell in row:
        if cell is None or _role(cell) is not None:
            continue
        number = cset.match_column(_header_text(cell))
        if number is not None:
            found.add(number)
    return found


def _find_header(grid: _Grid, csets: list[criteria.CriteriaSet]) -> tuple[int, str] | None:
    """(row index, "wide" | "long") of the first row naming ≥ 3 criteria or long-form columns."""
    for k, row in enumerate(grid.rows[:_HEADER_SCAN_ROWS]):
        if any(len(_criteria_in_row(row, cset)) >= 3 for cset in csets):
            return k, "wide"
        roles = {_role(c) for c in row if c is not None}
        if len(roles & {"code", "name", "unit", "year", "criterion", "met"}) >= 3 and "criterion" in roles:
            return k, "long"
    return None


def _title_year(grid: _Grid, header_row: int) -> int | None:
    for row in grid.rows[:header_row]:
        for cell in row:
            m = re.search(r"\bn[aă]m\s+(20\d\d)\b", _fold(cell) if cell is not None else "")
            if m:
                return int(m.group(1))
    return None


# --- units ---------------------------------------------------------------------------------


class _Units:
    """Resolve the unit of a row: by code (any vintage valid in the year) or by name."""

    def __init__(self, store: Store, level: str, on):
        self.store, self.level, self.on = store, level, on
        self.table = store.read_table(
            schema.ADMIN_TABLE[level], columns=["code", "name", "slug", "valid_from", "valid_to"]
        )
        self.names = dict(zip(self.table["code"], self.table["name"]))
        self.slugs: dict[str, set[str]] = {}
        for code, slug in zip(self.table["code"], self.table["slug"]):
            self.slugs.setdefault(code, set()).add(slug)
        self.widths = sorted({len(c) for c in self.table["code"]})
        self._valid: dict[int, set[str]] = {}
        self._matchers: dict[str, admin_units.UnitMatcher] = {}
        self.padded: list[str] = []

    def valid_codes(self, year: int) -> set[str]:
        if year not in self._valid:
            t = self.table
            vf, vt = t["valid_from"].fillna(""), t["valid_to"].fillna("9999")
            if self.on is not None:
                day = str(self.on)
                ok = (vf <= day) & (vt > day)
            else:
                ok = (vf <= f"{year}-12-31") & (vt > f"{year}-01-01")
            self._valid[year] = set(t.loc[ok.to_numpy(), "code"])
        return self._valid[year]

    def by_code(self, raw, year: int) -> tuple[str | None, str | None]:
        code = _header_text(raw)
        valid = self.valid_codes(year)
        if code in valid:
            return code, None
        if code.isdigit():
            for width in self.widths:
                if width > len(code) and code.zfill(width) in valid:
                    self.padded.append(code)
                    return code.zfill(width), None
        when = f"on {self.on}" if self.on is not None else f"in {year}"
        if code in self.names:
            return None, f"{self.level} '{code}' ({self.names[code]}) did not exist {when}"
        return None, f"no {self.level} has code '{code}'"

    def by_name(self, name: str, parent, year: int) -> tuple[str | None, str | None]:
        day = str(self.on if self.on is not None else admin_units.year_end(year))
        if day not in self._matchers:
            self._matchers[day] = admin_units.UnitMatcher(self.store, self.level, on=day)
        return self._matchers[day].by_name(str(name), None if parent is None else str(parent))

    def name_differs(self, code: str, name) -> bool:
        _, bare = split_type_prefix(str(name), admin_units.unit_type_prefixes(self.level))
        return slugify(bare) not in self.slugs.get(code, set())


# --- the import ------------------------------------------------------------------------------


@dataclass
class StatusImportResult:
    """What an import read, what it writes (or would write) and how that changes the status."""

    path: Path
    form: str
    rows_read: int
    records: pd.DataFrame
    changes: pd.DataFrame
    warnings: list[Problem] = field(default_factory=list)
    written: int = 0
    dry_run: bool = False

    @property
    def counts(self) -> dict[str, int]:
        """Number of keys per change kind: new, changed, unchanged."""
        kinds = self.changes["change"].value_counts() if len(self.changes) else {}
        return {k: int(kinds.get(k, 0)) for k in ("new", "changed", "unchanged")}

    def summary(self) -> str:
        c = self.counts
        verb = "would write" if self.dry_run else "wrote"
        return (
            f"{self.path.name}: {self.rows_read} row(s) read ({self.form} form); "
            f"{c['new']} new, {c['changed']} changed, {c['unchanged']} unchanged; "
            f"{verb} {len(self.records) if self.dry_run else self.written} record(s); "
            f"{len(self.warnings)} warning(s)"
        )


def import_status(
    store: Store,
    path,
    *,
    year: int | None = None,
    set_id: str | None = None,
    form: str = "auto",
    sheet: str | None = None,
    dry_run: bool = False,
    recorded_by: str,
    source_document: str | None = None,
    on=None,
    recorded_at=None,
) -> StatusImportResult:
    """Import criteria status from a planner's CSV or XLSX file, all or nothing.

    Parameters
    ----------
    store
        The store to write to.
    path
        A .csv (UTF-8, ',' ';' or tab separated) or .xlsx file.
    year
        Assessment year of every row; otherwise a "Năm" / "year" column is required.
    set_id
        Criteria set; by default the national set in force in the year.
    form
        "wide" (one column per criterion), "long" (one row per criterion) or "auto".
    sheet
        Worksheet name (XLSX); the first sheet by default.
    dry_run
        Check and compare with the current status, write nothing.
    recorded_by
        Who imports (kept on every record and in the import log).
    source_document
        The report the figures come from; the file name by default.
    on
        Date whose admin units the codes and names refer to; by default units valid
        during the row's year (codes) / at its end (names). Give e.g. "2025-06-30" to
        import 2025 results kept on the communes before the July 2025 merger.
    recorded_at
        When the figures count from (e.g. the date of a quarterly report being loaded
        late, so that ``as_of`` queries place it right); now by default.

    Returns
    -------
    StatusImportResult
        rows_read, records (to write), changes (unit_code, criterion, old, new, change),
        warnings and the number written.

    Raises
    ------
    ImportValidationError
        Every problem with its file, row and column; nothing is written.

    See Also
    --------
    export_status, layers.status.record_status
    """
    started = utc_now()
    stamp = status.to_recorded_at(recorded_at)
    path = Path(path)
    if form not in ("auto", "wide", "long"):
        raise ValueError(f"form: expected 'auto', 'wide' or 'long', got {form!r}")
    if not recorded_by or not str(recorded_by).strip():
        raise ValueError("recorded_by: expected the name of who imports, got an empty value")
    what = f"status import from '{path.name}'"
    report = ValidationReport()
    if not path.exists():
        raise FileNotFoundError(f"status file '{path}' does not exist")
    if set_id is not None:
        criteria.get_set(set_id)  # an unknown set is a usage error, raised at once
    grid = _read_grid(path, sheet, report)

    if set_id is not None:
        candidates = [criteria.get_set(set_id)]
    elif year is not None:
        try:
            candidates = [criteria.set_for_year(year)]
        except CriteriaError as exc:
            raise CriteriaError(f"{exc}; give set_id for the criteria set the file uses") from None
    else:
        candidates = list(criteria.available_sets().values())
    found = _find_header(grid, candidates)
    if found is None:
        report.error(
            f"no header row in the first {_HEADER_SCAN_ROWS} rows: expected a row with at "
            "least 3 criterion columns (e.g. 'TC1', 'TC2 Giao thông', 'Y tế') for the wide "
            "form, or the columns unit, year, criterion, met for the long form",
            file=grid.file,
        )
        report.raise_if_errors(what)
    header_row, detected = found
    form = detected if form == "auto" else form
    header = [None if c is None else _header_text(c) for c in grid.rows[header_row]]
    for j, h in enumerate(header):
        reason = mojibake_reason(h)
        if reason:
            report.error(f"header '{h}' {reason}", file=grid.file, row=header_row + 1,
                         column=grid.column_label(h, j))

    if year is None and "year" not in _columns(header, ("year",)):
        title_year = _title_year(grid, header_row)
        hint = f"; the title says 'năm {title_year}': pass year={title_year}" if title_year else ""
        report.error(
            "missing year: give the year of the import or add a 'Năm' (year) column" + hint,
            file=grid.file, row=header_row + 1,
        )
        report.raise_if_errors(what)
    reader = _read_wide if form == "wide" else _read_long
    records, rows_read = reader(
        store, grid, header_row, header, report,
        year=year, set_id=set_id, on=on, candidates=candidates,
    )
    rows = records["_row"].tolist() if not records.empty else []
    if not records.empty:
        records = status.validate_status_records(store, records, report=report, file=grid.file)
    report.raise_if_errors(what)
    if records.empty:
        records = pd.DataFrame(columns=list(_RECORD_INPUT))
    records["row"] = rows
    records["source_document"] = records["source_document"].where(
        records["source_document"].notna(), source_document or path.name
    )

    changes = _compare(store, records)
    to_write = records[changes["change"].ne("unchanged").to_numpy()].reset_index(drop=True)
    written = 0
    if not dry_run and len(to_write):
        with store.transaction() as conn:
            written = status.append_records(
                store,
                to_write.drop(columns=["row"]),
                recorded_by=recorded_by,
                source_document=None,
                recorded_at=stamp,
                conn=conn,
            )
            store.insert_rows(conn, "import_log", [{
                "kind": "status",
                "source": str(path),
                "rows_written": written,
                "warnings": json.dumps([str(p) for p in report.warnings], ensure_ascii=False),
                "started_at": started,
                "finished_at": utc_now(),
                "recorded_by": recorded_by,
            }])
    result = StatusImportResult(
        path=path, form=form, rows_read=rows_read, records=to_write,
        changes=changes, warnings=report.warnings, written=written, dry_run=dry_run,
    )
    log.info("%s", result.summary())
    return result


def _is_numbering_row(row: list) -> bool:
    """A row numbering the columns under the header: (1) (2) (3) … or 1 2 3 …"""
    numbers = []
    for cell in row:
        if cell is None:
            continue
        m = re.fullmatch(r"\(?\s*(\d+)\s*\)?", _header_text(cell))
        if not m:
            return False
        numbers.append(int(m.group(1)))
    return len(numbers) >= 3 and numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def _data_rows(grid: _Grid, header_row: int) -> list[tuple[int, list]]:
    """(excel row number, cells padded to the header's width) of the rows under the header."""
    width = len(grid.rows[header_row])
    out = []
    for k in range(header_row + 1, len(grid.rows)):
        row = grid.rows[k]
        if all(c is None for c in row):
            continue
        if k == header_row + 1 and _is_numbering_row(row):
            continue
        out.append((k + 1, row + [None] * (width - len(row))))
    return out


def _columns(header, roles: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for j, h in enumerate(header):
        role = _role(h) if h is not None else None
        if role in roles and role != "ignore":
            out.setdefault(role, j)
    return out


def _year_of(row, cols, year, grid, excel_row, header, report) -> int | None:
    """The row's year: its year cell (which must agree with ``year`` if given) or ``year``."""
    label = grid.column_label(header[cols["year"]], cols["year"]) if "year" in cols else None
    if "year" in cols and row[cols["year"]] is not None:
        cell = row[cols["year"]]
        value = _tables.as_int(cell)
        if value is None:
            report.error(f"cannot read {cell!r} as a year", file=grid.file, row=excel_row, column=label)
            return None
        if year is not None and value != year:
            report.error(
                f"year {value} differs from the year given for the import ({year})",
                file=grid.file, row=excel_row, column=label,
            )
            return None
        return value
    if year is not None:
        return year
    report.error("missing year: the year cell is empty", file=grid.file, row=excel_row, column=label)
    return None


def _unit_of(units: _Units, row, cols, year, grid, excel_row, header, report) -> str | None:
    """The unit code of a row, or None after reporting why."""

    def label(role):
        return grid.column_label(header[cols[role]], cols[role])

    for role in ("name", "district", "unit"):
        cell = row[cols[role]] if role in cols else None
        reason = mojibake_reason(cell) if isinstance(cell, str) else None
        if reason:
            report.error(f"'{cell}' {reason}", file=grid.file, row=excel_row, column=label(role))
            return None
    code_cell = row[cols["code"]] if "code" in cols else None
    name_cell = row[cols["name"]] if "name" in cols else None
    code_role, name_role = "code", "name"
    if "unit" in cols and row[cols["unit"]] is not None:  # long form: a code or a name
        cell = row[cols["unit"]]
        if re.match(r"\d", _header_text(cell)):
            code_cell, code_role = cell, "unit"
        else:
            name_cell, name_role = cell, "unit"
    district = row[cols["district"]] if "district" in cols else None
    if code_cell is not None:
        code, reason = units.by_code(code_cell, year)
        if code is None:
            report.error(f"unknown {units.level}: {reason}", file=grid.file, row=excel_row,
                         column=label(code_role))
        elif name_cell is not None and units.name_differs(code, name_cell):
            report.warn(
                f"code '{code}' is '{units.names[code]}' in the store but the file names "
                f"'{name_cell}'; the code was used",
                file=grid.file, row=excel_row, column=label(code_role),
            )
        return code
    if name_cell is not None:
        code, reason = units.by_name(name_cell, district, year)
        if code is None:
            ambiguous = " names " in reason
            hint = (
                "; add a 'Huyện' (district) column or a 'Mã xã' (code) column"
                if ambiguous and "district" not in cols else ""
            )
            report.error(
                f"{'ambiguous' if ambiguous else 'unknown'} {units.level}: {reason}{hint}",
                file=grid.file, row=excel_row, column=label(name_role),
            )
        return code
    report.error(f"no {units.level} code or name in this row", file=grid.file, row=excel_row)
    return None


def _level(cset: criteria.CriteriaSet) -> str:
    return cset.unit_level if cset.unit_level in ("commune", "village") else "commune"


def _read_wide(store, grid, header_row, header, report, *, year, set_id, on, candidates):
    cols = _columns(header, _WIDE_ROLES)
    rows = _data_rows(grid, header_row)
    # the set: given, or in force in the year (given or from the year column)
    if set_id is not None:
        cset = criteria.get_set(set_id)
    else:
        years = {year} if year is not None else set()
        if year is None and "year" in cols:
            years = {_tables.as_int(r[cols["year"]]) for _, r in rows} - {None}
        sets = set()
        for y in sorted(years):
            try:
                sets.add(criteria.set_for_year(y).id)
            except CriteriaError as exc:
                report.error(f"{exc}; give set_id", file=grid.file)
        if len(sets) > 1:
            report.error(
                f"the rows span years under different criteria sets ({', '.join(sorted(sets))}); "
                "split the file by set or give set_id",
                file=grid.file,
            )
            return pd.DataFrame(), len(rows)
        if report.errors:
            return pd.DataFrame(), len(rows)
        cset = criteria.get_set(sets.pop()) if sets else candidates[0]
    criterion_cols: dict[int, int] = {}
    for j, h in enumerate(header):
        if h is None or _role(h) is not None:
            continue
        label = grid.column_label(h, j)
        number = cset.match_column(h)
        if number is not None:
            if number in criterion_cols.values():
                other = next(k for k, n in criterion_cols.items() if n == number)
                report.error(
                    f"column names criterion {number}, already given by column "
                    f"'{grid.column_label(header[other], other)}'",
                    file=grid.file, row=header_row + 1, column=label,
                )
            else:
                criterion_cols[j] = number
        elif _LOOKS_LIKE_CRITERION.fullmatch(_fold(h)):
            report.error(
                f"unknown criterion column: set '{cset.id}' has criteria 1 to {len(cset)}; "
                f"expected headers like 'TC1' … 'TC{len(cset)}' or the criterion names",
                file=grid.file, row=header_row + 1, column=label,
            )
        else:
            report.warn("column not recognised, ignored", file=grid.file, row=header_row + 1, column=label)
    if "code" not in cols and "name" not in cols and "unit" not in cols:
        report.error(
            f"no {_level(cset)} column: expected a code column ('Mã xã', 'code') or a name "
            "column ('Tên xã', 'Xã', 'name')",
            file=grid.file, row=header_row + 1,
        )
        return pd.DataFrame(), len(rows)

    units = _Units(store, _level(cset), on)
    out, locs, seen = [], [], {}
    for excel_row, row in rows:
        name_cell = row[cols["name"]] if "name" in cols else None
        if (("code" not in cols or row[cols["code"]] is None) and isinstance(name_cell, str)
                and _TOTALS_ROW.fullmatch(_fold(name_cell))):
            report.warn(f"totals row '{name_cell}' skipped", file=grid.file, row=excel_row)
            continue
        row_year = _year_of(row, cols, year, grid, excel_row, header, report)
        if row_year is None:
            continue
        code = _unit_of(units, row, cols, row_year, grid, excel_row, header, report)
        if code is None:
            continue
        if (code, row_year) in seen:
            report.error(
                f"duplicate row: {units.level} {code} ({units.names.get(code)}) is already "
                f"given in row {seen[(code, row_year)]}",
                file=grid.file, row=excel_row,
            )
            continue
        seen[(code, row_year)] = excel_row
        note = row[cols["note"]] if "note" in cols else None
        source = row[cols["source"]] if "source" in cols else None
        n_met = 0
        for j, number in criterion_cols.items():
            label = grid.column_label(header[j], j)
            try:
                met = parse_met(row[j])
            except ValueError:
                report.error(
                    f"cannot read {row[j]!r} as met / not met; expected 'Đạt' / 'Không đạt' "
                    "(or x, 1, ✓ / 0), blank for no data",
                    file=grid.file, row=excel_row, column=label,
                )
                continue
            if met is None:
                continue
            n_met += met
            out.append({
                "unit_code": code, "year": row_year, "set_id": cset.id, "criterion": number,
                "met": met, "note": note, "source_document": source,
            })
            locs.append((excel_row, label))
        if "n_met" in cols and row[cols["n_met"]] is not None:
            declared = _tables.as_int(row[cols["n_met"]])
            if declared is not None and declared != n_met:
                report.warn(
                    f"the row says {declared} criteria met but {n_met} criterion cells are met",
                    file=grid.file, row=excel_row,
                    column=grid.column_label(header[cols["n_met"]], cols["n_met"]),
                )
    if units.padded:
        report.warn(
            f"{len(units.padded)} code(s) had lost their leading zeros (Excel number cells, "
            f"e.g. '{units.padded[0]}') and were matched after padding",
            file=grid.file,
        )
    return _frame(out, locs), len(rows)


def _read_long(store, grid, header_row, header, report, *, year, set_id, on, candidates):
    cols = _columns(header, _LONG_ROLES)
    rows = _data_rows(grid, header_row)
    for role in ("criterion", "met"):
        if role not in cols:
            report.error(f"long form needs a '{role}' column", file=grid.file, row=header_row + 1)
    if "code" not in cols and "name" not in cols and "unit" not in cols:
        report.error("long form needs a 'unit' column (code or name)", file=grid.file, row=header_row + 1)
    if report.errors:
        return pd.DataFrame(), len(rows)
    units_by_level: dict[str, _Units] = {}
    out, locs = [], []
    for excel_row, row in rows:
        def label(role):
            return grid.column_label(header[cols[role]], cols[role])

        row_year = _year_of(row, cols, year, grid, excel_row, header, report)
        if row_year is None:
            continue
        row_set = row[cols["set"]] if "set" in cols and row[cols["set"]] is not None else set_id
        try:
            cset = criteria.get_set(str(row_set)) if row_set is not None else criteria.set_for_year(row_year)
        except CriteriaError as exc:
            report.error(str(exc), file=grid.file, row=excel_row, column=label("set") if "set" in cols else None)
            continue
        level = _level(cset)
        if level not in units_by_level:
            units_by_level[level] = _Units(store, level, on)
        code = _unit_of(units_by_level[level], row, cols, row_year, grid, excel_row, header, report)
        indicator = _tables.as_text(row[cols["indicator"]]) if "indicator" in cols else None
        crit_cell = row[cols["criterion"]]
        if crit_cell is None and indicator:
            crit_cell = indicator.split(".")[0]
        number = _tables.as_int(crit_cell)
        if number is None and crit_cell is not None:
            number = cset.match_column(_header_text(crit_cell))
        if number is None or number not in cset.numbers:
            report.error(
                f"unknown criterion {crit_cell!r}: set '{cset.id}' has criteria 1 to {len(cset)} "
                "(give the number, 'TC2' or the name)",
                file=grid.file, row=excel_row, column=label("criterion"),
            )
            continue
        try:
            met = parse_met(row[cols["met"]])
        except ValueError:
            report.error(
                f"cannot read {row[cols['met']]!r} as met / not met; expected 'Đạt' / "
                "'Không đạt' (or x, 1, ✓ / 0)",
                file=grid.file, row=excel_row, column=label("met"),
            )
            continue
        value = row[cols["value"]] if "value" in cols else None
        if isinstance(value, str):
            try:
                value = float(value.replace("%", "").replace(" ", "").replace(",", "."))
            except ValueError:
                report.error(f"cannot read {value!r} as a number", file=grid.file, row=excel_row,
                             column=label("value"))
                continue
        value_text = row[cols["value_text"]] if "value_text" in cols else None
        if met is None and value is None and value_text is None:
            report.warn("no met / value given, row skipped", file=grid.file, row=excel_row, column=label("met"))
            continue
        if code is None:
            continue
        out.append({
            "unit_code": code, "year": row_year, "set_id": cset.id, "criterion": number,
            "indicator": indicator, "met": met, "value": value, "value_text": value_text,
            "note": row[cols["note"]] if "note" in cols else None,
            "source_document": row[cols["source"]] if "source" in cols else None,
        })
        locs.append((excel_row, None))
    for units in units_by_level.values():
        if units.padded:
            report.warn(
                f"{len(units.padded)} code(s) had lost their leading zeros (Excel number "
                f"cells, e.g. '{units.padded[0]}') and were matched after padding",
                file=grid.file,
            )
    return _frame(out, locs), len(rows)


def _frame(out: list[dict], locs: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(out)
    if df.empty:
        return df
    df["_row"] = [r for r, _ in locs]
    df["_column"] = [c for _, c in locs]
    return df


def _compare(store: Store, records: pd.DataFrame) -> pd.DataFrame:
    """Each imported key against the current status: new, changed or unchanged."""
    columns = ["unit_code", "year", "set_id", "criterion", "indicator", "old", "new",
               "old_value", "new_value", "change"]
    if records is None or records.empty:
        return pd.DataFrame(columns=columns)
    current = pd.concat([
        status.current_status(
            store, year=year, set_id=set_id, unit_codes=sorted(set(group["unit_code"])),
            include_indicators=True,
        )
        for (year, set_id), group in records.groupby(["year", "set_id"])
    ], ignore_index=True)
    key = ["unit_code", "year", "set_id", "criterion", "indicator"]
    left = records[key + ["met", "value"]].copy()
    right = current[key + ["met", "value"]].copy()
    for df in (left, right):
        df["indicator"] = df["indicator"].astype(object).where(df["indicator"].notna(), "")
        df["year"] = df["year"].astype("int64")
        df["criterion"] = df["criterion"].astype("int64")
        df["unit_code"] = df["unit_code"].astype(str)
        df["set_id"] = df["set_id"].astype(str)
    merged = left.merge(right, on=key, how="left", suffixes=("_new", "_old"), indicator="_merge")
    old = merged["met_old"].astype(object).where(merged["met_old"].notna(), None)
    new = merged["met_new"].astype(object).where(merged["met_new"].notna(), None)
    old_value = merged["value_old"].astype(object).where(merged["value_old"].notna(), None)
    new_value = merged["value_new"].astype(object).where(merged["value_new"].notna(), None)
    change = []
    for o, n, ov, nv, present in zip(old, new, old_value, new_value, merged["_merge"]):
        if present == "left_only" or (o is None and ov is None):
            change.append("new")
        elif o == n and ov == nv:
            change.append("unchanged")
        else:
            change.append("changed")
    out = merged[key].copy()
    out["indicator"] = out["indicator"].where(out["indicator"] != "", None)
    out["old"], out["new"] = old.to_numpy(), new.to_numpy()
    out["old_value"], out["new_value"] = old_value.to_numpy(), new_value.to_numpy()
    out["change"] = change
    return out[columns]

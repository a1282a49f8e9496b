"""Annual plans per commune and criterion, and how they turned out.

The seeds ask districts for "kế hoạch chi tiết đến từng xã, từng tiêu chí": for each
commune and year, the criteria to achieve (Hoàn thành, Đạt mới) or to keep (Duy trì).
Plans arrive as spreadsheets in two shapes, both read by ``import_plans``:

- long: one row per commune and criterion (commune, year, criterion, action);
- list: one row per commune with a cell naming the criteria, as in the Si Ma Cai plan
  2024: "Xã Sán Chải 05 tiêu chí (Thu nhập, Nghèo đa chiều, Lao động, Môi trường và
  ATTP, Hệ thống chính trị và tiếp cận pháp luật)".

Criterion names resolve through ``CriteriaSet.match_column`` and ``CRITERION_ALIASES``
(abbreviations planners write: ATTP, TTTT, QP-AN …). ``plan_vs_actual`` sets each planned
criterion against the status records: met at the start of the year, met at its end.

Spreadsheets are read with ``layers._tables`` (shared with the recognitions and targets
imports); the status at the start and end of the year comes from
``layers.status.start_end_status``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from geo.text import nfc
from . import _tables, admin_units, criteria, status
from ._errors import CriteriaError, ValidationReport
from .store import Store, utc_now

__all__ = [
    "ACTIONS",
    "OUTCOMES",
    "CRITERION_ALIASES",
    "resolve_criterion",
    "parse_criteria_list",
    "import_plans",
    "plan_vs_actual",
    "plan_summary",
]

log = logging.getLogger(__name__)

ACTIONS: dict[str, tuple[str, str]] = {
    "achieve": ("Hoàn thành", "Achieve"),
    "maintain": ("Duy trì", "Maintain"),
}
_ACTION_ALIASES: dict[str, tuple[str, ...]] = {
    "achieve": ("achieve", "hoan thanh", "hoan thanh moi", "hoan thanh them", "dat moi",
                "dat", "phan dau dat", "phan dau hoan thanh", "moi"),
    "maintain": ("maintain", "keep", "duy tri", "giu vung", "duy tri nang cao",
                 "duy tri va nang cao", "duy tri hoan thanh"),
}

OUTCOMES: dict[str, tuple[str, str]] = {
    "achieved": ("Đạt theo kế hoạch", "Achieved"),
    "missed": ("Chưa đạt theo kế hoạch", "Missed"),
    "maintained": ("Duy trì được", "Maintained"),
    "lost": ("Không duy trì được", "Lost"),
    "not_assessed": ("Chưa có kết quả đánh giá trong năm", "Not assessed this year"),
}

# Abbreviations and short names planners write for criteria, per criteria set, compared
# after removing diacritics, punctuation and the word "và". Full names, codes and
# numbers ("TC17", "17. Môi trường …") are understood without entries here.
CRITERION_ALIASES: dict[str, dict[int, tuple[str, ...]]] = {
    "qd318-2022-xa-ntm": {
        1: ("qh",),
        2: ("gt", "giao thong nong thon"),
        3: ("thuy loi", "thuy loi pctt", "thuy loi phong chong thien tai", "thuy loi phong chong tt"),
        4: ("dien nong thon",),
        5: ("csvc truong hoc", "co so vat chat truong hoc"),
        6: ("csvc van hoa", "csvcvh", "co so vat chat van hoa"),
        7: ("thuong mai", "csht thuong mai", "ha tang thuong mai", "co so ha tang thuong mai",
            "cho nong thon"),
        8: ("tttt", "tt tt", "thong tin truyen thong", "thong tin"),
        9: ("nha o",),
        11: ("ngheo", "ho ngheo", "ty le ho ngheo", "giam ngheo"),
        13: ("to chuc san xuat", "tcsx", "to chuc sx", "hinh thuc to chuc san xuat"),
        14: ("giao duc", "giao duc dao tao", "gd dt", "gddt"),
        17: ("moi truong", "attp", "moi truong attp", "mt attp", "moi truong vsattp",
             "moi truong an toan thuc pham", "moi truong vs attp"),
        18: ("htct", "he thong chinh tri", "htct tcpl", "htct tiep can phap luat",
             "tiep can phap luat"),
        19: ("qp an", "qpan", "qp va an", "quoc phong an ninh", "an ninh", "quoc phong",
             "an ninh trat tu"),
    },
    "qd318-2022-xa-ntm-nang-cao": {
        1: ("qh",),
        2: ("gt",),
        3: ("thuy loi", "thuy loi pctt", "thuy loi phong chong thien tai"),
        4: ("dien nong thon",),
        7: ("thuong mai", "csht thuong mai", "ha tang thuong mai"),
        8: ("tttt", "tt tt", "thong tin truyen thong", "thong tin"),
        9: ("nha o",),
        11: ("ngheo", "ho ngheo", "giam ngheo"),
        13: ("to chuc san xuat", "tcsx"),
        15: ("hcc",),
        16: ("tcpl",),
        17: ("mt",),
        18: ("clmts", "chat luong moi truong"),
        19: ("qp an", "qpan", "quoc phong an ninh", "an ninh", "quoc phong"),
    },
    "qd51-2025-xa-ntm": {
        1: ("qh",),
        2: ("ha tang", "ha tang kt xh", "ha tang ktxh"),
        3: ("kinh te", "phat trien kinh te"),
        4: ("dao tao", "nguon nhan luc", "dao tao nguon nhan luc", "lao dong"),
        5: ("van hoa giao duc y te", "vh gd yt"),
        6: ("giam ngheo", "an sinh", "ngheo", "an sinh xa hoi"),
        7: ("khcn", "chuyen doi so", "cds", "khcn cds", "khoa hoc cong nghe"),
        8: ("moi truong", "canh quan", "moi truong canh quan"),
        9: ("htct", "he thong chinh tri", "hanh chinh cong", "htct hcc"),
        10: ("phap luat", "tiep can phap luat", "an ninh", "quoc phong", "qp an", "an ninh quoc phong"),
    },
}


# --- criteria and actions -------------------------------------------------------------


def _criterion_key(text: str) -> str:
    """Comparison key for a criterion name: words without "và"/"and" and a leading "tiêu chí"."""
    words = [w for w in _tables.words(text).split() if w not in ("va", "and")]
    if words[:2] == ["tieu", "chi"]:
        words = words[2:]
    return " ".join(words)


_ALIAS_CACHE: dict[str, dict[str, int]] = {}


def _alias_map(cset: criteria.CriteriaSet) -> dict[str, int]:
    """Key -> criterion number for one set: names, codes, English names and aliases."""
    if cset.id in _ALIAS_CACHE:
        return _ALIAS_CACHE[cset.id]
    out: dict[str, int] = {}
    for c in cset.criteria:
        for text in (c.name_vi, c.name_en, c.code.replace("_", " ")):
            out.setdefault(_criterion_key(text), c.number)
    for number, aliases in CRITERION_ALIASES.get(cset.id, {}).items():
        cset.criterion(number)  # an alias table naming a missing criterion is a bug
        for alias in aliases:
            key = _criterion_key(alias)
            if out.get(key, number) != number:
                raise CriteriaError(
                    f"criterion alias '{alias}' of set '{cset.id}' names criterion {number} "
                    f"but already means criterion {out[key]}"
                )
            out[key] = number
    _ALIAS_CACHE[cset.id] = out
    return out


def resolve_criterion(cset: criteria.CriteriaSet, text) -> int | None:
    """The criterion number a planner's label means in ``cset``, or None.

    Examples
    --------
    >>> cset = criteria.get_set("qd318-2022-xa-ntm")
    >>> [resolve_criterion(cset, t) for t in ("TC17", "Môi trường và ATTP", "QP-AN", "Điện")]
    [17, 17, 19, 4]
    """
    if text is None or not str(text).strip():
        return None
    number = cset.match_column(str(text))
    if number is not None:
        return number
    return _alias_map(cset).get(_criterion_key(str(text)))


_COUNT_PREFIX = re.compile(
    r"^\s*(\d{1,2})\s*(?:tiêu\s*chí|tieu\s*chi|tc)\b\s*[:(\-–]?\s*(.*?)\s*\)?\s*$", re.I | re.S
)
_SPLIT = re.compile(r"\s*(?:[,;\n]|\s\+\s)\s*")


def parse_criteria_list(cset: criteria.CriteriaSet, text) -> tuple[list[int], list[str]]:
    """Criterion numbers named in one cell, and the problems found.

    Accepts "Thu nhập, Nghèo đa chiều", "5; 8; TC17" and the seeds' "05 tiêu chí (Thu
    nhập, …)" form, whose stated count must match the names listed. Names that contain
    a comma ("Thủy lợi và phòng, chống thiên tai") are recognised whole.

    Examples
    --------
    >>> cset = criteria.get_set("qd318-2022-xa-ntm")
    >>> parse_criteria_list(cset, "02 tiêu chí (Thông tin - truyền thông, Quốc phòng và An ninh)")
    ([8, 19], [])
    """
    raw = nfc(str(text)) if text is not None else ""
    if not raw:
        return [], ["no criterion given"]
    stated = None
    m = _COUNT_PREFIX.match(raw)
    if m:
        stated, raw = int(m.group(1)), m.group(2).strip().strip("()").strip()
    tokens = [t for t in _SPLIT.split(raw) if t.strip()]
    numbers: list[int] = []
    problems: list[str] = []
    i = 0
    while i < len(tokens):
        for j in range(len(tokens), i, -1):
            joined = ", ".join(tokens[i:j])
            # several tokens may only form a full name: "2. Giao thông, Điện" is two criteria
            number = (resolve_criterion(cset, joined) if j == i + 1
                      else _alias_map(cset).get(_criterion_key(joined)))
            if number is not None:
                if number in numbers:
                    problems.append(f"criterion {number} ('{', '.join(tokens[i:j])}') is listed twice")
                else:
                    numbers.append(number)
                i = j
                break
        else:
            problems.append(
                f"unknown criterion '{tokens[i]}' for set '{cset.id}'; expected a number "
                f"1..{len(cset)}, a name such as '{cset.criteria[-1].name_vi}' or an "
                "abbreviation such as 'ATTP', 'TTTT', 'QP-AN'"
            )
            i += 1
    if stated is not None and stated != len(numbers) and not problems:
        problems.append(f"the cell says {stated} criteria but names {len(numbers)}")
    return numbers, problems


def _action(text) -> str | None:
    key = _tables.words(text)
    for code, aliases in _ACTION_ALIASES.items():
        if key in aliases:
            return code
    return None


# --- import ---------------------------------------------------------------------------

_PLAN_COLUMNS = {
    "commune": ("commune", "commune_code", "commune_name", "unit", "unit_code", "xa", "ma_xa",
                "ten_xa", "don_vi", "xa_phuong_thi_tran"),
    "district": ("district", "district_code", "huyen", "ma_huyen", "ten_huyen", "parent",
                 "parent_code"),
    "year": ("year", "nam", "nam_ke_hoach"),
    "criterion": ("criterion", "criteria", "tieu_chi", "cac_tieu_chi", "tieu_chi_can_dat",
                  "tieu_chi_hoan_thanh", "danh_sach_tieu_chi", "ma_tieu_chi", "tc"),
    "action": ("action", "hanh_dong", "muc_tieu", "loai_ke_hoach"),
    "set_id": ("set_id", "bo_tieu_chi"),
    "document": ("document", "van_ban", "so_van_ban", "can_cu"),
}


def import_plans(
    store: Store,
    path: str | Path,
    *,
    year: int | None = None,
    set_id: str | None = None,
    document: str | None = None,
    recorded_by: str,
    dry_run: bool = False,
) -> dict:
    """Import annual plans from a CSV or XLSX file; all rows or none.

    Parameters
    ----------
    path
        Long form (commune, year, criterion, action) or list form (commune and a cell
        listing criteria). Headers may be English or Vietnamese ("Xã", "Năm", "Tiêu chí",
        "Hành động"). Without an action column every criterion is to be achieved.
    year, set_id, document
        Fill the file's missing columns; a year column that disagrees with ``year`` is an
        error. The set defaults to the national set in force for the year.
    recorded_by
        Who imports, kept in the plans and the import log.
    dry_run
        Validate and count, write nothing.

    Returns
    -------
    dict
        ``rows`` planned commune-criteria, ``replaced`` earlier plans overwritten (same
        commune, year, set and criterion), ``communes``, ``warnings``, ``dry_run``.

    Raises
    ------
    ImportValidationError
        Listing every problem (file, row, column) when any row is wrong.

    See Also
    --------
    plan_vs_actual : the plan set against the status records.
    """
    started = utc_now()
    path = Path(path)
    report = ValidationReport()
    sheet = _tables.read_sheet(path, report)
    report.raise_if_errors(f"plans import from '{path.name}'")
    cols = _tables.map_columns(sheet, _PLAN_COLUMNS, report, file=path.name)
    for needed in ("commune", "criterion"):
        if needed not in cols:
            report.error(
                f"missing column '{needed}' (accepted headers: {', '.join(_PLAN_COLUMNS[needed][:6])} …)",
                file=path.name,
            )
    if "year" not in cols and year is None:
        report.error("no 'year' column and no year given", file=path.name)
    report.raise_if_errors(f"plans import from '{path.name}'")

    matchers: dict[int, admin_units.UnitMatcher] = {}
    rows: list[dict] = []
    seen: dict[tuple, int] = {}
    for k, rec in enumerate(sheet.to_dict("records")):
        rowno = k + 2
        where = {"file": path.name, "row": rowno}
        cell = {name: _tables.cell(rec, col) for name, col in cols.items()}
        row_year = _row_year(cell.get("year"), year, report, {**where, "column": cols.get("year", "year")})
        row_set = _row_set(cell.get("set_id") or set_id, row_year, report,
                           {**where, "column": cols.get("set_id", "set_id")})
        if row_year is None:
            continue
        if row_year not in matchers:
            matchers[row_year] = admin_units.UnitMatcher(store, "commune", on=admin_units.year_end(row_year))
        unit = _tables.resolve_unit(matchers[row_year], cell.get("commune"), cell.get("district"),
                                    report, {**where, "column": cols["commune"]})
        action = "achieve"
        if "action" in cols:
            action = _action(cell.get("action"))
            if action is None:
                report.error(
                    f"unknown action '{cell.get('action')}'; expected Hoàn thành / Đạt mới "
                    "(achieve) or Duy trì (maintain)",
                    **where, column=cols["action"],
                )
        if row_set is None:
            continue
        numbers, problems = parse_criteria_list(row_set, cell.get("criterion"))
        for msg in problems:
            report.error(msg, **where, column=cols["criterion"])
        if unit is None or action is None or problems:
            continue
        for number in numbers:
            key = (unit, row_year, row_set.id, number)
            if key in seen:
                report.error(
                    f"commune {unit}, year {row_year}, criterion {number} is already planned "
                    f"in row {seen[key]}",
                    **where, column=cols["criterion"],
                )
                continue
            seen[key] = rowno
            rows.append({
                "unit_code": unit, "year": row_year, "set_id": row_set.id, "criterion": number,
                "action": action, "document": cell.get("document") or document,
                "recorded_by": recorded_by,
            })
    if not rows and not report.errors:
        report.error("the file holds no plan rows", file=path.name)
    report.raise_if_errors(f"plans import from '{path.name}'")

    df = pd.DataFrame(rows)
    summary = {
        "kind": "plans", "source": str(path), "rows": len(df), "replaced": 0,
        "communes": int(df["unit_code"].nunique()),
        "warnings": [str(p) for p in report.warnings], "dry_run": dry_run,
    }
    keys = [(r["unit_code"], r["year"], r["set_id"], r["criterion"]) for r in rows]
    if dry_run:
        summary["replaced"] = _count_existing_plans(store, keys)
        return summary
    with store.transaction() as conn:
        replaced = 0
        for key in keys:
            replaced += conn.execute(
                "DELETE FROM plans WHERE unit_code = ? AND year = ? AND set_id = ? AND criterion = ?",
                key,
            ).rowcount
        df["recorded_at"] = utc_now()
        store.insert_rows(conn, "plans", df)
        _tables.log_import(store, conn, "plans", path, len(df), summary["warnings"], started, recorded_by)
    summary["replaced"] = replaced
    log.info("plans: %d rows from %s (%d replaced)", len(df), path.name, replaced)
    return summary


def _count_existing_plans(store: Store, keys: Sequence[tuple]) -> int:
    sql = "SELECT count(*) FROM plans WHERE unit_code = ? AND year = ? AND set_id = ? AND criterion = ?"
    with contextlib.closing(store.connect()) as conn:
        return sum(conn.execute(sql, key).fetchone()[0] for key in keys)


def _row_year(text, default: int | None, report: ValidationReport, where: dict) -> int | None:
    if text in (None, ""):
        if default is None:
            report.error("no year given; fill the cell or give the year of the import", **where)
        return default
    try:
        value = int(float(str(text).strip()))
    except ValueError:
        report.error(f"year '{text}' is not a number; expected e.g. 2024", **where)
        return None
    if not 2000 <= value <= 2100:
        report.error(f"year {value} is outside 2000..2100", **where)
        return None
    if default is not None and value != default:
        report.error(f"year {value} differs from the year given for the import ({default})", **where)
        return None
    return value


def _row_set(set_id: str | None, year: int | None, report, where) -> criteria.CriteriaSet | None:
    try:
        if set_id:
            return criteria.get_set(str(set_id).strip())
        if year is not None:
            return criteria.set_for_year(year)
    except CriteriaError as exc:
        report.error(str(exc), **where)
    return None


# --- plan against status --------------------------------------------------------------


def plan_vs_actual(
    store: Store,
    year: int,
    set_id: str,
    *,
    scope_code: str | None = None,
    as_of: dt.date | dt.datetime | str | None = None,
) -> pd.DataFrame:
    """One row per planned commune-criterion: what was planned and what happened.

    ``met_start`` is the latest status of year-1 (or, without one, the earliest record of
    the year); ``met_end`` the latest status of the year recorded up to ``as_of``.
    ``outcome``: achieved / missed for plans to achieve, maintained / lost for plans to
    keep, not_assessed when the year has no status record for that criterion yet.

    See Also
    --------
    plan_summary : the same, counted per commune.
    """
    cset = criteria.get_set(set_id)
    plans = store.read_table("plans", "year = ? AND set_id = ?", [int(year), set_id],
                             order_by="unit_code, criterion")
    if scope_code is not None:
        inside = admin_units.units_in_scope(store, scope_code, "commune", on=admin_units.year_end(year))
        plans = plans[plans["unit_code"].isin(inside["code"])]
    columns = ["unit_code", "name", "year", "set_id", "criterion", "criterion_name", "action",
               "met_start", "met_end", "outcome", "document"]
    if plans.empty:
        return pd.DataFrame(columns=columns)
    met = status.start_end_status(store, set_id, year, as_of=as_of)
    df = plans.merge(met, on=["unit_code", "criterion"], how="left")
    for col in ("met_start", "met_end"):
        df[col] = df[col].astype("boolean")
    end = df["met_end"]
    achieve = df["action"].eq("achieve")
    df["outcome"] = np.select(
        [end.isna().to_numpy(), (achieve & end.fillna(False)).to_numpy(), achieve.to_numpy(),
         end.fillna(False).to_numpy()],
        ["not_assessed", "achieved", "missed", "maintained"],
        default="lost",
    )
    df["name"] = df["unit_code"].map(_tables.unit_names(store, "commune", df["unit_code"]))
    df["criterion_name"] = df["criterion"].map(lambda n: cset.criterion(int(n)).name_vi)
    return df[columns].reset_index(drop=True)


def plan_summary(
    store: Store,
    year: int,
    set_id: str,
    *,
    scope_code: str | None = None,
    as_of: dt.date | dt.datetime | str | None = None,
) -> pd.DataFrame:
    """Per commune: planned to achieve N, achieved K, missed; to keep M, maintained, lost.

    Examples
    --------
    Si Ma Cai 2024: Sán Chải planned_achieve 5, Quan Hồ Thẩn 2, … 14 in all.
    """
    detail = plan_vs_actual(store, year, set_id, scope_code=scope_code, as_of=as_of)
    counts = ["planned_achieve", "achieved", "missed", "planned_maintain", "maintained", "lost",
              "not_assessed"]
    if detail.empty:
        return pd.DataFrame(columns=["unit_code", "name", *counts])
    flags = pd.DataFrame({
        "unit_code": detail["unit_code"],
        "name": detail["name"],
        "planned_achieve": detail["action"].eq("achieve"),
        "planned_maintain": detail["action"].eq("maintain"),
        **{o: detail["outcome"].eq(o) for o in ("achieved", "missed", "maintained", "lost", "not_assessed")},
    })
    out = flags.groupby(["unit_code", "name"], sort=True, dropna=False)[counts].sum().reset_index()
    return out.astype({c: "int64" for c in counts})

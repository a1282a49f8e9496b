"""Recognition decisions: which units are đạt chuẩn, nâng cao, kiểu mẫu, and since when.

A recognition is a decision (số quyết định, ngày, cơ quan ban hành) about one unit at one
level. Levels come from ``recognition_levels`` in the vocabulary; "hoàn thành nhiệm vụ"
exists only for district-level towns and cities. Villages are often recognised for a
fixed term (``valid_until``). Records are never edited: a withdrawn decision is marked
``revoked``.

``at_risk`` lists recognised communes whose current status fails criteria: keeping
recognised communes from slipping is a main worry in the seeds. ``merged_unit_recognition``
applies the CV 3372/BNN-VPĐP (2020) rule to a commune formed by a merger.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import _tables, admin_units, criteria, schema, status
from ._errors import ValidationReport
from .store import Store, utc_now

__all__ = [
    "LEVEL_RANK",
    "UNIT_LEVELS",
    "record_recognition",
    "import_recognitions",
    "revoke_recognition",
    "recognition_status",
    "at_risk",
    "MergedRecognition",
    "merged_unit_recognition",
    "merge_rule",
]

log = logging.getLogger(__name__)

# Higher is better; hoàn thành (towns, cities) stands level with đạt chuẩn (rural districts).
LEVEL_RANK = {"dat_chuan": 1, "hoan_thanh": 1, "nang_cao": 2, "kieu_mau": 3}
UNIT_LEVELS = ("district", "commune", "village")

_LEVEL_ALIASES = {
    "dat_chuan": ("dat chuan", "ntm", "dat chuan ntm", "nong thon moi", "xa ntm", "thon ntm",
                  "huyen ntm", "standard"),
    "nang_cao": ("nang cao", "ntm nang cao", "dat chuan nang cao", "advanced"),
    "kieu_mau": ("kieu mau", "ntm kieu mau", "thon kieu mau", "xa kieu mau", "model"),
    "hoan_thanh": ("hoan thanh", "hoan thanh nhiem vu", "hoan thanh nhiem vu xay dung ntm",
                   "completed"),
}
_UNIT_LEVEL_ALIASES = {
    "district": ("district", "huyen", "cap huyen", "thi xa", "thanh pho"),
    "commune": ("commune", "xa", "cap xa"),
    "village": ("village", "thon", "ban", "thon ban", "cap thon"),
}
_COLUMNS = {
    "unit": ("unit", "unit_code", "code", "unit_name", "don_vi", "ma_don_vi", "ten_don_vi", "name"),
    "parent": ("parent", "parent_code", "don_vi_cap_tren", "thuoc"),
    "unit_level": ("unit_level", "cap", "cap_don_vi"),
    "level": ("level", "muc", "muc_do", "muc_cong_nhan", "cong_nhan", "recognition"),
    "year": ("year", "nam", "nam_cong_nhan"),
    "decision_number": ("decision_number", "so_quyet_dinh", "quyet_dinh", "so_qd"),
    "decision_date": ("decision_date", "ngay_quyet_dinh", "ngay_qd", "ngay_ky"),
    "issued_by": ("issued_by", "co_quan_ban_hanh", "noi_ban_hanh", "cap_cong_nhan", "nguoi_ky"),
    "valid_until": ("valid_until", "hieu_luc_den", "thoi_han", "co_gia_tri_den"),
    "set_id": ("set_id", "bo_tieu_chi"),
    "note": ("note", "ghi_chu"),
}


def _vocab_lookup(codes_aliases: dict[str, tuple[str, ...]], labels: dict | None = None) -> dict[str, str]:
    out = {}
    for code, aliases in codes_aliases.items():
        names = [code, *aliases]
        if labels and code in labels:
            names += [labels[code]["vi"], labels[code]["en"]]
        for name in names:
            out[_tables.words(name.replace("_", " "))] = code
    return out


def _level_lookup() -> dict[str, str]:
    levels = admin_units.vocabulary()["recognition_levels"]
    return _vocab_lookup({c: _LEVEL_ALIASES.get(c, ()) for c in levels}, levels)


# --- writing --------------------------------------------------------------------------


def record_recognition(
    store: Store,
    unit_code: str,
    level: str,
    year: int,
    *,
    unit_level: str | None = None,
    decision_number: str | None = None,
    decision_date: dt.date | str | None = None,
    issued_by: str | None = None,
    valid_until: dt.date | str | None = None,
    set_id: str | None = None,
    note: str | None = None,
) -> int:
    """Record one recognition decision; returns its id.

    Raises
    ------
    ImportValidationError
        Unknown unit or level, 'hoan_thanh' for a non-district, bad dates, or the same
        unit, level and year already recorded (revoke it first to correct it).
    """
    raw = {
        "unit": unit_code, "unit_level": unit_level, "level": level, "year": year,
        "decision_number": decision_number, "decision_date": decision_date,
        "issued_by": issued_by, "valid_until": valid_until, "set_id": set_id, "note": note,
    }
    report = ValidationReport()
    rows = _check_rows(store, [(None, {k: _text(v) for k, v in raw.items()})], report, file=None)
    report.raise_if_errors(f"recognition of '{unit_code}'")
    with store.transaction() as conn:
        store.insert_rows(conn, "recognitions", pd.DataFrame(rows).assign(recorded_at=utc_now()))
        new_id = conn.execute("SELECT max(id) FROM recognitions").fetchone()[0]
    return int(new_id)


def import_recognitions(
    store: Store, path: str | Path, *, recorded_by: str | None = None, dry_run: bool = False
) -> dict:
    """Import recognition decisions from CSV or XLSX; all rows or none.

    Columns: unit (code or name; add ``parent`` for names shared by several units),
    unit_level (xã/commune, huyện/district, thôn/village; inferred from a code if
    absent), level (Đạt chuẩn, Nâng cao, Kiểu mẫu, Hoàn thành or the codes), year,
    decision_number, decision_date (YYYY-MM-DD or DD/MM/YYYY), issued_by, valid_until.

    Returns
    -------
    dict
        ``rows`` written (or that would be), ``warnings``, ``dry_run``.
    """
    started = utc_now()
    path = Path(path)
    report = ValidationReport()
    sheet = _tables.read_sheet(path, report)
    what = f"recognitions import from '{path.name}'"
    report.raise_if_errors(what)
    cols = _tables.map_columns(sheet, _COLUMNS, report, file=path.name)
    for needed in ("unit", "level", "year"):
        if needed not in cols:
            report.error(f"missing column '{needed}' (accepted headers: {', '.join(_COLUMNS[needed][:5])} …)",
                         file=path.name)
    report.raise_if_errors(what)
    raw = [
        (k + 2, {name: _tables.cell(rec, col) for name, col in cols.items()} | {"_cols": cols})
        for k, rec in enumerate(sheet.to_dict("records"))
    ]
    rows = _check_rows(store, raw, report, file=path.name)
    if not raw:
        report.error("the file holds no rows", file=path.name)
    report.raise_if_errors(what)
    summary = {"kind": "recognitions", "source": str(path), "rows": len(rows),
               "warnings": [str(p) for p in report.warnings], "dry_run": dry_run}
    if dry_run:
        return summary
    with store.transaction() as conn:
        store.insert_rows(conn, "recognitions", pd.DataFrame(rows).assign(recorded_at=utc_now()))
        _tables.log_import(store, conn, "recognitions", path, len(rows), summary["warnings"],
                           started, recorded_by)
    log.info("recognitions: %d rows from %s", len(rows), path.name)
    return summary


def revoke_recognition(
    store: Store, unit_code: str, level: str, year: int, *, note: str | None = None
) -> int:
    """Mark a recognition revoked (withdrawn or entered by mistake); returns rows changed."""
    with store.transaction() as conn:
        n = conn.execute(
            "UPDATE recognitions SET revoked = 1, note = coalesce(?, note) "
            "WHERE unit_code = ? AND level = ? AND year = ? AND revoked = 0",
            (note, unit_code, level, int(year)),
        ).rowcount
        if n == 0:
            raise LookupError(
                f"no standing recognition of '{unit_code}' at level '{level}' in {year} to revoke"
            )
    return n


def _text(value):
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip() or None


def _check_rows(store: Store, raw: list[tuple[int | None, dict]], report: ValidationReport,
                *, file: str | None) -> list[dict]:
    """Validate raw text rows into recognitions rows; problems go to ``report``."""
    level_codes = _level_lookup()
    unit_levels = _vocab_lookup(_UNIT_LEVEL_ALIASES)
    matchers: dict[tuple[str, int], admin_units.UnitMatcher] = {}
    existing = store.read_table("recognitions", "revoked = 0",
                                columns=["id", "unit_code", "level", "year"])
    standing = {(u, lv, int(y)): i for i, u, lv, y in existing.itertuples(index=False, name=None)}
    seen: dict[tuple, int | None] = {}
    out = []
    for rowno, cell in raw:
        cols = cell.get("_cols", {})
        where = lambda name: {"file": file, "row": rowno, "column": cols.get(name, name)}  # noqa: E731
        errors_before = len(report.errors)
        level = level_codes.get(_tables.words(cell.get("level") or ""))
        if level is None:
            report.error(f"unknown recognition level '{cell.get('level')}'; expected one of "
                         f"{', '.join(LEVEL_RANK)} (Đạt chuẩn, Nâng cao, Kiểu mẫu, Hoàn thành)",
                         **where("level"))
        year = _year(cell.get("year"), report, where("year"))
        unit_level = None
        if cell.get("unit_level"):
            unit_level = unit_levels.get(_tables.words(cell["unit_level"]))
            if unit_level is None:
                report.error(f"unknown unit level '{cell['unit_level']}'; expected xã/commune, "
                             "huyện/district or thôn/village", **where("unit_level"))
                continue
        unit = _find_unit(store, cell.get("unit"), cell.get("parent"), unit_level, year, matchers,
                          report, where("unit"))
        if unit is not None and unit_level is None:
            unit_level = admin_units.unit_level_of(store, unit)
            if unit_level not in UNIT_LEVELS:
                report.error(f"'{unit}' is a {unit_level}; recognitions are for districts, "
                             "communes and villages", **where("unit"))
        if level == "hoan_thanh" and unit_level not in (None, "district"):
            report.error("level 'hoan_thanh' (hoàn thành nhiệm vụ xây dựng NTM) applies only to "
                         f"district-level towns and cities, not to a {unit_level}", **where("level"))
        decided = _date(cell.get("decision_date"), report, where("decision_date"))
        until = _date(cell.get("valid_until"), report, where("valid_until"))
        if decided and until and until < decided:
            report.error(f"valid_until {until} is before the decision date {decided}",
                         **where("valid_until"))
        if decided and year and int(decided[:4]) not in (year, year + 1):
            report.warn(f"decision dated {decided} for recognition year {year}", **where("decision_date"))
        set_id = cell.get("set_id")
        if set_id:
            try:
                criteria.get_set(set_id)
            except ValueError as exc:
                report.error(str(exc), **where("set_id"))
        if len(report.errors) > errors_before or unit is None or level is None or year is None:
            continue
        key = (unit, level, year)
        if key in standing:
            report.error(f"{unit_level} {unit} is already recognised '{level}' for {year} "
                         f"(record {standing[key]}); revoke that record to correct it", **where("unit"))
            continue
        if key in seen:
            report.error(f"{unit_level} {unit} '{level}' {year} repeats row {seen[key]}", **where("unit"))
            continue
        seen[key] = rowno
        out.append({
            "unit_code": unit, "unit_level": unit_level, "level": level, "year": year,
            "decision_number": cell.get("decision_number"), "decision_date": decided,
            "issued_by": cell.get("issued_by"), "valid_until": until, "set_id": set_id,
            "revoked": False, "note": cell.get("note"),
        })
    return out


def _year(text, report, where) -> int | None:
    try:
        year = int(float(str(text)))
    except (TypeError, ValueError):
        report.error(f"year '{text}' is not a number; expected e.g. 2024", **where)
        return None
    if not 1990 <= year <= 2100:
        report.error(f"year {year} is outside 1990..2100", **where)
        return None
    return year


def _date(text, report, where) -> str | None:
    """'YYYY-MM-DD' from ISO, Excel ('2024-05-03 00:00:00') or Vietnamese DD/MM/YYYY text."""
    if not text:
        return None
    text = str(text).strip()
    try:
        m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
        if m:
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1))).isoformat()
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        report.error(f"date '{text}' is not a date; expected YYYY-MM-DD or DD/MM/YYYY", **where)
        return None


def _find_unit(store, text, parent, unit_level, year, matchers, report, where) -> str | None:
    if not text:
        report.error("no unit given", **where)
        return None
    levels = [unit_level] if unit_level else list(UNIT_LEVELS)
    for level in levels:  # a code in any vintage
        if store.count(schema.ADMIN_TABLE[level], "code = ?", [text]):
            return text
    if unit_level is None:
        report.error(f"no district, commune or village has code '{text}'; give unit_level "
                     "to find a unit by name", **where)
        return None
    on = admin_units.year_end(year) if year else None
    key = (unit_level, year or 0)
    if key not in matchers:
        matchers[key] = admin_units.UnitMatcher(store, unit_level, on=on)
    return _tables.resolve_unit(matchers[key], text, parent, report, where)


# --- reading --------------------------------------------------------------------------


def _standing(store: Store, year: int, unit_level: str | None = None, codes=None) -> pd.DataFrame:
    """Non-revoked recognitions decided by ``year`` and still valid at its end, ranked."""
    where = "revoked = 0 AND year <= ? AND (valid_until IS NULL OR valid_until >= ?)"
    params: list = [int(year), f"{int(year)}-12-31"]
    if unit_level:
        where += " AND unit_level = ?"
        params.append(unit_level)
    df = store.read_table("recognitions", where, params, order_by="year, id")
    if codes is not None:
        df = df[df["unit_code"].isin(list(codes))]
    df["rank"] = df["level"].map(LEVEL_RANK).astype("int64")
    return df


def recognition_status(
    store: Store, year: int, *, unit_level: str = "commune", scope_code: str | None = None
) -> pd.DataFrame:
    """Every unit of a level in scope with its highest standing recognition as of ``year``.

    Units are those valid at the end of the year; a recognition counts when decided for
    that year or earlier, not revoked, and valid until the year's end (villages often
    have fixed terms). Unrecognised units have ``level`` NA and ``rank`` 0.

    Columns: unit_code, name, unit_type, parent_code, level, level_vi, rank,
    recognised_year, decision_number, decision_date, issued_by, valid_until.
    """
    if unit_level not in UNIT_LEVELS:
        raise ValueError(f"'unit_level' should be one of {UNIT_LEVELS}, got {unit_level!r}")
    units = admin_units.units_in_scope(store, scope_code, unit_level, on=admin_units.year_end(year))
    units = units[["code", "name", "unit_type", "parent_code"]].rename(columns={"code": "unit_code"})
    recs = _standing(store, year, unit_level, units["unit_code"])
    best = (recs.sort_values(["rank", "year", "id"])
                .drop_duplicates("unit_code", keep="last")
                .rename(columns={"year": "recognised_year"}))
    keep = ["unit_code", "level", "rank", "recognised_year", "decision_number", "decision_date",
            "issued_by", "valid_until"]
    out = units.merge(best[keep], on="unit_code", how="left")
    out["rank"] = out["rank"].fillna(0).astype("int64")
    labels = admin_units.vocabulary()["recognition_levels"]
    out["level_vi"] = out["level"].map(lambda c: labels[c]["vi"] if isinstance(c, str) else None)
    order = ["unit_code", "name", "unit_type", "parent_code", "level", "level_vi", "rank",
             "recognised_year", "decision_number", "decision_date", "issued_by", "valid_until"]
    return out[order].sort_values("unit_code").reset_index(drop=True)


def at_risk(
    store: Store,
    year: int,
    set_id: str,
    *,
    as_of: dt.date | dt.datetime | str | None = None,
    scope_code: str | None = None,
) -> pd.DataFrame:
    """Recognised communes (đạt chuẩn or higher) whose current status fails criteria.

    The current status is the latest record of ``year`` in ``set_id`` recorded up to
    ``as_of``; communes without a record of the year are not listed (nothing says they
    fail). Columns: unit_code, name, level, recognised_year, n_failing, failing
    (criterion numbers), failing_names.
    """
    cset = criteria.get_set(set_id)
    rs = recognition_status(store, year, unit_level="commune", scope_code=scope_code)
    rs = rs[rs["rank"] >= 1]
    latest = status.status_by_year(store, set_id, [year], as_of=as_of)
    failing = latest[latest["met"].eq(False).fillna(False) & latest["unit_code"].isin(rs["unit_code"])]
    grouped = (failing.sort_values("criterion").groupby("unit_code")["criterion"]
               .agg(lambda s: [int(n) for n in s]).rename("failing").reset_index())
    out = rs.merge(grouped, on="unit_code", how="inner")
    out["n_failing"] = out["failing"].map(len).astype("int64")
    out["failing_names"] = out["failing"].map(lambda ns: [cset.criterion(n).name_vi for n in ns])
    cols = ["unit_code", "name", "level", "recognised_year", "n_failing", "failing", "failing_names"]
    return out[cols].sort_values(["n_failing", "unit_code"], ascending=[False, True]).reset_index(drop=True)


# --- mergers (CV 3372/BNN-VPĐP) -------------------------------------------------------


@dataclass(frozen=True)
class MergedRecognition:
    """What a commune formed by a merger inherits: acknowledged or to be reviewed again."""

    new_code: str
    acknowledged: bool
    level: str | None
    year: int | None
    parts: tuple[tuple[str, str | None, int | None], ...]  # (old code, level, year)
    reason: str


def merge_rule(
    records: pd.DataFrame, new_code: str, old_codes, *, names: dict[str, str] | None = None
) -> MergedRecognition:
    """The CV 3372/BNN-VPĐP rule over recognition records (a pure function).

    A new commune formed only from communes recognised NTM may be acknowledged NTM, with
    the latest recognition year among its parts; otherwise its criteria must be reviewed
    again. A part's year is that of its latest đạt chuẩn decision (or, with only higher
    levels recorded, its earliest). ``records``: rows of the recognitions table; revoked
    and expired ones must already be left out.
    """
    old = list(dict.fromkeys(str(c) for c in old_codes))
    if not old:
        raise ValueError(f"'old_codes' should name the communes merged into '{new_code}', got none")
    names = names or {}
    label = lambda c: f"{names[c]} ({c})" if c in names else c  # noqa: E731
    recs = records[records["unit_code"].isin(old) & records["level"].map(LEVEL_RANK).ge(1)]
    parts = []
    for code in old:
        mine = recs[recs["unit_code"] == code]
        if mine.empty:
            parts.append((code, None, None))
            continue
        basic = mine[mine["level"] == "dat_chuan"]
        year = int(basic["year"].max()) if len(basic) else int(mine["year"].min())
        top = mine.loc[mine["level"].map(LEVEL_RANK).idxmax(), "level"]
        parts.append((code, str(top), year))
    missing = [c for c, lv, _ in parts if lv is None]
    if missing:
        reason = (
            f"Xã {label(new_code)} phải rà soát, đánh giá lại các tiêu chí vì "
            f"{', '.join(label(c) for c in missing)} chưa được công nhận đạt chuẩn NTM "
            "(CV 3372/BNN-VPĐP). / The merged commune must be reviewed again: "
            f"{', '.join(missing)} not recognised NTM."
        )
        return MergedRecognition(new_code, False, None, None, tuple(parts), reason)
    year = max(y for _, _, y in parts)
    reason = (
        f"Xã {label(new_code)} hình thành từ {len(parts)} xã đều đã đạt chuẩn NTM "
        f"({', '.join(label(c) for c in old)}): được công nhận đạt chuẩn NTM, năm công nhận "
        f"{year} là năm muộn nhất trong các xã cũ (CV 3372/BNN-VPĐP). / Formed only from "
        f"communes recognised NTM: acknowledged NTM with the latest recognition year {year}."
    )
    return MergedRecognition(new_code, True, "dat_chuan", year, tuple(parts), reason)


def merged_unit_recognition(
    store: Store, new_code: str, old_codes, *, on: dt.date | str | None = None
) -> MergedRecognition:
    """Apply the CV 3372/BNN-VPĐP precedent to a commune formed from ``old_codes``.

    Reads the standing commune recognitions of the old communes (not revoked, decided
    and still valid on ``on``, the merger's effective date; default today) and returns a ``MergedRecognition`` whose ``reason`` says, in Vietnamese and
    English, whether the new commune is acknowledged NTM and with which year, or which
    parts make a new review necessary. Nothing is written.

    See Also
    --------
    merge_rule : the rule itself, over records.
    """
    old = [str(c) for c in old_codes]
    recs = store.read_table("recognitions", "revoked = 0 AND unit_level = 'commune'")
    day = str(on or dt.date.today().isoformat())
    recs = recs[(recs["valid_until"].isna() | (recs["valid_until"].astype(object) >= day))
                & (recs["year"] <= int(day[:4]))]
    names = _tables.unit_names(store, "commune", [new_code, *old])
    return merge_rule(recs, new_code, old, names=names)

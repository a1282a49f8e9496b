"""Criteria status: the append-only history of which commune met which criterion, when.

Every assessment is a new row of ``status_records`` (SQLite triggers forbid UPDATE and
DELETE), so the status of any past date can be rebuilt: the *current* status of a key
(unit × year × set × criterion [× indicator]) is its latest record by ``recorded_at``
then ``id``; the status *as of* a date is the latest record on or before the end of that
date (UTC, like ``recorded_at``). A record with ``met`` None retracts an assessment.

Summaries (criteria met per commune, gains and losses between years) are derived on
demand and never stored.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import _tables, admin_units, criteria, schema
from ._errors import CriteriaError, ValidationReport
from .store import Store, utc_now

__all__ = [
    "set_for_status_year",
    "KEY_COLUMNS",
    "RECORD_COLUMNS",
    "YEAR_RANGE",
    "validate_status_records",
    "record_status",
    "append_records",
    "current_status",
    "status_history",
    "status_by_year",
    "start_end_status",
    "criteria_summary",
    "status_changes",
    "quarter_end",
    "as_of_cutoff",
    "to_recorded_at",
]

log = logging.getLogger(__name__)

TABLE = "status_records"
KEY_COLUMNS = ("unit_code", "year", "set_id", "criterion", "indicator")
RECORD_COLUMNS = (
    *KEY_COLUMNS,
    "met",
    "value",
    "value_text",
    "source_document",
    "recorded_by",
    "recorded_at",
    "note",
)
# Columns a caller may give per record; recorded_by / recorded_at describe the act of
# recording and come from the keywords of ``record_status``.
_INPUT_COLUMNS = (*KEY_COLUMNS, "met", "value", "value_text", "source_document", "note")
_REQUIRED = ("unit_code", "year", "set_id", "criterion", "met")
# Private location hints an importer may attach to each record (file row, column label).
_LOCATION_COLUMNS = ("_row", "_column")
YEAR_RANGE = (2010, 2035)


# --- timestamps ----------------------------------------------------------------------


def set_for_status_year(store: Store, year: int) -> criteria.CriteriaSet:
    """The commune đạt chuẩn set in force in ``year``; for a year no shipped set covers (2021,
    before QĐ 318 took effect) the one the store's records of that year use, so every
    recorded year can be mapped and reported without naming the set.

    Raises
    ------
    CriteriaError
        No set in force and no records of that year.
    """
    try:
        return criteria.set_for_year(int(year))
    except CriteriaError:
        used = store.read_table("status_records", "year = ?", [int(year)], columns=["set_id"])["set_id"]
        sets = criteria.available_sets()
        candidates = [s for s in used.value_counts().index
                      if s in sets and sets[s].unit_level == "commune" and sets[s].recognition_level == "dat_chuan"]
        if not candidates:
            raise
        return sets[candidates[0]]


def _format_ts(moment: dt.datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def to_recorded_at(value) -> str:
    """A ``recorded_at`` value in the store's form; a date means its midnight UTC, None now.

    Examples
    --------
    >>> to_recorded_at("2024-03-31")
    '2024-03-31T00:00:00.000Z'
    """
    if value is None:
        return utc_now()
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return _format_ts(value)
    if isinstance(value, dt.date):
        return _format_ts(dt.datetime(value.year, value.month, value.day))
    text = str(value).strip()
    try:
        if len(text) == 10:
            return to_recorded_at(dt.date.fromisoformat(text))
        return _format_ts(dt.datetime.fromisoformat(text))
    except ValueError:
        raise ValueError(
            f"recorded_at: expected a date 'YYYY-MM-DD' or an ISO timestamp "
            f"'YYYY-MM-DDTHH:MM:SS.sssZ', got {value!r}"
        ) from None


def as_of_cutoff(as_of) -> str | None:
    """The last ``recorded_at`` counted for a status *as of* ``as_of``.

    A date (``dt.date`` or ``'YYYY-MM-DD'``) means the end of that day, UTC; a datetime
    or full ISO timestamp is used as is. None means no cutoff (the current status).

    Examples
    --------
    >>> as_of_cutoff("2024-03-31")
    '2024-03-31T23:59:59.999Z'
    """
    if as_of is None:
        return None
    if isinstance(as_of, (dt.datetime, pd.Timestamp)):
        return to_recorded_at(as_of)
    if isinstance(as_of, dt.date):
        return f"{as_of.isoformat()}T23:59:59.999Z"
    text = str(as_of).strip()
    if len(text) == 10:
        try:
            return as_of_cutoff(dt.date.fromisoformat(text))
        except ValueError:
            pass
    try:
        return to_recorded_at(text)
    except ValueError:
        raise ValueError(f"as_of: expected a date 'YYYY-MM-DD' or an ISO timestamp, got {as_of!r}") from None


def quarter_end(year: int, quarter: int) -> dt.date:
    """Last day of a quarter, the ``as_of`` of a quarterly report.

    Examples
    --------
    >>> quarter_end(2024, 1)
    datetime.date(2024, 3, 31)
    """
    if quarter not in (1, 2, 3, 4):
        raise ValueError(f"quarter: expected 1, 2, 3 or 4, got {quarter!r}")
    first_of_next = dt.date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1)
    return first_of_next - dt.timedelta(days=1)


# --- validation ------------------------------------------------------------------------


def _declared_indicators(store: Store, set_ids: Iterable[str]) -> dict[str, set[str]]:
    """Indicators known per set: from the shipped YAML and the store's province tables."""
    out: dict[str, set[str]] = {}
    for set_id in set_ids:
        ids = {i.id for c in criteria.get_set(set_id).criteria for i in c.indicators}
        if ids:
            out[set_id] = ids
    ids = list(set_ids)
    if ids:
        df = store.read_table(
            "criterion_indicators",
            "set_id IN (SELECT value FROM json_each(?))",
            [json.dumps(ids)],
            columns=["set_id", "indicator"],
        )
        for set_id, indicator in zip(df["set_id"], df["indicator"]):
            out.setdefault(set_id, set()).add(str(indicator))
    return out


def _unit_vintages(store: Store, codes: Sequence[str]) -> dict[str, list[tuple]]:
    """code -> [(level, valid_from, valid_to), …] for every vintage of the given codes."""
    out: dict[str, list[tuple]] = {}
    for level in ("commune", "village"):
        df = store.read_table(
            schema.ADMIN_TABLE[level],
            "code IN (SELECT value FROM json_each(?))",
            [json.dumps(list(codes))],
            columns=["code", "valid_from", "valid_to"],
        )
        for code, valid_from, valid_to in zip(df["code"], df["valid_from"], df["valid_to"]):
            out.setdefault(code, []).append(
                (level, None if _tables.is_missing(valid_from) else str(valid_from),
                 None if _tables.is_missing(valid_to) else str(valid_to))
            )
    return out


def _valid_during(vintages: list[tuple], year: int) -> bool:
    start, end = f"{year}-01-01", f"{year}-12-31"
    return any(
        (valid_from is None or valid_from <= end) and (valid_to is None or valid_to > start)
        for _, valid_from, valid_to in vintages
    )


def _span(vintages: list[tuple]) -> str:
    return "; ".join(f"{a or '…'} – {b or '…'}" for _, a, b in vintages)


def validate_status_records(
    store: Store,
    records: pd.DataFrame | Sequence[Mapping],
    *,
    report: ValidationReport | None = None,
    file: str | None = None,
) -> pd.DataFrame:
    """Check status records against the store and the criteria sets; return them normalised.

    Used by ``record_status`` and by importers, which attach the file row and column of
    each record in the private columns ``_row`` and ``_column`` so that problems point
    to the cell the user sees. Without them the row is the record's 1-based position.

    Parameters
    ----------
    store
        The store holding the admin units and the declared indicators.
    records
        One row per record with columns unit_code, year, set_id, criterion, met and
        optionally indicator, value, value_text, source_document, note.
    report
        Collects the problems; a new one is made if not given (and raised on errors).
    file
        Name of the input, for the problem locations.

    Returns
    -------
    DataFrame
        The records with clean Python types (codes as text, years and criteria as int,
        met as bool or None), in input order, private location columns dropped.

    Raises
    ------
    ImportValidationError
        Only when ``report`` is not given and there are errors.
    """
    own_report = report is None
    report = ValidationReport() if report is None else report
    first_problem = len(report.problems)
    df = pd.DataFrame(records) if not isinstance(records, pd.DataFrame) else records.copy()
    df = df.reset_index(drop=True)
    unknown = [c for c in df.columns if c not in _INPUT_COLUMNS and c not in _LOCATION_COLUMNS]
    missing = [c for c in _REQUIRED if c not in df.columns]
    if unknown:
        report.error(
            f"unknown column(s) {unknown}; status records take {list(_INPUT_COLUMNS)}", file=file
        )
    if missing:
        report.error(f"missing column(s) {missing}; status records need {list(_REQUIRED)}", file=file)
    if unknown or missing:
        if own_report:
            report.raise_if_errors("status records")
        return df.iloc[0:0]
    rows = df["_row"].tolist() if "_row" in df else list(range(1, len(df) + 1))
    cols = df["_column"].tolist() if "_column" in df else [None] * len(df)
    for c in _INPUT_COLUMNS:
        if c not in df:
            df[c] = None

    out = {c: [] for c in _INPUT_COLUMNS}
    sets: dict[str, criteria.CriteriaSet | None] = {}
    for k, rec in enumerate(df[list(_INPUT_COLUMNS)].itertuples(index=False)):
        where = {"file": file, "row": rows[k], "column": cols[k]}
        unit_code = _tables.as_text(rec.unit_code)
        if unit_code is None:
            report.error("unit_code is empty; expected a commune or village code", **where)
        year = _tables.as_int(rec.year)
        if year is None or not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
            report.error(
                f"year: expected a year from {YEAR_RANGE[0]} to {YEAR_RANGE[1]}, got {rec.year!r}",
                **where,
            )
            year = None
        set_id = _tables.as_text(rec.set_id)
        if set_id not in sets:
            try:
                sets[set_id] = criteria.get_set(set_id)
            except CriteriaError as exc:
                sets[set_id] = None
                report.error(f"set_id: {exc}", **where)
        elif sets[set_id] is None:
            report.error(f"set_id: unknown criteria set {set_id!r}", **where)
        cset = sets[set_id]
        number = _tables.as_int(rec.criterion)
        if number is None:
            report.error(f"criterion: expected a criterion number, got {rec.criterion!r}", **where)
        elif cset is not None and number not in cset.numbers:
            report.error(
                f"criterion: set '{set_id}' has no criterion {number}; expected 1 to {len(cset)}",
                **where,
            )
            number = None
        indicator = _tables.as_text(rec.indicator)
        if indicator is not None and number is not None and not indicator.startswith(f"{number}."):
            report.error(
                f"indicator: '{indicator}' does not belong to criterion {number}; "
                f"expected an id like '{number}.1'",
                **where,
            )
        met = rec.met
        if _tables.is_missing(met):
            met = None
        elif isinstance(met, (bool, np.bool_)):
            met = bool(met)
        else:
            report.error(f"met: expected True, False or None (no data), got {met!r}", **where)
        value = rec.value
        if _tables.is_missing(value):
            value = None
        elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
            value = float(value)
        else:
            report.error(f"value: expected a number, got {value!r}; use value_text for text", **where)
        for name, v in zip(_INPUT_COLUMNS, (unit_code, year, set_id, number, indicator, met, value)):
            out[name].append(v)
        out["value_text"].append(_tables.as_text(rec.value_text))
        out["source_document"].append(_tables.as_text(rec.source_document))
        out["note"].append(_tables.as_text(rec.note))
    clean = pd.DataFrame(out, columns=list(_INPUT_COLUMNS))
    clean = clean.astype(object).where(clean.notna(), None)

    _check_indicators(store, clean, sets, report, rows, cols, file)
    _check_units(store, clean, sets, report, rows, cols, file)
    _check_duplicates(clean, report, rows, cols, file)
    # report in row order, whichever check found the problem
    report.problems[first_problem:] = sorted(
        report.problems[first_problem:], key=lambda p: (p.row is None, p.row or 0)
    )
    if own_report:
        report.raise_if_errors("status records")
    return clean


def _check_indicators(store, clean, sets, report, rows, cols, file):
    with_indicator = clean["indicator"].notna()
    if not with_indicator.any():
        return
    known_sets = [s for s in clean.loc[with_indicator, "set_id"].unique() if sets.get(s)]
    declared = _declared_indicators(store, known_sets)
    for k in np.flatnonzero(with_indicator.to_numpy()):
        set_id, indicator = clean.at[k, "set_id"], clean.at[k, "indicator"]
        ids = declared.get(set_id)
        if ids and indicator not in ids:
            report.error(
                f"indicator: '{indicator}' is not declared for set '{set_id}'; declared: "
                f"{', '.join(sorted(ids, key=_indicator_key))}",
                file=file, row=rows[k], column=cols[k],
            )


def _indicator_key(indicator: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in indicator.split("."))


def _unit_problem(vintages: list[tuple] | None, code: str, year, cset) -> str | None:
    """Why a unit cannot carry a status of this year and set, or None."""
    if vintages is None:
        return (
            f"unit_code: no commune or village has code '{code}'; "
            "check the code or load the admin units first"
        )
    if cset is not None and cset.unit_level in ("commune", "village"):
        at_level = [v for v in vintages if v[0] == cset.unit_level]
        if not at_level:
            return (
                f"unit_code: '{code}' is a {vintages[0][0]}, but set '{cset.id}' "
                f"assesses {cset.unit_level}s"
            )
        vintages = at_level
    if year is not None and not _valid_during(vintages, year):
        return (
            f"unit_code: '{code}' did not exist in {year} (valid {_span(vintages)}); "
            "record the status on the unit valid that year"
        )
    return None


def _check_units(store, clean, sets, report, rows, cols, file):
    codes = sorted({c for c in clean["unit_code"] if c is not None})
    if not codes:
        return
    vintages = _unit_vintages(store, codes)
    verdicts: dict[tuple, str | None] = {}
    for k, key in enumerate(zip(clean["unit_code"], clean["year"], clean["set_id"])):
        code, year, set_id = key
        if code is None:
            continue
        if key not in verdicts:
            verdicts[key] = _unit_problem(vintages.get(code), code, year, sets.get(set_id))
        if verdicts[key]:
            report.error(verdicts[key], file=file, row=rows[k], column=cols[k])


def _check_duplicates(clean, report, rows, cols, file):
    key = clean[list(KEY_COLUMNS)].astype(str)
    dup = key.duplicated(keep=False).to_numpy()
    if not dup.any():
        return
    first: dict[tuple, int] = {}
    for k in np.flatnonzero(dup):
        t = tuple(key.iloc[k])
        if t in first:
            ind = f", indicator {clean.at[k, 'indicator']}" if clean.at[k, "indicator"] else ""
            report.error(
                f"duplicate record: unit {clean.at[k, 'unit_code']}, year {clean.at[k, 'year']}, "
                f"set {clean.at[k, 'set_id']}, criterion {clean.at[k, 'criterion']}{ind} "
                f"is already given in row {rows[first[t]]}",
                file=file, row=rows[k], column=cols[k],
            )
        else:
            first[t] = k


# --- writing ---------------------------------------------------------------------------


def record_status(
    store: Store,
    records: pd.DataFrame | Sequence[Mapping],
    *,
    recorded_by: str,
    source_document: str | None = None,
    recorded_at=None,
    conn: sqlite3.Connection | None = None,
) -> int:
    """Validate status records and append them to the history, all or nothing.

    Parameters
    ----------
    store
        The store to write to.
    records
        DataFrame or list of dicts: unit_code, year, set_id, criterion, met (True,
        False, or None to retract), and optionally indicator, value, value_text,
        source_document (overrides the keyword for that row), note.
    recorded_by
        Who records (a user name or an import job); required for accountability.
    source_document
        The report or decision the records come from, for rows that do not name one.
    recorded_at
        When the assessment counts from (date, datetime or ISO text); now by default.
        Give a past date to load older reports so that ``as_of`` queries see them.
    conn
        Write inside the caller's transaction instead of opening one.

    Returns
    -------
    int
        Number of records written.

    Raises
    ------
    ImportValidationError
        Listing every problem (with its row number); nothing is written.

    See Also
    --------
    current_status, status_history
    """
    if not recorded_by or not str(recorded_by).strip():
        raise ValueError("recorded_by: expected the name of who records the status, got an empty value")
    stamp = to_recorded_at(recorded_at)
    clean = validate_status_records(store, records)
    return append_records(
        store, clean, recorded_by=recorded_by, source_document=source_document, recorded_at=stamp, conn=conn
    )


def append_records(
    store: Store,
    clean: pd.DataFrame,
    *,
    recorded_by: str,
    source_document: str | None,
    recorded_at: str,
    conn: sqlite3.Connection | None,
) -> int:
    """Append records already normalised by ``validate_status_records``; returns how many.

    Importers validate with file locations first and then call this, so that large files
    are not checked twice. ``recorded_at`` is already in the store's form
    (``to_recorded_at``); ``conn`` writes inside the caller's transaction.

    See Also
    --------
    record_status : validate and append in one call.
    """
    if clean.empty:
        return 0
    clean = clean.copy()
    clean["source_document"] = clean["source_document"].where(
        clean["source_document"].notna(), source_document
    )
    clean["recorded_by"] = str(recorded_by).strip()
    clean["recorded_at"] = recorded_at
    clean = clean[list(RECORD_COLUMNS)]
    if conn is not None:
        n = store.insert_rows(conn, TABLE, clean)
    else:
        with store.transaction() as own:
            n = store.insert_rows(own, TABLE, clean)
    log.info("recorded %d status record(s) by %s at %s", n, recorded_by, recorded_at)
    return n


# --- queries ---------------------------------------------------------------------------


def _filters(year, set_id, as_of, unit_codes, include_indicators) -> tuple[list[str], list]:
    clauses, params = [], []
    if year is not None:
        clauses.append("year = ?")
        params.append(int(year))
    if set_id is not None:
        clauses.append("set_id = ?")
        params.append(set_id)
    cutoff = as_of_cutoff(as_of)
    if cutoff is not None:
        clauses.append("recorded_at <= ?")
        params.append(cutoff)
    if unit_codes is not None:
        clauses.append("unit_code IN (SELECT value FROM json_each(?))")
        params.append(json.dumps([str(c) for c in unit_codes]))
    if not include_indicators:
        clauses.append("indicator IS NULL")
    return clauses, params


def _latest(
    store: Store,
    columns: Sequence[str],
    *,
    year=None,
    set_id=None,
    as_of=None,
    unit_codes=None,
    include_indicators=False,
) -> pd.DataFrame:
    """The latest record of each key (unordered), reading only ``columns``."""
    clauses, params = _filters(year, set_id, as_of, unit_codes, include_indicators)
    # Anti-join: keep a record when no later record of the same key exists (within the
    # cutoff). The correlated probe walks the status_key index, which is ordered like the
    # key and then recorded_at; at ~1 M records this beats a window function, whose
    # partition sort needs a temporary B-tree.
    newer = (
        f"NOT EXISTS (SELECT 1 FROM {TABLE} AS t WHERE t.unit_code = {TABLE}.unit_code "
        f"AND t.year = {TABLE}.year AND t.set_id = {TABLE}.set_id "
        f"AND t.criterion = {TABLE}.criterion AND t.indicator IS {TABLE}.indicator "
        f"AND (t.recorded_at > {TABLE}.recorded_at "
        f"OR (t.recorded_at = {TABLE}.recorded_at AND t.id > {TABLE}.id))"
    )
    cutoff = as_of_cutoff(as_of)
    if cutoff is not None:
        newer += " AND t.recorded_at <= ?"
        params.append(cutoff)
    clauses.append(newer + ")")
    return store.read_table(TABLE, " AND ".join(clauses), params, columns=list(columns))


def current_status(
    store: Store,
    *,
    year: int | None = None,
    set_id: str | None = None,
    as_of=None,
    unit_codes: Iterable[str] | None = None,
    include_indicators: bool = False,
) -> pd.DataFrame:
    """The latest record of every key: the status now, or as of a date.

    Parameters
    ----------
    store
        The store to read.
    year, set_id
        Restrict to one assessment year / criteria set.
    as_of
        Only records with ``recorded_at`` on or before the end of this date (a quarter's
        end for quarterly reports, see ``quarter_end``) or this timestamp.
    unit_codes
        Restrict to these units.
    include_indicators
        Also return sub-indicator rows (``indicator`` not null); by default only
        criterion-level rows.

    Returns
    -------
    DataFrame
        ``id`` and the ``status_records`` columns, one row per key, ordered by unit,
        year, set, criterion, indicator. Retracted keys appear with ``met`` NA.

    See Also
    --------
    status_history, criteria_summary

    Examples
    --------
    >>> current_status(store, year=2024, set_id="qd318-2022-xa-ntm", as_of=quarter_end(2024, 1))  # doctest: +SKIP
    """
    df = _latest(
        store,
        ["id", *RECORD_COLUMNS],
        year=year,
        set_id=set_id,
        as_of=as_of,
        unit_codes=unit_codes,
        include_indicators=include_indicators,
    )
    return df.sort_values(
        ["unit_code", "year", "set_id", "criterion", "indicator"], na_position="first"
    ).reset_index(drop=True)


def status_history(
    store: Store, unit_code: str, *, year: int | None = None, set_id: str | None = None
) -> pd.DataFrame:
    """Every record of a unit, oldest first: what was assessed, when, by whom, from which report.

    See Also
    --------
    current_status
    """
    clauses, params = ["unit_code = ?"], [str(unit_code)]
    if year is not None:
        clauses.append("year = ?")
        params.append(int(year))
    if set_id is not None:
        clauses.append("set_id = ?")
        params.append(set_id)
    return store.read_table(
        TABLE,
        " AND ".join(clauses),
        params,
        columns=["id", *RECORD_COLUMNS],
        order_by="recorded_at, id",
    ).reset_index(drop=True)


def status_by_year(
    store: Store,
    set_id: str,
    years: Iterable[int],
    *,
    as_of=None,
    pick: str = "latest",
) -> pd.DataFrame:
    """Criterion-level status of every unit in some years: one record per key.

    Plans and recognitions compare a year's status with the previous year's, so they
    need several years at once, and the first assessment of a year as well as the last.

    Parameters
    ----------
    store
        The store to read.
    set_id
        The criteria set.
    years
        Assessment years to read.
    as_of
        Only records with ``recorded_at`` up to this cutoff (see ``as_of_cutoff``).
    pick
        ``"latest"`` (the status then) or ``"earliest"`` (the first assessment of the
        year) record of each key, by ``recorded_at`` then ``id``.

    Returns
    -------
    DataFrame
        unit_code, year, criterion (int64), met (boolean, NA for retractions), in no
        particular order. Sub-indicator rows are left out.

    See Also
    --------
    current_status, start_end_status
    """
    if pick not in ("latest", "earliest"):
        raise ValueError(f"pick: expected 'latest' or 'earliest', got {pick!r}")
    years = sorted({int(y) for y in years})
    order = "DESC" if pick == "latest" else "ASC"
    cutoff = as_of_cutoff(as_of)
    sql = f"""
        SELECT unit_code, year, criterion, met FROM (
          SELECT unit_code, year, criterion, met,
                 ROW_NUMBER() OVER (PARTITION BY unit_code, year, criterion
                                    ORDER BY recorded_at {order}, id {order}) AS k
          FROM {TABLE}
          WHERE set_id = ? AND indicator IS NULL{"" if cutoff is None else " AND recorded_at <= ?"}
            AND year IN ({", ".join("?" * len(years))})
        ) WHERE k = 1"""
    params = [set_id, *([] if cutoff is None else [cutoff]), *years]
    with contextlib.closing(store.connect()) as conn:
        rows = conn.execute(sql, params).fetchall()
    df = pd.DataFrame.from_records(rows, columns=["unit_code", "year", "criterion", "met"])
    df["met"] = df["met"].astype("boolean") if len(df) else pd.Series(dtype="boolean")
    return df.astype({"year": "int64", "criterion": "int64"})


def start_end_status(
    store: Store,
    set_id: str,
    year: int,
    *,
    as_of=None,
    start_year: int | None = None,
) -> pd.DataFrame:
    """Whether each criterion was met at the start and at the end of ``year``.

    Start: the latest status of ``start_year`` (default ``year - 1``); for a key without
    one, the earliest record of ``year``. End: the latest record of ``year``. Both count
    only records up to ``as_of``. Plans and targets measure a year's progress with this.

    Returns
    -------
    DataFrame
        unit_code, criterion, met_start, met_end (boolean; NA where unknown), one row
        per key with a record in either year.

    See Also
    --------
    status_by_year, status_changes
    """
    start_year = year - 1 if start_year is None else start_year
    latest = status_by_year(store, set_id, [start_year, year], as_of=as_of)
    earliest = status_by_year(store, set_id, [year], as_of=as_of, pick="earliest")
    key = ["unit_code", "criterion"]
    prev = latest[latest["year"] == start_year][key + ["met"]].rename(columns={"met": "met_prev"})
    prev["has_prev"] = True
    first = earliest[key + ["met"]].rename(columns={"met": "met_first"})
    end = latest[latest["year"] == year][key + ["met"]].rename(columns={"met": "met_end"})
    out = prev.merge(first, on=key, how="outer").merge(end, on=key, how="outer")
    has_prev = out["has_prev"].eq(True).to_numpy()
    out["met_start"] = pd.array(
        np.where(has_prev, out["met_prev"].astype(object), out["met_first"].astype(object)),
        dtype="boolean",
    )
    out["met_end"] = out["met_end"].astype("boolean")
    return out[key + ["met_start", "met_end"]]


def _scope_units(store: Store, year: int, cset: criteria.CriteriaSet, scope_code) -> pd.DataFrame:
    units = admin_units.units_in_scope(
        store, scope_code, cset.unit_level, on=admin_units.year_end(year)
    )
    return units[["code", "name", "parent_code"]].sort_values(["parent_code", "code"]).reset_index(drop=True)


_SUMMARY_COLUMNS = ("unit_code", "criterion", "met")


def _met_by_unit(status: pd.DataFrame) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """unit -> criteria met, unit -> criteria assessed not met (criterion-level rows)."""
    status = status[status["met"].notna()].sort_values(["unit_code", "criterion"])
    met: dict[str, list[int]] = {}
    unmet: dict[str, list[int]] = {}
    for code, number, is_met in zip(
        status["unit_code"].tolist(), status["criterion"].tolist(), status["met"].tolist()
    ):
        (met if is_met else unmet).setdefault(code, []).append(int(number))
    return met, unmet


def criteria_summary(
    store: Store,
    year: int,
    set_id: str,
    *,
    as_of=None,
    scope_code: str | None = None,
) -> pd.DataFrame:
    """Criteria met, not met and without data, per unit in a scope, for one year and set.

    Units are those of the set's level (communes) valid at the end of ``year`` inside
    ``scope_code`` (a province or district code; None = the whole store). Units without
    any record are listed with everything under ``no_data``.

    Returns
    -------
    DataFrame
        unit_code, name, parent_code, n_met, n_assessed, n_total (criteria in the
        set), met, unmet, no_data (sorted lists of criterion numbers).

    See Also
    --------
    current_status, status_changes
    """
    cset = criteria.get_set(set_id)
    units = _scope_units(store, year, cset, scope_code)
    status = _latest(
        store,
        _SUMMARY_COLUMNS,
        year=year,
        set_id=set_id,
        as_of=as_of,
        unit_codes=None if scope_code is None else units["code"].tolist(),
    )
    met, unmet = _met_by_unit(status)
    numbers = cset.numbers
    out = units.rename(columns={"code": "unit_code"})
    out["met"] = [met.get(c, []) for c in out["unit_code"]]
    out["unmet"] = [unmet.get(c, []) for c in out["unit_code"]]
    out["no_data"] = [
        [n for n in numbers if n not in assessed]
        for assessed in (set(m) | set(u) for m, u in zip(out["met"], out["unmet"]))
    ]
    out["n_met"] = out["met"].map(len).astype("int64")
    out["n_assessed"] = (out["met"].map(len) + out["unmet"].map(len)).astype("int64")
    out["n_total"] = len(numbers)
    return out[
        ["unit_code", "name", "parent_code", "n_met", "n_assessed", "n_total", "met", "unmet", "no_data"]
    ]


def status_changes(
    store: Store,
    set_id: str,
    year: int,
    *,
    previous_year: int | None = None,
    scope_code: str | None = None,
) -> pd.DataFrame:
    """Criteria each unit gained and lost since the previous year (same criteria set).

    ``gained``: met in ``year`` but not met or without data in ``previous_year``.
    ``lost``: met in ``previous_year`` and assessed not met in ``year``. Criteria met
    before and not yet assessed in ``year`` are listed apart as ``unassessed`` so that an
    early-year map does not show them as lost. Units are those valid at the end of
    ``year``; a unit created since (a merger) has no previous records.

    Returns
    -------
    DataFrame
        unit_code, name, parent_code, n_met_previous, n_met, change, gained, lost,
        unassessed.
    """
    previous_year = year - 1 if previous_year is None else int(previous_year)
    cset = criteria.get_set(set_id)
    units = _scope_units(store, year, cset, scope_code)
    codes = None if scope_code is None else units["code"].tolist()
    now_met, now_unmet = _met_by_unit(
        _latest(store, _SUMMARY_COLUMNS, year=year, set_id=set_id, unit_codes=codes)
    )
    before_met, _ = _met_by_unit(
        _latest(store, _SUMMARY_COLUMNS, year=previous_year, set_id=set_id, unit_codes=codes)
    )
    out = units.rename(columns={"code": "unit_code"})
    gained, lost, unassessed, n_now, n_before = [], [], [], [], []
    for code in out["unit_code"]:
        now, before = set(now_met.get(code, [])), set(before_met.get(code, []))
        assessed_unmet = set(now_unmet.get(code, []))
        gained.append(sorted(now - before))
        lost.append(sorted(before & assessed_unmet))
        unassessed.append(sorted(before - now - assessed_unmet))
        n_now.append(len(now))
        n_before.append(len(before))
    out["n_met_previous"] = pd.array(n_before, dtype="int64")
    out["n_met"] = pd.array(n_now, dtype="int64")
    out["change"] = out["n_met"] - out["n_met_previous"]
    out["gained"], out["lost"], out["unassessed"] = gained, lost, unassessed
    return out

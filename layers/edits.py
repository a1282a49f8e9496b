"""Edits from people and other systems: each one transaction with its precondition and audit.

Every operation here runs in ONE store transaction that (1) checks the caller's
precondition — the ETag it last saw of the resource it edits — against the state inside
the transaction, (2) makes the change through the layer functions that own it
(``status.append_records``, ``recognitions.record_recognition``, ``targets.record_targets``,
the ``import_*`` functions) with their validation, (3) checks that every unit written is
inside the editor's provinces, and (4) appends the audit entries. Any failure rolls the
whole transaction back: nothing is written.

ETags
-----
The ETag of an editable resource is a hash of its current state: for a commune-year the
current status records of (commune, year, set) — criterion and indicator rows, with
their ids — for one criterion the same rows of that criterion, for the recognitions or
targets of a unit all their rows. Any write to the resource changes its ETag; a write to
another resource does not. Because ``Store.transaction`` starts with ``BEGIN IMMEDIATE``
(the write lock), the state read inside the transaction cannot change before the commit:
two writers holding the same ETag are serialised and the second one finds a different
ETag and fails with ``PreconditionFailed``, having written nothing. The ETag returned
after a write is computed inside the same transaction, so it names exactly the state
the writer left.

Layer functions that open their own transaction run against ``_Edit``, a view of the
store whose ``transaction()`` wraps the real one with the steps above; that is how they
are reused unchanged. Their validation runs before their transaction, outside the
write lock, like on the command line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import audit, criteria, keys, recognitions, schema, status, targets
from ._errors import CriteriaError, StoreError, ValidationReport
from .store import Store

__all__ = [
    "InvalidArgument",
    "PreconditionFailed",
    "EditResult",
    "ResourceState",
    "IMPORT_KINDS",
    "audited_import",
    "etag_for",
    "etag_matches",
    "status_resource",
    "commune_year_state",
    "cell_state",
    "recognitions_state",
    "targets_state",
    "record_commune_year",
    "record_cell",
    "add_recognition",
    "revoke_recognition",
    "set_targets",
    "run_import",
]

log = logging.getLogger(__name__)

_STATUS_COLUMNS = ["id", "unit_code", "year", "set_id", "criterion", "indicator", "met", "value",
                   "value_text", "source_document", "recorded_by", "recorded_at", "note"]
_CELL_FIELDS = ("met", "value", "value_text", "note", "source_document")
# The admin unit each table's rows belong to (for scopes and the history of a unit).
_UNIT_COLUMN = {"status_records": "unit_code", "plans": "unit_code", "recognitions": "unit_code",
                "targets": "scope_code"} | {t: "code" for t in schema.ADMIN_TABLE.values()} | {
                t: "commune_code" for t in schema.FEATURE_TABLES if t not in schema.ADMIN_TABLE.values()}


class InvalidArgument(ValueError):
    """An argument that cannot be used (HTTP 400 naming it as ``parameter``)."""

    def __init__(self, parameter: str, message: str):
        self.parameter = parameter
        super().__init__(f"{parameter}: {message}")


class PreconditionFailed(Exception):
    """The resource changed since the caller read it (HTTP 412); nothing was written."""

    def __init__(self, resource: str, given: str, current: str):
        self.resource, self.given, self.current = resource, given, current
        super().__init__(
            f"'{resource}' has changed since you read it (If-Match {given}, current ETag {current}); "
            "read it again, re-apply your change and send it with the new ETag"
        )


@dataclass
class ResourceState:
    """An editable resource: its path, rows and ETag."""

    resource: str
    unit_code: str
    rows: list[dict]

    @property
    def etag(self) -> str:
        return etag_for(self.resource, self.rows)


@dataclass
class EditResult:
    """What an edit did: rows written, the resource's new state and ETag, audit entry ids."""

    resource: str
    written: int
    etag: str | None = None
    state: list[dict] = field(default_factory=list)
    audit_ids: list[int] = field(default_factory=list)
    unchanged: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


# --- ETags ----------------------------------------------------------------------------


def etag_for(resource: str, rows: Sequence[Mapping]) -> str:
    """Strong ETag (quoted) of a resource's state: the first 128 bits of a SHA-256."""
    text = json.dumps({"resource": resource, "state": list(rows)}, sort_keys=True, default=str,
                      ensure_ascii=False, separators=(",", ":"))
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def etag_matches(if_match: str, current: str) -> bool:
    """RFC 9110 If-Match: ``*`` or a list of strong ETags, one equal to ``current``."""
    if if_match.strip() == "*":
        return True
    tags = [t.strip() for t in if_match.split(",")]
    return any(t == current for t in tags if not t.startswith("W/"))


# --- states ---------------------------------------------------------------------------


def _rows(df: pd.DataFrame) -> list[dict]:
    return [{k: (None if _missing(v) else v) for k, v in rec.items()}
            for rec in df.astype(object).to_dict("records")]


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NA


def _latest_status(store: Store, conn: sqlite3.Connection | None, year: int, set_id: str,
                   units: Iterable[str], *, criterion: int | Iterable[int] | None = None,
                   max_id: int | None = None) -> list[dict]:
    """Current status rows (criterion and indicator level) of some units in one year and set.

    The same rule as ``layers.status.current_status`` — the latest record of each key by
    ``recorded_at`` then ``id`` — but read through ``conn``, so that it sees the
    transaction's own writes; ``max_id`` leaves out records after that id (the state
    before an append, since ids only grow).
    """
    cap = "" if max_id is None else " AND {a}.id <= ?"
    where = ("s.year = ? AND s.set_id = ? AND s.unit_code IN (SELECT value FROM json_each(?))"
             + ("" if criterion is None else " AND s.criterion IN (SELECT value FROM json_each(?))")
             + cap.format(a="s")
             + " AND NOT EXISTS (SELECT 1 FROM status_records AS t WHERE t.unit_code = s.unit_code"
             " AND t.year = s.year AND t.set_id = s.set_id AND t.criterion = s.criterion"
             " AND t.indicator IS s.indicator" + cap.format(a="t")
             + " AND (t.recorded_at > s.recorded_at OR (t.recorded_at = s.recorded_at AND t.id > s.id)))")
    params: list = [int(year), set_id, json.dumps(sorted(set(units)))]
    if criterion is not None:
        numbers = [criterion] if isinstance(criterion, int) else criterion
        params.append(json.dumps(sorted({int(n) for n in numbers})))
    if max_id is not None:
        params += [max_id, max_id]
    sql = ("SELECT " + ", ".join(f"s.{c}" for c in _STATUS_COLUMNS) + " FROM status_records AS s WHERE "
           + where + " ORDER BY s.unit_code, s.criterion, s.indicator IS NOT NULL, s.indicator")
    with _reading(store, conn) as c:
        rows = c.execute(sql, params).fetchall()
    out = []
    for row in rows:
        rec = dict(zip(_STATUS_COLUMNS, row))
        rec["met"] = None if rec["met"] is None else bool(rec["met"])
        out.append(rec)
    return out


@contextlib.contextmanager
def _reading(store: Store, conn: sqlite3.Connection | None):
    """The caller's connection, or one of our own for several reads (each new one costs a
    schema parse)."""
    if conn is not None:
        yield conn
    else:
        with contextlib.closing(store.connect()) as own:
            yield own


def _commune(store: Store, code: str, conn: sqlite3.Connection | None = None) -> None:
    if not store.count("communes", "code = ?", [code], conn=conn):
        raise LookupError(f"no commune has code '{code}'")


def _set_for(year: int, set_id: str | None) -> criteria.CriteriaSet:
    if not status.YEAR_RANGE[0] <= int(year) <= status.YEAR_RANGE[1]:
        raise InvalidArgument("year", f"expected a year from {status.YEAR_RANGE[0]} to "
                                      f"{status.YEAR_RANGE[1]}, got {year}")
    try:
        return criteria.get_set(set_id) if set_id else criteria.set_for_year(int(year))
    except CriteriaError as exc:
        raise InvalidArgument("set", str(exc)) from exc


def status_resource(code: str, year: int, set_id: str, criterion: int | None = None) -> str:
    """The path naming a commune-year's (or one criterion's) status in ETags and the audit log."""
    base = f"communes/{code}/status/{int(year)}/{set_id}"
    return base if criterion is None else f"{base}/{int(criterion)}"


def commune_year_state(store: Store, code: str, year: int, set_id: str | None = None, *,
                       conn: sqlite3.Connection | None = None) -> ResourceState:
    """Current status of a commune in a year (one set; default: the set in force then).

    Raises LookupError for an unknown commune, ValueError for a bad year or set.
    """
    cset = _set_for(year, set_id)
    with _reading(store, conn) as c:
        _commune(store, code, c)
        rows = [_public(r) for r in _latest_status(store, c, year, cset.id, [code])]
    return ResourceState(status_resource(code, year, cset.id), code, rows)


def cell_state(store: Store, code: str, year: int, criterion: int, set_id: str | None = None, *,
               conn: sqlite3.Connection | None = None) -> ResourceState:
    """Current status of one criterion (and its indicators) of a commune-year."""
    cset = _set_for(year, set_id)
    with _reading(store, conn) as c:
        _commune(store, code, c)
        if int(criterion) not in cset.numbers:
            raise LookupError(f"set '{cset.id}' has no criterion {criterion}; it has 1 to {len(cset)}")
        rows = [_public(r) for r in _latest_status(store, c, year, cset.id, [code], criterion=criterion)]
    return ResourceState(status_resource(code, year, cset.id, criterion), code, rows)


def _public(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k not in ("unit_code", "year", "set_id")}


def _unit(store: Store, code: str, levels: Sequence[str], conn: sqlite3.Connection) -> None:
    if not any(store.count(schema.ADMIN_TABLE[lv], "code = ?", [code], conn=conn) for lv in levels):
        raise LookupError(f"no {' or '.join(levels)} has code '{code}'")


def recognitions_state(store: Store, code: str, *, conn: sqlite3.Connection | None = None) -> ResourceState:
    """Every recognition decision recorded for a unit (revoked ones included), oldest first."""
    with _reading(store, conn) as c:
        _unit(store, code, recognitions.UNIT_LEVELS, c)
        df = store.read_table("recognitions", "unit_code = ?", [code], order_by="id", conn=c)
    return ResourceState(f"units/{code}/recognitions", code, _rows(df))


def targets_state(store: Store, code: str, *, conn: sqlite3.Connection | None = None) -> ResourceState:
    """Every target set for a scope unit (province, district, commune, village)."""
    with _reading(store, conn) as c:
        _unit(store, code, schema.ADMIN_LEVELS, c)
        df = store.read_table("targets", "scope_code = ?", [code], order_by="target_year, metric, id", conn=c)
    return ResourceState(f"units/{code}/targets", code, _rows(df))


# --- the edit transaction -------------------------------------------------------------


class _Edit(Store):
    """The store as one edit sees it: its single transaction checks, captures and audits.

    ``transaction()`` opens the real store's transaction, checks the precondition, runs
    the caller's writes while ``audit.Capture`` records them, then — before the commit —
    checks the editor's scope on every unit written, appends the audit entries and
    computes the resource's new state. Reads outside ``transaction`` go to the real file.
    """

    def __init__(self, store: Store, *, actor: str, action: str, resource: str, tables: Iterable[str],
                 scope: Iterable[str] | None = None, request_id: str | None = None,
                 source_document: str | None = None, if_match: str | None = None,
                 state: Callable[[sqlite3.Connection | None], ResourceState] | None = None):
        # no super().__init__: the file exists and is migrated; this is a view of it
        self.path = store.path
        self._columns = {}
        self.store = store
        if not actor or not str(actor).strip():
            raise ValueError("actor: expected who makes the change, got an empty value")
        self.actor, self.action, self.resource = str(actor).strip(), action, resource
        self.tables = list(tables)
        self.scope = None if scope is None else frozenset(scope)
        self.request_id, self.source_document = request_id, source_document
        self.if_match, self.state_fn = if_match, state
        self.opened = False
        self.before: ResourceState | None = None
        self.after: ResourceState | None = None
        self.changes: list[audit.Change] = []
        self.audit_ids: list[int] = []

    @contextlib.contextmanager
    def transaction(self):
        if self.opened:
            raise StoreError(f"{self.action}: an edit writes in one transaction, this one was used already")
        self.opened = True
        with self.store.transaction() as conn:
            self._check(conn)
            capture = audit.Capture(self.store, conn, self.tables)
            yield conn
            self.changes = capture.changes()
            capture.close()
            units = [c.row.get(_UNIT_COLUMN[c.table]) for c in self.changes]
            keys.check_scope(self.store, self.scope, units, conn=conn)
            items = self._entries(conn, self.changes)
            self.audit_ids = audit.record_many(self.store, conn, items)
            if self.state_fn is not None:
                self.after = self.state_fn(conn)

    def precheck(self) -> None:
        """Fail fast on a stale ETag before validating (the check that counts is in ``transaction``)."""
        if self.if_match is not None:
            self._check(None)

    def _check(self, conn: sqlite3.Connection | None) -> None:
        if self.state_fn is None:
            return
        self.before = self.state_fn(conn)
        if self.if_match is not None and not etag_matches(self.if_match, self.before.etag):
            raise PreconditionFailed(self.resource, self.if_match, self.before.etag)

    def _entry(self, unit_code, before, after) -> dict:
        return {"actor": self.actor, "action": self.action, "resource": self.resource,
                "unit_code": unit_code, "before": before, "after": after,
                "source_document": self.source_document, "request_id": self.request_id}

    def _entries(self, conn: sqlite3.Connection, changes: list[audit.Change]) -> list[dict]:
        """One entry per (unit, table): the rows as they were and as they are now.

        Status records are append-only, so for them before/after are the *current*
        records of the keys written, before and after the change.
        """
        groups: dict[tuple, tuple[list, list]] = {}
        status_new = [c.new for c in changes if c.table == "status_records" and c.op == "insert"]
        for c in changes:
            if c.table == "status_records":
                continue
            before, after = groups.setdefault((c.row.get(_UNIT_COLUMN[c.table]), c.table), ([], []))
            if c.old is not None:
                before.append(c.old)
            if c.new is not None:
                after.append(c.new)
        out = [self._entry(unit, *_collapse(table, b, a)) for (unit, table), (b, a) in groups.items()]
        if status_new:
            for unit, (b, a) in _status_before_after(self.store, conn, status_new).items():
                out.append(self._entry(unit, *_collapse("status_records", b, a)))
        return out


def _collapse(table: str, before: list, after: list) -> tuple:
    return ({"table": table, "rows": before} if before else None,
            {"table": table, "rows": after} if after else None)


def _status_before_after(store: Store, conn, inserted: list[dict]) -> dict[str, tuple[list, list]]:
    """unit -> (current records of the written keys before the append, and after it)."""
    first_new = min(r["id"] for r in inserted)
    wanted: dict[tuple, set] = {}
    for r in inserted:
        wanted.setdefault((r["year"], r["set_id"]), set()).add(
            (r["unit_code"], r["criterion"], r["indicator"]))
    out: dict[str, tuple[list, list]] = {}
    for (year, set_id), key_set in wanted.items():
        units, numbers = {k[0] for k in key_set}, {k[1] for k in key_set}
        for k, max_id in ((0, first_new - 1), (1, None)):
            for rec in _latest_status(store, conn, year, set_id, units, criterion=numbers, max_id=max_id):
                if (rec["unit_code"], rec["criterion"], rec["indicator"]) in key_set:
                    out.setdefault(rec["unit_code"], ([], []))[k].append(rec)
    return out


# --- status ---------------------------------------------------------------------------


def _status_records(code: str, year: int, set_id: str, cells: Sequence[Mapping], where: str,
                    report: ValidationReport) -> list[dict]:
    """Flat status records (criterion rows, then their indicators) with location hints."""
    out = []
    for i, cell in enumerate(cells):
        at = f"{where}[{i}]" if where else "body"
        unknown = sorted(set(cell) - {"criterion", "indicators", *_CELL_FIELDS})
        if unknown:
            report.error(f"unknown field(s) {unknown}; a cell takes criterion, met, value, value_text, "
                         "note, source_document, indicators", column=at)
        base = {"unit_code": code, "year": year, "set_id": set_id, "criterion": cell.get("criterion")}
        out.append(base | {"indicator": None, "_column": at} | {f: cell.get(f) for f in _CELL_FIELDS})
        for j, ind in enumerate(cell.get("indicators") or ()):
            at_ind = f"{at}.indicators[{j}]" if where else f"indicators[{j}]"
            unknown = sorted(set(ind) - {"indicator", *_CELL_FIELDS})
            if unknown or not ind.get("indicator"):
                report.error(f"an indicator takes indicator (its id, e.g. '2.1'), met, value, value_text, "
                             f"note, source_document; got {sorted(ind)}", column=at_ind)
            out.append(base | {"indicator": ind.get("indicator"), "_column": at_ind}
                       | {f: ind.get(f) for f in _CELL_FIELDS})
    seen: dict[tuple, str] = {}
    unique = []
    for rec in out:
        key = (rec["criterion"], rec["indicator"])
        if key in seen:
            what = f"criterion {key[0]}" + (f", indicator {key[1]}" if key[1] else "")
            report.error(f"{what} is given twice (first at {seen[key]})", column=rec["_column"])
            continue  # reported here; the store's validation need not see it again
        seen[key] = rec["_column"]
        unique.append(rec)
    return unique


def _same(current: dict | None, rec: Mapping, default_source: str | None) -> bool:
    if current is None:
        return False
    source = rec.get("source_document") or default_source
    return all(current.get(f) == rec.get(f) for f in ("met", "value", "value_text", "note")) and (
        source is None or source == current.get("source_document"))


def _record_status(store: Store, code: str, year: int, set_id: str | None, cells: Sequence[Mapping], *,
                   criterion: int | None, replace: bool, actor: str, if_match: str | None,
                   source_document: str | None, scope, request_id: str | None) -> EditResult:
    cset = _set_for(year, set_id)
    _commune(store, code)
    if criterion is not None and int(criterion) not in cset.numbers:
        raise LookupError(f"set '{cset.id}' has no criterion {criterion}; it has 1 to {len(cset)}")
    resource = status_resource(code, year, cset.id, criterion)
    if criterion is None:
        state = lambda conn: commune_year_state(store, code, year, cset.id, conn=conn)  # noqa: E731
    else:
        state = lambda conn: cell_state(store, code, year, criterion, cset.id, conn=conn)  # noqa: E731
    edit = _Edit(store, actor=actor, action="status.record", resource=resource, tables=["status_records"],
                 scope=scope, request_id=request_id, source_document=source_document,
                 if_match=if_match, state=state)
    edit.precheck()
    report = ValidationReport()
    where = "" if criterion is not None else "criteria"
    if criterion is not None:
        cells = [dict(cells[0]) | {"criterion": int(criterion)}]
    records = _status_records(code, int(year), cset.id, cells, where, report)
    if replace:
        given = {r["criterion"] for r in records if r["indicator"] is None}
        missing = [n for n in cset.numbers if n not in given]
        if missing:
            report.error(f"a PUT replaces the whole commune-year: every criterion of '{cset.id}' must be "
                         f"given (met null for no data); missing {missing}. Use PATCH to change some",
                         column="criteria")
    df = pd.DataFrame(records)
    df["_row"] = None
    clean = status.validate_status_records(store, df, report=report)
    report.raise_if_errors(f"status of {code} in {year}")  # every problem at once, nothing written
    clean["_column"] = df["_column"].to_numpy()
    unchanged: list[dict] = []
    written = 0
    with edit.transaction() as conn:  # edit.before: the resource's state read under the write lock
        current = {(r["criterion"], r["indicator"]): r for r in edit.before.rows}
        keep = [not _same(current.get((r.criterion, r.indicator)), r._asdict(), source_document)
                for r in clean.itertuples(index=False)]
        unchanged = [{"criterion": int(c), "indicator": i, "at": at}
                     for c, i, at, k in zip(clean["criterion"], clean["indicator"], clean["_column"], keep) if not k]
        to_write = clean[keep].drop(columns=["_column"])
        if len(to_write):
            written = status.append_records(edit, to_write.reset_index(drop=True), recorded_by=edit.actor,
                                            source_document=source_document,
                                            recorded_at=status.to_recorded_at(None), conn=conn)
    return EditResult(resource, written, edit.after.etag, edit.after.rows, edit.audit_ids, unchanged)


def record_commune_year(store: Store, code: str, year: int, cells: Sequence[Mapping], *,
                        set_id: str | None = None, replace: bool = False, actor: str,
                        if_match: str | None = None, source_document: str | None = None,
                        scope: Iterable[str] | None = None, request_id: str | None = None) -> EditResult:
    """Record the status of several criteria of a commune-year (PATCH), or all of them (PUT).

    Parameters
    ----------
    cells
        ``[{criterion, met, value, value_text, note, source_document, indicators: [{indicator,
        met, …}]}]``; ``met`` None records "no data" (retracts an assessment).
    replace
        Every criterion of the set must be given (a PUT of the whole commune-year).
    actor
        Who records: written to ``recorded_by`` and the audit log.
    if_match
        The ETag the caller read (``commune_year_state(...).etag``); None skips the check.
    scope
        Province codes the caller may write in (None: everywhere).

    Cells equal to the current status (same met, value, value_text, note and source
    document) are not written again; they are listed in ``EditResult.unchanged``.

    Raises
    ------
    PreconditionFailed
        ``if_match`` is not the current ETag.
    ImportValidationError
        Bad cells, each located (``criteria[3].met``); nothing written.
    keys.OutOfScope, LookupError, ValueError
        Commune outside the scope, unknown commune or criterion, bad year or set.
    """
    return _record_status(store, code, year, set_id, cells, criterion=None, replace=replace, actor=actor,
                          if_match=if_match, source_document=source_document, scope=scope,
                          request_id=request_id)


def record_cell(store: Store, code: str, year: int, criterion: int, cell: Mapping, *,
                set_id: str | None = None, actor: str, if_match: str | None = None,
                source_document: str | None = None, scope: Iterable[str] | None = None,
                request_id: str | None = None) -> EditResult:
    """Record one criterion of a commune-year (and optionally its indicators).

    ``if_match`` is the ETag of the cell (``cell_state``), so that editors of different
    criteria of the same commune do not block each other. See ``record_commune_year``.
    """
    return _record_status(store, code, year, set_id, [cell], criterion=criterion, replace=False,
                          actor=actor, if_match=if_match, source_document=source_document, scope=scope,
                          request_id=request_id)


# --- recognitions and targets ---------------------------------------------------------


def add_recognition(store: Store, code: str, level: str, year: int, *, actor: str,
                    if_match: str | None = None, scope: Iterable[str] | None = None,
                    request_id: str | None = None, **fields) -> EditResult:
    """Record a recognition decision for a unit (``recognitions.record_recognition``).

    ``fields``: unit_level, decision_number, decision_date, issued_by, valid_until, set_id,
    note. The decision number is the audit entry's source document. ``if_match`` is the
    ETag of the unit's recognitions (``recognitions_state``).
    """
    recognitions_state(store, code)  # 404 before anything else
    edit = _Edit(store, actor=actor, action="recognition.record", resource=f"units/{code}/recognitions",
                 tables=["recognitions"], scope=scope, request_id=request_id,
                 source_document=fields.get("decision_number"), if_match=if_match,
                 state=lambda conn: recognitions_state(store, code, conn=conn))
    edit.precheck()
    new_id = recognitions.record_recognition(edit, code, level, year, **fields)
    return EditResult(edit.resource, 1, edit.after.etag, edit.after.rows, edit.audit_ids,
                      summary={"id": new_id})


def revoke_recognition(store: Store, code: str, level: str, year: int, *, actor: str,
                       note: str | None = None, source_document: str | None = None,
                       if_match: str | None = None, scope: Iterable[str] | None = None,
                       request_id: str | None = None) -> EditResult:
    """Mark a unit's recognition revoked (``recognitions.revoke_recognition``); kept, not deleted.

    ``source_document``: the decision withdrawing it, for the audit log.
    """
    recognitions_state(store, code)
    edit = _Edit(store, actor=actor, action="recognition.revoke", resource=f"units/{code}/recognitions",
                 tables=["recognitions"], scope=scope, request_id=request_id,
                 source_document=source_document, if_match=if_match,
                 state=lambda conn: recognitions_state(store, code, conn=conn))
    edit.precheck()
    n = recognitions.revoke_recognition(edit, code, level, year, note=note)
    return EditResult(edit.resource, n, edit.after.etag, edit.after.rows, edit.audit_ids)


def set_targets(store: Store, code: str, items: Sequence[Mapping], *, actor: str,
                source_document: str | None = None, if_match: str | None = None,
                scope: Iterable[str] | None = None, request_id: str | None = None) -> EditResult:
    """Set targets of a scope unit, replacing those with the same key (``targets.record_targets``).

    ``items`` are the entries of a targets YAML file's ``targets`` list (metric, value,
    target_year, baseline_year, value_max, threshold, set_id, each_child, kind, note,
    source_document) without ``scope``, which is ``code``. They are checked by
    ``targets.targets_from_yaml`` — the command line's validation, problems located as
    ``targets[2].value`` — and then against the store.
    """
    targets_state(store, code)
    edit = _Edit(store, actor=actor, action="targets.set", resource=f"units/{code}/targets",
                 tables=["targets"], scope=scope, request_id=request_id, source_document=source_document,
                 if_match=if_match, state=lambda conn: targets_state(store, code, conn=conn))
    edit.precheck()
    report = ValidationReport()
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            report.error(f"expected a mapping with metric and value, got {item!r}", column=f"targets[{i}]")
        elif "scope" in item:
            report.error(f"scope comes from the path ('{code}'); leave it out", column=f"targets[{i}].scope")
    report.raise_if_errors(f"targets of {code}")
    doc = {"scope": code, "targets": [dict(i) for i in items]}
    with tempfile.TemporaryDirectory(prefix="ntm-targets-") as tmp:
        path = Path(tmp) / "body"
        path.write_text(json.dumps(doc, ensure_ascii=False, default=str), encoding="utf-8")  # JSON is YAML
        parsed = targets.targets_from_yaml(path)
    summary = targets.record_targets(edit, parsed, source_document=source_document)
    return EditResult(edit.resource, summary["rows"], edit.after.etag, edit.after.rows, edit.audit_ids,
                      summary=summary)


# --- imports --------------------------------------------------------------------------


def _importer(kind: str, options: Mapping) -> tuple[Callable, list[str]]:
    from . import boundaries, infrastructure, plans, status_io

    if kind == "boundaries":
        return boundaries.import_boundaries, list(schema.ADMIN_TABLE.values())
    if kind == "infrastructure":
        layer = options.get("layer")
        spec = infrastructure.get_layer(layer)  # LookupError naming the layers
        return (lambda store, path, **kw: infrastructure.import_infrastructure(store, layer, path, **kw)), [spec.table]
    if kind == "status":
        return status_io.import_status, ["status_records"]
    if kind == "plans":
        return plans.import_plans, ["plans"]
    if kind == "recognitions":
        return recognitions.import_recognitions, ["recognitions"]
    if kind == "targets":
        return targets.import_targets, ["targets"]
    raise ValueError(f"kind: expected one of {', '.join(IMPORT_KINDS)}, got {kind!r}")


IMPORT_KINDS = ("boundaries", "infrastructure", "status", "plans", "recognitions", "targets")
_TAKES_RECORDED_BY = {"boundaries", "infrastructure", "status", "plans", "recognitions"}


def audited_import(store: Store, kind: str, path: str | Path, *, actor: str, layer: str | None = None,
                   scope: Iterable[str] | None = None, request_id: str | None = None,
                   source_document: str | None = None) -> Store:
    """The store as one import of ``kind`` sees it: pass it to the import function and its
    single transaction appends one audit entry per unit written (action ``import.<kind>``).

    The command line's imports and the upload API both write through it, so every change
    reaches ``/communes/{code}/history`` whichever way it came in.
    """
    path = Path(path)
    _, tables = _importer(kind, {"layer": layer})
    resource = f"imports/{kind}/{layer}/{path.name}" if layer else f"imports/{kind}/{path.name}"
    return _Edit(store, actor=actor, action=f"import.{kind}", resource=resource, tables=tables,
                 scope=scope, request_id=request_id, source_document=source_document or path.name)


def run_import(store: Store, kind: str, path: str | Path, *, actor: str,
               scope: Iterable[str] | None = None, request_id: str | None = None,
               source_document: str | None = None, **options) -> dict:
    """Run one of the command line's imports as an audited edit; returns its summary as JSON.

    The import validates exactly as ``ntm import <kind>`` does and writes in one
    transaction; before it commits, every unit it wrote is checked against ``scope`` and
    one audit entry per unit is appended (action ``import.<kind>``, resource
    ``imports/<kind>/<file name>``). ``options`` are the import function's keywords
    (``level``, ``layer``, ``year``, ``dry_run`` …).
    """
    path = Path(path)
    func, _ = _importer(kind, options)
    layer = options.get("layer") if kind == "infrastructure" else None  # boundaries: a layer in the file
    options = {k: v for k, v in options.items() if v is not None and not (layer and k == "layer")}
    if kind in _TAKES_RECORDED_BY:
        options["recorded_by"] = actor
    if source_document is not None:
        if kind in ("status", "targets"):
            options["source_document"] = source_document
        elif kind == "plans":
            options.setdefault("document", source_document)
    edit = audited_import(store, kind, path, actor=actor, layer=layer, scope=scope, request_id=request_id,
                          source_document=source_document)
    try:
        result = func(edit, path, **options)
    except TypeError as exc:
        raise ValueError(f"{kind} import: {exc}") from exc
    out = _summary(result)
    out |= {"kind": kind, "file": path.name, "audit_entries": len(edit.audit_ids),
            "units": len({e for e in (c.row.get(_UNIT_COLUMN[c.table]) for c in edit.changes)})}
    return out


def _summary(result) -> dict:
    """An import result (dataclass, dict) as JSON-ready data; frames become record lists."""
    if dataclasses.is_dataclass(result):
        result = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    out = {}
    for key, value in dict(result).items():
        if isinstance(value, pd.DataFrame):
            out[key + "_count"] = len(value)
            value = _rows(value.head(1000))
        elif isinstance(value, Path):
            value = value.name
        elif key == "source" and isinstance(value, str):
            value = Path(value).name
        elif isinstance(value, list):
            value = [p.as_dict() if hasattr(p, "as_dict") else p for p in value]
        out[key] = value
    return json.loads(json.dumps(out, default=str, ensure_ascii=False))

"""The audit log: every change, who made it, when, what it was before and after.

``audit_log`` is append-only (SQLite triggers refuse UPDATE and DELETE). Rows are written
inside the transaction of the change they describe, so a change and its audit entry are
committed together or not at all. ``before`` and ``after`` are JSON: the state of the
changed resource (a commune-year's criteria, a recognition, a target list, the rows an
import wrote).

``Capture`` records what a transaction changes in chosen tables through TEMP triggers on
its own connection: the layer functions that do the writing stay unaware of auditing,
and the capture sees exactly the rows they inserted, updated or deleted. TEMP objects
live outside the GeoPackage file and vanish with the connection.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from . import schema
from .store import Store, utc_now

__all__ = [
    "COLUMNS",
    "Change",
    "Capture",
    "record",
    "record_many",
    "entries",
    "history",
    "to_json",
]

log = logging.getLogger(__name__)

TABLE = "audit_log"
COLUMNS = ("at", "actor", "action", "resource", "unit_code", "before", "after", "source_document",
           "request_id")


def to_json(value) -> str | None:
    """JSON text for ``before`` / ``after`` (None stays NULL); dates and numpy values as text."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, default=_plain, separators=(",", ":"))


def _plain(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def record(
    store: Store,
    conn: sqlite3.Connection,
    *,
    actor: str,
    action: str,
    resource: str,
    unit_code: str | None = None,
    before=None,
    after=None,
    source_document: str | None = None,
    request_id: str | None = None,
) -> int:
    """Append one entry inside the caller's transaction; returns its id.

    Parameters
    ----------
    conn
        The connection of the transaction making the change (``Store.transaction``).
    actor
        Who: an API key's name, or ``cli:<user>``.
    action
        What kind of change, e.g. ``status.record``, ``recognition.revoke``, ``import.status``.
    resource
        What changed, as a path: ``communes/D01-03-002/status/2024/qd318-2022-xa-ntm``.
    unit_code
        The admin unit the change belongs to (its history lists it).
    before, after
        JSON-serialisable states.
    """
    if not actor or not str(actor).strip():
        raise ValueError("actor: expected who makes the change, got an empty value")
    return record_many(store, conn, [{
        "actor": actor, "action": action, "resource": resource, "unit_code": unit_code,
        "before": before, "after": after, "source_document": source_document, "request_id": request_id,
    }])[0]


def record_many(store: Store, conn: sqlite3.Connection, items: Sequence[dict]) -> list[int]:
    """Append several entries (same keys as ``record``) with one timestamp; returns their ids."""
    at = utc_now()
    ids = []
    sql = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    for item in items:
        row = {"at": at, "unit_code": None, "source_document": None, "request_id": None} | dict(item)
        row["before"], row["after"] = to_json(row.get("before")), to_json(row.get("after"))
        ids.append(conn.execute(sql, [row.get(c) for c in COLUMNS]).lastrowid)
    return ids


def entries(
    store: Store,
    *,
    unit_codes: Iterable[str] | None = None,
    resource: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict], int]:
    """Audit entries, newest first, with ``before``/``after`` decoded; and how many match.

    ``resource`` matches that resource and everything below it (``communes/X`` finds
    ``communes/X/status/2024/…``).
    """
    clauses, params = [], []
    if unit_codes is not None:
        clauses.append("unit_code IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(unit_codes)))
    if resource is not None:
        clauses.append("(resource = ? OR substr(resource, 1, ?) = ?)")
        params += [resource, len(resource) + 1, resource + "/"]
    if action is not None:
        clauses.append("action = ?")
        params.append(action)
    if actor is not None:
        clauses.append("actor = ?")
        params.append(actor)
    where = " AND ".join(clauses) or "1 = 1"
    total = store.count(TABLE, where, params)
    df = store.read_table(TABLE, f"{where} ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
                          [*params, int(limit), int(offset)], columns=["id", *COLUMNS])
    out = []
    for rec in df.astype(object).where(df.notna(), None).to_dict("records"):
        rec["id"] = int(rec["id"])
        for key in ("before", "after"):
            rec[key] = None if rec[key] is None else json.loads(rec[key])
        out.append(rec)
    return out, total


def history(store: Store, code: str, *, villages: bool = True, limit: int = 100,
            offset: int = 0) -> tuple[list[dict], int]:
    """The audit trail of a commune (and of its villages), newest first; and the total.

    See Also
    --------
    layers.status.status_history : every status record, including those loaded before
        the audit log existed.
    """
    codes = [code]
    if villages:
        df = store.read_table(schema.ADMIN_TABLE["village"], "parent_code = ?", [code], columns=["code"])
        codes += sorted(set(df["code"]))
    return entries(store, unit_codes=codes, limit=limit, offset=offset)


# --- capturing what a transaction changes ---------------------------------------------


@dataclass(frozen=True)
class Change:
    """One row inserted, updated or deleted (geometry left out)."""

    table: str
    op: str  # insert | update | delete
    old: dict | None
    new: dict | None

    @property
    def row(self) -> dict:
        return self.new if self.new is not None else self.old


class Capture:
    """Record the row changes a transaction makes to some tables (TEMP triggers).

    Create it on the transaction's connection before the writes, read ``changes()``
    after them (still inside the transaction) and ``close()`` it.
    """

    _LOG = "_ntm_capture"

    def __init__(self, store: Store, conn: sqlite3.Connection, tables: Iterable[str]):
        self.conn = conn
        self.tables = list(dict.fromkeys(tables))
        self._types: dict[str, dict[str, str]] = {}
        conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {self._LOG} "
                     "(seq INTEGER PRIMARY KEY, tbl TEXT, op TEXT, old TEXT, new TEXT)")
        for table in self.tables:
            types = {c: t for c, t in store.columns(table, conn).items() if c != "geom"}
            self._types[table] = types

            def obj(alias: str) -> str:
                return "json_object(" + ", ".join(f"'{c}', {alias}.\"{c}\"" for c in types) + ")"

            for op, when, old, new in (("insert", "INSERT", "NULL", obj("NEW")),
                                       ("update", "UPDATE", obj("OLD"), obj("NEW")),
                                       ("delete", "DELETE", obj("OLD"), "NULL")):
                conn.execute(
                    f'CREATE TEMP TRIGGER "{self._LOG}_{table}_{op}" AFTER {when} ON "{table}" BEGIN '
                    f"INSERT INTO {self._LOG} (tbl, op, old, new) VALUES ('{table}', '{op}', {old}, {new}); END"
                )

    def changes(self) -> list[Change]:
        rows = self.conn.execute(f"SELECT tbl, op, old, new FROM {self._LOG} ORDER BY seq").fetchall()
        return [Change(t, op, self._decode(t, old), self._decode(t, new)) for t, op, old, new in rows]

    def _decode(self, table: str, text: str | None) -> dict | None:
        if text is None:
            return None
        rec = json.loads(text)
        for col, sql_type in self._types[table].items():
            if sql_type == "BOOLEAN" and rec.get(col) is not None:
                rec[col] = bool(rec[col])
        return rec

    def close(self) -> None:
        for table in self.tables:
            for op in ("insert", "update", "delete"):
                self.conn.execute(f'DROP TRIGGER IF EXISTS "{self._LOG}_{table}_{op}"')
        self.conn.execute(f"DROP TABLE IF EXISTS {self._LOG}")

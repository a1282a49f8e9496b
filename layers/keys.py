"""API keys: who may read and write over HTTP, and in which provinces.

A key is shown once, when created, as ``ntm_<key_id>_<secret>``: ``key_id`` is 8 public
hex digits (listed by ``ntm keys list`` and written in logs, so people can tell keys
apart without seeing them) and ``secret`` is 32 random bytes (``secrets.token_urlsafe``).
The store keeps only ``sha256$<key_id>$<sha256 of the whole token>`` in
``api_keys.key_hash``; the UNIQUE index on that column finds a presented key in one
lookup.

Why SHA-256 and not a password hash (scrypt, argon2)? Those are slow on purpose, to make
guessing *low-entropy* passwords expensive. A 256-bit random secret cannot be guessed at
any speed, so slowness buys nothing, while every authenticated request would pay ~50 ms
of CPU on a 2-core server. This is how GitHub and Stripe store tokens. A stolen copy of
the store reveals no usable key.

Roles: ``viewer`` reads (when reads are not public), ``editor`` writes inside the
provinces listed in ``scopes`` (comma-separated province codes), ``admin`` writes
everywhere and manages keys. A unit is inside a scope when every province above it (in
any vintage of the admin tables) is one of the key's provinces.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import secrets
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from . import audit, schema
from ._errors import ValidationReport
from .store import Store, utc_now

__all__ = [
    "ROLES",
    "ApiKey",
    "OutOfScope",
    "create_key",
    "list_keys",
    "revoke_key",
    "verify_key",
    "hash_token",
    "unit_provinces",
    "check_scope",
]

log = logging.getLogger(__name__)

ROLES = ("viewer", "editor", "admin")
_TOKEN = re.compile(r"^ntm_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")
_NAME = re.compile(r"^[\w.@-]{1,64}$")
_TOUCH_EVERY = dt.timedelta(seconds=60)  # last_used_at resolution: at most one write a minute
_COLUMNS = ["id", "name", "key_hash", "role", "scopes", "created_at", "revoked_at", "last_used_at"]


class OutOfScope(PermissionError):
    """A write touches units outside the provinces of the key (HTTP 403)."""


@dataclass(frozen=True)
class ApiKey:
    """One row of ``api_keys``, without its hash."""

    id: int
    name: str
    key_id: str
    role: str
    scopes: tuple[str, ...]
    created_at: str
    revoked_at: str | None = None
    last_used_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def as_dict(self) -> dict:
        return {"name": self.name, "key_id": self.key_id, "role": self.role, "scopes": list(self.scopes),
                "created_at": self.created_at, "revoked_at": self.revoked_at,
                "last_used_at": self.last_used_at}


def hash_token(token: str) -> str:
    """The ``key_hash`` stored for a token; ValueError when it is not an NTM Atlas key."""
    m = _TOKEN.match(token or "")
    if m is None:
        raise ValueError("expected an NTM Atlas key 'ntm_<8 hex>_<43 characters>'")
    return f"sha256${m.group(1)}${hashlib.sha256(token.encode()).hexdigest()}"


def _key(row) -> ApiKey:
    rec = dict(zip(_COLUMNS, row))
    return ApiKey(id=int(rec["id"]), name=rec["name"], key_id=rec["key_hash"].split("$")[1],
                  role=rec["role"], scopes=tuple(s for s in (rec["scopes"] or "").split(",") if s),
                  created_at=rec["created_at"], revoked_at=rec["revoked_at"],
                  last_used_at=rec["last_used_at"])


def _select(conn: sqlite3.Connection, where: str, params=()) -> list[ApiKey]:
    sql = "SELECT " + ", ".join(_COLUMNS) + f" FROM api_keys WHERE {where} ORDER BY id"
    return [_key(r) for r in conn.execute(sql, params).fetchall()]


# --- managing keys --------------------------------------------------------------------


def create_key(
    store: Store,
    name: str,
    role: str,
    scopes: Iterable[str] = (),
    *,
    actor: str = "cli",
) -> tuple[ApiKey, str]:
    """Create a key; returns it and its token, which is never shown again.

    Parameters
    ----------
    name
        A unique label (letters, digits, ``.@_-``), e.g. ``so-nnptnt-laocai``.
    role
        ``viewer``, ``editor`` or ``admin``.
    scopes
        Province codes an editor may write in (at least one; they must be provinces of
        the store). Viewers and admins take none.
    actor
        Who creates the key, for the audit log.

    Raises
    ------
    ImportValidationError
        Naming every problem (bad name, role, unknown or missing province codes).
    """
    name = (name or "").strip()
    scopes = sorted({s.strip() for item in scopes for s in str(item).split(",") if s.strip()})
    report = ValidationReport()
    if not _NAME.match(name):
        report.error(f"expected 1-64 letters, digits or '.@_-', got {name!r}", column="name")
    if role not in ROLES:
        report.error(f"expected one of {', '.join(ROLES)}, got {role!r}", column="role")
    if role == "editor" and not scopes:
        report.error("an editor key needs at least one province code (--scope)", column="scopes")
    if role in ("viewer", "admin") and scopes:
        report.error(f"{'an' if role == 'admin' else 'a'} {role} key takes no provinces (viewers read everything, admins write "
                     f"everywhere), got {', '.join(scopes)}", column="scopes")
    if scopes:
        known = set(store.read_table("provinces", "code IN (SELECT value FROM json_each(?))",
                                     [json.dumps(scopes)], columns=["code"])["code"])
        for code in scopes:
            if code not in known:
                report.error(f"no province has code '{code}' in the store", column="scopes")
    if name and store.count("api_keys", "name = ?", [name]):
        report.error(f"a key named '{name}' exists already; revoke it or choose another name",
                     column="name")
    report.raise_if_errors("API key")
    token = f"ntm_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
    created = utc_now()
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO api_keys (name, key_hash, role, scopes, created_at) VALUES (?, ?, ?, ?, ?)",
            (name, hash_token(token), role, ",".join(scopes) or None, created),
        )
        key = _select(conn, "name = ?", [name])[0]
        audit.record(store, conn, actor=actor, action="key.create", resource=f"api_keys/{name}",
                     after=key.as_dict())
    log.info("API key '%s' (%s, %s) created by %s", name, key.key_id, role, actor)
    return key, token


def list_keys(store: Store, *, include_revoked: bool = True) -> list[ApiKey]:
    """Every key (oldest first), without hashes."""
    with contextlib.closing(store.connect()) as conn:
        return _select(conn, "1 = 1" if include_revoked else "revoked_at IS NULL")


def revoke_key(store: Store, name_or_id: str, *, actor: str = "cli") -> ApiKey:
    """Revoke a key by name or key id; it stops working at once.

    Raises
    ------
    LookupError
        No key has that name or id.
    ValueError
        The key is revoked already.
    """
    with store.transaction() as conn:
        found = _select(conn, "name = ? OR key_hash LIKE ?", [name_or_id, f"sha256${name_or_id}$%"])
        if not found:
            raise LookupError(f"no API key has name or id '{name_or_id}'; see 'ntm keys list'")
        if len(found) > 1:
            raise ValueError(f"'{name_or_id}' matches {len(found)} keys; give the name")
        before = found[0]
        if not before.active:
            raise ValueError(f"API key '{before.name}' was revoked already on {before.revoked_at}")
        conn.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", (utc_now(), before.id))
        after = _select(conn, "id = ?", [before.id])[0]
        audit.record(store, conn, actor=actor, action="key.revoke", resource=f"api_keys/{before.name}",
                     before=before.as_dict(), after=after.as_dict())
    log.info("API key '%s' revoked by %s", before.name, actor)
    return after


def verify_key(store: Store, token: str | None, *, touch: bool = True) -> ApiKey | None:
    """The active key a presented token belongs to, or None (malformed, unknown, revoked).

    ``touch`` records the use in ``last_used_at``, at most once a minute per key and
    outside any transaction that would bump the store revision (keys are not data).
    """
    try:
        wanted = hash_token(token or "")
    except ValueError:
        return None
    with contextlib.closing(store.connect()) as conn:
        row = conn.execute("SELECT " + ", ".join(_COLUMNS) + " FROM api_keys WHERE key_hash = ?",
                           (wanted,)).fetchone()
        if row is None or not hmac.compare_digest(row[2], wanted):
            return None
        key = _key(row)
        if not key.active:
            return None
        now = utc_now()
        stale = (dt.datetime.now(dt.timezone.utc) - _TOUCH_EVERY).strftime("%Y-%m-%dT%H:%M:%S")
        if touch and (key.last_used_at is None or key.last_used_at < stale):
            # never wait behind a long import for a hint: give up after 50 ms, try next time
            conn.execute("PRAGMA busy_timeout = 50")
            with contextlib.suppress(sqlite3.OperationalError):
                conn.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (now, key.id))
    return key


# --- scopes ---------------------------------------------------------------------------


def unit_provinces(
    store: Store, codes: Iterable[str], *, conn: sqlite3.Connection | None = None
) -> dict[str, frozenset[str]]:
    """Province codes above each unit (the unit itself for a province), over all vintages.

    The admin tables are walked upwards through ``parent_code`` in one recursive query; a
    unit whose parent changed between vintages (the 2025 reform moved communes under
    provinces) gets the provinces of every vintage. Unknown codes get an empty set. Pass
    ``conn`` inside a transaction to see units it has just written.
    """
    codes = [str(c) for c in codes]
    steps = "\n".join(
        f"  UNION SELECT up.start, t.parent_code, up.depth + 1 FROM up JOIN {table} AS t ON t.code = up.code"
        " WHERE t.parent_code IS NOT NULL AND up.depth < 4"
        for table in (schema.ADMIN_TABLE[level] for level in schema.ADMIN_LEVELS[1:])
    )
    sql = (f"WITH RECURSIVE up(start, code, depth) AS (\n  SELECT value, value, 0 FROM json_each(?)\n{steps})\n"
           "SELECT DISTINCT up.start, up.code FROM up JOIN provinces AS p ON p.code = up.code")
    if conn is None:
        with contextlib.closing(store.connect()) as own:
            rows = own.execute(sql, [json.dumps(codes)]).fetchall()
    else:
        rows = conn.execute(sql, [json.dumps(codes)]).fetchall()
    out: dict[str, set[str]] = {c: set() for c in codes}
    for start, province in rows:
        out[start].add(province)
    return {code: frozenset(p) for code, p in out.items()}


def check_scope(
    store: Store,
    scopes: Iterable[str] | None,
    codes: Iterable[str | None],
    *,
    conn: sqlite3.Connection | None = None,
    what: str = "unit",
    provinces: Mapping[str, frozenset[str]] | None = None,
) -> None:
    """Refuse (``OutOfScope``) when any unit lies outside the provinces ``scopes``.

    ``scopes`` None means unrestricted (admin, command line). A None code (a feature in no
    commune) is outside every province. ``provinces``: ``unit_provinces`` of the codes, if
    the caller has it already.
    """
    if scopes is None:
        return
    allowed = frozenset(scopes)
    codes = list(dict.fromkeys(codes))
    outside_any = [c for c in codes if c is None]
    known = [c for c in codes if c is not None]
    if provinces is None or not set(known) <= set(provinces):
        provinces = unit_provinces(store, known, conn=conn)
    provinces = {c: provinces[c] for c in known}
    bad = {c: p for c, p in provinces.items() if not p or not p <= allowed}
    if not bad and not outside_any:
        return
    parts = [f"{what} '{c}' (province {', '.join(sorted(p)) or 'unknown'})" for c, p in list(bad.items())[:10]]
    if len(bad) > 10:
        parts.append(f"… and {len(bad) - 10} more")
    if outside_any:
        parts.append("rows in no commune (only an admin key may write those)")
    raise OutOfScope(f"this key may write only in province(s) {', '.join(sorted(allowed)) or 'none'}; "
                     f"refused: {'; '.join(parts)}")

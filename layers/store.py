"""The embedded store: one GeoPackage file, opened only here.

Every write runs in one SQLite transaction (``Store.transaction``): an import or edit
that fails on any row leaves the file exactly as it was. Each committed transaction
bumps the store *revision*, which caches (maps, API) key on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _gpkg, schema
from ._errors import StoreError

log = logging.getLogger(__name__)

DEFAULT_STORE = Path("var") / "ntm.gpkg"
_BULK_ROWS = 2000  # from this many features, fill the spatial index in bulk
STORE_ENV = "NTM_STORE"


def default_store_path() -> Path:
    """The store named by ``NTM_STORE``, else ``var/ntm.gpkg`` under the working directory."""
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


def utc_now() -> str:
    """Timestamp used for recorded_at columns: ISO 8601, UTC, millisecond precision."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


class Store:
    """A GeoPackage holding every NTM Atlas table.

    Parameters
    ----------
    path
        The ``.gpkg`` file.
    create
        Create (and migrate) the file if it does not exist. Otherwise a missing file is
        a ``StoreError`` naming it.
    """

    def __init__(self, path: str | os.PathLike, *, create: bool = False):
        self.path = Path(path)
        self._columns: dict[str, dict[str, str]] = {}
        if not self.path.exists():
            if not create:
                raise StoreError(
                    f"store '{self.path}' does not exist; build the demo with "
                    "'ntm demo build' or create one with 'ntm store init'"
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._migrate(new=True)
        else:
            self._migrate(new=False)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # --- connections and transactions ------------------------------------------------

    def connect(self) -> sqlite3.Connection:
        """A new connection in autocommit mode, with the GeoPackage SQL functions."""
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        _gpkg.register_functions(conn)
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All-or-nothing write: commit on success, roll back on any exception."""
        conn = self.connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute(
                    "UPDATE ntm_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'"
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()

    def _migrate(self, *, new: bool) -> None:
        conn = self.connect()
        try:
            version = 0 if new else self._schema_version(conn)
            if version > schema.SCHEMA_VERSION:
                raise StoreError(
                    f"store '{self.path}' has schema version {version}, newer than this "
                    f"NTM Atlas ({schema.SCHEMA_VERSION}); upgrade the application"
                )
            if version == schema.SCHEMA_VERSION:
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                for target in range(version + 1, schema.SCHEMA_VERSION + 1):
                    for statement in _split_sql(schema.MIGRATIONS[target]):
                        conn.execute(statement)
                    log.info("store %s migrated to schema version %d", self.path, target)
                meta = {"schema_version": str(schema.SCHEMA_VERSION)}
                if version == 0:
                    meta |= {"revision": "0", "created_at": utc_now(), "label": ""}
                conn.executemany(
                    "INSERT OR REPLACE INTO ntm_meta (key, value) VALUES (?, ?)", meta.items()
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()

    def _schema_version(self, conn: sqlite3.Connection) -> int:
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            row = conn.execute("SELECT value FROM ntm_meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"'{self.path}' is not an NTM Atlas store: {exc}") from exc
        if app_id != _gpkg.APPLICATION_ID or row is None:
            raise StoreError(f"'{self.path}' is a SQLite file but not an NTM Atlas store")
        return int(row[0])

    # --- metadata --------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        with contextlib.closing(self.connect()) as conn:
            return dict(conn.execute("SELECT key, value FROM ntm_meta").fetchall())

    @property
    def revision(self) -> int:
        """Counter bumped by every committed write; caches key on it."""
        return int(self.meta()["revision"])

    def columns(self, table: str, conn: sqlite3.Connection | None = None) -> dict[str, str]:
        """Column name -> declared SQL type, in table order.

        Pass the transaction's connection when inside ``transaction``: a second
        connection would wait on the writer's lock.
        """
        if table not in self._columns:
            rows = self._fetch(f'PRAGMA table_info("{table}")', (), conn)
            if not rows:
                raise StoreError(f"table '{table}' does not exist in store '{self.path}'")
            self._columns[table] = {r[1]: r[2].upper() for r in rows}
        return dict(self._columns[table])

    def count(self, table: str, where: str | None = None, params: Sequence = (), *, conn=None) -> int:
        sql = f'SELECT count(*) FROM "{table}"' + (f" WHERE {where}" if where else "")
        return self._fetch(sql, params, conn)[0][0]

    # --- reads -----------------------------------------------------------------------

    def read_table(
        self,
        table: str,
        where: str | None = None,
        params: Sequence = (),
        *,
        columns: Sequence[str] | None = None,
        order_by: str | None = None,
        conn: sqlite3.Connection | None = None,
    ) -> pd.DataFrame:
        """Rows of a non-spatial table (or a feature table without its geometry)."""
        types = self.columns(table, conn)
        cols = [c for c in (columns or types) if c != "geom"]
        sql = "SELECT " + ", ".join(f'"{c}"' for c in cols) + f' FROM "{table}"'
        if where:
            sql += f" WHERE {where}"
        if order_by:
            sql += f" ORDER BY {order_by}"
        rows = self._fetch(sql, params, conn)
        df = pd.DataFrame.from_records(rows, columns=cols)
        return _typed(df, types)

    def read_features(
        self,
        table: str,
        where: str | None = None,
        params: Sequence = (),
        *,
        columns: Sequence[str] | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        order_by: str | None = None,
        conn: sqlite3.Connection | None = None,
    ) -> gpd.GeoDataFrame:
        """Features of a table as a GeoDataFrame in EPSG:4326, filtered in SQL.

        ``bbox`` (minx, miny, maxx, maxy) uses the RTree index.
        """
        types = self.columns(table, conn)
        cols = [c for c in (columns or types) if c != "geom"]
        if "fid" not in cols:
            cols = ["fid", *cols]
        clauses, args = [], list(params)
        if where:
            clauses.append(f"({where})")
        if bbox is not None:
            clauses.append(
                f'fid IN (SELECT id FROM "rtree_{table}_geom" '
                "WHERE maxx >= ? AND minx <= ? AND maxy >= ? AND miny <= ?)"
            )
            args += [bbox[0], bbox[2], bbox[1], bbox[3]]
        sql = "SELECT " + ", ".join(f'"{c}"' for c in cols) + f', geom FROM "{table}"'
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {order_by}" if order_by else " ORDER BY fid"
        rows = self._fetch(sql, args, conn)
        df = pd.DataFrame.from_records([r[:-1] for r in rows], columns=cols)
        geoms = _gpkg.blobs_to_geometries([r[-1] for r in rows])
        gdf = gpd.GeoDataFrame(_typed(df, types), geometry=geoms, crs="EPSG:4326")
        return gdf

    def _fetch(self, sql, params, conn):
        if conn is not None:
            return conn.execute(sql, params).fetchall()
        with contextlib.closing(self.connect()) as own:
            return own.execute(sql, params).fetchall()

    # --- writes (inside ``transaction``) ---------------------------------------------

    def insert_rows(
        self, conn: sqlite3.Connection, table: str, df: pd.DataFrame | Sequence[dict]
    ) -> int:
        """Append rows to a table; columns must exist in it. Returns the number written."""
        df = pd.DataFrame(df) if not isinstance(df, pd.DataFrame) else df
        if df.empty:
            return 0
        types = self.columns(table, conn)
        unknown = [c for c in df.columns if c not in types]
        if unknown:
            raise StoreError(f"table '{table}' has no column(s) {unknown}")
        cols = list(df.columns)
        values = [_to_sql_values(df[c]) for c in cols]
        sql = (
            f'INSERT INTO "{table}" (' + ", ".join(f'"{c}"' for c in cols) + ") VALUES ("
            + ", ".join("?" * len(cols)) + ")"
        )
        conn.executemany(sql, zip(*values))
        return len(df)

    def insert_features(self, conn: sqlite3.Connection, table: str, gdf: gpd.GeoDataFrame) -> int:
        """Append features; the frame must be in EPSG:4326 (the store's CRS)."""
        if gdf.empty:
            return 0
        if gdf.crs is None or gdf.crs.to_epsg() != 4326:
            raise StoreError(
                f"features for '{table}' must be in EPSG:4326 to be stored, got {gdf.crs}"
            )
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        df["geom"] = _gpkg.geometries_to_blobs(gdf.geometry.values)
        if len(df) < _BULK_ROWS:
            n = self.insert_rows(conn, table, df)
        else:
            n = self._insert_bulk(conn, table, df, gdf.geometry.values)
        self._update_extent(conn, table)
        return n

    def _insert_bulk(self, conn: sqlite3.Connection, table: str, df: pd.DataFrame, geoms) -> int:
        """Insert many features with the RTree filled from numpy bounds, not per-row triggers.

        The insert trigger calls Python SQL functions for every row; for large imports it
        is dropped and re-created inside the same transaction, so a failure restores it.
        """
        trigger = f"rtree_{table}_geom_insert"
        row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (trigger,)).fetchone()
        if row is None:
            return self.insert_rows(conn, table, df)
        last = conn.execute(f'SELECT ifnull(max(fid), 0) FROM "{table}"').fetchone()[0]
        conn.execute(f'DROP TRIGGER "{trigger}"')
        n = self.insert_rows(conn, table, df)
        fids = [r[0] for r in conn.execute(f'SELECT fid FROM "{table}" WHERE fid > ? ORDER BY fid', (last,))]
        bounds = shapely.bounds(np.asarray(geoms, dtype=object))
        ok = ~np.isnan(bounds).any(axis=1)
        conn.executemany(
            f'INSERT OR REPLACE INTO "rtree_{table}_geom" VALUES (?, ?, ?, ?, ?)',
            (
                (fid, b[0], b[2], b[1], b[3])
                for fid, b, keep in zip(fids, bounds.tolist(), ok.tolist())
                if keep
            ),
        )
        conn.execute(row[0])
        return n

    def delete_features(self, conn: sqlite3.Connection, table: str, where: str, params=()) -> int:
        cur = conn.execute(f'DELETE FROM "{table}" WHERE {where}', params)
        self._update_extent(conn, table)
        return cur.rowcount

    def _update_extent(self, conn: sqlite3.Connection, table: str) -> None:
        minx, maxx, miny, maxy = conn.execute(
            f'SELECT min(minx), max(maxx), min(miny), max(maxy) FROM "rtree_{table}_geom"'
        ).fetchone()
        conn.execute(
            "UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ?, "
            "last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE table_name = ?",
            (minx, miny, maxx, maxy, table),
        )

    def set_meta(self, conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute("INSERT OR REPLACE INTO ntm_meta (key, value) VALUES (?, ?)", (key, value))


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements, keeping trigger bodies whole."""
    statements, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip():
        raise StoreError(f"incomplete SQL statement in migration: {buf[:80]!r}")
    return statements


def _to_sql_values(series: pd.Series) -> list:
    """Python values sqlite3 accepts: NaN/NA -> None, numpy scalars -> Python scalars."""
    values = series.astype(object).where(series.notna(), None).tolist()
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def _typed(df: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """Give columns the pandas dtype their GeoPackage type implies."""
    for col in df.columns:
        sql_type = types.get(col, "")
        if sql_type == "BOOLEAN":
            df[col] = df[col].astype("boolean")
        elif sql_type == "INTEGER":
            df[col] = df[col].astype("Int64")
        elif sql_type in ("REAL", "DOUBLE", "FLOAT"):
            df[col] = df[col].astype("float64")
    return df

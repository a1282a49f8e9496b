"""Items queries of the OGC API: parse the parameters, then select one page of features.

Parameters are checked all before anything is read; each bad one is a 400 naming it.
Feature tables are queried in SQL: filters and vintages in the WHERE clause, the
GeoPackage RTree for ``bbox`` (envelopes inside the box are taken as they are; only
those crossing its edge are tested exactly with shapely), ORDER BY / LIMIT / OFFSET for
the page and a COUNT for ``numberMatched``. ``commune-status`` is a cached frame and is
filtered the same way with pandas.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
import threading
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.store import Store
from . import ogc_crs
from .errors import BadParameter
from .ogc_collections import RESERVED, Collection

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "ItemsQuery",
    "Page",
    "connection",
    "parse_items_query",
    "parse_properties",
    "select_table",
    "select_frame",
    "get_feature",
    "frame_feature",
]

DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000  # a larger limit is clamped to this (OGC API Features, /per/core/limit-response)
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


@dataclass(frozen=True)
class ItemsQuery:
    """A checked items request. ``bbox`` is lon/lat (CRS84); ``period`` is (start, end)
    ISO dates, either None for an open end; ``filters`` are typed values."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    period: tuple[str | None, str | None] | None = None
    filters: tuple[tuple[str, object], ...] = ()
    sortby: tuple[tuple[str, bool], ...] = ()
    properties: tuple[str, ...] | None = None
    crs: ogc_crs.OutputCrs = field(default_factory=lambda: ogc_crs.SUPPORTED[ogc_crs.CRS84])
    year: int | None = None
    set_id: str | None = None

    def key(self) -> tuple:
        """A hashable key for response caches."""
        return (self.limit, self.offset, self.bbox, self.period, self.filters, self.sortby,
                self.properties, self.crs.uri, self.year, self.set_id)


@dataclass
class Page:
    """One page of features: ids, property values (one tuple per feature, in the order
    of ``properties``), geometries (shapely, EPSG:4326) and the count of all matches."""

    fids: list[int]
    properties: list[str]
    rows: list[tuple]
    geometries: np.ndarray
    number_matched: int

    def __len__(self) -> int:
        return len(self.fids)


# --- connections -----------------------------------------------------------------------

_local = threading.local()


def connection(store: Store) -> sqlite3.Connection:
    """A read connection to the store kept open by the calling thread.

    Opening a connection costs about 2 ms (SQLite parses the schema of every table and
    trigger); reads of the web server's worker threads reuse theirs. Autocommit mode:
    every statement sees the latest committed write.
    """
    conns = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    key = str(store.path)
    if key not in conns:
        conns[key] = store.connect()
    return conns[key]


# --- parsing ---------------------------------------------------------------------------


def _single(params, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise BadParameter(name, f"'{name}' was given {len(values)} times; give it once")
    return values[0] if values else None


def _parse_bbox(text: str, bbox_crs: ogc_crs.OutputCrs) -> tuple[float, float, float, float]:
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (4, 6) or not all(math.isfinite(v) for v in values):
        raise BadParameter("bbox", "'bbox' must be 4 (or 6) comma-separated numbers "
                           f"'minx,miny,maxx,maxy' in the axis order of bbox-crs, got {text[:200]!r}")
    if len(values) == 6:  # lower-left and upper-right corners with heights
        values = [values[0], values[1], values[3], values[4]]
    a, b, c, d = values
    if a > c or b > d:
        raise BadParameter("bbox", f"'bbox' corners must be lower-left then upper-right, got {text[:200]!r} "
                           "(boxes crossing the antimeridian are not supported)")
    lon_lat = bbox_crs.is_crs84 or bbox_crs.epsg in (4326, 4756)
    if lon_lat:
        lats = (a, c) if bbox_crs.lat_first else (b, d)
        lons = (b, d) if bbox_crs.lat_first else (a, c)
        if not all(-90 <= v <= 90 for v in lats) or not all(-180 <= v <= 180 for v in lons):
            raise BadParameter("bbox", f"'bbox' latitudes must be within ±90 and longitudes ±180, got {text[:200]!r}")
    return ogc_crs.bbox_to_crs84((a, b, c, d), bbox_crs)


def _parse_date(text: str) -> str:
    text = text.strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text).isoformat()
        moment = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise BadParameter("datetime", "'datetime' must be an RFC 3339 date or date-time, an interval "
                           f"'start/end' or an open interval '../end', 'start/..', got {text[:100]!r}") from exc
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc)
    return moment.date().isoformat()


def _parse_period(text: str) -> tuple[str | None, str | None]:
    if "/" not in text:
        day = _parse_date(text)
        return day, day
    parts = text.split("/")
    if len(parts) != 2 or parts == ["..", ".."] or parts == ["", ""]:
        raise BadParameter("datetime", f"'datetime' interval must be 'start/end' with at most one open end, got {text[:100]!r}")
    start = None if parts[0] in ("", "..") else _parse_date(parts[0])
    end = None if parts[1] in ("", "..") else _parse_date(parts[1])
    if start and end and start > end:
        raise BadParameter("datetime", f"'datetime' interval starts after it ends: {text[:100]!r}")
    return start, end


def _parse_value(name: str, text: str, sql_type: str):
    sql_type = sql_type.upper()
    if sql_type == "BOOLEAN":
        low = text.strip().lower()
        if low in _TRUE | _FALSE:
            return low in _TRUE
        raise BadParameter(name, f"'{name}' is a boolean property: use true or false, got {text[:100]!r}")
    if sql_type == "INTEGER":
        try:
            value = int(text)
        except ValueError:
            raise BadParameter(name, f"'{name}' is an integer property, got {text[:100]!r}") from None
        if abs(value) >= 2**63:
            raise BadParameter(name, f"'{name}' is out of range, got {text[:100]!r}")
        return value
    if sql_type in ("REAL", "DOUBLE", "FLOAT"):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise BadParameter(name, f"'{name}' is a number property, got {text[:100]!r}")
        return value
    return text


def parse_properties(text: str | None, names: dict[str, str]) -> tuple[str, ...] | None:
    """The ``properties`` subset (None: all); unknown names are a 400 listing the known."""
    if text is None:
        return None
    wanted = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in wanted if p not in names]
    if unknown:
        raise BadParameter("properties", f"'properties' names unknown propert{'y' if len(unknown) == 1 else 'ies'} "
                           f"{', '.join(repr(u[:100]) for u in unknown)}; properties: {', '.join(names)}")
    return tuple(dict.fromkeys(wanted))


def _parse_sortby(text: str, names: dict[str, str]) -> tuple[tuple[str, bool], ...]:
    out = []
    for part in text.split(","):
        part = part.strip()  # a '+' sent unencoded arrives as a space
        if not part:
            continue
        ascending = not part.startswith("-")
        name = part.lstrip("+-").strip()
        if name not in names:
            raise BadParameter("sortby", f"'sortby' names unknown property {name[:100]!r}; "
                               f"sortable: {', '.join(names)}")
        out.append((name, ascending))
    if not out:
        raise BadParameter("sortby", "'sortby' must name properties, '+name' or '-name', comma-separated")
    return tuple(out)


def parse_items_query(coll: Collection, params, names: dict[str, str], *, limit: int | None,
                      offset: int | None, year: int | None = None) -> ItemsQuery:
    """Check an items request's query parameters against a collection.

    Parameters
    ----------
    coll
        The collection.
    params
        The request's query parameters (a multi-dict: repeated names are an error).
    names
        The collection's queryable properties (name -> SQL type).
    limit, offset, year
        Already parsed by FastAPI (integers); ``limit`` above ``MAX_LIMIT`` is clamped.
    """
    allowed = RESERVED | coll.extra_parameters()
    for name in params.keys():
        if name not in allowed and name not in names:
            raise BadParameter(name, f"unknown parameter '{name[:100]}' for collection '{coll.id}'; parameters: "
                               f"{', '.join(sorted(allowed))} and the queryable properties: {', '.join(names)}")
    for name in params.keys():
        _single(params, name)
    crs = ogc_crs.parse_crs(params["crs"], "crs") if "crs" in params else ogc_crs.SUPPORTED[ogc_crs.CRS84]
    bbox_crs = (ogc_crs.parse_crs(params["bbox-crs"], "bbox-crs") if "bbox-crs" in params
                else ogc_crs.SUPPORTED[ogc_crs.CRS84])
    if "bbox-crs" in params and "bbox" not in params:
        raise BadParameter("bbox-crs", "'bbox-crs' is given without 'bbox'")
    bbox = _parse_bbox(params["bbox"], bbox_crs) if "bbox" in params else None
    period = None
    if "datetime" in params:
        if not coll.temporal:
            raise BadParameter("datetime", f"collection '{coll.id}' has no temporal property; 'datetime' "
                               "applies to the administrative units (their vintages) and commune-status")
        period = _parse_period(params["datetime"])
    set_id = params.get("set") if coll.status else None
    if coll.status and period is not None:
        if period[0] is None or period[0] != period[1]:
            raise BadParameter("datetime", "'datetime' on commune-status must be one instant (its year is used)")
        from_datetime = int(period[0][:4])
        if year is not None and year != from_datetime:
            raise BadParameter("datetime", f"'datetime' ({period[0]}) and 'year' ({year}) disagree")
        year, period = from_datetime, None
    filters = tuple((name, _parse_value(name, params[name], names[name]))
                    for name in params.keys() if name in names and name not in allowed)
    sortby = _parse_sortby(params["sortby"], names) if "sortby" in params else ()
    props = parse_properties(params.get("properties"), names)
    limit = DEFAULT_LIMIT if limit is None else min(int(limit), MAX_LIMIT)
    return ItemsQuery(limit=limit, offset=int(offset or 0), bbox=bbox, period=period, filters=filters,
                      sortby=sortby, properties=props, crs=crs, year=year, set_id=set_id)


# --- selecting from a table ------------------------------------------------------------


def _bbox_fids(store: Store, table: str, bbox) -> list[int]:
    """Fids whose geometry intersects ``bbox``: RTree, then an exact test at the edges."""
    minx, miny, maxx, maxy = bbox
    sql = (f'SELECT id, minx, maxx, miny, maxy FROM "rtree_{table}_geom" '
           "WHERE maxx >= ? AND minx <= ? AND maxy >= ? AND miny <= ?")
    conn = connection(store)
    rows = conn.execute(sql, (minx, maxx, miny, maxy)).fetchall()
    if not rows:
        return []
    env = np.asarray(rows, dtype="float64")
    inside = (env[:, 1] >= minx) & (env[:, 2] <= maxx) & (env[:, 3] >= miny) & (env[:, 4] <= maxy)
    fids = env[:, 0].astype("int64")
    keep = fids[inside].tolist()
    edge = fids[~inside].tolist()
    if edge:
        raw = conn.execute(f'SELECT fid, geom FROM "{table}" WHERE fid IN (SELECT value FROM json_each(?))',
                           [json.dumps(edge)]).fetchall()
        geoms = shapely.from_wkb(np.array([_wkb(r[1]) for r in raw], dtype=object))
        hit = shapely.intersects(geoms, shapely.box(minx, miny, maxx, maxy))
        keep += [r[0] for r, h in zip(raw, hit.tolist()) if h]
    return keep


def _where(store: Store, coll: Collection, q: ItemsQuery) -> tuple[str, list]:
    clauses, params = [], []
    for name, value in q.filters:
        clauses.append(f'"{name}" = ?')
        params.append(int(value) if isinstance(value, bool) else value)
    if q.period is not None:
        start, end = q.period
        if end is not None:
            clauses.append("(valid_from IS NULL OR valid_from <= ?)")
            params.append(end)
        if start is not None:
            clauses.append("(valid_to IS NULL OR valid_to > ?)")
            params.append(start)
    if q.bbox is not None:
        clauses.append("fid IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(_bbox_fids(store, coll.table, q.bbox)))
    return " AND ".join(clauses) or "1", params


def _order(q: ItemsQuery) -> str:
    keys = [f'"{name}" {"ASC" if asc else "DESC"}' for name, asc in q.sortby]
    return ", ".join([*keys, "fid"])


# GeoPackage geometry blob (GeoPackage 1.4, clause 2.1.3): "GP", version, flags, srs_id,
# then an envelope whose size the flags' bits 1-3 give, then ISO WKB.
_ENVELOPE_BYTES = (0, 32, 48, 48, 64, 0, 0, 0)


def _wkb(blob: bytes | None) -> bytes | None:
    if blob is None:
        return None
    return blob[8 + _ENVELOPE_BYTES[(blob[3] >> 1) & 0b111]:]


def _rows_page(raw: list[tuple], props: list[str], names: dict[str, str], matched: int) -> Page:
    """Page from SQL rows (fid, *props, geom): booleans typed, geometries decoded."""
    booleans = [k for k, p in enumerate(props) if names.get(p, "").upper() == "BOOLEAN"]
    rows = []
    for r in raw:
        values = r[1:-1]
        if booleans:
            values = list(values)
            for k in booleans:
                if values[k] is not None:
                    values[k] = bool(values[k])
            values = tuple(values)
        rows.append(values)
    geoms = shapely.from_wkb(np.array([_wkb(r[-1]) for r in raw], dtype=object))
    return Page([r[0] for r in raw], props, rows, geoms, matched)


def _select(props: list[str]) -> str:
    return "SELECT " + ", ".join(["fid", *(f'"{p}"' for p in props), "geom"])


def select_table(store: Store, coll: Collection, q: ItemsQuery, names: dict[str, str]) -> Page:
    """One page of a feature table and the number of features matching the query.

    Read with plain SQL on the thread's connection (no DataFrame per page): the page's
    fids come from ORDER BY / LIMIT / OFFSET over the filtered table.
    """
    props = list(q.properties) if q.properties is not None else list(names)
    where, params = _where(store, coll, q)
    conn = connection(store)
    matched = store.count(coll.table, where, params, conn=conn)
    raw = []
    if q.offset < matched:
        sql = (f'{_select(props)} FROM "{coll.table}" WHERE {where} ORDER BY {_order(q)} LIMIT ? OFFSET ?')
        raw = conn.execute(sql, [*params, q.limit, q.offset]).fetchall()
    return _rows_page(raw, props, names, matched)


def get_feature(store: Store, coll: Collection, fid: int, props: list[str], names: dict[str, str]) -> Page:
    """The feature with this fid (an empty page when there is none)."""
    raw = connection(store).execute(f'{_select(props)} FROM "{coll.table}" WHERE fid = ?', [fid]).fetchall()
    return _rows_page(raw, props, names, len(raw))


# --- selecting from a frame (commune-status) -------------------------------------------


def select_frame(frame: gpd.GeoDataFrame, q: ItemsQuery, names: dict[str, str]) -> Page:
    """One page of an in-memory collection, with the same semantics as ``select_table``."""
    props = list(q.properties) if q.properties is not None else list(names)
    mask = np.ones(len(frame), dtype=bool)
    for name, value in q.filters:
        if name not in frame.columns:  # a criterion the year's set does not have
            raise BadParameter(name, f"'{name}' is not a property of this year's criteria set "
                               f"({frame['set_id'].iloc[0] if len(frame) else '-'})")
        mask &= frame[name].eq(value).fillna(False).to_numpy(dtype=bool)
    if q.bbox is not None:
        mask &= shapely.intersects(frame.geometry.values, shapely.box(*q.bbox))
    sel = frame[mask]
    if q.sortby:
        missing = [n for n, _ in q.sortby if n not in sel.columns]
        if missing:
            raise BadParameter("sortby", f"'sortby' names {missing[0]!r}, not a property of this year's set")
        sel = sel.sort_values([n for n, _ in q.sortby] + ["fid"],
                              ascending=[a for _, a in q.sortby] + [True], kind="stable", na_position="first")
    page = sel.iloc[q.offset:q.offset + q.limit]
    return _frame_page(page, props, int(mask.sum()))


def _frame_page(df: gpd.GeoDataFrame, props: list[str], matched: int) -> Page:
    present = [p for p in props if p in df.columns]
    columns = [python_values(df[p]) for p in present]
    rows = list(zip(*columns)) if columns else [()] * len(df)
    return Page(df["fid"].astype("int64").tolist(), present, rows, np.asarray(df.geometry.values, dtype=object),
                matched)


def frame_feature(frame: gpd.GeoDataFrame, fid: int, props: list[str]) -> Page:
    """The row of a frame with this fid (an empty page when there is none)."""
    row = frame[frame["fid"] == fid]
    return _frame_page(row, props, len(row))


def python_values(series: pd.Series) -> list:
    """Column values as JSON-ready Python objects (missing values -> None)."""
    return series.astype(object).where(series.notna(), None).tolist()

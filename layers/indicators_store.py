"""Computed indicators in the store: written per unit and year with their parameters.

Indicators (road km, facility counts, zonal and travel-time statistics) are derived data:
they are recomputed whenever the inputs change. Each row keeps the parameters that
produced it (canonical JSON), so a figure can say "within 1 km of the grid" and two runs
with different speeds can sit side by side. Recomputing the same name, year and
parameters for a unit replaces its previous value, in one transaction.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import admin_units, schema
from ._errors import ValidationReport
from .store import Store, utc_now

__all__ = [
    "INDICATOR_COLUMNS",
    "canonical_params",
    "write_indicators",
    "read_indicators",
    "indicator_frame",
    "indicator_names",
]

INDICATOR_COLUMNS = ("unit_code", "unit_level", "name", "value", "unit", "params")


def canonical_params(params: Mapping | str | None) -> str:
    """The JSON text stored for a parameter set: sorted keys, no spaces, so equal sets match.

    Examples
    --------
    >>> canonical_params({"b": 1, "a": [1, 2]})
    '{"a":[1,2],"b":1}'
    """
    if params is None:
        return "{}"
    if isinstance(params, str):
        params = json.loads(params)
    return json.dumps(_plain(params), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _plain(value):
    """numpy scalars and tuples -> JSON-ready Python values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _check(frame: pd.DataFrame, year) -> ValidationReport:
    report = ValidationReport()
    if isinstance(year, bool) or not isinstance(year, (int, np.integer)):
        report.error(f"'year' must be an integer, got {year!r}", column="year")
    missing = [c for c in ("unit_code", "unit_level", "name", "value") if c not in frame.columns]
    if missing:
        report.error(f"indicator frame lacks column(s) {missing}; expected {list(INDICATOR_COLUMNS)}")
        return report
    bad_level = ~frame["unit_level"].isin(schema.ADMIN_LEVELS)
    for k in np.flatnonzero(bad_level.to_numpy())[:5]:
        report.error(f"unit_level must be one of {list(schema.ADMIN_LEVELS)}, got "
                     f"{frame['unit_level'].iloc[k]!r}", row=int(k), column="unit_level")
    blank = frame["name"].isna() | (frame["name"].astype(str).str.strip() == "")
    blank |= frame["unit_code"].isna()
    for k in np.flatnonzero(blank.to_numpy())[:5]:
        report.error("indicator name and unit_code must not be empty", row=int(k))
    values = pd.to_numeric(frame["value"], errors="coerce")
    bad_value = frame["value"].notna() & (values.isna() | np.isinf(values.astype(float)))
    for k in np.flatnonzero(bad_value.to_numpy())[:5]:
        report.error(f"value must be a finite number or empty, got {frame['value'].iloc[k]!r}",
                     row=int(k), column="value", feature=str(frame["name"].iloc[k]))
    return report


def write_indicators(
    store: Store,
    frame: pd.DataFrame,
    *,
    year: int,
    params: Mapping | str | None = None,
    run_id: str | None = None,
    conn: sqlite3.Connection | None = None,
) -> int:
    """Store indicator values for one year, replacing earlier values of the same parameters.

    Parameters
    ----------
    frame
        Columns ``unit_code``, ``unit_level``, ``name``, ``value`` and optionally ``unit``
        (what the value measures in: km, count, share …) and ``params`` (per-row JSON
        text or dict, overriding ``params``).
    year
        The year the values describe (units valid at its end, infrastructure as stored).
    params
        The parameters used, stored as canonical JSON with every row that has none.
    run_id
        Identifies this computation (default: a new random id).
    conn
        Write inside a caller's transaction; otherwise one of its own.

    Returns
    -------
    int
        Rows written. Rows with the same unit, name, year and parameters are deleted
        first, in the same transaction, so a recomputation never doubles values.

    Raises
    ------
    ImportValidationError
        A row has an unknown unit level, an empty name or code, or a non-finite value;
        nothing is written.
    """
    frame = pd.DataFrame(frame).reset_index(drop=True)
    report = _check(frame, year)
    report.raise_if_errors("indicators")
    if frame.empty:
        return 0
    default = canonical_params(params)
    if "params" in frame.columns:
        per_row = [default if p is None or (isinstance(p, float) and math.isnan(p)) else canonical_params(p)
                   for p in frame["params"]]
    else:
        per_row = [default] * len(frame)
    rows = pd.DataFrame({
        "unit_code": frame["unit_code"].astype(str),
        "unit_level": frame["unit_level"].astype(str),
        "year": int(year),
        "name": frame["name"].astype(str),
        "value": pd.to_numeric(frame["value"], errors="coerce").astype(float),
        "unit": frame["unit"] if "unit" in frame.columns else None,
        "params": per_row,
        "computed_at": utc_now(),
        "run_id": run_id or uuid.uuid4().hex,
    })
    rows = rows.drop_duplicates(["unit_code", "name", "params"], keep="last")
    if conn is not None:
        return _replace(store, conn, rows, int(year))
    with store.transaction() as own:
        return _replace(store, own, rows, int(year))


def _replace(store: Store, conn: sqlite3.Connection, rows: pd.DataFrame, year: int) -> int:
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS _indicator_keys (name TEXT, params TEXT, unit_code TEXT)")
    conn.execute("DELETE FROM _indicator_keys")
    conn.executemany("INSERT INTO _indicator_keys VALUES (?, ?, ?)",
                     rows[["name", "params", "unit_code"]].itertuples(index=False, name=None))
    conn.execute("CREATE INDEX IF NOT EXISTS temp._indicator_keys_i ON _indicator_keys (name, params, unit_code)")
    conn.execute(
        "DELETE FROM indicators WHERE year = ? AND EXISTS (SELECT 1 FROM _indicator_keys k "
        "WHERE k.name = indicators.name AND k.params = indicators.params AND k.unit_code = indicators.unit_code)",
        (year,),
    )
    conn.execute("DROP TABLE _indicator_keys")
    return store.insert_rows(conn, "indicators", rows)


def _scope_codes(store: Store, scope: str | None, year: int | None, levels: Iterable[str]) -> set[str]:
    on = admin_units.year_end(year) if year is not None else None
    codes: set[str] = set()
    for level in levels:
        codes.update(admin_units.units_in_scope(store, scope, level, on=on)["code"])
    if scope is not None and not codes:
        raise LookupError(f"'scope' {scope!r} is not a unit of the store (or holds no units"
                          f"{'' if year is None else f' valid in {year}'})")
    return codes


def read_indicators(
    store: Store,
    *,
    year: int | None = None,
    names: Sequence[str] | str | None = None,
    scope: str | None = None,
    unit_level: str | None = None,
    params: Mapping | str | None = None,
    latest: bool = True,
) -> pd.DataFrame:
    """Stored indicator rows, filtered; by default only the latest value per unit and name.

    ``names`` may end in ``*`` to take a family (``road_km.*``). ``scope`` keeps the units
    inside a province or district (or the unit itself). ``params`` keeps one parameter
    set; without it, ``latest`` keeps the most recently computed value whatever its
    parameters.
    """
    where, args = [], []
    if year is not None:
        where.append("year = ?")
        args.append(int(year))
    if isinstance(names, str):
        names = [names]
    if names:
        parts = []
        for n in names:
            if n.endswith("*"):
                parts.append("name LIKE ? ESCAPE '\\'")
                args.append(n[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
            else:
                parts.append("name = ?")
                args.append(n)
        where.append("(" + " OR ".join(parts) + ")")
    if unit_level is not None:
        if unit_level not in schema.ADMIN_LEVELS:
            raise ValueError(f"'unit_level' must be one of {list(schema.ADMIN_LEVELS)}, got {unit_level!r}")
        where.append("unit_level = ?")
        args.append(unit_level)
    if params is not None:
        where.append("params = ?")
        args.append(canonical_params(params))
    df = store.read_table("indicators", " AND ".join(where) or None, args, order_by="id")
    if scope is not None:
        levels = [unit_level] if unit_level else ("commune", "village")
        df = df[df["unit_code"].isin(_scope_codes(store, scope, year, levels))]
    if latest and not df.empty:
        df = df.drop_duplicates(["unit_code", "year", "name"], keep="last")
    return df.reset_index(drop=True)


def indicator_frame(store: Store, name: str, year: int, scope: str | None = None) -> pd.Series:
    """unit_code -> value of one indicator in one year: what a map mode colours by.

    The latest computation wins when several parameter sets were stored.

    Raises
    ------
    LookupError
        No value of ``name`` is stored for ``year``: compute it first
        (``ntm analyse indicators``).

    Examples
    --------
    >>> indicator_frame(store, "road_density_km_per_km2", 2024, "D01")  # doctest: +SKIP
    unit_code
    D01-01-001    3.21
    ...
    """
    df = read_indicators(store, year=year, names=[name], scope=scope)
    if df.empty:
        known = indicator_names(store, year)
        hint = f"; stored for {year}: {', '.join(known[:12])}{' …' if len(known) > 12 else ''}" if known else \
            f"; nothing is stored for {year}: run 'ntm analyse indicators --year {year}'"
        raise LookupError(f"indicator {name!r} has no value for year {year}"
                          f"{'' if scope is None else f' in {scope!r}'}{hint}")
    return df.set_index("unit_code")["value"].rename(name)


def indicator_names(store: Store, year: int | None = None) -> list[str]:
    """Names of the indicators stored (for a year), sorted."""
    sql = "SELECT DISTINCT name FROM indicators" + (" WHERE year = ?" if year is not None else "")
    with contextlib.closing(store.connect()) as conn:
        rows = conn.execute(sql, [int(year)] if year is not None else []).fetchall()
    return sorted(r[0] for r in rows)

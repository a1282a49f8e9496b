"""The ``commune-status`` collection: communes with one year's criteria status as properties.

Planners and desktop GIS want "which communes met criterion 2 in 2024" as a layer they
can filter and style. Each feature is a commune valid at the end of the year with the
count of criteria met, one boolean per criterion of the set (null: no data) and its
highest standing recognition. The frame is built from ``layers.status`` and
``layers.recognitions`` and cached per store revision by the routes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools

import geopandas as gpd
import pandas as pd

from layers import admin_units, criteria, recognitions, status
from layers.store import Store
from .errors import BadParameter

__all__ = [
    "STATUS_ID",
    "criterion_numbers",
    "default_year",
    "property_types",
    "resolve_set",
    "status_frame",
    "status_years",
]

STATUS_ID = "commune-status"

_BASE_TYPES = {
    "code": "TEXT",
    "name": "TEXT",
    "full_name": "TEXT",
    "unit_type": "TEXT",
    "district": "TEXT",
    "district_name": "TEXT",
    "province": "TEXT",
    "year": "INTEGER",
    "set_id": "TEXT",
    "criteria_met": "INTEGER",
    "criteria_assessed": "INTEGER",
    "criteria_total": "INTEGER",
}
_TAIL_TYPES = {"level": "TEXT", "recognised_year": "INTEGER"}


@functools.cache
def _sets() -> dict[str, criteria.CriteriaSet]:
    return criteria.available_sets()


def criterion_numbers(cset: criteria.CriteriaSet | None) -> list[int]:
    """Criterion numbers of a set, or of every shipped commune set (None)."""
    if cset is not None:
        return list(cset.numbers)
    return sorted({n for s in _sets().values() if s.unit_level == "commune" for n in s.numbers})


def property_types(cset: criteria.CriteriaSet | None) -> dict[str, str]:
    """Property name -> SQL type, in output order (``year`` and ``set_id`` are properties
    but set by parameters, so they are not filters)."""
    crit = {f"criterion_{n}": "BOOLEAN" for n in criterion_numbers(cset)}
    return _BASE_TYPES | crit | _TAIL_TYPES


def status_years(store: Store) -> list[int]:
    """Assessment years with criterion-level status records, ascending."""
    with contextlib.closing(store.connect()) as conn:
        rows = conn.execute(
            "SELECT DISTINCT year FROM status_records WHERE indicator IS NULL ORDER BY year").fetchall()
    return [int(r[0]) for r in rows]


def default_year(store: Store) -> int:
    """The latest year with status, else the current year."""
    years = status_years(store)
    return years[-1] if years else dt.date.today().year


def resolve_set(year: int, set_id: str | None) -> criteria.CriteriaSet:
    """The set named by ``set`` (a commune set) or the national set in force in ``year``."""
    if set_id is None:
        try:
            return criteria.set_for_year(year)
        except ValueError as exc:  # CriteriaError
            raise BadParameter("year", str(exc)) from exc
    sets = _sets()
    if set_id not in sets or sets[set_id].unit_level != "commune":
        known = [k for k, s in sets.items() if s.unit_level == "commune"]
        raise BadParameter("set", f"'set' must be a commune criteria set ({', '.join(known)}), got {set_id[:100]!r}")
    return sets[set_id]


def status_frame(store: Store, year: int, cset: criteria.CriteriaSet) -> gpd.GeoDataFrame:
    """Communes valid at the end of ``year`` with their status in ``cset`` (EPSG:4326).

    Columns: fid, the properties of ``property_types(cset)`` and geometry; ordered by fid.
    """
    end = admin_units.year_end(year)
    where, params = admin_units.valid_on_sql(end)
    communes = store.read_features("communes", where, params,
                                   columns=["code", "name", "full_name", "unit_type", "parent_code"])
    districts = admin_units.units_table(store, "district", on=end)
    provinces = admin_units.units_table(store, "province", on=end)
    district_name = dict(zip(districts["code"], districts["name"]))
    district_parent = dict(zip(districts["code"], districts["parent_code"]))
    province_codes = set(provinces["code"])

    parent = communes["parent_code"]
    is_district = parent.isin(district_name.keys())
    out = communes[["fid", "code", "name", "full_name", "unit_type"]].copy()
    out["district"] = parent.where(is_district, None)
    out["district_name"] = parent.map(district_name).where(is_district, None)
    out["province"] = [district_parent.get(p) if d else (p if p in province_codes else None)
                       for p, d in zip(parent, is_district)]
    out["year"] = pd.array([year] * len(out), dtype="Int64")
    out["set_id"] = cset.id

    summary = status.criteria_summary(store, year, cset.id).set_index("unit_code")
    met = out["code"].map(summary["met"])
    unmet = out["code"].map(summary["unmet"])
    out["criteria_met"] = pd.array(out["code"].map(summary["n_met"]).fillna(0), dtype="Int64")
    out["criteria_assessed"] = pd.array(out["code"].map(summary["n_assessed"]).fillna(0), dtype="Int64")
    out["criteria_total"] = pd.array([len(cset)] * len(out), dtype="Int64")
    for n in cset.numbers:
        values = [True if isinstance(m, list) and n in m else False if isinstance(u, list) and n in u else None
                  for m, u in zip(met, unmet)]
        out[f"criterion_{n}"] = pd.array(values, dtype="boolean")

    rec = recognitions.recognition_status(store, year, unit_level="commune").set_index("unit_code")
    out["level"] = out["code"].map(rec["level"]).astype(object)
    out["level"] = out["level"].where(out["level"].notna(), None)
    out["recognised_year"] = pd.array(out["code"].map(rec["recognised_year"]), dtype="Int64")
    frame = gpd.GeoDataFrame(out, geometry=communes.geometry.values, crs=communes.crs)
    return frame.sort_values("fid").reset_index(drop=True)

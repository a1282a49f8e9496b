"""Boundary changes between vintages: mergers, renames and the crosswalk old -> new.

Status belongs to the unit that existed in its year, so when communes merge (the
2019–2021 and 2023–2025 programmes, the 2025 reform) the old units are closed
(valid_to) and the new ones opened (valid_from) on the act's effective date, and the
``crosswalk`` table records which old unit went into which new one, with area shares.

Two ways in:
- ``apply_changes``: a YAML file transcribing the legal act (merge A + B + C -> D; rename
  or change of type). New geometries are dissolved from the old ones.
- ``crosswalk_by_overlay``: both vintages' boundaries are already imported (e.g. a split,
  or the 2025 reform); shares come from intersecting them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml

from geo import crs as gcrs
from geo import topology
from geo.text import mojibake_reason, nfc, slugify
from . import admin_units, schema
from ._errors import ValidationReport
from .store import Store, utc_now

__all__ = ["Change", "ChangeSet", "changes_from_yaml", "apply_changes", "crosswalk_by_overlay"]


@dataclass
class Change:
    """One line of an act: these old units (codes or names) become this new unit."""

    old_codes: list[str]
    code: str
    name: str
    unit_type: str
    parent_code: str | None = None
    note: str | None = None


@dataclass
class ChangeSet:
    legal_act: str
    effective_date: dt.date
    level: str
    changes: list[Change] = field(default_factory=list)
    source: str | None = None
    within: str | None = None  # parent unit (code or name) in which old names are looked up


def changes_from_yaml(path: str | Path) -> ChangeSet:
    """Read an act transcribed as YAML; every problem is reported with its key path.

    Format::

        legal_act: NQ 896/NQ-UBTVQH14
        effective_date: 2020-02-11
        level: commune
        within: Huyện Si Ma Cai            # where the names below are looked up
        changes:
          - from: [Quan Thần Sán, Cán Hồ, Mản Thẩn]   # names (or codes) of the old units
            into: {code: "…", name: Quan Hồ Thẩn, unit_type: xa}
    """
    path = Path(path)
    report = ValidationReport()
    fname = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the changes file: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping with legal_act, effective_date, level, changes")
    for key in ("legal_act", "effective_date", "level", "changes"):
        if key not in data:
            report.error(f"missing '{key}'", file=fname, column=key)
    report.raise_if_errors(f"changes file {fname}")
    eff = data["effective_date"]
    if not isinstance(eff, dt.date):
        try:
            eff = dt.date.fromisoformat(str(eff))
        except ValueError:
            report.error(f"effective_date must be YYYY-MM-DD, got {eff!r}", file=fname, column="effective_date")
    level = data["level"]
    if level not in schema.ADMIN_LEVELS:
        report.error(f"level must be one of {schema.ADMIN_LEVELS}, got {level!r}", file=fname, column="level")
    types = admin_units.vocabulary()["unit_types"]
    changes = []
    for k, item in enumerate(data["changes"] or []):
        where = f"changes[{k}]"
        if not isinstance(item, dict) or "from" not in item or "into" not in item:
            report.error("each change needs 'from' (old codes) and 'into' (the new unit)", file=fname, column=where)
            continue
        olds = item["from"] if isinstance(item["from"], list) else [item["from"]]
        into = item["into"] or {}
        for key in ("code", "name", "unit_type"):
            if not into.get(key):
                report.error(f"missing '{key}'", file=fname, column=f"{where}.into.{key}")
        name = nfc(str(into.get("name", "")))
        if mojibake_reason(name):
            report.error(f"name {name!r} {mojibake_reason(name)}", file=fname, column=f"{where}.into.name")
        unit_type = into.get("unit_type")
        if unit_type and types.get(unit_type, {}).get("level") != level:
            report.error(f"unit_type {unit_type!r} is not a {level} type", file=fname, column=f"{where}.into.unit_type")
        changes.append(
            Change(
                old_codes=[str(c) for c in olds],
                code=str(into.get("code")),
                name=name,
                unit_type=unit_type,
                parent_code=None if into.get("parent_code") is None else str(into["parent_code"]),
                note=item.get("note"),
            )
        )
    seen: dict[str, int] = {}
    for k, ch in enumerate(changes):
        for code in ch.old_codes:
            if code in seen:
                report.error(f"old unit {code!r} also appears in changes[{seen[code]}]", file=fname, column=f"changes[{k}].from")
            seen.setdefault(code, k)
    report.raise_if_errors(f"changes file {fname}")
    within = data.get("within")
    return ChangeSet(
        str(data["legal_act"]), eff, level, changes, source=str(path),
        within=None if within is None else str(within),
    )


def apply_changes(
    store: Store,
    changes: ChangeSet | str | Path,
    *,
    sliver_km2: float = 1.0,
    dry_run: bool = False,
) -> pd.DataFrame:
    """Close the old units, open the new ones and record the crosswalk, in one transaction.

    New geometries are the union of their old units, with sliver holes (below
    ``sliver_km2``) removed. Attributes that are not given (region, threshold region,
    commune group, extremely-difficult flag) are taken from the largest old unit.
    Villages of merged communes continue under the new commune (same code, new vintage).
    ``new_share`` apportions the new unit among its old units by their areas (summing to
    1 even where the source polygons overlap a little).

    A merged commune formed only of recognised communes is acknowledged with the latest
    recognition year among them (CV 3372/BNN-VPĐP); otherwise it must be reviewed again.
    ``result.attrs["recognitions"]`` says which, per merged commune.

    Returns the crosswalk rows written (or that would be written for a dry run).
    """
    cs = changes if isinstance(changes, ChangeSet) else changes_from_yaml(changes)
    table = schema.ADMIN_TABLE[cs.level]
    eff = cs.effective_date.isoformat()
    before = (cs.effective_date - dt.timedelta(days=1)).isoformat()
    report = ValidationReport()
    fname = Path(cs.source).name if cs.source else cs.legal_act
    current = admin_units.units_table(store, cs.level, on=before, geometry=True).set_index("code")
    matcher = admin_units.UnitMatcher(store, cs.level, on=before)
    rows, new_units, closing = [], [], []
    for k, ch in enumerate(cs.changes):
        resolved, missing = [], []
        for entry in ch.old_codes:
            code = matcher.by_code(entry)
            reason = None
            if code is None:
                code, reason = matcher.by_name(entry, parent=cs.within)
            if code is None:
                missing.append(entry)
                report.error(
                    f"old unit {entry!r}: {reason} (valid on {before})", file=fname, column=f"changes[{k}].from"
                )
            resolved.append(code)
        ch.old_codes = [c for c in resolved if c]
        if store.count(table, "code = ? AND ifnull(valid_from, '') = ?", [ch.code, eff]):
            report.error(f"new unit {ch.code!r} already exists from {eff}", file=fname, column=f"changes[{k}].into.code")
        if missing:
            continue
        olds = current.loc[ch.old_codes]
        parents = set(olds["parent_code"].dropna())
        parent = ch.parent_code or (parents.pop() if len(parents) == 1 else None)
        if parent is None and cs.level != "province":
            report.error(
                f"old units lie in several parents ({sorted(set(olds['parent_code'].dropna()))}); "
                "give into.parent_code", file=fname, column=f"changes[{k}].into",
            )
            continue
        closed = olds["valid_to"].notna() & (olds["valid_to"] != eff)
        for code in olds.index[closed]:
            report.error(f"old unit {code!r} already ends on {olds.loc[code, 'valid_to']}", file=fname, column=f"changes[{k}].from")
        merged = topology.remove_small_holes(
            shapely.union_all(olds.geometry.values), sliver_km2, area_km2=gcrs.area_km2
        )
        parts = len(merged.geoms)
        if parts > 1:
            report.warn(f"new unit {ch.name!r} is in {parts} separate parts", file=fname, column=f"changes[{k}]")
        areas = gcrs.area_km2(olds.geometry.values)
        largest = olds.iloc[int(np.argmax(areas))]
        total = float(areas.sum())  # overlaps between the old units count once per unit
        unit = {
            "code": ch.code,
            "name": ch.name,
            "full_name": f"{admin_units.vocabulary()['unit_types'][ch.unit_type]['prefix'][0]} {ch.name}",
            "slug": slugify(ch.name),
            "unit_type": ch.unit_type,
            "parent_code": parent,
            "valid_from": eff,
            "source": f"{cs.legal_act}: " + " + ".join(olds["name"]),
            "area_km2": round(float(gcrs.area_km2([merged])[0]), 4),
        }
        for col in ("region", "threshold_region", "commune_group", "extremely_difficult"):
            if col in largest.index:
                unit[col] = largest[col]
        new_units.append((unit, merged))
        closing += ch.old_codes
        for code, area in zip(ch.old_codes, areas):
            rows.append(
                {
                    "level": cs.level,
                    "old_code": code,
                    "new_code": ch.code,
                    "old_share": 1.0,
                    "new_share": round(float(area / total), 6) if total else None,
                    "effective_date": eff,
                    "legal_act": cs.legal_act,
                    "note": ch.note,
                }
            )
    report.raise_if_errors(f"applying {cs.legal_act}")
    crosswalk = pd.DataFrame(rows)
    carried = _carried_recognitions(store, cs) if cs.level == "commune" else []
    crosswalk.attrs["recognitions"] = [m.reason for m in carried]
    if dry_run:
        return crosswalk
    units = gpd.GeoDataFrame(
        [u for u, _ in new_units], geometry=[g for _, g in new_units], crs=gcrs.STORE_CRS
    )
    with store.transaction() as conn:
        placeholders = ",".join("?" * len(closing))
        conn.execute(
            f'UPDATE "{table}" SET valid_to = ? WHERE valid_to IS NULL AND code IN ({placeholders})',
            [eff, *closing],
        )
        store.insert_features(conn, table, units)
        if cs.level == "commune":
            _move_villages(store, conn, cs, eff)
        store.insert_rows(conn, "crosswalk", crosswalk)
        store.insert_rows(
            conn,
            "recognitions",
            [
                {"unit_code": m.new_code, "unit_level": "commune", "level": m.level, "year": m.year,
                 "decision_number": None, "issued_by": None,
                 "note": f"Kế thừa khi sáp nhập theo CV 3372/BNN-VPĐP ({cs.legal_act}) / carried over on merger",
                 "recorded_at": utc_now()}
                for m in carried if m.acknowledged
            ],
        )
    return crosswalk


def _carried_recognitions(store: Store, cs: ChangeSet) -> list:
    """CV 3372/BNN-VPĐP: a merged commune made only of recognised communes keeps the status."""
    from .recognitions import merged_unit_recognition

    return [
        merged_unit_recognition(store, ch.code, ch.old_codes, on=cs.effective_date)
        for ch in cs.changes
        if len(ch.old_codes) > 1
    ]


def _move_villages(store: Store, conn, cs: ChangeSet, eff: str) -> None:
    """Villages of merged communes continue under the new commune from ``eff``."""
    parent_of = {code: ch.code for ch in cs.changes for code in ch.old_codes}
    placeholders = ",".join("?" * len(parent_of))
    villages = store.read_features(
        "villages", f"valid_to IS NULL AND parent_code IN ({placeholders})", list(parent_of), conn=conn
    )
    if villages.empty:
        return
    conn.execute(
        f"UPDATE villages SET valid_to = ? WHERE valid_to IS NULL AND parent_code IN ({placeholders})",
        [eff, *parent_of],
    )
    moved = villages.drop(columns=["fid"]).assign(
        parent_code=villages["parent_code"].map(parent_of), valid_from=eff, valid_to=None
    )
    store.insert_features(conn, "villages", moved)


def crosswalk_by_overlay(
    store: Store,
    level: str,
    *,
    old_on: str,
    new_on: str,
    legal_act: str,
    effective_date: str,
    scope_code: str | None = None,
    min_share: float = 0.01,
    dry_run: bool = False,
) -> pd.DataFrame:
    """Crosswalk rows from intersecting two imported vintages (splits, the 2025 reform).

    Units present unchanged in both vintages (the same row) are skipped. Pairs whose
    overlap is below ``min_share`` of both units are slivers and dropped.
    """
    old = admin_units.units_in_scope(store, scope_code, level, on=old_on)
    new = admin_units.units_in_scope(store, scope_code, level, on=new_on)
    same = set(old["fid"]) & set(new["fid"])
    table = schema.ADMIN_TABLE[level]
    old_g = store.read_features(table, f"fid IN ({','.join(map(str, set(old['fid']) - same)) or 'NULL'})")
    new_g = store.read_features(table, f"fid IN ({','.join(map(str, set(new['fid']) - same)) or 'NULL'})")
    if old_g.empty or new_g.empty:
        return pd.DataFrame(columns=["level", "old_code", "new_code", "old_share", "new_share"])
    old_p = old_g.to_crs(gcrs.EQUAL_AREA_CRS)
    new_p = new_g.to_crs(gcrs.EQUAL_AREA_CRS)
    i, j = new_p.sindex.query(old_p.geometry.values, predicate="intersects")
    inter = shapely.area(shapely.intersection(old_p.geometry.values[i], new_p.geometry.values[j]))
    old_share = inter / old_p.area.values[i]
    new_share = inter / new_p.area.values[j]
    keep = (old_share >= min_share) | (new_share >= min_share)
    df = pd.DataFrame(
        {
            "level": level,
            "old_code": old_g["code"].values[i[keep]],
            "new_code": new_g["code"].values[j[keep]],
            "old_share": np.round(old_share[keep], 6),
            "new_share": np.round(new_share[keep], 6),
            "effective_date": effective_date,
            "legal_act": legal_act,
        }
    )
    if not dry_run and len(df):
        with store.transaction() as conn:
            store.insert_rows(conn, "crosswalk", df)
    return df

"""Importing administrative boundaries (province … village) into the store.

One call reads a file, finds the code / name / type / parent fields (or takes them from
options), validates every feature, measures gaps and overlaps between neighbours, can
build the district and province levels by dissolving the communes, and writes all
levels in one transaction. Nothing is written when any error is found.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml

from geo import crs as gcrs
from geo import topology
from geo.text import mojibake_reason, nfc, slugify, split_type_prefix
from . import admin_units, schema
from ._errors import Problem, ValidationReport
from .store import Store, utc_now
from .vector_io import read_vector

__all__ = ["BoundaryImportResult", "import_boundaries", "FIELD_CANDIDATES", "province_reference"]

FIELD_CANDIDATES: dict[str, dict[str, list[str]]] = {
    "province": {
        "code": ["province_code", "ma_tinh", "matinh", "province_id", "gso_code", "code"],
        "name": ["province_vn", "ten_tinh", "tentinh", "province_name", "name_vi", "province", "name", "ten"],
    },
    "district": {
        "code": ["district_code", "ma_huyen", "mahuyen", "district_id", "gso_code", "code"],
        "name": ["district_vn", "ten_huyen", "tenhuyen", "district_name", "name_vi", "district", "name", "ten"],
        "parent_code": ["province_code", "ma_tinh", "matinh", "province_id", "parent_code"],
    },
    "commune": {
        "code": ["commune_code", "ma_xa", "maxa", "commune_id", "ma_dvhc", "gso_code", "code"],
        "name": ["commune_vn", "ten_xa", "tenxa", "commune_name", "name_vi", "commune", "name", "ten"],
        "type": ["commune_type", "loai_xa", "loai", "unit_type", "type"],
        "parent_code": ["district_code", "ma_huyen", "mahuyen", "district_id", "parent_code"],
    },
    "village": {
        "code": ["village_code", "ma_thon", "mathon", "village_id", "code"],
        "name": ["village_vn", "ten_thon", "tenthon", "village_name", "name_vi", "village", "name", "ten"],
        "type": ["village_type", "loai_thon", "unit_type", "type"],
        "parent_code": ["commune_code", "ma_xa", "maxa", "commune_id", "parent_code"],
    },
}
_GSO_DIGITS = {"province": 2, "district": 3, "commune": 5}
_DEFAULT_TYPE = {"province": "tinh", "district": "huyen", "commune": None, "village": "thon"}


@dataclass
class BoundaryImportResult:
    """What an import wrote (or would write, for a dry run) and what it noticed."""

    path: Path
    counts: dict[str, int]
    field_sources: dict[str, str]
    warnings: list[Problem] = field(default_factory=list)
    topology: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    dry_run: bool = False


@functools.cache
def province_reference() -> dict[str, dict]:
    """Pre-2025 provinces by GSO code (name, type, region, TM-3 zone)."""
    path = Path(__file__).with_name("data") / "provinces.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _province_lookup(name: str | None) -> tuple[str, dict] | None:
    if not name:
        return None
    _, bare = split_type_prefix(name, admin_units.unit_type_prefixes("province"))
    key = slugify(bare)
    for gso, spec in province_reference().items():
        names = [spec["name"], *spec.get("aliases", [])]
        if key in {slugify(n) for n in names}:
            return gso, spec
    return None


def import_boundaries(
    store: Store,
    path: str | Path,
    *,
    level: str,
    layer: str | None = None,
    crs=None,
    where: str | None = None,
    encoding: str | None = None,
    code_field: str | None = None,
    name_field: str | None = None,
    type_field: str | None = None,
    parent_code_field: str | None = None,
    gso_code_field: str | None = None,
    default_type: str | None = None,
    build_parents: bool = False,
    district_code_field: str | None = None,
    district_name_field: str | None = None,
    province_code_field: str | None = None,
    province_name_field: str | None = None,
    region: str | None = None,
    valid_from: str | None = None,
    valid_to: str | None = None,
    source: str | None = None,
    sliver_km2: float = 1.0,
    parent_tolerance: float = 0.02,
    replace: bool = False,
    dry_run: bool = False,
    recorded_by: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> BoundaryImportResult:
    """Import one level of boundaries (and optionally build the levels above it).

    Parameters
    ----------
    level
        "province", "district", "commune" or "village".
    code_field, name_field, type_field, parent_code_field, gso_code_field
        Source columns; found automatically from common names when not given.
        Names may carry the type ("Xã Thào Chư Phìn"): it is split off into unit_type.
    build_parents
        For communes: also create the districts and provinces named by the
        district/province code and name fields, by dissolving their communes.
    sliver_km2
        Overlaps and gaps between neighbours up to this area are reported as warnings;
        larger overlaps are errors, larger gaps are warnings naming the neighbours.
    parent_tolerance
        Share of a unit's area allowed outside its parent (existing parents only).
    valid_from, valid_to
        The vintage of these boundaries (YYYY-MM-DD); open-ended when omitted.
    dry_run
        Validate and report without writing.

    Raises
    ------
    layers._errors.ImportValidationError
        Listing every error with file, feature and column; the store is unchanged.
    """
    started = time.perf_counter()
    step = progress or (lambda *_: None)
    if level not in schema.ADMIN_LEVELS:
        raise ValueError(f"'level' must be one of {schema.ADMIN_LEVELS}, got {level!r}")
    if build_parents and level != "commune":
        raise ValueError("'build_parents' is only available when importing communes")
    report = ValidationReport()
    fname = Path(path).name
    for key, value in (("valid_from", valid_from), ("valid_to", valid_to)):
        if value is not None and _parse_date(value) is None:
            report.error(f"'{key}' must be a date YYYY-MM-DD, got {value!r}")
    report.raise_if_errors(f"import of {fname}")

    step("Đọc tệp / reading", 0, 5)
    src = read_vector(path, layer=layer, crs=crs, where=where, encoding=encoding)
    gdf = src.gdf.reset_index(drop=True)
    if gdf.empty:
        report.error("the file (after --where) holds no features", file=fname)
        report.raise_if_errors(f"import of {fname}")

    columns = list(gdf.columns.drop(gdf.geometry.name))
    chosen = {
        "code": code_field,
        "name": name_field,
        "type": type_field,
        "parent_code": parent_code_field,
    }
    field_sources = {}
    for key in ("code", "name", "type", "parent_code"):
        col = _pick_field(columns, chosen[key], FIELD_CANDIDATES[level].get(key, []), key, fname, report)
        if col:
            field_sources[key] = col
    if gso_code_field:
        field_sources["gso_code"] = _pick_field(columns, gso_code_field, [], "gso_code", fname, report)
    if "code" not in field_sources and not report.errors:
        report.error(
            f"no code column found among {columns}; name it with --code-field", file=fname
        )
    if "name" not in field_sources and not report.errors:
        report.error(
            f"no name column found among {columns}; name it with --name-field", file=fname
        )
    parent_fields = {}
    if build_parents:
        for key, given in (
            ("district_code", district_code_field),
            ("district_name", district_name_field),
            ("province_code", province_code_field),
            ("province_name", province_name_field),
        ):
            lvl, what = key.split("_")
            col = _pick_field(columns, given, FIELD_CANDIDATES[lvl][what], key, fname, report)
            if col is None:
                report.error(
                    f"--build-parents needs a {lvl} {what} column; name it with --{lvl}-{what}-field",
                    file=fname,
                )
            parent_fields[key] = col
        if "parent_code" not in field_sources and parent_fields.get("district_code"):
            field_sources["parent_code"] = parent_fields["district_code"]
    report.raise_if_errors(f"import of {fname}")

    step("Kiểm tra / validating", 1, 5)
    units = _units_frame(gdf, level, field_sources, default_type, fname, report)
    geoms = _checked_geometries(gdf, units, fname, report)
    units = gpd.GeoDataFrame(units, geometry=geoms, crs=gcrs.STORE_CRS)

    parents: dict[str, gpd.GeoDataFrame] = {}
    if build_parents and not report.errors:
        parents = _build_parents(units, gdf, parent_fields, sliver_km2, fname, report)

    _check_codes(store, level, units, parents, valid_from, replace, fname, report)
    existing_parents = _check_parents(
        store, level, units, parents, valid_from, parent_tolerance, fname, report, build_parents
    )

    step("Kiểm tra chồng lấn, khe hở / gaps and overlaps", 2, 5)
    topo = _check_topology(units, sliver_km2, fname, report)
    report.raise_if_errors(f"import of {fname}")

    step("Thuộc tính / attributes", 3, 5)
    all_levels = {**parents, level: units}
    _fill_attributes(all_levels, existing_parents, region, valid_from, valid_to, source or str(src.path), report)
    report.raise_if_errors(f"import of {fname}")

    counts = {lvl: len(df) for lvl, df in all_levels.items()}
    result = BoundaryImportResult(
        path=Path(path),
        counts=counts,
        field_sources=field_sources | {k: v for k, v in parent_fields.items() if v},
        warnings=report.warnings,
        topology=topo,
        notes=src.notes,
        dry_run=dry_run,
    )
    if not dry_run:
        step("Ghi vào kho / writing", 4, 5)
        with store.transaction() as conn:
            for lvl in schema.ADMIN_LEVELS:
                if lvl not in all_levels:
                    continue
                frame = all_levels[lvl]
                table = schema.ADMIN_TABLE[lvl]
                if replace:
                    codes = list(frame["code"])
                    vf = valid_from or ""
                    for chunk in range(0, len(codes), 500):
                        part = codes[chunk : chunk + 500]
                        store.delete_features(
                            conn,
                            table,
                            f"ifnull(valid_from, '') = ? AND code IN ({','.join('?' * len(part))})",
                            [vf, *part],
                        )
                keep = [c for c in store.columns(table, conn) if c in frame.columns]
                store.insert_features(conn, table, frame[keep + ["geometry"]])
            store.insert_rows(
                conn,
                "import_log",
                [
                    {
                        "kind": f"boundaries:{level}",
                        "source": str(path),
                        "rows_written": int(sum(counts.values())),
                        "warnings": json.dumps(
                            {"count": len(report.warnings), "topology": topo,
                             "first": [p.as_dict() for p in report.warnings[:50]]},
                            ensure_ascii=False,
                        ),
                        "started_at": utc_now(),
                        "finished_at": utc_now(),
                        "recorded_by": recorded_by,
                    }
                ],
            )
    step("Xong / done", 5, 5)
    result.elapsed = time.perf_counter() - started
    return result


# --- fields ------------------------------------------------------------------------


def _pick_field(columns, given, candidates, what, fname, report) -> str | None:
    if given:
        if given not in columns:
            report.error(f"no column '{given}' for {what}; columns are {columns}", file=fname)
            return None
        return given
    lower = {c.lower(): c for c in columns}
    for cand in candidates:
        if cand in lower:
            return lower[cand]
    return None


def _as_code(value) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _units_frame(gdf, level, fields, default_type, fname, report) -> pd.DataFrame:
    prefixes = admin_units.unit_type_prefixes(level)
    vocab_types = admin_units.vocabulary()["unit_types"]
    rows = []
    for k in range(len(gdf)):
        feature = f"#{k + 1}"
        code = _as_code(gdf[fields["code"]].iloc[k])
        raw_name = gdf[fields["name"]].iloc[k]
        raw_name = None if raw_name is None or pd.isna(raw_name) else str(raw_name)
        if code is None:
            report.error("missing code", file=fname, feature=feature, column=fields["code"])
        else:
            feature = f"#{k + 1} (code {code})"
        if not raw_name or not nfc(raw_name):
            report.error("missing name", file=fname, feature=feature, column=fields["name"])
            rows.append(None)
            continue
        bad = mojibake_reason(raw_name)
        if bad:
            report.error(f"name {raw_name!r} {bad}", file=fname, feature=feature, column=fields["name"])
        unit_type, bare = split_type_prefix(raw_name, prefixes)
        if "type" in fields:
            raw_type = gdf[fields["type"]].iloc[k]
            if raw_type is not None and not pd.isna(raw_type):
                typed, _ = split_type_prefix(f"{raw_type} x", prefixes)
                if typed is None and str(raw_type) in vocab_types:
                    typed = str(raw_type)
                if typed is None:
                    report.error(
                        f"unknown unit type {raw_type!r}; expected one of {sorted(set(prefixes))}",
                        file=fname, feature=feature, column=fields["type"],
                    )
                unit_type = typed or unit_type
        unit_type = unit_type or default_type or _DEFAULT_TYPE[level]
        if unit_type is None:
            report.error(
                f"cannot tell the unit type of {raw_name!r} (no 'Xã'/'Phường'/'Thị trấn' prefix and "
                "no type column); give --type-field or --default-type",
                file=fname, feature=feature, column=fields["name"],
            )
        elif vocab_types.get(unit_type, {}).get("level") != level:
            report.error(
                f"unit type '{unit_type}' is not a {level} type", file=fname, feature=feature
            )
        full_name = nfc(raw_name)
        if unit_type and full_name == bare:
            full_name = f"{vocab_types[unit_type]['prefix'][0]} {bare}"
        row = {
            "code": code,
            "name": bare,
            "full_name": full_name,
            "slug": slugify(bare),
            "unit_type": unit_type,
            "parent_code": _as_code(gdf[fields["parent_code"]].iloc[k]) if "parent_code" in fields else None,
            "gso_code": _as_code(gdf[fields["gso_code"]].iloc[k]) if "gso_code" in fields else None,
        }
        digits = _GSO_DIGITS.get(level)
        if row["gso_code"] and digits and not (row["gso_code"].isdigit() and len(row["gso_code"]) == digits):
            report.error(
                f"GSO {level} codes have {digits} digits, got {row['gso_code']!r}",
                file=fname, feature=feature, column=fields.get("gso_code"),
            )
        rows.append(row)
    cols = ["code", "name", "full_name", "slug", "unit_type", "parent_code", "gso_code"]
    frame = pd.DataFrame([r or dict.fromkeys(cols) for r in rows], columns=cols)
    dup = frame["code"].notna() & frame["code"].duplicated(keep=False)
    for code, group in frame[dup].groupby("code"):
        feats = ", ".join(f"#{k + 1}" for k in group.index)
        report.error(f"code {code!r} appears {len(group)} times (features {feats})", file=fname)
    return frame


def _checked_geometries(gdf, units, fname, report) -> np.ndarray:
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    label = [f"#{k + 1} ({units['name'].iloc[k]}, code {units['code'].iloc[k]})" for k in range(len(units))]
    missing = shapely.is_missing(geoms)
    empty = shapely.is_empty(geoms) & ~missing
    for k in np.flatnonzero(missing | empty):
        report.error("empty or missing geometry", file=fname, feature=label[k])
    ok = ~(missing | empty)
    types = np.asarray(shapely.get_type_id(geoms))
    wrong = ok & ~np.isin(types, [3, 6])  # Polygon, MultiPolygon
    for k in np.flatnonzero(wrong):
        report.error(f"expected a polygon, got {geoms[k].geom_type}", file=fname, feature=label[k])
    invalid = ok & ~wrong & ~shapely.is_valid(geoms)
    for k in np.flatnonzero(invalid):
        reason = shapely.is_valid_reason(geoms[k])
        geoms[k] = _polygonal(shapely.make_valid(geoms[k]))
        report.warn(f"invalid geometry repaired with make_valid ({reason})", file=fname, feature=label[k])
    out = np.empty(len(geoms), dtype=object)
    for k in range(len(geoms)):
        g = geoms[k]
        if not ok[k] or wrong[k]:
            out[k] = None
        elif g.geom_type == "Polygon":
            out[k] = shapely.MultiPolygon([g])
        else:
            out[k] = g
    return out


def _polygonal(geom):
    """Keep only the polygonal parts that make_valid may return in a collection."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else geom


# --- parents -----------------------------------------------------------------------


def _build_parents(units, gdf, fields, sliver_km2, fname, report) -> dict[str, gpd.GeoDataFrame]:
    attrs = pd.DataFrame(
        {
            "district_code": [_as_code(v) for v in gdf[fields["district_code"]]],
            "district_name": gdf[fields["district_name"]].map(lambda v: nfc(v) if isinstance(v, str) else None),
            "province_code": [_as_code(v) for v in gdf[fields["province_code"]]],
            "province_name": gdf[fields["province_name"]].map(lambda v: nfc(v) if isinstance(v, str) else None),
        }
    )
    units["parent_code"] = attrs["district_code"]
    out = {}
    for lvl, parent_lvl in (("district", "province"), ("province", None)):
        key, name_key = f"{lvl}_code", f"{lvl}_name"
        for k in np.flatnonzero(attrs[key].isna() | attrs[name_key].isna()):
            report.error(
                f"missing {lvl} code or name needed to build the {lvl}",
                file=fname, feature=f"#{k + 1} ({units['name'].iloc[k]})",
            )
        per_code = attrs.dropna(subset=[key]).groupby(key)
        names = per_code[name_key].nunique()
        for code in names[names > 1].index:
            found = sorted(attrs.loc[attrs[key] == code, name_key].dropna().unique())
            report.error(f"{lvl} code {code!r} has several names: {found}", file=fname)
        if parent_lvl:
            parents_of = per_code[f"{parent_lvl}_code"].nunique()
            for code in parents_of[parents_of > 1].index:
                report.error(f"{lvl} {code!r} lies in several {parent_lvl}s", file=fname)
        if report.errors:
            return {}
        prefixes = admin_units.unit_type_prefixes(lvl)
        rows, geoms = [], []
        for code, idx in per_code.groups.items():
            raw = attrs.loc[idx[0], name_key]
            unit_type, bare = split_type_prefix(raw, prefixes)
            if lvl == "province":
                ref = _province_lookup(raw)
                unit_type = unit_type if unit_type != "thanh_pho_tw" or ref else unit_type
                unit_type = (ref[1]["type"] if ref else None) or unit_type or "tinh"
            unit_type = unit_type or _DEFAULT_TYPE[lvl]
            prefix = admin_units.vocabulary()["unit_types"][unit_type]["prefix"][0]
            dissolved = topology.remove_small_holes(
                shapely.union_all(units.geometry.loc[idx].values), sliver_km2, area_km2=gcrs.area_km2
            )
            geoms.append(dissolved)
            rows.append(
                {
                    "code": code,
                    "name": bare,
                    "full_name": raw if raw != bare else f"{prefix} {bare}",
                    "slug": slugify(bare),
                    "unit_type": unit_type,
                    "parent_code": attrs.loc[idx[0], f"{parent_lvl}_code"] if parent_lvl else None,
                    "gso_code": None,
                }
            )
        frame = gpd.GeoDataFrame(rows, geometry=geoms, crs=gcrs.STORE_CRS)
        out[lvl] = frame
        # the next level dissolves the units just built
        units = frame
        attrs = attrs.drop_duplicates(key).set_index(key).loc[frame["code"]].reset_index()
    return out


def _check_codes(store, level, units, parents, valid_from, replace, fname, report) -> None:
    if replace:
        return
    for lvl, frame in {**parents, level: units}.items():
        codes = [c for c in frame["code"] if c]
        if not codes:
            continue
        table = schema.ADMIN_TABLE[lvl]
        existing = set()
        for chunk in range(0, len(codes), 500):
            part = codes[chunk : chunk + 500]
            df = store.read_table(
                table,
                f"ifnull(valid_from, '') = ? AND code IN ({','.join('?' * len(part))})",
                [valid_from or "", *part],
                columns=["code"],
            )
            existing |= set(df["code"])
        for code in sorted(existing):
            report.error(
                f"{lvl} {code!r} with this vintage (valid_from {valid_from or 'open'}) is already in "
                "the store; use --replace to replace it or --valid-from for a new vintage",
                file=fname,
            )


def _check_parents(store, level, units, parents, valid_from, tolerance, fname, report, build_parents):
    """Children must name an existing parent and lie inside it (within tolerance)."""
    if level == "province":
        return None
    parent_level = schema.ADMIN_LEVELS[schema.ADMIN_LEVELS.index(level) - 1]
    if parent_level in parents or build_parents:
        return None
    day = valid_from or None
    candidates = admin_units.units_table(store, parent_level, on=day, geometry=True)
    if level == "commune":  # after the 2025 reform communes hang directly under provinces
        candidates = pd.concat([candidates, admin_units.units_table(store, "province", on=day, geometry=True)])
    by_code = candidates.drop_duplicates("code").set_index("code")
    has_parent = units["parent_code"].notna()
    for k in np.flatnonzero(~has_parent):
        if level in ("commune", "village") and len(by_code):
            report.error(
                f"no parent code: every {level} must name its {parent_level}; use --parent-code-field",
                file=fname, feature=f"#{k + 1} ({units['name'].iloc[k]})",
            )
    known = units["parent_code"].isin(by_code.index)
    for k in np.flatnonzero(has_parent & ~known):
        report.error(
            f"unknown parent code {units['parent_code'].iloc[k]!r} (no {parent_level} with that code "
            f"valid {'on ' + valid_from if valid_from else 'now'} in the store; import the {parent_level}s "
            "first or use --build-parents)",
            file=fname, feature=f"#{k + 1} ({units['name'].iloc[k]}, code {units['code'].iloc[k]})",
        )
    idx = np.flatnonzero(has_parent & known & units.geometry.notna())
    if len(idx):
        child = units.geometry.iloc[idx]
        parent = gpd.GeoSeries(by_code.geometry.loc[units["parent_code"].iloc[idx]].values, crs=gcrs.STORE_CRS)
        metric = gcrs.tm3_zone_for_lon(float(child.union_all().centroid.x))
        res = topology.outside_parent(child.to_crs(metric).values, parent.to_crs(metric).values)
        for pos, (area, share) in zip(idx, res[["area_km2", "share"]].itertuples(index=False)):
            if share > tolerance:
                report.error(
                    f"{share:.1%} ({area:.3f} km²) of this {level} lies outside its {parent_level} "
                    f"{units['parent_code'].iloc[pos]!r} (tolerance {tolerance:.1%}; --parent-tolerance)",
                    file=fname, feature=f"#{pos + 1} ({units['name'].iloc[pos]}, code {units['code'].iloc[pos]})",
                )
    return by_code


def _check_topology(units, sliver_km2, fname, report) -> dict[str, float]:
    ok = units.geometry.notna().values
    if ok.sum() < 2:
        return {}
    sub = units[ok].reset_index(drop=True)
    projected = sub.geometry.to_crs(gcrs.EQUAL_AREA_CRS).values
    label = [f"{n} ({c})" for n, c in zip(sub["name"], sub["code"])]
    pairs = topology.overlap_pairs(projected)
    big = pairs[pairs["area_km2"] > sliver_km2]
    for row in big.itertuples(index=False):
        report.error(
            f"overlap of {row.area_km2:.3f} km² ({row.share:.1%} of the smaller) between "
            f"{label[row.i]} and {label[row.j]} exceeds the sliver tolerance {sliver_km2} km² (--sliver-km2)",
            file=fname,
        )
    small = pairs[pairs["area_km2"] <= sliver_km2]
    if len(small):
        top = "; ".join(
            f"{label[r.i]} × {label[r.j]}: {r.area_km2:.4f} km²" for r in small.head(5).itertuples(index=False)
        )
        report.warn(
            f"{len(small)} sliver overlap(s) between neighbours below {sliver_km2} km², "
            f"{small['area_km2'].sum():.3f} km² in total (largest: {top})",
            file=fname,
        )
    gaps = topology.coverage_gaps(projected)
    small_gaps = gaps[gaps["area_km2"] <= sliver_km2]
    for row in gaps[gaps["area_km2"] > sliver_km2].itertuples(index=False):
        names = ", ".join(label[i] for i in row.neighbours[:6])
        report.warn(f"gap of {row.area_km2:.3f} km² claimed by no unit, between {names}", file=fname)
    if len(small_gaps):
        top = "; ".join(
            f"{r.area_km2:.4f} km² near {', '.join(label[i] for i in r.neighbours[:3])}"
            for r in small_gaps.head(3).itertuples(index=False)
        )
        report.warn(
            f"{len(small_gaps)} sliver gap(s) below {sliver_km2} km², "
            f"{small_gaps['area_km2'].sum():.3f} km² in total (largest: {top})",
            file=fname,
        )
    total = float(shapely.area(projected).sum() / 1e6)
    return {
        "area_km2": round(total, 3),
        "overlap_pairs": int(len(pairs)),
        "overlap_km2": round(float(pairs["area_km2"].sum()), 4),
        "overlap_share": round(float(pairs["area_km2"].sum()) / total, 6) if total else 0.0,
        "gaps": int(len(gaps)),
        "gap_km2": round(float(gaps["area_km2"].sum()), 4),
        "gap_share": round(float(gaps["area_km2"].sum()) / total, 6) if total else 0.0,
        "max_overlap_km2": round(float(pairs["area_km2"].max()), 4) if len(pairs) else 0.0,
        "max_gap_km2": round(float(gaps["area_km2"].max()), 4) if len(gaps) else 0.0,
    }


# --- attributes --------------------------------------------------------------------


def _fill_attributes(levels, existing_parents, region, valid_from, valid_to, source, report) -> None:
    regions = admin_units.vocabulary()["regions"]
    if region is not None and region not in regions:
        report.error(f"'region' must be one of {sorted(regions)}, got {region!r}")
        return
    province_region: dict[str, str | None] = {}
    if "province" in levels:
        prov = levels["province"]
        refs = [_province_lookup(n) for n in prov["name"]]
        prov["gso_code"] = [r[0] if r else g for r, g in zip(refs, prov["gso_code"])]
        prov["region"] = [region or (r[1]["region"] if r else None) for r in refs]
        centre_lon = shapely.get_x(shapely.centroid(prov.geometry.values))
        prov["tm3_epsg"] = [
            r[1]["tm3"] if r else gcrs.tm3_zone_for_lon(float(lon)) for r, lon in zip(refs, centre_lon)
        ]
        province_region = dict(zip(prov["code"], prov["region"]))
        for name, ref in zip(prov["name"], refs):
            if ref is None:
                report.warn(f"province '{name}' is not in the reference list of 63 provinces; region left empty")
    if existing_parents is not None and "region" in existing_parents:
        province_region |= existing_parents["region"].dropna().to_dict()
    if "district" in levels:
        d = levels["district"]
        d["region"] = [region or province_region.get(p) for p in d["parent_code"]]
        province_region |= dict(zip(d["code"], d["region"]))
    for lvl in ("commune", "village"):
        if lvl in levels:
            frame = levels[lvl]
            frame["region"] = [region or province_region.get(p) for p in frame["parent_code"]]
    for frame in levels.values():
        if "region" not in frame:
            frame["region"] = region
        frame["threshold_region"] = frame["region"]
        frame["valid_from"] = valid_from
        frame["valid_to"] = valid_to
        frame["source"] = source
        frame["area_km2"] = (frame.geometry.to_crs(gcrs.EQUAL_AREA_CRS).area / 1e6).round(4)


def _parse_date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None

"""A province's configuration of a national criteria set: who acts, and what counts as met.

Provinces issue their own sets on the national base (e.g. Lào Cai QĐ 894/QĐ-UBND): they
name the department responsible for each criterion (Sở Giao thông vận tải for Giao
thông …), declare sub-indicators (2.1, 2.2 …) and set numeric thresholds per region
(QĐ 318) or commune group (QĐ 51/2025). None of these numbers are verified in our
sources, so NTM Atlas ships none: a province supplies a YAML file, checked against
``layers/data/province-config.schema.json`` and for meaning (criteria exist in the set,
indicator ids, regions or groups, year ranges), every problem reported at once with its
key path. ``layers/data/province-config.example.yaml`` shows the layout; its values are
examples only.

Loading replaces the previous configuration of the same province and set in one
transaction.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pandas as pd
import yaml

from . import admin_units, criteria
from ._errors import CriteriaError
from .store import Store

__all__ = [
    "IndicatorDef",
    "Threshold",
    "SetConfig",
    "ProvinceConfig",
    "province_config_from_yaml",
    "load_province_config",
    "departments",
    "indicators",
    "thresholds",
]

log = logging.getLogger(__name__)

SCHEMA_PATH = Path(__file__).with_name("data") / "province-config.schema.json"


@dataclass(frozen=True)
class IndicatorDef:
    criterion: int
    id: str
    name_vi: str
    name_en: str | None = None


@dataclass(frozen=True)
class Threshold:
    criterion: int
    operator: str
    value: float
    indicator: str | None = None
    applies_to: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    unit: str | None = None


@dataclass(frozen=True)
class SetConfig:
    set_id: str
    departments: dict[int, str]
    indicators: tuple[IndicatorDef, ...]
    thresholds: tuple[Threshold, ...]


@dataclass(frozen=True)
class ProvinceConfig:
    scope: str
    source_document: str
    sets: dict[str, SetConfig]
    source: str = ""


def province_config_from_yaml(path: str | Path) -> ProvinceConfig:
    """Read and check a province configuration file (no store needed).

    Raises
    ------
    CriteriaError
        Listing every problem with its key path, e.g.
        ``sets.qd318-2022-xa-ntm.thresholds[1].applies_to``.

    See Also
    --------
    load_province_config : check the scope against a store and load.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CriteriaError(f"{path}: cannot read province configuration: {exc}") from exc
    data = _normalised(data)
    problems = _schema_problems(data) + _meaning_problems(data)
    if problems:
        raise CriteriaError(
            f"{path}: invalid province configuration ({len(problems)} problem(s)), nothing was loaded:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
    sets = {}
    for set_id, spec in data["sets"].items():
        sets[set_id] = SetConfig(
            set_id=set_id,
            departments={int(k): v.strip() for k, v in spec.get("departments", {}).items()},
            indicators=tuple(
                IndicatorDef(i.get("criterion", int(i["id"].split(".")[0])), i["id"], i["name_vi"],
                             i.get("name_en"))
                for i in spec.get("indicators", [])
            ),
            thresholds=tuple(
                Threshold(t["criterion"], t["operator"], float(t["value"]), t.get("indicator"),
                          t.get("applies_to"), t.get("year_from"), t.get("year_to"), t.get("unit"))
                for t in spec.get("thresholds", [])
            ),
        )
    return ProvinceConfig(str(data["scope"]), data["source_document"], sets, str(path))


def _normalised(data):
    """YAML integer keys and group numbers as the strings the schema describes."""
    if not isinstance(data, dict) or not isinstance(data.get("sets"), dict):
        return data
    data = dict(data, sets=dict(data["sets"]))
    for set_id, spec in data["sets"].items():
        if not isinstance(spec, dict):
            continue
        spec = dict(spec)
        if isinstance(spec.get("departments"), dict):
            spec["departments"] = {str(k): v for k, v in spec["departments"].items()}
        if isinstance(spec.get("thresholds"), list):
            spec["thresholds"] = [
                dict(t, applies_to=str(t["applies_to"]))
                if isinstance(t, dict) and isinstance(t.get("applies_to"), int) else t
                for t in spec["thresholds"]
            ]
        data["sets"][set_id] = spec
    return data


@functools.cache
def _schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _key_path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _schema_problems(data) -> list[str]:
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{_key_path(e.absolute_path) or '(top level)'}: {e.message}" for e in errors]


def _meaning_problems(data) -> list[str]:
    """Checks a schema cannot express; tolerant of parts the schema already refused."""
    if not isinstance(data, dict) or not isinstance(data.get("sets"), dict):
        return []
    vocab = admin_units.vocabulary()
    applies = {"region": set(vocab["regions"]), "commune_group": {str(g) for g in vocab["commune_groups"]}}
    problems = []
    for set_id, spec in data["sets"].items():
        at = f"sets.{set_id}"
        try:
            cset = criteria.get_set(set_id)
        except CriteriaError as exc:
            problems.append(f"{at}: {exc}")
            continue
        if not isinstance(spec, dict):
            continue
        numbers = set(cset.numbers)
        span = f"1..{len(cset)}"
        for key in (spec.get("departments") or {}) if isinstance(spec.get("departments"), dict) else {}:
            if str(key).isdigit() and int(key) not in numbers:
                problems.append(f"{at}.departments.{key}: set '{set_id}' has no criterion {key} ({span})")
        declared = {i.id for c in cset.criteria for i in c.indicators}
        for j, ind in enumerate(spec.get("indicators") or []):
            if not isinstance(ind, dict) or not isinstance(ind.get("id"), str):
                continue
            prefix = ind["id"].split(".")[0]
            criterion = ind.get("criterion", int(prefix) if prefix.isdigit() else None)
            if criterion not in numbers:
                problems.append(f"{at}.indicators[{j}].id: '{ind['id']}' names criterion {prefix}, "
                                f"which set '{set_id}' does not have ({span})")
            elif not ind["id"].startswith(f"{criterion}."):
                problems.append(f"{at}.indicators[{j}].id: '{ind['id']}' must start with the "
                                f"criterion number '{criterion}.'")
            if ind["id"] in declared:
                problems.append(f"{at}.indicators[{j}].id: '{ind['id']}' is declared twice")
            declared.add(ind["id"])
        scheme = cset.threshold_scheme
        spans: dict[tuple, list[tuple[int, int, int]]] = {}
        for j, t in enumerate(spec.get("thresholds") or []):
            if not isinstance(t, dict) or not isinstance(t.get("criterion"), int):
                continue
            here = f"{at}.thresholds[{j}]"
            criterion, indicator, target = t["criterion"], t.get("indicator"), t.get("applies_to")
            if criterion not in numbers:
                problems.append(f"{here}.criterion: set '{set_id}' has no criterion {criterion} ({span})")
            if isinstance(indicator, str):
                if not indicator.startswith(f"{criterion}."):
                    problems.append(f"{here}.indicator: '{indicator}' does not belong to criterion "
                                    f"{criterion} (expected '{criterion}.…')")
                elif indicator not in declared:
                    problems.append(f"{here}.indicator: '{indicator}' is not declared under "
                                    f"{at}.indicators")
            if target is not None:
                if scheme not in applies:
                    problems.append(f"{here}.applies_to: set '{set_id}' has one level for all "
                                    f"communes (threshold_scheme '{scheme}'); remove applies_to")
                elif str(target) not in applies[scheme]:
                    expected = ("a region code" if scheme == "region" else "a commune group")
                    problems.append(f"{here}.applies_to: '{target}' is not {expected} of set "
                                    f"'{set_id}'; expected one of {', '.join(sorted(applies[scheme]))}")
            lo, hi = t.get("year_from"), t.get("year_to")
            lo_i = lo if isinstance(lo, int) else -10**6
            hi_i = hi if isinstance(hi, int) else 10**6
            if lo_i > hi_i:
                problems.append(f"{here}.year_from: {lo} is after year_to {hi}")
                continue
            first = cset.valid_from.year if cset.valid_from else -10**6
            last = cset.valid_to.year if cset.valid_to else 10**6
            if hi_i < first or lo_i > last:
                problems.append(f"{here}: years {lo}..{hi} fall outside the years of set '{set_id}' "
                                f"({first}..{last})")
            key = (criterion, indicator, None if target is None else str(target))
            for k, a, b in spans.get(key, []):
                if lo_i <= b and a <= hi_i:
                    problems.append(f"{here}: overlaps {at}.thresholds[{k}] (same criterion, "
                                    "indicator and applies_to in overlapping years)")
            spans.setdefault(key, []).append((j, lo_i, hi_i))
    return problems


# --- store ----------------------------------------------------------------------------

_TABLES = ("criterion_departments", "criterion_indicators", "criterion_thresholds")


def load_province_config(store: Store, path: str | Path, *, dry_run: bool = False) -> dict:
    """Check a province configuration file and load it, replacing that province's
    previous configuration of each set it names (other sets are left alone).

    Returns
    -------
    dict
        ``scope``, ``sets`` (per set: departments, indicators, thresholds written and
        ``replaced`` rows removed), ``dry_run``.

    Raises
    ------
    CriteriaError
        For any problem in the file, or a scope that is not a province in the store.
    """
    cfg = province_config_from_yaml(path)
    if not store.count("provinces", "code = ?", [cfg.scope]):
        raise CriteriaError(
            f"{path}: invalid province configuration (1 problem(s)), nothing was loaded:\n"
            f"  - scope: '{cfg.scope}' is not a province code in store '{store.path}'; "
            "import the province's boundaries first or correct the code"
        )
    summary = {"scope": cfg.scope, "sets": {}, "dry_run": dry_run}
    rows = {}
    for set_id, sc in cfg.sets.items():
        base = {"scope_code": cfg.scope, "set_id": set_id}
        rows[set_id] = {
            "criterion_departments": [base | {"criterion": n, "department": d,
                                              "source_document": cfg.source_document}
                                      for n, d in sorted(sc.departments.items())],
            "criterion_indicators": [base | {"criterion": i.criterion, "indicator": i.id,
                                             "name_vi": i.name_vi, "name_en": i.name_en}
                                     for i in sc.indicators],
            "criterion_thresholds": [base | {"criterion": t.criterion, "indicator": t.indicator,
                                             "applies_to": t.applies_to, "year_from": t.year_from,
                                             "year_to": t.year_to, "operator": t.operator,
                                             "value": t.value, "unit": t.unit,
                                             "source_document": cfg.source_document}
                                     for t in sc.thresholds],
        }
        summary["sets"][set_id] = {
            "departments": len(sc.departments), "indicators": len(sc.indicators),
            "thresholds": len(sc.thresholds),
            "replaced": sum(store.count(t, "scope_code = ? AND set_id = ?", [cfg.scope, set_id])
                            for t in _TABLES),
        }
    if dry_run:
        return summary
    with store.transaction() as conn:
        for set_id, tables in rows.items():
            for table in _TABLES:
                conn.execute(f'DELETE FROM "{table}" WHERE scope_code = ? AND set_id = ?',
                             (cfg.scope, set_id))
                store.insert_rows(conn, table, pd.DataFrame(tables[table]))
    log.info("province configuration of %s loaded from %s (%s)", cfg.scope, path, ", ".join(cfg.sets))
    return summary


def departments(store: Store, set_id: str, scope_code: str) -> dict[int, str]:
    """Criterion number -> the department responsible, as the province configured it."""
    df = store.read_table("criterion_departments", "scope_code = ? AND set_id = ?",
                          [scope_code, set_id], order_by="criterion")
    return {int(n): d for n, d in zip(df["criterion"], df["department"])}


def indicators(store: Store, set_id: str, scope_code: str) -> pd.DataFrame:
    """Sub-indicators the province declared: criterion, indicator, name_vi, name_en."""
    df = store.read_table("criterion_indicators", "scope_code = ? AND set_id = ?",
                          [scope_code, set_id], order_by="criterion, indicator")
    return df[["criterion", "indicator", "name_vi", "name_en"]].reset_index(drop=True)


def thresholds(store: Store, set_id: str, scope_code: str, *, year: int | None = None) -> pd.DataFrame:
    """The province's thresholds, those in force in ``year`` if given.

    Columns: criterion, indicator, applies_to, year_from, year_to, operator, value, unit,
    source_document.
    """
    where, params = "scope_code = ? AND set_id = ?", [scope_code, set_id]
    if year is not None:
        where += " AND (year_from IS NULL OR year_from <= ?) AND (year_to IS NULL OR year_to >= ?)"
        params += [int(year), int(year)]
    df = store.read_table("criterion_thresholds", where, params,
                          order_by="criterion, ifnull(indicator, ''), ifnull(applies_to, ''), year_from")
    cols = ["criterion", "indicator", "applies_to", "year_from", "year_to", "operator", "value",
            "unit", "source_document"]
    return df[cols].reset_index(drop=True)

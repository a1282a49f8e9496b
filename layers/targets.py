"""Targets a directive sets (chỉ tiêu), and how far the store's data has reached them.

A target is (scope unit, metric, target year) -> value: "54/94 xã đạt chuẩn by 2025" is
``communes_dat_chuan`` = 54 for the province in 2025. Metrics come only from
``layers/data/target_metrics.yaml``. Targets arrive as YAML (one file per directive)
or CSV/XLSX and are checked before anything is written.

Conventions
-----------
- ``each_child``: the target holds for every child unit of the scope ("mỗi huyện có ít
  nhất 01 xã nâng cao"); ``evaluate_targets`` expands it to one row per child.
- ``baseline_year``: for counts and criteria totals/averages the target is the change
  since that year ("thêm 11 xã trong năm 2021" = ``communes_dat_chuan``, baseline 2020,
  value 11); for ``criteria_gained`` it is the year whose status is the starting point;
  for ``criteria_gain_per_commune_per_year`` the first year of the period (default:
  the year before).
- ``value_max`` gives the top of a range ("tăng 01-1,5 tiêu chí/xã/năm"): the target is
  met from ``value`` up.
- A target value written with k decimals is compared with the actual value rounded to
  k decimals: "bình quân 16,67 tiêu chí/xã" is met by 150 criteria over 9 communes.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pandas as pd
import yaml

from . import _tables, admin_units, criteria, recognitions, status
from ._errors import CriteriaError, ValidationReport
from .store import Store, utc_now

__all__ = [
    "Target",
    "metrics",
    "targets_from_yaml",
    "targets_from_sheet",
    "import_targets",
    "record_targets",
    "evaluate_targets",
]

log = logging.getLogger(__name__)

_DATA = Path(__file__).with_name("data")
_COUNT = re.compile(r"^(communes|districts|villages)_(dat_chuan|nang_cao|kieu_mau|hoan_thanh)$")
_SELF = re.compile(r"^recognised_(dat_chuan|nang_cao|kieu_mau|hoan_thanh)$")
_CRITERIA_METRICS = ("avg_criteria_per_commune", "min_criteria_per_commune", "total_criteria")
_PLURAL = {"communes": "commune", "districts": "district", "villages": "village"}


@functools.cache
def metrics() -> dict[str, dict]:
    """The target metrics of ``layers/data/target_metrics.yaml``, by code."""
    return yaml.safe_load((_DATA / "target_metrics.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Target:
    """One target as stored in the ``targets`` table; ``where`` locates it in its file."""

    scope_code: str
    metric: str
    target_year: int
    value: float
    value_max: float | None = None
    baseline_year: int | None = None
    threshold: float | None = None
    set_id: str | None = None
    each_child: bool = False
    source_document: str | None = None
    note: str | None = None
    where: str = field(default="", compare=False)

    def key(self) -> tuple:
        return (self.scope_code, self.metric, self.target_year, self.baseline_year, self.set_id,
                self.each_child)


# --- reading target files -------------------------------------------------------------

_TOP_KEYS = {"scope", "target_year", "set_id", "source_document", "note", "targets"}
_ITEM_KEYS = {"metric", "value", "value_max", "scope", "target_year", "baseline_year",
              "threshold", "set_id", "each_child", "kind", "note", "source_document"}


def targets_from_yaml(path: str | Path) -> list[Target]:
    """Read and check a targets YAML file (no store needed).

    Layout: top-level defaults ``scope``, ``target_year``, ``set_id``,
    ``source_document``, then ``targets``: a list of mappings with ``metric`` and
    ``value`` and optionally ``scope`` (a code or a list of codes: one target each),
    ``target_year``, ``baseline_year``, ``value_max``, ``threshold``, ``set_id``,
    ``each_child``, ``kind``, ``note``.

    Raises
    ------
    ImportValidationError
        Listing every problem with its key path (``targets[2].value``).

    Examples
    --------
    ``{scope: LCI, target_year: 2025, targets: [{metric: communes_dat_chuan, value: 54}]}``
    """
    path = Path(path)
    report = ValidationReport()
    file = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        report.error(f"cannot read the YAML file: {exc}", file=file)
        report.raise_if_errors(f"targets file '{file}'")
    if not isinstance(data, dict) or not isinstance(data.get("targets"), list) or not data["targets"]:
        report.error("expected a mapping with a non-empty list 'targets'", file=file)
        report.raise_if_errors(f"targets file '{file}'")
    for key in sorted(set(data) - _TOP_KEYS):
        report.error(f"{key}: unknown key; expected {', '.join(sorted(_TOP_KEYS))}", file=file)
    out: list[Target] = []
    for k, item in enumerate(data["targets"]):
        at = f"targets[{k}]"
        if not isinstance(item, dict):
            report.error(f"{at}: expected a mapping with 'metric' and 'value', got {item!r}", file=file)
            continue
        for key in sorted(set(item) - _ITEM_KEYS):
            report.error(f"{at}.{key}: unknown key; expected one of {', '.join(sorted(_ITEM_KEYS))}",
                         file=file)
        merged = {key: data[key] for key in ("scope", "target_year", "set_id", "source_document")
                  if key in data} | item
        out += _targets_from_fields(merged, at, report, file)
    report.raise_if_errors(f"targets file '{file}'")
    return out


_SHEET_COLUMNS = {
    "scope": ("scope", "scope_code", "ma_don_vi", "don_vi", "unit_code"),
    "metric": ("metric", "chi_tieu", "ma_chi_tieu"),
    "target_year": ("target_year", "year", "nam", "nam_muc_tieu"),
    "value": ("value", "gia_tri", "muc_tieu"),
    "value_max": ("value_max", "gia_tri_toi_da"),
    "baseline_year": ("baseline_year", "nam_goc"),
    "threshold": ("threshold", "nguong"),
    "set_id": ("set_id", "bo_tieu_chi"),
    "each_child": ("each_child", "moi_don_vi_con"),
    "kind": ("kind", "loai"),
    "source_document": ("source_document", "van_ban", "can_cu"),
    "note": ("note", "ghi_chu"),
}


def targets_from_sheet(path: str | Path) -> list[Target]:
    """Read and check targets from a CSV/XLSX file: one target per row, same fields as YAML."""
    path = Path(path)
    report = ValidationReport()
    sheet = _tables.read_sheet(path, report)
    report.raise_if_errors(f"targets file '{path.name}'")
    cols = _tables.map_columns(sheet, _SHEET_COLUMNS, report, file=path.name)
    for needed in ("scope", "metric", "target_year", "value"):
        if needed not in cols:
            report.error(f"missing column '{needed}'", file=path.name)
    report.raise_if_errors(f"targets file '{path.name}'")
    out: list[Target] = []
    for k, rec in enumerate(sheet.to_dict("records")):
        fields = {name: _tables.cell(rec, col) for name, col in cols.items()}
        out += _targets_from_fields({n: v for n, v in fields.items() if v is not None},
                                    f"row {k + 2}", report, path.name)
    if not out and not report.errors:
        report.error("the file holds no targets", file=path.name)
    report.raise_if_errors(f"targets file '{path.name}'")
    return out


def _targets_from_fields(f: dict, at: str, report: ValidationReport, file: str | None) -> list[Target]:
    """Targets (one per scope code) from one item's fields; problems go to ``report``."""
    n_errors = len(report.errors)
    err = lambda key, msg: report.error(f"{at}.{key}: {msg}", file=file)  # noqa: E731
    known = metrics()
    metric = f.get("metric")
    spec = known.get(str(metric)) if metric is not None else None
    if spec is None:
        err("metric", f"unknown metric {metric!r}; expected one of {', '.join(known)} "
                      "(layers/data/target_metrics.yaml)")
    scopes = f.get("scope")
    scopes = scopes if isinstance(scopes, list) else [scopes] if scopes not in (None, "") else []
    if not scopes or not all(isinstance(s, (str, int)) and str(s).strip() for s in scopes):
        err("scope", f"expected a unit code or a list of codes, got {f.get('scope')!r}")
    target_year = _int(f.get("target_year"), "target_year", at, report, file, required=True)
    baseline = _int(f.get("baseline_year"), "baseline_year", at, report, file)
    value = _number(f.get("value"), "value", at, report, file, required=True)
    value_max = _number(f.get("value_max"), "value_max", at, report, file)
    threshold = _number(f.get("threshold"), "threshold", at, report, file)
    each_child = _bool(f.get("each_child", False), "each_child", at, report, file)
    if spec is not None:
        kind = f.get("kind")
        if kind is not None and kind != spec.get("kind"):
            allowed = [m for m, s in known.items() if s.get("kind") == kind]
            err("kind", f"kind {kind!r} is only for metric(s) {allowed or 'none'}, not '{metric}'")
        if value is not None:
            if spec.get("unit") == "share" and not 0 <= value <= 1:
                hint = f" ({value:g}% is {value / 100:g})" if 1 < value <= 100 else ""
                err("value", f"'{metric}' is a share: expected a value from 0 to 1{hint}, got {value:g}")
            elif _SELF.match(metric) and value not in (0, 1):
                err("value", f"'{metric}' is 1 (the unit holds the recognition) or 0, got {value:g}")
            elif value < 0:
                err("value", f"'{metric}' counts: expected a value >= 0, got {value:g}")
        if baseline is not None and not (_COUNT.match(metric) or metric in (
                "avg_criteria_per_commune", "total_criteria", "criteria_gained",
                "criteria_gain_per_commune_per_year")):
            err("baseline_year", f"metric '{metric}' does not use a baseline year")
    if value is not None and value_max is not None and value_max < value:
        err("value_max", f"value_max {value_max:g} is below value {value:g}")
    if target_year is not None and baseline is not None and baseline >= target_year:
        err("baseline_year", f"baseline year {baseline} should be before the target year {target_year}")
    set_id = f.get("set_id")
    if set_id is not None:
        try:
            criteria.get_set(str(set_id))
        except CriteriaError as exc:
            err("set_id", str(exc))
    if len(report.errors) > n_errors:
        return []
    return [
        Target(scope_code=str(s).strip(), metric=metric, target_year=target_year, value=value,
               value_max=value_max, baseline_year=baseline, threshold=threshold,
               set_id=None if set_id is None else str(set_id), each_child=each_child,
               source_document=_opt_text(f.get("source_document")), note=_opt_text(f.get("note")),
               where=f"{file}: {at}" if file else at)
        for s in scopes
    ]


def _int(v, key, at, report, file, *, required=False) -> int | None:
    if v is None or v == "":
        if required:
            report.error(f"{at}.{key}: missing; expected a year such as 2025", file=file)
        return None
    try:
        year = int(float(str(v))) if not isinstance(v, bool) else None
    except ValueError:
        year = None
    if year is None or not 2000 <= year <= 2100 or float(str(v)) != year:
        report.error(f"{at}.{key}: expected a year from 2000 to 2100, got {v!r}", file=file)
        return None
    return year


def _number(v, key, at, report, file, *, required=False) -> float | None:
    if v is None or v == "":
        if required:
            report.error(f"{at}.{key}: missing; expected a number", file=file)
        return None
    text = str(v).strip().replace(",", ".") if isinstance(v, str) else v
    try:
        if isinstance(text, str) and text.endswith("%"):
            number = float(text[:-1]) / 100
        elif isinstance(text, bool):
            raise ValueError
        else:
            number = float(text)
    except ValueError:
        report.error(f"{at}.{key}: expected a number, got {v!r}", file=file)
        return None
    if not math.isfinite(number):
        report.error(f"{at}.{key}: expected a finite number, got {v!r}", file=file)
        return None
    return number


def _bool(v, key, at, report, file) -> bool:
    if isinstance(v, bool):
        return v
    words = _tables.words(str(v))
    if words in ("1", "true", "yes", "x", "co"):
        return True
    if words in ("", "0", "false", "no", "khong"):
        return False
    report.error(f"{at}.{key}: expected true or false, got {v!r}", file=file)
    return False


def _opt_text(v) -> str | None:
    return None if v is None or str(v).strip() == "" else str(v).strip()


# --- writing --------------------------------------------------------------------------


def record_targets(
    store: Store,
    targets: list[Target],
    *,
    source_document: str | None = None,
    source: str | None = None,
    dry_run: bool = False,
) -> dict:
    """Check targets against the store and write them, replacing earlier ones with the
    same scope, metric, target year, baseline year, set and each_child; all or none.

    ``source_document`` fills targets that name none; ``source`` (a file name) is kept
    in the import log.

    Raises
    ------
    ImportValidationError
        Scope units missing from the store or of the wrong level for the metric, a
        target for each child of a unit that has none, repeated targets.
    """
    report = ValidationReport()
    seen: dict[tuple, str] = {}
    for t in targets:
        _check_in_store(store, t, report)
        if t.key() in seen:
            report.error(f"{t.where}: repeats the target at {seen[t.key()]} "
                         f"({t.scope_code}, {t.metric}, {t.target_year})")
        seen.setdefault(t.key(), t.where)
    if not targets:
        report.error("no targets given")
    report.raise_if_errors("targets")
    rows = pd.DataFrame([
        {k: v for k, v in asdict(replace(t, source_document=t.source_document or source_document)).items()
         if k != "where"} for t in targets
    ])
    summary = {"kind": "targets", "source": source, "rows": len(rows), "replaced": 0,
               "dry_run": dry_run}
    delete = ("DELETE FROM targets WHERE scope_code = ? AND metric = ? AND target_year = ? "
              "AND baseline_year IS ? AND set_id IS ? AND each_child = ?")
    if dry_run:
        summary["replaced"] = sum(
            store.count("targets", delete.removeprefix("DELETE FROM targets WHERE "), t.key())
            for t in targets)
        return summary
    started = utc_now()
    with store.transaction() as conn:
        summary["replaced"] = sum(conn.execute(delete, t.key()).rowcount for t in targets)
        store.insert_rows(conn, "targets", rows.assign(recorded_at=utc_now()))
        if source:
            _tables.log_import(store, conn, "targets", source, len(rows), [], started, None)
    log.info("targets: %d written, %d replaced", len(rows), summary["replaced"])
    return summary


def import_targets(
    store: Store, path: str | Path, *, source_document: str | None = None, dry_run: bool = False
) -> dict:
    """Import targets from YAML (``targets_from_yaml``) or CSV/XLSX (``targets_from_sheet``).

    ``source_document`` fills targets that name none. Returns ``rows``, ``replaced``,
    ``dry_run``.
    """
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        targets = targets_from_yaml(path)
    else:
        targets = targets_from_sheet(path)
    return record_targets(store, targets, source_document=source_document, source=str(path),
                          dry_run=dry_run)


def _check_in_store(store: Store, t: Target, report: ValidationReport) -> None:
    level = admin_units.unit_level_of(store, t.scope_code)
    if level is None:
        report.error(f"{t.where}.scope: no unit has code '{t.scope_code}' in the store")
        return
    applies = level
    if t.each_child:
        applies = _child_level(store, t.scope_code, level)
        if applies is None:
            report.error(f"{t.where}.each_child: {level} '{t.scope_code}' has no child units")
            return
    depth = admin_units.LEVELS.index
    counted = _COUNT.match(t.metric)
    selfish = _SELF.match(t.metric)
    if counted:
        counted_level = _PLURAL[counted.group(1)]
        if depth(applies) >= depth(counted_level):
            report.error(f"{t.where}.metric: '{t.metric}' counts {counted.group(1)} inside the scope, "
                         f"but '{t.scope_code}' is a {applies}")
    elif selfish:
        if applies == "province":
            report.error(f"{t.where}.metric: '{t.metric}' is held by a district, commune or village, "
                         f"'{t.scope_code}' is a province")
        elif selfish.group(1) == "hoan_thanh" and applies != "district":
            report.error(f"{t.where}.metric: 'recognised_hoan_thanh' (hoàn thành nhiệm vụ) is for "
                         f"district-level towns and cities, '{t.scope_code}' is a {applies}")
    elif applies == "village":
        report.error(f"{t.where}.metric: '{t.metric}' is computed over communes, "
                     f"'{t.scope_code}' is a village")


def _child_level(store: Store, code: str, level: str, on=None) -> str | None:
    for below in admin_units.LEVELS[admin_units.LEVELS.index(level) + 1:]:
        if not admin_units.units_in_scope(store, code, below, on=on).empty:
            return below
    return None


# --- evaluation -----------------------------------------------------------------------


class _Facts:
    """What the store says for one evaluation, computed once per (level, year, set)."""

    def __init__(self, store: Store):
        self.store = store
        self._cache: dict = {}

    def _memo(self, key, fn):
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def table(self, level: str, year: int) -> pd.DataFrame:
        """Units of a level valid at the end of ``year``."""
        return self._memo(("table", level, year), lambda: admin_units.units_table(
            self.store, level, on=admin_units.year_end(year)))

    def ancestors(self, year: int) -> dict[str, tuple[str, ...]]:
        """Unit code -> codes of the units above it (parent, grandparent …) at ``year``."""
        def build():
            parent = {}
            for level in admin_units.LEVELS:
                df = self.table(level, year)
                parent.update({c: p for c, p in zip(df["code"], df["parent_code"]) if isinstance(p, str)})
            out = {}
            for code in parent:
                chain, up = [], parent.get(code)
                while up is not None and len(chain) < 4:
                    chain.append(up)
                    up = parent.get(up)
                out[code] = tuple(chain)
            return out
        return self._memo(("ancestors", year), build)

    def units(self, scope: str, level: str, year: int) -> pd.DataFrame:
        """Units of ``level`` inside ``scope`` (itself included); xã only for communes."""
        def pick():
            df = self.table(level, year)
            up = self.ancestors(year)
            return df[df["code"].map(lambda c: c == scope or scope in up.get(c, ())).astype(bool)]
        df = self._memo(("units", scope, level, year), pick)
        return df[df["unit_type"] == "xa"] if level == "commune" else df

    def level_of(self, code: str) -> str | None:
        levels = self._memo("levels", lambda: {
            c: level for level in reversed(admin_units.LEVELS)
            for c in self.store.read_table(admin_units.schema.ADMIN_TABLE[level], columns=["code"])["code"]})
        return levels.get(code)

    def start_end(self, set_id: str, year: int, start_year: int | None) -> pd.DataFrame:
        return self._memo(("start_end", set_id, year, start_year), lambda: status.start_end_status(
            self.store, set_id, year, start_year=start_year))

    def ranks(self, level: str, year: int) -> pd.Series:
        return self._memo(("ranks", level, year), lambda: recognitions.recognition_status(
            self.store, year, unit_level=level).set_index("unit_code")["rank"])

    def met_counts(self, set_id: str, year: int) -> pd.Series:
        def count():
            s = status.status_by_year(self.store, set_id, [year])
            return s.assign(met=s["met"].fillna(False).astype(bool)).groupby("unit_code")["met"].sum()
        return self._memo(("met", set_id, year), count)

    def edk_communes(self, year: int) -> set[str]:
        def edk():
            df = admin_units.units_table(self.store, "commune", on=admin_units.year_end(year))
            return set(df.loc[df["extremely_difficult"].fillna(False).astype(bool), "code"])
        return self._memo(("edk", year), edk)


def evaluate_targets(
    store: Store,
    year: int,
    *,
    scope_code: str | None = None,
    set_id: str | None = None,
    target_year: int | None = None,
) -> pd.DataFrame:
    """Actual values for the targets of ``target_year`` (default ``year``), from the data of ``year``.

    ``evaluate_targets(store, 2024, target_year=2025)`` shows how far 2024 has come
    towards the 2025 targets. ``scope_code`` keeps targets of that unit and the units
    inside it. Criteria metrics use the target's set, else ``set_id``, else the set in
    force in ``year``; they count xã (not phường or thị trấn) with a status record.

    Returns
    -------
    DataFrame
        One row per target (per child for ``each_child`` targets): target_id,
        scope_code, scope_name, parent_scope, metric, metric_vi, target_year,
        baseline_year, value, value_max, actual, met (boolean, NA when the store cannot
        tell), gap (how far short: value - actual for "at least" targets), n_units,
        set_id, source_document, note.
    """
    target_year = year if target_year is None else int(target_year)
    table = store.read_table("targets", "target_year = ?", [target_year], order_by="id")
    facts = _Facts(store)
    if scope_code is not None:
        up = facts.ancestors(year)
        table = table[table["scope_code"].map(
            lambda c: c == scope_code or scope_code in up.get(c, ())).astype(bool)]
    rows = []
    for t in table.to_dict("records"):
        scopes = [(t["scope_code"], None)]
        if t["each_child"]:
            level = facts.level_of(t["scope_code"])
            below = admin_units.LEVELS[admin_units.LEVELS.index(level) + 1:] if level else ()
            kids: list[str] = []
            for child in below:  # the first level with units under the scope
                kids = [c for c in facts.table(child, year)["code"]
                        if facts.ancestors(year).get(c, ())[:1] == (t["scope_code"],)]
                if kids:
                    break
            scopes = [(c, t["scope_code"]) for c in sorted(kids)]
        for code, parent in scopes:
            actual, n_units, used_set, note = _actual(facts, t, code, year, set_id)
            rows.append(_result_row(t, code, parent, actual, n_units, used_set, note))
    columns = ["target_id", "scope_code", "scope_name", "parent_scope", "metric", "metric_vi",
               "target_year", "baseline_year", "value", "value_max", "actual", "met", "gap",
               "n_units", "set_id", "source_document", "note"]
    out = pd.DataFrame(rows, columns=columns)
    names: dict[str, str] = {}
    for level in admin_units.LEVELS:
        names |= _tables.unit_names(store, level, out["scope_code"])
    out["scope_name"] = out["scope_code"].map(names)
    out["met"] = out["met"].astype("boolean")
    out["actual"] = out["actual"].astype("float64")
    out["gap"] = out["gap"].astype("float64")
    return out


def _result_row(t: dict, code: str, parent, actual, n_units, used_set, note) -> dict:
    spec = metrics()[t["metric"]]
    value = float(t["value"])
    met = gap = None
    if actual is not None:
        shown = round(actual, _decimals(value))
        if spec.get("compare", ">=") == "<=":
            met, gap = shown <= value, actual - value
        else:
            met, gap = shown >= value, value - actual
        gap = round(gap, 6)
    notes = "; ".join(n for n in (t.get("note"), note) if isinstance(n, str) and n)
    return {
        "target_id": int(t["id"]), "scope_code": code, "scope_name": None, "parent_scope": parent,
        "metric": t["metric"], "metric_vi": spec.get("vi"), "target_year": int(t["target_year"]),
        "baseline_year": None if pd.isna(t["baseline_year"]) else int(t["baseline_year"]),
        "value": value, "value_max": None if pd.isna(t["value_max"]) else float(t["value_max"]),
        "actual": actual, "met": met, "gap": gap, "n_units": n_units, "set_id": used_set,
        "source_document": t["source_document"] if isinstance(t.get("source_document"), str) else None,
        "note": notes or None,
    }


def _decimals(value: float) -> int:
    text = f"{value:.6f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def _actual(facts: _Facts, t: dict, code: str, year: int, set_id: str | None):
    """(actual, n_units, set used, note) for one target at one scope unit."""
    metric = t["metric"]
    baseline = None if pd.isna(t["baseline_year"]) else int(t["baseline_year"])
    m = _COUNT.match(metric)
    if m:
        level, rank = _PLURAL[m.group(1)], recognitions.LEVEL_RANK[m.group(2)]

        def count(y):
            units = facts.units(code, level, y)
            ranks = facts.ranks(level, y).reindex(units["code"]).fillna(0)
            return float((ranks >= rank).sum()), len(units)

        actual, n = count(year)
        if baseline is not None:
            actual -= count(baseline)[0]
        return actual, n, None, None
    m = _SELF.match(metric)
    if m:
        rank = facts.ranks(facts.level_of(code), year).get(code, 0)
        return float(rank >= recognitions.LEVEL_RANK[m.group(1)]), 1, None, None
    if metric == "share_villages_dat_chuan_edk":
        villages = facts.units(code, "village", year)
        villages = villages[villages["parent_code"].isin(facts.edk_communes(year))]
        if villages.empty:
            return None, 0, None, "không có thôn thuộc xã ĐBKK / no villages in extremely difficult communes"
        ranks = facts.ranks("village", year).reindex(villages["code"]).fillna(0)
        return float((ranks >= 1).mean()), len(villages), None, None
    # criteria metrics
    try:
        own = t.get("set_id") if isinstance(t.get("set_id"), str) else None
        used = own or set_id or criteria.set_for_year(year).id
    except CriteriaError:
        return None, 0, None, f"không có bộ tiêu chí cho năm {year} / no criteria set in force in {year}; give set_id"
    communes = facts.units(code, "commune", year)["code"]

    def per_commune(y):
        return facts.met_counts(used, y).reindex(communes).dropna()

    if metric in _CRITERIA_METRICS:
        def stat(y):
            counts = per_commune(y)
            if counts.empty:
                return None, 0
            fn = {"avg_criteria_per_commune": "mean", "min_criteria_per_commune": "min",
                  "total_criteria": "sum"}[metric]
            return float(getattr(counts, fn)()), len(counts)

        actual, n = stat(year)
        if actual is not None and baseline is not None:
            before, _ = stat(baseline)
            actual = None if before is None else actual - before
        return actual, n, used, None if n else "chưa có kết quả tiêu chí / no status records"
    if metric == "criteria_gained":
        change = facts.start_end(used, year, baseline)
        change = change[change["unit_code"].isin(communes) & change["met_end"].notna()]
        if change.empty:
            return None, 0, used, "chưa có kết quả tiêu chí / no status records"
        gained = change["met_end"].astype(bool) & ~change["met_start"].fillna(False).astype(bool)
        return float(gained.sum()), int(change["unit_code"].nunique()), used, None
    if metric == "criteria_gain_per_commune_per_year":
        start = baseline if baseline is not None else year - 1
        if year <= start:
            return None, 0, used, f"năm {year} chưa sau năm gốc {start} / {year} is not after the baseline {start}"
        now, before = per_commune(year), per_commune(start)
        if now.empty or before.empty:
            return None, len(now), used, f"thiếu kết quả tiêu chí năm {start} hoặc {year} / missing status"
        return float((now.mean() - before.mean()) / (year - start)), len(now), used, None
    raise CriteriaError(f"metric '{metric}' has no evaluation rule; known: {', '.join(metrics())}")

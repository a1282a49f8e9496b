"""Scenario: what a funded plan would do to a future year's status and progress.

A scenario is never an assessment. It takes the criteria status of a *base year*, marks
the funded (commune, criterion) gaps of a plan as met, carries everything else forward
unchanged, and calls that the status of a *target year*. Nothing is written to the real
store: :func:`run_scenario` copies the store to a temporary file, writes the scenario
there (status records with source ``"scenario: <plan id>"``, and a đạt chuẩn
recognition for each xã the plan brings to every criterion), computes
``layers.progress.compute_progress`` on the copy, and deletes the copy. Reusing the
progress code keeps the scenario's arithmetic (averages, thresholds, targets, at-risk)
the same as the real report's. On the demo province (120 communes) the copy costs
~10 ms and the whole run ~2 s, most of it the two progress reports (before and after).

Conventions (each stated in ``Scenario.notes``):

- The copy's target-year status of the scope's communes is replaced by the scenario:
  real records of that year (if any) are superseded, and keys without a base-year
  assessment are retracted, so "carried forward" means exactly the base year + the plan.
- Recognitions decided after the base year are left out (revoked in the copy): the
  scenario starts from the base year's standing.
- A xã recognised in the scenario is one the plan brings to every criterion of the set
  (not recognised at base); xã that already met every criterion at base without a
  decision stay unrecognised (recognition is an administrative act, not the plan's).
- Status of years between the base and the target year is left as recorded; it shows
  in the progress trend.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import admin_units, criteria, progress, recognitions, status
from ._errors import CriteriaError
from .store import Store, utc_now

__all__ = [
    "SCENARIO_RECORDER",
    "ScenarioParameterError",
    "Scenario",
    "ScenarioResult",
    "plan_id_of",
    "project_status",
    "scenario_from_plan",
    "scenario_store",
    "run_scenario",
    "comparison_table",
]

log = logging.getLogger(__name__)

SCENARIO_RECORDER = "scenario"
_LABEL_VI = "KỊCH BẢN — không phải kết quả đánh giá"
_LABEL_EN = "SCENARIO — not an assessment"
_RECORD_INPUT = (*status.KEY_COLUMNS, "met", "value", "value_text", "source_document", "note")


class ScenarioParameterError(progress.ProgressParameterError):
    """An argument that cannot be used; ``parameter`` names it (funded, target_year …)."""


@dataclass
class Scenario:
    """The projected status of ``target_year``: base-year status plus the funded gaps.

    Attributes
    ----------
    plan_id, source
        The plan's id and the source written on scenario records ("scenario: <plan id>").
    status
        One row per commune × criterion with a base assessment or funding: unit_code,
        criterion, met_base (boolean, NA = no data), funded (bool), met (bool: the
        scenario), origin ("base", "plan" or "base+plan" when a funded criterion was
        already met).
    communes
        One row per commune in scope: unit_code, name, parent_code, unit_type, is_xa,
        extremely_difficult, rank_base (recognition at base, 0 = none), n_total,
        n_assessed_base, n_met_base, n_funded, n_met (scenario), funded (criterion
        numbers), all_met_base, all_met, reaches_standard (the plan brings it to every
        criterion), recognised_in_scenario (gets the scenario recognition).
    notes
        Bilingual sentences ("vi. / en.") a page or report prints beside the numbers.
    """

    plan_id: str
    source: str
    base_year: int
    target_year: int
    set_id: str
    n_criteria: int
    scope_code: str | None
    status: pd.DataFrame
    communes: pd.DataFrame
    label_vi: str = _LABEL_VI
    label_en: str = _LABEL_EN
    notes: list[str] = field(default_factory=list)

    @property
    def funded(self) -> pd.DataFrame:
        """The funded (unit_code, criterion) pairs the scenario applied."""
        return self.status.loc[self.status["funded"], ["unit_code", "criterion"]].reset_index(drop=True)


@dataclass
class ScenarioResult:
    """Progress recorded in the base year (``before``), and in the target year with the
    plan (``after``) and without it (``without``: the base status carried forward; None
    when not asked for).

    ``comparison`` is :func:`comparison_table`; ``timings`` the seconds of each run
    (with_plan_s and without_plan_s include copying the store and writing the scenario)
    and the counts written to the copy.
    """

    scenario: Scenario
    before: progress.Progress
    after: progress.Progress
    without: progress.Progress | None
    comparison: pd.DataFrame
    timings: dict


# --- arguments ------------------------------------------------------------------------


def _year(value, parameter: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 2000 <= int(value) <= 2100:
        raise ScenarioParameterError(parameter, f"'{parameter}' must be a year from 2000 to 2100, got {value!r}")
    return int(value)


def plan_id_of(plan) -> str:
    """A plan's id: its own ``plan_id`` / ``id`` attribute, else a stable digest of what
    defines it (year, scope, set, objective, method, cost model, funded gaps).

    Examples
    --------
    >>> plan_id_of(plan)  # doctest: +SKIP
    'P2024-D01-optimal-communes-3f2a9c1b'
    """
    for attr in ("plan_id", "id"):
        value = getattr(plan, attr, None)
        if isinstance(value, str) and value.strip():
            return value.strip()
    funded = getattr(plan, "funded", None)
    keys = sorted(zip(funded["unit_code"].astype(str), funded["criterion"].astype(int))) if funded is not None else []
    text = "|".join(str(x) for x in (plan.year, plan.scope_code, plan.set_id, plan.objective, plan.method,
                                      getattr(plan, "cost_model_version", ""), keys))
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"P{plan.year}-{plan.scope_code or 'all'}-{plan.method}-{plan.objective}-{digest}"


def _funded_pairs(funded, cset: criteria.CriteriaSet, codes: set[str]) -> pd.DataFrame:
    """Clean (unit_code, criterion) pairs; a ``funded`` column (plan.gaps) keeps True rows."""
    if funded is None:
        return pd.DataFrame({"unit_code": pd.Series(dtype=str), "criterion": pd.Series(dtype="int64")})
    if not isinstance(funded, pd.DataFrame):
        funded = pd.DataFrame(list(funded), columns=["unit_code", "criterion"])
    missing = [c for c in ("unit_code", "criterion") if c not in funded.columns]
    if missing:
        raise ScenarioParameterError("funded", f"'funded' needs the columns unit_code and criterion; "
                                               f"missing {', '.join(missing)}")
    if "funded" in funded.columns:
        funded = funded[funded["funded"].fillna(False).astype(bool)]
    out = []
    for k, (code, number) in enumerate(zip(funded["unit_code"], funded["criterion"])):
        row = funded.index[k]
        try:
            n = int(number)
            if n != float(number):
                raise ValueError
        except (TypeError, ValueError):
            raise ScenarioParameterError("funded", f"'funded' row {row}: criterion must be a whole number, "
                                                   f"got {number!r}") from None
        if n not in cset.numbers:
            raise ScenarioParameterError("funded", f"'funded' row {row}: set '{cset.id}' has no criterion {n}; "
                                                   f"expected 1 to {len(cset)}")
        if str(code) not in codes:
            raise ScenarioParameterError("funded", f"'funded' row {row}: unit_code '{code}' is not a commune of "
                                                   "the scope in the base year")
        out.append((str(code), n))
    df = pd.DataFrame(out, columns=["unit_code", "criterion"]).drop_duplicates()
    return df.astype({"criterion": "int64"}).reset_index(drop=True)


# --- the projected status -------------------------------------------------------------


def project_status(
    store: Store,
    *,
    base_year: int,
    target_year: int,
    funded=None,
    set_id: str | None = None,
    scope_code: str | None = None,
    plan_id: str = "manual",
) -> Scenario:
    """The scenario status of ``target_year``: base-year status + funded criteria met.

    Parameters
    ----------
    store
        Read only.
    base_year, target_year
        The plan's status year and the (later) year the scenario stands for.
    funded
        ``PriorityPlan.funded`` or any frame with unit_code and criterion (a frame with a
        ``funded`` column, such as ``PriorityPlan.gaps``, keeps its True rows); None is
        the "no plan" scenario.
    set_id
        The criteria set (default: in force in the base year). Status is carried within
        this set even when another is in force in the target year.
    scope_code
        A province or district (or commune) code; None is the whole store.
    plan_id
        Written on the scenario records as "scenario: <plan_id>".

    Raises
    ------
    ScenarioParameterError
        (a ValueError) naming the parameter: years, scope, set, a funded row.
    """
    base_year, target_year = _year(base_year, "year"), _year(target_year, "to_year")
    if target_year <= base_year:
        raise ScenarioParameterError("to_year", f"'to_year' must be after the base year {base_year}, "
                                                f"got {target_year}")
    if scope_code is not None:
        level = admin_units.unit_level_of(store, str(scope_code))
        if level is None or level == "village":
            raise ScenarioParameterError("scope", f"'scope' must be a province, district or commune code in the "
                                                  f"store, got {scope_code!r}")
    try:
        cset = criteria.get_set(set_id) if set_id else status.set_for_status_year(store, base_year)
    except CriteriaError as exc:
        raise ScenarioParameterError("set", f"'set': {exc}") from exc
    if cset.unit_level != "commune":
        raise ScenarioParameterError("set", f"'set' must be a commune criteria set, '{cset.id}' is for "
                                            f"{cset.unit_level} level")
    n = len(cset)
    base_units = admin_units.units_in_scope(store, scope_code, "commune", on=admin_units.year_end(base_year))
    target_codes = set(admin_units.units_in_scope(store, scope_code, "commune",
                                                  on=admin_units.year_end(target_year))["code"])
    gone = sorted(set(base_units["code"]) - target_codes)
    units = base_units[base_units["code"].isin(target_codes)].sort_values(["parent_code", "code"])
    codes = set(units["code"])
    pairs = _funded_pairs(funded, cset, set(base_units["code"]))
    dropped = pairs[~pairs["unit_code"].isin(codes)]
    pairs = pairs[pairs["unit_code"].isin(codes)]

    base = status.status_by_year(store, cset.id, [base_year])
    base = base[base["unit_code"].isin(codes) & base["criterion"].isin(cset.numbers)]
    base = base[["unit_code", "criterion", "met"]].rename(columns={"met": "met_base"})
    grid = base.merge(pairs.assign(funded=True), on=["unit_code", "criterion"], how="outer")
    grid["funded"] = grid["funded"].astype("boolean").fillna(False).astype(bool)
    grid["met_base"] = grid["met_base"].astype("boolean")
    met_base = grid["met_base"].fillna(False).astype(bool)
    grid = grid[grid["met_base"].notna() | grid["funded"]]
    met_base = met_base.loc[grid.index]
    grid["met"] = met_base | grid["funded"]
    grid["origin"] = np.where(grid["funded"], np.where(met_base, "base+plan", "plan"), "base")
    grid = grid.sort_values(["unit_code", "criterion"]).reset_index(drop=True)

    rank = recognitions.recognition_status(store, base_year, unit_level="commune", scope_code=scope_code)
    rank = rank.set_index("unit_code")["rank"]
    g = grid.groupby("unit_code")
    communes = units[["code", "name", "parent_code", "unit_type", "extremely_difficult"]].rename(
        columns={"code": "unit_code"}).reset_index(drop=True)
    communes["is_xa"] = communes["unit_type"].eq("xa")
    communes["extremely_difficult"] = communes["extremely_difficult"].fillna(False).astype(bool)
    communes["rank_base"] = communes["unit_code"].map(rank).fillna(0).astype("int64")
    communes["n_total"] = n
    assessed = grid[grid["met_base"].notna()].groupby("unit_code")
    communes["n_assessed_base"] = communes["unit_code"].map(assessed.size()).fillna(0).astype("int64")
    communes["n_met_base"] = communes["unit_code"].map(
        grid[grid["met_base"].fillna(False).astype(bool)].groupby("unit_code").size()).fillna(0).astype("int64")
    communes["n_funded"] = communes["unit_code"].map(grid[grid["funded"]].groupby("unit_code").size()
                                                      ).fillna(0).astype("int64")
    communes["n_met"] = communes["unit_code"].map(g["met"].sum()).fillna(0).astype("int64")
    funded_lists = grid[grid["funded"]].groupby("unit_code")["criterion"].agg(lambda s: [int(x) for x in s])
    communes["funded"] = [funded_lists.get(c, []) for c in communes["unit_code"]]
    communes["all_met_base"] = communes["n_met_base"] == n
    communes["all_met"] = communes["n_met"] == n
    communes["reaches_standard"] = communes["all_met"] & ~communes["all_met_base"] & (communes["n_funded"] > 0)
    communes["recognised_in_scenario"] = communes["reaches_standard"] & communes["is_xa"] & (communes["rank_base"] == 0)

    pid = str(plan_id)
    notes = [
        f"Kịch bản: tình trạng năm {target_year} = tình trạng năm {base_year} cộng các tiêu chí được cấp vốn "
        f"trong kế hoạch '{pid}'; không phải kết quả đánh giá. / Scenario: the {target_year} status is the "
        f"{base_year} status plus the criteria funded by plan '{pid}'; not an assessment.",
        f"Xã được kế hoạch đưa đến đủ {n} tiêu chí được giả định công nhận đạt chuẩn năm {target_year}; các quyết "
        f"định công nhận sau năm {base_year} không tính. / Communes the plan brings to all {n} criteria are assumed "
        f"recognised in {target_year}; recognitions decided after {base_year} are left out.",
    ]
    unrecognised_full = int((communes["all_met_base"] & communes["is_xa"] & (communes["rank_base"] == 0)).sum())
    if unrecognised_full:
        notes.append(f"{unrecognised_full} xã đã đủ tiêu chí năm {base_year} nhưng chưa có quyết định công nhận: "
                     f"kịch bản không công nhận thay. / {unrecognised_full} xã met every criterion in {base_year} "
                     "without a recognition decision: the scenario does not recognise them.")
    already = int((grid["origin"] == "base+plan").sum())
    if already:
        notes.append(f"{already} tiêu chí được cấp vốn đã đạt từ năm {base_year} (không thay đổi). / {already} funded "
                     f"criteria were already met in {base_year} (no change).")
    new_units = sorted(target_codes - set(base_units["code"]))
    if new_units:
        notes.append(f"{len(new_units)} xã mới lập sau năm {base_year} không có số liệu năm gốc: không đánh giá trong "
                     f"kịch bản. / {len(new_units)} communes formed after {base_year} have no base-year status: "
                     "not assessed in the scenario.")
    if gone or len(dropped):
        notes.append(f"{len(gone)} xã của năm {base_year} không còn năm {target_year} (sáp nhập), bỏ qua"
                     f"{f' cùng {len(dropped)} tiêu chí được cấp vốn' if len(dropped) else ''}. / {len(gone)} communes "
                     f"of {base_year} no longer exist in {target_year} (merged) and are left out"
                     f"{f' with {len(dropped)} funded criteria' if len(dropped) else ''}.")
    if target_year > base_year + 1:
        notes.append(f"Số liệu các năm {base_year + 1}–{target_year - 1} giữ nguyên như đã ghi (xu hướng). / "
                     f"Status of {base_year + 1}–{target_year - 1} is kept as recorded (it shows in the trend).")
    try:
        in_force = criteria.set_for_year(target_year).id
    except CriteriaError:
        in_force = None
    if in_force and in_force != cset.id:
        notes.append(f"Năm {target_year} áp dụng bộ tiêu chí '{in_force}'; kịch bản vẫn tính theo bộ '{cset.id}'. / "
                     f"'{in_force}' is in force in {target_year}; the scenario stays with '{cset.id}'.")
    return Scenario(pid, f"scenario: {pid}", base_year, target_year, cset.id, n, scope_code,
                    grid[["unit_code", "criterion", "met_base", "funded", "met", "origin"]], communes, notes=notes)


def scenario_from_plan(store: Store, plan, *, target_year: int | None = None) -> Scenario:
    """The scenario of a ``PriorityPlan`` (base year = plan.year; target default plan.year + 1)."""
    target = plan.year + 1 if target_year is None else target_year
    return project_status(store, base_year=plan.year, target_year=target, funded=plan.funded,
                          set_id=plan.set_id, scope_code=plan.scope_code, plan_id=plan_id_of(plan))


# --- the temporary store --------------------------------------------------------------


def _snapshot(store: Store, dest: Path) -> None:
    """Copy the store file while holding a read transaction, so no write commits mid-copy."""
    with contextlib.closing(store.connect()) as conn:
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM ntm_meta").fetchone()  # takes the shared lock
        shutil.copyfile(store.path, dest)
        conn.execute("COMMIT")


def _write(copy: Store, sc: Scenario) -> dict:
    """Write the scenario into a copy: target-year status, retractions, recognitions."""
    # every commune of the scope in the target year: those formed after the base year
    # (mergers) have no base status, so their recorded target-year status is retracted too
    codes = admin_units.units_in_scope(copy, sc.scope_code, "commune",
                                       on=admin_units.year_end(sc.target_year))["code"].tolist()
    current = status.current_status(copy, year=sc.target_year, set_id=sc.set_id, unit_codes=codes)
    keys = set(zip(sc.status["unit_code"], sc.status["criterion"].astype(int)))
    retract = current[current["met"].notna()
                      & ~pd.Series([(u, int(c)) in keys for u, c in zip(current["unit_code"], current["criterion"])],
                                   index=current.index, dtype=bool)]
    note_vi_en = f"{sc.label_vi} / {sc.label_en}"
    rows = sc.status.assign(year=sc.target_year, set_id=sc.set_id, indicator=None, value=None, value_text=None,
                            source_document=sc.source,
                            note=np.where(sc.status["funded"], note_vi_en + " (kế hoạch / plan)", note_vi_en))
    rows = rows.assign(met=rows["met"].astype(object))
    if len(retract):
        rows = pd.concat([rows, pd.DataFrame({
            "unit_code": retract["unit_code"], "criterion": retract["criterion"].astype("int64"), "met": None,
            "year": sc.target_year, "set_id": sc.set_id, "indicator": None, "value": None, "value_text": None,
            "source_document": sc.source, "note": note_vi_en + " (không có số liệu năm gốc / no base-year data)"})],
            ignore_index=True)
    with contextlib.closing(copy.connect()) as conn:
        latest = conn.execute("SELECT max(recorded_at) FROM status_records").fetchone()[0]
    stamp = max(utc_now(), latest or "")
    recognised = sc.communes[sc.communes["recognised_in_scenario"]]
    with copy.transaction() as conn:
        n_status = status.append_records(copy, rows[list(_RECORD_INPUT)], recorded_by=SCENARIO_RECORDER,
                                         source_document=sc.source, recorded_at=stamp, conn=conn)
        revoked = conn.execute(
            "UPDATE recognitions SET revoked = 1, note = ? WHERE revoked = 0 AND year > ?",
            (f"{sc.label_vi}: sau năm gốc {sc.base_year} / {sc.label_en}: after base year {sc.base_year}",
             sc.base_year)).rowcount
        copy.insert_rows(conn, "recognitions", pd.DataFrame({
            "unit_code": recognised["unit_code"], "unit_level": "commune", "level": "dat_chuan",
            "year": sc.target_year, "decision_number": sc.source, "issued_by": f"{sc.label_vi} / {sc.label_en}",
            "set_id": sc.set_id, "revoked": False, "note": note_vi_en, "recorded_at": stamp}))
    return {"status_records": n_status, "retracted": int(len(retract)), "recognitions_revoked": int(revoked),
            "recognitions_added": int(len(recognised))}


@contextlib.contextmanager
def scenario_store(store: Store, sc: Scenario):
    """A temporary copy of ``store`` with the scenario written in; deleted on exit.

    Yields ``(copy, written)`` where ``written`` counts what was written. The real store
    is only read (a shared lock while its file is copied).
    """
    with tempfile.TemporaryDirectory(prefix="ntm-scenario-") as tmp:
        path = Path(tmp) / "scenario.gpkg"
        _snapshot(store, path)
        copy = Store(path)
        written = _write(copy, sc)
        yield copy, written


# --- progress before and after --------------------------------------------------------


def comparison_table(before: progress.Progress, after: progress.Progress,
                     without: progress.Progress | None = None) -> pd.DataFrame:
    """The headline indicators: recorded in the base year, in the target year without the
    plan (status carried forward) and with it, against the targets.

    Columns: key, label_vi, label_en, unit, before, without, after, change (after −
    without: the plan's own effect; after − before when ``without`` is None), target,
    target_year, met_before, met_without, met_after (as ``layers.progress.headline_table``
    judges them).
    """
    on = ["key", "label_en"]

    def part(p: progress.Progress, name: str) -> pd.DataFrame:
        h = progress.headline_table(p)
        h = h.assign(_k=h.groupby(on).cumcount(), **{f"_pos_{name}": np.arange(len(h))})
        keep = [*on, "_k", f"_pos_{name}", "label_vi", "unit", "actual", "target", "target_year", "met"]
        return h[keep].rename(columns={
            "actual": name, "met": f"met_{name}", "target": f"target_{name}", "target_year": f"ty_{name}",
            "label_vi": f"label_vi_{name}", "unit": f"unit_{name}"})

    out = part(after, "after")
    for name, p in (("before", before), ("without", without)):
        if p is not None:
            out = out.merge(part(p, name), on=[*on, "_k"], how="outer")
        else:
            out[name], out[f"met_{name}"] = np.nan, pd.NA
    first = lambda col: out[[c for c in out.columns if c.startswith(col)]].bfill(axis=1).iloc[:, 0]  # noqa: E731
    out["label_vi"], out["unit"] = first("label_vi_"), first("unit_")
    out["target"] = first("target_")
    out["target_year"] = first("ty_").astype("Int64")
    out = out.sort_values([c for c in ("_pos_after", "_pos_without", "_pos_before") if c in out.columns],
                          na_position="last")
    ref = out["without"] if without is not None else out["before"]
    out["change"] = (out["after"] - ref).round(4)
    for col in ("met_before", "met_without", "met_after"):
        out[col] = out[col].astype("boolean")
    for col in ("before", "without", "after", "target"):
        out[col] = out[col].astype("float64")
    cols = ["key", "label_vi", "label_en", "unit", "before", "without", "after", "change", "target", "target_year",
            "met_before", "met_without", "met_after"]
    return out[cols].reset_index(drop=True)


def _progress_on_copy(store: Store, sc: Scenario, **kw) -> tuple[progress.Progress, dict]:
    with scenario_store(store, sc) as (copy, written):
        return progress.compute_progress(copy, sc.scope_code, sc.target_year, set_id=sc.set_id, **kw), written


def run_scenario(
    store: Store,
    sc: Scenario,
    *,
    threshold: int | None = None,
    targets_year: int | None = None,
    trend_years: int = progress.DEFAULT_TREND_YEARS,
    without_plan: bool = True,
) -> ScenarioResult:
    """Progress against targets: recorded in the base year, and in the target year with
    the plan (and, by default, without it: the base status carried forward).

    Each scenario is written to a temporary copy of the store (deleted before returning);
    the real store is only read. ``targets_year`` picks the targets compared with
    (default: the nearest from the target year on); every report uses the same. Without
    the "no plan" run (``without_plan=False``) the change is measured from the base year,
    and so also holds what happened to the units themselves (mergers).

    Examples
    --------
    >>> sc = scenario_from_plan(store, plan, target_year=2025)  # doctest: +SKIP
    >>> r = run_scenario(store, sc)                              # doctest: +SKIP
    >>> r.after.summary["n_dat_chuan"] - r.without.summary["n_dat_chuan"]  # doctest: +SKIP
    6
    """
    kw = {"threshold": threshold, "trend_years": trend_years}
    t0 = time.perf_counter()
    after, written = _progress_on_copy(store, sc, target_year=targets_year, **kw)
    t1 = time.perf_counter()
    without = None
    if without_plan:
        none = project_status(store, base_year=sc.base_year, target_year=sc.target_year, funded=None,
                              set_id=sc.set_id, scope_code=sc.scope_code, plan_id=f"{sc.plan_id} (no funding)")
        without, _ = _progress_on_copy(store, none, target_year=after.target_year, **kw)
    t2 = time.perf_counter()
    after.notes = [*sc.notes, *after.notes]
    before = progress.compute_progress(store, sc.scope_code, sc.base_year, set_id=sc.set_id,
                                       target_year=after.target_year, **kw)
    t3 = time.perf_counter()
    timings = {"with_plan_s": round(t1 - t0, 4), "without_plan_s": round(t2 - t1, 4),
               "base_year_s": round(t3 - t2, 4), "total_s": round(t3 - t0, 4), **written}
    log.info("scenario %s: %s", sc.plan_id, timings)
    return ScenarioResult(sc, before, after, without, comparison_table(before, after, without), timings)

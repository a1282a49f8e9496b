"""Progress of a scope towards its NTM targets: the tables a progress report is made of.

For a province or district (by code) and a year, :func:`compute_progress` gathers what
the seeds' reports state: communes đạt chuẩn / nâng cao / kiểu mẫu against their targets,
the average and minimum criteria per commune, communes below a threshold ("không còn xã
dưới 15 tiêu chí"), villages recognised (overall and in extremely difficult communes),
recognised communes now failing criteria (at risk), the criteria most often unmet, the
change since the previous year and a linear projection to the target year.

Conventions (the seeds' arithmetic):

- Only xã count. Wards and townships (phường, thị trấn) are not NTM communes: they are
  left out of every commune count and average and reported apart (``n_wards_excluded``).
- The average is total criteria met / communes assessed, rounded half up to 2 decimals
  from the exact fraction: 150 criteria in 9 xã is 16.67.
- The threshold defaults to 15 for a 19-criteria set; other sets scale it by 15/19 and
  round up (the same breaks as the map's count mode): 8 for the 10 criteria of QĐ 51.
- Counts of a level include the higher levels (a kiểu mẫu xã is also đạt chuẩn), as
  targets count them (``layers.targets``).
- The projection is a least-squares line through the last ``trend_years`` yearly values
  of the same criteria set, read at the target year; it is labelled as a projection.

Nothing here writes or formats: the Excel workbook, page, figure, CLI and API build on it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from . import admin_units, criteria, recognitions, status, targets
from ._errors import CriteriaError
from .store import Store

__all__ = [
    "LEVELS",
    "DEFAULT_TREND_YEARS",
    "ProgressParameterError",
    "Progress",
    "default_threshold",
    "round_half_up",
    "compute_progress",
    "headline_table",
]

log = logging.getLogger(__name__)

LEVELS = ("dat_chuan", "nang_cao", "kieu_mau")
DEFAULT_TREND_YEARS = 3
_THRESHOLD_19 = 15
_LEVEL_METRIC = {level: f"communes_{level}" for level in LEVELS}
_PROJECTED = ("communes_dat_chuan", "communes_nang_cao", "communes_kieu_mau", "avg_criteria_per_commune",
              "min_criteria_per_commune", "n_below_threshold", "villages_dat_chuan",
              "share_villages_dat_chuan_edk")
_EXTRA_LABELS = {"n_below_threshold": {"vi": "Số xã dưới {t} tiêu chí", "en": "Communes below {t} criteria",
                                       "compare": "<="}}
_LABELS = {"min_criteria_per_commune": {"vi": "Số tiêu chí của xã thấp nhất", "en": "Fewest criteria met by a commune"},
           "villages_dat_chuan": {"vi": "Số thôn, bản đạt chuẩn NTM (kể cả kiểu mẫu)",
                                  "en": "Villages at NTM standard (model included)"}}


class ProgressParameterError(ValueError):
    """An argument that cannot be used; ``parameter`` is the name users type (scope, year …)."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter


@dataclass
class Progress:
    """Everything a progress report shows, for one scope, year and criteria set.

    Attributes
    ----------
    scope_code, scope_name, scope_level
        The scope (None, "Toàn bộ dữ liệu", None for the whole store).
    year, set_id, set_title_vi, set_title_en, n_criteria
        The assessment year and the criteria set used.
    threshold, threshold_note
        Communes with fewer criteria met are "below the threshold"; the note says how
        the threshold was chosen.
    target_year
        The year of the targets compared with (None when the scope has none).
    summary
        Headline values: n_communes (xã), n_wards_excluded, n_assessed, n_not_assessed,
        total_criteria, average (2 decimals, half up), average_exact, minimum,
        n_below_threshold, n_at_risk, n_dat_chuan, n_nang_cao, n_kieu_mau, n_villages,
        n_villages_recognised.
    communes
        One row per xã (Biểu 01): unit_code, name, parent_code, parent_name,
        extremely_difficult, level, level_vi, rank, recognised_year, n_met, n_assessed,
        n_unmet, met, unmet, no_data (criterion lists), below_threshold, at_risk,
        n_met_previous, change.
    matrix
        xã × criterion number: True (met), False (assessed not met), NA (no data).
    levels
        Per recognition level: n (that level or higher), n_exact, share, target,
        target_year, baseline_year, target_actual, gap, met, projected.
    villages
        Rows ``all`` and ``edk`` (in extremely difficult xã): n_villages, n_dat_chuan
        (NTM or higher), n_kieu_mau, share_dat_chuan, and the matching targets.
    at_risk
        Recognised xã whose current status fails criteria (``recognitions.at_risk``).
    criteria
        Per criterion (Biểu 02): number, name_vi, name_en, n_met, n_unmet, n_no_data,
        share_met (of the xã in scope), rank_unmet (1 = most often unmet).
    targets
        ``targets.evaluate_targets`` for the scope and target year.
    trend
        Per year of the trend window: values as in ``summary`` and their change since
        the previous year (``d_*`` columns).
    projection
        Per metric: last_value, slope_per_year, projected, projection_year, target,
        on_track, years, n_points, method.
    notes
        Sentences (Vietnamese / English) a report should print beside the tables.
    """

    scope_code: str | None
    scope_name: str
    scope_level: str | None
    year: int
    set_id: str
    set_title_vi: str
    set_title_en: str
    legal_act: str
    n_criteria: int
    threshold: int
    threshold_note: str
    target_year: int | None
    trend_years: int
    summary: dict
    communes: pd.DataFrame
    matrix: pd.DataFrame
    levels: pd.DataFrame
    villages: pd.DataFrame
    at_risk: pd.DataFrame
    criteria: pd.DataFrame
    targets: pd.DataFrame
    trend: pd.DataFrame
    projection: pd.DataFrame
    projection_method: str
    notes: list[str] = field(default_factory=list)


def default_threshold(n_criteria: int) -> int:
    """15 for 19 criteria; other sets scale by 15/19 and round up (8 of 10).

    Examples
    --------
    >>> default_threshold(19), default_threshold(10)
    (15, 8)
    """
    return max(1, -(-n_criteria * _THRESHOLD_19 // 19))


def round_half_up(numerator: int | float, denominator: int | float = 1, places: int = 2) -> float:
    """numerator / denominator rounded half up, as the seeds round (150 / 9 -> 16.67).

    Integers are divided exactly (no binary rounding on the way), so 16.675 rounds up.

    Examples
    --------
    >>> round_half_up(150, 9), round_half_up(33.5, 2)
    (16.67, 16.75)
    """
    q = Decimal(str(numerator)) / Decimal(str(denominator))
    return float(q.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


# --- arguments ------------------------------------------------------------------------


def _check_args(store, scope_code, year, set_id, threshold, trend_years, target_year):
    if isinstance(year, bool) or not isinstance(year, (int, np.integer)) or not 2000 <= int(year) <= 2100:
        raise ProgressParameterError("year", f"'year' must be a year from 2000 to 2100, got {year!r}")
    year = int(year)
    level = None
    if scope_code is not None:
        level = admin_units.unit_level_of(store, str(scope_code))
        if level is None:
            raise ProgressParameterError(
                "scope", f"'scope' must be a province, district or commune code in the store, got {scope_code!r}")
        if level == "village":
            raise ProgressParameterError(
                "scope", f"'scope' must be a province, district or commune, '{scope_code}' is a village")
    try:
        cset = criteria.get_set(set_id) if set_id else status.set_for_status_year(store, year)
    except CriteriaError as exc:
        known = ", ".join(criteria.available_sets())
        raise ProgressParameterError("set", f"'set': {exc}; give one of {known}" if not set_id
                                     else f"'set': {exc}") from exc
    if cset.unit_level != "commune":
        raise ProgressParameterError("set", f"'set' must be a commune criteria set, '{cset.id}' is for "
                                            f"{cset.unit_level} level")
    n = len(cset)
    if threshold is None:
        threshold = default_threshold(n)
        if n == 19:
            note = (f"Ngưỡng {threshold} tiêu chí (như chỉ tiêu \"không còn xã dưới 15 tiêu chí\"). / "
                    f"Threshold {threshold} criteria, as in the seeds' \"no commune below 15\".")
        else:
            note = (f"Ngưỡng {threshold}/{n} tiêu chí: quy đổi 15/19 theo bộ {n} tiêu chí, làm tròn lên. / "
                    f"Threshold {threshold} of {n}: 15 of 19 scaled to the {n}-criteria set, rounded up.")
    else:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer, float)) \
                or float(threshold) != int(threshold) or not 1 <= int(threshold) <= n:
            raise ProgressParameterError(
                "threshold", f"'threshold' must be a whole number of criteria from 1 to {n} "
                             f"(set '{cset.id}'), got {threshold!r}")
        threshold = int(threshold)
        note = (f"Ngưỡng {threshold}/{n} tiêu chí (do người dùng chọn). / "
                f"Threshold {threshold} of {n} criteria (chosen by the user).")
    if isinstance(trend_years, bool) or not isinstance(trend_years, (int, np.integer)) or not 2 <= trend_years <= 10:
        raise ProgressParameterError("trend_years", f"'trend_years' must be a whole number from 2 to 10, "
                                                    f"got {trend_years!r}")
    if target_year is not None and (isinstance(target_year, bool) or not isinstance(target_year, (int, np.integer))
                                    or not year <= int(target_year) <= 2100):
        raise ProgressParameterError("target_year", f"'target_year' must be a year from {year} to 2100, "
                                                    f"got {target_year!r}")
    return year, level, cset, threshold, note


def _scope_name(store: Store, code: str | None, level: str | None, year: int) -> str:
    if code is None:
        return "Toàn bộ dữ liệu / whole store"
    units = admin_units.units_table(store, level, on=admin_units.year_end(year))
    hit = units[units["code"] == code]
    if hit.empty:  # the scope's vintage ended before the year: name from any vintage
        hit = store.read_table(admin_units.schema.ADMIN_TABLE[level], "code = ?", [code])
    full = hit["full_name"].dropna().tolist() if "full_name" in hit else []
    return str(full[0] if full else hit["name"].iloc[0])


def _default_target_year(store: Store, scope_code: str | None, year: int, scope_codes: set[str]) -> int | None:
    """The nearest target year from ``year`` on: the scope's own targets first, then those inside it."""
    df = store.read_table("targets", "target_year >= ?", [year], columns=["scope_code", "target_year"])
    if df.empty:
        return None
    own = df[df["scope_code"] == scope_code] if scope_code is not None else df.iloc[0:0]
    pick = own if len(own) else df[df["scope_code"].isin(scope_codes)] if scope_code is not None else df
    return int(pick["target_year"].min()) if len(pick) else None


# --- per year -------------------------------------------------------------------------


def _xa(store: Store, scope_code: str | None, year: int) -> tuple[pd.DataFrame, int]:
    """The xã of the scope valid at the end of ``year``, and how many wards/townships were left out."""
    units = admin_units.units_in_scope(store, scope_code, "commune", on=admin_units.year_end(year))
    xa = units[units["unit_type"] == "xa"]
    return xa.sort_values(["parent_code", "code"]).reset_index(drop=True), int(len(units) - len(xa))


@dataclass
class _Year:
    """What one year needs from the admin tables and recognitions, read once."""

    xa: pd.DataFrame
    wards: int
    ranks: pd.Series  # xã code -> rank (0 = not recognised)
    recognised: pd.DataFrame  # recognitions.recognition_status of the xã, by unit_code
    villages: pd.DataFrame  # thôn/bản of those xã: code, parent_code, rank, edk


def _year_data(store: Store, scope_code, year: int) -> _Year:
    xa, wards = _xa(store, scope_code, year)
    rec = recognitions.recognition_status(store, year, unit_level="commune")
    rec = rec.set_index("unit_code").reindex(xa["code"])
    ranks = rec["rank"].fillna(0).astype("int64")
    vil = recognitions.recognition_status(store, year, unit_level="village")
    vil = vil[vil["parent_code"].isin(xa["code"]) & (vil["unit_type"] != "to_dan_pho")]
    edk = set(xa.loc[xa["extremely_difficult"].fillna(False).astype(bool), "code"])
    vil = vil[["unit_code", "parent_code", "rank"]].assign(edk=vil["parent_code"].isin(edk))
    return _Year(xa, wards, ranks, rec, vil.reset_index(drop=True))


def _counts(status_year: pd.DataFrame, codes) -> pd.DataFrame:
    """n_met and n_assessed per unit (index unit_code) from criterion-level rows."""
    s = status_year[status_year["unit_code"].isin(codes) & status_year["met"].notna()]
    met = s["met"].astype(bool)
    out = pd.DataFrame({"n_met": met.groupby(s["unit_code"]).sum(),
                        "n_assessed": met.groupby(s["unit_code"]).size()})
    return out.reindex(list(codes)).fillna(0).astype("int64")


def _year_values(data: _Year, year: int, status_year: pd.DataFrame, threshold: int) -> dict:
    """The headline values of one year (used for the trend and the projection)."""
    counts = _counts(status_year, data.xa["code"])
    assessed = counts[counts["n_assessed"] > 0]["n_met"]
    villages = _village_counts(data)
    out = {"year": year, "n_communes": len(data.xa), "n_assessed": len(assessed),
           "total_criteria": int(assessed.sum()) if len(assessed) else None,
           "avg_criteria_per_commune": round_half_up(int(assessed.sum()), len(assessed)) if len(assessed) else None,
           "min_criteria_per_commune": int(assessed.min()) if len(assessed) else None,
           "n_below_threshold": int((assessed < threshold).sum()) if len(assessed) else None}
    for level in LEVELS:
        out[_LEVEL_METRIC[level]] = int((data.ranks >= recognitions.LEVEL_RANK[level]).sum())
    out["n_villages"] = villages["all"]["n_villages"]
    out["villages_dat_chuan"] = villages["all"]["n_dat_chuan"]
    out["share_villages_dat_chuan_edk"] = villages["edk"]["share_dat_chuan"]
    return out


def _village_counts(data: _Year) -> dict[str, dict]:
    out = {}
    for key, part in (("all", data.villages), ("edk", data.villages[data.villages["edk"]])):
        n = len(part)
        n_dc = int((part["rank"] >= 1).sum())
        out[key] = {"n_villages": n, "n_dat_chuan": n_dc, "n_kieu_mau": int((part["rank"] >= 3).sum()),
                    "share_dat_chuan": round(n_dc / n, 4) if n else None}
    return out


# --- the report -----------------------------------------------------------------------


def compute_progress(
    store: Store,
    scope_code: str | None,
    year: int,
    *,
    set_id: str | None = None,
    threshold: int | None = None,
    target_year: int | None = None,
    trend_years: int = DEFAULT_TREND_YEARS,
    as_of=None,
) -> Progress:
    """Progress of a scope in a year against its targets, with the trend and a projection.

    Parameters
    ----------
    store
        The store to read (nothing is written).
    scope_code
        A province, district or commune code; None is the whole store.
    year
        The assessment year.
    set_id
        The criteria set (default: the set in force in ``year``).
    threshold
        Communes with fewer criteria met count as "below" (default 15 for 19 criteria,
        scaled for other sets: see :func:`default_threshold`).
    target_year
        Targets of this year (default: the nearest year from ``year`` on with targets of
        the scope itself, else of units inside it).
    trend_years
        How many years (ending at ``year``) the trend and the projection use.
    as_of
        Status as recorded up to this date (see ``layers.status.as_of_cutoff``).

    Raises
    ------
    ProgressParameterError
        (a ValueError) naming the parameter: unknown scope, bad year, unknown set …

    See Also
    --------
    layers.targets.evaluate_targets, layers.recognitions.at_risk

    Examples
    --------
    >>> p = compute_progress(store, "D01-02", 2024)  # doctest: +SKIP
    >>> p.summary["average"]  # doctest: +SKIP
    16.67
    """
    year, level, cset, threshold, threshold_note = _check_args(
        store, scope_code, year, set_id, threshold, trend_years, target_year)
    trend_years = int(trend_years)
    n = len(cset)
    years = list(range(year - trend_years + 1, year + 1))
    status_all = status.status_by_year(store, cset.id, sorted({*years, year - 1}), as_of=as_of)
    by_year = {y: status_all[status_all["year"] == y] for y in sorted({*years, year - 1})}

    data = {y: _year_data(store, scope_code, y) for y in years}
    # communes of the year
    xa, wards = data[year].xa, data[year].wards
    codes = xa["code"].tolist()
    now = by_year[year]
    now = now[now["unit_code"].isin(codes) & now["met"].notna()]
    matrix = (now.pivot_table(index="unit_code", columns="criterion", values="met", aggfunc="last")
              if len(now) else pd.DataFrame())
    matrix = matrix.reindex(index=codes, columns=cset.numbers).astype("boolean")
    matrix.index.name, matrix.columns.name = "unit_code", "criterion"
    counts = _counts(by_year[year], codes)
    previous = _counts(by_year[year - 1], codes)
    rec = data[year].recognised
    risk = recognitions.at_risk(store, year, cset.id, as_of=as_of, scope_code=scope_code)
    risk = risk[risk["unit_code"].isin(codes)].reset_index(drop=True)
    parents = _parent_names(store, year)

    communes = xa[["code", "name", "parent_code", "extremely_difficult"]].rename(columns={"code": "unit_code"})
    communes["parent_name"] = communes["parent_code"].map(parents)
    communes["extremely_difficult"] = communes["extremely_difficult"].fillna(False).astype(bool)
    for col in ("level", "level_vi", "rank", "recognised_year"):
        communes[col] = communes["unit_code"].map(rec[col]).to_numpy()
    communes["rank"] = communes["rank"].fillna(0).astype("int64")
    communes["recognised_year"] = communes["recognised_year"].astype("Int64")
    communes["n_met"] = counts["n_met"].to_numpy()
    communes["n_assessed"] = counts["n_assessed"].to_numpy()
    communes["n_unmet"] = communes["n_assessed"] - communes["n_met"]
    rows = matrix.to_numpy(dtype=object, na_value=None)
    communes["met"] = [[c for c, v in zip(cset.numbers, r) if v is True] for r in rows]
    communes["unmet"] = [[c for c, v in zip(cset.numbers, r) if v is False] for r in rows]
    communes["no_data"] = [[c for c, v in zip(cset.numbers, r) if v is None] for r in rows]
    assessed_mask = communes["n_assessed"] > 0
    communes["below_threshold"] = pd.array(
        np.where(assessed_mask, communes["n_met"] < threshold, None), dtype="boolean")
    communes["at_risk"] = communes["unit_code"].isin(risk["unit_code"])
    had_previous = (previous["n_assessed"] > 0).to_numpy()
    communes["n_met_previous"] = pd.array(np.where(had_previous, previous["n_met"], None), dtype="Int64")
    communes["change"] = pd.array(
        np.where(had_previous & assessed_mask.to_numpy(), communes["n_met"] - previous["n_met"].to_numpy(), None),
        dtype="Int64")
    communes = communes[["unit_code", "name", "parent_code", "parent_name", "extremely_difficult", "level",
                         "level_vi", "rank", "recognised_year", "n_met", "n_assessed", "n_unmet", "met", "unmet",
                         "no_data", "below_threshold", "at_risk", "n_met_previous", "change"]]

    # criteria (Biểu 02)
    n_xa = len(codes)
    crit = pd.DataFrame({"number": cset.numbers,
                         "name_vi": [c.name_vi for c in cset.criteria],
                         "name_en": [c.name_en for c in cset.criteria]})
    crit["n_met"] = [int(matrix[c].eq(True).sum()) for c in cset.numbers]
    crit["n_unmet"] = [int(matrix[c].eq(False).sum()) for c in cset.numbers]
    crit["n_no_data"] = n_xa - crit["n_met"] - crit["n_unmet"]
    crit["share_met"] = (crit["n_met"] / n_xa).round(4) if n_xa else np.nan
    crit["rank_unmet"] = crit["n_unmet"].rank(method="min", ascending=False).astype("int64")

    # trend, targets, projection
    trend = _trend(data, by_year, threshold)
    scope_codes = set(codes) | set(xa["parent_code"].dropna())
    target_year = int(target_year) if target_year is not None else _default_target_year(
        store, scope_code, year, scope_codes)
    evaluated = (targets.evaluate_targets(store, year, scope_code=scope_code, set_id=cset.id,
                                          target_year=target_year)
                 if target_year is not None else _empty_targets())
    projection, method = _projection(trend, year, target_year, evaluated, scope_code, n, n_xa, threshold)
    this = trend[trend["year"] == year].iloc[0]

    levels = _levels(communes, n_xa, evaluated, scope_code, projection)
    villages = _villages_table(_village_counts(data[year]), evaluated, scope_code)
    assessed = communes.loc[assessed_mask, "n_met"]
    summary = {
        "n_communes": n_xa, "n_wards_excluded": wards, "n_assessed": int(assessed_mask.sum()),
        "n_not_assessed": int((~assessed_mask).sum()),
        "total_criteria": int(assessed.sum()) if len(assessed) else None,
        "average": round_half_up(int(assessed.sum()), len(assessed)) if len(assessed) else None,
        "average_exact": float(assessed.mean()) if len(assessed) else None,
        "minimum": int(assessed.min()) if len(assessed) else None,
        "n_below_threshold": int((assessed < threshold).sum()) if len(assessed) else None,
        "n_at_risk": int(len(risk)),
        **{f"n_{lv}": int(this[_LEVEL_METRIC[lv]]) for lv in LEVELS},
        "n_villages": int(villages.loc["all", "n_villages"]),
        "n_villages_recognised": int(villages.loc["all", "n_dat_chuan"]),
    }
    notes = [threshold_note]
    if wards:
        notes.append(f"Chỉ tính xã: {wards} phường, thị trấn không thuộc đối tượng xét công nhận xã NTM. / "
                     f"Only xã count: {wards} wards and townships are not NTM communes.")
    if summary["n_not_assessed"]:
        notes.append(f"{summary['n_not_assessed']} xã chưa có số liệu đánh giá năm {year}, không tính vào bình "
                     f"quân. / {summary['n_not_assessed']} xã without an assessment in {year} are left out of "
                     "the average.")
    if target_year is None:
        notes.append(f"Chưa có chỉ tiêu từ năm {year} trở đi cho phạm vi này. / No targets from {year} on "
                     "for this scope.")
    notes.append(method)
    return Progress(
        scope_code=scope_code, scope_name=_scope_name(store, scope_code, level, year), scope_level=level,
        year=year, set_id=cset.id, set_title_vi=cset.title_vi, set_title_en=cset.title_en,
        legal_act=cset.legal_act, n_criteria=n, threshold=threshold, threshold_note=threshold_note,
        target_year=target_year, trend_years=trend_years, summary=summary, communes=communes.reset_index(drop=True),
        matrix=matrix, levels=levels, villages=villages.reset_index(), at_risk=risk, criteria=crit,
        targets=evaluated, trend=trend, projection=projection, projection_method=method, notes=notes,
    )


def _parent_names(store: Store, year: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for level in ("province", "district"):
        units = admin_units.units_table(store, level, on=admin_units.year_end(year))
        out.update(zip(units["code"], units["name"]))
    return out


def _empty_targets() -> pd.DataFrame:
    return pd.DataFrame(columns=["target_id", "scope_code", "scope_name", "parent_scope", "metric", "metric_vi",
                                 "target_year", "baseline_year", "value", "value_max", "actual", "met", "gap",
                                 "n_units", "set_id", "source_document", "note"])


def _trend(data: dict[int, _Year], by_year, threshold) -> pd.DataFrame:
    rows = [_year_values(d, y, by_year[y], threshold) for y, d in data.items()]
    trend = pd.DataFrame(rows)
    for col in ("total_criteria", "min_criteria_per_commune", "n_below_threshold"):
        trend[col] = trend[col].astype("Int64")
    for col in ("avg_criteria_per_commune", "share_villages_dat_chuan_edk"):
        trend[col] = trend[col].astype("float64")
    for col in ("avg_criteria_per_commune", "total_criteria", "min_criteria_per_commune", "n_below_threshold",
                *(_LEVEL_METRIC[lv] for lv in LEVELS), "villages_dat_chuan"):
        diff = trend[col].astype("float64").diff()
        trend[f"d_{col}"] = diff.round(2) if col == "avg_criteria_per_commune" else diff.astype("Int64")
    return trend


def _target_for(evaluated: pd.DataFrame, scope_code, metric: str) -> pd.Series | None:
    """The scope's own target for a metric as a level to reach (targets set as a change
    since a baseline year are compared in ``headline_table`` and the targets table)."""
    if evaluated.empty:
        return None
    hit = evaluated[(evaluated["metric"] == metric) & evaluated["parent_scope"].isna()
                    & evaluated["baseline_year"].isna()]
    if scope_code is not None:
        hit = hit[hit["scope_code"] == scope_code]
    return None if hit.empty else hit.iloc[0]


def _projection(trend: pd.DataFrame, year: int, target_year: int | None, evaluated, scope_code,
                n_criteria: int, n_xa: int, threshold: int) -> tuple[pd.DataFrame, str]:
    columns = ["metric", "label_vi", "label_en", "last_value", "slope_per_year", "projected", "projection_year",
               "target", "compare", "on_track", "years", "n_points", "method"]
    first, last = int(trend["year"].min()), int(trend["year"].max())
    if target_year is None or target_year <= year:
        why = ("chưa có năm mục tiêu sau năm báo cáo" if target_year is None
               else f"năm mục tiêu {target_year} không sau năm báo cáo {year}")
        why_en = ("no target year after the report year" if target_year is None
                  else f"target year {target_year} is not after the report year {year}")
        return pd.DataFrame(columns=columns), f"Không dự báo: {why}. / No projection: {why_en}."
    method = (f"Dự báo (không phải kết quả): đường thẳng bình phương tối thiểu qua số liệu các năm {first}–{last}, "
              f"kéo dài đến năm {target_year}. / Projection, not a result: least-squares straight line through "
              f"the yearly values {first}–{last}, extended to {target_year}.")
    specs = targets.metrics()
    rows = []
    for metric in _PROJECTED:
        values = trend[["year", metric]].dropna()
        xs, ys = values["year"].to_numpy(float), values[metric].to_numpy(float)
        spec = dict(specs.get(metric) or _EXTRA_LABELS[metric])
        spec |= {k: v for k, v in _LABELS.get(metric, {}).items()}
        spec = {k: v.format(t=threshold) if isinstance(v, str) else v for k, v in spec.items()}
        slope = projected = None
        if len(xs) >= 2:
            slope, intercept = np.polyfit(xs, ys, 1)
            projected = slope * target_year + intercept
            top = {"avg_criteria_per_commune": n_criteria, "min_criteria_per_commune": n_criteria,
                   "share_villages_dat_chuan_edk": 1.0,
                   "villages_dat_chuan": int(trend["n_villages"].iloc[-1])}.get(metric, n_xa)
            projected = float(min(max(projected, 0.0), top))
            slope, projected = round(float(slope), 4), round(projected, 2 if metric != "share_villages_dat_chuan_edk" else 4)
        target = _target_for(evaluated, scope_code, metric)
        target_value = None if target is None else float(target["value"])
        compare = spec.get("compare", ">=")
        on_track = None
        if projected is not None and target_value is not None:
            on_track = projected >= target_value if compare == ">=" else projected <= target_value
        rows.append({"metric": metric, "label_vi": spec["vi"], "label_en": spec["en"],
                     "last_value": float(ys[-1]) if len(ys) and int(xs[-1]) == year else None,
                     "slope_per_year": slope, "projected": projected, "projection_year": target_year,
                     "target": target_value, "compare": compare, "on_track": on_track,
                     "years": f"{int(xs[0])}–{int(xs[-1])}" if len(xs) else "", "n_points": int(len(xs)),
                     "method": "linear_least_squares" if projected is not None else "too_few_years"})
    out = pd.DataFrame(rows, columns=columns)
    out["on_track"] = out["on_track"].astype("boolean")
    for col in ("last_value", "slope_per_year", "projected", "target"):
        out[col] = out[col].astype("float64")
    return out, method


def _levels(communes: pd.DataFrame, n_xa: int, evaluated, scope_code, projection) -> pd.DataFrame:
    labels = admin_units.vocabulary()["recognition_levels"]
    proj = projection.set_index("metric")["projected"] if len(projection) else pd.Series(dtype=float)
    rows = []
    for level in LEVELS:
        rank = recognitions.LEVEL_RANK[level]
        n = int((communes["rank"] >= rank).sum())
        metric = _LEVEL_METRIC[level]
        target = _target_for(evaluated, scope_code, metric)
        rows.append({
            "level": level, "label_vi": labels[level]["vi"], "label_en": labels[level]["en"], "metric": metric,
            "n": n, "n_exact": int((communes["level"] == level).sum()), "n_communes": n_xa,
            "share": round(n / n_xa, 4) if n_xa else None,
            "target": None if target is None else float(target["value"]),
            "target_year": None if target is None else int(target["target_year"]),
            "baseline_year": None if target is None or pd.isna(target["baseline_year"]) else int(target["baseline_year"]),
            "target_actual": None if target is None or pd.isna(target["actual"]) else float(target["actual"]),
            "gap": None if target is None or pd.isna(target["gap"]) else float(target["gap"]),
            "met": None if target is None or pd.isna(target["met"]) else bool(target["met"]),
            "projected": float(proj[metric]) if metric in proj.index and not pd.isna(proj[metric]) else None,
        })
    out = pd.DataFrame(rows)
    out["met"] = out["met"].astype("boolean")
    for col in ("target", "target_actual", "gap", "projected", "share"):
        out[col] = out[col].astype("float64")
    for col in ("target_year", "baseline_year"):
        out[col] = out[col].astype("Int64")
    return out


def _villages_table(counts: dict[str, dict], evaluated, scope_code) -> pd.DataFrame:
    rows = []
    for key, label_vi, label_en, metric in (
            ("all", "Tất cả thôn, bản", "All villages", "villages_dat_chuan"),
            ("edk", "Thôn, bản thuộc xã đặc biệt khó khăn", "Villages in extremely difficult communes",
             "share_villages_dat_chuan_edk")):
        target = _target_for(evaluated, scope_code, metric)
        kieu_mau = _target_for(evaluated, scope_code, "villages_kieu_mau") if key == "all" else None
        rows.append({"group": key, "label_vi": label_vi, "label_en": label_en, **counts[key],
                     "target_metric": metric if target is not None else None,
                     "target": None if target is None else float(target["value"]),
                     "target_year": None if target is None else int(target["target_year"]),
                     "baseline_year": None if target is None or pd.isna(target["baseline_year"])
                     else int(target["baseline_year"]),
                     "target_actual": None if target is None or pd.isna(target["actual"]) else float(target["actual"]),
                     "met": None if target is None or pd.isna(target["met"]) else bool(target["met"]),
                     "target_kieu_mau": None if kieu_mau is None else float(kieu_mau["value"]),
                     "target_kieu_mau_actual": None if kieu_mau is None or pd.isna(kieu_mau["actual"])
                     else float(kieu_mau["actual"])})
    out = pd.DataFrame(rows).set_index("group")
    out["met"] = out["met"].astype("boolean")
    for col in ("share_dat_chuan", "target", "target_actual", "target_kieu_mau", "target_kieu_mau_actual"):
        out[col] = out[col].astype("float64")
    for col in ("target_year", "baseline_year"):
        out[col] = out[col].astype("Int64")
    return out


_HEADLINE = (  # key, vi, en, unit
    ("n_communes", "Số xã (không tính phường, thị trấn)", "Communes (xã; wards and townships left out)", "count"),
    ("communes_dat_chuan", "Số xã đạt chuẩn NTM (kể cả nâng cao, kiểu mẫu)",
     "Communes at NTM standard (advanced and model included)", "count"),
    ("communes_nang_cao", "Số xã đạt chuẩn NTM nâng cao (kể cả kiểu mẫu)",
     "Communes at advanced NTM (model included)", "count"),
    ("communes_kieu_mau", "Số xã đạt chuẩn NTM kiểu mẫu", "Communes at model NTM", "count"),
    ("total_criteria", "Tổng số tiêu chí đạt", "Total criteria met", "count"),
    ("avg_criteria_per_commune", "Bình quân tiêu chí/xã", "Average criteria met per commune", "criteria"),
    ("min_criteria_per_commune", "Số tiêu chí của xã thấp nhất", "Fewest criteria met by a commune", "count"),
    ("n_below_threshold", "Số xã dưới {t} tiêu chí", "Communes below {t} criteria", "count"),
    ("n_at_risk", "Số xã đã đạt chuẩn nay có tiêu chí không đạt (nguy cơ)",
     "Recognised communes now failing criteria (at risk)", "count"),
    ("villages_dat_chuan", "Số thôn, bản đạt chuẩn NTM (kể cả kiểu mẫu)", "Villages at NTM standard (model included)",
     "count"),
    ("villages_kieu_mau", "Số thôn, bản kiểu mẫu", "Model villages", "count"),
    ("share_villages_dat_chuan_edk", "Tỷ lệ thôn, bản thuộc xã ĐBKK đạt chuẩn NTM",
     "Share of villages in extremely difficult communes recognised", "share"),
)


def headline_table(p: Progress) -> pd.DataFrame:
    """The headline values against the scope's own targets, one row per indicator.

    The table a progress report starts with (and ``ntm progress`` prints): actual value
    in the year, target and target year, gap, whether met (as ``layers.targets``
    judges it), and the projection to the target year. A target set as a change since a
    baseline year ("thêm 5 thôn") gets its own row with the change as the actual value;
    the scope's other targets (criteria gained, districts …) follow.

    Columns: key, label_vi, label_en, unit, actual, target, target_year, baseline_year,
    gap, met, projected.
    """
    s, villages = p.summary, p.villages.set_index("group")
    actual = {
        "n_communes": s["n_communes"], "communes_dat_chuan": s["n_dat_chuan"], "communes_nang_cao": s["n_nang_cao"],
        "communes_kieu_mau": s["n_kieu_mau"], "total_criteria": s["total_criteria"],
        "avg_criteria_per_commune": s["average"], "min_criteria_per_commune": s["minimum"],
        "n_below_threshold": s["n_below_threshold"], "n_at_risk": s["n_at_risk"],
        "villages_dat_chuan": int(villages.loc["all", "n_dat_chuan"]),
        "villages_kieu_mau": int(villages.loc["all", "n_kieu_mau"]),
        "share_villages_dat_chuan_edk": villages.loc["edk", "share_dat_chuan"],
    }
    own = p.targets[p.targets["parent_scope"].isna()]
    if p.scope_code is not None:
        own = own[own["scope_code"] == p.scope_code]
    projected = dict(zip(p.projection["metric"], p.projection["projected"])) if len(p.projection) else {}
    used: set = set()
    rows = []

    def row(key, vi, en, unit, value, target=None, **extra):
        out = {"key": key, "label_vi": vi, "label_en": en, "unit": unit, "actual": value,
               "target": None, "target_year": None, "baseline_year": None, "gap": None, "met": None,
               "projected": projected.get(key)}
        if target is not None:
            out |= {"target": float(target["value"]), "target_year": int(target["target_year"]),
                    "gap": None if pd.isna(target["gap"]) else float(target["gap"]),
                    "met": None if pd.isna(target["met"]) else bool(target["met"])}
            used.add(target["target_id"])
        rows.append(out | extra)

    min_target = None
    for key, vi, en, unit in _HEADLINE:
        vi, en = vi.format(t=p.threshold), en.format(t=p.threshold)
        mine = own[own["metric"] == key]
        level = mine[mine["baseline_year"].isna()]
        target = level.iloc[0] if len(level) else None
        if key == "min_criteria_per_commune":
            min_target = target
        if key == "n_below_threshold" and min_target is not None and float(min_target["value"]) == p.threshold:
            value = actual[key]  # "không còn xã dưới 15 tiêu chí" is a target of 0 communes below 15
            row(key, vi, en, unit, value)
            rows[-1] |= {"target": 0.0, "target_year": int(min_target["target_year"]),
                         "gap": None if value is None else float(value),
                         "met": None if value is None else value == 0}
            continue
        row(key, vi, en, unit, actual[key], target)
        for _, change in mine[mine["baseline_year"].notna()].iterrows():
            b = int(change["baseline_year"])
            row(key, f"{vi}: tăng thêm so với năm {b}", f"{en}: increase since {b}", unit,
                None if pd.isna(change["actual"]) else float(change["actual"]), change, baseline_year=b)
            rows[-1]["projected"] = None
    for _, other in own[~own["target_id"].isin(used)].iterrows():
        spec = targets.metrics()[other["metric"]]
        b = None if pd.isna(other["baseline_year"]) else int(other["baseline_year"])
        row(other["metric"], spec["vi"] + (f" (so với năm {b})" if b else ""),
            spec["en"] + (f" (since {b})" if b else ""),
            spec.get("unit", "criteria" if "criteria_per_commune" in other["metric"]
                     or other["metric"] == "criteria_gain_per_commune_per_year" else "count"),
            None if pd.isna(other["actual"]) else float(other["actual"]), other, baseline_year=b)
    out = pd.DataFrame(rows)
    out["met"] = out["met"].astype("boolean")
    for col in ("actual", "target", "gap", "projected"):
        out[col] = out[col].astype("float64")
    for col in ("target_year", "baseline_year"):
        out[col] = out[col].astype("Int64")
    return out


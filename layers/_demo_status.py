"""Criteria status history and recognitions of the synthetic demo communes.

Each xã has a latent development score s (right-skewed: a long tail of well-off
communes, a bounded tail of poor ones) tied to its remoteness. Criterion c is met in
year t when ``s + e_c - d_c + offset + g * (t - 2021) > 0``: d_c makes the seeds' hard
criteria (income, poverty, production, transport, cultural facilities, schools,
environment) rarer, e_c is the commune's own mix, g its pace. The offset and the pace
are calibrated on the drawn communes so the province averages ~14 criteria in 2021 and
~16.8 in 2025, as the seeds' provinces did. A few recognised communes then lose one or
two hard criteria for a year or two: the "at risk" communes the seeds worry about.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

__all__ = ["CriteriaModel", "criteria_model", "latent_scores", "qd51_status", "status_rows"]

YEARS = (2021, 2022, 2023, 2024, 2025)
SET_318 = "qd318-2022-xa-ntm"
SET_51 = "qd51-2025-xa-ntm"
# share of average communes meeting each QĐ 318 criterion in 2021 (1..19)
SHARE_318 = np.array([0.95, 0.45, 0.85, 0.85, 0.5, 0.45, 0.65, 0.9, 0.75, 0.3,
                      0.3, 0.9, 0.4, 0.9, 0.8, 0.85, 0.35, 0.9, 0.95])
# the stricter QĐ 51 set (1..10): fewer criteria met
SHARE_51 = np.array([0.8, 0.45, 0.4, 0.6, 0.55, 0.4, 0.35, 0.5, 0.75, 0.8])
HARD = np.array([10, 11, 13, 17, 2, 6])  # the criteria recognised communes slip on
GAIN_DATES = ("06-30", "09-30", "12-15")
_SPREAD_S, _SPREAD_E = 0.7, 0.45


@dataclass
class CriteriaModel:
    """Status of the model units (xã) per year: at the first review and at year end."""

    start: dict[int, np.ndarray]  # year -> (n, 19) bool, recorded at <year>-03-31
    end: dict[int, np.ndarray]  # year -> (n, 19) bool, after the year's later records
    gain_date: dict[int, np.ndarray]  # year -> (n, 19) 'MM-DD' of the gain record
    score: np.ndarray  # latent development score s
    recognised_year: np.ndarray  # first year with all 19 (baseline 2016-2020), or 0
    at_risk: np.ndarray  # bool: recognised, then lost a criterion
    margin51: np.ndarray  # (n, 10) 2026 margins under QĐ 51

    def counts(self, year: int) -> np.ndarray:
        return self.end[year].sum(axis=1)


def latent_scores(rng, propensity: np.ndarray) -> np.ndarray:
    """Right-skewed scores assigned in the order of ``propensity`` (plus noise)."""
    draws = np.sort(_SPREAD_S * (rng.gamma(1.0, 1.0, len(propensity)) - 1.0))
    rank = np.argsort(np.argsort(propensity + rng.normal(0, 0.35, len(propensity))))
    return draws[rank]


def _bisect(fn, lo: float, hi: float, target: float) -> float:
    for _ in range(60):
        mid = (lo + hi) / 2
        if fn(mid) < target:
            lo = mid
        else:
            hi = mid
    return hi


def criteria_model(rng, score: np.ndarray, *, mean_2021: float = 14.0, mean_2025: float = 16.8) -> CriteriaModel:
    """Draw and calibrate the 2020-2025 status of every model unit (see module docstring)."""
    n = len(score)
    d = norm.ppf(1 - SHARE_318) * np.hypot(_SPREAD_S, _SPREAD_E)
    e = rng.normal(0, _SPREAD_E, (n, 19))
    pace = rng.uniform(0.4, 1.6, n)
    base = score[:, None] + e - d

    def met(offset, k, year):
        return base + offset + k * pace[:, None] * (year - 2021) > 0

    offset = _bisect(lambda o: met(o, 0, 2021).sum(axis=1).mean(), -4, 4, mean_2021)
    # the poorest communes still meet the easy criteria: lift them to a floor of 8-9 in 2021
    floor = 8 + int(rng.integers(0, 2))
    for _ in range(100):
        low = met(offset, 0, 2021).sum(axis=1) < floor
        if not low.any():
            break
        base[low] += 0.05
        offset = _bisect(lambda o: met(o, 0, 2021).sum(axis=1).mean(), -4, 4, mean_2021)
    k = _bisect(lambda k: met(offset, k, 2025).sum(axis=1).mean(), 0, 3, mean_2025)
    end = {t: met(offset, k, t) for t in range(2020, 2026)}
    if not end[2020].all(axis=1).any():  # keep a baseline of communes recognised before 2021
        top = int(np.argmax(score))
        for t in end:
            end[t][top] = True
    first = np.zeros(n, dtype=int)
    for t in range(2025, 2019, -1):
        first[end[t].all(axis=1)] = t
    baseline = end[2020].all(axis=1)
    recognised_year = np.where(baseline, rng.choice([2016, 2017, 2018, 2019, 2020], n, p=[0.1, 0.15, 0.2, 0.25, 0.3]), first)
    # at risk: some communes recognised by 2023 lose 1-2 hard criteria in a later year
    lost = {t: np.zeros((n, 19), dtype=bool) for t in YEARS}
    candidates = np.flatnonzero((recognised_year > 0) & (recognised_year <= 2023))
    at_risk = np.zeros(n, dtype=bool)
    if len(candidates):
        chosen = rng.choice(candidates, max(1, round(0.08 * len(candidates))), replace=False)
        for i in chosen:
            year = int(rng.integers(max(recognised_year[i] + 1, 2022), 2026))
            crit = rng.choice(HARD, int(rng.integers(1, 3)), replace=False) - 1
            lost[year][i, crit] = True
            if year < 2025 and rng.random() < 0.5:
                lost[year + 1][i, crit] = True
            at_risk[i] = True
    start, gain_date = {}, {}
    for t in YEARS:
        end[t] = end[t] & ~lost[t]
        newly = lost[t] & ~(lost[t - 1] if t - 1 in lost else False)
        start[t] = end[t - 1] & ~newly
        gains = end[t] & ~start[t]
        gain_date[t] = np.where(gains, np.array(GAIN_DATES)[rng.choice(3, (n, 19), p=[0.35, 0.35, 0.3])], "")
    d51 = norm.ppf(1 - SHARE_51) * np.hypot(_SPREAD_S, _SPREAD_E)
    base51 = score[:, None] + rng.normal(0, _SPREAD_E, (n, 10)) - d51
    # the 2026-2030 set is stricter: a quarter fewer criteria met than the 2025 share
    offset51 = _bisect(lambda o: (base51 + o > 0).sum(axis=1).mean(), -4, 4, 10 * mean_2025 / 19 * 0.75)
    margin51 = base51 + offset51
    return CriteriaModel(start, end, gain_date, score, recognised_year, at_risk, margin51)


def status_rows(units: pd.DataFrame) -> pd.DataFrame:
    """status_records rows from per-unit-year status.

    ``units`` has one row per (unit_code, year) with arrays ``start``, ``end`` and
    ``gain_date`` (19 each). The first review records all 19 criteria at 03-31; each
    criterion gained later in the year gets its own record at its date.
    """
    frames = []
    for year, grp in units.groupby("year", sort=True):
        codes = grp["unit_code"].to_numpy()
        start = np.stack(grp["start"].to_numpy())
        end = np.stack(grp["end"].to_numpy())
        dates = np.stack(grp["gain_date"].to_numpy())
        n = len(codes)
        crit = np.tile(np.arange(1, 20), n)
        frames.append(pd.DataFrame({
            "unit_code": np.repeat(codes, 19),
            "year": year,
            "set_id": SET_318,
            "criterion": crit,
            "met": start.ravel(),
            "source_document": f"Báo cáo rà soát tiêu chí NTM năm {year} (dữ liệu mẫu)",
            "recorded_at": f"{year}-03-31T00:00:00.000Z",
        }))
        gi, gc = np.nonzero(end & ~start)
        when = dates[gi, gc]
        label = {"06-30": f"6 tháng đầu năm {year}", "09-30": f"9 tháng năm {year}", "12-15": f"năm {year}"}
        frames.append(pd.DataFrame({
            "unit_code": codes[gi],
            "year": year,
            "set_id": SET_318,
            "criterion": gc + 1,
            "met": True,
            "source_document": [f"Báo cáo kết quả thực hiện tiêu chí NTM {label[w]} (dữ liệu mẫu)" for w in when],
            "recorded_at": [f"{year}-{w}T00:00:00.000Z" for w in when],
        }))
    out = pd.concat(frames, ignore_index=True)
    out["recorded_by"] = "demo"
    return out.sort_values(["year", "recorded_at", "unit_code", "criterion"], kind="stable", ignore_index=True)


def qd51_status(codes, margin51: np.ndarray) -> pd.DataFrame:
    """2026 first assessment under QĐ 51/2025 (10 criteria; stricter, so fewer met)."""
    n = len(codes)
    return pd.DataFrame({
        "unit_code": np.repeat(np.asarray(codes), 10),
        "year": 2026,
        "set_id": SET_51,
        "criterion": np.tile(np.arange(1, 11), n),
        "met": (margin51 > 0).ravel(),
        "source_document": "Báo cáo rà soát theo Bộ tiêu chí xã NTM giai đoạn 2026-2030 (dữ liệu mẫu)",
        "recorded_by": "demo",
        "recorded_at": "2026-03-31T00:00:00.000Z",
    })

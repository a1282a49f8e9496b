"""What closing each unmet criterion of each commune would cost, with the evidence.

One row per commune × criterion not met (assessed unmet, or without data): closable
criteria are costed from the commune's infrastructure evidence (``layers.gap_evidence``)
and the cost model (``layers.cost_model``): Σ quantity × unit cost over the criterion's
components, or the criterion's minimum package (``fallback_vnd``) when the evidence shows
no gap. Criteria money alone does not close carry the model's reason as ``blocker``;
criteria without an assessment carry "no data" as blocker (they cannot be planned).

Each costed gap is also split into parts, one per component, with the funding sources
that may pay for it: the optimiser's eligibility classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .cost_model import ROAD_DRIVER, Component, CostModel

__all__ = ["GapCosts", "component_quantity", "gap_costs", "format_vnd", "format_number"]

_NO_DATA_VI = "Chưa có số liệu đánh giá tiêu chí năm {year}: đánh giá trước khi lập kế hoạch vốn."
_NO_DATA_EN = "No assessment of this criterion for {year}: assess it before planning money."


def format_number(value: float, decimals: int = 1, lang: str = "vi") -> str:
    """1234.5 -> '1.234,5' (vi) or '1,234.5' (en); whole numbers without decimals.

    Examples
    --------
    >>> format_number(3.25), format_number(12, lang="en")
    ('3,2', '12')
    """
    if float(value) == round(float(value)):
        decimals = 0
    text = f"{float(value):,.{decimals}f}"
    if lang == "vi":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def format_vnd(value: float, lang: str = "vi") -> str:
    """VND as planners write it: '2,5 tỷ', '60 triệu' (en: '2.5 bn', '60 m').

    Examples
    --------
    >>> format_vnd(2.5e9), format_vnd(6e7), format_vnd(2.5e9, "en")
    ('2,5 tỷ', '60 triệu', '2.5 bn VND')
    """
    value = float(value)
    if abs(value) >= 1e9:
        num, unit = value / 1e9, ("tỷ" if lang == "vi" else "bn VND")
    else:
        num, unit = value / 1e6, ("triệu" if lang == "vi" else "m VND")
    text = format_number(round(num, 2), 2, lang)
    sep = "," if lang == "vi" else "."
    if sep in text:
        text = text.rstrip("0").rstrip(sep)
    return f"{text} {unit}"


def component_quantity(comp: Component, evidence: pd.DataFrame) -> np.ndarray:
    """The quantity of ``comp`` per commune (rows of ``evidence``), ≥ 0."""
    m = ROAD_DRIVER.match(comp.driver)
    if m is not None:
        cls = m.group(1)
        km = evidence.get(f"road_km.{cls}")
        hard = evidence.get(f"road_hardened_km.{cls}")
        if km is None or hard is None:
            return np.zeros(len(evidence))
        need = comp.target_share * km.to_numpy(dtype=float) - hard.to_numpy(dtype=float)
        return np.clip(np.nan_to_num(need), 0, None)
    col = evidence.get(comp.driver)
    if col is None:
        return np.zeros(len(evidence))
    return np.clip(np.nan_to_num(col.to_numpy(dtype=float)), 0, None)


def _basis(comp: Component, qty: float, lang: str) -> str:
    label = comp.label_vi if lang == "vi" else comp.label_en
    unit_cost = format_vnd(comp.unit_cost_vnd, lang)
    if comp.driver == "commune":
        return f"{label}: {unit_cost}/{comp.unit}"
    if comp.unit == "km":
        return f"{format_number(qty, 1, lang)} km {label} × {unit_cost}/km"
    return f"{format_number(qty, 0, lang)} {label} × {unit_cost}/{comp.unit}"


@dataclass
class GapCosts:
    """gaps: the table (see module docstring); parts: gap (row of ``gaps``), component,
    sources (tuple), cost_vnd, one row per costed component of a closable gap."""

    gaps: pd.DataFrame
    parts: pd.DataFrame


def gap_costs(summary: pd.DataFrame, evidence: pd.DataFrame, model: CostModel, cset, year: int) -> GapCosts:
    """Cost every gap of the communes in ``summary`` (``status.criteria_summary`` rows).

    ``evidence`` is indexed by unit_code (``layers.gap_evidence``); communes missing from
    it count as showing no gap (their closable gaps get the minimum package).
    """
    model.check_set(cset.id)
    ev = evidence.reindex(summary["unit_code"].to_numpy())
    quantities = {code: component_quantity(comp, ev) for code, comp in model.components.items()}
    closable = model.closable[cset.id]
    not_closable = model.not_closable[cset.id]
    rows, parts = [], []
    labels = {c.number: (c.name_vi, c.name_en) for c in cset.criteria}
    for pos, rec in enumerate(summary.itertuples(index=False)):
        for number, kind in [(n, "unmet") for n in rec.unmet] + [(n, "no_data") for n in rec.no_data]:
            row = {"unit_code": rec.unit_code, "name": rec.name, "parent_code": rec.parent_code,
                   "criterion": int(number), "criterion_label_vi": labels[number][0],
                   "criterion_label_en": labels[number][1], "assessed": kind == "unmet"}
            spec = closable.get(int(number))
            if kind == "no_data":
                row.update(closable=False, cost_vnd=math.nan, cost_basis="", cost_basis_en="",
                           blocker=_NO_DATA_VI.format(year=year), blocker_en=_NO_DATA_EN.format(year=year))
            elif spec is None:
                reason = not_closable.get(int(number), {"reason_vi": "", "reason_en": ""})
                row.update(closable=False, cost_vnd=math.nan, cost_basis="", cost_basis_en="",
                           blocker=reason["reason_vi"], blocker_en=reason["reason_en"])
            else:
                gap = len(rows)
                total, vi, en = 0.0, [], []
                for code in spec.components:
                    comp = model.components[code]
                    qty = float(quantities[code][pos])
                    cost = qty * comp.unit_cost_vnd
                    if cost > 0:
                        total += cost
                        vi.append(_basis(comp, qty, "vi"))
                        en.append(_basis(comp, qty, "en"))
                        parts.append((gap, code, comp.sources, cost))
                if total <= 0:
                    comp = model.components[spec.components[0]]
                    total = float(spec.fallback_vnd or comp.unit_cost_vnd)
                    vi = [f"không có số liệu hạ tầng cho thấy thiếu hụt: gói tối thiểu {format_vnd(total, 'vi')}"]
                    en = [f"no infrastructure data show the gap: minimum package {format_vnd(total, 'en')}"]
                    parts.append((gap, spec.components[0], comp.sources, total))
                row.update(closable=True, cost_vnd=total, cost_basis=" + ".join(vi), cost_basis_en=" + ".join(en),
                           blocker="", blocker_en="")
            rows.append(row)
    columns = ["unit_code", "name", "parent_code", "criterion", "criterion_label_vi", "criterion_label_en",
               "assessed", "closable", "cost_vnd", "cost_basis", "cost_basis_en", "blocker", "blocker_en"]
    gaps = pd.DataFrame(rows, columns=columns)
    gaps = gaps.astype({"criterion": "int64", "closable": bool, "assessed": bool, "cost_vnd": float})
    parts = pd.DataFrame(parts, columns=["gap", "component", "sources", "cost_vnd"])
    return GapCosts(gaps, parts)

"""What a commune map shows: one class per commune for the chosen mode, and its legend.

The same classification feeds the web map and the report figures, so both always
agree. Modes:

- ``count``: number of criteria met (< 10, 10–14, 15–18, 19 for the 19-criteria set);
- ``criterion``: one criterion met / not met / no data;
- ``recognition``: not yet / đạt chuẩn / nâng cao / kiểu mẫu, and at risk (recognised
  but now failing criteria);
- ``change``: criteria gained or lost since the previous year;
- ``gap``: criteria still needed (0, 1, 2–4, ≥ 5);
- ``plan``: the year's plan against what happened;
- ``hotspot``: Local Moran's I of criteria met (or of ``indicator``): HH hot spots, LL
  cold spots, HL / LH outliers, not significant (FDR), no neighbour, no data
  (``layers.hotspots``, 999 permutations, fixed seed, alpha 0.05);
- ``indicator``: a stored indicator (``indicator=``) in five quantile classes with
  rounded breaks on a sequential palette.

``MODES`` lists the criteria-status modes; ``ALL_MODES`` adds the analysis modes, which
need more than the status (a neighbourhood test, a computed indicator).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from layers import criteria, plans, recognitions, status
from layers.store import Store
from .i18n import t

__all__ = ["MODES", "ANALYSIS_MODES", "ALL_MODES", "LegendClass", "Classified", "classify_communes",
           "class_breaks", "mode_label", "NO_DATA_COLOUR"]

MODES = ("count", "criterion", "recognition", "change", "gap", "plan")
ANALYSIS_MODES = ("hotspot", "indicator")  # drawn by maps/_analysis_modes.py
ALL_MODES = MODES + ANALYSIS_MODES
NO_DATA_COLOUR = "#cfcfcf"
_SEQUENTIAL = ("#d7301f", "#fc8d59", "#fee08b", "#1a9850")


@dataclass
class LegendClass:
    key: str
    colour: str
    label: str
    count: int = 0


@dataclass
class Classified:
    """Per commune: ``key`` (class), ``colour``, ``n_met``/``n_total`` and a short ``value`` text."""

    mode: str
    year: int
    set_id: str
    title: str
    frame: pd.DataFrame
    legend: list[LegendClass] = field(default_factory=list)
    criterion: int | None = None
    indicator: str | None = None
    note: str | None = None  # why an analysis mode shows no classes (too few communes …)
    value_label: str | None = None  # what frame["value"] holds (analysis modes), for tooltips


def class_breaks(n_total: int) -> list[tuple[int, int]]:
    """(low, high) classes of criteria met: for 19, < 10, 10–14, 15–18, 19; others scale alike."""
    top = max(n_total, 1)
    near = max(1, -(-top * 15 // 19))
    mid = max(1, -(-top * 10 // 19))
    return [(0, mid - 1), (mid, near - 1), (near, top - 1), (top, top)]


def classify_communes(
    store: Store,
    *,
    year: int,
    set_id: str | None = None,
    mode: str = "count",
    criterion: int | None = None,
    scope_code: str | None = None,
    as_of=None,
    lang: str = "vi",
    indicator: str | None = None,
) -> Classified:
    """Classify the communes of a scope for one year, set and mode.

    ``indicator`` names the stored indicator of ``mode="indicator"`` (and, optionally,
    the variable of ``mode="hotspot"`` instead of criteria met).

    Raises
    ------
    ValueError
        Unknown mode, or ``criterion`` missing / outside the set for the criterion mode,
        or ``indicator`` missing for the indicator mode.
    LookupError
        ``indicator`` not stored for ``year`` (indicator mode).
    """
    if mode not in ALL_MODES:
        raise ValueError(f"'mode' must be one of {ALL_MODES}, got {mode!r}")
    cset = criteria.get_set(set_id) if set_id else status.set_for_status_year(store, year)
    summary = status.criteria_summary(store, year, cset.id, as_of=as_of, scope_code=scope_code)
    frame = summary[["unit_code", "name", "parent_code", "n_met", "n_assessed", "n_total", "met", "unmet"]].copy()
    assessed = frame["n_assessed"] > 0
    if mode in ANALYSIS_MODES:
        from . import _analysis_modes  # it builds on this module's classes

        return _analysis_modes.classify(store, frame, mode=mode, year=year, cset=cset, scope_code=scope_code,
                                        indicator=indicator, as_of=as_of, lang=lang)
    handler = {
        "count": _count, "criterion": _criterion, "recognition": _recognition,
        "change": _change, "gap": _gap, "plan": _plan,
    }[mode]
    if mode == "criterion":
        if criterion is None:
            raise ValueError("mode 'criterion' needs 'criterion', the criterion number")
        cset.criterion(int(criterion))  # raises with the valid range
    classes, keys = handler(store, frame, assessed, cset, year, criterion, scope_code, as_of, lang)
    frame["key"] = keys
    colours = {c.key: c.colour for c in classes}
    frame["colour"] = frame["key"].map(colours).fillna(NO_DATA_COLOUR)
    counts = frame["key"].value_counts().to_dict()
    for c in classes:
        c.count = int(counts.get(c.key, 0))
    title = mode_label(mode, lang)
    if mode == "criterion":
        title += f": {cset.criterion(int(criterion)).label(lang)}"
    return Classified(mode, year, cset.id, title, frame, classes, criterion)


def mode_label(mode: str, lang: str = "vi") -> str:
    """The mode's name for selectors and titles (analysis modes keep their strings apart)."""
    return t(f"modes.{mode}", lang) if mode in MODES else t(f"map_analysis.modes.{mode}", lang)


def _no_data(lang) -> LegendClass:
    return LegendClass("no_data", NO_DATA_COLOUR, t("no_data", lang))


def _count(store, frame, assessed, cset, year, criterion, scope, as_of, lang):
    breaks = class_breaks(len(cset))
    classes = []
    for (low, high), colour in zip(breaks, _SEQUENTIAL):
        label = f"< {high + 1}" if low == 0 else f"{low}–{high}" if low != high else f"{low} ({t('classes.all_met', lang)})"
        classes.append(LegendClass(f"{low}-{high}", colour, label))
    keys = []
    for n, ok in zip(frame["n_met"], assessed):
        key = "no_data"
        if ok:
            key = next(f"{lo}-{hi}" for lo, hi in breaks if lo <= n <= hi)
        keys.append(key)
    return classes + [_no_data(lang)], keys


def _criterion(store, frame, assessed, cset, year, criterion, scope, as_of, lang):
    n = int(criterion)
    classes = [LegendClass("met", "#1a9850", t("classes.met", lang)),
               LegendClass("not_met", "#d7301f", t("classes.not_met", lang)), _no_data(lang)]
    keys = ["met" if n in m else "not_met" if n in u else "no_data" for m, u in zip(frame["met"], frame["unmet"])]
    return classes, keys


def _recognition(store, frame, assessed, cset, year, criterion, scope, as_of, lang):
    rec = recognitions.recognition_status(store, year, scope_code=scope).set_index("unit_code")["level"]
    risk = set(recognitions.at_risk(store, year, cset.id, as_of=as_of, scope_code=scope)["unit_code"])
    classes = [
        LegendClass("not_recognised", "#f0f0f0", t("classes.not_recognised", lang)),
        LegendClass("dat_chuan", "#a6d96a", t("classes.dat_chuan", lang)),
        LegendClass("nang_cao", "#1a9641", t("classes.nang_cao", lang)),
        LegendClass("kieu_mau", "#00441b", t("classes.kieu_mau", lang)),
        LegendClass("at_risk", "#e66101", t("classes.at_risk", lang)),
    ]
    keys = []
    for code in frame["unit_code"]:
        level = rec.get(code)
        if code in risk:
            keys.append("at_risk")
        elif isinstance(level, str) and level in ("dat_chuan", "nang_cao", "kieu_mau"):
            keys.append(level)
        else:
            keys.append("not_recognised")
    return classes, keys


def _change(store, frame, assessed, cset, year, criterion, scope, as_of, lang):
    changes = status.status_changes(store, cset.id, year, scope_code=scope).set_index("unit_code")
    classes = [
        LegendClass("lost", "#d7301f", t("classes.lost", lang)),
        LegendClass("unchanged", "#ffffbf", t("classes.unchanged", lang)),
        LegendClass("gained_1", "#a6d96a", t("classes.gained_1", lang)),
        LegendClass("gained_2", "#66bd63", t("classes.gained_2", lang)),
        LegendClass("gained_3", "#1a9850", t("classes.gained_3", lang)),
        _no_data(lang),
    ]
    keys = []
    for code, ok in zip(frame["unit_code"], assessed):
        row = changes.loc[code] if code in changes.index else None
        if not ok or row is None or pd.isna(row.get("n_met_previous")):
            keys.append("no_data")
            continue
        gained, lost = len(row["gained"]), len(row["lost"])
        keys.append("lost" if lost > gained else "unchanged" if gained == lost == 0 or gained == lost
                    else f"gained_{min(gained - lost, 3)}")
    return classes, keys


def _gap(store, frame, assessed, cset, year, criterion, scope, as_of, lang):
    classes = [
        LegendClass("gap_0", "#1a9850", t("classes.gap_0", lang)),
        LegendClass("gap_1", "#a6d96a", t("classes.gap_1", lang)),
        LegendClass("gap_2_4", "#fdae61", t("classes.gap_2_4", lang)),
        LegendClass("gap_5", "#d7191c", t("classes.gap_5", lang)),
        _no_data(lang),
    ]
    keys = []
    for n, total, ok in zip(frame["n_met"], frame["n_total"], assessed):
        gap = int(total) - int(n)
        keys.append("no_data" if not ok else "gap_0" if gap == 0 else "gap_1" if gap == 1
                    else "gap_2_4" if gap <= 4 else "gap_5")
    return classes, keys


def _plan(store, frame, assessed, cset, year, criterion, scope, as_of, lang):
    summary = plans.plan_summary(store, year, cset.id, scope_code=scope, as_of=as_of).set_index("unit_code")
    classes = [
        LegendClass("plan_achieved", "#1a9850", t("classes.plan_achieved", lang)),
        LegendClass("plan_partly", "#fee08b", t("classes.plan_partly", lang)),
        LegendClass("plan_missed", "#d7301f", t("classes.plan_missed", lang)),
        LegendClass("plan_lost", "#7b3294", t("classes.plan_lost", lang)),
        LegendClass("plan_none", "#f0f0f0", t("classes.plan_none", lang)),
    ]
    keys = []
    for code in frame["unit_code"]:
        if code not in summary.index:
            keys.append("plan_none")
            continue
        row = summary.loc[code]
        if row["lost"] > 0:
            keys.append("plan_lost")
        elif row["planned_achieve"] == 0:
            keys.append("plan_achieved" if row["planned_maintain"] else "plan_none")
        elif row["achieved"] >= row["planned_achieve"]:
            keys.append("plan_achieved")
        elif row["achieved"] > 0:
            keys.append("plan_partly")
        else:
            keys.append("plan_missed")
    return classes, keys

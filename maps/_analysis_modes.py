"""The analysis map modes: hot spots (Local Moran's I) and a stored indicator.

Split from :mod:`maps.modes` (which calls :func:`classify`) because these modes read
more than the criteria status: ``layers.hotspots`` runs a permutation test over the
scope's neighbourhoods, ``layers.indicators_store`` holds computed indicators. Both set
``frame["value"]`` (a short text: the statistic or the indicator value) for tooltips.

A hot-spot map that cannot be computed (a scope with too few communes, no status that
year) is not an error on the map: every commune is shown as no data and the reason is
kept in ``Classified.note``, shown under the legend.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from layers import hotspots, indicators_store
from layers.store import Store
from ._cartography import fmt_number
from .i18n import t
from .modes import NO_DATA_COLOUR, Classified, LegendClass, mode_label

__all__ = ["ANALYSIS_MODES", "HOTSPOT_COLOURS", "INDICATOR_PALETTE", "classify", "nice_breaks"]

ANALYSIS_MODES = ("hotspot", "indicator")
HOTSPOT_COLOURS = {"HH": "#d7191c", "LL": "#2c7bb6", "HL": "#fdae61", "LH": "#abd9e9", "ns": "#f7f7f7",
                   "island": "#c2a5cf"}
INDICATOR_PALETTE = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")  # ColorBrewer YlGnBu
MAP_PERMUTATIONS = 999


def classify(store: Store, frame: pd.DataFrame, *, mode: str, year: int, cset, scope_code, indicator,
             as_of, lang: str) -> Classified:
    """Classes, colours and value texts of an analysis mode (``frame`` from the status summary)."""
    if mode == "hotspot":
        classes, keys, values, note = _hotspot(store, frame, year, cset, scope_code, indicator, as_of, lang)
        value_label = t("map_analysis.value_label.hotspot", lang)
        title = mode_label(mode, lang) + (f": {indicator}" if indicator else "")
    else:
        if not indicator:
            raise ValueError("mode 'indicator' needs 'indicator', the name of a stored indicator "
                             "(see GET /analysis/indicators/names)")
        classes, keys, values, unit = _indicator(store, frame, year, scope_code, indicator, lang)
        note = None
        value_label = indicator + (f" ({unit})" if unit else "")
        title = f"{mode_label(mode, lang)}: {value_label}"
    frame = frame.copy()
    frame["key"] = keys
    frame["value"] = values
    colours = {c.key: c.colour for c in classes}
    frame["colour"] = frame["key"].map(colours).fillna(NO_DATA_COLOUR)
    counts = frame["key"].value_counts().to_dict()
    for c in classes:
        c.count = int(counts.get(c.key, 0))
    return Classified(mode, year, cset.id, title, frame, classes, None, indicator=indicator, note=note,
                      value_label=value_label)


def _no_data(lang) -> LegendClass:
    return LegendClass("no_data", NO_DATA_COLOUR, t("no_data", lang))


def _p(value: float, lang: str) -> str:
    return "< " + fmt_number(0.001, lang, 3) if value < 0.001 else fmt_number(value, lang, 3)


def _hotspot(store, frame, year, cset, scope_code, indicator, as_of, lang):
    classes = [LegendClass(k, HOTSPOT_COLOURS[k], t(f"map_analysis.clusters.{k}", lang))
               for k in ("HH", "LL", "HL", "LH", "ns", "island")] + [_no_data(lang)]
    note = None
    try:
        result = hotspots.hotspots(store, year=year, scope=scope_code, set_id=cset.id, indicator=indicator,
                                   permutations=MAP_PERMUTATIONS, as_of=as_of)
    except (hotspots.HotspotError, LookupError) as exc:
        note = t("map_analysis.not_computed", lang).format(reason=str(exc))
        return classes, ["no_data"] * len(frame), [None] * len(frame), note
    res = result.frame.set_index("unit_code")
    keys, values = [], []
    for code in frame["unit_code"]:
        if code not in res.index:
            keys.append("no_data")
            values.append(None)
            continue
        row = res.loc[code]
        keys.append(row["cluster"])
        if row["cluster"] == "island":
            values.append(t("map_analysis.no_neighbour", lang))
        elif row["cluster"] == "no_data":
            values.append(None)
        else:
            values.append(f"I = {fmt_number(row['Ii'], lang, 2)}; p = {_p(row['p_sim'], lang)}; "
                          f"q (FDR) = {_p(row['q_fdr'], lang)}")
    g = result.moran_global
    note = t("map_analysis.global_moran", lang).format(I=fmt_number(g["I"], lang, 2), p=_p(g["p_sim"], lang),
                                                       permutations=result.params["permutations"])
    return classes, keys, values, note


def _round_sig(value: float, digits: int = 2) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def nice_breaks(values, k: int = 5) -> list[float]:
    """Inner class breaks at the quantiles (values that occur), rounded to two significant
    digits, above the minimum (fewer when values repeat). A commune at a break is in the
    class above it.

    Examples
    --------
    >>> nice_breaks(range(1, 101))  # 20 values below 21, 20 from 21 to 40 …
    [21.0, 41.0, 61.0, 81.0]
    >>> nice_breaks([0.1234, 0.2345, 0.3456, 0.4567, 0.5678])
    [0.23, 0.35, 0.46]
    >>> nice_breaks([0, 0, 0, 1, 1])  # repeated values: one break
    [1.0]
    """
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if len(v) == 0:
        return []
    v = np.sort(v)
    lo, hi = float(v[0]), float(v[-1])
    out: list[float] = []
    for j in range(1, k):
        b = _round_sig(float(v[min(len(v) - 1, (j * len(v)) // k)]))  # the first value of class j
        if lo < b <= hi and (not out or b > out[-1]):
            out.append(b)
    return out


def _fmt(value: float, lang: str) -> str:
    if value == 0:
        return "0"
    mag = abs(value)
    decimals = 0 if mag >= 100 or float(value).is_integer() else 1 if mag >= 10 else 2 if mag >= 0.1 else 3
    return fmt_number(value, lang, decimals)


def _indicator(store, frame, year, scope_code, name, lang):
    rows = indicators_store.read_indicators(store, year=year, names=[name], scope=scope_code, unit_level="commune")
    if rows.empty:  # the same message as the rest of the app, naming what is stored
        indicators_store.indicator_frame(store, name, year, scope_code)
        raise LookupError(f"indicator {name!r} has no commune value for year {year}")
    series = rows.set_index("unit_code")["value"]
    units = rows["unit"].dropna()
    unit = str(units.iloc[0]) if len(units) else ""
    values = pd.to_numeric(frame["unit_code"].map(series), errors="coerce").to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    breaks = nice_breaks(finite)
    edges = ([float(finite.min())] + breaks + [float(finite.max())]) if len(finite) else []
    classes = []
    for k in range(max(len(edges) - 1, 1 if len(finite) else 0)):
        lo, hi = (edges[k], edges[k + 1]) if len(edges) > 1 else (edges[0], edges[0])
        label = _fmt(lo, lang) if lo == hi else f"{_fmt(lo, lang)} – {_fmt(hi, lang)}"
        palette = INDICATOR_PALETTE if len(edges) - 1 >= 4 else INDICATOR_PALETTE[::2]
        classes.append(LegendClass(f"q{k}", palette[min(k, len(palette) - 1)], label))
    keys, texts = [], []
    for v in values:
        if not np.isfinite(v):
            keys.append("no_data")
            texts.append(None)
            continue
        keys.append(f"q{int(np.searchsorted(breaks, v, side='right'))}")
        texts.append(_fmt(v, lang) + (f" {unit}" if unit else ""))
    return classes + [_no_data(lang)], keys, texts, unit

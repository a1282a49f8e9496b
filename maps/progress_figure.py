"""The progress figure for a report: where a scope stands against its targets (PNG, PDF, SVG).

Three panels drawn from :class:`layers.progress.Progress`: communes per recognition level
(actual, target and the trend projection side by side), the criteria most often unmet
(communes not meeting each), and the average criteria per commune year by year with
the target and the projection (dashed: a trend, not a result). Fonts, vector text and
saving come from :mod:`maps.figures` (``figure_style``, ``save_figure``).
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from layers.progress import Progress
from . import _cartography as carto
from .figures import FORMATS, figure_style, save_figure
from .i18n import t

__all__ = ["progress_figure", "progress_figure_bytes"]

_ACTUAL, _TARGET, _PROJECTED = "#2b8cbe", "#d7301f", "#9e9e9e"
_UNMET = "#fc8d59"


def _level_panel(ax, p: Progress, lang: str) -> None:
    levels = p.levels
    x = np.arange(len(levels))
    width = 0.27
    labels = [carto.wrap(carto.nfc(v), 14) for v in levels["label_en" if lang == "en" else "label_vi"]]
    bars = ax.bar(x - width, levels["n"], width, color=_ACTUAL, label=t("progress.figure_actual", lang).format(year=p.year),
                  gid="bars-actual")
    ax.bar_label(bars, fontsize=7, padding=1)
    target = levels["target"].astype(float)
    if target.notna().any():
        ty = int(levels["target_year"].dropna().iloc[0])
        tb = ax.bar(x, target.fillna(0), width, color="white", edgecolor=_TARGET, hatch="///", linewidth=1.0,
                    label=t("progress.figure_target", lang).format(year=ty), gid="bars-target")
        ax.bar_label(tb, labels=["" if np.isnan(v) else carto.fmt_number(v, lang) for v in target], fontsize=7, padding=1)
    projected = levels["projected"].astype(float)
    if projected.notna().any():
        year = p.target_year
        pb = ax.bar(x + width, projected.fillna(0), width, color=_PROJECTED, alpha=0.7,
                    label=t("progress.figure_projected", lang).format(year=year), gid="bars-projected")
        ax.bar_label(pb, labels=["" if np.isnan(v) else carto.fmt_number(v, lang, 1) for v in projected],
                     fontsize=7, padding=1)
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel(t("progress.figure_communes", lang), fontsize=8)
    ax.set_title(t("progress.figure_levels", lang), fontsize=10, fontweight="bold", loc="left")
    ax.legend(fontsize=7, frameon=False, loc="upper right")
    ax.set_ylim(0, max(1.0, float(np.nanmax([levels["n"].max(), target.max(), projected.max(), 1]))) * 1.2)
    ax.spines[["top", "right"]].set_visible(False)


def _unmet_panel(ax, p: Progress, lang: str, top: int) -> None:
    crit = p.criteria.sort_values(["n_unmet", "number"], ascending=[False, True]).head(top)
    crit = crit[crit["n_unmet"] > 0].iloc[::-1]
    name = "name_en" if lang == "en" else "name_vi"
    labels = [carto.wrap(carto.nfc(f"{n}. {s}"), 34) for n, s in zip(crit["number"], crit[name])]
    y = np.arange(len(crit))
    bars = ax.barh(y, crit["n_unmet"], color=_UNMET, gid="bars-unmet")
    ax.bar_label(bars, fontsize=7, padding=2)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel(t("progress.figure_communes", lang), fontsize=8)
    ax.set_title(t("progress.figure_unmet", lang), fontsize=10, fontweight="bold", loc="left")
    ax.set_xlim(0, max(1, int(crit["n_unmet"].max()) if len(crit) else 1) * 1.15)
    ax.spines[["top", "right"]].set_visible(False)


def _trend_panel(ax, p: Progress, lang: str) -> None:
    trend = p.trend.dropna(subset=["avg_criteria_per_commune"])
    ax.plot(trend["year"], trend["avg_criteria_per_commune"], marker="o", color=_ACTUAL, gid="line-average")
    for year, value in zip(trend["year"], trend["avg_criteria_per_commune"]):
        ax.annotate(carto.fmt_number(value, lang, 2), (year, value), textcoords="offset points", xytext=(0, 6),
                    ha="center", fontsize=7)
    proj = p.projection.set_index("metric") if len(p.projection) else pd.DataFrame()
    if "avg_criteria_per_commune" in proj.index and not pd.isna(proj.loc["avg_criteria_per_commune", "projected"]):
        row = proj.loc["avg_criteria_per_commune"]
        last = trend.iloc[-1]
        ax.plot([last["year"], row["projection_year"]], [last["avg_criteria_per_commune"], row["projected"]],
                linestyle="--", color=_PROJECTED, marker="o", gid="line-projected",
                label=t("progress.figure_projected", lang).format(year=int(row["projection_year"])))
    heads = p.targets
    own = heads[(heads["metric"] == "avg_criteria_per_commune") & heads["parent_scope"].isna()
                & heads["baseline_year"].isna()]
    if p.scope_code is not None:
        own = own[own["scope_code"] == p.scope_code]
    if len(own):
        target = own.iloc[0]
        ax.axhline(float(target["value"]), color=_TARGET, linewidth=1, linestyle=":", gid="line-target",
                   label=t("progress.figure_target", lang).format(year=int(target["target_year"])) + ": "
                   + carto.fmt_number(float(target["value"]), lang, 2))
    years = sorted({*trend["year"].tolist(), *([int(p.target_year)] if p.target_year else [])})
    ax.set_xticks(years, [str(y) for y in years], fontsize=8)
    ax.set_ylabel(t("progress.figure_criteria", lang), fontsize=8)
    ax.set_title(t("progress.figure_trend", lang), fontsize=10, fontweight="bold", loc="left")
    ax.set_ylim(0, p.n_criteria + 0.5)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, frameon=False, loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)


def progress_figure(p: Progress, *, lang: str = "vi", top: int = 10, created: dt.date | None = None) -> Figure:
    """A landscape figure (11.7 × 6.5 in) of a progress report; ``top`` criteria in the unmet panel.

    See Also
    --------
    layers.progress.compute_progress, maps.figures.save_figure
    """
    if lang not in ("vi", "en"):
        raise ValueError(f"'lang' must be 'vi' or 'en', got {lang!r}")
    with figure_style():
        fig = Figure(figsize=(11.7, 6.5), dpi=150)
        FigureCanvasAgg(fig)
        title = carto.nfc(t("progress.figure_title", lang).format(scope=p.scope_name, year=p.year))
        fig.set_label(title)
        set_title = p.set_title_en if lang == "en" else p.set_title_vi
        sub = t("progress.subtitle", lang).format(year=p.year, set=set_title, act=p.legal_act.split(",")[0],
                                                 n=p.n_criteria)
        fig.text(0.02, 0.975, title, fontsize=14, fontweight="bold", va="top", gid="title")
        fig.text(0.02, 0.925, carto.nfc(sub), fontsize=8.5, va="top", color="#333333", gid="subtitle")
        grid = fig.add_gridspec(2, 2, left=0.06, right=0.98, top=0.85, bottom=0.1, hspace=0.45, wspace=0.45,
                                width_ratios=[1, 1.15])
        _level_panel(fig.add_subplot(grid[0, 0]), p, lang)
        _trend_panel(fig.add_subplot(grid[1, 0]), p, lang)
        _unmet_panel(fig.add_subplot(grid[:, 1]), p, lang, top)
        day = created or dt.date.today()
        foot = (t("progress.figure_note", lang) + "  " + t("progress.created", lang).format(
            date=day.strftime("%d/%m/%Y" if lang == "vi" else "%Y-%m-%d")))
        fig.text(0.02, 0.02, carto.nfc(foot), fontsize=7, color="#555555", gid="footer")
    return fig


def progress_figure_bytes(p: Progress, fmt: str, *, lang: str = "vi", created: dt.date | None = None) -> bytes:
    """The figure as PNG, PDF or SVG bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"'format' must be one of {FORMATS}, got {fmt!r}")
    buffer = io.BytesIO()
    save_figure(progress_figure(p, lang=lang, created=created), buffer, fmt)
    return buffer.getvalue()

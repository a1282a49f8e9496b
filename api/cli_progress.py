"""``ntm progress``: a scope's results against its targets, as a table on the terminal.

Optionally writes the Excel workbook (``--xlsx``) and the figure (``--figure``, PNG, PDF
or SVG by extension). Wired into the main group by ``register(main_group)``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import click
import pandas as pd

__all__ = ["register", "format_summary"]


def _num(value, decimals: int = 0, unit: str = "count", lang: str = "vi") -> str:
    """A number as the report's readers write it: 16,67 and 1.698 in Vietnamese."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "share":
        value, decimals, suffix = float(value) * 100, 1, "%"
    else:
        value, suffix = float(value), ""
        if decimals == 0 and value != round(value):
            decimals = 2
    text = f"{value:,.{decimals}f}"
    if lang == "vi":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text + suffix


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(h), *(len(r[k]) for r in rows)) if rows else len(h) for k, h in enumerate(headers)]
    fmt = lambda cells: "  ".join(c.rjust(w) if k in right else c.ljust(w)  # noqa: E731
                                  for k, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return [fmt(headers), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows)]


def format_summary(p, *, lang: str = "vi", top: int = 5) -> str:
    """The report as plain text: header, headline table against targets, at-risk communes,
    criteria most often unmet, the trend and the notes."""
    from layers.progress import headline_table
    from maps.i18n import t
    from maps.progress_page import note_text

    col = lambda key, **kw: t(f"progress.columns.{key}", lang).format(**kw)  # noqa: E731
    num = lambda v, d=0, unit="count": _num(v, d, unit, lang)  # noqa: E731
    label = "label_en" if lang == "en" else "label_vi"
    lines = [t("progress.title", lang).format(scope=f"{p.scope_name} ({p.scope_code})"),
             t("progress.subtitle", lang).format(year=p.year, set=p.set_title_en if lang == "en" else p.set_title_vi,
                                                 act=p.legal_act.split(",")[0], n=p.n_criteria), ""]
    h = headline_table(p)
    proj = h["projected"].notna().any()
    headers = [col("indicator"), col("actual", year=p.year), col("target"), col("target_year"), col("gap"),
               col("assessment")] + ([col("projected", year=p.target_year)] if proj else [])
    rows = []
    for r in h.itertuples():
        d = 2 if r.unit == "criteria" else 0
        name = getattr(r, label)
        met = "" if pd.isna(r.met) else t("progress.met" if r.met else "progress.not_met", lang)
        row = [name, num(r.actual, d, r.unit), num(r.target, d, r.unit),
               "" if pd.isna(r.target_year) else str(int(r.target_year)), num(r.gap, d, r.unit), met]
        if proj:
            row.append(num(r.projected, 2 if r.unit != "share" else 0, r.unit))
        rows.append(row)
    lines += [click.style(t("progress.headline", lang), bold=True),
              *_table(headers, rows, right={1, 2, 3, 4, 6}), ""]
    lines.append(click.style(t("progress.at_risk", lang), bold=True) + f": {len(p.at_risk)}")
    names = dict(zip(p.criteria["number"], p.criteria["name_en" if lang == "en" else "name_vi"]))
    for r in p.at_risk.head(top).itertuples():
        lines.append(f"  {r.unit_code}  {r.name}: " + ", ".join(f"{n}. {names.get(n, '')}" for n in r.failing))
    if len(p.at_risk) > top:
        lines.append(f"  … {len(p.at_risk) - top}")
    lines += ["", click.style(t("progress.unmet", lang), bold=True)]
    crit = p.criteria.sort_values(["n_unmet", "number"], ascending=[False, True]).head(top)
    for r in crit.itertuples():
        lines.append(f"  {r.n_unmet:>4}/{p.summary['n_communes']}  {r.number}. {names[r.number]}")
    lines += ["", click.style(t("progress.trend", lang), bold=True)]
    trows = [[str(int(r.year)), num(r.avg_criteria_per_commune, 2),
              "–" if pd.isna(r.d_avg_criteria_per_commune)
              else ("+" if r.d_avg_criteria_per_commune > 0 else "") + num(r.d_avg_criteria_per_commune, 2),
              num(r.min_criteria_per_commune), num(r.n_below_threshold), num(r.communes_dat_chuan)]
             for r in p.trend.itertuples()]
    level = p.levels.set_index("level").loc["dat_chuan", label]
    lines += _table([col("year"), col("average"), col("change"), col("minimum"),
                     col("below", threshold=p.threshold), level], trows, right={1, 2, 3, 4, 5})
    lines += ["", click.style(t("progress.notes", lang), bold=True)]
    lines += [f"  - {note_text(n, lang)}" for n in p.notes]
    return "\n".join(lines)


def register(main_group: click.Group) -> None:
    """Add ``progress`` to the ``ntm`` group (the store comes from ``--store`` / NTM_STORE)."""

    @main_group.command("progress")
    @click.option("--scope", "scope", help="Province or district code (or name); default: the store's only province.")
    @click.option("--year", type=int, help="Assessment year (default: the latest with status records).")
    @click.option("--set", "set_id", help="Criteria set id (default: the set in force in the year).")
    @click.option("--threshold", type=int,
                  help="Communes below this many criteria are counted (default 15 of 19; 8 of 10 for QĐ 51).")
    @click.option("--target-year", type=int, help="Targets of this year (default: the nearest with targets).")
    @click.option("--trend-years", type=int, default=3, show_default=True,
                  help="Years in the trend and the linear projection.")
    @click.option("--xlsx", "xlsx", type=click.Path(dir_okay=False, path_type=Path),
                  help="Also write the Excel workbook (Biểu 01–06).")
    @click.option("--figure", "figure", type=click.Path(dir_okay=False, path_type=Path),
                  help="Also write the figure (.png, .pdf or .svg).")
    @click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True)
    @click.pass_context
    def progress_cmd(ctx, scope, year, set_id, threshold, target_year, trend_years, xlsx, figure, lang):
        """Progress against targets: communes by level, average criteria, at risk, trend, projection."""
        from . import cli

        cli.handles_errors(_run)(ctx, scope, year, set_id, threshold, target_year, trend_years, xlsx, figure, lang)


def _store_path(ctx: click.Context) -> Path:
    from layers import store as store_mod

    obj = ctx.find_root().obj or {}
    return Path(obj.get("store_path") or os.environ.get(store_mod.STORE_ENV) or store_mod.DEFAULT_STORE)


def _run(ctx, scope, year, set_id, threshold, target_year, trend_years, xlsx, figure, lang):
    from layers.progress import compute_progress
    from layers.progress_excel import progress_to_xlsx
    from layers.store import Store
    from maps import figures
    from maps.i18n import t
    from maps.progress_figure import progress_figure

    store = Store(_store_path(ctx))
    if figure is not None and figure.suffix.lower().lstrip(".") not in figures.FORMATS:
        raise ValueError(f"--figure must end in .png, .pdf or .svg, got '{figure.name}'")
    if xlsx is not None and xlsx.suffix.lower() != ".xlsx":
        raise ValueError(f"--xlsx must end in .xlsx, got '{xlsx.name}'")
    scope = figures.scope_or_only_province(store, scope, parameter="--scope")
    year = figures.default_year(store) if year is None else year
    p = compute_progress(store, scope, year, set_id=set_id, threshold=threshold, target_year=target_year,
                         trend_years=trend_years)
    click.echo(format_summary(p, lang=lang))
    if xlsx is not None:
        progress_to_xlsx(p, xlsx)
        click.echo(f"\n{t('progress.xlsx', lang)}: {xlsx}")
    if figure is not None:
        figures.save_figure(progress_figure(p, lang=lang), figure)
        click.echo(f"{t('progress.figure', lang)}: {figure}")

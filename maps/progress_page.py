"""The progress page: a scope's results against its targets, as one server-rendered HTML page.

Vietnamese first (``lang="en"`` for English); every value from the store is escaped; the
page loads no script and no stylesheet from anywhere (inline CSS only), so it works in
offices without internet and prints cleanly. Routes pass the links (Excel workbook,
JSON, figure, other language) since only they know the URLs.
"""

from __future__ import annotations

import datetime as dt
import html
import math

import pandas as pd

from layers.progress import Progress, headline_table
from . import _cartography as carto
from .i18n import t

__all__ = ["progress_html", "note_text"]

_CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:1.5rem auto;max-width:1200px;padding:0 1rem;color:#222}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.1rem;margin-top:1.8rem;border-bottom:2px solid #2b8cbe}
.sub{color:#444}.top{display:flex;justify-content:space-between;gap:1rem;flex-wrap:wrap}
.links a{margin-right:.8rem}.cards{display:flex;gap:.8rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid #ccc;border-radius:6px;padding:.6rem .9rem;min-width:10rem}
.card b{display:block;font-size:1.5rem}table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#ddebf7}td.n{text-align:right;white-space:nowrap}.met{background:#c6efce}
.not-met{background:#ffc7ce}.note{color:#555;font-size:.85rem}img.figure{max-width:100%;border:1px solid #eee}
@media print{.links{display:none}}
"""


def note_text(note: str, lang: str) -> str:
    """One language of a bilingual note from ``layers.progress`` ("… . / … .")."""
    parts = note.split(". / ", 1)
    if len(parts) == 2:
        return parts[0] + "." if lang == "vi" else parts[1]
    return note


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _num(value, lang: str, decimals: int = 0, unit: str = "count") -> str:
    if _missing(value):
        return "–"
    if unit == "share":
        return carto.fmt_number(float(value) * 100, lang, 1) + " %"
    value = float(value)
    if decimals == 0 and value != round(value):
        decimals = 2
    return carto.fmt_number(value, lang, decimals)


def _decimals(unit: str) -> int:
    return 2 if unit == "criteria" else 0


def _met_cell(value, lang: str) -> str:
    if _missing(value):
        return "<td></td>"
    cls, key = ("met", "progress.met") if bool(value) else ("not-met", "progress.not_met")
    return f'<td class="{cls}">{_e(t(key, lang))}</td>'


def _table(headers: list[str], rows: list[list[str]], *, numeric: set[int] = frozenset()) -> str:
    """A table from already-escaped cells; a cell starting with <td is taken as is."""
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in headers), "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>")
        for k, cell in enumerate(row):
            if cell.startswith("<td"):
                out.append(cell)
            else:
                out.append(f'<td class="n">{cell}</td>' if k in numeric else f"<td>{cell}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _headline(p: Progress, lang: str) -> str:
    h = headline_table(p)
    col = lambda key, **kw: t(f"progress.columns.{key}", lang).format(**kw)  # noqa: E731
    label = "label_en" if lang == "en" else "label_vi"
    has_projection = h["projected"].notna().any()
    headers = [col("indicator"), col("actual", year=p.year), col("target"), col("target_year"), col("gap"),
               col("assessment")]
    if has_projection:
        headers.append(col("projected", year=p.target_year))
    rows = []
    for r in h.itertuples():
        d = _decimals(r.unit)
        row = [_e(getattr(r, label)), _num(r.actual, lang, d, r.unit), _num(r.target, lang, d, r.unit),
               "" if _missing(r.target_year) else _e(int(r.target_year)), _num(r.gap, lang, d, r.unit),
               _met_cell(r.met, lang)]
        if has_projection:
            row.append(_num(r.projected, lang, 2 if r.unit != "share" else 0, r.unit))
        rows.append(row)
    table = _table(headers, rows, numeric={1, 2, 3, 4, 6})
    if p.target_year is None:
        table += f'<p class="note">{_e(t("progress.headline_none", lang))}</p>'
    return table


def _levels(p: Progress, lang: str) -> str:
    col = lambda key, **kw: t(f"progress.columns.{key}", lang).format(**kw)  # noqa: E731
    label = "label_en" if lang == "en" else "label_vi"
    rows = [[_e(r[label]), _num(r["n"], lang), _num(r["n_exact"], lang), _num(r["share"], lang, unit="share"),
             _num(r["target"], lang), _met_cell(r["met"], lang), _num(r["projected"], lang, 2)]
            for _, r in p.levels.iterrows()]
    return _table([col("level"), col("communes"), col("exact"), col("share"), col("target"), col("assessment"),
                   col("projected", year=p.target_year or "–")], rows, numeric={1, 2, 3, 4, 6})


def _villages(p: Progress, lang: str) -> str:
    col = lambda key, **kw: t(f"progress.columns.{key}", lang).format(**kw)  # noqa: E731
    rows = []
    for _, r in p.villages.iterrows():
        name = t("progress.all_villages" if r["group"] == "all" else "progress.edk_villages", lang)
        unit = "share" if r["target_metric"] == "share_villages_dat_chuan_edk" else "count"
        rows.append([_e(name), _num(r["n_villages"], lang), _num(r["n_dat_chuan"], lang), _num(r["n_kieu_mau"], lang),
                     _num(r["share_dat_chuan"], lang, unit="share"), _num(r["target"], lang, unit=unit),
                     _met_cell(r["met"], lang)])
    return _table([col("group"), col("villages"), col("recognised"), col("model"), col("share"), col("target"),
                   col("assessment")], rows, numeric={1, 2, 3, 4, 5})


def _at_risk(p: Progress, lang: str) -> str:
    if p.at_risk.empty:
        return f"<p>{_e(t('progress.at_risk_none', lang))}</p>"
    col = lambda key, **kw: t(f"progress.columns.{key}", lang).format(**kw)  # noqa: E731
    c = p.communes.set_index("unit_code")
    name = "name_en" if lang == "en" else "name_vi"
    crit_names = dict(zip(p.criteria["number"], p.criteria[name]))
    rows = []
    for _, r in p.at_risk.iterrows():
        level = c.loc[r["unit_code"], "level_vi"] if lang == "vi" else r["level"]
        rows.append([_e(r["unit_code"]), _e(r["name"]), _e(c.loc[r["unit_code"], "parent_name"]), _e(level),
                     _e(r["recognised_year"]), _num(r["n_failing"], lang),
                     _e(", ".join(f"{n}. {crit_names.get(n, '')}" for n in r["failing"]))])
    return _table([col("code"), col("name"), col("district"), col("level"), col("recognised_year"),
                   col("n_failing"), col("failing")], rows, numeric={4, 5})


def _unmet(p: Progress, lang: str, top: int = 10) -> str:
    col = lambda key, **kw: t(f"progress.columns.{key}", lang).format(**kw)  # noqa: E731
    name = "name_en" if lang == "en" else "name_vi"
    crit = p.criteria.sort_values(["n_unmet", "number"], ascending=[False, True]).head(top)
    rows = [[_e(f"{r['number']}. {r[name]}"), _num(r["n_unmet"], lang), _num(r["n_met"], lang),
             _num(r["n_no_data"], lang), _num(r["share_met"], lang, unit="share")] for _, r in crit.iterrows()]
    return _table([col("criterion"), col("n_unmet"), col("n_met"), col("n_no_data"), col("share")], rows,
                  numeric={1, 2, 3, 4})


def _trend(p: Progress, lang: str) -> str:
    col = lambda key, **kw: t(f"progress.columns.{key}", lang).format(**kw)  # noqa: E731
    rows = []
    for _, r in p.trend.iterrows():
        change = r["d_avg_criteria_per_commune"]
        rows.append([_e(int(r["year"])), _num(r["n_communes"], lang), _num(r["total_criteria"], lang),
                     _num(r["avg_criteria_per_commune"], lang, 2),
                     "–" if _missing(change) else ("+" if change > 0 else "") + _num(change, lang, 2),
                     _num(r["min_criteria_per_commune"], lang), _num(r["n_below_threshold"], lang),
                     _num(r["communes_dat_chuan"], lang), _num(r["communes_nang_cao"], lang),
                     _num(r["communes_kieu_mau"], lang), _num(r["villages_dat_chuan"], lang)])
    levels = p.levels.set_index("level")
    label = "label_en" if lang == "en" else "label_vi"
    return _table([col("year"), col("communes"), col("criteria_met"), col("average"), col("change"), col("minimum"),
                   col("below", threshold=p.threshold), *(levels.loc[lv, label] for lv in levels.index),
                   col("recognised") + " (" + t("words.villages", lang).lower() + ")"],
                  rows, numeric=set(range(1, 11)))


def _projection(p: Progress, lang: str) -> str:
    if p.projection.empty:
        return f'<p class="note">{_e(note_text(p.projection_method, lang))}</p>'
    col = lambda key, **kw: t(f"progress.columns.{key}", lang).format(**kw)  # noqa: E731
    label = "label_en" if lang == "en" else "label_vi"
    rows = []
    for _, r in p.projection.iterrows():
        unit = "share" if r["metric"].startswith("share") else "count"
        d = 2 if r["metric"].startswith(("avg", "min")) else 0
        rows.append([_e(r[label]), _num(r["last_value"], lang, d, unit), _num(r["slope_per_year"], lang, 2, unit),
                     _num(r["projected"], lang, 2, unit), _num(r["target"], lang, d, unit),
                     _met_cell(r["on_track"], lang)])
    table = _table([col("indicator"), col("last_value", year=p.year), col("slope"),
                    col("projected", year=p.target_year), col("target"), col("on_track")], rows, numeric={1, 2, 3, 4})
    return table + f'<p class="note">{_e(note_text(p.projection_method, lang))}</p>'


def _communes(p: Progress, lang: str) -> str:
    col = lambda key, **kw: t(f"progress.columns.{key}", lang).format(**kw)  # noqa: E731
    rows = []
    for _, r in p.communes.iterrows():
        change = r["change"]
        level = (r["level_vi"] if lang == "vi" else r["level"]) if not _missing(r["level"]) else ""
        below = r["below_threshold"]
        rows.append([_e(r["unit_code"]), _e(r["name"]), _e(r["parent_name"]),
                     f'<td class="n{" not-met" if below is True else ""}">{_num(r["n_met"], lang)}</td>',
                     _num(r["n_met_previous"], lang),
                     "–" if _missing(change) else ("+" if change > 0 else "") + _num(change, lang),
                     _e(level) + (" ⚠" if r["at_risk"] else ""), _e(", ".join(str(n) for n in r["unmet"]))])
    return _table([col("code"), col("name"), col("district"), col("criteria_met"), col("previous", year=p.year - 1),
                   col("change"), col("level"), t("classes.not_met", lang)], rows, numeric={4, 5})


def progress_html(
    p: Progress,
    *,
    lang: str = "vi",
    links: dict[str, str] | None = None,
    created: dt.date | None = None,
) -> str:
    """The progress page as an HTML string.

    ``links`` may give ``xlsx``, ``json``, ``figure`` (an image URL, shown in the page),
    ``figure_png`` / ``figure_pdf`` / ``figure_svg`` and ``other_lang`` URLs.

    See Also
    --------
    layers.progress.compute_progress, maps.progress_figure.progress_figure
    """
    if lang not in ("vi", "en"):
        raise ValueError(f"'lang' must be 'vi' or 'en', got {lang!r}")
    links = links or {}
    s = p.summary
    day = created or dt.date.today()
    title = t("progress.title", lang).format(scope=p.scope_name)
    sub = t("progress.subtitle", lang).format(year=p.year, set=p.set_title_en if lang == "en" else p.set_title_vi,
                                             act=p.legal_act.split(",")[0], n=p.n_criteria)
    link_html = []
    if links.get("other_lang"):
        link_html.append(f'<a href="{_e(links["other_lang"])}" hreflang="{"en" if lang == "vi" else "vi"}">'
                         f'{_e(t("progress.language", lang))}</a>')
    downloads = [(key, text) for key, text in (("xlsx", t("progress.xlsx", lang)), ("json", t("progress.json", lang)),
                                               ("figure_png", t("progress.figure", lang) + " PNG"),
                                               ("figure_pdf", t("progress.figure", lang) + " PDF"),
                                               ("figure_svg", t("progress.figure", lang) + " SVG")) if links.get(key)]
    if downloads:
        link_html.append(_e(t("progress.downloads", lang)) + ": "
                         + " ".join(f'<a href="{_e(links[k])}">{_e(text)}</a>' for k, text in downloads))
    cards = [(t("progress.cards.average", lang), _num(s["average"], lang, 2)),
             (t("progress.cards.standard", lang), f"{s['n_dat_chuan']}/{s['n_communes']}"),
             (t("progress.cards.minimum", lang), _num(s["minimum"], lang)),
             (t("progress.cards.below", lang).format(threshold=p.threshold), _num(s["n_below_threshold"], lang)),
             (t("progress.cards.at_risk", lang), _num(s["n_at_risk"], lang))]
    figure = (f'<p><img class="figure" src="{_e(links["figure"])}" alt="{_e(t("progress.figure", lang))}"></p>'
              if links.get("figure") else "")
    notes = "".join(f"<li>{_e(note_text(n, lang))}</li>" for n in p.notes)
    target_year = p.target_year or "–"
    body = [
        f'<div class="top"><div><h1>{_e(title)}</h1><div class="sub">{_e(sub)}</div>'
        f'<div class="sub">{_e(t("progress.created", lang).format(date=day.strftime("%d/%m/%Y")))}</div></div>'
        f'<div class="links">{"<br>".join(link_html)}</div></div>',
        '<div class="cards">' + "".join(f'<div class="card">{_e(k)}<b>{v}</b></div>' for k, v in cards) + "</div>",
        f"<h2>{_e(t('progress.headline', lang))}</h2>", _headline(p, lang),
        figure,
        f"<h2>{_e(t('progress.levels', lang))}</h2>", _levels(p, lang),
        f"<h2>{_e(t('progress.villages', lang))}</h2>", _villages(p, lang),
        f"<h2>{_e(t('progress.at_risk', lang))}</h2>", _at_risk(p, lang),
        f"<h2>{_e(t('progress.unmet', lang))}</h2>", _unmet(p, lang),
        f"<h2>{_e(t('progress.trend', lang))}</h2>", _trend(p, lang),
        f"<h2>{_e(t('progress.projection', lang).format(year=target_year))}</h2>", _projection(p, lang),
        f"<h2>{_e(t('progress.communes', lang))}</h2>", _communes(p, lang),
        f"<h2>{_e(t('progress.notes', lang))}</h2><ul class=\"note\">{notes}</ul>",
    ]
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>{''.join(body)}</body></html>")

"""The scenario page: the map of a funded plan's target year and progress before / after.

A scenario is never an assessment, and the page says so in a banner, in the title and
in the notes. The map colours communes by criteria met in the scenario year (the count
classes of the web map, ``maps.modes.class_breaks``) with a tooltip of base-year →
scenario criteria and the criteria funded; beside it the legend with counts and the
headline cards; below it the headline indicators before (base year, real status) and
after (scenario year) against the targets, and the communes the plan brings to the
standard. Every name from the store is escaped.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from layers import admin_units, criteria
from layers.scenario import ScenarioResult
from layers.store import Store
from . import _plan_map as pm
from ._errors import ParameterError
from ._plan_map import e, fmt_num
from .i18n import LANGS, t
from .modes import _SEQUENTIAL, class_breaks
from .prioritise_page import scope_name

__all__ = ["count_classes", "scenario_html"]


def _tr(key: str, lang: str) -> str:
    return t(f"scenario.{key}", lang)


def count_classes(n_met: pd.Series, assessed: pd.Series, n_total: int, lang: str) -> tuple[list, list[str]]:
    """((key, colour, label) per class, key per commune) for criteria-met counts."""
    classes, keys = [], []
    breaks = class_breaks(n_total)
    for (low, high), colour in zip(breaks, _SEQUENTIAL):
        label = (f"< {high + 1}" if low == 0 else f"{low}–{high}" if low != high
                 else f"{low} ({t('classes.all_met', lang)})")
        classes.append((f"{low}-{high}", colour, label))
    classes.append(("no_data", pm.NO_DATA, t("no_data", lang)))
    for n, ok in zip(n_met, assessed):
        keys.append(next(f"{lo}-{hi}" for lo, hi in breaks if lo <= n <= hi) if ok else "no_data")
    return classes, keys


def _cell_met(value, lang: str) -> str:
    if pm.missing(value):
        return "<td></td>"
    return (f'<td class="good">{e(t("progress.met", lang))}</td>' if bool(value)
            else f'<td class="bad">{e(t("progress.not_met", lang))}</td>')


def _num(value, unit: str, lang: str) -> str:
    if pm.missing(value):
        return "–"
    if unit == "share":
        return fmt_num(float(value) * 100, lang, 1) + " %"
    v = float(value)
    return fmt_num(v, lang, 2 if unit == "criteria" or v != round(v) else 0)


def _comparison(result: ScenarioResult, lang: str) -> str:
    sc = result.scenario
    label = "label_en" if lang == "en" else "label_vi"
    with_none = result.without is not None
    rows = []
    for _, r in result.comparison.iterrows():
        change = r["change"]
        ch = "–" if pm.missing(change) else ("+" if change > 0 else "") + _num(change, r["unit"], lang)
        row = [e(r[label]), _num(r["before"], r["unit"], lang)]
        if with_none:
            row.append(_num(r["without"], r["unit"], lang))
        row += [_num(r["after"], r["unit"], lang), ch, _num(r["target"], r["unit"], lang),
                "" if pm.missing(r["target_year"]) else e(int(r["target_year"])),
                _cell_met(r["met_before"], lang), _cell_met(r["met_after"], lang)]
        rows.append(row)
    col = lambda k, **kw: _tr(f"columns.{k}", lang).format(**kw)  # noqa: E731
    heads = [col("indicator"), col("before", year=sc.base_year)]
    if with_none:
        heads.append(col("without", year=sc.target_year))
    heads += [col("after", year=sc.target_year), col("change_plan" if with_none else "change"), col("target"),
              col("target_year"), col("met_before", year=sc.base_year), col("met_after", year=sc.target_year)]
    return pm.table(heads, rows, numeric=set(range(1, 6 + with_none)))


def _reaching(result: ScenarioResult, parents: dict[str, str], names: dict[int, str], lang: str) -> str:
    c = result.scenario.communes
    hit = c[c["reaches_standard"]]
    if hit.empty:
        return f"<p>{e(_tr('none_reaching', lang))}</p>"
    rows = [[e(r["unit_code"]), e(r["name"]), e(parents.get(r["parent_code"], r["parent_code"])),
             f"{r['n_met_base']} → {r['n_met']}/{r['n_total']}",
             e("; ".join(f"{n}. {names.get(n, '')}" for n in r["funded"])),
             e(_tr("yes", lang) if r["recognised_in_scenario"] else _tr("no", lang))] for _, r in hit.iterrows()]
    col = lambda k: _tr(f"columns.{k}", lang)  # noqa: E731
    return pm.table([col("code"), col("name"), col("district"), col("criteria_met"), col("funded"),
                     col("recognised")], rows, numeric={3})


def scenario_html(
    store: Store,
    result: ScenarioResult,
    *,
    lang: str = "vi",
    links: dict[str, str] | None = None,
    offline_js: list | None = None,
    offline_css: list | None = None,
    tiles: str | None = None,
    tiles_attribution: str = "",
    created: dt.date | None = None,
) -> str:
    """The scenario page as one HTML document (``links``: json, plan, other_lang, figure_*)."""
    if lang not in LANGS:
        raise ParameterError("lang", f"'lang' must be one of {LANGS}, got {lang!r}")
    links = links or {}
    sc = result.scenario
    cset = criteria.get_set(sc.set_id)
    names = {c.number: c.label(lang) for c in cset.criteria}
    com = sc.communes
    classes, keys = count_classes(com["n_met"], com["n_assessed_base"] > 0, sc.n_criteria, lang)
    colour = {k: c for k, c, _ in classes}
    counts = pd.Series(keys).value_counts().to_dict()
    base_keys = count_classes(com["n_met_base"], com["n_assessed_base"] > 0, sc.n_criteria, lang)[1]
    base_counts = pd.Series(base_keys).value_counts().to_dict()
    # the target year's units: communes formed after the base year show as "no data"
    in_year = admin_units.units_in_scope(store, sc.scope_code, "commune", on=admin_units.year_end(sc.target_year))
    communes, districts = pm.commune_shapes(store, set(in_year["code"]) | set(com["unit_code"]), sc.target_year)
    parents = dict(zip(districts["code"], districts["name"]))
    new = communes[~communes["code"].isin(com["unit_code"])]
    counts["no_data"] = int(counts.get("no_data", 0)) + len(new)
    tooltips = {r["code"]: f"<b>{e(r['name'])}</b><br>{e(t('no_data', lang))}" for _, r in new.iterrows()}
    for (_, r), key in zip(com.iterrows(), keys):
        lines = [f"<b>{e(r['name'])}</b> ({e(parents.get(r['parent_code'], r['parent_code']))})",
                 e(_tr("tip_criteria", lang).format(base_year=sc.base_year, before=r["n_met_base"],
                                                    year=sc.target_year, after=r["n_met"], total=r["n_total"]))]
        if r["funded"]:
            funded = "; ".join(f"{n}. {names.get(n, '')}" for n in r["funded"])
            lines.append(e(_tr("tip_funded", lang)) + ": " + e(funded))
        if r["reaches_standard"]:
            lines.append(f"<b>{e(_tr('tip_reaches', lang))}</b>")
        tooltips[r["unit_code"]] = "<br>".join(lines)
    legend = pm.legend_html(_tr("legend_title", lang).format(year=sc.target_year),
                            [(c, label, int(counts.get(k, 0))) for k, c, label in classes])
    fmap = pm.build_map(communes, districts, dict(zip(com["unit_code"], [colour[k] for k in keys])), tooltips,
                        layer_name=_tr("layer", lang), lang=lang, offline_js=offline_js, offline_css=offline_css,
                        tiles=tiles, tiles_attribution=tiles_attribution)
    scope = scope_name(store, sc.scope_code, sc.base_year, lang)
    title = _tr("title", lang).format(year=sc.target_year, scope=scope)
    sub = _tr("subtitle", lang).format(base_year=sc.base_year, plan=sc.plan_id,
                                       set=cset.title_en if lang == "en" else cset.title_vi)
    day = created or dt.date.today()
    items = [(k, label) for k, label in (("other_lang", t("prioritise_map.language", lang)),
                                         ("plan", _tr("plan_link", lang)), ("json", "JSON"),
                                         ("figure_png", t("prioritise_map.figure", lang) + " PNG"),
                                         ("figure_pdf", t("prioritise_map.figure", lang) + " PDF"))
             if links.get(k)]
    link_html = "".join(f'<a href="{e(links[k])}">{e(v)}</a>' for k, v in items)
    header = (f'<header class="top"><div><h1>{e(title)}</h1><div class="sub">{e(sub)}</div>'
              f'<div class="sub">{e(t("prioritise_map.created", lang).format(date=day.strftime("%d/%m/%Y")))}</div>'
              f'</div><div class="links">{link_html}</div></header>')
    meta = store.meta()
    banner = f'<div class="scenario">{e(sc.label_vi if lang == "vi" else sc.label_en)}</div>'
    if meta.get("demo") == "1":
        banner += f'<div class="demo">{e(meta.get("label") or t("demo_banner", lang))}</div>'
    b, a = result.before.summary, result.after.summary
    cards = [(_tr("cards.standard", lang), f"{b['n_dat_chuan']} → {a['n_dat_chuan']}"),
             (_tr("cards.average", lang), f"{fmt_num(b['average'], lang, 2)} → {fmt_num(a['average'], lang, 2)}"),
             (_tr("cards.below", lang).format(threshold=result.after.threshold),
              f"{fmt_num(b['n_below_threshold'], lang)} → {fmt_num(a['n_below_threshold'], lang)}"),
             (_tr("cards.funded", lang), fmt_num(int(com["n_funded"].sum()), lang))]
    base_legend = pm.legend_html(_tr("legend_base", lang).format(year=sc.base_year),
                                 [(c, label, int(base_counts.get(k, 0))) for k, c, label in classes])
    side = (legend + '<div class="cards">' + "".join(f'<div class="card">{e(k)}<b>{v}</b></div>' for k, v in cards)
            + "</div>" + base_legend)
    notes = "".join(f"<li>{e(_note(n, lang))}</li>" for n in result.after.notes)
    sections = [(_tr("headline", lang).format(base_year=sc.base_year, year=sc.target_year), _comparison(result, lang)),
                (_tr("reaching", lang), _reaching(result, parents, names, lang)),
                (_tr("notes", lang), f'<ul class="note">{notes}</ul>')]
    return pm.page(lang=lang, title=title, header=header, map_=fmap, side=side, sections=sections, banner=banner)


def _note(note: str, lang: str) -> str:
    parts = note.split(". / ", 1)
    if len(parts) == 2:
        return parts[0] + "." if lang == "vi" else parts[1]
    return note

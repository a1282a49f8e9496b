"""The prioritisation map page: which communes a budget plan funds and what it achieves.

Communes are coloured by plan outcome (:func:`plan_outcomes`): already at the standard,
reaching it with the plan, funded but not yet reaching it, not funded, or held back by
gaps money alone does not close (income, poverty …). Beside the map: the legend with
counts and the plan's summary (budget, spent, optimal vs greedy, the next budget step);
below it the chosen list (commune, criteria funded, cost, funding-source split) and the
gaps money does not close. Vietnamese by default (``lang="en"`` for English); every name
from the store is escaped.

The plan is a ``layers.prioritise.PriorityPlan`` (anything with its ``gaps``,
``communes`` and ``summary``); nothing here computes a plan.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from layers import admin_units, criteria
from layers.store import Store
from layers.vocab import vocab_labels
from . import _plan_map as pm
from ._errors import ParameterError
from ._plan_map import e, fmt_num, fmt_vnd
from .i18n import LANGS, t

__all__ = ["OUTCOMES", "OUTCOME_COLOURS", "plan_outcomes", "outcome_counts", "source_codes", "prioritise_html", "scope_name"]

OUTCOMES = ("already_standard", "reaches", "funded_partial", "not_funded", "not_closable")
OUTCOME_COLOURS = {"already_standard": "#1a9641", "reaches": "#2b83ba", "funded_partial": "#abd9e9",
                   "not_funded": "#fee08b", "not_closable": "#d7191c", "no_data": pm.NO_DATA}


def _tr(key: str, lang: str) -> str:
    return t(f"prioritise_map.{key}", lang)


def source_codes(plan) -> list[str]:
    """Funding-source codes of the plan's allocation columns (``vnd_<code>``), in order."""
    return [c[4:] for c in plan.gaps.columns if c.startswith("vnd_")]


def plan_outcomes(plan) -> pd.DataFrame:
    """One row per commune of the plan with its outcome class and what was funded.

    Outcome, first that applies: ``already_standard``; ``reaches`` (the plan brings it to
    the standard); ``funded_partial`` (some gaps funded, not yet at the standard);
    ``not_closable`` (not funded, and some gap is one money alone does not close);
    ``not_funded``.

    Columns: unit_code, name, parent_code, outcome, n_met, n_met_after, n_total,
    n_unmet, n_closable, funded_cost_vnd, funded (criterion numbers), blockers
    (criterion, reason) pairs, and ``vnd_<source>`` per funding source.
    """
    com = plan.communes.copy()
    gaps = plan.gaps
    funded = gaps[gaps["funded"].fillna(False).astype(bool)] if len(gaps) else gaps
    blocked = gaps[~gaps["closable"].fillna(False).astype(bool)] if len(gaps) else gaps
    lists = funded.groupby("unit_code")["criterion"].agg(lambda s: sorted(int(x) for x in s)) if len(funded) else {}
    blockers = (blocked.groupby("unit_code").apply(
        lambda g: [(int(c), str(b or "")) for c, b in zip(g["criterion"], g["blocker"])], include_groups=False)
        if len(blocked) else {})
    com["funded"] = [list(lists.get(c, [])) for c in com["unit_code"]]
    com["blockers"] = [list(blockers.get(c, [])) for c in com["unit_code"]]
    for src in source_codes(plan):
        col = f"vnd_{src}"
        com[col] = com["unit_code"].map(funded.groupby("unit_code")[col].sum() if len(funded) else {}).fillna(0.0)
    cost = com["funded_cost_vnd"].fillna(0.0)
    already = com["already_standard"].fillna(False).astype(bool)
    reaches = com["reaches_standard"].fillna(False).astype(bool) & ~already
    partial = ~already & ~reaches & ((cost > 0) | com["funded"].map(bool))
    blocked_ = ~already & ~reaches & ~partial & (com["n_unmet"] > com["n_closable"])
    com["outcome"] = "not_funded"
    com.loc[blocked_, "outcome"] = "not_closable"
    com.loc[partial, "outcome"] = "funded_partial"
    com.loc[reaches, "outcome"] = "reaches"
    com.loc[already, "outcome"] = "already_standard"
    cols = ["unit_code", "name", "parent_code", "outcome", "n_met", "n_met_after", "n_total", "n_unmet", "n_closable",
            "funded_cost_vnd", "funded", "blockers", *(f"vnd_{s}" for s in source_codes(plan))]
    return com[cols].reset_index(drop=True)


def outcome_counts(outcomes: pd.DataFrame) -> dict[str, int]:
    """Communes per outcome, every outcome listed (0 when none)."""
    counts = outcomes["outcome"].value_counts().to_dict()
    return {k: int(counts.get(k, 0)) for k in OUTCOMES}


def _crit_names(plan, lang: str) -> dict[int, str]:
    cset = criteria.get_set(plan.set_id)
    return {c.number: c.label(lang) for c in cset.criteria}


def _tooltip(row, names: dict[int, str], parents: dict[str, str], lang: str) -> str:
    lines = [f"<b>{e(row['name'])}</b> <span>({e(parents.get(row['parent_code'], row['parent_code']))})</span>",
             f"{e(_tr('outcomes.' + row['outcome'], lang))}",
             e(_tr("tip_criteria", lang).format(before=row["n_met"], after=row["n_met_after"], total=row["n_total"]))]
    if row["funded"]:
        lines.append(e(_tr("tip_cost", lang).format(cost=fmt_vnd(row["funded_cost_vnd"], lang))))
        funded = "; ".join(f"{n}. {names.get(n, '')}" for n in row["funded"])
        lines.append(e(_tr("tip_funded", lang)) + ": " + e(funded))
    if row["blockers"]:
        lines.append(e(_tr("tip_blocked", lang)) + ": " + e("; ".join(f"{n}. {names.get(n, '')}"
                                                                        for n, _ in row["blockers"])))
    return "<br>".join(lines)


def _summary(plan, lang: str) -> str:
    s = plan.summary
    greedy = s.get("greedy") or {}
    rows = []
    for key, fmt in (("communes_reaching", lambda v: fmt_num(v, lang)), ("criteria_gained", lambda v: fmt_num(v, lang)),
                     ("population_served", lambda v: fmt_num(v, lang)), ("spent_vnd", lambda v: fmt_vnd(v, lang))):
        mine, base = s.get(key), greedy.get(key)
        better = (not pm.missing(mine) and not pm.missing(base) and key != "spent_vnd" and float(mine) > float(base))
        rows.append([e(_tr(f"summary.{key}", lang)), f'<td class="n{" good" if better else ""}">{fmt(mine)}</td>',
                     fmt(base)])
    method = _tr(f"methods.{plan.method}", lang) if plan.method in ("optimal", "greedy") else plan.method
    compare = pm.table([_tr("summary.indicator", lang), method, _tr("methods.greedy", lang)], rows, numeric={2})
    nxt = s.get("next_step") or {}
    next_line = ""
    if nxt and not pm.missing(nxt.get("extra_vnd")):
        text = _tr("summary.next_step", lang).format(extra=fmt_vnd(nxt.get("extra_vnd"), lang),
                                                     n=nxt.get("extra_communes", 0))
        next_line = (f"<p>{e(text)}"
                     + (f' <span class="note">({e(", ".join(str(u) for u in nxt.get("units") or []))})</span>'
                        if nxt.get("units") else "") + "</p>")
    status = s.get("status", "")
    solve = s.get("solve_seconds")
    status_line = e(_tr("summary.status", lang).format(status=status, seconds=fmt_num(solve, lang, 2)))
    return f"{compare}{next_line}<p class=\"note\">{status_line}</p>"


def _sources(plan, lang: str) -> str:
    by = plan.summary.get("by_source") or {}
    labels = vocab_labels("funding_sources", lang)
    codes = list(dict.fromkeys([*by.keys(), *source_codes(plan)]))
    if not codes:
        return ""
    rows = []
    for code in codes:
        b = by.get(code, {})
        spent = b.get("spent")
        if spent is None and f"vnd_{code}" in plan.gaps:
            spent = float(plan.gaps.loc[plan.gaps["funded"].fillna(False).astype(bool), f"vnd_{code}"].sum())
        rows.append([e(labels.get(code, code)), fmt_vnd(b.get("budget"), lang), fmt_vnd(spent, lang)])
    return pm.table([_tr("columns.source", lang), _tr("columns.budget", lang), _tr("columns.spent", lang)], rows,
                    numeric={1, 2})


def _chosen(outcomes: pd.DataFrame, plan, names: dict[int, str], parents: dict[str, str], lang: str) -> str:
    chosen = outcomes[outcomes["funded"].map(bool)].sort_values(["outcome", "funded_cost_vnd", "unit_code"],
                                                                 key=lambda s: s.map(OUTCOMES.index)
                                                                 if s.name == "outcome" else s)
    if chosen.empty:
        return f"<p>{e(_tr('none_funded', lang))}</p>"
    labels = vocab_labels("funding_sources", lang)
    srcs = source_codes(plan)
    rows = []
    for _, r in chosen.iterrows():
        split = "; ".join(f"{e(labels.get(s, s))}: {fmt_vnd(r[f'vnd_{s}'], lang)}" for s in srcs if r[f"vnd_{s}"])
        reach = _tr("yes", lang) if r["outcome"] == "reaches" else _tr("no", lang)
        rows.append([e(r["unit_code"]), e(r["name"]), e(parents.get(r["parent_code"], r["parent_code"])),
                     e("; ".join(f"{n}. {names.get(n, '')}" for n in r["funded"])),
                     fmt_vnd(r["funded_cost_vnd"], lang), split,
                     f"{r['n_met']} → {r['n_met_after']}/{r['n_total']}",
                     f'<td class="{"good" if r["outcome"] == "reaches" else ""}">{e(reach)}</td>'])
    total = [f"<b>{e(_tr('total', lang))}</b>", "", "", fmt_num(int(chosen["funded"].map(len).sum()), lang),
             f"<b>{fmt_vnd(chosen['funded_cost_vnd'].sum(), lang)}</b>",
             "; ".join(f"{e(labels.get(s, s))}: {fmt_vnd(chosen[f'vnd_{s}'].sum(), lang)}" for s in srcs), "",
             fmt_num(int((chosen["outcome"] == "reaches").sum()), lang)]
    col = lambda k: _tr(f"columns.{k}", lang)  # noqa: E731
    return pm.table([col("code"), col("name"), col("district"), col("criteria_funded"), col("cost"), col("split"),
                     col("criteria_met"), col("reaches")], [*rows, total], numeric={4, 6})


def _blocked(plan, names: dict[int, str], lang: str) -> str:
    """One row per commune with gaps money alone does not close, and why."""
    gaps = plan.gaps
    blocked = gaps[~gaps["closable"].fillna(False).astype(bool)] if len(gaps) else gaps
    if blocked.empty:
        return f"<p>{e(_tr('none_blocked', lang))}</p>"
    rows = []
    for code, g in blocked.groupby("unit_code", sort=True):
        crits = "; ".join(f"{int(n)}. {names.get(int(n), '')}" for n in sorted(g["criterion"]))
        why = g["blocker_en"] if lang == "en" and "blocker_en" in g else g["blocker"]
        reasons = "; ".join(dict.fromkeys(str(b) for b in why if isinstance(b, str) and b))
        rows.append([e(code), e(g["name"].iloc[0]), e(crits), e(reasons)])
    col = lambda k: _tr(f"columns.{k}", lang)  # noqa: E731
    return pm.table([col("code"), col("name"), col("criterion"), col("blocker")], rows)


def prioritise_html(
    store: Store,
    plan,
    *,
    lang: str = "vi",
    links: dict[str, str] | None = None,
    offline_js: list | None = None,
    offline_css: list | None = None,
    tiles: str | None = None,
    tiles_attribution: str = "",
    created: dt.date | None = None,
) -> str:
    """The prioritisation page as one HTML document.

    ``links`` may give ``json``, ``figure_png`` / ``figure_pdf`` / ``figure_svg``,
    ``scenario`` and ``other_lang`` URLs (only the routes know them).

    Raises
    ------
    ParameterError
        ``lang`` not "vi" or "en".
    """
    if lang not in LANGS:
        raise ParameterError("lang", f"'lang' must be one of {LANGS}, got {lang!r}")
    links = links or {}
    outcomes = plan_outcomes(plan)
    counts = outcome_counts(outcomes)
    names = _crit_names(plan, lang)
    in_scope = admin_units.units_in_scope(store, plan.scope_code, "commune", on=admin_units.year_end(plan.year))
    communes, districts = pm.commune_shapes(store, set(in_scope["code"]) | set(outcomes["unit_code"]), plan.year)
    parents = dict(zip(districts["code"], districts["name"]))
    colours = {c: OUTCOME_COLOURS[o] for c, o in zip(outcomes["unit_code"], outcomes["outcome"])}
    tooltips = {r["unit_code"]: _tooltip(r, names, parents, lang) for _, r in outcomes.iterrows()}
    outside = communes[~communes["code"].isin(outcomes["unit_code"])]
    for _, r in outside.iterrows():
        tooltips[r["code"]] = (f"<b>{e(r['name'])}</b> ({e(parents.get(r['parent_code'], r['parent_code']))})<br>"
                               f"{e(_tr('outcomes.no_data', lang))}")
    rows = [(OUTCOME_COLOURS[k], _tr(f"outcomes.{k}", lang), counts[k]) for k in OUTCOMES]
    if len(outside):
        rows.append((OUTCOME_COLOURS["no_data"], _tr("outcomes.no_data", lang), len(outside)))
    legend = pm.legend_html(_tr("legend_title", lang), rows)
    fmap = pm.build_map(communes, districts, colours, tooltips, layer_name=_tr("layer", lang), lang=lang,
                        offline_js=offline_js, offline_css=offline_css, tiles=tiles,
                        tiles_attribution=tiles_attribution)
    s = plan.summary
    cset = criteria.get_set(plan.set_id)
    scope = scope_name(store, plan.scope_code, plan.year, lang)
    title = _tr("title", lang).format(scope=scope, year=plan.year)
    objective = _tr(f"objectives.{plan.objective}", lang) if plan.objective in ("communes", "criteria", "population") \
        else plan.objective
    method = _tr(f"methods.{plan.method}", lang) if plan.method in ("optimal", "greedy") else plan.method
    sub = _tr("subtitle", lang).format(set=cset.title_en if lang == "en" else cset.title_vi, objective=objective,
                                       method=method, version=plan.cost_model_version)
    day = created or dt.date.today()
    link_items = [(k, label) for k, label in (("other_lang", _tr("language", lang)),
                                              ("scenario", _tr("scenario_link", lang)),
                                              ("json", "JSON"), ("figure_png", _tr("figure", lang) + " PNG"),
                                              ("figure_pdf", _tr("figure", lang) + " PDF"),
                                              ("figure_svg", _tr("figure", lang) + " SVG")) if links.get(k)]
    link_html = "".join(f'<a href="{e(links[k])}">{e(label)}</a>' for k, label in link_items)
    header = (f'<header class="top"><div><h1>{e(title)}</h1><div class="sub">{e(sub)}</div>'
              f'<div class="sub">{e(_tr("created", lang).format(date=day.strftime("%d/%m/%Y")))}</div></div>'
              f'<div class="links">{link_html}</div></header>')
    meta = store.meta()
    banner = (f'<div class="demo">{e(meta.get("label") or t("demo_banner", lang))}</div>'
              if meta.get("demo") == "1" else "")
    cards = [(_tr("cards.budget", lang), pm.budget_text(s, lang)),
             (_tr("cards.spent", lang), fmt_vnd(s.get("spent_vnd"), lang)),
             (_tr("cards.reaching", lang), fmt_num(s.get("communes_reaching"), lang)),
             (_tr("cards.criteria", lang), fmt_num(s.get("criteria_gained"), lang))]
    side = (legend + '<div class="cards">' + "".join(f'<div class="card">{e(k)}<b>{v}</b></div>' for k, v in cards)
            + "</div>" + _summary(plan, lang))
    weights = ", ".join(f"{k} = {v}" for k, v in (plan.weights or {}).items())
    notes = [_tr("note_outcomes", lang), _tr("note_cost", lang).format(version=plan.cost_model_version)]
    if weights:
        notes.append(_tr("note_weights", lang).format(weights=weights))
    sections = [
        (_tr("chosen", lang).format(n=int(outcomes["funded"].map(bool).sum())),
         _chosen(outcomes, plan, names, parents, lang)),
        (_tr("sources", lang), _sources(plan, lang)),
        (_tr("blocked", lang), _blocked(plan, names, lang)),
        (_tr("notes", lang), "<ul class=\"note\">" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>"),
    ]
    return pm.page(lang=lang, title=title, header=header, map_=fmap, side=side, sections=sections, banner=banner)


def scope_name(store: Store, code: str | None, year: int, lang: str = "vi") -> str:
    """The full name of a scope unit ("Tỉnh Sơn Cước"); the whole store when None."""
    if code is None:
        return t("figure.whole_store", lang)
    for level in ("province", "district", "commune"):
        units = admin_units.units_table(store, level, on=admin_units.year_end(year))
        hit = units[units["code"] == code]
        if len(hit):
            full = hit["full_name"].iloc[0]
            return str(full if isinstance(full, str) and full else hit["name"].iloc[0])
    return str(code)

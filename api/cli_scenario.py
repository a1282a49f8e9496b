"""``ntm scenario``: a budget plan applied to a future year, and progress before / after.

Takes the options of ``ntm prioritise`` (scope, year, budget, budget per source,
objective, method …) plus ``--to-year``; prints the plan in one line, the headline
indicators (recorded in the base year, the target year without and with the plan,
against the targets), the communes the plan brings to the standard and the notes.
``--figure`` writes the scenario map (PNG, PDF or SVG by extension), ``--plan-figure``
the plan's map, ``--html`` the scenario page as one self-contained file. The scenario
is computed on a temporary copy of the store: the store is never written.
Wired into the main group by ``register(main_group)``.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pandas as pd

from .cli_progress import _num, _store_path, _table

__all__ = ["register", "parse_vnd", "format_scenario"]

_UNITS = {"": 1.0, "ty": 1e9, "tỷ": 1e9, "bn": 1e9, "tr": 1e6, "triệu": 1e6, "m": 1e6}
_AMOUNT = re.compile(r"^\s*([0-9][0-9_.,eE+]*)\s*([A-Za-zỷệ]*)\s*$")


def parse_vnd(text: str, option: str = "--budget") -> float:
    """An amount in VND: "100000000000", "1e11", "100 tỷ", "100bn", "250tr" (dot/comma as
    thousands separators are not accepted: write 100000000000 or 100 tỷ)."""
    m = _AMOUNT.match(str(text))
    unit = (m.group(2) or "").lower() if m else ""
    if not m or unit not in _UNITS or "," in m.group(1):
        raise click.BadParameter(f"expected an amount in VND such as 100000000000, 1e11 or '100 tỷ', got {text!r}",
                                 param_hint=option)
    try:
        value = float(m.group(1).replace("_", "")) * _UNITS[unit]
    except ValueError:
        raise click.BadParameter(f"expected an amount in VND, got {text!r}", param_hint=option) from None
    if value < 0:
        raise click.BadParameter(f"must not be negative, got {text!r}", param_hint=option)
    return value


def _sources(items: tuple[str, ...]) -> dict[str, float] | None:
    out: dict[str, float] = {}
    for item in items:
        code, sep, amount = item.replace("=", ":", 1).partition(":")
        if not sep or not code.strip():
            raise click.BadParameter(f"expected CODE=VND (e.g. central_investment=30tỷ), got {item!r}",
                                     param_hint="--budget-source")
        if code.strip() in out:
            raise click.BadParameter(f"'{code.strip()}' given twice", param_hint="--budget-source")
        out[code.strip()] = parse_vnd(amount, "--budget-source")
    return out or None


def format_scenario(result, plan, *, lang: str = "vi") -> str:
    """The plan in one line, the headline table before / without / with the plan, the
    communes reaching the standard and the notes, as plain text."""
    from maps._plan_map import budget_text, fmt_vnd
    from maps.i18n import t
    from maps.progress_page import note_text

    sc = result.scenario
    s = plan.summary
    col = lambda k, **kw: t(f"scenario.columns.{k}", lang).format(**kw)  # noqa: E731
    greedy = (s.get("greedy") or {}).get("communes_reaching")
    lines = [click.style(sc.label_vi if lang == "vi" else sc.label_en, bold=True),
             f"{t('scenario.cli_plan', lang)} {sc.plan_id}: " + t("prioritise_map.figure_results", lang).format(
                 budget=budget_text(s, lang), spent=fmt_vnd(s.get("spent_vnd"), lang),
                 n=s.get("communes_reaching"), method=t(f"prioritise_map.methods.{plan.method}", lang),
                 greedy=greedy), ""]
    label = "label_en" if lang == "en" else "label_vi"
    with_none = result.without is not None
    rows = []
    for r in result.comparison.itertuples():
        d = 2 if r.unit == "criteria" else 0
        row = [getattr(r, label), _num(r.before, d, r.unit, lang)]
        if with_none:
            row.append(_num(r.without, d, r.unit, lang))
        change = "–" if pd.isna(r.change) else ("+" if r.change > 0 else "") + _num(r.change, d, r.unit, lang)
        met = "" if pd.isna(r.met_after) else t("progress.met" if r.met_after else "progress.not_met", lang)
        row += [_num(r.after, d, r.unit, lang), change, _num(r.target, d, r.unit, lang),
                "" if pd.isna(r.target_year) else str(int(r.target_year)), met]
        rows.append(row)
    heads = [col("indicator"), col("before", year=sc.base_year)]
    if with_none:
        heads.append(col("without", year=sc.target_year))
    heads += [col("after", year=sc.target_year), col("change_plan" if with_none else "change"), col("target"),
              col("target_year"), col("met_after", year=sc.target_year)]
    n = len(heads)
    lines += [click.style(t("scenario.headline", lang).format(base_year=sc.base_year, year=sc.target_year), bold=True),
              *_table(heads, rows, right=set(range(1, n - 1))), ""]
    reach = sc.communes[sc.communes["reaches_standard"]]
    lines.append(click.style(t("scenario.reaching", lang), bold=True) + f": {len(reach)}")
    for r in reach.itertuples():
        lines.append(f"  {r.unit_code}  {r.name}: {r.n_met_base} → {r.n_met}/{r.n_total} "
                     f"({', '.join(str(x) for x in r.funded)})")
    lines += ["", click.style(t("scenario.notes", lang), bold=True)]
    lines += [f"  - {note_text(n, lang)}" for n in result.after.notes]
    return "\n".join(lines)


def register(main_group: click.Group) -> None:
    """Add ``scenario`` to the ``ntm`` group (the store comes from ``--store`` / NTM_STORE)."""

    @main_group.command("scenario")
    @click.option("--scope", help="Province or district code (or name); default: the store's only province.")
    @click.option("--year", type=int, help="Status year of the plan (default: the latest with status records).")
    @click.option("--set", "set_id", help="Criteria set id (default: the set in force in the year).")
    @click.option("--budget", help="Total budget in VND (100000000000, 1e11 or '100 tỷ'); none: unlimited.")
    @click.option("--budget-source", "budget_source", multiple=True, metavar="CODE=VND",
                  help="Budget of one funding source (repeat), e.g. central_investment=30tỷ.")
    @click.option("--objective", type=click.Choice(["communes", "criteria", "population"]), default="communes",
                  show_default=True)
    @click.option("--method", type=click.Choice(["optimal", "greedy"]), default="optimal", show_default=True)
    @click.option("--time-limit", "time_limit", type=float, default=60, show_default=True,
                  help="Solver time limit in seconds.")
    @click.option("--to-year", "to_year", type=int, help="The scenario's year (default: year + 1).")
    @click.option("--figure", type=click.Path(dir_okay=False, path_type=Path),
                  help="Write the scenario map (.png, .pdf or .svg).")
    @click.option("--plan-figure", "plan_figure", type=click.Path(dir_okay=False, path_type=Path),
                  help="Write the plan's map (.png, .pdf or .svg).")
    @click.option("--html", type=click.Path(dir_okay=False, path_type=Path),
                  help="Write the scenario page as one self-contained HTML file.")
    @click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True)
    @click.pass_context
    def scenario_cmd(ctx, **opts):
        """Apply a budget plan to a future year: map and progress against targets, before and after."""
        from . import cli

        cli.handles_errors(_run)(ctx, **opts)


def _run(ctx, scope, year, set_id, budget, budget_source, objective, method, time_limit, to_year, figure,
         plan_figure, html, lang):
    from layers import prioritise, scenario
    from layers.store import Store
    from maps import assets, figures, prioritise_figure, scenario_page
    from maps._plan_map import inline_vendor
    from maps.i18n import t

    for path, option in ((figure, "--figure"), (plan_figure, "--plan-figure")):
        if path is not None and path.suffix.lower().lstrip(".") not in figures.FORMATS:
            raise ValueError(f"{option} must end in .png, .pdf or .svg, got '{path.name}'")
    if html is not None and html.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"--html must end in .html, got '{html.name}'")
    budget_vnd = None if budget is None else parse_vnd(budget)
    sources = _sources(budget_source)
    store = Store(_store_path(ctx))
    scope = figures.scope_or_only_province(store, scope, parameter="--scope")
    year = figures.default_year(store) if year is None else year
    plan = prioritise.prioritise(store, year=year, scope=scope, set_id=set_id, budget_vnd=budget_vnd,
                                 budgets_by_source=sources, objective=objective, method=method,
                                 time_limit_s=time_limit)
    sc = scenario.scenario_from_plan(store, plan, target_year=to_year)
    result = scenario.run_scenario(store, sc)
    click.echo(format_scenario(result, plan, lang=lang))
    written = t("scenario.cli_written", lang)
    if figure is not None:
        figures.save_figure(prioritise_figure.scenario_figure(store, sc, lang=lang), figure)
        click.echo(f"{written}: {figure}")
    if plan_figure is not None:
        figures.save_figure(prioritise_figure.prioritise_figure(store, plan, lang=lang), plan_figure)
        click.echo(f"{written}: {plan_figure}")
    if html is not None:
        js, css = assets.offline_resources()
        page = scenario_page.scenario_html(store, result, lang=lang, offline_js=js, offline_css=css)
        html.write_text(inline_vendor(page), encoding="utf-8")
        click.echo(f"{written}: {html}")

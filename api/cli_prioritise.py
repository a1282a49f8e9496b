"""``ntm prioritise``: which commune-criterion gaps to fund within a budget.

Prints the summary (plan against the greedy ranking), the next budget step, money per
source and the top of the chosen list; optionally writes the Excel workbook (``--xlsx``)
and the JSON of the plan (``--json``). Wired into the main group by ``register(main_group)``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

__all__ = ["register", "format_plan"]


def _vnd(value, lang: str) -> str:
    from layers.gap_costs import format_vnd

    return "–" if value is None else format_vnd(value, lang)


def _num(value, lang: str) -> str:
    from layers.gap_costs import format_number

    return "–" if value is None else format_number(value, 0, lang)


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(h), *(len(r[k]) for r in rows)) if rows else len(h) for k, h in enumerate(headers)]
    fmt = lambda cells: "  ".join(c.rjust(w) if k in right else c.ljust(w)  # noqa: E731
                                  for k, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return [fmt(headers), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows)]


def format_plan(plan, *, lang: str = "vi", top: int = 10) -> str:
    """The plan as plain text: header, plan vs greedy, next step, sources, chosen communes."""
    from layers import admin_units
    from maps.i18n import t

    s, g, step = plan.summary, plan.summary["greedy"], plan.summary["next_step"]
    tr = lambda key, **kw: t(f"prioritise.{key}", lang).format(**kw)  # noqa: E731
    lines = [click.style(tr("title", scope=plan.scope_code or tr("whole_store"), year=plan.year), bold=True),
             tr("subtitle", set=plan.set_id, objective=tr(f"objectives.{plan.objective}"),
                version=plan.cost_model_version), ""]
    budget = tr("unlimited") if s["budget_vnd"] is None else _vnd(s["budget_vnd"], lang)
    rows = [[tr("rows.budget"), budget, budget],
            [tr("rows.spent"), _vnd(s["spent_vnd"], lang), _vnd(g["spent_vnd"], lang)],
            [tr("rows.communes"), str(s["communes_reaching"]), str(g["communes_reaching"])],
            [tr("rows.criteria"), str(s["criteria_gained"]), str(g["criteria_gained"])],
            [tr("rows.population"), _num(s["population_served"], lang), _num(g["population_served"], lang)],
            [tr("rows.status"), f"{s['status']} · {tr('methods.' + plan.method)}", "Heuristic"],
            [tr("rows.seconds"), f"{s['solve_seconds']:.3f}", f"{g['seconds']:.3f}"]]
    lines += [click.style(tr("result"), bold=True),
              *_table([tr("columns.measure"), tr("columns.plan"), tr("columns.greedy")], rows, right={1, 2}), ""]
    if step.get("extra_vnd") is not None:
        lines.append(tr("next_step", extra=_vnd(step["extra_vnd"], lang), n=step["extra_communes"],
                        units=", ".join(step["units"])))
        if step.get("dropped"):
            lines.append("  " + tr("next_step_dropped", units=", ".join(step["dropped"])))
    elif s["budget_vnd"] is not None:
        lines.append(tr("next_step_none"))
    names = admin_units.vocabulary()["funding_sources"]
    spent = [(k, v) for k, v in s["by_source"].items() if v["spent"] > 0 or v["budget"]]
    if spent:
        lines += ["", click.style(tr("by_source"), bold=True)]
        for code, v in spent:
            cap = "" if v["budget"] is None else f" / {tr('budget')} {_vnd(v['budget'], lang)}"
            lines.append(f"  {names[code][lang]}: {_vnd(v['spent'], lang)}{cap}")
    lines += ["", click.style(tr("chosen"), bold=True)]
    c = plan.communes[plan.communes["newly_reaching"]].sort_values("rank")
    if c.empty:
        lines.append("  " + tr("chosen_none"))
    else:
        rows = [[str(r.rank), r.unit_code, str(r.name), f"{r.n_met}/{r.n_total}", _vnd(r.funded_cost_vnd, lang),
                 f"{r.score:.3f}"] for r in c.head(top).itertuples()]
        lines += ["  " + line for line in _table(
            [tr("columns.rank"), tr("columns.code"), tr("columns.name"), tr("columns.met"), tr("columns.funded"),
             tr("columns.score")], rows, right={0, 3, 4, 5})]
        if len(c) > top:
            lines.append(f"  … {len(c) - top}")
    lines += ["", f"{tr('weights')}: " + ", ".join(f"{k}={v:g}" for k, v in plan.weights.items()),
              tr("illustrative")]
    return "\n".join(lines)


def _store_path(ctx: click.Context) -> Path:
    from layers import store as store_mod

    obj = ctx.find_root().obj or {}
    return Path(obj.get("store_path") or os.environ.get(store_mod.STORE_ENV) or store_mod.DEFAULT_STORE)


def _source_budgets(items: tuple[str, ...]) -> dict | None:
    from layers.prioritise import PrioritiseParameterError, parse_vnd

    if not items:
        return None
    out = {}
    for item in items:
        code, sep, amount = item.partition("=")
        if not sep or not code.strip():
            raise PrioritiseParameterError("budget_source", f"--budget-source expects CODE=VND such as "
                                                            f"integrated=100e9, got {item!r}")
        if code.strip() in out:
            raise PrioritiseParameterError("budget_source", f"--budget-source: {code.strip()!r} is given twice")
        out[code.strip()] = parse_vnd(amount, "budget_source")
    return out


def register(main_group: click.Group) -> None:
    """Add ``prioritise`` to the ``ntm`` group (the store comes from ``--store`` / NTM_STORE)."""

    @main_group.command("prioritise")
    @click.option("--year", type=int, help="Assessment year (default: the latest with status records).")
    @click.option("--scope", help="Province or district code (or name); default: the whole store.")
    @click.option("--set", "set_id", help="Criteria set id (default: the set in force in the year).")
    @click.option("--budget", help="Total budget in VND: 50e9, '50 tỷ', '500 triệu' (default: unlimited).")
    @click.option("--budget-source", "budget_source", multiple=True, metavar="CODE=VND",
                  help="Budget of one funding source (repeat): integrated=100e9; a source not given has none.")
    @click.option("--objective", type=click.Choice(["communes", "criteria", "population"]), default="communes",
                  show_default=True, help="What the plan maximises.")
    @click.option("--method", type=click.Choice(["optimal", "greedy"]), default="optimal", show_default=True)
    @click.option("--weights", help="Ranking weights: near_standard=0.4,population=0.2,"
                                    "extremely_difficult=0.1,cost_effectiveness=0.3")
    @click.option("--cost-model", "cost_model", type=click.Path(dir_okay=False, path_type=Path),
                  help="A cost-model YAML file (default: the shipped illustrative one).")
    @click.option("--time-limit", "time_limit", type=float, default=60, show_default=True,
                  help="Solver time limit in seconds.")
    @click.option("--top", type=int, default=10, show_default=True, help="Communes listed.")
    @click.option("--xlsx", "xlsx", type=click.Path(dir_okay=False, path_type=Path), help="Also write the workbook.")
    @click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
                  help="Also write the plan as JSON (summary, communes, every gap).")
    @click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True)
    @click.pass_context
    def prioritise_cmd(ctx, year, scope, set_id, budget, budget_source, objective, method, weights, cost_model,
                       time_limit, top, xlsx, json_out, lang):
        """Fund the commune-criterion gaps that bring most communes to the NTM standard within a budget."""
        from . import cli

        cli.handles_errors(_run)(ctx, year, scope, set_id, budget, budget_source, objective, method, weights,
                                 cost_model, time_limit, top, xlsx, json_out, lang)


def _run(ctx, year, scope, set_id, budget, budget_source, objective, method, weights, cost_model, time_limit, top,
         xlsx, json_out, lang):
    from layers.cost_model import load_cost_model
    from layers.prioritise import parse_vnd, prioritise
    from layers.prioritise_excel import plan_to_xlsx
    from layers.store import Store
    from maps import figures
    from maps.i18n import t

    if xlsx is not None and xlsx.suffix.lower() != ".xlsx":
        raise ValueError(f"--xlsx must end in .xlsx, got '{xlsx.name}'")
    store = Store(_store_path(ctx))
    scope = figures.resolve_scope(store, scope) if scope else None
    year = figures.default_year(store) if year is None else year
    model = load_cost_model(cost_model) if cost_model is not None else None
    plan = prioritise(store, year=year, scope=scope, set_id=set_id,
                      budget_vnd=None if budget is None else parse_vnd(budget),
                      budgets_by_source=_source_budgets(budget_source), objective=objective, weights=weights,
                      cost_model=model, method=method, time_limit_s=time_limit)
    click.echo(format_plan(plan, lang=lang, top=top))
    if xlsx is not None:
        plan_to_xlsx(plan, xlsx, model=model)
        click.echo(f"\n{t('prioritise.xlsx', lang)}: {xlsx}")
    if json_out is not None:
        json_out.write_text(json.dumps(plan.as_dict(gaps="all"), ensure_ascii=False, indent=1, default=str),
                            encoding="utf-8")
        click.echo(f"{t('prioritise.json', lang)}: {json_out}")

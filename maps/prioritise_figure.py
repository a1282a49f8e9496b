"""Report figures of a budget plan and of its scenario (PNG, PDF, SVG).

Both are drawn by :func:`maps.figures.draw_map_page` on the report map base of the
plan's year (projected VN-2000 TM-3, round scale, scale bar, north arrow, locator,
source and date line): only the classification changes. The plan figure colours
communes by outcome (``maps.prioritise_page.plan_outcomes``) with counts in the legend
and the budget in the subtitle; the scenario figure colours them by criteria met in
the scenario year, titled and sourced as a scenario.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace

from matplotlib.figure import Figure

from layers.scenario import Scenario
from layers.store import Store
from . import _cartography as carto
from ._mapbase import criteria_set_line, load_map_base, scope_name
from .figures import FORMATS, check_dpi, draw_map_page, figure_style, new_figure, save_figure
from .i18n import t
from .modes import Classified, LegendClass
from .prioritise_page import OUTCOME_COLOURS, OUTCOMES, plan_outcomes
from ._plan_map import budget_text, fmt_num, fmt_vnd
from .scenario_page import count_classes

__all__ = ["prioritise_figure", "scenario_figure", "figure_to_bytes"]


def _reclassify(base, title: str, keys: dict[str, str], classes: list[tuple[str, str, str]], lang: str,
                counts: tuple[dict, dict] | None = None):
    """The base with its communes re-keyed: ``keys`` code -> class key (others: no data);
    ``counts`` (n_met, n_assessed by code) replace the base year's for the legend summary."""
    frame = base.classified.frame.copy()
    if counts is not None:
        frame["n_met"] = [counts[0].get(c, 0) for c in frame["unit_code"]]
        frame["n_assessed"] = [counts[1].get(c, 0) for c in frame["unit_code"]]
    colours = {k: c for k, c, _ in classes}
    frame["key"] = [keys.get(c, "no_data") for c in frame["unit_code"]]
    frame["colour"] = frame["key"].map(colours)
    counts = frame["key"].value_counts().to_dict()
    legend = [LegendClass(k, c, label, int(counts.get(k, 0))) for k, c, label in classes]
    cls = Classified("plan", base.year, base.classified.set_id, title, frame, legend)
    return replace(base, classified=cls)


def prioritise_figure(store: Store, plan, *, lang: str = "vi", paper: str = "A4-landscape", dpi: int = 200,
                      created: dt.date | None = None) -> Figure:
    """The plan's map: communes by outcome, legend with counts, budget and results in the subtitle.

    See Also
    --------
    maps.prioritise_page.prioritise_html : the same classes on the web page.
    """
    carto.paper_size(paper)
    dpi = check_dpi(dpi)
    out = plan_outcomes(plan)
    s = plan.summary
    tr = lambda k: t(f"prioritise_map.{k}", lang)  # noqa: E731
    classes = [(k, OUTCOME_COLOURS[k], tr(f"outcomes.{k}")) for k in OUTCOMES]
    classes.append(("no_data", OUTCOME_COLOURS["no_data"], tr("outcomes.no_data")))
    with figure_style():
        base = load_map_base(store, year=plan.year, set_id=plan.set_id, mode="count", scope_code=plan.scope_code,
                             lang=lang)
        base = _reclassify(base, tr("legend_title"), dict(zip(out["unit_code"], out["outcome"])), classes, lang)
        method = tr(f"methods.{plan.method}") if plan.method in ("optimal", "greedy") else plan.method
        greedy = (s.get("greedy") or {}).get("communes_reaching")
        results = tr("figure_results").format(
            budget=budget_text(s, lang), spent=fmt_vnd(s.get("spent_vnd"), lang),
            n=fmt_num(s.get("communes_reaching"), lang), method=method, greedy=fmt_num(greedy, lang))
        subtitle = f"{scope_name(base, plan.scope_code)} · {criteria_set_line(base)}\n{results}"
        title = tr("figure_title").format(year=plan.year)
        source = tr("figure_source").format(version=plan.cost_model_version, year=plan.year)
        fig = draw_map_page(new_figure(dpi), base, plan.scope_code, paper=paper, title=title, subtitle=subtitle,
                            source=source, created=created)
    return fig


def scenario_figure(store: Store, scenario: Scenario, *, lang: str = "vi", paper: str = "A4-landscape",
                    dpi: int = 200, created: dt.date | None = None) -> Figure:
    """The scenario year's map: criteria met if the plan is carried out (labelled a scenario)."""
    carto.paper_size(paper)
    dpi = check_dpi(dpi)
    sc = scenario
    com = sc.communes
    classes, keys = count_classes(com["n_met"], com["n_assessed_base"] > 0, sc.n_criteria, lang)
    tr = lambda k: t(f"scenario.{k}", lang)  # noqa: E731
    with figure_style():
        base = load_map_base(store, year=sc.target_year, set_id=sc.set_id, mode="count", scope_code=sc.scope_code,
                             lang=lang)
        base = _reclassify(base, tr("legend_title").format(year=sc.target_year), dict(zip(com["unit_code"], keys)),
                           classes, lang, counts=(dict(zip(com["unit_code"], com["n_met"])),
                                                  dict(zip(com["unit_code"], com["n_assessed_base"]))))
        n_reach = int(com["reaches_standard"].sum())
        subtitle = (f"{scope_name(base, sc.scope_code)} · {criteria_set_line(base)}\n"
                    + tr("figure_subtitle").format(base_year=sc.base_year, plan=sc.plan_id, n=n_reach))
        title = tr("figure_title").format(year=sc.target_year)
        source = tr("figure_source").format(base_year=sc.base_year, plan=sc.plan_id)
        fig = draw_map_page(new_figure(dpi), base, sc.scope_code, paper=paper, title=title, subtitle=subtitle,
                            source=source, created=created)
    return fig


def figure_to_bytes(fig: Figure, fmt: str) -> bytes:
    """PNG, PDF or SVG bytes of a figure."""
    if fmt not in FORMATS:
        raise ValueError(f"'format' must be one of {FORMATS}, got {fmt!r}")
    buffer = io.BytesIO()
    save_figure(fig, buffer, fmt)
    return buffer.getvalue()

"""The prioritisation map, its report figure, and the scenario, over HTTP.

``GET /prioritise`` (HTML page) and ``/analysis/prioritise/figure.{png,pdf,svg}`` take
the query of ``/analysis/prioritise``: ``year`` (default: the latest with status
records), ``scope`` (province or district code or name; default: the store's only
province), ``budget`` (VND; with neither budget nor budget_source the budget is
unlimited, as in ``layers.prioritise``), ``budget_source`` (``code:VND``, repeated or
comma-separated, e.g. ``central_investment:30000000000,community:5000000000``),
``objective`` and ``method``. ``GET /analysis/scenario`` (JSON) and ``GET /scenario``
(HTML) add ``to_year`` (default year + 1): the plan applied to that year's status,
with progress against targets before and after (``layers.scenario``); the scenario is
computed on a temporary copy of the store, never in it.

Plans and scenarios are computed once per store revision and query
(``app.state.cache``); every format is drawn from them. Bad parameters are 400s naming
the parameter.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from urllib.parse import urlencode

import orjson
import pandas as pd
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response

from layers import scenario
from maps import assets, figures, prioritise_figure, prioritise_page, scenario_page
from . import params, routes_prioritise
from .routes_prioritise import Budget, BudgetSource, Method, Objective, Scope, Year
from .errors import BadParameter

__all__ = ["router", "include", "scenario_to_json"]

_PLAN_PARAMS = {"scope", "year", "budget", "budget_source", "objective", "method"}
_SCENARIO_PARAMS = _PLAN_PARAMS | {"to_year"}
_ERRORS = {400: {"description": "Tham số không hợp lệ / Invalid parameter"}}

router = APIRouter(tags=["Ưu tiên đầu tư và kịch bản / Prioritisation and scenario"])

ToYear = Annotated[int | None, Query(ge=2000, le=2100, description="Năm của kịch bản / scenario year "
                                                                    "(default: year + 1)")]
Lang = Annotated[Literal["vi", "en"], Query(description="Ngôn ngữ / language")]


def _only(request: Request, allowed: set[str]) -> None:
    params.only(request, allowed, repeatable=frozenset({"budget_source"}))


def _plan(request: Request, scope, year, budget, budget_source, objective, method):
    """(cache key, plan): the same cached plan (and evidence) as /analysis/prioritise, so the
    page, its figure, its JSON link and the scenario never compute it twice."""
    return routes_prioritise.plan_for_query(request, scope, year, None, budget, budget_source, objective, method,
                                            None)


def _scenario(request: Request, key, plan, to_year):
    store = request.app.state.store
    to_year = plan.year + 1 if to_year is None else to_year
    if to_year <= plan.year:
        raise BadParameter("to_year", f"'to_year' must be after the plan's year {plan.year}, got {to_year}")
    skey = (key, "scenario", to_year)

    def build():
        sc = scenario.scenario_from_plan(store, plan, target_year=to_year)
        return scenario.run_scenario(store, sc)

    return skey, request.app.state.cache.get(skey, build)


def _query(request: Request, drop: tuple = (), **changes) -> str:
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in ("lang", *drop, *changes)]
    items += [(k, str(v)) for k, v in changes.items() if v is not None]
    return urlencode(items)


def _records(df: pd.DataFrame) -> list[dict]:
    return df.astype(object).where(df.notna(), None).to_dict("records")


def scenario_to_json(result: scenario.ScenarioResult) -> dict:
    """The scenario as a JSON-ready dict: headline before/after vs targets, communes, notes."""
    sc = result.scenario
    c = sc.communes
    keep = ["unit_code", "name", "parent_code", "n_met_base", "n_met", "n_total", "n_funded", "funded",
            "reaches_standard", "recognised_in_scenario"]
    return {
        "scenario": True, "label_vi": sc.label_vi, "label_en": sc.label_en, "plan_id": sc.plan_id,
        "source": sc.source, "base_year": sc.base_year, "target_year": sc.target_year, "set_id": sc.set_id,
        "scope": {"code": sc.scope_code, "name": result.after.scope_name},
        "targets_year": result.after.target_year,
        "headline": _records(result.comparison),
        "before": {"year": result.before.year, "summary": result.before.summary},
        "without_plan": None if result.without is None else {"year": result.without.year,
                                                             "summary": result.without.summary},
        "after": {"year": result.after.year, "summary": result.after.summary},
        "communes_reaching": _records(c.loc[c["reaches_standard"], keep]),
        "communes": _records(c[keep]),
        "n_funded": int(c["n_funded"].sum()),
        "notes": result.after.notes, "timings": result.timings,
    }


def _offline(request: Request):
    return assets.offline_resources() if request.app.state.settings.offline else (None, None)


def _check_format(fmt: str) -> None:
    if fmt not in figures.FORMATS:
        raise BadParameter("format", f"figure format must be one of {', '.join(figures.FORMATS)}, got {fmt[:20]!r}")


@router.get("/prioritise", response_class=HTMLResponse, summary="Bản đồ ưu tiên đầu tư / Prioritisation map",
            responses=_ERRORS)
def prioritise_html(request: Request, scope: Scope = None, year: Year = None, budget: Budget = None,
                    budget_source: BudgetSource = None, objective: Objective = "communes", method: Method = "optimal",
                    lang: Lang = "vi") -> HTMLResponse:
    _only(request, _PLAN_PARAMS | {"lang"})
    key, plan = _plan(request, scope, year, budget, budget_source, objective, method)
    base = str(request.base_url).rstrip("/")
    query = _query(request, scope=plan.scope_code, year=plan.year)
    links = {"json": f"{base}/analysis/prioritise?{query}",
             "scenario": f"{base}/scenario?{query}&lang={lang}",
             **{f"figure_{f}": f"{base}/analysis/prioritise/figure.{f}?{query}&lang={lang}" for f in figures.FORMATS},
             "other_lang": f"{base}/prioritise?{query}&lang={'en' if lang == 'vi' else 'vi'}"}
    settings = request.app.state.settings
    today = dt.date.today()

    def build():
        js, css = _offline(request)
        return prioritise_page.prioritise_html(request.app.state.store, plan, lang=lang, links=links, offline_js=js,
                                               offline_css=css, tiles=settings.tiles,
                                               tiles_attribution=settings.tiles_attribution, created=today)

    return HTMLResponse(request.app.state.cache.get((key, "html", lang, base, today), build))


@router.get("/analysis/prioritise/figure.{fmt}", summary="Bản đồ in ưu tiên đầu tư / Prioritisation figure",
            responses={200: {"content": {m: {} for m in figures.MEDIA_TYPES.values()}}, **_ERRORS})
def prioritise_fig(request: Request, fmt: str, scope: Scope = None, year: Year = None, budget: Budget = None,
                   budget_source: BudgetSource = None, objective: Objective = "communes", method: Method = "optimal",
                   lang: Lang = "vi") -> Response:
    _check_format(fmt)
    _only(request, _PLAN_PARAMS | {"lang"})
    key, plan = _plan(request, scope, year, budget, budget_source, objective, method)
    today = dt.date.today()
    body = request.app.state.cache.get((key, "figure", fmt, lang, today), lambda: prioritise_figure.figure_to_bytes(
        prioritise_figure.prioritise_figure(request.app.state.store, plan, lang=lang, created=today), fmt))
    name = f"uu-tien-ntm-{plan.scope_code or 'all'}-{plan.year}.{fmt}"
    return Response(body, media_type=figures.MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


@router.get("/analysis/scenario", summary="Kịch bản thực hiện kế hoạch (JSON) / Scenario of a plan", responses=_ERRORS)
def scenario_json(request: Request, scope: Scope = None, year: Year = None, budget: Budget = None,
                  budget_source: BudgetSource = None, objective: Objective = "communes", method: Method = "optimal",
                  to_year: ToYear = None) -> Response:
    _only(request, _SCENARIO_PARAMS)
    key, plan = _plan(request, scope, year, budget, budget_source, objective, method)
    _, result = _scenario(request, key, plan, to_year)
    body = orjson.dumps(scenario_to_json(result), option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    return Response(body, media_type="application/json")


@router.get("/analysis/scenario/figure.{fmt}", summary="Bản đồ in kịch bản / Scenario figure",
            responses={200: {"content": {m: {} for m in figures.MEDIA_TYPES.values()}}, **_ERRORS})
def scenario_fig(request: Request, fmt: str, scope: Scope = None, year: Year = None, budget: Budget = None,
                 budget_source: BudgetSource = None, objective: Objective = "communes", method: Method = "optimal",
                 to_year: ToYear = None, lang: Lang = "vi") -> Response:
    _check_format(fmt)
    _only(request, _SCENARIO_PARAMS | {"lang"})
    key, plan = _plan(request, scope, year, budget, budget_source, objective, method)
    skey, result = _scenario(request, key, plan, to_year)
    today = dt.date.today()
    body = request.app.state.cache.get((skey, "figure", fmt, lang, today), lambda: prioritise_figure.figure_to_bytes(
        prioritise_figure.scenario_figure(request.app.state.store, result.scenario, lang=lang, created=today), fmt))
    name = f"kich-ban-ntm-{plan.scope_code or 'all'}-{result.scenario.target_year}.{fmt}"
    return Response(body, media_type=figures.MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


@router.get("/scenario", response_class=HTMLResponse, summary="Trang kịch bản / Scenario page", responses=_ERRORS)
def scenario_html(request: Request, scope: Scope = None, year: Year = None, budget: Budget = None,
                  budget_source: BudgetSource = None, objective: Objective = "communes", method: Method = "optimal",
                  to_year: ToYear = None, lang: Lang = "vi") -> HTMLResponse:
    _only(request, _SCENARIO_PARAMS | {"lang"})
    key, plan = _plan(request, scope, year, budget, budget_source, objective, method)
    skey, result = _scenario(request, key, plan, to_year)
    base = str(request.base_url).rstrip("/")
    plan_query = _query(request, drop=("to_year",), scope=plan.scope_code, year=plan.year)
    query = f"{plan_query}&to_year={result.scenario.target_year}"
    links = {"json": f"{base}/analysis/scenario?{query}", "plan": f"{base}/prioritise?{plan_query}&lang={lang}",
             **{f"figure_{f}": f"{base}/analysis/scenario/figure.{f}?{query}&lang={lang}" for f in ("png", "pdf")},
             "other_lang": f"{base}/scenario?{query}&lang={'en' if lang == 'vi' else 'vi'}"}
    settings = request.app.state.settings
    today = dt.date.today()

    def build():
        js, css = _offline(request)
        return scenario_page.scenario_html(request.app.state.store, result, lang=lang, links=links, offline_js=js,
                                           offline_css=css, tiles=settings.tiles,
                                           tiles_attribution=settings.tiles_attribution, created=today)

    return HTMLResponse(request.app.state.cache.get((skey, "html", lang, base, today), build))


def include(app: FastAPI, dependencies=()) -> None:
    """Mount the prioritisation map and scenario routes on an app made by ``api.app.create_app``.

    Safe to call twice: a second call on the same app does nothing.
    """
    if getattr(app.state, "_prioritise_maps_included", False):
        return
    app.include_router(router, dependencies=list(dependencies))
    app.state._prioritise_maps_included = True

"""Prioritisation under a budget over HTTP: the plan as JSON or GeoJSON, the workbook, the cost model.

    GET /analysis/prioritise?year=2025&budget=120e9                       JSON
    GET /analysis/prioritise?budget_source=integrated:100e9&budget_source=community:5e9
    GET /analysis/prioritise?budget=50%20tỷ&objective=population&f=geojson
    GET /analysis/prioritise.xlsx?…                                       Excel workbook
    GET /analysis/cost-model                                              the active cost model

Query (shared with the map page ``/prioritise``): ``scope`` (province or district code
or name; default: the store's only province), ``year`` (default: the latest with status
records), ``set``, ``budget`` (VND: 120e9, '120 tỷ', '500 triệu'; with neither budget nor
budget_source the budget is unlimited), ``budget_source`` (``code:VND`` or ``code=VND``,
repeated or comma-separated; a source not given has no money), ``objective``
(communes | criteria | population), ``method`` (optimal | greedy), ``weights``
(``near_standard=0.4,population=0.2,…``), and for JSON ``gaps`` (funded | all | none)
and ``f`` (json | geojson: communes with their geometry and plan columns).

The cost model is ``app.state.cost_model`` when the app sets one (a CostModel or a
file path), else the shipped illustrative one. The commune evidence (road km, facilities,
grid) is computed once per store revision, scope, year and model and reused by every
budget; the plan once per revision and query (``app.state.cache``). Bad parameters are
400s naming the parameter.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

import numpy as np
import orjson
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import Response

from layers import admin_units, prioritise as prio
from layers.cost_model import CostModel, CostModelError, default_cost_model, load_cost_model
from layers.gap_evidence import commune_evidence, road_classes_needed
from layers.prioritise_excel import plan_xlsx_bytes
from maps import figures
from maps.geojson import features_to_geojson
from . import params
from .errors import BadParameter

__all__ = ["router", "include", "plan_for_query", "parse_sources"]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_PARAMS = {"scope", "year", "set", "budget", "budget_source", "objective", "method", "weights"}
_JSON_PARAMS = _PARAMS | {"gaps", "f"}
_ERRORS = {400: {"description": "Tham số không hợp lệ / Invalid parameter"}}
_ITEM = re.compile(r"^\s*([A-Za-z0-9_]+)\s*[:=]\s*(.+?)\s*$")
_GEO_COLUMNS = ("unit_code", "name", "parent_code", "rank", "score", "n_met", "n_total", "n_met_after", "n_unmet",
                "n_closable", "can_reach", "cost_to_standard_vnd", "funded_cost_vnd", "population",
                "extremely_difficult", "already_standard", "reaches_standard", "newly_reaching")

router = APIRouter(tags=["Ưu tiên vốn / Prioritisation under a budget"])

Scope = Annotated[str | None, Query(description="Mã hoặc tên tỉnh, huyện / province or district code or name "
                                                "(default: the store's only province)")]
Year = Annotated[int | None, Query(ge=2000, le=2100, description="Năm đánh giá / assessment year "
                                                                  "(default: latest with data)")]
SetId = Annotated[str | None, Query(alias="set", description="Bộ tiêu chí / criteria set id (default: in force)")]
Budget = Annotated[str | None, Query(max_length=40, description="Tổng vốn / total budget in VND: 120e9, "
                                                                "'120 tỷ', '500 triệu' (default: unlimited)")]
BudgetSource = Annotated[list[str] | None, Query(description="Vốn theo nguồn / budget per funding source: "
                                                             "code:VND, repeated or comma-separated")]
Objective = Annotated[Literal["communes", "criteria", "population"],
                      Query(description="Mục tiêu / objective")]
Method = Annotated[Literal["optimal", "greedy"], Query(description="Phương pháp / method")]
Weights = Annotated[str | None, Query(max_length=200, description="Trọng số xếp hạng / ranking weights: "
                                                                  "near_standard=0.4,population=0.2,…")]
Gaps = Annotated[Literal["funded", "all", "none"], Query(description="Các khoảng trống trả về / gaps returned")]
Fmt = Annotated[Literal["json", "geojson"], Query(description="json | geojson (communes with geometry)")]


def _only(request: Request, allowed: set[str]) -> None:
    params.only(request, allowed, repeatable=frozenset({"budget_source"}))


def parse_sources(values: list[str] | None) -> dict[str, float] | None:
    """``["integrated:100e9,community=5 tỷ"]`` -> {code: VND}; None when not given."""
    if not values:
        return None
    out: dict[str, float] = {}
    for value in values:
        for item in str(value).split(","):
            if not item.strip():
                continue
            m = _ITEM.match(item)
            if not m:
                raise BadParameter("budget_source", f"'budget_source' items must be code:VND (e.g. "
                                                    f"integrated:100e9), got {item.strip()[:80]!r}")
            if m.group(1) in out:
                raise BadParameter("budget_source", f"'budget_source' names '{m.group(1)}' more than once")
            out[m.group(1)] = prio.parse_vnd(m.group(2), "budget_source")
    return out or None


def _model(request: Request) -> CostModel:
    model = getattr(request.app.state, "cost_model", None)
    if model is None:
        return default_cost_model()
    if isinstance(model, CostModel):
        return model
    try:
        return load_cost_model(model)
    except (CostModelError, FileNotFoundError) as exc:  # a server setting, not the client's fault
        raise RuntimeError(f"the app's cost model cannot be used: {exc}") from exc


def plan_for_query(request: Request, scope, year, set_id, budget, budget_source, objective, method, weights
                   ) -> tuple[tuple, prio.PriorityPlan]:
    """(cache key, plan): evidence once per revision/scope/year/model, the plan once per query."""
    store, cache = request.app.state.store, request.app.state.cache
    code = params.scope_code(store, scope)
    year = figures.default_year(store) if year is None else year
    sources = parse_sources(budget_source)
    model = _model(request)
    try:
        budget_vnd = None if budget is None or not budget.strip() else prio.parse_vnd(budget)
        w = prio.parse_weights(weights) if weights else None
        evidence = cache.get(("prioritise-evidence", code, year, model.version, model.grid_distance_m,
                              tuple(road_classes_needed(model))),
                             lambda: commune_evidence(store, year, code, road_classes=road_classes_needed(model),
                                                      grid_distance_m=model.grid_distance_m)[0])
        key = ("prioritise-plan", code, year, budget_vnd, tuple(sorted((sources or {}).items())), objective, method)
        if set_id or w or getattr(request.app.state, "cost_model", None) is not None:
            key = key + (set_id, tuple(sorted((w or {}).items())), model.version)
        plan = cache.get(key, lambda: prio.prioritise(
            store, year=year, scope=code, set_id=set_id, budget_vnd=budget_vnd, budgets_by_source=sources,
            objective=objective, weights=w, cost_model=model, method=method, evidence=evidence))
    except prio.PrioritiseParameterError as exc:
        raise BadParameter(exc.parameter, str(exc)) from exc
    return key, plan


def _geojson(store, plan: prio.PriorityPlan) -> bytes:
    on = admin_units.year_end(plan.year)
    shapes = admin_units.units_table(store, "commune", on=on, geometry=True)
    shapes = shapes.drop_duplicates("code").set_index("code")
    c = plan.communes[list(_GEO_COLUMNS)]
    c = c[c["unit_code"].isin(shapes.index)]
    props = c.astype(object).where(c.notna(), None).to_dict("records")
    for p in props:
        for k, v in p.items():
            if isinstance(v, np.generic):
                p[k] = v.item()
    body = features_to_geojson(shapes.geometry.reindex(c["unit_code"]).values, props, decimals=5)
    head = {"year": plan.year, "scope": plan.scope_code, "set_id": plan.set_id, "objective": plan.objective,
            "method": plan.method, "cost_model_version": plan.cost_model_version, "summary": plan.summary}
    meta = orjson.dumps(head, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    return b'{"type":"FeatureCollection","plan":' + meta + body[len(b'{"type":"FeatureCollection"'):]


@router.get("/analysis/prioritise", summary="Ưu tiên phân bổ vốn theo tiêu chí (JSON, GeoJSON) / "
                                            "Funding plan under a budget", responses=_ERRORS)
def prioritise_json(request: Request, scope: Scope = None, year: Year = None, set_id: SetId = None,
                    budget: Budget = None, budget_source: BudgetSource = None, objective: Objective = "communes",
                    method: Method = "optimal", weights: Weights = None, gaps: Gaps = "funded",
                    f: Fmt = "json") -> Response:
    _only(request, _JSON_PARAMS)
    key, plan = plan_for_query(request, scope, year, set_id, budget, budget_source, objective, method, weights)
    if f == "geojson":
        body = request.app.state.cache.get((key, "geojson"), lambda: _geojson(request.app.state.store, plan))
        return Response(body, media_type="application/geo+json")
    body = orjson.dumps(plan.as_dict(gaps=gaps), option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    return Response(body, media_type="application/json")


@router.get("/analysis/prioritise.xlsx", summary="Kế hoạch phân bổ vốn (Excel) / Funding plan workbook",
            responses={200: {"content": {XLSX: {}}}, **_ERRORS})
def prioritise_xlsx(request: Request, scope: Scope = None, year: Year = None, set_id: SetId = None,
                    budget: Budget = None, budget_source: BudgetSource = None, objective: Objective = "communes",
                    method: Method = "optimal", weights: Weights = None) -> Response:
    _only(request, _PARAMS)
    key, plan = plan_for_query(request, scope, year, set_id, budget, budget_source, objective, method, weights)
    today = dt.date.today()
    body = request.app.state.cache.get((key, "xlsx", today),
                                       lambda: plan_xlsx_bytes(plan, created=today, model=_model(request)))
    name = f"uu-tien-von-ntm-{plan.scope_code or 'all'}-{plan.year}.xlsx"
    return Response(body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/analysis/cost-model", summary="Mô hình chi phí đang dùng / The active cost model", responses=_ERRORS)
def cost_model_json(request: Request) -> Response:
    _only(request, set())
    return Response(orjson.dumps(_model(request).as_dict()), media_type="application/json")


def include(app: FastAPI, dependencies=()) -> None:
    """Mount the routes on an app made by ``api.app.create_app`` (once: a second call does
    nothing). ``dependencies`` (FastAPI ``Depends``) run before every route."""
    if any(getattr(r, "path", None) == "/analysis/cost-model" for r in app.router.routes):
        return
    app.include_router(router, dependencies=list(dependencies))

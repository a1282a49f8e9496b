"""Progress against targets over HTTP: JSON, the Excel workbook, the page and the figure.

``GET /analysis/progress`` (JSON), ``/analysis/progress.xlsx``, ``/progress`` (HTML page,
``?lang=en``) and ``/analysis/progress/figure.{png,pdf,svg}`` all take the same query:
``scope`` (a province or district code or name; default: the store's only province),
``year`` (default: the latest with status records), ``set``, ``threshold``,
``target_year``, ``trend_years``. The report is computed once per store revision and
query (``app.state.cache``) and every format is drawn from it. Bad parameters are 400s
naming the parameter (``api.errors``).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Literal
from urllib.parse import urlencode

import orjson
import pandas as pd
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response

from layers import progress, progress_excel
from maps import figures, progress_figure, progress_page
from . import params
from .errors import BadParameter

__all__ = ["router", "include", "progress_to_json"]

log = logging.getLogger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_PARAMS = {"scope", "year", "set", "threshold", "target_year", "trend_years"}

router = APIRouter(tags=["Tiến độ so với chỉ tiêu / Progress against targets"])

_ERRORS = {400: {"description": "Tham số không hợp lệ / Invalid parameter"}}

Scope = Annotated[str | None, Query(description="Mã hoặc tên tỉnh, huyện / province or district code or name "
                                                "(default: the store's only province)")]
Year = Annotated[int | None, Query(ge=2000, le=2100, description="Năm đánh giá / assessment year "
                                                                  "(default: latest with data)")]
SetId = Annotated[str | None, Query(alias="set", description="Bộ tiêu chí / criteria set id (default: in force)")]
Threshold = Annotated[int | None, Query(description="Ngưỡng số tiêu chí / communes below this many criteria "
                                                    "(default 15 of 19, scaled for other sets)")]
TargetYear = Annotated[int | None, Query(description="Năm mục tiêu / target year (default: nearest with targets)")]
TrendYears = Annotated[int, Query(description="Số năm tính xu hướng / years in the trend and projection")]
Lang = Annotated[Literal["vi", "en"], Query(description="Ngôn ngữ / language")]


def _report(request: Request, scope, year, set_id, threshold, target_year, trend_years
            ) -> tuple[tuple, progress.Progress]:
    """(cache key, report): the report is built once per store revision and query."""
    store = request.app.state.store
    code = params.scope_code(store, scope)
    year = figures.default_year(store) if year is None else year
    key = ("progress", code, year, set_id, threshold, target_year, trend_years)
    return key, request.app.state.cache.get(key, lambda: progress.compute_progress(
        store, code, year, set_id=set_id, threshold=threshold, target_year=target_year, trend_years=trend_years))


def _records(df: pd.DataFrame) -> list[dict]:
    return df.astype(object).where(df.notna(), None).to_dict("records")


def progress_to_json(p: progress.Progress) -> dict:
    """The report as a JSON-ready dict (tables as lists of records, NA as null)."""
    return {
        "scope": {"code": p.scope_code, "name": p.scope_name, "level": p.scope_level},
        "year": p.year, "set_id": p.set_id, "set_title_vi": p.set_title_vi, "set_title_en": p.set_title_en,
        "n_criteria": p.n_criteria, "threshold": p.threshold, "threshold_note": p.threshold_note,
        "target_year": p.target_year, "trend_years": p.trend_years, "summary": p.summary,
        "headline": _records(progress.headline_table(p)), "levels": _records(p.levels),
        "villages": _records(p.villages), "at_risk": _records(p.at_risk), "criteria": _records(p.criteria),
        "targets": _records(p.targets), "trend": _records(p.trend),
        "projection": {"method": p.projection_method, "rows": _records(p.projection)},
        "communes": _records(p.communes), "notes": p.notes,
    }


def _query(request: Request, **changes) -> str:
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    params |= {k: str(v) for k, v in changes.items() if v is not None}
    return urlencode(params)


def _file_name(p: progress.Progress, ext: str) -> str:
    return f"tien-do-ntm-{p.scope_code or 'all'}-{p.year}.{ext}"


@router.get("/analysis/progress", summary="Tiến độ so với chỉ tiêu (JSON) / Progress against targets",
            responses=_ERRORS)
def progress_json(request: Request, scope: Scope = None, year: Year = None, set_id: SetId = None,
                  threshold: Threshold = None, target_year: TargetYear = None,
                  trend_years: TrendYears = progress.DEFAULT_TREND_YEARS) -> Response:
    params.only(request, _PARAMS)
    key, p = _report(request, scope, year, set_id, threshold, target_year, trend_years)
    body = orjson.dumps(progress_to_json(p), option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    return Response(body, media_type="application/json")


@router.get("/analysis/progress.xlsx", summary="Các biểu tiến độ (Excel) / Progress workbook",
            responses={200: {"content": {XLSX: {}}}, **_ERRORS})
def progress_xlsx(request: Request, scope: Scope = None, year: Year = None, set_id: SetId = None,
                  threshold: Threshold = None, target_year: TargetYear = None,
                  trend_years: TrendYears = progress.DEFAULT_TREND_YEARS) -> Response:
    params.only(request, _PARAMS)
    key, p = _report(request, scope, year, set_id, threshold, target_year, trend_years)
    today = dt.date.today()
    body = request.app.state.cache.get((key, "xlsx", today),
                                       lambda: progress_excel.progress_xlsx_bytes(p, created=today))
    return Response(body, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{_file_name(p, "xlsx")}"'})


@router.get("/analysis/progress/figure.{fmt}", summary="Biểu đồ tiến độ / Progress figure (png, pdf, svg)",
            responses={200: {"content": {m: {} for m in figures.MEDIA_TYPES.values()}}, **_ERRORS})
def progress_fig(request: Request, fmt: str, scope: Scope = None, year: Year = None, set_id: SetId = None,
                 threshold: Threshold = None, target_year: TargetYear = None,
                 trend_years: TrendYears = progress.DEFAULT_TREND_YEARS, lang: Lang = "vi") -> Response:
    if fmt not in figures.FORMATS:
        raise BadParameter("format", f"figure format must be one of {', '.join(figures.FORMATS)}, got {fmt[:20]!r}")
    params.only(request, _PARAMS | {"lang"})
    key, p = _report(request, scope, year, set_id, threshold, target_year, trend_years)
    today = dt.date.today()
    body = request.app.state.cache.get((key, "figure", fmt, lang, today),
                                       lambda: progress_figure.progress_figure_bytes(p, fmt, lang=lang, created=today))
    return Response(body, media_type=figures.MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'inline; filename="{_file_name(p, fmt)}"'})


@router.get("/progress", response_class=HTMLResponse, summary="Trang tiến độ / Progress page", responses=_ERRORS)
def progress_html(request: Request, scope: Scope = None, year: Year = None, set_id: SetId = None,
                  threshold: Threshold = None, target_year: TargetYear = None,
                  trend_years: TrendYears = progress.DEFAULT_TREND_YEARS, lang: Lang = "vi") -> HTMLResponse:
    params.only(request, _PARAMS | {"lang"})
    key, p = _report(request, scope, year, set_id, threshold, target_year, trend_years)
    query = _query(request, scope=p.scope_code, year=p.year)
    base = str(request.base_url).rstrip("/")
    links = {"xlsx": f"{base}/analysis/progress.xlsx?{query}", "json": f"{base}/analysis/progress?{query}",
             "figure": f"{base}/analysis/progress/figure.svg?{query}&lang={lang}",
             **{f"figure_{f}": f"{base}/analysis/progress/figure.{f}?{query}&lang={lang}" for f in figures.FORMATS},
             "other_lang": f"{base}/progress?{query}&lang={'en' if lang == 'vi' else 'vi'}"}
    today = dt.date.today()
    page = request.app.state.cache.get((key, "html", lang, base, today),
                                       lambda: progress_page.progress_html(p, lang=lang, links=links, created=today))
    return HTMLResponse(page)


def include(app: FastAPI, dependencies=()) -> None:
    """Mount the progress routes on an app made by ``api.app.create_app``.

    ``dependencies`` (FastAPI ``Depends``) run before every route: the hook for read
    authorisation.
    """
    app.include_router(router, dependencies=list(dependencies))

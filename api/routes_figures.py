"""``GET /maps/figure.{png,pdf,svg}``: the report map as a file, cached per store revision.

Same parameters as ``ntm figure``. The figure is built once per store revision, set of
parameters and day (the date is printed on it) and then served from the app's cache.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import Response

from layers.admin_units import year_end
from maps import figures
from .errors import BadParameter, NotFound

__all__ = ["router", "include", "FigureParams"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/maps", tags=["Bản đồ in / Report figures"])

Paper = Literal["A4-landscape", "A4-portrait", "A3-landscape", "A3-portrait"]
Mode = Literal["count", "criterion", "recognition", "change", "gap", "plan", "hotspot", "indicator"]


@dataclass(frozen=True)
class FigureParams:
    """What the figure shows and how it is printed (the query string)."""

    mode: Annotated[Mode, Query(description="Chế độ / what the colours show")] = "count"
    year: Annotated[int | None, Query(ge=1990, le=2100, description="Năm / year (default: latest with data)")] = None
    set_id: Annotated[str | None, Query(alias="set", description="Bộ tiêu chí / criteria set id")] = None
    criterion: Annotated[int | None, Query(ge=1, description="Tiêu chí số / criterion number (mode=criterion)")] = None
    scope: Annotated[str | None, Query(description="Đơn vị / unit code or name")] = None
    district: Annotated[str | None, Query(description="Huyện / district code or name")] = None
    province: Annotated[str | None, Query(description="Tỉnh / province code or name")] = None
    paper: Annotated[Paper, Query(description="Khổ giấy / paper")] = "A4-landscape"
    dpi: Annotated[int, Query(ge=figures.DPI_RANGE[0], le=figures.DPI_RANGE[1],
                              description="Độ phân giải PNG / PNG resolution")] = 300
    lang: Annotated[Literal["vi", "en"], Query(description="Ngôn ngữ / language")] = "vi"
    source: Annotated[str | None, Query(max_length=300, description="Nguồn / source line text")] = None
    title: Annotated[str | None, Query(max_length=300, description="Tiêu đề / title (default: automatic)")] = None
    indicator: Annotated[str | None, Query(max_length=200, description="Chỉ số / stored indicator name "
                                                                       "(mode=indicator, hotspot)")] = None


def _scope(store, params: FigureParams, year: int) -> tuple[str | None, str | None]:
    given = [(n, v) for n, v in (("scope", params.scope), ("district", params.district),
                                 ("province", params.province)) if v]
    if len(given) > 1:
        raise BadParameter(given[1][0], f"give one of 'scope', 'district', 'province', got "
                                        f"{', '.join(n for n, _ in given)}")
    if not given:
        return None, None
    name, value = given[0]
    code = figures.resolve_scope(store, value, level=None if name == "scope" else name, parameter=name,
                                 on=year_end(year))
    return code, value


def _render(store, params: FigureParams, fmt: str, year: int, scope_code: str | None, day: dt.date) -> bytes:
    fig = figures.commune_figure(store, year=year, set_id=params.set_id, mode=params.mode,
                                 criterion=params.criterion, scope_code=scope_code, paper=params.paper,
                                 dpi=params.dpi, lang=params.lang, title=params.title,
                                 source=params.source, created=day, indicator=params.indicator)
    return figures.figure_bytes(fig, fmt)


@router.get("/figure.{fmt}", summary="Bản đồ in báo cáo / Report figure (PNG, PDF, SVG)",
            responses={200: {"content": {m: {} for m in figures.MEDIA_TYPES.values()}}})
def figure(fmt: str, request: Request, params: Annotated[FigureParams, Depends()]) -> Response:
    """The commune map of a province, district or commune, ready to paste into a report."""
    if fmt not in figures.FORMATS:
        raise NotFound(f"no figure format '{fmt}'; use figure.png, figure.pdf or figure.svg")
    store, cache = request.app.state.store, request.app.state.cache
    year = params.year or figures.default_year(store)
    scope_code, scope_text = _scope(store, params, year)
    day = dt.date.today()
    if fmt != "png":  # vector output is the same at any dpi: one cache entry
        params = replace(params, dpi=100)
    key = ("figure", fmt, year, scope_code, day, params)
    body = cache.get(key, lambda: _render(store, params, fmt, year, scope_code, day))
    name = figures.figure_filename(mode=params.mode, year=year, fmt=fmt, scope_code=scope_code, scope=scope_text,
                                   criterion=params.criterion, indicator=params.indicator)
    return Response(body, media_type=figures.MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'inline; filename="{name}"',
                             "Cache-Control": "private, max-age=60"})


def include(app: FastAPI, dependencies=()) -> None:
    """Mount the figure routes on an app made by :func:`api.app.create_app`."""
    app.include_router(router, dependencies=list(dependencies))

"""Overview web map routes: the page, its commune data, overlays, search and script.

    GET /map                                  the overview page (HTML)
    GET /map/communes.json?province=…         communes of one province (national scope, on zoom)
    GET /map/overlays/{layer}.geojson         one overlay for the page's scope (or a bbox)
    GET /map/search?q=…                       communes by name, ignoring diacritics
    GET /map/static/{file}                    the page's own script and style
    GET /map/travel-time.png?name=…           a travel-time raster as a coloured image overlay

Pages and data are cached per store revision (``app.state.cache``), keyed on every
parameter, so a write is visible on the next request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response

from layers import admin_units
from maps import overlays, travel_overlay, web, web_data
from maps._errors import ParameterError
from maps.modes import ALL_MODES

__all__ = ["router", "include", "MapQuery"]

router = APIRouter(prefix=web.MAP_PATH, tags=["Bản đồ / Maps"])
_IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}


@dataclass
class MapQuery:
    """The overview page's parameters (all optional)."""

    year: Annotated[int | None, Query(description="Năm / year (default: latest with data)", ge=1990, le=2100)] = None
    set: Annotated[str | None, Query(description="Bộ tiêu chí / criteria set id")] = None
    district: Annotated[str | None, Query(description="Mã huyện: thu phóng và lọc / district code: zoom and filter")] = None
    province: Annotated[str | None, Query(description="Mã tỉnh / province code (when the store holds several)")] = None
    mode: Annotated[str, Query(description=f"Chế độ / mode: {', '.join(ALL_MODES)}")] = "count"
    criterion: Annotated[int | None, Query(description="Số tiêu chí (mode=criterion) / criterion number")] = None
    lang: Annotated[str, Query(description="vi (mặc định) | en")] = "vi"
    indicator: Annotated[str | None, Query(description="Chỉ số (mode=indicator, hotspot) / stored indicator name",
                                           max_length=200)] = None


def _view(request: Request, q: MapQuery) -> web_data.MapView:
    store = request.app.state.store
    return request.app.state.cache.get(
        ("map.view", q.year, q.set, q.district, q.province, q.mode, q.criterion, q.lang, q.indicator),
        lambda: web_data.resolve_view(store, year=q.year, set_id=q.set or None, mode=q.mode, criterion=q.criterion,
                                      district=q.district or None, province=q.province or None, lang=q.lang,
                                      indicator=q.indicator))


def _json(data: bytes | object) -> Response:
    body = data if isinstance(data, bytes) else orjson.dumps(data)
    return Response(body, media_type="application/json")


@router.get("", response_class=HTMLResponse, summary="Bản đồ tổng quan / Overview map")
def overview(request: Request, q: Annotated[MapQuery, Depends()]) -> HTMLResponse:
    app = request.app
    view = _view(request, q)
    settings = app.state.settings

    def build() -> str:
        return web.overview_html(app.state.store, view, offline=settings.offline, tiles=settings.tiles,
                                 tiles_attribution=settings.tiles_attribution, cache=app.state.cache)

    return HTMLResponse(app.state.cache.get(("map.page", view.key(), settings.offline, settings.tiles), build))


@router.get("/communes.json", summary="Xã của một tỉnh (dữ liệu bản đồ) / Communes of a province (map data)")
def communes(request: Request, q: Annotated[MapQuery, Depends()]) -> Response:
    if not q.province and not q.district:
        raise ParameterError("province", "'province' is required: the code of the province whose communes to send")
    view = _view(request, q)
    cache = request.app.state.cache
    return _json(cache.get(("map.communes", view.key()),
                           lambda: orjson.dumps(web_data.communes_payload(request.app.state.store, view,
                                                                          view.scope_code, cache=cache))))


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not (values[0] <= values[2] and values[1] <= values[3]):
        raise ParameterError("bbox", f"'bbox' must be minx,miny,maxx,maxy in degrees, got {text!r}")
    return values  # type: ignore[return-value]


@router.get("/overlays/{layer}.geojson", summary="Lớp phủ bản đồ / Map overlay (GeoJSON)")
def overlay(request: Request, layer: str, q: Annotated[MapQuery, Depends()],
            bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy (national scope)")] = None) -> Response:
    if layer not in overlays.OVERLAYS:
        raise ParameterError("layer", f"'layer' must be one of {sorted(overlays.OVERLAYS)}, got {layer!r}")
    store, cache = request.app.state.store, request.app.state.cache
    view = _view(request, q)
    box = _bbox(bbox)
    if view.scope_code is None and box is None:
        raise ParameterError("bbox", "'bbox' is required at national scope (or give 'province' or 'district')")

    def build() -> bytes:
        codes = None
        if view.scope_code is not None:
            codes = admin_units.units_in_scope(store, view.scope_code, "commune", on=view.on)["code"].tolist()
        return overlays.overlay_geojson(store, layer, commune_codes=codes, bbox=box, year=view.year)

    body = cache.get(("map.overlay", layer, view.scope_code, view.year, box), build)
    return Response(body, media_type="application/geo+json")


@router.get("/search", summary="Tìm xã theo tên (không dấu) / Find communes by name (diacritics optional)")
def search(request: Request, q: Annotated[str, Query(description="Tên xã / commune name", max_length=100)],
           province: str | None = None, district: str | None = None, year: int | None = None,
           lang: str = "vi") -> Response:
    view = _view(request, MapQuery(year=year, district=district, province=province, lang=lang))
    return _json(web_data.search_communes(request.app.state.store, q, scope_code=view.scope_code, on=view.on,
                                          cache=request.app.state.cache))


@router.get("/travel-time.png", summary="Thời gian di chuyển (ảnh phủ) / Travel time as an image overlay (PNG)")
def travel_time_png(request: Request,
                    name: Annotated[str, Query(description="Tên lớp raster / raster name (travel_time_…)",
                                               max_length=200)]) -> Response:
    """A travel-time GeoTIFF in Web Mercator, coloured by class (0–15, 15–30, 30–60,
    60–120, > 120 min), transparent where there is no value; its corners are in the page."""
    store, cache = request.app.state.store, request.app.state.cache
    body = cache.get(("map.travel_png", name), lambda: travel_overlay.travel_png(store, name).png)
    return Response(body, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})


@router.get("/static/{name}", include_in_schema=False)
def static(name: str) -> Response:
    media = "text/javascript" if name.endswith(".js") else "text/css"
    return Response(web.static_minified(name), media_type=media, headers=_IMMUTABLE)


def include(app: FastAPI, dependencies=()) -> None:
    """Mount the map routes on an app built by ``api.app.create_app``."""
    app.include_router(router, dependencies=list(dependencies))

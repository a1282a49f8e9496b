"""Spatial and criteria queries over HTTP: ``/query/…``, as JSON or GeoJSON.

Routes only parse parameters, call ``layers.queries`` and format. JSON is the default:
``{"query": {...}, "numberReturned": n, "items": [...]}`` with each item's properties
and a representative ``point`` [lon, lat]. GeoJSON (RFC 7946, CRS84) with ``f=geojson``
or an ``Accept: application/geo+json`` header. Distances (``*_m``) are metres measured
in the province's VN-2000 TM-3 zone (``epsg`` in each item), rounded to 0.1 m.

Bad parameters are 400 with the parameter named (``api.errors.BadParameter``); an
unknown facility type lists the valid ones. Responses are cached per store revision;
road graphs per scope and year.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely
from fastapi import APIRouter, Body, FastAPI, Query, Request
from fastapi.responses import Response

from layers import access, criteria, queries, road_graph
from layers.infrastructure import LAYERS
from . import negotiation, ogc_crs, ogc_geojson
from .cache import RevisionCache
from .errors import BadParameter

__all__ = ["router", "include"]

log = logging.getLogger(__name__)

JSON = "application/json"
GEOJSON = "application/geo+json"

router = APIRouter(prefix="/query", tags=["Truy vấn không gian / Spatial queries"])

_ERRORS = {400: {"description": "Tham số không hợp lệ / Invalid parameter"}}
_RESPONSES = {200: {"content": {JSON: {}, GEOJSON: {}}}, **_ERRORS}

F = Annotated[Literal["json", "geojson"] | None, Query(
    description="Định dạng / format: json or geojson; default from the Accept header (JSON)")]
Scope = Annotated[str | None, Query(max_length=40, description="Mã tỉnh/huyện / province or district code")]
Year = Annotated[int | None, Query(ge=1990, le=2100, description="Năm / year whose units are used (default: this year)")]
YearRequired = Annotated[int, Query(ge=1990, le=2100, description="Năm đánh giá / assessment year")]
Facility = Annotated[str, Query(max_length=60, description="Loại công trình / facility type",
                                json_schema_extra={"enum": list(access.FACILITY_TYPES)})]
DistanceKm = Annotated[float, Query(ge=0, le=1000, allow_inf_nan=False, description="Khoảng cách / distance D in km")]
Mode = Annotated[Literal["straight", "network"], Query(
    description="straight: đường chim bay / straight line; network: theo đường giao thông / along roads")]
Filters = Annotated[list[str] | None, Query(
    alias="filter", max_length=20,
    description="Lọc công trình / facility filter field:value, repeatable (school_level:tieu_hoc, meets_standard:true)")]
SetId = Annotated[str | None, Query(alias="set", max_length=60,
                                    description="Bộ tiêu chí / criteria set id (default: the set in force)")]
_DISTANCE_DECIMALS = 1


# --- formatting ----------------------------------------------------------------------------


def _wants_geojson(request: Request, f: str | None) -> bool:
    """``f`` decides; otherwise GeoJSON when the Accept header prefers it to JSON."""
    if f is not None:
        return f == "geojson"
    return negotiation.prefers(request, (GEOJSON,), (JSON,))


def _plain(value):
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _plain(value.item())
    return value


def _columns(frame: pd.DataFrame) -> dict[str, list]:
    out = {}
    for name in frame.columns:
        if name == frame.geometry.name:
            continue
        series = frame[name]
        if name.endswith("_m") and pd.api.types.is_float_dtype(series):
            series = series.round(_DISTANCE_DECIMALS)
        elif (name.endswith("_km") or name.endswith("_km2") or name.endswith("_inside")) and \
                pd.api.types.is_float_dtype(series):
            series = series.round(4)
        values = series.astype(object).tolist()
        out[name] = [_plain(v) for v in values]
    return out


def _body(gdf: gpd.GeoDataFrame, query: dict, id_column: str, geojson: bool) -> tuple[bytes, str]:
    """The response bytes and media type: a FeatureCollection, or the items as JSON."""
    columns = _columns(gdf)
    names = list(columns)
    rows = [dict(zip(names, values)) for values in zip(*columns.values())] if names else [{}] * len(gdf)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    if geojson:
        fragments = ogc_geojson.geometry_fragments(geoms, ogc_crs.SUPPORTED[ogc_crs.CRS84])
        features = [{"type": "Feature", "id": row.get(id_column), "geometry": geom, "properties": row}
                    for row, geom in zip(rows, fragments)]
        doc = {"type": "FeatureCollection", "query": query, "timeStamp": ogc_geojson.now_utc(),
               "numberReturned": len(features), "features": features}
        return orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY), GEOJSON
    points = shapely.point_on_surface(geoms)
    xs, ys = np.round(shapely.get_x(points), 7).tolist(), np.round(shapely.get_y(points), 7).tolist()
    for row, x, y in zip(rows, xs, ys):
        row["point"] = None if np.isnan(x) else [x, y]
    doc = {"query": query, "numberReturned": len(rows), "items": rows}
    return orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY), JSON


def _cached(request: Request, key: tuple, build) -> Response:
    """A query's answer, built once per store revision and parameters."""
    content, media_type = request.app.state.query_cache.get(key, build)
    return Response(content, media_type=media_type, headers={"Vary": "Accept"})


# --- parameter checks ------------------------------------------------------------------------


def _facility(value: str) -> str:
    try:
        access.facility_spec(value)
    except access.UnknownFacilityType as exc:
        raise BadParameter("facility", str(exc)) from None
    return value


def _filters(facility: str, values: list[str] | None) -> dict[str, object]:
    raw: dict[str, str] = {}
    for item in values or []:
        sep = min((i for i in (item.find(":"), item.find("=")) if i > 0), default=-1)
        if sep < 0:
            raise BadParameter("filter", f"'filter' must be field:value (fields of {facility}: "
                               f"{', '.join(LAYERS[facility].field_names)}), got {item[:100]!r}")
        raw[item[:sep].strip()] = item[sep + 1:].strip()
    try:
        return access.parse_filters(facility, raw)
    except ValueError as exc:
        raise BadParameter("filter", str(exc)) from None


def _scope(request: Request, scope: str | None, year: int | None) -> access.Scope:
    """The loaded scope (units, zone, lazily its road graph), cached per revision."""
    store = request.app.state.store

    def build() -> access.Scope:
        try:
            return access.load_scope(store, scope, year)
        except LookupError as exc:
            raise BadParameter("scope" if scope is not None else "year", str(exc)) from None

    return request.app.state.query_scopes.get((scope, year), build)


def _criteria_list(values: list[str]) -> list[int]:
    numbers = []
    for item in values:
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit() or len(part) > 3:
                raise BadParameter("criteria", f"'criteria' must be criterion numbers such as 2,5,17, got {part[:40]!r}")
            numbers.append(int(part))
    if not numbers:
        raise BadParameter("criteria", "'criteria' must list at least one criterion number, e.g. criteria=2,5")
    return numbers


def _layer_call(parameter_of: dict[str, str], func, *args, **kwargs):
    """Call a layers function; its ValueError/LookupError becomes a 400 naming the parameter.

    ``parameter_of`` maps a quoted name in the message (``'lo'``) to the API parameter.
    """
    try:
        return func(*args, **kwargs)
    except (ValueError, LookupError) as exc:
        message = str(exc)
        for needle, parameter in parameter_of.items():
            if f"'{needle}'" in message:
                raise BadParameter(parameter, message) from None
        raise


# --- routes ----------------------------------------------------------------------------------


@router.get("/far-from-facility", summary="Thôn/xã xa công trình / Units farther than D km from a facility",
            responses=_RESPONSES)
def far_from_facility(
    request: Request,
    facility: Facility,
    distance_km: DistanceKm,
    mode: Mode = "straight",
    level: Annotated[Literal["village", "commune"], Query(description="thôn (village) hoặc xã (commune)")] = "village",
    scope: Scope = None,
    year: Year = None,
    filters: Filters = None,
    include_unreachable: Annotated[bool, Query(
        description="network: also list units off the roads or cut off from every facility")] = True,
    f: F = None,
) -> Response:
    """Villages (or communes) whose nearest facility of a type is farther than ``distance_km``,
    straight-line or along the roads; by road, units off the network or cut off are listed with
    ``status`` off_network / unreachable and no distance."""
    facility = _facility(facility)
    parsed = _filters(facility, filters)
    geojson = _wants_geojson(request, f)
    query = {"facility": facility, "distance_km": distance_km, "mode": mode, "level": level, "scope": scope,
             "year": year, "filter": parsed or None, "include_unreachable": include_unreachable}

    def build() -> tuple[bytes, str]:
        sc = _scope(request, scope, year)
        gdf = queries.far_from_facility(request.app.state.store, facility, distance_km, mode=mode, level=level,
                                        scope=sc, filters=parsed, include_unreachable=include_unreachable)
        return _body(gdf, {**query, "year": sc.units.year, "epsg": sc.epsg}, "unit_code", geojson)

    return _cached(request, ("far", repr(sorted(query.items(), key=str)), geojson), build)


def _near(request: Request, geometry, distance_km: float, scope, year, f) -> Response:
    try:
        geom = queries.geometry_from_geojson(geometry)
    except ValueError as exc:
        raise BadParameter("geometry", str(exc)) from None
    geojson = _wants_geojson(request, f)
    query = {"distance_km": distance_km, "scope": scope, "year": year}

    def build() -> tuple[bytes, str]:
        gdf = _layer_call({"scope": "scope", "year": "year"}, queries.communes_near_geometry,
                          request.app.state.store, geom, distance_km, scope=scope, year=year)
        epsg = int(gdf["epsg"].iloc[0]) if len(gdf) else queries.zone_for_geometry(request.app.state.store, geom)
        return _body(gdf, {**query, "epsg": epsg}, "code", geojson)

    return _cached(request, ("near", geom.wkb_hex, distance_km, scope, year, geojson), build)


@router.get("/near-geometry", summary="Xã giao/gần một đối tượng / Communes intersecting or near a geometry",
            responses=_RESPONSES)
def near_geometry(
    request: Request,
    geometry: Annotated[str, Query(max_length=200_000, description=(
        "GeoJSON geometry (or Feature / FeatureCollection) in CRS84 lon/lat, e.g. a planned road "
        '{"type":"LineString","coordinates":[[104.40,22.30],[104.60,22.35]]}'))],
    distance_km: Annotated[float, Query(ge=0, le=1000, allow_inf_nan=False,
                                        description="0: giao nhau / intersecting; D: within D km")] = 0.0,
    scope: Scope = None,
    year: Year = None,
    f: F = None,
) -> Response:
    """Communes a geometry touches, or that lie within ``distance_km`` of it, nearest first, with
    the length (km) of its lines and the area (km²) of its polygons inside each commune."""
    return _near(request, geometry, distance_km, scope, year, f)


@router.post("/near-geometry", summary="Xã giao/gần một đối tượng (GeoJSON) / Communes near a posted GeoJSON",
             responses=_RESPONSES)
def near_geometry_post(
    request: Request,
    body: Annotated[dict[str, Any], Body(description="GeoJSON geometry, Feature or FeatureCollection (CRS84)",
                                         examples=[{"type": "LineString",
                                                    "coordinates": [[104.40, 22.30], [104.60, 22.35]]}])],
    distance_km: Annotated[float, Query(ge=0, le=1000, allow_inf_nan=False)] = 0.0,
    scope: Scope = None,
    year: Year = None,
    f: F = None,
) -> Response:
    """As ``GET /query/near-geometry`` with the geometry as the request body."""
    return _near(request, body, distance_km, scope, year, f)


@router.get("/nearest", summary="Công trình gần nhất / Nearest facilities to a point", responses=_RESPONSES)
def nearest(
    request: Request,
    facility: Facility,
    lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False, description="Kinh độ / longitude (CRS84)")],
    lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="Vĩ độ / latitude (CRS84)")],
    n: Annotated[int, Query(ge=1, le=1000, description="Số công trình / how many")] = 5,
    max_distance_km: Annotated[float | None, Query(gt=0, le=1000, allow_inf_nan=False,
                                                   description="Giới hạn / only within this distance")] = None,
    mode: Mode = "straight",
    filters: Filters = None,
    f: F = None,
) -> Response:
    """The ``n`` facilities of a type nearest a point, with straight-line (and by road) distances."""
    facility = _facility(facility)
    parsed = _filters(facility, filters)
    geojson = _wants_geojson(request, f)
    query = {"facility": facility, "lon": lon, "lat": lat, "n": n, "max_distance_km": max_distance_km,
             "mode": mode, "filter": parsed or None}

    def build() -> tuple[bytes, str]:
        try:
            gdf = queries.nearest_facilities(request.app.state.store, facility, lon, lat, n,
                                             max_distance_km=max_distance_km, mode=mode, filters=parsed)
        except LookupError as exc:  # the point is off the road network
            raise BadParameter("mode", str(exc)) from None
        epsg = int(gdf["epsg"].iloc[0]) if len(gdf) else None
        return _body(gdf, {**query, "epsg": epsg}, "fid", geojson)

    return _cached(request, ("nearest", repr(sorted(query.items(), key=str)), geojson), build)


@router.get("/failing-criteria", summary="Xã không đạt tiêu chí / Communes failing given criteria",
            responses=_RESPONSES)
def failing_criteria(
    request: Request,
    year: YearRequired,
    criteria_: Annotated[list[str], Query(alias="criteria", max_length=50, description="Tiêu chí / criterion numbers, e.g. 2,5 or repeated")],
    set_id: SetId = None,
    scope: Scope = None,
    match: Annotated[Literal["any", "all"], Query(description="any: trượt ít nhất một / failing any; all: every one")] = "any",
    count_no_data: Annotated[bool, Query(description="Count criteria without assessment as failing")] = False,
    f: F = None,
) -> Response:
    """Communes whose latest assessment of the year is "not met" for any (or all) of the criteria."""
    numbers = _criteria_list(criteria_)
    cset = _criteria_set(year, set_id)
    geojson = _wants_geojson(request, f)
    query = {"year": year, "criteria": numbers, "set": set_id, "scope": scope, "match": match,
             "count_no_data": count_no_data}

    def build() -> tuple[bytes, str]:
        gdf = _layer_call({"criteria": "criteria", "scope": "scope", "match": "match"}, queries.communes_failing,
                          request.app.state.store, year, numbers, set_id=cset.id, scope=scope, match=match,
                          count_no_data=count_no_data)
        return _body(gdf, {**query, "set": cset.id}, "unit_code", geojson)

    return _cached(request, ("failing", repr(sorted(query.items(), key=str)), geojson), build)


def _criteria_set(year: int, set_id: str | None) -> criteria.CriteriaSet:
    """The set asked for, else the set in force in ``year``; 400 naming the parameter at fault."""
    try:
        return criteria.get_set(set_id) if set_id is not None else criteria.set_for_year(year)
    except ValueError as exc:
        raise BadParameter("set" if set_id is not None else "year", str(exc)) from None


@router.get("/criteria-range", summary="Xã theo số tiêu chí đạt / Communes by number of criteria met",
            responses=_RESPONSES)
def criteria_range(
    request: Request,
    year: YearRequired,
    min_met: Annotated[int, Query(ge=0, le=99, description="Ít nhất / at least this many criteria met")] = 0,
    max_met: Annotated[int, Query(ge=0, le=99, description="Nhiều nhất / at most this many")] = 99,
    set_id: SetId = None,
    scope: Scope = None,
    f: F = None,
) -> Response:
    """Communes with between ``min_met`` and ``max_met`` criteria met (inclusive); ``max_met``
    above the set's size means "all"."""
    cset = _criteria_set(year, set_id)
    n_total = len(cset.numbers)
    if min_met > n_total:
        raise BadParameter("min_met", f"'min_met' must be at most {n_total} (criteria in {cset.id}), got {min_met}")
    if min_met > max_met:
        raise BadParameter("min_met", f"'min_met' ({min_met}) must not exceed 'max_met' ({max_met})")
    geojson = _wants_geojson(request, f)
    query = {"year": year, "min_met": min_met, "max_met": max_met, "set": set_id, "scope": scope}

    def build() -> tuple[bytes, str]:
        gdf = _layer_call({"scope": "scope"}, queries.communes_criteria_range, request.app.state.store, year,
                          min_met, min(max_met, n_total), set_id=cset.id, scope=scope)
        return _body(gdf, {**query, "set": cset.id}, "unit_code", geojson)

    return _cached(request, ("range", repr(sorted(query.items(), key=str)), geojson), build)


def include(app: FastAPI, dependencies=()) -> None:
    """Mount the ``/query`` routes on an app built by ``api.app.create_app``.

    ``dependencies`` (FastAPI ``Depends``) run before every route (read authorisation).
    """
    store = app.state.store
    app.state.query_cache = RevisionCache(store, size=64)
    app.state.query_scopes = RevisionCache(store, size=4)
    app.include_router(router, dependencies=list(dependencies))
    log.debug("query routes mounted (%d facility types, straight and %s)", len(access.FACILITY_TYPES),
              road_graph.WEIGHTS)

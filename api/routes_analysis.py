"""``/analysis/…``: stored infrastructure indicators and the travel-time raster.

Indicators are computed by the CLI (``ntm analyse indicators``) and only read here:

    GET /analysis/indicators?year=2024&scope=D01&name=road_km.*          JSON
    GET /analysis/indicators?year=2024&name=road_density&f=csv           CSV
    GET /analysis/indicators/names?year=2024                             names stored
    GET /analysis/travel-time.tif?facility=health_stations[&province=D07] GeoTIFF
    GET /analysis/hotspots?year=2024&scope=D01[&f=geojson|csv]          Local Moran's I per commune
"""

from __future__ import annotations

import json
from typing import Annotated

import orjson
import pandas as pd
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import FileResponse, Response

from layers import indicators_store, schema
from layers.indicators_infra import FACILITY_TABLES
from layers.zonal import raster_path
from .errors import BadParameter, NotFound

__all__ = ["router", "include", "indicators_payload"]

router = APIRouter(prefix="/analysis", tags=["analysis"])

_FORMATS = ("json", "csv")


def _names(values: list[str] | None) -> list[str] | None:
    """Repeated and comma-separated ``name`` values, blanks dropped."""
    if not values:
        return None
    out = [n.strip() for v in values for n in v.split(",") if n.strip()]
    return out or None


def indicators_payload(store, *, year: int, scope: str | None, names: list[str] | None,
                       level: str | None) -> dict:
    """What ``GET /analysis/indicators`` answers, as a dict (also used by tests and maps)."""
    if level is not None and level not in schema.ADMIN_LEVELS:
        raise BadParameter("level", f"'level' must be one of {', '.join(schema.ADMIN_LEVELS)}, got {level!r}")
    df = indicators_store.read_indicators(store, year=year, names=names, scope=scope, unit_level=level)
    if df.empty:
        stored = indicators_store.indicator_names(store, year)
        what = f"indicator(s) {', '.join(names)}" if names else "indicators"
        hint = (f"; stored for {year}: {', '.join(stored[:15])}{' …' if len(stored) > 15 else ''}" if stored
                else f"; compute them with 'ntm analyse indicators --year {year}'")
        raise NotFound(f"no {what} stored for {year}{'' if scope is None else f' in {scope}'}{hint}")
    items = [
        {"unit_code": r.unit_code, "unit_level": r.unit_level, "name": r.name,
         "value": None if r.value != r.value else float(r.value), "unit": r.unit,
         "params": json.loads(r.params or "{}"), "computed_at": r.computed_at}
        for r in df.itertuples(index=False)
    ]
    return {"year": year, "scope": scope, "names": sorted(df["name"].unique()), "count": len(items),
            "items": items}


def _csv(payload: dict) -> str:
    """The payload's items as CSV (params as JSON text in one column)."""
    frame = pd.DataFrame(payload["items"], columns=["unit_code", "unit_level", "name", "value", "unit", "params",
                                                    "computed_at"])
    frame["params"] = [json.dumps(p, ensure_ascii=False, sort_keys=True) for p in frame["params"]]
    return frame.to_csv(index=False)


@router.get("/indicators", summary="Chỉ số hạ tầng / Infrastructure indicators")
def get_indicators(
    request: Request,
    year: Annotated[int, Query(ge=1990, le=2100, description="Năm / year the indicators describe")],
    scope: Annotated[str | None, Query(description="Mã tỉnh/huyện / province or district code")] = None,
    name: Annotated[list[str] | None, Query(description="Tên chỉ số / indicator name(s); 'road_km.*' for a family")] = None,
    level: Annotated[str | None, Query(description="commune | village")] = None,
    f: Annotated[str, Query(description="json | csv")] = "json",
) -> Response:
    """Stored values of a year (latest computation per unit and indicator), as JSON or CSV."""
    if f not in _FORMATS:
        raise BadParameter("f", f"'f' must be one of {', '.join(_FORMATS)}, got {f!r}")
    store, cache = request.app.state.store, request.app.state.cache
    names = _names(name)
    key = ("analysis-indicators", year, scope, tuple(names or ()), level, f)

    def build():
        payload = indicators_payload(store, year=year, scope=scope, names=names, level=level)
        return _csv(payload).encode("utf-8") if f == "csv" else orjson.dumps(payload)

    body = cache.get(key, build)
    if f == "csv":
        filename = f"indicators-{scope or 'all'}-{year}.csv"
        return Response(body, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    return Response(body, media_type="application/json")


@router.get("/indicators/names", summary="Các chỉ số đã tính / Indicators stored")
def get_indicator_names(
    request: Request,
    year: Annotated[int | None, Query(ge=1990, le=2100, description="Năm / year (default: any)")] = None,
) -> dict:
    return {"year": year, "names": indicators_store.indicator_names(request.app.state.store, year)}


@router.get("/travel-time.tif", summary="Thời gian di chuyển / Travel-time raster (GeoTIFF)",
            response_class=FileResponse)
def get_travel_time(
    request: Request,
    facility: Annotated[str, Query(description="health_stations | schools | markets | culture_houses")],
    province: Annotated[str | None, Query(description="Mã tỉnh / province code, when there is one raster "
                                                      "per province")] = None,
) -> FileResponse:
    """The travel-time GeoTIFF (minutes) written by ``ntm analyse indicators --travel-time``."""
    if facility not in FACILITY_TABLES:
        raise BadParameter("facility", f"'facility' must be one of {', '.join(FACILITY_TABLES)}, got {facility!r}")
    store = request.app.state.store
    base = f"travel_time_{facility}"
    rows = store.read_table("rasters", "kind = 'travel_time'")
    rows = rows[(rows["name"] == base) | rows["name"].str.startswith(base + "_")]
    if province is not None:
        rows = rows[rows["name"] == f"{base}_{province}"]
    if rows.empty:
        raise NotFound(f"no travel-time raster for {facility}{'' if province is None else f' in {province}'}; "
                       f"compute it with 'ntm analyse indicators --travel-time --facility {facility}'")
    if len(rows) > 1:
        keys = ", ".join(n[len(base) + 1:] for n in rows["name"])
        raise BadParameter("province", f"there is one travel-time raster per province; choose one with "
                                       f"'province' ({keys})")
    path = raster_path(store, rows["path"].iloc[0])
    if not path.is_file():
        raise NotFound(f"the travel-time raster '{path.name}' is registered but its file is missing; "
                       "compute it again")
    return FileResponse(path, media_type="image/tiff; application=geotiff", filename=path.name)


_HOTSPOT_FORMATS = ("json", "geojson", "csv")


@router.get("/hotspots", summary="Điểm nóng, điểm lạnh / Hot and cold spots (Local Moran's I)")
def get_hotspots(
    request: Request,
    year: Annotated[int, Query(ge=1990, le=2100, description="Năm / year")],
    scope: Annotated[str | None, Query(description="Mã tỉnh/huyện / province or district code")] = None,
    set_id: Annotated[str | None, Query(alias="set", description="Bộ tiêu chí / criteria set id")] = None,
    indicator: Annotated[str | None, Query(description="Chỉ số thay cho số tiêu chí đạt / a stored indicator "
                                                       "instead of criteria met")] = None,
    permutations: Annotated[int, Query(ge=99, le=9999, description="Số hoán vị / permutations (99–9999; "
                                                                   "the CLI allows up to 99999)")] = 999,
    seed: Annotated[int, Query(description="Hạt giống ngẫu nhiên / random seed")] = 12345,
    alpha: Annotated[float, Query(description="Mức ý nghĩa / significance level")] = 0.05,
    fdr: Annotated[bool, Query(description="Hiệu chỉnh FDR (Benjamini–Hochberg) / FDR correction")] = True,
    contiguity: Annotated[str, Query(description="queen | fuzzy")] = "queen",
    lang: Annotated[str, Query(description="vi | en (cluster labels)")] = "vi",
    f: Annotated[str, Query(description="json | geojson | csv")] = "json",
) -> Response:
    """Local Moran's I of criteria met (or of ``indicator``) per commune: Ii, pseudo z,
    p_sim, FDR-adjusted q, quadrant and cluster (HH hot spot, LL cold spot, HL/LH
    outlier, ns, island, no_data), with the global Moran's I."""
    from layers import hotspots
    from maps.i18n import LANGS

    from . import hotspots_output

    if f not in _HOTSPOT_FORMATS:
        raise BadParameter("f", f"'f' must be one of {', '.join(_HOTSPOT_FORMATS)}, got {f!r}")
    if lang not in LANGS:
        raise BadParameter("lang", f"'lang' must be one of {', '.join(LANGS)}, got {lang!r}")
    hotspots.check_options(permutations=permutations, seed=seed, alpha=alpha, contiguity=contiguity)
    store, cache = request.app.state.store, request.app.state.cache
    args = dict(year=year, scope=scope or None, set_id=set_id or None, indicator=indicator or None,
                permutations=permutations, seed=seed, alpha=alpha, fdr=fdr, contiguity=contiguity)
    result = cache.get(("analysis-hotspots", tuple(sorted(args.items()))), lambda: hotspots.hotspots(store, **args))
    if f == "csv":
        body = hotspots_output.to_csv(result, lang).encode("utf-8")
        filename = f"hotspots-{scope or 'all'}-{year}.csv"
        return Response(body, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    if f == "geojson":
        return Response(hotspots_output.to_geojson(result, lang), media_type="application/geo+json")
    return Response(orjson.dumps(hotspots_output.payload(result, lang)), media_type="application/json")


def include(app: FastAPI, dependencies=()) -> None:
    """Mount the analysis routes on ``app`` (``dependencies``: e.g. an API-key check)."""
    app.include_router(router, dependencies=list(dependencies))

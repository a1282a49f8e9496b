"""Spatial and criteria queries planners ask of the store, answered as GeoDataFrames.

(a) villages or communes farther than D km from the nearest facility of a type,
straight-line or by road (``far_from_facility``); (b) communes intersecting or within
D km of a drawn geometry, such as a planned road (``communes_near_geometry``); (c) the
N nearest facilities to a point (``nearest_facilities``); (d) communes failing given
criteria in a year (``communes_failing``); (e) communes with a number of criteria met
in a range (``communes_criteria_range``).

Distances are metres in a VN-2000 TM-3 zone, never degrees: for a scope, the rule of
``layers.access.scope_zone``; for a drawn geometry or a point, the zone of the province
it lies in (the zone of its longitude when it lies in several provinces with different
zones, or in none). Results are in EPSG:4326, ready for GeoJSON.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import crs as geo_crs
from . import access, admin_units, criteria, road_graph, status
from .store import Store

__all__ = [
    "MATCHES",
    "geometry_from_geojson",
    "zone_for_geometry",
    "far_from_facility",
    "communes_near_geometry",
    "nearest_facilities",
    "communes_failing",
    "communes_criteria_range",
]

log = logging.getLogger(__name__)

MATCHES = ("any", "all")
_MAX_DISTANCE_KM = 1000.0
_GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
                   "GeometryCollection")


# --- parameters ---------------------------------------------------------------------------


def _distance_km(value, name: str = "distance_km", *, allow_zero: bool = True) -> float:
    try:
        km = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name!r} must be a number of kilometres, got {value!r}") from None
    low_ok = km >= 0 if allow_zero else km > 0
    if not np.isfinite(km) or not low_ok or km > _MAX_DISTANCE_KM:
        bound = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"{name!r} must be {bound} and at most {_MAX_DISTANCE_KM:g} km, got {value!r}")
    return km


def _year(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"'year' must be an integer, got {value!r}")
    return int(value)


def geometry_from_geojson(value) -> shapely.Geometry:
    """A shapely geometry from GeoJSON (text or dict) in CRS84: a geometry, Feature or
    FeatureCollection (its features' geometries as one collection).

    Coordinates must be longitude/latitude; invalid polygons are repaired.

    Raises
    ------
    ValueError
        Not JSON, not GeoJSON, empty, or coordinates outside longitude/latitude range
        (probably metres of a projected CRS).
    """
    if isinstance(value, (bytes, str)):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"'geometry' is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(value, Mapping):
        raise ValueError(f"'geometry' must be a GeoJSON object, got {type(value).__name__}")
    kind = value.get("type")
    if kind == "Feature":
        return _geometry(value.get("geometry"), "the Feature's geometry")
    if kind == "FeatureCollection":
        features = value.get("features")
        if not isinstance(features, list) or not features:
            raise ValueError("'geometry': the FeatureCollection has no features")
        parts = []
        for k, feature in enumerate(features):
            if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
                raise ValueError(f"'geometry': member {k} of the FeatureCollection is not a Feature")
            parts.append(_geometry(feature.get("geometry"), f"the geometry of feature {k}"))
        return parts[0] if len(parts) == 1 else shapely.GeometryCollection(parts)
    return _geometry(value, "the object")


def _geometry(value, what: str) -> shapely.Geometry:
    if not isinstance(value, Mapping):
        raise ValueError(f"'geometry': {what} must be a GeoJSON geometry object, got {type(value).__name__}")
    kind = value.get("type")
    if kind not in _GEOMETRY_TYPES:
        raise ValueError(f"'geometry' must be a GeoJSON geometry, Feature or FeatureCollection; "
                         f"{what} has type {str(kind)[:40]!r} (geometry types: {', '.join(_GEOMETRY_TYPES)})")
    try:
        geom = shapely.from_geojson(json.dumps(value))
    except (shapely.errors.GEOSException, ValueError, TypeError, RecursionError) as exc:
        raise ValueError(f"'geometry': {what} is not a readable GeoJSON {kind}: {str(exc)[:200]}") from None
    if geom is None or geom.is_empty:
        raise ValueError(f"'geometry': {what} is an empty {kind}")
    x0, y0, x1, y1 = geom.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise ValueError(f"'geometry' coordinates must be longitude, latitude (CRS84), got bounds "
                         f"({x0:g}, {y0:g}, {x1:g}, {y1:g}); are they metres of a projected CRS?")
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    return shapely.force_2d(geom)


def zone_for_geometry(store: Store, geom, *, year: int | None = None) -> int:
    """TM-3 zone (EPSG code) for measuring around a CRS84 geometry.

    The zone of the province(s) the geometry touches when they share one (their
    ``tm3_epsg``, or the zone nearest each province's longitude), else the zone nearest
    the geometry's centre.
    """
    on = None if year is None else admin_units.year_end(year)
    where, params = admin_units.valid_on_sql(on)
    provinces = store.read_features("provinces", where, params, columns=["code", "tm3_epsg"], bbox=geom.bounds)
    if len(provinces):
        hit = shapely.intersects(provinces.geometry.values, geom)
        provinces = provinces[hit]
    zones = set()
    for epsg, pgeom in zip(provinces["tm3_epsg"], provinces.geometry.values):
        zones.add(int(epsg) if pd.notna(epsg) else geo_crs.tm3_zone_for_lon(shapely.centroid(pgeom).x))
    if len(zones) == 1:
        return zones.pop()
    x0, _, x1, _ = geom.bounds
    return geo_crs.tm3_zone_for_lon((x0 + x1) / 2)


def _communes_frame(store: Store, year: int, codes: Iterable[str] | None = None, bbox=None) -> gpd.GeoDataFrame:
    """Communes valid at the end of ``year`` (optionally these codes, in this box)."""
    where, params = admin_units.valid_on_sql(admin_units.year_end(year))
    gdf = store.read_features("communes", where, params, columns=["code", "name", "parent_code"], bbox=bbox)
    if codes is not None:
        gdf = gdf[gdf["code"].isin(set(codes))]
    return gdf.reset_index(drop=True)


def _scope_codes(store: Store, scope: str | None, year: int) -> set[str] | None:
    if scope is None:
        return None
    codes = set(admin_units.units_in_scope(store, scope, "commune", on=admin_units.year_end(year))["code"])
    if not codes:
        level = admin_units.unit_level_of(store, scope)
        what = "is not a unit of the store" if level is None else f"(a {level}) holds no commune valid in {year}"
        raise LookupError(f"'scope' {scope!r} {what}")
    return codes


# --- (a) far from a facility --------------------------------------------------------------


def far_from_facility(
    store: Store,
    facility_type: str,
    distance_km: float,
    *,
    mode: str = "straight",
    level: str = "village",
    scope: str | access.Scope | None = None,
    year: int | None = None,
    filters: Mapping[str, object] | None = None,
    max_snap_m: float = road_graph.DEFAULT_MAX_SNAP_M,
    include_unreachable: bool = True,
) -> gpd.GeoDataFrame:
    """Villages (or communes) farther than ``distance_km`` from the nearest facility of a type.

    Parameters
    ----------
    facility_type
        One of ``access.FACILITY_TYPES``.
    distance_km
        The threshold D; a unit is listed when its distance is > D.
    mode
        ``"straight"`` (straight line) or ``"network"`` (along the roads).
    level
        ``"village"`` or ``"commune"`` (the commune's representative point).
    scope, year
        Province or district code (None: the whole store) and the year whose units are
        used (default this year); or a loaded ``access.Scope``.
    filters
        Equality filters on the facility layer (``{"school_level": "tieu_hoc"}``).
    include_unreachable
        Network mode: also list units off the road network or cut off from every
        facility (``distance_m`` NaN, ``status`` says which).

    Returns
    -------
    GeoDataFrame
        unit_code, name, commune_code, level, facility_type, mode, distance_m,
        facility_fid (the nearest), status, straight_m (and network_m, connector_m in
        network mode), geometry (the unit's polygon), farthest first.
    """
    access.facility_spec(facility_type)
    if mode not in access.MODES:
        raise ValueError(f"'mode' must be one of {', '.join(access.MODES)}, got {mode!r}")
    d_m = _distance_km(distance_km) * 1000.0
    sc = scope if isinstance(scope, access.Scope) else access.load_scope(store, scope, year)
    modes = ("straight",) if mode == "straight" else ("straight", "network")
    table = access.access_table(store, scope=sc, level=level, facility_types=[facility_type], modes=modes,
                                max_snap_m=max_snap_m, filters={facility_type: filters} if filters else None)
    if mode == "straight":
        table["distance_m"] = table["straight_m"]
        table["facility_fid"] = table["straight_fid"]
        table["status"] = np.where(table["straight_m"].notna(), road_graph.STATUS_OK, "no_facility")
    else:
        table["distance_m"] = table["network_m"]
        table["facility_fid"] = table["network_fid"]
        table["status"] = table["network_status"]
    far = table["distance_m"] > d_m
    missing = table["distance_m"].isna()
    keep = far | (missing & (include_unreachable or mode == "straight"))
    table = table[keep.to_numpy()].copy()
    table["mode"] = mode
    units = sc.units.frame(level)
    geoms = units.set_index("code").geometry
    out = gpd.GeoDataFrame(table, geometry=geoms.reindex(table["unit_code"]).values, crs=geo_crs.STORE_CRS)
    out = out.sort_values("distance_m", ascending=False, na_position="first", kind="stable")
    columns = ["unit_code", "name", "commune_code", "level", *(["population"] if level == "village" else []),
               "facility_type", "mode", "distance_m", "facility_fid", "status", "straight_m",
               *(["network_m", "connector_m"] if mode == "network" else []), "epsg", "geometry"]
    return out[columns].reset_index(drop=True)


# --- (b) near a geometry ------------------------------------------------------------------


def communes_near_geometry(
    store: Store,
    geometry,
    distance_km: float = 0.0,
    *,
    scope: str | None = None,
    year: int | None = None,
) -> gpd.GeoDataFrame:
    """Communes intersecting ``geometry`` or within ``distance_km`` of it.

    Parameters
    ----------
    geometry
        A shapely geometry in CRS84 (lon/lat) or GeoJSON (see ``geometry_from_geojson``).
    distance_km
        0: communes the geometry touches; D > 0: communes any part of which lies within
        D km of it.

    Returns
    -------
    GeoDataFrame
        code, name, parent_code, distance_m (0 where they intersect), intersects, and the
        length (km) of the geometry's lines / area (km²) of its polygons inside each
        commune (``line_km_inside``, ``area_km2_inside``), epsg, geometry; nearest first.
    """
    geom = geometry if isinstance(geometry, shapely.Geometry) else geometry_from_geojson(geometry)
    if geom.is_empty:
        raise ValueError("'geometry' is empty")
    d_m = _distance_km(distance_km) * 1000.0
    year = _default_year(year)
    codes = _scope_codes(store, scope, year)
    communes = _communes_frame(store, year, codes, bbox=access.pad_bounds(geom.bounds, d_m))
    epsg = zone_for_geometry(store, geom, year=year)
    metric = road_graph.to_metric(communes.geometry.values, epsg)
    g = road_graph.to_metric(np.array([geom], dtype=object), epsg)[0]
    distance = shapely.distance(metric, g) if len(metric) else np.zeros(0)
    keep = distance <= d_m
    communes, metric, distance = communes[keep].copy(), metric[keep], distance[keep]
    communes["distance_m"] = distance
    communes["intersects"] = shapely.intersects(metric, g) if len(metric) else np.zeros(0, bool)
    lines = [p for p in shapely.get_parts(g) if p.geom_type in ("LineString", "MultiLineString")]
    polys = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    if lines:
        line = shapely.union_all(lines)
        communes["line_km_inside"] = shapely.length(shapely.intersection(metric, line)) / 1000.0
    if polys:
        poly = shapely.union_all(polys)
        communes["area_km2_inside"] = shapely.area(shapely.intersection(metric, poly)) / 1e6
    communes["epsg"] = epsg
    communes = communes.sort_values(["distance_m", "code"], kind="stable").reset_index(drop=True)
    rest = [c for c in communes.columns if c not in ("fid", "geometry")]
    return communes[[*rest, "geometry"]]


def _default_year(year) -> int:
    import datetime as dt

    return dt.date.today().year if year is None else _year(year)


# --- (c) nearest facilities ---------------------------------------------------------------


def nearest_facilities(
    store: Store,
    facility_type: str,
    lon: float,
    lat: float,
    n: int = 5,
    *,
    max_distance_km: float | None = None,
    mode: str = "straight",
    filters: Mapping[str, object] | None = None,
    max_snap_m: float = road_graph.DEFAULT_MAX_SNAP_M,
    search_km: float = 30.0,
) -> gpd.GeoDataFrame:
    """The ``n`` facilities of a type nearest a point (CRS84), with their distances.

    Straight-line: the search box grows until ``n`` facilities are found within it (so
    the answer is exact). Network: roads and facilities within ``max_distance_km`` (or
    ``search_km``) of the point are routed; facilities not reached are left out.

    Returns
    -------
    GeoDataFrame
        rank, fid, the facility's columns, straight_m, (network_m), epsg, geometry;
        nearest first by the chosen mode.
    """
    spec = access.facility_spec(facility_type)
    for name, value in (("lon", lon), ("lat", lat)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not np.isfinite(value):
            raise ValueError(f"{name!r} must be a number, got {value!r}")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"'lon', 'lat' must be longitude and latitude in degrees (CRS84), got ({lon}, {lat})")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= 1000:
        raise ValueError(f"'n' must be an integer from 1 to 1000, got {n!r}")
    if mode not in access.MODES:
        raise ValueError(f"'mode' must be one of {', '.join(access.MODES)}, got {mode!r}")
    limit_m = None if max_distance_km is None else _distance_km(max_distance_km, "max_distance_km") * 1000.0
    search_m = _distance_km(search_km, "search_km", allow_zero=False) * 1000.0
    point = shapely.Point(lon, lat)
    epsg = zone_for_geometry(store, point)
    p_metric = road_graph.to_metric(np.array([point], dtype=object), epsg)
    filters = access.parse_filters(facility_type, filters)
    if mode == "straight":
        radius = min(5_000.0, limit_m) if limit_m else 5_000.0
        while True:
            box = access.pad_bounds((lon, lat, lon, lat), radius)
            facilities = access.read_facilities(store, facility_type, bbox=box, filters=filters)
            dist = shapely.distance(road_graph.to_metric(facilities.geometry.values, epsg), p_metric[0]) \
                if len(facilities) else np.zeros(0)
            enough = (dist <= radius).sum() >= n
            if enough or (limit_m is not None and radius >= limit_m) or radius > 3_000_000:
                break
            radius *= 4
            if limit_m is not None:
                radius = min(radius, limit_m)
        facilities["straight_m"] = dist
        key = "straight_m"
    else:
        radius = limit_m if limit_m else search_m
        box = access.pad_bounds((lon, lat, lon, lat), radius)
        roads = store.read_features("roads", columns=["road_class", "surface"], bbox=box)
        graph = road_graph.graph_from_roads(roads, epsg=epsg)
        facilities = access.read_facilities(store, facility_type, bbox=box, filters=filters)
        facilities["straight_m"] = shapely.distance(road_graph.to_metric(facilities.geometry.values, epsg),
                                                    p_metric[0]) if len(facilities) else np.zeros(0)
        targets, rows = access.facility_targets(facilities, epsg)
        source = road_graph.snap_points(graph, p_metric, max_snap_m=max_snap_m)
        if not source.ok[0]:
            raise LookupError(f"the point ({lon}, {lat}) is farther than {max_snap_m:g} m from every road; "
                              "ask for straight-line distances (mode=straight)")
        d = road_graph.distances_from(graph, source, road_graph.snap_points(graph, targets, max_snap_m=max_snap_m))
        best = np.full(len(facilities), np.inf)
        np.minimum.at(best, rows, np.where(np.isnan(d), np.inf, d))
        facilities["network_m"] = np.where(np.isfinite(best), best, np.nan)
        key = "network_m"
    facilities = facilities[facilities[key].notna()]
    if limit_m is not None:
        facilities = facilities[facilities[key] <= limit_m]
    facilities = facilities.sort_values([key, "fid"], kind="stable").head(n).reset_index(drop=True)
    facilities.insert(0, "rank", np.arange(1, len(facilities) + 1))
    facilities["facility_type"] = spec.name
    facilities["epsg"] = epsg
    rest = [c for c in facilities.columns if c != "geometry"]
    return facilities[[*rest, "geometry"]]


# --- (d), (e) criteria ----------------------------------------------------------------------


def _criteria_frame(store: Store, year, set_id, scope) -> tuple[pd.DataFrame, criteria.CriteriaSet]:
    year = _year(year)
    cset = criteria.set_for_year(year) if set_id is None else criteria.get_set(set_id)
    if scope is not None:
        _scope_codes(store, scope, year)  # a clear LookupError for an unknown scope
    return status.criteria_summary(store, year, cset.id, scope_code=scope), cset


def _with_geometry(store: Store, frame: pd.DataFrame, year: int) -> gpd.GeoDataFrame:
    communes = _communes_frame(store, year, frame["unit_code"])
    geoms = communes.drop_duplicates("code").set_index("code").geometry
    return gpd.GeoDataFrame(frame.reset_index(drop=True), geometry=geoms.reindex(frame["unit_code"]).values,
                            crs=geo_crs.STORE_CRS)


def communes_failing(
    store: Store,
    year: int,
    criteria_numbers: Iterable[int],
    *,
    set_id: str | None = None,
    scope: str | None = None,
    match: str = "any",
    count_no_data: bool = False,
) -> gpd.GeoDataFrame:
    """Communes that fail the given criteria in a year.

    A commune fails a criterion when its latest assessment for the year is "not met"
    (with ``count_no_data`` also when it has none). ``match="any"``: failing at least one
    of them; ``"all"``: failing every one.

    Returns
    -------
    GeoDataFrame
        unit_code, name, parent_code, n_met, n_total, failing (the asked criteria it
        fails), no_data (the asked criteria without assessment), set_id, year, geometry.

    Raises
    ------
    ValueError
        Unknown criterion numbers for the set (the message lists them), empty list,
        unknown ``match``.
    """
    if match not in MATCHES:
        raise ValueError(f"'match' must be one of {', '.join(MATCHES)}, got {match!r}")
    summary, cset = _criteria_frame(store, year, set_id, scope)
    asked = sorted({_criterion(c) for c in criteria_numbers})
    if not asked:
        raise ValueError("'criteria' must list at least one criterion number")
    unknown = [c for c in asked if c not in cset.numbers]
    if unknown:
        raise ValueError(f"'criteria': {unknown} are not criteria of {cset.id} "
                         f"(numbers {cset.numbers[0]}–{cset.numbers[-1]})")
    wanted = set(asked)
    failing = [sorted(wanted & set(u) | (wanted & set(nd) if count_no_data else set()))
               for u, nd in zip(summary["unmet"], summary["no_data"])]
    no_data = [sorted(wanted & set(nd)) for nd in summary["no_data"]]
    need = len(asked) if match == "all" else 1
    summary = summary.assign(failing=failing, no_data=no_data)
    keep = np.array([len(f) >= need for f in failing], dtype=bool)
    out = summary[keep][["unit_code", "name", "parent_code", "n_met", "n_total", "failing", "no_data"]]
    out = out.assign(set_id=cset.id, year=int(year))
    return _with_geometry(store, out, int(year))


def _criterion(value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"'criteria' must be criterion numbers, got {value!r}") from None
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"'criteria' must be whole criterion numbers, got {value!r}")
    return number


def communes_criteria_range(
    store: Store,
    year: int,
    lo: int,
    hi: int,
    *,
    set_id: str | None = None,
    scope: str | None = None,
) -> gpd.GeoDataFrame:
    """Communes with between ``lo`` and ``hi`` criteria met (inclusive) in a year.

    E.g. ``lo=15, hi=18`` on QĐ 318: the "near-standard" communes the seeds want
    pushed over the line first.

    Returns
    -------
    GeoDataFrame
        unit_code, name, parent_code, n_met, n_assessed, n_total, unmet, no_data,
        set_id, year, geometry; most criteria met first.
    """
    summary, cset = _criteria_frame(store, year, set_id, scope)
    n_total = len(cset.numbers)
    for name, value in (("lo", lo), ("hi", hi)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= n_total:
            raise ValueError(f"{name!r} must be an integer from 0 to {n_total} (criteria in {cset.id}), got {value!r}")
    if lo > hi:
        raise ValueError(f"'lo' ({lo}) must not exceed 'hi' ({hi})")
    keep = summary["n_met"].between(lo, hi).to_numpy()
    out = summary[keep][["unit_code", "name", "parent_code", "n_met", "n_assessed", "n_total", "unmet", "no_data"]]
    out = out.sort_values(["n_met", "unit_code"], ascending=[False, True], kind="stable")
    out = out.assign(set_id=cset.id, year=int(year))
    return _with_geometry(store, out, int(year))

"""The communes and villages an indicator run covers, with the metric CRS of each.

Lengths, areas and distances are measured in the VN-2000 TM-3 zone of the unit's
province (``provinces.tm3_epsg``; the zone nearest the province's longitude where none
is recorded), never in degrees. A national run therefore measures each province in its
own zone: ``UnitSet.zones`` groups the units by zone so each group is projected once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from geo import crs as geo_crs
from . import admin_units
from .store import Store

__all__ = ["UnitSet", "load_units", "measuring_crs", "metric_transformer", "metric_xy", "to_metric", "zone_meridians", "zones"]


@dataclass
class UnitSet:
    """Communes and villages valid at the end of ``year`` inside ``scope`` (EPSG:4326).

    Both frames carry ``code``, ``province`` (code of the province above the unit) and
    ``epsg`` (its TM-3 zone); villages also ``commune`` (their commune's code) and
    ``population`` (the recorded head count).
    """

    scope: str | None
    year: int
    communes: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame

    def frame(self, level: str) -> gpd.GeoDataFrame:
        if level == "commune":
            return self.communes
        if level == "village":
            return self.villages
        raise ValueError(f"'level' must be 'commune' or 'village', got {level!r}")

    def bounds(self) -> tuple[float, float, float, float] | None:
        """Bounding box (EPSG:4326) of the communes, or None when there are none."""
        if self.communes.empty:
            return None
        return tuple(float(v) for v in self.communes.total_bounds)


def measuring_crs(epsg: int) -> str:
    """The CRS lengths and areas are measured in for a VN-2000 TM-3 zone ``epsg``.

    It is the zone's Transverse Mercator (central meridian, k = 0.9999, false easting
    500 000 m) on the WGS 84 ellipsoid, which VN-2000 shares, without the datum shift.
    The shift (QĐ 05/2007) moves coordinates by some 200 m but changes distances by a
    few parts per million only (its 0.25 ppm scale and the change of ellipsoidal height
    it implies: about 5 mm per km in the north), so lengths, areas and distances are
    those of the zone, and projecting skips a costly geocentric step. ``+approx`` picks
    PROJ's Evenden-Snyder series, within 0.2 mm of the exact algorithm even 5° from the
    central meridian and about twice as fast. Together about 4× faster for a national
    road table. Rasters, whose cells sit at true zone coordinates, use the full
    transformation instead.
    """
    lon = geo_crs.TM3_ZONES.get(int(epsg))
    if lon is None:
        return f"EPSG:{int(epsg)}"
    return (f"+proj=tmerc +approx +lat_0=0 +lon_0={lon} +k=0.9999 +x_0=500000 +y_0=0 "
            "+ellps=WGS84 +units=m +no_defs +type=crs")


@functools.cache
def metric_transformer(epsg: int) -> Transformer:
    """EPSG:4326 (x = lon, y = lat) -> the measuring CRS of zone ``epsg``."""
    return Transformer.from_crs(geo_crs.STORE_CRS, measuring_crs(epsg), always_xy=True)


_MERIDIANS = np.full(max(geo_crs.TM3_ZONES) + 1, np.nan)
_MERIDIANS[list(geo_crs.TM3_ZONES)] = list(geo_crs.TM3_ZONES.values())


def zone_meridians(epsg) -> np.ndarray | None:
    """Central meridian (degrees) of each zone code, or None if one is not a TM-3 zone."""
    epsg = np.asarray(epsg, dtype=np.int64)
    if epsg.size and (epsg.min() < 0 or epsg.max() >= len(_MERIDIANS)):
        return None
    meridian = _MERIDIANS[epsg]
    return None if np.isnan(meridian).any() else meridian


def metric_xy(lon: np.ndarray, lat: np.ndarray, epsg, *, meridian: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of points (EPSG:4326) in the measuring CRS of each point's zone.

    ``epsg`` is one zone or one per point (or pass each point's zone ``meridian``,
    from ``zone_meridians``). The TM-3 zones differ only in their central meridian, and
    a Transverse Mercator depends on longitude only through λ - λ₀, so points of many
    zones are projected in one call: each longitude is shifted by its zone's meridian
    and projected with λ₀ = 0 (the same numbers, without grouping the points).
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if meridian is None:
        epsg = np.broadcast_to(np.asarray(epsg), lon.shape)
        meridian = zone_meridians(epsg) if len(lon) else np.zeros(0)
    if meridian is not None:
        return _tm_meridian_zero().transform(lon - meridian, lat)
    x, y = np.empty_like(lon), np.empty_like(lat)
    for code in np.unique(epsg):  # a zone outside the TM-3 table: one call per zone
        sel = epsg == code
        x[sel], y[sel] = metric_transformer(int(code)).transform(lon[sel], lat[sel])
    return x, y


@functools.cache
def _tm_meridian_zero() -> Transformer:
    return Transformer.from_crs(geo_crs.STORE_CRS, "+proj=tmerc +approx +lat_0=0 +lon_0=0 +k=0.9999 +x_0=500000 "
                                "+y_0=0 +ellps=WGS84 +units=m +no_defs +type=crs", always_xy=True)


def to_metric(geoms, epsg: int) -> np.ndarray:
    """Geometries in EPSG:4326 projected for measuring in zone ``epsg`` (see
    ``measuring_crs``), as a shapely array."""
    tr = metric_transformer(int(epsg))
    return shapely.transform(np.asarray(geoms, dtype=object),
                             lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def zones(epsg: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(zone, positions) for each TM-3 zone present in an array of zone codes."""
    epsg = np.asarray(epsg)
    for code in np.unique(epsg):
        yield int(code), np.flatnonzero(epsg == code)


def _ancestors(store: Store, on) -> tuple[dict[str, str], dict[str, int]]:
    """(unit code -> province code for districts and communes, province code -> zone)."""
    provinces = admin_units.units_table(store, "province", on=on, geometry=True)
    zone = {}
    for code, epsg, geom in zip(provinces["code"], provinces["tm3_epsg"], provinces.geometry):
        if pd.notna(epsg):
            zone[code] = int(epsg)
        else:
            lon = shapely.get_x(shapely.centroid(geom)) if geom is not None else 105.0
            zone[code] = geo_crs.tm3_zone_for_lon(lon)
    parent = {}
    for level in ("district", "commune"):
        df = admin_units.units_table(store, level, on=on)
        parent.update(zip(df["code"], df["parent_code"]))
    province_of = {}
    for code in parent:
        up, seen = code, 0
        while up is not None and up not in zone and seen < 4:
            up, seen = parent.get(up), seen + 1
        if up in zone:
            province_of[code] = up
    return province_of, zone


def load_units(store: Store, scope: str | None, year: int) -> UnitSet:
    """Communes (and their villages) of ``scope`` valid at the end of ``year``.

    Raises
    ------
    LookupError
        ``scope`` is not a unit of the store, or holds no commune valid that year.
    ValueError
        ``year`` is not an integer.
    """
    if isinstance(year, bool) or not isinstance(year, (int, np.integer)):
        raise ValueError(f"'year' must be an integer, got {year!r}")
    on = admin_units.year_end(int(year))
    codes = set(admin_units.units_in_scope(store, scope, "commune", on=on)["code"])
    if scope is not None and not codes:
        level = admin_units.unit_level_of(store, scope)
        what = "is not a unit of the store" if level is None else f"(a {level}) holds no commune valid in {year}"
        raise LookupError(f"'scope' {scope!r} {what}")
    where, params = admin_units.valid_on_sql(on)
    communes = store.read_features("communes", where, params, columns=["code", "parent_code", "name", "area_km2"])
    communes = communes[communes["code"].isin(codes)].reset_index(drop=True)
    villages = store.read_features("villages", where, params, columns=["code", "parent_code", "name", "population", "area_km2"])
    villages = villages[villages["parent_code"].isin(codes)].reset_index(drop=True)
    villages = villages.rename(columns={"parent_code": "commune"})
    province_of, zone = _ancestors(store, on)
    for frame, up in ((communes, communes["code"]), (villages, villages["commune"])):
        frame["province"] = up.map(province_of)
        epsg = frame["province"].map(zone)
        missing = epsg.isna().to_numpy()
        if missing.any():  # units outside any province: the zone nearest their longitude
            lon = shapely.get_x(shapely.centroid(frame.geometry.values[missing]))
            epsg[missing] = [geo_crs.tm3_zone_for_lon(x) for x in lon]
        frame["epsg"] = epsg.astype("int64")
    return UnitSet(scope=scope, year=int(year), communes=communes, villages=villages)

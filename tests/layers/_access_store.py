"""A hand-built store for distance tests, laid out in metres of VN-2000 TM-3 zone EPSG:9208.

Local coordinates (x, y) in metres are offset by (E0, N0) in the zone and stored in
EPSG:4326, so every expected distance below can be worked out by hand:

    y
    1500  S1 ●━━━━━━━━━━━━━━━━━━━━━━━━┓            (west road, y = 1500, x 0..3000)
                                       ┃ (north road, x = 3000)
       0  ━━━━━━━━━━━━━ S2 ━━━━ H1 ━━━━┻━━━━━━━━━━━━━━━━━━━━━━━━━━  main road y = 0, x 0..8000
     -50  V1 ■        ┃              (H1 at x = 4000, S2 at x = 2000)
    -1000 ~~~~~~~~~~~~┃~~~~~~ power line y = -1000, x -1000..9000 ~~~~~~~~~~~~~~~~~~~~~
                      ┗ south road x = 1500, y -1200..0 (its top end lies on the main road)
    -1500                                               V2 ■ (x 6000: 1500 m from any road)
    -1800                                                   ━━━━━━━━ isolated road x 7000..8500
    -1790                                                      V3 ■ (x 8000)

- V1: straight-line nearest school S1 (1550 m); by road S2: 50 + 2000 = 2050 m
  (S1 by road: 50 + 3000 + 1500 + 3000 = 7550 m). The power line: 950 m straight, and by
  road 50 + 1500 + 1000 = 2550 m (down the south road, which crosses it).
- V2: off the network (1500 m from the main road); straight to S2 √(4000² + 1500²).
- V3: on an isolated road (connector 10 m): unreachable.
- Communes: C1 = x -1000..4000, C2 = x 4000..9000 (y -2000..2000), province P01 (zone
  9208). A second province P02 (zone 9212) with one commune lies near 106.25° E, so a
  scope of the whole store spans zones.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from geo.text import slugify
from layers.store import Store

EPSG = 9208
E0, N0 = 500_000.0, 2_450_000.0
_TO_LONLAT = Transformer.from_crs(f"EPSG:{EPSG}", "EPSG:4326", always_xy=True)

V1, V2, V3 = (0.0, -50.0), (6000.0, -1500.0), (8000.0, -1790.0)
S1, S2, H1 = (0.0, 1500.0), (2000.0, 0.0), (4000.0, 0.0)
EXPECTED = {
    "V1": {"school_straight": 1550.0, "school_straight_is": "S1", "school_network": 2050.0,
           "school_network_is": "S2", "health_straight": math.hypot(4000, 50), "health_network": 4050.0,
           "power": 950.0, "power_network": 2550.0},
    "V2": {"school_straight": math.hypot(4000, 1500), "power": 500.0},
    "V3": {"school_straight": math.hypot(6000, 1790), "power": 790.0},
}


def lonlat(geom):
    """A local-metre geometry (or array) in EPSG:4326."""
    def func(xy):
        x, y = _TO_LONLAT.transform(xy[:, 0] + E0, xy[:, 1] + N0)
        return np.column_stack([x, y])
    return shapely.transform(geom, func)


def _square(x, y, half=10.0):
    return shapely.MultiPolygon([shapely.box(x - half, y - half, x + half, y + half)])


def _units(rows, geoms) -> gpd.GeoDataFrame:
    df = pd.DataFrame(rows)
    df["slug"] = df["name"].map(slugify)
    return gpd.GeoDataFrame(df, geometry=lonlat(np.asarray(geoms, dtype=object)), crs="EPSG:4326")


def build_access_store(path) -> Store:
    """Write the store described in the module docstring and return it."""
    store = Store(path, create=True)
    c1 = shapely.box(-1000, -2000, 4000, 2000)
    c2 = shapely.box(4000, -2000, 9000, 2000)
    province = _units([{"code": "P01", "name": "Tỉnh Thử", "unit_type": "tinh", "tm3_epsg": EPSG}],
                      [shapely.MultiPolygon([shapely.box(-1000, -2000, 9000, 2000)])])
    district = _units([{"code": "P01-01", "name": "Huyện Thử", "unit_type": "huyen", "parent_code": "P01"}],
                      [shapely.MultiPolygon([shapely.box(-1000, -2000, 9000, 2000)])])
    communes = _units([{"code": "C1", "name": "Xã Một", "unit_type": "xa", "parent_code": "P01-01"},
                       {"code": "C2", "name": "Xã Hai", "unit_type": "xa", "parent_code": "P01-01"}],
                      [shapely.MultiPolygon([c1]), shapely.MultiPolygon([c2])])
    villages = _units([{"code": f"C{1 if k == 0 else 2}-V{k + 1}", "name": f"Thôn {k + 1}", "unit_type": "thon",
                        "parent_code": "C1" if k == 0 else "C2", "population": 100 * (k + 1)}
                       for k in range(3)], [_square(*V1), _square(*V2), _square(*V3)])
    roads_local = [
        shapely.LineString([(0, 0), (2000, 0)]),
        shapely.LineString([(2000, 0), (3000, 0)]),
        shapely.LineString([(3000, 0), (4000, 0), (8000, 0)]),
        shapely.LineString([(3000, 0), (3000, 1500)]),
        shapely.LineString([(3000, 1500), (0, 1500)]),
        shapely.LineString([(7000, -1800), (8500, -1800)]),
        shapely.LineString([(1500, -1200), (1500, 0)]),  # south road, ends on the main road
    ]
    roads = gpd.GeoDataFrame({"road_class": ["huyen_lo"] * 5 + ["duong_thon", "duong_xa"],
                              "surface": ["asphalt"] * 5 + ["earth", "concrete"], "hardened": [True] * 5 + [False, True]},
                             geometry=lonlat(np.asarray(roads_local, dtype=object)), crs="EPSG:4326")
    schools = gpd.GeoDataFrame({"name": ["S1", "S2"], "school_level": ["tieu_hoc", "thcs"]},
                               geometry=lonlat(shapely.points([S1, S2])), crs="EPSG:4326")
    health = gpd.GeoDataFrame({"name": ["H1"]}, geometry=lonlat(shapely.points([H1])), crs="EPSG:4326")
    power = gpd.GeoDataFrame({"name": ["L1"], "voltage_kv": [22.0]},
                             geometry=[lonlat(shapely.LineString([(-1000, -1000), (9000, -1000)]))], crs="EPSG:4326")
    # a second province in another TM-3 zone (EPSG:9212, 106.25° E), one commune, no roads
    east = shapely.MultiPolygon([shapely.box(106.20, 21.10, 106.30, 21.20)])
    p2 = gpd.GeoDataFrame([{"code": "P02", "name": "Tỉnh Đông", "slug": "tinh-dong", "unit_type": "tinh",
                            "tm3_epsg": 9212}], geometry=[east], crs="EPSG:4326")
    c3 = gpd.GeoDataFrame([{"code": "C3", "name": "Xã Ba", "slug": "xa-ba", "unit_type": "xa", "parent_code": "P02"}],
                          geometry=[east], crs="EPSG:4326")
    with store.transaction() as conn:
        store.insert_features(conn, "provinces", pd.concat([province, p2], ignore_index=True))
        store.insert_features(conn, "districts", district)
        store.insert_features(conn, "communes", pd.concat([communes, c3], ignore_index=True))
        store.insert_features(conn, "villages", villages)
        store.insert_features(conn, "roads", roads)
        store.insert_features(conn, "schools", schools)
        store.insert_features(conn, "health_stations", health)
        store.insert_features(conn, "power_lines", power)
    return store

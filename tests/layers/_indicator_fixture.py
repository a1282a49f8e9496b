"""A tiny store whose indicators can be worked out by hand.

Everything is laid out in VN-2000 / TM-3 zone 104°45' (EPSG:9208) metres and stored in
EPSG:4326. Two 2 km × 2 km communes side by side:

    y 2 452 000 ┌──────────┬──────────┐
                │ A1  │ A2 │    B1    │   A = A1 + A2 (x 500–502 km), B = B1 (502–504 km)
    y 2 450 000 └──────────┴──────────┘
               500 000   502 000   504 000

Roads: r1 huyen_lo asphalt (hardened) y=2 451 000 from x 500 500 to 503 500: 1.5 km in A
(0.5 in A1, 1.0 in A2), 1.5 km in B; r2 duong_thon earth 1.0 km inside A1; r3 duong_thon
concrete 0.6 km inside B1 (hardened by its surface); r4 outside both communes.
Power: p1 22 kV y=2 451 600 from x 501 100 to 503 900 (0.9 km in A, 1.9 in B); p2 35 kV
y=2 450 100 from x 500 100 to 500 900 (0.8 km in A1).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.transform import Affine

from layers.demo import raster_dir_for
from layers.store import Store

EPSG = 9208
Y0 = 2_450_000.0


def _gdf(rows, geoms):
    return gpd.GeoDataFrame(rows, geometry=list(geoms), crs=f"EPSG:{EPSG}").to_crs("EPSG:4326")


def _unit(code, name, unit_type, parent, **extra):
    return {"code": code, "name": name, "slug": name.lower().replace(" ", "-"), "unit_type": unit_type,
            "parent_code": parent, **extra}


def box(x0, x1, y0=Y0, y1=Y0 + 2000):
    return shapely.box(x0, y0, x1, y1)


def line(*xy):
    return shapely.LineString(xy)


def build(path) -> Store:
    store = Store(path, create=True)
    province = box(499_000, 505_000, Y0 - 1000, Y0 + 3000)
    with store.transaction() as conn:
        store.insert_features(conn, "provinces", _gdf([_unit("P01", "Thử", "tinh", None, tm3_epsg=EPSG)],
                                                      [shapely.MultiPolygon([province])]))
        store.insert_features(conn, "districts", _gdf([_unit("P01-01", "Huyện Thử", "huyen", "P01")],
                                                      [shapely.MultiPolygon([province])]))
        store.insert_features(conn, "communes", _gdf(
            [_unit("A", "Xã A", "xa", "P01-01", area_km2=4.0), _unit("B", "Xã B", "xa", "P01-01", area_km2=4.0)],
            [shapely.MultiPolygon([box(500_000, 502_000)]), shapely.MultiPolygon([box(502_000, 504_000)])]))
        store.insert_features(conn, "villages", _gdf(
            [_unit("A1", "Thôn A1", "thon", "A", population=100), _unit("A2", "Thôn A2", "thon", "A", population=300),
             _unit("B1", "Thôn B1", "thon", "B", population=200)],
            [shapely.MultiPolygon([box(500_000, 501_000)]), shapely.MultiPolygon([box(501_000, 502_000)]),
             shapely.MultiPolygon([box(502_000, 504_000)])]))
        store.insert_features(conn, "roads", _gdf(
            [{"road_class": "huyen_lo", "surface": "asphalt", "hardened": True},
             {"road_class": "duong_thon", "surface": "earth", "hardened": None},
             {"road_class": "duong_thon", "surface": "concrete", "hardened": None},
             {"road_class": "duong_xa", "surface": "asphalt", "hardened": True}],
            [line((500_500, Y0 + 1000), (503_500, Y0 + 1000)), line((500_200, Y0 + 500), (500_200, Y0 + 1500)),
             line((502_500, Y0 + 200), (502_500, Y0 + 800)), line((506_000, Y0), (506_000, Y0 + 2000))]))
        store.insert_features(conn, "power_lines", _gdf(
            [{"voltage_kv": 22.0}, {"voltage_kv": 35.0}],
            [line((501_100, Y0 + 1600), (503_900, Y0 + 1600)), line((500_100, Y0 + 100), (500_900, Y0 + 100))]))
        store.insert_features(conn, "schools", _gdf(
            [{"school_level": "mam_non", "meets_standard": True, "satellite": False},
             {"school_level": "tieu_hoc", "meets_standard": False, "satellite": False},
             {"school_level": "mam_non", "meets_standard": None, "satellite": True},
             {"school_level": "thcs", "meets_standard": True, "satellite": False}],
            [shapely.Point(500_300, Y0 + 300), shapely.Point(501_500, Y0 + 1500), shapely.Point(500_700, Y0 + 1700),
             shapely.Point(503_000, Y0 + 1000)]))
        # on the A|B border: counted once
        store.insert_features(conn, "health_stations", _gdf([{"meets_standard": True}],
                                                            [shapely.Point(502_000, Y0 + 1000)]))
        store.insert_features(conn, "markets", _gdf([{"market_class": "hang_3", "meets_standard": False}],
                                                    [shapely.Point(503_500, Y0 + 1500)]))
        store.insert_features(conn, "culture_houses", _gdf(
            [{"scope": "commune", "meets_standard": True}, {"scope": "village", "meets_standard": False},
             {"scope": "village", "meets_standard": True}],
            [shapely.Point(501_200, Y0 + 200), shapely.Point(500_400, Y0 + 1800), shapely.Point(503_800, Y0 + 1800)]))
    return store


# Rasters: 5 × 2 cells of 1 km, shifted half a cell west of the communes, so every
# boundary at x = 500, 501 … 504 km cuts cells in half.
RASTER_TRANSFORM = Affine(1000.0, 0.0, 499_500.0, 0.0, -1000.0, Y0 + 2000)
ELEVATION = np.array([[10, 20, 30, 40, 50], [60, 70, 80, 90, 100]], dtype="float32")
POPULATION = np.array([[0, 100, 0, 0, 0], [0, 0, 0, 0, 40]], dtype="float32")


def write_rasters(store: Store, elevation=ELEVATION, population=POPULATION, transform=RASTER_TRANSFORM) -> None:
    folder = raster_dir_for(store.path)
    folder.mkdir(exist_ok=True)
    rows = []
    for kind, array in (("dem", elevation), ("population", population)):
        with rasterio.open(folder / f"{kind}.tif", "w", driver="GTiff", height=array.shape[0],
                           width=array.shape[1], count=1, dtype="float32", crs=f"EPSG:{EPSG}",
                           transform=transform) as dst:
            dst.write(array, 1)
        rows.append({"name": kind, "path": f"{folder.name}/{kind}.tif", "kind": kind, "units": ""})
    with store.transaction() as conn:
        store.insert_rows(conn, "rasters", rows)

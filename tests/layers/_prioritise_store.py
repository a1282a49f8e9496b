"""A hand-solvable budget problem in a store (tests of layers.prioritise and the API/CLI).

Province PRV, district DST, QĐ 318 status of 2025. Costs from ``tiny_cost_model`` (the
shipped model with round unit costs):

=====  ==========  ======  ========================================  ==========
code   name        people  unmet criteria                             cost
=====  ==========  ======  ========================================  ==========
X-01   An Phú       9000   1 (planning package)                       6 tỷ
X-02   Bình Minh    1000   3 (irrigation package)                     5 tỷ
X-03   Cát Tiên     1000   8 (ICT package)                            5 tỷ
X-04   Đồng Tâm     2000   10 (income: not closable), 2 (roads)       1.1072 km × 3.5 tỷ
X-05   Eo Gió       3000   none: already at the standard              0
W-06   Phường Một   500    1 (a ward: not planned)
=====  ==========  ======  ========================================  ==========

Budget 10 tỷ, communes ranked by population (weights {"population": 1}): the greedy
ranking funds X-01 (6 tỷ) first, then nothing else of a whole commune fits (4 tỷ left;
it spends 3.87 tỷ of it on X-04's road): 1 commune. The optimum funds X-02 and X-03:
2 communes for exactly 10 tỷ. The next step: 6 tỷ more brings X-01 too (16 tỷ).
X-04's road is an earth commune road from 22.00°N to 22.01°N along 104.065°E: 0.01° of
latitude, 1.1072 km (WGS 84 meridian arc at 22°N; 3.875 tỷ).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, MultiPolygon, box

from geo.text import slugify
from layers.cost_model import COST_MODEL_PATH, cost_model_from_dict
from layers.store import Store

SET = "qd318-2022-xa-ntm"
UNMET = {"X-01": [1], "X-02": [3], "X-03": [8], "X-04": [2, 10], "X-05": [], "W-06": [1]}
PEOPLE = {"X-01": 9000, "X-02": 1000, "X-03": 1000, "X-04": 2000, "X-05": 3000, "W-06": 500}
NAMES = {"X-01": "An Phú", "X-02": "Bình Minh", "X-03": "Cát Tiên", "X-04": "Đồng Tâm", "X-05": "Eo Gió",
         "W-06": "Một"}
ROAD_KM = 1.1072


def tiny_cost_model():
    """The shipped model with round costs: planning 6 tỷ, irrigation 5 tỷ, ICT 5 tỷ."""
    import yaml

    data = yaml.safe_load(COST_MODEL_PATH.read_text(encoding="utf-8"))
    data["version"] = "test-1"
    data["components"]["planning_package"]["unit_cost_vnd"] = 6e9
    data["components"]["irrigation_package"]["unit_cost_vnd"] = 5e9
    data["components"]["ict_package"]["unit_cost_vnd"] = 5e9
    return cost_model_from_dict(data, source="tiny")


def _box(k: int):
    return box(104.0 + 0.02 * k, 22.0, 104.0 + 0.02 * k + 0.015, 22.015)


def build_prioritise_store(path: Path) -> Path:
    s = Store(path, create=True)

    def add(table, rows, geoms):
        df = pd.DataFrame(rows)
        if "slug" not in df and "name" in df and table in ("provinces", "districts", "communes", "villages"):
            df["slug"] = df["name"].map(slugify)
        with s.transaction() as conn:
            s.insert_features(conn, table, gpd.GeoDataFrame(df, geometry=geoms, crs="EPSG:4326"))

    add("provinces", [{"code": "PRV", "name": "Thử", "full_name": "Tỉnh Thử", "unit_type": "tinh", "tm3_epsg": 9208}],
        [MultiPolygon([box(103.9, 21.9, 104.2, 22.1)])])
    add("districts", [{"code": "DST", "name": "Thử", "full_name": "Huyện Thử", "unit_type": "huyen",
                       "parent_code": "PRV"}], [MultiPolygon([box(103.9, 21.9, 104.2, 22.1)])])
    codes = list(UNMET)
    add("communes", [{"code": c, "name": NAMES[c], "full_name": ("Phường " if c.startswith("W") else "Xã ") + NAMES[c],
                      "unit_type": "phuong" if c.startswith("W") else "xa", "parent_code": "DST",
                      "extremely_difficult": c == "X-04"} for c in codes],
        [MultiPolygon([_box(k)]) for k in range(len(codes))])
    add("villages", [{"code": f"{c}-V", "name": f"Thôn {NAMES[c]}", "unit_type": "thon", "parent_code": c,
                      "population": PEOPLE[c], "households": PEOPLE[c] // 5, "households_grid": PEOPLE[c] // 5,
                      "temporary_houses": 0} for c in codes],
        [MultiPolygon([_box(k).buffer(-0.001)]) for k in range(len(codes))])
    add("roads", [{"name": "Đường trục xã Đồng Tâm", "road_class": "duong_xa", "surface": "earth",
                   "hardened": False, "commune_code": "X-04"}],
        [LineString([(104.065, 22.0), (104.065, 22.01)])])
    rows = [(c, 2025, n, n not in UNMET[c], SET) for c in codes for n in range(1, 20)]
    status = pd.DataFrame(rows, columns=["unit_code", "year", "criterion", "met", "set_id"])
    status["recorded_at"] = "2025-12-15T08:00:00.000Z"
    with s.transaction() as conn:
        s.insert_rows(conn, "status_records", status)
    return path

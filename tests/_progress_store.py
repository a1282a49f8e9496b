"""A hand-checkable store for the progress report (Si Ma Cai plan 2024, seed 002).

District SMC: thị trấn Si Ma Cai (SMC-00, not an NTM commune, all criteria met on
purpose) and 9 xã. Criteria met (QĐ 318, 19 criteria), xã only:

====  ======  ======  ======
xã    2022    2023    2024
====  ======  ======  ======
01-03  19      19      19     recognised đạt chuẩn 2019, 2020, 2021
04     19      19      18     recognised 2021; fails 17 (Môi trường và ATTP) in 2024: at risk
05     11      14      19     recognised đạt chuẩn 2024
06     10      12      15
07      8      11      13
08      9      12      15
09      8      11      13
total 122     136     150     -> averages 13.56, 15.11, 16.67
====  ======  ======  ======

Unmet in 2024: criterion 13 in 4 xã (06–09); 2, 6, 10, 11 in 3; 5 and 17 in 2; 14 in 1.
Villages (thôn of xã): 6, of which 4 recognised (1 kiểu mẫu); 4 in extremely difficult xã
(05–09), 2 recognised (0.5). A tổ dân phố of the thị trấn is left out.
District BTH (another district of the province LCA): one xã, 19 criteria every year.
QĐ 51 (10 criteria) in 2026 for the 9 SMC xã: 10, 10, 9, 8, 8, 7, 7, 6, 5 -> 4 below 8.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import MultiPolygon, box

from geo.text import slugify
from layers.store import Store

SET = "qd318-2022-xa-ntm"
SET_51 = "qd51-2025-xa-ntm"
XA = {"SMC-01": "Sín Chéng", "SMC-02": "Bản Mế", "SMC-03": "Nàn Sán", "SMC-04": "Cán Cấu",
      "SMC-05": "Sán Chải", "SMC-06": "Quan Hồ Thẩn", "SMC-07": "Thào Chư Phìn",
      "SMC-08": "Lùng Thẩn", "SMC-09": "Nàn Sín"}
UNMET_2023 = {"SMC-05": [10, 11, 12, 17, 18], "SMC-06": [8, 19, 2, 5, 6, 13, 14],
              "SMC-07": [15, 17, 2, 5, 6, 10, 11, 13], "SMC-08": [15, 5, 17, 2, 10, 11, 13],
              "SMC-09": [5, 8, 2, 6, 10, 11, 13, 17]}
EXTRA_2022 = {"SMC-05": [2, 5, 6], "SMC-06": [10, 11], "SMC-07": [8, 9, 12], "SMC-08": [6, 8, 9],
              "SMC-09": [9, 12, 14]}
GAINED_2024 = {"SMC-05": [10, 11, 12, 17, 18], "SMC-06": [8, 19, 2], "SMC-07": [15, 17],
               "SMC-08": [15, 5, 17], "SMC-09": [5, 8]}
LOST_2024 = {"SMC-04": [17]}
MET_2026 = dict(zip(XA, [10, 10, 9, 8, 8, 7, 7, 6, 5]))


def unmet(code: str, year: int) -> set[int]:
    base = set(UNMET_2023.get(code, []))
    if year == 2022:
        return base | set(EXTRA_2022.get(code, []))
    if year == 2024:
        return (base - set(GAINED_2024.get(code, []))) | set(LOST_2024.get(code, []))
    return base


def _add(store: Store, table: str, rows: list[dict]) -> None:
    df = pd.DataFrame(rows)
    df["slug"] = df["name"].map(slugify)
    geoms = [MultiPolygon([box(103.0 + 0.02 * k, 22.0, 103.01 + 0.02 * k, 22.01)]) for k in range(len(df))]
    with store.transaction() as conn:
        store.insert_features(conn, table, gpd.GeoDataFrame(df, geometry=geoms, crs="EPSG:4326"))


def build_progress_store(path: Path) -> Path:
    """Write the store described above to ``path``."""
    s = Store(path, create=True)
    _add(s, "provinces", [{"code": "LCA", "name": "Lào Cai", "full_name": "Tỉnh Lào Cai", "unit_type": "tinh"}])
    _add(s, "districts", [
        {"code": "SMC", "name": "Si Ma Cai", "full_name": "Huyện Si Ma Cai", "unit_type": "huyen",
         "parent_code": "LCA"},
        {"code": "BTH", "name": "Bảo Thắng", "full_name": "Huyện Bảo Thắng", "unit_type": "huyen",
         "parent_code": "LCA"}])
    communes = [{"code": "SMC-00", "name": "Si Ma Cai", "unit_type": "thi_tran", "parent_code": "SMC",
                 "extremely_difficult": False}]
    communes += [{"code": c, "name": n, "unit_type": "xa", "parent_code": "SMC",
                  "extremely_difficult": c >= "SMC-05"} for c, n in XA.items()]
    communes += [{"code": "BTH-01", "name": "Sơn Hà", "unit_type": "xa", "parent_code": "BTH",
                  "extremely_difficult": False}]
    _add(s, "communes", communes)
    villages = [("V-CCS", "Cán Chư Sừ", "SMC-04", "thon"), ("V-MSC", "Mào Sao Chải", "SMC-01", "thon"),
                ("V-NB", "Ngã Ba", "SMC-06", "thon"), ("V-LC", "Lao Chải", "SMC-05", "thon"),
                ("V-X1", "Sín Chải", "SMC-07", "thon"), ("V-X2", "Lử Chồ", "SMC-09", "ban"),
                ("V-TT", "Tổ dân phố 1", "SMC-00", "to_dan_pho")]
    _add(s, "villages", [{"code": c, "name": n, "unit_type": u, "parent_code": p} for c, n, p, u in villages])
    rows = []
    for year in (2022, 2023, 2024):
        for code in XA:
            miss = unmet(code, year)
            rows += [(code, year, n, n not in miss, SET) for n in range(1, 20)]
        rows += [(c, year, n, True, SET) for c in ("SMC-00", "BTH-01") for n in range(1, 20)]
    for code, k in MET_2026.items():
        rows += [(code, 2026, n, n <= k, SET_51) for n in range(1, 11)]
    status = pd.DataFrame(rows, columns=["unit_code", "year", "criterion", "met", "set_id"])
    status["recorded_at"] = status["year"].map(lambda y: f"{y}-12-15T08:00:00.000Z")
    recs = [("SMC-01", "commune", "dat_chuan", 2019), ("SMC-02", "commune", "dat_chuan", 2020),
            ("SMC-03", "commune", "dat_chuan", 2021), ("SMC-04", "commune", "dat_chuan", 2021),
            ("SMC-05", "commune", "dat_chuan", 2024), ("BTH-01", "commune", "nang_cao", 2021),
            ("V-CCS", "village", "kieu_mau", 2022), ("V-MSC", "village", "dat_chuan", 2023),
            ("V-NB", "village", "dat_chuan", 2024), ("V-LC", "village", "dat_chuan", 2024)]
    recs = pd.DataFrame(recs, columns=["unit_code", "unit_level", "level", "year"]).assign(
        recorded_at="2025-01-01T00:00:00.000Z")
    targets = [("SMC", "total_criteria", 2024, None, 150), ("SMC", "avg_criteria_per_commune", 2024, None, 16.67),
               ("SMC", "communes_dat_chuan", 2025, None, 7), ("SMC", "avg_criteria_per_commune", 2025, None, 17.3),
               ("SMC", "min_criteria_per_commune", 2025, None, 15),
               ("SMC", "share_villages_dat_chuan_edk", 2025, None, 0.6),
               ("SMC", "villages_dat_chuan", 2025, 2023, 2)]
    targets = pd.DataFrame(targets, columns=["scope_code", "metric", "target_year", "baseline_year", "value"]).assign(
        each_child=False, source_document="KH /KH-UBND huyện Si Ma Cai (thử nghiệm)",
        recorded_at="2024-01-20T00:00:00.000Z")
    targets["baseline_year"] = targets["baseline_year"].astype("Int64")
    with s.transaction() as conn:
        s.insert_rows(conn, "status_records", status)
        s.insert_rows(conn, "recognitions", recs)
        s.insert_rows(conn, "targets", targets)
    return path

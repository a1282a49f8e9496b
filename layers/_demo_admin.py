"""Administrative units of the synthetic demo: codes, names, types and attributes.

Codes are deliberately not GSO-like ("D01", "D01-03", "D01-03-005", "D01-03-005-07") so
demo data can never be mistaken for, or collide with, real units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from geo.text import slugify

from ._demo_geometry import Tessellation
from ._demo_names import NameMaker, village_prefix

__all__ = ["Admin", "Merger", "admin_units", "village_attributes", "plan_merger", "PREFIX"]

PREFIX = {
    "tinh": "Tỉnh", "huyen": "Huyện", "thanh_pho": "Thành phố", "xa": "Xã", "phuong": "Phường",
    "thi_tran": "Thị trấn", "thon": "Thôn", "ban": "Bản", "to_dan_pho": "Tổ dân phố",
}
MERGER_DATE = "2025-01-01"
MERGER_ACT = "NQ 1234/NQ-UBTVQH15 (dữ liệu mẫu)"


@dataclass
class Admin:
    """Unit tables of one province, indexed like the tessellation (helper columns start with '_')."""

    province: pd.DataFrame
    districts: pd.DataFrame
    communes: pd.DataFrame
    villages: pd.DataFrame


@dataclass
class Merger:
    """Two adjacent xã merged into a new one on MERGER_DATE."""

    parts: tuple[int, int]  # commune indices
    code: str
    name: str
    village_codes: np.ndarray  # new code of each village of the parts, in village order
    villages: np.ndarray  # village indices of the parts


def _named(df: pd.DataFrame) -> pd.DataFrame:
    df["full_name"] = [f"{PREFIX[t]} {n}" for t, n in zip(df["unit_type"], df["name"])]
    df["slug"] = [slugify(n) for n in df["name"]]
    return df


def admin_units(tess: Tessellation, rng, *, code: str, name: str, region: str) -> Admin:
    """Codes, names, types, remoteness and the extremely-difficult flag of every unit."""
    n_d = len(tess.district_geom)
    kind = tess.commune_kind
    district = tess.commune_district
    centre = tess.commune_centre
    town_xy = centre[tess.town_commune[district]]
    city_xy = centre[tess.city_commune]
    d_city = np.hypot(*(centre - city_xy).T)
    remote = (0.5 * np.hypot(*(centre - town_xy).T) / tess.spacing + d_city / max(d_city.max(), 1.0)
              + rng.normal(0, 0.25, len(kind)))
    remote[kind != "xa"] = 0.0
    # districts
    names = NameMaker(rng, {name})
    d_names = [name] + [names.draw(rng.choice(["valley", "highland", "kinh"], p=[0.45, 0.4, 0.15])) for _ in range(1, n_d)]
    districts = _named(pd.DataFrame({
        "code": [f"{code}-{k + 1:02d}" for k in range(n_d)],
        "name": d_names,
        "unit_type": ["thanh_pho"] + ["huyen"] * (n_d - 1),
        "parent_code": code,
        "area_km2": shapely.area(tess.district_geom) / 1e6,
    }))
    d_codes = districts["code"].to_numpy()
    # communes: numbered within each district in tessellation order (town first)
    number = np.zeros(len(kind), dtype=int)
    c_names = np.empty(len(kind), dtype=object)
    rank = np.argsort(np.argsort(remote))
    for k in range(n_d):
        members = np.flatnonzero(district == k)
        number[members] = np.arange(1, len(members) + 1)
        maker = NameMaker(rng, {d_names[k]})
        for i in members:
            if kind[i] == "thi_tran":
                c_names[i] = d_names[k]
                continue
            if kind[i] == "phuong" or k == 0:
                style = "kinh" if kind[i] == "phuong" or rng.random() < 0.5 else "valley"
            else:
                style = "highland" if rank[i] > 0.55 * len(kind) else rng.choice(["valley", "highland", "kinh"], p=[0.55, 0.3, 0.15])
            c_names[i] = maker.draw(style)
    xa = kind == "xa"
    ed = np.zeros(len(kind), dtype=bool)
    rural_xa = np.flatnonzero(xa & (district > 0))
    n_ed = round(0.3 * xa.sum())
    ed[rural_xa[np.argsort(-(remote[rural_xa] + rng.normal(0, 0.3, len(rural_xa))))[:n_ed]]] = True
    propensity = -remote + np.where(district == 0, 1.0, 0.0)
    near_town = np.zeros(len(kind), dtype=bool)
    for a, b in tess.commune_adjacency:
        near_town[a] |= kind[b] != "xa"
        near_town[b] |= kind[a] != "xa"
    # QĐ 51 groups: 1 next to towns (the city's xã, the best-off xã beside a town), 3 the
    # remote mountain xã (all extremely difficult ones), 2 the rest
    pct = np.argsort(np.argsort(np.where(xa, propensity, -np.inf))) - (~xa).sum()
    pct = pct / max(xa.sum() - 1, 1)
    group = np.where(xa & ((district == 0) | (near_town & (pct >= 0.9))), 1,
                     np.where(ed | (pct < 0.55), 3, 2)).astype(float)
    group[~xa] = np.nan
    communes = _named(pd.DataFrame({
        "code": [f"{d_codes[d]}-{n:03d}" for d, n in zip(district, number)],
        "name": c_names,
        "unit_type": kind,
        "parent_code": districts["code"].to_numpy()[district],
        "area_km2": shapely.area(tess.commune_geom) / 1e6,
        "commune_group": pd.array(group, dtype="Int64"),
        "extremely_difficult": ed,
        "_district": district,
        "_remote": remote,
        "_propensity": propensity,
    }))
    # villages
    vc = tess.village_commune
    v_number = np.zeros(len(vc), dtype=int)
    v_names = np.empty(len(vc), dtype=object)
    v_type = np.empty(len(vc), dtype=object)
    v_dist = np.hypot(*(tess.village_centre - centre[vc]).T)
    for i in range(len(kind)):
        members = np.flatnonzero(vc == i)
        members = members[np.argsort(v_dist[members], kind="stable")]
        v_number[members] = np.arange(1, len(members) + 1)
        maker = NameMaker(rng)
        for j, v in enumerate(members):
            urban = kind[i] == "phuong" or (kind[i] == "thi_tran" and j < 0.6 * len(members))
            if urban:
                v_names[v], v_type[v] = maker.draw("kinh", three=0.0), "to_dan_pho"
            else:
                highland = rank[i] > 0.5 * len(kind) if kind[i] == "xa" else False
                style = "highland" if highland and rng.random() < 0.7 else rng.choice(["valley", "highland", "kinh"], p=[0.5, 0.3, 0.2])
                v_names[v] = maker.draw(style)
                v_type[v] = village_prefix(v_names[v])
    far = v_dist > np.quantile(v_dist, 0.8)
    c_codes = communes["code"].to_numpy()
    villages = _named(pd.DataFrame({
        "code": [f"{c_codes[c]}-{n:02d}" for c, n in zip(vc, v_number)],
        "name": v_names,
        "unit_type": v_type,
        "parent_code": communes["code"].to_numpy()[vc],
        "area_km2": shapely.area(tess.village_geom) / 1e6,
        "extremely_difficult": ed[vc] | (xa[vc] & far & (rng.random(len(vc)) < 0.35)),
        "_commune": vc,
    }))
    province = _named(pd.DataFrame({
        "code": [code], "name": [name], "unit_type": ["tinh"], "parent_code": [None],
        "area_km2": [shapely.area(tess.province_geom) / 1e6],
    }))
    for df in (province, districts, communes, villages):
        df["region"] = region
        df["threshold_region"] = region
        df["valid_from"] = None
        df["valid_to"] = None
        df["source"] = "demo"
    communes.loc[communes["extremely_difficult"], "threshold_region"] = "tdmnpb"
    villages.loc[villages["extremely_difficult"], "threshold_region"] = "tdmnpb"
    return Admin(province, districts, communes, villages)


def village_attributes(admin: Admin, tess: Tessellation, end_2025: np.ndarray, rng) -> None:
    """Households, population, grid, poverty and housing of each village (in place).

    ``end_2025`` is (n_communes, 19) year-end status (all True for wards and towns), so
    a commune failing electricity (4) has villages off the grid, one failing poverty
    (11) has many poor households, one failing housing (9) temporary houses.
    """
    v = admin.villages
    c = v["_commune"].to_numpy()
    n = len(v)
    remote = admin.communes["_remote"].to_numpy()[c]
    urban = (v["unit_type"] == "to_dan_pho").to_numpy()
    hh = np.where(urban, rng.uniform(120, 250, n), np.exp(rng.normal(np.log(105) - 0.12 * remote, 0.4)))
    hh = np.clip(np.round(hh), 40, 250).astype(int)
    pop = np.round(hh * rng.uniform(4.3, 5.2, n)).astype(int)
    grid = np.round(hh * np.where(rng.random(n) < 0.8, 1.0, rng.uniform(0.95, 1.0, n))).astype(int)
    vdist = np.hypot(*(tess.village_centre - tess.commune_centre[c]).T)
    for i in np.flatnonzero(~end_2025[:, 3]):  # criterion 4 not met: remote villages lack grid
        members = np.flatnonzero(c == i)
        members = members[np.argsort(-vdist[members])][: int(rng.integers(1, 4))]
        share = np.where(rng.random(len(members)) < 0.4, 0.0, rng.uniform(0.2, 0.8, len(members)))
        grid[members] = np.round(hh[members] * share).astype(int)
    poor11 = end_2025[c, 10]
    ed = v["extremely_difficult"].to_numpy()
    poor_rate = np.where(poor11, rng.uniform(0.02, 0.12, n), rng.uniform(0.15, 0.45, n)) * np.where(ed, 1.3, 1.0)
    poor_rate = np.where(urban, rng.uniform(0.0, 0.03, n), poor_rate)
    temp_rate = np.where(end_2025[c, 8], rng.uniform(0.0, 0.02, n), rng.uniform(0.03, 0.15, n))
    v["households"] = hh
    v["population"] = pop
    v["households_grid"] = grid
    v["poor_households"] = np.round(hh * np.minimum(poor_rate, 0.7)).astype(int)
    v["temporary_houses"] = np.round(hh * np.where(urban, 0.0, temp_rate)).astype(int)


def plan_merger(admin: Admin, tess: Tessellation, recognised_year: np.ndarray, rng,
                avoid: np.ndarray | None = None) -> Merger | None:
    """Pick two small adjacent xã of one rural district to merge (prefer two recognised).

    ``recognised_year`` is per commune (0: not recognised by 2024); communes flagged in
    ``avoid`` (the at-risk ones, whose slip should stay visible) are left out if possible.
    """
    com = admin.communes
    kind, district = tess.commune_kind, tess.commune_district
    a, b = tess.commune_adjacency.T
    ok = (kind[a] == "xa") & (kind[b] == "xa") & (district[a] == district[b])
    if not ok.any():
        return None
    if (ok & (district[a] > 0)).any():  # rural districts first; the city's xã only if need be
        ok &= district[a] > 0
    a, b = a[ok], b[ok]
    area = com["area_km2"].to_numpy()
    both = (recognised_year[a] > 0) & (recognised_year[b] > 0)
    risky = np.zeros(len(a), dtype=bool) if avoid is None else avoid[a] | avoid[b]
    order = np.lexsort((area[a] + area[b], ~both, risky))
    i, j = int(a[order[0]]), int(b[order[0]])
    if area[j] > area[i]:
        i, j = j, i
    d = district[i]
    members = com.index[com["_district"] == d]
    taken = set(com.loc[members, "name"]) | {admin.districts["name"][d]}
    name = NameMaker(rng, taken).merged(com["name"][i], com["name"][j])
    code = f"{admin.districts['code'][d]}-{len(members) + 1:03d}"
    villages = np.flatnonzero(np.isin(admin.villages["_commune"].to_numpy(), [i, j]))
    villages = villages[np.argsort(admin.villages["_commune"].to_numpy()[villages] != i, kind="stable")]
    new_codes = np.array([f"{code}-{k + 1:02d}" for k in range(len(villages))])
    return Merger((i, j), code, name, new_codes, villages)

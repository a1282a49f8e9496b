"""Public facilities and investment projects of the synthetic demo province.

Facilities stand near commune and village centres; whether they meet the standard
follows the commune's 2025 status of the criterion they serve (schools 5, culture
houses 6, markets 7, health stations 15), so maps and criteria tell the same story.
Projects are the investments behind the gains: a criterion gained in a year has a
finished project that year, an unmet one a project under way or planned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from ._demo_geometry import Tessellation

__all__ = ["facilities", "projects", "FUNDING"]

_LOWER_PREFIX = {"thon": "thôn", "ban": "bản", "to_dan_pho": "tổ dân phố"}
_UNIT_WORD = {"xa": "xã", "phuong": "phường", "thi_tran": "thị trấn"}
# funding split by kind of work, so totals look like the Si Ma Cai seed: integrated
# programmes largest, then organisations/businesses and the community, then the
# central budget (investment, recurrent) and the local budget.
FUNDING = {
    "road": {"integrated": 0.55, "community": 0.18, "organisations": 0.07, "central_investment": 0.12, "local_budget": 0.08},
    "repair": {"central_recurrent": 0.7, "local_budget": 0.2, "community": 0.1},
    "school": {"integrated": 0.55, "central_investment": 0.3, "local_budget": 0.1, "organisations": 0.05},
    "culture": {"integrated": 0.45, "community": 0.3, "organisations": 0.15, "central_recurrent": 0.1},
    "health": {"integrated": 0.6, "central_investment": 0.25, "local_budget": 0.15},
    "market": {"organisations": 0.5, "integrated": 0.35, "local_budget": 0.15},
    "power": {"organisations": 0.55, "integrated": 0.35, "central_investment": 0.1},
}


def _near(centre: np.ndarray, geoms, rng, lo: float, hi: float) -> np.ndarray:
    """Points lo..hi metres from ``centre`` that stay inside ``geoms`` (else closer in)."""
    ang = rng.uniform(0, 2 * np.pi, len(centre))
    r = rng.uniform(lo, hi, len(centre))
    xy = centre + r[:, None] * np.column_stack([np.cos(ang), np.sin(ang)])
    for _ in range(3):
        out = ~shapely.contains_xy(geoms, xy[:, 0], xy[:, 1])
        if not out.any():
            break
        xy[out] = (xy[out] + centre[out]) / 2
    out = ~shapely.contains_xy(geoms, xy[:, 0], xy[:, 1])
    xy[out] = centre[out]
    return xy


@dataclass
class _Communes:
    """Today's communes (a merged commune once) as the facility builders need them."""

    centre: np.ndarray
    geom: np.ndarray
    kind: np.ndarray
    name: np.ndarray
    code: np.ndarray
    ed: np.ndarray
    met: np.ndarray  # (n, 19) status at the end of 2025
    pop: np.ndarray
    n_villages: np.ndarray

    @property
    def label(self) -> list[str]:
        return [f"{_UNIT_WORD[k]} {nm}" for k, nm in zip(self.kind, self.name)]

    def meets(self, rng, criterion: int, p_met: float = 0.92, p_not: float = 0.3) -> np.ndarray:
        """Whether a facility meets the standard: likely where its criterion is met."""
        return rng.random(len(self.code)) < np.where(self.met[:, criterion - 1], p_met, p_not)


def facilities(tess: Tessellation, communes: pd.DataFrame, villages: pd.DataFrame, end_2025: np.ndarray,
               current: np.ndarray, rng) -> dict[str, pd.DataFrame]:
    """Health stations, schools, markets and culture houses (local frame).

    ``communes``/``villages`` are the admin frames with today's codes in ``code_now``
    (and communes' today's index in ``_current``); ``current`` lists the commune indices
    that exist today; ``end_2025`` is the (n_communes, 19) status at the end of 2025.
    """
    vc = villages["_commune"].to_numpy()
    n_all = len(tess.commune_kind)
    merged_into = communes["_current"].to_numpy()
    pop = np.bincount(vc, weights=villages["population"], minlength=n_all)
    nvill = np.bincount(vc, minlength=n_all)
    com = _Communes(
        centre=tess.commune_centre[current],
        geom=tess.commune_geom[current],
        kind=tess.commune_kind[current],
        name=communes["name"].to_numpy()[current],
        code=communes["code_now"].to_numpy()[current],
        ed=communes["extremely_difficult"].to_numpy()[current],
        met=end_2025[current],
        pop=np.bincount(merged_into, weights=pop, minlength=n_all)[current],
        n_villages=np.bincount(merged_into, weights=nvill, minlength=n_all)[current],
    )
    health = pd.DataFrame({
        "geometry": shapely.points(_near(com.centre, com.geom, rng, 120, 350)),
        "name": [f"Trạm Y tế {lb}" for lb in com.label],
        "meets_standard": com.meets(rng, 15),
        "commune_code": com.code,
    })
    return {
        "health_stations": health,
        "schools": _schools(tess, com, communes, villages, end_2025, rng),
        "markets": _markets(com, rng),
        "culture_houses": _culture_houses(tess, com, communes, villages, end_2025, rng),
    }


def _schools(tess, com: _Communes, communes, villages, end_2025, rng) -> pd.DataFrame:
    """Pre-school, primary and lower secondary (combined in small xã), plus satellite points."""
    rows = []
    n = len(com.code)
    small = (com.kind == "xa") & ((com.n_villages < 10) | (com.pop < 4500))
    titles = {"mam_non": "Trường Mầm non", "tieu_hoc": "Trường Tiểu học", "thcs": "Trường THCS",
              "th_thcs": "Trường TH và THCS"}
    for level, share in (("mam_non", 0.07), ("tieu_hoc", 0.09), ("thcs", 0.06), ("th_thcs", 0.15)):
        has = small if level == "th_thcs" else (~small if level in ("tieu_hoc", "thcs") else np.ones(n, bool))
        idx = np.flatnonzero(has)
        for i, xy, good in zip(idx, _near(com.centre[idx], com.geom[idx], rng, 150, 600), com.meets(rng, 5)[idx]):
            title = "Trường PTDTBT TH và THCS" if level == "th_thcs" and com.ed[i] else titles[level]
            rows.append((shapely.Point(xy), f"{title} {com.name[i]}", level, bool(good), False,
                         int(max(30, com.pop[i] * share * rng.uniform(0.8, 1.2))), com.code[i], None))
    # satellite school points ("điểm trường") in remote villages of xã
    vc = villages["_commune"].to_numpy()
    vdist = np.hypot(*(tess.village_centre - tess.commune_centre[vc]).T)
    p_far = np.where(villages["extremely_difficult"].to_numpy(), 0.5, 0.25)
    pos = np.flatnonzero((tess.commune_kind[vc] == "xa") & (vdist > 1500) & (rng.random(len(vc)) < p_far))
    v_type, v_name, v_code = (villages[k].to_numpy() for k in ("unit_type", "name", "code_now"))
    c_code = communes["code_now"].to_numpy()
    for v, xy in zip(pos, _near(tess.village_centre[pos], tess.village_geom[pos], rng, 30, 120)):
        level = "mam_non" if rng.random() < 0.7 else "tieu_hoc"
        word = "Mầm non" if level == "mam_non" else "Tiểu học"
        rows.append((shapely.Point(xy), f"Điểm trường {word} {_LOWER_PREFIX[v_type[v]]} {v_name[v]}", level,
                     bool(rng.random() < (0.6 if end_2025[vc[v], 4] else 0.2)), True,
                     int(rng.integers(10, 46)), c_code[vc[v]], v_code[v]))
    return pd.DataFrame(rows, columns=["geometry", "name", "school_level", "meets_standard", "satellite",
                                       "pupils", "commune_code", "village_code"])


def _markets(com: _Communes, rng) -> pd.DataFrame:
    """Markets in about 60% of communes: every ward and town, most developed xã."""
    n = len(com.code)
    has = (com.kind != "xa") | (rng.random(n) < 0.45 + 0.1 * (~com.ed) + 0.1 * com.met[:, 6])
    idx = np.flatnonzero(has)
    klass = np.where(com.kind[idx] == "xa", np.where(rng.random(len(idx)) < 0.8, "hang_3", "diem"), "hang_2")
    if len(idx) and com.kind[idx[0]] == "phuong":
        klass[0] = "hang_1"  # the city's central market
    label = com.label
    return pd.DataFrame({
        "geometry": shapely.points(_near(com.centre[idx], com.geom[idx], rng, 100, 400)),
        "name": [("Điểm mua bán " if k == "diem" else "Chợ ") + label[i] for i, k in zip(idx, klass)],
        "market_class": klass,
        "meets_standard": com.meets(rng, 7, 0.9, 0.3)[idx],
        "commune_code": com.code[idx],
    })


def _culture_houses(tess, com: _Communes, communes, villages, end_2025, rng) -> pd.DataFrame:
    """One culture house per commune and one in about 80% of villages."""
    commune_level = pd.DataFrame({
        "geometry": shapely.points(_near(com.centre, com.geom, rng, 80, 300)),
        "name": [("Nhà văn hóa " if k == "xa" else "Trung tâm Văn hóa – Thể thao ") + lb
                 for k, lb in zip(com.kind, com.label)],
        "scope": "commune",
        "meets_standard": com.meets(rng, 6, 0.9, 0.35),
        "commune_code": com.code,
        "village_code": None,
    })
    vc = villages["_commune"].to_numpy()
    has = np.flatnonzero(rng.random(len(vc)) < 0.8)
    village_level = pd.DataFrame({
        "geometry": shapely.points(_near(tess.village_centre[has], tess.village_geom[has], rng, 20, 100)),
        "name": [f"Nhà văn hóa {_LOWER_PREFIX[t]} {nm}" for t, nm in
                 zip(villages["unit_type"].to_numpy()[has], villages["name"].to_numpy()[has])],
        "scope": "village",
        "meets_standard": rng.random(len(has)) < np.where(end_2025[vc[has], 5], 0.85, 0.4),
        "commune_code": communes["code_now"].to_numpy()[vc[has]],
        "village_code": villages["code_now"].to_numpy()[has],
    })
    return pd.concat([commune_level, village_level], ignore_index=True)


def _fund(kind: str, rng) -> str:
    options = FUNDING[kind]
    return str(rng.choice(list(options), p=list(options.values())))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def projects(plan, roads: pd.DataFrame, fac: dict[str, pd.DataFrame], unit_status: pd.DataFrame,
             villages: pd.DataFrame, tess: Tessellation, labels: dict[str, str], rng) -> pd.DataFrame:
    """Investment projects 2022-2026 behind each commune's gains and remaining gaps.

    ``unit_status`` has one row per xã and year with 'code', 'commune' (index), 'year',
    'start' and 'end' (19 bools each); ``roads`` are the road pieces with their 'line'
    in ``plan``; ``labels`` maps a commune code to "xã Nàn Sán".
    """
    by_line = roads.groupby("line")
    lines = pd.DataFrame({
        "hard": by_line["hardened"].all(),
        "soft": ~by_line["hardened"].any(),
        "cls": by_line["road_class"].first(),
        "commune": by_line["plan_commune"].first(),
    })
    lines = lines[lines["cls"].isin(["duong_xa", "duong_thon", "noi_dong"])]
    road_pool = {
        state: {c: df.index[df[col]].to_numpy() for c, df in lines.groupby("commune")}
        for state, col in (("done", "hard"), ("todo", "soft"))
    }
    vc = villages["_commune"].to_numpy()
    short = villages["households_grid"].to_numpy() < villages["households"].to_numpy()
    members = {c: np.flatnonzero(vc == c) for c in np.unique(vc)}
    sites = {}
    for layer, df in fac.items():
        if "satellite" in df:
            df = df[~df["satellite"].astype(bool)]
        xy = shapely.get_coordinates(df["geometry"].to_numpy())
        sites[layer] = {code: (xy[idx], df["name"].to_numpy()[idx])
                        for code, idx in df.groupby("commune_code").indices.items()}
    ctx = dict(plan=plan, road_pool=road_pool, sites=sites, members=members, short=short,
               villages=villages, tess=tess, labels=labels, rng=rng)
    rows = []
    for rec in unit_status.itertuples(index=False):
        gained = rec.end & ~rec.start
        wants = []
        for crit in (2, 4, 5, 6, 7, 15):
            if gained[crit - 1]:
                wants.append((crit, rec.year, "done"))
            elif rec.year == 2025 and not rec.end[crit - 1]:
                wants.append((crit, 2025, "under_way") if rng.random() < 0.4 else (crit, 2026, "planned"))
        if rng.random() < 0.35:  # routine works, largely paid by the community
            wants.append((6 if rng.random() < 0.5 else 2, rec.year, "done" if rec.year < 2025 else "under_way"))
        for crit, year, state in wants:
            row = _project(crit, year, state, rec.commune, rec.code, **ctx)
            if row is not None:
                rows.append(row)
    cols = ["geometry", "name", "commune_code", "criteria", "cost_mvnd", "funding_source", "year", "state"]
    out = pd.DataFrame(rows, columns=cols)
    out["set_id"] = "qd318-2022-xa-ntm"
    return out


def _project(crit, year, state, c, code, *, plan, road_pool, sites, members, short, villages, tess, labels, rng):
    """One project for criterion ``crit`` in commune index ``c``, or None if nothing fits."""
    where = labels[code]
    if crit == 2:
        cand = road_pool["done" if state == "done" else "todo"].get(c, ())
        if not len(cand):
            return None
        line = int(cand[int(rng.integers(len(cand)))])
        geom = plan.lines[line]
        km = shapely.length(geom) / 1000
        repair = state == "done" and rng.random() < 0.15
        verb = "Duy tu, sửa chữa" if repair else "Cứng hóa"
        cost = km * (rng.uniform(300, 800) if repair else rng.uniform(2000, 4000))
        crits = "2,13" if plan.road_class[line] == "noi_dong" else "2"
        return (geom, f"{verb} {_lower_first(plan.name[line])}, {where} ({km:.1f} km)", code, crits,
                round(cost, 1), _fund("repair" if repair else "road", rng), year, state)
    if crit == 4:
        mine = members.get(c, np.zeros(0, dtype=int))
        target = mine[short[mine]] if state != "done" else mine[~short[mine]]
        if not len(target):
            return None
        v = int(target[int(rng.integers(len(target)))])
        a, b = tess.commune_centre[c], tess.village_centre[v]
        if np.hypot(*(a - b)) < 300:
            return None
        geom = shapely.LineString([a, (a + b) / 2 + rng.normal(0, 150, 2), b])
        km = geom.length / 1000
        village = f"{_LOWER_PREFIX[villages['unit_type'].iat[v]]} {villages['name'].iat[v]}"
        return (geom, f"Kéo điện lưới quốc gia đến {village}, {where} ({km:.1f} km)", code, "4",
                round(km * rng.uniform(600, 1200), 1), _fund("power", rng), year, state)
    layer, kind, lo, hi, verb = {
        5: ("schools", "school", 3000, 10000, "Xây dựng phòng học"),
        6: ("culture_houses", "culture", 500, 1500, "Xây dựng, nâng cấp"),
        7: ("markets", "market", 2000, 6000, "Xây dựng, nâng cấp"),
        15: ("health_stations", "health", 3000, 5000, "Nâng cấp, cải tạo"),
    }[crit]
    here = sites[layer].get(code)
    if here is not None:
        k = int(rng.integers(len(here[1])))
        geom = shapely.Point(here[0][k] + rng.normal(0, 25, 2))
        target = here[1][k]
    elif crit == 7:
        geom = shapely.Point(tess.commune_centre[c] + rng.normal(0, 150, 2))
        verb, target = "Xây dựng mới", f"chợ {where}"
    else:
        return None
    return (geom, f"{verb} {target}", code, str(crit), round(rng.uniform(lo, hi), 1), _fund(kind, rng), year, state)

"""Road and medium-voltage networks of the synthetic demo province.

Every road joins village centres (nodes), so the network is connected by construction:
national roads run through the provincial city, provincial roads join district towns
(minimum spanning tree over the commune-centre graph, plus a loop or two), district
roads join each commune centre to its town (shortest-path tree inside the district),
commune roads join each village to its commune centre (minimum spanning tree), village
roads and field tracks branch off the village centres. Lines meander a little, take the
province's warp and are cut into pieces of at most ~1 km, as surveyed road tables are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra, minimum_spanning_tree

from ._demo_geometry import Tessellation

__all__ = ["RoadPlan", "plan_roads", "road_segments", "split_lines", "meander", "power_network"]

CLASS_RANK = {"quoc_lo": 0, "tinh_lo": 1, "huyen_lo": 2, "duong_xa": 3, "duong_thon": 4, "noi_dong": 5}
PIECE_M = 950.0
_QL_NUMBERS = ("4D", "279", "70", "4E", "32", "12", "6", "37", "3B", "34")


@dataclass
class RoadPlan:
    """Road lines of one province, before surfaces: warped geometry in the local frame."""

    lines: np.ndarray  # warped LineStrings
    road_class: np.ndarray
    name: np.ndarray
    commune: np.ndarray  # commune index whose development decides the surface
    village: np.ndarray  # village index of village roads and tracks, else -1
    u: np.ndarray  # start node (village index) or -1
    v: np.ndarray  # end node (village index) or -1


def meander(p: np.ndarray, q: np.ndarray, rng, *, rel: float = 0.05, step: float = 100.0):
    """Straight segments p -> q bent sideways by a smooth random bridge (ends fixed)."""
    length = np.hypot(*(q - p).T)
    n = np.clip(np.ceil(length / step).astype(int), 1, 400)
    seg = np.repeat(np.arange(len(p)), n + 1)
    u = (np.arange(len(seg)) - np.repeat(np.cumsum(n + 1) - (n + 1), n + 1)) / n[seg]
    modes = np.arange(1, 5)
    coef = rng.normal(size=(len(p), len(modes))) / modes**1.5
    off = (np.sin(np.pi * u[:, None] * modes) * coef[seg]).sum(axis=1)
    off *= rel * length[seg] / 1.6
    d = (q - p) / np.where(length > 0, length, 1)[:, None]
    normal = np.column_stack([-d[:, 1], d[:, 0]])
    xy = p[seg] + u[:, None] * (q - p)[seg] + off[:, None] * normal[seg]
    return shapely.linestrings(xy, indices=seg)


def split_lines(lines, max_len: float = PIECE_M):
    """Cut lines at vertices into consecutive pieces of about ``max_len`` at most.

    Returns (pieces, index of the source line, piece number within the line).
    """
    coords, idx = shapely.get_coordinates(lines, return_index=True)
    step = np.r_[0.0, np.hypot(*np.diff(coords, axis=0).T)]
    first = np.r_[True, idx[1:] != idx[:-1]]
    step[first] = 0.0
    cum = np.cumsum(step)
    cum -= np.maximum.accumulate(np.where(first, cum, 0))
    total = np.zeros(idx.max() + 1)
    np.maximum.at(total, idx, cum)
    n_pieces = np.maximum(1, np.ceil(total / max_len)).astype(int)
    unit = np.where(total > 0, total / n_pieces, 1.0)
    piece = np.minimum((cum / unit[idx]).astype(int), n_pieces[idx] - 1)
    piece[first] = 0
    key = idx.astype(np.int64) * 10_000 + piece
    starts = np.flatnonzero(~first & (piece != np.r_[-1, piece[:-1]]))  # a new piece begins
    all_coords = np.concatenate([coords, coords[starts]])
    all_key = np.concatenate([key, key[starts - 1]])
    order = np.lexsort((np.concatenate([np.arange(len(coords)), starts]), all_key))
    keys, dense = np.unique(all_key[order], return_inverse=True)
    counts = np.bincount(dense)
    ok = counts[dense] >= 2
    keys_ok = keys[counts >= 2]
    _, dense_ok = np.unique(all_key[order][ok], return_inverse=True)
    pieces = shapely.linestrings(all_coords[order][ok], indices=dense_ok)
    return pieces, (keys_ok // 10_000).astype(int), (keys_ok % 10_000).astype(int)


def _graph(n: int, a, b, w):
    return coo_matrix((np.r_[w, w], (np.r_[a, b], np.r_[b, a])), shape=(n, n)).tocsr()


def _path(pred: np.ndarray, target: int) -> list[int]:
    out = [target]
    while pred[out[-1]] >= 0:
        out.append(int(pred[out[-1]]))
    return out[::-1]


def _mst_edges(n: int, a, b, w):
    tree = minimum_spanning_tree(coo_matrix((w, (a, b)), shape=(n, n))).tocoo()
    return tree.row, tree.col


def plan_roads(tess: Tessellation, village_names, dev, rng) -> RoadPlan:
    """Lay out every road of the province (see the module docstring).

    ``village_names`` name the commune roads; ``dev`` (per commune, 0..1) adds loops in
    developed communes.
    """
    site = tess.village_site
    centre = tess.commune_centre_village
    trunk, stubs = _trunk_edges(tess, rng)
    local = _commune_road_pairs(tess, dev)
    names = [name for _, name in trunk.values()]
    names += [f"Đường liên thôn {village_names[a]} – {village_names[b]}" for a, b in local]
    u = np.array([centre[x] for x, _ in trunk] + [a for a, _ in local], dtype=int)
    v = np.array([centre[y] for _, y in trunk] + [b for _, b in local], dtype=int)
    classes = [road_class for road_class, _ in trunk.values()] + ["duong_xa"] * len(local)
    lines = meander(site[u], site[v], rng, rel=0.06)
    # village roads (spokes inside the village) and field tracks beyond their ends
    sp, sq, sv = _spokes(tess, rng)
    spoke_lines = meander(sp, sq, rng, rel=0.08, step=60.0)
    tp, tq, tv = _tracks(tess, sp, sq, sv, rng)
    track_lines = meander(tp, tq, rng, rel=0.07, step=60.0)
    warped = tess.warp.apply(np.concatenate([lines, spoke_lines, track_lines]))
    stub_lines, stub_names, stub_c = _stubs(tess, stubs, rng)
    n_sp, n_tr, n_st = len(sp), len(tp), len(stub_lines)
    return RoadPlan(
        lines=np.concatenate([warped, np.array(stub_lines, dtype=object)]),
        road_class=np.array(classes + ["duong_thon"] * n_sp + ["noi_dong"] * n_tr + ["quoc_lo"] * n_st),
        name=np.array(
            names
            + [f"Đường thôn {village_names[k]}" for k in sv]
            + [f"Đường nội đồng {village_names[k]}" for k in tv]
            + stub_names, dtype=object),
        commune=np.concatenate([tess.village_commune[u], tess.village_commune[sv], tess.village_commune[tv],
                                stub_c]).astype(int),
        village=np.concatenate([np.full(len(u), -1), sv, tv, np.full(n_st, -1)]).astype(int),
        u=np.concatenate([u, sv, np.full(n_tr + n_st, -1)]).astype(int),
        v=np.concatenate([v, np.full(n_sp + n_tr + n_st, -1)]).astype(int),
    )


def _trunk_edges(tess: Tessellation, rng):
    """National, provincial and district roads as edges between commune centres.

    Returns ({(commune, commune): (road_class, name)}, national-road ends to extend to
    the border). An edge used by several classes keeps the highest.
    """
    n_c = len(tess.commune_kind)
    cxy = tess.village_site[tess.commune_centre_village]
    ca, cb = tess.commune_adjacency.T
    clen = np.hypot(*(cxy[ca] - cxy[cb]).T)
    towns = tess.town_commune
    dist, pred = dijkstra(_graph(n_c, ca, cb, clen), indices=towns, return_predecessors=True)
    edges: dict[tuple[int, int], tuple[str, str]] = {}

    def add_path(path, road_class, name):
        for x, y in zip(path[:-1], path[1:]):
            key = (min(x, y), max(x, y))
            old = edges.get(key)
            if old is None or CLASS_RANK[road_class] < CLASS_RANK[old[0]]:
                edges[key] = (road_class, name)

    # national roads: from border to border through the city (towns[0])
    border = np.flatnonzero(shapely.intersects(tess.commune_geom, tess.province_geom.boundary))
    stubs = []
    theta = rng.uniform(0, np.pi)
    n_ql = 1 if n_c < 40 else 2
    numbers = rng.choice(len(_QL_NUMBERS), n_ql, replace=False)
    for j in range(n_ql):
        score = (cxy[border] - cxy[tess.city_commune]) @ np.array([np.cos(theta), np.sin(theta)])
        name = f"Quốc lộ {_QL_NUMBERS[numbers[j]]}"
        for end in (border[np.argmax(score)], border[np.argmin(score)]):
            add_path(_path(pred[0], int(end)), "quoc_lo", name)
            out = cxy[end] - cxy[tess.city_commune]
            stubs.append((int(end), out / max(np.hypot(*out), 1.0), name))
        theta += rng.uniform(0.35, 0.65) * np.pi
    # provincial roads: MST over the towns on shortest-path distances, plus a few loops
    nt = len(towns)
    ta, tb = np.triu_indices(nt, 1)
    tw = dist[ta, towns[tb]]
    ma, mb = _mst_edges(nt, ta, tb, tw)
    pairs = [(int(a), int(b)) for a, b in zip(ma, mb)]
    tree = {(min(p), max(p)) for p in pairs}
    order = np.argsort(tw, kind="stable")
    pairs += [(int(a), int(b)) for a, b in zip(ta[order], tb[order]) if (a, b) not in tree][: nt // 4]
    for k, (a, b) in enumerate(pairs):
        add_path(_path(pred[a], int(towns[b])), "tinh_lo", f"Đường tỉnh ĐT.{151 + k}")
    # district roads: shortest-path tree from the town, inside each district
    same = tess.commune_district[ca] == tess.commune_district[cb]
    _, ipred = dijkstra(_graph(n_c, ca[same], cb[same], clen[same]), indices=towns, return_predecessors=True)
    for k, town in enumerate(towns):
        members = np.flatnonzero(tess.commune_district == k)
        members = members[np.argsort(-dist[k, members], kind="stable")]
        for j, c in enumerate(members):
            if c != town:
                add_path(_path(ipred[k], int(c)), "huyen_lo", f"Đường huyện ĐH.{10 * k + 1 + j % 9:02d}")
    return dict(sorted(edges.items())), stubs


def _commune_road_pairs(tess: Tessellation, dev) -> list[tuple[int, int]]:
    """Commune roads: MST over each commune's villages, plus one loop in developed communes."""
    site = tess.village_site
    va, vb = _intra_pairs(tess.village_commune)
    vw = np.hypot(*(site[va] - site[vb]).T)
    ta, tb = _mst_edges(len(site), va, vb, vw)
    tree = set(zip(np.minimum(ta, tb).tolist(), np.maximum(ta, tb).tolist()))
    off_tree = np.array([(a, b) not in tree for a, b in zip(va.tolist(), vb.tolist())], dtype=bool)
    pair_commune = tess.village_commune[va]
    looped = (dev > np.quantile(dev, 0.5)) | (tess.commune_kind != "xa")
    cand = np.flatnonzero(off_tree & looped[pair_commune])
    cand = cand[np.lexsort((vw[cand], pair_commune[cand]))]
    first = cand[np.r_[True, pair_commune[cand][1:] != pair_commune[cand][:-1]]] if len(cand) else cand
    return sorted(tree) + [(int(va[k]), int(vb[k])) for k in first]


def _tracks(tess: Tessellation, sp, sq, sv, rng):
    """Field tracks from the end of about half the village roads, inside the commune."""
    has = (tess.commune_kind[tess.village_commune[sv]] != "phuong") & (rng.random(len(sv)) < 0.55)
    tp = sq[has]
    ang = np.arctan2(*(sq - sp)[has][:, ::-1].T) + rng.uniform(-0.8, 0.8, has.sum())
    tq = tp + rng.uniform(400, 1200, has.sum())[:, None] * np.column_stack([np.cos(ang), np.sin(ang)])
    tq = _clip_ray(tp, tq, tess.commune_cell[tess.village_commune[sv[has]]])
    tv = sv[has]
    keep = np.hypot(*(tq - tp).T) > 80
    return tp[keep], tq[keep], tv[keep]


def _stubs(tess: Tessellation, stubs, rng):
    """National roads continue from their end communes out to the province border."""
    site, centre = tess.village_site, tess.commune_centre_village
    lines, names, communes = [], [], []
    reach = 4 * tess.spacing
    for end, direction, name in stubs:
        start = site[centre[end]]
        raw = meander(start[None], (start + reach * direction)[None], rng, rel=0.04)
        line = shapely.intersection(tess.warp.apply(raw)[0], tess.province_geom)
        first = _part_touching(line, tess.warp(start[None])[0])
        if first is not None:
            lines.append(first)
            names.append(name)
            communes.append(end)
    return lines, names, communes


def _part_touching(line, point_xy):
    for part in shapely.get_parts(line):
        if part.geom_type == "LineString" and np.hypot(*(np.asarray(part.coords[0]) - point_xy)) < 1e-6:
            return part
    return None


def _intra_pairs(group: np.ndarray):
    """All pairs (a < b) of items in the same group (items sorted by group)."""
    out_a, out_b = [], []
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ends = np.r_[starts[1:], len(group)]
    for s, e in zip(starts, ends):
        i, j = np.triu_indices(e - s, 1)
        out_a.append(i + s)
        out_b.append(j + s)
    return np.concatenate(out_a), np.concatenate(out_b)


def _spokes(tess: Tessellation, rng):
    """Village roads: 2-4 spokes from each village centre, clipped to the village."""
    n_v = len(tess.village_site)
    urban = tess.commune_kind[tess.village_commune] != "xa"
    count = np.where(urban, rng.integers(3, 7, n_v), rng.integers(2, 6, n_v))
    v = np.repeat(np.arange(n_v), count)
    ang = rng.uniform(0, 2 * np.pi, len(v))
    length = np.where(urban[v], rng.uniform(200, 600, len(v)), rng.uniform(300, 900, len(v)))
    p = tess.village_site[v]
    q = p + length[:, None] * np.column_stack([np.cos(ang), np.sin(ang)])
    q = _clip_ray(p, q, tess.village_cell[v])
    keep = np.hypot(*(q - p).T) > 80
    return p[keep], q[keep], v[keep]


def _clip_ray(p, q, cells):
    """End points of segments p -> q clipped to convex cells containing p."""
    clipped = shapely.intersection(shapely.linestrings(np.stack([p, q], axis=1)), cells)
    coords, idx = shapely.get_coordinates(clipped, return_index=True)
    out = p.copy()
    if len(coords):
        far = np.hypot(*(coords - p[idx]).T)
        order = np.lexsort((far, idx))
        last = order[np.r_[idx[order][1:] != idx[order][:-1], True]]
        out[idx[last]] = coords[last]
    return out


def road_segments(plan: RoadPlan, *, hardened_share, developed, rng) -> pd.DataFrame:
    """Cut roads into ~1 km pieces and give each a surface, width and hardened flag.

    ``hardened_share`` (per commune) is the share of commune and village roads that is
    hardened (asphalt or concrete); ``developed`` (per commune, 0..1) shifts materials.
    """
    pieces, line, piece_no = split_lines(plan.lines)
    cls = plan.road_class
    c = plan.commune
    n = len(plan.lines)
    share = hardened_share[c]
    dev = developed[c]
    r = rng.random(n)
    surface = np.full(n, "earth", dtype=object)
    surface[np.isin(cls, ["quoc_lo", "tinh_lo"])] = "asphalt"
    hl = cls == "huyen_lo"
    surface[hl] = np.where(r[hl] < 0.55 + 0.35 * dev[hl], "asphalt", "concrete")
    for road_class, factor, asphalt in (("duong_xa", 1.0, 0.15), ("duong_thon", 0.85, 0.05)):
        m = cls == road_class
        hard = r[m] < share[m] * factor
        soft = np.where(rng.random(m.sum()) < 0.35 + 0.4 * dev[m], "gravel", "earth")
        surface[m] = np.where(hard, np.where(rng.random(m.sum()) < asphalt * (0.3 + dev[m]), "asphalt", "concrete"), soft)
    nd = cls == "noi_dong"
    surface[nd] = np.where(r[nd] < 0.05 + 0.25 * dev[nd], "concrete", np.where(r[nd] < 0.3 + 0.2 * dev[nd], "gravel", "earth"))
    # some long commune roads are hardened only on their first pieces
    partial = (cls == "duong_xa") & np.isin(surface, ["asphalt", "concrete"]) & (rng.random(n) < 0.2)
    n_pieces = np.bincount(line, minlength=n)
    cut = np.ceil(n_pieces * rng.uniform(0.3, 0.8, n))
    seg_surface = surface[line].copy()
    late = partial[line] & (piece_no >= cut[line]) & (n_pieces[line] > 1)
    seg_surface[late] = np.where(developed[c[line[late]]] > 0.5, "gravel", "earth")
    width_base = {"quoc_lo": 9.0, "tinh_lo": 7.5, "huyen_lo": 6.5, "duong_xa": 5.0, "duong_thon": 3.5, "noi_dong": 3.0}
    width = np.array([width_base[k] for k in cls[line]]) + rng.choice([-0.5, 0.0, 0.0, 0.5, 1.0], len(line))
    width = np.where(np.isin(seg_surface, ["earth"]), np.minimum(width, 4.0), width)
    return pd.DataFrame({
        "geometry": pieces,
        "line": line,
        "name": plan.name[line],
        "road_class": cls[line],
        "surface": seg_surface,
        "hardened": np.isin(seg_surface, ["asphalt", "concrete"]),
        "width_m": width,
        "plan_commune": c[line],
        "village": plan.village[line],
    })


def power_network(tess: Tessellation, plan: RoadPlan, grid_share, district_names, commune_names, rng):
    """Medium-voltage lines and transformers (local frame).

    35 kV lines run from one substation at each district town along the district and
    provincial roads to every commune centre; 22 kV lines run from each commune centre
    along the commune roads to the villages with grid (``grid_share`` > 0).
    Returns (lines frame, transformers frame).
    """
    centre = tess.commune_centre_village
    main = np.isin(plan.road_class, ["quoc_lo", "tinh_lo", "huyen_lo"]) & (plan.v >= 0)
    xa = (plan.road_class == "duong_xa") & (plan.v >= 0)
    lines, volts, names, comm = [], [], [], []
    # 35 kV: the shortest-path tree of the main roads from each town inside its district
    for k in np.flatnonzero(main):
        c = int(tess.village_commune[plan.u[k]])
        d = tess.commune_district[c]
        if tess.commune_district[tess.village_commune[plan.v[k]]] != d:
            continue
        lines.append(plan.lines[k])
        volts.append(35.0)
        names.append(f"Đường dây 35 kV lộ 37{d % 10} – {district_names[d]}")
        comm.append(c)
    # 22 kV: commune-road edges on the way from the commune centre to villages with grid
    a, b = plan.u[xa], plan.v[xa]
    n_v = len(tess.village_site)
    adj = _graph(n_v, a, b, np.ones(len(a)))
    _, pred = dijkstra(adj, indices=centre, return_predecessors=True, unweighted=True, limit=40)
    needed = set()
    for c, src in enumerate(centre):
        for vill in np.flatnonzero((tess.village_commune == c) & (grid_share > 0)):
            node = vill
            while node != src and pred[c, node] >= 0:
                parent = int(pred[c, node])
                needed.add((min(node, parent), max(node, parent)))
                node = parent
    for k in np.flatnonzero(xa):
        if (min(plan.u[k], plan.v[k]), max(plan.u[k], plan.v[k])) in needed:
            c = int(tess.village_commune[plan.u[k]])
            lines.append(plan.lines[k])
            volts.append(22.0)
            names.append(f"Đường dây 22 kV xã {commune_names[c]}")
            comm.append(c)
    geom = shapely.offset_curve(np.array(lines, dtype=object), 25.0)
    bad = (shapely.get_type_id(geom) != 1) | shapely.is_empty(geom)
    geom[bad] = np.array(lines, dtype=object)[bad]
    power = pd.DataFrame({"geometry": geom, "voltage_kv": volts, "name": names, "plan_commune": comm})
    # transformers: one 110 kV substation per district, one 22/0.4 kV per village with grid
    vc = tess.village_centre
    towns = tess.town_commune
    sub_xy = vc[centre[towns]] + rng.normal(0, 250, (len(towns), 2))
    gridded = np.flatnonzero(grid_share > 0)
    tr_xy = vc[gridded] + rng.normal(0, 60, (len(gridded), 2))
    transformers = pd.DataFrame({
        "geometry": shapely.points(np.concatenate([sub_xy, tr_xy])),
        "kind": ["substation"] * len(towns) + ["village"] * len(gridded),
        "district": np.r_[np.arange(len(towns)), tess.commune_district[tess.village_commune[gridded]]],
        "village": np.r_[np.full(len(towns), -1), gridded],
        "voltage_kv": np.r_[np.full(len(towns), 110.0), np.full(len(gridded), 22.0)],
    })
    return power, transformers

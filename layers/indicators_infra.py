"""Road, power-line and facility indicators per commune and village, in metric units.

The evidence behind criteria 2 (transport), 4 (electricity), 5 (schools), 6 (culture)
and 7 (markets): km of road by class and surface, the share hardened, road density,
km of power line by voltage, villages near the grid, and facility counts.

Everything is vectorised over the whole run. Lines are cut by unit boundaries only
where they meet one (see ``line_lengths_in_units``); every other line counts whole in
the unit holding it. A line lying exactly along a shared boundary counts in both units.
Lengths are measured in each unit's TM-3 zone (``indicator_units.measuring_crs``).
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import admin_units
from .indicator_units import UnitSet, metric_xy, to_metric, zone_meridians, zones
from .store import Store

__all__ = [
    "FACILITY_TABLES",
    "LineSet",
    "metric_lengths",
    "line_lengths_in_units",
    "points_in_units",
    "road_indicators",
    "power_indicators",
    "facility_indicators",
    "grid_proximity",
    "grid_share_indicators",
    "village_points",
    "unit_area_km2",
    "infrastructure_indicators",
    "read_layer",
]

FACILITY_TABLES = ("schools", "health_stations", "markets", "culture_houses")
_DEG_PER_M = 1 / 100_000  # generous: 1 m is at most 1/111,000 degree in Vietnam


def _rows(codes, level: str, name: str, values, unit: str) -> pd.DataFrame:
    return pd.DataFrame({"unit_code": codes, "unit_level": level, "name": name,
                         "value": np.asarray(values, dtype=float), "unit": unit})


@functools.cache
def _hardened_surfaces() -> frozenset[str]:
    return frozenset(code for code, spec in admin_units.vocabulary()["road_surfaces"].items() if spec.get("hardened"))


# --- geometry -------------------------------------------------------------------------


def _segment_sums(xy: np.ndarray, owner: np.ndarray, owner_epsg: np.ndarray) -> np.ndarray:
    """Per owner (0 … len(owner_epsg) - 1), the metric length of the segments between its
    consecutive vertices, measured in the owner's zone."""
    n = len(owner_epsg)
    if len(xy) < 2:
        return np.zeros(n)
    meridian = zone_meridians(owner_epsg)
    if meridian is not None:
        x, y = metric_xy(xy[:, 0], xy[:, 1], None, meridian=meridian[owner])
    else:
        x, y = metric_xy(xy[:, 0], xy[:, 1], owner_epsg[owner])
    same = owner[1:] == owner[:-1]  # consecutive vertices of one geometry
    return np.bincount(owner[1:], weights=np.hypot(np.diff(x), np.diff(y)) * same, minlength=n)


def _multi_part(lines: np.ndarray) -> np.ndarray:
    return np.isin(shapely.get_type_id(lines), (5, 7))  # MultiLineString, GeometryCollection


def _exact_lengths(lines: np.ndarray, epsg: np.ndarray) -> np.ndarray:
    out = np.zeros(len(lines))
    for code, pos in zones(epsg):
        out[pos] = shapely.length(to_metric(lines[pos], code))
    return out


def metric_lengths(lines, epsg) -> np.ndarray:
    """Length in metres of each line (EPSG:4326), measured in zone ``epsg`` (one, or one
    per line): vertices projected and segment lengths summed, no new geometries."""
    lines = np.asarray(lines, dtype=object)
    epsg = np.broadcast_to(np.asarray(epsg), (len(lines),))
    xy, owner = shapely.get_coordinates(lines, return_index=True)
    out = _segment_sums(xy, owner, np.asarray(epsg))
    multi = np.flatnonzero(_multi_part(lines))
    if len(multi):  # parts of a multi-line or collection are not joined: measure those whole
        out[multi] = _exact_lengths(lines[multi], epsg[multi])
    return out


class LineSet:
    """Lines (EPSG:4326) with their vertices read once: the first vertex of each (to
    place lines no boundary cuts) and whole lengths measured in any TM-3 zone."""

    def __init__(self, lines):
        self.lines = np.asarray(lines, dtype=object)
        self.xy, self.owner = shapely.get_coordinates(self.lines, return_index=True)
        self.counts = np.bincount(self.owner, minlength=len(self.lines))
        self.starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)
        self.first_xy = np.full((len(self.lines), 2), np.nan)
        has = self.counts > 0
        self.first_xy[has] = self.xy[self.starts[has]]
        self.multi = _multi_part(self.lines)

    def __len__(self) -> int:
        return len(self.lines)

    def lengths(self, idx: np.ndarray, epsg) -> np.ndarray:
        """Metres of lines ``idx``, each measured in its zone ``epsg`` (one or one per line)."""
        idx = np.asarray(idx, dtype=np.int64)
        epsg = np.broadcast_to(np.asarray(epsg), idx.shape)
        if 2 * len(idx) > len(self.lines):  # most lines: measure all, no gathering of vertices
            line_epsg = np.full(len(self.lines), epsg[0] if len(epsg) else 0)
            line_epsg[idx] = epsg
            every = _segment_sums(self.xy, self.owner, line_epsg)
            multi = np.flatnonzero(self.multi)
            if len(multi):
                every[multi] = _exact_lengths(self.lines[multi], line_epsg[multi])
            once = np.bincount(idx, minlength=len(self.lines)).max() <= 1
            return every[idx] if once else self._pairs(idx, epsg)
        return self._pairs(idx, epsg)

    def _pairs(self, idx: np.ndarray, epsg: np.ndarray) -> np.ndarray:
        cnt = self.counts[idx]
        pair_of = np.repeat(np.arange(len(idx)), cnt)
        offset = np.arange(len(pair_of)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        metres = _segment_sums(self.xy[self.starts[idx][pair_of] + offset], pair_of, epsg)
        multi = np.flatnonzero(self.multi[idx])
        if len(multi):
            metres[multi] = _exact_lengths(self.lines[idx[multi]], epsg[multi])
        return metres


def _chunked(func, *arrays, min_size: int = 20_000):
    """``func(*arrays)`` on two threads when the arrays are large: shapely's vectorised
    functions release the GIL, so both cores of the machine share a big overlay."""
    n = len(arrays[0])
    workers = min(2, os.cpu_count() or 1)
    if workers == 1 or n < min_size:
        return func(*arrays)
    cut = n // 2
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="ntm-indicators") as pool:
        parts = list(pool.map(lambda sl: func(*(a[sl] for a in arrays)), (slice(0, cut), slice(cut, n))))
    return np.concatenate(parts)


def line_lengths_in_units(lines, unit_geoms, unit_epsg, *,
                          whole: LineSet | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Metres of each line inside each unit it crosses.

    Parameters
    ----------
    lines, unit_geoms
        Shapely arrays in EPSG:4326 (where lines and units are tested and cut).
    unit_epsg
        The TM-3 zone of each unit: a line or piece is measured in its unit's zone.
    whole
        ``LineSet`` of ``lines`` (their vertices, read once), to share between calls.

    Returns
    -------
    (line index, unit index, metres)
        One entry per (line, unit) pair that shares more than a point, and some with
        0 m (lines touching a boundary from outside).

    Notes
    -----
    Only lines meeting a unit boundary are cut: one STRtree query of the boundaries
    (each prepared once) finds them, and they are intersected with their units. Any
    other simple line lies wholly inside one unit or outside all, which its first
    vertex tells (``intersects_xy`` on the units whose box holds the line's box, units
    prepared); it counts whole.
    Multi-part lines that meet no boundary are intersected too, since their parts could
    lie in different units.
    """
    lines = np.asarray(lines, dtype=object)
    unit_geoms = np.asarray(unit_geoms, dtype=object)
    unit_epsg = np.asarray(unit_epsg)
    if len(lines) == 0 or len(unit_geoms) == 0:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    whole = whole if whole is not None else LineSet(lines)
    tree = shapely.STRtree(lines)
    u_cut, l_cut = tree.query(shapely.boundary(unit_geoms), predicate="intersects")
    crossing = np.zeros(len(lines), dtype=bool)
    crossing[l_cut] = True
    simple = shapely.get_type_id(lines) == 1
    u_box, l_box = tree.query(unit_geoms)  # boxes only
    keep = simple[l_box] & ~crossing[l_box]
    u_box, l_box = u_box[keep], l_box[keep]
    shapely.prepare(unit_geoms)
    inside = shapely.intersects_xy(unit_geoms[u_box], whole.first_xy[l_box, 0], whole.first_xy[l_box, 1])
    l_in, u_in = l_box[inside], u_box[inside]
    multi = np.flatnonzero(~crossing & ~simple)
    if len(multi):
        u_m, l_m = shapely.STRtree(lines[multi]).query(unit_geoms, predicate="intersects")
        u_cut, l_cut = np.concatenate([u_cut, u_m]), np.concatenate([l_cut, multi[l_m]])
    pieces = _chunked(shapely.intersection, lines[l_cut], unit_geoms[u_cut])
    li, uj = np.concatenate([l_in, l_cut]), np.concatenate([u_in, u_cut])
    metres = np.concatenate([whole.lengths(l_in, unit_epsg[u_in]), metric_lengths(pieces, unit_epsg[u_cut])])
    return li, uj, metres


def points_in_units(points, unit_geoms) -> np.ndarray:
    """Index of the unit holding each point (-1 outside all); a point on a shared border
    goes to the first unit. Boxes from an STRtree of the units, then ``intersects_xy``
    with the units prepared: no per-point geometry work."""
    points = np.asarray(points, dtype=object)
    out = np.full(len(points), -1, dtype=int)
    unit_geoms = np.asarray(unit_geoms, dtype=object)
    if len(points) == 0 or len(unit_geoms) == 0:
        return out
    pi, uj = shapely.STRtree(unit_geoms).query(points)
    shapely.prepare(unit_geoms)
    hit = shapely.intersects_xy(unit_geoms[uj], shapely.get_x(points[pi]), shapely.get_y(points[pi]))
    pi, uj = pi[hit], uj[hit]
    if len(pi) == 0:
        return out
    order = np.lexsort((uj, pi))
    pi, uj = pi[order], uj[order]
    first = np.r_[True, pi[1:] != pi[:-1]]
    out[pi[first]] = uj[first]
    return out


def _sum_by(unit_idx: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(unit_idx, weights=values, minlength=n)


# --- roads ----------------------------------------------------------------------------


def _hardened(roads: pd.DataFrame) -> np.ndarray:
    """Whether each road counts as hardened: the recorded flag, else its surface's."""
    flag = roads["hardened"] if "hardened" in roads.columns else pd.Series(pd.NA, index=roads.index)
    by_surface = roads["surface"].isin(_hardened_surfaces()) if "surface" in roads.columns else False
    return flag.astype("boolean").fillna(by_surface).fillna(False).to_numpy(dtype=bool)


def road_indicators(units: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, *, level: str,
                    area_km2: np.ndarray, by_surface: bool = True, whole: LineSet | None = None) -> pd.DataFrame:
    """km by class (and surface), hardened km and share by class, density, per unit.

    ``units`` carries ``code`` and ``epsg``; ``roads`` ``road_class``, ``surface`` and
    ``hardened`` (EPSG:4326). ``area_km2`` is each unit's metric area, for the density.
    A class with no km in a unit has a share of None (not 0: nothing to harden).
    """
    n, codes = len(units), units["code"].to_numpy()
    li, uj, metres = line_lengths_in_units(roads.geometry.values, units.geometry.values, units["epsg"].to_numpy(),
                                           whole=whole)
    km = metres / 1000.0
    cls_codes, cls_names = pd.factorize(roads["road_class"], use_na_sentinel=False)
    srf_codes, srf_names = pd.factorize(roads["surface"].fillna("unknown"), use_na_sentinel=False)
    cls, surface = cls_codes[li], srf_codes[li]
    hard = _hardened(roads)[li]
    out = []
    total = _sum_by(uj, km, n)
    hard_total = _sum_by(uj, km * hard, n)
    out.append(_rows(codes, level, "road_km", total, "km"))
    out.append(_rows(codes, level, "road_hardened_km", hard_total, "km"))
    out.append(_rows(codes, level, "road_hardened_share", _share(hard_total, total), "share"))
    out.append(_rows(codes, level, "road_density", np.divide(total, area_km2, out=np.full(n, np.nan),
                                                             where=area_km2 > 0), "km/km2"))
    for ci in np.argsort(np.asarray(cls_names, dtype=str)):
        c, sel = cls_names[ci], cls == ci
        k = _sum_by(uj[sel], km[sel], n)
        h = _sum_by(uj[sel], km[sel] * hard[sel], n)
        out.append(_rows(codes, level, f"road_km.{c}", k, "km"))
        out.append(_rows(codes, level, f"road_hardened_share.{c}", _share(h, k), "share"))
        if by_surface:
            on_class = set(srf_codes[cls_codes == ci])
            for si in sorted(on_class, key=lambda i: str(srf_names[i])):
                both = sel & (surface == si)
                out.append(_rows(codes, level, f"road_km.{c}.{srf_names[si]}", _sum_by(uj[both], km[both], n), "km"))
    return pd.concat(out, ignore_index=True)


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    return np.divide(part, whole, out=np.full(len(whole), np.nan), where=whole > 0)


# --- power ----------------------------------------------------------------------------


def power_indicators(units: gpd.GeoDataFrame, lines: gpd.GeoDataFrame, *, level: str,
                     whole: LineSet | None = None) -> pd.DataFrame:
    """km of power line in total and by voltage (``power_km.22kv``) per unit."""
    n, codes = len(units), units["code"].to_numpy()
    li, uj, metres = line_lengths_in_units(lines.geometry.values, units.geometry.values, units["epsg"].to_numpy(),
                                           whole=whole)
    km = metres / 1000.0
    out = [_rows(codes, level, "power_km", _sum_by(uj, km, n), "km")]
    voltage = lines["voltage_kv"].to_numpy(dtype=float)[li]
    for v in sorted(set(lines["voltage_kv"].dropna().astype(float))):
        sel = voltage == v
        out.append(_rows(codes, level, f"power_km.{v:g}kv", _sum_by(uj[sel], km[sel], n), "km"))
    return pd.concat(out, ignore_index=True)


def village_points(villages: gpd.GeoDataFrame) -> np.ndarray:
    """Where a village is taken to be: a point inside its polygon (EPSG:4326)."""
    return shapely.point_on_surface(villages.geometry.values)


def grid_proximity(villages: gpd.GeoDataFrame, lines: gpd.GeoDataFrame, *, max_distance_m: float) -> np.ndarray:
    """Metres from each village to the nearest power line, NaN when farther than
    ``max_distance_m`` (only nearer lines are searched: the question is "within d?")."""
    out = np.full(len(villages), np.nan)
    if len(villages) == 0 or len(lines) == 0:
        return out
    points = village_points(villages)
    geoms = np.asarray(lines.geometry.values, dtype=object)
    tree4326 = shapely.STRtree(geoms)
    pad = max_distance_m * _DEG_PER_M * 1.5
    for epsg, pos in zones(villages["epsg"].to_numpy()):
        x0, y0, x1, y1 = shapely.total_bounds(points[pos])
        cand = tree4326.query(shapely.box(x0 - pad, y0 - pad, x1 + pad, y1 + pad))
        if len(cand) == 0:
            continue
        metric_lines = to_metric(geoms[cand], epsg)
        metric_points = to_metric(points[pos], epsg)
        pi, lj = shapely.STRtree(metric_lines).query(metric_points, predicate="dwithin", distance=max_distance_m)
        nearest = np.full(len(pos), np.nan)
        np.fmin.at(nearest, pi, shapely.distance(metric_points[pi], metric_lines[lj]))
        out[pos] = nearest
    return out


def grid_share_indicators(units: UnitSet, distance_m: np.ndarray, *, max_distance_m: float) -> pd.DataFrame:
    """Per village: within the distance (1/0); per commune: share of villages and of
    population within ``max_distance_m`` of a power line (criterion 4 evidence)."""
    v = units.villages
    near = np.isfinite(distance_m) & (distance_m <= max_distance_m)
    out = [_rows(v["code"].to_numpy(), "village", "grid_within", near.astype(float), "flag")]
    c_codes = units.communes["code"].to_numpy()
    if len(v):
        pos = pd.Index(c_codes).get_indexer(v["commune"])
        ok = pos >= 0
        n = len(c_codes)
        count = np.bincount(pos[ok], minlength=n).astype(float)
        pop = v["population"].astype("float64").fillna(0).to_numpy()[ok]
        out.append(_rows(c_codes, "commune", "villages_near_grid_share",
                         _share(np.bincount(pos[ok], weights=near[ok].astype(float), minlength=n), count), "share"))
        out.append(_rows(c_codes, "commune", "population_near_grid_share",
                         _share(np.bincount(pos[ok], weights=pop * near[ok], minlength=n),
                                np.bincount(pos[ok], weights=pop, minlength=n)), "share"))
    return pd.concat(out, ignore_index=True)


# --- facilities -----------------------------------------------------------------------


def _flag(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[column].astype("boolean").fillna(False).to_numpy(dtype=bool)


def facility_indicators(units: gpd.GeoDataFrame, facilities: dict[str, gpd.GeoDataFrame], *,
                        level: str) -> pd.DataFrame:
    """Counts per unit: schools (main schools by level and meeting the standard; satellite
    sites apart), health stations, markets and culture houses (by scope), each also
    ``.meets_standard``. Points are placed by where they are, not by their commune_code.
    """
    n, codes = len(units), units["code"].to_numpy()
    out = []
    for table, frame in facilities.items():
        where = points_in_units(frame.geometry.values, units.geometry.values)
        inside = where >= 0
        f, k = frame[inside], where[inside]
        meets = _flag(f, "meets_standard")
        if table == "schools":
            sat = _flag(f, "satellite")
            out.append(_rows(codes, level, "schools.satellite_sites", np.bincount(k[sat], minlength=n), "count"))
            f, k, meets = f[~sat], k[~sat], meets[~sat]
        out.append(_rows(codes, level, table, np.bincount(k, minlength=n), "count"))
        out.append(_rows(codes, level, f"{table}.meets_standard", np.bincount(k[meets], minlength=n), "count"))
        group = {"schools": "school_level", "culture_houses": "scope"}.get(table)
        if group and group in f.columns:
            labels = f[group].astype(str).to_numpy()
            for g in sorted(set(labels)):
                sel = labels == g
                out.append(_rows(codes, level, f"{table}.{g}", np.bincount(k[sel], minlength=n), "count"))
                if table == "schools":
                    out.append(_rows(codes, level, f"{table}.{g}.meets_standard",
                                     np.bincount(k[sel & meets], minlength=n), "count"))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["unit_code"])


# --- reading and orchestration --------------------------------------------------------


def read_layer(store: Store, table: str, units: UnitSet, columns: list[str], *, pad_m: float = 0.0) -> gpd.GeoDataFrame:
    """Features of ``table`` near the run's units (the RTree on their bounding box)."""
    bounds = units.bounds()
    if bounds is None:
        return store.read_features(table, "0", columns=columns)
    if units.scope is None:
        return store.read_features(table, columns=columns)
    pad = pad_m * _DEG_PER_M * 1.5
    return store.read_features(table, columns=columns,
                               bbox=(bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad))


def unit_area_km2(units: gpd.GeoDataFrame, *, stored: bool = True) -> np.ndarray:
    """Area of each unit in km²: the store's ``area_km2`` (equal-area, computed at import)
    where recorded and ``stored``, else measured in the unit's TM-3 zone."""
    out = np.full(len(units), np.nan)
    if stored and "area_km2" in units.columns:
        out = units["area_km2"].astype("float64").to_numpy().copy()
    missing = np.flatnonzero(np.isnan(out))
    for epsg, pos in zones(units["epsg"].to_numpy()[missing]):
        out[missing[pos]] = shapely.area(to_metric(units.geometry.values[missing[pos]], epsg)) / 1e6
    return out


def infrastructure_indicators(store: Store, units: UnitSet, *, grid_distance_m: float = 1000.0,
                              levels: tuple[str, ...] = ("commune", "village"),
                              layers: dict[str, gpd.GeoDataFrame] | None = None) -> pd.DataFrame:
    """All road, power and facility indicators of a run, for communes and villages.

    ``layers`` may pass already-read tables (``roads``, ``power_lines`` and the
    facility tables) to skip reading them from the store. The grid-proximity figures
    need the villages, whatever ``levels`` says.
    """
    if not np.isfinite(grid_distance_m) or grid_distance_m <= 0:
        raise ValueError(f"'grid_distance_m' must be a positive number of metres, got {grid_distance_m!r}")
    layers = dict(layers or {})
    specs = {"roads": ["road_class", "surface", "hardened"], "power_lines": ["voltage_kv"],
             "schools": ["school_level", "meets_standard", "satellite"],
             "health_stations": ["meets_standard"], "markets": ["market_class", "meets_standard"],
             "culture_houses": ["scope", "meets_standard"]}
    for table, cols in specs.items():
        if table not in layers:
            layers[table] = read_layer(store, table, units, cols, pad_m=grid_distance_m if table == "power_lines" else 0)
    frames = {level: units.frame(level) for level in levels if not units.frame(level).empty}

    def power_part() -> list[pd.DataFrame]:
        lines = LineSet(layers["power_lines"].geometry.values)
        part = [power_indicators(frame, layers["power_lines"], level=level, whole=lines)
                for level, frame in frames.items()]
        distance = grid_proximity(units.villages, layers["power_lines"], max_distance_m=grid_distance_m)
        return part + [grid_share_indicators(units, distance, max_distance_m=grid_distance_m)]

    # power lines and the grid on a second thread while this one does roads and facilities:
    # GEOS and PROJ release the GIL, so both cores work
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ntm-power") as pool:
        power_future = pool.submit(power_part)
        out = []
        road_lines = LineSet(layers["roads"].geometry.values)
        for level, frame in frames.items():
            area = unit_area_km2(frame)
            out.append(_rows(frame["code"].to_numpy(), level, "area_km2", area, "km2"))
            out.append(road_indicators(frame, layers["roads"], level=level, area_km2=area,
                                       by_surface=level == "commune", whole=road_lines))
            facilities = {t: layers[t] for t in FACILITY_TABLES} if level == "commune" \
                else {"schools": layers["schools"], "culture_houses": layers["culture_houses"]}
            out.append(facility_indicators(frame, facilities, level=level))
        out += power_future.result()
    return pd.concat(out, ignore_index=True)

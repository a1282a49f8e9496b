"""A routable road graph in a metric CRS, and shortest distances along it.

Distances "along the road network" answer questions such as "which villages are more
than 5 km by road from a school?". The graph is built once per scope from the
``roads`` table and is meant to scale to a national store (about a million segments):
everything is vectorised (shapely 2, a KD-tree, ``scipy.sparse.csgraph``), with no
Python loop over roads or nodes.

How the network is modelled
---------------------------
- One **edge per road segment**, in the scope's VN-2000 TM-3 zone (``epsg``); its
  weight is the segment's length in metres, or its travel time in seconds at a speed
  given by road class and surface (``SpeedModel``, for travel-time analyses).
- **Nodes at segment ends**: ends closer than ``snap_tolerance_m`` (default 1 m) are one
  node (clusters are formed transitively, so a chain of ends each within 1 m of the next
  also merges). Segments are not noded where they merely cross (a bridge over a road
  is not a junction).
- **T-junctions**: a dangling end (a node of degree 1) lying within
  ``snap_tolerance_m`` of the interior of another segment is joined to that segment at
  the nearest point, because surveyed road tables often stop a village road *on* a
  district road without splitting it. The gap (at most the tolerance) is not counted.
- **Points** (villages, facilities) are snapped to the nearest segment within
  ``max_snap_m`` by *split-edge virtual nodes*: the segment is cut at the projected
  point, so two points on one segment reach each other along it directly. The straight
  "connector" from the point to the road is added to every network distance (walked, in
  the time model, at ``SpeedModel.off_road_kmh``). A point farther than ``max_snap_m``
  from every road is *off network*: it gets no network distance and is reported.
- Multi-source Dijkstra (``scipy.sparse.csgraph.dijkstra(..., min_only=True)``) gives,
  for every origin, the distance to the nearest target in one pass; an origin in a
  component of the network without any target is *unreachable*.

All geometry inputs of the functions below are already projected to the graph's CRS
(``to_metric``), except ``graph_from_roads``, which takes the store's EPSG:4326 frame.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from geo import crs as geo_crs

__all__ = [
    "DEFAULT_SNAP_TOLERANCE_M",
    "DEFAULT_MAX_SNAP_M",
    "STATUS_OK",
    "STATUS_OFF_NETWORK",
    "STATUS_UNREACHABLE",
    "SpeedModel",
    "DEFAULT_SPEEDS",
    "RoadGraph",
    "Snap",
    "NearestResult",
    "to_metric",
    "graph_from_lines",
    "graph_from_roads",
    "snap_points",
    "nearest_on_network",
    "distances_from",
]

log = logging.getLogger(__name__)

DEFAULT_SNAP_TOLERANCE_M = 1.0
DEFAULT_MAX_SNAP_M = 500.0
STATUS_OK = "ok"
STATUS_OFF_NETWORK = "off_network"  # farther than max_snap_m from every road
STATUS_UNREACHABLE = "unreachable"  # on a road, but no target in its part of the network
_MIN_WEIGHT = 1e-9  # zero-length pieces stay edges (scipy keeps explicit zeros, but be safe)
WEIGHTS = ("length", "time")


@dataclass(frozen=True)
class SpeedModel:
    """Travel speeds for the time weight: km/h by road class, times a surface factor.

    The defaults are planning assumptions, not official figures (UNVERIFIED): pass a
    province's own values where it has them. Unknown classes use ``default_kmh``;
    unknown or missing surfaces a factor of 1.
    """

    by_class_kmh: Mapping[str, float] = field(default_factory=lambda: {
        "quoc_lo": 60.0, "tinh_lo": 50.0, "huyen_lo": 40.0,
        "duong_xa": 30.0, "duong_thon": 20.0, "noi_dong": 15.0,
    })
    surface_factor: Mapping[str, float] = field(default_factory=lambda: {
        "asphalt": 1.0, "concrete": 1.0, "gravel": 0.7, "earth": 0.5,
    })
    default_kmh: float = 20.0
    off_road_kmh: float = 4.0  # walking the connector between a point and its road

    def __post_init__(self):
        values = [*self.by_class_kmh.values(), *self.surface_factor.values(), self.default_kmh, self.off_road_kmh]
        if not all(np.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"speeds and surface factors must be positive numbers, got {values}")

    def speeds_kmh(self, road_class, surface) -> np.ndarray:
        """Speed of each segment (km/h) from aligned class and surface arrays."""
        base = pd.Series(np.asarray(road_class, dtype=object)).map(dict(self.by_class_kmh))
        factor = pd.Series(np.asarray(surface, dtype=object)).map(dict(self.surface_factor))
        return base.fillna(self.default_kmh).to_numpy(float) * factor.fillna(1.0).to_numpy(float)


DEFAULT_SPEEDS = SpeedModel()


@functools.cache
def _transformer(epsg: int) -> Transformer:
    return Transformer.from_crs(geo_crs.STORE_CRS, f"EPSG:{epsg}", always_xy=True)


def to_metric(geoms, epsg: int) -> np.ndarray:
    """Geometries in EPSG:4326 projected to ``epsg`` (a TM-3 zone), as a shapely array."""
    tr = _transformer(int(epsg))
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return geoms
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


@dataclass
class RoadGraph:
    """Road segments as edges between merged end nodes, in the metric CRS ``epsg``.

    Attributes
    ----------
    lines
        One metric LineString per edge (used to snap points and measure offsets).
    u, v
        End nodes of each edge (``u`` at the line's start).
    length_m, time_s
        Edge weights.
    road_fid
        ``fid`` of the road row behind each edge (-1 when built from bare lines).
    node_xy
        Coordinates of the nodes.
    junction_edge, junction_offset_m, junction_node
        T-junctions: ``junction_node`` lies on ``junction_edge`` at that offset.
    """

    epsg: int
    lines: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    time_s: np.ndarray
    road_fid: np.ndarray
    node_xy: np.ndarray
    junction_edge: np.ndarray
    junction_offset_m: np.ndarray
    junction_node: np.ndarray
    snap_tolerance_m: float = DEFAULT_SNAP_TOLERANCE_M
    speeds: SpeedModel = DEFAULT_SPEEDS
    _tree: shapely.STRtree | None = field(default=None, repr=False)

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        return len(self.lines)

    @property
    def tree(self) -> shapely.STRtree:
        """Spatial index of the edge lines (built on first use)."""
        if self._tree is None:
            self._tree = shapely.STRtree(self.lines)
        return self._tree

    def rate(self, weight: str) -> np.ndarray:
        """Weight per metre of each edge: 1 for length, seconds per metre for time."""
        _check_weight(weight)
        if weight == "length":
            return np.ones(self.n_edges)
        return np.divide(self.time_s, self.length_m, out=np.zeros(self.n_edges), where=self.length_m > 0)

    def off_road_rate(self, weight: str) -> float:
        """Weight per metre of a connector between a point and the road."""
        _check_weight(weight)
        return 1.0 if weight == "length" else 3.6 / self.speeds.off_road_kmh

    def components(self) -> np.ndarray:
        """Connected-component label of every node (T-junctions included)."""
        matrix, _ = _matrix(self, [], "length")
        _, labels = connected_components(matrix, directed=False)
        return labels

    def summary(self) -> dict:
        """Counts for logs and reports: nodes, edges, km, components, largest share."""
        labels = self.components() if self.n_nodes else np.zeros(0, int)
        sizes = np.bincount(labels) if len(labels) else np.zeros(0, int)
        return {"epsg": self.epsg, "nodes": self.n_nodes, "edges": self.n_edges,
                "km": float(self.length_m.sum() / 1000.0), "t_junctions": int(len(self.junction_node)),
                "components": int(len(sizes)),
                "largest_component_share": float(sizes.max() / len(labels)) if len(labels) else 0.0}


def _check_weight(weight: str) -> None:
    if weight not in WEIGHTS:
        raise ValueError(f"'weight' must be one of {', '.join(WEIGHTS)}, got {weight!r}")


# --- building ---------------------------------------------------------------------------


def _merge_ends(xy: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Node label of each end point and the nodes' coordinates (first member of each)."""
    if len(xy) == 0:
        return np.zeros(0, int), np.zeros((0, 2))
    # identical ends first (most junctions), then the KD-tree on distinct points only
    cx, ux = pd.factorize(xy[:, 0])
    cy, uy = pd.factorize(xy[:, 1])
    exact, keys = pd.factorize(cx.astype(np.int64) * len(uy) + cy)
    distinct = np.column_stack([ux[keys // len(uy)], uy[keys % len(uy)]])
    n = len(distinct)
    pairs = cKDTree(distinct).query_pairs(r=max(tolerance, 0.0), output_type="ndarray")
    adjacency = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(adjacency, directed=False)
    # each node at its first member's position (first in input order)
    order = np.argsort(labels, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(labels[order])) + 1]
    return labels[exact], distinct[order[starts]]


def _t_junctions(lines, u, v, node_xy, tolerance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dangling nodes within ``tolerance`` of another segment's interior: (edge, offset, node)."""
    empty = (np.zeros(0, int), np.zeros(0), np.zeros(0, int))
    if tolerance <= 0 or len(lines) == 0:
        return empty
    degree = np.bincount(np.concatenate([u, v]), minlength=len(node_xy))
    dangling = np.flatnonzero(degree == 1)
    if len(dangling) == 0:
        return empty
    points = shapely.points(node_xy[dangling])
    pi, ei = shapely.STRtree(lines).query(points, predicate="dwithin", distance=tolerance)
    node = dangling[pi]
    keep = (u[ei] != node) & (v[ei] != node)  # not its own segment
    pi, ei, node = pi[keep], ei[keep], node[keep]
    if len(pi) == 0:
        return empty
    offset = shapely.line_locate_point(lines[ei], points[pi])
    gap = shapely.distance(lines[ei], points[pi])
    length = shapely.length(lines[ei])
    interior = (offset > tolerance) & (offset < length - tolerance)  # near an end: already merged or a gap
    pi, ei, node, offset, gap = pi[interior], ei[interior], node[interior], offset[interior], gap[interior]
    order = np.lexsort((gap, pi))  # nearest segment per dangling node
    pi, ei, node, offset = pi[order], ei[order], node[order], offset[order]
    first = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.zeros(0, bool)
    return ei[first], offset[first], node[first]


def graph_from_lines(
    lines,
    *,
    epsg: int,
    road_class=None,
    surface=None,
    road_fid=None,
    snap_tolerance_m: float = DEFAULT_SNAP_TOLERANCE_M,
    speeds: SpeedModel = DEFAULT_SPEEDS,
) -> RoadGraph:
    """A road graph from metric LineStrings (already in the CRS ``epsg``).

    Parameters
    ----------
    lines
        LineStrings in metres; missing, empty or multi-part geometries are refused.
    epsg
        The metric CRS the lines are in (kept on the graph).
    road_class, surface
        Aligned arrays of vocabulary codes, for travel times (None: default speed).
    road_fid
        Aligned ids of the road rows, kept per edge.
    snap_tolerance_m
        Segment ends closer than this are one node; dangling ends this close to another
        segment join it (T-junctions).
    speeds
        Speeds for the time weight.

    Raises
    ------
    ValueError
        A geometry that is not a single LineString, or a negative tolerance.
    """
    lines = np.asarray(lines, dtype=object)
    if not np.isfinite(snap_tolerance_m) or snap_tolerance_m < 0:
        raise ValueError(f"'snap_tolerance_m' must be a number ≥ 0 of metres, got {snap_tolerance_m!r}")
    if len(lines):
        bad = shapely.is_missing(lines) | (shapely.get_type_id(lines) != 1)
        bad[~bad] = shapely.is_empty(lines[~bad])
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(f"road segment {k} is not a single, non-empty LineString "
                             f"({lines[k] if lines[k] is None else lines[k].geom_type}); "
                             f"{int(bad.sum())} such segment(s) in all")
    n = len(lines)
    coords = shapely.get_coordinates(lines)
    last = np.cumsum(shapely.get_num_coordinates(lines)) - 1 if n else np.zeros(0, int)
    first = np.r_[0, last[:-1] + 1] if n else np.zeros(0, int)
    labels, node_xy = _merge_ends(np.vstack([coords[first], coords[last]]), snap_tolerance_m)
    u, v = labels[:n], labels[n:]
    length = shapely.length(lines) if n else np.zeros(0)
    cls = np.full(n, None, dtype=object) if road_class is None else np.asarray(road_class, dtype=object)
    sur = np.full(n, None, dtype=object) if surface is None else np.asarray(surface, dtype=object)
    time_s = length / (speeds.speeds_kmh(cls, sur) / 3.6) if n else np.zeros(0)
    fids = np.full(n, -1, dtype=np.int64) if road_fid is None else np.asarray(road_fid, dtype=np.int64)
    j_edge, j_offset, j_node = _t_junctions(lines, u, v, node_xy, snap_tolerance_m)
    graph = RoadGraph(epsg=int(epsg), lines=lines, u=u.astype(np.int64), v=v.astype(np.int64),
                      length_m=length, time_s=time_s, road_fid=fids, node_xy=node_xy,
                      junction_edge=j_edge, junction_offset_m=j_offset, junction_node=j_node,
                      snap_tolerance_m=float(snap_tolerance_m), speeds=speeds)
    log.info("road graph: %d segments, %d nodes, %d T-junctions (EPSG:%d)", n, len(node_xy), len(j_node), epsg)
    return graph


def graph_from_roads(
    roads: gpd.GeoDataFrame,
    *,
    epsg: int,
    snap_tolerance_m: float = DEFAULT_SNAP_TOLERANCE_M,
    speeds: SpeedModel = DEFAULT_SPEEDS,
) -> RoadGraph:
    """A road graph from a ``roads`` frame of the store (EPSG:4326), projected to ``epsg``.

    Multi-part lines are split into their parts (each an edge); rows without geometry
    are left out. ``road_class``, ``surface`` and ``fid`` are used when present.

    See Also
    --------
    graph_from_lines
    """
    if roads.crs is not None and roads.crs.to_epsg() != 4326:
        raise ValueError(f"'roads' must be in EPSG:4326 (the store's CRS), got {roads.crs}")
    geoms = np.asarray(roads.geometry.values, dtype=object)
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) if len(geoms) else np.zeros(0, bool)
    parts, rows = geoms[usable], np.flatnonzero(usable)
    if len(parts) and (shapely.get_type_id(parts) != 1).any():  # multi-part lines: one edge per part
        parts, index = shapely.get_parts(parts, return_index=True)
        rows = rows[index]
    if len(parts) and shapely.has_z(parts).any():
        parts = shapely.force_2d(parts)

    def column(name):
        return roads[name].to_numpy(dtype=object)[rows] if name in roads.columns else None

    fids = roads["fid"].to_numpy(dtype=np.int64)[rows] if "fid" in roads.columns else None
    return graph_from_lines(to_metric(parts, epsg), epsg=epsg, road_class=column("road_class"),
                            surface=column("surface"), road_fid=fids,
                            snap_tolerance_m=snap_tolerance_m, speeds=speeds)


# --- snapping points ----------------------------------------------------------------------


@dataclass
class Snap:
    """Where points meet the network: their edge, the offset along it, the connector.

    ``edge`` is -1 for a point farther than the snapping distance from every road
    (``connector_m`` NaN); ``offset_m`` is measured from the edge's ``u`` end.
    """

    edge: np.ndarray
    offset_m: np.ndarray
    connector_m: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        return self.edge >= 0

    def __len__(self) -> int:
        return len(self.edge)


def snap_points(graph: RoadGraph, points, *, max_snap_m: float = DEFAULT_MAX_SNAP_M) -> Snap:
    """Snap metric points to their nearest road segment within ``max_snap_m`` metres.

    Ties (a point equally near two segments, e.g. at a junction) go to the first
    segment; the network distance is the same either way.
    """
    if not np.isfinite(max_snap_m) or max_snap_m < 0:
        raise ValueError(f"'max_snap_m' must be a number ≥ 0 of metres, got {max_snap_m!r}")
    points = np.asarray(points, dtype=object)
    n = len(points)
    edge = np.full(n, -1, dtype=np.int64)
    offset = np.full(n, np.nan)
    connector = np.full(n, np.nan)
    if n == 0 or graph.n_edges == 0:
        return Snap(edge, offset, connector)
    (pi, ei), dist = graph.tree.query_nearest(points, max_distance=max_snap_m, return_distance=True,
                                              all_matches=False)
    edge[pi] = ei
    connector[pi] = dist
    offset[pi] = shapely.line_locate_point(graph.lines[ei], points[pi])
    return Snap(edge, offset, connector)


def _concat(snaps: list[Snap]) -> Snap:
    if not snaps:
        return Snap(np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    return Snap(np.concatenate([s.edge for s in snaps]), np.concatenate([s.offset_m for s in snaps]),
                np.concatenate([s.connector_m for s in snaps]))


# --- the routing matrix -------------------------------------------------------------------


def _matrix(graph: RoadGraph, snaps: list[Snap], weight: str) -> tuple[csr_matrix, list[np.ndarray]]:
    """The sparse matrix of the graph with every snapped point as a node on its edge.

    Each edge carrying points (and T-junctions) is replaced by the chain
    u → p1 → … → pk → v ordered by offset. Returns the matrix (upper triangle, for
    ``directed=False``) and, per Snap, the node id of each point (-1 when not snapped).
    """
    rate = graph.rate(weight)
    both = _concat(snaps)
    ok = both.ok
    n_virtual = int(ok.sum())
    virtual_ids = np.full(len(both), -1, dtype=np.int64)
    virtual_ids[ok] = graph.n_nodes + np.arange(n_virtual)
    # points on edges: T-junctions (existing nodes) and snapped points (new nodes)
    p_edge = np.concatenate([graph.junction_edge, both.edge[ok]])
    p_off = np.concatenate([graph.junction_offset_m, both.offset_m[ok]])
    p_node = np.concatenate([graph.junction_node, virtual_ids[ok]])
    order = np.lexsort((p_off, p_edge))
    p_edge, p_off, p_node = p_edge[order], p_off[order], p_node[order]
    touched = np.zeros(graph.n_edges, dtype=bool)
    touched[p_edge] = True
    # untouched edges as they are
    keep = ~touched
    src = [graph.u[keep]]
    dst = [graph.v[keep]]
    w = [graph.length_m[keep] * rate[keep]]
    if len(p_edge):
        first = np.r_[True, p_edge[1:] != p_edge[:-1]]
        last = np.r_[p_edge[1:] != p_edge[:-1], True]
        r = rate[p_edge]
        # u -> first point of each edge
        src.append(graph.u[p_edge[first]])
        dst.append(p_node[first])
        w.append(p_off[first] * r[first])
        # consecutive points along an edge
        inner = ~last
        src.append(p_node[inner])
        dst.append(p_node[1:][inner[:-1]])
        w.append((p_off[1:][inner[:-1]] - p_off[:-1][inner[:-1]]) * r[:-1][inner[:-1]])
        # last point -> v
        src.append(p_node[last])
        dst.append(graph.v[p_edge[last]])
        w.append((graph.length_m[p_edge[last]] - p_off[last]) * r[last])
    src, dst, w = np.concatenate(src), np.concatenate(dst), np.concatenate(w)
    w = np.maximum(w, _MIN_WEIGHT)
    n = graph.n_nodes + n_virtual
    matrix = _symmetric_min(src, dst, w, n)
    ids, start = [], 0
    for s in snaps:
        ids.append(virtual_ids[start:start + len(s)])
        start += len(s)
    return matrix, ids


def _symmetric_min(src, dst, w, n) -> csr_matrix:
    """Upper-triangular CSR keeping the lightest of parallel edges; self-loops dropped."""
    a, b = np.minimum(src, dst), np.maximum(src, dst)
    loop = a == b
    a, b, w = a[~loop], b[~loop], w[~loop]
    order = np.lexsort((w, b, a))
    a, b, w = a[order], b[order], w[order]
    first = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])] if len(a) else np.zeros(0, bool)
    return csr_matrix((w[first], (a[first], b[first])), shape=(n, n))


def _with_sources(matrix: csr_matrix, attach: np.ndarray, weights: np.ndarray) -> tuple[csr_matrix, np.ndarray]:
    """Add one leaf node per source, tied to its node ``attach`` by its connector weight."""
    n = matrix.shape[0]
    k = len(attach)
    leaves = n + np.arange(k)
    base = matrix.tocoo()
    rows = np.concatenate([base.row, attach])
    cols = np.concatenate([base.col, leaves])
    data = np.concatenate([base.data, np.maximum(weights, _MIN_WEIGHT)])
    return csr_matrix((data, (rows, cols)), shape=(n + k, n + k)), leaves


# --- shortest distances -------------------------------------------------------------------


@dataclass
class NearestResult:
    """Per origin: network distance to the nearest target, which target, and a status.

    ``distance`` (metres or seconds, by the weight used) is NaN unless ``status`` is
    ``"ok"``; ``target`` is the target's position (-1 when none); ``status`` is ok,
    off_network (origin farther than the snapping distance from every road) or
    unreachable (no snapped target in the origin's part of the network, or beyond
    ``limit``).
    """

    distance: np.ndarray
    target: np.ndarray
    status: np.ndarray


def nearest_on_network(
    graph: RoadGraph,
    origins: Snap,
    targets: Snap,
    *,
    weight: str = "length",
    limit: float = np.inf,
) -> NearestResult:
    """Network distance from every origin to its nearest target (multi-source Dijkstra).

    Distances include both connectors (origin → road, road → target). Targets that did
    not snap are ignored. ``limit`` stops the search at that distance (faster when only
    "within D?" matters); origins beyond it are reported unreachable.

    Examples
    --------
    >>> g = graph_from_lines([shapely.LineString([(0, 0), (1000, 0)])], epsg=9207)
    >>> o = snap_points(g, shapely.points([(100, 10)]))
    >>> t = snap_points(g, shapely.points([(900, 0)]))
    >>> round(float(nearest_on_network(g, o, t).distance[0]), 3)  # 10 m connector + 800 m road
    810.0
    """
    _check_weight(weight)
    n = len(origins)
    distance = np.full(n, np.nan)
    target = np.full(n, -1, dtype=np.int64)
    status = np.where(origins.ok, STATUS_UNREACHABLE, STATUS_OFF_NETWORK).astype(object)
    if not origins.ok.any() or not targets.ok.any():
        return NearestResult(distance, target, status)
    matrix, (o_nodes, t_nodes) = _matrix(graph, [origins, targets], weight)
    off = graph.off_road_rate(weight)
    t_ok = np.flatnonzero(targets.ok)
    matrix, leaves = _with_sources(matrix, t_nodes[t_ok], targets.connector_m[t_ok] * off)
    dist, _, sources = dijkstra(matrix, directed=False, indices=leaves, min_only=True,
                                return_predecessors=True, limit=limit)
    o_ok = np.flatnonzero(origins.ok)
    d = dist[o_nodes[o_ok]] + origins.connector_m[o_ok] * off
    found = np.isfinite(d) & (d <= limit)
    leaf_to_target = np.full(matrix.shape[0], -1, dtype=np.int64)
    leaf_to_target[leaves] = t_ok
    src = sources[o_nodes[o_ok]]
    hit = o_ok[found]
    distance[hit] = d[found]
    target[hit] = leaf_to_target[src[found]]
    status[hit] = STATUS_OK
    return NearestResult(distance, target, status)


def distances_from(
    graph: RoadGraph,
    source: Snap,
    targets: Snap,
    *,
    weight: str = "length",
    limit: float = np.inf,
) -> np.ndarray:
    """Network distance from one snapped point to each target (NaN: off network or unreachable).

    ``source`` holds exactly one point; used for "the nearest N facilities by road".
    """
    _check_weight(weight)
    if len(source) != 1:
        raise ValueError(f"'source' must hold exactly one point, got {len(source)}")
    out = np.full(len(targets), np.nan)
    if not source.ok[0] or not targets.ok.any():
        return out
    matrix, (s_node, t_nodes) = _matrix(graph, [source, targets], weight)
    off = graph.off_road_rate(weight)
    dist = dijkstra(matrix, directed=False, indices=int(s_node[0]), limit=limit)
    t_ok = np.flatnonzero(targets.ok)
    d = dist[t_nodes[t_ok]] + (source.connector_m[0] + targets.connector_m[t_ok]) * off
    out[t_ok] = np.where(np.isfinite(d) & (d <= limit), d, np.nan)
    return out

"""Distance from villages and communes to the nearest facility, straight-line and by road.

Criteria 4 (electricity), 5 (schools), 6 (culture), 7 (markets) and 15 (health) of QĐ 318
ask whether people can reach the grid, a school, a culture house, a market or a health
station. For every unit of a scope this module measures,
in metres, the distance from the unit's representative point to the nearest facility
of a type: straight-line (an STRtree nearest query) and along the road network
(``layers.road_graph``), with units off the network or cut off from every facility
reported as such rather than given a number.

Choices
-------
- **Where a unit is**: a point inside its polygon (``shapely.point_on_surface``), not
  the centroid, which can fall outside a crescent-shaped commune.
- **Metric CRS**: one VN-2000 TM-3 zone per call: the zone of the scope's province
  (``provinces.tm3_epsg``) when every unit lies in one province, else the zone whose
  central meridian is nearest the scope's centre (``scope_zone``). Across all of Vietnam
  the scale error of one zone stays below about 0.2 %; a province is measured exactly in
  its own zone. Straight-line and network distances share the zone, so a road distance is
  never shorter than the straight line (less the ≤ 1 m gaps the graph closes at ends and
  T-junctions).
- **Facilities outside the scope count**: a school across the commune or province
  border can be the nearest. Facilities are read in the scope's box widened by
  ``facility_pad_m``; units whose nearest one is farther than that are measured again
  against every facility of the store, so the answer is exact.
- **Roads** are read in the scope's box widened by ``road_pad_m`` (routes leaving that
  box are not considered).
- **Power lines** are lines: straight-line distance is to the nearest point of a line;
  by road, the line is reached at points sampled every ``line_sample_m`` along it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import crs as geo_crs
from . import road_graph, vocab
from .indicator_units import UnitSet, load_units
from .infrastructure import LAYERS, LayerSpec
from .store import Store

__all__ = [
    "FACILITY_TYPES",
    "MODES",
    "LEVELS",
    "UnknownFacilityType",
    "facility_spec",
    "parse_filters",
    "scope_zone",
    "Scope",
    "load_scope",
    "unit_points",
    "pad_bounds",
    "read_facilities",
    "facilities_near",
    "straight_nearest",
    "facility_targets",
    "network_nearest",
    "access_table",
    "access_shares",
]

log = logging.getLogger(__name__)

# Every point or line layer people travel to (roads are the way, projects are not places).
FACILITY_TYPES: tuple[str, ...] = tuple(name for name in LAYERS if name not in ("roads", "projects"))
MODES = ("straight", "network")
LEVELS = ("village", "commune")
DEFAULT_FACILITY_PAD_M = 20_000.0
DEFAULT_ROAD_PAD_M = 5_000.0
DEFAULT_LINE_SAMPLE_M = 250.0
_DEG_PER_M = 1.5 / 100_000  # a generous number of degrees per metre anywhere in Vietnam


class UnknownFacilityType(ValueError):
    """A facility type that is not a point or line layer; the message lists the valid ones."""


def facility_spec(name: str) -> LayerSpec:
    """The layer of a facility type, or ``UnknownFacilityType`` listing the valid types."""
    if name not in FACILITY_TYPES:
        raise UnknownFacilityType(
            f"unknown facility type {str(name)[:60]!r}; facility types: {', '.join(FACILITY_TYPES)}")
    return LAYERS[name]


def parse_filters(facility_type: str, filters: Mapping[str, object] | None) -> dict[str, object]:
    """Checked equality filters on a facility layer's fields (``{"school_level": "th"}``).

    Vocabulary fields accept codes, labels and aliases; yes/no fields the usual
    spellings; numbers are numbers. Unknown fields and values raise ``ValueError``
    naming the field and what it accepts.
    """
    spec = facility_spec(facility_type)
    out: dict[str, object] = {}
    for name, value in (filters or {}).items():
        if name not in spec.field_names:
            raise ValueError(f"facility filter: {facility_type} have no field {name!r}; "
                             f"fields: {', '.join(spec.field_names)}")
        f = spec.field(name)
        if f.vocab_kind:
            code = vocab.match_vocab(f.vocab_kind, value)
            if code is None:
                raise ValueError(f"facility filter {name}: {value!r} is not a known {f.label or name}; "
                                 f"accepted: {vocab.accepted_values(f.vocab_kind)}")
            out[name] = code
        elif f.type == "bool":
            parsed = vocab.parse_bool(value)
            if parsed is None:
                raise ValueError(f"facility filter {name}: expected yes or no, got {value!r}")
            out[name] = parsed
        elif f.type in ("integer", "real"):
            try:
                out[name] = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"facility filter {name}: expected a number, got {value!r}") from None
        else:
            out[name] = str(value)
    return out


def _filter_sql(filters: Mapping[str, object]) -> tuple[str | None, list]:
    if not filters:
        return None, []
    clauses = [f'"{name}" = ?' for name in filters]  # names checked against the layer spec
    params = [int(v) if isinstance(v, bool) else v for v in filters.values()]
    return " AND ".join(clauses), params


# --- the scope ----------------------------------------------------------------------------


def scope_zone(units: UnitSet) -> int:
    """EPSG code of the TM-3 zone distances of ``units`` are measured in.

    The province's zone when all units share one; otherwise the zone nearest the
    longitude of the centre of the units' bounding box.
    """
    codes = np.unique(np.concatenate([units.communes["epsg"].to_numpy(), units.villages["epsg"].to_numpy()]))
    if len(codes) == 1:
        return int(codes[0])
    bounds = units.bounds()
    if bounds is None:
        raise LookupError(f"scope {units.scope!r} holds no commune in {units.year}")
    return geo_crs.tm3_zone_for_lon((bounds[0] + bounds[2]) / 2)


@dataclass
class Scope:
    """The units of a query, their metric zone, and the road graph (built on first use)."""

    store: Store
    units: UnitSet
    epsg: int
    road_pad_m: float = DEFAULT_ROAD_PAD_M
    speeds: road_graph.SpeedModel = road_graph.DEFAULT_SPEEDS
    snap_tolerance_m: float = road_graph.DEFAULT_SNAP_TOLERANCE_M
    _graph: road_graph.RoadGraph | None = field(default=None, repr=False)

    @property
    def graph(self) -> road_graph.RoadGraph:
        if self._graph is None:
            bounds = self.units.bounds()
            if bounds is None or self.units.scope is None:
                roads = self.store.read_features("roads", columns=["road_class", "surface"])
            else:
                roads = self.store.read_features("roads", columns=["road_class", "surface"],
                                                 bbox=pad_bounds(bounds, self.road_pad_m))
            self._graph = road_graph.graph_from_roads(roads, epsg=self.epsg, snap_tolerance_m=self.snap_tolerance_m,
                                                      speeds=self.speeds)
        return self._graph

    @graph.setter
    def graph(self, value: road_graph.RoadGraph) -> None:
        if value.epsg != self.epsg:
            raise ValueError(f"the road graph is in EPSG:{value.epsg}, the scope in EPSG:{self.epsg}")
        self._graph = value


def load_scope(store: Store, scope: str | None = None, year: int | None = None, *,
               road_pad_m: float = DEFAULT_ROAD_PAD_M, speeds: road_graph.SpeedModel = road_graph.DEFAULT_SPEEDS,
               snap_tolerance_m: float = road_graph.DEFAULT_SNAP_TOLERANCE_M) -> Scope:
    """Communes and villages of ``scope`` valid at the end of ``year`` (default: this year).

    Raises
    ------
    LookupError
        ``scope`` is not a unit of the store or holds no commune that year.
    """
    year = dt.date.today().year if year is None else year
    units = load_units(store, scope, year)
    if units.communes.empty:
        raise LookupError(f"the store holds no commune valid in {year}")
    if not np.isfinite(road_pad_m) or road_pad_m < 0:
        raise ValueError(f"'road_pad_m' must be a number ≥ 0 of metres, got {road_pad_m!r}")
    return Scope(store, units, scope_zone(units), road_pad_m=road_pad_m, speeds=speeds,
                 snap_tolerance_m=snap_tolerance_m)


def pad_bounds(bounds, metres: float) -> tuple[float, float, float, float]:
    """A lon/lat box widened by at least ``metres`` on every side (anywhere in Vietnam)."""
    pad = metres * _DEG_PER_M
    return (bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad)


def unit_points(units: gpd.GeoDataFrame) -> np.ndarray:
    """Representative point of each unit (inside its polygon), EPSG:4326."""
    return shapely.point_on_surface(np.asarray(units.geometry.values, dtype=object))


# --- facilities -----------------------------------------------------------------------------


def read_facilities(store: Store, facility_type: str, *, bbox=None,
                    filters: Mapping[str, object] | None = None) -> gpd.GeoDataFrame:
    """Features of a facility layer (all columns), optionally in a box and filtered."""
    facility_spec(facility_type)
    where, params = _filter_sql(parse_filters(facility_type, filters))
    return store.read_features(LAYERS[facility_type].table, where, params, bbox=bbox)


def straight_nearest(points, facilities, *, max_distance_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Metres from each metric point to the nearest metric facility (point or line).

    Returns (distance, position of the facility); NaN and -1 where none lies within
    ``max_distance_m`` (None: no limit).
    """
    points = np.asarray(points, dtype=object)
    facilities = np.asarray(facilities, dtype=object)
    dist = np.full(len(points), np.nan)
    which = np.full(len(points), -1, dtype=np.int64)
    if len(points) == 0 or len(facilities) == 0:
        return dist, which
    tree = shapely.STRtree(facilities)
    (pi, fi), d = tree.query_nearest(points, max_distance=max_distance_m, return_distance=True, all_matches=False)
    dist[pi], which[pi] = d, fi
    return dist, which


def facilities_near(store: Store, facility_type: str, points, epsg: int, *, pad_m: float = DEFAULT_FACILITY_PAD_M,
                    filters: Mapping[str, object] | None = None) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    """Straight-line nearest facility of each point (EPSG:4326), exact.

    Reads the facilities within ``pad_m`` of the points' box; points whose nearest is
    farther (or missing) are measured again against all facilities of the store.

    Returns
    -------
    (facilities, distance_m, position)
        The facilities read (EPSG:4326, with ``fid``), and per point the metres to the
        nearest and its row in that frame (NaN / -1 when the layer is empty).
    """
    points = np.asarray(points, dtype=object)
    if len(points) == 0:
        return read_facilities(store, facility_type, bbox=(0, 0, 0, 0), filters=filters), np.zeros(0), np.zeros(0, int)
    bounds = shapely.total_bounds(points)
    facilities = read_facilities(store, facility_type, bbox=pad_bounds(bounds, pad_m), filters=filters)
    metric_points = road_graph.to_metric(points, epsg)
    dist, which = straight_nearest(metric_points, road_graph.to_metric(facilities.geometry.values, epsg))
    again = ~(dist <= pad_m)
    if again.any():
        everything = read_facilities(store, facility_type, filters=filters)
        if len(everything) > len(facilities):
            facilities = everything
            dist, which = straight_nearest(metric_points, road_graph.to_metric(facilities.geometry.values, epsg))
    return facilities, dist, which


def facility_targets(facilities: gpd.GeoDataFrame, epsg: int, *,
                     line_sample_m: float = DEFAULT_LINE_SAMPLE_M) -> tuple[np.ndarray, np.ndarray]:
    """Points by which facilities are reached on the network: (metric points, facility row).

    A point facility is itself; a line (power line) is represented by points every
    ``line_sample_m`` along it, its two ends included.
    """
    if not np.isfinite(line_sample_m) or line_sample_m <= 0:
        raise ValueError(f"'line_sample_m' must be a positive number of metres, got {line_sample_m!r}")
    geoms = road_graph.to_metric(facilities.geometry.values, epsg)
    if len(geoms) == 0:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    is_line = np.isin(shapely.get_type_id(geoms), [1, 5])
    points = geoms[~is_line]
    rows = np.flatnonzero(~is_line)
    if is_line.any():
        # evenly spaced points (both ends included), whatever the density of the vertices
        lines = geoms[is_line]
        length = shapely.length(lines)
        count = np.ceil(length / line_sample_m).astype(np.int64) + 1
        which = np.repeat(np.arange(len(lines)), count)
        k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        at = np.minimum(k * line_sample_m, length[which])
        points = np.concatenate([points, shapely.line_interpolate_point(lines[which], at)])
        rows = np.concatenate([rows, np.flatnonzero(is_line)[which]])
    return points, rows.astype(np.int64)


def network_nearest(graph: road_graph.RoadGraph, points, facilities: gpd.GeoDataFrame, *,
                    max_snap_m: float = road_graph.DEFAULT_MAX_SNAP_M, weight: str = "length",
                    line_sample_m: float = DEFAULT_LINE_SAMPLE_M, limit: float = np.inf
                    ) -> tuple[road_graph.NearestResult, np.ndarray]:
    """Road distance from each metric point to the nearest facility (EPSG:4326 frame).

    ``points`` may be a ``road_graph.Snap`` already made (snap once, ask for many
    facility types). Returns the ``NearestResult`` (``target`` = row of ``facilities``)
    and the connector length of each point (metres to its road; NaN when off network).
    """
    targets, rows = facility_targets(facilities, graph.epsg, line_sample_m=line_sample_m)
    origins = points if isinstance(points, road_graph.Snap) else \
        road_graph.snap_points(graph, points, max_snap_m=max_snap_m)
    snapped = road_graph.snap_points(graph, targets, max_snap_m=max_snap_m)
    result = road_graph.nearest_on_network(graph, origins, snapped, weight=weight, limit=limit)
    found = result.target >= 0
    result.target[found] = rows[result.target[found]]
    return result, origins.connector_m


def _fid_column(fids: np.ndarray, which: np.ndarray) -> pd.arrays.IntegerArray:
    """``fids[which]`` as nullable integers, NA where ``which`` is -1."""
    values = fids[np.maximum(which, 0)] if len(fids) else np.zeros(len(which), dtype=np.int64)
    return pd.arrays.IntegerArray(values.astype(np.int64), which < 0)


def _check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{name!r} must be one of {', '.join(allowed)}, got {value!r}")


def access_table(
    store: Store,
    *,
    scope: str | Scope | None = None,
    year: int | None = None,
    level: str = "village",
    facility_types: Iterable[str] | None = None,
    modes: Iterable[str] = MODES,
    weight: str = "length",
    max_snap_m: float = road_graph.DEFAULT_MAX_SNAP_M,
    facility_pad_m: float = DEFAULT_FACILITY_PAD_M,
    line_sample_m: float = DEFAULT_LINE_SAMPLE_M,
    filters: Mapping[str, Mapping[str, object]] | None = None,
) -> pd.DataFrame:
    """Distance from every village (or commune) of a scope to the nearest facility of each type.

    Parameters
    ----------
    store
        The store to read.
    scope
        A province or district code (None: the whole store), or a ``Scope`` already
        loaded (its road graph is reused).
    year
        Units valid at the end of this year (default: this year); ignored with a Scope.
    level
        ``"village"`` or ``"commune"``.
    facility_types
        Subset of ``FACILITY_TYPES`` (default: all).
    modes
        ``"straight"`` and/or ``"network"``.
    weight
        Network weight: ``"length"`` (metres) or ``"time"`` (seconds, ``SpeedModel``).
    max_snap_m
        Points farther than this from every road are off network.
    facility_pad_m, line_sample_m
        See the module notes.
    filters
        Per facility type, equality filters (``{"schools": {"school_level": "tieu_hoc"}}``).

    Returns
    -------
    DataFrame
        One row per unit and facility type: unit_code, name, commune_code, level,
        facility_type, epsg, straight_m, straight_fid, then (network mode) network_m
        (metres, or seconds with the time weight), network_fid, network_status (ok,
        off_network, unreachable) and connector_m (unit point to its road).

    See Also
    --------
    layers.queries.far_from_facility, layers.road_graph.nearest_on_network
    """
    _check_choice("level", level, LEVELS)
    modes = tuple(modes)
    for m in modes:
        _check_choice("mode", m, MODES)
    types = tuple(FACILITY_TYPES if facility_types is None else facility_types)
    for t in types:
        facility_spec(t)
    filters = dict(filters or {})
    for t in filters:
        facility_spec(t)
    sc = scope if isinstance(scope, Scope) else load_scope(store, scope, year)
    units = sc.units.frame(level)
    points = unit_points(units)
    metric_points = road_graph.to_metric(points, sc.epsg)
    base = pd.DataFrame({
        "unit_code": units["code"].to_numpy(),
        "name": units["name"].to_numpy(),
        "commune_code": (units["commune"] if level == "village" else units["code"]).to_numpy(),
        "level": level,
    })
    if level == "village":
        base["population"] = units["population"].to_numpy()
    origins = None
    if "network" in modes:  # snapped once for every facility type
        origins = road_graph.snap_points(sc.graph, metric_points, max_snap_m=max_snap_m)
    out = []
    for t in types:
        frame = base.copy()
        frame["facility_type"] = t
        frame["epsg"] = sc.epsg
        facilities, dist, which = facilities_near(store, t, points, sc.epsg, pad_m=facility_pad_m,
                                                  filters=filters.get(t))
        fids = facilities["fid"].to_numpy(dtype=np.int64)
        if "straight" in modes:
            frame["straight_m"] = dist
            frame["straight_fid"] = _fid_column(fids, which)
        if "network" in modes:
            reach = facilities
            if sc.units.scope is not None:  # facilities the scope's roads can reach
                bounds = sc.units.bounds()
                reach = read_facilities(store, t, bbox=pad_bounds(bounds, sc.road_pad_m), filters=filters.get(t))
            result, connector = network_nearest(sc.graph, origins, reach, max_snap_m=max_snap_m,
                                                weight=weight, line_sample_m=line_sample_m)
            rfids = reach["fid"].to_numpy(dtype=np.int64)
            frame["network_m"] = result.distance
            frame["network_fid"] = _fid_column(rfids, result.target)
            frame["network_status"] = result.status
            frame["connector_m"] = connector
        out.append(frame)
    table = pd.concat(out, ignore_index=True) if out else base.assign(facility_type=pd.Series(dtype=object))
    log.info("access: %d %s(s) × %d facility type(s), modes %s, EPSG:%d", len(base), level, len(types),
             "+".join(modes), sc.epsg)
    return table


def access_shares(table: pd.DataFrame, distances_m: Iterable[float] = (1000.0, 2000.0, 5000.0)) -> pd.DataFrame:
    """Per commune, facility type and distance: the share of villages and of population
    within that distance, straight-line and (when measured) by road.

    ``table`` is a village-level ``access_table``. Villages without a distance (no
    facility, off network, unreachable) count as beyond every distance; villages without
    a recorded population count for the village share only.

    Returns
    -------
    DataFrame
        commune_code, facility_type, mode, distance_m, villages, villages_within,
        villages_share, population, population_within, population_share (NaN when the
        commune's population is unknown).
    """
    if table.empty or (table["level"] != "village").any():
        raise ValueError("'table' must be a non-empty village-level access_table")
    distances = sorted({float(d) for d in distances_m})
    if not distances or not all(np.isfinite(d) and d >= 0 for d in distances):
        raise ValueError(f"'distances_m' must be numbers ≥ 0 of metres, got {list(distances_m)!r}")
    pop = table["population"].astype("float64")
    out = []
    for mode, column in (("straight", "straight_m"), ("network", "network_m")):
        if column not in table.columns:
            continue
        for d in distances:
            within = (table[column] <= d).to_numpy()
            frame = pd.DataFrame({"commune_code": table["commune_code"].to_numpy(),
                                  "facility_type": table["facility_type"].to_numpy(),
                                  "villages": 1, "villages_within": within.astype(int),
                                  "population": pop.fillna(0).to_numpy(),
                                  "population_within": (pop.fillna(0) * within).to_numpy(),
                                  "known": pop.notna().to_numpy()})
            agg = frame.groupby(["commune_code", "facility_type"], sort=True).agg(
                villages=("villages", "sum"), villages_within=("villages_within", "sum"),
                population=("population", "sum"), population_within=("population_within", "sum"),
                known=("known", "any")).reset_index()
            agg["villages_share"] = agg["villages_within"] / agg["villages"]
            agg["population_share"] = np.where(agg["known"] & (agg["population"] > 0),
                                               agg["population_within"] / agg["population"].where(
                                                   agg["population"] > 0, 1), np.nan)
            agg.insert(2, "mode", mode)
            agg.insert(3, "distance_m", d)
            out.append(agg.drop(columns="known"))
    return pd.concat(out, ignore_index=True)

"""The road graph on a tiny network whose answers are worked out by hand (metres).

    S1 (0,1500) ━━━━━━━━━━━━━━━━━━━━━━━━┓ west road, then the north road at x = 3000
    (0,0) ━━━━━━━ S2 (2000,0) ━━━━━━━━━━━┻━━━ (4000,0) ━━ (5000,0) · (5000.4,0) ━━ (6000,0)
     V (0,-50)          ┃ T-road x = 1500 from y = -1000 up to y = -0.5 (not noded)
    a detour (2000,0) → (2500,400) → (3000,0) runs beside the second segment
    a stub (0,0) → (-1000,0); an isolated road (10000,10000) → (11000,10000)
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from layers import road_graph as rg

LINES = [
    shapely.LineString([(0, 0), (2000, 0)]),  # 0 main
    shapely.LineString([(2000, 0), (3000, 0)]),  # 1 main
    shapely.LineString([(3000, 0), (4000, 0)]),  # 2 main
    shapely.LineString([(3000, 0), (3000, 1500)]),  # 3 north
    shapely.LineString([(3000, 1500), (0, 1500)]),  # 4 west, ends at S1
    shapely.LineString([(2000, 0), (2500, 400), (3000, 0)]),  # 5 detour, parallel to 1
    shapely.LineString([(1500, -1000), (1500, -0.5)]),  # 6 T-road stopping 0.5 m short of 0
    shapely.LineString([(4000, 0), (5000, 0)]),  # 7
    shapely.LineString([(5000.4, 0), (6000, 0)]),  # 8 starts 0.4 m from 7's end
    shapely.LineString([(10000, 10000), (11000, 10000)]),  # 9 isolated
    shapely.LineString([(0, 0), (-1000, 0)]),  # 10 west stub
]
V = (0.0, -50.0)
S1, S2 = (0.0, 1500.0), (2000.0, 0.0)


@pytest.fixture(scope="module")
def graph():
    classes = ["huyen_lo"] * len(LINES)
    surfaces = ["asphalt"] * len(LINES)
    return rg.graph_from_lines(LINES, epsg=9208, road_class=classes, surface=surfaces)


def _snap(graph, *xy, max_snap_m=500.0):
    return rg.snap_points(graph, shapely.points(list(xy)), max_snap_m=max_snap_m)


def test_nodes_merge_within_tolerance_and_t_junctions_join(graph):
    # 14 distinct ends; (5000,0) and (5000.4,0) merge; the T-road's top end joins segment 0
    assert graph.n_edges == len(LINES)
    assert graph.n_nodes == 13
    assert graph.junction_edge.tolist() == [0]
    assert graph.junction_offset_m[0] == pytest.approx(1500.0)
    assert graph.u[8] == graph.v[7]
    summary = graph.summary()
    assert summary["components"] == 2  # the isolated road
    assert summary["km"] == pytest.approx(sum(line.length for line in LINES) / 1000)


def test_without_tolerance_nothing_merges():
    g = rg.graph_from_lines(LINES, epsg=9208, snap_tolerance_m=0.0)
    assert len(g.junction_node) == 0
    assert g.u[8] != g.v[7]
    assert g.summary()["components"] == 4  # T-road, the 5000.4 piece and the isolated road split off


def test_straight_nearest_school_is_not_the_network_nearest(graph):
    origins = _snap(graph, V)
    targets = _snap(graph, S1, S2)
    assert origins.connector_m[0] == pytest.approx(50.0)  # at (0,0): segment 0 or the stub
    res = rg.nearest_on_network(graph, origins, targets)
    # straight line: S1 is 1550 m away, S2 2000.6 m; by road S1 is 50+3000+1500+3000 = 7550 m
    assert math.dist(V, S1) < math.dist(V, S2)
    assert res.target.tolist() == [1]
    assert res.distance[0] == pytest.approx(2050.0, abs=1e-6)
    assert res.status.tolist() == ["ok"]
    both = rg.distances_from(graph, origins, targets)
    assert both == pytest.approx([7550.0, 2050.0], abs=1e-6)


def test_points_on_one_edge_meet_along_it(graph):
    # split-edge virtual nodes: no detour through the edge's ends (0 or 2000)
    res = rg.nearest_on_network(graph, _snap(graph, (500, 10)), _snap(graph, (1400, -10)))
    assert res.distance[0] == pytest.approx(10 + 900 + 10, abs=1e-6)


def test_t_junction_and_merged_ends_are_routable(graph):
    targets = _snap(graph, S2)
    res = rg.nearest_on_network(graph, _snap(graph, (1500, -1000), (6000, 10)), targets)
    # T-road 999.5 m (the 0.5 m gap is not counted) + 500 m along segment 0
    assert res.distance[0] == pytest.approx(999.5 + 500.0, abs=1e-6)
    # 10 m connector + 999.6 + 1000 + 1000 + 1000 (the 0.4 m gap between 7 and 8 is not counted)
    assert res.distance[1] == pytest.approx(10 + 999.6 + 3000.0, abs=1e-6)


def test_disconnected_and_off_network_points_are_reported(graph):
    origins = _snap(graph, (10500, 10020), (5000, 5000), V)
    res = rg.nearest_on_network(graph, origins, _snap(graph, S2))
    assert res.status.tolist() == ["unreachable", "off_network", "ok"]
    assert np.isnan(res.distance[:2]).all()
    assert res.target.tolist() == [-1, -1, 0]
    assert origins.ok.tolist() == [True, False, True]


def test_limit_and_targets_off_network(graph):
    origins = _snap(graph, V)
    # a target 600 m from every road is ignored; the limit cuts S2 off
    res = rg.nearest_on_network(graph, origins, _snap(graph, (2000, -600), S2), limit=2000.0)
    assert res.status.tolist() == ["unreachable"]
    res = rg.nearest_on_network(graph, origins, _snap(graph, (2000, -600), S2), limit=2100.0)
    assert res.target.tolist() == [1] and res.distance[0] == pytest.approx(2050.0)


def test_parallel_edges_keep_the_shortest(graph):
    # between (2000,0) and (3000,0) the 1000 m segment wins over the 1280.6 m detour (neither
    # carries a point, so both stay whole): 5 + 1000 (stub) + 2000 + 1000 + 1000 (north road)
    res = rg.nearest_on_network(graph, _snap(graph, (-1000, 5)), _snap(graph, (3000, 1000)))
    assert res.distance[0] == pytest.approx(5005.0, abs=1e-6)


def test_travel_time(graph):
    # district road, asphalt: 40 km/h; the 50 m connector is walked at 4 km/h
    res = rg.nearest_on_network(graph, _snap(graph, V), _snap(graph, S1, S2), weight="time")
    assert res.distance[0] == pytest.approx(50 / (4 / 3.6) + 2000 / (40 / 3.6), abs=1e-6)
    gravel = rg.graph_from_lines(LINES, epsg=9208, road_class=["huyen_lo"] * len(LINES),
                                 surface=["gravel"] * len(LINES))
    res = rg.nearest_on_network(gravel, _snap(gravel, (0, 0)), _snap(gravel, S2), weight="time")
    assert res.distance[0] == pytest.approx(2000 / (40 * 0.7 / 3.6), abs=1e-6)


def test_graph_from_roads_projects_lon_lat():
    to_ll = Transformer.from_crs("EPSG:9208", "EPSG:4326", always_xy=True)
    x, y = to_ll.transform([500_000, 501_000, 501_000], [2_450_000, 2_450_000, 2_451_000])
    roads = gpd.GeoDataFrame(
        {"fid": [7, 8], "road_class": ["duong_xa", "noi_dong"], "surface": ["concrete", None]},
        geometry=[shapely.LineString([(x[0], y[0]), (x[1], y[1])]),
                  shapely.MultiLineString([[(x[1], y[1]), (x[2], y[2])]])], crs="EPSG:4326")
    g = rg.graph_from_roads(roads, epsg=9208)
    assert g.epsg == 9208 and g.n_nodes == 3
    assert g.length_m == pytest.approx([1000.0, 1000.0], abs=1e-3)
    assert g.road_fid.tolist() == [7, 8]
    assert g.time_s == pytest.approx([1000 / (30 / 3.6), 1000 / (15 / 3.6)], abs=1e-2)


def test_errors():
    with pytest.raises(ValueError, match="not a single, non-empty LineString"):
        rg.graph_from_lines([shapely.Point(0, 0)], epsg=9208)
    with pytest.raises(ValueError, match="snap_tolerance_m"):
        rg.graph_from_lines(LINES, epsg=9208, snap_tolerance_m=-1)
    g = rg.graph_from_lines(LINES[:1], epsg=9208)
    with pytest.raises(ValueError, match="'weight' must be one of length, time"):
        rg.nearest_on_network(g, _snap(g, V), _snap(g, S2), weight="hours")
    with pytest.raises(ValueError, match="max_snap_m"):
        _snap(g, V, max_snap_m=float("nan"))
    with pytest.raises(ValueError, match="exactly one point"):
        rg.distances_from(g, _snap(g, V, S2), _snap(g, S2))
    with pytest.raises(ValueError, match="EPSG:4326"):
        rg.graph_from_roads(gpd.GeoDataFrame(geometry=LINES[:1], crs="EPSG:9208"), epsg=9208)
    with pytest.raises(ValueError, match="positive"):
        rg.SpeedModel(default_kmh=0)


def test_empty_inputs():
    g = rg.graph_from_lines([], epsg=9208)
    assert g.n_nodes == 0
    res = rg.nearest_on_network(g, _snap(g, V), _snap(g, S2))
    assert res.status.tolist() == ["off_network"]

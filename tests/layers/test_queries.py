"""Spatial and criteria queries: known distances in metres on the hand-built store (TM-3
zone 9208, see ``_access_store``), D-km buffers, and criteria queries on the demo store."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from _access_store import EXPECTED, S2, V1, build_access_store, lonlat
from layers import queries, status
from layers.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    return build_access_store(tmp_path_factory.mktemp("queries") / "q.gpkg")


@pytest.fixture(scope="module")
def demo(demo_store_path) -> Store:
    return Store(demo_store_path)


def _geojson(local_geom) -> dict:
    return json.loads(shapely.to_geojson(lonlat(local_geom)))


# --- (a) far from a facility -----------------------------------------------------------------


def test_far_straight(store):
    far = queries.far_from_facility(store, "schools", 2.0, scope="P01", year=2024)
    assert far["unit_code"].tolist() == ["C2-V3", "C2-V2"]  # farthest first; V1 is 1550 m from S1
    assert far["distance_m"].to_numpy() == pytest.approx(
        [EXPECTED["V3"]["school_straight"], EXPECTED["V2"]["school_straight"]], abs=0.01)
    assert far.crs.to_epsg() == 4326 and far.geometry.geom_type.eq("MultiPolygon").all()
    assert (far["status"] == "ok").all() and (far["epsg"] == 9208).all()
    assert queries.far_from_facility(store, "schools", 6.3, scope="P01", year=2024).empty
    assert queries.far_from_facility(store, "schools", 6.2, scope="P01", year=2024)["unit_code"].tolist() == ["C2-V3"]


def test_far_network(store):
    far = queries.far_from_facility(store, "schools", 2.0, mode="network", scope="P01", year=2024)
    # V1 is 2050 m by road; V2 is off the network and V3 cut off: listed without a distance
    got = far.set_index("unit_code")
    assert set(got.index) == {"C1-V1", "C2-V2", "C2-V3"}
    assert got.loc["C1-V1", "distance_m"] == pytest.approx(2050.0, abs=0.01)
    assert got.loc["C1-V1", "facility_fid"] == 2
    assert got.loc["C2-V2", "status"] == "off_network" and got.loc["C2-V3", "status"] == "unreachable"
    assert far["unit_code"].iloc[-1] == "C1-V1"  # no-distance rows first
    reachable = queries.far_from_facility(store, "schools", 2.0, mode="network", scope="P01", year=2024,
                                          include_unreachable=False)
    assert reachable["unit_code"].tolist() == ["C1-V1"]
    assert queries.far_from_facility(store, "schools", 2.06, mode="network", scope="P01", year=2024,
                                     include_unreachable=False).empty


def test_far_filters_and_levels(store):
    far = queries.far_from_facility(store, "schools", 1.0, mode="network", scope="P01", year=2024,
                                    filters={"school_level": "thcs"}, include_unreachable=False)
    assert far["facility_fid"].tolist() == [2]
    communes = queries.far_from_facility(store, "health_stations", 1.0, level="commune", scope="P01", year=2024)
    # C1's point (1500, 0) is 2500 m from H1 (4000, 0); C2's (6500, 0) is 2500 m too
    assert sorted(communes["unit_code"]) == ["C1", "C2"]
    assert communes["distance_m"].to_numpy() == pytest.approx([2500.0, 2500.0], abs=2.0)
    assert "population" not in communes.columns


def test_far_errors(store):
    with pytest.raises(ValueError, match="facility types: schools"):
        queries.far_from_facility(store, "hospitals", 1.0)
    with pytest.raises(ValueError, match="'distance_km' must be ≥ 0"):
        queries.far_from_facility(store, "schools", -1)
    with pytest.raises(ValueError, match="'distance_km' must be a number"):
        queries.far_from_facility(store, "schools", "far")
    with pytest.raises(ValueError, match="'mode' must be one of straight, network"):
        queries.far_from_facility(store, "schools", 1, mode="flight")


# --- (b) near a geometry ---------------------------------------------------------------------


def test_near_line_intersects_and_buffer(store):
    road = _geojson(shapely.LineString([(1000, -3000), (1000, 3000)]))
    hit = queries.communes_near_geometry(store, road, year=2024)
    assert hit["code"].tolist() == ["C1"]
    assert bool(hit["intersects"].iloc[0]) and hit["distance_m"].iloc[0] == 0
    assert hit["line_km_inside"].iloc[0] == pytest.approx(4.0, abs=0.01)  # C1 spans y -2000..2000
    assert hit["epsg"].iloc[0] == 9208
    near = queries.communes_near_geometry(store, road, 3.5, year=2024)
    assert near["code"].tolist() == ["C1", "C2"]
    assert near["distance_m"].iloc[1] == pytest.approx(3000.0, abs=0.5)  # C2 starts at x = 4000
    assert not near["intersects"].iloc[1] and near["line_km_inside"].iloc[1] == 0
    assert queries.communes_near_geometry(store, road, 2.9, year=2024)["code"].tolist() == ["C1"]


def test_near_polygon_feature_collection_and_scope(store):
    square = _geojson(shapely.box(3000, -500, 5000, 500))
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": square}]}
    got = queries.communes_near_geometry(store, json.dumps(fc), year=2024).set_index("code")
    assert got["area_km2_inside"].to_numpy() == pytest.approx([1.0, 1.0], rel=1e-3)
    assert queries.communes_near_geometry(store, square, scope="P02", year=2024).empty
    with pytest.raises(LookupError, match="'scope' 'ZZ' is not a unit"):
        queries.communes_near_geometry(store, square, scope="ZZ", year=2024)


def test_zone_for_geometry(store):
    assert queries.zone_for_geometry(store, lonlat(shapely.Point(V1))) == 9208
    assert queries.zone_for_geometry(store, shapely.Point(106.25, 21.15)) == 9212
    # across P01 (9208) and P02 (9212): the zone of the line's centre
    x0 = lonlat(shapely.Point(0, 0)).x
    across = shapely.LineString([(x0, 22.14), (106.25, 21.15)])
    assert queries.zone_for_geometry(store, across) == 9209  # centre ≈ 105.5° E
    assert queries.zone_for_geometry(store, shapely.Point(109.0, 12.0)) == 9218  # in no province


@pytest.mark.parametrize("bad, match", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a GeoJSON object"),
    ({"type": "Circle", "coordinates": [0, 0]}, "geometry types: Point"),
    ({"type": "Point", "coordinates": [500000, 2450000]}, "longitude, latitude"),
    ({"type": "LineString", "coordinates": [[1]]}, "not a readable GeoJSON LineString"),
    ({"type": "FeatureCollection", "features": []}, "has no features"),
    ({"type": "Polygon", "coordinates": []}, "empty Polygon"),
])
def test_geometry_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        queries.geometry_from_geojson(bad)


def test_invalid_polygon_is_repaired():
    bowtie = {"type": "Polygon", "coordinates": [[[104, 22], [104.1, 22.1], [104.1, 22], [104, 22.1], [104, 22]]]}
    assert queries.geometry_from_geojson(bowtie).is_valid


# --- (c) nearest facilities -------------------------------------------------------------------


def test_nearest_straight_and_network(store):
    p = lonlat(shapely.Point(V1))
    near = queries.nearest_facilities(store, "schools", p.x, p.y, 2)
    assert near["name"].tolist() == ["S1", "S2"] and near["rank"].tolist() == [1, 2]
    assert near["straight_m"].to_numpy() == pytest.approx([1550.0, np.hypot(2000, 50)], abs=0.01)
    by_road = queries.nearest_facilities(store, "schools", p.x, p.y, 2, mode="network")
    assert by_road["name"].tolist() == ["S2", "S1"]
    assert by_road["network_m"].to_numpy() == pytest.approx([2050.0, 7550.0], abs=0.01)
    within = queries.nearest_facilities(store, "schools", p.x, p.y, 5, max_distance_km=1.6)
    assert within["name"].tolist() == ["S1"]
    thcs = queries.nearest_facilities(store, "schools", p.x, p.y, 5, filters={"school_level": "thcs"})
    assert thcs["name"].tolist() == ["S2"]
    assert set(near.columns) >= {"fid", "school_level", "straight_m", "epsg", "facility_type", "geometry"}


def test_nearest_search_grows_far_away(store):
    near = queries.nearest_facilities(store, "schools", 106.25, 21.15, 1)
    assert near["epsg"].iloc[0] == 9212 and near["name"].tolist() == ["S2"]  # S2 lies east of S1
    to_zone = Transformer.from_crs("EPSG:4326", "EPSG:9212", always_xy=True)
    s2 = lonlat(shapely.Point(S2))
    expected = np.hypot(*np.subtract(to_zone.transform(s2.x, s2.y), to_zone.transform(106.25, 21.15)))
    assert expected > 100_000
    assert near["straight_m"].iloc[0] == pytest.approx(expected, abs=0.01)


def test_nearest_errors(store):
    p = lonlat(shapely.Point(S2))
    with pytest.raises(ValueError, match="'n' must be an integer from 1 to 1000"):
        queries.nearest_facilities(store, "schools", p.x, p.y, 0)
    with pytest.raises(ValueError, match="longitude and latitude"):
        queries.nearest_facilities(store, "schools", 500000.0, 2450000.0)
    with pytest.raises(ValueError, match="'lat' must be a number"):
        queries.nearest_facilities(store, "schools", 104.0, float("nan"))
    off = lonlat(shapely.Point(6000, -1500))
    with pytest.raises(LookupError, match="farther than 500 m from every road"):
        queries.nearest_facilities(store, "schools", off.x, off.y, mode="network")


# --- (d), (e) criteria on the demo store ------------------------------------------------------


def _latest_met(demo, year, set_id) -> pd.DataFrame:
    """Independent answer: the latest record per (commune, criterion), from current_status."""
    cur = status.current_status(demo, year=year, set_id=set_id)
    return cur[cur["met"].notna()]


def test_failing_any_and_all(demo):
    cur = _latest_met(demo, 2024, "qd318-2022-xa-ntm")
    unmet = cur[~cur["met"].astype(bool) & cur["criterion"].isin([2, 5])]
    by_unit = unmet.groupby("unit_code")["criterion"].apply(lambda s: sorted(s.astype(int)))
    got = queries.communes_failing(demo, 2024, [5, 2])
    assert sorted(got["unit_code"]) == sorted(by_unit.index)
    assert got.set_index("unit_code")["failing"].to_dict() == by_unit.to_dict()
    both = queries.communes_failing(demo, 2024, [2, 5], match="all")
    assert sorted(both["unit_code"]) == sorted(u for u, c in by_unit.items() if c == [2, 5])
    assert 0 < len(both) < len(got)
    assert (got["set_id"] == "qd318-2022-xa-ntm").all() and got.geometry.notna().all()


def test_failing_count_no_data_and_scope(demo):
    plain = queries.communes_failing(demo, 2024, [2])
    with_missing = queries.communes_failing(demo, 2024, [2], count_no_data=True)
    summary = status.criteria_summary(demo, 2024, "qd318-2022-xa-ntm")
    no_data = set(summary.loc[summary["no_data"].map(lambda c: 2 in c), "unit_code"])
    assert no_data, "the demo has communes without an assessment"
    assert set(with_missing["unit_code"]) == set(plain["unit_code"]) | no_data
    district = plain["parent_code"].iloc[0]
    scoped = queries.communes_failing(demo, 2024, [2], scope=district)
    assert set(scoped["unit_code"]) == set(plain.loc[plain["parent_code"] == district, "unit_code"])


def test_failing_errors(demo):
    with pytest.raises(ValueError, match=r"'criteria': \[20\] are not criteria of qd318-2022-xa-ntm"):
        queries.communes_failing(demo, 2024, [2, 20])
    with pytest.raises(ValueError, match="at least one"):
        queries.communes_failing(demo, 2024, [])
    with pytest.raises(ValueError, match="'match' must be one of any, all"):
        queries.communes_failing(demo, 2024, [2], match="most")
    with pytest.raises(ValueError, match="'year' must be an integer"):
        queries.communes_failing(demo, "2024", [2])
    with pytest.raises(LookupError, match="'scope' 'NOPE'"):
        queries.communes_failing(demo, 2024, [2], scope="NOPE")


def test_criteria_range(demo):
    cur = _latest_met(demo, 2024, "qd318-2022-xa-ntm")
    n_met = cur[cur["met"].astype(bool)].groupby("unit_code").size()
    expected = sorted(n_met[(n_met >= 15) & (n_met <= 18)].index)
    got = queries.communes_criteria_range(demo, 2024, 15, 18)
    assert sorted(got["unit_code"]) == expected and len(expected) > 0
    assert got["n_met"].is_monotonic_decreasing
    assert (got["n_total"] == 19).all()
    new_set = queries.communes_criteria_range(demo, 2026, 10, 10)
    assert (new_set["set_id"] == "qd51-2025-xa-ntm").all() and (new_set["n_met"] == 10).all()


def test_criteria_range_errors(demo):
    with pytest.raises(ValueError, match="'lo' \\(18\\) must not exceed 'hi' \\(15\\)"):
        queries.communes_criteria_range(demo, 2024, 18, 15)
    with pytest.raises(ValueError, match="'hi' must be an integer from 0 to 19"):
        queries.communes_criteria_range(demo, 2024, 0, 20)
    with pytest.raises(ValueError, match="unknown|not|set"):
        queries.communes_criteria_range(demo, 2024, 0, 5, set_id="qd-missing")

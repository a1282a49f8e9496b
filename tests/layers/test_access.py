"""Distances from villages and communes to facilities: a hand-built store in TM-3 zone 9208
(see ``_access_store``) with answers worked out by hand, and the demo province."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import shapely

from _access_store import EXPECTED, build_access_store
from layers import access
from layers.indicator_units import UnitSet
from layers.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    return build_access_store(tmp_path_factory.mktemp("access") / "access.gpkg")


@pytest.fixture(scope="module")
def table(store) -> pd.DataFrame:
    return access.access_table(store, scope="P01", year=2024).set_index(["unit_code", "facility_type"])


def test_facility_types_come_from_the_layer_registry(store):
    assert access.FACILITY_TYPES == ("schools", "health_stations", "culture_houses", "markets", "power_lines",
                                     "transformers")
    with pytest.raises(access.UnknownFacilityType, match="facility types: schools, health_stations"):
        access.facility_spec("school")
    with pytest.raises(ValueError, match="facility types"):
        access.access_table(store, facility_types=["roads"])


def test_straight_and_network_distances_by_hand(table):
    v1 = table.loc[("C1-V1", "schools")]
    assert v1["epsg"] == 9208
    assert v1["straight_m"] == pytest.approx(EXPECTED["V1"]["school_straight"], abs=0.01)
    assert v1["network_m"] == pytest.approx(EXPECTED["V1"]["school_network"], abs=0.01)
    assert v1["connector_m"] == pytest.approx(50.0, abs=0.01)
    assert v1["network_status"] == "ok"
    # the straight-line nearest (S1, fid 1) is not the nearest by road (S2, fid 2)
    assert (v1["straight_fid"], v1["network_fid"]) == (1, 2)
    h = table.loc[("C1-V1", "health_stations")]
    assert h["straight_m"] == pytest.approx(EXPECTED["V1"]["health_straight"], abs=0.01)
    assert h["network_m"] == pytest.approx(EXPECTED["V1"]["health_network"], abs=0.01)


def test_off_network_and_unreachable(table):
    v2 = table.loc[("C2-V2", "schools")]
    assert v2["network_status"] == "off_network" and np.isnan(v2["network_m"]) and pd.isna(v2["network_fid"])
    assert np.isnan(v2["connector_m"])
    assert v2["straight_m"] == pytest.approx(EXPECTED["V2"]["school_straight"], abs=0.01)
    v3 = table.loc[("C2-V3", "schools")]
    assert v3["network_status"] == "unreachable" and np.isnan(v3["network_m"])
    assert v3["connector_m"] == pytest.approx(10.0, abs=0.01)
    assert v3["straight_m"] == pytest.approx(EXPECTED["V3"]["school_straight"], abs=0.01)


def test_power_line_is_measured_to_the_line(table):
    for village, key in (("C1-V1", "V1"), ("C2-V2", "V2"), ("C2-V3", "V3")):
        assert table.loc[(village, "power_lines"), "straight_m"] == pytest.approx(EXPECTED[key]["power"], abs=0.01)
    # by road: 50 m to the main road, 1500 m along it, 1000 m down the south road to the
    # crossing (a sample point every 250 m of the line, one at the crossing)
    v1 = table.loc[("C1-V1", "power_lines")]
    assert v1["network_status"] == "ok"
    assert v1["network_m"] == pytest.approx(EXPECTED["V1"]["power_network"], abs=0.01)


def test_empty_layers_give_nan(table):
    for ftype in ("markets", "culture_houses", "transformers"):
        rows = table.xs(ftype, level="facility_type")
        assert rows["straight_m"].isna().all() and rows["straight_fid"].isna().all()
        assert (rows["network_status"] != "ok").all()


def test_columns_and_population(table):
    assert list(table.reset_index().columns) == [
        "unit_code", "facility_type", "name", "commune_code", "level", "population", "epsg", "straight_m",
        "straight_fid", "network_m", "network_fid", "network_status", "connector_m"]
    assert table.loc[("C2-V3", "schools"), "population"] == 300
    assert table.loc[("C2-V3", "schools"), "commune_code"] == "C2"


def test_commune_level_uses_a_point_inside(store):
    t = access.access_table(store, scope="P01", year=2024, level="commune", facility_types=["schools"],
                            modes=["straight"]).set_index("unit_code")
    # C1's representative point is its centre (1500, 0); S2 at (2000, 0)
    assert t.loc["C1", "straight_m"] == pytest.approx(500.0, abs=2.0)
    assert "network_m" not in t.columns


def test_filters_restrict_the_facilities(store):
    t = access.access_table(store, scope="P01", year=2024, facility_types=["schools"],
                            filters={"schools": {"school_level": "Tiểu học"}}).set_index("unit_code")
    # only S1 is a primary school: by road V1 now goes round to it
    assert t.loc["C1-V1", "network_m"] == pytest.approx(7550.0, abs=0.01)
    assert t.loc["C1-V1", "straight_fid"] == 1
    with pytest.raises(ValueError, match="schools have no field 'level'"):
        access.parse_filters("schools", {"level": "th"})
    with pytest.raises(ValueError, match="not a known"):
        access.parse_filters("schools", {"school_level": "university"})
    with pytest.raises(ValueError, match="yes or no"):
        access.parse_filters("schools", {"meets_standard": "perhaps"})
    with pytest.raises(ValueError, match="a number"):
        access.parse_filters("power_lines", {"voltage_kv": "high"})
    assert access.parse_filters("power_lines", {"voltage_kv": "22"}) == {"voltage_kv": 22.0}


def test_time_weight(store):
    t = access.access_table(store, scope="P01", year=2024, facility_types=["schools"], modes=["network"],
                            weight="time").set_index("unit_code")
    # 50 m walked at 4 km/h, 2000 m of asphalt district road at 40 km/h
    assert t.loc["C1-V1", "network_m"] == pytest.approx(45.0 + 180.0, abs=0.01)


def test_zone_of_a_scope(store):
    assert access.load_scope(store, "P01", 2024).epsg == 9208
    assert access.load_scope(store, "P02", 2024).epsg == 9212
    # the whole store spans 9208 (104.75° E) and 9212 (106.25° E): the zone nearest the
    # centre of the box, about 105.5° E, which is 9209
    whole = access.load_scope(store, None, 2024)
    assert whole.epsg == 9209
    t = access.access_table(store, scope=whole, facility_types=["schools"], modes=["straight"])
    v1 = t.set_index("unit_code").loc["C1-V1"]
    assert v1["epsg"] == 9209
    # measured 0.75° off the zone's meridian: within 0.03 % of the province-zone answer
    assert v1["straight_m"] == pytest.approx(1550.0, rel=3e-4)


def test_scope_zone_rule_on_units():
    import geopandas as gpd

    def frame(epsgs, lons):
        geoms = [shapely.MultiPolygon([shapely.box(x, 21, x + 0.1, 21.1)]) for x in lons]
        return gpd.GeoDataFrame({"code": [f"c{k}" for k in range(len(lons))], "epsg": epsgs}, geometry=geoms,
                                crs="EPSG:4326")
    empty = frame([], []).assign(commune=[])
    one = UnitSet("x", 2024, frame([9214, 9214], [104.0, 108.0]), empty)
    assert access.scope_zone(one) == 9214  # one province zone wins whatever the extent
    two = UnitSet("x", 2024, frame([9205, 9218], [103.0, 108.4]), empty)
    assert access.scope_zone(two) == 9210  # box 103.0–108.5, centre 105.75° E: zone 9210


def test_facilities_outside_the_scope_box_are_found(store):
    # C3 (province P02, far east) has no villages; its commune point's nearest school lies
    # some 160 km west, far beyond the 20 km box first read
    t = access.access_table(store, scope="P02", year=2024, level="commune", facility_types=["schools"],
                            modes=["straight"])
    assert t["straight_fid"].notna().all()
    assert t["straight_m"].iloc[0] > 100_000


def test_errors(store):
    with pytest.raises(ValueError, match="'level' must be one of village, commune"):
        access.access_table(store, level="district")
    with pytest.raises(ValueError, match="'mode' must be one of"):
        access.access_table(store, modes=["air"])
    with pytest.raises(LookupError, match="'scope' 'XX' is not a unit"):
        access.load_scope(store, "XX", 2024)
    with pytest.raises(ValueError, match="line_sample_m"):
        access.facility_targets(store.read_features("power_lines"), 9208, line_sample_m=0)


def test_demo_province(demo_store_path):
    store = Store(demo_store_path)
    scope = access.load_scope(store, None, 2024)
    t = access.access_table(store, scope=scope)
    villages = scope.units.villages
    assert len(t) == len(villages) * len(access.FACILITY_TYPES)
    ok = t["network_status"] == "ok"
    assert ok.mean() > 0.95
    # a road is never shorter than the straight line
    assert (t.loc[ok, "network_m"] >= t.loc[ok, "straight_m"] - 2 * scope.snap_tolerance_m).all()
    # independent check of the straight-line answer for schools with geopandas
    schools = store.read_features("schools").to_crs(scope.epsg)
    pts = villages.assign(geometry=access.unit_points(villages)).to_crs(scope.epsg)
    joined = pts.sjoin_nearest(schools[["fid", "geometry"]], distance_col="d").drop_duplicates("code")
    mine = t[t["facility_type"] == "schools"].set_index("unit_code")["straight_m"]
    assert mine.reindex(joined["code"]).to_numpy() == pytest.approx(joined["d"].to_numpy(), abs=1e-6)
    # graph sanity: one connected network in the demo, every edge a positive length
    summary = scope.graph.summary()
    assert summary["components"] == 1 and (scope.graph.length_m > 0).all()
    roads_km = store.read_features("roads").to_crs(scope.epsg).length.sum() / 1000
    assert math.isclose(summary["km"], roads_km, rel_tol=1e-9)


def test_access_shares(table):
    shares = access.access_shares(table.reset_index(), distances_m=[2000, 5000])
    row = shares.set_index(["commune_code", "facility_type", "mode", "distance_m"])
    # C1 has V1 only (1550 m straight, 2050 m by road); C2 has V2 (4272 m) and V3 (6261 m)
    assert row.loc[("C1", "schools", "straight", 2000.0), "villages_share"] == 1.0
    assert row.loc[("C1", "schools", "network", 2000.0), "villages_share"] == 0.0
    assert row.loc[("C1", "schools", "network", 5000.0), "population_share"] == 1.0
    c2 = row.loc[("C2", "schools", "straight", 5000.0)]
    assert (c2["villages"], c2["villages_within"], c2["population"], c2["population_within"]) == (2, 1, 500, 200)
    assert c2["population_share"] == pytest.approx(0.4)
    # by road neither C2 village reaches a school (off network, unreachable)
    assert row.loc[("C2", "schools", "network", 5000.0), "villages_share"] == 0.0
    with pytest.raises(ValueError, match="village-level"):
        access.access_shares(table.reset_index().assign(level="commune"))
    with pytest.raises(ValueError, match="distances_m"):
        access.access_shares(table.reset_index(), distances_m=[-1])

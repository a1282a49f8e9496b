"""Road, power and facility indicators on a hand-drawn store; storage; the demo province."""

from __future__ import annotations

import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers import indicators_infra as infra
from layers import indicators_store, schema
from layers._errors import ImportValidationError
from layers.indicator_units import load_units, measuring_crs, to_metric
from layers.indicators import IndicatorOptions, compute_indicators, run_indicators
from layers.store import Store

import _indicator_fixture as fx


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    return fx.build(tmp_path_factory.mktemp("ind") / "tiny.gpkg").path


@pytest.fixture(scope="module")
def tiny_values(tiny_path):
    store = Store(tiny_path)
    units = load_units(store, None, 2024)
    frame = infra.infrastructure_indicators(store, units, grid_distance_m=700.0)
    return frame.set_index(["unit_code", "name"])["value"]


def test_units_carry_their_province_zone(tiny_path):
    units = load_units(Store(tiny_path), "P01-01", 2024)
    assert list(units.communes["code"]) == ["A", "B"]
    assert list(units.villages["commune"]) == ["A", "A", "B"]
    assert set(units.communes["epsg"]) | set(units.villages["epsg"]) == {9208}


def test_measuring_crs_keeps_lengths_of_the_zone():
    line = gpd.GeoSeries([shapely.LineString([(104.70, 22.10), (104.80, 22.15)])], crs=4326)
    true = line.to_crs(9208).length.iloc[0]
    # the datum shift, left out, changes lengths by parts per million (here 5 mm per km)
    assert shapely.length(to_metric(line.values, 9208))[0] == pytest.approx(true, rel=1e-5)
    assert "+lon_0=104.75" in measuring_crs(9208)


@pytest.mark.parametrize("code, name, km", [
    ("A", "road_km", 2.5), ("B", "road_km", 2.1),                       # r1 split at the border
    ("A", "road_km.huyen_lo", 1.5), ("B", "road_km.huyen_lo", 1.5),
    ("A", "road_km.duong_thon", 1.0), ("B", "road_km.duong_thon", 0.6),
    ("A", "road_km.huyen_lo.asphalt", 1.5), ("A", "road_km.duong_thon.earth", 1.0),
    ("A", "road_km.duong_thon.concrete", 0.0), ("B", "road_km.duong_thon.concrete", 0.6),
    ("A", "road_km.duong_xa", 0.0),                                    # r4 lies outside
    ("A", "road_hardened_km", 1.5), ("B", "road_hardened_km", 2.1),
    ("A1", "road_km", 1.5), ("A2", "road_km", 1.0), ("B1", "road_km", 2.1),
])
def test_road_km_split_by_boundaries(tiny_values, code, name, km):
    assert tiny_values[(code, name)] == pytest.approx(km, abs=3e-5)  # 5 ppm: the datum shift left out


def test_share_hardened_and_density(tiny_values):
    assert tiny_values[("A", "road_hardened_share")] == pytest.approx(0.6, abs=1e-6)
    assert tiny_values[("B", "road_hardened_share")] == pytest.approx(1.0)
    assert tiny_values[("A", "road_hardened_share.huyen_lo")] == pytest.approx(1.0)
    assert tiny_values[("A", "road_hardened_share.duong_thon")] == pytest.approx(0.0)
    assert tiny_values[("B", "road_hardened_share.duong_thon")] == pytest.approx(1.0)
    assert np.isnan(tiny_values[("A", "road_hardened_share.duong_xa")])  # no road of the class: no share
    assert tiny_values[("A", "road_density")] == pytest.approx(2.5 / 4.0, abs=3e-5)
    assert tiny_values[("A", "area_km2")] == 4.0


def test_power_km_by_voltage(tiny_values):
    assert tiny_values[("A", "power_km.22kv")] == pytest.approx(0.9, abs=3e-5)
    assert tiny_values[("A", "power_km.35kv")] == pytest.approx(0.8, abs=3e-5)
    assert tiny_values[("A", "power_km")] == pytest.approx(1.7, abs=3e-5)
    assert tiny_values[("B", "power_km")] == pytest.approx(1.9, abs=3e-5)


def test_villages_near_the_grid(tiny_path, tiny_values):
    # A1's point (500 500, 2 451 000) is 848.5 m from p1's end, 900 m from p2; A2 and B1 600 m from p1
    store = Store(tiny_path)
    units = load_units(store, None, 2024)
    lines = store.read_features("power_lines")
    dist = infra.grid_proximity(units.villages, lines, max_distance_m=2000)
    assert dist == pytest.approx([np.hypot(600, 600), 600, 600], abs=1.0)
    assert np.isnan(infra.grid_proximity(units.villages, lines, max_distance_m=500)).all()
    assert tiny_values[("A1", "grid_within")] == 0 and tiny_values[("A2", "grid_within")] == 1
    assert tiny_values[("A", "villages_near_grid_share")] == pytest.approx(0.5)
    assert tiny_values[("A", "population_near_grid_share")] == pytest.approx(300 / 400)
    assert tiny_values[("B", "villages_near_grid_share")] == 1.0


@pytest.mark.parametrize("code, name, count", [
    ("A", "schools", 2), ("A", "schools.satellite_sites", 1), ("A", "schools.meets_standard", 1),
    ("A", "schools.mam_non", 1), ("A", "schools.tieu_hoc", 1), ("A", "schools.mam_non.meets_standard", 1),
    ("A", "schools.tieu_hoc.meets_standard", 0), ("B", "schools", 1), ("B", "schools.thcs", 1),
    ("A", "health_stations", 1), ("B", "health_stations", 0),   # on the border: counted once
    ("B", "markets", 1), ("B", "markets.meets_standard", 0),
    ("A", "culture_houses", 2), ("A", "culture_houses.commune", 1), ("A", "culture_houses.village", 1),
    ("A", "culture_houses.meets_standard", 1), ("A1", "culture_houses", 1), ("B1", "culture_houses", 1),
])
def test_facility_counts(tiny_values, code, name, count):
    assert tiny_values[(code, name)] == count


def test_points_in_units_outside_and_on_borders():
    units = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]
    pts = shapely.points([(0.5, 0.5), (1, 0.5), (5, 5)])
    assert list(infra.points_in_units(pts, units)) == [0, 0, -1]


def test_a_line_along_a_shared_border_and_a_multiline():
    units = np.array([shapely.box(104.0, 22.0, 104.01, 22.01), shapely.box(104.01, 22.0, 104.02, 22.01)])
    lines = np.array([shapely.MultiLineString([[(104.005, 22.005), (104.015, 22.005)],
                                               [(104.012, 22.001), (104.012, 22.002)]])])
    li, uj, m = infra.line_lengths_in_units(lines, units, [9208, 9208])
    whole = shapely.length(to_metric(lines, 9208))[0]
    assert m.sum() == pytest.approx(whole, rel=1e-6)
    assert sorted(uj) == [0, 1]


def test_bad_grid_distance_is_refused(tiny_path):
    store = Store(tiny_path)
    with pytest.raises(ValueError, match="grid_distance_m"):
        infra.infrastructure_indicators(store, load_units(store, None, 2024), grid_distance_m=-5)
    with pytest.raises(ValueError, match="grid_distance_m"):
        IndicatorOptions(grid_distance_m=0).check()
    with pytest.raises(ValueError, match="within_m.*ferries"):
        IndicatorOptions(within_m={"ferries": 10}).check()
    with pytest.raises(LookupError, match="'scope' 'NOPE' is not a unit"):
        load_units(store, "NOPE", 2024)


# --- storage --------------------------------------------------------------------------


def _frame(values, name="road_km"):
    return pd.DataFrame({"unit_code": list(values), "unit_level": "commune", "name": name,
                         "value": list(values.values()), "unit": "km"})


def test_recompute_with_same_params_replaces(tmp_path):
    store = Store(tmp_path / "s.gpkg", create=True)
    indicators_store.write_indicators(store, _frame({"A": 1.0, "B": 2.0}), year=2024, params={"d": 1})
    indicators_store.write_indicators(store, _frame({"A": 5.0}), year=2024, params={"d": 1})
    rows = store.read_table("indicators")
    assert len(rows) == 2
    assert dict(zip(rows["unit_code"], rows["value"])) == {"A": 5.0, "B": 2.0}
    # another parameter set is kept beside; the latest computation wins in maps
    indicators_store.write_indicators(store, _frame({"A": 7.0}), year=2024, params={"d": 2})
    assert store.count("indicators") == 3
    assert indicators_store.indicator_frame(store, "road_km", 2024).to_dict() == {"A": 7.0, "B": 2.0}
    one = indicators_store.read_indicators(store, year=2024, params={"d": 1})
    assert dict(zip(one["unit_code"], one["value"])) == {"A": 5.0, "B": 2.0}
    # another year is untouched
    indicators_store.write_indicators(store, _frame({"A": 9.0}), year=2023, params={"d": 1})
    assert store.count("indicators") == 4
    assert indicators_store.indicator_names(store, 2023) == ["road_km"]


def test_params_are_canonical_json():
    assert indicators_store.canonical_params({"b": 1, "a": np.float64(2.5)}) == '{"a":2.5,"b":1}'
    assert indicators_store.canonical_params('{"b": 1, "a": 2.5}') == '{"a":2.5,"b":1}'
    assert indicators_store.canonical_params(None) == "{}"


def test_bad_rows_write_nothing(tmp_path, file_hash):
    store = Store(tmp_path / "s.gpkg", create=True)
    before = file_hash(store.path)
    bad = _frame({"A": 1.0, "B": float("inf")})
    bad.loc[0, "unit_level"] = "hamlet"
    with pytest.raises(ImportValidationError) as err:
        indicators_store.write_indicators(store, bad, year=2024)
    text = str(err.value)
    assert "unit_level must be one of" in text and "'hamlet'" in text and "finite number" in text
    assert file_hash(store.path) == before
    with pytest.raises(ImportValidationError, match="'year' must be an integer"):
        indicators_store.write_indicators(store, _frame({"A": 1.0}), year="2024")


def test_missing_indicator_names_what_is_there(tmp_path):
    store = Store(tmp_path / "s.gpkg", create=True)
    with pytest.raises(LookupError, match="nothing is stored for 2024: run 'ntm analyse indicators"):
        indicators_store.indicator_frame(store, "road_km", 2024)
    indicators_store.write_indicators(store, _frame({"A": 1.0}), year=2024)
    with pytest.raises(LookupError, match="stored for 2024: road_km"):
        indicators_store.indicator_frame(store, "road_density", 2024)


def test_a_version_2_store_is_migrated_to_3(tmp_path):
    from layers import _gpkg
    from layers.store import _split_sql

    path = tmp_path / "v2.gpkg"
    conn = sqlite3.connect(path, isolation_level=None)
    _gpkg.register_functions(conn)
    for version in (1, 2):
        for statement in _split_sql(schema.MIGRATIONS[version]):
            conn.execute(statement)
    conn.executemany("INSERT INTO ntm_meta VALUES (?, ?)", [("schema_version", "2"), ("revision", "7"), ("label", "")])
    conn.execute("INSERT INTO audit_log (at, actor, action, resource) VALUES ('t', 'a', 'x', 'r')")
    conn.close()
    store = Store(path)
    assert store.meta()["schema_version"] == str(schema.SCHEMA_VERSION) == "3"
    assert store.meta()["revision"] == "7" and store.count("audit_log") == 1
    cols = store.columns("indicators")
    assert list(cols)[1:] == ["unit_code", "unit_level", "year", "name", "value", "unit", "params",
                              "computed_at", "run_id"]
    with store.transaction() as c:
        index = c.execute("SELECT sql FROM sqlite_master WHERE name = 'indicators_name_year_unit'").fetchone()[0]
        assert "(name, year, unit_code)" in index
        kind = c.execute("SELECT data_type FROM gpkg_contents WHERE table_name = 'indicators'").fetchone()[0]
        assert kind == "attributes"
    indicators_store.write_indicators(store, _frame({"A": 1.0}), year=2024)
    assert store.count("indicators") == 1


# --- the demo province ----------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_run(demo_store_path, tmp_path_factory):
    import shutil

    from layers.demo import raster_dir_for

    path = tmp_path_factory.mktemp("demo-ind") / "demo.gpkg"
    shutil.copy(demo_store_path, path)
    shutil.copytree(raster_dir_for(demo_store_path), raster_dir_for(path))
    store = Store(path)
    run = run_indicators(store, scope="D01-02", year=2024)  # travel time: test_indicators_rasters, CLI
    return store, run


def test_demo_road_km_matches_a_geopandas_overlay(demo_run):
    store, run = demo_run
    values = run.frame[run.frame["unit_level"] == "commune"].set_index(["unit_code", "name"])["value"]
    units = load_units(store, "D01-02", 2024)
    roads = store.read_features("roads", columns=["road_class"], bbox=units.bounds())
    pieces = gpd.overlay(roads.to_crs(9207), units.communes[["code", "geometry"]].to_crs(9207),
                         how="intersection", keep_geom_type=True)
    expected = (pieces.length / 1000).groupby(pieces["code"]).sum()
    ours = values.xs("road_km", level="name").reindex(expected.index)
    assert np.allclose(ours, expected, rtol=1e-5)
    by_class = (pieces.length / 1000).groupby([pieces["code"], pieces["road_class"]]).sum()
    for (code, cls), km in by_class.items():
        assert values[(code, f"road_km.{cls}")] == pytest.approx(km, rel=1e-5)


def test_demo_facility_counts_match_a_spatial_join(demo_run):
    store, run = demo_run
    values = run.frame.set_index(["unit_code", "name"])["value"]
    units = load_units(store, "D01-02", 2024)
    schools = store.read_features("schools", "satellite = 0", bbox=units.bounds())
    joined = gpd.sjoin(schools, units.communes[["code", "geometry"]], predicate="within")
    for code, n in joined.groupby("code").size().items():
        assert values[(code, "schools")] == n


def test_demo_run_is_stored_with_rasters_and_access(demo_run):
    store, run = demo_run
    assert run.rows_written == len(run.frame) == store.count("indicators")
    names = set(run.frame["name"])
    assert {"population", "slope_mean", "elevation_popw_mean", "villages_within_share.network.schools",
            "distance_straight_m.health_stations", "villages_near_grid_share"} <= names
    pop = indicators_store.indicator_frame(store, "population", 2024, "D01-02")
    communes = load_units(store, "D01-02", 2024).communes
    assert set(pop.index) >= set(communes["code"])
    villages = run.frame[(run.frame["name"] == "population") & (run.frame["unit_level"] == "village")]
    assert villages["value"].sum() == pytest.approx(pop.reindex(communes["code"]).sum(), rel=1e-6)
    shares = run.frame[run.frame["name"].str.contains("_share")]["value"].dropna()
    assert ((shares >= 0) & (shares <= 1)).all()
    reach = run.frame[run.frame["name"] == "network_reachable.schools"]
    assert len(reach) == len(villages) and set(reach["value"]) <= {0.0, 1.0}


def test_dry_run_stores_nothing(demo_store):
    run = compute_indicators(demo_store, scope="D01-03", year=2024,
                             options=IndicatorOptions(access=False, zonal=False, levels=("commune",)))
    assert demo_store.count("indicators") == 0
    assert set(run.frame["unit_level"]) == {"commune"}
    with pytest.raises(ValueError, match="'year' must be a year"):
        compute_indicators(demo_store, year=24)


def test_real_laocai_communes_are_measured_in_their_zone(laocai_store_path):
    store = Store(laocai_store_path)
    units = load_units(store, None, 2024)
    assert set(units.communes["epsg"]) == {9208}  # Lào Cai: TM-3 104°45'
    area_tm3 = infra.unit_area_km2(units.communes, stored=False)
    area_stored = units.communes["area_km2"].to_numpy()
    assert np.allclose(area_tm3, area_stored, rtol=2e-3)

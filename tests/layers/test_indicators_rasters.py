"""Zonal statistics (partial cells), slope in metres, travel time on tiny grids worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from pyproj import CRS
from rasterio.transform import Affine

from layers import travel_time as tt
from layers import zonal
from layers._errors import ImportValidationError
from layers.indicator_units import load_units
from layers.indicators import IndicatorOptions, run_indicators
from layers.store import Store

import _indicator_fixture as fx

TM3 = CRS.from_epsg(9208)


@pytest.fixture(scope="module")
def raster_store(tmp_path_factory):
    store = fx.build(tmp_path_factory.mktemp("zonal") / "tiny.gpkg")
    fx.write_rasters(store)
    return store


@pytest.fixture(scope="module")
def zonal_values(raster_store):
    frame = zonal.zonal_indicators(raster_store, load_units(raster_store, None, 2024))
    return frame.set_index(["unit_code", "name"])["value"]


# The raster is shifted half a cell west: A1 (x 500–501 km) holds half of columns 0 and 1,
# A (500–502) half of 0, all of 1, half of 2; B (502–504) half of 2, all of 3, half of 4.
@pytest.mark.parametrize("code, name, expected", [
    ("A1", "elevation_mean", (5 + 10 + 30 + 35) / 2),          # (½·10 + ½·20 + ½·60 + ½·70) / 2
    ("A1", "elevation_min", 10), ("A1", "elevation_max", 70),
    ("A", "elevation_mean", (5 + 20 + 15 + 30 + 70 + 40) / 4),
    ("B", "elevation_mean", (15 + 40 + 25 + 40 + 90 + 50) / 4),
    ("A1", "population", 50), ("A2", "population", 50), ("A", "population", 100), ("B", "population", 20),
    ("A1", "elevation_popw_mean", 20),   # the only people sit in the 20 m cell
    ("B", "elevation_popw_mean", 100),
])
def test_zonal_statistics_with_partial_cells(zonal_values, code, name, expected):
    # the polygons went to EPSG:4326 and back: sub-millimetre shifts of 1 km cells
    assert zonal_values[(code, name)] == pytest.approx(expected, rel=1e-5)


def test_slope_of_a_projected_dem_in_metres(zonal_values):
    # 10 m per 1 km column, 50 m per 1 km row: tan = hypot(0.01, 0.05) everywhere
    expected = math.degrees(math.atan(math.hypot(0.01, 0.05)))
    grid = zonal.Grid(fx.ELEVATION.astype(float), fx.RASTER_TRANSFORM, TM3)
    assert np.allclose(zonal.slope_degrees(grid), expected)
    assert zonal_values[("A", "slope_mean")] == pytest.approx(expected)
    assert zonal_values[("B", "slope_max")] == pytest.approx(expected)


@pytest.mark.parametrize("lat", [0.0, 60.0])
def test_slope_of_a_geographic_dem_uses_true_cell_sizes(lat):
    # 1 m rise per column of 0.001°: the column is N(φ)·cos φ·Δλ metres wide
    a, f = 6378137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    phi = math.radians(lat + 0.0015)  # centre of the middle row
    width = a / math.sqrt(1 - e2 * math.sin(phi) ** 2) * math.cos(phi) * math.radians(0.001)
    z = np.tile(np.arange(4, dtype=float), (3, 1))
    grid = zonal.Grid(z, Affine(0.001, 0, 105.0, 0, -0.001, lat + 0.003), CRS.from_epsg(4326))
    assert zonal.slope_degrees(grid)[1, 1] == pytest.approx(math.degrees(math.atan(1 / width)), rel=1e-4)
    if lat == 60.0:  # twice as steep as the same grid read as if at the equator
        assert width == pytest.approx(55.8, abs=0.1)


def test_zonal_stats_ignore_no_data_and_empty_polygons():
    grid = zonal.Grid(np.array([[1.0, np.nan], [3.0, 4.0]]), Affine(1, 0, 0, 0, -1, 2), TM3)
    stats = zonal.zonal_stats([shapely.box(0, 0, 2, 2), shapely.box(0.5, 0, 1.5, 1), shapely.box(10, 10, 11, 11)],
                              {"v": grid}, ["mean", "sum"])
    assert stats["mean"].iloc[0] == pytest.approx(8 / 3)
    assert stats["sum"].iloc[1] == pytest.approx(3.5)  # half of 3 and half of 4
    assert stats["sum"].iloc[2] == 0 or np.isnan(stats["sum"].iloc[2])


def test_rasters_are_grouped_by_province(tmp_path):
    store = Store(tmp_path / "g.gpkg", create=True)
    with store.transaction() as conn:
        store.insert_rows(conn, "rasters", [
            {"name": "dem_D01", "path": "g_rasters/dem_D01.tif", "kind": "dem"},
            {"name": "population_D01", "path": "/abs/pop.tif", "kind": "population"},
            {"name": "dem", "path": "g_rasters/dem.tif", "kind": "dem"},
            {"name": "travel_time_x", "path": "x.tif", "kind": "travel_time"}])
    groups = zonal.raster_groups(store)
    assert set(groups) == {"D01", ""}
    assert groups["D01"].paths["dem"] == tmp_path / "g_rasters" / "dem_D01.tif"
    assert str(groups["D01"].paths["population"]) == "/abs/pop.tif"
    units = pd.DataFrame({"province": ["D01", "D02", None]})
    assert list(zonal.assign_groups(units, groups)) == ["D01", "", ""]


# --- travel time ------------------------------------------------------------------------


def test_cost_distance_on_a_row_of_cells():
    # 5 cells of 100 m; walking at 3.6 km/h is 1 s per metre
    transform = Affine(100, 0, 0, 0, -100, 100)
    speed = np.full((1, 5), 3.6)
    minutes = tt.cost_minutes(speed, transform, [(0, 0)])
    assert minutes[0] * 60 == pytest.approx([0, 100, 200, 300, 400])
    # a 36 km/h road over cells 1-3: ½(1+0.1)·100 + 10 + 10 + ½(0.1+1)·100 = 130 s to cell 4
    speed[0, 1:4] = 36.0
    assert tt.cost_minutes(speed, transform, [(0, 0)])[0, 4] * 60 == pytest.approx(130)
    # diagonals are √2 longer; an impassable cell (NaN) is a wall
    speed = np.full((2, 2), 3.6)
    assert tt.cost_minutes(speed, Affine(100, 0, 0, 0, -100, 200), [(0, 0)])[1, 1] * 60 == pytest.approx(
        100 * math.sqrt(2))
    walled = np.array([[3.6, np.nan, 3.6]])
    assert np.isinf(tt.cost_minutes(walled, transform, [(0, 0)])[0, 2])
    assert np.isinf(tt.cost_minutes(walled, transform, [])).all()


def test_speed_surface_from_roads_and_slope():
    speeds = tt.load_speeds()
    flat = zonal.Grid(np.zeros((3, 5)), Affine(100, 0, 0, 0, -100, 300), TM3)
    roads = pd.DataFrame({"road_class": ["huyen_lo", "duong_thon"], "surface": ["asphalt", None]})
    kmh = tt.road_speed_kmh(roads, speeds)
    assert kmh == pytest.approx([35.0, 20 * 0.6])
    geoms = [shapely.LineString([(0, 150), (500, 150)]), shapely.LineString([(250, 0), (250, 300)])]
    speed = tt.speed_surface(flat, geoms, kmh, speeds)
    walk = 6.0 * math.exp(-3.5 * 0.05)  # Tobler on flat ground
    assert speed[0, 0] == pytest.approx(walk)
    assert speed[1, 0] == pytest.approx(35.0) and speed[1, 2] == pytest.approx(35.0)  # faster road wins
    assert speed[0, 2] == pytest.approx(12.0)
    t = math.tan(math.radians(20))
    slope, cliff = tt.walking_speed_kmh(np.array([20.0, 45.0]), speeds["walking"])
    assert slope == pytest.approx(6.0 * 0.5 * (math.exp(-3.5 * (t + 0.05)) + math.exp(-3.5 * (t - 0.05))))
    assert cliff == 0.5  # Tobler gives 0.18 km/h on 45°: the floor keeps cliffs passable


def test_population_weighted_travel_time_and_shares():
    transform = Affine(1, 0, 0, 0, -1, 1)
    minutes = zonal.Grid(np.array([[10.0, 40.0, 70.0, np.inf]]), transform, TM3)
    people = zonal.Grid(np.array([[1.0, 2.0, 3.0, 4.0]]), transform, TM3)
    stats = tt.unit_travel_stats([shapely.box(0, 0, 3, 1), shapely.box(0, 0, 4, 1)], minutes, people, [30, 60])
    assert stats["mean"].iloc[0] == pytest.approx((10 + 80 + 210) / 6)
    assert stats["gt30"].iloc[0] == pytest.approx(5 / 6)
    assert stats["gt60"].iloc[0] == pytest.approx(3 / 6)
    # the unreachable cell's 4 people count beyond every threshold, not in the mean
    assert stats["mean"].iloc[1] == pytest.approx((10 + 80 + 210) / 6)
    assert stats["gt60"].iloc[1] == pytest.approx(7 / 10)


def test_travel_time_run_writes_and_registers_the_raster(raster_store):
    units = load_units(raster_store, None, 2024)
    result = tt.travel_time_indicators(raster_store, units, facility="markets")
    path = result.rasters["travel_time_markets"]
    with rasterio.open(path) as src:
        minutes = src.read(1)
        assert src.crs.to_epsg() == 9208 and src.transform == fx.RASTER_TRANSFORM
    # the market at (503 500, 2 451 500) sits in row 0, column 4: zero minutes there
    assert minutes[0, 4] == 0 and np.isfinite(minutes).all() and (minutes[:, :4] > 0).all()
    row = raster_store.read_table("rasters", "name = 'travel_time_markets'")
    assert row["kind"].iloc[0] == "travel_time" and row["units"].iloc[0] == "minutes"
    values = result.frame.set_index(["unit_code", "name"])["value"]
    # B's people all live in the cell below the market's, A's in row 0, column 1
    assert values[("B", "travel_time_popw_mean.markets")] == pytest.approx(minutes[1, 4], rel=1e-5)
    assert values[("A", "travel_time_popw_mean.markets")] == pytest.approx(minutes[0, 1], rel=1e-5)
    assert result.params["facility"] == "markets" and result.params["thresholds_min"] == [30.0, 60.0]
    again = tt.travel_time_indicators(raster_store, units, facility="markets")  # replaces, not duplicates
    assert again.rasters == result.rasters
    assert raster_store.count("rasters", "name = 'travel_time_markets'") == 1


def test_travel_time_refuses_bad_inputs(raster_store, tmp_path):
    units = load_units(raster_store, None, 2024)
    with pytest.raises(ValueError, match="'facility' must be one of"):
        tt.travel_time_indicators(raster_store, units, facility="ferries")
    bare = fx.build(tmp_path / "bare.gpkg")
    with pytest.raises(LookupError, match="no DEM raster"):
        tt.travel_time_indicators(bare, load_units(bare, None, 2024))
    bad = tmp_path / "speeds.yaml"
    bad.write_text("road_class_kmh: {quoc_lo: -5, hovercraft: 90}\nsurface_factor: {}\nwalking: {}\n"
                   "thresholds_min: []\n", encoding="utf-8")
    with pytest.raises(ImportValidationError) as err:
        tt.load_speeds(bad)
    text = str(err.value)
    assert "road class 'tinh_lo' has no speed" in text and "unknown road class 'hovercraft'" in text
    assert "'road_class_kmh.quoc_lo' must be a positive number, got -5" in text
    with pytest.raises(FileNotFoundError, match="does not exist"):
        tt.load_speeds(tmp_path / "none.yaml")


def test_geographic_dem_is_refused_for_travel_time():
    grid = zonal.Grid(np.zeros((2, 2)), Affine(0.001, 0, 105, 0, -0.001, 22), CRS.from_epsg(4326))
    with pytest.raises(ValueError, match="geographic coordinates.*TM-3"):
        tt._check_metric(grid, "dem.tif")


def test_indicator_run_stores_raster_statistics(raster_store):
    run = run_indicators(raster_store, year=2024, options=IndicatorOptions(access=False))
    values = run.frame.set_index(["unit_code", "name"])["value"]
    assert values[("A1", "population")] == pytest.approx(50, rel=1e-5)
    stored = raster_store.read_table("indicators", "name = 'population' AND unit_code = 'A'")
    assert len(stored) == 1 and stored["value"].iloc[0] == pytest.approx(100, rel=1e-5)
    assert '"rasters":["dem","population"]' in stored["params"].iloc[0]

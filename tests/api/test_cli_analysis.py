"""ntm analyse indicators: summary, CSV, dry run, clear errors."""

from __future__ import annotations

import shutil

import click
import pandas as pd
import pytest
from click.testing import CliRunner

from api.cli_analysis import parse_within, register
from layers.demo import raster_dir_for
from layers.store import Store


@pytest.fixture(scope="module")
def store_path(demo_store_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli-analysis") / "demo.gpkg"
    shutil.copy(demo_store_path, path)
    shutil.copytree(raster_dir_for(demo_store_path), raster_dir_for(path))
    return path


def _group():
    @click.group()
    def g():
        """Test group."""

    register(g)
    return g


def run(path, *args):
    return CliRunner().invoke(_group(), ["analyse", "indicators", *args], env={"NTM_STORE": str(path)})


def test_indicators_are_computed_stored_and_written_to_csv(store_path, tmp_path):
    out = tmp_path / "out.csv"
    result = run(store_path, "--scope", "D01-04", "--year", "2024", "--no-network", "--grid-distance", "500",
                 "--within", "schools=2km", "--csv", str(out))
    assert result.exit_code == 0, result.output
    assert "Infrastructure indicators — D01-04, 2024" in result.output
    assert "road km (total)" in result.output and "rows stored" in result.output
    table = pd.read_csv(out)
    store = Store(store_path)
    assert set(table["unit_level"]) == {"commune", "village"}
    assert table["unit_level"].iloc[0] == "commune"
    assert {"road_km", "villages_within_share.straight.schools", "population"} <= set(table.columns)
    assert len(table) == store.count("indicators", "name = 'area_km2'")
    params = store.read_table("indicators", "name = 'villages_within_share.straight.schools'")["params"]
    assert set(params) == {'{"epsg":9207,"facility":"schools","mode":"straight","within_m":2000.0}'}
    grid = store.read_table("indicators", "name = 'villages_near_grid_share'")["params"]
    assert set(grid) == {'{"grid_distance_m":500.0}'}


def test_travel_time_writes_its_raster(store_path):
    result = run(store_path, "--scope", "D01-05", "--year", "2024", "--no-access", "--no-zonal", "--no-villages",
                 "--travel-time", "--facility", "markets")
    assert result.exit_code == 0, result.output
    assert "raster travel_time_markets" in result.output
    store = Store(store_path)
    assert store.count("rasters", "name = 'travel_time_markets' AND kind = 'travel_time'") == 1
    stored = store.read_table("indicators", "name = 'travel_time_popw_mean.markets'")
    assert len(stored) == store.count("communes", "parent_code = 'D01-05' AND valid_to IS NULL")
    assert (stored["value"] >= 0).all()
    assert '"thresholds_min":[30.0,60.0]' in stored["params"].iloc[0] and "speeds_sha1" in stored["params"].iloc[0]


def test_dry_run_stores_nothing(store_path):
    before = Store(store_path).count("indicators")
    result = run(store_path, "--scope", "D01-06", "--year", "2024", "--no-access", "--no-zonal", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "rows (not stored)" in result.output
    assert Store(store_path).count("indicators") == before


@pytest.mark.parametrize("args, text", [
    (["--scope", "XX", "--year", "2024"], "'scope' 'XX' is not a unit of the store"),
    (["--year", "2024", "--facility", "schools"], "'--facility' chooses the travel-time target"),
    (["--year", "2024", "--within", "boats=3"], "'--within' takes TYPE=METRES"),
    (["--year", "2024", "--within", "schools=far"], "is not a distance"),
    (["--year", "2024", "--grid-distance", "-1"], "'grid_distance_m' must be a positive number"),
])
def test_errors_are_one_clear_line(store_path, args, text):
    result = run(store_path, *args)
    assert result.exit_code == 1
    assert "Lỗi / Error: " in result.output and text in result.output


def test_missing_year_is_a_usage_error(store_path):
    result = run(store_path, "--scope", "D01")
    assert result.exit_code == 2 and "--year" in result.output


def test_parse_within_and_an_existing_analyse_group():
    assert parse_within(["schools=3km", "markets = 2500 m"])["schools"] == 3000.0
    assert parse_within(["markets=2500m"])["markets"] == 2500.0
    g = _group()
    assert "indicators" in g.commands["analyse"].commands
    with pytest.raises(ValueError, match="already has an 'indicators' command"):
        register(g)

"""Local Moran's I per commune: a hand-drawn grid, FDR, islands, errors, the demo province."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers import hotspots
from layers.hotspots import HotspotError, local_moran
from layers.store import Store

from _hotspot_store import COLD, HOT, INDICATOR, build_hotspot_store


def _planted(nx=8, ny=8):
    """Values on an nx × ny grid (row j from the south): 19 in the 3 × 3 south-west block,
    4 in the 3 × 3 north-east block, 10–13 elsewhere (a repeating ripple, no cluster)."""
    values = {}
    for j in range(ny):
        for i in range(nx):
            v = 10 + (i * 7 + j * 3) % 4
            if i < 3 and j < 3:
                v = 19
            if i >= nx - 3 and j >= ny - 3:
                v = 4
            values[f"C{j * nx + i:03d}"] = float(v)
    return pd.Series(values)


@pytest.fixture(scope="module")
def grid8(request):
    from conftest import grid_units

    gdf = grid_units(8, 8)
    return gdf.set_index("ma_xa").geometry


@pytest.fixture(scope="module")
def planted_result(grid8):
    return local_moran(grid8, _planted(), permutations=9999, seed=1)


def _concat(*parts) -> gpd.GeoSeries:
    return gpd.GeoSeries(pd.concat([pd.Series(p.values, index=p.index) for p in parts]), crs="EPSG:4326")


def code(i, j, nx=8):
    return f"C{j * nx + i:03d}"


def test_high_block_is_a_hot_spot_and_low_block_a_cold_spot(planted_result):
    f = planted_result.frame.set_index("unit_code")
    # centres of the blocks: all 8 neighbours alike, the most extreme Ii
    assert f.loc[code(1, 1), "cluster"] == "HH" and f.loc[code(6, 6), "cluster"] == "LL"
    assert f.loc[code(1, 1), "lag"] == 19.0 and f.loc[code(6, 6), "lag"] == 4.0  # mean of 8 neighbours
    assert f.loc[code(1, 1), "n_neighbours"] == 8 and f.loc[code(0, 0), "n_neighbours"] == 3  # queen
    # a corner of the high block: neighbours (1,0), (0,1), (1,1) all 19
    assert f.loc[code(0, 0), "lag"] == 19.0 and f.loc[code(0, 0), "cluster"] == "HH"
    hh = set(f.index[f["cluster"] == "HH"])
    ll = set(f.index[f["cluster"] == "LL"])
    block_hi = {code(i, j) for i in range(3) for j in range(3)}
    block_lo = {code(i, j) for i in range(5, 8) for j in range(5, 8)}
    assert hh <= block_hi and len(hh) >= 7
    assert ll <= block_lo and len(ll) >= 7
    # far from both blocks: the ripple is not significant
    assert f.loc[code(4, 3), "cluster"] == "ns" and f.loc[code(0, 7), "cluster"] == "ns"
    assert (f.loc[list(hh), "quadrant"] == "HH").all() and (f.loc[list(hh), "Ii"] > 0).all()
    assert planted_result.moran_global["I"] > 0.5 and planted_result.moran_global["p_sim"] <= 0.001


def test_fdr_flags_fewer_communes_than_raw_p(planted_result):
    f = planted_result.frame
    raw, adjusted = int(f["significant"].sum()), int(f["significant_fdr"].sum())
    assert adjusted < raw  # measured: 22 at p ≤ 0.05, 16 after Benjamini–Hochberg
    assert (f["q_fdr"] >= f["p_sim"]).all()
    assert not (f["significant_fdr"] & ~f["significant"]).any()
    assert (f["cluster"] != "ns").sum() == adjusted  # the clusters follow the FDR decision


def test_without_fdr_clusters_follow_raw_p(grid8):
    raw = local_moran(grid8, _planted(), permutations=9999, seed=1, fdr=False)
    assert (raw.frame["cluster"] != "ns").sum() == raw.frame["significant"].sum()
    assert raw.params["fdr"] is False


def test_same_seed_same_result_and_permutations_bound_p(grid8):
    a = local_moran(grid8, _planted(), permutations=199, seed=7).frame
    b = local_moran(grid8, _planted(), permutations=199, seed=7).frame
    pd.testing.assert_frame_equal(a, b)
    assert a["p_sim"].min() >= 1 / 200  # the smallest pseudo p-value 199 permutations allow


def test_islands_and_missing_values_are_reported_not_tested(grid8):
    extra = _concat(grid8, pd.Series([shapely.box(110, 10, 110.05, 10.05)], index=["ISL"]))
    values = _planted()
    values["ISL"] = 19.0
    values[code(3, 0)] = np.nan  # no data: left out, its neighbours judged on the others
    result = local_moran(extra, values, permutations=999, seed=3)
    f = result.frame.set_index("unit_code")
    assert f.loc["ISL", "cluster"] == "island" and f.loc["ISL", "n_neighbours"] == 0
    assert np.isnan(f.loc["ISL", "Ii"]) and not f.loc["ISL", "significant_fdr"]
    assert f.loc[code(3, 0), "cluster"] == "no_data" and np.isnan(f.loc[code(3, 0), "p_sim"])
    # (2,0) now has 4 neighbours with data instead of 5: (1,0) (1,1) (2,1) (3,1)
    assert f.loc[code(2, 0), "n_neighbours"] == 4
    assert result.params["n_islands"] == 1 and result.params["n_no_data"] == 1
    assert result.params["n_tested"] == 64 - 1
    assert result.counts["island"] == 1 and sum(result.counts.values()) == 65


def test_disconnected_groups_are_counted(grid):
    a = grid(4, 4, prefix="A").set_index("ma_xa").geometry
    b = grid(4, 4, prefix="B", x0=106.0).set_index("ma_xa").geometry
    geoms = _concat(a, b)
    values = pd.Series(np.arange(32, dtype=float) % 5, index=geoms.index)
    result = local_moran(geoms, values, permutations=99, seed=1)
    assert result.params["n_components"] == 2 and result.params["n_islands"] == 0


def test_too_few_communes_and_constant_values(grid):
    small = grid(3, 3).set_index("ma_xa").geometry
    with pytest.raises(HotspotError, match="at least 10 communes") as exc:
        local_moran(small, pd.Series(np.arange(9.0), index=small.index))
    assert exc.value.parameter == "scope"
    square = grid(4, 4).set_index("ma_xa").geometry
    with pytest.raises(HotspotError, match="same value"):
        local_moran(square, pd.Series(12.0, index=square.index))


@pytest.mark.parametrize("option, value, parameter", [
    ("permutations", 10, "permutations"), ("permutations", 1.5, "permutations"), ("seed", -1, "seed"),
    ("alpha", 0, "alpha"), ("alpha", 1.2, "alpha"), ("contiguity", "rook", "contiguity"),
])
def test_bad_options_name_the_parameter(grid8, option, value, parameter):
    with pytest.raises(HotspotError, match=f"'{parameter}'") as exc:
        local_moran(grid8, _planted(), **{option: value})
    assert exc.value.parameter == parameter


def test_fuzzy_contiguity_links_communes_across_a_gap(grid):
    """Two columns of squares 20 m apart: queen sees no neighbours across, fuzzy (50 m) does."""
    left = grid(2, 6, prefix="L").set_index("ma_xa").geometry
    right = grid(2, 6, prefix="R", x0=104.1002).set_index("ma_xa").geometry  # ≈ 20 m east of x=104.1
    geoms = _concat(left, right)
    values = pd.Series(np.arange(24, dtype=float) % 7, index=geoms.index)
    queen = local_moran(geoms, values, permutations=99).frame.set_index("unit_code")
    fuzzy = local_moran(geoms, values, permutations=99, contiguity="fuzzy", tolerance_m=50).frame
    fuzzy = fuzzy.set_index("unit_code")
    assert queen.loc["L001", "n_neighbours"] == 3 and fuzzy.loc["L001", "n_neighbours"] == 5


# --- on a store ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def planted_store(demo_store_path, tmp_path_factory):
    return Store(build_hotspot_store(demo_store_path, tmp_path_factory.mktemp("hot") / "demo.gpkg"))


def test_demo_province_criteria_met(demo_store_path):
    store = Store(demo_store_path)
    result = hotspots.hotspots(store, year=2024)
    f = result.frame
    assert len(f) == 120 and sum(result.counts.values()) == 120
    # the 15 wards and towns without NTM status are no data, the 105 xã are tested
    assert result.counts["no_data"] == 15 and result.params["n_tested"] == 105
    assert result.params["variable"] == "criteria_met" and result.params["set_id"] == "qd318-2022-xa-ntm"
    tested = f[f["cluster"] != "no_data"]
    assert tested["value"].between(0, 19).all() and tested["p_sim"].between(0.001, 1).all()
    assert result.geometry is not None and len(result.geometry) == 120


def test_demo_province_planted_indicator(planted_store):
    result = hotspots.hotspots(planted_store, year=2024, indicator=INDICATOR, permutations=999)
    f = result.frame
    parent = f["unit_code"].str.rsplit("-", n=1).str[0]
    hh, ll = f[f["cluster"] == "HH"], f[f["cluster"] == "LL"]
    assert (parent[hh.index] == HOT).all() and (parent[ll.index] == COLD).all()
    assert len(hh) >= 6 and len(ll) >= 6  # most of the 12 and 11 communes
    assert result.params["variable"] == INDICATOR and result.params["set_id"] is None


def test_store_errors(planted_store):
    with pytest.raises(HotspotError, match="'scope'") as exc:
        hotspots.hotspots(planted_store, year=2024, scope="NOPE")
    assert exc.value.parameter == "scope"
    with pytest.raises(HotspotError, match="'indicator'") as exc:
        hotspots.hotspots(planted_store, year=2024, indicator="no.such")
    assert exc.value.parameter == "indicator"
    with pytest.raises(LookupError, match="no criteria status .* 2030"):
        hotspots.hotspots(planted_store, year=2030)
    with pytest.raises(HotspotError, match="at least 10"):  # one commune is not a neighbourhood
        hotspots.hotspots(planted_store, year=2024, scope="D01-03-002")


def test_real_laocai_communes_queen_and_fuzzy(laocai_store_path):
    """Real boundaries: no islands, one connected group; vertex queen misses the adjacencies
    that slivers break, fuzzy contiguity (50 m) finds them."""
    from geo import crs
    from layers import admin_units

    store = Store(laocai_store_path)
    gdf = admin_units.units_table(store, "commune", geometry=True).set_index("code")
    area = pd.Series(np.asarray(crs.area_km2(gdf.geometry.values)), index=gdf.index)
    queen = local_moran(gdf.geometry, area, permutations=99)
    fuzzy = local_moran(gdf.geometry, area, permutations=99, contiguity="fuzzy")
    for result in (queen, fuzzy):
        assert result.params["n_units"] == 164 and result.params["n_islands"] == 0
        assert result.params["n_components"] == 1
    q, f = queen.frame["n_neighbours"], fuzzy.frame["n_neighbours"]
    assert (f >= q).all() and 4.5 < q.mean() < 4.8 and 5.2 < f.mean() < 5.5

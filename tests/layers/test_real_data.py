"""Real boundaries from ../shared/data: Lào Cai, the Si Ma Cai merger of 2020."""

import geopandas as gpd
import pytest

from geo.text import slugify
from layers import admin_units
from layers.boundaries import import_boundaries
from layers.crosswalk import apply_changes
from layers.store import Store

pytestmark = pytest.mark.shared_data
LAO_CAI = "province_vn = 'Lào Cai'"
ACT = __import__("pathlib").Path(__file__).parents[1] / "data" / "nq896-2020-simacai.yaml"


@pytest.fixture(scope="module")
def laocai(shared_data, tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("real") / "laocai.gpkg", create=True)
    result = import_boundaries(store, shared_data / "boundaries" / "vnm_communes_vietnam63.gpkg",
                               level="commune", where=LAO_CAI, build_parents=True, valid_to=None)
    return store, result


def test_all_164_communes_of_lao_cai_with_consistent_parents(laocai):
    store, result = laocai
    assert result.counts == {"commune": 164, "district": 9, "province": 1}
    communes = store.read_features("communes")
    districts = store.read_features("districts")
    province = store.read_features("provinces").iloc[0]
    assert (province["name"], province["gso_code"], province["tm3_epsg"]) == ("Lào Cai", "10", 9208)
    assert set(communes["parent_code"]) == set(districts["code"])
    assert set(districts["parent_code"]) == {province["code"]}
    assert communes.groupby("parent_code").size().to_dict()["20508"] == 13  # Si Ma Cai before 2020
    assert set(communes["unit_type"]) == {"xa", "phuong", "thi_tran"}
    assert communes["name"].str.contains("Thào Chư Phìn").any()
    # every commune lies inside its district (districts are their dissolved communes)
    joined = communes.merge(districts[["code", "geometry"]].rename(columns={"code": "parent_code", "geometry": "parent"}), on="parent_code")
    outside = gpd.GeoSeries(joined.geometry).to_crs(6933).difference(gpd.GeoSeries(joined["parent"], crs=4326).to_crs(6933)).area
    assert outside.max() < 50.0  # m²: noding at the source overlaps moves a few vertices
    assert communes["area_km2"].sum() == pytest.approx(6374.75, rel=1e-3)


def test_slivers_are_reported_with_sizes_not_refused(laocai):
    _, result = laocai
    topo = result.topology
    assert 0.001 < topo["overlap_share"] < 0.005 and 0.001 < topo["gap_share"] < 0.005
    assert topo["overlap_pairs"] > 100 and topo["max_overlap_km2"] < 1.0
    texts = [str(w) for w in result.warnings]
    assert any("sliver overlap(s)" in t and "km²" in t for t in texts)
    assert any("sliver gap(s)" in t for t in texts)


def test_a_tight_tolerance_refuses_the_same_data(shared_data, tmp_path, file_hash):
    from layers._errors import ImportValidationError

    store = Store(tmp_path / "t.gpkg", create=True)
    before = file_hash(store.path)
    with pytest.raises(ImportValidationError, match=r"overlap of 0\.40\d km² .* Trung Lèng Hồ .* Nậm Pung"):
        import_boundaries(store, shared_data / "boundaries" / "vnm_communes_vietnam63.gpkg",
                          level="commune", where=LAO_CAI, build_parents=True, sliver_km2=0.3)
    assert file_hash(store.path) == before


def test_si_ma_cai_2020_merger_matches_the_derived_boundaries(laocai, shared_data):
    store, _ = laocai
    rows = apply_changes(store, ACT)
    assert len(rows) == 6 and set(rows["legal_act"]) == {"NQ 896/NQ-UBTVQH14"}
    assert rows.groupby("new_code")["new_share"].sum().round(6).eq(1.0).all()
    after = admin_units.units_in_scope(store, "20508", "commune", on="2020-06-01")
    before = admin_units.units_in_scope(store, "20508", "commune", on="2019-12-31")
    assert len(before) == 13 and len(after) == 10
    derived = gpd.read_file(shared_data / "boundaries" / "laocai_simacai_communes_2020_derived.gpkg").to_crs(6933)
    ours = store.read_features("communes", f"fid IN ({','.join(map(str, after['fid']))})").to_crs(6933)
    assert sorted(ours["slug"]) == sorted(slugify(n) for n in derived["name_2020"])
    for _, unit in derived.iterrows():
        mine = ours[ours["slug"] == slugify(unit["name_2020"])].iloc[0]
        assert mine["full_name"] == unit["unit_2020"]
        iou = mine.geometry.intersection(unit.geometry).area / mine.geometry.union(unit.geometry).area
        assert iou > 0.9999, unit["unit_2020"]
    # the whole province: 164 units before, 164 - 13 + 10 = 161 after
    assert len(admin_units.units_table(store, "commune", on="2019-01-01")) == 164
    assert len(admin_units.units_table(store, "commune", on="2021-01-01")) == 161

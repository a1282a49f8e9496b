"""Boundary imports: formats, CRS handling, field detection, and every refusal."""

import zipfile

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import CRS

from layers._errors import ImportValidationError
from layers.boundaries import import_boundaries
from layers.store import Store
from layers.vector_io import VectorReadError


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "s.gpkg", create=True)


def communes(grid, **cols):
    gdf = grid(3, 2)
    gdf["ten_huyen"] = "Huyện Thử"
    gdf["ma_tinh"] = "10"
    gdf["ten_tinh"] = "Lào Cai"
    for k, v in cols.items():
        gdf[k] = v
    return gdf


def write(gdf, path, driver=None):
    pyogrio.write_dataframe(gdf, path, driver=driver)
    return path


def zipped_shapefile(gdf, tmp_path, name="xa", prj=True):
    folder = tmp_path / "shp"
    folder.mkdir(exist_ok=True)
    pyogrio.write_dataframe(gdf, folder / f"{name}.shp", encoding="UTF-8")
    out = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for f in folder.iterdir():
            if prj or f.suffix != ".prj":
                zf.write(f, f.name)
    return out


@pytest.mark.parametrize("suffix, driver", [(".gpkg", "GPKG"), (".geojson", "GeoJSON"), (".fgb", "FlatGeobuf")])
def test_import_each_format_with_built_parents(store, grid, tmp_path, suffix, driver):
    path = write(communes(grid), tmp_path / f"xa{suffix}", driver)
    result = import_boundaries(store, path, level="commune", build_parents=True,
                               district_code_field="ma_huyen", district_name_field="ten_huyen",
                               province_code_field="ma_tinh", province_name_field="ten_tinh")
    assert result.counts == {"district": 1, "province": 1, "commune": 6}
    assert result.field_sources["code"] == "ma_xa" and result.field_sources["name"] == "ten_xa"
    xa = store.read_features("communes", order_by="code")
    assert xa["unit_type"].unique().tolist() == ["xa"]
    assert xa["name"].iloc[0] == "Thử 1" and xa["full_name"].iloc[0] == "Xã Thử 1"
    assert xa["slug"].iloc[0] == "thu-1"
    assert set(xa["parent_code"]) == {"H01"}
    province = store.read_features("provinces").iloc[0]
    assert (province["gso_code"], province["region"], province["tm3_epsg"]) == ("10", "tdmnpb", 9208)
    district = store.read_features("districts").iloc[0]
    assert district["unit_type"] == "huyen" and district["full_name"] == "Huyện Thử"
    assert district.geometry.area == pytest.approx(xa.geometry.union_all().area)
    assert xa["area_km2"].sum() == pytest.approx(district["area_km2"], rel=1e-6)


def test_zipped_shapefile_without_prj_needs_crs(store, grid, tmp_path, file_hash):
    gdf = communes(grid).to_crs(9208)
    path = zipped_shapefile(gdf, tmp_path, prj=False)
    before = file_hash(store.path)
    with pytest.raises(VectorReadError, match="declares no coordinate reference system.*--crs"):
        import_boundaries(store, path, level="commune", build_parents=True)
    assert file_hash(store.path) == before
    import_boundaries(store, path, level="commune", build_parents=True, crs="EPSG:9208")
    assert store.count("communes") == 6


def test_vn2000_tm3_input_lands_within_a_metre_of_truth(store, tmp_path):
    """Corners known in WGS 84, written in VN-2000 TM-3 104°45′ (EPSG:9208), read back."""
    truth = np.array([[104.20, 22.50], [104.30, 22.50], [104.30, 22.60], [104.20, 22.60]])
    poly = gpd.GeoDataFrame({"ma_xa": ["X1"], "ten_xa": ["Xã Mốc"], "ma_huyen": ["H"]},
                            geometry=[shapely.Polygon(truth)], crs=4326).to_crs(9208)
    path = zipped_shapefile(poly, tmp_path, name="tm3")
    import_boundaries(store, path, level="commune", default_type="xa", build_parents=True,
                      district_code_field="ma_huyen", district_name_field="ten_xa",
                      province_code_field="ma_huyen", province_name_field="ten_xa")
    got = np.array(store.read_features("communes").geometry.iloc[0].geoms[0].exterior.coords)[:4]
    got = got[[np.argmin(((got - t) ** 2).sum(axis=1)) for t in truth]]  # shapefiles rewind rings
    geod = CRS.from_epsg(4326).get_geod()
    dist = geod.inv(got[:, 0], got[:, 1], truth[:, 0], truth[:, 1])[2]
    assert dist.max() < 1.0


def test_wrong_crs_is_caught_by_the_vietnam_check(store, grid, tmp_path):
    gdf = communes(grid).to_crs(9208).set_crs(4326, allow_override=True)  # metres labelled degrees
    with pytest.raises(VectorReadError, match="outside Vietnam"):
        import_boundaries(store, write(gdf, tmp_path / "bad.gpkg"), level="commune", build_parents=True)


def test_conflicting_crs_option_is_refused(store, grid, tmp_path):
    path = write(communes(grid), tmp_path / "x.gpkg")
    with pytest.raises(VectorReadError, match="declares WGS 84 but --crs says"):
        import_boundaries(store, path, level="commune", crs="EPSG:9208", build_parents=True)


def bad_case(name, gdf):
    return pytest.param(gdf, id=name)


def _refused(store, tmp_path, gdf, file_hash, match, **kwargs):
    path = write(gdf, tmp_path / "bad.gpkg")
    before = file_hash(store.path)
    with pytest.raises(ImportValidationError, match=match) as info:
        import_boundaries(store, path, level="commune", build_parents=True, **kwargs)
    assert file_hash(store.path) == before
    assert "nothing was written" in str(info.value)
    return info.value


def test_duplicate_codes_named(store, grid, tmp_path, file_hash):
    gdf = communes(grid)
    gdf.loc[3, "ma_xa"] = "C000"
    _refused(store, tmp_path, gdf, file_hash, r"code 'C000' appears 2 times \(features #1, #4\)")


def test_empty_geometry_named(store, grid, tmp_path, file_hash):
    gdf = communes(grid)
    gdf.loc[2, "geometry"] = shapely.Polygon()
    _refused(store, tmp_path, gdf, file_hash, r"feature #3 \(Thử 3, code C002\): empty or missing geometry")


def test_mojibake_name_refused(store, grid, tmp_path, file_hash):
    gdf = communes(grid)
    gdf.loc[1, "ten_xa"] = "Xã Tr¸ng Kim"
    _refused(store, tmp_path, gdf, file_hash, r"column 'ten_xa', feature #2 \(code C001\): name 'Xã Tr¸ng Kim' contains characters of the legacy TCVN3")


def test_missing_name_and_type(store, grid, tmp_path, file_hash):
    gdf = communes(grid)
    gdf.loc[0, "ten_xa"] = None
    gdf.loc[4, "ten_xa"] = "Trung tâm huấn luyện"
    err = _refused(store, tmp_path, gdf, file_hash, "missing name")
    assert "cannot tell the unit type of 'Trung tâm huấn luyện'" in str(err)


def test_big_overlap_refused_but_slivers_reported(store, grid, tmp_path, file_hash):
    gdf = communes(grid)
    gdf.loc[1, "geometry"] = shapely.box(104.03, 22.0, 104.10, 22.05)  # overlaps #1 by 0.02° ≈ 10 km²
    _refused(store, tmp_path, gdf, file_hash, r"overlap of \d+\.\d+ km² .* between Thử 1 \(C000\) and Thử 2 \(C001\) exceeds")
    gdf.loc[1, "geometry"] = shapely.box(104.0495, 22.0, 104.10, 22.05)  # ~0.3 km² sliver
    gdf.loc[4, "geometry"] = shapely.box(104.05, 22.0505, 104.10, 22.10)  # ~0.3 km² enclosed gap
    result = import_boundaries(store, write(gdf, tmp_path / "ok.gpkg"), level="commune", build_parents=True)
    text = " ".join(str(w) for w in result.warnings)
    assert "1 sliver overlap(s)" in text and "sliver gap" in text
    assert 0.2 < result.topology["overlap_km2"] < 0.4
    assert result.topology["gaps"] >= 1


def test_unknown_parent_and_child_outside_parent(store, grid, tmp_path, file_hash):
    import_boundaries(store, write(communes(grid), tmp_path / "a.gpkg"), level="commune", build_parents=True)
    villages = gpd.GeoDataFrame(
        {"ma_thon": ["V1", "V2", "V3"], "ten_thon": ["Thôn Một", "Bản Hai", "Thôn Ba"], "ma_xa": ["C000", "C999", "C001"]},
        geometry=[shapely.box(104.01, 22.01, 104.02, 22.02), shapely.box(104.06, 22.01, 104.07, 22.02),
                  shapely.box(104.04, 22.01, 104.06, 22.02)],  # V3 half outside C001
        crs=4326,
    )
    path = write(villages, tmp_path / "thon.gpkg")
    before = file_hash(store.path)
    with pytest.raises(ImportValidationError) as info:
        import_boundaries(store, path, level="village")
    msg = str(info.value)
    assert "feature #2 (Hai, code V2): unknown parent code 'C999'" in msg
    assert "feature #3 (Ba, code V3)" in msg and "lies outside its commune 'C001'" in msg
    assert file_hash(store.path) == before
    ok = villages.iloc[:1]
    import_boundaries(store, write(ok, tmp_path / "ok.gpkg"), level="village")
    v = store.read_features("villages").iloc[0]
    assert (v["unit_type"], v["name"], v["region"]) == ("thon", "Một", "tdmnpb")


def test_reimport_same_vintage_needs_replace(store, grid, tmp_path, file_hash):
    path = write(communes(grid), tmp_path / "x.gpkg")
    import_boundaries(store, path, level="commune", build_parents=True)
    before = file_hash(store.path)
    with pytest.raises(ImportValidationError, match="'C000' with this vintage .* is already in the store; use --replace"):
        import_boundaries(store, path, level="commune", build_parents=True)
    assert file_hash(store.path) == before
    import_boundaries(store, path, level="commune", build_parents=True, replace=True)
    assert store.count("communes") == 6
    import_boundaries(store, path, level="commune", build_parents=True, valid_from="2025-07-01")
    assert store.count("communes") == 12


def test_dry_run_writes_nothing(store, grid, tmp_path, file_hash):
    before = file_hash(store.path)
    result = import_boundaries(store, write(communes(grid), tmp_path / "x.gpkg"), level="commune",
                               build_parents=True, dry_run=True)
    assert result.counts["commune"] == 6
    assert file_hash(store.path) == before


def test_invalid_geometry_repaired_and_listed(store, grid, tmp_path):
    gdf = communes(grid)
    bow = shapely.Polygon([(104.0, 22.0), (104.05, 22.05), (104.05, 22.0), (104.0, 22.05)])
    gdf.loc[0, "geometry"] = bow
    result = import_boundaries(store, write(gdf, tmp_path / "x.gpkg"), level="commune", build_parents=True, sliver_km2=50)
    assert any("repaired with make_valid" in str(w) and "#1" in str(w) for w in result.warnings)
    assert store.read_features("communes").geometry.is_valid.all()


def test_options_are_checked(store, grid, tmp_path):
    path = write(communes(grid), tmp_path / "x.gpkg")
    with pytest.raises(ImportValidationError, match="no column 'ma' for code"):
        import_boundaries(store, path, level="commune", code_field="ma", build_parents=True)
    with pytest.raises(ImportValidationError, match="'valid_from' must be a date"):
        import_boundaries(store, path, level="commune", valid_from="2025-13-01")
    with pytest.raises(ValueError, match="'level' must be one of"):
        import_boundaries(store, path, level="hamlet")
    with pytest.raises(VectorReadError, match="unsupported file type '.kml'"):
        import_boundaries(store, tmp_path / "x.kml", level="commune")


def test_gso_codes_are_checked(store, grid, tmp_path, file_hash):
    gdf = communes(grid, gso=["02800", "02803", "2806", "02809", "02812", "02815"])
    _refused(store, tmp_path, gdf, file_hash, r"GSO commune codes have 5 digits, got '2806'", gso_code_field="gso")

import numpy as np
import pytest
from pyproj import CRS, Transformer

from geo.crs import TM3_ZONES, is_vn2000, resolve_crs, tm3_zone_for_lon

# A VN-2000 TM-3 104°45′ .prj as written by desktop GIS, with a datum name PROJ does not know.
UNKNOWN_DATUM_PRJ = (
    'PROJCS["VN2000 Lao Cai",GEOGCS["GCS_VN2000_custom",DATUM["D_VN2000_Custom",'
    'SPHEROID["WGS 84",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",104.75],PARAMETER["Scale_Factor",0.9999],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)
TRUTH = np.array([[104.25, 22.70], [104.05, 22.55], [104.48, 22.35]])  # WGS 84 lon/lat


def _metres(lon_a, lat_a, lon_b, lat_b):
    geod = CRS.from_epsg(4326).get_geod()
    return geod.inv(lon_a, lat_a, lon_b, lat_b)[2]


def test_every_tm3_zone_is_a_vn2000_transverse_mercator():
    for code, meridian in TM3_ZONES.items():
        crs = CRS.from_epsg(code)
        assert is_vn2000(crs)
        assert crs.coordinate_operation.params[1].value == pytest.approx(meridian)


def test_tm3_zone_for_lon_picks_nearest_meridian():
    assert tm3_zone_for_lon(104.7) == 9208
    assert tm3_zone_for_lon(103.1) == 9205
    assert tm3_zone_for_lon(108.45) == 9218


@pytest.mark.parametrize("source", [9208, UNKNOWN_DATUM_PRJ])
def test_vn2000_tm3_lands_within_a_metre_of_wgs84_truth(source):
    to_tm3 = Transformer.from_crs(4326, 9208, always_xy=True)  # official EPSG:6960 shift
    x, y = to_tm3.transform(TRUTH[:, 0], TRUTH[:, 1])
    back = Transformer.from_crs(resolve_crs(source), 4326, always_xy=True)
    lon, lat = back.transform(x, y)
    assert max(_metres(lon, lat, TRUTH[:, 0], TRUTH[:, 1])) < 1.0


def test_unknown_vn2000_datum_without_fix_is_far_off():
    """Why resolve_crs exists: PROJ alone would ignore the datum shift (~200 m here)."""
    x, y = Transformer.from_crs(4326, 9208, always_xy=True).transform(TRUTH[:, 0], TRUTH[:, 1])
    lon, lat = Transformer.from_crs(CRS.from_wkt(UNKNOWN_DATUM_PRJ), 4326, always_xy=True).transform(x, y)
    assert min(_metres(lon, lat, TRUTH[:, 0], TRUTH[:, 1])) > 100


def test_resolve_crs_rejects_garbage():
    with pytest.raises(ValueError, match="could not be read as a coordinate reference system"):
        resolve_crs("EPSG:not-a-code")

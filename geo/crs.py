"""Coordinate reference systems used in Vietnam, and choosing a metric CRS.

The store keeps EPSG:4326. Lengths, areas, distances and scale bars are computed in a
metric CRS: the province's VN-2000 TM-3 zone (QĐ 05/2007/QĐ-BTNMT parameters), or an
equal-area CRS for areas over several provinces. Never in degrees.
"""

from __future__ import annotations

import re
import warnings

from pyproj import CRS
from pyproj.exceptions import CRSError

__all__ = [
    "area_km2",
    "STORE_CRS",
    "EQUAL_AREA_CRS",
    "VN2000_GEOGRAPHIC",
    "TM3_ZONES",
    "tm3_zone_for_lon",
    "resolve_crs",
    "is_vn2000",
]

STORE_CRS = "EPSG:4326"
EQUAL_AREA_CRS = "EPSG:6933"  # WGS 84 / NSIDC EASE-Grid 2.0 Global: equal-area, for km²
VN2000_GEOGRAPHIC = 4756

# EPSG code -> central meridian (degrees) of the VN-2000 TM-3 zones (k = 0.9999).
TM3_ZONES: dict[int, float] = {
    9205: 103.0, 9206: 104.0, 9207: 104.5, 9208: 104.75, 9209: 105.5, 9210: 105.75,
    9211: 106.0, 9212: 106.25, 9213: 106.5, 9214: 107.0, 9215: 107.25, 9216: 107.5,
    9217: 108.25, 9218: 108.5, 5896: 102.0, 5897: 105.0, 5898: 108.0, 5899: 107.75,
}

# Official VN-2000 -> WGS 84 parameters (QĐ 05/2007/QĐ-BTNMT, EPSG:6960) in the
# position-vector convention that PROJ's +towgs84 uses (rotations negated from EPSG's
# coordinate-frame form).
VN2000_TOWGS84 = "-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278"

_VN2000_NAME = re.compile(r"vn[\s_-]*2000|vietnam[\s_-]*2000|vn2k", re.IGNORECASE)


def tm3_zone_for_lon(lon: float) -> int:
    """EPSG code of the VN-2000 TM-3 zone whose central meridian is nearest ``lon``.

    Provinces have assigned zones (see the provinces table); use this for areas that have
    none, such as a bounding box or synthetic data.
    """
    preferred = {k: v for k, v in TM3_ZONES.items() if k >= 9205}
    return min(preferred, key=lambda code: (abs(preferred[code] - lon), code))


def area_km2(geoms, crs=STORE_CRS):
    """Areas in km² of geometries given in ``crs`` (projected to the equal-area CRS)."""
    import numpy as np
    import shapely
    from pyproj import Transformer

    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return np.zeros(0)
    tr = Transformer.from_crs(crs, EQUAL_AREA_CRS, always_xy=True)
    projected = shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    return shapely.area(projected) / 1e6


def is_vn2000(crs: CRS) -> bool:
    """Whether a CRS sits on the VN-2000 datum (by EPSG code or by datum name)."""
    geodetic = crs.geodetic_crs
    if geodetic is not None and geodetic.to_epsg(min_confidence=70) == VN2000_GEOGRAPHIC:
        return True
    return bool(crs.datum and _VN2000_NAME.search(crs.datum.name or ""))


def resolve_crs(value) -> CRS:
    """A pyproj CRS from an EPSG code, WKT or PROJ string, made safe for VN-2000.

    A ``.prj`` without an EPSG code that names the VN-2000 datum in a way PROJ does not
    recognise would otherwise be transformed with a null ("ballpark") datum shift, a
    silent error of tens of metres. Such a CRS is rebuilt with the official 7-parameter
    transformation.

    Raises
    ------
    ValueError
        When the value is not a CRS PROJ can read.
    """
    try:
        crs = CRS.from_user_input(value)
    except CRSError as exc:
        raise ValueError(f"'crs' could not be read as a coordinate reference system: {value!r} ({exc})") from exc
    if not is_vn2000(crs):
        return crs
    geodetic = crs.geodetic_crs
    if geodetic is not None and geodetic.to_epsg(min_confidence=70) == VN2000_GEOGRAPHIC:
        return crs  # PROJ knows the datum and will pick EPSG:6960
    if "towgs84" in crs.to_wkt().lower():
        return crs
    with warnings.catch_warnings():
        # a TM or lon/lat CRS loses nothing in a PROJ string; only the datum is rebuilt
        warnings.simplefilter("ignore", UserWarning)
        proj4 = crs.to_proj4()
    proj4 = re.sub(r"\+towgs84=\S+", "", proj4) + f" +towgs84={VN2000_TOWGS84}"
    return CRS.from_proj4(proj4)

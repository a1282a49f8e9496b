"""Coordinate reference systems of the OGC API (Features Part 2): names, axis order, transforms.

The store keeps WGS 84 longitude/latitude. Responses default to CRS84 (RFC 7946); a
client may ask for EPSG:4326, VN-2000 geographic (EPSG:4756) or a VN-2000 TM-3 zone.
Part 2 says coordinates follow the axis order the CRS defines, so EPSG:4326 and
EPSG:4756 come out latitude first while CRS84 and the TM-3 zones (easting, northing)
come out x first; a ``bbox`` given with ``bbox-crs`` is read in that order too.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS, Transformer

from geo.crs import TM3_ZONES, VN2000_GEOGRAPHIC
from .errors import BadParameter

__all__ = [
    "CRS84",
    "OutputCrs",
    "SUPPORTED",
    "STORAGE_CRS",
    "crs_uri",
    "parse_crs",
    "bbox_to_crs84",
    "project",
]

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
STORAGE_CRS = CRS84  # the store's EPSG:4326 is kept in lon/lat order, which is CRS84

# Decimals kept in output: 1e-7 degree is about 1 cm, 1 mm in metric CRSs.
_DECIMALS_DEGREES = 7
_DECIMALS_METRES = 3


@dataclass(frozen=True)
class OutputCrs:
    """One CRS a client can ask for.

    ``epsg`` is None for CRS84 (the store's own coordinates); ``lat_first`` says the
    CRS's first axis is northing/latitude, so pairs are swapped after transforming.
    """

    uri: str
    epsg: int | None
    lat_first: bool
    decimals: int
    name: str

    @property
    def is_crs84(self) -> bool:
        return self.epsg is None


def crs_uri(epsg: int | None) -> str:
    """The OGC URI of an EPSG code (None: CRS84)."""
    return CRS84 if epsg is None else _EPSG_URI.format(epsg)


def _make(epsg: int | None) -> OutputCrs:
    if epsg is None:
        return OutputCrs(CRS84, None, False, _DECIMALS_DEGREES, "WGS 84 (CRS84, lon/lat)")
    crs = CRS.from_epsg(epsg)
    first = crs.axis_info[0]
    lat_first = first.direction in ("north", "south")
    metric = first.unit_name in ("metre", "meter")
    return OutputCrs(crs_uri(epsg), epsg, lat_first, _DECIMALS_METRES if metric else _DECIMALS_DEGREES,
                     crs.name)


_CODES: tuple[int | None, ...] = (None, 4326, VN2000_GEOGRAPHIC, *sorted(TM3_ZONES))
SUPPORTED: dict[str, OutputCrs] = {crs_uri(code): _make(code) for code in _CODES}

_SHORT = re.compile(r"^\[?(?:urn:ogc:def:crs:)?(EPSG|OGC)(?::+|/)(?:[\d.]*:)?([\w.]+)\]?$", re.IGNORECASE)


def parse_crs(value: str, parameter: str = "crs") -> OutputCrs:
    """The supported CRS a parameter names: an OGC URI, a safe CURIE ``[EPSG:4756]``,
    ``EPSG:4756`` or ``CRS84``.

    Raises
    ------
    BadParameter
        Naming the parameter and listing the supported URIs.
    """
    text = value.strip()
    if text in SUPPORTED:
        return SUPPORTED[text]
    uri = None
    match = _SHORT.match(text)
    if match:
        authority, code = match.group(1).upper(), match.group(2)
        if authority == "OGC" and code.upper() == "CRS84":
            uri = CRS84
        elif authority == "EPSG" and code.isdigit():
            uri = crs_uri(int(code))
    elif text.upper() == "CRS84":
        uri = CRS84
    if uri is None or uri not in SUPPORTED:
        raise BadParameter(parameter, f"'{parameter}' must be one of the CRSs of the collection "
                           f"({', '.join(SUPPORTED)}), got {value[:200]!r}")
    return SUPPORTED[uri]


_local = threading.local()  # pyproj transformers are not shared between threads


def _transformer(source: int, target: int) -> Transformer:
    cache = getattr(_local, "transformers", None)
    if cache is None:
        cache = _local.transformers = {}
    key = (source, target)
    if key not in cache:
        cache[key] = Transformer.from_crs(source, target, always_xy=True)
    return cache[key]


def bbox_to_crs84(bbox: tuple[float, float, float, float], crs: OutputCrs) -> tuple[float, float, float, float]:
    """A ``bbox`` given in ``crs`` (in that CRS's axis order) as lon/lat bounds.

    The edges are densified, so a TM-3 rectangle maps to the lon/lat box enclosing it.
    """
    a, b, c, d = bbox
    if crs.lat_first:
        a, b, c, d = b, a, d, c
    if crs.is_crs84:
        return (a, b, c, d)
    out = _transformer(crs.epsg, 4326).transform_bounds(a, b, c, d, densify_pts=21)
    if not all(math.isfinite(v) for v in out):
        raise BadParameter("bbox", f"'bbox' {list(bbox)} lies outside the area of use of {crs.uri}")
    return tuple(float(v) for v in out)


def project(geoms: np.ndarray, crs: OutputCrs) -> np.ndarray:
    """Geometries (lon/lat) in ``crs``'s coordinates and axis order, rounded for output.

    Polygons are oriented first (exterior counter-clockwise, RFC 7946) in lon/lat.
    """
    geoms = shapely.orient_polygons(geoms, exterior_cw=False)

    if crs.is_crs84:
        def func(xy):
            return np.round(xy, crs.decimals)
    else:
        tr = _transformer(4326, crs.epsg)

        def func(xy):
            x, y = tr.transform(xy[:, 0], xy[:, 1])
            out = np.column_stack((y, x) if crs.lat_first else (x, y))
            return np.round(out, crs.decimals)

    return shapely.transform(geoms, func)

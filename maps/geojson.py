"""Compact geometry for web maps: simplified coverages as TopoJSON, rounded GeoJSON.

Leaflet pages slow down with large inline GeoJSON. The levers used here:

- a polygon coverage (communes) is first made edge-matched (``shapely.coverage_clean``),
  then simplified with ``shapely.coverage_simplify``, which keeps shared borders shared;
- it is written as quantized TopoJSON, so each shared border is stored once and the
  browser derives district borders (``topojson.mesh``) and district shapes
  (``topojson.merge``) from the communes instead of downloading them again;
- the tolerance and quantization follow the scope's extent (coarser for larger areas);
- other layers are GeoJSON with coordinates rounded to at most 6 decimals (≈ 10 cm).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import orjson
import shapely
import topojson

__all__ = [
    "MAX_DECIMALS",
    "tolerance_for",
    "decimals_for",
    "simplify_coverage",
    "coverage_topology",
    "round_geometries",
    "features_to_geojson",
]

log = logging.getLogger(__name__)

MAX_DECIMALS = 6  # ≈ 10 cm at the equator: finer is noise on a web map
_TOLERANCE_SHARE = 1 / 4000  # of the scope's larger side: ≈ 0.3 px when the scope fills a screen
_MIN_TOLERANCE, _MAX_TOLERANCE = 2e-5, 0.02
_GAP_TOLERANCES = 4  # sliver gaps narrower than this many tolerances are closed


def tolerance_for(bounds) -> float:
    """Simplification tolerance (degrees) for a scope with these (minx, miny, maxx, maxy).

    A province (≈ 1.5°) gets ≈ 0.0004° (40 m), the whole country ≈ 0.004°.
    """
    minx, miny, maxx, maxy = bounds
    side = max(maxx - minx, maxy - miny, 0.0)
    if not np.isfinite(side) or side == 0:
        return _MIN_TOLERANCE
    return float(min(max(side * _TOLERANCE_SHARE, _MIN_TOLERANCE), _MAX_TOLERANCE))


def decimals_for(tolerance: float) -> int:
    """Decimals that keep rounding well below the simplification error (≤ MAX_DECIMALS)."""
    return int(min(MAX_DECIMALS, max(3, np.ceil(-np.log10(tolerance)) + 1)))


def simplify_coverage(geoms, tolerance: float) -> np.ndarray:
    """Simplify polygons that tile an area, keeping shared borders shared.

    Real boundary files are rarely edge-matched (a vertex on one side of a border
    missing on the other, tiny overlaps, sliver gaps): ``coverage_clean`` snaps them into
    a proper coverage first and gives gaps narrower than a few tolerances to a neighbour,
    else ``coverage_simplify`` would pull neighbours apart and every border would be
    stored twice. Empty or missing geometries stay as they are.
    """
    geoms = np.asarray(geoms, dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    out = geoms.copy()
    if not ok.any():
        return out
    polys = shapely.make_valid(geoms[ok], method="structure", keep_collapsed=False)
    polys = np.array([_polygonal(g) for g in polys], dtype=object)
    try:
        cleaned = shapely.coverage_clean(polys, gap_width=tolerance * _GAP_TOLERANCES,
                                         snapping_distance=tolerance / 20)
    except shapely.errors.GEOSException as exc:  # a coverage GEOS cannot clean: simplify as is
        log.warning("coverage could not be cleaned (%s); simplifying without it", exc)
        cleaned = polys
    simplified = shapely.coverage_simplify(cleaned, tolerance)
    # a polygon the cleaner emptied (a sliver fully inside a neighbour) keeps its own shape
    lost = shapely.is_empty(simplified) | shapely.is_missing(simplified)
    simplified[lost] = shapely.simplify(polys[lost], tolerance)
    out[ok] = simplified
    return out


def _polygonal(geom):
    """Only the polygons of a geometry (make_valid can add stray lines)."""
    if geom is None or geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def coverage_topology(geoms, *, tolerance: float, quantization: float | None = None, name: str = "u") -> dict:
    """A TopoJSON topology of a coverage, its geometries in input order (``id`` = position).

    Parameters
    ----------
    geoms
        Polygons that tile an area (EPSG:4326).
    tolerance
        Simplification tolerance in degrees (see ``tolerance_for``).
    quantization
        Grid steps across the extent; by default one step ≈ the tolerance (rounding
        then moves a vertex by at most half the simplification error).
    name
        The object's name in ``objects``.
    """
    simplified = simplify_coverage(geoms, tolerance)
    gdf = gpd.GeoDataFrame(geometry=list(simplified), crs="EPSG:4326")
    if gdf.empty:
        return {"type": "Topology", "objects": {name: {"type": "GeometryCollection", "geometries": []}},
                "arcs": []}
    if quantization is None:
        minx, miny, maxx, maxy = gdf.total_bounds
        quantization = float(min(max(max(maxx - minx, maxy - miny) / tolerance, 1e3), 1e5))
    topo = topojson.Topology(gdf, prequantize=quantization, topology=True, object_name=name)
    # to_dict() deep-copies the whole output first (half the time for a province); the
    # topology is thrown away here, so resolve it in place where the library allows
    data = topo._to_dict(topo.output, False, False) if hasattr(topo, "_to_dict") else topo.to_dict()
    for geom in data["objects"][name]["geometries"]:
        geom.pop("properties", None)  # attributes travel apart, in columns
        geom["id"] = int(geom["id"])
    data.pop("bbox", None)
    return data


def round_geometries(geoms, decimals: int) -> np.ndarray:
    """Geometries with coordinates rounded to ``decimals`` (capped at MAX_DECIMALS)."""
    decimals = min(int(decimals), MAX_DECIMALS)
    return shapely.transform(np.asarray(geoms, dtype=object), lambda xy: np.round(xy, decimals))


def features_to_geojson(
    geoms, properties: list[dict], *, decimals: int = 5, tolerance: float = 0.0
) -> bytes:
    """A GeoJSON FeatureCollection (bytes) from geometries and per-feature properties.

    Lines and polygons are simplified by ``tolerance`` (degrees) first; coordinates are
    rounded to ``decimals``. Property values are written as given: HTML escaping is the
    page's job when it displays them.
    """
    geoms = np.asarray(geoms, dtype=object)
    if tolerance > 0:
        geoms = shapely.simplify(geoms, tolerance, preserve_topology=True)
    geoms = round_geometries(geoms, decimals)
    texts = shapely.to_geojson(geoms)
    parts = []
    for text, props in zip(texts, properties):
        if text is None:
            continue
        parts.append(b'{"type":"Feature","geometry":' + text.encode() + b',"properties":'
                     + orjson.dumps(props) + b"}")
    return b'{"type":"FeatureCollection","features":[' + b",".join(parts) + b"]}"

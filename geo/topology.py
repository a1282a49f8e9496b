"""Checks that a set of polygons forms a clean coverage: overlaps, gaps, containment.

Real boundary data (GADM, the 1:250,000 administrative base) has small gaps and
overlaps between neighbours, about 0.1–0.25 % of the area. These functions measure
them so imports can report each one with its size and refuse only what exceeds a
tolerance. Inputs must be in a metric CRS; areas are returned in km².
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

__all__ = ["overlap_pairs", "coverage_gaps", "outside_parent", "remove_small_holes"]


def overlap_pairs(geoms, *, min_km2: float = 0.0) -> pd.DataFrame:
    """Pairs of polygons that overlap with positive area.

    Returns a frame with columns i, j (positions, i < j), area_km2 and share (of the
    smaller polygon), largest first.
    """
    geoms = np.asarray(geoms, dtype=object)
    tree = STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    inter = shapely.area(shapely.intersection(geoms[i], geoms[j])) / 1e6
    areas = shapely.area(geoms) / 1e6
    mask = inter > min_km2
    smaller = np.minimum(areas[i[mask]], areas[j[mask]])
    df = pd.DataFrame(
        {
            "i": i[mask],
            "j": j[mask],
            "area_km2": inter[mask],
            "share": np.divide(inter[mask], smaller, out=np.ones_like(smaller), where=smaller > 0),
        }
    )
    return df.sort_values("area_km2", ascending=False, ignore_index=True)


def coverage_gaps(geoms) -> pd.DataFrame:
    """Holes inside the union of the polygons: land that no polygon claims.

    Returns columns geometry (the gap polygon), area_km2 and neighbours (positions of
    the polygons touching the gap), largest first. Holes of the input polygons
    themselves (enclaves) count too, since nothing in the set covers them.
    """
    geoms = np.asarray(geoms, dtype=object)
    union = shapely.union_all(geoms)
    holes = [
        shapely.Polygon(ring)
        for part in shapely.get_parts(union)
        for ring in part.interiors
    ]
    if not holes:
        return pd.DataFrame({"geometry": [], "area_km2": [], "neighbours": []})
    holes_arr = np.asarray(holes, dtype=object)
    tree = STRtree(geoms)
    hole_idx, geom_idx = tree.query(holes_arr, predicate="intersects")
    neighbours: list[list[int]] = [[] for _ in holes]
    for h, g in zip(hole_idx, geom_idx):
        neighbours[h].append(int(g))
    df = pd.DataFrame(
        {"geometry": holes_arr, "area_km2": shapely.area(holes_arr) / 1e6, "neighbours": neighbours}
    )
    return df.sort_values("area_km2", ascending=False, ignore_index=True)


def outside_parent(children, parents) -> pd.DataFrame:
    """For each child/parent pair (aligned arrays): area of the child outside its parent.

    Returns columns area_km2 and share (of the child's area).
    """
    children = np.asarray(children, dtype=object)
    parents = np.asarray(parents, dtype=object)
    outside = shapely.area(shapely.difference(children, parents)) / 1e6
    area = shapely.area(children) / 1e6
    share = np.divide(outside, area, out=np.zeros_like(area), where=area > 0)
    return pd.DataFrame({"area_km2": outside, "share": share})


def remove_small_holes(geom, max_km2: float, *, area_km2=None):
    """The geometry without interior rings smaller than ``max_km2``, as a MultiPolygon.

    Dissolving neighbours that do not quite touch leaves sliver holes; these are
    artefacts of the source data, not enclaves. ``area_km2`` measures an array of
    polygons in km² (default: planar area of a metric CRS in m² / 1e6); pass one to
    work on longitude/latitude geometries without reprojecting them.
    """
    measure = area_km2 or (lambda polys: shapely.area(polys) / 1e6)
    parts = []
    for part in shapely.get_parts(geom):
        holes = np.asarray([shapely.Polygon(r) for r in part.interiors], dtype=object)
        sizes = measure(holes) if len(holes) else []
        keep = [r for r, size in zip(part.interiors, sizes) if size > max_km2]
        parts.append(shapely.Polygon(part.exterior, keep))
    return shapely.multipolygons(parts) if len(parts) > 1 else shapely.MultiPolygon(parts)

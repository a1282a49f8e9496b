"""Polygon labels that never overlap: placed largest unit first, dropped where they do not fit.

Works on a matplotlib axes in projected metres; boxes are compared in display
coordinates with a renderer, so what is tested is what is drawn.
"""

from __future__ import annotations

import numpy as np
import shapely
from matplotlib import patheffects
from matplotlib.transforms import Bbox

from ._cartography import FONT, nfc

__all__ = ["label_anchor_points", "label_size", "place_labels"]


def label_anchor_points(geoms: np.ndarray) -> np.ndarray:
    """Where to put a polygon's label: the centre of its largest inscribed circle.

    The pole of inaccessibility sits deepest inside the shape, so a label there has the
    most room; ``point_on_surface`` is the fallback for degenerate shapes.
    """
    geoms = np.asarray(geoms, dtype=object)
    parts = np.array([max(shapely.get_parts(g), key=lambda p: p.area) if g is not None and not g.is_empty else g
                      for g in geoms], dtype=object)
    bounds = shapely.bounds(parts)
    tol = np.maximum((bounds[:, 2] - bounds[:, 0]) / 200.0, 1e-6)
    try:
        points = shapely.get_point(shapely.maximum_inscribed_circle(parts, tol), 0)
    except shapely.errors.GEOSException:
        points = shapely.point_on_surface(parts)
    bad = shapely.is_missing(points) | shapely.is_empty(points)
    points[bad] = shapely.point_on_surface(parts[bad])
    return points


def label_size(geoms, metres_per_inch: float, *, base: float, largest: float) -> float:
    """A label font size for polygons drawn at a scale: ``base`` for communes about a
    centimetre across on paper, growing with the typical commune up to ``largest``
    (a district page at 1:150 000 gets readable names, a province page small ones)."""
    areas = shapely.area(np.asarray(geoms, dtype=object))
    areas = areas[areas > 0]
    if not len(areas):
        return base
    side_in = float(np.sqrt(np.median(areas))) / metres_per_inch
    return float(np.clip(base * (side_in / 0.45) ** 0.5, base, largest))


def _add_halo(ax, main) -> None:
    """A white halo behind a placed label: a separate path-only artist, so the label itself
    stays real text in SVG (path effects would turn it into outlines)."""
    x, y = main.get_position()
    halo = ax.text(x, y, main.get_text(), color="white", zorder=main.get_zorder() - 0.1,
                   gid=f"{main.get_gid()}-halo", ha="center", va="center", fontproperties=main.get_fontproperties(),
                   linespacing=1.0, clip_on=True)
    halo.set_path_effects([patheffects.Stroke(linewidth=2.0, foreground="white", alpha=0.85)])


def _two_lines(name: str) -> str | None:
    words = name.split()
    if len(words) < 2:
        return None
    cut = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(" ".join(words[i:]))))
    return " ".join(words[:cut]) + "\n" + " ".join(words[cut:])


def place_labels(ax, renderer, geoms, names, *, fontsize: float, min_fontsize: float | None = None,
                 obstacles: list[Bbox] | None = None, inside: float = 0.8, color: str = "#1a1a1a",
                 weight: str = "normal", style: str = "normal", zorder: float = 6,
                 gid: str = "commune-label", two_lines: bool = True) -> list[Bbox]:
    """Label polygons where a label fits: inside its polygon and clear of every other label.

    Polygons are tried largest first at the pole of inaccessibility, in up to four forms
    (full size on one line, on two lines, then the smaller size). A label is dropped when
    less than ``inside`` of its box lies in its polygon, it leaves the axes, or its box
    touches an already placed box (``obstacles``: scale bar, north arrow, other labels).

    Returns
    -------
    list of Bbox
        Display boxes of the labels placed; they are appended to ``obstacles`` as well.
    """
    placed = obstacles if obstacles is not None else []
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return []
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    anchors = np.full(len(geoms), None, dtype=object)
    anchors[usable] = label_anchor_points(geoms[usable])
    order = np.argsort(-np.where(usable, shapely.area(np.where(usable, geoms, shapely.Point())), 0.0))
    to_data = ax.transData.inverted()
    frame = ax.get_window_extent(renderer)
    sizes = [fontsize] + ([min_fontsize] if min_fontsize and min_fontsize < fontsize else [])
    new: list[Bbox] = []
    for k in order:
        geom, point, name = geoms[k], anchors[k], nfc(names[k]).strip()
        if not name or not usable[k] or point is None:
            continue
        forms = [name] + ([f] if two_lines and (f := _two_lines(name)) else [])
        shapely.prepare(geom)
        for size, form in ((size, form) for size in sizes for form in forms):
            main = ax.text(point.x, point.y, form, ha="center", va="center", fontsize=size, family=FONT,
                           fontweight=weight, fontstyle=style, linespacing=1.0, clip_on=True, color=color,
                           zorder=zorder + 0.1, gid=gid)
            box = main.get_window_extent(renderer).padded(1.5)
            ok = frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)
            ok = ok and not any(box.overlaps(other) for other in placed)
            if ok:
                (x0, y0), (x1, y1) = to_data.transform([[box.x0, box.y0], [box.x1, box.y1]])
                rect = shapely.box(x0, y0, x1, y1)
                ok = shapely.intersection(rect, geom).area >= inside * rect.area
            if ok:
                _add_halo(ax, main)
                placed.append(box)
                new.append(box)
                break
            main.remove()
    return new

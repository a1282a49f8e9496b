"""Drawing blocks of report pages: polygons and boundaries as collections, the legend
panel, the criteria panel of one commune, and the inset locator.

Shapes are drawn as one matplotlib collection per layer (fast to draw and small in PDF
and SVG) and carry a ``gid`` so tests and SVG readers can find them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.path import Path

from . import _cartography as carto
from ._mapbase import MapBase
from .i18n import t

__all__ = [
    "simplified",
    "polygon_paths",
    "draw_polygons",
    "draw_boundaries",
    "frame_to",
    "Cursor",
    "legend_panel",
    "criteria_panel",
    "locator",
]

_CLOSE = (Path.MOVETO, Path.LINETO, Path.CLOSEPOLY)
HIGHLIGHT_FILL, HIGHLIGHT_EDGE = "#f4a582", "#d7301f"


def simplified(geoms, tol: float, rect=None) -> np.ndarray:
    """Geometries simplified to ``tol`` metres and clipped to ``rect`` (those wholly outside
    it come back empty, without the cost of simplifying them)."""
    geoms = np.asarray(geoms, dtype=object)
    if rect is None:
        return shapely.simplify(geoms, tol, preserve_topology=True)
    out = np.full(len(geoms), shapely.Polygon(), dtype=object)
    if len(geoms):
        b = shapely.bounds(geoms)
        near = ~((b[:, 0] > rect[2]) | (b[:, 2] < rect[0]) | (b[:, 1] > rect[3]) | (b[:, 3] < rect[1]))
        near &= ~shapely.is_missing(geoms)
        out[near] = shapely.clip_by_rect(shapely.simplify(geoms[near], tol, preserve_topology=True), *rect)
    return out


def _ring_path(ring_coords: list[np.ndarray]) -> Path:
    verts, codes = [], []
    for xy in ring_coords:
        if len(xy) < 4:
            continue
        verts.append(xy)
        codes.append(np.r_[_CLOSE[0], np.full(len(xy) - 2, _CLOSE[1]), _CLOSE[2]])
    if not verts:
        return Path(np.zeros((0, 2)))
    return Path(np.concatenate(verts), np.concatenate(codes).astype(Path.code_type))


def polygon_paths(geoms) -> list[Path]:
    """One compound Path per (multi)polygon, rings oriented so holes stay holes."""
    geoms = shapely.orient_polygons(np.asarray(geoms, dtype=object))
    paths = []
    for geom in geoms:
        rings = []
        if geom is not None and not geom.is_empty:
            for part in shapely.get_parts(geom):
                if part.geom_type == "Polygon":
                    rings.extend(np.asarray(r.coords)[:, :2] for r in shapely.get_rings(part))
        paths.append(_ring_path(rings))
    return paths


def draw_polygons(ax, geoms, *, facecolor, edgecolor, linewidth: float, zorder: float, gid: str):
    """Filled polygons as one PathCollection; ``facecolor`` one colour or one per geometry."""
    geoms = np.asarray(geoms, dtype=object)
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not keep.any():
        return None
    faces = facecolor if isinstance(facecolor, str) else list(np.asarray(facecolor, dtype=object)[keep])
    coll = PathCollection(polygon_paths(geoms[keep]), facecolors=faces, edgecolors=edgecolor,
                          linewidths=linewidth, zorder=zorder, joinstyle="round")
    coll.set_gid(gid)
    ax.add_collection(coll, autolim=False)
    return coll


def draw_boundaries(ax, geoms, *, color: str, linewidth: float, zorder: float, gid: str, linestyle="solid"):
    """The outlines of polygons as one LineCollection (round joins, for heavy lines)."""
    segments = []
    for geom in np.asarray(geoms, dtype=object):
        if geom is None or geom.is_empty:
            continue
        for part in shapely.get_parts(geom):
            if part.geom_type == "Polygon":
                segments.extend(np.asarray(r.coords)[:, :2] for r in shapely.get_rings(part))
    if not segments:
        return None
    coll = LineCollection(segments, colors=color, linewidths=linewidth, zorder=zorder, capstyle="round",
                          joinstyle="round", linestyles=linestyle)
    coll.set_gid(gid)
    ax.add_collection(coll, autolim=False)
    return coll


def frame_to(ax, bounds, *, margin: float = 1.04) -> float:
    """Set equal-aspect limits showing ``bounds`` centred; returns metres per inch."""
    x0, y0, x1, y1 = bounds
    pos = ax.get_position()
    box_w, box_h = pos.width * ax.figure.get_figwidth(), pos.height * ax.figure.get_figheight()
    per_inch = margin * max((x1 - x0) / box_w, (y1 - y0) / box_h, 1e-9)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ax.set_xlim(cx - box_w * per_inch / 2, cx + box_w * per_inch / 2)
    ax.set_ylim(cy - box_h * per_inch / 2, cy + box_h * per_inch / 2)
    return per_inch


class Cursor:
    """Writes rows down a panel axes in inches (top-left origin), whatever the panel's size."""

    def __init__(self, ax):
        self.ax = ax
        pos, fig = ax.get_position(), ax.figure
        self.w, self.h = pos.width * fig.get_figwidth(), pos.height * fig.get_figheight()
        self.y = 0.0

    def xy(self, x_in: float, y_in: float) -> tuple[float, float]:
        return x_in / self.w, 1 - y_in / self.h

    def text(self, x_in, y_in, text, **kw):
        return self.ax.text(*self.xy(x_in, y_in), text, transform=self.ax.transAxes, family=carto.FONT, **kw)


def legend_panel(ax, title: str, unit: str, rows, extra, summary, fontsize: float, title_size: float) -> Cursor:
    """Legend drawn row by row: swatch, label, and the class count right-aligned in its column.

    ``rows`` and ``extra`` hold (kind, colour, edge or line width, label, count or None)
    with kind "patch" or "line"; ``summary`` lines follow. Returns the cursor below it.
    """
    ax.set_axis_off()
    cur = Cursor(ax)
    line_h = fontsize * 1.32 / 72
    chars = max(int((cur.w - 0.95) * 72 / (fontsize * 0.56)), 14)
    heading = carto.wrap(title, max(int((cur.w - 0.6) * 72 / (title_size * 0.6)), 14))
    cur.text(0, 0, heading, ha="left", va="top", fontsize=title_size, fontweight="bold", gid="legend-title")
    cur.y = (heading.count("\n") + 1) * title_size * 1.3 / 72
    cur.text(cur.w, cur.y - title_size * 1.3 / 72, unit, ha="right", va="top", fontsize=fontsize * 0.92,
             color="#555555", fontstyle="italic", gid="legend-unit")
    cur.y += 0.06
    sw_w, sw_h = 0.30, min(0.17, line_h * 1.05)
    for group, gap in ((rows, 0.0), (extra, 0.08)):
        cur.y += gap
        for kind, colour, edge, label, count in group:
            label = carto.wrap(label, chars)
            row_h = max(sw_h + 0.07, (label.count("\n") + 1) * line_h + 0.05)
            mid = cur.y + row_h / 2
            x0, y0 = cur.xy(0, mid + sw_h / 2)
            x1, y1 = cur.xy(sw_w, mid - sw_h / 2)
            if kind == "patch":
                ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, transform=ax.transAxes, facecolor=colour,
                                       edgecolor=edge, linewidth=0.5, gid="legend-swatch"))
            else:
                ax.add_line(Line2D([x0, x1], [cur.xy(0, mid)[1]] * 2, transform=ax.transAxes, color=colour,
                                   linewidth=edge, gid="legend-line"))
            cur.text(sw_w + 0.1, mid, label, ha="left", va="center", fontsize=fontsize, linespacing=1.2,
                     gid="legend-label")
            if count is not None:
                cur.text(cur.w, mid, str(count), ha="right", va="center", fontsize=fontsize, gid="legend-count")
            cur.y += row_h
    if summary:
        cur.y += 0.12
        cur.text(0, cur.y, "\n".join(summary), ha="left", va="top", fontsize=fontsize, color="#222222",
                 linespacing=1.45, gid="legend-summary")
        cur.y += len(summary) * fontsize * 1.45 / 72
    return cur


def criteria_panel(cur: Cursor, base: MapBase, row: pd.Series, fontsize: float) -> None:
    """✓ / ✗ / – per criterion of one commune, with the criteria's names, from the cursor down.

    The rows share the panel's height; when one column would need a font below 6 pt
    the list breaks into two columns.
    """
    lang = base.lang
    cur.ax.set_axis_off()
    cur.text(0, cur.y, t("figure.criteria_table", lang), ha="left", va="top", fontsize=fontsize * 1.1,
             fontweight="bold", gid="criteria-title")
    cur.y += fontsize * 1.1 * 1.6 / 72
    numbers = base.cset.numbers
    room = max(cur.h - cur.y, 0.3)
    cols = 1 if room / len(numbers) * 72 / 1.35 >= 6.0 else 2
    per_col = -(-len(numbers) // cols)
    step = min(fontsize * 1.45 / 72, room / per_col)
    size = min(fontsize, step * 72 / 1.3)
    col_w = cur.w / cols
    width = max(int((col_w - 0.25) * 72 / (size * 0.56)), 12)
    met, unmet = set(row["met"]), set(row["unmet"])
    top = cur.y
    for i, n in enumerate(numbers):
        x = (i // per_col) * col_w
        mid = top + (i % per_col) * step + step / 2
        mark, colour = ("✓", "#1a9850") if n in met else ("✗", "#d7301f") if n in unmet else ("–", "#888888")
        name = f"{n}. " + carto.nfc(base.cset.criterion(n).label(lang))
        name = name if len(name) <= width else name[: width - 1].rstrip() + "…"
        cur.text(x, mid, mark, ha="left", va="center", fontsize=size, color=colour, fontweight="bold",
                 gid="criterion-mark")
        cur.text(x + 0.2, mid, name, ha="left", va="center", fontsize=size, gid="criterion-name")
    cur.y = top + per_col * step


def locator(ax, base: MapBase, scope_geom, map_ax, fontsize: float) -> None:
    """The scope (red) and the map's frame among the store's provinces, on a graticule."""
    lang = base.lang
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_gid("locator")
    for spine in ax.spines.values():
        spine.set_linewidth(0.5)
        spine.set_color("#777777")
    provinces = base.all_provinces if len(base.all_provinces) else base.provinces
    geoms = provinces.geometry.to_numpy() if len(provinces) else np.array(
        [shapely.union_all(base.communes.geometry.to_numpy())], dtype=object)
    focus = base.provinces.geometry.to_numpy() if len(base.provinces) else geoms
    x0, y0, x1, y1 = shapely.total_bounds(focus)
    if len(provinces) > len(base.provinces):  # a national store: show the neighbourhood too
        x0, y0, x1, y1 = _grow((x0, y0, x1, y1), shapely.total_bounds(geoms), 2.5)
    frame_to(ax, (x0, y0, x1, y1), margin=1.08)
    tol = max(x1 - x0, y1 - y0) / 600
    view = (*np.subtract((x0, y0), (x1 - x0, y1 - y0)), *np.add((x1, y1), (x1 - x0, y1 - y0)))
    draw_polygons(ax, simplified(geoms, tol, view), facecolor="#eeeeee", edgecolor="#555555", linewidth=0.6,
                  zorder=1, gid="locator-provinces")
    if len(base.districts):
        draw_boundaries(ax, simplified(base.districts.geometry.to_numpy(), tol), color="#8c8c8c", linewidth=0.35,
                        zorder=3, gid="locator-districts")
    if scope_geom is not None:
        draw_polygons(ax, simplified([scope_geom], tol), facecolor=HIGHLIGHT_FILL, edgecolor=HIGHLIGHT_EDGE,
                      linewidth=0.9, zorder=2, gid="locator-scope")
    mx0, mx1 = map_ax.get_xlim()
    my0, my1 = map_ax.get_ylim()
    lx0, lx1 = ax.get_xlim()
    if (mx1 - mx0) < 0.7 * (lx1 - lx0):
        ax.add_patch(Rectangle((mx0, my0), mx1 - mx0, my1 - my0, fill=False, edgecolor="#222222",
                               linewidth=0.7, linestyle="--", zorder=4, gid="locator-frame"))
    carto.add_graticule(ax, base.epsg, east=t("figure_output.east", lang), north=t("figure_output.north", lang),
                        fontsize=fontsize * 0.75)
    ax.set_title(t("figure.locator", lang), fontsize=fontsize, loc="left", pad=3, fontweight="bold",
                 family=carto.FONT)


def _grow(inner, outer, factor: float):
    """``inner`` grown ``factor`` times about its centre, but not past ``outer``."""
    cx, cy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    hw, hh = (inner[2] - inner[0]) * factor / 2, (inner[3] - inner[1]) * factor / 2
    return (max(cx - hw, outer[0]), max(cy - hh, outer[1]), min(cx + hw, outer[2]), min(cy + hh, outer[3]))

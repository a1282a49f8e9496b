"""Map furniture for report figures: paper sizes, round scales, scale bar, north arrow, graticule.

Everything here works on a matplotlib axes whose data coordinates are metres of a
projected CRS (the province's VN-2000 TM-3 zone), so lengths drawn are true lengths.
"""

from __future__ import annotations

import functools
import math
import textwrap
import unicodedata

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.offsetbox import AnchoredOffsetbox, AuxTransformBox, DrawingArea, TextArea, VPacker
from matplotlib.patches import Polygon as PolygonPatch
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from pyproj import Transformer

from geo.crs import TM3_ZONES
from ._errors import ParameterError

__all__ = [
    "FONT",
    "PAPERS",
    "paper_size",
    "nice_scale",
    "nice_length",
    "fmt_number",
    "dms",
    "crs_note_parts",
    "wrap",
    "nfc",
    "meridian_convergence",
    "add_scale_bar",
    "add_north_arrow",
    "add_graticule",
]

FONT = "DejaVu Sans"  # ships with matplotlib; covers every Vietnamese letter (precomposed)
MM_PER_INCH = 25.4
PAPERS: dict[str, tuple[float, float]] = {  # (width, height) in inches, ISO 216
    "A4-landscape": (297 / MM_PER_INCH, 210 / MM_PER_INCH),
    "A4-portrait": (210 / MM_PER_INCH, 297 / MM_PER_INCH),
    "A3-landscape": (420 / MM_PER_INCH, 297 / MM_PER_INCH),
    "A3-portrait": (297 / MM_PER_INCH, 420 / MM_PER_INCH),
}
_SCALE_STEPS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5)
_LENGTH_STEPS = (1.0, 2.0, 5.0)
_GRATICULE_STEPS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)


def paper_size(paper: str) -> tuple[float, float]:
    """(width, height) in inches of a paper preset; an unknown name is an error listing them."""
    if paper not in PAPERS:
        raise ParameterError("paper", f"'paper' must be one of {tuple(PAPERS)}, got {paper!r}")
    return PAPERS[paper]


def nice_scale(raw: float) -> int:
    """The smallest round scale denominator (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5 × 10ⁿ) ≥ ``raw``.

    A round 1:N makes the printed map measurable with a ruler.

    >>> nice_scale(612_345)
    750000
    """
    if not raw > 0:
        raise ValueError(f"'raw' scale must be positive, got {raw!r}")
    power = 10 ** math.floor(math.log10(raw))
    return int(round(next(s * power for s in (*_SCALE_STEPS, 10.0) if s * power >= raw * (1 - 1e-9))))


def nice_length(target_m: float) -> float:
    """The largest round length (1, 2, 5 × 10ⁿ metres) not above ``target_m``.

    >>> nice_length(23_456.0)
    20000.0
    """
    power = 10 ** math.floor(math.log10(target_m))
    return max(s * power for s in _LENGTH_STEPS if s * power <= target_m * (1 + 1e-9))


def fmt_number(value: float, lang: str = "vi", decimals: int = 0) -> str:
    """A number as Vietnamese (1.234,5) or English (1,234.5) readers write it."""
    text = f"{value:,.{decimals}f}"
    if lang == "vi":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def dms(degrees: float) -> str:
    """104.75 -> 104°45′ (whole degrees as 104°00′)."""
    whole = int(math.floor(degrees + 1e-9))
    minutes = int(round((degrees - whole) * 60))
    return f"{whole}°{minutes:02d}′"


def crs_note_parts(epsg: int) -> dict[str, str]:
    """Central meridian (as text) and EPSG code of a VN-2000 TM-3 zone, for the CRS note."""
    if epsg not in TM3_ZONES:
        raise ValueError(f"'epsg' must be a VN-2000 TM-3 zone {sorted(TM3_ZONES)}, got {epsg!r}")
    return {"meridian": dms(TM3_ZONES[epsg]), "epsg": str(epsg)}


def wrap(text: str, width: int) -> str:
    """Wrap a label at ``width`` characters (names are never broken inside a word)."""
    return "\n".join(textwrap.wrap(text, width=max(width, 1), break_long_words=False)) or text


def nfc(text) -> str:
    """Precomposed (NFC) text: matplotlib does not place combining marks, so a decomposed
    "Đạt" from a spreadsheet would print its tone marks beside the letters."""
    return unicodedata.normalize("NFC", str(text))


def _per_inch(ax) -> float:
    """Data units (metres) per inch of paper along x in ``ax``."""
    x0, x1 = ax.get_xlim()
    return (x1 - x0) / (ax.get_position().width * ax.figure.get_figwidth())


@functools.lru_cache(maxsize=64)
def _transformer(src: int, dst: int) -> Transformer:
    """Transformers are slow to build (tens of ms); figures reuse them (pyproj >= 3.1 is thread-safe)."""
    return Transformer.from_crs(src, dst, always_xy=True)


def meridian_convergence(epsg: int, x: float, y: float) -> float:
    """Angle in degrees, clockwise, from grid north to true north at a point of ``epsg``.

    West of the central meridian true north leans east of grid north (positive).
    """
    to_geo, to_grid = _transformer(epsg, 4326), _transformer(4326, epsg)
    lon, lat = to_geo.transform(x, y)
    gx, gy = to_grid.transform([lon, lon], [lat, lat + 0.01])
    return float(np.degrees(np.arctan2(gx[1] - gx[0], gy[1] - gy[0])))


def add_scale_bar(ax, *, lang: str = "vi", fontsize: float = 7.0, fraction: float = 0.22,
                  ratio_text: str | None = None, loc: str = "lower left") -> AnchoredOffsetbox:
    """A segmented scale bar of a round length (km or m) drawn in the axes' data units.

    The bar lives in an ``AuxTransformBox`` of ``ax.transData``, so its drawn length is
    exactly its length in metres of the projected CRS. Call it after the axes limits
    are final. Segments carry the gid ``scalebar-segment``; the number at the bar's end
    ``scalebar-label`` and the unit beside it ``scalebar-unit``.
    """
    per_inch = _per_inch(ax)
    width_m = ax.get_xlim()[1] - ax.get_xlim()[0]
    length = nice_length(width_m * fraction)
    unit_div, unit = (1000.0, "km") if length >= 1000 else (1.0, "m")
    n_seg = 4
    seg = length / n_seg
    height = 0.055 * per_inch
    box = AuxTransformBox(ax.transData)
    for i in range(n_seg):
        box.add_artist(Rectangle((i * seg, 0), seg, height, facecolor="black" if i % 2 == 0 else "white",
                                 edgecolor="black", linewidth=0.6, gid="scalebar-segment"))
    text_y = height + 0.04 * per_inch
    for pos in (0.0, length / 2, length):
        value = pos / unit_div
        label = fmt_number(value, lang, 0 if float(value).is_integer() else 1)
        box.add_artist(Text(pos, text_y, label, ha="center", va="bottom", fontsize=fontsize, family=FONT,
                            gid="scalebar-label" if pos == length else "scalebar-tick"))
    box.add_artist(Text(length + 0.06 * per_inch, height / 2, unit, ha="left", va="center", fontsize=fontsize,
                        family=FONT, gid="scalebar-unit"))
    children = [box]
    if ratio_text:
        children.append(TextArea(ratio_text, textprops={"fontsize": fontsize * 0.9, "family": FONT}))
    pack = VPacker(children=children, align="left", pad=0, sep=3)
    anchored = AnchoredOffsetbox(loc=loc, child=pack, pad=0.45, borderpad=0.6, frameon=True)
    anchored.patch.set(facecolor="white", edgecolor="#999999", linewidth=0.5, alpha=0.9)
    anchored.set_gid("scalebar")
    ax.add_artist(anchored)
    return anchored


def add_north_arrow(ax, *, convergence_deg: float = 0.0, letter: str = "N", size_pt: float = 30,
                    loc: str = "upper right") -> AnchoredOffsetbox:
    """A north arrow pointing to true north: grid north turned by the meridian convergence.

    ``convergence_deg`` is the angle from grid north (up) to true north, clockwise, as
    :func:`meridian_convergence` gives it. The arrow's tip is the patch with gid
    ``north-arrow-tip``.
    """
    area = DrawingArea(size_pt, size_pt * 1.55, 0, 0)
    cx, cy, r = size_pt / 2, size_pt * 0.62, size_pt * 0.55
    theta = math.radians(convergence_deg)

    def rot(x, y):  # clockwise by theta about the arrow's centre
        dx, dy = x - cx, y - cy
        return (cx + dx * math.cos(theta) + dy * math.sin(theta), cy - dx * math.sin(theta) + dy * math.cos(theta))

    tip, left, right = rot(cx, cy + r), rot(cx - r * 0.42, cy - r * 0.62), rot(cx + r * 0.42, cy - r * 0.62)
    base = rot(cx, cy - r * 0.3)
    area.add_artist(PolygonPatch([tip, left, base], closed=True, facecolor="white", edgecolor="black",
                                 linewidth=0.7, gid="north-arrow-tip"))
    area.add_artist(PolygonPatch([tip, base, right], closed=True, facecolor="black", edgecolor="black",
                                 linewidth=0.7))
    lx, ly = rot(cx, cy + r + size_pt * 0.28)
    area.add_artist(Text(lx, ly, letter, ha="center", va="center", fontsize=size_pt * 0.36,
                         fontweight="bold", family=FONT))
    anchored = AnchoredOffsetbox(loc=loc, child=area, pad=0.2, borderpad=0.6, frameon=False)
    anchored.set_gid("north-arrow")
    ax.add_artist(anchored)
    return anchored


def add_graticule(ax, epsg: int, *, east: str = "E", north: str = "N", fontsize: float = 5.5,
                  color: str = "#9a9a9a") -> tuple[float, list[float], list[float]]:
    """Meridians and parallels at a round step across the axes, labelled on its edges.

    It places the locator on the Earth even when the store holds a single province.
    Call it after the axes limits are final.

    Returns
    -------
    (step, longitudes, latitudes) drawn, in degrees.
    """
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    to_geo, to_grid = _transformer(epsg, 4326), _transformer(4326, epsg)
    ex = np.r_[np.linspace(x0, x1, 9), np.full(9, x1), np.linspace(x1, x0, 9), np.full(9, x0)]
    ey = np.r_[np.full(9, y0), np.linspace(y0, y1, 9), np.full(9, y1), np.linspace(y1, y0, 9)]
    lon, lat = to_geo.transform(ex, ey)
    span = max(lon.max() - lon.min(), lat.max() - lat.min())
    step = next((s for s in _GRATICULE_STEPS if span / s <= 4), _GRATICULE_STEPS[-1])
    lons = np.arange(math.ceil(lon.min() / step) * step, lon.max(), step)
    lats = np.arange(math.ceil(lat.min() / step) * step, lat.max(), step)
    segments = []
    for value in lons:
        segments.append(np.column_stack(to_grid.transform(np.full(40, value), np.linspace(lat.min(), lat.max(), 40))))
    for value in lats:
        segments.append(np.column_stack(to_grid.transform(np.linspace(lon.min(), lon.max(), 40), np.full(40, value))))
    ax.add_collection(LineCollection(segments, colors=color, linewidths=0.3, linestyles=(0, (2, 2)), zorder=0.5,
                                     gid="graticule"), autolim=False)
    common = dict(fontsize=fontsize, color="#555555", family=FONT, clip_on=True, zorder=5, gid="graticule-label")
    for value in lons:
        gx, _ = to_grid.transform(value, lat.min() + 0.02 * (lat.max() - lat.min()))
        if x0 + 0.1 * (x1 - x0) < gx < x1 - 0.1 * (x1 - x0):  # a label cut by the frame is no label
            ax.text(gx, y0 + 0.015 * (y1 - y0), f"{dms(value)}{east}", ha="center", va="bottom", **common)
    for value in lats:
        _, gy = to_grid.transform(lon.min() + 0.02 * (lon.max() - lon.min()), value)
        if y0 + 0.05 * (y1 - y0) < gy < y1 - 0.08 * (y1 - y0):
            ax.text(x0 + 0.015 * (x1 - x0), gy, f"{dms(value)}{north}", ha="left", va="bottom", **common)
    return step, [float(v) for v in lons], [float(v) for v in lats]

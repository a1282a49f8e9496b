"""Report figures: a commune map a planner can paste into a Word report (PNG, PDF, SVG).

The map uses the web map's classification (:func:`maps.modes.classify_communes`) and is
drawn in the province's VN-2000 TM-3 zone at a round scale (1:N on the chosen paper),
so the scale bar is true. Each figure carries a title and subtitle (scope, year,
criteria set), a legend with class counts, a north arrow turned to true north, the
scale bar and print scale, commune labels where they fit without overlapping, district
boundaries heavier than commune boundaries, an inset locator on a graticule, the
"Nguồn: …; Ngày lập: …" line and the coordinate-system note. A map of one commune adds
its criteria (✓ / ✗ / –).

Drawing works on plain :class:`matplotlib.figure.Figure` objects (Agg canvas, no pyplot
state) under one lock, because matplotlib's rcParams are process-wide.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from geo.text import slugify
from layers.store import Store
from . import _cartography as carto
from . import _labels as labels
from . import _panels as panels
from ._errors import ParameterError
from ._mapbase import (MapBase, criteria_set_line, default_year, figure_title, load_map_base, resolve_scope,
                       scope_or_only_province,
                       scope_name)
from .i18n import t
from .modes import Classified

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "PAPERS",
    "DPI_RANGE",
    "MapBase",
    "commune_figure",
    "save_figure",
    "figure_bytes",
    "figure_filename",
    "figure_style",
    "new_figure",
    "load_map_base",
    "draw_map_page",
    "default_year",
    "resolve_scope",
    "scope_or_only_province",
    "check_dpi",
    "format_from_path",
]

log = logging.getLogger(__name__)

FORMATS = ("png", "pdf", "svg")
MEDIA_TYPES = {"png": "image/png", "pdf": "application/pdf", "svg": "image/svg+xml"}
PAPERS = tuple(carto.PAPERS)
DPI_RANGE = (50, 600)
_RC = {
    "font.family": "sans-serif",
    "font.sans-serif": [carto.FONT],
    "svg.fonttype": "none",  # names stay <text> in SVG: searchable, editable, round-trip
    "pdf.fonttype": 42,  # embed TrueType: text in PDFs stays selectable Vietnamese
    "axes.unicode_minus": False,
    "svg.hashsalt": "ntm-atlas",  # stable ids: the same map gives the same SVG
}
_LOCK = threading.RLock()
_COMMUNE_EDGE = "#6e6e6e"
_CONTEXT_FILL, _CONTEXT_EDGE = "#ffffff", "#c4c4c4"  # white: light classes stay distinct
_DISTRICT_EDGE, _SCOPE_EDGE = "#262626", "#000000"


@contextlib.contextmanager
def figure_style():
    """Fonts and vector-text settings for drawing and saving figures (one thread at a time)."""
    with _LOCK, matplotlib.rc_context(_RC):
        yield


def new_figure(dpi: float = 100) -> Figure:
    """An empty figure on its own Agg canvas (no pyplot, nothing global)."""
    fig = Figure(dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def check_dpi(dpi) -> int:
    """``dpi`` as an int in :data:`DPI_RANGE`, or a ParameterError naming 'dpi'."""
    if isinstance(dpi, bool) or not isinstance(dpi, (int, np.integer)) or not DPI_RANGE[0] <= int(dpi) <= DPI_RANGE[1]:
        raise ParameterError("dpi", f"'dpi' must be a whole number from {DPI_RANGE[0]} to {DPI_RANGE[1]}, "
                                    f"got {dpi!r}")
    return int(dpi)


# --- layout ---------------------------------------------------------------------------


@dataclass
class _Layout:
    size: tuple[float, float]
    margin: float
    k: float  # A3 pages scale type and lines up
    boxes: dict  # name -> (left, bottom, width, height) in inches
    fs: dict  # font sizes in points


def _layout(paper: str, *, header: float, single: bool) -> _Layout:
    w, h = carto.paper_size(paper)
    k = 1.0 if paper.startswith("A4") else 1.2
    m, gap, footer = 0.42 * k, 0.18 * k, 0.36 * k
    fs = {"title": 13.5 * k, "subtitle": 9 * k, "legend": 7.6 * k, "legend_title": 8.4 * k, "label": 6.2 * k,
          "label_min": 5.2 * k, "district_label": 7.4 * k, "footer": 6.6 * k, "scale": 6.6 * k, "panel": 7.2 * k}
    body_top = h - m - header
    body_h = body_top - m - footer
    bottom = m + footer
    boxes = {}
    if w > h and not single:  # landscape: map left; locator, then legend, on the right
        side = 0.28 * (w - 2 * m)
        map_w = w - 2 * m - side - gap
        boxes["map"] = (m, bottom, map_w, body_h)
        inset_h = min(side * 0.78, body_h * 0.34)
        boxes["locator"] = (m + map_w + gap, body_top - inset_h, side, inset_h)
        boxes["legend"] = (m + map_w + gap, bottom, side, body_h - inset_h - gap * 1.6)
    elif w > h:  # one commune, landscape: legend | locator above the criteria list
        side = 0.40 * (w - 2 * m)
        map_w = w - 2 * m - side - gap
        boxes["map"] = (m, bottom, map_w, body_h)
        sx, half = m + map_w + gap, (side - gap) / 2
        top_h = body_h * 0.42
        boxes["legend"] = (sx, body_top - top_h, half, top_h)
        boxes["locator"] = (sx + half + gap, body_top - min(top_h, half * 1.05), half, min(top_h, half * 1.05))
        boxes["criteria"] = (sx, bottom, side, body_h - top_h - gap)
    else:  # portrait: map on top; legend (criteria) and locator below
        panel_h = body_h * (0.36 if single else 0.30)
        boxes["map"] = (m, bottom + panel_h + gap, w - 2 * m, body_h - panel_h - gap)
        cols = [0.33, 0.40, 0.27] if single else [0.55, 0.45]
        names = ["legend", "criteria", "locator"] if single else ["legend", "locator"]
        x, usable = m, w - 2 * m - gap * (len(cols) - 1)
        for name, frac in zip(names, cols):
            col_h = panel_h if name != "locator" else min(panel_h, usable * frac * 1.1)
            boxes[name] = (x, bottom + panel_h - col_h, usable * frac, col_h)
            x += usable * frac + gap
    return _Layout((w, h), m, k, boxes, fs)


def _axes(fig: Figure, box, gid: str):
    w, h = fig.get_size_inches()
    ax = fig.add_axes((box[0] / w, box[1] / h, box[2] / w, box[3] / h))
    ax.set_gid(gid)
    return ax


# --- one page -------------------------------------------------------------------------


def _subset(cls: Classified, keep: np.ndarray) -> tuple[pd.DataFrame, list]:
    """The classified rows of a page and its legend recounted for them."""
    frame = cls.frame[keep]
    counts = frame["key"].value_counts().to_dict()
    return frame, [replace(c, count=int(counts.get(c.key, 0))) for c in cls.legend]


def _paper_text(paper: str, lang: str) -> str:
    return t(f"figure_output.papers.{paper}", lang)


def _header(fig: Figure, lay: _Layout, title: str, subtitle: str, demo: bool, lang: str) -> None:
    W, H = lay.size
    m, fs, k = lay.margin, lay.fs, lay.k
    n_title = title.count("\n") + 1
    fig.text(m / W, 1 - m / H, title, ha="left", va="top", fontsize=fs["title"], fontweight="bold",
             color="#111111", gid="title", linespacing=1.15)
    fig.text(m / W, 1 - (m + n_title * fs["title"] * 1.25 / 72 + 0.06 * k) / H, subtitle, ha="left", va="top",
             fontsize=fs["subtitle"], color="#333333", gid="subtitle", linespacing=1.3)
    if demo:
        fig.text(1 - m / W, 1 - m / H, t("demo_banner", lang), ha="right", va="top", fontsize=fs["subtitle"],
                 fontweight="bold", color="#b2182b", gid="demo-banner")


def footer_lines(base: MapBase, *, source: str | None, created: dt.date) -> str:
    """'Nguồn: …; Ngày lập: dd/mm/yyyy' and the CRS note, for the foot of a page."""
    lang = base.lang
    source_line = t("figure.source_line", lang).format(source=source or t("figure.default_source", lang),
                                                       date=created.strftime("%d/%m/%Y"))
    crs_line = t("figure.crs_note", lang).format(**carto.crs_note_parts(base.epsg))
    return carto.nfc(f"{source_line}\n{crs_line}")


def draw_map_page(fig: Figure, base: MapBase, scope_code: str | None, *, paper: str = "A4-landscape",
                  title: str | None = None, subtitle: str | None = None, source: str | None = None,
                  created: dt.date | None = None, page_note: str | None = None) -> Figure:
    """Draw the map of ``scope_code`` (within ``base``) on an empty figure, sized to the paper.

    See Also
    --------
    commune_figure : the usual entry point.
    maps.atlas.build_atlas : one page per district or commune.
    """
    lang = base.lang
    cls = base.classified
    keep = np.array([base.within(c, scope_code) for c in cls.frame["unit_code"]], dtype=bool)
    frame, legend = _subset(cls, keep)
    if frame.empty:
        raise ParameterError("scope", f"'scope' {scope_code} has no communes on this map")
    scope_hit = base.unit(scope_code) if scope_code else None
    scope_level = scope_hit[0] if scope_hit else None
    single = scope_level == "commune"

    # header: title wrapped to the page, subtitle = scope and criteria set
    w_in, _ = carto.paper_size(paper)
    k = 1.0 if paper.startswith("A4") else 1.2
    title = carto.nfc(title or figure_title(base))
    if "\n" not in title:
        title = carto.wrap(title, int((w_in - 1.6 * k) * 72 / (13.5 * k * 0.6)))
    subtitle = carto.nfc(subtitle or f"{scope_name(base, scope_code)}\n{criteria_set_line(base)}")
    header = ((title.count("\n") + 1) * 13.5 * 1.25 + (subtitle.count("\n") + 1) * 9 * 1.35) * k / 72 + 0.16 * k
    lay = _layout(paper, header=header, single=single)
    fig.set_size_inches(*lay.size)
    fig.set_label(title.replace("\n", " "))
    W, H = lay.size
    m, fs = lay.margin, lay.fs
    _header(fig, lay, title, subtitle, base.demo, lang)

    # the map frame at a round scale
    ax = _axes(fig, lay.boxes["map"], "map")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.8)
    codes = set(frame["unit_code"])
    scope_communes = base.communes[base.communes["code"].isin(codes)]
    if scope_hit and not single:
        scope_geom = scope_hit[1].geometry
    elif scope_code is None and len(base.provinces):
        scope_geom = shapely.union_all(base.provinces.geometry.to_numpy())
    else:
        scope_geom = shapely.union_all(scope_communes.geometry.to_numpy()) if len(scope_communes) else None
    x0, y0, x1, y1 = scope_communes.total_bounds if len(scope_communes) else base.communes.total_bounds
    pad = 0.04 * max(x1 - x0, y1 - y0, 1.0)
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    bw, bh = lay.boxes["map"][2] * carto.MM_PER_INCH / 1000, lay.boxes["map"][3] * carto.MM_PER_INCH / 1000
    denominator = carto.nice_scale(max((x1 - x0) / bw, (y1 - y0) / bh))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w, half_h = bw * denominator / 2, bh * denominator / 2
    ax.set_xlim(cx - half_w, cx + half_w)
    ax.set_ylim(cy - half_h, cy + half_h)
    rect = (cx - half_w * 1.02, cy - half_h * 1.02, cx + half_w * 1.02, cy + half_h * 1.02)
    tol = 0.06e-3 * denominator  # 0.06 mm on paper: invisible, keeps PDFs and SVGs small

    # shapes: neighbours grey, the scope's communes coloured, districts and the scope heavier
    in_scope = base.communes["code"].isin(codes).to_numpy()
    context = base.communes[~in_scope]
    context_geoms = panels.simplified(context.geometry.to_numpy(), tol, rect)
    has_context = bool((~shapely.is_empty(context_geoms)).any()) if len(context_geoms) else False
    panels.draw_polygons(ax, context_geoms, facecolor=_CONTEXT_FILL, edgecolor=_CONTEXT_EDGE, linewidth=0.3,
                         zorder=1, gid="context-communes")
    colours = frame.set_index("unit_code")["colour"]
    scope_geoms = panels.simplified(scope_communes.geometry.to_numpy(), tol, rect)
    panels.draw_polygons(ax, scope_geoms, facecolor=[colours[c] for c in scope_communes["code"]],
                         edgecolor=_COMMUNE_EDGE, linewidth=0.3 * k, zorder=2, gid="communes")
    district_lw = 1.0 * k
    if len(base.districts):
        panels.draw_boundaries(ax, panels.simplified(base.districts.geometry.to_numpy(), tol, rect),
                               color=_DISTRICT_EDGE, linewidth=district_lw, zorder=3, gid="district-boundaries")
    if scope_geom is not None:
        panels.draw_boundaries(ax, panels.simplified([scope_geom], tol, rect), color=_SCOPE_EDGE,
                               linewidth=1.6 * k, zorder=4, gid="scope-boundary")

    # furniture first, so labels keep clear of it
    ratio = t("figure.scale_ratio", lang).format(denominator=carto.fmt_number(denominator, lang),
                                                  paper=_paper_text(paper, lang))
    bar = carto.add_scale_bar(ax, lang=lang, fontsize=fs["scale"], ratio_text=ratio)
    arrow = carto.add_north_arrow(ax, convergence_deg=carto.meridian_convergence(base.epsg, cx, cy),
                                  letter=t("words.north", lang), size_pt=24 * k)
    renderer = fig.canvas.get_renderer()
    obstacles = [bar.get_window_extent(renderer).padded(2), arrow.get_window_extent(renderer).padded(2)]

    # labels: districts first on province-wide maps, then communes where they fit
    per_inch = (ax.get_xlim()[1] - ax.get_xlim()[0]) / lay.boxes["map"][2]
    size = labels.label_size(scope_geoms, per_inch, base=fs["label"], largest=fs["label"] * 1.6)
    if scope_level in (None, "province") and len(base.districts) > 1:
        dist = base.districts[[base.within(c, scope_code) for c in base.districts["code"]]]
        labels.place_labels(ax, renderer, panels.simplified(dist.geometry.to_numpy(), tol, rect),
                            dist["name"].tolist(), fontsize=max(fs["district_label"], size * 1.2),
                            obstacles=obstacles, inside=0.6, color="#202020", weight="bold", zorder=7,
                            gid="district-label")
    labels.place_labels(ax, renderer, scope_geoms, scope_communes["name"].tolist(), fontsize=size,
                        min_fontsize=fs["label_min"] if size <= fs["label"] else fs["label"], obstacles=obstacles,
                        zorder=6, gid="commune-label", weight="bold" if single else "normal")
    if has_context and scope_level in ("district", "commune"):
        labels.place_labels(ax, renderer, context_geoms, context["name"].tolist(),
                            fontsize=max(fs["label_min"], size * 0.85), obstacles=obstacles, color="#8a8a8a",
                            style="italic", zorder=5, gid="context-label")

    # legend (with the criteria of a single commune) and locator
    rows = [("patch", c.colour, _COMMUNE_EDGE, carto.nfc(c.label), c.count) for c in legend]
    extra = []
    if has_context:
        extra.append(("patch", _CONTEXT_FILL, _CONTEXT_EDGE, t("figure.outside_scope", lang), None))
    if len(base.districts):
        extra.append(("line", _DISTRICT_EDGE, district_lw, t("figure.district_boundary", lang), None))
    extra.append(("line", _COMMUNE_EDGE, 0.5, t("figure.commune_boundary", lang), None))
    assessed = frame[frame["n_assessed"] > 0]
    if single:
        row = frame.iloc[0]
        summary = [t("figure_output.commune_result", lang).format(met=int(row["n_met"]), total=int(row["n_total"]))
                   if len(assessed) else t("figure.no_status", lang).format(year=base.year)]
    else:
        summary = [t("figure.units_total", lang).format(n=len(frame), assessed=len(assessed))]
        summary.append(t("figure.average", lang).format(value=carto.fmt_number(assessed["n_met"].mean(), lang, 1))
                       if len(assessed) else t("figure.no_status", lang).format(year=base.year))
    if cls.note:  # analysis modes: the global statistic, or why nothing could be computed
        summary.append(carto.wrap(carto.nfc(cls.note), 48))
    cursor = panels.legend_panel(_axes(fig, lay.boxes["legend"], "legend"), carto.nfc(cls.title),
                                 t("figure.legend_unit", lang), rows, extra, summary, fs["legend"],
                                 fs["legend_title"])
    if single:
        crit = panels.Cursor(_axes(fig, lay.boxes["criteria"], "criteria")) if "criteria" in lay.boxes else cursor
        panels.criteria_panel(crit, base, frame.iloc[0], fs["panel"])
    panels.locator(_axes(fig, lay.boxes["locator"], "locator"), base, scope_geom, ax, fs["panel"])

    # foot: source and date, CRS note, page number
    fig.text(m / W, m / H, footer_lines(base, source=source, created=created or dt.date.today()), ha="left",
             va="bottom", fontsize=fs["footer"], color="#333333", gid="footer", linespacing=1.45)
    if page_note:
        fig.text(1 - m / W, m / H, page_note, ha="right", va="bottom", fontsize=fs["footer"], color="#333333",
                 gid="page-number")
    return fig


# --- public entry points --------------------------------------------------------------


def commune_figure(store: Store, *, year: int, set_id: str | None = None, mode: str = "count",
                   criterion: int | None = None, scope_code: str | None = None, paper: str = "A4-landscape",
                   dpi: int = 300, lang: str = "vi", title: str | None = None, source: str | None = None,
                   as_of=None, created: dt.date | None = None, indicator: str | None = None) -> Figure:
    """A report map of the communes of a scope, classified as on the web map.

    Parameters
    ----------
    year, set_id, mode, criterion, scope_code, as_of, indicator
        What to show, as for :func:`maps.modes.classify_communes` (``scope_code`` None is
        the whole store; :func:`resolve_scope` turns names into codes; ``indicator`` for
        the indicator and hot-spot modes).
    paper
        "A4-landscape" (default), "A4-portrait", "A3-landscape" or "A3-portrait".
    dpi
        Resolution of PNG output (50–600, default 300; vector formats ignore it).
    lang
        "vi" (default) or "en".
    title, source
        Replace the automatic title / the source in the "Nguồn: …; Ngày lập: …" line.
    created
        The date printed as "Ngày lập" (default today).

    Returns
    -------
    matplotlib.figure.Figure
        Drawn on an Agg canvas, ready for :func:`save_figure`.

    Raises
    ------
    ParameterError
        A ValueError naming the option that cannot be used.

    See Also
    --------
    save_figure, figure_bytes, maps.atlas.build_atlas

    Examples
    --------
    >>> fig = commune_figure(store, year=2024, scope_code="D01-02")  # doctest: +SKIP
    >>> save_figure(fig, "huyen.png")                                # doctest: +SKIP
    """
    carto.paper_size(paper)
    dpi = check_dpi(dpi)
    with figure_style():
        base = load_map_base(store, year=year, set_id=set_id, mode=mode, criterion=criterion,
                             scope_code=scope_code, as_of=as_of, lang=lang, indicator=indicator)
        fig = draw_map_page(new_figure(dpi), base, scope_code, paper=paper, title=title, source=source,
                            created=created)
    log.info("figure %s %s %s: %d communes", mode, year, scope_code or "(all)", len(base.classified.frame))
    return fig


def format_from_path(path) -> str:
    """'png', 'pdf' or 'svg' from a file name's suffix, or a ParameterError naming 'output'."""
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ParameterError("output", f"'output' must end in {', '.join('.' + f for f in FORMATS)}, "
                                       f"got {str(path)!r}")
    return fmt


def save_figure(fig: Figure, path_or_buffer, fmt: str | None = None) -> None:
    """Write a figure as PNG (at the figure's dpi), PDF or SVG (vector, text kept as text).

    ``fmt`` defaults to the file's suffix.
    """
    if fmt is None:
        if not isinstance(path_or_buffer, (str, Path)):
            raise ValueError("'fmt' is needed when writing to a buffer")
        fmt = format_from_path(path_or_buffer)
    if fmt not in FORMATS:
        raise ParameterError("format", f"'format' must be one of {FORMATS}, got {fmt!r}")
    title = fig.get_label() or "NTM Atlas"
    metadata = {"png": {"Title": title, "Software": "NTM Atlas"},
                "pdf": {"Title": title, "Creator": "NTM Atlas"},
                "svg": {"Title": title, "Creator": "NTM Atlas", "Date": None}}[fmt]
    with figure_style():
        if not isinstance(fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(fig)
        fig.savefig(path_or_buffer, format=fmt, dpi=fig.dpi, metadata=metadata, facecolor="white")


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """The figure encoded as ``fmt`` (for HTTP responses)."""
    buf = io.BytesIO()
    save_figure(fig, buf, fmt)
    return buf.getvalue()


def figure_filename(*, mode: str, year: int, fmt: str, scope_code: str | None = None, scope: str | None = None,
                    criterion: int | None = None, indicator: str | None = None) -> str:
    """A plain-ASCII file name: ``ntm-count-2024-huyen-bat-xat.png``."""
    parts = ["ntm", mode + (f"-tc{int(criterion)}" if mode == "criterion" and criterion is not None else "")
             + (f"-{slugify(indicator)}" if indicator and mode in ("indicator", "hotspot") else ""), str(year)]
    if scope or scope_code:
        parts.append(slugify(scope) if scope else re.sub(r"[^A-Za-z0-9_-]+", "-", scope_code))
    name = re.sub(r"-{2,}", "-", "-".join(p for p in parts if p)).strip("-")
    return f"{name}.{fmt}"

"""The NTM atlas: one multi-page PDF with a cover summary and a map page per district or commune.

Like a QGIS atlas: the same map layout repeated for every unit of a coverage layer, each
page zoomed to its unit with the neighbours in grey, preceded by a summary page with the
counts of communes by recognition level, the average criteria met per commune and a
table by district that gives each district's page.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from layers import recognitions
from layers.store import Store
from . import _cartography as carto
from . import _labels as labels
from . import _panels as panels
from . import figures
from ._errors import ParameterError
from ._mapbase import MapBase, criteria_set_line, load_map_base, scope_name
from .i18n import t

__all__ = ["PER", "AtlasResult", "build_atlas", "atlas_summary"]

log = logging.getLogger(__name__)

PER = ("district", "commune")
_LEVELS = ("dat_chuan", "nang_cao", "kieu_mau")


@dataclass
class AtlasResult:
    """What :func:`build_atlas` wrote."""

    path: Path
    pages: int
    units: list[str]
    seconds: float


def atlas_summary(store: Store, base: MapBase, scope_code: str | None) -> pd.DataFrame:
    """Per district of the scope: communes (xã only), count per recognition level, at risk,
    average criteria met; one row per district plus a total row (``code`` None).

    Wards and townships are left out: the NTM commune criteria and recognition apply to xã.
    """
    year, set_id = base.year, base.classified.set_id
    rec = recognitions.recognition_status(store, year, scope_code=scope_code)
    risk = set(recognitions.at_risk(store, year, set_id, scope_code=scope_code)["unit_code"])
    frame = base.classified.frame.set_index("unit_code")
    rec = rec[rec["unit_code"].isin(frame.index)]
    xa = rec[rec["unit_type"] == "xa"].copy()
    xa["n_met"] = frame.loc[xa["unit_code"], "n_met"].to_numpy()
    xa["assessed"] = (frame.loc[xa["unit_code"], "n_assessed"] > 0).to_numpy()
    xa["at_risk"] = xa["unit_code"].isin(risk)

    def row(part: pd.DataFrame, code, name) -> dict:
        levels = part["level"].where(part["level"].isin(_LEVELS))
        out = {"code": code, "name": name, "communes": len(part)}
        for level in _LEVELS:
            out[level] = int((levels == level).sum())
        out["standard"] = sum(out[level] for level in _LEVELS)
        out["not_yet"] = out["communes"] - out["standard"]
        out["at_risk"] = int(part["at_risk"].sum())
        assessed = part.loc[part["assessed"], "n_met"]
        out["average"] = float(assessed.mean()) if len(assessed) else np.nan
        return out

    rows = []
    for parent, part in xa.groupby("parent_code", sort=True):
        hit = base.unit(parent)
        rows.append(row(part, parent, str(hit[1]["name"]) if hit else parent))
    rows.append(row(xa, None, None))
    out = pd.DataFrame(rows)
    out.attrs["wards"] = int((rec["unit_type"] != "xa").sum())
    return out


def _pages_for(base: MapBase, scope_code: str | None, per: str) -> list[str]:
    """Codes of the units that get a page, in reading order (district, then commune name)."""
    if per == "district":
        codes = [c for c in base.districts.sort_values(["code"])["code"] if base.within(c, scope_code)]
        codes = [c for c in codes if c != scope_code]
        if not codes:
            raise ParameterError("per", f"'per' is 'district' but scope {scope_code or '(whole store)'} has no districts "
                                        f"(communes after the 2025 reform hang under the province): use per='commune'")
        return codes
    frame = base.classified.frame
    return frame.sort_values(["parent_code", "name", "unit_code"])["unit_code"].tolist()


def _cover(fig: Figure, base: MapBase, scope_code, summary: pd.DataFrame, pages: dict,
           *, paper: str, source: str | None, created: dt.date, n_pages: int) -> None:
    """The summary page: headline numbers, an overview map with its legend, the table by district."""
    lang = base.lang
    w, h = carto.paper_size(paper)
    fig.set_size_inches(w, h)
    k = 1.0 if paper.startswith("A4") else 1.2
    m = 0.5 * k

    def put(x_in, top_in, text, **kw):  # text hung from a point given in inches from the top-left
        return fig.text(x_in / w, 1 - top_in / h, carto.nfc(text), va="top", **kw)

    title = t("atlas.title", lang).format(scope=scope_name(base, scope_code))
    fig.set_label(title)
    room = w - 2 * m - (1.4 * k if base.demo else 0)
    title = carto.wrap(title, int(room * 72 / (19 * k * 0.6)))
    put(m, m, title, fontsize=19 * k, fontweight="bold", gid="title", linespacing=1.15)
    y = m + (title.count("\n") + 1) * 19 * k * 1.2 / 72 + 0.1 * k
    if base.demo:
        fig.text(1 - m / w, 1 - m / h, t("demo_banner", lang), ha="right", va="top", fontsize=10 * k,
                 fontweight="bold", color="#b2182b", gid="demo-banner")
    sub = t("atlas.subtitle", lang).format(year=base.year, mode=base.classified.title)
    put(m, y, f"{sub}\n{criteria_set_line(base)}", fontsize=10 * k, color="#333333", linespacing=1.4,
        gid="subtitle")
    y += 2 * 10 * k * 1.4 / 72 + 0.25 * k
    total = summary.iloc[-1]
    avg = "–" if pd.isna(total["average"]) else carto.fmt_number(total["average"], lang, 1)
    put(m, y, t("atlas.headline", lang).format(standard=total["standard"], communes=total["communes"]),
        fontsize=15 * k, fontweight="bold", color="#1a6b3a", gid="headline")
    y += 15 * k * 1.5 / 72
    put(m, y, t("atlas.summary", lang).format(nang_cao=total["nang_cao"], kieu_mau=total["kieu_mau"],
                                              at_risk=total["at_risk"], average=avg),
        fontsize=9.5 * k, color="#222222", gid="headline-detail")
    y += 9.5 * k * 1.5 / 72 + 0.2 * k

    # body: table left and overview right (landscape), or overview above the table (portrait)
    notes = [t("atlas.levels_note", lang)]
    if summary.attrs.get("wards"):
        notes.append(t("atlas.wards_note", lang).format(n=summary.attrs["wards"]))
    foot_text = carto.nfc("\n".join([*notes, figures.footer_lines(base, source=source, created=created)]))
    foot_h = (foot_text.count("\n") + 1) * 6.6 * k * 1.45 / 72 + 0.2 * k
    body = (m, m + foot_h, w - 2 * m, h - y - m - foot_h)  # left, bottom, width, height in inches
    if w > h:
        table_w = body[2] * 0.56
        table_box = (body[0], body[1], table_w, body[3])
        map_box = (body[0] + table_w + 0.3 * k, body[1], body[2] - table_w - 0.3 * k, body[3])
    else:
        map_h = body[3] * 0.5
        map_box = (body[0], body[1] + body[3] - map_h, body[2], map_h)
        table_box = (body[0], body[1], body[2], body[3] - map_h - 0.25 * k)
    _overview(fig, map_box, base, scope_code, 6.5 * k)
    _table(fig.add_axes(_fraction(fig, table_box)), summary, pages, 7.4 * k, lang)
    fig.text(m / w, m / h, foot_text, fontsize=6.6 * k, va="bottom", color="#333333", linespacing=1.45,
             gid="footer")
    fig.text(1 - m / w, m / h, t("figure.page", lang).format(page=1, pages=n_pages), ha="right", va="bottom",
             fontsize=6.6 * k, color="#333333", gid="page-number")


def _fraction(fig: Figure, box) -> tuple[float, float, float, float]:
    w, h = fig.get_size_inches()
    return box[0] / w, box[1] / h, box[2] / w, box[3] / h


def _overview(fig: Figure, box, base: MapBase, scope_code, fontsize: float) -> None:
    """The whole scope coloured as on the map pages, with district names, a scale bar, a
    north arrow and, below it, the legend with class counts."""
    frame = base.classified.frame
    keep = frame["unit_code"].map(lambda c: base.within(c, scope_code))
    legend = base.classified.legend
    counts = frame[keep]["key"].value_counts()
    line = fontsize * 1.6 / 72
    legend_h = (-(-len(legend) // 2) + 1.6) * line
    leg_ax = fig.add_axes(_fraction(fig, (box[0], box[1], box[2], legend_h)))
    leg_ax.set_axis_off()
    leg_ax.set_gid("overview-legend")
    handles = [Patch(facecolor=c.colour, edgecolor="#8a8a8a", linewidth=0.4,
                     label=carto.nfc(f"{c.label}: {int(counts.get(c.key, 0))}")) for c in legend]
    leg_ax.legend(handles=handles, loc="upper left", fontsize=fontsize, frameon=False, ncols=2,
                  title=carto.nfc(base.classified.title), title_fontsize=fontsize * 1.1, alignment="left",
                  borderaxespad=0.0)
    ax = fig.add_axes(_fraction(fig, (box[0], box[1] + legend_h + 0.1, box[2], box[3] - legend_h - 0.1)))
    ax.set_axis_off()
    ax.set_gid("overview")
    colours = frame[keep].set_index("unit_code")["colour"]
    communes = base.communes[base.communes["code"].isin(colours.index)]
    x0, y0, x1, y1 = communes.total_bounds
    tol = max(x1 - x0, y1 - y0) / 1500
    rect = (x0 - 1, y0 - 1, x1 + 1, y1 + 1)
    geoms = panels.simplified(communes.geometry.to_numpy(), tol, rect)
    panels.draw_polygons(ax, geoms, facecolor=[colours[c] for c in communes["code"]], edgecolor="#8a8a8a",
                         linewidth=0.2, zorder=1, gid="overview-communes")
    districts = base.districts[[base.within(c, scope_code) for c in base.districts["code"]]]
    if len(districts):
        panels.draw_boundaries(ax, panels.simplified(districts.geometry.to_numpy(), tol, rect), color="#222222",
                               linewidth=0.8, zorder=2, gid="overview-districts")
    panels.frame_to(ax, (x0, y0, x1, y1), margin=1.04)
    renderer = ax.figure.canvas.get_renderer()
    bar = carto.add_scale_bar(ax, lang=base.lang, fontsize=fontsize, fraction=0.25, loc="lower right")
    cx, cy = np.mean(ax.get_xlim()), np.mean(ax.get_ylim())
    arrow = carto.add_north_arrow(ax, convergence_deg=carto.meridian_convergence(base.epsg, cx, cy),
                                  letter=t("words.north", base.lang), size_pt=20, loc="upper left")
    if len(districts) > 1:
        labels.place_labels(ax, renderer, panels.simplified(districts.geometry.to_numpy(), tol, rect),
                            districts["name"].tolist(), fontsize=fontsize * 1.1, inside=0.6, weight="bold",
                            gid="district-label", obstacles=[bar.get_window_extent(renderer),
                                                             arrow.get_window_extent(renderer)])


def _table(ax, summary: pd.DataFrame, pages: dict, fontsize: float, lang: str) -> None:
    """The table by district; the header wraps, the total row is bold and shaded."""
    ax.set_axis_off()
    ax.set_gid("district-table")
    keys = ["district", "communes", "dat_chuan", "nang_cao", "kieu_mau", "standard", "not_yet", "at_risk",
            "average"] + (["page"] if pages else [])
    header = [carto.wrap(carto.nfc(t(f"atlas.columns.{key}", lang)), 7) for key in keys]
    cells = []
    for rec in summary.to_dict("records"):
        total = rec["code"] is None or pd.isna(rec["code"])
        name = t("atlas.total", lang) if total else rec["name"]
        avg = "–" if pd.isna(rec["average"]) else carto.fmt_number(rec["average"], lang, 1)
        row = [carto.nfc(name), *(str(rec[key]) for key in keys[1:8]), avg]
        if pages:
            row.append("" if total else str(pages.get(rec["code"], "")))
        cells.append(row)
    pos = ax.get_position()
    ax_h = pos.height * ax.figure.get_figheight()
    title_h = fontsize * 1.35 * 1.8 / 72
    ax.text(0, 1, t("atlas.table_title", lang), fontsize=fontsize * 1.35, fontweight="bold", va="top",
            transform=ax.transAxes, gid="table-title")
    head_lines = max(h.count("\n") + 1 for h in header)
    row_in = fontsize * 2.1 / 72
    head_in = head_lines * fontsize * 0.95 * 1.25 / 72 + fontsize * 0.9 / 72
    n = len(cells)
    avail = ax_h - title_h
    scale = min(1.0, avail / (head_in + n * row_in))
    height = (head_in + n * row_in) * scale / ax_h
    widths = np.array([2.3, *([1.0] * (len(keys) - 1))])
    table = ax.table(cellText=cells, colLabels=header, colWidths=list(widths / widths.sum()),
                     bbox=(0, 1 - title_h / ax_h - height, 1, height), cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(fontsize * min(1.0, scale + 0.15))
    for (r, c), cell in table.get_celld().items():
        cell.set_edgecolor("#9a9a9a")
        cell.set_linewidth(0.4)
        cell.set_height(head_in if r == 0 else row_in)
        if c == 0:
            cell.set_text_props(ha="left")
            cell.PAD = 0.04
        if r == 0:
            cell.set_facecolor("#e6eee8")
            cell.set_text_props(fontweight="bold", fontsize=fontsize * 0.95 * min(1.0, scale + 0.15),
                                linespacing=1.15)
        elif r == n:
            cell.set_facecolor("#f2f2f2")
            cell.set_text_props(fontweight="bold")
    table.set_gid("summary-table")


def build_atlas(store: Store, path, *, year: int, set_id: str | None = None, mode: str = "count",
                criterion: int | None = None, scope_code: str | None = None, per: str = "district",
                paper: str = "A4-landscape", lang: str = "vi", source: str | None = None,
                created: dt.date | None = None, progress=None) -> AtlasResult:
    """Write the atlas PDF: a cover summary page, then one map page per district or commune.

    Parameters
    ----------
    scope_code
        A province (or district) code; None is the whole store.
    per
        "district" (default) or "commune": what each map page shows.
    progress
        Optional callback ``progress(label, done, total)``.

    Returns
    -------
    AtlasResult
        The path, number of pages, units paged and seconds taken.

    Raises
    ------
    ParameterError
        A ValueError naming the option that cannot be used; nothing is written then.

    See Also
    --------
    maps.figures.commune_figure : one page on its own.
    """
    start = time.perf_counter()
    if per not in PER:
        raise ParameterError("per", f"'per' must be one of {PER}, got {per!r}")
    carto.paper_size(paper)
    path = Path(path)
    created = created or dt.date.today()
    with figures.figure_style():
        base = load_map_base(store, year=year, set_id=set_id, mode=mode, criterion=criterion,
                             scope_code=scope_code, lang=lang)
        units = _pages_for(base, scope_code, per)
        summary = atlas_summary(store, base, scope_code)
        n_pages = 1 + len(units)
        pages = {code: i + 2 for i, code in enumerate(units)} if per == "district" else {}
        name = scope_name(base, scope_code)
        meta = {"Title": t("atlas.title", lang).format(scope=name), "Creator": "NTM Atlas"}
        tmp = path.with_name(path.name + ".part")
        try:
            with PdfPages(tmp, metadata=meta) as pdf:
                fig = figures.new_figure()
                _cover(fig, base, scope_code, summary, pages, paper=paper, source=source, created=created,
                       n_pages=n_pages)
                pdf.savefig(fig)
                for i, code in enumerate(units):
                    if progress:
                        progress(t("figure_output.atlas_progress", lang), i, len(units))
                    fig = figures.new_figure()
                    figures.draw_map_page(fig, base, code, paper=paper, source=source, created=created,
                                          page_note=t("figure.page", lang).format(page=i + 2, pages=n_pages))
                    pdf.savefig(fig)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
    if progress:
        progress(t("figure_output.atlas_progress", lang), len(units), len(units))
    seconds = time.perf_counter() - start
    log.info("atlas %s: %d pages in %.1f s", path, n_pages, seconds)
    return AtlasResult(path, n_pages, units, seconds)

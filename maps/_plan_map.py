"""What the prioritisation and scenario pages share: a folium map of classed communes,
the page shell, money formatting and HTML tables.

Each commune is one feature carrying its fill colour and an already-escaped tooltip
(names come from user data; Leaflet inserts tooltip content as HTML). The legend with
counts stands beside the map (it prints with the page and hides no commune). Page assets come from our own ``/static/vendor`` when the route passes
``maps.assets.offline_resources``.
"""

from __future__ import annotations

import base64
import html
import math
import re

import folium
import geopandas as gpd
import pandas as pd
from folium.map import Layer
from jinja2 import Template

from layers import admin_units
from . import assets
from layers.store import Store
from ._commune_map import _feature_collection, safe_json
from .i18n import t

__all__ = ["e", "missing", "fmt_num", "fmt_vnd", "table", "commune_shapes", "build_map", "legend_html", "page",
           "inline_vendor", "budget_text", "CSS"]

POLYGON_TOLERANCE = 1e-4  # ~10 m: invisible at the zooms a province is read at, keeps pages small
NO_DATA = "#cfcfcf"

CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;background:#f7f7f5;color:#222}
.page{max-width:1400px;margin:0 auto;padding:12px 16px 40px}
header.top{display:flex;flex-wrap:wrap;align-items:baseline;gap:8px 24px;margin-bottom:8px}
header.top h1{font-size:1.45rem;margin:0}.sub{color:#555}
.links{margin-left:auto}.links a{margin-left:12px;color:#1a5d9e}
.demo{background:#b30000;color:#fff;padding:4px 10px;font-weight:bold;border-radius:3px;margin:6px 0}
.scenario{background:#5e3c99;color:#fff;padding:6px 10px;font-weight:bold;border-radius:3px;margin:6px 0}
.note{color:#555;font-size:.85rem}
.cards{display:grid;grid-template-columns:1fr 1fr;gap:.5rem;margin:.6rem 0}
.card{background:#fff;border:1px solid #ccc;border-radius:6px;padding:.4rem .6rem;font-size:.85rem}
.card b{display:block;font-size:1.15rem}
.layout{display:grid;grid-template-columns:1fr minmax(260px,330px);gap:14px;align-items:start}
@media (max-width:900px){.layout{grid-template-columns:1fr}}
section{background:#fff;border:1px solid #ddd;border-radius:4px;padding:10px 14px;margin-top:14px}
section h2{font-size:1.1rem;margin:0 0 8px}
table{border-collapse:collapse;font-size:13px;margin:.3rem 0}
th,td{border:1px solid #ccc;padding:.22rem .45rem;text-align:left;vertical-align:top}
th{background:#ddebf7}td.n{text-align:right;white-space:nowrap}td.good{background:#c6efce}td.bad{background:#ffc7ce}
.legend .lg-h{margin-bottom:3px}.legend .sw{display:inline-block;width:14px;
height:14px;margin-right:6px;vertical-align:-2px;border:1px solid #777}
.legend div{margin:2px 0}.legend .count{float:right;margin-left:10px;font-weight:bold}
.folium-map{border:1px solid #bbb;border-radius:4px}
@media print{.links{display:none}}
"""


def e(value) -> str:
    """Escaped text of a value (user data); blank for None / NaN."""
    return "" if missing(value) else html.escape(str(value), quote=True)


def missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def fmt_num(value, lang: str = "vi", decimals: int = 0) -> str:
    """1.234,5 (vi) or 1,234.5 (en); "–" for None/NaN."""
    if missing(value):
        return "–"
    text = f"{float(value):,.{decimals}f}"
    return text.translate(str.maketrans(",.", ".,")) if lang == "vi" else text


def fmt_vnd(value, lang: str = "vi") -> str:
    """Money as planners write it: "3,25 tỷ đồng" / "VND 3.25 bn"; millions below 1 bn."""
    if missing(value):
        return "–"
    v = float(value)
    if abs(v) >= 1e9 or v == 0:
        return t("prioritise_map.vnd_bn", lang).format(value=fmt_num(v / 1e9, lang, 2))
    return t("prioritise_map.vnd_m", lang).format(value=fmt_num(v / 1e6, lang, 0))


def budget_text(summary: dict, lang: str = "vi") -> str:
    """The plan's budget, or "không giới hạn" / "unlimited" when it had none."""
    if summary.get("unlimited_budget") or missing(summary.get("budget_vnd")):
        return t("prioritise_map.unlimited", lang)
    return fmt_vnd(summary["budget_vnd"], lang)


def table(headers: list[str], rows: list[list[str]], *, numeric: set[int] = frozenset(), cls: str = "") -> str:
    """A table from escaped headers and cells; a cell starting with "<td" is used as is."""
    out = [f'<table class="{cls}"><thead><tr>', *(f"<th>{e(h)}</th>" for h in headers), "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>")
        for k, cell in enumerate(row):
            out.append(cell if cell.startswith("<td") else f'<td class="n">{cell}</td>' if k in numeric
                       else f"<td>{cell}</td>")
        out.append("</tr>")
    return "".join(out) + "</tbody></table>"


def commune_shapes(store: Store, codes, year: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(communes, districts) valid at the end of ``year``: the listed communes and the
    districts holding them, in EPSG:4326."""
    on = admin_units.year_end(year)
    com = admin_units.units_table(store, "commune", on=on, geometry=True)
    com = com[com["code"].isin(list(codes))]
    dist = admin_units.units_table(store, "district", on=on, geometry=True)
    dist = dist[dist["code"].isin(set(com["parent_code"].dropna()))]
    return com.reset_index(drop=True), dist.reset_index(drop=True)


class _ClassLayer(Layer):
    """Communes filled from each feature's ``s`` style, with a sticky tooltip ``t`` (escaped HTML)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data }}, {
            style: function (f) { return f.properties.s; },
            onEachFeature: function (f, layer) {
                if (f.properties.t) { layer.bindTooltip(f.properties.t, {sticky: true, className: 'ntm-tip'}); }
            }
        });
        {% endmacro %}"""
    )

    def __init__(self, data: dict, name: str, *, control: bool = True):
        super().__init__(name=name, overlay=True, control=control, show=True)
        self._name = "NtmClassLayer"
        self.data = safe_json(data)
        self.n_features = len(data["features"])


def legend_html(title: str, rows: list[tuple[str, str, int]]) -> str:
    """Legend rows (colour, label, count); labels escaped here."""
    body = "".join(f'<div><span class="sw" style="background:{e(c)}"></span>{e(label)}'
                   f'<span class="count">{n}</span></div>' for c, label, n in rows)
    return f'<div class="legend"><div class="lg-h"><b>{e(title)}</b></div>{body}</div>'


def build_map(communes: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, colours: dict, tooltips: dict,
              *, layer_name: str, lang: str, offline_js=None, offline_css=None, tiles=None,
              tiles_attribution: str = "") -> folium.Map:
    """A folium map: communes coloured by ``colours[code]`` with ``tooltips[code]`` (escaped
    HTML) and district outlines on top; the pages put the legend beside the map."""
    if len(communes):
        minx, miny, maxx, maxy = communes.total_bounds
    else:
        minx, miny, maxx, maxy = 102.1, 8.4, 109.5, 23.4
    # SVG paths for a province; on national scope, canvas and coarser shapes keep the page usable
    n = len(communes)
    tolerance = POLYGON_TOLERANCE * (1 if n <= 500 else 5 if n <= 3000 else 20)
    fmap = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None, control_scale=True,
                      height="620px", zoom_start=9, zoom_snap=0.25, prefer_canvas=n > 1000)
    # Leaflet only: the page needs no jQuery, Bootstrap or icon fonts (Bootstrap would restyle it)
    js = offline_js if offline_js is not None else folium.Map.default_js
    css = offline_css if offline_css is not None else folium.Map.default_css
    fmap.default_js = [(n, u) for n, u in js if n == "leaflet"]
    fmap.default_css = [(n, u) for n, u in (css or []) if n == "leaflet_css"]
    if tiles:
        folium.TileLayer(tiles=tiles, attr=tiles_attribution or " ",
                         name=t("prioritise_map.basemap", lang)).add_to(fmap)
    props = [{"t": tooltips.get(code, ""),
              "s": {"color": "#555555", "weight": 0.7, "fillColor": colours.get(code, NO_DATA), "fillOpacity": 0.85}}
             for code in communes["code"]]
    _ClassLayer(_feature_collection(communes, props, tolerance), layer_name).add_to(fmap)
    if len(districts):
        dprops = [{"t": "", "s": {"color": "#111111", "weight": 2, "fill": False}}
                  for _ in range(len(districts))]
        _ClassLayer(_feature_collection(districts, dprops, tolerance),
                    t("prioritise_map.districts", lang)).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]], padding=(16, 16))
    return fmap


def page(*, lang: str, title: str, header: str, map_: folium.Map | None, side: str, sections: list[tuple[str, str]],
         banner: str = "") -> str:
    """The HTML document: header, banner, map beside ``side`` (legend, summary), sections.

    ``header``, ``side``, ``banner`` and section bodies are already-escaped HTML; titles
    of sections are escaped here.
    """
    head = map_div = script = ""
    if map_ is not None:
        root = map_.get_root()
        root.render()
        head, map_div, script = root.header.render(), root.html.render(), root.script.render()
    body = "".join(f'<section id="{sid}"><h2>{e(name)}</h2>{content}</section>' for sid, name, content in
                   [(f"s{k}", n, c) for k, (n, c) in enumerate(sections)])
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}</title>{head}<style>{CSS}</style></head><body><div class=\"page\">{header}{banner}"
            f'<div class="layout"><div class="map-wrap">{map_div}</div><div class="side">{side}</div></div>'
            f"{body}</div><script>{script}</script></body></html>")


def inline_vendor(page_html: str) -> str:
    """The page with our ``/static/vendor`` scripts and stylesheets written inline, so a
    saved file works offline without the server (used by ``ntm scenario --html``)."""
    folder = assets.vendor_dir()

    def body(url: str) -> str | None:
        path = folder / url[len(assets.VENDOR_URL_PREFIX) + 1:]
        return path.read_text(encoding="utf-8") if url.startswith(assets.VENDOR_URL_PREFIX + "/") and path.is_file() \
            else None

    def script(m):
        text = body(m.group(1))
        return m.group(0) if text is None else "<script>" + text.replace("</script", "<\\/script") + "</script>"

    def style(m):
        text = body(m.group(1))
        if text is None:
            return m.group(0)
        here = (folder / m.group(1)[len(assets.VENDOR_URL_PREFIX) + 1:]).parent

        def data_uri(u):  # images next to the stylesheet (Leaflet's layer icon) as data: URIs
            path = here / u.group(1)
            if u.group(1).endswith(".png") and path.is_file():
                return "url(data:image/png;base64," + base64.b64encode(path.read_bytes()).decode() + ")"
            return u.group(0)

        text = re.sub(r"url\((images/[^)#]+)\)", data_uri, text)
        return "<style>" + text.replace("</style", "") + "</style>"

    page_html = re.sub(r'<script src="([^"]+)"></script>', script, page_html)
    return re.sub(r'<link rel="stylesheet" href="([^"]+)"/>', style, page_html)

"""The commune page's map (folium): the commune, its villages and the infrastructure near it.

One commune holds a few hundred features, so every layer is drawn as SVG (the browser
test counts the shapes). Each layer is a small ``folium.map.Layer`` of our own, so the
layer control lists it, but its GeoJSON is written compactly: UTF-8 rather than
``\\uXXXX`` escapes, coordinates rounded to 6 decimals and simplified below a metre,
popup labels written once per page and popups built in the browser when opened.
Every value shown in a tooltip or popup is escaped here: names come from user data and
Leaflet inserts tooltip and popup content as HTML.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from dataclasses import dataclass, field

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.map import Layer
from jinja2 import Template

from geo.crs import tm3_zone_for_lon
from layers import admin_units, criteria
from layers.store import Store
from layers.vocab import vocab_labels
from .i18n import t

__all__ = ["NEAR_DEG", "CommuneMap", "infrastructure_near", "build_commune_map", "road_km", "e", "fmt_num",
           "fmt_date", "safe_json", "display_name"]

NEAR_DEG = 0.01  # ~1 km: features this close to the boundary are "near" the commune
LINE_TOLERANCE = 1e-5  # ~1 m: simplification invisible at any zoom a commune is read at
POLYGON_TOLERANCE = 5e-6  # ~0.5 m: shared borders of villages stay visually shared
POINT_TABLES = ("schools", "health_stations", "markets", "culture_houses", "transformers")
LINE_TABLES = ("roads", "power_lines")
INFRA_TABLES = LINE_TABLES + POINT_TABLES + ("projects",)

VILLAGE_COLOURS = {  # the recognition palette of maps.modes
    "not_recognised": "#f0f0f0", "dat_chuan": "#a6d96a", "nang_cao": "#1a9641", "kieu_mau": "#00441b",
}
ROAD_STYLE = {  # road class -> (colour, weight)
    "quoc_lo": ("#c0392b", 5.0), "tinh_lo": ("#e67e22", 4.0), "huyen_lo": ("#b7950b", 3.5),
    "duong_xa": ("#6d4c41", 2.6), "duong_thon": ("#8d6e63", 1.8), "noi_dong": ("#558b2f", 1.5),
}
ROAD_DASH = {True: None, False: "7 5", None: "1 5"}  # hardened / not hardened / unknown
POINT_COLOURS = {
    "schools": "#1f78b4", "health_stations": "#e31a1c", "markets": "#ff7f00",
    "culture_houses": "#6a3d9a", "transformers": "#424242",
}
POWER_COLOUR = "#e7298a"
PROJECT_COLOURS = {"planned": "#4292c6", "under_way": "#fd8d3c", "done": "#31a354"}


def e(value) -> str:
    """Escaped text of a value from user data; blank for None / NaN."""
    if _missing(value):
        return ""
    return html.escape(str(value), quote=True)


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def display_name(row) -> str:
    """A unit's full name ("Xã Sín Chéng"), else its name; raw text, escape before use."""
    full = row.get("full_name")
    return full if isinstance(full, str) and full.strip() else str(row.get("name"))


def fmt_num(value, decimals: int = 0, lang: str = "vi") -> str:
    """A number as the language writes it: 1.234,5 (vi), 1,234.5 (en); blank for None/NaN."""
    if _missing(value):
        return ""
    text = f"{float(value):,.{decimals}f}"
    return text.translate(str.maketrans(",.", ".,")) if lang == "vi" else text


def fmt_date(value, lang: str = "vi") -> str:
    """'2024-12-17' as the language writes it: 17/12/2024 (vi) or unchanged (en); escaped."""
    if _missing(value) or not str(value).strip():
        return ""
    try:
        day = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return e(value)
    return day.strftime("%d/%m/%Y") if lang == "vi" else day.isoformat()


def safe_json(value) -> str:
    """JSON to embed in a <script>: UTF-8 kept, but <, >, & and line separators escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                       ("\u2029", "\\u2029")):
        text = text.replace(char, code)
    return text


def _tr(key: str, lang: str) -> str:
    return t(f"commune_page.{key}", lang)


def _yes_no(value, lang: str) -> str:
    if _missing(value):
        return _tr("unknown", lang)
    return _tr("yes", lang) if bool(value) else _tr("no", lang)


@dataclass
class CommuneMap:
    """The folium map, the features drawn per table and what the legend counted."""

    fmap: folium.Map
    infra: dict[str, gpd.GeoDataFrame]
    counts: dict[str, int] = field(default_factory=dict)


def infrastructure_near(store: Store, geom, code: str) -> dict[str, gpd.GeoDataFrame]:
    """Features of every infrastructure table inside the commune or within ``NEAR_DEG`` of it.

    Lines are clipped to the commune's box widened by ``NEAR_DEG`` (a national road does
    not drag the whole province into the page). Features whose ``commune_code`` is the
    commune are kept wherever they lie.
    """
    minx, miny, maxx, maxy = geom.bounds
    box = (minx - NEAR_DEG, miny - NEAR_DEG, maxx + NEAR_DEG, maxy + NEAR_DEG)
    near = shapely.buffer(geom, NEAR_DEG, quad_segs=4)
    shapely.prepare(near)
    out = {}
    for table in INFRA_TABLES:
        gdf = store.read_features(table, bbox=box)
        if len(gdf):
            keep = np.asarray(shapely.intersects(near, gdf.geometry.values))
            keep |= gdf["commune_code"].eq(code).fillna(False).to_numpy(dtype=bool)
            gdf = gdf[keep]
            lines = gdf.geom_type.isin(["LineString", "MultiLineString"]).to_numpy()
            if lines.any():
                geoms = np.asarray(gdf.geometry.values, dtype=object)
                geoms[lines] = shapely.clip_by_rect(geoms[lines], *box)
                gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
                gdf = gdf[~gdf.geometry.is_empty]
        out[table] = gdf.reset_index(drop=True)
    return out


# --- layers ---------------------------------------------------------------------------


class _Labels:
    """Popup row labels, written once per page (``NTM_LABELS``) and referred to by index."""

    def __init__(self, lang: str):
        self.lang = lang
        self.keys: list[str] = []

    def __call__(self, key: str) -> int:
        if key not in self.keys:
            self.keys.append(key)
        return self.keys.index(key)

    def texts(self) -> list[str]:
        return [html.escape(_tr(k, self.lang)) for k in self.keys]


def _props(title: str, rows: list[tuple[str, str]], style: dict, labels: _Labels, *, label: str | None = None) -> dict:
    """Feature properties: ``t`` tooltip/title, ``lb`` permanent label, ``r`` popup rows
    (label index, escaped value; empty values left out), ``s`` Leaflet style."""
    out = {"t": title, "s": style}
    rows = [[labels(k), v] for k, v in rows if v not in ("", None)]
    if rows:
        out["r"] = rows
    if label:
        out["lb"] = label
    return out


def _feature_collection(gdf: gpd.GeoDataFrame, props: list[dict], tolerance: float) -> dict:
    """A FeatureCollection, simplified below ``tolerance`` degrees and rounded to 6 decimals."""
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    geoms = shapely.simplify(geoms, tolerance, preserve_topology=True)
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, 6))
    feats = [{"type": "Feature", "geometry": shapely.geometry.mapping(g), "properties": p}
             for g, p in zip(geoms, props) if g is not None and not shapely.is_empty(g)]
    return {"type": "FeatureCollection", "features": feats}


class _GeoLayer(Layer):
    """A GeoJSON overlay styled from each feature's ``s`` and bound by ``ntmBind``."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data }}, {
            style: function (f) { return f.properties.s; },
            {%- if this.points %}
            pointToLayer: function (f, latlng) { return L.circleMarker(latlng, f.properties.s); },
            {%- endif %}
            onEachFeature: ntmBind
        });
        {% endmacro %}"""
    )

    def __init__(self, data: dict, name: str, *, show: bool = True, points: bool = False):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "NtmGeoLayer"
        self.data = safe_json(data)
        self.points = points
        self.n_features = len(data["features"])


class _Setup(MacroElement):
    """``ntmBind`` (tooltips, lazily built popups) and the popup labels, once per page."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        var NTM_LABELS = {{ this.labels_json() }};
        function ntmBind(f, layer) {
            var p = f.properties;
            if (p.lb) { layer.bindTooltip(p.lb, {permanent: true, direction: 'center', className: 'ntm-label'}); }
            else if (p.t) { layer.bindTooltip(p.t, {sticky: true}); }
            if (p.r) {
                layer.bindPopup(function () {
                    var h = '<div class="ntm-pop"><b>' + (p.t || '') + '</b><table>';
                    for (var i = 0; i < p.r.length; i++) {
                        h += '<tr><th>' + NTM_LABELS[p.r[i][0]] + '</th><td>' + p.r[i][1] + '</td></tr>';
                    }
                    return h + '</table></div>';
                }, {maxWidth: 380});
            }
        }
        {% endmacro %}"""
    )

    def __init__(self, labels: _Labels):
        super().__init__()
        self._name = "NtmSetup"
        self.labels = labels

    def labels_json(self) -> str:
        return safe_json(self.labels.texts())


def _village_props(villages: gpd.GeoDataFrame, labels: _Labels) -> list[dict]:
    lang = labels.lang
    types = vocab_labels("unit_types", lang)
    out = []
    for row in villages.to_dict("records"):
        level = row.get("level") if isinstance(row.get("level"), str) else "not_recognised"
        level_text = t(f"classes.{level if level in VILLAGE_COLOURS else 'dat_chuan'}", lang)
        if not _missing(row.get("recognised_year")):
            level_text += f" ({int(row['recognised_year'])})"
        rows = [("code", e(row["code"])),
                ("unit_type", e(types.get(row.get("unit_type"), row.get("unit_type")))),
                ("recognition", e(level_text)),
                ("decision", e(row.get("decision_number"))),
                ("valid_until", fmt_date(row.get("valid_until"), lang)),
                ("households", fmt_num(row.get("households"), 0, lang)),
                ("population", fmt_num(row.get("population"), 0, lang)),
                ("poor_households", fmt_num(row.get("poor_households"), 0, lang)),
                ("extremely_difficult", _tr("yes", lang) if row.get("extremely_difficult") else "")]
        style = {"color": "#555555", "weight": 1, "fillColor": VILLAGE_COLOURS.get(level, VILLAGE_COLOURS["dat_chuan"]),
                 "fillOpacity": 0.75}
        out.append(_props(e(display_name(row)), rows, style, labels, label=e(row["name"])))
    return out


def _hardened(row: dict, surfaces: dict) -> bool | None:
    value = row.get("hardened")
    if not _missing(value):
        return bool(value)
    surface = row.get("surface")
    return surfaces.get(surface, {}).get("hardened") if isinstance(surface, str) else None


def _road_props(roads: gpd.GeoDataFrame, labels: _Labels) -> list[dict]:
    lang = labels.lang
    classes, surface_labels = vocab_labels("road_classes", lang), vocab_labels("road_surfaces", lang)
    surfaces = admin_units.vocabulary()["road_surfaces"]
    out = []
    for row in roads.to_dict("records"):
        cls, surface = row.get("road_class"), row.get("surface")
        colour, weight = ROAD_STYLE.get(cls, ("#757575", 1.5))
        hard = _hardened(row, surfaces)
        hard_text = _tr("hardened", lang) if hard else _tr("not_hardened", lang) if hard is False else _tr("unknown", lang)
        rows = [("road_class", e(classes.get(cls, cls))),
                ("surface", e(surface_labels.get(surface, surface))),
                ("hardened", hard_text),
                ("width_m", fmt_num(row.get("width_m"), 1, lang))]
        style = {"color": colour, "weight": weight, "opacity": 0.9}
        if ROAD_DASH[hard]:
            style["dashArray"] = ROAD_DASH[hard]
        out.append(_props(e(row.get("name") or classes.get(cls, cls)), rows, style, labels))
    return out


_POINT_VOCAB = {"schools": ("school_level", "school_levels"), "markets": ("market_class", "market_classes"),
                "culture_houses": ("scope", "culture_house_scopes")}


def _point_props(table: str, gdf: gpd.GeoDataFrame, labels: _Labels) -> list[dict]:
    lang = labels.lang
    colour, kind = POINT_COLOURS[table], _tr(f"layers.{table}", lang)
    column, vocab = _POINT_VOCAB.get(table, (None, None))
    names = vocab_labels(vocab, lang) if vocab else {}
    out = []
    for row in gdf.to_dict("records"):
        rows = [("kind", e(kind))]
        if column:
            value = row.get(column)
            rows.append((f"field.{column}", e(names.get(str(value), value)) if not _missing(value) else ""))
        meets = None if _missing(row.get("meets_standard")) else bool(row.get("meets_standard"))
        if "meets_standard" in row:
            rows.append(("meets_standard", _yes_no(meets, lang)))
        if table == "schools":
            rows += [("satellite", _tr("yes", lang) if row.get("satellite") else ""),
                     ("pupils", fmt_num(row.get("pupils"), 0, lang))]
        if table == "transformers":
            rows += [("capacity_kva", fmt_num(row.get("capacity_kva"), 0, lang)),
                     ("voltage_kv", fmt_num(row.get("voltage_kv"), 1, lang))]
        hollow = meets is False and table != "transformers"
        style = {"color": colour, "weight": 2, "fillColor": "#ffffff" if hollow else colour,
                 "fillOpacity": 0.45 if meets is None and table != "transformers" else 0.9,
                 "radius": 4 if table == "transformers" else 6}
        out.append(_props(e(row.get("name") or kind), rows, style, labels))
    return out


def _power_props(gdf: gpd.GeoDataFrame, labels: _Labels) -> list[dict]:
    lang = labels.lang
    out = []
    for row in gdf.to_dict("records"):
        kv = row.get("voltage_kv")
        weight = 3.0 if kv and kv >= 110 else 2.0 if kv and kv >= 22 else 1.2
        title = e(row.get("name") or _tr("layers.power_lines", lang))
        out.append(_props(title, [("voltage_kv", fmt_num(kv, 1, lang))],
                          {"color": POWER_COLOUR, "weight": weight, "opacity": 0.85}, labels))
    return out


def _criteria_text(row: dict, lang: str) -> str:
    text, set_id = row.get("criteria"), row.get("set_id")
    if _missing(text) or not str(text).strip():
        return ""
    try:
        cset = criteria.get_set(set_id) if isinstance(set_id, str) else None
    except ValueError:
        cset = None
    names = []
    for part in (p.strip() for p in str(text).split(",")):
        if cset is not None and part.isdigit() and int(part) in cset.numbers:
            names.append(f"{part}. {cset.criterion(int(part)).label(lang)}")
        elif part:
            names.append(part)
    return "; ".join(names)


def _project_props(gdf: gpd.GeoDataFrame, labels: _Labels) -> list[dict]:
    lang = labels.lang
    states, sources = vocab_labels("project_states", lang), vocab_labels("funding_sources", lang)
    out = []
    for row in gdf.to_dict("records"):
        state, source = row.get("state"), row.get("funding_source")
        colour = PROJECT_COLOURS.get(state, "#737373")
        rows = [("state", e(states.get(state, state))),
                ("funding_source", e(sources.get(source, source))),
                ("cost_mvnd", fmt_num(row.get("cost_mvnd"), 1, lang)),
                ("year", e(row.get("year"))),
                ("criteria", e(_criteria_text(row, lang)))]
        style = {"color": colour, "weight": 4, "opacity": 0.95, "fillColor": colour, "fillOpacity": 0.8, "radius": 7}
        out.append(_props(e(row.get("name")), rows, style, labels))
    return out


# --- legend -----------------------------------------------------------------------------


class _Legend(MacroElement):
    """A Leaflet control holding the legend HTML (built server-side, values escaped)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: 'bottomleft'});
            legend.onAdd = function () {
                var div = L.DomUtil.create('div', 'ntm-legend');
                div.innerHTML = {{ this.html_json }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}"""
    )

    def __init__(self, html_: str):
        super().__init__()
        self._name = "NtmLegend"
        self.html_json = safe_json(html_)


def _swatch(colour: str, *, line: str | None = None, round_: bool = False, hollow: bool = False) -> str:
    if line:
        return f'<span class="sw line" style="border-top:3px {line} {colour}"></span>'
    fill = "#fff" if hollow else colour
    return (f'<span class="sw" style="background:{fill};border:2px solid {colour if colour != "transparent" else "#000"};'
            f'border-radius:{"50%" if round_ else "2px"}"></span>')


def _legend_html(counts: dict[str, int], village_counts: dict[str, int], road_classes: list[str], lang: str) -> str:
    rows = [f"<div>{_swatch('transparent')}{_tr('layers.commune', lang)}</div>"]
    if sum(village_counts.values()):
        rows.append(f"<div class='lg-h'>{_tr('layers.villages', lang)}</div>")
        for key, colour in VILLAGE_COLOURS.items():
            if key in village_counts or key in ("not_recognised", "dat_chuan"):
                rows.append(f"<div>{_swatch(colour)}{t(f'classes.{key}', lang)} ({village_counts.get(key, 0)})</div>")
    if counts.get("roads"):
        names = vocab_labels("road_classes", lang)
        rows.append(f"<div class='lg-h'>{_tr('layers.roads', lang)} ({counts['roads']})</div>")
        rows += [f"<div>{_swatch(ROAD_STYLE[c][0], line='solid')}{e(names.get(c, c))}</div>" for c in road_classes]
        rows.append(f"<div>{_swatch('#333', line='solid')}{_tr('hardened', lang)} &nbsp; "
                    f"{_swatch('#333', line='dashed')}{_tr('not_hardened', lang)}</div>")
    points = [tb for tb in POINT_TABLES if counts.get(tb)]
    if points:
        rows.append(f"<div class='lg-h'>{_tr('facilities', lang)}</div>")
        rows += [f"<div>{_swatch(POINT_COLOURS[tb], round_=True)}{_tr(f'layers.{tb}', lang)} ({counts[tb]})</div>"
                 for tb in points]
        rows.append(f"<div>{_swatch('#777', round_=True, hollow=True)}{_tr('below_standard', lang)}</div>")
    if counts.get("power_lines"):
        rows.append(f"<div>{_swatch(POWER_COLOUR, line='solid')}{_tr('layers.power_lines', lang)} "
                    f"({counts['power_lines']})</div>")
    if counts.get("projects"):
        states = vocab_labels("project_states", lang)
        rows.append(f"<div class='lg-h'>{_tr('layers.projects', lang)} ({counts['projects']})</div>")
        rows += [f"<div>{_swatch(c, round_=True)}{e(states[s])}</div>" for s, c in PROJECT_COLOURS.items()]
    return f"<details open><summary>{_tr('legend', lang)}</summary>{''.join(rows)}</details>"


# --- the map --------------------------------------------------------------------------


def build_commune_map(
    store: Store,
    commune: pd.Series,
    *,
    villages: gpd.GeoDataFrame,
    neighbours: gpd.GeoDataFrame,
    lang: str = "vi",
    offline_js: list | None = None,
    offline_css: list | None = None,
    tiles: str | None = None,
    tiles_attribution: str = "",
    link_query: str = "",
) -> CommuneMap:
    """The commune map: boundary, villages by recognition, infrastructure near it, legend.

    ``villages`` carries ``level``, ``recognised_year``, ``decision_number`` and
    ``valid_until`` (the page joins them). Secondary layers (power lines,
    transformers) start hidden in the layer control. No basemap unless ``tiles``.
    """
    geom = commune.geometry
    minx, miny, maxx, maxy = geom.bounds
    fmap = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None, control_scale=True,
                      height="600px", zoom_start=12, zoom_snap=0.25)
    if offline_js is not None:
        fmap.default_js = offline_js
        fmap.default_css = offline_css or []
    if tiles:
        folium.TileLayer(tiles=tiles, attr=tiles_attribution or " ", name=_tr("basemap", lang)).add_to(fmap)
    labels = _Labels(lang)
    _Setup(labels).add_to(fmap)

    infra = infrastructure_near(store, geom, str(commune["code"]))
    counts = {table: len(gdf) for table, gdf in infra.items()}
    if len(neighbours):
        props = []
        for row in neighbours.to_dict("records"):
            link = f'<a href="/communes/{e(row["code"])}{e(link_query)}">{_tr("open_page", lang)}</a>'
            props.append(_props(e(display_name(row)), [("code", e(row["code"])), ("page", link)],
                                {"color": "#9e9e9e", "weight": 1, "fillColor": "#fafafa", "fillOpacity": 0.3}, labels))
        _GeoLayer(_feature_collection(neighbours, props, POLYGON_TOLERANCE), _tr("layers.neighbours", lang)).add_to(fmap)
    village_counts: dict[str, int] = {}
    if len(villages):
        village_counts = villages["level"].where(villages["level"].notna(), "not_recognised").value_counts().to_dict()
        _GeoLayer(_feature_collection(villages, _village_props(villages, labels), POLYGON_TOLERANCE),
                  _tr("layers.villages", lang)).add_to(fmap)
    road_classes: list[str] = []
    if counts["roads"]:
        order = list(ROAD_STYLE)
        roads = infra["roads"]
        rank = roads["road_class"].map(lambda c: -order.index(c) if c in order else 1)
        roads = roads.iloc[np.argsort(rank.to_numpy(), kind="stable")]  # big roads drawn last, on top
        road_classes = [c for c in order if c in set(roads["road_class"])]
        _GeoLayer(_feature_collection(roads, _road_props(roads, labels), LINE_TOLERANCE),
                  _tr("layers.roads", lang)).add_to(fmap)
    if counts["power_lines"]:
        _GeoLayer(_feature_collection(infra["power_lines"], _power_props(infra["power_lines"], labels), LINE_TOLERANCE),
                  _tr("layers.power_lines", lang), show=False).add_to(fmap)
    for table in POINT_TABLES:
        if counts[table]:
            _GeoLayer(_feature_collection(infra[table], _point_props(table, infra[table], labels), 0.0),
                      _tr(f"layers.{table}", lang), show=table != "transformers", points=True).add_to(fmap)
    if counts["projects"]:
        _GeoLayer(_feature_collection(infra["projects"], _project_props(infra["projects"], labels), LINE_TOLERANCE),
                  _tr("layers.projects", lang), points=True).add_to(fmap)
    outline = gpd.GeoDataFrame({"code": [commune["code"]]}, geometry=[geom], crs="EPSG:4326")
    title = e(display_name(commune))
    _GeoLayer(_feature_collection(outline, [_props(title, [], {"color": "#000000", "weight": 3, "fill": False}, labels)],
                                  POLYGON_TOLERANCE), _tr("layers.commune", lang)).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    _Legend(_legend_html(counts, village_counts, road_classes, lang)).add_to(fmap)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]], padding=(24, 24))
    counts["villages"] = len(villages)
    return CommuneMap(fmap, infra, counts)


def road_km(roads: gpd.GeoDataFrame, code: str) -> tuple[float, float]:
    """(km of road, km hardened) of the roads assigned to the commune, in its TM-3 zone."""
    mine = roads[roads["commune_code"].eq(code).fillna(False).to_numpy(dtype=bool)]
    if mine.empty:
        return 0.0, 0.0
    x0, _, x1, _ = mine.total_bounds
    lengths = mine.to_crs(epsg=tm3_zone_for_lon((x0 + x1) / 2)).length.to_numpy() / 1000.0
    surfaces = admin_units.vocabulary()["road_surfaces"]
    hard = np.array([bool(_hardened(r, surfaces)) for r in mine.to_dict("records")], dtype=bool)
    return float(lengths.sum()), float(lengths[hard].sum())

"""The overview web map page (folium): communes coloured by mode, readable at every zoom.

The page is a folium map carrying compact data (``maps.web_data``) that one static
script (``maps/static/overview.js``) draws: communes from TopoJSON coloured by class,
district borders and district (or province) aggregates derived from it, overlays
fetched when switched on, a diacritics-insensitive search, a legend with counts per
class, scale and fullscreen controls, and a selector form that reloads the page.

Names from user data reach the page only inside the JSON data block (with ``<``, ``>``
and ``&`` escaped as ``\\u003c`` …) and as ``html.escape``-d text; the script escapes
every name it puts in a tooltip or popup.
"""

from __future__ import annotations

import functools
import hashlib
import html
from pathlib import Path
from urllib.parse import urlencode

import folium
import orjson
import rcssmin
import rjsmin
from folium.plugins import Fullscreen
from folium.template import Template

from layers import admin_units, criteria, indicators_store
from layers.store import Store
from . import assets, overlays, travel_overlay, web_data
from .i18n import t
from .modes import ALL_MODES, MODES, NO_DATA_COLOUR, Classified, mode_label
from .web_data import MapView

__all__ = ["overview_html", "static_file", "static_minified", "STATIC_FILES", "json_for_html", "MAP_PATH"]

MAP_PATH = "/map"
STATIC_DIR = Path(__file__).with_name("static")
STATIC_FILES = ("overview.js", "overview.css")
COMMUNE_PAGE = "/communes/"
_NATIONAL_COMMUNE_ZOOM = 9  # communes replace provinces from this zoom at national scope
_NATIONAL_OVERLAY_ZOOM = 11
_TOPOJSON_CDN = "https://cdn.jsdelivr.net/npm/topojson-client@3.1.0/dist/topojson-client.min.js"


@functools.cache
def _static_version(name: str) -> str:
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def static_file(name: str) -> Path:
    """Path of one of the page's own static files; a LookupError for any other name."""
    if name not in STATIC_FILES:
        raise LookupError(f"no static file {name!r}; expected one of {STATIC_FILES}")
    return STATIC_DIR / name


@functools.cache
def static_minified(name: str) -> bytes:
    """One of the page's own files, minified once (rjsmin / rcssmin): a third fewer bytes to download."""
    text = static_file(name).read_text(encoding="utf-8")
    return (rjsmin.jsmin(text) if name.endswith(".js") else rcssmin.cssmin(text)).encode("utf-8")


def json_for_html(value) -> str:
    """JSON safe inside a <script> element: no '<', '>' or '&' can close it or open a comment."""
    text = orjson.dumps(value).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _resources(offline: bool, static_prefix: str) -> tuple[list, list, list, list]:
    """(map js, map css, fullscreen js, fullscreen css): only what this page uses."""
    if offline:
        js, css = assets.offline_resources()
        js, css = dict(js), dict(css)
        map_js = [("leaflet", js["leaflet"]), ("topojson-client", js["topojson-client"])]
        map_css = [("leaflet_css", css["leaflet_css"])]
        fs_js = [("Control.Fullscreen.js", js["Control.Fullscreen.js"])]
        fs_css = [("Control.FullScreen.css", css["Control.FullScreen.css"])]
    else:
        map_js = [folium.Map.default_js[0], ("topojson-client", _TOPOJSON_CDN)]
        map_css = [folium.Map.default_css[0]]
        fs_js, fs_css = list(Fullscreen.default_js), list(Fullscreen.default_css)
    own = [(name, f"{static_prefix}/{name}?v={_static_version(name)}") for name in STATIC_FILES]
    return map_js + [own[0]], map_css + [own[1]], fs_js, fs_css


class _Overview(folium.MacroElement):
    """Hands the map and the page data to ``ntmOverview`` once Leaflet has built the map."""

    _template = Template("""
{% macro script(this, kwargs) %}
    ntmOverview({{ this._parent.get_name() }},
                JSON.parse(document.getElementById("ntm-data").textContent));
{% endmacro %}
""")


def overview_html(
    store: Store,
    view: MapView,
    *,
    offline: bool = True,
    tiles: str | None = None,
    tiles_attribution: str = "",
    cache: web_data.Cache | None = None,
    base_path: str = MAP_PATH,
) -> str:
    """The overview page as HTML for one checked view (see ``web_data.resolve_view``).

    Parameters
    ----------
    offline
        Load Leaflet and plugins from our own ``/static/vendor`` (never from CDNs).
    tiles
        Tile URL template of a basemap; None draws boundaries on a plain background.
    cache
        Anything with ``get(key, build)`` (``api.cache.RevisionCache``) to share
        simplified geometry between pages.
    base_path
        Where the map routes are mounted (URLs of data, overlays, search, static files).
    """
    lang = view.lang
    cset = criteria.get_set(view.set_id)
    cache = cache or web_data.MemoCache()
    cls = web_data.classified(store, view, view.scope_code, cache)
    if view.inline:
        payload = web_data.communes_payload(store, view, view.scope_code, cache=cache)
        bounds, agg_rows = payload["bounds"], [d[2:] for d in payload["districts"]]
    else:
        payload = web_data.provinces_payload(store, view, cache=cache)
        bounds, agg_rows = payload["bounds"], payload["agg"]
    bounds = bounds or [102.1, 8.4, 109.5, 23.4]  # an empty store: Vietnam
    map_js, map_css, fs_js, fs_css = _resources(offline, f"{base_path}/static")

    fmap = folium.Map(location=[(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2], zoom_start=8,
                      tiles=None, prefer_canvas=True, control_scale=True, zoom_snap=0.5)
    fmap.default_js, fmap.default_css = map_js, map_css
    fullscreen = Fullscreen(position="topleft", title=t("web.fullscreen", lang),
                            title_cancel=t("web.exit_fullscreen", lang), force_separate_button=True)
    fullscreen.default_js, fullscreen.default_css = fs_js, fs_css
    fullscreen.add_to(fmap)
    _Overview().add_to(fmap)

    config = _config(view, cls, cset, payload, bounds, base_path, tiles, tiles_attribution)
    config["travel"] = _travel(store, view, base_path)
    root = fmap.get_root()
    title = f"{cls.title} — {_scope_name(store, view)} — {view.year}"
    root.header.add_child(folium.Element(f"<title>{html.escape(title)} · {html.escape(t('web.title', lang))}</title>"
                                         '<link rel="icon" href="data:,">'))  # no favicon request (no 404)
    root.html.add_child(folium.Element(_panel(store, view, cls, cset, base_path)))
    root.html.add_child(folium.Element(_legend(view, cls, agg_rows)))
    root.html.add_child(folium.Element(
        f'<script type="application/json" id="ntm-data">{json_for_html(config)}</script>'))
    page = root.render()
    return page.replace("<html>", f'<html lang="{lang}">', 1)


def _config(view: MapView, cls: Classified, cset, payload: dict, bounds, base_path: str, tiles, attribution) -> dict:
    lang = view.lang
    q = view.query()
    data_q = urlencode({k: v for k, v in q.items() if k not in ("province", "district")})
    scope_q = urlencode({k: v for k, v in q.items() if k in ("province", "district")} | {"lang": lang})
    labels = overlays.vocabulary_labels(lang)
    words = ("district", "criteria_met", "level", "recognised_in", "decision", "open_commune", "communes_standard",
             "average_criteria", "hardened", "not_hardened", "state", "funding_source", "cost", "year",
             "district_boundaries")
    strings = {w: t(f"words.{w}", lang) for w in words}
    strings |= {w: t(f"web.{w}", lang) for w in (
        "criterion", "recognition", "not_recognised", "at_risk", "valid_until", "loading", "load_failed", "zoom_in",
        "zoom_in_layers", "meets_standard", "below_standard", "voltage", "not_found")}
    strings["no_data"] = t("no_data", lang)
    good = _good(view.mode, lang)
    return {
        "lang": lang,
        "inline": view.inline,
        "bounds": bounds,
        "communeZoom": _NATIONAL_COMMUNE_ZOOM,
        "overlayZoom": _NATIONAL_OVERLAY_ZOOM,
        "classes": [[c.key, c.colour, c.label] for c in cls.legend],
        "noDataColour": NO_DATA_COLOUR,
        "share": [list(c) for c in web_data.share_classes()],
        "shareTitle": t("web.share_title", lang).format(good=good),
        "levels": [labels["recognition_levels"][k] for k in web_data.LEVEL_KEYS],
        "criteria": [[c.number, c.name_vi, c.name_en if lang == "en" else ""] for c in cset.criteria],
        "setTitle": cset.title_en if lang == "en" else cset.title_vi,
        "t": strings,
        "vocab": labels,
        "overlays": [[name, t(o.label_key, lang)] for name, o in overlays.OVERLAYS.items()],
        "valueLabel": cls.value_label,
        "urls": {
            "communes": f"{base_path}/communes.json?{data_q}",
            "overlay": f"{base_path}/overlays/__name__.geojson?{scope_q}&year={view.year}",
            "search": f"{base_path}/search?{scope_q}",
            "commune": COMMUNE_PAGE,
            "communeQuery": "?" + urlencode({"year": view.year, "set": view.set_id, "lang": lang}),
        },
        "tiles": {"url": tiles, "attribution": attribution or "", "name": t("web.tiles", lang)} if tiles else None,
        "communes": payload if view.inline else None,
        "provinces": None if view.inline else payload,
    }


def _good(mode: str, lang: str) -> str:
    """What an aggregated unit's share counts ("đủ tiêu chí", "điểm nóng" …)."""
    return t(f"web.good.{mode}", lang) if mode in MODES else t(f"map_analysis.good.{mode}", lang)


def _travel(store: Store, view: MapView, base_path: str) -> dict | None:
    """The travel-time image overlays of the view's province (off by default), with their legend."""
    layers = travel_overlay.travel_layers(store, view.province)
    if not layers:
        return None
    lang = view.lang
    items = []
    for layer in layers:
        facility = t(f"map_analysis.facilities.{layer.facility}", lang)
        items.append({"name": t("map_analysis.travel_time", lang).format(facility=facility),
                      "url": f"{base_path}/travel-time.png?{urlencode({'name': layer.name})}",
                      "bounds": travel_overlay.travel_bounds(store, layer)})
    return {"layers": items, "title": t("map_analysis.travel_time_legend", lang),
            "legend": travel_overlay.travel_legend(lang)}


def _scope_name(store: Store, view: MapView) -> str:
    if view.scope_code is None:
        return t("web.whole_country", view.lang)
    level = view.scope_level
    units = admin_units.units_table(store, level, on=view.on)
    hit = units[units["code"] == view.scope_code]
    return str(hit["full_name"].iloc[0] or hit["name"].iloc[0]) if len(hit) else view.scope_code


def _options(pairs, selected) -> str:
    return "".join(
        f'<option value="{html.escape(str(v))}"{" selected" if str(v) == str(selected) else ""}>'
        f"{html.escape(str(label))}</option>" for v, label in pairs)


def _panel(store: Store, view: MapView, cls: Classified, cset, base_path: str) -> str:
    lang = view.lang
    years = store.read_table("status_records", "id IN (SELECT min(id) FROM status_records GROUP BY year)",
                             columns=["year"])["year"]  # one row per year, not every record
    year_list = sorted({int(y) for y in years} | {view.year})
    sets = criteria.available_sets()
    rows = [
        ("year", t("words.year", lang), _options([(y, y) for y in year_list], view.year)),
        ("set", t("words.criteria_set", lang),
         _options([(s.id, s.title_en if lang == "en" else s.title_vi) for s in sets.values()], view.set_id)),
    ]
    if len(view.provinces) > 1:
        rows.append(("province", t("words.province", lang),
                     _options([("", t("web.all_provinces", lang)), *view.provinces], view.province or "")))
    if view.province or len(view.provinces) == 1:
        province = view.province or view.provinces[0][0]
        districts = admin_units.units_in_scope(store, province, "district", on=view.on).sort_values("name")
        rows.append(("district", t("words.district", lang),
                     _options([("", t("web.all_districts", lang)), *zip(districts["code"], districts["name"])],
                              view.district or "")))
    names = indicators_store.indicator_names(store, view.year)
    modes = [m for m in ALL_MODES if m != "indicator" or names]  # offered once an indicator is stored
    rows.append(("mode", t("words.mode", lang), _options([(m, mode_label(m, lang)) for m in modes], view.mode)))
    rows.append(("criterion", t("web.criterion", lang),
                 _options([(c.number, f"{c.number}. {c.label(lang)}") for c in cset.criteria],
                          view.criterion or "")))
    first = [("", t("modes.count", lang) if view.mode == "hotspot" else t("map_analysis.no_indicators", lang))]
    rows.append(("indicator", t("map_analysis.indicator", lang),
                 _options([*(first if view.mode == "hotspot" or not names else []), *zip(names, names)],
                          view.indicator or "")))
    fields = "".join(
        f'<label for="ntm-{name}" class="ntm-{name}">{html.escape(label)}</label>'
        f'<select id="ntm-{name}" name="{name}" class="ntm-{name}">{options}</select>'
        for name, label, options in rows)
    other = "en" if lang == "vi" else "vi"
    switch = f"{base_path}?{urlencode(view.query(lang=other))}"
    meta = store.meta()
    banner = (f'<div class="ntm-banner">{html.escape(meta.get("label", ""))}</div>'
              if meta.get("label") else "")
    subtitle = " · ".join([_scope_name(store, view), str(view.year), cset.title_en if lang == "en" else cset.title_vi])
    return (
        f'<div id="ntm-panel" class="ntm-panel ntm-mode-{view.mode}">{banner}'
        f"<h1>{html.escape(cls.title)}</h1><div class=\"ntm-sub\">{html.escape(subtitle)}</div>"
        f'<form id="ntm-form" method="get" action="{html.escape(base_path)}">{fields}'
        f'<input type="hidden" name="lang" value="{lang}">'
        f'<button type="submit">{html.escape(t("web.show", lang))}</button></form>'
        f'<div class="ntm-search"><input id="ntm-search" type="search" autocomplete="off" '
        f'placeholder="{html.escape(t("web.search_placeholder", lang))}" aria-label="{html.escape(t("words.search", lang))}">'
        f'<ul id="ntm-results"></ul></div>'
        f'<div id="ntm-hint"></div><div id="ntm-status"></div>'
        f'<div class="ntm-links"><a href="{html.escape(switch)}" hreflang="{other}">{html.escape(t("web.language", lang))}</a>'
        f"</div></div>"
    )


def _legend(view: MapView, cls: Classified, agg_rows: list) -> str:
    lang = view.lang

    def row(colour, label, count):
        return (f'<div class="ntm-row"><span class="ntm-swatch" style="background:{html.escape(colour)}"></span>'
                f'<span>{html.escape(label)}</span><span class="ntm-count">{count}</span></div>')

    communes = "".join(row(c.colour, c.label, c.count) for c in cls.legend)
    shares = web_data.share_classes()
    counts = [0] * (len(shares) + 1)
    for a in agg_rows:
        n_good, n_classified = a[3], a[4]
        if not n_classified:
            counts[-1] += 1
            continue
        share = n_good / n_classified
        counts[next(k for k, (lo, hi, _) in enumerate(shares) if lo <= share < hi)] += 1
    labels = ["< 25%", "25–50%", "50–75%", "≥ 75%"]
    agg = "".join(row(c, label, n) for (_, _, c), label, n in zip(shares, labels, counts))
    agg += row(NO_DATA_COLOUR, t("no_data", lang), counts[-1])
    level = t(f"words.{view.aggregate}", lang)
    agg_title = t("web.legend_aggregate", lang).format(level=level, good=_good(view.mode, lang))
    note = f'<div class="ntm-note">{html.escape(cls.note)}</div>' if cls.note else ""
    return (
        f'<div id="ntm-legend" class="ntm-legend"><h2>{html.escape(cls.title)} ({view.year})</h2>'
        f'<div class="ntm-sub">{html.escape(t("web.legend_communes", lang))}</div>{communes}{note}'
        f'<div class="ntm-travel"></div><div class="ntm-overlay-legends"></div>'
        f'<div class="ntm-aggregate"><h2>{html.escape(agg_title)}</h2>{agg}</div></div>'
    )

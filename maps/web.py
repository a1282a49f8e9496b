"""The overview web map: communes coloured by the number of criteria met (folium).

This is the first map of the product, drawn from the real store: one layer of commune
boundaries joined with the latest year's criteria summary, district borders on top, a
legend, and tooltips. It loads no script from the internet (see ``maps.assets``).
"""

from __future__ import annotations

import html
import json

import folium
import shapely

from layers import admin_units, criteria, status
from layers.store import Store

__all__ = ["overview_html", "latest_status_year", "class_breaks"]

COLOURS = ("#d7301f", "#fc8d59", "#fdd49e", "#1a9850")
NO_DATA = "#bdbdbd"


def latest_status_year(store: Store, set_id: str | None = None) -> tuple[int, str] | None:
    """(year, set id) of the most recent status records, or None when there are none."""
    where = "set_id = ?" if set_id else None
    df = store.read_table("status_records", where, [set_id] if set_id else [], columns=["year", "set_id"],
                          order_by="year DESC, id DESC LIMIT 1")
    if df.empty:
        return None
    return int(df["year"].iloc[0]), str(df["set_id"].iloc[0])


def class_breaks(n_total: int) -> list[tuple[int, int, str, str]]:
    """(low, high, colour, label) classes for a set of n_total criteria.

    For the 19-criteria set: < 10, 10–14, 15–18, 19 (all met); other sets scale alike
    (10 criteria: < 6, 6–7, 8–9, 10).
    """
    top = max(n_total, 1)
    near = max(1, -(-top * 15 // 19))  # 15 of 19
    mid = max(1, -(-top * 10 // 19))  # 10 of 19
    return [
        (0, mid - 1, COLOURS[0], f"< {mid}"),
        (mid, near - 1, COLOURS[1], f"{mid}–{near - 1}"),
        (near, top - 1, COLOURS[2], f"{near}–{top - 1}"),
        (top, top, COLOURS[3], f"{top} (đủ tiêu chí / all met)"),
    ]


def _colour(n_met: int, n_total: int) -> str:
    for low, high, colour, _ in class_breaks(n_total):
        if low <= n_met <= high:
            return colour
    return NO_DATA


def overview_html(
    store: Store,
    *,
    year: int | None = None,
    set_id: str | None = None,
    offline_js: list | None = None,
    offline_css: list | None = None,
    tiles: str | None = None,
    tiles_attribution: str = "",
) -> str:
    """The overview page as HTML: communes of the current vintage by criteria met."""
    latest = latest_status_year(store, set_id)
    if year is None and latest:
        year = latest[0]
    set_id = set_id or (latest[1] if latest else None)
    on = f"{year}-12-31" if year else None
    communes = admin_units.units_table(store, "commune", on=on, geometry=True)
    districts = admin_units.units_table(store, "district", on=on, geometry=True)
    label = store.meta().get("label", "")

    fmap = folium.Map(tiles=None, prefer_canvas=True, control_scale=True, zoom_start=9)
    if offline_js is not None:
        fmap.default_js = offline_js
        fmap.default_css = offline_css or []
    if tiles:
        folium.TileLayer(tiles=tiles, attr=tiles_attribution or " ", name="Nền / Basemap").add_to(fmap)

    counts = {}
    if year and set_id and not communes.empty:
        summary = status.criteria_summary(store, year, set_id)
        counts = {r.unit_code: (int(r.n_met), int(r.n_total), int(r.n_assessed)) for r in summary.itertuples()}
    district_name = dict(zip(districts["code"], districts["name"]))
    classes: dict[str, int] = {}
    features = []
    for row in communes.itertuples():
        n_met, n_total, n_assessed = counts.get(row.code, (0, 0, 0))
        colour = _colour(n_met, n_total) if n_assessed else NO_DATA
        classes[colour] = classes.get(colour, 0) + 1
        geom = shapely.set_precision(row.geometry, 1e-6)  # ~10 cm: enough for a web map
        features.append({
            "type": "Feature",
            "geometry": shapely.geometry.mapping(geom),
            "properties": {
                "name": html.escape(str(row.full_name or row.name)),
                "district": html.escape(str(district_name.get(row.parent_code, ""))),
                "met": f"{n_met}/{n_total}" if n_assessed else "chưa có số liệu / no data",
                "fill": colour,
            },
        })
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=f"Xã theo số tiêu chí đạt / Communes by criteria met ({year or '–'})",
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "color": "#666666", "weight": 0.5,
                                  "fillOpacity": 0.8},
        tooltip=folium.GeoJsonTooltip(["name", "district", "met"],
                                      aliases=["Xã / Commune", "Huyện / District", "Tiêu chí đạt / Criteria met"]),
    ).add_to(fmap)
    if not districts.empty:
        folium.GeoJson(
            json.loads(districts[["name", "geometry"]].to_json(drop_id=True)),
            name="Ranh giới huyện / District boundaries",
            style_function=lambda f: {"fill": False, "color": "#222222", "weight": 1.6},
        ).add_to(fmap)
    if not communes.empty:
        minx, miny, maxx, maxy = communes.total_bounds
        fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    folium.LayerControl(collapsed=True).add_to(fmap)
    n_total = len(criteria.get_set(set_id)) if set_id else 19
    fmap.get_root().html.add_child(folium.Element(_legend(classes, year, set_id, label, n_total)))
    fmap.get_root().header.add_child(folium.Element(
        "<title>NTM Atlas — Bản đồ Nông thôn mới</title><style>body{background:#f4f4f0}</style>"))
    return fmap.get_root().render()


def _legend(classes: dict[str, int], year, set_id, label: str, n_total: int) -> str:
    cset = criteria.get_set(set_id) if set_id else None
    title = (
        f"Số tiêu chí đạt năm {year} / Criteria met in {year}" if year else "Chưa có số liệu tiêu chí / No criteria data"
    )
    rows = "".join(
        f'<div><span style="display:inline-block;width:14px;height:14px;background:{c};margin-right:6px;'
        f'border:1px solid #555"></span>{html.escape(t)} <b>({classes.get(c, 0)})</b></div>'
        for _, _, c, t in class_breaks(n_total)
    )
    rows += (f'<div><span style="display:inline-block;width:14px;height:14px;background:{NO_DATA};'
             f'margin-right:6px;border:1px solid #555"></span>Chưa có số liệu / No data <b>({classes.get(NO_DATA, 0)})</b></div>')
    banner = (f'<div style="color:#b30000;font-weight:bold;margin-bottom:4px">{html.escape(label)}</div>'
              if label else "")
    subtitle = f'<div style="font-size:11px;color:#444">{html.escape(cset.title_vi)}</div>' if cset else ""
    return (
        '<div style="position:fixed;bottom:28px;right:12px;z-index:1000;background:white;padding:8px 10px;'
        'border:1px solid #999;border-radius:4px;font:13px sans-serif;max-width:320px">'
        f"{banner}<div style='font-weight:bold'>{title}</div>{subtitle}{rows}</div>"
    )

"""HTML views of the OGC API documents (``f=html`` or a browser's Accept header).

Each view renders the same document the JSON response carries, so the two never
disagree. Every value from the store is escaped. Labels come from ``maps/i18n``.
"""

from __future__ import annotations

import html

from maps.i18n import t

__all__ = ["landing_html", "conformance_html", "collections_html", "collection_html",
           "queryables_html", "items_html", "item_html"]

_CSS = """body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:72rem;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;
vertical-align:top}th{background:#f3f3f3}nav a{margin-right:1rem}.muted{color:#666}"""


def _e(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else html.escape(str(value))


def _a(href: str, text) -> str:
    return f'<a href="{_e(href)}">{_e(text)}</a>'


def _link(links: list[dict], rel: str, type_: str | None = None) -> str | None:
    for link in links:
        if link.get("rel") == rel and (type_ is None or link.get("type") == type_):
            return link["href"]
    return None


def _page(title: str, body: str, *, lang: str, links: list[dict], root: str, other_lang: str) -> str:
    json_href = _link(links, "alternate", "application/json") or _link(links, "alternate", "application/geo+json")
    nav = [_a(root, t("ogc.landing", lang)), _a(root + "collections?f=html&lang=" + lang, t("ogc.collections_title", lang))]
    if json_href:
        nav.append(_a(json_href, t("ogc.as_json", lang)))
    nav.append(_a(other_lang, t("ogc.language", lang)))
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
            f"<nav>{''.join(nav)}</nav><h1>{_e(title)}</h1>{body}</body></html>")


def landing_html(doc: dict, *, lang: str, root: str, other_lang: str) -> str:
    links = doc["links"]
    items = [(t("ogc.collections_title", lang), _link(links, "data"), True),
             (t("ogc.conformance", lang), _link(links, "conformance"), True),
             (t("ogc.api_definition", lang), _link(links, "service-desc"), False),
             (t("ogc.api_docs", lang), _link(links, "service-doc"), False)]
    pages = [(link["title"], link["href"] + ("?lang=en" if lang == "en" else ""), False)
             for link in links if link.get("rel") == "related"]  # the planners' pages
    body = f"<p>{_e(t('ogc.intro', lang))}</p><ul>" + "".join(
        f"<li>{_a(href + ('?f=html&lang=' + lang if as_html else ''), label)}</li>"
        for label, href, as_html in items + pages if href) + "</ul>"
    return _page(t("ogc.title", lang), body, lang=lang, links=links, root=root, other_lang=other_lang)


def conformance_html(doc: dict, *, lang: str, root: str, other_lang: str) -> str:
    body = "<ul>" + "".join(f"<li>{_a(uri, uri)}</li>" for uri in doc["conformsTo"]) + "</ul>"
    return _page(t("ogc.conformance", lang), body, lang=lang, links=doc.get("links", []), root=root,
                 other_lang=other_lang)


def _collection_rows(coll: dict, lang: str) -> str:
    items = _link(coll["links"], "items", "text/html")
    title = coll.get("title_" + lang) or coll["title"]
    return (f"<tr><td>{_a(_link(coll['links'], 'self', 'text/html') or '', coll['id'])}</td>"
            f"<td>{_e(title)}</td><td>{_a(items, t('ogc.items', lang)) if items else ''}</td></tr>")


def collections_html(doc: dict, *, lang: str, root: str, other_lang: str) -> str:
    body = ("<table><tr><th>id</th><th></th><th></th></tr>"
            + "".join(_collection_rows(c, lang) for c in doc["collections"]) + "</table>")
    return _page(t("ogc.collections_title", lang), body, lang=lang, links=doc["links"], root=root,
                 other_lang=other_lang)


def collection_html(doc: dict, *, lang: str, root: str, other_lang: str) -> str:
    links = doc["links"]
    extent = doc.get("extent", {})
    bbox = extent.get("spatial", {}).get("bbox", [[]])[0]
    interval = extent.get("temporal", {}).get("interval", [[]])[0]
    rows = [("id", _e(doc["id"])),
            (t("ogc.items", lang), _a(_link(links, "items", "text/html") or "", t("ogc.items", lang))),
            (t("ogc.queryables", lang), _a(_link(links, "http://www.opengis.net/def/rel/ogc/1.0/queryables") or "",
                                            t("ogc.queryables", lang))),
            (t("ogc.extent", lang), _e(", ".join(f"{v:.5f}" for v in bbox))),
            (t("ogc.temporal", lang), _e(" / ".join(v or ".." for v in interval)) if interval else ""),
            (t("ogc.storage_crs", lang), _e(doc.get("storageCrs"))),
            (t("ogc.crs_list", lang), "<br>".join(_e(c) for c in doc.get("crs", [])))]
    body = "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"
    title = doc.get("title_" + lang) or doc["title"]
    return _page(title, body, lang=lang, links=links, root=root, other_lang=other_lang)


def queryables_html(doc: dict, *, lang: str, root: str, other_lang: str) -> str:
    body = (f"<table><tr><th>{_e(t('ogc.property', lang))}</th><th>{_e(t('ogc.type', lang))}</th></tr>"
            + "".join(f"<tr><td>{_e(name)}</td><td>{_e(spec.get('type'))} {_e(spec.get('format', ''))}</td></tr>"
                      for name, spec in doc["properties"].items()) + "</table>")
    return _page(doc["title"], body, lang=lang, links=doc.get("links", []), root=root, other_lang=other_lang)


def items_html(title: str, features: list[dict], *, properties: list[str], number_matched: int,
               links: list[dict], item_href, note: str | None, lang: str, root: str, other_lang: str) -> str:
    head = "<tr><th>id</th>" + "".join(f"<th>{_e(p)}</th>" for p in properties) + "</tr>"
    rows = "".join(
        f"<tr><td>{_a(item_href(f['id']), f['id'])}</td>"
        + "".join(f"<td>{_e(f['properties'].get(p))}</td>" for p in properties) + "</tr>"
        for f in features)
    pager = " ".join(_a(href, t(f"ogc.{rel}", lang)) for rel in ("prev", "next")
                     if (href := _link(links, rel, "text/html")))
    summary = t("ogc.matched", lang).format(matched=number_matched, returned=len(features))
    body = (f"<p class='muted'>{_e(note) + ' · ' if note else ''}{_e(summary)}</p><p>{pager}</p>"
            + (f"<table>{head}{rows}</table>" if features else f"<p>{_e(t('ogc.no_features', lang))}</p>")
            + f"<p>{pager}</p>")
    return _page(title, body, lang=lang, links=links, root=root, other_lang=other_lang)


def item_html(title: str, feature: dict, *, lang: str, root: str, other_lang: str) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in feature["properties"].items())
    body = (f"<table><tr><th>{_e(t('ogc.property', lang))}</th><th>{_e(t('ogc.value', lang))}</th></tr>"
            f"<tr><th>id</th><td>{_e(feature['id'])}</td></tr>{rows}</table>")
    return _page(f"{title} — {feature['id']}", body, lang=lang, links=feature.get("links", []), root=root,
                 other_lang=other_lang)

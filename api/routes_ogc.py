"""OGC API – Features (Part 1 Core, Part 2 CRS) for every layer of the store.

``/``, ``/conformance``, ``/collections``, ``/collections/{id}``, ``.../queryables``,
``.../items`` and ``.../items/{featureId}``, each as JSON (GeoJSON for features) or HTML
(``f=html`` or an Accept header asking for text/html). Routes only parse, call
``api.ogc_query`` and format. Responses are built once per store revision and query
and kept as bytes (gzip-compressed on demand), so repeated map requests cost a lookup.

Choices the standard leaves open:

- ``limit`` above 10,000 is clamped to 10,000 (not an error); ``limit`` < 1 is a 400.
- Paging is by ``offset``; ``next``/``prev`` links carry the whole query.
- Without ``datetime`` every vintage of the administrative units is returned; with it,
  those valid at the instant or overlapping the interval (valid_to is exclusive).
  ``datetime`` on layers without vintages is a 400. commune-status takes ``year`` (or a
  ``datetime`` instant, whose year is used) and optionally ``set``.
- Any queryable property can filter by equality (``?district=D01&criterion_2=false``);
  any other unknown parameter is a 400 naming it.
"""

from __future__ import annotations

import gzip
import logging
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import Response

from layers import infrastructure, schema
from maps.i18n import t
from . import negotiation, ogc_collections, ogc_crs, ogc_geojson, ogc_html, ogc_query, ogc_status, params
from .cache import RevisionCache
from .errors import BadParameter, NotFound

__all__ = ["router", "include", "CONFORMANCE"]

log = logging.getLogger(__name__)

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.1"

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
]
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
_CACHE_MAX_LIMIT = 2000  # pages larger than this are built each time, not kept in memory
_GZIP_MIN_BYTES = 1024

_COLLECTION_IDS = [
    *(table.replace("_", "-") for table in schema.ADMIN_TABLE.values()),
    ogc_status.STATUS_ID,
    *(spec.table.replace("_", "-") for spec in infrastructure.LAYERS.values()),
]

router = APIRouter(tags=["OGC API – Features"])

_ERRORS = {400: {"description": "Tham số không hợp lệ / Invalid parameter"},
           404: {"description": "Không tìm thấy / Not found"}}


def _responses(*types: str) -> dict:
    return {200: {"content": {mt: {} for mt in types}}, **_ERRORS}


F = Annotated[Literal["json", "html"] | None, Query(
    description="Định dạng / format: json (GeoJSON for features) or html; default from the Accept header")]
Lang = Annotated[Literal["vi", "en"], Query(description="Ngôn ngữ trang HTML / HTML page language")]
CollectionId = Annotated[str, Path(alias="collectionId", description="Mã lớp dữ liệu / collection id",
                                   json_schema_extra={"enum": _COLLECTION_IDS})]


# --- helpers -----------------------------------------------------------------------------


def _wants_html(request: Request, f: str | None) -> bool:
    """``f`` decides; otherwise the Accept header (HTML only when preferred over JSON)."""
    if f is not None:
        return f == "html"
    return negotiation.prefers(request, (HTML, "application/xhtml+xml"), (JSON, GEOJSON, "application/*", "*/*"))


def _url(request: Request, name: str, /, f: str | None = None, lang: str | None = None, **path) -> str:
    url = request.url_for(name, **path)
    params = {k: v for k, v in (("f", f), ("lang", lang)) if v}
    return str(url.include_query_params(**params)) if params else str(url)


def _with(request: Request, **changes) -> str:
    params = {k.replace("_", "-"): str(v) for k, v in changes.items() if v is not None}
    return str(request.url.include_query_params(**params))


def _other_lang(request: Request, lang: str) -> str:
    return _with(request, f="html", lang="en" if lang == "vi" else "vi")


def _root(request: Request) -> str:
    return str(request.url_for("ogc_landing"))


class _Body:
    """Response bytes kept in the cache, with a gzip copy made on first demand."""

    __slots__ = ("raw", "gz", "media_type", "headers")

    def __init__(self, raw: bytes, media_type: str, headers: dict[str, str] | None = None):
        self.raw, self.gz, self.media_type, self.headers = raw, None, media_type, headers or {}

    def response(self, request: Request) -> Response:
        headers = {"Vary": "Accept, Accept-Encoding", **self.headers}
        content = self.raw
        if len(content) >= _GZIP_MIN_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
            if self.gz is None:
                self.gz = gzip.compress(self.raw, compresslevel=5, mtime=0)
            content = self.gz
            headers["Content-Encoding"] = "gzip"
        return Response(content, media_type=self.media_type, headers=headers)


def _cached(request: Request, key: tuple, build, *, cache: bool = True) -> Response:
    """Build a response body once per store revision and key (base URL included: links)."""
    full = (str(request.base_url), *key)
    body = request.app.state.ogc_cache.get(full, build) if cache else build()
    return body.response(request)


def _json(doc: dict) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)


def _store(request: Request):
    return request.app.state.store


# --- landing, conformance, collections -------------------------------------------------


@router.get("/", name="ogc_landing", summary="Trang chủ dịch vụ / Landing page", responses=_responses(JSON, HTML))
def landing(request: Request, f: F = None, lang: Lang = "vi") -> Response:
    params.only(request, {"f", "lang"})
    html = _wants_html(request, f)

    def build() -> _Body:
        links = [
            {"rel": "self", "type": JSON, "title": "JSON", "href": _url(request, "ogc_landing", f="json")},
            {"rel": "alternate", "type": HTML, "title": "HTML", "href": _url(request, "ogc_landing", f="html")},
            {"rel": "service-desc", "type": OPENAPI, "title": t("ogc.api_definition", lang),
             "href": str(request.base_url) + "openapi.json"},
            {"rel": "service-doc", "type": HTML, "title": t("ogc.api_docs", lang), "href": str(request.base_url) + "docs"},
            {"rel": "conformance", "type": JSON, "title": t("ogc.conformance", lang),
             "href": _url(request, "ogc_conformance", f="json")},
            {"rel": "data", "type": JSON, "title": t("ogc.collections_title", lang),
             "href": _url(request, "ogc_collections", f="json")},
            *({"rel": "related", "type": HTML, "title": t(f"ogc.{key}", lang), "href": str(request.base_url) + path}
              for key, path in (("overview_map", "map"), ("progress_page", "progress"),
                                ("prioritise_page", "prioritise"), ("scenario_page", "scenario"))),
        ]
        doc = {"title": t("ogc.title", "vi") + " / " + t("ogc.title", "en"),
               "description": t("ogc.intro", "vi") + " / " + t("ogc.intro", "en"), "links": links}
        if html:
            page = ogc_html.landing_html(doc, lang=lang, root=_root(request), other_lang=_other_lang(request, lang))
            return _Body(page.encode(), HTML)
        return _Body(_json(doc), JSON)

    return _cached(request, ("landing", html, lang), build)  # link titles follow lang in JSON too


@router.get("/conformance", name="ogc_conformance", summary="Các chuẩn tuân thủ / Conformance classes",
            responses=_responses(JSON, HTML))
def conformance(request: Request, f: F = None, lang: Lang = "vi") -> Response:
    params.only(request, {"f", "lang"})
    links = [{"rel": "self", "type": JSON, "href": _url(request, "ogc_conformance", f="json")},
             {"rel": "alternate", "type": HTML, "href": _url(request, "ogc_conformance", f="html")}]
    doc = {"conformsTo": CONFORMANCE}
    if _wants_html(request, f):
        page = ogc_html.conformance_html({**doc, "links": links}, lang=lang, root=_root(request),
                                         other_lang=_other_lang(request, lang))
        return Response(page, media_type=HTML)
    return Response(_json(doc), media_type=JSON)


def _collection_doc(request: Request, coll: ogc_collections.Collection) -> dict:
    store = _store(request)
    cid = coll.id
    links = [
        {"rel": "self", "type": JSON, "title": "JSON", "href": _url(request, "ogc_collection", f="json", collectionId=cid)},
        {"rel": "alternate", "type": HTML, "title": "HTML", "href": _url(request, "ogc_collection", f="html", collectionId=cid)},
        {"rel": "items", "type": GEOJSON, "title": "GeoJSON", "href": _url(request, "ogc_items", f="json", collectionId=cid)},
        {"rel": "items", "type": HTML, "title": "HTML", "href": _url(request, "ogc_items", f="html", collectionId=cid)},
        {"rel": QUERYABLES_REL, "type": "application/schema+json", "title": "Queryables",
         "href": _url(request, "ogc_queryables", f="json", collectionId=cid)},
    ]
    extent = {}
    bbox = ogc_collections.spatial_extent(store, coll)
    if bbox is not None:
        extent["spatial"] = {"bbox": [bbox], "crs": ogc_crs.CRS84}
    interval = ogc_collections.temporal_extent(store, coll)
    if interval is not None:
        extent["temporal"] = {"interval": [interval], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    doc = {"id": cid, "title": coll.title(), "itemType": "feature", "links": links}
    if coll.status:
        years = ogc_status.status_years(store)
        doc["description"] = (t("ogc.collections.commune-status", "vi") + " / " + t("ogc.collections.commune-status", "en")
                              + (f"; year = {years[0]}…{years[-1]}" if years else ""))
    if extent:
        doc["extent"] = extent
    doc["crs"] = list(ogc_crs.SUPPORTED)
    doc["storageCrs"] = ogc_crs.STORAGE_CRS
    return doc


def _titled(doc: dict, coll: ogc_collections.Collection) -> dict:
    return {**doc, "title_vi": coll.title("vi"), "title_en": coll.title("en")}


@router.get("/collections", name="ogc_collections", summary="Các lớp dữ liệu / Collections",
            responses=_responses(JSON, HTML))
def collections(request: Request, f: F = None, lang: Lang = "vi") -> Response:
    params.only(request, {"f", "lang"})
    html = _wants_html(request, f)

    def build() -> _Body:
        colls = ogc_collections.collections(_store(request))
        docs = [_collection_doc(request, c) for c in colls.values()]
        links = [{"rel": "self", "type": JSON, "href": _url(request, "ogc_collections", f="json")},
                 {"rel": "alternate", "type": HTML, "href": _url(request, "ogc_collections", f="html")}]
        doc = {"links": links, "collections": docs, "crs": list(ogc_crs.SUPPORTED)}
        if html:
            titled = {**doc, "collections": [_titled(d, c) for d, c in zip(docs, colls.values())]}
            page = ogc_html.collections_html(titled, lang=lang, root=_root(request),
                                             other_lang=_other_lang(request, lang))
            return _Body(page.encode(), HTML)
        return _Body(_json(doc), JSON)

    return _cached(request, ("collections", html, lang if html else None), build)


@router.get("/collections/{collectionId}", name="ogc_collection", summary="Một lớp dữ liệu / Collection",
            responses=_responses(JSON, HTML))
def collection(request: Request, collection_id: CollectionId, f: F = None, lang: Lang = "vi") -> Response:
    params.only(request, {"f", "lang"})
    coll = ogc_collections.get_collection(_store(request), collection_id)
    html = _wants_html(request, f)

    def build() -> _Body:
        doc = _collection_doc(request, coll)
        if html:
            page = ogc_html.collection_html(_titled(doc, coll), lang=lang, root=_root(request),
                                            other_lang=_other_lang(request, lang))
            return _Body(page.encode(), HTML)
        return _Body(_json(doc), JSON)

    return _cached(request, ("collection", coll.id, html, lang if html else None), build)


@router.get("/collections/{collectionId}/queryables", name="ogc_queryables",
            summary="Thuộc tính truy vấn được / Queryables", responses=_responses("application/schema+json", HTML))
def queryables(request: Request, collection_id: CollectionId, f: F = None, lang: Lang = "vi") -> Response:
    params.only(request, {"f", "lang"})
    store = _store(request)
    coll = ogc_collections.get_collection(store, collection_id)
    names = ogc_collections.queryables(store, coll)
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _url(request, "ogc_queryables", collectionId=coll.id),
        "type": "object",
        "title": coll.title(),
        "properties": {name: {"title": name, **ogc_collections.json_schema_type(sql_type)}
                       for name, sql_type in names.items()},
        "additionalProperties": False,
    }
    if _wants_html(request, f):
        links = [{"rel": "alternate", "type": JSON, "href": _url(request, "ogc_queryables", f="json", collectionId=coll.id)}]
        page = ogc_html.queryables_html({**doc, "title": coll.title(lang), "links": links}, lang=lang,
                                        root=_root(request), other_lang=_other_lang(request, lang))
        return Response(page, media_type=HTML)
    return Response(_json(doc), media_type="application/schema+json")


# --- items -------------------------------------------------------------------------------


def _status_frame(request: Request, year: int, cset):
    store = _store(request)
    return request.app.state.ogc_frames.get(("status", year, cset.id),
                                            lambda: ogc_status.status_frame(store, year, cset))


def _status_context(request: Request, q: ogc_query.ItemsQuery):
    year = q.year
    if year is None:  # the latest year with status, looked up once per store revision
        store = _store(request)
        year = request.app.state.ogc_frames.get(("default-year",), lambda: ogc_status.default_year(store))
    cset = ogc_status.resolve_set(year, q.set_id)
    return year, cset, ogc_status.property_types(cset)


def _items_links(request: Request, cid: str, q: ogc_query.ItemsQuery, returned: int, matched: int,
                 html: bool, lang: str) -> list[dict]:
    fmt, other = ("html", "json") if html else ("json", "html")
    mt = {"json": GEOJSON, "html": HTML}
    lang_html = {"lang": lang} if html else {}
    links = [
        {"rel": "self", "type": mt[fmt], "href": _with(request, f=fmt, **lang_html)},
        {"rel": "alternate", "type": mt[other], "href": _with(request, f=other, **({} if html else {"lang": lang}))},
        {"rel": "collection", "type": JSON, "href": _url(request, "ogc_collection", f="json", collectionId=cid)},
    ]
    for rel, offset in (("next", q.offset + q.limit if q.offset + returned < matched else None),
                        ("prev", max(0, q.offset - q.limit) if q.offset > 0 else None)):
        if offset is None:
            continue
        for f_ in (fmt, other):
            links.append({"rel": rel, "type": mt[f_],
                          "href": _with(request, f=f_, offset=offset, limit=q.limit,
                                        **({"lang": lang} if f_ == "html" else {}))})
    return links


@router.get("/collections/{collectionId}/items", name="ogc_items", summary="Đối tượng của lớp / Features",
            responses=_responses(GEOJSON, HTML))
def items(
    request: Request,
    collection_id: CollectionId,
    f: F = None,
    lang: Lang = "vi",
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy in bbox-crs (default CRS84 lon/lat)")] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs", description="CRS of bbox (URI)")] = None,
    limit: Annotated[int, Query(ge=1, description="Số đối tượng tối đa / page size: default 10; "
                                "values above 10000 are clamped to 10000",
                                json_schema_extra={"maximum": ogc_query.MAX_LIMIT})] = ogc_query.DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000, description="Bỏ qua / features to skip")] = 0,
    datetime: Annotated[str | None, Query(description="RFC 3339 instant or interval (start/end, ../end, start/..) "
                                          "matched against the units' vintages (valid_from, valid_to)")] = None,
    sortby: Annotated[str | None, Query(description="+name,-other: properties to sort by")] = None,
    properties: Annotated[str | None, Query(description="comma-separated properties to return")] = None,
    crs: Annotated[str | None, Query(description="output CRS URI: CRS84 (default), EPSG:4326, EPSG:4756 "
                                     "(VN-2000), VN-2000 TM-3 zones")] = None,
    year: Annotated[int | None, Query(ge=1990, le=2100, description="commune-status: assessment year "
                                      "(default: latest with data); on other layers a property filter")] = None,
    set_: Annotated[str | None, Query(alias="set", description="commune-status: criteria set id "
                                      "(default: the set in force in the year)")] = None,
) -> Response:
    """Features of a collection; any queryable property can also filter (``name=value``)."""
    store = _store(request)
    coll = ogc_collections.get_collection(store, collection_id)
    names = ogc_collections.queryables(store, coll)
    q = ogc_query.parse_items_query(coll, request.query_params, names, limit=limit, offset=offset,
                                    year=year if coll.status else None)
    html = _wants_html(request, f)
    context = None
    if coll.status:
        context = _status_context(request, q)
        names = context[2]

    def build() -> _Body:
        if context is not None:
            year_, cset, _ = context
            page = ogc_query.select_frame(_status_frame(request, year_, cset), q, names)
            note = t("ogc.status_year", lang).format(year=year_, set_id=cset.id)
        else:
            page = ogc_query.select_table(store, coll, q, names)
            note = None
        links = _items_links(request, coll.id, q, len(page), page.number_matched, html, lang)
        headers = {"Content-Crs": f"<{q.crs.uri}>"}
        if html:
            features = ogc_geojson.feature_dicts(page, q.crs)
            doc = ogc_html.items_html(
                coll.title(lang), features, properties=page.properties, number_matched=page.number_matched,
                links=links, note=note, lang=lang, root=_root(request), other_lang=_other_lang(request, lang),
                item_href=lambda fid: _url(request, "ogc_item", f="html", lang=lang, collectionId=coll.id,
                                           featureId=str(fid)))
            return _Body(doc.encode(), HTML, headers)
        body = ogc_geojson.feature_collection_bytes(page, q.crs, links=links)
        return _Body(body, GEOJSON, headers)

    key = ("items", coll.id, q.key(), html, lang if html else None, context[1].id if context else None,
           context[0] if context else None)
    return _cached(request, key, build, cache=q.limit <= _CACHE_MAX_LIMIT)


@router.get("/collections/{collectionId}/items/{featureId}", name="ogc_item", summary="Một đối tượng / Feature",
            responses=_responses(GEOJSON, HTML))
def item(
    request: Request,
    collection_id: CollectionId,
    feature_id: Annotated[str, Path(alias="featureId", description="fid của đối tượng / feature id",
                                    json_schema_extra={"pattern": "^[0-9]{1,18}$"})],
    f: F = None,
    lang: Lang = "vi",
    crs: Annotated[str | None, Query(description="output CRS URI")] = None,
    properties: Annotated[str | None, Query(description="comma-separated properties to return")] = None,
    year: Annotated[int | None, Query(ge=1990, le=2100, description="commune-status: assessment year")] = None,
    set_: Annotated[str | None, Query(alias="set", description="commune-status: criteria set id")] = None,
) -> Response:
    store = _store(request)
    coll = ogc_collections.get_collection(store, collection_id)
    allowed = {"f", "lang", "crs", "properties"} | set(coll.extra_parameters())
    params.only(request, allowed)
    if not feature_id.isdigit() or int(feature_id) >= 2**63:
        raise NotFound(f"no feature '{feature_id[:100]}' in collection '{coll.id}' (feature ids are integers)")
    fid = int(feature_id)
    out_crs = ogc_crs.parse_crs(crs, "crs") if crs is not None else ogc_crs.SUPPORTED[ogc_crs.CRS84]
    html = _wants_html(request, f)
    if coll.status:
        q = ogc_query.ItemsQuery(year=year, set_id=set_)
        year_, cset, names = _status_context(request, q)
        props = list(ogc_query.parse_properties(properties, names) or names)
        page = ogc_query.frame_feature(_status_frame(request, year_, cset), fid, props)
    else:
        if year is not None or set_ is not None:
            raise BadParameter("year" if year is not None else "set", "'year' and 'set' apply to commune-status only")
        names = ogc_collections.queryables(store, coll)
        props = list(ogc_query.parse_properties(properties, names) or names)
        page = ogc_query.get_feature(store, coll, fid, props, names)
    if not len(page):
        raise NotFound(f"no feature {fid} in collection '{coll.id}'")
    fmt, other = ("html", "json") if html else ("json", "html")
    mt = {"json": GEOJSON, "html": HTML}
    links = [{"rel": "self", "type": mt[fmt], "href": _with(request, f=fmt)},
             {"rel": "alternate", "type": mt[other], "href": _with(request, f=other)},
             {"rel": "collection", "type": JSON, "href": _url(request, "ogc_collection", f="json", collectionId=coll.id)}]
    headers = {"Content-Crs": f"<{out_crs.uri}>", "Vary": "Accept"}
    if html:
        feature = ogc_geojson.feature_dicts(page, out_crs)[0] | {"links": links}
        page = ogc_html.item_html(coll.title(lang), feature, lang=lang, root=_root(request),
                                  other_lang=_other_lang(request, lang))
        return Response(page, media_type=HTML, headers=headers)
    return Response(ogc_geojson.feature_bytes(page, out_crs, links=links), media_type=GEOJSON, headers=headers)


class _Revision:
    """What ``RevisionCache`` asks of a store (its revision), read on the thread's open
    connection: ``Store.revision`` opens a new one each time (~2 ms)."""

    def __init__(self, store):
        self.store = store

    @property
    def revision(self) -> int:
        row = ogc_query.connection(self.store).execute(
            "SELECT value FROM ntm_meta WHERE key = 'revision'").fetchone()
        return int(row[0])


def include(app: FastAPI, dependencies=()) -> None:
    """Mount the OGC API routes on an app built by ``api.app.create_app``.

    ``dependencies`` (FastAPI ``Depends``) run before every route: the hook for read
    authorisation. Response caches are created here, keyed on the store revision.
    """
    store = app.state.store
    app.state.ogc_cache = RevisionCache(_Revision(store), size=32)
    app.state.ogc_frames = RevisionCache(_Revision(store), size=4)
    app.include_router(router, dependencies=list(dependencies))

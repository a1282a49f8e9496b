"""The FastAPI application: OGC API – Features, map pages and figures, editing, uploads,
spatial queries and analysis, on one store.

``create_app(settings)`` builds the app (no import-time state), so tests and the CLI
can point it at any store. Read routes share one dependency, ``auth.reader``: public
when ``Settings.public_reads`` is on, otherwise any valid API key. Write routes carry
their own role and province checks (``api.routes_edit``, ``api.routes_upload``).
"""

from __future__ import annotations

import logging

from fastapi import Depends, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from layers.store import Store
from maps import assets
from . import (auth, errors, routes_analysis, routes_commune, routes_edit, routes_figures, routes_maps,
               routes_ogc, routes_prioritise, routes_prioritise_maps, routes_progress, routes_query, routes_upload)
from .cache import RevisionCache
from .settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """An NTM Atlas app serving the store named in ``settings``."""
    settings = settings or Settings()
    store = Store(settings.store)
    # The docs page is ours (below): FastAPI's default loads Swagger UI from a CDN.
    app = FastAPI(title="NTM Atlas — Bản đồ Nông thôn mới", version="0.1.0", docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.store = store
    app.state.cache = RevisionCache(store)
    errors.add_exception_handlers(app)
    vendor = assets.vendor_dir()
    missing = assets.missing_assets(vendor)
    if missing and settings.offline:
        log.warning("page assets missing (run 'ntm assets fetch'): %s", ", ".join(missing))
    vendor.mkdir(parents=True, exist_ok=True)
    app.mount(assets.VENDOR_URL_PREFIX, StaticFiles(directory=vendor), name="vendor")
    @app.get("/health", summary="Tình trạng / Health")
    def health() -> dict:
        meta = store.meta()
        return {"status": "ok", "store": str(store.path), "schema_version": int(meta["schema_version"]),
                "revision": int(meta["revision"]), "label": meta.get("label", ""),
                "assets_missing": missing}

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        urls = assets.docs_urls()
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} — API",
                                   swagger_js_url=urls["swagger_js"], swagger_css_url=urls["swagger_css"],
                                   swagger_favicon_url=urls["swagger_favicon"])

    _include_routes(app)
    return app


def _include_routes(app: FastAPI) -> None:
    read = (Depends(auth.reader),)
    for module in (routes_maps, routes_commune, routes_figures, routes_query, routes_progress, routes_analysis,
                   routes_prioritise, routes_prioritise_maps):
        module.include(app, dependencies=read)
    routes_edit.include(app)
    routes_upload.include(app)
    routes_ogc.include(app, dependencies=read)  # last: its landing page is "/"
    # Compress map data and large GeoJSON answers for clients that ask for it (not small JSON).
    app.add_middleware(GZipMiddleware, minimum_size=2048)

"""The FastAPI application: map pages and a health check, on one store.

``create_app(settings)`` builds the app (no import-time state), so tests and the CLI
can point it at any store.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from layers.store import Store
from maps import assets, web
from . import errors
from .cache import RevisionCache
from .settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """An NTM Atlas app serving the store named in ``settings``."""
    settings = settings or Settings()
    store = Store(settings.store)
    app = FastAPI(title="NTM Atlas — Bản đồ Nông thôn mới", version="0.1.0")
    app.state.settings = settings
    app.state.store = store
    app.state.cache = cache = RevisionCache(store)
    errors.add_exception_handlers(app)
    vendor = assets.vendor_dir()
    missing = assets.missing_assets(vendor)
    if missing and settings.offline:
        log.warning("page assets missing (run 'ntm assets fetch'): %s", ", ".join(missing))
    vendor.mkdir(parents=True, exist_ok=True)
    app.mount(assets.VENDOR_URL_PREFIX, StaticFiles(directory=vendor), name="vendor")
    @app.get("/map", response_class=HTMLResponse, summary="Bản đồ tổng quan / Overview map")
    def overview(
        year: int | None = Query(None, description="Năm / year (default: latest with data)"),
        set_id: str | None = Query(None, alias="set", description="Bộ tiêu chí / criteria set id"),
    ) -> HTMLResponse:
        def build() -> str:
            js, css = assets.offline_resources() if settings.offline else (None, None)
            return web.overview_html(store, year=year, set_id=set_id, offline_js=js, offline_css=css,
                                     tiles=settings.tiles, tiles_attribution=settings.tiles_attribution)

        return HTMLResponse(cache.get(("overview", year, set_id), build))

    @app.get("/health", summary="Tình trạng / Health")
    def health() -> dict:
        meta = store.meta()
        return {"status": "ok", "store": str(store.path), "schema_version": int(meta["schema_version"]),
                "revision": int(meta["revision"]), "label": meta.get("label", ""),
                "assets_missing": missing}

    return app

"""The commune page, ``GET /communes/{code}``: HTML, cached per store revision.

The route only parses and formats: the page is ``maps.commune_page.commune_page_html``.
An unknown code answers 404 — a small HTML page for browsers (they send
``Accept: text/html``), the JSON error of ``api.errors`` for everything else.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import HTMLResponse

from maps import assets, commune_page
from maps.i18n import LANGS
from .errors import BadParameter, NotFound

__all__ = ["router", "include"]

router = APIRouter(tags=["communes"])


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


@router.get(
    "/communes/{code}",
    response_class=HTMLResponse,
    summary="Trang xã / Commune page",
    responses={404: {"description": "Không có xã mã này / no commune with this code"}},
)
def commune(
    request: Request,
    code: Annotated[str, Path(description="Mã xã / commune code", max_length=64)],
    year: Annotated[int | None, Query(ge=1990, le=2100, description="Năm / year (default: latest with data)")] = None,
    lang: Annotated[str | None, Query(description="vi (mặc định) hoặc en / vi (default) or en")] = None,
) -> HTMLResponse:
    """The commune's map, criteria grid across years, recognitions, targets and plans."""
    app = request.app
    settings, store = app.state.settings, app.state.store
    lang = lang or settings.lang
    if lang not in LANGS:
        raise BadParameter("lang", f"'lang' must be one of {', '.join(LANGS)}, got {lang!r}")
    try:
        commune_page.find_commune(store, code)
    except commune_page.CommuneNotFound as exc:
        if _wants_html(request):
            return HTMLResponse(commune_page.not_found_html(exc.code, lang, level=exc.level), status_code=404)
        raise NotFound(str(exc)) from None

    def build() -> str:
        js, css = assets.offline_resources() if settings.offline else (None, None)
        return commune_page.commune_page_html(store, code, year=year, lang=lang, offline_js=js, offline_css=css,
                                              tiles=settings.tiles, tiles_attribution=settings.tiles_attribution)

    return HTMLResponse(app.state.cache.get(("commune_page", code, year, lang), build))


def include(app: FastAPI, dependencies=()) -> None:
    """Mount the commune page on an app built by ``api.app.create_app``."""
    app.include_router(router, dependencies=list(dependencies))

"""Query parameters that several route modules read the same way."""

from __future__ import annotations

from fastapi import Request

from maps import figures
from .errors import BadParameter

__all__ = ["only", "scope_code"]


def scope_code(store, scope: str | None) -> str:
    """``scope`` (a province or district code or name) as a unit code; when not given, the
    store's only province. A 400 naming ``scope`` otherwise."""
    try:
        return figures.scope_or_only_province(store, scope)
    except ValueError as exc:
        raise BadParameter("scope", str(exc)) from exc


def only(request: Request, allowed: set[str], *, repeatable: frozenset[str] = frozenset()) -> None:
    """Reject unknown query parameters and repeated ones (except ``repeatable``), naming them:
    a typo ("yaer=2024") must not silently give the default answer."""
    for name in request.query_params.keys():
        if name not in allowed:
            raise BadParameter(name, f"unknown parameter '{name[:100]}'; parameters: {', '.join(sorted(allowed))}")
        if name not in repeatable and len(request.query_params.getlist(name)) > 1:
            raise BadParameter(name, f"'{name}' was given more than once")

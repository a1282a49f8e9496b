"""Query parameters that several route modules read the same way."""

from __future__ import annotations

from maps import figures
from .errors import BadParameter

__all__ = ["scope_code"]


def scope_code(store, scope: str | None) -> str:
    """``scope`` (a province or district code or name) as a unit code; when not given, the
    store's only province. A 400 naming ``scope`` otherwise."""
    try:
        return figures.scope_or_only_province(store, scope)
    except ValueError as exc:
        raise BadParameter("scope", str(exc)) from exc

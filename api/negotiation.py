"""Content negotiation: how much a client's ``Accept`` header wants each media type.

One parser for every route that answers in more than one format (OGC pages as HTML or
JSON, query results as JSON or GeoJSON), so they all read ``q`` values the same way.
"""

from __future__ import annotations

from fastapi import Request

__all__ = ["accept_weights", "prefers"]


def accept_weights(request: Request) -> dict[str, float]:
    """Media type -> highest ``q`` the ``Accept`` header gives it (a bad ``q`` counts as 0)."""
    weights: dict[str, float] = {}
    for part in request.headers.get("accept", "").lower().split(","):
        fields = [p.strip() for p in part.split(";")]
        q = 1.0
        for param in fields[1:]:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if fields[0]:
            weights[fields[0]] = max(weights.get(fields[0], -1.0), q)
    return weights


def prefers(request: Request, wanted: tuple[str, ...], other: tuple[str, ...]) -> bool:
    """True when the client asks for one of ``wanted`` at least as much as any of ``other``."""
    weights = accept_weights(request)
    best_wanted = max((weights.get(m, -1.0) for m in wanted), default=-1.0)
    best_other = max((weights.get(m, -1.0) for m in other), default=-1.0)
    return best_wanted > 0 and best_wanted >= best_other

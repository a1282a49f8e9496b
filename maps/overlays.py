"""The overview map's overlays (villages, roads, facilities, power lines, projects) as GeoJSON.

Overlays are heavy (the demo province has 11,000 road segments), so the page does not
carry them: it fetches one when the user switches it on. Each overlay is read for a
scope (the communes of a province or district) or, at national scope, for the map's
current bounding box, and written with short property keys that the page's script
styles: codes for classes (labelled on the page from the vocabulary), names as text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from layers import admin_units, recognitions
from layers.store import Store
from . import geojson
from ._errors import ParameterError

__all__ = ["OVERLAYS", "Overlay", "overlay_geojson", "vocabulary_labels"]

_DECIMALS = 5  # ≈ 1 m: enough for roads and points on a commune-scale map
_LINE_TOLERANCE = 2e-5  # degrees (≈ 2 m)
_VOCAB = ("road_classes", "road_surfaces", "school_levels", "market_classes", "culture_house_scopes",
          "funding_sources", "project_states", "recognition_levels")


@dataclass(frozen=True)
class Overlay:
    """One switchable layer: its table, its i18n label key and how its properties are written."""

    name: str
    table: str
    label_key: str
    properties: Callable[[pd.DataFrame, dict], list[dict]]
    heavy: bool = True  # fetched on demand, off by default


def _text(value) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA else str(value)


def _flag(value) -> int | None:
    """1 / 0 / None for a nullable boolean (compact in JSON)."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    return int(bool(value))


def _number(value) -> float | None:
    if value is None or value is pd.NA or pd.isna(value):
        return None
    return float(value)


def _roads(df: pd.DataFrame, ctx: dict) -> list[dict]:
    return [{"n": _text(n), "k": _text(k), "s": _text(s), "h": _flag(h)}
            for n, k, s, h in zip(df["name"], df["road_class"], df["surface"], df["hardened"])]


def _power(df: pd.DataFrame, ctx: dict) -> list[dict]:
    return [{"n": _text(n), "v": _number(v)} for n, v in zip(df["name"], df["voltage_kv"])]


def _facility(kind_column: str | None) -> Callable[[pd.DataFrame, dict], list[dict]]:
    def props(df: pd.DataFrame, ctx: dict) -> list[dict]:
        kinds = df[kind_column] if kind_column else [None] * len(df)
        return [{"n": _text(n), "m": _flag(m), "k": _text(k)}
                for n, m, k in zip(df["name"], df["meets_standard"], kinds)]
    return props


def _villages(df: pd.DataFrame, ctx: dict) -> list[dict]:
    levels = ctx.get("village_levels", {})
    return [{"n": _text(full or name), "c": code, "k": levels.get(code)}
            for code, name, full in zip(df["code"], df["name"], df["full_name"])]


def _projects(df: pd.DataFrame, ctx: dict) -> list[dict]:
    return [{"n": _text(n), "s": _text(s), "f": _text(f), "cost": _number(c), "y": _text(y), "cr": _text(cr)}
            for n, s, f, c, y, cr in zip(df["name"], df["state"], df["funding_source"], df["cost_mvnd"],
                                         df["year"], df["criteria"])]


OVERLAYS: dict[str, Overlay] = {o.name: o for o in (
    Overlay("villages", "villages", "words.villages", _villages),
    Overlay("roads", "roads", "words.roads", _roads),
    Overlay("schools", "schools", "words.schools", _facility("school_level")),
    Overlay("health_stations", "health_stations", "words.health_stations", _facility(None)),
    Overlay("markets", "markets", "words.markets", _facility("market_class")),
    Overlay("culture_houses", "culture_houses", "words.culture_houses", _facility("scope")),
    Overlay("power_lines", "power_lines", "words.power_lines", _power),
    Overlay("projects", "projects", "words.projects", _projects),
)}


def vocabulary_labels(lang: str) -> dict[str, dict[str, str]]:
    """Code -> label for the vocabularies the overlays use (shown in popups and legends)."""
    vocab = admin_units.vocabulary()
    return {kind: {code: spec.get(lang) or spec["vi"] for code, spec in vocab[kind].items()} for kind in _VOCAB}


def overlay_geojson(
    store: Store,
    name: str,
    *,
    commune_codes: Sequence[str] | None,
    bbox: tuple[float, float, float, float] | None = None,
    year: int | None = None,
) -> bytes:
    """One overlay as a GeoJSON FeatureCollection (bytes).

    Parameters
    ----------
    commune_codes
        Keep features of these communes (None: no filter by commune).
    bbox
        (minx, miny, maxx, maxy) in degrees: keep features touching it (national scope).
    year
        Vintage of villages and the year of their recognition (None: current).

    Raises
    ------
    ParameterError
        Unknown overlay name.
    """
    if name not in OVERLAYS:
        raise ParameterError("layer", f"'layer' must be one of {sorted(OVERLAYS)}, got {name!r}")
    overlay = OVERLAYS[name]
    where, params, ctx = None, [], {}
    if overlay.table == "villages":
        where, params = admin_units.valid_on_sql(admin_units.year_end(year) if year else None)
        column = "parent_code"
    else:
        column = "commune_code"
    if commune_codes is not None:
        codes = list(commune_codes)
        if not codes:
            return geojson.features_to_geojson([], [])
        clause = f"{column} IN ({', '.join('?' * len(codes))})"
        where = f"{where} AND {clause}" if where else clause
        params = [*params, *codes]
    gdf = store.read_features(overlay.table, where, params, bbox=bbox)
    if overlay.table == "villages" and len(gdf):
        status = recognitions.recognition_status(store, year or pd.Timestamp.today().year, unit_level="village")
        ctx["village_levels"] = {c: lv for c, lv in zip(status["unit_code"], status["level"]) if isinstance(lv, str)}
    tolerance = _LINE_TOLERANCE if overlay.table != "villages" else _LINE_TOLERANCE * 5
    return geojson.features_to_geojson(gdf.geometry.values, overlay.properties(gdf, ctx), decimals=_DECIMALS,
                                       tolerance=tolerance)

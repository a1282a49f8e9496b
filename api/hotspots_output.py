"""A hot-spot result (``layers.hotspots``) as JSON records, CSV and GeoJSON, for the API and CLI.

Numbers are written as computed (NaN as null / empty); each commune's cluster also gets
its label in the asked language (``map_analysis.clusters`` in ``maps/i18n``).
"""

from __future__ import annotations

import math

import pandas as pd

from layers.hotspots import HotspotResult
from maps import geojson
from maps.i18n import t

__all__ = ["COLUMNS", "cluster_label", "records", "payload", "to_csv", "to_geojson"]

COLUMNS = ("unit_code", "name", "value", "n_neighbours", "lag", "Ii", "z", "p_sim", "q_fdr", "quadrant",
           "significant", "significant_fdr", "cluster", "cluster_label")


def cluster_label(cluster: str, lang: str = "vi") -> str:
    """'Điểm nóng (Cao–Cao)' for HH …; 'Chưa có số liệu' for no_data."""
    return t("no_data", lang) if cluster == "no_data" else t(f"map_analysis.clusters.{cluster}", lang)


def _plain(value):
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def records(result: HotspotResult, lang: str = "vi") -> list[dict]:
    """One dict per commune with :data:`COLUMNS`."""
    frame = result.frame.assign(cluster_label=[cluster_label(c, lang) for c in result.frame["cluster"]])
    return [{c: _plain(v) for c, v in zip(COLUMNS, row)} for row in frame[list(COLUMNS)].itertuples(index=False)]


def payload(result: HotspotResult, lang: str = "vi") -> dict:
    """What ``GET /analysis/hotspots`` answers: parameters, global Moran's I, counts, items."""
    items = records(result, lang)
    return {"params": result.params, "moran_global": result.moran_global, "counts": result.counts,
            "count": len(items), "items": items}


def to_csv(result: HotspotResult, lang: str = "vi") -> str:
    """One row per commune (UTF-8 text; Excel opens it with the BOM the caller adds)."""
    return pd.DataFrame(records(result, lang), columns=list(COLUMNS)).to_csv(index=False)


def to_geojson(result: HotspotResult, lang: str = "vi") -> bytes:
    """The communes as a GeoJSON FeatureCollection (EPSG:4326) with the result as properties."""
    if result.geometry is None:
        raise ValueError("this result carries no geometry: compute it with layers.hotspots.hotspots()")
    items = records(result, lang)
    geoms = result.geometry.reindex([r["unit_code"] for r in items]).to_numpy()
    return geojson.features_to_geojson(geoms, items, decimals=6)

"""Tiny stores for domain tests: admin units as small squares, file hashes."""

from __future__ import annotations

import hashlib

import geopandas as gpd
import pandas as pd
from shapely.geometry import MultiPolygon, box

from geo.text import slugify
from layers.store import Store


def add_units(store: Store, table: str, rows: list[dict], *, x0: float = 104.0, y0: float = 22.6) -> None:
    """Insert units (dicts of columns; slug derived from name) as 0.01° squares in a row."""
    df = pd.DataFrame(rows)
    df["slug"] = df["name"].map(slugify)
    geoms = [MultiPolygon([box(x0 + 0.02 * k, y0, x0 + 0.02 * k + 0.01, y0 + 0.01)]) for k in range(len(df))]
    with store.transaction() as conn:
        store.insert_features(conn, table, gpd.GeoDataFrame(df, geometry=geoms, crs="EPSG:4326"))


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

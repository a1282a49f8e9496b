"""Helpers for the editing-API tests: a demo store with a second province and one key per role.

The demo province is D01 (communes D01-dd-ddd); a second province '52' (Bình Định, district
H01, communes Q000 and Q001) is imported from a tiny grid far from it, so that "editor
outside its provinces" has somewhere to be.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from layers import keys
from layers.boundaries import import_boundaries
from layers.store import Store

COMMUNE = "D01-01-007"  # a xã of the demo province with 2024 status
OTHER_COMMUNE = "Q000"  # in province 52
ROLES = ("viewer", "editor_in", "editor_out", "admin", "revoked")


def add_second_province(store: Store, folder: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"ma_xa": ["Q000", "Q001"], "ten_xa": ["Xã Thử 1", "Xã Thử 2"], "ma_huyen": "H01",
         "ten_huyen": "Huyện Thử", "ma_tinh": "52", "ten_tinh": "Bình Định"},
        geometry=[shapely.box(108.0, 14.0, 108.05, 14.05), shapely.box(108.05, 14.0, 108.1, 14.05)],
        crs="EPSG:4326")
    path = folder / "q.gpkg"
    gdf.to_file(path)
    import_boundaries(store, path, level="commune", build_parents=True)


def build_base(demo_store_path: Path, folder: Path) -> tuple[Path, dict[str, str]]:
    """A demo copy with province 52 and keys; returns its path and role -> token."""
    path = folder / "edit-base.gpkg"
    shutil.copy(demo_store_path, path)
    store = Store(path)
    add_second_province(store, folder)
    tokens = {
        "viewer": keys.create_key(store, "viewer", "viewer")[1],
        "editor_in": keys.create_key(store, "editor-d01", "editor", ["D01"])[1],
        "editor_out": keys.create_key(store, "editor-52", "editor", ["52"])[1],
        "admin": keys.create_key(store, "admin", "admin")[1],
        "revoked": keys.create_key(store, "gone", "editor", ["D01"])[1],
    }
    keys.revoke_key(store, "gone")
    return path, tokens


@dataclass
class Env:
    store: Store
    tokens: dict[str, str]
    client: TestClient

    def warm(self, *roles: str) -> None:
        """Use keys once: a key's first use stamps last_used_at, which changes the file, so
        tests comparing store hashes warm the keys they use first."""
        for role in roles or ("editor_in",):
            self.client.get(f"/units/{COMMUNE}/recognitions", headers=self.auth(role))

    def auth(self, role: str | None) -> dict[str, str]:
        if role is None:
            return {}
        if role == "invalid":
            return {"Authorization": "Bearer ntm_00000000_" + "x" * 43}
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def make_app(path: Path, **settings):
    return create_app(Settings(store=path, **settings))


def make_env(base: tuple[Path, dict], folder: Path, **settings) -> Env:
    """A private copy of the base store with a TestClient on it (see ``Env.warm``)."""
    path = folder / "edit.gpkg"
    shutil.copy(base[0], path)
    return Env(Store(path), base[1], TestClient(make_app(path, **settings)))

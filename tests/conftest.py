"""Shared fixtures: the real data beside the repo, small synthetic boundaries, store hashes."""

from __future__ import annotations

import hashlib
import shutil
import os
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; a missing folder fails under CI=true and skips elsewhere."""
    if not (SHARED_DATA / "boundaries").is_dir():
        msg = f"real test data not found at {SHARED_DATA}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + " (CI=true: the shared data must be present)")
        pytest.skip(msg)
    return SHARED_DATA


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium for the browser tests; missing fails under CI=true (dev.py installs it)."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    msg = f"{CHROMIUM} not found (apt-get install chromium, or run 'python3 dev.py test')"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg + " (CI=true: browser tests must run)")
    pytest.skip(msg)


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def file_hash():
    """sha256 of a file: assert a failed import left the store byte-identical."""
    return sha256


def grid_units(nx: int, ny: int, *, x0=104.0, y0=22.0, size=0.05, prefix="C", name="Xã Thử"):
    """A grid of square communes (EPSG:4326) that tile exactly, with Vietnamese names."""
    rows, geoms = [], []
    for j in range(ny):
        for i in range(nx):
            k = j * nx + i
            rows.append({"ma_xa": f"{prefix}{k:03d}", "ten_xa": f"{name} {k + 1}", "ma_huyen": "H01"})
            geoms.append(shapely.box(x0 + i * size, y0 + j * size, x0 + (i + 1) * size, y0 + (j + 1) * size))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


@pytest.fixture
def grid():
    return grid_units


@pytest.fixture(scope="session")
def demo_store_path(tmp_path_factory) -> Path:
    """A demo province store (120 communes, seed 2024), built once per session. Read only:
    tests that write take ``demo_store`` (a private copy)."""
    from layers.demo import build_demo

    path = tmp_path_factory.mktemp("demo") / "demo.gpkg"
    build_demo(path, communes=120, seed=2024)
    return path


@pytest.fixture
def demo_store(demo_store_path, tmp_path):
    """A private, writable copy of the demo store (and its rasters folder)."""
    from layers.demo import raster_dir_for
    from layers.store import Store

    path = tmp_path / demo_store_path.name
    shutil.copy(demo_store_path, path)
    rasters = raster_dir_for(demo_store_path)
    if rasters.is_dir():
        shutil.copytree(rasters, raster_dir_for(path))
    return Store(path)


@pytest.fixture(scope="session")
def laocai_store_path(shared_data, tmp_path_factory) -> Path:
    """Real Lào Cai communes, districts and province (vietnam63), imported once per session.
    Read only."""
    from layers.boundaries import import_boundaries
    from layers.store import Store

    path = tmp_path_factory.mktemp("laocai") / "laocai.gpkg"
    store = Store(path, create=True)
    import_boundaries(store, shared_data / "boundaries" / "vnm_communes_vietnam63.gpkg",
                      level="commune", where="province_vn = 'Lào Cai'", build_parents=True)
    return path

"""Shared fixtures: the real data beside the repo, small synthetic boundaries, store hashes."""

from __future__ import annotations

import hashlib
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

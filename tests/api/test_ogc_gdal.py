"""A real client: GDAL's OGC API – Features driver reads a live uvicorn server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from layers.store import Store

SERVER = """
import sys, uvicorn
from api.app import create_app
from api.settings import Settings
app = create_app(Settings(store=sys.argv[1]))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_store_path, tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "uvicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", SERVER, str(demo_store_path), str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "NTM_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                pytest.fail(f"server exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/conformance", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("server did not start within 15 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-3000:]


def _same_values(got: pd.Series, want: pd.Series, name: str, sql_type: str) -> None:
    """Compare a GDAL column with the store's: GDAL may type nullable ints as floats and
    reads our date properties as OFTDate ('2025/01/01')."""
    got = got.reset_index(drop=True)
    want = want.reset_index(drop=True)
    if sql_type == "DATE":
        got, want = pd.to_datetime(got.str.replace("/", "-")), pd.to_datetime(want)
    assert got.isna().tolist() == want.isna().tolist(), name
    keep = want.notna().to_numpy()
    g, w = got[keep].tolist(), want[keep].tolist()
    if pd.api.types.is_float_dtype(want) or pd.api.types.is_float_dtype(got):
        np.testing.assert_allclose(np.asarray(g, dtype=float), np.asarray(w, dtype=float), rtol=1e-12, err_msg=name)
    else:
        assert [type(x)(y) if isinstance(x, (bool, int)) else y for x, y in zip(w, g)] == w, name


def test_gdal_lists_every_collection(server):
    layers = dict(pyogrio.list_layers(f"OAPIF:{server}").tolist())
    assert list(layers) == ["provinces", "districts", "communes", "villages", "commune-status", "roads", "schools",
                            "health-stations", "culture-houses", "markets", "power-lines", "transformers", "projects"]
    assert layers["communes"] == "MultiPolygon" and layers["schools"] == "Point" and layers["roads"] == "LineString"


@pytest.mark.parametrize("cid", ["communes", "villages", "schools", "roads", "projects"])
def test_gdal_reads_what_the_store_holds(server, demo_store_path, cid):
    table = cid.replace("-", "_")
    store = Store(demo_store_path)
    want = store.read_features(table).sort_values("fid").reset_index(drop=True)
    got = pyogrio.read_dataframe(f"OAPIF:{server}", layer=cid, fid_as_index=True).sort_index()
    assert len(got) == len(want)
    assert got.index.tolist() == want["fid"].tolist()  # GDAL takes our ids as FIDs
    columns = [c for c in store.columns(table) if c not in ("fid", "geom")]
    assert sorted(c for c in got.columns if c != "geometry") == sorted(columns)
    types = store.columns(table)
    for col in columns:
        _same_values(got[col], want[col], f"{cid}.{col}", types[col])
    dist = shapely.hausdorff_distance(got.geometry.values, want.geometry.values)
    assert float(np.nanmax(dist)) < 1e-6


def test_gdal_reads_commune_status_with_filters(server, demo_store_path):
    from layers.status import criteria_summary

    summary = criteria_summary(Store(demo_store_path), 2026, "qd51-2025-xa-ntm")
    got = pyogrio.read_dataframe(f"OAPIF:{server}", layer="commune-status")
    assert len(got) == len(summary)
    assert sorted(got["code"]) == sorted(summary["unit_code"])
    assert {f"criterion_{n}" for n in range(1, 11)} <= set(got.columns)
    merged = got.set_index("code").join(summary.set_index("unit_code")["n_met"])
    assert (merged["criteria_met"] == merged["n_met"]).all()
    # a spatial filter goes to the server as bbox and comes back exact
    box = tuple(got.total_bounds[:2]) + tuple(got.total_bounds[:2] + 0.1)
    some = pyogrio.read_dataframe(f"OAPIF:{server}", layer="communes", bbox=box)
    want = store_intersecting(demo_store_path, box)
    assert sorted(some["code"]) == want


def store_intersecting(path, box) -> list[str]:
    gdf = Store(path).read_features("communes")
    return sorted(gdf["code"][shapely.intersects(gdf.geometry.values, shapely.box(*box))])

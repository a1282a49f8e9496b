"""Concurrent writers: an ETag conflict loses nothing, even with 50 clients on a live server.

Each writer does a read-modify-write (value := value + 1) guarded by If-Match and retries
after a 412. Without the check some increments would be lost; with it the final value is
exactly the number of writers and the audit log holds one unbroken chain of before/after.
"""

import os
import random
import socket
import subprocess
import sys
import threading
import time

import httpx2 as httpx
import pytest

from _edit_fixtures import COMMUNE, build_base, make_env
from layers import audit
from layers.store import Store

CELL = f"/communes/{COMMUNE}/status/2024/2"
RESOURCE = f"communes/{COMMUNE}/status/2024/qd318-2022-xa-ntm/2"
WRITERS = 50


@pytest.fixture(scope="module")
def base(demo_store_path, tmp_path_factory):
    return build_base(demo_store_path, tmp_path_factory.mktemp("concurrency"))


def test_two_clients_one_loses_with_412_and_no_update_is_lost(base, tmp_path):
    env = make_env(base, tmp_path)
    a, b = env.client, env.client
    auth = env.auth("editor_in")
    seen_a, seen_b = a.get(CELL), b.get(CELL)
    assert seen_a.headers["etag"] == seen_b.headers["etag"]
    ra = a.put(CELL, json={"met": False, "note": "A: đường hỏng"}, headers=auth | {"If-Match": seen_a.headers["etag"]})
    assert ra.status_code == 200
    rb = b.put(CELL, json={"met": True, "note": "B"}, headers=auth | {"If-Match": seen_b.headers["etag"]})
    assert rb.status_code == 412 and rb.headers["etag"] == ra.headers["etag"]
    assert b.get(CELL).json()["note"] == "A: đường hỏng"  # B's failed write changed nothing
    again = b.get(CELL)
    rb = b.put(CELL, json={"met": True, "note": again.json()["note"] + "; B: đã sửa"},
               headers=auth | {"If-Match": again.headers["etag"]})
    assert rb.status_code == 200 and rb.json()["note"] == "A: đường hỏng; B: đã sửa"
    entries = env.client.get(f"/communes/{COMMUNE}/history").json()["entries"]
    assert [e["after"]["rows"][0]["note"] for e in entries] == ["A: đường hỏng; B: đã sửa", "A: đường hỏng"]
    assert entries[0]["before"] == entries[1]["after"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVER = """
from api.app import create_app


def app():
    made = create_app()  # the store comes from NTM_STORE
    return made
"""


@pytest.fixture
def server(base, tmp_path):
    path = tmp_path / "live.gpkg"
    env = make_env(base, tmp_path)  # a private copy
    env.store.path.rename(path)
    port = _free_port()
    (tmp_path / "live_app.py").write_text(SERVER)
    log = (tmp_path / "server.log").open("wb")
    # two worker processes, as in production: the ETag check must hold across processes too
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "live_app:app", "--factory", "--workers", "2",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            cwd=tmp_path, env=os.environ | {"NTM_STORE": str(path), "PYTHONPATH": str(tmp_path)},
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start: " + (tmp_path / "server.log").read_text())
            time.sleep(0.1)
        yield url, Store(path), base[1]["editor_in"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_fifty_concurrent_writers_lose_nothing(server):
    url, store, token = server
    start = threading.Barrier(WRITERS)
    attempts: dict[int, int] = {}
    failures: list[str] = []

    def writer(k: int) -> None:
        rng = random.Random(k)
        try:
            with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {token}"}) as client:
                start.wait()
                for attempt in range(1, 500):
                    seen = client.get(CELL)
                    value = seen.json()["value"] or 0
                    r = client.put(CELL, json={"met": True, "value": value + 1, "value_text": f"w{k}"},
                                   headers={"If-Match": seen.headers["etag"], "X-Request-ID": f"w{k}-{attempt}"})
                    if r.status_code == 200:
                        attempts[k] = attempt
                        return
                    if r.status_code != 412:
                        failures.append(f"writer {k}: {r.status_code} {r.text[:300]}")
                        return
                    time.sleep(rng.uniform(0, min(2.0, 0.05 * 2 ** attempt)))  # back off, then re-read
                failures.append(f"writer {k} gave up")
        except Exception as exc:  # noqa: BLE001 - reported below with the writer's number
            failures.append(f"writer {k}: {exc!r}")

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(attempts) == WRITERS
    assert sum(attempts.values()) > WRITERS  # there were conflicts, and they were retried

    final = httpx.get(url + CELL).json()
    assert final["value"] == WRITERS  # every increment counted: no update lost

    entries, total = audit.entries(store, resource=RESOURCE, limit=1000)
    assert total == WRITERS
    chain = sorted(entries, key=lambda e: e["id"])
    afters = [e["after"]["rows"][0]["value"] for e in chain]
    befores = [(e["before"]["rows"][0]["value"] or 0) for e in chain]
    assert afters == [float(n) for n in range(1, WRITERS + 1)]
    assert befores == [float(n) for n in range(WRITERS)]  # each write saw its predecessor's result
    assert sorted(e["after"]["rows"][0]["value_text"] for e in chain) == sorted(f"w{k}" for k in range(WRITERS))
    assert {e["request_id"] for e in chain} == {f"w{k}-{attempts[k]}" for k in range(WRITERS)}
    assert store.count("status_records", "unit_code = ? AND year = 2024 AND criterion = 2 AND recorded_by = ?",
                       [COMMUNE, "editor-d01"]) == WRITERS

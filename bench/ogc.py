"""OGC API – Features under load: NTM Atlas against pygeoapi on the same GeoPackage.

    .venv/bin/python -m bench.ogc                  # prints a table, writes bench/results/ogc.json
    .venv/bin/python -m bench.ogc --duration 10    # shorter runs

Both servers run under uvicorn with 2 workers on this 2-core machine and serve the
communes of the whole country (vietnam63, imported with ``import_boundaries``, cached
in bench/.cache). pygeoapi reads the file with its SQLiteGPKG provider, which needs a
Python whose sqlite3 loads mod_spatialite: Debian's /usr/bin/python3 with
libsqlite3-mod-spatialite, in a venv made here when missing. Each server gets its own
copy of the store (pygeoapi's AutoGPKGStart writes virtual tables into the file).

Requests, ``limit=1000``: the communes in Lào Cai's bounding box, and the first page
of the whole country. Load: ``wrk -t2 -c32 -d20s`` (32 concurrent connections), with a
30 s timeout so slow answers are measured rather than dropped; a Lua ``done`` hook
prints p50/p95/p99 and the error counts. Each run follows one warm-up request, so
NTM Atlas serves its revision-keyed response cache; the "unique bbox" row makes every
request different (a random shift of the box by up to ~100 m) to show the uncached
cost, and the "gzip" row sends Accept-Encoding: gzip.

Targets (issue 4): >= 10x pygeoapi's throughput, p95 <= 250 ms, zero errors.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "boundaries"
CACHE = ROOT / "bench" / ".cache"
RESULTS = ROOT / "bench" / "results"
PYGEOAPI_VENV = Path(os.environ.get("NTM_PYGEOAPI_VENV", "/tmp/pgapi/venv"))
SYSTEM_PYTHON = "/usr/bin/python3"
LIMIT = 1000
TARGET_RATIO, TARGET_P95_MS = 10.0, 250.0

_LUA_DONE = """
done = function(summary, latency, requests)
  io.write(string.format("NTM p50=%d p95=%d p99=%d max=%d\\n", latency:percentile(50),
    latency:percentile(95), latency:percentile(99), latency.max))
  local e = summary.errors
  io.write(string.format("NTM requests=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d\\n",
    summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout))
end
"""

_LUA_UNIQUE = """
local base, minx, miny, maxx, maxy = "{path}", {minx}, {miny}, {maxx}, {maxy}
math.randomseed(os.time())
request = function()
  local dx, dy = (math.random() - 0.5) * 0.002, (math.random() - 0.5) * 0.002
  local bbox = string.format("%.6f,%.6f,%.6f,%.6f", minx + dx, miny + dy, maxx + dx, maxy + dy)
  return wrk.format("GET", base .. "&bbox=" .. bbox)
end
"""


# --- data ------------------------------------------------------------------------------


def country_store() -> Path:
    """Whole-country communes (and districts, provinces) in a store, built once."""
    sys.path.insert(0, str(ROOT))
    from layers.boundaries import import_boundaries
    from layers.schema import SCHEMA_VERSION
    from layers.store import Store

    path = CACHE / f"country-communes-v{SCHEMA_VERSION}.gpkg"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    print(f"… importing the communes of Vietnam into {path}", file=sys.stderr, flush=True)
    store = Store(tmp, create=True)
    import_boundaries(store, SHARED / "vnm_communes_vietnam63.gpkg", level="commune", build_parents=True,
                      where="commune_vn IS NOT NULL", default_type="xa")
    tmp.rename(path)
    return path


def laocai_bbox(path: Path) -> tuple[float, float, float, float]:
    from layers.store import Store

    provinces = Store(path).read_features("provinces", "name = ?", ["Lào Cai"])
    if provinces.empty:
        raise SystemExit("Lào Cai is not in the country store")
    return tuple(round(float(v), 6) for v in provinces.total_bounds)


# --- servers ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not answer within {seconds} s")


def pygeoapi_python() -> Path:
    """The pygeoapi venv's python, made with Debian's python3 (mod_spatialite) if missing."""
    python = PYGEOAPI_VENV / "bin" / "python"
    ok = python.exists() and subprocess.run(
        [str(python), "-c", "import pygeoapi, starlette, uvicorn, sqlite3; c = sqlite3.connect(':memory:');"
         "c.enable_load_extension(True); c.load_extension('mod_spatialite')"],
        capture_output=True).returncode == 0
    if not ok:
        print(f"… creating the pygeoapi venv in {PYGEOAPI_VENV}", file=sys.stderr, flush=True)
        subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--clear", str(PYGEOAPI_VENV)], check=True)
        # pygeoapi's Starlette app needs starlette, which pygeoapi does not install itself
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "pygeoapi", "starlette", "uvicorn"],
                       check=True)
    return python


def _pygeoapi_config(store: Path, port: int, bbox) -> str:
    return textwrap.dedent(f"""\
        server:
          bind: {{host: 127.0.0.1, port: {port}}}
          url: http://127.0.0.1:{port}
          mimetype: application/json; charset=UTF-8
          encoding: utf-8
          language: en-US
          cors: false
          pretty_print: false
          limits: {{default_items: 10, max_items: 10000}}
          map: {{url: 'https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png', attribution: OSM}}
        logging: {{level: ERROR}}
        metadata:
          identification: {{title: NTM bench, description: bench, keywords: [bench], url: http://localhost,
                            terms_of_service: https://creativecommons.org/licenses/by/4.0/}}
          license: {{name: CC-BY 4.0, url: https://creativecommons.org/licenses/by/4.0/}}
          provider: {{name: bench, url: http://localhost}}
          contact: {{name: bench, email: bench@localhost, url: http://localhost}}
        resources:
          communes:
            type: collection
            title: Communes
            description: Communes of Vietnam
            keywords: [communes]
            extents:
              spatial: {{bbox: [{bbox[0]}, {bbox[1]}, {bbox[2]}, {bbox[3]}]}}
            providers:
              - type: feature
                name: SQLiteGPKG
                data: {store}
                id_field: fid
                table: communes
        """)


class Server:
    """A uvicorn server with 2 workers in a subprocess; stopped on exit."""

    def __init__(self, name: str, argv: list[str], env: dict, port: int, log: Path, ready: str):
        self.name, self.port, self.log = name, port, log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            _wait(f"http://127.0.0.1:{port}{ready}", self.proc, log)
        except BaseException:  # a server that never answered must not outlive the benchmark
            self.stop()
            raise

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_ours(store: Path, work: Path) -> Server:
    port = _free_port()
    env = {**os.environ, "NTM_STORE": str(store), "NTM_OFFLINE": "1"}
    argv = [sys.executable, "-m", "uvicorn", "bench.ogc:create_server", "--factory", "--workers", "2",
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    return Server("NTM Atlas", argv, env, port, work / "ours.log", "/conformance")


def start_pygeoapi(store: Path, work: Path, bbox) -> Server:
    python = pygeoapi_python()
    port = _free_port()
    config, openapi = work / "pygeoapi-config.yml", work / "pygeoapi-openapi.yml"
    config.write_text(_pygeoapi_config(store, port, bbox), encoding="utf-8")
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    env.pop("VIRTUAL_ENV", None)
    subprocess.run([str(python.parent / "pygeoapi"), "openapi", "generate", str(config), "--output-file",
                    str(openapi)], env=env, check=True, capture_output=True)
    argv = [str(python), "-m", "uvicorn", "pygeoapi.starlette_app:APP", "--workers", "2",
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    return Server("pygeoapi", argv, env, port, work / "pygeoapi.log", "/conformance?f=json")


def create_server():
    """uvicorn factory for our side: the app of ``api.app`` (OGC routes included), on NTM_STORE."""
    from api.app import create_app
    from api.settings import Settings

    return create_app(Settings())


# --- load ------------------------------------------------------------------------------


def _get(url: str, headers: dict | None = None, tries: int = 10) -> tuple[int, bytes]:
    """GET with retries: pygeoapi answers some requests with a 500 (its provider's shared
    SQLite cursor); the warm-up needs one good answer to describe the response."""
    for attempt in range(tries):
        req = urllib.request.Request(url, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            if exc.code < 500 or attempt == tries - 1:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def wrk(url: str, *, duration: int, work: Path, script: str = "", headers: dict | None = None) -> dict:
    lua = work / f"wrk-{abs(hash((url, script))) % 10**8}.lua"
    lua.write_text(script + _LUA_DONE, encoding="utf-8")
    argv = ["wrk", "-t2", "-c32", f"-d{duration}s", "--latency", "--timeout", "30s", "-s", str(lua)]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    stats = dict(re.findall(r"(\w+)=(\d+)", " ".join(line for line in out.splitlines() if line.startswith("NTM "))))
    rps = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    return {
        "requests_per_s": round(rps, 1),
        "p50_ms": round(int(stats["p50"]) / 1000, 1),
        "p95_ms": round(int(stats["p95"]) / 1000, 1),
        "p99_ms": round(int(stats["p99"]) / 1000, 1),
        "requests": int(stats["requests"]),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(stats[k]) for k in ("connect", "read", "write", "timeout")),
        "mb_per_s": round(int(stats["bytes"]) / duration / 1e6, 1),
    }


def _describe(body: bytes) -> dict:
    doc = json.loads(body)
    return {"numberMatched": doc.get("numberMatched"), "numberReturned": len(doc["features"]),
            "kb": round(len(body) / 1000)}


def run(duration: int) -> dict:
    store = country_store()
    bbox = laocai_bbox(store)
    bbox_text = ",".join(str(v) for v in bbox)
    requests = {
        "Lào Cai bbox": f"/collections/communes/items?f=json&limit={LIMIT}&bbox={bbox_text}",
        "whole country": f"/collections/communes/items?f=json&limit={LIMIT}",
    }
    rows = []
    with tempfile.TemporaryDirectory(prefix="ntm-bench-ogc-") as tmp:
        work = Path(tmp)
        ours_store, their_store = work / "ours.gpkg", work / "pygeoapi.gpkg"
        shutil.copy(store, ours_store)
        shutil.copy(store, their_store)
        servers = []
        try:
            print("… starting pygeoapi and NTM Atlas (uvicorn, 2 workers each)", file=sys.stderr, flush=True)
            servers = [start_pygeoapi(their_store, work, bbox), start_ours(ours_store, work)]
            for server in servers:
                for name, path in requests.items():
                    status, body = _get(server.url(path))  # warm-up; also checks the answer
                    info = _describe(body)
                    print(f"… {server.name}: {name} ({info['numberReturned']} features, {info['kb']} KB), "
                          f"wrk {duration} s", file=sys.stderr, flush=True)
                    rows.append({"server": server.name, "request": name, **info,
                                 **wrk(server.url(path), duration=duration, work=work)})
                    time.sleep(1)
            ours = servers[1]
            path = requests["Lào Cai bbox"]
            _, gz = _get(ours.url(path), {"Accept-Encoding": "gzip"})
            print("… NTM Atlas: Lào Cai bbox with gzip; then unique bboxes (uncached)", file=sys.stderr, flush=True)
            rows.append({"server": ours.name, "request": "Lào Cai bbox, gzip", **_describe(_get(ours.url(path))[1]),
                         "kb": round(len(gz) / 1000),
                         **wrk(ours.url(path), duration=duration, work=work, headers={"Accept-Encoding": "gzip"})})
            base = f"/collections/communes/items?f=json&limit={LIMIT}"
            unique = _LUA_UNIQUE.format(path=base, minx=bbox[0], miny=bbox[1], maxx=bbox[2], maxy=bbox[3])
            rows.append({"server": ours.name, "request": "Lào Cai bbox, unique (uncached)",
                         **_describe(_get(ours.url(path))[1]),
                         **wrk(ours.url(base), duration=duration, work=work, script=unique)})
            for server in servers:
                log = server.log.read_text(errors="replace")
                if "Traceback" in log:
                    print(f"! {server.name} logged errors; see the tail:\n{log[-1500:]}", file=sys.stderr)
        finally:
            for server in servers:
                server.stop()
    return {"rows": rows, "bbox": bbox, "duration_s": duration}


def _verdicts(rows: list[dict]) -> list[dict]:
    base = {r["request"]: r for r in rows if r["server"] == "pygeoapi"}
    for r in rows:
        ref = base.get(r["request"].split(",")[0])
        if r["server"] == "pygeoapi" or ref is None:
            continue
        r["x_pygeoapi"] = round(r["requests_per_s"] / max(ref["requests_per_s"], 1e-9), 1)
        r["meets_targets"] = bool(r["x_pygeoapi"] >= TARGET_RATIO and r["p95_ms"] <= TARGET_P95_MS
                                  and r["non_2xx"] == 0 and r["socket_errors"] == 0)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run (default 20)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    load_before = os.getloadavg()
    result = run(args.duration)
    load_after = os.getloadavg()
    rows = _verdicts(result["rows"])
    keys = ["server", "request", "numberReturned", "kb", "requests_per_s", "p50_ms", "p95_ms", "p99_ms",
            "non_2xx", "socket_errors", "x_pygeoapi", "meets_targets"]
    widths = {k: max(len(k), *(len(str(r.get(k, ""))) for r in rows)) for k in keys}
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for r in rows:
        print("  ".join(str(r.get(k, "")).ljust(widths[k]) for k in keys))
    print(f"targets: >= {TARGET_RATIO:g}x pygeoapi requests/s, p95 <= {TARGET_P95_MS:g} ms, no errors "
          f"(wrk -t2 -c32 -d{args.duration}s, limit={LIMIT}, Lào Cai bbox {result['bbox']})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "ogc.json"
    out.write_text(json.dumps({"machine": platform.platform(), "python": platform.python_version(),
                               "cpus": os.cpu_count(), "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
                               "load": f"wrk -t2 -c32 -d{args.duration}s --timeout 30s", "limit": LIMIT,
                               "loadavg_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
                               "laocai_bbox": result["bbox"],
                               "targets": {"x_pygeoapi": TARGET_RATIO, "p95_ms": TARGET_P95_MS, "errors": 0},
                               "rows": rows}, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"machine load average (1 min) before/after: {load_before[0]:.1f} / {load_after[0]:.1f} "
          f"on {os.cpu_count()} CPUs (other processes skew the numbers)")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

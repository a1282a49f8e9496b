"""Benchmark of the overview web map against a naive folium.Choropleth, in headless Chromium.

    .venv/bin/python -m bench.maps            (or: .venv/bin/python bench/maps.py)
    .venv/bin/python -m bench.maps --only province

Imports the 11,163 real communes of Vietnam (vietnam63) into a temporary store with
districts and provinces, adds one year of synthetic criteria status (seeded; the
naive page colours by it too), and compares, for the whole country and for Lào Cai:

- page bytes: every response body the browser downloads for the first view (until
  the window ``load`` event, and for our page until its data is drawn), measured from
  Chromium's responses; gzip bytes: the same bodies gzip-compressed (level 6);
- generation time: the page built by the server, cold (first request after start)
  and warm (the same request again: cached per store revision); for our page also a
  rebuild in another mode (geometry cached, classification not);
- time to the window ``load`` event (navigation timing) in headless Chromium, and for
  our page the time until its map is drawn (``data-ready``).

Both pages load Leaflet from the same local server (naive: folium's default set of
scripts and styles; ours: only what it uses). Results: a table, and JSON in
bench/results/maps.json, with the targets of issue 3.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SOURCE = ROOT.parent / "shared" / "data" / "boundaries" / "vnm_communes_vietnam63.gpkg"
RESULTS = ROOT / "bench" / "results"
CHROMIUM = "/usr/bin/chromium"
YEAR, SET_ID = 2024, "qd318-2022-xa-ntm"
LAO_CAI = (22.35, 104.0)  # where the national page is zoomed in to time the commune fetch
SHOTS = Path(os.environ["NTM_BENCH_SHOTS"]) if os.environ.get("NTM_BENCH_SHOTS") else None
TARGETS = {
    "country": {"bytes_ratio_max": 0.1, "load_ratio_max": 0.5},
    "province": {"gzip_bytes_max": 300_000, "bytes_ratio_max": 1 / 3, "warm_generation_s_max": 0.5},
}
SERVE = """
import sys, uvicorn
from fastapi.staticfiles import StaticFiles
from api.app import create_app
from api.settings import Settings
from api import routes_maps
app = create_app(Settings(store=sys.argv[1], offline=True))
routes_maps.include(app)
app.mount("/naive", StaticFiles(directory=sys.argv[3]), name="naive")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def build_store(path: Path) -> None:
    """The country's communes (with built districts and provinces) and synthetic 2024 status."""
    import numpy as np
    import pandas as pd

    from layers import admin_units
    from layers.boundaries import import_boundaries
    from layers.store import Store, utc_now

    store = Store(path, create=True)
    import_boundaries(store, SOURCE, level="commune", build_parents=True, where="commune_vn IS NOT NULL",
                      default_type="xa")
    codes = admin_units.units_table(store, "commune")["code"].to_numpy()
    rng = np.random.default_rng(2024)
    n_met = rng.integers(5, 20, len(codes))
    rows = pd.DataFrame({
        "unit_code": np.repeat(codes, 19), "year": YEAR, "set_id": SET_ID,
        "criterion": np.tile(np.arange(1, 20), len(codes)),
        "met": (np.tile(np.arange(1, 20), len(codes)) <= np.repeat(n_met, 19)),
        "recorded_at": utc_now(), "recorded_by": "bench",
    })
    with store.transaction() as conn:
        store.insert_rows(conn, "status_records", rows)


def naive_page(store_path: Path, province: str | None) -> tuple[str, float]:
    """folium.Choropleth of criteria met over the same communes, Leaflet & co. served locally."""
    import folium

    from layers import admin_units, status
    from layers.store import Store
    from maps import assets

    store = Store(store_path)
    started = time.perf_counter()
    gdf = admin_units.units_table(store, "commune", on=admin_units.year_end(YEAR), geometry=True)
    if province:
        gdf = gdf[gdf["code"].isin(admin_units.units_in_scope(store, province, "commune")["code"])]
    summary = status.criteria_summary(store, YEAR, SET_ID, scope_code=province)
    fmap = folium.Map(tiles=None)
    js, css = dict(assets.offline_resources()[0]), dict(assets.offline_resources()[1])
    fmap.default_js = [(n, js[n]) for n, _ in folium.Map.default_js if n in js]
    fmap.default_css = [(n, css[n]) for n, _ in folium.Map.default_css if n in css]
    folium.Choropleth(gdf[["code", "name", "geometry"]], data=summary, columns=["unit_code", "n_met"],
                      key_on="feature.properties.code", fill_color="RdYlGn", bins=[0, 10, 15, 19, 20],
                      legend_name="Số tiêu chí đạt").add_to(fmap)
    fmap.fit_bounds([[gdf.total_bounds[1], gdf.total_bounds[0]], [gdf.total_bounds[3], gdf.total_bounds[2]]])
    page = fmap.get_root().render()
    return page, time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as resp:
        body = resp.read()
    return time.perf_counter() - started, len(body)


def measure_in_chromium(browser, url: str, *, ours: bool, zoom_to=None, screenshot: Path | None = None) -> dict:
    """Bytes and gzip bytes of every response until the first view, and the load time."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    bodies: list[bytes] = []
    outside: list[str] = []

    def on_response(response):
        try:
            bodies.append(response.body())
        except Exception:  # noqa: BLE001 (redirects and aborted requests have no body)
            pass

    page.on("response", on_response)
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:")) else None)
    started = time.perf_counter()
    page.goto(url, wait_until="load", timeout=900_000)
    load_wall = time.perf_counter() - started
    load_ms = page.evaluate("() => performance.getEntriesByType('navigation')[0].loadEventStart")
    ready_s = None
    if ours:
        page.wait_for_selector(".folium-map[data-ready='1']", timeout=120_000)
        ready_s = time.perf_counter() - started
    page.wait_for_timeout(300)  # late responses of the first view
    raw = sum(len(b) for b in bodies)
    gz = sum(len(gzip.compress(b, 6)) for b in bodies)
    out = {"bytes": raw, "gzip_bytes": gz, "requests": len(bodies), "load_s": round(load_ms / 1000, 3),
           "load_wall_s": round(load_wall, 3), "ready_s": round(ready_s, 3) if ready_s else None}
    if screenshot:
        page.screenshot(path=str(screenshot))
    if ours and zoom_to:  # national scope: zoom into a province, its communes are fetched then
        first = len(bodies)
        started = time.perf_counter()
        page.evaluate("([lat, lon]) => { ntmMap.setView([lat, lon], 10, {animate: false}); }", zoom_to)
        page.wait_for_function("+document.querySelector('.folium-map').dataset.communes > 0", timeout=120_000)
        page.wait_for_timeout(300)
        out["zoom_in"] = {"seconds": round(time.perf_counter() - started, 3),
                          "bytes": sum(len(b) for b in bodies[first:]),
                          "gzip_bytes": sum(len(gzip.compress(b, 6)) for b in bodies[first:]),
                          "communes_drawn": int(page.get_attribute(".folium-map", "data-communes"))}
        if screenshot:
            page.screenshot(path=str(screenshot.with_name(screenshot.stem + "-zoomed.png")))
    context.close()
    return out | {"outside_requests": outside}


def run(only: list[str]) -> dict:
    from playwright.sync_api import sync_playwright

    from layers.store import Store
    from maps.web_data import resolve_view

    tmp = Path(tempfile.mkdtemp(prefix="ntm-bench-maps-"))
    store_path = tmp / "vn.gpkg"
    print(f"… importing {SOURCE.name} into {store_path}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    build_store(store_path)
    import_s = time.perf_counter() - started
    store = Store(store_path)
    from layers import admin_units

    provinces = admin_units.units_table(store, "province")
    laocai = str(provinces.loc[provinces["name"] == "Lào Cai", "code"].iloc[0])
    n_communes = len(admin_units.units_table(store, "commune"))
    cases = {"country": None, "province": laocai}
    naive_dir = tmp / "naive"
    naive_dir.mkdir()
    naive = {}
    for case, province in cases.items():
        if case in only:
            print(f"… naive page: {case}", file=sys.stderr, flush=True)
            html, seconds = naive_page(store_path, province)
            (naive_dir / f"{case}.html").write_text(html, encoding="utf-8")
            naive[case] = seconds
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(store_path), str(port), str(naive_dir)], cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        rows = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            for case, province in cases.items():
                if case not in only:
                    continue
                query = f"year={YEAR}&set={SET_ID}" + (f"&province={province}" if province else "")
                url = f"{base}/map?{query}"
                print(f"… ours: {case}", file=sys.stderr, flush=True)
                cold_s, _ = _get(url)
                warm_s, _ = _get(url)
                other_s, _ = _get(url + "&mode=recognition")
                ours = measure_in_chromium(browser, url, ours=True, zoom_to=None if province else LAO_CAI,
                                           screenshot=SHOTS / f"maps-{case}.png" if SHOTS else None)
                print(f"… naive in chromium: {case}", file=sys.stderr, flush=True)
                theirs = measure_in_chromium(browser, f"{base}/naive/{case}.html", ours=False)
                view = resolve_view(store, year=YEAR, set_id=SET_ID, province=province)
                rows.append({
                    "case": case, "communes": view.n_communes,
                    "ours": ours | {"generation_cold_s": round(cold_s, 3), "generation_warm_s": round(warm_s, 4),
                                    "generation_other_mode_s": round(other_s, 3)},
                    "naive": theirs | {"generation_s": round(naive[case], 3)},
                    "bytes_ratio": round(ours["bytes"] / theirs["bytes"], 4),
                    "gzip_ratio": round(ours["gzip_bytes"] / theirs["gzip_bytes"], 4),
                    "load_ratio": round(ours["load_s"] / theirs["load_s"], 4) if theirs["load_s"] else None,
                    "ready_vs_naive_load_ratio": round(ours["ready_s"] / theirs["load_wall_s"], 4),
                })
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    return {"machine": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "load_average": os.getloadavg(), "store_communes": n_communes, "import_s": round(import_s, 1),
            "targets": TARGETS, "results": rows, "checks": _checks(rows)}


def _checks(rows: list[dict]) -> dict:
    out = {}
    for r in rows:
        t = TARGETS[r["case"]]
        c = {"bytes_ratio": r["bytes_ratio"] <= t["bytes_ratio_max"]}
        if "load_ratio_max" in t:
            c["load_ratio"] = r["load_ratio"] is not None and r["load_ratio"] <= t["load_ratio_max"]
        if "gzip_bytes_max" in t:
            c["gzip_bytes"] = r["ours"]["gzip_bytes"] <= t["gzip_bytes_max"]
            c["warm_generation"] = r["ours"]["generation_warm_s"] <= t["warm_generation_s_max"]
        out[r["case"]] = c
    return out


def _table(report: dict) -> str:
    head = ["case", "page", "bytes", "gzip bytes", "requests", "gen cold s", "gen warm s", "load s", "drawn s"]
    lines = []
    for r in report["results"]:
        for who in ("naive", "ours"):
            m = r[who]
            lines.append([r["case"], who, f"{m['bytes']:,}", f"{m['gzip_bytes']:,}", str(m["requests"]),
                          str(m.get("generation_cold_s", m.get("generation_s"))), str(m.get("generation_warm_s", "–")),
                          str(m["load_s"]), str(m["ready_s"] or m["load_wall_s"])])
        lines.append([r["case"], "ours/naive", str(r["bytes_ratio"]), str(r["gzip_ratio"]), "", "", "",
                      str(r["load_ratio"]), str(r["ready_vs_naive_load_ratio"])])
    widths = [max(len(h), *(len(row[k]) for row in lines)) for k, h in enumerate(head)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths))]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in lines]
    for r in report["results"]:
        if "zoom_in" in r["ours"]:
            z = r["ours"]["zoom_in"]
            out.append(f"{r['case']}, ours, zoomed in to zoom 10: {z['communes_drawn']} communes fetched and drawn in "
                       f"{z['seconds']} s, {z['bytes']:,} bytes ({z['gzip_bytes']:,} gzip)")
    for case, checks in report["checks"].items():
        out.append(f"targets {case}: " + ", ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in checks.items()))
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=["country", "province"], default=["country", "province"])
    args = parser.parse_args()
    if not SOURCE.is_file():
        parser.error(f"boundary file not found: {SOURCE}")
    report = run(args.only)
    print(_table(report))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "maps.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

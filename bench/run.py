"""Benchmarks of NTM Atlas: run, print a table, write JSON to bench/results/.

    python3 dev.py bench                          # every benchmark (installs wrk & co. first)
    .venv/bin/python bench/run.py import demo120  # some of them
    .venv/bin/python bench/run.py --list

Timings are wall-clock seconds on this machine (2 cores); each benchmark runs in a
fresh temporary store. National-scale runs live here, never in the unit tests.
The larger suites are modules of their own, each run in a fresh process and printing
its own table and JSON (``python -m bench.maps`` etc. runs one directly):
maps (web map bytes and load time vs naive folium), ogc (OGC API vs pygeoapi under
wrk), indicators (national-scale indicators vs geopandas, exactextract vs
rasterstats), prioritise (budget optimisation over all communes).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "boundaries"
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))


def _timed(func) -> tuple[float, object]:
    started = time.perf_counter()
    out = func()
    return time.perf_counter() - started, out


def bench_import() -> list[dict]:
    """Import all 11,163 communes of Vietnam (both sources), building districts and provinces."""
    from layers.boundaries import import_boundaries
    from layers.store import Store

    rows = []
    cases = [
        ("vietnam63", "vnm_communes_vietnam63.gpkg", {"where": "commune_vn IS NOT NULL", "default_type": "xa"}),
        ("gadm41", "vnm_communes_gadm41.gpkg", {
            "code_field": "GID_3", "name_field": "commune", "type_field": "commune_type", "default_type": "xa",
            "district_code_field": "GID_2", "district_name_field": "district",
            "province_code_field": "GID_1", "province_name_field": "province",
            "where": "commune_type IN ('Xã', 'Phường', 'Thị trấn')"}),
    ]
    for name, file, opts in cases:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "b.gpkg", create=True)
            seconds, result = _timed(lambda: import_boundaries(
                store, SHARED / file, level="commune", build_parents=True, **opts))
            rows.append({
                "benchmark": f"import communes of Vietnam ({name})",
                "seconds": round(seconds, 2),
                "communes": result.counts["commune"], "districts": result.counts["district"],
                "provinces": result.counts["province"],
                "overlap_share": result.topology["overlap_share"], "gap_share": result.topology["gap_share"],
                "store_mb": round((Path(tmp) / "b.gpkg").stat().st_size / 1e6, 1),
            })
    return rows


def _bench_demo(communes: int) -> list[dict]:
    from layers.demo import build_demo

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.gpkg"
        seconds, summary = _timed(lambda: build_demo(path, communes=communes))
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
        return [{
            "benchmark": f"demo build, {communes} communes",
            "seconds": round(seconds, 1),
            **{k: v for k, v in summary.counts.items() if k in ("communes", "villages", "roads", "status_records")},
            "store_mb": round(size / 1e6, 1),
        }]


SUITES = {
    "maps": ["bench.maps"],
    "ogc": ["bench.ogc"],
    "indicators": ["bench.indicators", "--communes", "11000"],
    "prioritise": ["bench.prioritise"],
}

BENCHMARKS = {
    "import": bench_import,
    "demo120": lambda: _bench_demo(120),
    "demo11000": lambda: _bench_demo(11000),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all): {', '.join([*BENCHMARKS, *SUITES])}")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.list:
        print("\n".join([*BENCHMARKS, *SUITES]))
        return 0
    unknown = [n for n in args.names if n not in BENCHMARKS and n not in SUITES]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {[*BENCHMARKS, *SUITES]}")
    names = args.names or [*BENCHMARKS, *SUITES]
    failed = []
    for name in (n for n in names if n in SUITES):
        print(f"… {name} ({' '.join(SUITES[name])})", file=sys.stderr, flush=True)
        if subprocess.run([sys.executable, "-m", *SUITES[name]], cwd=ROOT).returncode != 0:
            failed.append(name)
    rows = []
    for name in (n for n in names if n in BENCHMARKS):
        print(f"… {name}", file=sys.stderr, flush=True)
        rows += BENCHMARKS[name]()
    if not rows:
        return 1 if failed else 0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    keys = list(dict.fromkeys(k for r in rows for k in r))
    widths = {k: max(len(k), *(len(str(r.get(k, ""))) for r in rows)) for k in keys}
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for r in rows:
        print("  ".join(str(r.get(k, "")).ljust(widths[k]) for k in keys))
    print(f"peak memory of this run: {peak_mb:.0f} MB")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = RESULTS / f"bench-{stamp}.json"
    out.write_text(json.dumps({"machine": platform.platform(), "python": platform.python_version(),
                               "peak_rss_mb": round(peak_mb), "results": rows}, indent=2, ensure_ascii=False))
    print(f"written {out}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

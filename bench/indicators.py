"""Benchmark of the per-commune infrastructure indicators (issue 5 §5).

    .venv/bin/python -m bench.indicators                    # quick check, 1,000 communes
    .venv/bin/python -m bench.indicators --communes 11000   # national scale (the reported numbers)

On a demo store (built once and cached under bench/.cache/), measures in one run:

1. the fast pipeline (``layers.indicators_infra`` + straight-line access shares +
   exactextract zonal statistics), all per-commune indicators without travel time;
2. the straightforward geopandas pipeline computing the same vector indicators:
   ``overlay`` for road and power km, ``sjoin`` for facility counts, plain
   ``sjoin_nearest`` (no ``max_distance``) for grid and facility distances;
3. zonal statistics (elevation mean/min/max, population sum per commune) with
   exactextract and with rasterstats on the same rasters and polygons.

Targets: (1) ≤ 15 s and ≥ 5× faster than (2); results of (1) and (2) agree. Reading
the store is timed apart (the same for both). Prints a table and writes
bench/results/indicators.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 15.0
TARGET_SPEEDUP = 5.0
GRID_M = 1000.0


def _timed(func):
    started = time.perf_counter()
    out = func()
    return time.perf_counter() - started, out


def demo_store(communes: int) -> Path:
    """The cached demo store with ``communes`` communes, seed 2024 (built on first use;
    its rasters table points at the folder beside it, so the pair is never renamed)."""
    from layers.demo import build_demo

    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")
    path = CACHE / f"demo-{communes}.gpkg"
    if not path.exists():
        print(f"… building the demo store ({communes} communes; about 200 s for 11,000)", file=sys.stderr, flush=True)
        build_demo(path, communes=communes, seed=2024)
    return path


# --- the two pipelines ----------------------------------------------------------------


def fast_pipeline(store, units, layers, *, zonal: bool = True) -> pd.DataFrame:
    """``layers.indicators.indicators_for_units`` for communes: no villages rows, access
    straight-line only (road-network distances are not per-commune indicators)."""
    from layers import indicators

    options = indicators.IndicatorOptions(grid_distance_m=GRID_M, network=False, zonal=zonal, levels=("commune",))
    frame, _, timings = indicators.indicators_for_units(store, units, options=options, layers=layers)
    print(f"  steps: {timings}", file=sys.stderr, flush=True)
    return frame


def geopandas_pipeline(units, layers, epsg: int) -> pd.DataFrame:
    """The straightforward way: one metric CRS, overlay, sjoin, sjoin_nearest."""
    import geopandas as gpd

    from layers.indicators import DEFAULT_WITHIN_M

    communes = units.communes[["code", "geometry"]].to_crs(epsg)
    communes["area_km2"] = communes.area / 1e6
    out = {}
    roads = layers["roads"].to_crs(epsg)
    roads["hard"] = roads["hardened"].astype("boolean").fillna(roads["surface"].isin(["asphalt", "concrete"])) \
        .fillna(False).astype(bool)
    pieces = gpd.overlay(roads, communes, how="intersection", keep_geom_type=True)
    pieces["km"] = pieces.length / 1000
    km = pieces.groupby("code")["km"].sum()
    out["road_km"] = km
    out["road_hardened_share"] = pieces[pieces["hard"]].groupby("code")["km"].sum().reindex(km.index, fill_value=0) / km
    out["road_density"] = km / communes.set_index("code")["area_km2"]
    for (cls, srf), km_cs in pieces.groupby(["code", "road_class", "surface"])["km"].sum().groupby(level=[1, 2]):
        out[f"road_km.{cls}.{srf}"] = km_cs.droplevel([1, 2])
    power = layers["power_lines"].to_crs(epsg)
    ppieces = gpd.overlay(power, communes, how="intersection", keep_geom_type=True)
    out["power_km"] = (ppieces.length / 1000).groupby(ppieces["code"]).sum()
    for table in ("schools", "health_stations", "markets", "culture_houses"):
        points = layers[table]
        if table == "schools":  # main schools; satellite sites are counted apart
            points = points[~points["satellite"].astype(bool)]
        joined = gpd.sjoin(points.to_crs(epsg), communes, predicate="within")
        out[table] = joined.groupby("code").size()
    villages = units.villages.copy()
    villages["geometry"] = villages.geometry.representative_point()
    villages = villages.set_geometry("geometry").to_crs(epsg)[["code", "commune", "population", "geometry"]]
    near = gpd.sjoin_nearest(villages, power[["geometry"]], distance_col="dist")
    near = near[~near.index.duplicated()]
    within = near["dist"] <= GRID_M
    out["villages_near_grid_share"] = within.groupby(near["commune"]).mean()
    for table, metres in DEFAULT_WITHIN_M.items():
        nearest = gpd.sjoin_nearest(villages, layers[table].to_crs(epsg)[["geometry"]], distance_col="dist")
        nearest = nearest[~nearest.index.duplicated()]
        out[f"villages_within_share.straight.{table}"] = (nearest["dist"] <= metres).groupby(nearest["commune"]).mean()
    frame = pd.DataFrame(out)
    frame.index.name = "unit_code"
    return frame


def compare(fast: pd.DataFrame, slow: pd.DataFrame) -> dict:
    """Largest differences between the pipelines on the indicators both compute."""
    wide = fast.pivot_table(index="unit_code", columns="name", values="value")
    result = {}
    for name, tol in (("road_km", "rel"), ("power_km", "rel"), ("schools", "abs"), ("health_stations", "abs"),
                      ("villages_near_grid_share", "abs"), ("villages_within_share.straight.schools", "abs")):
        a = wide[name]
        b = slow[name].reindex(a.index).fillna(0)
        diff = (a - b).abs()
        if tol == "rel":
            diff = diff / b.abs().clip(lower=1e-9)
        result[name] = float(diff.max())
    return result


# --- zonal statistics -----------------------------------------------------------------


def zonal_comparison(store, units, limit: int | None) -> list[dict]:
    """exactextract vs rasterstats: elevation mean/min/max and population sum per commune."""
    from rasterstats import zonal_stats as rs_zonal

    from layers import zonal

    groups = zonal.raster_groups(store)
    keys = zonal.assign_groups(units.communes, groups)
    communes = units.communes.assign(_key=keys.to_numpy())
    if limit:
        communes = communes.iloc[:limit]
    ee_s = rs_s = 0.0
    ee_vals, rs_vals = [], []
    for key, frame in communes.groupby("_key"):
        group = groups[key]
        dem = zonal.read_band(group.paths["dem"])
        geoms = frame.to_crs(dem.crs).geometry.values

        def exact():
            elev = zonal.zonal_stats(geoms, {"dem": zonal.read_band(group.paths["dem"])}, ["mean", "min", "max"])
            pop = zonal.zonal_stats(geoms, {"pop": zonal.read_band(group.paths["population"])}, ["sum"])
            return elev["mean"].to_numpy(), pop["sum"].to_numpy()

        def rasterstats():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                elev = rs_zonal(list(geoms), str(group.paths["dem"]), stats=["mean", "min", "max"])
                pop = rs_zonal(list(geoms), str(group.paths["population"]), stats=["sum"])
            return np.array([e["mean"] for e in elev], float), np.array([p["sum"] or 0 for p in pop], float)

        s, ee = _timed(exact)
        ee_s += s
        s, rs = _timed(rasterstats)
        rs_s += s
        ee_vals.append(ee)
        rs_vals.append(rs)
    ee_mean = np.concatenate([v[0] for v in ee_vals])
    rs_mean = np.concatenate([v[0] for v in rs_vals])
    ee_pop = sum(v[1].sum() for v in ee_vals)
    rs_pop = sum(v[1].sum() for v in rs_vals)
    n = len(communes)
    return [
        {"benchmark": f"zonal stats, exactextract ({n} communes)", "seconds": round(ee_s, 2),
         "note": f"population total {ee_pop:,.0f} (partial cells)"},
        {"benchmark": f"zonal stats, rasterstats ({n} communes)", "seconds": round(rs_s, 2),
         "speedup": round(rs_s / ee_s, 1),
         "note": f"population total {rs_pop:,.0f} (cell centres); mean elevation differs by "
                 f"{np.nanmean(np.abs(ee_mean - rs_mean)):.1f} m on average"},
    ]


# --- main -----------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--communes", type=int, default=1000, help="demo size (11000 = national scale)")
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--no-baseline", action="store_true", help="skip the geopandas pipeline")
    parser.add_argument("--rasterstats-limit", type=int, default=None,
                        help="run the zonal comparison on the first N communes only")
    args = parser.parse_args(argv)

    from layers import access
    from layers.indicator_units import load_units
    from layers.store import Store

    path = demo_store(args.communes)
    store = Store(path)
    rows: list[dict] = []
    load_s, units = _timed(lambda: load_units(store, None, args.year))
    specs = {"roads": ["road_class", "surface", "hardened"], "power_lines": ["voltage_kv"],
             "schools": ["school_level", "meets_standard", "satellite"], "health_stations": ["meets_standard"],
             "markets": ["market_class", "meets_standard"], "culture_houses": ["scope", "meets_standard"]}
    s, layers = _timed(lambda: {t: store.read_features(t, columns=c) for t, c in specs.items()})
    load_s += s
    sizes = f"{len(units.communes)} communes, {len(units.villages)} villages, {len(layers['roads'])} roads, " \
            f"{sum(len(layers[t]) for t in ('schools', 'health_stations', 'markets', 'culture_houses'))} facilities"
    print(f"… {sizes}; store read in {load_s:.1f} s", file=sys.stderr, flush=True)
    rows.append({"benchmark": "read units and layers from the store", "seconds": round(load_s, 2), "note": sizes})

    vec_s, fast_vec = _timed(lambda: fast_pipeline(store, units, layers, zonal=False))
    all_s, fast_all = _timed(lambda: fast_pipeline(store, units, layers))
    rows.append({"benchmark": "fast: vector indicators per commune (roads, power, facilities, grid, access)",
                 "seconds": round(vec_s, 2)})
    rows.append({"benchmark": "fast: all per-commune indicators (vector + zonal), no travel time",
                 "seconds": round(all_s, 2), "target": f"≤ {TARGET_SECONDS:.0f} s",
                 "ok": bool(all_s <= TARGET_SECONDS),
                 "note": f"{fast_all['name'].nunique()} indicators, {len(fast_all)} values"})
    if not args.no_baseline:
        epsg = access.scope_zone(units)
        print("… geopandas pipeline", file=sys.stderr, flush=True)
        slow_s, slow = _timed(lambda: geopandas_pipeline(units, layers, epsg))
        diffs = compare(fast_vec[fast_vec["unit_level"] == "commune"], slow)
        speedup = slow_s / vec_s
        rows.append({"benchmark": "geopandas: overlay + sjoin + sjoin_nearest (same vector indicators)",
                     "seconds": round(slow_s, 2), "speedup": round(speedup, 1), "target": f"≥ {TARGET_SPEEDUP:.0f}×",
                     "ok": bool(speedup >= TARGET_SPEEDUP),
                     "note": "max difference " + ", ".join(f"{k} {v:.2g}" for k, v in diffs.items())})
    print("… zonal statistics: exactextract vs rasterstats", file=sys.stderr, flush=True)
    zonal_rows = zonal_comparison(store, units, args.rasterstats_limit)
    rows += zonal_rows
    if not args.no_baseline and args.rasterstats_limit is None:
        straightforward = slow_s + zonal_rows[1]["seconds"]
        rows.append({"benchmark": "straightforward, all per-commune indicators (geopandas + rasterstats)",
                     "seconds": round(straightforward, 2), "speedup": round(straightforward / all_s, 1),
                     "note": "sum of the two rows above, against the fast 'all' row"})

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    keys = ["benchmark", "seconds", "speedup", "target", "ok", "note"]
    widths = {k: max(len(k), *(len(str(r.get(k, ""))) for r in rows)) for k in keys}
    print(f"Indicators benchmark — {sizes}")
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for r in rows:
        print("  ".join(str(r.get(k, "")).ljust(widths[k]) for k in keys))
    print(f"peak memory: {peak_mb:.0f} MB; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(other processes slow every timing alike)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "indicators.json"
    previous = json.loads(out.read_text()) if out.exists() else {}
    runs = previous.get("runs", {}) if isinstance(previous, dict) else {}
    runs[str(args.communes)] = {"machine": platform.platform(), "python": platform.python_version(),
                                "cpus": os.cpu_count(), "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
                                "when": time.strftime("%Y-%m-%dT%H:%M:%S"), "sizes": sizes,
                                "peak_rss_mb": round(peak_mb), "results": rows}
    out.write_text(json.dumps({"runs": runs}, indent=2, ensure_ascii=False))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the budget optimisation over all communes (issue 5 §3 and §5).

    .venv/bin/python -m bench.prioritise                  # national scale, 11,000 communes
    .venv/bin/python -m bench.prioritise --communes 1000  # quick check

On the cached national-scale demo store (``bench.indicators.demo_store``: built once under
bench/.cache/), for each assessment year (QĐ 318 in 2025, QĐ 51 in 2026):

1. the evidence per commune (road km to harden, facilities, grid, villages), once;
2. for each objective and budget (a total, and the same total split across funding
   sources like Si Ma Cai's 2024 plan), ``layers.prioritise.prioritise`` over ALL
   communes with that evidence: the integer program to proven optimum (HiGHS via PuLP),
   the greedy ranking, their objective values and the gap, the next budget step.

Target: every optimisation (model build + solve) ≤ 5 s with status Optimal. Prints a
table and writes bench/results/prioritise.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 5.0
# Si Ma Cai 2024 (seed 002), million VND: the split of a budget across funding sources
SI_MA_CAI_2024 = {"central_investment": 3890, "central_recurrent": 1600, "integrated": 161180,
                  "organisations": 11000, "community": 6300}
_KEY = {"communes": "communes_reaching", "criteria": "criteria_gained", "population": "population_served"}


def _timed(func):
    started = time.perf_counter()
    out = func()
    return time.perf_counter() - started, out


def _split(total: float) -> dict[str, float]:
    whole = sum(SI_MA_CAI_2024.values())
    return {k: v / whole * total for k, v in SI_MA_CAI_2024.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communes", type=int, default=11000, help="demo size (11000 = national scale)")
    parser.add_argument("--years", type=int, nargs="+", default=[2025, 2026])
    parser.add_argument("--budget", type=float, default=2000e9, help="total budget, VND (default 2,000 tỷ)")
    args = parser.parse_args(argv)

    from bench.indicators import demo_store
    from layers.cost_model import default_cost_model
    from layers.gap_evidence import commune_evidence, road_classes_needed
    from layers.prioritise import prioritise
    from layers.prioritise_solver import solver_name
    from layers.store import Store

    store = Store(demo_store(args.communes))
    model = default_cost_model()
    rows: list[dict] = []
    for year in args.years:
        ev_s, (evidence, info) = _timed(lambda: commune_evidence(
            store, year, None, road_classes=road_classes_needed(model), grid_distance_m=model.grid_distance_m))
        rows.append({"benchmark": f"{year}: evidence per commune (roads {info['roads']}, facilities, grid)",
                     "seconds": round(ev_s, 2), "note": f"{len(evidence)} communes; steps {info['seconds']}"})
        print(f"… {year}: evidence in {ev_s:.1f} s", file=sys.stderr, flush=True)
        for objective in ("communes", "criteria", "population"):
            for label, kw in (("total", {"budget_vnd": args.budget}),
                              ("by source", {"budgets_by_source": _split(args.budget)})):
                total_s, plan = _timed(lambda: prioritise(store, year=year, objective=objective,
                                                          evidence=evidence, **kw))
                s, g = plan.summary, plan.summary["greedy"]
                opt_v, gre_v = s[_KEY[objective]], g[_KEY[objective]]
                rows.append({
                    "benchmark": f"{year} {plan.set_id}: max {objective}, {args.budget / 1e9:,.0f} tỷ ({label})",
                    "seconds": s["solve_seconds"], "target": f"≤ {TARGET_SECONDS:.0f} s, Optimal",
                    "ok": bool(s["solve_seconds"] <= TARGET_SECONDS and s["status"] == "Optimal"),
                    "status": s["status"], "optimal": opt_v, "greedy": gre_v, "gap": opt_v - gre_v,
                    "greedy_seconds": g["seconds"], "next_step_seconds": round(s["next_step"]["seconds"], 3),
                    "whole_call_seconds": round(total_s, 2),
                    "note": (f"{s['n_communes']} xã, {s['n_can_reach']} can reach, {s['n_closable_gaps']} closable "
                             f"gaps; communes {s['communes_reaching']} vs greedy {g['communes_reaching']}; "
                             f"next step +{(s['next_step']['extra_vnd'] or 0) / 1e9:,.2f} tỷ"),
                })
                print(f"  {rows[-1]['benchmark']}: {s['solve_seconds']:.2f} s {s['status']}, "
                      f"{opt_v} vs greedy {gre_v}", file=sys.stderr, flush=True)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    keys = ["benchmark", "seconds", "status", "optimal", "greedy", "gap", "greedy_seconds", "next_step_seconds",
            "target", "ok"]
    widths = {k: max(len(k), *(len(str(r.get(k, ""))) for r in rows)) for k in keys}
    print(f"Prioritisation benchmark — demo store, {args.communes} communes, solver {solver_name()}, "
          f"cost model {model.version}")
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for r in rows:
        print("  ".join(str(r.get(k, "")).ljust(widths[k]) for k in keys))
    print(f"peak memory: {peak_mb:.0f} MB; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "prioritise.json"
    previous = json.loads(out.read_text()) if out.exists() else {}
    runs = previous.get("runs", {}) if isinstance(previous, dict) else {}
    runs[str(args.communes)] = {"machine": platform.platform(), "python": platform.python_version(),
                                "cpus": os.cpu_count(), "solver": solver_name(), "cost_model": model.version,
                                "budget_vnd": args.budget, "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
                                "peak_rss_mb": round(peak_mb), "results": rows}
    out.write_text(json.dumps({"runs": runs}, indent=2, ensure_ascii=False))
    print(f"written {out}")
    return 0 if all(r.get("ok", True) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

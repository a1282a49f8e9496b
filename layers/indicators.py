"""Infrastructure indicators per commune and village: compute, store, read.

One run covers a scope (province, district, or the whole store) and a year (units
valid at its end; infrastructure as stored). It gathers:

- roads, power lines and facilities (``layers.indicators_infra``): km by class and
  surface, share hardened, density, km by voltage, villages near the grid, counts;
- access (``layers.access``): per village the distance to the nearest facility of each
  type, straight-line and by road, and per commune the share of villages and of people
  within a distance of one (``within_m``);
- rasters (``layers.zonal``): population, elevation and slope statistics;
- optionally travel time (``layers.travel_time``), with its GeoTIFF.

Each group of indicators is stored with the parameters it depends on
(``layers.indicators_store``), so maps and figures can say what they show.

Examples
--------
>>> run = run_indicators(store, scope="D01", year=2024)  # doctest: +SKIP
>>> indicator_frame(store, "road_hardened_share.duong_xa", 2024, "D01")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import indicators_infra, indicators_store, travel_time, zonal
from .indicator_units import UnitSet, load_units
from .indicators_store import indicator_frame, indicator_names, read_indicators, write_indicators
from .store import Store

__all__ = [
    "DEFAULT_WITHIN_M",
    "IndicatorOptions",
    "IndicatorRun",
    "compute_indicators",
    "indicators_for_units",
    "run_indicators",
    "access_indicators",
    "indicator_frame",
    "indicator_names",
    "read_indicators",
    "write_indicators",
]

log = logging.getLogger(__name__)

# How near counts as "near" per facility type (metres), for the shares of villages and
# people within reach. ASSUMPTIONS to be set by the province, stored with each result.
DEFAULT_WITHIN_M: dict[str, float] = {
    "schools": 3000.0,
    "health_stations": 5000.0,
    "markets": 5000.0,
    "culture_houses": 2000.0,
}

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class IndicatorOptions:
    """What a run computes, and with which parameters.

    Attributes
    ----------
    grid_distance_m
        A village within this distance of a power line counts as near the grid.
    within_m
        Facility type -> metres for the "within reach" shares (``DEFAULT_WITHIN_M``).
    access, network
        Compute the facility distances (``layers.access``); also along the road network.
    zonal
        Compute raster statistics (needs the DEM / population rasters).
    travel_time
        Facility types to compute travel time to (empty: none); writes GeoTIFFs.
    speeds_path
        Travel speeds file (default ``layers/data/travel_speeds.yaml``).
    levels
        Unit levels to compute for (``commune`` always; ``village`` for village rows).
    """

    grid_distance_m: float = 1000.0
    within_m: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WITHIN_M))
    access: bool = True
    network: bool = True
    zonal: bool = True
    travel_time: tuple[str, ...] = ()
    speeds_path: str | None = None
    levels: tuple[str, ...] = ("commune", "village")

    def check(self) -> None:
        """Raise ValueError naming the first option that cannot be used."""
        if not isinstance(self.grid_distance_m, (int, float)) or not np.isfinite(self.grid_distance_m) \
                or self.grid_distance_m <= 0:
            raise ValueError(f"'grid_distance_m' must be a positive number of metres, got {self.grid_distance_m!r}")
        for kind, metres in self.within_m.items():
            if kind not in indicators_infra.FACILITY_TABLES:
                raise ValueError(f"'within_m' names unknown facility type {kind!r}; "
                                 f"expected one of {list(indicators_infra.FACILITY_TABLES)}")
            if not isinstance(metres, (int, float)) or not np.isfinite(metres) or metres <= 0:
                raise ValueError(f"'within_m' for {kind} must be a positive number of metres, got {metres!r}")
        for kind in self.travel_time:
            if kind not in indicators_infra.FACILITY_TABLES:
                raise ValueError(f"'travel_time' facility must be one of {list(indicators_infra.FACILITY_TABLES)}, "
                                 f"got {kind!r}")
        for level in self.levels:
            if level not in ("commune", "village"):
                raise ValueError(f"'levels' may hold 'commune' and 'village', got {level!r}")
        if "commune" not in self.levels:
            raise ValueError("'levels' must include 'commune'")


@dataclass
class IndicatorRun:
    """The result of a run: long frame (unit_code, unit_level, name, value, unit,
    params), rasters written, time per step (s), rows stored (``run_indicators``)."""

    run_id: str
    scope: str | None
    year: int
    frame: pd.DataFrame
    rasters: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    rows_written: int = 0

    def summary(self) -> dict[str, int]:
        """Indicator names and rows per unit level."""
        return {f"{level} rows": int((self.frame["unit_level"] == level).sum())
                for level in ("commune", "village")} | {"indicators": int(self.frame["name"].nunique())}


def _with_params(frame: pd.DataFrame, params: Mapping) -> pd.DataFrame:
    frame = frame.copy()
    frame["params"] = indicators_store.canonical_params(params)
    return frame


def access_indicators(store: Store, units: UnitSet, *, within_m: Mapping[str, float],
                      network: bool = True) -> pd.DataFrame:
    """Per village the distance to the nearest facility of each type (``layers.access``);
    per commune the share of villages and of population within ``within_m`` of one.

    Names (suffix ``.{type}``): village ``distance_straight_m``, ``distance_network_m``
    (empty when off the network or cut off), ``network_reachable`` (1/0); commune
    ``villages_within_share.{mode}``, ``population_within_share.{mode}`` and
    ``villages_unreachable`` (count). Shares count unreachable villages as not within.
    """
    from . import access

    if units.villages.empty or not within_m:
        return pd.DataFrame(columns=["unit_code", "unit_level", "name", "value", "unit", "params"])
    scope = access.Scope(store, units, access.scope_zone(units))
    modes = ("straight", "network") if network else ("straight",)
    table = access.access_table(store, scope=scope, level="village", facility_types=list(within_m), modes=modes)
    communes = units.communes["code"].to_numpy()
    index = pd.Index(communes)
    out = []
    for kind, metres in within_m.items():
        rows = table[table["facility_type"] == kind]
        vcodes = rows["unit_code"].to_numpy()
        params = {"facility": kind, "within_m": float(metres), "epsg": int(scope.epsg)}
        pos = index.get_indexer(rows["commune_code"])
        ok = pos >= 0
        pop = pd.to_numeric(rows["population"], errors="coerce").fillna(0).to_numpy(dtype=float)
        count = np.bincount(pos[ok], minlength=len(communes)).astype(float)
        people = np.bincount(pos[ok], weights=pop[ok], minlength=len(communes))
        for mode in modes:
            dist = rows[f"{mode}_m"].to_numpy(dtype=float)
            out.append(_with_params(pd.DataFrame({
                "unit_code": vcodes, "unit_level": "village", "name": f"distance_{mode}_m.{kind}",
                "value": dist, "unit": "m"}), params | {"mode": mode}))
            near = (np.nan_to_num(dist, nan=np.inf) <= metres)[ok]
            share_v = np.divide(np.bincount(pos[ok], weights=near.astype(float), minlength=len(communes)), count,
                                out=np.full(len(communes), np.nan), where=count > 0)
            share_p = np.divide(np.bincount(pos[ok], weights=pop[ok] * near, minlength=len(communes)), people,
                                out=np.full(len(communes), np.nan), where=people > 0)
            for name, value in ((f"villages_within_share.{mode}.{kind}", share_v),
                                (f"population_within_share.{mode}.{kind}", share_p)):
                out.append(_with_params(pd.DataFrame({"unit_code": communes, "unit_level": "commune", "name": name,
                                                      "value": value, "unit": "share"}), params | {"mode": mode}))
        if network:
            reachable = (rows["network_status"] == "ok").to_numpy()
            out.append(_with_params(pd.DataFrame({"unit_code": vcodes, "unit_level": "village",
                                                  "name": f"network_reachable.{kind}",
                                                  "value": reachable.astype(float), "unit": "flag"}),
                                    params | {"mode": "network"}))
            cut = np.bincount(pos[ok], weights=(~reachable[ok]).astype(float), minlength=len(communes))
            out.append(_with_params(pd.DataFrame({"unit_code": communes, "unit_level": "commune",
                                                  "name": f"villages_unreachable.{kind}", "value": cut,
                                                  "unit": "count"}), params | {"mode": "network"}))
    return pd.concat(out, ignore_index=True)


def indicators_for_units(
    store: Store,
    units: UnitSet,
    *,
    options: IndicatorOptions | None = None,
    layers: Mapping[str, object] | None = None,
    progress: Progress | None = None,
    write_rasters: bool = True,
) -> tuple[pd.DataFrame, dict[str, Path], dict[str, float]]:
    """Every indicator of ``options`` for already-loaded units: (long frame with a
    ``params`` column, rasters written, seconds per step).

    The raster statistics run on a second thread while the vector indicators run on
    this one: GEOS, PROJ and GDAL release the GIL, so both cores work. ``layers`` may
    pass tables already read (see ``indicators_infra.infrastructure_indicators``).
    """
    options = options or IndicatorOptions()
    options.check()
    speeds = travel_time.load_speeds(options.speeds_path) if options.travel_time else None
    steps = ["infrastructure"] + (["access"] if options.access else []) \
        + (["zonal"] if options.zonal else []) + [f"travel_time.{f}" for f in options.travel_time]
    timings: dict[str, float] = {}
    parts: list[pd.DataFrame] = []
    rasters: dict[str, Path] = {}

    def timed(label: str, func, *args, **kwargs):
        started = time.perf_counter()
        out = func(*args, **kwargs)
        timings[label] = round(time.perf_counter() - started, 3)
        if progress is not None:
            progress(f"chỉ số / indicators: {label}", len(timings), len(steps))
        return out

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ntm-zonal") as pool:
        zonal_future = pool.submit(timed, "zonal", zonal.zonal_indicators, store, units,
                                   levels=options.levels) if options.zonal else None
        # (leaving the block waits for the worker, also when this thread fails)
        infra = timed("infrastructure", indicators_infra.infrastructure_indicators, store, units,
                      grid_distance_m=options.grid_distance_m, levels=options.levels, layers=layers)
        grid_names = infra["name"].isin(["grid_within", "villages_near_grid_share", "population_near_grid_share"])
        parts.append(_with_params(infra[~grid_names], {}))
        parts.append(_with_params(infra[grid_names], {"grid_distance_m": float(options.grid_distance_m)}))
        if options.access:
            parts.append(timed("access", access_indicators, store, units, within_m=options.within_m,
                               network=options.network))
        if zonal_future is not None:
            parts.append(_with_params(zonal_future.result(),
                                      {"rasters": ["dem", "population"], "coverage": "exactextract"}))
    for facility in options.travel_time:
        result = timed(f"travel_time.{facility}", travel_time.travel_time_indicators, store, units,
                       facility=facility, speeds=speeds, levels=options.levels, write_raster=write_rasters)
        parts.append(_with_params(result.frame, result.params))
        rasters.update(result.rasters)
    frame = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    frame = frame[frame["unit_level"].isin(options.levels)].reset_index(drop=True)
    return frame, rasters, timings


def compute_indicators(
    store: Store,
    *,
    scope: str | None = None,
    year: int,
    options: IndicatorOptions | None = None,
    progress: Progress | None = None,
    write_rasters: bool = True,
) -> IndicatorRun:
    """Compute every indicator of ``options`` for a scope and year, without storing them.

    Travel-time GeoTIFFs are written and registered unless ``write_rasters`` is False.

    Raises
    ------
    ValueError
        A bad option or year.
    LookupError
        ``scope`` is not a unit of the store, or (travel time) no DEM covers it.
    """
    options = options or IndicatorOptions()
    options.check()
    if isinstance(year, bool) or not isinstance(year, (int, np.integer)) or not 1900 <= int(year) <= 2100:
        raise ValueError(f"'year' must be a year such as 2024, got {year!r}")
    started = time.perf_counter()
    units = load_units(store, scope, int(year))
    if units.communes.empty:
        raise LookupError(f"the store holds no commune valid in {year}"
                          + ("" if scope is None else f" inside {scope!r}"))
    loaded = round(time.perf_counter() - started, 3)
    frame, rasters, timings = indicators_for_units(store, units, options=options, progress=progress,
                                                   write_rasters=write_rasters)
    return IndicatorRun(run_id=uuid.uuid4().hex, scope=scope, year=int(year), frame=frame, rasters=rasters,
                        timings={"units": loaded, **timings})


def run_indicators(
    store: Store,
    *,
    scope: str | None = None,
    year: int,
    options: IndicatorOptions | None = None,
    progress: Progress | None = None,
) -> IndicatorRun:
    """Compute (``compute_indicators``) and store the indicators of a scope and year.

    Values of the same name, year and parameters for the same units are replaced, in
    one transaction; other scopes, years and parameter sets are kept.
    """
    run = compute_indicators(store, scope=scope, year=year, options=options, progress=progress)
    started = time.perf_counter()
    run.rows_written = write_indicators(store, run.frame, year=run.year, run_id=run.run_id)
    run.timings["store"] = round(time.perf_counter() - started, 3)
    log.info("indicators %s %s: %d rows in %.1f s", scope or "(all)", year, run.rows_written,
             sum(run.timings.values()))
    return run

"""The infrastructure evidence behind a gap's cost, per commune: the cost-model drivers.

For each commune of a run, the quantities the cost model multiplies by its unit costs
(``layers.cost_model.DRIVERS``): km of road to harden per class, schools below the
standard, villages without a culture house, km of line to villages far from the grid,
households off the grid, temporary houses, and whether the commune has a market, health
station and commune culture house meeting the standard.

Road km come from the stored indicators (``road_km.<class>``,
``road_hardened_share.<class>``, written by ``ntm analyse indicators``) when they are
stored for the year and every commune, else they are measured here with the same code
(``layers.indicators_infra.road_indicators``). Facilities are placed by where they are
(not by their commune_code), as the indicators do. A facility whose ``meets_standard`` is
unknown is not counted as below the standard (no evidence of a gap).
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from . import admin_units, indicators_infra
from .indicator_units import UnitSet, load_units
from .indicators_store import read_indicators
from .store import Store

__all__ = ["EVIDENCE_COLUMNS", "GRID_SEARCH_M", "road_classes_needed", "commune_evidence", "evidence_for_units"]

log = logging.getLogger(__name__)

# A village farther than this from any power line is costed at this distance (capped).
GRID_SEARCH_M = 30_000.0
EVIDENCE_COLUMNS = (
    "population", "n_villages", "schools", "schools_below_standard", "commune_culture_house_missing",
    "villages_without_culture_house", "village_culture_houses_below_standard", "market_missing",
    "health_station_missing", "grid_extension_km", "villages_far_from_grid", "households_without_grid",
    "temporary_houses",
)


def road_classes_needed(model) -> list[str]:
    """Road classes whose km a cost model prices (``road_to_harden_km.<class>`` drivers)."""
    from .cost_model import ROAD_DRIVER

    out = []
    for comp in model.components.values():
        m = ROAD_DRIVER.match(comp.driver)
        if m and m.group(1) not in out:
            out.append(m.group(1))
    return out


def _flag(frame: pd.DataFrame, column: str, value: bool) -> np.ndarray:
    """Rows whose ``column`` is exactly ``value`` (unknown is neither)."""
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    flags = frame[column].astype("boolean")
    return (flags == value).fillna(False).to_numpy(dtype=bool)


def _stored_roads(store: Store, year: int, codes: np.ndarray, classes: list[str]) -> pd.DataFrame | None:
    """km and hardened km per class from stored indicators, or None when any is missing."""
    names = [f"road_km.{c}" for c in classes] + [f"road_hardened_share.{c}" for c in classes]
    df = read_indicators(store, year=year, names=names, unit_level="commune")
    if df.empty:
        return None
    df = df[df["unit_code"].isin(codes)]
    wide = df.pivot_table(index="unit_code", columns="name", values="value", aggfunc="last", dropna=False)
    if len(wide) < len(codes):
        return None
    out = pd.DataFrame(index=pd.Index(codes, name="unit_code"))
    for c in classes:
        km = wide.get(f"road_km.{c}")
        if km is None:  # the class is absent from the province: stored runs write no column
            out[f"road_km.{c}"] = 0.0
            out[f"road_hardened_km.{c}"] = 0.0
            continue
        share = wide.get(f"road_hardened_share.{c}")
        km = km.reindex(codes).fillna(0.0)
        share = share.reindex(codes).fillna(0.0) if share is not None else pd.Series(0.0, index=codes)
        out[f"road_km.{c}"] = km.to_numpy()
        out[f"road_hardened_km.{c}"] = (km * share).to_numpy()
    return out


def _measured_roads(store: Store, units: UnitSet, classes: list[str]) -> pd.DataFrame:
    codes = units.communes["code"].to_numpy()
    out = pd.DataFrame(index=pd.Index(codes, name="unit_code"))
    for c in classes:
        out[f"road_km.{c}"] = 0.0
        out[f"road_hardened_km.{c}"] = 0.0
    roads = indicators_infra.read_layer(store, "roads", units, ["road_class", "surface", "hardened"])
    roads = roads[roads["road_class"].isin(classes)].reset_index(drop=True)
    if roads.empty or units.communes.empty:
        return out
    area = np.ones(len(units.communes))
    rows = indicators_infra.road_indicators(units.communes, roads, level="commune", area_km2=area, by_surface=False)
    wide = rows.pivot_table(index="unit_code", columns="name", values="value", aggfunc="last", dropna=False)
    for c in classes:
        if f"road_km.{c}" in wide:
            km = wide[f"road_km.{c}"].reindex(codes).fillna(0.0)
            share = wide.get(f"road_hardened_share.{c}")
            share = share.reindex(codes).fillna(0.0) if share is not None else 0.0
            out[f"road_km.{c}"] = km.to_numpy()
            out[f"road_hardened_km.{c}"] = (km * share).to_numpy()
    return out


def _count(where: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    ok = (where >= 0) & mask
    return np.bincount(where[ok], minlength=n)


def _facilities(store: Store, units: UnitSet, empty: list[str]) -> pd.DataFrame:
    """Facility evidence; a layer with no feature in the run is no evidence of absence:
    its "missing" drivers are 0 and its name goes to ``empty``."""
    communes, villages = units.communes, units.villages
    n, codes = len(communes), communes["code"].to_numpy()
    geoms = communes.geometry.values
    out = pd.DataFrame(index=pd.Index(codes, name="unit_code"))
    schools = indicators_infra.read_layer(store, "schools", units, ["meets_standard", "satellite"])
    schools = schools[~_flag(schools, "satellite", True)]
    at = indicators_infra.points_in_units(schools.geometry.values, geoms)
    out["schools"] = _count(at, np.ones(len(schools), dtype=bool), n)
    out["schools_below_standard"] = _count(at, _flag(schools, "meets_standard", False), n)
    houses = indicators_infra.read_layer(store, "culture_houses", units, ["scope", "meets_standard"])
    commune_scope = (houses["scope"] == "commune").to_numpy()
    at = indicators_infra.points_in_units(houses.geometry.values, geoms)
    good = _count(at, commune_scope & _flag(houses, "meets_standard", True), n)
    out["commune_culture_house_missing"] = (good == 0).astype(float) if len(houses) else 0.0
    village_houses = houses[~commune_scope]
    vat = indicators_infra.points_in_units(village_houses.geometry.values, villages.geometry.values)
    has_house = np.bincount(vat[vat >= 0], minlength=len(villages)) > 0
    vpos = pd.Index(codes).get_indexer(villages["commune"])
    ok = vpos >= 0
    out["villages_without_culture_house"] = np.bincount(vpos[ok], weights=(~has_house[ok]).astype(float), minlength=n) \
        if len(village_houses) else 0.0
    below = _flag(village_houses, "meets_standard", False)
    in_v = vat >= 0
    commune_of_house = np.full(len(village_houses), -1)
    commune_of_house[in_v] = vpos[vat[in_v]]
    out["village_culture_houses_below_standard"] = _count(commune_of_house, below, n)
    for table, column in (("markets", "market_missing"), ("health_stations", "health_station_missing")):
        frame = indicators_infra.read_layer(store, table, units, ["meets_standard"])
        at = indicators_infra.points_in_units(frame.geometry.values, geoms)
        out[column] = (_count(at, _flag(frame, "meets_standard", True), n) == 0).astype(float) if len(frame) else 0.0
        if frame.empty:
            empty.append(table)
    for table, frame in (("schools", schools), ("culture_houses", houses)):
        if frame.empty:
            empty.append(table)
    return out


def _villages(store: Store, units: UnitSet, grid_distance_m: float, empty: list[str]) -> pd.DataFrame:
    communes, villages = units.communes, units.villages
    n, codes = len(communes), communes["code"].to_numpy()
    out = pd.DataFrame(index=pd.Index(codes, name="unit_code"))
    attrs = store.read_table("villages", "code IN (SELECT value FROM json_each(?))",
                             [pd.Series(villages["code"]).to_json(orient="values")],
                             columns=["code", "households", "households_grid", "temporary_houses"])
    attrs = attrs.drop_duplicates("code").set_index("code").reindex(villages["code"])
    num = lambda col: pd.to_numeric(attrs[col], errors="coerce").to_numpy(dtype=float)  # noqa: E731
    households, on_grid, temporary = num("households"), num("households_grid"), num("temporary_houses")
    off_grid = np.clip(np.nan_to_num(households - on_grid, nan=0.0), 0, None)
    population = pd.to_numeric(villages["population"], errors="coerce").to_numpy(dtype=float)
    vpos = pd.Index(codes).get_indexer(villages["commune"])
    ok = vpos >= 0
    add = lambda w: np.bincount(vpos[ok], weights=w[ok], minlength=n)  # noqa: E731
    out["n_villages"] = np.bincount(vpos[ok], minlength=n).astype(float)
    pop = add(np.nan_to_num(population, nan=0.0))
    known = add((~np.isnan(population)).astype(float)) > 0
    out["population"] = np.where(known, pop, np.nan)
    out["households_without_grid"] = add(off_grid)
    out["temporary_houses"] = add(np.nan_to_num(temporary, nan=0.0))
    km = np.zeros(len(villages))
    lines = indicators_infra.read_layer(store, "power_lines", units, ["voltage_kv"], pad_m=GRID_SEARCH_M) \
        if len(villages) else None
    if lines is not None and len(lines):  # no power line at all: no evidence, not "30 km from the grid"
        near = indicators_infra.grid_proximity(villages, lines, max_distance_m=grid_distance_m)
        far = np.flatnonzero(np.isnan(near))
        if len(far):
            dist = indicators_infra.grid_proximity(villages.iloc[far], lines, max_distance_m=GRID_SEARCH_M)
            km[far] = np.nan_to_num(dist, nan=GRID_SEARCH_M) / 1000.0
    elif lines is not None:
        empty.append("power_lines")
    out["grid_extension_km"] = add(km)
    out["villages_far_from_grid"] = add((km > 0).astype(float))
    return out


def evidence_for_units(store: Store, units: UnitSet, *, road_classes: list[str], grid_distance_m: float = 1000.0,
                       use_stored: bool = True) -> tuple[pd.DataFrame, dict]:
    """Evidence per commune of ``units`` (index unit_code; ``EVIDENCE_COLUMNS`` and
    ``road_km.<class>``, ``road_hardened_km.<class>``) and how it was obtained
    (``{"roads": "stored" | "measured", "seconds": {...}}``)."""
    timings, info = {}, {}
    started = time.perf_counter()
    codes = units.communes["code"].to_numpy()
    roads = _stored_roads(store, units.year, codes, road_classes) if use_stored and road_classes else None
    info["roads"] = "stored" if roads is not None else "measured"
    if roads is None:
        roads = _measured_roads(store, units, road_classes)
    timings["roads"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    empty: list[str] = []
    fac = _facilities(store, units, empty)
    timings["facilities"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    vil = _villages(store, units, grid_distance_m, empty)
    timings["villages"] = round(time.perf_counter() - started, 3)
    info["seconds"] = timings
    info["empty_layers"] = sorted(empty)
    out = pd.concat([vil, fac, roads], axis=1)
    out["commune"] = 1.0
    return out, info


def commune_evidence(store: Store, year: int, scope: str | None = None, *, road_classes: list[str] | None = None,
                     grid_distance_m: float = 1000.0, use_stored: bool = True) -> tuple[pd.DataFrame, dict]:
    """Evidence per commune of ``scope`` valid at the end of ``year`` (see ``evidence_for_units``)."""
    if road_classes is None:
        road_classes = list(admin_units.vocabulary()["road_classes"])
    units = load_units(store, scope, int(year))
    return evidence_for_units(store, units, road_classes=road_classes, grid_distance_m=grid_distance_m,
                              use_stored=use_stored)

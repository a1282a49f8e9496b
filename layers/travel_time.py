"""Travel time to the nearest facility of a type, AccessMod-style, on the DEM's grid.

A speed surface says how fast one crosses each cell: along a road at the speed of its
class and surface, elsewhere on foot at a speed that falls with the slope (Tobler's
hiking function, averaged up- and downhill since direction is unknown). Cost-distance
(scikit-image ``MCP_Geometric``: the mean of two cells' cost times the step length,
eight neighbours) from every facility at once gives the minutes to the nearest one.
Per unit: the population-weighted mean travel time and the share of people beyond the
thresholds (30 and 60 minutes by default). The speeds live in
``layers/data/travel_speeds.yaml``; they are assumptions, stored with every result.

Limits, stated: no land cover, rivers or barriers; isotropic walking; a road is
reachable from any cell it crosses.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
import yaml
from rasterio import features
from rasterio.warp import transform_bounds
from skimage.graph import MCP_Geometric

from geo import crs as geo_crs
from . import admin_units
from ._errors import ValidationReport
from .indicator_units import UnitSet
from .indicators_infra import FACILITY_TABLES
from .store import Store
from .zonal import Grid, RasterGroup, assign_groups, raster_groups, read_band, slope_degrees, zonal_stats

__all__ = [
    "DEFAULT_SPEEDS",
    "TravelTimeResult",
    "load_speeds",
    "speeds_summary",
    "walking_speed_kmh",
    "road_speed_kmh",
    "speed_surface",
    "cost_minutes",
    "travel_time_indicators",
]

log = logging.getLogger(__name__)

DEFAULT_SPEEDS = Path(__file__).with_name("data") / "travel_speeds.yaml"


# --- speeds ---------------------------------------------------------------------------


def _positive(report: ValidationReport, where: str, value, *, allow_zero: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value) \
        and (value >= 0 if allow_zero else value > 0)
    if not ok:
        report.error(f"'{where}' must be a {'non-negative' if allow_zero else 'positive'} number, got {value!r}",
                     column=where)


@functools.cache
def _load_speeds_cached(path: str, mtime: float) -> dict:
    fname = Path(path).name
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"speeds file '{path}' is not valid YAML: {exc}") from exc
    report = ValidationReport()
    if not isinstance(data, dict):
        report.error("expected a mapping with road_class_kmh, surface_factor, walking, thresholds_min", file=fname)
        report.raise_if_errors(f"speeds file {path}")
    vocab = admin_units.vocabulary()
    classes = data.get("road_class_kmh") or {}
    for code in vocab["road_classes"]:
        if code not in classes:
            report.error(f"road class {code!r} has no speed", file=fname, column="road_class_kmh")
    for code, value in classes.items():
        if code not in vocab["road_classes"]:
            report.error(f"unknown road class {code!r}; expected one of {list(vocab['road_classes'])}",
                         file=fname, column="road_class_kmh")
        _positive(report, f"road_class_kmh.{code}", value)
    factors = data.get("surface_factor") or {}
    for code in [*vocab["road_surfaces"], "unknown"]:
        if code not in factors:
            report.error(f"surface {code!r} has no factor", file=fname, column="surface_factor")
    for code, value in factors.items():
        if code not in vocab["road_surfaces"] and code != "unknown":
            report.error(f"unknown surface {code!r}; expected one of {[*vocab['road_surfaces'], 'unknown']}",
                         file=fname, column="surface_factor")
        _positive(report, f"surface_factor.{code}", value)
    walking = data.get("walking") or {}
    for key in ("base_kmh", "min_kmh"):
        _positive(report, f"walking.{key}", walking.get(key))
    for key in ("tobler_a", "tobler_b"):
        _positive(report, f"walking.{key}", walking.get(key), allow_zero=True)
    thresholds = data.get("thresholds_min")
    if not isinstance(thresholds, list) or not thresholds:
        report.error(f"'thresholds_min' must be a list of minutes, got {thresholds!r}", file=fname)
    else:
        for t in thresholds:
            _positive(report, "thresholds_min", t)
    report.raise_if_errors(f"speeds file {path}")
    return {"road_class_kmh": dict(classes), "surface_factor": dict(factors), "walking": dict(walking),
            "thresholds_min": [float(t) for t in thresholds]}


def load_speeds(path: str | os.PathLike | None = None) -> dict:
    """The travel speeds (a checked copy): ``layers/data/travel_speeds.yaml`` or ``path``.

    Raises
    ------
    ImportValidationError
        A class or surface of the vocabulary has no speed, a speed is not positive …
        every problem listed at once.
    FileNotFoundError
        ``path`` does not exist.
    """
    path = Path(path) if path is not None else DEFAULT_SPEEDS
    if not path.is_file():
        raise FileNotFoundError(f"speeds file '{path}' does not exist")
    data = _load_speeds_cached(str(path.resolve()), path.stat().st_mtime)
    return {k: (dict(v) if isinstance(v, dict) else list(v)) for k, v in data.items()}


def speeds_summary(speeds: dict) -> dict:
    """What a stored result says about its speeds: thresholds, walking constants, the
    road speeds' range and a digest identifying the exact table (kept short, since it is
    repeated on every row)."""
    text = json.dumps(speeds, sort_keys=True)
    roads = speeds["road_class_kmh"]
    return {"thresholds_min": speeds["thresholds_min"], "walking": speeds["walking"],
            "road_kmh": [min(roads.values()), max(roads.values())],
            "speeds_sha1": hashlib.sha1(text.encode()).hexdigest()[:10]}


def walking_speed_kmh(slope_deg: np.ndarray, walking: dict) -> np.ndarray:
    """Off-road speed (km/h) on a slope: Tobler's function averaged up- and downhill."""
    s = np.tan(np.radians(slope_deg))
    a, b, base = walking["tobler_a"], walking["tobler_b"], walking["base_kmh"]
    speed = base * 0.5 * (np.exp(-a * np.abs(s + b)) + np.exp(-a * np.abs(-s + b)))
    return np.maximum(speed, walking["min_kmh"])


def road_speed_kmh(roads: pd.DataFrame, speeds: dict) -> np.ndarray:
    """km/h of each road: its class's speed times its surface's factor."""
    cls = roads["road_class"].map(speeds["road_class_kmh"]).astype("float64")
    factor = roads["surface"].fillna("unknown").map(speeds["surface_factor"]).astype("float64")
    return (cls * factor.fillna(speeds["surface_factor"]["unknown"])).to_numpy()


def speed_surface(dem: Grid, road_geoms, road_kmh: np.ndarray, speeds: dict) -> np.ndarray:
    """km/h per cell: the fastest road crossing it, else walking on the cell's slope.

    ``road_geoms`` are in the DEM's CRS. No-data DEM cells are impassable (NaN).
    """
    walk = walking_speed_kmh(slope_degrees(dem), speeds["walking"])
    road = np.zeros(dem.values.shape, dtype="float64")
    geoms = np.asarray(road_geoms, dtype=object)
    if len(geoms):
        order = np.argsort(road_kmh, kind="stable")  # faster roads burnt last win the cell
        road = features.rasterize(((g, float(v)) for g, v in zip(geoms[order], road_kmh[order]) if g is not None),
                                  out_shape=dem.values.shape, transform=dem.transform, fill=0.0, dtype="float64")
    speed = np.maximum(walk, road)
    speed[np.isnan(dem.values)] = np.nan
    return speed


def cost_minutes(speed_kmh: np.ndarray, transform, starts: np.ndarray) -> np.ndarray:
    """Minutes from the nearest start cell over a speed surface (inf where unreachable).

    ``starts`` are (row, col) pairs. The step between two cells costs the mean of their
    paces (s/m) times the step's length in metres (diagonals √2 longer).
    """
    pace = np.where(np.isfinite(speed_kmh) & (speed_kmh > 0), 3.6 / np.where(speed_kmh > 0, speed_kmh, 1), np.inf)
    starts = np.asarray(starts, dtype=int).reshape(-1, 2)
    if len(starts) == 0:
        return np.full(speed_kmh.shape, np.inf)
    mcp = MCP_Geometric(pace, sampling=(abs(transform.e), abs(transform.a)), fully_connected=True)
    seconds, _ = mcp.find_costs([tuple(rc) for rc in starts])
    return seconds / 60.0


# --- per-unit results -----------------------------------------------------------------


@dataclass
class TravelTimeResult:
    """Indicator rows, the GeoTIFFs written (name -> path) and the parameters used."""

    frame: pd.DataFrame
    rasters: dict[str, Path]
    params: dict


def _check_metric(dem: Grid, path: Path) -> None:
    if dem.crs.is_geographic:
        raise ValueError(f"DEM '{path}' is in geographic coordinates; travel time needs a metric grid: "
                         "warp it to the province's VN-2000 TM-3 zone first (e.g. gdalwarp -t_srs EPSG:9208)")


def _rows_cols(points, transform, shape) -> np.ndarray:
    xy = shapely.get_coordinates(np.asarray(points, dtype=object))
    if len(xy) == 0:
        return np.zeros((0, 2), dtype=int)
    cols, rows = ~transform @ (xy[:, 0], xy[:, 1])
    rows, cols = np.floor(rows).astype(int), np.floor(cols).astype(int)
    inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
    return np.unique(np.column_stack([rows[inside], cols[inside]]), axis=0)


def _to_crs(frame: gpd.GeoDataFrame, crs) -> np.ndarray:
    return np.asarray(frame.to_crs(crs).geometry.values, dtype=object)


def group_travel_time(store: Store, group: RasterGroup, facility: str, speeds: dict) -> tuple[Grid, int]:
    """Minutes to the nearest ``facility`` over one raster group's grid, and the number
    of facilities that seeded it (those inside the grid, whatever their province)."""
    dem = read_band(group.paths["dem"])
    _check_metric(dem, group.paths["dem"])
    bbox = transform_bounds(dem.crs, geo_crs.STORE_CRS, *dem.bounds, densify_pts=21)
    roads = store.read_features("roads", columns=["road_class", "surface"], bbox=bbox)
    points = store.read_features(facility, columns=["name"], bbox=bbox)
    speed = speed_surface(dem, _to_crs(roads, dem.crs), road_speed_kmh(roads, speeds), speeds)
    starts = _rows_cols(_to_crs(points, dem.crs), dem.transform, dem.values.shape)
    return Grid(cost_minutes(speed, dem.transform, starts), dem.transform, dem.crs), len(starts)


def unit_travel_stats(geoms, minutes: Grid, population: Grid, thresholds: list[float]) -> pd.DataFrame:
    """Per polygon (in the grid's CRS): population-weighted mean minutes (reachable
    people) and the share of people beyond each threshold (unreachable count beyond)."""
    people = np.nan_to_num(population.values)
    tt = np.where(np.isfinite(minutes.values), minutes.values, np.nan)
    rasters = {"pop": Grid(people, population.transform, population.crs)}
    for t in thresholds:
        beyond = ~(tt <= t)  # NaN (unreachable) counts as beyond
        rasters[f"gt{t:g}"] = Grid(people * beyond, population.transform, population.crs)
    sums = zonal_stats(geoms, rasters, ["sum"])
    mean = zonal_stats(geoms, {"tt": Grid(tt, minutes.transform, minutes.crs)}, ["weighted_mean"],
                       weights=rasters["pop"])
    out = pd.DataFrame({"mean": mean["weighted_mean"].to_numpy(dtype=float)})
    total = sums["pop_sum"].to_numpy(dtype=float)
    for t in thresholds:
        out[f"gt{t:g}"] = np.divide(sums[f"gt{t:g}_sum"].to_numpy(dtype=float), total,
                                    out=np.full(len(total), np.nan), where=total > 0)
    return out


def write_travel_raster(store: Store, name: str, grid: Grid, *, facility: str) -> Path:
    """Write minutes as a GeoTIFF beside the store and (re)register it in ``rasters``."""
    from .demo import raster_dir_for

    folder = raster_dir_for(store.path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.tif"
    values = np.where(np.isfinite(grid.values), grid.values, np.nan).astype("float32")
    h, w = values.shape
    profile = dict(driver="GTiff", height=h, width=w, count=1, dtype="float32", crs=grid.crs.to_wkt(),
                   transform=grid.transform, nodata=float("nan"), compress="deflate", predictor=3)
    if h >= 256 and w >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tif", dir=folder)
    os.close(fd)
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(values, 1)
            dst.set_band_description(1, f"Thời gian đến {facility} gần nhất (phút) / Minutes to the nearest {facility}")
            dst.update_tags(1, units="minutes")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    with store.transaction() as conn:
        conn.execute("DELETE FROM rasters WHERE name = ?", (name,))
        store.insert_rows(conn, "rasters", [{
            "name": name, "path": f"{folder.name}/{path.name}", "kind": "travel_time", "units": "minutes",
            "description": f"Thời gian di chuyển đến {facility} gần nhất (phút, mô hình) / "
                           f"Modelled travel time to the nearest {facility} (minutes)",
        }])
    return path


def travel_time_indicators(
    store: Store,
    units: UnitSet,
    *,
    facility: str = "health_stations",
    speeds: dict | None = None,
    levels: tuple[str, ...] = ("commune", "village"),
    write_raster: bool = True,
) -> TravelTimeResult:
    """Travel time to the nearest ``facility`` per unit, and its raster(s).

    Indicators (suffix ``.{facility}``): ``travel_time_popw_mean`` (minutes) and
    ``population_beyond_{t}min_share`` for each threshold ``t``. One GeoTIFF per raster
    group, ``travel_time_{facility}[_{province}]``, registered in ``rasters``.

    Raises
    ------
    ValueError
        Unknown facility type, or a geographic DEM.
    LookupError
        The store has no DEM covering the units.
    """
    if facility not in FACILITY_TABLES:
        raise ValueError(f"'facility' must be one of {list(FACILITY_TABLES)}, got {facility!r}")
    speeds = speeds if speeds is not None else load_speeds()
    thresholds = speeds["thresholds_min"]
    groups = raster_groups(store)
    used = {}
    for level in levels:
        keys = assign_groups(units.frame(level), groups) if groups else pd.Series(dtype=object)
        used.update({k: groups[k] for k in keys.dropna().unique() if "dem" in groups[k].paths})
    if not used:
        raise LookupError("no DEM raster covers these units: travel time needs one (rasters table, kind 'dem')")
    out, written = [], {}
    for key, group in used.items():
        minutes, seeds = group_travel_time(store, group, facility, speeds)
        if seeds == 0:
            log.warning("no %s inside raster group %r: every cell is unreachable", facility, key or "(all)")
        if write_raster:
            name = f"travel_time_{facility}" + (f"_{key}" if key else "")
            written[name] = write_travel_raster(store, name, minutes, facility=facility)
        if "population" not in group.paths:
            log.warning("raster group %r has no population raster: no travel-time shares", key)
            continue
        population = read_band(group.paths["population"])
        for level in levels:
            frame = units.frame(level)
            keys = assign_groups(frame, groups)
            pos = np.flatnonzero((keys == key).to_numpy())
            if len(pos) == 0:
                continue
            geoms = _to_crs(frame.iloc[pos], minutes.crs)
            stats = unit_travel_stats(geoms, minutes, population, thresholds)
            codes = frame["code"].to_numpy()[pos]
            out.append(pd.DataFrame({"unit_code": codes, "unit_level": level,
                                     "name": f"travel_time_popw_mean.{facility}",
                                     "value": stats["mean"].to_numpy(), "unit": "minutes"}))
            for t in thresholds:
                out.append(pd.DataFrame({"unit_code": codes, "unit_level": level,
                                         "name": f"population_beyond_{t:g}min_share.{facility}",
                                         "value": stats[f"gt{t:g}"].to_numpy(), "unit": "share"}))
    frame = pd.concat(out, ignore_index=True) if out else pd.DataFrame(
        columns=["unit_code", "unit_level", "name", "value", "unit"])
    frame = frame[frame["value"].notna()]
    params = {"facility": facility, **speeds_summary(speeds)}
    return TravelTimeResult(frame.reset_index(drop=True), written, params)

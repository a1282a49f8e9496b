"""Zonal statistics of the DEM and population rasters per commune and village.

Cells are weighted by the share of each cell a polygon covers (exactextract), so a
small village on a coarse grid still gets its part of every cell it touches. Means are
given plain and weighted by population (where people live, not the empty mountain).
Slope is computed from the DEM in metres: on a projected grid from its cell size, on a
geographic grid from the ellipsoid's radii of curvature at each row's latitude.

The rasters are those of the store's ``rasters`` table (kind ``dem`` / ``population``),
kept beside the store. A name with a suffix (``dem_D07``) belongs to that province;
one without a suffix serves every unit not otherwise covered.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from exactextract import exact_extract
from exactextract._exactextract import Feature
from exactextract.feature import FeatureSource
from exactextract.raster import NumPyRasterSource
from pyproj import CRS

from geo import crs as geo_crs
from .indicator_units import UnitSet
from .store import Store

__all__ = [
    "Grid",
    "RasterGroup",
    "raster_groups",
    "read_band",
    "slope_degrees",
    "zonal_stats",
    "zonal_indicators",
]

log = logging.getLogger(__name__)


# --- rasters of the store -------------------------------------------------------------


@dataclass
class RasterGroup:
    """The rasters that belong together (one province's DEM and population)."""

    key: str  # province code, or "" for rasters serving every unit
    paths: dict[str, Path] = field(default_factory=dict)  # kind -> file
    names: dict[str, str] = field(default_factory=dict)  # kind -> name in the rasters table


def raster_path(store: Store, path: str) -> Path:
    """A path from the ``rasters`` table: relative ones are beside the store file."""
    p = Path(path)
    return p if p.is_absolute() else store.path.parent / p


def raster_groups(store: Store, kinds: Iterable[str] = ("dem", "population")) -> dict[str, RasterGroup]:
    """Rasters of the given kinds, grouped by the key their name carries after the kind."""
    kinds = tuple(kinds)
    df = store.read_table("rasters", "kind IN (" + ", ".join("?" * len(kinds)) + ")", list(kinds), order_by="id")
    groups: dict[str, RasterGroup] = {}
    for name, path, kind in zip(df["name"], df["path"], df["kind"]):
        key = name[len(kind) + 1:] if name.startswith(kind + "_") else ("" if name == kind else name)
        group = groups.setdefault(key, RasterGroup(key))
        group.paths[kind] = raster_path(store, path)
        group.names[kind] = name
    return groups


@dataclass
class Grid:
    """A raster band in memory: values (float64, NaN for no data), transform and CRS."""

    values: np.ndarray
    transform: rasterio.Affine
    crs: CRS

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        h, w = self.values.shape
        (x0, y0), (x1, y1) = self.transform @ (0, 0), self.transform @ (w, h)
        return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)

    def source(self, name: str) -> NumPyRasterSource:
        xmin, ymin, xmax, ymax = self.bounds
        return NumPyRasterSource(self.values, xmin, ymin, xmax, ymax, name=name, srs_wkt=self.crs.to_wkt())

    def aligned(self, other: "Grid") -> bool:
        return self.values.shape == other.values.shape and self.transform.almost_equals(other.transform)


def read_band(path: Path) -> Grid:
    """Band 1 of a GeoTIFF as float64 with its no-data cells set to NaN."""
    with rasterio.open(path) as src:
        if src.crs is None:
            raise ValueError(f"raster '{path}' has no coordinate reference system; "
                             "write it with one (e.g. EPSG:9208) before computing indicators")
        if src.transform.b != 0 or src.transform.d != 0 or src.transform.e >= 0:
            raise ValueError(f"raster '{path}' is rotated or not north-up; warp it to a north-up grid first")
        values = src.read(1, masked=True).astype("float64").filled(np.nan)
        return Grid(values, src.transform, CRS.from_user_input(src.crs.to_wkt()))


# --- slope ----------------------------------------------------------------------------


def slope_degrees(grid: Grid) -> np.ndarray:
    """Slope in degrees of a DEM in metres, with true cell sizes in metres.

    On a projected grid the cell size is the transform's (times the CRS's linear unit).
    On a geographic grid a cell of Δλ × Δφ degrees at latitude φ measures
    N(φ)·cos φ·Δλ by M(φ)·Δφ, with M and N the ellipsoid's meridian and prime-vertical
    radii of curvature, so slopes are not inflated by treating degrees as metres.
    Edges use one-sided differences; no-data cells (NaN) give NaN around them.
    """
    z = grid.values
    dzdx_cell = np.gradient(z, axis=1) if z.shape[1] > 1 else np.zeros_like(z)
    dzdy_cell = np.gradient(z, axis=0) if z.shape[0] > 1 else np.zeros_like(z)
    if grid.crs.is_geographic:
        ell = grid.crs.ellipsoid
        a, f = ell.semi_major_metre, 1 / ell.inverse_flattening if ell.inverse_flattening else 0.0
        e2 = f * (2 - f)
        rows = np.arange(z.shape[0]) + 0.5
        lat = np.radians(grid.transform.f + rows * grid.transform.e)
        w = np.sqrt(1 - e2 * np.sin(lat) ** 2)
        meridian, prime = a * (1 - e2) / w**3, a / w
        dx = (prime * np.cos(lat) * np.radians(abs(grid.transform.a)))[:, None]
        dy = (meridian * np.radians(abs(grid.transform.e)))[:, None]
    else:
        unit = grid.crs.axis_info[0].unit_conversion_factor if grid.crs.axis_info else 1.0
        dx, dy = abs(grid.transform.a) * unit, abs(grid.transform.e) * unit
    return np.degrees(np.arctan(np.hypot(dzdx_cell / dx, dzdy_cell / dy)))


# --- exactextract over shapely arrays -------------------------------------------------


class _WKBFeature(Feature):
    def __init__(self, fid: int, wkb: bytes):
        Feature.__init__(self)
        self._wkb = wkb
        self._attrs = {"fid": fid}

    def geometry(self):
        return self._wkb

    def set_geometry(self, wkb):
        self._wkb = wkb

    def set_geometry_format(self):
        return "wkb"

    def get(self, name):
        return self._attrs[name]

    def set(self, name, value):
        self._attrs[name] = value

    def fields(self):
        return list(self._attrs)


class _WKBSource(FeatureSource):
    """Polygons handed to exactextract as WKB: the GeoPandas source goes through GeoJSON
    text per feature, several times slower for detailed village boundaries."""

    def __init__(self, geoms, srs_wkt: str | None = None):
        super().__init__()
        self._wkbs = shapely.to_wkb(np.asarray(geoms, dtype=object))
        self._srs = srs_wkt

    def count(self):
        return len(self._wkbs)

    def __iter__(self):
        for k, wkb in enumerate(self._wkbs):
            yield _WKBFeature(k, wkb)

    def srs_wkt(self):
        return self._srs


def zonal_stats(geoms, rasters: dict[str, Grid], ops: list[str], *, weights: Grid | None = None) -> pd.DataFrame:
    """exactextract statistics of polygons (in the rasters' CRS) over aligned rasters.

    Returns one row per polygon, in order, with columns ``{raster}_{op}`` (or ``op``
    alone for a single raster; weighted operations ``{raster}_w_{op}``). Polygons
    outside every cell get NaN.
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return pd.DataFrame(index=pd.RangeIndex(0))
    sources = [g.source(name) for name, g in rasters.items()]
    first = next(iter(rasters.values()))
    df = exact_extract(sources if len(sources) > 1 else sources[0], _WKBSource(geoms, first.crs.to_wkt()), ops,
                       weights=weights.source("w") if weights is not None else None,
                       include_cols=["fid"], output="pandas", strategy="raster-sequential")
    return df.set_index("fid").reindex(range(len(geoms)))


# --- indicators -----------------------------------------------------------------------


def assign_groups(units: gpd.GeoDataFrame, groups: dict[str, RasterGroup]) -> pd.Series:
    """The raster group key of each unit: its province's, else the unsuffixed one."""
    keys = units["province"].where(units["province"].isin(list(groups)), None)
    if "" in groups:
        keys = keys.fillna("")
    return keys


def _to_crs(geoms, crs: CRS) -> np.ndarray:
    series = gpd.GeoSeries(np.asarray(geoms, dtype=object), crs=geo_crs.STORE_CRS).to_crs(crs)
    return np.asarray(series.values, dtype=object)


def zonal_indicators(store: Store, units: UnitSet, *, levels: tuple[str, ...] = ("commune", "village")) -> pd.DataFrame:
    """Population (sum), elevation (mean, min, max, population-weighted mean) and slope
    (mean, max, population-weighted mean, degrees) per unit.

    Units whose province has no DEM (and no unsuffixed DEM exists) get no rows.
    """
    groups = raster_groups(store)
    out = []
    for level in levels:
        frame = units.frame(level)
        if frame.empty or not groups:
            continue
        keys = assign_groups(frame, groups)
        for key, group in groups.items():
            pos = np.flatnonzero((keys == key).to_numpy())
            if len(pos) == 0 or "dem" not in group.paths:
                continue
            out.append(_group_stats(frame.iloc[pos], group, level))
        if keys.isna().any():
            log.warning("%d %s(s) lie in provinces without a DEM: no zonal statistics for them",
                        int(keys.isna().sum()), level)
    cols = ["unit_code", "unit_level", "name", "value", "unit"]
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=cols)


def _group_stats(frame: gpd.GeoDataFrame, group: RasterGroup, level: str) -> pd.DataFrame:
    dem = read_band(group.paths["dem"])
    rasters = {"elevation": dem, "slope": Grid(slope_degrees(dem), dem.transform, dem.crs)}
    pop = read_band(group.paths["population"]) if "population" in group.paths else None
    weights = None
    if pop is not None and not pop.aligned(dem):
        log.warning("population raster %s is not on the DEM's grid: population statistics skipped",
                    group.paths["population"])
        pop = None
    ops = ["mean", "min", "max"]
    if pop is not None:  # one pass: coverage fractions are computed once for the three grids
        weights = Grid(np.nan_to_num(pop.values), pop.transform, pop.crs)
        rasters["population"] = weights
        ops += ["sum", "weighted_mean"]
    stats = zonal_stats(_to_crs(frame.geometry.values, dem.crs), rasters, ops, weights=weights)
    codes = frame["code"].to_numpy()
    rows = [
        ("elevation_mean", "elevation_mean", "m"), ("elevation_min", "elevation_min", "m"),
        ("elevation_max", "elevation_max", "m"), ("slope_mean", "slope_mean", "degree"),
        ("slope_max", "slope_max", "degree"),
    ]
    if pop is not None:
        rows += [("elevation_popw_mean", "elevation_w_weighted_mean", "m"),
                 ("slope_popw_mean", "slope_w_weighted_mean", "degree"),
                 ("population", "population_sum", "persons")]
    out = pd.concat([pd.DataFrame({"unit_code": codes, "unit_level": level, "name": name,
                                   "value": stats[col].to_numpy(dtype=float), "unit": unit})
                     for name, col, unit in rows], ignore_index=True)
    return out[out["value"].notna()]

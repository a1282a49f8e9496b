"""Elevation and population rasters of the synthetic demo province.

Both share one grid in the province's VN-2000 TM-3 zone. The DEM is fractal relief
(smooth massifs plus sharp ridges) rising towards the remote edges, with valleys carved
along the main roads and around the villages, so settlements sit low as they do in the
northern mountains. Population is spread from each village's count over its own cells,
dense near the centre, thin on the slopes, so the raster sums to the villages' total.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import rasterio
import shapely
from rasterio import features
from rasterio.transform import Affine
from scipy import ndimage

# rasterio's in-memory datasets are not safe to create from several threads at once (seen
# as spurious NotGeoreferencedWarning in multi-province builds): one raster call at a time.
_GDAL_LOCK = threading.Lock()


def rasterize(shapes, **kwargs) -> np.ndarray:
    """rasterio.features.rasterize, serialised across the demo's worker threads."""
    with _GDAL_LOCK:
        return features.rasterize(list(shapes), **kwargs)

__all__ = ["Grid", "grid_for", "dem", "inside_mask", "population", "write_geotiff"]


class Grid:
    """A north-up raster grid in the local frame: origin (west, north), cell size, shape."""

    def __init__(self, west: float, north: float, cell: float, width: int, height: int):
        self.west, self.north, self.cell, self.width, self.height = west, north, cell, width, height

    @property
    def transform(self):
        return Affine(self.cell, 0.0, self.west, 0.0, -self.cell, self.north)

    def shifted(self, dx: float, dy: float):
        """Affine transform of the same grid moved by (dx, dy) (local -> projected)."""
        return Affine(self.cell, 0.0, self.west + dx, 0.0, -self.cell, self.north + dy)

    def centres(self):
        xs = self.west + (np.arange(self.width) + 0.5) * self.cell
        ys = self.north - (np.arange(self.height) + 0.5) * self.cell
        return np.meshgrid(xs, ys)

    def index(self, xy: np.ndarray):
        col = np.clip(((xy[:, 0] - self.west) // self.cell).astype(int), 0, self.width - 1)
        row = np.clip(((self.north - xy[:, 1]) // self.cell).astype(int), 0, self.height - 1)
        return row, col


def grid_for(bounds, cell: float, margin: float = 2_000.0) -> Grid:
    west = np.floor((bounds[0] - margin) / cell) * cell
    north = np.ceil((bounds[3] + margin) / cell) * cell
    width = int(np.ceil((bounds[2] + margin - west) / cell))
    height = int(np.ceil((north - bounds[1] + margin) / cell))
    return Grid(west, north, cell, width, height)


def _fractal(rng, shape, beta: float, cell: float, min_wavelength: float = 0.0) -> np.ndarray:
    """Random field with power spectrum ~ f^-beta, normalised to 0..1."""
    noise = rng.normal(size=shape)
    fy = np.fft.fftfreq(shape[0], d=cell)[:, None]
    fx = np.fft.rfftfreq(shape[1], d=cell)[None, :]
    f = np.hypot(fx, fy)
    f[0, 0] = f[0, 1] if shape[1] > 1 else 1.0
    amp = f ** (-beta / 2)
    if min_wavelength:
        amp *= np.exp(-(f * min_wavelength) ** 2)
    field = np.fft.irfft2(np.fft.rfft2(noise) * amp, s=shape)
    return (field - field.min()) / (np.ptp(field) + 1e-12)


def dem(rng, grid: Grid, *, valley_lines, village_xy: np.ndarray, city_xy: np.ndarray, inside,
        lowest: float = 100.0, highest: float = 3000.0) -> np.ndarray:
    """Elevation in metres (float32): ``lowest``..``highest`` over the province (``inside``).

    Valleys follow ``valley_lines`` (the main roads) and hold the villages (``village_xy``).
    """
    shape = (grid.height, grid.width)
    massif = _fractal(rng, shape, 3.6, grid.cell, 2 * grid.cell)
    ridged = 1 - np.abs(2 * _fractal(rng, shape, 3.0, grid.cell, 2 * grid.cell) - 1)
    gx, gy = grid.centres()
    dist = np.hypot(gx - city_xy[0], gy - city_xy[1])
    relief = 0.5 * massif + 0.35 * ridged**2 + 0.4 * dist / dist.max()
    valley_lines = shapely.simplify(np.asarray(valley_lines, dtype=object), grid.cell / 2)
    lines = rasterize(((g, 1) for g in valley_lines), out_shape=shape, transform=grid.transform,
                      fill=0, all_touched=True, dtype="uint8")
    d_line = ndimage.distance_transform_edt(lines == 0) * grid.cell
    spots = np.zeros(shape, dtype=bool)
    rows, cols = grid.index(village_xy)
    spots[rows, cols] = True
    d_spot = ndimage.distance_transform_edt(~spots) * grid.cell
    z = relief - 0.22 * np.exp(-d_line / 900.0) - 0.25 * np.exp(-d_spot / 600.0)
    z = ndimage.gaussian_filter(z, 1.0)
    lo, hi = np.percentile(z[inside], [0.2, 99.9])
    z = np.clip((z - lo) / (hi - lo), 0, 1)
    return (lowest + (highest - lowest) * z**1.2).astype("float32")


def inside_mask(grid: Grid, geom) -> np.ndarray:
    """Cells whose centre lies in ``geom``."""
    return rasterize([(geom, 1)], out_shape=(grid.height, grid.width), transform=grid.transform,
                     fill=0, dtype="uint8").astype(bool)


def population(grid: Grid, village_geoms, village_xy: np.ndarray, village_pop: np.ndarray,
               elevation: np.ndarray) -> np.ndarray:
    """Persons per cell (float32) summing, village by village, to ``village_pop``."""
    shape = (grid.height, grid.width)
    village_geoms = shapely.simplify(np.asarray(village_geoms, dtype=object), grid.cell / 3)
    label = rasterize(((g, k + 1) for k, g in enumerate(village_geoms)), out_shape=shape,
                      transform=grid.transform, fill=0, dtype="int32")
    gx, gy = grid.centres()
    inside = label > 0
    k = label[inside] - 1
    d = np.hypot(gx[inside] - village_xy[k, 0], gy[inside] - village_xy[k, 1])
    rows, cols = grid.index(village_xy)
    rise = np.maximum(elevation[inside] - elevation[rows, cols][k], 0)
    weight = (np.exp(-0.5 * (d / 450.0) ** 2) + 0.03) * np.exp(-rise / 400.0)
    total = np.bincount(k, weights=weight, minlength=len(village_xy))
    out = np.zeros(shape, dtype="float64")
    has = total[k] > 0
    out[inside] = np.where(has, village_pop[k] * weight / np.where(total[k] > 0, total[k], 1), 0)
    missing = np.flatnonzero(total == 0)  # villages smaller than a cell: all at the centre
    np.add.at(out, (rows[missing], cols[missing]), village_pop[missing])
    return out.astype("float32")


def write_geotiff(path: Path, array: np.ndarray, transform, crs, *, description: str, units: str) -> None:
    """A compressed, tiled single-band GeoTIFF."""
    profile = dict(driver="GTiff", height=array.shape[0], width=array.shape[1], count=1, dtype=array.dtype,
                   crs=crs, transform=transform, compress="deflate", predictor=3, tiled=True,
                   blockxsize=256, blockysize=256, zlevel=6)
    with _GDAL_LOCK, rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)
        dst.set_band_description(1, description)
        dst.update_tags(1, units=units)
        dst.update_tags(source="NTM Atlas demo (synthetic, not real data)")

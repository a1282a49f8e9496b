"""Travel-time rasters as a coloured image overlay for the web map.

``layers.travel_time`` writes minutes to the nearest facility as a GeoTIFF in the
province's metric grid. The page cannot draw a GeoTIFF, so it gets a PNG: minutes put
into five classes (0–15, 15–30, 30–60, 60–120, > 120), warped to Web Mercator (the
grid Leaflet stretches an image on, so its corners sit right), no value transparent.
Classes are assigned before warping and warped by nearest neighbour, so no cell takes
a colour between two classes. The image is a palette PNG: a province is a few hundred
kilobytes.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
import rasterio
from PIL import Image
from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds

from layers.indicators_infra import FACILITY_TABLES
from layers.store import Store
from layers.zonal import raster_path
from ._errors import ParameterError
from .i18n import t

__all__ = ["TRAVEL_CLASSES", "TravelLayer", "TravelImage", "travel_layers", "travel_png", "travel_bounds",
           "travel_legend", "classify_minutes"]

# (upper bound in minutes, colour): 0–15, 15–30, 30–60, 60–120, > 120
TRAVEL_CLASSES = ((15.0, "#1a9850"), (30.0, "#a6d96a"), (60.0, "#fee08b"), (120.0, "#fc8d59"),
                  (math.inf, "#d73027"))
_WEB_MERCATOR = "EPSG:3857"
_MAX_PIXELS = 4096  # per side: a national raster is shown coarser, never as a 40 000 px image


@dataclass(frozen=True)
class TravelLayer:
    """One registered travel-time raster: its name, facility type and province (if per province)."""

    name: str
    facility: str
    province: str | None
    path: str


@dataclass
class TravelImage:
    png: bytes
    bounds: list[list[float]]  # [[south, west], [north, east]] as Leaflet takes them
    size: tuple[int, int]


def travel_layers(store: Store, province: str | None = None) -> list[TravelLayer]:
    """Travel-time rasters of the store (those of ``province``, or not per province)."""
    rows = store.read_table("rasters", "kind = 'travel_time'", order_by="name")
    out = []
    for name, path in zip(rows["name"], rows["path"]):
        rest = str(name).removeprefix("travel_time_")
        facility = next((f for f in FACILITY_TABLES if rest == f or rest.startswith(f + "_")), None)
        if facility is None:
            continue
        prov = rest[len(facility) + 1:] or None
        if province is not None and prov not in (None, province):
            continue
        if raster_path(store, path).is_file():
            out.append(TravelLayer(str(name), facility, prov, str(path)))
    return out


def classify_minutes(minutes: np.ndarray) -> np.ndarray:
    """Class per cell: 1–5 for the classes of :data:`TRAVEL_CLASSES` (upper bounds
    included: 15 min is in 0–15, 120 in 60–120), 0 for no value (unreachable too).

    Examples
    --------
    >>> classify_minutes(np.array([0.0, 15.0, 15.1, 59.0, 120.0, 500.0, np.nan])).tolist()
    [1, 1, 2, 3, 4, 5, 0]
    """
    edges = np.array([b for b, _ in TRAVEL_CLASSES[:-1]])
    values = np.asarray(minutes, dtype="float64")
    out = (np.searchsorted(edges, np.nan_to_num(values, nan=0.0), side="left") + 1).astype("uint8")
    out[~np.isfinite(values)] = 0
    return out


def _layer(store: Store, name: str) -> TravelLayer:
    layers = {layer.name: layer for layer in travel_layers(store)}
    if name not in layers:
        known = ", ".join(layers) or "none: compute one with 'ntm analyse indicators --travel-time'"
        raise ParameterError("name", f"'name' must be a travel-time raster of the store ({known}), got {name!r}")
    return layers[name]


def _web_grid(src) -> tuple:
    """(transform, width, height, [[south, west], [north, east]]) of the raster in Web Mercator."""
    with warnings.catch_warnings():  # rasterio multiplies Affines with '*', which affine 2.4+ frowns upon
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        transform, width, height = calculate_default_transform(src.crs, _WEB_MERCATOR, src.width, src.height,
                                                               *src.bounds)
    scale = max(width, height) / _MAX_PIXELS
    if scale > 1:
        transform = transform @ transform.scale(scale)
        width, height = max(1, int(width / scale)), max(1, int(height / scale))
    west, north = transform @ (0, 0)
    east, south = transform @ (width, height)
    w, s, e, n = transform_bounds(_WEB_MERCATOR, "EPSG:4326", west, south, east, north)
    return transform, width, height, [[round(s, 6), round(w, 6)], [round(n, 6), round(e, 6)]]


def travel_bounds(store: Store, layer: TravelLayer) -> list[list[float]]:
    """The overlay's corners in degrees, [[south, west], [north, east]], without drawing it."""
    with rasterio.open(raster_path(store, layer.path)) as src:
        return _web_grid(src)[3]


def travel_png(store: Store, name: str) -> TravelImage:
    """The raster ``name`` as a palette PNG in Web Mercator, and its corners in degrees.

    Raises
    ------
    ParameterError
        ``name`` is not a travel-time raster of the store (naming 'name').
    """
    layer = _layer(store, name)
    with rasterio.open(raster_path(store, layer.path)) as src:
        classes = classify_minutes(src.read(1, masked=True).filled(np.nan).astype("float64"))
        transform, width, height, bounds = _web_grid(src)
        out = np.zeros((height, width), dtype="uint8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            reproject(classes, out, src_transform=src.transform, src_crs=src.crs, dst_transform=transform,
                      dst_crs=_WEB_MERCATOR, src_nodata=0, dst_nodata=0, resampling=Resampling.nearest)
    image = Image.fromarray(out, mode="P")
    palette = [255, 255, 255]
    for _, colour in TRAVEL_CLASSES:
        palette += [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    image.putpalette(palette + [0, 0, 0] * (256 - len(palette) // 3))
    buf = io.BytesIO()
    image.save(buf, format="PNG", transparency=0, optimize=True)
    return TravelImage(buf.getvalue(), bounds, (width, height))


def travel_legend(lang: str) -> list[list[str]]:
    """[[colour, label], …] of the five classes."""
    labels = t("map_analysis.travel_classes", lang)
    return [[colour, label] for (_, colour), label in zip(TRAVEL_CLASSES, labels)]

"""Reading and writing vector files (GeoPackage, zipped Shapefile, GeoJSON, FlatGeobuf).

Every import goes through ``read_vector``: it reads with pyogrio (Arrow), resolves the
file's CRS (VN-2000 TM-3 zones, a ``.prj`` without an EPSG code), refuses data without a
CRS unless the caller names one, reprojects to the store's EPSG:4326 and checks that the
result lands in Vietnam (a wrong CRS usually sends data to the ocean or to Africa).
"""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pyogrio
from pyproj import CRS

from geo import crs as gcrs

__all__ = ["VectorSource", "read_vector", "write_vector", "VECTOR_SUFFIXES", "VectorReadError"]

log = logging.getLogger(__name__)

VECTOR_SUFFIXES = {
    ".gpkg": "GeoPackage",
    ".zip": "zipped Shapefile",
    ".shp": "Shapefile",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".fgb": "FlatGeobuf",
}
# Generous box around Vietnam and its islands (lon/lat), used to catch wrong CRSs.
VIETNAM_BOUNDS = (100.0, 5.0, 119.0, 24.5)


class VectorReadError(ValueError):
    """A vector file cannot be read or placed on the map; the message says why and what to do."""


@dataclass
class VectorSource:
    """What was read: the data in EPSG:4326 and how it got there."""

    gdf: gpd.GeoDataFrame
    path: Path
    layer: str | None
    source_crs: CRS
    notes: list[str] = field(default_factory=list)


def _gdal_path(path: Path) -> tuple[str, str | None]:
    """The path GDAL should open, and the layer inside a zip when there is exactly one."""
    if path.suffix.lower() != ".zip":
        return str(path), None
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
    except zipfile.BadZipFile as exc:
        raise VectorReadError(f"{path}: not a valid zip file ({exc})") from exc
    shps = [n for n in names if n.lower().endswith(".shp")]
    others = [n for n in names if Path(n).suffix.lower() in (".gpkg", ".geojson", ".fgb")]
    if len(shps) + len(others) == 0:
        raise VectorReadError(
            f"{path}: the zip holds no .shp, .gpkg, .geojson or .fgb file (found: {', '.join(names[:8])})"
        )
    if len(shps) + len(others) > 1:
        found = ", ".join(shps + others)
        raise VectorReadError(f"{path}: the zip holds several datasets ({found}); zip one per file")
    inner = (shps + others)[0]
    if shps:
        stem = inner[:-4]
        missing = [ext for ext in (".shx", ".dbf") if not any(n.lower() == (stem + ext).lower() for n in names)]
        if missing:
            raise VectorReadError(f"{path}: shapefile '{inner}' is incomplete, missing {', '.join(missing)}")
    return f"/vsizip/{path}/{inner}", None


def read_vector(
    path: str | Path,
    *,
    layer: str | None = None,
    crs=None,
    where: str | None = None,
    columns: list[str] | None = None,
    encoding: str | None = None,
) -> VectorSource:
    """Read a vector file into EPSG:4326.

    Parameters
    ----------
    path
        .gpkg, .zip (a zipped Shapefile), .shp, .geojson/.json or .fgb.
    layer
        Layer name when the file holds several (GeoPackage).
    crs
        The CRS of a file that declares none (e.g. ``"EPSG:9208"``). A file that declares
        a CRS different from this one is refused rather than silently overridden.
    where
        OGR SQL filter applied while reading, e.g. ``"province_vn = 'Lào Cai'"``.
    encoding
        Text encoding of a Shapefile without a ``.cpg`` file.

    Raises
    ------
    VectorReadError
        Unsupported file type, missing layer, no CRS, or coordinates outside Vietnam.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VECTOR_SUFFIXES:
        allowed = ", ".join(f"{s} ({n})" for s, n in VECTOR_SUFFIXES.items())
        raise VectorReadError(f"{path}: unsupported file type '{suffix}'; expected one of {allowed}")
    if not path.exists():
        raise VectorReadError(f"{path}: file not found")
    gdal_path, _ = _gdal_path(path)
    try:
        layers = pyogrio.list_layers(gdal_path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise VectorReadError(f"{path}: cannot be opened as {VECTOR_SUFFIXES[suffix]}: {exc}") from exc
    names = [str(n) for n in layers[:, 0]]
    spatial = [str(n) for n, g in layers if g is not None]
    if layer is None:
        if len(spatial) > 1:
            raise VectorReadError(f"{path}: holds several layers ({', '.join(spatial)}); choose one with --layer")
        layer = (spatial or names or [None])[0]
    elif layer not in names:
        raise VectorReadError(f"{path}: has no layer '{layer}'; layers: {', '.join(names)}")
    if layer not in spatial:
        raise VectorReadError(
            f"{path}: layer '{layer}' has no geometry; spatial layers: {', '.join(spatial) or 'none'}"
        )
    kwargs = {"layer": layer, "where": where, "columns": columns, "use_arrow": True}
    if encoding:
        kwargs["encoding"] = encoding
    try:
        gdf = gpd.read_file(gdal_path, **kwargs)
    except Exception as exc:
        raise VectorReadError(f"{path}: cannot read layer '{layer}': {exc}") from exc
    notes: list[str] = []
    source_crs = _source_crs(path, gdf.crs, crs, notes)
    gdf = gdf.set_crs(source_crs, allow_override=True)
    if not gdf.empty:
        gdf = gdf.to_crs(gcrs.STORE_CRS)
        _check_in_vietnam(path, gdf, source_crs)
    return VectorSource(gdf=gdf, path=path, layer=layer, source_crs=source_crs, notes=notes)


def _source_crs(path: Path, file_crs, given, notes: list[str]) -> CRS:
    if file_crs is None:
        if given is None:
            raise VectorReadError(
                f"{path}: the file declares no coordinate reference system (for a Shapefile: "
                "no .prj); give it with --crs, e.g. --crs EPSG:9208 for VN-2000 TM-3 104°45′ "
                "(Lào Cai) or --crs EPSG:4756 for VN-2000 longitude/latitude"
            )
        resolved = gcrs.resolve_crs(given)
        notes.append(f"no CRS in the file; used {resolved.name} as given")
        return resolved
    resolved = gcrs.resolve_crs(file_crs.to_wkt())
    if given is not None:
        wanted = gcrs.resolve_crs(given)
        if not resolved.equals(wanted, ignore_axis_order=True):
            raise VectorReadError(
                f"{path}: the file declares {resolved.name} but --crs says {wanted.name}; "
                "remove --crs to use the file's own CRS, or fix the file's .prj"
            )
    if resolved.to_epsg() is None:
        notes.append(f"CRS read from the file without an EPSG code: {resolved.name}")
    if gcrs.is_vn2000(resolved):
        notes.append(f"reprojected from VN-2000 ({resolved.name}) with the official 7-parameter transformation")
    return resolved


def _check_in_vietnam(path: Path, gdf: gpd.GeoDataFrame, source_crs: CRS) -> None:
    minx, miny, maxx, maxy = gdf.total_bounds
    bx0, by0, bx1, by1 = VIETNAM_BOUNDS
    if minx < bx0 or maxx > bx1 or miny < by0 or maxy > by1:
        raise VectorReadError(
            f"{path}: after reprojection from {source_crs.name} the data spans "
            f"lon {minx:.3f}…{maxx:.3f}, lat {miny:.3f}…{maxy:.3f}, outside Vietnam; "
            "the declared CRS is probably wrong (a VN-2000 TM-3 file needs its zone, e.g. --crs EPSG:9208)"
        )


def write_vector(gdf: gpd.GeoDataFrame, path: str | Path, *, layer: str | None = None) -> Path:
    """Write a layer to .gpkg, .geojson (RFC 7946, 7 decimals), .fgb or .shp.zip-free formats."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".gpkg":
        pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", use_arrow=True)
    elif suffix in (".geojson", ".json"):
        pyogrio.write_dataframe(
            gdf.to_crs(gcrs.STORE_CRS), path, driver="GeoJSON", RFC7946="YES",
            COORDINATE_PRECISION=7, WRITE_BBOX="NO",
        )
    elif suffix == ".fgb":
        pyogrio.write_dataframe(gdf, path, driver="FlatGeobuf", use_arrow=True)
    else:
        raise ValueError(f"'path' must end in .gpkg, .geojson or .fgb, got '{path.name}'")
    return path

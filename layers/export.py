"""Export any store layer to a file planners and other GIS can open.

Feature tables (admin units, infrastructure, projects) go to GeoPackage, GeoJSON
(RFC 7946: WGS 84 lon/lat, 7 decimals, no "crs" member), FlatGeobuf, or, without
geometry, to CSV and Excel. Attribute tables (status history, plans, recognitions,
targets, crosswalk …) go to CSV and Excel. CSV is UTF-8 with a byte-order mark so that
Excel shows Vietnamese names; Excel files get a bold, frozen header row.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from . import schema
from .admin_units import valid_on_sql
from .infrastructure import LayerNotFoundError
from .store import Store
from .vector_io import write_vector

__all__ = ["ATTRIBUTE_TABLES", "FEATURE_FORMATS", "TABLE_FORMATS", "exportable_layers", "export_layer"]

log = logging.getLogger(__name__)

FEATURE_FORMATS = (".gpkg", ".geojson", ".fgb", ".csv", ".xlsx")
TABLE_FORMATS = (".csv", ".xlsx")
ATTRIBUTE_TABLES = (
    "status_records", "plans", "recognitions", "targets", "crosswalk",
    "criterion_departments", "criterion_thresholds", "criterion_indicators", "import_log",
)
_INTERNAL_IDS = ("fid", "id")  # row ids of the store; files get their own


def exportable_layers() -> dict[str, tuple[str, ...]]:
    """Layer (table) name -> the file suffixes it can be exported to."""
    out = {t: FEATURE_FORMATS for t in schema.FEATURE_TABLES}
    out |= {t: TABLE_FORMATS for t in ATTRIBUTE_TABLES}
    return out


def _table_of(layer: str) -> str:
    """A table name, or an admin level name ("commune" -> "communes")."""
    table = schema.ADMIN_TABLE.get(layer, layer)
    if table not in exportable_layers():
        raise LayerNotFoundError(
            f"unknown layer '{layer}'; exportable layers: {', '.join(exportable_layers())}"
        )
    return table


def export_layer(
    store: Store,
    layer: str,
    path: str | os.PathLike,
    *,
    where: str | None = None,
    params: Sequence = (),
    on=None,
    columns: Sequence[str] | None = None,
) -> Path:
    """Write one store layer to ``path``; the suffix chooses the format.

    Parameters
    ----------
    store
        The store to read.
    layer
        A table name (communes, roads, projects, status_records …) or an admin level
        (province, district, commune, village).
    path
        .gpkg, .geojson, .fgb, .csv or .xlsx for feature tables; .csv or .xlsx for
        attribute tables. An existing file is replaced; a failed export leaves it as it was.
    where, params
        SQL filter on the table's columns, e.g. ``"commune_code = ?"``, ``["C01"]``.
        ``where`` is SQL text: build it from trusted code and pass user values in ``params``.
    on
        Admin units only: the vintage valid on this date ('YYYY-MM-DD'); None gives the
        current units, ``"all"`` every vintage.
    columns
        Attribute columns to keep (default: all but the store's row id).

    Returns
    -------
    Path
        The written file.

    Notes
    -----
    CSV and Excel carry attributes only; point layers (schools, transformers …) and
    projects add ``lon`` and ``lat`` of a representative point (WGS 84, 7 decimals).

    Examples
    --------
    >>> export_layer(store, "roads", "roads.geojson", where="commune_code = ?", params=["C01"])  # doctest: +SKIP
    """
    table = _table_of(layer)
    path = Path(path)
    suffix = path.suffix.lower()
    allowed = exportable_layers()[table]
    if suffix not in allowed:
        raise ValueError(
            f"'{path.name}': layer '{table}' can be exported to {', '.join(allowed)}, not '{suffix or '(no suffix)'}'"
        )
    clauses, args = ([f"({where})"] if where else []), list(params)
    if table in schema.ADMIN_TABLE.values():
        if on != "all":
            sql, day = valid_on_sql(on)
            clauses.append(sql)
            args += day
    elif on is not None:
        raise ValueError(f"'on' selects a vintage of admin units; layer '{table}' has none, got on={on!r}")
    where_sql = " AND ".join(clauses) or None
    available = [c for c in store.columns(table) if c not in ("geom", *_INTERNAL_IDS)]
    if columns is not None:
        unknown = [c for c in columns if c not in available]
        if unknown:
            raise ValueError(f"layer '{table}' has no column(s) {unknown}; columns: {', '.join(available)}")
    cols = list(columns) if columns is not None else available
    spatial = table in schema.FEATURE_TABLES
    if spatial:
        frame = store.read_features(table, where_sql, args, columns=cols)
    else:
        frame = store.read_table(table, where_sql, args, columns=cols, order_by="id")
    frame = frame[[*cols, frame.geometry.name]] if spatial else frame[cols]

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=".export-", dir=path.parent))
    tmp = tmp_dir / path.name  # same name: GeoJSON takes its "name" member from it
    try:
        if suffix in (".gpkg", ".geojson", ".fgb"):
            write_vector(frame, tmp, layer=table)
        else:
            df = pd.DataFrame(frame.drop(columns=frame.geometry.name)) if spatial else frame
            if spatial and schema.GEOMETRY_TYPES[table] in ("POINT", "GEOMETRY"):
                df = df.assign(**_lon_lat(np.asarray(frame.geometry.array)))
            if suffix == ".csv":
                df.to_csv(tmp, index=False, encoding="utf-8-sig")
            else:
                _write_xlsx(df, tmp, sheet=table)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    log.info("exported %d row(s) of %s to %s", len(frame), table, path)
    return path


def _lon_lat(geoms: np.ndarray) -> dict[str, np.ndarray]:
    """lon/lat of each feature: the point itself, else a point inside it (NaN if none)."""
    points = shapely.point_on_surface(geoms)
    return {
        "lon": np.round(shapely.get_x(points), 7),
        "lat": np.round(shapely.get_y(points), 7),
    }


def _write_xlsx(df: pd.DataFrame, path: Path, *, sheet: str) -> None:
    """One sheet, column names in a bold frozen first row, widths fitted to the content."""
    values = df.astype(object).where(df.notna(), None)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        values.to_excel(writer, sheet_name=sheet[:31], index=False, freeze_panes=(1, 0))
        ws = writer.sheets[sheet[:31]]
        bold = Font(bold=True)
        for k, col in enumerate(df.columns, start=1):
            ws.cell(row=1, column=k).font = bold
            sample = values[col].head(200).map(lambda v: len(str(v)) if v is not None else 0)
            width = max([len(str(col)), *sample.tolist()]) + 2
            ws.column_dimensions[get_column_letter(k)].width = min(width, 60)

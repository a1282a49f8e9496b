"""The GeoPackage file format, written with the standard library's sqlite3.

We write GeoPackage ourselves (not through OGR) because imports and edits must be
all-or-nothing across several tables, which needs one SQLite transaction. This module
knows the format only: the core metadata tables, the geometry blob (header + ISO WKB),
the RTree spatial-index extension and the SQL functions its triggers call. What the
tables mean lives in `layers.schema`.
"""

from __future__ import annotations

import sqlite3
import struct

import numpy as np
import shapely

APPLICATION_ID = 0x47504B47  # "GPKG"
USER_VERSION = 10400  # GeoPackage 1.4

WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,'
    'AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],'
    'AUTHORITY["EPSG","4326"]]'
)

CORE_DDL = f"""
PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {USER_VERSION};
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL,
  srs_id INTEGER PRIMARY KEY,
  organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL,
  definition TEXT NOT NULL,
  description TEXT
);
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
  ('WGS 84 geodetic', 4326, 'EPSG', 4326, '{WGS84_WKT}', 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY,
  data_type TEXT NOT NULL,
  identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
  srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id)
);
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL,
  z TINYINT NOT NULL,
  m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
);
CREATE TABLE gpkg_extensions (
  table_name TEXT,
  column_name TEXT,
  extension_name TEXT NOT NULL,
  definition TEXT NOT NULL,
  scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name)
);
"""

_RTREE_DDL = """
CREATE VIRTUAL TABLE "rtree_{t}_{c}" USING rtree(id, minx, maxx, miny, maxy);
CREATE TRIGGER "rtree_{t}_{c}_insert" AFTER INSERT ON "{t}"
  WHEN (new."{c}" NOT NULL AND NOT ST_IsEmpty(NEW."{c}"))
BEGIN
  INSERT OR REPLACE INTO "rtree_{t}_{c}" VALUES (
    NEW."{i}", ST_MinX(NEW."{c}"), ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}"));
END;
CREATE TRIGGER "rtree_{t}_{c}_update1" AFTER UPDATE OF "{c}" ON "{t}"
  WHEN OLD."{i}" = NEW."{i}" AND (NEW."{c}" NOTNULL AND NOT ST_IsEmpty(NEW."{c}"))
BEGIN
  INSERT OR REPLACE INTO "rtree_{t}_{c}" VALUES (
    NEW."{i}", ST_MinX(NEW."{c}"), ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}"));
END;
CREATE TRIGGER "rtree_{t}_{c}_update2" AFTER UPDATE OF "{c}" ON "{t}"
  WHEN OLD."{i}" = NEW."{i}" AND (NEW."{c}" ISNULL OR ST_IsEmpty(NEW."{c}"))
BEGIN
  DELETE FROM "rtree_{t}_{c}" WHERE id = OLD."{i}";
END;
CREATE TRIGGER "rtree_{t}_{c}_update3" AFTER UPDATE OF "{c}" ON "{t}"
  WHEN OLD."{i}" != NEW."{i}" AND (NEW."{c}" NOTNULL AND NOT ST_IsEmpty(NEW."{c}"))
BEGIN
  DELETE FROM "rtree_{t}_{c}" WHERE id = OLD."{i}";
  INSERT OR REPLACE INTO "rtree_{t}_{c}" VALUES (
    NEW."{i}", ST_MinX(NEW."{c}"), ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}"));
END;
CREATE TRIGGER "rtree_{t}_{c}_update4" AFTER UPDATE ON "{t}"
  WHEN OLD."{i}" != NEW."{i}" AND (NEW."{c}" ISNULL OR ST_IsEmpty(NEW."{c}"))
BEGIN
  DELETE FROM "rtree_{t}_{c}" WHERE id IN (OLD."{i}", NEW."{i}");
END;
CREATE TRIGGER "rtree_{t}_{c}_delete" AFTER DELETE ON "{t}"
  WHEN old."{c}" NOT NULL
BEGIN
  DELETE FROM "rtree_{t}_{c}" WHERE id = OLD."{i}";
END;
INSERT INTO gpkg_extensions VALUES ('{t}', '{c}', 'gpkg_rtree_index',
  'http://www.geopackage.org/spec120/#extension_rtree', 'write-only');
"""


def feature_table_ddl(
    table: str,
    columns_sql: str,
    *,
    geometry_type: str,
    description: str = "",
    geom_column: str = "geom",
    srs_id: int = 4326,
) -> str:
    """SQL creating a feature table registered in the GeoPackage, with its RTree index."""
    return (
        f'CREATE TABLE "{table}" (\n  fid INTEGER PRIMARY KEY AUTOINCREMENT,\n'
        f'  "{geom_column}" {geometry_type},\n{columns_sql}\n);\n'
        f"INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id)"
        f" VALUES ('{table}', 'features', '{table}', '{_sql_str(description)}', {srs_id});\n"
        f"INSERT INTO gpkg_geometry_columns VALUES"
        f" ('{table}', '{geom_column}', '{geometry_type}', {srs_id}, 0, 0);\n"
        + _RTREE_DDL.format(t=table, c=geom_column, i="fid")
    )


def attribute_table_ddl(table: str, columns_sql: str, *, description: str = "") -> str:
    """SQL creating a non-spatial table that QGIS and GDAL list as a layer."""
    return (
        f'CREATE TABLE "{table}" (\n  id INTEGER PRIMARY KEY AUTOINCREMENT,\n{columns_sql}\n);\n'
        f"INSERT INTO gpkg_contents (table_name, data_type, identifier, description)"
        f" VALUES ('{table}', 'attributes', '{table}', '{_sql_str(description)}');\n"
    )


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


# --- geometry blobs -----------------------------------------------------------------

_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
# flags: version 0; binary type standard; envelope [minx, maxx, miny, maxy]; little endian
_FLAGS_ENVELOPE = 0b0000_0011
_FLAGS_EMPTY = 0b0001_0001


def geometries_to_blobs(geoms, srs_id: int = 4326) -> list[bytes | None]:
    """Encode shapely geometries as GeoPackage geometry blobs (with an XY envelope)."""
    geoms = np.asarray(geoms, dtype=object)
    out: list[bytes | None] = [None] * len(geoms)
    if len(geoms) == 0:
        return out
    missing = shapely.is_missing(geoms)
    empty = shapely.is_empty(geoms) & ~missing
    wkb = shapely.to_wkb(geoms, byte_order=1, flavor="iso", output_dimension=2)
    bounds = shapely.bounds(geoms)
    head = struct.Struct("<2sBBi4d")
    head_empty = struct.Struct("<2sBBi")
    for k in range(len(geoms)):
        if missing[k]:
            continue
        if empty[k]:
            out[k] = head_empty.pack(b"GP", 0, _FLAGS_EMPTY, srs_id) + wkb[k]
        else:
            minx, miny, maxx, maxy = bounds[k]
            out[k] = head.pack(b"GP", 0, _FLAGS_ENVELOPE, srs_id, minx, maxx, miny, maxy) + wkb[k]
    return out


def blobs_to_geometries(blobs) -> np.ndarray:
    """Decode GeoPackage geometry blobs (any envelope kind) into shapely geometries."""
    wkbs = [None if b is None else b[_header_size(b):] for b in blobs]
    return shapely.from_wkb(np.asarray(wkbs, dtype=object))


def _header_size(blob: bytes) -> int:
    if blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry blob (missing 'GP' magic)")
    return 8 + _ENVELOPE_BYTES[(blob[3] >> 1) & 0b111]


def _envelope(blob):
    """(minx, maxx, miny, maxy, empty) of a blob, from its header or, if absent, its WKB."""
    if blob is None:
        return None
    flags = blob[3]
    if flags & 0b1_0000:
        return (None, None, None, None, True)
    kind = (flags >> 1) & 0b111
    if kind:
        order = "<" if flags & 1 else ">"
        minx, maxx, miny, maxy = struct.unpack_from(order + "4d", blob, 8)
        return (minx, maxx, miny, maxy, False)
    geom = shapely.from_wkb(blob[_header_size(blob):])
    if geom.is_empty:
        return (None, None, None, None, True)
    minx, miny, maxx, maxy = geom.bounds
    return (minx, maxx, miny, maxy, False)


def _env_func(index):
    def func(blob):
        env = _envelope(blob)
        return None if env is None else env[index]

    return func


def register_functions(conn: sqlite3.Connection) -> None:
    """Give a connection the SQL functions that GeoPackage RTree triggers call."""
    for name, index in (("ST_MinX", 0), ("ST_MaxX", 1), ("ST_MinY", 2), ("ST_MaxY", 3)):
        conn.create_function(name, 1, _env_func(index), deterministic=True)
    conn.create_function(
        "ST_IsEmpty", 1, lambda b: None if b is None else int(_envelope(b)[4]), deterministic=True
    )

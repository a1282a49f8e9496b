"""The feature collections the OGC API serves: ids, titles, queryable properties, extents.

A collection is either a feature table of the store (the four administrative levels and
every registered infrastructure layer) or ``commune-status``, communes with one year's
criteria status as properties (``api.ogc_status``). Ids are the table names with
hyphens: they follow the frozen schema, so they stay stable, and read well in URLs.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from layers import infrastructure, schema
from layers._errors import StoreError
from layers.store import Store
from maps.i18n import t
from . import ogc_status

__all__ = [
    "Collection",
    "RESERVED",
    "STATUS_PARAMETERS",
    "collections",
    "get_collection",
    "queryables",
    "json_schema_type",
    "spatial_extent",
    "temporal_extent",
]

# Query parameters of /items; a column with one of these names cannot be a filter.
RESERVED = frozenset({"f", "lang", "bbox", "bbox-crs", "limit", "offset", "datetime", "sortby",
                      "properties", "crs"})
STATUS_PARAMETERS = frozenset({"year", "set"})

_JSON_TYPES = {
    "TEXT": {"type": "string"},
    "INTEGER": {"type": "integer"},
    "REAL": {"type": "number"},
    "DOUBLE": {"type": "number"},
    "FLOAT": {"type": "number"},
    "BOOLEAN": {"type": "boolean"},
    "DATE": {"type": "string", "format": "date"},
    "DATETIME": {"type": "string", "format": "date-time"},
}


@dataclass(frozen=True)
class Collection:
    """One collection: its id, the table it reads, bilingual titles, geometry type."""

    id: str
    table: str
    title_vi: str
    title_en: str
    geometry_type: str
    status: bool = False  # commune-status: built from status records, not a table

    @property
    def temporal(self) -> bool:
        """Whether ``datetime`` applies (admin vintages; commune-status by year)."""
        return self.status or self.table in schema.ADMIN_TABLE.values()

    def title(self, lang: str | None = None) -> str:
        """Vietnamese first, English second; one language when ``lang`` is given."""
        if lang == "vi":
            return self.title_vi
        if lang == "en":
            return self.title_en
        return f"{self.title_vi} / {self.title_en}"

    def extra_parameters(self) -> frozenset[str]:
        return STATUS_PARAMETERS if self.status else frozenset()


def _admin(table: str) -> Collection:
    cid = table.replace("_", "-")
    return Collection(cid, table, t(f"ogc.collections.{cid}", "vi"), t(f"ogc.collections.{cid}", "en"),
                      schema.GEOMETRY_TYPES[table])


def collections(store: Store) -> dict[str, Collection]:
    """Every collection of a store, in a stable order: admin levels, commune-status, layers.

    Infrastructure layers come from the ``layers.infrastructure.LAYERS`` registry; a
    registered layer whose table the store lacks is left out.
    """
    out = {}
    for table in schema.ADMIN_TABLE.values():
        coll = _admin(table)
        out[coll.id] = coll
    status = ogc_status.STATUS_ID
    out[status] = Collection(status, "communes", t("ogc.collections.commune-status", "vi"),
                             t("ogc.collections.commune-status", "en"), "MULTIPOLYGON", status=True)
    for spec in infrastructure.LAYERS.values():
        if not _has_table(store, spec.table):
            continue
        cid = spec.table.replace("_", "-")
        out[cid] = Collection(cid, spec.table, spec.label_vi or spec.name, spec.label_en or spec.name,
                              schema.GEOMETRY_TYPES.get(spec.table, "GEOMETRY"))
    return out


def _has_table(store: Store, table: str) -> bool:
    try:
        store.columns(table)
    except StoreError:  # not in this store
        return False
    return True


def get_collection(store: Store, collection_id: str) -> Collection:
    """The collection with this id; LookupError (404) listing the known ids otherwise."""
    colls = collections(store)
    if collection_id not in colls:
        raise LookupError(f"no collection '{collection_id[:100]}'; collections: {', '.join(colls)}")
    return colls[collection_id]


def queryables(store: Store, coll: Collection) -> dict[str, str]:
    """Property name -> SQL type for every property a client may filter, sort or select.

    For commune-status the criterion properties are those of every shipped set
    (criterion_1 … criterion_19); a year's set may have fewer.
    """
    if coll.status:
        return ogc_status.property_types(None)
    cols = store.columns(coll.table)
    return {name: sql_type for name, sql_type in cols.items()
            if name not in ("fid", "geom") and name not in RESERVED}


def json_schema_type(sql_type: str) -> dict:
    """A JSON-schema type for a declared SQL type (unknown types are strings)."""
    return dict(_JSON_TYPES.get(sql_type.upper(), {"type": "string"}))


def spatial_extent(store: Store, coll: Collection) -> list[float] | None:
    """[minx, miny, maxx, maxy] (CRS84) of the table, from gpkg_contents; None when empty."""
    df = store.read_table("gpkg_contents", "table_name = ?", [coll.table],
                          columns=["min_x", "min_y", "max_x", "max_y"])
    if df.empty or df.iloc[0].isna().any():
        return None
    return [float(v) for v in df.iloc[0]]


def temporal_extent(store: Store, coll: Collection) -> list[str | None] | None:
    """[start, end] of the vintages (None ends are open); commune-status: its years."""
    if coll.status:
        years = ogc_status.status_years(store)
        return [f"{years[0]}-01-01T00:00:00Z", f"{years[-1]}-12-31T23:59:59Z"] if years else None
    if not coll.temporal:
        return None
    sql = (f'SELECT min(valid_from), max(valid_to), sum(valid_from IS NULL), sum(valid_to IS NULL), '
           f'count(*) FROM "{coll.table}"')
    with contextlib.closing(store.connect()) as conn:
        start, end, open_start, open_end, n = conn.execute(sql).fetchone()
    if not n:
        return None
    return [None if open_start or start is None else f"{start}T00:00:00Z",
            None if open_end or end is None else f"{end}T00:00:00Z"]

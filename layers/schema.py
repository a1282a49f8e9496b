"""The store's tables, as forward migrations.

Each migration is frozen once released: a new column or table is a new migration, never
an edit of an old one, so every store can be brought forward from any version. The
latest version is ``SCHEMA_VERSION``; ``layers.store`` applies what a file lacks.

Layout (one GeoPackage; feature tables carry ``fid`` and ``geom``, EPSG:4326):

    provinces ─┐ (code)          admin units, one row per unit and vintage
    districts ─┤ parent_code ─►  valid_from / valid_to bound each vintage
    communes  ─┤
    villages  ─┘
    crosswalk            old unit ─► new unit, with area shares and the legal act
    status_records       unit × year × set × criterion [× indicator] ─► met, value  (append-only)
    plans                commune × year × set × criterion ─► achieve | maintain
    recognitions         unit ─► đạt chuẩn / nâng cao / kiểu mẫu, year, decision
    targets              scope unit × year × metric ─► value
    criterion_departments, criterion_thresholds   province configuration of a criteria set
    roads, power_lines (lines); schools, health_stations, culture_houses, markets,
    transformers (points); projects (any geometry)
    rasters              GeoTIFFs kept beside the store (DEM, population)
    import_log           what each import wrote
    audit_log            every write: who, when, before, after, source document   (v2)
    api_keys             hashed API keys with role and province scopes (not a layer) (v2)
    indicators           unit × year × indicator name ─► value, with the parameters used (v3)
    ntm_meta             schema_version, revision, label
"""

from __future__ import annotations

from . import _gpkg

SCHEMA_VERSION = 3

_ADMIN_COMMON = """
  code TEXT NOT NULL,
  gso_code TEXT,
  name TEXT NOT NULL,
  full_name TEXT,
  slug TEXT NOT NULL,
  unit_type TEXT NOT NULL,
  parent_code TEXT,
  region TEXT,
  threshold_region TEXT,
  valid_from DATE,
  valid_to DATE,
  area_km2 REAL,
  source TEXT"""

_ADMIN_TABLES = {
    "provinces": ("Tỉnh / Provinces", _ADMIN_COMMON + ",\n  tm3_epsg INTEGER"),
    "districts": ("Huyện / Districts", _ADMIN_COMMON),
    "communes": (
        "Xã, phường, thị trấn / Communes",
        _ADMIN_COMMON + ",\n  commune_group INTEGER,\n  extremely_difficult BOOLEAN NOT NULL DEFAULT 0",
    ),
    "villages": (
        "Thôn, bản / Villages",
        _ADMIN_COMMON
        + """,
  extremely_difficult BOOLEAN NOT NULL DEFAULT 0,
  households INTEGER,
  population INTEGER,
  households_grid INTEGER,
  poor_households INTEGER,
  temporary_houses INTEGER""",
    ),
}

_INFRA_TABLES = {
    "roads": (
        "LINESTRING",
        "Đường giao thông / Roads",
        """  name TEXT,
  road_class TEXT NOT NULL,
  surface TEXT,
  hardened BOOLEAN,
  width_m REAL,
  commune_code TEXT,
  source TEXT""",
    ),
    "schools": (
        "POINT",
        "Trường học / Schools",
        """  name TEXT,
  school_level TEXT NOT NULL,
  meets_standard BOOLEAN,
  satellite BOOLEAN NOT NULL DEFAULT 0,
  pupils INTEGER,
  commune_code TEXT,
  village_code TEXT,
  source TEXT""",
    ),
    "health_stations": (
        "POINT",
        "Trạm y tế / Health stations",
        """  name TEXT,
  meets_standard BOOLEAN,
  commune_code TEXT,
  source TEXT""",
    ),
    "culture_houses": (
        "POINT",
        "Nhà văn hóa / Culture houses",
        """  name TEXT,
  scope TEXT NOT NULL,
  meets_standard BOOLEAN,
  commune_code TEXT,
  village_code TEXT,
  source TEXT""",
    ),
    "markets": (
        "POINT",
        "Chợ nông thôn / Markets",
        """  name TEXT,
  market_class TEXT,
  meets_standard BOOLEAN,
  commune_code TEXT,
  source TEXT""",
    ),
    "power_lines": (
        "LINESTRING",
        "Đường dây điện / Power lines",
        """  name TEXT,
  voltage_kv REAL NOT NULL,
  commune_code TEXT,
  source TEXT""",
    ),
    "transformers": (
        "POINT",
        "Trạm biến áp / Transformers",
        """  name TEXT,
  capacity_kva REAL,
  voltage_kv REAL,
  commune_code TEXT,
  village_code TEXT,
  source TEXT""",
    ),
    "projects": (
        "GEOMETRY",
        "Danh mục công trình đầu tư / Investment projects",
        """  name TEXT NOT NULL,
  commune_code TEXT,
  set_id TEXT,
  criteria TEXT,
  cost_mvnd REAL,
  funding_source TEXT,
  year INTEGER,
  state TEXT NOT NULL,
  source TEXT""",
    ),
}

_ATTRIBUTE_TABLES = {
    "crosswalk": (
        "Chuyển đổi đơn vị hành chính / Crosswalk between vintages",
        """  level TEXT NOT NULL,
  old_code TEXT NOT NULL,
  new_code TEXT NOT NULL,
  old_share REAL,
  new_share REAL,
  effective_date DATE NOT NULL,
  legal_act TEXT NOT NULL,
  note TEXT,
  UNIQUE (level, old_code, new_code, effective_date)""",
    ),
    "status_records": (
        "Kết quả tiêu chí (lịch sử) / Criteria status history",
        """  unit_code TEXT NOT NULL,
  year INTEGER NOT NULL,
  set_id TEXT NOT NULL,
  criterion INTEGER NOT NULL,
  indicator TEXT,
  met BOOLEAN,
  value REAL,
  value_text TEXT,
  source_document TEXT,
  recorded_by TEXT,
  recorded_at DATETIME NOT NULL,
  note TEXT""",
    ),
    "plans": (
        "Kế hoạch theo xã, tiêu chí / Annual plans per commune and criterion",
        """  unit_code TEXT NOT NULL,
  year INTEGER NOT NULL,
  set_id TEXT NOT NULL,
  criterion INTEGER NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('achieve', 'maintain')),
  document TEXT,
  recorded_by TEXT,
  recorded_at DATETIME NOT NULL,
  UNIQUE (unit_code, year, set_id, criterion)""",
    ),
    "recognitions": (
        "Công nhận đạt chuẩn / Recognitions",
        """  unit_code TEXT NOT NULL,
  unit_level TEXT NOT NULL CHECK (unit_level IN ('district', 'commune', 'village')),
  level TEXT NOT NULL CHECK (level IN ('dat_chuan', 'nang_cao', 'kieu_mau', 'hoan_thanh')),
  year INTEGER NOT NULL,
  decision_number TEXT,
  decision_date DATE,
  issued_by TEXT,
  valid_until DATE,
  set_id TEXT,
  revoked BOOLEAN NOT NULL DEFAULT 0,
  note TEXT,
  recorded_at DATETIME NOT NULL""",
    ),
    "targets": (
        "Chỉ tiêu / Targets",
        """  scope_code TEXT NOT NULL,
  metric TEXT NOT NULL,
  target_year INTEGER NOT NULL,
  baseline_year INTEGER,
  value REAL NOT NULL,
  value_max REAL,
  threshold REAL,
  set_id TEXT,
  each_child BOOLEAN NOT NULL DEFAULT 0,
  source_document TEXT,
  note TEXT,
  recorded_at DATETIME NOT NULL""",
    ),
    "criterion_departments": (
        "Cơ quan phụ trách tiêu chí / Responsible departments",
        """  scope_code TEXT NOT NULL,
  set_id TEXT NOT NULL,
  criterion INTEGER NOT NULL,
  department TEXT NOT NULL,
  source_document TEXT,
  UNIQUE (scope_code, set_id, criterion)""",
    ),
    "criterion_thresholds": (
        "Ngưỡng chỉ tiêu của tỉnh / Province thresholds",
        """  scope_code TEXT NOT NULL,
  set_id TEXT NOT NULL,
  criterion INTEGER NOT NULL,
  indicator TEXT,
  applies_to TEXT,
  year_from INTEGER,
  year_to INTEGER,
  operator TEXT NOT NULL CHECK (operator IN ('>=', '<=', '>', '<', '==')),
  value REAL NOT NULL,
  unit TEXT,
  source_document TEXT""",
    ),
    "criterion_indicators": (
        "Chỉ tiêu thành phần do tỉnh khai báo / Sub-indicators declared by a province",
        """  scope_code TEXT NOT NULL,
  set_id TEXT NOT NULL,
  criterion INTEGER NOT NULL,
  indicator TEXT NOT NULL,
  name_vi TEXT NOT NULL,
  name_en TEXT,
  UNIQUE (scope_code, set_id, criterion, indicator)""",
    ),
    "rasters": (
        "Dữ liệu raster / Rasters kept beside the store",
        """  name TEXT NOT NULL UNIQUE,
  path TEXT NOT NULL,
  kind TEXT NOT NULL,
  units TEXT,
  description TEXT""",
    ),
    "import_log": (
        "Nhật ký nhập dữ liệu / Import log",
        """  kind TEXT NOT NULL,
  source TEXT,
  rows_written INTEGER NOT NULL,
  warnings TEXT,
  started_at DATETIME NOT NULL,
  finished_at DATETIME NOT NULL,
  recorded_by TEXT""",
    ),
}

_INDEXES = """
CREATE UNIQUE INDEX provinces_code_vintage ON provinces (code, ifnull(valid_from, ''));
CREATE UNIQUE INDEX districts_code_vintage ON districts (code, ifnull(valid_from, ''));
CREATE UNIQUE INDEX communes_code_vintage ON communes (code, ifnull(valid_from, ''));
CREATE UNIQUE INDEX villages_code_vintage ON villages (code, ifnull(valid_from, ''));
CREATE INDEX districts_parent ON districts (parent_code);
CREATE INDEX communes_parent ON communes (parent_code);
CREATE INDEX villages_parent ON villages (parent_code);
CREATE INDEX status_key ON status_records (unit_code, year, set_id, criterion, indicator, recorded_at);
CREATE INDEX status_year ON status_records (year, set_id);
CREATE INDEX recognitions_unit ON recognitions (unit_code, year);
CREATE INDEX targets_scope ON targets (scope_code, target_year);
CREATE INDEX roads_commune ON roads (commune_code);
CREATE TRIGGER status_records_append_only_update BEFORE UPDATE ON status_records
BEGIN SELECT RAISE(ABORT, 'status_records is append-only: record a new status instead'); END;
CREATE TRIGGER status_records_append_only_delete BEFORE DELETE ON status_records
BEGIN SELECT RAISE(ABORT, 'status_records is append-only: record a new status instead'); END;
CREATE TABLE ntm_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _migration_1() -> str:
    parts = [_gpkg.CORE_DDL]
    for table, (description, columns) in _ADMIN_TABLES.items():
        parts.append(
            _gpkg.feature_table_ddl(
                table, columns, geometry_type="MULTIPOLYGON", description=description
            )
        )
    for table, (geometry_type, description, columns) in _INFRA_TABLES.items():
        parts.append(
            _gpkg.feature_table_ddl(
                table, columns, geometry_type=geometry_type, description=description
            )
        )
    for table, (description, columns) in _ATTRIBUTE_TABLES.items():
        parts.append(_gpkg.attribute_table_ddl(table, columns, description=description))
    parts.append(_INDEXES)
    return "\n".join(parts)


# Version 2: who may write (API keys, stored hashed) and what every write changed (audit).
_MIGRATION_2 = _gpkg.attribute_table_ddl(
    "audit_log",
    """  at DATETIME NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  resource TEXT NOT NULL,
  unit_code TEXT,
  before TEXT,
  after TEXT,
  source_document TEXT,
  request_id TEXT""",
    description="Nhật ký thay đổi / Audit log of every write",
) + """
CREATE INDEX audit_unit ON audit_log (unit_code, at);
CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TABLE api_keys (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  key_hash TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
  scopes TEXT,
  created_at DATETIME NOT NULL,
  revoked_at DATETIME,
  last_used_at DATETIME
);
"""

# Version 3: computed indicators (road km, facility counts, zonal and travel-time statistics)
# per unit and year, with the parameters that produced them (JSON) and the run that wrote them.
_MIGRATION_3 = _gpkg.attribute_table_ddl(
    "indicators",
    """  unit_code TEXT NOT NULL,
  unit_level TEXT NOT NULL CHECK (unit_level IN ('province', 'district', 'commune', 'village')),
  year INTEGER NOT NULL,
  name TEXT NOT NULL,
  value REAL,
  unit TEXT,
  params TEXT NOT NULL DEFAULT '{}',
  computed_at DATETIME NOT NULL,
  run_id TEXT NOT NULL""",
    description="Chỉ số hạ tầng tính toán / Computed infrastructure indicators",
) + """
CREATE INDEX indicators_name_year_unit ON indicators (name, year, unit_code);
CREATE INDEX indicators_run ON indicators (run_id);
"""

# version -> SQL script bringing a store from version-1 to version
MIGRATIONS: dict[int, str] = {1: _migration_1(), 2: _MIGRATION_2, 3: _MIGRATION_3}

ADMIN_LEVELS = ("province", "district", "commune", "village")
ADMIN_TABLE = {
    "province": "provinces",
    "district": "districts",
    "commune": "communes",
    "village": "villages",
}
INFRASTRUCTURE_TABLES = tuple(t for t in _INFRA_TABLES if t != "projects")
FEATURE_TABLES = tuple(ADMIN_TABLE.values()) + tuple(_INFRA_TABLES)
GEOMETRY_TYPES = {t: "MULTIPOLYGON" for t in ADMIN_TABLE.values()} | {
    t: spec[0] for t, spec in _INFRA_TABLES.items()
}

"""Infrastructure layers (roads, schools, power lines, projects …): specifications and import.

Each layer is declared once as a ``LayerSpec`` in the ``LAYERS`` registry: its table,
its geometry kind and its fields, with the column names districts actually use
("loai_duong", "ket_cau", "cap_dien_ap", "kinh_phi" …) so that a file can be imported
without a mapping. ``import_infrastructure`` reads a vector file, validates every
feature and value, derives what the file leaves out (hardened from the surface, the
commune by spatial join) and writes the layer in one transaction, or nothing at all.
All geometry work is vectorised (shapely 2 arrays, an STRtree join) so that district
road networks of 100,000 segments import in seconds.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import STORE_CRS
from geo.text import mojibake_reason, nfc
from . import criteria as criteria_
from . import vocab
from ._errors import Problem, ValidationReport
from .admin_units import UnitMatcher, valid_on_sql, vocabulary
from .store import Store, utc_now
from .vector_io import read_vector

__all__ = [
    "FieldSpec",
    "LayerSpec",
    "LAYERS",
    "LayerNotFoundError",
    "register_layer",
    "get_layer",
    "InfraImportResult",
    "import_infrastructure",
]

log = logging.getLogger(__name__)

FIELD_TYPES = ("text", "integer", "real", "bool", "criteria")  # plus "vocab:<kind>"
SQL_TYPES = {"text": "TEXT", "integer": "INTEGER", "real": "REAL", "bool": "BOOLEAN", "criteria": "TEXT"}
GEOMETRY_KINDS = {
    "line": ("LineString", "MultiLineString"),
    "point": ("Point", "MultiPoint"),
    "any": ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"),
}
_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
               5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}
# Columns that identify a feature in messages when it has no name.
_ID_COLUMNS = ("id", "fid", "objectid", "ma", "code", "ma_ct", "ma_cong_trinh", "ma_duong", "stt")
_UNITS = {
    "kVA": ("kva",),
    "m": ("m",),
    "million VND": ("trieu", "trieu dong", "tr", "trd", "tr d", "million", "mvnd", "trieu vnd"),
}


class LayerNotFoundError(LookupError):
    """A layer name that is not registered; the message lists the known ones."""


@dataclass(frozen=True)
class FieldSpec:
    """One column of a layer table and how an import fills it.

    ``type`` is text, integer, real, bool, criteria (a list of criterion numbers) or
    ``vocab:<kind>`` (a code of ``layers/data/vocabulary.yaml``). ``derived`` says how
    the field is filled when no source column gives it ("surface", "spatial join",
    "file name", "year").
    """

    name: str
    type: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    label: str = ""
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    default: object = None  # stored for blank cells (NOT NULL columns with a default)
    derived: str | None = None

    def __post_init__(self):
        if self.type not in FIELD_TYPES and not self.type.startswith("vocab:"):
            raise ValueError(f"field '{self.name}': unknown type '{self.type}'; expected {FIELD_TYPES} or vocab:<kind>")

    @property
    def vocab_kind(self) -> str | None:
        return self.type.split(":", 1)[1] if self.type.startswith("vocab:") else None

    @property
    def sql_type(self) -> str:
        return "TEXT" if self.vocab_kind else SQL_TYPES[self.type]

    def describe(self) -> str:
        return f"{self.name} ({self.label})" if self.label else self.name


@dataclass(frozen=True)
class LayerSpec:
    """A registered infrastructure layer: table, geometry kind (line/point/any), fields."""

    name: str
    table: str
    geometry: str
    fields: tuple[FieldSpec, ...]
    label_vi: str = ""
    label_en: str = ""

    def __post_init__(self):
        if self.geometry not in GEOMETRY_KINDS:
            raise ValueError(f"layer '{self.name}': geometry must be one of {list(GEOMETRY_KINDS)}, got {self.geometry!r}")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"layer '{self.name}': repeated field names in {names}")

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"layer '{self.name}' has no field '{name}'; fields: {', '.join(self.field_names)}")


LAYERS: dict[str, LayerSpec] = {}


def register_layer(spec: LayerSpec, *, overwrite: bool = False) -> LayerSpec:
    """Add a layer to the registry; a name already taken is an error unless ``overwrite``."""
    if spec.name in LAYERS and not overwrite:
        raise ValueError(f"layer '{spec.name}' is already registered; pass overwrite=True to replace it")
    LAYERS[spec.name] = spec
    return spec


def get_layer(name: str) -> LayerSpec:
    """The registered layer called ``name``, or ``LayerNotFoundError`` listing the layers."""
    if name not in LAYERS:
        raise LayerNotFoundError(f"unknown infrastructure layer '{name}'; layers: {', '.join(LAYERS)}")
    return LAYERS[name]


# --- the layers ----------------------------------------------------------------------

def _name(*aliases: str) -> FieldSpec:
    return FieldSpec("name", "text", aliases=("ten", "tên", "ten_goi", "ho_ten", *aliases), label="tên")


_COMMUNE = FieldSpec(
    "commune_code", "text", derived="spatial join", label="xã",
    aliases=("ma_xa", "maxa", "xa", "commune", "ten_xa", "xa_phuong", "ma_don_vi"),
)
_VILLAGE = FieldSpec(
    "village_code", "text", derived="spatial join", label="thôn",
    aliases=("ma_thon", "thon", "ten_thon", "thon_ban", "village", "ban"),
)
_SOURCE = FieldSpec("source", "text", derived="file name", label="nguồn dữ liệu",
                    aliases=("nguon_du_lieu", "data_source", "nguon_so_lieu"))
_MEETS = FieldSpec(
    "meets_standard", "bool", label="đạt chuẩn",
    aliases=("dat_chuan", "chuan", "chuan_quoc_gia", "dat_chuan_qg", "standard", "đạt chuẩn"),
)
_VOLTAGE_ALIASES = ("voltage", "cap_dien_ap", "dien_ap", "kv", "cap_dien_ap_kv", "điện áp", "cấp điện áp")

for _spec in (
    LayerSpec("roads", "roads", "line", (
        _name("ten_duong", "tên đường", "tuyen", "ten_tuyen"),
        FieldSpec("road_class", "vocab:road_classes", required=True, label="loại đường", aliases=(
            "class", "loai_duong", "cap_duong", "highway", "loại đường", "phan_cap", "cap_quan_ly", "loai")),
        FieldSpec("surface", "vocab:road_surfaces", label="kết cấu mặt", aliases=(
            "ket_cau", "mat_duong", "kết cấu mặt", "ket_cau_mat", "loai_mat", "mat")),
        FieldSpec("hardened", "bool", derived="surface", label="cứng hóa", aliases=(
            "cung_hoa", "da_cung_hoa", "cứng hóa")),
        FieldSpec("width_m", "real", unit="m", minimum=0, label="bề rộng (m)", aliases=(
            "width", "be_rong", "rong", "be_rong_mat", "chieu_rong", "b_mat", "bề rộng")),
        _COMMUNE, _SOURCE,
    ), "Đường giao thông", "Roads"),
    LayerSpec("schools", "schools", "point", (
        _name("ten_truong", "tên trường", "truong"),
        FieldSpec("school_level", "vocab:school_levels", required=True, label="cấp học", aliases=(
            "level", "cap_hoc", "cap", "bac_hoc", "loai_truong", "cấp học")),
        _MEETS,
        FieldSpec("satellite", "bool", default=False, label="điểm trường", aliases=(
            "diem_truong", "diem_le", "phan_hieu", "điểm trường")),
        FieldSpec("pupils", "integer", minimum=0, label="số học sinh", aliases=(
            "hoc_sinh", "so_hoc_sinh", "so_hs", "students", "số học sinh")),
        _COMMUNE, _VILLAGE, _SOURCE,
    ), "Trường học", "Schools"),
    LayerSpec("health_stations", "health_stations", "point", (
        _name("ten_tram", "tram_y_te"), _MEETS, _COMMUNE, _SOURCE,
    ), "Trạm y tế", "Health stations"),
    LayerSpec("culture_houses", "culture_houses", "point", (
        _name("ten_nha_van_hoa", "nha_van_hoa"),
        FieldSpec("scope", "vocab:culture_house_scopes", required=True, label="cấp (xã/thôn)", aliases=(
            "cap", "loai", "pham_vi", "cap_quan_ly")),
        _MEETS, _COMMUNE, _VILLAGE, _SOURCE,
    ), "Nhà văn hóa", "Culture houses"),
    LayerSpec("markets", "markets", "point", (
        _name("ten_cho", "cho"),
        FieldSpec("market_class", "vocab:market_classes", label="hạng chợ", aliases=(
            "class", "hang", "hang_cho", "loai_cho", "phan_hang", "hạng chợ")),
        _MEETS, _COMMUNE, _SOURCE,
    ), "Chợ nông thôn", "Markets"),
    LayerSpec("power_lines", "power_lines", "line", (
        _name("ten_tuyen", "ten_duong_day", "tuyen"),
        FieldSpec("voltage_kv", "real", required=True, unit="kV", minimum=0, maximum=1000,
                  label="cấp điện áp (kV)", aliases=_VOLTAGE_ALIASES),
        _COMMUNE, _SOURCE,
    ), "Đường dây điện", "Power lines"),
    LayerSpec("transformers", "transformers", "point", (
        _name("ten_tram", "ten_tba", "tba"),
        FieldSpec("capacity_kva", "real", unit="kVA", minimum=0, label="công suất (kVA)", aliases=(
            "capacity", "cong_suat", "cong_suat_kva", "kva", "công suất")),
        FieldSpec("voltage_kv", "real", unit="kV", minimum=0, maximum=1000, label="điện áp (kV)",
                  aliases=_VOLTAGE_ALIASES),
        _COMMUNE, _VILLAGE, _SOURCE,
    ), "Trạm biến áp", "Transformers"),
    LayerSpec("projects", "projects", "any", (
        _name("ten_cong_trinh", "ten_du_an", "cong_trinh", "du_an", "danh_muc", "tên công trình"),
        _COMMUNE,
        FieldSpec("set_id", "text", derived="year", label="bộ tiêu chí", aliases=("bo_tieu_chi", "criteria_set")),
        FieldSpec("criteria", "criteria", label="tiêu chí phục vụ", aliases=(
            "tieu_chi", "tc", "tieu_chi_phuc_vu", "phuc_vu_tieu_chi", "tiêu chí")),
        FieldSpec("cost_mvnd", "real", unit="million VND", minimum=0, label="tổng mức (triệu đồng)", aliases=(
            "cost", "tong_muc", "tong_muc_dau_tu", "kinh_phi", "von", "tong_von", "gia_tri", "tổng mức")),
        FieldSpec("funding_source", "vocab:funding_sources", required=True, label="nguồn vốn", aliases=(
            "funding", "nguon_von", "nguồn vốn", "nguon_kinh_phi")),
        FieldSpec("year", "integer", minimum=1990, maximum=2100, label="năm", aliases=(
            "nam", "năm", "nam_thuc_hien", "nam_ke_hoach", "nam_dau_tu")),
        FieldSpec("state", "vocab:project_states", required=True, label="tình trạng", aliases=(
            "status", "trang_thai", "tinh_trang", "tien_do", "tình trạng")),
        _SOURCE,
    ), "Danh mục công trình đầu tư", "Investment projects"),
):
    register_layer(_spec)


# --- import --------------------------------------------------------------------------

@dataclass
class InfraImportResult:
    """What an infrastructure import read, wrote and noticed.

    ``field_sources`` maps each field to the source column that fed it, or to
    'derived …', 'spatial join', 'file name', or None (left empty).
    """

    layer: str
    path: Path
    rows_read: int
    rows_written: int
    field_sources: dict[str, str | None]
    warnings: list[Problem]
    elapsed: float
    rows_ready: int = 0
    rows_replaced: int = 0
    dry_run: bool = False
    ignored_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A few lines for the CLI: counts, the column behind each field, warnings."""
        verb = "would write" if self.dry_run else "wrote"
        n = self.rows_ready if self.dry_run else self.rows_written
        lines = [f"{self.layer}: read {self.rows_read} feature(s) from {self.path.name}, {verb} {n} "
                 f"in {self.elapsed:.1f} s" + (f", replacing {self.rows_replaced}" if self.rows_replaced else "")]
        lines += [f"  {f:<15} ← {src if src else '(empty)'}" for f, src in self.field_sources.items()]
        if self.ignored_columns:
            lines.append(f"  columns not used: {', '.join(self.ignored_columns)}")
        lines += [f"  note: {note}" for note in self.notes]
        lines += [f"  warning: {w}" for w in self.warnings[:20]]
        if len(self.warnings) > 20:
            lines.append(f"  … and {len(self.warnings) - 20} more warning(s)")
        return "\n".join(lines)


@dataclass
class _Ctx:
    """Where problems are reported: the file name, 1-based row numbers, feature labels."""

    file: str
    rows: np.ndarray
    labels: list[str | None]
    report: ValidationReport

    def where(self, k: int, column: str | None = None) -> dict:
        return {"file": self.file, "row": int(self.rows[k]), "column": column, "feature": self.labels[k]}


def import_infrastructure(
    store: Store,
    layer: str,
    path: str | Path,
    *,
    source_layer: str | None = None,
    crs=None,
    field_map: Mapping[str, str | None] | None = None,
    where: str | None = None,
    encoding: str | None = None,
    replace: bool = False,
    dry_run: bool = False,
    recorded_by: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    set_id: str | None = None,
) -> InfraImportResult:
    """Import a vector file into an infrastructure layer, all or nothing.

    Parameters
    ----------
    store
        The store to write to.
    layer
        A registered layer: roads, schools, health_stations, culture_houses, markets,
        power_lines, transformers or projects.
    path
        .gpkg, zipped Shapefile, .shp, .geojson or .fgb (see ``read_vector``).
    source_layer, crs, where, encoding
        Passed to ``read_vector``: layer inside the file, CRS of a file without one,
        OGR SQL filter, text encoding of a Shapefile without .cpg.
    field_map
        {field: source column} overriding auto-detection; a None column leaves the
        field unread (e.g. ``{"hardened": None}`` derives it from the surface).
    replace
        Delete the layer's existing rows in the same transaction (atomic re-import);
        otherwise the features are appended.
    dry_run
        Validate and report without writing.
    recorded_by
        Who imported, written to ``import_log``.
    progress
        Called as ``progress(label, done, total)`` for the stages reading, validating
        and writing (labels "reading roads.gpkg", "validating roads", "writing roads").
    set_id
        Projects only: criteria set of rows with neither a set_id nor a year column
        value (rows with a year use ``criteria.set_for_year(year)``).

    Returns
    -------
    InfraImportResult

    Raises
    ------
    ImportValidationError
        Listing every problem (file, 1-based feature row, column, feature name or id);
        nothing is written.
    VectorReadError
        The file cannot be read or has no CRS (pass ``crs``).

    Notes
    -----
    Units: costs (``cost_mvnd``) are millions of VND (triệu đồng), "1.234,5" and
    "1234.5" alike; voltages kV; capacities kVA; widths metres. Rows are numbered from 1
    in the order read (after ``where``). Lines are placed in the commune holding their
    midpoint, points in the commune (and village) containing them, polygons by an
    interior point.

    See Also
    --------
    layers.vector_io.read_vector, layers.vocab.match_vocab, layers.export.export_layer
    """
    t0 = time.perf_counter()
    started_at = utc_now()
    spec = get_layer(layer)
    path = Path(path)
    report_progress = progress or (lambda stage, done, total: None)
    stages = {"read": f"reading {path.name}", "validate": f"validating {layer}", "write": f"writing {layer}"}

    def step(stage: str, done: int, total: int) -> None:
        report_progress(stages[stage], done, total)
    step("read", 0, 1)
    src = read_vector(path, layer=source_layer, crs=crs, where=where, encoding=encoding)
    gdf = src.gdf
    step("read", 1, 1)
    report = ValidationReport()
    fname = path.name
    what = f"import of {fname} into {layer}"
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    if gdf.empty:
        report.error("the file has no features to import" + (f" matching where={where!r}" if where else ""), file=fname)
        report.raise_if_errors(what)
    sources = _detect_columns(spec, columns, field_map, report, fname)
    report.raise_if_errors(what)
    n = len(gdf)
    ctx = _Ctx(fname, np.arange(1, n + 1), _feature_labels(gdf, sources), report)
    step("validate", 0, n)

    out = pd.DataFrame(index=pd.RangeIndex(n))
    field_sources: dict[str, str | None] = {}
    for f in spec.fields:
        col = sources.get(f.name)
        field_sources[f.name] = col
        if col is None or f.type == "criteria" or f.name in ("commune_code", "village_code", "set_id"):
            continue  # units and criteria are resolved below, with their context
        out[f.name] = _parse_column(f, gdf[col].reset_index(drop=True), col, ctx)
    _derive_fields(spec, gdf, sources, out, field_sources, ctx, path, source_layer, set_id)
    for f in spec.fields:  # NOT NULL columns with a default and no source column: keep the default
        if f.default is not None and f.name in out:
            out[f.name] = out[f.name].fillna(f.default)

    geoms, take = _check_geometry(spec, np.asarray(gdf.geometry.array), ctx)
    out = out.iloc[take].reset_index(drop=True)
    _assign_units(store, spec, sources, gdf, out, geoms, take, field_sources, ctx)
    step("validate", n, n)
    report.raise_if_errors(what)

    result_gdf = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geoms, crs=STORE_CRS), crs=STORE_CRS)
    ignored = [c for c in columns if c not in set(sources.values())]
    result = InfraImportResult(
        layer=layer, path=path, rows_read=n, rows_written=0, field_sources=field_sources,
        warnings=report.warnings, elapsed=0.0, rows_ready=len(result_gdf), dry_run=dry_run,
        ignored_columns=ignored, notes=list(src.notes),
    )
    if not dry_run:
        step("write", 0, len(result_gdf))
        with store.transaction() as conn:
            if replace:
                result.rows_replaced = store.delete_features(conn, spec.table, "1 = 1")
            result.rows_written = store.insert_features(conn, spec.table, result_gdf)
            store.insert_rows(conn, "import_log", [{
                "kind": f"infrastructure:{layer}",
                "source": str(path) + (f"#{source_layer}" if source_layer else ""),
                "rows_written": result.rows_written,
                "warnings": json.dumps([str(w) for w in report.warnings[:500]], ensure_ascii=False),
                "started_at": started_at,
                "finished_at": utc_now(),
                "recorded_by": recorded_by,
            }])
        step("write", result.rows_written, len(result_gdf))
    result.elapsed = time.perf_counter() - t0
    log.info("%s: %d read, %d written (%s), %d warning(s), %.1f s", what, n, result.rows_written,
             "dry run" if dry_run else ("replaced" if replace else "appended"), len(report.warnings), result.elapsed)
    return result


def _col_key(name: str) -> str:
    return vocab.fold_key(name).replace(" ", "_")


def _detect_columns(spec, columns, field_map, report, fname) -> dict[str, str | None]:
    """Field -> source column: ``field_map`` first, then the field name and its aliases.

    A Shapefile truncates names to 10 characters ("cap_dien_ap" -> "cap_dien_a"), so a
    10-character column also matches an alias it is the start of.
    """
    sources: dict[str, str | None] = {}
    for target, col in (field_map or {}).items():
        if target not in spec.field_names:
            report.error(f"field_map names unknown field '{target}'; fields of {spec.name}: "
                         f"{', '.join(spec.field_names)}", file=fname)
        elif col is None:
            sources[target] = None
        else:
            hits = [c for c in columns if c == col] or [c for c in columns if _col_key(c) == _col_key(col)]
            if len(hits) == 1:
                sources[target] = hits[0]
            else:
                report.error(f"field_map: no column '{col}' for {target}; columns in the file: "
                             f"{', '.join(columns)}", file=fname)
    used = {c for c in sources.values() if c}
    for f in spec.fields:  # a column named exactly like a field belongs to that field
        exact = [c for c in columns if c not in used and _col_key(c) == f.name]
        if f.name not in sources and exact:
            sources[f.name] = exact[0]
            used.add(exact[0])
    for f in spec.fields:
        if f.name in sources:
            continue
        hits: list[str] = []
        for alias in f.aliases:
            key = _col_key(alias)
            for c in columns:
                ck = _col_key(c)
                if c not in used and c not in hits and (ck == key or (len(c) == 10 and len(key) > 10 and key.startswith(ck))):
                    hits.append(c)
        if hits:
            sources[f.name] = hits[0]
            used.add(hits[0])
            if len(hits) > 1:
                report.warn(f"columns {', '.join(repr(h) for h in hits)} all look like {f.describe()}; used "
                            f"'{hits[0]}' (choose another with field_map / --map {f.name}=COLUMN)", file=fname)
        elif f.required and not f.derived:
            looked = ", ".join(dict.fromkeys((f.name, *f.aliases)))
            report.error(f"no column for required field {f.describe()}; looked for: {looked}; columns in the "
                         f"file: {', '.join(columns) or '(none)'}; name it with field_map / --map "
                         f"{f.name}=COLUMN", file=fname)
    return sources


def _feature_labels(gdf, sources) -> list[str | None]:
    """How messages name a feature: its name, else an id column, else nothing (row only)."""
    labels = pd.Series([None] * len(gdf), dtype=object)
    candidates = [sources.get("name")] + [c for c in gdf.columns if _col_key(c) in _ID_COLUMNS]
    for col in filter(None, candidates):
        values = gdf[col].reset_index(drop=True)
        blank = values.isna() | values.astype(str).str.strip().eq("")
        text = values.astype(str).str.strip()
        text = ("'" + text + "'") if col == sources.get("name") else (f"{col}=" + text)
        labels = labels.where(labels.notna() | blank, text)
    return labels.tolist()


def _map_unique(series: pd.Series, func) -> tuple[pd.Series, dict[int, str]]:
    """Apply ``func`` once per distinct non-blank value: (parsed values, {row: error})."""
    blank = series.isna() | series.astype(str).str.strip().eq("")
    parsed = pd.Series([None] * len(series), dtype=object)
    errors: dict[int, str] = {}
    if (~blank).any():
        codes, uniques = pd.factorize(series[~blank].astype(object))
        values, messages = [], []
        for u in uniques:
            try:
                values.append(func(u))
                messages.append(None)
            except ValueError as exc:
                values.append(None)
                messages.append(str(exc))
        rows = np.flatnonzero(~blank.to_numpy())
        parsed.iloc[rows] = np.asarray(values, dtype=object)[codes]
        failed = np.array([m is not None for m in messages])[codes]
        errors = {int(k): messages[code] for k, code in zip(rows[failed], codes[failed])}
    return parsed, errors


def _parser(f: FieldSpec):
    if f.vocab_kind:
        kind = f.vocab_kind

        def parse_vocab(v):
            code = vocab.match_vocab(kind, v)
            if code is None:
                raise ValueError(f"'{v}' is not a known {f.label or f.name}; accepted: "
                                 f"{vocab.accepted_values(kind)} (or their usual abbreviations)")
            return code
        return parse_vocab
    if f.type == "bool":
        return vocab.parse_bool
    if f.type == "text":
        def parse_text(v):
            text = nfc(vocab.cell_text(v))
            reason = mojibake_reason(text)
            if reason:
                raise ValueError(f"text {text!r} {reason} (pass the right encoding for a Shapefile)")
            return text
        return parse_text

    def parse_num(v):
        if f.unit == "kV":
            x = vocab.parse_voltage(v)
        else:
            x = vocab.parse_number(v, units=_UNITS.get(f.unit, ()))
        unit = f" {f.unit}" if f.unit else ""
        if f.minimum is not None and x < f.minimum:
            raise ValueError(f"must be ≥ {f.minimum:g}{unit}, got {v!r}")
        if f.maximum is not None and x > f.maximum:
            raise ValueError(f"must be ≤ {f.maximum:g}{unit}, got {v!r}"
                             + (" (is it in volts?)" if f.unit == "kV" else ""))
        if f.type == "integer":
            if not float(x).is_integer():
                raise ValueError(f"must be a whole number, got {v!r}")
            return int(x)
        return x
    return parse_num


_DTYPES = {"bool": "boolean", "integer": "Int64", "real": "float64"}


def _parse_column(f: FieldSpec, series: pd.Series, col: str, ctx: _Ctx) -> pd.Series:
    parsed, errors = _map_unique(series, _parser(f))
    for k, msg in errors.items():
        ctx.report.error(f"{f.name}: {msg}", **ctx.where(k, col))
    if f.required:
        for k in np.flatnonzero(parsed.isna().to_numpy()):
            if int(k) not in errors:
                ctx.report.error(f"{f.describe()} is required but the cell is empty", **ctx.where(int(k), col))
    return parsed.astype(_DTYPES.get(f.type, object))


def _derive_fields(spec, gdf, sources, out, field_sources, ctx, path, source_layer, set_id) -> None:
    """Fields computed from others: hardened, source, projects' set_id and criteria."""
    names = spec.field_names
    if "hardened" in names and "surface" in out:
        by_surface = {c: bool(s.get("hardened")) for c, s in vocabulary()["road_surfaces"].items()}
        implied = out["surface"].map(by_surface).astype("boolean")
        if "hardened" in out:
            clash = (out["hardened"] != implied).fillna(False).to_numpy(dtype=bool)
            clash = np.flatnonzero(clash)
            for k in clash:
                ctx.report.warn(
                    f"hardened is {bool(out['hardened'].iloc[k])} but surface '{out['surface'].iloc[k]}' is "
                    f"{'' if implied.iloc[k] else 'not '}hardened; kept the file's value",
                    **ctx.where(int(k), sources["hardened"]))
            out["hardened"] = out["hardened"].fillna(implied)
        else:
            out["hardened"] = implied
            field_sources["hardened"] = f"derived from surface ({sources['surface']})"
    if "source" in names and "source" not in out:
        out["source"] = path.name + (f"#{source_layer}" if source_layer else "")
        field_sources["source"] = "file name"
    if "criteria" in names:
        _derive_projects(gdf, sources, out, field_sources, ctx, set_id)


def _derive_projects(gdf, sources, out, field_sources, ctx, set_id) -> None:
    """set_id (column, else the set in force in the row's year, else the argument) and criteria."""
    n = len(out)
    sets = pd.Series([set_id] * n, dtype=object)
    if set_id is not None:
        criteria_.get_set(set_id)  # unknown id -> CriteriaError listing the sets
    years = out["year"] if "year" in out else pd.Series([pd.NA] * n, dtype="Int64")
    in_force: dict[int, str | None] = {}
    for y in years.dropna().unique():
        try:
            in_force[int(y)] = criteria_.set_for_year(int(y)).id
        except criteria_.CriteriaError:
            in_force[int(y)] = None
    from_year = years.astype(object).map(lambda y: None if pd.isna(y) else in_force[int(y)])
    sets = from_year.where(from_year.notna(), sets)
    field_sources["set_id"] = "derived from year" if "year" in out else ("set_id argument" if set_id else None)
    if sources.get("set_id"):
        col = sources["set_id"]
        given, errors = _map_unique(gdf[col].reset_index(drop=True), _known_set)
        for k, msg in errors.items():
            ctx.report.error(f"set_id: {msg}", **ctx.where(k, col))
        sets = given.where(given.notna(), sets)
        field_sources["set_id"] = col + (" (blanks from year)" if "year" in out else "")
    out["set_id"] = sets
    col = sources.get("criteria")
    if not col:
        return
    raw = gdf[col].reset_index(drop=True)
    keys = pd.Series(list(zip(sets, raw.astype(object), years.astype(object))), dtype=object)
    keys = keys.where(~_blank(raw), None)

    def parse_key(key):
        sid, value, year = key
        if sid is None:
            why = "the row has no year and no set_id" if pd.isna(year) else f"no criteria set is in force in {year}"
            raise ValueError(f"{value!r} cannot be checked: {why} (add a set_id column or pass set_id)")
        return vocab.parse_criteria(value, criteria_.get_set(sid))
    parsed, errors = _map_unique(keys, parse_key)
    for k, msg in errors.items():
        ctx.report.error(f"criteria: {msg}", **ctx.where(k, col))
    out["criteria"] = parsed


def _known_set(value) -> str:
    try:
        return criteria_.get_set(str(value).strip()).id
    except criteria_.CriteriaError as exc:
        raise ValueError(str(exc)) from None


def _blank(series: pd.Series) -> pd.Series:
    return series.isna() | series.astype(str).str.strip().eq("")


def _check_geometry(spec: LayerSpec, geoms: np.ndarray, ctx: _Ctx) -> tuple[np.ndarray, np.ndarray]:
    """Validated 2-D geometries and, per output feature, the index of its source row.

    Missing/empty or wrong-type geometries are errors; invalid ones are repaired
    (``make_valid``, structure method) with a warning; multi-part lines are split.
    """
    geoms = shapely.force_2d(geoms)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for k in np.flatnonzero(missing):
        ctx.report.error("the feature has no geometry (missing or empty)", **ctx.where(int(k)))
    allowed = GEOMETRY_KINDS[spec.geometry]
    type_ids = shapely.get_type_id(geoms)
    wrong = ~missing & ~np.isin(type_ids, [i for i, t in _TYPE_NAMES.items() if t in allowed])
    for k in np.flatnonzero(wrong):
        ctx.report.error(f"{spec.name} need {' or '.join(allowed)} geometries, got "
                         f"{_TYPE_NAMES.get(int(type_ids[k]), 'unknown')}", **ctx.where(int(k)))
    ok = ~missing & ~wrong
    invalid = ok & ~shapely.is_valid(geoms)
    if invalid.any():
        reasons = shapely.is_valid_reason(geoms[invalid])
        repaired = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
        for k, reason, geom in zip(np.flatnonzero(invalid), reasons, repaired):
            kind = geom.geom_type
            if geom.is_empty or kind not in allowed:
                ctx.report.error(f"invalid geometry ({reason}) cannot be repaired into {' or '.join(allowed)} "
                                 f"(repair gives {'nothing' if geom.is_empty else kind})", **ctx.where(int(k)))
                ok[k] = False
            else:
                ctx.report.warn(f"invalid geometry ({reason}) repaired with make_valid", **ctx.where(int(k)))
        geoms = geoms.copy()
        geoms[invalid] = repaired
    counts = shapely.get_num_geometries(geoms)
    multi = ok & np.isin(type_ids, [4, 5]) & (counts > 1)
    if spec.geometry == "point":
        for k in np.flatnonzero(multi):
            ctx.report.error(f"a MultiPoint of {counts[k]} points; {spec.name} need one point per feature "
                             "(split it into separate features)", **ctx.where(int(k)))
        ok &= ~multi
    keep = np.flatnonzero(ok)
    if spec.geometry == "any":
        return geoms[keep], keep
    parts, index = shapely.get_parts(geoms[keep], return_index=True)
    take = keep[index]
    if spec.geometry == "line" and multi.any():
        rows = ", ".join(str(r) for r in ctx.rows[np.flatnonzero(multi)][:10])
        more = " …" if multi.sum() > 10 else ""
        ctx.report.warn(f"{int(multi.sum())} multi-part line(s) split into {int(counts[multi].sum())} single lines "
                        f"(rows {rows}{more}); attributes copied to each part", file=ctx.file)
    return parts, take


def _probe_points(geoms: np.ndarray) -> np.ndarray:
    """Point that places a feature in a unit: itself, a line's midpoint, a polygon's inner point."""
    out = geoms.copy()
    type_ids = shapely.get_type_id(geoms)
    lines = np.isin(type_ids, [1, 2, 5])
    polys = np.isin(type_ids, [3, 6])
    multipoints = type_ids == 4
    out[lines] = shapely.line_interpolate_point(geoms[lines], 0.5, normalized=True)
    out[polys | multipoints] = shapely.point_on_surface(geoms[polys | multipoints])
    return out


def _join(units: gpd.GeoDataFrame, probes: np.ndarray) -> pd.Series:
    """Code of the first unit containing each probe point (None outside every unit)."""
    codes = pd.Series([None] * len(probes), dtype=object)
    if units.empty or len(probes) == 0:
        return codes
    tree = shapely.STRtree(np.asarray(units.geometry.array))
    hit_probe, hit_unit = tree.query(probes, predicate="intersects")
    first_probe, first = np.unique(hit_probe, return_index=True)
    codes.iloc[first_probe] = units["code"].to_numpy()[hit_unit[first]]
    return codes


def _assign_units(store, spec, sources, gdf, out, geoms, take, field_sources, ctx) -> None:
    """commune_code (and village_code) from a column (code or name) or by spatial join."""
    sub = _Ctx(ctx.file, ctx.rows[take], [ctx.labels[k] for k in take], ctx.report)
    probes = _probe_points(geoms)
    for level, fname_ in (("commune", "commune_code"), ("village", "village_code")):
        if fname_ not in spec.field_names:
            continue
        table = "communes" if level == "commune" else "villages"
        units = store.read_features(table, *valid_on_sql(None), columns=["code", "parent_code"])
        col = sources.get(fname_)
        codes = pd.Series([None] * len(out), dtype=object)
        if col:
            raw = gdf[col].reset_index(drop=True).iloc[take].reset_index(drop=True)
            if units.empty:
                codes = raw.astype(object).where(~_blank(raw), None).map(lambda v: None if v is None else vocab.cell_text(v).strip())
                ctx.report.warn(f"the store has no {table}: {fname_} kept as given in '{col}', not checked", file=ctx.file)
            else:
                codes = _match_units(store, level, raw, out.get("commune_code"), col, sub)
            field_sources[fname_] = col
        missing = codes.isna().to_numpy()
        if not missing.any():
            out[fname_] = codes
            continue
        if units.empty:
            if not col:
                ctx.report.warn(f"the store has no {table}: {fname_} left empty (import admin units first "
                                "to place features by spatial join)", file=ctx.file)
                field_sources[fname_] = None
            out[fname_] = codes
            continue
        joined = _join(units, probes[missing])
        codes.iloc[np.flatnonzero(missing)] = joined.to_numpy()
        field_sources[fname_] = f"{col} (blanks by spatial join)" if col else "spatial join"
        outside = np.flatnonzero(missing)[joined.isna().to_numpy()]
        if level == "commune":
            for k in outside:
                ctx.report.warn("the feature lies outside every commune of the store; imported with "
                                "commune_code empty", **sub.where(int(k)))
        elif len(outside):
            ctx.report.warn(f"{len(outside)} feature(s) lie in no village of the store; village_code left empty",
                            file=ctx.file)
        out[fname_] = codes


def _match_units(store, level, raw, communes, col, ctx) -> pd.Series:
    """Resolve unit codes or names (a village name with its row's commune) to codes."""
    matcher = UnitMatcher(store, level)
    parents = communes if (level == "village" and communes is not None) else pd.Series([None] * len(raw))
    pairs = pd.Series(list(zip(raw.astype(object), parents)), dtype=object).where(~_blank(raw), None)

    def resolve(pair):
        value, parent = pair
        text = vocab.cell_text(value).strip()
        code = matcher.by_code(text)
        if code:
            return code
        code, reason = matcher.by_name(text, parent=parent)
        if code is None:
            raise ValueError(f"{reason} (give a {level} code or name of the store)")
        return code
    codes, errors = _map_unique(pairs, resolve)
    seen = set()
    for k, msg in errors.items():
        if (ctx.rows[k], msg) not in seen:  # parts of one split line share a row
            seen.add((ctx.rows[k], msg))
            ctx.report.error(msg, **ctx.where(k, col))
    return codes

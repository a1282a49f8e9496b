"""The ``ntm`` command line: one click group, thin commands over layers/ and maps/.

Every command takes the store from ``--store`` or ``NTM_STORE`` (default var/ntm.gpkg).
Errors go to stderr with exit code 1; long commands draw a progress bar on stderr and
end with a one-screen summary.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from layers import store as store_mod
from .cli_common import CONTEXT, Progress, fail as _fail, handles_errors

def _open_store(ctx: click.Context, *, create: bool = False):
    from layers.store import Store

    return Store(ctx.obj["store_path"], create=create)


def _summary(title: str, rows: list[tuple[str, object]], warnings=(), elapsed: float | None = None, limit: int = 8):
    click.echo(click.style(title, bold=True))
    width = max((len(k) for k, _ in rows), default=0)
    for key, value in rows:
        click.echo(f"  {key.ljust(width)}  {value}")
    warnings = list(warnings)
    if warnings:
        click.echo(click.style(f"  Cảnh báo / Warnings: {len(warnings)}", fg="yellow"))
        for w in warnings[:limit]:
            text = str(w)
            click.echo("   - " + (text if len(text) < 300 else text[:297] + "…"))
        if len(warnings) > limit:
            click.echo(f"   … {len(warnings) - limit} more (full list in the store's import_log)")
    if elapsed is not None:
        click.echo(f"  Thời gian / Time: {elapsed:.1f} s")


@click.group(context_settings=CONTEXT)
@click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=store_mod.STORE_ENV,
    default=store_mod.DEFAULT_STORE,
    show_default=True,
    help="The GeoPackage store (also NTM_STORE).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.pass_context
def main(ctx: click.Context, store_path: Path, quiet: bool) -> None:
    """NTM Atlas — Bản đồ Nông thôn mới: communes, criteria, targets and investment on the map."""
    ctx.ensure_object(dict)
    ctx.obj["store_path"] = store_path
    ctx.obj["progress"] = Progress(enabled=not quiet)


# --- store ---------------------------------------------------------------------------


@main.group(context_settings=CONTEXT)
def store():
    """Create and inspect the GeoPackage store."""


@store.command("init")
@click.pass_context
@handles_errors
def store_init(ctx):
    """Create an empty store (tables, spatial indexes, schema version)."""
    path = ctx.obj["store_path"]
    if path.exists():
        _fail(f"store '{path}' already exists")
    s = _open_store(ctx, create=True)
    click.echo(f"Đã tạo / Created {s.path} (schema {s.meta()['schema_version']})")


@store.command("info")
@click.pass_context
@handles_errors
def store_info(ctx):
    """Show the store's label, schema version, revision and row counts per layer."""
    from layers import schema

    s = _open_store(ctx)
    meta = s.meta()
    rows = [("path", s.path), ("schema", meta["schema_version"]), ("revision", meta["revision"])]
    if meta.get("label"):
        rows.append(("label", meta["label"]))
    for table in [*schema.FEATURE_TABLES, "crosswalk", "status_records", "plans", "recognitions", "targets", "rasters"]:
        rows.append((table, s.count(table)))
    _summary("Kho dữ liệu / Store", rows)


# --- demo ----------------------------------------------------------------------------


@main.group(context_settings=CONTEXT)
def demo():
    """The synthetic demo province (DỮ LIỆU MẪU)."""


@demo.command("build")
@click.option("--communes", default=120, show_default=True, help="Number of communes (11000 ≈ national scale).")
@click.option("--seed", default=2024, show_default=True, help="Random seed; the same seed gives the same data.")
@click.option("--force", is_flag=True, help="Replace an existing store file.")
@click.pass_context
@handles_errors
def demo_build(ctx, communes, seed, force):
    """Build the demo store: boundaries, infrastructure, rasters, status 2021–2026, plans, targets."""
    from layers.demo import build_demo

    progress = ctx.obj["progress"]
    started = time.perf_counter()
    summary = build_demo(ctx.obj["store_path"], communes=communes, seed=seed, overwrite=force, progress=progress)
    progress.close()
    rows = [("store", summary.path)] + [(k, v) for k, v in summary.counts.items()]
    _summary("Đã tạo dữ liệu mẫu / Demo built", rows, summary.warnings, time.perf_counter() - started)


# --- imports -------------------------------------------------------------------------


@main.group("import", context_settings=CONTEXT)
def import_():
    """Import boundaries, infrastructure, status, plans, recognitions, targets."""


@import_.command("boundaries")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--level", type=click.Choice(["province", "district", "commune", "village"]), required=True)
@click.option("--layer", help="Layer inside a GeoPackage.")
@click.option("--crs", help="CRS of a file that declares none, e.g. EPSG:9208.")
@click.option("--where", help="OGR SQL filter, e.g. \"province_vn = 'Lào Cai'\".")
@click.option("--encoding", help="Text encoding of a Shapefile without .cpg.")
@click.option("--code-field")
@click.option("--name-field")
@click.option("--type-field")
@click.option("--parent-code-field")
@click.option("--gso-code-field", help="Column holding official GSO codes (2/3/5 digits).")
@click.option("--default-type", help="Unit type when neither prefix nor type column tells (e.g. xa).")
@click.option("--build-parents", is_flag=True, help="Also build districts and provinces by dissolving communes.")
@click.option("--district-code-field")
@click.option("--district-name-field")
@click.option("--province-code-field")
@click.option("--province-name-field")
@click.option("--region", help="Region code for all units (default: from the province).")
@click.option("--valid-from", help="Start of this vintage (YYYY-MM-DD).")
@click.option("--valid-to", help="End of this vintage (YYYY-MM-DD, exclusive).")
@click.option("--sliver-km2", default=1.0, show_default=True, help="Gaps/overlaps up to this size are slivers.")
@click.option("--parent-tolerance", default=0.02, show_default=True, help="Share of a unit allowed outside its parent.")
@click.option("--replace", is_flag=True, help="Replace units with the same code and vintage.")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.pass_context
@handles_errors
def import_boundaries_cmd(ctx, path, **opts):
    """Import administrative boundaries from GeoPackage, zipped Shapefile, GeoJSON or FlatGeobuf."""
    from layers.boundaries import import_boundaries

    s = _audited(ctx, "boundaries", path, create=True)
    progress = ctx.obj["progress"]
    result = import_boundaries(s, path, progress=progress, **opts)
    progress.close()
    verb = "Sẽ ghi (chạy thử) / Would write" if result.dry_run else "Đã ghi / Written"
    rows = [(f"{k}", v) for k, v in result.counts.items()]
    rows += [("fields", ", ".join(f"{k}←{v}" for k, v in result.field_sources.items()))]
    if result.topology:
        t = result.topology
        rows += [
            ("overlaps", f"{t['overlap_pairs']} pairs, {t['overlap_km2']} km² ({t['overlap_share']:.3%})"),
            ("gaps", f"{t['gaps']}, {t['gap_km2']} km² ({t['gap_share']:.3%})"),
        ]
    rows += [("note", n) for n in result.notes]
    _summary(verb, rows, result.warnings, result.elapsed)


@import_.command("infrastructure")
@click.argument("layer", type=click.Choice(
    ["roads", "schools", "health_stations", "culture_houses", "markets", "power_lines", "transformers", "projects"]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source-layer", help="Layer inside a GeoPackage.")
@click.option("--crs", help="CRS of a file that declares none, e.g. EPSG:9208.")
@click.option("--where", help="OGR SQL filter.")
@click.option("--encoding", help="Text encoding of a Shapefile without .cpg.")
@click.option("--map", "field_map", multiple=True, metavar="FIELD=COLUMN", help="Take FIELD from COLUMN (repeatable).")
@click.option("--replace", is_flag=True, help="Replace the whole layer atomically.")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.pass_context
@handles_errors
def import_infrastructure_cmd(ctx, layer, path, field_map, **opts):
    """Import an infrastructure layer (roads, schools, …) or investment projects."""
    from layers.infrastructure import import_infrastructure

    mapping = {}
    for item in field_map:
        if "=" not in item:
            raise click.BadParameter(f"expected FIELD=COLUMN, got {item!r}", param_hint="--map")
        key, value = item.split("=", 1)
        mapping[key.strip()] = value.strip()
    s = _audited(ctx, "infrastructure", path, layer=layer)
    progress = ctx.obj["progress"]
    result = import_infrastructure(s, layer, path, field_map=mapping or None, progress=progress, **opts)
    progress.close()
    verb = "Sẽ ghi (chạy thử) / Would write" if opts["dry_run"] else "Đã ghi / Written"
    written = result.rows_ready if opts["dry_run"] else result.rows_written
    rows = [(layer, f"{written} of {result.rows_read} rows")]
    rows += [("fields", ", ".join(f"{k}←{v}" for k, v in result.field_sources.items()))]
    _summary(verb, rows, result.warnings, result.elapsed)


@import_.command("status")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--year", type=int, help="Year of the assessment (else a Năm/year column).")
@click.option("--set", "set_id", help="Criteria set id (default: the set in force that year).")
@click.option("--form", type=click.Choice(["auto", "wide", "long"]), default="auto", show_default=True)
@click.option("--sheet", help="Worksheet of an XLSX file.")
@click.option("--source-document", help="Document the figures come from.")
@click.option("--recorded-by", default=lambda: _user(), show_default="current user")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.pass_context
@handles_errors
def import_status_cmd(ctx, path, **opts):
    """Import criteria status from CSV/XLSX (wide: a column per criterion; long: a row per cell)."""
    from layers.status_io import import_status

    s = _audited(ctx, "status", path, source_document=opts.get("source_document"))
    started = time.perf_counter()
    result = import_status(s, path, **opts)
    changes = result.changes
    kinds = changes["change"].value_counts().to_dict() if "change" in changes else {}
    verb = "Sẽ ghi (chạy thử) / Would write" if opts["dry_run"] else "Đã ghi / Written"
    rows = [("rows read", result.rows_read), ("records", len(result.records))]
    rows += [(str(k), v) for k, v in kinds.items()]
    if opts["dry_run"] and len(changes):
        changed = changes[changes.get("change", "") == "changed"] if "change" in changes else changes
        for rec in changed.head(10).itertuples(index=False):
            rows.append(("  ", " ".join(str(x) for x in rec)))
    _summary(verb, rows, result.warnings, time.perf_counter() - started)


def _audited(ctx: click.Context, kind: str, path: Path, *, layer: str | None = None,
             source_document: str | None = None, create: bool = False):
    """The store for one import, audited like an upload (who: cli:<user>, from which file), so
    the change shows in the audit trail (/communes/{code}/history) as API edits do."""
    from layers.edits import audited_import

    return audited_import(_open_store(ctx, create=create), kind, path, actor=f"cli:{_user()}", layer=layer,
                          source_document=source_document)


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"


@import_.command("plans")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--year", type=int)
@click.option("--set", "set_id")
@click.option("--document", help="The plan's document (e.g. Kế hoạch số 12/KH-UBND).")
@click.option("--recorded-by", default=lambda: _user(), show_default="current user")
@click.option("--dry-run", is_flag=True)
@click.pass_context
@handles_errors
def import_plans_cmd(ctx, path, **opts):
    """Import annual plans per commune and criterion (to achieve / to maintain)."""
    from layers.plans import import_plans

    s = _audited(ctx, "plans", path, source_document=opts.get("document"))
    started = time.perf_counter()
    result = import_plans(s, path, **opts)
    _summary("Kế hoạch / Plans", _result_rows(result), _warnings(result), time.perf_counter() - started)


@import_.command("recognitions")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True)
@click.pass_context
@handles_errors
def import_recognitions_cmd(ctx, path, dry_run):
    """Import recognition decisions (đạt chuẩn, nâng cao, kiểu mẫu) for communes, villages, districts."""
    from layers.recognitions import import_recognitions

    s = _audited(ctx, "recognitions", path)
    started = time.perf_counter()
    result = import_recognitions(s, path, dry_run=dry_run)
    _summary("Công nhận / Recognitions", _result_rows(result), _warnings(result), time.perf_counter() - started)


@import_.command("targets")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True)
@click.pass_context
@handles_errors
def import_targets_cmd(ctx, path, dry_run):
    """Import targets (YAML or CSV): scope unit × year × metric → value."""
    from layers.targets import import_targets

    s = _audited(ctx, "targets", path)
    started = time.perf_counter()
    result = import_targets(s, path, dry_run=dry_run)
    _summary("Chỉ tiêu / Targets", _result_rows(result), _warnings(result), time.perf_counter() - started)


def _warnings(result) -> list:
    if isinstance(result, dict):
        return list(result.get("warnings") or [])
    return list(getattr(result, "warnings", []) or [])


def _result_rows(result) -> list[tuple[str, object]]:
    """Summary rows from an import result of any shape (dataclass, frame, dict, int)."""
    import dataclasses

    import pandas as pd

    if isinstance(result, pd.DataFrame):
        return [("rows", len(result))]
    if isinstance(result, int):
        return [("rows", result)]
    if dataclasses.is_dataclass(result):
        result = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    rows = []
    for key, value in (result or {}).items():
        if key == "warnings":
            continue
        if isinstance(value, pd.DataFrame):
            value = f"{len(value)} rows"
        rows.append((key, value))
    return rows


# --- crosswalk, criteria ------------------------------------------------------------


@main.group(context_settings=CONTEXT)
def crosswalk():
    """Boundary changes between vintages (mergers, splits) and the old → new crosswalk."""


@crosswalk.command("apply")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sliver-km2", default=1.0, show_default=True)
@click.option("--dry-run", is_flag=True)
@click.pass_context
@handles_errors
def crosswalk_apply(ctx, path, sliver_km2, dry_run):
    """Apply a legal act transcribed as YAML (merge/rename): close old units, open new ones."""
    from layers.crosswalk import apply_changes

    s = _open_store(ctx)
    started = time.perf_counter()
    rows = apply_changes(s, path, sliver_km2=sliver_km2, dry_run=dry_run)
    lines = [(f"{r.old_code} → {r.new_code}", f"share of new {r.new_share:.1%}") for r in rows.itertuples()]
    lines += [("CV 3372", note) for note in rows.attrs.get("recognitions", [])]
    _summary("Chuyển đổi / Crosswalk" + (" (chạy thử / dry run)" if dry_run else ""), lines, (), time.perf_counter() - started)


@crosswalk.command("overlay")
@click.option("--level", type=click.Choice(["district", "commune", "village"]), default="commune", show_default=True)
@click.option("--old-on", required=True, help="A date in the old vintage (YYYY-MM-DD).")
@click.option("--new-on", required=True, help="A date in the new vintage.")
@click.option("--legal-act", required=True)
@click.option("--effective-date", required=True)
@click.option("--scope", "scope_code", help="Limit to units inside this unit code.")
@click.option("--dry-run", is_flag=True)
@click.pass_context
@handles_errors
def crosswalk_overlay(ctx, **opts):
    """Derive crosswalk rows by intersecting two imported vintages (splits, the 2025 reform)."""
    from layers.crosswalk import crosswalk_by_overlay

    s = _open_store(ctx)
    level = opts.pop("level")
    df = crosswalk_by_overlay(s, level, **opts)
    _summary("Chuyển đổi / Crosswalk", [("pairs", len(df))])


@main.group(context_settings=CONTEXT)
def criteria():
    """Criteria sets (QĐ 318/2022, QĐ 51/2025) and province configuration."""


@criteria.command("list")
@handles_errors
def criteria_list():
    """List the criteria sets shipped with NTM Atlas."""
    from layers.criteria import available_sets

    for s in available_sets().values():
        click.echo(f"{s.id:32} {len(s):3} tiêu chí  {s.title_vi}  ({s.legal_act})")


@criteria.command("show")
@click.argument("set_id")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True)
@handles_errors
def criteria_show(set_id, lang):
    """Show the criteria of one set."""
    from layers.criteria import get_set

    s = get_set(set_id)
    click.echo(click.style(s.title_en if lang == "en" else s.title_vi, bold=True) + f"  [{s.legal_act}]")
    for c in s.criteria:
        group = s.groups[c.group][1 if lang == "en" else 0]
        click.echo(f"  {c.number:2}. {c.label(lang):55} {group}")


@criteria.command("validate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@handles_errors
def criteria_validate(path):
    """Validate a criteria-set YAML file against the schema (all problems at once)."""
    from layers.criteria import criteria_from_yaml

    s = criteria_from_yaml(path)
    click.echo(f"OK: {s.id} v{s.version}, {len(s)} criteria")


@criteria.command("load-config")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True)
@click.pass_context
@handles_errors
def criteria_load_config(ctx, path, dry_run):
    """Validate and load a province's configuration (departments, indicators, thresholds)."""
    from layers.province_config import load_province_config

    s = _open_store(ctx)
    result = load_province_config(s, path, dry_run=dry_run)
    _summary("Cấu hình tỉnh / Province configuration", _result_rows(result))


# --- status --------------------------------------------------------------------------


@main.group(context_settings=CONTEXT)
def status():
    """Criteria status: history of a commune, summary of a scope."""


@status.command("show")
@click.argument("code")
@click.option("--year", type=int)
@click.option("--set", "set_id")
@click.pass_context
@handles_errors
def status_show(ctx, code, year, set_id):
    """Every status record of one commune (oldest first)."""
    from layers.status import status_history

    s = _open_store(ctx)
    df = status_history(s, code, year=year, set_id=set_id)
    if df.empty:
        _fail(f"no status records for unit {code!r}")
    click.echo(df.to_string(index=False, max_colwidth=40))


@status.command("summary")
@click.option("--year", type=int, required=True)
@click.option("--set", "set_id")
@click.option("--scope", "scope_code", help="Province or district code.")
@click.option("--as-of", help="Reconstruct the status as known on this date (YYYY-MM-DD).")
@click.pass_context
@handles_errors
def status_summary(ctx, year, set_id, scope_code, as_of):
    """Criteria met per commune for a year (count, unmet criteria)."""
    from layers.criteria import set_for_year
    from layers.status import criteria_summary

    s = _open_store(ctx)
    set_id = set_id or set_for_year(year).id
    df = criteria_summary(s, year, set_id, as_of=as_of, scope_code=scope_code)
    click.echo(df.to_string(index=False, max_colwidth=60))
    if len(df):
        click.echo(f"\n{len(df)} xã; bình quân / average {df['n_met'].mean():.2f} tiêu chí/xã")


# --- export --------------------------------------------------------------------------


@main.group(context_settings=CONTEXT)
def export():
    """Export layers (GeoPackage, GeoJSON, FlatGeobuf, CSV, XLSX) and status tables."""


@export.command("layer")
@click.argument("layer")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--on", help="Vintage: units valid on this date (YYYY-MM-DD).")
@click.pass_context
@handles_errors
def export_layer_cmd(ctx, layer, path, on):
    """Export one layer of the store to a file (format from the extension)."""
    from layers.export import export_layer

    s = _open_store(ctx)
    out = export_layer(s, layer, path, on=on)
    click.echo(f"Đã xuất / Exported {layer} → {out}")


@export.command("status")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--year", type=int, required=True)
@click.option("--set", "set_id")
@click.option("--scope", "scope_code")
@click.option("--as-of")
@click.pass_context
@handles_errors
def export_status_cmd(ctx, path, year, set_id, scope_code, as_of):
    """Export the criteria table of a year (one row per commune) to CSV or XLSX."""
    from layers.criteria import set_for_year
    from layers.status_export import export_status

    s = _open_store(ctx)
    out = export_status(s, path, year, set_id or set_for_year(year).id, scope_code=scope_code, as_of=as_of)
    click.echo(f"Đã xuất / Exported → {out}")


# --- serving -------------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.pass_context
@handles_errors
def serve(ctx, host, port):
    """Start the web app (maps and API) on the store."""
    import uvicorn

    from api.app import create_app
    from api.settings import Settings

    _open_store(ctx)  # fail early, with a clear message, when the store is missing
    app = create_app(Settings(store=ctx.obj["store_path"]))
    click.echo(f"NTM Atlas: http://{host}:{port}/  (store {ctx.obj['store_path']})", err=True)
    uvicorn.run(app, host=host, port=port, log_level="info")


@main.group(context_settings=CONTEXT)
def assets():
    """Front-end files (Leaflet, …) served locally so maps work offline."""


@assets.command("fetch")
@click.option("--force", is_flag=True)
@handles_errors
def assets_fetch(force):
    """Fetch Leaflet and the other page assets from the npm registry (once)."""
    from maps.assets import fetch_vendor, vendor_dir

    fetched = fetch_vendor(force=force)
    click.echo(("Đã tải / Fetched: " + ", ".join(fetched)) if fetched else f"Đã có / Up to date: {vendor_dir()}")


# Commands kept in their own modules (each imports this one for CONTEXT and the helpers).
# Under ``python -m api.cli`` this file runs as __main__: the commands are registered on
# the importable ``api.cli`` instead, whose ``main`` then runs.
if __name__ != "__main__":
    from . import cli_analysis, cli_keys, cli_maps, cli_prioritise, cli_progress, cli_scenario

    for _module in (cli_analysis, cli_keys, cli_maps, cli_progress, cli_prioritise, cli_scenario):
        _module.register(main)


if __name__ == "__main__":  # pragma: no cover
    from api.cli import main as _registered_main

    _registered_main()

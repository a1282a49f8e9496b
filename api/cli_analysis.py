"""``ntm analyse indicators``: compute and store infrastructure indicators from the CLI.

    ntm analyse indicators --scope D01 --year 2024
    ntm analyse indicators --scope D01 --year 2024 --travel-time --facility health_stations --csv out.csv

``register(main_group)`` adds the command under an ``analyse`` group (created if the
main group has none yet, reused otherwise, so other analyses can join it).
"""

from __future__ import annotations

from pathlib import Path

import click

from .cli_common import handles_errors

__all__ = ["register", "analyse_indicators", "parse_within"]

_FACILITIES = ("schools", "health_stations", "markets", "culture_houses")


def parse_within(values) -> dict[str, float]:
    """``("schools=3000", "health_stations=5 km")`` -> {type: metres}; ValueError names the bad one."""
    from layers.indicators import DEFAULT_WITHIN_M

    out = dict(DEFAULT_WITHIN_M)
    for value in values or ():
        kind, sep, amount = str(value).partition("=")
        kind, amount = kind.strip(), amount.strip().lower().replace(" ", "")
        if not sep or kind not in _FACILITIES:
            raise ValueError(f"'--within' takes TYPE=METRES with TYPE one of {', '.join(_FACILITIES)}, got {value!r}")
        factor = 1000.0 if amount.endswith("km") else 1.0
        amount = amount[:-2] if amount.endswith("km") else amount[:-1] if amount.endswith("m") else amount
        try:
            metres = float(amount) * factor
        except ValueError:
            raise ValueError(f"'--within {value}': {amount!r} is not a distance (e.g. 3000 or 3km)") from None
        out[kind] = metres
    return out


def _store(ctx: click.Context):
    from layers.store import Store, default_store_path

    path = (ctx.obj or {}).get("store_path") if isinstance(ctx.obj, dict) else None
    return Store(path or default_store_path())


def _wide(frame):
    """One row per unit, one column per indicator (the CSV planners open)."""
    wide = frame.drop_duplicates(["unit_level", "unit_code", "name"], keep="last").pivot(
        index=["unit_level", "unit_code"], columns="name", values="value")
    wide.columns.name = None
    wide = wide.reset_index()
    order = wide["unit_level"].map({"commune": 0, "village": 1})
    return wide.assign(_order=order).sort_values(["_order", "unit_code"]).drop(columns="_order")


@click.command("indicators")
@click.option("--scope", help="Province or district code (default: the whole store).")
@click.option("--year", type=int, required=True, help="Year: units valid at its end.")
@click.option("--grid-distance", "grid_distance", type=float, default=1000.0, show_default=True,
              help="A village this close (m) to a power line is near the grid.")
@click.option("--within", multiple=True, metavar="TYPE=METRES",
              help="Distance counting as within reach, e.g. schools=3000 (repeatable; defaults: schools 3 km, "
                   "health stations 5 km, markets 5 km, culture houses 2 km).")
@click.option("--access/--no-access", default=True, show_default=True, help="Distances to facilities.")
@click.option("--network/--no-network", default=True, show_default=True, help="Also along the road network.")
@click.option("--zonal/--no-zonal", default=True, show_default=True, help="DEM and population statistics.")
@click.option("--villages/--no-villages", default=True, show_default=True, help="Also store village rows.")
@click.option("--travel-time", "travel", is_flag=True, help="Travel time to the nearest facility (writes a GeoTIFF).")
@click.option("--facility", "facilities", multiple=True, type=click.Choice(_FACILITIES),
              help="Facility type(s) for --travel-time (default health_stations).")
@click.option("--speeds", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Travel speeds YAML (default layers/data/travel_speeds.yaml).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the values, one row per unit, to this CSV.")
@click.option("--dry-run", is_flag=True, help="Compute and show; store nothing (no values, no raster).")
@click.pass_context
@handles_errors
def analyse_indicators(ctx, scope, year, grid_distance, within, access, network, zonal, villages, travel,
                       facilities, speeds, csv_path, dry_run):
    """Chỉ số hạ tầng / Infrastructure indicators per commune and village: road km and
    hardened share, facility counts, power lines, distances, population and slope,
    travel time. Stored per unit and year with the parameters used."""
    from layers import indicators

    if facilities and not travel:
        raise ValueError("'--facility' chooses the travel-time target: add --travel-time")
    options = indicators.IndicatorOptions(
        grid_distance_m=grid_distance, within_m=parse_within(within), access=access, network=network, zonal=zonal,
        travel_time=tuple(facilities or ("health_stations",)) if travel else (),
        speeds_path=str(speeds) if speeds else None,
        levels=("commune", "village") if villages else ("commune",),
    )
    store = _store(ctx)
    progress = (ctx.obj or {}).get("progress") if isinstance(ctx.obj, dict) else None
    try:
        if dry_run:
            run = indicators.compute_indicators(store, scope=scope, year=year, options=options, progress=progress,
                                                write_rasters=False)
        else:
            run = indicators.run_indicators(store, scope=scope, year=year, options=options, progress=progress)
    finally:
        if progress is not None and hasattr(progress, "close"):
            progress.close()
    frame = run.frame
    click.echo(click.style(f"Chỉ số hạ tầng / Infrastructure indicators — {scope or 'toàn bộ / all'}, {year}",
                           bold=True))
    communes = frame[frame["unit_level"] == "commune"]
    rows = [("communes", communes["unit_code"].nunique()),
            ("villages", frame.loc[frame["unit_level"] == "village", "unit_code"].nunique()),
            ("indicators", frame["name"].nunique()),
            ("rows stored" if not dry_run else "rows (not stored)", run.rows_written if not dry_run else len(frame))]
    for name, label in (("road_km", "road km"), ("road_hardened_share", "share hardened"),
                        ("villages_near_grid_share", "villages near grid"), ("population", "population")):
        values = communes.loc[communes["name"] == name, "value"]
        if len(values):
            total = values.sum() if name in ("road_km", "population") else values.mean()
            rows.append((label + (" (total)" if name in ("road_km", "population") else " (mean)"),
                         f"{total:,.2f}" if total < 100 else f"{total:,.0f}"))
    for name, path in run.rasters.items():
        rows.append((f"raster {name}", path))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"  {key.ljust(width)}  {value}")
    click.echo("  " + ", ".join(f"{k} {v:.1f} s" for k, v in run.timings.items()))
    if csv_path is not None:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        _wide(frame).to_csv(csv_path, index=False, encoding="utf-8")
        click.echo(f"  CSV: {csv_path}")


def register(main_group: click.Group) -> click.Group:
    """Add ``analyse indicators`` and ``analyse hotspots`` to the CLI (creating the ``analyse``
    group if needed)."""
    group = main_group.commands.get("analyse")
    if group is None:
        @main_group.group("analyse", context_settings={"help_option_names": ["-h", "--help"]})
        def group():
            """Phân tích / Analysis: indicators, access, priorities."""
    if "indicators" in group.commands:
        raise ValueError("the 'analyse' group already has an 'indicators' command")
    group.add_command(analyse_indicators)
    from .cli_hotspots import analyse_hotspots  # its own module; it reuses this one's helpers

    group.add_command(analyse_hotspots)
    return group

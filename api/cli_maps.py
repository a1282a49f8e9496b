"""``ntm figure`` and ``ntm atlas``: report maps from the command line.

``register(main)`` adds both commands to a click group. They take the store as the other
commands do (``ntm --store x.gpkg figure …`` or ``NTM_STORE``), and also accept
``--store`` after the command name. Bad options exit 1 with a message naming the option.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from api.cli_common import CONTEXT, Progress, handles_errors
from layers import store as store_mod

__all__ = ["register", "figure_command", "atlas_command"]


def _store(ctx: click.Context, explicit: Path | None):
    """The store named after the command, else the group's (--store / NTM_STORE / default)."""
    from layers.store import Store

    obj = ctx.find_root().obj or {}
    path = explicit or obj.get("store_path") or store_mod.default_store_path()
    return Store(path)


def _progress(ctx: click.Context) -> Progress:
    obj = ctx.find_root().obj or {}
    return obj.get("progress") or Progress(enabled=True)


def _scope(store, scope, district, province, *, year) -> tuple[str | None, str | None]:
    """(scope code, the text the user gave) from --scope / --district / --province (one of them)."""
    from layers.admin_units import year_end
    from maps.figures import resolve_scope

    given = [(name, value) for name, value in (("scope", scope), ("district", district), ("province", province))
             if value]
    if len(given) > 1:
        raise click.UsageError(f"give one of --scope, --district, --province, not {len(given)} "
                               f"({', '.join('--' + n for n, _ in given)})")
    if not given:
        return None, None
    name, value = given[0]
    level = None if name == "scope" else name
    return resolve_scope(store, value, level=level, parameter=name, on=year_end(year)), value


def _human_bytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} KB"


def _what_options(func):
    """The options shared by figure and atlas: what the map shows."""
    from maps.i18n import LANGS
    from maps.modes import ALL_MODES

    options = [
        click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path),
                     help="The GeoPackage store (default: the group's --store / NTM_STORE)."),
        click.option("--mode", type=click.Choice(ALL_MODES), default="count", show_default=True,
                     help="What the colours show."),
        click.option("--year", type=int, help="Year (default: the latest with status records)."),
        click.option("--set", "set_id", help="Criteria set id (default: the set in force that year)."),
        click.option("--criterion", type=int, help="Criterion number, for --mode criterion."),
        click.option("--paper", type=click.Choice(["A4-landscape", "A4-portrait", "A3-landscape", "A3-portrait"]),
                     default="A4-landscape", show_default=True),
        click.option("--lang", type=click.Choice(LANGS), default="vi", show_default=True),
        click.option("--source", help="Text for 'Nguồn: …' (default: the NTM Atlas database)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command("figure", context_settings=CONTEXT)
@_what_options
@click.option("--scope", help="Unit code or name to map (province, district or commune).")
@click.option("--district", help="District code or name (e.g. 'Bát Xát').")
@click.option("--province", help="Province code or name (e.g. 'Lào Cai').")
@click.option("--dpi", type=int, default=300, show_default=True, help="Resolution of PNG output (50–600).")
@click.option("--title", help="Replace the automatic title.")
@click.option("--indicator", help="Stored indicator name, for --mode indicator (and optionally --mode hotspot).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output file: .png, .pdf or .svg (format from the suffix).")
@click.pass_context
@handles_errors
def figure_command(ctx, store_path, mode, year, set_id, criterion, paper, lang, source, scope, district,
                   province, dpi, title, indicator, output):
    """Draw a report map (PNG/PDF/SVG) of the communes of a province, district or commune.

    \b
    Examples:
      ntm figure --province "Lào Cai" --year 2024 -o laocai.png
      ntm figure --district "Si Ma Cai" --mode criterion --criterion 2 --paper A4-portrait -o tc2.pdf
      ntm figure --scope 20508 --mode recognition --lang en --dpi 150 -o simacai.svg
      ntm figure --mode hotspot --year 2024 -o diem-nong.png
      ntm figure --mode indicator --indicator road_density --year 2024 -o mat-do-duong.png
    """
    from maps import figures

    started = time.perf_counter()
    fmt = figures.format_from_path(output)
    figures.check_dpi(dpi)
    store = _store(ctx, store_path)
    year = year or figures.default_year(store)
    scope_code, _ = _scope(store, scope, district, province, year=year)
    fig = figures.commune_figure(store, year=year, set_id=set_id, mode=mode, criterion=criterion,
                                 scope_code=scope_code, paper=paper, dpi=dpi, lang=lang, title=title, source=source,
                                 indicator=indicator)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".part")
    try:
        figures.save_figure(fig, tmp, fmt)
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
    detail = f"{fmt.upper()}, {paper}"
    if fmt == "png":
        w, h = fig.get_size_inches()
        detail += f", {round(w * dpi)}×{round(h * dpi)} px, {dpi} dpi"
    click.echo(f"Đã ghi / Written: {output} ({detail}, {_human_bytes(output.stat().st_size)}) "
               f"in {time.perf_counter() - started:.1f} s")


@click.command("atlas", context_settings=CONTEXT)
@_what_options
@click.option("--per", type=click.Choice(["district", "commune"]), default="district", show_default=True,
              help="One map page per district or per commune.")
@click.option("--province", help="Province code or name (default: the whole store).")
@click.option("--district", help="A district code or name instead (its communes, one page each).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output PDF file.")
@click.pass_context
@handles_errors
def atlas_command(ctx, store_path, mode, year, set_id, criterion, paper, lang, source, per, province, district,
                  output):
    """Write an atlas PDF: a cover summary page, then one map page per district or commune.

    \b
    Examples:
      ntm atlas --province "Lào Cai" --year 2024 -o atlas-laocai.pdf
      ntm atlas --district "Si Ma Cai" --per commune --paper A4-portrait -o simacai.pdf
    """
    from maps import atlas, figures

    if output.suffix.lower() != ".pdf":
        raise click.BadParameter(f"the atlas is a PDF: the file name must end in .pdf, got {output.name!r}",
                                 param_hint="'-o' / '--output'")
    if district and per == "district":
        per = "commune"  # a district's atlas can only page its communes
    store = _store(ctx, store_path)
    year = year or figures.default_year(store)
    scope_code, _ = _scope(store, None, district, province, year=year)
    progress = _progress(ctx)
    output.parent.mkdir(parents=True, exist_ok=True)
    result = atlas.build_atlas(store, output, year=year, set_id=set_id, mode=mode, criterion=criterion,
                               scope_code=scope_code, per=per, paper=paper, lang=lang, source=source,
                               progress=progress)
    progress.close()
    click.echo(f"Đã ghi / Written: {result.path} ({result.pages} trang / pages: 1 + {len(result.units)} "
               f"{per}, {_human_bytes(result.path.stat().st_size)}) in {result.seconds:.1f} s")


def register(main_group: click.Group) -> None:
    """Add ``figure`` and ``atlas`` to the ``ntm`` group."""
    main_group.add_command(figure_command)
    main_group.add_command(atlas_command)

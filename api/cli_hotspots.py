"""``ntm analyse hotspots``: Local Moran's I of criteria met per commune, from the CLI.

    ntm analyse hotspots --year 2024 --scope D01
    ntm analyse hotspots --year 2024 --indicator road_density --permutations 9999 --geojson hot.geojson

Added to the ``analyse`` group by ``api.cli_analysis.register``.
"""

from __future__ import annotations

from pathlib import Path

import click

from .cli_analysis import _store
from .cli_common import handles_errors

__all__ = ["analyse_hotspots"]


@click.command("hotspots")
@click.option("--year", type=int, required=True, help="Year of the criteria status (or indicator).")
@click.option("--scope", help="Province or district code (default: the whole store).")
@click.option("--set", "set_id", help="Criteria set id (default: the set in force that year).")
@click.option("--indicator", help="A stored indicator instead of the number of criteria met.")
@click.option("--permutations", type=int, default=999, show_default=True,
              help="Conditional permutations per commune (99–99999).")
@click.option("--seed", type=int, default=12345, show_default=True, help="Random seed (repeatable runs).")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Significance level.")
@click.option("--fdr/--no-fdr", default=True, show_default=True,
              help="Judge significance on Benjamini–Hochberg (FDR) adjusted p-values.")
@click.option("--contiguity", type=click.Choice(["queen", "fuzzy"]), default="queen", show_default=True,
              help="queen: shared boundary points; fuzzy: boundaries within --tolerance metres.")
@click.option("--tolerance", "tolerance_m", type=float, default=50.0, show_default=True,
              help="Metres, for --contiguity fuzzy.")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
              help="Language of the cluster labels in the files.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one row per commune to this CSV.")
@click.option("--geojson", "geojson_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the communes with their results to this GeoJSON.")
@click.pass_context
@handles_errors
def analyse_hotspots(ctx, year, scope, set_id, indicator, permutations, seed, alpha, fdr, contiguity, tolerance_m,
                     lang, csv_path, geojson_path):
    """Điểm nóng, điểm lạnh / Hot and cold spots: Local Moran's I of criteria met per
    commune (or of a stored indicator), with permutation inference and FDR correction.
    Communes without data or without a neighbour are reported, not tested."""
    from layers import hotspots

    from . import hotspots_output

    result = hotspots.hotspots(_store(ctx), year=year, scope=scope, set_id=set_id, indicator=indicator,
                               permutations=permutations, seed=seed, alpha=alpha, fdr=fdr, contiguity=contiguity,
                               tolerance_m=tolerance_m)
    p, g = result.params, result.moran_global
    variable = p["variable"] + (f" ({p['set_id']})" if p.get("set_id") else "")
    where = scope or "toàn bộ / all"
    click.echo(click.style(f"Điểm nóng / Hot spots — {variable}, {where}, {year}", bold=True))
    rows = [("communes", p["n_units"]), ("tested", p["n_tested"]), ("no data", p["n_no_data"]),
            ("islands (no neighbour)", p["n_islands"]), ("connected groups", p["n_components"]),
            ("global Moran's I", f"{g['I']:.3f} (p_sim {g['p_sim']:.4f}, {p['permutations']} permutations)"),
            ("significance", f"{'FDR q' if fdr else 'p_sim'} ≤ {alpha:g}, seed {seed}")]
    counts = result.counts
    for key in hotspots.CLUSTERS:
        rows.append((f"{key} — {hotspots_output.cluster_label(key, 'en')}", counts[key]))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"  {key.ljust(width)}  {value}")
    frame = result.frame
    hot = frame[frame["cluster"].isin(["HH", "LL", "HL", "LH"])].sort_values(["cluster", "p_sim"])
    for row in hot.head(20).itertuples():
        click.echo(f"    {row.cluster}  {row.unit_code}  {row.name}: {row.value:g} (neighbours {row.lag:.1f}), "
                   f"Ii {row.Ii:.2f}, p {row.p_sim:.4f}, q {row.q_fdr:.4f}")
    if len(hot) > 20:
        click.echo(f"    … {len(hot) - 20} more")
    if csv_path is not None:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        csv_path.write_text(hotspots_output.to_csv(result, lang), encoding="utf-8-sig")
        click.echo(f"  CSV: {csv_path}")
    if geojson_path is not None:
        geojson_path.parent.mkdir(parents=True, exist_ok=True)
        geojson_path.write_bytes(hotspots_output.to_geojson(result, lang))
        click.echo(f"  GeoJSON: {geojson_path}")

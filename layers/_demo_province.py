"""One synthetic province, end to end: every table's rows and its two rasters.

The steps run in the order the data depend on each other: tessellation -> units ->
criteria history -> village attributes -> merger -> roads and power -> facilities ->
rasters -> status, recognitions, plans, targets, projects. Geometry is built in a local
metric frame and projected to EPSG:4326 only at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.stats import norm

from geo.crs import tm3_zone_for_lon

from . import _demo_admin, _demo_facilities, _demo_networks, _demo_programme, _demo_rasters, _demo_status
from ._demo_geometry import tessellate, to_multi

__all__ = ["ProvinceResult", "start_province", "finish_province", "ADMIN_COLUMNS"]

_COMMON = ["code", "gso_code", "name", "full_name", "slug", "unit_type", "parent_code", "region",
           "threshold_region", "valid_from", "valid_to", "area_km2", "source"]
ADMIN_COLUMNS = {
    "provinces": _COMMON + ["tm3_epsg"],
    "districts": _COMMON,
    "communes": _COMMON + ["commune_group", "extremely_difficult"],
    "villages": _COMMON + ["extremely_difficult", "households", "population", "households_grid",
                           "poor_households", "temporary_houses"],
}


@dataclass
class ProvinceResult:
    """Rows for every table (feature frames in EPSG:4326) and the rasters written."""

    tables: dict[str, pd.DataFrame]
    rasters: list[dict]
    warnings: list[str] = field(default_factory=list)


def _projector(epsg: int, x0: float, y0: float):
    to_wgs = Transformer.from_crs(epsg, 4326, always_xy=True)

    def fn(xy):
        lon, lat = to_wgs.transform(xy[:, 0] + x0, xy[:, 1] + y0)
        return np.column_stack([lon, lat])

    return fn


def _gdf(df: pd.DataFrame, project, columns: list[str]) -> gpd.GeoDataFrame:
    geoms = shapely.transform(np.asarray(df["geometry"], dtype=object), project)
    out = pd.DataFrame({c: (df[c].to_numpy() if c in df else None) for c in columns}, index=range(len(df)))
    return gpd.GeoDataFrame(out, geometry=geoms, crs="EPSG:4326")


def _locate(points_xy: np.ndarray, geoms) -> np.ndarray:
    """Index of the polygon containing each point, -1 if none."""
    pt, poly = shapely.STRtree(geoms).query(shapely.points(points_xy), predicate="within")
    out = np.full(len(points_xy), -1)
    out[pt] = poly
    return out


def start_province(seed: np.random.SeedSequence, n_communes: int, area_km2: float):
    """First step, independent of where the province goes: (tessellation, generator, extent).

    The extent (half width, half height in km around the local origin) lets the caller
    place the province before ``finish_province`` runs; the generator carries on there.
    """
    rng = np.random.default_rng(seed)
    tess = tessellate(rng, n_communes, area_km2=area_km2)
    minx, miny, maxx, maxy = tess.province_geom.bounds
    return tess, rng, (max(-minx, maxx) / 1000, max(-miny, maxy) / 1000)


def finish_province(tess, rng, *, index: int, name: str, centre: tuple[float, float], region: str,
                    means: tuple[float, float], raster_dir: Path, raster_suffix: bool, cell: float,
                    merger: bool) -> ProvinceResult:
    """Everything else about a placed province (centre lon/lat, its region and calibration)."""
    code = f"D{index + 1:02d}"
    lon, lat = centre
    epsg = tm3_zone_for_lon(lon)
    x0, y0 = Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    project = _projector(epsg, x0, y0)
    admin = _demo_admin.admin_units(tess, rng, code=code, name=name, region=region)
    com, vil = admin.communes, admin.villages
    n_c = len(com)
    # --- criteria history of the xã ---
    xa = np.flatnonzero(tess.commune_kind == "xa")
    m21, m25 = means
    score = _demo_status.latent_scores(rng, com["_propensity"].to_numpy()[xa])
    model = _demo_status.criteria_model(rng, score, mean_2021=m21, mean_2025=m25)
    com["_model"] = -1
    com.loc[xa, "_model"] = np.arange(len(xa))
    rec_year = np.zeros(n_c, dtype=int)
    rec_year[xa] = np.where(model.recognised_year <= 2024, model.recognised_year, 0)
    at_risk = np.zeros(n_c, dtype=bool)
    at_risk[xa] = model.at_risk
    merge = _demo_admin.plan_merger(admin, tess, rec_year, rng, avoid=at_risk) if merger else None
    end_now = np.ones((n_c, 19), dtype=bool)  # today's status: wards and towns count as all met
    end_now[xa] = model.end[2025]
    _current_units(admin, merge, end_now)
    _demo_admin.village_attributes(admin, tess, end_now, rng)
    current = np.flatnonzero(com["_current"].to_numpy() == np.arange(n_c))
    dev = np.ones(n_c)  # development 0..1: wards 1, towns 0.85, xã by their score
    dev[tess.commune_kind == "thi_tran"] = 0.85
    dev[xa] = norm.cdf(score / score.std()) if len(xa) > 1 else 0.5
    plan, roads, power, trans = _networks(tess, admin, dev, end_now, rng)
    fac = _demo_facilities.facilities(tess, com.assign(name=com["name_now"]), vil, end_now, current, rng)
    rasters = _rasters(tess, plan, vil, rng, cell=cell, epsg=epsg, offset=(x0, y0), raster_dir=raster_dir,
                       suffix=f"_{code}" if raster_suffix else "", label=f"{name} ({code})")
    # --- status, recognitions, plans, targets, projects ---
    units = _unit_years(com, model, merge, tess, rec_year)
    status = pd.concat([_demo_status.status_rows(units[units["year"] <= 2025]),
                        _qd51(com, model, merge, xa, current)], ignore_index=True)
    recs = _demo_programme.recognitions(units, admin, merge, model, rng)
    plan_rows = _demo_programme.plans(units, admin.districts["name"].to_numpy(), rng)
    targets = _demo_programme.targets(admin, units, recs, plan_rows, rng)
    labels = {c: f"xã {n}" for c, n in zip(com["code"], com["name"])}
    if merge:
        labels[merge.code] = f"xã {merge.name}"
    projects = _demo_facilities.projects(plan, roads, fac, units[units["year"].between(2022, 2025)], vil, tess,
                                         labels, rng)
    # --- admin tables (with the merger's new vintage) and crosswalk ---
    tables = _admin_tables(admin, tess, merge, project, epsg)
    tables["crosswalk"] = _crosswalk(admin, merge)
    cols = {
        "roads": ["name", "road_class", "surface", "hardened", "width_m", "commune_code"],
        "power_lines": ["name", "voltage_kv", "commune_code"],
        "transformers": ["name", "capacity_kva", "voltage_kv", "commune_code", "village_code"],
        "health_stations": ["name", "meets_standard", "commune_code"],
        "schools": ["name", "school_level", "meets_standard", "satellite", "pupils", "commune_code", "village_code"],
        "markets": ["name", "market_class", "meets_standard", "commune_code"],
        "culture_houses": ["name", "scope", "meets_standard", "commune_code", "village_code"],
        "projects": ["name", "commune_code", "set_id", "criteria", "cost_mvnd", "funding_source", "year", "state"],
    }
    frames = {"roads": roads, "power_lines": power, "transformers": trans, "projects": projects, **fac}
    for table, columns in cols.items():
        df = frames[table].copy()
        df["source"] = "demo"
        tables[table] = _gdf(df, project, columns + ["source"])
    tables["status_records"] = status
    tables["recognitions"] = recs
    tables["plans"] = plan_rows
    tables["targets"] = targets
    warnings = [f"{name} ({code}): {w}" for w in tess.warnings]
    for table in ADMIN_COLUMNS:
        bad = int((~tables[table].geometry.is_valid).sum())
        if bad:
            warnings.append(f"{name} ({code}): {bad} invalid geometries in {table} after projection")
    return ProvinceResult(tables, rasters, warnings)


def _current_units(admin, merge, end_now) -> None:
    """Columns naming each unit as it is today (after the merger), in place."""
    com, vil = admin.communes, admin.villages
    com["code_now"] = com["code"]
    com["name_now"] = com["name"]
    com["_current"] = np.arange(len(com))
    vil["code_now"] = vil["code"]
    if merge:
        a, b = merge.parts
        end_now[[a, b]] = end_now[a] & end_now[b]
        com.loc[[a, b], "code_now"] = merge.code
        com.loc[[a, b], "name_now"] = merge.name
        com.loc[[a, b], "_current"] = a
        vil.loc[merge.villages, "code_now"] = merge.village_codes


def _networks(tess, admin, dev, end_now, rng):
    """Roads (pieces with surfaces), power lines and transformers, with current commune codes."""
    com, vil = admin.communes, admin.villages
    n_c = len(com)
    kind = tess.commune_kind
    share = np.where(end_now[:, 1], rng.uniform(0.85, 1.0, n_c), rng.uniform(0.35, 0.75, n_c) * (0.7 + 0.3 * dev))
    share[kind != "xa"] = rng.uniform(0.9, 1.0, (kind != "xa").sum())
    d_names = admin.districts["name"].to_numpy()
    plan = _demo_networks.plan_roads(tess, vil["name"].to_numpy(), dev, rng)
    roads = _demo_networks.road_segments(plan, hardened_share=share, developed=dev, rng=rng)
    code_now = com["code_now"].to_numpy()
    roads["commune_code"] = _commune_of_midpoint(roads["geometry"].to_numpy(), tess, code_now)
    grid_share = vil["households_grid"].to_numpy() / vil["households"].to_numpy()
    power, trans = _demo_networks.power_network(tess, plan, grid_share, d_names, com["name_now"].to_numpy(), rng)
    power["commune_code"] = _commune_of_midpoint(power["geometry"].to_numpy(), tess, code_now)
    sub = (trans["kind"] == "substation").to_numpy()
    tv = np.maximum(trans["village"].to_numpy(), 0)
    trans["commune_code"] = np.where(sub, code_now[tess.town_commune[trans["district"]]],
                                     code_now[vil["_commune"].to_numpy()[tv]])
    trans["village_code"] = np.where(sub, None, vil["code_now"].to_numpy()[tv])
    sizes = np.array([50, 75, 100, 160, 180, 250, 320, 400])
    hh = vil["households"].to_numpy()[tv]
    trans["capacity_kva"] = np.where(sub, 25_000.0, sizes[np.minimum(np.searchsorted(sizes, hh * 0.9), len(sizes) - 1)])
    v_full = vil["full_name"].to_numpy()
    trans["name"] = np.where(sub, [f"Trạm biến áp 110 kV {d_names[d]}" for d in trans["district"]],
                             [f"TBA {v_full[v]}" for v in tv])
    return plan, roads, power, trans


def _commune_of_midpoint(lines, tess, code_now) -> np.ndarray:
    mid = shapely.get_coordinates(shapely.line_interpolate_point(lines, 0.5, normalized=True))
    where = _locate(mid, tess.commune_geom)
    return np.where(where >= 0, code_now[np.maximum(where, 0)], None)


def _rasters(tess, plan, vil, rng, *, cell, epsg, offset, raster_dir: Path, suffix: str, label: str) -> list[dict]:
    """Write the aligned DEM and population GeoTIFFs; rows for the rasters table."""
    grid = _demo_rasters.grid_for(tess.province_geom.bounds, cell)
    main = np.isin(plan.road_class, ["quoc_lo", "tinh_lo", "huyen_lo"])
    elevation = _demo_rasters.dem(rng, grid, valley_lines=plan.lines[main], village_xy=tess.village_centre,
                                  city_xy=tess.commune_centre[tess.city_commune],
                                  inside=_demo_rasters.inside_mask(grid, tess.province_geom))
    people = _demo_rasters.population(grid, tess.village_geom, tess.village_centre,
                                      vil["population"].to_numpy().astype(float), elevation)
    transform = grid.shifted(*offset)
    rows = []
    for kind, array, units, desc in (
        ("dem", elevation, "m", "Độ cao địa hình (mô phỏng, m) / Elevation (synthetic, m)"),
        ("population", people, "persons per cell",
         "Dân số theo ô (mô phỏng, người/ô) / Population per cell (synthetic, persons per cell)"),
    ):
        path = raster_dir / f"{kind}{suffix}.tif"
        _demo_rasters.write_geotiff(path, array, transform, f"EPSG:{epsg}", description=desc, units=units)
        rows.append(dict(name=f"{kind}{suffix}", file=path.name, kind=kind, units=units,
                         description=f"{desc} — {label}"))
    return rows


def _qd51(com, model, merge, xa, current) -> pd.DataFrame:
    """2026 assessments under QĐ 51 for today's xã (a merged commune meets what both parts meet)."""
    model_idx = com["_model"].to_numpy()
    keep = [i for i in xa if i in set(current)]
    codes = com["code_now"].to_numpy()[keep]
    margin = model.margin51[model_idx[keep]]
    if merge:
        a, b = merge.parts
        margin[list(codes).index(merge.code)] = np.minimum(model.margin51[model_idx[a]], model.margin51[model_idx[b]])
    return _demo_status.qd51_status(codes, margin)


def _unit_years(com, model, merge, tess, rec_year) -> pd.DataFrame:
    """One row per xã and year 2021-2025 with its code then, status arrays and district."""
    rows = []
    parts = set(merge.parts) if merge else set()
    model_idx = com["_model"].to_numpy()
    xa = np.flatnonzero(model_idx >= 0)
    c_code = com["code"].to_numpy()
    for year in _demo_status.YEARS:
        for i in xa:
            if year >= 2025 and i in parts:
                continue
            j = model_idx[i]
            rows.append((c_code[i], i, year, tess.commune_district[i], model.start[year][j], model.end[year][j],
                         model.gain_date[year][j], 0 < model.recognised_year[j] < year))
        if year >= 2025 and merge:
            ja, jb = model_idx[list(merge.parts)]
            start = model.start[year][ja] & model.start[year][jb]
            end = model.end[year][ja] & model.end[year][jb]
            da, db = model.gain_date[year][ja], model.gain_date[year][jb]
            date = np.where(da > db, da, db)
            recognised = bool(rec_year[merge.parts[0]] and rec_year[merge.parts[1]])
            rows.append((merge.code, merge.parts[0], year, tess.commune_district[merge.parts[0]], start, end,
                         np.where(end & ~start, date, ""), recognised))
    out = pd.DataFrame(rows, columns=["code", "commune", "year", "district", "start", "end", "gain_date", "recognised"])
    out["unit_code"] = out["code"]
    return out


def _admin_tables(admin, tess, merge, project, epsg) -> dict[str, gpd.GeoDataFrame]:
    prov = admin.province.assign(geometry=[tess.province_geom], tm3_epsg=epsg)
    dist = admin.districts.assign(geometry=list(tess.district_geom))
    com = admin.communes.assign(geometry=list(tess.commune_geom))
    vil = admin.villages.assign(geometry=list(tess.village_geom))
    if merge:
        a, b = merge.parts
        new = com.loc[[a]].copy()
        new["code"], new["name"] = merge.code, merge.name
        new = _demo_admin._named(new)
        new["geometry"] = [shapely.coverage_union_all([tess.commune_geom[a], tess.commune_geom[b]])]
        new["area_km2"] = com["area_km2"][a] + com["area_km2"][b]
        new["extremely_difficult"] = bool(com["extremely_difficult"][a] or com["extremely_difficult"][b])
        new["valid_from"] = _demo_admin.MERGER_DATE
        com.loc[[a, b], "valid_to"] = _demo_admin.MERGER_DATE
        com = pd.concat([com, new], ignore_index=True)
        moved = vil.loc[merge.villages].copy()
        moved["code"] = merge.village_codes
        moved["parent_code"] = merge.code
        moved["valid_from"] = _demo_admin.MERGER_DATE
        vil.loc[merge.villages, "valid_to"] = _demo_admin.MERGER_DATE
        vil = pd.concat([vil, moved], ignore_index=True)
    out = {}
    for table, df in (("provinces", prov), ("districts", dist), ("communes", com), ("villages", vil)):
        gdf = _gdf(df, project, ADMIN_COLUMNS[table])
        gdf = gdf.set_geometry(to_multi(gdf.geometry.values))
        out[table] = gdf
    return out


def _crosswalk(admin, merge) -> pd.DataFrame:
    cols = ["level", "old_code", "new_code", "old_share", "new_share", "effective_date", "legal_act", "note"]
    if not merge:
        return pd.DataFrame(columns=cols)
    com, vil = admin.communes, admin.villages
    a, b = merge.parts
    area = com["area_km2"][a] + com["area_km2"][b]
    note = f"Sáp nhập xã {com['name'][a]} và xã {com['name'][b]} thành xã {merge.name} (dữ liệu mẫu)"
    rows = [("commune", com["code"][i], merge.code, 1.0, com["area_km2"][i] / area, _demo_admin.MERGER_DATE,
             _demo_admin.MERGER_ACT, note) for i in (a, b)]
    rows += [("village", vil["code"][v], new, 1.0, 1.0, _demo_admin.MERGER_DATE, _demo_admin.MERGER_ACT,
              "Thôn giữ nguyên địa giới, đổi mã theo xã mới") for v, new in zip(merge.villages, merge.village_codes)]
    return pd.DataFrame(rows, columns=cols)

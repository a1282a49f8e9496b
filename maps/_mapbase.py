"""What a report map shows, read and projected once: the classified communes of a scope
and, for context, the districts and provinces around them.

The classification is the web map's (:func:`maps.modes.classify_communes`), so both
always agree. Geometries are projected to the province's VN-2000 TM-3 zone (metres),
so scale bars and scales drawn on them are true. An atlas reads one base and draws
every page from it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from geo import topology
from geo.crs import STORE_CRS, TM3_ZONES, tm3_zone_for_lon
from layers import admin_units, criteria, status
from layers._errors import CriteriaError
from layers.store import Store
from ._errors import ParameterError
from .i18n import LANGS, t
from .modes import ALL_MODES, ANALYSIS_MODES, Classified, classify_communes

__all__ = [
    "MapBase",
    "load_map_base",
    "default_year",
    "resolve_scope",
    "scope_name",
    "figure_title",
    "criteria_set_line",
]

_SLIVER_KM2 = 1.0  # holes below this in a dissolved district or province are gaps, not enclaves
_LEVELS = ("province", "district", "commune")


@dataclass
class MapBase:
    """Everything a page needs, in ``epsg`` (the VN-2000 TM-3 zone).

    ``classified`` covers the base scope; ``communes`` and ``districts`` are those of the
    scope's province(s), for context; ``provinces`` the scope's province(s);
    ``all_provinces`` every province in the store (for the locator); ``parents`` maps
    every unit code to its parent code.
    """

    epsg: int
    year: int
    lang: str
    classified: Classified
    cset: criteria.CriteriaSet
    communes: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    provinces: gpd.GeoDataFrame
    all_provinces: gpd.GeoDataFrame
    parents: dict = field(repr=False)
    demo: bool = False

    def unit(self, code: str) -> tuple[str, pd.Series] | None:
        """(level, row) of a unit drawn on this base, or None."""
        for level, gdf in (("commune", self.communes), ("district", self.districts), ("province", self.provinces)):
            hit = gdf[gdf["code"] == code]
            if len(hit):
                return level, hit.iloc[0]
        return None

    def within(self, code: str, scope_code: str | None) -> bool:
        """Whether ``code`` lies in the scope (itself included); None is everything."""
        seen = 0
        while code is not None and seen < 6:
            if scope_code is None or code == scope_code:
                return True
            code, seen = self.parents.get(code), seen + 1
        return False


def default_year(store: Store) -> int:
    """The latest year with status records, else the current year (for a store without any)."""
    df = store.read_table("status_records", columns=["year"], order_by="year DESC LIMIT 1")
    return int(df["year"].iloc[0]) if len(df) else dt.date.today().year


def scope_or_only_province(store: Store, value: str | None, *, parameter: str = "scope") -> str:
    """:func:`resolve_scope`, defaulting to the store's only province (reports of one scope)."""
    if value is not None and str(value).strip():
        return resolve_scope(store, value, parameter=parameter)
    provinces = admin_units.units_table(store, "province")
    if len(provinces) != 1:
        raise ParameterError(parameter, f"'{parameter}' is needed: the store holds {len(provinces)} provinces; "
                                        "give a province or district code")
    return str(provinces["code"].iloc[0])


def resolve_scope(store: Store, value: str | None, *, level: str | None = None, parameter: str = "scope",
                  on=None) -> str | None:
    """A unit code from a code or a name ("205", "Si Ma Cai", "Huyện Bát Xát").

    Names match ignoring case, diacritics and the type word. ``level`` limits the
    search to provinces, districts or communes (a district and a province can share a
    name: Lào Cai). ``parameter`` is the option named in errors.

    Raises
    ------
    ParameterError
        Nothing, or more than one unit, matches.

    Examples
    --------
    >>> resolve_scope(store, "Bát Xát", level="district")  # doctest: +SKIP
    '20507'
    """
    if value is None or str(value).strip() == "":
        return None
    value = str(value).strip()
    levels = (level,) if level else _LEVELS
    if level is not None and level not in _LEVELS:
        raise ValueError(f"'level' must be one of {_LEVELS}, got {level!r}")
    code_level = admin_units.unit_level_of(store, value)
    if code_level in levels:
        return value
    found, reasons = [], []
    for lvl in levels:
        code, reason = admin_units.UnitMatcher(store, lvl, on=on).by_name(value)
        (found.append(code) if code else reasons.append(reason))
    if len(found) == 1:
        return found[0]
    what = f"a {level}" if level else "a province, district or commune"
    if found:
        raise ParameterError(parameter, f"'{parameter}' {value!r} names several units ({', '.join(found)}); "
                                        f"give the code, or name the level with the 'province' or 'district' option")
    raise ParameterError(parameter, f"'{parameter}' must be {what} code or name in the store, got {value!r} "
                                    f"({'; '.join(r for r in reasons if r)})")


def _criteria_set(store: Store, set_id: str | None, year: int) -> criteria.CriteriaSet:
    if set_id:
        try:
            return criteria.get_set(set_id)
        except CriteriaError as exc:
            raise ParameterError("set", f"'set' {exc}") from exc
    try:
        return status.set_for_status_year(store, year)
    except CriteriaError as exc:
        raise ParameterError("year", f"'year' {year}: {exc}; give 'set'") from exc


def _check(store: Store, *, year, set_id, mode, criterion, scope_code, lang) -> criteria.CriteriaSet:
    """Every option checked before anything is read, each error naming its option."""
    if lang not in LANGS:
        raise ParameterError("lang", f"'lang' must be one of {LANGS}, got {lang!r}")
    if mode not in ALL_MODES:
        raise ParameterError("mode", f"'mode' must be one of {ALL_MODES}, got {mode!r}")
    if isinstance(year, bool) or not isinstance(year, int) or not 1990 <= year <= 2100:
        raise ParameterError("year", f"'year' must be a year from 1990 to 2100, got {year!r}")
    cset = _criteria_set(store, set_id, year)
    if mode == "criterion":
        if criterion is None:
            raise ParameterError("criterion", "mode 'criterion' needs 'criterion', the criterion number "
                                              f"(1 to {len(cset)} in {cset.id})")
        try:
            cset.criterion(int(criterion))
        except (CriteriaError, ValueError, TypeError) as exc:
            raise ParameterError("criterion", f"'criterion' {exc}") from exc
    if scope_code is not None and not admin_units.unit_level_of(store, scope_code):
        raise ParameterError("scope", f"'scope' must be a unit code in the store, got {scope_code!r}")
    return cset


def load_map_base(store: Store, *, year: int, set_id: str | None = None, mode: str = "count",
                  criterion: int | None = None, scope_code: str | None = None, as_of=None,
                  lang: str = "vi", indicator: str | None = None) -> MapBase:
    """Classify the scope's communes and read, for context, the units of its province(s).

    Raises
    ------
    ParameterError
        Unknown scope, mode, criterion, set or language; a scope without communes.
    """
    cset = _check(store, year=year, set_id=set_id, mode=mode, criterion=criterion, scope_code=scope_code,
                  lang=lang)
    on = admin_units.year_end(year)
    if mode == "indicator" and not indicator:
        raise ParameterError("indicator", "mode 'indicator' needs 'indicator', the name of a stored indicator "
                                          "(GET /analysis/indicators/names lists them)")
    try:
        classified = classify_communes(store, year=year, set_id=cset.id, mode=mode, criterion=criterion,
                                       scope_code=scope_code, as_of=as_of, lang=lang,
                                       indicator=indicator if mode in ANALYSIS_MODES else None)
    except LookupError as exc:  # an indicator not stored for the year
        raise ParameterError("indicator", f"'indicator': {exc}") from exc
    if classified.frame.empty:
        raise ParameterError("scope", f"'scope' {scope_code or '(whole store)'} has no communes valid in {year}")
    tables = {level: admin_units.units_table(store, level, on=on, geometry=True) for level in _LEVELS}
    parents = {}
    for gdf in tables.values():
        parents.update({c: (p if isinstance(p, str) else None) for c, p in zip(gdf["code"], gdf["parent_code"])})
    province_codes = set(tables["province"]["code"])

    def province_of(code):
        seen = 0
        while code is not None and code not in province_codes and seen < 6:
            code, seen = parents.get(code), seen + 1
        return code

    wanted = {province_of(c) for c in classified.frame["unit_code"]} - {None}

    def in_wanted(gdf):
        return gdf[[province_of(c) in wanted for c in gdf["code"]]] if wanted else gdf

    provinces = in_wanted(tables["province"])
    communes, districts = in_wanted(tables["commune"]), in_wanted(tables["district"])
    epsg = _zone(provinces, communes)
    return MapBase(epsg, year, lang, classified, cset, _project(communes, epsg), _outlines(districts, epsg),
                   _outlines(provinces, epsg), _outlines(tables["province"], epsg), parents,
                   demo=str(store.meta().get("demo", "")) == "1")


def _project(gdf: gpd.GeoDataFrame, epsg: int) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        gdf = gdf.set_crs(STORE_CRS)
    return gdf.to_crs(epsg=epsg)


def _outlines(gdf: gpd.GeoDataFrame, epsg: int) -> gpd.GeoDataFrame:
    """Dissolved units projected, without the sliver holes that gaps between communes leave
    (they would draw as dashes inside a district)."""
    gdf = _project(gdf, epsg)
    if len(gdf):
        gdf = gdf.set_geometry([topology.remove_small_holes(g, _SLIVER_KM2) if g is not None else g
                                for g in gdf.geometry], crs=gdf.crs)
    return gdf


def _zone(provinces: gpd.GeoDataFrame, communes: gpd.GeoDataFrame) -> int:
    """The provinces' own TM-3 zone when they share one, else the zone nearest the centre."""
    zones = {int(z) for z in provinces.get("tm3_epsg", pd.Series(dtype=float)).dropna() if int(z) in TM3_ZONES}
    if len(zones) == 1:
        return zones.pop()
    x0, _, x1, _ = communes.total_bounds
    return tm3_zone_for_lon((x0 + x1) / 2)


# --- texts ----------------------------------------------------------------------------


def scope_name(base: MapBase, scope_code: str | None) -> str:
    """'Huyện Bát Xát, Tỉnh Lào Cai' for a scope (full names up to the province)."""
    if scope_code is None:
        names = base.provinces["full_name"].tolist()
        return ", ".join(names) if 0 < len(names) <= 3 else t("figure.whole_store", base.lang)
    parts, code = [], scope_code
    while code is not None:
        hit = base.unit(code)
        if hit is None:
            break
        parts.append(str(hit[1]["full_name"] or hit[1]["name"]))
        code = base.parents.get(code)
    return ", ".join(parts)


def figure_title(base: MapBase) -> str:
    """The map's title for its mode and year ("Số tiêu chí nông thôn mới đạt năm 2024")."""
    cls = base.classified
    values = {"year": base.year, "previous": base.year - 1}
    if cls.mode in ANALYSIS_MODES:
        key = cls.mode + ("_indicator" if cls.mode == "hotspot" and cls.indicator else "")
        return t(f"map_analysis.figure_titles.{key}", base.lang).format(indicator=cls.indicator, **values)
    if cls.mode == "criterion":
        values.update(number=cls.criterion, criterion=base.cset.criterion(int(cls.criterion)).label(base.lang))
    return t(f"figure.titles.{cls.mode}", base.lang).format(**values)


def criteria_set_line(base: MapBase) -> str:
    """The criteria set and its legal act, for subtitles."""
    cset = base.cset
    return t("figure.criteria_set", base.lang).format(title=cset.title_en if base.lang == "en" else cset.title_vi,
                                                      act=cset.legal_act.split(",")[0])

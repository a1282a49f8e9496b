"""What the overview web map shows, as compact data: the view, commune payloads, search.

A *view* is one set of page parameters, checked (year, criteria set, mode, criterion,
scope, language). A *commune payload* carries, for one scope (a province or district),
the communes' geometry once as TopoJSON plus columns of attributes in the same order
(class, criteria met, the criteria row, recognition, district); the page colours
the geometry by those columns. Geometry depends only on the scope and vintage, so it
is cached apart from the attributes and shared by every mode and year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from geo.text import ascii_fold
from layers import admin_units, criteria, indicators_store, recognitions
from layers._errors import CriteriaError
from layers.store import Store
from . import geojson
from ._errors import ParameterError
from .i18n import LANGS
from .modes import ALL_MODES, Classified, classify_communes

__all__ = [
    "MapView",
    "MemoCache",
    "classified",
    "resolve_view",
    "communes_payload",
    "provinces_payload",
    "search_communes",
    "share_classes",
    "GOOD_CLASSES",
    "INLINE_LIMIT",
    "LEVEL_KEYS",
]

INLINE_LIMIT = 2500  # communes drawn from the page itself; more are fetched per province on zoom
LEVEL_KEYS = ("dat_chuan", "nang_cao", "kieu_mau", "hoan_thanh")
_STANDARD = {"dat_chuan", "nang_cao", "kieu_mau"}
# per mode, the classes an aggregated unit (district, province) is coloured by the share of
GOOD_CLASSES = {
    "count": None,  # the top class ("all met"), whatever the set's size
    "criterion": {"met"},
    "recognition": _STANDARD,
    "change": {"gained_1", "gained_2", "gained_3"},
    "gap": {"gap_0"},
    "plan": {"plan_achieved"},
    "hotspot": {"HH"},
    "indicator": None,  # the top class
}
_NOT_CLASSIFIED = {"no_data", "plan_none", "island"}
_SHARE_COLOURS = ("#edf8e9", "#bae4b3", "#74c476", "#238b45")
_PROVINCE_TOLERANCE = 0.01  # degrees: provinces are drawn only when zoomed out to the country


class Cache(Protocol):
    def get(self, key: Hashable, build: Callable[[], Any]) -> Any: ...


class MemoCache:
    """A plain in-memory cache for one page build (or one test module): no revision check."""

    def __init__(self):
        self._values: dict = {}

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        if key not in self._values:
            self._values[key] = build()
        return self._values[key]




@dataclass(frozen=True)
class MapView:
    """One overview page's parameters, checked and completed with defaults.

    ``scope_code`` is the district, else the province, else None (the whole store);
    ``aggregate`` the level shown when zoomed out (districts of a province, or
    provinces of the country).
    """

    year: int
    set_id: str
    mode: str
    criterion: int | None
    lang: str
    province: str | None
    district: str | None
    scope_code: str | None
    scope_level: str  # "district" | "province" | "country"
    aggregate: str  # "district" | "province"
    inline: bool  # communes in the page (else fetched per province)
    n_communes: int
    provinces: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    indicator: str | None = None  # mode "indicator" (required) and "hotspot" (optional variable)

    @property
    def on(self) -> dt.date:
        """The vintage shown: units valid at the end of the year."""
        return admin_units.year_end(self.year)

    def key(self) -> tuple:
        """Cache key: every parameter that changes the page."""
        return (self.year, self.set_id, self.mode, self.criterion, self.lang, self.province, self.district,
                self.indicator)

    def query(self, **changes) -> dict[str, str]:
        """Query parameters reproducing this view (with ``changes``), for links and fetches."""
        params = {"year": self.year, "set": self.set_id, "mode": self.mode, "criterion": self.criterion,
                  "province": self.province, "district": self.district, "lang": self.lang,
                  "indicator": self.indicator} | changes
        return {k: str(v) for k, v in params.items() if v is not None and v != ""}


def _latest(store: Store, set_id: str | None, year: int | None) -> tuple[int, str] | None:
    clauses, params = [], []
    if set_id:
        clauses.append("set_id = ?")
        params.append(set_id)
    if year is not None:
        clauses.append("year = ?")
        params.append(int(year))
    df = store.read_table("status_records", " AND ".join(clauses) or None, params, columns=["year", "set_id"],
                          order_by="year DESC, id DESC LIMIT 1")
    return None if df.empty else (int(df["year"].iloc[0]), str(df["set_id"].iloc[0]))


def _unit(store: Store, code: str | None, level: str, parameter: str) -> str | None:
    if code is None or str(code).strip() == "":
        return None
    code = str(code).strip()
    if admin_units.unit_level_of(store, code) != level:
        raise ParameterError(parameter, f"'{parameter}' must be the code of a {level} in the store, got {code!r}")
    return code


def resolve_view(
    store: Store,
    *,
    year: int | None = None,
    set_id: str | None = None,
    mode: str = "count",
    criterion: int | None = None,
    district: str | None = None,
    province: str | None = None,
    lang: str = "vi",
    indicator: str | None = None,
) -> MapView:
    """Check the page parameters and fill the defaults.

    Year and set default to the latest status records (or the current year and the set
    in force); the criterion defaults to the set's first for ``mode=criterion``; the scope
    is the district, else the province, else the only province of the store, else the
    whole store.

    Raises
    ------
    ParameterError
        Naming the parameter (``year``, ``set``, ``mode``, ``criterion``, ``district``,
        ``province``, ``lang``, ``indicator``) that cannot be used, with what was expected.
    """
    if lang not in LANGS:
        raise ParameterError("lang", f"'lang' must be one of {LANGS}, got {lang!r}")
    if mode not in ALL_MODES:
        raise ParameterError("mode", f"'mode' must be one of {ALL_MODES}, got {mode!r}")
    if year is not None and not 1990 <= int(year) <= 2100:
        raise ParameterError("year", f"'year' must be a year from 1990 to 2100, got {year!r}")
    if set_id:
        try:
            cset = criteria.get_set(set_id)
        except (CriteriaError, LookupError) as exc:
            raise ParameterError("set", f"'set' must be one of {sorted(criteria.available_sets())}, "
                                        f"got {set_id!r}") from exc
    latest = _latest(store, set_id or None, year)
    if year is None:
        year = latest[0] if latest else dt.date.today().year
    if not set_id:
        try:
            cset = criteria.get_set(latest[1]) if latest else criteria.set_for_year(int(year))
        except CriteriaError as exc:
            raise ParameterError("year", f"'year' {year}: {exc}; give 'set'") from exc
    if mode == "criterion":
        criterion = cset.numbers[0] if criterion is None else criterion
        if int(criterion) not in cset.numbers:
            raise ParameterError("criterion", f"'criterion' must be a criterion number of {cset.id} "
                                              f"({cset.numbers[0]}–{cset.numbers[-1]}), got {criterion!r}")
        criterion = int(criterion)
    else:
        criterion = None
    indicator = _indicator(store, mode, indicator, int(year))
    on = admin_units.year_end(int(year))
    district = _unit(store, district, "district", "district")
    province = _unit(store, province, "province", "province")
    provinces = admin_units.units_table(store, "province", on=on)
    if district:
        parent = _province_of(store, district, on)
        if province and parent != province:
            raise ParameterError("district", f"'district' {district} is not in province {province}")
        province = parent
    if district:
        scope, level = district, "district"
    elif province:
        scope, level = province, "province"
    elif len(provinces) == 1:
        scope, level = str(provinces["code"].iloc[0]), "province"
    else:
        scope, level = None, "country"
    n = len(admin_units.units_in_scope(store, scope, "commune", on=on))
    inline = n <= INLINE_LIMIT or provinces.empty or scope is not None
    aggregate = "province" if scope is None and len(provinces) > 1 else "district"
    names = tuple(sorted(zip(provinces["code"].astype(str), provinces["name"].astype(str)), key=lambda p: p[1]))
    return MapView(int(year), cset.id, mode, criterion, lang, province, district, scope, level, aggregate,
                   inline, n, names, indicator=indicator)


def _indicator(store: Store, mode: str, indicator: str | None, year: int) -> str | None:
    """The indicator of the view: checked against those stored for the year; the first one
    by default for ``mode=indicator``; none for the criteria-status modes."""
    indicator = (indicator or "").strip() or None
    if mode not in ("indicator", "hotspot"):
        return None
    if indicator is None and mode == "hotspot":
        return None
    stored = indicators_store.indicator_names(store, year)
    if not stored:
        raise ParameterError("indicator", f"'indicator': no indicator is stored for {year}; compute them with "
                                          f"'ntm analyse indicators --year {year}'")
    if indicator is None:
        return stored[0]
    if indicator not in stored:
        shown = ", ".join(stored[:15]) + (" …" if len(stored) > 15 else "")
        raise ParameterError("indicator", f"'indicator' must be an indicator stored for {year} ({shown}), "
                                          f"got {indicator!r}")
    return indicator


def _province_of(store: Store, code: str, on) -> str | None:
    districts = admin_units.units_table(store, "district", on=on)
    parent = dict(zip(districts["code"], districts["parent_code"]))
    value = parent.get(code)
    return value if isinstance(value, str) else None


# --- classification shared by payloads ---------------------------------------------------


def classified(store: Store, view: MapView, scope_code: str | None, cache: Cache) -> Classified:
    """The view's classification of a scope's communes (``maps.modes.classify_communes``), cached."""
    return cache.get(("map.classified", view.year, view.set_id, view.mode, view.criterion, view.lang, scope_code,
                      view.indicator),
                     lambda: classify_communes(store, year=view.year, set_id=view.set_id, mode=view.mode,
                                               criterion=view.criterion, scope_code=scope_code, lang=view.lang,
                                               indicator=view.indicator))


def _good_keys(cls: Classified) -> set[str]:
    good = GOOD_CLASSES[cls.mode]
    if good is None:  # count: the top class
        ranked = [c.key for c in cls.legend if c.key not in _NOT_CLASSIFIED]
        return {ranked[-1]} if ranked else set()
    return set(good)


def share_classes() -> list[tuple[float, float, str]]:
    """(low, high, colour) classes of a share (0–1) of communes, for aggregated units."""
    edges = (0.0, 0.25, 0.5, 0.75, 1.0000001)
    return [(lo, hi, c) for lo, hi, c in zip(edges[:-1], edges[1:], _SHARE_COLOURS)]


def _recognition(store: Store, view: MapView, scope_code: str | None, cache: Cache) -> pd.DataFrame:
    def build():
        rs = recognitions.recognition_status(store, view.year, unit_level="commune", scope_code=scope_code)
        return rs.set_index("unit_code")
    return cache.get(("map.recognition", view.year, scope_code), build)


def _aggregate(frame: pd.DataFrame, groups: pd.Series, good: set[str]) -> dict[str, list]:
    """Per group: [n_xa, n_standard, average criteria met (xã), n_good, n_classified]."""
    df = frame.assign(group=groups.values)
    out = {}
    for group, part in df.groupby("group", sort=False):
        xa = part[part["unit_type"] == "xa"]
        base = xa if len(xa) else part
        assessed = base[base["n_assessed"] > 0]
        avg = round(float(assessed["n_met"].mean()), 1) if len(assessed) else None
        classified = part[~part["key"].isin(_NOT_CLASSIFIED)]
        out[group] = [int(len(base)), int(base["standard"].sum()), avg,
                      int(classified["key"].isin(good).sum()), int(len(classified))]
    return out


def _frame_with_units(store, view, scope_code, cache) -> tuple[pd.DataFrame, Classified]:
    cls = classified(store, view, scope_code, cache)
    rec = _recognition(store, view, scope_code, cache)
    frame = cls.frame.set_index("unit_code", drop=False)
    frame["unit_type"] = rec["unit_type"].reindex(frame.index).fillna("xa")
    frame["level"] = rec["level"].reindex(frame.index)
    frame["standard"] = frame["level"].isin(_STANDARD)
    return frame, cls


# --- commune payload ----------------------------------------------------------------------


def _commune_geometry(store: Store, scope_code: str | None, on, cache: Cache) -> dict:
    """{codes, topo} for the communes of a scope: simplified once per scope and vintage."""
    def build():
        codes = admin_units.units_in_scope(store, scope_code, "commune", on=on)["code"].tolist()
        where, params = admin_units.valid_on_sql(on)
        if scope_code is not None:
            where += f" AND code IN ({', '.join('?' * len(codes))})" if codes else " AND 0"
            params = [*params, *codes]
        gdf = store.read_features("communes", where, params, columns=["code"])
        gdf = gdf.drop_duplicates("code").reset_index(drop=True)
        tolerance = geojson.tolerance_for(gdf.total_bounds) if len(gdf) else 1e-4
        topo = geojson.coverage_topology(gdf.geometry.values, tolerance=tolerance)
        bounds = [round(float(v), 5) for v in gdf.total_bounds] if len(gdf) else None
        return {"codes": gdf["code"].tolist(), "topo": topo, "bounds": bounds}
    return cache.get(("map.commune_geometry", scope_code, str(on)), build)


def communes_payload(store: Store, view: MapView, scope_code: str | None, *, cache: Cache | None = None) -> dict:
    """Geometry and attribute columns of the communes of one scope, for the page's script.

    Keys: ``topo`` (TopoJSON, object ``u``, geometry ``id`` = position in the columns),
    ``bounds``, ``code``, ``name``, ``dist`` (index into ``districts`` or -1), ``k``
    (class index into the view's legend), ``m`` (criteria met), ``a`` (assessed),
    ``s`` (one character per criterion of the set: 1 met, 0 not met, - no data),
    ``lv`` (index into LEVEL_KEYS or -1), ``risk`` (1 when recognised but failing),
    ``rec`` ([year, decision, date, issued by, valid until] or None), ``districts``
    ([code, name, n_xa, n_standard, average met, n_good, n_classified]); analysis modes
    add ``v`` (the statistic or indicator value as text, or None).
    """
    cache = cache or MemoCache()
    geom = _commune_geometry(store, scope_code, view.on, cache)
    frame, cls = _frame_with_units(store, view, scope_code, cache)
    codes = geom["codes"]
    frame = frame.reindex(codes)
    class_index = {c.key: k for k, c in enumerate(cls.legend)}
    numbers = criteria.get_set(view.set_id).numbers
    met, unmet = frame["met"].tolist(), frame["unmet"].tolist()
    status = []
    for m, u in zip(met, unmet):
        m = set(m) if isinstance(m, list) else set()
        u = set(u) if isinstance(u, list) else set()
        status.append("".join("1" if n in m else "0" if n in u else "-" for n in numbers))
    rec = _recognition(store, view, scope_code, cache).reindex(codes)
    districts = admin_units.units_table(store, "district", on=view.on)
    parents = frame["parent_code"]
    dcodes = [c for c in dict.fromkeys(districts["code"]) if c in set(parents)]
    dnames = dict(zip(districts["code"], districts["name"]))
    dindex = {c: k for k, c in enumerate(dcodes)}
    agg = _aggregate(frame.assign(key=frame["key"].fillna("no_data")), parents.map(lambda p: dindex.get(p, -1)),
                     _good_keys(cls))
    level_index = {k: i for i, k in enumerate(LEVEL_KEYS)}
    records = []
    for row in rec.itertuples():
        records.append(None if not isinstance(row.level, str) else [_int(row.recognised_year), _str(row.decision_number), _str(row.decision_date),
                            _str(row.issued_by), _str(row.valid_until)])
    extra = {}
    if "value" in frame.columns:  # analysis modes: what the tooltip shows beside the class
        extra["v"] = [v if isinstance(v, str) else None for v in frame["value"]]
    return extra | {
        "topo": geom["topo"],
        "bounds": geom["bounds"],
        "code": codes,
        "name": [_str(n) or c for n, c in zip(frame["name"], codes)],
        "dist": [dindex.get(p, -1) for p in parents],
        "k": [class_index.get(k, class_index.get("no_data", 0)) for k in frame["key"].fillna("no_data")],
        "m": [int(v) if pd.notna(v) else 0 for v in frame["n_met"]],
        "a": [int(v) if pd.notna(v) else 0 for v in frame["n_assessed"]],
        "s": status,
        "lv": [level_index.get(v, -1) if isinstance(v, str) else -1 for v in rec["level"]],
        # recognised (đạt chuẩn or higher) and assessed "not met" on a criterion this year, as
        # recognitions.at_risk has it, from the status already read
        "risk": [int(r >= 1 and isinstance(u, list) and len(u) > 0) for r, u in zip(rec["rank"].fillna(0), unmet)],
        "rec": records,
        "districts": [[c, _str(dnames.get(c)) or c, *agg.get(k, [0, 0, None, 0, 0])] for k, c in enumerate(dcodes)],
    }


def _str(value) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)


def _int(value) -> int | None:
    return None if value is None or value is pd.NA or pd.isna(value) else int(value)


# --- provinces payload (national scope) ----------------------------------------------------


def provinces_payload(store: Store, view: MapView, *, cache: Cache | None = None) -> dict:
    """Province shapes (coarse TopoJSON) with aggregates, for the national first view.

    Keys: ``topo``, ``bounds``, ``code``, ``name``, ``agg`` ([n_xa, n_standard,
    average met, n_good, n_classified] per province), ``legend`` (class counts of all
    communes, in legend order).
    """
    cache = cache or MemoCache()

    def geometry():
        where, params = admin_units.valid_on_sql(view.on)
        gdf = store.read_features("provinces", where, params, columns=["code", "name"])
        gdf = gdf.drop_duplicates("code").sort_values("name").reset_index(drop=True)
        topo = geojson.coverage_topology(gdf.geometry.values, tolerance=_PROVINCE_TOLERANCE)
        bounds = [round(float(v), 4) for v in gdf.total_bounds] if len(gdf) else None
        return {"codes": gdf["code"].tolist(), "names": gdf["name"].tolist(), "topo": topo, "bounds": bounds}

    geom = cache.get(("map.province_geometry", str(view.on)), geometry)
    frame, cls = _frame_with_units(store, view, None, cache)
    province_of = _province_map(store, view.on)
    groups = frame["unit_code"].map(lambda c: province_of.get(c))
    agg = _aggregate(frame, groups, _good_keys(cls))
    return {
        "topo": geom["topo"],
        "bounds": geom["bounds"],
        "code": geom["codes"],
        "name": geom["names"],
        "agg": [agg.get(c, [0, 0, None, 0, 0]) for c in geom["codes"]],
    }


def _province_map(store: Store, on) -> dict[str, str]:
    """Commune code -> province code, through districts where there are any."""
    provinces = set(admin_units.units_table(store, "province", on=on)["code"])
    districts = admin_units.units_table(store, "district", on=on)
    d2p = dict(zip(districts["code"], districts["parent_code"]))
    communes = admin_units.units_table(store, "commune", on=on)
    out = {}
    for code, parent in zip(communes["code"], communes["parent_code"]):
        out[code] = parent if parent in provinces else d2p.get(parent)
    return out


# --- search ------------------------------------------------------------------------------


def _fold(text) -> str:
    return " ".join(ascii_fold(str(text or "")).lower().split())


def search_communes(store: Store, query: str, *, scope_code: str | None = None, on=None, limit: int = 12,
                    cache: Cache | None = None) -> list[dict]:
    """Communes whose name matches ``query`` ignoring case and diacritics ("Sin Cheng").

    Names starting with the query come first. Each hit: code, name, full_name,
    district, province (names) and bounds [minx, miny, maxx, maxy] for zooming.
    """
    cache = cache or MemoCache()
    q = _fold(query)
    if not q:
        return []

    def index():
        communes = admin_units.units_in_scope(store, scope_code, "commune", on=on)
        districts = admin_units.units_table(store, "district", on=on)
        provinces = admin_units.units_table(store, "province", on=on)
        names = dict(zip(districts["code"], districts["name"])) | dict(zip(provinces["code"], provinces["name"]))
        d2p = dict(zip(districts["code"], districts["parent_code"]))
        rows = []
        for code, name, full, parent in zip(communes["code"], communes["name"], communes["full_name"],
                                            communes["parent_code"]):
            province = d2p.get(parent, parent)
            rows.append((_fold(name), _fold(full), code, str(name), _str(full) or str(name),
                         names.get(parent) if parent in d2p else None, names.get(province)))
        return rows

    rows = cache.get(("map.search_index", scope_code, str(on)), index)
    starts = [r for r in rows if r[0].startswith(q) or r[1].startswith(q)]
    inside = [r for r in rows if r not in starts and (q in r[0] or q in r[1])]
    hits = (sorted(starts, key=lambda r: r[0]) + sorted(inside, key=lambda r: r[0]))[:limit]
    if not hits:
        return []
    codes = [r[2] for r in hits]
    where, params = admin_units.valid_on_sql(on)
    gdf = store.read_features("communes", f"{where} AND code IN ({', '.join('?' * len(codes))})",
                              [*params, *codes], columns=["code"])
    bounds = {c: [round(float(v), 5) for v in b] for c, b in zip(gdf["code"], gdf.geometry.bounds.values)}
    return [{"code": r[2], "name": r[3], "full_name": r[4], "district": r[5], "province": r[6],
             "bounds": bounds.get(r[2])} for r in hits]

"""Administrative units in the store: lookup by code or name, hierarchy, vintages.

Units live in four tables (provinces, districts, communes, villages), one row per unit
and vintage. A unit is *valid on* a date when valid_from <= date < valid_to (NULL = open).
Communes created by the 2025 reform have a province as parent (no district level).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import yaml

from geo.text import nfc, slugify, split_type_prefix
from . import schema
from .store import Store

__all__ = [
    "LEVELS",
    "vocabulary",
    "unit_type_prefixes",
    "valid_on_sql",
    "units_table",
    "units_in_scope",
    "unit_level_of",
    "UnitMatcher",
]

LEVELS = schema.ADMIN_LEVELS
_DATA = Path(__file__).with_name("data")


@functools.cache
def vocabulary() -> dict:
    """The controlled vocabularies of ``layers/data/vocabulary.yaml``."""
    return yaml.safe_load((_DATA / "vocabulary.yaml").read_text(encoding="utf-8"))


@functools.cache
def unit_type_prefixes(level: str) -> dict[str, str]:
    """Written prefix -> unit-type code for one level ("Thị trấn" -> "thi_tran")."""
    out = {}
    for code, spec in vocabulary()["unit_types"].items():
        if spec["level"] == level:
            for prefix in spec["prefix"]:
                out.setdefault(prefix, code)
    return out


def valid_on_sql(day: dt.date | str | None) -> tuple[str, list]:
    """SQL condition (and parameters) selecting the vintage valid on ``day`` (None: current)."""
    if day is None:
        return "valid_to IS NULL", []
    day = str(day)
    return "(valid_from IS NULL OR valid_from <= ?) AND (valid_to IS NULL OR valid_to > ?)", [day, day]


def year_end(year: int) -> dt.date:
    return dt.date(year, 12, 31)


def units_table(
    store: Store, level: str, *, on: dt.date | str | None = None, geometry: bool = False
) -> pd.DataFrame:
    """All units of a level valid on a date (None: the current vintage)."""
    table = schema.ADMIN_TABLE[level]
    where, params = valid_on_sql(on)
    if geometry:
        return store.read_features(table, where, params)
    return store.read_table(table, where, params)


def unit_level_of(store: Store, code: str) -> str | None:
    """The level (province … village) holding ``code`` in any vintage, or None."""
    for level, table in schema.ADMIN_TABLE.items():
        if store.count(table, "code = ?", [code]):
            return level
    return None


def units_in_scope(
    store: Store, scope_code: str | None, level: str, *, on: dt.date | str | None = None
) -> pd.DataFrame:
    """Units of ``level`` inside the scope unit (itself included if of that level).

    ``scope_code`` None means the whole store. The hierarchy is followed through
    parent_code, so communes whose parent is a province (post-2025) are found too.
    """
    units = units_table(store, level, on=on)
    if scope_code is None:
        return units
    if (units["code"] == scope_code).any():
        return units[units["code"] == scope_code]
    parents = _parent_map(store, on)
    keep = []
    for code, parent in zip(units["code"], units["parent_code"]):
        seen = 0
        while parent is not None and seen < 4:
            if parent == scope_code:
                keep.append(code)
                break
            parent, seen = parents.get(parent), seen + 1
    return units[units["code"].isin(keep)]


def _parent_map(store: Store, on) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for level in ("province", "district", "commune"):
        df = units_table(store, level, on=on)
        out.update(dict(zip(df["code"], df["parent_code"].where(df["parent_code"].notna(), None))))
    return out


class UnitMatcher:
    """Find a unit from what a spreadsheet or a file gives: a code, or a name with context.

    Names match ignoring case, diacritics and a leading type word ("Xã Sán Chải" =
    "san chai"); a name shared by several units needs its parent's name or code.
    """

    def __init__(self, store: Store, level: str, *, on: dt.date | str | None = None):
        self.level = level
        self.units = units_table(store, level, on=on)
        parent_level = LEVELS[LEVELS.index(level) - 1] if level != "province" else None
        self._parent_names: dict[str, str] = {}
        if parent_level:
            parents = units_table(store, parent_level, on=on)
            if level == "commune":  # post-2025 communes hang under provinces
                parents = pd.concat([parents, units_table(store, "province", on=on)])
            self._parent_names = dict(zip(parents["code"], parents["slug"]))
        self._codes = set(self.units["code"])
        self._by_slug: dict[str, list[int]] = {}
        for k, slug in enumerate(self.units["slug"]):
            self._by_slug.setdefault(slug, []).append(k)
        self._prefixes = unit_type_prefixes(level)

    def __contains__(self, code: str) -> bool:
        return code in self._codes

    def by_code(self, code) -> str | None:
        code = None if code is None else str(code).strip()
        return code if code in self._codes else None

    def by_name(self, name: str, parent: str | None = None) -> tuple[str | None, str | None]:
        """(code, None) when found, (None, reason) when not found or ambiguous."""
        _, bare = split_type_prefix(nfc(name) or "", self._prefixes)
        hits = self._by_slug.get(slugify(bare), [])
        if parent:
            parent_key = str(parent).strip()
            _, parent_bare = split_type_prefix(nfc(parent_key) or "", _all_prefixes())
            parent_slug = slugify(parent_bare)
            hits = [
                k
                for k in hits
                if self.units["parent_code"].iloc[k] == parent_key
                or _slug_matches(self._parent_names.get(self.units["parent_code"].iloc[k]), parent_slug)
            ]
        if len(hits) == 1:
            return self.units["code"].iloc[hits[0]], None
        if not hits:
            where = f" in '{parent}'" if parent else ""
            return None, f"no {self.level} named '{name}'{where}"
        codes = ", ".join(self.units["code"].iloc[hits])
        return None, f"'{name}' names {len(hits)} {self.level}s ({codes}); give the code or the parent unit"

    def codes(self) -> Iterable[str]:
        return self._codes


@functools.cache
def _all_prefixes() -> dict[str, str]:
    out: dict[str, str] = {}
    for level in LEVELS:
        out.update(unit_type_prefixes(level))
    return out


def _slug_matches(parent_slug: str | None, wanted: str) -> bool:
    if not parent_slug:
        return False
    return parent_slug == wanted or parent_slug.endswith("-" + wanted) or wanted.endswith("-" + parent_slug)

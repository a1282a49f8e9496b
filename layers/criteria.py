"""Criteria sets: versioned YAML data files shipped in ``layers/criteria/``.

A criterion is keyed by (set, number): number 5 is "Trường học" in the basic QĐ 318 set
and "Giáo dục" in the nâng cao set. Files are checked against ``criteria/schema.json``
and for consistency (numbers 1..N, unique codes, known groups); every problem is
reported at once with its key path.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import yaml

from geo.text import ascii_fold
from ._errors import CriteriaError

__all__ = [
    "Criterion",
    "CriteriaSet",
    "criteria_from_yaml",
    "available_sets",
    "get_set",
    "set_for_year",
]

CRITERIA_DIR = Path(__file__).with_name("criteria")


@dataclass(frozen=True)
class Indicator:
    id: str
    name_vi: str
    name_en: str = ""


@dataclass(frozen=True)
class Criterion:
    set_id: str
    number: int
    code: str
    group: str
    name_vi: str
    name_en: str
    indicators: tuple[Indicator, ...] = ()

    def label(self, lang: str = "vi") -> str:
        return self.name_en if lang == "en" else self.name_vi


@dataclass(frozen=True)
class CriteriaSet:
    id: str
    version: int
    title_vi: str
    title_en: str
    legal_act: str
    unit_level: str
    recognition_level: str
    threshold_scheme: str
    groups: dict[str, tuple[str, str]]
    criteria: tuple[Criterion, ...]
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    notes: str = ""
    source: str = field(default="", compare=False)

    @property
    def numbers(self) -> list[int]:
        return [c.number for c in self.criteria]

    def __len__(self) -> int:
        return len(self.criteria)

    def criterion(self, number: int) -> Criterion:
        """The criterion with this number, or a CriteriaError naming the valid range."""
        for c in self.criteria:
            if c.number == number:
                return c
        raise CriteriaError(
            f"criteria set '{self.id}' has no criterion {number!r}; "
            f"expected a number from 1 to {len(self.criteria)}"
        )

    def match_column(self, label: str) -> int | None:
        """The criterion a spreadsheet column header names, or None.

        Accepts the forms planners use: "TC1", "TC 01", "Tiêu chí 2", "tc_2",
        "2", "2. Giao thông", "Giao thông", "giao_thong".
        """
        text = ascii_fold(str(label)).lower().strip()
        m = re.fullmatch(
            r"(?:tc|tieu chi(?: so)?|criterion|crit|c)?[\s_.#-]*0*(\d{1,2})(?:[\s.:)_-].*)?", text
        )
        if m:
            number = int(m.group(1))
            return number if number in self.numbers else None
        words = re.sub(r"[^a-z0-9]+", " ", text).strip()
        for c in self.criteria:
            names = {
                re.sub(r"[^a-z0-9]+", " ", ascii_fold(c.name_vi).lower()).strip(),
                c.code.replace("_", " "),
                c.name_en.lower(),
            }
            if words in names:
                return c.number
        return None


def criteria_from_yaml(path: str | Path) -> CriteriaSet:
    """Load and validate one criteria-set file.

    Raises
    ------
    CriteriaError
        Listing every problem found, each with its key path (e.g. ``criteria[3].number``).
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, ValueError) as exc:  # ValueError: impossible dates
        raise CriteriaError(f"{path}: cannot read criteria set: {exc}") from exc
    problems = _schema_problems(data) or _consistency_problems(data)
    if problems:
        raise CriteriaError(
            f"{path}: invalid criteria set ({len(problems)} problem(s)):\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
    groups = {g["code"]: (g["name_vi"], g["name_en"]) for g in data["groups"]}
    criteria = tuple(
        Criterion(
            set_id=data["id"],
            number=c["number"],
            code=c["code"],
            group=c["group"],
            name_vi=c["name_vi"],
            name_en=c["name_en"],
            indicators=tuple(Indicator(**i) for i in c.get("indicators", [])),
        )
        for c in sorted(data["criteria"], key=lambda c: c["number"])
    )
    return CriteriaSet(
        id=data["id"],
        version=data["version"],
        title_vi=data["title_vi"],
        title_en=data["title_en"],
        legal_act=data["legal_act"],
        unit_level=data["unit_level"],
        recognition_level=data["recognition_level"],
        threshold_scheme=data["threshold_scheme"],
        groups=groups,
        criteria=criteria,
        valid_from=_date(data.get("valid_from")),
        valid_to=_date(data.get("valid_to")),
        notes=data.get("notes", ""),
        source=str(path),
    )


@functools.cache
def _schema() -> dict:
    return json.loads((CRITERIA_DIR / "schema.json").read_text(encoding="utf-8"))


def _schema_problems(data) -> list[str]:
    validator = jsonschema.Draft202012Validator(_schema())
    problems = []
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        problems.append(f"{_key_path(err.absolute_path) or '(top level)'}: {err.message}")
    return problems


def _consistency_problems(data: dict) -> list[str]:
    problems = []
    numbers = [c["number"] for c in data["criteria"]]
    expected = list(range(1, len(numbers) + 1))
    if sorted(numbers) != expected:
        problems.append(f"criteria: numbers must run 1..{len(numbers)} once each, got {sorted(numbers)}")
    groups = {g["code"] for g in data["groups"]}
    seen_codes: dict[str, int] = {}
    for k, c in enumerate(data["criteria"]):
        if c["group"] not in groups:
            problems.append(f"criteria[{k}].group: unknown group '{c['group']}'; declared: {sorted(groups)}")
        if c["code"] in seen_codes:
            problems.append(f"criteria[{k}].code: '{c['code']}' repeats criteria[{seen_codes[c['code']]}]")
        seen_codes.setdefault(c["code"], k)
        for j, ind in enumerate(c.get("indicators", [])):
            if not ind["id"].startswith(f"{c['number']}."):
                problems.append(
                    f"criteria[{k}].indicators[{j}].id: '{ind['id']}' must start with "
                    f"the criterion number '{c['number']}.'"
                )
    for key in ("valid_from", "valid_to"):
        if key in data and _date(data[key]) is None:
            problems.append(f"{key}: expected a date YYYY-MM-DD, got {data[key]!r}")
    return problems


def _key_path(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


@functools.cache
def available_sets() -> dict[str, CriteriaSet]:
    """The criteria sets shipped with NTM Atlas, by id."""
    sets = {}
    for path in sorted(CRITERIA_DIR.glob("*.yaml")):
        cset = criteria_from_yaml(path)
        if cset.id in sets:
            raise CriteriaError(f"{path}: criteria set id '{cset.id}' is already defined")
        if path.stem != cset.id:
            raise CriteriaError(f"{path}: file name must be the set id '{cset.id}.yaml'")
        sets[cset.id] = cset
    return sets


def get_set(set_id: str) -> CriteriaSet:
    """A shipped criteria set by id, or a CriteriaError listing the known ids."""
    sets = available_sets()
    if set_id not in sets:
        raise CriteriaError(f"unknown criteria set '{set_id}'; known sets: {', '.join(sets)}")
    return sets[set_id]


def set_for_year(year: int, *, unit_level: str = "commune", recognition_level: str = "dat_chuan") -> CriteriaSet:
    """The national set in force for a year: QĐ 318 up to 2025, QĐ 51/2025 from 2026."""
    candidates = [
        s
        for s in available_sets().values()
        if s.unit_level == unit_level
        and s.recognition_level == recognition_level
        and (s.valid_from is None or s.valid_from.year <= year)
        and (s.valid_to is None or s.valid_to.year >= year)
    ]
    if not candidates:
        raise CriteriaError(
            f"no {recognition_level} criteria set for {unit_level} level in force in {year}"
        )
    return max(candidates, key=lambda s: s.valid_from or dt.date.min)

"""The versioned cost model: what closing an unmet criterion costs, and who may pay.

The shipped file (``layers/data/cost_model.yaml``) holds ILLUSTRATIVE planning defaults;
a province passes its own file of the same layout. Loading checks it against
``cost_model.schema.json`` and then for consistency (drivers the evidence knows, funding
sources of the vocabulary, splits summing to 1, every criterion of a set either closable
or not closable), and every problem names its key path, e.g.
``sets.qd318-2022-xa-ntm.closable.2.components[1]``.

Examples
--------
>>> model = default_cost_model()
>>> model.version
'2026.12-illustrative'
>>> model.components["road_duong_xa"].unit_cost_vnd
3500000000.0
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

from . import admin_units, criteria
from ._errors import CriteriaError

__all__ = [
    "COST_MODEL_PATH",
    "DRIVERS",
    "CostModelError",
    "Component",
    "ClosableCriterion",
    "CostModel",
    "load_cost_model",
    "default_cost_model",
    "cost_model_from_dict",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
COST_MODEL_PATH = DATA_DIR / "cost_model.yaml"
SCHEMA_PATH = DATA_DIR / "cost_model.schema.json"

# Evidence per commune that a component's quantity can come from (layers.gap_evidence).
DRIVERS = (
    "schools_below_standard",
    "commune_culture_house_missing",
    "villages_without_culture_house",
    "village_culture_houses_below_standard",
    "market_missing",
    "health_station_missing",
    "grid_extension_km",
    "households_without_grid",
    "temporary_houses",
    "commune",
)
ROAD_DRIVER = re.compile(r"^road_to_harden_km\.([a-z_]+)$")
_SPLIT_TOLERANCE = 1e-6


class CostModelError(CriteriaError):
    """A cost-model file that cannot be used; the message names the file and key path."""


@dataclass(frozen=True)
class Component:
    """One kind of work: quantity from ``driver``, ``unit_cost_vnd`` per unit, paid by
    ``funding_sources`` (code -> default share)."""

    code: str
    label_vi: str
    label_en: str
    driver: str
    unit: str
    unit_cost_vnd: float
    funding_sources: dict[str, float]
    target_share: float = 1.0

    @property
    def sources(self) -> tuple[str, ...]:
        """The sources allowed to pay, sorted (the eligibility class of the component)."""
        return tuple(sorted(self.funding_sources))


@dataclass(frozen=True)
class ClosableCriterion:
    number: int
    components: tuple[str, ...]
    fallback_vnd: float | None = None


@dataclass(frozen=True)
class CostModel:
    """A checked cost model (see the module docstring and the YAML file's header)."""

    version: str
    currency: str
    date: str
    status: str
    source_note: str
    title_vi: str
    title_en: str
    grid_distance_m: float
    components: dict[str, Component]
    closable: dict[str, dict[int, ClosableCriterion]]  # set id -> number -> what closes it
    not_closable: dict[str, dict[int, dict[str, str]]]  # set id -> number -> reason_vi/en
    source: str = ""
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    def has_set(self, set_id: str) -> bool:
        return set_id in self.closable

    def check_set(self, set_id: str) -> None:
        """Raise CostModelError when the model does not cost ``set_id``."""
        if set_id not in self.closable:
            raise CostModelError(f"cost model {self.version!r} ({self.source or 'in memory'}) has no "
                                 f"'sets.{set_id}'; it costs: {', '.join(sorted(self.closable))}")

    def components_for(self, set_id: str, number: int) -> tuple[Component, ...]:
        spec = self.closable[set_id].get(int(number))
        return () if spec is None else tuple(self.components[c] for c in spec.components)

    def fallback_source_split(self, set_id: str, number: int) -> dict[str, float]:
        """Funding split of a fallback package: that of the criterion's first component."""
        comps = self.components_for(set_id, number)
        return dict(comps[0].funding_sources) if comps else {}

    def as_dict(self) -> dict:
        """The model as JSON-ready data (the API's ``/analysis/cost-model``)."""
        return {
            "version": self.version, "currency": self.currency, "date": self.date, "status": self.status,
            "title_vi": self.title_vi, "title_en": self.title_en, "source_note": self.source_note,
            "grid_distance_m": self.grid_distance_m, "source": self.source,
            "components": {k: {"label_vi": c.label_vi, "label_en": c.label_en, "driver": c.driver, "unit": c.unit,
                               "unit_cost_vnd": c.unit_cost_vnd, "target_share": c.target_share,
                               "funding_sources": dict(c.funding_sources)} for k, c in self.components.items()},
            "sets": {s: {"closable": {str(n): {"components": list(c.components), "fallback_vnd": c.fallback_vnd}
                                      for n, c in sorted(self.closable[s].items())},
                         "not_closable": {str(n): dict(r) for n, r in sorted(self.not_closable[s].items())}}
                     for s in self.closable},
        }


@functools.cache
def _schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _key_path(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _plain(data):
    """YAML values -> JSON-schema-ready: dates as ISO text, mapping keys as text."""
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    if isinstance(data, (dt.date, dt.datetime)):
        return data.isoformat()[:10]
    return data


def _consistency(data: dict) -> list[str]:
    problems = []
    sources = set(admin_units.vocabulary()["funding_sources"])
    road_classes = set(admin_units.vocabulary()["road_classes"])
    for code, comp in data["components"].items():
        where = f"components.{code}"
        m = ROAD_DRIVER.match(comp["driver"])
        if m is None and comp["driver"] not in DRIVERS:
            problems.append(f"{where}.driver: unknown driver {comp['driver']!r}; expected one of "
                            f"{', '.join(DRIVERS)} or road_to_harden_km.<road class>")
        elif m is not None and m.group(1) not in road_classes:
            problems.append(f"{where}.driver: unknown road class {m.group(1)!r}; expected one of "
                            f"{', '.join(sorted(road_classes))}")
        for src in comp["funding_sources"]:
            if src not in sources:
                problems.append(f"{where}.funding_sources.{src}: unknown funding source; expected codes of "
                                f"vocabulary.yaml funding_sources: {', '.join(sorted(sources))}")
        total = sum(comp["funding_sources"].values())
        if abs(total - 1.0) > _SPLIT_TOLERANCE:
            problems.append(f"{where}.funding_sources: the shares must sum to 1, got {total:g}")
    for set_id, spec in data["sets"].items():
        where = f"sets.{set_id}"
        try:
            cset = criteria.get_set(set_id)
        except CriteriaError as exc:
            problems.append(f"{where}: {exc}")
            continue
        numbers = set(cset.numbers)
        seen: dict[int, str] = {}
        for part in ("closable", "not_closable"):
            for key, value in spec[part].items():
                if not str(key).isdigit() or int(key) not in numbers:
                    problems.append(f"{where}.{part}.{key}: set '{set_id}' has no criterion {key}; "
                                    f"expected 1 to {len(cset)}")
                    continue
                n = int(key)
                if n in seen:
                    problems.append(f"{where}.{part}.{key}: criterion {n} is also under '{seen[n]}'")
                seen[n] = part
                if part == "closable":
                    for j, comp in enumerate(value["components"]):
                        if comp not in data["components"]:
                            problems.append(f"{where}.closable.{key}.components[{j}]: unknown component "
                                            f"{comp!r}; declared: {', '.join(sorted(data['components']))}")
        missing = sorted(numbers - set(seen))
        if missing:
            problems.append(f"{where}: criteria {missing} are neither 'closable' nor 'not_closable'; "
                            "list each criterion of the set in one of them")
    return problems


def cost_model_from_dict(data, *, source: str = "") -> CostModel:
    """A checked CostModel from parsed YAML/JSON data.

    Raises
    ------
    CostModelError
        Listing every problem with its key path (and ``source``, the file).
    """
    where = f"cost model {source}" if source else "cost model"
    if not isinstance(data, dict):
        raise CostModelError(f"{where}: expected a mapping at the top level, got {type(data).__name__}")
    data = _plain(data)
    validator = jsonschema.Draft202012Validator(_schema())
    problems = [f"{_key_path(e.absolute_path) or '(top level)'}: {e.message}"
                for e in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))]
    if not problems:
        problems = _consistency(data)
    if problems:
        raise CostModelError(f"{where}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    comps = {code: Component(code=code, label_vi=c["label_vi"], label_en=c["label_en"], driver=c["driver"],
                             unit=c["unit"], unit_cost_vnd=float(c["unit_cost_vnd"]),
                             funding_sources={k: float(v) for k, v in c["funding_sources"].items()},
                             target_share=float(c.get("target_share", 1.0)))
             for code, c in data["components"].items()}
    closable = {s: {int(n): ClosableCriterion(int(n), tuple(v["components"]),
                                              None if v.get("fallback_vnd") is None else float(v["fallback_vnd"]))
                    for n, v in spec["closable"].items()} for s, spec in data["sets"].items()}
    not_closable = {s: {int(n): {"reason_vi": v["reason_vi"], "reason_en": v["reason_en"]}
                        for n, v in spec["not_closable"].items()} for s, spec in data["sets"].items()}
    return CostModel(version=data["version"], currency=data["currency"], date=data["date"],
                     status=data.get("status", "province"), source_note=data["source_note"].strip(),
                     title_vi=data.get("title_vi", ""), title_en=data.get("title_en", ""),
                     grid_distance_m=float(data.get("grid_distance_m", 1000.0)), components=comps,
                     closable=closable, not_closable=not_closable, source=source, raw=data)


def load_cost_model(path: str | Path) -> CostModel:
    """Read and check a cost-model file (YAML or JSON).

    Raises
    ------
    FileNotFoundError
        No such file.
    CostModelError
        Unreadable YAML, or content problems (each with its key path).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"cost model file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CostModelError(f"cost model {path}: not valid YAML: {exc}") from exc
    return cost_model_from_dict(data, source=str(path))


@functools.cache
def default_cost_model() -> CostModel:
    """The shipped illustrative model (``layers/data/cost_model.yaml``)."""
    return load_cost_model(COST_MODEL_PATH)

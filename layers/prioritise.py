"""Prioritisation under a budget: which commune-criterion gaps to fund (issue 5 §3).

``prioritise(store, year=…, budget_vnd=…)`` costs every unmet criterion of every xã in a
scope (``layers.gap_costs``: infrastructure evidence × the versioned cost model), flags
what money alone cannot close, scores and ranks the communes, and chooses the gaps to
fund within the budget (and the budgets per funding source) by an exact integer program
(``layers.prioritise_solver``), beside the greedy ranking baseline it never falls below.
It also says what the next budget step would add.

Only xã are planned (wards and townships are not NTM communes), as in the progress report.

Examples
--------
>>> plan = prioritise(store, year=2025, budget_vnd=200e9)  # doctest: +SKIP
>>> plan.summary["communes_reaching"], plan.summary["greedy"]["communes_reaching"]  # doctest: +SKIP
(9, 7)
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import admin_units, criteria, status
from ._errors import CriteriaError
from .cost_model import CostModel, CostModelError, default_cost_model, load_cost_model
from .gap_costs import gap_costs
from .gap_evidence import commune_evidence, road_classes_needed
from .prioritise_solver import OBJECTIVES, Problem, next_step, solve_greedy, solve_optimal, violations
from .store import Store

__all__ = ["DEFAULT_WEIGHTS", "METHODS", "OBJECTIVES", "PrioritiseParameterError", "PriorityPlan", "prioritise",
           "parse_weights", "parse_vnd", "funding_sources"]

log = logging.getLogger(__name__)

METHODS = ("optimal", "greedy")
# Weights of the ranking score (each part scaled to 0..1); ASSUMPTIONS a province may change.
DEFAULT_WEIGHTS = {"near_standard": 0.4, "population": 0.2, "extremely_difficult": 0.1, "cost_effectiveness": 0.3}


class PrioritiseParameterError(ValueError):
    """An argument that cannot be used; ``parameter`` is the name users type."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter


@dataclass
class PriorityPlan:
    """A funding plan and the evidence behind it (the interface the maps and scenario use).

    gaps: one row per commune × criterion not met: unit_code, name, parent_code,
    criterion, criterion_label_vi/_en, assessed, closable, cost_vnd (NaN when not
    closable), cost_basis/_en (the evidence), blocker/_en, funded, vnd_<source> per
    funding source. communes: one row per xã: unit_code, name, parent_code, n_met,
    n_total, n_unmet, n_no_data, n_closable, can_reach, closable_cost_vnd,
    cost_to_standard_vnd, population, extremely_difficult, score, rank, funded_cost_vnd,
    n_met_after, reaches_standard (after the plan; already-standard ones too),
    newly_reaching, already_standard. summary: see ``prioritise``. evidence: the
    commune evidence used (``layers.gap_evidence``), to pass to a next call.
    """

    year: int
    scope_code: str | None
    set_id: str
    objective: str
    method: str
    cost_model_version: str
    weights: dict
    gaps: pd.DataFrame
    communes: pd.DataFrame
    summary: dict
    evidence: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def funded(self) -> pd.DataFrame:
        return self.gaps[self.gaps["funded"]]

    def as_dict(self, *, gaps: str = "funded") -> dict:
        """JSON-ready: parameters, summary, communes and gaps ("funded", "all" or "none");
        NaN and NA as None."""
        if gaps not in ("funded", "all", "none"):
            raise PrioritiseParameterError("gaps", f"'gaps' must be funded, all or none, got {gaps!r}")

        def records(df: pd.DataFrame) -> list[dict]:
            return df.astype(object).where(df.notna(), None).to_dict("records")

        out = {"year": self.year, "scope": self.scope_code, "set_id": self.set_id, "objective": self.objective,
               "method": self.method, "cost_model_version": self.cost_model_version, "weights": self.weights,
               "summary": self.summary, "communes": records(self.communes)}
        if gaps != "none":
            out["gaps"] = records(self.funded if gaps == "funded" else self.gaps)
        return out


def funding_sources() -> list[str]:
    """Funding source codes of the vocabulary, in its order."""
    return list(admin_units.vocabulary()["funding_sources"])


def parse_weights(value) -> dict:
    """Weights from a mapping or text 'near_standard=0.5,population=0.2' (missing keys are 0
    when any is given); checked: known keys, numbers ≥ 0, not all 0. Returns them scaled to
    sum to 1."""
    if value is None:
        raw = dict(DEFAULT_WEIGHTS)
    elif isinstance(value, str):
        raw = {}
        for item in filter(None, (p.strip() for p in value.split(","))):
            key, sep, num = item.partition("=")
            if not sep:
                raise PrioritiseParameterError("weights", f"'weights': expected name=number pairs such as "
                                                          f"'near_standard=0.5,population=0.2', got {item!r}")
            try:
                raw[key.strip()] = float(num)
            except ValueError:
                raise PrioritiseParameterError("weights", f"'weights': {key.strip()!r} must be a number, "
                                                          f"got {num.strip()!r}") from None
    elif isinstance(value, Mapping):
        raw = dict(value)
    else:
        raise PrioritiseParameterError("weights", f"'weights' must be a mapping, got {type(value).__name__}")
    for key, num in raw.items():
        if key not in DEFAULT_WEIGHTS:
            raise PrioritiseParameterError("weights", f"'weights': unknown weight {key!r}; expected "
                                                      f"{', '.join(DEFAULT_WEIGHTS)}")
        if isinstance(num, bool) or not isinstance(num, (int, float, np.number)) or not math.isfinite(num) or num < 0:
            raise PrioritiseParameterError("weights", f"'weights': {key} must be a number ≥ 0, got {num!r}")
    total = float(sum(raw.values()))
    if not math.isfinite(total):
        raise PrioritiseParameterError("weights", "'weights': the weights are too large; use shares such as 0.4")
    if total <= 0:
        raise PrioritiseParameterError("weights", "'weights': at least one weight must be above 0")
    return {k: round(float(raw.get(k, 0.0)) / total, 6) for k in DEFAULT_WEIGHTS}


_VND_UNITS = {"": 1.0, "vnd": 1.0, "d": 1.0, "dong": 1.0, "ty": 1e9, "ti": 1e9, "trieu": 1e6, "tr": 1e6,
              "bn": 1e9, "m": 1e6}


def parse_vnd(text, parameter: str = "budget") -> float:
    """An amount of VND from a number or text: '50e9', '50000000000', '50 tỷ', '1,5 tỷ',
    '500 triệu', '50ty'. Raises PrioritiseParameterError naming ``parameter``.

    Examples
    --------
    >>> parse_vnd("50 tỷ"), parse_vnd("1,5 tỷ"), parse_vnd("500 triệu"), parse_vnd("2.5e9")
    (50000000000.0, 1500000000.0, 500000000.0, 2500000000.0)
    """
    if isinstance(text, (int, float, np.number)) and not isinstance(text, bool):
        return _money(parameter, float(text))
    from geo.text import ascii_fold

    raw = str(text).strip()
    clean = ascii_fold(raw).lower().replace("_", "").replace(" ", "")
    unit = ""
    for suffix in sorted(_VND_UNITS, key=len, reverse=True):
        if suffix and clean.endswith(suffix) and not clean[: -len(suffix)].endswith("e"):
            unit, clean = suffix, clean[: -len(suffix)]
            break
    if unit and clean.count(",") == 1 and "." not in clean:
        clean = clean.replace(",", ".")  # 1,5 tỷ
    try:
        value = float(clean) * _VND_UNITS[unit]
    except ValueError:
        raise PrioritiseParameterError(parameter, f"'{parameter}' must be an amount of VND such as 50e9, "
                                                  f"'50 tỷ' or '500 triệu', got {raw!r}") from None
    return _money(parameter, value)


def _money(parameter: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not math.isfinite(value) \
            or value < 0:
        raise PrioritiseParameterError(parameter, f"'{parameter}' must be an amount of VND ≥ 0, got {value!r}")
    return float(value)


def _check(store, year, scope, set_id, budget_vnd, budgets_by_source, objective, method, time_limit_s, cost_model):
    if isinstance(year, bool) or not isinstance(year, (int, np.integer)) or not 2000 <= int(year) <= 2100:
        raise PrioritiseParameterError("year", f"'year' must be a year from 2000 to 2100, got {year!r}")
    if scope is not None:
        level = admin_units.unit_level_of(store, str(scope))
        if level is None or level == "village":
            raise PrioritiseParameterError("scope", f"'scope' must be a province, district or commune code in the "
                                                    f"store, got {scope!r}")
    if objective not in OBJECTIVES:
        raise PrioritiseParameterError("objective", f"'objective' must be one of {', '.join(OBJECTIVES)}, "
                                                    f"got {objective!r}")
    if method not in METHODS:
        raise PrioritiseParameterError("method", f"'method' must be one of {', '.join(METHODS)}, got {method!r}")
    if isinstance(time_limit_s, bool) or not isinstance(time_limit_s, (int, float)) or not time_limit_s > 0:
        raise PrioritiseParameterError("time_limit", f"'time_limit_s' must be a number of seconds > 0, "
                                                     f"got {time_limit_s!r}")
    budget = None if budget_vnd is None else _money("budget", budget_vnd)
    by_source = None
    if budgets_by_source is not None:
        if not isinstance(budgets_by_source, Mapping):
            raise PrioritiseParameterError("budget_source", "'budgets_by_source' must map funding source codes "
                                                            "to VND")
        known = funding_sources()
        by_source = {}
        for code, amount in budgets_by_source.items():
            if code not in known:
                raise PrioritiseParameterError("budget_source", f"'budget_source': unknown funding source {code!r}; "
                                                                f"expected {', '.join(known)}")
            by_source[code] = _money("budget_source", amount)
    try:
        if cost_model is None:
            model = default_cost_model()
        elif isinstance(cost_model, CostModel):
            model = cost_model
        else:
            model = load_cost_model(Path(cost_model))
    except (CostModelError, FileNotFoundError) as exc:
        raise PrioritiseParameterError("cost_model", str(exc)) from exc
    try:
        cset = criteria.get_set(set_id) if set_id else status.set_for_status_year(store, int(year))
    except CriteriaError as exc:
        raise PrioritiseParameterError("set", f"'set': {exc}") from exc
    if cset.unit_level != "commune":
        raise PrioritiseParameterError("set", f"'set' must be a commune criteria set, '{cset.id}' is for "
                                              f"{cset.unit_level} level")
    try:
        model.check_set(cset.id)
    except CostModelError as exc:
        raise PrioritiseParameterError("set", str(exc)) from exc
    return int(year), cset, budget, by_source, model


def _communes(store: Store, summary: pd.DataFrame, year: int, scope) -> pd.DataFrame:
    units = admin_units.units_in_scope(store, scope, "commune", on=admin_units.year_end(year))
    info = units.drop_duplicates("code").set_index("code")
    xa = info.index[info["unit_type"] == "xa"]
    out = summary[summary["unit_code"].isin(xa)].reset_index(drop=True)
    edk = info["extremely_difficult"].reindex(out["unit_code"])
    out["extremely_difficult"] = edk.astype("boolean").fillna(False).to_numpy(dtype=bool)
    return out


def _score(c: pd.DataFrame, weights: dict) -> pd.DataFrame:
    near = c["n_met"] / c["n_total"]
    pop = c["population"].fillna(0.0)
    pop_part = pop / pop.max() if pop.max() > 0 else pop * 0.0
    per_criterion = c["closable_cost_vnd"] / c["n_closable"].where(c["n_closable"] > 0)
    best = per_criterion.min()
    ce = (best / per_criterion).fillna(0.0) if pd.notna(best) and best > 0 else per_criterion.notna().astype(float)
    parts = {"near_standard": near, "population": pop_part,
             "extremely_difficult": c["extremely_difficult"].astype(float), "cost_effectiveness": ce}
    score = sum(weights[k] * parts[k] for k in weights)
    c["score"] = np.where(c["already_standard"], np.nan, np.round(score.to_numpy(dtype=float), 6))
    ranked = c[~c["already_standard"]].sort_values(["score", "unit_code"], ascending=[False, True])
    rank = pd.Series(pd.NA, index=c.index, dtype="Int64")
    rank[ranked.index] = np.arange(1, len(ranked) + 1)
    c["rank"] = rank
    return c


def _problem(gaps: pd.DataFrame, parts: pd.DataFrame, communes: pd.DataFrame) -> tuple[Problem, np.ndarray]:
    """The optimiser's arrays, and the gap row of each item."""
    index = pd.Index(communes["unit_code"])
    rows = np.flatnonzero(gaps["closable"].to_numpy())
    item_of_row = np.full(len(gaps), -1)
    item_of_row[rows] = np.arange(len(rows))
    classes, class_idx = [], {}
    part_class = []
    for srcs in parts["sources"]:
        if srcs not in class_idx:
            class_idx[srcs] = len(classes)
            classes.append(srcs)
        part_class.append(class_idx[srcs])
    order = communes.sort_values("rank", na_position="last").index.to_numpy()
    p = Problem(item_cost=gaps["cost_vnd"].to_numpy(dtype=float)[rows],
                item_commune=index.get_indexer(gaps["unit_code"].to_numpy()[rows]),
                reachable=(communes["can_reach"] & ~communes["already_standard"]).to_numpy(dtype=bool),
                population=communes["population"].to_numpy(dtype=float), order=order,
                part_item=item_of_row[parts["gap"].to_numpy(dtype=int)] if len(parts) else np.zeros(0, int),
                part_class=np.asarray(part_class, dtype=int),
                part_cost=parts["cost_vnd"].to_numpy(dtype=float), classes=classes)
    return p, rows


def _allocate(gaps, parts, rows, p: Problem, sol, model: CostModel) -> pd.DataFrame:
    """vnd_<source> per gap: the solver's split per class pro rata, or the model's default split."""
    sources = funding_sources()
    alloc = np.zeros((len(gaps), len(sources)))
    col = {s: k for k, s in enumerate(sources)}
    if len(parts):
        part_funded = sol.funded[p.part_item]
        gap_rows = parts["gap"].to_numpy(dtype=int)
        if sol.class_alloc is not None:
            share = {}
            for k in range(len(p.classes)):
                got = {s: v for (kk, s), v in sol.class_alloc.items() if kk == k and v > 0}
                total = sum(got.values())
                share[k] = {s: v / total for s, v in got.items()} if total > 0 else {}
            for j in np.flatnonzero(part_funded):
                for s, w in share[int(p.part_class[j])].items():
                    alloc[gap_rows[j], col[s]] += p.part_cost[j] * w
        else:
            for j in np.flatnonzero(part_funded):
                comp = model.components[parts["component"].iat[j]]
                for s, w in comp.funding_sources.items():
                    alloc[gap_rows[j], col[s]] += p.part_cost[j] * w
    out = gaps.copy()
    funded = np.zeros(len(gaps), dtype=bool)
    funded[rows] = sol.funded
    out["funded"] = funded
    for s, k in col.items():
        out[f"vnd_{s}"] = np.round(alloc[:, k], 0)
    return out


def prioritise(store: Store, *, year: int, scope: str | None = None, set_id: str | None = None,
               budget_vnd: float | None = None, budgets_by_source: Mapping[str, float] | None = None,
               objective: str = "communes", weights: Mapping | str | None = None,
               cost_model: CostModel | str | Path | None = None, method: str = "optimal",
               time_limit_s: float = 60, use_stored_indicators: bool = True,
               evidence: pd.DataFrame | None = None) -> PriorityPlan:
    """Cost the gaps of a scope's xã and choose which to fund within the budget.

    Parameters
    ----------
    year, scope, set_id
        Assessment year (status of that year), province/district/commune code (None: the
        whole store), criteria set (default: the one in force in ``year``).
    budget_vnd, budgets_by_source
        Total budget (VND); budgets per funding source ({code: VND}, codes of
        vocabulary.yaml ``funding_sources``; a source not listed has no money). With only
        the split, the total is its sum. With neither, the budget is unlimited (every
        closable gap is funded: the cost of the whole programme).
    objective
        "communes" (communes reaching the standard), "criteria" (criteria gained) or
        "population" (population of communes reaching the standard).
    weights
        Ranking score weights (``DEFAULT_WEIGHTS`` keys), scaled to sum to 1.
    cost_model
        A CostModel or the path of a cost-model file (default: the shipped illustrative one).
    method
        "optimal" (integer program, HiGHS or CBC) or "greedy" (the ranking baseline).
    time_limit_s
        Solver time limit; a plan stopped by it says so in ``summary["status"]``.
    use_stored_indicators, evidence
        Take road km from stored indicators when complete for the year; or pass the
        evidence of an earlier plan (``plan.evidence``: same store, scope, year and cost
        model) to skip measuring it again.

    Returns
    -------
    PriorityPlan
        ``summary`` holds budget_vnd, spent_vnd, status, solve_seconds, communes_reaching
        (newly), criteria_gained, population_served, greedy {communes_reaching,
        criteria_gained, population_served, spent_vnd, seconds}, next_step {extra_vnd,
        extra_communes, units, dropped, status}, by_source {code: {budget, spent}} and the
        counts and timings behind them.

    Raises
    ------
    PrioritiseParameterError
        A bad argument; ``parameter`` names it (year, scope, set, budget, budget_source,
        objective, method, weights, cost_model, time_limit).
    """
    started = time.perf_counter()
    year, cset, budget, by_source, model = _check(store, year, scope, set_id, budget_vnd, budgets_by_source,
                                                  objective, method, time_limit_s, cost_model)
    w = parse_weights(weights)
    summary = status.criteria_summary(store, year, cset.id, scope_code=scope)
    communes = _communes(store, summary, year, scope)
    t_status = time.perf_counter() - started
    if evidence is None:
        evidence, ev_info = commune_evidence(store, year, scope, road_classes=road_classes_needed(model),
                                             grid_distance_m=model.grid_distance_m, use_stored=use_stored_indicators)
    else:
        ev_info = {"roads": "given", "seconds": {}}
    t_evidence = time.perf_counter() - started - t_status
    costs = gap_costs(communes, evidence, model, cset, year)
    gaps, parts = costs.gaps, costs.parts

    c = communes[["unit_code", "name", "parent_code", "n_met", "n_total"]].copy()
    c["n_unmet"] = (c["n_total"] - c["n_met"]).astype("int64")
    c["n_no_data"] = communes["no_data"].map(len).astype("int64")
    by_unit = gaps.groupby("unit_code")
    c["n_closable"] = by_unit["closable"].sum().reindex(c["unit_code"]).fillna(0).astype("int64").to_numpy()
    c["closable_cost_vnd"] = by_unit["cost_vnd"].sum().reindex(c["unit_code"]).fillna(0.0).to_numpy()
    c["already_standard"] = c["n_unmet"] == 0
    c["can_reach"] = (c["n_closable"] == c["n_unmet"]) & ~c["already_standard"]
    c["cost_to_standard_vnd"] = np.where(c["already_standard"], 0.0,
                                         np.where(c["can_reach"], c["closable_cost_vnd"], np.nan))
    c["population"] = evidence["population"].reindex(c["unit_code"]).to_numpy(dtype=float)
    c["extremely_difficult"] = communes["extremely_difficult"].to_numpy()
    c = _score(c, w)

    p, rows = _problem(gaps, parts, c)
    unlimited = budget is None and by_source is None
    run_budget = float(p.item_cost.sum()) if unlimited else budget
    if run_budget is None:  # only budgets per source: the total is their sum
        run_budget = float(sum(by_source.values()))
    greedy = solve_greedy(p, objective, budget_vnd=run_budget, budgets_by_source=by_source)
    if method == "optimal":
        sol = solve_optimal(p, objective, budget_vnd=run_budget, budgets_by_source=by_source,
                            time_limit_s=time_limit_s)
        key = {"communes": "communes_reaching", "criteria": "criteria_gained",
               "population": "population_served"}[objective]
        if p.values(sol.funded)[key] < p.values(greedy.funded)[key]:  # only when stopped by the time limit
            sol.note = (f"solver stopped ({sol.status}) below the greedy plan; the greedy plan is kept / "
                        "giữ phương án tham lam")
            sol = type(sol)(greedy.funded, greedy.class_alloc, sol.status, sol.seconds, "optimal", sol.solver,
                            sol.build_seconds, sol.note)
    else:
        sol = greedy
    broken = violations(p, sol, budget_vnd=run_budget, budgets_by_source=by_source)
    if broken:  # a solver tolerance or a bug must never pass as a plan
        raise RuntimeError("the plan breaks its budgets: " + "; ".join(broken))
    step = {"extra_vnd": None, "extra_communes": 0, "units": [], "dropped": [], "status": "none", "seconds": 0.0}
    if not unlimited:
        step = next_step(p, sol.funded, budget_vnd=run_budget, budgets_by_source=by_source,
                         time_limit_s=min(float(time_limit_s), 30.0))
        codes = c["unit_code"].to_numpy()
        step["units"] = [str(codes[i]) for i in step.pop("added", [])]
        step["dropped"] = [str(codes[i]) for i in step.get("dropped", [])]

    gaps = _allocate(gaps, parts, rows, p, sol, model)
    funded_cost = gaps[gaps["funded"]].groupby("unit_code")["cost_vnd"].sum()
    n_funded = gaps[gaps["funded"]].groupby("unit_code").size()
    c["funded_cost_vnd"] = funded_cost.reindex(c["unit_code"]).fillna(0.0).to_numpy()
    c["n_met_after"] = (c["n_met"] + n_funded.reindex(c["unit_code"]).fillna(0).to_numpy()).astype("int64")
    c["reaches_standard"] = c["n_met_after"] == c["n_total"]
    c["newly_reaching"] = c["reaches_standard"] & ~c["already_standard"]

    values = p.values(sol.funded)
    spent_by = {s: float(gaps[f"vnd_{s}"].sum()) for s in funding_sources()}
    out = {
        "budget_vnd": None if unlimited else float(run_budget),
        "spent_vnd": values["spent_vnd"], "status": sol.status, "method": method, "solver": sol.solver or None,
        "solve_seconds": round(sol.seconds, 4), "build_seconds": round(sol.build_seconds, 4),
        "communes_reaching": values["communes_reaching"], "criteria_gained": values["criteria_gained"],
        "population_served": values["population_served"],
        "greedy": {**p.values(greedy.funded), "seconds": round(greedy.seconds, 4)},
        "next_step": step,
        "by_source": {s: {"budget": None if by_source is None else by_source.get(s, 0.0), "spent": spent_by[s]}
                      for s in funding_sources()},
        "n_communes": int(len(c)), "n_already_standard": int(c["already_standard"].sum()),
        "n_can_reach": int(c["can_reach"].sum()), "n_gaps": int(len(gaps)),
        "n_closable_gaps": int(gaps["closable"].sum()),
        "cost_all_closable_vnd": float(np.nansum(gaps["cost_vnd"])),
        "cost_all_reachable_vnd": float(np.nansum(c["cost_to_standard_vnd"])),
        "unlimited_budget": unlimited, "note": sol.note,
        "cost_model": {"version": model.version, "status": model.status, "date": model.date, "source": model.source},
        "evidence": ev_info,
        "seconds": {"status": round(t_status, 3), "evidence": round(t_evidence, 3),
                    "total": round(time.perf_counter() - started, 3)},
    }
    log.info("prioritise %s %s: %d communes reach (greedy %d), spent %.0f of %s", scope or "(all)", year,
             out["communes_reaching"], out["greedy"]["communes_reaching"], out["spent_vnd"], out["budget_vnd"])
    return PriorityPlan(year=year, scope_code=scope, set_id=cset.id, objective=objective, method=method,
                        cost_model_version=model.version, weights=w, gaps=gaps, communes=c, summary=out,
                        evidence=evidence)

"""Which commune-criterion gaps to fund within a budget: exact integer programs and greedy.

The problem (``Problem``): closable gaps (items) with a cost, each in one commune; a
commune reaches the standard when every one of its gaps is funded (only communes whose
every unmet criterion is closable can). Each item's cost is made of parts, one per cost
component, and a part may only be paid by the funding sources its component allows.

Money rows shared by the programs (PuLP; HiGHS, CBC as fallback), in million VND:

    Σ cost x ≤ B                                                        (total budget)
    a_{E,s} ≥ 0: money of source s for the parts whose allowed sources are the set E
    Σ_s a_{E,s} = Σ parts of class E funded;   Σ_E a_{E,s} ≤ B_s          (per source)

Allocation variables are per eligibility class E (a handful), not per gap: the parts of
one class are interchangeable, so an allocation exists per class exactly when one exists
per gap, and each funded part takes its class's split pro rata.

- "communes" / "population": one binary per commune that can reach the standard (its
  whole package of gaps); maximise the communes (or their population), ties to the
  cheaper set; then the money left goes to the cheapest remaining gaps (more criteria).
- "criteria": one binary per gap, plus per reachable commune y ≤ x of its gaps as a
  tie-break (prefer whole communes).
- next budget step: the commune program minimising new money e (usable by any part) so
  that one more commune reaches the standard.

Tie-breaks weigh less than one unit of the primary objective in total, and the solver
stops at an absolute gap of 0.5: the primary value (an integer) is proven optimal.

Greedy baseline: communes in priority order, each funded whole if it fits, then the
cheapest remaining gaps; sources paid from the one with most money left. Its plans are
feasible for the programs, so the proven optimum is never below it (``violations``
checks any plan against the budgets).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import pulp

__all__ = ["OBJECTIVES", "Problem", "Solution", "solve_optimal", "solve_greedy", "next_step", "solver_name",
           "violations"]

log = logging.getLogger(__name__)

OBJECTIVES = ("communes", "criteria", "population")
SCALE = 1e6  # the program counts money in million VND (triệu đồng): coefficients near 1e3-1e5
_TIE_BREAK = 0.49  # total weight of the tie-break, < 1 - ABS_GAP
ABS_GAP = 0.5


@dataclass
class Problem:
    """Arrays describing the gaps that money can close (see the module docstring).

    item_cost: VND per closable gap; item_commune: index of its commune;
    reachable: per commune, True when all its gaps are closable (and it has some);
    population: per commune (NaN counts as 0); order: commune indices, greedy priority;
    part_item / part_class / part_cost: the cost parts and their eligibility class;
    classes: per class the sorted tuple of sources allowed to pay.
    """

    item_cost: np.ndarray
    item_commune: np.ndarray
    reachable: np.ndarray
    population: np.ndarray
    order: np.ndarray
    part_item: np.ndarray
    part_class: np.ndarray
    part_cost: np.ndarray
    classes: list[tuple[str, ...]]

    @property
    def n_items(self) -> int:
        return len(self.item_cost)

    @property
    def n_communes(self) -> int:
        return len(self.reachable)

    def reaching(self, funded: np.ndarray) -> np.ndarray:
        """Per commune: reachable and every gap funded."""
        unfunded = np.bincount(self.item_commune[~funded], minlength=self.n_communes)
        return self.reachable & (unfunded == 0)

    def values(self, funded: np.ndarray) -> dict:
        reach = self.reaching(funded)
        return {"communes_reaching": int(reach.sum()), "criteria_gained": int(funded.sum()),
                "population_served": int(np.nan_to_num(self.population)[reach].sum()),
                "spent_vnd": float(self.item_cost[funded].sum())}


@dataclass
class Solution:
    funded: np.ndarray  # bool per item
    class_alloc: dict[tuple[int, str], float] | None  # (class, source) -> VND; None without source budgets
    status: str
    seconds: float
    method: str
    solver: str = ""
    build_seconds: float = 0.0
    note: str = ""
    extra: dict = field(default_factory=dict)


@functools.cache
def solver_name() -> str:
    """'HiGHS' when highspy is importable, else 'CBC' (PuLP's bundled solver)."""
    return "HiGHS" if pulp.HiGHS().available() else "CBC"


@functools.cache
def _silence_highs_banner() -> None:
    """HiGHS prints a copyright banner on stdout when the process makes its first solver
    object, whatever the options; make that first object with stdout closed so the CLI's
    output (tables, JSON) stays clean."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _solver(time_limit_s: float, *, gap_abs: float | None, gap_rel: float | None):
    if solver_name() == "HiGHS":
        _silence_highs_banner()
        return pulp.HiGHS(msg=False, timeLimit=time_limit_s, gapAbs=gap_abs, gapRel=gap_rel, threads=1)
    return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s, gapAbs=gap_abs, gapRel=gap_rel)


def _budgets(total: float | None, by_source: dict[str, float] | None) -> tuple[float | None, dict | None]:
    if total is None and by_source:
        total = float(sum(by_source.values()))
    return total, by_source


def _money_rows(prob, spend: list[tuple], by_class: dict[int, list[tuple]], p: Problem, total: float | None,
                by_source: dict | None, extra=None) -> dict:
    """Budget rows: Σ spend ≤ total (+ extra); per class, allocation variables of the
    sources with money (+ an 'extra' pool) paying its parts; per source Σ ≤ its budget.
    ``spend`` and ``by_class`` hold (variable, million VND) pairs. Returns the allocation
    variables {(class, source): var}."""
    if total is not None:
        money = pulp.LpAffineExpression(spend)
        prob += (money <= total / SCALE + extra) if extra is not None else (money <= total / SCALE), "budget"
    alloc = {}
    if by_source is None:
        return alloc
    for k, cls in enumerate(p.classes):
        for s in cls:
            if by_source.get(s, 0) > 0:
                alloc[(k, s)] = prob.add_variable(f"a{k}_{s}", lowBound=0)
        if extra is not None:
            alloc[(k, "_extra")] = prob.add_variable(f"a{k}__extra", lowBound=0)
        need = pulp.LpAffineExpression([(v, -c) for v, c in by_class.get(k, [])])
        prob += pulp.lpSum(v for (kk, _), v in alloc.items() if kk == k) + need == 0, f"class{k}"
    for s in sorted({ss for _, ss in alloc}):
        terms = [v for (_, ss), v in alloc.items() if ss == s]
        if s == "_extra":
            prob += pulp.lpSum(terms) <= extra, "extra_pool"
        else:
            prob += pulp.lpSum(terms) <= by_source[s] / SCALE, f"source_{s}"
    return alloc


def _item_model(p: Problem, total, by_source):
    """Criteria gained: x per gap, y per reachable commune (y ≤ x of its gaps) as tie-break."""
    prob = pulp.LpProblem("ntm_prioritise_criteria", pulp.LpMaximize)
    x = [prob.add_variable(f"x{i}", cat=pulp.LpBinary) for i in range(p.n_items)]
    y = {int(c): prob.add_variable(f"y{c}", cat=pulp.LpBinary) for c in np.flatnonzero(p.reachable)}
    for i, c in enumerate(p.item_commune.tolist()):
        if c in y:
            prob += pulp.LpAffineExpression([(y[c], 1.0), (x[i], -1.0)]) <= 0
    cost = (p.item_cost / SCALE).tolist()
    sums: dict[int, dict[int, float]] = {}  # class -> item -> cost: parts of one class in a gap add up
    for i, k, c in zip(p.part_item.tolist(), p.part_class.tolist(), (p.part_cost / SCALE).tolist()):
        sums.setdefault(k, {})[i] = sums.get(k, {}).get(i, 0.0) + c
    by_class = {k: [(x[i], c) for i, c in items.items()] for k, items in sums.items()}
    alloc = _money_rows(prob, list(zip(x, cost)), by_class, p, total, by_source)
    eps = _TIE_BREAK / max(1, len(y))
    prob += pulp.LpAffineExpression([(v, 1.0) for v in x] + [(v, eps) for v in y.values()])
    return prob, x, alloc


def _packages(p: Problem):
    """Per reachable commune: the cost of all its gaps and of their parts per class."""
    communes = np.flatnonzero(p.reachable)
    cost = np.bincount(p.item_commune, weights=p.item_cost, minlength=p.n_communes)
    part_commune = p.item_commune[p.part_item]
    by_class = {}
    for k in range(len(p.classes)):
        sel = p.part_class == k
        by_class[k] = np.bincount(part_commune[sel], weights=p.part_cost[sel], minlength=p.n_communes)
    return communes, cost, by_class


def _package_model(p: Problem, objective: str, total, by_source, *, extra: bool = False, at_least: int = 0):
    """Whole communes: z per reachable commune funds all its gaps. Maximise communes (or
    their population), tie-break: the cheaper set; with ``extra``: minimise the new money
    with which at least ``at_least`` communes reach."""
    communes, cost, by_class = _packages(p)
    prob = pulp.LpProblem("ntm_prioritise_packages", pulp.LpMinimize if extra else pulp.LpMaximize)
    z = {int(c): prob.add_variable(f"z{c}", cat=pulp.LpBinary) for c in communes}
    e = prob.add_variable("extra", lowBound=0) if extra else None
    spend = [(z[c], cost[c] / SCALE) for c in z]
    parts = {k: [(z[c], w[c] / SCALE) for c in z if w[c] > 0] for k, w in by_class.items()}
    alloc = _money_rows(prob, spend, parts, p, total, by_source, extra=e)
    if extra:
        prob += pulp.lpSum(z.values()) >= at_least, "at_least"
        prob += e
        return prob, z, alloc, e
    weight = np.ones(p.n_communes) if objective == "communes" else \
        np.round(np.nan_to_num(p.population)).astype(float)
    eps = _TIE_BREAK / max(1.0, float(cost[communes].sum()) / SCALE)
    prob += pulp.LpAffineExpression([(z[c], weight[c] - eps * cost[c] / SCALE) for c in z])
    return prob, z, alloc, None


def _status(prob) -> str:
    status = pulp.LpStatus.get(prob.status, str(prob.status))
    model = getattr(prob, "solverModel", None)
    if status == "Optimal" and model is not None and hasattr(model, "getModelStatus"):
        import highspy

        code = model.getModelStatus()
        if code != highspy.HighsModelStatus.kOptimal:  # stopped (time limit) with an incumbent
            status = model.modelStatusToString(code)
    return status


def _values(alloc: dict) -> dict[tuple[int, str], float]:
    return {key: max(0.0, v.varValue or 0.0) * SCALE for key, v in alloc.items()}


def _fill(p: Problem, funded: np.ndarray, total, by_source, class_alloc) -> dict | None:
    """Spend what is left on the cheapest remaining gaps (the tie-break of whole-commune
    plans), paying from the sources' leftovers; returns the merged class allocation."""
    spent = float(p.item_cost[funded].sum())
    left_src = None
    if by_source is not None:
        used: dict[str, float] = {}
        for (_, s), v in (class_alloc or {}).items():
            used[s] = used.get(s, 0.0) + v
        left_src = {s: max(0.0, b - used.get(s, 0.0)) for s, b in by_source.items()}
    purse = _Purse(p, None if total is None else total - spent, left_src)
    for i in np.argsort(p.item_cost, kind="stable").tolist():
        if not funded[i] and purse.pay([i]):
            funded[i] = True
    if by_source is None:
        return None
    merged = dict(class_alloc or {})
    for key, v in purse.class_alloc.items():
        merged[key] = merged.get(key, 0.0) + v
    return merged


def solve_optimal(p: Problem, objective: str, *, budget_vnd: float | None, budgets_by_source: dict | None,
                  time_limit_s: float = 60) -> Solution:
    """The proven-optimal plan (or the best found within ``time_limit_s``, status says).

    "criteria": one program over the gaps. "communes" / "population": a program over
    whole communes (which communes reach the standard; ties to the cheaper set), then
    the money left goes to the cheapest remaining gaps.
    """
    total, by_source = _budgets(budget_vnd, budgets_by_source)
    started = time.perf_counter()
    if p.n_items == 0:
        return Solution(np.zeros(0, dtype=bool), {} if by_source is not None else None, "Optimal", 0.0, "optimal",
                        solver_name())
    funded = np.zeros(p.n_items, dtype=bool)
    if objective == "criteria":
        prob, x, alloc = _item_model(p, total, by_source)
    else:
        prob, z, alloc, _ = _package_model(p, objective, total, by_source)
    built = time.perf_counter() - started
    if prob.numVariables():
        prob.solve(_solver(time_limit_s, gap_abs=ABS_GAP, gap_rel=0.0))
        status = _status(prob)
    else:
        status = "Optimal"
    if objective == "criteria":
        funded[:] = [(v.varValue or 0) > 0.5 for v in x]
        class_alloc = _values(alloc) if by_source is not None else None
    else:
        chosen = [c for c, v in z.items() if (v.varValue or 0) > 0.5]
        funded[np.isin(p.item_commune, chosen)] = True
        class_alloc = _fill(p, funded, total, by_source, _values(alloc) if by_source is not None else None)
    return Solution(funded, class_alloc, status, time.perf_counter() - started, "optimal", solver_name(),
                    build_seconds=built)


# --- greedy ---------------------------------------------------------------------------


class _Purse:
    """Money left, in total and per source; pays a set of parts or refuses them whole."""

    def __init__(self, p: Problem, total: float | None, by_source: dict | None):
        self.p, self.total, self.by_source = p, total, (dict(by_source) if by_source is not None else None)
        self.class_alloc: dict[tuple[int, str], float] = {}
        self._parts_of = {}
        order = np.argsort(p.part_item, kind="stable")
        items, starts = np.unique(p.part_item[order], return_index=True)
        bounds = np.append(starts, len(order))
        for k, item in enumerate(items.tolist()):
            self._parts_of[item] = order[bounds[k]:bounds[k + 1]]

    def pay(self, items: list[int]) -> bool:
        cost = float(self.p.item_cost[items].sum())
        if self.total is not None and cost > self.total + 1e-6:
            return False
        plan: list[tuple[int, str, float]] = []
        if self.by_source is not None:
            left = dict(self.by_source)
            for item in items:
                for part in self._parts_of.get(item, ()):
                    k, amount = int(self.p.part_class[part]), float(self.p.part_cost[part])
                    for s in sorted(self.p.classes[k], key=lambda s: -left.get(s, 0.0)):
                        take = min(amount, left.get(s, 0.0))
                        if take > 0:
                            left[s] -= take
                            amount -= take
                            plan.append((k, s, take))
                        if amount <= 1e-6:
                            break
                    if amount > 1e-6:
                        return False
            self.by_source = left
        if self.total is not None:
            self.total -= cost
        for k, s, take in plan:
            self.class_alloc[(k, s)] = self.class_alloc.get((k, s), 0.0) + take
        return True


def solve_greedy(p: Problem, objective: str, *, budget_vnd: float | None, budgets_by_source: dict | None) -> Solution:
    """The ranking baseline: see the module docstring. ``objective`` "criteria" funds the
    cheapest gaps first; otherwise whole communes in ``p.order`` ("population": by
    population per VND), then the cheapest gaps with what is left."""
    started = time.perf_counter()
    total, by_source = _budgets(budget_vnd, budgets_by_source)
    purse = _Purse(p, total, by_source)
    funded = np.zeros(p.n_items, dtype=bool)
    items_of: dict[int, list[int]] = {}
    for i, c in enumerate(p.item_commune.tolist()):
        items_of.setdefault(c, []).append(i)
    if objective != "criteria":
        order = [int(c) for c in p.order if p.reachable[c]]
        if objective == "population":
            package = np.bincount(p.item_commune, weights=p.item_cost, minlength=p.n_communes)
            per_vnd = np.nan_to_num(p.population) / np.maximum(package, 1.0)
            order = sorted(order, key=lambda c: -per_vnd[c])
        for c in order:
            items = items_of.get(c, [])
            if items and purse.pay(items):
                funded[items] = True
    for i in np.argsort(p.item_cost, kind="stable").tolist():
        if not funded[i] and purse.pay([i]):
            funded[i] = True
    return Solution(funded, purse.class_alloc if by_source is not None else None, "Heuristic",
                    time.perf_counter() - started, "greedy")


def next_step(p: Problem, current: np.ndarray, *, budget_vnd: float | None, budgets_by_source: dict | None,
              time_limit_s: float = 30) -> dict:
    """The least extra money (usable by any component) with which one more commune can
    reach the standard than in plan ``current``, and which communes that plan adds (and
    drops, when the cheaper way is another set)."""
    total, by_source = _budgets(budget_vnd, budgets_by_source)
    reach_now = p.reaching(current)
    k = int(reach_now.sum())
    out = {"extra_vnd": None, "extra_communes": 0, "added": [], "dropped": [], "status": "none", "seconds": 0.0}
    if total is None or k >= int(p.reachable.sum()):
        return out
    started = time.perf_counter()
    prob, z, _, e = _package_model(p, "communes", total, by_source, extra=True, at_least=k + 1)
    prob.solve(_solver(time_limit_s, gap_abs=1e-3, gap_rel=1e-9))
    out["status"] = _status(prob)
    out["seconds"] = time.perf_counter() - started
    if out["status"] != "Optimal":
        return out
    reach = np.zeros(p.n_communes, dtype=bool)
    reach[[c for c, v in z.items() if (v.varValue or 0) > 0.5]] = True
    out.update(extra_vnd=float(round((e.varValue or 0.0) * SCALE)), extra_communes=int(reach.sum()) - k,
               added=np.flatnonzero(reach & ~reach_now).tolist(), dropped=np.flatnonzero(reach_now & ~reach).tolist())
    return out


def violations(p: Problem, sol: Solution, *, budget_vnd: float | None, budgets_by_source: dict | None,
               tolerance_vnd: float = 1000.0) -> list[str]:
    """What a plan breaks (empty when feasible): the total, a source's budget, a class's
    parts not covered by its allocation, or money from a source its parts may not use."""
    total, by_source = _budgets(budget_vnd, budgets_by_source)
    out = []
    spent = float(p.item_cost[sol.funded].sum())
    if total is not None and spent > total + tolerance_vnd:
        out.append(f"spent {spent:,.0f} VND > budget {total:,.0f} VND")
    if by_source is None:
        return out
    alloc = sol.class_alloc or {}
    funded_parts = sol.funded[p.part_item]
    for k, cls in enumerate(p.classes):
        need = float(p.part_cost[funded_parts & (p.part_class == k)].sum())
        got = sum(v for (kk, _), v in alloc.items() if kk == k)
        if abs(need - got) > tolerance_vnd:
            out.append(f"class {cls}: parts cost {need:,.0f} VND, allocated {got:,.0f} VND")
        for (kk, s), v in alloc.items():
            if kk == k and s not in cls and v > tolerance_vnd:
                out.append(f"class {cls}: {v:,.0f} VND from {s}, which may not pay it")
    used: dict[str, float] = {}
    for (_, s), v in alloc.items():
        used[s] = used.get(s, 0.0) + v
    for s, v in used.items():
        if v > by_source.get(s, 0.0) + tolerance_vnd:
            out.append(f"source {s}: {v:,.0f} VND > budget {by_source.get(s, 0.0):,.0f} VND")
    return out

"""A PriorityPlan-shaped object built by hand, for the scenario and prioritisation-map tests.

It has the columns of the contract of ``layers.prioritise.PriorityPlan`` (gaps,
communes, summary, ``funded``) without running the optimiser, so the page, figure and
scenario can be checked against numbers chosen here:

- every unmet criterion of the base year is a gap; criteria 10 (income) and 11
  (poverty) are not closable by money ("blocker" says so), every other gap costs
  ``COST_BN[criterion]`` billion VND (1 + criterion / 10, so criterion 2 costs 1.2 bn);
- a commune is funded whole (all its closable gaps) in order of n_unmet then code, while
  the budget lasts; 70 % of each funded cost comes from central_investment, 30 % from
  community.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from layers import admin_units, criteria, status

BLOCKED = {10: "Thu nhập bình quân đầu người phụ thuộc sản xuất, không chỉ vốn đầu tư",
           11: "Tỷ lệ hộ nghèo đa chiều: cần giảm nghèo bền vững, không chỉ vốn đầu tư"}
SOURCES = {"central_investment": 0.7, "community": 0.3}


def cost_vnd(criterion: int) -> float:
    return (1 + criterion / 10) * 1e9


@dataclass
class FakePlan:
    year: int
    scope_code: str | None
    set_id: str
    objective: str
    method: str
    cost_model_version: str
    weights: dict
    gaps: pd.DataFrame
    communes: pd.DataFrame
    summary: dict = field(default_factory=dict)

    @property
    def funded(self) -> pd.DataFrame:
        return self.gaps[self.gaps["funded"]]


def build_plan(store, *, year: int, scope_code: str | None, budget_vnd: float, names: dict | None = None) -> FakePlan:
    """The plan described in the module docstring; ``names`` overrides commune names (hostile-name tests)."""
    cset = criteria.set_for_year(year)
    units = admin_units.units_in_scope(store, scope_code, "commune", on=admin_units.year_end(year))
    units = units[units["unit_type"] == "xa"].sort_values("code")
    names = {**dict(zip(units["code"], units["name"])), **(names or {})}
    st = status.status_by_year(store, cset.id, [year])
    st = st[st["unit_code"].isin(units["code"]) & st["met"].notna()]
    labels = {c.number: c.name_vi for c in cset.criteria}
    rows = []
    for r in st[~st["met"].astype(bool)].sort_values(["unit_code", "criterion"]).itertuples():
        n = int(r.criterion)
        closable = n not in BLOCKED
        rows.append({"unit_code": r.unit_code, "name": names[r.unit_code],
                     "parent_code": units.set_index("code").loc[r.unit_code, "parent_code"], "criterion": n,
                     "criterion_label_vi": labels[n], "closable": closable,
                     "cost_vnd": cost_vnd(n) if closable else np.nan,
                     "cost_basis": f"{labels[n]}: đơn giá thử {cost_vnd(n) / 1e9:.1f} tỷ" if closable else "",
                     "blocker": "" if closable else BLOCKED[n], "funded": False})
    gaps = pd.DataFrame(rows)
    met = st[st["met"].astype(bool)].groupby("unit_code").size()
    assessed = st.groupby("unit_code").size()
    com = units[["code", "name", "parent_code", "extremely_difficult"]].rename(columns={"code": "unit_code"})
    com = com[com["unit_code"].isin(assessed.index)].copy()
    com["name"] = com["unit_code"].map(names)
    com["n_total"] = len(cset)
    com["n_met"] = com["unit_code"].map(met).fillna(0).astype(int)
    com["n_unmet"] = com["unit_code"].map(assessed).astype(int) - com["n_met"]
    g = gaps.groupby("unit_code")
    com["n_closable"] = com["unit_code"].map(g["closable"].sum()).fillna(0).astype(int)
    com["cost_to_standard_vnd"] = com["unit_code"].map(g["cost_vnd"].sum(min_count=1))
    com.loc[com["n_closable"] < com["n_unmet"], "cost_to_standard_vnd"] = np.nan
    com["population"] = 1000
    com["extremely_difficult"] = com["extremely_difficult"].fillna(False).astype(bool)
    com["already_standard"] = com["n_unmet"] == 0
    left = float(budget_vnd)
    for r in com[com["n_closable"] > 0].sort_values(["n_unmet", "unit_code"]).itertuples():
        mine = (gaps["unit_code"] == r.unit_code) & gaps["closable"]
        cost = float(gaps.loc[mine, "cost_vnd"].sum())
        if cost <= left:
            gaps.loc[mine, "funded"] = True
            left -= cost
    for code, share in SOURCES.items():
        gaps[f"vnd_{code}"] = np.where(gaps["funded"], gaps["cost_vnd"] * share, 0.0)
    f = gaps[gaps["funded"]].groupby("unit_code")
    com["funded_cost_vnd"] = com["unit_code"].map(f["cost_vnd"].sum()).fillna(0.0)
    com["n_met_after"] = com["n_met"] + com["unit_code"].map(f.size()).fillna(0).astype(int)
    com["reaches_standard"] = (com["n_met_after"] == com["n_total"]) & ~com["already_standard"]
    com["score"] = com["n_met"] / com["n_total"]
    com["rank"] = com["score"].rank(ascending=False, method="first").astype(int)
    spent = budget_vnd - left
    reaching = int(com["reaches_standard"].sum())
    gained = int(gaps["funded"].sum())
    summary = {"budget_vnd": float(budget_vnd), "spent_vnd": spent, "status": "Optimal", "solve_seconds": 0.01,
               "communes_reaching": reaching, "criteria_gained": gained,
               "population_served": int(com.loc[com["reaches_standard"], "population"].sum()),
               "greedy": {"communes_reaching": max(reaching - 1, 0), "criteria_gained": gained,
                          "population_served": 1000 * max(reaching - 1, 0), "spent_vnd": spent},
               "next_step": {"extra_vnd": 2.5e9, "extra_communes": 1,
                             "units": com.loc[~com["reaches_standard"] & (com["n_closable"] == com["n_unmet"])
                                              & ~com["already_standard"], "unit_code"].head(1).tolist()},
               "by_source": {code: {"budget": budget_vnd * share, "spent": spent * share}
                             for code, share in SOURCES.items()}}
    return FakePlan(year, scope_code, cset.id, "communes", "optimal", "test-1",
                    {"near_standard": 1.0}, gaps, com.reset_index(drop=True), summary)

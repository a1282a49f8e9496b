"""Prioritisation under a budget: a hand-solved problem, budgets per source, the greedy
baseline never above the optimum, non-closable criteria, the demo province."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from _prioritise_store import ROAD_KM, build_prioritise_store, tiny_cost_model
from layers.prioritise import PrioritiseParameterError, parse_weights, prioritise
from layers.prioritise_solver import Problem, next_step, solve_greedy, solve_optimal, violations
from layers.store import Store

BY_POPULATION = {"population": 1}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return Store(build_prioritise_store(tmp_path_factory.mktemp("prioritise") / "tiny.gpkg"))


@pytest.fixture(scope="module")
def model():
    return tiny_cost_model()


def plan(store, model, **kw):
    kw.setdefault("year", 2025)
    kw.setdefault("weights", BY_POPULATION)
    return prioritise(store, cost_model=model, **kw)


# --- the hand-solved problem ----------------------------------------------------------


def test_optimum_beats_greedy_on_the_hand_solved_problem(tiny, model):
    p = plan(tiny, model, budget_vnd=10e9)
    s = p.summary
    assert (s["status"], s["communes_reaching"], s["spent_vnd"]) == ("Optimal", 2, 10e9)
    assert sorted(p.communes.loc[p.communes["newly_reaching"], "unit_code"]) == ["X-02", "X-03"]
    assert sorted(p.funded["unit_code"]) == ["X-02", "X-03"]
    g = s["greedy"]
    assert (g["communes_reaching"], g["population_served"]) == (1, 9000)  # X-01 first, by population
    assert g["spent_vnd"] == pytest.approx(6e9 + ROAD_KM * 3.5e9, rel=2e-3)  # and X-04's road with the rest
    assert s["next_step"]["extra_vnd"] == 6e9 and s["next_step"]["units"] == ["X-01"]
    assert s["next_step"]["extra_communes"] == 1 and s["next_step"]["dropped"] == []


def test_greedy_method_returns_the_ranking_plan(tiny, model):
    p = plan(tiny, model, budget_vnd=10e9, method="greedy")
    assert p.summary["communes_reaching"] == 1 and p.summary["status"] == "Heuristic"
    assert set(p.funded["unit_code"]) == {"X-01", "X-04"}
    assert list(p.communes.sort_values("rank")["unit_code"][:2]) == ["X-01", "X-04"]


def test_road_gap_is_costed_from_its_length(tiny, model):
    p = plan(tiny, model, budget_vnd=0)
    road = p.gaps[(p.gaps["unit_code"] == "X-04") & (p.gaps["criterion"] == 2)].iloc[0]
    assert road["closable"] and road["cost_vnd"] == pytest.approx(ROAD_KM * 3.5e9, rel=2e-3)
    assert road["cost_basis"] == "1,1 km đường trục xã, liên xã chưa cứng hoá × 3,5 tỷ/km"
    assert road["cost_basis_en"] == "1.1 km commune road not hardened × 3.5 bn VND/km"
    flat = p.gaps[p.gaps["unit_code"] == "X-01"].iloc[0]
    assert flat["cost_vnd"] == 6e9 and flat["cost_basis"] == "gói lập, điều chỉnh quy hoạch chung xã: 6 tỷ/xã"


def test_non_closable_criteria_carry_the_blocker(tiny, model):
    p = plan(tiny, model, budget_vnd=100e9)
    income = p.gaps[(p.gaps["unit_code"] == "X-04") & (p.gaps["criterion"] == 10)].iloc[0]
    assert not income["closable"] and math.isnan(income["cost_vnd"]) and not income["funded"]
    assert income["blocker"].startswith("Thu nhập") and income["blocker_en"].startswith("Income")
    c = p.communes.set_index("unit_code")
    assert not c.at["X-04", "can_reach"] and math.isnan(c.at["X-04", "cost_to_standard_vnd"])
    assert c.at["X-04", "n_met_after"] == 18 and not c.at["X-04", "reaches_standard"]  # the road is funded
    assert c.at["X-05", "already_standard"] and c.at["X-05", "reaches_standard"] and pd_na(c.at["X-05", "rank"])
    assert "W-06" not in c.index  # wards are not planned
    assert p.summary["communes_reaching"] == 3 and p.summary["n_can_reach"] == 3


def pd_na(value) -> bool:
    import pandas as pd

    return value is pd.NA


def test_objectives(tiny, model):
    crit = plan(tiny, model, budget_vnd=10e9, objective="criteria")
    assert crit.summary["criteria_gained"] == 2 and crit.summary["communes_reaching"] == 2  # tie: whole communes
    pop = plan(tiny, model, budget_vnd=10e9, objective="population")
    assert pop.summary["population_served"] == 9000 and pop.summary["communes_reaching"] == 1
    assert pop.communes.set_index("unit_code").at["X-01", "newly_reaching"]


def test_budgets_per_source_are_respected(tiny, model):
    # only integrated money: of the packages, only irrigation may use it; the road may too
    p = plan(tiny, model, budgets_by_source={"integrated": 10e9})
    assert p.summary["budget_vnd"] == 10e9 and p.summary["communes_reaching"] == 1
    funded = p.funded.set_index(["unit_code", "criterion"])
    assert set(funded.index) == {("X-02", 3), ("X-04", 2)}
    assert funded.at[("X-02", 3), "vnd_integrated"] == 5e9
    assert p.summary["by_source"]["integrated"]["spent"] == pytest.approx(5e9 + ROAD_KM * 3.5e9, rel=2e-3)
    assert p.summary["by_source"]["central_recurrent"] == {"budget": 0.0, "spent": 0.0}
    money = [c for c in p.gaps.columns if c.startswith("vnd_")]
    assert np.allclose(p.funded[money].sum(axis=1), p.funded["cost_vnd"], rtol=1e-6)
    assert p.summary["next_step"]["extra_vnd"] == 5e9  # new money for X-03's ICT package


def test_a_total_cap_below_the_split(tiny, model):
    p = plan(tiny, model, budget_vnd=6e9, budgets_by_source={"central_recurrent": 6e9, "integrated": 5e9})
    assert p.summary["communes_reaching"] == 1 and p.summary["spent_vnd"] <= 6e9
    assert p.summary["by_source"]["central_recurrent"]["spent"] <= 6e9


def test_zero_and_tiny_budgets_fund_nothing(tiny, model):
    for budget in (0, 1e9):
        p = plan(tiny, model, budget_vnd=budget)
        assert p.summary["status"] == "Optimal" and p.summary["communes_reaching"] == 0
        assert p.summary["spent_vnd"] == 0 and not p.gaps["funded"].any()
        step = p.summary["next_step"]
        assert step["extra_vnd"] == 5e9 - budget and step["extra_communes"] == 1
        assert step["units"][0] in ("X-02", "X-03")


def test_no_budget_prices_the_whole_programme(tiny, model):
    p = plan(tiny, model)
    s = p.summary
    assert s["budget_vnd"] is None and s["unlimited_budget"] and s["communes_reaching"] == 3
    assert s["cost_all_reachable_vnd"] == 16e9
    assert s["spent_vnd"] == pytest.approx(16e9 + ROAD_KM * 3.5e9, rel=2e-3)
    assert s["next_step"]["extra_vnd"] is None
    # default split of the model without budgets per source: planning 60 % recurrent, 40 % local
    x1 = p.funded.set_index("unit_code").loc["X-01"]
    assert (x1["vnd_central_recurrent"], x1["vnd_local_budget"]) == (3.6e9, 2.4e9)


@pytest.mark.parametrize("kwargs, parameter", [
    ({"year": 1990}, "year"), ({"scope": "NOPE"}, "scope"), ({"scope": "X-01-V"}, "scope"),
    ({"objective": "votes"}, "objective"), ({"method": "random"}, "method"),
    ({"budget_vnd": -1}, "budget"), ({"budget_vnd": float("nan")}, "budget"),
    ({"budgets_by_source": {"bank_loan": 1e9}}, "budget_source"),
    ({"budgets_by_source": {"integrated": -5}}, "budget_source"),
    ({"weights": {"beauty": 1}}, "weights"), ({"weights": "population"}, "weights"),
    ({"set_id": "qd318-2022-xa-ntm-nang-cao"}, "set"), ({"set_id": "nope"}, "set"),
    ({"time_limit_s": 0}, "time_limit"),
])
def test_bad_arguments_name_the_parameter(tiny, model, kwargs, parameter):
    with pytest.raises(PrioritiseParameterError) as err:
        plan(tiny, model, **kwargs)
    assert err.value.parameter == parameter


def test_bad_cost_model_file(tiny, tmp_path):
    bad = tmp_path / "cost.yaml"
    bad.write_text("version: x\ncurrency: VND\n", encoding="utf-8")
    with pytest.raises(PrioritiseParameterError) as err:
        prioritise(tiny, year=2025, budget_vnd=1e9, cost_model=bad)
    assert err.value.parameter == "cost_model" and "'components' is a required property" in str(err.value)


def test_weights_are_scaled_and_reported():
    assert parse_weights("population=3,near_standard=1") == {
        "near_standard": 0.25, "population": 0.75, "extremely_difficult": 0.0, "cost_effectiveness": 0.0}
    assert sum(parse_weights(None).values()) == pytest.approx(1)
    with pytest.raises(PrioritiseParameterError, match="at least one weight"):
        parse_weights({"population": 0})


# --- the solver against brute force and greedy ----------------------------------------


def random_problem(rng, n_communes=7, sources=("a", "b", "c")) -> Problem:
    items, communes, parts = [], [], []
    classes = [("a",), ("a", "b"), ("b", "c"), ("c",)]
    for c in range(n_communes):
        for _ in range(int(rng.integers(1, 4))):
            cost = float(rng.integers(1, 20)) * 1e9
            k = int(rng.integers(len(classes)))
            parts.append((len(items), k, cost))
            items.append(cost)
            communes.append(c)
    reachable = rng.random(n_communes) < 0.8
    return Problem(item_cost=np.array(items), item_commune=np.array(communes), reachable=reachable,
                   population=rng.integers(100, 10000, n_communes).astype(float),
                   order=rng.permutation(n_communes), part_item=np.array([p[0] for p in parts]),
                   part_class=np.array([p[1] for p in parts]), part_cost=np.array([p[2] for p in parts]),
                   classes=classes)


def brute_force_communes(p: Problem, budget: float) -> int:
    cost = np.bincount(p.item_commune, weights=p.item_cost, minlength=p.n_communes)
    cand = np.flatnonzero(p.reachable)
    best = 0
    for r in range(len(cand) + 1):
        for subset in itertools.combinations(cand, r):
            if cost[list(subset)].sum() <= budget:
                best = max(best, r)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_optimum_is_proven_and_never_below_greedy(seed):
    rng = np.random.default_rng(seed)
    p = random_problem(rng)
    budget = float(rng.integers(10, 80)) * 1e9
    split = {"a": budget * 0.5, "b": budget * 0.3, "c": budget * 0.2}
    for objective in ("communes", "criteria", "population"):
        for by_source in (None, split):
            opt = solve_optimal(p, objective, budget_vnd=budget, budgets_by_source=by_source)
            gre = solve_greedy(p, objective, budget_vnd=budget, budgets_by_source=by_source)
            assert opt.status == "Optimal"
            for sol in (opt, gre):
                assert violations(p, sol, budget_vnd=budget, budgets_by_source=by_source) == []
            key = {"communes": "communes_reaching", "criteria": "criteria_gained",
                   "population": "population_served"}[objective]
            assert p.values(opt.funded)[key] >= p.values(gre.funded)[key]
    opt = solve_optimal(p, "communes", budget_vnd=budget, budgets_by_source=None)
    assert p.values(opt.funded)["communes_reaching"] == brute_force_communes(p, budget)


def test_next_step_is_the_least_extra_money():
    rng = np.random.default_rng(3)
    p = random_problem(rng)
    budget = 30e9
    opt = solve_optimal(p, "communes", budget_vnd=budget, budgets_by_source=None)
    k = p.values(opt.funded)["communes_reaching"]
    step = next_step(p, opt.funded, budget_vnd=budget, budgets_by_source=None)
    extra = step["extra_vnd"]
    assert step["extra_communes"] >= 1
    assert brute_force_communes(p, budget + extra) == k + 1
    assert brute_force_communes(p, budget + extra - 1e9 * 0.5) == k  # half a tỷ less is not enough


# --- the demo province ----------------------------------------------------------------

SI_MA_CAI_2024 = {"central_investment": 3890, "central_recurrent": 1600, "integrated": 161180,
                  "organisations": 11000, "community": 6300}  # million VND, seed 002


def test_demo_province(demo_store_path):
    store = Store(demo_store_path)
    first = prioritise(store, year=2025, budget_vnd=50e9)
    s = first.summary
    assert s["status"] == "Optimal" and s["n_communes"] > 90 and s["spent_vnd"] <= 50e9
    assert s["communes_reaching"] >= s["greedy"]["communes_reaching"] >= 1
    assert s["next_step"]["extra_vnd"] > 0 and len(s["next_step"]["units"]) >= 1
    c = first.communes
    assert c["unit_code"].is_unique and (c["rank"].dropna() >= 1).all()
    reaching = c.loc[c["newly_reaching"], "unit_code"]
    gaps = first.gaps[first.gaps["unit_code"].isin(reaching)]
    assert gaps["funded"].all() and gaps["closable"].all()
    assert (first.gaps.loc[~first.gaps["closable"], "blocker"] != "").all()
    assert set(first.gaps["criterion"]) <= set(range(1, 20))
    # worked example: the Si Ma Cai 2024 split of sources, scaled to 120 tỷ
    total = sum(SI_MA_CAI_2024.values())
    split = {k: v / total * 120e9 for k, v in SI_MA_CAI_2024.items()}
    ex = prioritise(store, year=2025, budgets_by_source=split, evidence=first.evidence)
    e = ex.summary
    # the greedy ranking pays each package from the sources with most money left and runs
    # out of the small sources; the program shares them out and funds one commune more
    assert (e["status"], e["communes_reaching"], e["greedy"]["communes_reaching"]) == ("Optimal", 8, 7)
    assert e["spent_vnd"] == pytest.approx(118.03e9, rel=1e-3)
    assert e["next_step"]["extra_vnd"] == pytest.approx(58.07e9, rel=1e-3)
    for code, money in e["by_source"].items():
        assert money["spent"] <= (money["budget"] or 0) + 1e3, code
    # QĐ 51 (2026) works on the same store
    q51 = prioritise(store, year=2026, budget_vnd=50e9)
    assert q51.set_id == "qd51-2025-xa-ntm" and set(q51.gaps["criterion"]) <= set(range(1, 11))
    assert q51.summary["communes_reaching"] >= q51.summary["greedy"]["communes_reaching"]


def test_stored_road_indicators_are_used_and_agree(demo_store):
    from layers.indicators import IndicatorOptions, run_indicators

    run_indicators(demo_store, year=2025, options=IndicatorOptions(access=False, zonal=False, levels=("commune",)))
    stored = prioritise(demo_store, year=2025, budget_vnd=50e9)
    measured = prioritise(demo_store, year=2025, budget_vnd=50e9, use_stored_indicators=False)
    assert (stored.summary["evidence"]["roads"], measured.summary["evidence"]["roads"]) == ("stored", "measured")
    assert np.allclose(stored.gaps["cost_vnd"], measured.gaps["cost_vnd"], equal_nan=True, rtol=1e-9)
    assert stored.summary["communes_reaching"] == measured.summary["communes_reaching"]


def test_a_store_without_infrastructure_costs_minimum_packages(tmp_path):
    from _progress_store import build_progress_store

    store = Store(build_progress_store(tmp_path / "smc.gpkg"))
    p = prioritise(store, year=2024, scope="SMC", budget_vnd=20e9)
    s = p.summary
    assert s["n_communes"] == 9 and "SMC-00" not in set(p.communes["unit_code"])  # the thị trấn is left out
    assert {"schools", "culture_houses", "markets", "health_stations", "power_lines"} <= set(s["evidence"]["empty_layers"])
    culture = p.gaps[(p.gaps["unit_code"] == "SMC-06") & (p.gaps["criterion"] == 6)].iloc[0]
    assert culture["cost_vnd"] == 0.9e9  # no culture house layer: no evidence of a missing house
    assert culture["cost_basis"] == "không có số liệu hạ tầng cho thấy thiếu hụt: gói tối thiểu 900 triệu"
    # SMC-04 lost criterion 17 (environment, closable): the only commune money alone brings back
    assert s["n_can_reach"] == 1 and s["communes_reaching"] == 1
    assert p.communes.set_index("unit_code").at["SMC-04", "newly_reaching"]

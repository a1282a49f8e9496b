"""Scenario: a funded plan applied to the next year, on the hand-checkable Si Ma Cai store.

2024 status (tests/_progress_store.py): 9 xã, 150 criteria (16.67 per xã). The plan used
here funds SMC-04's criterion 17 (recognised 2021, at risk), SMC-06's 5, 6, 13, 14 (15 → 19)
and SMC-08's 2 (15 → 16). So in the 2025 scenario: 156 criteria / 9 = 17.33 per xã
(the 2025 target 17.3 is met), SMC-04 and SMC-06 reach 19, only SMC-06 gets a scenario
recognition (SMC-04 is recognised already): 6 xã đạt chuẩn (target 7: not met), nobody at risk.
"""

from __future__ import annotations

import tempfile

import pandas as pd
import pytest

from _progress_store import build_progress_store
from conftest import sha256
from layers import scenario, status
from layers.scenario import ScenarioParameterError, project_status, run_scenario
from layers.store import Store

FUNDED = pd.DataFrame({"unit_code": ["SMC-04", "SMC-06", "SMC-06", "SMC-06", "SMC-06", "SMC-08"],
                       "criterion": [17, 5, 6, 13, 14, 2]})


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    return Store(build_progress_store(tmp_path_factory.mktemp("scenario") / "smc.gpkg"))


@pytest.fixture(scope="module")
def sc(store):
    return project_status(store, base_year=2024, target_year=2025, funded=FUNDED, scope_code="SMC",
                          plan_id="test-plan")


@pytest.fixture(scope="module")
def result(store, sc):
    before = sha256(store.path)
    r = run_scenario(store, sc)
    assert sha256(store.path) == before  # the real store is byte-identical after
    return r


def test_funded_criteria_become_met_and_the_rest_is_carried(sc):
    st = sc.status.set_index(["unit_code", "criterion"])
    assert bool(st.loc[("SMC-06", 13), "met"]) and not bool(st.loc[("SMC-06", 13), "met_base"])
    assert st.loc[("SMC-06", 13), "origin"] == "plan"
    assert not bool(st.loc[("SMC-07", 13), "met"]) and st.loc[("SMC-07", 13), "origin"] == "base"  # not funded
    c = sc.communes.set_index("unit_code")
    assert c.loc[["SMC-04", "SMC-06", "SMC-07", "SMC-08"], "n_met"].tolist() == [19, 19, 13, 16]
    assert c.loc[["SMC-04", "SMC-06", "SMC-08"], "n_met_base"].tolist() == [18, 15, 15]
    assert c.index[c["reaches_standard"]].tolist() == ["SMC-04", "SMC-06"]
    assert c.index[c["recognised_in_scenario"]].tolist() == ["SMC-06"]  # SMC-04 is recognised since 2021
    assert c.loc["SMC-06", "funded"] == [5, 6, 13, 14]
    assert sc.source == "scenario: test-plan" and len(sc.funded) == 6
    assert "not an assessment" in sc.notes[0]


def test_progress_before_without_and_with_the_plan(result):
    b, w, a = result.before.summary, result.without.summary, result.after.summary
    assert (b["total_criteria"], b["average"], b["n_dat_chuan"], b["n_at_risk"]) == (150, 16.67, 5, 1)
    assert (w["total_criteria"], w["average"], w["n_dat_chuan"]) == (150, 16.67, 5)  # carried forward
    assert (a["total_criteria"], a["average"], a["n_dat_chuan"], a["n_at_risk"]) == (156, 17.33, 6, 0)
    assert a["n_below_threshold"] == 2  # SMC-07 and SMC-09 stay at 13
    assert result.after.year == 2025 and result.after.target_year == 2025
    h = result.comparison.set_index("key")
    assert h.loc["avg_criteria_per_commune", ["before", "without", "after", "change", "target"]].tolist() == \
        [16.67, 16.67, 17.33, 0.66, 17.3]
    assert bool(h.loc["avg_criteria_per_commune", "met_after"]) and not bool(h.loc["avg_criteria_per_commune",
                                                                                   "met_before"])
    assert h.loc["communes_dat_chuan", ["after", "change", "target"]].tolist() == [6.0, 1.0, 7.0]
    assert not bool(h.loc["communes_dat_chuan", "met_after"])
    assert result.timings["status_records"] == 9 * 19 + 19  # the thị trấn carries its status too
    assert result.timings["recognitions_added"] == 1


def test_scenario_records_live_only_in_the_temporary_copy(store, sc, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with scenario.scenario_store(store, sc) as (copy, written):
        assert copy.path != store.path and copy.path.is_relative_to(tmp_path)
        hist = status.status_history(copy, "SMC-06", year=2025)
        assert set(hist["source_document"]) == {"scenario: test-plan"} and set(hist["recorded_by"]) == {"scenario"}
        rec = copy.read_table("recognitions", "unit_code = 'SMC-06' AND year = 2025")
        assert rec["decision_number"].tolist() == ["scenario: test-plan"]
        assert written["recognitions_added"] == 1
    assert list(tmp_path.iterdir()) == []  # the copy is gone
    assert status.status_history(store, "SMC-06", year=2025).empty  # never in the real store


def test_a_frame_with_a_funded_column_keeps_its_true_rows(store):
    gaps = FUNDED.assign(funded=[True, False, False, False, False, True])
    s = project_status(store, base_year=2024, target_year=2025, funded=gaps, scope_code="SMC")
    assert sorted(map(tuple, s.funded.to_numpy().tolist())) == [("SMC-04", 17), ("SMC-08", 2)]
    assert s.communes.set_index("unit_code").loc["SMC-06", "n_met"] == 15


@pytest.mark.parametrize(("kwargs", "parameter", "text"), [
    ({"funded": pd.DataFrame({"unit_code": ["SMC-06"]})}, "funded", "missing criterion"),
    ({"funded": pd.DataFrame({"unit_code": ["SMC-06"], "criterion": [25]})}, "funded", "row 0: set"),
    ({"funded": pd.DataFrame({"unit_code": ["BTH-01"], "criterion": [2]})}, "funded", "'BTH-01' is not a commune"),
    ({"funded": pd.DataFrame({"unit_code": ["SMC-06"], "criterion": ["x"]})}, "funded", "whole number"),
    ({"target_year": 2024}, "to_year", "after the base year 2024"),
    ({"scope_code": "NOPE"}, "scope", "'scope' must be"),
    ({"set_id": "qd999"}, "set", "'set'"),
])
def test_bad_arguments_name_the_parameter(store, kwargs, parameter, text):
    args = {"base_year": 2024, "target_year": 2025, "scope_code": "SMC", "funded": None} | kwargs
    with pytest.raises(ScenarioParameterError) as err:
        project_status(store, **args)
    assert err.value.parameter == parameter and text in str(err.value)


# PuLP 3.x warns about its own 4.0 API in layers.prioritise_solver (not ours to change)
def test_demo_plan_scenario_agrees_with_the_plan(demo_store_path):
    from layers.prioritise import prioritise

    store = Store(demo_store_path)
    before = sha256(demo_store_path)
    plan = prioritise(store, year=2024, scope="D01", budget_vnd=100e9)
    sc = scenario.scenario_from_plan(store, plan)
    r = run_scenario(store, sc)
    assert sha256(demo_store_path) == before
    assert sc.plan_id.startswith("P2024-D01-optimal-communes-") and sc.target_year == 2025
    newly = set(plan.communes.loc[plan.communes["reaches_standard"] & ~plan.communes["already_standard"],
                                  "unit_code"])
    reach = set(sc.communes.loc[sc.communes["reaches_standard"], "unit_code"])
    assert reach == newly and len(reach) == plan.summary["communes_reaching"]
    h = r.comparison.set_index("key")
    assert h.loc["total_criteria", "change"] == plan.summary["criteria_gained"]  # against "no funding"
    assert h.loc["communes_dat_chuan", "change"] == int(sc.communes["recognised_in_scenario"].sum())

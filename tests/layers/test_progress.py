"""Progress against targets: the seeds' arithmetic on a hand-checkable store, and the demo.

The fixture (tests/_progress_store.py) is Si Ma Cai's 2024 plan: 9 xã holding 150
criteria (16.67 per xã), a thị trấn that must not count, one recognised xã now failing
a criterion, and three years of status for the trend.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from _progress_store import XA, build_progress_store
from layers import admin_units, progress, targets
from layers.progress import ProgressParameterError, compute_progress, headline_table
from layers.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    return Store(build_progress_store(tmp_path_factory.mktemp("progress") / "smc.gpkg"))


@pytest.fixture(scope="module")
def smc(store) -> progress.Progress:
    return compute_progress(store, "SMC", 2024)


@pytest.fixture(scope="module")
def smc_2025(store) -> progress.Progress:
    return compute_progress(store, "SMC", 2024, target_year=2025)


def test_si_ma_cai_150_criteria_in_9_xa_is_16_67(smc):
    s = smc.summary
    assert (s["n_communes"], s["total_criteria"], s["average"]) == (9, 150, 16.67)
    assert math.isclose(s["average_exact"], 150 / 9)
    assert (s["minimum"], s["n_below_threshold"], s["n_assessed"]) == (13, 2, 9)
    assert smc.threshold == 15 and smc.n_criteria == 19 and smc.set_id == "qd318-2022-xa-ntm"
    by = smc.communes.set_index("unit_code")
    assert by["n_met"].to_dict() == {"SMC-01": 19, "SMC-02": 19, "SMC-03": 19, "SMC-04": 18, "SMC-05": 19,
                                     "SMC-06": 15, "SMC-07": 13, "SMC-08": 15, "SMC-09": 13}
    assert by.loc[by["below_threshold"].fillna(False).astype(bool)].index.tolist() == ["SMC-07", "SMC-09"]


def test_the_plan_targets_of_2024_are_met(smc):
    assert smc.target_year == 2024  # nearest year with the district's own targets
    h = headline_table(smc).set_index("key")
    assert h.loc["avg_criteria_per_commune", ["actual", "target"]].tolist() == [16.67, 16.67]
    assert bool(h.loc["avg_criteria_per_commune", "met"]) and bool(h.loc["total_criteria", "met"])
    assert smc.projection.empty and "No projection" in smc.projection_method


def test_wards_and_townships_are_not_communes(smc, store):
    # SMC-00 (thị trấn) meets all 19 criteria: counted, the average would be 169/10 = 16.9
    assert "SMC-00" not in set(smc.communes["unit_code"]) and "SMC-00" not in smc.matrix.index
    assert smc.summary["n_wards_excluded"] == 1
    assert any("1 phường, thị trấn" in n for n in smc.notes)
    assert smc.criteria.set_index("number").loc[1, "n_met"] == 9
    village_codes = set(progress._year_data(store, "SMC", 2024).villages["unit_code"])
    assert "V-TT" not in village_codes and len(village_codes) == 6  # tổ dân phố of the thị trấn left out
    province = compute_progress(store, "LCA", 2024)
    assert (province.summary["n_communes"], province.summary["total_criteria"]) == (10, 169)
    assert province.summary["average"] == 16.9  # 150 + 19 (BTH-01) over 10 xã


def test_at_risk_recognised_commune_now_failing(smc):
    assert smc.at_risk["unit_code"].tolist() == ["SMC-04"]
    assert smc.at_risk.iloc[0]["failing"] == [17]
    assert smc.summary["n_at_risk"] == 1
    flagged = smc.communes.loc[smc.communes["at_risk"], "unit_code"].tolist()
    assert flagged == ["SMC-04"]


def test_levels_against_targets(smc_2025):
    levels = smc_2025.levels.set_index("level")
    row = levels.loc["dat_chuan"]
    assert (row["n"], row["n_exact"], row["target"], row["gap"], bool(row["met"])) == (5, 5, 7, 2, False)
    assert pd.isna(levels.loc["nang_cao", "target"])
    assert smc_2025.summary["n_dat_chuan"] == 5


def test_criteria_most_often_unmet(smc):
    crit = smc.criteria.set_index("number")
    assert crit.loc[13, ["n_met", "n_unmet", "n_no_data", "rank_unmet"]].tolist() == [5, 4, 0, 1]
    assert sorted(crit.index[crit["rank_unmet"] == 2]) == [2, 6, 10, 11]
    assert crit.loc[17, "n_unmet"] == 2 and crit.loc[14, "n_unmet"] == 1
    assert math.isclose(crit.loc[13, "share_met"], round(5 / 9, 4))
    assert (crit["n_met"] + crit["n_unmet"]).sum() == 9 * 19


def test_year_over_year(smc):
    trend = smc.trend.set_index("year")
    assert trend["total_criteria"].tolist() == [122, 136, 150]
    assert trend["avg_criteria_per_commune"].tolist() == [13.56, 15.11, 16.67]
    assert pd.isna(trend.loc[2022, "d_avg_criteria_per_commune"])
    assert trend.loc[[2023, 2024], "d_avg_criteria_per_commune"].tolist() == [1.55, 1.56]
    assert trend["communes_dat_chuan"].tolist() == [4, 4, 5]
    change = smc.communes.set_index("unit_code")[["n_met_previous", "change"]]
    assert change.loc["SMC-05"].tolist() == [14, 5] and change.loc["SMC-04"].tolist() == [19, -1]
    assert int(change["change"].sum()) == 14


def test_projection_is_a_labelled_linear_trend(smc_2025):
    proj = smc_2025.projection.set_index("metric")
    # averages 13.56, 15.11, 16.67: least-squares slope 1.555, 15.1133 + 2 x 1.555 = 18.22 in 2025
    assert proj.loc["avg_criteria_per_commune", ["slope_per_year", "projected"]].tolist() == [1.555, 18.22]
    assert bool(proj.loc["avg_criteria_per_commune", "on_track"])  # 18.22 >= 17.3
    assert proj.loc["communes_dat_chuan", "projected"] == 5.33 and not proj.loc["communes_dat_chuan", "on_track"]
    assert proj.loc["min_criteria_per_commune", "projected"] == 15.67
    assert proj.loc["n_below_threshold", "projected"] == 1.0
    assert proj.loc["share_villages_dat_chuan_edk", "projected"] == 0.6667
    assert set(proj["method"]) == {"linear_least_squares"} and set(proj["years"]) == {"2022–2024"}
    assert "Dự báo (không phải kết quả)" in smc_2025.projection_method
    assert "2022–2024" in smc_2025.projection_method and "2025" in smc_2025.projection_method


def test_projection_needs_two_years_and_clips(store):
    p = compute_progress(store, "SMC", 2024, target_year=2030, trend_years=2)
    proj = p.projection.set_index("metric")
    assert proj.loc["avg_criteria_per_commune", "years"] == "2023–2024"
    assert proj.loc["avg_criteria_per_commune", "projected"] == 19  # 16.67 + 6 x 1.56, capped at 19 criteria
    assert proj.loc["share_villages_dat_chuan_edk", "projected"] == 1.0


def test_villages_overall_and_in_extremely_difficult_communes(smc_2025):
    v = smc_2025.villages.set_index("group")
    assert v.loc["all", ["n_villages", "n_dat_chuan", "n_kieu_mau"]].tolist() == [6, 4, 1]
    assert v.loc["edk", ["n_villages", "n_dat_chuan", "share_dat_chuan"]].tolist() == [4, 2, 0.5]
    assert v.loc["edk", "target"] == 0.6 and not v.loc["edk", "met"]
    h = headline_table(smc_2025)
    change = h[(h["key"] == "villages_dat_chuan") & h["baseline_year"].notna()].iloc[0]
    assert (change["actual"], change["target"], bool(change["met"])) == (2, 2, True)  # 4 in 2024 - 2 in 2023


def test_headline_reads_no_commune_below_15_as_zero_below(smc_2025):
    h = headline_table(smc_2025).set_index("key")
    assert h.loc["n_below_threshold", ["actual", "target", "gap"]].tolist() == [2, 0, 2]
    assert not h.loc["n_below_threshold", "met"]
    assert h.loc["min_criteria_per_commune", ["actual", "target"]].tolist() == [13, 15]


def test_the_10_criteria_set_scales_the_threshold(store):
    assert progress.default_threshold(19) == 15 and progress.default_threshold(10) == 8
    p = compute_progress(store, "SMC", 2026)
    assert (p.set_id, p.n_criteria, p.threshold) == ("qd51-2025-xa-ntm", 10, 8)
    assert "15/19" in p.threshold_note
    assert (p.summary["total_criteria"], p.summary["average"], p.summary["n_below_threshold"]) == (70, 7.78, 4)
    assert compute_progress(store, "SMC", 2026, threshold=6).summary["n_below_threshold"] == 1


def test_round_half_up():
    assert progress.round_half_up(150, 9) == 16.67
    assert progress.round_half_up(33.35, 2) == 16.68  # 16.675 up, not to even
    assert progress.round_half_up(157, 9) == 17.44 and progress.round_half_up(1, 8) == 0.13


@pytest.mark.parametrize(("kwargs", "parameter", "match"), [
    ({"scope_code": "NOPE"}, "scope", r"'scope' must be a province, district or commune code in the store, got 'NOPE'"),
    ({"scope_code": "V-CCS"}, "scope", r"'V-CCS' is a village"),
    ({"year": 1990}, "year", r"'year' must be a year from 2000 to 2100, got 1990"),
    ({"set_id": "qd999"}, "set", r"unknown criteria set 'qd999'"),
    ({"threshold": 20}, "threshold", r"from 1 to 19 \(set 'qd318-2022-xa-ntm'\), got 20"),
    ({"threshold": 0}, "threshold", r"got 0"),
    ({"trend_years": 1}, "trend_years", r"from 2 to 10, got 1"),
    ({"target_year": 2020}, "target_year", r"from 2024 to 2100, got 2020"),
])
def test_bad_arguments_name_the_parameter(store, kwargs, parameter, match):
    args = {"scope_code": "SMC", "year": 2024} | kwargs
    with pytest.raises(ProgressParameterError, match=match) as info:
        compute_progress(store, args.pop("scope_code"), args.pop("year"), **args)
    assert info.value.parameter == parameter and isinstance(info.value, ValueError)


# --- the demo province ----------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_store_path):
    store = Store(demo_store_path)
    return store, compute_progress(store, "D01", 2024)


def test_demo_province_agrees_with_targets_and_tables(demo):
    store, p = demo
    xa = admin_units.units_in_scope(store, "D01", "commune", on="2024-12-31")
    assert p.summary["n_communes"] == int((xa["unit_type"] == "xa").sum())
    assert p.summary["n_wards_excluded"] == int((xa["unit_type"] != "xa").sum()) > 0
    assert p.target_year == 2025
    evaluated = targets.evaluate_targets(store, 2024, scope_code="D01", target_year=2025)
    own = evaluated[(evaluated["scope_code"] == "D01")].set_index("metric")
    levels = p.levels.set_index("metric")
    for metric in ("communes_dat_chuan", "communes_nang_cao", "communes_kieu_mau"):
        assert levels.loc[metric, "n"] == own.loc[metric, "actual"]
    assert p.summary["average"] == progress.round_half_up(p.summary["total_criteria"], p.summary["n_assessed"])
    assert round(own.loc["avg_criteria_per_commune", "actual"], 2) == p.summary["average"]
    assert set(p.at_risk["unit_code"]) <= set(p.communes["unit_code"])
    assert len(p.projection) == 8 and p.projection["projected"].notna().all()


def test_demo_district_is_a_part_of_the_province(demo):
    store, p = demo
    district = compute_progress(store, "D01-02", 2024)
    part = p.communes[p.communes["parent_code"] == "D01-02"]
    assert district.communes["unit_code"].tolist() == part["unit_code"].tolist()
    assert district.summary["total_criteria"] == int(part["n_met"].sum())
    assert district.criteria["n_unmet"].sum() == part["n_unmet"].sum()
    assert district.target_year == 2024 and set(XA).isdisjoint(district.communes["unit_code"])


def test_first_recorded_year_before_the_set_took_effect(demo):
    """The demo's first year (2021) is reported with the set its records use; a target whose
    baseline is that same year has no per-year gain yet (no division by zero)."""
    store, _ = demo
    first = compute_progress(store, "D01", 2021)
    assert first.set_id == "qd318-2022-xa-ntm" and first.year == 2021
    assert first.summary["n_assessed"] > 0 and first.summary["average"] < compute_progress(store, "D01", 2024).summary["average"]

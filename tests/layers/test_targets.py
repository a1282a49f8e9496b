"""Targets: every target of the four seed directives as YAML, checks, and evaluation.

The seeds (shared/seeds/*.txt, domain README §5): Lai Châu directive 2024, Lào Cai
conclusions 7/2021, Si Ma Cai plan 2024, Bắc Giang letter 01/2024. Unit codes are invented.
"""

from __future__ import annotations

import shutil
from pathlib import Path
import math

import pandas as pd
import pytest

from layers import targets
from layers._errors import ImportValidationError
from layers.store import Store
import functools

from _units import add_units, sha256 as _sha

_add_units = functools.partial(add_units, x0=103.0, y0=22.0)

SET = "qd318-2022-xa-ntm"

LAI_CHAU = """
source_document: "Chỉ thị /CT-UBND tỉnh Lai Châu, 4/2024"
scope: LCI
target_year: 2025
targets:
  - {metric: communes_dat_chuan, value: 54, note: 54/94 xã đạt chuẩn NTM}
  - {metric: communes_nang_cao, value: 4}
  - {metric: recognised_hoan_thanh, scope: LCI-TP, value: 1, note: thành phố Lai Châu duy trì hoàn thành nhiệm vụ}
  - {metric: recognised_dat_chuan, scope: [LCI-TD, LCI-TU, LCI-THU], value: 1, note: "Tam Đường, Tân Uyên, Than Uyên"}
  - {metric: avg_criteria_per_commune, value: 17.3}
  - {metric: min_criteria_per_commune, value: 15, note: không còn xã dưới 15 tiêu chí}
  - {metric: share_villages_dat_chuan_edk, value: 0.25, note: 25% số bản thuộc xã ĐBKK}
"""

LAO_CAI = """
source_document: "TB /TB-VPUBND tỉnh Lào Cai, 7/2021"
scope: LCA
targets:
  - {metric: communes_dat_chuan, target_year: 2021, baseline_year: 2020, value: 11, note: ít nhất 11 xã hoàn thành NTM trong năm 2021}
  - {metric: communes_nang_cao, target_year: 2021, each_child: true, value: 1, note: mỗi huyện ít nhất 01 xã nâng cao}
  - {metric: criteria_gain_per_commune_per_year, kind: change_per_year, target_year: 2021, each_child: true, value: 1, value_max: 1.5}
  - {metric: districts_dat_chuan, target_year: 2025, value: 4, note: 04 đơn vị cấp huyện đạt chuẩn / hoàn thành}
  - {metric: communes_dat_chuan, target_year: 2025, value: 94, note: 94/127 xã}
  - {metric: communes_nang_cao, target_year: 2025, value: 20}
  - {metric: communes_kieu_mau, target_year: 2025, value: 9}
  - {metric: avg_criteria_per_commune, target_year: 2025, value: 17.3}
  - {metric: min_criteria_per_commune, target_year: 2025, value: 10}
"""
# "01 huyện nông thôn mới nâng cao" (Lào Cai, 2025): target_metrics.yaml has no metric for it
LAO_CAI_DISTRICT_NANG_CAO = """
scope: LCA
targets:
  - {metric: districts_nang_cao, target_year: 2025, value: 1}
"""

SI_MA_CAI = """
source_document: "KH /KH-UBND huyện Si Ma Cai, 01/2024"
scope: SMC
target_year: 2024
set_id: qd318-2022-xa-ntm
targets:
  - {metric: recognised_dat_chuan, scope: [SMC-01, SMC-02, SMC-03, SMC-04], value: 1, note: duy trì 04 xã đạt chuẩn}
  - {metric: criteria_gained, value: 14, note: hoàn thành thêm 14 tiêu chí}
  - {metric: criteria_gained, scope: SMC-05, value: 5}
  - {metric: criteria_gained, scope: SMC-06, value: 2}
  - {metric: criteria_gained, scope: SMC-07, value: 2}
  - {metric: criteria_gained, scope: SMC-08, value: 3}
  - {metric: criteria_gained, scope: SMC-09, value: 2}
  - {metric: total_criteria, value: 150}
  - {metric: avg_criteria_per_commune, value: 16.67}
  - {metric: recognised_kieu_mau, scope: V-CCS, value: 1, note: thôn Cán Chư Sừ}
  - {metric: recognised_dat_chuan, scope: [V-MSC, V-SC, V-NB, V-D1, V-LC], value: 1, note: 05 thôn NTM}
"""

BAC_GIANG = """
source_document: "CV /UBND-NN tỉnh Bắc Giang, 01/2024"
target_year: 2025
targets:
  - {metric: share_villages_dat_chuan_edk, scope: [BGI-SDO, BGI-LNG], value: 0.6, note: 60% số thôn thuộc xã ĐBKK}
"""

SEEDS = {"lai-chau": (LAI_CHAU, 9), "lao-cai": (LAO_CAI, 9), "si-ma-cai": (SI_MA_CAI, 18),
         "bac-giang": (BAC_GIANG, 2)}

XA = {"SMC-01": "Sín Chéng", "SMC-02": "Bản Mế", "SMC-03": "Nàn Sán", "SMC-04": "Cán Cấu",
      "SMC-05": "Sán Chải", "SMC-06": "Quan Hồ Thẩn", "SMC-07": "Thào Chư Phìn",
      "SMC-08": "Lùng Thẩn", "SMC-09": "Nàn Sín"}
UNMET_2023 = {"SMC-05": [10, 11, 12, 17, 18], "SMC-06": [8, 19, 2, 5, 6, 13, 14],
              "SMC-07": [15, 17, 2, 5, 6, 10, 11, 13], "SMC-08": [15, 5, 17, 2, 10, 11, 13],
              "SMC-09": [5, 8, 2, 6, 10, 11, 13, 17]}
PLANNED = {"SMC-05": [10, 11, 12, 17, 18], "SMC-06": [8, 19], "SMC-07": [15, 17],
           "SMC-08": [15, 5, 17], "SMC-09": [5, 8]}


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The fixture store, built once per module and copied for each test."""
    path = tmp_path_factory.mktemp("template") / "targets.gpkg"
    s = Store(path, create=True)
    _add_units(s, "provinces", [{"code": c, "name": n, "unit_type": "tinh"} for c, n in
                                (("LCI", "Lai Châu"), ("LCA", "Lào Cai"), ("BGI", "Bắc Giang"))])
    _add_units(s, "districts", [
        {"code": "LCI-TP", "name": "Lai Châu", "unit_type": "thanh_pho", "parent_code": "LCI"},
        {"code": "LCI-TD", "name": "Tam Đường", "unit_type": "huyen", "parent_code": "LCI"},
        {"code": "LCI-TU", "name": "Tân Uyên", "unit_type": "huyen", "parent_code": "LCI"},
        {"code": "LCI-THU", "name": "Than Uyên", "unit_type": "huyen", "parent_code": "LCI"},
        {"code": "SMC", "name": "Si Ma Cai", "unit_type": "huyen", "parent_code": "LCA"},
        {"code": "BTH", "name": "Bảo Thắng", "unit_type": "huyen", "parent_code": "LCA"},
        {"code": "BYE", "name": "Bảo Yên", "unit_type": "huyen", "parent_code": "LCA"},
        {"code": "BGI-SDO", "name": "Sơn Động", "unit_type": "huyen", "parent_code": "BGI"},
        {"code": "BGI-LNG", "name": "Lục Ngạn", "unit_type": "huyen", "parent_code": "BGI"},
    ])
    communes = [{"code": "SMC-00", "name": "Si Ma Cai", "unit_type": "thi_tran", "parent_code": "SMC",
                 "extremely_difficult": False}]
    communes += [{"code": c, "name": n, "unit_type": "xa", "parent_code": "SMC", "extremely_difficult": True}
                 for c, n in XA.items()]
    communes += [
        {"code": "BTH-01", "name": "Sơn Hà", "unit_type": "xa", "parent_code": "BTH", "extremely_difficult": False},
        {"code": "BYE-01", "name": "Điện Quan", "unit_type": "xa", "parent_code": "BYE", "extremely_difficult": False},
        {"code": "SDO-01", "name": "An Lạc", "unit_type": "xa", "parent_code": "BGI-SDO", "extremely_difficult": True},
        {"code": "SDO-02", "name": "An Châu", "unit_type": "xa", "parent_code": "BGI-SDO", "extremely_difficult": False},
        {"code": "LNG-01", "name": "Sa Lý", "unit_type": "xa", "parent_code": "BGI-LNG", "extremely_difficult": True},
    ]
    _add_units(s, "communes", communes)
    villages = [("V-CCS", "Cán Chư Sừ", "SMC-04"), ("V-MSC", "Mào Sao Chải", "SMC-01"),
                ("V-SC", "Sín Chải", "SMC-01"), ("V-NB", "Ngã Ba", "SMC-06"), ("V-D1", "Đội 1", "SMC-03"),
                ("V-LC", "Lao Chải", "SMC-05"),
                ("SDO-01-A", "Nà Hem", "SDO-01"), ("SDO-01-B", "Khe Đặng", "SDO-01"),
                ("SDO-01-C", "Đồng Bông", "SDO-01"), ("SDO-02-A", "Thượng", "SDO-02"),
                ("LNG-01-A", "Khuôn Trang", "LNG-01"), ("LNG-01-B", "Bản Hóa", "LNG-01")]
    _add_units(s, "villages", [{"code": c, "name": n, "unit_type": "thon", "parent_code": p}
                               for c, n, p in villages])
    return path


@pytest.fixture
def store(template, tmp_path) -> Store:
    path = tmp_path / template.name
    shutil.copyfile(template, path)
    return Store(path)


@pytest.fixture
def facts(store) -> Store:
    """Status 2023/2024 of the 9 Si Ma Cai xã (136 then 150 criteria) and recognitions."""
    rows = []
    for code in XA:
        unmet = set(UNMET_2023.get(code, []))
        for n in range(1, 20):
            rows.append((code, 2023, n, n not in unmet, "2023-12-20T08:00:00.000Z"))
            rows.append((code, 2024, n, n not in unmet or n in PLANNED.get(code, []), "2024-12-15T08:00:00.000Z"))
    status = pd.DataFrame(rows, columns=["unit_code", "year", "criterion", "met", "recorded_at"]).assign(set_id=SET)
    recs = [("SMC-01", "commune", "dat_chuan", 2019), ("SMC-02", "commune", "dat_chuan", 2020),
            ("SMC-03", "commune", "dat_chuan", 2021), ("SMC-04", "commune", "dat_chuan", 2021),
            ("BTH-01", "commune", "dat_chuan", 2018), ("BTH-01", "commune", "nang_cao", 2021),
            ("V-CCS", "village", "kieu_mau", 2022), ("V-MSC", "village", "dat_chuan", 2023),
            ("V-SC", "village", "dat_chuan", 2024), ("V-NB", "village", "dat_chuan", 2024),
            ("V-D1", "village", "dat_chuan", 2022), ("V-LC", "village", "dat_chuan", 2024),
            ("SDO-01-A", "village", "dat_chuan", 2024), ("SDO-01-B", "village", "dat_chuan", 2025),
            ("SDO-02-A", "village", "dat_chuan", 2023), ("LNG-01-A", "village", "dat_chuan", 2025),
            ("LCI-TP", "district", "hoan_thanh", 2019), ("LCI-TD", "district", "dat_chuan", 2024)]
    recs = pd.DataFrame(recs, columns=["unit_code", "unit_level", "level", "year"]).assign(
        recorded_at="2025-01-01T00:00:00.000Z")
    with store.transaction() as conn:
        store.insert_rows(conn, "status_records", status)
        store.insert_rows(conn, "recognitions", recs)
    return store


# --- the four seeds -------------------------------------------------------------------


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_seed_targets_round_trip(store, tmp_path, seed):
    text, n = SEEDS[seed]
    path = _write(tmp_path, f"{seed}.yaml", text)
    parsed = targets.targets_from_yaml(path)
    assert len(parsed) == n
    summary = targets.import_targets(store, path)
    assert summary["rows"] == n and summary["replaced"] == 0
    stored = store.read_table("targets")
    fields = ["scope_code", "metric", "target_year", "baseline_year", "value", "value_max",
              "set_id", "each_child", "source_document", "note"]
    got = {tuple(None if pd.isna(v) else v for v in row) for row in stored[fields].itertuples(index=False)}
    want = {tuple(getattr(t, f) for f in fields) for t in parsed}
    assert got == want
    again = targets.import_targets(store, path)  # the same directive again replaces, never doubles
    assert again["replaced"] == n and store.count("targets") == n


def test_seed_values_are_those_of_the_directives(store, tmp_path):
    for seed, (text, _) in SEEDS.items():
        targets.import_targets(store, _write(tmp_path, f"{seed}.yaml", text))
    df = store.read_table("targets")
    pick = lambda scope, metric, year: df[(df.scope_code == scope) & (df.metric == metric)  # noqa: E731
                                          & (df.target_year == year)]["value"].tolist()
    assert pick("LCI", "communes_dat_chuan", 2025) == [54]
    assert pick("LCI", "min_criteria_per_commune", 2025) == [15]
    assert pick("LCI", "share_villages_dat_chuan_edk", 2025) == [0.25]
    assert sorted(df[df.metric == "recognised_dat_chuan"]["scope_code"]) == [
        "LCI-TD", "LCI-THU", "LCI-TU", "SMC-01", "SMC-02", "SMC-03", "SMC-04",
        "V-D1", "V-LC", "V-MSC", "V-NB", "V-SC"]
    assert pick("LCA", "communes_dat_chuan", 2025) == [94]
    assert pick("LCA", "communes_kieu_mau", 2025) == [9]
    gain = df[df.metric == "criteria_gain_per_commune_per_year"].iloc[0]
    assert (gain["value"], gain["value_max"], bool(gain["each_child"])) == (1, 1.5, True)
    assert pick("SMC", "total_criteria", 2024) == [150] and pick("SMC", "avg_criteria_per_commune", 2024) == [16.67]
    assert sum(df[(df.metric == "criteria_gained") & (df.scope_code != "SMC")]["value"]) == 14
    assert pick("BGI-LNG", "share_villages_dat_chuan_edk", 2025) == [0.6]


def test_lao_cai_district_nang_cao_target(store, tmp_path):
    path = _write(tmp_path, "lao-cai-huyen.yaml", LAO_CAI_DISTRICT_NANG_CAO)
    assert targets.import_targets(store, path)["rows"] == 1


# --- evaluation -----------------------------------------------------------------------


def test_si_ma_cai_arithmetic(facts, tmp_path):
    targets.import_targets(facts, _write(tmp_path, "smc.yaml", SI_MA_CAI))
    out = targets.evaluate_targets(facts, 2024, scope_code="SMC")
    assert len(out) == 18 and out["met"].all()
    by = out.set_index(["metric", "scope_code"])
    avg = by.loc[("avg_criteria_per_commune", "SMC")]
    assert math.isclose(avg["actual"], 150 / 9) and round(avg["actual"], 2) == 16.67
    assert avg["n_units"] == 9  # thị trấn Si Ma Cai is not a xã
    assert by.loc[("total_criteria", "SMC"), "actual"] == 150
    assert by.loc[("criteria_gained", "SMC"), "actual"] == 14
    assert [by.loc[("criteria_gained", c), "actual"] for c in PLANNED] == [5, 2, 2, 3, 2]
    assert by.loc[("recognised_kieu_mau", "V-CCS"), "scope_name"] == "Cán Chư Sừ"
    assert by.loc[("recognised_dat_chuan", "SMC-03"), "actual"] == 1


def test_si_ma_cai_shortfall_after_a_later_record(facts, tmp_path):
    targets.import_targets(facts, _write(tmp_path, "smc.yaml", SI_MA_CAI))
    late = pd.DataFrame([("SMC-08", 2024, 5, False, "2024-12-30T00:00:00.000Z")],
                        columns=["unit_code", "year", "criterion", "met", "recorded_at"]).assign(set_id=SET)
    with facts.transaction() as conn:
        facts.insert_rows(conn, "status_records", late)
    by = targets.evaluate_targets(facts, 2024, scope_code="SMC").set_index(["metric", "scope_code"])
    gained = by.loc[("criteria_gained", "SMC")]
    assert (gained["actual"], bool(gained["met"]), gained["gap"]) == (13, False, 1)
    assert not by.loc[("criteria_gained", "SMC-08"), "met"]
    assert by.loc[("total_criteria", "SMC"), "actual"] == 149
    assert not by.loc[("avg_criteria_per_commune", "SMC"), "met"]  # 16.56 < 16.67


def test_each_child_and_baseline_year(facts, tmp_path):
    targets.import_targets(facts, _write(tmp_path, "lc.yaml", LAO_CAI))
    out = targets.evaluate_targets(facts, 2021, scope_code="LCA")
    nang_cao = out[out.metric == "communes_nang_cao"].set_index("scope_code")
    assert list(nang_cao.index) == ["BTH", "BYE", "SMC"]
    assert nang_cao["actual"].tolist() == [1, 0, 0] and nang_cao["met"].tolist() == [True, False, False]
    assert set(nang_cao["parent_scope"]) == {"LCA"}
    new = out[(out.metric == "communes_dat_chuan")].iloc[0]
    assert (new["actual"], new["gap"], bool(new["met"])) == (2, 9, False)  # 5 in 2021 - 3 in 2020
    gain = out[out.metric == "criteria_gain_per_commune_per_year"]
    assert gain["actual"].isna().all() and gain["met"].isna().all()  # no criteria set in force in 2021
    assert gain["note"].str.contains("no criteria set in force in 2021").all()


def test_change_per_year_and_progress_towards_a_later_year(facts):
    targets.record_targets(facts, [
        targets.Target("LCA", "criteria_gain_per_commune_per_year", 2024, 1, value_max=1.5,
                       each_child=True, set_id=SET),
        targets.Target("LCA", "communes_dat_chuan", 2025, 94),
        targets.Target("LCA", "districts_dat_chuan", 2025, 4),
    ], source_document="test")
    gain = targets.evaluate_targets(facts, 2024, scope_code="LCA").set_index("scope_code")
    assert math.isclose(gain.loc["SMC", "actual"], 14 / 9) and gain.loc["SMC", "met"]
    assert pd.isna(gain.loc["BTH", "actual"])  # no status records there
    progress = targets.evaluate_targets(facts, 2024, target_year=2025).set_index("metric")
    assert progress.loc["communes_dat_chuan", ["actual", "gap", "n_units"]].tolist() == [5, 89, 11]
    assert progress.loc["districts_dat_chuan", "actual"] == 0


def test_share_of_villages_in_extremely_difficult_communes(facts, tmp_path):
    targets.import_targets(facts, _write(tmp_path, "bg.yaml", BAC_GIANG))
    out = targets.evaluate_targets(facts, 2025).set_index("scope_code")
    assert math.isclose(out.loc["BGI-SDO", "actual"], 2 / 3) and out.loc["BGI-SDO", "met"]
    assert out.loc["BGI-SDO", "n_units"] == 3  # the village of An Châu (not ĐBKK) is left out
    assert out.loc["BGI-LNG", ["actual", "met"]].tolist() == [0.5, False]
    assert math.isclose(out.loc["BGI-LNG", "gap"], 0.1)
    early = targets.evaluate_targets(facts, 2024, target_year=2025).set_index("scope_code")
    assert math.isclose(early.loc["BGI-SDO", "actual"], 1 / 3)


def test_lai_chau_self_recognitions(facts, tmp_path):
    targets.import_targets(facts, _write(tmp_path, "lci.yaml", LAI_CHAU))
    out = targets.evaluate_targets(facts, 2025).set_index(["metric", "scope_code"])
    assert out.loc[("recognised_hoan_thanh", "LCI-TP"), "met"]
    assert out.loc[("recognised_dat_chuan", "LCI-TD"), "met"]
    assert not out.loc[("recognised_dat_chuan", "LCI-TU"), "met"]
    assert pd.isna(out.loc[("avg_criteria_per_commune", "LCI"), "met"])  # no xã in this tiny store


def test_csv_targets(store, tmp_path):
    path = _write(tmp_path, "chi-tieu.csv", "Mã đơn vị,Chỉ tiêu,Năm,Giá trị,each_child\n"
                  "BGI-SDO,share_villages_dat_chuan_edk,2025,60%,\nLCA,communes_nang_cao,2021,1,x\n")
    assert targets.import_targets(store, path)["rows"] == 2
    df = store.read_table("targets", order_by="id")
    assert df["value"].tolist() == [0.6, 1.0] and df["each_child"].tolist() == [False, True]


# --- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "match"),
    [
        ("{metric: xa_dat_chuan, value: 1}", r"targets\[0\]\.metric: unknown metric 'xa_dat_chuan'; expected one of communes_dat_chuan"),
        ("{metric: share_villages_dat_chuan_edk, value: 60}", r"is a share: expected a value from 0 to 1 \(60% is 0\.6\), got 60"),
        ("{metric: communes_dat_chuan, value: -1}", r"counts: expected a value >= 0, got -1"),
        ("{metric: criteria_gain_per_commune_per_year, value: 1.5, value_max: 1}", r"value_max 1 is below value 1\.5"),
        ("{metric: avg_criteria_per_commune, kind: change_per_year, value: 1}",
         r"kind 'change_per_year' is only for metric\(s\) \['criteria_gain_per_commune_per_year'\], not 'avg_criteria_per_commune'"),
        ("{metric: min_criteria_per_commune, baseline_year: 2020, value: 10}", r"metric 'min_criteria_per_commune' does not use a baseline year"),
        ("{metric: communes_dat_chuan, baseline_year: 2025, value: 1}", r"baseline year 2025 should be before the target year 2024"),
        ("{metric: recognised_dat_chuan, scope: SMC-01, value: 2}", r"is 1 \(the unit holds the recognition\) or 0, got 2"),
        ("{metric: total_criteria, valeu: 3}", r"(?s)targets\[0\]\.valeu: unknown key.*targets\[0\]\.value: missing"),
        ("{metric: total_criteria, value: 3, target_year: 1999}", r"target_year: expected a year from 2000 to 2100, got 1999"),
        ("{metric: total_criteria, value: 3, set_id: qd1}", r"set_id: unknown criteria set 'qd1'"),
        ("{metric: total_criteria, value: 3, scope: NOPE}", r"\.scope: no unit has code 'NOPE' in the store"),
        ("{metric: recognised_hoan_thanh, scope: SMC-05, value: 1}", r"'recognised_hoan_thanh' \(hoàn thành nhiệm vụ\) is for district-level towns and cities, 'SMC-05' is a commune"),
        ("{metric: communes_dat_chuan, scope: SMC-05, value: 1}", r"'communes_dat_chuan' counts communes inside the scope, but 'SMC-05' is a commune"),
        ("{metric: recognised_dat_chuan, scope: LCA, value: 1}", r"is held by a district, commune or village, 'LCA' is a province"),
        ("{metric: criteria_gained, scope: SMC-02, each_child: true, value: 1}", r"each_child: commune 'SMC-02' has no child units"),
        ("{metric: total_criteria, scope: V-LC, value: 1}", r"'total_criteria' is computed over communes, 'V-LC' is a village"),
        ("{metric: total_criteria, value: 3}\n  - {metric: total_criteria, value: 4}", r"targets\[1\]: repeats the target at .*targets\[0\] \(SMC, total_criteria, 2024\)"),
    ],
)
def test_bad_targets_are_refused(store, tmp_path, item, match):
    path = _write(tmp_path, "bad.yaml", f"scope: SMC\ntarget_year: 2024\ntargets:\n  - {item}\n")
    before = _sha(store.path)
    with pytest.raises(ImportValidationError, match=match):
        targets.import_targets(store, path)
    assert _sha(store.path) == before


def test_bad_files_are_refused(store, tmp_path):
    before = _sha(store.path)
    with pytest.raises(ImportValidationError, match=r"expected a mapping with a non-empty list 'targets'"):
        targets.import_targets(store, _write(tmp_path, "empty.yaml", "scope: SMC\ntargets: []\n"))
    with pytest.raises(ImportValidationError, match=r"cannot read the YAML file"):
        targets.import_targets(store, _write(tmp_path, "broken.yaml", "targets: [\n"))
    with pytest.raises(ImportValidationError, match=r"row 2\.value: expected a number, got 'nhiều'"):
        targets.import_targets(store, _write(tmp_path, "t.csv", "scope,metric,year,value\nSMC,total_criteria,2024,nhiều\n"))
    assert _sha(store.path) == before


def test_dry_run_writes_nothing(store, tmp_path):
    before = _sha(store.path)
    summary = targets.import_targets(store, _write(tmp_path, "smc.yaml", SI_MA_CAI), dry_run=True)
    assert summary["rows"] == 18 and summary["dry_run"] and _sha(store.path) == before


def test_evaluation_in_a_store_without_villages_or_targets(tmp_path):
    s = Store(tmp_path / "bare.gpkg", create=True)
    _add_units(s, "provinces", [{"code": "BGI", "name": "Bắc Giang", "unit_type": "tinh"}])
    assert targets.evaluate_targets(s, 2025).empty
    targets.record_targets(s, [targets.Target("BGI", "share_villages_dat_chuan_edk", 2025, 0.6)])
    out = targets.evaluate_targets(s, 2025, scope_code="BGI")
    assert pd.isna(out["actual"].iloc[0]) and "no villages" in out["note"].iloc[0]

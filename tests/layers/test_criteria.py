import datetime as dt

import pytest

from layers._errors import CriteriaError
from layers.criteria import available_sets, criteria_from_yaml, get_set, set_for_year


def test_shipped_sets():
    sets = available_sets()
    assert {k: len(v) for k, v in sets.items()} == {
        "qd318-2022-xa-ntm": 19, "qd318-2022-xa-ntm-nang-cao": 19, "qd51-2025-xa-ntm": 10}
    basic = get_set("qd318-2022-xa-ntm")
    assert basic.criterion(17).name_vi == "Môi trường và an toàn thực phẩm"
    assert basic.criterion(3).name_vi == "Thủy lợi và phòng, chống thiên tai"
    assert basic.groups[basic.criterion(19).group][0] == "Hệ thống chính trị"
    new = get_set("qd51-2025-xa-ntm")
    assert new.threshold_scheme == "commune_group" and new.valid_from == dt.date(2026, 2, 15)


def test_a_criterion_is_keyed_by_set_and_number():
    assert get_set("qd318-2022-xa-ntm").criterion(5).name_vi == "Trường học"
    assert get_set("qd318-2022-xa-ntm-nang-cao").criterion(5).name_vi == "Giáo dục"
    assert get_set("qd318-2022-xa-ntm-nang-cao").criterion(15).name_vi == "Hành chính công"


def test_no_unverified_thresholds_or_indicators_are_shipped():
    for cset in available_sets().values():
        assert all(not c.indicators for c in cset.criteria), cset.id
        assert "not verified" in cset.notes


def test_set_for_year():
    assert set_for_year(2024).id == "qd318-2022-xa-ntm"
    assert set_for_year(2026).id == "qd51-2025-xa-ntm"
    assert set_for_year(2024, recognition_level="nang_cao").id == "qd318-2022-xa-ntm-nang-cao"
    with pytest.raises(CriteriaError, match="no dat_chuan criteria set for commune level in force in 2040"):
        set_for_year(2040)


def test_unknown_set_and_criterion():
    with pytest.raises(CriteriaError, match="unknown criteria set 'qd999'; known sets: qd318-2022-xa-ntm"):
        get_set("qd999")
    with pytest.raises(CriteriaError, match="has no criterion 20; expected a number from 1 to 19"):
        get_set("qd318-2022-xa-ntm").criterion(20)


@pytest.mark.parametrize(
    "header, number",
    [("TC1", 1), ("TC 01", 1), ("Tiêu chí 2", 2), ("tc_2", 2), ("2", 2), ("2. Giao thông", 2), ("Giao thông", 2),
     ("giao_thong", 2), ("Môi trường và an toàn thực phẩm", 17), ("Tiêu chí số 19", 19), ("TC20", None),
     ("Ghi chú", None), ("Tên xã", None)],
)
def test_match_column(header, number):
    assert get_set("qd318-2022-xa-ntm").match_column(header) == number


BROKEN = """
id: Bad Id
version: 1
title_vi: x
title_en: x
legal_act: x
unit_level: commune
recognition_level: dat_chuan
threshold_scheme: region
valid_from: "2022/03/08"
groups: [{code: g, name_vi: G, name_en: G}]
criteria:
  - {number: 1, code: a, group: g, name_vi: A, name_en: A}
  - {number: 3, code: a, group: nope, name_vi: B, name_en: B, indicators: [{id: "2.1", name_vi: x}]}
"""


def test_broken_file_reports_every_problem_with_key_paths(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BROKEN.replace("id: Bad Id", "id: bad"), encoding="utf-8")
    with pytest.raises(CriteriaError) as info:
        criteria_from_yaml(path)
    msg = str(info.value)
    assert "numbers must run 1..2 once each, got [1, 3]" in msg
    assert "criteria[1].group: unknown group 'nope'" in msg
    assert "criteria[1].code: 'a' repeats criteria[0]" in msg
    assert "criteria[1].indicators[0].id: '2.1' must start with the criterion number '3.'" in msg
    assert "valid_from: expected a date" in msg
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(CriteriaError, match=r"id: 'Bad Id' does not match"):
        criteria_from_yaml(path)
    path.write_text(BROKEN.replace('"2022/03/08"', "2022-13-01"), encoding="utf-8")
    with pytest.raises(CriteriaError, match="cannot read criteria set: month must be in 1..12"):
        criteria_from_yaml(path)
    path.write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(CriteriaError, match="cannot read criteria set"):
        criteria_from_yaml(path)

"""Matching free text to vocabulary codes; yes/no, numbers, voltages and criteria lists."""

from __future__ import annotations

import math

import numpy as np
import pytest

from layers import vocab
from layers.criteria import get_set


@pytest.mark.parametrize("kind, value, code", [
    ("road_classes", "Quốc lộ", "quoc_lo"),
    ("road_classes", "QL", "quoc_lo"),
    ("road_classes", "quoc_lo", "quoc_lo"),
    ("road_classes", "National road", "quoc_lo"),
    ("road_classes", "QL.4D", "quoc_lo"),
    ("road_classes", "ĐT 153", "tinh_lo"),
    ("road_classes", "  đường   HUYỆN ", "huyen_lo"),
    ("road_surfaces", "Bê tông xi măng", "concrete"),
    ("road_surfaces", "BTXM", "concrete"),
    ("road_surfaces", "Bê-tông", "concrete"),
    ("road_surfaces", "Đường nhựa", "asphalt"),
    ("school_levels", "TH&THCS", "th_thcs"),
    ("school_levels", "Mầm non", "mam_non"),
    ("culture_house_scopes", "thôn", "village"),
    ("market_classes", 1.0, "hang_1"),
    ("market_classes", np.int64(2), "hang_2"),
    ("funding_sources", "Vốn lồng ghép", "integrated"),
    ("funding_sources", "NSĐP", "local_budget"),
    ("project_states", "Đang thi công", "under_way"),
    ("regions", "Tây Nguyên", "tn"),
])
def test_match_vocab(kind, value, code):
    assert vocab.match_vocab(kind, value) == code


@pytest.mark.parametrize("kind, value", [
    ("road_classes", "cao tốc"), ("road_classes", "QL4DX"), ("road_surfaces", ""), ("road_surfaces", None),
    ("market_classes", 4), ("school_levels", float("nan")),
])
def test_match_vocab_misses(kind, value):
    assert vocab.match_vocab(kind, value) is None


def test_every_vocabulary_indexes_without_ambiguity():
    for kind in vocab.vocab_kinds():
        codes = vocab.vocab_codes(kind)
        assert [vocab.match_vocab(kind, c) for c in codes] == codes


def test_unknown_vocabulary_names_the_known_ones():
    with pytest.raises(KeyError, match="road_classes"):
        vocab.match_vocab("bridges", "x")


def test_labels_and_accepted_values():
    assert vocab.vocab_labels("road_surfaces")["concrete"] == "Bê tông"
    assert vocab.vocab_labels("road_surfaces", "en")["concrete"] == "Concrete"
    assert vocab.accepted_values("project_states").startswith("planned (Kế hoạch), under_way (Đang thực hiện)")
    with pytest.raises(ValueError, match="'lang' must be 'vi' or 'en'"):
        vocab.vocab_labels("road_surfaces", "fr")


@pytest.mark.parametrize("value, expected", [
    ("có", True), ("Có", True), (" CÓ ", True), ("Khong  Dat", False), ("x", True), ("X", True), ("1", True), (1, True), (1.0, True), ("Đạt", True),
    ("yes", True), ("TRUE", True), (True, True), (np.bool_(True), True),
    ("không", False), ("Không đạt", False), ("chưa đạt", False), ("0", False), (0, False), ("no", False),
    ("false", False), (False, False),
    ("", None), ("  ", None), (None, None), (float("nan"), None),
])
def test_parse_bool(value, expected):
    assert vocab.parse_bool(value) is expected


@pytest.mark.parametrize("value", ["có lẽ", "2", 2, "maybe", "đạt?", "-"])
def test_parse_bool_refuses(value):
    with pytest.raises(ValueError, match="expected yes or no"):
        vocab.parse_bool(value)


@pytest.mark.parametrize("value, expected", [
    ("1.234,5", 1234.5), ("1,234.5", 1234.5), ("0,4", 0.4), ("1.234.567", 1234567.0), ("1 234,5", 1234.5),
    ("0.400", 0.4), ("7", 7.0), (" 7 ", 7.0), ("-2,5", -2.5), (3, 3.0), (np.int64(3), 3.0), (2.75, 2.75),
    ("", None), (None, None),
])
def test_parse_number(value, expected):
    assert vocab.parse_number(value) == expected


@pytest.mark.parametrize("value, match", [
    ("12.500", "ambiguous number '12.500'.*12500 \\(thousands\\) or 12.5 \\(decimal\\)"),
    ("1,234", "ambiguous number"),
    ("abc", "expected a number"),
    ("1.2.3", "expected a number"),
    ("5 km", "expected a number"),
    (True, "expected a number"),
])
def test_parse_number_refuses(value, match):
    with pytest.raises(ValueError, match=match):
        vocab.parse_number(value)


def test_parse_number_units():
    assert vocab.parse_number("3,5 m", units=("m",)) == 3.5
    assert vocab.parse_number("1.200,5 triệu", units=("trieu",)) == 1200.5
    with pytest.raises(ValueError, match="optionally followed by m"):
        vocab.parse_number("3,5 km", units=("m",))


@pytest.mark.parametrize("value, kv", [
    ("22kV", 22.0), ("35 kV", 35.0), ("0,4", 0.4), ("0,4 kV", 0.4), ("110KV", 110.0), (22, 22.0),
    (0.4, 0.4), ("22/0,4", 22.0), ("35/22 kV", 35.0), ("400 V", 0.4), ("", None),
])
def test_parse_voltage(value, kv):
    result = vocab.parse_voltage(value)
    assert result == kv if kv is None else math.isclose(result, kv)


@pytest.mark.parametrize("value", ["hai mươi hai", "22 kW", "22/abc"])
def test_parse_voltage_refuses(value):
    with pytest.raises(ValueError, match="expected a voltage in kV"):
        vocab.parse_voltage(value)


@pytest.mark.parametrize("value, expected", [
    ("2, 5", "2,5"), ("TC2;TC5", "2,5"), ("TC5; TC2; tc 02", "2,5"), ("Giao thông", "2"),
    ("Giao thông, Trường học", "2,5"), ("TC2 Giao thông; TC5 Trường học", "2,5"),
    ("Thủy lợi và phòng, chống thiên tai; Điện", "3,4"), (17, "17"), (4.0, "4"), ("", None),
])
def test_parse_criteria(value, expected):
    assert vocab.parse_criteria(value, get_set("qd318-2022-xa-ntm")) == expected


def test_parse_criteria_refuses_outside_the_set():
    with pytest.raises(ValueError, match="'TC25' is not in set qd318-2022-xa-ntm \\(criteria 1–19"):
        vocab.parse_criteria("TC2, TC25", get_set("qd318-2022-xa-ntm"))
    with pytest.raises(ValueError, match="'12' is not in set qd51-2025-xa-ntm \\(criteria 1–10"):
        vocab.parse_criteria("2, 12", get_set("qd51-2025-xa-ntm"))

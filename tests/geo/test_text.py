import pytest

from geo.text import ascii_fold, mojibake_reason, nfc, slugify, split_type_prefix


def test_nfc_joins_decomposed_marks_and_spaces():
    decomposed = "Tha\u0300o  Chư\u0300 Phi\u0300n "
    assert nfc(decomposed) == "Thào Chừ Phìn"
    assert len(nfc("Ha\u0300")) == 2


@pytest.mark.parametrize(
    "text, slug",
    [("Quan Hồ Thẩn", "quan-ho-than"), ("Xã Thào Chư Phìn", "xa-thao-chu-phin"), ("Đắk Lắk", "dak-lak"),
     ("Bà Rịa - Vũng Tàu", "ba-ria-vung-tau")],
)
def test_slugify(text, slug):
    assert slugify(text) == slug


def test_ascii_fold_keeps_case():
    assert ascii_fold("Sín Chéng") == "Sin Cheng"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("LÃ\xa0o Cai", "UTF-8 read as Windows-1252"),
        ("Quáº£ng Ninh", "UTF-8 read as Windows-1252"),
        ("Lµo Cai", "TCVN3/VNI"),
        ("§iÖn Biªn", "TCVN3/VNI"),
        ("Laøo Cai", "TCVN3/VNI"),
        ("Lao Cai\ufffd", "replacement"),
    ],
)
def test_mojibake_is_reported(text, fragment):
    assert fragment in mojibake_reason(text)


@pytest.mark.parametrize("text", ["Thào Chư Phìn", "Quan Hồ Thẩn", "Đạt", "Ea H'leo", "Phường 15", None, ""])
def test_proper_vietnamese_passes(text):
    assert mojibake_reason(text) is None


def test_split_type_prefix_prefers_longest():
    prefixes = {"Thị trấn": "thi_tran", "Thị xã": "thi_xa", "Xã": "xa"}
    assert split_type_prefix("Thị trấn Si Ma Cai", prefixes) == ("thi_tran", "Si Ma Cai")
    assert split_type_prefix("xã  Sán Chải", prefixes) == ("xa", "Sán Chải")
    assert split_type_prefix("Sán Chải", prefixes) == (None, "Sán Chải")


def test_split_type_prefix_respects_diacritics_unless_there_are_none():
    prefixes = {"Xã": "xa", "Thị trấn": "thi_tran"}
    assert split_type_prefix("Xá Ta", prefixes) == (None, "Xá Ta")
    assert split_type_prefix("XÃ BẢN MẾ", prefixes) == ("xa", "BẢN MẾ")
    assert split_type_prefix("Xa Thao Chu Phin", prefixes) == ("xa", "Thao Chu Phin")
    assert split_type_prefix("Thi tran Si Ma Cai", prefixes) == ("thi_tran", "Si Ma Cai")

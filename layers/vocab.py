"""Free-text values from imported files -> vocabulary codes, booleans, numbers, criteria.

Files made by districts write the same thing many ways ("Quốc lộ", "QL", "quoc_lo",
"National road"; "Bê tông xi măng", "BTXM"; "0,4 kV"). Every import matches them here,
against ``layers/data/vocabulary.yaml``, so that one alias list serves all imports.
Matching folds diacritics and case and collapses punctuation and spaces. Numbers accept
the Vietnamese decimal comma ("1.234,5"), voltages their unit ("22 kV"), and criteria
lists the forms of project registers ("TC2; TC5", "Giao thông").
"""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import pandas as pd

from geo.text import ascii_fold, nfc
from .admin_units import vocabulary
from .criteria import CriteriaSet

__all__ = [
    "fold_key",
    "vocab_kinds",
    "vocab_codes",
    "vocab_labels",
    "match_vocab",
    "accepted_values",
    "is_blank",
    "cell_text",
    "parse_bool",
    "parse_number",
    "parse_voltage",
    "parse_criteria",
]

_TRUE = ("có", "co", "x", "1", "đạt", "dat", "yes", "y", "true", "t", "đúng", "dung", "rồi", "roi")
_FALSE = (
    "không", "khong", "0", "không đạt", "khong dat", "chưa đạt", "chua dat", "chưa", "chua",
    "no", "n", "false", "f", "sai",
)
# Road numbers written in a class column: "QL4D", "QL.279", "ĐT 153", "ĐH-12".
_ROAD_NUMBER = re.compile(r"^(ql|dt|tl|dh|hl|dx)\s*\d+\s*[a-z]?$")


def fold_key(text) -> str:
    """Comparison key: no diacritics, lower case, punctuation and spaces collapsed.

    >>> fold_key("  Bê-tông  xi_măng ")
    'be tong xi mang'
    """
    folded = ascii_fold(nfc(str(text)) or "").lower()
    return re.sub(r"[^a-z0-9]+", " ", folded).strip()


def vocab_kinds() -> list[str]:
    """Section names of the vocabulary file."""
    return list(vocabulary())


def _section(kind: str) -> dict:
    vocab = vocabulary()
    if kind not in vocab:
        raise KeyError(f"unknown vocabulary '{kind}'; known: {', '.join(vocab)}")
    return vocab[kind]


def vocab_codes(kind: str) -> list[str]:
    """Codes of one vocabulary, in file order."""
    return [str(code) for code in _section(kind)]


def vocab_labels(kind: str, lang: str = "vi") -> dict[str, str]:
    """Code -> user-facing label ("vi" or "en") of one vocabulary."""
    if lang not in ("vi", "en"):
        raise ValueError(f"'lang' must be 'vi' or 'en', got {lang!r}")
    return {str(code): spec.get(lang, str(code)) for code, spec in _section(kind).items()}


@functools.cache
def _index(kind: str) -> dict[str, str]:
    """Folded code / label / alias -> code. A key naming two codes is a vocabulary error."""
    out: dict[str, str] = {}
    for code, spec in _section(kind).items():
        code = str(code)
        keys = [code, spec.get("vi", ""), spec.get("en", ""), *spec.get("aliases", [])]
        for key in filter(None, map(fold_key, keys)):
            if out.get(key, code) != code:
                raise ValueError(
                    f"vocabulary '{kind}': '{key}' names both '{out[key]}' and '{code}'; "
                    "fix layers/data/vocabulary.yaml"
                )
            out[key] = code
    return out


def _python(value):
    """numpy scalars (as pandas hands them out) -> Python scalars."""
    return value.item() if isinstance(value, np.generic) else value


def cell_text(value) -> str:
    """Text of a cell; whole floats lose their '.0' (a market class read as 1.0 is '1')."""
    value = _python(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def match_vocab(kind: str, value) -> str | None:
    """The code of vocabulary ``kind`` that ``value`` names, or None.

    Accepts the code, the Vietnamese or English label, or any alias.

    Examples
    --------
    >>> match_vocab("road_classes", "Quốc lộ"), match_vocab("road_surfaces", "BTXM")
    ('quoc_lo', 'concrete')
    """
    if is_blank(value):
        return None
    key = fold_key(cell_text(value))
    index = _index(kind)
    if key in index:
        return index[key]
    if kind == "road_classes":
        m = _ROAD_NUMBER.match(key)
        if m:
            return index.get(m.group(1))
    return None


def accepted_values(kind: str, lang: str = "vi") -> str:
    """Codes with their labels, for error messages: "quoc_lo (Quốc lộ), tinh_lo (Đường tỉnh)"."""
    return ", ".join(f"{code} ({label})" for code, label in vocab_labels(kind, lang).items())


def is_blank(value) -> bool:
    """None, NaN, pandas NA or a string of spaces."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-like cells are not blank
        return False


def _bool_key(text: str) -> str:
    """Like ``fold_key`` but punctuation matters: "đạt?" is a question, not "Đạt"."""
    return re.sub(r"\s+", " ", ascii_fold(nfc(text) or "").lower()).strip()


_BOOL = {_bool_key(v): True for v in _TRUE} | {_bool_key(v): False for v in _FALSE}


def parse_bool(value) -> bool | None:
    """Yes/no cells as planners write them: "có", "x", "Đạt", "không đạt", 1, "false" …

    Case, diacritics and spacing do not matter; punctuation does ("đạt?" is refused).
    Blank gives None (unknown). Anything else raises ``ValueError`` naming the
    accepted spellings.
    """
    if is_blank(value):
        return None
    value = _python(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    key = _bool_key(cell_text(value))
    if key in _BOOL:
        return _BOOL[key]
    raise ValueError(
        f"expected yes or no (có/không, x, đạt/không đạt, 1/0, yes/no, true/false), got {value!r}"
    )


def parse_number(value, *, units: tuple[str, ...] = ()) -> float | None:
    """A number from a cell, Vietnamese formatting included.

    "1.234,5" and "1,234.5" are 1234.5; "0,4" is 0.4; "1.234.567" is 1234567. A single
    separator followed by exactly three digits after a non-zero part ("12.500",
    "1,250") is refused as ambiguous (thousands or decimals?) rather than guessed.
    A trailing unit from ``units`` (compared folded: "kV" ~ "kv") is allowed.
    Blank gives None; anything else raises ``ValueError``.
    """
    if is_blank(value):
        return None
    value = _python(value)
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isinf(value):
            raise ValueError(f"expected a finite number, got {value!r}")
        return float(value)
    text = (nfc(str(value)) or "").replace("\u00a0", " ")
    m = re.fullmatch(r"\s*([+-]?[\d.,\s]*\d)\s*(.*?)\s*", text)
    unit_ok = m is not None and (not m.group(2) or fold_key(m.group(2)) in {fold_key(u) for u in units})
    if not unit_ok:
        wanted = f" (optionally followed by {', '.join(units)})" if units else ""
        raise ValueError(f"expected a number{wanted}, got {value!r}")
    digits = re.sub(r"\s+", "", m.group(1))
    return _parse_digits(digits, value)


def _parse_digits(digits: str, original) -> float:
    sign = -1.0 if digits.startswith("-") else 1.0
    body = digits.lstrip("+-")
    dots, commas = body.count("."), body.count(",")
    if dots and commas:
        decimal = "." if body.rfind(".") > body.rfind(",") else ","
        thousands = "," if decimal == "." else "."
        if body.count(decimal) > 1:
            raise ValueError(f"expected a number, got {original!r}")
        body = body.replace(thousands, "").replace(decimal, ".")
    elif dots > 1 or commas > 1:
        sep = "." if dots else ","
        if not re.fullmatch(rf"\d{{1,3}}(\{sep}\d{{3}})+", body):
            raise ValueError(f"expected a number, got {original!r}")
        body = body.replace(sep, "")
    elif dots or commas:
        sep = "." if dots else ","
        head, tail = body.split(sep)
        if len(tail) == 3 and head and head.lstrip("0") and len(head) <= 3:
            decimal = tail.rstrip("0") or "0"
            decimal = decimal if len(decimal) < 3 else tail + "0"
            raise ValueError(
                f"ambiguous number {original!r}: is '{sep}' a thousands separator or the "
                f"decimal mark? write {head}{tail} (thousands) or {head}{sep}{decimal} (decimal)"
            )
        body = f"{head or '0'}.{tail}"
    try:
        return sign * float(body)
    except ValueError:
        raise ValueError(f"expected a number, got {original!r}") from None


def parse_voltage(value) -> float | None:
    """kV from what line and substation files write: 22, "22kV", "35 kV", "0,4", "400 V".

    A ratio ("22/0,4 kV", a transformer's primary/secondary) gives the higher (primary)
    voltage. Blank gives None; anything else raises ``ValueError``.
    """
    if is_blank(value):
        return None
    if not isinstance(value, str):
        return parse_number(value)
    text = value
    if "/" in text:
        parts = [parse_voltage(p) for p in text.split("/")]
        if None in parts:
            raise ValueError(f"expected a voltage in kV such as 22, '35 kV' or '22/0,4', got {value!r}")
        return max(parts)
    scale = 1.0
    if re.search(r"\d\s*[vV]\s*$", text):  # volts: "400 V"
        scale, text = 0.001, re.sub(r"[vV]\s*$", "", text)
    try:
        number = parse_number(text, units=("kv",))
    except ValueError:
        raise ValueError(f"expected a voltage in kV such as 22, '35 kV' or '0,4', got {value!r}") from None
    return None if number is None else number * scale


def parse_criteria(value, cset: CriteriaSet) -> str | None:
    """Criteria a project serves, normalised to sorted numbers: "TC2;TC5" -> "2,5".

    Accepts numbers ("2, 5"), codes ("TC2; TC5") and names ("Giao thông"), separated by
    , ; / + or |. Names containing a comma ("Thủy lợi và phòng, chống thiên tai") are
    matched whole. Raises ``ValueError`` naming a piece that is not in ``cset``.
    """
    if is_blank(value):
        return None
    if isinstance(value, (int, float, np.number)) and float(value).is_integer():
        value = str(int(value))
    pieces = [p.strip() for p in re.split(r"[;,/+|\n]", str(value))]
    found: set[int] = set()
    k = 0
    while k < len(pieces):
        if not pieces[k]:
            k += 1
            continue
        for end in range(k + 1, len(pieces) + 1):  # shortest run of pieces naming a criterion
            number = cset.match_column(", ".join(pieces[k:end]))
            if number is not None:
                found.add(number)
                k = end
                break
        else:
            raise ValueError(
                f"criterion '{pieces[k]}' is not in set {cset.id} (criteria 1–{len(cset)}, "
                "written as numbers, TC<n> or names)"
            )
    return ",".join(str(n) for n in sorted(found)) or None

"""Vietnamese names: Unicode normalisation, ASCII slugs, and detection of mis-decoded text.

Names arrive from shapefiles written by many tools over twenty years: NFD text from
macOS, UTF-8 read as Windows-1252 ("LÃ o Cai"), and the pre-Unicode TCVN3 / VNI fonts
("Lµo Cai", "Laøo Cai"). We store NFC and refuse to store text that is clearly broken.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["nfc", "slugify", "ascii_fold", "mojibake_reason", "split_type_prefix"]

_D = str.maketrans({"đ": "d", "Đ": "D"})

# Latin-1 characters that never occur in Vietnamese but fill the TCVN3 (ABC) and VNI
# legacy encodings, e.g. "§" (TCVN3 Đ), "µ" (TCVN3 à), "ø" and "ö" (VNI tone marks).
_LEGACY_CHARS = set("µ¸¶·¹¨»¾¼½Æ©ÇËÎÏÑª×ØÜÞßäå«ëîïñ¬öøûü®§¦¢¤¥¡£Ð÷ÿ¯°±²³¿þæçðÅ")
# Two-character runs typical of UTF-8 bytes decoded as Windows-1252 / Latin-1.
_UTF8_AS_CP1252 = re.compile(r"Ã[\x80-\xbf ¡-ÿ]|Ä[\x80-\xbf‘’]|á»|áº|Æ°|Æ¡|Ä‘|Ä�")


def nfc(text: str | None) -> str | None:
    """The text in Unicode NFC with surrounding and repeated spaces removed."""
    if text is None:
        return None
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", str(text))).strip()


def ascii_fold(text: str) -> str:
    """Remove Vietnamese diacritics: "Thào Chư Phìn" -> "Thao Chu Phin"."""
    decomposed = unicodedata.normalize("NFD", text.translate(_D))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def slugify(text: str) -> str:
    """ASCII slug for URLs and searches: "Quan Hồ Thẩn" -> "quan-ho-than".

    >>> slugify("Xã Thào Chư Phìn")
    'xa-thao-chu-phin'
    """
    folded = ascii_fold(nfc(text) or "").lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


def mojibake_reason(text: str | None) -> str | None:
    """Why ``text`` looks mis-decoded, or None when it looks like proper Vietnamese."""
    if not text:
        return None
    if "\ufffd" in text:
        return "contains U+FFFD replacement characters (bytes lost in decoding)"
    if _UTF8_AS_CP1252.search(text):
        try:
            fixed = text.encode("cp1252").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            fixed = None
        hint = f"; it reads '{fixed}' when decoded as UTF-8" if fixed else ""
        return "looks like UTF-8 read as Windows-1252 (e.g. 'Ã', 'á»')" + hint
    legacy = sorted({c for c in text if c in _LEGACY_CHARS})
    if legacy:
        return (
            "contains characters of the legacy TCVN3/VNI font encodings "
            f"({''.join(legacy)}); convert the file to Unicode first"
        )
    return None


def split_type_prefix(name: str, prefixes: dict[str, str]) -> tuple[str | None, str]:
    """Split a leading unit-type word: ("Xã Thào Chư Phìn", {"Xã": "xa"}) -> ("xa", "Thào Chư Phìn").

    ``prefixes`` maps the written prefix to the unit-type code; matching ignores case and
    prefers the longest prefix ("Thị trấn" before "Thị"). Diacritics count ("Xá Ta" is a
    name, not "Xã Ta"), except in names written without any ("Xa Thao Chu Phin").
    """
    text = nfc(name) or ""
    plain = text.isascii()
    subject = text.lower()
    for prefix in sorted(prefixes, key=len, reverse=True):
        key = (ascii_fold(prefix) if plain else nfc(prefix)).lower()
        if subject.startswith(key + " ") and len(text) > len(key) + 1:
            return prefixes[prefix], text[len(key) + 1 :].strip()
    return None, text

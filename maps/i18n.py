"""User-facing strings: one YAML file per language in ``maps/i18n/`` (Vietnamese first)."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

__all__ = ["LANGS", "strings", "t"]

LANGS = ("vi", "en")
_DIR = Path(__file__).with_name("i18n")


@functools.cache
def strings(lang: str) -> dict:
    """All strings of one language; an unknown language is a ValueError naming the known ones."""
    if lang not in LANGS:
        raise ValueError(f"'lang' must be one of {LANGS}, got {lang!r}")
    return yaml.safe_load((_DIR / f"{lang}.yaml").read_text(encoding="utf-8"))


def t(key: str, lang: str = "vi") -> str:
    """The string at a dotted key ("modes.count"); a missing key is a KeyError naming it."""
    node = strings(lang)
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"no '{key}' in maps/i18n/{lang}.yaml")
        node = node[part]
    return node

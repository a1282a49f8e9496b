"""Reading the CSV/XLSX tables planners send, shared by the plans, recognitions and targets imports.

Planners' spreadsheets come with Vietnamese or English headers, blank rows, Excel's
floats for whole numbers ("2024.0") and names where codes belong. The helpers here turn
such a file into text cells, map its headers to canonical column names, resolve unit
names to codes and log the import, so that every importer reads files the same way.
The cell parsers ``as_int`` and ``as_text`` are also used by ``status`` and
``status_io``.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from geo.text import ascii_fold, nfc
from . import schema
from ._errors import ValidationReport
from .store import Store, utc_now

if TYPE_CHECKING:
    from .admin_units import UnitMatcher

__all__ = [
    "words",
    "read_sheet",
    "map_columns",
    "cell",
    "is_missing",
    "as_int",
    "as_text",
    "resolve_unit",
    "unit_names",
    "log_import",
]


# --- cell values ----------------------------------------------------------------------


def words(text: str) -> str:
    """Folded, lower-case words without punctuation, for matching what planners write.

    Examples
    --------
    >>> words("Môi trường & ATTP")
    'moi truong va attp'
    """
    folded = ascii_fold(nfc(str(text)) or "").lower().replace("&", " va ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", folded).split())


def cell(rec: Mapping, col: str | None) -> str | None:
    """A cell's stripped text, or None when empty (or when the column is absent)."""
    if col is None:
        return None
    value = rec.get(col)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def is_missing(value) -> bool:
    """Whether a cell holds nothing: None, NA, NaT or NaN."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def as_int(value) -> int | None:
    """A whole number from an int, a whole float (Excel's 2024.0) or digits; else None.

    Examples
    --------
    >>> as_int(2024.0), as_int(" 17 "), as_int(True), as_int("17a")
    (2024, 17, None, None)
    """
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def as_text(value) -> str | None:
    """Stripped text of a cell, a whole float without its '.0'; None when empty.

    Examples
    --------
    >>> as_text(17.0), as_text("  TC17 "), as_text(float("nan"))
    ('17', 'TC17', None)
    """
    if is_missing(value):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


# --- sheets and headers ---------------------------------------------------------------


def _norm_header(text) -> str:
    return re.sub(r"[^a-z0-9]+", "_", ascii_fold(nfc(str(text)) or "").lower()).strip("_")


def read_sheet(path: Path, report: ValidationReport) -> pd.DataFrame:
    """A CSV (UTF-8) or the first sheet of an XLSX as text cells ('' for empty).

    Blank rows are dropped and text is NFC-normalised. A missing, unreadable or
    unsupported file is reported in ``report`` and gives an empty frame.
    """
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                             skipinitialspace=True)
        elif suffix in (".xlsx", ".xlsm"):
            df = pd.read_excel(path, dtype=str, engine="openpyxl").fillna("")
        else:
            report.error(f"unsupported file type '{suffix}'; expected .csv or .xlsx", file=path.name)
            return pd.DataFrame()
    except FileNotFoundError:
        report.error("file not found", file=str(path))
        return pd.DataFrame()
    except (UnicodeDecodeError, ValueError, OSError, pd.errors.ParserError) as exc:
        report.error(f"cannot read the file: {exc}; save it as UTF-8 CSV or XLSX", file=path.name)
        return pd.DataFrame()
    df = df.astype(object).map(lambda v: nfc(v) if isinstance(v, str) else v)
    blank = df.apply(lambda r: all(v in ("", None) for v in r), axis=1) if len(df) else []
    return df[~np.asarray(blank, dtype=bool)] if len(df) else df


def map_columns(
    df: pd.DataFrame, spec: dict[str, Sequence[str]], report: ValidationReport, *, file: str
) -> dict[str, str]:
    """Canonical name -> the file's header, from accepted (normalised) header aliases.

    Unused headers are warned about; two headers giving the same name are an error.
    """
    lookup = {alias: name for name, aliases in spec.items() for alias in aliases}
    found: dict[str, str] = {}
    for header in df.columns:
        name = lookup.get(_norm_header(header))
        if name is None:
            report.warn(f"column '{header}' is not used", file=file, column=str(header))
        elif name in found:
            report.error(f"columns '{found[name]}' and '{header}' both give '{name}'; keep one",
                         file=file, column=str(header))
        else:
            found[name] = header
    return found


# --- units ----------------------------------------------------------------------------


def resolve_unit(matcher: UnitMatcher, text, parent, report: ValidationReport, where: dict) -> str | None:
    """A unit code from a code or a name (with an optional parent), or None after an error."""
    if not text:
        report.error(f"no {matcher.level} given", **where)
        return None
    code = matcher.by_code(text)
    if code:
        return code
    code, reason = matcher.by_name(str(text), parent or None)
    if code is None:
        report.error(f"{reason}; give a {matcher.level} code or a name known in the store", **where)
    return code


def unit_names(store: Store, level: str, codes: Iterable[str]) -> dict[str, str]:
    """Code -> name (the latest vintage's) for the given codes of one admin level."""
    codes = sorted({c for c in codes if c is not None})
    if not codes:
        return {}
    table = schema.ADMIN_TABLE[level]
    df = store.read_table(table, f"code IN ({', '.join('?' * len(codes))})", codes,
                          columns=["code", "name", "valid_from"], order_by="ifnull(valid_from, '')")
    return dict(zip(df["code"], df["name"]))


# --- import log -----------------------------------------------------------------------


def log_import(store: Store, conn: sqlite3.Connection, kind: str, path: str | Path, rows: int,
               warnings: list[str], started: str, recorded_by: str | None) -> None:
    """Add one ``import_log`` row inside the importer's transaction, so the log and the
    rows it describes are written together."""
    store.insert_rows(conn, "import_log", [{
        "kind": kind, "source": str(path), "rows_written": rows,
        "warnings": json.dumps(warnings, ensure_ascii=False) if warnings else None,
        "started_at": started, "finished_at": utc_now(), "recorded_by": recorded_by,
    }])

"""Predictions as CSV and JSON downloads.

Text cells that a spreadsheet would run as a formula (starting with
``= + - @``, a tab or a carriage return) get a leading apostrophe; numbers are
written as numbers, so that they stay numbers in the spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

__all__ = ["FORMULA_PREFIXES", "neutralise_cell", "to_csv", "to_json"]

# OWASP's list of characters that make a spreadsheet treat a cell as formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """The value as a spreadsheet should see it: text made inert, numbers kept."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text with a header; every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([neutralise_cell(c) for c in columns])
    for row in rows:
        writer.writerow([neutralise_cell(v) for v in row])
    return buffer.getvalue()


def to_json(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A JSON list of objects; values keep their JSON types."""
    records = [
        {
            c: (v.isoformat() if isinstance(v, datetime) else v)
            for c, v in zip(columns, row)
        }
        for row in rows
    ]
    return json.dumps(records, indent=1)

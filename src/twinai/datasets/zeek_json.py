"""Zeek conn.log as JSON lines (``LogAscii::use_json``, Slips, Stratosphere).

Each line is one object; absent keys are unset fields. Lines are decoded by
polars against a fixed set of string-typed fields, so a batch of well-formed
lines never goes through Python objects; a batch holding a malformed line is
decoded line by line to reject exactly the bad ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import polars as pl

from twinai.datasets._base import FlowImporter
from twinai.datasets._report import ImportReport
from twinai.datasets._text import iter_line_batches
from twinai.datasets._zeek import (
    DETAIL_FIELDS,
    LABEL_FIELDS,
    ZEEK_FIELDS,
    estimate_payload,
    stage_zeek,
)

__all__ = ["ZeekJSONImporter"]

_FIELDS = ("ts", *ZEEK_FIELDS, *LABEL_FIELDS, *DETAIL_FIELDS)
_STRUCT = pl.Struct({name: pl.String for name in _FIELDS})


class ZeekJSONImporter(FlowImporter):
    """Zeek conn.log written as one JSON object per line."""

    name: ClassVar[str] = "zeek-json"
    dataset: ClassVar[str] = "zeek"

    @classmethod
    def sniff(cls, head: list[str]) -> bool:
        first = next((line for line in head if line.strip()), "")
        return first.lstrip().startswith("{") and '"id.orig_h"' in first

    def stage(self, path: Path, report: ImportReport) -> Iterator[pl.DataFrame]:
        report.dataset = report.dataset or self.dataset
        for batch in iter_line_batches(path):
            frame = batch.frame().filter(pl.col("_text").str.strip_chars() != "")
            decoded = _decode(frame)
            names = [n for n in _FIELDS if decoded[n].null_count() < decoded.height]
            yield stage_zeek(decoded, names, self.unset_markers)

    def derive(self, batch: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
        return estimate_payload(batch, report)


def _decode(frame: pl.DataFrame) -> pl.DataFrame:
    """Columns ``_line``, ``_reject`` and one string column per Zeek field."""
    try:
        fields = frame["_text"].str.json_decode(_STRUCT)
        problem = pl.Series("_reject", [None] * frame.height, dtype=pl.String)
    except pl.exceptions.ComputeError:
        fields, problem = _decode_each(frame["_text"])
    objects = pl.DataFrame({"_s": fields}).unnest("_s")
    return pl.concat(
        [frame.select("_line"), problem.to_frame(), objects], how="horizontal"
    )


def _decode_each(lines: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Slow path: decode line by line, naming the lines that are not objects."""
    rows: list[dict[str, str | None]] = []
    problems: list[str | None] = []
    for line in lines:
        record: Any
        problem: str | None
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            record, problem = {}, f"invalid JSON ({exc.msg})"
        else:
            problem = (
                None if isinstance(record, dict) else "JSON value is not an object"
            )
            record = record if isinstance(record, dict) else {}
        rows.append(
            {n: None if record.get(n) is None else _text(record[n]) for n in _FIELDS}
        )
        problems.append(problem)
    return pl.Series("_s", rows, dtype=_STRUCT), pl.Series(
        "_reject", problems, dtype=pl.String
    )


def _text(value: object) -> str:
    """A JSON value as the text Zeek's TSV would hold."""
    if isinstance(value, bool):
        return "T" if value else "F"
    return str(value)

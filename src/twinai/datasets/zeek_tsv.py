"""Zeek conn.log in its native TSV form.

The ``#fields`` line names the columns; they are read by that name, never by
position, because Zeek versions, scripts and labelling tools add, drop and
reorder fields. ``#separator`` (escaped, usually ``\\x09``), ``#unset_field``
(``-``) and ``#empty_field`` (``(empty)``) come from the header too. Logs
concatenated with ``cat`` repeat the header block; a repeated block with the
same fields is skipped, one with other fields stops the import with the line
to split at.

IoT-23's ``conn.log.labeled`` writes its last three fields (``tunnel_parents
label detailed-label``) separated by spaces instead of tabs, in the
``#fields`` line and in every row; a header field that contains spaces is
therefore split on whitespace, and so is the same field of each row.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import polars as pl

from twinai.datasets._base import FlowImporter
from twinai.datasets._report import ImportReport
from twinai.datasets._text import (
    header_error,
    iter_line_batches,
    read_head,
    split_fields,
)
from twinai.datasets._zeek import estimate_payload, stage_zeek

__all__ = ["ZeekHeader", "ZeekTSVImporter", "parse_zeek_header"]

log = logging.getLogger(__name__)

_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")


@dataclass
class ZeekHeader:
    """What the ``#`` lines of a Zeek TSV log say."""

    separator: str
    unset: str
    empty: str
    fields: list[str]  # tab-separated header fields, as written
    fields_line: int  # 1-based
    fields_text: str

    def names(self) -> list[str]:
        """All field names, space-joined groups split."""
        return [name for group in self.fields for name in group.split()]

    def groups(self) -> list[list[str]]:
        """Names per separator-delimited field (more than one for IoT-23's tail)."""
        return [group.split() for group in self.fields]


def parse_zeek_header(path: Path, head: list[str]) -> ZeekHeader:
    """Read the ``#`` header block of a Zeek TSV log."""
    values: dict[str, str] = {}
    fields_line = 0
    separator = "\t"
    for number, line in enumerate(head, start=1):
        if not line.startswith("#"):
            break
        if line.startswith("#separator "):
            escaped = line.partition(" ")[2]
            separator = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), escaped)
            continue
        key, _, value = line[1:].partition(separator)
        values[key] = value
        if key == "fields":
            fields_line = number
    if not fields_line:
        raise header_error(path, 1, "no '#fields' line in the Zeek header",
                           "is this a Zeek TSV log? give --format for another format")  # fmt: skip
    fields_text = "#fields" + separator + values["fields"]
    return ZeekHeader(
        separator=separator,
        unset=values.get("unset_field", "-"),
        empty=values.get("empty_field", "(empty)"),
        fields=values["fields"].split(separator),
        fields_line=fields_line,
        fields_text=fields_text,
    )


class ZeekTSVImporter(FlowImporter):
    """Zeek conn.log, TSV with ``#`` header lines, labelled or not."""

    name: ClassVar[str] = "zeek-tsv"
    dataset: ClassVar[str] = "zeek"

    @classmethod
    def sniff(cls, head: list[str]) -> bool:
        return bool(head) and head[0].startswith(("#separator", "#fields"))

    def stage(self, path: Path, report: ImportReport) -> Iterator[pl.DataFrame]:
        header = parse_zeek_header(path, read_head(path, max_lines=64))
        self.unset_markers = ("", header.unset)
        names = header.names()
        if "conn_state" not in names or "id.orig_h" not in names:
            raise header_error(path, header.fields_line, "not a conn.log (no 'id.orig_h' "
                               "or 'conn_state' field)", "import a conn.log")  # fmt: skip
        report.dataset = report.dataset or self.dataset
        for batch in iter_line_batches(path):
            frame = batch.frame()
            self._check_repeated_headers(path, frame, header)
            frame = frame.filter(
                ~pl.col("_text").str.starts_with("#") & (pl.col("_text") != "")
            )
            yield stage_zeek(self._columns(frame, header), names, self.unset_markers)

    def _check_repeated_headers(
        self, path: Path, frame: pl.DataFrame, header: ZeekHeader
    ) -> None:
        """Refuse logs concatenated from files with different fields."""
        fields = frame.filter(pl.col("_text").str.starts_with("#fields"))
        other = fields.filter(pl.col("_text") != header.fields_text)
        if other.height:
            line = int(other["_line"][0])
            raise header_error(path, line, "a second '#fields' line differs from the one "
                               f"on line {header.fields_line}",
                               f"split the file before line {line} and import both parts")  # fmt: skip

    def _columns(self, frame: pl.DataFrame, header: ZeekHeader) -> pl.DataFrame:
        """Named text columns from one batch of data lines."""
        frame, ragged = split_fields(frame, header.separator, len(header.fields))
        picks: list[pl.Expr] = []
        problems: list[pl.Expr] = [ragged]
        for index, group in enumerate(header.groups()):
            cell = pl.col("_fields").list.get(index, null_on_oob=True)
            if len(group) == 1:
                picks.append(cell.alias(group[0]))
                continue
            parts = cell.str.strip_chars().str.replace_all(r"\s+", " ").str.split(" ")
            problems.append(
                pl.when(parts.list.len() != len(group))
                .then(pl.lit(f"expected {len(group)} space-separated values in "
                             f"'{' '.join(group)}'"))
                .otherwise(None)
            )  # fmt: skip
            picks += [
                parts.list.get(i, null_on_oob=True).alias(n)
                for i, n in enumerate(group)
            ]
        return frame.select("_line", pl.coalesce(problems).alias("_reject"), *picks)

    def derive(self, batch: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
        return estimate_payload(batch, report)

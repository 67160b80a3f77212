"""IoT-23 labelled Zeek flows: ``conn.log.labeled`` and its CSV conversions.

The original files are Zeek TSV logs whose last three fields are joined by
spaces (handled by :mod:`twinai.datasets.zeek_tsv`). Published conversions
to CSV keep Zeek's values (``-``, ``(empty)``) under a single header row and
bring their own quirks: a header ``tunnel_parents `` with a trailing space,
``benign`` in lower case in the honeypot captures, integer-second ``ts``.
Header names are therefore trimmed before they are matched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import polars as pl

from twinai.datasets._report import ImportReport
from twinai.datasets._text import (
    header_error,
    iter_line_batches,
    read_head,
    split_fields,
)
from twinai.datasets._zeek import DETAIL_FIELDS, LABEL_FIELDS, stage_zeek
from twinai.datasets.zeek_tsv import ZeekTSVImporter, parse_zeek_header

__all__ = ["IoT23Importer"]


class IoT23Importer(ZeekTSVImporter):
    """IoT-23 ``conn.log.labeled`` (TSV) or a CSV conversion of it."""

    name: ClassVar[str] = "iot23"
    dataset: ClassVar[str] = "iot-23"

    @classmethod
    def sniff(cls, head: list[str]) -> bool:
        if not head:
            return False
        if head[0].startswith("#"):
            fields = next((line for line in head if line.startswith("#fields")), "")
            return "detailed-label" in fields
        names = {name.strip() for name in head[0].split(",")}
        return {"id.orig_h", "id.resp_h", "conn_state"} <= names

    def stage(self, path: Path, report: ImportReport) -> Iterator[pl.DataFrame]:
        head = read_head(path)
        if head and head[0].startswith("#"):
            parse_zeek_header(path, head)
            yield from super().stage(path, report)
            return
        yield from self._stage_csv(path, head, report)

    def _stage_csv(
        self, path: Path, head: list[str], report: ImportReport
    ) -> Iterator[pl.DataFrame]:
        header = [name.strip() for name in head[0].split(",")] if head else []
        if "id.orig_h" not in header:
            raise header_error(path, 1, "no 'id.orig_h' column in the CSV header",
                               "give --format for another format")  # fmt: skip
        labelled = any(n in header for n in (*LABEL_FIELDS, *DETAIL_FIELDS))
        report.dataset = report.dataset or (self.dataset if labelled else "zeek")
        header_text = head[0]
        for batch in iter_line_batches(path):
            frame = batch.frame().filter(
                (pl.col("_line") != 1) & (pl.col("_text").str.strip_chars() != "")
            )
            frame, ragged = split_fields(frame, ",", len(header))
            repeated = pl.col("_text") == header_text
            problem = (
                pl.when(repeated).then(pl.lit("repeated header row")).otherwise(ragged)
            )
            named = frame.select(
                "_line",
                problem.alias("_reject"),
                *[
                    pl.col("_fields").list.get(i, null_on_oob=True).alias(name)
                    for i, name in enumerate(header)
                    if name not in header[:i]
                ],
            )
            yield stage_zeek(named, header, self.unset_markers)

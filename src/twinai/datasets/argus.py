"""Argus bidirectional flows (``.binetflow``), as in CTU-13 and Stratosphere.

The CTU-13 files hold ``StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,
State,sTos,dTos,TotPkts,TotBytes,SrcBytes,Label``: totals of both directions
and the source's share of the bytes. Argus writes ICMP type/code and ARP
fields where ports go, as hex (``0x0303``), so ports are read in hex when
they start with ``0x``.

Mapping: ``SrcBytes`` → ``orig_ip_bytes`` and ``TotBytes − SrcBytes`` →
``resp_ip_bytes`` (Argus counts whole packets); packets per direction come
from ``SrcPkts``/``DstPkts`` when the file has them, otherwise only flows
with no reply bytes can be split (all packets from the source) and the rest
stay null. Payload bytes come from ``SAppBytes``/``DAppBytes`` when present,
else they are null: the format does not say.
"""

from __future__ import annotations

from collections.abc import Iterator
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

__all__ = ["ArgusImporter"]

# Argus column (lower case) → staged column.
ARGUS_COLUMNS = {
    "starttime": "x_start",
    "dur": "duration",
    "proto": "protocol",
    "srcaddr": "src_ip",
    "sport": "src_port",
    "dstaddr": "dst_ip",
    "dport": "dst_port",
    "totpkts": "x_tot_pkts",
    "totbytes": "x_tot_bytes",
    "srcbytes": "orig_ip_bytes",
    "dstbytes": "resp_ip_bytes",
    "srcpkts": "orig_pkts",
    "dstpkts": "resp_pkts",
    "sappbytes": "orig_bytes",
    "dappbytes": "resp_bytes",
    "label": "label",
}
REQUIRED = ("starttime", "dur", "proto", "srcaddr", "dstaddr", "totpkts", "totbytes",
            "srcbytes")  # fmt: skip


class ArgusImporter(FlowImporter):
    """Argus ``ra`` CSV output (``.binetflow``)."""

    name: ClassVar[str] = "argus"
    dataset: ClassVar[str] = "argus"

    @classmethod
    def sniff(cls, head: list[str]) -> bool:
        names = {n.strip().lower() for n in _split_header(head[0] if head else "")}
        return {"starttime", "srcaddr", "totpkts"} <= names

    def stage(self, path: Path, report: ImportReport) -> Iterator[pl.DataFrame]:
        head = read_head(path)
        header = [n.strip() for n in _split_header(head[0] if head else "")]
        lower = [n.lower() for n in header]
        missing = [c for c in REQUIRED if c not in lower]
        if missing:
            raise header_error(path, 1, f"Argus header lacks {', '.join(missing)}",
                               "write flows with `ra -c , -s` including these fields")  # fmt: skip
        separator = "," if "," in head[0] else "\t"
        columns = {
            ARGUS_COLUMNS[n]: i for i, n in enumerate(lower) if n in ARGUS_COLUMNS
        }
        self.source_names = {c: header[i] for c, i in columns.items()}
        self.lacks = tuple(c for c in ("orig_bytes", "resp_bytes") if c not in columns)
        if "orig_pkts" not in columns:
            self.lacks += ("orig_pkts", "resp_pkts")
            report.note(
                "no SrcPkts/DstPkts: packets split only for flows without reply"
            )
        report.note("StartTime taken as UTC (Argus writes the sensor's local clock)")
        report.note("missed_bytes: Argus binetflow does not report gaps, set to 0")
        report.dataset = report.dataset or self.dataset
        for batch in iter_line_batches(path):
            frame = batch.frame().filter(
                (pl.col("_line") != 1) & (pl.col("_text").str.strip_chars() != "")
            )
            frame, ragged = split_fields(frame, separator, len(header))
            picks = [
                pl.col("_fields")
                .list.get(i, null_on_oob=True)
                .str.strip_chars()
                .alias(c)
                for c, i in columns.items()
            ]
            staged = frame.select("_line", ragged.alias("_reject"), *picks)
            yield _stage_labels_and_time(staged)

    def derive(self, batch: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
        batch = batch.with_columns(pl.lit(0.0).alias("missed_bytes"))
        if "resp_ip_bytes" not in batch.columns:
            batch = batch.with_columns(
                (pl.col("x_tot_bytes") - pl.col("orig_ip_bytes")).alias("resp_ip_bytes")
            )
        if "orig_pkts" in batch.columns:
            if "resp_pkts" not in batch.columns:
                batch = batch.with_columns(
                    (pl.col("x_tot_pkts") - pl.col("orig_pkts")).alias("resp_pkts")
                )
            return batch
        one_way = pl.col("resp_ip_bytes") == 0
        return batch.with_columns(
            pl.when(one_way)
            .then(pl.col("x_tot_pkts"))
            .otherwise(None)
            .alias("orig_pkts"),
            pl.when(one_way).then(0).otherwise(None).alias("resp_pkts"),
        )


def _split_header(line: str) -> list[str]:
    return line.split(",") if "," in line else line.split("\t")


def _stage_labels_and_time(staged: pl.DataFrame) -> pl.DataFrame:
    """``first_seen_us`` from ``StartTime`` and the label columns."""
    start = pl.col("x_start")
    written = start.str.strptime(
        pl.Datetime("us"), "%Y/%m/%d %H:%M:%S%.f", strict=False
    )
    epoch = (start.cast(pl.Float64, strict=False) * 1e6).round().cast(pl.Int64)
    updates = [pl.coalesce(written.dt.epoch("us"), epoch).alias("first_seen_us")]
    if "label" in staged.columns:
        updates += [
            pl.col("label").alias("label_key"),
            pl.col("label").alias("original_label"),
        ]
    return staged.with_columns(updates).drop("x_start", "label", strict=False)

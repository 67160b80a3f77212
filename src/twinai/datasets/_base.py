"""The common half of every importer: from parsed text to the flow table.

An importer (one module per format) only knows its format: where the fields
are and what they mean. It yields *staged* batches, frames whose columns use
the canonical names below, still as text where the format writes text. This
module turns them into flow-table rows, the same way for every format:

1. rows with a problem found while splitting (``_reject``) are rejected;
2. numbers are parsed: unset markers become null, ``Infinity``/``NaN`` become
   0 (counted), unparseable text and negative counters reject the row;
3. the importer's :meth:`FlowImporter.derive` hook computes what its format
   writes differently (units, header bytes, split totals);
4. universal columns are completed (``pkt_ratio``, ``is_tcp``…) and labels
   mapped once per distinct label.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import ClassVar

import polars as pl

from twinai.datasets._labels import to_taxonomy
from twinai.datasets._report import UNLABELLED, ImportReport
from twinai.flows.schema import KEY_COLUMNS, UNIVERSAL_COLUMNS

__all__ = ["COUNTER_COLUMNS", "OUTPUT_SCHEMA", "FlowImporter", "empty_flows"]

log = logging.getLogger(__name__)

# Universal counters an importer may stage (as text or numbers).
COUNTER_COLUMNS = (
    "orig_pkts",
    "resp_pkts",
    "orig_bytes",
    "resp_bytes",
    "orig_ip_bytes",
    "resp_ip_bytes",
    "missed_bytes",
)

_TEXT_KEYS = {"src_ip", "dst_ip", "direction"}
OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    **{c: (pl.String() if c in _TEXT_KEYS else pl.Int64()) for c in KEY_COLUMNS},
    **{c: pl.Int64() for c in UNIVERSAL_COLUMNS},
    "duration_s": pl.Float64(),
    "pkt_ratio": pl.Float64(),
    "conn_state": pl.String(),
    "label": pl.String(),
    "original_label": pl.String(),
    "dataset": pl.String(),
}
OUTPUT_SCHEMA = {c: OUTPUT_SCHEMA[c] for c in (*KEY_COLUMNS, *UNIVERSAL_COLUMNS)} | {
    c: OUTPUT_SCHEMA[c] for c in ("conn_state", "label", "original_label", "dataset")
}

# IANA protocol numbers of the names Zeek and Argus write.
PROTOCOL_NUMBERS = {
    "icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50,
    "ah": 51, "icmp6": 58, "ipv6-icmp": 58, "icmpv6": 58, "sctp": 132,
    "rtp": 17, "rtcp": 17, "udt": 17,
}  # fmt: skip
_ICMP = (1, 58)


def empty_flows() -> pl.DataFrame:
    """A flow table with no rows and the output schema."""
    return pl.DataFrame(schema=OUTPUT_SCHEMA)


class FlowImporter(abc.ABC):
    """Base of the importers: one subclass per format.

    Subclasses set ``name`` (the ``--format`` value), ``dataset`` (default
    short source name), implement :meth:`sniff` and :meth:`stage`, and may
    override :meth:`derive`.
    """

    name: ClassVar[str]
    dataset: ClassVar[str]
    # Seconds per unit of the staged ``duration`` column.
    duration_unit_s: ClassVar[float] = 1.0
    # Text meaning "no value" in this format.
    unset_markers: tuple[str, ...] = ("", "-")
    # Universal columns the format cannot give: left null, named in the report.
    lacks: tuple[str, ...] = ()
    # Map CIC-DDoS2019's bare protocol names to floods.
    cic_labels: ClassVar[bool] = False

    def __init__(self) -> None:
        # Canonical column → column name in the file, for messages.
        self.source_names: dict[str, str] = {}

    @classmethod
    @abc.abstractmethod
    def sniff(cls, head: list[str]) -> bool:
        """True when the first lines of a file look like this format."""

    @abc.abstractmethod
    def stage(self, path: Path, report: ImportReport) -> Iterator[pl.DataFrame]:
        """Yield staged batches (see the module docstring) of ``path``."""

    def derive(self, batch: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
        """Compute format-specific columns after numbers are parsed."""
        return batch

    # -- the common pipeline -------------------------------------------------

    def run(self, path: Path, report: ImportReport) -> pl.DataFrame:
        """Import ``path`` into a flow table, filling ``report``."""
        parts = [self.finish(staged, report) for staged in self.stage(path, report)]
        parts = [p for p in parts if p.height]
        flows = pl.concat(parts) if parts else empty_flows()
        for column in self.lacks:
            report.note(f"{column}: not given by this format, null where not derivable")
        return flows.with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("flow_id")
        )

    def finish(self, staged: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
        """Steps 1–4 of the module docstring for one staged batch."""
        report.rows_read += staged.height
        if "_reject" not in staged.columns:
            staged = staged.with_columns(pl.lit(None, pl.String).alias("_reject"))
        parsed = self._reject_rows(self._parse_numbers(staged, report), report)
        if parsed.height == 0:
            return empty_flows()
        derived = self.derive(parsed, report)
        flows = self._complete(derived, report)
        report.rows_kept += flows.height
        return flows

    def _name(self, column: str) -> str:
        return repr(self.source_names.get(column, column))

    def _parse_numbers(
        self, staged: pl.DataFrame, report: ImportReport
    ) -> pl.DataFrame:
        """Parse numeric and port columns; ``_reject`` names the first problem."""
        problems: list[pl.Expr] = [pl.col("_reject")]
        updates: list[pl.Expr] = []
        numeric = [c for c in ("duration", *COUNTER_COLUMNS) if c in staged.columns]
        numeric += [c for c in staged.columns if c.startswith("x_")]
        for column in numeric:
            value, problem, repaired = self._number(staged, column)
            problems.append(problem)
            updates.append(value.alias(column))
            if repaired:
                shown = "duration_s" if column == "duration" else column
                report.repairs[f"{shown}: Infinity/NaN → 0"] += repaired
        for column in ("src_port", "dst_port"):
            if column in staged.columns:
                value, problem = _port(column, self._name(column), self.unset_markers)
                problems.append(problem)
                updates.append(value.alias(column))
        if "protocol" in staged.columns:
            updates.append(_protocol(staged.schema["protocol"]).alias("protocol"))
        return staged.with_columns(*updates, pl.coalesce(problems).alias("_reject"))

    def _number(
        self, staged: pl.DataFrame, column: str
    ) -> tuple[pl.Expr, pl.Expr, int]:
        """Value, reject condition and non-finite count of one numeric column."""
        raw = pl.col(column)
        if staged.schema[column] == pl.String:
            text = raw.str.strip_chars()
            unset = text.is_null() | text.is_in(list(self.unset_markers))
            value = text.cast(pl.Float64, strict=False)
            unparseable = ~unset & value.is_null()
        else:
            value = raw.cast(pl.Float64)
            unparseable = pl.lit(False)
        nonfinite = value.is_nan() | value.is_infinite()
        repaired = int(staged.select(nonfinite.sum()).item() or 0)
        value = pl.when(nonfinite).then(0.0).otherwise(value)
        negative = value < 0
        name = self._name(column)
        reasons = [(unparseable, f"unparseable number in {name}")]
        if column in COUNTER_COLUMNS:
            reasons.append((negative, f"negative value in {name}"))
        problem = pl.coalesce([pl.when(c).then(pl.lit(r)) for c, r in reasons])
        return value, problem, repaired

    def _reject_rows(self, parsed: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
        """Drop rows with a problem, recording the problem of each row."""
        bad = parsed.filter(pl.col("_reject").is_not_null())
        if bad.height:
            for (reason,), rows in bad.group_by(["_reject"], maintain_order=True):
                lines = rows["_line"].head(5).to_list()
                report.reject(str(reason), lines, rows.height)
                log.debug("%s: rejected %d rows: %s", report.path, rows.height, reason)
        return parsed.filter(pl.col("_reject").is_null())

    def _complete(self, batch: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
        """Step 4: fill, derive and order the output columns."""
        batch = self._fill_counters(batch, report)
        batch = self._repair_duration(batch, report)
        protocol = pl.col("protocol") if "protocol" in batch.columns else pl.lit(None)
        kind = protocol.cast(pl.Int64)
        batch = batch.with_columns(
            (pl.col("orig_pkts") / pl.max_horizontal(pl.col("resp_pkts"), 1))
            .cast(pl.Float64)
            .alias("pkt_ratio"),
            *[
                pl.when(kind.is_null())
                .then(None)
                .otherwise(kind.is_in(nums).cast(pl.Int64))
                .alias(name)
                for name, nums in (
                    ("is_tcp", [6]),
                    ("is_udp", [17]),
                    ("is_icmp", _ICMP),
                )
            ],
        )
        batch = _keys(batch)
        batch = self._labels(batch, report)
        batch = batch.with_columns(pl.lit(report.dataset).alias("dataset"))
        columns = [
            (pl.col(c) if c in batch.columns else pl.lit(None)).cast(t).alias(c)
            for c, t in OUTPUT_SCHEMA.items()
        ]
        return batch.select(columns)

    def _fill_counters(self, batch: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
        """Unset counters of a format that has them become 0 (counted)."""
        updates = []
        for column in COUNTER_COLUMNS:
            if column in self.lacks:
                continue
            if column not in batch.columns:
                batch = batch.with_columns(pl.lit(None, pl.Float64).alias(column))
            missing = int(batch[column].null_count())
            if missing:
                report.repairs[f"{column}: unset → 0"] += missing
            updates.append(pl.col(column).fill_null(0).round().cast(pl.Int64))
        return batch.with_columns(updates)

    def _repair_duration(
        self, batch: pl.DataFrame, report: ImportReport
    ) -> pl.DataFrame:
        """Duration in seconds; unset (one-packet Zeek flows) or negative → 0."""
        if "duration" not in batch.columns:
            return batch.with_columns(pl.lit(None, pl.Float64).alias("duration_s"))
        unset = int(batch["duration"].null_count())
        negative = int((batch["duration"] < 0).sum())
        if unset:
            report.repairs["duration_s: unset → 0"] += unset
        if negative:
            report.repairs["duration_s: negative → 0"] += negative
        seconds = (
            pl.col("duration").fill_null(0).clip(lower_bound=0) * self.duration_unit_s
        )
        return batch.with_columns(seconds.alias("duration_s"))

    def _labels(self, batch: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
        """Map ``label_key`` to the taxonomy, once per distinct value."""
        if "label_key" not in batch.columns:
            report.labelled = False
            report.label_counts[UNLABELLED] += batch.height
            return batch
        keys = batch["label_key"].drop_nulls().unique().to_list()
        mapping: Mapping[str, str] = {
            k: to_taxonomy(k, cic=self.cic_labels) for k in keys
        }
        batch = batch.with_columns(
            pl.col("label_key").replace_strict(mapping, default=None).alias("label")
        )
        _count(report.label_counts, batch["label"].fill_null(UNLABELLED))
        _count(
            report.original_label_counts, batch["original_label"].fill_null(UNLABELLED)
        )
        return batch


def _count(counter: dict[str, int] | object, values: pl.Series) -> None:
    """Add the value counts of a text series to a Counter."""
    for value, count in values.value_counts().iter_rows():
        counter[value] += count  # type: ignore[index]


def _port(column: str, name: str, unset: tuple[str, ...]) -> tuple[pl.Expr, pl.Expr]:
    """Parse a port: decimal, or hex ``0x…`` as Argus writes ICMP/ARP fields."""
    raw = pl.col(column)
    text = raw.cast(pl.String).str.strip_chars()
    is_hex = text.str.starts_with("0x") | text.str.starts_with("0X")
    hex_value = text.str.slice(2).str.to_integer(base=16, strict=False)
    value = pl.when(is_hex).then(hex_value).otherwise(text.cast(pl.Int64, strict=False))
    is_unset = text.is_null() | text.is_in(list(unset))
    bad = ~is_unset & (value.is_null() | (value < 0) | (value > 65535))
    problem = pl.when(bad).then(pl.lit(f"bad port in {name}")).otherwise(None)
    return value, problem


def _protocol(dtype: pl.DataType) -> pl.Expr:
    """IANA number from a number or a protocol name (unknown names → null)."""
    if dtype != pl.String:
        return pl.col("protocol").cast(pl.Int64)
    text = pl.col("protocol").str.strip_chars().str.to_lowercase()
    by_name = text.replace_strict(PROTOCOL_NUMBERS, default=None, return_dtype=pl.Int64)
    return pl.coalesce(text.cast(pl.Int64, strict=False), by_name)


def _keys(batch: pl.DataFrame) -> pl.DataFrame:
    """Times, IP version and the schema's rule that ICMP flows have port 0."""
    updates: list[pl.Expr] = []
    if "first_seen_us" in batch.columns:
        span_us = (pl.col("duration_s").fill_null(0) * 1e6).round().cast(pl.Int64)
        updates.append((pl.col("first_seen_us") + span_us).alias("last_seen_us"))
    if "src_ip" in batch.columns:
        ip = pl.col("src_ip")
        version = (
            pl.when(ip.str.contains(":")).then(6).when(ip.str.contains(r"\.")).then(4)
        )
        updates.append(version.otherwise(None).alias("ip_version"))
    if "protocol" in batch.columns:
        icmp = pl.col("protocol").is_in(_ICMP)
        for port in ("src_port", "dst_port"):
            if port in batch.columns:
                updates.append(
                    pl.when(icmp).then(0).otherwise(pl.col(port)).alias(port)
                )
    return batch.with_columns(updates)

"""What every Zeek conn.log form shares: field names and their meaning.

Zeek writes conn.log as TSV with ``#`` headers, as JSON lines, and others
convert it to CSV (IoT-23). All three end here as columns named after the
Zeek fields, as text, and are mapped the same way: ``ts`` seconds → µs,
``id.orig_h`` → ``src_ip``…, unset ``-`` → null, the two label columns of
Stratosphere's labelled logs → one label.
"""

from __future__ import annotations

import polars as pl

from twinai.datasets._report import ImportReport

__all__ = [
    "DETAIL_FIELDS",
    "LABEL_FIELDS",
    "ZEEK_FIELDS",
    "estimate_payload",
    "stage_zeek",
]

# Zeek field → staged column.
ZEEK_FIELDS = {
    "id.orig_h": "src_ip",
    "id.resp_h": "dst_ip",
    "id.orig_p": "src_port",
    "id.resp_p": "dst_port",
    "proto": "protocol",
    "duration": "duration",
    "orig_pkts": "orig_pkts",
    "resp_pkts": "resp_pkts",
    "orig_bytes": "orig_bytes",
    "resp_bytes": "resp_bytes",
    "orig_ip_bytes": "orig_ip_bytes",
    "resp_ip_bytes": "resp_ip_bytes",
    "missed_bytes": "missed_bytes",
    "conn_state": "conn_state",
}
LABEL_FIELDS = ("label",)
DETAIL_FIELDS = ("detailedlabel", "detailed-label", "detailed_label")

# Transport header per packet by protocol, to estimate the payload of flows
# whose byte counts Zeek left unset: UDP (RFC 768) and ICMP echo-style headers
# (RFC 792) 8 bytes.
_TRANSPORT_HEADER_BYTES = {17: 8, 1: 8, 58: 8}
_IPV4_HEADER_BYTES = 20


def stage_zeek(
    frame: pl.DataFrame, names: list[str], unset: tuple[str, ...]
) -> pl.DataFrame:
    """Staged batch from text columns named by Zeek fields (``names``)."""
    columns = [pl.col("_line"), pl.col("_reject")]
    columns += [pl.col(f).alias(c) for f, c in ZEEK_FIELDS.items() if f in names]
    staged = frame.select(columns)
    if "conn_state" in staged.columns:
        state = pl.col("conn_state").str.strip_chars()
        staged = staged.with_columns(
            pl.when(state.is_in(list(unset)))
            .then(None)
            .otherwise(state)
            .alias("conn_state")
        )
    if "ts" in names:
        staged = staged.with_columns(_first_seen(frame["ts"], unset))
        staged = staged.with_columns(
            pl.coalesce("_reject", pl.col("_ts_problem")).alias("_reject")
        ).drop("_ts_problem")
    label = next((f for f in LABEL_FIELDS if f in names), None)
    if label is None:
        return staged
    detail = next((f for f in DETAIL_FIELDS if f in names), None)
    return staged.with_columns(_labels(frame, label, detail))


def _first_seen(ts: pl.Series, unset: tuple[str, ...]) -> list[pl.Series]:
    """``first_seen_us`` from Zeek's epoch seconds, and a problem column."""
    text = ts.str.strip_chars()
    seconds = text.cast(pl.Float64, strict=False)
    us = (seconds * 1e6).round().cast(pl.Int64)
    bad = seconds.is_null() & ~(text.is_null() | text.is_in(list(unset)))
    problem = pl.select(
        pl.when(bad).then(pl.lit("unparseable time in 'ts'")).otherwise(None)
    ).to_series()
    return [us.alias("first_seen_us"), problem.alias("_ts_problem")]


def _labels(frame: pl.DataFrame, label: str, detail: str | None) -> list[pl.Expr]:
    """``label_key`` and ``original_label`` from one or two label columns."""
    lab = pl.lit(frame[label].str.strip_chars())
    if detail is None:
        return [lab.alias("label_key"), lab.alias("original_label")]
    det = pl.lit(frame[detail].str.strip_chars())
    generic = (
        (lab.str.to_lowercase() == "benign")
        | det.is_null()
        | det.is_in(["", "-", "(empty)"])
    )
    return [
        pl.when(generic).then(lab).otherwise(det).alias("label_key"),
        pl.format("{} / {}", lab, det).alias("original_label"),
    ]


def estimate_payload(batch: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
    """Unset orig/resp_bytes: IP bytes minus minimal headers, when IP bytes are set.

    Zeek leaves payload sizes unset for flows it saw one packet of; the IP byte
    counts are still there, and 0 would misstate a one-packet UDP flow.
    """
    header = (
        pl.col("protocol").replace_strict(
            _TRANSPORT_HEADER_BYTES, default=0, return_dtype=pl.Int64
        )
        + _IPV4_HEADER_BYTES
    )
    updates = []
    for side in ("orig", "resp"):
        payload, ip_bytes, pkts = f"{side}_bytes", f"{side}_ip_bytes", f"{side}_pkts"
        if not {payload, ip_bytes, pkts} <= set(batch.columns):
            continue
        # TCP payload is counted from sequence numbers; a flow too short for
        # that (a lone SYN) has none, so only UDP/ICMP sizes are estimated.
        fixable = (
            pl.col(payload).is_null()
            & pl.col(ip_bytes).is_not_null()
            & (pl.col("protocol") != 6)
        )
        count = int(batch.select(fixable.sum()).item() or 0)
        if count:
            report.repairs[f"{payload}: unset (UDP/ICMP) → {ip_bytes} − headers"] += (
                count
            )
        estimate = (pl.col(ip_bytes) - header * pl.col(pkts).fill_null(0)).clip(
            lower_bound=0
        )
        updates.append(
            pl.when(fixable).then(estimate).otherwise(pl.col(payload)).alias(payload)
        )
    return batch.with_columns(updates)

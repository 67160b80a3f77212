"""Detection over captures at a memory bounded by the open flows, not the file.

:func:`twinai.detect.detect` holds the whole flow table (every feature of
every flow) until the alerts are rolled up; a million-flow flood costs
gigabytes. Here each chunk of ended flows out of the streaming meter is scored,
matched against the signatures and cut down to the few columns the rollup and
the verdicts need (the *evidence table*) before the next chunk is metered.

The results are those of :func:`~twinai.detect.detect`, flow ids included:

* flows are numbered as :func:`~twinai.flows.table.sort_flow_table` numbers
  them, by sorting the evidence table with the same hidden order columns;
* an alert's explanation needs every feature of the one flow it cites, which
  only the rollup at the end names. Full rows are therefore kept, while
  streaming, for the first flows (in the rollup's own time order) of each
  possible scanner and flood victim, where the rollup's fire point lies; a
  cited flow beyond those is found by a second metering pass over the
  captures, stopped as soon as every cited flow is found.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from twinai.alerts.rollup import (
    MIN_FLOOD_PACKETS,
    Alert,
    flood_evidence,
    rollup,
    scan_evidence,
)
from twinai.alerts.signatures import match_signatures
from twinai.capture.reader import capture_files
from twinai.detect import DetectionResult, check_inputs, explain_alerts, is_capture_input
from twinai.flows.meter import CHUNK_PACKETS, MeterReport, iter_flow_tables
from twinai.flows.table import ORDER_COLUMNS, sort_flow_table
from twinai.folds.bundle import ModelBundle, load_bundle

__all__ = ["detect_streaming", "captures_only", "EVIDENCE_FLOW_COLUMNS"]

log = logging.getLogger(__name__)

# Flow columns the rollup reads (rollup._evidence_table) and the verdicts
# file writes (detect.VERDICT_COLUMNS); all other features are dropped per chunk.
EVIDENCE_FLOW_COLUMNS = ("flow_id", "src_ip", "dst_ip", "src_port", "dst_port", "protocol",
                         "first_seen_us", "last_seen_us", "direction", "orig_pkts",
                         "resp_pkts", "orig_bytes", "resp_bytes", "conn_state")

# Where each row came from: (chunk, row) in the meter's output, which the
# second pass reproduces exactly.
_CHUNK, _ROW = "_chunk", "_row"
_ORIGIN = (_CHUNK, _ROW)

# The rollup's time order within a host: last packet, then flow id (which is
# first packet, then the order columns, then arrival).
_RANK = ("last_seen_us", "first_seen_us", *ORDER_COLUMNS, _CHUNK, _ROW)

# Full rows kept per possible scanner. A scanner's alert cites the flow at
# which its evidence first sufficed: three scan-like flows, two of them
# failed probes, or a signature's few flows; the public and lab scans reach
# it within their first dozen candidate flows. A scanner that needs more is
# still explained exactly, by the second pass.
SCAN_ROWS_KEPT = 256

# A flood's alert cites the flow at which its packets reach MIN_FLOOD_PACKETS;
# every flow brings at least one packet, so it is among the first that many.
FLOOD_ROWS_KEPT = MIN_FLOOD_PACKETS


@dataclass
class _Collector:
    """What the stream keeps: evidence rows of every flow, full rows of a few."""

    bundle: ModelBundle
    evidence: list[pl.DataFrame] = field(default_factory=list)
    scan_rows: pl.DataFrame | None = None
    flood_rows: pl.DataFrame | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, index: int, chunk: pl.DataFrame) -> None:
        """Score, match and narrow one chunk; keep the full rows that may be cited."""
        chunk = _with_origin(chunk, index)
        started = time.perf_counter()
        predictions = self.bundle.predict(chunk, explain=False)
        self._tick("folds", started)

        started = time.perf_counter()
        signatures = match_signatures(chunk)
        predictions = predictions.with_columns(
            pl.Series("signature", signatures.tolist(), dtype=pl.Utf8))
        narrow = _owned(chunk.select([*EVIDENCE_FLOW_COLUMNS, *ORDER_COLUMNS, *_ORIGIN]))
        self.evidence.append(pl.concat([narrow, predictions], how="horizontal"))
        self._keep_candidates(chunk, predictions)
        self._tick("alerts", started)

    def _keep_candidates(self, chunk: pl.DataFrame, predictions: pl.DataFrame) -> None:
        scored = pl.concat([chunk, predictions.select("scan_score", "ddos_score", "signature")],
                           how="horizontal")
        scan = scored.filter(scan_evidence()).drop("scan_score", "ddos_score", "signature")
        flood = scored.filter(flood_evidence()).drop("scan_score", "ddos_score", "signature")
        self.scan_rows = _first_per_host(self.scan_rows, scan, "src_ip", SCAN_ROWS_KEPT)
        self.flood_rows = _first_per_host(self.flood_rows, flood, "dst_ip", FLOOD_ROWS_KEPT)

    def kept_rows(self) -> pl.DataFrame | None:
        parts = [p for p in (self.scan_rows, self.flood_rows) if p is not None]
        if not parts:
            return None
        return pl.concat(parts, how="vertical").unique(subset=list(_ORIGIN), keep="first")

    def _tick(self, stage: str, started: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started


def captures_only(inputs: list[str | os.PathLike[str]]) -> bool:
    """True when every input is an existing capture file or folder (no flow
    table or log); a missing input is left to detect() to report."""
    paths = [Path(p) for p in inputs]
    return bool(paths) and all(p.exists() and is_capture_input(p) for p in paths)


def detect_streaming(inputs: list[str | os.PathLike[str]], *,
                     home_net: list[str] | None = None,
                     model: str | os.PathLike[str] | ModelBundle | None = None,
                     chunk_packets: int = CHUNK_PACKETS) -> DetectionResult:
    """:func:`~twinai.detect.detect` over captures, holding only the evidence table.

    Alerts, summary and verdicts equal those of ``detect``; the result's
    ``flows`` holds only EVIDENCE_FLOW_COLUMNS (not every feature).

    Notes
    -----
    The evidence table still grows with the flows (about 200 bytes a flow,
    against some 2.5 kB for the full table): the rollup needs every flow of a
    host, and the verdicts file every flow, in flow-id order.
    TODO(streaming-rollup): roll evidence up per host while streaming, so
    that only the verdicts file needs all flows.
    """
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    bundle = model if isinstance(model, ModelBundle) else load_bundle(model)
    seconds["load model"] = time.perf_counter() - started

    paths = capture_files(list(check_inputs(inputs)))
    report = MeterReport()
    collector = _Collector(bundle)
    started = time.perf_counter()
    for index, chunk in enumerate(iter_flow_tables(paths, home_net=home_net, report=report,
                                                   chunk_packets=chunk_packets)):
        collector.add(index, chunk)
    evidence = sort_flow_table(collector.evidence)
    collector.evidence.clear()
    report.flows = evidence.height
    report.seconds = time.perf_counter() - started - sum(collector.seconds.values())
    seconds["flows"] = report.seconds
    log.info("%s", report.summary())

    started = time.perf_counter()
    flows, predictions = _split(evidence)
    alerts = rollup(flows, predictions, predictions["signature"].to_numpy())
    cited = _cited_rows(alerts, evidence, collector, paths, home_net, chunk_packets)
    explain_alerts(alerts, cited, bundle)
    seconds["folds"] = collector.seconds.get("folds", 0.0)
    seconds["alerts"] = collector.seconds.get("alerts", 0.0) + time.perf_counter() - started

    log.info("detect: %d flows, %d alerts", flows.height, len(alerts))
    return DetectionResult(flows=flows, predictions=predictions, alerts=alerts,
                           model=bundle.name, meter=report if report.files else None,
                           seconds=seconds)


def _with_origin(chunk: pl.DataFrame, index: int) -> pl.DataFrame:
    return chunk.with_columns(pl.lit(index, dtype=pl.Int32).alias(_CHUNK),
                              pl.int_range(pl.len(), dtype=pl.Int32).alias(_ROW))


def _owned(table: pl.DataFrame) -> pl.DataFrame:
    """``table`` with its numeric columns copied into buffers of their own.

    The meter's flow table wraps some columns zero-copy around rows of one
    (fields x flows) array; keeping such a column would keep the whole array,
    every feature of the chunk, alive.
    """
    copies = [pl.Series(name, table[name].to_numpy().copy())
              for name, dtype in table.schema.items()
              if dtype.is_numeric() and table[name].null_count() == 0]
    return table.with_columns(copies)


def _first_per_host(kept: pl.DataFrame | None, new: pl.DataFrame, host: str,
                    limit: int) -> pl.DataFrame:
    """The first ``limit`` rows of each host, in the rollup's time order."""
    new = _trim(new, host, limit)
    table = new if kept is None else pl.concat([kept, new], how="vertical")
    return _trim(table, host, limit)


def _trim(table: pl.DataFrame, host: str, limit: int) -> pl.DataFrame:
    ranks = (table.select(host, *_RANK).with_row_index("_i").sort([host, *_RANK])
             .filter(pl.int_range(pl.len()).over(host) < limit))
    if ranks.height == table.height:
        return table
    return table[ranks["_i"].sort().to_numpy()]


def _split(evidence: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Evidence table -> (flow columns, prediction columns) as detect() keeps them."""
    flows = evidence.select(EVIDENCE_FLOW_COLUMNS)
    predictions = evidence.drop([*EVIDENCE_FLOW_COLUMNS, *_ORIGIN])
    return flows, predictions


def _cited_rows(alerts: list[Alert], evidence: pl.DataFrame, collector: _Collector,
                paths: list[Path], home_net: list[str] | None,
                chunk_packets: int) -> pl.DataFrame:
    """Full rows of the flows the alerts cite, with their final flow ids."""
    ids = sorted({a.flow_id for a in alerts})
    # sort_flow_table numbers flows 0..n-1 in row order: the id is the row.
    wanted = evidence[ids].select("flow_id", *_ORIGIN)
    kept = collector.kept_rows()
    found = (kept.drop("flow_id").join(wanted, on=list(_ORIGIN), how="inner")
             if kept is not None else wanted.clear())
    missing = wanted.join(found.select(_ORIGIN), on=list(_ORIGIN), how="anti")
    if missing.height:
        log.info("%d cited flow(s) beyond the kept rows; metering the captures again",
                 missing.height)
        found = pl.concat([found, _second_pass(missing, paths, home_net, chunk_packets)],
                          how="diagonal_relaxed")
    return found


def _second_pass(missing: pl.DataFrame, paths: list[Path], home_net: list[str] | None,
                 chunk_packets: int) -> pl.DataFrame:
    """Meter the captures again up to the last chunk that holds a missing flow."""
    by_chunk: dict[int, pl.DataFrame] = {
        int(k[0]): g for k, g in missing.group_by(_CHUNK)}
    last = max(by_chunk)
    parts: list[pl.DataFrame] = []
    for index, chunk in enumerate(iter_flow_tables(paths, home_net=home_net,
                                                   report=MeterReport(),
                                                   chunk_packets=chunk_packets)):
        if index in by_chunk:
            want = by_chunk[index]
            rows = chunk[want[_ROW].to_numpy().astype(np.int64)]
            parts.append(rows.with_columns(want["flow_id"].alias("flow_id")))
        if index >= last:
            break
    return pl.concat(parts, how="vertical")

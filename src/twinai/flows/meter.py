"""Meter packets into bidirectional flows: the columnar path.

Packets decoded by :mod:`twinai.capture.decode` are sorted by their
direction-free flow key and time, then one compiled pass walks them and
accumulates every per-flow statistic at once. A flood of a million one-packet
flows therefore costs one sort and one loop, not a million Python objects.

A flow ends when its key has been idle for ``IDLE_TIMEOUT_S`` or has lasted
``ACTIVE_TIMEOUT_S``; the next packet starts a new flow. The host that sent a
flow's first packet is its *source* (originator).

The interface is :class:`Meter` (``meter(packets) -> FlowArrays``) so that
another metering engine can be put behind it; :func:`meter_files` is the
convenience entry point that goes from capture files to the full flow table.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numba
import numpy as np
import polars as pl

from twinai.capture.decode import SKIP_REASONS, PacketColumns, decode_records
from twinai.capture.reader import RecordTable, capture_files, iter_records, read_records
from twinai.errors import CaptureError
from twinai.features import windows

__all__ = [
    "IDLE_TIMEOUT_S",
    "ACTIVE_TIMEOUT_S",
    "FlowArrays",
    "Meter",
    "ColumnarMeter",
    "MeterReport",
    "read_packets",
    "meter_files",
    "meter_packets",
    "iter_packet_chunks",
    "iter_flow_tables",
    "StreamMeter",
    "FlowChunk",
    "CHUNK_PACKETS",
    "REORDER_SLACK_US",
]

log = logging.getLogger(__name__)

# nfstream's defaults (idle 120 s, active 1800 s): long enough that a slow
# TCP session stays one flow, short enough that a port reused minutes later
# by another connection starts a new one.
IDLE_TIMEOUT_S = 120
ACTIVE_TIMEOUT_S = 1800

# Packets up to this much older than the newest of a chunk wait for the next
# chunk before they are metered, so that the small reordering of multi-queue
# capture (microseconds to milliseconds; 4 us in the shared captures) is
# undone exactly. Packets later than that are metered at the time the stream
# has reached, and a warning in MeterReport says how many.
REORDER_SLACK_US = 100_000

# Packets per chunk: large enough that per-chunk work (rebuilding the hash
# tables, expiring flows) is small beside the packets, small enough that the
# chunk's columns stay a few tens of megabytes.
CHUNK_PACKETS = 1 << 18

_TCP = 6
_FIN, _SYN, _RST, _PSH, _ACK, _URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20


@dataclass
class FlowArrays:
    """Per-flow accumulators straight out of the meter (one element per flow)."""

    columns: dict[str, np.ndarray]
    packet_flow: np.ndarray  # int64, for each metered packet the flow it joined

    def __len__(self) -> int:
        return int(self.columns["first_us"].shape[0])


@dataclass
class MeterReport:
    """What a metering run saw: the summary line of ``twinai flows``."""

    files: int = 0
    packets: int = 0
    packets_used: int = 0
    flows: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # files that are no capture
    seconds: float = 0.0

    def summary(self) -> str:
        skipped = sum(self.skipped.values())
        why = ", ".join(f"{n} {reason}" for reason, n in self.skipped.items() if n)
        rejected = f", {len(self.rejected)} file(s) rejected" if self.rejected else ""
        return (
            f"{self.files} file(s){rejected}, {self.packets} packets, {self.flows} flows, "
            f"{skipped} packets skipped{f' ({why})' if why else ''}, {self.seconds:.2f} s"
        )


class Meter:
    """A flow metering engine: decoded packets in, per-flow accumulators out."""

    def meter(self, packets: PacketColumns) -> FlowArrays:  # pragma: no cover - interface
        raise NotImplementedError


class ColumnarMeter(Meter):
    """Sort packets by flow key and time, then aggregate in one compiled pass.

    Parameters
    ----------
    idle_timeout_s, active_timeout_s : int
        When a key's flow ends (see the module docstring).
    """

    def __init__(self, *, idle_timeout_s: int = IDLE_TIMEOUT_S,
                 active_timeout_s: int = ACTIVE_TIMEOUT_S) -> None:
        self.idle_timeout_s = idle_timeout_s
        self.active_timeout_s = active_timeout_s

    def meter(self, packets: PacketColumns) -> FlowArrays:
        order, a_is_src = _sort_by_flow_key(packets)
        n = len(packets)
        flow_of = np.empty(n, np.int64)
        n_flows = _assign_flows(
            order, packets.ts_us, a_is_src, packets.src_hi, packets.src_lo,
            packets.dst_hi, packets.dst_lo, packets.src_port, packets.dst_port,
            packets.protocol, packets.vlan_id, self.idle_timeout_s * 1_000_000,
            self.active_timeout_s * 1_000_000, flow_of,
        )
        columns = _new_accumulators(n_flows)
        _accumulate(order, flow_of, packets.ts_us, packets.src_hi, packets.src_lo,
                    packets.src_port, packets.ip_bytes, packets.payload_bytes,
                    packets.tcp_flags, packets.tcp_seq, packets.protocol, **columns)
        return FlowArrays(columns=columns, packet_flow=flow_of)


def _sort_by_flow_key(packets: PacketColumns) -> tuple[np.ndarray, np.ndarray]:
    """Order packets by (direction-free flow key, time).

    The key puts the smaller (address, port) endpoint first so that both
    directions of a conversation sort together.
    """
    a_is_src = _endpoint_order(packets.src_hi, packets.src_lo, packets.src_port,
                               packets.dst_hi, packets.dst_lo, packets.dst_port)
    lo_hi = np.where(a_is_src, packets.src_hi, packets.dst_hi)
    lo_lo = np.where(a_is_src, packets.src_lo, packets.dst_lo)
    hi_hi = np.where(a_is_src, packets.dst_hi, packets.src_hi)
    hi_lo = np.where(a_is_src, packets.dst_lo, packets.src_lo)
    lo_port = np.where(a_is_src, packets.src_port, packets.dst_port)
    hi_port = np.where(a_is_src, packets.dst_port, packets.src_port)
    frame = pl.DataFrame({
        "a_hi": lo_hi, "a_lo": lo_lo, "b_hi": hi_hi, "b_lo": hi_lo,
        "a_port": lo_port, "b_port": hi_port, "proto": packets.protocol,
        "vlan": packets.vlan_id, "ts": packets.ts_us,
    })
    keys = ["a_lo", "b_lo", "a_port", "b_port", "proto", "a_hi", "b_hi", "vlan", "ts"]
    # Stable, so that packets with equal timestamps keep their capture order
    # and the first one written stays the flow's first packet.
    order = frame.select(pl.arg_sort_by(keys, maintain_order=True)).to_series().to_numpy()
    return order.astype(np.int64, copy=False), a_is_src


@numba.njit(cache=True)
def _endpoint_order(s_hi, s_lo, s_port, d_hi, d_lo, d_port):  # type: ignore[no-untyped-def]
    out = np.empty(s_hi.shape[0], np.bool_)
    for i in range(s_hi.shape[0]):
        if s_hi[i] != d_hi[i]:
            out[i] = s_hi[i] < d_hi[i]
        elif s_lo[i] != d_lo[i]:
            out[i] = s_lo[i] < d_lo[i]
        else:
            out[i] = s_port[i] <= d_port[i]
    return out


@numba.njit(cache=True)
def _assign_flows(order, ts, a_is_src, s_hi, s_lo, d_hi, d_lo, s_port, d_port,  # type: ignore[no-untyped-def]
                  proto, vlan, idle_us, active_us, flow_of):
    """Give each packet (in key order) a flow number; returns the flow count."""
    n_flows = 0
    prev = -1
    first_ts = 0
    last_ts = 0
    for k in range(order.shape[0]):
        i = order[k]
        same_key = False
        if prev >= 0 and proto[i] == proto[prev] and vlan[i] == vlan[prev]:
            if a_is_src[i] == a_is_src[prev]:
                same_key = (s_hi[i] == s_hi[prev] and s_lo[i] == s_lo[prev]
                            and d_hi[i] == d_hi[prev] and d_lo[i] == d_lo[prev]
                            and s_port[i] == s_port[prev] and d_port[i] == d_port[prev])
            else:
                same_key = (s_hi[i] == d_hi[prev] and s_lo[i] == d_lo[prev]
                            and d_hi[i] == s_hi[prev] and d_lo[i] == s_lo[prev]
                            and s_port[i] == d_port[prev] and d_port[i] == s_port[prev])
        if (not same_key) or ts[i] - last_ts > idle_us or ts[i] - first_ts > active_us:
            n_flows += 1
            first_ts = ts[i]
        last_ts = ts[i]
        flow_of[i] = n_flows - 1
        prev = i
    return n_flows


_ACC_SPEC: dict[str, type] = {
    # when, who
    "first_us": np.int64, "last_us": np.int64, "first_reply_us": np.int64,
    "first_rst_us": np.int64,
    "src_hi": np.uint64, "src_lo": np.uint64, "src_port": np.uint16,
    "first_packet": np.int64,
    # per direction: 0 = fwd (from the source), 1 = bwd
    "pkts_f": np.int64, "pkts_b": np.int64,
    "ip_bytes_f": np.int64, "ip_bytes_b": np.int64,
    "payload_f": np.int64, "payload_b": np.int64,
    "size_min_f": np.int64, "size_min_b": np.int64,
    "size_max_f": np.int64, "size_max_b": np.int64,
    "size_sq_f": np.float64, "size_sq_b": np.float64,
    "iat_sum_f": np.float64, "iat_sum_b": np.float64,
    "iat_sq_f": np.float64, "iat_sq_b": np.float64,
    "iat_max_f": np.float64, "iat_max_b": np.float64,
    "last_f": np.int64, "last_b": np.int64,
    "syn_f": np.int32, "syn_b": np.int32, "ack_f": np.int32, "ack_b": np.int32,
    "fin_f": np.int32, "fin_b": np.int32, "rst_f": np.int32, "rst_b": np.int32,
    "psh_f": np.int32, "psh_b": np.int32, "urg_f": np.int32, "urg_b": np.int32,
    "synack_b": np.int32,
    "next_seq_f": np.int64, "next_seq_b": np.int64, "missed": np.int64,
}


def _new_accumulators(n_flows: int) -> dict[str, np.ndarray]:
    return {name: np.zeros(n_flows, dtype) for name, dtype in _ACC_SPEC.items()}


@numba.njit(cache=True)
def _accumulate(order, flow_of, ts, s_hi, s_lo, s_port, ip_bytes, payload, flags, seq,  # type: ignore[no-untyped-def]
                proto, first_us, last_us, first_reply_us, first_rst_us, src_hi, src_lo,
                src_port,
                first_packet, pkts_f, pkts_b, ip_bytes_f, ip_bytes_b, payload_f,
                payload_b, size_min_f, size_min_b, size_max_f, size_max_b, size_sq_f,
                size_sq_b, iat_sum_f, iat_sum_b, iat_sq_f, iat_sq_b, iat_max_f,
                iat_max_b, last_f, last_b, syn_f, syn_b, ack_f, ack_b, fin_f, fin_b,
                rst_f, rst_b, psh_f, psh_b, urg_f, urg_b, synack_b, next_seq_f,
                next_seq_b, missed):
    """One pass over packets in key order; every statistic of every flow."""
    for k in range(order.shape[0]):
        i = order[k]
        f = flow_of[i]
        t = ts[i]
        size = np.int64(ip_bytes[i])
        if pkts_f[f] == 0:  # first packet: this sender is the flow's source
            first_us[f] = t
            first_reply_us[f] = -1
            first_rst_us[f] = -1
            src_hi[f] = s_hi[i]
            src_lo[f] = s_lo[i]
            src_port[f] = s_port[i]
            first_packet[f] = i
            next_seq_f[f] = -1
            next_seq_b[f] = -1
        last_us[f] = t
        fwd = s_hi[i] == src_hi[f] and s_lo[i] == src_lo[f] and s_port[i] == src_port[f]
        fl = flags[i] if proto[i] == 6 else 0
        if (fl & 0x04) != 0 and first_rst_us[f] < 0:
            first_rst_us[f] = t
        if fwd:
            if pkts_f[f] > 0:
                gap = (t - last_f[f]) / 1e6
                iat_sum_f[f] += gap
                iat_sq_f[f] += gap * gap
                if gap > iat_max_f[f]:
                    iat_max_f[f] = gap
                if size < size_min_f[f]:
                    size_min_f[f] = size
            else:
                size_min_f[f] = size
            last_f[f] = t
            pkts_f[f] += 1
            ip_bytes_f[f] += size
            payload_f[f] += payload[i]
            if size > size_max_f[f]:
                size_max_f[f] = size
            size_sq_f[f] += size * size
            syn_f[f] += (fl & 0x02) != 0
            ack_f[f] += (fl & 0x10) != 0
            fin_f[f] += (fl & 0x01) != 0
            rst_f[f] += (fl & 0x04) != 0
            psh_f[f] += (fl & 0x08) != 0
            urg_f[f] += (fl & 0x20) != 0
            if proto[i] == 6:
                missed[f] += _seq_gap(next_seq_f, f, seq[i], payload[i], fl)
        else:
            if pkts_b[f] > 0:
                gap = (t - last_b[f]) / 1e6
                iat_sum_b[f] += gap
                iat_sq_b[f] += gap * gap
                if gap > iat_max_b[f]:
                    iat_max_b[f] = gap
                if size < size_min_b[f]:
                    size_min_b[f] = size
            else:
                size_min_b[f] = size
                first_reply_us[f] = t
            last_b[f] = t
            pkts_b[f] += 1
            ip_bytes_b[f] += size
            payload_b[f] += payload[i]
            if size > size_max_b[f]:
                size_max_b[f] = size
            size_sq_b[f] += size * size
            syn_b[f] += (fl & 0x02) != 0
            ack_b[f] += (fl & 0x10) != 0
            fin_b[f] += (fl & 0x01) != 0
            rst_b[f] += (fl & 0x04) != 0
            psh_b[f] += (fl & 0x08) != 0
            urg_b[f] += (fl & 0x20) != 0
            synack_b[f] += (fl & 0x12) == 0x12
            if proto[i] == 6:
                missed[f] += _seq_gap(next_seq_b, f, seq[i], payload[i], fl)


@numba.njit(cache=True, inline="always")
def _seq_gap(next_seq, f, seq, payload, fl):  # type: ignore[no-untyped-def]
    """Payload bytes skipped over by this segment (a hole in what we captured).

    Sequence numbers wrap at 2**32; a jump forward of less than 2**31 is a
    hole, anything else is a retransmission or reordering and costs nothing.
    """
    s = np.int64(seq)
    advance = np.int64(payload) + (1 if (fl & 0x03) != 0 else 0)
    gap = np.int64(0)
    if next_seq[f] < 0:
        next_seq[f] = (s + advance) & 0xFFFFFFFF
        return gap
    delta = (s - next_seq[f]) & 0xFFFFFFFF
    if 0 < delta < 0x80000000 and payload > 0:
        gap = delta
    end = (s + advance) & 0xFFFFFFFF
    if ((end - next_seq[f]) & 0xFFFFFFFF) < 0x80000000:
        next_seq[f] = end
    return gap


# --- from files to the flow table ------------------------------------------------


def read_packets(paths: Iterable[str | os.PathLike[str]], report: MeterReport,
                 progress: Callable[[int], None] | None = None) -> PacketColumns:
    """Read and decode captures; count what was skipped and why."""
    files = capture_files(list(paths))
    if not files:
        raise CaptureError("no capture files found in the given inputs")
    parts: list[PacketColumns] = []
    skipped = np.zeros(len(SKIP_REASONS), np.int64)
    errors: list[CaptureError] = []
    for path in files:
        try:
            records = read_records(path)
        except CaptureError as exc:
            # One bad file among many must not sink the others: say so, go on.
            errors.append(exc)
            report.rejected.append(str(exc))
            log.warning("skipping %s", exc)
            continue
        packets = decode_records(records)
        report.files += 1
        report.packets += len(packets)
        report.warnings.extend(records.warnings)
        skipped += np.bincount(packets.skip, minlength=len(SKIP_REASONS))
        parts.append(packets.select(packets.skip == 0))
        if progress is not None:
            progress(len(packets))
    if not parts:
        raise errors[0] if len(errors) == 1 else CaptureError(
            f"none of the {len(errors)} inputs is a readable capture; first: {errors[0]}")
    report.skipped = {SKIP_REASONS[k]: int(skipped[k]) for k in range(1, len(SKIP_REASONS))}
    return PacketColumns.concat(parts)


def meter_packets(packets: PacketColumns, *, home_net: list[str] | None = None,
                  meter: Meter | None = None) -> pl.DataFrame:
    """Decoded packets -> the full flow table (statistics and host windows)."""
    from twinai.flows.table import build_flow_table

    meter = meter or ColumnarMeter()
    arrays = meter.meter(packets)
    return build_flow_table(arrays, packets, home_net=home_net)


def iter_packet_chunks(paths: Iterable[str | os.PathLike[str]], report: MeterReport,
                       progress: Callable[[int], None] | None = None, *,
                       chunk_packets: int = CHUNK_PACKETS,
                       on_new_file: Callable[[Path], None] | None = None,
                       ) -> Iterator[PacketColumns]:
    """Read and decode captures chunk by chunk (used packets only), in capture order.

    Counts packets, skipped packets and warnings into ``report`` as it goes.
    A file that is no capture is reported and passed over; when no input is
    a capture the error is raised. ``on_new_file`` is called with each
    readable file before its first chunk.
    """
    files = capture_files(list(paths))
    if not files:
        raise CaptureError("no capture files found in the given inputs")
    skipped = np.zeros(len(SKIP_REASONS), np.int64)
    errors: list[CaptureError] = []
    for path in files:
        try:
            pieces = iter_records(path)
            first = next(pieces)
        except CaptureError as exc:
            # One bad file among many must not sink the others: say so, go on.
            errors.append(exc)
            report.rejected.append(str(exc))
            log.warning("skipping %s", exc)
            continue
        report.files += 1
        if on_new_file is not None:
            on_new_file(Path(path))
        for records in _chain_first(first, pieces):
            report.warnings.extend(records.warnings)
            for start in range(0, len(records), chunk_packets):
                packets = decode_records(records.slice(start, start + chunk_packets))
                report.packets += len(packets)
                counts = np.bincount(packets.skip, minlength=len(SKIP_REASONS))
                skipped += counts
                report.skipped = {SKIP_REASONS[k]: int(skipped[k])
                                  for k in range(1, len(SKIP_REASONS))}
                if progress is not None:
                    progress(len(packets))
                yield packets if counts[0] == len(packets) else packets.select(packets.skip == 0)
    if report.files == 0:
        raise errors[0] if len(errors) == 1 else CaptureError(
            f"none of the {len(errors)} inputs is a readable capture; first: {errors[0]}")
    report.skipped = {SKIP_REASONS[k]: int(skipped[k]) for k in range(1, len(SKIP_REASONS))}


def _chain_first(first: RecordTable, rest: Iterator[RecordTable]) -> Iterator[RecordTable]:
    yield first
    yield from rest


def iter_flow_tables(paths: Iterable[str | os.PathLike[str]], *,
                     home_net: list[str] | None = None, report: MeterReport | None = None,
                     progress: Callable[[int], None] | None = None,
                     chunk_packets: int = CHUNK_PACKETS) -> Iterator[pl.DataFrame]:
    """Captures -> flow tables of the flows that ended, chunk by chunk.

    Memory stays bounded by the open flows and the host windows, whatever
    the size of the captures. Each table carries the hidden ORDER_COLUMNS of
    :mod:`twinai.flows.table`; ``flow_id`` is -1 (numbered by
    :func:`~twinai.flows.table.sort_flow_table`).
    """
    from twinai.flows.table import streamed_flow_table

    report = report if report is not None else MeterReport()
    stream = StreamMeter()
    new_file: list[Path] = []
    reordered = 0
    for packets in iter_packet_chunks(paths, report, progress, chunk_packets=chunk_packets,
                                      on_new_file=new_file.append):
        if new_file and len(packets) and stream.reaches_past(int(packets.ts_us.min())):
            # This capture starts before the time the ones before it reached
            # (another sensor, another day): meter it on its own clock, or
            # every packet of it would be clamped to the stream's time and
            # its flows squashed into a burst that looks like a scan.
            log.info("%s starts before the previous captures end; metered on its own clock",
                     new_file[-1])
            done = stream.finish()
            reordered += stream.reordered
            report.flows += len(done)
            yield streamed_flow_table(done, home_net=home_net)
            stream = StreamMeter()
        if len(packets):
            new_file.clear()
        report.packets_used += len(packets)
        done = stream.feed(packets)
        report.flows += len(done)
        if len(done):
            yield streamed_flow_table(done, home_net=home_net)
    done = stream.finish()
    report.flows += len(done)
    reordered += stream.reordered
    if reordered:
        report.warnings.append(
            f"{reordered} packets came more than {REORDER_SLACK_US / 1e6:g} s out of "
            "time order across chunks and were metered at the time the stream had reached")
    yield streamed_flow_table(done, home_net=home_net)


def meter_files(paths: Iterable[str | os.PathLike[str]], *, home_net: list[str] | None = None,
                report: MeterReport | None = None,
                progress: Callable[[int], None] | None = None,
                chunk_packets: int = CHUNK_PACKETS) -> pl.DataFrame:
    """Read captures (files or folders, gzip allowed) into the flow table.

    Parameters
    ----------
    paths : files or folders of pcap/pcapng captures.
    home_net : CIDRs of the defended network; None means the private ranges
        (see :mod:`twinai.flows.direction`).
    report : filled in with counts, skipped packets and warnings when given.
    chunk_packets : packets metered at a time (see :class:`StreamMeter`); the
        result does not depend on it.

    Returns
    -------
    polars.DataFrame with the columns of :mod:`twinai.flows.schema`, one row
    per flow, ordered by first packet time.
    """
    from twinai.flows.table import sort_flow_table

    report = report if report is not None else MeterReport()
    started = time.perf_counter()
    table = sort_flow_table(list(iter_flow_tables(paths, home_net=home_net, report=report,
                                                  progress=progress,
                                                  chunk_packets=chunk_packets)))
    report.flows = table.height
    report.seconds = time.perf_counter() - started
    log.info("%s", report.summary())
    return table


# --- the streaming meter ------------------------------------------------------
#
# The offline path above holds every packet of the capture at once. The
# streaming meter below takes packets in chunks, in time order, and keeps only
# what can still matter: flows that may still get packets, host windows of
# the last 60 s. It gives the same flows with the same values (a parity test
# proves it on the shared captures) at a bounded memory.
#
# Each flow lives in a row of ``flows`` (integers) and ``flow_f`` (float
# sums) while it is open; when it ends (a new flow takes its key, or it has
# been idle or active too long) the row is copied to the output. A packet's
# flow is found through an open-addressing hash table over the direction-free
# key; hosts likewise. Host windows are those of twinai.features.windows.

# Flow row layout (int64).
(F_LIVE, F_FIRST, F_LAST, F_REPLY, F_RST, F_SPORT, F_DPORT, F_PROTO, F_VLAN,
 F_IPVER, F_SEQ0, F_IPID0, F_TTL0, F_FLAGS0, F_PKTS_F, F_PKTS_B, F_IPB_F, F_IPB_B,
 F_PAY_F, F_PAY_B, F_SMIN_F, F_SMIN_B, F_SMAX_F, F_SMAX_B, F_LAST_F, F_LAST_B,
 F_SYN_F, F_SYN_B, F_ACK_F, F_ACK_B, F_FIN_F, F_FIN_B, F_RST_F, F_RST_B, F_PSH_F,
 F_PSH_B, F_URG_F, F_URG_B, F_SYNACK_B, F_NSEQ_F, F_NSEQ_B, F_MISSED, F_SRC_H,
 F_DST_H, F_REC, F_SNAP_T, F_SNAP) = range(47)
F_FIELDS = F_SNAP + windows.SNAP_FIELDS * windows.N_WINDOWS
# Flow row layout (float64): sums of squares and gaps.
G_SQ_F, G_SQ_B, G_IAT_F, G_IAT_B, G_IATSQ_F, G_IATSQ_B, G_IATMAX_F, G_IATMAX_B = range(8)
G_FIELDS = 8
# Flow addresses (uint64): the first packet's source and destination.
A_SRC_HI, A_SRC_LO, A_DST_HI, A_DST_LO = range(4)

# Counters and cursors of one stream (int64 vector ``meta``).
(M_HOSTS, M_FREE_H, M_FLOWS, M_FREE_F, M_REC_BASE, M_REC_N, M_EV_BASE, M_EV_N,
 M_PAIRS, M_OUT, M_LIVE_F, M_LIVE_H) = range(12)
M_FIELDS = 12



@numba.njit(cache=True, inline="always")
def _endpoint_hash(hi, lo, port):  # type: ignore[no-untyped-def]
    return windows.mix64(hi ^ windows.mix64(lo ^ (np.uint64(port) << np.uint64(48))))


@numba.njit(cache=True)
def _host_slot(hosts, host_addr, htab, meta, free_h, hi, lo):  # type: ignore[no-untyped-def]
    """The host id of an address, allocated on first sight."""
    mask = htab.shape[0] - 1
    p = np.int64(windows.mix64(hi ^ windows.mix64(lo)) & np.uint64(mask))
    while True:
        h = htab[p]
        if h < 0:
            break
        if host_addr[h, 0] == hi and host_addr[h, 1] == lo:
            return h
        p = (p + 1) & mask
    if meta[M_FREE_H] > 0:
        meta[M_FREE_H] -= 1
        h = free_h[meta[M_FREE_H]]
    else:
        h = meta[M_HOSTS]
        meta[M_HOSTS] += 1
    htab[p] = h
    host_addr[h, 0] = hi
    host_addr[h, 1] = lo
    hosts[h, :] = 0
    hosts[h, windows.H_EV_TAIL:windows.H_S_CNT] = -1
    hosts[h, windows.H_LIVE] = 1
    meta[M_LIVE_H] += 1
    return h


@numba.njit(cache=True)
def _flow_slot(flows, flow_addr, ftab, meta, free_f, s_hi, s_lo, d_hi, d_lo, sp, dp,  # type: ignore[no-untyped-def]
               proto, vlan):
    """(row of the open flow with this key or a new row, True when new)."""
    mask = ftab.shape[0] - 1
    code = (np.uint64(proto) << np.uint64(16)) | np.uint64(vlan)
    key = _endpoint_hash(s_hi, s_lo, sp) + _endpoint_hash(d_hi, d_lo, dp)
    p = np.int64(windows.mix64(key ^ windows.mix64(code)) & np.uint64(mask))
    while True:
        f = ftab[p]
        if f < 0:
            break
        if flows[f, F_PROTO] == proto and flows[f, F_VLAN] == vlan:
            a = flow_addr[f]
            if (a[A_SRC_LO] == s_lo and a[A_DST_LO] == d_lo and a[A_SRC_HI] == s_hi
                    and a[A_DST_HI] == d_hi and flows[f, F_SPORT] == sp
                    and flows[f, F_DPORT] == dp):
                return f, False
            if (a[A_SRC_LO] == d_lo and a[A_DST_LO] == s_lo and a[A_SRC_HI] == d_hi
                    and a[A_DST_HI] == s_hi and flows[f, F_SPORT] == dp
                    and flows[f, F_DPORT] == sp):
                return f, False
        p = (p + 1) & mask
    if meta[M_FREE_F] > 0:
        meta[M_FREE_F] -= 1
        f = free_f[meta[M_FREE_F]]
    else:
        f = meta[M_FLOWS]
        meta[M_FLOWS] += 1
    ftab[p] = f
    return f, True


@numba.njit(cache=True)
def _emit(flows, flow_f, flow_addr, f, out, out_f, out_addr, meta, hosts):  # type: ignore[no-untyped-def]
    """Copy a finished flow to the output and release its hosts."""
    o = meta[M_OUT]
    out[o, :] = flows[f, :]
    out_f[o, :] = flow_f[f, :]
    out_addr[o, :] = flow_addr[f, :]
    meta[M_OUT] = o + 1
    hosts[flows[f, F_SRC_H], windows.H_REFS] -= 1
    hosts[flows[f, F_DST_H], windows.H_REFS] -= 1
    flows[f, F_LIVE] = 0
    meta[M_LIVE_F] -= 1


@numba.njit(cache=True)
def _open_flow(flows, flow_f, flow_addr, f, i, ts, s_hi, s_lo, d_hi, d_lo, sp, dp,  # type: ignore[no-untyped-def]
               proto, vlan, ipver, seq, ipid, ttl, flags, hs, hd, meta, hosts, rec):
    flows[f, :] = 0
    flow_f[f, :] = 0.0
    flows[f, F_LIVE] = 1
    flows[f, F_FIRST] = ts[i]
    flows[f, F_REPLY] = -1
    flows[f, F_RST] = -1
    flows[f, F_SPORT] = sp[i]
    flows[f, F_DPORT] = dp[i]
    flows[f, F_PROTO] = proto[i]
    flows[f, F_VLAN] = vlan[i]
    flows[f, F_IPVER] = ipver[i]
    flows[f, F_SEQ0] = seq[i]
    flows[f, F_IPID0] = ipid[i]
    flows[f, F_TTL0] = ttl[i]
    flows[f, F_FLAGS0] = flags[i]
    flows[f, F_NSEQ_F] = -1
    flows[f, F_NSEQ_B] = -1
    flows[f, F_SRC_H] = hs
    flows[f, F_DST_H] = hd
    flows[f, F_SNAP_T] = -1
    flow_addr[f, A_SRC_HI] = s_hi[i]
    flow_addr[f, A_SRC_LO] = s_lo[i]
    flow_addr[f, A_DST_HI] = d_hi[i]
    flow_addr[f, A_DST_LO] = d_lo[i]
    hosts[hs, windows.H_REFS] += 1
    hosts[hd, windows.H_REFS] += 1
    meta[M_LIVE_F] += 1
    r = meta[M_REC_N]
    meta[M_REC_N] = r + 1
    j = r - meta[M_REC_BASE]
    rec[j, windows.R_START] = ts[i]
    rec[j, windows.R_SRC] = hs
    rec[j, windows.R_DST] = hd
    rec[j, windows.R_PORT] = dp[i]
    rec[j, windows.R_MARK] = 0
    rec[j, windows.R_NEXT_S] = -1
    rec[j, windows.R_NEXT_D] = -1
    flows[f, F_REC] = r


@numba.njit(cache=True)
def _add_packet(flows, flow_f, f, t, size, pay, fl, is_tcp, seq, fwd):  # type: ignore[no-untyped-def]
    """The per-packet statistics of the offline ``_accumulate``, for one flow row."""
    flows[f, F_LAST] = t
    d = 0 if fwd else 1
    pk = F_PKTS_F + d
    if flows[f, pk] > 0:
        gap = (t - flows[f, F_LAST_F + d]) / 1e6
        flow_f[f, G_IAT_F + d] += gap
        flow_f[f, G_IATSQ_F + d] += gap * gap
        if gap > flow_f[f, G_IATMAX_F + d]:
            flow_f[f, G_IATMAX_F + d] = gap
        if size < flows[f, F_SMIN_F + d]:
            flows[f, F_SMIN_F + d] = size
    else:
        flows[f, F_SMIN_F + d] = size
    flows[f, F_LAST_F + d] = t
    flows[f, pk] += 1
    flows[f, F_IPB_F + d] += size
    flows[f, F_PAY_F + d] += pay
    if size > flows[f, F_SMAX_F + d]:
        flows[f, F_SMAX_F + d] = size
    flow_f[f, G_SQ_F + d] += size * size
    flows[f, F_SYN_F + d] += (fl & 0x02) != 0
    flows[f, F_ACK_F + d] += (fl & 0x10) != 0
    flows[f, F_FIN_F + d] += (fl & 0x01) != 0
    flows[f, F_RST_F + d] += (fl & 0x04) != 0
    flows[f, F_PSH_F + d] += (fl & 0x08) != 0
    flows[f, F_URG_F + d] += (fl & 0x20) != 0
    if not fwd:
        flows[f, F_SYNACK_B] += (fl & 0x12) == 0x12
    if is_tcp:
        flows[f, F_MISSED] += _row_seq_gap(flows, f, F_NSEQ_F + d, seq, pay, fl)


@numba.njit(cache=True, inline="always")
def _row_seq_gap(flows, f, col, seq, payload, fl):  # type: ignore[no-untyped-def]
    """``_seq_gap`` on a flow row (see there)."""
    s = np.int64(seq)
    advance = np.int64(payload) + (1 if (fl & 0x03) != 0 else 0)
    gap = np.int64(0)
    if flows[f, col] < 0:
        flows[f, col] = (s + advance) & 0xFFFFFFFF
        return gap
    delta = (s - flows[f, col]) & 0xFFFFFFFF
    if 0 < delta < 0x80000000 and payload > 0:
        gap = delta
    end = (s + advance) & 0xFFFFFFFF
    if ((end - flows[f, col]) & 0xFFFFFFFF) < 0x80000000:
        flows[f, col] = end
    return gap


@numba.njit(cache=True)
def _stream_chunk(order, ts, s_hi, s_lo, d_hi, d_lo, sp, dp, proto, vlan, ipver,  # type: ignore[no-untyped-def]
                  ip_bytes, payload, flags, seq, ipid, ttl, idle_us, active_us,
                  flows, flow_f, flow_addr, ftab, free_f, hosts, host_addr, htab, free_h,
                  rec, ev, pkeys, pcounts, meta, out, out_f, out_addr, touched):
    """Meter packets (in ``order``, by time) into the open flows.

    For each packet: 1. find its hosts and its flow (a new one when the key
    is new or its flow timed out, the old one going to the output); 2. add
    the packet to the flow and, on its first reply or reset, to the source's
    window counts; 3. add the packet to both hosts' traffic; 4. when the
    packet closes a run of equal timestamps, advance the hosts of every flow
    touched in the run and snapshot that flow's windows: the windows of a
    flow are those at its last packet.
    """
    n_touched = 0
    used = meta[M_PAIRS]
    n = order.shape[0]
    for k in range(n):
        i = order[k]
        t = ts[i]
        hs = _host_slot(hosts, host_addr, htab, meta, free_h, s_hi[i], s_lo[i])
        hd = _host_slot(hosts, host_addr, htab, meta, free_h, d_hi[i], d_lo[i])
        f, new = _flow_slot(flows, flow_addr, ftab, meta, free_f, s_hi[i], s_lo[i],
                            d_hi[i], d_lo[i], sp[i], dp[i], proto[i], vlan[i])
        if not new and (t - flows[f, F_LAST] > idle_us or t - flows[f, F_FIRST] > active_us):
            _emit(flows, flow_f, flow_addr, f, out, out_f, out_addr, meta, hosts)
            new = True
        if new:
            _open_flow(flows, flow_f, flow_addr, f, i, ts, s_hi, s_lo, d_hi, d_lo, sp, dp,
                       proto, vlan, ipver, seq, ipid, ttl, flags, hs, hd, meta, hosts, rec)
            used = windows.admit_flow(hosts, rec, meta[M_REC_BASE], flows[f, F_REC],
                                      pkeys, pcounts, used)

        fwd = (s_lo[i] == flow_addr[f, A_SRC_LO] and s_hi[i] == flow_addr[f, A_SRC_HI]
               and sp[i] == flows[f, F_SPORT])
        is_tcp = proto[i] == 6
        fl = flags[i] if is_tcp else 0
        if (fl & 0x04) != 0 and flows[f, F_RST] < 0:
            flows[f, F_RST] = t
            windows.mark_flow(hosts, rec, meta[M_REC_BASE], flows[f, F_REC],
                              flows[f, F_FIRST], t, 3, 4)
        if not fwd and flows[f, F_PKTS_B] == 0:
            flows[f, F_REPLY] = t
            windows.mark_flow(hosts, rec, meta[M_REC_BASE], flows[f, F_REC],
                              flows[f, F_FIRST], t, 0, 3)
        _add_packet(flows, flow_f, f, t, np.int64(ip_bytes[i]), np.int64(payload[i]), fl,
                    is_tcp, seq[i], fwd)

        e = meta[M_EV_N]
        windows.add_event(hosts, hs, t, ev, meta[M_EV_BASE], e, 1, 0, 0)
        windows.add_event(hosts, hd, t, ev, meta[M_EV_BASE], e + 1, 0, 1, np.int64(ip_bytes[i]))
        meta[M_EV_N] = e + 2

        if flows[f, F_SNAP_T] != t:
            flows[f, F_SNAP_T] = t
            touched[n_touched] = f
            n_touched += 1
        if k + 1 == n or ts[order[k + 1]] != t:
            for j in range(n_touched):
                g = touched[j]
                src = flows[g, F_SRC_H]
                dst = flows[g, F_DST_H]
                used = windows.advance_host(hosts, src, t, rec, meta[M_REC_BASE], ev,
                                            meta[M_EV_BASE], pkeys, pcounts, used)
                if dst != src:
                    used = windows.advance_host(hosts, dst, t, rec, meta[M_REC_BASE], ev,
                                                meta[M_EV_BASE], pkeys, pcounts, used)
                windows.snapshot_windows(hosts, src, dst, ev, meta[M_EV_BASE], flows[g], F_SNAP)
            n_touched = 0
    meta[M_PAIRS] = used


@numba.njit(cache=True)
def _expire(flows, flow_f, flow_addr, meta, out, out_f, out_addr, hosts, now, idle_us,  # type: ignore[no-untyped-def]
            active_us, everything):
    """Emit the open flows no later packet can join (all of them at the end)."""
    for f in range(meta[M_FLOWS]):
        if flows[f, F_LIVE] and (everything or now - flows[f, F_LAST] > idle_us
                                 or now - flows[f, F_FIRST] > active_us):
            _emit(flows, flow_f, flow_addr, f, out, out_f, out_addr, meta, hosts)


@numba.njit(cache=True)
def _rebuild_flows(flows, flow_addr, meta, ftab, free_f):  # type: ignore[no-untyped-def]
    """Index the open flows in a fresh table; closed rows become free."""
    ftab[:] = -1
    mask = ftab.shape[0] - 1
    n_free = 0
    for f in range(meta[M_FLOWS]):
        if not flows[f, F_LIVE]:
            free_f[n_free] = f
            n_free += 1
            continue
        a = flow_addr[f]
        code = (np.uint64(flows[f, F_PROTO]) << np.uint64(16)) | np.uint64(flows[f, F_VLAN])
        key = (_endpoint_hash(a[A_SRC_HI], a[A_SRC_LO], flows[f, F_SPORT])
               + _endpoint_hash(a[A_DST_HI], a[A_DST_LO], flows[f, F_DPORT]))
        p = np.int64(windows.mix64(key ^ windows.mix64(code)) & np.uint64(mask))
        while ftab[p] >= 0:
            p = (p + 1) & mask
        ftab[p] = f
    meta[M_FREE_F] = n_free


@numba.njit(cache=True)
def _settle_hosts(hosts, host_addr, meta, htab, free_h, now, rec, ev, pkeys, pcounts):  # type: ignore[no-untyped-def]
    """Advance every host to ``now``; free hosts idle past the longest window.

    Returns (pairs used, oldest record and oldest event still needed).
    """
    used = meta[M_PAIRS]
    htab[:] = -1
    mask = htab.shape[0] - 1
    n_free = 0
    horizon = now - windows.LONGEST_WINDOW_US
    for h in range(meta[M_HOSTS]):
        if not hosts[h, windows.H_LIVE]:
            free_h[n_free] = h
            n_free += 1
            continue
        used = windows.advance_host(hosts, h, now, rec, meta[M_REC_BASE], ev,
                                    meta[M_EV_BASE], pkeys, pcounts, used)
        if hosts[h, windows.H_REFS] == 0 and hosts[h, windows.H_LAST] <= horizon:
            hosts[h, windows.H_LIVE] = 0
            meta[M_LIVE_H] -= 1
            free_h[n_free] = h
            n_free += 1
            continue
        p = np.int64(windows.mix64(host_addr[h, 0] ^ windows.mix64(host_addr[h, 1]))
                     & np.uint64(mask))
        while htab[p] >= 0:
            p = (p + 1) & mask
        htab[p] = h
    meta[M_FREE_H] = n_free
    meta[M_PAIRS] = used


@numba.njit(cache=True)
def _first_after(pool, base, n, col, horizon):  # type: ignore[no-untyped-def]
    """Absolute index of the first pool row whose time is after ``horizon``."""
    k = base
    while k < n and pool[k - base, col] <= horizon:
        k += 1
    return k


@numba.njit(cache=True)
def _drop_stale_tails(hosts, meta, rec_base, ev_base):  # type: ignore[no-untyped-def]
    for h in range(meta[M_HOSTS]):
        if hosts[h, windows.H_S_TAIL] < rec_base:
            hosts[h, windows.H_S_TAIL] = -1
        if hosts[h, windows.H_D_TAIL] < rec_base:
            hosts[h, windows.H_D_TAIL] = -1
        if hosts[h, windows.H_EV_TAIL] < ev_base:
            hosts[h, windows.H_EV_TAIL] = -1


def _pow2_at_least(n: int) -> int:
    return 1 << max(10, int(n - 1).bit_length())


def _grown(array: np.ndarray, rows: int, fill: int | float = 0) -> np.ndarray:
    """``array`` with at least ``rows`` rows (doubling), existing rows kept."""
    if array.shape[0] >= rows:
        return array
    size = max(rows, array.shape[0] + array.shape[0] // 2)
    bigger = np.full((size,) + array.shape[1:], fill, array.dtype)
    bigger[: array.shape[0]] = array
    return bigger


@dataclass
class FlowChunk:
    """Flows that ended, as rows of the streaming meter (see the layouts above)."""

    ints: np.ndarray  # int64 [flows, F_FIELDS]
    sums: np.ndarray  # float64 [flows, G_FIELDS]
    addr: np.ndarray  # uint64 [flows, 4]

    def __len__(self) -> int:
        return int(self.ints.shape[0])


class StreamMeter:
    """Meter packets chunk by chunk, in time order, with bounded memory.

    Feed :class:`PacketColumns` chunks in capture order with :meth:`feed`;
    each call returns the flows that can no longer change. :meth:`finish`
    returns the rest. Memory holds the open flows and the last 60 s of host
    history, never the whole capture.

    Notes
    -----
    Packets may be out of time order by up to ``REORDER_SLACK_US`` across
    chunk boundaries and still give exactly the offline result; a packet later
    than that is metered at the time the stream had reached, and counted in
    ``reordered``.
    """

    def __init__(self, *, idle_timeout_s: int = IDLE_TIMEOUT_S,
                 active_timeout_s: int = ACTIVE_TIMEOUT_S,
                 reorder_slack_us: int = REORDER_SLACK_US) -> None:
        self.idle_us = idle_timeout_s * 1_000_000
        self.active_us = active_timeout_s * 1_000_000
        self.reorder_slack_us = reorder_slack_us
        self.reordered = 0
        self._watermark = np.iinfo(np.int64).min
        self._held: PacketColumns | None = None
        self.meta = np.zeros(M_FIELDS, np.int64)
        self.flows = np.zeros((0, F_FIELDS), np.int64)
        self.flow_f = np.zeros((0, G_FIELDS), np.float64)
        self.flow_addr = np.zeros((0, 4), np.uint64)
        self.free_f = np.zeros(0, np.int64)
        self.ftab = np.full(1024, -1, np.int64)
        self.hosts = np.zeros((0, windows.H_FIELDS), np.int64)
        self.host_addr = np.zeros((0, 2), np.uint64)
        self.free_h = np.zeros(0, np.int64)
        self.htab = np.full(1024, -1, np.int64)
        self.rec = np.zeros((0, windows.R_FIELDS), np.int64)
        self.ev = np.zeros((0, windows.E_FIELDS), np.int64)
        self.pkeys = np.full(1024, -1, np.int64)
        self.pcounts = np.zeros((1024, windows.N_WINDOWS), np.int32)

    @property
    def open_flows(self) -> int:
        return int(self.meta[M_LIVE_F])

    def reaches_past(self, ts_us: int) -> bool:
        """Whether a packet at ``ts_us`` would come too late to be put in order."""
        return ts_us < self._watermark

    def feed(self, packets: PacketColumns) -> FlowChunk:
        """Meter a chunk; returns the flows that ended."""
        if self._held is not None and len(self._held):
            packets = PacketColumns.concat([self._held, packets])
        late = packets.ts_us < self._watermark
        if late.any():
            # Too late to be put in order: metered at the stream's time.
            self.reordered += int(late.sum())
            packets.ts_us = np.where(late, self._watermark, packets.ts_us)
        if len(packets) == 0:
            return self._take_output(0)
        # Hold back the newest packets (always at least the last timestamp, so
        # that a run of equal timestamps is never split between chunks).
        cutoff = int(packets.ts_us.max()) - self.reorder_slack_us
        held = packets.ts_us >= cutoff
        self._held = packets.select(held)
        self._watermark = cutoff
        return self._run(packets.select(~held), final=False)

    def finish(self) -> FlowChunk:
        """Meter what was held back and return every flow still open."""
        held = self._held if self._held is not None else _no_packets()
        self._held = None
        return self._run(held, final=True)

    def _run(self, packets: PacketColumns, *, final: bool) -> FlowChunk:
        n = len(packets)
        self._reserve(n)
        out_rows = int(self.meta[M_LIVE_F]) + n
        out = np.zeros((out_rows, F_FIELDS), np.int64)
        out_f = np.zeros((out_rows, G_FIELDS), np.float64)
        out_addr = np.zeros((out_rows, 4), np.uint64)
        self.meta[M_OUT] = 0
        if n:
            order = np.argsort(packets.ts_us, kind="stable")
            p = packets
            _stream_chunk(order, p.ts_us, p.src_hi, p.src_lo, p.dst_hi, p.dst_lo, p.src_port,
                          p.dst_port, p.protocol, p.vlan_id, p.ip_version, p.ip_bytes,
                          p.payload_bytes, p.tcp_flags, p.tcp_seq, p.ip_id, p.ttl,
                          self.idle_us, self.active_us, self.flows, self.flow_f,
                          self.flow_addr, self.ftab, self.free_f, self.hosts, self.host_addr,
                          self.htab, self.free_h, self.rec, self.ev, self.pkeys, self.pcounts,
                          self.meta, out, out_f, out_addr, np.empty(n, np.int64))
        # Later packets all come at or after the watermark (later ones are
        # moved up to it), so flows that could not take a packet there are done.
        now = self._watermark
        _expire(self.flows, self.flow_f, self.flow_addr, self.meta, out, out_f, out_addr,
                self.hosts, now, self.idle_us, self.active_us, final)
        if not final:
            self._settle(now)
        return FlowChunk(out[: self.meta[M_OUT]], out_f[: self.meta[M_OUT]],
                         out_addr[: self.meta[M_OUT]])

    def _take_output(self, n: int) -> FlowChunk:
        return FlowChunk(np.zeros((n, F_FIELDS), np.int64), np.zeros((n, G_FIELDS)),
                         np.zeros((n, 4), np.uint64))

    def _reserve(self, n: int) -> None:
        """Room for ``n`` more packets: each may open a flow, two hosts, a record,
        two events and nine pairs; hash tables at most half full."""
        meta = self.meta
        flows_needed = int(meta[M_FLOWS]) + max(0, n - int(meta[M_FREE_F]))
        self.flows = _grown(self.flows, flows_needed)
        self.flow_f = _grown(self.flow_f, flows_needed)
        self.flow_addr = _grown(self.flow_addr, flows_needed)
        self.free_f = _grown(self.free_f, flows_needed)
        hosts_needed = int(meta[M_HOSTS]) + max(0, 2 * n - int(meta[M_FREE_H]))
        self.hosts = _grown(self.hosts, hosts_needed)
        self.host_addr = _grown(self.host_addr, hosts_needed)
        self.free_h = _grown(self.free_h, hosts_needed)
        self.rec = _grown(self.rec, int(meta[M_REC_N] - meta[M_REC_BASE]) + n)
        self.ev = _grown(self.ev, int(meta[M_EV_N] - meta[M_EV_BASE]) + 2 * n)
        if self.ftab.shape[0] < 2 * (int(meta[M_LIVE_F]) + n):
            self.ftab = np.full(_pow2_at_least(2 * (int(meta[M_LIVE_F]) + n)), -1, np.int64)
            _rebuild_flows(self.flows, self.flow_addr, meta, self.ftab, self.free_f)
        if self.htab.shape[0] < 2 * (int(meta[M_LIVE_H]) + 2 * n):
            self.htab = np.full(_pow2_at_least(2 * (int(meta[M_LIVE_H]) + 2 * n)), -1, np.int64)
            self._rehash_hosts()
        # Rebuilt every chunk: drops the pairs no window counts any more.
        self._rehash_pairs(_pow2_at_least(2 * (int(meta[M_PAIRS]) + 3 * n)))

    def _rehash_hosts(self) -> None:
        _rehash_host_table(self.hosts, self.host_addr, self.meta, self.htab)

    def _rehash_pairs(self, size: int) -> None:
        keys = np.full(size, -1, np.int64)
        counts = np.zeros((size, windows.N_WINDOWS), np.int32)
        self.meta[M_PAIRS] = windows.pair_rebuild(self.pkeys, self.pcounts, keys, counts)
        self.pkeys, self.pcounts = keys, counts

    def _settle(self, now: int) -> None:
        """Between chunks: forget what no window can see any more."""
        meta = self.meta
        _rebuild_flows(self.flows, self.flow_addr, meta, self.ftab, self.free_f)
        _settle_hosts(self.hosts, self.host_addr, meta, self.htab, self.free_h, now,
                      self.rec, self.ev, self.pkeys, self.pcounts)
        horizon = now - windows.LONGEST_WINDOW_US
        rec_keep = _first_after(self.rec, int(meta[M_REC_BASE]), int(meta[M_REC_N]),
                                windows.R_START, horizon)
        ev_keep = _first_after(self.ev, int(meta[M_EV_BASE]), int(meta[M_EV_N]),
                               windows.E_TS, horizon)
        self._shift_pool("rec", rec_keep, M_REC_BASE, M_REC_N)
        self._shift_pool("ev", ev_keep, M_EV_BASE, M_EV_N)
        _drop_stale_tails(self.hosts, meta, meta[M_REC_BASE], meta[M_EV_BASE])

    def _shift_pool(self, name: str, keep: int, base_at: int, n_at: int) -> None:
        pool = getattr(self, name)
        drop = keep - int(self.meta[base_at])
        if drop <= 0:
            return
        live = int(self.meta[n_at]) - keep
        pool[:live] = pool[drop:drop + live]
        self.meta[base_at] = keep
        if pool.shape[0] > 4 * max(live, 1024):  # give memory back after a burst
            setattr(self, name, pool[: 2 * max(live, 1024)].copy())


@numba.njit(cache=True)
def _rehash_host_table(hosts, host_addr, meta, htab):  # type: ignore[no-untyped-def]
    mask = htab.shape[0] - 1
    for h in range(meta[M_HOSTS]):
        if not hosts[h, windows.H_LIVE]:
            continue
        p = np.int64(windows.mix64(host_addr[h, 0] ^ windows.mix64(host_addr[h, 1]))
                     & np.uint64(mask))
        while htab[p] >= 0:
            p = (p + 1) & mask
        htab[p] = h


def _no_packets() -> PacketColumns:
    names = PacketColumns.__dataclass_fields__.keys()
    sample = {"ts_us": np.int64, "src_hi": np.uint64, "src_lo": np.uint64, "dst_hi": np.uint64,
              "dst_lo": np.uint64, "src_port": np.uint16, "dst_port": np.uint16,
              "protocol": np.uint8, "ip_version": np.uint8, "vlan_id": np.uint16,
              "ip_bytes": np.uint32, "payload_bytes": np.uint32, "tcp_flags": np.uint8,
              "tcp_seq": np.uint32, "ip_id": np.uint32, "ttl": np.uint8, "fragment": np.uint8,
              "icmp_type": np.uint8, "skip": np.uint8}
    return PacketColumns(**{k: np.zeros(0, sample[k]) for k in names})

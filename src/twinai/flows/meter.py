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
from typing import Callable, Iterable

import numba
import numpy as np
import polars as pl

from twinai.capture.decode import SKIP_REASONS, PacketColumns, decode_records
from twinai.capture.reader import capture_files, read_records
from twinai.errors import CaptureError

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
]

log = logging.getLogger(__name__)

# nfstream's defaults (idle 120 s, active 1800 s): long enough that a slow
# TCP session stays one flow, short enough that a port reused minutes later
# by another connection starts a new one.
IDLE_TIMEOUT_S = 120
ACTIVE_TIMEOUT_S = 1800

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


def meter_files(paths: Iterable[str | os.PathLike[str]], *, home_net: list[str] | None = None,
                report: MeterReport | None = None,
                progress: Callable[[int], None] | None = None) -> pl.DataFrame:
    """Read captures (files or folders, gzip allowed) into the flow table.

    Parameters
    ----------
    paths : files or folders of pcap/pcapng captures.
    home_net : CIDRs of the defended network; None means the private ranges
        (see :mod:`twinai.flows.direction`).
    report : filled in with counts, skipped packets and warnings when given.

    Returns
    -------
    polars.DataFrame with the columns of :mod:`twinai.flows.schema`, one row
    per flow, ordered by first packet time.
    """
    report = report if report is not None else MeterReport()
    started = time.perf_counter()
    packets = read_packets(paths, report, progress)
    table = meter_packets(packets, home_net=home_net)
    report.packets_used = len(packets)
    report.flows = table.height
    report.seconds = time.perf_counter() - started
    log.info("%s", report.summary())
    return table

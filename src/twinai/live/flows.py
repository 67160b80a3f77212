"""The live flow table: recent packets re-metered with the offline code each tick.

Rather than a second, incremental flow engine that could drift from the
offline one, the watcher keeps the packets it still needs and meters them
again on every tick with :class:`~twinai.flows.meter.ColumnarMeter` and
:func:`~twinai.flows.table.build_flow_table` -- the very calls behind
``meter_packets``. A flow snapshot taken at a tick is the flow as the
offline path would see it had the capture ended at that moment.

Which packets are kept (bounded memory)
---------------------------------------
A packet is kept while its flow is *open* (its last packet is less than
``IDLE_TIMEOUT_S`` old and it began less than ``ACTIVE_TIMEOUT_S`` ago) or
while its flow *began within the longest host window* (60 s). Every kept
flow is therefore complete, and every flow that can still change or still
counts in a host window is kept: the live table equals the offline table of
the same packets for every flow it holds. On top of that the store never
holds more than ``MAX_RETAINED_PACKETS``; past that the oldest packets are
evicted (counted in ``evicted``), and flows that lost packets to eviction
are truncated (their snapshots differ from offline).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import polars as pl

from twinai.capture.decode import PacketColumns
from twinai.flows.meter import ACTIVE_TIMEOUT_S, IDLE_TIMEOUT_S, ColumnarMeter
from twinai.flows.schema import WINDOW_SECONDS
from twinai.flows.table import build_flow_table, empty_flow_table

__all__ = ["FLOW_KEY", "MAX_RETAINED_PACKETS", "LiveFlows", "FlowTick"]

log = logging.getLogger(__name__)

# About 70 bytes of columns per packet: two million packets is ~150 MB, the
# whole of a small router's spare memory. A flood at 10,000 packets/s keeps
# its one-packet flows open for IDLE_TIMEOUT_S (1.2 M packets) and still fits.
MAX_RETAINED_PACKETS = 2_000_000

# A flow is one flow across ticks when these agree (the meter renumbers
# flow_id on every pass; the first packet's time never changes).
FLOW_KEY = ("src_ip", "src_port", "dst_ip", "dst_port", "protocol", "vlan_id",
            "first_seen_us")

_WINDOW_US = max(WINDOW_SECONDS) * 1_000_000


@dataclass
class FlowTick:
    """One re-metering: every held flow, and those that changed since the last."""

    table: pl.DataFrame
    changed: pl.DataFrame
    now_us: int


class LiveFlows:
    """Packets held for re-metering, and the table they give.

    Parameters
    ----------
    home_net : list of CIDR or None
        As for :func:`~twinai.flows.meter.meter_packets`.
    max_packets : int
        The memory bound (see the module docstring).
    """

    def __init__(self, *, home_net: list[str] | None = None,
                 max_packets: int = MAX_RETAINED_PACKETS) -> None:
        self.home_net = home_net
        self.max_packets = max_packets
        self.meter = ColumnarMeter()
        self.evicted = 0
        self.flows_seen = 0
        self._held: list[PacketColumns] = []
        self._new_since_us: int | None = None  # oldest packet added since the last tick

    @property
    def packets_held(self) -> int:
        return sum(len(p) for p in self._held)

    def add(self, packets: PacketColumns) -> None:
        """Hold newly decoded packets until the next :meth:`tick`."""
        if len(packets):
            self._held.append(packets)
            oldest = int(packets.ts_us.min())
            if self._new_since_us is None or oldest < self._new_since_us:
                self._new_since_us = oldest

    def tick(self) -> FlowTick | None:
        """Meter what is held; None when nothing arrived since the last tick.

        1. join the held packets; 2. meter them into the flow table; 3. pick
        the flows that took a new packet; 4. drop packets no flow needs.
        """
        if self._new_since_us is None:
            return None
        since_us, self._new_since_us = self._new_since_us, None
        packets = PacketColumns.concat(self._held)
        now_us = int(packets.ts_us.max())

        arrays = self.meter.meter(packets)
        table = build_flow_table(arrays, packets, home_net=self.home_net)
        changed = table.filter(pl.col("last_seen_us") >= since_us)
        self.flows_seen += int((changed["first_seen_us"] >= since_us).sum())

        self._held = [self._keep(packets, arrays.columns, arrays.packet_flow, now_us)]
        return FlowTick(table=table, changed=changed, now_us=now_us)

    def _keep(self, packets: PacketColumns, acc: dict[str, np.ndarray],
              packet_flow: np.ndarray, now_us: int) -> PacketColumns:
        """The packets of open flows and of flows that began within the window."""
        first = acc["first_us"][packet_flow]
        last = acc["last_us"][packet_flow]
        is_open = (now_us - last <= IDLE_TIMEOUT_S * 1_000_000) & \
            (now_us - first <= ACTIVE_TIMEOUT_S * 1_000_000)
        keep = is_open | (first > now_us - _WINDOW_US)
        kept = packets.select(keep)
        excess = len(kept) - self.max_packets
        if excess > 0:
            # Oldest first: the newest packets decide the verdicts still to come.
            order = np.argsort(kept.ts_us, kind="stable")
            mask = np.ones(len(kept), bool)
            mask[order[:excess]] = False
            kept = kept.select(mask)
            self.evicted += excess
            log.warning("live flow store full: evicted the %d oldest packets (bound %d)",
                        excess, self.max_packets)
        return kept


def empty_tick() -> FlowTick:
    """A tick with no flows (for a watcher stopped before any packet)."""
    table = empty_flow_table()
    return FlowTick(table=table, changed=table, now_us=0)

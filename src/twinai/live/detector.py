"""The live detector: pcap bytes in; flow verdicts, alerts and blocks out.

It is the part of ``twinai watch`` that does not care where bytes come from:
tcpdump's pipe in the watcher, a file in the benchmark. Each :meth:`tick`
runs the offline stages on what is held:

1. meter the held packets (:class:`~twinai.live.flows.LiveFlows`);
2. score the flows that took a packet since the last tick with both folds
   and match scanner signatures -- flow snapshots, so a scanner is judged
   while its probes are still arriving, not when its flows time out;
3. keep each held flow's latest verdict (the *evidence* table);
4. roll the evidence up into alerts and merge them into the
   :class:`~twinai.live.book.AlertBook`;
5. hand new and renewed attackers to the responder (fold 1: the scanner, or
   our own scanning device for quarantine; fold 2: flood sources unless
   spoofed) and count the probes that got through before each block;
6. emit an EVE record for each new alert and each that grew.
"""

from __future__ import annotations

import json
import logging
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from twinai.alerts.rollup import rollup
from twinai.alerts.signatures import match_signatures
from twinai.capture.decode import SKIP_REASONS
from twinai.errors import ResponseError
from twinai.folds.bundle import FLOW_SCORE_THRESHOLD, ModelBundle
from twinai.live.book import AlertBook, BlockMark, LiveAlert
from twinai.live.flows import FLOW_KEY, MAX_RETAINED_PACKETS, LiveFlows
from twinai.live.stream import PcapStream
from twinai.response import DETECTION, PREVENTION, BlockRequest, Responder

__all__ = ["LiveDetector", "DetectorStats", "warm_up"]

log = logging.getLogger(__name__)

# What the evidence table keeps of each flow: what the rollup reads.
_FLOW_COLUMNS = (*FLOW_KEY, "flow_id", "last_seen_us", "direction", "orig_pkts",
                 "resp_pkts", "orig_bytes")
# TODO(live-conn-state): conn_state and resp_bytes are not kept here, so the
# rollup's failed-probe rules (MIN_FAILED_PROBES, MIN_FAILED_SHARE) are
# skipped live; keeping them would make live scan verdicts wait for the same
# evidence as offline ones, at the cost of re-measuring probes before block.
_PREDICTION_COLUMNS = ("scan_score", "ddos_score", "scan_type", "ddos_type", "verdict",
                       "attack_type", "reasons")

# The responder's own renewal point (twinai.response): renewing earlier is
# refused there as churn, renewing later risks a gap in the block.
RENEW_LEFT_FRACTION = 0.5

AlertSink = Callable[[dict[str, Any]], None]


@dataclass
class DetectorStats:
    """Counters of a live detector (the periodic stats line)."""

    packets: int = 0  # every record seen
    packets_used: int = 0  # IP packets metered
    skipped: int = 0  # non-IP, runts, ...
    packets_held: int = 0
    evicted: int = 0  # packets dropped from the flow store by its bound
    flows_held: int = 0
    flows_seen: int = 0
    flows_scored: int = 0
    alerts: int = 0
    blocks: int = 0
    block_failures: int = 0
    ticks: int = 0
    last_tick_ms: float = 0.0
    max_tick_ms: float = 0.0


class LiveDetector:
    """Judge a live pcap stream tick by tick (see the module docstring).

    Parameters
    ----------
    bundle : ModelBundle
        The folds.
    home_net : list of CIDR or None
        The defended networks (flow direction); None: the private ranges.
    responder : Responder or None
        Who blocks; None only reports.
    on_alert : callable or None
        Called with each EVE record as it is emitted.
    max_packets : int
        Bound of the live flow store.
    clock : callable
        Microseconds since the epoch now, on the clock of the packets' time
        stamps: the wall clock live (the kernel stamps packets with it); a
        replay of an old capture passes one tied to the capture
        (``lambda: detector.last_packet_us``) so that block times and probe
        times compare.
    """

    def __init__(self, bundle: ModelBundle, *, home_net: list[str] | None = None,
                 responder: Responder | None = None, on_alert: AlertSink | None = None,
                 max_packets: int = MAX_RETAINED_PACKETS, name: str = "live",
                 clock: Callable[[], int] | None = None) -> None:
        self.bundle = bundle
        self.responder = responder
        self.on_alert = on_alert
        self.stream = PcapStream(name)
        self.flows = LiveFlows(home_net=home_net, max_packets=max_packets)
        self.book = AlertBook()
        self.table: pl.DataFrame | None = None  # the last metered flow table
        self.evidence: pl.DataFrame | None = None  # latest verdict of each held flow
        self._stats = DetectorStats()
        self._next_id = 0
        self._marks: dict[str, BlockMark] = {}  # every address blocked, by address
        self.clock = clock or _wall_clock_us
        self.last_packet_us = 0  # time stamp of the newest packet metered

    def feed(self, data: bytes) -> None:
        """Take pcap stream bytes; packets are judged at the next tick."""
        if data:
            self.flows.add(self.stream.feed(data))

    def tick(self) -> None:
        """Meter, score, roll up, respond and emit (steps 1-6 above)."""
        started = time.perf_counter()
        flow_tick = self.flows.tick()
        if flow_tick is None:
            return
        self.table = flow_tick.table
        self.last_packet_us = flow_tick.now_us
        self._update_evidence(flow_tick.changed)
        self._keep_held_evidence(flow_tick.table)

        new, grown = self.book.update(self._rollup())
        self._explain(new)
        for held in self._active_alerts():
            self._respond(held)
        self._count_probes_before_block()
        for held in new + grown:
            self._emit(held)
        self._note_tick(time.perf_counter() - started)

    def finish(self) -> None:
        """Judge what is held and give the final record of every changed alert."""
        self.tick()
        for held in self.book.alerts.values():
            if held.stale:
                self._emit(held)

    def stats(self) -> DetectorStats:
        """The counters now."""
        stats = self._stats
        stats.packets = self.stream.packets
        stats.skipped = int(self.stream.skipped[1:].sum())
        stats.packets_used = stats.packets - stats.skipped
        stats.packets_held = self.flows.packets_held
        stats.evicted = self.flows.evicted
        stats.flows_held = self.table.height if self.table is not None else 0
        stats.flows_seen = self.flows.flows_seen
        stats.alerts = len(self.book)
        return stats

    def skipped_by_reason(self) -> dict[str, int]:
        return {SKIP_REASONS[k]: int(n) for k, n in enumerate(self.stream.skipped) if k and n}

    # --- steps ------------------------------------------------------------------

    def _update_evidence(self, changed: pl.DataFrame) -> None:
        """Score the changed flows and put their verdicts in the evidence table."""
        if changed.height == 0:
            return
        changed = self._with_live_ids(changed)
        predictions = self.bundle.predict(changed, explain=False)
        signatures = match_signatures(changed)
        rows = pl.concat([changed.select(_FLOW_COLUMNS),
                          predictions.select(_PREDICTION_COLUMNS)], how="horizontal")
        rows = rows.with_columns(pl.Series("signature", signatures.tolist(), dtype=pl.Utf8))
        self._stats.flows_scored += rows.height
        if self.evidence is None:
            self.evidence = rows
            return
        older = self.evidence.join(rows.select(FLOW_KEY), on=list(FLOW_KEY), how="anti")
        self.evidence = pl.concat([older, rows], how="vertical_relaxed")

    def _with_live_ids(self, changed: pl.DataFrame) -> pl.DataFrame:
        """Give each flow an id that stays the same across ticks."""
        if self.evidence is None:
            known = changed.select(FLOW_KEY).with_columns(
                pl.lit(None, dtype=pl.Int64).alias("flow_id")).clear()
        else:
            known = self.evidence.select(*FLOW_KEY, "flow_id")
        joined = changed.drop("flow_id").join(known, on=list(FLOW_KEY), how="left")
        missing = joined["flow_id"].is_null()
        fresh = np.cumsum(missing.to_numpy()) - 1 + self._next_id
        self._next_id += int(missing.sum())
        ids = pl.Series("flow_id", np.where(missing.to_numpy(), fresh,
                                            joined["flow_id"].fill_null(0).to_numpy()))
        return joined.with_columns(ids.cast(pl.Int64))

    def _keep_held_evidence(self, table: pl.DataFrame) -> None:
        """Forget the verdicts of flows no longer held."""
        if self.evidence is not None:
            self.evidence = self.evidence.join(table.select(FLOW_KEY), on=list(FLOW_KEY),
                                               how="semi")

    def _rollup(self) -> list[Any]:
        if self.evidence is None or self.evidence.height == 0:
            return []
        evidence = self.evidence.sort(["first_seen_us", "flow_id"])
        return rollup(evidence.select(_FLOW_COLUMNS),
                      evidence.select(_PREDICTION_COLUMNS),
                      evidence["signature"].to_numpy())

    def _explain(self, alerts: list[LiveAlert]) -> None:
        """The top features behind the flow each new alert cites."""
        if self.evidence is None or self.table is None:
            return
        for held in alerts:
            key = self.evidence.filter(pl.col("flow_id") == held.alert.flow_id).select(FLOW_KEY)
            row = self.table.join(key, on=list(FLOW_KEY), how="semi")
            if row.height:
                text = self.bundle.explain(row.head(1), held.alert.fold)[0]
                held.alert.reasons = json.loads(text) if text else held.alert.reasons

    def _active_alerts(self) -> list[LiveAlert]:
        """Alerts with evidence among the held flows (candidates for a block)."""
        if self.evidence is None:
            return []
        sources = set(self.evidence["src_ip"].unique().to_list())
        victims = set(self.evidence["dst_ip"].unique().to_list())
        return [held for held in self.book.alerts.values()
                if (held.alert.src_ip in sources if held.alert.fold == PREVENTION
                    else held.alert.dest_ip in victims)]

    def _respond(self, held: LiveAlert) -> None:
        """Block the alert's attackers that are not blocked yet (step 5)."""
        if self.responder is None:
            return
        alert = held.alert
        reason = (f"{alert.fold} {alert.attack_type}: {alert.src_ip} -> {alert.dest_ip}, "
                  f"{alert.flows} flows, score {alert.score:.2f}")
        for ip, spoofed in self._attackers(held):
            if not self._needs_block(held, ip):
                continue
            held.handled.add(ip)
            try:
                response = self.responder.respond(BlockRequest(ip, reason, alert.fold, spoofed))
            except ResponseError:
                self._stats.block_failures += 1  # logged at ERROR by the responder
                continue
            if response.decision.block:
                self._mark_block(held, ip, response.decision.direction,
                                 response.result.ttl_s if response.result else None)

    def _attackers(self, held: LiveAlert) -> list[tuple[str, bool]]:
        """(address, spoofed) pairs a block would be aimed at."""
        alert = held.alert
        if alert.fold == PREVENTION or alert.spoofed or self.evidence is None:
            return [(alert.src_ip, alert.fold == DETECTION and alert.spoofed)]
        flood = self.evidence.filter((pl.col("dst_ip") == alert.dest_ip)
                                     & (pl.col("ddos_score") >= FLOW_SCORE_THRESHOLD))
        return [(str(ip), False) for ip in flood["src_ip"].unique(maintain_order=True)]

    def _needs_block(self, held: LiveAlert, ip: str) -> bool:
        """Not handled yet, or still attacking while its block runs down.

        An attacker that keeps probing after its block (its packets are still
        seen on the wire, before the firewall drops them) has the block
        renewed once less than ``RENEW_LEFT_FRACTION`` of it is left; one that
        stopped is let go when the TTL ends.
        """
        mark = held.blocks.get(ip)
        if mark is None:
            return ip not in held.handled
        left_us = mark.at_us + mark.ttl_s * 1_000_000 - self.clock()
        return held.alert.last_seen_us > mark.at_us and \
            left_us < RENEW_LEFT_FRACTION * mark.ttl_s * 1_000_000

    def _mark_block(self, held: LiveAlert, ip: str, direction: str, ttl_s: int | None) -> None:
        assert self.responder is not None
        now_us = self.clock()
        ttl = ttl_s if ttl_s is not None else self.responder.ttl_s
        dry_run = self.responder.firewall.dry_run
        previous = self._marks.get(ip)
        if previous is not None:
            # A renewal, or a second alert about an address blocked already:
            # one block, counted from when it first took effect.
            previous.at_us, previous.ttl_s = now_us, ttl
            held.blocks[ip] = previous
            return
        mark = BlockMark(ip=ip, at_us=now_us, ttl_s=ttl, dry_run=dry_run,
                         direction=direction, counted_until_us=now_us)
        held.blocks[ip] = self._marks[ip] = mark
        self._stats.blocks += 1
        log.info("%s %s (%s, %s)", "would block" if dry_run else "blocked", ip,
                 held.alert.attack_type, direction)

    def _count_probes_before_block(self) -> None:
        """Probes from each blocked address that began before its first block.

        Counted again each tick because packets sent just before the block
        may still have been in the capture pipe when it was made.
        """
        if self.evidence is None:
            return
        for mark in self._marks.values():
            seen = self.evidence.filter((pl.col("src_ip") == mark.ip)
                                        & (pl.col("first_seen_us") <= mark.counted_until_us))
            mark.probes_before_block = max(mark.probes_before_block, seen.height)

    def _emit(self, held: LiveAlert) -> None:
        record = held.record(self.bundle.name)
        if self.on_alert is not None:
            self.on_alert(record)

    def _note_tick(self, seconds: float) -> None:
        self._stats.ticks += 1
        self._stats.last_tick_ms = seconds * 1000
        self._stats.max_tick_ms = max(self._stats.max_tick_ms, seconds * 1000)


def _wall_clock_us() -> int:
    return time.time_ns() // 1000


def warm_up(bundle: ModelBundle) -> float:
    """Compile and load everything a tick uses before the first real packet.

    The compiled walker, decoder, meter and window code and the models'
    first call take seconds the first time; paid during a scan, they would
    let the first probes through unjudged. Returns the seconds spent.
    """
    started = time.perf_counter()
    detector = LiveDetector(bundle, name="warm-up")
    detector.feed(_tiny_pcap())
    detector.finish()
    return time.perf_counter() - started


def _tiny_pcap() -> bytes:
    """A pcap of three TCP SYNs and a reply, built in memory (no file, no network)."""
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
    records = []
    for i, (src, dst, flags) in enumerate([((192, 0, 2, 1), (192, 0, 2, 2), 0x02),
                                           ((192, 0, 2, 2), (192, 0, 2, 1), 0x14),
                                           ((192, 0, 2, 1), (192, 0, 2, 3), 0x02)]):
        tcp = struct.pack("!HHIIBBHHH", 40000 + i, 23, 1, 0, 0x50, flags, 1024, 0, 0)
        ip = struct.pack("!BBHHHBBH4B4B", 0x45, 0, 40, i, 0, 64, 6, 0, *src, *dst)
        frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp
        records.append(struct.pack("<IIII", 1_700_000_000, i * 1000, len(frame), len(frame))
                       + frame)
    return header + b"".join(records)

"""The live detector on a capture fed in pieces: same flows, early verdicts, bounded store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from twinai.capture.decode import decode_records
from twinai.capture.reader import read_records
from twinai.detect import detect
from twinai.flows.meter import meter_files
from twinai.folds.bundle import ModelBundle
from twinai.live import FLOW_KEY, LiveDetector, LiveFlows
from twinai.response import AuditLog, BlockPolicy, DryRunFirewall, HostFacts, Responder

CHUNK_BYTES = 4096  # ~50 probes of the scan per tick


@pytest.fixture
def synscan(shared_data: Path) -> Path:
    return shared_data / "ndpi" / "synscan.pcap"


def _dry_responder(tmp_path: Path) -> Responder:
    facts = HostFacts(addresses=frozenset(), gateways=frozenset())
    return Responder(DryRunFirewall(), BlockPolicy(host=facts), AuditLog(tmp_path / "a.jsonl"),
                     ttl_s=60)


def _feed(detector: LiveDetector, data: bytes) -> list[int]:
    """Feed in chunks with a tick after each; return the chunk index of each record."""
    emitted_at: list[int] = []
    records: list[dict[str, Any]] = []
    detector.on_alert = records.append
    for index, start in enumerate(range(0, len(data), CHUNK_BYTES)):
        detector.feed(data[start:start + CHUNK_BYTES])
        detector.tick()
        emitted_at += [index] * (len(records) - len(emitted_at))
    detector.finish()
    return emitted_at


def test_fed_capture_gives_the_offline_table_and_verdicts(
        synscan: Path, watch_bundle: ModelBundle, tmp_path: Path) -> None:
    detector = LiveDetector(watch_bundle, responder=_dry_responder(tmp_path))
    _feed(detector, synscan.read_bytes())
    offline = meter_files([synscan])
    keys = list(FLOW_KEY)

    assert detector.table is not None
    assert detector.table.sort(keys).equals(offline.sort(keys))
    result = detect([synscan], model=watch_bundle)
    scores = pl.concat([result.flows.select(keys), result.predictions.select("scan_score")],
                       how="horizontal")
    assert detector.evidence is not None
    joined = detector.evidence.join(scores, on=keys, suffix="_offline")
    assert joined.height == 1994
    np.testing.assert_allclose(joined["scan_score"], joined["scan_score_offline"], atol=1e-9)


def test_scanner_is_judged_and_blocked_while_it_scans(
        synscan: Path, watch_bundle: ModelBundle, tmp_path: Path) -> None:
    detector = LiveDetector(watch_bundle, responder=_dry_responder(tmp_path))
    detector.clock = lambda: detector.last_packet_us  # the capture's clock, not today's
    data = synscan.read_bytes()
    emitted_at = _feed(detector, data)
    chunks = -(-len(data) // CHUNK_BYTES)

    assert emitted_at and emitted_at[0] <= 2, "the first alert should come in the first ticks"
    assert emitted_at[0] < chunks - 1
    held = detector.book.alerts[("prevention", "172.16.0.8")]
    mark = held.blocks["172.16.0.8"]
    assert mark.dry_run
    assert 3 <= held.alert.probes_before_alert <= mark.probes_before_block < 1994


def test_store_keeps_only_packets_that_open_flows_or_windows_need(synscan: Path) -> None:
    packets = decode_records(read_records(synscan))
    later = packets.select(np.arange(len(packets)) < 10)
    later.ts_us = later.ts_us + 300_000_000  # five minutes on: the scan's flows are closed
    flows = LiveFlows()
    flows.add(packets)
    flows.tick()
    assert flows.packets_held == 2011

    flows.add(later)
    tick = flows.tick()
    assert tick is not None
    assert flows.packets_held == 10
    assert tick.changed.height == 10  # the table of this tick still has the old flows


def test_store_bound_evicts_the_oldest_packets(synscan: Path) -> None:
    flows = LiveFlows(max_packets=100)
    flows.add(decode_records(read_records(synscan)))
    flows.tick()
    assert flows.packets_held == 100
    assert flows.evicted == 1911

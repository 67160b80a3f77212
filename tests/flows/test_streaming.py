"""The streaming meter gives the offline flow table exactly, whatever the chunking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from capture.synth import T0_NS, ether, tcp4, write_pcap
from twinai.capture.decode import PacketColumns
from twinai.capture.reader import iter_records, read_records
from twinai.flows.meter import (
    MeterReport,
    StreamMeter,
    meter_files,
    meter_packets,
    read_packets,
)
from twinai.flows.table import sort_flow_table, streamed_flow_table


def streamed(packets: PacketColumns, chunk: int, **kwargs: Any) -> pl.DataFrame:
    """Feed ``packets`` to a StreamMeter ``chunk`` at a time."""
    stream = StreamMeter(**kwargs)
    parts = []
    for start in range(0, len(packets), chunk):
        keep = np.zeros(len(packets), np.bool_)
        keep[start:start + chunk] = True
        parts.append(streamed_flow_table(stream.feed(packets.select(keep))))
    parts.append(streamed_flow_table(stream.finish()))
    return sort_flow_table(parts)


def pcap_entries(truth: list[dict[str, Any]]) -> list[str]:
    return [e["path"] for e in truth if e["kind"] == "pcap"]


def test_every_shared_capture_streams_to_the_offline_table(
        shared_data: Path, truth: list[dict[str, Any]]) -> None:
    differ = []
    for name in pcap_entries(truth):
        packets = read_packets([shared_data / name], MeterReport())
        offline = meter_packets(packets)
        for chunk in (53, 4096):
            if not streamed(packets, chunk).equals(offline):
                differ.append((name, chunk))
    assert differ == []


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_flood_and_scan_stream_identically_in_tiny_chunks(shared_data: Path, chunk: int) -> None:
    for name in ("ndpi/synscan.pcap", "stopddos/amp.UDP.snmp.src161.pcapng"):
        packets = read_packets([shared_data / name], MeterReport())
        limit = 3000 if chunk == 1 else len(packets)
        packets = packets.select(np.arange(len(packets)) < limit)
        assert streamed(packets, chunk).equals(meter_packets(packets)), name


def test_meter_files_chunk_size_does_not_change_the_table(shared_data: Path) -> None:
    captures = [shared_data / "ndpi/synscan.pcap", shared_data / "ndpi/iphone.pcap",
                shared_data / "stopddos/pkt.TCP.synflood.spoofed.pcap"]
    whole = meter_files(captures, chunk_packets=1 << 22)
    pieces = meter_files(captures, chunk_packets=5000)
    assert whole.height > 39_000
    assert pieces.equals(whole)
    assert whole.equals(meter_packets(read_packets(captures, MeterReport())))


def test_pcap_read_in_small_blocks_gives_the_same_records(shared_data: Path) -> None:
    path = shared_data / "stopddos/pkt.TCP.synflood.spoofed.pcap"
    whole = read_records(path)
    blocks = list(iter_records(path, block_bytes=10_000))
    assert len(blocks) > 100
    assert np.concatenate([b.ts_us for b in blocks]).tolist() == whole.ts_us.tolist()
    assert np.concatenate([b.caplen for b in blocks]).tolist() == whole.caplen.tolist()
    assert sum(len(b) for b in blocks) == 37841


def test_cut_short_capture_read_in_blocks_warns_once_and_keeps_the_rest(tmp_path: Path) -> None:
    records = [(T0_NS + k * 1000, ether(tcp4("10.0.0.1", "10.0.0.2", 40000 + k, 80, "S")))
               for k in range(50)]
    path = write_pcap(tmp_path / "cut.pcap", [(t, bytes(f)) for t, f in records])
    path.write_bytes(path.read_bytes()[:-10])
    blocks = list(iter_records(path, block_bytes=300))
    warnings = [w for b in blocks for w in b.warnings]
    assert sum(len(b) for b in blocks) == 49
    assert warnings == read_records(path).warnings
    assert "kept 49 complete packets" in warnings[0]


def test_a_packet_later_than_the_reorder_slack_is_counted_and_kept(shared_data: Path) -> None:
    packets = read_packets([shared_data / "ndpi/synscan.pcap"], MeterReport())
    # Move the first packet to the end of the capture: seconds out of order.
    order = np.r_[np.arange(1, len(packets)), 0]
    shuffled = packets.select(np.ones(len(packets), np.bool_))
    for name in PacketColumns.__dataclass_fields__:
        setattr(shuffled, name, getattr(packets, name)[order])

    stream = StreamMeter()
    parts = [streamed_flow_table(stream.feed(shuffled.select(np.arange(len(packets)) < 1000))),
             streamed_flow_table(stream.feed(shuffled.select(np.arange(len(packets)) >= 1000))),
             streamed_flow_table(stream.finish())]
    table = sort_flow_table(parts)
    assert stream.reordered == 1
    assert int(table["orig_pkts"].sum() + table["resp_pkts"].sum()) == len(packets)


def test_a_capture_from_an_earlier_time_is_metered_on_its_own_clock(shared_data: Path) -> None:
    # iphone and android are from 2020, alexa-app from 2017: in one stream
    # alexa's packets would all be clamped to 2020 and squashed into a burst.
    names = ["ndpi/iphone.pcap", "ndpi/android.pcap", "ndpi/alexa-app.pcapng"]
    report = MeterReport()
    together = meter_files([shared_data / n for n in names], report=report)
    alone = [meter_files([shared_data / n]) for n in names]

    assert together.height == sum(t.height for t in alone)
    assert not any("out of time order" in w for w in report.warnings)
    alexa = alone[2]
    squashed = together.filter(pl.col("first_seen_us") < int(alone[0]["first_seen_us"].min()))
    assert squashed.height == alexa.height
    assert squashed["src_w1s_flows"].max() == alexa["src_w1s_flows"].max()

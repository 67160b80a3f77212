"""The shared public captures metered end to end, checked against their manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scapy.layers.l2 import CookedLinux
from scapy.utils import PcapNgReader

from capture.synth import write_pcap
from twinai.flows.meter import MeterReport, meter_files

SYNSCAN = "ndpi/synscan.pcap"
SYNFLOOD = "stopddos/pkt.TCP.synflood.spoofed.pcap"
VICTIM = "10.10.10.10"


def meter(path: Path, **kwargs: Any) -> tuple[pl.DataFrame, MeterReport]:
    report = MeterReport()
    return meter_files([path], report=report, **kwargs), report


def test_every_shared_capture_gives_flows_and_all_its_packets(
        shared_data: Path, truth: list[dict[str, Any]]) -> None:
    captures = [e for e in truth if e["kind"] == "pcap"]
    assert len(captures) >= 30
    wrong = []
    for entry in captures:
        table, report = meter(shared_data / entry["path"])
        numeric = table.select(pl.col(pl.Float64)).to_numpy()
        if (report.packets != entry["packets"] or table.height == 0 or report.warnings
                or not np.isfinite(numeric).all()):
            wrong.append((entry["path"], report.packets, entry["packets"], report.warnings))
    assert wrong == []


def test_nmap_syn_scan_is_two_thousand_unanswered_flows_from_one_source(
        shared_data: Path) -> None:
    table, _ = meter(shared_data / SYNSCAN)

    assert 1900 <= table.height <= 2100
    assert table["src_ip"].unique().to_list() == ["172.16.0.8"]
    assert (table["conn_state"] == "S0").mean() > 0.95
    assert table["dst_port"].n_unique() >= 990
    # Hundreds of distinct ports from one source within ten seconds.
    assert table["src_w10s_dst_ports"].max() >= 500
    assert table["src_w10s_unanswered"].max() >= 500


def test_spoofed_syn_flood_is_tens_of_thousands_of_one_packet_flows(
        shared_data: Path) -> None:
    table, _ = meter(shared_data / SYNFLOOD, home_net=["10.10.10.10/32"])

    assert table.height > 30_000
    assert (table["orig_pkts"] + table["resp_pkts"] == 1).mean() > 0.99
    assert table["src_ip"].n_unique() > 30_000
    at_victim = table.filter(pl.col("dst_ip") == VICTIM)
    assert at_victim.height > 0.99 * table.height
    assert at_victim["dst_w1s_pkt_rate"].max() > 1000
    assert at_victim["direction"].unique().to_list() == ["inbound"]


def test_home_net_decides_inbound_outbound_internal_external(shared_data: Path) -> None:
    table, _ = meter(shared_data / SYNSCAN, home_net=["172.16.0.8/32"])
    assert table["direction"].unique().to_list() == ["outbound"]

    table, _ = meter(shared_data / SYNSCAN, home_net=["64.13.134.52/32"])
    assert table["direction"].unique().to_list() == ["inbound"]

    table, _ = meter(shared_data / SYNSCAN, home_net=["172.16.0.0/12", "64.13.134.0/24"])
    assert table["direction"].unique().to_list() == ["internal"]

    table, _ = meter(shared_data / SYNSCAN, home_net=["192.0.2.0/24", "2001:db8::/32"])
    assert table["direction"].unique().to_list() == ["external"]


def cooked_to_ethernet(cooked: Path, out: Path) -> Path:
    """Rewrite a Linux cooked (SLL) capture with Ethernet headers, packet by packet.

    scapy reads the timestamps as exact decimals; the twin is written with
    nanosecond resolution so that no time moves by rounding.
    """
    reader = PcapNgReader(str(cooked))
    records = []
    for packet in reader:
        frame = bytes(packet)
        assert isinstance(packet, CookedLinux)
        records.append((int(packet.time * 10**9), b"\x02" * 12 + frame[14:16] + frame[16:]))
    reader.close()
    return write_pcap(out, records, nanos=True)


def test_linux_cooked_rtsp_gives_the_flows_of_its_ethernet_twin(shared_data: Path,
                                                                tmp_path: Path) -> None:
    cooked, _ = meter(shared_data / "ndpi/rtsp.pcap")
    twin, _ = meter(cooked_to_ethernet(shared_data / "ndpi/rtsp.pcap", tmp_path / "eth.pcap"))

    assert cooked.height >= 5
    assert cooked["protocol"].unique().to_list() == [6]
    assert cooked["orig_pkts"].sum() + cooked["resp_pkts"].sum() == 568
    assert cooked.equals(twin)

"""Messy captures metered into flows: the exact flows each one must give."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scapy.layers.inet import fragment
from scapy.layers.inet6 import (
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)

from capture.synth import (
    ARP,
    IP,
    TCP,
    UDP,
    T0_NS,
    Dot1Q,
    Ether,
    Raw,
    ether,
    sll,
    sll2,
    tcp4,
    udp4,
    write_pcap,
    write_pcapng,
)
from twinai.errors import CaptureError
from twinai.flows.meter import MeterReport, meter_files

MS = 1_000_000  # nanoseconds
T0_US = T0_NS // 1000
SUMMARY = ["src_ip", "src_port", "dst_ip", "dst_port", "protocol", "vlan_id",
           "orig_pkts", "resp_pkts", "orig_ip_bytes", "resp_ip_bytes"]


def meter(*paths: Path) -> tuple[pl.DataFrame, MeterReport]:
    report = MeterReport()
    return meter_files(list(paths), report=report), report


def flows(table: pl.DataFrame) -> list[tuple[object, ...]]:
    """(key, packets and IP bytes each way) of every flow, sorted."""
    return sorted(table.select(SUMMARY).iter_rows())


def handshake(l2: "callable[[bytes], bytes]") -> list[tuple[int, bytes]]:  # type: ignore[valid-type]
    """SYN, SYN-ACK, ACK between 10.0.0.1:40000 and 10.0.0.2:80, wrapped by ``l2``."""
    return [
        (T0_NS, l2(bytes(tcp4("10.0.0.1", "10.0.0.2", 40000, 80, "S")))),
        (T0_NS + 1 * MS, l2(bytes(tcp4("10.0.0.2", "10.0.0.1", 80, 40000, "SA")))),
        (T0_NS + 2 * MS, l2(bytes(tcp4("10.0.0.1", "10.0.0.2", 40000, 80, "A")))),
    ]


HANDSHAKE_FLOW = ("10.0.0.1", 40000, "10.0.0.2", 80, 6, 0, 2.0, 1.0, 80.0, 40.0)


def assert_all_finite(table: pl.DataFrame) -> None:
    numeric = [c for c, t in table.schema.items() if t.is_float()]
    values = table.select(numeric).to_numpy()
    assert np.isfinite(values).all(), [
        c for c in numeric if not np.isfinite(table[c].to_numpy()).all()]


# --- link layers ------------------------------------------------------------


def test_ethernet_handshake_is_one_flow(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "eth.pcap", handshake(lambda l3: ether(IP(l3))))

    table, report = meter(path)

    assert flows(table) == [HANDSHAKE_FLOW]
    assert table["conn_state"].to_list() == ["S1"]
    assert report.packets == 3 and report.packets_used == 3


@pytest.mark.parametrize(("linktype", "wrap"), [(113, sll), (276, sll2)],
                         ids=["SLL", "SLL2"])
def test_linux_cooked_captures_give_the_ethernet_flows(tmp_path: Path, linktype: int,
                                                       wrap: "callable") -> None:  # type: ignore[valid-type]
    path = write_pcap(tmp_path / "cooked.pcap", handshake(wrap), linktype=linktype)

    table, report = meter(path)

    assert flows(table) == [HANDSHAKE_FLOW]
    assert sum(report.skipped.values()) == 0


@pytest.mark.parametrize("linktype", [101, 228, 12, 14])
def test_raw_ipv4_link_types(tmp_path: Path, linktype: int) -> None:
    path = write_pcap(tmp_path / "raw.pcap", handshake(lambda l3: l3), linktype=linktype)

    table, _ = meter(path)

    assert flows(table) == [HANDSHAKE_FLOW]


@pytest.mark.parametrize("linktype", [101, 229])
def test_raw_ipv6_link_types(tmp_path: Path, linktype: int) -> None:
    packet = IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=5000, dport=53) / Raw(b"q")
    path = write_pcap(tmp_path / "raw6.pcap", [(T0_NS, bytes(packet))], linktype=linktype)

    table, _ = meter(path)

    assert flows(table) == [("2001:db8::1", 5000, "2001:db8::2", 53, 17, 0, 1.0, 0.0, 49.0, 0.0)]
    assert table["ip_version"].to_list() == [6]


def test_unknown_link_type_is_skipped_with_its_reason(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "wifi.pcap", [(T0_NS, b"\0" * 60)], linktype=105)

    table, report = meter(path)

    assert table.height == 0
    assert report.skipped["unsupported link type"] == 1


def test_pcapng_with_interfaces_of_different_link_types(tmp_path: Path) -> None:
    """Ethernet, Linux cooked (ns timestamps) and raw IP interfaces in one file."""
    syn, synack, ack = (f for _, f in handshake(lambda l3: l3))
    dns = bytes(udp4("10.0.0.3", "10.0.0.4", 5353, 53))
    path = write_pcapng(
        tmp_path / "multi.pcapng",
        interfaces=[(1, 6), (113, 9), (101, 6)],
        packets=[
            (0, T0_NS, ether(IP(syn))),
            (1, T0_NS + 1 * MS, sll(synack)),
            (0, T0_NS + 2 * MS, ether(IP(ack))),
            (2, T0_NS + 3 * MS, dns),
        ],
    )

    table, _ = meter(path)

    assert flows(table) == [
        HANDSHAKE_FLOW,
        ("10.0.0.3", 5353, "10.0.0.4", 53, 17, 0, 1.0, 0.0, 29.0, 0.0),
    ]
    assert table.sort("first_seen_us")["first_seen_us"].to_list() == [T0_US, T0_US + 3000]


# --- VLAN tags ----------------------------------------------------------------


def test_vlan_tags_are_part_of_the_flow_key(tmp_path: Path) -> None:
    probe = tcp4("10.0.0.1", "10.0.0.2", 40000, 80)
    qinq = bytes(Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b", type=0x88A8)
                 / Dot1Q(vlan=100) / Dot1Q(vlan=200) / probe)
    path = write_pcap(tmp_path / "vlan.pcap", [
        (T0_NS, ether(probe, 10)),
        (T0_NS + 1 * MS, ether(probe, 10)),
        (T0_NS + 2 * MS, ether(probe, 20)),
        (T0_NS + 3 * MS, qinq),
        (T0_NS + 4 * MS, ether(probe, 300, 400)),  # old-style QinQ: two 0x8100 tags
    ])

    table, _ = meter(path)

    key = ("10.0.0.1", 40000, "10.0.0.2", 80, 6)
    assert flows(table) == [
        (*key, 10, 2.0, 0.0, 80.0, 0.0),
        (*key, 20, 1.0, 0.0, 40.0, 0.0),
        (*key, 100, 1.0, 0.0, 40.0, 0.0),
        (*key, 300, 1.0, 0.0, 40.0, 0.0),
    ]


# --- IPv6 extension headers and fragments -------------------------------------------


def test_ipv6_extension_headers_are_walked_to_the_ports(tmp_path: Path) -> None:
    base = IPv6(src="2001:db8::1", dst="2001:db8::2")
    chained = (base / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting(addresses=["2001:db8::9"])
               / IPv6ExtHdrDestOpt() / TCP(sport=40000, dport=443, flags="S"))
    reply = IPv6(src="2001:db8::2", dst="2001:db8::1") / TCP(sport=443, dport=40000, flags="SA")
    path = write_pcap(tmp_path / "v6.pcap", [(T0_NS, ether(chained)),
                                             (T0_NS + MS, ether(reply))])

    table, _ = meter(path)

    assert flows(table) == [("2001:db8::1", 40000, "2001:db8::2", 443, 6, 0,
                             1.0, 1.0, float(len(chained)), 60.0)]
    assert table["fwd_syn"].to_list() == [1.0]


def test_ipv6_fragments_take_ports_from_the_first_fragment_only(tmp_path: Path) -> None:
    base = IPv6(src="2001:db8::1", dst="2001:db8::2")
    first = base / IPv6ExtHdrFragment(id=7, offset=0, m=1) / UDP(sport=5000, dport=53) / Raw(b"a" * 32)
    later = base / IPv6ExtHdrFragment(id=7, offset=5, m=0, nh=17) / Raw(b"b" * 24)
    path = write_pcap(tmp_path / "frag6.pcap", [(T0_NS, ether(first)),
                                                (T0_NS + MS, ether(later))])

    table, _ = meter(path)

    # The later fragment has no UDP header: its bytes must not be read as ports.
    assert flows(table) == [
        ("2001:db8::1", 0, "2001:db8::2", 0, 17, 0, 1.0, 0.0, 72.0, 0.0),
        ("2001:db8::1", 5000, "2001:db8::2", 53, 17, 0, 1.0, 0.0, 88.0, 0.0),
    ]


def test_ipv4_fragments_take_ports_from_the_first_fragment_only(tmp_path: Path) -> None:
    datagram = IP(src="10.0.0.1", dst="10.0.0.2", id=99) / UDP(sport=5000, dport=53) / Raw(b"z" * 3000)
    pieces = fragment(datagram, fragsize=1400)
    assert len(pieces) == 3
    path = write_pcap(tmp_path / "frag.pcap",
                      [(T0_NS + k * MS, ether(p)) for k, p in enumerate(pieces)])

    table, _ = meter(path)

    sizes = [len(p) for p in pieces]
    assert flows(table) == [
        ("10.0.0.1", 0, "10.0.0.2", 0, 17, 0, 2.0, 0.0, float(sizes[1] + sizes[2]), 0.0),
        ("10.0.0.1", 5000, "10.0.0.2", 53, 17, 0, 1.0, 0.0, float(sizes[0]), 0.0),
    ]


# --- frames that are not flows --------------------------------------------------------


def test_arp_and_other_non_ip_frames_are_counted_as_skipped(tmp_path: Path) -> None:
    arp = bytes(Ether(src="02:00:00:00:00:0a", dst="ff:ff:ff:ff:ff:ff")
                / ARP(psrc="10.0.0.1", pdst="10.0.0.2"))
    lldp = bytes(Ether(src="02:00:00:00:00:0a", dst="01:80:c2:00:00:0e", type=0x88CC)
                 / Raw(b"\x02\x07\x04" + b"\0" * 40))
    shake = handshake(lambda l3: ether(IP(l3)))
    path = write_pcap(tmp_path / "mixed.pcap", [
        (T0_NS - 2 * MS, arp), shake[0], (T0_NS + MS // 2, lldp), shake[1], shake[2],
        (T0_NS + 3 * MS, arp)])

    table, report = meter(path)

    assert flows(table) == [HANDSHAKE_FLOW]
    assert report.packets == 6
    assert report.packets_used == 3
    assert report.skipped["not IP (ARP, LLDP, ...)"] == 3
    assert "3 packets skipped (3 not IP (ARP, LLDP, ...))" in report.summary()


def test_runt_frames_mid_file_are_skipped_and_the_rest_kept(tmp_path: Path) -> None:
    shake = handshake(lambda l3: ether(IP(l3)))
    too_short_for_ethernet = b"\x02" * 10
    cut_ipv4 = shake[0][1][:14 + 12]  # Ethernet header and 12 bytes of IPv4
    path = write_pcap(tmp_path / "runt.pcap", [
        shake[0], (T0_NS + MS // 2, too_short_for_ethernet), shake[1],
        (T0_NS + 3 * MS // 2, cut_ipv4), shake[2]])

    table, report = meter(path)

    assert flows(table) == [HANDSHAKE_FLOW]
    assert report.skipped["runt frame (shorter than its headers)"] == 2
    assert report.warnings == []


# --- flows that are easy to get wrong ---------------------------------------------------


def spoofed_syn_flood(count: int) -> list[tuple[int, bytes]]:
    """``count`` SYNs to 10.10.10.10:80, each from its own spoofed source."""
    return [
        (T0_NS + k * 100_000,  # one every 100 us: 10,000 packets/s
         ether(tcp4(f"198.51.{k // 250}.{k % 250 + 1}", "10.10.10.10", 1024 + k, 80)))
        for k in range(count)
    ]


def test_spoofed_syn_flood_gives_one_flow_per_packet(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "flood.pcap", spoofed_syn_flood(600))

    table, _ = meter(path)

    assert table.height == 600
    assert table["src_ip"].n_unique() == 600
    assert set(table["dst_ip"]) == {"10.10.10.10"}
    assert set(table["orig_pkts"]) == {1.0}
    assert set(table["resp_pkts"]) == {0.0}
    assert set(table["conn_state"]) == {"S0"}
    assert set(table["duration_s"]) == {0.0}
    # The last SYN of the flood sees the 1 s window full of its predecessors.
    last = table.sort("first_seen_us")[-1]
    assert last["dst_w1s_flows"].item() == 600.0
    assert last["dst_w1s_src_hosts"].item() == 600.0
    assert last["dst_w1s_pkt_rate"].item() == 600.0


def test_zero_duration_flows_put_no_nan_or_infinity_anywhere(tmp_path: Path) -> None:
    same_instant = [(T0_NS, f) for _, f in handshake(lambda l3: ether(IP(l3)))]
    path = write_pcap(tmp_path / "zero.pcap", same_instant + spoofed_syn_flood(5))

    table, _ = meter(path)

    assert table.height == 6
    assert set(table["duration_s"]) == {0.0}
    assert_all_finite(table)
    shake = table.filter(pl.col("src_port") == 40000)
    assert shake["fwd_pkt_rate"].item() == 0.0
    assert shake["fwd_iat_mean_s"].item() == 0.0
    assert shake["resp_pkts"].item() == 1.0


def test_out_of_order_packets_are_metered_in_time_order(tmp_path: Path) -> None:
    syn, synack, ack = handshake(lambda l3: ether(IP(l3)))
    path = write_pcap(tmp_path / "ooo.pcap", [synack, ack, syn])

    table, _ = meter(path)

    assert flows(table) == [HANDSHAKE_FLOW]
    row = table.row(0, named=True)
    assert row["first_seen_us"] == T0_US
    assert row["last_seen_us"] == T0_US + 2000
    assert row["first_reply_us"] == T0_US + 1000
    assert row["conn_state"] == "S1"


def test_nanosecond_pcap_flow_times_are_exact_to_the_microsecond(tmp_path: Path) -> None:
    syn, synack, _ = handshake(lambda l3: ether(IP(l3)))
    path = write_pcap(tmp_path / "ns.pcap", [(T0_NS + 1_234_567_891, syn[1]),
                                             (T0_NS + 1_235_567_999, synack[1])], nanos=True)

    table, _ = meter(path)

    row = table.row(0, named=True)
    assert (row["first_seen_us"], row["last_seen_us"]) == (T0_US + 1_234_567, T0_US + 1_235_567)
    assert row["duration_s"] == pytest.approx(0.001)


def test_pcapng_in_milliseconds_gives_flow_times_in_microseconds(tmp_path: Path) -> None:
    syn, synack, _ = handshake(lambda l3: ether(IP(l3)))
    path = write_pcapng(tmp_path / "ms.pcapng", [(1, 3)],
                        [(0, T0_NS + 5 * MS, syn[1]), (0, T0_NS + 9 * MS, synack[1])])

    table, _ = meter(path)

    row = table.row(0, named=True)
    assert (row["first_seen_us"], row["last_seen_us"]) == (T0_US + 5000, T0_US + 9000)


# --- damaged and empty files ---------------------------------------------------------------


def test_cut_short_capture_keeps_its_complete_packets_and_warns(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "killed.pcap", handshake(lambda l3: ether(IP(l3))))
    path.write_bytes(path.read_bytes()[:-5])

    table, report = meter(path)

    assert flows(table) == [("10.0.0.1", 40000, "10.0.0.2", 80, 6, 0, 1.0, 1.0, 40.0, 40.0)]
    assert len(report.warnings) == 1
    assert report.warnings[0].startswith(f"{path}: capture cut short")


def test_header_only_pcap_gives_an_empty_table_with_every_column(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "empty.pcap", [])

    table, report = meter(path)

    assert table.height == 0
    full, _ = meter(write_pcap(tmp_path / "one.pcap", spoofed_syn_flood(1)))
    assert table.schema == full.schema
    assert (report.files, report.packets, report.flows) == (1, 0, 0)


def test_only_non_ip_frames_gives_an_empty_table(tmp_path: Path) -> None:
    arp = bytes(Ether() / ARP(psrc="10.0.0.1", pdst="10.0.0.2"))
    path = write_pcap(tmp_path / "arp.pcap", [(T0_NS, arp)])

    table, report = meter(path)

    assert table.height == 0
    assert report.skipped["not IP (ARP, LLDP, ...)"] == 1


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "empty file, not a capture"),
    (b"GET / HTTP/1.1\r\n\r\n", "not a pcap or pcapng capture"),
])
def test_a_file_that_is_no_capture_is_refused_naming_it(tmp_path: Path, content: bytes,
                                                        problem: str) -> None:
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)

    with pytest.raises(CaptureError, match=problem) as caught:
        meter(path)

    assert str(caught.value).startswith(f"{path}: ")


def test_gzip_capture_gives_the_same_flows(tmp_path: Path) -> None:
    plain = write_pcap(tmp_path / "a.pcap", handshake(lambda l3: ether(IP(l3))))
    packed = tmp_path / "b.pcap.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))

    table, _ = meter(packed)

    assert flows(table) == [HANDSHAKE_FLOW]


def test_folder_with_one_bad_file_keeps_the_good_ones(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    write_pcap(tmp_path / "1-good.pcap", handshake(lambda l3: ether(IP(l3))))
    (tmp_path / "2-bad.pcap").write_text("this is not a capture\n")
    write_pcap(tmp_path / "3-good.pcap", spoofed_syn_flood(3))

    with caplog.at_level(logging.WARNING):
        table, report = meter(tmp_path)

    assert table.height == 4
    assert report.files == 2
    assert len(report.rejected) == 1
    assert report.rejected[0].startswith(f"{tmp_path / '2-bad.pcap'}: not a pcap")
    assert "2-bad.pcap" in caplog.text
    assert "1 file(s) rejected" in report.summary()


def test_folder_of_only_bad_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.pcap").write_text("no\n")
    (tmp_path / "b.pcap").write_bytes(b"")

    with pytest.raises(CaptureError, match="none of the 2 inputs is a readable capture"):
        meter(tmp_path)


def test_folder_without_captures_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")

    with pytest.raises(CaptureError, match="no capture files found"):
        meter(tmp_path)

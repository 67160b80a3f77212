"""Labelling lab flows from a run's ground truth, and the lab's protocol messages."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from twinai.errors import DatasetError
from twinai.lab import protocols as p
from twinai.lab.catalogue import entries_named
from twinai.lab.truth import AFTERMATH_US, RunLabels, label_flows, read_labels

START, END = 1_700_000_000_000_000, 1_700_000_003_000_000


def _flows(rows: list[tuple[str, str, int, int, int, int]]) -> pl.DataFrame:
    """Flows as (src, dst, sport, dport, protocol, first_seen offset in µs)."""
    return pl.DataFrame(
        [
            (s, d, sp, dp, pr, START + t, START + t + 1000)
            for s, d, sp, dp, pr, t in rows
        ],
        schema=[
            "src_ip",
            "dst_ip",
            "src_port",
            "dst_port",
            "protocol",
            "first_seen_us",
            "last_seen_us",
        ],
        orient="row",
    )


def _run(name: str, start: int = START, end: int = END) -> RunLabels:
    entry = entries_named([name])[0]
    return RunLabels(
        run_id=f"t-{name}",
        label=name,
        fold=entry.fold,
        direction=entry.direction,
        capture="x.pcap",
        start_us=start,
        end_us=end,
        rules=list(entry.rules()),
    )


def test_scan_flows_between_attacker_and_target_get_the_label_in_time_only() -> None:
    flows = _flows(
        [
            ("10.77.2.66", "10.77.1.10", 40000, 80, 6, 1000),  # the scan
            ("10.77.1.10", "10.77.2.66", 80, 40000, 6, 2000),  # oriented the other way
            ("10.77.1.11", "10.77.1.10", 41000, 80, 6, 1000),  # hub polls the camera
            (
                "10.77.2.66",
                "10.77.1.10",
                40001,
                81,
                6,
                10_000_000,
            ),  # long after the run
        ]
    )

    labels = label_flows(flows, _run("scan/tcp-syn"))["label"].to_list()

    assert labels == ["scan/tcp-syn", "scan/tcp-syn", "benign", "benign"]


def test_spoofed_flood_takes_any_outside_source_but_not_lab_hosts() -> None:
    flows = _flows(
        [
            ("93.184.216.34", "10.77.1.10", 5000, 80, 6, 10),
            (
                "10.77.1.10",
                "198.51.100.9",
                80,
                5001,
                6,
                20,
            ),  # SYN-ACK to a forged source
            ("10.77.1.11", "10.77.1.10", 41000, 80, 6, 30),
            ("fe80::1", "10.77.1.10", 0, 0, 58, 40),
        ]
    )

    labels = label_flows(flows, _run("ddos/tcp-syn-flood-spoofed"))["label"].to_list()

    assert labels == ["ddos/tcp-syn-flood-spoofed"] * 2 + ["benign", "benign"]


def test_reflection_needs_the_service_port_and_a_forged_victim_port() -> None:
    flows = _flows(
        [
            ("10.77.2.53", "10.77.1.10", 53, 12345, 17, 10),  # reflected answer
            ("10.77.1.10", "10.77.2.53", 0, 0, 1, 20),  # camera's port unreachable
            ("10.77.1.10", "10.77.2.53", 45000, 53, 17, 30),  # camera's own lookup
        ]
    )

    labels = label_flows(flows, _run("ddos/dns-reflection"))["label"].to_list()

    assert labels == ["ddos/dns-reflection", "ddos/dns-reflection", "benign"]


def test_a_home_bots_telemetry_is_not_its_internal_sweep() -> None:
    flows = _flows(
        [
            ("10.77.1.66", "10.77.1.10", 40000, 23, 6, 10),
            ("10.77.1.66", "10.77.1.11", 40001, 1883, 6, 20),
        ]
    )

    labels = label_flows(flows, _run("scan/mirai-telnet-internal"))["label"].to_list()

    assert labels == ["scan/mirai-telnet-internal", "benign"]


def test_aftermath_of_an_earlier_flood_keeps_its_label() -> None:
    flood = _run("ddos/tcp-syn-flood-spoofed", START - 20_000_000, START - 15_000_000)
    scan = _run("scan/tcp-syn")
    flows = _flows(
        [
            ("10.77.1.10", "203.0.113.5", 80, 7000, 6, 100),
            ("10.77.1.11", "10.77.1.10", 41000, 80, 6, 100),
        ]
    )

    assert label_flows(flows, scan, [flood])["label"].to_list() == [
        "ddos/tcp-syn-flood-spoofed",
        "benign",
    ]
    stale = _run(
        "ddos/tcp-syn-flood-spoofed",
        START - AFTERMATH_US - 9_000_000,
        START - AFTERMATH_US - 8_000_000,
    )
    assert label_flows(flows, scan, [stale])["label"].to_list() == ["benign", "benign"]


def test_labels_file_round_trips_and_a_bad_one_names_the_file(tmp_path: Path) -> None:
    run = _run("ddos/ntp-reflection")
    run.write(tmp_path / "a.labels.json")

    assert read_labels(tmp_path / "a.labels.json") == run
    (tmp_path / "b.labels.json").write_text('{"run_id": 1}')
    with pytest.raises(DatasetError, match="b.labels.json: not a lab labels file"):
        read_labels(tmp_path / "b.labels.json")


def test_mqtt_packets_split_out_of_a_stream() -> None:
    stream = p.mqtt_connect("cam") + p.mqtt_publish("home/t", b"x" * 300) + b"\x30"

    packets, rest = p.mqtt_split(stream)

    assert [first for first, _ in packets] == [p.MQTT_CONNECT, p.MQTT_PUBLISH]
    assert len(packets[1][1]) == 2 + len("home/t") + 300
    assert rest == b"\x30"


def test_reflectors_amplify_their_requests() -> None:
    dns = p.dns_query(7, "lab.example", p.DNS_ANY)
    answer = p.dns_reply(dns, "10.77.2.20", 6)
    assert (
        answer is not None and answer[:2] == dns[:2] and len(answer) > 20 * len(dns) / 2
    )
    coap = p.coap_get(9, ".well-known/core", b"\x01\x02")
    assert p.coap_path(coap) == ".well-known/core"
    reply = p.coap_reply(coap, b"</a>")
    assert reply is not None and reply[2:4] == coap[2:4] and reply.endswith(b"\xff</a>")
    monlist = p.ntp_monlist_reply(p.ntp_monlist_request(), 4)
    assert len(monlist) == 4 and sum(map(len, monlist)) > 30 * len(
        p.ntp_monlist_request()
    )
    assert len(p.ssdp_replies(p.ssdp_search("ssdp:all"), "http://h/", 10)) == 10

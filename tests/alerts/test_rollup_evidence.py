"""Rollup rules: failed probes a scan needs, and the unsolicited SYN-ACK flood signature.

The tables are hand-made flow tables with hand-made fold scores, so that each
test sets exactly the evidence one rule reads; the rollup and the signature
matcher under test are the real ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from twinai.alerts.rollup import MIN_FLOOD_PACKETS, rollup
from twinai.alerts.signatures import match_signatures
from twinai.detect import detect
from twinai.flows.meter import meter_files

_SYN_ACK, _SYN_ACK_ECE, _SYN = 0x12, 0x52, 0x02


def _flows(rows: list[dict[str, object]]) -> pl.DataFrame:
    """A flow table with the columns the rollup and the matcher read."""
    base: dict[str, object] = {
        "src_ip": "192.0.2.10", "dst_ip": "198.51.100.1", "src_port": 40000,
        "dst_port": 443, "protocol": 6, "direction": "external", "ip_version": 4,
        "orig_pkts": 1.0, "resp_pkts": 1.0, "orig_bytes": 0.0, "resp_bytes": 0.0,
        "conn_state": "REJ", "src_first_tcp_seq": 1000, "src_first_ip_id": 7,
        "src_first_tcp_flags": _SYN, "bwd_syn": 0.0, "bwd_ack": 1.0,
    }
    table = pl.DataFrame([{**base, **row} for row in rows])
    n = table.height
    return table.with_columns(
        pl.Series("flow_id", np.arange(n, dtype=np.int64)),
        pl.Series("first_seen_us", 1_700_000_000_000_000 + np.arange(n, dtype=np.int64) * 1000),
        pl.Series("last_seen_us", 1_700_000_000_000_500 + np.arange(n, dtype=np.int64) * 1000))


def _predictions(n: int, *, scan: float = 0.0, ddos: float = 0.0) -> pl.DataFrame:
    return pl.DataFrame({
        "scan_score": [scan] * n, "ddos_score": [ddos] * n, "scan_type": ["tcp-syn"] * n,
        "ddos_type": ["tcp-syn-flood"] * n, "reasons": [None] * n,
    }, schema_overrides={"reasons": pl.Utf8})


def _alerts(flows: pl.DataFrame, **scores: float) -> list[tuple[str, str, str, str]]:
    alerts = rollup(flows, _predictions(flows.height, **scores), match_signatures(flows))
    return [(a.fold, a.src_ip, a.dest_ip, a.attack_type) for a in alerts]


def _answered(count: int) -> list[dict[str, object]]:
    """Connections a busy client made, answered with data, to distinct servers."""
    return [{"dst_ip": f"198.51.100.{i + 1}", "conn_state": "SF", "orig_bytes": 500.0,
             "resp_bytes": 4000.0, "orig_pkts": 10.0, "resp_pkts": 9.0} for i in range(count)]


def _refused(count: int, **extra: object) -> list[dict[str, object]]:
    return [{"dst_ip": "203.0.113.5", "dst_port": 1000 + i, **extra} for i in range(count)]


def test_client_with_few_refused_connections_is_no_scanner() -> None:
    flows = _flows(_answered(40) + _refused(2))

    assert _alerts(flows, scan=0.9) == []


def test_mostly_refused_probes_make_a_scan_alert() -> None:
    flows = _flows(_answered(2) + _refused(8))

    assert _alerts(flows, scan=0.9) == [("prevention", "192.0.2.10", "203.0.113.5", "tcp-syn")]


def test_padded_probes_count_as_failed() -> None:
    """nmap --data-length: the probe carries bytes, the target sent none back."""
    flows = _flows(_refused(5, orig_bytes=24.0))

    assert [a[0] for a in _alerts(flows, scan=0.9)] == ["prevention"]


def test_icmp_with_payload_is_not_a_failed_probe() -> None:
    """A flood victim's port-unreachable errors to spoofed sources quote bytes."""
    errors = [{"dst_ip": f"203.0.113.{i + 1}", "protocol": 1, "src_port": 0, "dst_port": 0,
               "conn_state": "S0", "orig_bytes": 60.0, "resp_pkts": 0.0} for i in range(20)]

    assert _alerts(_flows(errors), scan=0.9) == []


def _synacks(count: int, packets: float, **extra: object) -> list[dict[str, object]]:
    return [{"src_ip": f"198.51.100.{i + 1}", "src_port": 21, "dst_ip": "192.0.2.99",
             "dst_port": 21, "src_first_tcp_flags": _SYN_ACK, "conn_state": "S0",
             "orig_pkts": packets, "resp_pkts": 0.0, "bwd_ack": 0.0, **extra}
            for i in range(count)]


def test_unsolicited_synacks_match_the_flood_signature() -> None:
    flows = _flows(_synacks(2, 10.0) + _synacks(1, 10.0, src_first_tcp_flags=_SYN_ACK_ECE))

    assert match_signatures(flows).tolist() == ["tcp-synack-unsolicited"] * 3


def test_synack_the_destination_answered_is_no_reflection() -> None:
    """A capture that starts after the client's SYN sees SYN-ACK first, then the ACK."""
    answered = _synacks(1, 1.0, bwd_ack=1.0, resp_pkts=1.0)
    with_data = _synacks(1, 5.0, orig_bytes=1200.0)

    assert match_signatures(_flows(answered + with_data)).tolist() == [None, None]


def test_slow_synack_stream_makes_a_flood_alert_at_the_packet_threshold() -> None:
    below = _flows(_synacks(2, (MIN_FLOOD_PACKETS - 2) / 2))
    reached = _flows(_synacks(2, MIN_FLOOD_PACKETS / 2))

    assert _alerts(below) == []
    alerts = rollup(reached, _predictions(reached.height), match_signatures(reached))
    assert [(a.fold, a.dest_ip, a.attack_type, a.signature) for a in alerts] == [
        ("detection", "192.0.2.99", "tcp-synack-reflection", "tcp-synack-unsolicited")]
    assert alerts[0].packets == MIN_FLOOD_PACKETS and alerts[0].sources == 2


def test_public_slow_synack_reflection_is_detected(shared_data: Path) -> None:
    """StopDDoS: two servers retransmit SYN-ACKs 21 -> 21 to the victim for 13 minutes.

    The capture is one-way (incoming only), so ten SYN-ACKs from tcp/443 that
    answer the victim's own unseen SYNs match too; truth.json counts 532
    attack packets from the two tcp/21 hosts.
    """
    capture = shared_data / "stopddos/amp.TCP.syn.optionallyACK.optionallysamePort.pcapng"
    flows = meter_files([capture])
    signatures = match_signatures(flows)
    reflected = flows.filter(pl.Series(signatures == "tcp-synack-unsolicited"))
    by_port = dict(reflected.group_by("src_port").agg(pl.col("orig_pkts").sum()).iter_rows())

    assert sorted(reflected.filter(pl.col("src_port") == 21)["src_ip"].to_list()) == [
        "75.136.225.254", "93.114.150.139"]
    assert by_port == {21: 532.0, 443: 10.0}
    alerts = [a for a in detect(flows).alerts if a.fold == "detection"]
    assert [(a.dest_ip, a.attack_type, a.signature) for a in alerts] == [
        ("10.10.10.10", "tcp-synack-reflection", "tcp-synack-unsolicited")]


def _mixed_scores(flows: pl.DataFrame, scan_rows: int) -> pl.DataFrame:
    """The first ``scan_rows`` flows scan-like, the rest flood-like (as fold 2 saw synscan)."""
    n = flows.height
    scan = np.r_[np.full(scan_rows, 0.99), np.full(n - scan_rows, 0.01)]
    return _predictions(n).with_columns(pl.Series("scan_score", scan),
                                        pl.Series("ddos_score", 1.0 - scan))


def test_a_scanners_port_sweep_is_no_flood_evidence() -> None:
    # 400 unanswered probes of 400 ports of one host: fold 2 takes 350 of
    # them for a flood, fold 1 names the scanner from the other 50.
    sweep = _flows(_refused(400))
    alerts = rollup(sweep, _mixed_scores(sweep, 50), match_signatures(sweep))
    assert [(a.fold, a.src_ip) for a in alerts] == [("prevention", "192.0.2.10")]


def test_a_scanners_flood_of_one_port_is_still_a_flood() -> None:
    # The same host first scans, then floods one port: the flood stays.
    flows = _flows(_refused(50) + [{"dst_ip": "203.0.113.5", "dst_port": 80,
                                    "src_port": 20000 + i} for i in range(350)])
    alerts = rollup(flows, _mixed_scores(flows, 50), match_signatures(flows))
    assert sorted(a.fold for a in alerts) == ["detection", "prevention"]

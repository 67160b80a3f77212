"""detect(): flows -> both folds -> signatures -> one alert per host and attack."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from scapy.all import IP, TCP, Ether, wrpcap  # type: ignore[import-untyped]

from twinai.alerts.signatures import match_signatures
from twinai.cli.main import cli
from twinai.detect import detect
from twinai.folds.bundle import ModelBundle

EVE_KEYS = {"timestamp", "flow_id", "event_type", "src_ip", "src_port", "dest_ip",
            "dest_port", "proto", "alert", "twinai"}


def test_scan_and_flood_give_one_alert_each(trained_bundle: ModelBundle, shared_data: Path) -> None:
    result = detect([shared_data / "ndpi/synscan.pcap",
                     shared_data / "stopddos/pkt.TCP.synflood.spoofed.pcap"],
                    model=trained_bundle)
    by_fold = {a.fold: a for a in result.alerts}
    assert len(result.alerts) == 2
    scan = by_fold["prevention"]
    assert scan.src_ip == "172.16.0.8" and scan.dest_ip == "64.13.134.52"
    assert scan.flows > 1900
    assert scan.probes_before_alert is not None and scan.probes_before_alert <= 10
    flood = by_fold["detection"]
    assert flood.dest_ip == "10.10.10.10" and flood.spoofed
    assert flood.sources > 30000


def test_eve_records_carry_suricata_keys_and_twinai_evidence(trained_bundle: ModelBundle,
                                                            shared_data: Path) -> None:
    result = detect([shared_data / "ndpi/synscan.pcap"], model=trained_bundle)
    record = result.eve()[0]
    assert EVE_KEYS <= set(record)
    assert record["event_type"] == "alert"
    assert {"signature", "category", "severity", "action"} <= set(record["alert"])
    twinai = record["twinai"]
    for key in ("fold", "attack_type", "direction", "score", "model", "first_seen",
                "last_seen", "flows", "probes_before_alert", "reasons"):
        assert key in twinai
    assert twinai["reasons"] and "feature" in twinai["reasons"][0]
    json.dumps(record)


def _mirai_sweep(path: Path, count: int) -> None:
    """SYNs to telnet ports whose sequence number is the target address."""
    packets = []
    for i in range(count):
        target = f"192.0.2.{i + 1}"
        seq = int(ipaddress.IPv4Address(target))
        packets.append(Ether() / IP(src="10.0.0.66", dst=target, id=1000 + i)
                       / TCP(sport=40000 + i, dport=23 if i % 10 else 2323, flags="S", seq=seq))
        packets[-1].time = 1_700_000_000 + i * 0.5
    wrpcap(str(path), packets)


def test_mirai_fingerprint_names_the_family(trained_bundle: ModelBundle, tmp_path: Path) -> None:
    capture = tmp_path / "mirai.pcap"
    _mirai_sweep(capture, 2)
    result = detect([capture], model=trained_bundle, home_net=["10.0.0.0/24"])
    flows = result.flows
    assert match_signatures(flows).tolist() == ["mirai-seq-equals-target"] * 2
    alerts = [a for a in result.alerts if a.fold == "prevention"]
    assert len(alerts) == 1
    assert alerts[0].scanner_family == "mirai" and alerts[0].direction == "outbound"
    record = result.eve()[0]
    assert record["twinai"]["reasons"][0] == {"signature": "mirai-seq-equals-target"}


def test_zmap_id_needs_two_flows_of_one_source() -> None:
    flows = pl.DataFrame({
        "dst_ip": ["192.0.2.1", "192.0.2.2"], "dst_port": [80, 80], "protocol": [6, 6],
        "ip_version": [4, 4], "src_first_tcp_seq": [5, 6], "src_first_ip_id": [54321, 54321],
        "src_first_tcp_flags": [2, 2],
    })
    assert match_signatures(flows).tolist() == ["zmap-ip-id-54321"] * 2
    assert match_signatures(flows.with_columns(pl.lit(7).alias("src_first_ip_id"))).tolist() == [None, None]


def test_benign_capture_gives_no_alert(trained_bundle: ModelBundle, shared_data: Path) -> None:
    result = detect([shared_data / "ndpi/ssh.pcap"], model=trained_bundle)
    assert result.alerts == []
    assert set(result.predictions["verdict"].to_list()) == {"benign"}


def test_cli_writes_alerts_and_verdicts(trained_bundle: ModelBundle, shared_data: Path,
                                       tmp_path: Path) -> None:
    alerts, verdicts = tmp_path / "alerts.jsonl", tmp_path / "verdicts.csv"
    result = CliRunner().invoke(cli, [
        "detect", str(shared_data / "ndpi/synscan.pcap"), "--model", str(trained_bundle.path),
        "--home-net", "64.13.134.52/32", "--alerts", str(alerts), "--verdicts", str(verdicts)])
    assert result.exit_code == 0, result.output
    assert "SCANNER  172.16.0.8" in result.output
    lines = alerts.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["twinai"]["direction"] == "inbound"
    table = pl.read_csv(verdicts)
    assert {"scan_score", "ddos_score", "verdict", "flow_id"} <= set(table.columns)
    assert table.height > 1900


def test_cli_bad_verdicts_suffix_fails_before_work(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["detect", "x.pcap", "--verdicts", str(tmp_path / "v.txt")])
    assert result.exit_code != 0
    assert "flow tables are written as .parquet or .csv" in str(result.exception or result.output)


@pytest.mark.parametrize("name", ["nothing-here.pcap"])
def test_missing_input_is_one_clear_error(trained_bundle: ModelBundle, name: str) -> None:
    from twinai.errors import InputError

    with pytest.raises(InputError, match="no such file"):
        detect([name], model=trained_bundle)


def _entry_point(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "twinai.cli.main", *args],
                          capture_output=True, text=True, timeout=300)


def test_an_empty_flow_table_is_one_error_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")

    done = _entry_point("detect", str(empty))

    assert done.returncode == 2
    assert done.stderr.strip() == f"twinai: error: {empty}: the file is empty; expected a flow table"


def test_alerts_that_cannot_be_written_are_one_error_line(tmp_path: Path,
                                                         shared_data: Path) -> None:
    done = _entry_point("detect", str(shared_data / "ndpi/tcp_scan.pcapng"),
                        "--alerts", "/proc/no-such-dir/alerts.jsonl")

    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("twinai: error: ") and "/proc/no-such-dir" in lines[-1]
    assert "Traceback" not in done.stderr

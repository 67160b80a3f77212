"""detect_streaming() gives what detect() gives: alerts, summary, verdicts, flow ids."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner

import twinai.detect_stream as detect_stream
from twinai.cli.main import cli
from twinai.detect import DetectionResult, detect
from twinai.detect_stream import captures_only, detect_streaming
from twinai.folds.bundle import ModelBundle, default_bundle_path, load_bundle

REPO = Path(__file__).resolve().parents[2]

# Captures small enough to run twice per case, with alerts of both folds.
_CAPTURES = ("ndpi/synscan.pcap", "stopddos/pkt.TCP.synflood.spoofed.pcap",
             "stopddos/amp.dns.RRSIG.fragmented.pcap", "esnet/attacks/scanners/nmap/nmap_80_all.pcap",
             "ndpi/iphone.pcap", "ndpi/tcp_scan.pcapng")


@pytest.fixture(scope="module")
def default_bundle() -> ModelBundle:
    if not (default_bundle_path() / "bundle.json").exists():
        pytest.skip("no default bundle shipped yet")
    return load_bundle(None)


def _home_net(truth: list[dict[str, Any]], name: str) -> list[str] | None:
    entry = next(e for e in truth if e["path"] == name)
    return entry["home_net"] or None


def _assert_same(offline: DetectionResult, streamed: DetectionResult) -> None:
    assert json.dumps(streamed.eve()) == json.dumps(offline.eve())
    expected, got = offline.summary(), streamed.summary()
    expected.pop("seconds")
    got.pop("seconds")
    assert got == expected
    assert streamed.verdicts().schema == offline.verdicts().schema
    assert streamed.verdicts().equals(offline.verdicts())
    assert streamed.meter is not None and offline.meter is not None
    assert streamed.meter.flows == offline.meter.flows
    assert streamed.meter.packets == offline.meter.packets


@pytest.mark.parametrize("name", _CAPTURES)
def test_streamed_detection_equals_offline(name: str, default_bundle: ModelBundle,
                                           shared_data: Path,
                                           truth: list[dict[str, Any]]) -> None:
    home_net = _home_net(truth, name)
    offline = detect([shared_data / name], home_net=home_net, model=default_bundle)
    streamed = detect_streaming([shared_data / name], home_net=home_net, model=default_bundle)
    _assert_same(offline, streamed)


@pytest.mark.parametrize("name", ["ndpi/synscan.pcap", "stopddos/pkt.TCP.synflood.spoofed.pcap"])
def test_many_small_chunks_give_the_same_flow_ids_and_alerts(
        name: str, default_bundle: ModelBundle, shared_data: Path,
        truth: list[dict[str, Any]]) -> None:
    home_net = _home_net(truth, name)
    offline = detect([shared_data / name], home_net=home_net, model=default_bundle)
    streamed = detect_streaming([shared_data / name], home_net=home_net, model=default_bundle,
                                chunk_packets=997)
    assert offline.alerts, "the case needs alerts whose cited flows are explained"
    _assert_same(offline, streamed)


def test_cited_flows_beyond_the_kept_rows_come_from_a_second_pass(
        default_bundle: ModelBundle, shared_data: Path, truth: list[dict[str, Any]],
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    # No full rows kept while streaming: every explanation needs the second pass.
    monkeypatch.setattr(detect_stream, "SCAN_ROWS_KEPT", 0)
    monkeypatch.setattr(detect_stream, "FLOOD_ROWS_KEPT", 0)
    inputs = [shared_data / "ndpi/synscan.pcap", shared_data / "stopddos/amp.UDP.snmp.src161.pcapng"]
    offline = detect(inputs, model=default_bundle)
    with caplog.at_level(logging.INFO, logger="twinai.detect_stream"):
        streamed = detect_streaming(inputs, model=default_bundle, chunk_packets=4096)
    assert "metering the captures again" in caplog.text
    assert {a.fold for a in offline.alerts} == {"prevention", "detection"}
    assert all(a.reasons for a in streamed.alerts)
    _assert_same(offline, streamed)


def test_lab_demo_folder_streams_to_the_same_result(default_bundle: ModelBundle) -> None:
    folder = REPO / "data" / "lab" / "demo"
    if not folder.is_dir():
        pytest.skip("no lab demo captures in this checkout")
    offline = detect([folder], model=default_bundle)
    streamed = detect_streaming([folder], model=default_bundle, chunk_packets=512)
    _assert_same(offline, streamed)


def test_only_captures_take_the_streaming_path(shared_data: Path, tmp_path: Path) -> None:
    table = tmp_path / "flows.parquet"
    pl.DataFrame({"flow_id": [0]}).write_parquet(table)
    assert captures_only([shared_data / "ndpi/synscan.pcap", shared_data / "ndpi"])
    assert not captures_only([shared_data / "ndpi/synscan.pcap", table])
    assert not captures_only([tmp_path / "missing.pcap"])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cli_writes_the_offline_verdicts_and_alerts(suffix: str, default_bundle: ModelBundle,
                                                    shared_data: Path, tmp_path: Path) -> None:
    capture = shared_data / "stopddos/pkt.TCP.synflood.spoofed.pcap"
    verdicts, alerts = tmp_path / f"verdicts{suffix}", tmp_path / "alerts.json"
    result = CliRunner().invoke(cli, ["detect", str(capture), "--home-net", "10.10.10.10/32",
                                      "--alerts", str(alerts), "--verdicts", str(verdicts)])
    assert result.exit_code == 0, result.output
    offline = detect([capture], home_net=["10.10.10.10/32"], model=default_bundle)
    written = pl.read_csv(verdicts) if suffix == ".csv" else pl.read_parquet(verdicts)
    expected = offline.verdicts()
    if suffix == ".csv":
        expected = pl.read_csv(expected.write_csv().encode())
    assert written.equals(expected)
    records = [json.loads(line) for line in alerts.read_text().splitlines() if line.strip()]
    assert records == json.loads(json.dumps(offline.eve()))

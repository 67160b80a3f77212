"""``twinai watch`` as a command: usage errors, a failed start, a clean bounded run."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from click.testing import CliRunner
from watch_netns import LinkPair

from twinai.cli.cmd_watch import command
from twinai.errors import CaptureError

HERE = Path(__file__).resolve().parent


def test_bad_ttl_and_missing_interface_are_usage_errors() -> None:
    runner = CliRunner()
    bad_ttl = runner.invoke(command, ["-i", "eth0", "--block-ttl", "forever"])
    no_interface = runner.invoke(command, [])

    assert bad_ttl.exit_code == 2
    assert "--block-ttl" in bad_ttl.output
    assert no_interface.exit_code == 2
    assert "--interface" in no_interface.output


def test_bad_allow_network_is_a_usage_error() -> None:
    result = CliRunner().invoke(command, ["-i", "eth0", "--allow", "10.0.0.999/8"])
    assert result.exit_code == 2
    assert "CIDR" in result.output


def test_unknown_interface_fails_with_a_capture_error(
        root_namespaces: None, bundle_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(command, [
        "-i", "nosuchif0", "--model", str(bundle_dir), "--audit-log",
        str(tmp_path / "audit.jsonl"), "--duration", "1"])

    assert isinstance(result.exception, CaptureError)
    assert "nosuchif0" in str(result.exception)
    assert "did not start" in str(result.exception)


def test_dry_run_reports_would_block_and_writes_eve(
        link_pair: LinkPair, shared_data: Path, bundle_dir: Path, tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.jsonl"
    watch = subprocess.Popen(
        ["twinai", "watch", "-i", link_pair.receiver_dev, "--netns", link_pair.receiver,
         "--model", str(bundle_dir), "--alerts", str(alerts), "--audit-log",
         str(tmp_path / "audit.jsonl"), "--duration", "12", "--stats-interval", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready = threading.Event()
    lines: list[str] = []

    def pump() -> None:
        assert watch.stderr is not None
        for line in watch.stderr:
            lines.append(line)
            if line.startswith("watching"):
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    assert ready.wait(60), "".join(lines)
    subprocess.run(["ip", "netns", "exec", link_pair.sender, sys.executable,
                    str(HERE / "traffic.py"), "replay", str(shared_data / "ndpi" / "synscan.pcap"),
                    link_pair.sender_dev, "1000", "2500"], check=True, timeout=60,
                   capture_output=True)
    out, _ = watch.communicate(timeout=60)
    time.sleep(0.2)

    assert watch.returncode == 0, "".join(lines)
    assert any(line.startswith("stats: ") and "dropped by kernel" in line for line in lines)
    records = [json.loads(line) for line in alerts.read_text().splitlines()]
    scanner = [r for r in records if r["src_ip"] == "172.16.0.8"
               and r["twinai"]["fold"] == "prevention"]
    assert scanner[0]["alert"]["action"] == "allowed"
    assert scanner[0]["twinai"]["blocks"][0]["dry_run"] is True
    assert "would block 172.16.0.8" in out
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert audit[0]["dry_run"] is True and audit[0]["ip"] == "172.16.0.8"

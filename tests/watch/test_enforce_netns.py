"""``twinai watch --enforce`` on a router stops real scans while they run.

Topology (see :mod:`watch_netns`): attacker -- isp -- router -- device. The
watch runs on the router's outside interface. The device serves two TCP
ports and publishes MQTT-like telemetry to a broker at the isp every 0.2 s.
A capture on the device side shows what really reached it.

Probes-before-block and time-to-block per scan type are printed at the end
of the module (``pytest -s``) and written to ``watch-enforce-results.json``
in pytest's base temporary folder. ``TWINAI_WATCH_REPEATS`` repeats each scan;
``TWINAI_WATCH_TICK`` sets the watch's ``--tick``.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from watch_netns import HomeLab

from twinai.capture.decode import decode_records
from twinai.capture.reader import read_records

HERE = Path(__file__).resolve().parent
TTL_S = 5
TELEMETRY_INTERVAL_S = 0.2
SCAN_RATE = 200  # probes/s, steady: --max-rate with no retries
REPEATS = int(os.environ.get("TWINAI_WATCH_REPEATS", "1"))
TICK_S = os.environ.get("TWINAI_WATCH_TICK", "0.25")
# nmap scan types of the lab catalogue (twinai.lab.catalogue), 1,000 ports each.
SCAN_TYPES = {"tcp-syn": "-sS", "tcp-connect": "-sT", "tcp-fin": "-sF",
              "tcp-null": "-sN", "tcp-xmas": "-sX"}

RESULTS: dict[str, list[dict[str, float]]] = {}


class Background:
    """Processes started for one test, stopped (SIGINT, then kill) at the end."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, ns: str, *argv: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        self.procs.append(proc)
        return proc

    def traffic(self, ns: str, *args: str) -> subprocess.Popen[str]:
        return self.start(ns, sys.executable, str(HERE / "traffic.py"), *args)

    def stop(self, proc: subprocess.Popen[str], timeout: float = 15) -> tuple[str, str]:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            return proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.communicate()

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


@pytest.fixture
def background() -> Iterator[Background]:
    procs = Background()
    try:
        yield procs
    finally:
        procs.close()


def _wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float) -> list[str]:
    """Read stderr until a line holds ``needle``; keep reading it in the background."""
    assert proc.stderr is not None
    lines: list[str] = []
    found = threading.Event()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if needle in line:
                found.set()

    threading.Thread(target=pump, daemon=True).start()
    assert found.wait(timeout), f"no {needle!r} within {timeout} s: {''.join(lines)[-2000:]}"
    return lines


def _device_capture(background: Background, lab: HomeLab, out: Path) -> subprocess.Popen[str]:
    proc = background.start(lab.device, "tcpdump", "-i", lab.device_dev, "-w", str(out), "-U",
                            "--immediate-mode", "-n", "src", "host", lab.attacker_ip)
    _wait_for_line(proc, "listening on", 10)
    return proc


def _start_watch(background: Background, lab: HomeLab, bundle_dir: Path,
                 tmp: Path) -> tuple[subprocess.Popen[str], list[str]]:
    proc = background.start(
        lab.router, "twinai", "watch", "--interface", lab.router_wan, "--enforce",
        "--home-net", lab.home_net, "--block-ttl", f"{TTL_S}s", "--model", str(bundle_dir),
        "--alerts", str(tmp / "alerts.jsonl"), "--audit-log", str(tmp / "audit.jsonl"),
        "--stats-interval", "2", "--tick", TICK_S, "--write-pcap", str(tmp / "watched.pcap"))
    return proc, _wait_for_line(proc, "watching", 60)


def _alerts(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _block_of(records: list[dict[str, Any]], ip: str) -> dict[str, Any] | None:
    """The last record's block of ``ip`` (its final probe count)."""
    found = None
    for record in records:
        for block in record["twinai"].get("blocks", []):
            if block["ip"] == ip and not block["dry_run"]:
                found = block
    return found


def _epoch_us(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1e6)


def _packet_times_us(path: Path) -> np.ndarray:
    records = read_records(path)
    packets = decode_records(records)
    return packets.ts_us[packets.skip == 0]


def _nft_has(lab: HomeLab, ip: str) -> bool:
    done = subprocess.run(["ip", "netns", "exec", lab.router, "nft", "-j", "list", "set",
                           "inet", "twinai", "blocked4"], capture_output=True, text=True,
                          timeout=10, check=False)
    return done.returncode == 0 and f'"{ip}"' in done.stdout


def _pings(src_ns: str, address: str) -> bool:
    done = subprocess.run(["ip", "netns", "exec", src_ns, "ping", "-n", "-q", "-c", "1", "-W",
                           "1", address], capture_output=True, timeout=10, check=False)
    return done.returncode == 0


def _max_gap_s(times: list[float], start: float, end: float) -> float:
    inside = [t for t in times if start <= t <= end]
    edges = [start, *inside, end]
    return max(b - a for a, b in zip(edges, edges[1:]))


@pytest.mark.parametrize("repeat", range(REPEATS))
@pytest.mark.parametrize("scan", list(SCAN_TYPES))
def test_scanner_is_blocked_early_benign_telemetry_flows_and_block_expires(
        scan: str, repeat: int, home_lab: HomeLab, bundle_dir: Path, tmp_path: Path,
        background: Background) -> None:
    lab = home_lab
    broker_log = tmp_path / "broker.log"
    background.traffic(lab.isp, "broker", "1883", "60", str(broker_log))
    background.traffic(lab.device, "listen", "22,80", "60")
    time.sleep(0.3)
    background.traffic(lab.device, "telemetry", lab.isp_ip, "1883", str(TELEMETRY_INTERVAL_S),
                       "60")
    device_pcap = tmp_path / "device.pcap"
    device_capture = _device_capture(background, lab, device_pcap)
    watch, watch_log = _start_watch(background, lab, bundle_dir, tmp_path)

    scan_started = time.time()
    nmap = subprocess.run(
        ["ip", "netns", "exec", lab.attacker, "nmap", "-n", "-Pn", SCAN_TYPES[scan], "-p",
         "1-1000", "--min-rate", str(SCAN_RATE), "--max-rate", str(SCAN_RATE), "--max-retries", "0", "--host-timeout",
         "30s", lab.device_ip], capture_output=True, text=True, timeout=60, check=False)
    scan_ended = time.time()
    assert nmap.returncode == 0, nmap.stderr
    blocked_after_scan = _nft_has(lab, lab.attacker_ip)

    # (c) the block runs out TTL_S after its last renewal once the scan stops.
    expired_by = None
    deadline = scan_ended + TTL_S * 2 + 3
    while time.time() < deadline:
        if not _nft_has(lab, lab.attacker_ip):
            expired_by = time.time()
            break
        time.sleep(0.25)
    answers_again = _pings(lab.attacker, lab.device_ip)
    time.sleep(1.0)  # telemetry after the scan
    telemetry_end = time.time()

    out, err = background.stop(watch)
    background.stop(device_capture)
    assert watch.returncode == 0, "".join(watch_log)[-3000:] + err

    records = _alerts(tmp_path / "alerts.jsonl")
    block = _block_of(records, lab.attacker_ip)
    assert block is not None, f"attacker not blocked; alerts: {records}; {out}"
    block_us = _epoch_us(block["at"])

    # (a) blocked within a small number of probes, none reached the device after.
    reached = _packet_times_us(device_pcap)
    reached = reached[reached <= scan_ended * 1e6]  # the ping after expiry is no probe
    after = reached[reached > block_us]
    assert after.size == 0, f"{after.size} probes reached the device after the block"
    assert blocked_after_scan
    first_probe_us = int(reached.min())
    probes = int(reached.size)
    assert probes <= 200, f"{probes} probes got through before the block"
    assert block["probes_before_block"] >= 1

    # (b) telemetry kept flowing: no gap of more than 1 s while watched.
    arrivals = [float(line) for line in broker_log.read_text().split()]
    assert _max_gap_s(arrivals, scan_started, telemetry_end) < 1.0
    assert all(r["src_ip"] != lab.device_ip for r in records), "benign telemetry alerted"

    # (c)
    assert expired_by is not None, "the block did not expire"
    assert answers_again

    RESULTS.setdefault(scan, []).append({
        "probes_reached_device": probes,
        "probes_before_block": block["probes_before_block"],
        "first_probe_to_block_ms": (block_us - first_probe_us) / 1000,
    })


def test_compromised_device_sweeping_telnet_is_quarantined(
        home_lab: HomeLab, bundle_dir: Path, tmp_path: Path, background: Background) -> None:
    lab = home_lab
    watch, watch_log = _start_watch(background, lab, bundle_dir, tmp_path)
    sweep = [background.start(lab.device, "hping3", "-q", "-S", "-p", str(port), "--rand-dest",
                              lab.sweep_net.replace("0/24", "x"), "-I", lab.device_dev, "-c",
                              str(count), "-i", "u10000")
             for port, count in ((23, 300), (2323, 60))]
    for proc in sweep:
        proc.communicate(timeout=30)  # exits 1: nobody answers a sweep of a blackhole
    quarantined = _nft_has(lab, lab.device_ip)
    out, err = background.stop(watch)
    assert watch.returncode == 0, "".join(watch_log)[-3000:] + err

    records = _alerts(tmp_path / "alerts.jsonl")
    block = _block_of(records, lab.device_ip)
    assert block is not None, f"device not quarantined; alerts: {records}; {out}"
    assert block["direction"] == "outbound"
    assert quarantined
    outbound = [r for r in records if r["src_ip"] == lab.device_ip]
    assert outbound[0]["twinai"]["direction"] == "outbound"

    # After the quarantine nothing from the device left through the router.
    left = read_records(tmp_path / "watched.pcap")
    packets = decode_records(left)
    device_lo = np.uint64(0xFFFF00000000 | int.from_bytes(bytes(map(int, lab.device_ip.split(
        "."))), "big"))
    from_device = packets.ts_us[(packets.src_lo == device_lo) & (packets.skip == 0)]
    assert (from_device > _epoch_us(block["at"])).sum() == 0
    RESULTS.setdefault("outbound-telnet-sweep", []).append({
        "probes_before_block": block["probes_before_block"],
        "first_probe_to_block_ms": block["first_probe_to_block_ms"],
    })


@pytest.fixture(scope="module", autouse=True)
def report_results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    if not RESULTS:
        return
    out = tmp_path_factory.getbasetemp() / "watch-enforce-results.json"
    out.write_text(json.dumps(RESULTS, indent=2))
    print(f"\nprobes before block per scan type ({out}):")
    for scan, runs in RESULTS.items():
        print(f"  {scan:<22} runs {len(runs)}  " + "  ".join(
            f"{name} median {statistics.median(r[name] for r in runs):.0f} "
            f"p95 {np.percentile([r[name] for r in runs], 95):.0f}"
            for name in runs[0]))

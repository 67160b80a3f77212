"""Benchmark: probes before block and time to block, per scan type, over repeated runs.

Each run builds the home lab of ``tests/watch/watch_netns.py`` (attacker --
isp -- router -- device, fresh namespaces each run, always removed) and runs
``twinai watch --enforce`` on the router's outside interface, as
``tests/watch/test_enforce_netns.py`` does (its helpers are reused). Then:

* inbound scans: ``nmap -Pn -p 1-1000`` of the device at SCAN_RATE probes/s,
  no retries, one per scan type; the probes counted are those tcpdump saw
  *reach the device* (``src host`` attacker), all before the block by the
  test's own assertion (checked here too);
* the outbound telnet sweep: the device sends SYNs to 23/tcp and 2323/tcp of
  random addresses (hping3, 100 packets/s), as a Mirai-infected device does;
  counts are the watch's own (its block record), because the router's
  upstream blackholes the sweep and there is no far end to capture at.

A run that ends without a block counts as a miss, with every probe through.
Prints median and p95 over the runs of each scan type and over all of them.

Usage (root; nmap, hping3, tcpdump, nftables)::

    python3 benchmarks/bench_block.py [--repeats 5] [--tick 0.25]
        [--only tcp-syn,telnet-sweep]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "watch"))
os.environ.setdefault("TWINAI_WATCH_TICK", "0.25")  # read by the test module at import

import test_enforce_netns as enforce  # noqa: E402
from watch_netns import _missing, build_home_lab  # noqa: E402

from twinai.folds.bundle import default_bundle_path  # noqa: E402

SCAN_TYPES = enforce.SCAN_TYPES
SCAN_RATE = enforce.SCAN_RATE
SWEEP = "telnet-sweep"
# (port, packets) of the sweep, as in the quarantine test: Mirai's 23 and, one
# in ten, 2323.
SWEEP_PORTS = ((23, 300), (2323, 60))


def scan_run(scan: str, bundle: Path, tmp: Path) -> dict[str, Any]:
    """One nmap scan of the device; probes that reached it and the block's timing."""
    background = enforce.Background()
    try:
        with build_home_lab() as lab:
            background.traffic(lab.device, "listen", "22,80", "30")
            device_pcap = tmp / "device.pcap"
            capture = enforce._device_capture(background, lab, device_pcap)
            watch, _ = enforce._start_watch(background, lab, bundle, tmp)
            nmap = subprocess.run(
                ["ip", "netns", "exec", lab.attacker, "nmap", "-n", "-Pn", SCAN_TYPES[scan],
                 "-p", "1-1000", "--min-rate", str(SCAN_RATE), "--max-rate", str(SCAN_RATE),
                 "--max-retries", "0", "--host-timeout", "30s", lab.device_ip],
                capture_output=True, text=True, timeout=60, check=False)
            scan_ended_us = time.time() * 1e6
            time.sleep(0.5)  # the last tick
            background.stop(watch)
            background.stop(capture)
    finally:
        background.close()
    if nmap.returncode != 0:
        raise SystemExit(f"nmap failed: {nmap.stderr}")
    reached = enforce._packet_times_us(device_pcap)
    reached = reached[reached <= scan_ended_us]
    block = enforce._block_of(enforce._alerts(tmp / "alerts.jsonl"), lab.attacker_ip)
    if block is None:
        return {"blocked": False, "probes": int(reached.size), "to_block_ms": float("nan"),
                "watch_probes": float("nan"), "after_block": 0}
    block_us = enforce._epoch_us(block["at"])
    return {"blocked": True, "probes": int((reached <= block_us).sum()),
            "after_block": int((reached > block_us).sum()),
            "to_block_ms": (block_us - int(reached.min())) / 1000,
            "watch_probes": block["probes_before_block"]}


def sweep_run(bundle: Path, tmp: Path) -> dict[str, Any]:
    """The device sweeps telnet; the watch's own count and time to quarantine."""
    background = enforce.Background()
    try:
        with build_home_lab() as lab:
            watch, _ = enforce._start_watch(background, lab, bundle, tmp)
            sweep = [background.start(lab.device, "hping3", "-q", "-S", "-p", str(port),
                                      "--rand-dest", lab.sweep_net.replace("0/24", "x"), "-I",
                                      lab.device_dev, "-c", str(count), "-i", "u10000")
                     for port, count in SWEEP_PORTS]
            for proc in sweep:
                proc.communicate(timeout=30)
            time.sleep(0.5)
            background.stop(watch)
    finally:
        background.close()
    block = enforce._block_of(enforce._alerts(tmp / "alerts.jsonl"), lab.device_ip)
    if block is None:
        return {"blocked": False, "probes": sum(c for _, c in SWEEP_PORTS),
                "to_block_ms": float("nan"), "watch_probes": float("nan"), "after_block": 0}
    return {"blocked": True, "probes": block["probes_before_block"],
            "watch_probes": block["probes_before_block"], "after_block": 0,
            "to_block_ms": block["first_probe_to_block_ms"]}


def _summary(name: str, runs: list[dict[str, Any]]) -> str:
    probes = [r["probes"] for r in runs]
    times = [r["to_block_ms"] for r in runs if r["blocked"]]
    watch = [r["watch_probes"] for r in runs if r["blocked"]]

    def mp(values: list[float], fmt: str) -> str:
        if not values:
            return "- | -"
        return f"{statistics.median(values):{fmt}} | {np.percentile(values, 95):{fmt}}"

    return (f"| {name} | {len(runs)} | {sum(r['blocked'] for r in runs)} | {mp(probes, '.0f')} "
            f"| {mp(watch, '.0f')} | {mp(times, ',.0f')} | "
            f"{sum(r['after_block'] for r in runs)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", default=",".join([*SCAN_TYPES, SWEEP]))
    parser.add_argument("--model", type=Path, default=default_bundle_path())
    args = parser.parse_args()
    reason = _missing()
    if reason:
        raise SystemExit(f"cannot run: {reason}")
    kinds = args.only.split(",")
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; tick "
          f"{enforce.TICK_S} s; nmap {SCAN_RATE} probes/s, 1,000 ports, no retries; "
          f"{args.repeats} runs each")
    results: dict[str, list[dict[str, Any]]] = {}
    for repeat in range(args.repeats):
        for kind in kinds:
            with tempfile.TemporaryDirectory(prefix="twinai-bench-block-") as tmp:
                run = sweep_run(args.model, Path(tmp)) if kind == SWEEP else \
                    scan_run(kind, args.model, Path(tmp))
            results.setdefault(kind, []).append(run)
            print(f"  run {repeat + 1} {kind}: {run}", file=sys.stderr, flush=True)
    print("| scan type | runs | blocked | probes before block median | p95 "
          "| watch's count median | p95 | first probe to block ms median | p95 "
          "| probes after block |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for kind, runs in results.items():
        print(_summary(kind, runs))
    print(_summary("all", [r for runs in results.values() for r in runs]))
    inbound = [r for k, runs in results.items() if k != SWEEP for r in runs]
    if inbound:
        print(_summary("all inbound scans", inbound))


if __name__ == "__main__":
    main()

"""Benchmark: the packet rate ``twinai watch`` sustains on a real interface.

Two tables.

1. Tick cost (in process, no interface): each capture is cut into slices of
   TICK_S of its own clock; each slice is fed to the live detector and
   judged (one tick), as ``twinai watch`` does every TICK_S. Gives the tick
   cost (median, p95, max) and the packet rate one CPU sustains.
2. Replay ladder (needs root): two network namespaces on one veth (the
   helpers of ``tests/watch/watch_netns.py``); the watch loop of ``twinai
   watch`` (:class:`twinai.live.Watch`: tcpdump in the receiving namespace,
   the live detector ticking every TICK_S) listens on one end while
   ``tcpreplay --pps RATE`` sends a bounded prefix of the capture on the
   other. A rate is *sustained* when tcpdump reports no kernel drop, every
   packet sent was judged (the interface's rx_dropped is shown as well),
   every alert ``detect`` raises on what tcpdump recorded was raised live
   (no verdict lost), and the last tick finished within DRAIN_LIMIT_S of
   tcpdump stopping (the loop kept up rather than queueing). The ladder
   climbs until a rate is not sustained.

Usage::

    python3 benchmarks/bench_watch.py [--model BUNDLE] [--no-replay] [--no-ticks]
        [--rates 1000,2000,...] [--rung-s 4] [--replay-capture PCAP] [CAPTURE ...]

Default captures: the shared nmap SYN scan and spoofed SYN flood (ticks);
the spoofed SYN flood (replay: nearly every packet is a new flow, the
hardest case for the flow store).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "watch"))

from watch_netns import LinkPair, _delete, _link, _missing, _unique, sh  # noqa: E402

from twinai.capture.reader import read_records  # noqa: E402
from twinai.detect import detect  # noqa: E402
from twinai.folds.bundle import ModelBundle, load_bundle  # noqa: E402
from twinai.live import LiveDetector, TcpdumpCapture, Watch, WatchStats, warm_up  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
FLOOD = SHARED / "stopddos" / "pkt.TCP.synflood.spoofed.pcap"
DEFAULTS = [SHARED / "ndpi" / "synscan.pcap", FLOOD]
TICK_S = 0.25
RATES = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)
# Each rung sends this many seconds of traffic (bounded by the capture).
RUNG_S = 4.0
# The watch must have judged everything within this long of tcpdump's stop
# (after tcpdump's own grace): a longer drain means ticks fell behind and
# packets were queueing in memory, which a longer attack would not survive.
DRAIN_LIMIT_S = 1.0
_SENT_RE = re.compile(r"Actual: (\d+) packets")


# --- 1. tick cost ---------------------------------------------------------------


def slices(path: Path) -> list[bytes]:
    """The capture's bytes cut at TICK_S boundaries of its own clock."""
    records = read_records(path)
    data = path.read_bytes()
    header, ends = data[:24], records.offset + records.caplen
    tick = (records.ts_us - records.ts_us[0]) // int(TICK_S * 1e6)
    cuts = np.flatnonzero(np.diff(tick)) + 1
    starts = np.concatenate([[0], cuts])
    stops = np.concatenate([cuts, [len(records)]])
    out = [header]
    for a, b in zip(starts, stops):
        out.append(data[int(records.offset[a]) - 16:int(ends[b - 1])])
    return out


def bench_ticks(path: Path, bundle: ModelBundle) -> str:
    detector = LiveDetector(bundle)
    detector.clock = lambda: detector.last_packet_us
    costs = []
    for piece in slices(path):
        started = time.perf_counter()
        detector.feed(piece)
        detector.tick()
        costs.append((time.perf_counter() - started) * 1000)
    stats = detector.stats()
    total_s = sum(costs) / 1000
    return (f"| {path.name} | {stats.packets} | {len(costs)} | {statistics.median(costs):.1f} | "
            f"{np.percentile(costs, 95):.1f} | {max(costs):.1f} | {stats.packets / total_s:,.0f} | "
            f"{len(detector.book)} |")


# --- 2. replay ladder -------------------------------------------------------------


@contextmanager
def link_pair() -> Iterator[LinkPair]:
    """Two namespaces on one unaddressed veth, removed afterwards (also on error)."""
    names = [_unique("s"), _unique("r")]
    try:
        for name in names:
            sh("ip", "netns", "add", name)
        sender_dev, receiver_dev = _link(names[0], names[1], "", "")
        # No IPv6 on the veth: router solicitations would be packets nobody sent.
        for ns, dev in ((names[0], sender_dev), (names[1], receiver_dev)):
            sh("ip", "netns", "exec", ns, "sysctl", "-q", "-w",
               f"net.ipv6.conf.{dev}.disable_ipv6=1")
        yield LinkPair(names[0], names[1], sender_dev, receiver_dev)
    finally:
        _delete(names)


def _alert_keys(alerts: Any) -> set[tuple[str, str]]:
    return {(a.fold, a.src_ip if a.fold == "prevention" else a.dest_ip) for a in alerts}


def replay_rung(path: Path, rate: int, bundle: ModelBundle, tmp: Path,
                rung_s: float) -> dict[str, Any]:
    """One rung of the ladder (see the module docstring)."""
    limit = min(len(read_records(path)), int(rate * rung_s))
    recorded = tmp / f"watched-{rate}.pcap"
    detector = LiveDetector(bundle)
    with link_pair() as pair:
        capture = TcpdumpCapture(pair.receiver_dev, netns=pair.receiver, write_pcap=recorded)
        watch = Watch(capture, detector, tick_s=TICK_S, stats_interval_s=1.0)
        stop = threading.Event()
        final: list[WatchStats] = []
        thread = threading.Thread(target=lambda: final.append(watch.run(stop, duration_s=120)),
                                  daemon=True)
        thread.start()
        if not watch.ready.wait(15):
            raise SystemExit("tcpdump did not start listening")
        started = time.monotonic()
        sent = subprocess.run(
            ["ip", "netns", "exec", pair.sender, "tcpreplay", "-q", "-i", pair.sender_dev,
             f"--pps={rate}", f"--limit={limit}", str(path)],
            capture_output=True, text=True, timeout=120, check=True)
        send_s = time.monotonic() - started
        stopped = time.monotonic()
        stop.set()
        thread.join(120)
        drain_s = time.monotonic() - stopped - 1.0  # less tcpdump's stop grace
    match = _SENT_RE.search(sent.stdout)
    packets_sent = int(match.group(1)) if match else -1
    stats = final[0]
    offline = detect([recorded], model=bundle)
    live_keys, offline_keys = _alert_keys(h.alert for h in detector.book.alerts.values()), \
        _alert_keys(offline.alerts)
    row = {
        "rate": rate, "sent": packets_sent, "send_s": send_s,
        "judged": stats.detector.packets, "kernel_drops": stats.dropped_by_kernel,
        "rx_drops": stats.interface_rx_dropped, "max_tick_ms": stats.detector.max_tick_ms,
        "drain_s": drain_s, "live_alerts": len(live_keys), "offline_alerts": len(offline_keys),
        "lost": len(offline_keys - live_keys), "extra": len(live_keys - offline_keys),
    }
    # The interface's rx_dropped is shown, not required to be 0: on a veth it
    # also counts frames the stack refuses after tcpdump saw them (sent ==
    # judged proves none was lost to the watch).
    row["sustained"] = (row["kernel_drops"] == 0 and row["judged"] >= packets_sent
                        and row["lost"] == 0 and drain_s <= DRAIN_LIMIT_S)
    recorded.unlink(missing_ok=True)
    return row


def _row(r: dict[str, Any]) -> str:
    return (f"| {r['rate']:,} | {r['sent']:,} | {r['sent'] / r['send_s']:,.0f} | "
            f"{r['judged']:,} | {r['kernel_drops']} | {r['rx_drops']} | "
            f"{r['max_tick_ms']:.0f} | {r['drain_s']:.2f} | {r['live_alerts']} / "
            f"{r['offline_alerts']} | {r['lost']} | {'yes' if r['sustained'] else 'no'} |")


def bench_replay(path: Path, rates: list[int], bundle: ModelBundle, rung_s: float) -> None:
    print(f"\nreplay ladder: {path.name}, tcpreplay --pps into a veth, tick {TICK_S} s, "
          f"at most {rung_s:g} s per rung")
    print("| pps asked | sent | pps achieved | judged | kernel drops | rx drops | max tick ms "
          "| drain s | alerts live / offline | verdicts lost | sustained |")
    print("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|:-:|")
    best = None
    with tempfile.TemporaryDirectory(prefix="twinai-bench-watch-") as tmp:
        for rate in rates:
            row = replay_rung(path, rate, bundle, Path(tmp), rung_s)
            print(_row(row), flush=True)
            if not row["sustained"]:
                break
            best = row
    found = "none" if best is None else f"{best['rate']:,} packets/s"
    print(f"highest sustained: {found}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("captures", nargs="*", type=Path, default=None)
    parser.add_argument("--model", default=None)
    parser.add_argument("--rates", default=",".join(map(str, RATES)))
    parser.add_argument("--rung-s", type=float, default=RUNG_S,
                        help="seconds of traffic per rung (bounded by the capture)")
    parser.add_argument("--replay-capture", type=Path, action="append", default=None,
                        help="capture(s) for the replay ladder (default: the SYN flood)")
    parser.add_argument("--no-ticks", action="store_true")
    parser.add_argument("--no-replay", action="store_true")
    args = parser.parse_args()
    bundle = load_bundle(args.model)
    warm_up(bundle)
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    if not args.no_ticks:
        print(f"tick {TICK_S} s of capture time per slice")
        print("| capture | packets | ticks | tick median ms | p95 ms | max ms | packets/s "
              "| alerts |")
        print("|---|--:|--:|--:|--:|--:|--:|--:|")
        for path in args.captures or DEFAULTS:
            print(bench_ticks(path, bundle), flush=True)
    if args.no_replay:
        return
    reason = _missing()
    if reason:
        print(f"replay ladder skipped: {reason}")
        return
    rates = [int(r) for r in args.rates.split(",")]
    for path in args.replay_capture or [FLOOD]:
        bench_replay(path, rates, bundle, args.rung_s)


if __name__ == "__main__":
    main()

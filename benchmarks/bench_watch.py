"""Cost of a live tick: captures fed to the live detector as tcpdump would feed them.

Each capture is cut into slices of TICK_S of capture time; each slice is fed
and judged (one tick), as ``twinai watch`` does every TICK_S. The table gives
the tick cost (median, p95, max) and the packet rate one CPU sustains.

    python3 benchmarks/bench_watch.py [--model BUNDLE] [CAPTURE ...]

Default captures: the shared nmap SYN scan and spoofed SYN flood.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from twinai.capture.reader import read_records
from twinai.folds.bundle import load_bundle
from twinai.live import LiveDetector, warm_up

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEFAULTS = [SHARED / "ndpi" / "synscan.pcap", SHARED / "stopddos" / "pkt.TCP.synflood.spoofed.pcap"]
TICK_S = 0.25


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


def bench(path: Path, bundle_dir: str | None) -> str:
    bundle = load_bundle(bundle_dir)
    warm_up(bundle)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("captures", nargs="*", type=Path, default=DEFAULTS)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    print(f"tick {TICK_S} s of capture time per slice")
    print("| capture | packets | ticks | tick median ms | p95 ms | max ms | packets/s | alerts |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|")
    for path in args.captures:
        print(bench(path, args.model))


if __name__ == "__main__":
    main()

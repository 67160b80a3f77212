"""Benchmark: ``meter_files`` against nfstream's bare metering on one large capture.

Builds ``bench-data/flows-bench.pcap`` (git-ignored) from the shared captures:
the StopDDoS spoofed SYN flood repeated with time shifts (the worst case for
per-flow engines: nearly every packet is its own flow) plus the Ethernet nDPI
samples, at least 200,000 packets. Each engine then runs in its own
subprocess, so that peak memory (max RSS) is its own: it first meters a tiny
capture (numba compiles or loads its cache; nfstream starts its meters), then
the timed run. Prints packets/s, flows/s and peak RSS.

Usage::

    python3 benchmarks/bench_flows.py [--repeat-flood 5] [--repeat-ndpi 4]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import dpkt

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
BENCH_DATA = REPO / "bench-data"
FLOOD = SHARED / "stopddos" / "pkt.TCP.synflood.spoofed.pcap"
WARMUP = SHARED / "ndpi" / "dns.pcap"
# Repetitions are placed this far apart (more than the 120 s idle timeout of
# both engines) so that copies never merge into one flow.
GAP_S = 600.0
MIN_PACKETS = 200_000


def _ethernet_pcaps() -> list[Path]:
    """Classic-pcap, Ethernet nDPI samples (dpkt's writer needs one link type)."""
    found = []
    for path in sorted(p for p in (SHARED / "ndpi").glob("*") if p.is_file()):
        with open(path, "rb") as handle:
            try:
                reader = dpkt.pcap.Reader(handle)
            except ValueError:
                continue  # pcapng
            if reader.datalink() == dpkt.pcap.DLT_EN10MB:
                found.append(path)
    return found


def build_capture(repeat_flood: int, repeat_ndpi: int) -> tuple[Path, int]:
    out = BENCH_DATA / f"flows-bench-f{repeat_flood}-n{repeat_ndpi}.pcap"
    sources = [FLOOD] * repeat_flood + _ethernet_pcaps() * repeat_ndpi
    BENCH_DATA.mkdir(exist_ok=True)
    count = 0
    offset = 0.0
    with open(out, "wb") as handle:
        writer = dpkt.pcap.Writer(handle, linktype=dpkt.pcap.DLT_EN10MB)
        for source in sources:
            with open(source, "rb") as src:
                packets = list(dpkt.pcap.Reader(src))
            start = min(ts for ts, _ in packets)
            end = max(ts for ts, _ in packets)
            for ts, frame in sorted(packets, key=lambda p: p[0]):
                writer.writepkt(frame, ts=1.7e9 + offset + (ts - start))
            count += len(packets)
            offset += (end - start) + GAP_S
    return out, count


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def run_twinai(path: Path) -> dict[str, float]:
    from twinai.flows.meter import MeterReport, meter_files

    meter_files([WARMUP])
    report = MeterReport()
    started = time.perf_counter()
    table = meter_files([path], report=report)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "packets": report.packets, "flows": table.height}


def run_nfstream(path: Path) -> dict[str, float]:
    from nfstream import NFStreamer

    def count(source: Path) -> int:
        streamer = NFStreamer(source=str(source), n_dissections=0,
                              statistical_analysis=False, n_meters=1)
        return sum(1 for _ in streamer)

    count(WARMUP)
    started = time.perf_counter()
    flows = count(path)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "packets": float("nan"), "flows": flows}


def run_cli(path: Path) -> dict[str, float]:
    """``twinai flows`` as a user runs it: start-up, metering and the Parquet write."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="twinai-bench-flows-") as tmp:
        argv = ["twinai", "flows", "--no-progress", "--out", f"{tmp}/flows.parquet"]
        subprocess.run([*argv[:-1], f"{tmp}/warm.parquet", str(WARMUP)], check=True,
                       capture_output=True)
        started = time.perf_counter()
        subprocess.run([*argv, str(path)], check=True, capture_output=True)
        seconds = time.perf_counter() - started
        import polars as pl

        flows = pl.scan_parquet(f"{tmp}/flows.parquet").select(pl.len()).collect().item()
    return {"seconds": seconds, "packets": float("nan"), "flows": flows}


ENGINES = {"twinai meter_files": run_twinai, "twinai flows (CLI, total)": run_cli,
           "nfstream (n_dissections=0)": run_nfstream}


def child(engine: str, path: Path) -> None:
    result = ENGINES[engine](path)
    result["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat-flood", type=int, default=5)
    parser.add_argument("--repeat-ndpi", type=int, default=4)
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return

    path, packets = build_capture(args.repeat_flood, args.repeat_ndpi)
    if packets < MIN_PACKETS:
        sys.exit(f"only {packets} packets; raise --repeat-flood")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC")
    print(f"capture: {path.relative_to(REPO)}, {packets:,} packets, "
          f"{path.stat().st_size / 1e6:.1f} MB")
    print(f"{'engine':<28} {'flows':>9} {'seconds':>8} {'packets/s':>11} "
          f"{'flows/s':>10} {'peak RSS MB':>12}")
    for engine in ENGINES:
        done = subprocess.run([sys.executable, __file__, "--child", engine, str(path)],
                              capture_output=True, text=True, check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        seconds = result["seconds"]
        print(f"{engine:<28} {result['flows']:>9,} {seconds:>8.2f} "
              f"{packets / seconds:>11,.0f} {result['flows'] / seconds:>10,.0f} "
              f"{result['peak_rss_mb']:>12.0f}")


if __name__ == "__main__":
    main()

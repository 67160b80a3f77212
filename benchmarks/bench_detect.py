"""Benchmark: ``twinai detect`` end to end on three captures of a million packets or more.

Builds under ``bench-data/`` (git-ignored), reproducibly, from the shared captures:

* ``flood-heavy``: the five StopDDoS captures repeated back to back;
* ``scan-heavy``: ``ndpi/synscan.pcap`` and the ESnet nmap captures repeated;
* ``benign-heavy``: the Ethernet nDPI samples (no scans, no floods) repeated.

Repetition ``k`` is shifted in time to follow the one before, and every IPv4
address except the kept ones (the flood victim, the scanners) has its second
octet XORed with ``k``, so that each repetition brings new hosts and flows, as
a longer attack would. Then, each in its own subprocess (so that peak RSS is
that run's; numba's cache is warmed first and compile time is not measured):

* ``detect`` end to end (capture -> flows -> features -> both folds -> alerts);
* the split by stage: read+decode, meter (flow state and windows), flow
  table (features), folds, alerts;
* nfstream's bare metering (``n_dissections=0``, ``statistical_analysis=False``,
  one meter) of the same file;
* inference alone: flows/s of each fold through the bundle (each distinct
  feature row scored once);
* training both folds (LightGBM, one core) on about a million labelled flows.

Suricata is not installed here, so it has no row. Usage::

    python3 benchmarks/bench_detect.py [--min-packets 1000000] [--skip-nfstream]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
BENCH_DATA = REPO / "bench-data"
WARMUP = SHARED / "ndpi" / "synscan.pcap"
sys.path.insert(0, str(REPO / "src"))

VICTIM = "10.10.10.10"
SCANNERS = ("172.16.0.8", "10.87.1.10")
FLOOD = ["stopddos/pkt.TCP.synflood.spoofed.pcap", "stopddos/amp.TCP.reflection.SYNACK.pcap",
         "stopddos/amp.TCP.syn.optionallyACK.optionallysamePort.pcapng",
         "stopddos/amp.UDP.snmp.src161.pcapng", "stopddos/amp.dns.RRSIG.fragmented.pcap"]
SCAN = ["ndpi/synscan.pcap", "esnet/attacks/scanners/nmap/nmap_80_all.pcap",
        "esnet/attacks/scanners/nmap/nmap_80_vanilla.pcap",
        "esnet/attacks/scanners/nmap/nmap_80_w_service_detection.pcap"]
# nDPI samples with no scan or flood in them (truth.json: category benign).
NOT_BENIGN = {"ndpi/synscan.pcap", "ndpi/tcp_scan.pcapng", "ndpi/bot.pcap", "ndpi/malware.pcap",
              "ndpi/rtsp.pcap"}
MIXES = {"flood-heavy": (FLOOD, (VICTIM,)), "scan-heavy": (SCAN, SCANNERS)}
# One second between repetitions: time moves forward, flows stay apart.
REPEAT_GAP_US = 1_000_000
# Longest silence kept inside a source: past both meters' idle timeout
# (120 s), so a flow that a silence ended stays ended.
MAX_GAP_US = 600_000_000
# Training mix (flows): the benign capture has only ~52k flows per million
# packets, so the flood and the scan make up the rest of about a million.
TRAIN_FLOOD_FLOWS, TRAIN_SCAN_FLOWS, TRAIN_BENIGN_FLOWS = 600_000, 350_000, 100_000
# Smaller captures of the same mixes, to see whether peak memory stays flat.
GROWTH_FRACTIONS = (0.25, 0.5)


def benign_sources() -> list[str]:
    truth = json.loads((SHARED / "truth.json").read_text())
    return [e["path"] for e in truth if e["kind"] == "pcap" and e["path"].startswith("ndpi/")
            and e["category"] == "benign" and e["path"] not in NOT_BENIGN]


# --- building the captures ------------------------------------------------------


def _capped_gaps(ts: np.ndarray) -> np.ndarray:
    """Sorted times with every silence longer than MAX_GAP_US shortened to it.

    Some nDPI samples span years (ssh.pcap: 400 million seconds between two
    packets); repeated, they would overflow the pcap header's 32-bit seconds
    and put the capture out of time order.
    """
    gaps = np.minimum(np.diff(ts), MAX_GAP_US)
    return np.concatenate([[0], np.cumsum(gaps)]) + ts[0]


def _unit(sources: list[str], keep: tuple[str, ...]) -> dict[str, Any]:
    """One repetition: frames of all sources, times from 0, where to rewrite addresses."""
    from twinai.capture.reader import read_records

    frames, times, positions = [], [], []
    cursor = 0
    kept = {int(ipaddress.IPv4Address(a)) for a in keep}
    for name in sources:
        records = read_records(SHARED / name)
        if len(records) == 0 or set(records.linktype.tolist()) != {1}:
            continue
        order = np.argsort(records.ts_us, kind="stable")
        ts = _capped_gaps(records.ts_us[order])
        for i in order:
            start, size = int(records.offset[i]), int(records.caplen[i])
            frames.append(records.buffer[start:start + size].tobytes())
        times.append(ts - ts[0] + cursor)
        cursor += int(ts[-1] - ts[0]) + REPEAT_GAP_US
    sizes = np.array([len(f) for f in frames], np.int64)
    blob = np.frombuffer(b"".join(frames), np.uint8)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    for start, size in zip(starts, sizes):
        # Ethernet + IPv4: second octet of each address not kept.
        if size >= 34 and blob[start + 12] == 0x08 and blob[start + 13] == 0x00:
            for at in (start + 26, start + 30):
                if int.from_bytes(blob[at:at + 4].tobytes(), "big") not in kept:
                    positions.append(at + 1)
    return {"blob": blob, "sizes": sizes, "times": np.concatenate(times),
            "xor_at": np.array(positions, np.int64), "span_us": cursor}


def build_capture(name: str, min_packets: int) -> tuple[Path, int]:
    out = BENCH_DATA / f"{name}-{min_packets}-v2.pcap"
    sources, keep = MIXES.get(name, (benign_sources(), ()))
    unit = _unit(sources, keep)
    reps = -(-min_packets // len(unit["sizes"]))
    packets = reps * len(unit["sizes"])
    if out.exists():
        return out, packets
    BENCH_DATA.mkdir(exist_ok=True)
    header = np.zeros((len(unit["sizes"]), 16), np.uint8)
    header[:, 8:12] = unit["sizes"].astype("<u4").view(np.uint8).reshape(-1, 4)
    header[:, 12:16] = header[:, 8:12]
    base_us = 1_700_000_000_000_000
    with open(out, "wb") as handle:
        handle.write(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
        for k in range(reps):
            ts = base_us + k * unit["span_us"] + unit["times"]
            header[:, 0:4] = (ts // 1_000_000).astype("<u4").view(np.uint8).reshape(-1, 4)
            header[:, 4:8] = (ts % 1_000_000).astype("<u4").view(np.uint8).reshape(-1, 4)
            blob = unit["blob"].copy()
            blob[unit["xor_at"]] ^= np.uint8(k % 255)
            ends = np.cumsum(unit["sizes"])
            pieces = np.split(blob, ends[:-1])
            handle.write(b"".join(h.tobytes() + p.tobytes() for h, p in zip(header, pieces)))
    return out, packets


# --- measurements, each in a child process ------------------------------------------


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _bundle_dir() -> Path:
    from twinai.folds.bundle import default_bundle_path

    if (default_bundle_path() / "bundle.json").exists():
        return default_bundle_path()
    return BENCH_DATA / "bench-bundle"


def train_fallback_bundle() -> str:
    """The shipped bundle, or one trained here from shared captures (as the fold tests do)."""
    import polars as pl

    from twinai.flows.meter import meter_files
    from twinai.folds.train import train_bundle

    path = _bundle_dir()
    if (path / "bundle.json").exists():
        return f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}"
    parts = []
    for name, label, column, host in [
            ("ndpi/synscan.pcap", "scan/tcp-syn", "src_ip", "172.16.0.8"),
            ("stopddos/pkt.TCP.synflood.spoofed.pcap", "ddos/tcp-syn", "dst_ip", VICTIM),
            ("stopddos/amp.UDP.snmp.src161.pcapng", "ddos/udp-amplification", "dst_ip", VICTIM),
            ("ndpi/iphone.pcap", "benign", None, None), ("ndpi/android.pcap", "benign", None, None)]:
        flows = meter_files([SHARED / name])
        tag = pl.lit(label) if column is None else pl.when(pl.col(column) == host).then(
            pl.lit(label)).otherwise(pl.lit("benign"))
        parts.append(flows.with_columns(tag.alias("label"), pl.lit(name).alias("run_id")))
    train_bundle(pl.concat(parts, how="diagonal_relaxed"), path, split="random")
    return f"{path.relative_to(REPO)} (trained here from shared captures)"


def run_detect(path: Path) -> dict[str, Any]:
    # The path `twinai detect CAPTURE` takes: flows streamed chunk by chunk
    # through the folds, only the evidence the rollup needs kept.
    from twinai.detect_stream import detect_streaming
    from twinai.folds.bundle import load_bundle

    bundle = load_bundle(_bundle_dir())
    detect_streaming([WARMUP], model=bundle)
    started = time.perf_counter()
    result = detect_streaming([path], model=bundle)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "flows": result.flows.height, "alerts": len(result.alerts),
            "packets": result.meter.packets if result.meter else 0,
            "stages": {k: v for k, v in result.seconds.items() if k != "load model"}}


def run_stages(path: Path) -> dict[str, Any]:
    """Seconds to read+decode, to meter (no table), and to build the flow table."""
    from twinai.flows.meter import MeterReport, StreamMeter, iter_packet_chunks, meter_files

    meter_files([WARMUP])
    started = time.perf_counter()
    for _ in iter_packet_chunks([path], MeterReport()):
        pass
    read = time.perf_counter() - started

    started = time.perf_counter()
    stream = StreamMeter()
    for packets in iter_packet_chunks([path], MeterReport()):
        stream.feed(packets)
    stream.finish()
    metered = time.perf_counter() - started

    started = time.perf_counter()
    meter_files([path])
    table = time.perf_counter() - started
    return {"read": read, "meter": metered - read, "features": table - metered}


def run_nfstream(path: Path) -> dict[str, Any]:
    from nfstream import NFStreamer

    def count(source: Path) -> int:
        streamer = NFStreamer(source=str(source), n_dissections=0, statistical_analysis=False,
                              n_meters=1)
        return sum(1 for _ in streamer)

    count(WARMUP)
    started = time.perf_counter()
    flows = count(path)
    return {"seconds": time.perf_counter() - started, "flows": flows}


def run_inference(path: Path) -> dict[str, Any]:
    """Flows/s of each fold through the bundle on the capture's flow table.

    Times the steps of ``ModelBundle.predict`` itself: the grouping shared by
    both folds (flows whose features fall between the same split thresholds
    of every model get the same scores, so each group is scored once), then
    each fold's score and attack type over the groups; and the whole
    ``predict`` call, spreading included.
    """
    from twinai.flows.meter import meter_files
    from twinai.folds.bundle import (
        FEATURE_SETS,
        FOLDS,
        _distinct_flows,
        _shown_types,
        choose_feature_set,
        feature_matrix,
        load_bundle,
    )

    bundle = load_bundle(_bundle_dir())
    flows = meter_files([path])
    feature_set = choose_feature_set(flows.columns)
    names = FEATURE_SETS[feature_set]
    bundle.predict(flows.head(1000), explain=False)  # thresholds read and cached

    started = time.perf_counter()
    first, inverse = _distinct_flows(flows, names, bundle._split_thresholds(feature_set))
    unique = feature_matrix(flows.select(names)[first], names)
    shared = time.perf_counter() - started
    out: dict[str, Any] = {"flows": flows.height, "distinct": int(unique.shape[0]),
                           "matrix_s": shared}
    for fold in FOLDS:
        model = bundle._fold(fold, feature_set)
        started = time.perf_counter()
        scores = model.predict_proba(unique)[:, 1]
        scored = time.perf_counter()
        _shown_types(model, unique, scores)
        out[fold] = time.perf_counter() - started
        out[f"{fold}_score_s"] = scored - started
        out[f"{fold}_type_s"] = out[fold] - out[f"{fold}_score_s"]
    started = time.perf_counter()
    bundle.predict(flows, explain=False)
    out["predict_s"] = time.perf_counter() - started
    return out


def run_training(paths: list[Path]) -> dict[str, Any]:
    """Fit both folds (LightGBM, one core, capture features) on ~1M labelled flows."""
    import polars as pl

    from twinai.flows.meter import meter_files
    from twinai.folds.bundle import FEATURE_SETS, feature_matrix
    from twinai.folds.estimators import FoldClassifier

    flood, scan, benign = (meter_files([p]) for p in paths)
    # About a million flows: most of the flood, much of the scan, all benign flows.
    flood = flood.head(TRAIN_FLOOD_FLOWS).with_columns(
        pl.when((pl.col("dst_ip") == VICTIM) | (pl.col("src_ip") == VICTIM))
        .then(pl.when(pl.col("protocol") == 17).then(pl.lit("ddos/udp-amplification"))
              .otherwise(pl.lit("ddos/tcp-syn")))
        .otherwise(pl.lit("benign")).alias("label"))
    scan = scan.head(TRAIN_SCAN_FLOWS).with_columns(
        pl.when(pl.col("src_ip").is_in(list(SCANNERS))).then(pl.lit("scan/tcp-syn"))
        .otherwise(pl.lit("benign")).alias("label"))
    benign = benign.head(TRAIN_BENIGN_FLOWS).with_columns(pl.lit("benign").alias("label"))
    table = pl.concat([flood, scan, benign])
    matrix = feature_matrix(table, FEATURE_SETS["capture"])
    labels = table["label"].to_numpy().astype(str)
    out: dict[str, Any] = {"flows": table.height}
    for family in ("scan", "ddos"):
        started = time.perf_counter()
        FoldClassifier(family=family, learner="lightgbm").fit(matrix, labels)
        out[family] = time.perf_counter() - started
    return out


RUNS = {"detect": run_detect, "stages": run_stages, "nfstream": run_nfstream,
        "inference": run_inference}


def child(kind: str, paths: list[str]) -> None:
    result = run_training([Path(p) for p in paths]) if kind == "training" else \
        RUNS[kind](Path(paths[0]))
    result["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(result))


def in_child(kind: str, *paths: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", kind, *map(str, paths)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{kind} run failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- the table --------------------------------------------------------------------


def print_growth(captures: dict[str, tuple[Path, int]], min_packets: int) -> None:
    """Peak RSS of detect on a quarter, a half and all of the flood and benign mixes."""
    print("peak RSS of detect as the capture grows:")
    for name in ("flood-heavy", "benign-heavy"):
        cells = []
        for fraction in GROWTH_FRACTIONS:
            path, packets = build_capture(name, int(min_packets * fraction))
            result = in_child("detect", path)
            cells.append(f"{packets:,} packets {result['peak_rss_mb']:.0f} MB")
        path, packets = captures[name]
        cells.append(f"{packets:,} packets {in_child('detect', path)['peak_rss_mb']:.0f} MB")
        print(f"  {name:<13} " + "; ".join(cells))



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-packets", type=int, default=1_000_000)
    parser.add_argument("--skip-nfstream", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1:])
        return

    print(f"date: {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC; "
          f"model bundle: {train_fallback_bundle()}")
    captures = {name: build_capture(name, args.min_packets)
                for name in ("flood-heavy", "scan-heavy", "benign-heavy")}
    print(f"{'capture':<13} {'run':<22} {'packets':>10} {'flows':>9} {'seconds':>8} "
          f"{'packets/s':>11} {'flows/s':>10} {'RSS MB':>7} {'vs nfstream':>11}")
    for name, (path, packets) in captures.items():
        detect = in_child("detect", path)
        nf = None if args.skip_nfstream else in_child("nfstream", path)
        stages = in_child("stages", path)
        rows = [("twinai detect", detect["flows"], detect["seconds"], detect["peak_rss_mb"])]
        if nf:
            rows.append(("nfstream n_dissections=0", nf["flows"], nf["seconds"],
                         nf["peak_rss_mb"]))
        for run, flows, seconds, rss in rows:
            ratio = f"{nf['seconds'] / seconds:.1f}x" if nf else "-"
            print(f"{name:<13} {run:<22} {packets:>10,} {flows:>9,} {seconds:>8.2f} "
                  f"{packets / seconds:>11,.0f} {flows / seconds:>10,.0f} {rss:>7.0f} "
                  f"{ratio if run.startswith('twinai') else '1.0x':>11}")
        split = {"read": stages["read"], "meter": stages["meter"],
                 "features": stages["features"], "folds": detect["stages"].get("folds", 0.0),
                 "alerts": detect["stages"].get("alerts", 0.0)}
        print(f"{'':<13} stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in split.items())
              + f"; detect alerts {detect['alerts']}")
    print("suricata: not installed on this machine; no figure")
    print_growth(captures, args.min_packets)

    flood_path = captures["flood-heavy"][0]
    inference = in_child("inference", flood_path)
    for fold in ("prevention", "detection"):
        seconds = inference[fold] + inference["matrix_s"]
        print(f"inference {fold:<10}: {inference['flows']:,} flows "
              f"({inference['distinct']:,} groups scored) in {seconds:.2f} s = "
              f"{inference['flows'] / seconds:,.0f} flows/s (grouping and group matrix "
              f"{inference['matrix_s']:.2f} s, score {inference[f'{fold}_score_s']:.2f} s, "
              f"attack type {inference[f'{fold}_type_s']:.2f} s)")
    print(f"bundle.predict, both folds: {inference['flows'] / inference['predict_s']:,.0f} flows/s")
    training = in_child("training", *(p for p, _ in captures.values()))
    print(f"training (LightGBM, one core, {training['flows']:,} flows): scan fold "
          f"{training['scan']:.1f} s, ddos fold {training['ddos']:.1f} s, both "
          f"{training['scan'] + training['ddos']:.1f} s; peak RSS {training['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()

"""The live path computes what the offline path computes, on a real interface.

A public nmap SYN scan is replayed frame by frame into a veth; ``Watch``
captures it on the other end, judging it tick by tick while it arrives, and
writes what it captured to a pcap. The flow table and verdicts it holds at
the end must equal ``meter_files`` and ``detect`` on that pcap.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import polars as pl
from watch_netns import LinkPair

from twinai.detect import detect
from twinai.flows.meter import meter_files
from twinai.folds.bundle import ModelBundle
from twinai.live import FLOW_KEY, LiveDetector, TcpdumpCapture, Watch, warm_up

HERE = Path(__file__).resolve().parent
REPLAY_RATE = 500  # frames/s: ~4 s for the capture, so a dozen ticks see it arrive
REPLAY_MAX = 2_500


def _run_watch(watch: Watch, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=watch.run, args=(stop,), kwargs={"duration_s": 60},
                              daemon=True)
    thread.start()
    assert watch.ready.wait(15), "tcpdump did not start listening"
    return thread


def test_live_table_and_verdicts_equal_offline_on_the_recorded_capture(
        link_pair: LinkPair, shared_data: Path, watch_bundle: ModelBundle,
        tmp_path: Path) -> None:
    recorded = tmp_path / "watched.pcap"
    warm_up(watch_bundle)
    detector = LiveDetector(watch_bundle)
    capture = TcpdumpCapture(link_pair.receiver_dev, netns=link_pair.receiver,
                             write_pcap=recorded)
    watch = Watch(capture, detector, tick_s=0.25)
    stop = threading.Event()
    thread = _run_watch(watch, stop)
    try:
        sent = subprocess.run(
            ["ip", "netns", "exec", link_pair.sender, sys.executable, str(HERE / "traffic.py"),
             "replay", str(shared_data / "ndpi" / "synscan.pcap"), link_pair.sender_dev,
             str(REPLAY_RATE), str(REPLAY_MAX)],
            capture_output=True, text=True, timeout=60, check=True)
    finally:
        stop.set()
        thread.join(30)

    assert int(sent.stdout) == 2011
    assert detector.stats().ticks >= 8, "the capture should have been judged while arriving"
    offline = meter_files([recorded])
    assert offline.height >= 1990  # the scan's 1,994 flows (plus any IPv6 chatter)

    live = detector.table
    assert live is not None
    keys = list(FLOW_KEY)
    assert live.sort(keys).equals(offline.sort(keys).select(live.columns))

    verdicts = detect([recorded], model=watch_bundle)
    offline_scores = pl.concat([verdicts.flows.select(keys), verdicts.predictions.select(
        "scan_score", "ddos_score")], how="horizontal")
    assert detector.evidence is not None
    joined = detector.evidence.join(offline_scores, on=keys, how="inner", suffix="_offline")
    assert joined.height == offline.height
    for column in ("scan_score", "ddos_score"):
        np.testing.assert_allclose(joined[column].to_numpy(),
                                   joined[f"{column}_offline"].to_numpy(), atol=1e-9)

    live_alerts = {(h.alert.fold, h.alert.src_ip if h.alert.fold == "prevention"
                    else h.alert.dest_ip) for h in detector.book.alerts.values()}
    offline_alerts = {(a.fold, a.src_ip if a.fold == "prevention" else a.dest_ip)
                      for a in verdicts.alerts}
    assert ("prevention", "172.16.0.8") in offline_alerts
    assert live_alerts == offline_alerts

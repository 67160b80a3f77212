"""Host context windows: exact counts on a hand-made history, and causality."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from twinai.capture.decode import PacketColumns
from twinai.features.windows import NEVER_US, HostEvents, window_features
from twinai.flows.meter import MeterReport, meter_packets, read_packets
from twinai.flows.schema import WINDOW_COLUMNS

S = 1_000_000  # microseconds


@pytest.fixture(scope="module")
def history() -> dict[str, np.ndarray]:
    """Host 0 opens three flows: to host 1 port 80, host 2 port 80, host 2 port 443.

    flow 0 starts 0.0 s, ends 0.1 s, answered at 0.05 s
    flow 1 starts 0.5 s, ends 3.0 s, answered at 2.5 s
    flow 2 starts 2.0 s, ends 2.0 s, never answered, reset at 2.0 s
    """
    src = np.array([0, 0, 0])
    dst = np.array([1, 2, 2])
    start = np.array([0, S // 2, 2 * S])
    end = np.array([S // 10, 3 * S, 2 * S])
    one = np.ones(3, np.int64)
    events = HostEvents.from_flows(src, dst, end, one, one, 40 * one, 40 * one, n_hosts=3)
    return window_features(
        src_host=src, dst_host=dst, dst_port=np.array([80, 80, 443]),
        start_us=start, t_us=end,
        reply_us=np.array([S // 20, 5 * S // 2, NEVER_US]),
        reset_us=np.array([NEVER_US, NEVER_US, 2 * S]),
        events=events,
    )


def test_ten_second_window_counts_flows_started_before_the_anchor(
        history: dict[str, np.ndarray]) -> None:
    assert history["src_w10s_flows"].tolist() == [1, 3, 3]
    assert history["src_w10s_dst_hosts"].tolist() == [1, 2, 2]
    assert history["src_w10s_dst_ports"].tolist() == [1, 2, 2]
    assert history["src_w10s_flow_rate"].tolist() == [0.1, 0.3, 0.3]


def test_a_reply_counts_only_once_it_has_arrived(history: dict[str, np.ndarray]) -> None:
    # At 2.0 s flow 1 is still waiting for its reply (it comes at 2.5 s).
    assert history["src_w10s_unanswered"].tolist() == [0, 1, 2]
    assert history["src_w10s_rst"].tolist() == [0, 1, 1]


def test_windows_are_half_open(history: dict[str, np.ndarray]) -> None:
    # (2.0 s, 3.0 s] holds no flow start: flow 2 began exactly 1 s before flow 1 ended.
    assert history["src_w1s_flows"].tolist() == [1, 0, 1]
    assert history["src_w1s_unanswered"].tolist() == [0, 0, 1]


def test_destination_windows_count_sources_and_received_packets(
        history: dict[str, np.ndarray]) -> None:
    assert history["dst_w10s_flows"].tolist() == [1, 2, 2]
    assert history["dst_w10s_src_hosts"].tolist() == [1, 1, 1]
    # Host 2 received one packet (flow 2's) by 2.0 s and two by 3.0 s.
    assert history["dst_w10s_pkt_rate"].tolist() == [0.1, 0.2, 0.1]
    assert history["dst_w10s_byte_rate"].tolist() == [4.0, 8.0, 4.0]


KEY = ["src_ip", "dst_ip", "src_port", "dst_port", "protocol", "vlan_id",
       "first_seen_us", "last_seen_us"]


@pytest.mark.parametrize("capture", [
    "ndpi/synscan.pcap", "ndpi/iphone.pcap", "ndpi/alexa-app.pcapng",
    "stopddos/amp.UDP.snmp.src161.pcapng",
])
@pytest.mark.parametrize("cut", [0.25, 0.5, 0.8])
def test_later_packets_never_change_the_windows_of_earlier_flows(
        shared_data: Path, capture: str, cut: float) -> None:
    packets = read_packets([shared_data / capture], MeterReport())
    t_cut = int(np.sort(packets.ts_us)[int(len(packets) * cut)])
    early: PacketColumns = packets.select(packets.ts_us <= t_cut)

    before = meter_packets(early)
    after = meter_packets(packets)

    # Flows complete before the cut appear in both with the same key and times.
    both = before.join(after, on=KEY, how="inner", suffix="_later")
    assert both.height >= 0.5 * before.height > 0
    changed = [c for c in WINDOW_COLUMNS
               if not both.select((pl.col(c) == pl.col(f"{c}_later")).all()).item()]
    assert changed == []

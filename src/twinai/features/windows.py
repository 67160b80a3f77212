"""Host context over sliding time windows: what makes a lone probe visible.

A single SYN to a closed port, or a single spoofed flood packet, looks like
nothing on its own. What gives it away is its host's recent history: the
source touched hundreds of ports in ten seconds, most got no answer; the
destination is receiving thousands of packets per second from everywhere.

Every statistic is computed *causally*: for a flow whose last packet came at
``t``, a window of ``W`` seconds covers the half-open interval ``(t - W, t]``
and uses only

* flows of the same host that *started* in that interval (their first packet
  is known by ``t`` whatever follows), judged as they stood at ``t``: a flow
  counts as unanswered when no reply had come by ``t``, as reset when a TCP
  reset had been seen by ``t``; and
* packets the host sent or received in that interval.

Nothing after ``t`` is used, so a live watcher that scores a flow at time
``t`` computes the same numbers as the offline pass, and appending traffic to
a capture never changes the windows of flows that had ended before it.

All statistics come out of sliding two-pointer passes over flows sorted by
(host, time), compiled with numba: linear in the number of flows.
"""

from __future__ import annotations

import numba
import numpy as np
import polars as pl

from twinai.flows.schema import (
    DST_WINDOW_STATS,
    SRC_WINDOW_STATS,
    WINDOW_SECONDS,
    window_column,
)

__all__ = ["HostEvents", "window_features", "dense_ids", "NEVER_US"]

# Time of an event that never happened (no reply, no reset): after every packet.
NEVER_US = np.iinfo(np.int64).max


class HostEvents:
    """Per-host traffic events for the rate statistics, sorted by (host, time).

    Each event says: at ``ts_us`` host ``host`` sent ``sent`` packets and
    received ``recv`` packets totalling ``recv_bytes`` IP bytes. Built from
    packets (one event per packet end) or, for flow logs that have no
    packets, from flows (the whole flow placed at its last packet).
    """

    def __init__(self, host: np.ndarray, ts_us: np.ndarray, sent: np.ndarray,
                 recv: np.ndarray, recv_bytes: np.ndarray, n_hosts: int) -> None:
        order = pl.DataFrame({"h": host, "t": ts_us}).select(
            pl.arg_sort_by(["h", "t"])).to_series().to_numpy()
        self.host = host[order]
        self.ts_us = ts_us[order]
        self.cum_sent = np.concatenate([[0], np.cumsum(sent[order], dtype=np.int64)])
        self.cum_recv = np.concatenate([[0], np.cumsum(recv[order], dtype=np.int64)])
        self.cum_bytes = np.concatenate([[0], np.cumsum(recv_bytes[order], dtype=np.int64)])
        self.start = np.searchsorted(self.host, np.arange(n_hosts), side="left")
        self.end = np.searchsorted(self.host, np.arange(n_hosts), side="right")

    @classmethod
    def from_packets(cls, src_host: np.ndarray, dst_host: np.ndarray, ts_us: np.ndarray,
                     ip_bytes: np.ndarray, n_hosts: int) -> "HostEvents":
        n = src_host.shape[0]
        one = np.ones(n, np.int64)
        zero = np.zeros(n, np.int64)
        return cls(
            host=np.concatenate([src_host, dst_host]),
            ts_us=np.concatenate([ts_us, ts_us]),
            sent=np.concatenate([one, zero]),
            recv=np.concatenate([zero, one]),
            recv_bytes=np.concatenate([zero, ip_bytes.astype(np.int64)]),
            n_hosts=n_hosts,
        )

    @classmethod
    def from_flows(cls, src_host: np.ndarray, dst_host: np.ndarray, last_us: np.ndarray,
                   orig_pkts: np.ndarray, resp_pkts: np.ndarray, orig_ip_bytes: np.ndarray,
                   resp_ip_bytes: np.ndarray, n_hosts: int) -> "HostEvents":
        return cls(
            host=np.concatenate([src_host, dst_host]),
            ts_us=np.concatenate([last_us, last_us]),
            sent=np.concatenate([orig_pkts, resp_pkts]).astype(np.int64),
            recv=np.concatenate([resp_pkts, orig_pkts]).astype(np.int64),
            recv_bytes=np.concatenate([resp_ip_bytes, orig_ip_bytes]).astype(np.int64),
            n_hosts=n_hosts,
        )


def dense_ids(*columns: np.ndarray) -> np.ndarray:
    """Number the distinct value combinations of the given columns 0..k-1."""
    frame = pl.DataFrame({f"c{i}": c for i, c in enumerate(columns)})
    ranks = frame.select(pl.struct(frame.columns).rank("dense")).to_series().to_numpy()
    return ranks.astype(np.int64) - 1


def window_features(src_host: np.ndarray, dst_host: np.ndarray, dst_port: np.ndarray,
                    start_us: np.ndarray, t_us: np.ndarray, reply_us: np.ndarray,
                    reset_us: np.ndarray, events: HostEvents) -> dict[str, np.ndarray]:
    """Every ``src_w*`` and ``dst_w*`` column for flows anchored at ``t_us``.

    ``start_us`` is each flow's first packet; ``reply_us`` and ``reset_us``
    the time of its first reply and first TCP reset, ``NEVER_US`` when none.
    """
    out: dict[str, np.ndarray] = {}
    src = _HostOrders(src_host, start_us, t_us, reply_us, reset_us)
    dst = _HostOrders(dst_host, start_us, t_us, reply_us, reset_us)
    pair_dst = dense_ids(src_host, dst_host)
    pair_port = dense_ids(src_host, dst_port)
    pair_src = dense_ids(dst_host, src_host)

    for seconds in WINDOW_SECONDS:
        width = np.int64(seconds * 1_000_000)
        flows, hosts, ports, answered, rst = src.slide(pair_dst, pair_port, width)
        sent, _, _ = _rates(src_host, t_us, events, width)
        values = (flows, hosts, ports, flows - answered, rst, flows / seconds, sent / seconds)
        for stat, value in zip(SRC_WINDOW_STATS, values):
            out[window_column("src", seconds, stat)] = value

        d_flows, d_hosts, _, _, _ = dst.slide(pair_src, pair_src, width)
        _, recv, recv_bytes = _rates(dst_host, t_us, events, width)
        values = (d_flows, d_hosts, recv / seconds, recv_bytes / seconds)
        for stat, value in zip(DST_WINDOW_STATS, values):
            out[window_column("dst", seconds, stat)] = value
    return out


class _HostOrders:
    """The four (host, time) orders one side's sliding windows walk together."""

    def __init__(self, host: np.ndarray, start_us: np.ndarray, t_us: np.ndarray,
                 reply_us: np.ndarray, reset_us: np.ndarray) -> None:
        self.host = host
        self.start_us = start_us
        self.t_us = t_us
        self.reply_us = reply_us
        self.reset_us = reset_us
        self.by_start = _host_time_order(host, start_us)
        self.by_end = _host_time_order(host, t_us)
        self.by_reply = _host_time_order(host, reply_us)
        self.by_reset = _host_time_order(host, reset_us)

    def slide(self, pair_a: np.ndarray, pair_b: np.ndarray,
              width: np.int64) -> tuple[np.ndarray, ...]:
        return _slide(self.by_start, self.by_end, self.by_reply, self.by_reset, self.host,
                      self.start_us, self.t_us, self.reply_us, self.reset_us,
                      pair_a, pair_b, width)


def _host_time_order(host: np.ndarray, t_us: np.ndarray) -> np.ndarray:
    frame = pl.DataFrame({"h": host, "t": t_us})
    order = frame.select(pl.arg_sort_by(["h", "t"], maintain_order=True)).to_series()
    return order.to_numpy().astype(np.int64)


@numba.njit(cache=True)
def _slide(by_start, by_end, by_reply, by_reset, host, start, t, reply, reset,  # type: ignore[no-untyped-def]
           pair_a, pair_b, width):
    """Sliding windows over one host's flows at a time.

    For each flow (in order of its anchor ``t``): 1. admit the host's flows
    that started by ``t``; 2. mark those answered or reset by ``t``; 3. drop
    those that started at or before ``t - width``, unmarking them; 4. read
    the counts: flows, distinct ``pair_a`` and ``pair_b`` values, answered
    and reset flows.
    """
    n = by_start.shape[0]
    flows = np.zeros(n, np.float64)
    distinct_a = np.zeros(n, np.float64)
    distinct_b = np.zeros(n, np.float64)
    answered = np.zeros(n, np.float64)
    resets = np.zeros(n, np.float64)
    count_a = np.zeros(pair_a.max() + 1 if n else 1, np.int32)
    count_b = np.zeros(pair_b.max() + 1 if n else 1, np.int32)
    inside = np.zeros(n, np.bool_)
    marked_reply = np.zeros(n, np.bool_)
    marked_reset = np.zeros(n, np.bool_)
    g0 = 0
    while g0 < n:
        g1 = g0
        while g1 < n and host[by_start[g1]] == host[by_start[g0]]:
            g1 += 1
        left = g0
        right = g0
        next_reply = g0
        next_reset = g0
        n_in = 0
        n_a = 0
        n_b = 0
        n_ans = 0
        n_rst = 0
        for k in range(g0, g1):
            i = by_end[k]
            now = t[i]
            while right < g1 and start[by_start[right]] <= now:
                j = by_start[right]
                inside[j] = True
                n_in += 1
                count_a[pair_a[j]] += 1
                if count_a[pair_a[j]] == 1:
                    n_a += 1
                count_b[pair_b[j]] += 1
                if count_b[pair_b[j]] == 1:
                    n_b += 1
                right += 1
            while next_reply < g1 and reply[by_reply[next_reply]] <= now:
                j = by_reply[next_reply]
                if inside[j]:
                    marked_reply[j] = True
                    n_ans += 1
                next_reply += 1
            while next_reset < g1 and reset[by_reset[next_reset]] <= now:
                j = by_reset[next_reset]
                if inside[j]:
                    marked_reset[j] = True
                    n_rst += 1
                next_reset += 1
            while left < right and start[by_start[left]] <= now - width:
                j = by_start[left]
                inside[j] = False
                n_in -= 1
                count_a[pair_a[j]] -= 1
                if count_a[pair_a[j]] == 0:
                    n_a -= 1
                count_b[pair_b[j]] -= 1
                if count_b[pair_b[j]] == 0:
                    n_b -= 1
                if marked_reply[j]:
                    n_ans -= 1
                if marked_reset[j]:
                    n_rst -= 1
                left += 1
            flows[i] = n_in
            distinct_a[i] = n_a
            distinct_b[i] = n_b
            answered[i] = n_ans
            resets[i] = n_rst
        for k in range(left, right):  # leave the counters clean for the next host
            j = by_start[k]
            count_a[pair_a[j]] -= 1
            count_b[pair_b[j]] -= 1
            inside[j] = False
        g0 = g1
    return flows, distinct_a, distinct_b, answered, resets


def _rates(host: np.ndarray, t_us: np.ndarray, events: HostEvents,
           width: np.int64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _count_events(host, t_us, events.ts_us, events.start, events.end,
                         events.cum_sent, events.cum_recv, events.cum_bytes, width)


@numba.njit(cache=True)
def _count_events(host, t, ev_ts, start, end, cum_sent, cum_recv, cum_bytes, width):  # type: ignore[no-untyped-def]
    """Packets sent, received and bytes received by each flow's host in (t-width, t]."""
    n = host.shape[0]
    sent = np.zeros(n, np.float64)
    recv = np.zeros(n, np.float64)
    recv_bytes = np.zeros(n, np.float64)
    for i in range(n):
        h = host[i]
        s = start[h]
        e = end[h]
        hi = s + np.searchsorted(ev_ts[s:e], t[i], side="right")
        lo = s + np.searchsorted(ev_ts[s:e], t[i] - width, side="right")
        sent[i] = cum_sent[hi] - cum_sent[lo]
        recv[i] = cum_recv[hi] - cum_recv[lo]
        recv_bytes[i] = cum_bytes[hi] - cum_bytes[lo]
    return sent, recv, recv_bytes

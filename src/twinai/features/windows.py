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


# --- streaming host windows ---------------------------------------------------
#
# The same statistics, kept up to date packet by packet for the streaming meter
# (twinai.flows.meter.StreamMeter). At any time T the state of a host's window
# of W seconds is a pure function of T: the flows that started in (T - W, T],
# judged as of T, and the packets in (T - W, T]. So a flow's windows can be
# read the moment its last packet has been seen, with nothing kept from before
# T - 60 s: memory is bounded by the traffic of the longest window.
#
# State lives in a few integer arrays (layouts below) so that numba compiles
# one tight loop and no Python object exists per host, flow or packet.
#
# Flow-start records (one per flow, in start order): linked into the list of
# its source host and the list of its destination host.
R_START, R_SRC, R_DST, R_PORT, R_MARK, R_NEXT_S, R_NEXT_D = range(7)
R_FIELDS = 7
# Packet events (one per packet end: the sender's and the receiver's), with
# the host's running totals just before the event.
E_TS, E_SENT0, E_RECV0, E_BYTES0, E_NEXT = range(5)
E_FIELDS = 5
# Host rows. Lags point at the oldest record or event still inside each
# window (absolute pool index, -1 when the window is empty).
H_LIVE, H_REFS, H_LAST, H_SENT, H_RECV, H_BYTES = range(6)
H_EV_TAIL = 6
H_EV_LAG = 7  # three windows
H_S_TAIL = 10
H_S_LAG = 11  # three windows
H_D_TAIL = 14
H_D_LAG = 15  # three windows
H_S_CNT = 18  # per window: flows, dst hosts, dst ports, answered, reset
H_D_CNT = 33  # per window: flows, src hosts
H_FIELDS = 39
# Pair kinds for the distinct counts: (source, destination host),
# (source, destination port), (destination, source host).
PAIR_DST_HOST, PAIR_DST_PORT, PAIR_SRC_HOST = 0, 1, 2
# Window snapshot kept per flow, per window: what the table needs.
SNAP_S_FLOWS, SNAP_S_HOSTS, SNAP_S_PORTS, SNAP_S_ANSWERED, SNAP_S_RST = range(5)
SNAP_SENT, SNAP_D_FLOWS, SNAP_D_HOSTS, SNAP_RECV, SNAP_RECV_BYTES = range(5, 10)
SNAP_FIELDS = 10
N_WINDOWS = len(WINDOW_SECONDS)
WINDOW_US = np.array([s * 1_000_000 for s in WINDOW_SECONDS], np.int64)
LONGEST_WINDOW_US = int(WINDOW_US.max())


@numba.njit(cache=True, inline="always")
def mix64(x):  # type: ignore[no-untyped-def]
    """A 64-bit finaliser (murmur3's): spreads keys over a power-of-two table."""
    x = np.uint64(x)
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xFF51AFD7ED558CCD)
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xC4CEB9FE1A85EC53)
    x ^= x >> np.uint64(33)
    return x


@numba.njit(cache=True, inline="always")
def _pair_key(kind, host, other):  # type: ignore[no-untyped-def]
    return (np.int64(kind) << 56) | (np.int64(host) << 28) | np.int64(other)


@numba.njit(cache=True)
def pair_slot(keys, counts, used, key):  # type: ignore[no-untyped-def]
    """Row of a pair in the table (one count per window), added when new.

    Returns (row, slots used).
    """
    mask = keys.shape[0] - 1
    p = np.int64(mix64(key) & np.uint64(mask))
    while True:
        k = keys[p]
        if k == key:
            return p, used
        if k < 0:
            keys[p] = key
            counts[p, :] = 0
            return p, used + 1
        p = (p + 1) & mask


@numba.njit(cache=True)
def pair_rebuild(keys, counts, new_keys, new_counts):  # type: ignore[no-untyped-def]
    """Copy the pairs still counted in some window into a fresh table; returns slots used."""
    used = 0
    for p in range(keys.shape[0]):
        if keys[p] < 0:
            continue
        if counts[p, 0] == 0 and counts[p, 1] == 0 and counts[p, 2] == 0:
            continue
        q, used = pair_slot(new_keys, new_counts, used, keys[p])
        new_counts[q, :] = counts[p, :]
    return used


@numba.njit(cache=True)
def admit_flow(hosts, rec, rec_base, r, pkeys, pcounts, used):  # type: ignore[no-untyped-def]
    """Link a new flow-start record into both hosts' lists and windows."""
    i = r - rec_base
    src = rec[i, R_SRC]
    dst = rec[i, R_DST]
    tail = hosts[src, H_S_TAIL]
    if tail >= rec_base:
        rec[tail - rec_base, R_NEXT_S] = r
    hosts[src, H_S_TAIL] = r
    tail = hosts[dst, H_D_TAIL]
    if tail >= rec_base:
        rec[tail - rec_base, R_NEXT_D] = r
    hosts[dst, H_D_TAIL] = r
    to_host, used = pair_slot(pkeys, pcounts, used, _pair_key(PAIR_DST_HOST, src, dst))
    to_port, used = pair_slot(pkeys, pcounts, used, _pair_key(PAIR_DST_PORT, src, rec[i, R_PORT]))
    from_host, used = pair_slot(pkeys, pcounts, used, _pair_key(PAIR_SRC_HOST, dst, src))
    for w in range(N_WINDOWS):
        if hosts[src, H_S_LAG + w] < 0:
            hosts[src, H_S_LAG + w] = r
        if hosts[dst, H_D_LAG + w] < 0:
            hosts[dst, H_D_LAG + w] = r
        s = H_S_CNT + 5 * w
        hosts[src, s] += 1
        pcounts[to_host, w] += 1
        if pcounts[to_host, w] == 1:
            hosts[src, s + 1] += 1
        pcounts[to_port, w] += 1
        if pcounts[to_port, w] == 1:
            hosts[src, s + 2] += 1
        d = H_D_CNT + 2 * w
        hosts[dst, d] += 1
        pcounts[from_host, w] += 1
        if pcounts[from_host, w] == 1:
            hosts[dst, d + 1] += 1
    return used


@numba.njit(cache=True)
def mark_flow(hosts, rec, rec_base, r, start_us, now, bit_shift, counter):  # type: ignore[no-untyped-def]
    """A flow got its first reply (counter 3) or reset (counter 4) at ``now``.

    Counted in each of its source's windows that still holds the flow, and
    remembered in the record so that leaving the window takes it back.
    """
    src = -1
    for w in range(N_WINDOWS):
        if start_us > now - WINDOW_US[w]:
            if src < 0:
                src = rec[r - rec_base, R_SRC]
            hosts[src, H_S_CNT + 5 * w + counter] += 1
            rec[r - rec_base, R_MARK] |= 1 << (bit_shift + w)


@numba.njit(cache=True)
def advance_host(hosts, h, now, rec, rec_base, ev, ev_base, pkeys, pcounts, used):  # type: ignore[no-untyped-def]
    """Drop from host ``h``'s windows the flows and packets at or before ``now - W``."""
    for w in range(N_WINDOWS):
        edge = now - WINDOW_US[w]
        r = hosts[h, H_S_LAG + w]
        s = H_S_CNT + 5 * w
        while r >= 0 and rec[r - rec_base, R_START] <= edge:
            i = r - rec_base
            hosts[h, s] -= 1
            p, used = pair_slot(pkeys, pcounts, used, _pair_key(PAIR_DST_HOST, h, rec[i, R_DST]))
            pcounts[p, w] -= 1
            if pcounts[p, w] == 0:
                hosts[h, s + 1] -= 1
            p, used = pair_slot(pkeys, pcounts, used, _pair_key(PAIR_DST_PORT, h, rec[i, R_PORT]))
            pcounts[p, w] -= 1
            if pcounts[p, w] == 0:
                hosts[h, s + 2] -= 1
            if rec[i, R_MARK] & (1 << w):
                hosts[h, s + 3] -= 1
            if rec[i, R_MARK] & (1 << (3 + w)):
                hosts[h, s + 4] -= 1
            r = rec[i, R_NEXT_S]
        hosts[h, H_S_LAG + w] = r

        r = hosts[h, H_D_LAG + w]
        d = H_D_CNT + 2 * w
        while r >= 0 and rec[r - rec_base, R_START] <= edge:
            i = r - rec_base
            hosts[h, d] -= 1
            p, used = pair_slot(pkeys, pcounts, used, _pair_key(PAIR_SRC_HOST, h, rec[i, R_SRC]))
            pcounts[p, w] -= 1
            if pcounts[p, w] == 0:
                hosts[h, d + 1] -= 1
            r = rec[i, R_NEXT_D]
        hosts[h, H_D_LAG + w] = r

        e = hosts[h, H_EV_LAG + w]
        while e >= 0 and ev[e - ev_base, E_TS] <= edge:
            e = ev[e - ev_base, E_NEXT]
        hosts[h, H_EV_LAG + w] = e
    return used


@numba.njit(cache=True)
def add_event(hosts, h, now, ev, ev_base, e, sent, recv, ip_bytes):  # type: ignore[no-untyped-def]
    """Record that host ``h`` sent or received a packet at ``now``."""
    i = e - ev_base
    ev[i, E_TS] = now
    ev[i, E_SENT0] = hosts[h, H_SENT]
    ev[i, E_RECV0] = hosts[h, H_RECV]
    ev[i, E_BYTES0] = hosts[h, H_BYTES]
    ev[i, E_NEXT] = -1
    hosts[h, H_SENT] += sent
    hosts[h, H_RECV] += recv
    hosts[h, H_BYTES] += ip_bytes
    tail = hosts[h, H_EV_TAIL]
    if tail >= ev_base:
        ev[tail - ev_base, E_NEXT] = e
    hosts[h, H_EV_TAIL] = e
    for w in range(N_WINDOWS):
        if hosts[h, H_EV_LAG + w] < 0:
            hosts[h, H_EV_LAG + w] = e
    hosts[h, H_LAST] = now


@numba.njit(cache=True)
def snapshot_windows(hosts, src, dst, ev, ev_base, out, base):  # type: ignore[no-untyped-def]
    """Write the windows of a flow from ``src`` to ``dst`` into ``out[base:]``.

    The hosts must have been advanced to the current time first.
    """
    for w in range(N_WINDOWS):
        o = base + SNAP_FIELDS * w
        s = H_S_CNT + 5 * w
        for k in range(5):
            out[o + k] = hosts[src, s + k]
        e = hosts[src, H_EV_LAG + w]
        out[o + SNAP_SENT] = hosts[src, H_SENT] - ev[e - ev_base, E_SENT0] if e >= 0 else 0
        d = H_D_CNT + 2 * w
        out[o + SNAP_D_FLOWS] = hosts[dst, d]
        out[o + SNAP_D_HOSTS] = hosts[dst, d + 1]
        e = hosts[dst, H_EV_LAG + w]
        if e >= 0:
            out[o + SNAP_RECV] = hosts[dst, H_RECV] - ev[e - ev_base, E_RECV0]
            out[o + SNAP_RECV_BYTES] = hosts[dst, H_BYTES] - ev[e - ev_base, E_BYTES0]
        else:
            out[o + SNAP_RECV] = 0
            out[o + SNAP_RECV_BYTES] = 0


def windows_from_snapshots(snap: np.ndarray) -> dict[str, np.ndarray]:
    """Every window column from per-flow snapshots (SNAP_FIELDS x windows rows,
    one column per flow).

    The arithmetic is that of :func:`window_features`, on the same counts,
    so the values are identical bit for bit.
    """
    out: dict[str, np.ndarray] = {}
    for w, seconds in enumerate(WINDOW_SECONDS):
        col = snap[SNAP_FIELDS * w:SNAP_FIELDS * (w + 1)].astype(np.float64)
        flows = col[SNAP_S_FLOWS]
        values = (flows, col[SNAP_S_HOSTS], col[SNAP_S_PORTS], flows - col[SNAP_S_ANSWERED],
                  col[SNAP_S_RST], flows / seconds, col[SNAP_SENT] / seconds)
        for stat, value in zip(SRC_WINDOW_STATS, values):
            out[window_column("src", seconds, stat)] = value
        values = (col[SNAP_D_FLOWS], col[SNAP_D_HOSTS], col[SNAP_RECV] / seconds,
                  col[SNAP_RECV_BYTES] / seconds)
        for stat, value in zip(DST_WINDOW_STATS, values):
            out[window_column("dst", seconds, stat)] = value
    return out

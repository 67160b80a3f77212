"""Turn the meter's per-flow accumulators into the flow table.

This is where raw sums become the named columns of :mod:`twinai.flows.schema`:
means and standard deviations, the Zeek connection view, the Zeek-style
connection state, the direction relative to the home network, and the host
context windows. No column may hold NaN or Infinity: divisions by a zero
duration or a zero count give 0.
"""

from __future__ import annotations

import ipaddress
import logging

import numpy as np
import polars as pl

from twinai.capture.decode import PacketColumns
from twinai.features.windows import (
    NEVER_US,
    HostEvents,
    dense_ids,
    window_features,
    windows_from_snapshots,
)
from twinai.flows import meter as m
from twinai.flows.direction import direction_of, in_networks, parse_home_net
from twinai.flows.meter import FlowArrays, FlowChunk
from twinai.flows.schema import (
    DIRECTIONS,
    EVIDENCE_COLUMNS,
    FLOW_STAT_COLUMNS,
    KEY_COLUMNS,
    UNIVERSAL_COLUMNS,
    WINDOW_COLUMNS,
)

__all__ = ["build_flow_table", "streamed_flow_table", "sort_flow_table", "format_addresses",
           "conn_states", "TABLE_COLUMNS", "ORDER_COLUMNS"]

log = logging.getLogger(__name__)

TABLE_COLUMNS = KEY_COLUMNS + EVIDENCE_COLUMNS + UNIVERSAL_COLUMNS + FLOW_STAT_COLUMNS + WINDOW_COLUMNS


def build_flow_table(arrays: FlowArrays, packets: PacketColumns, *,
                     home_net: list[str] | None = None) -> pl.DataFrame:
    """Assemble the flow table from metered accumulators and the packets."""
    acc = arrays.columns
    n = len(arrays)
    if n == 0:
        return empty_flow_table()
    first = acc["first_packet"]

    key = _key_columns(acc, packets, first, home_net)
    stats = _stat_columns(acc)
    evidence = _evidence_columns(acc, packets, first)
    windows = _window_columns(acc, packets, first, stats)

    frame = pl.DataFrame({**key, **evidence, **stats, **windows})
    frame = frame.sort(["first_seen_us", "flow_id"]).with_columns(
        pl.arange(0, n, dtype=pl.Int64).alias("flow_id"))
    return frame.select(TABLE_COLUMNS)


def empty_flow_table() -> pl.DataFrame:
    """A flow table with every column, typed as in a full one, and no rows."""
    schema: dict[str, pl.DataType] = {c: pl.Float64() for c in TABLE_COLUMNS}
    for c in ("src_ip", "dst_ip", "direction", "conn_state"):
        schema[c] = pl.Utf8()
    for c in ("src_port", "dst_port", "protocol", "vlan_id", "ip_version",
              "src_first_ttl", "src_first_tcp_flags"):
        schema[c] = pl.Int32()
    for c in ("flow_id", "first_seen_us", "last_seen_us", "first_reply_us",
              "src_first_tcp_seq", "src_first_ip_id"):
        schema[c] = pl.Int64()
    return pl.DataFrame(schema=schema)


def _key_columns(acc: dict[str, np.ndarray], packets: PacketColumns, first: np.ndarray,
                 home_net: list[str] | None) -> dict[str, np.ndarray | pl.Series]:
    src_hi, src_lo = packets.src_hi[first], packets.src_lo[first]
    dst_hi, dst_lo = packets.dst_hi[first], packets.dst_lo[first]
    nets = parse_home_net(home_net)
    direction = direction_of(in_networks(src_hi, src_lo, nets), in_networks(dst_hi, dst_lo, nets))
    return {
        "flow_id": np.arange(first.shape[0], dtype=np.int64),
        "src_ip": format_addresses(src_hi, src_lo),
        "dst_ip": format_addresses(dst_hi, dst_lo),
        "src_port": packets.src_port[first].astype(np.int32),
        "dst_port": packets.dst_port[first].astype(np.int32),
        "protocol": packets.protocol[first].astype(np.int32),
        "vlan_id": packets.vlan_id[first].astype(np.int32),
        "ip_version": packets.ip_version[first].astype(np.int32),
        "first_seen_us": acc["first_us"],
        "last_seen_us": acc["last_us"],
        "direction": pl.Series(direction, dtype=pl.Utf8),
    }


def format_addresses(hi: np.ndarray, lo: np.ndarray) -> pl.Series:
    """Text form of addresses held as uint64 halves (IPv4 mapped as ::ffff:a.b.c.d)."""
    is_v4 = (hi == 0) & ((lo >> np.uint64(32)) == np.uint64(0xFFFF))
    v4 = (lo & np.uint64(0xFFFFFFFF)).astype(np.int64)
    octets = pl.DataFrame({"v": v4}).select(
        pl.concat_str(
            [((pl.col("v") // (1 << s)) % 256).cast(pl.Utf8) for s in (24, 16, 8, 0)],
            separator=".",
        )
    ).to_series()
    if is_v4.all():
        return octets.alias("ip")
    text = octets.to_list()
    for i in np.flatnonzero(~is_v4):
        text[i] = str(ipaddress.IPv6Address((int(hi[i]) << 64) | int(lo[i])))
    return pl.Series("ip", text, dtype=pl.Utf8)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = num.astype(np.float64)
    den = den.astype(np.float64)
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _std(total: np.ndarray, sq: np.ndarray, count: np.ndarray) -> np.ndarray:
    mean = _safe_div(total, count)
    var = _safe_div(sq, count) - mean * mean
    return np.sqrt(np.clip(var, 0.0, None))


def _stat_columns(acc: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    duration = (acc["last_us"] - acc["first_us"]) / 1e6
    pf, pb = acc["pkts_f"], acc["pkts_b"]
    gaps_f = np.maximum(pf - 1, 0)
    gaps_b = np.maximum(pb - 1, 0)
    replied = pb > 0
    reply_delay = np.where(replied, (acc["first_reply_us"] - acc["first_us"]) / 1e6, 0.0)
    cols: dict[str, np.ndarray] = {
        "duration_s": duration,
        "orig_pkts": pf.astype(np.float64),
        "resp_pkts": pb.astype(np.float64),
        "orig_bytes": acc["payload_f"].astype(np.float64),
        "resp_bytes": acc["payload_b"].astype(np.float64),
        "orig_ip_bytes": acc["ip_bytes_f"].astype(np.float64),
        "resp_ip_bytes": acc["ip_bytes_b"].astype(np.float64),
        "missed_bytes": acc["missed"].astype(np.float64),
        "pkt_ratio": pf / np.maximum(pb, 1),
        "fwd_size_min": acc["size_min_f"].astype(np.float64),
        "fwd_size_max": acc["size_max_f"].astype(np.float64),
        "fwd_size_mean": _safe_div(acc["ip_bytes_f"], pf),
        "fwd_size_std": _std(acc["ip_bytes_f"], acc["size_sq_f"], pf),
        "bwd_size_min": acc["size_min_b"].astype(np.float64),
        "bwd_size_max": acc["size_max_b"].astype(np.float64),
        "bwd_size_mean": _safe_div(acc["ip_bytes_b"], pb),
        "bwd_size_std": _std(acc["ip_bytes_b"], acc["size_sq_b"], pb),
        "fwd_iat_mean_s": _safe_div(acc["iat_sum_f"], gaps_f),
        "fwd_iat_std_s": _std(acc["iat_sum_f"], acc["iat_sq_f"], gaps_f),
        "fwd_iat_max_s": acc["iat_max_f"],
        "bwd_iat_mean_s": _safe_div(acc["iat_sum_b"], gaps_b),
        "bwd_iat_std_s": _std(acc["iat_sum_b"], acc["iat_sq_b"], gaps_b),
        "bwd_iat_max_s": acc["iat_max_b"],
        "got_reply": replied.astype(np.float64),
        "reply_delay_s": reply_delay,
        "fwd_pkt_rate": _safe_div(pf, duration),
        "fwd_byte_rate": _safe_div(acc["ip_bytes_f"], duration),
    }
    for flag in ("syn", "ack", "fin", "rst", "psh", "urg"):
        cols[f"fwd_{flag}"] = acc[f"{flag}_f"].astype(np.float64)
        cols[f"bwd_{flag}"] = acc[f"{flag}_b"].astype(np.float64)
    return cols


def _evidence_columns(acc: dict[str, np.ndarray], packets: PacketColumns,
                      first: np.ndarray) -> dict[str, np.ndarray | pl.Series]:
    proto = packets.protocol[first]
    cols: dict[str, np.ndarray | pl.Series] = {
        "src_first_tcp_seq": np.where(proto == 6, packets.tcp_seq[first], 0).astype(np.int64),
        "src_first_ip_id": packets.ip_id[first].astype(np.int64),
        "src_first_ttl": packets.ttl[first].astype(np.int32),
        "src_first_tcp_flags": np.where(proto == 6, packets.tcp_flags[first], 0).astype(np.int32),
        "first_reply_us": pl.Series(acc["first_reply_us"]).replace(-1, None),
        "conn_state": pl.Series(conn_states(acc, proto), dtype=pl.Utf8),
        "is_tcp": (proto == 6).astype(np.float64),
        "is_udp": (proto == 17).astype(np.float64),
        "is_icmp": ((proto == 1) | (proto == 58)).astype(np.float64),
    }
    return cols


CONN_STATES = ("S0", "SF", "OTH", "SH", "RSTOS0", "REJ", "S1", "S2", "S3", "RSTR", "RSTO")


def conn_states(acc: dict[str, np.ndarray], proto: np.ndarray) -> np.ndarray:
    """Zeek-style connection state of each flow, from its TCP flag counts.

    S0 attempt, no reply; REJ attempt answered by a reset; SH / RSTOS0 the
    originator gave up (FIN / RST) before any SYN-ACK; S1 established; SF
    established and closed by both; S2 / S3 closed by one side only; RSTO /
    RSTR established then reset by originator / responder; OTH no SYN seen
    (midstream). Non-TCP: S0 without a reply, SF with one.
    """
    return np.array(CONN_STATES, dtype=object)[conn_state_codes(acc, proto)]


def conn_state_codes(acc: dict[str, np.ndarray], proto: np.ndarray) -> np.ndarray:
    """:func:`conn_states` as indices into CONN_STATES (later rules win)."""
    code = {name: np.uint8(k) for k, name in enumerate(CONN_STATES)}
    pb = acc["pkts_b"]
    syn_f = acc["syn_f"] > 0
    synack = acc["synack_b"] > 0
    rst_f, rst_b = acc["rst_f"] > 0, acc["rst_b"] > 0
    fin_f, fin_b = acc["fin_f"] > 0, acc["fin_b"] > 0
    state = np.where(pb > 0, code["SF"], code["S0"]).astype(np.uint8)
    tcp = proto == 6
    attempt = tcp & syn_f & ~synack
    est = tcp & syn_f & synack
    state[tcp & ~syn_f] = code["OTH"]
    state[attempt & (pb == 0)] = code["S0"]
    state[attempt & fin_f & (pb == 0)] = code["SH"]
    state[attempt & rst_f & (pb == 0)] = code["RSTOS0"]
    state[attempt & (pb > 0)] = code["OTH"]
    state[attempt & rst_b] = code["REJ"]
    state[est] = code["S1"]
    state[est & fin_f & fin_b] = code["SF"]
    state[est & fin_f & ~fin_b] = code["S2"]
    state[est & ~fin_f & fin_b] = code["S3"]
    state[est & rst_b] = code["RSTR"]
    state[est & rst_f] = code["RSTO"]
    return state


def _text(codes: np.ndarray, names: tuple[str, ...]) -> pl.Series:
    """Small-integer codes -> text, without a Python object per row."""
    return pl.Series(codes.astype(np.uint32)).replace_strict(
        list(range(len(names))), list(names), return_dtype=pl.Utf8)


def _window_columns(acc: dict[str, np.ndarray], packets: PacketColumns, first: np.ndarray,
                    stats: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Host ids for packets and flows, then the sliding host windows."""
    n_packets = len(packets)
    host_of = dense_ids(np.concatenate([packets.src_hi, packets.dst_hi]),
                        np.concatenate([packets.src_lo, packets.dst_lo]))
    pkt_src, pkt_dst = host_of[:n_packets], host_of[n_packets:]
    n_hosts = int(host_of.max()) + 1
    events = HostEvents.from_packets(pkt_src, pkt_dst, packets.ts_us, packets.ip_bytes, n_hosts)
    return window_features(
        src_host=pkt_src[first],
        dst_host=pkt_dst[first],
        dst_port=packets.dst_port[first].astype(np.int64),
        start_us=acc["first_us"],
        t_us=acc["last_us"],
        reply_us=_or_never(acc["first_reply_us"]),
        reset_us=_or_never(acc["first_rst_us"]),
        events=events,
    )


def _or_never(times_us: np.ndarray) -> np.ndarray:
    """The meter's -1 (no such event) as NEVER_US, after every real time."""
    return np.where(times_us < 0, NEVER_US, times_us)


# Hidden columns that put streamed flows in the offline order: by first
# packet time, then by the direction-free flow key as the offline meter sorts it.
ORDER_COLUMNS = ("_a_lo", "_b_lo", "_a_port", "_b_port", "_proto", "_a_hi", "_b_hi", "_vlan")

# Streamed flow rows -> the accumulator names of the offline meter.
_STREAM_ACC = {
    "first_us": m.F_FIRST, "last_us": m.F_LAST, "first_reply_us": m.F_REPLY,
    "first_rst_us": m.F_RST, "pkts_f": m.F_PKTS_F, "pkts_b": m.F_PKTS_B,
    "ip_bytes_f": m.F_IPB_F, "ip_bytes_b": m.F_IPB_B, "payload_f": m.F_PAY_F,
    "payload_b": m.F_PAY_B, "size_min_f": m.F_SMIN_F, "size_min_b": m.F_SMIN_B,
    "size_max_f": m.F_SMAX_F, "size_max_b": m.F_SMAX_B, "syn_f": m.F_SYN_F,
    "syn_b": m.F_SYN_B, "ack_f": m.F_ACK_F, "ack_b": m.F_ACK_B, "fin_f": m.F_FIN_F,
    "fin_b": m.F_FIN_B, "rst_f": m.F_RST_F, "rst_b": m.F_RST_B, "psh_f": m.F_PSH_F,
    "psh_b": m.F_PSH_B, "urg_f": m.F_URG_F, "urg_b": m.F_URG_B, "synack_b": m.F_SYNACK_B,
    "missed": m.F_MISSED,
}
_STREAM_SUMS = {
    "size_sq_f": m.G_SQ_F, "size_sq_b": m.G_SQ_B, "iat_sum_f": m.G_IAT_F,
    "iat_sum_b": m.G_IAT_B, "iat_sq_f": m.G_IATSQ_F, "iat_sq_b": m.G_IATSQ_B,
    "iat_max_f": m.G_IATMAX_F, "iat_max_b": m.G_IATMAX_B,
}


def streamed_flow_table(chunk: FlowChunk, *, home_net: list[str] | None = None,
                        order_columns: bool = True) -> pl.DataFrame:
    """The flow table of flows out of :class:`~twinai.flows.meter.StreamMeter`.

    Same columns and values as :func:`build_flow_table`; rows in no
    particular order, ``flow_id`` unset (-1). With ``order_columns`` the
    ORDER_COLUMNS are appended for :func:`sort_flow_table`.
    """
    if len(chunk) == 0:
        table = empty_flow_table()
        if order_columns:
            table = table.with_columns([pl.lit(0, pl.UInt64).alias(c) for c in ORDER_COLUMNS])
        return table
    # One transpose, so that every column below is a contiguous row.
    ints, sums, addr = chunk.ints.T.copy(), chunk.sums.T.copy(), chunk.addr.T.copy()
    acc = {name: ints[col] for name, col in _STREAM_ACC.items()}
    acc.update({name: sums[col] for name, col in _STREAM_SUMS.items()})
    proto = ints[m.F_PROTO]
    src_hi, src_lo = addr[m.A_SRC_HI], addr[m.A_SRC_LO]
    dst_hi, dst_lo = addr[m.A_DST_HI], addr[m.A_DST_LO]
    nets = parse_home_net(home_net)
    src_home, dst_home = in_networks(src_hi, src_lo, nets), in_networks(dst_hi, dst_lo, nets)
    # Codes into DIRECTIONS: inbound 0, outbound 1, internal 2, external 3.
    direction = np.where(src_home, np.where(dst_home, 2, 1), np.where(dst_home, 0, 3))
    key: dict[str, np.ndarray | pl.Series] = {
        "flow_id": np.full(len(chunk), -1, np.int64),
        "src_ip": format_addresses(src_hi, src_lo),
        "dst_ip": format_addresses(dst_hi, dst_lo),
        "src_port": ints[m.F_SPORT].astype(np.int32),
        "dst_port": ints[m.F_DPORT].astype(np.int32),
        "protocol": proto.astype(np.int32),
        "vlan_id": ints[m.F_VLAN].astype(np.int32),
        "ip_version": ints[m.F_IPVER].astype(np.int32),
        "first_seen_us": acc["first_us"],
        "last_seen_us": acc["last_us"],
        "direction": _text(direction, DIRECTIONS),
    }
    reply = acc["first_reply_us"]
    evidence: dict[str, np.ndarray | pl.Series] = {
        "src_first_tcp_seq": np.where(proto == 6, ints[m.F_SEQ0], 0).astype(np.int64),
        "src_first_ip_id": ints[m.F_IPID0].astype(np.int64),
        "src_first_ttl": ints[m.F_TTL0].astype(np.int32),
        "src_first_tcp_flags": np.where(proto == 6, ints[m.F_FLAGS0], 0).astype(np.int32),
        "first_reply_us": pl.Series(reply).set(pl.Series(reply < 0), None),
        "conn_state": _text(conn_state_codes(acc, proto), CONN_STATES),
        "is_tcp": (proto == 6).astype(np.float64),
        "is_udp": (proto == 17).astype(np.float64),
        "is_icmp": ((proto == 1) | (proto == 58)).astype(np.float64),
    }
    stats = _stat_columns(acc)
    windows = windows_from_snapshots(ints[m.F_SNAP:])
    frame = pl.DataFrame({**key, **evidence, **stats, **windows}).select(TABLE_COLUMNS)
    if order_columns:
        frame = frame.with_columns(_order_columns(src_hi, src_lo, dst_hi, dst_lo, ints))
    return frame


def _order_columns(src_hi: np.ndarray, src_lo: np.ndarray, dst_hi: np.ndarray,
                   dst_lo: np.ndarray, ints: np.ndarray) -> list[pl.Series]:
    sport, dport = ints[m.F_SPORT], ints[m.F_DPORT]
    a_is_src = m._endpoint_order(src_hi, src_lo, sport, dst_hi, dst_lo, dport)
    values = {
        "_a_lo": np.where(a_is_src, src_lo, dst_lo), "_b_lo": np.where(a_is_src, dst_lo, src_lo),
        "_a_port": np.where(a_is_src, sport, dport).astype(np.uint64),
        "_b_port": np.where(a_is_src, dport, sport).astype(np.uint64),
        "_proto": ints[m.F_PROTO].astype(np.uint64),
        "_a_hi": np.where(a_is_src, src_hi, dst_hi), "_b_hi": np.where(a_is_src, dst_hi, src_hi),
        "_vlan": ints[m.F_VLAN].astype(np.uint64),
    }
    return [pl.Series(name, values[name]) for name in ORDER_COLUMNS]


def sort_flow_table(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Streamed flow tables -> one table in the offline order, ``flow_id`` numbered."""
    if not parts:
        return empty_flow_table()
    table = pl.concat(parts, how="vertical", rechunk=False)
    order = _offline_order(table)
    table = table.drop(list(ORDER_COLUMNS))[order]
    return table.with_columns(pl.arange(0, table.height, dtype=pl.Int64).alias("flow_id"))


def _offline_order(table: pl.DataFrame) -> np.ndarray:
    """Row order by first packet time, ties broken by the flow key.

    Ties are rare (most flows start at distinct microseconds), so only the
    tied rows pay for the nine-key sort.
    """
    first = table["first_seen_us"].to_numpy()
    order = np.argsort(first, kind="stable")
    ranked = first[order]
    tied = np.zeros(ranked.shape[0], np.bool_)
    same = ranked[1:] == ranked[:-1]
    tied[1:] |= same
    tied[:-1] |= same
    if not tied.any():
        return order
    rows = order[tied]
    keys = [table[c].to_numpy()[rows] for c in reversed(ORDER_COLUMNS)]
    order[tied] = rows[np.lexsort(keys + [first[rows]])]
    return order

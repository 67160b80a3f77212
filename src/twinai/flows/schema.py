"""The flow table: one row per bidirectional flow, the contract between stages.

A flow's *source* (``src_*``) is the host that sent its first packet (the
originator, Zeek's ``orig``); its *destination* (``dst_*``) is the responder.
Columns fall in four groups, listed below:

* ``KEY_COLUMNS``      identify the flow (addresses, ports, times). Never features.
* ``UNIVERSAL_COLUMNS`` the Zeek ``conn.log`` view of a flow. Public datasets
  (CIC-IDS, IoT-23, Zeek logs) are mapped onto exactly these, so that models
  trained on them are comparable across datasets.
* ``FLOW_STAT_COLUMNS`` richer per-direction statistics that only captures give.
* ``WINDOW_COLUMNS``   host context over sliding time windows (see
  :mod:`twinai.features.windows`).

``docs/data-dictionary.md`` gives the unit and computation of every column.
"""

from __future__ import annotations

__all__ = [
    "KEY_COLUMNS",
    "EVIDENCE_COLUMNS",
    "UNIVERSAL_COLUMNS",
    "FLOW_STAT_COLUMNS",
    "WINDOW_SECONDS",
    "SRC_WINDOW_STATS",
    "DST_WINDOW_STATS",
    "WINDOW_COLUMNS",
    "window_column",
    "DIRECTIONS",
]

# Identity of a flow. Addresses are text (IPv4 dotted, IPv6 compressed).
KEY_COLUMNS = (
    "flow_id",  # int64, unique within one table
    "src_ip",
    "dst_ip",
    "src_port",  # 0 for ICMP and for non-first IP fragments
    "dst_port",
    "protocol",  # IANA protocol number: 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...
    "vlan_id",  # outermost 802.1Q tag, 0 when untagged
    "ip_version",  # 4 or 6
    "first_seen_us",  # int64 microseconds since the Unix epoch, UTC
    "last_seen_us",
    "direction",  # inbound | outbound | internal | external (see flows.direction)
)

# Facts kept for signatures and explanations, not for models: values that
# identify a tool rather than a behaviour (sequence numbers, IP ids, TTLs).
EVIDENCE_COLUMNS = (
    "src_first_tcp_seq",  # uint32 sequence number of the first packet (TCP), else 0
    "src_first_ip_id",  # IPv4 identification of the first packet, 0 for IPv6
    "src_first_ttl",  # TTL / hop limit of the first packet
    "src_first_tcp_flags",  # TCP flags byte of the first packet
    "first_reply_us",  # time of the responder's first packet, null when none
    "conn_state",  # Zeek-style connection state (S0, REJ, SF, ...), see flows.meter
)

# The Zeek conn.log view of a flow: what every public dataset can give.
UNIVERSAL_COLUMNS = (
    "duration_s",  # last_seen - first_seen, seconds; 0 for one-packet flows
    "orig_pkts",  # packets sent by the source
    "resp_pkts",  # packets sent by the destination
    "orig_bytes",  # transport payload bytes sent by the source
    "resp_bytes",
    "orig_ip_bytes",  # IP bytes (headers included) sent by the source
    "resp_ip_bytes",
    "missed_bytes",  # payload bytes lost to capture gaps (TCP sequence holes)
    "pkt_ratio",  # orig_pkts / max(resp_pkts, 1)
    "is_tcp",
    "is_udp",
    "is_icmp",
)

# Per-direction statistics of the packets of one flow ("fwd" = from the source).
FLOW_STAT_COLUMNS = (
    "fwd_size_min",  # IP bytes per packet
    "fwd_size_max",
    "fwd_size_mean",
    "fwd_size_std",
    "bwd_size_min",
    "bwd_size_max",
    "bwd_size_mean",
    "bwd_size_std",
    "fwd_iat_mean_s",  # inter-arrival time between packets of one direction
    "fwd_iat_std_s",
    "fwd_iat_max_s",
    "bwd_iat_mean_s",
    "bwd_iat_std_s",
    "bwd_iat_max_s",
    "fwd_syn",  # TCP flag counts per direction
    "fwd_ack",
    "fwd_fin",
    "fwd_rst",
    "fwd_psh",
    "fwd_urg",
    "bwd_syn",
    "bwd_ack",
    "bwd_fin",
    "bwd_rst",
    "bwd_psh",
    "bwd_urg",
    "got_reply",  # 1 when the destination sent anything back
    "reply_delay_s",  # first reply - first packet; 0 when no reply
    "fwd_pkt_rate",  # orig_pkts / duration, 0 for zero-length flows
    "fwd_byte_rate",  # orig_ip_bytes / duration
)

# Host context windows. 1 s sees the bursts of floods and fast scans; 10 s the
# usual nmap timing (T3/T4 probes come tens to hundreds per second); 60 s slow
# scans (T2 and Mirai-style sweeps that wait between targets).
WINDOW_SECONDS = (1, 10, 60)

# Statistics of the flow's source host over the window (t - W, t] ending at the
# flow's last packet t: from the flows that host originated that *started* in
# the window, each judged as it stood at t (see twinai.features.windows).
SRC_WINDOW_STATS = (
    "flows",  # flows the source originated
    "dst_hosts",  # distinct destination addresses among them
    "dst_ports",  # distinct destination ports among them
    "unanswered",  # of them, flows with no reply by t
    "rst",  # of them, flows with a TCP reset (either direction) by t
    "flow_rate",  # flows / window seconds
    "pkt_rate",  # packets the host sent (any flow) / window seconds
)

# Statistics of the flow's destination host over the same window.
DST_WINDOW_STATS = (
    "flows",  # flows that reached the destination
    "src_hosts",  # distinct sources among them
    "pkt_rate",  # packets the host received / window seconds
    "byte_rate",  # IP bytes the host received / window seconds
)


def window_column(side: str, seconds: int, stat: str) -> str:
    """Name of a window column, e.g. ``window_column("src", 10, "dst_ports")``
    gives ``src_w10s_dst_ports``."""
    return f"{side}_w{seconds}s_{stat}"


WINDOW_COLUMNS = tuple(
    [window_column("src", w, s) for w in WINDOW_SECONDS for s in SRC_WINDOW_STATS]
    + [window_column("dst", w, s) for w in WINDOW_SECONDS for s in DST_WINDOW_STATS]
)

DIRECTIONS = ("inbound", "outbound", "internal", "external")

"""Scanner fingerprints checked on the first packet of each flow.

Learned scores are probabilities; a fingerprint is a certainty. Some scanners
stamp their probes in ways no ordinary TCP stack does, and a match names the
scanner family outright:

* Mirai and its descendants set the TCP sequence number of each SYN probe to
  the target's IPv4 address (the scanner in the leaked Mirai source does this
  so that it can recognise replies without keeping state).
* ZMap sends every probe with IP identification 54321 unless told otherwise.
* masscan sets the IP identification to the low 16 bits of
  ``target address XOR target port XOR sequence number``.
* NULL, FIN and Xmas probes (nmap -sN/-sF/-sX and the like) open a
  "connection" with flag combinations that no TCP stack starts one with.
  They are less certain (one stray packet can look like this), so they need
  several flows from the same source before they count.

One behaviour is checked on the whole flow rather than its first packet: a
TCP handshake answered by the server and then reset by the client before
either side sent a byte. That is how a port scanner checks an open port (a
SYN scan's kernel reset, a connect scan's immediate close), and what no
client that wanted the service does. It needs three flows from one source:
the smallest nmap run (one port) already makes three, its discovery probes
of ports 80 and 443 and the probe itself.

One signature is evidence for fold 2, not fold 1: an *unsolicited SYN-ACK*,
a flow that opens with SYN|ACK, carries no payload, and whose destination
never joins a handshake (sends no SYN and no ACK; a kernel's RST to the stray
SYN-ACK is allowed). A server sends a SYN-ACK only to answer a SYN, so a
stream of them toward a host that sent none is reflection: an attacker
spoofed the victim's address in SYNs to many servers (or to one server that
retransmits for minutes). The rollup counts these packets per victim against
the flood threshold, however slowly they arrive, which the flow model, trained
on fast floods, cannot see.
"""

from __future__ import annotations

import numpy as np
import polars as pl

__all__ = ["SIGNATURES", "SIGNATURE_MIN_FLOWS", "FINGERPRINTS", "FLOOD_SIGNATURES",
           "match_signatures"]

ZMAP_IP_ID = 54321

# Flag bytes a TCP connection never starts with.
_NULL, _FIN, _XMAS = 0x00, 0x01, 0x29
_SYN_ONLY = 0x02
_FIN_FLAG, _SYN_FLAG, _RST_FLAG, _ACK_FLAG = 0x01, 0x02, 0x04, 0x10
# Flags that decide what a segment does to a connection; PSH, URG and the ECN
# bits (ECE, CWR: an ECN-setup SYN-ACK carries ECE) do not.
_CONTROL = _FIN_FLAG | _SYN_FLAG | _RST_FLAG | _ACK_FLAG

# Scanner signature name -> (scanner family, attack type reported in the alert).
SIGNATURES = {
    "mirai-seq-equals-target": ("mirai", "mirai-telnet-sweep"),
    "zmap-ip-id-54321": ("zmap", "zmap-sweep"),
    "masscan-ip-id": ("masscan", "masscan-sweep"),
    "tcp-null-probe": ("nmap-like", "tcp-null"),
    "tcp-fin-probe": ("nmap-like", "tcp-fin"),
    "tcp-xmas-probe": ("nmap-like", "tcp-xmas"),
    "tcp-handshake-then-reset": ("nmap-like", "tcp-open-port-probe"),
}

# The marks a scanner program writes into its probes' headers: certain enough
# to name a scanner even where fold 2 takes its flows for a flood. The other
# signatures describe a probe's behaviour, which a flood can share.
FINGERPRINTS = ("mirai-seq-equals-target", "zmap-ip-id-54321", "masscan-ip-id")

# How many matching flows of one source make a signature verdict. Mirai's
# mark has a chance of 2**-32 per random SYN: one flow is proof. The IP-id
# marks of ZMap and masscan match a random SYN once in 65,536, so a spoofed
# flood of 100k SYNs matches a few by chance, but two from the same source
# essentially never. Stealth-flag probes need two as well: a single odd packet
# is more often a broken stack or a middlebox than a scanner.
SIGNATURE_MIN_FLOWS = {
    "mirai-seq-equals-target": 1,
    "zmap-ip-id-54321": 2,
    "masscan-ip-id": 2,
    "tcp-null-probe": 2,
    "tcp-fin-probe": 2,
    "tcp-xmas-probe": 2,
    "tcp-handshake-then-reset": 3,
}

# Flood signature name -> attack type reported in the alert (fold 2). How many
# packets make a verdict is the flood threshold, MIN_FLOOD_PACKETS.
FLOOD_SIGNATURES = {
    "tcp-synack-unsolicited": "tcp-synack-reflection",
}

_REQUIRED = ("dst_ip", "dst_port", "protocol", "ip_version", "src_first_tcp_seq",
             "src_first_ip_id", "src_first_tcp_flags")


def _ipv4_int(text: pl.Series) -> np.ndarray:
    """Integer value of each IPv4 address; 0 for IPv6 or missing."""
    parts = text.fill_null("").str.split_exact(".", 3).struct.unnest()
    ints = [parts[c].cast(pl.Int64, strict=False).fill_null(-1).to_numpy() for c in parts.columns]
    value = (ints[0] << 24) | (ints[1] << 16) | (ints[2] << 8) | ints[3]
    valid = np.all([i >= 0 for i in ints], axis=0)
    return np.where(valid, value, -1)


def match_signatures(flows: pl.DataFrame) -> np.ndarray:
    """Name of the signature each flow's first packet matches, or None.

    Tables without first-packet evidence (flow logs) match nothing.
    """
    out = np.full(flows.height, None, dtype=object)
    if flows.height == 0 or not all(c in flows.columns for c in _REQUIRED):
        return out
    tcp = flows["protocol"].to_numpy() == 6
    flags = flows["src_first_tcp_flags"].fill_null(-1).to_numpy()
    seq = flows["src_first_tcp_seq"].fill_null(-1).to_numpy().astype(np.int64)
    ip_id = flows["src_first_ip_id"].fill_null(-1).to_numpy().astype(np.int64)
    v4 = flows["ip_version"].to_numpy() == 4
    target = _ipv4_int(flows["dst_ip"])
    port = flows["dst_port"].fill_null(0).to_numpy().astype(np.int64)
    syn = tcp & (flags == _SYN_ONLY)

    out[_unsolicited_synack(flows, tcp, flags)] = "tcp-synack-unsolicited"
    out[_handshake_then_reset(flows, tcp)] = "tcp-handshake-then-reset"
    out[tcp & (flags == _NULL)] = "tcp-null-probe"
    out[tcp & (flags == _FIN)] = "tcp-fin-probe"
    out[tcp & (flags == _XMAS)] = "tcp-xmas-probe"
    masscan_id = (target ^ port ^ seq) & 0xFFFF
    out[syn & v4 & (target > 0) & (ip_id == masscan_id) & (seq != target)] = "masscan-ip-id"
    out[syn & v4 & (ip_id == ZMAP_IP_ID)] = "zmap-ip-id-54321"
    out[syn & v4 & (target > 0) & (seq == target)] = "mirai-seq-equals-target"
    return out


def _unsolicited_synack(flows: pl.DataFrame, tcp: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """SYN-ACK-first flows without payload that the destination never joined."""
    needed = ("orig_bytes", "bwd_syn", "bwd_ack")
    if not all(c in flows.columns for c in needed):
        return np.zeros(flows.height, np.bool_)
    opens_with_synack = (flags >= 0) & ((flags & _CONTROL) == (_SYN_FLAG | _ACK_FLAG))
    no_payload = (flows["orig_bytes"].fill_null(1) == 0).to_numpy()
    never_joined = ((flows["bwd_syn"].fill_null(1) == 0)
                    & (flows["bwd_ack"].fill_null(1) == 0)).to_numpy()
    return tcp & opens_with_synack & no_payload & never_joined


def _handshake_then_reset(flows: pl.DataFrame, tcp: np.ndarray) -> np.ndarray:
    """Answered handshakes the client reset before any payload either way."""
    needed = ("conn_state", "orig_bytes", "resp_bytes")
    if not all(c in flows.columns for c in needed):
        return np.zeros(flows.height, np.bool_)
    reset_by_client = (flows["conn_state"] == "RSTO").fill_null(False).to_numpy()
    silent = ((flows["orig_bytes"].fill_null(1) == 0)
              & (flows["resp_bytes"].fill_null(1) == 0)).to_numpy()
    return tcp & reset_by_client & silent

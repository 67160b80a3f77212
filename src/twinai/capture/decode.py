"""Decode packet headers into columns with one compiled pass over a capture.

Every packet becomes one row of fixed-width arrays (:class:`PacketColumns`);
there is no Python object per packet. Addresses are held as two unsigned
64-bit halves of an IPv6 address, with IPv4 mapped into ``::ffff:0:0/96``, so
that both families share one flow key.

Link layers: Ethernet (with any stack of 802.1Q / 802.1ad / QinQ tags), Linux
cooked capture v1 (SLL) and v2 (SLL2), PPPoE sessions, raw IP (DLT 101, 228, 229, 12, 14), BSD
loopback (DLT 0 and 108). Network: IPv4 (fragments: ports are taken only from
the first fragment) and IPv6 with its extension header chain. Transport: TCP,
UDP, ICMP and ICMPv6 headers; other protocols are kept with ports 0.

Packets that cannot be used are not dropped silently: each gets a reason code
(``SKIP_*``) that the meter counts and reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from twinai.capture.reader import RecordTable

__all__ = [
    "PacketColumns",
    "decode_records",
    "SKIP_REASONS",
    "V4_MAPPED_HI",
    "V4_MAPPED_LO_PREFIX",
]

# Why a packet was not used (index into SKIP_REASONS); 0 = used.
OK = 0
SKIP_NON_IP = 1
SKIP_LINKTYPE = 2
SKIP_RUNT = 3
SKIP_BAD_IP = 4
SKIP_REASONS = (
    "ok",
    "not IP (ARP, LLDP, ...)",
    "unsupported link type",
    "runt frame (shorter than its headers)",
    "malformed IP header",
)

# IPv4 address a.b.c.d is held as hi = 0, lo = 0x0000_ffff_<a b c d>.
V4_MAPPED_HI = np.uint64(0)
V4_MAPPED_LO_PREFIX = np.uint64(0xFFFF00000000)

# Fragment state of a packet.
FRAG_NONE = 0
FRAG_FIRST = 1  # offset 0, more fragments follow: ports are valid
FRAG_LATER = 2  # offset > 0: no transport header, ports are 0


@dataclass
class PacketColumns:
    """Decoded headers, one array element per packet of the capture."""

    ts_us: np.ndarray  # int64
    src_hi: np.ndarray  # uint64
    src_lo: np.ndarray  # uint64
    dst_hi: np.ndarray
    dst_lo: np.ndarray
    src_port: np.ndarray  # uint16 (ICMP: 0)
    dst_port: np.ndarray
    protocol: np.ndarray  # uint8
    ip_version: np.ndarray  # uint8
    vlan_id: np.ndarray  # uint16, outermost tag
    ip_bytes: np.ndarray  # uint32, IP header + payload as on the wire
    payload_bytes: np.ndarray  # uint32, transport payload
    tcp_flags: np.ndarray  # uint8
    tcp_seq: np.ndarray  # uint32
    ip_id: np.ndarray  # uint32 (IPv6: 0)
    ttl: np.ndarray  # uint8
    fragment: np.ndarray  # uint8, FRAG_*
    icmp_type: np.ndarray  # uint8 (type of ICMP/ICMPv6; 0 otherwise)
    skip: np.ndarray  # uint8, OK or SKIP_*

    def __len__(self) -> int:
        return int(self.ts_us.shape[0])

    def select(self, mask: np.ndarray) -> "PacketColumns":
        """Rows where ``mask`` is true (a copy)."""
        return PacketColumns(**{k: v[mask] for k, v in self.__dict__.items()})

    @staticmethod
    def concat(parts: list["PacketColumns"]) -> "PacketColumns":
        if len(parts) == 1:
            return parts[0]
        names = PacketColumns.__dataclass_fields__.keys()
        return PacketColumns(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in names})


def decode_records(records: RecordTable) -> PacketColumns:
    """Decode every packet indexed in ``records``."""
    n = len(records)
    cols = PacketColumns(
        ts_us=records.ts_us.copy(),
        src_hi=np.zeros(n, np.uint64),
        src_lo=np.zeros(n, np.uint64),
        dst_hi=np.zeros(n, np.uint64),
        dst_lo=np.zeros(n, np.uint64),
        src_port=np.zeros(n, np.uint16),
        dst_port=np.zeros(n, np.uint16),
        protocol=np.zeros(n, np.uint8),
        ip_version=np.zeros(n, np.uint8),
        vlan_id=np.zeros(n, np.uint16),
        ip_bytes=np.zeros(n, np.uint32),
        payload_bytes=np.zeros(n, np.uint32),
        tcp_flags=np.zeros(n, np.uint8),
        tcp_seq=np.zeros(n, np.uint32),
        ip_id=np.zeros(n, np.uint32),
        ttl=np.zeros(n, np.uint8),
        fragment=np.zeros(n, np.uint8),
        icmp_type=np.zeros(n, np.uint8),
        skip=np.zeros(n, np.uint8),
    )
    _decode_all(
        records.buffer, records.offset, records.caplen, records.wirelen, records.linktype,
        cols.src_hi, cols.src_lo, cols.dst_hi, cols.dst_lo, cols.src_port, cols.dst_port,
        cols.protocol, cols.ip_version, cols.vlan_id, cols.ip_bytes, cols.payload_bytes,
        cols.tcp_flags, cols.tcp_seq, cols.ip_id, cols.ttl, cols.fragment, cols.icmp_type,
        cols.skip,
    )
    return cols


@numba.njit(cache=True, inline="always")
def _be16(buf, pos):  # type: ignore[no-untyped-def]
    return (np.int64(buf[pos]) << 8) | np.int64(buf[pos + 1])


@numba.njit(cache=True, inline="always")
def _be32(buf, pos):  # type: ignore[no-untyped-def]
    return (
        (np.int64(buf[pos]) << 24)
        | (np.int64(buf[pos + 1]) << 16)
        | (np.int64(buf[pos + 2]) << 8)
        | np.int64(buf[pos + 3])
    )


@numba.njit(cache=True, inline="always")
def _be64(buf, pos):  # type: ignore[no-untyped-def]
    value = np.uint64(0)
    for k in range(8):
        value = (value << np.uint64(8)) | np.uint64(buf[pos + k])
    return value


@numba.njit(cache=True)
def _network_start(buf, start, end, linktype):  # type: ignore[no-untyped-def]
    """Find the network header. Returns (position, ethertype-like code, vlan, skip).

    The code is 4 for IPv4, 6 for IPv6, 0 for anything else.
    """
    vlan = 0
    if linktype == 1:  # Ethernet
        if end - start < 14:
            return start, 0, vlan, SKIP_RUNT
        etype = _be16(buf, start + 12)
        pos = start + 14
    elif linktype == 113:  # Linux cooked v1: 16-byte header, protocol last
        if end - start < 16:
            return start, 0, vlan, SKIP_RUNT
        etype = _be16(buf, start + 14)
        pos = start + 16
    elif linktype == 276:  # Linux cooked v2: 20-byte header, protocol first
        if end - start < 20:
            return start, 0, vlan, SKIP_RUNT
        etype = _be16(buf, start)
        pos = start + 20
    elif linktype == 101 or linktype == 12 or linktype == 14 or linktype == 228 or linktype == 229:
        if end - start < 1:
            return start, 0, vlan, SKIP_RUNT
        version = buf[start] >> 4
        if version == 4:
            return start, 4, vlan, OK
        if version == 6:
            return start, 6, vlan, OK
        return start, 0, vlan, SKIP_BAD_IP
    elif linktype == 0 or linktype == 108:  # BSD loopback: 4-byte address family
        if end - start < 4:
            return start, 0, vlan, SKIP_RUNT
        if linktype == 108:
            family = _be32(buf, start)
        else:
            family = np.int64(buf[start]) | (np.int64(buf[start + 1]) << 8)
            if family == 0:  # written big-endian
                family = _be32(buf, start)
        if family == 2:
            return start + 4, 4, vlan, OK
        if family == 24 or family == 28 or family == 30:
            return start + 4, 6, vlan, OK
        return start, 0, vlan, SKIP_NON_IP
    else:
        return start, 0, vlan, SKIP_LINKTYPE

    # 802.1Q, 802.1ad and the old QinQ type: keep the outermost id.
    while etype == 0x8100 or etype == 0x88A8 or etype == 0x9100:
        if end - pos < 4:
            return start, 0, vlan, SKIP_RUNT
        if vlan == 0:
            vlan = _be16(buf, pos) & 0x0FFF
        etype = _be16(buf, pos + 2)
        pos += 4
    if etype == 0x8864:  # PPPoE session: 6-byte header, then the PPP protocol
        if end - pos < 8:
            return start, 0, vlan, SKIP_RUNT
        ppp = _be16(buf, pos + 6)
        pos += 8
        if ppp == 0x0021:
            return pos, 4, vlan, OK
        if ppp == 0x0057:
            return pos, 6, vlan, OK
        return pos, 0, vlan, SKIP_NON_IP
    if etype == 0x0800:
        return pos, 4, vlan, OK
    if etype == 0x86DD:
        return pos, 6, vlan, OK
    return pos, 0, vlan, SKIP_NON_IP


@numba.njit(cache=True)
def _decode_all(buf, offset, caplen, wirelen, linktype,  # type: ignore[no-untyped-def]
                src_hi, src_lo, dst_hi, dst_lo, src_port, dst_port, protocol,
                ip_version, vlan_id, ip_bytes, payload_bytes, tcp_flags, tcp_seq,
                ip_id, ttl, fragment, icmp_type, skip):
    for i in range(offset.shape[0]):
        start = offset[i]
        end = start + caplen[i]
        pos, family, vlan, reason = _network_start(buf, start, end, linktype[i])
        vlan_id[i] = vlan
        if reason != OK:
            skip[i] = reason
            continue
        if family == 4:
            reason = _decode_ipv4(buf, pos, end, start, wirelen[i], i, src_hi, src_lo,
                                  dst_hi, dst_lo, src_port, dst_port, protocol,
                                  ip_bytes, payload_bytes, tcp_flags, tcp_seq, ip_id,
                                  ttl, fragment, icmp_type)
            ip_version[i] = 4
        elif family == 6:
            reason = _decode_ipv6(buf, pos, end, i, src_hi, src_lo, dst_hi, dst_lo,
                                  src_port, dst_port, protocol, ip_bytes,
                                  payload_bytes, tcp_flags, tcp_seq, ttl, fragment,
                                  icmp_type)
            ip_version[i] = 6
        else:
            reason = SKIP_NON_IP
        skip[i] = reason


@numba.njit(cache=True)
def _decode_ipv4(buf, pos, end, frame_start, wire, i, src_hi, src_lo, dst_hi, dst_lo,  # type: ignore[no-untyped-def]
                 src_port, dst_port, protocol, ip_bytes, payload_bytes, tcp_flags,
                 tcp_seq, ip_id, ttl, fragment, icmp_type):
    if end - pos < 20:
        return SKIP_RUNT
    if buf[pos] >> 4 != 4:
        return SKIP_BAD_IP
    ihl = (buf[pos] & 0x0F) * 4
    if ihl < 20 or end - pos < ihl:
        return SKIP_BAD_IP
    total = _be16(buf, pos + 2)
    if total == 0:
        # Segmentation offload leaves 0 here; the frame length is the best we have.
        total = wire - (pos - frame_start)
    if total < ihl:
        return SKIP_BAD_IP
    frag = _be16(buf, pos + 6)
    frag_offset = frag & 0x1FFF
    more = (frag & 0x2000) != 0
    proto = buf[pos + 9]

    src_hi[i] = 0
    src_lo[i] = np.uint64(0xFFFF00000000) | np.uint64(_be32(buf, pos + 12))
    dst_hi[i] = 0
    dst_lo[i] = np.uint64(0xFFFF00000000) | np.uint64(_be32(buf, pos + 16))
    protocol[i] = proto
    ip_bytes[i] = total
    ip_id[i] = _be16(buf, pos + 4)
    ttl[i] = buf[pos + 8]
    l4_room = total - ihl
    if frag_offset > 0:
        fragment[i] = FRAG_LATER
        payload_bytes[i] = l4_room
        return OK
    fragment[i] = FRAG_FIRST if more else FRAG_NONE
    _decode_l4(buf, pos + ihl, end, l4_room, proto, i, src_port, dst_port,
               payload_bytes, tcp_flags, tcp_seq, icmp_type)
    return OK


@numba.njit(cache=True)
def _decode_ipv6(buf, pos, end, i, src_hi, src_lo, dst_hi, dst_lo, src_port,  # type: ignore[no-untyped-def]
                 dst_port, protocol, ip_bytes, payload_bytes, tcp_flags, tcp_seq,
                 ttl, fragment, icmp_type):
    if end - pos < 40:
        return SKIP_RUNT
    if buf[pos] >> 4 != 6:
        return SKIP_BAD_IP
    plen = _be16(buf, pos + 4)
    nxt = buf[pos + 6]
    ttl[i] = buf[pos + 7]
    src_hi[i] = _be64(buf, pos + 8)
    src_lo[i] = _be64(buf, pos + 16)
    dst_hi[i] = _be64(buf, pos + 24)
    dst_lo[i] = _be64(buf, pos + 32)
    ip_bytes[i] = 40 + plen

    # Walk the extension header chain to the transport header.
    cur = pos + 40
    room = plen
    later_fragment = False
    for _ in range(16):
        if nxt == 0 or nxt == 43 or nxt == 60 or nxt == 135 or nxt == 139 or nxt == 140:
            if end - cur < 2:
                break
            hlen = (np.int64(buf[cur + 1]) + 1) * 8
            nxt = buf[cur]
        elif nxt == 44:  # fragment header
            if end - cur < 8:
                break
            offset = _be16(buf, cur + 2) >> 3
            more = (buf[cur + 3] & 1) != 0
            if offset > 0:
                later_fragment = True
            elif more:
                fragment[i] = FRAG_FIRST
            hlen = 8
            nxt = buf[cur]
        elif nxt == 51:  # authentication header counts in 4-byte words
            if end - cur < 2:
                break
            hlen = (np.int64(buf[cur + 1]) + 2) * 4
            nxt = buf[cur]
        else:
            break
        cur += hlen
        room -= hlen
    protocol[i] = nxt
    if room < 0:
        room = 0
    if later_fragment:
        fragment[i] = FRAG_LATER
        payload_bytes[i] = room
        return OK
    _decode_l4(buf, cur, end, room, nxt, i, src_port, dst_port, payload_bytes,
               tcp_flags, tcp_seq, icmp_type)
    return OK


@numba.njit(cache=True)
def _decode_l4(buf, pos, end, room, proto, i, src_port, dst_port, payload_bytes,  # type: ignore[no-untyped-def]
               tcp_flags, tcp_seq, icmp_type):
    """Read the transport header. ``room`` is its length per the IP header.

    A header cut off by the capture's snap length keeps what could be read.
    """
    have = end - pos
    if proto == 6:
        if have >= 4:
            src_port[i] = _be16(buf, pos)
            dst_port[i] = _be16(buf, pos + 2)
        if have >= 14:
            tcp_seq[i] = _be32(buf, pos + 4)
            doff = (buf[pos + 12] >> 4) * 4
            tcp_flags[i] = buf[pos + 13]
            payload_bytes[i] = room - doff if room > doff else 0
    elif proto == 17 or proto == 136:  # UDP, UDP-Lite
        if have >= 4:
            src_port[i] = _be16(buf, pos)
            dst_port[i] = _be16(buf, pos + 2)
        payload_bytes[i] = room - 8 if room > 8 else 0
    elif proto == 1 or proto == 58:
        if have >= 1:
            icmp_type[i] = buf[pos]
        payload_bytes[i] = room - 8 if room > 8 else 0
    else:
        payload_bytes[i] = room if room > 0 else 0

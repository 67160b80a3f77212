"""Build small captures byte by byte for the bad-input tests.

Frames come from scapy (so checksums and lengths are right); the file
formats (classic pcap in either resolution, pcapng with any interfaces and
timestamp resolutions, Linux cooked headers) are written here with struct,
so that the tests control every byte the reader sees.
"""

from __future__ import annotations

import struct
from pathlib import Path

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Packet, Raw

__all__ = [
    "Record",
    "ether",
    "tcp4",
    "udp4",
    "sll",
    "sll2",
    "write_pcap",
    "write_pcapng",
    "ARP",
    "Dot1Q",
    "Ether",
    "ICMP",
    "IP",
    "TCP",
    "UDP",
    "Raw",
]

# (timestamp in nanoseconds since the epoch, frame bytes)
Record = tuple[int, bytes]

T0_NS = 1_700_000_000_000_000_000  # 2023-11-14 22:13:20 UTC, a whole second
MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"


def ether(l3: Packet, *vlans: int) -> bytes:
    """An Ethernet frame around ``l3``, with 802.1Q tags outermost first."""
    frame: Packet = Ether(src=MAC_A, dst=MAC_B)
    for vid in vlans:
        frame = frame / Dot1Q(vlan=vid)
    return bytes(frame / l3)


def tcp4(src: str, dst: str, sport: int, dport: int, flags: str = "S",
         payload: bytes = b"") -> Packet:
    packet = IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags, seq=1000)
    return packet / Raw(payload) if payload else packet


def udp4(src: str, dst: str, sport: int, dport: int, payload: bytes = b"x") -> Packet:
    return IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / Raw(payload)


def sll(l3: bytes, protocol: int = 0x0800) -> bytes:
    """Linux cooked v1 header (DLT 113): packet type, ARPHRD, address, protocol."""
    return struct.pack("!HHH8sH", 0, 1, 6, b"\x02\0\0\0\0\x0a\0\0", protocol) + l3


def sll2(l3: bytes, protocol: int = 0x0800) -> bytes:
    """Linux cooked v2 header (DLT 276): protocol first, then interface index."""
    return struct.pack("!HHIHBB8s", protocol, 0, 3, 1, 0, 6, b"\x02\0\0\0\0\x0a\0\0") + l3


def write_pcap(path: Path, records: list[Record], *, linktype: int = 1,
               nanos: bool = False, big_endian: bool = False) -> Path:
    """Classic pcap; ``nanos`` picks the nanosecond magic."""
    order = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    parts = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype)]
    for ts_ns, frame in records:
        sec, rest = divmod(ts_ns, 1_000_000_000)
        frac = rest if nanos else rest // 1000
        parts.append(struct.pack(order + "IIII", sec, frac, len(frame), len(frame)))
        parts.append(frame)
    path.write_bytes(b"".join(parts))
    return path


def _block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    size = 12 + len(body)
    return struct.pack("<II", btype, size) + body + struct.pack("<I", size)


def _ts_units(ts_ns: int, tsresol: int) -> int:
    if tsresol & 0x80:
        return (ts_ns << (tsresol & 0x7F)) // 1_000_000_000
    return ts_ns * 10**tsresol // 1_000_000_000


def write_pcapng(path: Path, interfaces: list[tuple[int, int]],
                 packets: list[tuple[int, int, bytes]]) -> Path:
    """pcapng with ``interfaces`` as (linktype, if_tsresol byte) and
    ``packets`` as (interface index, timestamp ns, frame) enhanced packet blocks."""
    blocks = [_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))]
    for linktype, tsresol in interfaces:
        options = struct.pack("<HHB3x", 9, 1, tsresol) + struct.pack("<HH", 0, 0)
        blocks.append(_block(1, struct.pack("<HHI", linktype, 0, 262144) + options))
    for iface, ts_ns, frame in packets:
        units = _ts_units(ts_ns, interfaces[iface][1])
        head = struct.pack("<IIIII", iface, units >> 32, units & 0xFFFFFFFF,
                           len(frame), len(frame))
        blocks.append(_block(6, head + frame))
    path.write_bytes(b"".join(blocks))
    return path

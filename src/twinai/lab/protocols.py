"""Small handwritten IoT protocol messages shared by devices, clients and attacks.

Only the bytes the lab needs: MQTT 3.1.1 control packets, CoAP GETs and
replies, DNS queries and answers, NTP client and mode-7 (monlist-shaped)
packets, SSDP searches and replies. Written by hand so that the lab needs no
protocol libraries and so that the amplification factors are explicit.
"""

from __future__ import annotations

import struct
import time

__all__ = [
    "DNS_A",
    "DNS_ANY",
    "REFLECTOR_PORTS",
    "SPOOF_PORT_RANGE",
    "coap_get",
    "coap_reply",
    "dns_query",
    "dns_reply",
    "mqtt_connect",
    "mqtt_publish",
    "mqtt_simple",
    "mqtt_split",
    "mqtt_subscribe",
    "ntp_client",
    "ntp_monlist_reply",
    "ntp_monlist_request",
    "ntp_reply",
    "ssdp_replies",
    "ssdp_search",
]

# Source ports given to spoofed reflection requests (the victim's side). Kept
# apart from the kernel's ephemeral range (32768-60999) used by benign clients,
# so that labels can tell a reflected answer from a benign one.
SPOOF_PORT_RANGE = (10000, 19999)
REFLECTOR_PORTS = {"dns": 53, "ntp": 123, "ssdp": 1900, "coap": 5683}

# --- MQTT 3.1.1 -------------------------------------------------------------

MQTT_CONNECT, MQTT_CONNACK, MQTT_PUBLISH = 0x10, 0x20, 0x30
MQTT_SUBSCRIBE, MQTT_SUBACK = 0x82, 0x90
MQTT_PINGREQ, MQTT_PINGRESP, MQTT_DISCONNECT = 0xC0, 0xD0, 0xE0


def _varint(length: int) -> bytes:
    """MQTT "remaining length": 7 bits a byte, high bit says more follow."""
    out = bytearray()
    while True:
        byte, length = length % 128, length // 128
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


def _utf8(text: str) -> bytes:
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def _mqtt(first: int, body: bytes) -> bytes:
    return bytes([first]) + _varint(len(body)) + body


def mqtt_connect(client_id: str, keepalive_s: int = 60) -> bytes:
    """CONNECT with a clean session and no credentials."""
    header = _utf8("MQTT") + bytes([4, 0x02]) + struct.pack("!H", keepalive_s)
    return _mqtt(MQTT_CONNECT, header + _utf8(client_id))


def mqtt_publish(topic: str, payload: bytes) -> bytes:
    """PUBLISH at QoS 0 (no packet id)."""
    return _mqtt(MQTT_PUBLISH, _utf8(topic) + payload)


def mqtt_subscribe(packet_id: int, topic: str) -> bytes:
    return _mqtt(MQTT_SUBSCRIBE, struct.pack("!H", packet_id) + _utf8(topic) + b"\x00")


def mqtt_simple(first: int) -> bytes:
    """A body-less packet: PINGREQ, PINGRESP, DISCONNECT."""
    return bytes([first, 0])


def mqtt_split(buffer: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Cut complete packets off a stream buffer: ([(first byte, body)], rest)."""
    packets: list[tuple[int, bytes]] = []
    while len(buffer) >= 2:
        length, shift, pos = 0, 0, 1
        while True:
            if pos >= len(buffer):
                return packets, buffer
            byte = buffer[pos]
            length += (byte & 0x7F) << shift
            shift, pos = shift + 7, pos + 1
            if not byte & 0x80:
                break
        if len(buffer) < pos + length:
            break
        packets.append((buffer[0], buffer[pos : pos + length]))
        buffer = buffer[pos + length :]
    return packets, buffer


# --- CoAP (RFC 7252) ----------------------------------------------------------

COAP_CON, COAP_ACK = 0, 2
COAP_GET, COAP_CONTENT = 0x01, 0x45
COAP_URI_PATH = 11


def coap_get(message_id: int, path: str, token: bytes = b"") -> bytes:
    """Confirmable GET of a path such as ``sensors/temp``."""
    header = bytes([0x40 | (COAP_CON << 4) | len(token), COAP_GET])
    out = bytearray(header + struct.pack("!H", message_id & 0xFFFF) + token)
    last = 0
    for segment in path.strip("/").split("/"):
        data = segment.encode()
        delta, last = COAP_URI_PATH - last, COAP_URI_PATH
        out.append((delta << 4) | min(len(data), 12))  # segments stay short
        out += data
    return bytes(out)


def coap_reply(request: bytes, payload: bytes) -> bytes | None:
    """Piggy-backed ACK 2.05 for a request; None when it is not CoAP."""
    if len(request) < 4 or request[0] >> 6 != 1:
        return None
    token_len = request[0] & 0x0F
    token = request[4 : 4 + token_len]
    header = bytes([0x40 | (COAP_ACK << 4) | token_len, COAP_CONTENT]) + request[2:4]
    return header + token + b"\xff" + payload


def coap_path(request: bytes) -> str:
    """The Uri-Path of a request, segments joined by '/' (short options only)."""
    pos = 4 + (request[0] & 0x0F)
    segments, number = [], 0
    while pos < len(request) and request[pos] != 0xFF:
        delta, length = request[pos] >> 4, request[pos] & 0x0F
        if delta > 12 or length > 12:
            break
        number += delta
        if number == COAP_URI_PATH:
            segments.append(
                request[pos + 1 : pos + 1 + length].decode(errors="replace")
            )
        pos += 1 + length
    return "/".join(segments)


# --- DNS ------------------------------------------------------------------------

DNS_A, DNS_TXT, DNS_ANY = 1, 16, 255


def _qname(name: str) -> bytes:
    return (
        b"".join(bytes([len(p)]) + p.encode() for p in name.strip(".").split("."))
        + b"\0"
    )


def dns_query(query_id: int, name: str, qtype: int = DNS_A) -> bytes:
    """A recursive query for one name; EDNS0 OPT added for ANY (large replies)."""
    additional = 1 if qtype == DNS_ANY else 0
    header = struct.pack("!HHHHHH", query_id & 0xFFFF, 0x0100, 1, 0, 0, additional)
    body = _qname(name) + struct.pack("!HH", qtype, 1)
    if additional:
        body += b"\0" + struct.pack("!HHIH", 41, 4096, 0, 0)
    return header + body


def dns_reply(query: bytes, address: str, txt_records: int) -> bytes | None:
    """Answer a query: an A record, or for ANY ``txt_records`` TXT strings too.

    The TXT strings give the reflector its amplification, as open resolvers
    answering ANY for large zones do.
    """
    if len(query) < 17:
        return None
    end = query.index(b"\0", 12) + 5
    question = query[12:end]
    qtype = struct.unpack("!H", query[end - 4 : end - 2])[0]
    answers = [
        struct.pack("!HHHIH", 0xC00C, DNS_A, 1, 300, 4)
        + bytes(int(x) for x in address.split("."))
    ]
    if qtype == DNS_ANY:
        text = b"v=lab1 " + b"k" * 200
        record = bytes([len(text)]) + text
        answers += [
            struct.pack("!HHHIH", 0xC00C, DNS_TXT, 1, 300, len(record)) + record
            for _ in range(txt_records)
        ]
    header = struct.pack(
        "!HHHHHH", struct.unpack("!H", query[:2])[0], 0x8180, 1, len(answers), 0, 0
    )
    return header + question + b"".join(answers)


# --- NTP ------------------------------------------------------------------------

NTP_EPOCH_OFFSET = 2208988800


def _ntp_now() -> bytes:
    now = time.time() + NTP_EPOCH_OFFSET
    return struct.pack("!II", int(now), int((now % 1) * 2**32))


def ntp_client() -> bytes:
    """SNTP v4 client request (mode 3) carrying its transmit time."""
    return bytes([0x23]) + bytes(39) + _ntp_now()


def ntp_reply(request: bytes) -> bytes | None:
    """Server reply (mode 4, stratum 2) to a mode-3 request."""
    if len(request) < 48 or request[0] & 0x07 != 3:
        return None
    now = _ntp_now()
    return (
        bytes([0x24, 2, 6, 0xEC])
        + bytes(8)
        + b"LAB\0"
        + now
        + request[40:48]
        + now
        + now
    )


def ntp_monlist_request() -> bytes:
    """Mode-7 MON_GETLIST_1 request, the classic NTP amplification probe."""
    return bytes([0x17, 0x00, 0x03, 0x2A]) + bytes(4) + bytes(40)


def ntp_monlist_reply(request: bytes, packets: int) -> list[bytes]:
    """Mode-7 replies of six 72-byte entries each, as old ntpd sent for monlist."""
    if len(request) < 4 or request[0] & 0x07 != 7:
        return []
    entry = bytes(range(72))
    return [
        bytes([0x97 if i < packets - 1 else 0x17, i, 0x03, 0x2A])
        + struct.pack("!HH", 6, 72)
        + entry * 6
        for i in range(packets)
    ]


# --- SSDP -----------------------------------------------------------------------


def ssdp_search(target: str = "ssdp:all") -> bytes:
    return (
        "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
        'MAN: "ssdp:discover"\r\nMX: 1\r\n'
        f"ST: {target}\r\n\r\n"
    ).encode()


def ssdp_replies(request: bytes, location: str, services: int) -> list[bytes]:
    """One reply per advertised service when the search asks for ``ssdp:all``."""
    if not request.startswith(b"M-SEARCH"):
        return []
    count = services if b"ssdp:all" in request else 1
    return [
        (
            f"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\n"
            f"LOCATION: {location}\r\nSERVER: Linux/4.9 UPnP/1.0 twl-lab/1.0\r\n"
            f"ST: urn:schemas-upnp-org:service:Lab{i}:1\r\n"
            f"USN: uuid:0000{i:04d}-7a6c-11ee-b962-0242ac120002::"
            f"urn:schemas-upnp-org:service:Lab{i}:1\r\n\r\n"
        ).encode()
        for i in range(count)
    ]

"""Emulated device services, run inside a lab namespace.

``python -m twinai.lab.services --listen http:80 --listen dns:53 ...`` serves
each named service on 0.0.0.0 until ``--seconds`` pass or it is terminated.
The services answer like small IoT firmware does: a camera web page and
firmware download, an RTSP OPTIONS answer, telnet and SSH banners, an MQTT
broker, CoAP resources, and DNS/NTP/SSDP responders whose larger answers make
them usable as reflectors.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import socket
import struct
from collections.abc import Callable

from twinai.lab import protocols as p

__all__ = ["SERVICES", "main"]

log = logging.getLogger(__name__)

# A device drops a connection that stays silent this long; bounds slow attacks.
IDLE_TIMEOUT_S = 20.0
FIRMWARE_BYTES = 48 * 1024
SNAPSHOT_BYTES = 12 * 1024
# Reflector amplification: DNS ANY ~ 25x, monlist ~ 40x, SSDP ssdp:all ~ 30x,
# CoAP /.well-known/core ~ 30x: in the range reported for real reflectors.
DNS_TXT_RECORDS = 6
NTP_MONLIST_PACKETS = 4
SSDP_SERVICES = 10
COAP_CORE = ",".join(
    f'</sensors/s{i}>;rt="temperature-c";if="sensor"' for i in range(24)
).encode()


async def _read_headers(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]]:
    line = (await asyncio.wait_for(reader.readline(), IDLE_TIMEOUT_S)).decode(
        errors="replace"
    )
    headers: dict[str, str] = {}
    while True:
        raw = await asyncio.wait_for(reader.readline(), IDLE_TIMEOUT_S)
        if raw in (b"\r\n", b"\n", b""):
            return line, headers
        key, _, value = raw.decode(errors="replace").partition(":")
        headers[key.strip().lower()] = value.strip()


async def _http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    line, headers = await _read_headers(reader)
    length = int(headers.get("content-length", "0") or 0)
    if length:
        await asyncio.wait_for(reader.readexactly(min(length, 1 << 20)), IDLE_TIMEOUT_S)
    path = line.split(" ")[1] if line.count(" ") >= 2 else "/"
    if path.startswith("/firmware"):
        body, kind = os.urandom(FIRMWARE_BYTES), "application/octet-stream"
    elif path.startswith("/snapshot"):
        body, kind = os.urandom(SNAPSHOT_BYTES), "image/jpeg"
    elif path.startswith("/status"):
        body, kind = (
            b'{"ok":true,"uptime":%d}' % random.randint(1, 10**6),
            "application/json",
        )
    else:
        body, kind = b"<html><title>IPCam</title><body>login</body></html>", "text/html"
    head = (
        f"HTTP/1.1 200 OK\r\nServer: lab-httpd/1.0\r\nContent-Type: {kind}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode() + body)


async def _rtsp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    _, headers = await _read_headers(reader)
    cseq = headers.get("cseq", "1")
    writer.write(
        f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n"
        "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n".encode()
    )


async def _telnet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"\xff\xfb\x01\xff\xfb\x03\r\nlab-cam login: ")
    for _ in range(3):
        if not await asyncio.wait_for(reader.readline(), IDLE_TIMEOUT_S):
            return
        writer.write(b"Password: ")
        if not await asyncio.wait_for(reader.readline(), IDLE_TIMEOUT_S):
            return
        writer.write(b"\r\nLogin incorrect\r\nlab-cam login: ")


async def _ssh(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An SSH-shaped exchange: banners, then echo opaque blocks back padded."""
    writer.write(b"SSH-2.0-dropbear_2019.78\r\n")
    await asyncio.wait_for(reader.readline(), IDLE_TIMEOUT_S)
    while True:
        block = await asyncio.wait_for(reader.read(4096), IDLE_TIMEOUT_S)
        if not block:
            return
        writer.write(os.urandom(len(block) + 32))
        await writer.drain()


class _Broker:
    """A QoS-0 MQTT broker: CONNECT, SUBSCRIBE, PUBLISH fan-out, PING."""

    def __init__(self) -> None:
        self.subscribers: dict[asyncio.StreamWriter, list[str]] = {}

    async def serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        buffer = b""
        self.subscribers[writer] = []
        try:
            while True:
                chunk = await asyncio.wait_for(reader.read(4096), 3 * IDLE_TIMEOUT_S)
                if not chunk:
                    return
                packets, buffer = p.mqtt_split(buffer + chunk)
                for first, body in packets:
                    self._handle(writer, first, body)
                await writer.drain()
        finally:
            self.subscribers.pop(writer, None)

    def _handle(self, writer: asyncio.StreamWriter, first: int, body: bytes) -> None:
        kind = first & 0xF0
        if kind == p.MQTT_CONNECT:
            writer.write(bytes([p.MQTT_CONNACK, 2, 0, 0]))
        elif kind == p.MQTT_SUBSCRIBE & 0xF0:
            topic_len = struct.unpack("!H", body[2:4])[0]
            self.subscribers[writer].append(
                body[4 : 4 + topic_len].decode(errors="replace")
            )
            writer.write(bytes([p.MQTT_SUBACK, 3]) + body[:2] + b"\x00")
        elif kind == p.MQTT_PUBLISH:
            topic_len = struct.unpack("!H", body[:2])[0]
            topic = body[2 : 2 + topic_len].decode(errors="replace")
            for other, topics in self.subscribers.items():
                if other is not writer and any(t in ("#", topic) for t in topics):
                    other.write(bytes([first]) + p._varint(len(body)) + body)
        elif kind == p.MQTT_PINGREQ:
            writer.write(p.mqtt_simple(p.MQTT_PINGRESP))


class _Datagram(asyncio.DatagramProtocol):
    """A UDP responder: ``answer(request)`` gives the datagrams to send back."""

    def __init__(self, answer: Callable[[bytes], list[bytes]]) -> None:
        self.answer = answer
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.transport is None:
            return
        for reply in self.answer(data):
            self.transport.sendto(reply, addr)


def _dns(request: bytes) -> list[bytes]:
    reply = p.dns_reply(request, "10.77.2.20", DNS_TXT_RECORDS)
    return [reply] if reply else []


def _ntp(request: bytes) -> list[bytes]:
    reply = p.ntp_reply(request)
    return [reply] if reply else p.ntp_monlist_reply(request, NTP_MONLIST_PACKETS)


def _coap(request: bytes) -> list[bytes]:
    path = p.coap_path(request) if len(request) >= 4 else ""
    payload = COAP_CORE if path.startswith(".well-known") else b"21.5"
    reply = p.coap_reply(request, payload)
    return [reply] if reply else []


def _ssdp(request: bytes) -> list[bytes]:
    return p.ssdp_replies(request, "http://10.77.1.11:80/desc.xml", SSDP_SERVICES)


TCP_SERVICES = {"http": _http, "rtsp": _rtsp, "telnet": _telnet, "ssh": _ssh}
UDP_SERVICES = {"dns": _dns, "ntp": _ntp, "coap": _coap, "ssdp": _ssdp}
SERVICES = tuple(sorted([*TCP_SERVICES, "mqtt", *UDP_SERVICES]))


def _guarded(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], object],
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], object]:
    """Wrap a TCP handler so that resets and timeouts just end the connection."""

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)  # type: ignore[misc]
            await writer.drain()
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    return run


async def _serve(specs: list[tuple[str, int]], seconds: float) -> None:
    loop = asyncio.get_running_loop()
    broker = _Broker()
    for name, port in specs:
        if name in TCP_SERVICES:
            await asyncio.start_server(
                _guarded(TCP_SERVICES[name]),
                "0.0.0.0",
                port,
                backlog=1024,
                reuse_address=True,
            )
        elif name == "mqtt":
            await asyncio.start_server(
                _guarded(broker.serve),
                "0.0.0.0",
                port,
                backlog=1024,
                reuse_address=True,
            )
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("0.0.0.0", port))
            answer = UDP_SERVICES[name]
            await loop.create_datagram_endpoint(
                lambda a=answer: _Datagram(a), sock=sock
            )
    await asyncio.sleep(seconds)


def parse_spec(spec: str) -> tuple[str, int]:
    """``http:80`` -> ("http", 80), refusing unknown services."""
    name, _, port = spec.partition(":")
    if name not in SERVICES or not port.isdigit():
        raise argparse.ArgumentTypeError(
            f"service must be NAME:PORT with NAME one of "
            f"{', '.join(SERVICES)}; got {spec!r}"
        )
    return name, int(port)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="twinai.lab.services")
    parser.add_argument("--listen", action="append", type=parse_spec, required=True)
    parser.add_argument("--seconds", type=float, default=3600.0)
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.listen, args.seconds))


if __name__ == "__main__":
    main()

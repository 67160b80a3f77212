"""Traffic for the watch tests, run inside a namespace (``ip netns exec NS python3 ...``).

Every mode is bounded in packets and seconds:

* ``replay PCAP IFACE RATE MAX``: send the frames of a classic pcap as they
  are on IFACE (AF_PACKET), at most MAX frames at RATE frames per second.
* ``broker PORT SECONDS LOG``: a TCP server that acknowledges each telemetry
  message with two bytes and appends its arrival time to LOG.
* ``telemetry HOST PORT INTERVAL SECONDS``: one TCP connection publishing a
  small MQTT-like message every INTERVAL seconds, reconnecting if cut.
* ``listen PORTS SECONDS``: TCP listeners (comma-separated ports) that
  accept and close.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time

# An MQTT PUBLISH to topic "t/1" with a 12-byte JSON-ish payload: the size and
# shape of a sensor's reading; only its regularity matters here.
MESSAGE = b"\x30\x11\x00\x03t/1" + b'{"temp":21.5}'[:12]


def replay(path: str, iface: str, rate: float, limit: int) -> None:
    data = open(path, "rb").read()
    if data[:4] != b"\xd4\xc3\xb2\xa1":
        raise SystemExit("replay needs a little-endian microsecond pcap")
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))
    pos, sent, started = 24, 0, time.monotonic()
    while pos + 16 <= len(data) and sent < limit:
        incl = struct.unpack_from("<I", data, pos + 8)[0]
        sock.send(data[pos + 16:pos + 16 + incl])
        sent += 1
        pos += 16 + incl
        delay = started + sent / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(sent)


def broker(port: int, seconds: float, log_path: str) -> None:
    server = socket.create_server(("0.0.0.0", port))
    server.settimeout(0.5)
    deadline = time.monotonic() + seconds
    with open(log_path, "a", buffering=1) as log:
        while time.monotonic() < deadline:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=_serve, args=(conn, log, deadline), daemon=True).start()


def _serve(conn: socket.socket, log: object, deadline: float) -> None:
    conn.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            chunk = conn.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            return
        if not chunk:
            return
        for _ in range(max(1, chunk.count(b"\x30\x11"))):
            log.write(f"{time.time():.6f}\n")  # type: ignore[attr-defined]
        conn.sendall(b"\x40\x02")


def telemetry(host: str, port: int, interval: float, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    conn: socket.socket | None = None
    while time.monotonic() < deadline:
        try:
            if conn is None:
                conn = socket.create_connection((host, port), timeout=1.0)
            conn.sendall(MESSAGE)
            conn.recv(16)
        except OSError:
            if conn is not None:
                conn.close()
            conn = None
        time.sleep(interval)


def listen(ports: str, seconds: float) -> None:
    servers = [socket.create_server(("0.0.0.0", int(p))) for p in ports.split(",")]
    for server in servers:
        server.settimeout(0.2)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for server in servers:
            try:
                server.accept()[0].close()
            except TimeoutError:
                pass


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "replay":
        replay(args[0], args[1], float(args[2]), int(args[3]))
    elif mode == "broker":
        broker(int(args[0]), float(args[1]), args[2])
    elif mode == "telemetry":
        telemetry(args[0], int(args[1]), float(args[2]), float(args[3]))
    elif mode == "listen":
        listen(args[0], float(args[1]))
    else:
        raise SystemExit(f"unknown mode {mode}")

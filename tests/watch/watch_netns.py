"""Network namespaces for the watch tests, always removed afterwards.

``link_pair``: two namespaces on one veth, for replaying a capture into an
interface. ``home_lab``: attacker -- isp -- router -- device, a home network
behind a router whose upstream (the isp) is not the attacker, so that the
block policy may block the attacker (it never blocks the home gateway).
Names carry the prefix ``tww`` and the test process id; addresses sit in
10.81.0.0/16, 192.168.81.0/24 and 198.18.81.0/24 (the sweep target,
blackholed at the isp).
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

_serial = itertools.count()
PREFIX = "tww"


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    for tool in ("ip", "nft", "tcpdump", "nmap", "hping3", "ping"):
        if shutil.which(tool) is None:
            return f"needs {tool} (apt-get install iproute2 nftables tcpdump nmap hping3)"
    name = f"{PREFIX}probe{os.getpid()}"
    done = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True,
                          check=False)
    subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    if done.returncode != 0:
        return f"cannot create a network namespace: {done.stderr.strip()}"
    return None


@pytest.fixture(scope="session")
def root_namespaces() -> None:
    """Skip, saying why, where namespaces cannot be made."""
    reason = _missing()
    if reason:
        pytest.skip(reason)


def sh(*argv: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=timeout)


def in_ns(ns: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return sh("ip", "netns", "exec", ns, *argv)


def _unique(role: str) -> str:
    return f"{PREFIX}{os.getpid() % 100000}{next(_serial)}{role}"


def _link(ns_a: str, ns_b: str, cidr_a: str, cidr_b: str) -> tuple[str, str]:
    """A veth between two namespaces, addressed and up; returns both names."""
    end_a, end_b = _unique("a"), _unique("b")
    sh("ip", "link", "add", end_a, "netns", ns_a, "type", "veth", "peer", "name", end_b,
       "netns", ns_b)
    for ns, end, cidr in ((ns_a, end_a, cidr_a), (ns_b, end_b, cidr_b)):
        if cidr:
            in_ns(ns, "ip", "addr", "add", cidr, "dev", end)
        in_ns(ns, "ip", "link", "set", end, "up")
        in_ns(ns, "ip", "link", "set", "lo", "up")
    return end_a, end_b


def _delete(names: list[str]) -> None:
    for name in names:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


@dataclass
class LinkPair:
    sender: str
    receiver: str
    sender_dev: str
    receiver_dev: str


@pytest.fixture
def link_pair(root_namespaces: None) -> Iterator[LinkPair]:
    """Two namespaces on one unaddressed veth (frames are replayed as they are)."""
    names = [_unique("s"), _unique("r")]
    try:
        for name in names:
            sh("ip", "netns", "add", name)
        sender_dev, receiver_dev = _link(names[0], names[1], "", "")
        yield LinkPair(names[0], names[1], sender_dev, receiver_dev)
    finally:
        _delete(names)


@dataclass
class HomeLab:
    """attacker -- isp -- router(wan | lan) -- device."""

    attacker: str
    isp: str
    router: str
    device: str
    router_wan: str
    device_dev: str
    attacker_ip: str = "10.81.1.2"
    isp_ip: str = "10.81.1.1"  # the telemetry broker lives here
    router_wan_ip: str = "10.81.0.2"
    device_ip: str = "192.168.81.10"
    home_net: str = "192.168.81.0/24"
    sweep_net: str = "198.18.81.0/24"

    @property
    def names(self) -> list[str]:
        return [self.attacker, self.isp, self.router, self.device]


@pytest.fixture
def home_lab(root_namespaces: None) -> Iterator[HomeLab]:
    with build_home_lab() as lab:
        yield lab


@contextmanager
def build_home_lab() -> Iterator[HomeLab]:
    """attacker -- isp -- router -- device, in fresh namespaces removed on exit."""
    names = [_unique("x"), _unique("i"), _unique("r"), _unique("d")]
    try:
        for name in names:
            sh("ip", "netns", "add", name)
        attacker, isp, router, device = names
        _link(attacker, isp, "10.81.1.2/24", "10.81.1.1/24")
        _, wan = _link(isp, router, "10.81.0.1/24", "10.81.0.2/24")
        _, device_dev = _link(router, device, "192.168.81.1/24", "192.168.81.10/24")
        lab = HomeLab(attacker, isp, router, device, router_wan=wan, device_dev=device_dev)
        for ns in (isp, router):
            in_ns(ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        in_ns(attacker, "ip", "route", "add", "default", "via", "10.81.1.1")
        in_ns(isp, "ip", "route", "add", lab.home_net, "via", "10.81.0.2")
        in_ns(isp, "ip", "route", "add", "blackhole", lab.sweep_net)
        in_ns(router, "ip", "route", "add", "default", "via", "10.81.0.1")
        in_ns(device, "ip", "route", "add", "default", "via", "192.168.81.1")
        yield lab
    finally:
        _delete(names)

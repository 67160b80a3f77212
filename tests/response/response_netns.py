"""Helpers that build and remove network namespaces for the response tests.

Every test that touches nftables does so inside namespaces created here, so
the host's own ruleset is never modified; the namespaces (and with them their
veths and nft tables) are deleted even when a test fails.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

_serial = itertools.count()


def _missing_for_namespaces() -> str | None:
    """Why namespace tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces and nft tables"
    for tool in ("nft", "ip", "ping"):
        if shutil.which(tool) is None:
            return f"needs {tool} (apt-get install nftables iproute2 iputils-ping)"
    return _probe_namespace()


def _probe_namespace() -> str | None:
    """Root in a container may still lack CAP_SYS_ADMIN for namespaces."""
    name = f"twprobe{os.getpid()}"
    done = subprocess.run(
        ["ip", "netns", "add", name], capture_output=True, text=True, check=False
    )
    subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    if done.returncode != 0:
        return f"cannot create a network namespace: {done.stderr.strip()}"
    return None


def sh(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run one command from an argument list, failing the test on error."""
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=20)


def in_ns(ns: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return sh("ip", "netns", "exec", ns, *argv)


def pings(ns: str, address: str) -> bool:
    """One echo request from ``ns`` with a one-second wait: True if answered."""
    done = subprocess.run(
        ["ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", "1", "-W", "1", address],
        capture_output=True,
        timeout=10,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture(scope="session")
def root_namespaces() -> None:
    """Skip, saying why, where namespaces and nft cannot be used."""
    reason = _missing_for_namespaces()
    if reason:
        pytest.skip(reason)


@dataclass
class NamespacePair:
    """``outside`` and ``host`` joined by one veth; nft acts in ``host``."""

    outside: str
    host: str
    outside_ip4: str = "10.77.0.1"
    host_ip4: str = "10.77.0.2"
    outside_ip6: str = "fd77::1"
    host_ip6: str = "fd77::2"


def _unique(prefix: str) -> str:
    return f"{prefix}{os.getpid() % 100000}{next(_serial)}"


def _delete_namespaces(names: list[str]) -> None:
    for name in names:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


def _link(ns_a: str, ns_b: str) -> tuple[str, str]:
    """Create a veth between two namespaces; return (name in a, name in b)."""
    end_a, end_b = _unique("tva"), _unique("tvb")
    veth = ["type", "veth", "peer", "name", end_b, "netns", ns_b]
    sh("ip", "link", "add", end_a, "netns", ns_a, *veth)
    for ns, end in ((ns_a, end_a), (ns_b, end_b)):
        in_ns(ns, "ip", "link", "set", end, "up")
        in_ns(ns, "ip", "link", "set", "lo", "up")
    return end_a, end_b


def _address(ns: str, dev: str, *cidrs: str) -> None:
    for cidr in cidrs:
        extra = ["nodad"] if ":" in cidr else []
        in_ns(ns, "ip", "addr", "add", cidr, "dev", dev, *extra)


@pytest.fixture
def pair(root_namespaces: None) -> Iterator[NamespacePair]:
    """Two namespaces on one link, IPv4 and IPv6."""
    names = [_unique("twro"), _unique("twrh")]
    try:
        for name in names:
            sh("ip", "netns", "add", name)
        net = NamespacePair(outside=names[0], host=names[1])
        out_dev, host_dev = _link(net.outside, net.host)
        _address(net.outside, out_dev, f"{net.outside_ip4}/24", f"{net.outside_ip6}/64")
        _address(net.host, host_dev, f"{net.host_ip4}/24", f"{net.host_ip6}/64")
        yield net
    finally:
        _delete_namespaces(names)


@dataclass
class RoutedHome:
    """``outside`` — ``router`` — ``device``: the router forwards between them."""

    outside: str
    router: str
    device: str
    outside_ip4: str = "10.78.0.1"
    router_wan_ip4: str = "10.78.0.2"
    router_lan_ip4: str = "192.168.78.1"
    device_ip4: str = "192.168.78.10"
    home_net: str = "192.168.78.0/24"


@pytest.fixture
def home(root_namespaces: None) -> Iterator[RoutedHome]:
    """A home network behind a router, with an outside host beyond it."""
    names = [_unique("twxo"), _unique("twxr"), _unique("twxd")]
    try:
        for name in names:
            sh("ip", "netns", "add", name)
        net = RoutedHome(outside=names[0], router=names[1], device=names[2])
        out_dev, wan_dev = _link(net.outside, net.router)
        lan_dev, dev_dev = _link(net.router, net.device)
        _address(net.outside, out_dev, f"{net.outside_ip4}/24")
        _address(net.router, wan_dev, f"{net.router_wan_ip4}/24")
        _address(net.router, lan_dev, f"{net.router_lan_ip4}/24")
        _address(net.device, dev_dev, f"{net.device_ip4}/24")
        in_ns(net.router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        in_ns(net.device, "ip", "route", "add", "default", "via", net.router_lan_ip4)
        in_ns(
            net.outside, "ip", "route", "add", net.home_net, "via", net.router_wan_ip4
        )
        yield net
    finally:
        _delete_namespaces(names)

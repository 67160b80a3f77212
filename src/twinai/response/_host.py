"""What the host itself is: its addresses and its default gateways.

The policy must never block the machine it runs on nor the way out of the home
network, and both are read fresh from the kernel (``ip -j``) of the namespace
the firewall acts in, not from configuration that can go stale.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from dataclasses import dataclass
from typing import Any

from twinai.errors import ResponseError
from twinai.response._firewall import IPAddress

__all__ = ["HostFacts", "read_host_facts"]

# `ip` answers from the kernel in milliseconds; longer means something hangs.
IP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class HostFacts:
    """Addresses that belong to this host, and its default gateways."""

    addresses: frozenset[IPAddress]
    gateways: frozenset[IPAddress]


def read_host_facts(netns: str | None = None) -> HostFacts:
    """Read the host's addresses and default gateways with ``ip -j``.

    Parameters
    ----------
    netns : str or None
        Read them inside this network namespace (``ip -n NAME``).

    Raises
    ------
    ResponseError
        When ``ip`` fails, e.g. for a namespace that does not exist.
    """
    addresses = frozenset(
        ipaddress.ip_address(info["local"])
        for link in _ip_json(netns, ["addr", "show"])
        for info in link.get("addr_info", [])
        if "local" in info
    )
    gateways = frozenset(
        ipaddress.ip_address(route["gateway"])
        for family in ("-4", "-6")
        for route in _ip_json(netns, [family, "route", "show", "default"])
        if "gateway" in route
    )
    return HostFacts(addresses=addresses, gateways=gateways)


def _ip_json(netns: str | None, args: list[str]) -> list[dict[str, Any]]:
    """Run ``ip -j [-n NETNS] ARGS`` and return its parsed output."""
    argv = ["ip", "-j", *(["-n", netns] if netns else []), *args]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=IP_TIMEOUT_S, check=False
        )
    except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
        raise ResponseError(
            f"cannot run {' '.join(argv)} ({exc}); install iproute2"
        ) from exc

    if done.returncode != 0:
        said = " ".join(done.stderr.split()) or "(no message)"
        raise ResponseError(
            f"{' '.join(argv)} failed with exit status {done.returncode}: {said}; "
            "check the namespace name with `ip netns list`"
        )
    parsed: list[dict[str, Any]] = json.loads(done.stdout or "[]")
    return parsed

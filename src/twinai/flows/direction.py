"""Where a flow runs relative to the defended (home) network.

``inbound``  outside source -> home destination (someone probes or floods us)
``outbound`` home source -> outside destination (one of ours scans or floods)
``internal`` both ends at home; ``external`` neither end at home.
"""

from __future__ import annotations

import ipaddress
import logging

import numpy as np

from twinai.errors import InputError

__all__ = ["PRIVATE_NETS", "parse_home_net", "in_networks", "direction_of"]

log = logging.getLogger(__name__)

# Without --home-net the private and link-local ranges are home: an IoT
# network sits behind NAT in private space in nearly every deployment.
PRIVATE_NETS = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "fc00::/7",
    "fe80::/10",
)

_MASK64 = (1 << 64) - 1


def parse_home_net(cidrs: list[str] | tuple[str, ...] | None) -> list[ipaddress._BaseNetwork]:
    """Parse CIDRs, naming the bad one. None or empty means PRIVATE_NETS."""
    chosen = list(cidrs) if cidrs else list(PRIVATE_NETS)
    nets = []
    for text in chosen:
        try:
            nets.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError as exc:
            raise InputError(f"--home-net {text!r} is not a network such as 192.168.1.0/24: {exc}") from exc
    return nets


def _as_v6_bounds(net: ipaddress._BaseNetwork) -> tuple[int, int, int, int]:
    """(hi, lo, mask_hi, mask_lo) of a network in the IPv4-mapped IPv6 space."""
    if net.version == 4:
        value = 0xFFFF00000000 | int(net.network_address)
        prefix = 96 + net.prefixlen
    else:
        value = int(net.network_address)
        prefix = net.prefixlen
    mask = ((1 << 128) - 1) ^ ((1 << (128 - prefix)) - 1)
    return value >> 64, value & _MASK64, mask >> 64, mask & _MASK64


def in_networks(hi: np.ndarray, lo: np.ndarray, nets: list[ipaddress._BaseNetwork]) -> np.ndarray:
    """Boolean mask: which addresses (as uint64 halves) fall in any of ``nets``."""
    inside = np.zeros(hi.shape[0], np.bool_)
    # IPv4 addresses are kept IPv4-mapped (::ffff:a.b.c.d); an IPv6 network
    # such as ::/0 holds that range too, but means IPv6 hosts only.
    v4 = (hi == np.uint64(0)) & ((lo >> np.uint64(32)) == np.uint64(0xFFFF))
    for net in nets:
        n_hi, n_lo, m_hi, m_lo = _as_v6_bounds(net)
        match = ((hi & np.uint64(m_hi)) == np.uint64(n_hi)) & (
            (lo & np.uint64(m_lo)) == np.uint64(n_lo)
        )
        if net.version == 6 and net.prefixlen < 96:
            match &= ~v4
        inside |= match
    return inside


def direction_of(src_home: np.ndarray, dst_home: np.ndarray) -> np.ndarray:
    """Direction label per flow from where each end lies."""
    out = np.full(src_home.shape[0], "external", dtype=object)
    out[~src_home & dst_home] = "inbound"
    out[src_home & ~dst_home] = "outbound"
    out[src_home & dst_home] = "internal"
    return out

"""Who may be blocked: the rules that stand between a verdict and the firewall.

A wrong block cuts a home off the internet or a device off its owner, so the
policy refuses whenever the address is one we must keep reachable or one the
attacker chose for us (a spoofed source).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from twinai.errors import InputError
from twinai.labels import FOLD_OF_FAMILY
from twinai.response._firewall import IPAddress, parse_ip
from twinai.response._host import HostFacts, read_host_facts

__all__ = [
    "DETECTION",
    "PREVENTION",
    "BlockDecision",
    "BlockPolicy",
    "BlockRequest",
    "parse_network",
]

log = logging.getLogger(__name__)

PREVENTION = FOLD_OF_FAMILY["scan"]
DETECTION = FOLD_OF_FAMILY["ddos"]
_FOLDS = (PREVENTION, DETECTION)

# Host addresses change rarely (DHCP renewals, a new interface); re-reading
# them every 30 s keeps the check current without an `ip` call per verdict.
HOST_FACTS_MAX_AGE_S = 30.0

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Direction = Literal["inbound", "outbound"]


def parse_network(value: str | Network) -> Network:
    """Return the network of a CIDR such as ``192.168.1.0/24`` (host bits allowed).

    Raises
    ------
    InputError
        When ``value`` is not an IPv4 or IPv6 network.
    """
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return value
    try:
        return ipaddress.ip_network(str(value).strip(), strict=False)
    except ValueError:
        raise InputError(
            f"a network must be a CIDR such as 192.168.1.0/24 or 2001:db8::/64, "
            f"got {value!r}"
        ) from None


@dataclass(frozen=True)
class BlockRequest:
    """A wish to block one address, from a verdict or from an operator.

    ``fold`` is ``"prevention"`` (a scanner), ``"detection"`` (a flood source)
    or None (an operator's own decision). ``spoofed`` is True when the verdict
    says the source address is forged.
    """

    ip: str | IPAddress
    reason: str
    fold: str | None = None
    spoofed: bool = False


@dataclass(frozen=True)
class BlockDecision:
    """The policy's answer: block or not, and why in words.

    ``direction`` is ``"inbound"`` for an address outside the home networks
    and ``"outbound"`` for a home device, which a block quarantines.
    """

    ip: IPAddress
    block: bool
    why: str
    direction: Direction


class BlockPolicy:
    """Decides whether a :class:`BlockRequest` may reach the firewall.

    Parameters
    ----------
    allow : iterable of CIDR
        Networks never blocked (``--allow``).
    home_nets : iterable of CIDR
        The home networks; a blocked address inside them is a quarantined
        device rather than an outside attacker.
    host : HostFacts or None
        The host's addresses and gateways; None reads them with ``ip -j`` in
        ``netns`` and re-reads them every ``HOST_FACTS_MAX_AGE_S`` seconds.
    netns : str or None
        Namespace whose addresses count as the host's own.

    Examples
    --------
    >>> facts = HostFacts(addresses=frozenset(), gateways=frozenset())
    >>> policy = BlockPolicy(allow=["10.9.0.0/16"], host=facts)
    >>> policy.decide(BlockRequest("10.9.1.1", "scan", PREVENTION)).why
    'refused: 10.9.1.1 is in the allow-list (10.9.0.0/16)'
    """

    def __init__(
        self,
        *,
        allow: Iterable[str | Network] = (),
        home_nets: Iterable[str | Network] = (),
        host: HostFacts | None = None,
        netns: str | None = None,
    ) -> None:
        self.allow = tuple(parse_network(net) for net in allow)
        self.home_nets = tuple(parse_network(net) for net in home_nets)
        self.netns = netns
        self._host = host
        self._host_fixed = host is not None
        self._host_read_at = float("-inf")

    def decide(self, request: BlockRequest) -> BlockDecision:
        """Return whether to block ``request.ip``, checking every refusal rule."""
        ip = parse_ip(request.ip)
        _check_fold(request.fold)
        direction: Direction = "outbound" if _within(ip, self.home_nets) else "inbound"

        refusal = self._refusal(ip, spoofed=request.spoofed)
        if refusal is not None:
            log.info("not blocking %s: %s", ip, refusal)
            return BlockDecision(ip, False, f"refused: {ip} {refusal}", direction)

        action = "quarantine home device" if direction == "outbound" else "block"
        return BlockDecision(ip, True, f"{action} {ip}: {request.reason}", direction)

    def host_facts(self) -> HostFacts:
        """The host's addresses and gateways, re-read when older than the limit."""
        stale = time.monotonic() - self._host_read_at > HOST_FACTS_MAX_AGE_S
        if self._host is None or (stale and not self._host_fixed):
            self._host = read_host_facts(self.netns)
            self._host_read_at = time.monotonic()
        return self._host

    def _refusal(self, ip: IPAddress, *, spoofed: bool) -> str | None:
        """Say why ``ip`` must not be blocked, or None when it may be."""
        if ip.is_loopback or ip.is_unspecified or ip.is_multicast or _is_broadcast(ip):
            return "is not a unicast host address"
        if spoofed:
            return "is a spoofed source: blocking it would punish the forged address"

        allowed_by = next((net for net in self.allow if ip in net), None)
        if allowed_by is not None:
            return f"is in the allow-list ({allowed_by})"

        facts = self.host_facts()
        if ip in facts.addresses:
            return "is an address of this host"
        if ip in facts.gateways:
            return "is the home gateway (a default route's next hop)"
        return None


def _check_fold(fold: str | None) -> None:
    if fold is not None and fold not in _FOLDS:
        raise InputError(
            f"fold must be one of {', '.join(_FOLDS)} or None (operator), got {fold!r}"
        )


def _within(ip: IPAddress, networks: tuple[Network, ...]) -> bool:
    return any(ip in net for net in networks)


def _is_broadcast(ip: IPAddress) -> bool:
    return ip == ipaddress.IPv4Address("255.255.255.255")

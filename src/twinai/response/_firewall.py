"""The firewall seam: a small base class and the dry-run backend.

The live loop and the operator command talk to a :class:`Firewall`, never to
nftables directly, so that a run without ``--enforce`` goes through the same
code and only the backend differs.
"""

from __future__ import annotations

import abc
import ipaddress
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from twinai.errors import InputError
from twinai.response._duration import check_ttl

__all__ = [
    "BlockEntry",
    "BlockResult",
    "DryRunFirewall",
    "Firewall",
    "IPAddress",
    "parse_ip",
]

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# nft keeps at most 128 bytes of comment per set element; the full reason
# always goes to the audit log.
MAX_COMMENT_BYTES = 128


def parse_ip(value: str | IPAddress) -> IPAddress:
    """Return one host address; IPv4-mapped IPv6 becomes plain IPv4.

    Raises
    ------
    InputError
        When ``value`` is not a single IPv4 or IPv6 address (a network such as
        ``10.0.0.0/24`` is refused: the block sets hold host addresses only).

    Examples
    --------
    >>> parse_ip("::ffff:192.0.2.7")
    IPv4Address('192.0.2.7')
    """
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        address: IPAddress = value
    else:
        try:
            address = ipaddress.ip_address(str(value).strip())
        except ValueError:
            raise InputError(
                f"ip must be one IPv4 or IPv6 address such as 192.0.2.7 or "
                f"2001:db8::7, got {value!r}"
            ) from None

    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def clip_comment(reason: str) -> str:
    """Return ``reason`` cut to what nft stores as an element comment."""
    encoded = reason.encode("utf-8")[:MAX_COMMENT_BYTES]
    return encoded.decode("utf-8", errors="ignore")


@dataclass(frozen=True)
class BlockResult:
    """What one block or unblock did.

    ``changed`` is True when the firewall's state changed: False for the
    dry-run backend and for unblocking an address that was not blocked.
    """

    action: Literal["block", "unblock"]
    ip: IPAddress
    changed: bool
    dry_run: bool
    backend: str
    reason: str = ""
    ttl_s: int | None = None
    expires_at: datetime | None = None
    elapsed_ms: float = 0.0


@dataclass(frozen=True)
class BlockEntry:
    """One address on the block list, as the firewall reports it."""

    ip: IPAddress
    timeout_s: int
    expires_in_s: int
    reason: str


class Firewall(abc.ABC):
    """A place where addresses are blocked for a while.

    Subclasses implement one hook per event: :meth:`block`, :meth:`unblock`
    and :meth:`list_blocked`. Addresses reach them already parsed by
    :func:`parse_ip`; the hooks raise :class:`~twinai.errors.ResponseError`
    when the action could not be applied.
    """

    #: Short name written to results and the audit log.
    backend: str = "abstract"

    #: True when nothing is really changed.
    dry_run: bool = False

    @abc.abstractmethod
    def block(self, ip: IPAddress, ttl_s: int, reason: str) -> BlockResult:
        """Drop traffic of ``ip`` for ``ttl_s`` seconds; a second call renews it."""

    @abc.abstractmethod
    def unblock(self, ip: IPAddress) -> BlockResult:
        """Lift the block on ``ip``; not an error when there is none."""

    @abc.abstractmethod
    def list_blocked(self) -> list[BlockEntry]:
        """Return the addresses blocked now, soonest expiry first."""


class DryRunFirewall(Firewall):
    """Records and logs what would be blocked; changes nothing on the host.

    It keeps its own expiring block list in memory so that a run without
    ``--enforce`` can still answer "is this address blocked already?".
    """

    backend = "dry-run"
    dry_run = True

    def __init__(self) -> None:
        self._until: dict[IPAddress, tuple[float, int, str]] = {}
        self.actions: list[BlockResult] = []

    def block(self, ip: IPAddress, ttl_s: int, reason: str) -> BlockResult:
        """Remember the block and log it at INFO; touch no firewall."""
        ip = parse_ip(ip)
        check_ttl(ttl_s)
        self._until[ip] = (time.monotonic() + ttl_s, ttl_s, reason)
        log.info("dry run: would block %s for %d s: %s", ip, ttl_s, reason)

        result = BlockResult(
            action="block",
            ip=ip,
            changed=False,
            dry_run=True,
            backend=self.backend,
            reason=reason,
            ttl_s=ttl_s,
            expires_at=datetime.now(UTC) + timedelta(seconds=ttl_s),
        )
        self.actions.append(result)
        return result

    def unblock(self, ip: IPAddress) -> BlockResult:
        """Forget the block and log it at INFO."""
        ip = parse_ip(ip)
        self._until.pop(ip, None)
        log.info("dry run: would unblock %s", ip)

        result = BlockResult(
            action="unblock", ip=ip, changed=False, dry_run=True, backend=self.backend
        )
        self.actions.append(result)
        return result

    def list_blocked(self) -> list[BlockEntry]:
        """Return the remembered blocks that have not expired yet."""
        now = time.monotonic()
        entries = [
            BlockEntry(ip, ttl_s, int(until - now), reason)
            for ip, (until, ttl_s, reason) in self._until.items()
            if until > now
        ]
        return sorted(entries, key=lambda entry: entry.expires_in_s)

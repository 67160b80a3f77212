"""Response: turn verdicts into firewall blocks that expire, with an audit trail.

The data path ends here: a verdict names an address, :class:`BlockPolicy`
decides whether it may be blocked (never allow-listed networks, the host's own
addresses, the home gateway or spoofed sources), a :class:`Firewall` backend
applies it (:class:`NftablesFirewall`, or :class:`DryRunFirewall` which only
records), and :class:`AuditLog` writes one JSON line per block and unblock.
:class:`Responder` joins the three for the live loop and the ``twinai block``
command. This package never decides who is bad; the folds do.
"""

from twinai.response._audit import DEFAULT_AUDIT_LOG, AuditLog
from twinai.response._duration import (
    DEFAULT_BLOCK_TTL_S,
    MAX_BLOCK_TTL_S,
    check_ttl,
    format_duration,
    parse_duration,
)
from twinai.response._firewall import (
    BlockEntry,
    BlockResult,
    DryRunFirewall,
    Firewall,
    IPAddress,
    parse_ip,
)
from twinai.response._host import HostFacts, read_host_facts
from twinai.response._nftables import CHAIN_PRIORITY, DEFAULT_TABLE, NftablesFirewall
from twinai.response._policy import (
    DETECTION,
    PREVENTION,
    BlockDecision,
    BlockPolicy,
    BlockRequest,
    Network,
    parse_network,
)
from twinai.response._responder import WATCH_WHO, Responder, Response

__all__ = [
    "CHAIN_PRIORITY",
    "DEFAULT_AUDIT_LOG",
    "DEFAULT_BLOCK_TTL_S",
    "DEFAULT_TABLE",
    "DETECTION",
    "MAX_BLOCK_TTL_S",
    "PREVENTION",
    "WATCH_WHO",
    "AuditLog",
    "BlockDecision",
    "BlockEntry",
    "BlockPolicy",
    "BlockRequest",
    "BlockResult",
    "DryRunFirewall",
    "Firewall",
    "HostFacts",
    "IPAddress",
    "Network",
    "NftablesFirewall",
    "Responder",
    "Response",
    "check_ttl",
    "format_duration",
    "parse_duration",
    "parse_ip",
    "parse_network",
    "read_host_facts",
]

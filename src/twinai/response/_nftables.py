"""The nftables backend: one table of our own, two address sets, drop rules.

The ruleset, in nft syntax (it is sent through nft's JSON API, never as text)::

    table inet twinai {
        set blocked4 { type ipv4_addr; flags timeout; }
        set blocked6 { type ipv6_addr; flags timeout; }
        chain input {
            type filter hook input priority filter - 10; policy accept;
            ip saddr @blocked4 counter drop
            ip6 saddr @blocked6 counter drop
        }
        chain forward {
            type filter hook forward priority filter - 10; policy accept;
            ip saddr @blocked4 counter drop
            ip daddr @blocked4 counter drop
            ip6 saddr @blocked6 counter drop
            ip6 daddr @blocked6 counter drop
        }
    }

One set serves both directions of fold 1. An outside scanner in the set can
reach neither this host (input, ``saddr``) nor anything behind it (forward,
``saddr``). A compromised home device in the set is quarantined: the forward
rules drop what it sends out (``saddr``) and what the outside sends to it
(``daddr``, which also stops replies to connections it opened). Traffic that
stays inside the home network does not cross this router and is not touched.

The table belongs to TwinAI alone: it is created on the first block, never
mixed with other tables, and removing it (:meth:`NftablesFirewall.remove_table`)
leaves the rest of the ruleset as it was.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from twinai.errors import ResponseError
from twinai.response._duration import check_ttl
from twinai.response._firewall import (
    BlockEntry,
    BlockResult,
    Firewall,
    IPAddress,
    clip_comment,
    parse_ip,
)

__all__ = ["CHAIN_PRIORITY", "DEFAULT_TABLE", "NftablesFirewall"]

log = logging.getLogger(__name__)

DEFAULT_TABLE = "twinai"

# "filter - 10": a drop is final whatever the order of base chains, but running
# before the chains at the standard filter priority (firewalld, ufw, hand-made
# rulesets) spares them the packets we drop and keeps those out of their logs.
CHAIN_PRIORITY = -10

# A healthy nft call takes milliseconds; ten seconds means it hangs (a locked
# netlink socket, a namespace being torn down).
NFT_TIMEOUT_S = 10.0

_SET_OF_VERSION = {4: "blocked4", 6: "blocked6"}
_PROTOCOL_OF_VERSION = {4: "ip", 6: "ip6"}


class NftablesFirewall(Firewall):
    """Blocks addresses with nftables set elements that expire by themselves.

    Parameters
    ----------
    table : str
        Name of our ``inet`` table.
    netns : str or None
        Run every command inside this network namespace
        (``ip netns exec NAME nft ...``); None for the current one.
    nft : str
        The nft executable.

    Notes
    -----
    Needs root or ``CAP_NET_ADMIN`` in the target namespace. Timeouts have a
    resolution of one second in nft's JSON output.
    """

    backend = "nftables"
    dry_run = False

    def __init__(
        self, *, table: str = DEFAULT_TABLE, netns: str | None = None, nft: str = "nft"
    ) -> None:
        self.table = table
        self.netns = netns
        self.nft = nft
        self._table_ready = False

    def block(self, ip: IPAddress, ttl_s: int, reason: str) -> BlockResult:
        """Add ``ip`` to its set for ``ttl_s`` seconds, renewing an older entry.

        The add-delete-add batch is one nft transaction, so an address that is
        already blocked never has a gap, and its timeout and comment are
        replaced (a plain add would keep the old ones).
        """
        ip = parse_ip(ip)
        check_ttl(ttl_s)
        started = time.perf_counter()
        self.ensure_table()

        element = {"val": str(ip), "timeout": ttl_s, "comment": clip_comment(reason)}
        self._apply(
            [
                {"add": self._element(ip, {"elem": element})},
                {"delete": self._element(ip, str(ip))},
                {"add": self._element(ip, {"elem": element})},
            ]
        )

        elapsed_ms = (time.perf_counter() - started) * 1000
        log.info("blocked %s for %d s in %.1f ms: %s", ip, ttl_s, elapsed_ms, reason)
        return BlockResult(
            action="block",
            ip=ip,
            changed=True,
            dry_run=False,
            backend=self.backend,
            reason=reason,
            ttl_s=ttl_s,
            expires_at=datetime.now(UTC) + timedelta(seconds=ttl_s),
            elapsed_ms=elapsed_ms,
        )

    def unblock(self, ip: IPAddress) -> BlockResult:
        """Delete ``ip`` from its set; ``changed`` is False when it was not there."""
        ip = parse_ip(ip)
        started = time.perf_counter()
        present = any(entry.ip == ip for entry in self.list_blocked())
        if present:
            self._apply([{"delete": self._element(ip, str(ip))}])

        elapsed_ms = (time.perf_counter() - started) * 1000
        log.info("unblocked %s (was blocked: %s)", ip, present)
        return BlockResult(
            action="unblock",
            ip=ip,
            changed=present,
            dry_run=False,
            backend=self.backend,
            elapsed_ms=elapsed_ms,
        )

    def list_blocked(self) -> list[BlockEntry]:
        """Read both sets; an absent table means nothing is blocked."""
        if not self._table_exists():
            return []

        entries: list[BlockEntry] = []
        for set_name in _SET_OF_VERSION.values():
            reply = self._run(["-j", "list", "set", "inet", self.table, set_name])
            entries.extend(_entries_of_set(json.loads(reply)))
        return sorted(entries, key=lambda entry: (entry.expires_in_s, entry.ip.version))

    def ensure_table(self) -> None:
        """Create our table, sets and chains if needed, keeping blocked elements.

        Idempotent: ``add`` leaves existing sets and chains alone, and the chains
        are flushed and refilled in the same transaction so rules never double.
        """
        if self._table_ready:
            return

        commands: list[dict[str, Any]] = [{"add": {"table": self._table()}}]
        for version, set_name in _SET_OF_VERSION.items():
            address_type = f"ipv{version}_addr"
            commands.append(
                {
                    "add": {
                        "set": {
                            **self._table_ref(),
                            "name": set_name,
                            "type": address_type,
                            "flags": ["timeout"],
                        }
                    }
                }
            )
        for hook in ("input", "forward"):
            commands.append({"add": {"chain": self._base_chain(hook)}})
            commands.append({"flush": {"chain": {**self._table_ref(), "name": hook}}})
        commands.extend(self._drop_rules())

        self._apply(commands)
        self._table_ready = True
        log.debug("nft table inet %s ready (netns %s)", self.table, self.netns)

    def remove_table(self) -> None:
        """Delete our table and every block in it; other tables stay untouched."""
        if self._table_exists():
            self._apply([{"delete": {"table": self._table()}}])
        self._table_ready = False

    def _drop_rules(self) -> list[dict[str, Any]]:
        """The drop rules: source on input and forward, destination on forward."""
        rules = []
        for version, set_name in _SET_OF_VERSION.items():
            protocol = _PROTOCOL_OF_VERSION[version]
            rules.append(self._drop_rule("input", protocol, "saddr", set_name))
            rules.append(self._drop_rule("forward", protocol, "saddr", set_name))
            rules.append(self._drop_rule("forward", protocol, "daddr", set_name))
        return rules

    def _drop_rule(
        self, chain: str, protocol: str, field: str, set_name: str
    ) -> dict[str, Any]:
        match = {
            "op": "==",
            "left": {"payload": {"protocol": protocol, "field": field}},
            "right": f"@{set_name}",
        }
        expr = [{"match": match}, {"counter": None}, {"drop": None}]
        return {"add": {"rule": {**self._table_ref(), "chain": chain, "expr": expr}}}

    def _base_chain(self, hook: str) -> dict[str, Any]:
        return {
            **self._table_ref(),
            "name": hook,
            "type": "filter",
            "hook": hook,
            "prio": CHAIN_PRIORITY,
            "policy": "accept",
        }

    def _element(self, ip: IPAddress, elem: object) -> dict[str, Any]:
        set_name = _SET_OF_VERSION[ip.version]
        return {"element": {**self._table_ref(), "name": set_name, "elem": [elem]}}

    def _table(self) -> dict[str, str]:
        return {"family": "inet", "name": self.table}

    def _table_ref(self) -> dict[str, str]:
        return {"family": "inet", "table": self.table}

    def _table_exists(self) -> bool:
        reply = json.loads(self._run(["-j", "list", "tables", "inet"]))
        return any(
            item.get("table", {}).get("name") == self.table
            for item in reply.get("nftables", [])
        )

    def _apply(self, commands: list[dict[str, Any]]) -> None:
        """Send one atomic batch through ``nft -j -f -``."""
        document = json.dumps({"nftables": commands})
        self._run(["-j", "-f", "-"], stdin=document)

    def _run(self, args: list[str], stdin: str | None = None) -> str:
        """Run nft with ``args`` (in ``self.netns`` if set); return its stdout."""
        if shutil.which(self.nft) is None:
            raise ResponseError(
                f"cannot run {self.nft}: not found; install nftables "
                "(apt-get install nftables)"
            )

        argv = [self.nft, *args]
        if self.netns is not None:
            argv = ["ip", "netns", "exec", self.netns, *argv]

        try:
            done = subprocess.run(
                argv,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=NFT_TIMEOUT_S,
                check=False,
            )
        except FileNotFoundError as exc:
            raise ResponseError(
                f"cannot run {' '.join(argv)}: {exc.filename} not found; "
                "install iproute2 (apt-get install iproute2)"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise ResponseError(
                f"{' '.join(argv)} did not finish within {NFT_TIMEOUT_S:.0f} s"
            ) from exc

        if done.returncode != 0:
            raise ResponseError(_failure_message(argv, done.returncode, done.stderr))
        return done.stdout


def _failure_message(argv: list[str], returncode: int, stderr: str) -> str:
    """One line naming the command, nft's own words and, where known, the fix."""
    said = " ".join(stderr.split()) or "(no message)"
    message = f"{' '.join(argv)} failed with exit status {returncode}: {said}"
    if "Operation not permitted" in stderr:
        return message + "; run as root or with CAP_NET_ADMIN"
    if "network namespace" in stderr:
        return message + "; check the name with `ip netns list`"
    return message


def _entries_of_set(reply: dict[str, Any]) -> list[BlockEntry]:
    """Turn ``nft -j list set`` output into entries."""
    entries = []
    for item in reply.get("nftables", []):
        for element in item.get("set", {}).get("elem", []):
            fields = element["elem"] if isinstance(element, dict) else {"val": element}
            entries.append(
                BlockEntry(
                    ip=ipaddress.ip_address(fields["val"]),
                    timeout_s=int(fields.get("timeout", 0)),
                    expires_in_s=int(fields.get("expires", 0)),
                    reason=str(fields.get("comment", "")),
                )
            )
    return entries

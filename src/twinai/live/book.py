"""The live alert book: one alert per host and fold, kept across ticks.

Each tick's :func:`~twinai.alerts.rollup.rollup` sees only the flows still
held, so its alerts come and go as old flows age out. The book keeps each
alert from the tick it first fired: the moment it fired and the probes
before it never move, its counts only grow. An alert is emitted (an EVE
record) when it is new and again only when its evidence has grown by
``GROWTH_FACTOR`` since the last record, so a scanner probing 60,000 ports
gives a dozen records, not 60,000.

Alerts are keyed by (fold, host) -- the rollup's own grouping -- and not by
attack type: the type the rollup names is the most common among the flows
held, and it may change as evidence grows (an nmap scan first looks like
``timing-t3-normal``, later like ``timing-t4-aggressive``). The record says
the latest type; the alert stays one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from twinai.alerts.eve import format_timestamp, to_eve
from twinai.alerts.rollup import Alert

__all__ = ["GROWTH_FACTOR", "BlockMark", "LiveAlert", "AlertBook"]

# Re-emit when flows or packets have doubled since the last record: records
# grow logarithmically with the attack, and each says something new.
GROWTH_FACTOR = 2.0


@dataclass
class BlockMark:
    """A block (or, in a dry run, a would-be block) made for an alert."""

    ip: str
    at_us: int  # wall clock when the firewall call returned (the latest renewal)
    ttl_s: int
    dry_run: bool
    direction: str
    counted_until_us: int  # when the first block took effect
    probes_before_block: int = 0  # the address's flows that began by then


@dataclass
class LiveAlert:
    """An alert as the book holds it, with what was done about it."""

    alert: Alert
    revision: int = 0
    emitted_flows: int = 0
    emitted_packets: int = 0
    first_probe_us: int = 0
    blocks: dict[str, BlockMark] = field(default_factory=dict)
    handled: set[str] = field(default_factory=set)  # addresses given to the responder
    emitted_probes_before_block: int | None = None

    @property
    def probes_before_block(self) -> int | None:
        """Probes from the blocked address(es) seen before their block; None if none."""
        if not self.blocks:
            return None
        return sum(mark.probes_before_block for mark in self.blocks.values())

    @property
    def grown(self) -> bool:
        return (self.alert.flows >= GROWTH_FACTOR * max(self.emitted_flows, 1)
                or self.alert.packets >= GROWTH_FACTOR * max(self.emitted_packets, 1))

    @property
    def stale(self) -> bool:
        """Changed since its last record in a way worth a final record."""
        return (self.alert.flows != self.emitted_flows
                or self.probes_before_block != self.emitted_probes_before_block)

    def record(self, model: str) -> dict[str, Any]:
        """The EVE record of the alert as it stands; counts it as emitted."""
        blocked = any(not mark.dry_run for mark in self.blocks.values())
        eve = to_eve(self.alert, model=model, action="blocked" if blocked else "allowed")
        eve["twinai"]["revision"] = self.revision
        eve["twinai"]["probes_before_block"] = self.probes_before_block
        if self.blocks:
            eve["twinai"]["blocks"] = [_block_dict(m, self.first_probe_us)
                                       for m in self.blocks.values()]
        self.revision += 1
        self.emitted_flows = self.alert.flows
        self.emitted_packets = self.alert.packets
        self.emitted_probes_before_block = self.probes_before_block
        return eve


def _block_dict(mark: BlockMark, first_probe_us: int) -> dict[str, Any]:
    return {
        "ip": mark.ip,
        "at": format_timestamp(mark.counted_until_us),
        "renewed_at": format_timestamp(mark.at_us) if mark.at_us != mark.counted_until_us
        else None,
        "ttl_s": mark.ttl_s,
        "dry_run": mark.dry_run,
        "direction": mark.direction,
        "probes_before_block": mark.probes_before_block,
        "first_probe_to_block_ms": round((mark.counted_until_us - first_probe_us) / 1000, 1),
    }


class AlertBook:
    """Every alert of a watch, keyed by (fold, host)."""

    def __init__(self) -> None:
        self.alerts: dict[tuple[str, str], LiveAlert] = {}

    def __len__(self) -> int:
        return len(self.alerts)

    def update(self, alerts: list[Alert]) -> tuple[list[LiveAlert], list[LiveAlert]]:
        """Merge a tick's rollup; return (new alerts, alerts that grew)."""
        new: list[LiveAlert] = []
        grown: list[LiveAlert] = []
        for alert in alerts:
            key = alert.key[:2]
            held = self.alerts.get(key)
            if held is None:
                held = LiveAlert(alert=alert, first_probe_us=alert.first_seen_us)
                self.alerts[key] = held
                self._link_compromised(alert)
                new.append(held)
                continue
            held.alert = _merge(held.alert, alert)
            held.first_probe_us = min(held.first_probe_us, alert.first_seen_us)
            if held.grown:
                grown.append(held)
        return new, grown

    def _link_compromised(self, alert: Alert) -> None:
        """Link an outbound alert to an earlier scan of its source, however old.

        The rollup links them only while both are among the held flows; the
        book remembers scans that have aged out of them.
        """
        if alert.direction != "outbound" or alert.compromised:
            return
        for held in self.alerts.values():
            earlier = held.alert
            if earlier.fold == "prevention" and earlier.direction in ("inbound", "internal") \
                    and earlier.dest_ip == alert.src_ip and earlier.alert_us <= alert.alert_us:
                alert.compromised = {"device": alert.src_ip, "scanned_by": earlier.src_ip,
                                     "scanned_at_us": earlier.alert_us,
                                     "linked_flow_id": earlier.flow_id}
                return


def _merge(old: Alert, new: Alert) -> Alert:
    """The newer view of an alert, keeping when and how it first fired."""
    return replace(
        new,
        first_seen_us=min(old.first_seen_us, new.first_seen_us),
        last_seen_us=max(old.last_seen_us, new.last_seen_us),
        alert_us=old.alert_us,
        flow_id=old.flow_id,
        probes_before_alert=old.probes_before_alert,
        flows=max(old.flows, new.flows),
        packets=max(old.packets, new.packets),
        targets=max(old.targets, new.targets),
        sources=max(old.sources, new.sources),
        reasons=old.reasons or new.reasons,
        signature=old.signature or new.signature,
        scanner_family=old.scanner_family or new.scanner_family,
        compromised=old.compromised or new.compromised,
    )

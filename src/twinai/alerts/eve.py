"""Alerts as Suricata EVE JSON lines, with TwinAI's own evidence beside them.

Any tool that reads Suricata's ``eve.json`` (Elastic, Splunk, Wazuh, jq)
reads these: the standard keys keep their meaning, and everything TwinAI
adds lives under the ``twinai`` object.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Iterable

from twinai.alerts.rollup import Alert

__all__ = ["to_eve", "write_eve", "format_timestamp", "SIGNATURE_IDS"]

# Suricata keeps gid 1 for its rules; ours use their own sid range so that a
# SIEM can tell them apart: 91xxxxx prevention, 92xxxxx detection.
SIGNATURE_IDS = {
    ("prevention", "model"): 9100001,
    ("prevention", "signature"): 9100002,
    ("detection", "model"): 9200001,
    ("detection", "signature"): 9200002,
}

# Suricata's classtypes for the two families.
_CATEGORY = {
    "prevention": "Attempted Information Leak",
    "detection": "Attempted Denial of Service",
}

_PROTO = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "IPv6-ICMP", 132: "SCTP"}


def format_timestamp(us: int) -> str:
    """EVE's timestamp form: ``2026-12-03T21:25:20.123456+0000``."""
    moment = datetime.fromtimestamp(us / 1e6, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f+0000")


def _severity(alert: Alert) -> int:
    """1 high, 2 medium, 3 low, as in Suricata."""
    if alert.compromised or alert.scanner_family == "mirai":
        return 1
    if alert.fold == "detection" or alert.flows >= 100:
        return 1 if alert.packets >= 10_000 else 2
    return 2


def _signature_text(alert: Alert) -> str:
    if alert.fold == "prevention":
        who = f" ({alert.scanner_family} fingerprint)" if alert.scanner_family else ""
        return f"TwinAI prevention: {alert.attack_type} scan from {alert.src_ip}{who}"
    return f"TwinAI detection: {alert.attack_type} flood against {alert.dest_ip}"


def to_eve(alert: Alert, *, model: str, action: str = "allowed") -> dict[str, Any]:
    """One EVE alert record."""
    kind = "signature" if alert.signature else "model"
    twinai: dict[str, Any] = {
        "fold": alert.fold,
        "attack_type": alert.attack_type,
        "direction": alert.direction,
        "score": alert.score,
        "model": model,
        "first_seen": format_timestamp(alert.first_seen_us),
        "last_seen": format_timestamp(alert.last_seen_us),
        "flows": alert.flows,
        "packets": alert.packets,
        "reasons": alert.reasons,
    }
    if alert.fold == "prevention":
        twinai["probes_before_alert"] = alert.probes_before_alert
        twinai["targets"] = alert.targets
    else:
        twinai["sources"] = alert.sources
        twinai["spoofed"] = alert.spoofed
    if alert.signature:
        twinai["signature"] = alert.signature
        if alert.fold == "prevention":
            twinai["scanner_family"] = alert.scanner_family
        twinai["reasons"] = [{"signature": alert.signature}] + alert.reasons
    if alert.compromised:
        twinai["compromised"] = alert.compromised
    return {
        "timestamp": format_timestamp(alert.alert_us),
        "flow_id": alert.flow_id,
        "event_type": "alert",
        "src_ip": alert.src_ip,
        "src_port": alert.src_port,
        "dest_ip": alert.dest_ip,
        "dest_port": alert.dest_port,
        "proto": _PROTO.get(alert.protocol, str(alert.protocol)),
        "alert": {
            "action": action,
            "gid": 1,
            "signature_id": SIGNATURE_IDS[(alert.fold, kind)] if (alert.fold, kind) in SIGNATURE_IDS
            else SIGNATURE_IDS[(alert.fold, "model")],
            "rev": 1,
            "signature": _signature_text(alert),
            "category": _CATEGORY[alert.fold],
            "severity": _severity(alert),
        },
        "twinai": twinai,
    }


def write_eve(records: Iterable[dict[str, Any]], target: str | os.PathLike[str] | IO[str]) -> int:
    """Write records as JSON lines to a path (``-`` = stdout) or an open file."""
    count = 0
    if isinstance(target, (str, os.PathLike)) and str(target) == "-":
        handle: IO[str] = sys.stdout
        close = False
    elif isinstance(target, (str, os.PathLike)):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        handle = open(target, "w", encoding="utf-8")
        close = True
    else:
        handle, close = target, False
    try:
        for record in records:
            handle.write(json.dumps(record, separators=(",", ":")) + "\n")
            count += 1
    finally:
        if close:
            handle.close()
    return count

"""Roll flow verdicts up into alerts about hosts.

Thousands of probes from one scanner are one fact, not thousands: an alert
is kept per (host, fold, attack type) and grows as evidence arrives.

Fold 1 (prevention) groups evidence by *source*: the scanner. Fold 2
(detection) groups evidence by *destination*: the flood's victim. A flow is
evidence for a fold when its score reaches the bundle's flow threshold or a
scanner signature matches its first packet. A home device that was the
target of a scan and later scans or floods outward is reported as
*compromised*, with the earlier alert linked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from twinai.alerts.signatures import FINGERPRINTS, FLOOD_SIGNATURES, SIGNATURE_MIN_FLOWS, SIGNATURES
from twinai.folds.bundle import FLOW_SCORE_THRESHOLD

__all__ = ["Alert", "rollup", "MIN_SCAN_FLOWS", "MIN_FAILED_PROBES", "MIN_FAILED_SHARE",
           "MIN_FLOOD_PACKETS", "MIN_FLOOD_FLOWS", "SWEEP_MIN_PORTS", "scan_evidence",
           "flood_evidence"]

log = logging.getLogger(__name__)

# A scanner must have sent this many scan-like flows before we call it one:
# one or two refused connections are everyday noise (a stale bookmark, a
# restarted service), while nmap's smallest default run already probes a
# host's two discovery ports and then the target port.
MIN_SCAN_FLOWS = 3

# Of a scanner's scan-like flows, at least this many must be failed probes: a
# failed or torn-down connection state (no reply, refused, reset) after which
# the target had sent no payload. A scan is a search, and most probes of a
# search hit closed ports or absent hosts (SYN scans: RST or silence; connect
# scans: the scanner resets each connection at once, before any data; ICMP
# sweeps: no echo from absent hosts). The probe's own payload does not matter
# (nmap --data-length pads probes), except for ICMP: an ICMP flow with payload
# may be error messages (port unreachable, quoting the packet that caused
# them) that a flood's victim sends to spoofed sources, and that is no search.
# TODO(icmp-type): keep the ICMP type in the flow table, so that timestamp and
# netmask sweeps (whose probes carry data) count as failed probes too; until
# then only the model's score and the signatures report them. A busy client
# whose connections were answered, even when some end in a reset (TLS
# teardown), is not searching. Skipped for flow logs that carry no
# connection state (CIC CSVs).
MIN_FAILED_PROBES = 2

# ... and failed probes must be at least this share of them. A search mostly
# misses: the lab's scans fail on 44-100 % of their scan-like flows (the
# smallest share, 44 %, is a UDP port scan), except a service-version probe
# of one open port (12 %, reported by its handshake-then-reset signature). A
# busy phone or smart speaker whose answered connections the model wrongly
# finds scan-like fails on a handful (the nDPI android and alexa captures:
# 2 of 31 and 2 of 44, 5-7 %: a push channel that timed out, a retried
# refused port).
MIN_FAILED_SHARE = 0.25
_ICMP, _ICMPV6 = 1, 58
_FAILED_STATES = ("S0", "REJ", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH")

# A flood must bring at least this many flood-like packets to its victim: a
# few hundred packets is the least the public captures show for a real
# amplification attack (DNS: ~1,250 in minutes), while a scanner's service
# probes or a busy benign exchange with one server stay below it.
MIN_FLOOD_PACKETS = 300
MIN_FLOOD_FLOWS = 1

# A scanner's flows to one host over at least this many destination ports,
# none carrying payload, are a port sweep, not flood evidence. The lab's and
# the public captures' floods from one host hit one or two ports; the
# smallest nmap default scan visits a thousand.
SWEEP_MIN_PORTS = 20

# More distinct sources than this behind one flood means the sources are
# spoofed or reflectors: alert, but do not chase (block) them one by one.
SPOOFED_SOURCES = 300


@dataclass
class Alert:
    """One verdict about a host, with the evidence behind it."""

    fold: str  # prevention | detection
    attack_type: str
    src_ip: str
    dest_ip: str
    src_port: int
    dest_port: int
    protocol: int
    direction: str
    score: float
    first_seen_us: int
    last_seen_us: int
    alert_us: int  # when the evidence first sufficed
    flows: int
    packets: int
    flow_id: int
    probes_before_alert: int | None = None
    signature: str | None = None  # scanner fingerprint, when one matched
    scanner_family: str | None = None
    sources: int = 1
    targets: int = 1
    spoofed: bool = False
    reasons: list[dict[str, Any]] = field(default_factory=list)
    compromised: dict[str, Any] | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        host = self.src_ip if self.fold == "prevention" else self.dest_ip
        return (self.fold, host, self.attack_type)


def rollup(flows: pl.DataFrame, predictions: pl.DataFrame,
           signatures: np.ndarray) -> list[Alert]:
    """Alerts from a flow table, its predictions and first-packet signatures."""
    if flows.height == 0:
        return []
    table = _evidence_table(flows, predictions, signatures)
    scans = _scan_alerts(table)
    alerts = scans + _flood_alerts(table, scanners={a.src_ip for a in scans})
    _link_compromised(alerts)
    alerts.sort(key=lambda a: (a.alert_us, a.fold, a.src_ip))
    return alerts


def _evidence_table(flows: pl.DataFrame, predictions: pl.DataFrame,
                    signatures: np.ndarray) -> pl.DataFrame:
    keep = ["flow_id", "src_ip", "dst_ip", "src_port", "dst_port", "protocol",
            "first_seen_us", "last_seen_us", "direction", "orig_pkts", "resp_pkts",
            "orig_bytes", "resp_bytes", "conn_state"]
    base = flows.select([c for c in keep if c in flows.columns])
    for name in ("first_seen_us", "last_seen_us"):
        if name not in base.columns:
            base = base.with_columns(pl.lit(0, dtype=pl.Int64).alias(name))
    if "flow_id" not in base.columns:
        base = base.with_row_index("flow_id").with_columns(pl.col("flow_id").cast(pl.Int64))
    if "direction" not in base.columns:
        base = base.with_columns(pl.lit("external").alias("direction"))
    base = base.with_columns(
        pl.col("first_seen_us").fill_null(0), pl.col("last_seen_us").fill_null(0),
        pl.col("src_port").fill_null(0), pl.col("dst_port").fill_null(0),
        pl.col("protocol").fill_null(0))
    return pl.concat([base, predictions.select(
        "scan_score", "ddos_score", "scan_type", "ddos_type", "reasons")],
        how="horizontal").with_columns(
        pl.Series("signature", signatures.tolist(), dtype=pl.Utf8))


def _top(values: pl.Series) -> Any:
    counts = values.drop_nulls().value_counts(sort=True)
    return counts[values.name][0] if counts.height else None


def _parse_reasons(text: str | None) -> list[dict[str, Any]]:
    import json

    return json.loads(text) if text else []


def _group_destination(address: pl.Expr) -> pl.Expr:
    """Multicast and broadcast destinations: discovery protocols (mDNS, SSDP,
    IGMP) talk to them by design, and a scan probes unicast hosts."""
    first_octet = address.str.split(".").list.first().cast(pl.Int64, strict=False)
    return (
        first_octet.is_between(224, 239).fill_null(False)
        | address.str.ends_with(".255")
        | address.str.starts_with("ff")
    )


def scan_evidence() -> pl.Expr:
    """Flows that count towards a scanner: scan-like by fold 1, or marked by
    a scanner signature, and not taken by fold 2 for a flood.

    A flow fold 2 judged a flood is no probe, whatever its shape: a SYN
    flood from a real host looks like an open-port probe flow by flow (the
    victim answers, the attacker's kernel resets), but all its flows hit one
    port. Only the certain first-packet fingerprints outrank fold 2.
    """
    signature = pl.col("signature")
    flood_judged = ((pl.col("ddos_score") >= FLOW_SCORE_THRESHOLD)
                    & (pl.col("ddos_score") > pl.col("scan_score"))
                    & ~signature.is_in(FINGERPRINTS).fill_null(False))
    marked = signature.is_in(list(SIGNATURE_MIN_FLOWS)).fill_null(False)
    return ((pl.col("scan_score") >= FLOW_SCORE_THRESHOLD) | marked) & ~flood_judged


def flood_evidence() -> pl.Expr:
    """Flows that count towards a flood: flood-like by fold 2, or marked by a
    flood signature (before the port sweeps of scanners are taken out)."""
    marked = pl.col("signature").is_in(list(FLOOD_SIGNATURES)).fill_null(False)
    return (pl.col("ddos_score") >= FLOW_SCORE_THRESHOLD) | marked


def _scan_alerts(table: pl.DataFrame) -> list[Alert]:
    """Fold 1: group scan evidence by source host."""
    candidates = table.filter(scan_evidence() & ~_group_destination(pl.col("dst_ip")))
    alerts: list[Alert] = []
    for (src,), group in candidates.group_by(["src_ip"], maintain_order=True):
        group = group.sort(["last_seen_us", "flow_id"])
        fired_at, signature = _scan_fire_point(group)
        if fired_at is None:
            continue
        all_from_src = table.filter(pl.col("src_ip") == src)
        alerts.append(_scan_alert(str(src), group, all_from_src, fired_at, signature))
    return alerts


def _scan_fire_point(group: pl.DataFrame) -> tuple[int | None, str | None]:
    """Index (in time order) of the flow at which the evidence first sufficed."""
    scan_like = (group["scan_score"] >= FLOW_SCORE_THRESHOLD).to_numpy()
    model_hits = np.cumsum(scan_like)
    if "conn_state" in group.columns and group["conn_state"].null_count() < group.height:
        failed = group["conn_state"].is_in(_FAILED_STATES).fill_null(False).to_numpy()
        failed &= _nothing_came_back(group)
        failed_hits = np.cumsum(scan_like & failed)
    else:
        failed_hits = np.maximum(model_hits, MIN_FAILED_PROBES)
    share = failed_hits / np.maximum(model_hits, 1)
    enough = ((model_hits >= MIN_SCAN_FLOWS) & (failed_hits >= MIN_FAILED_PROBES)
              & (share >= MIN_FAILED_SHARE))
    fired: int | None = int(np.argmax(enough)) if enough.any() else None
    chosen_signature = None
    signatures = group["signature"].to_numpy()
    for name, needed in SIGNATURE_MIN_FLOWS.items():
        hits = np.cumsum(signatures == name)
        if hits[-1] >= needed:
            at = int(np.argmax(hits >= needed))
            if fired is None or at <= fired or chosen_signature is None:
                chosen_signature = name
                fired = at if fired is None else min(fired, at)
    return fired, chosen_signature


def _nothing_came_back(group: pl.DataFrame) -> np.ndarray:
    """Flows whose target sent no payload, leaving out ICMP that carried some."""
    zero = pl.lit(0.0)
    resp = pl.col("resp_bytes") if "resp_bytes" in group.columns else zero
    sent = pl.col("orig_bytes") if "orig_bytes" in group.columns else zero
    icmp = pl.col("protocol").is_in([_ICMP, _ICMPV6])
    silent = (resp.fill_null(0) == 0) & (~icmp | (sent.fill_null(0) == 0))
    return group.select(silent.alias("silent"))["silent"].to_numpy()


def _scan_alert(src: str, group: pl.DataFrame, all_from_src: pl.DataFrame, fired_at: int,
                signature: str | None) -> Alert:
    fire = group.row(fired_at, named=True)
    alert_us = int(fire["last_seen_us"])
    probes = int((all_from_src["first_seen_us"] <= alert_us).sum())
    if signature:
        family, attack_type = SIGNATURES[signature]
    else:
        family, attack_type = None, str(_top(group.filter(
            pl.col("scan_score") >= FLOW_SCORE_THRESHOLD)["scan_type"]) or "unknown")
    target = _top(group["dst_ip"])
    to_target = group.filter(pl.col("dst_ip") == target)
    best = group.sort("scan_score", descending=True).row(0, named=True)
    return Alert(
        fold="prevention",
        attack_type=attack_type,
        src_ip=src,
        dest_ip=str(target),
        src_port=int(fire["src_port"]),
        dest_port=int(_top(to_target["dst_port"]) or 0),
        protocol=int(_top(group["protocol"]) or 0),
        direction=str(_top(group["direction"]) or "external"),
        score=round(float(group["scan_score"].mean()), 4),
        first_seen_us=int(group["first_seen_us"].min()),
        last_seen_us=int(group["last_seen_us"].max()),
        alert_us=alert_us,
        flows=group.height,
        packets=int(group["orig_pkts"].sum()) if "orig_pkts" in group.columns else group.height,
        flow_id=int(fire["flow_id"]),
        probes_before_alert=probes,
        signature=signature,
        scanner_family=family,
        targets=int(group["dst_ip"].n_unique()),
        reasons=_parse_reasons(best["reasons"]),
    )


def _flood_alerts(table: pl.DataFrame, scanners: set[str] | None = None) -> list[Alert]:
    """Fold 2: group flood evidence (model or flood signature) by destination host."""
    candidates = _without_port_sweeps(table.filter(flood_evidence()), scanners or set())
    alerts: list[Alert] = []
    for (victim,), group in candidates.group_by(["dst_ip"], maintain_order=True):
        group = group.sort(["last_seen_us", "flow_id"])
        packets = _packets(group).cum_sum().to_numpy()
        if packets[-1] < MIN_FLOOD_PACKETS or group.height < MIN_FLOOD_FLOWS:
            continue
        fired_at = int(np.argmax(packets >= MIN_FLOOD_PACKETS))
        alerts.append(_flood_alert(str(victim), group, fired_at, int(packets[-1])))
    return alerts


def _without_port_sweeps(candidates: pl.DataFrame, scanners: set[str]) -> pl.DataFrame:
    """Flood evidence less the port sweeps of hosts fold 1 already named scanners.

    A fast SYN scan of one host is hundreds of short unanswered flows to one
    victim, which fold 2 readily takes for a flood. What tells it apart is
    that it visits port after port without carrying a byte; a flood's own
    flows hit one service (or, reflected, carry the reflector's answers).
    """
    if not scanners or "orig_bytes" not in candidates.columns:
        return candidates
    pairs = candidates.filter(pl.col("src_ip").is_in(list(scanners))).group_by(
        ["src_ip", "dst_ip"]).agg(
        pl.col("dst_port").n_unique().alias("ports"),
        pl.col("orig_bytes").fill_null(0).sum().alias("payload"))
    sweeps = pairs.filter((pl.col("ports") >= SWEEP_MIN_PORTS) & (pl.col("payload") == 0))
    if sweeps.height == 0:
        return candidates
    log.info("%d port sweep(s) of scanners left to fold 1: %s", sweeps.height,
             ", ".join(f"{r[0]} -> {r[1]}" for r in sweeps.select("src_ip", "dst_ip").iter_rows()))
    return candidates.join(sweeps.select("src_ip", "dst_ip"), on=["src_ip", "dst_ip"],
                           how="anti", maintain_order="left")


def _packets(group: pl.DataFrame) -> pl.Series:
    """Packets each flow brought to the victim (one per flow for flow logs without counts)."""
    if "orig_pkts" in group.columns:
        return group["orig_pkts"].fill_null(1)
    return pl.Series("orig_pkts", np.ones(group.height))


def _flood_signature(group: pl.DataFrame) -> str | None:
    """The flood signature whose flows alone bring the victim a flood, if any."""
    packets = _packets(group)
    for name in FLOOD_SIGNATURES:
        if packets.filter(group["signature"] == name).sum() >= MIN_FLOOD_PACKETS:
            return name
    return None


def _flood_alert(victim: str, group: pl.DataFrame, fired_at: int, packets: int) -> Alert:
    fire = group.row(fired_at, named=True)
    sources = int(group["src_ip"].n_unique())
    by_source = group.with_columns(_packets(group).alias("orig_pkts")).group_by("src_ip").agg(
        pl.col("orig_pkts").sum()).sort(["orig_pkts", "src_ip"], descending=[True, False])
    signature = _flood_signature(group)
    if signature:
        attack_type = FLOOD_SIGNATURES[signature]
    else:
        attack_type = str(_top(group.filter(
            pl.col("ddos_score") >= FLOW_SCORE_THRESHOLD)["ddos_type"]) or "unknown")
    best = group.sort("ddos_score", descending=True).row(0, named=True)
    return Alert(
        fold="detection",
        attack_type=attack_type,
        src_ip=str(by_source["src_ip"][0]),
        dest_ip=victim,
        src_port=int(_top(group["src_port"]) or 0),
        dest_port=int(_top(group["dst_port"]) or 0),
        protocol=int(_top(group["protocol"]) or 0),
        direction=str(_top(group["direction"]) or "external"),
        score=round(float(group["ddos_score"].mean()), 4),
        first_seen_us=int(group["first_seen_us"].min()),
        last_seen_us=int(group["last_seen_us"].max()),
        alert_us=int(fire["last_seen_us"]),
        flows=group.height,
        packets=packets,
        flow_id=int(fire["flow_id"]),
        signature=signature,
        sources=sources,
        spoofed=sources > SPOOFED_SOURCES,
        reasons=_parse_reasons(best["reasons"]),
    )


def _link_compromised(alerts: list[Alert]) -> None:
    """Mark outbound alerts whose home source was earlier the target of a scan."""
    scanned: dict[str, Alert] = {}
    for alert in sorted(alerts, key=lambda a: a.alert_us):
        if alert.fold == "prevention" and alert.direction in ("inbound", "internal"):
            scanned.setdefault(alert.dest_ip, alert)
    for alert in alerts:
        if alert.direction != "outbound":
            continue
        earlier = scanned.get(alert.src_ip)
        if earlier is not None and earlier.alert_us <= alert.alert_us:
            alert.compromised = {
                "device": alert.src_ip,
                "scanned_by": earlier.src_ip,
                "scanned_at_us": earlier.alert_us,
                "linked_flow_id": earlier.flow_id,
            }

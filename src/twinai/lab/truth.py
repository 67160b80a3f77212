"""Ground truth of lab runs: the labels file beside each capture, and labelling.

A run's labels file says which catalogue entry ran, from which hosts against
which addresses, from when to when (UTC microseconds), and which flow rules
pick out the attack's flows. :func:`label_flows` applies those rules to a
flow table:

A flow is the attack's when

1. its time span overlaps the attack's span (widened by ``SPAN_SLACK_US``), and
2. one of the entry's rules matches its two endpoints, in either orientation
   (the meter orients a flow by its first packet, which for a victim's
   answer to a reflector or a spoofed source can be either side).

Every other flow is ``benign``: attackers in the lab send nothing else, and
benign devices never talk to the attack's endpoints in the forms the rules
name (see the notes on each rule in :mod:`twinai.lab.catalogue`).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from twinai.errors import DatasetError
from twinai.labels import BENIGN

__all__ = [
    "AFTERMATH_US",
    "ANY_OUTSIDE_LAB",
    "LAB_BLOCK",
    "SPAN_SLACK_US",
    "FlowRule",
    "RunLabels",
    "label_flows",
    "read_labels",
]

# "Any address outside the lab": what spoofed and decoy sources look like.
ANY_OUTSIDE_LAB = "!lab"
LAB_BLOCK = "10.77.0.0/16"
# Packets already sent when the attack process exits still cross the router,
# and the victim's last answers come after the attacker stops: half a second
# each side covers both on a lab whose round trips are well under 1 ms.
SPAN_SLACK_US = 500_000
# A victim keeps answering after an attack ends: Linux retransmits a SYN-ACK
# five times (tcp_synack_retries) over about 63 s, so half-open connections of
# one flood still send into the next run's capture. Flows of a capture that
# match an earlier run's rules within this long after that run ended are
# that earlier attack's aftermath, not benign traffic.
AFTERMATH_US = 65_000_000


@dataclass(frozen=True)
class FlowRule:
    """One endpoint pair of an attack: ``a`` side against ``b`` side.

    Hosts are CIDRs (a bare address is a /32) or ``!lab`` for any address
    outside the lab. Port ranges are inclusive; None matches any port.
    """

    a_hosts: tuple[str, ...]
    b_hosts: tuple[str, ...]
    a_ports: tuple[int, int] | None = None
    b_ports: tuple[int, int] | None = None
    protocol: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, object]) -> FlowRule:
        def pair(value: object) -> tuple[int, int] | None:
            return None if value is None else (int(value[0]), int(value[1]))  # type: ignore[index]

        return cls(
            tuple(data["a_hosts"]),
            tuple(data["b_hosts"]),  # type: ignore[arg-type]
            pair(data.get("a_ports")),
            pair(data.get("b_ports")),
            None if data.get("protocol") is None else int(data["protocol"]),
        )  # type: ignore[arg-type]


@dataclass
class RunLabels:
    """The labels file of one capture (``<capture>.labels.json``)."""

    run_id: str
    label: str  # the catalogue name, or "benign" for a benign-only run
    fold: str | None
    direction: str | None
    capture: str  # file name of the pcap, beside the labels file
    start_us: int
    end_us: int
    attacker_ips: list[str] = field(default_factory=list)
    victim_ips: list[str] = field(default_factory=list)
    reflector_ips: list[str] = field(default_factory=list)
    spoofed: bool = False
    rules: list[FlowRule] = field(default_factory=list)
    commands: list[dict[str, object]] = field(default_factory=list)
    tools: dict[str, str] = field(default_factory=dict)
    home_net: list[str] = field(default_factory=list)
    session: str = ""

    def write(self, path: Path) -> None:
        data = asdict(self)
        path.write_text(json.dumps(data, indent=2) + "\n")


def read_labels(path: Path) -> RunLabels:
    """Read a labels file, naming the file and the missing key on failure."""
    try:
        data = json.loads(path.read_text())
        data["rules"] = [FlowRule.from_json(r) for r in data.get("rules", [])]
        return RunLabels(**data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(
            f"{path}: not a lab labels file ({exc}); regenerate it with "
            "`twinai lab run`"
        ) from exc


def _host_expr(column: str, hosts: tuple[str, ...]) -> pl.Expr:
    """True where the address column falls in one of ``hosts``."""
    value = _ip_int(column)
    terms = []
    for spec in hosts:
        if spec == ANY_OUTSIDE_LAB:
            net = ipaddress.ip_network(LAB_BLOCK)
            terms.append(
                ~value.is_between(int(net.network_address), int(net.broadcast_address))
            )
            continue
        net = ipaddress.ip_network(spec, strict=False)
        terms.append(
            value.is_between(int(net.network_address), int(net.broadcast_address))
        )
    expr = pl.any_horizontal(terms) if terms else pl.lit(False)
    return expr.fill_null(False)


def _ip_int(column: str) -> pl.Expr:
    """IPv4 dotted text as an integer (null for IPv6)."""
    parts = pl.col(column).str.split(".")
    value = pl.lit(0, dtype=pl.Int64)
    for i in range(4):
        value = value * 256 + parts.list.get(i, null_on_oob=True).cast(
            pl.Int64, strict=False
        )
    return value


def _port_expr(column: str, ports: tuple[int, int] | None) -> pl.Expr:
    if ports is None:
        return pl.lit(True)
    return pl.col(column).is_between(ports[0], ports[1])


def _rule_expr(rule: FlowRule) -> pl.Expr:
    forward = (
        _host_expr("src_ip", rule.a_hosts)
        & _host_expr("dst_ip", rule.b_hosts)
        & _port_expr("src_port", rule.a_ports)
        & _port_expr("dst_port", rule.b_ports)
    )
    backward = (
        _host_expr("dst_ip", rule.a_hosts)
        & _host_expr("src_ip", rule.b_hosts)
        & _port_expr("dst_port", rule.a_ports)
        & _port_expr("src_port", rule.b_ports)
    )
    expr = forward | backward
    if rule.protocol is not None:
        expr = expr & (pl.col("protocol") == rule.protocol)
    return expr


def attack_mask(run: RunLabels, after_us: int = 0) -> pl.Expr:
    """Boolean expression: the flow is the run's attack traffic.

    ``after_us`` widens the span past the attack's end (for its aftermath).
    """
    if run.label == BENIGN or not run.rules:
        return pl.lit(False)
    in_span = (pl.col("first_seen_us") <= run.end_us + SPAN_SLACK_US + after_us) & (
        pl.col("last_seen_us") >= run.start_us - SPAN_SLACK_US
    )
    matched = pl.any_horizontal([_rule_expr(rule) for rule in run.rules])
    return in_span & matched


def label_flows(
    flows: pl.DataFrame,
    run: RunLabels,
    earlier: list[RunLabels] | tuple[RunLabels, ...] = (),
) -> pl.DataFrame:
    """Add ``label`` and ``run_id`` to the flows metered from one run's capture.

    ``earlier`` are runs of the same lab session that ended before this one
    began; a flow that is not this run's attack but matches one of them
    within ``AFTERMATH_US`` of its end gets that run's label (the most
    recent run first).
    """
    label = pl.when(attack_mask(run)).then(pl.lit(run.label))
    recent = sorted(
        (
            r
            for r in earlier
            if r.end_us <= run.start_us and r.end_us + AFTERMATH_US >= run.start_us
        ),
        key=lambda r: r.end_us,
        reverse=True,
    )
    for previous in recent:
        label = label.when(attack_mask(previous, AFTERMATH_US)).then(
            pl.lit(previous.label)
        )
    return flows.with_columns(
        label.otherwise(pl.lit(BENIGN)).alias("label"),
        pl.lit(run.run_id).alias("run_id"),
    )

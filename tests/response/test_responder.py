"""Responder: policy, firewall and audit log together, as the live loop uses them."""

from __future__ import annotations

import ipaddress
import time
from pathlib import Path

import pytest
from response_netns import NamespacePair, in_ns, pings

from twinai.errors import ResponseError
from twinai.response import (
    DETECTION,
    PREVENTION,
    WATCH_WHO,
    AuditLog,
    BlockPolicy,
    BlockRequest,
    DryRunFirewall,
    HostFacts,
    NftablesFirewall,
    Responder,
)

NO_HOST = HostFacts(addresses=frozenset(), gateways=frozenset())


def dry_responder(tmp_path: Path) -> tuple[Responder, DryRunFirewall]:
    firewall = DryRunFirewall()
    policy = BlockPolicy(host=NO_HOST, home_nets=["192.168.1.0/24"])
    return Responder(firewall, policy, AuditLog(tmp_path / "audit.jsonl")), firewall


def test_scan_verdict_blocks_and_audits_as_watch(tmp_path: Path) -> None:
    responder, firewall = dry_responder(tmp_path)

    response = responder.respond(
        BlockRequest("203.0.113.9", "scan/tcp-syn", PREVENTION)
    )

    assert response.result is not None and response.result.ttl_s == 3600
    assert [str(e.ip) for e in firewall.list_blocked()] == ["203.0.113.9"]
    [line] = responder.audit.read()
    assert (line["who"], line["what"], line["fold"]) == (WATCH_WHO, "block", PREVENTION)


def test_spoofed_flood_is_not_chased_and_not_audited(tmp_path: Path) -> None:
    responder, firewall = dry_responder(tmp_path)
    request = BlockRequest("203.0.113.50", "ddos/syn-flood", DETECTION, spoofed=True)

    response = responder.respond(request)

    assert response.result is None and not response.decision.block
    assert firewall.actions == [] and responder.audit.read() == []


def test_repeated_verdicts_do_not_renew_a_fresh_block(tmp_path: Path) -> None:
    responder, firewall = dry_responder(tmp_path)
    request = BlockRequest("203.0.113.9", "scan/tcp-syn", PREVENTION)

    first = responder.respond(request, ttl_s=600)
    second = responder.respond(request, ttl_s=600)

    assert first.result is not None and second.result is None
    assert second.decision.block
    assert len(firewall.actions) == 1 and len(responder.audit.read()) == 1


def test_unblock_is_audited(tmp_path: Path) -> None:
    responder, firewall = dry_responder(tmp_path)
    responder.respond(BlockRequest("2001:db8::5", "scan", PREVENTION))

    responder.unblock("2001:db8::5", reason="operator lifted it")

    assert firewall.list_blocked() == []
    assert [r["what"] for r in responder.audit.read()] == ["block", "unblock"]


def test_dry_run_changes_no_ruleset(pair: NamespacePair, tmp_path: Path) -> None:
    policy = BlockPolicy(netns=pair.host)
    responder = Responder(DryRunFirewall(), policy, AuditLog(tmp_path / "a.jsonl"))

    responder.respond(BlockRequest(pair.outside_ip4, "scan", PREVENTION))

    assert in_ns(pair.host, "nft", "list", "ruleset").stdout.strip() == ""
    assert pings(pair.outside, pair.host_ip4)
    assert responder.audit.read()[0]["dry_run"] is True


def test_enforced_verdict_drops_traffic(pair: NamespacePair, tmp_path: Path) -> None:
    firewall = NftablesFirewall(netns=pair.host)
    policy = BlockPolicy(netns=pair.host)
    responder = Responder(
        firewall, policy, AuditLog(tmp_path / "a.jsonl"), netns=pair.host
    )

    response = responder.respond(BlockRequest(pair.outside_ip4, "scan", PREVENTION))

    assert response.result is not None and response.result.changed
    assert not pings(pair.outside, pair.host_ip4)
    assert responder.audit.read()[0]["netns"] == pair.host


def test_failed_block_raises_and_writes_no_audit_line(
    root_namespaces: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    firewall = NftablesFirewall(netns="twinai-no-such-ns")
    responder = Responder(
        firewall, BlockPolicy(host=NO_HOST), AuditLog(tmp_path / "a.jsonl")
    )

    with pytest.raises(ResponseError, match="twinai-no-such-ns"):
        responder.respond(BlockRequest("203.0.113.9", "scan", PREVENTION))

    assert responder.audit.read() == []
    assert "block of 203.0.113.9 not applied" in caplog.text


def test_dry_run_list_forgets_expired_blocks() -> None:
    firewall = DryRunFirewall()
    firewall.block(ipaddress.ip_address("203.0.113.9"), 1, "x")
    firewall.block(ipaddress.ip_address("203.0.113.10"), 60, "y")

    time.sleep(1.1)

    assert [str(e.ip) for e in firewall.list_blocked()] == ["203.0.113.10"]

"""BlockPolicy: who may and may not be blocked."""

from __future__ import annotations

import ipaddress

import pytest
from response_netns import NamespacePair, in_ns

from twinai.errors import InputError, ResponseError
from twinai.response import (
    DETECTION,
    PREVENTION,
    BlockPolicy,
    BlockRequest,
    HostFacts,
    read_host_facts,
)

ROUTER = HostFacts(
    addresses=frozenset(
        {ipaddress.ip_address("192.168.1.1"), ipaddress.ip_address("fd00::1")}
    ),
    gateways=frozenset({ipaddress.ip_address("198.51.100.1")}),
)


def policy(**kwargs: object) -> BlockPolicy:
    return BlockPolicy(host=ROUTER, home_nets=["192.168.1.0/24"], **kwargs)  # type: ignore[arg-type]


def test_outside_scanner_is_blocked_inbound() -> None:
    decision = policy().decide(BlockRequest("203.0.113.9", "scan/tcp-syn", PREVENTION))

    assert decision.block
    assert decision.direction == "inbound"
    assert decision.why == "block 203.0.113.9: scan/tcp-syn"


def test_scanning_home_device_is_quarantined_outbound() -> None:
    decision = policy().decide(BlockRequest("192.168.1.23", "telnet sweep", PREVENTION))

    assert decision.block
    assert decision.direction == "outbound"
    assert decision.why.startswith("quarantine home device 192.168.1.23")


def test_non_spoofed_flood_source_is_blocked() -> None:
    decision = policy().decide(
        BlockRequest("203.0.113.50", "ddos/udp-flood", DETECTION)
    )

    assert decision.block


@pytest.mark.parametrize(
    ("ip", "spoofed", "words"),
    [
        ("203.0.113.50", True, "is a spoofed source"),
        ("10.9.4.4", False, "is in the allow-list (10.9.0.0/16)"),
        ("192.168.1.1", False, "is an address of this host"),
        ("fd00::1", False, "is an address of this host"),
        ("198.51.100.1", False, "is the home gateway"),
        ("127.0.0.1", False, "is not a unicast host address"),
        ("224.0.0.251", False, "is not a unicast host address"),
        ("255.255.255.255", False, "is not a unicast host address"),
    ],
)
def test_refusals_say_why(ip: str, spoofed: bool, words: str) -> None:
    request = BlockRequest(ip, "ddos/syn-flood", DETECTION, spoofed=spoofed)

    decision = policy(allow=["10.9.0.0/16"]).decide(request)

    assert not decision.block
    assert decision.why.startswith(f"refused: {ipaddress.ip_address(ip)} {words}")


def test_ipv4_mapped_address_is_judged_as_ipv4() -> None:
    decision = policy().decide(BlockRequest("::ffff:192.168.1.1", "x", PREVENTION))

    assert not decision.block
    assert str(decision.ip) == "192.168.1.1"


@pytest.mark.parametrize(
    ("request_", "words"),
    [
        (BlockRequest("not-an-ip", "x"), "ip must be one IPv4 or IPv6 address"),
        (BlockRequest("10.0.0.0/24", "x"), "got '10.0.0.0/24'"),
        (BlockRequest("203.0.113.9", "x", fold="fold3"), "fold must be one of"),
    ],
)
def test_bad_requests_raise_input_error(request_: BlockRequest, words: str) -> None:
    with pytest.raises(InputError, match=words):
        policy().decide(request_)


def test_bad_allow_network_is_named() -> None:
    with pytest.raises(InputError, match="got '10.0.0.0/33'"):
        BlockPolicy(allow=["10.0.0.0/33"], host=ROUTER)


def test_host_facts_are_read_from_the_namespace(pair: NamespacePair) -> None:
    in_ns(pair.host, "ip", "route", "add", "default", "via", pair.outside_ip4)

    facts = read_host_facts(pair.host)

    assert {str(a) for a in facts.addresses} >= {
        pair.host_ip4,
        pair.host_ip6,
        "127.0.0.1",
    }
    assert {str(g) for g in facts.gateways} == {pair.outside_ip4}


def test_policy_in_namespace_refuses_own_address_and_gateway(
    pair: NamespacePair,
) -> None:
    in_ns(pair.host, "ip", "route", "add", "default", "via", pair.outside_ip4)
    live = BlockPolicy(netns=pair.host)

    own = live.decide(BlockRequest(pair.host_ip6, "x", PREVENTION))
    gateway = live.decide(BlockRequest(pair.outside_ip4, "x", PREVENTION))
    stranger = live.decide(BlockRequest("203.0.113.9", "x", PREVENTION))

    assert "is an address of this host" in own.why
    assert "is the home gateway" in gateway.why
    assert stranger.block


def test_unknown_namespace_is_a_response_error(root_namespaces: None) -> None:
    with pytest.raises(ResponseError, match="ip -j -n twinai-no-such-ns addr show"):
        read_host_facts("twinai-no-such-ns")

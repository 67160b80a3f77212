"""NftablesFirewall in real namespaces: blocks drop real packets and expire."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import time

import pytest
from response_netns import NamespacePair, RoutedHome, in_ns, pings

from twinai.errors import ResponseError
from twinai.response import CHAIN_PRIORITY, NftablesFirewall

pytestmark = pytest.mark.root


def test_block_drops_ping_and_remove_restores_it(pair: NamespacePair) -> None:
    firewall = NftablesFirewall(netns=pair.host)
    assert pings(pair.outside, pair.host_ip4)

    result = firewall.block(ipaddress.ip_address(pair.outside_ip4), 60, "scan/tcp-syn")

    assert result.changed and not result.dry_run and result.ttl_s == 60
    assert not pings(pair.outside, pair.host_ip4)

    removed = firewall.unblock(ipaddress.ip_address(pair.outside_ip4))

    assert removed.changed
    assert pings(pair.outside, pair.host_ip4)


def test_block_expires_after_its_ttl(pair: NamespacePair) -> None:
    firewall = NftablesFirewall(netns=pair.host)
    firewall.block(ipaddress.ip_address(pair.outside_ip4), 2, "short block")
    assert not pings(pair.outside, pair.host_ip4)

    time.sleep(2.5)

    assert pings(pair.outside, pair.host_ip4)
    assert firewall.list_blocked() == []


def test_ipv6_block_drops_ping6(pair: NamespacePair) -> None:
    firewall = NftablesFirewall(netns=pair.host)
    assert pings(pair.outside, pair.host_ip6)

    firewall.block(ipaddress.ip_address(pair.outside_ip6), 60, "v6 scanner")

    assert not pings(pair.outside, pair.host_ip6)
    assert pings(pair.outside, pair.host_ip4)  # only the v6 address is blocked
    [entry] = firewall.list_blocked()
    assert entry.ip == ipaddress.ip_address(pair.outside_ip6)


def test_list_shows_timeout_expiry_and_reason(pair: NamespacePair) -> None:
    firewall = NftablesFirewall(netns=pair.host)
    firewall.block(ipaddress.ip_address("203.0.113.9"), 600, "scan/tcp-syn 40 probes")
    firewall.block(ipaddress.ip_address("2001:db8::9"), 120, "ddos/udp-flood")

    entries = firewall.list_blocked()

    assert [str(entry.ip) for entry in entries] == ["2001:db8::9", "203.0.113.9"]
    assert [entry.timeout_s for entry in entries] == [120, 600]
    assert 110 <= entries[0].expires_in_s <= 120
    assert 590 <= entries[1].expires_in_s <= 600
    assert entries[1].reason == "scan/tcp-syn 40 probes"


def test_second_block_renews_timeout_and_reason(pair: NamespacePair) -> None:
    firewall = NftablesFirewall(netns=pair.host)
    address = ipaddress.ip_address("203.0.113.9")
    firewall.block(address, 30, "first")

    firewall.block(address, 900, "second")

    [entry] = firewall.list_blocked()
    assert (entry.timeout_s, entry.reason) == (900, "second")


def test_table_has_input_and_forward_drop_rules_before_filter(
    pair: NamespacePair,
) -> None:
    firewall = NftablesFirewall(netns=pair.host)
    firewall.ensure_table()
    firewall.ensure_table()
    NftablesFirewall(netns=pair.host).ensure_table()  # a second process, same table

    listing = json.loads(
        in_ns(pair.host, "nft", "-j", "list", "table", "inet", "twinai").stdout
    )
    items = listing["nftables"]
    chains = {i["chain"]["name"]: i["chain"] for i in items if "chain" in i}
    rules = [i["rule"] for i in items if "rule" in i]

    assert {name: c["hook"] for name, c in chains.items()} == {
        "input": "input",
        "forward": "forward",
    }
    assert all(c["prio"] == CHAIN_PRIORITY < 0 for c in chains.values())
    assert [r["chain"] for r in rules].count("input") == 2  # not doubled by re-setup
    assert [r["chain"] for r in rules].count("forward") == 4
    assert all(r["expr"][-1] == {"drop": None} for r in rules)


def test_remove_table_leaves_other_tables(pair: NamespacePair) -> None:
    in_ns(pair.host, "nft", "add", "table", "inet", "someone_else")
    firewall = NftablesFirewall(netns=pair.host)
    firewall.block(ipaddress.ip_address("203.0.113.9"), 60, "x")

    firewall.remove_table()

    tables = in_ns(pair.host, "nft", "list", "tables").stdout.split()
    assert "someone_else" in tables and "twinai" not in tables
    assert firewall.list_blocked() == []


def test_unblock_of_unknown_address_changes_nothing(pair: NamespacePair) -> None:
    firewall = NftablesFirewall(netns=pair.host)

    result = firewall.unblock(ipaddress.ip_address("203.0.113.77"))

    assert not result.changed


def test_quarantined_device_is_cut_off_from_outside(home: RoutedHome) -> None:
    firewall = NftablesFirewall(netns=home.router)
    assert pings(home.device, home.outside_ip4)
    assert pings(home.outside, home.device_ip4)

    firewall.block(ipaddress.ip_address(home.device_ip4), 60, "telnet sweep outbound")

    assert not pings(home.device, home.outside_ip4)  # forward, saddr
    assert not pings(home.outside, home.device_ip4)  # forward, daddr
    firewall.unblock(ipaddress.ip_address(home.device_ip4))
    assert pings(home.device, home.outside_ip4)


def test_blocked_scanner_cannot_reach_device_behind_router(home: RoutedHome) -> None:
    firewall = NftablesFirewall(netns=home.router)
    assert pings(home.outside, home.device_ip4)

    firewall.block(ipaddress.ip_address(home.outside_ip4), 60, "scan/tcp-syn")

    assert not pings(home.outside, home.device_ip4)
    assert not pings(home.outside, home.router_wan_ip4)


def test_missing_namespace_names_command_and_nft_error(root_namespaces: None) -> None:
    firewall = NftablesFirewall(netns="twinai-no-such-ns")

    with pytest.raises(ResponseError) as caught:
        firewall.block(ipaddress.ip_address("203.0.113.9"), 60, "x")

    message = str(caught.value)
    assert "ip netns exec twinai-no-such-ns nft" in message
    assert "twinai-no-such-ns" in message and "ip netns list" in message


def test_missing_nft_binary_says_what_to_install(pair: NamespacePair) -> None:
    firewall = NftablesFirewall(netns=pair.host, nft="/nonexistent/nft")

    with pytest.raises(ResponseError, match="apt-get install nftables"):
        firewall.list_blocked()


def test_host_ruleset_is_not_touched(pair: NamespacePair) -> None:
    before = host_tables()
    firewall = NftablesFirewall(netns=pair.host)

    firewall.block(ipaddress.ip_address("203.0.113.9"), 60, "x")

    assert ("twinai" in host_tables()) == ("twinai" in before)
    assert in_ns(pair.host, "nft", "list", "tables").stdout.split() == [
        "table",
        "inet",
        "twinai",
    ]


def host_tables() -> list[str]:
    """The table names of the host's own namespace (read only)."""
    argv = ["nft", "list", "tables"]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return done.stdout.split()

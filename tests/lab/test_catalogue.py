"""The lab catalogue: counts, names, bounds, and the `twinai lab` listing and plan."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from twinai.cli.cmd_lab import command
from twinai.errors import InputError
from twinai.flows.schema import DIRECTIONS
from twinai.lab.catalogue import CATALOGUE, ddos_entries, entries_named, scan_entries
from twinai.labels import family, is_valid_label


def test_catalogue_has_at_least_33_scans_and_60_ddos() -> None:
    assert len(scan_entries()) >= 33
    assert len(ddos_entries()) >= 60


def test_every_entry_has_a_valid_label_fold_and_direction() -> None:
    for entry in CATALOGUE:
        assert is_valid_label(entry.name), entry.name
        assert (
            entry.fold
            == {"scan": "prevention", "ddos": "detection"}[family(entry.name)]
        )
        assert entry.direction in DIRECTIONS
        assert entry.attackers and entry.victims


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: e.name)
def test_every_command_is_bounded_in_packets_and_seconds(entry) -> None:  # type: ignore[no-untyped-def]
    argv = entry.command
    if entry.tool == "hping3":
        assert "-c" in argv and int(argv[argv.index("-c") + 1]) <= entry.max_packets
    elif entry.tool == "nmap":
        assert "--max-retries" in argv and "--host-timeout" in argv
    else:
        assert "--count" in argv and "--seconds" in argv
        assert float(argv[argv.index("--seconds") + 1]) < entry.max_seconds
    assert 0 < entry.max_seconds <= 60


def test_nmap_techniques_and_tcp_flag_floods_are_all_there() -> None:
    nmap_flags = {arg for e in CATALOGUE if e.tool == "nmap" for arg in e.command}
    for flag in (
        "-sS",
        "-sT",
        "-sU",
        "-sA",
        "-sW",
        "-sM",
        "-sN",
        "-sF",
        "-sX",
        "-sO",
        "-sY",
        "-sZ",
        "-PE",
        "-PP",
        "-PM",
        "-PS",
        "-PA",
        "-PU",
        "-PR",
        "-sV",
        "-O",
        "-T0",
        "-T1",
        "-T2",
        "-T3",
        "-T4",
        "-T5",
        "-f",
        "-D",
        "--source-port",
    ):
        assert flag in nmap_flags, flag
    names = {e.name for e in CATALOGUE}
    for flag in (
        "syn",
        "ack",
        "syn-ack",
        "rst",
        "fin",
        "psh-ack",
        "urg",
        "xmas",
        "null",
    ):
        assert f"ddos/tcp-{flag}-flood" in names
        assert f"ddos/tcp-{flag}-flood-spoofed" in names
        assert f"ddos/tcp-{flag}-flood-outbound" in names
    for service in ("dns", "ntp", "ssdp", "coap"):
        assert f"ddos/{service}-reflection" in names
        assert f"ddos/{service}-reflection-outbound" in names


def test_spoofed_entries_forge_sources_and_botnets_use_several_hosts() -> None:
    for entry in CATALOGUE:
        if entry.spoofed:
            assert {"--rand-source", "--spoof", "-D"} & set(entry.command), entry.name
        if entry.name.endswith("-botnet"):
            assert len(entry.attackers) >= 2, entry.name
    directions = {e.direction for e in CATALOGUE}
    assert {"inbound", "outbound"} <= directions


def test_catalogue_json_lists_every_entry_with_the_four_keys() -> None:
    result = CliRunner().invoke(command, ["catalogue", "--json"])

    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [item["name"] for item in listed] == [e.name for e in CATALOGUE]
    for item in listed:
        assert {"name", "fold", "direction", "command"} <= set(item)
        assert isinstance(item["command"], list) and item["command"]


def test_catalogue_table_ends_with_the_counts() -> None:
    result = CliRunner().invoke(command, ["catalogue"])

    assert result.exit_code == 0
    last = result.output.strip().splitlines()[-1]
    assert last == (
        f"{len(CATALOGUE)} entries: {len(scan_entries())} scan, "
        f"{len(ddos_entries())} DDoS"
    )


def test_dry_run_prints_the_plan_without_building(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "runs"
    result = CliRunner().invoke(
        command,
        [
            "run",
            "--dry-run",
            "--out",
            str(out),
            "--only",
            "scan/tcp-syn",
            "--only",
            "ddos/tcp-syn-flood-botnet",
        ],
    )

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    syn = [line for line in lines if line.startswith("scan/tcp-syn ")]
    assert len(syn) == 1 and "nmap -n" in syn[0] and "-sS" in syn[0]
    botnet = [line for line in lines if line.startswith("ddos/tcp-syn-flood-botnet ")]
    assert [line.split("[")[1].split()[0] for line in botnet] == [
        "atk1",
        "atk2",
        "atk3",
    ]
    assert lines[-1] == "remove every namespace of the session"
    assert not out.exists()


def test_unknown_entry_names_are_refused_with_the_fix() -> None:
    with pytest.raises(
        InputError, match="unknown catalogue entries: scan/nope.*lab catalogue"
    ):
        entries_named(["scan/tcp-syn", "scan/nope"])

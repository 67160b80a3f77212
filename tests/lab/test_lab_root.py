"""The lab for real: namespaces, devices, attacks, captures, labels (needs root).

One module-scoped lab session runs a SYN scan and a spoofed SYN flood with a
short benign-only capture; the tests then check what came out against the
traffic itself. Runs in about half a minute.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from twinai.errors import LabError
from twinai.lab.catalogue import entries_named
from twinai.lab.dataset import build_dataset, dataset_card
from twinai.lab.runner import RunOptions, run_entries
from twinai.lab.topology import (
    NS_PREFIX,
    clean_leftovers,
    host_ip,
    leftover_namespaces,
    require_lab_tools,
)
from twinai.lab.truth import RunLabels

pytestmark = [pytest.mark.root, pytest.mark.slow]

TOOLS = ("ip", "tcpdump", "nmap", "hping3")
SMOKE_ENTRIES = ["scan/tcp-syn", "ddos/tcp-syn-flood-spoofed"]
BENIGN_HOSTS = {host_ip(h) for h in ("cam", "hub", "sensor", "phone")}


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root for network namespaces and raw sockets"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"the lab needs {', '.join(missing)} on PATH"
    return None


needs_lab = pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))


@pytest.fixture(scope="module")
def session() -> str:
    return "t" + secrets.token_hex(3)


@pytest.fixture(scope="module")
def lab_run(
    tmp_path_factory: pytest.TempPathFactory,
    session: str,
) -> tuple[Path, list[RunLabels], pl.DataFrame]:
    if _skip_reason():
        pytest.skip(str(_skip_reason()))
    out = tmp_path_factory.mktemp("lab")
    runs = run_entries(
        entries_named(SMOKE_ENTRIES),
        RunOptions(out_dir=out, benign_seconds=3.0, session=session),
    )
    table, _ = build_dataset(out)
    return out, runs, table


@needs_lab
def test_every_run_leaves_a_capture_and_a_labels_file(lab_run) -> None:  # type: ignore[no-untyped-def]
    out, runs, _ = lab_run

    assert [r.label for r in runs] == ["benign", *SMOKE_ENTRIES]
    for run in runs:
        capture = out / run.capture
        assert capture.stat().st_size > 24  # more than a pcap header
        assert (out / capture.name.replace(".pcap", ".labels.json")).exists()
        assert run.start_us < run.end_us
        assert run.tools["nmap"] != "unknown" and run.tools["hping3"] != "unknown"
    assert runs[1].attacker_ips == [host_ip("atk1")]
    assert runs[1].victim_ips == [host_ip("cam")]


@needs_lab
def test_syn_scan_flows_come_from_the_attacker_and_hit_the_target(lab_run) -> None:  # type: ignore[no-untyped-def]
    _, runs, table = lab_run
    scan = table.filter(pl.col("run_id") == runs[1].run_id)
    labelled = scan.filter(pl.col("label") == "scan/tcp-syn")

    # nmap --top-ports 100 against one host: one flow per probed port.
    assert labelled.height >= 95
    assert set(labelled["src_ip"]) == {host_ip("atk1")}
    assert set(labelled["dst_ip"]) == {host_ip("cam")}
    assert labelled["dst_port"].n_unique() == labelled.height
    others = scan.filter(pl.col("label") != "scan/tcp-syn")
    assert set(others["label"]) <= {"benign"}
    assert host_ip("atk1") not in set(others["src_ip"]) | set(others["dst_ip"])


@needs_lab
def test_benign_traffic_runs_under_attacks_and_is_never_labelled_attack(
    lab_run,
) -> None:  # type: ignore[no-untyped-def]
    _, runs, table = lab_run
    between_devices = table.filter(
        pl.col("src_ip").is_in(list(BENIGN_HOSTS))
        & pl.col("dst_ip").is_in(list(BENIGN_HOSTS))
    )

    assert set(between_devices["label"]) == {"benign"}
    benign_only = table.filter(pl.col("run_id") == runs[0].run_id)
    assert set(benign_only["label"]) == {"benign"} and benign_only.height >= 5
    for run in runs[1:]:
        during = table.filter(
            (pl.col("run_id") == run.run_id) & (pl.col("label") == "benign")
        )
        assert during.height > 0, f"no benign flows under {run.label}"
    services = set(zip(table["dst_port"].to_list(), table["protocol"].to_list()))
    assert {(1883, 6), (5683, 17), (53, 17), (80, 6)} <= services


@needs_lab
def test_spoofed_flood_flows_all_target_the_victim_from_forged_sources(lab_run) -> None:  # type: ignore[no-untyped-def]
    _, runs, table = lab_run
    flood = table.filter(pl.col("label") == "ddos/tcp-syn-flood-spoofed")

    # 600 SYNs from random sources; the router drops the few martian ones.
    assert flood.height >= 500
    assert set(flood["dst_ip"]) == {host_ip("cam")} and set(flood["dst_port"]) == {80}
    assert not set(flood["src_ip"]) & (BENIGN_HOSTS | {host_ip("atk1")})
    card = dataset_card(table, runs, Path("."), "x.parquet")
    assert (
        f"| `ddos/tcp-syn-flood-spoofed` | detection | inbound | {flood.height} | 1 |"
        in card
    )


@needs_lab
def test_no_namespace_of_the_session_is_left(lab_run, session: str) -> None:  # type: ignore[no-untyped-def]
    assert leftover_namespaces(f"{NS_PREFIX}{session}-") == []


@needs_lab
def test_clean_removes_leftover_namespaces_of_a_killed_lab() -> None:
    prefix = f"{NS_PREFIX}c{secrets.token_hex(3)}-"
    subprocess.run(["ip", "netns", "add", f"{prefix}router"], check=True)

    assert clean_leftovers(prefix) == [f"{prefix}router"]
    assert leftover_namespaces(prefix) == []


def test_missing_tools_are_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LabError) as raised:
        require_lab_tools()
    message = str(raised.value)
    assert "\n" not in message
    assert (
        ("needs root" in message)
        if os.geteuid()
        else ("hping3, ip, nmap, tcpdump on PATH" in message)
    )

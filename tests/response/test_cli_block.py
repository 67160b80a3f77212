"""``twinai block`` through click's CliRunner, and once through the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from response_netns import NamespacePair, in_ns, pings

from twinai.cli.cmd_block import command
from twinai.errors import InputError

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(command, list(args))
    return result.exit_code, result.output, result.exception


def test_add_list_remove_in_namespace(pair: NamespacePair, tmp_path: Path) -> None:
    audit = str(tmp_path / "audit.jsonl")
    common = ["--netns", pair.host, "--audit-log", audit, "--who", "alice"]

    code, out, _ = run(
        "add",
        pair.outside_ip4,
        "--ttl",
        "10m",
        "--reason",
        "manual scan block",
        *common,
    )
    assert (code, out) == (
        0,
        f"blocked {pair.outside_ip4} (inbound) for 10m: manual scan block\n",
    )
    assert not pings(pair.outside, pair.host_ip4)

    code, out, _ = run("list", "--netns", pair.host)
    header, row = out.splitlines()
    assert header.split() == ["ADDRESS", "EXPIRES-IN", "TTL", "REASON"]
    assert row.split()[0] == pair.outside_ip4 and row.split()[2] == "10m"
    assert row.endswith("manual scan block")

    code, out, _ = run("remove", pair.outside_ip4, *common)
    assert (code, out) == (0, f"unblocked {pair.outside_ip4}\n")
    assert pings(pair.outside, pair.host_ip4)

    records = [json.loads(line) for line in Path(audit).read_text().splitlines()]
    assert [(r["who"], r["what"], r["ip"]) for r in records] == [
        ("alice", "block", pair.outside_ip4),
        ("alice", "unblock", pair.outside_ip4),
    ]
    assert records[0]["ttl_s"] == 600 and records[0]["why"] == "manual scan block"


def test_list_json_and_empty(pair: NamespacePair, tmp_path: Path) -> None:
    code, out, _ = run("list", "--netns", pair.host)
    assert (code, out) == (0, "no address is blocked\n")

    run(
        "add",
        "2001:db8::9",
        "--ttl",
        "90s",
        "--netns",
        pair.host,
        "--audit-log",
        str(tmp_path / "a.jsonl"),
    )
    code, out, _ = run("list", "--netns", pair.host, "--json")

    entry = json.loads(out)
    assert (entry["ip"], entry["timeout_s"], entry["reason"]) == (
        "2001:db8::9",
        90,
        "blocked by operator",
    )


def test_dry_run_add_changes_nothing(pair: NamespacePair, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"

    code, out, _ = run(
        "add",
        pair.outside_ip4,
        "--dry-run",
        "--netns",
        pair.host,
        "--audit-log",
        str(audit),
    )

    assert (code, out) == (
        0,
        f"would block {pair.outside_ip4} (inbound) for 1h: blocked by operator\n",
    )
    assert in_ns(pair.host, "nft", "list", "ruleset").stdout.strip() == ""
    assert json.loads(audit.read_text())["dry_run"] is True


def test_refuses_own_address_and_allow_list(
    pair: NamespacePair, tmp_path: Path
) -> None:
    audit = tmp_path / "audit.jsonl"
    common = ["--netns", pair.host, "--audit-log", str(audit)]

    _, _, own = run("add", pair.host_ip4, *common)
    _, _, allowed = run("add", pair.outside_ip4, "--allow", "10.77.0.0/24", *common)

    assert isinstance(own, InputError)
    assert str(own) == (
        f"refused: {pair.host_ip4} is an address of this host; nothing was blocked"
    )
    assert isinstance(allowed, InputError) and "allow-list (10.77.0.0/24)" in str(
        allowed
    )
    assert in_ns(pair.host, "nft", "list", "ruleset").stdout.strip() == ""
    assert audit.read_text() == ""


def test_bad_ip_and_bad_ttl_are_usage_errors(tmp_path: Path) -> None:
    audit = ["--audit-log", str(tmp_path / "a.jsonl"), "--dry-run"]

    code, out, _ = run("add", "300.1.2.3", *audit)
    assert code == 2 and "ip must be one IPv4 or IPv6 address" in out
    assert "'300.1.2.3'" in out

    code, out, _ = run("add", "203.0.113.9", "--ttl", "forever", *audit)
    assert code == 2 and "--ttl must be a duration like 30s, 10m, 1h" in out

    code, out, _ = run("add", "203.0.113.9", "--allow", "10.0.0.0/33", *audit)
    assert code == 2 and "got '10.0.0.0/33'" in out


def test_entry_point_prints_one_error_line_and_exits_2(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    argv = [
        sys.executable,
        "-m",
        "twinai.cli.main",
        "block",
        "add",
        "127.0.0.1",
        "--dry-run",
        "--audit-log",
        str(tmp_path / "a.jsonl"),
    ]

    done = subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=60, check=False
    )

    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "twinai: error: refused: 127.0.0.1 is not a unicast host address; "
        "nothing was blocked"
    )

"""AuditLog: one JSON line per block and unblock, appended only."""

from __future__ import annotations

import ipaddress
import json
from datetime import datetime
from pathlib import Path

import pytest

from twinai.errors import InputError
from twinai.response import AuditLog, BlockResult, DryRunFirewall


def test_block_line_has_who_what_why_when_until(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    result = DryRunFirewall().block(ipaddress.ip_address("203.0.113.9"), 600, "scan")

    audit.record(
        result,
        who="alice",
        why="scan/tcp-syn",
        fold="prevention",
        direction="inbound",
        netns="lab",
    )

    [line] = (tmp_path / "audit.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert {k: record[k] for k in ("who", "what", "ip", "why", "ttl_s", "fold")} == {
        "who": "alice",
        "what": "block",
        "ip": "203.0.113.9",
        "why": "scan/tcp-syn",
        "ttl_s": 600,
        "fold": "prevention",
    }
    when = datetime.fromisoformat(record["when"])
    until = datetime.fromisoformat(record["until"])
    assert 599 <= (until - when).total_seconds() <= 601
    assert record["dry_run"] is True and record["changed"] is False
    assert record["netns"] == "lab" and record["direction"] == "inbound"


def test_lines_are_appended_never_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text('{"earlier": "line"}\n')
    audit = AuditLog(path)
    unblock = BlockResult(
        action="unblock",
        ip=ipaddress.ip_address("2001:db8::1"),
        changed=True,
        dry_run=False,
        backend="nftables",
    )

    audit.record(unblock, who="bob", why="false positive")
    audit.record(unblock, who="bob", why="again")

    records = audit.read()
    assert records[0] == {"earlier": "line"}
    assert [(r["what"], r["why"], r["until"]) for r in records[1:]] == [
        ("unblock", "false positive", None),
        ("unblock", "again", None),
    ]


def test_unwritable_audit_log_names_file_and_option(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    with pytest.raises(InputError, match="--audit-log") as caught:
        AuditLog(blocker / "audit.jsonl")

    assert str(blocker / "audit.jsonl") in str(caught.value)

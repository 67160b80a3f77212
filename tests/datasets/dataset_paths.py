"""Paths and the ground truth of ../shared/data for the dataset tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
FIXTURES = Path(__file__).parent / "fixtures"


def flow_files() -> list[dict[str, Any]]:
    """truth.json entries of every flow log and CSV (captures excluded)."""
    truth_path = SHARED / "truth.json"
    if not truth_path.exists():
        return []
    entries = json.loads(truth_path.read_text())
    return [e for e in entries if e["kind"] != "pcap"]

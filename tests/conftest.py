"""Fixtures shared by the test folders: where the shared public captures lie."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Read-only public captures beside the repository (see its MANIFEST.md).
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; tests that need it skip when it is absent."""
    if not (SHARED_DATA / "truth.json").exists():
        pytest.skip(f"shared captures not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def truth(shared_data: Path) -> list[dict[str, Any]]:
    """The entries of shared/data/truth.json."""
    entries: list[dict[str, Any]] = json.loads((shared_data / "truth.json").read_text())
    return entries

"""Fixtures of the watch tests: the model, and namespaces from :mod:`watch_netns`.

The model is the shipped default bundle when it is there. Until it lands, a
bundle is trained from the lab dataset in the repository (``data/lab``, the
data the default bundle is trained from) and cached in the temporary folder
under the dataset's hash, because training takes about two minutes.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import polars as pl
import pytest
from watch_netns import home_lab, link_pair, root_namespaces

from twinai.features import FEATURE_VERSION
from twinai.folds.bundle import ModelBundle, default_bundle_path, load_bundle
from twinai.folds.train import train_bundle

__all__ = ["home_lab", "link_pair", "root_namespaces", "watch_bundle", "bundle_dir"]

REPO_ROOT = Path(__file__).resolve().parents[2]
LAB_DATASET = REPO_ROOT / "data" / "lab" / "dataset.parquet"


@pytest.fixture(scope="session")
def bundle_dir() -> Path:
    """A bundle directory: the default one, else one trained from the lab dataset."""
    if (default_bundle_path() / "bundle.json").exists():
        return default_bundle_path()
    if not LAB_DATASET.exists():
        pytest.skip(f"no default bundle and no lab dataset at {LAB_DATASET}")
    digest = hashlib.sha256(LAB_DATASET.read_bytes()).hexdigest()[:16]
    cached = Path(tempfile.gettempdir()) / f"twinai-watch-bundle-{FEATURE_VERSION}-{digest}"
    if not (cached / "bundle.json").exists():
        train_bundle(pl.read_parquet(LAB_DATASET), cached, split="run")
    return cached


@pytest.fixture(scope="session")
def watch_bundle(bundle_dir: Path) -> ModelBundle:
    return load_bundle(bundle_dir)

"""Fixtures of the console tests: settings, personas, a real model bundle.

The console's Django settings are selected here (not in pytest's ini) so that
the rest of the suite runs without Django. ``DATABASE_URL`` in the environment
runs every console test against that server (PostgreSQL in CI).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "twinai.console.settings")
os.environ.setdefault(
    "TWINAI_DATA_DIR", tempfile.mkdtemp(prefix="twinai-console-test-")
)

import django  # noqa: E402 -- after the settings module is chosen

django.setup()

import polars as pl  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.test import Client  # noqa: E402

from twinai.console.accounts.models import Profile, Role, Status  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
PASSWORD = "s3cure-enough-Pass"

# Captures whose flows all carry one label. Each file is almost entirely the
# traffic named (truth.json: attack_packets / packets >= 0.96 for the two
# attacks; the benign files hold no scan or flood traffic), which is good
# enough for a small bundle that the console tests can serve predictions from.
TRAINING_CAPTURES = {
    "ndpi/synscan.pcap": "scan/tcp-syn-portscan",
    "stopddos/amp.TCP.reflection.SYNACK.pcap": "ddos/tcp-synack-reflection",
    "ndpi/android.pcap": "benign",
    "ndpi/iphone.pcap": "benign",
    "ndpi/ssh.pcap": "benign",
    "ndpi/coap_mqtt.pcap": "benign",
    "ndpi/alexa-app.pcapng": "benign",
    "ndpi/rtsp.pcap": "benign",
    "ndpi/bot.pcap": "benign",
}


def need_data(*relative: str) -> list[Path]:
    """Paths under shared/data; skip the test when the folder is absent."""
    paths = [DATA / r for r in relative]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        pytest.skip(f"shared data not present: {', '.join(missing)}")
    return paths


def make_user(
    username: str, role: str = Role.REMOTE, status: str = Status.AUTHORISED
) -> User:
    user = User.objects.create_user(username, f"{username}@example.org", PASSWORD)
    Profile.objects.create(
        user=user,
        role=role,
        status=status,
        organisation="Acme IoT",
        address="1 Main St",
    )
    return user


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 still, with small costs: the default 100 MiB per hash makes each
    persona cost a noticeable fraction of a second."""
    from django.contrib.auth.hashers import Argon2PasswordHasher

    monkeypatch.setattr(Argon2PasswordHasher, "memory_cost", 1024)
    monkeypatch.setattr(Argon2PasswordHasher, "time_cost", 1)
    monkeypatch.setattr(Argon2PasswordHasher, "parallelism", 1)


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    """Login failures live in the cache; no test inherits another's."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def operator(db: None) -> User:
    return make_user("olga", Role.OPERATOR)


@pytest.fixture
def remote(db: None) -> User:
    return make_user("rita")


@pytest.fixture
def other_remote(db: None) -> User:
    return make_user("oscar")


@pytest.fixture
def pending(db: None) -> User:
    return make_user("paul", status=Status.PENDING)


@pytest.fixture
def suspended(db: None) -> User:
    return make_user("sue", status=Status.SUSPENDED)


@pytest.fixture(scope="session")
def trained_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle trained by the library on labelled flows metered from real captures."""
    from twinai.flows.meter import meter_files
    from twinai.folds.train import train_bundle

    paths = need_data(*TRAINING_CAPTURES)
    parts = [
        meter_files([str(path)]).with_columns(pl.lit(label).alias("label"))
        for path, label in zip(paths, TRAINING_CAPTURES.values())
    ]
    out = tmp_path_factory.mktemp("bundle") / "test-bundle"
    train_bundle(pl.concat(parts, how="diagonal_relaxed"), out, models=("lightgbm",))
    return out


@pytest.fixture
def serving(trained_bundle: Path, settings: object) -> Iterator[Path]:
    """Serve predictions from the trained bundle for one test."""
    settings.DEFAULT_BUNDLE_PATH = str(trained_bundle)  # type: ignore[attr-defined]
    yield trained_bundle

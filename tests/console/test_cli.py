"""``twinai console``: zero-configuration start, first operator, serving."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .conftest import REPO

START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _twinai(args: list[str], data_dir: Path, **env: str) -> subprocess.Popen[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "twinai.cli.main",
            "console",
            "--data-dir",
            str(data_dir),
            *args,
        ],
        cwd=REPO,
        env={**clean, "PYTHONPATH": str(REPO / "src"), **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_setup_without_an_operator_says_which_variables_to_set(tmp_path: Path) -> None:
    process = _twinai(["--setup-only"], tmp_path)
    output, _ = process.communicate(timeout=120)

    assert process.returncode == 2
    assert "set TWINAI_ADMIN_USER and TWINAI_ADMIN_PASSWORD" in output


def test_setup_refuses_a_weak_operator_password(tmp_path: Path) -> None:
    process = _twinai(
        ["--setup-only"], tmp_path, TWINAI_ADMIN_USER="op", TWINAI_ADMIN_PASSWORD="123"
    )
    output, _ = process.communicate(timeout=120)

    assert process.returncode == 2
    assert "the operator password is too weak" in output


def test_console_starts_from_nothing_and_serves_its_pages(tmp_path: Path) -> None:
    port = _free_port()
    process = _twinai(
        ["--port", str(port)],
        tmp_path,
        TWINAI_ADMIN_USER="op",
        TWINAI_ADMIN_PASSWORD="correct horse battery",
    )
    try:
        login = _get(f"http://127.0.0.1:{port}/accounts/login/", process)
        chart = _get(
            f"http://127.0.0.1:{port}/static/twinai/vendor/chart-4.6.1.umd.min.js",
            process,
        )
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)

    assert "Operator 'op' created." in output
    assert b'name="csrfmiddlewaretoken"' in login
    assert b"Chart.js v4.6.1" in chart[:200]
    with sqlite3.connect(tmp_path / "console.sqlite3") as db:
        (role,) = db.execute(
            "SELECT role FROM accounts_profile JOIN auth_user ON auth_user.id = user_id "
            "WHERE username = 'op'"
        ).fetchone()
    assert role == "operator"
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def _get(url: str, process: subprocess.Popen[str]) -> bytes:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"console exited early: {process.stdout.read() if process.stdout else ''}"
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return bytes(response.read())
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {START_TIMEOUT_S} s")

"""End to end in a real headless Chromium (Debian's), driven by Playwright.

register → waiting → operator authorises → sign in → predict one flow and a
capture → operator sees the prediction in the table and the ratio chart →
downloads the CSV. Screenshots of the main pages go to ``$TWINAI_SCREENSHOTS``
(``docs/screenshots`` when refreshing the docs), else to a temporary folder.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from twinai.console.training.jobs import finite_rows
from twinai.console.training.models import ModelBundle

from .conftest import PASSWORD, need_data

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed"
)
pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed (apt-get install chromium)",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TWINAI_SCREENSHOTS", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    # Playwright's sync API runs an event loop in this thread; the test's own
    # ORM calls are plain synchronous code all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _sign_in(page: object, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")  # type: ignore[attr-defined]
    page.fill("#id_username", username)  # type: ignore[attr-defined]
    page.fill("#id_password", password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


def test_register_authorise_predict_and_download(
    live_server: object,
    browser: object,
    operator: User,
    serving: Path,
    shots: Path,
    tmp_path: Path,
) -> None:
    (capture,) = need_data("ndpi/tcp_scan.pcapng")
    meta = json.loads((serving / "bundle.json").read_text())
    ModelBundle.objects.create(
        name="test bundle (lab captures)",
        path=str(serving),
        metrics=finite_rows(meta["metrics"]),
    )
    base = str(live_server)
    visitor = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    staff = browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True
    )  # type: ignore[attr-defined]
    rosa, olga = visitor.new_page(), staff.new_page()

    # 1. A remote user registers and is told to wait.
    rosa.goto(f"{base}/accounts/register/")
    for field, value in {
        "username": "rosa",
        "email": "rosa@example.org",
        "password1": "a-long-Passphrase-9",
        "password2": "a-long-Passphrase-9",
        "organisation": "Rosa Cameras Ltd",
        "address": "5 Harbour Road",
    }.items():
        rosa.fill(f"#id_{field}", value)
    rosa.screenshot(path=shots / "register.png", full_page=True)
    rosa.click("button[type=submit]")
    assert "waiting for authorisation" in rosa.inner_text("#pending-text")
    rosa.screenshot(path=shots / "pending.png", full_page=True)
    _sign_in(rosa, base, "rosa", "a-long-Passphrase-9")
    assert "waiting for authorisation" in rosa.inner_text("#pending-text")

    # 2. The operator authorises her.
    _sign_in(olga, base, "olga", PASSWORD)
    assert olga.inner_text("#waiting") == "1"
    olga.goto(f"{base}/operator/users/")
    olga.screenshot(path=shots / "operator-users.png", full_page=True)
    olga.click("#user-rosa button[name=authorise]")
    assert "Authorised" in olga.inner_text("#user-rosa")

    # 3. She signs in and predicts one connection, then a capture.
    _sign_in(rosa, base, "rosa", "a-long-Passphrase-9")
    assert rosa.url.endswith("/predict/")
    for field, value in {
        "duration_s": "0",
        "orig_pkts": "1",
        "resp_pkts": "0",
        "orig_bytes": "0",
        "resp_bytes": "0",
        "orig_ip_bytes": "44",
        "resp_ip_bytes": "0",
        "src_ip": "10.0.0.66",
        "dst_ip": "10.0.0.5",
        "dst_port": "23",
    }.items():
        rosa.fill(f"#id_one-{field}", value)
    rosa.screenshot(path=shots / "predict.png", full_page=True)
    # Enter submits like the button; a click right after a full-page
    # screenshot sometimes lands before the page has its viewport back.
    rosa.press("#id_one-dst_port", "Enter")
    one_verdict = rosa.inner_text("#results tbody tr td:nth-child(4)")
    assert one_verdict in ("benign", "scan", "ddos")
    rosa.goto(f"{base}/predict/")
    rosa.set_input_files("#id_batch-file", str(capture))
    rosa.click("#predict-batch button[type=submit]")
    flows = rosa.locator("#results tbody tr").count()
    assert flows > 1 and capture.name in rosa.inner_text("p.meta")
    rosa.screenshot(path=shots / "batch-results.png", full_page=True)
    rosa.goto(f"{base}/history/")
    assert rosa.locator("table.data tbody tr").count() == 2
    rosa.screenshot(path=shots / "history.png", full_page=True)
    rosa.goto(f"{base}/accounts/profile/")
    rosa.screenshot(path=shots / "profile.png", full_page=True)

    # 4. The operator sees her predictions in the table and in the ratio chart.
    olga.goto(f"{base}/operator/predictions/?user=rosa")
    assert olga.locator("#predictions tbody tr").count() == flows + 1
    assert "10.0.0.5:23" in olga.inner_text("#predictions")
    olga.screenshot(path=shots / "operator-predictions.png", full_page=True)
    olga.goto(f"{base}/operator/ratio/")
    drawn = olga.evaluate("window.twinaiCharts['ratio-chart'].data.datasets[0].data")
    assert sum(drawn) == flows + 1
    olga.screenshot(path=shots / "operator-ratio.png", full_page=True)

    # 5. ... and downloads them as CSV.
    olga.goto(f"{base}/operator/predictions/?user=rosa")
    with olga.expect_download() as download:
        olga.click("#download-csv")
    saved = tmp_path / "predictions.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(saved.open(newline="")))
    assert len(rows) == flows + 1 and {r["user"] for r in rows} == {"rosa"}
    assert sorted(r["verdict"] for r in rows).count(one_verdict) >= 1

    # The remaining operator pages, for the docs.
    for name, path in [
        ("operator-dashboard", "/operator/"),
        ("operator-results", "/operator/results/"),
        ("operator-training", "/operator/training/"),
        ("operator-datasets", "/operator/datasets/"),
        ("operator-bundles", "/operator/bundles/"),
        ("operator-audit", "/operator/audit/"),
    ]:
        olga.goto(f"{base}{path}")
        olga.screenshot(path=shots / f"{name}.png", full_page=True)
    olga.goto(f"{base}/operator/results/")
    assert (
        olga.evaluate("window.twinaiCharts['accuracy-chart'].data.labels.length") >= 2
    )
    rosa.goto(f"{base}/operator/")
    assert "This page is for operators" in rosa.inner_text("main")

"""Passwords, CSRF, throttling, registration and authorisation, audit, deploy check."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from twinai.console.accounts.models import AuditEvent, Profile, Status

from .conftest import PASSWORD, REPO, client_for

REGISTRATION = {
    "username": "rosa",
    "email": "rosa@example.org",
    "password1": "a-long-Passphrase-9",
    "password2": "a-long-Passphrase-9",
    "organisation": "Rosa Cameras Ltd",
    "address": "5 Harbour Road",
}


def _login(client: Client, username: str, password: str = PASSWORD) -> object:
    return client.post(
        reverse("accounts:login"), {"username": username, "password": password}
    )


def test_passwords_are_hashed_with_argon2(remote: User) -> None:
    assert remote.password.startswith("argon2$argon2id$")


def test_forms_without_a_csrf_token_are_refused(remote: User) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        reverse("accounts:login"), {"username": "rita", "password": PASSWORD}
    )

    assert response.status_code == 403


def test_registration_waits_for_the_operator_then_lets_the_user_in(
    operator: User, db: None
) -> None:
    client = Client()

    registered = client.post(reverse("accounts:register"), REGISTRATION)
    waiting = _login(client, "rosa", REGISTRATION["password1"])
    pending_page = client.get(waiting["Location"]).content.decode()  # type: ignore[index]
    client_for(operator).post(
        reverse(
            "operator-user-decide",
            kwargs={
                "user_id": User.objects.get(username="rosa").pk,
                "action": "authorise",
            },
        )
    )
    admitted = _login(client, "rosa", REGISTRATION["password1"])

    assert registered["Location"] == "/accounts/pending/?status=pending&registered=1"
    assert waiting["Location"] == "/accounts/pending/?status=pending"  # type: ignore[index]
    assert "waiting for authorisation by the operator" in pending_page
    assert admitted["Location"] == "/"  # type: ignore[index]
    profile = Profile.objects.get(user__username="rosa")
    assert (profile.organisation, profile.address, profile.status) == (
        "Rosa Cameras Ltd",
        "5 Harbour Road",
        Status.AUTHORISED,
    )
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["register", "authorise", "login"]


def test_suspension_ends_a_session_that_is_already_open(
    operator: User, remote: User
) -> None:
    client = client_for(remote)
    client_for(operator).post(
        reverse(
            "operator-user-decide", kwargs={"user_id": remote.pk, "action": "suspend"}
        )
    )

    response = client.get(reverse("predict"))

    assert response["Location"] == "/accounts/pending/?status=suspended"
    assert (
        "suspended by the operator" in client.get(response["Location"]).content.decode()
    )
    event = AuditEvent.objects.get(action="suspend")
    assert (event.actor, event.target, event.detail) == (
        operator,
        remote,
        "authorised -> suspended",
    )


def test_login_is_throttled_after_repeated_failures(
    remote: User, settings: object
) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3  # type: ignore[attr-defined]
    client = Client()

    failures = [_login(client, "rita", "wrong") for _ in range(3)]
    locked = _login(client, "rita")

    assert [f.status_code for f in failures] == [200, 200, 200]  # type: ignore[attr-defined]
    assert locked.status_code == 429  # type: ignore[attr-defined]
    assert "Too many failed sign-ins" in locked.content.decode()  # type: ignore[attr-defined]
    assert "_auth_user_id" not in client.session


def test_a_successful_login_clears_the_failures(remote: User, settings: object) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3  # type: ignore[attr-defined]
    client = Client()

    _login(client, "rita", "wrong")
    _login(client, "rita", "wrong")
    _login(client, "rita")
    again = _login(client, "rita", "wrong")

    assert again.status_code == 200  # type: ignore[attr-defined]


def test_login_does_not_redirect_off_site(remote: User) -> None:
    response = Client().post(
        reverse("accounts:login") + "?next=https://evil.example/",
        {"username": "rita", "password": PASSWORD},
    )

    assert response["Location"] == "/"


def test_profile_edit_and_password_change(remote: User) -> None:
    client = client_for(remote)

    client.post(
        reverse("accounts:profile-edit"),
        {
            "first_name": "Rita",
            "last_name": "Vale",
            "email": "rita@vale.example",
            "organisation": "Vale",
            "address": "2 Hill",
        },
    )
    changed = client.post(
        reverse("accounts:password"),
        {
            "old_password": PASSWORD,
            "new_password1": "another-Long-pass-7",
            "new_password2": "another-Long-pass-7",
        },
    )

    remote.refresh_from_db()
    assert (remote.get_full_name(), remote.email, remote.profile.organisation) == (
        "Rita Vale",
        "rita@vale.example",
        "Vale",
    )
    assert changed["Location"] == reverse("accounts:profile")
    assert remote.check_password("another-Long-pass-7")
    assert client.get(reverse("accounts:profile")).status_code == 200  # session kept


def _manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twinai.console.manage", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO / "src"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_is_clean_under_production_settings(tmp_path: Path) -> None:
    env = {
        "DJANGO_SETTINGS_MODULE": "twinai.console.settings_production",
        "TWINAI_SECRET_KEY": secrets.token_urlsafe(60),
        "TWINAI_ALLOWED_HOSTS": "console.example.org",
        "TWINAI_DATA_DIR": str(tmp_path),
    }

    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], env)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_settings_refuse_to_start_without_a_secret(tmp_path: Path) -> None:
    env = {
        "DJANGO_SETTINGS_MODULE": "twinai.console.settings_production",
        "TWINAI_SECRET_KEY": "",
        "TWINAI_ALLOWED_HOSTS": "console.example.org",
        "TWINAI_DATA_DIR": str(tmp_path),
    }

    result = _manage(["check"], env)

    assert result.returncode != 0
    assert "production settings need TWINAI_SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("TWINAI_DEBUG", "maybe", "TWINAI_DEBUG='maybe' is not a yes/no value"),
        (
            "TWINAI_UPLOAD_MAX_MB",
            "ten",
            "TWINAI_UPLOAD_MAX_MB='ten' is not a whole number",
        ),
        ("DATABASE_URL", "mysql://u:p@h/db", "the console supports postgres"),
    ],
)
def test_malformed_settings_fail_loudly(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    result = _manage(["check"], {name: value, "TWINAI_DATA_DIR": str(tmp_path)})

    assert result.returncode != 0
    assert message in result.stderr

"""Bring a console up from nothing: settings, schema, first operator.

Used by ``twinai console``; kept apart from the CLI so that tests can call it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from twinai.console import DEFAULT_SETTINGS
from twinai.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["setup", "migrate", "operator_exists", "create_operator"]


def setup(data_dir: Path | None = None, settings_module: str | None = None) -> None:
    """Configure Django for the console (once per process)."""
    import django

    if data_dir is not None:
        os.environ["TWINAI_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module or DEFAULT_SETTINGS)
    django.setup()


def migrate() -> None:
    """Apply migrations and fail jobs that a stopped console left behind."""
    from django.core.management import call_command

    from twinai.console.training.jobs import fail_abandoned

    call_command("migrate", interactive=False, verbosity=0)
    abandoned = fail_abandoned()
    if abandoned:
        log.warning(
            "%d train jobs were left running by a stopped console; marked failed",
            abandoned,
        )


def operator_exists() -> bool:
    from twinai.console.accounts.models import Profile, Role

    return Profile.objects.filter(role=Role.OPERATOR).exists()


def create_operator(username: str, password: str, email: str = "") -> None:
    """Create an authorised operator; the password must pass the validators."""
    from django.contrib.auth.models import User
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from twinai.console.accounts.models import Profile, Role, Status

    username = username.strip()
    if not username:
        raise InputError("the operator needs a username (TWINAI_ADMIN_USER)")
    if User.objects.filter(username=username).exists():
        raise InputError(
            f"a user named {username!r} exists already; choose another name"
        )
    candidate = User(username=username, email=email)
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise InputError(
            "the operator password is too weak: " + " ".join(exc.messages)
        ) from None

    with transaction.atomic():
        user = User.objects.create_user(
            username=username, email=email, password=password
        )
        Profile.objects.create(
            user=user,
            role=Role.OPERATOR,
            status=Status.AUTHORISED,
            organisation="service provider",
            address="",
        )
    log.info("created operator %s", username)

"""Writing the audit trail."""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest

from twinai.console.accounts.models import AuditEvent

log = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str | None:
    """The peer address Django saw (proxies are trusted only via settings)."""
    return request.META.get("REMOTE_ADDR") or None


def record(
    request: HttpRequest,
    action: str,
    *,
    target: AbstractBaseUser | None = None,
    detail: str = "",
) -> AuditEvent:
    """Store one audit event for the request's user and log it."""
    actor = request.user if not isinstance(request.user, AnonymousUser) else None
    event = AuditEvent.objects.create(
        actor=actor, target=target, action=action, detail=detail, ip=client_ip(request)
    )
    log.info("audit %s actor=%s target=%s %s", action, actor, target, detail)
    return event

"""Who may do what: a profile per user with a role and an authorisation status."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    OPERATOR = "operator", "Operator (service provider)"
    REMOTE = "remote", "Remote user"


class Status(models.TextChoices):
    PENDING = "pending", "Waiting for authorisation"
    AUTHORISED = "authorised", "Authorised"
    SUSPENDED = "suspended", "Suspended"


class Profile(models.Model):
    """The console's view of a user: role, status and the registration details."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REMOTE)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING
    )
    organisation = models.CharField(max_length=200)
    address = models.TextField(max_length=1000)
    registered_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-registered_at"]

    def __str__(self) -> str:
        return f"{self.user.username} ({self.role}, {self.status})"

    @property
    def is_operator(self) -> bool:
        return self.role == Role.OPERATOR and self.status == Status.AUTHORISED

    @property
    def is_authorised(self) -> bool:
        return self.status == Status.AUTHORISED


class AuditEvent(models.Model):
    """One security-relevant action: who did it, to whom, from where, when."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_actions",
    )
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_subject",
    )
    action = models.CharField(max_length=40, db_index=True)
    detail = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action}"

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from twinai.console.accounts.models import Profile


class IsAuthorisedUser(BasePermission):
    """Token holders whose account is authorised (remote users and operators)."""

    message = "This account is not authorised (waiting for authorisation or suspended)."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        profile = Profile.objects.filter(user=user).first()
        return profile is not None and profile.is_authorised

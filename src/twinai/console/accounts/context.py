"""Template context: the signed-in user's role, for the navigation bar."""

from __future__ import annotations

from django.http import HttpRequest

from twinai.console.accounts.decorators import profile_of


def role(request: HttpRequest) -> dict[str, str]:
    profile = profile_of(request)
    if profile is None or not profile.is_authorised:
        return {"console_role": "anonymous"}
    return {"console_role": profile.role}

"""Access rules as view decorators; each checks the profile on every request."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from twinai.console.accounts.models import Profile

View = Callable[..., HttpResponse]


def profile_of(request: HttpRequest) -> Profile | None:
    """The signed-in user's profile, or None (anonymous, or a user without one)."""
    if not request.user.is_authenticated:
        return None
    return Profile.objects.filter(user=request.user).first()


def authorised_required(view: View) -> View:
    """Authorised remote users and operators; pending or suspended users are
    signed out and sent to the page that says why."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(f"/accounts/login/?next={request.path}")

        profile = profile_of(request)
        if profile is None or not profile.is_authorised:
            status = profile.status if profile else "pending"
            logout(request)
            return redirect(f"/accounts/pending/?status={status}")
        return view(request, *args, **kwargs)

    return wrapper


def operator_required(view: View) -> View:
    """Operators only; anyone else signed in gets 403, never a redirect that
    would reveal whether the page exists for them."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(f"/accounts/login/?next={request.path}")

        profile = profile_of(request)
        if profile is None or not profile.is_operator:
            raise PermissionDenied("operator pages need an operator account")
        return view(request, *args, **kwargs)

    return wrapper

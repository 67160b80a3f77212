"""Sign-in, registration, the waiting page, profile and password pages."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.authtoken.models import Token

from twinai.console.accounts import audit, throttle
from twinai.console.accounts.decorators import authorised_required, profile_of
from twinai.console.accounts.forms import ProfileForm, RegistrationForm
from twinai.console.accounts.models import Profile, Role, Status

_PENDING_TEXT = {
    Status.PENDING: "Your account is waiting for authorisation by the operator. "
    "You can sign in once it has been authorised.",
    Status.SUSPENDED: "Your account has been suspended by the operator.",
}


def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its start page."""
    profile = profile_of(request)
    if profile is None or not profile.is_authorised:
        return redirect("accounts:login")
    if profile.role == Role.OPERATOR:
        return redirect("dashboard")
    return redirect("predict")


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Sign in with throttling; pending and suspended accounts are told why not."""
    form = AuthenticationForm(request, data=request.POST or None)
    if request.method != "POST":
        return render(request, "accounts/login.html", {"form": form})

    username = request.POST.get("username", "")
    ip = audit.client_ip(request)
    if throttle.is_locked(username, ip):
        audit.record(request, "login-locked", detail=f"username={username!r}")
        minutes = settings.LOGIN_LOCKOUT_SECONDS // 60
        form.errors.clear()
        messages.error(
            request,
            f"Too many failed sign-ins. Try again in {minutes} minutes.",
        )
        return render(request, "accounts/login.html", {"form": form}, status=429)

    if not form.is_valid():
        throttle.record_failure(username, ip)
        audit.record(request, "login-failed", detail=f"username={username!r}")
        return render(request, "accounts/login.html", {"form": form}, status=200)

    user = form.get_user()
    profile = Profile.objects.filter(user=user).first()
    if profile is None or not profile.is_authorised:
        status = profile.status if profile else Status.PENDING
        return redirect(f"/accounts/pending/?status={status}")

    throttle.clear(username)
    login(request, user)
    audit.record(request, "login", target=user)
    next_url = request.POST.get("next") or request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, {request.get_host()}, True):
        return redirect(next_url)
    return redirect("home")


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit.record(request, "logout", target=request.user)
    logout(request)
    return redirect("accounts:login")


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """A remote user's sign-up; ends on the waiting page."""
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        audit.record(request, "register", target=user)
        return redirect(f"/accounts/pending/?status={Status.PENDING}&registered=1")
    return render(request, "accounts/register.html", {"form": form})


def pending(request: HttpRequest) -> HttpResponse:
    """The answer for accounts that may not sign in yet (or any more)."""
    status = request.GET.get("status", Status.PENDING)
    text = _PENDING_TEXT.get(status, _PENDING_TEXT[Status.PENDING])
    context = {"text": text, "registered": request.GET.get("registered") == "1"}
    return render(request, "accounts/pending.html", context)


@authorised_required
def profile_view(request: HttpRequest) -> HttpResponse:
    token = Token.objects.filter(user=request.user).first()
    return render(request, "accounts/profile.html", {"token": token})


@authorised_required
@require_http_methods(["GET", "POST"])
def profile_edit(request: HttpRequest) -> HttpResponse:
    user = request.user
    initial = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "organisation": user.profile.organisation,
        "address": user.profile.address,
    }
    form = ProfileForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        form.save()
        audit.record(request, "profile-edit", target=user)
        messages.success(request, "Profile saved.")
        return redirect("accounts:profile")
    return render(request, "accounts/profile_edit.html", {"form": form})


@authorised_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        update_session_auth_hash(request, user)
        audit.record(request, "password-change", target=user)
        messages.success(request, "Password changed.")
        return redirect("accounts:profile")
    return render(request, "accounts/password.html", {"form": form})


@authorised_required
@require_POST
def token_rotate(request: HttpRequest) -> HttpResponse:
    """Create or replace the user's API token; the old one stops working."""
    Token.objects.filter(user=request.user).delete()
    Token.objects.create(user=request.user)
    audit.record(request, "api-token-rotate", target=request.user)
    messages.success(
        request, "New API token created; the previous one no longer works."
    )
    return redirect("accounts:profile")

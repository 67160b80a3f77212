"""The operator's pages about remote users: list, authorise, suspend, audit."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from twinai.console.accounts import audit
from twinai.console.accounts.decorators import operator_required
from twinai.console.accounts.models import AuditEvent, Profile, Role, Status

_ACTIONS = {"authorise": Status.AUTHORISED, "suspend": Status.SUSPENDED}


@operator_required
def user_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    profiles = Profile.objects.filter(role=Role.REMOTE).select_related("user")
    if status in Status.values:
        profiles = profiles.filter(status=status)
    context = {"profiles": profiles, "status": status, "statuses": Status.choices}
    return render(request, "operator/users.html", context)


@operator_required
@require_POST
def user_decide(request: HttpRequest, user_id: int, action: str) -> HttpResponse:
    """Authorise or suspend one remote user, and say so in the audit trail."""
    if action not in _ACTIONS:
        return HttpResponse(status=404)

    profile = get_object_or_404(Profile, user_id=user_id, role=Role.REMOTE)
    before = profile.status
    profile.status = _ACTIONS[action]
    profile.decided_at = timezone.now()
    profile.save(update_fields=["status", "decided_at"])
    audit.record(
        request, action, target=profile.user, detail=f"{before} -> {profile.status}"
    )
    messages.success(
        request, f"{profile.user.username}: {profile.get_status_display()}."
    )
    return redirect("operator-users")


@operator_required
def audit_trail(request: HttpRequest) -> HttpResponse:
    events = AuditEvent.objects.select_related("actor", "target")
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "operator/audit.html", {"page": page})

"""The operator's views of predictions: dashboard, table, ratio, downloads."""

from __future__ import annotations

from datetime import timedelta

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from twinai.console import services
from twinai.console.accounts.decorators import operator_required
from twinai.console.accounts.models import Profile, Role, Status
from twinai.console.detection import queries
from twinai.console.detection.forms import PredictionFilter
from twinai.console.detection.models import Prediction, Verdict
from twinai.console.training.models import Dataset, TrainJob, serving_bundle_path

# The ratio page's period when none is chosen.
DEFAULT_RATIO_DAYS = 30


@operator_required
def dashboard(request: HttpRequest) -> HttpResponse:
    predictions = Prediction.objects.all()
    alerts = predictions.exclude(verdict=Verdict.BENIGN)
    context = {
        "flows_judged": predictions.count(),
        "alerts": alerts.count(),
        "scanners": alerts.filter(verdict=Verdict.SCAN)
        .exclude(src_ip="")
        .values("src_ip")
        .distinct()
        .count(),
        "scan_flows": alerts.filter(verdict=Verdict.SCAN).count(),
        "floods": alerts.filter(verdict=Verdict.DDOS).count(),
        "waiting": Profile.objects.filter(
            role=Role.REMOTE, status=Status.PENDING
        ).count(),
        "datasets": Dataset.objects.count(),
        "jobs": TrainJob.objects.all()[:5],
        "serving": serving_bundle_path() or "(shipped default)",
        "library": services.library_status(),
    }
    return render(request, "operator/dashboard.html", context)


def _filtered(request: HttpRequest) -> tuple[PredictionFilter, object]:
    form = PredictionFilter(request.GET or None)
    qs = Prediction.objects.select_related("owner", "batch")
    if form.is_valid():
        qs = queries.apply_filter(qs, form.cleaned_data)
    return form, qs


@operator_required
def predictions(request: HttpRequest) -> HttpResponse:
    form, qs = _filtered(request)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    return render(request, "operator/predictions.html", context)


@operator_required
def predictions_download(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in ("csv", "json"):
        raise Http404("unknown format")
    _, qs = _filtered(request)
    return queries.download(qs, fmt, "twinai-predictions")


@operator_required
def ratio(request: HttpRequest) -> HttpResponse:
    """Shares of benign / scan / DDoS and of each attack type over a period."""
    data = request.GET.copy()
    if not data.get("since") and not data.get("until"):
        data["since"] = (
            timezone.localdate() - timedelta(days=DEFAULT_RATIO_DAYS)
        ).isoformat()
    form = PredictionFilter(data)
    qs = Prediction.objects.all()
    if form.is_valid():
        qs = queries.apply_filter(qs, form.cleaned_data)
    summary = queries.ratio(qs)
    chart = {
        "verdicts": {v["label"]: v["count"] for v in summary["verdicts"]},
        "attack_types": {
            f"{a['verdict']}/{a['attack_type']}": a["count"]
            for a in summary["attack_types"]
        },
    }
    return render(
        request,
        "operator/ratio.html",
        {"form": form, "summary": summary, "chart": chart},
    )

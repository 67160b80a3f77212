"""Remote users' pages: predict, results, history, downloads."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from twinai.console.accounts.decorators import authorised_required, profile_of
from twinai.console.detection import predicting, queries
from twinai.console.detection.forms import BatchForm, ConnectionForm
from twinai.console.detection.models import PredictionBatch, Source
from twinai.console.uploads import check_and_store
from twinai.errors import TwinAIError

log = logging.getLogger(__name__)


def _batch_for(request: HttpRequest, batch_id: int) -> PredictionBatch:
    """The batch if the user owns it (operators see all); 404 otherwise, so that
    another user's batch numbers reveal nothing."""
    profile = profile_of(request)
    batches = PredictionBatch.objects.all()
    if profile is None or not profile.is_operator:
        batches = batches.filter(owner=request.user)
    return get_object_or_404(batches, pk=batch_id)


@authorised_required
@require_http_methods(["GET", "POST"])
def predict(request: HttpRequest) -> HttpResponse:
    """One connection by form, or a capture / flow file for a batch."""
    action = request.POST.get("action") if request.method == "POST" else None
    one = ConnectionForm(request.POST if action == "one" else None, prefix="one")
    batch = BatchForm(
        request.POST if action == "batch" else None,
        request.FILES if action == "batch" else None,
        prefix="batch",
    )
    try:
        if action == "one" and one.is_valid():
            flows = predicting.connection_frame(one.cleaned_data)
            result = predicting.predict_and_store(
                request.user, flows, source=Source.FORM
            )
            return redirect("batch", batch_id=result.pk)
        if action == "batch" and batch.is_valid():
            return _predict_upload(request, batch)
    except TwinAIError as exc:
        log.warning("prediction failed for %s: %s", request.user, exc)
        messages.error(request, f"Prediction failed: {exc}")
    return render(request, "detection/predict.html", {"one": one, "batch": batch})


def _predict_upload(request: HttpRequest, form: BatchForm) -> HttpResponse:
    upload = form.cleaned_data["file"]
    try:
        stored = check_and_store(upload, "predict")
    except ValidationError as exc:
        form.add_error("file", exc)
        return render(
            request,
            "detection/predict.html",
            {"one": ConnectionForm(prefix="one"), "batch": form},
        )

    try:
        flows, report = predicting.flows_from_upload(stored)
    except ValidationError as exc:
        form.add_error("file", exc)
        return render(
            request,
            "detection/predict.html",
            {"one": ConnectionForm(prefix="one"), "batch": form},
        )
    finally:
        stored.path.unlink(missing_ok=True)

    source = Source.CAPTURE if stored.kind == "capture" else Source.FLOW_FILE
    result = predicting.predict_and_store(
        request.user,
        flows,
        source=source,
        file_name=stored.original_name,
        report=report,
    )
    return redirect("batch", batch_id=result.pk)


def _reasons(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


@authorised_required
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch_for(request, batch_id)
    page = Paginator(batch.predictions.order_by("row"), 100).get_page(
        request.GET.get("page")
    )
    rows = [(p, _reasons(p.reasons)) for p in page]
    summary = queries.ratio(batch.predictions.all())
    context = {"batch": batch, "page": page, "rows": rows, "summary": summary}
    return render(request, "detection/batch.html", context)


@authorised_required
def batch_download(request: HttpRequest, batch_id: int, fmt: str) -> HttpResponse:
    if fmt not in ("csv", "json"):
        raise Http404("unknown format")
    batch = _batch_for(request, batch_id)
    return queries.download(batch.predictions.all(), fmt, f"twinai-batch-{batch.pk}")


@authorised_required
def history(request: HttpRequest) -> HttpResponse:
    batches = PredictionBatch.objects.filter(owner=request.user)
    page = Paginator(batches, 25).get_page(request.GET.get("page"))
    return render(request, "detection/history.html", {"page": page})

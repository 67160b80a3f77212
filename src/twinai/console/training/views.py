"""The operator's pages: datasets, train & test jobs, results, bundles."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from twinai.console import services
from twinai.console.accounts import audit
from twinai.console.accounts.decorators import operator_required
from twinai.console.detection.predicting import flows_from_upload
from twinai.console.training import jobs
from twinai.console.training.forms import DatasetForm, TrainForm
from twinai.console.training.models import (
    Dataset,
    ModelBundle,
    TrainJob,
    serving_bundle_path,
)
from twinai.console.uploads import check_and_store
from twinai.errors import TwinAIError

log = logging.getLogger(__name__)

PREVIEW_ROWS = 20


@operator_required
@require_http_methods(["GET", "POST"])
def datasets(request: HttpRequest) -> HttpResponse:
    form = DatasetForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        dataset = _import_dataset(request, form)
        if dataset is not None:
            return redirect("dataset", dataset_id=dataset.pk)
    context = {"form": form, "datasets": Dataset.objects.all()}
    return render(request, "training/datasets.html", context)


def _import_dataset(request: HttpRequest, form: DatasetForm) -> Dataset | None:
    """Store the upload, turn it into a flow table on disk, record it."""
    try:
        stored = check_and_store(form.cleaned_data["file"], "datasets")
        flows, report = flows_from_upload(stored)
    except ValidationError as exc:
        form.add_error("file", exc)
        return None
    except TwinAIError as exc:
        form.add_error("file", str(exc))
        return None

    flows_path = stored.path.with_suffix(".flows.parquet")
    flows.write_parquet(flows_path)
    labels: dict[str, int] = {}
    if "label" in flows.columns:
        labels = dict(
            Counter(
                flows.get_column("label").cast(pl.String).fill_null("(none)").to_list()
            )
        )
    dataset = Dataset.objects.create(
        name=form.cleaned_data["name"],
        file_name=stored.original_name,
        path=str(stored.path),
        flows_path=str(flows_path),
        kind=stored.kind,
        size_bytes=stored.size_bytes,
        flow_count=flows.height,
        column_count=flows.width,
        label_counts=dict(sorted(labels.items(), key=lambda kv: -kv[1])),
        report=report,
        uploaded_by=request.user,
    )
    audit.record(
        request, "dataset-upload", detail=f"{dataset.name}: {flows.height} flows"
    )
    return dataset


@operator_required
def dataset_detail(request: HttpRequest, dataset_id: int) -> HttpResponse:
    dataset = get_object_or_404(Dataset, pk=dataset_id)
    preview = (
        pl.read_parquet(dataset.flows_path, n_rows=PREVIEW_ROWS)
        if Path(dataset.flows_path).exists()
        else pl.DataFrame()
    )
    context = {
        "dataset": dataset,
        "columns": preview.columns,
        "rows": preview.rows(),
        "labels": dataset.label_counts.items(),
    }
    return render(request, "training/dataset.html", context)


@operator_required
@require_http_methods(["GET", "POST"])
def training(request: HttpRequest) -> HttpResponse:
    form = TrainForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        job = TrainJob.objects.create(
            dataset=form.cleaned_data["dataset"],
            fold=form.cleaned_data["fold"],
            model_names=form.cleaned_data["models"],
            started_by=request.user,
        )
        audit.record(request, "train-start", detail=f"job {job.pk} on {job.dataset}")
        transaction.on_commit(lambda: jobs.start(job))
        return redirect("job", job_id=job.pk)
    context = {"form": form, "jobs": TrainJob.objects.select_related("dataset")[:50]}
    return render(request, "training/training.html", context)


@operator_required
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(
        TrainJob.objects.select_related("dataset", "bundle"), pk=job_id
    )
    if request.GET.get("format") == "json":
        return JsonResponse(
            {
                "status": job.status,
                "progress": job.progress,
                "stage": job.stage,
                "error": job.error,
            }
        )
    return render(request, "training/job.html", {"job": job})


def _chart(metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy per (fold, model), train next to test, for the bar chart."""
    labels: list[str] = []
    series: dict[str, dict[str, float]] = {"train": {}, "test": {}}
    for row in metrics:
        key = f"{row.get('fold', '')} · {row.get('model', '')}"
        if key not in labels:
            labels.append(key)
        split = str(row.get("split", ""))
        if split in series and row.get("accuracy") is not None:
            series[split][key] = float(row["accuracy"])
    return {
        "labels": labels,
        "train": [series["train"].get(k) for k in labels],
        "test": [series["test"].get(k) for k in labels],
    }


@operator_required
def results(request: HttpRequest) -> HttpResponse:
    """Accuracy bar chart and metrics table of one bundle (the latest by default)."""
    bundles = ModelBundle.objects.exclude(metrics=[])
    chosen = (
        bundles.filter(pk=request.GET.get("bundle")).first()
        if request.GET.get("bundle", "").isdigit()
        else None
    )
    bundle = chosen or bundles.first()
    metrics = bundle.metrics if bundle else []
    context = {
        "bundles": bundles,
        "bundle": bundle,
        "metrics": metrics,
        "chart": _chart(metrics),
    }
    return render(request, "training/results.html", context)


@operator_required
def bundles(request: HttpRequest) -> HttpResponse:
    context = {
        "bundles": ModelBundle.objects.all(),
        "serving": serving_bundle_path(),
        "default_bundle": settings.DEFAULT_BUNDLE_PATH,
    }
    return render(request, "training/bundles.html", context)


@operator_required
@require_POST
def bundle_serve(request: HttpRequest, bundle_id: int) -> HttpResponse:
    """Make one bundle the one that serves predictions (0: the shipped default)."""
    bundle = get_object_or_404(ModelBundle, pk=bundle_id) if bundle_id else None
    if bundle is not None:
        try:
            services.load_bundle(bundle.path or None)
        except TwinAIError as exc:
            messages.error(request, f"{bundle.name} cannot be loaded: {exc}")
            return redirect("bundles")

    with transaction.atomic():
        ModelBundle.objects.filter(serving=True).update(serving=False)
        if bundle is not None:
            ModelBundle.objects.filter(pk=bundle.pk).update(serving=True)
    name = bundle.name if bundle else "the shipped default bundle"
    audit.record(request, "bundle-serve", detail=name)
    messages.success(request, f"Predictions are now served by {name}.")
    return redirect("bundles")

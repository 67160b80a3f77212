"""Datasets the operator uploaded, train & test jobs, and the bundles they wrote."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Dataset(models.Model):
    name = models.CharField(max_length=200)
    file_name = models.CharField(max_length=255)
    path = models.CharField(max_length=1000, help_text="the stored upload")
    flows_path = models.CharField(max_length=1000, help_text="the flow table (Parquet)")
    kind = models.CharField(max_length=16)  # capture | parquet | text
    size_bytes = models.BigIntegerField()
    flow_count = models.PositiveIntegerField(default=0)
    column_count = models.PositiveIntegerField(default=0)
    label_counts = models.JSONField(default=dict)
    report = models.TextField(blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.name


class ModelBundle(models.Model):
    """A bundle directory the console knows; at most one serves predictions."""

    name = models.CharField(max_length=200)
    path = models.CharField(
        max_length=1000, blank=True, help_text="empty: shipped default"
    )
    created = models.DateTimeField(auto_now_add=True)
    serving = models.BooleanField(default=False)
    metrics = models.JSONField(default=list, help_text="TrainReport.metrics rows")

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["serving"],
                condition=models.Q(serving=True),
                name="one_serving_bundle",
            )
        ]

    def __str__(self) -> str:
        return self.name


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Fold(models.TextChoices):
    BOTH = "both", "Both folds"
    PREVENTION = "prevention", "Fold 1: prevention (scan)"
    DETECTION = "detection", "Fold 2: detection (DDoS)"


class TrainJob(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="jobs")
    fold = models.CharField(max_length=16, choices=Fold.choices, default=Fold.BOTH)
    model_names = models.JSONField(default=list)
    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    progress = models.FloatField(default=0.0, help_text="0..1")
    stage = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    metrics = models.JSONField(default=list)
    bundle = models.ForeignKey(
        ModelBundle, null=True, blank=True, on_delete=models.SET_NULL
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL
    )
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"job {self.pk} on {self.dataset} ({self.status})"


def serving_bundle_path() -> str | None:
    """Path of the bundle that serves predictions; None means the shipped default."""
    chosen = ModelBundle.objects.filter(serving=True).first()
    if chosen is not None:
        return chosen.path or None
    return settings.DEFAULT_BUNDLE_PATH

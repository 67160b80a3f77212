"""Predictions: one batch per request (a form, an upload, an API call), one row per flow."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Source(models.TextChoices):
    FORM = "form", "One connection (form)"
    CAPTURE = "capture", "Capture upload"
    FLOW_FILE = "flow-file", "Flow file upload"
    API = "api", "REST API"


class Verdict(models.TextChoices):
    BENIGN = "benign", "Benign"
    SCAN = "scan", "Scan"
    DDOS = "ddos", "DDoS"


class PredictionBatch(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="batches"
    )
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    file_name = models.CharField(max_length=255, blank=True)
    bundle = models.CharField(
        max_length=500, help_text="bundle path or (shipped default)"
    )
    flow_count = models.PositiveIntegerField(default=0)
    report = models.TextField(blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"batch {self.pk} by {self.owner} ({self.flow_count} flows)"


class Prediction(models.Model):
    """The verdict on one flow; identity columns are kept when the input had them."""

    batch = models.ForeignKey(
        PredictionBatch, on_delete=models.CASCADE, related_name="predictions"
    )
    # Denormalised from the batch so that filters and ownership checks are one query.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="predictions"
    )
    created = models.DateTimeField(db_index=True)
    row = models.PositiveIntegerField(help_text="position of the flow in its input")
    src_ip = models.CharField(max_length=45, blank=True)
    dst_ip = models.CharField(max_length=45, blank=True)
    src_port = models.IntegerField(null=True, blank=True)
    dst_port = models.IntegerField(null=True, blank=True)
    protocol = models.IntegerField(null=True, blank=True)
    features = models.JSONField(default=dict, help_text="universal columns of the flow")
    verdict = models.CharField(max_length=16, choices=Verdict.choices, db_index=True)
    attack_type = models.CharField(max_length=100, blank=True, db_index=True)
    scan_score = models.FloatField()
    ddos_score = models.FloatField()
    reasons = models.TextField(blank=True, help_text="JSON text from the bundle")

    class Meta:
        ordering = ["-created", "batch_id", "row"]
        indexes = [models.Index(fields=["owner", "created"])]

    def __str__(self) -> str:
        return f"{self.verdict} ({self.scan_score:.2f}/{self.ddos_score:.2f})"

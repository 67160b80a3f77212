"""Train & test as a background job: progress, metrics, bundle, serving."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from twinai.console.training.models import Dataset, JobStatus, ModelBundle, TrainJob

from .conftest import client_for, need_data

# A job on 15 000 flows with one learner takes a few seconds here.
JOB_TIMEOUT_S = 180


def _joined_csv(tmp_path: Path) -> Path:
    """The three CIC-IDS2017 samples (same header) as one labelled file."""
    parts = need_data(
        *(f"cicids2017-improved/{n}_5000.csv" for n in ("BENIGN", "DDoS", "Portscan"))
    )
    lines = parts[0].read_text().splitlines(keepends=True)
    for part in parts[1:]:
        lines += part.read_text().splitlines(keepends=True)[1:]
    out = tmp_path / "cic-sample.csv"
    out.write_text("".join(lines))
    return out


def _wait(job: TrainJob) -> TrainJob:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (JobStatus.DONE, JobStatus.FAILED):
            return job
        time.sleep(0.2)
    pytest.fail(f"job {job.pk} still {job.status} after {JOB_TIMEOUT_S} s")


@pytest.mark.django_db(transaction=True)
def test_a_train_job_runs_in_the_background_and_its_bundle_can_serve(
    operator: User, tmp_path: Path
) -> None:
    client = client_for(operator)
    csv = _joined_csv(tmp_path)
    client.post(
        reverse("datasets"),
        {"name": "cic", "file": SimpleUploadedFile(csv.name, csv.read_bytes())},
    )
    dataset = Dataset.objects.get()

    started = client.post(
        reverse("training"),
        {"dataset": dataset.pk, "fold": "both", "models": ["lightgbm"]},
    )
    job = _wait(TrainJob.objects.get())

    assert started["Location"] == reverse("job", kwargs={"job_id": job.pk})
    assert job.status == JobStatus.DONE, job.error
    assert job.progress == 1.0
    bundle = ModelBundle.objects.get()
    assert Path(bundle.path, "bundle.json").exists()
    splits = {(m["fold"], m["model"], m["split"]) for m in bundle.metrics}
    assert {
        ("prevention", "lightgbm", "train"),
        ("detection", "lightgbm", "test"),
    } <= splits

    results = client.get(reverse("results"))
    chart = results.context["chart"]
    assert len(chart["labels"]) == len(chart["train"]) == len(chart["test"]) >= 2
    assert all(0.0 <= a <= 1.0 for a in chart["train"] + chart["test"])
    progress = client.get(
        reverse("job", kwargs={"job_id": job.pk}), {"format": "json"}
    ).json()
    assert progress["status"] == "done"

    client.post(reverse("bundle-serve", kwargs={"bundle_id": bundle.pk}))
    assert client.get(reverse("dashboard")).context["serving"] == bundle.path


@pytest.mark.django_db(transaction=True)
def test_a_job_on_flows_without_attacks_fails_with_the_library_message(
    operator: User,
) -> None:
    (conn_log,) = need_data("slips/port-scans/vertical/conn.log")
    client = client_for(operator)
    client.post(
        reverse("datasets"),
        {"name": "zeek", "file": SimpleUploadedFile("conn.log", conn_log.read_bytes())},
    )

    client.post(
        reverse("training"),
        {"dataset": Dataset.objects.get().pk, "fold": "both", "models": ["lightgbm"]},
    )
    job = _wait(TrainJob.objects.get())

    assert job.status == JobStatus.FAILED
    assert "needs both scan/... flows and other flows" in job.error
    assert not ModelBundle.objects.exists()

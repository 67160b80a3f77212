"""Train & test jobs in threads of the console process.

A job row is the only shared state: the thread writes status and progress,
pages read them. No broker or worker process is needed. A console restart
cannot resume a thread, so jobs left running are marked failed at start-up.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.db import connection
from django.utils import timezone

from twinai.console import services
from twinai.console.training.models import Fold, JobStatus, ModelBundle, TrainJob
from twinai.console.uploads import remove_tree
from twinai.labels import family

log = logging.getLogger(__name__)

__all__ = ["start", "fail_abandoned", "select_fold", "finite_rows"]

# Progress writes are at most this often: each one is a database UPDATE.
PROGRESS_WRITE_SECONDS = 1.0
# Families each fold is trained on (benign is the negative class of both).
_FOLD_FAMILIES = {
    Fold.PREVENTION: {"benign", "scan"},
    Fold.DETECTION: {"benign", "ddos"},
}

_slots = threading.BoundedSemaphore(settings.TRAIN_MAX_CONCURRENT_JOBS)


def select_fold(flows: pl.DataFrame, fold: str) -> pl.DataFrame:
    """Keep the flows whose label family the chosen fold learns from."""
    if fold == Fold.BOTH or "label" not in flows.columns:
        return flows
    families = flows.get_column("label").map_elements(family, return_dtype=pl.String)
    return flows.filter(families.is_in(sorted(_FOLD_FAMILIES[Fold(fold)])))


class _Progress:
    """The callback handed to the library: accepts (fraction), (done, total)
    or either followed by a stage description, and writes it at most once a
    second."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.last_write = 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        numbers = [a for a in args if isinstance(a, (int, float))]
        words = [str(a) for a in args if isinstance(a, str)]
        if len(numbers) >= 2 and numbers[1]:
            fraction = numbers[0] / numbers[1]
        elif numbers:
            fraction = float(numbers[0])
        else:
            fraction = None
        stage = " ".join(words) or str(kwargs.get("stage", kwargs.get("message", "")))

        now = time.monotonic()
        if now - self.last_write < PROGRESS_WRITE_SECONDS and (fraction or 0) < 1:
            return
        self.last_write = now
        update: dict[str, Any] = {"stage": stage[:200]}
        if fraction is not None:
            update["progress"] = min(max(fraction, 0.0), 1.0)
        TrainJob.objects.filter(pk=self.job_id).update(**update)


def _run(job_id: int) -> None:
    """The thread body: train, store the bundle and metrics, or the error."""
    with _slots:
        try:
            _train(job_id)
        except Exception as exc:  # the job must end in a state a page can show
            log.exception("train job %s failed", job_id)
            TrainJob.objects.filter(pk=job_id).update(
                status=JobStatus.FAILED,
                error=f"{type(exc).__name__}: {exc}",
                finished=timezone.now(),
            )
        finally:
            connection.close()


def _train(job_id: int) -> None:
    job = TrainJob.objects.select_related("dataset").get(pk=job_id)
    TrainJob.objects.filter(pk=job_id).update(
        status=JobStatus.RUNNING, started=timezone.now(), stage="reading flows"
    )
    flows = select_fold(pl.read_parquet(job.dataset.flows_path), job.fold)
    out_dir = Path(settings.BUNDLE_DIR) / f"job-{job.pk}"
    try:
        report = services.train(
            flows, out_dir, tuple(job.model_names), _Progress(job_id)
        )
    except Exception:
        remove_tree(out_dir)
        raise

    metrics = _metric_rows(report)
    bundle = ModelBundle.objects.create(
        name=f"{job.dataset.name} · {job.get_fold_display()} · job {job.pk}",
        path=str(out_dir),
        metrics=metrics,
    )
    TrainJob.objects.filter(pk=job_id).update(
        status=JobStatus.DONE,
        progress=1.0,
        stage="done",
        metrics=metrics,
        bundle=bundle,
        finished=timezone.now(),
    )


def _metric_rows(report: Any) -> list[dict[str, Any]]:
    """TrainReport.metrics (a polars frame or a list of dicts) as JSON rows."""
    metrics = report.metrics
    rows = (
        metrics.to_dicts()
        if isinstance(metrics, pl.DataFrame)
        else [dict(r) for r in metrics]
    )
    return finite_rows(rows)


def finite_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """JSON has no NaN: an undefined metric (ROC AUC of a one-class split) is null."""
    return [{k: _finite(v) for k, v in row.items()} for row in rows]


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def start(job: TrainJob) -> threading.Thread:
    """Run the job in a daemon thread; it waits for a free slot first."""
    thread = threading.Thread(
        target=_run, args=(job.pk,), name=f"train-job-{job.pk}", daemon=True
    )
    thread.start()
    return thread


def fail_abandoned() -> int:
    """Mark jobs a previous console process left queued or running as failed."""
    return TrainJob.objects.filter(
        status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).update(
        status=JobStatus.FAILED,
        error="the console stopped while the job ran; start it again",
        finished=timezone.now(),
    )

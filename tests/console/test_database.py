"""The console on PostgreSQL: the whole suite runs there when DATABASE_URL says so."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from twinai.console.detection.models import Prediction, PredictionBatch, Source
from twinai.console.detection.queries import ratio

POSTGRES = os.environ.get("DATABASE_URL", "").startswith(
    ("postgres://", "postgresql://")
)


@pytest.mark.skipif(
    not POSTGRES,
    reason="DATABASE_URL does not point at a PostgreSQL server; .ci/run starts one and "
    "runs tests/console again with it",
)
def test_the_suite_runs_on_postgresql(remote: User) -> None:
    batch = PredictionBatch.objects.create(owner=remote, source=Source.FORM, bundle="b")
    for index, verdict in enumerate(["scan", "scan", "benign", "ddos"]):
        Prediction.objects.create(
            batch=batch,
            owner=remote,
            created=timezone.now(),
            row=index,
            verdict=verdict,
            attack_type="tcp-syn" if verdict == "scan" else "",
            scan_score=0.5,
            ddos_score=0.5,
            features={"orig_pkts": index},
        )

    summary = ratio(Prediction.objects.all())

    assert connection.vendor == "postgresql"
    assert {v["verdict"]: v["count"] for v in summary["verdicts"]} == {
        "benign": 1,
        "scan": 2,
        "ddos": 1,
    }
    assert summary["attack_types"] == [
        {
            "verdict": "scan",
            "attack_type": "tcp-syn",
            "count": 2,
            "share": 0.5,
            "percent": 50.0,
        }
    ]
    assert Prediction.objects.filter(features__orig_pkts=3).count() == 1

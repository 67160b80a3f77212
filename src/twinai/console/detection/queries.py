"""Filters, shares and downloads over stored predictions."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, QuerySet
from django.http import HttpResponse
from django.utils import timezone

from twinai.console.detection.models import Prediction, Verdict
from twinai.console.exports import to_csv, to_json
from twinai.flows.schema import UNIVERSAL_COLUMNS

EXPORT_COLUMNS = (
    "created",
    "user",
    "batch",
    "row",
    "src_ip",
    "dst_ip",
    "src_port",
    "dst_port",
    "protocol",
    "verdict",
    "attack_type",
    "scan_score",
    "ddos_score",
    "reasons",
) + UNIVERSAL_COLUMNS


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def apply_filter(
    qs: QuerySet[Prediction], data: dict[str, Any]
) -> QuerySet[Prediction]:
    """Narrow predictions by the cleaned fields of a PredictionFilter."""
    if data.get("verdict"):
        qs = qs.filter(verdict=data["verdict"])
    if data.get("attack_type"):
        qs = qs.filter(attack_type__icontains=data["attack_type"])
    if data.get("user"):
        qs = qs.filter(owner__username=data["user"])
    if data.get("source"):
        qs = qs.filter(batch__source=data["source"])
    if data.get("since"):
        qs = qs.filter(created__gte=_day_start(data["since"]))
    if data.get("until"):
        qs = qs.filter(created__lt=_day_start(data["until"] + timedelta(days=1)))
    return qs


def _share(count: int, total: int) -> dict[str, Any]:
    share = count / total if total else 0.0
    return {"count": count, "share": share, "percent": round(100 * share, 1)}


def ratio(qs: QuerySet[Prediction]) -> dict[str, Any]:
    """Counts and shares per verdict and per attack type."""
    total = qs.count()
    by_verdict = dict(
        qs.values_list("verdict").annotate(n=Count("id")).values_list("verdict", "n")
    )
    verdicts = [
        {"verdict": v, "label": label, **_share(by_verdict.get(v, 0), total)}
        for v, label in Verdict.choices
    ]
    types = (
        qs.exclude(attack_type="")
        .values("verdict", "attack_type")
        .annotate(count=Count("id"))
        .order_by("-count", "attack_type")
    )
    attack_types = [{**row, **_share(row["count"], total)} for row in types]
    return {"total": total, "verdicts": verdicts, "attack_types": attack_types}


def _export_rows(qs: QuerySet[Prediction]) -> Any:
    for p in (
        qs.select_related("owner").order_by("created", "batch_id", "row").iterator()
    ):
        yield [
            p.created,
            p.owner.username,
            p.batch_id,
            p.row,
            p.src_ip,
            p.dst_ip,
            p.src_port,
            p.dst_port,
            p.protocol,
            p.verdict,
            p.attack_type,
            p.scan_score,
            p.ddos_score,
            p.reasons,
        ] + [p.features.get(c) for c in UNIVERSAL_COLUMNS]


def download(qs: QuerySet[Prediction], fmt: str, stem: str) -> HttpResponse:
    """The predictions as a CSV or JSON attachment."""
    if fmt == "csv":
        body = to_csv(EXPORT_COLUMNS, _export_rows(qs))
        content_type = "text/csv; charset=utf-8"
    else:
        rows = list(_export_rows(qs))
        for row in rows:
            row[13] = _parsed(row[13])
        body = to_json(EXPORT_COLUMNS, rows)
        content_type = "application/json"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response


def _parsed(reasons: str) -> Any:
    """Reasons as JSON values in the JSON download (they are JSON text)."""
    try:
        return json.loads(reasons) if reasons else None
    except ValueError:
        return reasons

"""From a form or an upload to stored predictions, through the library."""

from __future__ import annotations

import json
import math
from typing import Any

import polars as pl
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from twinai.console import services
from twinai.console.detection.models import Prediction, PredictionBatch
from twinai.console.training.models import serving_bundle_path
from twinai.console.uploads import StoredUpload, check_flow_count
from twinai.errors import InputError
from twinai.flows.schema import UNIVERSAL_COLUMNS

__all__ = ["connection_frame", "flows_from_upload", "predict_and_store"]

# Identity columns kept with a prediction when the input has them.
_IDENTITY = ("src_ip", "dst_ip", "src_port", "dst_port", "protocol")
_PROTOCOL_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1}
_COUNT_COLUMNS = (
    "orig_pkts",
    "resp_pkts",
    "orig_bytes",
    "resp_bytes",
    "orig_ip_bytes",
    "resp_ip_bytes",
    "missed_bytes",
)


def connection_frame(fields: dict[str, Any]) -> pl.DataFrame:
    """One connection typed into the form, as a one-row frame of UNIVERSAL_COLUMNS.

    ``pkt_ratio`` and the protocol flags follow their definitions in
    :mod:`twinai.flows.schema`; nothing else is derived here.
    """
    protocol = fields["protocol"]
    row: dict[str, Any] = {"duration_s": float(fields["duration_s"])}
    row.update({name: int(fields[name]) for name in _COUNT_COLUMNS})
    row["pkt_ratio"] = row["orig_pkts"] / max(row["resp_pkts"], 1)
    row.update({f"is_{p}": int(protocol == p) for p in _PROTOCOL_NUMBERS})
    frame = pl.DataFrame([row]).select(UNIVERSAL_COLUMNS)

    identity: dict[str, Any] = {"protocol": _PROTOCOL_NUMBERS[protocol]}
    for name in ("src_ip", "dst_ip", "src_port", "dst_port"):
        if fields.get(name) not in (None, ""):
            identity[name] = fields[name]
    return frame.with_columns(pl.lit(v).alias(k) for k, v in identity.items())


def flows_from_upload(stored: StoredUpload) -> tuple[pl.DataFrame, str]:
    """The flow table of an accepted upload, and the importer's report."""
    try:
        if stored.kind == "capture":
            result = services.meter_capture(stored.path, stored.original_name)
        else:
            fmt = "parquet" if stored.kind == "parquet" else None
            result = services.read_flow_file(stored.path, fmt)
    except InputError as exc:
        # The stored name is a random token; the user knows the file by theirs.
        raise ValidationError(
            str(exc).replace(str(stored.path), stored.original_name)
        ) from None
    # Reports name the stored file, whose path is the server's business.
    flows = result.flows
    report = result.report.replace(str(stored.path), stored.original_name)
    if flows.height == 0:
        raise ValidationError(f"{stored.original_name}: no flow could be read from it ({report})")
    check_flow_count(flows.height, stored.original_name)
    return flows, report


def _number(value: Any) -> float:
    """Scores as plain floats; NaN (no score) becomes 0 so the database accepts it."""
    number = float(value) if value is not None else 0.0
    return 0.0 if math.isnan(number) else number


def _features(record: dict[str, Any]) -> dict[str, Any]:
    features = {}
    for name in UNIVERSAL_COLUMNS:
        value = record.get(name)
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        features[name] = value
    return features


def predict_and_store(
    owner: User,
    flows: pl.DataFrame,
    *,
    source: str,
    file_name: str = "",
    report: str = "",
) -> PredictionBatch:
    """Ask the serving bundle for verdicts and store one batch with one row per flow."""
    bundle_path = serving_bundle_path()
    verdicts = services.predict(flows, bundle_path)
    now = timezone.now()
    keep = [c for c in _IDENTITY + UNIVERSAL_COLUMNS if c in flows.columns]
    inputs = flows.select(keep).to_dicts()

    with transaction.atomic():
        batch = PredictionBatch.objects.create(
            owner=owner,
            source=source,
            file_name=file_name[:255],
            bundle=bundle_path or "(shipped default)",
            flow_count=flows.height,
            report=report,
        )
        rows = [
            _prediction(batch, owner, now, index, flow, verdict)
            for index, (flow, verdict) in enumerate(
                zip(inputs, verdicts.iter_rows(named=True))
            )
        ]
        Prediction.objects.bulk_create(rows, batch_size=2000)
    return batch


def _prediction(
    batch: PredictionBatch,
    owner: User,
    now: Any,
    index: int,
    flow: dict[str, Any],
    verdict: dict[str, Any],
) -> Prediction:
    reasons = verdict.get("reasons")
    if reasons is not None and not isinstance(reasons, str):
        reasons = json.dumps(reasons)
    return Prediction(
        batch=batch,
        owner=owner,
        created=now,
        row=index,
        src_ip=str(flow.get("src_ip") or ""),
        dst_ip=str(flow.get("dst_ip") or ""),
        src_port=flow.get("src_port"),
        dst_port=flow.get("dst_port"),
        protocol=flow.get("protocol"),
        features=_features(flow),
        verdict=str(verdict["verdict"]),
        attack_type=str(verdict.get("attack_type") or ""),
        scan_score=_number(verdict.get("scan_score")),
        ddos_score=_number(verdict.get("ddos_score")),
        reasons=reasons or "",
    )

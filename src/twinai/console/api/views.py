"""API endpoints: predict a batch of flows, list model bundles."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from twinai.console.api.serializers import (
    BundleSerializer,
    PredictRequestSerializer,
    PredictResponseSerializer,
)
from twinai.console.detection import predicting
from twinai.console.detection.models import Source
from twinai.console.training.models import ModelBundle, serving_bundle_path
from twinai.errors import TwinAIError
from twinai.flows.schema import UNIVERSAL_COLUMNS

_INTEGER_COLUMNS = {
    c for c in UNIVERSAL_COLUMNS if c not in ("duration_s", "pkt_ratio")
}


def _frame(flows: list[dict[str, Any]]) -> pl.DataFrame:
    """Validated flows as a flow-table frame with stable column types."""
    columns: dict[str, pl.Series] = {}
    for name in UNIVERSAL_COLUMNS:
        dtype = pl.Int64 if name in _INTEGER_COLUMNS else pl.Float64
        columns[name] = pl.Series(name, [f[name] for f in flows], dtype=dtype)
    for name in ("src_ip", "dst_ip", "src_port", "dst_port", "protocol"):
        if any(name in f for f in flows):
            columns[name] = pl.Series(name, [f.get(name) for f in flows])
    return pl.DataFrame(columns)


def _reasons(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


class PredictView(APIView):
    """Judge a batch of flows with the serving bundle; the batch is kept in history."""

    @extend_schema(
        request=PredictRequestSerializer, responses=PredictResponseSerializer
    )
    def post(self, request: Request) -> Response:
        body = PredictRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            batch = predicting.predict_and_store(
                request.user, _frame(body.validated_data["flows"]), source=Source.API
            )
        except TwinAIError as exc:
            return Response(
                {"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE
            )

        results = [
            {
                "row": p.row,
                "verdict": p.verdict,
                "attack_type": p.attack_type,
                "scan_score": p.scan_score,
                "ddos_score": p.ddos_score,
                "reasons": _reasons(p.reasons),
            }
            for p in batch.predictions.order_by("row")
        ]
        answer = {"batch": batch.pk, "bundle": batch.bundle, "results": results}
        return Response(PredictResponseSerializer(answer).data)


class ModelsView(APIView):
    """The model bundles the console knows, and which one serves predictions."""

    @extend_schema(responses=BundleSerializer(many=True))
    def get(self, request: Request) -> Response:
        serving = serving_bundle_path()
        rows = [
            {
                "id": None,
                "name": "shipped default bundle",
                "path": "",
                "serving": serving is None,
                "created": None,
            }
        ]
        rows += [
            {
                "id": b.pk,
                "name": b.name,
                "path": b.path,
                "serving": b.serving,
                "created": b.created,
            }
            for b in ModelBundle.objects.all()
        ]
        return Response(BundleSerializer(rows, many=True).data)

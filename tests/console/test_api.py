"""The REST API: token authentication, batch prediction, bundles, OpenAPI schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from twinai.console.api.serializers import FlowSerializer
from twinai.console.detection.models import PredictionBatch, Source
from twinai.flows.schema import UNIVERSAL_COLUMNS

from .conftest import client_for

FLOW = {
    "duration_s": 0.0,
    "orig_pkts": 1,
    "resp_pkts": 1,
    "orig_bytes": 0,
    "resp_bytes": 0,
    "orig_ip_bytes": 44,
    "resp_ip_bytes": 40,
    "missed_bytes": 0,
    "pkt_ratio": 1.0,
    "is_tcp": 1,
    "is_udp": 0,
    "is_icmp": 0,
    "dst_ip": "192.168.1.20",
    "dst_port": 22,
}


def _post(token: str | None, body: object) -> object:
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}
    return Client().post(
        reverse("api-predict"),
        json.dumps(body),
        content_type="application/json",
        **headers,
    )


def test_the_api_accepts_every_universal_column() -> None:
    assert set(UNIVERSAL_COLUMNS) <= set(FlowSerializer().fields)


def test_requests_without_a_token_are_refused(db: None) -> None:
    response = _post(None, {"flows": [FLOW]})

    assert response.status_code == 401  # type: ignore[attr-defined]


def test_a_wrong_token_is_refused(remote: User) -> None:
    response = _post("0" * 40, {"flows": [FLOW]})

    assert response.status_code == 401  # type: ignore[attr-defined]


@pytest.mark.parametrize("persona", ["pending", "suspended"])
def test_tokens_of_unauthorised_accounts_are_refused(
    persona: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(persona)
    token = Token.objects.create(user=user)

    response = _post(token.key, {"flows": [FLOW]})

    assert response.status_code == 403  # type: ignore[attr-defined]
    assert "not authorised" in response.json()["detail"]  # type: ignore[attr-defined]


def test_profile_page_creates_and_rotates_the_token(remote: User) -> None:
    client = client_for(remote)

    client.post(reverse("accounts:token"))
    first = Token.objects.get(user=remote).key
    client.post(reverse("accounts:token"))
    second = Token.objects.get(user=remote).key

    assert first != second
    assert second in client.get(reverse("accounts:profile")).content.decode()
    assert _post(first, {"flows": [FLOW]}).status_code == 401  # type: ignore[attr-defined]


def test_predict_returns_one_verdict_per_flow_and_keeps_the_batch(
    serving: Path, remote: User
) -> None:
    token = Token.objects.create(user=remote)

    response = _post(token.key, {"flows": [FLOW, FLOW | {"dst_port": 23}]})

    assert response.status_code == 200  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert [r["row"] for r in body["results"]] == [0, 1]
    assert all(r["verdict"] in ("benign", "scan", "ddos") for r in body["results"])
    batch = PredictionBatch.objects.get(pk=body["batch"])
    assert (batch.owner, batch.source, batch.flow_count) == (remote, Source.API, 2)
    assert body["bundle"] == str(serving)


def test_predict_explains_what_is_wrong_with_a_flow(remote: User) -> None:
    token = Token.objects.create(user=remote)

    response = _post(token.key, {"flows": [FLOW | {"orig_pkts": -1, "is_udp": 1}]})

    assert response.status_code == 400  # type: ignore[attr-defined]
    errors = response.json()["flows"]["0"]  # type: ignore[attr-defined]
    assert errors == {"orig_pkts": ["Ensure this value is greater than or equal to 0."]}


def test_predict_refuses_too_many_flows(remote: User, settings: object) -> None:
    settings.API_MAX_FLOWS = 2  # type: ignore[attr-defined]
    token = Token.objects.create(user=remote)

    response = _post(token.key, {"flows": [FLOW] * 3})

    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "3 flows in one request; the limit is 2" in json.dumps(response.json())  # type: ignore[attr-defined]


def test_models_lists_the_shipped_default_and_known_bundles(operator: User) -> None:
    token = Token.objects.create(user=operator)

    response = Client().get(
        reverse("api-models"), HTTP_AUTHORIZATION=f"Token {token.key}"
    )

    (default,) = response.json()
    assert default["name"] == "shipped default bundle" and default["serving"] is True


def test_schema_documents_both_endpoints(db: None) -> None:
    response = Client().get(reverse("api-schema"))

    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/predict/", "/api/v1/models/"} <= set(schema["paths"])
    flow = schema["components"]["schemas"]["Flow"]
    assert set(UNIVERSAL_COLUMNS) <= set(flow["properties"])


def test_predict_refuses_counts_beyond_the_flow_table(remote: User) -> None:
    token = Token.objects.create(user=remote)

    response = _post(token.key, {"flows": [FLOW | {"orig_pkts": 10**21}]})

    assert response.status_code == 400  # type: ignore[attr-defined]
    errors = response.json()["flows"]["0"]  # type: ignore[attr-defined]
    assert errors == {"orig_pkts": ["Ensure this value is less than or equal to 1000000000000."]}

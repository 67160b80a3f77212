"""Downloads: spreadsheet formulas made inert, numbers kept as numbers."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from twinai.console.detection.models import Prediction, PredictionBatch, Source
from twinai.console.exports import neutralise_cell, to_csv

from .conftest import client_for, make_user


@pytest.mark.parametrize(
    "text", ["=1+1", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x")']
)
def test_text_that_a_spreadsheet_would_run_gets_an_apostrophe(text: str) -> None:
    assert neutralise_cell(text) == "'" + text


@pytest.mark.parametrize("value", [-0.5, 0, 3, 1e-9, -17])
def test_numbers_stay_numbers(value: float) -> None:
    assert neutralise_cell(value) == value


def test_plain_text_and_none_pass_through() -> None:
    assert neutralise_cell("tcp-syn-flood") == "tcp-syn-flood"
    assert neutralise_cell(None) == ""


def test_csv_writes_negative_numbers_unquoted() -> None:
    text = to_csv(["a", "b"], [[-1.5, "-1.5"]])

    assert text.splitlines()[1] == "-1.5,'-1.5"


def _hostile_prediction(owner: User) -> Prediction:
    batch = PredictionBatch.objects.create(owner=owner, source=Source.API, bundle="b")
    return Prediction.objects.create(
        batch=batch,
        owner=owner,
        created=timezone.now(),
        row=0,
        verdict="scan",
        attack_type="=cmd|' /C calc'!A0",
        scan_score=0.9,
        ddos_score=0.01,
        dst_port=23,
        reasons=json.dumps([{"feature": "orig_pkts", "value": -3}]),
        features={"orig_pkts": 1, "duration_s": 0.25},
    )


def test_operator_csv_neutralises_usernames_and_labels(
    operator: User, db: None
) -> None:
    # Django usernames may start with + - @, all formula starters.
    owner = make_user("@SUM(1+1)")
    _hostile_prediction(owner)

    response = client_for(operator).get(
        reverse("predictions-download", kwargs={"fmt": "csv"})
    )

    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows[0]["user"] == "'@SUM(1+1)"
    assert rows[0]["attack_type"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["scan_score"] == "0.9" and rows[0]["dst_port"] == "23"
    assert rows[0]["duration_s"] == "0.25"


def test_json_download_keeps_values_and_parses_reasons(
    operator: User, remote: User
) -> None:
    _hostile_prediction(remote)

    response = client_for(operator).get(
        reverse("predictions-download", kwargs={"fmt": "json"})
    )

    (record,) = json.loads(response.content)
    assert record["attack_type"] == "=cmd|' /C calc'!A0"
    assert record["reasons"] == [{"feature": "orig_pkts", "value": -3}]
    assert record["scan_score"] == 0.9


def test_operator_download_follows_the_filter(
    operator: User, remote: User, other_remote: User
) -> None:
    _hostile_prediction(remote)
    _hostile_prediction(other_remote)

    response = client_for(operator).get(
        reverse("predictions-download", kwargs={"fmt": "json"}), {"user": "oscar"}
    )

    assert [r["user"] for r in json.loads(response.content)] == ["oscar"]

"""Predictions through the forms: one connection, a capture, a flow CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from twinai.console.detection.models import Prediction, PredictionBatch, Source
from twinai.flows.meter import meter_files
from twinai.folds.bundle import load_bundle

from .conftest import client_for, need_data

# A SYN probe that got no answer: what a port scanner leaves in conn.log.
SYN_PROBE = {
    "one-protocol": "tcp",
    "one-duration_s": "0",
    "one-orig_pkts": "1",
    "one-resp_pkts": "0",
    "one-orig_bytes": "0",
    "one-resp_bytes": "0",
    "one-orig_ip_bytes": "44",
    "one-resp_ip_bytes": "0",
    "one-missed_bytes": "0",
    "one-src_ip": "10.0.0.66",
    "one-dst_ip": "10.0.0.5",
    "one-dst_port": "23",
    "action": "one",
}


def _upload(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes())


def test_one_connection_is_judged_and_stored(serving: Path, remote: User) -> None:
    client = client_for(remote)

    response = client.post(reverse("predict"), SYN_PROBE)

    batch = PredictionBatch.objects.get(owner=remote)
    assert response["Location"] == reverse("batch", kwargs={"batch_id": batch.pk})
    prediction = batch.predictions.get()
    assert prediction.verdict in ("benign", "scan", "ddos")
    assert 0.0 <= prediction.scan_score <= 1.0 and 0.0 <= prediction.ddos_score <= 1.0
    assert prediction.features["orig_ip_bytes"] == 44
    assert prediction.features["is_tcp"] == 1 and prediction.features["is_udp"] == 0
    assert (prediction.dst_ip, prediction.dst_port, prediction.protocol) == (
        "10.0.0.5",
        23,
        6,
    )
    assert batch.bundle == str(serving)
    page = client.get(response["Location"]).content.decode()
    assert f'class="pill {prediction.verdict}"' in page


def test_form_refuses_ip_bytes_below_payload(remote: User) -> None:
    form = SYN_PROBE | {"one-orig_bytes": "100", "one-orig_ip_bytes": "40"}

    response = client_for(remote).post(reverse("predict"), form)

    assert response.status_code == 200
    assert "IP bytes include headers" in response.content.decode()
    assert not PredictionBatch.objects.exists()


def test_capture_upload_judges_every_flow(serving: Path, remote: User) -> None:
    (capture,) = need_data(
        "stopddos/amp.TCP.syn.optionallyACK.optionallysamePort.pcapng"
    )
    client = client_for(remote)

    response = client.post(
        reverse("predict"), {"action": "batch", "batch-file": _upload(capture)}
    )

    batch = PredictionBatch.objects.get(owner=remote)
    assert response.status_code == 302
    assert batch.source == Source.CAPTURE
    assert batch.file_name == capture.name
    assert batch.flow_count == batch.predictions.count() > 0
    # The console stores what the library says, flow by flow, in input order.
    expected = load_bundle(serving).predict(meter_files([str(capture)]))
    stored = list(batch.predictions.order_by("row"))
    assert [p.verdict for p in stored] == expected["verdict"].to_list()
    assert [p.ddos_score for p in stored] == pytest.approx(
        expected["ddos_score"].to_list()
    )
    assert [p.attack_type or None for p in stored] == expected["attack_type"].to_list()
    flagged = [p for p in stored if p.verdict != "benign"]
    assert flagged and all(json.loads(p.reasons) for p in flagged)


def test_flow_csv_upload_goes_through_the_importer(serving: Path, remote: User) -> None:
    (conn_log,) = need_data("slips/port-scans/vertical/conn.log")

    client_for(remote).post(
        reverse("predict"), {"action": "batch", "batch-file": _upload(conn_log)}
    )

    batch = PredictionBatch.objects.get(owner=remote)
    assert batch.source == Source.FLOW_FILE
    assert batch.flow_count == 50  # truth.json rows
    assert "zeek" in batch.report.lower()


def test_a_file_that_is_no_capture_nor_flow_file_is_refused_with_its_name(
    serving: Path, remote: User
) -> None:
    junk = SimpleUploadedFile("notes.csv", b"hello,world\n1,2\n")

    response = client_for(remote).post(
        reverse("predict"), {"action": "batch", "batch-file": junk}
    )

    text = response.content.decode()
    assert response.status_code == 200
    assert "notes.csv" in text and "not a known flow format" in text
    assert not PredictionBatch.objects.exists()


def test_history_lists_only_own_batches(
    serving: Path, remote: User, other_remote: User
) -> None:
    client_for(other_remote).post(reverse("predict"), SYN_PROBE)
    client_for(remote).post(reverse("predict"), SYN_PROBE | {"one-dst_port": "2323"})

    page = client_for(remote).get(reverse("history")).content.decode()

    mine = PredictionBatch.objects.get(owner=remote)
    theirs = PredictionBatch.objects.get(owner=other_remote)
    assert f'href="/predict/batch/{mine.pk}/"' in page
    assert f'href="/predict/batch/{theirs.pk}/"' not in page


def test_operator_sees_every_prediction_filtered_and_in_the_ratio(
    serving: Path, remote: User, operator: User
) -> None:
    client_for(remote).post(reverse("predict"), SYN_PROBE)
    prediction = Prediction.objects.get()
    other = {"benign": "scan", "scan": "ddos", "ddos": "benign"}[prediction.verdict]
    client = client_for(operator)

    table = client.get(
        reverse("predictions"), {"verdict": prediction.verdict, "user": "rita"}
    )
    empty = client.get(reverse("predictions"), {"verdict": other})
    ratio = client.get(reverse("ratio"))

    assert "10.0.0.5:23" in table.content.decode()
    assert "No predictions match." in empty.content.decode()
    summary = ratio.context["summary"]
    assert summary["total"] == 1
    counts = {v["verdict"]: v["count"] for v in summary["verdicts"]}
    assert counts[prediction.verdict] == 1 and sum(counts.values()) == 1
    assert ratio.context["chart"]["verdicts"][prediction.get_verdict_display()] == 1


def test_dashboard_counts_flows_alerts_and_waiting_users(
    serving: Path, remote: User, pending: User, operator: User
) -> None:
    (capture,) = need_data(
        "stopddos/amp.TCP.syn.optionallyACK.optionallysamePort.pcapng"
    )
    client_for(remote).post(
        reverse("predict"), {"action": "batch", "batch-file": _upload(capture)}
    )

    context = client_for(operator).get(reverse("dashboard")).context

    assert context["flows_judged"] == Prediction.objects.count()
    assert context["alerts"] == Prediction.objects.exclude(verdict="benign").count()
    assert context["floods"] == Prediction.objects.filter(verdict="ddos").count()
    assert context["waiting"] == 1


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_batch_download_holds_every_flow(serving: Path, remote: User, fmt: str) -> None:
    client = client_for(remote)
    client.post(reverse("predict"), SYN_PROBE)
    batch = PredictionBatch.objects.get()

    response = client.get(
        reverse("batch-download", kwargs={"batch_id": batch.pk, "fmt": fmt})
    )

    assert (
        response["Content-Disposition"]
        == f'attachment; filename="twinai-batch-{batch.pk}.{fmt}"'
    )
    body = response.content.decode()
    if fmt == "json":
        (record,) = json.loads(body)
        assert record["dst_port"] == 23 and record["orig_ip_bytes"] == 44
    else:
        header, row = body.strip().split("\r\n")
        assert header.startswith("created,user,batch,row,src_ip")
        assert ",10.0.0.66,10.0.0.5,,23,6," in row

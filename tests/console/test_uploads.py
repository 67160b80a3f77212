"""Upload limits are enforced before parsing, with a message naming the limit."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from twinai.console.detection.models import PredictionBatch
from twinai.console.training.models import Dataset
from twinai.flows.schema import UNIVERSAL_COLUMNS

from .conftest import client_for, need_data


def _stored_uploads() -> list[Path]:
    root = Path(django_settings.UPLOAD_DIR)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _post_batch(user: User, upload: SimpleUploadedFile) -> str:
    response = client_for(user).post(
        reverse("predict"), {"action": "batch", "batch-file": upload}
    )
    assert response.status_code == 200
    return response.content.decode()


def test_oversized_file_is_refused_by_its_size(remote: User, settings: object) -> None:
    settings.UPLOAD_MAX_BYTES = 1000  # type: ignore[attr-defined]
    before = _stored_uploads()

    text = _post_batch(
        remote, SimpleUploadedFile("big.pcap", b"\xd4\xc3\xb2\xa1" + b"\0" * 2044)
    )

    assert "big.pcap is 2.0 kB; the limit is 1000 bytes (TWINAI_UPLOAD_MAX_MB)." in text
    assert _stored_uploads() == before
    assert not PredictionBatch.objects.exists()


def test_too_many_rows_are_refused_before_the_importer_runs(
    remote: User, settings: object
) -> None:
    settings.UPLOAD_MAX_ROWS = 3  # type: ignore[attr-defined]
    # Not a known flow format: had the importer run, it would say so instead.
    body = "a,b\n" + "1,2\n" * 4

    text = _post_batch(remote, SimpleUploadedFile("rows.csv", body.encode()))

    assert "rows.csv has 4 rows; the limit is 3 (TWINAI_UPLOAD_MAX_ROWS)" in text
    assert "not a known flow format" not in text


def test_too_many_columns_are_refused(remote: User, settings: object) -> None:
    settings.UPLOAD_MAX_COLUMNS = 5  # type: ignore[attr-defined]
    body = ",".join(f"c{i}" for i in range(6)) + "\n" + ",".join("1" * 6) + "\n"

    text = _post_batch(remote, SimpleUploadedFile("wide.csv", body.encode()))

    assert "wide.csv has 6 columns; the limit is 5 (TWINAI_UPLOAD_MAX_COLUMNS)." in text


def test_zeek_log_columns_are_counted_from_its_fields_line(
    remote: User, settings: object
) -> None:
    (conn_log,) = need_data("stratosphere/008-zeek-mixed/data/conn.log.labeled")
    settings.UPLOAD_MAX_COLUMNS = 10  # type: ignore[attr-defined]

    text = _post_batch(remote, SimpleUploadedFile("conn.log", conn_log.read_bytes()))

    fields = next(
        line for line in conn_log.read_text().splitlines() if line.startswith("#fields")
    )
    assert (
        f"conn.log has {len(fields.split(chr(9))) - 1} columns; the limit is 10" in text
    )


def test_parquet_rows_are_read_from_the_footer(remote: User, settings: object) -> None:
    settings.UPLOAD_MAX_ROWS = 2  # type: ignore[attr-defined]
    buffer = io.BytesIO()
    pl.DataFrame({c: [0, 0, 0] for c in UNIVERSAL_COLUMNS}).write_parquet(buffer)

    text = _post_batch(remote, SimpleUploadedFile("flows.parquet", buffer.getvalue()))

    assert "flows.parquet has 3 rows; the limit is 2" in text


def test_captures_are_limited_by_their_metered_flows(
    serving: Path, remote: User, settings: object
) -> None:
    (capture,) = need_data("ndpi/tcp_scan.pcapng")
    settings.UPLOAD_MAX_ROWS = 1  # type: ignore[attr-defined]

    text = _post_batch(remote, SimpleUploadedFile(capture.name, capture.read_bytes()))

    assert (
        "tcp_scan.pcapng has" in text
        and "the limit is 1 (TWINAI_UPLOAD_MAX_ROWS)" in text
    )
    assert not PredictionBatch.objects.exists()


def test_binary_that_is_no_known_format_is_refused(remote: User) -> None:
    text = _post_batch(remote, SimpleUploadedFile("x.bin", b"\x7fELF\x00\x01\x02"))

    assert (
        "neither a capture (pcap, pcapng), a Parquet flow table nor a text flow file"
        in text
    )


def test_dataset_upload_obeys_the_same_limits(operator: User, settings: object) -> None:
    settings.UPLOAD_MAX_BYTES = 10  # type: ignore[attr-defined]

    response = client_for(operator).post(
        reverse("datasets"),
        {"name": "too big", "file": SimpleUploadedFile("d.csv", b"a,b\n" * 10)},
    )

    assert "(TWINAI_UPLOAD_MAX_MB)" in response.content.decode()
    assert not Dataset.objects.exists()


@pytest.mark.parametrize(
    "name,labels", [("Portscan_5000.csv", {"scan/portscan": 5000})]
)
def test_dataset_upload_lists_previews_and_counts_labels(
    operator: User, name: str, labels: dict[str, int]
) -> None:
    (csv,) = need_data(f"cicids2017-improved/{name}")
    client = client_for(operator)

    response = client.post(
        reverse("datasets"),
        {"name": "scans", "file": SimpleUploadedFile(name, csv.read_bytes())},
    )

    dataset = Dataset.objects.get()
    assert response["Location"] == reverse("dataset", kwargs={"dataset_id": dataset.pk})
    assert dataset.flow_count == 5000  # truth.json rows
    assert dataset.label_counts == labels
    page = client.get(response["Location"])
    assert len(page.context["rows"]) == 20
    assert "label" in page.context["columns"]
    assert "scans" in client.get(reverse("datasets")).content.decode()

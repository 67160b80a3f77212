"""Every flow log and CSV of ../shared/data imports with the counts of truth.json."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest
from dataset_paths import SHARED, flow_files

from twinai.datasets import detect_format, import_dataset, is_flow_log
from twinai.datasets._base import OUTPUT_SCHEMA
from twinai.flows.schema import UNIVERSAL_COLUMNS
from twinai.labels import is_valid_label

ENTRIES = flow_files()
pytestmark = pytest.mark.skipif(not ENTRIES, reason="../shared/data is not present")

# truth.json kind → the format our sniffing must find.
EXPECTED_FORMAT = {
    "zeek-json": {"zeek-json"},
    "zeek-tsv": {"zeek-tsv"},
    "iot23-csv": {"iot23"},
    "cicflowmeter-csv": {"cicflowmeter", "distrinet"},
}


def _ids(entry: dict[str, Any]) -> str:
    return str(entry["path"])


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_imports_every_row_of_the_file(entry: dict[str, Any]) -> None:
    result = import_dataset(SHARED / entry["path"])

    report = result.report
    assert report.rows_read == entry["rows"]
    assert report.rows_kept == entry["rows"]
    assert report.rows_rejected == 0
    assert result.flows.height == entry["rows"]


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_original_labels_are_counted_as_in_truth(entry: dict[str, Any]) -> None:
    report = import_dataset(SHARED / entry["path"]).report

    if entry.get("label_counts") is None:
        assert not report.labelled
        assert report.label_counts == {"(unlabelled)": entry["rows"]}
        return
    # truth.json writes IoT-23's honeypot labels without their detailed part.
    counted = {
        (k if " / " in next(iter(entry.get("label_counts"))) else k.split(" / ")[0]): v
        for k, v in report.original_label_counts.items()
    }
    assert counted == entry.get("label_counts")


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_attack_rows_map_to_the_truth_category(entry: dict[str, Any]) -> None:
    flows = import_dataset(SHARED / entry["path"]).flows

    if entry.get("label_counts") is None:
        assert flows["label"].null_count() == flows.height
        return
    families = flows["label"].str.split("/").list.first().value_counts()
    counts = dict(families.iter_rows())
    assert all(is_valid_label(v) for v in flows["label"].unique())
    category = entry["category"]
    if category in ("scan", "ddos"):
        assert counts[category] == entry["attack_rows"]
    if category == "benign":
        assert counts == {"benign": entry["rows"]}


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_output_schema_and_finite_universal_columns(entry: dict[str, Any]) -> None:
    flows = import_dataset(SHARED / entry["path"]).flows

    assert dict(flows.schema) == OUTPUT_SCHEMA
    for column in UNIVERSAL_COLUMNS:
        values = flows[column].drop_nulls().cast(pl.Float64)
        assert all(math.isfinite(v) for v in values), column
    counters = flows.select("orig_pkts", "resp_pkts", "orig_ip_bytes", "resp_ip_bytes")
    assert counters.null_count().sum_horizontal().item() == 0
    assert flows["flow_id"].to_list() == list(range(flows.height))


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_format_is_detected_from_the_header(entry: dict[str, Any]) -> None:
    path = SHARED / entry["path"]

    assert detect_format(path) in EXPECTED_FORMAT[entry["kind"]]
    assert is_flow_log(path)


def test_captures_and_text_files_are_not_flow_logs() -> None:
    assert not is_flow_log(SHARED / "ndpi" / "synscan.pcap")
    assert not is_flow_log(SHARED / "MANIFEST.md")
    assert not is_flow_log(SHARED / "does-not-exist.csv")


def test_mirai_ddos_rows_target_the_documented_victim() -> None:
    path = SHARED / "iot23" / "CTU-Malware-Capture-34-1-labeled.csv"
    flows = import_dataset(path).flows

    ddos = flows.filter(pl.col("label") == "ddos/flood")
    assert set(ddos["src_ip"].unique()) == {"192.168.1.195"}
    top = ddos.group_by("dst_ip", "dst_port", "protocol").len().sort("len").row(-1)
    assert top == ("123.59.209.185", 80, 6, 14260)


def test_stratosphere_inbound_probes_are_scans_of_one_host() -> None:
    path = SHARED / "stratosphere" / "008-zeek-mixed" / "data" / "conn.log.labeled"
    flows = import_dataset(path).flows

    probes = flows.filter(pl.col("label") == "scan/inbound-internet-scanning")
    assert probes.height == 4201
    assert set(probes["dst_ip"].unique()) == {"147.32.81.167"}
    assert probes["src_ip"].n_unique() == 1599
    assert (
        probes.filter((pl.col("conn_state") == "S0") & (pl.col("is_tcp") == 1)).height
        == 3815
    )


def test_distrinet_times_are_utc_as_written() -> None:
    flows = import_dataset(SHARED / "cicids2017-improved" / "DDoS_5000.csv").flows

    first = flows["first_seen_us"].min()
    last = flows["first_seen_us"].max()
    assert first is not None and last is not None
    assert (
        pl.Series([first]).cast(pl.Datetime("us")).dt.strftime("%H:%M").item()
        == "18:56"
    )
    assert (
        pl.Series([last]).cast(pl.Datetime("us")).dt.strftime("%H:%M").item() == "19:16"
    )
    assert set(flows["dataset"].unique()) == {"cic-ids2017-distrinet"}


def test_machinelearningcve_reports_the_infinity_cells_it_did_not_import() -> None:
    path = (
        SHARED
        / "cicids2017-original"
        / "Friday-WorkingHours-Afternoon-DDos.pcap_ISCX.csv"
    )
    result = import_dataset(path)

    assert any(n.startswith("14 Infinity/NaN cells") for n in result.report.notes)
    assert result.flows["src_ip"].null_count() == result.flows.height
    assert result.flows["is_tcp"].null_count() == result.flows.height
    assert result.flows["dst_port"].null_count() == 0

"""Each quirk of the public formats, on a small hand-made file (see make_fixtures.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from dataset_paths import FIXTURES

from twinai.datasets import detect_format, import_dataset
from twinai.errors import DatasetError


def _us(text: str) -> int:
    """Microseconds since the epoch of a UTC time written ``YYYY-mm-dd HH:MM:SS``."""
    moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000


def _rows(path: Path, format: str | None = None) -> list[dict[str, object]]:
    return import_dataset(path, format).flows.to_dicts()


# -- CICFlowMeter ---------------------------------------------------------------


def test_cic_crlf_leading_spaces_and_first_duplicate_header_column() -> None:
    first = _rows(FIXTURES / "cic_machinelearningcve.csv")[0]

    # Fwd Header Length 60 (the duplicate says 999), + payload 100 + 3 × 20.
    assert first["orig_ip_bytes"] == 60 + 100 + 3 * 20
    assert first["resp_ip_bytes"] == 40 + 50 + 2 * 20
    assert first["duration_s"] == pytest.approx(2.0)
    assert first["dst_port"] == 80
    assert first["pkt_ratio"] == pytest.approx(1.5)
    assert first["label"] == "benign"
    assert first["original_label"] == "BENIGN"  # no trailing CR


def test_cic_infinity_and_nan_cells_are_repaired_and_counted() -> None:
    result = import_dataset(FIXTURES / "cic_machinelearningcve.csv")
    rows = result.flows.to_dicts()

    assert rows[1]["duration_s"] == 0.0  # Flow Duration "Infinity"
    assert rows[-1]["orig_pkts"] == 0  # Total Fwd Packets "NaN"
    assert rows[-1]["pkt_ratio"] == 0.0
    assert result.report.repairs["duration_s: Infinity/NaN → 0"] == 1
    assert result.report.repairs["orig_pkts: Infinity/NaN → 0"] == 1
    note = next(n for n in result.report.notes if "Infinity/NaN cells" in n)
    assert note.startswith("6 Infinity/NaN cells in the file, 2 of them")


def test_cic_repeated_header_ragged_and_bad_rows_are_rejected_with_lines() -> None:
    report = import_dataset(FIXTURES / "cic_machinelearningcve.csv").report

    assert (report.rows_read, report.rows_kept) == (9, 6)
    assert report.rejected == {
        "repeated header row": 1,
        "expected 12 fields, found 3": 1,
        "unparseable number in ' Total Fwd Packets'": 1,
    }
    assert report.reject_lines["repeated header row"] == [5]
    assert report.reject_lines["unparseable number in ' Total Fwd Packets'"] == [9]


def test_cic_cp1252_en_dash_label_is_normalised() -> None:
    result = import_dataset(FIXTURES / "cic_machinelearningcve.csv")
    labels = dict(
        zip(result.flows["original_label"], result.flows["label"], strict=True)
    )

    assert labels["Web Attack \u2013 Brute Force"] == "other/Web Attack - Brute Force"
    assert labels["DoS Hulk"] == "ddos/hulk"
    assert labels["PortScan"] == "scan/portscan"
    assert any("cp1252" in n for n in result.report.notes)


def test_cic2017_local_12_hour_times_become_utc() -> None:
    rows = _rows(FIXTURES / "cic_trafficlabelling.csv")

    # 3:30 without AM/PM on a working day is 15:30 ADT, 18:30 UTC.
    assert rows[0]["first_seen_us"] == _us("2017-07-07 18:30:00")
    assert rows[0]["last_seen_us"] == _us("2017-07-07 18:30:00") + 1500
    assert rows[1]["first_seen_us"] == _us("2017-07-07 12:05:00")
    assert rows[2]["first_seen_us"] == _us("2017-07-04 14:59:00")  # day first


def test_cic_udp_and_icmp_rows() -> None:
    udp, tcp, icmp = _rows(FIXTURES / "cic_trafficlabelling.csv")

    assert (udp["protocol"], udp["is_udp"], udp["is_tcp"]) == (17, 1, 0)
    assert udp["orig_ip_bytes"] == 8 + 30 + 20
    assert (tcp["label"], tcp["resp_pkts"], tcp["pkt_ratio"]) == ("ddos/flood", 0, 2.0)
    assert (icmp["is_icmp"], icmp["src_port"], icmp["dst_port"]) == (1, 0, 0)


def test_cic_ddos2019_labels_and_iso_times() -> None:
    result = import_dataset(FIXTURES / "cic_ddos2019.csv")
    rows = result.flows.to_dicts()

    assert result.report.dataset == "cic-ddos2019"
    assert [r["label"] for r in rows] == [
        "ddos/drdos-dns",
        "ddos/syn",
        "ddos/udp-lag",
        "benign",
    ]
    assert rows[0]["first_seen_us"] == _us("2018-12-01 10:51:39") + 813448
    assert rows[0]["orig_pkts"] == 97


def test_cse_cic_ids2018_abbreviated_header_and_repeated_header() -> None:
    result = import_dataset(FIXTURES / "cse_cic_ids2018.csv")
    rows = result.flows.to_dicts()

    assert result.report.dataset == "cse-cic-ids2018"
    assert result.report.rejected == {"repeated header row": 1}
    assert rows[0]["label"] == "ddos/hoic"
    assert rows[0]["first_seen_us"] == _us("2018-02-15 08:31:01")
    assert rows[0]["orig_ip_bytes"] == 40 + 0 + 2 * 20


def test_cic_header_without_counters_names_the_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    path.write_text(" Destination Port, Flow Duration, Label\n80,1,BENIGN\n")

    with pytest.raises(DatasetError, match=r"cut\.csv, line 1: .*'total fwd packets'"):
        import_dataset(path)


# -- Zeek -----------------------------------------------------------------------


def test_zeek_tsv_fields_are_read_by_name_not_position() -> None:
    result = import_dataset(FIXTURES / "zeek_shuffled.conn.log")
    probe, dns, ping = result.flows.to_dicts()

    assert (probe["src_ip"], probe["src_port"], probe["dst_ip"], probe["dst_port"]) == (
        "193.201.9.232", 46563, "147.32.81.167", 23,
    )  # fmt: skip
    assert probe["first_seen_us"] == 1655071231749548
    assert (probe["conn_state"], probe["orig_ip_bytes"], probe["orig_pkts"]) == (
        "S0",
        80,
        2,
    )
    assert probe["label"] == "scan/inbound-internet-scanning"
    assert probe["original_label"] == "Malicious / External-Attack-to-Device"
    assert dns["label"] == "benign" and dns["duration_s"] == 0.0
    assert ping["original_label"] == "Background / (empty)"
    assert ping["label"] == "other/Background"


def test_zeek_unset_udp_and_icmp_payload_is_estimated_from_ip_bytes() -> None:
    _, dns, ping = _rows(FIXTURES / "zeek_shuffled.conn.log")

    assert (dns["orig_bytes"], dns["resp_bytes"]) == (76 - 28, 120 - 28)
    assert (ping["orig_bytes"], ping["src_port"], ping["is_icmp"]) == (
        252 - 3 * 28,
        0,
        1,
    )


def test_zeek_tsv_repeated_header_block_and_ragged_line() -> None:
    report = import_dataset(FIXTURES / "zeek_shuffled.conn.log").report

    assert (report.rows_read, report.rows_kept) == (4, 3)
    assert report.rejected == {"expected 18 fields, found 7": 1}
    assert report.reject_lines["expected 18 fields, found 7"] == [19]


def test_zeek_tsv_with_changed_fields_midway_is_refused(tmp_path: Path) -> None:
    text = (FIXTURES / "zeek_shuffled.conn.log").read_text()
    path = tmp_path / "two.log"
    path.write_text(
        text.replace("#fields\tproto", "#fields\tts\tproto", 2).replace(
            "#fields\tts\tproto", "#fields\tproto", 1
        )
    )

    with pytest.raises(
        DatasetError, match=r"two\.log, line 17: a second '#fields' line"
    ):
        import_dataset(path)


def test_iot23_space_separated_tail_fields() -> None:
    result = import_dataset(FIXTURES / "iot23.conn.log.labeled")
    scan, ddos, ntp = result.flows.to_dicts()

    assert detect_format(FIXTURES / "iot23.conn.log.labeled") == "iot23"
    assert scan["label"] == "scan/horizontal-portscan"
    assert scan["original_label"] == "Malicious / PartOfAHorizontalPortScan"
    assert (scan["orig_bytes"], scan["duration_s"], scan["dst_port"]) == (0, 0.0, 63798)
    assert ddos["label"] == "ddos/flood" and ddos["orig_ip_bytes"] == 180
    assert ntp["label"] == "benign" and ntp["is_udp"] == 1
    assert result.report.rejected == {
        "expected 3 space-separated values in 'tunnel_parents label detailed-label'": 1
    }


def test_zeek_json_bad_line_is_rejected_and_the_rest_kept() -> None:
    result = import_dataset(FIXTURES / "zeek_json.conn.log")
    rej, dns = result.flows.to_dicts()

    assert result.report.rejected == {"invalid JSON (Expecting ',' delimiter)": 1}
    assert result.report.reject_lines["invalid JSON (Expecting ',' delimiter)"] == [2]
    assert (rej["conn_state"], rej["orig_ip_bytes"], rej["resp_pkts"]) == ("REJ", 60, 1)
    assert rej["duration_s"] == pytest.approx(0.2)
    assert dns["orig_bytes"] == 70 - 28 and dns["label"] is None
    assert not result.report.labelled


# -- Argus ------------------------------------------------------------------------


def test_argus_hex_ports_and_direction_split() -> None:
    result = import_dataset(FIXTURES / "ctu13.binetflow")
    tcp, icmp, udp = result.flows.to_dicts()

    assert detect_format(FIXTURES / "ctu13.binetflow") == "argus"
    assert udp["src_port"] == 53  # written 0x0035
    assert (icmp["protocol"], icmp["src_port"], icmp["dst_port"]) == (1, 0, 0)
    assert (tcp["orig_ip_bytes"], tcp["resp_ip_bytes"]) == (156, 120)
    assert tcp["orig_pkts"] is None  # 4 packets both ways, no SrcPkts column
    assert (icmp["orig_pkts"], icmp["resp_pkts"], icmp["pkt_ratio"]) == (1, 0, 1.0)
    assert tcp["first_seen_us"] == _us("2011-08-10 09:46:59") + 607825
    assert udp["label"] == "benign"
    assert icmp["label"] == "other/From-Botnet-V42-ICMP"
    assert result.report.rejected == {"bad port in 'Dport'": 1}


# -- Bad input ------------------------------------------------------------------


def test_unknown_format_names_the_file_and_the_choices(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, world\n")

    with pytest.raises(
        DatasetError, match=r"notes\.txt, line 1: not a known flow format"
    ):
        import_dataset(path)


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "capture.csv"
    path.write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + bytes(64))

    with pytest.raises(DatasetError, match="binary data"):
        import_dataset(path)


def test_empty_csv_after_header_gives_an_empty_table(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(
        (FIXTURES / "cse_cic_ids2018.csv").read_text().splitlines()[0] + "\n"
    )

    result = import_dataset(path)

    assert result.flows.height == 0
    assert result.report.rows_read == 0
    assert result.flows.columns[-1] == "dataset"


def test_unknown_format_option_is_refused() -> None:
    with pytest.raises(DatasetError, match="unknown format 'netflow'"):
        import_dataset(FIXTURES / "ctu13.binetflow", "netflow")


def test_batches_split_a_file_without_losing_or_duplicating_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import twinai.datasets._text as text

    whole = import_dataset(FIXTURES / "zeek_shuffled.conn.log").flows
    monkeypatch.setattr(text, "BATCH_BYTES", 200)
    monkeypatch.setattr(text.iter_line_batches, "__defaults__", (200,))
    pieces = import_dataset(FIXTURES / "zeek_shuffled.conn.log").flows

    assert pieces.equals(whole)
    assert pl.Series(pieces["flow_id"]).to_list() == [0, 1, 2]


def test_a_file_whose_every_row_is_rejected_is_an_error(tmp_path: Path) -> None:
    lines = (FIXTURES / "cse_cic_ids2018.csv").read_text().splitlines()
    path = tmp_path / "short-rows.csv"
    # Every data row loses its last cell: the header's width is never met.
    path.write_text("\n".join([lines[0]] + [r.rsplit(",", 1)[0] for r in lines[1:4]]) + "\n")

    with pytest.raises(DatasetError, match=r"all 3 rows were rejected .*for 3 rows"):
        import_dataset(path)

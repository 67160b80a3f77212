"""The flow logs and CSVs import with the counts MANIFEST.md states, not only truth.json's."""

from __future__ import annotations

import re

import polars as pl
import pytest
from dataset_paths import SHARED, flow_files

from twinai.datasets import import_dataset

ENTRIES = flow_files()
pytestmark = pytest.mark.skipif(not ENTRIES, reason="../shared/data is not present")

# A row of MANIFEST.md's per-folder file tables:
# | `path` | bytes | `sha256` | 5,000 rows | span | format |
_TABLE_ROW = re.compile(r"^\| `(?P<path>[^`]+)` \| [\d,]+ \| `[0-9a-f]{64}` \| "
                        r"(?P<rows>[\d,]+) rows \|", re.MULTILINE)


def _manifest_rows() -> dict[str, int]:
    text = (SHARED / "MANIFEST.md").read_text()
    return {m["path"]: int(m["rows"].replace(",", "")) for m in _TABLE_ROW.finditer(text)}


def test_every_flow_file_has_a_manifest_row_count_that_truth_json_repeats() -> None:
    stated = _manifest_rows()

    assert {e["path"] for e in ENTRIES} <= set(stated)
    assert {e["path"]: e["rows"] for e in ENTRIES} == {e["path"]: stated[e["path"]]
                                                      for e in ENTRIES}


@pytest.mark.parametrize("path", sorted(_manifest_rows()) if ENTRIES else [])
def test_import_keeps_the_manifest_row_count(path: str) -> None:
    result = import_dataset(SHARED / path)

    assert result.flows.height == _manifest_rows()[path]
    assert result.report.rows_rejected == 0


def test_stratosphere_port_scan_log_matches_the_manifest() -> None:
    flows = import_dataset(
        SHARED / "stratosphere" / "002-zeek-scenario-port-scanning" / "conn.log").flows

    assert set(flows["src_ip"].unique()) == {"172.16.1.11"}
    dns = flows.filter((pl.col("dst_ip") == "8.8.8.8") & (pl.col("dst_port") == 53))
    assert dns.height == 8
    states = dict(flows["conn_state"].value_counts().iter_rows())
    # MANIFEST gives these after "TCP probes", but they count every record:
    # the 383 ICMP records are OTH and the 51 UDP pings S0 (TCP alone: S0 2,358,
    # OTH 269). Its ICMP list (180 + 136 + 50) also leaves out 17 type-3 records.
    assert (states["S0"], states["REJ"], states["OTH"]) == (2409, 1273, 652)
    tcp = flows.filter(pl.col("is_tcp") == 1)
    assert (tcp["dst_ip"].n_unique(), tcp["dst_port"].n_unique()) == (112, 100)
    assert flows.filter(pl.col("is_icmp") == 1).height == 180 + 136 + 50 + 17


def test_slips_vertical_scan_matches_the_manifest() -> None:
    flows = import_dataset(SHARED / "slips" / "port-scans" / "vertical" / "conn.log").flows

    probes = flows.filter((pl.col("src_ip") == "192.168.1.9")
                          & (pl.col("dst_ip") == "45.33.32.156"))
    assert probes.height == 46
    assert probes["dst_port"].n_unique() == 44
    assert dict(probes["conn_state"].value_counts().iter_rows()) == {"REJ": 43, "RSTO": 3}


def test_cic_portscan_sample_matches_the_manifest() -> None:
    flows = import_dataset(SHARED / "cicids2017-improved" / "Portscan_5000.csv").flows

    assert set(flows["src_ip"].unique()) == {"172.16.0.1"}
    assert set(flows["dst_ip"].unique()) == {"192.168.10.50"}
    assert flows["dst_port"].n_unique() == 989
    assert (flows["is_tcp"].sum(), flows["is_icmp"].sum()) == (4999, 1)


def test_netsentinel_rows_report_their_two_infinity_cells() -> None:
    path = (SHARED / "cicids2017-original" / "TrafficLabelling_NetSentinel"
            / "Friday-WorkingHours-Afternoon-DDos.pcap_ISCX.csv")

    notes = import_dataset(path).report.notes

    assert any(note.startswith("2 Infinity/NaN cells") for note in notes)

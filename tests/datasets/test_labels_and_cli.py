"""Label mapping rules and the ``twinai datasets import`` command."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from dataset_paths import FIXTURES

from twinai.cli.main import cli
from twinai.datasets._labels import to_taxonomy
from twinai.labels import is_valid_label


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("BENIGN", "benign"),
        ("benign", "benign"),
        ("flow=From-Normal-V42-Jist", "benign"),
        ("PortScan", "scan/portscan"),
        ("Portscan", "scan/portscan"),
        ("PartOfAHorizontalPortScan", "scan/horizontal-portscan"),
        ("External-Attack-to-Device", "scan/inbound-internet-scanning"),
        ("DDoS", "ddos/flood"),
        ("DDoS LOIT", "ddos/loit"),
        ("DoS Hulk", "ddos/hulk"),
        ("DoS slowloris", "ddos/slowloris"),
        ("DDOS attack-LOIC-UDP", "ddos/loic-udp"),
        ("DrDoS_NTP", "ddos/drdos-ntp"),
        ("UDPLag", "ddos/udp-lag"),
        ("Web Attack \ufffd XSS", "other/Web Attack - XSS"),
        ("DoS Hulk - Attempted", "other/DoS Hulk - Attempted"),
        ("C&C-HeartBeat", "other/C&C-HeartBeat"),
        ("Okiru", "other/Okiru"),
        ("FileDownload", "other/FileDownload"),
        ("Infilteration", "other/Infilteration"),
    ],
)
def test_label_mapping(original: str, expected: str) -> None:
    label = to_taxonomy(original)

    assert label == expected
    assert is_valid_label(label)


def test_bare_protocol_names_are_floods_only_in_cic_files() -> None:
    assert to_taxonomy("LDAP", cic=True) == "ddos/ldap"
    assert to_taxonomy("LDAP") == "other/LDAP"


def test_cli_imports_several_files_into_one_parquet(tmp_path: Path) -> None:
    out = tmp_path / "flows.parquet"
    inputs = [
        str(FIXTURES / "iot23.conn.log.labeled"),
        str(FIXTURES / "cic_ddos2019.csv"),
    ]

    result = CliRunner().invoke(cli, ["datasets", "import", *inputs, "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert "rows kept         3" in result.output
    assert (
        "rejected                1  expected 3 space-separated values" in result.output
    )
    assert f"wrote 7 flows to {out}" in result.output
    flows = pl.read_parquet(out)
    assert flows["flow_id"].to_list() == list(range(7))
    assert flows["dataset"].to_list() == ["iot-23"] * 3 + ["cic-ddos2019"] * 4


def test_cli_format_option_and_csv_output(tmp_path: Path) -> None:
    out = tmp_path / "flows.csv"
    args = ["datasets", "import", str(FIXTURES / "ctu13.binetflow"), "--format", "argus",
            "--dataset", "ctu-13", "--out", str(out)]  # fmt: skip

    result = CliRunner().invoke(cli, args)

    assert result.exit_code == 0, result.output
    assert pl.read_csv(out)["dataset"].to_list() == ["ctu-13"] * 3


def test_cli_refuses_an_output_that_is_not_parquet_or_csv(tmp_path: Path) -> None:
    args = ["datasets", "import", str(FIXTURES / "ctu13.binetflow"), "--out",
            str(tmp_path / "flows.json")]  # fmt: skip

    result = CliRunner().invoke(cli, args)

    assert result.exit_code == 2
    assert "must end in .parquet or .csv" in result.output


def test_cli_imports_the_flow_logs_of_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    (folder / "day2").mkdir(parents=True)
    (folder / "a.conn.log.labeled").write_bytes((FIXTURES / "iot23.conn.log.labeled").read_bytes())
    (folder / "day2" / "b.csv").write_bytes((FIXTURES / "cic_ddos2019.csv").read_bytes())
    (folder / "README.txt").write_text("not a flow log\n")
    out = tmp_path / "flows.parquet"

    result = CliRunner().invoke(cli, ["datasets", "import", str(folder), "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out)["dataset"].to_list() == ["iot-23"] * 3 + ["cic-ddos2019"] * 4

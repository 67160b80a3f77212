"""``twinai flows`` from the command line: outputs, summary, errors, exit codes."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner, Result

from capture.synth import IP, T0_NS, ether, tcp4, write_pcap
from twinai.cli.main import cli
from twinai.flows.table import TABLE_COLUMNS


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    """Two flows: a handshake 10.0.0.1 -> 10.0.0.2:80 and one SYN from outside."""
    (tmp_path / "in").mkdir()
    return write_pcap(tmp_path / "in" / "two.pcap", [
        (T0_NS, ether(tcp4("10.0.0.1", "10.0.0.2", 40000, 80, "S"))),
        (T0_NS + 1000, ether(tcp4("10.0.0.2", "10.0.0.1", 80, 40000, "SA"))),
        (T0_NS + 2000, ether(IP(bytes(tcp4("203.0.113.5", "10.0.0.2", 5555, 23))))),
    ])


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["flows", "--no-progress", *args])


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_writes_the_flow_table_by_the_file_ending(tmp_path: Path, capture: Path,
                                                  suffix: str) -> None:
    out = tmp_path / "out" / f"flows{suffix}"

    result = run(str(capture), "--out", str(out))

    assert result.exit_code == 0, result.output
    table = pl.read_parquet(out) if suffix == ".parquet" else pl.read_csv(out)
    assert table.columns == list(TABLE_COLUMNS)
    assert sorted(zip(table["src_ip"], table["dst_port"])) == [
        ("10.0.0.1", 80), ("203.0.113.5", 23)]


def test_summary_line_counts_files_packets_flows_and_skips(tmp_path: Path,
                                                           capture: Path) -> None:
    out = tmp_path / "f.parquet"

    result = run(str(capture.parent), "--out", str(out))

    line = result.stdout.strip()
    assert "\n" not in line
    assert line.startswith("1 file(s), 3 packets, 2 flows, 0 packets skipped, ")
    assert line.endswith(f" MB) -> {out}")


def test_home_net_marks_the_direction_of_each_flow(tmp_path: Path, capture: Path) -> None:
    out = tmp_path / "f.parquet"

    result = run(str(capture), "--out", str(out), "--home-net", "10.0.0.2/32")

    assert result.exit_code == 0, result.output
    table = pl.read_parquet(out)
    assert sorted(zip(table["src_ip"], table["direction"])) == [
        ("10.0.0.1", "inbound"), ("203.0.113.5", "inbound")]


@pytest.mark.parametrize(("args", "fragment"), [
    (["--out", "flows.txt"], "Invalid value for '--out'"),
    (["--out", "flows.parquet", "--home-net", "10.0.0.300/8"], "Invalid value for '--home-net'"),
    (["--out", "flows.parquet", "--bogus"], "No such option '--bogus'"),
])
def test_bad_options_are_usage_errors_before_any_work(tmp_path: Path, args: list[str],
                                                      fragment: str) -> None:
    missing = tmp_path / "never-read.pcap"  # would fail if the command got that far

    result = run(str(missing), *[str(tmp_path / a) if a.startswith("flows") else a
                                 for a in args])

    assert result.exit_code == 2
    assert fragment in result.stderr
    assert "never-read.pcap: no such file" not in result.stderr
    assert not list(tmp_path.glob("flows*"))


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "empty file, not a capture"),
    (b"\x89PNG\r\n\x1a\n....", "not a pcap or pcapng capture (first bytes 89504e47)"),
])
def test_a_file_that_is_no_capture_exits_2_with_one_line(tmp_path: Path, content: bytes,
                                                         problem: str) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(content)

    result = run(str(bad), "--out", str(tmp_path / "f.parquet"))

    assert result.exit_code == 2
    assert result.stderr.startswith(f"twinai: error: {bad}: {problem}")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output
    assert not (tmp_path / "f.parquet").exists()


def test_missing_input_exits_2_naming_it(tmp_path: Path) -> None:
    result = run(str(tmp_path / "gone.pcap"), "--out", str(tmp_path / "f.csv"))

    assert result.exit_code == 2
    assert result.stderr == f"twinai: error: {tmp_path / 'gone.pcap'}: no such file or folder\n"


def test_empty_capture_writes_an_empty_table(tmp_path: Path) -> None:
    empty = write_pcap(tmp_path / "empty.pcap", [])
    out = tmp_path / "f.csv"

    result = run(str(empty), "--out", str(out))

    assert result.exit_code == 0
    assert result.stdout.startswith("1 file(s), 0 packets, 0 flows, 0 packets skipped")
    assert pl.read_csv(out).columns == list(TABLE_COLUMNS)


def test_an_ipv6_home_net_leaves_ipv4_hosts_outside(tmp_path: Path, capture: Path) -> None:
    out = tmp_path / "flows.csv"
    assert run(str(capture), "--out", str(out), "--home-net", "::/0").exit_code == 0
    assert set(pl.read_csv(out)["direction"].to_list()) == {"external"}

"""The capture reader: formats by magic number, timestamps, damaged files."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import numpy as np
import pytest

from capture.synth import T0_NS, ether, tcp4, write_pcap, write_pcapng
from twinai.capture.reader import capture_files, read_records
from twinai.errors import CaptureError

SYN = ether(tcp4("10.0.0.1", "10.0.0.2", 40000, 80))
T0_US = T0_NS // 1000


def test_microsecond_pcap_gives_every_record_and_its_time(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "a.pcap", [(T0_NS, SYN), (T0_NS + 2_500_000_000, SYN)])

    records = read_records(path)

    assert records.format == "pcap"
    assert records.ts_us.tolist() == [T0_US, T0_US + 2_500_000]
    assert records.caplen.tolist() == [len(SYN), len(SYN)]
    assert records.linktype.tolist() == [1, 1]
    assert records.warnings == []


def test_big_endian_pcap_reads_like_little_endian(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "be.pcap", [(T0_NS + 7_000, SYN)], big_endian=True)

    records = read_records(path)

    assert records.ts_us.tolist() == [T0_US + 7]
    assert records.caplen.tolist() == [len(SYN)]


def test_nanosecond_pcap_is_exact_to_the_microsecond(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "ns.pcap", [(T0_NS + 123_456_789, SYN)], nanos=True)

    records = read_records(path)

    assert records.format == "pcap-ns"
    assert records.ts_us.tolist() == [T0_US + 123_456]


@pytest.mark.parametrize(
    ("tsresol", "offset_ns", "expected_us"),
    [
        (6, 123_456_000, 123_456),  # the default: microseconds
        (9, 123_456_789, 123_456),  # nanoseconds, as tcpdump --nano writes
        (3, 123_000_000, 123_000),  # milliseconds
        (0x80 | 20, 500_000_000, 500_000),  # 2^-20 s units: half a second exactly
    ],
)
def test_pcapng_if_tsresol_is_honoured(tmp_path: Path, tsresol: int, offset_ns: int,
                                       expected_us: int) -> None:
    path = write_pcapng(tmp_path / "r.pcapng", [(1, tsresol)], [(0, T0_NS + offset_ns, SYN)])

    records = read_records(path)

    assert records.format == "pcapng"
    assert records.ts_us.tolist() == [T0_US + expected_us]


def test_pcapng_packets_carry_their_own_interface_link_type(tmp_path: Path) -> None:
    raw = bytes(tcp4("10.0.0.1", "10.0.0.2", 1, 2))
    path = write_pcapng(tmp_path / "m.pcapng", [(1, 6), (101, 9)],
                        [(0, T0_NS, SYN), (1, T0_NS + 1_000, raw), (0, T0_NS + 2_000, SYN)])

    records = read_records(path)

    assert records.linktype.tolist() == [1, 101, 1]
    assert records.ts_us.tolist() == [T0_US, T0_US + 1, T0_US + 2]


def test_format_is_found_by_magic_not_by_name(tmp_path: Path) -> None:
    named_pcap = write_pcapng(tmp_path / "really-ng.pcap", [(1, 6)], [(0, T0_NS, SYN)])
    named_ng = write_pcap(tmp_path / "really-classic.pcapng", [(T0_NS, SYN)])

    assert read_records(named_pcap).format == "pcapng"
    assert read_records(named_ng).format == "pcap"


@pytest.mark.parametrize("writer", ["pcap", "pcapng"])
def test_cut_short_last_record_keeps_complete_packets_and_warns(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, writer: str) -> None:
    path = tmp_path / f"cut.{writer}"
    packets = [(T0_NS + k * 1000, SYN) for k in range(3)]
    if writer == "pcap":
        write_pcap(path, packets)
    else:
        write_pcapng(path, [(1, 6)], [(0, ts, f) for ts, f in packets])
    path.write_bytes(path.read_bytes()[:-10])

    with caplog.at_level(logging.WARNING):
        records = read_records(path)

    assert len(records) == 2
    assert len(records.warnings) == 1
    assert str(path) in records.warnings[0]
    assert "cut short" in records.warnings[0]
    assert "kept 2 complete packets" in records.warnings[0]
    assert records.warnings[0] in caplog.text


def test_header_only_pcap_has_no_records_and_no_warning(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "empty.pcap", [])

    records = read_records(path)

    assert len(records) == 0
    assert records.warnings == []


def test_zero_byte_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "zero.pcap"
    path.write_bytes(b"")

    with pytest.raises(CaptureError, match=r"zero\.pcap: empty file, not a capture"):
        read_records(path)


def test_text_file_is_refused_naming_it_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "notes.pcap"
    path.write_text("ts,src,dst\n1,2,3\n")

    with pytest.raises(CaptureError) as caught:
        read_records(path)

    message = str(caught.value)
    assert message.startswith(f"{path}: not a pcap or pcapng capture (first bytes 74732c73)")
    assert "\n" not in message


def test_pcap_header_cut_short_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "stub.pcap"
    path.write_bytes(write_pcap(tmp_path / "x.pcap", []).read_bytes()[:12])

    with pytest.raises(CaptureError, match="shorter than its 24-byte header"):
        read_records(path)


def test_gzip_capture_reads_like_the_plain_one(tmp_path: Path) -> None:
    plain = write_pcap(tmp_path / "a.pcap", [(T0_NS, SYN), (T0_NS + 1000, SYN)])
    packed = tmp_path / "a.pcap.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))

    records = read_records(packed)

    assert records.ts_us.tolist() == read_records(plain).ts_us.tolist()
    start = int(records.offset[0])
    assert bytes(records.buffer[start:start + len(SYN)]) == SYN


def test_folders_expand_to_capture_names_only(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("b.pcap", "sub/a.pcapng", "c.cap", "d.pcap.gz", "readme.txt", "x.csv"):
        (tmp_path / name).write_bytes(b"")

    found = capture_files([tmp_path])

    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "b.pcap", "c.cap", "d.pcap.gz", "sub/a.pcapng"]


def test_missing_input_is_named(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match=r"nope\.pcap: no such file or folder"):
        capture_files([tmp_path / "nope.pcap"])


def test_oversized_record_length_stops_the_walk_with_a_warning(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "bad.pcap", [(T0_NS, SYN), (T0_NS + 1, SYN)])
    data = bytearray(path.read_bytes())
    second = 24 + 16 + len(SYN)
    data[second + 8:second + 12] = np.uint32(50_000_000).tobytes()  # caplen field
    path.write_bytes(bytes(data))

    records = read_records(path)

    assert len(records) == 1
    assert records.warnings == [
        f"{path}: damaged record header at byte {second}; kept the 1 packets before it"]

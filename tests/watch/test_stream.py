"""The live pcap stream decodes exactly what the file reader decodes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twinai.capture.decode import PacketColumns, decode_records
from twinai.capture.reader import read_records
from twinai.errors import CaptureError
from twinai.live import PcapStream


def _feed_in_chunks(data: bytes, size: int) -> tuple[PcapStream, PacketColumns]:
    stream = PcapStream("test")
    parts = [stream.feed(data[i:i + size]) for i in range(0, len(data), size)]
    return stream, PacketColumns.concat([p for p in parts if len(p)])


@pytest.mark.parametrize("chunk", [7, 1000, 65536])
def test_chunked_stream_decodes_like_the_file(shared_data: Path, chunk: int) -> None:
    path = shared_data / "ndpi" / "synscan.pcap"
    stream, live = _feed_in_chunks(path.read_bytes(), chunk)
    offline = decode_records(read_records(path))
    offline = offline.select(offline.skip == 0)

    assert len(live) == len(offline) == 2011
    for name in PacketColumns.__dataclass_fields__:
        assert np.array_equal(getattr(live, name), getattr(offline, name)), name
    assert stream.pending_bytes == 0
    assert stream.packets == 2011


def test_partial_record_is_held_until_complete(shared_data: Path) -> None:
    data = (shared_data / "ndpi" / "synscan.pcap").read_bytes()
    stream = PcapStream("test")
    first = stream.feed(data[:24 + 16 + 10])  # header, one record header, part of a frame

    assert len(first) == 0
    assert stream.pending_bytes == 26
    assert len(stream.feed(data[50:200])) >= 1


def test_non_ip_frames_are_counted_not_kept() -> None:
    header = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")
    arp = b"\xff" * 6 + b"\x02" * 6 + b"\x08\x06" + b"\x00" * 28
    record = (1).to_bytes(4, "little") + bytes(4) + len(arp).to_bytes(4, "little") * 2 + arp
    stream = PcapStream("test")

    assert len(stream.feed(header + record)) == 0
    assert stream.packets == 1
    assert stream.skipped[1] == 1


def test_pcapng_stream_is_refused_with_the_fix(shared_data: Path) -> None:
    data = (shared_data / "ndpi" / "alexa-app.pcapng").read_bytes()[:4096]
    with pytest.raises(CaptureError, match="not classic pcap.*without --pcapng"):
        PcapStream("eth9").feed(data)


def test_impossible_record_length_is_a_damaged_stream() -> None:
    header = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")
    bad = bytes(8) + (10_000_000).to_bytes(4, "little") * 2
    with pytest.raises(CaptureError, match="damaged"):
        PcapStream("eth9").feed(header + bad)

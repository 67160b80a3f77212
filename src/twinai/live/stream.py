"""Turn a live pcap byte stream into decoded packets, chunk by chunk.

tcpdump writing to a pipe (``-w -``) produces a classic pcap file whose end
keeps moving. This module walks the records that are complete so far with
the same compiled walker that reads capture files
(:mod:`twinai.capture.reader`), decodes them with the same decoder
(:mod:`twinai.capture.decode`), and keeps the partial record at the end for
the next chunk. A packet seen live is therefore decoded exactly as it would
be from the file tcpdump could have written instead.
"""

from __future__ import annotations

import logging

import numpy as np

from twinai.capture.decode import SKIP_REASONS, PacketColumns, decode_records
from twinai.capture.reader import RecordTable, _walk_pcap
from twinai.errors import CaptureError

__all__ = ["PcapStream"]

log = logging.getLogger(__name__)

_HEADER_BYTES = 24
_MAGICS = {
    b"\xd4\xc3\xb2\xa1": (False, False),  # (big endian, nanosecond stamps)
    b"\xa1\xb2\xc3\xd4": (True, False),
    b"\x4d\x3c\xb2\xa1": (False, True),
    b"\xa1\xb2\x3c\x4d": (True, True),
}
_WALK_CORRUPT = 2
_EMPTY_I64 = np.empty(0, np.int64)
_EMPTY_I32 = np.empty(0, np.int32)


class PcapStream:
    """An incremental reader of one pcap stream (``tcpdump -w -``).

    ``feed(chunk)`` returns the packets completed by that chunk, decoded and
    with unusable packets (non-IP, runts) left out; ``skipped`` counts those
    by reason, ``packets`` counts every record seen.

    Examples
    --------
    >>> stream = PcapStream("test")
    >>> len(stream.feed(b""))
    0
    """

    def __init__(self, name: str = "stream") -> None:
        self.name = name
        self.packets = 0
        self.skipped = np.zeros(len(SKIP_REASONS), np.int64)
        self._header = b""
        self._pending = bytearray()
        self._big_endian = False
        self._nanos = False
        self._linktype = 0

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete record held back for the next chunk."""
        return len(self._pending)

    def feed(self, chunk: bytes) -> PacketColumns:
        """Add bytes; return the packets whose records are now complete."""
        self._pending += chunk
        if not self._header and not self._take_header():
            return _no_packets()
        if not self._pending:
            return _no_packets()

        records, used = self._walk()
        del self._pending[:used]
        if len(records) == 0:
            return _no_packets()

        packets = decode_records(records)
        self.packets += len(packets)
        self.skipped += np.bincount(packets.skip, minlength=len(SKIP_REASONS))
        return packets.select(packets.skip == 0)

    def _take_header(self) -> bool:
        """Read the global header once it is whole; False while it is not."""
        if len(self._pending) < _HEADER_BYTES:
            return False
        header = bytes(self._pending[:_HEADER_BYTES])
        order = _MAGICS.get(header[:4])
        if order is None:
            raise CaptureError(
                f"{self.name}: the capture stream is not classic pcap (first bytes "
                f"{header[:4].hex()}); run tcpdump with -w - and without --pcapng")
        self._big_endian, self._nanos = order
        network = int.from_bytes(header[20:24], "big" if self._big_endian else "little")
        self._linktype = network & 0xFFFF
        self._header = header
        del self._pending[:_HEADER_BYTES]
        return True

    def _walk(self) -> tuple[RecordTable, int]:
        """Index the complete records held; return them and the bytes they use."""
        buffer = np.frombuffer(self._header + bytes(self._pending), dtype=np.uint8)
        count, status, stop = _walk_pcap(buffer, self._big_endian, self._nanos, False,
                                         _EMPTY_I64, _EMPTY_I32, _EMPTY_I32, _EMPTY_I64)
        if status == _WALK_CORRUPT:
            raise CaptureError(
                f"{self.name}: impossible record header {stop - _HEADER_BYTES} bytes "
                "into the held data; the stream is damaged, restart the capture")
        offset = np.empty(count, np.int64)
        caplen = np.empty(count, np.int32)
        wirelen = np.empty(count, np.int32)
        ts_us = np.empty(count, np.int64)
        _walk_pcap(buffer, self._big_endian, self._nanos, True, offset, caplen, wirelen,
                   ts_us)
        records = RecordTable(
            path=self.name, buffer=buffer, offset=offset, caplen=caplen, wirelen=wirelen,
            ts_us=ts_us, linktype=np.full(count, self._linktype, np.int32),
            format="pcap-ns" if self._nanos else "pcap")
        return records, int(stop) - _HEADER_BYTES


def _no_packets() -> PacketColumns:
    return decode_records(RecordTable(
        path="", buffer=np.zeros(0, np.uint8), offset=_EMPTY_I64, caplen=_EMPTY_I32,
        wirelen=_EMPTY_I32, ts_us=_EMPTY_I64, linktype=_EMPTY_I32, format="pcap"))

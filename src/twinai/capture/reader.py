"""Open capture files and find their packet records, without a Python object per packet.

A capture is read whole into one NumPy byte buffer (gzip is undone first) and
a compiled loop walks its records, writing where each packet starts, its
captured and wire lengths, its timestamp and its link type into arrays. The
format is decided by the magic number, never by the file's ending: real
captures named ``.pcap`` are often pcapng and the other way round.

Supported: classic pcap (microsecond and nanosecond magic, either byte order)
and pcapng (several sections and interfaces, per-interface timestamp
resolution, enhanced, simple and obsolete packet blocks).

A capture cut short (the last record runs past the end of the file, as when
tcpdump is killed) keeps every complete packet and reports the truncation.
"""

from __future__ import annotations

import gzip
import logging
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numba
import numpy as np

from twinai.errors import CaptureError

__all__ = ["RecordTable", "read_records", "iter_records", "capture_files", "CAPTURE_SUFFIXES",
           "BLOCK_BYTES"]

log = logging.getLogger(__name__)

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".dmp", ".gz")

_PCAP_US_LE = b"\xd4\xc3\xb2\xa1"
_PCAP_US_BE = b"\xa1\xb2\xc3\xd4"
_PCAP_NS_LE = b"\x4d\x3c\xb2\xa1"
_PCAP_NS_BE = b"\xa1\xb2\x3c\x4d"
_PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
_GZIP = b"\x1f\x8b"

# Walk results: why the walk stopped early, if it did.
WALK_OK = 0
WALK_TRUNCATED = 1  # the last record runs past the end of the file
WALK_CORRUPT = 2  # a block or record header is impossible; the rest is unreadable

# Classic pcap files are read this many bytes at a time (numpy.fromfile into
# one buffer: a memory map of the same file walked 8x slower here, from page
# faults), so that memory does not grow with the file.
BLOCK_BYTES = 1 << 24

# pcapng allows many interfaces per section; more than this is a broken file.
_MAX_INTERFACES = 4096


@dataclass
class RecordTable:
    """Where each packet of a capture lies in ``buffer``, and its metadata."""

    path: str
    buffer: np.ndarray  # uint8, the whole (decompressed) file
    offset: np.ndarray  # int64, start of the packet's bytes
    caplen: np.ndarray  # int32, bytes present in the file
    wirelen: np.ndarray  # int32, bytes on the wire
    ts_us: np.ndarray  # int64, microseconds since the epoch (UTC)
    linktype: np.ndarray  # int32, DLT of the packet's interface
    format: str
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.offset.shape[0])

    def slice(self, start: int, stop: int) -> "RecordTable":
        """Records ``start:stop`` (views into the same buffer)."""
        if start == 0 and stop >= len(self):
            return self
        return RecordTable(path=self.path, buffer=self.buffer, offset=self.offset[start:stop],
                           caplen=self.caplen[start:stop], wirelen=self.wirelen[start:stop],
                           ts_us=self.ts_us[start:stop], linktype=self.linktype[start:stop],
                           format=self.format)


def capture_files(inputs: list[str | os.PathLike[str]]) -> list[Path]:
    """Expand files and folders into the list of capture files to read, sorted."""
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            members = sorted(p for p in path.rglob("*") if p.is_file())
            found.extend(p for p in members if _looks_like_capture_name(p))
        elif path.exists():
            found.append(path)
        else:
            raise CaptureError(f"{path}: no such file or folder")
    return found


def _looks_like_capture_name(path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(s) for s in CAPTURE_SUFFIXES)


def read_records(path: str | os.PathLike[str]) -> RecordTable:
    """Read a capture file and index its packet records.

    Raises CaptureError when the file is not a capture at all; a capture cut
    short or damaged part-way keeps the packets before the damage and says so
    in ``warnings``.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) == 0:
        raise CaptureError(f"{path}: empty file, not a capture")
    buffer = np.frombuffer(data, dtype=np.uint8)
    magic = bytes(data[:4])

    if magic in (_PCAP_US_LE, _PCAP_US_BE, _PCAP_NS_LE, _PCAP_NS_BE):
        return _index_pcap(path, buffer, magic)
    if magic == _PCAPNG_SHB:
        return _index_pcapng(path, buffer)
    raise CaptureError(
        f"{path}: not a pcap or pcapng capture (first bytes {magic.hex()}); "
        "convert it with `editcap -F pcap` or pass a flow log to `twinai datasets import`"
    )


def iter_records(path: str | os.PathLike[str],
                 block_bytes: int = BLOCK_BYTES) -> Iterator[RecordTable]:
    """Index a capture piece by piece: the streaming form of :func:`read_records`.

    Classic pcap files are read ``block_bytes`` at a time; a record cut by a
    block's end waits for the next block. The packets and warnings are those
    of :func:`read_records`.

    Notes
    -----
    TODO(streaming): pcapng and gzip captures are still read whole (their
    interface state and decompression would have to carry across blocks);
    memory for them grows with the file.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(24)
    except OSError as exc:
        raise CaptureError(f"{path}: cannot read: {exc.strerror}") from exc
    magic = head[:4]
    if len(head) < 24 or magic not in (_PCAP_US_LE, _PCAP_US_BE, _PCAP_NS_LE, _PCAP_NS_BE):
        yield read_records(path)
        return
    yield from _iter_pcap_blocks(path, magic, head, block_bytes)


def _iter_pcap_blocks(path: Path, magic: bytes, head: bytes,
                      block_bytes: int) -> Iterator[RecordTable]:
    big_endian = magic in (_PCAP_US_BE, _PCAP_NS_BE)
    nanos = magic in (_PCAP_NS_LE, _PCAP_NS_BE)
    header = np.frombuffer(head, np.uint8)
    linktype = _u32(header, 20, big_endian) & 0xFFFF
    fmt = "pcap-ns" if nanos else "pcap"
    carry = np.empty(0, np.uint8)
    base = 24  # file position of carry[0]
    kept = 0
    with open(path, "rb") as handle:
        handle.seek(24)
        while True:
            block = np.fromfile(handle, np.uint8, count=block_bytes)
            at_end = block.shape[0] < block_bytes
            buffer = np.concatenate([carry, block]) if carry.shape[0] else block
            count, status, stop = _walk_pcap_from(buffer, 0, big_endian, nanos, False, _EMPTY_I64,
                                                  _EMPTY_I32, _EMPTY_I32, _EMPTY_I64)
            table = RecordTable(path=str(path), buffer=buffer, offset=np.empty(count, np.int64),
                                caplen=np.empty(count, np.int32),
                                wirelen=np.empty(count, np.int32),
                                ts_us=np.empty(count, np.int64),
                                linktype=np.full(count, linktype, np.int32), format=fmt)
            _walk_pcap_from(buffer, 0, big_endian, nanos, True, table.offset, table.caplen,
                            table.wirelen, table.ts_us)
            kept += count
            if status in (WALK_OK, WALK_TRUNCATED) and not at_end:
                carry = buffer[stop:].copy()
                base += stop
                yield table
                continue
            if status != WALK_OK:
                _note_walk_status(table, status, base + stop, kept)
            yield table
            return


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            head = handle.read(2)
            handle.seek(0)
            if head != _GZIP:
                return handle.read()
    except OSError as exc:
        raise CaptureError(f"{path}: cannot read: {exc.strerror}") from exc
    return _gunzip(path)


def _gunzip(path: Path) -> bytes:
    """Decompress a gzip capture; a cut-short gzip keeps what it had."""
    chunks: list[bytes] = []
    decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 22):
                chunks.append(decomp.decompress(block))
        chunks.append(decomp.flush())
    except (zlib.error, gzip.BadGzipFile) as exc:
        if not chunks:
            raise CaptureError(f"{path}: damaged gzip file: {exc}") from exc
        log.warning("%s: gzip stream damaged (%s); keeping what decompressed", path, exc)
    return b"".join(chunks)


# --- classic pcap -----------------------------------------------------------


def _index_pcap(path: Path, buffer: np.ndarray, magic: bytes) -> RecordTable:
    big_endian = magic in (_PCAP_US_BE, _PCAP_NS_BE)
    nanos = magic in (_PCAP_NS_LE, _PCAP_NS_BE)
    if buffer.shape[0] < 24:
        raise CaptureError(f"{path}: pcap file shorter than its 24-byte header")

    network = _u32(buffer, 20, big_endian)
    linktype = network & 0xFFFF
    count, status, stop = _walk_pcap(buffer, big_endian, nanos, False, _EMPTY_I64,
                                     _EMPTY_I32, _EMPTY_I32, _EMPTY_I64)
    offset = np.empty(count, np.int64)
    caplen = np.empty(count, np.int32)
    wirelen = np.empty(count, np.int32)
    ts_us = np.empty(count, np.int64)
    _walk_pcap(buffer, big_endian, nanos, True, offset, caplen, wirelen, ts_us)

    table = RecordTable(
        path=str(path),
        buffer=buffer,
        offset=offset,
        caplen=caplen,
        wirelen=wirelen,
        ts_us=ts_us,
        linktype=np.full(count, linktype, np.int32),
        format="pcap-ns" if nanos else "pcap",
    )
    _note_walk_status(table, status, stop)
    return table


_EMPTY_I64 = np.empty(0, np.int64)
_EMPTY_I32 = np.empty(0, np.int32)


@numba.njit(cache=True, inline="always")
def _u16(buf: np.ndarray, pos: int, be: bool) -> int:
    if be:
        return (np.int64(buf[pos]) << 8) | np.int64(buf[pos + 1])
    return (np.int64(buf[pos + 1]) << 8) | np.int64(buf[pos])


@numba.njit(cache=True, inline="always")
def _u32(buf: np.ndarray, pos: int, be: bool) -> int:
    if be:
        return (
            (np.int64(buf[pos]) << 24)
            | (np.int64(buf[pos + 1]) << 16)
            | (np.int64(buf[pos + 2]) << 8)
            | np.int64(buf[pos + 3])
        )
    return (
        (np.int64(buf[pos + 3]) << 24)
        | (np.int64(buf[pos + 2]) << 16)
        | (np.int64(buf[pos + 1]) << 8)
        | np.int64(buf[pos])
    )


@numba.njit(cache=True)
def _walk_pcap(buf, be, nanos, fill, offset, caplen, wirelen, ts_us):  # type: ignore[no-untyped-def]
    """Count (fill=False) or index (fill=True) the records of a pcap file.

    Returns (records, status, byte position where the walk stopped).
    """
    return _walk_pcap_from(buf, 24, be, nanos, fill, offset, caplen, wirelen, ts_us)


@numba.njit(cache=True)
def _walk_pcap_from(buf, pos, be, nanos, fill, offset, caplen, wirelen, ts_us):  # type: ignore[no-untyped-def]
    """:func:`_walk_pcap` over records starting at byte ``pos`` of ``buf``."""
    n = buf.shape[0]
    count = 0
    status = 0
    while pos < n:
        if pos + 16 > n:
            status = 1
            break
        sec = _u32(buf, pos, be)
        frac = _u32(buf, pos + 4, be)
        incl = _u32(buf, pos + 8, be)
        orig = _u32(buf, pos + 12, be)
        if incl > 262144 * 4:
            status = 2
            break
        if pos + 16 + incl > n:
            status = 1
            break
        if fill:
            offset[count] = pos + 16
            caplen[count] = incl
            wirelen[count] = orig if orig >= incl else incl
            ts_us[count] = sec * 1000000 + (frac // 1000 if nanos else frac)
        count += 1
        pos += 16 + incl
    return count, status, pos


# --- pcapng -----------------------------------------------------------------


def _index_pcapng(path: Path, buffer: np.ndarray) -> RecordTable:
    args = (np.zeros(_MAX_INTERFACES, np.int32), np.zeros(_MAX_INTERFACES, np.int64))
    count, status, stop, n_if = _walk_pcapng(buffer, False, _EMPTY_I64, _EMPTY_I32,
                                             _EMPTY_I32, _EMPTY_I64, _EMPTY_I32, *args)
    offset = np.empty(count, np.int64)
    caplen = np.empty(count, np.int32)
    wirelen = np.empty(count, np.int32)
    ts_us = np.empty(count, np.int64)
    linktype = np.empty(count, np.int32)
    args = (np.zeros(_MAX_INTERFACES, np.int32), np.zeros(_MAX_INTERFACES, np.int64))
    _walk_pcapng(buffer, True, offset, caplen, wirelen, ts_us, linktype, *args)

    table = RecordTable(
        path=str(path),
        buffer=buffer,
        offset=offset,
        caplen=caplen,
        wirelen=wirelen,
        ts_us=ts_us,
        linktype=linktype,
        format="pcapng",
    )
    if status == 3:
        raise CaptureError(f"{path}: pcapng section header has an unknown byte-order magic")
    if n_if > 1:
        log.debug("%s: %d interfaces", path, n_if)
    _note_walk_status(table, status, stop)
    return table


@numba.njit(cache=True)
def _ts_to_us(raw: int, resol: int) -> int:
    """Convert a pcapng timestamp in the interface's units to microseconds.

    ``resol`` is the if_tsresol byte: high bit clear = 10^-v s, set = 2^-v s.
    """
    if resol & 0x80:
        shift = resol & 0x7F
        whole = raw >> shift
        part = raw & ((1 << shift) - 1)
        return whole * 1000000 + ((part * 1000000) >> shift)
    digits = resol
    if digits == 6:
        return raw
    if digits > 6:
        div = 1
        for _ in range(digits - 6):
            div *= 10
        return raw // div
    mul = 1
    for _ in range(6 - digits):
        mul *= 10
    return raw * mul


@numba.njit(cache=True)
def _walk_pcapng(buf, fill, offset, caplen, wirelen, ts_us, linktype, if_link, if_resol):  # type: ignore[no-untyped-def]
    """Count or index the packets of a pcapng file.

    Returns (packets, status, stop position, interfaces in the last section).
    Status 3 means an unknown byte-order magic in a section header.
    """
    n = buf.shape[0]
    pos = 0
    count = 0
    status = 0
    be = False
    n_if = 0
    last_ts = 0
    while pos < n:
        if pos + 12 > n:
            status = 1
            break
        if buf[pos] == 0x0A and buf[pos + 1] == 0x0D and buf[pos + 2] == 0x0D and buf[pos + 3] == 0x0A:
            # Section header: its byte-order magic decides how to read the rest.
            if buf[pos + 8] == 0x4D and buf[pos + 9] == 0x3C:
                be = False
            elif buf[pos + 8] == 0x1A and buf[pos + 9] == 0x2B:
                be = True
            else:
                status = 3
                break
            n_if = 0
        btype = _u32(buf, pos, be)
        blen = _u32(buf, pos + 4, be)
        if blen < 12 or blen % 4 != 0:
            status = 2
            break
        if pos + blen > n:
            status = 1
            break
        body = pos + 8
        if btype == 1:  # interface description
            if n_if < if_link.shape[0]:
                if_link[n_if] = _u16(buf, body, be)
                if_resol[n_if] = 6
                opt = body + 8
                end = pos + blen - 4
                while opt + 4 <= end:
                    code = _u16(buf, opt, be)
                    olen = _u16(buf, opt + 2, be)
                    if code == 0:
                        break
                    if code == 9 and olen >= 1 and opt + 4 < end:
                        if_resol[n_if] = buf[opt + 4]
                    opt += 4 + ((olen + 3) // 4) * 4
            n_if += 1
        elif btype == 6 or btype == 2:  # enhanced / obsolete packet block
            if btype == 6:
                iface = _u32(buf, body, be)
                hi = _u32(buf, body + 4, be)
                lo = _u32(buf, body + 8, be)
                cl = _u32(buf, body + 12, be)
                wl = _u32(buf, body + 16, be)
            else:
                iface = _u16(buf, body, be)
                hi = _u32(buf, body + 4, be)
                lo = _u32(buf, body + 8, be)
                cl = _u32(buf, body + 12, be)
                wl = _u32(buf, body + 16, be)
            data = body + 20
            if data + cl > pos + blen - 4 or iface >= n_if or iface >= if_link.shape[0]:
                status = 2
                break
            if fill:
                offset[count] = data
                caplen[count] = cl
                wirelen[count] = wl if wl >= cl else cl
                last_ts = _ts_to_us((hi << 32) | lo, if_resol[iface])
                ts_us[count] = last_ts
                linktype[count] = if_link[iface]
            count += 1
        elif btype == 3:  # simple packet block: interface 0, no timestamp
            wl = _u32(buf, body, be)
            room = blen - 16
            cl = wl if wl < room else room
            if n_if == 0:
                status = 2
                break
            if fill:
                offset[count] = body + 4
                caplen[count] = cl
                wirelen[count] = wl if wl >= cl else cl
                ts_us[count] = last_ts
                linktype[count] = if_link[0]
            count += 1
        pos += blen
    return count, status, pos, n_if


def _note_walk_status(table: RecordTable, status: int, stop: int,
                      kept: int | None = None) -> None:
    kept = len(table) if kept is None else kept
    if status == WALK_TRUNCATED:
        msg = (
            f"{table.path}: capture cut short at byte {stop}: the last record is incomplete "
            f"(kept {kept} complete packets)"
        )
        table.warnings.append(msg)
        log.warning("%s", msg)
    elif status == WALK_CORRUPT:
        msg = (
            f"{table.path}: damaged record header at byte {stop}; "
            f"kept the {kept} packets before it"
        )
        table.warnings.append(msg)
        log.warning("%s", msg)

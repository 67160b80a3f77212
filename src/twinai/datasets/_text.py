"""Reading flow files as text: bounded batches of lines, cheap sniffing.

Public flow files are large (CIC-IDS2017 days are 70–300 MB, IoT-23 logs
several GB), written by different tools and sometimes damaged, so they are
read in batches of whole lines and split by polars, never loaded at once and
never trusted to have the same number of fields on every line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from twinai.errors import DatasetError

__all__ = ["BATCH_BYTES", "LineBatch", "iter_line_batches", "read_head", "split_fields"]

log = logging.getLogger(__name__)

# Bytes of text parsed at once: large enough that polars' per-call cost is
# negligible, small enough that a batch and its parsed columns fit in a few
# hundred MB of memory whatever the size of the file.
BATCH_BYTES = 32 * 1024 * 1024

# Enough bytes to hold a header and a few data rows of any supported format
# (a CICFlowMeter header is about 1.6 kB).
_HEAD_BYTES = 16 * 1024


class LineBatch:
    """Lines of a file with the 1-based number of the first one."""

    __slots__ = ("cp1252", "first_line", "lines")

    def __init__(self, first_line: int, lines: list[str], cp1252: bool) -> None:
        self.first_line = first_line
        self.lines = lines
        self.cp1252 = cp1252

    def frame(self) -> pl.DataFrame:
        """The lines as a frame ``_line`` (number), ``_text`` (CR stripped)."""
        return pl.DataFrame(
            {"_text": pl.Series(self.lines, dtype=pl.String)}
        ).with_columns(
            pl.col("_text").str.strip_chars_end("\r"),
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_line") + self.first_line,
        )


def _decode(raw: bytes) -> tuple[str, bool]:
    """UTF-8, or cp1252 for the CIC files written on Windows (0x96 en dash)."""
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace"), True


def iter_line_batches(
    path: Path, batch_bytes: int = BATCH_BYTES
) -> Iterator[LineBatch]:
    """Yield the lines of ``path`` in batches of about ``batch_bytes`` bytes."""
    next_line = 1
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(batch_bytes):
            data = tail + chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                tail = data
                continue
            tail = data[cut + 1 :]
            text, cp1252 = _decode(data[:cut])
            lines = text.split("\n")
            yield LineBatch(next_line, lines, cp1252)
            next_line += len(lines)
    if tail:
        text, cp1252 = _decode(tail)
        yield LineBatch(next_line, [text], cp1252)


def read_head(path: Path, max_lines: int = 20) -> list[str]:
    """The first lines of a file (BOM and CR removed), for sniffing and headers.

    Raises DatasetError when the file cannot be opened or is binary.
    """
    try:
        with path.open("rb") as handle:
            raw = handle.read(_HEAD_BYTES)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the file ({exc.strerror})") from exc
    if b"\x00" in raw:
        raise DatasetError(
            f"{path}: binary data in the first {len(raw)} bytes; a flow log or CSV "
            "is text (for a capture use `twinai flows` instead)"
        )
    text, _ = _decode(raw)
    lines = [line.rstrip("\r") for line in text.split("\n")[:max_lines]]
    if lines:
        lines[0] = lines[0].removeprefix("\ufeff")
    return lines


def split_fields(
    frame: pl.DataFrame, separator: str, n_fields: int
) -> tuple[pl.DataFrame, pl.Expr]:
    """Split ``_text`` into a list column ``_fields`` and say which rows are ragged.

    Returns the frame and an expression naming the problem of rows whose field
    count is not ``n_fields`` (null for good rows).
    """
    frame = frame.with_columns(pl.col("_text").str.split(separator).alias("_fields"))
    count = pl.col("_fields").list.len()
    problem = (
        pl.when(count != n_fields)
        .then(pl.format("expected {} fields, found {}", pl.lit(n_fields), count))
        .otherwise(None)
    )
    return frame, problem


def header_error(path: Path, line: int, problem: str, fix: str) -> DatasetError:
    """A DatasetError that names the file, the line, the problem and the fix."""
    return DatasetError(f"{path}, line {line}: {problem}; {fix}")

"""Upload checks that run before any parser sees the file.

A file is refused on its size first, then, for text flow files, on its row
and column counts found by scanning lines (no CSV parsing), and for Parquet on
the counts in its footer. Captures are limited by size here and by the number
of flows after metering. Every refusal names the limit and the setting that
raises it.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

__all__ = ["StoredUpload", "check_and_store", "check_flow_count", "sniff_kind"]

# Magic numbers of capture formats (both byte orders, micro- and nanosecond pcap).
_PCAP_MAGICS = (
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
)
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_PARQUET_MAGIC = b"PAR1"
_CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class StoredUpload:
    """An accepted upload, saved under the data directory."""

    path: Path
    original_name: str
    kind: str  # "capture" | "parquet" | "text"
    size_bytes: int
    rows: int | None
    columns: int | None


def _size(n_bytes: int) -> str:
    """Bytes as the user reads them: 812 bytes, 3.4 kB, 51.0 MB."""
    if n_bytes < 1024:
        return f"{n_bytes} bytes"
    if n_bytes < 1024 * 1024:
        return f"{n_bytes / 1024:.1f} kB"
    return f"{n_bytes / (1024 * 1024):.1f} MB"


def sniff_kind(head: bytes) -> str:
    """Decide by magic number, never by file extension."""
    if head[:4] in _PCAP_MAGICS or head[:4] == _PCAPNG_MAGIC:
        return "capture"
    if head[:4] == _PARQUET_MAGIC:
        return "parquet"
    if b"\x00" in head[:4096]:
        raise ValidationError(
            "This file is neither a capture (pcap, pcapng), a Parquet flow table "
            "nor a text flow file (CSV, Zeek log)."
        )
    return "text"


def _text_shape(path: Path) -> tuple[int, int]:
    """Data rows and header columns of a CSV/TSV/Zeek log, by counting lines."""
    header = ""
    rows = 0
    with path.open("rb") as stream:
        for raw in stream:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if line.startswith("#fields"):
                header = line.split("\t", 1)[1] if "\t" in line else line
                continue
            if not line.strip() or line.startswith("#"):
                continue
            if not header:
                header = line
                continue
            rows += 1
    delimiter = "\t" if header.count("\t") > header.count(",") else ","
    return rows, len(header.split(delimiter)) if header else 0


def _check_shape(rows: int, columns: int, name: str) -> None:
    if columns > settings.UPLOAD_MAX_COLUMNS:
        raise ValidationError(
            f"{name} has {columns} columns; the limit is "
            f"{settings.UPLOAD_MAX_COLUMNS} (TWINAI_UPLOAD_MAX_COLUMNS)."
        )
    check_flow_count(rows, name)


def check_flow_count(rows: int, name: str) -> None:
    """Refuse more rows (or metered flows) than the console accepts at once."""
    if rows > settings.UPLOAD_MAX_ROWS:
        raise ValidationError(
            f"{name} has {rows} rows; the limit is {settings.UPLOAD_MAX_ROWS} "
            "(TWINAI_UPLOAD_MAX_ROWS). Split the file or raise the limit."
        )


def check_and_store(upload: UploadedFile, subdir: str) -> StoredUpload:
    """Check the limits, save the file under ``UPLOAD_DIR/subdir`` and describe it."""
    name = Path(upload.name or "upload").name
    if upload.size is None or upload.size > settings.UPLOAD_MAX_BYTES:
        raise ValidationError(
            f"{name} is {_size(upload.size or 0)}; the limit is "
            f"{_size(settings.UPLOAD_MAX_BYTES)} (TWINAI_UPLOAD_MAX_MB)."
        )
    if upload.size == 0:
        raise ValidationError(f"{name} is empty.")

    upload.seek(0)
    kind = sniff_kind(upload.read(4096))
    upload.seek(0)
    target_dir = Path(settings.UPLOAD_DIR) / subdir
    target_dir.mkdir(parents=True, exist_ok=True)
    suffix = Path(name).suffix.lower()[:10]
    target = target_dir / f"{uuid.uuid4().hex}{suffix}"
    with target.open("wb") as out:
        for chunk in upload.chunks(_CHUNK_BYTES):
            out.write(chunk)

    try:
        rows, columns = _shape(target, kind)
        if rows is not None and columns is not None:
            _check_shape(rows, columns, name)
    except ValidationError:
        target.unlink(missing_ok=True)
        raise
    return StoredUpload(target, name, kind, upload.size, rows, columns)


def _shape(path: Path, kind: str) -> tuple[int | None, int | None]:
    if kind == "text":
        return _text_shape(path)
    if kind == "parquet":
        try:
            meta = pq.ParquetFile(path).metadata
        except Exception as exc:  # pyarrow raises several unrelated types
            raise ValidationError(f"The Parquet footer cannot be read: {exc}") from None
        return meta.num_rows, meta.num_columns
    return None, None


def remove_tree(path: Path) -> None:
    """Remove a directory the console created (a failed bundle, say)."""
    shutil.rmtree(path, ignore_errors=True)

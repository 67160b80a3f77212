"""Read and write flow tables as Parquet or CSV, chosen by the file's ending."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from twinai.errors import InputError

__all__ = ["write_table", "read_table", "check_table_path", "TABLE_SUFFIXES"]

TABLE_SUFFIXES = (".parquet", ".csv")


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(f"{path}: flow tables are written as .parquet or .csv, not {suffix or 'no ending'}")
    return suffix


def check_table_path(path: str | os.PathLike[str]) -> Path:
    """Fail early, before hours of work, when an output path has a bad ending."""
    path = Path(path)
    _suffix(path)
    return path


def write_table(table: pl.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``table`` to ``path`` (.parquet or .csv); folders are created."""
    path = Path(path)
    suffix = _suffix(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        table.write_parquet(path, compression="zstd")
    else:
        table.write_csv(path)
    return path


def read_table(path: str | os.PathLike[str]) -> pl.DataFrame:
    """Read a flow table written by :func:`write_table`."""
    path = Path(path)
    suffix = _suffix(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        return pl.read_csv(path, infer_schema_length=10000)
    except pl.exceptions.NoDataError:
        raise InputError(f"{path}: the file is empty; expected a flow table") from None
    except (pl.exceptions.PolarsError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a readable flow table ({first})") from None

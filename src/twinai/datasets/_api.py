"""Choosing an importer, running it, writing the flow table."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import polars as pl

from twinai.datasets._base import FlowImporter
from twinai.datasets._report import ImportReport, ImportResult
from twinai.datasets._text import read_head
from twinai.datasets.argus import ArgusImporter
from twinai.datasets.cicflowmeter import CICFlowMeterImporter
from twinai.datasets.distrinet import DistriNetImporter
from twinai.datasets.iot23 import IoT23Importer
from twinai.datasets.zeek_json import ZeekJSONImporter
from twinai.datasets.zeek_tsv import ZeekTSVImporter
from twinai.errors import DatasetError

__all__ = ["FORMATS", "detect_format", "import_dataset", "is_flow_log", "write_flows"]

log = logging.getLogger(__name__)

# In sniffing order: the more specific format first (DistriNet headers also
# look like CICFlowMeter's, IoT-23 TSV logs also look like Zeek's).
_IMPORTERS: tuple[type[FlowImporter], ...] = (
    DistriNetImporter,
    CICFlowMeterImporter,
    IoT23Importer,
    ZeekTSVImporter,
    ZeekJSONImporter,
    ArgusImporter,
)
FORMATS: dict[str, type[FlowImporter]] = {cls.name: cls for cls in _IMPORTERS}


def _sniff(head: list[str]) -> str | None:
    return next((cls.name for cls in _IMPORTERS if cls.sniff(head)), None)


def detect_format(path: str | Path) -> str:
    """Name of the format of a flow file, from its first lines.

    Raises DatasetError when the file is unreadable or no format matches.
    """
    path = Path(path)
    head = read_head(path)
    found = _sniff(head)
    if found is None:
        first = head[0][:80] if head else ""
        raise DatasetError(
            f"{path}, line 1: not a known flow format (starts {first!r}); "
            f"give --format, one of {', '.join(FORMATS)}"
        )
    return found


def is_flow_log(path: str | Path) -> bool:
    """True when ``path`` looks like a flow file this package imports.

    Reads at most the first 16 kB; never raises.

    >>> is_flow_log("/nonexistent.csv")
    False
    """
    try:
        return _sniff(read_head(Path(path))) is not None
    except (DatasetError, OSError):
        return False


def import_dataset(
    path: str | Path, format: str | None = None, *, dataset: str | None = None
) -> ImportResult:
    """Import one public flow file into the TwinAI flow table.

    Parameters
    ----------
    path:
        A CICFlowMeter or DistriNet CSV, a Zeek conn.log (TSV or JSON lines),
        an IoT-23 log or CSV, or an Argus binetflow file.
    format:
        One of :data:`FORMATS`; detected from the header when None.
    dataset:
        Short source name for the ``dataset`` column; a default per format
        (``cic-ids2017``, ``iot-23``…) when None.

    Returns
    -------
    ImportResult
        ``flows`` (key, universal, ``conn_state``, ``label``,
        ``original_label``, ``dataset`` columns) and ``report``.

    Raises
    ------
    DatasetError
        The file cannot be read, its format is unknown, or its header lacks
        what the format needs. Bad rows do not raise: they are rejected and
        counted in the report.

    Examples
    --------
    >>> result = import_dataset("../shared/data/slips/port-scans/vertical/conn.log")
    >>> result.report.rows_kept, result.report.labelled
    (50, False)
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    if format is not None and format not in FORMATS:
        raise DatasetError(
            f"unknown format {format!r}; use one of {', '.join(FORMATS)}"
        )
    name = format or detect_format(path)
    importer = FORMATS[name]()
    report = ImportReport(path=str(path), format=name, dataset=dataset or "")
    started = time.perf_counter()
    flows = importer.run(path, report)
    report.seconds = time.perf_counter() - started
    log.info("%s", report.summary())
    for reason, count in report.rejected.most_common():
        log.warning("%s: rejected %d rows: %s (lines %s)", path, count, reason,
                    report.reject_lines.get(reason))  # fmt: skip
    if report.rows_read and not report.rows_kept:
        # Nothing survived: an empty result would read as "no flows, no
        # attacks", which is not what the file says.
        reason, count = report.rejected.most_common(1)[0] if report.rejected else ("?", 0)
        lines = report.reject_lines.get(reason) or []
        where = f" (e.g. line {lines[0]})" if lines else ""
        raise DatasetError(
            f"{path}: all {report.rows_read} rows were rejected as {name}; "
            f"the commonest reason, for {count} rows: {reason}{where}")
    return ImportResult(flows=flows, report=report)


def write_flows(flows: pl.DataFrame, out: str | Path) -> Path:
    """Write a flow table as Parquet or CSV, chosen by the file's suffix."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise DatasetError(f"{out}: output must end in .parquet or .csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        flows.write_parquet(out)
    else:
        flows.write_csv(out)
    return out

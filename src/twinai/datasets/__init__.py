"""Public flow data sets into the TwinAI flow table.

One importer module per format (:mod:`.cicflowmeter`, :mod:`.distrinet`,
:mod:`.zeek_tsv`, :mod:`.zeek_json`, :mod:`.iot23`, :mod:`.argus`) behind a
small base (:mod:`._base`) that parses numbers, rejects bad rows with their
reason, repairs what can be repaired, and maps labels onto the taxonomy of
:mod:`twinai.labels`. ``docs/datasets.md`` describes every mapping.
"""

from twinai.datasets._api import (
    FORMATS,
    detect_format,
    import_dataset,
    is_flow_log,
    write_flows,
)
from twinai.datasets._base import FlowImporter
from twinai.datasets._report import ImportReport, ImportResult

__all__ = [
    "FORMATS",
    "FlowImporter",
    "ImportReport",
    "ImportResult",
    "detect_format",
    "import_dataset",
    "is_flow_log",
    "write_flows",
]

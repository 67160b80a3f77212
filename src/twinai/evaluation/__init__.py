"""Honest evaluation of the folds and the model zoo: split by run or time, report everything.

``evaluate`` measures, ``write_report`` renders report.md/report.html with PNG plots.
"""

from twinai.evaluation.data import FAMILIES, load_datasets, load_flows
from twinai.evaluation.report import PUBLISHED, write_report
from twinai.evaluation.runner import (
    RANDOM_SPLIT_WARNING,
    CrossCell,
    Evaluation,
    SystemResult,
    evaluate,
)

__all__ = [
    "FAMILIES",
    "PUBLISHED",
    "RANDOM_SPLIT_WARNING",
    "CrossCell",
    "Evaluation",
    "SystemResult",
    "evaluate",
    "load_datasets",
    "load_flows",
    "write_report",
]

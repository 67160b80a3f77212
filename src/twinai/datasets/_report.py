"""What one import did: rows read, kept and rejected, cells repaired, labels.

The report is the honest half of an import: a model trained on a public data
set is only as good as what the importer silently changed, so every change is
counted here and shown by ``twinai datasets import``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import polars as pl

__all__ = ["UNLABELLED", "ImportReport", "ImportResult"]

# How many line numbers to keep per reject reason, to point the user at examples.
_EXAMPLE_LINES = 5

# Label-count key for rows of a file that carries no label column.
UNLABELLED = "(unlabelled)"


@dataclass
class ImportReport:
    """Counts of one import of one file.

    Attributes
    ----------
    path, format, dataset:
        The file, the importer that read it and the short source name written
        into the ``dataset`` column.
    rows_read:
        Data rows seen (header, comment and blank lines excluded; repeated
        header rows inside concatenated files are counted and rejected).
    rows_kept:
        Rows in the resulting flow table.
    rejected:
        Reason → rows rejected for it. ``reject_lines`` keeps the first line
        numbers (1-based) of each reason.
    repairs:
        ``"column: what → how"`` → cells changed to make a value usable.
    label_counts, original_label_counts:
        Rows per taxonomy label and per label as written in the file.
    labelled:
        False when the file has no label column (``label`` is null).
    notes:
        Format facts the user should know (assumed time zone, inferred fields).
    """

    path: str
    format: str
    dataset: str
    rows_read: int = 0
    rows_kept: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    reject_lines: dict[str, list[int]] = field(default_factory=dict)
    repairs: Counter[str] = field(default_factory=Counter)
    label_counts: Counter[str] = field(default_factory=Counter)
    original_label_counts: Counter[str] = field(default_factory=Counter)
    labelled: bool = True
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_rejected(self) -> int:
        """Rows read but not kept."""
        return sum(self.rejected.values())

    @property
    def rows_per_second(self) -> float:
        """Import speed over the whole call (reading, parsing, labelling)."""
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    def reject(self, reason: str, lines: list[int], count: int) -> None:
        """Record ``count`` rows rejected for ``reason``, with example lines."""
        self.rejected[reason] += count
        examples = self.reject_lines.setdefault(reason, [])
        room = _EXAMPLE_LINES - len(examples)
        if room > 0:
            examples.extend(lines[:room])

    def note(self, text: str) -> None:
        """Add a note once."""
        if text not in self.notes:
            self.notes.append(text)

    def summary(self) -> str:
        """One line for logs."""
        return (
            f"{self.path}: {self.format}, read {self.rows_read} rows, kept "
            f"{self.rows_kept}, rejected {self.rows_rejected}, repaired "
            f"{sum(self.repairs.values())} cells, "
            f"{len(self.label_counts)} labels"
        )


@dataclass
class ImportResult:
    """A flow table imported from a public data set, with its report."""

    flows: pl.DataFrame
    report: ImportReport

"""DistriNet's corrected re-extraction of CIC-IDS2017 and CSE-CIC-IDS2018.

Engelen et al. (IEEE SPW 2021) and Liu et al. (IEEE CNS 2022) re-ran a fixed
CICFlowMeter over the original captures. The files keep CICFlowMeter's
meaning but not its header: 91 columns, no leading spaces, singular names
(``Total Fwd Packet``), an ``id`` column first, ``Attempted Category`` last,
UTC timestamps with microseconds, and labels ending in ``- Attempted`` for
attacks that failed to carry out their effect.
"""

from __future__ import annotations

import re
from typing import ClassVar

from twinai.datasets.cicflowmeter import CICFlowMeterImporter, normalise_name

__all__ = ["DistriNetImporter"]

_DISTRINET_ONLY = {"attempted category", "total tcp flow time"}
_YEAR = re.compile(r"\b(20\d\d)-\d\d-\d\d ")


class DistriNetImporter(CICFlowMeterImporter):
    """CSV files of the DistriNet CIC-IDS re-extraction (91 columns)."""

    name: ClassVar[str] = "distrinet"
    dataset: ClassVar[str] = "cic-ids2017-distrinet"

    @classmethod
    def sniff(cls, head: list[str]) -> bool:
        names = {normalise_name(n) for n in head[0].split(",")} if head else set()
        return bool(names & _DISTRINET_ONLY)

    @classmethod
    def dataset_of(cls, header: list[str], head: list[str]) -> str:
        """2017 or 2018 re-extraction, from the year of the first timestamp."""
        year = next((m.group(1) for line in head if (m := _YEAR.search(line))), "2017")
        return (
            "cse-cic-ids2018-distrinet" if year == "2018" else "cic-ids2017-distrinet"
        )

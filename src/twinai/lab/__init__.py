"""The traffic lab: labelled IoT scan and DDoS traffic made in network namespaces.

The lab builds a home IoT network and an outside network in Linux network
namespaces (:mod:`~twinai.lab.topology`), runs emulated devices
(:mod:`~twinai.lab.services`) with benign traffic (:mod:`~twinai.lab.benign`),
runs the attacks of the catalogue (:mod:`~twinai.lab.catalogue`), captures
each run with its ground truth (:mod:`~twinai.lab.runner`,
:mod:`~twinai.lab.truth`) and turns the captures into a labelled flow table
with its dataset card (:mod:`~twinai.lab.dataset`).
"""

from twinai.lab.catalogue import CATALOGUE, CatalogueEntry, entries_named
from twinai.lab.truth import FlowRule, RunLabels, label_flows, read_labels

__all__ = [
    "CATALOGUE",
    "CatalogueEntry",
    "FlowRule",
    "RunLabels",
    "entries_named",
    "label_flows",
    "read_labels",
]

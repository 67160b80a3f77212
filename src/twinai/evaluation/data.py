"""Load labelled flows for evaluation: flow tables and public flow logs alike."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import polars as pl

from twinai.errors import InputError

__all__ = [
    "FAMILIES",
    "dataset_name",
    "families_of",
    "in_time_order",
    "label_families",
    "load_datasets",
    "load_flows",
]

log = logging.getLogger(__name__)

# The classes of the three-way verdict both systems give; ``other/...`` flows
# (C&C, downloads) belong to neither fold and are scored separately.
FAMILIES = ("benign", "scan", "ddos")


def load_flows(path: str | os.PathLike[str]) -> pl.DataFrame:
    """A labelled flow table from a .parquet/.csv table or a public flow log."""
    from twinai.datasets import import_dataset, is_flow_log
    from twinai.flows.io import read_table

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.suffix.lower() != ".parquet" and is_flow_log(path):
        flows = import_dataset(path).flows
    else:
        flows = read_table(path)
    if "label" not in flows.columns:
        raise InputError(f"{path}: no `label` column; evaluation needs labelled flows "
                         "(`twinai lab dataset` or `twinai datasets import`)")
    if flows.height and flows["label"].null_count() == flows.height:
        # Null labels count as benign further on: an unlabelled Zeek log of a
        # port scan would be scored as thousands of benign flows.
        raise InputError(f"{path}: every `label` is empty (an unlabelled log); label the "
                         "flows first or leave the file out of the evaluation")
    return flows.with_columns(pl.lit(str(path)).alias("source_file"))


def dataset_name(flows: pl.DataFrame, path: str | os.PathLike[str]) -> str:
    """The table's single ``dataset`` value, else ``lab`` for lab tables, else the file stem."""
    if "dataset" in flows.columns:
        names = flows["dataset"].drop_nulls().unique().to_list()
        if len(names) == 1:
            return str(names[0])
    if "run_id" in flows.columns or "lab" in Path(path).parts:
        return "lab"
    return Path(path).stem


def load_datasets(paths: list[str] | tuple[str, ...]) -> dict[str, pl.DataFrame]:
    """Flows of several files, grouped by dataset name, each in time order."""
    groups: dict[str, list[pl.DataFrame]] = {}
    for path in paths:
        flows = load_flows(path)
        groups.setdefault(dataset_name(flows, path), []).append(flows)
    return {name: in_time_order(pl.concat(parts, how="diagonal_relaxed"))
            for name, parts in groups.items()}


def in_time_order(flows: pl.DataFrame) -> pl.DataFrame:
    """Rows sorted by flow start (stable): the order window models read them in."""
    if "first_seen_us" not in flows.columns:
        log.warning("flows have no first_seen_us; windows follow the file order")
        return flows
    return flows.sort("first_seen_us", nulls_last=True, maintain_order=True)


def label_families(flows: pl.DataFrame) -> np.ndarray:
    """``benign``, ``scan``, ``ddos`` or ``other`` for each row (null labels are benign)."""
    return families_of(flows["label"].cast(pl.Utf8).fill_null("benign").to_numpy().astype(str))


def families_of(labels: np.ndarray) -> np.ndarray:
    """``benign``, ``scan``, ``ddos`` or ``other`` for each label string."""
    head = np.char.partition(labels.astype(str), "/")[:, 0]
    return np.where(np.isin(head, ("scan", "ddos", "other")), head, "benign")
